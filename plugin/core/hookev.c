#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/hookev.h"
#include "core/policy_ns.h"

/* Events drbdmig cares about for an annotated domain.  Only the destination's
 * `migrate begin` may refuse: everything else must never stop an ordinary
 * start or stop of a guest. */
static const struct {
	const char *op, *subop;
	enum dmg_hook_action action;
} events[] = {
	{ "migrate", "begin", DMG_HOOK_REQUIRED },
	{ "prepare", "begin", DMG_HOOK_NOTIFY },
	{ "start", "begin", DMG_HOOK_NOTIFY },
	{ "started", "begin", DMG_HOOK_NOTIFY },
	{ "stopped", "end", DMG_HOOK_NOTIFY },
	{ "release", "end", DMG_HOOK_NOTIFY },
	{ "reconnect", "begin", DMG_HOOK_NOTIFY },
};

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
	ev->action = DMG_HOOK_IGNORE;
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (strcmp(events[i].op, ev->op) == 0 &&
		    strcmp(events[i].subop, ev->subop) == 0)
			ev->action = events[i].action;
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
