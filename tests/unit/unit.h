#ifndef DMG_TEST_UNIT_H
#define DMG_TEST_UNIT_H

#include <stddef.h>

#include <CUnit/CUnit.h>

void register_policy_tests(void);
void register_proto_tests(void);
void register_conf_tests(void);
void register_endpoint_tests(void);
void register_hookev_tests(void);
void register_hook_exec_tests(void);
void register_storage_tests(void);
void register_lvm_tests(void);
void register_exec_tests(void);
void register_drbd_tests(void);
void register_alloc_tests(void);
void register_session_tests(void);
void register_drbd_capture_tests(void);
void register_journal_tests(void);
void register_verb_tests(void);
void register_peer_tests(void);
void register_virt_tests(void);
void register_log_tests(void);
void register_registry_tests(void);

/* Reads a whole file (tests only); NULL if missing. */
char *read_file(const char *path, size_t *len);
/* Environment variable or fallback. */
const char *test_env(const char *name, const char *fallback);

#endif
