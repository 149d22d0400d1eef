/* PRIVATE to plugin/storage/backend.c and steps_impl.c: the DRBD calls both
 * make (the steps, and the fencing watchdog's).  Everyone else uses
 * storage/backend.h. */
#ifndef DMG_BACKEND_INT_H
#define DMG_BACKEND_INT_H

#include <stdint.h>

#include "core/error.h"
#include "storage/drbd.h"

/* One request on a DRBD connection of its own. */
int backend_drbd_do(struct dmg_drbd_req *r, struct dmg_error *err);
/* The state of minor; -ENODEV when it does not exist. */
int backend_minor_state(uint32_t minor, struct dmg_drbd_status *st, struct dmg_error *err);

#endif
