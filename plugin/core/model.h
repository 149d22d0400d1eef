/* The session model as data: the steps (enum dmg_step and a step's row),
 * a session, its disks and the two sides of each.  The engine drives it
 * (engine/session.h), the storage acts on it (storage/backend.h), the
 * journal records it.  Types and constants only: no function is declared
 * here, so any room may include it.  The step table's lookups are
 * core/steprow.h. */
#ifndef DMG_MODEL_H
#define DMG_MODEL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/journal.h"
#include "core/log.h"

enum dmg_step {
	DMG_STEP_NONE = -1,
	/* checks: change nothing */
	DMG_STEP_SOURCE_SIZE,      /* source: the LV's size, reserve minor and port */
	DMG_STEP_PEER_HAS_ALL,     /* destination: DRBD shows no write here the peer lacks */
	/* build: each has an undo, or waits */
	DMG_STEP_LV_CREATE,        /* destination: the guest's LV (tagged) */
	DMG_STEP_MD_CREATE,        /* DRBD metadata LV */
	DMG_STEP_COPY_CREATE,      /* the LV's extents as a dm device */
	DMG_STEP_DRBD_UP,          /* resource file + minor (source: Primary) */
	DMG_STEP_SWAP_TO_DRBD,     /* the LV's live table onto DRBD */
	DMG_STEP_CONNECT,          /* replication link */
	DMG_STEP_WAIT_SYNCED,      /* destination: synced, or the sync stalled */
	DMG_STEP_PROTOCOL_C,       /* synchronous replication, fencing on */
	DMG_STEP_WAIT_IN_SYNC,     /* UpToDate/UpToDate under protocol C */
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

#define DMG_SID_LEN        8              /* hex digits */
#define DMG_TOK_LEN        32             /* hex digits: 128 random bits */
#define DMG_SESS_DISKS_MAX 16
#define DMG_SESS_NAME_MAX  128
#define DMG_SESS_ACTS_MAX  ((size_t)DMG_SESS_DISKS_MAX * 16)

enum dmg_role { DMG_ROLE_SRC = 0, DMG_ROLE_DST = 1 };

/* Phases, in the order a successful session passes them. */
enum dmg_phase {
	DMG_PH_BUILDING,      /* overlay being built (both hosts) */
	DMG_PH_SYNCING,       /* connected, destination syncing */
	DMG_PH_READY,         /* dual-primary; libvirt migrates the guest */
	DMG_PH_FINISHING,     /* switchover seen: tearing down, keeping the destination */
	DMG_PH_ROLLING_BACK,  /* failure: undoing, keeping the source */
	DMG_PH_DONE,          /* closed after success */
	DMG_PH_ROLLED_BACK,   /* closed after rollback */
	DMG_PH_ATTENTION,     /* stopped without deleting anything: an admin must look */
	DMG_PH_MAX
};

/* A domain's state as the engine needs it. */
enum dmg_dom { DMG_DOM_ABSENT, DMG_DOM_RUNNING, DMG_DOM_PAUSED, DMG_DOM_SHUTOFF, DMG_DOM_UNKNOWN };

struct dmg_sess_side {
	char host[DMG_SESS_NAME_MAX];    /* uname -n */
	char addr[64];                   /* replication address */
	uint32_t minor;
	uint32_t port;
};

/* How a disk's initial sync replicates, for `drbdmig status`: fast
 * (asynchronous, the guest's writes do not wait for the link), converging
 * (DRBD pulled ahead of a congested link and catches up), synchronous
 * (protocol C: the sync did not converge, or it is done and the window
 * comes next). */
enum dmg_repl_mode {
	DMG_REPL_NONE = 0,
	DMG_REPL_FAST,
	DMG_REPL_CONVERGING,
	DMG_REPL_SYNCHRONOUS,
	DMG_REPL_MAX
};

struct dmg_sess_disk {
	char target[32];                 /* hda, vdb ... */
	char path[256];                  /* /dev/vg/lv on both hosts */
	char vg[DMG_SESS_NAME_MAX], lv[DMG_SESS_NAME_MAX];
	char pool[DMG_SESS_NAME_MAX];    /* type='volume': its libvirt pool, else "" */
	uint64_t size;                   /* bytes */
	/* A thin LV: its LVM thin pool, of the same name on both hosts, else "" */
	char thin[DMG_SESS_NAME_MAX];
	uint64_t alloc;                  /* thin: bytes the source LV has allocated (admission) */
	int keep_source;                 /* policy source-after="keep" */
	uint32_t rate_kib;               /* resync rate */
	int dynamic;                     /* sync-mode dynamic */
	enum dmg_repl_mode repl;         /* progress: how the sync replicates */
	struct dmg_sess_side side[2];    /* [DMG_ROLE_SRC], [DMG_ROLE_DST] */
	/* progress, destination only; not journalled */
	double pct, kib_s;
	long eta_s;
};

/* One journalled action: begun, maybe done, maybe undone. */
struct dmg_sess_act {
	char verb[24];                   /* the journal's name of step */
	enum dmg_step step;
	int disk;                        /* -1: whole session */
	int done, undone;
	char arg[DMG_JREC_VAL_MAX];      /* e.g. the table a swap replaced */
};

struct dmg_sess_env;

struct dmg_session {
	char sid[DMG_SID_LEN + 1];
	enum dmg_role role;
	char domain[256], uuid[40];
	char peer[DMG_SESS_NAME_MAX];    /* peer daemon endpoint "host:port", from this
					  * host's own `peers`: the only caller served */
	char tok[DMG_TOK_LEN + 1];       /* the session's handle: every peer call carries
					  * it ("" in journals of older versions) */
	char secret[65];                 /* DRBD cram-hmac secret (hex) */
	size_t ndisks;
	struct dmg_sess_disk disks[DMG_SESS_DISKS_MAX];
	enum dmg_phase phase;
	enum dmg_phase attention_from;   /* the phase that stopped in attention */
	int switchover;                  /* destination saw the guest resume there */
	int seen_here, gone_here;        /* destination: QEMU seen / gone (not journalled) */
	int blind;                       /* destination: this daemon may have missed the
					  * switchover (loaded from the journal, or libvirt
					  * reconnected since); set under mu */
	int fenced;                      /* the link broke in the window: source: the
					  * migration was stopped here; destination: no
					  * QEMU here may run the guest (set under mu) */
	int fenced_journalled;
	int cancel;                      /* destination: `drbdmig cancel` while building
					  * (set under mu; the build stops and rolls back) */
	pthread_mutex_t mu;              /* phase and progress vs. status readers */
	char reason[DMG_ERROR_MAX];      /* why rolling back / attention */
	size_t nacts;
	struct dmg_sess_act acts[DMG_SESS_ACTS_MAX];
	char jpath[512];
	struct dmg_journal *j;
	const struct dmg_sess_env *env;
	struct dmg_log *log;
};

#endif
