/* The storage side of a session: the engine's verbs (session.c) carried
 * out with drbdmig's primitives (dm, lvm, drbd, drbdconf, alloc), each one
 * idempotent so that a recovered journal can run it again.
 *
 * Dry-run mode (for the namespace tests, which have no dm or DRBD) checks
 * the arguments, logs each verb and changes nothing; it is never evidence
 * that the storage works -- the kernel lab is. */
#ifndef DMG_BACKEND_H
#define DMG_BACKEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "core/model.h"

struct dmg_backend {
	int dry_run;
	/* crash tests only (DRBDMIG_TEST_PAUSE): sleep pause_s before verb pause_verb */
	char pause_verb[24];
	unsigned pause_s;
	char host[128];                  /* uname -n */
	char repl_addr[64];              /* "" = the address routing to the peer */
	uint32_t minor_lo, minor_hi, port_lo, port_hi;
	char hmac_alg[32];
	const char *resdir;              /* DRBD resource files (/etc/drbd.d) */
	const char *fence_peer;          /* handler: fencing resource-and-stonith; NULL = none */
	unsigned converge_s;             /* the sync stalled: no progress for this long */
	struct dmg_log *log;
	pthread_mutex_t mu;              /* guards the reservations */
	struct dmg_used minors, ports;   /* taken by this daemon's live sessions */
};

void dmg_backend_init(struct dmg_backend *b);
void dmg_backend_fini(struct dmg_backend *b);

/* The struct dmg_sess_env act callback; arg is the backend. */
int dmg_backend_act(void *arg, struct dmg_session *s, const char *verb, int disk,
		    const char *in, char *out, size_t outlen, struct dmg_error *err);

/* Derived object names (the same on both hosts): DRBD's resource
 * drbdmig-<sid>-<disk>, the copy device <resource>-copy and the metadata
 * LV <resource>-md. */
#define DMG_COPY_SUFFIX "-copy"
#define DMG_MD_SUFFIX   "-md"
void dmg_sess_res_name(const struct dmg_session *s, int disk, char *buf, size_t len);
void dmg_sess_copy_name(const struct dmg_session *s, int disk, char *buf, size_t len);
void dmg_sess_md_name(const struct dmg_session *s, int disk, char *buf, size_t len);
/* Read back: the session id of any of those names, 0 with sid filled, or
 * -EINVAL when name is not one of drbdmig's. */
int dmg_sess_name_sid(const char *name, char sid[DMG_SID_LEN + 1]);
/* name is a metadata LV's name of the form above. */
int dmg_sess_name_is_md(const char *name);

/* Source, before anything is built: the guest's disk at path must be an
 * LVM LV that no drbdmig session holds; fills d's vg, lv and size, and for a
 * thin LV its thin pool (d->thin) and the bytes allocated (d->alloc).
 * Changes nothing.  (Dry-run: any block device.) */
int dmg_backend_probe(struct dmg_backend *b, const char *path, struct dmg_sess_disk *d,
		      struct dmg_error *err);

/* Destination, before anything is built: every disk's VG exists here, none
 * of its LVs does, sizes fit the VG's extents, and each VG has room for
 * its disks and their DRBD metadata together.  Changes nothing. */
int dmg_backend_dst_check(struct dmg_backend *b, const struct dmg_sess_disk *disks,
			  size_t ndisks, struct dmg_error *err);

/* Destination, after the build: whether path, on this host, opens d's LV
 * (/dev/VG/LV) -- 1 yes; 0 no: it does not exist here or is another device
 * (a dm-uuid link names the source's LV, an admin's symlink may point
 * elsewhere), and the guest must be given /dev/VG/LV instead; < 0 when d's
 * own LV cannot be looked at.  (Dry-run: always 1.) */
int dmg_backend_dst_opens(struct dmg_backend *b, const struct dmg_sess_disk *d,
			  const char *path, struct dmg_error *err);

/* Reserves a DRBD minor and a TCP port nothing on this host uses. */
int dmg_backend_reserve(struct dmg_backend *b, uint32_t *minor, uint32_t *port,
			struct dmg_error *err);
/* Gives back what a closed session's side held. */
void dmg_backend_release(struct dmg_backend *b, uint32_t minor, uint32_t port);

/* 1 when the disk's I/O is frozen by DRBD's fencing (susp-fen) with the
 * replication link down, 0 when not (or no DRBD device, or dry-run): the
 * state a fence-peer handler that failed leaves for good. */
int dmg_backend_io_frozen(struct dmg_backend *b, const struct dmg_session *s, int disk,
			  struct dmg_error *err);
/* DRBD's resume-io on the disk's minor (drbdadm resume-io): only once the
 * fencing decision said it is safe. */
int dmg_backend_resume_io(struct dmg_backend *b, const struct dmg_session *s, int disk,
			  struct dmg_error *err);

/* This host's replication address towards peer (an IPv4 literal or name):
 * the configured one, else the source address the kernel routes from. */
int dmg_backend_local_addr(const struct dmg_backend *b, const char *peer, char *out,
			   size_t len, struct dmg_error *err);

#endif
