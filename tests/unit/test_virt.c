#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "libvirt/policy.h"
#include "unit.h"
#include "libvirt/virt.h"

#define HOST_NS "xmlns:h=\"urn:drbdmig:host:1\""
#define POLICY_ELEM "<drbdmig:policy xmlns:drbdmig=\"urn:drbdmig:1\"><drbdmig:disk target=\"vda\"/></drbdmig:policy>"

/* A domain whose <metadata> holds meta. */
static char *
domain(const char *meta)
{
	static const char fmt[] =
		"<domain type='kvm'>\n<name>t1</name>\n"
		"<uuid>11111111-2222-4333-8444-555555555555</uuid>\n"
		"<metadata>%s</metadata>\n<devices/>\n</domain>\n";
	size_t n = sizeof(fmt) + strlen(meta);
	char *s = malloc(n);

	CU_ASSERT_FATAL(s != NULL);
	snprintf(s, n, fmt, meta);
	return s;
}

struct parsed {
	char host[64], addr[64];
	unsigned port;
	struct dmg_error err;
};

static int
parse_xml(const char *xml, size_t len, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	dmg_error_clear(&p->err);
	return dmg_virt_parse_stamp(xml, len, p->host, sizeof(p->host), p->addr,
				    sizeof(p->addr), &p->port, &p->err);
}

static int
parse_meta(const char *meta, struct parsed *p)
{
	char *xml = domain(meta);
	int rc = parse_xml(xml, strlen(xml), p);

	free(xml);
	return rc;
}

static void
expect_fail(const char *meta, int code, const char *needle)
{
	struct parsed p;
	int rc = parse_meta(meta, &p);

	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT_EQUAL(p.err.code, code);
	CU_ASSERT(strchr(p.err.msg, '\n') == NULL);
	if (needle && !strstr(p.err.msg, needle))
		fprintf(stderr, "\n  message '%s' lacks '%s'\n", p.err.msg, needle);
	CU_ASSERT(!needle || strstr(p.err.msg, needle) != NULL);
	/* Outputs are written only on success. */
	CU_ASSERT_EQUAL(p.host[0], '\0');
	CU_ASSERT_EQUAL(p.port, 0);
}

static void
test_stamp_good(void)
{
	struct parsed p;

	/* The form libvirt writes: prefixed, beside the policy element. */
	CU_ASSERT_EQUAL(parse_meta(POLICY_ELEM
				   "<dmghost:drbdmig-host xmlns:dmghost=\"urn:drbdmig:host:1\" "
				   "host=\"hostA\" addr=\"10.77.0.1\" port=\"7780\"/>", &p), 0);
	CU_ASSERT_STRING_EQUAL(p.host, "hostA");
	CU_ASSERT_STRING_EQUAL(p.addr, "10.77.0.1");
	CU_ASSERT_EQUAL(p.port, 7780);

	/* Default namespace, IPv6 address, extreme ports; the prefix does not matter. */
	CU_ASSERT_EQUAL(parse_meta("<drbdmig-host xmlns=\"urn:drbdmig:host:1\" port='1' "
				   "addr='fd00::1' host='b-2.example_org'/>", &p), 0);
	CU_ASSERT_STRING_EQUAL(p.host, "b-2.example_org");
	CU_ASSERT_STRING_EQUAL(p.addr, "fd00::1");
	CU_ASSERT_EQUAL(p.port, 1);
	CU_ASSERT_EQUAL(parse_meta("<h:drbdmig-host " HOST_NS " host='x' addr='y' port='65535'/>", &p), 0);
	CU_ASSERT_EQUAL(p.port, 65535);
}

static void
test_stamp_missing(void)
{
	struct parsed p;
	static const char nometa[] = "<domain><name>x</name></domain>";

	expect_fail(POLICY_ELEM, -ENOENT, "no <drbdmig-host");
	expect_fail("", -ENOENT, NULL);
	CU_ASSERT_EQUAL(parse_xml(nometa, sizeof(nometa) - 1, &p), -ENOENT);
	/* Wrong namespaces, or no namespace at all, are someone else's element. */
	expect_fail("<h:drbdmig-host xmlns:h='urn:drbdmig:host:2' host='a' addr='b' port='1'/>",
		    -ENOENT, NULL);
	expect_fail("<drbdmig:drbdmig-host xmlns:drbdmig='urn:drbdmig:1' host='a' addr='b' port='1'/>",
		    -ENOENT, NULL);
	expect_fail("<drbdmig-host host='a' addr='b' port='1'/>", -ENOENT, NULL);
	/* Only a direct child of <metadata> counts. */
	expect_fail("<x:wrap xmlns:x='urn:other'><h:drbdmig-host " HOST_NS
		    " host='a' addr='b' port='1'/></x:wrap>", -ENOENT, NULL);
}

static void
test_stamp_outside_metadata(void)
{
	static const char xml[] =
		"<domain><name>x</name><devices><h:drbdmig-host " HOST_NS
		" host='a' addr='b' port='1'/></devices></domain>";
	struct parsed p;

	CU_ASSERT_EQUAL(parse_xml(xml, sizeof(xml) - 1, &p), -ENOENT);
}

static void
test_stamp_bad_port(void)
{
	static const char *const ports[] = {
		"0", "65536", "99999999999", "", "+80", " 80", "80 ", "0x50", "-1", "8o",
	};
	char meta[256];
	size_t i;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		snprintf(meta, sizeof(meta),
			 "<h:drbdmig-host " HOST_NS " host='a' addr='b' port='%s'/>", ports[i]);
		expect_fail(meta, -EINVAL, "port");
	}
	expect_fail("<h:drbdmig-host " HOST_NS " host='a' addr='b'/>", -EINVAL, "needs host, addr and port");
}

static void
test_stamp_bad_attrs(void)
{
	expect_fail("<h:drbdmig-host " HOST_NS " addr='b' port='1'/>", -EINVAL, "needs host");
	expect_fail("<h:drbdmig-host " HOST_NS " host='a b' addr='b' port='1'/>", -EINVAL, "bad stamp host");
	expect_fail("<h:drbdmig-host " HOST_NS " host='a' addr='&lt;x&gt;' port='1'/>", -EINVAL, "bad stamp addr");
	expect_fail("<h:drbdmig-host " HOST_NS " host='' addr='b' port='1'/>", -EINVAL, "bad stamp host");
	expect_fail("<h:drbdmig-host " HOST_NS " host='a' addr='b' port='1' color='red'/>", -EINVAL,
		    "unknown stamp attribute");
	expect_fail("<h:drbdmig-host " HOST_NS " xmlns:o='urn:o' o:host='a' host='a' addr='b' port='1'/>",
		    -EINVAL, "namespaced");
	expect_fail("<h:other " HOST_NS "/>", -EINVAL, "unknown element <other>");
}

static void
test_stamp_two(void)
{
	expect_fail("<h:drbdmig-host " HOST_NS " host='a' addr='b' port='1'/>"
		    "<g:drbdmig-host xmlns:g='urn:drbdmig:host:1' host='c' addr='d' port='2'/>",
		    -EINVAL, "second");
}

static void
test_stamp_malformed(void)
{
	static const char notdomain[] =
		"<pool><metadata><h:drbdmig-host " HOST_NS " host='a' addr='b' port='1'/></metadata></pool>";
	static const char broken[] = "<domain><metadata><h:drbdmig-host " HOST_NS;
	static const char entity[] =
		"<!DOCTYPE domain [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
		"<domain><metadata><h:drbdmig-host " HOST_NS " host='&e;' addr='b' port='1'/></metadata></domain>";
	struct parsed p;

	CU_ASSERT_EQUAL(parse_xml(notdomain, sizeof(notdomain) - 1, &p), -EINVAL);
	CU_ASSERT(strstr(p.err.msg, "root element") != NULL);
	CU_ASSERT_EQUAL(parse_xml(broken, sizeof(broken) - 1, &p), -EINVAL);
	CU_ASSERT(strstr(p.err.msg, "malformed domain XML (line 1): ") == p.err.msg);
	/* one line, as the policy's parser words it (the same code) */
	CU_ASSERT(strchr(p.err.msg, '\n') == NULL);
	CU_ASSERT_EQUAL(parse_xml("", 0, &p), -EINVAL);
	/* An external entity is never loaded: the host is not a file's text. */
	CU_ASSERT_EQUAL(parse_xml(entity, sizeof(entity) - 1, &p), -EINVAL);
	CU_ASSERT_EQUAL(p.host[0], '\0');
}

static void
test_stamp_buffers(void)
{
	char meta[600], longhost[300], host[8], addr[8];
	struct dmg_error err;
	unsigned port = 0;
	char *xml;

	/* 253 characters fit the API's limit but not an 8-byte buffer. */
	memset(longhost, 'h', 253);
	longhost[253] = '\0';
	snprintf(meta, sizeof(meta), "<h:drbdmig-host " HOST_NS " host='%s' addr='b' port='1'/>", longhost);
	xml = domain(meta);
	CU_ASSERT_EQUAL(dmg_virt_parse_stamp(xml, strlen(xml), host, sizeof(host), addr,
					     sizeof(addr), &port, &err), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(port, 0);
	free(xml);
	/* 254 characters are over the limit for everyone. */
	memset(longhost, 'h', 254);
	longhost[254] = '\0';
	snprintf(meta, sizeof(meta), "<h:drbdmig-host " HOST_NS " host='%s' addr='b' port='1'/>", longhost);
	expect_fail(meta, -EINVAL, "bad stamp host");
	/* Exactly filling the buffer works. */
	xml = domain("<h:drbdmig-host " HOST_NS " host='1234567' addr='1234567' port='9'/>");
	CU_ASSERT_EQUAL(dmg_virt_parse_stamp(xml, strlen(xml), host, sizeof(host), addr,
					     sizeof(addr), &port, &err), 0);
	CU_ASSERT_STRING_EQUAL(host, "1234567");
	CU_ASSERT_EQUAL(port, 9);
	free(xml);
}

/* A big (but accepted) document still parses; one over DMG_XML_MAX is refused
 * before parsing. */
static void
test_stamp_huge(void)
{
	static const char head[] = "<domain><description>";
	static const char tail[] = "</description><metadata><h:drbdmig-host " HOST_NS
		" host='big' addr='10.0.0.9' port='7788'/></metadata></domain>";
	size_t body = 4u << 20, n = sizeof(head) - 1 + body + sizeof(tail) - 1;
	struct parsed p;
	char *xml = malloc(DMG_XML_MAX + 2);

	CU_ASSERT_FATAL(xml != NULL);
	memcpy(xml, head, sizeof(head) - 1);
	memset(xml + sizeof(head) - 1, 'x', body);
	memcpy(xml + sizeof(head) - 1 + body, tail, sizeof(tail));
	CU_ASSERT_EQUAL(parse_xml(xml, n, &p), 0);
	CU_ASSERT_STRING_EQUAL(p.host, "big");
	CU_ASSERT_EQUAL(p.port, 7788);
	CU_ASSERT_EQUAL(parse_xml(xml, DMG_XML_MAX + 1, &p), -EFBIG);
	free(xml);
}

static void
test_event_str(void)
{
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
			       "stopped/migrated");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED),
			       "started/migrated");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED),
			       "resumed/migrated");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
			       "suspended/paused");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED),
			       "started/booted");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_SUSPENDED,
						  VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED),
			       "suspended/postcopy-failed");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT),
			       "stopped/from-snapshot");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_CRASHED, VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED),
			       "crashed/crashloaded");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED),
			       "defined/added");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(DMG_VIRT_EV_RECONNECTED, 0), "reconnected");
	/* Details and events newer than the table, and garbage. */
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_STOPPED, 7), "stopped/other");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(VIR_DOMAIN_EVENT_STARTED, -3), "started/other");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(9, 0), "unknown/unknown");
	CU_ASSERT_STRING_EQUAL(dmg_virt_event_str(-2, 0), "unknown/unknown");
	CU_ASSERT_STRING_EQUAL(dmg_virt_state_str(DMG_VIRT_SHUTOFF), "shut off");
	CU_ASSERT_STRING_EQUAL(dmg_virt_state_str(DMG_VIRT_ABSENT), "absent");
}

/* ---- the module against libvirt's in-process test driver ------------------ */

struct seen {
	pthread_mutex_t lock;
	int n;
	struct dmg_virt_event ev[16];
};

static void
record(const struct dmg_virt_event *ev, void *arg)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	if (s->n < 16)
		s->ev[s->n++] = *ev;
	pthread_mutex_unlock(&s->lock);
}

static int
seen_event(struct seen *s, const char *name, int event, int detail)
{
	int i, hit = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++)
		if (s->ev[i].event == event && s->ev[i].detail == detail &&
		    strcmp(s->ev[i].name, name) == 0)
			hit = 1;
	pthread_mutex_unlock(&s->lock);
	return hit;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
wait_event(struct seen *s, const char *name, int event, int detail)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (seen_event(s, name, event, detail))
			return 1;
		sleep_ms(50);
	}
	return 0;
}

static int
count_cb(const char *uuid, const char *name, void *arg)
{
	int *n = arg;

	CU_ASSERT_EQUAL(strlen(uuid), 36);
	CU_ASSERT_STRING_EQUAL(name, "test");
	(*n)++;
	return 0;
}

static int
stop_cb(const char *uuid, const char *name, void *arg)
{
	return -ECANCELED;
}

#define TEST_URI "test:///default"

/* Stamp and annotation through the module, checked from a second
 * connection (the test driver's default state is shared by both). */
static void
check_metadata(struct dmg_virt *v, virConnectPtr c)
{
	struct dmg_error err;
	struct parsed p;
	virDomainPtr d = virDomainLookupByName(c, "test");
	char *xml;
	int n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(dmg_virt_each_annotated(v, count_cb, &n, &err), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT,
					     "<policy><disk target='vda'/></policy>", "drbdmig",
					     DMG_POLICY_NS, VIR_DOMAIN_AFFECT_LIVE), 0);
	CU_ASSERT_EQUAL(dmg_virt_each_annotated(v, count_cb, &n, &err), 1);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(dmg_virt_each_annotated(v, stop_cb, NULL, &err), -ECANCELED);

	CU_ASSERT_EQUAL(dmg_virt_stamp(v, "test", "hostA", "10.77.0.1", 7780, &err), 0);
	CU_ASSERT_EQUAL(dmg_virt_stamp(v, "test", "host B", "10.77.0.1", 7780, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_virt_stamp(v, "test", "hostA", "10.77.0.1", 65536, &err), -EINVAL);
	CU_ASSERT_EQUAL(dmg_virt_stamp(v, "nosuchdomain", "hostA", "10.77.0.1", 1, &err), -ENOENT);
	xml = virDomainGetXMLDesc(d, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_EQUAL(parse_xml(xml, strlen(xml), &p), 0);
	CU_ASSERT_STRING_EQUAL(p.host, "hostA");
	CU_ASSERT_STRING_EQUAL(p.addr, "10.77.0.1");
	CU_ASSERT_EQUAL(p.port, 7780);
	/* The policy element survived the stamp. */
	CU_ASSERT(strstr(xml, "urn:drbdmig:1") != NULL);
	free(xml);
	/* A second stamp replaces the first. */
	CU_ASSERT_EQUAL(dmg_virt_stamp(v, "test", "hostB", "10.77.0.2", 7781, &err), 0);
	xml = virDomainGetXMLDesc(d, 0);
	CU_ASSERT_EQUAL(parse_xml(xml, strlen(xml), &p), 0);
	CU_ASSERT_STRING_EQUAL(p.host, "hostB");
	free(xml);
	virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, NULL, NULL, DMG_POLICY_NS,
			     VIR_DOMAIN_AFFECT_LIVE);
	virDomainFree(d);
}

static void
check_events(struct dmg_virt *v, virConnectPtr c, struct seen *s)
{
	char uuid[VIR_UUID_STRING_BUFLEN], uuid2[VIR_UUID_STRING_BUFLEN];
	enum dmg_virt_state st;
	struct dmg_error err;
	virDomainPtr d = virDomainLookupByName(c, "test");
	int reason = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(virDomainSuspend(d), 0);
	CU_ASSERT(wait_event(s, "test", VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED));
	CU_ASSERT_EQUAL(dmg_virt_state(v, "test", &st, &reason, uuid, &err), 0);
	CU_ASSERT_EQUAL(st, DMG_VIRT_PAUSED);
	CU_ASSERT_EQUAL(reason, VIR_DOMAIN_PAUSED_USER);
	CU_ASSERT_EQUAL(virDomainResume(d), 0);
	CU_ASSERT(wait_event(s, "test", VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED));
	/* The same domain found by its UUID. */
	CU_ASSERT_EQUAL(dmg_virt_state(v, uuid, &st, NULL, uuid2, &err), 0);
	CU_ASSERT_EQUAL(st, DMG_VIRT_RUNNING);
	CU_ASSERT_STRING_EQUAL(uuid2, uuid);
	CU_ASSERT_EQUAL(dmg_virt_state(v, "nosuchdomain", &st, NULL, uuid, &err), 0);
	CU_ASSERT_EQUAL(st, DMG_VIRT_ABSENT);
	CU_ASSERT_EQUAL(uuid[0], '\0');
	virDomainFree(d);
}

/* The persistent definition read with its secrets and defined back (the
 * destination's rewrite after --persistent); a transient domain has none;
 * the storage-copy flags are not looked for under a URI but the system's. */
static void
check_persistent(struct dmg_virt *v, virConnectPtr c)
{
	static const char transient[] =
		"<domain type='test'><name>transient1</name><memory>1024</memory>"
		"<os><type>hvm</type></os></domain>";
	struct dmg_error err;
	char *xml = NULL, *again = NULL, *desc;
	size_t len = 0;
	virDomainPtr d;
	int copies = -1;

	CU_ASSERT_EQUAL_FATAL(dmg_virt_persistent_xml(v, "test", &xml, &len, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_EQUAL(len, strlen(xml));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<name>test</name>"));
	/* an edit of the inactive XML, defined back, is what libvirt keeps */
	desc = strstr(xml, "</name>");
	CU_ASSERT_PTR_NOT_NULL_FATAL(desc);
	{
		size_t head = (size_t)(desc - xml) + strlen("</name>");
		char *edited = malloc(len + 64);

		CU_ASSERT_PTR_NOT_NULL_FATAL(edited);
		snprintf(edited, len + 64, "%.*s<description>rewritten</description>%s", (int)head,
			 xml, xml + head);
		CU_ASSERT_EQUAL(dmg_virt_define(v, edited, &err), 0);
		free(edited);
	}
	CU_ASSERT_EQUAL(dmg_virt_persistent_xml(v, "test", &again, &len, &err), 0);
	CU_ASSERT(again && strstr(again, "<description>rewritten</description>"));
	free(again);
	free(xml);
	CU_ASSERT(dmg_virt_define(v, "<domain type='test'><name>bad", &err) < 0);
	CU_ASSERT(err.msg[0] != '\0');
	d = virDomainCreateXML(c, transient, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	xml = (char *)"unset";
	CU_ASSERT_EQUAL(dmg_virt_persistent_xml(v, "transient1", &xml, &len, &err), 0);
	CU_ASSERT_PTR_NULL(xml);
	virDomainDestroy(d);
	virDomainFree(d);
	CU_ASSERT_EQUAL(dmg_virt_persistent_xml(v, "nosuchdomain", &xml, &len, &err), -ESRCH);
	CU_ASSERT_EQUAL(dmg_virt_copies_storage(v, "test", &copies, &err), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(copies, 0);
}

/* libvirt 'logical' pools on the test driver: the VG, a volume's path, a
 * refresh; other types, missing and inactive pools refused, each naming it. */
static void
check_pools(struct dmg_virt *v, virConnectPtr c)
{
	static const char logical[] =
		"<pool type='logical'><name>lvpool</name><source><name>vg0</name></source>"
		"<target><path>/dev/vg0</path></target></pool>";
	static const char idle[] =
		"<pool type='logical'><name>idlepool</name><source><name>vg1</name></source>"
		"<target><path>/dev/vg1</path></target></pool>";
	virStoragePoolPtr p, q;
	virStorageVolPtr vol;
	struct dmg_error err;
	char vg[DMG_VIRT_VG_MAX], path[256];

	p = virStoragePoolCreateXML(c, logical, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	vol = virStorageVolCreateXML(p, "<volume><name>t-vol</name><capacity>8388608</capacity></volume>", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vol);
	q = virStoragePoolDefineXML(c, idle, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);

	CU_ASSERT_EQUAL(dmg_virt_pool_vg(v, "lvpool", vg, sizeof(vg), &err), 0);
	CU_ASSERT_STRING_EQUAL(vg, "vg0");
	CU_ASSERT_EQUAL(dmg_virt_pool_volume(v, "lvpool", "t-vol", path, sizeof(path), &err), 0);
	CU_ASSERT_STRING_EQUAL(path, "/dev/vg0/t-vol");
	CU_ASSERT_EQUAL(dmg_virt_pool_refresh(v, "lvpool", &err), 0);
	CU_ASSERT_EQUAL(dmg_virt_pool_volume(v, "lvpool", "none", path, sizeof(path), &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has no volume 'none'"));
	CU_ASSERT_EQUAL(dmg_virt_pool_volume(v, "lvpool", "t-vol", path, 8, &err), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(dmg_virt_pool_vg(v, "default-pool", vg, sizeof(vg), &err), -EMEDIUMTYPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'default-pool' is a 'dir' pool"));
	CU_ASSERT_EQUAL(dmg_virt_pool_refresh(v, "default-pool", &err), -EMEDIUMTYPE);
	CU_ASSERT_EQUAL(dmg_virt_pool_vg(v, "nopool", vg, sizeof(vg), &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no libvirt storage pool 'nopool'"));
	CU_ASSERT_EQUAL(dmg_virt_pool_volume(v, "idlepool", "x", path, sizeof(path), &err), -ENXIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "virsh pool-start idlepool"));

	virStorageVolDelete(vol, 0);
	virStorageVolFree(vol);
	virStoragePoolDestroy(p);
	virStoragePoolFree(p);
	virStoragePoolUndefine(q);
	virStoragePoolFree(q);
}

/* The pool XML test alone: type, VG, and what is not a pool. */
static void
test_pool_xml(void)
{
	static const struct {
		const char *xml;
		int rc;
		const char *type, *vg;
	} cases[] = {
		{ "<pool type='logical'><name>p</name><source><name>vg0</name></source></pool>", 0, "logical", "vg0" },
		{ "<pool type='dir'><name>p</name><target><path>/var/lib/x</path></target></pool>", 0, "dir", "" },
		{ "<pool type='logical'><name>p</name></pool>", -EBADMSG, "", "" },
		{ "<pool><name>p</name></pool>", -EBADMSG, "", "" },
		{ "<domain type='kvm'/>", -EBADMSG, "", "" },
		{ "<pool type='logical'><source><name>", -EINVAL, "", "" },
	};
	char type[32], vg[DMG_VIRT_VG_MAX];
	struct dmg_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = dmg_virt_pool_parse(cases[i].xml, strlen(cases[i].xml), type, sizeof(type),
					     vg, sizeof(vg), &err);

		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(type, cases[i].type);
			CU_ASSERT_STRING_EQUAL(vg, cases[i].vg);
		} else {
			CU_ASSERT(err.msg[0] != '\0' && !strchr(err.msg, '\n'));
		}
	}
	CU_ASSERT_EQUAL(dmg_virt_pool_parse(cases[0].xml, strlen(cases[0].xml), type, sizeof(type),
					    vg, 3, &err), -ENAMETOOLONG);
}

static void
test_module_test_driver(void)
{
	struct seen s = { .n = 0 };
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct dmg_virt *v = NULL, *v2 = NULL;
	enum dmg_virt_state st;
	struct dmg_error err;
	struct dmg_log log;
	virConnectPtr c;

	pthread_mutex_init(&s.lock, NULL);
	dmg_log_open(&log, "unit", 0, 0, DMG_LOG_ERR);
	CU_ASSERT_EQUAL_FATAL(dmg_virt_new(TEST_URI, record, &s, &log, &v, &err), 0);
	CU_ASSERT_EQUAL(dmg_virt_connected(v), 1);
	/* libvirt's event loop is per process: one module at a time. */
	CU_ASSERT_EQUAL(dmg_virt_new(TEST_URI, record, &s, &log, &v2, &err), -EBUSY);
	CU_ASSERT_PTR_NULL(v2);
	CU_ASSERT_EQUAL(dmg_virt_state(v, "test", &st, NULL, uuid, &err), 0);
	CU_ASSERT_EQUAL(st, DMG_VIRT_RUNNING);
	CU_ASSERT_EQUAL(strlen(uuid), 36);
	c = virConnectOpen(TEST_URI);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c) {
		check_metadata(v, c);
		check_persistent(v, c);
		check_pools(v, c);
		check_events(v, c, &s);
		virConnectClose(c);
	}
	dmg_virt_free(v);
	/* Nothing is delivered after free, and a new module may start. */
	CU_ASSERT_EQUAL(dmg_virt_new(TEST_URI, NULL, NULL, &log, &v2, &err), 0);
	dmg_virt_free(v2);
	pthread_mutex_destroy(&s.lock);
}

static int
count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (; (text = strstr(text, needle)); text += strlen(needle))
		n++;
	return n;
}

/* libvirtd down at start: the module comes up anyway, calls say ENOTCONN,
 * attempts repeat every DMG_VIRT_RETRY_SECONDS, the failure is logged once. */
static void
test_module_down(void)
{
	char uuid[VIR_UUID_STRING_BUFLEN], *text = NULL;
	struct dmg_virt *v = NULL;
	enum dmg_virt_state st;
	struct dmg_error err;
	struct dmg_log log;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	dmg_log_open(&log, "unit", 0, 0, DMG_LOG_DEBUG);
	log.file = f;
	CU_ASSERT_EQUAL_FATAL(dmg_virt_new("qemu+unix:///system?socket=/nonexistent/drbdmig-unit.sock",
					   NULL, NULL, &log, &v, &err), 0);
	CU_ASSERT_EQUAL(dmg_virt_connected(v), 0);
	CU_ASSERT_EQUAL(dmg_virt_state(v, "x", &st, NULL, uuid, &err), -ENOTCONN);
	CU_ASSERT(strstr(err.msg, "not connected") != NULL);
	CU_ASSERT_EQUAL(dmg_virt_stamp(v, "x", "a", "b", 1, &err), -ENOTCONN);
	CU_ASSERT_EQUAL(dmg_virt_each_annotated(v, count_cb, NULL, &err), -ENOTCONN);
	sleep_ms(DMG_VIRT_RETRY_SECONDS * 1000 + 700);
	dmg_virt_free(v);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT(count_lines(text, "libvirt: connecting to") >= 2);
	CU_ASSERT_EQUAL(count_lines(text, "cannot connect"), 1);
	free(text);
}

/* /proc/PID/status as Linux 6.1 prints it (shortened), with STATE/SIGPND/SHDPND. */
static char *
proc_status(const char *state, const char *sigpnd, const char *shdpnd)
{
	static const char fmt[] = "Name:\tqemu-system-x86\nUmask:\t0077\nState:\t%s\n"
				  "Tgid:\t461\nPid:\t461\nThreads:\t1\nSigQ:\t4/3796\n"
				  "SigPnd:\t%s\nShdPnd:\t%s\nSigBlk:\t0000000010002240\n"
				  "SigIgn:\t0000000000001000\nSigCgt:\t0000000100004043\n";
	size_t n = sizeof(fmt) + strlen(state) + strlen(sigpnd) + strlen(shdpnd);
	char *s = malloc(n);

	CU_ASSERT_FATAL(s != NULL);
	snprintf(s, n, fmt, state, sigpnd, shdpnd);
	return s;
}

static void
expect_dying(const char *state, const char *sigpnd, const char *shdpnd, int want)
{
	char *s = proc_status(state, sigpnd, shdpnd);

	CU_ASSERT_EQUAL(dmg_proc_status_dying(s), want);
	free(s);
}

static void
test_proc_dying(void)
{
	const char *const zero = "0000000000000000";

	expect_dying("S (sleeping)", zero, zero, 0);
	expect_dying("R (running)", zero, zero, 0);
	/* what a destroyed QEMU blocked on DRBD's frozen I/O showed in the lab */
	expect_dying("D (disk sleep)", "0000000000000100", zero, 1);
	expect_dying("D (disk sleep)", zero, "0000000000000100", 1);
	expect_dying("D (disk sleep)", "0000000000004100", zero, 1);
	expect_dying("D (disk sleep)", zero, zero, 0);
	/* SIGTERM, SIGSTOP pending: it may still run */
	expect_dying("S (sleeping)", "0000000000004000", "0000000000040000", 0);
	expect_dying("Z (zombie)", zero, zero, 1);
	expect_dying("X (dead)", zero, zero, 1);
	/* unreadable masks are no evidence */
	expect_dying("D (disk sleep)", "01x0", "zz", 0);
	expect_dying("D (disk sleep)", "", "", 0);
	CU_ASSERT_EQUAL(dmg_proc_status_dying(NULL), 0);
	CU_ASSERT_EQUAL(dmg_proc_status_dying(""), 0);
	CU_ASSERT_EQUAL(dmg_proc_status_dying("State:\tZ (zombie)\n"), 1);
	CU_ASSERT_EQUAL(dmg_proc_status_dying("Name:\tx\nSigPnd:\t100"), 1);
	CU_ASSERT_EQUAL(dmg_proc_status_dying("Name:\tx\nXSigPnd:\t100\n"), 0);
}

/* The same test on real processes: this one, and a child killed and not reaped. */
static char *
read_status(pid_t pid)
{
	char path[64], *buf = calloc(1, 8192);
	size_t n;
	FILE *f;

	CU_ASSERT_FATAL(buf != NULL);
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(buf, 1, 8191, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
test_proc_dying_live(void)
{
	char *s = read_status(getpid());
	struct timespec ts = { 0, 10000000 };
	pid_t child;
	int i, dying = 0, st;

	CU_ASSERT_EQUAL(dmg_proc_status_dying(s), 0);
	free(s);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	s = read_status(child);
	CU_ASSERT_EQUAL(dmg_proc_status_dying(s), 0);
	free(s);
	CU_ASSERT_EQUAL(kill(child, SIGKILL), 0);
	for (i = 0; i < 500 && !dying; i++) {   /* until the kernel has made it a zombie */
		s = read_status(child);
		dying = dmg_proc_status_dying(s);
		free(s);
		if (!dying)
			nanosleep(&ts, NULL);
	}
	CU_ASSERT_EQUAL(dying, 1);
	CU_ASSERT_EQUAL(waitpid(child, &st, 0), child);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* A libvirt status file, captured in the lab (tests/data), or a string. */
static int
status_copies(const char *file, const char *text, int *copies, struct dmg_error *err)
{
	char path[512], *xml;
	size_t len = 0;
	int rc;

	if (!file)
		return dmg_virt_status_copies(text, strlen(text), copies, err);
	snprintf(path, sizeof(path), "%s/%s", test_env("TEST_DATA", "tests/data"), file);
	xml = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	rc = dmg_virt_status_copies(xml, len, copies, err);
	free(xml);
	return rc;
}

/* Whether an outgoing migration also copies the storage, from libvirt's
 * status file: as libvirt 9.0 wrote it during `virsh migrate --live --p2p
 * --copy-storage-inc` (begin3, flags 0x83) and for a domain with no job;
 * then the job element's other shapes and what must be refused as unreadable. */
static void
test_status_copies(void)
{
	static const char *const no[] = {
		"<domstatus state='running'><job type='none' async='migration out' phase='begin3' flags='0x3'/></domstatus>",
		"<domstatus><job type='none' async='migration in' flags='0x43'/></domstatus>",
		"<domstatus><job type='modify' async='none'/></domstatus>",
		"<domstatus><domain><job async='migration out' flags='0x40'/></domain></domstatus>",
		"<domstatus/>",
	};
	static const char *const bad[] = {
		"<domstatus><job async='migration out'/></domstatus>",
		"<domstatus><job async='migration out' flags=''/></domstatus>",
		"<domstatus><job async='migration out' flags='0x4g'/></domstatus>",
		"<domstatus><job async='migration out' flags='-0x40'/></domstatus>",
		"<domstatus><job async='migration out' flags=' 0x40'/></domstatus>",
		"<domstatus><job async='migration out' flags='0x100000000000000000'/></domstatus>",
		"<domain><job async='migration out' flags='0x40'/></domain>",
		"<domstatus><job",
	};
	struct dmg_error err;
	int copies = -1;
	size_t i;

	CU_ASSERT_EQUAL(status_copies("libvirt-status-copy-inc.xml", NULL, &copies, &err), 0);
	CU_ASSERT_EQUAL(copies, 1);
	copies = -1;
	CU_ASSERT_EQUAL(status_copies("libvirt-status-idle.xml", NULL, &copies, &err), 0);
	CU_ASSERT_EQUAL(copies, 0);
	/* --copy-storage-all: VIR_MIGRATE_NON_SHARED_DISK, as seen in the lab (0x43) */
	CU_ASSERT_EQUAL(status_copies(NULL, "<domstatus><job type='none' async='migration out' "
				      "phase='begin3' flags='0x43'/></domstatus>", &copies, &err), 0);
	CU_ASSERT_EQUAL(copies, 1);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		copies = -1;
		CU_ASSERT_EQUAL(status_copies(NULL, no[i], &copies, &err), 0);
		CU_ASSERT_EQUAL(copies, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		copies = -1;
		CU_ASSERT(status_copies(NULL, bad[i], &copies, &err) < 0);
		CU_ASSERT_EQUAL(copies, 0);
		CU_ASSERT(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
	}
}

void
register_virt_tests(void)
{
	CU_pSuite s = CU_add_suite("virt", NULL, NULL);

	CU_add_test(s, "stamp: good", test_stamp_good);
	CU_add_test(s, "stamp: missing or someone else's", test_stamp_missing);
	CU_add_test(s, "stamp: only under <metadata>", test_stamp_outside_metadata);
	CU_add_test(s, "stamp: bad port", test_stamp_bad_port);
	CU_add_test(s, "stamp: bad attributes", test_stamp_bad_attrs);
	CU_add_test(s, "stamp: two stamps", test_stamp_two);
	CU_add_test(s, "stamp: malformed XML", test_stamp_malformed);
	CU_add_test(s, "stamp: caller buffers", test_stamp_buffers);
	CU_add_test(s, "stamp: huge input", test_stamp_huge);
	CU_add_test(s, "event and state names", test_event_str);
	CU_add_test(s, "storage pool XML: type and VG", test_pool_xml);
	CU_add_test(s, "module on libvirt's test driver", test_module_test_driver);
	CU_add_test(s, "module with libvirtd down", test_module_down);
	CU_add_test(s, "QEMU dying: /proc status", test_proc_dying);
	CU_add_test(s, "QEMU dying: real processes", test_proc_dying_live);
	CU_add_test(s, "a migration that copies the storage too", test_status_copies);
}
