/* What comes in from libvirt and the hook: lifecycle events, stamping
 * this host's endpoint into guests, and the destination's `migrate begin`
 * (finding the source, probing it, building the session).  Private parts
 * and the locking model: registry_int.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/verb.h"
#include "libvirt/diskpath.h"
#include "libvirt/virt.h"
#include "storage/lvm.h"
#include "daemon/registry_int.h"

/* ---- events ------------------------------------------------------------------- */

static void
mark(struct dmg_registry *r, const char *uuid, const char *name, int gone, int switched)
{
	struct entry *e;

	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next) {
		if (!((uuid && *uuid && strcmp(e->s->uuid, uuid) == 0) ||
		      (name && strcmp(e->s->domain, name) == 0)))
			continue;
		e->kick = 1;
		if (switched)
			e->resumed = 1;
		dmg_debug(r->log, "session=%s domain=%s: %s%s", e->s->sid, e->s->domain,
			  gone ? "guest stopped here" : "event",
			  switched ? " (resumed after migration)" : "");
		if (gone && e->s->role == DMG_ROLE_DST)
			dmg_sess_note_gone(e->s);
	}
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
dmg_registry_virt_event(const struct dmg_virt_event *ev, void *arg)
{
	struct dmg_registry *r = arg;

	if (ev->event == DMG_VIRT_EV_RECONNECTED) {
		struct entry *e;

		dmg_info(r->log, "libvirt connection (re)established; re-checking sessions");
		pthread_mutex_lock(&r->mu);
		r->stamp_all = 1;
		/* Events may have been lost while disconnected. */
		for (e = r->head; e; e = e->next) {
			pthread_mutex_lock(&e->s->mu);
			e->s->blind = 1;
			pthread_mutex_unlock(&e->s->mu);
		}
		pthread_mutex_unlock(&r->mu);
		mark(r, NULL, NULL, 0, 0);
		return;
	}
	/* Resumed because the migration finished here: the switchover, even if
	 * the guest is stopped again before the settle thread looks. */
	mark(r, ev->uuid, NULL, ev->event == VIR_DOMAIN_EVENT_STOPPED,
	     ev->event == VIR_DOMAIN_EVENT_RESUMED && ev->detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED);
	if (ev->event == VIR_DOMAIN_EVENT_STARTED || ev->event == VIR_DOMAIN_EVENT_RESUMED)
		dmg_registry_stamp(r, ev->uuid);
}

static int
stamp_one(const char *uuid, const char *name, void *arg)
{
	struct dmg_registry *r = arg;
	struct dmg_error err = { 0 };
	char host[256];
	unsigned port;

	(void)name;
	if (reg_split_endpoint(r->self, host, sizeof(host), &port) < 0 || !*host)
		return 0;
	if (dmg_virt_stamp(r->virt, uuid, host, host, port, &err) < 0)
		dmg_debug(r->log, "stamp %s: %s", uuid, err.msg);
	return 0;
}

/* Stamping modifies the domain (a libvirt job): never from a hook's
 * request or libvirt's event thread, only here on the settle thread. */
void
reg_run_stamps(struct dmg_registry *r)
{
	char q[16][VIR_UUID_STRING_BUFLEN];
	struct dmg_error err = { 0 };
	int n, all, i;

	pthread_mutex_lock(&r->mu);
	n = r->nstamp;
	all = r->stamp_all;
	memcpy(q, r->stampq, sizeof(q));
	r->nstamp = 0;
	r->stamp_all = 0;
	pthread_mutex_unlock(&r->mu);
	if (!r->virt)
		return;
	if (all && dmg_virt_each_annotated(r->virt, stamp_one, r, &err) < 0)
		dmg_debug(r->log, "stamping annotated domains: %s", err.msg);
	for (i = 0; i < n; i++)
		stamp_one(q[i], NULL, r);
}

int
dmg_registry_hook_event(struct dmg_registry *r, const char *domain, enum dmg_hook_op op)
{
	int gone = op == DMG_HOOK_OP_STOPPED || op == DMG_HOOK_OP_RELEASE;
	int starting = op == DMG_HOOK_OP_PREPARE || op == DMG_HOOK_OP_START ||
		       op == DMG_HOOK_OP_STARTED;
	int refuse = 0;
	struct entry *e;

	/* A fenced destination must never run the guest: refusing these hooks
	 * makes libvirt abort the incoming migration. */
	pthread_mutex_lock(&r->mu);
	for (e = r->head; starting && e; e = e->next) {
		if (e->s->role != DMG_ROLE_DST || strcmp(e->s->domain, domain) != 0)
			continue;
		pthread_mutex_lock(&e->s->mu);
		refuse |= e->s->fenced && !e->s->switchover && !dmg_phase_closed(e->s->phase);
		pthread_mutex_unlock(&e->s->mu);
	}
	pthread_mutex_unlock(&r->mu);
	mark(r, NULL, domain, gone, 0);
	return refuse;
}

void
dmg_registry_stamp(struct dmg_registry *r, const char *domain)
{
	pthread_mutex_lock(&r->mu);
	if (!domain)
		r->stamp_all = 1;
	else if (r->nstamp < 16)
		snprintf(r->stampq[r->nstamp++], sizeof(r->stampq[0]), "%s", domain);
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* ---- migrate begin (destination) ----------------------------------------------- */

static int
hexrand(char *out, size_t nbytes, struct dmg_error *err)
{
	unsigned char raw[32];
	size_t i;

	if (nbytes > sizeof(raw) || getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		return dmg_error_sys(err, -errno, "getrandom");
	for (i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}


/* The source is always one of `peers`: the stamp in the guest's metadata
 * (anyone who can edit the domain can write it) only chooses among them.
 * Without a stamp, the configured peers are asked who runs the domain. */
static int
find_source(struct dmg_registry *r, const struct dmg_policy *p, const char *xml, size_t len,
	    char *ep, size_t eplen, struct dmg_error *err)
{
	char host[DMG_VIRT_HOST_MAX], addr[DMG_VIRT_ADDR_MAX], phost[256];
	struct dmg_error serr = { 0 };
	unsigned port;
	size_t i;

	if (dmg_virt_parse_stamp(xml, len, host, sizeof(host), addr, sizeof(addr), &port, &serr) == 0) {
		if (reg_peer_endpoint(r, host, addr, ep, eplen) == 0)
			return 0;
		return dmg_error_set(err, -EACCES, "the source host named in '%s''s drbdmig stamp (%s, %s) is not in this host's peers list; add it to `peers` in drbdmig.conf",
				     p->domain, host, addr);
	}
	for (i = 0; reg_peer(r, i, phost, sizeof(phost), &port); i++) {
		struct dmg_jrec req, reply;
		struct dmg_error perr = { 0 };
		char cand[300];
		const char *st;

		snprintf(cand, sizeof(cand), "%s:%u", phost, port);
		dmg_jrec_init(&req, "whohas");
		if (dmg_jrec_set(&req, "uuid", p->uuid, &perr) < 0 ||
		    reg_peer_call(r, cand, &req, r->conf.peer_timeout, &reply, &perr) < 0) {
			dmg_warn(r->log, "asking %s who runs %s: %s", cand, p->domain, perr.msg);
			continue;
		}
		st = dmg_jrec_get(&reply, "state");
		if (st && (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0)) {
			snprintf(ep, eplen, "%s", cand);
			return 0;
		}
	}
	return dmg_error_set(err, -ENOENT, "cannot find the source host of '%s': the domain XML has no drbdmig host stamp (%s) and no configured peer runs it",
			     p->domain, serr.msg);
}

/* A name from the peer's answer: present and fits; its form is checked
 * by the storage layer before any use. */
static int
copy_name(char *dst, size_t len, const char *v)
{
	if (!v || !*v || strlen(v) >= len)
		return -EPROTO;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* A byte count from the peer's answer: decimal digits only, as the source
 * prints it, within 64 bits (core/verb.c).  strtoull() alone would also
 * take leading blanks and a sign, and reads "-5" as 2^64 - 5. */
static int
answer_bytes(const char *v, uint64_t *out)
{
	return dmg_verb_uint(v, UINT64_MAX, out) < 0 ? -EPROTO : 0;
}

/* One disk's answer to "probe", as the source sent it: a size, the VG and
 * LV names, and for a thin LV its pool and how much of it is allocated.  It
 * comes from the network: the numbers are checked here, the names only for
 * presence and length (copy_name).  Fills d's size, vg, lv and, for a thin
 * LV, thin and alloc; on an error some of them may already be written. */
int
reg_probe_answer(const struct dmg_jrec *reply, struct dmg_sess_disk *d, struct dmg_error *err)
{
	if (answer_bytes(dmg_jrec_get(reply, "size"), &d->size) < 0 || d->size == 0)
		return dmg_error_set(err, -EPROTO, "disk %s: the source's answer has no size",
				     d->target);
	if (copy_name(d->vg, sizeof(d->vg), dmg_jrec_get(reply, "vg")) < 0 ||
	    copy_name(d->lv, sizeof(d->lv), dmg_jrec_get(reply, "lv")) < 0)
		return dmg_error_set(err, -EPROTO, "disk %s: the source's answer has no VG or LV name",
				     d->target);
	if (!dmg_jrec_get(reply, "thin"))
		return 0;
	if (copy_name(d->thin, sizeof(d->thin), dmg_jrec_get(reply, "thin")) < 0 ||
	    answer_bytes(dmg_jrec_get(reply, "alloc"), &d->alloc) < 0 || d->alloc > d->size)
		return dmg_error_set(err, -EPROTO, "disk %s: the source's answer names a thin pool without a valid allocation",
				     d->target);
	return 0;
}

/* Asks the source for each disk's size and LV (peer verb "probe"): the
 * guest must run there and each disk must be an LVM LV no session holds.
 * The source resolved the path its own XML gives; the LV is created here
 * under the same VG and LV names, a thin LV in the thin pool of the same
 * name (all checked by dmg_backend_dst_check before anything is created). */
static int
probe_source(struct dmg_registry *r, const char *ep, const struct dmg_policy *p,
	     struct dmg_sess_disk *disks, size_t n, struct dmg_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct dmg_jrec req, reply;
		int rc;

		dmg_jrec_init(&req, "probe");
		if ((rc = dmg_jrec_set(&req, "uuid", p->uuid, err)) < 0 ||
		    (rc = dmg_jrec_set(&req, "target", disks[i].target, err)) < 0)
			return rc;
		rc = reg_peer_call(r, ep, &req, r->conf.peer_timeout, &reply, err);
		if (rc < 0) {
			dmg_error_prefix(err, "disk %s on the source", disks[i].target);
			return rc;
		}
		if ((rc = reg_probe_answer(&reply, &disks[i], err)) < 0)
			return rc;
	}
	return 0;
}

/* A pool volume's disk on this host: the VG of this host's pool of the
 * name the XML gives (the VGs of the two hosts' pools may differ), where
 * the LV is created under the volume's name.  Called before the source is
 * asked; pool_lvs() checks its answer. */
static int
pool_disk(struct dmg_registry *r, const struct dmg_policy_disk *pd, struct dmg_sess_disk *d,
	  struct dmg_error *err)
{
	char vg[DMG_VIRT_VG_MAX];
	int rc;

	if (!r->virt)
		return dmg_error_set(err, -ENOTCONN, "no libvirt connection");
	if ((rc = dmg_virt_pool_vg(r->virt, pd->pool, vg, sizeof(vg), err)) < 0) {
		dmg_error_prefix(err, "disk %s on the destination %s", pd->target, r->b->host);
		return rc;
	}
	if (strlen(vg) >= sizeof(d->vg) || strlen(pd->volume) >= sizeof(d->lv))
		return dmg_error_set(err, -ENAMETOOLONG, "disk %s: VG or volume name too long",
				     pd->target);
	snprintf(d->pool, sizeof(d->pool), "%s", pd->pool);
	snprintf(d->vg, sizeof(d->vg), "%s", vg);
	dmg_lvm_dev_path(vg, pd->volume, d->path, sizeof(d->path));
	return 0;
}

/* After the probe: a pool volume keeps this host's VG (pool_disk), and the
 * source's LV must be the volume the XML names, since a 'logical' pool
 * names each volume as its LV. */
static int
pool_lvs(const struct dmg_policy *p, struct dmg_sess_disk *disks, char (*vg)[DMG_SESS_NAME_MAX],
	 struct dmg_error *err)
{
	size_t i;

	for (i = 0; i < p->ndisks; i++) {
		if (!p->disks[i].pool)
			continue;
		if (strcmp(disks[i].lv, p->disks[i].volume) != 0)
			return dmg_error_set(err, -EPROTO, "disk %s: the source's volume '%s' is the LV %s/%s, not an LV of its name",
					     disks[i].target, p->disks[i].volume, disks[i].vg, disks[i].lv);
		memcpy(disks[i].vg, vg[i], sizeof(disks[i].vg));
	}
	return 0;
}

/* Where a disk's path in xml (whose policy is p) does not open the LV
 * built here -- a dm-uuid link names the source's LV, an admin's symlink
 * need not exist here -- xml with that path replaced by /dev/VG/LV, in
 * *out; *out NULL when every path opens its LV.  what names the XML for
 * the log. */
static int
rewrite_paths(struct dmg_registry *r, const char *sid, const char *what,
	      const struct dmg_sess_disk *disks, size_t ndisks, const struct dmg_policy *p,
	      const char *xml, size_t len, char **out, size_t *outlen, struct dmg_error *err)
{
	char lvpath[DMG_SESS_DISKS_MAX][2 * DMG_SESS_NAME_MAX + 8];
	struct dmg_disk_path dp[DMG_SESS_DISKS_MAX];
	const char *source;
	size_t i, j, n = 0;
	int rc;

	*out = NULL;
	for (i = 0; i < ndisks && i < DMG_SESS_DISKS_MAX; i++) {
		for (j = 0, source = NULL; j < p->ndisks && !source; j++)
			if (strcmp(p->disks[j].target, disks[i].target) == 0)
				source = p->disks[j].source;
		if (!source)
			continue;   /* not annotated in this XML: not drbdmig's to change */
		if ((rc = dmg_backend_dst_opens(r->b, &disks[i], source, err)) < 0)
			return rc;
		if (rc)
			continue;
		dmg_lvm_dev_path(disks[i].vg, disks[i].lv, lvpath[n], sizeof(lvpath[n]));
		dp[n].target = disks[i].target;
		dp[n].path = lvpath[n];
		dmg_info(r->log, "session=%s disk %s: %s does not open %s on this host; %s is given %s",
			 sid, disks[i].target, source, lvpath[n], what, lvpath[n]);
		n++;
	}
	return n ? dmg_diskpath_set(xml, len, dp, n, out, outlen, err) : 0;
}

/* After the build: the path each disk has in the incoming XML must open
 * the LV built here, else QEMU would open nothing or, worse, another
 * device; the XML handed back to libvirt has /dev/VG/LV where it does not.
 * A failure here (out of memory) refuses the migration; the built session
 * is then rolled back when the guest does not arrive within `grace`, as
 * after any failed incoming migration. */
static int
dst_paths(struct dmg_registry *r, const char *sid, const struct dmg_policy *p,
	  const struct dmg_sess_disk *disks, const char *xml, size_t len, char **out,
	  size_t *outlen, struct dmg_error *err)
{
	return rewrite_paths(r, sid, "the incoming guest", disks, p->ndisks, p, xml, len, out,
			     outlen, err);
}

void
reg_dst_persist(struct dmg_registry *r, const struct dmg_session *s)
{
	struct dmg_policy *p = NULL;
	struct dmg_error err = { 0 };
	char *xml = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	int rc;

	if (!r->virt)
		return;
	rc = dmg_virt_persistent_xml(r->virt, s->uuid, &xml, &len, &err);
	if (rc == 0 && xml)
		rc = dmg_policy_parse(xml, len, &p, &err);
	if (rc == 0 && p)
		rc = rewrite_paths(r, s->sid, "the persistent definition", s->disks, s->ndisks, p,
				   xml, len, &out, &outlen, &err);
	if (rc == 0 && out)
		rc = dmg_virt_define(r->virt, out, &err);
	if (rc < 0)
		dmg_warn(r->log, "session=%s domain=%s: the persistent definition keeps the source's disk paths: %s",
			 s->sid, s->domain, err.msg);
	else if (out)
		dmg_info(r->log, "session=%s domain=%s: persistent definition written with this host's disk paths",
			 s->sid, s->domain);
	free(out);
	dmg_policy_free(p);
	free(xml);
}

int
dmg_registry_migrate_begin(struct dmg_registry *r, const struct dmg_policy *p,
			   const char *xml, size_t len, char **out, size_t *outlen,
			   struct dmg_error *err)
{
	struct dmg_sess_disk disks[DMG_SESS_DISKS_MAX];
	char poolvg[DMG_SESS_DISKS_MAX][DMG_SESS_NAME_MAX];
	char sid[DMG_SID_LEN + 1], secret[65], tok[DMG_TOK_LEN + 1], ep[300], srchost[256];
	struct dmg_session *s = NULL;
	struct entry *e;
	unsigned srcport, tmo;
	size_t i;
	int rc;

	if (!p->uuid[0])
		return dmg_error_set(err, -EINVAL, "domain '%s' has no <uuid> in its XML", p->domain);
	if (p->ndisks > DMG_SESS_DISKS_MAX)
		return dmg_error_set(err, -E2BIG, "domain '%s' annotates %zu disks; drbdmig migrates at most %d",
				     p->domain, p->ndisks, DMG_SESS_DISKS_MAX);
	pthread_mutex_lock(&r->mu);
	for (e = r->head; e; e = e->next)
		if (strcmp(e->s->uuid, p->uuid) == 0 && !dmg_phase_closed(e->s->phase))
			break;
	pthread_mutex_unlock(&r->mu);
	if (e)
		return dmg_error_set(err, -EBUSY, "domain '%s' has an unfinished session %s (%s); see `drbdmig status`",
				     p->domain, e->s->sid, dmg_phase_name(e->s->phase));
	rc = find_source(r, p, xml, len, ep, sizeof(ep), err);
	if (rc < 0)
		return rc;
	if (reg_split_endpoint(ep, srchost, sizeof(srchost), &srcport) < 0)
		return dmg_error_set(err, -EINVAL, "bad source endpoint '%s'", ep);
	memset(disks, 0, sizeof(disks));
	for (i = 0; i < p->ndisks; i++) {
		const struct dmg_policy_disk *pd = &p->disks[i];
		struct dmg_sess_disk *d = &disks[i];
		struct dmg_sess_side *me = &d->side[DMG_ROLE_DST];

		snprintf(d->target, sizeof(d->target), "%s", pd->target);
		if (pd->pool) {
			if ((rc = pool_disk(r, pd, d, err)) < 0)
				goto fail;
			memcpy(poolvg[i], d->vg, sizeof(poolvg[i]));
		} else if (snprintf(d->path, sizeof(d->path), "%s", pd->source) >= (int)sizeof(d->path)) {
			rc = dmg_error_set(err, -ENAMETOOLONG, "disk %s: the path '%.64s...' is too long",
					   pd->target, pd->source);
			goto fail;
		}
		d->keep_source = pd->source_after == DMG_SOURCE_KEEP;
		d->rate_kib = pd->resync_rate_kib;
		d->dynamic = pd->sync_mode == DMG_SYNC_DYNAMIC;
		snprintf(me->host, sizeof(me->host), "%s", r->b->host);
		if ((rc = dmg_backend_local_addr(r->b, srchost, me->addr, sizeof(me->addr), err)) < 0 ||
		    (rc = dmg_backend_reserve(r->b, &me->minor, &me->port, err)) < 0)
			goto fail;
	}
	/* Everything is checked before anything changes on either host. */
	if ((rc = probe_source(r, ep, p, disks, p->ndisks, err)) < 0 ||
	    (rc = pool_lvs(p, disks, poolvg, err)) < 0 ||
	    (rc = dmg_backend_dst_check(r->b, disks, p->ndisks, err)) < 0)
		goto fail;
	if ((rc = hexrand(sid, DMG_SID_LEN / 2, err)) < 0 || (rc = hexrand(secret, 16, err)) < 0 ||
	    (rc = hexrand(tok, DMG_TOK_LEN / 2, err)) < 0)
		goto fail;
	rc = dmg_sess_new_dst(r->state_dir, sid, p->domain, p->uuid, ep, disks, p->ndisks, secret,
			      tok, &r->env, r->log, &s, err);
	if (rc < 0)
		goto fail;
	e = reg_add_entry(r, s, 0, 1);
	if (!e) {
		s->phase = DMG_PH_ROLLED_BACK;
		dmg_sess_free(s);
		rc = dmg_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	dmg_info(r->log, "session=%s domain=%s role=dst source=%s disks=%zu: building the overlay",
		 sid, p->domain, ep, p->ndisks);
	/* Finish (or give up) before the hook does, so that a build never
	 * completes after libvirt stopped waiting for it. */
	tmo = r->conf.sync_timeout;
	if (r->conf.hook_timeout > 20 && tmo > r->conf.hook_timeout - 15)
		tmo = r->conf.hook_timeout - 15;
	*out = NULL;
	*outlen = 0;
	rc = dmg_sess_build(s, (int)tmo, err);
	if (rc == 0)
		rc = reg_pools_refresh(r, s, err);
	if (rc == 0)
		rc = dst_paths(r, sid, p, disks, xml, len, out, outlen, err);
	pthread_mutex_lock(&r->mu);
	e->building = 0;
	pthread_mutex_unlock(&r->mu);
	pthread_mutex_unlock(&e->op);
	reg_kick(r);
	return rc;
fail:
	for (; i-- > 0;)
		if (disks[i].side[DMG_ROLE_DST].port)
			dmg_backend_release(r->b, disks[i].side[DMG_ROLE_DST].minor,
					    disks[i].side[DMG_ROLE_DST].port);
	return rc;
}
