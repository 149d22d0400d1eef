#include "config.h"

#include <string.h>

#include "core/hookev.h"
#include "unit.h"

static void
test_argv(void)
{
	char *ok[] = { "drbdmig", "vm1", "migrate", "begin", "-", NULL };
	char *started[] = { "drbdmig", "vm1", "started", "begin", "-", NULL };
	char *restore[] = { "drbdmig", "vm1", "restore", "begin", "-", NULL };
	char *future[] = { "drbdmig", "vm1", "stopped", "end", "migrated", "extra", NULL };
	char *mismatch[] = { "drbdmig", "vm1", "migrate", "end", "-", NULL };
	char *few[] = { "drbdmig", "vm1", "migrate", "begin", NULL };
	char *empty[] = { "drbdmig", "", "migrate", "begin", "-", NULL };
	struct dmg_hook_event ev;
	struct dmg_error err;
	char longname[300];

	CU_ASSERT_EQUAL(dmg_hook_event_parse(5, ok, &ev, &err), 0);
	CU_ASSERT_STRING_EQUAL(ev.domain, "vm1");
	CU_ASSERT_EQUAL(ev.action, DMG_HOOK_REQUIRED);
	CU_ASSERT_EQUAL(dmg_hook_event_parse(5, started, &ev, &err), 0);
	CU_ASSERT_EQUAL(ev.action, DMG_HOOK_NOTIFY);
	CU_ASSERT_EQUAL(dmg_hook_event_parse(5, restore, &ev, &err), 0);
	CU_ASSERT_EQUAL(ev.action, DMG_HOOK_IGNORE);
	CU_ASSERT_EQUAL(dmg_hook_event_parse(6, future, &ev, &err), 0);
	CU_ASSERT_EQUAL(ev.action, DMG_HOOK_NOTIFY);
	CU_ASSERT_STRING_EQUAL(ev.extra, "migrated");
	CU_ASSERT_EQUAL(dmg_hook_event_parse(5, mismatch, &ev, &err), 0);
	CU_ASSERT_EQUAL(ev.action, DMG_HOOK_IGNORE);
	CU_ASSERT(dmg_hook_event_parse(4, few, &ev, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "<domain> <operation>"));
	CU_ASSERT(dmg_hook_event_parse(1, few, &ev, &err) < 0);
	CU_ASSERT(dmg_hook_event_parse(5, empty, &ev, &err) < 0);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ok[1] = longname;
	CU_ASSERT(dmg_hook_event_parse(5, ok, &ev, &err) < 0);
}

/* Every op and sub-op name round-trips; an op libvirt adds later, "-", a
 * near miss or NULL is UNKNOWN, and UNKNOWN is always ignored. */
static void
test_ops(void)
{
	static const char *const libvirt_ops[] = {
		"prepare", "start", "started", "stopped", "release", "migrate", "restore",
		"reconnect", "attach",
	};
	char *attach[] = { "drbdmig", "vm1", "attach", "begin", "-", NULL };
	char *added[] = { "drbdmig", "vm1", "checkpoint", "begin", "-", NULL };
	struct dmg_hook_event ev;
	struct dmg_error err;
	int i, k;

	for (i = DMG_HOOK_OP_UNKNOWN + 1; i < DMG_HOOK_OP_MAX; i++) {
		const char *name = dmg_hook_op_name((enum dmg_hook_op)i);

		CU_ASSERT(strcmp(name, "?") != 0);
		CU_ASSERT_EQUAL(dmg_hook_op_parse(name), i);
		for (k = i + 1; k < DMG_HOOK_OP_MAX; k++)
			CU_ASSERT(strcmp(name, dmg_hook_op_name((enum dmg_hook_op)k)) != 0);
	}
	CU_ASSERT_EQUAL(sizeof(libvirt_ops) / sizeof(libvirt_ops[0]), DMG_HOOK_OP_MAX - 1);
	for (i = 0; i < (int)(sizeof(libvirt_ops) / sizeof(libvirt_ops[0])); i++)
		CU_ASSERT_STRING_EQUAL(dmg_hook_op_name(dmg_hook_op_parse(libvirt_ops[i])), libvirt_ops[i]);
	CU_ASSERT_EQUAL(dmg_hook_op_parse("migrate"), DMG_HOOK_OP_MIGRATE);
	CU_ASSERT_EQUAL(dmg_hook_op_parse("checkpoint"), DMG_HOOK_OP_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_hook_op_parse("Migrate"), DMG_HOOK_OP_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_hook_op_parse("migrat"), DMG_HOOK_OP_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_hook_op_parse("?"), DMG_HOOK_OP_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_hook_op_parse(""), DMG_HOOK_OP_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_hook_op_parse(NULL), DMG_HOOK_OP_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(dmg_hook_op_name(DMG_HOOK_OP_UNKNOWN), "?");
	CU_ASSERT_STRING_EQUAL(dmg_hook_op_name(DMG_HOOK_OP_MAX), "?");

	for (i = DMG_HOOK_SUB_UNKNOWN + 1; i < DMG_HOOK_SUB_MAX; i++)
		CU_ASSERT_EQUAL(dmg_hook_subop_parse(dmg_hook_subop_name((enum dmg_hook_subop)i)), i);
	CU_ASSERT_EQUAL(dmg_hook_subop_parse("begin"), DMG_HOOK_SUB_BEGIN);
	CU_ASSERT_EQUAL(dmg_hook_subop_parse("end"), DMG_HOOK_SUB_END);
	CU_ASSERT_EQUAL(dmg_hook_subop_parse("-"), DMG_HOOK_SUB_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_hook_subop_parse(NULL), DMG_HOOK_SUB_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(dmg_hook_subop_name(DMG_HOOK_SUB_UNKNOWN), "?");
	CU_ASSERT_STRING_EQUAL(dmg_hook_subop_name(DMG_HOOK_SUB_MAX), "?");

	/* only the destination's `migrate begin` may refuse */
	for (i = 0; i < DMG_HOOK_OP_MAX; i++)
		for (k = 0; k < DMG_HOOK_SUB_MAX; k++)
			CU_ASSERT_EQUAL(dmg_hook_action_of((enum dmg_hook_op)i, (enum dmg_hook_subop)k) ==
					DMG_HOOK_REQUIRED,
					i == DMG_HOOK_OP_MIGRATE && k == DMG_HOOK_SUB_BEGIN);
	for (k = 0; k < DMG_HOOK_SUB_MAX; k++)
		CU_ASSERT_EQUAL(dmg_hook_action_of(DMG_HOOK_OP_UNKNOWN, (enum dmg_hook_subop)k),
				DMG_HOOK_IGNORE);
	CU_ASSERT_EQUAL(dmg_hook_action_of(DMG_HOOK_OP_STOPPED, DMG_HOOK_SUB_END), DMG_HOOK_NOTIFY);
	CU_ASSERT_EQUAL(dmg_hook_action_of(DMG_HOOK_OP_STOPPED, DMG_HOOK_SUB_BEGIN), DMG_HOOK_IGNORE);
	CU_ASSERT_EQUAL(dmg_hook_event_parse(5, attach, &ev, &err), 0);
	CU_ASSERT_EQUAL(ev.action, DMG_HOOK_IGNORE);
	CU_ASSERT_EQUAL(dmg_hook_event_parse(5, added, &ev, &err), 0);
	CU_ASSERT_EQUAL(ev.action, DMG_HOOK_IGNORE);
	CU_ASSERT_STRING_EQUAL(ev.op, "checkpoint");
}

static void
test_sniff(void)
{
	static const char *const yes[] = {
		"<metadata><d:policy xmlns:d=\"urn:drbdmig:1\"/></metadata>",
		"<metadata><d:policy xmlns:d='urn:drbdmig:1'/></metadata>",
		"<policy xmlns = 'urn:drbdmig:1'/>",
	};
	static const char *const no[] = {
		"", "urn:drbdmig:1", "<description>urn:drbdmig:1</description>",
		"<x xmlns:d='urn:drbdmig:10'/>", "<x xmlns:d='urn:drbdmig:1\"/>",
		"'urn:drbdmig:1", "<x xmlns:d='xurn:drbdmig:1'/>",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CU_ASSERT_EQUAL(dmg_hook_sniff_annotation(yes[i], strlen(yes[i])), 1);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CU_ASSERT_EQUAL(dmg_hook_sniff_annotation(no[i], strlen(no[i])), 0);
	/* Length is honoured: the match past len must not count. */
	CU_ASSERT_EQUAL(dmg_hook_sniff_annotation(yes[0], 20), 0);
}

void
register_hookev_tests(void)
{
	CU_pSuite s = CU_add_suite("hookev", NULL, NULL);

	CU_add_test(s, "libvirt hook argv", test_argv);
	CU_add_test(s, "annotation sniffing", test_sniff);
	CU_add_test(s, "hook operations and their actions", test_ops);
}
