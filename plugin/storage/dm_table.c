/* device-mapper table arithmetic and text form: no kernel access here, so
 * all of it is unit-tested. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/dm.h"

int
dmg_dm_table_check(const struct dmg_dm_table *t, uint64_t *sectors, struct dmg_error *err)
{
	uint64_t next = 0;
	size_t i;

	if (t->n == 0)
		return dmg_error_set(err, -EINVAL, "empty device-mapper table");
	if (t->n > DMG_DM_MAX_TARGETS)
		return dmg_error_set(err, -EINVAL, "table has more than %d targets", DMG_DM_MAX_TARGETS);
	for (i = 0; i < t->n; i++) {
		if (t->t[i].start != next)
			return dmg_error_set(err, -EINVAL,
					     "table target %zu starts at sector %" PRIu64 ", expected %" PRIu64,
					     i, t->t[i].start, next);
		if (t->t[i].length == 0 || t->t[i].length > UINT64_MAX - next)
			return dmg_error_set(err, -EINVAL, "table target %zu has a bad length", i);
		if (!t->t[i].type[0])
			return dmg_error_set(err, -EINVAL, "table target %zu has no type", i);
		next += t->t[i].length;
	}
	*sectors = next;
	return 0;
}

int
dmg_dm_table_linear(struct dmg_dm_table *t, uint64_t sectors, unsigned major,
		    unsigned minor, uint64_t offset, struct dmg_error *err)
{
	if (sectors == 0)
		return dmg_error_set(err, -EINVAL, "a linear target needs a non-zero length");
	memset(t, 0, sizeof(*t));
	t->n = 1;
	t->t[0].length = sectors;
	memcpy(t->t[0].type, "linear", sizeof("linear"));
	snprintf(t->t[0].params, sizeof(t->t[0].params), "%u:%u %" PRIu64, major, minor, offset);
	return 0;
}

int
dmg_dm_table_format(const struct dmg_dm_table *t, char *buf, size_t len)
{
	size_t off = 0, i;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < t->n; i++) {
		int n = snprintf(buf + off, len > off ? len - off : 0, "%" PRIu64 " %" PRIu64 " %s %s\n",
				 t->t[i].start, t->t[i].length, t->t[i].type, t->t[i].params);

		if (n < 0 || (size_t)n >= (len > off ? len - off : 0))
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}

static int
parse_u64(const char **p, uint64_t *v)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(*p, &end, 10);
	if (errno || *end != ' ')
		return -EINVAL;
	*p = end + 1;
	return 0;
}

int
dmg_dm_table_parse(const char *text, struct dmg_dm_table *t, struct dmg_error *err)
{
	const char *p = text;
	uint64_t size;

	memset(t, 0, sizeof(*t));
	while (*p) {
		const char *eol = strchr(p, '\n'), *sp;
		struct dmg_dm_target *tg;
		size_t tl, pl;

		if (!eol)
			eol = p + strlen(p);
		if (eol == p) {
			p++;
			continue;
		}
		if (t->n == DMG_DM_MAX_TARGETS)
			return dmg_error_set(err, -E2BIG, "table has more than %d targets", DMG_DM_MAX_TARGETS);
		tg = &t->t[t->n];
		if (parse_u64(&p, &tg->start) < 0 || parse_u64(&p, &tg->length) < 0 || p > eol)
			return dmg_error_set(err, -EINVAL, "table line %zu: expected 'start length type params'",
					     t->n + 1);
		sp = memchr(p, ' ', (size_t)(eol - p));
		tl = sp ? (size_t)(sp - p) : 0;
		if (tl == 0 || tl >= DMG_DM_TYPE_MAX)
			return dmg_error_set(err, -EINVAL, "table line %zu: bad target type", t->n + 1);
		memcpy(tg->type, p, tl);
		p = sp + 1;
		pl = (size_t)(eol - p);
		if (pl == 0 || pl >= DMG_DM_PARAMS_MAX)
			return dmg_error_set(err, -EINVAL, "table line %zu: bad target parameters", t->n + 1);
		memcpy(tg->params, p, pl);
		t->n++;
		p = *eol ? eol + 1 : eol;
	}
	return dmg_dm_table_check(t, &size, err);
}

int
dmg_dm_table_equal(const struct dmg_dm_table *a, const struct dmg_dm_table *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->t[i].start != b->t[i].start || a->t[i].length != b->t[i].length ||
		    strcmp(a->t[i].type, b->t[i].type) != 0 ||
		    strcmp(a->t[i].params, b->t[i].params) != 0)
			return 0;
	return 1;
}

/* What lvm2 calls an LV whose table has this target, for the error line. */
static const struct {
	const char *target, *kind;
} lv_kinds[] = {
	{ "raid", "RAID" },
	{ "mirror", "mirror" },
	{ "snapshot-origin", "snapshot origin" },
	{ "snapshot", "snapshot" },
	{ "snapshot-merge", "merging snapshot" },
	{ "thin", "thin" },
	{ "thin-pool", "thin pool" },
	{ "cache", "cache" },
	{ "writecache", "writecache" },
	{ "integrity", "integrity" },
	{ "vdo", "VDO" },
	{ "error", "failed or missing" },
	{ "zero", "virtual (zero)" },
};

int
dmg_dm_table_plain(const struct dmg_dm_table *t, const char *what, struct dmg_error *err)
{
	const struct dmg_dm_target *tg = NULL;
	char kind[DMG_DM_TYPE_MAX + 16];
	size_t i, n;

	/* A thin LV: one target, "<pool dev> <dev id>".  A fourth word is an
	 * external origin, a read-only device the destination has not. */
	if (t->n == 1 && strcmp(t->t[0].type, "thin") == 0) {
		char pool[32], extra[2];
		unsigned long long id;

		if (sscanf(t->t[0].params, "%31s %llu %1s", pool, &id, extra) == 2)
			return 0;
		return dmg_error_set(err, -ENOTSUP, "%s is a thin LV with an external origin; drbdmig migrates linear, striped and thin LVs only",
				     what);
	}
	for (i = 0; i < t->n && !tg; i++)
		if (strcmp(t->t[i].type, "linear") != 0 && strcmp(t->t[i].type, "striped") != 0)
			tg = &t->t[i];
	if (!tg)
		return 0;
	kind[0] = '\0';
	if (strcmp(tg->type, "raid") == 0) {
		/* The raid target's first parameter is the level: raid1, raid5_ls, ... */
		n = strspn(tg->params, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (n > 0 && n < DMG_DM_TYPE_MAX && (tg->params[n] == ' ' || !tg->params[n]))
			snprintf(kind, sizeof(kind), "%.*s", (int)n, tg->params);
	}
	for (i = 0; !kind[0] && i < sizeof(lv_kinds) / sizeof(lv_kinds[0]); i++)
		if (strcmp(tg->type, lv_kinds[i].target) == 0)
			snprintf(kind, sizeof(kind), "%s", lv_kinds[i].kind);
	if (!kind[0])
		return dmg_error_set(err, -ENOTSUP, "%s is not a linear or striped LV (dm target '%s'); drbdmig migrates linear, striped and thin LVs only",
				     what, tg->type);
	return dmg_error_set(err, -ENOTSUP, "%s is %s %s LV (dm target '%s'); drbdmig migrates linear, striped and thin LVs only",
			     what, strchr("aeiouAEIOU", kind[0]) ? "an" : "a", kind, tg->type);
}
