#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/handler.h"
#include "core/journal.h"
#include "core/verb.h"
#include "libvirt/policy.h"
#include "daemon/registry.h"

static int
reply_hook(struct dmg_msg *reply, uint32_t status, const char *message,
	   struct dmg_error *err)
{
	memset(reply, 0, sizeof(*reply));
	reply->type = DMG_MSG_HOOK_REPLY;
	reply->status = status;
	if (message && !(reply->message = strdup(message)))
		return dmg_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

static void
log_policy(struct dmg_handler *h, const struct dmg_policy *p)
{
	char rate[32];
	size_t i;

	for (i = 0; i < p->ndisks; i++) {
		const struct dmg_policy_disk *d = &p->disks[i];

		dmg_format_rate(d->resync_rate_kib, rate, sizeof(rate));
		dmg_info(h->log, "policy-disk domain=%s target=%s source=%s%s%s resync-rate=%s source-after=%s sync-mode=%s",
			 p->domain, d->target, d->source ? d->source : d->pool,
			 d->source ? "" : "/", d->source ? "" : d->volume, rate,
			 dmg_source_after_name(d->source_after),
			 dmg_sync_mode_name(d->sync_mode));
	}
}

static int
handle_hook(struct dmg_handler *h, const struct dmg_msg *req, struct dmg_msg *reply,
	    struct dmg_error *err)
{
	enum dmg_hook_op op = dmg_hook_op_parse(req->op);
	/* the same table the hook decided by: only `migrate begin` may refuse */
	int required = dmg_hook_action_of(op, dmg_hook_subop_parse(req->subop)) == DMG_HOOK_REQUIRED;
	struct dmg_policy *p = NULL;
	struct dmg_error perr;
	char msg[DMG_ERROR_MAX + 128], *xml = NULL;
	size_t xml_len = 0;
	int rc;

	dmg_info(h->log, "hook-request domain=%s op=%s sub=%s extra=%s xml-bytes=%zu",
		 req->domain, req->op, req->subop, req->extra, req->xml_len);
	rc = dmg_policy_parse(req->xml, req->xml_len, &p, &perr);
	if (rc < 0) {
		dmg_err(h->log, "policy-error domain=%s: %s", req->domain, perr.msg);
		if (!required)   /* never block an ordinary start/stop */
			return reply_hook(reply, 0, NULL, err);
		snprintf(msg, sizeof(msg), "drbdmig: domain '%s': invalid drbdmig policy: %s; migration refused",
			 req->domain, perr.msg);
		return reply_hook(reply, 1, msg, err);
	}
	if (!p) {
		dmg_debug(h->log, "domain=%s carries no drbdmig policy; nothing to do", req->domain);
		return reply_hook(reply, 0, NULL, err);
	}
	if (strcmp(p->domain, req->domain) != 0)
		dmg_warn(h->log, "hook-request domain=%s but the XML names '%s'", req->domain, p->domain);
	log_policy(h, p);
	if (!h->reg) {
		dmg_policy_free(p);
		return reply_hook(reply, 0, NULL, err);
	}
	if (!required) {
		rc = dmg_registry_hook_event(h->reg, req->domain, op);
		dmg_policy_free(p);
		if (rc > 0) {
			dmg_err(h->log, "hook %s %s domain=%s refused: fenced session", req->op,
				req->subop, req->domain);
			snprintf(msg, sizeof(msg), "drbdmig: domain '%s': the replication link was lost in the migration window; the guest stays on the source",
				 req->domain);
			return reply_hook(reply, 1, msg, err);
		}
		return reply_hook(reply, 0, NULL, err);
	}
	rc = dmg_registry_migrate_begin(h->reg, p, req->xml, req->xml_len, &xml, &xml_len, &perr);
	dmg_policy_free(p);
	if (rc < 0) {
		dmg_err(h->log, "migrate-begin domain=%s refused: %s", req->domain, perr.msg);
		snprintf(msg, sizeof(msg), "drbdmig: domain '%s': %s; migration refused",
			 req->domain, perr.msg);
		return reply_hook(reply, 1, msg, err);
	}
	dmg_info(h->log, "migrate-begin domain=%s: overlay ready, libvirt may migrate%s", req->domain,
		 xml ? " (with the disk paths of this host)" : "");
	rc = reply_hook(reply, 0, NULL, err);
	if (rc < 0) {
		free(xml);
		return rc;
	}
	reply->out = xml;   /* the hook prints it; libvirt takes it as the definition */
	reply->out_len = xml_len;
	return 0;
}

static int
handle_call(struct dmg_handler *h, const struct dmg_msg *req, struct dmg_msg *reply,
	    struct dmg_error *err)
{
	struct dmg_buf body = { 0 };
	struct dmg_error cerr = { 0 };
	char line[DMG_JLINE_MAX];
	size_t n = req->body_len;
	struct dmg_jrec r;
	enum dmg_verb verb;
	int rc;

	memset(reply, 0, sizeof(*reply));
	reply->type = DMG_MSG_RESULT;
	reply->seq = req->seq;

	/* Exactly one record line, newline-terminated. */
	if (n == 0 || n > sizeof(line) || req->body[n - 1] != '\n' ||
	    memchr(req->body, '\n', n - 1)) {
		rc = dmg_error_set(&cerr, -EINVAL, "a call is one record line");
	} else {
		memcpy(line, req->body, n - 1);
		line[n - 1] = '\0';
		rc = dmg_jrec_parse_line(line, &r, &cerr);
	}
	if (rc < 0) {
		reply->status = EINVAL;
		reply->message = strdup(cerr.code ? cerr.msg : "a call is one record line");
		return reply->message ? 0 : dmg_error_set(err, -ENOMEM, "out of memory");
	}
	/* The one check of a CLI request: the registry gets a known verb with
	 * the keys it takes. */
	if (!h->reg)
		rc = dmg_error_set(&cerr, -ENOTSUP, "this daemon runs without sessions");
	else if ((rc = dmg_verb_check(&r, DMG_VERB_CLI, &verb, &cerr)) == 0)
		rc = dmg_registry_cli(h->reg, verb, &r, &body, &cerr);
	dmg_info(h->log, "cli %s: %s", r.step, rc < 0 ? cerr.msg : "ok");
	if (rc < 0) {
		reply->status = (uint32_t)-rc;
		reply->message = strdup(cerr.msg);
	} else {
		reply->status = rc > 0 ? 1 : 0;   /* verify: something is wrong */
	}
	reply->body = (char *)body.data;
	reply->body_len = body.len;
	return 0;
}

int
dmg_handle(struct dmg_handler *h, const struct dmg_msg *req, struct dmg_msg *reply,
	   struct dmg_error *err)
{
	__atomic_add_fetch(&h->requests, 1, __ATOMIC_RELAXED);
	switch (req->type) {
	case DMG_MSG_HOOK_REQUEST:
		return handle_hook(h, req, reply, err);
	case DMG_MSG_CALL:
		return handle_call(h, req, reply, err);
	case DMG_MSG_PING:
		memset(reply, 0, sizeof(*reply));
		reply->type = DMG_MSG_PONG;
		reply->version = strdup(PACKAGE_VERSION);
		return reply->version ? 0 : dmg_error_set(err, -ENOMEM, "out of memory");
	default:
		return dmg_error_set(err, -EPROTO, "a %s message is not a request",
				     dmg_msg_type_name(req->type));
	}
}
