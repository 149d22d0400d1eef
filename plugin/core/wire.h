/* Moving dmg messages over stream sockets: an incremental frame reader that
 * the daemon's event loop feeds, and blocking send/receive with a deadline
 * (built on the same reader) for the hook and the CLI. */
#ifndef DMG_WIRE_H
#define DMG_WIRE_H

#include <stdint.h>
#include <sys/types.h>

#include "core/clock.h"
#include "core/proto.h"

struct dmg_reader {
	unsigned char hdr[DMG_PROTO_HDR];
	size_t have;               /* bytes of header + payload received */
	uint32_t plen;             /* payload length, valid once have >= HDR */
	unsigned char *frame;      /* header + payload once the header is in */
};

void dmg_reader_reset(struct dmg_reader *r);

/* Reads what fd has.  Returns 1 when a whole frame was decoded into m, 0 when
 * more bytes are needed (EAGAIN), -EPIPE on EOF, other negative on error. */
int dmg_reader_feed(struct dmg_reader *r, int fd, struct dmg_msg *m,
		    struct dmg_error *err);

/* Blocking helpers; deadline is an absolute dmg_now_ms() value. */
int dmg_msg_send(int fd, const struct dmg_msg *m, int64_t deadline,
		 struct dmg_error *err);
int dmg_msg_recv(int fd, struct dmg_msg *m, int64_t deadline,
		 struct dmg_error *err);
int dmg_write_all(int fd, const void *buf, size_t len, int64_t deadline,
		  struct dmg_error *err);

/* UNIX stream sockets.  connect waits at most timeout_ms. */
int dmg_unix_connect(const char *path, int timeout_ms, struct dmg_error *err);
int dmg_unix_listen(const char *path, mode_t mode, struct dmg_error *err);

int dmg_set_nonblock(int fd, struct dmg_error *err);

#endif
