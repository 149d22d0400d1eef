/* The destination's answer to libvirt's `migrate begin` hook: the incoming
 * domain XML with some disks' <source dev> replaced.  libvirt takes the
 * hook's output as the definition it starts the incoming QEMU with (and
 * checks that the guest's ABI did not change; a disk's path is no ABI). */
#ifndef DMG_DISKPATH_H
#define DMG_DISKPATH_H

#include <stddef.h>

#include "core/error.h"

struct dmg_disk_path {
	const char *target;   /* <target dev> of the disk */
	const char *path;     /* its new <source dev> */
};

/* Sets each named disk's <source dev> in the len bytes of domain XML; *out
 * (malloc'd, NUL-terminated, *outlen bytes) is the whole document again.
 * -ENOENT, one line, when a target has no <disk> with a <source>. */
int dmg_diskpath_set(const char *xml, size_t len, const struct dmg_disk_path *dp, size_t n,
		     char **out, size_t *outlen, struct dmg_error *err);

#endif
