/* drbdmigd's single poll() loop: the listening UNIX socket, its clients
 * (root only, checked with SO_PEERCRED) and termination signals. */
#ifndef DMG_SERVER_H
#define DMG_SERVER_H

#include "handler.h"

#define DMG_MAX_CLIENTS     64
#define DMG_CLIENT_TIMEOUT  30000   /* ms a client may take to send a request */

struct dmg_server;

int dmg_server_new(const char *socket_path, struct dmg_handler *h,
		   struct dmg_server **out, struct dmg_error *err);
/* Runs until SIGTERM/SIGINT. */
int dmg_server_run(struct dmg_server *s, struct dmg_error *err);
void dmg_server_free(struct dmg_server *s);

#endif
