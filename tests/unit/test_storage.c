/* Pure parts of the storage layer: dm table arithmetic and text form, lvs
 * output parsing, the DRBD metadata size formula. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dm.h"
#include "lvm.h"
#include "unit.h"

static void
test_linear_swap_table(void)
{
	struct dmg_dm_table t;
	struct dmg_error err;
	uint64_t size = 0;
	char buf[256];

	/* The swap table must have the LV's own length (the reference recipe
	 * used the metadata LV's size here). */
	CU_ASSERT_EQUAL(dmg_dm_table_linear(&t, 409600, 147, 0, 0, &err), 0);
	CU_ASSERT_EQUAL(dmg_dm_table_check(&t, &size, &err), 0);
	CU_ASSERT_EQUAL(size, 409600);
	CU_ASSERT(dmg_dm_table_format(&t, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "0 409600 linear 147:0 0\n");
	CU_ASSERT(dmg_dm_table_linear(&t, 0, 147, 0, 0, &err) < 0);
}

static void
test_parse_roundtrip(void)
{
	static const char lvm[] =
		"0 204800 linear 9:126 8300544\n"
		"204800 204800 linear 9:127 2048\n"
		"409600 8192 striped 2 128 8:16 0 8:32 0\n";
	struct dmg_dm_table t, t2;
	struct dmg_error err;
	uint64_t size;
	char buf[1024];

	CU_ASSERT_EQUAL_FATAL(dmg_dm_table_parse(lvm, &t, &err), 0);
	CU_ASSERT_EQUAL(t.n, 3);
	CU_ASSERT_STRING_EQUAL(t.t[2].type, "striped");
	CU_ASSERT_STRING_EQUAL(t.t[2].params, "2 128 8:16 0 8:32 0");
	CU_ASSERT_EQUAL(dmg_dm_table_check(&t, &size, &err), 0);
	CU_ASSERT_EQUAL(size, 417792);
	CU_ASSERT(dmg_dm_table_format(&t, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, lvm);
	CU_ASSERT_EQUAL(dmg_dm_table_parse(buf, &t2, &err), 0);
	CU_ASSERT(dmg_dm_table_equal(&t, &t2));
	t2.t[1].length++;
	CU_ASSERT(!dmg_dm_table_equal(&t, &t2));
	/* a table without trailing newline parses the same */
	CU_ASSERT_EQUAL(dmg_dm_table_parse("0 8 linear 7:0 0", &t2, &err), 0);
	CU_ASSERT_EQUAL(t2.n, 1);
	/* too small an output buffer is reported, not truncated silently */
	CU_ASSERT_EQUAL(dmg_dm_table_format(&t, buf, 20), -ENOSPC);
}

static void
test_parse_errors(void)
{
	static const char *const bad[] = {
		"", "\n", "0 100\n", "x 100 linear 1:2 0\n", "0 100 linear\n",
		"0 100 linear \n", "0 0 linear 1:2 0\n",
		"0 100 linear 1:2 0\n50 100 linear 1:2 0\n",     /* overlap */
		"0 100 linear 1:2 0\n200 100 linear 1:2 0\n",    /* gap */
		"10 100 linear 1:2 0\n",                          /* not from 0 */
		"0 100 averyveryverylongtargettype 1:2 0\n",
		"0 18446744073709551615 linear 1:2 0\n1 5 linear 1:2 0\n",
	};
	struct dmg_dm_table t;
	struct dmg_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = dmg_dm_table_parse(bad[i], &t, &err);

		if (rc == 0)
			fprintf(stderr, "\n  accepted bad table '%s'\n", bad[i]);
		CU_ASSERT(rc < 0);
	}
}

static void
test_md_formula(void)
{
	/* 64 MiB: 131072 sectors -> 1 bitmap chunk of 8 sectors + 72 */
	CU_ASSERT_EQUAL(dmg_drbd_md_sectors(131072), 80);
	/* exactly 2^18 sectors (128 MiB) */
	CU_ASSERT_EQUAL(dmg_drbd_md_sectors(262144), 80);
	CU_ASSERT_EQUAL(dmg_drbd_md_sectors(262145), 88);
	/* 1 TiB: 2^31 sectors -> 2^13 * 8 + 72 = 65608 sectors (~32 MiB) */
	CU_ASSERT_EQUAL(dmg_drbd_md_sectors(1ull << 31), 65608);
	CU_ASSERT_EQUAL(dmg_lvm_round_extents(65608 * 512ull, 4u << 20), 36u << 20);
	CU_ASSERT_EQUAL(dmg_lvm_round_extents(4u << 20, 4u << 20), 4u << 20);
	CU_ASSERT_EQUAL(dmg_lvm_round_extents(1, 4u << 20), 4u << 20);
}

static void
test_lvs_parse(void)
{
	struct dmg_lv lv;
	struct dmg_error err;

	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|web1|67108864|4194304|436207616|\n", &lv, &err), 0);
	CU_ASSERT_STRING_EQUAL(lv.vg, "vg0");
	CU_ASSERT_STRING_EQUAL(lv.lv, "web1");
	CU_ASSERT_EQUAL(lv.size, 67108864);
	CU_ASSERT_EQUAL(lv.extent_size, 4194304);
	CU_ASSERT_EQUAL(lv.vg_free, 436207616);
	CU_ASSERT_EQUAL(lv.tagged, 0);
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|web1.drbdmeta|4194304|4194304|0|backup,drbdmig\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.tagged, 1);
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|x|1|1|0|drbdmigX\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.tagged, 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|web1|big|4194304|0|\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|web1\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("", &lv, &err) < 0);
}

void
register_storage_tests(void)
{
	CU_pSuite s = CU_add_suite("storage", NULL, NULL);

	CU_add_test(s, "linear swap table has the LV's length", test_linear_swap_table);
	CU_add_test(s, "dm table parse/format round trip", test_parse_roundtrip);
	CU_add_test(s, "dm table errors", test_parse_errors);
	CU_add_test(s, "DRBD external metadata size", test_md_formula);
	CU_add_test(s, "lvs output", test_lvs_parse);
}
