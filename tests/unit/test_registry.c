/* The daemon's session table: who may call, and entry lifetimes under
 * concurrent peer, CLI and settle-thread use.  No libvirt, no peer channel,
 * storage in dry-run: sessions come from journals written here, as a
 * restarted daemon finds them.  Run under ASan (`make check` with
 * --enable-sanitizers) and helgrind (tests/run-tests.sh's valgrind stage),
 * the reference counting is what keeps a closed entry from being freed
 * under a caller. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/backend.h"
#include "core/journal.h"
#include "daemon/registry.h"
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
	return dmg_registry_peer(r, identity, &req, reply, err);
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
			rc = dmg_registry_cli(c->r, &req, &body, &err);
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

void
register_registry_tests(void)
{
	CU_pSuite s = CU_add_suite("registry", NULL, NULL);

	CU_add_test(s, "only configured peers, only their sessions", test_identity);
	CU_add_test(s, "closed entries reaped under concurrent callers", test_reap_under_callers);
}
