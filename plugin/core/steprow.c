/* The step table's rows: every storage step a session takes, what undoes
 * it, where it runs, in the order of DESIGN.md §4.  engine/steps.c runs
 * them in its sequences and journals each; storage/steps_impl.c carries
 * out each step (a table of functions indexed by enum dmg_step). */
#include "config.h"

#include <string.h>

#include "core/steprow.h"

#define SRC DMG_STEP_ON_SRC
#define DST DMG_STEP_ON_DST
#define NONE DMG_STEP_NONE

static const struct dmg_step_row rows[DMG_STEP_MAX] = {
	/* §4.1 validation: the source checks its own LV, nothing changes. */
	[DMG_STEP_SOURCE_SIZE] = { "source-size", DMG_STEP_CHECK, SRC, NONE, NONE, 1, 0 },
	/* The READY decision of a destination that may have missed events:
	 * whether DRBD here holds a write the source lacks (steps_repl.c). */
	[DMG_STEP_PEER_HAS_ALL] = { "peer-has-all", DMG_STEP_CHECK, DST, NONE, NONE, 1, 0 },

	/* §4.2-4 build, both hosts: metadata LV, copy of the LV's extents,
	 * DRBD on it (the source Primary by fiat); the source swaps its LV
	 * onto DRBD before any sync.  The destination first makes its LV. */
	[DMG_STEP_LV_CREATE] = { "lv-create", DMG_STEP_BUILD, DST, DMG_STEP_LV_REMOVE, NONE, 0, 0 },
	[DMG_STEP_MD_CREATE] = { "md-create", DMG_STEP_BUILD, SRC | DST, DMG_STEP_MD_REMOVE, NONE, 0, 0 },
	[DMG_STEP_COPY_CREATE] = { "copy-create", DMG_STEP_BUILD, SRC | DST, DMG_STEP_COPY_REMOVE, NONE, 0, 0 },
	[DMG_STEP_DRBD_UP] = { "drbd-up", DMG_STEP_BUILD, SRC | DST, DMG_STEP_DRBD_DOWN, NONE, 0, 0 },
	[DMG_STEP_SWAP_TO_DRBD] = { "swap-to-drbd", DMG_STEP_BUILD, SRC | DST, DMG_STEP_SWAP_BACK, NONE, 0, 0 },
	/* §4.4 connect both, asynchronously (protocol A, pull-ahead): the
	 * destination holds nothing anyone relies on yet, so the guest's
	 * writes do not wait for it.  The destination waits for the sync, or
	 * until it stops converging; then both go synchronous (protocol C,
	 * fencing on) and wait until nothing is out of sync.  Waits and
	 * option changes build nothing: nothing to undo (the teardown takes
	 * the connection down with its options). */
	[DMG_STEP_CONNECT] = { "connect", DMG_STEP_BUILD, SRC | DST, DMG_STEP_DISCONNECT, NONE, 0, 0 },
	[DMG_STEP_WAIT_SYNCED] = { "wait-synced", DMG_STEP_BUILD, DST, NONE, NONE, 1, 0 },
	[DMG_STEP_PROTOCOL_C] = { "protocol-c", DMG_STEP_BUILD, SRC | DST, NONE, NONE, 1, 0 },
	[DMG_STEP_WAIT_IN_SYNC] = { "wait-in-sync", DMG_STEP_BUILD, SRC | DST, NONE, NONE, 1, 0 },

	/* §4.5 the window, only once both are UpToDate under protocol C
	 * (the source checks again: wait-in-sync first): two primaries on
	 * both, the destination promoted and its LV onto DRBD.  Leaving it
	 * while the peer may still be Primary: DRBD refuses to drop
	 * two-primaries on a live dual-primary link, and the peer is rolled
	 * back by its own side, so the undo cuts the link first. */
	[DMG_STEP_TWO_PRIMARIES] = { "two-primaries", DMG_STEP_BUILD, SRC | DST, DMG_STEP_ONE_PRIMARY,
				     DMG_STEP_DISCONNECT, 0, 0 },
	[DMG_STEP_PROMOTE] = { "promote", DMG_STEP_BUILD, DST, DMG_STEP_DEMOTE, NONE, 0, 0 },

	/* Switchover and teardown, and the undos of a rollback: each finds
	 * its object possibly gone already (a crash, a repeated call). */
	[DMG_STEP_ONE_PRIMARY] = { "one-primary", DMG_STEP_TEARDOWN, SRC | DST, NONE, NONE, 0, 1 },
	[DMG_STEP_DEMOTE] = { "demote", DMG_STEP_TEARDOWN, SRC | DST, NONE, NONE, 0, 1 },
	[DMG_STEP_DISCONNECT] = { "disconnect", DMG_STEP_TEARDOWN, SRC | DST, NONE, NONE, 0, 1 },
	[DMG_STEP_SWAP_BACK] = { "swap-back", DMG_STEP_TEARDOWN, SRC | DST, NONE, NONE, 0, 1 },
	[DMG_STEP_DRBD_DOWN] = { "drbd-down", DMG_STEP_TEARDOWN, SRC | DST, NONE, NONE, 0, 1 },
	[DMG_STEP_COPY_REMOVE] = { "copy-remove", DMG_STEP_TEARDOWN, SRC | DST, NONE, NONE, 0, 1 },
	[DMG_STEP_MD_REMOVE] = { "md-remove", DMG_STEP_TEARDOWN, SRC | DST, NONE, NONE, 0, 1 },
	[DMG_STEP_LV_REMOVE] = { "lv-remove", DMG_STEP_TEARDOWN, DST, NONE, NONE, 0, 1 },
	[DMG_STEP_LV_UNTAG] = { "lv-untag", DMG_STEP_TEARDOWN, DST, NONE, NONE, 0, 1 },
	[DMG_STEP_LV_REMOVE_GUEST] = { "lv-remove-guest", DMG_STEP_TEARDOWN, SRC, NONE, NONE, 0, 1 },
};

const struct dmg_step_row *
dmg_step_row(enum dmg_step s)
{
	return s > DMG_STEP_NONE && s < DMG_STEP_MAX ? &rows[s] : NULL;
}

const char *
dmg_step_name(enum dmg_step s)
{
	const struct dmg_step_row *r = dmg_step_row(s);

	return r ? r->name : "?";
}

enum dmg_step
dmg_step_parse(const char *name)
{
	int i;

	for (i = 0; name && i < DMG_STEP_MAX; i++)
		if (strcmp(rows[i].name, name) == 0)
			return (enum dmg_step)i;
	return DMG_STEP_NONE;
}

enum dmg_step
dmg_step_undo(enum dmg_step s)
{
	const struct dmg_step_row *r = dmg_step_row(s);

	return r ? r->undo : DMG_STEP_NONE;
}

size_t
dmg_step_undo_steps(enum dmg_step s, enum dmg_step out[2])
{
	const struct dmg_step_row *r = dmg_step_row(s);
	size_t n = 0;

	if (!r || r->undo == DMG_STEP_NONE)
		return 0;
	if (r->undo_first != DMG_STEP_NONE)
		out[n++] = r->undo_first;
	out[n++] = r->undo;
	return n;
}
