/* Running helper programs: exit codes and output, what the child inherits,
 * and that a timeout ends in bounded time even for a child that will not
 * stop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage/exec.h"
#include "core/wire.h"
#include "unit.h"

static void
test_exit_and_output(void)
{
	char *const ok[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char *const missing[] = { "/nonexistent/tool", NULL };
	struct dmg_error err = { 0 };
	char out[256];

	CU_ASSERT_EQUAL(dmg_exec(ok, out, sizeof(out), 5000, &err), 3);
	CU_ASSERT_STRING_EQUAL(out, "out\n");
	CU_ASSERT_EQUAL(dmg_exec_ok(ok, out, sizeof(out), 5000, &err), -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exit 3): err"));
	CU_ASSERT_STRING_EQUAL(out, "out\n");
	/* an exec failure is an error, not an exit status */
	CU_ASSERT_EQUAL(dmg_exec(missing, out, sizeof(out), 5000, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot run /nonexistent/tool"));
}

/* Standard output is the report, standard error what the tool says about
 * it: lvm2 writes its warnings to stderr among the report (in the lab, on
 * every lvs of a VG while a session runs on a thin LV), and they must not
 * reach the parser.  A failure's message is the last line of stderr, of
 * stdout when the tool wrote no error. */
static void
test_stderr_apart(void)
{
	char *const warns[] = { "/bin/sh", "-c",
		"echo '  vg0|a|4194304'; "
		"echo '  WARNING: Detected linear segment type does not match expected type thin for vg0/t.' >&2; "
		"echo '  vg0|b|4194304'", NULL };
	char *const fails[] = { "/bin/sh", "-c",
		"echo '  report'; echo '  WARNING: first' >&2; echo '  Volume group \"vg9\" not found' >&2; "
		"echo >&2; exit 5", NULL };
	char *const stdout_only[] = { "/bin/sh", "-c", "echo 'said here'; echo; exit 2", NULL };
	char *const silent[] = { "/bin/sh", "-c", "exit 4", NULL };
	/* more than a pipe holds on stderr, then stdout: both are read as they come */
	char *const flood[] = { "/bin/sh", "-c",
		"head -c 300000 /dev/zero | tr '\\0' x >&2; echo done; head -c 300000 /dev/zero >&2",
		NULL };
	struct dmg_error err = { 0 };
	char out[256];

	CU_ASSERT_EQUAL(dmg_exec_ok(warns, out, sizeof(out), 5000, &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "  vg0|a|4194304\n  vg0|b|4194304\n");
	CU_ASSERT_EQUAL(dmg_exec_ok(fails, out, sizeof(out), 5000, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err.msg, "/bin/sh failed (exit 5): Volume group \"vg9\" not found");
	CU_ASSERT_EQUAL(dmg_exec_ok(fails, NULL, 0, 5000, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err.msg, "/bin/sh failed (exit 5): Volume group \"vg9\" not found");
	CU_ASSERT_EQUAL(dmg_exec_ok(stdout_only, NULL, 0, 5000, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err.msg, "/bin/sh failed (exit 2): said here");
	CU_ASSERT_EQUAL(dmg_exec_ok(silent, out, sizeof(out), 5000, &err), -EIO);
	CU_ASSERT_STRING_EQUAL(err.msg, "/bin/sh failed (exit 4): no output");
	CU_ASSERT_EQUAL(dmg_exec(flood, out, sizeof(out), 5000, &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "done\n");
}

/* 1 if pid is gone or dead (a zombie waiting for whoever reaps orphans). */
static int
dead(long pid)
{
	char path[64], buf[256], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* A child ignoring SIGTERM (and a grandchild too) is killed with its
 * process group within timeout + the SIGTERM grace period. */
static void
test_timeout_term_ignored(void)
{
	char *const argv[] = { "/bin/sh", "-c",
			       "trap '' TERM; echo $$; sleep 30 & echo $!; wait; wait; wait", NULL };
	struct dmg_error err = { 0 };
	struct timespec ts = { 0, 10 * 1000000L };
	long sh = 0, sl = 0;
	char out[256];
	int64_t t0, ms;
	int i;

	t0 = dmg_now_ms();
	CU_ASSERT_EQUAL(dmg_exec(argv, out, sizeof(out), 300, &err), -ETIMEDOUT);
	ms = dmg_now_ms() - t0;
	CU_ASSERT(ms >= 300);
	CU_ASSERT(ms < 300 + DMG_EXEC_TERM_MS + 1500);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "did not finish"));
	CU_ASSERT_EQUAL_FATAL(sscanf(out, "%ld %ld", &sh, &sl), 2);
	CU_ASSERT(dead(sh));
	/* the grandchild went with the group (SIGKILL lands asynchronously) */
	for (i = 0; i < 100 && !dead(sl); i++)
		nanosleep(&ts, NULL);
	CU_ASSERT(dead(sl));
}

/* A child that stops on SIGTERM needs no grace period; one that closed its
 * output early is still bounded by the timeout (it used to be waited for
 * without bound once its output ended). */
static void
test_timeout_term_honoured(void)
{
	char *const sleeper[] = { "/bin/sleep", "30", NULL };
	char *const quiet[] = { "/bin/sh", "-c", "exec >/dev/null 2>&1; exec sleep 30", NULL };
	struct dmg_error err = { 0 };
	int64_t t0, ms;

	t0 = dmg_now_ms();
	CU_ASSERT_EQUAL(dmg_exec(sleeper, NULL, 0, 300, &err), -ETIMEDOUT);
	ms = dmg_now_ms() - t0;
	CU_ASSERT(ms >= 300 && ms < 300 + 1000);
	t0 = dmg_now_ms();
	CU_ASSERT_EQUAL(dmg_exec(quiet, NULL, 0, 300, &err), -ETIMEDOUT);
	ms = dmg_now_ms() - t0;
	CU_ASSERT(ms >= 300 && ms < 300 + 1000);
}

/* A child that outlives the wait: the call returns at the bound, and the
 * child, once it ends, is reaped (no zombie left) without anyone calling
 * waitpid for it. */
static void
test_reap_bounded(void)
{
	struct dmg_error err = { 0 };
	struct timespec ts = { 0, 20 * 1000000L };
	int64_t t0, ms;
	int status = 0, i;
	pid_t pid;

	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	/* The children exec: under valgrind a child that just exits would
	 * run a leak check of the parent's copied heap and exit 1. */
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "0.8", (char *)NULL);
		_exit(127);
	}
	t0 = dmg_now_ms();
	CU_ASSERT_EQUAL(dmg_exec_reap(pid, &status, 100, &err), -ETIMEDOUT);
	ms = dmg_now_ms() - t0;
	CU_ASSERT(ms >= 100 && ms < 600);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "reaper"));
	CU_ASSERT(!dead(pid));            /* still running: the bound was real */
	/* /proc/PID stays while it is a zombie: gone means reaped */
	for (i = 0; i < 250; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
		if (access(path, F_OK) < 0)
			break;
		nanosleep(&ts, NULL);
	}
	CU_ASSERT(i < 250);
	/* one that ends in time is reaped with its status */
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(127);
	}
	CU_ASSERT_EQUAL(dmg_exec_reap(pid, &status, 5000, &err), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

/* The child sees only fds 0-2 (ls's own directory fd aside), however the
 * parent opened its others. */
static void
test_no_fd_leak(void)
{
	char *const argv[] = { "/bin/ls", "-l", "/proc/self/fd/", NULL };
	struct dmg_error err = { 0 };
	char out[4096], path[64], *line, *save = NULL;
	int fd, seen = 0;

	snprintf(path, sizeof(path), "/tmp/dmg-exec-leak-%ld", (long)getpid());
	fd = open(path, O_RDWR | O_CREAT, 0600);   /* no O_CLOEXEC on purpose */
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(dup2(fd, 100), 100);
	CU_ASSERT_EQUAL(dmg_exec(argv, out, sizeof(out), 5000, &err), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *arrow = strstr(line, " -> "), *num;
		long n;

		if (!arrow)
			continue;
		*arrow = '\0';
		num = strrchr(line, ' ');
		CU_ASSERT_PTR_NOT_NULL_FATAL(num);
		n = strtol(num + 1, NULL, 10);
		if (n == 0)
			CU_ASSERT_STRING_EQUAL(arrow + 4, "/dev/null");
		if (n > 2) {
			CU_ASSERT_PTR_NOT_NULL(strstr(arrow + 4, "/proc/"));
			if (!strstr(arrow + 4, "/proc/"))
				fprintf(stderr, "\n  leaked fd %ld -> %s\n", n, arrow + 4);
		}
		CU_ASSERT_PTR_NULL(strstr(arrow + 4, path));
		seen++;
	}
	CU_ASSERT(seen >= 3);
	close(100);
	close(fd);
	unlink(path);
}

/* The daemon blocks SIGTERM (signalfd) and ignores SIGPIPE; its tools get
 * neither. */
static void
test_signals_reset(void)
{
	char *const argv[] = { "/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL };
	struct dmg_error err = { 0 };
	unsigned long long blk = 1, ign = 1;
	struct sigaction ignore, old_pipe;
	sigset_t term, old_mask;
	char out[256], *p;

	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old_mask);
	sigaction(SIGPIPE, &ignore, &old_pipe);
	CU_ASSERT_EQUAL(dmg_exec(argv, out, sizeof(out), 5000, &err), 0);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	p = strstr(out, "SigBlk:");
	CU_ASSERT_FATAL(p && sscanf(p + 7, "%llx", &blk) == 1);
	p = strstr(out, "SigIgn:");
	CU_ASSERT_FATAL(p && sscanf(p + 7, "%llx", &ign) == 1);
	CU_ASSERT_EQUAL(blk, 0);
	CU_ASSERT_EQUAL(ign & (1ull << (SIGPIPE - 1)), 0);
}

void
register_exec_tests(void)
{
	CU_pSuite s = CU_add_suite("exec", NULL, NULL);

	CU_add_test(s, "exit status, output, exec failure", test_exit_and_output);
	CU_add_test(s, "standard error apart from the report", test_stderr_apart);
	CU_add_test(s, "timeout: SIGTERM ignored, group killed in bound", test_timeout_term_ignored);
	CU_add_test(s, "timeout: SIGTERM honoured, output closed early", test_timeout_term_honoured);
	CU_add_test(s, "unkillable child: bounded wait, reaped later", test_reap_bounded);
	CU_add_test(s, "no fd of the parent leaks into the child", test_no_fd_leak);
	CU_add_test(s, "signal mask and SIGPIPE reset in the child", test_signals_reset);
}
