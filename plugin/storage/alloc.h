/* Choosing a DRBD minor and a replication port that nothing else on the host
 * uses: not drbdmig's other sessions, not the admin's own DRBD resources, not
 * any other listening TCP socket.  The scanners read /proc and /sys; the
 * choice itself is a pure function over what they found. */
#ifndef DMG_ALLOC_H
#define DMG_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DMG_ALLOC_MAX 1024

struct dmg_used {
	size_t n;
	uint32_t v[DMG_ALLOC_MAX];
};

int dmg_used_add(struct dmg_used *u, uint32_t v);
int dmg_used_has(const struct dmg_used *u, uint32_t v);

/* Minors in /proc/drbd ("N: cs:..." lines, 8.4 format). */
int dmg_parse_proc_drbd(const char *text, struct dmg_used *u, struct dmg_error *err);
/* Local ports of every socket in /proc/net/tcp or tcp6 text (any state:
 * DRBD's own connections and listeners included). */
int dmg_parse_proc_net_tcp(const char *text, struct dmg_used *u, struct dmg_error *err);

/* The lowest value in [lo, hi] not in used (nor in also, if not NULL). */
int dmg_alloc_pick(const struct dmg_used *used, const struct dmg_used *also, uint32_t lo,
		   uint32_t hi, uint32_t *out, struct dmg_error *err);

/* Scans this host: minors from /proc/drbd and /sys/block/drbd*, ports from
 * /proc/net/tcp and /proc/net/tcp6. */
int dmg_scan_minors(struct dmg_used *u, struct dmg_error *err);
int dmg_scan_ports(struct dmg_used *u, struct dmg_error *err);

#endif
