#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"

enum field_kind { F_STR, F_BYTES, F_U32 };

struct field_spec {
	enum dmg_tag tag;
	enum field_kind kind;
	size_t off;         /* offset of the pointer / u32 in struct dmg_msg */
	size_t len_off;     /* F_BYTES: offset of its size_t length */
	uint32_t max;       /* largest value length accepted */
	int required;
};

#define STR(t, f, m, r)   { t, F_STR, offsetof(struct dmg_msg, f), 0, m, r }
#define BYTES(t, f, m, r) { t, F_BYTES, offsetof(struct dmg_msg, f), \
			    offsetof(struct dmg_msg, f##_len), m, r }
#define U32(t, f, r)      { t, F_U32, offsetof(struct dmg_msg, f), 0, 4, r }
#define NFIELDS(a)        (sizeof(a) / sizeof((a)[0]))

/* The protocol as data: what each message type carries. */
static const struct field_spec hook_request[] = {
	STR(DMG_TAG_DOMAIN, domain, 256, 1),
	STR(DMG_TAG_OP, op, 64, 1),
	STR(DMG_TAG_SUBOP, subop, 64, 1),
	STR(DMG_TAG_EXTRA, extra, 256, 1),
	BYTES(DMG_TAG_XML, xml, 8u << 20, 1),
};
static const struct field_spec hook_reply[] = {
	U32(DMG_TAG_STATUS, status, 1),
	BYTES(DMG_TAG_STDOUT, out, 8u << 20, 0),
	STR(DMG_TAG_MESSAGE, message, 4096, 0),
};
static const struct field_spec pong[] = {
	STR(DMG_TAG_VERSION, version, 64, 1),
};
static const struct field_spec error_msg[] = {
	STR(DMG_TAG_MESSAGE, message, 4096, 1),
};
static const struct field_spec call[] = {
	U32(DMG_TAG_SEQ, seq, 1),
	BYTES(DMG_TAG_BODY, body, DMG_CALL_BODY_MAX, 1),
};
static const struct field_spec result[] = {
	U32(DMG_TAG_SEQ, seq, 1),
	U32(DMG_TAG_STATUS, status, 1),
	STR(DMG_TAG_MESSAGE, message, 4096, 0),
	BYTES(DMG_TAG_BODY, body, DMG_RESULT_BODY_MAX, 0),
};

static const struct {
	const char *name;
	const struct field_spec *fields;
	size_t nfields;
} types[DMG_MSG_TYPE_MAX] = {
	[DMG_MSG_HOOK_REQUEST] = { "hook-request", hook_request, NFIELDS(hook_request) },
	[DMG_MSG_HOOK_REPLY] = { "hook-reply", hook_reply, NFIELDS(hook_reply) },
	[DMG_MSG_PING] = { "ping", NULL, 0 },
	[DMG_MSG_PONG] = { "pong", pong, NFIELDS(pong) },
	[DMG_MSG_ERROR] = { "error", error_msg, NFIELDS(error_msg) },
	[DMG_MSG_CALL] = { "call", call, NFIELDS(call) },
	[DMG_MSG_RESULT] = { "result", result, NFIELDS(result) },
};

const char *
dmg_msg_type_name(unsigned type)
{
	return type > 0 && type < DMG_MSG_TYPE_MAX ? types[type].name : "unknown";
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void
dmg_buf_free(struct dmg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
dmg_buf_reserve(struct dmg_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	unsigned char *n;

	if (more <= b->cap - b->len)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	while (cap < b->len + more)
		cap *= 2;
	n = realloc(b->data, cap);
	if (!n)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

int
dmg_buf_add(struct dmg_buf *b, const void *s, size_t n)
{
	if (n >= SIZE_MAX / 2 || dmg_buf_reserve(b, n + 1) < 0)
		return -ENOMEM;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int
buf_field(struct dmg_buf *b, uint16_t tag, const void *v, uint32_t len)
{
	if (dmg_buf_reserve(b, 6 + (size_t)len) < 0)
		return -ENOMEM;
	put16(b->data + b->len, tag);
	put32(b->data + b->len + 2, len);
	if (len)
		memcpy(b->data + b->len + 6, v, len);
	b->len += 6 + (size_t)len;
	return 0;
}

static const char *
tag_name(enum dmg_tag t)
{
	static const char *const names[DMG_TAG_MAX] = {
		[DMG_TAG_DOMAIN] = "domain", [DMG_TAG_OP] = "op",
		[DMG_TAG_SUBOP] = "subop", [DMG_TAG_EXTRA] = "extra",
		[DMG_TAG_XML] = "xml", [DMG_TAG_STATUS] = "status",
		[DMG_TAG_STDOUT] = "stdout", [DMG_TAG_MESSAGE] = "message",
		[DMG_TAG_VERSION] = "version", [DMG_TAG_SEQ] = "seq",
		[DMG_TAG_BODY] = "body",
	};
	return t > 0 && t < DMG_TAG_MAX ? names[t] : "?";
}

int
dmg_msg_encode(const struct dmg_msg *m, struct dmg_buf *b, struct dmg_error *err)
{
	const struct field_spec *f;
	size_t i;

	if (m->type <= 0 || m->type >= DMG_MSG_TYPE_MAX)
		return dmg_error_set(err, -EINVAL, "cannot encode message type %d", m->type);
	b->len = 0;
	if (dmg_buf_reserve(b, DMG_PROTO_HDR) < 0)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	b->len = DMG_PROTO_HDR;
	for (i = 0; i < types[m->type].nfields; i++) {
		const char *base = (const char *)m;
		const void *val;
		size_t len;
		unsigned char u[4];
		int rc;

		f = &types[m->type].fields[i];
		if (f->kind == F_U32) {
			put32(u, *(const uint32_t *)(const void *)(base + f->off));
			val = u;
			len = 4;
		} else {
			val = *(char *const *)(const void *)(base + f->off);
			if (!val) {
				if (f->required)
					return dmg_error_set(err, -EINVAL, "%s: field '%s' is required",
							     types[m->type].name, tag_name(f->tag));
				continue;
			}
			len = f->kind == F_STR ? strlen(val)
			      : *(const size_t *)(const void *)(base + f->len_off);
		}
		if (len > f->max)
			return dmg_error_set(err, -EMSGSIZE, "%s: field '%s' is %zu bytes, limit %u",
					     types[m->type].name, tag_name(f->tag), len, f->max);
		rc = buf_field(b, (uint16_t)f->tag, val, (uint32_t)len);
		if (rc < 0)
			return dmg_error_set(err, rc, "out of memory");
	}
	put32(b->data, DMG_PROTO_MAGIC);
	put16(b->data + 4, DMG_PROTO_VERSION);
	put16(b->data + 6, (uint16_t)m->type);
	put32(b->data + 8, (uint32_t)(b->len - DMG_PROTO_HDR));
	return 0;
}

int
dmg_msg_header(const unsigned char *hdr, uint16_t *type, uint32_t *payload_len,
	       struct dmg_error *err)
{
	uint32_t magic = get32(hdr), len = get32(hdr + 8);
	uint16_t ver = get16(hdr + 4), t = get16(hdr + 6);

	*type = 0;
	*payload_len = 0;
	if (magic != DMG_PROTO_MAGIC)
		return dmg_error_set(err, -EPROTO, "bad message magic 0x%08x", magic);
	if (ver != DMG_PROTO_VERSION)
		return dmg_error_set(err, -EPROTO, "unsupported protocol version %u (this is %u)",
				     ver, DMG_PROTO_VERSION);
	if (t == 0 || t >= DMG_MSG_TYPE_MAX)
		return dmg_error_set(err, -EPROTO, "unknown message type %u", t);
	if (len > DMG_PROTO_MAX - DMG_PROTO_HDR)
		return dmg_error_set(err, -EMSGSIZE, "message of %u bytes exceeds the limit", len);
	*type = t;
	*payload_len = len;
	return 0;
}

void
dmg_msg_clear(struct dmg_msg *m)
{
	free(m->domain);
	free(m->op);
	free(m->subop);
	free(m->extra);
	free(m->xml);
	free(m->out);
	free(m->message);
	free(m->version);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

static int
decode_field(const struct field_spec *f, const unsigned char *v, uint32_t len,
	     struct dmg_msg *m, const char *tname, struct dmg_error *err)
{
	char *base = (char *)m;
	char *s;

	if (len > f->max)
		return dmg_error_set(err, -EMSGSIZE, "%s: field '%s' is %u bytes, limit %u",
				     tname, tag_name(f->tag), len, f->max);
	if (f->kind == F_U32) {
		if (len != 4)
			return dmg_error_set(err, -EPROTO, "%s: field '%s' must be 4 bytes",
					     tname, tag_name(f->tag));
		*(uint32_t *)(void *)(base + f->off) = get32(v);
		return 0;
	}
	if (f->kind == F_STR && memchr(v, '\0', len))
		return dmg_error_set(err, -EPROTO, "%s: field '%s' contains a NUL byte",
				     tname, tag_name(f->tag));
	s = malloc((size_t)len + 1);
	if (!s)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	if (len)
		memcpy(s, v, len);
	s[len] = '\0';
	*(char **)(void *)(base + f->off) = s;
	if (f->kind == F_BYTES)
		*(size_t *)(void *)(base + f->len_off) = len;
	return 0;
}

int
dmg_msg_decode(const unsigned char *data, size_t len, struct dmg_msg *m,
	       struct dmg_error *err)
{
	unsigned seen = 0;   /* bit per tag; DMG_TAG_MAX < 32 */
	const unsigned char *p, *end;
	uint32_t plen;
	uint16_t type;
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len < DMG_PROTO_HDR)
		return dmg_error_set(err, -EPROTO, "truncated message header");
	rc = dmg_msg_header(data, &type, &plen, err);
	if (rc < 0)
		return rc;
	if ((size_t)plen != len - DMG_PROTO_HDR)
		return dmg_error_set(err, -EPROTO, "message length %u does not match the %zu bytes received",
				     plen, len - DMG_PROTO_HDR);
	m->type = type;
	p = data + DMG_PROTO_HDR;
	end = data + len;
	while (p < end) {
		const struct field_spec *f = NULL;
		uint16_t tag;
		uint32_t flen;

		if (end - p < 6) {
			rc = dmg_error_set(err, -EPROTO, "%s: truncated field header", types[type].name);
			goto fail;
		}
		tag = get16(p);
		flen = get32(p + 2);
		p += 6;
		if ((size_t)(end - p) < flen) {
			rc = dmg_error_set(err, -EPROTO, "%s: field %u overruns the message",
					   types[type].name, tag);
			goto fail;
		}
		for (i = 0; i < types[type].nfields; i++)
			if (types[type].fields[i].tag == tag)
				f = &types[type].fields[i];
		if (!f) {
			rc = dmg_error_set(err, -EPROTO, "%s: unexpected field %u", types[type].name, tag);
			goto fail;
		}
		if (seen & (1u << tag)) {
			rc = dmg_error_set(err, -EPROTO, "%s: field '%s' appears twice",
					   types[type].name, tag_name(f->tag));
			goto fail;
		}
		seen |= 1u << tag;
		rc = decode_field(f, p, flen, m, types[type].name, err);
		if (rc < 0)
			goto fail;
		p += flen;
	}
	for (i = 0; i < types[type].nfields; i++) {
		const struct field_spec *f = &types[type].fields[i];

		if (f->required && !(seen & (1u << f->tag))) {
			rc = dmg_error_set(err, -EPROTO, "%s: required field '%s' is missing",
					   types[type].name, tag_name(f->tag));
			goto fail;
		}
	}
	return 0;
fail:
	dmg_msg_clear(m);
	return rc;
}
