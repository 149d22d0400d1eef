/* The daemon's one clock.  Its own module so that code with no I/O of its
 * own (the engine, the fuzz targets) can measure time without linking the
 * socket helpers of core/wire. */
#ifndef DMG_CLOCK_H
#define DMG_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: deadlines ignore changes of the wall
 * clock. */
int64_t dmg_now_ms(void);

#endif
