/* lvm2 names and paths: lvm2's own naming rules, device paths the storage
 * layer accepts, and the argv handed to lvm2's tools.  The unit binary is
 * linked with -Wl,--wrap=dmg_exec,--wrap=dmg_exec_ok: no lvm2 tool ever
 * runs here; each call lands below, which keeps the argv for the test. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/exec.h"
#include "storage/lvm.h"
#include "unit.h"

#define ARGS_MAX 32

/* What the last exec was asked to run, and the answer the next gets.
 * Outside this suite (active 0) the real dmg_exec runs: the exec suite
 * tests it in the same binary. */
static struct {
	int active;
	int calls, argc;
	char argv[ARGS_MAX][300];
	int status;
	const char *out;
} ex;

int __wrap_dmg_exec(char *const argv[], char *out, size_t outlen, int timeout_ms,
		    struct dmg_error *err);
int __wrap_dmg_exec_ok(char *const argv[], char *out, size_t outlen, int timeout_ms,
		       struct dmg_error *err);
int __real_dmg_exec(char *const argv[], char *out, size_t outlen, int timeout_ms,
		    struct dmg_error *err);
int __real_dmg_exec_ok(char *const argv[], char *out, size_t outlen, int timeout_ms,
		       struct dmg_error *err);

int
__wrap_dmg_exec(char *const argv[], char *out, size_t outlen, int timeout_ms,
		struct dmg_error *err)
{
	if (!ex.active)
		return __real_dmg_exec(argv, out, outlen, timeout_ms, err);
	ex.calls++;
	for (ex.argc = 0; ex.argc < ARGS_MAX && argv[ex.argc]; ex.argc++)
		snprintf(ex.argv[ex.argc], sizeof(ex.argv[0]), "%s", argv[ex.argc]);
	if (out && outlen)
		snprintf(out, outlen, "%s", ex.out ? ex.out : "  Failed to find logical volume\n");
	return ex.status;
}

int
__wrap_dmg_exec_ok(char *const argv[], char *out, size_t outlen, int timeout_ms,
		   struct dmg_error *err)
{
	int rc;

	if (!ex.active)
		return __real_dmg_exec_ok(argv, out, outlen, timeout_ms, err);
	rc = __wrap_dmg_exec(argv, out, outlen, timeout_ms, err);

	return rc ? dmg_error_set(err, -EIO, "%s failed (exit %d)", argv[0], rc) : 0;
}

static int
lvm_suite_init(void)
{
	ex.active = 1;
	return 0;
}

static int
lvm_suite_clean(void)
{
	ex.active = 0;
	return 0;
}

static void
answer(int status, const char *out)
{
	ex.status = status;
	ex.out = out;
}

/* The last argv ends with "--" and then exactly the names given. */
static int
ends_with(const char *a, const char *b)
{
	int n = b ? 2 : 1;

	if (ex.argc < n + 1 || strcmp(ex.argv[ex.argc - n - 1], "--") != 0)
		return 0;
	if (strcmp(ex.argv[ex.argc - n], a) != 0)
		return 0;
	return !b || strcmp(ex.argv[ex.argc - 1], b) == 0;
}

static int
has_arg(const char *a)
{
	int i;

	for (i = 0; i < ex.argc; i++)
		if (strcmp(ex.argv[i], a) == 0)
			return i;
	return -1;
}

static void
test_names(void)
{
	static const char *const good[] = {
		"vg0", "VG_data", "a", "a.b", "a..b", "x+y", "web-1", "_x", "lv.",
	};
	static const char *const bad_both[] = {
		"", "-x", "--config=devices{filter=[\"r|.*|\"]}", ".", "..", "a b", "a/b", "a;b",
		"a\nb", "a\tb", "\xc3\xa9", "a$b", "a*",
	};
	/* reserved by lvm2 for LVs only: snapshot/pvmove prefixes, sub-LV suffixes */
	static const char *const bad_lv[] = {
		"snapshot", "snapshot0", "pvmove0", "r1_rimage_0", "r1_rmeta_1", "m_mimage_0",
		"m_mlog", "pool_tdata", "pool_tmeta", "c_cdata", "c_cmeta", "c_corig", "lvol0_pmspare",
		"v_vorigin", "vdo_vdata", "i_iorig", "w_wcorig",
	};
	char longest[DMG_LVM_NAME_MAX], toolong[DMG_LVM_NAME_MAX + 1];
	struct dmg_error err;
	size_t i;

	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(toolong, 'a', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(dmg_lvm_check_vg(good[i], &err), 0);
		CU_ASSERT_EQUAL(dmg_lvm_check_lv(good[i], &err), 0);
	}
	CU_ASSERT_EQUAL(dmg_lvm_check_lv(longest, &err), 0);
	CU_ASSERT_EQUAL(dmg_lvm_check_vg(toolong, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_check_lv(toolong, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_check_vg(NULL, &err), -EINVAL);
	for (i = 0; i < sizeof(bad_both) / sizeof(bad_both[0]); i++) {
		CU_ASSERT_EQUAL(dmg_lvm_check_vg(bad_both[i], &err), -EINVAL);
		CU_ASSERT_EQUAL(dmg_lvm_check_lv(bad_both[i], &err), -EINVAL);
		/* one line, whatever the name held */
		CU_ASSERT_PTR_NULL(strpbrk(err.msg, "\n\t\r"));
	}
	for (i = 0; i < sizeof(bad_lv) / sizeof(bad_lv[0]); i++) {
		CU_ASSERT_EQUAL(dmg_lvm_check_vg(bad_lv[i], &err), 0);
		CU_ASSERT_EQUAL(dmg_lvm_check_lv(bad_lv[i], &err), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lvm2 reserves names"));
	}
	dmg_lvm_check_lv("-x", &err);
	CU_ASSERT_STRING_EQUAL(err.msg, "'-x' is not a valid LVM logical volume name: it starts with '-'");
	dmg_lvm_check_lv("r1_rimage_0", &err);
	CU_ASSERT_STRING_EQUAL(err.msg, "'r1_rimage_0' is not a valid LVM logical volume name: lvm2 reserves names containing '_rimage'");
	dmg_lvm_check_vg("a\nb", &err);
	CU_ASSERT_STRING_EQUAL(err.msg, "'a?b' is not a valid LVM volume group name: only A-Z a-z 0-9 + _ . - are allowed");
}

static void
test_paths(void)
{
	static const char *const good[] = {
		"/dev/vg0/web1", "/dev/mapper/vg0-web1", "/dev/vg0/a..b", "/dev/loop0",
		"/dev/disk/by-id/dm-name-vg0-web1",
	};
	static const char *const bad[] = {
		"", "vg0/web1", "dev/vg0/web1", "/tmp/disk.img", "--help", "-/dev/x", "/dev",
		"/dev/../etc/shadow", "/dev/vg0/..", "/dev/vg0/../../etc/x", "/dev/vg0/a b",
		"/dev/vg0/a\tb", "/dev/vg0/a\nb", "/dev/vg0/\x1b[2J", "/dev/vg0/\xc3\xa9",
	};
	char longp[300];
	struct dmg_error err;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_EQUAL(dmg_lvm_check_path(good[i], &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(dmg_lvm_check_path(bad[i], &err), -EINVAL);
		CU_ASSERT_PTR_NULL(strpbrk(err.msg, "\n\t\r\x1b"));
	}
	CU_ASSERT_EQUAL(dmg_lvm_check_path(NULL, &err), -EINVAL);
	snprintf(longp, sizeof(longp), "/dev/vg0/%0250d", 0);
	CU_ASSERT_EQUAL(dmg_lvm_check_path(longp, &err), -EINVAL);
	dmg_lvm_check_path("/dev/../etc/shadow", &err);
	CU_ASSERT_STRING_EQUAL(err.msg, "'/dev/../etc/shadow' is not a device path drbdmig accepts: it has a '..' component");
}

/* Every lvm2 tool gets "--" right before the names: nothing a name holds
 * is read as an option.  And a bad name runs no tool at all. */
static void
test_tool_argv(void)
{
	struct dmg_lv lv;
	struct dmg_error err;
	uint64_t f, e;
	int calls, i;

	memset(&ex, 0, sizeof(ex));
	ex.active = 1;
	answer(5, NULL);
	CU_ASSERT(dmg_lvm_lookup("/dev/vg0/web1", &lv, &err) < 0);
	CU_ASSERT_EQUAL(ex.calls, 1);
	CU_ASSERT_STRING_EQUAL(ex.argv[0], "/sbin/lvm");
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "lvs");
	CU_ASSERT(ends_with("/dev/vg0/web1", NULL));
	CU_ASSERT(dmg_lvm_lookup("vg0/web1.md", &lv, &err) < 0);
	CU_ASSERT(ends_with("vg0/web1.md", NULL));

	CU_ASSERT_EQUAL(dmg_lvm_vg("vg0", &f, &e, &err), -ENOENT);
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "vgs");
	CU_ASSERT(ends_with("vg0", NULL));

	answer(0, "");
	CU_ASSERT_EQUAL(dmg_lvm_create("vg0", "drbdmig-0a1b-0-md", 4u << 20, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "lvcreate");
	CU_ASSERT(ends_with("vg0", NULL));
	i = has_arg("--name");
	CU_ASSERT_FATAL(i > 0 && i + 1 < ex.argc);
	CU_ASSERT_STRING_EQUAL(ex.argv[i + 1], "drbdmig-0a1b-0-md");

	/* a thin LV: its virtual size in the pool VG/POOL */
	CU_ASSERT_EQUAL(dmg_lvm_create("vg0", "web1", 64u << 20, "tpool", &err), 0);
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "lvcreate");
	i = has_arg("--virtualsize");
	CU_ASSERT_FATAL(i > 0 && i + 1 < ex.argc);
	CU_ASSERT_STRING_EQUAL(ex.argv[i + 1], "67108864b");
	CU_ASSERT(ends_with("vg0/tpool", NULL));
	CU_ASSERT(has_arg("--thin") > 0);
	CU_ASSERT(has_arg("--size") < 0);
	CU_ASSERT(has_arg("drbdmig") > 0);
	/* the pool: a thin pool is one; any other LV, or none, is not */
	answer(0, "  vg0|tpool|33554432|4194304|2092957696||thin-pool||0.59\n");
	CU_ASSERT_EQUAL(dmg_lvm_thin_pool("vg0", "tpool", &f, &e, &err), 0);
	CU_ASSERT_EQUAL(f, 33554432);
	CU_ASSERT(e >= 196608 && e < 33554432 / 100);
	CU_ASSERT(ends_with("vg0/tpool", NULL));
	answer(0, "  vg0|tpool|33554432|4194304|2092957696||linear||\n");
	CU_ASSERT_EQUAL(dmg_lvm_thin_pool("vg0", "tpool", &f, &e, &err), -EMEDIUMTYPE);
	CU_ASSERT_STRING_EQUAL(err.msg, "vg0/tpool is not a thin pool");
	answer(5, NULL);
	CU_ASSERT_EQUAL(dmg_lvm_thin_pool("vg0", "tpool", &f, &e, &err), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err.msg, "there is no thin pool vg0/tpool");
	answer(0, "");

	CU_ASSERT_EQUAL(dmg_lvm_deltag("vg0", "web1", &err), 0);
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "lvchange");
	CU_ASSERT(has_arg("--deltag") > 0);
	CU_ASSERT(ends_with("vg0/web1", NULL));

	/* lvremove: after lvs shows the LV carries the tag */
	answer(0, "  vg0|drbdmig-0a1b-0-md|4194304|4194304|0|drbdmig|linear||\n");
	calls = ex.calls;
	CU_ASSERT_EQUAL(dmg_lvm_remove("vg0", "drbdmig-0a1b-0-md", 0, &err), 0);
	CU_ASSERT_EQUAL(ex.calls, calls + 2);
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "lvremove");
	CU_ASSERT(ends_with("vg0/drbdmig-0a1b-0-md", NULL));
	/* an untagged LV is not drbdmig's: lvs only */
	answer(0, "  vg0|web1|4194304|4194304|0||linear||\n");
	calls = ex.calls;
	CU_ASSERT_EQUAL(dmg_lvm_remove("vg0", "web1", 0, &err), -EPERM);
	CU_ASSERT_EQUAL(ex.calls, calls + 1);
	/* the caller looked it up itself: the tag is checked on its answer,
	 * lvremove is the only run */
	memset(&lv, 0, sizeof(lv));
	snprintf(lv.vg, sizeof(lv.vg), "vg0");
	snprintf(lv.lv, sizeof(lv.lv), "drbdmig-0a1b-0-md");
	lv.tagged = 1;
	answer(0, "");
	calls = ex.calls;
	CU_ASSERT_EQUAL(dmg_lvm_remove_found(&lv, 0, &err), 0);
	CU_ASSERT_EQUAL(ex.calls, calls + 1);
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "lvremove");
	CU_ASSERT(ends_with("vg0/drbdmig-0a1b-0-md", NULL));
	lv.tagged = 0;
	CU_ASSERT_EQUAL(dmg_lvm_remove_found(&lv, 0, &err), -EPERM);
	CU_ASSERT_STRING_EQUAL(err.msg, "refusing to remove vg0/drbdmig-0a1b-0-md: not created by drbdmig (no 'drbdmig' tag)");
	CU_ASSERT_EQUAL(dmg_lvm_remove_found(&lv, 1, &err), 0);   /* the guest's own LV */
	CU_ASSERT_EQUAL(ex.calls, calls + 2);
	snprintf(lv.lv, sizeof(lv.lv), "-ff");
	CU_ASSERT_EQUAL(dmg_lvm_remove_found(&lv, 1, &err), -EINVAL);
	CU_ASSERT_EQUAL(ex.calls, calls + 2);

	/* bad names and paths: one error line, no tool run */
	calls = ex.calls;
	CU_ASSERT_EQUAL(dmg_lvm_lookup("--config=global{locking_type=0}", &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_lookup("/dev/vg0/x y", &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_lookup("vg0/-h", &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_lookup("-vg0/web1", &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_lookup("vg0/r1_rimage_0", &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_lookup("web1", &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_vg("-o+vg_uuid", &f, &e, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_create("vg0", "--type=raid1", 4u << 20, NULL, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_create("--yes", "web1", 4u << 20, NULL, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_create("vg0", "snapshot1", 4u << 20, NULL, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_create("vg0", "web1", 4u << 20, "-ff", &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_create("vg0", "web1", 4u << 20, "pool_tdata", &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_thin_pool("vg0", "--yes", &f, &e, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_remove("vg0", "-ff", 1, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_remove("..", "web1", 1, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_deltag("vg0", "a b", &err), -EINVAL);
	CU_ASSERT_EQUAL(ex.calls, calls);
	answer(0, NULL);
}

/* Any path to an LV: the kernel names the device, LVM names the LV (output
 * captured from lvm2 2.03.16 in the lab), nothing parses the path. */
static void
test_resolve(void)
{
	struct dmg_lv lv;
	struct dmg_error err;
	char tmp[] = "/tmp/dmg-test-XXXXXX";
	int calls, fd, i;

	memset(&ex, 0, sizeof(ex));
	ex.active = 1;
	answer(0, "  vg0|benchdisk|1073741824|4194304|1069547520||linear||\n");
	CU_ASSERT_EQUAL(dmg_lvm_by_devno(253, 4, &lv, &err), 0);
	CU_ASSERT_STRING_EQUAL(lv.vg, "vg0");
	CU_ASSERT_STRING_EQUAL(lv.lv, "benchdisk");
	CU_ASSERT_EQUAL(lv.size, 1073741824ULL);
	CU_ASSERT_STRING_EQUAL(ex.argv[1], "lvs");
	i = has_arg("--select");
	CU_ASSERT_FATAL(i > 0 && i + 1 < ex.argc);
	CU_ASSERT_STRING_EQUAL(ex.argv[i + 1], "lv_kernel_major=253&&lv_kernel_minor=4");
	/* no LV has it (a loop device, a DRBD device, a hidden sub-LV) */
	answer(0, "");
	CU_ASSERT_EQUAL(dmg_lvm_by_devno(7, 0, &lv, &err), -ENODEV);
	CU_ASSERT_STRING_EQUAL(err.msg, "device 7:0 is not an LVM logical volume");
	answer(0, "  \n");
	CU_ASSERT_EQUAL(dmg_lvm_by_devno(7, 0, &lv, &err), -ENODEV);
	answer(0, "  vg0|a|4194304|4194304|0||linear||\n  vg1|b|4194304|4194304|0||linear||\n");
	CU_ASSERT_EQUAL(dmg_lvm_by_devno(253, 1, &lv, &err), -EINVAL);
	answer(0, "  garbage\n");
	CU_ASSERT_EQUAL(dmg_lvm_by_devno(253, 1, &lv, &err), -EINVAL);
	answer(5, NULL);
	CU_ASSERT(dmg_lvm_by_devno(253, 1, &lv, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "asking LVM for the LV of device 253:1"));

	/* what is not a block device never reaches lvm2 */
	calls = ex.calls;
	CU_ASSERT_EQUAL(dmg_lvm_resolve("dev/vg0/web1", &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_resolve(NULL, &lv, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_lvm_resolve("/nonexistent/vg0/web1", &lv, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/vg0/web1"));
	fd = mkstemp(tmp);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(dmg_lvm_resolve(tmp, &lv, &err), -ENOTBLK);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is not a block device"));
	unlink(tmp);
	CU_ASSERT_EQUAL(ex.calls, calls);
	answer(0, NULL);
}

void
register_lvm_tests(void)
{
	CU_pSuite s = CU_add_suite("lvm", lvm_suite_init, lvm_suite_clean);

	CU_add_test(s, "VG and LV names by lvm2's rules", test_names);
	CU_add_test(s, "device paths", test_paths);
	CU_add_test(s, "lvm2 tool argv: -- before names, bad names run nothing", test_tool_argv);
	CU_add_test(s, "any path to an LV, by device number", test_resolve);
}
