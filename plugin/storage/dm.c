/* The kernel side of device-mapper: each operation is one dm_task created,
 * filled, run and destroyed here. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <libdevmapper.h>

#include "storage/dm.h"

static const char *
op_name(int type)
{
	switch (type) {
	case DM_DEVICE_CREATE: return "create";
	case DM_DEVICE_RELOAD: return "reload";
	case DM_DEVICE_SUSPEND: return "suspend";
	case DM_DEVICE_RESUME: return "resume";
	case DM_DEVICE_REMOVE: return "remove";
	case DM_DEVICE_CLEAR: return "clear";
	case DM_DEVICE_TABLE: return "table";
	case DM_DEVICE_LIST: return "list";
	default: return "info";
	}
}

/* Runs a filled task; on failure sets err from the ioctl's errno. Waits for
 * udev when a cookie was set.  Destroys the task in every case. */
static int
run_task(struct dm_task *dmt, int type, const char *name, uint32_t *cookie,
	 struct dmg_error *err)
{
	int ok = dm_task_run(dmt), e = ok ? 0 : dm_task_get_errno(dmt);

	if (cookie && *cookie)
		(void)dm_udev_wait(*cookie);
	dm_task_destroy(dmt);
	if (ok)
		return 0;
	if (e <= 0)
		e = EIO;
	return dmg_error_sys(err, -e, "device-mapper %s of '%s' failed", op_name(type), name);
}

static struct dm_task *
new_task(int type, const char *name, struct dmg_error *err)
{
	struct dm_task *dmt = dm_task_create(type);

	if (!dmt) {
		dmg_error_set(err, -ENOMEM, "device-mapper: cannot create a %s task", op_name(type));
		return NULL;
	}
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		dmg_error_set(err, -EINVAL, "device-mapper: bad device name '%s'", name);
		return NULL;
	}
	return dmt;
}

static int
add_targets(struct dm_task *dmt, const struct dmg_dm_table *t, struct dmg_error *err)
{
	uint64_t size;
	size_t i;
	int rc = dmg_dm_table_check(t, &size, err);

	if (rc < 0)
		return rc;
	for (i = 0; i < t->n; i++)
		if (!dm_task_add_target(dmt, t->t[i].start, t->t[i].length, t->t[i].type,
					t->t[i].params))
			return dmg_error_set(err, -ENOMEM, "device-mapper: cannot add a target");
	return 0;
}

static void
fill_info(struct dm_task *dmt, const struct dm_info *di, struct dmg_dm_info *info)
{
	const char *n = dm_task_get_name(dmt), *u = dm_task_get_uuid(dmt);

	memset(info, 0, sizeof(*info));
	info->exists = di->exists;
	if (!di->exists)
		return;
	snprintf(info->name, sizeof(info->name), "%s", n ? n : "");
	snprintf(info->uuid, sizeof(info->uuid), "%s", u ? u : "");
	info->major = (unsigned)di->major;
	info->minor = (unsigned)di->minor;
	info->suspended = di->suspended;
	info->open_count = di->open_count;
	info->live_table = di->live_table;
	info->inactive_table = di->inactive_table;
}

static int
info_task(struct dm_task *dmt, const char *what, struct dmg_dm_info *info,
	  struct dmg_error *err)
{
	struct dm_info di;
	int rc;

	if (!dm_task_run(dmt)) {
		int e = dm_task_get_errno(dmt);

		dm_task_destroy(dmt);
		return dmg_error_sys(err, -(e > 0 ? e : EIO), "device-mapper info of '%s' failed", what);
	}
	rc = dm_task_get_info(dmt, &di) ? 0 : dmg_error_set(err, -EIO, "device-mapper: no info for '%s'", what);
	if (rc == 0)
		fill_info(dmt, &di, info);
	dm_task_destroy(dmt);
	return rc;
}

int
dmg_dm_info(const char *name, struct dmg_dm_info *info, struct dmg_error *err)
{
	struct dm_task *dmt = new_task(DM_DEVICE_INFO, name, err);

	memset(info, 0, sizeof(*info));
	return dmt ? info_task(dmt, name, info, err) : err->code;
}

int
dmg_dm_resolve(const char *path, struct dmg_dm_info *info, struct dmg_error *err)
{
	struct dm_task *dmt;
	struct stat st;
	int rc;

	memset(info, 0, sizeof(*info));
	if (stat(path, &st) < 0)
		return dmg_error_sys(err, -errno, "%s", path);
	if (!S_ISBLK(st.st_mode))
		return dmg_error_set(err, -ENOTBLK, "%s is not a block device", path);
	dmt = new_task(DM_DEVICE_INFO, NULL, err);
	if (!dmt)
		return err->code;
	if (!dm_task_set_major_minor(dmt, (int)major(st.st_rdev), (int)minor(st.st_rdev), 0)) {
		dm_task_destroy(dmt);
		return dmg_error_set(err, -EINVAL, "device-mapper: bad device number");
	}
	rc = info_task(dmt, path, info, err);
	if (rc == 0 && !info->exists)
		rc = dmg_error_set(err, -ENODEV, "%s (%u:%u) is not a device-mapper device",
				   path, major(st.st_rdev), minor(st.st_rdev));
	return rc;
}

int
dmg_dm_get_table(const char *name, struct dmg_dm_table *t, struct dmg_error *err)
{
	struct dm_task *dmt = new_task(DM_DEVICE_TABLE, name, err);
	uint64_t start, length;
	char *type, *params;
	void *next = NULL;
	int e;

	memset(t, 0, sizeof(*t));
	if (!dmt)
		return err->code;
	if (!dm_task_run(dmt)) {
		e = dm_task_get_errno(dmt);
		dm_task_destroy(dmt);
		return dmg_error_sys(err, -(e > 0 ? e : EIO), "device-mapper table of '%s' failed", name);
	}
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (!type)
			break;
		if (t->n == DMG_DM_MAX_TARGETS || strlen(type) >= DMG_DM_TYPE_MAX ||
		    strlen(params) >= DMG_DM_PARAMS_MAX) {
			dm_task_destroy(dmt);
			return dmg_error_set(err, -E2BIG, "'%s' has a table drbdmig cannot hold (%d targets max)",
					     name, DMG_DM_MAX_TARGETS);
		}
		t->t[t->n].start = start;
		t->t[t->n].length = length;
		memcpy(t->t[t->n].type, type, strlen(type) + 1);
		memcpy(t->t[t->n].params, params, strlen(params) + 1);
		t->n++;
	} while (next);
	dm_task_destroy(dmt);
	if (t->n == 0)
		return dmg_error_set(err, -ENODATA, "'%s' has no live table", name);
	return 0;
}

int
dmg_dm_create(const char *name, const char *uuid, const struct dmg_dm_table *t,
	      struct dmg_error *err)
{
	uint32_t cookie = 0;
	struct dm_task *dmt;
	int rc;

	if (strncmp(uuid, DMG_DM_UUID_PREFIX, strlen(DMG_DM_UUID_PREFIX)) != 0)
		return dmg_error_set(err, -EINVAL, "refusing to create '%s': uuid '%s' lacks the %s prefix",
				     name, uuid, DMG_DM_UUID_PREFIX);
	dmt = new_task(DM_DEVICE_CREATE, name, err);
	if (!dmt)
		return err->code;
	if (!dm_task_set_uuid(dmt, uuid)) {
		dm_task_destroy(dmt);
		return dmg_error_set(err, -EINVAL, "device-mapper: bad uuid '%s'", uuid);
	}
	rc = add_targets(dmt, t, err);
	if (rc == 0 && !dm_task_set_cookie(dmt, &cookie, 0))
		rc = dmg_error_set(err, -EIO, "device-mapper: cannot set a udev cookie");
	if (rc < 0) {
		dm_task_destroy(dmt);
		return rc;
	}
	return run_task(dmt, DM_DEVICE_CREATE, name, &cookie, err);
}

/* Simple name-only operations. */
static int
simple_op(int type, const char *name, int with_cookie, struct dmg_error *err)
{
	uint32_t cookie = 0;
	struct dm_task *dmt = new_task(type, name, err);

	if (!dmt)
		return err->code;
	if (type == DM_DEVICE_REMOVE)
		(void)dm_task_retry_remove(dmt);   /* udev may hold it open briefly */
	if (with_cookie && !dm_task_set_cookie(dmt, &cookie, 0)) {
		dm_task_destroy(dmt);
		return dmg_error_set(err, -EIO, "device-mapper: cannot set a udev cookie");
	}
	return run_task(dmt, type, name, with_cookie ? &cookie : NULL, err);
}

static int
load(const char *name, const struct dmg_dm_table *t, struct dmg_error *err)
{
	struct dm_task *dmt = new_task(DM_DEVICE_RELOAD, name, err);
	int rc;

	if (!dmt)
		return err->code;
	rc = add_targets(dmt, t, err);
	if (rc < 0) {
		dm_task_destroy(dmt);
		return rc;
	}
	return run_task(dmt, DM_DEVICE_RELOAD, name, NULL, err);
}

/* Puts old back after a failed swap; returns 0 if the device is resumed on
 * the old table. */
static int
restore(const char *name, const struct dmg_dm_table *old)
{
	struct dmg_error e2;

	(void)simple_op(DM_DEVICE_CLEAR, name, 0, &e2);
	if (load(name, old, &e2) < 0)
		return -1;
	return simple_op(DM_DEVICE_RESUME, name, 1, &e2);
}

int
dmg_dm_swap(const char *name, const struct dmg_dm_table *new_t,
	    const struct dmg_dm_table *expect_old, struct dmg_error *err)
{
	struct dmg_dm_table live;
	uint64_t new_size = 0, old_size = 0;
	int rc;

	rc = dmg_dm_table_check(new_t, &new_size, err);
	if (rc == 0)
		rc = dmg_dm_table_check(expect_old, &old_size, err);
	if (rc < 0)
		return dmg_error_prefix(err, "table swap of '%s'", name);
	/* The guest must see the same disk size before and after. */
	if (new_size != old_size)
		return dmg_error_set(err, -EINVAL, "table swap of '%s': new table is %llu sectors, the device has %llu",
				     name, (unsigned long long)new_size, (unsigned long long)old_size);
	rc = dmg_dm_get_table(name, &live, err);
	if (rc < 0)
		return rc;
	if (!dmg_dm_table_equal(&live, expect_old))
		return dmg_error_set(err, -ESTALE, "table swap of '%s': its live table is not the one expected; not touching it",
				     name);

	rc = load(name, new_t, err);
	if (rc < 0) {
		struct dmg_error e2;

		(void)simple_op(DM_DEVICE_CLEAR, name, 0, &e2);
		return rc;   /* nothing changed: the live table is untouched */
	}
	rc = simple_op(DM_DEVICE_SUSPEND, name, 0, err);
	if (rc < 0) {
		struct dmg_error e2;

		(void)simple_op(DM_DEVICE_CLEAR, name, 0, &e2);
		(void)simple_op(DM_DEVICE_RESUME, name, 1, &e2);
		return rc;
	}
	rc = simple_op(DM_DEVICE_RESUME, name, 1, err);
	if (rc < 0 && restore(name, expect_old) < 0)
		return dmg_error_prefix(err, "RESTORE FAILED, '%s' may be left suspended", name);
	return rc;
}

int
dmg_dm_remove(const char *name, struct dmg_error *err)
{
	struct dmg_dm_info info;
	int rc = dmg_dm_info(name, &info, err);

	if (rc < 0)
		return rc;
	if (!info.exists)
		return dmg_error_set(err, -ENOENT, "device-mapper device '%s' does not exist", name);
	if (strncmp(info.uuid, DMG_DM_UUID_PREFIX, strlen(DMG_DM_UUID_PREFIX)) != 0)
		return dmg_error_set(err, -EPERM, "refusing to remove '%s': not created by drbdmig (uuid '%s')",
				     name, info.uuid);
	return simple_op(DM_DEVICE_REMOVE, name, 1, err);
}

int
dmg_dm_list_ours(int (*fn)(const struct dmg_dm_info *info, void *arg), void *arg,
		 struct dmg_error *err)
{
	struct dm_task *dmt = new_task(DM_DEVICE_LIST, NULL, err);
	struct dm_names *names;
	unsigned next = 0;
	int rc = 0;

	if (!dmt)
		return err->code;
	if (!dm_task_run(dmt) || !(names = dm_task_get_names(dmt))) {
		dm_task_destroy(dmt);
		return dmg_error_set(err, -EIO, "device-mapper: cannot list devices");
	}
	if (names->dev) {
		do {
			struct dmg_dm_info info;

			names = (struct dm_names *)((char *)names + next);
			if (dmg_dm_info(names->name, &info, err) < 0 || !info.exists)
				continue;
			if (strncmp(info.uuid, DMG_DM_UUID_PREFIX, strlen(DMG_DM_UUID_PREFIX)) == 0) {
				rc = fn(&info, arg);
				if (rc)
					break;
			}
		} while ((next = names->next));
	}
	dm_task_destroy(dmt);
	return rc;
}
