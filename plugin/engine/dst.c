/* The destination's side of a session: it coordinates.  Build (DESIGN.md
 * §4), wait for the migration's outcome, then tear down or roll back. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "engine/sess_impl.h"

/* ---- build ------------------------------------------------------------------- */

int
dmg_sess_new_dst(const char *state_dir, const char *sid, const char *domain,
		 const char *uuid, const char *peer, const struct dmg_sess_disk *disks,
		 size_t ndisks, const char *secret, const char *tok,
		 const struct dmg_sess_env *env, struct dmg_log *log,
		 struct dmg_session **out, struct dmg_error *err)
{
	struct dmg_session *s;
	size_t i;
	int rc;

	if (ndisks == 0 || ndisks > DMG_SESS_DISKS_MAX)
		return dmg_error_set(err, -EINVAL, "a session holds 1 to %d disks, not %zu",
				     DMG_SESS_DISKS_MAX, ndisks);
	rc = sess_alloc(state_dir, sid, env, log, &s, err);
	if (rc < 0)
		return rc;
	s->role = DMG_ROLE_DST;
	if ((rc = sess_copy_str(s->domain, sizeof(s->domain), domain, "domain name", err)) < 0 ||
	    (rc = sess_copy_str(s->uuid, sizeof(s->uuid), uuid, "domain uuid", err)) < 0 ||
	    (rc = sess_copy_str(s->peer, sizeof(s->peer), peer, "peer", err)) < 0 ||
	    (rc = sess_copy_str(s->secret, sizeof(s->secret), secret, "secret", err)) < 0 ||
	    (rc = sess_copy_str(s->tok, sizeof(s->tok), tok, "session handle", err)) < 0) {
		sess_release(s);
		return rc;
	}
	s->ndisks = ndisks;
	memcpy(s->disks, disks, ndisks * sizeof(*disks));
	rc = dmg_journal_open(s->jpath, 1, &s->j, err);
	if (rc < 0) {
		sess_release(s);
		return rc;
	}
	rc = sess_j_session(s, err);
	for (i = 0; rc == 0 && i < ndisks; i++) {
		rc = sess_j_disk(s, (int)i, err);
		if (rc == 0)
			rc = sess_j_side(s, (int)i, DMG_ROLE_DST, err);
	}
	if (rc == 0)
		rc = sess_set_phase(s, DMG_PH_BUILDING, NULL, err);
	if (rc < 0) {
		dmg_sess_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int
read_src_side(struct dmg_session *s, int i, const struct dmg_jrec *r, struct dmg_error *err)
{
	struct dmg_sess_disk *d = &s->disks[i];
	struct dmg_sess_side *sd = &d->side[DMG_ROLE_SRC];
	uint64_t size, minor, port;

	if (sess_num(r, "size", UINT64_MAX, &size) < 0 || size == 0 ||
	    sess_num(r, "minor", UINT32_MAX, &minor) < 0 || sess_num(r, "port", 65535, &port) < 0 ||
	    sess_copy_str(sd->host, sizeof(sd->host), dmg_jrec_get(r, "host"), "host", err) < 0 ||
	    sess_copy_str(sd->addr, sizeof(sd->addr), dmg_jrec_get(r, "addr"), "addr", err) < 0)
		return dmg_error_set(err, -EPROTO, "the source's answer for disk %s is incomplete",
				     d->target);
	d->size = size;
	sd->minor = (uint32_t)minor;
	sd->port = (uint32_t)port;
	if (sess_j_disk(s, i, err) < 0 || sess_j_side(s, i, DMG_ROLE_SRC, err) < 0)
		return err->code;
	return 0;
}

static int
build_steps(struct dmg_session *s, int sync_timeout_s, struct dmg_error *err)
{
	struct dmg_jrec reply;
	char tmo[24];
	int64_t t0, left;
	size_t i;

	if (sess_call(s, DMG_VERB_OPEN, -1, &reply, err) < 0)
		return err->code;
	for (i = 0; i < s->ndisks; i++) {
		if (sess_call(s, DMG_VERB_DISK, (int)i, &reply, err) < 0 ||
		    read_src_side(s, (int)i, &reply, err) < 0)
			return err->code;
	}
	if (sess_run_seq(s, DMG_SEQ_DST_UP, -1, NULL, err) < 0 ||
	    sess_call(s, DMG_VERB_CONNECT, -1, &reply, err) < 0 ||
	    sess_run_seq(s, DMG_SEQ_CONNECT, -1, NULL, err) < 0)
		return err->code;
	if (sess_set_phase(s, DMG_PH_SYNCING, NULL, err) < 0)
		return err->code;
	snprintf(tmo, sizeof(tmo), "%d", sync_timeout_s);
	t0 = dmg_now_ms();
	/* The fast sync, asynchronous; then synchronous on both (the source
	 * first: it sends the guest's writes) until nothing is out of sync,
	 * within what is left of sync_timeout. */
	if (sess_run_seq(s, DMG_SEQ_SYNC, -1, tmo, err) < 0 ||
	    sess_call(s, DMG_VERB_SYNC, -1, &reply, err) < 0)
		return err->code;
	left = sync_timeout_s - (dmg_now_ms() - t0) / 1000;
	snprintf(tmo, sizeof(tmo), "%" PRId64, left > 1 ? left : 1);
	if (sess_run_seq(s, DMG_SEQ_DST_SYNC, -1, tmo, err) < 0)
		return err->code;
	/* The migration window opens only now: both hosts UpToDate, and
	 * every write since acknowledged by both (protocol C). */
	if (sess_call(s, DMG_VERB_DUAL, -1, &reply, err) < 0 ||
	    sess_run_seq(s, DMG_SEQ_DST_WINDOW, -1, NULL, err) < 0)
		return err->code;
	return sess_set_phase(s, DMG_PH_READY, NULL, err);
}

/* The source's half of a rollback, then ours.  Ours first: the destination
 * leaves the window (demote) before the source drops two-primaries. */
static int
rollback_both(struct dmg_session *s, const char *reason, struct dmg_error *err)
{
	struct dmg_error perr = { 0 };
	struct dmg_jrec reply;
	int rc;

	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	rc = sess_rollback(s, reason, err);
	if (sess_call(s, DMG_VERB_ROLLBACK, -1, &reply, &perr) < 0)
		dmg_warn(s->log, "session=%s domain=%s: the source could not roll back now (%s); its daemon finishes the rollback from its journal",
			 s->sid, s->domain, perr.msg);
	return rc;
}

int
dmg_sess_build(struct dmg_session *s, int sync_timeout_s, struct dmg_error *err)
{
	struct dmg_error rerr = { 0 };
	int rc;

	/* Only a fresh destination session is built; building one that was
	 * already rolled back would bring its overlay up again, unowned. */
	if (s->role != DMG_ROLE_DST || s->phase != DMG_PH_BUILDING)
		return dmg_error_set(err, -ESTALE, "session %s is %s (%s): it cannot be built",
				     s->sid, dmg_phase_name(s->phase),
				     s->role == DMG_ROLE_DST ? "destination" : "source");
	rc = build_steps(s, sync_timeout_s, err);
	if (rc == 0)
		return 0;
	if (rollback_both(s, err->msg, &rerr) < 0)
		dmg_err(s->log, "session=%s domain=%s: rollback incomplete: %s", s->sid,
			s->domain, rerr.msg);
	return rc;
}

static int
finish_dst(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_error perr = { 0 };
	struct dmg_jrec reply;
	int src_ok;

	if (s->phase != DMG_PH_FINISHING && sess_set_phase(s, DMG_PH_FINISHING, NULL, err) < 0)
		return err->code;
	if (sess_settle_acts(s, err) < 0)
		return err->code;
	/* The source leaves first: its LV back to its extents, Secondary. */
	src_ok = sess_call(s, DMG_VERB_FINISH, -1, &reply, &perr) == 0;
	if (!src_ok)
		dmg_warn(s->log, "session=%s domain=%s: source not reachable for teardown (%s); it tears down from its journal",
			 s->sid, s->domain, perr.msg);
	/* Source not confirmed Secondary: the alone sequence (steps.c). */
	if (sess_run_seq(s, src_ok ? DMG_SEQ_DST_LEAVE : DMG_SEQ_DST_LEAVE_ALONE, -1, NULL, err) < 0 ||
	    sess_run_seq(s, DMG_SEQ_DST_CLEAN, -1, NULL, err) < 0)
		return sess_stuck(s, err);
	if (src_ok && sess_call(s, DMG_VERB_CLOSE, -1, &reply, &perr) < 0)
		dmg_warn(s->log, "session=%s domain=%s: source close failed: %s", s->sid,
			 s->domain, perr.msg);
	if (sess_set_phase(s, DMG_PH_DONE, src_ok ? NULL : "source side not confirmed", err) < 0)
		return err->code;
	return 1;
}

static enum dmg_phase
peer_phase(const struct dmg_jrec *reply)
{
	enum dmg_phase p;

	return dmg_phase_parse(dmg_jrec_get(reply, "phase"), &p) == 0 ? p : DMG_PH_ATTENTION;
}

/* The guest runs on neither host, and this daemon may have missed its
 * switchover (recovered from the journal, or libvirt reconnected): whether
 * it ran here is unknown, but what it wrote here is not.  When DRBD here
 * shows, disk by disk, no write that the source lacks, and the source is
 * still in the window with its copy, that copy holds everything: keep it.
 * Otherwise keep both for the admin. */
static int
settle_blind(struct dmg_session *s, enum dmg_phase theirs, struct dmg_error *err)
{
	struct dmg_error why = { 0 };
	char out[64], reason[DMG_ERROR_MAX];
	size_t i;
	int rc = 0;

	if (theirs != DMG_PH_READY)
		rc = dmg_error_set(&why, -EAGAIN, "the source is %s, not in the window",
				   dmg_phase_name(theirs));
	for (i = 0; rc == 0 && i < s->ndisks; i++) {
		rc = s->env->act(s->env->arg, s, dmg_step_name(DMG_STEP_PEER_HAS_ALL), (int)i, NULL,
				 out, sizeof(out), &why);
		if (rc < 0)
			dmg_error_prefix(&why, "disk %s", s->disks[i].target);
	}
	if (rc == 0) {
		rc = rollback_both(s, "the guest runs on neither host; DRBD here holds no write the source lacks; keeping the source's copy", err);
		return rc < 0 ? rc : 1;
	}
	snprintf(reason, sizeof(reason), "the guest runs on neither host and this daemon may have missed a switchover; keeping both copies (%.300s)",
		 why.msg);
	return sess_attention(s, reason, err);
}

int
dmg_sess_settle(struct dmg_session *s, struct dmg_error *err)
{
	enum dmg_dom here = DMG_DOM_UNKNOWN, there = DMG_DOM_UNKNOWN;
	struct dmg_error perr = { 0 };
	enum dmg_phase theirs = DMG_PH_ATTENTION;   /* what an unreadable answer counts as */
	struct dmg_jrec reply;
	int peer_ok, blind, rc;

	if (dmg_phase_closed(s->phase))
		return 1;
	if (s->phase == DMG_PH_FINISHING)
		return finish_dst(s, err);
	if (s->phase == DMG_PH_ROLLING_BACK || s->phase == DMG_PH_BUILDING ||
	    s->phase == DMG_PH_SYNCING) {
		/* Before READY libvirt never got a yes: the source holds the data. */
		rc = rollback_both(s, s->reason[0] ? s->reason : "interrupted before the migration window", err);
		return rc < 0 ? rc : 1;
	}
	rc = s->env->dom_state(s->env->arg, s->uuid, &here, err);
	if (rc < 0)
		return rc;
	if (s->fenced && !s->switchover) {
		/* The source lost the link in the window and resumed its I/O
		 * once we stopped our QEMU: its copy is the live one. */
		if (here == DMG_DOM_RUNNING || here == DMG_DOM_PAUSED)
			return 0;   /* the daemon stops that QEMU first */
		rc = rollback_both(s, "replication link lost in the migration window; the guest stays on the source", err);
		return rc < 0 ? rc : 1;
	}
	if (here == DMG_DOM_RUNNING || here == DMG_DOM_PAUSED)
		s->seen_here = 1;
	if (here == DMG_DOM_RUNNING && dmg_sess_mark_switchover(s, err) < 0)
		return err->code;
	if (s->switchover)
		return finish_dst(s, err);
	peer_ok = sess_call(s, DMG_VERB_STATE, -1, &reply, &perr) == 0;
	if (peer_ok) {
		there = sess_dom_parse(dmg_jrec_get(&reply, "dom"));
		theirs = peer_phase(&reply);
	}
	if (here == DMG_DOM_PAUSED || here == DMG_DOM_UNKNOWN)
		return 0;   /* migration in progress (or libvirt away): wait */
	/* Right after READY QEMU may not have started yet: absence means
	 * failure only once QEMU was seen, or the daemon says it is gone. */
	if (!s->seen_here && !s->gone_here)
		return 0;
	/* Not here (absent or shut off) and not switched over. */
	if (peer_ok && (theirs == DMG_PH_ROLLED_BACK || theirs == DMG_PH_ROLLING_BACK)) {
		/* The source kept its copy (e.g. it lost us and its guest ran on
		 * there); ours was never used. */
		rc = rollback_both(s, "the source rolled back; the guest never ran here", err);
		return rc < 0 ? rc : 1;
	}
	if (peer_ok && there == DMG_DOM_RUNNING) {
		rc = rollback_both(s, "the guest runs on the source: migration did not complete", err);
		return rc < 0 ? rc : 1;
	}
	if (!peer_ok)
		return dmg_error_set(err, perr.code ? perr.code : -EHOSTUNREACH,
				     "guest not here and the source cannot be asked: %s", perr.msg);
	if (dmg_jrec_get(&reply, "fenced")) {
		/* The link broke in the window and the source stopped the
		 * migration before it could switch over: its copy is complete. */
		rc = rollback_both(s, "replication link lost in the migration window; the source kept the data", err);
		return rc < 0 ? rc : 1;
	}
	if (there == DMG_DOM_PAUSED)
		return 0;
	pthread_mutex_lock(&s->mu);
	blind = s->blind;
	pthread_mutex_unlock(&s->mu);
	if (!blind) {
		/* This daemon watched the whole window and the guest never ran
		 * here (a resume would have been journalled as the switchover):
		 * the source's copy holds everything the guest wrote. */
		rc = rollback_both(s, "the guest runs on neither host and never ran here; keeping the source's copy", err);
		return rc < 0 ? rc : 1;
	}
	return settle_blind(s, theirs, err);
}

int
dmg_sess_cancel(struct dmg_session *s, struct dmg_error *err)
{
	int rc;

	if (dmg_phase_closed(s->phase))
		return dmg_error_set(err, -EALREADY, "session %s is already %s", s->sid,
				     dmg_phase_name(s->phase));
	if (s->switchover || s->phase == DMG_PH_FINISHING)
		return dmg_error_set(err, -EBUSY, "session %s: the guest already runs on the destination; it cannot be cancelled, only finished",
				     s->sid);
	if (s->role == DMG_ROLE_SRC) {
		if (sess_migrating(s))
			return dmg_error_set(err, -EBUSY, "session %s: a migration of '%s' is running; abort it (virsh domjobabort) instead",
					     s->sid, s->domain);
		rc = sess_rollback(s, "cancelled by the admin", err);
		return rc;
	}
	if (s->phase == DMG_PH_READY) {
		enum dmg_dom here = DMG_DOM_UNKNOWN;

		/* QEMU may already be receiving the guest: only while it has not
		 * started here is the source's copy certainly the live one. */
		if (s->env->dom_state(s->env->arg, s->uuid, &here, err) < 0)
			return err->code;
		if (here != DMG_DOM_ABSENT && here != DMG_DOM_SHUTOFF)
			return dmg_error_set(err, -EBUSY, "session %s: the guest is %s on the destination; abort the migration (virsh domjobabort) instead",
					     s->sid, dmg_dom_name(here));
	}
	return rollback_both(s, "cancelled by the admin", err);
}
