/* Daemon logging: syslog (the journal picks it up) and/or stderr and/or an
 * extra file, one line per event, filtered by level. */
#ifndef DMG_LOG_H
#define DMG_LOG_H

#include <stdio.h>

#include "core/conf.h"

struct dmg_log {
	int level;          /* enum dmg_log_level; messages above it are dropped */
	int to_syslog;
	int to_stderr;
	FILE *file;         /* optional, owned by the caller */
};

void dmg_log_open(struct dmg_log *l, const char *ident, int to_syslog,
		  int to_stderr, int level);
void dmg_log_close(struct dmg_log *l);

void dmg_log(struct dmg_log *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define dmg_err(l, ...)   dmg_log(l, DMG_LOG_ERR, __VA_ARGS__)
#define dmg_warn(l, ...)  dmg_log(l, DMG_LOG_WARNING, __VA_ARGS__)
#define dmg_info(l, ...)  dmg_log(l, DMG_LOG_INFO, __VA_ARGS__)
#define dmg_debug(l, ...) dmg_log(l, DMG_LOG_DEBUG, __VA_ARGS__)

#endif
