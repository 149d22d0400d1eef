/* The source's side of a session: it answers the destination's peer
 * calls, and decides alone only when the destination cannot. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/defaults.h"
#include "engine/sess_impl.h"

/* Constant time: a wrong handle must not tell how much of it was right. */
static int
tok_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int
tok_valid(const char *t)
{
	return t && strlen(t) == DMG_TOK_LEN && strspn(t, "0123456789abcdef") == DMG_TOK_LEN;
}

int
dmg_sess_check_caller(const struct dmg_session *s, const char *caller,
		      const struct dmg_jrec *req, struct dmg_error *err)
{
	const char *tok = dmg_jrec_get(req, "tok");

	/* Both are checked, and refused alike: a caller learns nothing about
	 * another peer's session. */
	if (!caller || strcmp(caller, s->peer) != 0 || !tok_equal(tok ? tok : "", s->tok))
		return dmg_error_set(err, -EACCES, "session %s: not a session of this peer", s->sid);
	return 0;
}

/* The source's own view of the guest: the live policy from this host's
 * libvirt.  A domain without one is never touched. */
static int
own_policy(const struct dmg_sess_env *env, const char *uuid, struct dmg_policy **p,
	   struct dmg_error *err)
{
	int rc;

	*p = NULL;
	if (!env->dom_policy)
		return dmg_error_set(err, -ENOTSUP, "this host cannot read domain policies");
	rc = env->dom_policy(env->arg, uuid, p, err);
	if (rc < 0)
		return rc;
	if (!*p)
		return dmg_error_set(err, -EPERM, "domain %s carries no drbdmig policy on this host",
				     uuid);
	return 0;
}

static int
src_open(const char *caller, const struct dmg_jrec *req, const char *state_dir,
	 const struct dmg_sess_env *env, struct dmg_log *log, struct dmg_session **created,
	 struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(req, "sid"), *tok = dmg_jrec_get(req, "tok");
	struct dmg_policy *p = NULL;
	struct dmg_session *s;
	enum dmg_dom st;
	uint64_t n;
	int rc;

	if (!sid || !tok_valid(tok) || sess_num(req, "ndisks", DMG_SESS_DISKS_MAX, &n) < 0 || n == 0)
		return dmg_error_set(err, -EPROTO, "open: sid, tok and ndisks (1..%d) are required",
				     DMG_SESS_DISKS_MAX);
	if (!caller || !*caller)
		return dmg_error_set(err, -EACCES, "open: the caller is not a configured peer");
	rc = sess_alloc(state_dir, sid, env, log, &s, err);
	if (rc < 0)
		return rc;
	s->role = DMG_ROLE_SRC;
	s->ndisks = n;
	if ((rc = sess_copy_str(s->uuid, sizeof(s->uuid), dmg_jrec_get(req, "uuid"), "uuid", err)) < 0 ||
	    (rc = sess_copy_str(s->secret, sizeof(s->secret), dmg_jrec_get(req, "secret"), "secret", err)) < 0 ||
	    (rc = sess_copy_str(s->tok, sizeof(s->tok), tok, "tok", err)) < 0 ||
	    (rc = sess_copy_str(s->peer, sizeof(s->peer), caller, "peer", err)) < 0 ||
	    (rc = env->dom_state(env->arg, s->uuid, &st, err)) < 0) {
		sess_release(s);
		return rc;
	}
	if (st != DMG_DOM_RUNNING && st != DMG_DOM_PAUSED) {
		sess_release(s);
		return dmg_error_set(err, -ESRCH, "domain %s is not running on this host (%s)",
				     s->uuid, dmg_dom_name(st));
	}
	rc = own_policy(env, s->uuid, &p, err);
	if (rc == 0 && !p)   /* own_policy() never does this; said for the analyzer */
		rc = dmg_error_set(err, -EPERM, "domain %s carries no drbdmig policy", s->uuid);
	if (rc == 0 && p && n > p->ndisks)
		rc = dmg_error_set(err, -EPERM, "open: %" PRIu64 " disks asked, domain '%s' annotates %zu",
				   n, p->domain, p->ndisks);
	if (rc == 0 && p)
		rc = sess_copy_str(s->domain, sizeof(s->domain), p->domain, "domain", err);
	dmg_policy_free(p);
	if (rc < 0) {
		sess_release(s);
		return rc;
	}
	rc = dmg_journal_open(s->jpath, 1, &s->j, err);
	if (rc < 0) {
		sess_release(s);
		return rc;
	}
	if ((rc = sess_j_session(s, err)) < 0 || (rc = sess_set_phase(s, DMG_PH_BUILDING, NULL, err)) < 0) {
		dmg_sess_free(s);
		return rc;
	}
	*created = s;
	return 0;
}

/* Fills d (target, path, policy) from this host's live policy for the
 * target the destination named; the request's own values are ignored. */
static int
src_own_disk(struct dmg_session *s, const char *target, struct dmg_sess_disk *d,
	     struct dmg_error *err)
{
	const struct dmg_policy_disk *pd = NULL;
	struct dmg_policy *p = NULL;
	size_t i;
	int rc;

	if (!target || !*target)
		return dmg_error_set(err, -EPROTO, "disk: target is required");
	for (i = 0; i < s->ndisks; i++)
		if (strcmp(s->disks[i].target, target) == 0)
			return dmg_error_set(err, -EPROTO, "disk: target %s named twice", target);
	rc = own_policy(s->env, s->uuid, &p, err);
	if (rc < 0 || !p)
		return rc < 0 ? rc : -EPERM;
	for (i = 0; i < p->ndisks && !pd; i++)
		if (strcmp(p->disks[i].target, target) == 0)
			pd = &p->disks[i];
	if (!pd) {
		dmg_policy_free(p);
		return dmg_error_set(err, -EPERM, "disk: '%s' is not an annotated disk of domain '%s' on this host",
				     target, s->domain);
	}
	if ((rc = sess_copy_str(d->target, sizeof(d->target), pd->target, "target", err)) < 0 ||
	    (rc = sess_copy_str(d->path, sizeof(d->path), pd->source, "path", err)) < 0 ||
	    (pd->pool && (rc = sess_copy_str(d->pool, sizeof(d->pool), pd->pool, "pool", err)) < 0))
		dmg_error_prefix(err, "disk %s", target);
	if (rc == 0) {
		d->keep_source = pd->source_after == DMG_SOURCE_KEEP;
		d->rate_kib = (uint32_t)pd->resync_rate_kib;
		d->dynamic = pd->sync_mode == DMG_SYNC_DYNAMIC;
	}
	dmg_policy_free(p);
	return rc;
}

static int
src_disk(struct dmg_session *s, const struct dmg_jrec *req, struct dmg_jrec *reply,
	 struct dmg_error *err)
{
	struct dmg_sess_disk *d, mine;
	struct dmg_sess_side *dd;
	uint64_t i, minor, port;
	char out[DMG_JREC_VAL_MAX] = "";

	if (sess_num(req, "i", s->ndisks - 1, &i) < 0 || *s->disks[i].target)
		return dmg_error_set(err, -EPROTO, "disk: bad or repeated disk index");
	memset(&mine, 0, sizeof(mine));
	if (src_own_disk(s, dmg_jrec_get(req, "target"), &mine, err) < 0)
		return err->code;
	dd = &mine.side[DMG_ROLE_DST];
	if (sess_copy_str(dd->host, sizeof(dd->host), dmg_jrec_get(req, "dhost"), "dhost", err) < 0 ||
	    sess_copy_str(dd->addr, sizeof(dd->addr), dmg_jrec_get(req, "daddr"), "daddr", err) < 0 ||
	    sess_num(req, "dminor", UINT32_MAX, &minor) < 0 || sess_num(req, "dport", 65535, &port) < 0)
		return dmg_error_set(err, -EPROTO, "disk: incomplete request");
	dd->minor = (uint32_t)minor;
	dd->port = (uint32_t)port;
	d = &s->disks[i];
	*d = mine;
	/* Validation fills vg, lv, size and this host's side; nothing changes. */
	if (s->env->act(s->env->arg, s, dmg_step_name(DMG_STEP_SOURCE_SIZE), (int)i, NULL, out,
			sizeof(out), err) < 0) {
		memset(d, 0, sizeof(*d));
		return err->code;
	}
	if (sess_j_disk(s, (int)i, err) < 0 || sess_j_side(s, (int)i, DMG_ROLE_DST, err) < 0 ||
	    sess_j_side(s, (int)i, DMG_ROLE_SRC, err) < 0)
		return err->code;
	if (sess_run_seq(s, DMG_SEQ_SRC_UP, (int)i, NULL, err) < 0)
		return err->code;
	dmg_jrec_init(reply, "disk");
	if (sess_jsetu(reply, "size", d->size, err) < 0 ||
	    sess_jsetu(reply, "minor", d->side[DMG_ROLE_SRC].minor, err) < 0 ||
	    sess_jsetu(reply, "port", d->side[DMG_ROLE_SRC].port, err) < 0 ||
	    sess_jset(reply, "host", d->side[DMG_ROLE_SRC].host, err) < 0 ||
	    sess_jset(reply, "addr", d->side[DMG_ROLE_SRC].addr, err) < 0)
		return err->code;
	return 0;
}

/* Finish, part one: the guest has left this host; its LV goes back to its
 * own extents and DRBD here becomes Secondary. */
static int
src_finish(struct dmg_session *s, struct dmg_error *err)
{
	enum dmg_dom st;

	/* A late or repeated call (the destination timed out and asked again,
	 * or our own settle thread finished first): done is done. */
	if (s->phase == DMG_PH_DONE)
		return 0;
	if (dmg_phase_closed(s->phase) || s->phase == DMG_PH_ROLLING_BACK)
		return dmg_error_set(err, -EBUSY, "session %s is %s; not finishing", s->sid,
				     dmg_phase_name(s->phase));
	if (s->phase != DMG_PH_FINISHING) {
		if (s->env->dom_state(s->env->arg, s->uuid, &st, err) < 0)
			return err->code;
		if (st == DMG_DOM_RUNNING)
			return dmg_error_set(err, -EBUSY, "the guest still runs on the source; not finishing");
		if (sess_set_phase(s, DMG_PH_FINISHING, NULL, err) < 0 || sess_settle_acts(s, err) < 0)
			return err->code;
	}
	return sess_run_seq(s, DMG_SEQ_SRC_LEAVE, -1, NULL, err);
}

static int
src_close(struct dmg_session *s, struct dmg_error *err)
{
	size_t i;

	if (s->phase == DMG_PH_DONE)
		return 0;
	if (s->phase != DMG_PH_FINISHING)
		return dmg_error_set(err, -EPROTO, "close before finish");
	if (sess_run_seq(s, DMG_SEQ_SRC_CLEAN, -1, NULL, err) < 0)
		return err->code;
	for (i = 0; i < s->ndisks; i++)
		if (!s->disks[i].keep_source && sess_run_seq(s, DMG_SEQ_SRC_DROP, (int)i, NULL, err) < 0)
			return err->code;
	return sess_set_phase(s, DMG_PH_DONE, NULL, err);
}

static int
src_state(struct dmg_session *s, struct dmg_jrec *reply, struct dmg_error *err)
{
	enum dmg_dom st = DMG_DOM_UNKNOWN;
	int fenced;

	if (s->env->dom_state(s->env->arg, s->uuid, &st, err) < 0)
		return err->code;
	dmg_jrec_init(reply, "state");
	pthread_mutex_lock(&s->mu);
	fenced = s->fenced;
	pthread_mutex_unlock(&s->mu);
	if (sess_jset(reply, "dom", dmg_dom_name(st), err) < 0 ||
	    sess_jset(reply, "phase", dmg_phase_name(s->phase), err) < 0 ||
	    (fenced && sess_jset(reply, "fenced", "1", err) < 0))
		return err->code;
	return 0;
}

/* Source: the calls that build, while the session builds. */
static int
src_build_call(struct dmg_session *s, enum dmg_verb verb, const struct dmg_jrec *req,
	       struct dmg_jrec *reply, struct dmg_error *err)
{
	char tmo[16];

	if (dmg_phase_closed(s->phase) || s->phase == DMG_PH_ROLLING_BACK)
		return dmg_error_set(err, -ECANCELED, "session is %s: %s", dmg_phase_name(s->phase),
				     s->reason);
	switch (verb) {
	case DMG_VERB_DISK:
		return src_disk(s, req, reply, err);
	case DMG_VERB_CONNECT:
		if (sess_run_seq(s, DMG_SEQ_CONNECT, -1, NULL, err) < 0)
			return err->code;
		return sess_set_phase(s, DMG_PH_SYNCING, NULL, err);
	case DMG_VERB_SYNC:
		return sess_run_seq(s, DMG_SEQ_SRC_SYNC, -1, NULL, err);
	case DMG_VERB_DUAL:
		snprintf(tmo, sizeof(tmo), "%d", DMG_SRC_IN_SYNC_WAIT_S);
		if (sess_run_seq(s, DMG_SEQ_SRC_WINDOW, -1, tmo, err) < 0)
			return err->code;
		return sess_set_phase(s, DMG_PH_READY, NULL, err);
	default:
		return dmg_error_set(err, -EPROTO, "unknown session call '%s'", dmg_verb_name(verb));
	}
}

/* core/verb.c checks values against its own copy of the limits. */
_Static_assert(DMG_SID_LEN == DMG_VERB_SID_LEN && DMG_TOK_LEN == DMG_VERB_TOK_LEN &&
	       DMG_SESS_DISKS_MAX == DMG_VERB_DISKS_MAX, "core/verb.h's limits are the engine's");

int
dmg_sess_peer_call(struct dmg_session *s, const char *caller, enum dmg_verb verb,
		   const struct dmg_jrec *req, const char *state_dir,
		   const struct dmg_sess_env *env, struct dmg_log *log,
		   struct dmg_session **created, struct dmg_jrec *reply, struct dmg_error *err)
{
	const char *why;

	dmg_jrec_init(reply, "ok");
	if (!dmg_verb_is_session(verb))
		return dmg_error_set(err, -EPROTO, "unknown session call '%s'", dmg_verb_name(verb));
	if (verb == DMG_VERB_OPEN) {
		if (s)
			return dmg_error_set(err, -EEXIST, "session %s exists already", s->sid);
		return src_open(caller, req, state_dir, env, log, created, err);
	}
	if (!s)
		return dmg_error_set(err, -ENOENT, "no such session");
	if (dmg_sess_check_caller(s, caller, req, err) < 0)
		return err->code;
	if (verb == DMG_VERB_STATE)
		return src_state(s, reply, err);
	if (s->role != DMG_ROLE_SRC)
		return dmg_error_set(err, -EPROTO, "'%s' is a call for the source of a session",
				     dmg_verb_name(verb));
	switch (verb) {
	case DMG_VERB_ROLLBACK:
		why = dmg_jrec_get(req, "reason");
		if (s->phase == DMG_PH_FINISHING || dmg_phase_closed(s->phase))
			return s->phase == DMG_PH_ROLLED_BACK ? 0 :
			       dmg_error_set(err, -EBUSY, "session is %s; not rolling back",
					     dmg_phase_name(s->phase));
		return sess_rollback(s, why && *why ? why : "destination asked", err);
	case DMG_VERB_FINISH:
		return src_finish(s, err);
	case DMG_VERB_CLOSE:
		return src_close(s, err);
	default:
		return src_build_call(s, verb, req, reply, err);
	}
}

/* Source: finish and close.  A failure before anything was torn down (e.g.
 * libvirt restarting, so the guest's state is unknown) is retried later;
 * one in the middle of the teardown stops the session for an admin. */
static int
src_teardown(struct dmg_session *s, struct dmg_error *err)
{
	int rc = src_finish(s, err);

	if (rc < 0 && s->phase != DMG_PH_FINISHING)
		return rc;
	if (rc < 0 || src_close(s, err) < 0)
		return sess_stuck(s, err);
	return 1;
}

int
dmg_sess_src_settle(struct dmg_session *s, int peer_lost, struct dmg_error *err)
{
	struct dmg_error perr = { 0 };
	struct dmg_jrec reply;
	enum dmg_phase theirs;
	enum dmg_dom here;
	int rc;

	if (dmg_phase_closed(s->phase))
		return 1;
	if (s->phase == DMG_PH_ROLLING_BACK)
		return sess_rollback(s, NULL, err) < 0 ? err->code : 1;
	if (!peer_lost && sess_call(s, DMG_VERB_STATE, -1, &reply, &perr) == 0 &&
	    dmg_phase_parse(dmg_jrec_get(&reply, "phase"), &theirs) == 0) {
		/* A destination in its teardown drives ours: finish, its own
		 * leave, then close; or, not reaching us, done alone.  Tearing
		 * down now would cut DRBD under the guest running there (a
		 * Primary losing its peer freezes I/O for fencing) and keep its
		 * finish call waiting on this session. */
		if (theirs == DMG_PH_FINISHING)
			return 0;
		if (theirs == DMG_PH_DONE || s->phase == DMG_PH_FINISHING)
			return src_teardown(s, err);
		if (theirs == DMG_PH_ROLLED_BACK || theirs == DMG_PH_ROLLING_BACK)
			return sess_rollback(s, "the destination rolled back", err) < 0 ? err->code : 1;
		if (theirs == DMG_PH_ATTENTION)
			return sess_attention(s, "the destination needs attention; keeping everything", err);
		return 0;   /* still in progress there */
	}
	/* Past the switchover, with no destination to drive it: from the journal. */
	if (s->phase == DMG_PH_FINISHING)
		return src_teardown(s, err);
	if (!peer_lost && perr.code == -ENOENT && s->phase == DMG_PH_BUILDING) {
		/* The destination never journalled it or lost it before READY. */
		return sess_rollback(s, "the destination does not know the session", err) < 0 ? err->code : 1;
	}
	rc = s->env->dom_state(s->env->arg, s->uuid, &here, err);
	if (rc < 0)
		return rc;
	/* Only a running (not paused) guest here, or a fenced migration,
	 * proves this copy is the live one. */
	if (s->fenced && here != DMG_DOM_PAUSED)
		return sess_rollback(s, "destination unreachable; the migration was fenced here", err) < 0 ? err->code : 1;
	/* Running is proof only once no migration job can still switch the
	 * guest over: rolling back cuts the replication, and a switchover after
	 * that would run the guest on a copy without its latest writes. */
	if (here == DMG_DOM_RUNNING && !sess_migrating(s))
		return sess_rollback(s, "destination unreachable and the guest runs here", err) < 0 ? err->code : 1;
	return 0;
}
