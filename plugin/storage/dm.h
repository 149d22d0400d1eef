/* device-mapper through libdevmapper: one dm_task per ioctl, udev cookies so
 * /dev stays consistent, and the live table swap with its rollback beside it.
 * Devices drbdmig creates carry a DM uuid starting with DMG_DM_UUID_PREFIX;
 * it refuses to create or remove anything else. */
#ifndef DMG_DM_H
#define DMG_DM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DMG_DM_UUID_PREFIX "DRBDMIG-"
#define DMG_DM_NAME_MAX    128
#define DMG_DM_UUID_MAX    129
#define DMG_DM_MAX_TARGETS 64
#define DMG_DM_TYPE_MAX    16
#define DMG_DM_PARAMS_MAX  512

struct dmg_dm_target {
	uint64_t start, length;            /* 512-byte sectors */
	char type[DMG_DM_TYPE_MAX];        /* "linear", "striped", ... */
	char params[DMG_DM_PARAMS_MAX];
};

struct dmg_dm_table {
	size_t n;
	struct dmg_dm_target t[DMG_DM_MAX_TARGETS];
};

struct dmg_dm_info {
	int exists;
	char name[DMG_DM_NAME_MAX];
	char uuid[DMG_DM_UUID_MAX];
	unsigned major, minor;
	int suspended, open_count, live_table, inactive_table;
};

/* --- tables: pure functions, unit-tested ---------------------------------- */

/* Checks that targets are contiguous from sector 0 and sets *sectors to the
 * device size they describe. */
int dmg_dm_table_check(const struct dmg_dm_table *t, uint64_t *sectors,
		       struct dmg_error *err);
/* One linear target: "0 <sectors> linear <major>:<minor> <offset>". */
int dmg_dm_table_linear(struct dmg_dm_table *t, uint64_t sectors, unsigned major,
			unsigned minor, uint64_t offset, struct dmg_error *err);
/* "start length type params" lines, the format of `dmsetup table`. */
int dmg_dm_table_format(const struct dmg_dm_table *t, char *buf, size_t len);
int dmg_dm_table_parse(const char *text, struct dmg_dm_table *t,
		       struct dmg_error *err);
int dmg_dm_table_equal(const struct dmg_dm_table *a, const struct dmg_dm_table *b);
/* Whether drbdmig may duplicate the table: linear and striped targets map
 * nothing but data extents, and a thin device (one "thin" target without an
 * external origin) is the pool's, however many tables open it.  Any other
 * (raid, mirror, cache, snapshot-origin, ...) carries metadata or state a
 * second live copy would corrupt; refused with one line naming what (a
 * path) and the target type. */
int dmg_dm_table_plain(const struct dmg_dm_table *t, const char *what,
		       struct dmg_error *err);

/* --- devices: the kernel ------------------------------------------------- */

/* info->exists is 0 (and 0 returned) when there is no such device. */
int dmg_dm_info(const char *name, struct dmg_dm_info *info, struct dmg_error *err);
/* Resolves a block device path (e.g. /dev/vg0/lv) to its dm device. */
int dmg_dm_resolve(const char *path, struct dmg_dm_info *info, struct dmg_error *err);
int dmg_dm_get_table(const char *name, struct dmg_dm_table *t, struct dmg_error *err);

/* Creates (and resumes) a device owned by drbdmig. */
int dmg_dm_create(const char *name, const char *uuid, const struct dmg_dm_table *t,
		  struct dmg_error *err);

/* Replaces the live table of name by new_t, atomically for the device's
 * users: reload into the inactive slot, suspend (flushing in-flight I/O),
 * resume.  The live table must equal expect_old (what the caller journalled);
 * on any failure after the reload, expect_old is put back and resumed so the
 * device never stays suspended. */
int dmg_dm_swap(const char *name, const struct dmg_dm_table *new_t,
		const struct dmg_dm_table *expect_old, struct dmg_error *err);

/* Removes a device drbdmig created (uuid prefix checked); -ENOENT if gone. */
int dmg_dm_remove(const char *name, struct dmg_error *err);

/* Calls fn for every device whose uuid starts with DMG_DM_UUID_PREFIX. */
int dmg_dm_list_ours(int (*fn)(const struct dmg_dm_info *info, void *arg), void *arg,
		     struct dmg_error *err);

#endif
