/* The lab's peer-channel client, for migrate-rogue: talks to a drbdmigd as
 * a peer would, or as an attacker on the network would.
 *
 *   peercall -f CONF HOST PORT 'verb key=value ...'
 *       connects with the credentials CONF names (peer_auth, PSK file or
 *       certificates, peer_name, peers), sends one CALL and prints
 *       "status=N message=..." and the reply lines; exit 0 once a RESULT
 *       came back (whatever its status), 2 when the connection or the
 *       handshake failed (the error on stderr).
 *   peercall -F N -T SECS [-b BINDADDR] HOST PORT
 *       a flood: keeps N plain TCP connections open to HOST:PORT for SECS
 *       seconds, half of them idle and half sending junk bytes, each one
 *       replaced a second after the daemon closes it; prints how many were
 *       opened and how many the daemon closed, at the end or on SIGTERM.
 *       Only for the lab's own hosts. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/journal.h"
#include "peer/peer.h"
#include "core/wire.h"

#define FLOOD_MAX 256

static int
usage(void)
{
	fprintf(stderr, "usage: peercall -f CONF HOST PORT 'verb key=value ...'\n"
			"       peercall -F N -T SECS [-b BINDADDR] HOST PORT\n");
	return 64;
}

static int
call(const char *conf_path, const char *host, unsigned port, const char *line)
{
	struct dmg_error err = { 0 };
	struct dmg_conf conf;
	struct dmg_peer_auth auth;
	struct dmg_peer_ctx *pc = NULL;
	struct dmg_peer_conn *c = NULL;
	struct dmg_jrec req;
	struct dmg_msg res = { 0 };
	int64_t dl = dmg_now_ms() + 30000;
	int rc;

	dmg_conf_defaults(&conf);
	if (dmg_conf_load(conf_path, 0, &conf, &err) < 0 ||
	    dmg_jrec_parse_line(line, &req, &err) < 0 ||
	    dmg_peer_auth_from_conf(&conf, &auth, &err) < 0 ||
	    dmg_peer_ctx_new(&auth, &pc, &err) < 0) {
		fprintf(stderr, "peercall: %s\n", err.msg);
		dmg_peer_ctx_free(pc);
		return 64;
	}
	rc = dmg_peer_connect(pc, host, (uint16_t)port, dl, &c, &err);
	if (rc == 0)
		rc = dmg_peer_call(c, &req, dl, &res, &err);
	if (rc < 0) {
		fprintf(stderr, "peercall: %s\n", err.msg);
		dmg_peer_close(c);
		dmg_peer_ctx_free(pc);
		return 2;
	}
	printf("status=%u message=%s\n", res.status, res.message ? res.message : "");
	if (res.body && res.body_len)
		fwrite(res.body, 1, res.body_len, stdout);
	dmg_msg_clear(&res);
	dmg_peer_close(c);
	dmg_peer_ctx_free(pc);
	return 0;
}

static int
open_one(const struct sockaddr_in *to, const char *bind_addr)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind_addr && (inet_pton(AF_INET, bind_addr, &from.sin_addr) != 1 ||
			  bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
flood(const char *host, unsigned port, int n, int secs, const char *bind_addr)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct pollfd pfd[FLOOD_MAX + 1];
	int64_t end = dmg_now_ms() + (int64_t)secs * 1000, next_junk = 0;
	/* When a closed slot may be opened again.  Replacing at once turned the
	 * flood into a connect/close loop of some 350 connections a second per
	 * host -- thousands of packets a second, under which the lab's
	 * virtio-net link (QEMU/TCG) stopped sending for good twice in CI.  A
	 * second's pause keeps every slot taken or knocking, at most N per s. */
	int64_t again[FLOOD_MAX] = { 0 };
	unsigned long opened = 0, closed = 0;
	char buf[512];
	sigset_t term;
	int i;

	if (n < 1 || n > FLOOD_MAX || secs < 1 || inet_pton(AF_INET, host, &to.sin_addr) != 1)
		return usage();
	/* SIGTERM ends the flood with its summary, read from a signalfd. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	pfd[n].fd = signalfd(-1, &term, SFD_CLOEXEC);
	pfd[n].events = POLLIN;
	for (i = 0; i < n; i++) {
		pfd[i].fd = open_one(&to, bind_addr);
		pfd[i].events = POLLIN;
		opened += pfd[i].fd >= 0;
	}
	memset(buf, 0x5a, sizeof(buf));
	while (dmg_now_ms() < end) {
		int64_t now;

		(void)poll(pfd, (nfds_t)n + 1, 200);
		if (pfd[n].revents)
			break;
		now = dmg_now_ms();
		for (i = 0; i < n; i++) {
			char rd[512];

			if (pfd[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				ssize_t r = read(pfd[i].fd, rd, sizeof(rd));

				if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
					close(pfd[i].fd);
					pfd[i].fd = -1;
					closed++;
					again[i] = now + 1000;
				}
			}
			if (pfd[i].fd < 0 && now >= again[i]) {   /* replace what the daemon closed */
				pfd[i].fd = open_one(&to, bind_addr);
				opened += pfd[i].fd >= 0;
				again[i] = now + 1000;   /* also when the connect failed */
			}
			/* odd ones send junk now and then; even ones stay idle */
			if (pfd[i].fd >= 0 && (i & 1) && now >= next_junk &&
			    write(pfd[i].fd, buf, sizeof(buf)) < 0 && errno != EAGAIN) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				closed++;
				again[i] = now + 1000;
			}
		}
		if (now >= next_junk)
			next_junk = now + 500;
	}
	for (i = 0; i <= n; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	printf("flood: %lu connections opened, %lu closed by the daemon\n", opened, closed);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *bind_addr = NULL;
	int opt, n = 0, secs = 0;

	while ((opt = getopt(argc, argv, "f:F:T:b:")) != -1) {
		switch (opt) {
		case 'f': conf = optarg; break;
		case 'F': n = atoi(optarg); break;
		case 'T': secs = atoi(optarg); break;
		case 'b': bind_addr = optarg; break;
		default: return usage();
		}
	}
	if (n && argc - optind == 2)
		return flood(argv[optind], (unsigned)atoi(argv[optind + 1]), n, secs, bind_addr);
	if (conf && argc - optind == 3)
		return call(conf, argv[optind], (unsigned)atoi(argv[optind + 1]), argv[optind + 2]);
	return usage();
}
