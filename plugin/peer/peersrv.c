/* The peer channel's server: see peersrv.h.
 *
 * Ownership and locking.  One mutex, p->mu, guards the list of slots (one
 * per accepted connection), the counts npending and nauth, and stop; no
 * other lock is taken while it is held, and nothing blocks under it except
 * pthread_create.  Log lines are written after it is released.
 * - The accept thread alone adds slots (and counts them in npending).
 * - Each slot's thread owns the slot and its socket: it moves itself from
 *   npending to nauth, and at its end unlinks itself, uncounts itself,
 *   closes the socket and frees the slot -- the one cleanup path.
 * - Others only shutdown() a linked slot's socket, under mu (the accept
 *   thread evicting the oldest handshake, stop() hanging up); the socket
 *   is closed only after its slot is unlinked, so its number is never
 *   reused under them.  The TLS layer works on a dup of it.
 * - dmg_peersrv_stop() joins the accept thread, then waits for the list to
 *   empty; only then is p freed. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer/peer.h"
#include "peer/peersrv.h"
#include "core/wire.h"

#define BACKOFF_MS   150     /* after accept() ran out of descriptors or memory */
#define DROP_LOG_MS  10000   /* at most one line per this about dropped connections */
#define REFUSED_LOG_MAX 10   /* lines per DROP_LOG_MS about refused handshakes */

struct slot {
	struct dmg_peersrv *p;
	struct slot *next, *prev;
	int fd;                      /* accepted socket, closed by the slot's thread */
	int authed;                  /* counted in nauth, else in npending */
	int evicted;                 /* dropped from npending by the accept thread */
	char ip[NI_MAXHOST];
};

struct dmg_peersrv {
	struct dmg_peer_ctx *pc;
	struct dmg_peersrv_conf conf;
	struct dmg_log *log;
	int lfd, stopfd[2];
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* a slot left the list */
	struct slot *head, *tail;    /* oldest first */
	unsigned npending, nauth, nslots;
	int stop;
	/* the accept thread's own: rate limits of its log lines */
	int64_t drop_logged;
	unsigned drops;
	/* under mu: refused handshakes, so that junk from the network cannot
	 * fill the log (one line each up to REFUSED_LOG_MAX per window) */
	int64_t refused_since;
	unsigned refused_lines, refused_quiet;
};

static int64_t
ms(unsigned s)
{
	return (int64_t)s * 1000;
}

static void
serve(struct dmg_peersrv *p, struct dmg_peer_conn *c)
{
	const char *who = dmg_peer_conn_identity(c);

	for (;;) {
		struct dmg_jrec req, reply;
		struct dmg_error err = { 0 };
		char line[DMG_JLINE_MAX];
		int64_t dl = dmg_now_ms() + ms(p->conf.timeout_s);
		int rc, n = 0;

		/* An idle peer connection lasts one timeout. */
		if (dmg_peer_recv_call(c, &req, dl, &err) < 0) {
			if (err.code != -EPIPE)
				dmg_warn(p->log, "peer %s: %s", dmg_peer_conn_name(c), err.msg);
			return;
		}
		dmg_debug(p->log, "peer %s: call %s", dmg_peer_conn_name(c), req.step);
		rc = p->conf.fn(p->conf.arg, who, &req, &reply, &err);
		if (rc == 0)
			n = dmg_jrec_format_line(&reply, line, sizeof(line), &err);
		dl = dmg_now_ms() + ms(p->conf.timeout_s);
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

static void
refused(struct dmg_peersrv *p, const char *why)
{
	int64_t now = dmg_now_ms();
	unsigned quiet = 0;
	int say;

	pthread_mutex_lock(&p->mu);
	if (now - p->refused_since >= DROP_LOG_MS) {
		quiet = p->refused_quiet;
		p->refused_since = now;
		p->refused_lines = 0;
		p->refused_quiet = 0;
	}
	say = p->refused_lines < REFUSED_LOG_MAX;
	if (say)
		p->refused_lines++;
	else
		p->refused_quiet++;
	pthread_mutex_unlock(&p->mu);
	if (quiet)
		dmg_warn(p->log, "peer channel: %u more connections refused in the handshake (not logged one by one)",
			 quiet);
	if (say)
		dmg_warn(p->log, "peer connection refused: %s", why);
}

static void
unlink_slot(struct dmg_peersrv *p, struct slot *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		p->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		p->tail = s->prev;
	p->nslots--;
}

static void *
conn_thread(void *arg)
{
	struct slot *s = arg;
	struct dmg_peersrv *p = s->p;
	struct dmg_peer_conn *c = NULL;
	struct dmg_error err = { 0 };
	int fd, rc, evicted, full = 0;

	fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		rc = dmg_error_sys(&err, -errno, "peer %s: dup", s->ip);
	else
		rc = dmg_peer_accept_fd(p->pc, fd, dmg_now_ms() + ms(p->conf.handshake_timeout_s), &c, &err);
	pthread_mutex_lock(&p->mu);
	evicted = s->evicted;
	if (!evicted)
		p->npending--;
	s->evicted = 1;   /* no longer in npending, whatever comes next */
	if (rc == 0 && !evicted && !p->stop) {
		full = p->nauth >= p->conf.conns_max;
		if (!full) {
			p->nauth++;
			s->authed = 1;
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (rc < 0 && evicted)
		dmg_debug(p->log, "peer connection dropped in the handshake: %s", err.msg);
	else if (rc < 0)
		refused(p, err.msg);
	else if (full)
		dmg_warn(p->log, "peer %s: refused: %u authenticated connections already (peer_connections_max)",
			 dmg_peer_conn_name(c), p->conf.conns_max);
	else if (s->authed)
		serve(p, c);
	dmg_peer_close(c);
	pthread_mutex_lock(&p->mu);
	unlink_slot(p, s);
	if (s->authed)
		p->nauth--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	close(s->fd);
	free(s);
	return NULL;
}

/* Under mu: how many connections from ip are still in the handshake. */
static unsigned
pending_from(const struct dmg_peersrv *p, const char *ip)
{
	const struct slot *s;
	unsigned n = 0;

	for (s = p->head; s; s = s->next)
		n += !s->authed && !s->evicted && strcmp(s->ip, ip) == 0;
	return n;
}

/* Under mu: drops the oldest connection still in the handshake. */
static void
evict_oldest(struct dmg_peersrv *p)
{
	struct slot *s;

	for (s = p->head; s; s = s->next)
		if (!s->authed && !s->evicted) {
			s->evicted = 1;
			p->npending--;
			(void)shutdown(s->fd, SHUT_RDWR);
			return;
		}
}

static void
dropped(struct dmg_peersrv *p, const char *ip, const char *why)
{
	int64_t now = dmg_now_ms();

	p->drops++;
	if (p->drop_logged && now - p->drop_logged < DROP_LOG_MS)
		return;
	dmg_warn(p->log, "peer connection from %s dropped: %s (%u dropped in the last %d s)", ip, why,
		 p->drops, DROP_LOG_MS / 1000);
	p->drop_logged = now;
	p->drops = 0;
}

/* Admits the accepted socket fd from ip, or closes it. */
static void
admit(struct dmg_peersrv *p, int fd, const char *ip)
{
	const char *why = NULL;
	struct slot *s = calloc(1, sizeof(*s));
	pthread_attr_t attr;
	pthread_t t;
	int rc = -1;

	pthread_mutex_lock(&p->mu);
	if (!s)
		why = "out of memory";
	else if (pending_from(p, ip) >= p->conf.handshake_per_address)
		why = "too many connections from it in the handshake (peer_handshake_per_address)";
	else if (p->nslots >= 2 * p->conf.handshake_max + p->conf.conns_max)
		why = "too many connections";   /* evicted ones not yet gone */
	if (!why) {
		if (p->npending >= p->conf.handshake_max)
			evict_oldest(p);
		s->p = p;
		s->fd = fd;
		snprintf(s->ip, sizeof(s->ip), "%s", ip);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, conn_thread, s);
		pthread_attr_destroy(&attr);
		if (rc == 0) {
			s->prev = p->tail;
			if (p->tail)
				p->tail->next = s;
			else
				p->head = s;
			p->tail = s;
			p->nslots++;
			p->npending++;
		} else {
			why = "cannot start a thread";
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (rc != 0) {
		dropped(p, ip, why);
		free(s);
		close(fd);
	}
}

/* Waits ms or until stop; 1 when stopping. */
static int
pause_or_stop(struct dmg_peersrv *p, int wait_ms)
{
	struct pollfd pfd = { .fd = p->stopfd[0], .events = POLLIN };

	return poll(&pfd, 1, wait_ms) > 0;
}

static void *
accept_thread(void *arg)
{
	struct dmg_peersrv *p = arg;
	unsigned starved = 0;   /* accept() failures in a row for lack of resources */

	for (;;) {
		struct pollfd pfd[2] = { { .fd = p->lfd, .events = POLLIN },
					 { .fd = p->stopfd[0], .events = POLLIN } };
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char ip[NI_MAXHOST];
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			dmg_err(p->log, "peer listener: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[1].revents)
			return NULL;
		fd = accept4(p->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
				continue;
			/* EMFILE, ENFILE, ENOMEM, ENOBUFS...: the connection stays
			 * queued and poll() would return at once; back off
			 * instead of spinning, one line per burst. */
			if (starved++ == 0)
				dmg_warn(p->log, "peer listener: accept: %s; retrying every %d ms",
					 strerror(errno), BACKOFF_MS);
			if (pause_or_stop(p, BACKOFF_MS))
				return NULL;
			continue;
		}
		if (starved) {
			dmg_info(p->log, "peer listener: accepting again after %u failed attempts", starved);
			starved = 0;
		}
		if (getnameinfo((struct sockaddr *)&ss, sl, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(ip, sizeof(ip), "?");
		admit(p, fd, ip);
	}
}

static unsigned
or_default(unsigned v, unsigned def)
{
	return v ? v : def;
}

int
dmg_peersrv_start(struct dmg_peer_ctx *pc, const struct dmg_peersrv_conf *conf,
		  struct dmg_peersrv **out, struct dmg_error *err)
{
	struct dmg_peersrv *p = calloc(1, sizeof(*p));
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t sl = sizeof(sa);
	int rc;

	*out = NULL;
	if (!p)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	if (!conf->fn) {
		free(p);
		return dmg_error_set(err, -EINVAL, "peer server: no handler");
	}
	p->pc = pc;
	p->conf = *conf;
	p->log = conf->log;
	p->conf.timeout_s = or_default(conf->timeout_s, 30);
	p->conf.handshake_timeout_s = or_default(conf->handshake_timeout_s, 5);
	p->conf.handshake_max = or_default(conf->handshake_max, 64);
	p->conf.handshake_per_address = or_default(conf->handshake_per_address, 4);
	p->conf.conns_max = or_default(conf->conns_max, 32);
	p->stopfd[0] = p->stopfd[1] = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->lfd = dmg_peer_listen(conf->addr, conf->port, err);
	if (p->lfd < 0) {
		rc = p->lfd;
		goto fail;
	}
	p->port = conf->port;
	memset(&sa, 0, sizeof(sa));
	if (getsockname(p->lfd, &sa.sa, &sl) == 0)
		p->port = ntohs(sa.sa.sa_family == AF_INET6 ? sa.in6.sin6_port : sa.in.sin_port);
	if (pipe2(p->stopfd, O_CLOEXEC) < 0) {
		rc = dmg_error_sys(err, -errno, "pipe");
		goto fail;
	}
	rc = pthread_create(&p->thread, NULL, accept_thread, p);
	if (rc) {
		rc = dmg_error_set(err, -rc, "cannot start the peer thread");
		goto fail;
	}
	dmg_info(p->log, "peer channel listening on %s:%u", conf->addr, p->port);
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

uint16_t
dmg_peersrv_port(const struct dmg_peersrv *p)
{
	return p->port;
}

void
dmg_peersrv_stop(struct dmg_peersrv *p)
{
	struct slot *s;

	if (!p)
		return;
	if (write(p->stopfd[1], "x", 1) < 0)
		dmg_warn(p->log, "peer thread stop: %s", strerror(errno));
	pthread_join(p->thread, NULL);
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	for (s = p->head; s; s = s->next)
		(void)shutdown(s->fd, SHUT_RDWR);
	while (p->head)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	close(p->lfd);
	close(p->stopfd[0]);
	close(p->stopfd[1]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
