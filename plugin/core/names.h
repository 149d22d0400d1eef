/* Name tables: an enum's wire or journal names as an array indexed by the
 * enum.  The one lookup every table's name and parse functions share. */
#ifndef DMG_NAMES_H
#define DMG_NAMES_H

/* names[i] when lo <= i < hi and it is set, else "?". */
const char *dmg_name_of(const char *const *names, int lo, int hi, int i);
/* The i in [lo, hi) with names[i] equal to name, else -1 (also for NULL). */
int dmg_name_index(const char *const *names, int lo, int hi, const char *name);

#endif
