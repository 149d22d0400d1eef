/* The verbs of a CALL, on drbdmigd's CLI socket and on the peer channel,
 * as one table (verb.c): per verb its wire name, the channels that may send
 * it, and the keys it takes with the shape of each value.  A receiver checks
 * a request once, where it arrives (dmg_verb_check), and from then on works
 * on enum dmg_verb; no handler matches verb names or reads an unchecked key.
 *
 * A CALL's body is one record line, "verb key=value ..." (core/journal.h). */
#ifndef DMG_VERB_H
#define DMG_VERB_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/journal.h"

/* Channels (a bitmask in the table). */
#define DMG_VERB_CLI  1u   /* the local socket: drbdmig, drbdmig-fence-peer */
#define DMG_VERB_PEER 2u   /* the authenticated peer channel, daemon to daemon */

/* Limits of the values; the engine's own (engine/session.h) must agree,
 * which engine/src.c asserts at compile time. */
#define DMG_VERB_SID_LEN   8    /* session id: hex digits */
#define DMG_VERB_TOK_LEN   32   /* session handle: hex digits */
#define DMG_VERB_DISKS_MAX 16   /* disks of one session */

enum dmg_verb {
	DMG_VERB_NONE = -1,
	/* peer: the destination's session calls to the source ("state" both ways) */
	DMG_VERB_OPEN,
	DMG_VERB_DISK,
	DMG_VERB_CONNECT,
	DMG_VERB_SYNC,
	DMG_VERB_DUAL,
	DMG_VERB_STATE,
	DMG_VERB_FINISH,
	DMG_VERB_CLOSE,
	DMG_VERB_ROLLBACK,
	/* peer, before any session: the destination validating its source */
	DMG_VERB_PROBE,
	DMG_VERB_WHOHAS,
	/* peer: the source, link lost in the window, asks the destination */
	DMG_VERB_FENCE,
	/* CLI: drbdmig */
	DMG_VERB_STATUS,
	DMG_VERB_VERIFY,
	DMG_VERB_CANCEL,
	DMG_VERB_CLEANUP,
	/* CLI: DRBD's fence-peer handler; on the wire also "fence" */
	DMG_VERB_FENCE_RES,
	DMG_VERB_MAX
};

/* The wire name of v ("?" if v is not a verb). */
const char *dmg_verb_name(enum dmg_verb v);
/* The verb named name that channel (one DMG_VERB_* bit) may send, or
 * DMG_VERB_NONE.  A lookup, for building and testing requests. */
enum dmg_verb dmg_verb_lookup(const char *name, unsigned channel);
/* Whether v is a call of a session's engine (dmg_sess_peer_call). */
int dmg_verb_is_session(enum dmg_verb v);

/* Checks req as received on channel: a known verb of that channel, every
 * required key present, no other key than the verb allows, each value of
 * its shape.  0 with *out set, else -EPROTO (verb or keys) or -EINVAL (a
 * value) with one line in err, e.g. "probe: uuid is required". */
int dmg_verb_check(const struct dmg_jrec *req, unsigned channel, enum dmg_verb *out,
		   struct dmg_error *err);

/* A strict decimal: 1-20 digits, nothing else (no sign, space or "0x"),
 * at most max.  0 or -EINVAL. */
int dmg_verb_uint(const char *s, uint64_t max, uint64_t *out);

/* The answer to the CLI verb "fence" (DMG_VERB_FENCE_RES): "fence code=N",
 * N the exit code drbdmig-fence-peer gives DRBD.  4 is DRBD's "peer
 * outdated": I/O resumes. */
#define DMG_FENCE_CODE_KEY      "code"
#define DMG_FENCE_CODE_OUTDATED 4

/* The code of such an answer (its first line), 0..255, or -1 when it is
 * not one. */
int dmg_fence_code_parse(const char *body, size_t len);

/* The answer to the peer verb "fence": result=stopped|switched. */
enum dmg_fence_result {
	DMG_FENCE_NONE = -1,
	DMG_FENCE_STOPPED,     /* no QEMU on the destination will run the guest */
	DMG_FENCE_SWITCHED,    /* the guest runs on the destination already */
	DMG_FENCE_MAX
};

const char *dmg_fence_result_name(enum dmg_fence_result f);
/* DMG_FENCE_NONE for anything else (or NULL). */
enum dmg_fence_result dmg_fence_result_parse(const char *s);

#endif
