/* The step table's sequences: DESIGN.md §4 in the order it happens (each
 * step's row, its undo and where it runs, is core/steprow.c).  session.c
 * runs these sequences and journals each step; storage/steps_impl.c
 * carries out each step (a table of functions indexed by enum dmg_step). */
#include "config.h"

#include <string.h>

#include "engine/steps.h"

#define SEQ(...) (const enum dmg_step[]){ __VA_ARGS__ }, \
	sizeof((const enum dmg_step[]){ __VA_ARGS__ }) / sizeof(enum dmg_step)

static const struct {
	const char *name;
	const enum dmg_step *steps;
	size_t n;
} seqs[DMG_SEQ_MAX] = {
	/* Build (§4.2-5), driven by the destination: open, then per disk the
	 * source's overlay (peer call "disk"), then the destination's. */
	[DMG_SEQ_SRC_UP] = { "src-up", SEQ(DMG_STEP_MD_CREATE, DMG_STEP_COPY_CREATE,
					   DMG_STEP_DRBD_UP, DMG_STEP_SWAP_TO_DRBD) },
	[DMG_SEQ_DST_UP] = { "dst-up", SEQ(DMG_STEP_LV_CREATE, DMG_STEP_MD_CREATE,
					   DMG_STEP_COPY_CREATE, DMG_STEP_DRBD_UP) },
	/* Peer call "connect" on the source, then the destination: both
	 * replicate asynchronously while the destination waits for the sync,
	 * or until it stops converging. */
	[DMG_SEQ_CONNECT] = { "connect", SEQ(DMG_STEP_CONNECT) },
	[DMG_SEQ_SYNC] = { "sync", SEQ(DMG_STEP_WAIT_SYNCED) },
	/* Peer call "sync" on the source, then the destination: synchronous
	 * replication and fencing, and what fell behind is resynced. */
	[DMG_SEQ_SRC_SYNC] = { "src-sync", SEQ(DMG_STEP_PROTOCOL_C) },
	[DMG_SEQ_DST_SYNC] = { "dst-sync", SEQ(DMG_STEP_PROTOCOL_C, DMG_STEP_WAIT_IN_SYNC) },
	/* The window: peer call "dual" on the source, then the destination.
	 * The source sees for itself that both are UpToDate first. */
	[DMG_SEQ_SRC_WINDOW] = { "src-window", SEQ(DMG_STEP_WAIT_IN_SYNC, DMG_STEP_TWO_PRIMARIES) },
	[DMG_SEQ_DST_WINDOW] = { "dst-window", SEQ(DMG_STEP_TWO_PRIMARIES, DMG_STEP_PROMOTE,
					       DMG_STEP_SWAP_TO_DRBD) },

	/* Switchover seen (the guest runs on the destination): the source
	 * leaves first (peer call "finish"): its LV back to its extents,
	 * Secondary, one primary. */
	[DMG_SEQ_SRC_LEAVE] = { "src-leave", SEQ(DMG_STEP_SWAP_BACK, DMG_STEP_DEMOTE,
						 DMG_STEP_ONE_PRIMARY) },
	/* Then the destination.  If the source did not confirm, the source
	 * is still Primary: the destination cannot drop two-primaries while
	 * connected, and cutting the link makes DRBD freeze this Primary's
	 * I/O until the fence-peer handler answers.  So its LV goes back to
	 * its extents first (the guest runs here; the source no longer
	 * writes), and no guest write waits in that freeze; then it cuts the
	 * link and drops the second primary. */
	[DMG_SEQ_DST_LEAVE] = { "dst-leave", SEQ(DMG_STEP_ONE_PRIMARY, DMG_STEP_DISCONNECT,
						 DMG_STEP_SWAP_BACK) },
	[DMG_SEQ_DST_LEAVE_ALONE] = { "dst-leave-alone", SEQ(DMG_STEP_SWAP_BACK, DMG_STEP_DISCONNECT,
							     DMG_STEP_ONE_PRIMARY) },
	/* Teardown: the destination's overlay goes and its LV becomes the
	 * guest's; then (peer call "close") the source's, and its data LV
	 * unless the policy keeps it. */
	[DMG_SEQ_DST_CLEAN] = { "dst-clean", SEQ(DMG_STEP_DRBD_DOWN, DMG_STEP_COPY_REMOVE,
						 DMG_STEP_MD_REMOVE, DMG_STEP_LV_UNTAG) },
	[DMG_SEQ_SRC_CLEAN] = { "src-clean", SEQ(DMG_STEP_DISCONNECT, DMG_STEP_DRBD_DOWN,
						 DMG_STEP_COPY_REMOVE, DMG_STEP_MD_REMOVE) },
	[DMG_SEQ_SRC_DROP] = { "src-drop", SEQ(DMG_STEP_LV_REMOVE_GUEST) },
};

/* Rollback has no sequence of its own: it runs dmg_step_undo_steps() of
 * every begun, not undone step in the journal's ledger, newest first.
 *
 * Fencing decisions (who holds the live data when the link breaks in the
 * window) take no step of their own either: they choose between the
 * teardown above and that rollback (session.c: dmg_sess_settle,
 * dmg_sess_src_settle; DESIGN.md §5 rule 1). */


const enum dmg_step *
dmg_seq_steps(enum dmg_seq q, size_t *n)
{
	if (q < 0 || q >= DMG_SEQ_MAX) {
		*n = 0;
		return NULL;
	}
	*n = seqs[q].n;
	return seqs[q].steps;
}

const char *
dmg_seq_name(enum dmg_seq q)
{
	return q >= 0 && q < DMG_SEQ_MAX ? seqs[q].name : "?";
}
