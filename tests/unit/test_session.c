/* The session engine against a fake two-host world: storage objects with
 * the ordering constraints the lab found in the real kernel (a Secondary
 * cannot be opened, a DRBD device under a dm table cannot be demoted or taken
 * down, a copy device under DRBD cannot be removed), libvirt domain states,
 * and a peer that calls the other host's engine.  Every run ends by checking
 * that each host holds exactly what it should: the guest's LV where the guest
 * runs, nothing of drbdmig's anywhere.  This is logic only; the kernel lab
 * proves the real storage layer. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/session.h"
#include "storage/backend.h"   /* the storage objects' names, for the fake storage */
#include "unit.h"

#define NOBJ 128

struct fhost {
	const char *name;
	char dir[64];
	char obj[NOBJ][320];
	size_t nobj;
	enum dmg_dom dom;
	int nact;                 /* act calls so far */
	char trace[1024];         /* the verbs acted, comma-terminated, since last cleared */
	int fail_at;              /* fail this act call (1-based), once */
	int crash_at;             /* crash at this act call */
	int crash_after;          /* ... after performing it */
	int dead;
	int virt_down;            /* libvirt unreachable on this host */
	int job;                  /* a migration job runs here */
	int peer_down;            /* calls to this host fail */
	size_t pol_disks;         /* the live policy: disks vda.. on vg0/guest0.. */
	int pol_keep;
	int no_policy;            /* the domain carries no policy here */
	/* this host's answers to calls of verb tamper_verb carry tamper_val
	 * for tamper_key (a peer that lies or is broken); tamper_key NULL: off */
	enum dmg_verb tamper_verb;
	const char *tamper_key, *tamper_val;
	/* state on disk at the crash */
	char snap_obj[NOBJ][320];
	size_t snap_nobj;
	char *snap_journal;
	size_t snap_len;
	char snap_jname[64];
	struct dmg_session *sess; /* this host's session */
	enum dmg_phase closed_phase;
	int closed;
	struct fhost *other;
	struct dmg_sess_env env;
	struct dmg_log log;
};

#define OBJ_MAX 320
#define TOK "00112233445566778899aabbccddeeff"

/* Objects are "kind:name" strings. */
static int
has(struct fhost *h, const char *kind, const char *a)
{
	char o[OBJ_MAX];
	size_t i;

	snprintf(o, sizeof(o), "%s:%s", kind, a);
	for (i = 0; i < h->nobj; i++)
		if (strcmp(h->obj[i], o) == 0)
			return 1;
	return 0;
}

static void
add(struct fhost *h, const char *kind, const char *a)
{
	if (has(h, kind, a) || h->nobj == NOBJ)
		return;
	snprintf(h->obj[h->nobj++], sizeof(h->obj[0]), "%s:%s", kind, a);
}

static void
del(struct fhost *h, const char *kind, const char *a)
{
	char o[OBJ_MAX];
	size_t i;

	snprintf(o, sizeof(o), "%s:%s", kind, a);
	for (i = 0; i < h->nobj; i++)
		if (strcmp(h->obj[i], o) == 0) {
			memmove(h->obj[i], h->obj[h->nobj - 1], sizeof(h->obj[0]));
			h->nobj--;
			return;
		}
}

static int
bad(struct dmg_error *err, const char *what, const char *name)
{
	return dmg_error_set(err, -EBUSY, "fake: %s %s", what, name);
}

/* Writes down what the crash leaves on disk: the journal and the objects. */
static void
snapshot(struct fhost *h)
{
	char path[160];
	size_t len = 0;

	memcpy(h->snap_obj, h->obj, sizeof(h->obj));
	h->snap_nobj = h->nobj;
	free(h->snap_journal);
	h->snap_journal = NULL;
	if (!h->sess)
		return;
	snprintf(path, sizeof(path), "%s/%s.journal", h->dir, h->sess->sid);
	snprintf(h->snap_jname, sizeof(h->snap_jname), "%s.journal", h->sess->sid);
	h->snap_journal = read_file(path, &len);
	h->snap_len = len;
}

static int
fake_storage(struct fhost *h, struct dmg_session *s, const char *verb, int disk,
	     struct dmg_error *err)
{
	struct dmg_sess_disk *d = &s->disks[disk];
	enum dmg_role me = s->role;
	char lv[300], res[64], copy[64], md[64];

	snprintf(lv, sizeof(lv), "%s/%s", d->vg, d->lv);
	dmg_sess_res_name(s, disk, res, sizeof(res));
	dmg_sess_copy_name(s, disk, copy, sizeof(copy));
	dmg_sess_md_name(s, disk, md, sizeof(md));

	if (strcmp(verb, "source-size") == 0) {
		const char *p = strrchr(d->path, '/');

		snprintf(d->vg, sizeof(d->vg), "vg0");
		snprintf(d->lv, sizeof(d->lv), "%s", p ? p + 1 : d->path);
		snprintf(lv, sizeof(lv), "vg0/%s", d->lv);
		if (!has(h, "lv", lv))
			return dmg_error_set(err, -ENOENT, "fake: no LV %s", lv);
		d->size = 64u << 20;
		snprintf(d->side[DMG_ROLE_SRC].host, sizeof(d->side[0].host), "%s", h->name);
		snprintf(d->side[DMG_ROLE_SRC].addr, sizeof(d->side[0].addr), "10.0.0.1");
		d->side[DMG_ROLE_SRC].minor = 100 + (uint32_t)disk;
		d->side[DMG_ROLE_SRC].port = 7800 + (uint32_t)disk;
		return 0;
	}
	if (strcmp(verb, "lv-create") == 0) {
		if (has(h, "lv", lv))
			return dmg_error_set(err, -EEXIST, "fake: LV %s exists", lv);
		add(h, "lv", lv);
		add(h, "tag", lv);
	} else if (strcmp(verb, "lv-remove") == 0) {
		if (has(h, "lv", lv) && !has(h, "tag", lv))
			return bad(err, "refusing untagged LV", lv);
		if (has(h, "swap", lv) || has(h, "copy", copy))
			return bad(err, "LV in use", lv);
		del(h, "lv", lv);
		del(h, "tag", lv);
	} else if (strcmp(verb, "lv-untag") == 0) {
		del(h, "tag", lv);
	} else if (strcmp(verb, "lv-remove-guest") == 0) {
		if (h->dom == DMG_DOM_RUNNING || h->dom == DMG_DOM_PAUSED)
			return bad(err, "guest running on", lv);
		if (has(h, "swap", lv) || has(h, "copy", copy))
			return bad(err, "LV in use", lv);
		del(h, "lv", lv);
	} else if (strcmp(verb, "md-create") == 0) {
		add(h, "md", md);
	} else if (strcmp(verb, "md-remove") == 0) {
		if (has(h, "minor", res))
			return bad(err, "metadata in use", md);
		del(h, "md", md);
	} else if (strcmp(verb, "copy-create") == 0) {
		if (!has(h, "lv", lv))
			return bad(err, "no LV for copy", lv);
		add(h, "copy", copy);
	} else if (strcmp(verb, "copy-remove") == 0) {
		if (has(h, "minor", res))
			return bad(err, "copy held by DRBD", copy);
		del(h, "copy", copy);
	} else if (strcmp(verb, "drbd-up") == 0) {
		if (!has(h, "copy", copy) || !has(h, "md", md))
			return bad(err, "attach without devices", res);
		add(h, "minor", res);
		if (me == DMG_ROLE_SRC)
			add(h, "primary", res);
	} else if (strcmp(verb, "drbd-down") == 0) {
		if (has(h, "swap", lv))
			return bad(err, "DRBD device held by the LV's table", res);
		del(h, "minor", res);
		del(h, "primary", res);
		del(h, "conn", res);
		del(h, "async", res);
		del(h, "two", res);
	} else if (strcmp(verb, "swap-to-drbd") == 0) {
		if (!has(h, "primary", res))
			return bad(err, "cannot open a Secondary", res);
		add(h, "swap", lv);
	} else if (strcmp(verb, "swap-back") == 0) {
		if (has(h, "swap", lv) && !has(h, "copy", copy))
			return bad(err, "no extents to swap back to", lv);
		del(h, "swap", lv);
	} else if (strcmp(verb, "connect") == 0) {
		if (!has(h, "minor", res))
			return bad(err, "connect without minor", res);
		add(h, "conn", res);
		add(h, "async", res);   /* protocol A until protocol-c */
	} else if (strcmp(verb, "disconnect") == 0) {
		del(h, "conn", res);
		del(h, "async", res);
	} else if (strcmp(verb, "wait-synced") == 0) {
		if (!has(h, "conn", res) || !has(h->other, "conn", res))
			return dmg_error_set(err, -ETIMEDOUT, "fake: %s never connected", res);
		d->pct = 100.0;
	} else if (strcmp(verb, "protocol-c") == 0) {
		if (!has(h, "conn", res))
			return bad(err, "net options without connection", res);
		del(h, "async", res);
	} else if (strcmp(verb, "wait-in-sync") == 0) {
		/* in sync under protocol C only once both sides replicate so */
		if (!has(h, "conn", res) || !has(h->other, "conn", res) ||
		    has(h, "async", res) || has(h->other, "async", res))
			return bad(err, "in sync under protocol A", res);
		d->pct = 100.0;
	} else if (strcmp(verb, "two-primaries") == 0) {
		if (!has(h, "conn", res))
			return bad(err, "net options without connection", res);
		if (has(h, "async", res))
			return bad(err, "two primaries under protocol A", res);
		add(h, "two", res);
	} else if (strcmp(verb, "one-primary") == 0) {
		if (has(h, "primary", res) && has(h->other, "primary", res) &&
		    has(h, "conn", res) && has(h->other, "conn", res))
			return bad(err, "one primary while both are", res);
		del(h, "two", res);
	} else if (strcmp(verb, "promote") == 0) {
		if (!has(h, "two", res) || !has(h->other, "two", res))
			return bad(err, "second primary not allowed", res);
		add(h, "primary", res);
	} else if (strcmp(verb, "demote") == 0) {
		if (has(h, "swap", lv))
			return bad(err, "demote while the LV maps DRBD", res);
		del(h, "primary", res);
	} else if (strcmp(verb, "peer-has-all") == 0) {
		/* "alone": a write DRBD here holds and the peer lacks */
		if (!has(h, "minor", res))
			return dmg_error_set(err, -ENODEV, "fake: no DRBD minor for %s", res);
		if (has(h, "alone", res))
			return dmg_error_set(err, -EEXIST, "fake: %s holds writes the peer lacks", res);
	} else {
		return dmg_error_set(err, -ENOSYS, "fake: unknown verb %s", verb);
	}
	return 0;
}

static int
fake_act(void *arg, struct dmg_session *s, const char *verb, int disk, const char *in,
	 char *out, size_t outlen, struct dmg_error *err)
{
	struct fhost *h = arg;
	int rc;

	(void)in;
	(void)out;
	(void)outlen;
	if (h->dead)
		return dmg_error_set(err, -EIO, "fake: host %s is down", h->name);
	h->nact++;
	if (strlen(h->trace) + strlen(verb) + 2 < sizeof(h->trace)) {
		strcat(h->trace, verb);
		strcat(h->trace, ",");
	}
	if (h->nact == h->fail_at)
		return dmg_error_set(err, -EIO, "fake: injected failure of %s", verb);
	if (h->nact == h->crash_at && !h->crash_after) {
		snapshot(h);
		h->dead = 1;
		return dmg_error_set(err, -EIO, "fake: crashed before %s", verb);
	}
	rc = fake_storage(h, s, verb, disk, err);
	if (h->nact == h->crash_at) {
		snapshot(h);
		h->dead = 1;
		return dmg_error_set(err, -EIO, "fake: crashed after %s", verb);
	}
	return rc;
}

static int
fake_dom(void *arg, const char *uuid, enum dmg_dom *st, struct dmg_error *err)
{
	struct fhost *h = arg;

	(void)uuid;
	if (h->dead)
		return dmg_error_set(err, -EIO, "fake: host %s is down", h->name);
	if (h->virt_down)
		return dmg_error_set(err, -ENOTCONN, "fake: libvirt on %s is restarting", h->name);
	*st = h->dom;
	return 0;
}

/* The domain's live policy as this host's libvirt would parse it. */
static int
fake_policy(void *arg, const char *uuid, struct dmg_policy **out, struct dmg_error *err)
{
	struct fhost *h = arg;
	struct dmg_policy *p;
	size_t i;

	(void)uuid;
	*out = NULL;
	if (h->dead)
		return dmg_error_set(err, -EIO, "fake: host %s is down", h->name);
	if (h->no_policy)
		return 0;
	p = calloc(1, sizeof(*p));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p->domain = strdup("guest");
	p->ndisks = h->pol_disks;
	p->disks = calloc(h->pol_disks ? h->pol_disks : 1, sizeof(*p->disks));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->disks);
	for (i = 0; i < h->pol_disks; i++) {
		char path[64];

		snprintf(p->disks[i].target, sizeof(p->disks[i].target), "vd%c", (char)('a' + i));
		snprintf(path, sizeof(path), "/dev/vg0/guest%zu", i);
		p->disks[i].source = strdup(path);
		p->disks[i].resync_rate_kib = 102400;
		p->disks[i].source_after = h->pol_keep ? DMG_SOURCE_KEEP : DMG_SOURCE_REMOVE;
	}
	*out = p;
	return 0;
}

static int
fake_migrating(void *arg, const char *uuid)
{
	struct fhost *h = arg;

	(void)uuid;
	return h->job;
}

static int
fake_peer(void *arg, const struct dmg_session *s, enum dmg_verb verb, const struct dmg_jrec *req,
	  struct dmg_jrec *reply, struct dmg_error *err)
{
	struct fhost *h = arg, *o = h->other;
	struct dmg_session *created = NULL;
	int rc;

	(void)s;
	if (h->dead || o->dead || o->peer_down)
		return dmg_error_set(err, -EHOSTUNREACH, "fake: peer %s unreachable", o->name);
	if (!o->sess && o->closed && verb == DMG_VERB_STATE) {
		dmg_jrec_init(reply, "state");
		dmg_jrec_set(reply, "phase", dmg_phase_name(o->closed_phase), err);
		dmg_jrec_set(reply, "dom", dmg_dom_name(o->dom), err);
		return 0;
	}
	rc = dmg_sess_peer_call(o->sess, h->env.self, verb, req, o->dir, &o->env, &o->log,
				&created, reply, err);
	if (created)
		o->sess = created;
	if (rc == 0 && o->tamper_key && verb == o->tamper_verb)
		rc = dmg_jrec_set(reply, o->tamper_key, o->tamper_val, err);
	return rc;
}

static void
host_init(struct fhost *h, const char *name, const char *ep, struct fhost *other)
{
	memset(h, 0, sizeof(*h));
	h->name = name;
	h->other = other;
	snprintf(h->dir, sizeof(h->dir), "/tmp/dmg-sess-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(h->dir));
	h->env = (struct dmg_sess_env){ .arg = h, .act = fake_act, .dom_state = fake_dom,
					.migrating = fake_migrating, .dom_policy = fake_policy,
					.peer = fake_peer, .self = ep };
	dmg_log_open(&h->log, name, 0, 0, DMG_LOG_ERR);
}

static void
rm_dir_files(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -f %s/*", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void
host_close_sess(struct fhost *h)
{
	if (!h->sess)
		return;
	h->closed = dmg_phase_closed(h->sess->phase);
	h->closed_phase = h->sess->phase;
	dmg_sess_free(h->sess);
	h->sess = NULL;
}

static void
host_fini(struct fhost *h)
{
	host_close_sess(h);
	free(h->snap_journal);
	rm_dir_files(h->dir);
	rmdir(h->dir);
	dmg_log_close(&h->log);
}

struct world {
	struct fhost a, b;        /* a: source, b: destination */
	size_t ndisks;
	int keep;
};

static void
world_init(struct world *w, size_t ndisks, int keep)
{
	size_t i;

	host_init(&w->a, "hostA", "hostA:7780", &w->b);
	host_init(&w->b, "hostB", "hostB:7780", &w->a);
	w->ndisks = ndisks;
	w->keep = keep;
	w->a.pol_disks = w->b.pol_disks = ndisks;
	w->a.pol_keep = w->b.pol_keep = keep;
	w->a.dom = DMG_DOM_RUNNING;
	w->b.dom = DMG_DOM_ABSENT;
	for (i = 0; i < ndisks; i++) {
		char lv[32];

		snprintf(lv, sizeof(lv), "vg0/guest%zu", i);
		add(&w->a, "lv", lv);
	}
}

static int
start_dst(struct world *w)
{
	struct dmg_sess_disk disks[DMG_SESS_DISKS_MAX];
	struct dmg_error err = { 0 };
	size_t i;

	memset(disks, 0, sizeof(disks));
	for (i = 0; i < w->ndisks; i++) {
		struct dmg_sess_disk *d = &disks[i];

		snprintf(d->target, sizeof(d->target), "vd%c", (char)('a' + i));
		snprintf(d->path, sizeof(d->path), "/dev/vg0/guest%zu", i);
		snprintf(d->vg, sizeof(d->vg), "vg0");
		snprintf(d->lv, sizeof(d->lv), "guest%zu", i);
		if (i == 1) {   /* a libvirt pool's volume, thin: both pools journalled */
			snprintf(d->pool, sizeof(d->pool), "lvpool");
			snprintf(d->thin, sizeof(d->thin), "tpool");
		}
		d->keep_source = w->keep;
		d->rate_kib = 102400;
		snprintf(d->side[DMG_ROLE_DST].host, sizeof(d->side[0].host), "hostB");
		snprintf(d->side[DMG_ROLE_DST].addr, sizeof(d->side[0].addr), "10.0.0.2");
		d->side[DMG_ROLE_DST].minor = 100 + (uint32_t)i;
		d->side[DMG_ROLE_DST].port = 7800 + (uint32_t)i;
	}
	return dmg_sess_new_dst(w->b.dir, "0123abcd", "guest", "6c2a0c3e-0000-4000-8000-000000000001",
				"hostA:7780", disks, w->ndisks, "s3cr3t", TOK, &w->b.env,
				&w->b.log, &w->b.sess, &err);
}

/* A world whose migration window is open: overlay built and synced on both. */
static void
world_in_window(struct world *w, size_t ndisks)
{
	struct dmg_error err = { 0 };

	world_init(w, ndisks, 0);
	CU_ASSERT_EQUAL_FATAL(start_dst(w), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_sess_build(w->b.sess, 60, &err), 0);
}

/* What each host holds must be exactly the expected set. */
static int
holds_exactly(struct fhost *h, int want_lv, size_t ndisks)
{
	size_t i;

	if (h->nobj != (want_lv ? ndisks : 0))
		return 0;
	for (i = 0; i < ndisks && want_lv; i++) {
		char lv[32];

		snprintf(lv, sizeof(lv), "vg0/guest%zu", i);
		if (!has(h, "lv", lv))
			return 0;
	}
	return 1;
}

static void
dump(const char *what, struct fhost *h)
{
	size_t i;

	fprintf(stderr, "\n  %s %s (%s):", what, h->name,
		h->sess ? dmg_phase_name(h->sess->phase) : "no session");
	for (i = 0; i < h->nobj; i++)
		fprintf(stderr, " %s", h->obj[i]);
}

/* Drives both hosts' sessions until both are closed (bounded). */
static void
settle_all(struct world *w)
{
	struct dmg_error err;
	int i;

	for (i = 0; i < 20; i++) {
		int a_done = !w->a.sess || dmg_phase_closed(w->a.sess->phase);
		int b_done = !w->b.sess || dmg_phase_closed(w->b.sess->phase);

		if (a_done && b_done)
			return;
		if (!b_done) {
			dmg_sess_note_gone(w->b.sess);
			dmg_sess_settle(w->b.sess, &err);
		}
		if (w->a.sess && !dmg_phase_closed(w->a.sess->phase))
			dmg_sess_src_settle(w->a.sess, 0, &err);
	}
}

/* The migration outcome as libvirt would produce it. */
static void
migrate(struct world *w, int succeed)
{
	if (succeed) {
		w->b.dom = DMG_DOM_PAUSED;
		w->a.dom = DMG_DOM_SHUTOFF;
		w->b.dom = DMG_DOM_RUNNING;
	} else {
		w->b.dom = DMG_DOM_ABSENT;
		w->a.dom = DMG_DOM_RUNNING;
	}
}

/* Success leaves the guest's LV on B only (and on A if keep); failure on A only. */
static int
check_end(struct world *w)
{
	int ok;

	if (w->b.dom == DMG_DOM_RUNNING)
		ok = holds_exactly(&w->b, 1, w->ndisks) && holds_exactly(&w->a, w->keep, w->ndisks);
	else
		ok = holds_exactly(&w->a, 1, w->ndisks) && holds_exactly(&w->b, 0, w->ndisks);
	ok = ok && (!w->a.sess || dmg_phase_closed(w->a.sess->phase)) &&
	     (!w->b.sess || dmg_phase_closed(w->b.sess->phase)) &&
	     !(w->a.sess && w->a.sess->phase == DMG_PH_ATTENTION) &&
	     !(w->b.sess && w->b.sess->phase == DMG_PH_ATTENTION);
	if (!ok) {
		dump("end", &w->a);
		dump("end", &w->b);
	}
	return ok;
}

static void
world_fini(struct world *w)
{
	host_fini(&w->a);
	host_fini(&w->b);
}

static void
test_success(void)
{
	size_t nd;
	int keep;

	for (nd = 1; nd <= 2; nd++)
		for (keep = 0; keep <= 1; keep++) {
			struct world w;
			struct dmg_error err = { 0 };

			world_init(&w, nd, keep);
			CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
			CU_ASSERT_EQUAL(dmg_sess_build(w.b.sess, 60, &err), 0);
			CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_READY);
			CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_READY);
			/* during the window: both primary, both LVs on DRBD */
			CU_ASSERT(has(&w.b, "primary", "drbdmig-0123abcd-0"));
			CU_ASSERT(has(&w.a, "primary", "drbdmig-0123abcd-0"));
			CU_ASSERT(has(&w.a, "swap", "vg0/guest0"));
			CU_ASSERT(has(&w.b, "swap", "vg0/guest0"));
			/* QEMU not yet started on B: settle waits */
			CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
			w.b.dom = DMG_DOM_PAUSED;
			CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
			migrate(&w, 1);
			CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
			CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_DONE);
			CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_DONE);
			CU_ASSERT(check_end(&w));
			world_fini(&w);
		}
}

static void
test_failed_migration(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 2);
	w.b.dom = DMG_DOM_PAUSED;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
	migrate(&w, 0);                  /* QEMU on B died, A resumes */
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

static void
test_cancel(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 1);
	w.b.dom = DMG_DOM_PAUSED;        /* QEMU receiving: cancel refused */
	CU_ASSERT_EQUAL(dmg_sess_cancel(w.b.sess, &err), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "domjobabort"));
	w.b.dom = DMG_DOM_ABSENT;
	CU_ASSERT_EQUAL(dmg_sess_cancel(w.b.sess, &err), 0);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(check_end(&w));
	CU_ASSERT_EQUAL(dmg_sess_cancel(w.b.sess, &err), -EALREADY);
	world_fini(&w);

	world_in_window(&w, 1);
	w.b.dom = DMG_DOM_RUNNING;       /* switched over: cancel refused */
	CU_ASSERT_EQUAL(dmg_sess_mark_switchover(w.b.sess, &err), 0);
	CU_ASSERT_EQUAL(dmg_sess_cancel(w.b.sess, &err), -EBUSY);
	migrate(&w, 1);
	settle_all(&w);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* Neither host runs the guest and no switchover was seen.  One that
 * watched the whole window knows the guest never ran here and rolls back,
 * keeping the source's copy.  A daemon that may have missed the switchover
 * (recovered from its journal, or libvirt reconnected) does the same only
 * when DRBD here shows no write the source lacks, on every disk; else it
 * keeps everything. */
static void
test_neither_runs(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 2);
	w.b.dom = DMG_DOM_PAUSED;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
	w.b.sess->blind = 1;
	w.b.dom = DMG_DOM_SHUTOFF;
	w.a.dom = DMG_DOM_SHUTOFF;
	add(&w.b, "alone", "drbdmig-0123abcd-1");   /* the second disk only */
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ATTENTION);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.b.sess->reason, "keeping both copies"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.b.sess->reason, "holds writes the peer lacks"));
	CU_ASSERT(has(&w.a, "lv", "vg0/guest0"));
	CU_ASSERT(has(&w.b, "lv", "vg0/guest0"));
	CU_ASSERT(has(&w.a, "minor", "drbdmig-0123abcd-0"));   /* nothing torn down */
	CU_ASSERT(has(&w.b, "minor", "drbdmig-0123abcd-1"));
	CU_ASSERT(has(&w.b, "lv", "vg0/guest1"));
	world_fini(&w);

	world_in_window(&w, 1);          /* blind, and DRBD shows nothing alone */
	w.b.dom = DMG_DOM_PAUSED;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
	w.b.sess->blind = 1;
	w.b.dom = DMG_DOM_SHUTOFF;
	w.a.dom = DMG_DOM_SHUTOFF;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.b.sess->reason, "no write the source lacks"));
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(has(&w.a, "lv", "vg0/guest0"));
	CU_ASSERT(check_end(&w));
	world_fini(&w);

	world_in_window(&w, 1);          /* blind, and the minor is gone here */
	w.b.dom = DMG_DOM_PAUSED;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
	w.b.sess->blind = 1;
	w.b.dom = DMG_DOM_SHUTOFF;
	w.a.dom = DMG_DOM_SHUTOFF;
	del(&w.b, "minor", "drbdmig-0123abcd-0");
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ATTENTION);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.b.sess->reason, "no DRBD minor"));
	CU_ASSERT(has(&w.b, "lv", "vg0/guest0"));
	world_fini(&w);

	world_in_window(&w, 1);
	w.b.dom = DMG_DOM_PAUSED;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
	w.b.dom = DMG_DOM_SHUTOFF;
	w.a.dom = DMG_DOM_SHUTOFF;       /* e.g. the source host crashed */
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(has(&w.a, "lv", "vg0/guest0"));
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* The source's daemon is unreachable after the switchover: the destination
 * finishes its side; the source finishes from its journal later. */
static void
test_peer_lost_after_switchover(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 1);
	migrate(&w, 1);
	w.a.peer_down = 1;
	w.b.trace[0] = '\0';
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_DONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.b.sess->reason, "not confirmed"));
	/* The LV leaves DRBD before the link is cut: no guest write waits in
	 * the freeze DRBD's fencing puts on a Primary losing its peer. */
	CU_ASSERT_PTR_NOT_NULL(strstr(w.b.trace, "swap-back,disconnect,one-primary,drbd-down,"));
	w.a.peer_down = 0;
	host_close_sess(&w.b);           /* B's journal is closed now */
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 0, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_DONE);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* The destination's daemon is gone for good before the switchover: the
 * source rolls back alone once it sees the guest running there. */
static void
test_dst_lost_before_switchover(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 1);
	w.a.dom = DMG_DOM_PAUSED;        /* end of memory copy: wait */
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 1, &err), 0);
	w.a.dom = DMG_DOM_RUNNING;
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 1, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(!has(&w.a, "swap", "vg0/guest0"));
	CU_ASSERT(!has(&w.a, "minor", "drbdmig-0123abcd-0"));
	world_fini(&w);
}

/* The replication link broke in the window and the source's fence-peer
 * handler had to stop the guest there (stuck at the switchover): neither host
 * runs it, but the source's copy is known complete, so both roll back. */
static void
test_fenced(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 1);
	w.b.dom = DMG_DOM_PAUSED;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
	w.a.sess->fenced = 1;
	CU_ASSERT_EQUAL(dmg_sess_mark_fenced(w.a.sess, &err), 0);
	w.a.dom = DMG_DOM_SHUTOFF;
	w.b.dom = DMG_DOM_ABSENT;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(check_end(&w));
	world_fini(&w);

	/* the same with the destination's daemon gone: the source alone, and
	 * the flag survives a restart through the journal */
	world_in_window(&w, 1);
	CU_ASSERT_EQUAL(dmg_sess_mark_fenced(w.a.sess, &err), 0);
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/0123abcd.journal", w.a.dir);
		dmg_sess_free(w.a.sess);
		w.a.sess = NULL;
		CU_ASSERT_EQUAL_FATAL(dmg_sess_load(path, &w.a.env, &w.a.log, &w.a.sess, &err), 0);
	}
	CU_ASSERT(w.a.sess->fenced);
	w.a.dom = DMG_DOM_SHUTOFF;
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 1, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(!has(&w.a, "swap", "vg0/guest0"));
	CU_ASSERT(has(&w.a, "lv", "vg0/guest0"));
	world_fini(&w);
}

/* The source lost the link in the window and asked the destination to stop
 * its incoming QEMU (peer verb "fence"): the destination's session is
 * fenced.  While a QEMU is still there it waits (the daemon stops it); then
 * both roll back, and the fenced flag survives a restart of the
 * destination's daemon through its journal.  The source's guest keeps
 * running on its own extents. */
static void
test_fenced_dst(void)
{
	struct world w;
	struct dmg_error err = { 0 };
	char path[160];

	world_in_window(&w, 2);
	w.b.dom = DMG_DOM_PAUSED;        /* incoming QEMU */
	w.b.sess->fenced = 1;
	CU_ASSERT_EQUAL(dmg_sess_mark_fenced(w.b.sess, &err), 0);
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 0);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_READY);
	snprintf(path, sizeof(path), "%s/0123abcd.journal", w.b.dir);
	dmg_sess_free(w.b.sess);
	w.b.sess = NULL;
	CU_ASSERT_EQUAL_FATAL(dmg_sess_load(path, &w.b.env, &w.b.log, &w.b.sess, &err), 0);
	CU_ASSERT(w.b.sess->fenced);
	CU_ASSERT_STRING_EQUAL(w.b.sess->disks[0].pool, "");
	CU_ASSERT_STRING_EQUAL(w.b.sess->disks[1].pool, "lvpool");
	CU_ASSERT_STRING_EQUAL(w.b.sess->disks[0].thin, "");
	CU_ASSERT_STRING_EQUAL(w.b.sess->disks[1].thin, "tpool");
	w.b.dom = DMG_DOM_ABSENT;        /* destroyed */
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.b.sess->reason, "link lost"));
	CU_ASSERT(check_end(&w));
	world_fini(&w);

	/* a switchover journalled before the fence wins: the guest runs here */
	world_in_window(&w, 1);
	migrate(&w, 1);
	CU_ASSERT_EQUAL(dmg_sess_mark_switchover(w.b.sess, &err), 0);
	w.b.sess->fenced = 1;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_DONE);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* The source lost the destination in the window and rolled back alone (its
 * guest ran there); later the guest stopped there too.  The destination,
 * back, finds its guest never ran here and the source rolled back: it rolls
 * back as well instead of asking an admin. */
static void
test_src_rolled_back_alone(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 1);
	w.b.peer_down = 1;
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 1, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	w.b.peer_down = 0;
	w.a.dom = DMG_DOM_SHUTOFF;
	dmg_sess_note_gone(w.b.sess);
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* A finish or close reaching the source after it finished (the destination
 * timed out on a slow step and asked again, or the source's own settle
 * thread finished first) changes nothing: a closed session stays closed. */
static void
test_late_finish(void)
{
	struct world w;
	struct dmg_error err = { 0 };
	struct dmg_jrec req, reply;
	struct dmg_session *none = NULL;
	const char *const verbs[] = { "finish", "close" };
	size_t v, nobj;

	world_in_window(&w, 1);
	migrate(&w, 1);
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_DONE);
	nobj = w.a.nobj;
	for (v = 0; v < 2; v++) {
		dmg_jrec_init(&req, verbs[v]);
		CU_ASSERT_EQUAL(dmg_jrec_set(&req, "sid", "0123abcd", &err), 0);
		CU_ASSERT_EQUAL(dmg_jrec_set(&req, "tok", TOK, &err), 0);
		CU_ASSERT_EQUAL(dmg_sess_peer_call(w.a.sess, "hostB:7780",
						   dmg_verb_lookup(verbs[v], DMG_VERB_PEER), &req,
						   w.a.dir, &w.a.env, &w.a.log, &none, &reply, &err), 0);
		CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_DONE);
		CU_ASSERT_EQUAL(w.a.nobj, nobj);
	}
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* libvirtd restarting on the source at the switchover: the destination's
 * finish call fails there (the source cannot see its guest) and it tears
 * down its side alone; the source's settle, asking while libvirt is still
 * away, waits instead of stopping for an admin, and finishes once it is back. */
static void
test_src_libvirt_away(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 1);
	migrate(&w, 1);
	w.a.virt_down = 1;
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_DONE);
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 0, &err), -ENOTCONN);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_READY);
	w.a.virt_down = 0;
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 0, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_DONE);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* The destination's daemon is gone while the memory is copied: the guest
 * still runs on the source, but the migration could still switch it over,
 * so the source neither rolls back alone nor lets the admin cancel until
 * the migration job has ended. */
static void
test_src_alone_while_migrating(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_in_window(&w, 1);
	w.b.peer_down = 1;
	w.a.job = 1;
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 1, &err), 0);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_READY);
	CU_ASSERT(has(&w.a, "swap", "vg0/guest0"));
	CU_ASSERT_EQUAL(dmg_sess_cancel(w.a.sess, &err), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "domjobabort"));
	w.a.job = 0;                     /* the migration failed: the guest stays */
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 1, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(!has(&w.a, "swap", "vg0/guest0"));
	world_fini(&w);
}

/* `drbdmig cancel` while the destination builds: the build stops at its next
 * step, both hosts roll back, the error says who stopped it. */
static void
test_cancel_building(void)
{
	struct world w;
	struct dmg_error err = { 0 };

	world_init(&w, 2, 0);
	CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
	w.b.sess->cancel = 1;
	CU_ASSERT_EQUAL(dmg_sess_build(w.b.sess, 60, &err), -ECANCELED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cancelled by the admin"));
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* The source's answer to "disk" comes from the network: a number in it
 * that is not plain decimal digits (a sign, a blank; strtoull() reads
 * " -5" as 2^64 - 5) or out of range fails the build, and both roll back. */
static void
test_bad_disk_answer(void)
{
	static const struct { const char *key, *val; } bad[] = {
		{ "size", " -5" }, { "size", "-5" }, { "size", "+5" }, { "size", " 5" },
		{ "size", "0" }, { "size", "5x" }, { "size", "" }, { "size", "18446744073709551616" },
		{ "minor", "-1" }, { "minor", "4294967296" }, { "port", "65536" }, { "port", " 7800" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct world w;
		struct dmg_error err = { 0 };

		world_init(&w, 1, 0);
		CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
		w.a.tamper_verb = DMG_VERB_DISK;
		w.a.tamper_key = bad[i].key;
		w.a.tamper_val = bad[i].val;
		CU_ASSERT_EQUAL(dmg_sess_build(w.b.sess, 60, &err), -EPROTO);
		if (!strstr(err.msg, "answer for disk vda is incomplete"))
			fprintf(stderr, "\n  (%s='%s': %s)\n", bad[i].key, bad[i].val, err.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "answer for disk vda is incomplete"));
		CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
		CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
		CU_ASSERT(check_end(&w));
		world_fini(&w);
	}
}

/* A settle that finds the fresh session first rolls it back (the daemon
 * publishes a session being built with its op lock held so that this cannot
 * happen); a build after that must refuse and change nothing. */
static void
test_build_after_rollback(void)
{
	struct world w;
	struct dmg_error err = { 0 };
	int nb, na;

	world_init(&w, 2, 0);
	CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	nb = w.b.nact;
	na = w.a.nact;
	CU_ASSERT_EQUAL(dmg_sess_build(w.b.sess, 60, &err), -ESTALE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is rolled-back"));
	CU_ASSERT_EQUAL(w.b.nact, nb);
	CU_ASSERT_EQUAL(w.a.nact, na);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* Runs one whole migration with an injection on host h at act k.  Returns
 * 0 when k is past the last act (nothing was injected). */
static int
run_injected(int on_b, int k, int mode, int succeed)
{
	struct world w;
	struct fhost *h;
	struct dmg_error err = { 0 };
	int injected, rc;

	world_init(&w, 2, 0);
	h = on_b ? &w.b : &w.a;
	if (mode == 0) {
		h->fail_at = k;
	} else {
		h->crash_at = k;
		h->crash_after = mode == 2;
	}
	CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
	rc = dmg_sess_build(w.b.sess, 60, &err);
	if (rc == 0) {
		migrate(&w, succeed);
		if (!h->dead)
			settle_all(&w);
	} else {
		migrate(&w, 0);       /* the hook said no: the guest stays on A */
	}
	injected = h->nact >= k;
	if (h->dead) {
		/* Restart the crashed host from what was on its disk. */
		host_close_sess(h);
		rm_dir_files(h->dir);
		memcpy(h->obj, h->snap_obj, sizeof(h->obj));
		h->nobj = h->snap_nobj;
		h->dead = 0;
		h->closed = 0;
		if (h->snap_journal) {
			char path[160];
			FILE *f;

			snprintf(path, sizeof(path), "%s/%s", h->dir, h->snap_jname);
			f = fopen(path, "w");
			CU_ASSERT_PTR_NOT_NULL_FATAL(f);
			CU_ASSERT_EQUAL(fwrite(h->snap_journal, 1, h->snap_len, f), h->snap_len);
			fclose(f);
			CU_ASSERT_EQUAL(dmg_sess_load(path, &h->env, &h->log, &h->sess, &err), 0);
		}
		settle_all(&w);
	} else if (mode == 0 && (w.a.sess || w.b.sess)) {
		/* An injected failure in a teardown step leaves the session for
		 * `drbdmig cleanup`: a second pass (no failure now) finishes it. */
		if (w.a.sess && w.a.sess->phase == DMG_PH_ATTENTION)
			dmg_sess_retry(w.a.sess, &err);
		if (w.b.sess && w.b.sess->phase == DMG_PH_ATTENTION)
			dmg_sess_retry(w.b.sess, &err);
		settle_all(&w);
	}
	if (!check_end(&w))
		fprintf(stderr, "\n  (injection: host %s act %d mode %d outcome %s)\n",
			h->name, k, mode, succeed ? "success" : "failure");
	CU_ASSERT(check_end(&w));
	world_fini(&w);
	return injected;
}

/* Every act of both hosts, for both outcomes; each host performs some 15-20
 * acts for two disks, so fewer runs would mean the loop stopped early. */
static void
inject_everywhere(int mode)
{
	int on_b, k, succeed, runs = 0;

	for (on_b = 0; on_b <= 1; on_b++)
		for (succeed = 0; succeed <= 1; succeed++)
			for (k = 1; k < 80; k++) {
				if (!run_injected(on_b, k, mode, succeed))
					break;
				runs++;
			}
	fprintf(stderr, " [%d injected runs]", runs);
	CU_ASSERT(runs >= 4 * 14);
}

static void
test_fail_every_step(void)
{
	inject_everywhere(0);
}

static void
test_crash_before_every_step(void)
{
	inject_everywhere(1);
}

static void
test_crash_after_every_step(void)
{
	inject_everywhere(2);
}

static void
test_journal_damage(void)
{
	struct world w;
	struct dmg_session *s = NULL;
	struct dmg_error err = { 0 };
	char path[160];
	FILE *f;

	world_init(&w, 1, 0);
	CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
	snprintf(path, sizeof(path), "%s/0123abcd.journal", w.b.dir);
	f = fopen(path, "r+");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, 10, SEEK_SET);
	fputc('#', f);                   /* damage the first record */
	fclose(f);
	CU_ASSERT(dmg_sess_load(path, &w.b.env, &w.b.log, &s, &err) < 0);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
	world_fini(&w);
}

static int
count_rec(const struct dmg_jrec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

/* Both daemons die in the window while appending a record (power loss
 * during its fdatasync): each journal ends in half a line.  Loading cuts it
 * off, and the sessions settle, appending on clean lines. */
static void
test_journal_torn_recovered(void)
{
	struct fhost *hosts[2];
	struct world w;
	struct dmg_error err = { 0 };
	int i, loaded[2] = { 0, 0 };

	world_init(&w, 1, 0);
	hosts[0] = &w.a;
	hosts[1] = &w.b;
	CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_sess_build(w.b.sess, 60, &err), 0);
	host_close_sess(&w.a);
	host_close_sess(&w.b);
	migrate(&w, 1);
	for (i = 0; i < 2; i++) {
		struct fhost *h = hosts[i];
		struct stat st;
		char path[160];
		int torn = 0;
		off_t good;
		FILE *f;

		snprintf(path, sizeof(path), "%s/0123abcd.journal", h->dir);
		CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
		good = st.st_size;
		f = fopen(path, "a");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs("99 0badf00d begin verb=sw", f);
		fclose(f);
		CU_ASSERT_EQUAL_FATAL(dmg_sess_load(path, &h->env, &h->log, &h->sess, &err), 0);
		CU_ASSERT_EQUAL(stat(path, &st), 0);
		CU_ASSERT_EQUAL(st.st_size, good);
		CU_ASSERT_EQUAL(dmg_journal_replay(path, count_rec, &loaded[i], &torn, &err), 0);
		CU_ASSERT_EQUAL(torn, 0);
	}
	settle_all(&w);
	CU_ASSERT(check_end(&w));
	for (i = 0; i < 2; i++) {
		char path[160];
		int torn = 1, n = 0;

		/* what settling appended replays whole, after the old records */
		snprintf(path, sizeof(path), "%s/0123abcd.journal", hosts[i]->dir);
		CU_ASSERT_EQUAL(dmg_journal_replay(path, count_rec, &n, &torn, &err), 0);
		CU_ASSERT_EQUAL(torn, 0);
		CU_ASSERT(n > loaded[i]);
	}
	world_fini(&w);
}

static void
test_status_lines(void)
{
	struct world w;
	struct dmg_error err = { 0 };
	char buf[4096];

	world_init(&w, 2, 1);
	CU_ASSERT_EQUAL_FATAL(start_dst(&w), 0);
	CU_ASSERT_EQUAL(dmg_sess_build(w.b.sess, 60, &err), 0);
	CU_ASSERT(dmg_sess_status_lines(w.b.sess, buf, sizeof(buf), &err) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "phase=ready"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "target=vdb"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "pct=100.0"));
	migrate(&w, 1);
	settle_all(&w);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* One peer call to the source as caller, straight into its engine. */
static int
src_call(struct world *w, const char *caller, const char *verb, const char *const *kv,
	 struct dmg_jrec *reply, struct dmg_error *err)
{
	struct dmg_session *created = NULL;
	struct dmg_jrec req;
	int rc;

	dmg_jrec_init(&req, verb);
	for (; kv && kv[0]; kv += 2)
		CU_ASSERT_EQUAL_FATAL(dmg_jrec_set(&req, kv[0], kv[1], err), 0);
	rc = dmg_sess_peer_call(w->a.sess, caller, dmg_verb_lookup(verb, DMG_VERB_PEER), &req,
				w->a.dir, &w->a.env, &w->a.log, &created, reply, err);
	if (created)
		w->a.sess = created;
	return rc;
}

static const char *const open_kv[] = { "sid", "0123abcd", "tok", TOK, "uuid", "u-1",
				       "secret", "s3cr3t", "ndisks", "1", NULL };

static size_t
journals_in(const char *dir)
{
	char cmd[256], *out;
	size_t len = 0, n;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c journal > %s/.count", dir, dir);
	CU_ASSERT(system(cmd) >= 0);
	snprintf(cmd, sizeof(cmd), "%s/.count", dir);
	out = read_file(cmd, &len);
	n = out ? strtoul(out, NULL, 10) : 0;
	free(out);
	unlink(cmd);
	return n;
}

/* The source takes a disk's LV and policy from its own libvirt: the path
 * (and keep/rate) in a request are ignored, a target the domain does not
 * annotate is refused before any step, and a domain without the policy
 * gets no session at all. */
static void
test_src_own_disks(void)
{
	const char *const other[] = { "sid", "0123abcd", "tok", TOK, "i", "0", "target", "vda",
				      "path", "/dev/vg0/other", "keep", "1", "dhost", "hostB",
				      "daddr", "10.0.0.2", "dminor", "100", "dport", "7800", NULL };
	const char *const unannotated[] = { "sid", "0123abcd", "tok", TOK, "i", "0", "target", "vdz",
					    "path", "/dev/vg0/guest0", "dhost", "hostB",
					    "daddr", "10.0.0.2", "dminor", "100", "dport", "7800", NULL };
	struct world w;
	struct dmg_error err = { 0 };
	struct dmg_jrec reply;
	int nact;

	world_init(&w, 1, 0);
	add(&w.a, "lv", "vg0/other");
	w.a.no_policy = 1;
	CU_ASSERT_EQUAL(src_call(&w, "hostB:7780", "open", open_kv, &reply, &err), -EPERM);
	CU_ASSERT_PTR_NULL(w.a.sess);
	CU_ASSERT_EQUAL(journals_in(w.a.dir), 0);
	w.a.no_policy = 0;
	CU_ASSERT_EQUAL_FATAL(src_call(&w, "hostB:7780", "open", open_kv, &reply, &err), 0);
	CU_ASSERT_STRING_EQUAL(w.a.sess->peer, "hostB:7780");
	CU_ASSERT_STRING_EQUAL(w.a.sess->domain, "guest");
	nact = w.a.nact;
	CU_ASSERT_EQUAL(src_call(&w, "hostB:7780", "disk", unannotated, &reply, &err), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "vdz"));
	CU_ASSERT_EQUAL(w.a.nact, nact);
	CU_ASSERT_EQUAL(src_call(&w, "hostB:7780", "disk", other, &reply, &err), 0);
	CU_ASSERT_STRING_EQUAL(w.a.sess->disks[0].path, "/dev/vg0/guest0");
	CU_ASSERT_STRING_EQUAL(w.a.sess->disks[0].lv, "guest0");
	CU_ASSERT_EQUAL(w.a.sess->disks[0].keep_source, 0);
	CU_ASSERT(has(&w.a, "lv", "vg0/other"));
	CU_ASSERT(has(&w.a, "lv", "vg0/guest0"));
	CU_ASSERT(has(&w.a, "swap", "vg0/guest0"));
	CU_ASSERT(!has(&w.a, "swap", "vg0/other"));
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 1, &err), 1);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_ROLLED_BACK);
	CU_ASSERT(has(&w.a, "lv", "vg0/other"));
	CU_ASSERT(has(&w.a, "lv", "vg0/guest0"));
	CU_ASSERT_EQUAL(w.a.nobj, 2);
	world_fini(&w);
}

/* The destination has begun its teardown (finishing) and its finish call
 * is on its way when the guest's events there make the source settle: the
 * source waits for the destination to drive it (finish, the destination's
 * leave, close) instead of tearing down alone, which would disconnect DRBD
 * under the guest now running on the destination and hold the session the
 * finish call needs.  The same between finish and close. */
static void
test_src_waits_for_dst_teardown(void)
{
	const char *const kv[] = { "sid", "0123abcd", "tok", TOK, NULL };
	struct world w;
	struct dmg_error err = { 0 };
	struct dmg_jrec reply;

	world_in_window(&w, 1);
	migrate(&w, 1);
	w.b.sess->phase = DMG_PH_FINISHING;   /* as finish_dst sets it before its call */
	w.a.trace[0] = '\0';
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 0, &err), 0);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_READY);
	CU_ASSERT_STRING_EQUAL(w.a.trace, "");
	CU_ASSERT_EQUAL(src_call(&w, "hostB:7780", "finish", kv, &reply, &err), 0);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_FINISHING);
	w.a.trace[0] = '\0';
	CU_ASSERT_EQUAL(dmg_sess_src_settle(w.a.sess, 0, &err), 0);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_FINISHING);
	CU_ASSERT_STRING_EQUAL(w.a.trace, "");
	/* The destination's own teardown then closes both. */
	CU_ASSERT_EQUAL(dmg_sess_settle(w.b.sess, &err), 1);
	CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_DONE);
	CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_DONE);
	CU_ASSERT_PTR_NULL(strstr(w.b.sess->reason, "not confirmed"));
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* A session answers only its own peer, and only with its handle: another
 * configured peer, or the right one without the handle, changes nothing. */
static void
test_caller_binding(void)
{
	const char *const right[] = { "sid", "0123abcd", "tok", TOK, NULL };
	const char *const wrong_tok[] = { "sid", "0123abcd", "tok", "00112233445566778899aabbccddeef0", NULL };
	const char *const no_tok[] = { "sid", "0123abcd", NULL };
	const char *const verbs[] = { "rollback", "finish", "close", "state", "sync", "dual" };
	struct world w;
	struct dmg_error err = { 0 };
	struct dmg_jrec reply, req;
	size_t v, nobj;

	world_in_window(&w, 1);
	nobj = w.a.nobj;
	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		CU_ASSERT_EQUAL(src_call(&w, "hostC:7780", verbs[v], right, &reply, &err), -EACCES);
		CU_ASSERT_EQUAL(src_call(&w, "hostB:7780", verbs[v], wrong_tok, &reply, &err), -EACCES);
		CU_ASSERT_EQUAL(src_call(&w, "hostB:7780", verbs[v], no_tok, &reply, &err), -EACCES);
		CU_ASSERT_EQUAL(src_call(&w, NULL, verbs[v], right, &reply, &err), -EACCES);
		CU_ASSERT_EQUAL(w.a.sess->phase, DMG_PH_READY);
		CU_ASSERT_EQUAL(w.a.nobj, nobj);
	}
	/* The destination's calls from the source are bound the same way. */
	dmg_jrec_init(&req, "fence");
	CU_ASSERT_EQUAL(dmg_jrec_set(&req, "sid", "0123abcd", &err), 0);
	CU_ASSERT_EQUAL(dmg_jrec_set(&req, "tok", TOK, &err), 0);
	CU_ASSERT_EQUAL(dmg_sess_check_caller(w.b.sess, "hostA:7780", &req, &err), 0);
	CU_ASSERT_EQUAL(dmg_sess_check_caller(w.b.sess, "hostC:7780", &req, &err), -EACCES);
	/* A second open of the same session from anyone is refused too. */
	CU_ASSERT_EQUAL(src_call(&w, "hostC:7780", "open", open_kv, &reply, &err), -EEXIST);
	CU_ASSERT_EQUAL(src_call(&w, "hostB:7780", "state", right, &reply, &err), 0);
	migrate(&w, 1);
	settle_all(&w);
	CU_ASSERT(check_end(&w));
	world_fini(&w);
}

/* ---- the step table (core/steprow.c, engine/steps.c) ------------------------- */

/* Journal names are unique, round-trip and fit the ledger's verb field. */
static void
test_steps_names(void)
{
	int i, k;

	for (i = 0; i < DMG_STEP_MAX; i++) {
		const struct dmg_step_row *r = dmg_step_row((enum dmg_step)i);

		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT(strlen(r->name) > 0 && strlen(r->name) < sizeof(((struct dmg_sess_act *)0)->verb));
		CU_ASSERT_EQUAL(dmg_step_parse(r->name), i);
		CU_ASSERT_STRING_EQUAL(dmg_step_name((enum dmg_step)i), r->name);
		CU_ASSERT(r->on != 0 && (r->on & ~(DMG_STEP_ON_SRC | DMG_STEP_ON_DST)) == 0);
		for (k = i + 1; k < DMG_STEP_MAX; k++)
			CU_ASSERT(strcmp(r->name, dmg_step_name((enum dmg_step)k)) != 0);
	}
	CU_ASSERT_EQUAL(dmg_step_parse("lv-create "), DMG_STEP_NONE);
	CU_ASSERT_EQUAL(dmg_step_parse(""), DMG_STEP_NONE);
	CU_ASSERT_EQUAL(dmg_step_parse(NULL), DMG_STEP_NONE);
	CU_ASSERT_PTR_NULL(dmg_step_row(DMG_STEP_NONE));
	CU_ASSERT_PTR_NULL(dmg_step_row(DMG_STEP_MAX));
	CU_ASSERT_STRING_EQUAL(dmg_step_name(DMG_STEP_MAX), "?");
	/* the session calls (core/verb.c): "fence" is none of them */
	for (i = DMG_VERB_OPEN; i <= DMG_VERB_ROLLBACK; i++)
		CU_ASSERT(dmg_verb_is_session(dmg_verb_lookup(dmg_verb_name((enum dmg_verb)i),
							      DMG_VERB_PEER)));
	CU_ASSERT(!dmg_verb_is_session(dmg_verb_lookup("fence", DMG_VERB_PEER)));
	CU_ASSERT_EQUAL(dmg_verb_lookup(NULL, DMG_VERB_PEER), DMG_VERB_NONE);
}

/* The undo pairs journals of older versions were written with, exactly. */
static void
test_steps_undo_pairs(void)
{
	static const char *const pairs[][2] = {
		{ "lv-create", "lv-remove" }, { "md-create", "md-remove" },
		{ "copy-create", "copy-remove" }, { "drbd-up", "drbd-down" },
		{ "swap-to-drbd", "swap-back" }, { "connect", "disconnect" },
		{ "two-primaries", "one-primary" }, { "promote", "demote" },
	};
	size_t i, npairs = 0;
	int s;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		CU_ASSERT_STRING_EQUAL(dmg_step_name(dmg_step_undo(dmg_step_parse(pairs[i][0]))),
				       pairs[i][1]);
	for (s = 0; s < DMG_STEP_MAX; s++) {
		const struct dmg_step_row *r = dmg_step_row((enum dmg_step)s), *u;

		if (r->undo == DMG_STEP_NONE) {
			/* no undo: a check, a teardown step, or said on purpose */
			CU_ASSERT(r->kind != DMG_STEP_BUILD || r->no_undo);
			CU_ASSERT_EQUAL(r->undo_first, DMG_STEP_NONE);
			continue;
		}
		npairs++;
		CU_ASSERT_EQUAL(r->kind, DMG_STEP_BUILD);
		CU_ASSERT(!r->no_undo);
		u = dmg_step_row(r->undo);
		CU_ASSERT_PTR_NOT_NULL_FATAL(u);
		/* an undo is itself never undone, finds its object possibly
		 * gone, and runs wherever its step ran */
		CU_ASSERT_EQUAL(u->kind, DMG_STEP_TEARDOWN);
		CU_ASSERT_EQUAL(u->undo, DMG_STEP_NONE);
		CU_ASSERT(u->gone_ok);
		CU_ASSERT_EQUAL(u->on & r->on, r->on);
		if (r->undo_first != DMG_STEP_NONE) {
			CU_ASSERT_EQUAL(dmg_step_row(r->undo_first)->kind, DMG_STEP_TEARDOWN);
			CU_ASSERT_EQUAL(dmg_step_row(r->undo_first)->on & r->on, r->on);
		}
	}
	CU_ASSERT_EQUAL(npairs, sizeof(pairs) / sizeof(pairs[0]));
	/* the one undo with a step before it: leaving the window */
	{
		enum dmg_step u[2];

		CU_ASSERT_EQUAL(dmg_step_undo_steps(DMG_STEP_TWO_PRIMARIES, u), 2);
		CU_ASSERT_EQUAL(u[0], DMG_STEP_DISCONNECT);
		CU_ASSERT_EQUAL(u[1], DMG_STEP_ONE_PRIMARY);
		CU_ASSERT_EQUAL(dmg_step_undo_steps(DMG_STEP_WAIT_SYNCED, u), 0);
		CU_ASSERT_EQUAL(dmg_step_undo_steps(DMG_STEP_NONE, u), 0);
	}
}

/* Build sequences hold build steps of their host, each undoable or marked
 * as not needing it; teardown sequences hold teardown steps. */
static void
test_steps_sequences(void)
{
	static const struct { enum dmg_seq q; int build; unsigned on; } want[] = {
		{ DMG_SEQ_DST_UP, 1, DMG_STEP_ON_DST }, { DMG_SEQ_SRC_UP, 1, DMG_STEP_ON_SRC },
		{ DMG_SEQ_CONNECT, 1, DMG_STEP_ON_SRC | DMG_STEP_ON_DST },
		{ DMG_SEQ_SYNC, 1, DMG_STEP_ON_DST },
		{ DMG_SEQ_SRC_SYNC, 1, DMG_STEP_ON_SRC }, { DMG_SEQ_DST_SYNC, 1, DMG_STEP_ON_DST },
		{ DMG_SEQ_DST_WINDOW, 1, DMG_STEP_ON_DST }, { DMG_SEQ_SRC_WINDOW, 1, DMG_STEP_ON_SRC },
		{ DMG_SEQ_SRC_LEAVE, 0, DMG_STEP_ON_SRC }, { DMG_SEQ_DST_LEAVE, 0, DMG_STEP_ON_DST },
		{ DMG_SEQ_DST_LEAVE_ALONE, 0, DMG_STEP_ON_DST },
		{ DMG_SEQ_SRC_CLEAN, 0, DMG_STEP_ON_SRC }, { DMG_SEQ_DST_CLEAN, 0, DMG_STEP_ON_DST },
		{ DMG_SEQ_SRC_DROP, 0, DMG_STEP_ON_SRC },
	};
	size_t i, k, n;

	CU_ASSERT_EQUAL(sizeof(want) / sizeof(want[0]), DMG_SEQ_MAX);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const enum dmg_step *st = dmg_seq_steps(want[i].q, &n);

		CU_ASSERT_PTR_NOT_NULL_FATAL(st);
		CU_ASSERT(n > 0);
		CU_ASSERT_STRING_NOT_EQUAL(dmg_seq_name(want[i].q), "?");
		for (k = 0; k < n; k++) {
			const struct dmg_step_row *r = dmg_step_row(st[k]);

			CU_ASSERT_PTR_NOT_NULL_FATAL(r);
			CU_ASSERT_EQUAL(r->on & want[i].on, want[i].on);
			if (want[i].build) {
				CU_ASSERT_EQUAL(r->kind, DMG_STEP_BUILD);
				CU_ASSERT(r->undo != DMG_STEP_NONE || r->no_undo);
			} else {
				CU_ASSERT_EQUAL(r->kind, DMG_STEP_TEARDOWN);
				CU_ASSERT(r->gone_ok);
			}
		}
	}
	CU_ASSERT_PTR_NULL(dmg_seq_steps(DMG_SEQ_MAX, &n));
	CU_ASSERT_EQUAL(n, 0);
}

struct jsteps {
	enum dmg_step step[256];
	int disk[256];
	size_t n, rb;           /* rb: index of the first begin after rolling-back */
};

static int
collect_begin(const struct dmg_jrec *r, void *arg)
{
	struct jsteps *j = arg;
	const char *name = dmg_jrec_get(r, "name"), *disk = dmg_jrec_get(r, "disk");

	if (strcmp(r->step, "phase") == 0 && name && strcmp(name, "rolling-back") == 0)
		j->rb = j->n;
	if (strcmp(r->step, "begin") == 0 && j->n < 256) {
		j->step[j->n] = dmg_step_parse(dmg_jrec_get(r, "verb"));
		j->disk[j->n++] = disk ? atoi(disk) : -1;
	}
	return 0;
}

/* A destination cancelled in the window, 2 disks: its journal's rollback
 * is the exact reverse of its build ledger, each step replaced by its
 * undo steps from the table; for one disk that is the order of old. */
static void
test_steps_rollback_reverse(void)
{
	static const char *const one_disk[] = {
		"swap-back", "demote", "disconnect", "one-primary", "disconnect",
		"drbd-down", "copy-remove", "md-remove", "lv-remove",
	};
	size_t ndisks, i, k, m;

	for (ndisks = 1; ndisks <= 2; ndisks++) {
		struct jsteps j = { .rb = (size_t)-1 };
		struct dmg_error err = { 0 };
		struct world w;
		int torn = 0;

		world_in_window(&w, ndisks);
		w.b.dom = DMG_DOM_ABSENT;
		CU_ASSERT_EQUAL(dmg_sess_cancel(w.b.sess, &err), 0);
		CU_ASSERT_EQUAL(w.b.sess->phase, DMG_PH_ROLLED_BACK);
		CU_ASSERT_EQUAL(dmg_journal_replay(w.b.sess->jpath, collect_begin, &j, &torn, &err), 0);
		CU_ASSERT_FATAL(j.rb != (size_t)-1 && j.rb <= j.n);
		m = j.rb;
		for (i = j.rb; i-- > 0;) {
			enum dmg_step u[2];
			size_t nu = dmg_step_undo_steps(j.step[i], u);

			for (k = 0; k < nu; k++, m++) {
				CU_ASSERT_FATAL(m < j.n);
				CU_ASSERT_EQUAL(j.step[m], u[k]);
				CU_ASSERT_EQUAL(j.disk[m], j.disk[i]);
			}
		}
		CU_ASSERT_EQUAL(m, j.n);
		if (ndisks == 1) {
			CU_ASSERT_EQUAL_FATAL(j.n - j.rb, sizeof(one_disk) / sizeof(one_disk[0]));
			for (i = 0; i < j.n - j.rb; i++)
				CU_ASSERT_STRING_EQUAL(dmg_step_name(j.step[j.rb + i]), one_disk[i]);
		}
		CU_ASSERT(check_end(&w));
		world_fini(&w);
	}
}

/* Roles and phases by name: every name parses back to its enum, the names
 * differ, and anything else is refused ("?" for an out-of-range enum). */
static void
test_model_names(void)
{
	static const char *const phases[] = { "building", "syncing", "ready", "finishing",
		"rolling-back", "done", "rolled-back", "attention" };
	enum dmg_phase p;
	enum dmg_role r;
	int i;

	CU_ASSERT_EQUAL(sizeof(phases) / sizeof(phases[0]), DMG_PH_MAX);
	for (i = 0; i < DMG_PH_MAX; i++) {
		CU_ASSERT_STRING_EQUAL(dmg_phase_name((enum dmg_phase)i), phases[i]);
		CU_ASSERT_EQUAL(dmg_phase_parse(phases[i], &p), 0);
		CU_ASSERT_EQUAL(p, (enum dmg_phase)i);
	}
	CU_ASSERT_EQUAL(dmg_role_parse("src", &r), 0);
	CU_ASSERT_EQUAL(r, DMG_ROLE_SRC);
	CU_ASSERT_EQUAL(dmg_role_parse("dst", &r), 0);
	CU_ASSERT_EQUAL(r, DMG_ROLE_DST);
	CU_ASSERT_STRING_EQUAL(dmg_role_name(DMG_ROLE_SRC), "src");
	CU_ASSERT_STRING_EQUAL(dmg_role_name(DMG_ROLE_DST), "dst");
	CU_ASSERT_STRING_EQUAL(dmg_role_name((enum dmg_role)2), "?");
	CU_ASSERT_STRING_EQUAL(dmg_phase_name(DMG_PH_MAX), "?");
	p = DMG_PH_READY;
	r = DMG_ROLE_DST;
	CU_ASSERT_EQUAL(dmg_phase_parse("Done", &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_phase_parse("", &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_phase_parse("?", &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_phase_parse(NULL, &p), -EINVAL);
	CU_ASSERT_EQUAL(dmg_role_parse("source", &r), -EINVAL);
	CU_ASSERT_EQUAL(dmg_role_parse(NULL, &r), -EINVAL);
	CU_ASSERT_EQUAL(p, DMG_PH_READY);   /* untouched on refusal */
	CU_ASSERT_EQUAL(r, DMG_ROLE_DST);
}

void
register_session_tests(void)
{
	CU_pSuite s = CU_add_suite("session", NULL, NULL);

	CU_add_test(s, "success, 1-2 disks, keep and remove", test_success);
	CU_add_test(s, "failed migration rolls back", test_failed_migration);
	CU_add_test(s, "cancel before and after switchover", test_cancel);
	CU_add_test(s, "guest on neither host: rollback or attention", test_neither_runs);
	CU_add_test(s, "a malformed number in the source's disk answer fails the build", test_bad_disk_answer);
	CU_add_test(s, "source unreachable after switchover", test_peer_lost_after_switchover);
	CU_add_test(s, "source waits for the destination's teardown", test_src_waits_for_dst_teardown);
	CU_add_test(s, "destination lost before switchover", test_dst_lost_before_switchover);
	CU_add_test(s, "link fenced in the window: source copy kept", test_fenced);
	CU_add_test(s, "destination fenced: its QEMU stopped, both roll back", test_fenced_dst);
	CU_add_test(s, "source rolled back alone: the destination follows", test_src_rolled_back_alone);
	CU_add_test(s, "cancel while building: both roll back", test_cancel_building);
	CU_add_test(s, "build refused on a rolled-back session", test_build_after_rollback);
	CU_add_test(s, "late finish or close on the source: no effect", test_late_finish);
	CU_add_test(s, "libvirt away on the source at the switchover: waits", test_src_libvirt_away);
	CU_add_test(s, "source alone while a migration job runs: waits", test_src_alone_while_migrating);
	CU_add_test(s, "failure injected at every step", test_fail_every_step);
	CU_add_test(s, "crash before every step, recovery", test_crash_before_every_step);
	CU_add_test(s, "crash after every step, recovery", test_crash_after_every_step);
	CU_add_test(s, "damaged journal refused", test_journal_damage);
	CU_add_test(s, "torn last record cut off, sessions settle", test_journal_torn_recovered);
	CU_add_test(s, "status lines", test_status_lines);
	CU_add_test(s, "source takes its disks from its own libvirt", test_src_own_disks);
	CU_add_test(s, "a session answers only its peer, with its handle", test_caller_binding);
	CU_add_test(s, "roles and phases by name", test_model_names);

	s = CU_add_suite("steps", NULL, NULL);
	CU_add_test(s, "journal names unique, round trip", test_steps_names);
	CU_add_test(s, "undo pairs", test_steps_undo_pairs);
	CU_add_test(s, "sequences: build undoable, teardown idempotent", test_steps_sequences);
	CU_add_test(s, "rollback is the reverse of the build ledger", test_steps_rollback_reverse);
}
