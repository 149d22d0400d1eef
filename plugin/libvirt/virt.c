/* drbdmigd's libvirt connection: the event thread running libvirt's event
 * loop, lifecycle events, reconnecting, dmg_virt_new/free.  The domain calls
 * are in domain.c, the source stamp in stamp.c; shared parts in virt_int.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "libvirt/virt_int.h"

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

const char *
virt_errmsg(void)
{
	const virError *e = virGetLastError();

	return e && e->message ? e->message : "unknown libvirt error";
}

const char *
virt_uri_name(const struct dmg_virt *v)
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
			 virt_uri_name(v), why, DMG_VIRT_RETRY_SECONDS);
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

	dmg_debug(v->log, "libvirt: connecting to %s", virt_uri_name(v));
	c = virConnectOpen(v->uri);
	if (!c) {
		if (!v->down_logged)
			dmg_warn(v->log, "libvirt: cannot connect to %s: %s; retrying every %d s",
				 virt_uri_name(v), virt_errmsg(), DMG_VIRT_RETRY_SECONDS);
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
				 virt_uri_name(v), virt_errmsg(), DMG_VIRT_RETRY_SECONDS);
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
	dmg_info(v->log, "libvirt: connected to %s", virt_uri_name(v));
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
virConnectPtr
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

int
virt_not_connected(struct dmg_virt *v, struct dmg_error *err)
{
	return dmg_error_set(err, -ENOTCONN, "libvirt: not connected to %s", virt_uri_name(v));
}

/* A failed call: -ENOTCONN when the connection died under it, else -EIO. */
int
virt_call_failed(virConnectPtr c, struct dmg_error *err, const char *what, const char *dom)
{
	int code = virConnectIsAlive(c) == 1 ? -EIO : -ENOTCONN;

	return dmg_error_set(err, code, "libvirt: %s %s: %s", what, dom, virt_errmsg());
}
