/* Running a helper program (lvm2's tools, drbdmeta) without a shell:
 * argv as given, stdin from /dev/null, stdout and stderr captured apart, no
 * other fd of the daemon inherited, default signal mask, bounded time. */
#ifndef DMG_EXEC_H
#define DMG_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* After the timeout: SIGTERM to the child's process group, SIGKILL
 * DMG_EXEC_TERM_MS later, then at most DMG_EXEC_KILL_MS more of waiting. */
#define DMG_EXEC_TERM_MS 2000
#define DMG_EXEC_KILL_MS 5000

/* Runs argv[0] (absolute path).  Returns the exit status (>= 0), or a
 * negative code if it could not run or was stopped after timeout_ms (it
 * returns within about timeout_ms + DMG_EXEC_TERM_MS + DMG_EXEC_KILL_MS even
 * if the child cannot be killed).  out, if not NULL, receives up to outlen-1
 * bytes of its standard output: a report to parse, without the warnings
 * lvm2 writes to standard error among it.  Standard error is read and
 * dropped. */
int dmg_exec(char *const argv[], char *out, size_t outlen, int timeout_ms,
	     struct dmg_error *err);

/* Waits up to wait_ms for child pid to end and reaps it (*status).  If it
 * does not end, returns -ETIMEDOUT and leaves it to a thread that reaps it
 * whenever it does, so it never stays a zombie.  (dmg_exec's last step;
 * public for its test.) */
int dmg_exec_reap(pid_t pid, int *status, int wait_ms, struct dmg_error *err);

/* Like dmg_exec() but a non-zero exit is an error whose message carries the
 * last line of the program's standard error (of its standard output if it
 * wrote no error). */
int dmg_exec_ok(char *const argv[], char *out, size_t outlen, int timeout_ms,
		struct dmg_error *err);

#endif
