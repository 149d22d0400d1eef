/* The resource file drbdmig writes for each of its DRBD resources, so that
 * the module's usermode helper (/sbin/drbdadm, which dispatches to the 8.4
 * drbdadm) finds the resource when the kernel calls it for events such as
 * before-resync-source or fence-peer.  Without it the helper fails and DRBD
 * drops the connection; changing the module's global usermode_helper would
 * break other DRBD resources on the host and disable real fencing.
 *
 * The file is /etc/drbd.d/<resource>.res, mode 0600 (it holds the session's
 * shared secret), written before the resource exists and removed after it is
 * gone.  Names start with "drbdmig-" so `drbdmig verify` can find leftovers. */
#ifndef DMG_DRBDCONF_H
#define DMG_DRBDCONF_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DMG_DRBD_RES_PREFIX "drbdmig-"
#define DMG_DRBD_CONF_DIR   "/etc/drbd.d"

struct dmg_drbd_host {
	const char *name;          /* uname -n of that host */
	const char *address;       /* IPv4 literal */
	uint16_t port;
	uint32_t minor;
	const char *disk;          /* backing device (the .copy dm device) */
	const char *meta;          /* metadata LV */
};

struct dmg_drbd_resfile {
	const char *resource;      /* must start with DMG_DRBD_RES_PREFIX */
	const char *secret;        /* cram-hmac shared secret */
	const char *hmac_alg;      /* cram-hmac-alg: the one the kernel is given */
	const char *fence_peer;    /* handler program, or NULL */
	struct dmg_drbd_host host[2];
};

/* Renders the resource file; returns its length or a negative code. */
int dmg_drbd_resfile_format(const struct dmg_drbd_resfile *r, char *buf, size_t len,
			    struct dmg_error *err);
/* Writes dir/<resource>.res atomically (temp file, fsync, rename). */
int dmg_drbd_resfile_write(const char *dir, const struct dmg_drbd_resfile *r,
			   struct dmg_error *err);
int dmg_drbd_resfile_remove(const char *dir, const char *resource, struct dmg_error *err);

/* Initialises DRBD 8.4 ("v08") external metadata on meta for minor with
 * drbd-utils' drbdmeta (the on-disk format's own tool). */
int dmg_drbd_create_md(uint32_t minor, const char *meta, struct dmg_error *err);

#endif
