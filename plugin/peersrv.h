/* drbdmigd's side of the peer channel: a thread accepting TCP connections
 * from other drbdmig daemons; each connection gets a thread that runs the
 * TLS/PSK handshake (nothing is read before the peer is authenticated) and
 * then answers CALLs with the registry's peer verbs. */
#ifndef DMG_PEERSRV_H
#define DMG_PEERSRV_H

#include <stdint.h>

#include "error.h"
#include "log.h"

struct dmg_peer_ctx;
struct dmg_registry;
struct dmg_peersrv;

int dmg_peersrv_start(struct dmg_peer_ctx *pc, const char *addr, uint16_t port,
		      struct dmg_registry *r, struct dmg_log *log, unsigned timeout_s,
		      struct dmg_peersrv **out, struct dmg_error *err);
/* Stops accepting and waits for the connection threads to end. */
void dmg_peersrv_stop(struct dmg_peersrv *p);

#endif
