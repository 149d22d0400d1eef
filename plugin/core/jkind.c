#include "config.h"

#include <string.h>

#include "core/jkind.h"
#include "core/names.h"

/* Journals on disk carry these names: never rename one. */
static const char *const names[DMG_JK_MAX] = {
	[DMG_JK_SESSION] = "session", [DMG_JK_DISK] = "disk", [DMG_JK_SIDE] = "side",
	[DMG_JK_PHASE] = "phase", [DMG_JK_SWITCHOVER] = "switchover", [DMG_JK_FENCED] = "fenced",
	[DMG_JK_BEGIN] = "begin", [DMG_JK_DONE] = "done", [DMG_JK_UNDONE] = "undone",
	[DMG_JK_FAIL] = "fail",
};

const char *
dmg_jkind_name(enum dmg_jkind k)
{
	return dmg_name_of(names, DMG_JK_UNKNOWN + 1, DMG_JK_MAX, k);
}

enum dmg_jkind
dmg_jkind_parse(const char *name)
{
	int i = dmg_name_index(names, DMG_JK_UNKNOWN + 1, DMG_JK_MAX, name);

	return i < 0 ? DMG_JK_UNKNOWN : (enum dmg_jkind)i;
}

void
dmg_jrec_init_kind(struct dmg_jrec *r, enum dmg_jkind k)
{
	dmg_jrec_init(r, dmg_jkind_name(k));
}
