/* Fencing the migration window (DESIGN.md §5 rule 1) on both sides, and
 * the watchdog that fences when DRBD's fence-peer handler could not.
 * Private parts and the locking model: registry_int.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libvirt/virt.h"
#include "core/verb.h"
#include "core/wire.h"
#include "daemon/registry_int.h"

/* ---- fencing the migration window (DESIGN.md §5 rule 1) ---------------------- */

/* The answer to the CLI verb "fence": the exit code drbdmig-fence-peer
 * gives DRBD, as a number ("fence code=4"). */
static int
fence_answer(struct dmg_buf *body, int code, struct dmg_error *err)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %s=%d\n", dmg_verb_name(DMG_VERB_FENCE_RES),
			 DMG_FENCE_CODE_KEY, code);

	return reg_buf_add(body, line, (size_t)n) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
}

static void
set_fenced(struct dmg_registry *r, struct entry *e)
{
	pthread_mutex_lock(&e->s->mu);
	e->s->fenced = 1;
	pthread_mutex_unlock(&e->s->mu);
	pthread_mutex_lock(&r->mu);
	e->kick = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Waits (I/O frozen) until the guest has left this host. */
static int
wait_left(struct dmg_registry *r, struct entry *e, int64_t until, struct dmg_error *err)
{
	for (;;) {
		enum dmg_dom st = DMG_DOM_UNKNOWN;
		struct dmg_error verr = { 0 };

		if (reg_env_dom(r, e->s->uuid, &st, &verr) == 0 &&
		    (st == DMG_DOM_SHUTOFF || st == DMG_DOM_ABSENT))
			return 0;
		if (dmg_now_ms() > until)
			return dmg_error_set(err, -ETIMEDOUT, "the guest '%s' did not leave the source (%s)",
					     e->s->domain, dmg_dom_name(st));
		sleep(1);
	}
}

/* The destination cannot be asked: stop the migration from here.  Only
 * libvirt's domain state is read directly (it never waits for QEMU); job
 * calls go through dmg_virt_job_bounded, since a QEMU stuck on the frozen
 * writes (draining them at the switchover, or holding its big lock on a
 * dead migration socket) blocks them.  A running guest with no migration
 * job left is safe.  One paused by the migration, or whose job calls do
 * not answer, for 20 s is taken to be stuck and is destroyed: it restarts
 * from a complete disk rather than continuing elsewhere without writes it
 * saw completed.  Such a QEMU may not fully exit while a thread of it waits
 * on the frozen I/O (libvirt's destroy then times out on its job lock): its
 * SIGKILL pending, or its main thread gone, is enough (nothing of it runs
 * any more, and it never sent its final state, which comes after the drain). */
static int
fence_alone(struct dmg_registry *r, struct entry *e, int64_t until, struct dmg_error *err)
{
	const char *sid = e->s->sid, *dom = e->s->domain, *uuid = e->s->uuid;
	int64_t stuck_since = 0;
	int i;

	for (i = 0;; i++) {
		enum dmg_dom st = DMG_DOM_UNKNOWN;
		struct dmg_error verr = { 0 };
		int active = 1, jrc = -1;

		if (reg_env_dom(r, uuid, &st, &verr) == 0 &&
		    (st == DMG_DOM_SHUTOFF || st == DMG_DOM_ABSENT))
			return 0;
		/* Destroyed, but a QEMU thread waits in the kernel on the frozen
		 * I/O, so libvirt cannot see it gone: nothing of it runs any more. */
		if (stuck_since && r->virt && dmg_virt_qemu_exited(r->virt, dom)) {
			dmg_warn(r->log, "session=%s domain=%s: the source's QEMU has exited (a thread waits on the frozen I/O)",
				 sid, dom);
			return 0;
		}
		if (st == DMG_DOM_RUNNING && r->virt)
			jrc = dmg_virt_job_bounded(r->virt, uuid, i % 5 == 0, 3000, &active, &verr);
		if (st == DMG_DOM_RUNNING && jrc == 0 && !active)
			return 0;   /* no migration: the guest stays here */
		if (st == DMG_DOM_RUNNING && jrc == 0) {
			stuck_since = 0;
		} else if (!stuck_since) {
			stuck_since = dmg_now_ms();
		} else if (dmg_now_ms() - stuck_since > 20000 && r->virt) {
			dmg_err(r->log, "session=%s domain=%s: the migration is stuck (%s, %s) with the link lost; stopping the guest on the source (its disk here is complete)",
				sid, dom, dmg_dom_name(st), jrc == 0 ? "job active" : verr.msg);
			if (dmg_virt_destroy(r->virt, uuid, &verr) < 0)
				dmg_err(r->log, "session=%s: %s", sid, verr.msg);
			stuck_since = dmg_now_ms();
		}
		if (dmg_now_ms() > until)
			return dmg_error_set(err, -ETIMEDOUT, "the migration of '%s' could not be stopped",
					     dom);
		if (i % 5 == 0)
			dmg_warn(r->log, "session=%s domain=%s: stopping the migration before I/O resumes (%s, job %s)",
				 sid, dom, dmg_dom_name(st), jrc == 0 ? (active ? "active" : "none") : "unknown");
		sleep(1);
	}
}

/* DRBD's fence-peer for one of drbdmig's resources: the replication link
 * broke while this host was Primary, and DRBD (fencing resource-and-stonith)
 * holds the resource's I/O frozen until the handler answers.  Exit code 4
 * ("peer outdated") lets I/O resume here.
 *
 * The one dangerous case is the source inside the migration window: the
 * guest still runs here and libvirt may still switch it over to the
 * destination, whose copy now lacks every write made after the break.  So
 * I/O resumes only once the destination's QEMU cannot run the guest: the
 * destination's daemon stops it (peer verb "fence", over the peer channel,
 * which does not share DRBD's connection); libvirt's migration then fails
 * and the guest simply goes on here.  If the destination already runs the
 * guest, its copy is the complete one and I/O resumes once the guest has
 * left this host.  If the destination cannot be asked, the migration is
 * stopped from here (fence_alone).  Until then writes stay frozen, never
 * completed: a frozen guest is better than a lost write. */
static int
fence_entry(struct dmg_registry *r, struct entry *e, const char *res, struct dmg_buf *body,
	    struct dmg_error *err)
{
	const char *sid = e->s->sid;
	struct dmg_error perr = { 0 };
	struct dmg_jrec req, reply;
	enum dmg_phase phase;
	enum dmg_fence_result result;
	int64_t until;
	int rc;

	/* No op lock: the step that is waiting for this answer may hold it. */
	pthread_mutex_lock(&e->s->mu);
	phase = e->s->phase;
	pthread_mutex_unlock(&e->s->mu);
	dmg_warn(r->log, "session=%s domain=%s: replication link lost on %s (phase %s, role %s)",
		 sid, e->s->domain, res, dmg_phase_name(phase),
		 dmg_role_name(e->s->role));
	if (e->s->role != DMG_ROLE_SRC || phase != DMG_PH_READY)
		return fence_answer(body, DMG_FENCE_CODE_OUTDATED, err);

	until = dmg_now_ms() + 600000;
	dmg_jrec_init(&req, dmg_verb_name(DMG_VERB_FENCE));
	rc = dmg_jrec_set(&req, "sid", sid, &perr);
	if (rc == 0)
		rc = dmg_jrec_set(&req, "tok", e->s->tok, &perr);
	if (rc == 0)
		rc = reg_peer_call(r, e->s->peer, &req, r->conf.peer_timeout, &reply, &perr);
	result = rc == 0 ? dmg_fence_result_parse(dmg_jrec_get(&reply, "result")) : DMG_FENCE_NONE;
	if (result == DMG_FENCE_STOPPED) {
		dmg_warn(r->log, "session=%s domain=%s: the destination stopped its QEMU; the migration fails and the guest stays here",
			 sid, e->s->domain);
		set_fenced(r, e);
	} else if (result == DMG_FENCE_SWITCHED) {
		/* The destination's copy is the complete one: do not mark fenced. */
		dmg_warn(r->log, "session=%s domain=%s: the guest already runs on the destination; I/O resumes here once it has left",
			 sid, e->s->domain);
		if (wait_left(r, e, until, err) < 0)
			goto frozen;
	} else {
		dmg_warn(r->log, "session=%s domain=%s: cannot ask the destination (%s); stopping the migration from here",
			 sid, e->s->domain, rc < 0 ? perr.msg : "bad answer");
		if (fence_alone(r, e, until, err) < 0)
			goto frozen;
		set_fenced(r, e);
	}
	dmg_warn(r->log, "session=%s domain=%s: I/O resumes on the source", sid, e->s->domain);
	return fence_answer(body, DMG_FENCE_CODE_OUTDATED, err);
frozen:
	snprintf(perr.msg, sizeof(perr.msg), "%s", err->msg);
	return dmg_error_set(err, -ETIMEDOUT, "fence %s: %s; I/O stays frozen (resume with `drbdadm resume-io` only once the guest runs on one host)",
			     res, perr.msg);
}

int
reg_fence(struct dmg_registry *r, const char *res, struct dmg_buf *body, struct dmg_error *err)
{
	struct entry *e;
	char sid[DMG_SID_LEN + 1];
	int rc;

	if (dmg_sess_name_sid(res, sid) < 0)
		return dmg_error_set(err, -EINVAL, "fence: '%s' is not a drbdmig resource", res ? res : "");
	pthread_mutex_lock(&r->mu);
	e = reg_find_sid(r, sid);
	if (e)
		e->fencing++;   /* keeps the entry, and the watchdog off it */
	pthread_mutex_unlock(&r->mu);
	if (!e) {
		dmg_warn(r->log, "fence-peer for %s: no such session; peer outdated", res);
		return fence_answer(body, DMG_FENCE_CODE_OUTDATED, err);
	}
	rc = fence_entry(r, e, res, body, err);
	pthread_mutex_lock(&r->mu);
	e->fencing--;
	e->frozen_ms = 0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* The watchdog behind the fence-peer handler.  When the handler fails --
 * drbdadm finds no handler, cannot run, or the helper's exit status is
 * lost -- DRBD logs "fence-peer helper broken" and leaves the resource's
 * I/O frozen for good: a guest hung until the link comes back.  So a disk
 * seen frozen (susp-fen, link down) for FROZEN_GRACE_MS with no reg_fence()
 * running gets the handler's decision from here, on its own thread (it may
 * wait for the guest to leave), and I/O resumes only once reg_fence() says it
 * is safe, exactly as the handler's exit code 4 would. */
#define FROZEN_GRACE_MS 10000

struct fence_job {
	struct dmg_registry *r;
	struct entry *e;
	int disk;
};

static void *
fence_job_run(void *arg)
{
	struct fence_job *j = arg;
	struct dmg_registry *r = j->r;
	struct entry *e = j->e;
	struct dmg_session *s = e->s;
	struct dmg_buf body = { 0 };
	struct dmg_error err = { 0 };
	char res[DMG_SESS_NAME_MAX];
	int rc;

	dmg_sess_res_name(s, j->disk, res, sizeof(res));
	dmg_warn(r->log, "session=%s domain=%s: %s: I/O frozen with the replication link lost and no answer from the fence-peer handler; fencing from drbdmigd",
		 s->sid, s->domain, res);
	rc = reg_fence(r, res, &body, &err);
	if (rc == 0 && dmg_fence_code_parse((const char *)body.data, body.len) == DMG_FENCE_CODE_OUTDATED) {
		if (dmg_backend_resume_io(r->b, s, j->disk, &err) < 0)
			dmg_err(r->log, "session=%s: %s: resume-io: %s", s->sid, res, err.msg);
		else
			dmg_warn(r->log, "session=%s domain=%s: %s: I/O resumed by drbdmigd",
				 s->sid, s->domain, res);
	} else {
		dmg_err(r->log, "session=%s domain=%s: %s: %s", s->sid, s->domain, res,
			rc < 0 ? err.msg : "no fencing decision; I/O stays frozen");
	}
	dmg_buf_free(&body);
	pthread_mutex_lock(&r->mu);
	e->fencing--;
	pthread_mutex_unlock(&r->mu);
	free(j);
	return NULL;
}

static void
watch_frozen(struct dmg_registry *r, struct entry *e, int64_t now)
{
	enum dmg_phase ph = e->s->phase;
	struct dmg_error err = { 0 };
	struct fence_job *j;
	pthread_attr_t attr;
	pthread_t t;
	int frozen = -1, busy;
	size_t i;

	if (!r->b || (ph != DMG_PH_READY && ph != DMG_PH_FINISHING && ph != DMG_PH_ROLLING_BACK))
		return;
	pthread_mutex_lock(&r->mu);
	busy = e->fencing;
	if (busy)
		e->frozen_ms = 0;
	pthread_mutex_unlock(&r->mu);
	if (busy)
		return;
	for (i = 0; i < e->s->ndisks && frozen < 0; i++)
		if (dmg_backend_io_frozen(r->b, e->s, (int)i, &err) > 0)
			frozen = (int)i;
	pthread_mutex_lock(&r->mu);
	if (frozen < 0 || e->fencing) {
		e->frozen_ms = 0;
	} else if (!e->frozen_ms) {
		e->frozen_ms = now;
	} else if (now - e->frozen_ms > FROZEN_GRACE_MS && (j = calloc(1, sizeof(*j)))) {
		j->r = r;
		j->e = e;
		j->disk = frozen;
		e->fencing++;
		e->frozen_ms = 0;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, fence_job_run, j) != 0) {
			e->fencing--;
			free(j);
			dmg_err(r->log, "session=%s: cannot start the fencing thread", e->s->sid);
		}
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&r->mu);
}

/* Every second: each open session's disks, looked at outside the table
 * lock (a netlink call may wait behind a DRBD state change), the entry
 * pinned by refs so that reg_reap() leaves it alone meanwhile. */
void *
reg_watch_thread(void *arg)
{
	struct dmg_registry *r = arg;

	for (;;) {
		struct entry *e, *next;
		struct timespec ts;

		pthread_mutex_lock(&r->mu);
		if (!r->stop) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&r->wcv, &r->mu, &ts);
		}
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		if ((e = r->head))
			e->refs++;
		pthread_mutex_unlock(&r->mu);
		while (e) {
			watch_frozen(r, e, dmg_now_ms());
			pthread_mutex_lock(&r->mu);
			if ((next = e->next))
				next->refs++;
			e->refs--;
			pthread_mutex_unlock(&r->mu);
			e = next;
		}
	}
}

/* The peer verb "fence", on the destination: the source lost the link in
 * the window and may resume its I/O only once no QEMU here can run the
 * guest.  Answers result=switched when the guest already runs here (this
 * copy is the complete one), else makes sure it never will -- the session
 * is marked fenced (hooks for it are refused, a QEMU that shows up is
 * stopped, the settle thread rolls back) and the incoming QEMU is
 * destroyed -- and answers result=stopped.  No op lock: a settle step may
 * hold it while it waits on the source. */
int
reg_fence_dst(struct dmg_registry *r, struct entry *e, struct dmg_jrec *reply, struct dmg_error *err)
{
	struct dmg_session *s = e->s;
	enum dmg_dom st = DMG_DOM_UNKNOWN;
	enum dmg_phase phase;
	int switched;

	if (s->role != DMG_ROLE_DST)
		return dmg_error_set(err, -EPROTO, "fence: session %s is not a destination here", s->sid);
	/* Fenced first: from here no hook of this session is let through. */
	pthread_mutex_lock(&s->mu);
	phase = s->phase;
	switched = s->switchover || e->resumed || phase == DMG_PH_FINISHING || phase == DMG_PH_DONE;
	if (!switched)
		s->fenced = 1;
	pthread_mutex_unlock(&s->mu);
	if (!switched && reg_env_dom(r, s->uuid, &st, err) < 0) {
		dmg_err(r->log, "session=%s domain=%s: fence: %s", s->sid, s->domain, err->msg);
		return err->code;
	}
	if (!switched && st == DMG_DOM_RUNNING && phase == DMG_PH_READY) {
		/* Running here and not paused for an incoming migration: the
		 * switchover happened, even if no event said so yet. */
		pthread_mutex_lock(&s->mu);
		s->fenced = 0;
		pthread_mutex_unlock(&s->mu);
		switched = 1;
	}
	dmg_jrec_init(reply, "fence");
	if (switched) {
		dmg_warn(r->log, "session=%s domain=%s: the source lost the replication link; the guest runs here, keeping this copy",
			 s->sid, s->domain);
		return dmg_jrec_set(reply, "result", dmg_fence_result_name(DMG_FENCE_SWITCHED), err);
	}
	if (st == DMG_DOM_PAUSED || st == DMG_DOM_UNKNOWN) {
		dmg_warn(r->log, "session=%s domain=%s: the source lost the replication link in the migration window; stopping the incoming QEMU",
			 s->sid, s->domain);
		if (!r->virt || dmg_virt_destroy(r->virt, s->uuid, err) < 0 ||
		    reg_env_dom(r, s->uuid, &st, err) < 0)
			return err->code ? err->code : dmg_error_set(err, -ENOTCONN, "no libvirt connection");
		if (st != DMG_DOM_SHUTOFF && st != DMG_DOM_ABSENT)
			return dmg_error_set(err, -EBUSY, "fence: the guest is still %s here",
					     dmg_dom_name(st));
	}
	dmg_warn(r->log, "session=%s domain=%s: fenced: no QEMU here will run the guest; rolling back",
		 s->sid, s->domain);
	pthread_mutex_lock(&r->mu);
	e->kick = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return dmg_jrec_set(reply, "result", dmg_fence_result_name(DMG_FENCE_STOPPED), err);
}
