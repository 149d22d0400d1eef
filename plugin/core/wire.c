#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/defaults.h"
#include "core/wire.h"

int
dmg_set_nonblock(int fd, struct dmg_error *err)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return dmg_error_sys(err, -errno, "fcntl(O_NONBLOCK)");
	return 0;
}

void
dmg_reader_reset(struct dmg_reader *r)
{
	free(r->frame);
	memset(r, 0, sizeof(*r));
}

int
dmg_reader_feed(struct dmg_reader *r, int fd, struct dmg_msg *m,
		struct dmg_error *err)
{
	for (;;) {
		size_t want;
		unsigned char *dst;
		ssize_t n;
		int rc;

		if (r->have < DMG_PROTO_HDR) {
			want = DMG_PROTO_HDR - r->have;
			dst = r->hdr + r->have;
		} else {
			want = DMG_PROTO_HDR + (size_t)r->plen - r->have;
			dst = r->frame + r->have;
		}
		if (want == 0) {
			rc = dmg_msg_decode(r->frame, DMG_PROTO_HDR + (size_t)r->plen, m, err);
			dmg_reader_reset(r);
			return rc < 0 ? rc : 1;
		}
		n = read(fd, dst, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return dmg_error_sys(err, -errno, "read");
		}
		if (n == 0)
			return dmg_error_set(err, -EPIPE, r->have ? "connection closed mid-message"
							      : "connection closed");
		r->have += (size_t)n;
		if (r->have == DMG_PROTO_HDR && !r->frame) {
			uint16_t type;

			/* Validate the header before allocating for the payload. */
			rc = dmg_msg_header(r->hdr, &type, &r->plen, err);
			if (rc < 0)
				return rc;
			r->frame = malloc(DMG_PROTO_HDR + (size_t)r->plen);
			if (!r->frame)
				return dmg_error_set(err, -ENOMEM, "out of memory");
			memcpy(r->frame, r->hdr, DMG_PROTO_HDR);
		}
	}
}

static int
wait_fd(int fd, short events, int64_t deadline, struct dmg_error *err)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - dmg_now_ms();
		int n;

		if (left <= 0)
			return dmg_error_set(err, -ETIMEDOUT, "timed out");
		n = poll(&p, 1, left > DMG_POLL_SLICE_MS ? DMG_POLL_SLICE_MS : (int)left);
		if (n < 0 && errno != EINTR)
			return dmg_error_sys(err, -errno, "poll");
		if (n > 0)
			return 0;
	}
}

int
dmg_write_all(int fd, const void *buf, size_t len, int64_t deadline,
	      struct dmg_error *err)
{
	const unsigned char *p = buf;
	int rc;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return dmg_error_sys(err, -errno, "write");
			rc = wait_fd(fd, POLLOUT, deadline, err);
			if (rc < 0)
				return rc;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
dmg_msg_send(int fd, const struct dmg_msg *m, int64_t deadline,
	     struct dmg_error *err)
{
	struct dmg_buf b = { 0 };
	int rc;

	rc = dmg_msg_encode(m, &b, err);
	if (rc == 0)
		rc = dmg_write_all(fd, b.data, b.len, deadline, err);
	dmg_buf_free(&b);
	return rc;
}

int
dmg_msg_recv(int fd, struct dmg_msg *m, int64_t deadline, struct dmg_error *err)
{
	struct dmg_reader r = { 0 };
	int rc;

	memset(m, 0, sizeof(*m));
	for (;;) {
		rc = dmg_reader_feed(&r, fd, m, err);
		if (rc != 0)
			break;
		rc = wait_fd(fd, POLLIN, deadline, err);
		if (rc < 0)
			break;
	}
	dmg_reader_reset(&r);
	return rc < 0 ? rc : 0;
}

static int
fill_addr(struct sockaddr_un *sa, const char *path, struct dmg_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return dmg_error_set(err, -ENAMETOOLONG, "socket path too long: %s", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int
dmg_unix_connect(const char *path, int timeout_ms, struct dmg_error *err)
{
	struct sockaddr_un sa;
	socklen_t sl = sizeof(int);
	int fd, rc, soerr = 0;

	rc = fill_addr(&sa, path, err);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dmg_error_sys(err, -errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		rc = dmg_error_sys(err, -errno, "%s", path);
		close(fd);
		return rc;
	}
	/* A UNIX connect only blocks while the listen backlog is full. */
	rc = wait_fd(fd, POLLOUT, dmg_now_ms() + timeout_ms, err);
	if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
		rc = dmg_error_sys(err, -soerr, "%s", path);
	else if (rc < 0)
		dmg_error_prefix(err, "%s", path);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int
dmg_unix_listen(const char *path, mode_t mode, struct dmg_error *err)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, rc;

	rc = fill_addr(&sa, path, err);
	if (rc < 0)
		return rc;
	/* Replace a stale socket file, but never anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return dmg_error_set(err, -EEXIST, "%s exists and is not a socket", path);
		rc = dmg_unix_connect(path, 200, NULL);
		if (rc >= 0) {
			close(rc);
			return dmg_error_set(err, -EADDRINUSE,
					     "%s: another drbdmigd is already listening", path);
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dmg_error_sys(err, -errno, "socket");
	old = umask(0777 & ~mode);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		rc = dmg_error_sys(err, -errno, "cannot listen on %s", path);
		close(fd);
		return rc;
	}
	return fd;
}
