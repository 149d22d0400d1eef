/* The storage steps of core/steprow.c carried out on this host: one
 * function per step (or per build/undo pair), dispatched through a table
 * indexed by enum dmg_step, and dmg_backend_act, the session's entry. */
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
#include <unistd.h>

#include "storage/backend.h"
#include "storage/backend_int.h"
#include "storage/dm.h"
#include "storage/drbd.h"
#include "storage/drbdconf.h"
#include "storage/lvm.h"
#include "core/modelnames.h"
#include "core/steprow.h"
#include "core/wire.h"

#define DRBD_MAJOR   147
#define DRBD_TMO_MS  30000

/* DRBD 8.4's enum drbd_ret_code for a resource name it does not know
 * (linux/drbd.h).  Older 8.4 modules answered ERR_INVALID_REQUEST with the
 * info text "unknown resource" instead. */
#define DRBD_ERR_RES_NOT_KNOWN   158
#define DRBD_ERR_INVALID_REQUEST 162

/* ---- helpers ------------------------------------------------------------- */

struct ctx {
	struct dmg_backend *b;
	struct dmg_session *s;
	const char *verb;                /* as the engine named it */
	enum dmg_step step;              /* parsed once; DMG_STEP_NONE if unknown */
	const struct dmg_step_row *row;  /* core/steprow.c; NULL if unknown */
	int disk;
	struct dmg_sess_disk *d;
	struct dmg_sess_side *me, *peer;
	char res[64], copy[64], md[64], lvpath[300];
};

static int
md_bytes(const struct ctx *c, uint64_t *bytes, struct dmg_error *err)
{
	uint64_t vfree, ext;
	int rc = dmg_lvm_vg(c->d->vg, &vfree, &ext, err);

	if (rc < 0)
		return rc;
	*bytes = dmg_lvm_round_extents(dmg_drbd_md_sectors(c->d->size / 512) * 512, ext);
	return 0;
}

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

/* One request; st (may be NULL) receives DRBD's answer, also on failure. */
static int
drbd_do_st(struct dmg_drbd_req *r, struct dmg_drbd_status *st, struct dmg_error *err)
{
	struct dmg_drbd *d;
	int rc = dmg_drbd_open(&d, err);

	if (rc < 0)
		return rc;
	rc = dmg_drbd_call(d, r, DRBD_TMO_MS, st, err);
	dmg_drbd_close(d);
	return rc;
}

int
backend_drbd_do(struct dmg_drbd_req *r, struct dmg_error *err)
{
	return drbd_do_st(r, NULL, err);
}

/* DRBD's answer says the resource does not exist (any more). */
static int
res_unknown(const struct dmg_drbd_status *st)
{
	return st->ret_code == DRBD_ERR_RES_NOT_KNOWN ||
	       (st->ret_code == DRBD_ERR_INVALID_REQUEST &&
		strcmp(st->info, "unknown resource") == 0);
}

int
backend_minor_state(uint32_t minor, struct dmg_drbd_status *st, struct dmg_error *err)
{
	struct dmg_drbd *d;
	int rc = dmg_drbd_open(&d, err);

	if (rc < 0)
		return rc;
	rc = dmg_drbd_status(d, minor, st, err);
	dmg_drbd_close(d);
	return rc;
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

/* Thin resync: the destination asks for the initial sync in pieces of this
 * size, and a piece the source reads as all zero crosses the link as a
 * short reply; the destination then writes zeros itself (never trusting a
 * discard to zero: old data under a new LV must go).  With 1 MiB a 1 GiB
 * LV with 10 % data took a tenth of the link bytes in the lab; a finer
 * granularity would find more zero pieces in more, smaller requests (not
 * measured). */
#define RS_DISCARD_GRANULARITY (1u << 20)

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

/* ---- verbs ---------------------------------------------------------------- */

static int
v_source_size(struct ctx *c, const char *in, struct dmg_error *err)
{
	int rc = dmg_backend_probe(c->b, c->d->path, c->d->vg, sizeof(c->d->vg), c->d->lv,
				   sizeof(c->d->lv), &c->d->size, err);

	(void)in;
	if (rc < 0)
		return rc;
	snprintf(c->me->host, sizeof(c->me->host), "%s", c->b->host);
	rc = dmg_backend_local_addr(c->b, c->peer->addr, c->me->addr, sizeof(c->me->addr), err);
	if (rc < 0)
		return rc;
	return dmg_backend_reserve(c->b, &c->me->minor, &c->me->port, err);
}

static int
v_lv_create(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_lv lv;
	uint64_t vfree, ext, mdb;
	int rc;

	(void)in;
	rc = dmg_lvm_lookup(c->lvpath, &lv, err);
	if (rc == 0)
		return lv.tagged && lv.size == c->d->size ? 0 :
		       dmg_error_set(err, -EEXIST, "%s exists on this host already", c->lvpath);
	if ((rc = dmg_lvm_vg(c->d->vg, &vfree, &ext, err)) < 0 ||
	    (rc = md_bytes(c, &mdb, err)) < 0)
		return rc;
	if (c->d->size % ext)
		return dmg_error_set(err, -EINVAL, "%s is %" PRIu64 " bytes, not a multiple of VG %s's extent size %" PRIu64,
				     c->d->path, c->d->size, c->d->vg, ext);
	if (vfree < c->d->size + mdb)
		return dmg_error_set(err, -ENOSPC, "VG %s has %" PRIu64 " MiB free; %s needs %" PRIu64 " MiB (disk and DRBD metadata)",
				     c->d->vg, vfree >> 20, c->d->target, (c->d->size + mdb) >> 20);
	return dmg_lvm_create(c->d->vg, c->d->lv, c->d->size, err);
}

/* lv-remove, lv-untag, lv-remove-guest: lvs failing means gone already; a
 * name lvm2 would refuse is no LV. */
static int
v_lv_gone(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_lv lv;
	int rc;

	(void)in;
	if ((rc = dmg_lvm_lookup(c->lvpath, &lv, err)) < 0)
		return rc == -EINVAL ? rc : 0;
	if (c->step == DMG_STEP_LV_UNTAG)
		return lv.tagged ? dmg_lvm_deltag(c->d->vg, c->d->lv, err) : 0;
	return dmg_lvm_remove(c->d->vg, c->d->lv, c->step == DMG_STEP_LV_REMOVE_GUEST, err);
}

/* The pairs below take their direction from the table: a build step makes,
 * its undo (a teardown step) takes down. */
static int
building(const struct ctx *c)
{
	return c->row->kind == DMG_STEP_BUILD;
}

/* md-create, md-remove */
static int
v_md(struct ctx *c, const char *in, struct dmg_error *err)
{
	int create = building(c);
	char path[300];
	struct dmg_lv lv;
	uint64_t bytes;
	int rc;

	(void)in;
	snprintf(path, sizeof(path), "%s/%s", c->d->vg, c->md);
	rc = dmg_lvm_lookup(path, &lv, err);
	if (!create)
		return rc < 0 ? 0 : dmg_lvm_remove(c->d->vg, c->md, 0, err);
	if (rc == 0)
		return 0;
	rc = md_bytes(c, &bytes, err);
	return rc < 0 ? rc : dmg_lvm_create(c->d->vg, c->md, bytes, err);
}

/* copy-create, copy-remove */
static int
v_copy(struct ctx *c, const char *in, struct dmg_error *err)
{
	int create = building(c);
	struct dmg_dm_table t;
	struct dmg_dm_info info;
	char uuid[DMG_DM_UUID_MAX];
	int rc;

	(void)in;
	if (!create) {
		rc = dmg_dm_remove(c->copy, err);
		return rc == -ENOENT ? 0 : rc;
	}
	if ((rc = dmg_dm_info(c->copy, &info, err)) < 0)
		return rc;
	if (info.exists)
		return 0;
	if ((rc = dmg_dm_resolve(c->lvpath, &info, err)) < 0 ||
	    (rc = dmg_dm_get_table(info.name, &t, err)) < 0)
		return rc;
	if (t.n == 1 && strcmp(t.t[0].type, "linear") == 0 &&
	    strncmp(t.t[0].params, "147:", 4) == 0)
		return dmg_error_set(err, -EBUSY, "%s already maps a DRBD device; refusing to copy it",
				     c->lvpath);
	/* Checked at validation; again here, on the very table that is
	 * copied, since the LV may have been converted since. */
	if ((rc = dmg_dm_table_plain(&t, c->lvpath, err)) < 0)
		return rc;
	snprintf(uuid, sizeof(uuid), "%s%s", DMG_DM_UUID_PREFIX, c->copy);
	return dmg_dm_create(c->copy, uuid, &t, err);
}

static int
v_drbd_up(struct ctx *c, const char *in, struct dmg_error *err)
{
	char copydev[128], mdpath[300];
	const struct dmg_sess_side *a = &c->d->side[DMG_ROLE_SRC], *b = &c->d->side[DMG_ROLE_DST];
	struct dmg_drbd_resfile rf = { .resource = c->res, .secret = c->s->secret,
				       .hmac_alg = c->b->hmac_alg, .fence_peer = c->b->fence_peer };
	/* Fencing off (dont-care) for the asynchronous sync: DRBD refuses
	 * resource-and-stonith under protocol A, and before the window our
	 * handler would answer "peer outdated" at once anyway.  protocol-c
	 * turns it on before the window: then a Primary that loses the link
	 * freezes I/O until the handler (drbdmig-fence-peer) says the
	 * migration cannot switch over any more (DESIGN.md §5 rule 1). */
	struct dmg_drbd_disk disk = { .resync_rate_kib = c->d->rate_kib, .dynamic = c->d->dynamic,
				      .fencing = c->b->fence_peer ? DMG_FENCING_DONT_CARE : -1,
				      .rs_discard_granularity = RS_DISCARD_GRANULARITY };
	struct dmg_drbd_status st;
	struct dmg_drbd_req r;
	int rc;

	(void)in;
	snprintf(copydev, sizeof(copydev), "/dev/mapper/%s", c->copy);
	snprintf(mdpath, sizeof(mdpath), "/dev/%s/%s", c->d->vg, c->md);
	rf.host[0] = (struct dmg_drbd_host){ a->host, a->addr, (uint16_t)a->port, a->minor, copydev, mdpath };
	rf.host[1] = (struct dmg_drbd_host){ b->host, b->addr, (uint16_t)b->port, b->minor, copydev, mdpath };
	if ((rc = dmg_drbd_resfile_write(c->b->resdir, &rf, err)) < 0)
		return rc;
	rc = backend_minor_state(c->me->minor, &st, err);
	if (rc == 0 && st.state.disk != DMG_D_DISKLESS)
		goto role;   /* attached by an earlier run */
	if (rc == -ENODEV) {
		if ((rc = dmg_drbd_create_md(c->me->minor, mdpath, err)) < 0 ||
		    (rc = dmg_drbd_req_new_resource(&r, c->res, err)) < 0 ||
		    (rc = backend_drbd_do(&r, err)) < 0 ||
		    (rc = dmg_drbd_req_new_minor(&r, c->res, c->me->minor, 0, err)) < 0 ||
		    (rc = backend_drbd_do(&r, err)) < 0)
			return rc;
	} else if (rc < 0) {
		return rc;
	}
	disk.backing = copydev;
	disk.meta = mdpath;
	if ((rc = dmg_drbd_req_attach(&r, c->me->minor, &disk, err)) < 0 || (rc = backend_drbd_do(&r, err)) < 0)
		return rc;
role:
	if (c->s->role != DMG_ROLE_SRC)
		return 0;
	/* The source's copy holds the guest's data: it is UpToDate by fiat. */
	rc = dmg_drbd_req_role(&r, c->me->minor, 1, 1, err);
	return rc < 0 ? rc : backend_drbd_do(&r, err);
}

static int
v_drbd_down(struct ctx *c, const char *in, struct dmg_error *err)
{
	struct dmg_drbd_status st = { 0 };
	struct dmg_drbd_req r;
	int rc = dmg_drbd_req_resource(&r, DMG_DRBD_DOWN, c->res, err);

	(void)in;
	if (rc == 0)
		rc = drbd_do_st(&r, &st, err);
	if (rc < 0 && !(c->row->gone_ok && res_unknown(&st)))
		return rc;
	return dmg_drbd_resfile_remove(c->b->resdir, c->res, err);
}

/* swap-to-drbd, swap-back */
static int
v_swap(struct ctx *c, const char *in, struct dmg_error *err)
{
	int to_drbd = building(c);
	struct dmg_dm_table extents, drbd, live;
	struct dmg_dm_info info, cinfo;
	uint64_t sectors;
	int rc;

	(void)in;
	if ((rc = dmg_dm_resolve(c->lvpath, &info, err)) < 0 ||
	    (rc = dmg_dm_get_table(info.name, &live, err)) < 0 ||
	    (rc = dmg_dm_table_check(&live, &sectors, err)) < 0 ||
	    (rc = dmg_dm_table_linear(&drbd, sectors, DRBD_MAJOR, c->me->minor, 0, err)) < 0 ||
	    (rc = dmg_dm_info(c->copy, &cinfo, err)) < 0)
		return rc;
	if (!cinfo.exists) {
		/* No copy: the LV cannot map DRBD through us; nothing to undo. */
		if (!to_drbd && !dmg_dm_table_equal(&live, &drbd))
			return 0;
		return dmg_error_set(err, -ENOENT, "copy device %s is missing", c->copy);
	}
	if ((rc = dmg_dm_get_table(c->copy, &extents, err)) < 0)
		return rc;
	if (to_drbd)
		return dmg_dm_table_equal(&live, &drbd) ? 0 :
		       dmg_dm_swap(info.name, &drbd, &extents, err);
	return dmg_dm_table_equal(&live, &extents) ? 0 :
	       dmg_dm_swap(info.name, &extents, &drbd, err);
}

/* The minor's DRBD status for v_role and v_net: 0 with *st, or < 0.  0
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
static int
v_role(struct ctx *c, const char *in, struct dmg_error *err)
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
static int
v_net(struct ctx *c, const char *in, struct dmg_error *err)
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
static int
v_protocol_c(struct ctx *c, const char *in, struct dmg_error *err)
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

static int
v_wait_synced(struct ctx *c, const char *in, struct dmg_error *err)
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
		dmg_warn(c->b->log, "session=%s domain=%s disk=%s: the sync made no progress for %u s (%" PRIu64 " KiB out of sync: the guest writes faster than the link carries); replicating synchronously so that it converges",
			 c->s->sid, c->s->domain, c->d->target, c->b->converge_s, w.cv.best * 4);
	if (rc == -ENOTCONN)
		dmg_error_prefix(err, "no replication link to %s for %d s during the initial sync",
				 c->peer->addr, SYNC_LINK_WAIT_MS / 1000);
	else if (rc == -ECANCELED)
		dmg_error_prefix(err, "cancelled by the admin (drbdmig cancel) during the initial sync");
	return rc;
}

/* What carries out each step of core/steprow.c on this host. */
static int (*const step_fn[DMG_STEP_MAX])(struct ctx *c, const char *in, struct dmg_error *err) = {
	[DMG_STEP_SOURCE_SIZE] = v_source_size,
	[DMG_STEP_LV_CREATE] = v_lv_create,
	[DMG_STEP_MD_CREATE] = v_md,
	[DMG_STEP_COPY_CREATE] = v_copy,
	[DMG_STEP_DRBD_UP] = v_drbd_up,
	[DMG_STEP_SWAP_TO_DRBD] = v_swap,
	[DMG_STEP_CONNECT] = v_net,
	[DMG_STEP_WAIT_SYNCED] = v_wait_synced,
	[DMG_STEP_PROTOCOL_C] = v_protocol_c,
	[DMG_STEP_WAIT_IN_SYNC] = v_wait_synced,
	[DMG_STEP_TWO_PRIMARIES] = v_net,
	[DMG_STEP_PROMOTE] = v_role,
	[DMG_STEP_ONE_PRIMARY] = v_net,
	[DMG_STEP_DEMOTE] = v_role,
	[DMG_STEP_DISCONNECT] = v_net,
	[DMG_STEP_SWAP_BACK] = v_swap,
	[DMG_STEP_DRBD_DOWN] = v_drbd_down,
	[DMG_STEP_COPY_REMOVE] = v_copy,
	[DMG_STEP_MD_REMOVE] = v_md,
	[DMG_STEP_LV_REMOVE] = v_lv_gone,
	[DMG_STEP_LV_UNTAG] = v_lv_gone,
	[DMG_STEP_LV_REMOVE_GUEST] = v_lv_gone,
};

static int
dispatch(struct ctx *c, const char *in, struct dmg_error *err)
{
	const char *verb = c->verb;
	int (*fn)(struct ctx *c, const char *in, struct dmg_error *err) =
		c->step > DMG_STEP_NONE && c->step < DMG_STEP_MAX ? step_fn[c->step] : NULL;

	/* Validation runs even in dry-run mode and is never paused. */
	if (c->step == DMG_STEP_SOURCE_SIZE)
		return v_source_size(c, in, err);
	if (c->b->pause_s && c->step != DMG_STEP_NONE && dmg_step_parse(c->b->pause_verb) == c->step) {
		dmg_warn(c->b->log, "session=%s disk=%s: pausing %u s before %s (test hook DRBDMIG_TEST_PAUSE)",
			 c->s->sid, c->d->target, c->b->pause_s, verb);
		sleep(c->b->pause_s);
	}
	if (c->b->dry_run) {
		if (c->step == DMG_STEP_WAIT_SYNCED || c->step == DMG_STEP_WAIT_IN_SYNC) {
			pthread_mutex_lock(&c->s->mu);
			c->d->pct = 100.0;
			pthread_mutex_unlock(&c->s->mu);
		}
		return 0;
	}
	if (!fn || !c->row)
		return dmg_error_set(err, -ENOSYS, "unknown storage step '%s'", verb);
	return fn(c, in, err);
}

int
dmg_backend_act(void *arg, struct dmg_session *s, const char *verb, int disk,
		const char *in, char *out, size_t outlen, struct dmg_error *err)
{
	/* The name becomes the step once, here. */
	struct ctx c = { .b = arg, .s = s, .disk = disk, .verb = verb,
			.step = dmg_step_parse(verb) };
	int rc;

	(void)out;
	(void)outlen;
	if (disk < 0 || (size_t)disk >= s->ndisks)
		return dmg_error_set(err, -EINVAL, "step %s: no disk %d", verb, disk);
	c.row = dmg_step_row(c.step);
	c.d = &s->disks[disk];
	c.me = &c.d->side[s->role];
	c.peer = &c.d->side[!s->role];
	dmg_sess_res_name(s, disk, c.res, sizeof(c.res));
	dmg_sess_copy_name(s, disk, c.copy, sizeof(c.copy));
	dmg_sess_md_name(s, disk, c.md, sizeof(c.md));
	snprintf(c.lvpath, sizeof(c.lvpath), "/dev/%s/%s", c.d->vg, c.d->lv);
	if (c.b->dry_run)
		dmg_info(c.b->log, "session=%s disk=%s dry-run step %s", s->sid, c.d->target, verb);
	rc = dispatch(&c, in, err);
	if (rc < 0)
		dmg_error_prefix(err, "%s (%s)", verb, c.d->target);
	return rc;
}
