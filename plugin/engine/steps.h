/* The choreography of DESIGN.md §4 as one table: every storage step a
 * session takes, what undoes it, where it runs (the rows: core/steprow.h,
 * core/steprow.c), and the named sequences the engine runs them in
 * (steps.c reads top to bottom like §4).
 *
 * A step's name is what the journal records ("begin verb=drbd-up"); names
 * never change, so journals of older versions still load.  The engine turns
 * names into enum dmg_step once (journal replay, env->act's caller in the
 * backend) and works on the enum from there. */
#ifndef DMG_STEPS_H
#define DMG_STEPS_H

#include <stddef.h>

#include "core/steprow.h"

/* Named sequences: each runs its steps per disk, disk after disk. */
enum dmg_seq {
	DMG_SEQ_DST_UP,            /* destination's overlay */
	DMG_SEQ_SRC_UP,            /* source's overlay, its LV swapped onto DRBD */
	DMG_SEQ_CONNECT,           /* both */
	DMG_SEQ_SYNC,              /* destination: the fast sync */
	DMG_SEQ_SRC_SYNC,          /* source: synchronous from here */
	DMG_SEQ_DST_SYNC,          /* destination: synchronous, then in sync */
	DMG_SEQ_DST_WINDOW,        /* destination: into the migration window */
	DMG_SEQ_SRC_WINDOW,        /* source: into the migration window */
	DMG_SEQ_SRC_LEAVE,         /* source, after the switchover: out of the window */
	DMG_SEQ_DST_LEAVE,         /* destination, source confirmed Secondary */
	DMG_SEQ_DST_LEAVE_ALONE,   /* destination, source not confirmed */
	DMG_SEQ_SRC_CLEAN,         /* source: overlay removed */
	DMG_SEQ_DST_CLEAN,         /* destination: overlay removed, LV kept */
	DMG_SEQ_SRC_DROP,          /* source: the guest's LV, unless kept */
	DMG_SEQ_MAX
};

const enum dmg_step *dmg_seq_steps(enum dmg_seq q, size_t *n);
const char *dmg_seq_name(enum dmg_seq q);

#endif
