#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "storage/exec.h"
#include "storage/lvm.h"

#define LVM_TIMEOUT_MS 120000
#define LVM_BIN "/sbin/lvm"

uint64_t
dmg_drbd_md_sectors(uint64_t data_sectors)
{
	return ((data_sectors + (1u << 18) - 1) >> 18) * 8 + 72;
}

void
dmg_lvm_dev_path(const char *vg, const char *lv, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/%s/%s", vg, lv);
}

uint64_t
dmg_lvm_round_extents(uint64_t bytes, uint64_t extent_size)
{
	if (extent_size == 0)
		return bytes;
	return (bytes + extent_size - 1) / extent_size * extent_size;
}

uint64_t
dmg_lvm_md_bytes(uint64_t data_bytes, uint64_t extent_size)
{
	return dmg_lvm_round_extents(dmg_drbd_md_sectors(data_bytes / 512) * 512, extent_size);
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

/* lvm2's data_percent, "12.50" (or "" where it has none), as hundredths of
 * a percent. */
static int
parse_pct(const char *s, size_t n, uint64_t *hundredths)
{
	uint64_t whole = 0, frac = 0;
	size_t i = 0, k;

	while (n && *s == ' ') {
		s++;
		n--;
	}
	if (n == 0) {
		*hundredths = 0;
		return 0;
	}
	for (; i < n && s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		whole = whole * 10 + (uint64_t)(s[i] - '0');
	if (i == 0 || whole > 100)
		return -EINVAL;
	if (i < n && s[i] == '.') {
		for (k = 0, i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++)
			if (k < 2)
				frac = frac * 10 + (uint64_t)(s[i] - '0');
		if (k == 0)
			return -EINVAL;
		if (k == 1)
			frac *= 10;
	}
	for (; i < n && s[i] == ' '; i++)
		;
	if (i != n || whole * 100 + frac > 10000)
		return -EINVAL;
	*hundredths = whole * 100 + frac;
	return 0;
}

#define LVS_FIELDS "vg_name,lv_name,lv_size,vg_extent_size,vg_free,lv_tags,segtype,pool_lv,data_percent"
#define LVS_NF 9

int
dmg_lvm_parse_lvs(const char *line, struct dmg_lv *lv, struct dmg_error *err)
{
	const char *f[LVS_NF];
	size_t len[LVS_NF], i = 0;
	const char *p = line;
	char seg[32];
	uint64_t pct;

	memset(lv, 0, sizeof(*lv));
	for (i = 0; i < LVS_NF; i++) {
		const char *bar = strchr(p, '|');
		const char *end = bar ? bar : p + strcspn(p, "\n");

		f[i] = p;
		len[i] = (size_t)(end - p);
		if (!bar && i < LVS_NF - 1)
			return dmg_error_set(err, -EINVAL, "unexpected lvs output: %.100s", line);
		p = bar ? bar + 1 : end;
	}
	if (copy_field(lv->vg, sizeof(lv->vg), f[0], len[0]) < 0 ||
	    copy_field(lv->lv, sizeof(lv->lv), f[1], len[1]) < 0 ||
	    parse_bytes(f[2], len[2], &lv->size) < 0 ||
	    parse_bytes(f[3], len[3], &lv->extent_size) < 0 ||
	    parse_bytes(f[4], len[4], &lv->vg_free) < 0 ||
	    copy_field(seg, sizeof(seg), f[6], len[6]) < 0 ||
	    parse_pct(f[8], len[8], &pct) < 0)
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
	/* pool_lv also names a cache LV's cache pool: only segtype says thin */
	if (strcmp(seg, "thin") == 0 &&
	    copy_field(lv->thin_pool, sizeof(lv->thin_pool), f[7], len[7]) < 0)
		return dmg_error_set(err, -EINVAL, "unexpected lvs output (a thin LV without its pool): %.100s",
				     line);
	lv->is_thin_pool = strcmp(seg, "thin-pool") == 0;
	/* lvm2 rounds data_percent to two decimals (never to 0.00 or 100.00
	 * unless exact): one hundredth more, rounded up, so that admission
	 * never counts on space it has not seen. */
	if (pct > 0 && pct < 10000)
		pct++;
	if (lv->thin_pool[0] || lv->is_thin_pool)
		lv->used = lv->size / 10000 * pct + (lv->size % 10000 * pct + 9999) / 10000;
	return 0;
}

#define NV(a) (sizeof(a) / sizeof((a)[0]))

/* An untrusted name or path in an error line: bounded, and anything
 * unprintable shown as '?' so that the error stays one line. */
static const char *
shown(char *buf, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* lvm2 gives these to the sub-LVs it hides (raid images, thin and cache
 * pools, mirror logs, ...) and to its own temporary volumes. */
static const char *const lv_prefix[] = { "snapshot", "pvmove" };
static const char *const lv_infix[] = {
	"_cdata", "_cmeta", "_corig", "_iorig", "_mimage", "_mlog", "_pmspare",
	"_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig",
};

static int
check_name(const char *n, const char *what, int is_lv, struct dmg_error *err)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_.-";
	char show[80], why[64] = "";
	size_t i, len = n ? strlen(n) : 0;

	if (len == 0)
		return dmg_error_set(err, -EINVAL, "empty LVM %s name", what);
	if (len >= DMG_LVM_NAME_MAX)
		snprintf(why, sizeof(why), "longer than %d characters", DMG_LVM_NAME_MAX - 1);
	else if (n[0] == '-')
		snprintf(why, sizeof(why), "it starts with '-'");
	else if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		snprintf(why, sizeof(why), "'.' and '..' are not names");
	else if (n[strspn(n, ok)])
		snprintf(why, sizeof(why), "only A-Z a-z 0-9 + _ . - are allowed");
	for (i = 0; is_lv && !why[0] && i < NV(lv_prefix); i++)
		if (strncmp(n, lv_prefix[i], strlen(lv_prefix[i])) == 0)
			snprintf(why, sizeof(why), "lvm2 reserves names starting '%s'", lv_prefix[i]);
	for (i = 0; is_lv && !why[0] && i < NV(lv_infix); i++)
		if (strstr(n, lv_infix[i]))
			snprintf(why, sizeof(why), "lvm2 reserves names containing '%s'", lv_infix[i]);
	if (!why[0])
		return 0;
	return dmg_error_set(err, -EINVAL, "'%s' is not a valid LVM %s name: %s",
			     shown(show, sizeof(show), n), what, why);
}

int
dmg_lvm_check_vg(const char *vg, struct dmg_error *err)
{
	return check_name(vg, "volume group", 0, err);
}

int
dmg_lvm_check_lv(const char *lv, struct dmg_error *err)
{
	return check_name(lv, "logical volume", 1, err);
}

int
dmg_lvm_check_path(const char *path, struct dmg_error *err)
{
	const char *why = NULL, *p;
	char show[80];
	size_t len = path ? strlen(path) : 0;

	if (len == 0)
		return dmg_error_set(err, -EINVAL, "empty device path");
	if (len > 255)
		why = "longer than 255 bytes";
	else if (strncmp(path, "/dev/", 5) != 0)
		why = "not an absolute path under /dev/";
	for (p = path; !why && *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			why = "it has a space, a control or a non-ASCII byte";
	for (p = path; !why && (p = strstr(p, "/..")); p++)
		if (p[3] == '\0' || p[3] == '/')
			why = "it has a '..' component";
	if (!why)
		return 0;
	return dmg_error_set(err, -EINVAL, "'%s' is not a device path drbdmig accepts: %s",
			     shown(show, sizeof(show), path), why);
}

/* "VG/LV" or a /dev path, as lvm2's tools take them. */
static int
check_lv_arg(const char *arg, struct dmg_error *err)
{
	char vg[DMG_LVM_NAME_MAX];
	const char *slash = arg ? strchr(arg, '/') : NULL;
	size_t n;

	if (arg && arg[0] == '/')
		return dmg_lvm_check_path(arg, err);
	if (!slash)
		return dmg_error_set(err, -EINVAL, "'%s' is neither a device path nor VG/LV",
				     arg ? arg : "");
	n = (size_t)(slash - arg);
	if (n >= sizeof(vg))
		n = sizeof(vg) - 1;   /* still too long for check_name */
	memcpy(vg, arg, n);
	vg[n] = '\0';
	if (n == sizeof(vg) - 1)
		return dmg_error_set(err, -EINVAL, "LVM volume group name longer than %d characters",
				     DMG_LVM_NAME_MAX - 1);
	return dmg_lvm_check_vg(vg, err) < 0 ? err->code : dmg_lvm_check_lv(slash + 1, err);
}

int
dmg_lvm_lookup(const char *path, struct dmg_lv *lv, struct dmg_error *err)
{
	/* "--": whatever the argument, lvm2 never reads it as an option. */
	char *argv[] = { LVM_BIN, "lvs", "--noheadings", "--units", "b", "--nosuffix",
			 "--separator", "|", "-o", LVS_FIELDS,
			 "--", (char *)path, NULL };
	char out[4096];
	int rc;

	memset(lv, 0, sizeof(*lv));
	if ((rc = check_lv_arg(path, err)) < 0)
		return rc;
	rc = dmg_exec_ok(argv, out, sizeof(out), LVM_TIMEOUT_MS, err);
	if (rc < 0)
		return dmg_error_prefix(err, "%s is not an LVM logical volume", path);
	return dmg_lvm_parse_lvs(out, lv, err);
}

int
dmg_lvm_by_devno(unsigned major, unsigned minor, struct dmg_lv *lv, struct dmg_error *err)
{
	char select[96], out[4096], *nl;
	char *argv[] = { LVM_BIN, "lvs", "--noheadings", "--units", "b", "--nosuffix",
			 "--separator", "|", "-o", LVS_FIELDS,
			 "--select", select, NULL };
	int rc;

	memset(lv, 0, sizeof(*lv));
	snprintf(select, sizeof(select), "lv_kernel_major=%u&&lv_kernel_minor=%u", major, minor);
	rc = dmg_exec_ok(argv, out, sizeof(out), LVM_TIMEOUT_MS, err);
	if (rc < 0)
		return dmg_error_prefix(err, "asking LVM for the LV of device %u:%u", major, minor);
	/* lvs prints nothing (and succeeds) when no LV matches */
	if (strspn(out, " \t\n") == strlen(out))
		return dmg_error_set(err, -ENODEV, "device %u:%u is not an LVM logical volume",
				     major, minor);
	nl = strchr(out, '\n');
	if (nl && strspn(nl, " \t\n") != strlen(nl))
		return dmg_error_set(err, -EINVAL, "LVM names more than one LV for device %u:%u",
				     major, minor);
	return dmg_lvm_parse_lvs(out, lv, err);
}

int
dmg_lvm_resolve(const char *path, struct dmg_lv *lv, struct dmg_error *err)
{
	struct stat st;
	char show[80];
	int rc;

	memset(lv, 0, sizeof(*lv));
	/* only stat(2) sees the path: any absolute path the admin chose */
	if (!path || path[0] != '/' || strlen(path) > 255)
		return dmg_error_set(err, -EINVAL, "'%s' is not an absolute device path",
				     shown(show, sizeof(show), path ? path : ""));
	if (stat(path, &st) < 0)
		return dmg_error_sys(err, -errno, "%s", shown(show, sizeof(show), path));
	if (!S_ISBLK(st.st_mode))
		return dmg_error_set(err, -ENOTBLK, "%s is not a block device",
				     shown(show, sizeof(show), path));
	rc = dmg_lvm_by_devno(major(st.st_rdev), minor(st.st_rdev), lv, err);
	return rc < 0 ? dmg_error_prefix(err, "%s", shown(show, sizeof(show), path)) : 0;
}

int
dmg_lvm_vg(const char *vg, uint64_t *free_bytes, uint64_t *extent_size,
	   struct dmg_error *err)
{
	char *argv[] = { LVM_BIN, "vgs", "--noheadings", "--units", "b", "--nosuffix",
			 "--separator", "|", "-o", "vg_free,vg_extent_size", "--", (char *)vg, NULL };
	char out[512];
	int rc = dmg_lvm_check_vg(vg, err);
	unsigned long long f, e;

	if (rc < 0)
		return rc;
	rc = dmg_exec(argv, out, sizeof(out), LVM_TIMEOUT_MS, err);
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
dmg_lvm_create(const char *vg, const char *name, uint64_t bytes, const char *thin_pool,
	       struct dmg_error *err)
{
	char size[32], pool[2 * DMG_LVM_NAME_MAX + 8];
	char *argv[] = { LVM_BIN, "lvcreate", "--yes", "--wipesignatures", "n",
			 "--addtag", DMG_LVM_TAG, "--name", (char *)name, "--size", size,
			 "--", (char *)vg, NULL };
	/* A thin LV reads as zeros where nothing was written: no wiping, and
	 * no activation skip (lvm2 sets it on thin snapshots only). */
	char *thin_argv[] = { LVM_BIN, "lvcreate", "--yes", "--wipesignatures", "n",
			      "--addtag", DMG_LVM_TAG, "--name", (char *)name, "--virtualsize", size,
			      "--setactivationskip", "n", "--thin", "--", pool, NULL };
	int rc;

	if ((rc = dmg_lvm_check_vg(vg, err)) < 0 || (rc = dmg_lvm_check_lv(name, err)) < 0 ||
	    (thin_pool && (rc = dmg_lvm_check_lv(thin_pool, err)) < 0))
		return rc;
	snprintf(size, sizeof(size), "%" PRIu64 "b", bytes);
	if (thin_pool)
		snprintf(pool, sizeof(pool), "%s/%s", vg, thin_pool);
	rc = dmg_exec_ok(thin_pool ? thin_argv : argv, NULL, 0, LVM_TIMEOUT_MS, err);
	if (rc < 0 && thin_pool)
		return dmg_error_prefix(err, "cannot create thin LV %s/%s in pool %s", vg, name, thin_pool);
	return rc < 0 ? dmg_error_prefix(err, "cannot create LV %s/%s", vg, name) : 0;
}

int
dmg_lvm_thin_pool(const char *vg, const char *pool, uint64_t *size, uint64_t *used,
		  struct dmg_error *err)
{
	char path[2 * DMG_LVM_NAME_MAX + 8];
	struct dmg_lv lv;
	int rc;

	if ((rc = dmg_lvm_check_vg(vg, err)) < 0 || (rc = dmg_lvm_check_lv(pool, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", vg, pool);
	if (dmg_lvm_lookup(path, &lv, err) < 0)
		return dmg_error_set(err, -ENOENT, "there is no thin pool %s", path);
	if (!lv.is_thin_pool)
		return dmg_error_set(err, -EMEDIUMTYPE, "%s is not a thin pool", path);
	*size = lv.size;
	*used = lv.used;
	return 0;
}

int
dmg_lvm_remove_found(const struct dmg_lv *lv, int guest_lv, struct dmg_error *err)
{
	char path[2 * DMG_LVM_NAME_MAX + 8];
	char *argv[] = { LVM_BIN, "lvremove", "--yes", "--", path, NULL };
	int rc;

	if ((rc = dmg_lvm_check_vg(lv->vg, err)) < 0 || (rc = dmg_lvm_check_lv(lv->lv, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", lv->vg, lv->lv);
	if (!lv->tagged && !guest_lv)
		return dmg_error_set(err, -EPERM, "refusing to remove %s: not created by drbdmig (no '%s' tag)",
				     path, DMG_LVM_TAG);
	rc = dmg_exec_ok(argv, NULL, 0, LVM_TIMEOUT_MS, err);
	return rc < 0 ? dmg_error_prefix(err, "cannot remove LV %s", path) : 0;
}

int
dmg_lvm_remove(const char *vg, const char *name, int guest_lv, struct dmg_error *err)
{
	char path[2 * DMG_LVM_NAME_MAX + 8];
	struct dmg_lv lv = { 0 };
	int rc;

	if ((rc = dmg_lvm_check_vg(vg, err)) < 0 || (rc = dmg_lvm_check_lv(name, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", vg, name);
	rc = dmg_lvm_lookup(path, &lv, err);
	return rc < 0 ? rc : dmg_lvm_remove_found(&lv, guest_lv, err);
}

int
dmg_lvm_deltag(const char *vg, const char *name, struct dmg_error *err)
{
	char path[2 * DMG_LVM_NAME_MAX + 8];
	char *argv[] = { LVM_BIN, "lvchange", "--deltag", DMG_LVM_TAG, "--", path, NULL };
	int rc;

	if ((rc = dmg_lvm_check_vg(vg, err)) < 0 || (rc = dmg_lvm_check_lv(name, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", vg, name);
	rc = dmg_exec_ok(argv, NULL, 0, LVM_TIMEOUT_MS, err);
	return rc < 0 ? dmg_error_prefix(err, "cannot remove the '%s' tag from %s", DMG_LVM_TAG, path) : 0;
}

int
dmg_lvm_each_tagged(int (*fn)(const struct dmg_lv *lv, void *arg), void *arg,
		    struct dmg_error *err)
{
	static const char select[] = "lv_tags=" DMG_LVM_TAG;
	char *argv[] = { LVM_BIN, "lvs", "--noheadings", "--units", "b", "--nosuffix",
			 "--separator", "|", "-o", LVS_FIELDS,
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
