/* The step table: DESIGN.md §4 in the order it happens.  session.c runs
 * these sequences and journals each step; storage/steps_impl.c carries
 * out each step (a table of functions indexed by enum dmg_step). */
#include "config.h"

#include <string.h>

#include "engine/steps.h"

#define SRC DMG_STEP_ON_SRC
#define DST DMG_STEP_ON_DST
#define NONE DMG_STEP_NONE

static const struct dmg_step_row rows[DMG_STEP_MAX] = {
	/* §4.1 validation: the source checks its own LV, nothing changes. */
	[DMG_STEP_SOURCE_SIZE] = { "source-size", DMG_STEP_CHECK, SRC, NONE, NONE, 1, 0 },

	/* §4.2-4 build, both hosts: metadata LV, copy of the LV's extents,
	 * DRBD on it (the source Primary by fiat); the source swaps its LV
	 * onto DRBD before any sync.  The destination first makes its LV. */
	[DMG_STEP_LV_CREATE] = { "lv-create", DMG_STEP_BUILD, DST, DMG_STEP_LV_REMOVE, NONE, 0, 0 },
	[DMG_STEP_MD_CREATE] = { "md-create", DMG_STEP_BUILD, SRC | DST, DMG_STEP_MD_REMOVE, NONE, 0, 0 },
	[DMG_STEP_COPY_CREATE] = { "copy-create", DMG_STEP_BUILD, SRC | DST, DMG_STEP_COPY_REMOVE, NONE, 0, 0 },
	[DMG_STEP_DRBD_UP] = { "drbd-up", DMG_STEP_BUILD, SRC | DST, DMG_STEP_DRBD_DOWN, NONE, 0, 0 },
	[DMG_STEP_SWAP_TO_DRBD] = { "swap-to-drbd", DMG_STEP_BUILD, SRC | DST, DMG_STEP_SWAP_BACK, NONE, 0, 0 },
	/* §4.4 connect both, the destination waits for the full sync (the
	 * wait builds nothing: nothing to undo). */
	[DMG_STEP_CONNECT] = { "connect", DMG_STEP_BUILD, SRC | DST, DMG_STEP_DISCONNECT, NONE, 0, 0 },
	[DMG_STEP_WAIT_SYNCED] = { "wait-synced", DMG_STEP_BUILD, DST, NONE, NONE, 1, 0 },

	/* §4.5 the window, only once both are UpToDate: two primaries on
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
	/* Peer call "connect" on the source, then the destination. */
	[DMG_SEQ_CONNECT] = { "connect", SEQ(DMG_STEP_CONNECT) },
	[DMG_SEQ_SYNC] = { "sync", SEQ(DMG_STEP_WAIT_SYNCED) },
	/* The window: peer call "dual" on the source, then the destination. */
	[DMG_SEQ_SRC_WINDOW] = { "src-window", SEQ(DMG_STEP_TWO_PRIMARIES) },
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

static const char *const pcalls[DMG_PC_MAX] = {
	[DMG_PC_OPEN] = "open", [DMG_PC_DISK] = "disk", [DMG_PC_CONNECT] = "connect",
	[DMG_PC_DUAL] = "dual", [DMG_PC_STATE] = "state", [DMG_PC_FINISH] = "finish",
	[DMG_PC_CLOSE] = "close", [DMG_PC_ROLLBACK] = "rollback",
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

const char *
dmg_pcall_name(enum dmg_pcall c)
{
	return c > DMG_PC_NONE && c < DMG_PC_MAX ? pcalls[c] : "?";
}

enum dmg_pcall
dmg_pcall_parse(const char *name)
{
	int i;

	for (i = 0; name && i < DMG_PC_MAX; i++)
		if (strcmp(pcalls[i], name) == 0)
			return (enum dmg_pcall)i;
	return DMG_PC_NONE;
}
