/* The policy's destructor: no libxml2, so the engine may free what
 * libvirt/policy.c parsed (or a test built by hand). */
#include "config.h"

#include <stdlib.h>

#include "core/policy_types.h"

void
dmg_policy_free(struct dmg_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->ndisks; i++) {
		free(p->disks[i].source);
		free(p->disks[i].pool);
		free(p->disks[i].volume);
	}
	free(p->disks);
	free(p->domain);
	free(p);
}
