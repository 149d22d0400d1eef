#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "core/log.h"

void
dmg_log_open(struct dmg_log *l, const char *ident, int to_syslog, int to_stderr,
	     int level)
{
	memset(l, 0, sizeof(*l));
	l->level = level;
	l->to_syslog = to_syslog;
	l->to_stderr = to_stderr;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
dmg_log_close(struct dmg_log *l)
{
	if (l->to_syslog)
		closelog();
	l->to_syslog = 0;
}

static const char *
level_name(int level)
{
	switch (level) {
	case DMG_LOG_ERR: return "error";
	case DMG_LOG_WARNING: return "warning";
	case DMG_LOG_INFO: return "info";
	default: return "debug";
	}
}

/* Control bytes become \xNN: a value from a peer, the hook's stdin or a
 * file can then neither forge a log line (a newline) nor hide text from a
 * terminal (an escape sequence), whichever caller forgot to check it. */
static void
escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 5 < len; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

void
dmg_log(struct dmg_log *l, int level, const char *fmt, ...)
{
	char raw[2048], msg[4 * 2048], ts[64];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level > l->level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape(raw, msg, sizeof(msg));
	if (l->to_syslog)
		syslog(level, "%s", msg);
	if (!l->to_stderr && !l->file)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	if (l->to_stderr)
		fprintf(stderr, "%s.%03ld %s: %s\n", ts, now.tv_nsec / 1000000,
			level_name(level), msg);
	if (l->file) {
		fprintf(l->file, "%s.%03ld %s: %s\n", ts, now.tv_nsec / 1000000,
			level_name(level), msg);
		fflush(l->file);
	}
}
