/* The verb table (verb.h): which CALL each channel may send, and the keys
 * each takes.  Limits follow what the receivers store the values in
 * (engine/session.h, libvirt/policy.h), so a value that passes fits. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/names.h"
#include "core/verb.h"

enum shape {
	SH_SID,       /* exactly DMG_VERB_SID_LEN lowercase hex digits */
	SH_TOK,       /* exactly DMG_VERB_TOK_LEN lowercase hex digits */
	SH_TOK_OLD,   /* the same, or empty: sessions journalled by older
		       * versions have no handle, and their calls carry "" */
	SH_UUID,      /* libvirt's form, 8-4-4-4-12 hex digits (either case) */
	SH_TARGET,    /* a disk target as the policy allows it: 1-31 of [A-Za-z0-9._-] */
	SH_INDEX,     /* decimal, < DMG_VERB_DISKS_MAX */
	SH_NDISKS,    /* decimal, 1..DMG_VERB_DISKS_MAX */
	SH_U32,       /* decimal, <= UINT32_MAX (a DRBD minor) */
	SH_PORT,      /* decimal, <= 65535 */
	SH_SECRET,    /* 1..max lowercase hex digits */
	SH_WORD,      /* 1..max bytes, no space or control byte (host, address) */
	SH_NAME,      /* 1..max bytes, no control byte (domain, resource) */
	SH_TEXT,      /* 0..max bytes (free text, e.g. a reason) */
};

struct key {
	const char *name;
	enum shape shape;
	size_t max;          /* SH_SECRET, SH_WORD, SH_NAME, SH_TEXT: longest value */
	int required;
};

#define KEYS_MAX 10

struct row {
	const char *name;
	unsigned on;                   /* DMG_VERB_CLI | DMG_VERB_PEER */
	struct key keys[KEYS_MAX];     /* ended by a NULL name */
};

/* Every session call carries the session's id and handle. */
#define K_SID     { "sid", SH_SID, 0, 1 }
#define K_TOK     { "tok", SH_TOK_OLD, 0, 1 }
#define K_UUID    { "uuid", SH_UUID, 0, 1 }
/* A path for a target: taken and ignored (the source reads paths from its
 * own libvirt only; the lab's rogue peer sends one to prove it). */
#define K_PATH    { "path", SH_TEXT, 255, 0 }

static const struct row rows[DMG_VERB_MAX] = {
	[DMG_VERB_OPEN] = { "open", DMG_VERB_PEER, {
		K_SID, { "tok", SH_TOK, 0, 1 }, K_UUID, { "secret", SH_SECRET, 64, 1 },
		{ "ndisks", SH_NDISKS, 0, 1 }, { "domain", SH_NAME, 255, 0 } } },
	[DMG_VERB_DISK] = { "disk", DMG_VERB_PEER, {
		K_SID, K_TOK, { "i", SH_INDEX, 0, 1 }, { "target", SH_TARGET, 0, 1 },
		{ "dhost", SH_WORD, 127, 1 }, { "daddr", SH_WORD, 63, 1 },
		{ "dminor", SH_U32, 0, 1 }, { "dport", SH_PORT, 0, 1 }, K_PATH } },
	[DMG_VERB_CONNECT] = { "connect", DMG_VERB_PEER, { K_SID, K_TOK } },
	[DMG_VERB_SYNC] = { "sync", DMG_VERB_PEER, { K_SID, K_TOK } },
	[DMG_VERB_DUAL] = { "dual", DMG_VERB_PEER, { K_SID, K_TOK } },
	[DMG_VERB_STATE] = { "state", DMG_VERB_PEER, { K_SID, K_TOK } },
	[DMG_VERB_FINISH] = { "finish", DMG_VERB_PEER, { K_SID, K_TOK } },
	[DMG_VERB_CLOSE] = { "close", DMG_VERB_PEER, { K_SID, K_TOK } },
	[DMG_VERB_ROLLBACK] = { "rollback", DMG_VERB_PEER, {
		K_SID, K_TOK, { "reason", SH_TEXT, DMG_ERROR_MAX - 1, 0 } } },
	[DMG_VERB_PROBE] = { "probe", DMG_VERB_PEER, {
		K_UUID, { "target", SH_TARGET, 0, 1 }, K_PATH } },
	[DMG_VERB_WHOHAS] = { "whohas", DMG_VERB_PEER, { K_UUID } },
	[DMG_VERB_FENCE] = { "fence", DMG_VERB_PEER, { K_SID, K_TOK } },
	[DMG_VERB_STATUS] = { "status", DMG_VERB_CLI, { { NULL, SH_TEXT, 0, 0 } } },
	[DMG_VERB_VERIFY] = { "verify", DMG_VERB_CLI, { { NULL, SH_TEXT, 0, 0 } } },
	/* a domain name, UUID or session id; cleanup also "--orphans" */
	[DMG_VERB_CANCEL] = { "cancel", DMG_VERB_CLI, { { "target", SH_NAME, 255, 1 } } },
	[DMG_VERB_CLEANUP] = { "cleanup", DMG_VERB_CLI, { { "target", SH_NAME, 255, 1 } } },
	/* DRBD's resource name, as the handler got it in DRBD_RESOURCE */
	[DMG_VERB_FENCE_RES] = { "fence", DMG_VERB_CLI, { { "target", SH_NAME, 127, 1 } } },
};

static const char *const fence_results[DMG_FENCE_MAX] = {
	[DMG_FENCE_STOPPED] = "stopped", [DMG_FENCE_SWITCHED] = "switched",
};

const char *
dmg_verb_name(enum dmg_verb v)
{
	return v > DMG_VERB_NONE && v < DMG_VERB_MAX ? rows[v].name : "?";
}

enum dmg_verb
dmg_verb_lookup(const char *name, unsigned channel)
{
	int i;

	for (i = 0; name && i < DMG_VERB_MAX; i++)
		if ((rows[i].on & channel) && strcmp(rows[i].name, name) == 0)
			return (enum dmg_verb)i;
	return DMG_VERB_NONE;
}

int
dmg_verb_is_session(enum dmg_verb v)
{
	return v >= DMG_VERB_OPEN && v <= DMG_VERB_ROLLBACK;
}

int
dmg_verb_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t u = 0;
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9 || u > (UINT64_MAX - d) / 10)
			return -EINVAL;
		u = u * 10 + d;
	}
	if (u > max)
		return -EINVAL;
	*out = u;
	return 0;
}

static int
all_of(const char *s, size_t n, const char *set)
{
	return strlen(s) == n && strspn(s, set) == n;
}

static int
uuid_ok(const char *s)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !strchr(hex, s[i]))
			return 0;
	return 1;
}

/* No control byte; with no_space, no space either.  1..max bytes unless
 * empty_ok. */
static int
text_ok(const char *s, size_t max, int no_space, int empty_ok)
{
	size_t n = strlen(s), i;

	if (n > max || (n == 0 && !empty_ok))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (no_space && c == ' '))
			return 0;
	}
	return 1;
}

/* NULL when v has key k's shape, else what it should have been. */
static const char *
shape_fault(const struct key *k, const char *v)
{
	static const char hexl[] = "0123456789abcdef";
	uint64_t u;

	switch (k->shape) {
	case SH_SID:
		return all_of(v, DMG_VERB_SID_LEN, hexl) ? NULL : "not a session id";
	case SH_TOK:
		return all_of(v, DMG_VERB_TOK_LEN, hexl) ? NULL : "not a session handle";
	case SH_TOK_OLD:
		return !*v || all_of(v, DMG_VERB_TOK_LEN, hexl) ? NULL : "not a session handle";
	case SH_UUID:
		return uuid_ok(v) ? NULL : "not a UUID";
	case SH_TARGET:
		return *v && strlen(v) <= 31 &&
		       all_of(v, strlen(v), "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ? NULL : "not a disk target";
	case SH_INDEX:
		return dmg_verb_uint(v, DMG_VERB_DISKS_MAX - 1, &u) == 0 ? NULL : "not a disk index";
	case SH_NDISKS:
		return dmg_verb_uint(v, DMG_VERB_DISKS_MAX, &u) == 0 && u > 0 ? NULL :
		       "not a disk count (1..16)";
	case SH_U32:
		return dmg_verb_uint(v, UINT32_MAX, &u) == 0 ? NULL : "not a number (0..4294967295)";
	case SH_PORT:
		return dmg_verb_uint(v, 65535, &u) == 0 ? NULL : "not a port";
	case SH_SECRET:
		return *v && strlen(v) <= k->max && all_of(v, strlen(v), hexl) ? NULL : "not a hex secret";
	case SH_WORD:
		return text_ok(v, k->max, 1, 0) ? NULL : "empty, too long, or has a space or control byte";
	case SH_NAME:
		return text_ok(v, k->max, 0, 0) ? NULL : "empty, too long, or has a control byte";
	case SH_TEXT:
		return strlen(v) <= k->max ? NULL : "too long";
	}
	return "of no known shape";
}

int
dmg_verb_check(const struct dmg_jrec *req, unsigned channel, enum dmg_verb *out,
	       struct dmg_error *err)
{
	const char *where = channel == DMG_VERB_CLI ? "drbdmigd's socket" : "the peer channel";
	const struct row *row;
	enum dmg_verb v = dmg_verb_lookup(req->step, channel);
	const struct key *k;
	size_t i;

	*out = DMG_VERB_NONE;
	if (v == DMG_VERB_NONE)
		return dmg_verb_lookup(req->step, DMG_VERB_CLI | DMG_VERB_PEER) == DMG_VERB_NONE ?
		       dmg_error_set(err, -EPROTO, "unknown verb '%s'", req->step) :
		       dmg_error_set(err, -EPROTO, "'%s' is not a verb of %s", req->step, where);
	row = &rows[v];
	for (k = row->keys; k->name; k++) {
		const char *val = dmg_jrec_get(req, k->name), *fault;

		if (!val) {
			if (k->required)
				return dmg_error_set(err, -EPROTO, "%s: %s is required", row->name, k->name);
			continue;
		}
		if ((fault = shape_fault(k, val)))
			return dmg_error_set(err, -EINVAL, "%s: %s: %s", row->name, k->name, fault);
	}
	for (i = 0; i < req->n; i++) {
		for (k = row->keys; k->name && strcmp(k->name, req->kv[i].key) != 0; k++)
			;
		if (!k->name)
			return dmg_error_set(err, -EPROTO, "%s: unexpected key '%s'", row->name,
					     req->kv[i].key);
	}
	*out = v;
	return 0;
}

int
dmg_fence_code_parse(const char *body, size_t len)
{
	const char *nl = body ? memchr(body, '\n', len) : NULL;
	size_t n = nl ? (size_t)(nl - body) : len;
	char line[DMG_JREC_STEP_MAX + DMG_JREC_KEY_MAX + 32];
	struct dmg_error err = { 0 };
	struct dmg_jrec rec;
	uint64_t code;

	if (!body || n >= sizeof(line) || memchr(body, '\0', n))
		return -1;
	memcpy(line, body, n);
	line[n] = '\0';
	if (dmg_jrec_parse_line(line, &rec, &err) < 0 ||
	    dmg_verb_lookup(rec.step, DMG_VERB_CLI) != DMG_VERB_FENCE_RES ||
	    dmg_verb_uint(dmg_jrec_get(&rec, DMG_FENCE_CODE_KEY), 255, &code) < 0)
		return -1;
	return (int)code;
}

const char *
dmg_fence_result_name(enum dmg_fence_result f)
{
	return dmg_name_of(fence_results, 0, DMG_FENCE_MAX, f);
}

enum dmg_fence_result
dmg_fence_result_parse(const char *s)
{
	int i = dmg_name_index(fence_results, 0, DMG_FENCE_MAX, s);

	return i < 0 ? DMG_FENCE_NONE : (enum dmg_fence_result)i;
}
