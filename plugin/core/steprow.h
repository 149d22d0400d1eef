/* The step table's rows (core/steprow.c): each step's journal name, its
 * kind, where it runs and what undoes it.  Pure lookups, no state.  The
 * sequences the engine runs the steps in are engine/steps.h.
 *
 * A step's name is what the journal records ("begin verb=drbd-up"); names
 * never change, so journals of older versions still load. */
#ifndef DMG_STEPROW_H
#define DMG_STEPROW_H

#include <stddef.h>

#include "core/model.h"

/* The row of step s (NULL if s is not a step). */
const struct dmg_step_row *dmg_step_row(enum dmg_step s);
const char *dmg_step_name(enum dmg_step s);   /* "?" if not a step */
/* DMG_STEP_NONE for a name no step has (or NULL). */
enum dmg_step dmg_step_parse(const char *name);
enum dmg_step dmg_step_undo(enum dmg_step s);
/* The steps that undo s, in order (at most 2: undo_first, undo); returns
 * how many. */
size_t dmg_step_undo_steps(enum dmg_step s, enum dmg_step out[2]);

#endif
