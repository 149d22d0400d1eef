/* Reading a whole small text file (a /proc file, libvirt's status file):
 * one bounded reader instead of one per caller. */
#ifndef DMG_TEXTFILE_H
#define DMG_TEXTFILE_H

#include <stddef.h>

#include "core/error.h"

/* The file at path, NUL-terminated, in *out (malloc'ed, free() it) and its
 * length in *len (may be NULL).  /proc files report no size, so it reads
 * until EOF.  -EFBIG when it holds more than max bytes; -errno of open()
 * (-ENOENT for a missing file) or of the read; err set in every case. */
int dmg_textfile_read(const char *path, size_t max, char **out, size_t *len,
		      struct dmg_error *err);

#endif
