/* The session model's roles and phases by name, as journals, status lines
 * and the peer channel write them.  One table each (core/modelnames.c);
 * parse once, then compare enums. */
#ifndef DMG_MODELNAMES_H
#define DMG_MODELNAMES_H

#include "core/model.h"

/* "src", "dst"; "?" for anything else. */
const char *dmg_role_name(enum dmg_role r);
/* 0 and *r set for a role's name, else -EINVAL (also for NULL). */
int dmg_role_parse(const char *s, enum dmg_role *r);
/* "building" ... "attention"; "?" for anything else. */
const char *dmg_phase_name(enum dmg_phase p);
/* 0 and *p set for a phase's name, else -EINVAL (also for NULL). */
int dmg_phase_parse(const char *s, enum dmg_phase *p);

/* "-", "fast", "converging", "synchronous"; "?" for anything else. */
const char *dmg_repl_mode_name(enum dmg_repl_mode m);

#endif
