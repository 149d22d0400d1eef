/* drbdmigd's side of the peer channel: a thread accepting TCP connections
 * from other drbdmig daemons; each connection gets a thread that runs the
 * TLS/PSK handshake (nothing is read before the peer is authenticated as a
 * host of `peers`) and then answers CALLs through the handler.
 *
 * Until a connection has authenticated it costs little and not for long:
 * its handshake must finish within handshake_timeout_s, and at most
 * handshake_per_address connections from one address and handshake_max in
 * all may be in the handshake at once (beyond that the oldest is dropped,
 * so a flood cannot keep a peer's new connection out for longer than its
 * own handshake takes).  Authenticated connections have their own cap,
 * conns_max, which unauthenticated ones never use up. */
#ifndef DMG_PEERSRV_H
#define DMG_PEERSRV_H

#include <stdint.h>

#include "core/error.h"
#include "core/journal.h"
#include "core/log.h"

struct dmg_peer_ctx;
struct dmg_peersrv;

/* Answers one CALL from the authenticated peer identity (a `peers` host):
 * 0 with reply filled, or a negative errno with err set (sent to the peer
 * as the RESULT's status and message). */
typedef int (*dmg_peersrv_fn)(void *arg, const char *identity, const struct dmg_jrec *req,
			      struct dmg_jrec *reply, struct dmg_error *err);

struct dmg_peersrv_conf {
	const char *addr;               /* IP literal to listen on */
	uint16_t port;                  /* 0 = any (tests) */
	unsigned timeout_s;             /* per CALL/RESULT exchange; 0 = 30 */
	unsigned handshake_timeout_s;   /* 0 = 5 */
	unsigned handshake_max;         /* 0 = 64 */
	unsigned handshake_per_address; /* 0 = 4 */
	unsigned conns_max;             /* authenticated; 0 = 32 */
	dmg_peersrv_fn fn;
	void *arg;
	struct dmg_log *log;
};

int dmg_peersrv_start(struct dmg_peer_ctx *pc, const struct dmg_peersrv_conf *conf,
		      struct dmg_peersrv **out, struct dmg_error *err);
/* The port listened on (useful with port 0). */
uint16_t dmg_peersrv_port(const struct dmg_peersrv *p);
/* Stops accepting, hangs up every connection and waits for their threads. */
void dmg_peersrv_stop(struct dmg_peersrv *p);

#endif
