/* The peer channel's connections: TCP with deadlines, the TLS handshake
 * with mutual authentication, and who the peer proved to be.  See peer.h
 * for the contract. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "peer/peer_int.h"
#include "core/defaults.h"
#include "core/wire.h"

/* ---- sockets -------------------------------------------------------------- */

static void
format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t blen)
{
	char h[NI_MAXHOST], s[NI_MAXSERV];

	if (getnameinfo(sa, len, h, sizeof(h), s, sizeof(s), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, blen, "?");
		return;
	}
	snprintf(buf, blen, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, s);
}

/* Polls fd for events until deadline; "what" names the wait in errors. */
static int
wait_io(int fd, short events, int64_t deadline, const char *who, const char *what,
	struct dmg_error *err)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t left = deadline - dmg_now_ms();
		int n;

		if (left <= 0)
			return dmg_error_set(err, -ETIMEDOUT, "peer %s: timed out %s", who, what);
		n = poll(&pfd, 1, left > DMG_POLL_SLICE_MS ? DMG_POLL_SLICE_MS : (int)left);
		if (n < 0 && errno != EINTR)
			return dmg_error_sys(err, -errno, "peer %s: poll", who);
		if (n > 0)
			return 0;
	}
}

int
dmg_peer_listen(const char *addr, uint16_t port, struct dmg_error *err)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char ps[8];
	int fd, rc, one = 1;

	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(addr, ps, &hints, &ai);
	if (rc != 0)
		return dmg_error_set(err, -EINVAL, "peer listen address '%s': %s", addr, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = dmg_error_sys(err, -errno, "socket");
	} else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		   bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		rc = dmg_error_sys(err, -errno, "cannot listen for peers on %s port %u", addr, port);
		close(fd);
	} else {
		rc = fd;
	}
	freeaddrinfo(ai);
	return rc;
}

/* Non-blocking connect to one address, waited for until deadline. */
static int
connect_one(const struct addrinfo *ai, int64_t deadline, const char *who, struct dmg_error *err)
{
	socklen_t sl = sizeof(int);
	int fd, rc, soerr = 0;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dmg_error_sys(err, -errno, "socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		rc = dmg_error_sys(err, -errno, "peer %s: cannot connect", who);
		close(fd);
		return rc;
	}
	rc = wait_io(fd, POLLOUT, deadline, who, "connecting", err);
	if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (rc == 0 && soerr)
		rc = dmg_error_sys(err, -soerr, "peer %s: cannot connect", who);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* ---- TLS -------------------------------------------------------------------- */

void
peer_conn_free(struct dmg_peer_conn *p)
{
	if (!p)
		return;
	if (p->s)
		gnutls_deinit(p->s);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

int
peer_tls_wait(struct dmg_peer_conn *p, int64_t deadline, const char *what, struct dmg_error *err)
{
	short ev = gnutls_record_get_direction(p->s) ? POLLOUT : POLLIN;

	return wait_io(p->fd, ev, deadline, p->addr, what, err);
}

/* A session for fd (owned from here on, closed on failure); NULL when out
 * of memory. */
static struct dmg_peer_conn *
conn_new(const struct dmg_peer_ctx *c, int fd, int server, const char *host)
{
	struct dmg_peer_conn *p;
	unsigned flags = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS;

	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return NULL;
	}
	p->ctx = c;
	p->fd = fd;
	p->server = server;
	p->seq = 1;
	snprintf(p->host, sizeof(p->host), "%s", host ? host : "");
	if (gnutls_init(&p->s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | flags) < 0) {
		p->s = NULL;
		peer_conn_free(p);
		return NULL;
	}
	gnutls_session_set_ptr(p->s, p);
	gnutls_transport_set_int(p->s, fd);
	gnutls_handshake_set_timeout(p->s, 0);   /* our deadline rules */
	return p;
}

/* Credentials, priorities and what the handshake verifies, per side. */
static int
conn_setup(struct dmg_peer_conn *p, struct dmg_error *err)
{
	const struct dmg_peer_ctx *c = p->ctx;
	gnutls_session_t s = p->s;
	int rc;

	if (p->server) {
		rc = gnutls_priority_set(s, c->prio_srv);
		if (rc == 0 && c->has_psk)
			rc = gnutls_credentials_set(s, GNUTLS_CRD_PSK, c->psk_srv);
		if (rc == 0 && c->x509_srv) {
			rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->x509_srv);
			gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
			p->vdata[0] = (gnutls_typed_vdata_st){ GNUTLS_DT_KEY_PURPOSE_OID,
							       (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
			p->nvdata = 1;
		}
	} else if (p->psk) {
		rc = gnutls_priority_set(s, c->prio_cli_psk);
		if (rc == 0)
			rc = gnutls_credentials_set(s, GNUTLS_CRD_PSK, p->psk->cli);
	} else {
		rc = gnutls_priority_set(s, c->prio_cli);
		if (rc == 0)
			rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->x509_cli);
		p->vdata[0] = (gnutls_typed_vdata_st){ GNUTLS_DT_DNS_HOSTNAME,
						       (unsigned char *)p->host, 0 };
		p->vdata[1] = (gnutls_typed_vdata_st){ GNUTLS_DT_KEY_PURPOSE_OID,
						       (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0 };
		p->nvdata = 2;
	}
	if (rc < 0)
		return dmg_error_set(err, -EINVAL, "peer %s: TLS setup: %s", p->addr, gnutls_strerror(rc));
	/* Certificates are verified inside the handshake: a bad one fails it. */
	if (p->nvdata)
		gnutls_session_set_verify_cert2(s, p->vdata, p->nvdata, 0);
	return 0;
}

static int
verify_failed(struct dmg_peer_conn *p, unsigned status, struct dmg_error *err)
{
	gnutls_datum_t out = { NULL, 0 };
	int rc;

	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0)
		return dmg_error_set(err, -EACCES, "peer %s: certificate verification failed (status 0x%x)",
				     p->addr, status);
	/* GnuTLS ends the text with a space */
	while (out.size && out.data[out.size - 1] == ' ')
		out.data[--out.size] = '\0';
	rc = dmg_error_set(err, -EACCES, "peer %s: certificate verification failed: %s", p->addr,
			   (const char *)out.data);
	gnutls_free(out.data);
	return rc;
}

/* Does crt name host?  A subjectAltName dNSName or iPAddress, else, for a
 * certificate without those, its one CN; no wildcards.  GnuTLS's own CN
 * fallback applies only to certificates fit for TLS servers, and peers'
 * client certificates (libvirt's clientcert.pem) often carry just a CN. */
static int
crt_names(gnutls_x509_crt_t crt, const char *host)
{
	char cn[HOST_MAX], san[HOST_MAX];
	size_t sz;
	unsigned i;
	int type;

	if (gnutls_x509_crt_check_hostname2(crt, host, GNUTLS_VERIFY_DO_NOT_ALLOW_WILDCARDS))
		return 1;
	for (i = 0;; i++) {
		sz = sizeof(san);
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &sz, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME || type == GNUTLS_SAN_IPADDRESS || type < 0)
			return 0;
	}
	sz = sizeof(cn);
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 1, 0, cn, &sz) !=
	    GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;   /* more than one CN: ambiguous */
	sz = sizeof(cn);
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz) < 0 ||
	    strlen(cn) != sz)
		return 0;
	return peer_same_host(cn, host);
}

/* The peer's certificate: its CN (escaped, for logs) and the peers host it
 * names, if any (p->identity). */
static int
cert_identity(struct dmg_peer_conn *p, char *shown, size_t len, struct dmg_error *err)
{
	const gnutls_datum_t *list;
	gnutls_x509_crt_t crt;
	char cn[HOST_MAX];
	unsigned n = 0;
	size_t i, sz = sizeof(cn);
	int rc;

	list = gnutls_certificate_get_peers(p->s, &n);
	if (!list || n == 0)
		return dmg_error_set(err, -EACCES, "peer %s: sent no certificate", p->addr);
	if (gnutls_x509_crt_init(&crt) < 0)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	rc = gnutls_x509_crt_import(crt, &list[0], GNUTLS_X509_FMT_DER);
	if (rc == 0) {
		rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz);
		if (rc == 0)
			peer_escape(cn, sz, shown, len);
		else if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			snprintf(shown, len, "(no CN)");
		rc = rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ? 0 : rc;
	}
	for (i = 0; rc == 0 && !p->identity[0] && i < p->ctx->npeers; i++)
		if (crt_names(crt, p->ctx->peers[i]))
			snprintf(p->identity, sizeof(p->identity), "%s", p->ctx->peers[i]);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0)
		return dmg_error_set(err, -EACCES, "peer %s: certificate: %s", p->addr, gnutls_strerror(rc));
	return 0;
}

/* After the handshake, and before any application byte: say who the peer
 * proved to be -- a host of peers, or refused -- re-checking what the
 * handshake should already have enforced (a configuration slip must not
 * open the door). */
static int
authenticate(struct dmg_peer_conn *p, struct dmg_error *err)
{
	char id[SHOWN_MAX];
	unsigned status = 0;
	int rc;

	switch (gnutls_auth_get_type(p->s)) {
	case GNUTLS_CRD_PSK:
		if (!p->ctx->has_psk || (!p->server && !p->psk))
			return dmg_error_set(err, -EACCES, "peer %s: unexpected PSK session", p->addr);
		if (p->server) {
			const char *u = gnutls_psk_server_get_username(p->s);
			const struct psk_entry *e = u ? peer_find_psk(p->ctx, u) : NULL;

			if (!e) {
				peer_escape(u ? u : "", u ? strlen(u) : 0, id, sizeof(id));
				return dmg_error_set(err, -EACCES,
						     "peer %s: PSK identity '%s' is not a host in peers: refused",
						     p->addr, id);
			}
			snprintf(p->identity, sizeof(p->identity), "%s", e->identity);
		}
		/* the client's identity is the host it connected to, set by connect */
		snprintf(p->name, sizeof(p->name), "psk:%s@%s", p->identity, p->addr);
		return 0;
	case GNUTLS_CRD_CERTIFICATE:
		if (gnutls_certificate_type_get(p->s) != GNUTLS_CRT_X509 || !p->nvdata)
			return dmg_error_set(err, -EACCES, "peer %s: unexpected certificate session", p->addr);
		rc = gnutls_certificate_verify_peers(p->s, p->vdata, p->nvdata, &status);
		if (rc < 0)
			return dmg_error_set(err, -EACCES, "peer %s: certificate verification failed: %s",
					     p->addr, gnutls_strerror(rc));
		if (status)
			return verify_failed(p, status, err);
		rc = cert_identity(p, id, sizeof(id), err);
		if (rc < 0)
			return rc;
		if (!p->identity[0])
			return dmg_error_set(err, -EACCES,
					     "peer %s: certificate CN '%s' names no host in peers: refused",
					     p->addr, id);
		snprintf(p->name, sizeof(p->name), "x509:%s@%s", id, p->addr);
		return 0;
	default:
		return dmg_error_set(err, -EACCES, "peer %s: not authenticated", p->addr);
	}
}

/* Tells the peer why we hang up (best effort, never waits), so that its
 * error names the reason rather than a reset connection. */
static void
send_alert(struct dmg_peer_conn *p, int code)
{
	if (code)
		(void)gnutls_alert_send_appropriate(p->s, code);
	else
		(void)gnutls_alert_send(p->s, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED);
}

const char *
peer_tls_reason(struct dmg_peer_conn *p, int code, char *buf, size_t len)
{
	if (code == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		const char *a = gnutls_alert_get_name(gnutls_alert_get(p->s));

		snprintf(buf, len, "the peer refused: %s", a ? a : "unknown alert");
		return buf;
	}
	return gnutls_strerror(code);
}

/* What a PSK key mismatch looks like from either side. */
static int
psk_mismatch(struct dmg_peer_conn *p, int code)
{
	gnutls_alert_description_t a;

	if (!p->ctx->has_psk)
		return 0;
	if (code == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER || code == GNUTLS_E_DECRYPTION_FAILED)
		return 1;
	if (code != GNUTLS_E_FATAL_ALERT_RECEIVED)
		return 0;
	a = gnutls_alert_get(p->s);
	return a == GNUTLS_A_ILLEGAL_PARAMETER || a == GNUTLS_A_DECRYPT_ERROR ||
	       a == GNUTLS_A_BAD_RECORD_MAC;
}

static int
handshake(struct dmg_peer_conn *p, int64_t deadline, struct dmg_error *err)
{
	char why[128];
	int rc;

	for (;;) {
		rc = gnutls_handshake(p->s);
		if (rc == 0)
			break;
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(rc)) {
			rc = peer_tls_wait(p, deadline, "during the TLS handshake", err);
			if (rc < 0)
				return rc;
			continue;
		}
		send_alert(p, rc);
		if (p->unknown[0])
			return dmg_error_set(err, -EACCES,
					     "peer %s: PSK identity '%s' is not a host in peers: refused",
					     p->addr, p->unknown);
		if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
			return verify_failed(p, gnutls_session_get_verify_cert_status(p->s), err);
		return dmg_error_set(err, -EACCES, "peer %s: TLS handshake failed: %s%s", p->addr,
				     peer_tls_reason(p, rc, why, sizeof(why)),
				     psk_mismatch(p, rc) ? " (do both hosts hold the same key for this pair, each on the line named after the other?)" : "");
	}
	rc = authenticate(p, err);
	if (rc < 0)
		send_alert(p, 0);
	return rc;
}

/* Creates the session for fd and runs the handshake; frees on failure. */
static int
start(const struct dmg_peer_ctx *c, int fd, const char *peer, const char *host, const char *addr,
      int64_t deadline, struct dmg_peer_conn **out, struct dmg_error *err)
{
	int server = peer == NULL;
	struct dmg_peer_conn *p;
	int rc, one = 1;

	*out = NULL;
	p = conn_new(c, fd, server, host);
	if (!p)
		return dmg_error_set(err, -ENOMEM, "peer %s: out of memory", addr);
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	if (peer) {
		snprintf(p->identity, sizeof(p->identity), "%s", peer);
		p->psk = c->has_psk ? peer_find_psk(c, peer) : NULL;
	}
	/* Small request/answer messages: do not wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = conn_setup(p, err);
	if (rc == 0)
		rc = handshake(p, deadline, err);
	if (rc < 0) {
		peer_conn_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int
dmg_peer_accept_fd(struct dmg_peer_ctx *c, int fd, int64_t deadline,
		   struct dmg_peer_conn **out, struct dmg_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[ADDR_MAX] = "?";
	int rc;

	*out = NULL;
	if (!c->has_psk && !c->x509_srv) {
		close(fd);
		return dmg_error_set(err, -EINVAL, "cannot accept peers: no PSK and no TLS server certificate");
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		format_addr((struct sockaddr *)&ss, sl, addr, sizeof(addr));
	rc = dmg_set_nonblock(fd, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return start(c, fd, NULL, NULL, addr, deadline, out, err);
}

int
dmg_peer_accept(struct dmg_peer_ctx *c, int lfd, int64_t deadline,
		struct dmg_peer_conn **out, struct dmg_error *err)
{
	int fd, rc;

	*out = NULL;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return dmg_peer_accept_fd(c, fd, deadline, out, err);
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			return dmg_error_sys(err, -errno, "accept");
		rc = wait_io(lfd, POLLIN, deadline, "listener", "waiting for a connection", err);
		if (rc < 0)
			return rc;
	}
}

int
dmg_peer_connect(struct dmg_peer_ctx *c, const char *host, uint16_t port, int64_t deadline,
		 struct dmg_peer_conn **out, struct dmg_error *err)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL, *i;
	char ps[8], who[300], addr[ADDR_MAX];
	const char *peer;
	int fd = -1, rc;

	*out = NULL;
	snprintf(ps, sizeof(ps), "%u", port);
	snprintf(who, sizeof(who), strchr(host, ':') ? "[%.256s]:%u" : "%.256s:%u", host, port);
	if (strlen(host) >= HOST_MAX)
		return dmg_error_set(err, -EINVAL, "peer host name too long");
	peer = peer_find_peer(c, host);
	if (!peer)
		return dmg_error_set(err, -EACCES, "peer %s: %s is not in peers; drbdmig talks only to the hosts listed there",
				     who, host);
	if (!(c->has_psk && peer_find_psk(c, peer)) && !c->x509_cli)
		return dmg_error_set(err, -EACCES, "peer %s: no key for %s in the PSK file and no TLS client certificate",
				     who, peer);
	rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc != 0)
		return dmg_error_set(err, -EHOSTUNREACH, "peer %s: %s", who, gai_strerror(rc));
	rc = dmg_error_set(err, -EHOSTUNREACH, "peer %s: no address", who);
	for (i = ai; i && fd < 0; i = i->ai_next) {
		format_addr(i->ai_addr, i->ai_addrlen, addr, sizeof(addr));
		fd = connect_one(i, deadline, addr, err);
		rc = fd < 0 ? fd : 0;
	}
	freeaddrinfo(ai);
	if (rc < 0)
		return rc;
	return start(c, fd, peer, host, addr, deadline, out, err);
}

const char *
dmg_peer_conn_name(const struct dmg_peer_conn *p)
{
	return p->name;
}

const char *
dmg_peer_conn_identity(const struct dmg_peer_conn *c)
{
	return c->identity;
}
