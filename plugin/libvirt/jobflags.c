/* Whether an outgoing migration also asks libvirt to copy the disks
 * (--copy-storage-all / --copy-storage-inc), read from the text of
 * libvirt's status file of the running domain (domain.c reads the file).
 * No API tells: the flags a migration was started with are only there,
 * <domstatus><job async='migration out' flags='0x...'>, saved by the QEMU
 * driver when the job starts, before the destination is asked to prepare
 * -- so before drbdmig's hook runs there. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "libvirt/policy.h"
#include "libvirt/virt.h"
#include "libvirt/xmlutil.h"

/* libvirt writes the flags as 0x%lx; strtoull() alone would also take a
 * sign or leading blanks. */
static int
hex_flags(const xmlChar *s, unsigned long long *f)
{
	char *end = NULL;

	if (!s || !isxdigit(s[0]))
		return -1;
	errno = 0;
	*f = strtoull((const char *)s, &end, 16);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

int
dmg_virt_status_copies(const char *xml, size_t len, int *copies, struct dmg_error *err)
{
	xmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;
	xmlNode *root, *job;
	xmlChar *async = NULL, *flags = NULL;
	unsigned long long f = 0;
	int rc;

	*copies = 0;
	if ((rc = xmlutil_read(xml, len, &ctxt, &doc, err)) < 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	if (!root || !xmlutil_is_elem(root, "domstatus")) {
		rc = dmg_error_set(err, -EBADMSG, "not a libvirt domain status (no <domstatus>)");
		goto out;
	}
	job = xmlutil_child(root, "job");
	if (job)
		async = xmlGetProp(job, BAD_CAST "async");
	/* No job, or not a migration out of here: nothing is being copied. */
	if (!async || xmlStrcmp(async, BAD_CAST "migration out") != 0)
		goto out;
	flags = xmlGetProp(job, BAD_CAST "flags");
	if (hex_flags(flags, &f) < 0)
		rc = dmg_error_set(err, -EBADMSG, "libvirt's outgoing migration job has %s flags",
				   flags ? "unreadable" : "no");
	else
		*copies = (f & (VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_NON_SHARED_INC)) != 0;
out:
	xmlFree(flags);
	xmlFree(async);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}
