/* The source stamp: this host's endpoint written into a running domain's
 * live <metadata>, and read back from a domain XML document. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/endpoint.h"
#include "libvirt/policy.h"
#include "libvirt/virt_int.h"
#include "libvirt/xmlutil.h"

/* ---- the source stamp -------------------------------------------------------- */

/* Host names and addresses (IPv4, IPv6, DNS): characters that need no XML
 * escaping and no quoting anywhere they are logged. */
static int
valid_token(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > DMG_VIRT_HOST_MAX - 1)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == ':'))
			return 0;
	}
	return 1;
}

static int
set_stamp(virConnectPtr c, const char *id, const char *elem, struct dmg_error *err)
{
	virDomainPtr d;
	int rc = 0;

	d = virt_lookup(c, id);
	if (!d) {
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			return dmg_error_set(err, -ENOENT, "libvirt: no domain %s", id);
		return virt_call_failed(c, err, "cannot look up domain", id);
	}
	if (virDomainIsActive(d) != 1)
		rc = dmg_error_set(err, -ESRCH, "libvirt: domain %s is not running", id);
	else if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, elem,
				      DMG_VIRT_STAMP_PREFIX, DMG_VIRT_STAMP_NS,
				      VIR_DOMAIN_AFFECT_LIVE) < 0)
		rc = virt_call_failed(c, err, "cannot stamp the live metadata of domain", id);
	virDomainFree(d);
	return rc;
}

int
dmg_virt_stamp(struct dmg_virt *v, const char *uuid, const char *hostname,
	       const char *addr, unsigned port, struct dmg_error *err)
{
	char elem[2 * DMG_VIRT_HOST_MAX + 128];
	virConnectPtr c;
	int rc;

	if (!valid_token(hostname))
		return dmg_error_set(err, -EINVAL, "stamp: bad host name '%.64s'", hostname);
	if (!valid_token(addr))
		return dmg_error_set(err, -EINVAL, "stamp: bad address '%.64s'", addr);
	if (port == 0 || port > 65535)
		return dmg_error_set(err, -EINVAL, "stamp: port %u out of range 1-65535", port);
	snprintf(elem, sizeof(elem), "<%s host=\"%s\" addr=\"%s\" port=\"%u\"/>",
		 DMG_VIRT_STAMP_ELEM, hostname, addr, port);
	c = virt_ref(v);
	if (!c)
		return virt_not_connected(v, err);
	rc = set_stamp(c, uuid, elem, err);
	virConnectClose(c);
	if (rc == 0)
		dmg_info(v->log, "libvirt: stamped domain %s with host=%s addr=%s port=%u",
			 uuid, hostname, addr, port);
	return rc;
}

/* The one stamp element among /domain/metadata's children, or an error. */
static int
find_stamp(const xmlNode *root, const xmlNode **out, struct dmg_error *err)
{
	const xmlNode *bad;

	switch (xmlutil_find_meta(root, DMG_VIRT_STAMP_NS, DMG_VIRT_STAMP_ELEM, out, &bad)) {
	case XMLUTIL_UNKNOWN:
		return dmg_error_set(err, -EINVAL, "line %ld: unknown element <%s> in %s",
				     xmlGetLineNo(bad), (const char *)bad->name, DMG_VIRT_STAMP_NS);
	case XMLUTIL_SECOND:
		return dmg_error_set(err, -EINVAL, "line %ld: a second <%s> stamp",
				     xmlGetLineNo(bad), DMG_VIRT_STAMP_ELEM);
	case XMLUTIL_FOUND:
		break;
	}
	if (!*out)
		return dmg_error_set(err, -ENOENT, "domain XML carries no <%s xmlns=\"%s\"> stamp",
				     DMG_VIRT_STAMP_ELEM, DMG_VIRT_STAMP_NS);
	return 0;
}

struct stamp {
	char host[DMG_VIRT_HOST_MAX];
	char addr[DMG_VIRT_ADDR_MAX];
	unsigned port;
	int seen;                   /* bit per attribute */
};

static int
stamp_attr(const char *name, const char *val, struct stamp *s, long line,
	   struct dmg_error *err)
{
	if (strcmp(name, "port") == 0) {
		uint16_t port;

		if (dmg_port_parse(val, strlen(val), &port) < 0)
			return dmg_error_set(err, -EINVAL, "line %ld: stamp port '%.16s' is not 1-65535",
					     line, val);
		s->port = port;
		s->seen |= 4;
		return 0;
	}
	if (strcmp(name, "host") != 0 && strcmp(name, "addr") != 0)
		return dmg_error_set(err, -EINVAL, "line %ld: unknown stamp attribute '%.32s'",
				     line, name);
	if (!valid_token(val))
		return dmg_error_set(err, -EINVAL, "line %ld: bad stamp %s '%.64s'", line, name, val);
	if (name[0] == 'h') {
		snprintf(s->host, sizeof(s->host), "%s", val);
		s->seen |= 1;
	} else {
		snprintf(s->addr, sizeof(s->addr), "%s", val);
		s->seen |= 2;
	}
	return 0;
}

static int
read_stamp(const xmlNode *n, struct stamp *s, struct dmg_error *err)
{
	const xmlAttr *a;
	int rc;

	memset(s, 0, sizeof(*s));
	for (a = n->properties; a; a = a->next) {
		xmlChar *val;

		if (a->ns)
			return dmg_error_set(err, -EINVAL, "line %ld: namespaced stamp attribute '%.32s'",
					     xmlGetLineNo(n), (const char *)a->name);
		val = xmlNodeListGetString(n->doc, a->children, 1);
		rc = stamp_attr((const char *)a->name, val ? (const char *)val : "", s,
				xmlGetLineNo(n), err);
		xmlFree(val);
		if (rc < 0)
			return rc;
	}
	if (s->seen != 7)
		return dmg_error_set(err, -EINVAL, "line %ld: the stamp needs host, addr and port",
				     xmlGetLineNo(n));
	return 0;
}

static int
copy_out(char *dst, size_t len, const char *src, const char *what, struct dmg_error *err)
{
	if (strlen(src) >= len)
		return dmg_error_set(err, -ENAMETOOLONG, "stamp %s '%.64s' is longer than %zu",
				     what, src, len ? len - 1 : 0);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int
stamp_from_doc(const xmlDoc *doc, char *host, size_t hl, char *addr, size_t al,
	       unsigned *port, struct dmg_error *err)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *n;
	struct stamp s;
	int rc;

	if (!root || !xmlutil_is_elem(root, "domain") || root->ns)
		return dmg_error_set(err, -EINVAL, "not a domain XML: the root element must be <domain>");
	rc = find_stamp(root, &n, err);
	if (rc < 0 || !n)
		return rc < 0 ? rc : -ENOENT;
	rc = read_stamp(n, &s, err);
	if (rc < 0)
		return rc;
	if (copy_out(host, hl, s.host, "host", err) < 0 ||
	    copy_out(addr, al, s.addr, "addr", err) < 0)
		return -ENAMETOOLONG;
	*port = s.port;
	return 0;
}

int
dmg_virt_parse_stamp(const char *xml, size_t len, char *host, size_t hl, char *addr,
		     size_t al, unsigned *port, struct dmg_error *err)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	int rc;

	/* Under the policy's limits: the same reader. */
	rc = xmlutil_read(xml, len, &ctxt, &doc, err);
	if (rc < 0)
		return rc;
	rc = stamp_from_doc(doc, host, hl, addr, al, port, err);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}
