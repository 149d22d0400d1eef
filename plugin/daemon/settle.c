/* The settle thread: moves sessions on after libvirt events, peer calls
 * and timeouts, frees closed ones, writes queued stamps.  Private parts and
 * the locking model: registry_int.h. */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "libvirt/virt.h"
#include "core/wire.h"
#include "daemon/registry_int.h"

#define SETTLE_TICK_MS   1000
#define SRC_IDLE_MS      30000   /* source asks the destination after this */

/* ---- settle thread ----------------------------------------------------------- */

/* A fenced destination session: journalled, and no QEMU of the guest may
 * run here (one that slipped past the refused hooks is stopped).  Returns 1
 * when it stopped one, else 0; the session engine then rolls back. */
static int
fenced_dst(struct dmg_registry *r, struct entry *e)
{
	struct dmg_session *s = e->s;
	struct dmg_error err = { 0 };
	enum dmg_dom st = DMG_DOM_UNKNOWN;

	if (dmg_sess_mark_fenced(s, &err) < 0)
		dmg_err(r->log, "session=%s: %s", s->sid, err.msg);
	if (s->phase != DMG_PH_READY || reg_env_dom(r, s->uuid, &st, &err) < 0 ||
	    (st != DMG_DOM_RUNNING && st != DMG_DOM_PAUSED))
		return 0;
	dmg_warn(r->log, "session=%s domain=%s: fenced session: stopping the guest's QEMU here (%s)",
		 s->sid, s->domain, dmg_dom_name(st));
	if (r->virt && dmg_virt_destroy(r->virt, s->uuid, &err) < 0)
		dmg_err(r->log, "session=%s: %s", s->sid, err.msg);
	return 1;
}

static void
settle_one(struct dmg_registry *r, struct entry *e, int64_t now)
{
	struct dmg_session *s = e->s;
	struct dmg_error err = { 0 };
	int rc = 0;

	if (dmg_phase_closed(s->phase))
		return;
	if (s->role == DMG_ROLE_DST) {
		int fenced;

		pthread_mutex_lock(&s->mu);
		fenced = s->fenced && !s->switchover;
		pthread_mutex_unlock(&s->mu);
		if (fenced && fenced_dst(r, e) > 0)
			return;   /* a QEMU was stopped: look again next tick */
		if (s->phase == DMG_PH_READY && !e->ready_ms)
			e->ready_ms = now;
		if (s->phase == DMG_PH_READY && e->resumed && !fenced &&
		    dmg_sess_mark_switchover(s, &err) < 0)
			dmg_err(r->log, "session=%s: %s", s->sid, err.msg);
		if (s->phase == DMG_PH_READY && !s->seen_here &&
		    now - e->ready_ms > (int64_t)r->conf.grace * 1000)
			dmg_sess_note_gone(s);   /* QEMU never came */
		rc = dmg_sess_settle(s, &err);
		/* Done: libvirt has written any persistent definition by now
		 * (before it resumed the guest here, which the session waited for). */
		if (s->phase == DMG_PH_DONE)
			reg_dst_persist(r, s);
	} else if (e->recovered || e->kick || now - e->last_peer_ms > SRC_IDLE_MS) {
		int fenced;

		pthread_mutex_lock(&s->mu);
		fenced = s->fenced;
		pthread_mutex_unlock(&s->mu);
		if (fenced && dmg_sess_mark_fenced(s, &err) < 0)
			dmg_err(r->log, "session=%s: %s", s->sid, err.msg);
		rc = dmg_sess_src_settle(s, 0, &err);
		if (rc < 0 && (err.code == -EHOSTUNREACH || err.code == -ECONNREFUSED ||
			       err.code == -ETIMEDOUT || err.code == -ENOTCONN))
			rc = dmg_sess_src_settle(s, 1, &err);
		e->last_peer_ms = now;
		e->recovered = 0;
	}
	e->kick = 0;
	if (rc < 0)
		dmg_warn(r->log, "session=%s domain=%s: waiting: %s", s->sid, s->domain, err.msg);
}

void *
reg_settle_thread(void *arg)
{
	struct dmg_registry *r = arg;

	for (;;) {
		struct entry *e;
		struct timespec ts;
		int64_t now;

		pthread_mutex_lock(&r->mu);
		if (!r->stop) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += SETTLE_TICK_MS / 1000;
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		pthread_mutex_unlock(&r->mu);
		now = dmg_now_ms();
		/* Entries are only freed by reg_reap() on this thread, so walking
		 * without the table lock is safe once the head is read. */
		pthread_mutex_lock(&r->mu);
		e = r->head;
		pthread_mutex_unlock(&r->mu);
		for (; e; e = e->next) {
			/* A session being built holds its op lock. */
			if (pthread_mutex_trylock(&e->op) != 0)
				continue;
			settle_one(r, e, now);
			pthread_mutex_unlock(&e->op);
		}
		reg_reap(r);
		reg_run_stamps(r);
	}
}
