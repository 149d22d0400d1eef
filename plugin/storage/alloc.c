#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/textfile.h"
#include "storage/alloc.h"

int
dmg_used_add(struct dmg_used *u, uint32_t v)
{
	if (dmg_used_has(u, v))
		return 0;
	if (u->n == DMG_ALLOC_MAX)
		return -E2BIG;
	u->v[u->n++] = v;
	return 0;
}

int
dmg_used_has(const struct dmg_used *u, uint32_t v)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->v[i] == v)
			return 1;
	return 0;
}

int
dmg_parse_proc_drbd(const char *text, struct dmg_used *u, struct dmg_error *err)
{
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n'), *q = p;
		unsigned long minor;
		char *end;

		while (*q == ' ')
			q++;
		if (isdigit((unsigned char)*q)) {
			minor = strtoul(q, &end, 10);
			if (*end == ':' && minor <= UINT32_MAX && dmg_used_add(u, (uint32_t)minor) < 0)
				return dmg_error_set(err, -E2BIG, "too many DRBD minors in use");
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

int
dmg_parse_proc_net_tcp(const char *text, struct dmg_used *u, struct dmg_error *err)
{
	const char *p = strchr(text, '\n');   /* skip the header line */

	while (p && *++p) {
		const char *eol = strchr(p, '\n'), *colon;
		unsigned long port;
		char *end;

		/* "  0: 0100007F:1E61 00000000:0000 0A ..." -> local port after the
		 * second colon on the line */
		colon = strchr(p, ':');
		colon = colon ? strchr(colon + 1, ':') : NULL;
		if (colon && (!eol || colon < eol)) {
			port = strtoul(colon + 1, &end, 16);
			if (end != colon + 1 && *end == ' ' && port <= 65535 &&
			    dmg_used_add(u, (uint32_t)port) < 0)
				return dmg_error_set(err, -E2BIG, "too many TCP sockets to track");
		}
		p = eol;
	}
	return 0;
}

int
dmg_alloc_pick(const struct dmg_used *used, const struct dmg_used *also, uint32_t lo,
	       uint32_t hi, uint32_t *out, struct dmg_error *err)
{
	uint64_t v;

	for (v = lo; v <= hi; v++)
		if (!dmg_used_has(used, (uint32_t)v) && !(also && dmg_used_has(also, (uint32_t)v))) {
			*out = (uint32_t)v;
			return 0;
		}
	return dmg_error_set(err, -ENOSPC, "no free value between %u and %u", lo, hi);
}

/* A /proc file, or NULL in *out when there is none (no DRBD module, no
 * IPv6): nothing of that kind is in use.  16 MiB is far beyond either. */
static int
read_text(const char *path, char **out, struct dmg_error *err)
{
	int rc = dmg_textfile_read(path, 16u << 20, out, NULL, err);

	if (rc == -ENOENT) {
		dmg_error_clear(err);
		return 0;
	}
	return rc;
}

int
dmg_scan_minors(struct dmg_used *u, struct dmg_error *err)
{
	struct dirent *de;
	char *text;
	DIR *d;
	int rc = read_text("/proc/drbd", &text, err);

	if (rc < 0)
		return rc;
	if (text) {
		rc = dmg_parse_proc_drbd(text, u, err);
		free(text);
		if (rc < 0)
			return rc;
	}
	/* a minor can exist as a block device before /proc/drbd lists it */
	d = opendir("/sys/block");
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "drbd", 4) == 0 && isdigit((unsigned char)de->d_name[4]) &&
		    dmg_used_add(u, (uint32_t)strtoul(de->d_name + 4, NULL, 10)) < 0) {
			closedir(d);
			return dmg_error_set(err, -E2BIG, "too many DRBD minors in use");
		}
	closedir(d);
	return 0;
}

int
dmg_scan_ports(struct dmg_used *u, struct dmg_error *err)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	size_t i;

	for (i = 0; i < 2; i++) {
		char *text;
		int rc = read_text(files[i], &text, err);

		if (rc < 0)
			return rc;
		if (!text)
			continue;
		rc = dmg_parse_proc_net_tcp(text, u, err);
		free(text);
		if (rc < 0)
			return rc;
	}
	return 0;
}
