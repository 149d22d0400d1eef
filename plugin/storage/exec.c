#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage/exec.h"
#include "core/wire.h"

/* LVM insists on a sane environment and no inherited fds (it warns about
 * "leaked" ones); a fixed environment keeps the tools' behaviour stable. */
static char *const tool_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	"LVM_SUPPRESS_FD_WARNINGS=1",
	NULL,
};

/* Closes every fd >= 3 but keep.  Async-signal-safe: runs between fork and
 * exec of a multi-threaded daemon, so no opendir of /proc/self/fd (it
 * allocates); max_fd (RLIMIT_NOFILE) was taken by the parent. */
static void
close_from_3(int keep, long max_fd)
{
	long fd;

#ifdef __NR_close_range
	if ((keep == 3 || syscall(__NR_close_range, 3u, (unsigned)keep - 1, 0u) == 0) &&
	    syscall(__NR_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
		return;
#endif
	/* kernels before 5.9 */
	for (fd = 3; fd < max_fd; fd++)
		if (fd != keep)
			close((int)fd);
}

/* The child: only async-signal-safe calls until execve.  If that fails, its
 * errno goes to the parent through exec_fd (closed on exec). */
static void __attribute__((noreturn))
child_exec(char *const argv[], int out_fd, int err_fd, int exec_fd, long max_fd)
{
	struct sigaction dfl;
	sigset_t none;
	int null, e;

	/* Its own process group, so a timeout kills what it started too. */
	setpgid(0, 0);
	/* The daemon blocks SIGTERM (read through a signalfd) and ignores
	 * SIGPIPE; a tool must not inherit either. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL);
	/* Above 2 first, so no dup2 below clobbers another's source. */
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0 && null < 3)
		null = fcntl(null, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 3)
		out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	if (err_fd < 3)
		err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
	if (exec_fd < 3)
		exec_fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, 3);
	if (null < 0 || out_fd < 0 || err_fd < 0 || exec_fd < 0 || dup2(null, 0) < 0 ||
	    dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	close_from_3(exec_fd, max_fd);
	execve(argv[0], argv, tool_env);
fail:
	e = errno;
	if (exec_fd >= 0 && write(exec_fd, &e, sizeof(e)) < 0)
		e = 0;   /* nobody to tell; the exit code says it */
	_exit(127);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* 1 when pid has ended, 0 when the deadline came first.  It is left a
 * zombie: while it is, its pid (and process group id) cannot be reused, so
 * a kill of its group still hits only what it started. */
static int
wait_until(pid_t pid, int64_t deadline)
{
	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
			if (errno != EINTR)
				return -errno;
		} else if (si.si_pid == pid) {
			return 1;
		}
		if (dmg_now_ms() >= deadline)
			return 0;
		sleep_ms(10);
	}
}

static void
reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

static void *
reaper(void *arg)
{
	pid_t pid = *(pid_t *)arg;
	int status;

	free(arg);
	reap(pid, &status);
	return NULL;
}

/* Who reaps a child that outlives SIGKILL (stuck in uninterruptible I/O):
 * a detached thread blocked in waitpid() for it alone.  Not a list of pids
 * for a later waitpid (global state), not waitpid(-1) (it would steal other
 * callers' children), not a double fork (the caller needs the exit status).
 * The thread costs a small stack and ends when the kernel lets the child go. */
int
dmg_exec_reap(pid_t pid, int *status, int wait_ms, struct dmg_error *err)
{
	pthread_attr_t attr;
	pthread_t t;
	pid_t *arg;
	int rc;

	rc = wait_until(pid, dmg_now_ms() + wait_ms);
	if (rc < 0)
		return dmg_error_sys(err, rc, "cannot wait for process %d", (int)pid);
	if (rc > 0) {
		reap(pid, status);
		return 0;
	}
	arg = malloc(sizeof(*arg));
	rc = -1;
	if (arg) {
		*arg = pid;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, (size_t)64 * 1024);
		rc = pthread_create(&t, &attr, reaper, arg);
		pthread_attr_destroy(&attr);
		if (rc)
			free(arg);
	}
	return dmg_error_set(err, -ETIMEDOUT, "process %d still there %d ms after SIGKILL%s",
			     (int)pid, wait_ms, rc ? ", and no thread to reap it" : ", left to a reaper thread");
}

/* Stops a child that ran out of time: SIGTERM to its process group, SIGKILL
 * after a grace period, then a bounded wait for it to go. */
static int
stop(pid_t pid, int *status, struct dmg_error *err)
{
	if (kill(-pid, SIGTERM) < 0)
		kill(pid, SIGTERM);
	if (wait_until(pid, dmg_now_ms() + DMG_EXEC_TERM_MS) == 1) {
		kill(-pid, SIGKILL);   /* what it started and left behind */
		reap(pid, status);
		return 0;
	}
	if (kill(-pid, SIGKILL) < 0)
		kill(pid, SIGKILL);
	return dmg_exec_reap(pid, status, DMG_EXEC_KILL_MS, err);
}

/* Forks and execs argv with stdout on out_fd and stderr on err_fd; returns
 * the pid or a negative code (exec failures included: they come back
 * through a pipe). */
static pid_t
spawn(char *const argv[], int out_fd, int err_fd, struct dmg_error *err)
{
	long max_fd = sysconf(_SC_OPEN_MAX);
	int efd[2], e = 0, status;
	ssize_t n;
	pid_t pid;

	if (pipe2(efd, O_CLOEXEC) < 0)
		return dmg_error_sys(err, -errno, "pipe");
	pid = fork();
	if (pid == 0) {
		close(efd[0]);
		child_exec(argv, out_fd, err_fd, efd[1], max_fd < 0 ? 65536 : max_fd);
	}
	e = errno;
	close(efd[1]);
	if (pid < 0) {
		close(efd[0]);
		return dmg_error_sys(err, -e, "cannot run %s", argv[0]);
	}
	/* Also here, so a kill of the group cannot come before the child's
	 * own setpgid (EACCES once it has exec'ed: it did it itself). */
	setpgid(pid, pid);
	/* EOF: exec'ed.  The child only opens, dups and execs before this. */
	while ((n = read(efd[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(efd[0]);
	if (n == (ssize_t)sizeof(e)) {
		reap(pid, &status);
		return dmg_error_sys(err, e > 0 ? -e : -EIO, "cannot run %s", argv[0]);
	}
	return pid;
}

/* One of the child's output streams: read into buf (NUL-terminated, what
 * does not fit thrown away), or all thrown away without buf. */
struct stream {
	int fd;
	char *buf;
	size_t len, got;
};

/* Reads what is there; at the end of the stream closes it (fd -1). */
static void
drain(struct stream *o)
{
	char sink[4096];
	int room = o->buf && o->got + 1 < o->len;
	ssize_t n;

	if (room)
		n = read(o->fd, o->buf + o->got, o->len - 1 - o->got);
	else
		n = read(o->fd, sink, sizeof(sink));
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(o->fd);
		o->fd = -1;
		return;
	}
	if (room) {
		o->got += (size_t)n;
		o->buf[o->got] = '\0';
	}
}

/* dmg_exec() with its standard output into io[0] and its standard error
 * into io[1]. */
static int
run(char *const argv[], struct stream io[2], int timeout_ms, struct dmg_error *err)
{
	int64_t deadline = dmg_now_ms() + timeout_ms;
	int pfd[2][2], status = 0, rc, i;
	pid_t pid;

	for (i = 0; i < 2; i++) {
		if (io[i].buf && io[i].len)
			io[i].buf[0] = '\0';
		io[i].got = 0;
	}
	if (pipe2(pfd[0], O_CLOEXEC) < 0)
		return dmg_error_sys(err, -errno, "pipe");
	if (pipe2(pfd[1], O_CLOEXEC) < 0) {
		rc = -errno;
		close(pfd[0][0]);
		close(pfd[0][1]);
		return dmg_error_sys(err, rc, "pipe");
	}
	pid = spawn(argv, pfd[0][1], pfd[1][1], err);
	for (i = 0; i < 2; i++) {
		close(pfd[i][1]);
		io[i].fd = pfd[i][0];
	}
	while (pid > 0 && (io[0].fd >= 0 || io[1].fd >= 0)) {
		/* poll() skips an entry whose fd is negative: a stream that ended */
		struct pollfd p[2] = { { .fd = io[0].fd, .events = POLLIN },
				       { .fd = io[1].fd, .events = POLLIN } };
		int64_t left = deadline - dmg_now_ms();

		if (left <= 0)
			break;
		rc = poll(p, 2, (int)(left > 1000 ? 1000 : left));
		/* Quiet: a child that ended while something it started holds a
		 * pipe is done all the same. */
		if (rc == 0 && wait_until(pid, 0) == 1)
			break;
		if (rc <= 0)
			continue;
		for (i = 0; i < 2; i++)
			if (p[i].revents)
				drain(&io[i]);
	}
	for (i = 0; i < 2; i++)
		if (io[i].fd >= 0)
			close(io[i].fd);
	if (pid < 0)
		return pid;
	/* Its output ended; it may still run (having closed it early). */
	rc = wait_until(pid, deadline);
	if (rc < 0)
		return dmg_error_sys(err, rc, "cannot wait for %s", argv[0]);
	if (rc == 0) {
		if (stop(pid, &status, err) < 0)
			return dmg_error_prefix(err, "%s did not finish within %d s", argv[0],
						timeout_ms / 1000);
		return dmg_error_set(err, -ETIMEDOUT, "%s did not finish within %d s", argv[0],
				     timeout_ms / 1000);
	}
	reap(pid, &status);
	if (!WIFEXITED(status))
		return dmg_error_set(err, -EIO, "%s died with signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}

int
dmg_exec(char *const argv[], char *out, size_t outlen, int timeout_ms,
	 struct dmg_error *err)
{
	struct stream io[2] = { { .fd = -1, .buf = out, .len = outlen }, { .fd = -1 } };

	return run(argv, io, timeout_ms, err);
}

/* The last line of s with anything in it, trailing blanks cut in place. */
static const char *
last_line(char *s)
{
	char *p = s + strlen(s), *last;

	while (p > s && (p[-1] == '\n' || p[-1] == ' '))
		*--p = '\0';
	last = strrchr(s, '\n');
	last = last ? last + 1 : s;
	while (*last == ' ')
		last++;
	return last;
}

int
dmg_exec_ok(char *const argv[], char *out, size_t outlen, int timeout_ms,
	    struct dmg_error *err)
{
	char buf[4096] = "", said[4096] = "";   /* run() also clears them */
	struct stream io[2] = { { .fd = -1, .buf = out, .len = outlen },
				{ .fd = -1, .buf = said, .len = sizeof(said) } };
	const char *last;
	int rc;

	if (!out) {
		io[0].buf = buf;
		io[0].len = sizeof(buf);
	}
	rc = run(argv, io, timeout_ms, err);
	if (rc <= 0)
		return rc;
	/* What the tool said about the failure: the last line of its standard
	 * error, or of its standard output when it wrote no error. */
	last = last_line(said);
	if (!*last)
		last = last_line(io[0].buf);
	return dmg_error_set(err, -EIO, "%s failed (exit %d): %.300s", argv[0], rc,
			     *last ? last : "no output");
}
