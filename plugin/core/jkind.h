/* The kinds of record in a session journal (the <step> field of journal.h),
 * one name table for the engine that writes and replays them.  `status`
 * answers reuse the session and disk kinds for their lines (same names,
 * other keys), so the CLI, which links only libdmgcore, reads them with the
 * same table. */
#ifndef DMG_JKIND_H
#define DMG_JKIND_H

#include "core/journal.h"

enum dmg_jkind {
	DMG_JK_UNKNOWN = 0,   /* anything else: informational, skipped */
	DMG_JK_SESSION,       /* who, with whom, how many disks; always first */
	DMG_JK_DISK,          /* one disk of the session */
	DMG_JK_SIDE,          /* one host's DRBD end of a disk */
	DMG_JK_PHASE,         /* the session entered a phase */
	DMG_JK_SWITCHOVER,    /* the guest runs on the destination */
	DMG_JK_FENCED,        /* the fence-peer handler cut the peer off */
	DMG_JK_BEGIN,         /* a step is about to run */
	DMG_JK_DONE,          /* ... and succeeded */
	DMG_JK_UNDONE,        /* ... and was undone */
	DMG_JK_FAIL,          /* ... and failed (informational) */
	DMG_JK_MAX
};

/* "?" for DMG_JK_UNKNOWN and anything out of range. */
const char *dmg_jkind_name(enum dmg_jkind k);
/* DMG_JK_UNKNOWN for NULL or a name not in the table. */
enum dmg_jkind dmg_jkind_parse(const char *name);
/* dmg_jrec_init() with the kind's name. */
void dmg_jrec_init_kind(struct dmg_jrec *r, enum dmg_jkind k);

#endif
