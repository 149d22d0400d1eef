/* core/verb.c: the one check of a CALL on each channel. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/verb.h"
#include "unit.h"

#define SID  "0123abcd"
#define TOK  "00112233445566778899aabbccddeeff"
#define UUID "6c2a0c3e-0000-4000-8000-000000000001"
#define ST   "sid=" SID " tok=" TOK

/* Checks one request line as it arrives on channel; err gets the message. */
static int
check(const char *line, unsigned channel, enum dmg_verb *v, struct dmg_error *err)
{
	struct dmg_jrec r;

	memset(err, 0, sizeof(*err));
	CU_ASSERT_EQUAL_FATAL(dmg_jrec_parse_line(line, &r, err), 0);
	return dmg_verb_check(&r, channel, v, err);
}

/* What each real sender sends (engine/run.c sess_call, daemon/admit.c,
 * daemon/fencing.c, cli/drbdmig.c, fence-peer/fence.c, and the lab's
 * peercall lines in tests/lab/tests/migrate-rogue.sh). */
static const struct {
	const char *line;
	unsigned channel;
	enum dmg_verb verb;
} senders[] = {
	{ "open " ST " domain=guest%20one uuid=" UUID " secret=00112233445566778899aabbccddeeff ndisks=2",
	  DMG_VERB_PEER, DMG_VERB_OPEN },
	{ "disk " ST " i=1 target=vdb dhost=hostB daddr=10.0.0.2 dminor=120 dport=7990",
	  DMG_VERB_PEER, DMG_VERB_DISK },
	{ "connect " ST, DMG_VERB_PEER, DMG_VERB_CONNECT },
	{ "sync " ST, DMG_VERB_PEER, DMG_VERB_SYNC },
	{ "dual " ST, DMG_VERB_PEER, DMG_VERB_DUAL },
	{ "state " ST, DMG_VERB_PEER, DMG_VERB_STATE },
	{ "finish " ST, DMG_VERB_PEER, DMG_VERB_FINISH },
	{ "close " ST, DMG_VERB_PEER, DMG_VERB_CLOSE },
	{ "rollback " ST " reason=the%20guest%20stopped", DMG_VERB_PEER, DMG_VERB_ROLLBACK },
	{ "probe uuid=" UUID " target=vda", DMG_VERB_PEER, DMG_VERB_PROBE },
	{ "whohas uuid=" UUID, DMG_VERB_PEER, DMG_VERB_WHOHAS },
	{ "fence " ST, DMG_VERB_PEER, DMG_VERB_FENCE },
	{ "status", DMG_VERB_CLI, DMG_VERB_STATUS },
	{ "verify", DMG_VERB_CLI, DMG_VERB_VERIFY },
	{ "cancel target=guest", DMG_VERB_CLI, DMG_VERB_CANCEL },
	{ "cleanup target=" UUID, DMG_VERB_CLI, DMG_VERB_CLEANUP },
	{ "cleanup target=--orphans", DMG_VERB_CLI, DMG_VERB_CLEANUP },
	{ "fence target=drbdmig-" SID "-0", DMG_VERB_CLI, DMG_VERB_FENCE_RES },
	/* the lab's rogue peer (tests/lab/tests/migrate-rogue.sh) */
	{ "probe uuid=" UUID " target=vdz path=/dev/vg/scratch", DMG_VERB_PEER, DMG_VERB_PROBE },
	{ "open sid=0badc0de tok=" TOK " uuid=" UUID " secret=0011 ndisks=1", DMG_VERB_PEER,
	  DMG_VERB_OPEN },
	{ "disk sid=0badc0de tok=" TOK " i=0 target=scratch path=/dev/vg/scratch dhost=lab-b daddr=192.168.122.12 dminor=120 dport=7990",
	  DMG_VERB_PEER, DMG_VERB_DISK },
	{ "rollback sid=0badc0de tok=" TOK " reason=rogue-test", DMG_VERB_PEER, DMG_VERB_ROLLBACK },
	/* a session journalled by an older version has no handle */
	{ "state sid=" SID " tok=", DMG_VERB_PEER, DMG_VERB_STATE },
};

#define NSENDERS (sizeof(senders) / sizeof(senders[0]))

static void
test_senders(void)
{
	struct dmg_error err;
	enum dmg_verb v;
	size_t i;

	for (i = 0; i < NSENDERS; i++) {
		v = DMG_VERB_NONE;
		CU_ASSERT_EQUAL(check(senders[i].line, senders[i].channel, &v, &err), 0);
		CU_ASSERT_EQUAL(v, senders[i].verb);
		if (err.code)
			fprintf(stderr, "\n  refused: %s: %s\n", senders[i].line, err.msg);
	}
}

/* Each key dropped in turn: a required one is named in the refusal. */
static void
test_required(void)
{
	static const char *const optional[] = { "domain", "reason", "path", NULL };
	size_t i, k, o;

	for (i = 0; i < NSENDERS; i++) {
		struct dmg_jrec full, r;
		struct dmg_error err = { 0 };
		enum dmg_verb v;

		CU_ASSERT_EQUAL_FATAL(dmg_jrec_parse_line(senders[i].line, &full, &err), 0);
		for (k = 0; k < full.n; k++) {
			char want[128];
			int opt = 0;

			r = full;
			memmove(&r.kv[k], &r.kv[k + 1], (r.n - k - 1) * sizeof(r.kv[0]));
			r.n--;
			for (o = 0; optional[o]; o++)
				opt |= strcmp(optional[o], full.kv[k].key) == 0;
			memset(&err, 0, sizeof(err));
			if (opt) {
				CU_ASSERT_EQUAL(dmg_verb_check(&r, senders[i].channel, &v, &err), 0);
				continue;
			}
			CU_ASSERT_EQUAL(dmg_verb_check(&r, senders[i].channel, &v, &err), -EPROTO);
			CU_ASSERT_EQUAL(v, DMG_VERB_NONE);
			snprintf(want, sizeof(want), "%s: %s is required", full.step, full.kv[k].key);
			CU_ASSERT_STRING_EQUAL(err.msg, want);
		}
	}
}

static void
test_unknown(void)
{
	struct dmg_error err;
	struct dmg_jrec r;
	enum dmg_verb v;

	CU_ASSERT_EQUAL(check("frobnicate " ST, DMG_VERB_PEER, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown verb 'frobnicate'");
	CU_ASSERT_EQUAL(v, DMG_VERB_NONE);
	CU_ASSERT_EQUAL(check("ping", DMG_VERB_CLI, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown verb 'ping'");
	/* names are exact (the record parser takes no uppercase name) */
	dmg_jrec_init(&r, "Status");
	CU_ASSERT_EQUAL(dmg_verb_check(&r, DMG_VERB_CLI, &v, &err), -EPROTO);
	CU_ASSERT_EQUAL(check("stat " ST, DMG_VERB_PEER, &v, &err), -EPROTO);
	CU_ASSERT_EQUAL(check("statu", DMG_VERB_CLI, &v, &err), -EPROTO);
	/* a key the verb does not take */
	CU_ASSERT_EQUAL(check("open " ST " uuid=" UUID " secret=00 ndisks=1 foo=1", DMG_VERB_PEER,
			      &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "open: unexpected key 'foo'");
	CU_ASSERT_EQUAL(check("status target=guest", DMG_VERB_CLI, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "status: unexpected key 'target'");
	CU_ASSERT_EQUAL(check("whohas uuid=" UUID " sid=" SID, DMG_VERB_PEER, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "whohas: unexpected key 'sid'");
	/* "i" belongs to disk only */
	CU_ASSERT_EQUAL(check("connect " ST " i=0", DMG_VERB_PEER, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "connect: unexpected key 'i'");
}

/* A verb of one channel arriving on the other. */
static void
test_channel(void)
{
	struct dmg_error err;
	enum dmg_verb v;

	CU_ASSERT_EQUAL(check("status", DMG_VERB_PEER, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "'status' is not a verb of the peer channel");
	CU_ASSERT_EQUAL(check("cleanup target=--orphans", DMG_VERB_PEER, &v, &err), -EPROTO);
	CU_ASSERT_EQUAL(check("probe uuid=" UUID " target=vda", DMG_VERB_CLI, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "'probe' is not a verb of drbdmigd's socket");
	CU_ASSERT_EQUAL(check("open " ST " uuid=" UUID " secret=00 ndisks=1", DMG_VERB_CLI, &v, &err),
			-EPROTO);
	CU_ASSERT_EQUAL(v, DMG_VERB_NONE);
	/* "fence" is a verb of both, with the keys of each */
	CU_ASSERT_EQUAL(check("fence " ST, DMG_VERB_CLI, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "fence: target is required");
	CU_ASSERT_EQUAL(check("fence target=drbdmig-" SID "-0", DMG_VERB_PEER, &v, &err), -EPROTO);
	CU_ASSERT_STRING_EQUAL(err.msg, "fence: sid is required");
}

/* Values of the wrong shape or size: refused, naming verb and key. */
static void
test_values(void)
{
	static const struct {
		const char *line;
		unsigned channel;
		const char *msg;
	} bad[] = {
		{ "state sid=0123abc tok=" TOK, DMG_VERB_PEER, "state: sid: not a session id" },
		{ "state sid=0123abcd0 tok=" TOK, DMG_VERB_PEER, "state: sid: not a session id" },
		{ "state sid=0123ABCD tok=" TOK, DMG_VERB_PEER, "state: sid: not a session id" },
		{ "state sid= tok=" TOK, DMG_VERB_PEER, "state: sid: not a session id" },
		{ "state sid=../../x tok=" TOK, DMG_VERB_PEER, "state: sid: not a session id" },
		{ "finish sid=" SID " tok=0011", DMG_VERB_PEER, "finish: tok: not a session handle" },
		{ "finish sid=" SID " tok=" TOK "0", DMG_VERB_PEER, "finish: tok: not a session handle" },
		{ "finish sid=" SID " tok=00112233445566778899aabbccddeeFF", DMG_VERB_PEER,
		  "finish: tok: not a session handle" },
		/* open makes the handle: an empty one is refused there */
		{ "open sid=" SID " tok= uuid=" UUID " secret=00 ndisks=1", DMG_VERB_PEER,
		  "open: tok: not a session handle" },
		{ "open " ST " uuid=u-1 secret=00 ndisks=1", DMG_VERB_PEER, "open: uuid: not a UUID" },
		{ "open " ST " uuid=6c2a0c3e-0000-4000-8000-00000000000g secret=00 ndisks=1", DMG_VERB_PEER,
		  "open: uuid: not a UUID" },
		{ "open " ST " uuid=6c2a0c3e00000-4000-8000-000000000001 secret=00 ndisks=1", DMG_VERB_PEER,
		  "open: uuid: not a UUID" },
		{ "open " ST " uuid=" UUID " secret=s3cr3t ndisks=1", DMG_VERB_PEER,
		  "open: secret: not a hex secret" },
		{ "open " ST " uuid=" UUID " secret= ndisks=1", DMG_VERB_PEER,
		  "open: secret: not a hex secret" },
		{ "open " ST " uuid=" UUID " secret=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0 ndisks=1",
		  DMG_VERB_PEER, "open: secret: not a hex secret" },
		{ "open " ST " uuid=" UUID " secret=00 ndisks=0", DMG_VERB_PEER,
		  "open: ndisks: not a disk count (1..16)" },
		{ "open " ST " uuid=" UUID " secret=00 ndisks=17", DMG_VERB_PEER,
		  "open: ndisks: not a disk count (1..16)" },
		{ "open " ST " uuid=" UUID " secret=00 ndisks=1 domain=", DMG_VERB_PEER,
		  "open: domain: empty, too long, or has a control byte" },
		{ "open " ST " uuid=" UUID " secret=00 ndisks=1 domain=a%0Ab", DMG_VERB_PEER,
		  "open: domain: empty, too long, or has a control byte" },
		{ "disk " ST " i=16 target=vdb dhost=b daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: i: not a disk index" },
		{ "disk " ST " i=-1 target=vdb dhost=b daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: i: not a disk index" },
		{ "disk " ST " i=+1 target=vdb dhost=b daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: i: not a disk index" },
		{ "disk " ST " i=0x1 target=vdb dhost=b daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: i: not a disk index" },
		{ "disk " ST " i= target=vdb dhost=b daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: i: not a disk index" },
		{ "disk " ST " i=0 target=vd%20b dhost=b daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: target: not a disk target" },
		{ "disk " ST " i=0 target=../vdb dhost=b daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: target: not a disk target" },
		{ "disk " ST " i=0 target=vdbvdbvdbvdbvdbvdbvdbvdbvdbvdbvd dhost=b daddr=a dminor=1 dport=1",
		  DMG_VERB_PEER, "disk: target: not a disk target" },
		{ "disk " ST " i=0 target=vdb dhost=b%20c daddr=a dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: dhost: empty, too long, or has a space or control byte" },
		{ "disk " ST " i=0 target=vdb dhost=b daddr= dminor=1 dport=1", DMG_VERB_PEER,
		  "disk: daddr: empty, too long, or has a space or control byte" },
		{ "disk " ST " i=0 target=vdb dhost=b daddr=a dminor=4294967296 dport=1", DMG_VERB_PEER,
		  "disk: dminor: not a number (0..4294967295)" },
		{ "disk " ST " i=0 target=vdb dhost=b daddr=a dminor=1 dport=65536", DMG_VERB_PEER,
		  "disk: dport: not a port" },
		{ "probe uuid=" UUID " target=", DMG_VERB_PEER, "probe: target: not a disk target" },
		{ "whohas uuid=", DMG_VERB_PEER, "whohas: uuid: not a UUID" },
		{ "cancel target=", DMG_VERB_CLI, "cancel: target: empty, too long, or has a control byte" },
		{ "cleanup target=a%01b", DMG_VERB_CLI,
		  "cleanup: target: empty, too long, or has a control byte" },
		{ "fence target=", DMG_VERB_CLI, "fence: target: empty, too long, or has a control byte" },
	};
	struct dmg_error err;
	enum dmg_verb v;
	char line[1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(check(bad[i].line, bad[i].channel, &v, &err), -EINVAL);
		CU_ASSERT_EQUAL(v, DMG_VERB_NONE);
		CU_ASSERT_STRING_EQUAL(err.msg, bad[i].msg);
	}
	/* lengths at and over each limit */
	snprintf(line, sizeof(line), "disk " ST " i=15 target=%031d dhost=%0127d daddr=%063d dminor=4294967295 dport=65535",
		 0, 0, 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_PEER, &v, &err), 0);
	snprintf(line, sizeof(line), "disk " ST " i=0 target=vda dhost=%0128d daddr=a dminor=1 dport=1", 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_PEER, &v, &err), -EINVAL);
	snprintf(line, sizeof(line), "disk " ST " i=0 target=vda dhost=b daddr=%064d dminor=1 dport=1", 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_PEER, &v, &err), -EINVAL);
	snprintf(line, sizeof(line), "cancel target=%0255d", 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_CLI, &v, &err), 0);
	snprintf(line, sizeof(line), "cancel target=%0256d", 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_CLI, &v, &err), -EINVAL);
	snprintf(line, sizeof(line), "fence target=drbdmig-%0119d", 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_CLI, &v, &err), 0);
	snprintf(line, sizeof(line), "fence target=drbdmig-%0120d", 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_CLI, &v, &err), -EINVAL);
	snprintf(line, sizeof(line), "probe uuid=" UUID " target=vda path=/%0255d", 0);
	CU_ASSERT_EQUAL(check(line, DMG_VERB_PEER, &v, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "probe: path: too long");
	/* uppercase UUIDs are libvirt's too */
	CU_ASSERT_EQUAL(check("whohas uuid=6C2A0C3E-0000-4000-8000-00000000000A", DMG_VERB_PEER, &v,
			      &err), 0);
}

static void
test_names(void)
{
	int i;

	for (i = 0; i < DMG_VERB_MAX; i++) {
		const char *n = dmg_verb_name((enum dmg_verb)i);
		enum dmg_verb c = dmg_verb_lookup(n, DMG_VERB_CLI), p = dmg_verb_lookup(n, DMG_VERB_PEER);

		CU_ASSERT(strcmp(n, "?") != 0);
		CU_ASSERT(c == i || p == i);
	}
	CU_ASSERT_EQUAL(dmg_verb_lookup("fence", DMG_VERB_CLI), DMG_VERB_FENCE_RES);
	CU_ASSERT_EQUAL(dmg_verb_lookup("fence", DMG_VERB_PEER), DMG_VERB_FENCE);
	CU_ASSERT_EQUAL(dmg_verb_lookup("status", DMG_VERB_PEER), DMG_VERB_NONE);
	CU_ASSERT_EQUAL(dmg_verb_lookup(NULL, DMG_VERB_CLI), DMG_VERB_NONE);
	CU_ASSERT_STRING_EQUAL(dmg_verb_name(DMG_VERB_NONE), "?");
	CU_ASSERT_STRING_EQUAL(dmg_verb_name(DMG_VERB_MAX), "?");
	CU_ASSERT(dmg_verb_is_session(DMG_VERB_OPEN) && dmg_verb_is_session(DMG_VERB_ROLLBACK));
	CU_ASSERT(!dmg_verb_is_session(DMG_VERB_PROBE) && !dmg_verb_is_session(DMG_VERB_FENCE) &&
		  !dmg_verb_is_session(DMG_VERB_NONE));
}

static void
test_uint(void)
{
	uint64_t u = 7;

	CU_ASSERT_EQUAL(dmg_verb_uint("0", 10, &u), 0);
	CU_ASSERT_EQUAL(u, 0);
	CU_ASSERT_EQUAL(dmg_verb_uint("18446744073709551615", UINT64_MAX, &u), 0);
	CU_ASSERT_EQUAL(u, UINT64_MAX);
	CU_ASSERT_EQUAL(dmg_verb_uint("18446744073709551616", UINT64_MAX, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint("99999999999999999999", UINT64_MAX, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint("000000000000000000001", UINT64_MAX, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint("11", 10, &u), -EINVAL);
	CU_ASSERT_EQUAL(u, UINT64_MAX);
	CU_ASSERT_EQUAL(dmg_verb_uint("", 10, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint(NULL, 10, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint("+1", 10, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint("-1", 10, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint(" 1", 10, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint("1 ", 10, &u), -EINVAL);
	CU_ASSERT_EQUAL(dmg_verb_uint("0x1", 10, &u), -EINVAL);
}

/* The fence answers: a code for DRBD's handler, a result between daemons. */
static void
test_fence_answers(void)
{
	static const char *const bad[] = {
		"fence exit=4\n", "fence code=\n", "fence code=4x\n", "fence code=-4\n",
		"fence code=256\n", "status code=4\n", "fence\n", "", "fence code=4 code=4\n",
	};
	size_t i;

	CU_ASSERT_EQUAL(dmg_fence_code_parse("fence code=4\n", 13), 4);
	CU_ASSERT_EQUAL(dmg_fence_code_parse("fence code=4", 12), 4);
	CU_ASSERT_EQUAL(dmg_fence_code_parse("fence code=7\nmore lines\n", 24), 7);
	CU_ASSERT_EQUAL(dmg_fence_code_parse("fence code=4\n", 11), -1);   /* cut short: "code=" */
	CU_ASSERT_EQUAL(dmg_fence_code_parse(NULL, 0), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(dmg_fence_code_parse(bad[i], strlen(bad[i])), -1);
	CU_ASSERT_EQUAL(dmg_fence_result_parse("stopped"), DMG_FENCE_STOPPED);
	CU_ASSERT_EQUAL(dmg_fence_result_parse("switched"), DMG_FENCE_SWITCHED);
	CU_ASSERT_EQUAL(dmg_fence_result_parse("Stopped"), DMG_FENCE_NONE);
	CU_ASSERT_EQUAL(dmg_fence_result_parse(""), DMG_FENCE_NONE);
	CU_ASSERT_EQUAL(dmg_fence_result_parse(NULL), DMG_FENCE_NONE);
	CU_ASSERT_STRING_EQUAL(dmg_fence_result_name(DMG_FENCE_STOPPED), "stopped");
	CU_ASSERT_STRING_EQUAL(dmg_fence_result_name(DMG_FENCE_SWITCHED), "switched");
	CU_ASSERT_STRING_EQUAL(dmg_fence_result_name(DMG_FENCE_NONE), "?");
}

void
register_verb_tests(void)
{
	CU_pSuite s = CU_add_suite("verb", NULL, NULL);

	CU_add_test(s, "what each real sender sends is accepted", test_senders);
	CU_add_test(s, "a missing required key is named", test_required);
	CU_add_test(s, "unknown verbs and keys", test_unknown);
	CU_add_test(s, "a verb of the other channel", test_channel);
	CU_add_test(s, "values of the wrong shape or size", test_values);
	CU_add_test(s, "names and lookup", test_names);
	CU_add_test(s, "strict decimals", test_uint);
	CU_add_test(s, "fence answers", test_fence_answers);
}
