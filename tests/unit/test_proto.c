#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/call.h"
#include "core/journal.h"
#include "core/proto.h"
#include "unit.h"
#include "core/wire.h"

static void
roundtrip(const struct dmg_msg *in, struct dmg_msg *out)
{
	struct dmg_buf b = { 0 };
	struct dmg_error err;

	CU_ASSERT_EQUAL_FATAL(dmg_msg_encode(in, &b, &err), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_msg_decode(b.data, b.len, out, &err), 0);
	dmg_buf_free(&b);
}

static void
test_roundtrip_request(void)
{
	char xml[] = "<domain>\0binary-safe</domain>";
	struct dmg_msg in = {
		.type = DMG_MSG_HOOK_REQUEST, .domain = "vm1", .op = "migrate",
		.subop = "begin", .extra = "-", .xml = xml, .xml_len = sizeof(xml) - 1,
	}, out;

	roundtrip(&in, &out);
	CU_ASSERT_EQUAL(out.type, DMG_MSG_HOOK_REQUEST);
	CU_ASSERT_STRING_EQUAL(out.domain, "vm1");
	CU_ASSERT_STRING_EQUAL(out.op, "migrate");
	CU_ASSERT_STRING_EQUAL(out.subop, "begin");
	CU_ASSERT_STRING_EQUAL(out.extra, "-");
	CU_ASSERT_EQUAL(out.xml_len, sizeof(xml) - 1);
	CU_ASSERT(memcmp(out.xml, xml, sizeof(xml) - 1) == 0);
	dmg_msg_clear(&out);
}

static void
test_roundtrip_reply(void)
{
	struct dmg_msg in = { .type = DMG_MSG_HOOK_REPLY, .status = 1, .message = "drbdmig: no" }, out;

	roundtrip(&in, &out);
	CU_ASSERT_EQUAL(out.type, DMG_MSG_HOOK_REPLY);
	CU_ASSERT_EQUAL(out.status, 1);
	CU_ASSERT_STRING_EQUAL(out.message, "drbdmig: no");
	CU_ASSERT_PTR_NULL(out.out);
	dmg_msg_clear(&out);

	in.out = "<domain/>";
	in.out_len = 9;
	in.message = NULL;
	roundtrip(&in, &out);
	CU_ASSERT_EQUAL(out.out_len, 9);
	CU_ASSERT_STRING_EQUAL(out.out, "<domain/>");
	CU_ASSERT_PTR_NULL(out.message);
	dmg_msg_clear(&out);
}

static void
test_roundtrip_call_result(void)
{
	static const unsigned char call[] = {
		'D', 'M', 'G', '1', 0, 1, 0, 6, 0, 0, 0, 21,
		0, 10, 0, 0, 0, 4, 0, 0, 0, 7,    /* seq = 7 */
		0, 11, 0, 0, 0, 5, 'p', 'i', 'n', 'g', '\n',
	};
	struct dmg_msg in = { .type = DMG_MSG_CALL, .seq = 7, .body = "ping\n", .body_len = 5 }, out;
	struct dmg_buf b = { 0 };
	struct dmg_error err;
	static char big[DMG_CALL_BODY_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(dmg_msg_encode(&in, &b, &err), 0);
	CU_ASSERT_EQUAL(b.len, sizeof(call));
	CU_ASSERT(memcmp(b.data, call, sizeof(call)) == 0);
	roundtrip(&in, &out);
	CU_ASSERT_EQUAL(out.seq, 7);
	CU_ASSERT_EQUAL(out.body_len, 5);
	CU_ASSERT_STRING_EQUAL(out.body, "ping\n");
	dmg_msg_clear(&out);

	in = (struct dmg_msg){ .type = DMG_MSG_RESULT, .seq = 7, .status = EBUSY, .message = "busy" };
	roundtrip(&in, &out);
	CU_ASSERT_EQUAL(out.status, EBUSY);
	CU_ASSERT_STRING_EQUAL(out.message, "busy");
	CU_ASSERT_PTR_NULL(out.body);
	dmg_msg_clear(&out);

	/* a call without a body, or with one over the limit, is refused */
	in = (struct dmg_msg){ .type = DMG_MSG_CALL, .seq = 1 };
	CU_ASSERT_EQUAL(dmg_msg_encode(&in, &b, &err), -EINVAL);
	memset(big, 'a', sizeof(big));
	in.body = big;
	in.body_len = sizeof(big);
	CU_ASSERT_EQUAL(dmg_msg_encode(&in, &b, &err), -EMSGSIZE);
	dmg_buf_free(&b);
}

/* Exact bytes: the wire format is a contract between separately built
 * programs (a hook and a daemon of different versions may meet). */
static void
test_golden_bytes(void)
{
	static const unsigned char ping[] = { 'D', 'M', 'G', '1', 0, 1, 0, 3, 0, 0, 0, 0 };
	static const unsigned char reply[] = {
		'D', 'M', 'G', '1', 0, 1, 0, 2, 0, 0, 0, 17,
		0, 6, 0, 0, 0, 4, 0, 0, 0, 1,     /* status = 1 */
		0, 8, 0, 0, 0, 1, 'x',            /* message = "x" */
	};
	struct dmg_msg m = { .type = DMG_MSG_PING };
	struct dmg_buf b = { 0 };
	struct dmg_error err;

	CU_ASSERT_EQUAL(dmg_msg_encode(&m, &b, &err), 0);
	CU_ASSERT_EQUAL(b.len, sizeof(ping));
	CU_ASSERT(memcmp(b.data, ping, sizeof(ping)) == 0);
	m = (struct dmg_msg){ .type = DMG_MSG_HOOK_REPLY, .status = 1, .message = "x" };
	CU_ASSERT_EQUAL(dmg_msg_encode(&m, &b, &err), 0);
	CU_ASSERT_EQUAL(b.len, sizeof(reply));
	CU_ASSERT(memcmp(b.data, reply, sizeof(reply)) == 0);
	dmg_buf_free(&b);
}

static void
expect_reject(const unsigned char *data, size_t len, int code, const char *needle)
{
	struct dmg_msg m;
	struct dmg_error err;
	int rc = dmg_msg_decode(data, len, &m, &err);

	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT(needle == NULL || strstr(err.msg, needle) != NULL);
	CU_ASSERT_PTR_NULL(m.domain);
	CU_ASSERT_PTR_NULL(m.message);
}

static void
test_rejects(void)
{
	unsigned char f[64];
	static const unsigned char base[] = {
		'D', 'M', 'G', '1', 0, 1, 0, 5, 0, 0, 0, 9,
		0, 8, 0, 0, 0, 3, 'a', 'b', 'c',
	};

	memcpy(f, base, sizeof(base));
	{   /* sanity: the base frame is valid */
		struct dmg_msg m;
		struct dmg_error err;

		CU_ASSERT_EQUAL(dmg_msg_decode(f, sizeof(base), &m, &err), 0);
		CU_ASSERT_STRING_EQUAL(m.message, "abc");
		dmg_msg_clear(&m);
	}
	expect_reject(f, 5, -EPROTO, "truncated");
	f[0] = 'X';
	expect_reject(f, sizeof(base), -EPROTO, "magic");
	memcpy(f, base, sizeof(base));
	f[5] = 2;
	expect_reject(f, sizeof(base), -EPROTO, "version");
	memcpy(f, base, sizeof(base));
	f[7] = 99;
	expect_reject(f, sizeof(base), -EPROTO, "type");
	memcpy(f, base, sizeof(base));
	f[11] = 10;
	expect_reject(f, sizeof(base), -EPROTO, "does not match");
	memcpy(f, base, sizeof(base));
	f[8] = 0xff;
	expect_reject(f, sizeof(base), -EMSGSIZE, "limit");
	memcpy(f, base, sizeof(base));
	f[17] = 4;   /* field claims more than present */
	expect_reject(f, sizeof(base), -EPROTO, "overruns");
	memcpy(f, base, sizeof(base));
	f[13] = 1;   /* DOMAIN is not an ERROR field */
	expect_reject(f, sizeof(base), -EPROTO, "unexpected field");
	memcpy(f, base, sizeof(base));
	f[19] = '\0';
	expect_reject(f, sizeof(base), -EPROTO, "NUL");
	/* truncated field header: payload of 3 bytes */
	memcpy(f, base, sizeof(base));
	f[11] = 3;
	expect_reject(f, 15, -EPROTO, "truncated field");
	/* missing required field: ERROR with empty payload */
	memcpy(f, base, 12);
	f[11] = 0;
	expect_reject(f, 12, -EPROTO, "missing");
	/* duplicate field */
	memcpy(f, base, sizeof(base));
	memcpy(f + sizeof(base), base + 12, 9);
	f[11] = 18;
	expect_reject(f, sizeof(base) + 9, -EPROTO, "twice");
	/* status must be exactly 4 bytes */
	{
		static const unsigned char r[] = {
			'D', 'M', 'G', '1', 0, 1, 0, 2, 0, 0, 0, 8,
			0, 6, 0, 0, 0, 2, 0, 1,
		};
		expect_reject(r, sizeof(r), -EPROTO, "4 bytes");
	}
}

static void
test_encode_limits(void)
{
	struct dmg_msg m = { .type = DMG_MSG_HOOK_REQUEST, .domain = "d", .op = "o",
			     .subop = "s", .extra = "e" };
	struct dmg_buf b = { 0 };
	struct dmg_error err;
	char *big = malloc(300);

	CU_ASSERT_FATAL(big != NULL);
	CU_ASSERT_EQUAL(dmg_msg_encode(&m, &b, &err), -EINVAL);   /* xml missing */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "xml"));
	memset(big, 'a', 299);
	big[299] = '\0';
	m.xml = "x";
	m.xml_len = 1;
	m.domain = big;
	CU_ASSERT_EQUAL(dmg_msg_encode(&m, &b, &err), -EMSGSIZE);
	m.type = (enum dmg_msg_type)0;
	CU_ASSERT_EQUAL(dmg_msg_encode(&m, &b, &err), -EINVAL);
	free(big);
	dmg_buf_free(&b);
}

/* The incremental reader must cope with one byte at a time. */
static void
test_reader_bytewise(void)
{
	struct dmg_msg in = { .type = DMG_MSG_HOOK_REQUEST, .domain = "vm", .op = "migrate",
			      .subop = "begin", .extra = "-", .xml = "<domain/>", .xml_len = 9 }, out;
	struct dmg_reader r = { 0 };
	struct dmg_buf b = { 0 };
	struct dmg_error err;
	int sv[2], rc = 0;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_set_nonblock(sv[1], &err), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_msg_encode(&in, &b, &err), 0);
	for (i = 0; i < b.len; i++) {
		CU_ASSERT_EQUAL_FATAL(write(sv[0], b.data + i, 1), 1);
		rc = dmg_reader_feed(&r, sv[1], &out, &err);
		if (i + 1 < b.len)
			CU_ASSERT_EQUAL(rc, 0);
	}
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_STRING_EQUAL(out.xml, "<domain/>");
	dmg_msg_clear(&out);
	/* EOF mid-header is an error, not a hang. */
	CU_ASSERT_EQUAL(write(sv[0], b.data, 5), 5);
	close(sv[0]);
	CU_ASSERT_EQUAL(dmg_reader_feed(&r, sv[1], &out, &err), -EPIPE);
	dmg_reader_reset(&r);
	close(sv[1]);
	dmg_buf_free(&b);
}

/* A header announcing a huge payload is refused before any allocation. */
static void
test_reader_refuses_huge(void)
{
	static const unsigned char hdr[] = { 'D', 'M', 'G', '1', 0, 1, 0, 1, 0x7f, 0xff, 0xff, 0xff };
	struct dmg_reader r = { 0 };
	struct dmg_error err;
	struct dmg_msg out;
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	CU_ASSERT_EQUAL(dmg_reader_feed(&r, sv[1], &out, &err), -EMSGSIZE);
	CU_ASSERT_PTR_NULL(r.frame);
	dmg_reader_reset(&r);
	close(sv[0]);
	close(sv[1]);
}

static void
test_recv_timeout(void)
{
	struct dmg_error err;
	struct dmg_msg out;
	int sv[2];
	int64_t t0;

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_set_nonblock(sv[1], &err), 0);
	t0 = dmg_now_ms();
	CU_ASSERT_EQUAL(dmg_msg_recv(sv[1], &out, t0 + 200, &err), -ETIMEDOUT);
	CU_ASSERT(dmg_now_ms() - t0 >= 190);
	close(sv[0]);
	close(sv[1]);
}

static void
test_buf_add(void)
{
	struct dmg_buf b = { 0 };
	size_t i;

	CU_ASSERT_EQUAL(dmg_buf_add(&b, "", 0), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_STRING_EQUAL((char *)b.data, "");
	for (i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(dmg_buf_add(&b, "abcd", 4), 0);
	CU_ASSERT_EQUAL(b.len, 4000);
	CU_ASSERT(b.cap > b.len);
	CU_ASSERT_EQUAL(b.data[b.len], '\0');
	CU_ASSERT_EQUAL(memcmp(b.data + 3996, "abcd", 4), 0);
	CU_ASSERT_EQUAL(dmg_buf_reserve(&b, 10000), 0);
	CU_ASSERT(b.cap >= b.len + 10000);
	CU_ASSERT_EQUAL(dmg_buf_add(&b, "x", (size_t)-1), -ENOMEM);
	CU_ASSERT_EQUAL(dmg_buf_reserve(&b, (size_t)-1), -ENOMEM);
	CU_ASSERT_EQUAL(b.len, 4000);
	dmg_buf_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
}

/* dmg_call against a child that answers one CALL with its body echoed. */
static void
test_call(void)
{
	char path[] = "/tmp/dmg-call-XXXXXX", sock[64], big[DMG_JREC_VAL_MAX + 8];
	struct dmg_error err = { 0 };
	struct dmg_msg rep;
	enum dmg_call_stage stage;
	int lfd, status, rc;
	pid_t pid;

	CU_ASSERT_FATAL(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/s", path);
	CU_ASSERT_EQUAL(dmg_call(sock, "status", NULL, 1000, dmg_now_ms() + 1000, &rep, &stage, &err),
			-ENOENT);
	CU_ASSERT_EQUAL(stage, DMG_CALL_CONNECT);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT(dmg_call(sock, "cancel", big, 1000, dmg_now_ms() + 1000, &rep, &stage, &err) < 0);
	CU_ASSERT_EQUAL(stage, DMG_CALL_REQUEST);
	lfd = dmg_unix_listen(sock, 0600, &err);
	CU_ASSERT_FATAL(lfd >= 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct dmg_msg req, res = { .type = DMG_MSG_RESULT };
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		int fd;

		/* the listening socket is non-blocking: wait for the client */
		fd = poll(&pfd, 1, 5000) == 1 ? accept(lfd, NULL, NULL) : -1;

		if (fd < 0 || dmg_msg_recv(fd, &req, dmg_now_ms() + 5000, &err) < 0)
			_exit(1);
		res.seq = req.seq;
		res.body = req.body;
		res.body_len = req.body_len;
		_exit(dmg_msg_send(fd, &res, dmg_now_ms() + 5000, &err) < 0 ? 1 : 0);
	}
	rc = dmg_call(sock, "cancel", "vm 1", 1000, dmg_now_ms() + 5000, &rep, &stage, &err);
	if (rc < 0)
		fprintf(stderr, "dmg_call: %s\n", err.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(stage, DMG_CALL_OK);
	CU_ASSERT_EQUAL(rep.type, DMG_MSG_RESULT);
	CU_ASSERT_EQUAL(rep.seq, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rep.body);
	CU_ASSERT_STRING_EQUAL(rep.body, "cancel target=vm%201\n");
	dmg_msg_clear(&rep);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(lfd);
	unlink(sock);
	rmdir(path);
}

void
register_proto_tests(void)
{
	CU_pSuite s = CU_add_suite("proto", NULL, NULL);

	CU_add_test(s, "hook request round trip", test_roundtrip_request);
	CU_add_test(s, "hook reply round trip", test_roundtrip_reply);
	CU_add_test(s, "golden bytes", test_golden_bytes);
	CU_add_test(s, "call and result", test_roundtrip_call_result);
	CU_add_test(s, "malformed frames rejected", test_rejects);
	CU_add_test(s, "encoder limits", test_encode_limits);
	CU_add_test(s, "reader fed byte by byte", test_reader_bytewise);
	CU_add_test(s, "reader refuses huge header", test_reader_refuses_huge);
	CU_add_test(s, "receive deadline", test_recv_timeout);
	CU_add_test(s, "growable buffer", test_buf_add);
	CU_add_test(s, "one CALL through the client", test_call);
}
