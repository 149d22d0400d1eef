/* Running a helper program (lvm2's tools, drbdmeta) without a shell:
 * argv as given, stdin from /dev/null, stdout+stderr captured, bounded time. */
#ifndef DMG_EXEC_H
#define DMG_EXEC_H

#include <stddef.h>

#include "error.h"

/* Runs argv[0] (absolute path).  Returns the exit status (>= 0), or a
 * negative code if it could not run or was killed after timeout_ms.  out, if
 * not NULL, receives up to outlen-1 bytes of combined output. */
int dmg_exec(char *const argv[], char *out, size_t outlen, int timeout_ms,
	     struct dmg_error *err);

/* Like dmg_exec() but a non-zero exit is an error whose message carries the
 * program's last output line. */
int dmg_exec_ok(char *const argv[], char *out, size_t outlen, int timeout_ms,
		struct dmg_error *err);

#endif
