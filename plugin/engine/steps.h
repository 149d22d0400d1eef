/* The choreography of DESIGN.md §4 as one table: every storage step a
 * session takes, what undoes it, where it runs, and the named sequences the
 * engine runs them in (steps.c reads top to bottom like §4).
 *
 * A step's name is what the journal records ("begin verb=drbd-up"); names
 * never change, so journals of older versions still load.  The engine turns
 * names into enum dmg_step once (journal replay, env->act's caller in the
 * backend) and works on the enum from there. */
#ifndef DMG_STEPS_H
#define DMG_STEPS_H

#include <stddef.h>

enum dmg_step {
	DMG_STEP_NONE = -1,
	/* checks: change nothing */
	DMG_STEP_SOURCE_SIZE,      /* source: the LV's size, reserve minor and port */
	/* build: each has an undo, or waits */
	DMG_STEP_LV_CREATE,        /* destination: the guest's LV (tagged) */
	DMG_STEP_MD_CREATE,        /* DRBD metadata LV */
	DMG_STEP_COPY_CREATE,      /* the LV's extents as a dm device */
	DMG_STEP_DRBD_UP,          /* resource file + minor (source: Primary) */
	DMG_STEP_SWAP_TO_DRBD,     /* the LV's live table onto DRBD */
	DMG_STEP_CONNECT,          /* replication link */
	DMG_STEP_WAIT_SYNCED,      /* destination: UpToDate/UpToDate */
	DMG_STEP_TWO_PRIMARIES,    /* the migration window opens */
	DMG_STEP_PROMOTE,          /* destination Primary */
	/* teardown and undo */
	DMG_STEP_ONE_PRIMARY,
	DMG_STEP_DEMOTE,
	DMG_STEP_DISCONNECT,
	DMG_STEP_SWAP_BACK,
	DMG_STEP_DRBD_DOWN,
	DMG_STEP_COPY_REMOVE,
	DMG_STEP_MD_REMOVE,
	DMG_STEP_LV_REMOVE,        /* destination: its LV, after a rollback */
	DMG_STEP_LV_UNTAG,         /* destination: its LV is the guest's now */
	DMG_STEP_LV_REMOVE_GUEST,  /* source: the guest's LV (source-after="remove") */
	DMG_STEP_MAX
};

/* Where a step may run. */
#define DMG_STEP_ON_SRC 1u
#define DMG_STEP_ON_DST 2u

enum dmg_step_kind {
	DMG_STEP_CHECK,            /* changes nothing; not journalled as an action */
	DMG_STEP_BUILD,            /* builds; on the undo ledger if it has an undo */
	DMG_STEP_TEARDOWN,         /* takes down; idempotent, "already gone" is done */
};

struct dmg_step_row {
	const char *name;          /* the journal's verb= */
	enum dmg_step_kind kind;
	unsigned on;               /* DMG_STEP_ON_* */
	enum dmg_step undo;        /* DMG_STEP_NONE: nothing to undo */
	enum dmg_step undo_first;  /* run before undo (DMG_STEP_NONE: nothing) */
	int no_undo;               /* a build step with no undo, on purpose */
	int gone_ok;               /* the object already gone counts as done */
};

/* The row of step s (NULL if s is not a step). */
const struct dmg_step_row *dmg_step_row(enum dmg_step s);
const char *dmg_step_name(enum dmg_step s);   /* "?" if not a step */
/* DMG_STEP_NONE for a name no step has (or NULL). */
enum dmg_step dmg_step_parse(const char *name);
enum dmg_step dmg_step_undo(enum dmg_step s);
/* The steps that undo s, in order (at most 2: undo_first, undo); returns
 * how many. */
size_t dmg_step_undo_steps(enum dmg_step s, enum dmg_step out[2]);

/* Named sequences: each runs its steps per disk, disk after disk. */
enum dmg_seq {
	DMG_SEQ_DST_UP,            /* destination's overlay */
	DMG_SEQ_SRC_UP,            /* source's overlay, its LV swapped onto DRBD */
	DMG_SEQ_CONNECT,           /* both */
	DMG_SEQ_SYNC,              /* destination */
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

/* Peer calls (destination -> source; "state" both ways).  The wire carries
 * the name; a receiver parses it once. */
enum dmg_pcall {
	DMG_PC_NONE = -1,
	DMG_PC_OPEN,
	DMG_PC_DISK,
	DMG_PC_CONNECT,
	DMG_PC_DUAL,
	DMG_PC_STATE,
	DMG_PC_FINISH,
	DMG_PC_CLOSE,
	DMG_PC_ROLLBACK,
	DMG_PC_MAX
};

const char *dmg_pcall_name(enum dmg_pcall c);
enum dmg_pcall dmg_pcall_parse(const char *name);

#endif
