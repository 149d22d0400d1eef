/* drbdmigd's own libvirt connection: domain lifecycle events on a thread of
 * the module's own, a connection that survives libvirtd restarts, domain
 * state queries, and the "source stamp" -- this host's drbdmig endpoint
 * written into a running domain's live <metadata>, so that the destination's
 * `migrate begin` hook finds the source host in the XML it receives.
 *
 * Threading: one event thread per struct dmg_virt runs libvirt's default
 * event loop (process-global by libvirt's design, so at most one struct
 * dmg_virt may exist in a process at a time; a second dmg_virt_new() fails
 * with -EBUSY).  Every other function may be called from any thread while
 * the event thread runs; each call works on its own reference to the
 * current connection, so a reconnect never pulls it away underneath. */
#ifndef DMG_VIRT_H
#define DMG_VIRT_H

#include <stddef.h>

#include <libvirt/libvirt.h>

#include "core/error.h"
#include "core/log.h"

/* The stamp: <drbdmig-host xmlns="urn:drbdmig:host:1" host="hostA"
 * addr="10.77.0.1" port="7780"/> in the live <metadata>.  Its own namespace,
 * so it never touches the admin's urn:drbdmig:1 policy element, and libvirt
 * keeps it out of the persistent configuration. */
#define DMG_VIRT_STAMP_NS     "urn:drbdmig:host:1"
#define DMG_VIRT_STAMP_ELEM   "drbdmig-host"
#define DMG_VIRT_STAMP_PREFIX "dmghost"   /* prefix libvirt writes; parsing ignores it */
#define DMG_VIRT_HOST_MAX     254         /* host name incl. NUL (DNS limit 253) */
#define DMG_VIRT_ADDR_MAX     254         /* address or host name incl. NUL */

/* Seconds between connection attempts while libvirtd is unreachable. */
#define DMG_VIRT_RETRY_SECONDS 2

/* Not a virDomainEventType: the connection was (re)established after being
 * down.  uuid and name are empty; the receiver should re-check whatever it
 * watches, since events may have been missed meanwhile. */
#define DMG_VIRT_EV_RECONNECTED (-1)

enum dmg_virt_state {
	DMG_VIRT_ABSENT,            /* no such domain (e.g. a transient one that left) */
	DMG_VIRT_RUNNING,           /* running or blocked */
	DMG_VIRT_PAUSED,
	DMG_VIRT_SHUTOFF,           /* defined but not running */
	DMG_VIRT_OTHER,             /* shutting down, crashed, pm-suspended, ... */
};

struct dmg_virt_event {
	char uuid[VIR_UUID_STRING_BUFLEN];
	char name[256];
	int event;                  /* virDomainEventType or DMG_VIRT_EV_RECONNECTED */
	int detail;                 /* its virDomainEvent*DetailType, 0 for RECONNECTED */
};

struct dmg_virt;

/* Opens uri (NULL = libvirt's default) and starts the event thread.  Fails
 * only on local problems (memory, threads, a second instance); when libvirtd
 * is down the connection is retried every DMG_VIRT_RETRY_SECONDS, and each
 * connection made after dmg_virt_new() returned is announced by one
 * DMG_VIRT_EV_RECONNECTED event.  log must outlive the module.
 *
 * cb runs on the module's event thread: it must not block (queue the work),
 * and must not call dmg_virt_free(). */
int dmg_virt_new(const char *uri,
		 void (*cb)(const struct dmg_virt_event *ev, void *arg), void *arg,
		 struct dmg_log *log, struct dmg_virt **out, struct dmg_error *err);

/* Stops and joins the event thread, closes the connection.  NULL is fine. */
void dmg_virt_free(struct dmg_virt *v);

/* 1 while a connection is open, else 0. */
int dmg_virt_connected(struct dmg_virt *v);

/* State of the domain with that UUID or name.  A missing domain is not an
 * error (*st = DMG_VIRT_ABSENT, uuid_out "").  reason (may be NULL) gets the
 * libvirt state reason, e.g. VIR_DOMAIN_SHUTOFF_MIGRATED.  -ENOTCONN while
 * disconnected.  uuid_out must not alias uuid_or_name. */
int dmg_virt_state(struct dmg_virt *v, const char *uuid_or_name,
		   enum dmg_virt_state *st, int *reason,
		   char uuid_out[VIR_UUID_STRING_BUFLEN], struct dmg_error *err);

/* Writes (or replaces) the stamp in the live <metadata> of the active domain
 * uuid (a name works too).  hostname and addr: 1..253 characters of
 * [A-Za-z0-9._:-]; port 1..65535.  The persistent configuration and the
 * urn:drbdmig:1 policy element are left untouched. */
int dmg_virt_stamp(struct dmg_virt *v, const char *uuid, const char *hostname,
		   const char *addr, unsigned port, struct dmg_error *err);

/* Reads the stamp from a domain XML document (e.g. the hook's stdin); pure,
 * needs no connection.  Only a direct child of /domain/metadata counts.
 * -ENOENT: no stamp; -EINVAL: malformed XML, two stamps, a bad attribute;
 * -ENAMETOOLONG: host/addr do not fit hl/al; -EFBIG: over DMG_XML_MAX. */
int dmg_virt_parse_stamp(const char *xml, size_t len, char *host, size_t hl,
			 char *addr, size_t al, unsigned *port, struct dmg_error *err);

/* Calls fn(uuid, name, arg) for each active (running or paused) domain whose
 * live <metadata> carries the urn:drbdmig:1 policy element.  A negative
 * return from fn stops the walk and is returned.  Returns the number of
 * domains fn was called for. */
int dmg_virt_each_annotated(struct dmg_virt *v,
			    int (*fn)(const char *uuid, const char *name, void *arg),
			    void *arg, struct dmg_error *err);

/* Whether the domain has a job running (a migration, typically); with
 * abort_it, asks libvirt to abort it first.  A missing domain has none.
 * The call runs on a thread of its own, waited for at most timeout_ms:
 * a QEMU whose main loop is stuck (e.g. draining frozen I/O at a
 * switchover) blocks every job call in libvirt, and the caller must not
 * hang with it.  -ETIMEDOUT when no answer came; the abandoned call ends
 * (and frees what it holds) whenever libvirt returns. */
int dmg_virt_job_bounded(struct dmg_virt *v, const char *uuid, int abort_it, int timeout_ms,
			 int *active, struct dmg_error *err);

/* The live XML of the active domain uuid (*xml malloc'ed, free() it).
 * -ESRCH when no such domain is active here. */
int dmg_virt_live_xml(struct dmg_virt *v, const char *uuid, char **xml, size_t *len,
		      struct dmg_error *err);

/* Whether libvirt migrates the domain out of here and was asked to copy
 * its storage too (VIR_MIGRATE_NON_SHARED_DISK or _INC: virsh's
 * --copy-storage-all / --copy-storage-inc), read from the system QEMU
 * driver's status file of the running domain: *copies 1 or 0.  No
 * migration job at all is 0.  -EOPNOTSUPP under another libvirt URI (its
 * status files are elsewhere or on another host); other failures < 0. */
int dmg_virt_copies_storage(struct dmg_virt *v, const char *uuid, int *copies,
			    struct dmg_error *err);

/* The test behind it, on the text of a status file (<domstatus>):
 * -EBADMSG when it is none, or its migration job's flags are unreadable. */
int dmg_virt_status_copies(const char *xml, size_t len, int *copies, struct dmg_error *err);

/* The persistent (inactive) definition of domain uuid, secrets included,
 * in *xml (malloc'ed, free() it); *xml NULL when the domain is transient.
 * -ESRCH when there is no such domain here. */
int dmg_virt_persistent_xml(struct dmg_virt *v, const char *uuid, char **xml, size_t *len,
			    struct dmg_error *err);

/* Defines (or redefines) a domain from xml: its persistent definition. */
int dmg_virt_define(struct dmg_virt *v, const char *xml, struct dmg_error *err);

/* ---- libvirt storage pools (pool.c) ---- */

#define DMG_VIRT_VG_MAX 128         /* a VG, pool or volume name incl. NUL */

/* The VG of the active 'logical' pool `pool` here, in vg.  -ENOENT: no
 * such pool; -EMEDIUMTYPE: another pool type (the message names it);
 * -ENXIO: not active. */
int dmg_virt_pool_vg(struct dmg_virt *v, const char *pool, char *vg, size_t vglen,
		     struct dmg_error *err);

/* The path of volume `volume` of the active 'logical' pool `pool` here
 * (libvirt's: /dev/VG/LV), checked as dmg_virt_pool_vg() checks the pool;
 * -ENOENT as well when the pool has no such volume. */
int dmg_virt_pool_volume(struct dmg_virt *v, const char *pool, const char *volume,
			 char *path, size_t plen, struct dmg_error *err);

/* Refreshes the active 'logical' pool `pool` here, so that its volume list
 * shows the LVs drbdmig created or removed under it.  Beware: libvirt
 * stops a pool whose refresh fails, and stopping a 'logical' pool runs
 * vgchange -aln on its VG (every LV not open is deactivated), so this is
 * called only for pools an annotated guest's disk names. */
int dmg_virt_pool_refresh(struct dmg_virt *v, const char *pool, struct dmg_error *err);

/* The test behind them, on a pool's XML (<pool type='...'>): its type and,
 * for a 'logical' pool, its VG (<source><name>, else ""); pure. */
int dmg_virt_pool_parse(const char *xml, size_t len, char *type, size_t tlen, char *vg,
			size_t vglen, struct dmg_error *err);

/* Stops the domain hard (QEMU killed); a missing domain is fine. */
int dmg_virt_destroy(struct dmg_virt *v, const char *uuid, struct dmg_error *err);

/* 1 when the QEMU of domain `name` (per the pid file of libvirt's system
 * QEMU driver) has exited or is exiting -- its main thread a zombie, or
 * SIGKILL pending while a thread waits in the kernel (e.g. on frozen DRBD
 * I/O) -- so that nothing of it can run the guest or send its state any
 * more.  0 when it lives or this cannot be told (no pid file, another
 * libvirt URI). */
int dmg_virt_qemu_exited(struct dmg_virt *v, const char *name);

/* The test behind it, on the text of a /proc/PID/status: 1 for a process
 * that is a zombie or dead, or has SIGKILL pending (it never returns to
 * user space: a thread in uninterruptible sleep only delays its exit). */
int dmg_proc_status_dying(const char *status);

/* "stopped/migrated", "started/booted", "reconnected", ...; never NULL. */
const char *dmg_virt_event_str(int event, int detail);

/* "running", "paused", "shut off", "absent", "other". */
const char *dmg_virt_state_str(enum dmg_virt_state st);

#endif
