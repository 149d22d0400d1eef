/* drbdmigd's poll() loop: the listening UNIX socket, its clients (root
 * only, checked with SO_PEERCRED) and termination signals.  Reading a request
 * happens in the loop; answering it on a worker thread. */
#ifndef DMG_SERVER_H
#define DMG_SERVER_H

#include "daemon/handler.h"

#define DMG_MAX_CLIENTS     64
#define DMG_CLIENT_TIMEOUT  30000   /* ms a client may take to send a request */

struct dmg_server;

int dmg_server_new(const char *socket_path, struct dmg_handler *h,
		   struct dmg_server **out, struct dmg_error *err);
/* Runs until SIGTERM/SIGINT. */
int dmg_server_run(struct dmg_server *s, struct dmg_error *err);
/* Waits up to timeout_ms for requests still being answered; returns how
 * many are left (then the caller must not free what they use). */
int dmg_server_drain(struct dmg_server *s, int timeout_ms);
void dmg_server_free(struct dmg_server *s);

#endif
