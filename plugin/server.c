#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "wire.h"

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
	int64_t deadline;
	struct dmg_reader rd;
	struct dmg_buf out;         /* encoded reply being written */
	size_t out_off;
};

struct dmg_server {
	char *path;
	int lfd, sfd;
	struct dmg_handler *h;
	struct client clients[DMG_MAX_CLIENTS];
	size_t nclients;
};

void
dmg_server_free(struct dmg_server *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nclients; i++) {
		close(s->clients[i].fd);
		dmg_reader_reset(&s->clients[i].rd);
		dmg_buf_free(&s->clients[i].out);
	}
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->path);
	}
	if (s->sfd >= 0)
		close(s->sfd);
	free(s->path);
	free(s);
}

int
dmg_server_new(const char *socket_path, struct dmg_handler *h,
	       struct dmg_server **out, struct dmg_error *err)
{
	struct dmg_server *s;
	sigset_t set;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(socket_path))) {
		free(s);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	s->h = h;
	s->sfd = -1;
	s->lfd = dmg_unix_listen(socket_path, 0600, err);
	if (s->lfd < 0) {
		rc = s->lfd;
		dmg_server_free(s);
		return rc;
	}
	/* Signals arrive as readable data in the loop: no handler state. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sfd < 0) {
		rc = dmg_error_sys(err, -errno, "signalfd");
		dmg_server_free(s);
		return rc;
	}
	signal(SIGPIPE, SIG_IGN);
	*out = s;
	return 0;
}

static void
drop_client(struct dmg_server *s, size_t i)
{
	struct client *c = &s->clients[i];

	close(c->fd);
	dmg_reader_reset(&c->rd);
	dmg_buf_free(&c->out);
	s->clients[i] = s->clients[--s->nclients];
}

static void
accept_client(struct dmg_server *s)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct client *c;
	int fd;

	fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		dmg_warn(s->h->log, "refused client pid %d uid %d: only root may talk to drbdmigd",
			 (int)cred.pid, (int)cred.uid);
		close(fd);
		return;
	}
	if (s->nclients == DMG_MAX_CLIENTS) {
		dmg_warn(s->h->log, "refused client pid %d: too many clients", (int)cred.pid);
		close(fd);
		return;
	}
	c = &s->clients[s->nclients++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->deadline = dmg_now_ms() + DMG_CLIENT_TIMEOUT;
}

/* Encodes the answer to req (or an error message) into the client's buffer. */
static void
answer(struct dmg_server *s, struct client *c, const struct dmg_msg *req)
{
	struct dmg_msg reply = { 0 };
	struct dmg_error err = { 0 };
	int rc;

	rc = dmg_handle(s->h, req, &reply, &err);
	if (rc == 0)
		rc = dmg_msg_encode(&reply, &c->out, &err);
	dmg_msg_clear(&reply);
	if (rc < 0) {
		dmg_warn(s->h->log, "client pid %d: %s", (int)c->pid, err.msg);
		reply.type = DMG_MSG_ERROR;
		reply.message = err.msg;
		if (dmg_msg_encode(&reply, &c->out, &err) < 0)
			c->out.len = 0;
	}
	c->out_off = 0;
}

/* Returns 0 to keep the client, -1 to drop it. */
static int
client_io(struct dmg_server *s, struct client *c, short revents)
{
	struct dmg_msg req;
	struct dmg_error err = { 0 };
	int rc;

	if (c->out.len) {
		ssize_t n;

		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
		n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)n;
		/* One request per connection: done once the reply is out. */
		return c->out_off == c->out.len ? -1 : 0;
	}
	if (!(revents & (POLLIN | POLLERR | POLLHUP)))
		return 0;
	rc = dmg_reader_feed(&c->rd, c->fd, &req, &err);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		if (rc != -EPIPE)
			dmg_warn(s->h->log, "client pid %d sent a bad message: %s", (int)c->pid, err.msg);
		return -1;
	}
	answer(s, c, &req);
	dmg_msg_clear(&req);
	return c->out.len ? 0 : -1;
}

int
dmg_server_run(struct dmg_server *s, struct dmg_error *err)
{
	struct pollfd pfd[DMG_MAX_CLIENTS + 2];

	dmg_info(s->h->log, "listening on %s", s->path);
	for (;;) {
		int64_t now = dmg_now_ms(), next = now + 60000;
		size_t i, n;
		int nready;

		pfd[0] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		n = s->nclients;
		for (i = 0; i < n; i++) {
			struct client *c = &s->clients[i];

			pfd[i + 2] = (struct pollfd){
				.fd = c->fd,
				.events = c->out.len ? POLLOUT : POLLIN,
			};
			if (c->deadline < next)
				next = c->deadline;
		}
		nready = poll(pfd, n + 2, (int)(next > now ? next - now : 0));
		if (nready < 0) {
			if (errno == EINTR)
				continue;
			return dmg_error_sys(err, -errno, "poll");
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo != SIGHUP) {
					dmg_info(s->h->log, "signal %u: shutting down", si.ssi_signo);
					return 0;
				}
				dmg_info(s->h->log, "SIGHUP ignored (nothing to reload yet)");
			}
		}
		/* Walk backwards: drop_client moves the last client into slot i. */
		now = dmg_now_ms();
		for (i = n; i-- > 0;) {
			struct client *c = &s->clients[i];

			if (client_io(s, c, pfd[i + 2].revents) < 0) {
				drop_client(s, i);
			} else if (c->deadline <= now) {
				dmg_warn(s->h->log, "client pid %d timed out", (int)c->pid);
				drop_client(s, i);
			}
		}
		if (pfd[1].revents & POLLIN)
			accept_client(s);
	}
}
