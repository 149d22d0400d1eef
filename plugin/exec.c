#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "wire.h"

/* LVM insists on a sane environment and no inherited fds (it warns about
 * "leaked" ones); a fixed environment keeps the tools' behaviour stable. */
static char *const tool_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	"LVM_SUPPRESS_FD_WARNINGS=1",
	NULL,
};

int
dmg_exec(char *const argv[], char *out, size_t outlen, int timeout_ms,
	 struct dmg_error *err)
{
	posix_spawn_file_actions_t fa;
	int64_t deadline = dmg_now_ms() + timeout_ms;
	char sink[4096];
	size_t got = 0;
	int pfd[2], status, rc, killed = 0;
	pid_t pid;

	if (out && outlen)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return dmg_error_sys(err, -errno, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, tool_env);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return dmg_error_sys(err, -rc, "cannot run %s", argv[0]);
	}
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t left = deadline - dmg_now_ms();
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		if (out && got + 1 < outlen)
			n = read(pfd[0], out + got, outlen - 1 - got);
		else
			n = read(pfd[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && got + 1 < outlen) {
			got += (size_t)n;
			out[got] = '\0';
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (killed)
		return dmg_error_set(err, -ETIMEDOUT, "%s did not finish within %d s", argv[0],
				     timeout_ms / 1000);
	if (!WIFEXITED(status))
		return dmg_error_set(err, -EIO, "%s died with signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}

int
dmg_exec_ok(char *const argv[], char *out, size_t outlen, int timeout_ms,
	    struct dmg_error *err)
{
	char buf[4096], *last, *p;
	int rc;

	if (!out) {
		out = buf;
		outlen = sizeof(buf);
	}
	rc = dmg_exec(argv, out, outlen, timeout_ms, err);
	if (rc <= 0)
		return rc;
	/* The last non-empty line is what the tool said about the failure. */
	p = out + strlen(out);
	while (p > out && (p[-1] == '\n' || p[-1] == ' '))
		*--p = '\0';
	last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	while (*last == ' ')
		last++;
	return dmg_error_set(err, -EIO, "%s failed (exit %d): %.300s", argv[0], rc,
			     *last ? last : "no output");
}
