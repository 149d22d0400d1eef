/* What drbdmigd does with one decoded request: hook events go to the
 * session registry (a destination's `migrate begin` builds the overlay),
 * CALLs are the CLI's verbs.  Called on worker threads; the server below it
 * only moves bytes. */
#ifndef DMG_HANDLER_H
#define DMG_HANDLER_H

#include "core/log.h"
#include "core/proto.h"

struct dmg_registry;

struct dmg_handler {
	struct dmg_log *log;
	struct dmg_registry *reg;    /* sessions; NULL: parse and log only */
	unsigned long requests;      /* served since start, for the log (atomic) */
};

/* Fills reply for req.  Returns 0, or a negative code when no reply could be
 * built (the server then answers with DMG_MSG_ERROR). */
int dmg_handle(struct dmg_handler *h, const struct dmg_msg *req,
	       struct dmg_msg *reply, struct dmg_error *err);

#endif
