/* libFuzzer target: the domain XML policy parser must never crash, leak or
 * return a half-filled policy, whatever bytes it gets; and where it accepts
 * a policy, the destination's disk-path rewrite of that XML must succeed and
 * read back with the new paths.  The same bytes as a libvirt status file:
 * the storage-copy test answers 0 or 1, or fails with one line; as a
 * storage pool's XML: a type (and a VG for 'logical'), or one line. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "libvirt/diskpath.h"
#include "libvirt/policy.h"
#include "libvirt/virt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
rewrite(const uint8_t *data, size_t size, const struct dmg_policy *p)
{
	struct dmg_disk_path dp = { p->disks[0].target, "/dev/vg0/rewritten" };
	struct dmg_policy *q = NULL;
	struct dmg_error err;
	size_t len;
	char *out;

	if (dmg_diskpath_set((const char *)data, size, &dp, 1, &out, &len, &err) < 0)
		abort();
	if (dmg_policy_parse(out, len, &q, &err) < 0 || !q || q->ndisks != p->ndisks ||
	    strcmp(q->disks[0].source, dp.path) != 0)
		abort();
	dmg_policy_free(q);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmg_policy *p = NULL;
	struct dmg_error err;
	char type[32], vg[DMG_VIRT_VG_MAX];
	int copies = -1, rc;
	size_t i;

	rc = dmg_virt_status_copies((const char *)data, size, &copies, &err);
	if (rc < 0 ? copies != 0 || !err.msg[0] || strchr(err.msg, '\n') : copies != 0 && copies != 1)
		abort();
	rc = dmg_virt_pool_parse((const char *)data, size, type, sizeof(type), vg, sizeof(vg),
				 &err);
	if (rc < 0 ? !err.msg[0] || strchr(err.msg, '\n') :
	    !type[0] || (strcmp(type, "logical") == 0 && !vg[0]))
		abort();
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
			/* a path, or a pool volume for the daemons to resolve: never both */
			if (!p->disks[i].source == !(p->disks[i].pool && p->disks[i].volume) ||
			    (p->disks[i].source && p->disks[i].source[0] != '/') ||
			    p->disks[i].resync_rate_kib < DMG_RATE_MIN_KIB ||
			    p->disks[i].resync_rate_kib > DMG_RATE_MAX_KIB)
				abort();
		if (p->disks[0].source)
			rewrite(data, size, p);
		dmg_policy_free(p);
	}
	return 0;
}
