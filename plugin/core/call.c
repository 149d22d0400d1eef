#include "config.h"

#include <string.h>
#include <unistd.h>

#include "core/call.h"
#include "core/journal.h"
#include "core/wire.h"

int
dmg_call_msg(const char *path, int connect_ms, int64_t deadline, const struct dmg_msg *req,
	     struct dmg_msg *rep, enum dmg_call_stage *stage, struct dmg_error *err)
{
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	fd = dmg_unix_connect(path, connect_ms, err);
	if (fd < 0) {
		*stage = DMG_CALL_CONNECT;
		return fd;
	}
	rc = dmg_msg_send(fd, req, deadline, err);
	if (rc == 0)
		rc = dmg_msg_recv(fd, rep, deadline, err);
	close(fd);
	*stage = rc < 0 ? DMG_CALL_IO : DMG_CALL_OK;
	return rc;
}

int
dmg_call(const char *path, const char *verb, const char *target, int connect_ms,
	 int64_t deadline, struct dmg_msg *rep, enum dmg_call_stage *stage, struct dmg_error *err)
{
	char line[DMG_JLINE_MAX];
	struct dmg_msg req = { .type = DMG_MSG_CALL, .seq = 1 };
	struct dmg_jrec r;
	int n;

	memset(rep, 0, sizeof(*rep));
	dmg_jrec_init(&r, verb);
	if (target && (n = dmg_jrec_set(&r, "target", target, err)) < 0) {
		*stage = DMG_CALL_REQUEST;
		return n;
	}
	n = dmg_jrec_format_line(&r, line, sizeof(line), err);
	if (n < 0) {
		*stage = DMG_CALL_REQUEST;
		return n;
	}
	req.body = line;
	req.body_len = (size_t)n;
	return dmg_call_msg(path, connect_ms, deadline, &req, rep, stage, err);
}
