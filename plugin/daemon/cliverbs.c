/* The CLI verbs: status, verify and orphan removal, cancel, cleanup (and
 * fence, from the fence-peer handler, in fencing.c).  Private parts and the
 * locking model: registry_int.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/dm.h"
#include "storage/drbd.h"
#include "storage/drbdconf.h"
#include "storage/lvm.h"
#include "daemon/registry_int.h"

/* ---- CLI verbs ------------------------------------------------------------------------ */

int
reg_buf_add(struct dmg_buf *b, const char *s, size_t n)
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
	return reg_buf_add(b, line, (size_t)n) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
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
		rc = n < 0 ? n : reg_buf_add(body, buf, (size_t)n);
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

	if (dmg_sess_name_sid(name, sid) < 0)
		return 0;
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
	char full[300];

	if (live_sid(v->r, lv->lv))
		return 0;
	snprintf(full, sizeof(full), "%s/%s", lv->vg, lv->lv);
	/* Metadata LVs are ours alone; a tagged data LV may hold the only copy
	 * of a guest's disk: report it, never remove it automatically. */
	if (dmg_sess_name_is_md(lv->lv)) {
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

/* The resource files in DRBD's directory; no directory, no files. */
static int
look_resfiles(struct verify *v, struct dmg_error *err)
{
	DIR *d = opendir(v->r->b->resdir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : dmg_error_sys(err, -errno, "cannot read %s", v->r->b->resdir);
	for (;;) {
		size_t n;
		char res[256];

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = dmg_error_sys(err, -errno, "cannot read %s", v->r->b->resdir);
			break;
		}
		n = strlen(de->d_name);
		if (strncmp(de->d_name, DMG_DRBD_RES_PREFIX, strlen(DMG_DRBD_RES_PREFIX)) != 0 || n < 5 ||
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
	return rc;
}

static int
look_drbd(struct verify *v, struct dmg_error *err)
{
	struct dmg_drbd *d;
	int rc = dmg_drbd_open(&d, err);

	if (rc < 0)
		return rc;
	rc = dmg_drbd_status_all(d, NULL, v_minor, v, err);
	dmg_drbd_close(d);
	return rc;
}

static int
look_dm(struct verify *v, struct dmg_error *err)
{
	return dmg_dm_list_ours(v_dm, v, err);
}

static int
look_lvm(struct verify *v, struct dmg_error *err)
{
	return dmg_lvm_each_tagged(v_lv, v, err);
}

const struct reg_look reg_looks[] = {
	{ "the DRBD status", look_drbd },
	{ "the device-mapper devices", look_dm },
	{ "the LVM volumes", look_lvm },
	{ "the DRBD resource files", look_resfiles },
	{ NULL, NULL },
};

/* The number of leftovers found; or, when any listing could not be read, a
 * negative errno and one line naming each that failed: "clean" is said
 * only of a host that was looked at whole. */
static int
cli_verify(struct dmg_registry *r, int remove, struct dmg_buf *body, struct dmg_error *err)
{
	struct verify v = { .r = r, .body = body, .remove = remove, .err = err };
	struct dmg_error e2 = { 0 };
	const struct reg_look *l;
	struct entry *e;
	char failed[DMG_ERROR_MAX] = "";
	size_t len = 0;
	int code = 0;

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
	for (l = r->looks; l->what; l++) {
		struct dmg_error lerr = { 0 };
		int rc = l->fn(&v, &lerr);

		if (rc >= 0)
			continue;
		dmg_warn(r->log, "verify: cannot read %s: %s", l->what, lerr.msg);
		if (!code)
			code = rc;
		if (len < sizeof(failed))
			len += (size_t)snprintf(failed + len, sizeof(failed) - len, "%s%s (%s)",
						len ? "; " : "", l->what, lerr.msg);
	}
	if (code)
		return dmg_error_set(err, code, "could not look, so this host is not known to be clean: cannot read %s",
				     failed);
	return v.bad;
}

/* The session named by domain name, uuid or sid, with a reference held
 * (reg_entry_put() it). */
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

static int cli_entry_op(struct dmg_registry *r, struct entry *e, enum dmg_verb verb,
			struct dmg_buf *body, struct dmg_error *err);

/* cancel or cleanup (retry) of the session named. */
static int
cli_session_op(struct dmg_registry *r, enum dmg_verb verb, const char *name,
	       struct dmg_buf *body, struct dmg_error *err)
{
	struct entry *e;
	int rc;

	if (!name || !*name)
		return dmg_error_set(err, -EINVAL, "%s: which domain?", dmg_verb_name(verb));
	e = find_named(r, name);
	if (!e)
		return dmg_error_set(err, -ENOENT, "no drbdmig session for '%s' on this host", name);
	rc = cli_entry_op(r, e, verb, body, err);
	reg_entry_put(r, e);
	return rc;
}

static int
cli_entry_op(struct dmg_registry *r, struct entry *e, enum dmg_verb verb, struct dmg_buf *body,
	     struct dmg_error *err)
{
	char line[512];
	int rc, building;

	pthread_mutex_lock(&r->mu);
	building = e->building;
	pthread_mutex_unlock(&r->mu);
	if (building && verb == DMG_VERB_CANCEL) {
		/* The hook thread owns the session: ask it to stop at its next
		 * step or sync poll; it rolls back and refuses the migration. */
		pthread_mutex_lock(&e->s->mu);
		e->s->cancel = 1;
		pthread_mutex_unlock(&e->s->mu);
		dmg_warn(r->log, "session=%s domain=%s: cancel requested while building", e->s->sid,
			 e->s->domain);
		snprintf(line, sizeof(line), "cancel session=%s domain=%s phase=%s requested=1\n",
			 e->s->sid, e->s->domain, dmg_phase_name(e->s->phase));
		return reg_buf_add(body, line, strlen(line)) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
	}
	pthread_mutex_lock(&e->op);
	if (verb == DMG_VERB_CANCEL)
		rc = dmg_sess_cancel(e->s, err);
	else
		rc = dmg_sess_retry(e->s, err);
	pthread_mutex_unlock(&e->op);
	reg_kick(r);
	if (rc < 0)
		return rc;
	snprintf(line, sizeof(line), "%s session=%s domain=%s phase=%s\n", dmg_verb_name(verb),
		 e->s->sid, e->s->domain, dmg_phase_name(e->s->phase));
	return reg_buf_add(body, line, strlen(line)) < 0 ? dmg_error_set(err, -ENOMEM, "out of memory") : 0;
}


int
dmg_registry_cli(struct dmg_registry *r, enum dmg_verb verb, const struct dmg_jrec *req,
		 struct dmg_buf *body, struct dmg_error *err)
{
	const char *target = dmg_jrec_get(req, "target");
	int rc;

	switch (verb) {
	case DMG_VERB_STATUS:
		return cli_status(r, body, err);
	case DMG_VERB_VERIFY:
		return cli_verify(r, 0, body, err);
	case DMG_VERB_CANCEL:
		return cli_session_op(r, verb, target, body, err);
	case DMG_VERB_FENCE_RES:
		return reg_fence(r, target, body, err);
	case DMG_VERB_CLEANUP:
		if (target && strcmp(target, "--orphans") == 0) {
			rc = cli_verify(r, 1, body, err);
			return rc < 0 ? rc : 0;
		}
		return cli_session_op(r, verb, target, body, err);
	default:
		return dmg_error_set(err, -EINVAL, "unknown command '%s'", dmg_verb_name(verb));
	}
}
