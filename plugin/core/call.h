/* The client side of drbdmigd's UNIX socket, for the CLI, the fence-peer
 * handler and the hook: connect (bounded), send one message, read the one
 * reply, close.  Each program prints its own words, so a failure also says
 * at which stage it happened. */
#ifndef DMG_CALL_H
#define DMG_CALL_H

#include <stdint.h>

#include "core/error.h"
#include "core/proto.h"

enum dmg_call_stage {
	DMG_CALL_OK,
	DMG_CALL_REQUEST,   /* the request could not be built */
	DMG_CALL_CONNECT,   /* the socket did not accept within connect_ms */
	DMG_CALL_IO,        /* sending or receiving failed or passed the deadline */
};

/* Sends req to the daemon listening at path and receives its reply into rep
 * (caller clears it), all before deadline (a dmg_now_ms() value); connect
 * waits at most connect_ms.  The reply may be of any type: the caller
 * checks it.  Returns 0, or negative with err set and *stage saying where. */
int dmg_call_msg(const char *path, int connect_ms, int64_t deadline, const struct dmg_msg *req,
		 struct dmg_msg *rep, enum dmg_call_stage *stage, struct dmg_error *err);

/* One CALL (seq 1) whose body is the record "verb [target=...]"; as
 * dmg_call_msg() otherwise. */
int dmg_call(const char *path, const char *verb, const char *target, int connect_ms,
	     int64_t deadline, struct dmg_msg *rep, enum dmg_call_stage *stage,
	     struct dmg_error *err);

#endif
