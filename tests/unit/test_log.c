/* The log: a line cannot be forged or hidden by what a message carries. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "unit.h"

static void
test_control_bytes(void)
{
	char path[] = "/tmp/dmg-log-XXXXXX";
	struct dmg_log l;
	size_t len = 0;
	char *text;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	dmg_log_open(&l, "test", 0, 0, DMG_LOG_DEBUG);
	l.file = fdopen(fd, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l.file);
	dmg_warn(&l, "peer said '%s'", "a\n2026-12-02 00:00:00.000 error: forged\x1b[2Kb\x7f");
	fclose(l.file);
	l.file = NULL;
	dmg_log_close(&l);
	text = read_file(path, &len);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* one line, the bytes spelled out */
	CU_ASSERT_PTR_NOT_NULL(strchr(text, '\n'));
	CU_ASSERT_EQUAL(strchr(text, '\n') - text + 1, (long)len);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "warning: peer said 'a\\x0a2026-12-02 00:00:00.000 error: forged\\x1b[2Kb\\x7f'"));
	free(text);
}

void
register_log_tests(void)
{
	CU_pSuite s = CU_add_suite("log", NULL, NULL);

	CU_add_test(s, "control bytes escaped", test_control_bytes);
}
