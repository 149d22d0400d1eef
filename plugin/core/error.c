#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

void
dmg_error_clear(struct dmg_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

/* Newlines would break the "one line of error" promise to virsh users. */
static void
flatten(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

static int
error_vset(struct dmg_error *err, int code, const char *suffix,
	   const char *fmt, va_list ap)
{
	size_t n;

	if (code >= 0)
		code = -EINVAL;
	if (!err)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (suffix) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", suffix);
	}
	flatten(err->msg);
	return code;
}

int
dmg_error_set(struct dmg_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_vset(err, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
dmg_error_sys(struct dmg_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	/* Codes come from the kernel too: never negate INT_MIN. */
	if (code >= 0 || code < -4095)
		code = -EINVAL;
	va_start(ap, fmt);
	rc = error_vset(err, code, strerror(-code), fmt, ap);
	va_end(ap);
	return rc;
}

int
dmg_error_prefix(struct dmg_error *err, const char *fmt, ...)
{
	char old[DMG_ERROR_MAX];
	va_list ap;
	size_t n;

	if (!err)
		return -EINVAL;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", old);
	flatten(err->msg);
	return err->code ? err->code : -EINVAL;
}
