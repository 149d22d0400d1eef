#include "config.h"

#include <string.h>

#include "core/names.h"

const char *
dmg_name_of(const char *const *names, int lo, int hi, int i)
{
	return i >= lo && i < hi && names[i] ? names[i] : "?";
}

int
dmg_name_index(const char *const *names, int lo, int hi, const char *name)
{
	int i;

	for (i = lo; name && i < hi; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}
