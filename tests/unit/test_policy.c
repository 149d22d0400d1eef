#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/diskpath.h"
#include "libvirt/policy.h"
#include "unit.h"

#define NS "xmlns:drbdmig=\"urn:drbdmig:1\""

static const char devices[] =
	"<disk type='block' device='disk'><source dev='/dev/vg0/t-vda'/><target dev='vda' bus='virtio'/></disk>\n"
	"<disk type='block' device='disk'><source dev='/dev/vg0/t-vdb'/><target dev='vdb' bus='virtio'/></disk>\n"
	"<disk type='block'><source dev='/dev/vg0/t-vdc'/><target dev='vdc' bus='virtio'/></disk>\n"
	"<disk type='file' device='disk'><source file='/var/lib/libvirt/images/f.img'/><target dev='vdf'/></disk>\n"
	"<disk type='block' device='cdrom'><source dev='/dev/sr0'/><target dev='hdc'/></disk>\n"
	"<disk type='block' device='disk'><source dev='/dev/vg0/s'/><target dev='vds'/><shareable/></disk>\n"
	"<disk type='block' device='disk'><target dev='vdn'/></disk>\n"
	"<disk type='block' device='disk'><source dev='relative/path'/><target dev='vdr'/></disk>\n"
	"<disk type='volume' device='disk'><source pool='lvpool' volume='t-vol'/><target dev='vdv'/></disk>\n"
	"<disk type='volume' device='disk'><source pool='lvpool'/><target dev='vdw'/></disk>\n"
	"<disk type='volume' device='disk'><source pool='a/b' volume='v'/><target dev='vdx'/></disk>\n"
	"<disk type='volume' device='disk'><source pool='p' volume='-v'/><target dev='vdy'/></disk>\n"
	"<disk type='network' device='disk'><source protocol='nbd' name='x'/><target dev='vdq'/></disk>\n";

/* A domain with the test devices and the given <metadata> content. */
static char *
domain(const char *metadata)
{
	static const char fmt[] =
		"<domain type='kvm'>\n<name>t1</name>\n<uuid>11111111-2222-4333-8444-555555555555</uuid>\n"
		"<metadata>%s</metadata>\n<devices>\n%s</devices>\n</domain>\n";
	size_t n = sizeof(fmt) + strlen(metadata) + sizeof(devices);
	char *s = malloc(n);

	CU_ASSERT_FATAL(s != NULL);
	snprintf(s, n, fmt, metadata, devices);
	return s;
}

static int
parse_meta(const char *metadata, struct dmg_policy **p, struct dmg_error *err)
{
	char *xml = domain(metadata);
	int rc;

	dmg_error_clear(err);
	rc = dmg_policy_parse(xml, strlen(xml), p, err);
	free(xml);
	return rc;
}

/* Asserts that metadata is rejected with a message containing each needle. */
static void
expect_error(const char *metadata, const char *needle1, const char *needle2)
{
	struct dmg_policy *p = (struct dmg_policy *)0x1;
	struct dmg_error err;
	int rc = parse_meta(metadata, &p, &err);

	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(strchr(err.msg, '\n') == NULL);
	if (needle1 && !strstr(err.msg, needle1))
		fprintf(stderr, "\n  message '%s' lacks '%s'\n", err.msg, needle1);
	CU_ASSERT(!needle1 || strstr(err.msg, needle1) != NULL);
	CU_ASSERT(!needle2 || strstr(err.msg, needle2) != NULL);
	dmg_policy_free(rc == 0 ? p : NULL);
}

static void
test_minimal_defaults(void)
{
	struct dmg_policy *p = NULL;
	struct dmg_error err;

	CU_ASSERT_EQUAL_FATAL(parse_meta("<drbdmig:policy " NS "><drbdmig:disk target='vda'/></drbdmig:policy>",
					 &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p->domain, "t1");
	CU_ASSERT_STRING_EQUAL(p->uuid, "11111111-2222-4333-8444-555555555555");
	CU_ASSERT_EQUAL(p->ndisks, 1);
	CU_ASSERT_STRING_EQUAL(p->disks[0].target, "vda");
	CU_ASSERT_STRING_EQUAL(p->disks[0].source, "/dev/vg0/t-vda");
	CU_ASSERT_EQUAL(p->disks[0].resync_rate_kib, DMG_RATE_DEFAULT_KIB);
	CU_ASSERT_EQUAL(p->disks[0].source_after, DMG_SOURCE_REMOVE);
	CU_ASSERT_EQUAL(p->disks[0].sync_mode, DMG_SYNC_DYNAMIC);
	dmg_policy_free(p);
}

static void
test_defaults_and_overrides(void)
{
	struct dmg_policy *p = NULL;
	struct dmg_error err;

	CU_ASSERT_EQUAL_FATAL(parse_meta(
		"<drbdmig:policy " NS " resync-rate='200M' source-after='keep' sync-mode='fixed'>\n"
		"  <drbdmig:disk target='vda'/>\n"
		"  <drbdmig:disk target='vdb' resync-rate='1G' source-after='remove'/>\n"
		"  <drbdmig:disk target='vdc' sync-mode='dynamic' resync-rate='750'/>\n"
		"</drbdmig:policy>", &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(p->ndisks, 3);
	CU_ASSERT_EQUAL(p->disks[0].resync_rate_kib, 200u << 10);
	CU_ASSERT_EQUAL(p->disks[0].source_after, DMG_SOURCE_KEEP);
	CU_ASSERT_EQUAL(p->disks[0].sync_mode, DMG_SYNC_FIXED);
	CU_ASSERT_EQUAL(p->disks[1].resync_rate_kib, 1u << 20);
	CU_ASSERT_EQUAL(p->disks[1].source_after, DMG_SOURCE_REMOVE);
	CU_ASSERT_EQUAL(p->disks[1].sync_mode, DMG_SYNC_FIXED);
	CU_ASSERT_EQUAL(p->disks[2].resync_rate_kib, 750);
	CU_ASSERT_EQUAL(p->disks[2].sync_mode, DMG_SYNC_DYNAMIC);
	CU_ASSERT_STRING_EQUAL(p->disks[2].source, "/dev/vg0/t-vdc");
	dmg_policy_free(p);
}

static void
test_not_annotated(void)
{
	struct dmg_policy *p = (struct dmg_policy *)0x1;
	struct dmg_error err;

	CU_ASSERT_EQUAL(parse_meta("", &p, &err), 0);
	CU_ASSERT_PTR_NULL(p);
	p = (struct dmg_policy *)0x1;
	CU_ASSERT_EQUAL(parse_meta("<x:policy xmlns:x='urn:other'><x:disk target='vda'/></x:policy>", &p, &err), 0);
	CU_ASSERT_PTR_NULL(p);
	/* Our namespace string in text is not an annotation either. */
	p = (struct dmg_policy *)0x1;
	CU_ASSERT_EQUAL(parse_meta("<x:note xmlns:x='urn:other'>see urn:drbdmig:1</x:note>", &p, &err), 0);
	CU_ASSERT_PTR_NULL(p);
}

static void
test_resolution_errors(void)
{
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdz'/></drbdmig:policy>",
		     "target='vdz'", "no <disk>");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdf'/></drbdmig:policy>",
		     "type='file'", "LVM");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='hdc'/></drbdmig:policy>",
		     "device='cdrom'", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vds'/></drbdmig:policy>",
		     "shareable", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdn'/></drbdmig:policy>",
		     "<source dev=", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdr'/></drbdmig:policy>",
		     "absolute", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vda'/><drbdmig:disk target='vda'/></drbdmig:policy>",
		     "twice", "target='vda'");
}

/* A pool volume: its names, for the daemons to resolve through libvirt. */
static void
test_pool_volume(void)
{
	struct dmg_policy *p = NULL;
	struct dmg_error err;

	CU_ASSERT_EQUAL_FATAL(parse_meta("<drbdmig:policy " NS "><drbdmig:disk target='vda'/>"
					 "<drbdmig:disk target='vdv' source-after='keep'/></drbdmig:policy>",
					 &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(p->ndisks, 2);
	CU_ASSERT_STRING_EQUAL(p->disks[0].source, "/dev/vg0/t-vda");
	CU_ASSERT_PTR_NULL(p->disks[0].pool);
	CU_ASSERT_PTR_NULL(p->disks[0].volume);
	CU_ASSERT_PTR_NULL(p->disks[1].source);
	CU_ASSERT(p->disks[1].pool && strcmp(p->disks[1].pool, "lvpool") == 0);
	CU_ASSERT(p->disks[1].volume && strcmp(p->disks[1].volume, "t-vol") == 0);
	CU_ASSERT_EQUAL(p->disks[1].source_after, DMG_SOURCE_KEEP);
	dmg_policy_free(p);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdw'/></drbdmig:policy>",
		     "target='vdw'", "<source pool='...' volume='...'>");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdx'/></drbdmig:policy>",
		     "target='vdx'", "[A-Za-z0-9._+-]");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdy'/></drbdmig:policy>",
		     "target='vdy'", "<source pool=");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vdq'/></drbdmig:policy>",
		     "type='network'", "type='volume'");
}

static void
test_structure_errors(void)
{
	expect_error("<drbdmig:policy " NS "/>", "names no disk", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vda' resync-rate='fast'/></drbdmig:policy>",
		     "resync-rate", "'fast'");
	expect_error("<drbdmig:policy " NS " resync-rate='5G'><drbdmig:disk target='vda'/></drbdmig:policy>",
		     "out of range", "<drbdmig:policy>");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vda' source-after='delete'/></drbdmig:policy>",
		     "source-after='delete'", "'remove' or 'keep'");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vda' sync-mode='x'/></drbdmig:policy>",
		     "sync-mode", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vda' bogus='1'/></drbdmig:policy>",
		     "unknown attribute 'bogus'", "line ");
	expect_error("<drbdmig:policy " NS "><drbdmig:disk/></drbdmig:policy>",
		     "missing required attribute 'target'", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disks target='vda'/></drbdmig:policy>",
		     "<drbdmig:disks>", NULL);
	expect_error("<drbdmig:policy " NS "><drbdmig:disk target='vda'/></drbdmig:policy>"
		     "<drbdmig:policy " NS "><drbdmig:disk target='vdb'/></drbdmig:policy>",
		     "more than one", NULL);
	expect_error("<drbdmig:config " NS "/>", "expected <drbdmig:policy>", NULL);
}

static void
test_too_many_disks(void)
{
	char *meta = malloc(16384), *p = meta;
	int i;

	CU_ASSERT_FATAL(meta != NULL);
	p += sprintf(p, "<drbdmig:policy " NS ">");
	for (i = 0; i < DMG_POLICY_MAX_DISKS + 1; i++)
		p += sprintf(p, "<drbdmig:disk target='d%d'/>", i);
	sprintf(p, "</drbdmig:policy>");
	expect_error(meta, "too many disks", NULL);
	free(meta);
}

static void
test_malformed(void)
{
	struct dmg_policy *p = (struct dmg_policy *)0x1;
	struct dmg_error err;
	static const char *const bad[] = {
		"", "<", "<domain>", "<domain><name>x</name></domai>", "\xff\xfe<domain/>",
		"<domain><metadata><drbdmig:policy xmlns:drbdmig='urn:drbdmig:1'><drbdmig:disk target='vda'",
		"<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]>"
		"<domain><name>&b;</name></domain>",
		"<notdomain/>",
		"<domain xmlns='urn:x'><name>a</name></domain>",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		p = (struct dmg_policy *)0x1;
		rc = dmg_policy_parse(bad[i], strlen(bad[i]), &p, &err);
		CU_ASSERT(rc < 0);
		CU_ASSERT_PTR_NULL(p);
		CU_ASSERT(err.msg[0] != '\0');
		CU_ASSERT(strchr(err.msg, '\n') == NULL);
	}
	/* Annotated but nameless domain. */
	{
		static const char s[] = "<domain><metadata><drbdmig:policy " NS "><drbdmig:disk target='vda'/>"
					"</drbdmig:policy></metadata></domain>";
		CU_ASSERT(dmg_policy_parse(s, strlen(s), &p, &err) < 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "<name>"));
	}
}

static void
test_huge_and_deep(void)
{
	struct dmg_policy *p = NULL;
	struct dmg_error err;
	size_t n = DMG_XML_MAX + 1, i;
	char *big = malloc(n + 1), *meta;

	CU_ASSERT_FATAL(big != NULL);
	memset(big, ' ', n);
	big[n] = '\0';
	CU_ASSERT_EQUAL(dmg_policy_parse(big, n, &p, &err), -EFBIG);
	CU_ASSERT_PTR_NULL(p);
	free(big);

	/* Just under the limit, annotated: parses. */
	n = DMG_XML_MAX - 4096;
	meta = malloc(n + 256);
	CU_ASSERT_FATAL(meta != NULL);
	i = (size_t)sprintf(meta, "<x:pad xmlns:x='urn:pad'>");
	memset(meta + i, 'a', n - 2048);
	i += n - 2048;
	sprintf(meta + i, "</x:pad><drbdmig:policy " NS "><drbdmig:disk target='vda'/></drbdmig:policy>");
	CU_ASSERT_EQUAL(parse_meta(meta, &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(p);
	dmg_policy_free(p);
	free(meta);

	/* 100000 levels of nesting: libxml2's depth limit stops it, no crash. */
	n = 100000;
	meta = malloc(n * 7 + 1);
	CU_ASSERT_FATAL(meta != NULL);
	for (i = 0; i < n; i++)
		memcpy(meta + i * 3, "<a>", 3);
	for (i = 0; i < n; i++)
		memcpy(meta + n * 3 + i * 4, "</a>", 4);
	meta[n * 7] = '\0';
	expect_error(meta, "malformed", NULL);
	free(meta);
}

static void
check_dir(const char *dir, int expect_ok)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);
	int seen = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d))) {
		struct dmg_policy *p = NULL;
		struct dmg_error err;
		size_t len;
		char *frag;
		int rc;

		if (!strstr(de->d_name, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		frag = read_file(path, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(frag);
		rc = parse_meta(frag, &p, &err);
		if ((rc == 0 && p != NULL) != expect_ok)
			fprintf(stderr, "\n  %s: parser %s (%s)\n", path, rc == 0 ? "accepted" : "rejected",
				err.msg);
		CU_ASSERT((rc == 0 && p != NULL) == expect_ok);
		dmg_policy_free(p);
		free(frag);
		seen++;
	}
	closedir(d);
	CU_ASSERT(seen > 0);
}

/* The schema test (tests/schema-check.sh) runs xmllint over the same files. */
static void
test_agrees_with_schema(void)
{
	char dir[4096];
	const char *data = test_env("TEST_DATA", "tests/data");

	snprintf(dir, sizeof(dir), "%s/schema/valid", data);
	check_dir(dir, 1);
	snprintf(dir, sizeof(dir), "%s/schema/invalid", data);
	check_dir(dir, 0);
}

static void
test_examples(void)
{
	const char *xmld = test_env("XML_DIR", "xml");
	struct dmg_policy *p = NULL;
	struct dmg_error err;
	char path[4096], *xml;
	size_t len;

	snprintf(path, sizeof(path), "%s/examples/domain-one-disk.xml", xmld);
	xml = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_EQUAL(dmg_policy_parse(xml, len, &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p->domain, "web1");
	CU_ASSERT_EQUAL(p->ndisks, 1);
	CU_ASSERT_STRING_EQUAL(p->disks[0].source, "/dev/vg0/web1");
	dmg_policy_free(p);
	free(xml);

	snprintf(path, sizeof(path), "%s/examples/domain-two-disks.xml", xmld);
	xml = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_EQUAL(dmg_policy_parse(xml, len, &p, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(p->ndisks, 2);
	CU_ASSERT_EQUAL(p->disks[0].resync_rate_kib, 200u << 10);
	CU_ASSERT_EQUAL(p->disks[1].resync_rate_kib, 1u << 20);
	CU_ASSERT_EQUAL(p->disks[1].sync_mode, DMG_SYNC_FIXED);
	CU_ASSERT_EQUAL(p->disks[1].source_after, DMG_SOURCE_KEEP);
	CU_ASSERT_STRING_EQUAL(p->disks[1].source, "/dev/vg0/db1-data");
	dmg_policy_free(p);
	free(xml);
}

static void
test_rates(void)
{
	static const struct { const char *s; int rc; uint64_t kib; } cases[] = {
		{ "1", 0, 1 }, { "1K", 0, 1 }, { "512k", 0, 512 }, { "100M", 0, 102400 },
		{ "4G", 0, 4194304 }, { "4194304", 0, 4194304 }, { "4194305", -ERANGE, 0 },
		{ "5G", -ERANGE, 0 }, { "0", -ERANGE, 0 }, { "0M", -ERANGE, 0 },
		{ "", -EINVAL, 0 }, { "M", -EINVAL, 0 }, { "10T", -EINVAL, 0 }, { "1.5G", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 }, { " 1M", -EINVAL, 0 }, { "1M ", -EINVAL, 0 }, { "1MiB", -EINVAL, 0 },
		{ "99999999999999999999999999", -ERANGE, 0 }, { "18446744073709551615G", -ERANGE, 0 },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dmg_error err;
		uint64_t kib = 0;
		int rc = dmg_parse_rate(cases[i].s, &kib, &err);

		if (rc != cases[i].rc)
			fprintf(stderr, "\n  rate '%s': rc %d, expected %d\n", cases[i].s, rc, cases[i].rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0)
			CU_ASSERT_EQUAL(kib, cases[i].kib);
	}
	dmg_format_rate(102400, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "100M");
	dmg_format_rate(4194304, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "4G");
	dmg_format_rate(750, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "750K");
}

/* The destination's rewrite: the named disk's <source dev> changes, every
 * other byte of meaning stays (the policy reads back the same but for that
 * path); a target without a disk changes nothing and says so. */
static void
test_diskpath(void)
{
	const char *xmld = test_env("XML_DIR", "xml");
	struct dmg_disk_path dp[] = { { "vdb", "/dev/vg0/db1-data" }, { "vda", "/dev/vg0/new&<'\"" } };
	struct dmg_policy *p = NULL, *q = NULL;
	struct dmg_error err;
	char path[4096], *xml, *out = NULL;
	size_t len, outlen = 0, i;

	snprintf(path, sizeof(path), "%s/examples/domain-two-disks.xml", xmld);
	xml = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_EQUAL_FATAL(dmg_policy_parse(xml, len, &p, &err), 0);
	CU_ASSERT_EQUAL(dmg_diskpath_set(xml, len, dp, 2, &out, &outlen, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(strlen(out), outlen);
	CU_ASSERT_EQUAL_FATAL(dmg_policy_parse(out, outlen, &q, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL_FATAL(q->ndisks, p->ndisks);
	for (i = 0; i < p->ndisks; i++) {
		CU_ASSERT_STRING_EQUAL(q->disks[i].target, p->disks[i].target);
		CU_ASSERT_EQUAL(q->disks[i].resync_rate_kib, p->disks[i].resync_rate_kib);
		CU_ASSERT_EQUAL(q->disks[i].source_after, p->disks[i].source_after);
	}
	CU_ASSERT_STRING_EQUAL(q->disks[0].source, "/dev/vg0/new&<'\"");   /* escaped and back */
	CU_ASSERT_STRING_EQUAL(q->disks[1].source, "/dev/vg0/db1-data");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "tools.iso"));   /* other disks untouched */
	free(out);
	dmg_policy_free(q);

	dp[0].target = "sdz";
	out = (char *)1;
	CU_ASSERT_EQUAL(dmg_diskpath_set(xml, len, dp, 1, &out, &outlen, &err), -ENOENT);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(err.msg, "the domain XML has no disk sdz with a <source>");
	CU_ASSERT_EQUAL(dmg_diskpath_set("<domain/>", 9, dp, 1, &out, &outlen, &err), -ENOENT);
	CU_ASSERT_EQUAL(dmg_diskpath_set("<domain", 7, dp, 1, &out, &outlen, &err), -EINVAL);
	CU_ASSERT_PTR_NULL(out);
	dmg_policy_free(p);
	free(xml);
}

void
register_policy_tests(void)
{
	CU_pSuite s = CU_add_suite("policy", NULL, NULL);

	CU_add_test(s, "minimal annotation gets defaults", test_minimal_defaults);
	CU_add_test(s, "policy-wide defaults and per-disk overrides", test_defaults_and_overrides);
	CU_add_test(s, "domains without the annotation", test_not_annotated);
	CU_add_test(s, "disk resolution errors", test_resolution_errors);
	CU_add_test(s, "a libvirt pool volume", test_pool_volume);
	CU_add_test(s, "structure and value errors", test_structure_errors);
	CU_add_test(s, "too many disks", test_too_many_disks);
	CU_add_test(s, "malformed XML", test_malformed);
	CU_add_test(s, "huge and deeply nested input", test_huge_and_deep);
	CU_add_test(s, "parser agrees with the RELAX NG test set", test_agrees_with_schema);
	CU_add_test(s, "shipped examples", test_examples);
	CU_add_test(s, "rate parsing and formatting", test_rates);
	CU_add_test(s, "the destination's disk-path rewrite", test_diskpath);
}
