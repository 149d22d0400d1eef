/* The drbdmig policy annotation: <drbdmig:policy xmlns:drbdmig="urn:drbdmig:1">
 * inside a domain's <metadata>, turned into a typed, fully validated policy.
 * Schema: xml/drbdmig-policy.rng; reference: README "Policy annotation". */
#ifndef DMG_POLICY_H
#define DMG_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#include "core/policy_ns.h"
#define DMG_XML_MAX         (8u << 20)   /* largest domain XML we accept */
#define DMG_POLICY_MAX_DISKS 64
#define DMG_TARGET_MAX      32

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
	char *source;                       /* <source dev=...>, absolute path */
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

/* Parses a domain XML document.  Returns 0 and sets *out to a new policy, or
 * to NULL when the domain carries no drbdmig annotation; returns a negative
 * code with err set (and *out NULL) on any violation.  Never returns a
 * partially filled policy. */
int dmg_policy_parse(const char *xml, size_t len, struct dmg_policy **out,
		     struct dmg_error *err);

void dmg_policy_free(struct dmg_policy *p);

/* "100M"-style rate (K/M/G suffix, bare number = KiB/s) to KiB/s. */
int dmg_parse_rate(const char *s, uint64_t *kib, struct dmg_error *err);
/* Formats KiB/s back into the shortest exact "100M" form. */
void dmg_format_rate(uint64_t kib, char *buf, size_t len);

const char *dmg_source_after_name(enum dmg_source_after v);
const char *dmg_sync_mode_name(enum dmg_sync_mode v);

#endif
