/* The drbdmig policy as data: the limits, types and destructor of a parsed
 * <drbdmig:policy> annotation, without libxml2.  The parser that fills
 * them is libvirt/policy.h; the engine and the hook need only this. */
#ifndef DMG_POLICY_TYPES_H
#define DMG_POLICY_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define DMG_XML_MAX         (8u << 20)   /* largest domain XML we accept */
#define DMG_POLICY_MAX_DISKS 64
#define DMG_TARGET_MAX      32
#define DMG_POOLNAME_MAX    128          /* pool and volume names, NUL included */

/* Rates are KiB/s, DRBD's own unit; 4 GiB/s is DRBD 8.4's ceiling. */
#define DMG_RATE_MIN_KIB     1ull
#define DMG_RATE_MAX_KIB     (4ull << 20)
#define DMG_RATE_DEFAULT_KIB (100ull << 10)   /* 100M */

enum dmg_source_after {
	DMG_SOURCE_REMOVE = 0,      /* drop the stale source LV after success */
	DMG_SOURCE_KEEP,            /* leave it (e.g. as a fallback copy) */
};

enum dmg_sync_mode {
	DMG_SYNC_DYNAMIC = 0,       /* DRBD's resync controller, capped at the rate */
	DMG_SYNC_FIXED,             /* constant resync rate */
};

struct dmg_policy_disk {
	char target[DMG_TARGET_MAX];        /* e.g. "vda" */
	/* type='block': <source dev>, an absolute path; type='volume': NULL
	 * until a daemon resolves pool and volume through its own libvirt. */
	char *source;
	char *pool;                         /* type='volume': <source pool>, else NULL */
	char *volume;                       /* type='volume': <source volume>, else NULL */
	uint64_t resync_rate_kib;
	enum dmg_source_after source_after;
	enum dmg_sync_mode sync_mode;
};

struct dmg_policy {
	char *domain;                       /* <name> */
	char uuid[37];                      /* <uuid>, may be empty */
	size_t ndisks;
	struct dmg_policy_disk *disks;
};

void dmg_policy_free(struct dmg_policy *p);

#endif
