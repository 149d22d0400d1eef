/* PRIVATE to plugin/storage/steps_impl.c and steps_repl.c: one step being
 * carried out on this host, and the replication steps that steps_repl.c
 * implements for the table in steps_impl.c. */
#ifndef DMG_STEPS_INT_H
#define DMG_STEPS_INT_H

#include "storage/backend.h"
#include "core/error.h"
#include "core/model.h"
#include "core/steprow.h"

/* One step on one disk: what dmg_backend_act worked out once. */
struct ctx {
	struct dmg_backend *b;
	struct dmg_session *s;
	const char *verb;                /* as the engine named it */
	enum dmg_step step;              /* parsed once; DMG_STEP_NONE if unknown */
	const struct dmg_step_row *row;  /* core/steprow.c; NULL if unknown */
	int disk;
	struct dmg_sess_disk *d;
	struct dmg_sess_side *me, *peer;
	char res[64], copy[64], md[64], lvpath[300];
};

/* The pairs below take their direction from the table: a build step makes,
 * its undo (a teardown step) takes down. */
static inline int
building(const struct ctx *c)
{
	return c->row->kind == DMG_STEP_BUILD;
}

/* promote, demote */
int step_role(struct ctx *c, const char *in, struct dmg_error *err);
/* connect, disconnect, two-primaries, one-primary */
int step_net(struct ctx *c, const char *in, struct dmg_error *err);
/* protocol-c */
int step_protocol_c(struct ctx *c, const char *in, struct dmg_error *err);
/* wait-synced, wait-in-sync */
int step_wait_synced(struct ctx *c, const char *in, struct dmg_error *err);
/* peer-has-all: 0 when DRBD here proves it, else < 0 saying why not */
int step_peer_has_all(struct ctx *c, const char *in, struct dmg_error *err);

#endif
