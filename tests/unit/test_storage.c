/* Pure parts of the storage layer: dm table arithmetic and text form, lvs
 * output parsing, the DRBD metadata size formula. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/textfile.h"
#include "storage/alloc.h"
#include "storage/backend.h"
#include "storage/dm.h"
#include "storage/lvm.h"
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

/* Tables as `dmsetup table` prints them for LVs of each kind (lvm2 2.03,
 * kernel 6.1): copy-create may duplicate only linear, striped and thin ones. */
static void
test_plain_lv(void)
{
	static const struct {
		const char *table, *msg;
	} cases[] = {
		{ "0 16384 linear 254:16 2048\n", NULL },
		{ "0 8192 linear 8:16 2048\n8192 8192 linear 8:32 34816\n", NULL },
		{ "0 16384 striped 2 128 8:16 2048 8:32 2048\n", NULL },
		{ "0 16384 raid raid1 3 0 region_size 1024 2 254:3 254:4 254:5 254:6\n",
		  "/dev/vg0/r1 is a raid1 LV (dm target 'raid'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 raid raid5_ls 3 128 region_size 1024 3 254:3 254:4 254:5 254:6 254:7 254:8\n",
		  "/dev/vg0/r1 is a raid5_ls LV (dm target 'raid'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 snapshot-origin 254:7\n",
		  "/dev/vg0/r1 is a snapshot origin LV (dm target 'snapshot-origin'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 snapshot 254:7 254:8 P 8\n",
		  "/dev/vg0/r1 is a snapshot LV (dm target 'snapshot'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 cache 254:4 254:3 254:5 128 2 metadata2 writethrough smq 0\n",
		  "/dev/vg0/r1 is a cache LV (dm target 'cache'); drbdmig migrates linear, striped and thin LVs only" },
		/* a thin LV: the pool keeps one device however many tables open it */
		{ "0 16384 thin 254:6 1\n", NULL },
		{ "0 16384 thin 254:6 1 254:9\n",
		  "/dev/vg0/r1 is a thin LV with an external origin; drbdmig migrates linear, striped and thin LVs only" },
		/* a thin target is one LV's whole table */
		{ "0 8192 thin 254:6 1\n8192 8192 linear 8:16 2048\n",
		  "/dev/vg0/r1 is a thin LV (dm target 'thin'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 mirror core 1 1024 2 254:3 0 254:4 0 1 handle_errors\n",
		  "/dev/vg0/r1 is a mirror LV (dm target 'mirror'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 integrity 254:3 0 4 J 6 journal_sectors:2048 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 internal_hash:crc32c\n",
		  "/dev/vg0/r1 is an integrity LV (dm target 'integrity'); drbdmig migrates linear, striped and thin LVs only" },
		/* one foreign target among linear ones is enough */
		{ "0 8192 linear 8:16 2048\n8192 8192 thin-pool 254:2 254:3 128 0 0\n",
		  "/dev/vg0/r1 is a thin pool LV (dm target 'thin-pool'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 crypt aes-xts-plain64 :64:logon:cryptsetup:x 0 8:16 4096\n",
		  "/dev/vg0/r1 is not a linear or striped LV (dm target 'crypt'); drbdmig migrates linear, striped and thin LVs only" },
		{ "0 16384 raid raid1-bogus 3\n",
		  "/dev/vg0/r1 is a RAID LV (dm target 'raid'); drbdmig migrates linear, striped and thin LVs only" },
	};
	struct dmg_dm_table t;
	struct dmg_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL_FATAL(dmg_dm_table_parse(cases[i].table, &t, &err), 0);
		if (!cases[i].msg) {
			CU_ASSERT_EQUAL(dmg_dm_table_plain(&t, "/dev/vg0/r1", &err), 0);
			continue;
		}
		CU_ASSERT_EQUAL(dmg_dm_table_plain(&t, "/dev/vg0/r1", &err), -ENOTSUP);
		CU_ASSERT_STRING_EQUAL(err.msg, cases[i].msg);
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
	/* the metadata LV: 1 TiB of data in 4 MiB extents; 256 MiB in one extent */
	CU_ASSERT_EQUAL(dmg_lvm_md_bytes(1ull << 40, 4u << 20), 36u << 20);
	CU_ASSERT_EQUAL(dmg_lvm_md_bytes(256u << 20, 4u << 20), 4u << 20);
}

static void
test_lvs_parse(void)
{
	struct dmg_lv lv;
	struct dmg_error err;

	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|web1|67108864|4194304|436207616||linear||\n", &lv, &err), 0);
	CU_ASSERT_STRING_EQUAL(lv.vg, "vg0");
	CU_ASSERT_STRING_EQUAL(lv.lv, "web1");
	CU_ASSERT_EQUAL(lv.size, 67108864);
	CU_ASSERT_EQUAL(lv.extent_size, 4194304);
	CU_ASSERT_EQUAL(lv.vg_free, 436207616);
	CU_ASSERT_EQUAL(lv.tagged, 0);
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|web1.drbdmeta|4194304|4194304|0|backup,drbdmig|linear||\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.tagged, 1);
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|x|1|1|0|drbdmigX|striped||\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.tagged, 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|web1|big|4194304|0||linear||\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|web1\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("", &lv, &err) < 0);
	CU_ASSERT_EQUAL(lv.thin_pool[0], '\0');
	CU_ASSERT_EQUAL(lv.used, 0);

	/* lvm2 2.03.16 in the lab: a 64 MiB thin LV with three 64 KiB chunks
	 * written (196608 bytes, shown as 0.29 %) in the 32 MiB pool tpool
	 * (the same chunks and the pool's own, 0.59 %).  The allocation is
	 * read rounded up, never below what the pool holds. */
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|t1|67108864|4194304|2092957696||thin|tpool|0.29\n", &lv, &err), 0);
	CU_ASSERT_STRING_EQUAL(lv.thin_pool, "tpool");
	CU_ASSERT_EQUAL(lv.is_thin_pool, 0);
	CU_ASSERT_EQUAL(lv.used, 201327);   /* 0.30 % of 64 MiB, rounded up */
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|tpool|33554432|4194304|2092957696||thin-pool||0.59\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.thin_pool[0], '\0');
	CU_ASSERT_EQUAL(lv.is_thin_pool, 1);
	CU_ASSERT_EQUAL(lv.used, 201327);   /* 0.60 % of 32 MiB */
	/* empty and full are exact */
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|t2|67108864|4194304|0||thin|tpool|0.00\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.used, 0);
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|t2|67108864|4194304|0||thin|tpool|100.00\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.used, 67108864);
	/* a cache LV names its cache pool in pool_lv: not thin */
	CU_ASSERT_EQUAL(dmg_lvm_parse_lvs("  vg0|c1|67108864|4194304|0||cache|c1pool|0.00\n", &lv, &err), 0);
	CU_ASSERT_EQUAL(lv.thin_pool[0], '\0');
	CU_ASSERT_EQUAL(lv.used, 0);
	/* a thin LV without its pool, percentages lvm2 never prints */
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|t1|67108864|4194304|0||thin||0.29\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|t1|67108864|4194304|0||thin|tpool|100.01\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|t1|67108864|4194304|0||thin|tpool|-1\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|t1|67108864|4194304|0||thin|tpool|1.\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|t1|67108864|4194304|0||thin|tpool|12x\n", &lv, &err) < 0);
	CU_ASSERT(dmg_lvm_parse_lvs("  vg0|t1|67108864|4194304|0||thin|tpool|1000\n", &lv, &err) < 0);
}

/* The object names the backend makes read back to their session; names
 * that are not drbdmig's do not. */
static void
test_obj_names(void)
{
	struct dmg_session s = { .sid = "0a1b2c3d" };
	char res[64], copy[64], md[64], sid[DMG_SID_LEN + 1];

	dmg_sess_res_name(&s, 1, res, sizeof(res));
	dmg_sess_copy_name(&s, 1, copy, sizeof(copy));
	dmg_sess_md_name(&s, 1, md, sizeof(md));
	CU_ASSERT_STRING_EQUAL(res, "drbdmig-0a1b2c3d-1");
	CU_ASSERT_STRING_EQUAL(copy, "drbdmig-0a1b2c3d-1-copy");
	CU_ASSERT_STRING_EQUAL(md, "drbdmig-0a1b2c3d-1-md");
	for (const char *const *n = (const char *const[]){ res, copy, md, NULL }; *n; n++) {
		memset(sid, 0, sizeof(sid));
		CU_ASSERT_EQUAL(dmg_sess_name_sid(*n, sid), 0);
		CU_ASSERT_STRING_EQUAL(sid, "0a1b2c3d");
	}
	CU_ASSERT(dmg_sess_name_is_md(md));
	CU_ASSERT(!dmg_sess_name_is_md(res));
	CU_ASSERT(!dmg_sess_name_is_md(copy));
	CU_ASSERT(!dmg_sess_name_is_md("web-md"));
	CU_ASSERT(!dmg_sess_name_is_md("drbdmig-md"));
	CU_ASSERT_EQUAL(dmg_sess_name_sid("drbdmig-0a1b2c3", sid), -EINVAL);
	CU_ASSERT_EQUAL(dmg_sess_name_sid("drbdmix-0a1b2c3d-1", sid), -EINVAL);
	CU_ASSERT_EQUAL(dmg_sess_name_sid("", sid), -EINVAL);
	CU_ASSERT_EQUAL(dmg_sess_name_sid(NULL, sid), -EINVAL);
}

/* In dry-run mode a step changes nothing and succeeds, but peer-has-all is
 * refused: it may let a rollback remove a copy, and without DRBD it proves
 * nothing. */
static void
test_dry_run_checks(void)
{
	struct dmg_session *s = calloc(1, sizeof(*s));
	struct dmg_error err = { 0 };
	struct dmg_backend b;
	struct dmg_log log;
	char out[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	snprintf(s->sid, sizeof(s->sid), "0a1b2c3d");
	s->role = DMG_ROLE_DST;
	s->ndisks = 1;
	snprintf(s->disks[0].target, sizeof(s->disks[0].target), "vda");
	snprintf(s->disks[0].vg, sizeof(s->disks[0].vg), "vg0");
	snprintf(s->disks[0].lv, sizeof(s->disks[0].lv), "web");
	pthread_mutex_init(&s->mu, NULL);
	dmg_log_open(&log, "test", 0, 0, DMG_LOG_ERR);
	dmg_backend_init(&b);
	b.dry_run = 1;
	b.log = &log;
	CU_ASSERT_EQUAL(dmg_backend_act(&b, s, "lv-create", 0, NULL, out, sizeof(out), &err), 0);
	CU_ASSERT_EQUAL(dmg_backend_act(&b, s, "wait-synced", 0, NULL, out, sizeof(out), &err), 0);
	CU_ASSERT_EQUAL(dmg_backend_act(&b, s, "peer-has-all", 0, NULL, out, sizeof(out), &err),
			-ENOTSUP);
	CU_ASSERT_STRING_EQUAL(err.msg, "peer-has-all (vda): dry run: no DRBD to ask");
	CU_ASSERT_EQUAL(dmg_backend_act(&b, s, "peer-has-all", 1, NULL, out, sizeof(out), &err),
			-EINVAL);
	dmg_backend_fini(&b);
	dmg_log_close(&log);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void
register_storage_tests(void)
{
	CU_pSuite s = CU_add_suite("storage", NULL, NULL);

	CU_add_test(s, "linear swap table has the LV's length", test_linear_swap_table);
	CU_add_test(s, "dm table parse/format round trip", test_parse_roundtrip);
	CU_add_test(s, "dm table errors", test_parse_errors);
	CU_add_test(s, "only linear, striped and thin LVs are copied", test_plain_lv);
	CU_add_test(s, "DRBD external metadata size", test_md_formula);
	CU_add_test(s, "lvs output", test_lvs_parse);
	CU_add_test(s, "object names read back to their session", test_obj_names);
	CU_add_test(s, "a dry run changes nothing and proves nothing", test_dry_run_checks);
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

/* The bounded reader /proc and libvirt's status files go through: a file
 * that reports no size, the exact bound, one byte over, a missing file. */
static void
test_textfile(void)
{
	char path[] = "/tmp/dmg-text-XXXXXX", big[70000], *text = NULL;
	struct dmg_error err;
	size_t len = 0;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	memset(big, 'x', sizeof(big));
	CU_ASSERT_FATAL(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big));
	close(fd);
	/* larger than the first buffer: grows, keeps every byte */
	CU_ASSERT_EQUAL(dmg_textfile_read(path, sizeof(big), &text, &len, &err), 0);
	CU_ASSERT_EQUAL(len, sizeof(big));
	CU_ASSERT(text && text[len] == '\0' && text[0] == 'x' && text[len - 1] == 'x');
	free(text);
	CU_ASSERT_EQUAL(dmg_textfile_read(path, sizeof(big) - 1, &text, &len, &err), -EFBIG);
	CU_ASSERT_PTR_NULL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
	unlink(path);
	CU_ASSERT_EQUAL(dmg_textfile_read(path, 100, &text, &len, &err), -ENOENT);
	CU_ASSERT_PTR_NULL(text);
	/* st_size 0, content all the same */
	CU_ASSERT_EQUAL(dmg_textfile_read("/proc/self/status", 1u << 20, &text, NULL, &err), 0);
	CU_ASSERT(text && strncmp(text, "Name:", 5) == 0);
	free(text);
}

void
register_alloc_tests(void)
{
	CU_pSuite s = CU_add_suite("alloc", NULL, NULL);

	CU_add_test(s, "minor and port allocation", test_alloc);
	CU_add_test(s, "a whole text file, bounded", test_textfile);
}
