/* drbdmigd's live sessions: the table, the glue between the session engine
 * and the daemon's world (storage backend, libvirt, peer channel), the
 * settle thread that moves sessions on after libvirt events and timeouts,
 * recovery of journals at start, and the verbs of the CLI and of peers.
 *
 * The daemon's threads and locks (the locking model): registry_int.h,
 * which also holds the registry's private parts. */
#ifndef DMG_REGISTRY_H
#define DMG_REGISTRY_H

#include "storage/backend.h"
#include "core/hookev.h"
#include "core/journal.h"
#include "core/log.h"
#include "libvirt/policy.h"
#include "core/proto.h"
#include "core/verb.h"
#include "engine/session.h"

struct dmg_virt;
struct dmg_virt_event;
struct dmg_peer_ctx;

struct dmg_reg_conf {
	const char *state_dir;       /* journals */
	unsigned sync_timeout;       /* s, initial sync */
	unsigned hook_timeout;       /* s the hook waits on migrate begin */
	unsigned peer_timeout;       /* s per peer call */
	unsigned grace;              /* s after READY before a missing QEMU means failure */
	const char *self_host;       /* endpoint peers reach this daemon at */
	unsigned self_port;
	const char *peers;           /* space-separated host[:port] to ask who runs a domain */
};

struct dmg_registry;

int dmg_registry_new(const struct dmg_reg_conf *conf, struct dmg_backend *b,
		     struct dmg_log *log, struct dmg_registry **out, struct dmg_error *err);
void dmg_registry_set_virt(struct dmg_registry *r, struct dmg_virt *v);
void dmg_registry_set_peer(struct dmg_registry *r, struct dmg_peer_ctx *pc);
/* Loads every unfinished journal of the state directory. */
int dmg_registry_recover(struct dmg_registry *r, struct dmg_error *err);
/* Starts the settle thread. */
int dmg_registry_start(struct dmg_registry *r, struct dmg_error *err);
/* Stops the settle thread and frees every session (journals stay). */
void dmg_registry_free(struct dmg_registry *r);

/* libvirt lifecycle events (the dmg_virt callback; arg is the registry). */
void dmg_registry_virt_event(const struct dmg_virt_event *ev, void *arg);

/* The destination's `migrate begin`: builds and syncs; blocks.  0 = let
 * libvirt migrate; negative = refuse (err says why, one line).  On 0, *out
 * is NULL, or the domain XML (malloc'd, *outlen bytes) the hook must hand
 * back to libvirt because a disk's path does not open its LV here. */
int dmg_registry_migrate_begin(struct dmg_registry *r, const struct dmg_policy *p,
			       const char *xml, size_t len, char **out, size_t *outlen,
			       struct dmg_error *err);
/* Any other hook event of an annotated domain on this host.  Returns 1 when
 * the hook must refuse (a QEMU starting for a fenced destination session),
 * else 0. */
int dmg_registry_hook_event(struct dmg_registry *r, const char *domain, enum dmg_hook_op op);
/* Queues stamping this host's endpoint into a running annotated domain
 * (NULL: every one); done on the settle thread. */
void dmg_registry_stamp(struct dmg_registry *r, const char *domain);

/* CLI verbs: status, verify, cleanup, cancel, fence: verb, with req as
 * dmg_verb_check() let it through on DMG_VERB_CLI.  body receives result
 * lines; returns 0, or a positive "something is wrong" for verify, or
 * negative. */
int dmg_registry_cli(struct dmg_registry *r, enum dmg_verb verb, const struct dmg_jrec *req,
		     struct dmg_buf *body, struct dmg_error *err);
/* Peer verbs (session calls, probe, whohas, fence), from the authenticated
 * peer named identity (the `peers` entry it proved to be): verb, with req
 * as dmg_verb_check() let it through on DMG_VERB_PEER. */
int dmg_registry_peer(struct dmg_registry *r, const char *identity, enum dmg_verb verb,
		      const struct dmg_jrec *req, struct dmg_jrec *reply, struct dmg_error *err);

#endif
