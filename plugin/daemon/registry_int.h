/* PRIVATE to plugin/daemon/registry*.c, admit.c, cliverbs.c, env.c,
 * fencing.c, peerverbs.c and settle.c: the registry's insides, shared by
 * the files it is split into.  Everyone else uses daemon/registry.h.
 *
 * ---- The daemon's locking model ---------------------------------------------
 *
 * Threads (what runs in drbdmigd, and what of the registry it calls):
 *
 *   main           drbdmigd.c: configuration, then dmg_server_run()'s poll
 *                  loop on the UNIX socket (hook and CLI clients).  It only
 *                  reads requests and hands each to a worker; at exit it
 *                  frees the registry (dmg_registry_free joins settle/watch).
 *   request worker server.c, one detached thread per hook or CLI request:
 *                  dmg_handle() -> dmg_registry_migrate_begin (builds and
 *                  syncs on this thread, holding the new entry's op lock
 *                  for the whole sync), dmg_registry_hook_event,
 *                  dmg_registry_cli (status, verify, cleanup, cancel, and
 *                  fence from the fence-peer handler: may wait minutes).
 *                  server.c's s->mu counts them (drain at exit).
 *   peer accept    peer/peersrv.c: accepts on the peer port, starts one
 *                  thread per connection; its p->mu guards its slot list.
 *   peer conn      one per peer connection: TLS handshake, then each
 *                  request -> dmg_registry_peer (session verbs, probe,
 *                  whohas, fence).
 *   libvirt event  libvirt/virt.c: runs libvirt's event loop, reconnects;
 *                  its callback is dmg_registry_virt_event (short: table
 *                  and session locks).  v->lock guards the connection.
 *   libvirt job    libvirt/domain.c, one detached thread per bounded job
 *                  query (dmg_virt_job_bounded), so a QEMU stuck on frozen
 *                  I/O cannot block the caller; its job_call mu is a leaf.
 *   exec reaper    storage/exec.c, detached, waits for a child that outlived
 *                  its SIGKILL.  No lock of ours.
 *   settle         settle.c, one: every SETTLE_TICK_MS or on r->cv, each
 *                  session whose op lock is free is settled, then reap()
 *                  frees closed entries and queued stamps are written.
 *   watch          fencing.c, one: every second, the DRBD I/O of each open
 *                  session; I/O frozen for FROZEN_GRACE_MS with no fence()
 *                  running starts a fence job.
 *   fence job      fencing.c, detached, one per frozen disk: runs fence() as
 *                  the fence-peer handler would, then resumes I/O.  Holds
 *                  e->fencing, which keeps the entry alive.
 *
 * Locks, in the order they may be taken (never the other way round; never
 * hold one while waiting on the network, libvirt or storage unless said):
 *
 *   entry->op          owner: whoever runs an engine call on one session
 *                      (the build, settle, peer verbs, cancel/cleanup).
 *                      Held for whole steps, even across peer calls and
 *                      storage; the build holds it for the whole sync.  Only
 *                      ever one op lock at a time.  The fence paths and
 *                      `status` never take it.
 *     r->mu            the table (head, next), and per entry: building,
 *                      refs, fencing, kick, resumed, frozen_ms; stop, the
 *                      stamp queue.  r->cv (wakes
 *                      settle) and r->wcv (wakes watch at stop) go with it.
 *                      Short; nothing slow under it.
 *       s->mu          one session's phase/progress/flags vs. readers
 *                      (status, hooks, the fence paths) (engine/session.h).
 *       b->mu          the backend's minor/port sets (storage/backend.h);
 *                      a leaf: taken alone, or under r->mu by reap().
 *   Outside the registry, each a leaf taken alone by its module: server.c
 *   s->mu, peersrv.c p->mu, virt.c v->lock / virt_owner_lock, domain.c
 *   job_call mu.
 *
 * Lifetimes: an entry is freed only by reap() on the settle thread, and only
 * when its session is closed, no one holds a reference (refs), no build or
 * fence runs on it, and its op lock is free.  Whoever uses an entry outside
 * r->mu holds a reference taken under r->mu (entry_get/entry_put); the
 * settle thread itself walks the list unlocked, since it alone unlinks. */
#ifndef DMG_REGISTRY_INT_H
#define DMG_REGISTRY_INT_H

#include <pthread.h>

#include "core/conf.h"
#include "daemon/registry.h"
#include "libvirt/virt.h"

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

/* One listing `verify` looks at (cliverbs.c): fn reports what it finds,
 * and returns a negative errno (err set) when it could not look. */
struct verify;
struct reg_look {
	const char *what;
	int (*fn)(struct verify *v, struct dmg_error *err);
};
extern const struct reg_look reg_looks[];   /* ends with what == NULL */

struct dmg_registry {
	struct dmg_reg_conf conf;
	char peers[DMG_CONF_LIST_MAX];   /* `peers`, copied at creation */
	unsigned peer_port;          /* for its entries without a port */
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
	const struct reg_look *looks;   /* reg_looks; tests stand in for the listings */
};

/* env.c: the world as the engine sees it, and calls to the other daemon */
void reg_env_init(struct dmg_registry *r);
int reg_env_dom(void *arg, const char *uuid, enum dmg_dom *st, struct dmg_error *err);
/* Refreshes the libvirt pools that s's pool-volume disks name here, so
 * that their volume lists show the LVs the session created or removed;
 * each is tried, the first failure returned. */
int reg_pools_refresh(struct dmg_registry *r, const struct dmg_session *s, struct dmg_error *err);
/* The policy in the live XML of domain uuid here, pool volumes resolved to
 * their paths; *out NULL when it carries none. */
int reg_env_policy(void *arg, const char *uuid, struct dmg_policy **out, struct dmg_error *err);
int reg_env_no_storage_copy(struct dmg_registry *r, const char *uuid, struct dmg_error *err);
int reg_split_endpoint(const char *ep, char *host, size_t hl, unsigned *port);
int reg_peer(const struct dmg_registry *r, size_t i, char *host, size_t hl, unsigned *port);
int reg_peer_endpoint(const struct dmg_registry *r, const char *name, const char *addr, char *ep,
		      size_t len);
int reg_peer_call(struct dmg_registry *r, const char *ep, const struct dmg_jrec *req,
		  unsigned timeout_s, struct dmg_jrec *reply, struct dmg_error *err);

/* admit.c: after a switchover here, a persistent definition of the guest
 * (written by --persistent from the source's) gets /dev/VG/LV where the
 * source's disk path does not open the LV built here; failures are logged. */
void reg_dst_persist(struct dmg_registry *r, const struct dmg_session *s);
/* admit.c: one disk's answer from the source to the peer verb "probe",
 * checked and copied into d (size, vg, lv; thin and alloc for a thin LV).
 * -EPROTO, the message naming d->target, for an answer with no valid size,
 * no VG or LV name that fits, or a thin pool without a valid allocation
 * (none, not a number, or more than the size). */
int reg_probe_answer(const struct dmg_jrec *reply, struct dmg_sess_disk *d,
		     struct dmg_error *err);

/* registry.c: the table and entry lifetimes */
struct entry *reg_add_entry(struct dmg_registry *r, struct dmg_session *s, int recovered,
			    int building);
struct entry *reg_find_sid(struct dmg_registry *r, const char *sid);
struct entry *reg_entry_get(struct dmg_registry *r, const char *sid);
void reg_entry_put(struct dmg_registry *r, struct entry *e);
void reg_reap(struct dmg_registry *r);
void reg_kick(struct dmg_registry *r);

/* settle.c, admit.c */
void *reg_settle_thread(void *arg);
void reg_run_stamps(struct dmg_registry *r);

/* fencing.c */
void *reg_watch_thread(void *arg);
int reg_fence(struct dmg_registry *r, const char *res, struct dmg_buf *body,
	      struct dmg_error *err);
int reg_fence_dst(struct dmg_registry *r, struct entry *e, struct dmg_jrec *reply,
		  struct dmg_error *err);

/* cliverbs.c */
int reg_buf_add(struct dmg_buf *b, const char *s, size_t n);

#endif
