#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

static int
parse(const char *text, struct dmg_conf *c, struct dmg_error *err)
{
	dmg_conf_defaults(c);
	return dmg_conf_parse(text, strlen(text), "test.conf", c, err);
}

static void
test_defaults(void)
{
	struct dmg_conf c;
	struct dmg_error err;

	CU_ASSERT_EQUAL(parse("", &c, &err), 0);
	CU_ASSERT_EQUAL(c.hook_migrate_timeout, 900);
	CU_ASSERT_EQUAL(c.hook_event_timeout, 10);
	CU_ASSERT_EQUAL(c.log_level, DMG_LOG_INFO);
}

static void
test_values(void)
{
	struct dmg_conf c;
	struct dmg_error err;
	char buf[512];

	CU_ASSERT_EQUAL(parse("# comment\n\n  hook_migrate_timeout = 1200  # twenty minutes\n"
			      "hook_event_timeout=3\r\nlog_level = debug", &c, &err), 0);
	CU_ASSERT_EQUAL(c.hook_migrate_timeout, 1200);
	CU_ASSERT_EQUAL(c.hook_event_timeout, 3);
	CU_ASSERT_EQUAL(c.log_level, DMG_LOG_DEBUG);
	dmg_conf_format(&c, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "hook_migrate_timeout = 1200\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "log_level = debug\n"));
}

static void
expect(const char *text, const char *needle)
{
	struct dmg_conf c;
	struct dmg_error err;

	CU_ASSERT(parse(text, &c, &err) < 0);
	if (!strstr(err.msg, needle))
		fprintf(stderr, "\n  '%s' lacks '%s'\n", err.msg, needle);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle));
	/* Nothing half-applied. */
	CU_ASSERT_EQUAL(c.hook_migrate_timeout, 900);
}

static void
test_errors(void)
{
	expect("hook_migrate_timeout = 10\nfoo = 1\n", "test.conf line 2: unknown option 'foo'");
	expect("hook_migrate_timeout\n", "expected 'key = value'");
	expect("hook_migrate_timeout = 0\n", "from 1 to 86400");
	expect("hook_migrate_timeout = 99999999999999999999\n", "from 1 to 86400");
	expect("hook_migrate_timeout = -5\n", "whole number");
	expect("hook_migrate_timeout = 5s\n", "whole number");
	expect("hook_migrate_timeout = \n", "whole number");
	expect("hook_migrate_timeout = 10\nhook_migrate_timeout = 20\n", "set twice");
	expect("log_level = loud\n", "error, warning, info or debug");
	{
		struct dmg_conf c;
		struct dmg_error err;
		static const char nul[] = "log_level = info\0\n";

		dmg_conf_defaults(&c);
		CU_ASSERT(dmg_conf_parse(nul, sizeof(nul) - 1, "x", &c, &err) < 0);
	}
	{
		char longline[2000];

		memset(longline, 'a', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = '\0';
		expect(longline, "line too long");
	}
}

static void
test_load(void)
{
	char path[] = "/tmp/dmg-conf-XXXXXX";
	struct dmg_conf c;
	struct dmg_error err;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "hook_event_timeout = 7\n", 23), 23);
	close(fd);
	dmg_conf_defaults(&c);
	CU_ASSERT_EQUAL(dmg_conf_load(path, 0, &c, &err), 0);
	CU_ASSERT_EQUAL(c.hook_event_timeout, 7);
	unlink(path);
	CU_ASSERT_EQUAL(dmg_conf_load(path, 1, &c, &err), 0);
	CU_ASSERT_EQUAL(dmg_conf_load(path, 0, &c, &err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
}

void
register_conf_tests(void)
{
	CU_pSuite s = CU_add_suite("conf", NULL, NULL);

	CU_add_test(s, "defaults", test_defaults);
	CU_add_test(s, "values, comments, blanks", test_values);
	CU_add_test(s, "errors name the line and leave defaults", test_errors);
	CU_add_test(s, "load from file", test_load);
}
