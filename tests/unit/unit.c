/* One CUnit runner for all unit suites, so `make check` ends with a single
 * CUnit run summary. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "unit.h"

char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

const char *
test_env(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

int
main(void)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	register_log_tests();
	register_policy_tests();
	register_proto_tests();
	register_conf_tests();
	register_endpoint_tests();
	register_hookev_tests();
	register_hook_exec_tests();
	register_storage_tests();
	register_lvm_tests();
	register_exec_tests();
	register_drbd_tests();
	register_alloc_tests();
	register_session_tests();
	register_drbd_capture_tests();
	register_journal_tests();
	register_verb_tests();
	register_peer_tests();
	register_virt_tests();
	register_registry_tests();
	CU_basic_set_mode(CU_BRM_VERBOSE);
	/* UNIT_SUITE=name runs one suite (e.g. under helgrind, which is slow). */
	if (getenv("UNIT_SUITE")) {
		CU_pSuite s = CU_get_suite(getenv("UNIT_SUITE"));

		if (!s) {
			fprintf(stderr, "unit: no suite '%s'\n", getenv("UNIT_SUITE"));
			CU_cleanup_registry();
			return 1;
		}
		CU_basic_run_suite(s);
	} else {
		CU_basic_run_tests();
	}
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_error() != CUE_SUCCESS)
		failed++;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
