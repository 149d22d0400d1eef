/* One error convention for all of drbdmig: a failing function returns a
 * negative errno-style code and fills a caller-owned struct dmg_error with one
 * human-readable line.  The error is set once, where it happens; callers may
 * prefix context with dmg_error_prefix(). */
#ifndef DMG_ERROR_H
#define DMG_ERROR_H

#include <stddef.h>

#define DMG_ERROR_MAX 512

struct dmg_error {
	int code;                   /* negative errno, 0 when clear */
	char msg[DMG_ERROR_MAX];    /* one line, no trailing newline */
};

void dmg_error_clear(struct dmg_error *err);

/* Sets err (if not NULL) and returns code, so callers can write
 * "return dmg_error_set(err, -EINVAL, "...")". code must be negative. */
int dmg_error_set(struct dmg_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like dmg_error_set() but appends ": strerror(-code)". */
int dmg_error_sys(struct dmg_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an already set message; returns err->code. */
int dmg_error_prefix(struct dmg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
