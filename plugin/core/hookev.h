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

#endif
