/* /etc/drbdmig/drbdmig.conf: "key = value" lines, '#' comments.  One table
 * lists every option with its type, range and default; the hook, the daemon
 * and `drbdmigd --check-config` all read the file through it. */
#ifndef DMG_CONF_H
#define DMG_CONF_H

#include <stddef.h>

#include "error.h"

#define DMG_CONF_FILE_MAX (256u << 10)

enum dmg_log_level { DMG_LOG_ERR = 3, DMG_LOG_WARNING = 4, DMG_LOG_INFO = 6, DMG_LOG_DEBUG = 7 };

struct dmg_conf {
	unsigned hook_migrate_timeout;   /* s the hook waits on `migrate begin` */
	unsigned hook_event_timeout;     /* s the hook waits on other events */
	int log_level;                   /* enum dmg_log_level */
};

void dmg_conf_defaults(struct dmg_conf *c);

/* Parses text (named name in messages) on top of c.  On error c is left
 * unchanged. */
int dmg_conf_parse(const char *text, size_t len, const char *name,
		   struct dmg_conf *c, struct dmg_error *err);

/* Loads a file; a missing file is fine when missing_ok (defaults stay). */
int dmg_conf_load(const char *path, int missing_ok, struct dmg_conf *c,
		  struct dmg_error *err);

/* Writes the effective configuration as a config file to buf. */
int dmg_conf_format(const struct dmg_conf *c, char *buf, size_t len);

#endif
