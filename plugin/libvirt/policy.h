/* The drbdmig policy annotation: <drbdmig:policy xmlns:drbdmig="urn:drbdmig:1">
 * inside a domain's <metadata>, turned into a typed, fully validated policy.
 * Schema: xml/drbdmig-policy.rng; reference: README "Policy annotation". */
#ifndef DMG_POLICY_H
#define DMG_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#include "core/policy_ns.h"
#include "core/policy_types.h"

/* Parses a domain XML document.  Returns 0 and sets *out to a new policy, or
 * to NULL when the domain carries no drbdmig annotation; returns a negative
 * code with err set (and *out NULL) on any violation.  Never returns a
 * partially filled policy. */
int dmg_policy_parse(const char *xml, size_t len, struct dmg_policy **out,
		     struct dmg_error *err);

/* "100M"-style rate (K/M/G suffix, bare number = KiB/s) to KiB/s. */
int dmg_parse_rate(const char *s, uint64_t *kib, struct dmg_error *err);
/* Formats KiB/s back into the shortest exact "100M" form. */
void dmg_format_rate(uint64_t kib, char *buf, size_t len);

const char *dmg_source_after_name(enum dmg_source_after v);
const char *dmg_sync_mode_name(enum dmg_sync_mode v);

#endif
