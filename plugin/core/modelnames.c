#include "config.h"

#include <errno.h>

#include "core/modelnames.h"
#include "core/names.h"

static const char *const role_names[] = { [DMG_ROLE_SRC] = "src", [DMG_ROLE_DST] = "dst" };
#define NROLES ((int)(sizeof(role_names) / sizeof(role_names[0])))

static const char *const phase_names[DMG_PH_MAX] = {
	[DMG_PH_BUILDING] = "building", [DMG_PH_SYNCING] = "syncing",
	[DMG_PH_READY] = "ready", [DMG_PH_FINISHING] = "finishing",
	[DMG_PH_ROLLING_BACK] = "rolling-back", [DMG_PH_DONE] = "done",
	[DMG_PH_ROLLED_BACK] = "rolled-back", [DMG_PH_ATTENTION] = "attention",
};

static const char *const repl_names[DMG_REPL_MAX] = {
	[DMG_REPL_NONE] = "-", [DMG_REPL_FAST] = "fast", [DMG_REPL_CONVERGING] = "converging",
	[DMG_REPL_SYNCHRONOUS] = "synchronous",
};

const char *
dmg_repl_mode_name(enum dmg_repl_mode m)
{
	return dmg_name_of(repl_names, 0, DMG_REPL_MAX, (int)m);
}

const char *
dmg_role_name(enum dmg_role r)
{
	return dmg_name_of(role_names, 0, NROLES, (int)r);
}

int
dmg_role_parse(const char *s, enum dmg_role *r)
{
	int i = dmg_name_index(role_names, 0, NROLES, s);

	if (i < 0)
		return -EINVAL;
	*r = (enum dmg_role)i;
	return 0;
}

const char *
dmg_phase_name(enum dmg_phase p)
{
	return dmg_name_of(phase_names, 0, DMG_PH_MAX, (int)p);
}

int
dmg_phase_parse(const char *s, enum dmg_phase *p)
{
	int i = dmg_name_index(phase_names, 0, DMG_PH_MAX, s);

	if (i < 0)
		return -EINVAL;
	*p = (enum dmg_phase)i;
	return 0;
}
