/* Migration sessions: the choreography of DESIGN.md §4 as a journalled plan.
 *
 * One session per migrating domain and host, named by a session id (sid)
 * that both hosts share.  The destination coordinates: its `migrate begin`
 * hook builds and syncs the overlay (dmg_sess_build), then the session waits
 * for the migration's outcome (dmg_sess_settle) and tears down or rolls back.
 * The source answers the destination's peer calls (dmg_sess_peer_call).
 *
 * Every storage action is journalled ("begin") before it is taken and marked
 * "done" after; undoing a session undoes every begun action in reverse, so a
 * crash at any point leaves a journal from which dmg_sess_recover finishes or
 * undoes the work.  Actions and their undos are idempotent for that reason.
 *
 * The engine touches the world only through struct dmg_sess_env: storage
 * actions on this host, the domain's state in this host's libvirt, and calls
 * to the peer daemon.  The daemon wires the real ones; unit tests fake them. */
#ifndef DMG_SESSION_H
#define DMG_SESSION_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "core/error.h"
#include "core/journal.h"
#include "core/log.h"
#include "libvirt/policy.h"
#include "engine/steps.h"

#define DMG_SID_LEN        8              /* hex digits */
#define DMG_TOK_LEN        32             /* hex digits: 128 random bits */
#define DMG_SESS_DISKS_MAX 16
#define DMG_SESS_NAME_MAX  128
#define DMG_SESS_ACTS_MAX  ((size_t)DMG_SESS_DISKS_MAX * 16)

enum dmg_role { DMG_ROLE_SRC = 0, DMG_ROLE_DST = 1 };

/* Phases, in the order a successful session passes them. */
enum dmg_phase {
	DMG_PH_BUILDING,      /* overlay being built (both hosts) */
	DMG_PH_SYNCING,       /* connected, destination syncing */
	DMG_PH_READY,         /* dual-primary; libvirt migrates the guest */
	DMG_PH_FINISHING,     /* switchover seen: tearing down, keeping the destination */
	DMG_PH_ROLLING_BACK,  /* failure: undoing, keeping the source */
	DMG_PH_DONE,          /* closed after success */
	DMG_PH_ROLLED_BACK,   /* closed after rollback */
	DMG_PH_ATTENTION,     /* stopped without deleting anything: an admin must look */
	DMG_PH_MAX
};

/* A domain's state as the engine needs it. */
enum dmg_dom { DMG_DOM_ABSENT, DMG_DOM_RUNNING, DMG_DOM_PAUSED, DMG_DOM_SHUTOFF, DMG_DOM_UNKNOWN };

struct dmg_sess_side {
	char host[DMG_SESS_NAME_MAX];    /* uname -n */
	char addr[64];                   /* replication address */
	uint32_t minor;
	uint32_t port;
};

struct dmg_sess_disk {
	char target[32];                 /* hda, vdb ... */
	char path[256];                  /* /dev/vg/lv on both hosts */
	char vg[DMG_SESS_NAME_MAX], lv[DMG_SESS_NAME_MAX];
	uint64_t size;                   /* bytes */
	int keep_source;                 /* policy source-after="keep" */
	uint32_t rate_kib;               /* resync rate */
	int dynamic;                     /* sync-mode dynamic */
	struct dmg_sess_side side[2];    /* [DMG_ROLE_SRC], [DMG_ROLE_DST] */
	/* progress, destination only; not journalled */
	double pct, kib_s;
	long eta_s;
};

/* One journalled action: begun, maybe done, maybe undone. */
struct dmg_sess_act {
	char verb[24];                   /* the journal's name of step */
	enum dmg_step step;
	int disk;                        /* -1: whole session */
	int done, undone;
	char arg[DMG_JREC_VAL_MAX];      /* e.g. the table a swap replaced */
};

struct dmg_session;

struct dmg_sess_env {
	void *arg;
	/* Runs one storage verb for disk (see session.c for the list) on this
	 * host.  in: the action's journalled argument; out (outlen bytes):
	 * what to journal with it (a swap's previous table). */
	int (*act)(void *arg, struct dmg_session *s, const char *verb, int disk,
		   const char *in, char *out, size_t outlen, struct dmg_error *err);
	/* The domain's state in this host's libvirt. */
	int (*dom_state)(void *arg, const char *uuid, enum dmg_dom *st, struct dmg_error *err);
	/* 1 when the domain may have a migration job running here (or that
	 * cannot be told), else 0.  The source never rolls back alone while a
	 * migration could still switch the guest over.  May be NULL (no job). */
	int (*migrating)(void *arg, const char *uuid);
	/* The drbdmig policy of domain uuid as this host's libvirt has it live
	 * (*out NULL when the domain carries none); free with
	 * dmg_policy_free().  The source takes its disks from here, never
	 * from the destination's request.  May be NULL: the source then
	 * refuses every session. */
	int (*dom_policy)(void *arg, const char *uuid, struct dmg_policy **out,
			  struct dmg_error *err);
	/* One call to the peer daemon; reply receives its answer line. */
	int (*peer)(void *arg, const struct dmg_session *s, const struct dmg_jrec *req,
		    struct dmg_jrec *reply, struct dmg_error *err);
	/* Called (unlocked) whenever phase or progress changes; may be NULL. */
	void (*changed)(void *arg, const struct dmg_session *s);
	const char *self;                /* this daemon's peer endpoint "host:port" */
};

struct dmg_session {
	char sid[DMG_SID_LEN + 1];
	enum dmg_role role;
	char domain[256], uuid[40];
	char peer[DMG_SESS_NAME_MAX];    /* peer daemon endpoint "host:port", from this
					  * host's own `peers`: the only caller served */
	char tok[DMG_TOK_LEN + 1];       /* the session's handle: every peer call carries
					  * it ("" in journals of older versions) */
	char secret[65];                 /* DRBD cram-hmac secret (hex) */
	size_t ndisks;
	struct dmg_sess_disk disks[DMG_SESS_DISKS_MAX];
	enum dmg_phase phase;
	enum dmg_phase attention_from;   /* the phase that stopped in attention */
	int switchover;                  /* destination saw the guest resume there */
	int seen_here, gone_here;        /* destination: QEMU seen / gone (not journalled) */
	int blind;                       /* destination: this daemon may have missed the
					  * switchover (loaded from the journal, or libvirt
					  * reconnected since); set under mu */
	int fenced;                      /* the link broke in the window: source: the
					  * migration was stopped here; destination: no
					  * QEMU here may run the guest (set under mu) */
	int fenced_journalled;
	int cancel;                      /* destination: `drbdmig cancel` while building
					  * (set under mu; the build stops and rolls back) */
	pthread_mutex_t mu;              /* phase and progress vs. status readers */
	char reason[DMG_ERROR_MAX];      /* why rolling back / attention */
	size_t nacts;
	struct dmg_sess_act acts[DMG_SESS_ACTS_MAX];
	char jpath[512];
	struct dmg_journal *j;
	const struct dmg_sess_env *env;
	struct dmg_log *log;
};

const char *dmg_phase_name(enum dmg_phase p);
int dmg_phase_closed(enum dmg_phase p);
const char *dmg_dom_name(enum dmg_dom d);

/* Derived object names (the same on both hosts). */
void dmg_sess_res_name(const struct dmg_session *s, int disk, char *buf, size_t len);
void dmg_sess_copy_name(const struct dmg_session *s, int disk, char *buf, size_t len);
void dmg_sess_md_name(const struct dmg_session *s, int disk, char *buf, size_t len);

/* A new destination session, journal created in state_dir.  disks carry
 * target/path/vg/lv/policy and side[DST] (this host); the rest comes from
 * the source. */
int dmg_sess_new_dst(const char *state_dir, const char *sid, const char *domain,
		     const char *uuid, const char *peer, const struct dmg_sess_disk *disks,
		     size_t ndisks, const char *secret, const char *tok,
		     const struct dmg_sess_env *env, struct dmg_log *log,
		     struct dmg_session **out, struct dmg_error *err);

/* Destination: builds both sides and syncs; returns 0 in DMG_PH_READY (the
 * hook may let libvirt go on) or a negative code after rolling back (or in
 * DMG_PH_ATTENTION if even that failed). */
int dmg_sess_build(struct dmg_session *s, int sync_timeout_s, struct dmg_error *err);

/* Destination: looks at both hosts and moves the session on: finishes after
 * the switchover, rolls back after a failure, or waits.  Returns 1 when the
 * session is closed (done, rolled back or attention), 0 to call again later,
 * negative on error (session unchanged, e.g. peer unreachable). */
int dmg_sess_settle(struct dmg_session *s, struct dmg_error *err);

/* Records that the destination's libvirt reported the guest resumed after
 * migration: from here the destination holds the live data. */
int dmg_sess_mark_switchover(struct dmg_session *s, struct dmg_error *err);

/* Journals s->fenced.  Source: the fence-peer handler stopped the migration
 * here, this host's copy is the complete one.  Destination: the source
 * resumed its I/O once this host's QEMU was stopped; the session rolls back. */
int dmg_sess_mark_fenced(struct dmg_session *s, struct dmg_error *err);

/* Destination: the guest stopped here, or never arrived (a hook's stopped/
 * release event, a libvirt stop event, or a grace period without QEMU). */
void dmg_sess_note_gone(struct dmg_session *s);

/* Either side: `drbdmig cancel` before the switchover; refused after it. */
int dmg_sess_cancel(struct dmg_session *s, struct dmg_error *err);

/* Whether a peer call req from caller (the endpoint of the `peers` entry
 * the connection authenticated as) may act on s: the caller must be the
 * session's peer and req must carry the session's handle.  0 or -EACCES. */
int dmg_sess_check_caller(const struct dmg_session *s, const char *caller,
			  const struct dmg_jrec *req, struct dmg_error *err);

/* Source: one peer call from caller for session s (NULL for "open", which
 * creates it in *created, owned by caller).  Fills reply.  Returns 0 or a
 * negative code with err set. */
int dmg_sess_peer_call(struct dmg_session *s, const char *caller, const struct dmg_jrec *req,
		       const char *state_dir, const struct dmg_sess_env *env,
		       struct dmg_log *log, struct dmg_session **created,
		       struct dmg_jrec *reply, struct dmg_error *err);

/* Rebuilds a session from its journal after a crash or restart.  The result
 * is then driven by dmg_sess_settle (destination) or dmg_sess_src_settle. */
int dmg_sess_load(const char *jpath, const struct dmg_sess_env *env, struct dmg_log *log,
		  struct dmg_session **out, struct dmg_error *err);

/* Source: decides alone when the peer cannot: rolls back while the guest
 * runs here, tears down (keeping the data LV) when it is gone and the
 * destination confirms, else waits.  Same return values as settle. */
int dmg_sess_src_settle(struct dmg_session *s, int peer_lost, struct dmg_error *err);

/* `drbdmig cleanup`: takes a session out of attention and goes on with what
 * stopped (finish, rollback, or the READY decision).  Same returns as settle. */
int dmg_sess_retry(struct dmg_session *s, struct dmg_error *err);

/* Closes the journal; a closed session's journal is renamed *.closed. */
void dmg_sess_free(struct dmg_session *s);

/* One status line of s (record format: "session sid=... phase=..."), and
 * one per disk ("disk sid=... target=... pct=..."). */
int dmg_sess_status_lines(struct dmg_session *s, char *buf, size_t len,
			  struct dmg_error *err);

#endif
