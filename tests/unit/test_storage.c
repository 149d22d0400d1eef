/* Pure parts of the storage layer: dm table arithmetic and text form, lvs
 * output parsing, the DRBD metadata size formula. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
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

static void
test_alloc(void)
{
	static const char proc_drbd[] =
		"version: 8.4.11 (api:1/proto:86-101)\n"
		"srcversion: 211FB288A383ED945B83420 \n"
		" 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n"
		"    ns:4 nr:0 dw:4 dr:1337 al:1 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n"
		" 1: cs:Unconfigured\n"
		"12: cs:StandAlone ro:Secondary/Unknown ds:Diskless/DUnknown   r-----\n";
	static const char tcp[] =
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		"   0: 0100007F:1E6D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0\n"
		"   1: 0163000A:1E6E 0263000A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0\n";
	struct dmg_used minors = { 0 }, ports = { 0 }, peer = { 0 };
	struct dmg_error err;
	uint32_t v = 0;

	CU_ASSERT_EQUAL(dmg_parse_proc_drbd(proc_drbd, &minors, &err), 0);
	CU_ASSERT_EQUAL(minors.n, 3);
	CU_ASSERT(dmg_used_has(&minors, 0) && dmg_used_has(&minors, 1) && dmg_used_has(&minors, 12));
	CU_ASSERT_EQUAL(dmg_alloc_pick(&minors, NULL, 0, 100, &v, &err), 0);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(dmg_parse_proc_net_tcp(tcp, &ports, &err), 0);
	CU_ASSERT_EQUAL(ports.n, 2);
	CU_ASSERT(dmg_used_has(&ports, 7789) && dmg_used_has(&ports, 7790));
	/* the peer's used ports count too: one port serves both ends */
	dmg_used_add(&peer, 7791);
	CU_ASSERT_EQUAL(dmg_alloc_pick(&ports, &peer, 7789, 7799, &v, &err), 0);
	CU_ASSERT_EQUAL(v, 7792);
	CU_ASSERT_EQUAL(dmg_alloc_pick(&ports, &peer, 7789, 7791, &v, &err), -ENOSPC);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "7789"));
	/* garbage is ignored, not misread */
	CU_ASSERT_EQUAL(dmg_parse_proc_net_tcp("header\nnot a line\n x: y\n", &ports, &err), 0);
	CU_ASSERT_EQUAL(ports.n, 2);
}

void
register_alloc_tests(void)
{
	CU_pSuite s = CU_add_suite("alloc", NULL, NULL);

	CU_add_test(s, "minor and port allocation", test_alloc);
}
