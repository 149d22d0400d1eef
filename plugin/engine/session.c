/* Migration sessions: plan, journal, build, settle, finish, roll back,
 * recover.  See session.h for the model.
 *
 * The storage steps (env->act), their undos and the sequences they run in
 * are one table: engine/steps.c.
 *
 * Peer calls (destination -> source): open disk connect dual state finish
 * close rollback; and source -> destination: state. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/session.h"
#include "engine/steps.h"

static const char *const phase_names[DMG_PH_MAX] = {
	[DMG_PH_BUILDING] = "building", [DMG_PH_SYNCING] = "syncing",
	[DMG_PH_READY] = "ready", [DMG_PH_FINISHING] = "finishing",
	[DMG_PH_ROLLING_BACK] = "rolling-back", [DMG_PH_DONE] = "done",
	[DMG_PH_ROLLED_BACK] = "rolled-back", [DMG_PH_ATTENTION] = "attention",
};

const char *
dmg_phase_name(enum dmg_phase p)
{
	return p < DMG_PH_MAX ? phase_names[p] : "?";
}

static int
phase_parse(const char *s, enum dmg_phase *p)
{
	unsigned i;

	for (i = 0; i < DMG_PH_MAX; i++)
		if (s && strcmp(s, phase_names[i]) == 0) {
			*p = (enum dmg_phase)i;
			return 0;
		}
	return -EINVAL;
}

int
dmg_phase_closed(enum dmg_phase p)
{
	return p == DMG_PH_DONE || p == DMG_PH_ROLLED_BACK || p == DMG_PH_ATTENTION;
}

const char *
dmg_dom_name(enum dmg_dom d)
{
	static const char *const n[] = { "absent", "running", "paused", "shutoff", "unknown" };

	return d <= DMG_DOM_UNKNOWN ? n[d] : "?";
}

static enum dmg_dom
dom_parse(const char *s)
{
	enum dmg_dom d;

	for (d = DMG_DOM_ABSENT; d < DMG_DOM_UNKNOWN; d++)
		if (s && strcmp(s, dmg_dom_name(d)) == 0)
			return d;
	return DMG_DOM_UNKNOWN;
}

void
dmg_sess_res_name(const struct dmg_session *s, int disk, char *buf, size_t len)
{
	snprintf(buf, len, "drbdmig-%s-%d", s->sid, disk);
}

void
dmg_sess_copy_name(const struct dmg_session *s, int disk, char *buf, size_t len)
{
	snprintf(buf, len, "drbdmig-%s-%d-copy", s->sid, disk);
}

void
dmg_sess_md_name(const struct dmg_session *s, int disk, char *buf, size_t len)
{
	snprintf(buf, len, "drbdmig-%s-%d-md", s->sid, disk);
}

/* ---- journal -------------------------------------------------------------- */

static int
jset(struct dmg_jrec *r, const char *k, const char *v, struct dmg_error *err)
{
	return dmg_jrec_set(r, k, v ? v : "", err);
}

static int
jsetu(struct dmg_jrec *r, const char *k, uint64_t v, struct dmg_error *err)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return dmg_jrec_set(r, k, b, err);
}

static int
jwrite(struct dmg_session *s, struct dmg_jrec *r, struct dmg_error *err)
{
	int rc = dmg_journal_append(s->j, r, err);

	if (rc < 0)
		dmg_error_prefix(err, "session %s: journal", s->sid);
	return rc;
}

static int
j_session(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_jrec r;

	dmg_jrec_init(&r, "session");
	if (jset(&r, "sid", s->sid, err) < 0 ||
	    jset(&r, "role", s->role == DMG_ROLE_DST ? "dst" : "src", err) < 0 ||
	    jset(&r, "domain", s->domain, err) < 0 || jset(&r, "uuid", s->uuid, err) < 0 ||
	    jset(&r, "peer", s->peer, err) < 0 || jset(&r, "secret", s->secret, err) < 0 ||
	    jset(&r, "tok", s->tok, err) < 0 || jsetu(&r, "ndisks", s->ndisks, err) < 0)
		return err->code;
	return jwrite(s, &r, err);
}

static int
j_disk(struct dmg_session *s, int i, struct dmg_error *err)
{
	const struct dmg_sess_disk *d = &s->disks[i];
	struct dmg_jrec r;

	dmg_jrec_init(&r, "disk");
	if (jsetu(&r, "i", (uint64_t)i, err) < 0 || jset(&r, "target", d->target, err) < 0 ||
	    jset(&r, "path", d->path, err) < 0 || jset(&r, "vg", d->vg, err) < 0 ||
	    jset(&r, "lv", d->lv, err) < 0 || jsetu(&r, "size", d->size, err) < 0 ||
	    jsetu(&r, "keep", (uint64_t)d->keep_source, err) < 0 ||
	    jsetu(&r, "rate", d->rate_kib, err) < 0 || jsetu(&r, "dynamic", (uint64_t)d->dynamic, err) < 0)
		return err->code;
	return jwrite(s, &r, err);
}

static int
j_side(struct dmg_session *s, int i, enum dmg_role role, struct dmg_error *err)
{
	const struct dmg_sess_side *d = &s->disks[i].side[role];
	struct dmg_jrec r;

	dmg_jrec_init(&r, "side");
	if (jsetu(&r, "i", (uint64_t)i, err) < 0 ||
	    jset(&r, "role", role == DMG_ROLE_DST ? "dst" : "src", err) < 0 ||
	    jset(&r, "host", d->host, err) < 0 || jset(&r, "addr", d->addr, err) < 0 ||
	    jsetu(&r, "minor", d->minor, err) < 0 || jsetu(&r, "port", d->port, err) < 0)
		return err->code;
	return jwrite(s, &r, err);
}

static void
notify(struct dmg_session *s)
{
	if (s->env->changed)
		s->env->changed(s->env->arg, s);
}

static int
set_phase(struct dmg_session *s, enum dmg_phase p, const char *reason, struct dmg_error *err)
{
	struct dmg_jrec r;

	dmg_jrec_init(&r, "phase");
	if (jset(&r, "name", dmg_phase_name(p), err) < 0 ||
	    (reason && jset(&r, "reason", reason, err) < 0) ||
	    (p == DMG_PH_ATTENTION && jset(&r, "from", dmg_phase_name(s->phase), err) < 0))
		return err->code;
	if (p == DMG_PH_ATTENTION)
		s->attention_from = s->phase;
	if (jwrite(s, &r, err) < 0)
		return err->code;
	pthread_mutex_lock(&s->mu);
	s->phase = p;
	if (reason)
		snprintf(s->reason, sizeof(s->reason), "%s", reason);
	pthread_mutex_unlock(&s->mu);
	dmg_info(s->log, "session=%s domain=%s role=%s phase=%s%s%s", s->sid, s->domain,
		 s->role == DMG_ROLE_DST ? "dst" : "src", dmg_phase_name(p),
		 reason ? " reason=" : "", reason ? reason : "");
	notify(s);
	return 0;
}

/* ---- actions ------------------------------------------------------------- */

static struct dmg_sess_act *
act_find(struct dmg_session *s, enum dmg_step step, int disk)
{
	size_t i;

	for (i = s->nacts; i-- > 0;)
		if (s->acts[i].disk == disk && s->acts[i].step == step)
			return &s->acts[i];
	return NULL;
}

static struct dmg_sess_act *
act_add(struct dmg_session *s, enum dmg_step step, int disk, const char *arg,
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
j_act(struct dmg_session *s, const char *rec, enum dmg_step step, int disk,
      const char *arg, const char *msg, struct dmg_error *err)
{
	struct dmg_jrec r;

	dmg_jrec_init(&r, rec);
	if (jset(&r, "verb", dmg_step_name(step), err) < 0 || jsetu(&r, "disk", (uint64_t)disk + 1, err) < 0 ||
	    (arg && *arg && jset(&r, "arg", arg, err) < 0) ||
	    (msg && jset(&r, "msg", msg, err) < 0))
		return err->code;
	return jwrite(s, &r, err);
}

static const char *
disk_label(const struct dmg_session *s, int disk)
{
	return disk >= 0 && (size_t)disk < s->ndisks ? s->disks[disk].target : "-";
}

/* Journals, runs and records one step; a step with an undo goes on the
 * undo ledger. */
static int
run(struct dmg_session *s, enum dmg_step step, int disk, const char *in, struct dmg_error *err)
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

	if (j_act(s, "begin", step, disk, in, NULL, err) < 0)
		return err->code;
	a = ledger ? act_add(s, step, disk, in, err) : NULL;
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
		j_act(s, "fail", step, disk, NULL, err->msg, &(struct dmg_error){ 0 });
		return rc;
	}
	if (j_act(s, "done", step, disk, out, NULL, err) < 0)
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
			if (run(s, u[k], a->disk, k == n - 1 ? a->arg : NULL, err) < 0)
				return err->code;
		a->undone = 1;
		if (j_act(s, "undone", a->step, a->disk, NULL, NULL, err) < 0)
			return err->code;
	}
	return 0;
}

/* Marks every recorded action as no longer to be undone (finish path). */
static int
settle_acts(struct dmg_session *s, struct dmg_error *err)
{
	size_t i;

	for (i = 0; i < s->nacts; i++) {
		if (s->acts[i].undone)
			continue;
		s->acts[i].undone = 1;
		if (j_act(s, "undone", s->acts[i].step, s->acts[i].disk, NULL, NULL, err) < 0)
			return err->code;
	}
	return 0;
}

/* Runs sequence q (steps.c) on one disk, or disk after disk when disk < 0. */
static int
run_seq(struct dmg_session *s, enum dmg_seq q, int disk, const char *in, struct dmg_error *err)
{
	size_t lo = disk < 0 ? 0 : (size_t)disk, hi = disk < 0 ? s->ndisks : (size_t)disk + 1;
	size_t d, v, n;
	const enum dmg_step *steps = dmg_seq_steps(q, &n);

	for (d = lo; d < hi; d++)
		for (v = 0; v < n; v++)
			if (run(s, steps[v], (int)d, in, err) < 0)
				return err->code;
	return 0;
}

/* A rollback that itself fails leaves the session for an admin: nothing
 * more is deleted automatically. */
static int
rollback(struct dmg_session *s, const char *reason, struct dmg_error *err)
{
	struct dmg_error uerr = { 0 };

	if (s->phase != DMG_PH_ROLLING_BACK &&
	    set_phase(s, DMG_PH_ROLLING_BACK, reason, err) < 0)
		return err->code;
	if (undo_all(s, &uerr) < 0) {
		char why[DMG_ERROR_MAX];

		snprintf(why, sizeof(why), "rollback stopped: %.400s", uerr.msg);
		set_phase(s, DMG_PH_ATTENTION, why, err);
		*err = uerr;
		return uerr.code;
	}
	return set_phase(s, DMG_PH_ROLLED_BACK, NULL, err);
}

static int
attention(struct dmg_session *s, const char *why, struct dmg_error *err)
{
	int rc = set_phase(s, DMG_PH_ATTENTION, why, err);

	return rc < 0 ? rc : 1;
}

/* A teardown step failed: stop there, keep what is left, tell the admin. */
static int
stuck(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_error aerr = { 0 };
	char why[DMG_ERROR_MAX];

	snprintf(why, sizeof(why), "teardown stopped: %.400s", err->msg);
	attention(s, why, &aerr);
	return err->code;
}

/* ---- creation and loading -------------------------------------------------- */

static void
sess_release(struct dmg_session *s)
{
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int
sess_alloc(const char *state_dir, const char *sid, const struct dmg_sess_env *env,
	   struct dmg_log *log, struct dmg_session **out, struct dmg_error *err)
{
	struct dmg_session *s;

	*out = NULL;
	if (strlen(sid) != DMG_SID_LEN || strspn(sid, "0123456789abcdef") != DMG_SID_LEN) {
		dmg_error_set(err, -EINVAL, "bad session id '%.20s'", sid);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		dmg_error_set(err, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	memcpy(s->sid, sid, DMG_SID_LEN + 1);
	pthread_mutex_init(&s->mu, NULL);
	s->env = env;
	s->log = log;
	if (state_dir)
		snprintf(s->jpath, sizeof(s->jpath), "%s/%s.journal", state_dir, sid);
	*out = s;
	return 0;
}

static int
copy_str(char *dst, size_t len, const char *src, const char *what, struct dmg_error *err)
{
	if (!src || strlen(src) >= len)
		return dmg_error_set(err, -EINVAL, "%s is missing or too long", what);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

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
	if ((rc = copy_str(s->domain, sizeof(s->domain), domain, "domain name", err)) < 0 ||
	    (rc = copy_str(s->uuid, sizeof(s->uuid), uuid, "domain uuid", err)) < 0 ||
	    (rc = copy_str(s->peer, sizeof(s->peer), peer, "peer", err)) < 0 ||
	    (rc = copy_str(s->secret, sizeof(s->secret), secret, "secret", err)) < 0 ||
	    (rc = copy_str(s->tok, sizeof(s->tok), tok, "session handle", err)) < 0) {
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
	rc = j_session(s, err);
	for (i = 0; rc == 0 && i < ndisks; i++) {
		rc = j_disk(s, (int)i, err);
		if (rc == 0)
			rc = j_side(s, (int)i, DMG_ROLE_DST, err);
	}
	if (rc == 0)
		rc = set_phase(s, DMG_PH_BUILDING, NULL, err);
	if (rc < 0) {
		dmg_sess_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
dmg_sess_free(struct dmg_session *s)
{
	if (!s)
		return;
	if (s->j) {
		dmg_journal_close(s->j);
		/* Closed journals stay for `drbdmig status --all` and for the
		 * peer asking how a session ended; attention ones stay live. */
		size_t n = strlen(s->jpath), sl = strlen(".journal");

		if ((s->phase == DMG_PH_DONE || s->phase == DMG_PH_ROLLED_BACK) &&
		    n > sl && strcmp(s->jpath + n - sl, ".journal") == 0) {
			char closed[sizeof(s->jpath) + 8];

			snprintf(closed, sizeof(closed), "%.*s.closed",
				 (int)(n - sl), s->jpath);
			if (rename(s->jpath, closed) < 0 && s->log)
				dmg_warn(s->log, "session=%s: cannot rename %s: %s", s->sid,
					 s->jpath, strerror(errno));
		}
	}
	sess_release(s);
}

static int
num(const struct dmg_jrec *r, const char *k, uint64_t max, uint64_t *out)
{
	const char *v = dmg_jrec_get(r, k);
	char *end;
	unsigned long long u;

	if (!v || !*v || *v == '-')
		return -EINVAL;
	errno = 0;
	u = strtoull(v, &end, 10);
	if (errno || *end || u > max)
		return -EINVAL;
	*out = u;
	return 0;
}

struct loader {
	struct dmg_session *s;
	struct dmg_error *err;
};

static int
load_disk(struct dmg_session *s, const struct dmg_jrec *r, struct dmg_error *err)
{
	struct dmg_sess_disk *d;
	uint64_t i, v;

	if (num(r, "i", s->ndisks - 1, &i) < 0)
		return dmg_error_set(err, -EBADMSG, "disk record with a bad index");
	d = &s->disks[i];
	if (copy_str(d->target, sizeof(d->target), dmg_jrec_get(r, "target"), "target", err) < 0 ||
	    copy_str(d->path, sizeof(d->path), dmg_jrec_get(r, "path"), "path", err) < 0 ||
	    copy_str(d->vg, sizeof(d->vg), dmg_jrec_get(r, "vg"), "vg", err) < 0 ||
	    copy_str(d->lv, sizeof(d->lv), dmg_jrec_get(r, "lv"), "lv", err) < 0 ||
	    num(r, "size", UINT64_MAX, &d->size) < 0)
		return dmg_error_set(err, -EBADMSG, "disk record %" PRIu64 " is incomplete", i);
	if (num(r, "keep", 1, &v) == 0)
		d->keep_source = (int)v;
	if (num(r, "rate", UINT32_MAX, &v) == 0)
		d->rate_kib = (uint32_t)v;
	if (num(r, "dynamic", 1, &v) == 0)
		d->dynamic = (int)v;
	return 0;
}

static int
load_side(struct dmg_session *s, const struct dmg_jrec *r, struct dmg_error *err)
{
	struct dmg_sess_side *sd;
	const char *role = dmg_jrec_get(r, "role");
	uint64_t i, minor, port;

	if (num(r, "i", s->ndisks - 1, &i) < 0 || !role ||
	    (strcmp(role, "src") != 0 && strcmp(role, "dst") != 0) ||
	    num(r, "minor", UINT32_MAX, &minor) < 0 || num(r, "port", 65535, &port) < 0)
		return dmg_error_set(err, -EBADMSG, "side record is incomplete");
	sd = &s->disks[i].side[strcmp(role, "dst") == 0 ? DMG_ROLE_DST : DMG_ROLE_SRC];
	if (copy_str(sd->host, sizeof(sd->host), dmg_jrec_get(r, "host"), "host", err) < 0 ||
	    copy_str(sd->addr, sizeof(sd->addr), dmg_jrec_get(r, "addr"), "addr", err) < 0)
		return dmg_error_set(err, -EBADMSG, "side record is incomplete");
	sd->minor = (uint32_t)minor;
	sd->port = (uint32_t)port;
	return 0;
}

static int
load_session(struct dmg_session *s, const struct dmg_jrec *r, struct dmg_error *err)
{
	const char *role = dmg_jrec_get(r, "role"), *sid = dmg_jrec_get(r, "sid");
	uint64_t n;

	if (!sid || strcmp(sid, s->sid) != 0)
		return dmg_error_set(err, -EBADMSG, "journal belongs to session '%s'", sid ? sid : "");
	if (!role || (strcmp(role, "src") != 0 && strcmp(role, "dst") != 0) ||
	    num(r, "ndisks", DMG_SESS_DISKS_MAX, &n) < 0 || n == 0 ||
	    copy_str(s->domain, sizeof(s->domain), dmg_jrec_get(r, "domain"), "domain", err) < 0 ||
	    copy_str(s->uuid, sizeof(s->uuid), dmg_jrec_get(r, "uuid"), "uuid", err) < 0 ||
	    copy_str(s->peer, sizeof(s->peer), dmg_jrec_get(r, "peer"), "peer", err) < 0 ||
	    copy_str(s->secret, sizeof(s->secret), dmg_jrec_get(r, "secret"), "secret", err) < 0 ||
	    (dmg_jrec_get(r, "tok") &&
	     copy_str(s->tok, sizeof(s->tok), dmg_jrec_get(r, "tok"), "tok", err) < 0))
		return dmg_error_set(err, -EBADMSG, "session record is incomplete");
	s->role = strcmp(role, "dst") == 0 ? DMG_ROLE_DST : DMG_ROLE_SRC;
	s->ndisks = n;
	return 0;
}

static int
load_act(struct dmg_session *s, const struct dmg_jrec *r, struct dmg_error *err)
{
	const char *verb = dmg_jrec_get(r, "verb"), *arg = dmg_jrec_get(r, "arg");
	enum dmg_step step = dmg_step_parse(verb);
	struct dmg_sess_act *a;
	uint64_t d;

	if (!verb || num(r, "disk", s->ndisks, &d) < 0)
		return dmg_error_set(err, -EBADMSG, "%s record is incomplete", r->step);
	if (dmg_step_undo(step) == DMG_STEP_NONE)
		return 0;   /* undo and finish verbs are not undone themselves */
	if (strcmp(r->step, "begin") == 0)
		return act_add(s, step, (int)d - 1, arg, err) ? 0 : err->code;
	a = act_find(s, step, (int)d - 1);
	if (!a)
		return dmg_error_set(err, -EBADMSG, "%s of '%s' that never began", r->step, verb);
	if (strcmp(r->step, "done") == 0) {
		a->done = 1;
		if (arg)
			snprintf(a->arg, sizeof(a->arg), "%s", arg);
	} else if (strcmp(r->step, "undone") == 0) {
		a->undone = 1;
	}
	return 0;
}

static int
load_rec(const struct dmg_jrec *r, void *arg)
{
	struct loader *l = arg;
	struct dmg_session *s = l->s;

	if (strcmp(r->step, "session") == 0)
		return load_session(s, r, l->err) < 0 ? -1 : 0;
	if (!s->ndisks) {
		dmg_error_set(l->err, -EBADMSG, "journal does not start with a session record");
		return -1;
	}
	if (strcmp(r->step, "disk") == 0)
		return load_disk(s, r, l->err) < 0 ? -1 : 0;
	if (strcmp(r->step, "side") == 0)
		return load_side(s, r, l->err) < 0 ? -1 : 0;
	if (strcmp(r->step, "phase") == 0) {
		const char *why = dmg_jrec_get(r, "reason");

		if (phase_parse(dmg_jrec_get(r, "name"), &s->phase) < 0) {
			dmg_error_set(l->err, -EBADMSG, "unknown phase");
			return -1;
		}
		if (why)
			snprintf(s->reason, sizeof(s->reason), "%s", why);
		if (s->phase == DMG_PH_ATTENTION &&
		    phase_parse(dmg_jrec_get(r, "from"), &s->attention_from) < 0)
			s->attention_from = DMG_PH_ATTENTION;
		return 0;
	}
	if (strcmp(r->step, "switchover") == 0) {
		s->switchover = 1;
		return 0;
	}
	if (strcmp(r->step, "fenced") == 0) {
		s->fenced = s->fenced_journalled = 1;
		return 0;
	}
	if (strcmp(r->step, "begin") == 0 || strcmp(r->step, "done") == 0 ||
	    strcmp(r->step, "undone") == 0)
		return load_act(s, r, l->err) < 0 ? -1 : 0;
	return 0;   /* fail records and future steps: informational */
}

int
dmg_sess_load(const char *jpath, const struct dmg_sess_env *env, struct dmg_log *log,
	      struct dmg_session **out, struct dmg_error *err)
{
	const char *base = strrchr(jpath, '/');
	char sid[DMG_SID_LEN + 1];
	struct dmg_session *s;
	struct loader l;
	size_t cut = 0;
	int torn = 0, rc;

	base = base ? base + 1 : jpath;
	if (strlen(base) < DMG_SID_LEN)
		return dmg_error_set(err, -EINVAL, "%s: not a session journal", jpath);
	memcpy(sid, base, DMG_SID_LEN);
	sid[DMG_SID_LEN] = '\0';
	rc = sess_alloc(NULL, sid, env, log, &s, err);
	if (rc < 0)
		return rc;
	snprintf(s->jpath, sizeof(s->jpath), "%s", jpath);
	s->phase = DMG_PH_BUILDING;
	s->blind = 1;   /* whatever happened while no daemon looked is unknown */
	l.s = s;
	l.err = err;
	rc = dmg_journal_replay(jpath, load_rec, &l, &torn, err);
	if (rc == 0 && !s->ndisks)
		rc = dmg_error_set(err, -EBADMSG, "journal has no session record");
	if (rc != 0) {
		sess_release(s);
		rc = rc < 0 ? rc : err->code;
		dmg_error_prefix(err, "%s", jpath);
		return rc;
	}
	/* Appending after a torn record would bury it mid-file: cut it off. */
	rc = dmg_journal_recover(jpath, &s->j, &cut, err);
	if (rc < 0) {
		sess_release(s);
		return rc;
	}
	if ((torn || cut) && log)
		dmg_warn(log, "session=%s: the journal's last record was torn (crash while writing); cut off (%zu bytes)",
			 s->sid, cut);
	*out = s;
	return 0;
}

/* ---- peer calls from the destination ----------------------------------------- */

static int
call(struct dmg_session *s, enum dmg_pcall pc, int disk, struct dmg_jrec *reply,
     struct dmg_error *err)
{
	const char *verb = dmg_pcall_name(pc);
	struct dmg_jrec req;

	dmg_jrec_init(&req, verb);
	if (jset(&req, "sid", s->sid, err) < 0 || jset(&req, "tok", s->tok, err) < 0 ||
	    (disk >= 0 && jsetu(&req, "i", (uint64_t)disk, err) < 0))
		return err->code;
	/* The source takes path and policy of a target from its own libvirt. */
	if (disk >= 0 && pc == DMG_PC_DISK) {
		const struct dmg_sess_disk *d = &s->disks[disk];

		if (jset(&req, "target", d->target, err) < 0 ||
		    jset(&req, "dhost", d->side[DMG_ROLE_DST].host, err) < 0 ||
		    jset(&req, "daddr", d->side[DMG_ROLE_DST].addr, err) < 0 ||
		    jsetu(&req, "dminor", d->side[DMG_ROLE_DST].minor, err) < 0 ||
		    jsetu(&req, "dport", d->side[DMG_ROLE_DST].port, err) < 0)
			return err->code;
	}
	if (pc == DMG_PC_OPEN &&
	    (jset(&req, "domain", s->domain, err) < 0 || jset(&req, "uuid", s->uuid, err) < 0 ||
	     jset(&req, "secret", s->secret, err) < 0 || jsetu(&req, "ndisks", s->ndisks, err) < 0))
		return err->code;
	if (pc == DMG_PC_ROLLBACK && jset(&req, "reason", s->reason, err) < 0)
		return err->code;
	dmg_debug(s->log, "session=%s peer-call %s", s->sid, verb);
	dmg_jrec_init(reply, "");
	return s->env->peer(s->env->arg, s, &req, reply, err);
}

static int
read_src_side(struct dmg_session *s, int i, const struct dmg_jrec *r, struct dmg_error *err)
{
	struct dmg_sess_disk *d = &s->disks[i];
	struct dmg_sess_side *sd = &d->side[DMG_ROLE_SRC];
	uint64_t size, minor, port;

	if (num(r, "size", UINT64_MAX, &size) < 0 || size == 0 ||
	    num(r, "minor", UINT32_MAX, &minor) < 0 || num(r, "port", 65535, &port) < 0 ||
	    copy_str(sd->host, sizeof(sd->host), dmg_jrec_get(r, "host"), "host", err) < 0 ||
	    copy_str(sd->addr, sizeof(sd->addr), dmg_jrec_get(r, "addr"), "addr", err) < 0)
		return dmg_error_set(err, -EPROTO, "the source's answer for disk %s is incomplete",
				     d->target);
	d->size = size;
	sd->minor = (uint32_t)minor;
	sd->port = (uint32_t)port;
	if (j_disk(s, i, err) < 0 || j_side(s, i, DMG_ROLE_SRC, err) < 0)
		return err->code;
	return 0;
}

static int
build_steps(struct dmg_session *s, int sync_timeout_s, struct dmg_error *err)
{
	struct dmg_jrec reply;
	char tmo[16];
	size_t i;

	if (call(s, DMG_PC_OPEN, -1, &reply, err) < 0)
		return err->code;
	for (i = 0; i < s->ndisks; i++) {
		if (call(s, DMG_PC_DISK, (int)i, &reply, err) < 0 ||
		    read_src_side(s, (int)i, &reply, err) < 0)
			return err->code;
	}
	if (run_seq(s, DMG_SEQ_DST_UP, -1, NULL, err) < 0 ||
	    call(s, DMG_PC_CONNECT, -1, &reply, err) < 0 ||
	    run_seq(s, DMG_SEQ_CONNECT, -1, NULL, err) < 0)
		return err->code;
	if (set_phase(s, DMG_PH_SYNCING, NULL, err) < 0)
		return err->code;
	snprintf(tmo, sizeof(tmo), "%d", sync_timeout_s);
	if (run_seq(s, DMG_SEQ_SYNC, -1, tmo, err) < 0)
		return err->code;
	/* The migration window opens only now: both hosts UpToDate. */
	if (call(s, DMG_PC_DUAL, -1, &reply, err) < 0 ||
	    run_seq(s, DMG_SEQ_DST_WINDOW, -1, NULL, err) < 0)
		return err->code;
	return set_phase(s, DMG_PH_READY, NULL, err);
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
	rc = rollback(s, reason, err);
	if (call(s, DMG_PC_ROLLBACK, -1, &reply, &perr) < 0)
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

/* ---- outcome ------------------------------------------------------------------ */

int
dmg_sess_mark_switchover(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_jrec r;

	if (s->switchover)
		return 0;
	dmg_jrec_init(&r, "switchover");
	if (jwrite(s, &r, err) < 0)
		return err->code;
	s->switchover = 1;
	dmg_info(s->log, "session=%s domain=%s: the guest runs on the destination (switchover)",
		 s->sid, s->domain);
	return 0;
}

static int
finish_dst(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_error perr = { 0 };
	struct dmg_jrec reply;
	int src_ok;

	if (s->phase != DMG_PH_FINISHING && set_phase(s, DMG_PH_FINISHING, NULL, err) < 0)
		return err->code;
	if (settle_acts(s, err) < 0)
		return err->code;
	/* The source leaves first: its LV back to its extents, Secondary. */
	src_ok = call(s, DMG_PC_FINISH, -1, &reply, &perr) == 0;
	if (!src_ok)
		dmg_warn(s->log, "session=%s domain=%s: source not reachable for teardown (%s); it tears down from its journal",
			 s->sid, s->domain, perr.msg);
	/* Source not confirmed Secondary: the alone sequence (steps.c). */
	if (run_seq(s, src_ok ? DMG_SEQ_DST_LEAVE : DMG_SEQ_DST_LEAVE_ALONE, -1, NULL, err) < 0 ||
	    run_seq(s, DMG_SEQ_DST_CLEAN, -1, NULL, err) < 0)
		return stuck(s, err);
	if (src_ok && call(s, DMG_PC_CLOSE, -1, &reply, &perr) < 0)
		dmg_warn(s->log, "session=%s domain=%s: source close failed: %s", s->sid,
			 s->domain, perr.msg);
	if (set_phase(s, DMG_PH_DONE, src_ok ? NULL : "source side not confirmed", err) < 0)
		return err->code;
	return 1;
}

int
dmg_sess_settle(struct dmg_session *s, struct dmg_error *err)
{
	enum dmg_dom here = DMG_DOM_UNKNOWN, there = DMG_DOM_UNKNOWN;
	struct dmg_error perr = { 0 };
	enum dmg_phase theirs;
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
	peer_ok = call(s, DMG_PC_STATE, -1, &reply, &perr) == 0;
	if (peer_ok)
		there = dom_parse(dmg_jrec_get(&reply, "dom"));
	if (here == DMG_DOM_PAUSED || here == DMG_DOM_UNKNOWN)
		return 0;   /* migration in progress (or libvirt away): wait */
	/* Right after READY QEMU may not have started yet: absence means
	 * failure only once QEMU was seen, or the daemon says it is gone. */
	if (!s->seen_here && !s->gone_here)
		return 0;
	/* Not here (absent or shut off) and not switched over. */
	if (peer_ok && phase_parse(dmg_jrec_get(&reply, "phase"), &theirs) == 0 &&
	    (theirs == DMG_PH_ROLLED_BACK || theirs == DMG_PH_ROLLING_BACK)) {
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
	return attention(s, "the guest runs on neither host and this daemon may have missed a switchover; keeping both copies", err);
}

int
dmg_sess_mark_fenced(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_jrec r;

	if (s->fenced_journalled)
		return 0;
	dmg_jrec_init(&r, "fenced");
	if (jwrite(s, &r, err) < 0)
		return err->code;
	pthread_mutex_lock(&s->mu);
	s->fenced = 1;
	pthread_mutex_unlock(&s->mu);
	s->fenced_journalled = 1;
	return 0;
}

static int
migrating(const struct dmg_session *s)
{
	return s->env->migrating ? s->env->migrating(s->env->arg, s->uuid) != 0 : 0;
}

void
dmg_sess_note_gone(struct dmg_session *s)
{
	s->gone_here = 1;
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
		if (migrating(s))
			return dmg_error_set(err, -EBUSY, "session %s: a migration of '%s' is running; abort it (virsh domjobabort) instead",
					     s->sid, s->domain);
		rc = rollback(s, "cancelled by the admin", err);
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

/* ---- the source side ---------------------------------------------------------- */


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

	if (!sid || !tok_valid(tok) || num(req, "ndisks", DMG_SESS_DISKS_MAX, &n) < 0 || n == 0)
		return dmg_error_set(err, -EPROTO, "open: sid, tok and ndisks (1..%d) are required",
				     DMG_SESS_DISKS_MAX);
	if (!caller || !*caller)
		return dmg_error_set(err, -EACCES, "open: the caller is not a configured peer");
	rc = sess_alloc(state_dir, sid, env, log, &s, err);
	if (rc < 0)
		return rc;
	s->role = DMG_ROLE_SRC;
	s->ndisks = n;
	if ((rc = copy_str(s->uuid, sizeof(s->uuid), dmg_jrec_get(req, "uuid"), "uuid", err)) < 0 ||
	    (rc = copy_str(s->secret, sizeof(s->secret), dmg_jrec_get(req, "secret"), "secret", err)) < 0 ||
	    (rc = copy_str(s->tok, sizeof(s->tok), tok, "tok", err)) < 0 ||
	    (rc = copy_str(s->peer, sizeof(s->peer), caller, "peer", err)) < 0 ||
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
		rc = copy_str(s->domain, sizeof(s->domain), p->domain, "domain", err);
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
	if ((rc = j_session(s, err)) < 0 || (rc = set_phase(s, DMG_PH_BUILDING, NULL, err)) < 0) {
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
	if ((rc = copy_str(d->target, sizeof(d->target), pd->target, "target", err)) < 0 ||
	    (rc = copy_str(d->path, sizeof(d->path), pd->source, "path", err)) < 0)
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

	if (num(req, "i", s->ndisks - 1, &i) < 0 || *s->disks[i].target)
		return dmg_error_set(err, -EPROTO, "disk: bad or repeated disk index");
	memset(&mine, 0, sizeof(mine));
	if (src_own_disk(s, dmg_jrec_get(req, "target"), &mine, err) < 0)
		return err->code;
	dd = &mine.side[DMG_ROLE_DST];
	if (copy_str(dd->host, sizeof(dd->host), dmg_jrec_get(req, "dhost"), "dhost", err) < 0 ||
	    copy_str(dd->addr, sizeof(dd->addr), dmg_jrec_get(req, "daddr"), "daddr", err) < 0 ||
	    num(req, "dminor", UINT32_MAX, &minor) < 0 || num(req, "dport", 65535, &port) < 0)
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
	if (j_disk(s, (int)i, err) < 0 || j_side(s, (int)i, DMG_ROLE_DST, err) < 0 ||
	    j_side(s, (int)i, DMG_ROLE_SRC, err) < 0)
		return err->code;
	if (run_seq(s, DMG_SEQ_SRC_UP, (int)i, NULL, err) < 0)
		return err->code;
	dmg_jrec_init(reply, "disk");
	if (jsetu(reply, "size", d->size, err) < 0 ||
	    jsetu(reply, "minor", d->side[DMG_ROLE_SRC].minor, err) < 0 ||
	    jsetu(reply, "port", d->side[DMG_ROLE_SRC].port, err) < 0 ||
	    jset(reply, "host", d->side[DMG_ROLE_SRC].host, err) < 0 ||
	    jset(reply, "addr", d->side[DMG_ROLE_SRC].addr, err) < 0)
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
		if (set_phase(s, DMG_PH_FINISHING, NULL, err) < 0 || settle_acts(s, err) < 0)
			return err->code;
	}
	return run_seq(s, DMG_SEQ_SRC_LEAVE, -1, NULL, err);
}

static int
src_close(struct dmg_session *s, struct dmg_error *err)
{
	size_t i;

	if (s->phase == DMG_PH_DONE)
		return 0;
	if (s->phase != DMG_PH_FINISHING)
		return dmg_error_set(err, -EPROTO, "close before finish");
	if (run_seq(s, DMG_SEQ_SRC_CLEAN, -1, NULL, err) < 0)
		return err->code;
	for (i = 0; i < s->ndisks; i++)
		if (!s->disks[i].keep_source && run_seq(s, DMG_SEQ_SRC_DROP, (int)i, NULL, err) < 0)
			return err->code;
	return set_phase(s, DMG_PH_DONE, NULL, err);
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
	if (jset(reply, "dom", dmg_dom_name(st), err) < 0 ||
	    jset(reply, "phase", dmg_phase_name(s->phase), err) < 0 ||
	    (fenced && jset(reply, "fenced", "1", err) < 0))
		return err->code;
	return 0;
}

/* Source: the calls that build, while the session builds. */
static int
src_build_call(struct dmg_session *s, enum dmg_pcall pc, const struct dmg_jrec *req,
	       struct dmg_jrec *reply, struct dmg_error *err)
{
	if (dmg_phase_closed(s->phase) || s->phase == DMG_PH_ROLLING_BACK)
		return dmg_error_set(err, -ECANCELED, "session is %s: %s", dmg_phase_name(s->phase),
				     s->reason);
	switch (pc) {
	case DMG_PC_DISK:
		return src_disk(s, req, reply, err);
	case DMG_PC_CONNECT:
		if (run_seq(s, DMG_SEQ_CONNECT, -1, NULL, err) < 0)
			return err->code;
		return set_phase(s, DMG_PH_SYNCING, NULL, err);
	case DMG_PC_DUAL:
		if (run_seq(s, DMG_SEQ_SRC_WINDOW, -1, NULL, err) < 0)
			return err->code;
		return set_phase(s, DMG_PH_READY, NULL, err);
	default:
		return dmg_error_set(err, -EPROTO, "unknown session call '%s'", req->step);
	}
}

int
dmg_sess_peer_call(struct dmg_session *s, const char *caller, const struct dmg_jrec *req,
		   const char *state_dir, const struct dmg_sess_env *env,
		   struct dmg_log *log, struct dmg_session **created,
		   struct dmg_jrec *reply, struct dmg_error *err)
{
	enum dmg_pcall pc = dmg_pcall_parse(req->step);   /* parsed once */
	const char *why;

	dmg_jrec_init(reply, "ok");
	if (pc == DMG_PC_OPEN) {
		if (s)
			return dmg_error_set(err, -EEXIST, "session %s exists already", s->sid);
		return src_open(caller, req, state_dir, env, log, created, err);
	}
	if (!s)
		return dmg_error_set(err, -ENOENT, "no such session");
	if (dmg_sess_check_caller(s, caller, req, err) < 0)
		return err->code;
	if (pc == DMG_PC_STATE)
		return src_state(s, reply, err);
	if (s->role != DMG_ROLE_SRC)
		return dmg_error_set(err, -EPROTO, "'%s' is a call for the source of a session",
				     req->step);
	switch (pc) {
	case DMG_PC_ROLLBACK:
		why = dmg_jrec_get(req, "reason");
		if (s->phase == DMG_PH_FINISHING || dmg_phase_closed(s->phase))
			return s->phase == DMG_PH_ROLLED_BACK ? 0 :
			       dmg_error_set(err, -EBUSY, "session is %s; not rolling back",
					     dmg_phase_name(s->phase));
		return rollback(s, why && *why ? why : "destination asked", err);
	case DMG_PC_FINISH:
		return src_finish(s, err);
	case DMG_PC_CLOSE:
		return src_close(s, err);
	default:
		return src_build_call(s, pc, req, reply, err);
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
		return stuck(s, err);
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
		return rollback(s, NULL, err) < 0 ? err->code : 1;
	if (s->phase == DMG_PH_FINISHING)
		return src_teardown(s, err);
	if (!peer_lost && call(s, DMG_PC_STATE, -1, &reply, &perr) == 0 &&
	    phase_parse(dmg_jrec_get(&reply, "phase"), &theirs) == 0) {
		if (theirs == DMG_PH_DONE || theirs == DMG_PH_FINISHING)
			return src_teardown(s, err);
		if (theirs == DMG_PH_ROLLED_BACK || theirs == DMG_PH_ROLLING_BACK)
			return rollback(s, "the destination rolled back", err) < 0 ? err->code : 1;
		if (theirs == DMG_PH_ATTENTION)
			return attention(s, "the destination needs attention; keeping everything", err);
		return 0;   /* still in progress there */
	}
	if (!peer_lost && perr.code == -ENOENT && s->phase == DMG_PH_BUILDING) {
		/* The destination never journalled it or lost it before READY. */
		return rollback(s, "the destination does not know the session", err) < 0 ? err->code : 1;
	}
	rc = s->env->dom_state(s->env->arg, s->uuid, &here, err);
	if (rc < 0)
		return rc;
	/* Only a running (not paused) guest here, or a fenced migration,
	 * proves this copy is the live one. */
	if (s->fenced && here != DMG_DOM_PAUSED)
		return rollback(s, "destination unreachable; the migration was fenced here", err) < 0 ? err->code : 1;
	/* Running is proof only once no migration job can still switch the
	 * guest over: rolling back cuts the replication, and a switchover after
	 * that would run the guest on a copy without its latest writes. */
	if (here == DMG_DOM_RUNNING && !migrating(s))
		return rollback(s, "destination unreachable and the guest runs here", err) < 0 ? err->code : 1;
	return 0;
}

static int
status_lines(const struct dmg_session *s, char *buf, size_t len, struct dmg_error *err)
{
	size_t off = 0, i;
	struct dmg_jrec r;
	int n;

	dmg_jrec_init(&r, "session");
	if (jset(&r, "sid", s->sid, err) < 0 || jset(&r, "domain", s->domain, err) < 0 ||
	    jset(&r, "role", s->role == DMG_ROLE_DST ? "dst" : "src", err) < 0 ||
	    jset(&r, "phase", dmg_phase_name(s->phase), err) < 0 ||
	    jset(&r, "peer", s->peer, err) < 0 || jsetu(&r, "disks", s->ndisks, err) < 0 ||
	    (s->reason[0] && jset(&r, "reason", s->reason, err) < 0))
		return err->code;
	n = dmg_jrec_format_line(&r, buf, len, err);
	if (n < 0)
		return n;
	off = (size_t)n;
	for (i = 0; i < s->ndisks; i++) {
		const struct dmg_sess_disk *d = &s->disks[i];
		char v[32];

		dmg_jrec_init(&r, "disk");
		if (jset(&r, "sid", s->sid, err) < 0 || jset(&r, "target", d->target, err) < 0 ||
		    jset(&r, "path", d->path, err) < 0 || jsetu(&r, "size", d->size, err) < 0)
			return err->code;
		snprintf(v, sizeof(v), "%.1f", d->pct);
		if (jset(&r, "pct", v, err) < 0)
			return err->code;
		snprintf(v, sizeof(v), "%.0f", d->kib_s);
		if (jset(&r, "kib_s", v, err) < 0)
			return err->code;
		snprintf(v, sizeof(v), "%ld", d->eta_s);
		if (jset(&r, "eta_s", v, err) < 0)
			return err->code;
		n = dmg_jrec_format_line(&r, buf + off, len - off, err);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (int)off;
}

int
dmg_sess_retry(struct dmg_session *s, struct dmg_error *err)
{
	enum dmg_phase from = s->attention_from;

	if (s->phase != DMG_PH_ATTENTION)
		return dmg_error_set(err, -EINVAL, "session %s is %s, not waiting for attention",
				     s->sid, dmg_phase_name(s->phase));
	if (from != DMG_PH_FINISHING && from != DMG_PH_ROLLING_BACK && from != DMG_PH_READY)
		return dmg_error_set(err, -EINVAL, "session %s: cannot tell how to go on (stopped while %s); see its journal %s",
				     s->sid, dmg_phase_name(from), s->jpath);
	if (set_phase(s, from, "retried by the admin", err) < 0)
		return err->code;
	return s->role == DMG_ROLE_DST ? dmg_sess_settle(s, err) : dmg_sess_src_settle(s, 0, err);
}

int
dmg_sess_status_lines(struct dmg_session *s, char *buf, size_t len, struct dmg_error *err)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = status_lines(s, buf, len, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
