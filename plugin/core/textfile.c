/* One bounded reader of whole text files (core/textfile.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/textfile.h"

int
dmg_textfile_read(const char *path, size_t max, char **out, size_t *len,
		  struct dmg_error *err)
{
	size_t cap = 65536, n = 0, k;
	char *buf, *nb;
	FILE *f;
	int rc = 0;

	*out = NULL;
	if (len)
		*len = 0;
	f = fopen(path, "re");
	if (!f)
		return dmg_error_sys(err, -errno, "%s", path);
	buf = malloc(cap + 1);
	if (!buf) {
		fclose(f);
		return dmg_error_set(err, -ENOMEM, "cannot read %s: out of memory", path);
	}
	while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n > max) {
			rc = dmg_error_set(err, -EFBIG, "%s is larger than %zu bytes", path, max);
			break;
		}
		if (n < cap)
			continue;
		nb = realloc(buf, cap * 2 + 1);
		if (!nb) {
			rc = dmg_error_set(err, -ENOMEM, "cannot read %s: out of memory", path);
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (rc == 0 && ferror(f))
		rc = dmg_error_set(err, -EIO, "cannot read %s", path);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}
