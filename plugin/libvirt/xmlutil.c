/* The libxml2 helpers the policy's and the stamp's parsers share, so that
 * both read a domain XML document under the same limits. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "libvirt/policy.h"
#include "libvirt/xmlutil.h"

int
xmlutil_is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

int
xmlutil_in_ns(const xmlNode *n, const char *href)
{
	return n->ns && n->ns->href && xmlStrcmp(n->ns->href, BAD_CAST href) == 0;
}

enum xmlutil_find
xmlutil_find_meta(const xmlNode *root, const char *ns, const char *name,
		  const xmlNode **out, const xmlNode **bad)
{
	const xmlNode *md, *c;

	*out = NULL;
	*bad = NULL;
	for (md = root->children; md; md = md->next) {
		if (!xmlutil_is_elem(md, "metadata") || md->ns)
			continue;
		for (c = md->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE || !xmlutil_in_ns(c, ns))
				continue;
			if (!xmlutil_is_elem(c, name)) {
				*bad = c;
				return XMLUTIL_UNKNOWN;
			}
			if (*out) {
				*bad = c;
				return XMLUTIL_SECOND;
			}
			*out = c;
		}
	}
	return XMLUTIL_FOUND;
}

xmlNode *
xmlutil_child(const xmlNode *parent, const char *name)
{
	xmlNode *c;

	for (c = parent->children; c; c = c->next)
		if (xmlutil_is_elem(c, name) && !c->ns)
			return c;
	return NULL;
}

xmlNode *
xmlutil_disk(const xmlNode *domain, const char *target)
{
	const xmlNode *devices = xmlutil_child(domain, "devices");
	xmlNode *disk, *t;
	xmlChar *dev;
	int match;

	for (disk = devices ? devices->children : NULL; disk; disk = disk->next) {
		if (!xmlutil_is_elem(disk, "disk") || disk->ns || !(t = xmlutil_child(disk, "target")))
			continue;
		dev = xmlGetNoNsProp(t, BAD_CAST "dev");
		match = dev && strcmp((const char *)dev, target) == 0;
		xmlFree(dev);
		if (match)
			return disk;
	}
	return NULL;
}

int
xmlutil_read(const char *xml, size_t len, xmlParserCtxt **ctxt, xmlDoc **doc,
	     struct dmg_error *err)
{
	*ctxt = NULL;
	*doc = NULL;
	if (len > DMG_XML_MAX)
		return dmg_error_set(err, -EFBIG, "domain XML is larger than %u MiB",
				     DMG_XML_MAX >> 20);
	/* Never true under DMG_XML_MAX; kept for the (int) cast below. */
	if (len > INT32_MAX)
		return dmg_error_set(err, -EFBIG, "domain XML too large");
	*ctxt = xmlNewParserCtxt();
	if (!*ctxt)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	/* No network, no entity substitution, no DTD loading; libxml2's own
	 * depth limit (256) stays in force because XML_PARSE_HUGE is not set. */
	*doc = xmlCtxtReadMemory(*ctxt, xml, (int)len, "domain.xml", NULL,
				 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!*doc) {
		const xmlError *e = xmlCtxtGetLastError(*ctxt);
		char msg[200] = "unknown parse error";
		size_t n;
		int rc;

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			n = strlen(msg);   /* libxml2 ends its messages with a newline */
			while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				msg[--n] = '\0';
		}
		rc = dmg_error_set(err, -EINVAL, "malformed domain XML (line %d): %s",
				   e ? e->line : 0, msg);
		xmlFreeParserCtxt(*ctxt);
		*ctxt = NULL;
		return rc;
	}
	return 0;
}
