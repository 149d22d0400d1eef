/* The daemon's session table: who may call, entry lifetimes (references,
 * reaping) alone and under concurrent peer, CLI, settle-thread and other
 * threads' use, `verify`'s answer when a listing cannot be read, and the
 * destination's reading of the source's answer to "probe".  No
 * libvirt, no peer channel, storage in dry-run (verify's listings stood in
 * for): sessions come from journals written here, as a restarted daemon
 * finds them.  Run under ASan (`make check` with
 * --enable-sanitizers) and helgrind (tests/run-tests.sh's valgrind stage),
 * the reference counting is what keeps a closed entry from being freed
 * under a caller. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/backend.h"
#include "core/journal.h"
#include "core/verb.h"
#include "daemon/handler.h"
#include "daemon/registry.h"
#include "daemon/registry_int.h"   /* the table's insides, to look at them */
#include "unit.h"

#define NSESS   6
#define NCALLER 3
#define TOK     "00112233445566778899aabbccddeeff"
#define PEER    "10.0.0.2"

static void
put(struct dmg_journal *j, const char *step, const char *const *kv)
{
	struct dmg_error err = { 0 };
	struct dmg_jrec r;

	dmg_jrec_init(&r, step);
	for (; kv[0]; kv += 2)
		CU_ASSERT_EQUAL_FATAL(dmg_jrec_set(&r, kv[0], kv[1], &err), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_journal_append(j, &r, &err), 0);
}

/* A source session's journal ending in phase (as a daemon left it). */
static void
write_journal(const char *dir, const char *sid, const char *phase)
{
	struct dmg_error err = { 0 };
	struct dmg_journal *j = NULL;
	char path[256];
	const char *const sess[] = { "sid", sid, "role", "src", "domain", "g", "uuid",
				     "6c2a0c3e-0000-4000-8000-000000000001", "peer", PEER ":7780",
				     "secret", "00", "tok", TOK, "ndisks", "1", NULL };
	const char *const disk[] = { "i", "0", "target", "vda", "path", "/dev/vg0/g", "vg", "vg0",
				     "lv", "g", "size", "1048576", NULL };
	const char *const side[] = { "i", "0", "role", "src", "host", "a", "addr", "10.0.0.1",
				     "minor", "0", "port", "0", NULL };
	const char *const ph[] = { "name", phase, NULL };

	snprintf(path, sizeof(path), "%s/%s.journal", dir, sid);
	CU_ASSERT_EQUAL_FATAL(dmg_journal_open(path, 1, &j, &err), 0);
	put(j, "session", sess);
	put(j, "disk", disk);
	put(j, "side", side);
	put(j, "phase", ph);
	dmg_journal_close(j);
}

struct world {
	char dir[64];
	struct dmg_backend b;
	struct dmg_log log;
	struct dmg_registry *r;
};

static void
world_up(struct world *w, const char *phase)
{
	struct dmg_reg_conf rc = { .sync_timeout = 60, .hook_timeout = 120, .peer_timeout = 5,
				   .grace = 60, .self_host = "10.0.0.1", .self_port = 7780,
				   .peers = PEER " 10.0.0.3" };
	struct dmg_error err = { 0 };
	int i;

	snprintf(w->dir, sizeof(w->dir), "/tmp/dmg-reg-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(w->dir));
	for (i = 0; i < NSESS; i++) {
		char sid[16];

		snprintf(sid, sizeof(sid), "0000aa%02x", i);
		write_journal(w->dir, sid, phase);
	}
	dmg_log_open(&w->log, "test", 0, 0, DMG_LOG_ERR);
	dmg_backend_init(&w->b);
	w->b.dry_run = 1;
	w->b.log = &w->log;
	rc.state_dir = w->dir;
	CU_ASSERT_EQUAL_FATAL(dmg_registry_new(&rc, &w->b, &w->log, &w->r, &err), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_registry_recover(w->r, &err), NSESS);
}

static void
world_down(struct world *w)
{
	char cmd[128];

	dmg_registry_free(w->r);
	dmg_backend_fini(&w->b);
	dmg_log_close(&w->log);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static int
peer_call(struct dmg_registry *r, const char *identity, const char *verb, const char *sid,
	  const char *tok, struct dmg_jrec *reply, struct dmg_error *err)
{
	struct dmg_jrec req;

	dmg_jrec_init(&req, verb);
	if (dmg_jrec_set(&req, "sid", sid, err) < 0 || (tok && dmg_jrec_set(&req, "tok", tok, err) < 0))
		return -EINVAL;
	return dmg_registry_peer(r, identity, dmg_verb_lookup(verb, DMG_VERB_PEER), &req, reply, err);
}

/* Only a configured peer is served, and only for its own sessions. */
static void
test_identity(void)
{
	struct dmg_error err = { 0 };
	struct dmg_jrec reply;
	struct world w;

	world_up(&w, "syncing");
	CU_ASSERT_EQUAL(peer_call(w.r, NULL, "state", "0000aa00", TOK, &reply, &err), -EACCES);
	CU_ASSERT_EQUAL(peer_call(w.r, "10.0.0.9", "state", "0000aa00", TOK, &reply, &err), -EACCES);
	CU_ASSERT_EQUAL(peer_call(w.r, "10.0.0.9", "whohas", "0000aa00", TOK, &reply, &err), -EACCES);
	/* a configured peer, but not this session's */
	CU_ASSERT_EQUAL(peer_call(w.r, "10.0.0.3", "state", "0000aa00", TOK, &reply, &err), -EACCES);
	CU_ASSERT_EQUAL(peer_call(w.r, "10.0.0.3", "rollback", "0000aa00", TOK, &reply, &err), -EACCES);
	CU_ASSERT_EQUAL(peer_call(w.r, "10.0.0.3", "fence", "0000aa00", TOK, &reply, &err), -EACCES);
	CU_ASSERT_EQUAL(peer_call(w.r, PEER, "rollback", "0000aa00", NULL, &reply, &err), -EACCES);
	/* its own peer gets through to the session (which cannot ask libvirt here) */
	CU_ASSERT_EQUAL(peer_call(w.r, PEER, "state", "0000aa00", TOK, &reply, &err), -ENOTCONN);
	world_down(&w);
}

struct caller {
	struct dmg_registry *r;
	int cli;
	int served_closed;        /* state answered from the .closed journal */
	int unexpected;
};

/* Asks for every session's state until each is answered from its closed
 * journal: the entries are reaped meanwhile, under the callers' feet. */
static void *
caller_run(void *arg)
{
	struct caller *c = arg;
	int done[NSESS] = { 0 }, left = NSESS, iter;

	for (iter = 0; left && iter < 20000; iter++) {
		struct dmg_error err = { 0 };
		struct dmg_jrec reply, req;
		struct dmg_buf body = { 0 };
		char sid[16];
		int i = iter % NSESS, rc;

		snprintf(sid, sizeof(sid), "0000aa%02x", i);
		if (c->cli) {
			/* cleanup on a closed session is refused; status lists */
			dmg_jrec_init(&req, iter % 2 ? "status" : "cleanup");
			dmg_jrec_set(&req, "target", sid, &err);
			rc = dmg_registry_cli(c->r, dmg_verb_lookup(req.step, DMG_VERB_CLI), &req, &body,
					      &err);
			dmg_buf_free(&body);
			if (rc == -ENOENT && !done[i]) {
				done[i] = 1;
				left--;
			}
		} else {
			rc = peer_call(c->r, PEER, "state", sid, TOK, &reply, &err);
			if (rc == 0 && !done[i]) {
				const char *ph = dmg_jrec_get(&reply, "phase");

				c->unexpected += !ph || strcmp(ph, "rolled-back") != 0;
				done[i] = 1;
				left--;
				c->served_closed++;
			} else if (rc < 0 && rc != -ENOTCONN && rc != -ENOENT) {
				c->unexpected++;
			}
		}
		usleep(500);
	}
	return NULL;
}

/* Closed sessions are reaped by the settle thread while peer and CLI
 * threads keep finding and using them. */
static void
test_reap_under_callers(void)
{
	struct caller c[NCALLER + 1];
	pthread_t t[NCALLER + 1];
	struct dmg_error err = { 0 };
	struct world w;
	int i;

	world_up(&w, "rolled-back");
	CU_ASSERT_EQUAL_FATAL(dmg_registry_start(w.r, &err), 0);
	for (i = 0; i <= NCALLER; i++) {
		c[i] = (struct caller){ .r = w.r, .cli = i == NCALLER };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, caller_run, &c[i]), 0);
	}
	for (i = 0; i <= NCALLER; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(c[i].unexpected, 0);
		if (!c[i].cli)
			CU_ASSERT_EQUAL(c[i].served_closed, NSESS);
	}
	world_down(&w);
}

/* Entries in the table (under its lock, as everyone else reads it). */
static int
table_count(struct dmg_registry *r)
{
	struct entry *e;
	int n = 0;

	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next)
		n++;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* A reference keeps a closed entry in the table through reaping; once the
 * last one is put, the next reap frees it.  (ASan and valgrind see any use
 * of a freed entry.) */
static void
test_entry_refs(void)
{
	struct entry *e, *e2;
	struct world w;

	world_up(&w, "rolled-back");
	CU_ASSERT_EQUAL(table_count(w.r), NSESS);
	e = reg_entry_get(w.r, "0000aa00");
	e2 = reg_entry_get(w.r, "0000aa00");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_EQUAL(e, e2);
	CU_ASSERT_PTR_NULL(reg_entry_get(w.r, "0000ffff"));
	reg_reap(w.r);
	/* the others are gone; the referenced one stays, whole */
	CU_ASSERT_EQUAL(table_count(w.r), 1);
	CU_ASSERT_PTR_NULL(reg_entry_get(w.r, "0000aa01"));
	CU_ASSERT_STRING_EQUAL(e->s->sid, "0000aa00");
	reg_entry_put(w.r, e2);
	reg_reap(w.r);
	CU_ASSERT_EQUAL(table_count(w.r), 1);   /* one reference left */
	CU_ASSERT_STRING_EQUAL(e->s->domain, "g");
	reg_entry_put(w.r, e);
	reg_reap(w.r);
	CU_ASSERT_EQUAL(table_count(w.r), 0);
	CU_ASSERT_PTR_NULL(reg_entry_get(w.r, "0000aa00"));
	reg_entry_put(w.r, NULL);   /* a failed lookup's put is harmless */
	world_down(&w);
}

struct looker {
	struct dmg_registry *r;
	const atomic_int *stop;   /* set only when the reaper gave up */
	int found, wrong, misses;
};

/* Looks every session up until all are gone, checking the entry it holds.
 * Not bounded by an iteration count: under valgrind the threads run one at
 * a time and the reaper may need longer than any fixed count. */
static void *
looker_run(void *arg)
{
	struct looker *l = arg;
	int iter, gone = 0;

	for (iter = 0; gone < NSESS && !atomic_load(l->stop); iter++) {
		char sid[16];
		struct entry *e;

		snprintf(sid, sizeof(sid), "0000aa%02x", iter % NSESS);
		e = reg_entry_get(l->r, sid);
		if (!e) {
			gone++;
			l->misses++;
			continue;
		}
		gone = 0;
		l->found++;
		l->wrong += strcmp(e->s->sid, sid) != 0 || strcmp(e->s->domain, "g") != 0;
		reg_entry_put(l->r, e);
		sched_yield();   /* under valgrind's one-at-a-time threads, let the reaper run */
	}
	return NULL;
}

/* Several threads look entries up and put them while another reaps: every
 * entry found is the one asked for and whole, and all end up freed. */
static void
test_lookups_vs_reap(void)
{
	struct looker l[NCALLER];
	pthread_t t[NCALLER];
	atomic_int stop = 0;
	struct world w;
	int i, rounds;

	world_up(&w, "rolled-back");
	for (i = 0; i < NCALLER; i++) {
		l[i] = (struct looker){ .r = w.r, .stop = &stop };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, looker_run, &l[i]), 0);
	}
	/* this thread is the only one that unlinks, as the settle thread is */
	for (rounds = 0; table_count(w.r) > 0 && rounds < 100000; rounds++) {
		reg_reap(w.r);
		usleep(100);
	}
	if (table_count(w.r) > 0)   /* reaping failed: end the lookers, fail below */
		atomic_store(&stop, 1);
	for (i = 0; i < NCALLER; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(l[i].wrong, 0);
		CU_ASSERT(l[i].misses >= NSESS);
	}
	CU_ASSERT_EQUAL(table_count(w.r), 0);
	world_down(&w);
}

/* Waits up to about 10 s (the settle thread ticks every second). */
static int
wait_count(struct dmg_registry *r, int want)
{
	int i;

	for (i = 0; i < 100 && table_count(r) != want; i++)
		usleep(100000);
	return table_count(r);
}

/* The settle thread frees finished sessions (done, rolled back) and keeps
 * those that stopped for attention: they wait for the operator. */
static void
test_settle_reaps(void)
{
	static const char *const phases[] = { "rolled-back", "done", "attention" };
	struct dmg_error err = { 0 };
	size_t i;

	for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		int keep = strcmp(phases[i], "attention") == 0;
		struct world w;

		world_up(&w, phases[i]);
		CU_ASSERT_EQUAL_FATAL(dmg_registry_start(w.r, &err), 0);
		if (keep) {
			usleep(2500000);   /* two ticks or more */
			CU_ASSERT_EQUAL(table_count(w.r), NSESS);
		} else {
			CU_ASSERT_EQUAL(wait_count(w.r, 0), 0);
		}
		world_down(&w);
	}
}

static int
look_ok(struct verify *v, struct dmg_error *err)
{
	(void)v;
	(void)err;
	return 0;
}

static int
look_fail(struct verify *v, struct dmg_error *err)
{
	(void)v;
	return dmg_error_set(err, -EIO, "lvs failed (exit 5)");
}

/* One `drbdmig verify` through the handler, as the CLI sends it.  The CLI
 * exits 0 on status 0, 1 on a status without message (leftovers), 2 on one
 * with a message (could not look). */
static void
verify_call(struct world *w, struct dmg_msg *reply)
{
	struct dmg_handler h = { .log = &w->log, .reg = w->r };
	struct dmg_msg req = { .type = DMG_MSG_CALL, .seq = 1 };
	struct dmg_error err = { 0 };
	char line[] = "verify\n";

	req.body = line;
	req.body_len = strlen(line);
	CU_ASSERT_EQUAL_FATAL(dmg_handle(&h, &req, reply, &err), 0);
}

static void
touch(const char *dir, const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
}

/* verify says "clean" only of a host it looked at whole: a listing that
 * fails makes it "could not look" (naming what), never clean, and what
 * the other listings found is still reported. */
static void
test_verify_looks(void)
{
	struct reg_look looks[5];
	struct dmg_msg reply = { 0 };
	char resdir[300];
	struct world w;
	size_t i;

	world_up(&w, "syncing");
	w.b.dry_run = 0;   /* verify looks at storage only for real */
	snprintf(resdir, sizeof(resdir), "%s/drbd.d", w.dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(resdir, 0700), 0);
	w.b.resdir = resdir;
	/* DRBD, dm and LVM stand-ins; the resource files are read for real */
	looks[0] = (struct reg_look){ "the DRBD status", look_ok };
	looks[1] = (struct reg_look){ "the device-mapper devices", look_ok };
	looks[2] = (struct reg_look){ "the LVM volumes", look_ok };
	looks[3] = (struct reg_look){ NULL, NULL };
	looks[4] = (struct reg_look){ NULL, NULL };
	for (i = 0; reg_looks[i].what; i++)
		if (strcmp(reg_looks[i].what, "the DRBD resource files") == 0)
			looks[3] = reg_looks[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(looks[3].fn);
	w.r->looks = looks;

	/* clean: a live session's file is no leftover */
	touch(resdir, "drbdmig-0000aa00-vda.res");
	verify_call(&w, &reply);
	CU_ASSERT_EQUAL(reply.status, 0);
	CU_ASSERT_PTR_NULL(reply.message);
	CU_ASSERT_EQUAL(reply.body_len, 0);
	dmg_msg_clear(&reply);

	/* a leftover: found, no error */
	touch(resdir, "drbdmig-deadbeef-vda.res");
	verify_call(&w, &reply);
	CU_ASSERT_EQUAL(reply.status, 1);
	CU_ASSERT_PTR_NULL(reply.message);
	CU_ASSERT_PTR_NOT_NULL(reply.body && strstr(reply.body, "kind=resource-file"));
	CU_ASSERT_PTR_NOT_NULL(reply.body && strstr(reply.body, "drbdmig-deadbeef-vda.res"));
	CU_ASSERT_PTR_NULL(reply.body && strstr(reply.body, "0000aa00"));
	dmg_msg_clear(&reply);

	/* the LVM listing fails: could not look, whatever else was found */
	looks[2].fn = look_fail;
	verify_call(&w, &reply);
	CU_ASSERT_NOT_EQUAL(reply.status, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply.message, "not known to be clean"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reply.message, "the LVM volumes (lvs failed (exit 5))"));
	CU_ASSERT_PTR_NULL(strstr(reply.message, "the DRBD status"));
	CU_ASSERT_PTR_NULL(strchr(reply.message, '\n'));
	CU_ASSERT_PTR_NOT_NULL(reply.body && strstr(reply.body, "drbdmig-deadbeef-vda.res"));
	dmg_msg_clear(&reply);

	/* the resource directory cannot be read (a file, not a directory):
	 * both failures named, in one line */
	snprintf(resdir, sizeof(resdir), "%s/0000aa00.journal", w.dir);
	verify_call(&w, &reply);
	CU_ASSERT_NOT_EQUAL(reply.status, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply.message, "the LVM volumes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reply.message, "the DRBD resource files (cannot read"));
	CU_ASSERT_PTR_NULL(strchr(reply.message, '\n'));
	dmg_msg_clear(&reply);

	/* that alone is enough to fail */
	looks[2].fn = look_ok;
	verify_call(&w, &reply);
	CU_ASSERT_NOT_EQUAL(reply.status, 0);
	CU_ASSERT_PTR_NOT_NULL(reply.message && strstr(reply.message, "the DRBD resource files"));
	dmg_msg_clear(&reply);
	world_down(&w);
}

/* One CALL line through the handler, as drbdmig or the fence handler
 * sends it. */
static void
cli_line(struct world *w, const char *line, struct dmg_msg *reply)
{
	struct dmg_handler h = { .log = &w->log, .reg = w->r };
	struct dmg_msg req = { .type = DMG_MSG_CALL, .seq = 1 };
	struct dmg_error err = { 0 };
	char buf[256];

	snprintf(buf, sizeof(buf), "%s\n", line);
	req.body = buf;
	req.body_len = strlen(buf);
	CU_ASSERT_EQUAL_FATAL(dmg_handle(&h, &req, reply, &err), 0);
}

/* The socket checks a CALL once (core/verb.c) before the registry sees
 * it; the fence handler's answer is its exit code, as a number. */
static void
test_cli_checked(void)
{
	struct dmg_msg reply = { 0 };
	struct world w;

	world_up(&w, "syncing");
	cli_line(&w, "frobnicate", &reply);
	CU_ASSERT_EQUAL(reply.status, EPROTO);
	CU_ASSERT_STRING_EQUAL(reply.message ? reply.message : "", "unknown verb 'frobnicate'");
	dmg_msg_clear(&reply);
	cli_line(&w, "whohas uuid=6c2a0c3e-0000-4000-8000-000000000001", &reply);
	CU_ASSERT_EQUAL(reply.status, EPROTO);
	CU_ASSERT_STRING_EQUAL(reply.message ? reply.message : "",
			       "'whohas' is not a verb of drbdmigd's socket");
	dmg_msg_clear(&reply);
	cli_line(&w, "cancel", &reply);
	CU_ASSERT_EQUAL(reply.status, EPROTO);
	CU_ASSERT_STRING_EQUAL(reply.message ? reply.message : "", "cancel: target is required");
	dmg_msg_clear(&reply);
	cli_line(&w, "verify target=x", &reply);
	CU_ASSERT_EQUAL(reply.status, EPROTO);
	CU_ASSERT_STRING_EQUAL(reply.message ? reply.message : "", "verify: unexpected key 'target'");
	dmg_msg_clear(&reply);
	/* not a drbdmig resource: refused, the handler exits 1 */
	cli_line(&w, "fence target=r0", &reply);
	CU_ASSERT_EQUAL(reply.status, EINVAL);
	dmg_msg_clear(&reply);
	/* a session outside the window: peer outdated at once */
	cli_line(&w, "fence target=drbdmig-0000aa00-0", &reply);
	CU_ASSERT_EQUAL(reply.status, 0);
	CU_ASSERT_PTR_NULL(reply.message);
	CU_ASSERT_STRING_EQUAL(reply.body ? reply.body : "", "fence code=4\n");
	CU_ASSERT_EQUAL(dmg_fence_code_parse(reply.body, reply.body_len), DMG_FENCE_CODE_OUTDATED);
	dmg_msg_clear(&reply);
	/* no such session: the same */
	cli_line(&w, "fence target=drbdmig-0000ffff-0", &reply);
	CU_ASSERT_EQUAL(reply.status, 0);
	CU_ASSERT_EQUAL(dmg_fence_code_parse(reply.body, reply.body_len), DMG_FENCE_CODE_OUTDATED);
	dmg_msg_clear(&reply);
	world_down(&w);
}

/* ---- the source's answer to "probe" ----------------------------------------- */

#define PROBE_NOSIZE "disk vdb: the source's answer has no size"
#define PROBE_NONAME "disk vdb: the source's answer has no VG or LV name"
#define PROBE_NOTHIN "disk vdb: the source's answer names a thin pool without a valid allocation"

/* The destination reads the answer of disk vdb from kv (key, value, ...,
 * NULL), as reg_peer_call() would have handed it over; d and err start
 * clear. */
static int
probe_answer(const char *const *kv, struct dmg_sess_disk *d, struct dmg_error *err)
{
	struct dmg_error serr = { 0 };
	struct dmg_jrec reply;

	dmg_jrec_init(&reply, "probe");
	for (; kv[0]; kv += 2)
		CU_ASSERT_EQUAL_FATAL(dmg_jrec_set(&reply, kv[0], kv[1], &serr), 0);
	memset(d, 0, sizeof(*d));
	snprintf(d->target, sizeof(d->target), "vdb");
	dmg_error_clear(err);
	return reg_probe_answer(&reply, d, err);
}

/* Good answers fill the disk: a linear LV's size and names (an alloc
 * without thin is not a thin LV's and is left alone), a thin LV's pool and
 * allocation up to the whole size.  Every malformed answer is refused with
 * -EPROTO and one message naming the disk. */
static void
test_probe_answer(void)
{
	/* filled below: a name one byte longer than the name fields hold */
	char name[DMG_SESS_NAME_MAX + 1];
	const struct {
		const char *what, *msg;
		const char *kv[12];
	} bad[] = {
		{ "size missing", PROBE_NOSIZE, { "vg", "vg0", "lv", "g", NULL } },
		{ "size empty", PROBE_NOSIZE, { "size", "", "vg", "vg0", "lv", "g", NULL } },
		{ "size 0", PROBE_NOSIZE, { "size", "0", "vg", "vg0", "lv", "g", NULL } },
		{ "size 12x", PROBE_NOSIZE, { "size", "12x", "vg", "vg0", "lv", "g", NULL } },
		{ "size above 2^64", PROBE_NOSIZE,
		  { "size", "99999999999999999999", "vg", "vg0", "lv", "g", NULL } },
		{ "size 2^64", PROBE_NOSIZE,
		  { "size", "18446744073709551616", "vg", "vg0", "lv", "g", NULL } },
		/* strtoull() takes a sign and reads "-5" as 2^64 - 5 */
		{ "size -5", PROBE_NOSIZE, { "size", "-5", "vg", "vg0", "lv", "g", NULL } },
		{ "size -(2^64 - 1), 1 to strtoull()", PROBE_NOSIZE,
		  { "size", "-18446744073709551615", "vg", "vg0", "lv", "g", NULL } },
		{ "size +5", PROBE_NOSIZE, { "size", "+5", "vg", "vg0", "lv", "g", NULL } },
		{ "size with a blank before", PROBE_NOSIZE,
		  { "size", " 5", "vg", "vg0", "lv", "g", NULL } },
		{ "vg missing", PROBE_NONAME, { "size", "4096", "lv", "g", NULL } },
		{ "vg empty", PROBE_NONAME, { "size", "4096", "vg", "", "lv", "g", NULL } },
		{ "lv missing", PROBE_NONAME, { "size", "4096", "vg", "vg0", NULL } },
		{ "vg longer than the field", PROBE_NONAME,
		  { "size", "4096", "vg", name, "lv", "g", NULL } },
		{ "lv longer than the field", PROBE_NONAME,
		  { "size", "4096", "vg", "vg0", "lv", name, NULL } },
		{ "thin, alloc missing", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", NULL } },
		{ "alloc x", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc", "x", NULL } },
		{ "alloc -ff", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc", "-ff", NULL } },
		{ "alloc empty", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc", "", NULL } },
		{ "alloc above size", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc", "4097", NULL } },
		{ "alloc above 2^64", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc",
		    "99999999999999999999", NULL } },
		{ "alloc -(2^64 - 1), 1 to strtoull()", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc",
		    "-18446744073709551615", NULL } },
		{ "alloc -0", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc", "-0", NULL } },
		{ "alloc +1", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc", "+1", NULL } },
		{ "thin empty", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", "", "alloc", "0", NULL } },
		{ "thin longer than the field", PROBE_NOTHIN,
		  { "size", "4096", "vg", "vg0", "lv", "g", "thin", name, "alloc", "0", NULL } },
	};
	const struct {
		const char *kv[12];
		uint64_t size, alloc;
		const char *vg, *lv, *thin;
	} good[] = {
		{ { "size", "1073741824", "vg", "vg0", "lv", "g", NULL },
		  UINT64_C(1073741824), 0, "vg0", "g", "" },
		/* an alloc without thin is not a thin LV's: left alone */
		{ { "size", "4096", "vg", "vg0", "lv", "g", "alloc", "99", NULL },
		  4096, 0, "vg0", "g", "" },
		{ { "size", "12582912", "vg", "vg0", "lv", "multi2", "thin", "mpool", "alloc",
		    "2162688", NULL },
		  UINT64_C(12582912), UINT64_C(2162688), "vg0", "multi2", "mpool" },
		/* the largest size, all of it allocated; nothing allocated */
		{ { "size", "18446744073709551615", "vg", "vg0", "lv", "g", "thin", "tp", "alloc",
		    "18446744073709551615", NULL },
		  UINT64_MAX, UINT64_MAX, "vg0", "g", "tp" },
		{ { "size", "4096", "vg", "vg0", "lv", "g", "thin", "tp", "alloc", "0", NULL },
		  4096, 0, "vg0", "g", "tp" },
		/* a VG name one byte short of the field fits (name, filled below) */
		{ { "size", "4096", "vg", name, "lv", "g", NULL }, 4096, 0, name, "g", "" },
	};
	struct dmg_error err;
	struct dmg_sess_disk d;
	size_t i;

	memset(name, 'v', sizeof(name));
	name[DMG_SESS_NAME_MAX - 1] = '\0';
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(probe_answer(good[i].kv, &d, &err), 0);
		CU_ASSERT_EQUAL(err.code, 0);
		CU_ASSERT_EQUAL(d.size, good[i].size);
		CU_ASSERT_EQUAL(d.alloc, good[i].alloc);
		CU_ASSERT_STRING_EQUAL(d.vg, good[i].vg);
		CU_ASSERT_STRING_EQUAL(d.lv, good[i].lv);
		CU_ASSERT_STRING_EQUAL(d.thin, good[i].thin);
	}
	/* one that fills the field does not fit (bad[] above) */
	name[DMG_SESS_NAME_MAX - 1] = 'v';
	name[DMG_SESS_NAME_MAX] = '\0';

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = probe_answer(bad[i].kv, &d, &err);

		if (rc != -EPROTO || err.code != -EPROTO || strcmp(err.msg, bad[i].msg) != 0)
			fprintf(stderr, "probe answer '%s': %d '%s'\n", bad[i].what, rc, err.msg);
		CU_ASSERT_EQUAL(rc, -EPROTO);
		CU_ASSERT_EQUAL(err.code, -EPROTO);
		CU_ASSERT_STRING_EQUAL(err.msg, bad[i].msg);
	}
}

void
register_registry_tests(void)
{
	CU_pSuite s = CU_add_suite("registry", NULL, NULL);

	CU_add_test(s, "only configured peers, only their sessions", test_identity);
	CU_add_test(s, "closed entries reaped under concurrent callers", test_reap_under_callers);
	CU_add_test(s, "a referenced entry outlives reaping until its last put", test_entry_refs);
	CU_add_test(s, "lookups and reaping from several threads", test_lookups_vs_reap);
	CU_add_test(s, "settle removes closed sessions, keeps attention", test_settle_reaps);
	CU_add_test(s, "verify: clean, leftovers, could not look", test_verify_looks);
	CU_add_test(s, "the socket checks a call once; fence answers a code", test_cli_checked);
	CU_add_test(s, "the source's probe answer: good ones filled, malformed ones refused",
		    test_probe_answer);
}
