#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/server.h"
#include "core/wire.h"

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
	int64_t deadline;
	struct dmg_reader rd;
};

struct dmg_server {
	char *path;
	int lfd, sfd;
	struct dmg_handler *h;
	struct client clients[DMG_MAX_CLIENTS];
	size_t nclients;
	pthread_mutex_t mu;         /* workers */
	pthread_cond_t cv;
	int nworkers;
};

/* A request being answered on its own thread: a destination's `migrate
 * begin` blocks for the whole initial sync while the loop keeps serving
 * `drbdmig status` and other hooks. */
struct work {
	struct dmg_server *s;
	int fd;
	pid_t pid;
	struct dmg_msg req;
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
	}
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->path);
	}
	if (s->sfd >= 0)
		close(s->sfd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

int
dmg_server_drain(struct dmg_server *s, int timeout_ms)
{
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	pthread_mutex_lock(&s->mu);
	while (s->nworkers > 0 &&
	       pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
		;
	n = s->nworkers;
	pthread_mutex_unlock(&s->mu);
	return n;
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
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
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

	if (c->fd >= 0)
		close(c->fd);
	dmg_reader_reset(&c->rd);
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

static void *
worker(void *arg)
{
	struct work *w = arg;
	struct dmg_server *s = w->s;
	struct dmg_msg reply = { 0 };
	struct dmg_error err = { 0 };
	struct dmg_buf out = { 0 };
	int rc;

	rc = dmg_handle(s->h, &w->req, &reply, &err);
	if (rc == 0)
		rc = dmg_msg_encode(&reply, &out, &err);
	dmg_msg_clear(&reply);
	if (rc < 0) {
		dmg_warn(s->h->log, "client pid %d: %s", (int)w->pid, err.msg);
		reply.type = DMG_MSG_ERROR;
		reply.message = err.msg;
		rc = dmg_msg_encode(&reply, &out, &err);
	}
	if (rc == 0 && dmg_write_all(w->fd, out.data, out.len, dmg_now_ms() + DMG_CLIENT_TIMEOUT, &err) < 0)
		dmg_warn(s->h->log, "client pid %d: reply not delivered: %s", (int)w->pid, err.msg);
	dmg_buf_free(&out);
	close(w->fd);
	dmg_msg_clear(&w->req);
	free(w);
	pthread_mutex_lock(&s->mu);
	s->nworkers--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Hands the client's fd and request to a worker thread (which owns both
 * from here); returns -1 if that failed and the client is to be dropped. */
static int
dispatch(struct dmg_server *s, struct client *c, struct dmg_msg *req)
{
	struct work *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (!w) {
		dmg_msg_clear(req);
		return -1;
	}
	w->s = s;
	w->fd = c->fd;
	w->pid = c->pid;
	w->req = *req;
	memset(req, 0, sizeof(*req));
	pthread_mutex_lock(&s->mu);
	s->nworkers++;
	pthread_mutex_unlock(&s->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, worker, w);
	pthread_attr_destroy(&attr);
	if (rc == 0) {
		c->fd = -1;   /* the worker owns it now */
		return -1;
	}
	dmg_warn(s->h->log, "client pid %d: cannot start a worker thread", (int)c->pid);
	dmg_msg_clear(&w->req);
	free(w);
	pthread_mutex_lock(&s->mu);
	s->nworkers--;
	pthread_mutex_unlock(&s->mu);
	return -1;
}

/* Returns 0 to keep the client, -1 to drop it. */
static int
client_io(struct dmg_server *s, struct client *c, short revents)
{
	struct dmg_msg req;
	struct dmg_error err = { 0 };
	int rc;

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
	return dispatch(s, c, &req);
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
				.events = POLLIN,
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
