/* Running a session's steps: each journalled before it is taken and
 * recorded after, the undo ledger and rollback, and calls to the peer. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sess_impl.h"

/* ---- actions ------------------------------------------------------------- */

struct dmg_sess_act *
sess_act_find(struct dmg_session *s, enum dmg_step step, int disk)
{
	size_t i;

	for (i = s->nacts; i-- > 0;)
		if (s->acts[i].disk == disk && s->acts[i].step == step)
			return &s->acts[i];
	return NULL;
}

struct dmg_sess_act *
sess_act_add(struct dmg_session *s, enum dmg_step step, int disk, const char *arg,
	     struct dmg_error *err)
{
	struct dmg_sess_act *a;

	if (s->nacts == DMG_SESS_ACTS_MAX) {
		dmg_error_set(err, -E2BIG, "session %s: too many journalled actions", s->sid);
		return NULL;
	}
	a = &s->acts[s->nacts++];
	memset(a, 0, sizeof(*a));
	snprintf(a->verb, sizeof(a->verb), "%s", dmg_step_name(step));
	a->step = step;
	a->disk = disk;
	snprintf(a->arg, sizeof(a->arg), "%s", arg ? arg : "");
	return a;
}

static int
j_act(struct dmg_session *s, enum dmg_jkind kind, enum dmg_step step, int disk,
      const char *arg, const char *msg, struct dmg_error *err)
{
	struct dmg_jrec r;

	dmg_jrec_init_kind(&r, kind);
	if (sess_jset(&r, "verb", dmg_step_name(step), err) < 0 || sess_jsetu(&r, "disk", (uint64_t)disk + 1, err) < 0 ||
	    (arg && *arg && sess_jset(&r, "arg", arg, err) < 0) ||
	    (msg && sess_jset(&r, "msg", msg, err) < 0))
		return err->code;
	return sess_jwrite(s, &r, err);
}

static const char *
disk_label(const struct dmg_session *s, int disk)
{
	return disk >= 0 && (size_t)disk < s->ndisks ? s->disks[disk].target : "-";
}

/* Journals, runs and records one step; a step with an undo goes on the
 * undo ledger. */
int
sess_run(struct dmg_session *s, enum dmg_step step, int disk, const char *in,
	 struct dmg_error *err)
{
	const char *verb = dmg_step_name(step);
	int ledger = dmg_step_undo(step) != DMG_STEP_NONE;
	char out[DMG_JREC_VAL_MAX] = "";
	struct dmg_sess_act *a;
	int rc, cancel;

	pthread_mutex_lock(&s->mu);
	cancel = s->cancel && (s->phase == DMG_PH_BUILDING || s->phase == DMG_PH_SYNCING);
	pthread_mutex_unlock(&s->mu);
	if (cancel)
		return dmg_error_set(err, -ECANCELED, "cancelled by the admin (drbdmig cancel)");

	if (j_act(s, DMG_JK_BEGIN, step, disk, in, NULL, err) < 0)
		return err->code;
	a = ledger ? sess_act_add(s, step, disk, in, err) : NULL;
	if (ledger && !a)
		return err->code;
	dmg_info(s->log, "session=%s domain=%s disk=%s step=%s", s->sid, s->domain,
		 disk_label(s, disk), verb);
	rc = s->env->act(s->env->arg, s, verb, disk, in, out, sizeof(out), err);
	if (rc < 0) {
		dmg_err(s->log, "session=%s domain=%s disk=%s step=%s failed: %s", s->sid,
			s->domain, disk_label(s, disk), verb, err->msg);
		/* The failure is journalled only for the admin's benefit; the
		 * begun action stays on the undo list either way. */
		j_act(s, DMG_JK_FAIL, step, disk, NULL, err->msg, &(struct dmg_error){ 0 });
		return rc;
	}
	if (j_act(s, DMG_JK_DONE, step, disk, out, NULL, err) < 0)
		return err->code;
	if (a) {
		a->done = 1;
		if (*out)
			snprintf(a->arg, sizeof(a->arg), "%s", out);
	}
	return 0;
}

/* Runs the undo steps (steps.c) of every begun action (newest first) that
 * is not undone.  Only the undo proper gets the action's argument. */
static int
undo_all(struct dmg_session *s, struct dmg_error *err)
{
	size_t i, k, n;

	for (i = s->nacts; i-- > 0;) {
		struct dmg_sess_act *a = &s->acts[i];
		enum dmg_step u[2];

		n = a->undone ? 0 : dmg_step_undo_steps(a->step, u);
		if (n == 0)
			continue;
		for (k = 0; k < n; k++)
			if (sess_run(s, u[k], a->disk, k == n - 1 ? a->arg : NULL, err) < 0)
				return err->code;
		a->undone = 1;
		if (j_act(s, DMG_JK_UNDONE, a->step, a->disk, NULL, NULL, err) < 0)
			return err->code;
	}
	return 0;
}

/* Marks every recorded action as no longer to be undone (finish path). */
int
sess_settle_acts(struct dmg_session *s, struct dmg_error *err)
{
	size_t i;

	for (i = 0; i < s->nacts; i++) {
		if (s->acts[i].undone)
			continue;
		s->acts[i].undone = 1;
		if (j_act(s, DMG_JK_UNDONE, s->acts[i].step, s->acts[i].disk, NULL, NULL, err) < 0)
			return err->code;
	}
	return 0;
}

/* Runs sequence q (steps.c) on one disk, or disk after disk when disk < 0. */
int
sess_run_seq(struct dmg_session *s, enum dmg_seq q, int disk, const char *in,
	     struct dmg_error *err)
{
	size_t lo = disk < 0 ? 0 : (size_t)disk, hi = disk < 0 ? s->ndisks : (size_t)disk + 1;
	size_t d, v, n;
	const enum dmg_step *steps = dmg_seq_steps(q, &n);

	for (d = lo; d < hi; d++)
		for (v = 0; v < n; v++)
			if (sess_run(s, steps[v], (int)d, in, err) < 0)
				return err->code;
	return 0;
}

/* A rollback that itself fails leaves the session for an admin: nothing
 * more is deleted automatically. */
int
sess_rollback(struct dmg_session *s, const char *reason, struct dmg_error *err)
{
	struct dmg_error uerr = { 0 };

	if (s->phase != DMG_PH_ROLLING_BACK &&
	    sess_set_phase(s, DMG_PH_ROLLING_BACK, reason, err) < 0)
		return err->code;
	if (undo_all(s, &uerr) < 0) {
		char why[DMG_ERROR_MAX];

		snprintf(why, sizeof(why), "rollback stopped: %.400s", uerr.msg);
		sess_set_phase(s, DMG_PH_ATTENTION, why, err);
		*err = uerr;
		return uerr.code;
	}
	return sess_set_phase(s, DMG_PH_ROLLED_BACK, NULL, err);
}

int
sess_attention(struct dmg_session *s, const char *why, struct dmg_error *err)
{
	int rc = sess_set_phase(s, DMG_PH_ATTENTION, why, err);

	return rc < 0 ? rc : 1;
}

/* A teardown step failed: stop there, keep what is left, tell the admin. */
int
sess_stuck(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_error aerr = { 0 };
	char why[DMG_ERROR_MAX];

	snprintf(why, sizeof(why), "teardown stopped: %.400s", err->msg);
	sess_attention(s, why, &aerr);
	return err->code;
}

/* ---- peer calls from the destination ----------------------------------------- */

int
sess_call(struct dmg_session *s, enum dmg_verb verb, int disk, struct dmg_jrec *reply,
	  struct dmg_error *err)
{
	struct dmg_jrec req;

	dmg_jrec_init(&req, dmg_verb_name(verb));
	if (sess_jset(&req, "sid", s->sid, err) < 0 || sess_jset(&req, "tok", s->tok, err) < 0 ||
	    (disk >= 0 && sess_jsetu(&req, "i", (uint64_t)disk, err) < 0))
		return err->code;
	/* The source takes path and policy of a target from its own libvirt. */
	if (disk >= 0 && verb == DMG_VERB_DISK) {
		const struct dmg_sess_disk *d = &s->disks[disk];

		if (sess_jset(&req, "target", d->target, err) < 0 ||
		    sess_jset(&req, "dhost", d->side[DMG_ROLE_DST].host, err) < 0 ||
		    sess_jset(&req, "daddr", d->side[DMG_ROLE_DST].addr, err) < 0 ||
		    sess_jsetu(&req, "dminor", d->side[DMG_ROLE_DST].minor, err) < 0 ||
		    sess_jsetu(&req, "dport", d->side[DMG_ROLE_DST].port, err) < 0)
			return err->code;
	}
	if (verb == DMG_VERB_OPEN &&
	    (sess_jset(&req, "domain", s->domain, err) < 0 || sess_jset(&req, "uuid", s->uuid, err) < 0 ||
	     sess_jset(&req, "secret", s->secret, err) < 0 || sess_jsetu(&req, "ndisks", s->ndisks, err) < 0))
		return err->code;
	if (verb == DMG_VERB_ROLLBACK && sess_jset(&req, "reason", s->reason, err) < 0)
		return err->code;
	dmg_debug(s->log, "session=%s peer-call %s", s->sid, dmg_verb_name(verb));
	dmg_jrec_init(reply, "");
	return s->env->peer(s->env->arg, s, verb, &req, reply, err);
}
