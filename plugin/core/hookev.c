#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/hookev.h"
#include "core/names.h"
#include "core/policy_ns.h"

static const char *const op_names[DMG_HOOK_OP_MAX] = {
	[DMG_HOOK_OP_PREPARE] = "prepare", [DMG_HOOK_OP_START] = "start",
	[DMG_HOOK_OP_STARTED] = "started", [DMG_HOOK_OP_STOPPED] = "stopped",
	[DMG_HOOK_OP_RELEASE] = "release", [DMG_HOOK_OP_MIGRATE] = "migrate",
	[DMG_HOOK_OP_RESTORE] = "restore", [DMG_HOOK_OP_RECONNECT] = "reconnect",
	[DMG_HOOK_OP_ATTACH] = "attach",
};

static const char *const subop_names[DMG_HOOK_SUB_MAX] = {
	[DMG_HOOK_SUB_BEGIN] = "begin", [DMG_HOOK_SUB_END] = "end",
};

/* Events drbdmig cares about for an annotated domain.  Only the destination's
 * `migrate begin` may refuse: everything else must never stop an ordinary
 * start or stop of a guest. */
static const struct {
	enum dmg_hook_op op;
	enum dmg_hook_subop subop;
	enum dmg_hook_action action;
} events[] = {
	{ DMG_HOOK_OP_MIGRATE, DMG_HOOK_SUB_BEGIN, DMG_HOOK_REQUIRED },
	{ DMG_HOOK_OP_PREPARE, DMG_HOOK_SUB_BEGIN, DMG_HOOK_NOTIFY },
	{ DMG_HOOK_OP_START, DMG_HOOK_SUB_BEGIN, DMG_HOOK_NOTIFY },
	{ DMG_HOOK_OP_STARTED, DMG_HOOK_SUB_BEGIN, DMG_HOOK_NOTIFY },
	{ DMG_HOOK_OP_STOPPED, DMG_HOOK_SUB_END, DMG_HOOK_NOTIFY },
	{ DMG_HOOK_OP_RELEASE, DMG_HOOK_SUB_END, DMG_HOOK_NOTIFY },
	{ DMG_HOOK_OP_RECONNECT, DMG_HOOK_SUB_BEGIN, DMG_HOOK_NOTIFY },
};

const char *
dmg_hook_op_name(enum dmg_hook_op op)
{
	return dmg_name_of(op_names, DMG_HOOK_OP_UNKNOWN + 1, DMG_HOOK_OP_MAX, op);
}

enum dmg_hook_op
dmg_hook_op_parse(const char *name)
{
	int i = dmg_name_index(op_names, DMG_HOOK_OP_UNKNOWN + 1, DMG_HOOK_OP_MAX, name);

	return i < 0 ? DMG_HOOK_OP_UNKNOWN : (enum dmg_hook_op)i;
}

const char *
dmg_hook_subop_name(enum dmg_hook_subop sub)
{
	return dmg_name_of(subop_names, DMG_HOOK_SUB_UNKNOWN + 1, DMG_HOOK_SUB_MAX, sub);
}

enum dmg_hook_subop
dmg_hook_subop_parse(const char *name)
{
	int i = dmg_name_index(subop_names, DMG_HOOK_SUB_UNKNOWN + 1, DMG_HOOK_SUB_MAX, name);

	return i < 0 ? DMG_HOOK_SUB_UNKNOWN : (enum dmg_hook_subop)i;
}

enum dmg_hook_action
dmg_hook_action_of(enum dmg_hook_op op, enum dmg_hook_subop sub)
{
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (events[i].op == op && events[i].subop == sub)
			return events[i].action;
	return DMG_HOOK_IGNORE;   /* unknown ops included */
}

int
dmg_hook_event_parse(int argc, char *const *argv, struct dmg_hook_event *ev,
		     struct dmg_error *err)
{
	size_t i;

	memset(ev, 0, sizeof(*ev));
	/* libvirt passes exactly four; tolerate more from a future libvirt. */
	if (argc < 5)
		return dmg_error_set(err, -EINVAL,
				     "expected libvirt hook arguments: <domain> <operation> <sub-operation> <extra>");
	for (i = 1; i < 5; i++)
		if (!argv[i] || strlen(argv[i]) > 255)
			return dmg_error_set(err, -EINVAL, "hook argument %zu is missing or too long", i);
	if (!argv[1][0])
		return dmg_error_set(err, -EINVAL, "empty domain name in hook arguments");
	ev->domain = argv[1];
	ev->op = argv[2];
	ev->subop = argv[3];
	ev->extra = argv[4];
	ev->action = dmg_hook_action_of(dmg_hook_op_parse(ev->op), dmg_hook_subop_parse(ev->subop));
	return 0;
}

int
dmg_hook_sniff_annotation(const char *xml, size_t len)
{
	static const char ns[] = DMG_POLICY_NS;
	const size_t nl = sizeof(ns) - 1;
	const char *p = xml, *end = xml + len, *hit;

	while (p < end && (hit = memmem(p, (size_t)(end - p), ns, nl))) {
		/* A namespace declaration quotes the URI on both sides. */
		if (hit > xml && hit + nl < end &&
		    (hit[-1] == '"' || hit[-1] == '\'') && hit[nl] == hit[-1])
			return 1;
		p = hit + 1;
	}
	return 0;
}
