/* The registry's world as the session engine sees it (the dmg_sess_env
 * callbacks: libvirt, storage, the peer), and its client side of the peer
 * channel: endpoints of `peers`, one call to another drbdmigd.  Private
 * parts: registry_int.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer/peer.h"
#include "core/wire.h"
#include "daemon/registry_int.h"

/* ---- the world as the engine sees it ------------------------------------- */

int
reg_env_dom(void *arg, const char *uuid, enum dmg_dom *st, struct dmg_error *err)
{
	struct dmg_registry *r = arg;
	char u[VIR_UUID_STRING_BUFLEN];
	enum dmg_virt_state vs;
	int rc;

	*st = DMG_DOM_UNKNOWN;
	if (!r->virt)
		return dmg_error_set(err, -ENOTCONN, "no libvirt connection");
	rc = dmg_virt_state(r->virt, uuid, &vs, NULL, u, err);
	if (rc < 0)
		return rc;
	switch (vs) {
	case DMG_VIRT_ABSENT: *st = DMG_DOM_ABSENT; break;
	case DMG_VIRT_RUNNING: *st = DMG_DOM_RUNNING; break;
	case DMG_VIRT_PAUSED: *st = DMG_DOM_PAUSED; break;
	case DMG_VIRT_SHUTOFF: *st = DMG_DOM_SHUTOFF; break;
	default: *st = DMG_DOM_UNKNOWN; break;
	}
	return 0;
}

/* The paths of p's pool volumes, from this host's libvirt: an annotated
 * type='volume' disk must be a volume of an active 'logical' pool here. */
static int
resolve_volumes(struct dmg_registry *r, struct dmg_policy *p, struct dmg_error *err)
{
	char path[sizeof(((struct dmg_sess_disk *)0)->path)];
	size_t i;
	int rc;

	for (i = 0; i < p->ndisks; i++) {
		struct dmg_policy_disk *d = &p->disks[i];

		if (!d->pool || d->source)
			continue;
		rc = dmg_virt_pool_volume(r->virt, d->pool, d->volume, path, sizeof(path), err);
		if (rc < 0) {
			dmg_error_prefix(err, "disk %s", d->target);
			return rc;
		}
		if (!(d->source = strdup(path)))
			return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

int
reg_pools_refresh(struct dmg_registry *r, const struct dmg_session *s, struct dmg_error *err)
{
	struct dmg_error e = { 0 };
	size_t i;
	int rc = 0;

	for (i = 0; i < s->ndisks; i++) {
		const struct dmg_sess_disk *d = &s->disks[i];

		if (!d->pool[0])
			continue;
		if (!r->virt)
			return dmg_error_set(err, -ENOTCONN, "no libvirt connection to refresh storage pool '%s'",
					     d->pool);
		if (dmg_virt_pool_refresh(r->virt, d->pool, &e) < 0) {
			if (rc == 0)
				rc = dmg_error_set(err, e.code, "disk %s: %s", d->target, e.msg);
			continue;
		}
		dmg_info(r->log, "session=%s disk %s: storage pool '%s' refreshed", s->sid, d->target,
			 d->pool);
	}
	return rc;
}

int
reg_env_policy(void *arg, const char *uuid, struct dmg_policy **out, struct dmg_error *err)
{
	struct dmg_registry *r = arg;
	char *xml = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!r->virt)
		return dmg_error_set(err, -ENOTCONN, "no libvirt connection");
	rc = dmg_virt_live_xml(r->virt, uuid, &xml, &len, err);
	if (rc == 0 && (rc = dmg_policy_parse(xml, len, out, err)) < 0)
		dmg_error_prefix(err, "the live XML of %s here", uuid);
	free(xml);
	if (rc == 0 && *out && (rc = resolve_volumes(r, *out, err)) < 0) {
		dmg_policy_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Two copies of one LV must never run at once: when the admin also asked
 * libvirt to copy the storage (its NBD mirror would write the destination's
 * LV while DRBD does), the migration is refused before anything is built.
 * Where this cannot be read (another libvirt URI) it is said in the log and
 * not held against the migration; any other failure refuses. */
int
reg_env_no_storage_copy(struct dmg_registry *r, const char *uuid, struct dmg_error *err)
{
	int copies = 0, rc;

	if (!r->virt)
		return dmg_error_set(err, -ENOTCONN, "no libvirt connection");
	rc = dmg_virt_copies_storage(r->virt, uuid, &copies, err);
	if (rc == -EOPNOTSUPP) {
		dmg_warn(r->log, "domain %s: %s; not checked whether libvirt copies its storage too",
			 uuid, err->msg);
		dmg_error_clear(err);
		return 0;
	}
	if (rc < 0)
		return dmg_error_prefix(err, "cannot tell whether libvirt copies the storage of %s too",
					uuid);
	if (copies)
		return dmg_error_set(err, -EPERM, "the migration also asks libvirt to copy the storage "
				     "(--copy-storage-all or --copy-storage-inc); drbdmig copies the "
				     "annotated disks itself, and never two copies at once: migrate "
				     "without those options");
	return 0;
}

static int
env_migrating(void *arg, const char *uuid)
{
	struct dmg_registry *r = arg;
	struct dmg_error err = { 0 };
	int active = 1;

	if (!r->virt)
		return 0;
	if (dmg_virt_job_bounded(r->virt, uuid, 0, 3000, &active, &err) < 0) {
		dmg_debug(r->log, "job of %s: %s", uuid, err.msg);
		return 1;   /* cannot tell: assume it could still switch over */
	}
	return active;
}

int
reg_split_endpoint(const char *ep, char *host, size_t hl, unsigned *port)
{
	const char *colon = strrchr(ep, ':');
	char *end;
	unsigned long p = DEFAULT_PEER_PORT;

	if (colon) {
		p = strtoul(colon + 1, &end, 10);
		if (*end || p == 0 || p > 65535 || (size_t)(colon - ep) >= hl)
			return -EINVAL;
		memcpy(host, ep, (size_t)(colon - ep));
		host[colon - ep] = '\0';
	} else if (snprintf(host, hl, "%s", ep) >= (int)hl) {
		return -EINVAL;
	}
	*port = (unsigned)p;
	return *host ? 0 : -EINVAL;
}

/* The i-th entry of `peers` (0 past the last), as dmg_conf_peer() reads it. */
int
reg_peer(const struct dmg_registry *r, size_t i, char *host, size_t hl, unsigned *port)
{
	if (!dmg_conf_peer_list(r->peers, i, host, hl, port))
		return 0;
	if (*port == 0)
		*port = r->peer_port;
	return 1;
}

/* The endpoint "host:port" of the `peers` entry whose host is name (or, if
 * addr is given, whose host is addr); -ENOENT when there is none. */
int
reg_peer_endpoint(const struct dmg_registry *r, const char *name, const char *addr, char *ep,
	      size_t len)
{
	char host[256];
	unsigned port;
	size_t i;

	for (i = 0; reg_peer(r, i, host, sizeof(host), &port); i++)
		if ((name && strcmp(host, name) == 0) || (addr && strcmp(host, addr) == 0)) {
			snprintf(ep, len, "%s:%u", host, port);
			return 0;
		}
	return -ENOENT;
}

/* One call to the drbdmig daemon at endpoint ep. */
int
reg_peer_call(struct dmg_registry *r, const char *ep, const struct dmg_jrec *req,
	     unsigned timeout_s, struct dmg_jrec *reply, struct dmg_error *err)
{
	struct dmg_peer_conn *c = NULL;
	struct dmg_msg res = { 0 };
	char host[256];
	unsigned port;
	int64_t dl = dmg_now_ms() + (int64_t)timeout_s * 1000;
	int rc;

	if (!r->pc)
		return dmg_error_set(err, -ENOTCONN, "the peer channel is not configured");
	if (reg_split_endpoint(ep, host, sizeof(host), &port) < 0)
		return dmg_error_set(err, -EINVAL, "bad peer endpoint '%s'", ep);
	rc = dmg_peer_connect(r->pc, host, (uint16_t)port, dl, &c, err);
	if (rc < 0)
		return rc;
	rc = dmg_peer_call(c, req, dl, &res, err);
	dmg_peer_close(c);
	if (rc < 0)
		return rc;
	if (res.status) {
		rc = dmg_error_set(err, res.status < 4096 ? -(int)res.status : -EPROTO,
				   "peer %s: %s", ep, res.message ? res.message : "refused");
	} else if (res.body && res.body_len) {
		char *nl = memchr(res.body, '\n', res.body_len);

		if (nl)
			*nl = '\0';
		rc = dmg_jrec_parse_line(res.body, reply, err);
	} else {
		dmg_jrec_init(reply, "ok");
	}
	dmg_msg_clear(&res);
	return rc;
}

static int
env_peer(void *arg, const struct dmg_session *s, enum dmg_verb verb, const struct dmg_jrec *req,
	 struct dmg_jrec *reply, struct dmg_error *err)
{
	struct dmg_registry *r = arg;
	/* Building a source disk runs lvcreate, drbdmeta and a table swap. */
	unsigned tmo = r->conf.peer_timeout * (verb == DMG_VERB_DISK ? 4 : 1);

	return reg_peer_call(r, s->peer, req, tmo, reply, err);
}

static int
env_act(void *arg, struct dmg_session *s, const char *verb, int disk, const char *in,
	char *out, size_t outlen, struct dmg_error *err)
{
	struct dmg_registry *r = arg;

	return dmg_backend_act(r->b, s, verb, disk, in, out, outlen, err);
}

void
reg_env_init(struct dmg_registry *r)
{
	r->env = (struct dmg_sess_env){ .arg = r, .act = env_act, .dom_state = reg_env_dom,
					.migrating = env_migrating, .peer = env_peer,
					.dom_policy = reg_env_policy, .self = r->self };
}
