/* PRIVATE to plugin/libvirt/policy.c, stamp.c, diskpath.c, jobflags.c and poolxml.c:
 * the libxml2 helpers the parsers of a domain XML document (and of
 * libvirt's status file) share.  Everyone else uses libvirt/policy.h or
 * libvirt/virt.h. */
#ifndef DMG_XMLUTIL_H
#define DMG_XMLUTIL_H

#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/error.h"

/* n is an element named name (in whatever namespace). */
int xmlutil_is_elem(const xmlNode *n, const char *name);
/* n is in the namespace href (any node type). */
int xmlutil_in_ns(const xmlNode *n, const char *href);

/* The first un-namespaced child element of parent named name, or NULL. */
xmlNode *xmlutil_child(const xmlNode *parent, const char *name);
/* The domain's <devices><disk> whose <target dev> is target, or NULL. */
xmlNode *xmlutil_disk(const xmlNode *domain, const char *target);

/* What xmlutil_find_meta() found wrong, at *bad. */
enum xmlutil_find {
	XMLUTIL_FOUND = 0,          /* *out the one element, or NULL: none */
	XMLUTIL_UNKNOWN,            /* an element in ns not named name */
	XMLUTIL_SECOND,             /* a second element named name */
};

/* The single element name in namespace ns among the children of root's
 * un-namespaced <metadata> elements.  Each caller words its own errors,
 * hence the code and the node rather than a dmg_error. */
enum xmlutil_find xmlutil_find_meta(const xmlNode *root, const char *ns, const char *name,
				    const xmlNode **out, const xmlNode **bad);

/* Parses len bytes of domain XML.  < 0 with err set (too large, out of
 * memory, malformed: "malformed domain XML (line N): libxml2's message")
 * and nothing to free; 0 with *doc the document and *ctxt its parser, both
 * the caller's to free. */
int xmlutil_read(const char *xml, size_t len, xmlParserCtxt **ctxt, xmlDoc **doc,
		 struct dmg_error *err);

#endif
