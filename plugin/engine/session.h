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
#include "core/model.h"
#include "core/modelnames.h"
#include "core/policy_types.h"
#include "core/verb.h"
#include "engine/steps.h"

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
	/* One call to the peer daemon (req is verb's line); reply receives
	 * its answer line. */
	int (*peer)(void *arg, const struct dmg_session *s, enum dmg_verb verb,
		    const struct dmg_jrec *req, struct dmg_jrec *reply, struct dmg_error *err);
	/* Called (unlocked) whenever phase or progress changes; may be NULL. */
	void (*changed)(void *arg, const struct dmg_session *s);
	const char *self;                /* this daemon's peer endpoint "host:port" */
};

int dmg_phase_closed(enum dmg_phase p);
const char *dmg_dom_name(enum dmg_dom d);

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
 * creates it in *created, owned by caller): verb, with req as
 * dmg_verb_check() let it through.  Fills reply.  Returns 0 or a negative
 * code with err set. */
int dmg_sess_peer_call(struct dmg_session *s, const char *caller, enum dmg_verb verb,
		       const struct dmg_jrec *req, const char *state_dir,
		       const struct dmg_sess_env *env, struct dmg_log *log, struct dmg_session **created,
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
