#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "libvirt/policy.h"
#include "libvirt/xmlutil.h"

/* Attribute defaults that <drbdmig:policy> sets for its disks. */
struct disk_opts {
	uint64_t rate;
	enum dmg_source_after source_after;
	enum dmg_sync_mode sync_mode;
};

static const char *const source_after_names[] = {
	[DMG_SOURCE_REMOVE] = "remove",
	[DMG_SOURCE_KEEP] = "keep",
};

static const char *const sync_mode_names[] = {
	[DMG_SYNC_DYNAMIC] = "dynamic",
	[DMG_SYNC_FIXED] = "fixed",
};

const char *
dmg_source_after_name(enum dmg_source_after v)
{
	return v <= DMG_SOURCE_KEEP ? source_after_names[v] : "?";
}

const char *
dmg_sync_mode_name(enum dmg_sync_mode v)
{
	return v <= DMG_SYNC_FIXED ? sync_mode_names[v] : "?";
}

int
dmg_parse_rate(const char *s, uint64_t *kib, struct dmg_error *err)
{
	const char *p = s;
	uint64_t v = 0, mult = 1;

	if (!*p)
		return dmg_error_set(err, -EINVAL, "empty rate");
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return dmg_error_set(err, -ERANGE, "rate '%s' is too large", s);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		goto bad;
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K': mult = 1; p++; break;
	case 'm': case 'M': mult = 1u << 10; p++; break;
	case 'g': case 'G': mult = 1u << 20; p++; break;
	default:
		goto bad;
	}
	if (*p)
		goto bad;
	if (v > DMG_RATE_MAX_KIB / mult || v * mult < DMG_RATE_MIN_KIB)
		return dmg_error_set(err, -ERANGE,
				     "rate '%s' is out of range (1K to 4G per second)", s);
	*kib = v * mult;
	return 0;
bad:
	return dmg_error_set(err, -EINVAL,
			     "'%s' is not a rate (use a number with K, M or G, e.g. 400M)", s);
}

void
dmg_format_rate(uint64_t kib, char *buf, size_t len)
{
	if (kib && kib % (1u << 20) == 0)
		snprintf(buf, len, "%" PRIu64 "G", kib >> 20);
	else if (kib && kib % (1u << 10) == 0)
		snprintf(buf, len, "%" PRIu64 "M", kib >> 10);
	else
		snprintf(buf, len, "%" PRIu64 "K", kib);
}

static int
in_our_ns(const xmlNode *n)
{
	return xmlutil_in_ns(n, DMG_POLICY_NS);
}

static int
only_blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (!isspace(*s))
			return 0;
	return 1;
}

/* Prefix for messages about a node: "line N: <drbdmig:disk target='vdb'>". */
static void
where(const xmlNode *n, char *buf, size_t len)
{
	xmlChar *t = NULL;

	if (xmlutil_is_elem(n, "disk") && in_our_ns(n))
		t = xmlGetNoNsProp(n, BAD_CAST "target");
	if (t)
		snprintf(buf, len, "line %ld: <drbdmig:%s target='%.32s'>",
			 xmlGetLineNo(n), (const char *)n->name, (const char *)t);
	else
		snprintf(buf, len, "line %ld: <%s%s>", xmlGetLineNo(n),
			 in_our_ns(n) ? "drbdmig:" : "", (const char *)n->name);
	xmlFree(t);
}

static int
node_error(struct dmg_error *err, const xmlNode *n, const char *what)
{
	char w[128];

	where(n, w, sizeof(w));
	return dmg_error_set(err, -EINVAL, "%s: %s", w, what);
}

/* Reads the option attributes shared by <policy> and <disk> on top of *o;
 * any attribute not in allowed[] is an error. */
static int
read_opts(const xmlNode *n, struct disk_opts *o, const char *const *allowed,
	  struct dmg_error *err)
{
	char w[128], msg[DMG_ERROR_MAX];
	const xmlAttr *a;
	const char *const *al;
	struct dmg_error sub;

	where(n, w, sizeof(w));
	for (a = n->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		xmlChar *v;
		int rc = 0;

		if (a->ns)
			return dmg_error_set(err, -EINVAL,
					     "%s: attribute '%s:%s' is not allowed here",
					     w, (const char *)a->ns->prefix, name);
		for (al = allowed; *al && strcmp(*al, name) != 0; al++)
			;
		if (!*al)
			return dmg_error_set(err, -EINVAL,
					     "%s: unknown attribute '%s'", w, name);
		v = xmlNodeListGetString(n->doc, a->children, 1);
		if (!v)
			v = xmlStrdup(BAD_CAST "");
		if (!v)
			return dmg_error_set(err, -ENOMEM, "out of memory");
		if (strcmp(name, "resync-rate") == 0) {
			rc = dmg_parse_rate((const char *)v, &o->rate, &sub);
			if (rc < 0)
				snprintf(msg, sizeof(msg), "resync-rate: %.400s", sub.msg);
		} else if (strcmp(name, "source-after") == 0) {
			if (xmlStrcmp(v, BAD_CAST "remove") == 0)
				o->source_after = DMG_SOURCE_REMOVE;
			else if (xmlStrcmp(v, BAD_CAST "keep") == 0)
				o->source_after = DMG_SOURCE_KEEP;
			else
				rc = -EINVAL;
			if (rc < 0)
				snprintf(msg, sizeof(msg),
					 "source-after='%.64s' must be 'remove' or 'keep'",
					 (const char *)v);
		} else if (strcmp(name, "sync-mode") == 0) {
			if (xmlStrcmp(v, BAD_CAST "dynamic") == 0)
				o->sync_mode = DMG_SYNC_DYNAMIC;
			else if (xmlStrcmp(v, BAD_CAST "fixed") == 0)
				o->sync_mode = DMG_SYNC_FIXED;
			else
				rc = -EINVAL;
			if (rc < 0)
				snprintf(msg, sizeof(msg),
					 "sync-mode='%.64s' must be 'dynamic' or 'fixed'",
					 (const char *)v);
		}
		xmlFree(v);
		if (rc < 0)
			return dmg_error_set(err, rc, "%s: %s", w, msg);
	}
	return 0;
}

/* The text of <parent><name>text</name></parent>, newly allocated or NULL. */
static char *
child_text(const xmlNode *parent, const char *name)
{
	const xmlNode *c = xmlutil_child(parent, name);
	xmlChar *t;
	char *s;

	if (!c)
		return NULL;
	t = xmlNodeGetContent(c);
	if (!t)
		return NULL;
	s = strdup((const char *)t);
	xmlFree(t);
	return s;
}

/* A pool or volume name as a libvirt 'logical' pool holds them (a volume
 * is an LV, named by lvm2's rules); checked before a daemon hands it to
 * libvirt or a log line. */
static int
pool_name_ok(const xmlChar *s)
{
	size_t i, n = s ? strlen((const char *)s) : 0;

	if (n == 0 || n >= DMG_POOLNAME_MAX || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum(s[i]) && !strchr("._+-", s[i]))
			return 0;
	return 1;
}

/* <source pool volume> of a type='volume' disk into d->pool, d->volume;
 * which LV that is, the daemons ask their own libvirt. */
static int
resolve_volume(const xmlNode *pd, const xmlNode *src, struct dmg_policy_disk *d,
	       struct dmg_error *err)
{
	xmlChar *pool = src ? xmlGetNoNsProp(src, BAD_CAST "pool") : NULL;
	xmlChar *vol = src ? xmlGetNoNsProp(src, BAD_CAST "volume") : NULL;
	int rc = 0;

	if (!pool_name_ok(pool) || !pool_name_ok(vol))
		rc = node_error(err, pd, "disk has no <source pool='...' volume='...'> of 1-127 characters of [A-Za-z0-9._+-] each");
	else if (!(d->pool = strdup((const char *)pool)) ||
		 !(d->volume = strdup((const char *)vol)))
		rc = dmg_error_set(err, -ENOMEM, "out of memory");
	xmlFree(pool);
	xmlFree(vol);
	return rc;
}

/* Finds the <devices><disk> whose <target dev> is target and checks that
 * drbdmig can put an overlay under it. */
static int
resolve_disk(const xmlNode *domain, const xmlNode *pd, struct dmg_policy_disk *d,
	     struct dmg_error *err)
{
	const xmlNode *disk = xmlutil_disk(domain, d->target), *src;
	xmlChar *type, *device, *path;
	char msg[256];
	int rc = 0, volume;

	if (!disk)
		return node_error(err, pd, "the domain has no <disk> with <target dev='...'> of that name");

	type = xmlGetNoNsProp(disk, BAD_CAST "type");
	device = xmlGetNoNsProp(disk, BAD_CAST "device");
	volume = type && xmlStrcmp(type, BAD_CAST "volume") == 0;
	if (!volume && (!type || xmlStrcmp(type, BAD_CAST "block") != 0)) {
		snprintf(msg, sizeof(msg), "disk is type='%.32s'; drbdmig migrates type='block' (an LVM LV) and type='volume' (a volume of a libvirt 'logical' pool) only",
			 type ? (const char *)type : "file");
		rc = node_error(err, pd, msg);
	} else if (device && xmlStrcmp(device, BAD_CAST "disk") != 0) {
		snprintf(msg, sizeof(msg), "disk is device='%.32s'; only device='disk' is supported",
			 (const char *)device);
		rc = node_error(err, pd, msg);
	} else if (xmlutil_child(disk, "shareable")) {
		rc = node_error(err, pd, "disk is <shareable/>; a shared disk cannot be moved under one guest");
	}
	xmlFree(type);
	xmlFree(device);
	if (rc < 0)
		return rc;

	src = xmlutil_child(disk, "source");
	if (volume)
		return resolve_volume(pd, src, d, err);
	path = src ? xmlGetNoNsProp(src, BAD_CAST "dev") : NULL;
	if (!path || path[0] != '/') {
		xmlFree(path);
		return node_error(err, pd, "disk has no <source dev='/absolute/path'>");
	}
	d->source = strdup((const char *)path);
	xmlFree(path);
	if (!d->source)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int
parse_disk(const xmlNode *domain, const xmlNode *pd, const struct disk_opts *defaults,
	   struct dmg_policy *p, struct dmg_error *err)
{
	static const char *const allowed[] = {
		"target", "resync-rate", "source-after", "sync-mode", NULL
	};
	struct disk_opts o = *defaults;
	struct dmg_policy_disk *d;
	xmlChar *target;
	size_t i, tl;
	int rc;

	target = xmlGetNoNsProp(pd, BAD_CAST "target");
	if (!target)
		return node_error(err, pd, "missing required attribute 'target' (the disk's <target dev>, e.g. vda)");
	tl = strlen((const char *)target);
	for (i = 0; i < tl; i++)
		if (!isalnum(target[i]) && !strchr("._-", target[i]))
			break;
	if (tl == 0 || tl >= DMG_TARGET_MAX || i < tl) {
		xmlFree(target);
		return node_error(err, pd, "attribute 'target' must be 1-31 characters of [A-Za-z0-9._-]");
	}
	for (i = 0; i < p->ndisks; i++)
		if (strcmp(p->disks[i].target, (const char *)target) == 0) {
			xmlFree(target);
			return node_error(err, pd, "disk target is listed twice");
		}

	d = &p->disks[p->ndisks];
	memset(d, 0, sizeof(*d));
	memcpy(d->target, target, tl + 1);
	xmlFree(target);
	rc = read_opts(pd, &o, allowed, err);
	if (rc < 0)
		return rc;
	if (pd->children) {
		const xmlNode *c;

		for (c = pd->children; c; c = c->next)
			if (c->type == XML_ELEMENT_NODE ||
			    (c->type == XML_TEXT_NODE && !only_blank(c->content)))
				return node_error(err, pd, "must be empty");
	}
	rc = resolve_disk(domain, pd, d, err);
	if (rc < 0)
		return rc;
	d->resync_rate_kib = o.rate;
	d->source_after = o.source_after;
	d->sync_mode = o.sync_mode;
	p->ndisks++;
	return 0;
}

static int
parse_policy_elem(const xmlNode *domain, const xmlNode *pe, struct dmg_policy *p,
		  struct dmg_error *err)
{
	static const char *const allowed[] = {
		"resync-rate", "source-after", "sync-mode", NULL
	};
	struct disk_opts defaults = {
		.rate = DMG_RATE_DEFAULT_KIB,
		.source_after = DMG_SOURCE_REMOVE,
		.sync_mode = DMG_SYNC_DYNAMIC,
	};
	const xmlNode *c;
	size_t n = 0;
	int rc;

	rc = read_opts(pe, &defaults, allowed, err);
	if (rc < 0)
		return rc;
	for (c = pe->children; c; c = c->next)
		n += c->type == XML_ELEMENT_NODE;
	if (n > DMG_POLICY_MAX_DISKS)
		return node_error(err, pe, "too many disks in the policy (at most 64)");
	p->disks = calloc(n ? n : 1, sizeof(*p->disks));
	if (!p->disks)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	for (c = pe->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE && !only_blank(c->content))
			return node_error(err, pe, "unexpected text inside the policy");
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!in_our_ns(c) || !xmlutil_is_elem(c, "disk")) {
			char msg[160];

			snprintf(msg, sizeof(msg), "unexpected element <%s%.64s>; only <drbdmig:disk> is allowed here",
				 in_our_ns(c) ? "drbdmig:" : "", (const char *)c->name);
			return node_error(err, pe, msg);
		}
		rc = parse_disk(domain, c, &defaults, p, err);
		if (rc < 0)
			return rc;
	}
	if (p->ndisks == 0)
		return node_error(err, pe, "the policy names no disk; add <drbdmig:disk target='vda'/>");
	return 0;
}

/* Finds the single drbdmig element in <metadata>; 0 with *pe NULL if none. */
static int
find_policy(const xmlNode *domain, const xmlNode **pe, struct dmg_error *err)
{
	const xmlNode *bad;

	switch (xmlutil_find_meta(domain, DMG_POLICY_NS, "policy", pe, &bad)) {
	case XMLUTIL_UNKNOWN:
		return node_error(err, bad, "unknown element in the drbdmig namespace; expected <drbdmig:policy>");
	case XMLUTIL_SECOND:
		return node_error(err, bad, "more than one <drbdmig:policy> in <metadata>");
	case XMLUTIL_FOUND:
		break;
	}
	return 0;
}

static int
parse_doc(xmlDoc *doc, struct dmg_policy **out, struct dmg_error *err)
{
	const xmlNode *root = xmlDocGetRootElement(doc), *pe;
	struct dmg_policy *p;
	char *uuid;
	int rc;

	if (doc->intSubset || doc->extSubset)
		return dmg_error_set(err, -EINVAL, "domain XML must not contain a DOCTYPE");
	if (!root || !xmlutil_is_elem(root, "domain") || root->ns)
		return dmg_error_set(err, -EINVAL, "not a domain XML: the root element must be <domain>");
	rc = find_policy(root, &pe, err);
	if (rc < 0 || !pe)
		return rc;

	p = calloc(1, sizeof(*p));
	if (!p)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	p->domain = child_text(root, "name");
	if (!p->domain || !p->domain[0]) {
		rc = dmg_error_set(err, -EINVAL, "domain XML has no <name>");
		goto fail;
	}
	uuid = child_text(root, "uuid");
	if (uuid && strlen(uuid) < sizeof(p->uuid))
		memcpy(p->uuid, uuid, strlen(uuid) + 1);
	free(uuid);
	rc = parse_policy_elem(root, pe, p, err);
	if (rc < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	dmg_policy_free(p);
	return rc;
}

int
dmg_policy_parse(const char *xml, size_t len, struct dmg_policy **out,
		 struct dmg_error *err)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	int rc;

	*out = NULL;
	rc = xmlutil_read(xml, len, &ctxt, &doc, err);
	if (rc < 0)
		return rc;
	rc = parse_doc(doc, out, err);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}
