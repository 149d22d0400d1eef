#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lock ordering (take only in this order; never hold one while waiting on
 * the network, libvirt or storage unless said):
 *
 *   entry->op          engine calls on one session (build, settle, peer
 *                      verbs, cancel/cleanup).  Held for whole steps, even
 *                      across peer calls and storage; the build holds it for
 *                      the whole sync.  Only ever one op lock at a time.
 *     r->mu            the table (head, next), and per entry: building,
 *                      refs, fencing, kick, resumed, frozen_ms; stop, the
 *                      stamp queue.  Short; nothing slow under it.
 *       s->mu          one session's phase/progress/flags vs. readers
 *                      (status, hooks, the fence paths, which never take op).
 *   b->mu              the backend's minor/port sets (leaf; taken alone).
 *
 * Lifetimes: an entry is freed only by reap() on the settle thread, and only
 * when its session is closed, no one holds a reference (refs), no build or
 * fence runs on it, and its op lock is free.  Whoever uses an entry outside
 * r->mu holds a reference taken under r->mu (entry_get/entry_put); the
 * settle thread itself walks the list unlocked, since it alone unlinks.
 *
 * Threads: the settle thread (settle, reap, stamps), the watchdog (frozen
 * DRBD I/O), one per fence job, and the callers' threads: hook requests
 * (migrate begin builds on it), CLI requests, peer connections. */
#include "storage/dm.h"
#include "storage/drbd.h"
#include "storage/drbdconf.h"
#include "storage/lvm.h"
#include "peer/peer.h"
#include "daemon/registry.h"
#include "libvirt/virt.h"
#include "core/wire.h"

#define SETTLE_TICK_MS   1000
#define SRC_IDLE_MS      30000   /* source asks the destination after this */
#define DEFAULT_PEER_PORT 7780

struct entry {
	struct dmg_session *s;
	pthread_mutex_t op;          /* engine calls on s */
	int building;                /* the hook thread owns it and holds op (table lock) */
	int recovered;
	int64_t ready_ms;            /* when READY was seen (destination) */
	int64_t last_peer_ms;        /* last call from the peer (source) */
	int kick;
	int resumed;                 /* libvirt said: resumed after migration, here */
	int fencing;                 /* fence() calls running for it (table lock) */
	int refs;                    /* users outside the table lock (table lock) */
	int64_t frozen_ms;           /* DRBD I/O seen frozen, no fence running, since */
	struct entry *next;
};

struct dmg_registry {
	struct dmg_reg_conf conf;
	struct dmg_conf peers;       /* the `peers` list and default port only */
	char state_dir[256], self[300];
	struct dmg_backend *b;
	struct dmg_virt *virt;
	struct dmg_peer_ctx *pc;
	struct dmg_log *log;
	struct dmg_sess_env env;
	pthread_mutex_t mu;          /* the table, stop, kick */
	pthread_cond_t cv;
	pthread_cond_t wcv;          /* wakes the watchdog (stop) */
	struct entry *head;
	char stampq[16][VIR_UUID_STRING_BUFLEN];   /* domains to stamp (settle thread) */
	int nstamp, stamp_all;
	int stop, started;
	pthread_t thread, wthread;
};

/* ---- the world as the engine sees it ------------------------------------- */

static int
env_dom(void *arg, const char *uuid, enum dmg_dom *st, struct dmg_error *err)
{
	struct dmg_registry *r = arg;
	char u[VIR_UUID_STRING_BUFLEN];
	enum dmg_virt_state vs;
	int rc;

	*st = DMG_DOM_UNKNOWN;
	if (!r->virt)
		return dmg_error_set(err, -ENOTCONN, "no libvirt connection");
	rc = dmg_virt_state(r->virt, uuid, &vs, NULL, u, err);
	if (rc < 0)
		return rc;
	switch (vs) {
	case DMG_VIRT_ABSENT: *st = DMG_DOM_ABSENT; break;
	case DMG_VIRT_RUNNING: *st = DMG_DOM_RUNNING; break;
	case DMG_VIRT_PAUSED: *st = DMG_DOM_PAUSED; break;
	case DMG_VIRT_SHUTOFF: *st = DMG_DOM_SHUTOFF; break;
	default: *st = DMG_DOM_UNKNOWN; break;
	}
	return 0;
}

static int
env_policy(void *arg, const char *uuid, struct dmg_policy **out, struct dmg_error *err)
{
	struct dmg_registry *r = arg;
	char *xml = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!r->virt)
		return dmg_error_set(err, -ENOTCONN, "no libvirt connection");
	rc = dmg_virt_live_xml(r->virt, uuid, &xml, &len, err);
	if (rc == 0 && (rc = dmg_policy_parse(xml, len, out, err)) < 0)
		dmg_error_prefix(err, "the live XML of %s here", uuid);
	free(xml);
	return rc;
}

static int
env_migrating(void *arg, const char *uuid)
{
	struct dmg_registry *r = arg;
	struct dmg_error err = { 0 };
	int active = 1;

	if (!r->virt)
		return 0;
	if (dmg_virt_job_bounded(r->virt, uuid, 0, 3000, &active, &err) < 0) {
		dmg_debug(r->log, "job of %s: %s", uuid, err.msg);
		return 1;   /* cannot tell: assume it could still switch over */
	}
	return active;
}

static int
split_endpoint(const char *ep, char *host, size_t hl, unsigned *port)
{
	const char *colon = strrchr(ep, ':');
	char *end;
	unsigned long p = DEFAULT_PEER_PORT;

	if (colon) {
		p = strtoul(colon + 1, &end, 10);
		if (*end || p == 0 || p > 65535 || (size_t)(colon - ep) >= hl)
			return -EINVAL;
		memcpy(host, ep, (size_t)(colon - ep));
		host[colon - ep] = '\0';
	} else if (snprintf(host, hl, "%s", ep) >= (int)hl) {
		return -EINVAL;
	}
	*port = (unsigned)p;
	return *host ? 0 : -EINVAL;
}

/* The endpoint "host:port" of the `peers` entry whose host is name (or, if
 * addr is given, whose host is addr); -ENOENT when there is none. */
static int
peer_endpoint(const struct dmg_registry *r, const char *name, const char *addr, char *ep,
	      size_t len)
{
	char host[256];
	unsigned port;
	size_t i;

	for (i = 0; dmg_conf_peer(&r->peers, i, host, sizeof(host), &port); i++)
		if ((name && strcmp(host, name) == 0) || (addr && strcmp(host, addr) == 0)) {
			snprintf(ep, len, "%s:%u", host, port);
			return 0;
		}
	return -ENOENT;
}

/* One call to the drbdmig daemon at endpoint ep. */
static int
peer_call_ep(struct dmg_registry *r, const char *ep, const struct dmg_jrec *req,
	     unsigned timeout_s, struct dmg_jrec *reply, struct dmg_error *err)
{
	struct dmg_peer_conn *c = NULL;
	struct dmg_msg res = { 0 };
	char host[256];
	unsigned port;
	int64_t dl = dmg_now_ms() + (int64_t)timeout_s * 1000;
	int rc;

	if (!r->pc)
		return dmg_error_set(err, -ENOTCONN, "the peer channel is not configured");
	if (split_endpoint(ep, host, sizeof(host), &port) < 0)
		return dmg_error_set(err, -EINVAL, "bad peer endpoint '%s'", ep);
	rc = dmg_peer_connect(r->pc, host, (uint16_t)port, dl, &c, err);
	if (rc < 0)
		return rc;
	rc = dmg_peer_call(c, req, dl, &res, err);
	dmg_peer_close(c);
	if (rc < 0)
		return rc;
	if (res.status) {
		rc = dmg_error_set(err, res.status < 4096 ? -(int)res.status : -EPROTO,
				   "peer %s: %s", ep, res.message ? res.message : "refused");
	} else if (res.body && res.body_len) {
		char *nl = memchr(res.body, '\n', res.body_len);

		if (nl)
			*nl = '\0';
		rc = dmg_jrec_parse_line(res.body, reply, err);
	} else {
		dmg_jrec_init(reply, "ok");
	}
	dmg_msg_clear(&res);
	return rc;
}

static int
env_peer(void *arg, const struct dmg_session *s, const struct dmg_jrec *req,
	 struct dmg_jrec *reply, struct dmg_error *err)
{
	struct dmg_registry *r = arg;
	/* Building a source disk runs lvcreate, drbdmeta and a table swap. */
	unsigned tmo = r->conf.peer_timeout * (strcmp(req->step, "disk") == 0 ? 4 : 1);

	return peer_call_ep(r, s->peer, req, tmo, reply, err);
}

static int
env_act(void *arg, struct dmg_session *s, const char *verb, int disk, const char *in,
	char *out, size_t outlen, struct dmg_error *err)
{
	struct dmg_registry *r = arg;

	return dmg_backend_act(r->b, s, verb, disk, in, out, outlen, err);
}

/* ---- table ------------------------------------------------------------------ */

/* Publishes s.  A session being built is published with its op lock held
 * by the caller (the hook thread), so that no settle tick can see it between
 * its creation and its build: it would take the fresh BUILDING session for
 * an interrupted one and roll it back under the build. */
static struct entry *
add_entry(struct dmg_registry *r, struct dmg_session *s, int recovered, int building)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->s = s;
	e->recovered = recovered;
	e->last_peer_ms = dmg_now_ms();
	pthread_mutex_init(&e->op, NULL);
	if (building) {
		pthread_mutex_lock(&e->op);
		e->building = 1;
	}
	pthread_mutex_lock(&r->mu);
	e->next = r->head;
	r->head = e;
	pthread_mutex_unlock(&r->mu);
	return e;
}

/* Caller holds r->mu. */
static struct entry *
find_sid(struct dmg_registry *r, const char *sid)
{
	struct entry *e;

	for (e = r->head; e; e = e->next)
		if (sid && strcmp(e->s->sid, sid) == 0)
			return e;
	return NULL;
}

/* The entry of sid with a reference held (NULL if none); entry_put() it. */
static struct entry *
entry_get(struct dmg_registry *r, const char *sid)
{
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	e = find_sid(r, sid);
	if (e)
		e->refs++;
	pthread_mutex_unlock(&r->mu);
	return e;
}

static void
entry_put(struct dmg_registry *r, struct entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&r->mu);
	e->refs--;
	pthread_mutex_unlock(&r->mu);
}

static void
release_sides(struct dmg_registry *r, struct dmg_session *s)
{
	size_t i;

	for (i = 0; i < s->ndisks; i++)
		if (s->disks[i].side[s->role].port)
			dmg_backend_release(r->b, s->disks[i].side[s->role].minor,
					    s->disks[i].side[s->role].port);
}

/* Removes closed sessions from the table (caller holds neither lock). */
static void
reap(struct dmg_registry *r)
{
	struct entry **pp, *e;

	pthread_mutex_lock(&r->mu);
	for (pp = &r->head; (e = *pp);) {
		/* Whoever still uses the entry holds a reference. */
		if (!dmg_phase_closed(e->s->phase) || e->building || e->fencing || e->refs ||
		    e->s->phase == DMG_PH_ATTENTION || pthread_mutex_trylock(&e->op) != 0) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		pthread_mutex_unlock(&e->op);
		release_sides(r, e->s);
		dmg_info(r->log, "session=%s domain=%s closed: %s", e->s->sid, e->s->domain,
			 dmg_phase_name(e->s->phase));
		dmg_sess_free(e->s);
		pthread_mutex_destroy(&e->op);
		free(e);
	}
	pthread_mutex_unlock(&r->mu);
}

static void
kick(struct dmg_registry *r)
{
	pthread_mutex_lock(&r->mu);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int
dmg_registry_new(const struct dmg_reg_conf *conf, struct dmg_backend *b,
		 struct dmg_log *log, struct dmg_registry **out, struct dmg_error *err)
{
	struct dmg_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	r->conf = *conf;
	snprintf(r->peers.peers, sizeof(r->peers.peers), "%s", conf->peers ? conf->peers : "");
	r->peers.peer_port = conf->self_port ? conf->self_port : DEFAULT_PEER_PORT;
	r->conf.peers = r->peers.peers;
	snprintf(r->state_dir, sizeof(r->state_dir), "%s", conf->state_dir);
	r->conf.state_dir = r->state_dir;
	snprintf(r->self, sizeof(r->self), "%s:%u", conf->self_host ? conf->self_host : "",
		 conf->self_port);
	r->b = b;
	r->log = log;
	r->env = (struct dmg_sess_env){ .arg = r, .act = env_act, .dom_state = env_dom,
					.migrating = env_migrating, .peer = env_peer,
					.dom_policy = env_policy, .self = r->self };
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	pthread_cond_init(&r->wcv, NULL);
	if (mkdir(r->state_dir, 0700) < 0 && errno != EEXIST) {
		int rc = dmg_error_sys(err, -errno, "cannot create %s", r->state_dir);

		dmg_registry_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
dmg_registry_set_virt(struct dmg_registry *r, struct dmg_virt *v)
{
	r->virt = v;
}

void
dmg_registry_set_peer(struct dmg_registry *r, struct dmg_peer_ctx *pc)
{
	r->pc = pc;
}

void
dmg_registry_free(struct dmg_registry *r)
{
	struct entry *e;

	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_cond_broadcast(&r->wcv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		pthread_join(r->wthread, NULL);
	}
	while ((e = r->head)) {
		r->head = e->next;
		pthread_mutex_lock(&r->mu);
		if (e->fencing) {   /* a fence job still runs on it: the process is exiting */
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		pthread_mutex_unlock(&r->mu);
		dmg_sess_free(e->s);
		pthread_mutex_destroy(&e->op);
		free(e);
	}
	pthread_cond_destroy(&r->cv);
	pthread_cond_destroy(&r->wcv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void run_stamps(struct dmg_registry *r);

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
	if (s->phase != DMG_PH_READY || env_dom(r, s->uuid, &st, &err) < 0 ||
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

static void *watch_thread(void *arg);

static void *
settle_thread(void *arg)
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
		/* Entries are only freed by reap() on this thread, so walking
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
		reap(r);
		run_stamps(r);
	}
}

int
dmg_registry_start(struct dmg_registry *r, struct dmg_error *err)
{
	int rc = pthread_create(&r->thread, NULL, settle_thread, r);

	if (rc)
		return dmg_error_set(err, -rc, "cannot start the settle thread");
	/* Its own thread: a settle step can block on the very frozen I/O the
	 * watchdog is there to resume (a table swap waiting for it). */
	rc = pthread_create(&r->wthread, NULL, watch_thread, r);
	if (rc) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		r->stop = 0;
		return dmg_error_set(err, -rc, "cannot start the watchdog thread");
	}
	r->started = 1;
	return 0;
}

int
dmg_registry_recover(struct dmg_registry *r, struct dmg_error *err)
{
	DIR *d = opendir(r->state_dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return dmg_error_sys(err, -errno, "cannot read %s", r->state_dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct dmg_session *s = NULL;
		struct dmg_error lerr = { 0 };
		char path[512];
		size_t i;

		if (len < 9 || strcmp(de->d_name + len - 8, ".journal") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->state_dir, de->d_name);
		if (dmg_sess_load(path, &r->env, r->log, &s, &lerr) < 0) {
			dmg_err(r->log, "journal %s needs attention: %s", path, lerr.msg);
			continue;
		}
		for (i = 0; i < s->ndisks; i++) {
			struct dmg_sess_side *me = &s->disks[i].side[s->role];

			if (me->port) {
				pthread_mutex_lock(&r->b->mu);
				dmg_used_add(&r->b->minors, me->minor);
				dmg_used_add(&r->b->ports, me->port);
				pthread_mutex_unlock(&r->b->mu);
			}
		}
		dmg_info(r->log, "session=%s domain=%s role=%s recovered in phase %s", s->sid,
			 s->domain, s->role == DMG_ROLE_DST ? "dst" : "src", dmg_phase_name(s->phase));
		if (!add_entry(r, s, 1, 0)) {
			dmg_sess_free(s);
			closedir(d);
			return dmg_error_set(err, -ENOMEM, "out of memory");
		}
		n++;
	}
	closedir(d);
	return n;
}

/* ---- events ------------------------------------------------------------------- */

static void
mark(struct dmg_registry *r, const char *uuid, const char *name, int gone, int switched)
{
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next) {
		if (!((uuid && *uuid && strcmp(e->s->uuid, uuid) == 0) ||
		      (name && strcmp(e->s->domain, name) == 0)))
			continue;
		e->kick = 1;
		if (switched)
			e->resumed = 1;
		dmg_debug(r->log, "session=%s domain=%s: %s%s", e->s->sid, e->s->domain,
			  gone ? "guest stopped here" : "event",
			  switched ? " (resumed after migration)" : "");
		if (gone && e->s->role == DMG_ROLE_DST)
			dmg_sess_note_gone(e->s);
	}
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
dmg_registry_virt_event(const struct dmg_virt_event *ev, void *arg)
{
	struct dmg_registry *r = arg;

	if (ev->event == DMG_VIRT_EV_RECONNECTED) {
		struct entry *e;

		dmg_info(r->log, "libvirt connection (re)established; re-checking sessions");
		pthread_mutex_lock(&r->mu);
		r->stamp_all = 1;
		/* Events may have been lost while disconnected. */
		for (e = r->head; e; e = e->next) {
			pthread_mutex_lock(&e->s->mu);
			e->s->blind = 1;
			pthread_mutex_unlock(&e->s->mu);
		}
		pthread_mutex_unlock(&r->mu);
		mark(r, NULL, NULL, 0, 0);
		return;
	}
	/* Resumed because the migration finished here: the switchover, even if
	 * the guest is stopped again before the settle thread looks. */
	mark(r, ev->uuid, NULL, ev->event == VIR_DOMAIN_EVENT_STOPPED,
	     ev->event == VIR_DOMAIN_EVENT_RESUMED && ev->detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED);
	if (ev->event == VIR_DOMAIN_EVENT_STARTED || ev->event == VIR_DOMAIN_EVENT_RESUMED)
		dmg_registry_stamp(r, ev->uuid);
}

static int
stamp_one(const char *uuid, const char *name, void *arg)
{
	struct dmg_registry *r = arg;
	struct dmg_error err = { 0 };
	char host[256];
	unsigned port;

	(void)name;
	if (split_endpoint(r->self, host, sizeof(host), &port) < 0 || !*host)
		return 0;
	if (dmg_virt_stamp(r->virt, uuid, host, host, port, &err) < 0)
		dmg_debug(r->log, "stamp %s: %s", uuid, err.msg);
	return 0;
}

/* Stamping modifies the domain (a libvirt job): never from a hook's
 * request or libvirt's event thread, only here on the settle thread. */
static void
run_stamps(struct dmg_registry *r)
{
	char q[16][VIR_UUID_STRING_BUFLEN];
	struct dmg_error err = { 0 };
	int n, all, i;

	pthread_mutex_lock(&r->mu);
	n = r->nstamp;
	all = r->stamp_all;
	memcpy(q, r->stampq, sizeof(q));
	r->nstamp = 0;
	r->stamp_all = 0;
	pthread_mutex_unlock(&r->mu);
	if (!r->virt)
		return;
	if (all && dmg_virt_each_annotated(r->virt, stamp_one, r, &err) < 0)
		dmg_debug(r->log, "stamping annotated domains: %s", err.msg);
	for (i = 0; i < n; i++)
		stamp_one(q[i], NULL, r);
}

int
dmg_registry_hook_event(struct dmg_registry *r, const char *domain, const char *op,
			const char *subop)
{
	int gone = strcmp(op, "stopped") == 0 || strcmp(op, "release") == 0;
	int starting = strcmp(op, "prepare") == 0 || strcmp(op, "start") == 0 ||
		       strcmp(op, "started") == 0;
	int refuse = 0;
	struct entry *e;

	(void)subop;
	/* A fenced destination must never run the guest: refusing these hooks
	 * makes libvirt abort the incoming migration. */
	pthread_mutex_lock(&r->mu);
	for (e = r->head; starting && e; e = e->next) {
		if (e->s->role != DMG_ROLE_DST || strcmp(e->s->domain, domain) != 0)
			continue;
		pthread_mutex_lock(&e->s->mu);
		refuse |= e->s->fenced && !e->s->switchover && !dmg_phase_closed(e->s->phase);
		pthread_mutex_unlock(&e->s->mu);
	}
	pthread_mutex_unlock(&r->mu);
	mark(r, NULL, domain, gone, 0);
	return refuse;
}

void
dmg_registry_stamp(struct dmg_registry *r, const char *domain)
{
	pthread_mutex_lock(&r->mu);
	if (!domain)
		r->stamp_all = 1;
	else if (r->nstamp < 16)
		snprintf(r->stampq[r->nstamp++], sizeof(r->stampq[0]), "%s", domain);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* ---- migrate begin (destination) ----------------------------------------------- */

static int
hexrand(char *out, size_t nbytes, struct dmg_error *err)
{
	unsigned char raw[32];
	size_t i;

	if (nbytes > sizeof(raw) || getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		return dmg_error_sys(err, -errno, "getrandom");
	for (i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

struct whohas {
	struct dmg_registry *r;
	const char *uuid;
	char found[300];
};

/* The source is always one of `peers`: the stamp in the guest's metadata
 * (anyone who can edit the domain can write it) only chooses among them.
 * Without a stamp, the configured peers are asked who runs the domain. */
static int
find_source(struct dmg_registry *r, const struct dmg_policy *p, const char *xml, size_t len,
	    char *ep, size_t eplen, struct dmg_error *err)
{
	char host[DMG_VIRT_HOST_MAX], addr[DMG_VIRT_ADDR_MAX], phost[256];
	struct dmg_error serr = { 0 };
	unsigned port;
	size_t i;

	if (dmg_virt_parse_stamp(xml, len, host, sizeof(host), addr, sizeof(addr), &port, &serr) == 0) {
		if (peer_endpoint(r, host, addr, ep, eplen) == 0)
			return 0;
		return dmg_error_set(err, -EACCES, "the source host named in '%s''s drbdmig stamp (%s, %s) is not in this host's peers list; add it to `peers` in drbdmig.conf",
				     p->domain, host, addr);
	}
	for (i = 0; dmg_conf_peer(&r->peers, i, phost, sizeof(phost), &port); i++) {
		struct dmg_jrec req, reply;
		struct dmg_error perr = { 0 };
		char cand[300];
		const char *st;

		snprintf(cand, sizeof(cand), "%s:%u", phost, port);
		dmg_jrec_init(&req, "whohas");
		if (dmg_jrec_set(&req, "uuid", p->uuid, &perr) < 0 ||
		    peer_call_ep(r, cand, &req, r->conf.peer_timeout, &reply, &perr) < 0) {
			dmg_warn(r->log, "asking %s who runs %s: %s", cand, p->domain, perr.msg);
			continue;
		}
		st = dmg_jrec_get(&reply, "state");
		if (st && (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0)) {
			snprintf(ep, eplen, "%s", cand);
			return 0;
		}
	}
	return dmg_error_set(err, -ENOENT, "cannot find the source host of '%s': the domain XML has no drbdmig host stamp (%s) and no configured peer runs it",
			     p->domain, serr.msg);
}

static int
disk_names(const char *path, char *vg, size_t vl, char *lv, size_t ll, int dry_run)
{
	const char *a, *b;

	if (dry_run) {
		b = strrchr(path, '/');
		snprintf(vg, vl, "dry-run");
		snprintf(lv, ll, "%s", b ? b + 1 : path);
		return 0;
	}
	/* /dev/VG/LV: the form libvirt XML uses for LVM volumes. */
	if (strncmp(path, "/dev/", 5) != 0)
		return -EINVAL;
	a = path + 5;
	b = strchr(a, '/');
	if (!b || b == a || strchr(b + 1, '/') || !b[1] || (size_t)(b - a) >= vl ||
	    strlen(b + 1) >= ll || strcmp(a, "mapper/") == 0 || strncmp(a, "mapper/", 7) == 0)
		return -EINVAL;
	memcpy(vg, a, (size_t)(b - a));
	vg[b - a] = '\0';
	snprintf(lv, ll, "%s", b + 1);
	return 0;
}

/* Asks the source for each disk's size (peer verb "probe"): the guest must
 * run there and each disk must be an LVM LV no session holds. */
static int
probe_source(struct dmg_registry *r, const char *ep, const struct dmg_policy *p,
	     struct dmg_sess_disk *disks, size_t n, struct dmg_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct dmg_jrec req, reply;
		const char *v;
		char *end;
		int rc;

		dmg_jrec_init(&req, "probe");
		if ((rc = dmg_jrec_set(&req, "uuid", p->uuid, err)) < 0 ||
		    (rc = dmg_jrec_set(&req, "target", disks[i].target, err)) < 0)
			return rc;
		rc = peer_call_ep(r, ep, &req, r->conf.peer_timeout, &reply, err);
		if (rc < 0) {
			dmg_error_prefix(err, "disk %s on the source", disks[i].target);
			return rc;
		}
		v = dmg_jrec_get(&reply, "size");
		errno = 0;
		disks[i].size = v ? strtoull(v, &end, 10) : 0;
		if (!v || !*v || *end || errno || disks[i].size == 0)
			return dmg_error_set(err, -EPROTO, "disk %s: the source's answer has no size",
					     disks[i].target);
	}
	return 0;
}

/* The peer verb "probe", on the source: validation only, nothing changes.
 * The request names a target; which LV that is, and whether the domain is
 * drbdmig's to touch at all, comes from this host's own libvirt. */
static int
probe(struct dmg_registry *r, const struct dmg_jrec *req, struct dmg_jrec *reply,
      struct dmg_error *err)
{
	const char *uuid = dmg_jrec_get(req, "uuid"), *target = dmg_jrec_get(req, "target");
	char vg[DMG_SESS_NAME_MAX], lv[DMG_SESS_NAME_MAX], size[24];
	const struct dmg_policy_disk *pd = NULL;
	struct dmg_policy *p = NULL;
	enum dmg_dom st = DMG_DOM_UNKNOWN;
	uint64_t bytes = 0;
	size_t i;
	int rc;

	if (!uuid || !target || !*target)
		return dmg_error_set(err, -EPROTO, "probe: uuid and target are required");
	if ((rc = env_dom(r, uuid, &st, err)) < 0)
		return rc;
	if (st != DMG_DOM_RUNNING && st != DMG_DOM_PAUSED)
		return dmg_error_set(err, -ESRCH, "domain %s is not running on %s (%s)", uuid,
				     r->b->host, dmg_dom_name(st));
	if ((rc = env_policy(r, uuid, &p, err)) < 0)
		return rc;
	if (!p)
		return dmg_error_set(err, -EPERM, "domain %s carries no drbdmig policy on %s", uuid,
				     r->b->host);
	for (i = 0; i < p->ndisks && !pd; i++)
		if (strcmp(p->disks[i].target, target) == 0)
			pd = &p->disks[i];
	if (!pd)
		rc = dmg_error_set(err, -EPERM, "'%s' is not an annotated disk of domain '%s' on %s",
				   target, p->domain, r->b->host);
	else
		rc = dmg_backend_probe(r->b, pd->source, vg, sizeof(vg), lv, sizeof(lv), &bytes, err);
	dmg_policy_free(p);
	if (rc < 0)
		return rc;
	snprintf(size, sizeof(size), "%" PRIu64, bytes);
	dmg_jrec_init(reply, "probe");
	if ((rc = dmg_jrec_set(reply, "size", size, err)) < 0 ||
	    (rc = dmg_jrec_set(reply, "vg", vg, err)) < 0)
		return rc;
	return dmg_jrec_set(reply, "lv", lv, err);
}

int
dmg_registry_migrate_begin(struct dmg_registry *r, const struct dmg_policy *p,
			   const char *xml, size_t len, struct dmg_error *err)
{
	struct dmg_sess_disk disks[DMG_SESS_DISKS_MAX];
	char sid[DMG_SID_LEN + 1], secret[65], tok[DMG_TOK_LEN + 1], ep[300], srchost[256];
	struct dmg_session *s = NULL;
	struct entry *e;
	unsigned srcport, tmo;
	size_t i;
	int rc;

	if (!p->uuid[0])
		return dmg_error_set(err, -EINVAL, "domain '%s' has no <uuid> in its XML", p->domain);
	if (p->ndisks > DMG_SESS_DISKS_MAX)
		return dmg_error_set(err, -E2BIG, "domain '%s' annotates %zu disks; drbdmig migrates at most %d",
				     p->domain, p->ndisks, DMG_SESS_DISKS_MAX);
	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next)
		if (strcmp(e->s->uuid, p->uuid) == 0 && !dmg_phase_closed(e->s->phase))
			break;
	pthread_mutex_unlock(&r->mu);
	if (e)
		return dmg_error_set(err, -EBUSY, "domain '%s' has an unfinished session %s (%s); see `drbdmig status`",
				     p->domain, e->s->sid, dmg_phase_name(e->s->phase));
	rc = find_source(r, p, xml, len, ep, sizeof(ep), err);
	if (rc < 0)
		return rc;
	if (split_endpoint(ep, srchost, sizeof(srchost), &srcport) < 0)
		return dmg_error_set(err, -EINVAL, "bad source endpoint '%s'", ep);
	memset(disks, 0, sizeof(disks));
	for (i = 0; i < p->ndisks; i++) {
		const struct dmg_policy_disk *pd = &p->disks[i];
		struct dmg_sess_disk *d = &disks[i];
		struct dmg_sess_side *me = &d->side[DMG_ROLE_DST];

		snprintf(d->target, sizeof(d->target), "%s", pd->target);
		if (snprintf(d->path, sizeof(d->path), "%s", pd->source) >= (int)sizeof(d->path) ||
		    disk_names(pd->source, d->vg, sizeof(d->vg), d->lv, sizeof(d->lv), r->b->dry_run) < 0) {
			rc = dmg_error_set(err, -EINVAL, "disk %s: '%s' is not an LVM volume path (/dev/VG/LV)",
					   pd->target, pd->source);
			goto fail;
		}
		d->keep_source = pd->source_after == DMG_SOURCE_KEEP;
		d->rate_kib = pd->resync_rate_kib;
		d->dynamic = pd->sync_mode == DMG_SYNC_DYNAMIC;
		snprintf(me->host, sizeof(me->host), "%s", r->b->host);
		if ((rc = dmg_backend_local_addr(r->b, srchost, me->addr, sizeof(me->addr), err)) < 0 ||
		    (rc = dmg_backend_reserve(r->b, &me->minor, &me->port, err)) < 0)
			goto fail;
	}
	/* Everything is checked before anything changes on either host. */
	if ((rc = probe_source(r, ep, p, disks, p->ndisks, err)) < 0 ||
	    (rc = dmg_backend_dst_check(r->b, disks, p->ndisks, err)) < 0)
		goto fail;
	if ((rc = hexrand(sid, DMG_SID_LEN / 2, err)) < 0 || (rc = hexrand(secret, 16, err)) < 0 ||
	    (rc = hexrand(tok, DMG_TOK_LEN / 2, err)) < 0)
		goto fail;
	rc = dmg_sess_new_dst(r->state_dir, sid, p->domain, p->uuid, ep, disks, p->ndisks, secret,
			      tok, &r->env, r->log, &s, err);
	if (rc < 0)
		goto fail;
	e = add_entry(r, s, 0, 1);
	if (!e) {
		s->phase = DMG_PH_ROLLED_BACK;
		dmg_sess_free(s);
		rc = dmg_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	dmg_info(r->log, "session=%s domain=%s role=dst source=%s disks=%zu: building the overlay",
		 sid, p->domain, ep, p->ndisks);
	/* Finish (or give up) before the hook does, so that a build never
	 * completes after libvirt stopped waiting for it. */
	tmo = r->conf.sync_timeout;
	if (r->conf.hook_timeout > 20 && tmo > r->conf.hook_timeout - 15)
		tmo = r->conf.hook_timeout - 15;
	rc = dmg_sess_build(s, (int)tmo, err);
	pthread_mutex_lock(&r->mu);
	e->building = 0;
	pthread_mutex_unlock(&r->mu);
	pthread_mutex_unlock(&e->op);
	kick(r);
	return rc;
fail:
	for (; i-- > 0;)
		if (disks[i].side[DMG_ROLE_DST].port)
			dmg_backend_release(r->b, disks[i].side[DMG_ROLE_DST].minor,
					    disks[i].side[DMG_ROLE_DST].port);
	return rc;
}

/* ---- peer verbs --------------------------------------------------------------------- */

static int fence_dst(struct dmg_registry *r, struct entry *e, struct dmg_jrec *reply,
		     struct dmg_error *err);

/* A closed session's final phase, read from its .closed journal, for the
 * session's own peer only. */
static int
closed_phase(struct dmg_registry *r, const char *caller, const struct dmg_jrec *req,
	     struct dmg_jrec *reply, struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(req, "sid");
	char path[512];
	struct dmg_session *s = NULL;
	int rc;

	if (!sid || strlen(sid) != DMG_SID_LEN || strspn(sid, "0123456789abcdef") != DMG_SID_LEN)
		return dmg_error_set(err, -EINVAL, "bad session id");
	snprintf(path, sizeof(path), "%s/%s.closed", r->state_dir, sid);
	if (access(path, F_OK) < 0)
		return dmg_error_set(err, -ENOENT, "no such session %s", sid);
	rc = dmg_sess_load(path, &r->env, r->log, &s, err);
	if (rc < 0)
		return rc;
	rc = dmg_sess_check_caller(s, caller, req, err);
	if (rc == 0) {
		dmg_jrec_init(reply, "state");
		rc = dmg_jrec_set(reply, "phase", dmg_phase_name(s->phase), err);
	}
	if (rc == 0)
		rc = dmg_jrec_set(reply, "dom", "unknown", err);
	dmg_journal_close(s->j);
	s->j = NULL;
	dmg_sess_free(s);
	return rc;
}

/* "fence" for a session closed here: done means the guest ran here. */
static int
fence_closed(struct dmg_registry *r, const char *caller, const struct dmg_jrec *req,
	     struct dmg_jrec *reply, struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(req, "sid");
	struct dmg_jrec st;
	const char *ph;
	int rc = closed_phase(r, caller, req, &st, err);

	if (rc < 0)
		return rc;
	ph = dmg_jrec_get(&st, "phase");
	if (!ph || (strcmp(ph, "done") != 0 && strcmp(ph, "rolled-back") != 0))
		return dmg_error_set(err, -EBUSY, "fence: session %s is %s here", sid, ph ? ph : "?");
	dmg_jrec_init(reply, "fence");
	return dmg_jrec_set(reply, "result", strcmp(ph, "done") == 0 ? "switched" : "stopped", err);
}

int
dmg_registry_peer(struct dmg_registry *r, const char *identity, const struct dmg_jrec *req,
		  struct dmg_jrec *reply, struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(req, "sid");
	struct dmg_session *created = NULL;
	char caller[300];
	struct entry *e;
	int rc;

	/* The channel serves only `peers`; checked again here, since every
	 * session a caller opens or touches is bound to its entry. */
	if (!identity || peer_endpoint(r, identity, NULL, caller, sizeof(caller)) < 0)
		return dmg_error_set(err, -EACCES, "not a configured peer");
	if (strcmp(req->step, "probe") == 0)
		return probe(r, req, reply, err);
	if (strcmp(req->step, "whohas") == 0) {
		const char *uuid = dmg_jrec_get(req, "uuid");
		enum dmg_dom st = DMG_DOM_UNKNOWN;

		if (!uuid || (rc = env_dom(r, uuid, &st, err)) < 0)
			return uuid ? rc : dmg_error_set(err, -EPROTO, "whohas: uuid missing");
		dmg_jrec_init(reply, "whohas");
		return dmg_jrec_set(reply, "state", dmg_dom_name(st), err);
	}
	e = entry_get(r, sid);
	if (!e) {
		if (strcmp(req->step, "state") == 0)
			return closed_phase(r, caller, req, reply, err);
		if (strcmp(req->step, "fence") == 0)
			return fence_closed(r, caller, req, reply, err);
		if (strcmp(req->step, "open") != 0)
			return dmg_error_set(err, -ENOENT, "no such session %s", sid ? sid : "");
		rc = dmg_sess_peer_call(NULL, caller, req, r->state_dir, &r->env, r->log, &created,
					reply, err);
		if (rc == 0 && created && !add_entry(r, created, 0, 0)) {
			dmg_sess_free(created);
			return dmg_error_set(err, -ENOMEM, "out of memory");
		}
		if (rc == 0)
			dmg_info(r->log, "session=%s domain=%s role=src peer=%s: opened", created->sid,
				 created->domain, created->peer);
		return rc;
	}
	rc = dmg_sess_check_caller(e->s, caller, req, err);
	if (rc == 0) {
		pthread_mutex_lock(&r->mu);
		e->last_peer_ms = dmg_now_ms();
		pthread_mutex_unlock(&r->mu);
	}
	if (rc < 0) {
		dmg_warn(r->log, "session=%s: call '%s' from peer %s refused: not its session",
			 e->s->sid, req->step, caller);
	} else if (strcmp(req->step, "fence") == 0) {
		rc = fence_dst(r, e, reply, err);
	} else if (strcmp(req->step, "state") == 0) {   /* never waits for a running step */
		rc = dmg_sess_peer_call(e->s, caller, req, r->state_dir, &r->env, r->log, &created,
					reply, err);
	} else {
		pthread_mutex_lock(&e->op);
		rc = dmg_sess_peer_call(e->s, caller, req, r->state_dir, &r->env, r->log, &created,
					reply, err);
		pthread_mutex_unlock(&e->op);
		kick(r);
	}
	entry_put(r, e);
	return rc;
}

/* ---- CLI verbs ------------------------------------------------------------------------ */

static int
buf_add(struct dmg_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int
add_rec(struct dmg_buf *b, const struct dmg_jrec *r, struct dmg_error *err)
{
	char line[DMG_JLINE_MAX];
	int n = dmg_jrec_format_line(r, line, sizeof(line), err);

	if (n < 0)
		return n;
	return buf_add(b, line, (size_t)n) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
}

static int
cli_status(struct dmg_registry *r, struct dmg_buf *body, struct dmg_error *err)
{
	char buf[DMG_SESS_DISKS_MAX * 1024 + 2048];
	struct entry *e;
	int rc = 0, n;

	pthread_mutex_lock(&r->mu);
	for (e = r->head; e && rc == 0; e = e->next) {
		n = dmg_sess_status_lines(e->s, buf, sizeof(buf), err);
		rc = n < 0 ? n : buf_add(body, buf, (size_t)n);
	}
	pthread_mutex_unlock(&r->mu);
	return rc == -ENOMEM ? dmg_error_set(err, rc, "out of memory") : rc;
}

static int
live_sid(struct dmg_registry *r, const char *name)
{
	char sid[DMG_SID_LEN + 1];
	char path[512];
	struct entry *e;
	int live = 0;

	/* drbdmig-<sid>-... */
	if (strncmp(name, "drbdmig-", 8) != 0 || strlen(name) < 8 + DMG_SID_LEN)
		return 0;
	memcpy(sid, name + 8, DMG_SID_LEN);
	sid[DMG_SID_LEN] = '\0';
	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next)
		if (strcmp(e->s->sid, sid) == 0)
			live = 1;
	pthread_mutex_unlock(&r->mu);
	snprintf(path, sizeof(path), "%s/%s.journal", r->state_dir, sid);
	return live || access(path, F_OK) == 0;
}

struct verify {
	struct dmg_registry *r;
	struct dmg_buf *body;
	int bad;
	int remove;
	struct dmg_error *err;
};

static void
orphan(struct verify *v, const char *kind, const char *name, const char *extra)
{
	struct dmg_jrec rec;
	struct dmg_error e2 = { 0 };

	dmg_jrec_init(&rec, "orphan");
	dmg_jrec_set(&rec, "kind", kind, &e2);
	dmg_jrec_set(&rec, "name", name, &e2);
	if (extra)
		dmg_jrec_set(&rec, "detail", extra, &e2);
	add_rec(v->body, &rec, &e2);
	v->bad++;
}

static int
v_minor(const struct dmg_drbd_status *st, void *arg)
{
	struct verify *v = arg;
	char minor[16];

	if (strncmp(st->resource, DMG_DRBD_RES_PREFIX, strlen(DMG_DRBD_RES_PREFIX)) != 0 ||
	    live_sid(v->r, st->resource))
		return 0;
	snprintf(minor, sizeof(minor), "%u", st->minor);
	orphan(v, "drbd-minor", st->resource, minor);
	if (v->remove) {
		struct dmg_drbd_req req;
		struct dmg_error e2 = { 0 };
		struct dmg_drbd *d;

		if (dmg_drbd_req_resource(&req, DMG_DRBD_DOWN, st->resource, &e2) == 0 &&
		    dmg_drbd_open(&d, &e2) == 0) {
			dmg_drbd_call(d, &req, 30000, NULL, &e2);
			dmg_drbd_close(d);
		}
	}
	return 0;
}

static int
v_dm(const struct dmg_dm_info *info, void *arg)
{
	struct verify *v = arg;

	if (live_sid(v->r, info->name))
		return 0;
	orphan(v, "dm-device", info->name, info->uuid);
	if (v->remove && info->open_count == 0) {
		struct dmg_error e2 = { 0 };

		dmg_dm_remove(info->name, &e2);
	}
	return 0;
}

static int
v_lv(const struct dmg_lv *lv, void *arg)
{
	struct verify *v = arg;
	size_t n = strlen(lv->lv);
	char full[300];

	if (live_sid(v->r, lv->lv))
		return 0;
	snprintf(full, sizeof(full), "%s/%s", lv->vg, lv->lv);
	/* Metadata LVs are ours alone; a tagged data LV may hold the only copy
	 * of a guest's disk: report it, never remove it automatically. */
	if (n > 3 && strcmp(lv->lv + n - 3, "-md") == 0 && strncmp(lv->lv, "drbdmig-", 8) == 0) {
		orphan(v, "metadata-lv", full, NULL);
		if (v->remove) {
			struct dmg_error e2 = { 0 };

			dmg_lvm_remove(lv->vg, lv->lv, 0, &e2);
		}
	} else {
		orphan(v, "tagged-lv", full, "created by drbdmig; check which copy is current, then `lvchange --deltag drbdmig` or lvremove");
	}
	return 0;
}

static void
v_resfiles(struct verify *v)
{
	DIR *d = opendir(v->r->b->resdir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char res[256];

		if (strncmp(de->d_name, DMG_DRBD_RES_PREFIX, 8) != 0 || n < 5 ||
		    strcmp(de->d_name + n - 4, ".res") != 0 || n - 4 >= sizeof(res))
			continue;
		snprintf(res, sizeof(res), "%.*s", (int)(n - 4), de->d_name);
		if (live_sid(v->r, res))
			continue;
		orphan(v, "resource-file", de->d_name, NULL);
		if (v->remove) {
			struct dmg_error e2 = { 0 };

			dmg_drbd_resfile_remove(v->r->b->resdir, res, &e2);
		}
	}
	closedir(d);
}

static int
cli_verify(struct dmg_registry *r, int remove, struct dmg_buf *body, struct dmg_error *err)
{
	struct verify v = { .r = r, .body = body, .remove = remove, .err = err };
	struct dmg_error e2 = { 0 };
	struct dmg_drbd *d;
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next)
		if (e->s->phase == DMG_PH_ATTENTION) {
			struct dmg_jrec rec;

			dmg_jrec_init(&rec, "attention");
			dmg_jrec_set(&rec, "sid", e->s->sid, &e2);
			dmg_jrec_set(&rec, "domain", e->s->domain, &e2);
			dmg_jrec_set(&rec, "reason", e->s->reason, &e2);
			add_rec(body, &rec, &e2);
			v.bad++;
		}
	pthread_mutex_unlock(&r->mu);
	if (r->b->dry_run)
		return v.bad;
	if (dmg_drbd_open(&d, &e2) == 0) {
		dmg_drbd_status_all(d, NULL, v_minor, &v, &e2);
		dmg_drbd_close(d);
	}
	dmg_dm_list_ours(v_dm, &v, &e2);
	dmg_lvm_each_tagged(v_lv, &v, &e2);
	v_resfiles(&v);
	return v.bad;
}

/* The session named by domain name, uuid or sid, with a reference held
 * (entry_put() it). */
static struct entry *
find_named(struct dmg_registry *r, const char *name)
{
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next)
		if (strcmp(e->s->domain, name) == 0 || strcmp(e->s->uuid, name) == 0 ||
		    strcmp(e->s->sid, name) == 0)
			break;
	if (e)
		e->refs++;
	pthread_mutex_unlock(&r->mu);
	return e;
}

static int cli_entry_op(struct dmg_registry *r, struct entry *e, const char *verb,
			struct dmg_buf *body, struct dmg_error *err);

static int
cli_session_op(struct dmg_registry *r, const char *verb, const char *name,
	       struct dmg_buf *body, struct dmg_error *err)
{
	struct entry *e;
	int rc;

	if (!name || !*name)
		return dmg_error_set(err, -EINVAL, "%s: which domain?", verb);
	e = find_named(r, name);
	if (!e)
		return dmg_error_set(err, -ENOENT, "no drbdmig session for '%s' on this host", name);
	rc = cli_entry_op(r, e, verb, body, err);
	entry_put(r, e);
	return rc;
}

static int
cli_entry_op(struct dmg_registry *r, struct entry *e, const char *verb, struct dmg_buf *body,
	     struct dmg_error *err)
{
	char line[512];
	int rc, building;

	pthread_mutex_lock(&r->mu);
	building = e->building;
	pthread_mutex_unlock(&r->mu);
	if (building && strcmp(verb, "cancel") == 0) {
		/* The hook thread owns the session: ask it to stop at its next
		 * step or sync poll; it rolls back and refuses the migration. */
		pthread_mutex_lock(&e->s->mu);
		e->s->cancel = 1;
		pthread_mutex_unlock(&e->s->mu);
		dmg_warn(r->log, "session=%s domain=%s: cancel requested while building", e->s->sid,
			 e->s->domain);
		snprintf(line, sizeof(line), "cancel session=%s domain=%s phase=%s requested=1\n",
			 e->s->sid, e->s->domain, dmg_phase_name(e->s->phase));
		return buf_add(body, line, strlen(line)) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
	}
	pthread_mutex_lock(&e->op);
	if (strcmp(verb, "cancel") == 0)
		rc = dmg_sess_cancel(e->s, err);
	else
		rc = dmg_sess_retry(e->s, err);
	pthread_mutex_unlock(&e->op);
	kick(r);
	if (rc < 0)
		return rc;
	snprintf(line, sizeof(line), "%s session=%s domain=%s phase=%s\n", verb, e->s->sid,
		 e->s->domain, dmg_phase_name(e->s->phase));
	return buf_add(body, line, strlen(line)) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
}

/* ---- fencing the migration window (DESIGN.md §5 rule 1) ---------------------- */

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

		if (env_dom(r, e->s->uuid, &st, &verr) == 0 &&
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

		if (env_dom(r, uuid, &st, &verr) == 0 &&
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
	const char *line = "fence exit=4\n", *sid = e->s->sid;
	struct dmg_error perr = { 0 };
	struct dmg_jrec req, reply;
	enum dmg_phase phase;
	const char *result;
	int64_t until;
	int rc;

	/* No op lock: the step that is waiting for this answer may hold it. */
	pthread_mutex_lock(&e->s->mu);
	phase = e->s->phase;
	pthread_mutex_unlock(&e->s->mu);
	dmg_warn(r->log, "session=%s domain=%s: replication link lost on %s (phase %s, role %s)",
		 sid, e->s->domain, res, dmg_phase_name(phase),
		 e->s->role == DMG_ROLE_SRC ? "src" : "dst");
	if (e->s->role != DMG_ROLE_SRC || phase != DMG_PH_READY)
		return buf_add(body, line, strlen(line)) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;

	until = dmg_now_ms() + 600000;
	dmg_jrec_init(&req, "fence");
	rc = dmg_jrec_set(&req, "sid", sid, &perr);
	if (rc == 0)
		rc = dmg_jrec_set(&req, "tok", e->s->tok, &perr);
	if (rc == 0)
		rc = peer_call_ep(r, e->s->peer, &req, r->conf.peer_timeout, &reply, &perr);
	result = rc == 0 ? dmg_jrec_get(&reply, "result") : NULL;
	if (result && strcmp(result, "stopped") == 0) {
		dmg_warn(r->log, "session=%s domain=%s: the destination stopped its QEMU; the migration fails and the guest stays here",
			 sid, e->s->domain);
		set_fenced(r, e);
	} else if (result && strcmp(result, "switched") == 0) {
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
	return buf_add(body, line, strlen(line)) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
frozen:
	snprintf(perr.msg, sizeof(perr.msg), "%s", err->msg);
	return dmg_error_set(err, -ETIMEDOUT, "fence %s: %s; I/O stays frozen (resume with `drbdadm resume-io` only once the guest runs on one host)",
			     res, perr.msg);
}

static int
fence(struct dmg_registry *r, const char *res, struct dmg_buf *body, struct dmg_error *err)
{
	const char *line = "fence exit=4\n";
	struct entry *e;
	char sid[DMG_SID_LEN + 1];
	int rc;

	if (!res || strncmp(res, "drbdmig-", 8) != 0 || strlen(res) < 8 + DMG_SID_LEN)
		return dmg_error_set(err, -EINVAL, "fence: '%s' is not a drbdmig resource", res ? res : "");
	memcpy(sid, res + 8, DMG_SID_LEN);
	sid[DMG_SID_LEN] = '\0';
	pthread_mutex_lock(&r->mu);
	e = find_sid(r, sid);
	if (e)
		e->fencing++;   /* keeps the entry, and the watchdog off it */
	pthread_mutex_unlock(&r->mu);
	if (!e) {
		dmg_warn(r->log, "fence-peer for %s: no such session; peer outdated", res);
		return buf_add(body, line, strlen(line)) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
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
 * seen frozen (susp-fen, link down) for FROZEN_GRACE_MS with no fence()
 * running gets the handler's decision from here, on its own thread (it may
 * wait for the guest to leave), and I/O resumes only once fence() says it
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
	rc = fence(r, res, &body, &err);
	if (rc == 0 && body.data && strstr((const char *)body.data, "exit=4")) {
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
 * pinned by refs so that reap() leaves it alone meanwhile. */
static void *
watch_thread(void *arg)
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
static int
fence_dst(struct dmg_registry *r, struct entry *e, struct dmg_jrec *reply, struct dmg_error *err)
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
	if (!switched && env_dom(r, s->uuid, &st, err) < 0) {
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
		return dmg_jrec_set(reply, "result", "switched", err);
	}
	if (st == DMG_DOM_PAUSED || st == DMG_DOM_UNKNOWN) {
		dmg_warn(r->log, "session=%s domain=%s: the source lost the replication link in the migration window; stopping the incoming QEMU",
			 s->sid, s->domain);
		if (!r->virt || dmg_virt_destroy(r->virt, s->uuid, err) < 0 ||
		    env_dom(r, s->uuid, &st, err) < 0)
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
	return dmg_jrec_set(reply, "result", "stopped", err);
}

int
dmg_registry_cli(struct dmg_registry *r, const struct dmg_jrec *req, struct dmg_buf *body,
		 struct dmg_error *err)
{
	const char *target = dmg_jrec_get(req, "target");

	if (strcmp(req->step, "status") == 0)
		return cli_status(r, body, err);
	if (strcmp(req->step, "verify") == 0)
		return cli_verify(r, 0, body, err);
	if (strcmp(req->step, "cancel") == 0)
		return cli_session_op(r, "cancel", target, body, err);
	if (strcmp(req->step, "fence") == 0)
		return fence(r, target, body, err);
	if (strcmp(req->step, "cleanup") == 0) {
		if (target && strcmp(target, "--orphans") == 0) {
			int rc = cli_verify(r, 1, body, err);

			return rc < 0 ? rc : 0;
		}
		return cli_session_op(r, "cleanup", target, body, err);
	}
	return dmg_error_set(err, -EINVAL, "unknown command '%s'", req->step);
}
