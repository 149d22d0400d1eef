/* Defaults and timing constants used in more than one place, each named
 * once with the reason for its value.  drbdmig.conf(5) documents the
 * configurable ones; conf.c's option table takes its defaults from here.
 * Seconds are _S, milliseconds _MS. */
#ifndef DMG_DEFAULTS_H
#define DMG_DEFAULTS_H

/* ---- configuration defaults (drbdmig.conf) ------------------------------ */

/* Peer channel port: outside the DRBD range below and below the Linux
 * ephemeral range, so neither an overlay nor an outgoing connection takes it. */
#define DMG_DEFAULT_PEER_PORT 7780

/* One DRBD port per replicated disk: 100 ports are more disks than any
 * number of migrations a host runs at once, next to the peer port. */
#define DMG_DEFAULT_DRBD_PORT_MIN 7800
#define DMG_DEFAULT_DRBD_PORT_MAX 7899

/* DRBD minors for the overlays: 100-199 stays clear of the low minors a
 * host's own (permanent) DRBD resources usually use. */
#define DMG_DEFAULT_DRBD_MINOR_MIN 100
#define DMG_DEFAULT_DRBD_MINOR_MAX 199

/* How long the hook waits for the daemon on "migrate" (the destination
 * builds and syncs the overlay meanwhile): 15 min covers a first sync of
 * tens of GiB on a 1 Gbit/s link. */
#define DMG_DEFAULT_HOOK_MIGRATE_TIMEOUT_S 900
/* On every other event the daemon answers at once: 10 s only bounds a
 * hung daemon without stalling libvirt. */
#define DMG_DEFAULT_HOOK_EVENT_TIMEOUT_S 10

/* One peer CALL/RESULT exchange: the slowest peer verb runs a few storage
 * commands (lvcreate, drbdsetup), well under 30 s on a healthy host. */
#define DMG_DEFAULT_PEER_TIMEOUT_S 30
/* An accepted peer connection must finish TLS in this time, so strangers
 * cannot hold handshake slots. */
#define DMG_DEFAULT_PEER_HANDSHAKE_TIMEOUT_S 5

/* The initial DRBD sync of one migration: an hour, then it is abandoned. */
#define DMG_DEFAULT_SYNC_TIMEOUT_S 3600
/* The asynchronous initial sync has stalled when the amount out of sync
 * made no new low for this long (a guest writing faster than the link
 * carries); replication then turns synchronous, so the sync converges.  A
 * minute rides out a burst of writes and a short link hiccup. */
#define DMG_DEFAULT_SYNC_CONVERGE_S 60
/* The source's own check that both disks are in sync as the window opens
 * (peer call "dual"): the destination has just seen it, so it holds at
 * once; the bound stays under the peer timeout, so the destination never
 * gives up on a source still waiting. */
#define DMG_SRC_IN_SYNC_WAIT_S 20
_Static_assert(DMG_SRC_IN_SYNC_WAIT_S < DMG_DEFAULT_PEER_TIMEOUT_S,
	       "the source's in-sync check ends before the destination's peer call does");

/* ---- clients of the daemon's socket ------------------------------------- */

/* The CLI and the fence-peer handler: connecting to a local socket is
 * instant unless the daemon is wedged; 10 s says so without hanging. */
#define DMG_SOCKET_CONNECT_MS 10000
/* The CLI's quick verbs (ping, status). */
#define DMG_CLI_CALL_MS 10000
/* verify walks DRBD, device-mapper and LVM: a minute. */
#define DMG_CLI_VERIFY_MS 60000
/* cleanup and cancel run storage steps (and may wait for DRBD): 15 min. */
#define DMG_CLI_LONG_MS (15 * 60 * 1000)

/* The hook connects quickly or not at all: libvirt waits on it. */
#define DMG_HOOK_CONNECT_MS 2000
/* ... and writing its reply to libvirt's pipe. */
#define DMG_HOOK_WRITE_MS 10000

/* The daemon decides a fence request within 10 min (it may wait that long
 * for the guest to leave the other host); the handler waits a minute more
 * so the daemon's answer, not the handler's timeout, decides. */
#define DMG_FENCE_DECIDE_MS 600000
#define DMG_FENCE_CALL_MS ((int64_t)DMG_FENCE_DECIDE_MS + 60000)

/* ---- daemon timing (used in plugin/daemon, engine, storage) ------------- */

/* A local client must send its whole request within 30 s. */
#define DMG_CLIENT_TIMEOUT_MS 30000
/* The server's poll wakes at least this often with nothing to do. */
#define DMG_SERVER_IDLE_WAKE_MS 60000
/* Blocking waits poll in slices of at most a minute (then recompute the
 * deadline), so a clock step never makes one sleep for hours. */
#define DMG_POLL_SLICE_MS 60000
/* Shutdown: how long open client connections get to finish. */
#define DMG_DRAIN_MS 5000
/* The registry's settle loop runs once a second. */
#define DMG_SETTLE_TICK_MS 1000
/* A source with no word from its destination asks after 30 s. */
#define DMG_SRC_IDLE_MS 30000
/* After READY, a destination QEMU that has not appeared within a minute
 * means the migration failed. */
#define DMG_READY_GRACE_S 60
/* The build must end this long before the hook gives up (when the hook's
 * timeout is above DMG_HOOK_MARGIN_MIN_S), so it never completes unseen. */
#define DMG_HOOK_MARGIN_S 15
#define DMG_HOOK_MARGIN_MIN_S 20
/* A resource seen frozen (link lost) for 10 s with no fence-peer handler
 * running is decided by the daemon itself. */
#define DMG_FROZEN_GRACE_MS 10000
/* Asking libvirt whether a domain has a job: bounded, it must not block
 * the settle loop. */
#define DMG_VIRT_JOB_PROBE_MS 3000
/* One DRBD netlink request: a state change may wait for the peer's
 * answer over the replication link, 30 s then it failed. */
#define DMG_DRBD_CALL_MS 30000
/* drbdmeta create-md on a fresh metadata LV: a minute. */
#define DMG_DRBDMETA_MS 60000
/* A DRBD link that does not come up within a minute during sync fails it. */
#define DMG_SYNC_LINK_WAIT_MS 60000
/* LVM commands may wait for locks and udev: two minutes. */
#define DMG_LVM_TIMEOUT_MS 120000

#endif
