/* stortool: drives drbdmig's storage primitives one call at a time, so the
 * kernel lab can exercise the real code (not dmsetup/lvm text) step by step.
 * Test tool only; the daemon calls the same library functions. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dm.h"
#include "lvm.h"

static int
fail(const struct dmg_error *err)
{
	fprintf(stderr, "stortool: %s\n", err->msg);
	return 1;
}

static int
print_table(const struct dmg_dm_table *t)
{
	char buf[DMG_DM_MAX_TARGETS * (DMG_DM_PARAMS_MAX + 64)];

	if (dmg_dm_table_format(t, buf, sizeof(buf)) < 0)
		return 1;
	fputs(buf, stdout);
	return 0;
}

static int
read_table_file(const char *path, struct dmg_dm_table *t, struct dmg_error *err)
{
	char buf[DMG_DM_MAX_TARGETS * (DMG_DM_PARAMS_MAX + 64)];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return dmg_error_sys(err, -errno, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return dmg_dm_table_parse(buf, t, err);
}

static int
print_one(const struct dmg_dm_info *info, void *arg)
{
	(void)arg;
	printf("%s %s %u:%u open=%d\n", info->name, info->uuid, info->major, info->minor,
	       info->open_count);
	return 0;
}

static int
usage(void)
{
	fprintf(stderr,
		"usage: stortool resolve PATH            dm name, uuid, devno, size and live table\n"
		"       stortool table NAME              live table of a dm device\n"
		"       stortool create NAME UUID TABLEFILE\n"
		"       stortool copy PATH NAME UUID     new device with PATH's live table\n"
		"       stortool swap-to NAME DEVICE     swap NAME's table to a linear map of DEVICE\n"
		"                                        (same length); prints the old table\n"
		"       stortool swap NAME NEWFILE OLDFILE\n"
		"       stortool remove NAME | list-ours\n"
		"       stortool lv PATH | vg VG | lv-create VG NAME BYTES | lv-remove VG NAME [guest]\n"
		"       stortool md-sectors DATA_SECTORS\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct dmg_error err = { 0 };
	struct dmg_dm_table t, old;
	struct dmg_dm_info info;
	struct dmg_lv lv;
	const char *cmd = argc > 1 ? argv[1] : "";
	uint64_t size;

	if (strcmp(cmd, "resolve") == 0 && argc == 3) {
		if (dmg_dm_resolve(argv[2], &info, &err) < 0 || dmg_dm_get_table(info.name, &t, &err) < 0 ||
		    dmg_dm_table_check(&t, &size, &err) < 0)
			return fail(&err);
		printf("name %s\nuuid %s\ndevno %u:%u\nsectors %" PRIu64 "\nopen %d\n", info.name, info.uuid,
		       info.major, info.minor, size, info.open_count);
		return print_table(&t);
	}
	if (strcmp(cmd, "table") == 0 && argc == 3)
		return dmg_dm_get_table(argv[2], &t, &err) < 0 ? fail(&err) : print_table(&t);
	if (strcmp(cmd, "create") == 0 && argc == 5)
		return read_table_file(argv[4], &t, &err) < 0 || dmg_dm_create(argv[2], argv[3], &t, &err) < 0
		       ? fail(&err) : 0;
	if (strcmp(cmd, "copy") == 0 && argc == 5) {
		if (dmg_dm_resolve(argv[2], &info, &err) < 0 || dmg_dm_get_table(info.name, &t, &err) < 0 ||
		    dmg_dm_create(argv[3], argv[4], &t, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (strcmp(cmd, "swap-to") == 0 && argc == 4) {
		struct stat st;

		if (stat(argv[3], &st) < 0 || !S_ISBLK(st.st_mode)) {
			fprintf(stderr, "stortool: %s is not a block device\n", argv[3]);
			return 1;
		}
		if (dmg_dm_get_table(argv[2], &old, &err) < 0 || dmg_dm_table_check(&old, &size, &err) < 0 ||
		    dmg_dm_table_linear(&t, size, major(st.st_rdev), minor(st.st_rdev), 0, &err) < 0)
			return fail(&err);
		print_table(&old);
		fflush(stdout);
		return dmg_dm_swap(argv[2], &t, &old, &err) < 0 ? fail(&err) : 0;
	}
	if (strcmp(cmd, "swap") == 0 && argc == 5) {
		if (read_table_file(argv[3], &t, &err) < 0 || read_table_file(argv[4], &old, &err) < 0 ||
		    dmg_dm_swap(argv[2], &t, &old, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (strcmp(cmd, "remove") == 0 && argc == 3)
		return dmg_dm_remove(argv[2], &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "list-ours") == 0 && argc == 2)
		return dmg_dm_list_ours(print_one, NULL, &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "lv") == 0 && argc == 3) {
		if (dmg_lvm_lookup(argv[2], &lv, &err) < 0)
			return fail(&err);
		printf("vg %s\nlv %s\nbytes %" PRIu64 "\nextent %" PRIu64 "\nvg_free %" PRIu64 "\ntagged %d\n",
		       lv.vg, lv.lv, lv.size, lv.extent_size, lv.vg_free, lv.tagged);
		return 0;
	}
	if (strcmp(cmd, "vg") == 0 && argc == 3) {
		uint64_t free_b, ext;

		if (dmg_lvm_vg(argv[2], &free_b, &ext, &err) < 0)
			return fail(&err);
		printf("free %" PRIu64 "\nextent %" PRIu64 "\n", free_b, ext);
		return 0;
	}
	if (strcmp(cmd, "lv-create") == 0 && argc == 5)
		return dmg_lvm_create(argv[2], argv[3], strtoull(argv[4], NULL, 10), &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "lv-remove") == 0 && (argc == 4 || argc == 5))
		return dmg_lvm_remove(argv[2], argv[3], argc == 5 && strcmp(argv[4], "guest") == 0, &err) < 0
		       ? fail(&err) : 0;
	if (strcmp(cmd, "md-sectors") == 0 && argc == 3) {
		printf("%" PRIu64 "\n", dmg_drbd_md_sectors(strtoull(argv[2], NULL, 10)));
		return 0;
	}
	return usage();
}
