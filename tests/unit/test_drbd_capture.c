/* drbdmig's DRBD requests against drbdsetup-84's, byte for byte, and the
 * kernel module's replies decoded: tests/data/drbd/ holds the messages
 * captured in the kernel lab (capture.sh, extract.sh there). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include "storage/drbd.h"
#include "unit.h"

#define RES "drbdmig-cap"
#define MINOR 9

/* Reads the first hex line of tests/data/drbd/NAME.EXT into buf. */
static size_t
load_hex(const char *name, const char *ext, unsigned char *buf, size_t cap, char *prefix,
	 size_t plen)
{
	char path[512], *text, *p;
	size_t len, n = 0;

	snprintf(path, sizeof(path), "%s/drbd/%s.%s", test_env("TEST_DATA", "tests/data"), name, ext);
	text = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	p = text;
	if (prefix) {
		/* replies: "len flags seq pid HEX" (the payload after the nlmsghdr) */
		char *sp = strrchr(text, ' ');

		CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
		snprintf(prefix, plen, "%.*s", (int)(sp - text), text);
		p = sp + 1;
	}
	while (p[0] && p[1] && p[0] != '\n' && n < cap) {
		unsigned v;

		CU_ASSERT_FATAL(sscanf(p, "%2x", &v) == 1);
		buf[n++] = (unsigned char)v;
		p += 2;
	}
	free(text);
	return n;
}

static void
compare(const char *name, const struct dmg_drbd_req *r)
{
	unsigned char want[1024], got[1024];
	struct dmg_error err;
	uint16_t family;
	uint32_t seq, pid;
	size_t wn = load_hex(name, "req", want, sizeof(want), NULL, 0);
	int gn;

	CU_ASSERT_FATAL(wn >= NLMSG_HDRLEN);
	memcpy(&family, want + 4, 2);
	memcpy(&seq, want + 8, 4);
	memcpy(&pid, want + 12, 4);
	gn = dmg_drbd_encode(r, family, seq, pid, got, sizeof(got), &err);
	if (gn != (int)wn || memcmp(got, want, wn) != 0) {
		int i;

		fprintf(stderr, "\n  %s: drbdsetup-84 sent %zu bytes, we encode %d:\n  want ", name, wn, gn);
		for (i = 0; i < (int)wn; i++)
			fprintf(stderr, "%02x", want[i]);
		fprintf(stderr, "\n  got  ");
		for (i = 0; i < gn; i++)
			fprintf(stderr, "%02x", got[i]);
		fprintf(stderr, "\n");
	}
	CU_ASSERT_EQUAL(gn, (int)wn);
	CU_ASSERT(gn == (int)wn && memcmp(got, want, wn) == 0);
}

static void
addrs(struct sockaddr_in *my, struct sockaddr_in *peer, struct dmg_drbd_net *n)
{
	memset(my, 0, sizeof(*my));
	memset(peer, 0, sizeof(*peer));
	my->sin_family = peer->sin_family = AF_INET;
	my->sin_port = peer->sin_port = htons(7795);
	inet_pton(AF_INET, "10.99.0.1", &my->sin_addr);
	inet_pton(AF_INET, "10.99.0.2", &peer->sin_addr);
	memset(n, 0, sizeof(*n));
	n->my_addr = (struct sockaddr *)my;
	n->my_len = sizeof(*my);
	n->peer_addr = (struct sockaddr *)peer;
	n->peer_len = sizeof(*peer);
}

static void
test_requests(void)
{
	struct dmg_drbd_disk disk = { .backing = "/dev/vg0/cap", .meta = "/dev/vg0/cap.meta",
				      .resync_rate_kib = 102400, .dynamic = 1, .fencing = -1 };
	struct sockaddr_in my, peer;
	struct dmg_drbd_net net;
	struct dmg_drbd_req r;
	struct dmg_error err;

	CU_ASSERT_EQUAL(dmg_drbd_req_new_resource(&r, RES, &err), 0);
	compare("new-resource", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_new_minor(&r, RES, MINOR, 0, &err), 0);
	compare("new-minor", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_attach(&r, MINOR, &disk, &err), 0);
	compare("attach", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_role(&r, MINOR, 1, 1, &err), 0);
	compare("primary-force", &r);
	addrs(&my, &peer, &net);
	net.secret = "s3cret";
	net.hmac_alg = "sha256";
	CU_ASSERT_EQUAL(dmg_drbd_req_connect(&r, RES, &net, &err), 0);
	compare("connect", &r);
	net.two_primaries = 1;
	CU_ASSERT_EQUAL(dmg_drbd_req_net_opts(&r, &net, &err), 0);
	compare("net-options-two", &r);
	dmg_drbd_req_minor(&r, DMG_DRBD_GET_STATUS, MINOR);
	compare("status-sh", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_disconnect(&r, &net, 0, &err), 0);
	compare("disconnect", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_role(&r, MINOR, 0, 0, &err), 0);
	compare("secondary", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_role(&r, MINOR, 1, 0, &err), 0);
	compare("primary", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_detach(&r, MINOR, 0, &err), 0);
	compare("detach", &r);
	dmg_drbd_req_minor(&r, DMG_DRBD_DEL_MINOR, MINOR);
	compare("del-minor", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_status_dump(&r, RES, &err), 0);
	compare("down-dump", &r);       /* drbdsetup's status dump before `down` */
	CU_ASSERT_EQUAL(dmg_drbd_req_resource(&r, DMG_DRBD_DOWN, RES, &err), 0);
	compare("down", &r);
	CU_ASSERT_EQUAL(dmg_drbd_req_resource(&r, DMG_DRBD_DEL_RESOURCE, RES, &err), 0);
	compare("del-resource", &r);
}

/* Rebuilds the full message (nlmsghdr + payload) of a captured reply. */
static size_t
load_reply(const char *name, unsigned char *buf, size_t cap)
{
	char pre[128];
	unsigned len, seq, pid;
	size_t n = load_hex(name, "reply", buf + NLMSG_HDRLEN, cap - NLMSG_HDRLEN, pre, sizeof(pre));
	struct nlmsghdr nh = { 0 };

	CU_ASSERT_FATAL(sscanf(pre, "%u %*s %u %u", &len, &seq, &pid) == 3);
	CU_ASSERT_EQUAL(len, n + NLMSG_HDRLEN);
	nh.nlmsg_len = (uint32_t)(n + NLMSG_HDRLEN);
	nh.nlmsg_type = 30;
	nh.nlmsg_seq = seq;
	nh.nlmsg_pid = pid;
	memcpy(buf, &nh, sizeof(nh));
	return n + NLMSG_HDRLEN;
}

static void
test_replies(void)
{
	unsigned char buf[2048];
	struct dmg_drbd_status st;
	struct dmg_error err;
	size_t n;

	n = load_reply("new-minor", buf, sizeof(buf));
	CU_ASSERT_EQUAL(dmg_drbd_decode(buf, n, &st, &err), 1);
	CU_ASSERT_EQUAL(st.cmd, DMG_DRBD_NEW_MINOR);
	CU_ASSERT_EQUAL(st.minor, MINOR);
	CU_ASSERT_EQUAL(st.ret_code, 101);
	CU_ASSERT(dmg_drbd_ret_ok(st.ret_code));
	CU_ASSERT_STRING_EQUAL(st.resource, RES);

	n = load_reply("primary-force", buf, sizeof(buf));
	CU_ASSERT_EQUAL(dmg_drbd_decode(buf, n, &st, &err), 1);
	CU_ASSERT_EQUAL(st.ret_code, 1);           /* SS_SUCCESS */
	CU_ASSERT(dmg_drbd_ret_ok(st.ret_code));

	/* del-resource after down: the resource is gone, with DRBD's text */
	n = load_reply("del-resource", buf, sizeof(buf));
	CU_ASSERT_EQUAL(dmg_drbd_decode(buf, n, &st, &err), 1);
	CU_ASSERT_EQUAL(st.ret_code, 158);
	CU_ASSERT(!dmg_drbd_ret_ok(st.ret_code));
	CU_ASSERT_STRING_EQUAL(st.info, "unknown resource");
	CU_ASSERT_STRING_EQUAL(dmg_drbd_ret_str(st.ret_code), "unknown resource");

	/* a full status of the connected-but-peerless Primary minor */
	n = load_reply("status-sh", buf, sizeof(buf));
	CU_ASSERT_EQUAL(dmg_drbd_decode(buf, n, &st, &err), 1);
	CU_ASSERT_EQUAL(st.cmd, DMG_DRBD_GET_STATUS);
	CU_ASSERT(st.has_state);
	CU_ASSERT_STRING_EQUAL(st.resource, RES);
	CU_ASSERT_EQUAL(st.state.role, DMG_R_PRIMARY);
	CU_ASSERT_EQUAL(st.state.disk, DMG_D_UP_TO_DATE);
	CU_ASSERT_EQUAL(st.state.conn, DMG_C_WF_CONNECTION);
	CU_ASSERT(st.capacity > 0);
	CU_ASSERT(st.bits_total > 0);
	fprintf(stderr, " [state %s/%s %s %s/%s capacity %llu bits %llu oos %llu] ",
		dmg_drbd_role_str(st.state.role), dmg_drbd_role_str(st.state.peer),
		dmg_drbd_conn_str(st.state.conn), dmg_drbd_disk_str(st.state.disk),
		dmg_drbd_disk_str(st.state.pdsk), (unsigned long long)st.capacity,
		(unsigned long long)st.bits_total, (unsigned long long)st.bits_oos);
}

/* The broadcast events `drbdsetup-84 events` received while the capture ran
 * (new minor, attach, primary --force, connect, ...): all decode, and the
 * DRBD_EVENT state changes of minor 9 show it attached and promoted. */
static void
test_events(void)
{
	char path[512], *text, *line, *save = NULL;
	size_t len, nev = 0, nother = 0;
	int saw_uptodate = 0, saw_primary = 0;

	snprintf(path, sizeof(path), "%s/drbd/events.list", test_env("TEST_DATA", "tests/data"));
	text = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned char buf[2048];
		struct nlmsghdr nh = { 0 };
		struct dmg_drbd_status st;
		struct dmg_error err;
		unsigned mlen;
		char *hex = strrchr(line, ' ');
		size_t n = 0;

		CU_ASSERT_FATAL(hex != NULL && sscanf(line, "%u", &mlen) == 1);
		for (hex++; hex[0] && hex[1] && n < sizeof(buf) - NLMSG_HDRLEN; hex += 2) {
			unsigned v;

			CU_ASSERT_FATAL(sscanf(hex, "%2x", &v) == 1);
			buf[NLMSG_HDRLEN + n++] = (unsigned char)v;
		}
		CU_ASSERT_EQUAL(mlen, n + NLMSG_HDRLEN);
		nh.nlmsg_len = (uint32_t)(n + NLMSG_HDRLEN);
		nh.nlmsg_type = 30;
		memcpy(buf, &nh, sizeof(nh));
		CU_ASSERT_EQUAL(dmg_drbd_decode(buf, nh.nlmsg_len, &st, &err), 1);
		if (st.cmd != DMG_DRBD_EVENT) {
			nother++;   /* 8.4.11's newer notifications: decoded, not used */
			continue;
		}
		nev++;
		CU_ASSERT_EQUAL(st.minor, MINOR);
		CU_ASSERT(st.has_state);
		CU_ASSERT_STRING_EQUAL(st.resource, RES);
		if (st.state.disk == DMG_D_UP_TO_DATE)
			saw_uptodate = 1;
		if (st.state.role == DMG_R_PRIMARY)
			saw_primary = 1;
	}
	free(text);
	CU_ASSERT(nev >= 5);
	CU_ASSERT(nother > 0);
	CU_ASSERT(saw_uptodate);
	CU_ASSERT(saw_primary);
}

void
register_drbd_capture_tests(void)
{
	CU_pSuite s = CU_add_suite("drbd_capture", NULL, NULL);

	CU_add_test(s, "requests equal drbdsetup-84's, byte for byte", test_requests);
	CU_add_test(s, "kernel replies decoded", test_replies);
	CU_add_test(s, "broadcast events decoded", test_events);
}
