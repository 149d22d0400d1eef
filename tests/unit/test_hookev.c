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
}
