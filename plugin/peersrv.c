#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"
#include "peersrv.h"
#include "registry.h"
#include "wire.h"

#define MAX_CONNS 32

struct dmg_peersrv {
	struct dmg_peer_ctx *pc;
	struct dmg_registry *r;
	struct dmg_log *log;
	unsigned timeout_s;
	int lfd, stopfd[2];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nconns, stop;
};

struct conn {
	struct dmg_peersrv *p;
	int fd;
};

static void
serve(struct dmg_peersrv *p, struct dmg_peer_conn *c)
{
	for (;;) {
		struct dmg_jrec req, reply;
		struct dmg_error err = { 0 };
		char line[DMG_JLINE_MAX];
		int64_t dl = dmg_now_ms() + (int64_t)p->timeout_s * 1000;
		int rc, n = 0;

		/* An idle peer connection lasts one timeout. */
		if (dmg_peer_recv_call(c, &req, dl, &err) < 0) {
			if (err.code != -EPIPE)
				dmg_warn(p->log, "peer %s: %s", dmg_peer_conn_name(c), err.msg);
			return;
		}
		dmg_debug(p->log, "peer %s: call %s", dmg_peer_conn_name(c), req.step);
		rc = dmg_registry_peer(p->r, dmg_peer_conn_name(c), &req, &reply, &err);
		if (rc == 0)
			n = dmg_jrec_format_line(&reply, line, sizeof(line), &err);
		dl = dmg_now_ms() + (int64_t)p->timeout_s * 1000;
		if (rc < 0 || n < 0)
			rc = dmg_peer_send_result(c, (uint32_t)-(rc < 0 ? rc : n), err.msg, NULL, 0, dl, &err);
		else
			rc = dmg_peer_send_result(c, 0, NULL, line, (size_t)n, dl, &err);
		if (rc < 0) {
			dmg_warn(p->log, "peer %s: %s", dmg_peer_conn_name(c), err.msg);
			return;
		}
	}
}

static void *
conn_thread(void *arg)
{
	struct conn *cn = arg;
	struct dmg_peersrv *p = cn->p;
	struct dmg_peer_conn *c = NULL;
	struct dmg_error err = { 0 };

	if (dmg_peer_accept_fd(p->pc, cn->fd, dmg_now_ms() + (int64_t)p->timeout_s * 1000, &c, &err) < 0)
		dmg_warn(p->log, "peer connection refused: %s", err.msg);
	else
		serve(p, c);
	dmg_peer_close(c);
	free(cn);
	pthread_mutex_lock(&p->mu);
	p->nconns--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void
spawn(struct dmg_peersrv *p, int fd)
{
	struct conn *cn = malloc(sizeof(*cn));
	pthread_attr_t attr;
	pthread_t t;

	pthread_mutex_lock(&p->mu);
	if (!cn || p->nconns >= MAX_CONNS) {
		pthread_mutex_unlock(&p->mu);
		dmg_warn(p->log, "peer connection dropped: too many at once");
		free(cn);
		close(fd);
		return;
	}
	p->nconns++;
	pthread_mutex_unlock(&p->mu);
	cn->p = p;
	cn->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_thread, cn) != 0) {
		dmg_warn(p->log, "peer connection dropped: cannot start a thread");
		close(fd);
		free(cn);
		pthread_mutex_lock(&p->mu);
		p->nconns--;
		pthread_mutex_unlock(&p->mu);
	}
	pthread_attr_destroy(&attr);
}

static void *
accept_thread(void *arg)
{
	struct dmg_peersrv *p = arg;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = p->lfd, .events = POLLIN },
					 { .fd = p->stopfd[0], .events = POLLIN } };
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pfd[1].revents)
			return NULL;
		fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			spawn(p, fd);
	}
}

int
dmg_peersrv_start(struct dmg_peer_ctx *pc, const char *addr, uint16_t port,
		  struct dmg_registry *r, struct dmg_log *log, unsigned timeout_s,
		  struct dmg_peersrv **out, struct dmg_error *err)
{
	struct dmg_peersrv *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	p->pc = pc;
	p->r = r;
	p->log = log;
	p->timeout_s = timeout_s ? timeout_s : 30;
	p->stopfd[0] = p->stopfd[1] = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->lfd = dmg_peer_listen(addr, port, err);
	if (p->lfd < 0) {
		rc = p->lfd;
		goto fail;
	}
	if (pipe2(p->stopfd, O_CLOEXEC) < 0) {
		rc = dmg_error_sys(err, -errno, "pipe");
		goto fail;
	}
	rc = pthread_create(&p->thread, NULL, accept_thread, p);
	if (rc) {
		rc = dmg_error_set(err, -rc, "cannot start the peer thread");
		goto fail;
	}
	dmg_info(log, "peer channel listening on %s:%u", addr, port);
	*out = p;
	return 0;
fail:
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->stopfd[0] >= 0) {
		close(p->stopfd[0]);
		close(p->stopfd[1]);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}

void
dmg_peersrv_stop(struct dmg_peersrv *p)
{
	if (!p)
		return;
	if (write(p->stopfd[1], "x", 1) < 0)
		dmg_warn(p->log, "peer thread stop: %s", strerror(errno));
	pthread_join(p->thread, NULL);
	pthread_mutex_lock(&p->mu);
	while (p->nconns > 0)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	close(p->lfd);
	close(p->stopfd[0]);
	close(p->stopfd[1]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
