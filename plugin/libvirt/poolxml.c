/* A libvirt storage pool's XML: its type and, for a 'logical' pool, its VG.
 * Pure (no connection), for pool.c and the fuzzer. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "libvirt/virt.h"
#include "libvirt/xmlutil.h"

/* Copies an attribute or a text into dst; -ENAMETOOLONG when it does not fit. */
static int
copy_out(char *dst, size_t len, const xmlChar *v)
{
	size_t n = v ? strlen((const char *)v) : 0;

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, v ? (const char *)v : "", n + 1);
	return 0;
}

int
dmg_virt_pool_parse(const char *xml, size_t len, char *type, size_t tlen, char *vg,
		    size_t vglen, struct dmg_error *err)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	const xmlNode *root, *src, *name;
	xmlChar *t = NULL, *n = NULL;
	int rc;

	if (tlen)
		*type = '\0';
	if (vglen)
		*vg = '\0';
	if ((rc = xmlutil_read(xml, len, &ctxt, &doc, err)) < 0)
		return rc;
	root = xmlDocGetRootElement(doc);
	if (!root || !xmlutil_is_elem(root, "pool") || root->ns ||
	    !(t = xmlGetNoNsProp(root, BAD_CAST "type")) || !*t) {
		rc = dmg_error_set(err, -EBADMSG, "not a storage pool XML: no <pool type='...'>");
		goto out;
	}
	src = xmlutil_child(root, "source");
	name = src ? xmlutil_child(src, "name") : NULL;
	n = name ? xmlNodeGetContent(name) : NULL;
	if (copy_out(type, tlen, t) < 0 || copy_out(vg, vglen, n) < 0)
		rc = dmg_error_set(err, -ENAMETOOLONG, "storage pool XML: type or source name too long");
	else if (strcmp(type, "logical") == 0 && !*vg)
		rc = dmg_error_set(err, -EBADMSG, "a 'logical' pool's XML names no VG (<source><name>)");
out:
	xmlFree(t);
	xmlFree(n);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}
