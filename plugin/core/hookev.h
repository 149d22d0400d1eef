/* What the qemu hook receives from libvirt and what it must do with it:
 * argv is "<domain> <op> <sub-op> <extra>" and stdin the domain XML. */
#ifndef DMG_HOOKEV_H
#define DMG_HOOKEV_H

#include <stddef.h>

#include "core/error.h"

enum dmg_hook_action {
	DMG_HOOK_IGNORE = 0,   /* not ours: exit 0 without contacting the daemon */
	DMG_HOOK_NOTIFY,       /* tell the daemon; if it is down, carry on */
	DMG_HOOK_REQUIRED,     /* the daemon must answer, else refuse (migrate) */
};

struct dmg_hook_event {
	const char *domain, *op, *subop, *extra;   /* point into argv */
	enum dmg_hook_action action;
};

/* Parses libvirt's hook argv (argv[0] is the program). */
int dmg_hook_event_parse(int argc, char *const *argv, struct dmg_hook_event *ev,
			 struct dmg_error *err);

/* Allocation-free test for the fast path: does the XML declare the drbdmig
 * namespace?  A false positive only costs a daemon round trip (the daemon
 * parses properly); a well-formed annotation is never missed. */
int dmg_hook_sniff_annotation(const char *xml, size_t len);

/* libvirt's qemu hook operations (argv[2]), each turned into the enum once
 * where it is read.  libvirt may add operations: one not listed here is
 * UNKNOWN and ignored, never refused. */
enum dmg_hook_op {
	DMG_HOOK_OP_UNKNOWN = 0,
	DMG_HOOK_OP_PREPARE,
	DMG_HOOK_OP_START,
	DMG_HOOK_OP_STARTED,
	DMG_HOOK_OP_STOPPED,
	DMG_HOOK_OP_RELEASE,
	DMG_HOOK_OP_MIGRATE,
	DMG_HOOK_OP_RESTORE,
	DMG_HOOK_OP_RECONNECT,
	DMG_HOOK_OP_ATTACH,
	DMG_HOOK_OP_MAX
};

/* Their sub-operations (argv[3]); "-" and anything else: UNKNOWN. */
enum dmg_hook_subop {
	DMG_HOOK_SUB_UNKNOWN = 0,
	DMG_HOOK_SUB_BEGIN,
	DMG_HOOK_SUB_END,
	DMG_HOOK_SUB_MAX
};

/* Names: "?" for UNKNOWN and anything out of range.  Parsers: UNKNOWN for
 * NULL or a name not listed. */
const char *dmg_hook_op_name(enum dmg_hook_op op);
enum dmg_hook_op dmg_hook_op_parse(const char *name);
const char *dmg_hook_subop_name(enum dmg_hook_subop sub);
enum dmg_hook_subop dmg_hook_subop_parse(const char *name);

/* What drbdmig does with an event: the one table the hook (through
 * dmg_hook_event_parse) and the daemon both decide by. */
enum dmg_hook_action dmg_hook_action_of(enum dmg_hook_op op, enum dmg_hook_subop sub);

#endif
