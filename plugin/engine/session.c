/* Migration sessions: the model and its journal (names, records, phases,
 * loading after a crash) and the status lines.  See session.h for the
 * model; the steps and their order are engine/steps.c, running them
 * engine/run.c, the destination's side engine/dst.c, the source's
 * engine/src.c. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sess_impl.h"

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

enum dmg_dom
sess_dom_parse(const char *s)
{
	enum dmg_dom d;

	for (d = DMG_DOM_ABSENT; d < DMG_DOM_UNKNOWN; d++)
		if (s && strcmp(s, dmg_dom_name(d)) == 0)
			return d;
	return DMG_DOM_UNKNOWN;
}

/* ---- journal -------------------------------------------------------------- */

int
sess_jset(struct dmg_jrec *r, const char *k, const char *v, struct dmg_error *err)
{
	return dmg_jrec_set(r, k, v ? v : "", err);
}

int
sess_jsetu(struct dmg_jrec *r, const char *k, uint64_t v, struct dmg_error *err)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return dmg_jrec_set(r, k, b, err);
}

int
sess_jwrite(struct dmg_session *s, struct dmg_jrec *r, struct dmg_error *err)
{
	int rc = dmg_journal_append(s->j, r, err);

	if (rc < 0)
		dmg_error_prefix(err, "session %s: journal", s->sid);
	return rc;
}

int
sess_j_session(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_jrec r;

	dmg_jrec_init_kind(&r, DMG_JK_SESSION);
	if (sess_jset(&r, "sid", s->sid, err) < 0 ||
	    sess_jset(&r, "role", dmg_role_name(s->role), err) < 0 ||
	    sess_jset(&r, "domain", s->domain, err) < 0 || sess_jset(&r, "uuid", s->uuid, err) < 0 ||
	    sess_jset(&r, "peer", s->peer, err) < 0 || sess_jset(&r, "secret", s->secret, err) < 0 ||
	    sess_jset(&r, "tok", s->tok, err) < 0 || sess_jsetu(&r, "ndisks", s->ndisks, err) < 0)
		return err->code;
	return sess_jwrite(s, &r, err);
}

int
sess_j_disk(struct dmg_session *s, int i, struct dmg_error *err)
{
	const struct dmg_sess_disk *d = &s->disks[i];
	struct dmg_jrec r;

	dmg_jrec_init_kind(&r, DMG_JK_DISK);
	if (sess_jsetu(&r, "i", (uint64_t)i, err) < 0 || sess_jset(&r, "target", d->target, err) < 0 ||
	    sess_jset(&r, "path", d->path, err) < 0 || sess_jset(&r, "vg", d->vg, err) < 0 ||
	    sess_jset(&r, "lv", d->lv, err) < 0 || sess_jsetu(&r, "size", d->size, err) < 0 ||
	    (d->pool[0] && sess_jset(&r, "pool", d->pool, err) < 0) ||
	    (d->thin[0] && sess_jset(&r, "thin", d->thin, err) < 0) ||
	    sess_jsetu(&r, "keep", (uint64_t)d->keep_source, err) < 0 ||
	    sess_jsetu(&r, "rate", d->rate_kib, err) < 0 || sess_jsetu(&r, "dynamic", (uint64_t)d->dynamic, err) < 0)
		return err->code;
	return sess_jwrite(s, &r, err);
}

int
sess_j_side(struct dmg_session *s, int i, enum dmg_role role, struct dmg_error *err)
{
	const struct dmg_sess_side *d = &s->disks[i].side[role];
	struct dmg_jrec r;

	dmg_jrec_init_kind(&r, DMG_JK_SIDE);
	if (sess_jsetu(&r, "i", (uint64_t)i, err) < 0 ||
	    sess_jset(&r, "role", dmg_role_name(role), err) < 0 ||
	    sess_jset(&r, "host", d->host, err) < 0 || sess_jset(&r, "addr", d->addr, err) < 0 ||
	    sess_jsetu(&r, "minor", d->minor, err) < 0 || sess_jsetu(&r, "port", d->port, err) < 0)
		return err->code;
	return sess_jwrite(s, &r, err);
}

static void
notify(struct dmg_session *s)
{
	if (s->env->changed)
		s->env->changed(s->env->arg, s);
}

int
sess_set_phase(struct dmg_session *s, enum dmg_phase p, const char *reason,
	       struct dmg_error *err)
{
	struct dmg_jrec r;

	dmg_jrec_init_kind(&r, DMG_JK_PHASE);
	if (sess_jset(&r, "name", dmg_phase_name(p), err) < 0 ||
	    (reason && sess_jset(&r, "reason", reason, err) < 0) ||
	    (p == DMG_PH_ATTENTION && sess_jset(&r, "from", dmg_phase_name(s->phase), err) < 0))
		return err->code;
	if (p == DMG_PH_ATTENTION)
		s->attention_from = s->phase;
	if (sess_jwrite(s, &r, err) < 0)
		return err->code;
	pthread_mutex_lock(&s->mu);
	s->phase = p;
	if (reason)
		snprintf(s->reason, sizeof(s->reason), "%s", reason);
	pthread_mutex_unlock(&s->mu);
	dmg_info(s->log, "session=%s domain=%s role=%s phase=%s%s%s", s->sid, s->domain,
		 dmg_role_name(s->role), dmg_phase_name(p),
		 reason ? " reason=" : "", reason ? reason : "");
	notify(s);
	return 0;
}

/* ---- creation and loading -------------------------------------------------- */

void
sess_release(struct dmg_session *s)
{
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int
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

int
sess_copy_str(char *dst, size_t len, const char *src, const char *what, struct dmg_error *err)
{
	if (!src || strlen(src) >= len)
		return dmg_error_set(err, -EINVAL, "%s is missing or too long", what);
	memcpy(dst, src, strlen(src) + 1);
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

/* Decimal digits only (core/verb.c): strtoull() would also take blanks and
 * a sign, and read " -5", which the peer may send, as 2^64 - 5. */
int
sess_num(const struct dmg_jrec *r, const char *k, uint64_t max, uint64_t *out)
{
	return dmg_verb_uint(dmg_jrec_get(r, k), max, out) < 0 ? -EINVAL : 0;
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

	if (sess_num(r, "i", s->ndisks - 1, &i) < 0)
		return dmg_error_set(err, -EBADMSG, "disk record with a bad index");
	d = &s->disks[i];
	if (sess_copy_str(d->target, sizeof(d->target), dmg_jrec_get(r, "target"), "target", err) < 0 ||
	    sess_copy_str(d->path, sizeof(d->path), dmg_jrec_get(r, "path"), "path", err) < 0 ||
	    sess_copy_str(d->vg, sizeof(d->vg), dmg_jrec_get(r, "vg"), "vg", err) < 0 ||
	    sess_copy_str(d->lv, sizeof(d->lv), dmg_jrec_get(r, "lv"), "lv", err) < 0 ||
	    sess_num(r, "size", UINT64_MAX, &d->size) < 0)
		return dmg_error_set(err, -EBADMSG, "disk record %" PRIu64 " is incomplete", i);
	if (dmg_jrec_get(r, "pool") &&
	    sess_copy_str(d->pool, sizeof(d->pool), dmg_jrec_get(r, "pool"), "pool", err) < 0)
		return err->code;
	if (dmg_jrec_get(r, "thin") &&
	    sess_copy_str(d->thin, sizeof(d->thin), dmg_jrec_get(r, "thin"), "thin", err) < 0)
		return err->code;
	if (sess_num(r, "keep", 1, &v) == 0)
		d->keep_source = (int)v;
	if (sess_num(r, "rate", UINT32_MAX, &v) == 0)
		d->rate_kib = (uint32_t)v;
	if (sess_num(r, "dynamic", 1, &v) == 0)
		d->dynamic = (int)v;
	return 0;
}

static int
load_side(struct dmg_session *s, const struct dmg_jrec *r, struct dmg_error *err)
{
	struct dmg_sess_side *sd;
	enum dmg_role role;
	uint64_t i, minor, port;

	if (sess_num(r, "i", s->ndisks - 1, &i) < 0 || dmg_role_parse(dmg_jrec_get(r, "role"), &role) < 0 ||
	    sess_num(r, "minor", UINT32_MAX, &minor) < 0 || sess_num(r, "port", 65535, &port) < 0)
		return dmg_error_set(err, -EBADMSG, "side record is incomplete");
	sd = &s->disks[i].side[role];
	if (sess_copy_str(sd->host, sizeof(sd->host), dmg_jrec_get(r, "host"), "host", err) < 0 ||
	    sess_copy_str(sd->addr, sizeof(sd->addr), dmg_jrec_get(r, "addr"), "addr", err) < 0)
		return dmg_error_set(err, -EBADMSG, "side record is incomplete");
	sd->minor = (uint32_t)minor;
	sd->port = (uint32_t)port;
	return 0;
}

static int
load_session(struct dmg_session *s, const struct dmg_jrec *r, struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(r, "sid");
	enum dmg_role role;
	uint64_t n;

	if (!sid || strcmp(sid, s->sid) != 0)
		return dmg_error_set(err, -EBADMSG, "journal belongs to session '%s'", sid ? sid : "");
	if (dmg_role_parse(dmg_jrec_get(r, "role"), &role) < 0 ||
	    sess_num(r, "ndisks", DMG_SESS_DISKS_MAX, &n) < 0 || n == 0 ||
	    sess_copy_str(s->domain, sizeof(s->domain), dmg_jrec_get(r, "domain"), "domain", err) < 0 ||
	    sess_copy_str(s->uuid, sizeof(s->uuid), dmg_jrec_get(r, "uuid"), "uuid", err) < 0 ||
	    sess_copy_str(s->peer, sizeof(s->peer), dmg_jrec_get(r, "peer"), "peer", err) < 0 ||
	    sess_copy_str(s->secret, sizeof(s->secret), dmg_jrec_get(r, "secret"), "secret", err) < 0 ||
	    (dmg_jrec_get(r, "tok") &&
	     sess_copy_str(s->tok, sizeof(s->tok), dmg_jrec_get(r, "tok"), "tok", err) < 0))
		return dmg_error_set(err, -EBADMSG, "session record is incomplete");
	s->role = role;
	s->ndisks = n;
	return 0;
}

static int
load_act(struct dmg_session *s, const struct dmg_jrec *r, enum dmg_jkind kind,
	 struct dmg_error *err)
{
	const char *verb = dmg_jrec_get(r, "verb"), *arg = dmg_jrec_get(r, "arg");
	enum dmg_step step = dmg_step_parse(verb);
	struct dmg_sess_act *a;
	uint64_t d;

	if (!verb || sess_num(r, "disk", s->ndisks, &d) < 0)
		return dmg_error_set(err, -EBADMSG, "%s record is incomplete", r->step);
	if (dmg_step_undo(step) == DMG_STEP_NONE)
		return 0;   /* undo and finish verbs are not undone themselves */
	if (kind == DMG_JK_BEGIN)
		return sess_act_add(s, step, (int)d - 1, arg, err) ? 0 : err->code;
	a = sess_act_find(s, step, (int)d - 1);
	if (!a)
		return dmg_error_set(err, -EBADMSG, "%s of '%s' that never began", r->step, verb);
	if (kind == DMG_JK_DONE) {
		a->done = 1;
		if (arg)
			snprintf(a->arg, sizeof(a->arg), "%s", arg);
	} else if (kind == DMG_JK_UNDONE) {
		a->undone = 1;
	}
	return 0;
}

static int
load_phase(struct dmg_session *s, const struct dmg_jrec *r, struct dmg_error *err)
{
	const char *why = dmg_jrec_get(r, "reason");

	if (dmg_phase_parse(dmg_jrec_get(r, "name"), &s->phase) < 0)
		return dmg_error_set(err, -EBADMSG, "unknown phase");
	if (why)
		snprintf(s->reason, sizeof(s->reason), "%s", why);
	if (s->phase == DMG_PH_ATTENTION &&
	    dmg_phase_parse(dmg_jrec_get(r, "from"), &s->attention_from) < 0)
		s->attention_from = DMG_PH_ATTENTION;
	return 0;
}

static int
load_rec(const struct dmg_jrec *r, void *arg)
{
	struct loader *l = arg;
	struct dmg_session *s = l->s;
	enum dmg_jkind kind = dmg_jkind_parse(r->step);
	int rc = 0;

	if (kind == DMG_JK_SESSION)
		return load_session(s, r, l->err) < 0 ? -1 : 0;
	if (!s->ndisks) {
		dmg_error_set(l->err, -EBADMSG, "journal does not start with a session record");
		return -1;
	}
	switch (kind) {
	case DMG_JK_DISK:
		rc = load_disk(s, r, l->err);
		break;
	case DMG_JK_SIDE:
		rc = load_side(s, r, l->err);
		break;
	case DMG_JK_PHASE:
		rc = load_phase(s, r, l->err);
		break;
	case DMG_JK_SWITCHOVER:
		s->switchover = 1;
		break;
	case DMG_JK_FENCED:
		s->fenced = s->fenced_journalled = 1;
		break;
	case DMG_JK_BEGIN:
	case DMG_JK_DONE:
	case DMG_JK_UNDONE:
		rc = load_act(s, r, kind, l->err);
		break;
	case DMG_JK_SESSION:   /* handled above */
	case DMG_JK_FAIL:      /* fail records and future kinds: informational */
	case DMG_JK_UNKNOWN:
	case DMG_JK_MAX:
		break;
	}
	return rc < 0 ? -1 : 0;
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

/* ---- outcome ------------------------------------------------------------------ */

int
dmg_sess_mark_switchover(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_jrec r;

	if (s->switchover)
		return 0;
	dmg_jrec_init_kind(&r, DMG_JK_SWITCHOVER);
	if (sess_jwrite(s, &r, err) < 0)
		return err->code;
	s->switchover = 1;
	dmg_info(s->log, "session=%s domain=%s: the guest runs on the destination (switchover)",
		 s->sid, s->domain);
	return 0;
}

int
dmg_sess_mark_fenced(struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_jrec r;

	if (s->fenced_journalled)
		return 0;
	dmg_jrec_init_kind(&r, DMG_JK_FENCED);
	if (sess_jwrite(s, &r, err) < 0)
		return err->code;
	pthread_mutex_lock(&s->mu);
	s->fenced = 1;
	pthread_mutex_unlock(&s->mu);
	s->fenced_journalled = 1;
	return 0;
}

int
sess_migrating(const struct dmg_session *s)
{
	return s->env->migrating ? s->env->migrating(s->env->arg, s->uuid) != 0 : 0;
}

void
dmg_sess_note_gone(struct dmg_session *s)
{
	s->gone_here = 1;
}

static int
status_lines(const struct dmg_session *s, char *buf, size_t len, struct dmg_error *err)
{
	size_t off = 0, i;
	struct dmg_jrec r;
	int n;

	dmg_jrec_init_kind(&r, DMG_JK_SESSION);
	if (sess_jset(&r, "sid", s->sid, err) < 0 || sess_jset(&r, "domain", s->domain, err) < 0 ||
	    sess_jset(&r, "role", dmg_role_name(s->role), err) < 0 ||
	    sess_jset(&r, "phase", dmg_phase_name(s->phase), err) < 0 ||
	    sess_jset(&r, "peer", s->peer, err) < 0 || sess_jsetu(&r, "disks", s->ndisks, err) < 0 ||
	    (s->reason[0] && sess_jset(&r, "reason", s->reason, err) < 0))
		return err->code;
	n = dmg_jrec_format_line(&r, buf, len, err);
	if (n < 0)
		return n;
	off = (size_t)n;
	for (i = 0; i < s->ndisks; i++) {
		const struct dmg_sess_disk *d = &s->disks[i];
		char v[32];

		dmg_jrec_init_kind(&r, DMG_JK_DISK);
		if (sess_jset(&r, "sid", s->sid, err) < 0 || sess_jset(&r, "target", d->target, err) < 0 ||
		    sess_jset(&r, "path", d->path, err) < 0 || sess_jsetu(&r, "size", d->size, err) < 0)
			return err->code;
		snprintf(v, sizeof(v), "%.1f", d->pct);
		if (sess_jset(&r, "pct", v, err) < 0)
			return err->code;
		snprintf(v, sizeof(v), "%.0f", d->kib_s);
		if (sess_jset(&r, "kib_s", v, err) < 0)
			return err->code;
		snprintf(v, sizeof(v), "%ld", d->eta_s);
		if (sess_jset(&r, "eta_s", v, err) < 0 ||
		    sess_jset(&r, "sync", dmg_repl_mode_name(d->repl), err) < 0)
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
	if (sess_set_phase(s, from, "retried by the admin", err) < 0)
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
