#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/endpoint.h"
#include "libvirt/policy.h"
#include "libvirt/virt.h"

struct dmg_virt {
	char *uri;                  /* NULL: libvirt's default */
	void (*cb)(const struct dmg_virt_event *ev, void *arg);
	void *arg;
	struct dmg_log *log;
	pthread_t thread;
	int tick;                   /* timer: connect / liveness check */
	int wake;                   /* timer, armed only to wake the loop */

	/* Event thread only (and dmg_virt_new before the thread starts). */
	int due;                    /* the tick fired: check the connection */
	int down_logged;            /* "unreachable" said once until connected */

	pthread_mutex_t lock;       /* guards the fields below */
	virConnectPtr conn;         /* NULL while disconnected; written only by
				       the event thread (or before it starts) */
	int cb_id;                  /* lifecycle callback on conn */
	int lost;                   /* the close callback fired */
	int lost_reason;
	int stop;
};

/* libvirt's event loop implementation is process-global by libvirt's design:
 * registered once per process and run by one thread.  So this module keeps
 * two process-wide facts: the one-time initialisation, and which dmg_virt
 * owns the loop. */
static pthread_once_t virt_once = PTHREAD_ONCE_INIT;
static int virt_init_rc;
static pthread_mutex_t virt_owner_lock = PTHREAD_MUTEX_INITIALIZER;
static int virt_owner;

/* libvirt's default error handler prints every error on stderr; ours are
 * read with virGetLastError() and reported once through struct dmg_error. */
static void
virt_quiet(void *opaque, virErrorPtr e)
{
}

static void
virt_init_once(void)
{
	xmlInitParser();
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		virt_init_rc = -EIO;
		return;
	}
	virSetErrorFunc(NULL, virt_quiet);
}

static const char *
virt_errmsg(void)
{
	const virError *e = virGetLastError();

	return e && e->message ? e->message : "unknown libvirt error";
}

static const char *
uri_name(const struct dmg_virt *v)
{
	return v->uri ? v->uri : "(default)";
}

/* ---- event names ---------------------------------------------------------- */

static const char *const ev_defined[] = {
	"defined/added", "defined/updated", "defined/renamed", "defined/from-snapshot",
};
static const char *const ev_undefined[] = { "undefined/removed", "undefined/renamed" };
static const char *const ev_started[] = {
	"started/booted", "started/migrated", "started/restored", "started/from-snapshot",
	"started/wakeup",
};
static const char *const ev_suspended[] = {
	"suspended/paused", "suspended/migrated", "suspended/ioerror", "suspended/watchdog",
	"suspended/restored", "suspended/from-snapshot", "suspended/api-error",
	"suspended/postcopy", "suspended/postcopy-failed",
};
static const char *const ev_resumed[] = {
	"resumed/unpaused", "resumed/migrated", "resumed/from-snapshot", "resumed/postcopy",
	"resumed/postcopy-failed",
};
static const char *const ev_stopped[] = {
	"stopped/shutdown", "stopped/destroyed", "stopped/crashed", "stopped/migrated",
	"stopped/saved", "stopped/failed", "stopped/from-snapshot",
};
static const char *const ev_shutdown[] = { "shutdown/finished", "shutdown/guest", "shutdown/host" };
static const char *const ev_pmsuspended[] = { "pmsuspended/memory", "pmsuspended/disk" };
static const char *const ev_crashed[] = { "crashed/panicked", "crashed/crashloaded" };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
static const struct {
	const char *const *names;
	size_t n;
	const char *other;          /* a detail newer than this table */
} ev_table[] = {
	[VIR_DOMAIN_EVENT_DEFINED] = { ev_defined, N_OF(ev_defined), "defined/other" },
	[VIR_DOMAIN_EVENT_UNDEFINED] = { ev_undefined, N_OF(ev_undefined), "undefined/other" },
	[VIR_DOMAIN_EVENT_STARTED] = { ev_started, N_OF(ev_started), "started/other" },
	[VIR_DOMAIN_EVENT_SUSPENDED] = { ev_suspended, N_OF(ev_suspended), "suspended/other" },
	[VIR_DOMAIN_EVENT_RESUMED] = { ev_resumed, N_OF(ev_resumed), "resumed/other" },
	[VIR_DOMAIN_EVENT_STOPPED] = { ev_stopped, N_OF(ev_stopped), "stopped/other" },
	[VIR_DOMAIN_EVENT_SHUTDOWN] = { ev_shutdown, N_OF(ev_shutdown), "shutdown/other" },
	[VIR_DOMAIN_EVENT_PMSUSPENDED] = { ev_pmsuspended, N_OF(ev_pmsuspended), "pmsuspended/other" },
	[VIR_DOMAIN_EVENT_CRASHED] = { ev_crashed, N_OF(ev_crashed), "crashed/other" },
};

const char *
dmg_virt_event_str(int event, int detail)
{
	if (event == DMG_VIRT_EV_RECONNECTED)
		return "reconnected";
	if (event < 0 || (size_t)event >= N_OF(ev_table))
		return "unknown/unknown";
	if (detail < 0 || (size_t)detail >= ev_table[event].n)
		return ev_table[event].other;
	return ev_table[event].names[detail];
}

const char *
dmg_virt_state_str(enum dmg_virt_state st)
{
	switch (st) {
	case DMG_VIRT_ABSENT: return "absent";
	case DMG_VIRT_RUNNING: return "running";
	case DMG_VIRT_PAUSED: return "paused";
	case DMG_VIRT_SHUTOFF: return "shut off";
	default: return "other";
	}
}

/* ---- the connection, owned by the event thread ---------------------------- */

static int
virt_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct dmg_virt *v = opaque;
	struct dmg_virt_event ev;
	const char *name;

	memset(&ev, 0, sizeof(ev));
	ev.event = event;
	ev.detail = detail;
	if (virDomainGetUUIDString(dom, ev.uuid) < 0)
		ev.uuid[0] = '\0';
	name = virDomainGetName(dom);
	snprintf(ev.name, sizeof(ev.name), "%s", name ? name : "");
	/* Not logged here: the daemon logs the events of its sessions only, so
	 * the log never mentions guests drbdmig does not manage. */
	if (v->cb)
		v->cb(&ev, v->arg);
	return 0;
}

/* May run on any thread that notices the connection died (an RPC caller
 * too), so it only records the fact and wakes the event thread. */
static void
virt_closed(virConnectPtr conn, int reason, void *opaque)
{
	struct dmg_virt *v = opaque;

	pthread_mutex_lock(&v->lock);
	v->lost = 1;
	v->lost_reason = reason;
	pthread_mutex_unlock(&v->lock);
	virEventUpdateTimeout(v->wake, 0);
}

static void
virt_tick(int timer, void *opaque)
{
	struct dmg_virt *v = opaque;

	v->due = 1;
}

static void
virt_wake(int timer, void *opaque)
{
	virEventUpdateTimeout(timer, -1);
}

static const char *
close_reason(int reason)
{
	switch (reason) {
	case VIR_CONNECT_CLOSE_REASON_ERROR: return "I/O error";
	case VIR_CONNECT_CLOSE_REASON_EOF: return "closed by libvirtd";
	case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: return "keepalive timeout";
	case VIR_CONNECT_CLOSE_REASON_CLIENT: return "closed";
	default: return "connection dead";
	}
}

/* Event thread: forgets the connection.  Callers still holding a reference
 * keep the object alive; their calls fail cleanly. */
static void
virt_drop(struct dmg_virt *v, const char *why)
{
	virConnectPtr c = v->conn;
	int id = v->cb_id;

	if (!c)
		return;
	pthread_mutex_lock(&v->lock);
	v->conn = NULL;
	v->cb_id = -1;
	pthread_mutex_unlock(&v->lock);
	/* On a dead connection these fail remotely but still unhook locally. */
	if (id >= 0)
		virConnectDomainEventDeregisterAny(c, id);
	virConnectUnregisterCloseCallback(c, virt_closed);
	virConnectClose(c);
	if (why) {
		dmg_warn(v->log, "libvirt: connection to %s lost (%s); reconnecting every %d s",
			 uri_name(v), why, DMG_VIRT_RETRY_SECONDS);
		v->down_logged = 1;
	}
}

/* Opens a connection with keepalive, close callback and the lifecycle
 * callback; 0 when connected. */
static int
virt_connect(struct dmg_virt *v)
{
	virConnectPtr c;
	int id;

	dmg_debug(v->log, "libvirt: connecting to %s", uri_name(v));
	c = virConnectOpen(v->uri);
	if (!c) {
		if (!v->down_logged)
			dmg_warn(v->log, "libvirt: cannot connect to %s: %s; retrying every %d s",
				 uri_name(v), virt_errmsg(), DMG_VIRT_RETRY_SECONDS);
		v->down_logged = 1;
		return -ENOTCONN;
	}
	/* Only the remote driver knows keepalive and close events; a local
	 * driver (test:///) refuses them, which is fine. */
	if (virConnectSetKeepAlive(c, 5, 3) < 0)
		dmg_debug(v->log, "libvirt: no keepalive: %s", virt_errmsg());
	if (virConnectRegisterCloseCallback(c, virt_closed, v, NULL) < 0)
		dmg_debug(v->log, "libvirt: no close callback: %s", virt_errmsg());
	id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(virt_lifecycle), v, NULL);
	if (id < 0) {
		if (!v->down_logged)
			dmg_warn(v->log, "libvirt: cannot register for events on %s: %s; retrying every %d s",
				 uri_name(v), virt_errmsg(), DMG_VIRT_RETRY_SECONDS);
		v->down_logged = 1;
		virConnectUnregisterCloseCallback(c, virt_closed);
		virConnectClose(c);
		return -ENOTCONN;
	}
	pthread_mutex_lock(&v->lock);
	v->conn = c;
	v->cb_id = id;
	v->lost = 0;
	pthread_mutex_unlock(&v->lock);
	v->down_logged = 0;
	dmg_info(v->log, "libvirt: connected to %s", uri_name(v));
	return 0;
}

static void
virt_reconnected(struct dmg_virt *v)
{
	struct dmg_virt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.event = DMG_VIRT_EV_RECONNECTED;
	if (v->cb)
		v->cb(&ev, v->arg);
}

/* Every tick: connect when down, and notice a dead connection even if no
 * close event came (e.g. a driver without one). */
static void
virt_check(struct dmg_virt *v)
{
	if (v->conn && virConnectIsAlive(v->conn) != 1)
		virt_drop(v, "connection dead");
	if (!v->conn && virt_connect(v) == 0)
		virt_reconnected(v);
}

static void *
virt_thread(void *opaque)
{
	struct dmg_virt *v = opaque;
	int stop, lost, reason;

	for (;;) {
		pthread_mutex_lock(&v->lock);
		stop = v->stop;
		lost = v->lost;
		reason = v->lost_reason;
		v->lost = 0;
		pthread_mutex_unlock(&v->lock);
		if (stop)
			break;
		if (lost)
			virt_drop(v, close_reason(reason));
		if (v->due) {
			v->due = 0;
			virt_check(v);
		}
		if (virEventRunDefaultImpl() < 0)
			dmg_err(v->log, "libvirt: event loop: %s", virt_errmsg());
	}
	virt_drop(v, NULL);
	return NULL;
}

/* ---- life cycle of the module --------------------------------------------- */

static int
virt_claim_loop(void)
{
	int busy;

	pthread_mutex_lock(&virt_owner_lock);
	busy = virt_owner;
	virt_owner = 1;
	pthread_mutex_unlock(&virt_owner_lock);
	return busy ? -EBUSY : 0;
}

static void
virt_release_loop(void)
{
	pthread_mutex_lock(&virt_owner_lock);
	virt_owner = 0;
	pthread_mutex_unlock(&virt_owner_lock);
}

/* Frees what dmg_virt_new built, in reverse; the thread is not running. */
static void
virt_destroy(struct dmg_virt *v)
{
	virt_drop(v, NULL);
	if (v->tick >= 0)
		virEventRemoveTimeout(v->tick);
	if (v->wake >= 0)
		virEventRemoveTimeout(v->wake);
	pthread_mutex_destroy(&v->lock);
	free(v->uri);
	free(v);
	virt_release_loop();
}

int
dmg_virt_new(const char *uri,
	     void (*cb)(const struct dmg_virt_event *ev, void *arg), void *arg,
	     struct dmg_log *log, struct dmg_virt **out, struct dmg_error *err)
{
	struct dmg_virt *v;
	int rc;

	*out = NULL;
	pthread_once(&virt_once, virt_init_once);
	if (virt_init_rc < 0)
		return dmg_error_set(err, virt_init_rc, "libvirt: cannot set up the event loop: %s",
				     virt_errmsg());
	if (virt_claim_loop() < 0)
		return dmg_error_set(err, -EBUSY,
				     "libvirt: another connection module runs the event loop in this process");
	v = calloc(1, sizeof(*v));
	if (!v) {
		virt_release_loop();
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	v->cb = cb;
	v->arg = arg;
	v->log = log;
	v->cb_id = -1;
	v->tick = v->wake = -1;
	pthread_mutex_init(&v->lock, NULL);
	if (uri && !(v->uri = strdup(uri))) {
		virt_destroy(v);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	v->tick = virEventAddTimeout(DMG_VIRT_RETRY_SECONDS * 1000, virt_tick, v, NULL);
	v->wake = virEventAddTimeout(-1, virt_wake, v, NULL);
	if (v->tick < 0 || v->wake < 0) {
		rc = dmg_error_set(err, -EIO, "libvirt: cannot add event loop timers: %s",
				   virt_errmsg());
		virt_destroy(v);
		return rc;
	}
	virt_connect(v);            /* failure is fine: the thread retries */
	rc = pthread_create(&v->thread, NULL, virt_thread, v);
	if (rc) {
		virt_destroy(v);
		return dmg_error_sys(err, -rc, "libvirt: cannot start the event thread");
	}
	*out = v;
	return 0;
}

void
dmg_virt_free(struct dmg_virt *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	v->stop = 1;
	pthread_mutex_unlock(&v->lock);
	virEventUpdateTimeout(v->wake, 0);
	pthread_join(v->thread, NULL);
	virt_destroy(v);
}

/* ---- calls from any thread ------------------------------------------------- */

/* A reference to the current connection (virConnectClose() it), or NULL. */
static virConnectPtr
virt_ref(struct dmg_virt *v)
{
	virConnectPtr c;

	pthread_mutex_lock(&v->lock);
	c = v->conn;
	if (c && virConnectRef(c) < 0)
		c = NULL;
	pthread_mutex_unlock(&v->lock);
	return c;
}

int
dmg_virt_connected(struct dmg_virt *v)
{
	int up;

	pthread_mutex_lock(&v->lock);
	up = v->conn != NULL && !v->lost;
	pthread_mutex_unlock(&v->lock);
	return up;
}

static int
not_connected(struct dmg_virt *v, struct dmg_error *err)
{
	return dmg_error_set(err, -ENOTCONN, "libvirt: not connected to %s", uri_name(v));
}

/* A failed call: -ENOTCONN when the connection died under it, else -EIO. */
static int
call_failed(virConnectPtr c, struct dmg_error *err, const char *what, const char *dom)
{
	int code = virConnectIsAlive(c) == 1 ? -EIO : -ENOTCONN;

	return dmg_error_set(err, code, "libvirt: %s %s: %s", what, dom, virt_errmsg());
}

static int
looks_like_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != VIR_UUID_STRING_BUFLEN - 1)
		return 0;
	for (i = 0; s[i]; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return 0;
	}
	return 1;
}

/* The domain by UUID (when it looks like one), else by name.  NULL with
 * libvirt's error set (VIR_ERR_NO_DOMAIN when there is none). */
static virDomainPtr
lookup(virConnectPtr c, const char *id)
{
	virDomainPtr d = NULL;

	if (looks_like_uuid(id))
		d = virDomainLookupByUUIDString(c, id);
	if (!d)
		d = virDomainLookupByName(c, id);
	return d;
}

static enum dmg_virt_state
map_state(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		return DMG_VIRT_RUNNING;
	case VIR_DOMAIN_PAUSED:
		return DMG_VIRT_PAUSED;
	case VIR_DOMAIN_SHUTOFF:
		return DMG_VIRT_SHUTOFF;
	default:
		return DMG_VIRT_OTHER;
	}
}

static int
domain_state(virConnectPtr c, const char *id, enum dmg_virt_state *st, int *reason,
	     char uuid_out[VIR_UUID_STRING_BUFLEN], struct dmg_error *err)
{
	virDomainPtr d;
	int state, why, rc = 0;

	d = lookup(c, id);
	if (!d) {
		if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN)
			return call_failed(c, err, "cannot look up domain", id);
		*st = DMG_VIRT_ABSENT;
		return 0;
	}
	if (virDomainGetState(d, &state, &why, 0) < 0) {
		/* A transient domain may vanish between lookup and query. */
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			*st = DMG_VIRT_ABSENT;
		else
			rc = call_failed(c, err, "cannot get the state of domain", id);
		virDomainFree(d);
		return rc;
	}
	*st = map_state(state);
	if (reason)
		*reason = why;
	if (virDomainGetUUIDString(d, uuid_out) < 0)
		uuid_out[0] = '\0';
	virDomainFree(d);
	return 0;
}

int
dmg_virt_state(struct dmg_virt *v, const char *uuid_or_name, enum dmg_virt_state *st,
	       int *reason, char uuid_out[VIR_UUID_STRING_BUFLEN], struct dmg_error *err)
{
	virConnectPtr c;
	int rc;

	*st = DMG_VIRT_ABSENT;
	if (reason)
		*reason = 0;
	uuid_out[0] = '\0';
	c = virt_ref(v);
	if (!c)
		return not_connected(v, err);
	rc = domain_state(c, uuid_or_name, st, reason, uuid_out, err);
	virConnectClose(c);
	return rc;
}

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

	d = lookup(c, id);
	if (!d) {
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			return dmg_error_set(err, -ENOENT, "libvirt: no domain %s", id);
		return call_failed(c, err, "cannot look up domain", id);
	}
	if (virDomainIsActive(d) != 1)
		rc = dmg_error_set(err, -ESRCH, "libvirt: domain %s is not running", id);
	else if (virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, elem,
				      DMG_VIRT_STAMP_PREFIX, DMG_VIRT_STAMP_NS,
				      VIR_DOMAIN_AFFECT_LIVE) < 0)
		rc = call_failed(c, err, "cannot stamp the live metadata of domain", id);
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
		return not_connected(v, err);
	rc = set_stamp(c, uuid, elem, err);
	virConnectClose(c);
	if (rc == 0)
		dmg_info(v->log, "libvirt: stamped domain %s with host=%s addr=%s port=%u",
			 uuid, hostname, addr, port);
	return rc;
}

static int
is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static int
in_stamp_ns(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       xmlStrcmp(n->ns->href, BAD_CAST DMG_VIRT_STAMP_NS) == 0;
}

/* The one stamp element among /domain/metadata's children, or an error. */
static int
find_stamp(const xmlNode *root, const xmlNode **out, struct dmg_error *err)
{
	const xmlNode *md, *n;

	*out = NULL;
	for (md = root->children; md; md = md->next) {
		if (!is_elem(md, "metadata") || md->ns)
			continue;
		for (n = md->children; n; n = n->next) {
			if (!in_stamp_ns(n))
				continue;
			if (!is_elem(n, DMG_VIRT_STAMP_ELEM))
				return dmg_error_set(err, -EINVAL,
						     "line %ld: unknown element <%s> in %s",
						     xmlGetLineNo(n), (const char *)n->name,
						     DMG_VIRT_STAMP_NS);
			if (*out)
				return dmg_error_set(err, -EINVAL,
						     "line %ld: a second <%s> stamp",
						     xmlGetLineNo(n), DMG_VIRT_STAMP_ELEM);
			*out = n;
		}
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

	if (!root || !is_elem(root, "domain") || root->ns)
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

	if (len > DMG_XML_MAX)
		return dmg_error_set(err, -EFBIG, "domain XML is larger than %u MiB",
				     DMG_XML_MAX >> 20);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	/* As for the policy: no network, no entities, no DTD, libxml2's depth
	 * limit in force (no XML_PARSE_HUGE). */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		rc = dmg_error_set(err, -EINVAL, "malformed domain XML (line %d): %.200s",
				   e ? e->line : 0, e && e->message ? e->message : "parse error");
		xmlFreeParserCtxt(ctxt);
		return rc;
	}
	rc = stamp_from_doc(doc, host, hl, addr, al, port, err);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/* ---- annotated domains ------------------------------------------------------ */

/* 1 if the active domain carries the policy element, 0 if not (or it left),
 * negative on a real failure. */
static int
has_policy(virConnectPtr c, virDomainPtr d, struct dmg_error *err)
{
	char *md = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, DMG_POLICY_NS,
					VIR_DOMAIN_AFFECT_LIVE);

	if (md) {
		free(md);
		return 1;
	}
	switch (virGetLastErrorCode()) {
	case VIR_ERR_NO_DOMAIN_METADATA:
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_OPERATION_INVALID:     /* stopped since the listing */
		return 0;
	default:
		return call_failed(c, err, "cannot read the metadata of domain",
				   virDomainGetName(d));
	}
}

static int
walk_domains(virConnectPtr c, virDomainPtr *doms, int n,
	     int (*fn)(const char *uuid, const char *name, void *arg), void *arg,
	     struct dmg_error *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	int i, rc, count = 0;

	for (i = 0; i < n; i++) {
		rc = has_policy(c, doms[i], err);
		if (rc < 0)
			return rc;
		if (rc == 0 || virDomainGetUUIDString(doms[i], uuid) < 0)
			continue;
		rc = fn(uuid, virDomainGetName(doms[i]), arg);
		if (rc < 0)
			return dmg_error_set(err, rc, "annotated domains: stopped at %s", uuid);
		count++;
	}
	return count;
}

int
dmg_virt_each_annotated(struct dmg_virt *v,
			int (*fn)(const char *uuid, const char *name, void *arg),
			void *arg, struct dmg_error *err)
{
	virDomainPtr *doms = NULL;
	virConnectPtr c;
	int n, i, rc;

	c = virt_ref(v);
	if (!c)
		return not_connected(v, err);
	n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		rc = call_failed(c, err, "cannot list the domains of", uri_name(v));
		virConnectClose(c);
		return rc;
	}
	rc = walk_domains(c, doms, n, fn, arg, err);
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	virConnectClose(c);
	return rc;
}

/* One job call handed to a thread; two references (caller, thread), the
 * last one out frees it. */
struct job_call {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs, finished, rc, active, abort_it;
	virConnectPtr c;
	char uuid[VIR_UUID_STRING_BUFLEN + 256];
	char msg[DMG_ERROR_MAX];
};

static void
job_call_put(struct job_call *jc)
{
	int last;

	pthread_mutex_lock(&jc->mu);
	last = --jc->refs == 0;
	pthread_mutex_unlock(&jc->mu);
	if (!last)
		return;
	virConnectClose(jc->c);
	pthread_cond_destroy(&jc->cv);
	pthread_mutex_destroy(&jc->mu);
	free(jc);
}

static void *
job_call_run(void *arg)
{
	struct job_call *jc = arg;
	virDomainJobInfo info;
	virDomainPtr d;
	int rc = 0, active = 0;

	d = lookup(jc->c, jc->uuid);
	if (d) {
		if (jc->abort_it)
			virDomainAbortJob(d);   /* "no job" is fine: the state tells */
		if (virDomainGetJobInfo(d, &info) < 0)
			rc = -EIO;
		else
			active = info.type != VIR_DOMAIN_JOB_NONE;
		virDomainFree(d);
	}
	pthread_mutex_lock(&jc->mu);
	jc->rc = rc;
	jc->active = active;
	if (rc < 0)
		snprintf(jc->msg, sizeof(jc->msg), "%s", virt_errmsg());
	jc->finished = 1;
	pthread_cond_signal(&jc->cv);
	pthread_mutex_unlock(&jc->mu);
	job_call_put(jc);
	return NULL;
}

int
dmg_virt_job_bounded(struct dmg_virt *v, const char *uuid, int abort_it, int timeout_ms,
		     int *active, struct dmg_error *err)
{
	struct job_call *jc;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	struct timespec ts;
	pthread_t t;
	int rc;

	*active = 0;
	jc = calloc(1, sizeof(*jc));
	if (!jc)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	jc->c = virt_ref(v);
	if (!jc->c) {
		free(jc);
		return not_connected(v, err);
	}
	snprintf(jc->uuid, sizeof(jc->uuid), "%s", uuid);
	jc->abort_it = abort_it;
	jc->refs = 2;
	pthread_mutex_init(&jc->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&jc->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &ta, job_call_run, jc);
	pthread_attr_destroy(&ta);
	if (rc) {
		jc->refs = 1;
		job_call_put(jc);
		return dmg_error_set(err, -rc, "cannot start a thread for a libvirt call");
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&jc->mu);
	while (!jc->finished && pthread_cond_timedwait(&jc->cv, &jc->mu, &ts) == 0)
		;
	if (!jc->finished)
		rc = dmg_error_set(err, -ETIMEDOUT, "libvirt: no answer about the job of %s within %d ms (QEMU busy)",
				   uuid, timeout_ms);
	else if (jc->rc < 0)
		rc = dmg_error_set(err, -EIO, "libvirt: job info of %s: %s", uuid, jc->msg);
	else
		*active = jc->active;
	pthread_mutex_unlock(&jc->mu);
	job_call_put(jc);
	return rc;
}

int
dmg_virt_live_xml(struct dmg_virt *v, const char *uuid, char **xml, size_t *len,
		  struct dmg_error *err)
{
	virConnectPtr c;
	virDomainPtr d;
	int rc = 0;

	*xml = NULL;
	*len = 0;
	c = virt_ref(v);
	if (!c)
		return not_connected(v, err);
	d = lookup(c, uuid);
	if (!d || virDomainIsActive(d) != 1) {
		rc = dmg_error_set(err, -ESRCH, "domain %s is not active on this host", uuid);
	} else {
		/* No flags: the live definition, without secrets. */
		*xml = virDomainGetXMLDesc(d, 0);
		if (!*xml)
			rc = dmg_error_set(err, -EIO, "libvirt: XML of %s: %s", uuid, virt_errmsg());
		else
			*len = strlen(*xml);
	}
	if (d)
		virDomainFree(d);
	virConnectClose(c);
	return rc;
}

int
dmg_virt_destroy(struct dmg_virt *v, const char *uuid, struct dmg_error *err)
{
	virConnectPtr c;
	virDomainPtr d;
	int rc = 0;

	c = virt_ref(v);
	if (!c)
		return not_connected(v, err);
	d = lookup(c, uuid);
	if (d) {
		if (virDomainDestroy(d) < 0)
			rc = dmg_error_set(err, -EIO, "libvirt: destroy %s: %s", uuid, virt_errmsg());
		virDomainFree(d);
	}
	virConnectClose(c);
	return rc;
}

/* The value of a "Key:\tvalue" line of /proc/PID/status, or NULL. */
static const char *
status_value(const char *status, const char *key)
{
	size_t klen = strlen(key);
	const char *p;

	for (p = status; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) != 0 || p[klen] != ':')
			continue;
		p += klen + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		return p;
	}
	return NULL;
}

/* A hex signal mask line ("SigPnd:\t0000000000000100") holds SIGKILL. */
static int
status_has_kill(const char *status, const char *key)
{
	const char *v = status_value(status, key);
	unsigned long long m;
	char *end;

	if (!v)
		return 0;
	errno = 0;
	m = strtoull(v, &end, 16);
	if (end == v || errno != 0 || (*end != '\n' && *end != '\0'))
		return 0;
	return (m & (1ULL << (9 - 1))) != 0;   /* bit 9: SIGKILL */
}

int
dmg_proc_status_dying(const char *status)
{
	const char *st = status ? status_value(status, "State") : NULL;

	if (st && (*st == 'Z' || *st == 'X'))
		return 1;
	return status && (status_has_kill(status, "SigPnd") || status_has_kill(status, "ShdPnd"));
}

int
dmg_virt_qemu_exited(struct dmg_virt *v, const char *name)
{
	char path[512], buf[4096];
	size_t n;
	long pid;
	FILE *f;
	int k;

	if (v->uri && strcmp(v->uri, "qemu:///system") != 0)
		return 0;
	if (!name || !*name || strchr(name, '/') ||
	    snprintf(path, sizeof(path), "/run/libvirt/qemu/%s.pid", name) >= (int)sizeof(path))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	k = fscanf(f, "%ld", &pid);
	fclose(f);
	if (k != 1 || pid <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT;   /* gone already */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return dmg_proc_status_dying(buf);
}
