/* PRIVATE to plugin/libvirt/virt.c, domain.c, pool.c and stamp.c: the module's state
 * and the helpers its files share.  Everyone else uses libvirt/virt.h. */
#ifndef DMG_VIRT_INT_H
#define DMG_VIRT_INT_H

#include <pthread.h>

#include <libvirt/libvirt.h>

#include "core/error.h"
#include "core/log.h"
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

/* libvirt's last error message; never NULL. */
const char *virt_errmsg(void);
/* v's URI for messages, "(default)" for libvirt's default. */
const char *virt_uri_name(const struct dmg_virt *v);

/* A reference to the current connection (virConnectClose() it), or NULL. */
virConnectPtr virt_ref(struct dmg_virt *v);
/* -ENOTCONN, "not connected to <uri>". */
int virt_not_connected(struct dmg_virt *v, struct dmg_error *err);
/* A failed call: -ENOTCONN when the connection died under it, else -EIO. */
int virt_call_failed(virConnectPtr c, struct dmg_error *err, const char *what, const char *dom);

/* The domain by UUID (when it looks like one), else by name.  NULL with
 * libvirt's error set (VIR_ERR_NO_DOMAIN when there is none). */
virDomainPtr virt_lookup(virConnectPtr c, const char *id);

#endif
