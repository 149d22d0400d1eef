#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

enum opt_kind { OPT_UINT, OPT_LOGLEVEL };

struct opt {
	const char *key;
	enum opt_kind kind;
	size_t off;
	unsigned min, max, def;
};

#define UINT_OPT(k, f, lo, hi, d) { k, OPT_UINT, offsetof(struct dmg_conf, f), lo, hi, d }

static const struct opt opts[] = {
	UINT_OPT("hook_migrate_timeout", hook_migrate_timeout, 1, 86400, 900),
	UINT_OPT("hook_event_timeout", hook_event_timeout, 1, 300, 10),
	{ "log_level", OPT_LOGLEVEL, offsetof(struct dmg_conf, log_level), 0, 0, DMG_LOG_INFO },
};

static const struct {
	const char *name;
	int level;
} levels[] = {
	{ "error", DMG_LOG_ERR }, { "warning", DMG_LOG_WARNING },
	{ "info", DMG_LOG_INFO }, { "debug", DMG_LOG_DEBUG },
};

void
dmg_conf_defaults(struct dmg_conf *c)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i].kind == OPT_UINT)
			*(unsigned *)(void *)((char *)c + opts[i].off) = opts[i].def;
		else
			*(int *)(void *)((char *)c + opts[i].off) = (int)opts[i].def;
	}
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
set_opt(const struct opt *o, const char *v, struct dmg_conf *c, const char *where,
	struct dmg_error *err)
{
	size_t i;

	if (o->kind == OPT_LOGLEVEL) {
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (strcmp(v, levels[i].name) == 0) {
				*(int *)(void *)((char *)c + o->off) = levels[i].level;
				return 0;
			}
		return dmg_error_set(err, -EINVAL, "%s: %s must be error, warning, info or debug, not '%.64s'",
				     where, o->key, v);
	}
	{
		unsigned long long n = 0;
		const char *p = v;

		for (; isdigit((unsigned char)*p) && n <= o->max; p++)
			n = n * 10 + (unsigned)(*p - '0');
		if (p == v || *p || n < o->min || n > o->max)
			return dmg_error_set(err, -EINVAL, "%s: %s must be a whole number from %u to %u, not '%.64s'",
					     where, o->key, o->min, o->max, v);
		*(unsigned *)(void *)((char *)c + o->off) = (unsigned)n;
	}
	return 0;
}

int
dmg_conf_parse(const char *text, size_t len, const char *name, struct dmg_conf *c,
	       struct dmg_error *err)
{
	struct dmg_conf tmp = *c;
	unsigned seen = 0, lineno = 0;
	const char *p = text, *end = text + len;
	char line[1024], where[300];

	if (memchr(text, '\0', len))
		return dmg_error_set(err, -EINVAL, "%s: contains a NUL byte", name);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl : end) - p);
		char *key, *val, *eq, *hash;
		size_t i;
		int rc;

		lineno++;
		snprintf(where, sizeof(where), "%s line %u", name, lineno);
		if (ll >= sizeof(line))
			return dmg_error_set(err, -EINVAL, "%s: line too long", where);
		memcpy(line, p, ll);
		line[ll] = '\0';
		p += ll + (nl ? 1 : 0);
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq)
			return dmg_error_set(err, -EINVAL, "%s: expected 'key = value'", where);
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (strcmp(opts[i].key, key) == 0)
				break;
		if (i == sizeof(opts) / sizeof(opts[0]))
			return dmg_error_set(err, -EINVAL, "%s: unknown option '%.64s'", where, key);
		if (seen & (1u << i))
			return dmg_error_set(err, -EINVAL, "%s: option '%s' is set twice", where, key);
		seen |= 1u << i;
		rc = set_opt(&opts[i], val, &tmp, where, err);
		if (rc < 0)
			return rc;
	}
	*c = tmp;
	return 0;
}

int
dmg_conf_load(const char *path, int missing_ok, struct dmg_conf *c,
	      struct dmg_error *err)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return dmg_error_sys(err, -errno, "cannot open %s", path);
	}
	buf = malloc(DMG_CONF_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	while ((n = read(fd, buf + len, DMG_CONF_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		rc = dmg_error_sys(err, -errno, "cannot read %s", path);
	else if (len > DMG_CONF_FILE_MAX)
		rc = dmg_error_set(err, -EFBIG, "%s is larger than %u KiB", path,
				   DMG_CONF_FILE_MAX >> 10);
	else
		rc = dmg_conf_parse(buf, len, path, c, err);
	free(buf);
	close(fd);
	return rc;
}

int
dmg_conf_format(const struct dmg_conf *c, char *buf, size_t len)
{
	const char *lvl = "info";
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == c->log_level)
			lvl = levels[i].name;
	return snprintf(buf, len, "hook_migrate_timeout = %u\nhook_event_timeout = %u\nlog_level = %s\n",
			c->hook_migrate_timeout, c->hook_event_timeout, lvl);
}
