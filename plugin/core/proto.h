/* Typed, versioned, length-checked messages between the hook, the CLI and
 * drbdmigd on the local UNIX socket.
 *
 * Frame: 12-byte header, all integers big-endian:
 *   u32 magic "DMG1" | u16 version | u16 type | u32 payload length
 * then the payload, a sequence of fields:
 *   u16 tag | u32 length | bytes
 * Each message type lists the tags it may carry, their kinds and size limits;
 * unknown, duplicate, oversized or missing required fields reject the whole
 * message.
 *
 * CALL and RESULT carry the verbs of the CLI and of the peer channel.  A
 * CALL's body is one journal-format record line ("verb key=value ...", see
 * journal.h) so arguments share that parser; a RESULT carries a status (0 or
 * a positive errno), an optional message and zero or more such lines.  seq
 * counts the CALLs of a connection from 1: a receiver rejects any other value
 * (replays), and a RESULT echoes its CALL's seq. */
#ifndef DMG_PROTO_H
#define DMG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DMG_PROTO_MAGIC   0x444d4731u   /* "DMG1" */
#define DMG_PROTO_VERSION 1
#define DMG_PROTO_HDR     12
#define DMG_PROTO_MAX     (DMG_PROTO_HDR + (9u << 20))  /* XML + slack */
#define DMG_CALL_BODY_MAX   16384u       /* one record line (DMG_JLINE_MAX) */
#define DMG_RESULT_BODY_MAX (1u << 20)

enum dmg_msg_type {
	DMG_MSG_HOOK_REQUEST = 1,   /* hook -> daemon */
	DMG_MSG_HOOK_REPLY = 2,     /* daemon -> hook */
	DMG_MSG_PING = 3,           /* CLI -> daemon */
	DMG_MSG_PONG = 4,           /* daemon -> CLI */
	DMG_MSG_ERROR = 5,          /* daemon -> any: request rejected */
	DMG_MSG_CALL = 6,           /* CLI/peer -> daemon: one verb, see below */
	DMG_MSG_RESULT = 7,         /* daemon -> CLI/peer: answer to a CALL */
	DMG_MSG_TYPE_MAX
};

enum dmg_tag {
	DMG_TAG_DOMAIN = 1,
	DMG_TAG_OP,
	DMG_TAG_SUBOP,
	DMG_TAG_EXTRA,
	DMG_TAG_XML,
	DMG_TAG_STATUS,
	DMG_TAG_STDOUT,
	DMG_TAG_MESSAGE,
	DMG_TAG_VERSION,
	DMG_TAG_SEQ,
	DMG_TAG_BODY,
	DMG_TAG_MAX
};

/* Decoded form of any message; fields not carried by a type stay NULL/0.
 * Strings are NUL-terminated and contain no NUL; xml/out may be binary-safe
 * but are NUL-terminated too for convenience. */
struct dmg_msg {
	enum dmg_msg_type type;
	char *domain, *op, *subop, *extra;   /* HOOK_REQUEST: libvirt's argv */
	char *xml;                           /* HOOK_REQUEST: stdin */
	size_t xml_len;
	uint32_t status;                     /* HOOK_REPLY: hook exit status */
	char *out;                           /* HOOK_REPLY: hook stdout */
	size_t out_len;
	char *message;                       /* HOOK_REPLY stderr, ERROR text */
	char *version;                       /* PONG: daemon version */
	uint32_t seq;                        /* CALL/RESULT: per-connection count */
	char *body;                          /* CALL: one record line, RESULT: lines */
	size_t body_len;
};

struct dmg_buf {
	unsigned char *data;
	size_t len, cap;
};

void dmg_buf_free(struct dmg_buf *b);
/* Room for more bytes after len (capacity doubles).  0 or -ENOMEM. */
int dmg_buf_reserve(struct dmg_buf *b, size_t more);
/* Appends n bytes and keeps a NUL after them (not counted in len), so a
 * text buffer is always a C string.  0 or -ENOMEM. */
int dmg_buf_add(struct dmg_buf *b, const void *s, size_t n);

/* Encodes m into b (b is reset first). */
int dmg_msg_encode(const struct dmg_msg *m, struct dmg_buf *b, struct dmg_error *err);

/* Validates a 12-byte header; on success sets *type and *payload_len. */
int dmg_msg_header(const unsigned char *hdr, uint16_t *type, uint32_t *payload_len,
		   struct dmg_error *err);

/* Decodes one complete frame (header + payload, exactly len bytes). On
 * failure m is left empty. */
int dmg_msg_decode(const unsigned char *data, size_t len, struct dmg_msg *m,
		   struct dmg_error *err);

void dmg_msg_clear(struct dmg_msg *m);

const char *dmg_msg_type_name(unsigned type);

#endif
