/* The replication steps of core/steprow.c on this host: DRBD's connection
 * (connect, protocol C, two primaries, disconnect), the roles, and the
 * waits for the sync; steps_impl.c's table calls them. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "storage/backend_int.h"
#include "storage/drbd.h"
#include "storage/steps_int.h"
#include "core/clock.h"
#include "core/modelnames.h"

static int
sa_of(const struct dmg_sess_side *sd, struct sockaddr_in *sa, struct dmg_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)sd->port);
	if (inet_pton(AF_INET, sd->addr, &sa->sin_addr) != 1)
		return dmg_error_set(err, -EINVAL, "replication address '%s' is not an IPv4 address",
				     sd->addr);
	return 0;
}

/* What net_req asks DRBD for on the replication link. */
enum net_op {
	NET_CONNECT,          /* connect, asynchronously (the initial sync) */
	NET_PROTOCOL_C,       /* protocol C on the live connection */
	NET_DISCONNECT,       /* graceful disconnect */
	NET_DISCONNECT_HARD,  /* forced disconnect */
	NET_ONE_PRIMARY,      /* two-primaries off */
	NET_TWO_PRIMARIES     /* two-primaries on */
};

static int
net_req(const struct ctx *c, enum net_op op, struct dmg_error *err);

/* The initial sync replicates asynchronously (protocol A): the guest's
 * writes complete once handed to the network, not once the destination's
 * disk, busy with the resync, has them.  Past this much in flight DRBD
 * pulls ahead: it stops sending the guest's writes, marks them out of sync
 * and resyncs them once the link drains.  (A guest with one write in
 * flight never gets there: on a full link it waits for room in the send
 * buffer -- lab, migrate-faults sync-flood.)  2 MiB: a few hundred small
 * writes, well under a socket buffer, so the resync keeps the link busy
 * meanwhile. */
#define CONG_FILL_KIB 2048

/* A graceful disconnect outdates the peer, which DRBD refuses while the peer
 * is Primary (a source rolling back alone while the destination's daemon is
 * away); then cut the link hard: with fencing, our fence-peer handler is
 * asked and answers at once outside the migration window. */
static int
net_disconnect(const struct ctx *c, struct dmg_error *err)
{
	int rc = net_req(c, NET_DISCONNECT, err);

	if (rc == 0)
		return 0;
	dmg_warn(c->b->log, "session=%s disk=%s: graceful disconnect refused (%s); forcing it",
		 c->s->sid, c->d->target, err->msg);
	return net_req(c, NET_DISCONNECT_HARD, err);
}

static int
net_req(const struct ctx *c, enum net_op op, struct dmg_error *err)
{
	struct sockaddr_in my, peer;
	struct dmg_drbd_net net = { .my_addr = (struct sockaddr *)&my, .my_len = sizeof(my),
				    .peer_addr = (struct sockaddr *)&peer, .peer_len = sizeof(peer),
				    .hmac_alg = c->b->hmac_alg, .secret = c->s->secret,
				    .two_primaries = op == NET_TWO_PRIMARIES, .async = op == NET_CONNECT,
				    .cong_fill_kib = CONG_FILL_KIB };
	struct dmg_drbd_req r;
	int rc;

	if (sa_of(c->me, &my, err) < 0 || sa_of(c->peer, &peer, err) < 0)
		return err->code;
	switch (op) {
	case NET_CONNECT:
		rc = dmg_drbd_req_connect(&r, c->res, &net, err);
		break;
	case NET_PROTOCOL_C:
		rc = dmg_drbd_req_protocol_c(&r, &net, err);
		break;
	case NET_DISCONNECT:
	case NET_DISCONNECT_HARD:
		rc = dmg_drbd_req_disconnect(&r, &net, op == NET_DISCONNECT_HARD, err);
		break;
	default:
		rc = dmg_drbd_req_net_opts(&r, &net, err);
		break;
	}
	return rc < 0 ? rc : backend_drbd_do(&r, err);
}

/* The minor's DRBD status for the steps below: 0 with *st, or < 0.  0
 * with *gone set (and no *st): the minor is gone and the step takes that as
 * done (the caller returns 0: a teardown finds it already down). */
static int
minor_state(const struct ctx *c, struct dmg_drbd_status *st, int *gone,
	    struct dmg_error *err)
{
	int rc = backend_minor_state(c->me->minor, st, err);

	*gone = rc == -ENODEV && c->row->gone_ok;
	if (*gone)
		return 0;
	return rc < 0 ? rc : 0;
}

/* promote, demote */
int
step_role(struct ctx *c, const char *in, struct dmg_error *err)
{
	int primary = building(c);
	struct dmg_drbd_status st;
	struct dmg_drbd_req r;
	int gone;
	int rc = minor_state(c, &st, &gone, err);

	(void)in;
	if (rc < 0 || gone)
		return rc;
	if (st.state.role == (primary ? DMG_R_PRIMARY : DMG_R_SECONDARY))
		return 0;
	rc = dmg_drbd_req_role(&r, c->me->minor, primary, 0, err);
	return rc < 0 ? rc : backend_drbd_do(&r, err);
}

/* connect, disconnect, two-primaries, one-primary.  The ones that take
 * something down find it gone (no minor, no link) as done. */
int
step_net(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_drbd_status st;
	int gone;
	int rc = minor_state(c, &st, &gone, err);

	(void)in;
	if (rc < 0 || gone)
		return rc;
	if (c->step == DMG_STEP_CONNECT)
		return st.state.conn != DMG_C_STANDALONE ? 0 : net_req(c, NET_CONNECT, err);
	if (st.state.conn == DMG_C_STANDALONE)
		return c->row->gone_ok ? 0 :
		       dmg_error_set(err, -ENOTCONN, "%s is not connected", c->res);
	if (c->step == DMG_STEP_DISCONNECT)
		return net_disconnect(c, err);
	return net_req(c, c->step == DMG_STEP_TWO_PRIMARIES ? NET_TWO_PRIMARIES : NET_ONE_PRIMARY, err);
}

/* Synchronous replication from here on: protocol C (every write
 * acknowledged by both disks), no pulling ahead, and fencing on.  Run again
 * (recovery, a repeated call) it sets the same options. */
int
step_protocol_c(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_drbd_status st;
	struct dmg_drbd_req r;
	int gone;
	int rc = minor_state(c, &st, &gone, err);

	(void)in;
	if (rc < 0)
		return rc;
	if (gone || st.state.conn == DMG_C_STANDALONE)
		return dmg_error_set(err, -ENOTCONN, "%s is not connected", c->res);
	if ((rc = net_req(c, NET_PROTOCOL_C, err)) < 0)
		return rc;
	if (c->b->fence_peer &&
	    ((rc = dmg_drbd_req_fencing(&r, c->me->minor, DMG_FENCING_STONITH, err)) < 0 ||
	     (rc = backend_drbd_do(&r, err)) < 0))
		return rc;
	pthread_mutex_lock(&c->s->mu);
	c->d->repl = DMG_REPL_SYNCHRONOUS;
	pthread_mutex_unlock(&c->s->mu);
	dmg_info(c->b->log, "session=%s domain=%s disk=%s: replication synchronous from now on (protocol C%s)",
		 c->s->sid, c->s->domain, c->d->target, c->b->fence_peer ? ", fencing resource-and-stonith" : "");
	return 0;
}

/* How long the initial sync waits for a lost replication link to come
 * back: DRBD reconnects by itself and resumes the resync from its bitmap,
 * so a short network hiccup costs only the time it lasts. */
#define SYNC_LINK_WAIT_MS 60000

struct sync_wait {
	struct ctx *c;
	uint64_t oos;
	int64_t t;
	int64_t lost_since;          /* not connected since (0: connected) */
	int was_connected;
	struct dmg_drbd_converge cv; /* wait-synced only; wait-in-sync: window 0 */
	int stalled;
};

static int
synced(const struct dmg_drbd_status *st, void *arg)
{
	struct sync_wait *w = arg;
	struct dmg_sess_disk *d = w->c->d;
	int64_t now = dmg_now_ms();
	int done = st->state.conn == DMG_C_CONNECTED && st->state.disk == DMG_D_UP_TO_DATE &&
		   st->state.pdsk == DMG_D_UP_TO_DATE;

	if (dmg_drbd_resyncing(st->state.conn) && w->t && now - w->t >= 1000) {
		double pct, rate;
		long eta;

		dmg_drbd_progress(st->bits_total, w->oos, st->bits_oos, (uint64_t)(now - w->t),
				  &pct, &rate, &eta);
		pthread_mutex_lock(&w->c->s->mu);
		d->repl = w->c->step == DMG_STEP_WAIT_IN_SYNC ? DMG_REPL_SYNCHRONOUS :
			       st->state.conn == DMG_C_AHEAD || st->state.conn == DMG_C_BEHIND ?
			       DMG_REPL_CONVERGING : DMG_REPL_FAST;
		d->pct = pct;
		d->kib_s = rate;
		d->eta_s = eta;
		pthread_mutex_unlock(&w->c->s->mu);
		dmg_info(w->c->b->log, "session=%s domain=%s disk=%s sync %.1f%% %.0f KiB/s eta %ld s (%s)",
			 w->c->s->sid, w->c->s->domain, d->target, pct, rate, eta,
			 dmg_repl_mode_name(d->repl));
	}
	if (!w->t || now - w->t >= 1000) {
		w->oos = st->bits_oos;
		w->t = now;
	}
	if (done) {
		pthread_mutex_lock(&w->c->s->mu);
		d->pct = 100.0;
		d->eta_s = 0;
		pthread_mutex_unlock(&w->c->s->mu);
	}
	pthread_mutex_lock(&w->c->s->mu);
	if (w->c->s->cancel) {
		pthread_mutex_unlock(&w->c->s->mu);
		return -ECANCELED;
	}
	pthread_mutex_unlock(&w->c->s->mu);
	if (st->state.conn >= DMG_C_CONNECTED) {
		if (w->lost_since)
			dmg_info(w->c->b->log, "session=%s domain=%s disk=%s: replication link back after %" PRId64 " s; the resync goes on",
				 w->c->s->sid, w->c->s->domain, d->target, (now - w->lost_since) / 1000);
		w->lost_since = 0;
		w->was_connected = 1;
	} else if (!w->lost_since) {
		w->lost_since = now;
		if (w->was_connected)
			dmg_warn(w->c->b->log, "session=%s domain=%s disk=%s: replication link lost during the sync (%s); waiting up to %d s for it",
				 w->c->s->sid, w->c->s->domain, d->target,
				 dmg_drbd_conn_str(st->state.conn), SYNC_LINK_WAIT_MS / 1000);
	} else if (now - w->lost_since > SYNC_LINK_WAIT_MS) {
		return -ENOTCONN;
	}
	if (!done && dmg_drbd_converge_stalled(&w->cv, st->state.conn, st->bits_oos, now)) {
		w->stalled = 1;
		return 1;
	}
	return done;
}

int
step_wait_synced(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct sync_wait w = { .c = c, .cv.window_ms = c->step == DMG_STEP_WAIT_SYNCED ?
							(int64_t)c->b->converge_s * 1000 : 0 };
	struct dmg_drbd_status last;
	struct dmg_drbd *d;
	long secs = in && *in ? strtol(in, NULL, 10) : 3600;
	int rc = dmg_drbd_open(&d, err);

	if (rc < 0)
		return rc;
	if (dmg_drbd_events_open(d, err) < 0)
		dmg_warn(c->b->log, "session=%s: no DRBD events (%s); polling", c->s->sid, err->msg);
	rc = dmg_drbd_wait(d, c->me->minor, synced, &w, (int)(secs > 0 ? secs : 3600) * 1000,
			   &last, err);
	dmg_drbd_close(d);
	if (rc >= 0 && w.stalled)
		dmg_warn(c->b->log, "session=%s domain=%s disk=%s: the sync made no progress for %u s (%" PRIu64 " KiB still out of sync: the guest writes faster than the resync carries, or the resync is held up); replicating synchronously so that it converges",
			 c->s->sid, c->s->domain, c->d->target, c->b->converge_s, w.cv.best * 4);
	if (rc == -ENOTCONN)
		dmg_error_prefix(err, "no replication link to %s for %d s during the initial sync",
				 c->peer->addr, SYNC_LINK_WAIT_MS / 1000);
	else if (rc == -ECANCELED)
		dmg_error_prefix(err, "cancelled by the admin (drbdmig cancel) during the initial sync");
	return rc;
}

/* peer-has-all (destination): whether every write DRBD took here is on the
 * peer's disk too.  DRBD marks out of sync each block written here that the
 * peer did not acknowledge: a write while disconnected, or one in flight
 * when the link broke.  So a disk UpToDate with nothing out of sync holds
 * no write the peer lacks, whatever ran here.  The kernel reports the
 * bitmap only with the disk attached (bits_total 0 otherwise): no bitmap,
 * no proof. */
int
step_peer_has_all(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_drbd_status st;
	int rc;

	(void)in;
	/* It may let a rollback remove a copy: without DRBD it proves nothing. */
	if (c->b->dry_run)
		return dmg_error_set(err, -ENOTSUP, "dry run: no DRBD to ask");
	rc = backend_minor_state(c->me->minor, &st, err);
	if (rc == -ENODEV)
		return dmg_error_set(err, -ENODEV, "DRBD minor %u is gone: nothing shows what was written here",
				     c->me->minor);
	if (rc < 0)
		return rc;
	if (strcmp(st.resource, c->res) != 0)
		return dmg_error_set(err, -ESTALE, "DRBD minor %u is resource '%s', not %s",
				     c->me->minor, st.resource, c->res);
	if (!st.has_state || st.state.disk != DMG_D_UP_TO_DATE)
		return dmg_error_set(err, -ENODATA, "the disk here is %s, not UpToDate",
				     st.has_state ? dmg_drbd_disk_str(st.state.disk) : "in an unknown state");
	if (st.bits_total == 0)
		return dmg_error_set(err, -ENODATA, "DRBD reports no bitmap for minor %u", c->me->minor);
	if (st.bits_oos)
		return dmg_error_set(err, -EEXIST, "%" PRIu64 " KiB written here are not on the peer (DRBD out of sync)",
				     st.bits_oos * 4);
	return 0;
}
