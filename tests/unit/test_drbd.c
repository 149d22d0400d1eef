/* DRBD netlink messages and the generated resource file.  Byte-for-byte
 * comparisons against drbdsetup-84 live in test_drbd_capture.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include "storage/drbd.h"
#include "storage/drbdconf.h"
#include "unit.h"

static uint32_t
u32_at(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t
u16_at(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void
test_encode_headers(void)
{
	unsigned char buf[512];
	struct dmg_drbd_req r;
	struct dmg_error err;
	int n;

	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_new_minor(&r, "drbdmig-s1", 7, 0, &err), 0);
	n = dmg_drbd_encode(&r, 0x1c, 42, 99, buf, sizeof(buf), &err);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(u32_at(buf), (uint32_t)n);          /* nlmsg_len */
	CU_ASSERT_EQUAL(u16_at(buf + 4), 0x1c);              /* family */
	CU_ASSERT_EQUAL(u16_at(buf + 6), NLM_F_REQUEST);
	CU_ASSERT_EQUAL(u32_at(buf + 8), 42);                /* seq */
	CU_ASSERT_EQUAL(u32_at(buf + 12), 99);               /* port */
	CU_ASSERT_EQUAL(buf[16], DMG_DRBD_NEW_MINOR);        /* genl cmd */
	CU_ASSERT_EQUAL(buf[17], 1);                         /* version */
	CU_ASSERT_EQUAL(u32_at(buf + 20), 7);                /* minor */
	CU_ASSERT_EQUAL(u32_at(buf + 24), 0);                /* flags */
	/* one nested context: resource name (11 bytes + NUL, padded) + volume */
	CU_ASSERT_EQUAL(u16_at(buf + 30), DMG_NLA_CFG_CONTEXT | NLA_F_NESTED);
	CU_ASSERT_EQUAL(u16_at(buf + 28), 4 + (4 + 11) + 1 + (4 + 4));
	CU_ASSERT_EQUAL(u16_at(buf + 34), T_CTX_RESOURCE_NAME | DMG_DRBD_MANDATORY);
	CU_ASSERT_STRING_EQUAL((const char *)buf + 36, "drbdmig-s1");
	CU_ASSERT_EQUAL(u16_at(buf + 50), T_CTX_VOLUME | DMG_DRBD_MANDATORY);
	CU_ASSERT_EQUAL(n, 28 + 28);
	/* no room: an error, not a truncated message */
	CU_ASSERT_EQUAL(dmg_drbd_encode(&r, 0x1c, 1, 0, buf, 40, &err), -ENOSPC);
}

static void
test_attach_and_connect(void)
{
	struct dmg_drbd_disk d = { .backing = "/dev/mapper/x-copy", .meta = "/dev/vg0/x.drbdmeta",
				   .resync_rate_kib = 102400, .dynamic = 1, .fencing = -1 };
	struct sockaddr_in my = { .sin_family = AF_INET, .sin_port = htons(7789) }, peer = my;
	struct dmg_drbd_net net = { .my_addr = (struct sockaddr *)&my, .my_len = sizeof(my),
				    .peer_addr = (struct sockaddr *)&peer, .peer_len = sizeof(peer),
				    .secret = "s3cret", .hmac_alg = "sha256", .two_primaries = 0 };
	unsigned char buf[1024];
	struct dmg_drbd_req r;
	struct dmg_error err;
	uint64_t fill, maxbuf;
	size_t i;
	int n;

	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_attach(&r, 3, &d, &err), 0);
	/* options first; device paths are not mandatory-flagged (DRBD_F_REQUIRED) */
	CU_ASSERT_EQUAL(r.a[0].type, T_RESYNC_RATE | DMG_DRBD_MANDATORY);
	CU_ASSERT_EQUAL(r.a[0].u, 102400);
	CU_ASSERT_EQUAL(r.a[r.n - 3].type, T_BACKING_DEV);
	CU_ASSERT_EQUAL(r.a[r.n - 1].type, T_META_DEV_IDX);
	CU_ASSERT_EQUAL((int32_t)r.a[r.n - 1].u, -2);      /* flex-external */
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT(n > 0 && n % 4 == 0);
	/* dynamic: the controller keeps 100 ms of the rate in flight (10 MiB) */
	fill = 0;
	for (i = 0; i < r.n; i++)
		if (r.a[i].type == (T_C_FILL_TARGET | DMG_DRBD_MANDATORY))
			fill = r.a[i].u;
	CU_ASSERT_EQUAL(fill, 10240 * 2);
	CU_ASSERT_EQUAL(dmg_drbd_fill_target_kib(0), DMG_DRBD_FILL_MIN_KIB);
	CU_ASSERT_EQUAL(dmg_drbd_fill_target_kib(4096), DMG_DRBD_FILL_MIN_KIB);
	CU_ASSERT_EQUAL(dmg_drbd_fill_target_kib(20480), 2048);
	CU_ASSERT_EQUAL(dmg_drbd_fill_target_kib(1048576), DMG_DRBD_FILL_MAX_KIB);
	CU_ASSERT(DMG_DRBD_FILL_MAX_KIB * 2 <= DMG_DRBD_MAX_BUFFERS * 4);
	d.dynamic = 0;
	CU_ASSERT_EQUAL(dmg_drbd_req_attach(&r, 3, &d, &err), 0);
	for (i = 0; i < r.n; i++) {
		if ((r.a[i].type & ~DMG_DRBD_MANDATORY) == T_C_PLAN_AHEAD)
			CU_ASSERT_EQUAL(r.a[i].u, 0);
		CU_ASSERT_NOT_EQUAL(r.a[i].type & ~DMG_DRBD_MANDATORY, T_C_FILL_TARGET);
	}

	inet_pton(AF_INET, "10.99.0.1", &my.sin_addr);
	inet_pton(AF_INET, "10.99.0.2", &peer.sin_addr);
	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_connect(&r, "drbdmig-s1", &net, &err), 0);
	maxbuf = 0;
	for (i = 0; i < r.n; i++)
		if (r.a[i].type == (T_MAX_BUFFERS | DMG_DRBD_MANDATORY))
			maxbuf = r.a[i].u;
	CU_ASSERT_EQUAL(maxbuf, DMG_DRBD_MAX_BUFFERS);
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT(n > 0);
	/* the context comes first and holds both addresses */
	CU_ASSERT_EQUAL(u16_at(buf + 30), DMG_NLA_CFG_CONTEXT | NLA_F_NESTED);
	CU_ASSERT(memmem(buf, (size_t)n, &my, sizeof(my)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, &peer, sizeof(peer)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, "s3cret", 7) != NULL);

	/* bad input: refused with a message, nothing encoded */
	d.backing = "";
	CU_ASSERT(dmg_drbd_req_attach(&r, 3, &d, &err) < 0);
	net.my_addr = NULL;
	CU_ASSERT(dmg_drbd_req_connect(&r, "drbdmig-s1", &net, &err) < 0);
	CU_ASSERT(dmg_drbd_req_new_resource(&r, "", &err) < 0);
	{
		char longname[200];

		memset(longname, 'r', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		CU_ASSERT(dmg_drbd_req_new_resource(&r, longname, &err) < 0);
	}
}

/* A kernel reply/event, built by hand the way the module lays it out. */
static size_t
fake_event(unsigned char *buf, uint32_t minor, int32_t ret, uint32_t state, uint64_t oos,
	   const char *info)
{
	size_t off = 0;
	struct nlmsghdr nh = { .nlmsg_type = 30 };
	struct genlmsghdr gh = { .cmd = DMG_DRBD_EVENT, .version = 1 };
	uint32_t dh[2] = { minor, (uint32_t)ret };
	struct nlattr nest, a;
	size_t nest_at;

	off = NLMSG_HDRLEN;
	memcpy(buf + off, &gh, sizeof(gh));
	off += GENL_HDRLEN;
	memcpy(buf + off, dh, sizeof(dh));
	off += sizeof(dh);
	if (info) {
		nest_at = off;
		off += NLA_HDRLEN;
		a.nla_type = T_INFO_TEXT | DMG_DRBD_MANDATORY;
		a.nla_len = (uint16_t)(NLA_HDRLEN + strlen(info) + 1);
		memcpy(buf + off, &a, sizeof(a));
		memcpy(buf + off + NLA_HDRLEN, info, strlen(info) + 1);
		off += NLA_ALIGN(a.nla_len);
		nest.nla_type = DMG_NLA_CFG_REPLY;
		nest.nla_len = (uint16_t)(off - nest_at);
		memcpy(buf + nest_at, &nest, sizeof(nest));
	}
	nest_at = off;
	off += NLA_HDRLEN;
	a.nla_type = T_CURRENT_STATE | DMG_DRBD_MANDATORY;
	a.nla_len = NLA_HDRLEN + 4;
	memcpy(buf + off, &a, sizeof(a));
	memcpy(buf + off + NLA_HDRLEN, &state, 4);
	off += 8;
	a.nla_type = T_BITS_OOS | DMG_DRBD_MANDATORY;
	a.nla_len = NLA_HDRLEN + 8;
	memcpy(buf + off, &a, sizeof(a));
	memcpy(buf + off + NLA_HDRLEN, &oos, 8);
	off += 12;
	nest.nla_type = DMG_NLA_STATE_INFO;
	nest.nla_len = (uint16_t)(off - nest_at);
	memcpy(buf + nest_at, &nest, sizeof(nest));
	nh.nlmsg_len = (uint32_t)off;
	memcpy(buf, &nh, sizeof(nh));
	return off;
}

/* Thin resync and the asynchronous initial sync: the attributes as
 * drbdsetup-84 sends them (captured with strace in the lab: disk-options
 * --rs-discard-granularity=524288 --discard-zeroes-if-aligned=no, and
 * net-options --protocol=A --on-congestion=pull-ahead --congestion-fill=2M). */
static void
test_thin_and_async(void)
{
	static const unsigned char gran[] = { 0x08, 0x00, 0x19, 0x00, 0x00, 0x00, 0x08, 0x00 };
	static const unsigned char zeroes_no[] = { 0x05, 0x00, 0x18, 0x00, 0x00 };
	static const unsigned char zeroes_yes[] = { 0x05, 0x00, 0x18, 0x00, 0x01 };
	static const unsigned char proto_a[] = { 0x08, 0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00 };
	static const unsigned char pull_ahead[] = { 0x08, 0x00, 0x15, 0x40, 0x01, 0x00, 0x00, 0x00 };
	static const unsigned char fill_2m[] = { 0x08, 0x00, 0x16, 0x40, 0x00, 0x10, 0x00, 0x00 };
	static const unsigned char proto_c[] = { 0x08, 0x00, 0x06, 0x40, 0x03, 0x00, 0x00, 0x00 };
	static const unsigned char block[] = { 0x08, 0x00, 0x15, 0x40, 0x00, 0x00, 0x00, 0x00 };
	struct dmg_drbd_disk d = { .backing = "/dev/mapper/x-copy", .meta = "/dev/vg0/x.drbdmeta",
				   .fencing = -1, .rs_discard_granularity = 524288 };
	struct sockaddr_in my = { .sin_family = AF_INET, .sin_port = htons(7850) }, peer = my;
	struct dmg_drbd_net net = { .my_addr = (struct sockaddr *)&my, .my_len = sizeof(my),
				    .peer_addr = (struct sockaddr *)&peer, .peer_len = sizeof(peer),
				    .secret = "s3cret", .hmac_alg = "sha256", .async = 1,
				    .cong_fill_kib = 2048 };
	unsigned char buf[1024];
	struct dmg_drbd_req r;
	struct dmg_error err;
	int n;

	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_attach(&r, 50, &d, &err), 0);
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(memmem(buf, (size_t)n, gran, sizeof(gran)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, zeroes_no, sizeof(zeroes_no)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, zeroes_yes, sizeof(zeroes_yes)) == NULL);
	d.discard_zeroes = 1;   /* a thin LV: discards are trusted to zero */
	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_attach(&r, 50, &d, &err), 0);
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT(memmem(buf, (size_t)n, zeroes_yes, sizeof(zeroes_yes)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, zeroes_no, sizeof(zeroes_no)) == NULL);
	d.discard_zeroes = 0;
	d.rs_discard_granularity = 0;   /* off: neither field sent */
	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_attach(&r, 50, &d, &err), 0);
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT(memmem(buf, (size_t)n, zeroes_no, 4) == NULL);
	d.rs_discard_granularity = 6000;
	CU_ASSERT_EQUAL(dmg_drbd_req_attach(&r, 50, &d, &err), -EINVAL);
	d.rs_discard_granularity = 2u << 20;
	CU_ASSERT_EQUAL(dmg_drbd_req_attach(&r, 50, &d, &err), -EINVAL);

	inet_pton(AF_INET, "10.99.0.1", &my.sin_addr);
	inet_pton(AF_INET, "10.99.0.2", &peer.sin_addr);
	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_connect(&r, "drbdmig-s1", &net, &err), 0);
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(memmem(buf, (size_t)n, proto_a, sizeof(proto_a)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, pull_ahead, sizeof(pull_ahead)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, fill_2m, sizeof(fill_2m)) != NULL);
	net.cong_fill_kib = (10u << 20) + 1;
	CU_ASSERT_EQUAL(dmg_drbd_req_connect(&r, "drbdmig-s1", &net, &err), -EINVAL);

	/* back to C: protocol and on-congestion in one request */
	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_protocol_c(&r, &net, &err), 0);
	CU_ASSERT_EQUAL(r.cmd, DMG_DRBD_CHG_NET_OPTS);
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(memmem(buf, (size_t)n, proto_c, sizeof(proto_c)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, block, sizeof(block)) != NULL);

	/* then fencing on, on the minor: disk-options --fencing=resource-and-stonith
	 * (the attribute as in the captured attach) */
	{
		static const unsigned char stonith[] = { 0x08, 0x00, 0x07, 0x40, 0x02, 0x00, 0x00, 0x00 };

		CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_fencing(&r, 50, 2, &err), 0);
		CU_ASSERT_EQUAL(r.cmd, DMG_DRBD_CHG_DISK_OPTS);
		CU_ASSERT_EQUAL(r.minor, 50);
		n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT(memmem(buf, (size_t)n, stonith, sizeof(stonith)) != NULL);
		CU_ASSERT_EQUAL(dmg_drbd_req_fencing(&r, 50, 3, &err), -EINVAL);
		CU_ASSERT_EQUAL(dmg_drbd_req_fencing(&r, 50, -1, &err), -EINVAL);
	}

	/* synchronous: protocol C, no congestion policy */
	net.async = 0;
	CU_ASSERT_EQUAL_FATAL(dmg_drbd_req_connect(&r, "drbdmig-s1", &net, &err), 0);
	n = dmg_drbd_encode(&r, 30, 1, 0, buf, sizeof(buf), &err);
	CU_ASSERT(memmem(buf, (size_t)n, proto_c, sizeof(proto_c)) != NULL);
	CU_ASSERT(memmem(buf, (size_t)n, pull_ahead, 4) == NULL);
}

static void
test_decode(void)
{
	/* Primary/Secondary, SyncSource, UpToDate/Inconsistent */
	uint32_t state = 1 | (2 << 2) | (16 << 4) | (8 << 9) | (4 << 13);
	unsigned char buf[512];
	struct dmg_drbd_status st;
	struct dmg_error err;
	size_t n = fake_event(buf, 5, 101, state, 1234, NULL), cut;

	CU_ASSERT_EQUAL(dmg_drbd_decode(buf, n, &st, &err), 1);
	CU_ASSERT_EQUAL(st.minor, 5);
	CU_ASSERT(dmg_drbd_ret_ok(st.ret_code));
	CU_ASSERT(st.has_state);
	CU_ASSERT_EQUAL(st.state.role, DMG_R_PRIMARY);
	CU_ASSERT_EQUAL(st.state.peer, DMG_R_SECONDARY);
	CU_ASSERT_EQUAL(st.state.conn, DMG_C_SYNC_SOURCE);
	CU_ASSERT_EQUAL(st.state.disk, DMG_D_UP_TO_DATE);
	CU_ASSERT_EQUAL(st.state.pdsk, DMG_D_INCONSISTENT);
	CU_ASSERT_EQUAL(st.bits_oos, 1234);
	CU_ASSERT_STRING_EQUAL(dmg_drbd_conn_str(st.state.conn), "SyncSource");

	n = fake_event(buf, 0, -2, 0, 0, "need UpToDate data");
	CU_ASSERT_EQUAL(dmg_drbd_decode(buf, n, &st, &err), 1);
	CU_ASSERT(!dmg_drbd_ret_ok(st.ret_code));
	CU_ASSERT_STRING_EQUAL(st.info, "need UpToDate data");
	CU_ASSERT_PTR_NOT_NULL(strstr(dmg_drbd_ret_str(-2), "UpToDate"));

	/* every truncation is rejected or decoded partially, never overrun */
	for (cut = 0; cut < n; cut++) {
		int rc = dmg_drbd_decode(buf, cut, &st, &err);

		CU_ASSERT(rc < 0 || rc == 1);
	}
	/* netlink error message */
	{
		struct nlmsghdr nh = { .nlmsg_len = NLMSG_HDRLEN + sizeof(struct nlmsgerr),
				       .nlmsg_type = NLMSG_ERROR };
		struct nlmsgerr e = { .error = -EPERM };

		memcpy(buf, &nh, sizeof(nh));
		memcpy(buf + NLMSG_HDRLEN, &e, sizeof(e));
		CU_ASSERT_EQUAL(dmg_drbd_decode(buf, nh.nlmsg_len, &st, &err), -EPERM);
	}
}

static void
test_progress(void)
{
	double pct, rate;
	long eta;

	/* 1000 bits total, 600 -> 400 out of sync in 2 s: 800 KiB in 2 s */
	dmg_drbd_progress(1000, 600, 400, 2000, &pct, &rate, &eta);
	CU_ASSERT_DOUBLE_EQUAL(pct, 60.0, 0.001);
	CU_ASSERT_DOUBLE_EQUAL(rate, 400.0, 0.001);
	CU_ASSERT_EQUAL(eta, 4);
	dmg_drbd_progress(1000, 0, 0, 1000, &pct, &rate, &eta);
	CU_ASSERT_DOUBLE_EQUAL(pct, 100.0, 0.001);
	CU_ASSERT_EQUAL(eta, 0);
	dmg_drbd_progress(1000, 500, 500, 1000, &pct, &rate, &eta);
	CU_ASSERT_EQUAL(eta, -1);
}

/* The initial sync's convergence judgement (wait-synced, 10 s window). */
static void
test_converge(void)
{
	struct dmg_drbd_converge cv = { .window_ms = 10000 };
	struct dmg_drbd_converge never = { .window_ms = 0 };

	CU_ASSERT(dmg_drbd_resyncing(DMG_C_SYNC_SOURCE));
	CU_ASSERT(dmg_drbd_resyncing(DMG_C_PAUSED_SYNC_T));
	CU_ASSERT(dmg_drbd_resyncing(DMG_C_AHEAD));
	CU_ASSERT(dmg_drbd_resyncing(DMG_C_BEHIND));
	CU_ASSERT(!dmg_drbd_resyncing(DMG_C_CONNECTED));
	CU_ASSERT(!dmg_drbd_resyncing(DMG_C_WF_CONNECTION));

	/* One judgement fed sample by sample: state, bits out of sync, ms, the
	 * answer wanted. */
	static const struct {
		unsigned conn;
		uint64_t oos;
		int64_t now;
		int stalled;
	} feed[] = {
		/* shrinking: never stalled, however long it takes */
		{ DMG_C_SYNC_SOURCE, 1000, 1000, 0 },
		{ DMG_C_SYNC_SOURCE, 900, 9000, 0 },
		{ DMG_C_SYNC_SOURCE, 800, 18000, 0 },
		/* growing, then back to the low without passing it: stalled 10 s
		 * after the low, not before */
		{ DMG_C_AHEAD, 2000, 24000, 0 },
		{ DMG_C_AHEAD, 850, 27999, 0 },
		{ DMG_C_SYNC_SOURCE, 800, 28000, 1 },
		/* a lost link resets the judgement: the window starts again */
		{ DMG_C_WF_CONNECTION, 800, 29000, 0 },
		{ DMG_C_SYNC_SOURCE, 900, 60000, 0 },
		{ DMG_C_SYNC_SOURCE, 950, 69999, 0 },
		{ DMG_C_SYNC_SOURCE, 950, 70000, 1 },
		/* a new low restarts it */
		{ DMG_C_SYNC_SOURCE, 10, 70001, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(feed) / sizeof(feed[0]); i++)
		CU_ASSERT_EQUAL(dmg_drbd_converge_stalled(&cv, feed[i].conn, feed[i].oos, feed[i].now),
				feed[i].stalled);
	CU_ASSERT_EQUAL(cv.best, 10);
	CU_ASSERT_EQUAL(cv.best_t, 70001);

	/* window 0 (wait-in-sync): waits until in sync, never stalls */
	CU_ASSERT_EQUAL(dmg_drbd_converge_stalled(&never, DMG_C_SYNC_SOURCE, 5, 0), 0);
	CU_ASSERT_EQUAL(dmg_drbd_converge_stalled(&never, DMG_C_SYNC_SOURCE, 5, 3600000), 0);
}

static void
test_resfile(void)
{
	struct dmg_drbd_resfile r = {
		.resource = "drbdmig-4f2a-vda", .secret = "abc123", .hmac_alg = "sha256",
		.fence_peer = NULL,
		.host = {
			{ "hostA", "10.99.0.1", 7790, 0, "/dev/mapper/drbdmig-4f2a-vda-copy", "/dev/vg0/web1.drbdmeta" },
			{ "hostB", "10.99.0.2", 7790, 3, "/dev/mapper/drbdmig-4f2a-vda-copy", "/dev/vg0/web1.drbdmeta" },
		},
	};
	struct dmg_error err;
	char buf[2048];

	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "resource drbdmig-4f2a-vda {"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "on hostB {\n\t\tdevice /dev/drbd3 minor 3;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "address ipv4 10.99.0.2:7790;"));
	CU_ASSERT_PTR_NULL(strstr(buf, "fence-peer"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\t\tcram-hmac-alg sha256;\n"));
	/* the configured algorithm, the one the kernel gets (cram_hmac_alg) */
	r.hmac_alg = "sha512";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\t\tcram-hmac-alg sha512;\n"));
	CU_ASSERT_PTR_NULL(strstr(buf, "sha256"));
	r.hmac_alg = "sha1; }";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) < 0);
	r.hmac_alg = NULL;
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) < 0);
	r.hmac_alg = "sha512";
	r.fence_peer = "/usr/lib/drbdmig/drbdmig-fence";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "fence-peer \"/usr/lib/drbdmig/drbdmig-fence\";"));
	/* anything that could break drbdadm's parser for other resources */
	r.secret = "a\"b";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) < 0);
	r.secret = "abc";
	r.resource = "other-res";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) < 0);
	r.resource = "drbdmig-x";
	r.host[1].name = "hostA";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) < 0);
	r.host[1].name = "hostB";
	r.host[0].disk = "/dev/x; }";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, sizeof(buf), &err) < 0);
	r.host[0].disk = "/dev/x";
	CU_ASSERT(dmg_drbd_resfile_format(&r, buf, 64, &err) == -ENOSPC);
	CU_ASSERT(dmg_drbd_resfile_remove("/tmp", "notours", &err) < 0);
}

void
register_drbd_tests(void)
{
	CU_pSuite s = CU_add_suite("drbd", NULL, NULL);

	CU_add_test(s, "request headers and nesting", test_encode_headers);
	CU_add_test(s, "attach and connect requests", test_attach_and_connect);
	CU_add_test(s, "thin resync and the asynchronous sync, as drbdsetup-84 sends them", test_thin_and_async);
	CU_add_test(s, "reply and event decoding", test_decode);
	CU_add_test(s, "sync progress, rate, ETA", test_progress);
	CU_add_test(s, "the initial sync stalls, converges, resets on a lost link", test_converge);
	CU_add_test(s, "generated resource file", test_resfile);
}
