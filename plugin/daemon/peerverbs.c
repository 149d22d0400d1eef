/* The peer verbs: what another drbdmigd (one of `peers`, authenticated
 * by the peer channel) may ask of this one.  Private parts and the locking
 * model: registry_int.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/wire.h"
#include "daemon/registry_int.h"

/* ---- peer verbs --------------------------------------------------------------------- */

/* The peer verb "probe", on the source: validation only, nothing changes.
 * The request names a target; which LV that is, and whether the domain is
 * drbdmig's to touch at all, comes from this host's own libvirt -- as does
 * whether libvirt was asked to copy the storage too (then: refused). */
static int
probe(struct dmg_registry *r, const struct dmg_jrec *req, struct dmg_jrec *reply,
      struct dmg_error *err)
{
	const char *uuid = dmg_jrec_get(req, "uuid"), *target = dmg_jrec_get(req, "target");
	const struct dmg_policy_disk *pd = NULL;
	struct dmg_policy *p = NULL;
	enum dmg_dom st = DMG_DOM_UNKNOWN;
	struct dmg_sess_disk d = { 0 };
	char num[24];
	size_t i;
	int rc;

	if (!uuid || !target || !*target)
		return dmg_error_set(err, -EPROTO, "probe: uuid and target are required");
	if ((rc = reg_env_dom(r, uuid, &st, err)) < 0)
		return rc;
	if (st != DMG_DOM_RUNNING && st != DMG_DOM_PAUSED)
		return dmg_error_set(err, -ESRCH, "domain %s is not running on %s (%s)", uuid,
				     r->b->host, dmg_dom_name(st));
	if ((rc = reg_env_policy(r, uuid, &p, err)) < 0)
		return rc;
	if (!p)
		return dmg_error_set(err, -EPERM, "domain %s carries no drbdmig policy on %s", uuid,
				     r->b->host);
	for (i = 0; i < p->ndisks && !pd; i++)
		if (strcmp(p->disks[i].target, target) == 0)
			pd = &p->disks[i];
	if (!pd)
		rc = dmg_error_set(err, -EPERM, "'%s' is not an annotated disk of domain '%s' on %s",
				   target, p->domain, r->b->host);
	else if ((rc = reg_env_no_storage_copy(r, uuid, err)) == 0)
		rc = dmg_backend_probe(r->b, pd->source, &d, err);
	dmg_policy_free(p);
	if (rc < 0)
		return rc;
	snprintf(num, sizeof(num), "%" PRIu64, d.size);
	dmg_jrec_init(reply, "probe");
	if ((rc = dmg_jrec_set(reply, "size", num, err)) < 0 ||
	    (rc = dmg_jrec_set(reply, "vg", d.vg, err)) < 0 ||
	    (rc = dmg_jrec_set(reply, "lv", d.lv, err)) < 0 || !d.thin[0])
		return rc;
	/* a thin LV: the destination creates it in its pool of this name */
	snprintf(num, sizeof(num), "%" PRIu64, d.alloc);
	if ((rc = dmg_jrec_set(reply, "thin", d.thin, err)) < 0)
		return rc;
	return dmg_jrec_set(reply, "alloc", num, err);
}

/* A closed session's final phase, read from its .closed journal, for the
 * session's own peer only. */
static int
closed_phase(struct dmg_registry *r, const char *caller, const struct dmg_jrec *req,
	     struct dmg_jrec *reply, struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(req, "sid");
	char path[512];
	struct dmg_session *s = NULL;
	int rc;

	if (!sid || strlen(sid) != DMG_SID_LEN || strspn(sid, "0123456789abcdef") != DMG_SID_LEN)
		return dmg_error_set(err, -EINVAL, "bad session id");
	snprintf(path, sizeof(path), "%s/%s.closed", r->state_dir, sid);
	if (access(path, F_OK) < 0)
		return dmg_error_set(err, -ENOENT, "no such session %s", sid);
	rc = dmg_sess_load(path, &r->env, r->log, &s, err);
	if (rc < 0)
		return rc;
	rc = dmg_sess_check_caller(s, caller, req, err);
	if (rc == 0) {
		dmg_jrec_init(reply, "state");
		rc = dmg_jrec_set(reply, "phase", dmg_phase_name(s->phase), err);
	}
	if (rc == 0)
		rc = dmg_jrec_set(reply, "dom", "unknown", err);
	dmg_journal_close(s->j);
	s->j = NULL;
	dmg_sess_free(s);
	return rc;
}

/* "fence" for a session closed here: done means the guest ran here. */
static int
fence_closed(struct dmg_registry *r, const char *caller, const struct dmg_jrec *req,
	     struct dmg_jrec *reply, struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(req, "sid"), *name;
	struct dmg_jrec st;
	enum dmg_phase ph;
	int rc = closed_phase(r, caller, req, &st, err);

	if (rc < 0)
		return rc;
	name = dmg_jrec_get(&st, "phase");
	if (dmg_phase_parse(name, &ph) < 0 || (ph != DMG_PH_DONE && ph != DMG_PH_ROLLED_BACK))
		return dmg_error_set(err, -EBUSY, "fence: session %s is %s here", sid, name ? name : "?");
	dmg_jrec_init(reply, "fence");
	return dmg_jrec_set(reply, "result", dmg_fence_result_name(ph == DMG_PH_DONE ?
			    DMG_FENCE_SWITCHED : DMG_FENCE_STOPPED), err);
}

/* "whohas", on any host: the state of a domain here. */
static int
whohas(struct dmg_registry *r, const struct dmg_jrec *req, struct dmg_jrec *reply,
       struct dmg_error *err)
{
	const char *uuid = dmg_jrec_get(req, "uuid");
	enum dmg_dom st = DMG_DOM_UNKNOWN;
	int rc;

	if (!uuid || (rc = reg_env_dom(r, uuid, &st, err)) < 0)
		return uuid ? rc : dmg_error_set(err, -EPROTO, "whohas: uuid missing");
	dmg_jrec_init(reply, "whohas");
	return dmg_jrec_set(reply, "state", dmg_dom_name(st), err);
}

int
dmg_registry_peer(struct dmg_registry *r, const char *identity, enum dmg_verb verb,
		  const struct dmg_jrec *req, struct dmg_jrec *reply, struct dmg_error *err)
{
	const char *sid = dmg_jrec_get(req, "sid");
	struct dmg_session *created = NULL;
	char caller[300];
	struct entry *e;
	int rc;

	/* The channel serves only `peers`; checked again here, since every
	 * session a caller opens or touches is bound to its entry. */
	if (!identity || reg_peer_endpoint(r, identity, NULL, caller, sizeof(caller)) < 0)
		return dmg_error_set(err, -EACCES, "not a configured peer");
	switch (verb) {
	case DMG_VERB_PROBE:
		return probe(r, req, reply, err);
	case DMG_VERB_WHOHAS:
		return whohas(r, req, reply, err);
	case DMG_VERB_FENCE:
		break;
	default:
		if (!dmg_verb_is_session(verb))
			return dmg_error_set(err, -EPROTO, "'%s' is not a peer verb",
					     dmg_verb_name(verb));
		break;
	}
	/* From here a call for one session. */
	e = reg_entry_get(r, sid);
	if (!e) {
		if (verb == DMG_VERB_STATE)
			return closed_phase(r, caller, req, reply, err);
		if (verb == DMG_VERB_FENCE)
			return fence_closed(r, caller, req, reply, err);
		if (verb != DMG_VERB_OPEN)
			return dmg_error_set(err, -ENOENT, "no such session %s", sid ? sid : "");
		rc = dmg_sess_peer_call(NULL, caller, verb, req, r->state_dir, &r->env, r->log,
					&created, reply, err);
		if (rc == 0 && created && !reg_add_entry(r, created, 0, 0)) {
			dmg_sess_free(created);
			return dmg_error_set(err, -ENOMEM, "out of memory");
		}
		if (rc == 0)
			dmg_info(r->log, "session=%s domain=%s role=src peer=%s: opened", created->sid,
				 created->domain, created->peer);
		return rc;
	}
	rc = dmg_sess_check_caller(e->s, caller, req, err);
	if (rc == 0) {
		pthread_mutex_lock(&r->mu);
		e->last_peer_ms = dmg_now_ms();
		pthread_mutex_unlock(&r->mu);
	}
	if (rc < 0) {
		dmg_warn(r->log, "session=%s: call '%s' from peer %s refused: not its session",
			 e->s->sid, dmg_verb_name(verb), caller);
	} else if (verb == DMG_VERB_FENCE) {
		rc = reg_fence_dst(r, e, reply, err);
	} else if (verb == DMG_VERB_STATE) {   /* never waits for a running step */
		rc = dmg_sess_peer_call(e->s, caller, verb, req, r->state_dir, &r->env, r->log,
					&created, reply, err);
	} else {
		pthread_mutex_lock(&e->op);
		rc = dmg_sess_peer_call(e->s, caller, verb, req, r->state_dir, &r->env, r->log,
					&created, reply, err);
		pthread_mutex_unlock(&e->op);
		reg_kick(r);
	}
	reg_entry_put(r, e);
	return rc;
}
