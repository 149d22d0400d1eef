/* Runs the built hook binary the way libvirt does (argv + XML on stdin)
 * against a real drbdmigd, no daemon, and a daemon that never answers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "core/wire.h"

struct fixture {
	char dir[64];
	char sock[128], conf[128], in[128], out[128], errf[128], log[128], state[128];
	pid_t daemon;
};

struct result {
	int status;          /* exit code, or -1 if killed */
	char out[4096], err[4096];
	int64_t ms;
};

static const char annotated[] =
	"<domain type='qemu'><name>vm1</name><uuid>6c2a0c3e-0000-4000-8000-0000000000a1</uuid><metadata>"
	"<drbdmig:policy xmlns:drbdmig=\"urn:drbdmig:1\"><drbdmig:disk target='vda'/></drbdmig:policy>"
	"</metadata><devices><disk type='block' device='disk'><source dev='/dev/vg0/vm1'/>"
	"<target dev='vda'/></disk></devices></domain>\n";
static const char broken_policy[] =
	"<domain type='qemu'><name>vm1</name><metadata>"
	"<drbdmig:policy xmlns:drbdmig=\"urn:drbdmig:1\"><drbdmig:disk target='vdq'/></drbdmig:policy>"
	"</metadata><devices/></domain>\n";
static const char plain[] =
	"<domain type='qemu'><name>vm2</name><devices/></domain>\n";

static void
slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

static void
write_str(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
setup(struct fixture *fx, const char *conf)
{
	char text[2048];

	memset(fx, 0, sizeof(*fx));
	strcpy(fx->dir, "/tmp/dmg-hook-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(fx->dir));
	snprintf(fx->sock, sizeof(fx->sock), "%s/d.sock", fx->dir);
	snprintf(fx->conf, sizeof(fx->conf), "%s/drbdmig.conf", fx->dir);
	snprintf(fx->in, sizeof(fx->in), "%s/stdin", fx->dir);
	snprintf(fx->out, sizeof(fx->out), "%s/stdout", fx->dir);
	snprintf(fx->errf, sizeof(fx->errf), "%s/stderr", fx->dir);
	snprintf(fx->log, sizeof(fx->log), "%s/daemon.log", fx->dir);
	/* Keep a test daemon off the host: its own state directory, loopback
	 * only, libvirt's in-process test driver, no peer credentials. */
	snprintf(fx->state, sizeof(fx->state), "%s/state", fx->dir);
	snprintf(text, sizeof(text),
		 "%sstate_dir = %s\npeer_listen = 127.0.0.1\npeer_auth = psk\n"
		 "peer_psk_file = %s/no-such.psk\nlibvirt_uri = test:///default\n",
		 conf, fx->state, fx->dir);
	write_str(fx->conf, text, strlen(text));
}

static void
teardown(struct fixture *fx)
{
	if (fx->daemon > 0) {
		kill(fx->daemon, SIGTERM);
		waitpid(fx->daemon, NULL, 0);
	}
	unlink(fx->sock);
	unlink(fx->conf);
	unlink(fx->in);
	unlink(fx->out);
	unlink(fx->errf);
	unlink(fx->log);
	rmdir(fx->state);
	rmdir(fx->dir);
}

static int
accepts(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void
start_daemon(struct fixture *fx)
{
	const char *bin = test_env("DAEMON_BIN", "plugin/drbdmigd");
	struct stat st;
	int i;

	fx->daemon = fork();
	CU_ASSERT_FATAL(fx->daemon >= 0);
	if (fx->daemon == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(bin, bin, "-d", "-f", fx->conf, "-s", fx->sock, "-L", fx->log, (char *)NULL);
		_exit(127);
	}
	/* Ready once it accepts: the socket file exists a moment before listen(). */
	for (i = 0; i < 1000 && !accepts(fx->sock); i++)
		usleep(10000);
	CU_ASSERT_FATAL(stat(fx->sock, &st) == 0);
	CU_ASSERT_FATAL(accepts(fx->sock));
}

static void
run_hook(struct fixture *fx, const char *op, const char *sub, const char *xml,
	 size_t len, struct result *r)
{
	const char *bin = test_env("HOOK_BIN", "hooks/drbdmig-hook");
	int64_t t0 = dmg_now_ms();
	int status;
	pid_t pid;

	write_str(fx->in, xml, len);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int in = open(fx->in, O_RDONLY), out = open(fx->out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
		    er = open(fx->errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(in, 0);
		dup2(out, 1);
		dup2(er, 2);
		setenv("DRBDMIG_SOCKET", fx->sock, 1);
		setenv("DRBDMIG_CONF", fx->conf, 1);
		execl(bin, "drbdmig", "vm1", op, sub, "-", (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	r->ms = dmg_now_ms() - t0;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	slurp(fx->out, r->out, sizeof(r->out));
	slurp(fx->errf, r->err, sizeof(r->err));
}

static int
one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl && nl[1] == '\0';
}

static void
test_not_annotated_no_daemon(void)
{
	struct fixture fx;
	struct result r;

	setup(&fx, "");
	run_hook(&fx, "migrate", "begin", plain, sizeof(plain) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_STRING_EQUAL(r.out, "");
	CU_ASSERT_STRING_EQUAL(r.err, "");
	teardown(&fx);
}

static void
test_daemon_down(void)
{
	struct fixture fx;
	struct result r;

	setup(&fx, "");
	run_hook(&fx, "migrate", "begin", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_STRING_EQUAL(r.out, "");
	CU_ASSERT(strncmp(r.err, "drbdmig: ", 9) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "refused"));
	CU_ASSERT(one_line(r.err));
	/* Other events never block the guest. */
	run_hook(&fx, "started", "begin", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	run_hook(&fx, "stopped", "end", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	teardown(&fx);
}

static void
test_real_daemon(void)
{
	struct fixture fx;
	struct result r;
	char log[8192];

	setup(&fx, "log_level = debug\n");
	start_daemon(&fx);
	/* No source stamp in the XML and no peers configured: refused with
	 * the reason, before anything is built. */
	run_hook(&fx, "migrate", "begin", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_STRING_EQUAL(r.out, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "cannot find the source host"));
	CU_ASSERT(one_line(r.err));
	run_hook(&fx, "migrate", "begin", broken_policy, sizeof(broken_policy) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "invalid drbdmig policy"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "target='vdq'"));
	CU_ASSERT(one_line(r.err));
	/* A broken policy never blocks a start. */
	run_hook(&fx, "start", "begin", broken_policy, sizeof(broken_policy) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	run_hook(&fx, "prepare", "begin", plain, sizeof(plain) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	slurp(fx.log, log, sizeof(log));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "hook-request domain=vm1 op=migrate sub=begin"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "policy-disk domain=vm1 target=vda source=/dev/vg0/vm1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "policy-error domain=vm1"));
	/* The plain domain never reached the daemon (fast path). */
	CU_ASSERT_PTR_NULL(strstr(log, "op=prepare"));
	teardown(&fx);
}

/* A daemon that accepts but never answers must not hang libvirt. */
static void
test_stalled_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fixture fx;
	struct result r;
	int lfd;

	setup(&fx, "hook_migrate_timeout = 1\nhook_event_timeout = 1\n");
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(lfd >= 0);
	strcpy(sa.sun_path, fx.sock);
	CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(listen(lfd, 8) == 0);
	run_hook(&fx, "migrate", "begin", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "did not answer within 1 s"));
	CU_ASSERT(r.ms < 5000);
	run_hook(&fx, "started", "begin", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT(r.ms < 5000);
	close(lfd);
	teardown(&fx);
}

static void
test_bad_input(void)
{
	const char *bin = test_env("HOOK_BIN", "hooks/drbdmig-hook");
	struct fixture fx;
	struct result r;
	size_t big = (9u << 20);
	char *xml;
	int status;
	pid_t pid;

	setup(&fx, "hook_migrate_timeout = banana\n");
	/* Bad config: a migration is refused with the reason, nothing else. */
	run_hook(&fx, "migrate", "begin", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "line 1"));
	run_hook(&fx, "started", "begin", annotated, sizeof(annotated) - 1, &r);
	CU_ASSERT_EQUAL(r.status, 0);

	/* Oversized XML: refused for an annotated migration, ignored otherwise. */
	xml = malloc(big);
	CU_ASSERT_FATAL(xml != NULL);
	memset(xml, ' ', big);
	memcpy(xml, annotated, sizeof(annotated) - 1);
	run_hook(&fx, "migrate", "begin", xml, big, &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "larger than"));
	memset(xml, ' ', big);
	memcpy(xml, plain, sizeof(plain) - 1);
	run_hook(&fx, "migrate", "begin", xml, big, &r);
	CU_ASSERT_EQUAL(r.status, 0);
	free(xml);

	/* Wrong argv: one line of error. */
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int er = open(fx.errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(er, 2);
		execl(bin, "drbdmig", "vm1", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	slurp(fx.errf, r.err, sizeof(r.err));
	CU_ASSERT(strncmp(r.err, "drbdmig: expected libvirt hook arguments", 40) == 0);
	teardown(&fx);
}

/* The start path of hosts without systemd: `drbdmigd -p FILE` daemonizes and
 * returns only once the socket listens and FILE names the running daemon;
 * SIGTERM stops it and removes both. */
static void
test_daemonized_pidfile(void)
{
	const char *bin = test_env("DAEMON_BIN", "plugin/drbdmigd");
	char pidf[160], buf[32];
	struct fixture fx;
	struct stat st;
	long dpid = 0;
	int status, i;
	pid_t pid;

	setup(&fx, "");
	snprintf(pidf, sizeof(pidf), "%s/run/drbdmigd.pid", fx.dir);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "-f", fx.conf, "-s", fx.sock, "-p", pidf, (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* No polling: both must be there the moment the command returned. */
	CU_ASSERT(stat(fx.sock, &st) == 0 && S_ISSOCK(st.st_mode));
	slurp(pidf, buf, sizeof(buf));
	CU_ASSERT_FATAL(sscanf(buf, "%ld", &dpid) == 1);
	CU_ASSERT_FATAL(dpid > 1 && dpid != (long)pid);
	CU_ASSERT(kill((pid_t)dpid, 0) == 0);
	/* A second start is refused while the first one listens. */
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(bin, bin, "-f", fx.conf, "-s", fx.sock, "-p", pidf, (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CU_ASSERT(kill((pid_t)dpid, SIGTERM) == 0);
	for (i = 0; i < 500 && (kill((pid_t)dpid, 0) == 0 || stat(pidf, &st) == 0); i++)
		usleep(10000);
	CU_ASSERT(kill((pid_t)dpid, 0) != 0);
	CU_ASSERT(stat(pidf, &st) != 0);
	CU_ASSERT(stat(fx.sock, &st) != 0);
	unlink(pidf);
	snprintf(pidf, sizeof(pidf), "%s/run", fx.dir);
	rmdir(pidf);
	teardown(&fx);
}

void
register_hook_exec_tests(void)
{
	CU_pSuite s = CU_add_suite("hook_exec", NULL, NULL);

	CU_add_test(s, "plain domain: exit 0, no daemon contact", test_not_annotated_no_daemon);
	CU_add_test(s, "daemon down: migrate refused, others pass", test_daemon_down);
	CU_add_test(s, "real drbdmigd: request, reply, policy errors", test_real_daemon);
	CU_add_test(s, "stalled daemon: bounded wait", test_stalled_daemon);
	CU_add_test(s, "bad config, oversized XML, bad argv", test_bad_input);
	CU_add_test(s, "daemonized with pid file: ready on return", test_daemonized_pidfile);
}
