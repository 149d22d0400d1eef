#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "lvm.h"

#define LVM_TIMEOUT_MS 120000
#define LVM_BIN "/sbin/lvm"

uint64_t
dmg_drbd_md_sectors(uint64_t data_sectors)
{
	return ((data_sectors + (1u << 18) - 1) >> 18) * 8 + 72;
}

uint64_t
dmg_lvm_round_extents(uint64_t bytes, uint64_t extent_size)
{
	if (extent_size == 0)
		return bytes;
	return (bytes + extent_size - 1) / extent_size * extent_size;
}

static int
copy_field(char *dst, size_t len, const char *s, size_t n)
{
	while (n && *s == ' ') {
		s++;
		n--;
	}
	if (n == 0 || n >= len)
		return -EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
parse_bytes(const char *s, size_t n, uint64_t *v)
{
	char buf[32], *end;

	if (copy_field(buf, sizeof(buf), s, n) < 0)
		return -EINVAL;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno || end == buf || (*end && *end != ' ') ? -EINVAL : 0;
}

int
dmg_lvm_parse_lvs(const char *line, struct dmg_lv *lv, struct dmg_error *err)
{
	const char *f[6];
	size_t len[6], i = 0;
	const char *p = line;

	memset(lv, 0, sizeof(*lv));
	for (i = 0; i < 6; i++) {
		const char *bar = strchr(p, '|');
		const char *end = bar ? bar : p + strcspn(p, "\n");

		f[i] = p;
		len[i] = (size_t)(end - p);
		if (!bar && i < 5)
			return dmg_error_set(err, -EINVAL, "unexpected lvs output: %.100s", line);
		p = bar ? bar + 1 : end;
	}
	if (copy_field(lv->vg, sizeof(lv->vg), f[0], len[0]) < 0 ||
	    copy_field(lv->lv, sizeof(lv->lv), f[1], len[1]) < 0 ||
	    parse_bytes(f[2], len[2], &lv->size) < 0 ||
	    parse_bytes(f[3], len[3], &lv->extent_size) < 0 ||
	    parse_bytes(f[4], len[4], &lv->vg_free) < 0)
		return dmg_error_set(err, -EINVAL, "unexpected lvs output: %.100s", line);
	/* lv_tags is a comma-separated list */
	{
		char tags[256];
		char *save = NULL, *t;

		if (len[5] >= sizeof(tags))
			len[5] = sizeof(tags) - 1;
		memcpy(tags, f[5], len[5]);
		tags[len[5]] = '\0';
		for (t = strtok_r(tags, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
			if (strcmp(t, DMG_LVM_TAG) == 0)
				lv->tagged = 1;
	}
	return 0;
}

int
dmg_lvm_lookup(const char *path, struct dmg_lv *lv, struct dmg_error *err)
{
	char *argv[] = { LVM_BIN, "lvs", "--noheadings", "--units", "b", "--nosuffix",
			 "--separator", "|", "-o", "vg_name,lv_name,lv_size,vg_extent_size,vg_free,lv_tags",
			 (char *)path, NULL };
	char out[1024];
	int rc = dmg_exec_ok(argv, out, sizeof(out), LVM_TIMEOUT_MS, err);

	memset(lv, 0, sizeof(*lv));
	if (rc < 0)
		return dmg_error_prefix(err, "%s is not an LVM logical volume", path);
	return dmg_lvm_parse_lvs(out, lv, err);
}

int
dmg_lvm_vg(const char *vg, uint64_t *free_bytes, uint64_t *extent_size,
	   struct dmg_error *err)
{
	char *argv[] = { LVM_BIN, "vgs", "--noheadings", "--units", "b", "--nosuffix",
			 "--separator", "|", "-o", "vg_free,vg_extent_size", (char *)vg, NULL };
	char out[512];
	int rc = dmg_exec(argv, out, sizeof(out), LVM_TIMEOUT_MS, err);
	unsigned long long f, e;

	if (rc < 0)
		return rc;
	if (rc != 0)
		return dmg_error_set(err, -ENOENT, "volume group '%s' not found", vg);
	if (sscanf(out, " %llu|%llu", &f, &e) != 2)
		return dmg_error_set(err, -EINVAL, "unexpected vgs output: %.100s", out);
	*free_bytes = f;
	*extent_size = e;
	return 0;
}

int
dmg_lvm_create(const char *vg, const char *name, uint64_t bytes, struct dmg_error *err)
{
	char size[32];
	char *argv[] = { LVM_BIN, "lvcreate", "--yes", "--wipesignatures", "n",
			 "--addtag", DMG_LVM_TAG, "-n", (char *)name, "-L", size, (char *)vg, NULL };
	int rc;

	snprintf(size, sizeof(size), "%" PRIu64 "b", bytes);
	rc = dmg_exec_ok(argv, NULL, 0, LVM_TIMEOUT_MS, err);
	return rc < 0 ? dmg_error_prefix(err, "cannot create LV %s/%s", vg, name) : 0;
}

int
dmg_lvm_remove(const char *vg, const char *name, int guest_lv, struct dmg_error *err)
{
	char path[2 * DMG_LVM_NAME_MAX + 8];
	char *argv[] = { LVM_BIN, "lvremove", "--yes", path, NULL };
	struct dmg_lv lv = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/%s", vg, name);
	rc = dmg_lvm_lookup(path, &lv, err);
	if (rc < 0)
		return rc;
	if (!lv.tagged && !guest_lv)
		return dmg_error_set(err, -EPERM, "refusing to remove %s: not created by drbdmig (no '%s' tag)",
				     path, DMG_LVM_TAG);
	rc = dmg_exec_ok(argv, NULL, 0, LVM_TIMEOUT_MS, err);
	return rc < 0 ? dmg_error_prefix(err, "cannot remove LV %s", path) : 0;
}

int
dmg_lvm_each_tagged(int (*fn)(const struct dmg_lv *lv, void *arg), void *arg,
		    struct dmg_error *err)
{
	static const char select[] = "lv_tags=" DMG_LVM_TAG;
	char *argv[] = { LVM_BIN, "lvs", "--noheadings", "--units", "b", "--nosuffix",
			 "--separator", "|", "-o", "vg_name,lv_name,lv_size,vg_extent_size,vg_free,lv_tags",
			 "--select", (char *)select, NULL };
	char *out = malloc(1u << 20), *line, *save = NULL;
	int rc;

	if (!out)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	rc = dmg_exec_ok(argv, out, 1u << 20, LVM_TIMEOUT_MS, err);
	for (line = rc < 0 ? NULL : strtok_r(out, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		struct dmg_lv lv;

		if (strspn(line, " \t") == strlen(line))
			continue;
		rc = dmg_lvm_parse_lvs(line, &lv, err);
		if (rc == 0)
			rc = fn(&lv, arg);
	}
	free(out);
	return rc;
}
