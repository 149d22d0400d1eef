/* libFuzzer target: the domain XML policy parser must never crash, leak or
 * return a half-filled policy, whatever bytes it gets. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "libvirt/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmg_policy *p = NULL;
	struct dmg_error err;
	size_t i;
	int rc;

	rc = dmg_policy_parse((const char *)data, size, &p, &err);
	if (rc < 0) {
		if (p || !err.msg[0] || strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	if (p) {
		if (p->ndisks == 0 || p->ndisks > DMG_POLICY_MAX_DISKS || !p->domain)
			abort();
		for (i = 0; i < p->ndisks; i++)
			if (!p->disks[i].source || p->disks[i].source[0] != '/' ||
			    p->disks[i].resync_rate_kib < DMG_RATE_MIN_KIB ||
			    p->disks[i].resync_rate_kib > DMG_RATE_MAX_KIB)
				abort();
		dmg_policy_free(p);
	}
	return 0;
}
