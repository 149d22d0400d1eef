/* The peer channel over real loopback TCP: a server thread accepts one
 * connection per case; credentials are made at test time by
 * tests/data/pki/make-pki.sh (certtool, psktool). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "peer/peer.h"
#include "peer/peersrv.h"
#include "unit.h"
#include "core/wire.h"

static char pki[64];          /* temp dir with the credentials, "" if none */

static const char *
pf(const char *name)
{
	static char path[8][128];
	static unsigned next;
	char *p = path[next++ % 8];

	snprintf(p, sizeof(path[0]), "%s/%s", pki, name);
	return p;
}

static int
suite_init(void)
{
	char cmd[512];
	int st;

	snprintf(pki, sizeof(pki), "/tmp/dmg-peer-XXXXXX");
	if (!mkdtemp(pki))
		return 1;
	snprintf(cmd, sizeof(cmd), "sh '%s/pki/make-pki.sh' '%s' >/dev/null",
		 test_env("TEST_DATA", "tests/data"), pki);
	st = system(cmd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, "\n*** peer: %s; TLS peer tests SKIPPED ***\n",
		WIFEXITED(st) && WEXITSTATUS(st) == 77 ? "certtool/psktool not found (gnutls-bin)"
						       : "make-pki.sh failed");
	rmdir(pki);
	pki[0] = '\0';
	return WIFEXITED(st) && WEXITSTATUS(st) == 77 ? 0 : 1;
}

static int
suite_clean(void)
{
	char cmd[128];

	if (!pki[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
	return system(cmd) == 0 ? 0 : 1;
}

#define NEED_PKI() do { if (!pki[0]) return; } while (0)

/* ---- contexts ------------------------------------------------------------ */

/* PSK context for host self with the given peers. */
static struct dmg_peer_ctx *
ctx_psk3(const char *file, const char *self, const char *peers)
{
	struct dmg_peer_auth a = { .psk_file = pf(file), .peers = peers };
	struct dmg_peer_ctx *c = NULL;
	struct dmg_error err = { 0 };

	snprintf(a.self_name, sizeof(a.self_name), "%s", self);

	if (dmg_peer_ctx_new(&a, &c, &err) < 0)
		fprintf(stderr, "\n  ctx: %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL(c);
	return c;
}

/* The two PSK hosts of the tests, with a pairwise key: A is "localhost"
 * and knows B as 127.0.0.1; B is "127.0.0.1" and knows A as localhost. */
static struct dmg_peer_ctx *
ctx_a(void)
{
	return ctx_psk3("a.psk", "localhost", "127.0.0.1");
}

static struct dmg_peer_ctx *
ctx_b(void)
{
	return ctx_psk3("b.psk", "127.0.0.1", "localhost");
}

/* What the X.509 contexts list as peers: the server certificate's names and
 * the client certificates' CNs. */
#define X509_PEERS "127.0.0.1 localhost drbdmig-client cnonly.example"

/* X.509 context: trust ca, act as server with scert and as client with
 * ccert (either may be NULL). */
static struct dmg_peer_ctx *
ctx_x509(const char *ca, const char *scert, const char *ccert, const char *crl)
{
	char sc[64], sk[64], cc[64], ck[64];
	struct dmg_peer_auth a = { .ca_file = pf(ca), .peers = X509_PEERS };
	struct dmg_peer_ctx *c = NULL;
	struct dmg_error err = { 0 };

	if (crl)
		a.crl_file = pf(crl);
	if (scert) {
		snprintf(sc, sizeof(sc), "%s.pem", scert);
		snprintf(sk, sizeof(sk), "%s-key.pem", scert);
		a.server_cert = pf(sc);
		a.server_key = pf(sk);
	}
	if (ccert) {
		snprintf(cc, sizeof(cc), "%s.pem", ccert);
		snprintf(ck, sizeof(ck), "%s-key.pem", ccert);
		a.client_cert = pf(cc);
		a.client_key = pf(ck);
	}
	if (dmg_peer_ctx_new(&a, &c, &err) < 0)
		fprintf(stderr, "\n  ctx: %s\n", err.msg);
	CU_ASSERT_PTR_NOT_NULL(c);
	return c;
}

/* ---- the server thread ------------------------------------------------------ */

struct srv {
	struct dmg_peer_ctx *ctx;
	int lfd;
	uint16_t port;
	int timeout_ms;              /* accept + handshake deadline */
	pthread_t th;
	int accept_rc, recv_rc, calls;
	char accept_err[DMG_ERROR_MAX], recv_err[DMG_ERROR_MAX], name[400], identity[256];
};

static void *
srv_main(void *arg)
{
	struct srv *s = arg;
	struct dmg_peer_conn *p = NULL;
	struct dmg_error err = { 0 };

	s->accept_rc = dmg_peer_accept(s->ctx, s->lfd, dmg_now_ms() + s->timeout_ms, &p, &err);
	if (s->accept_rc < 0) {
		snprintf(s->accept_err, sizeof(s->accept_err), "%s", err.msg);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", dmg_peer_conn_name(p));
	snprintf(s->identity, sizeof(s->identity), "%s", dmg_peer_conn_identity(p));
	for (;;) {
		struct dmg_jrec req, ans;
		char line[DMG_CALL_BODY_MAX + 1], n[16];
		int len;

		s->recv_rc = dmg_peer_recv_call(p, &req, dmg_now_ms() + 2000, &err);
		if (s->recv_rc < 0) {
			snprintf(s->recv_err, sizeof(s->recv_err), "%s", err.msg);
			break;
		}
		s->calls++;
		/* answer: "echo verb=<step> n=<calls> <key>=<value of first key>" */
		dmg_jrec_init(&ans, "echo");
		snprintf(n, sizeof(n), "%d", s->calls);
		dmg_jrec_set(&ans, "verb", req.step, NULL);
		dmg_jrec_set(&ans, "n", n, NULL);
		if (req.n)
			dmg_jrec_set(&ans, req.kv[0].key, req.kv[0].val, NULL);
		len = dmg_peer_format_line(&ans, line, sizeof(line), NULL);
		if (len < 0 || dmg_peer_send_result(p, 0, "done", line, (size_t)len,
						    dmg_now_ms() + 2000, &err) < 0)
			break;
	}
	dmg_peer_close(p);
	return NULL;
}

static void
srv_start(struct srv *s, struct dmg_peer_ctx *ctx, int timeout_ms)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct dmg_error err = { 0 };

	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->timeout_ms = timeout_ms;
	s->lfd = dmg_peer_listen("127.0.0.1", 0, &err);
	CU_ASSERT_FATAL(s->lfd >= 0);
	CU_ASSERT_FATAL(getsockname(s->lfd, (struct sockaddr *)&sa, &sl) == 0);
	s->port = ntohs(sa.sin_port);
	CU_ASSERT_FATAL(pthread_create(&s->th, NULL, srv_main, s) == 0);
}

static void
srv_join(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static int
has(const char *msg, const char *needle)
{
	if (strstr(msg, needle))
		return 1;
	fprintf(stderr, "\n  '%s' lacks '%s'\n", msg, needle);
	return 0;
}

/* Connects client ctx cc to a server with ctx sc; expects success or
 * failure; returns the connection (or NULL) and leaves the server joined
 * only on failure. */
static struct dmg_peer_conn *
connect_to(struct srv *s, struct dmg_peer_ctx *cc, const char *host, struct dmg_error *err)
{
	struct dmg_peer_conn *p = NULL;

	if (dmg_peer_connect(cc, host, s->port, dmg_now_ms() + 5000, &p, err) < 0)
		return NULL;
	return p;
}

static void
call_ok(struct dmg_peer_conn *p, const char *verb, const char *n)
{
	struct dmg_jrec req;
	struct dmg_msg res;
	struct dmg_error err = { 0 };
	char want[128];

	dmg_jrec_init(&req, verb);
	dmg_jrec_set(&req, "domain", "vm 1=%x", &err);
	CU_ASSERT_EQUAL_FATAL(dmg_peer_call(p, &req, dmg_now_ms() + 5000, &res, &err), 0);
	CU_ASSERT_EQUAL(res.type, DMG_MSG_RESULT);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_STRING_EQUAL(res.message, "done");
	snprintf(want, sizeof(want), "echo verb=%s n=%s domain=vm%%201%%3D%%25x\n", verb, n);
	CU_ASSERT_PTR_NOT_NULL(res.body);
	if (res.body)
		CU_ASSERT_STRING_EQUAL(res.body, want);
	dmg_msg_clear(&res);
}

/* ---- cases ------------------------------------------------------------------ */

static void
test_psk_roundtrip(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct dmg_peer_conn *p;
	struct dmg_error err = { 0 };
	struct srv s;
	char want[64];

	NEED_PKI();
	sc = ctx_b();
	cc = ctx_a();
	srv_start(&s, sc, 5000);
	p = connect_to(&s, cc, "127.0.0.1", &err);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p) {
		snprintf(want, sizeof(want), "psk:127.0.0.1@127.0.0.1:%u", s.port);
		CU_ASSERT_STRING_EQUAL(dmg_peer_conn_name(p), want);
		CU_ASSERT_STRING_EQUAL(dmg_peer_conn_identity(p), "127.0.0.1");
		call_ok(p, "ping", "1");
		call_ok(p, "prepare-source", "2");
		dmg_peer_close(p);
	} else {
		fprintf(stderr, "\n  connect: %s\n", err.msg);
	}
	srv_join(&s);
	CU_ASSERT_EQUAL(s.accept_rc, 0);
	CU_ASSERT_EQUAL(s.calls, 2);
	CU_ASSERT_EQUAL(s.recv_rc, -EPIPE);   /* the client's clean close */
	CU_ASSERT(strncmp(s.name, "psk:localhost@127.0.0.1:", 24) == 0);
	CU_ASSERT_STRING_EQUAL(s.identity, "localhost");
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

static void
test_psk_wrong_key(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct dmg_error err = { 0 };
	struct srv s;

	NEED_PKI();
	/* B holds, for A, the key of another pair */
	sc = ctx_psk3("wrongpair.psk", "127.0.0.1", "localhost");
	cc = ctx_a();
	srv_start(&s, sc, 5000);
	CU_ASSERT_PTR_NULL(connect_to(&s, cc, "127.0.0.1", &err));
	CU_ASSERT(has(err.msg, "same key for this pair"));
	CU_ASSERT(has(err.msg, "peer 127.0.0.1:"));
	CU_ASSERT(has(err.msg, "TLS handshake failed"));
	srv_join(&s);
	CU_ASSERT(s.accept_rc < 0);
	CU_ASSERT(has(s.accept_err, "TLS handshake failed"));
	CU_ASSERT_EQUAL(s.calls, 0);   /* the server read nothing */
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

static void
test_x509_mutual(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct dmg_peer_conn *p;
	struct dmg_error err = { 0 };
	struct srv s;
	char want[64];
	int i;

	NEED_PKI();
	sc = ctx_x509("ca.pem", "server", NULL, "crl.pem");
	cc = ctx_x509("ca.pem", NULL, "client", "crl.pem");
	/* by IP (the certificate's iPAddress) and by name (its dNSName) */
	for (i = 0; i < 2; i++) {
		srv_start(&s, sc, 5000);
		p = connect_to(&s, cc, i ? "localhost" : "127.0.0.1", &err);
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p) {
			snprintf(want, sizeof(want), "x509:localhost@127.0.0.1:%u", s.port);
			CU_ASSERT_STRING_EQUAL(dmg_peer_conn_name(p), want);
			CU_ASSERT_STRING_EQUAL(dmg_peer_conn_identity(p), i ? "localhost" : "127.0.0.1");
			call_ok(p, "ping", "1");
			dmg_peer_close(p);
		} else {
			fprintf(stderr, "\n  connect: %s\n", err.msg);
		}
		srv_join(&s);
		CU_ASSERT_EQUAL(s.accept_rc, 0);
		CU_ASSERT_EQUAL(s.calls, 1);
		CU_ASSERT(strncmp(s.name, "x509:drbdmig-client@127.0.0.1:", 30) == 0);
		/* a client certificate with only a CN: named by it */
		CU_ASSERT_STRING_EQUAL(s.identity, "drbdmig-client");
	}
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

/* Both methods configured: the acceptor takes either, a connector with
 * both uses PSK. */
static void
test_both_methods(void)
{
	struct dmg_peer_auth a = { .psk_file = pf("b.psk"), .ca_file = pf("ca.pem"),
				   .server_cert = pf("server.pem"), .server_key = pf("server-key.pem"),
				   .client_cert = pf("client.pem"), .client_key = pf("client-key.pem"),
				   .peers = "localhost drbdmig-client", .self_name = "127.0.0.1" };
	struct dmg_peer_ctx *sc = NULL, *both = NULL, *x509;
	struct dmg_peer_conn *p;
	struct dmg_error err = { 0 };
	struct srv s;
	int i;

	NEED_PKI();
	CU_ASSERT_EQUAL_FATAL(dmg_peer_ctx_new(&a, &sc, &err), 0);
	/* A with both: PSK, as the file has a line for 127.0.0.1 */
	a.psk_file = pf("a.psk");
	a.peers = "127.0.0.1";
	snprintf(a.self_name, sizeof(a.self_name), "localhost");
	CU_ASSERT_EQUAL_FATAL(dmg_peer_ctx_new(&a, &both, &err), 0);
	x509 = ctx_x509("ca.pem", NULL, "client", NULL);
	for (i = 0; i < 2; i++) {
		srv_start(&s, sc, 5000);
		p = connect_to(&s, i ? x509 : both, "127.0.0.1", &err);
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p) {
			CU_ASSERT(strncmp(dmg_peer_conn_name(p), i ? "x509:localhost@" : "psk:127.0.0.1@",
					  i ? 15 : 14) == 0);
			call_ok(p, "ping", "1");
			dmg_peer_close(p);
		}
		srv_join(&s);
		CU_ASSERT_EQUAL(s.calls, 1);
		CU_ASSERT(strncmp(s.name, i ? "x509:drbdmig-client@" : "psk:localhost@", i ? 20 : 14) == 0);
		CU_ASSERT_STRING_EQUAL(s.identity, i ? "drbdmig-client" : "localhost");
	}
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(both);
	dmg_peer_ctx_free(x509);
}

/* Server ctx sc, client ctx cc: the handshake must fail, the server must
 * read nothing; the side that refuses names why.  In TLS 1.3 the client's
 * side of the handshake is over before the server has judged the client's
 * certificate: the client then learns of the refusal at its first call. */
static void
refused(struct dmg_peer_ctx *sc, struct dmg_peer_ctx *cc, const char *client_msg,
	const char *server_msg)
{
	struct dmg_error err = { 0 };
	struct dmg_peer_conn *p;
	struct srv s;

	srv_start(&s, sc, 5000);
	p = connect_to(&s, cc, "127.0.0.1", &err);
	if (p) {
		struct dmg_jrec req;
		struct dmg_msg res;

		dmg_jrec_init(&req, "ping");
		CU_ASSERT(dmg_peer_call(p, &req, dmg_now_ms() + 5000, &res, &err) < 0);
		dmg_peer_close(p);
	}
	CU_ASSERT(has(err.msg, client_msg));
	srv_join(&s);
	CU_ASSERT(s.accept_rc < 0);
	CU_ASSERT(has(s.accept_err, server_msg));
	CU_ASSERT_EQUAL(s.calls, 0);
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

static void
test_x509_client_no_cert(void)
{
	NEED_PKI();
	refused(ctx_x509("ca.pem", "server", NULL, NULL), ctx_x509("ca.pem", NULL, NULL, NULL),
		"peer 127.0.0.1:", "TLS handshake failed: Certificate is required");
}

static void
test_x509_client_other_ca(void)
{
	NEED_PKI();
	/* GnuTLS offers only a certificate of a CA the server names, so
	 * this client sends none */
	refused(ctx_x509("ca.pem", "server", NULL, NULL), ctx_x509("ca.pem", NULL, "other-client", NULL),
		"peer 127.0.0.1:", "Certificate is required");
}

static void
test_x509_client_revoked(void)
{
	NEED_PKI();
	refused(ctx_x509("ca.pem", "server", NULL, "crl.pem"), ctx_x509("ca.pem", NULL, "revoked", NULL),
		"peer 127.0.0.1:", "certificate verification failed: The certificate is NOT trusted. The certificate chain is revoked.");
}

static void
test_x509_server_other_ca(void)
{
	NEED_PKI();
	refused(ctx_x509("ca.pem", "other-server", NULL, NULL), ctx_x509("ca.pem", NULL, "client", NULL),
		"issuer is unknown", "peer 127.0.0.1:");
}

static void
test_x509_server_wrong_name(void)
{
	NEED_PKI();
	refused(ctx_x509("ca.pem", "wrongname", NULL, NULL), ctx_x509("ca.pem", NULL, "client", NULL),
		"does not match", "peer 127.0.0.1:");
}

/* ---- identity: only configured peers ------------------------------------------ */

/* A and B with a pairwise key, each connecting to the other: each side
 * names the other as its peers list does. */
static void
test_psk_pairwise_both_ways(void)
{
	struct dmg_peer_ctx *a, *b;
	struct dmg_peer_conn *p;
	struct dmg_error err = { 0 };
	struct srv s;

	NEED_PKI();
	a = ctx_a();
	b = ctx_b();
	/* B connects to A, which it knows as localhost */
	srv_start(&s, a, 5000);
	p = connect_to(&s, b, "localhost", &err);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p) {
		CU_ASSERT_STRING_EQUAL(dmg_peer_conn_identity(p), "localhost");
		call_ok(p, "ping", "1");
		dmg_peer_close(p);
	} else {
		fprintf(stderr, "\n  connect: %s\n", err.msg);
	}
	srv_join(&s);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_STRING_EQUAL(s.identity, "127.0.0.1");
	dmg_peer_ctx_free(a);
	dmg_peer_ctx_free(b);
}

/* A client whose identity is no peers host: refused, the line names the
 * identity (escaped) and the address; the server reads nothing. */
static void
test_psk_unknown_identity(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct dmg_error err = { 0 };
	struct srv s;

	NEED_PKI();
	sc = ctx_b();
	cc = ctx_psk3("a.psk", "in\x01truder", "127.0.0.1");
	srv_start(&s, sc, 5000);
	CU_ASSERT_PTR_NULL(connect_to(&s, cc, "127.0.0.1", &err));
	srv_join(&s);
	CU_ASSERT(s.accept_rc < 0);
	CU_ASSERT(has(s.accept_err, "peer 127.0.0.1:"));
	CU_ASSERT(has(s.accept_err, "PSK identity 'in\\x01truder' is not a host in peers: refused"));
	CU_ASSERT_EQUAL(s.calls, 0);
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

static void
test_connect_not_in_peers(void)
{
	struct dmg_peer_ctx *c;
	struct dmg_peer_conn *p = NULL;
	struct dmg_error err = { 0 };

	NEED_PKI();
	c = ctx_a();
	CU_ASSERT_EQUAL(dmg_peer_connect(c, "127.0.0.2", 9, dmg_now_ms() + 1000, &p, &err), -EACCES);
	CU_ASSERT(has(err.msg, "127.0.0.2 is not in peers"));
	CU_ASSERT_PTR_NULL(p);
	dmg_peer_ctx_free(c);
	c = ctx_x509("ca.pem", NULL, "client", NULL);
	CU_ASSERT_EQUAL(dmg_peer_connect(c, "elsewhere.example", 9, dmg_now_ms() + 1000, &p, &err),
			-EACCES);
	CU_ASSERT(has(err.msg, "elsewhere.example is not in peers"));
	dmg_peer_ctx_free(c);
}

/* A valid certificate of the same CA for a host not in peers (libvirt's
 * PKI gives management and monitoring hosts client certificates too). */
static void
test_x509_client_not_in_peers(void)
{
	NEED_PKI();
	refused(ctx_x509("ca.pem", "server", NULL, NULL), ctx_x509("ca.pem", NULL, "monitor", NULL),
		"peer 127.0.0.1:", "certificate CN 'monitor.example' names no host in peers: refused");
}

/* A certificate with only a CN is named by it. */
static void
test_x509_cn_only(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct dmg_peer_conn *p;
	struct dmg_error err = { 0 };
	struct srv s;

	NEED_PKI();
	sc = ctx_x509("ca.pem", "server", NULL, NULL);
	cc = ctx_x509("ca.pem", NULL, "cnonly", NULL);
	srv_start(&s, sc, 5000);
	p = connect_to(&s, cc, "localhost", &err);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p) {
		call_ok(p, "ping", "1");
		dmg_peer_close(p);
	}
	srv_join(&s);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_STRING_EQUAL(s.identity, "cnonly.example");
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

/* ---- the daemon's server (peersrv) ---------------------------------------------- */

/* The handler stub: counts calls and answers "ok who=<identity>". */
struct stub {
	pthread_mutex_t mu;
	int calls;
	char who[256];
};

static int
stub_fn(void *arg, const char *identity, const struct dmg_jrec *req, struct dmg_jrec *reply,
	struct dmg_error *err)
{
	struct stub *st = arg;

	(void)req;
	pthread_mutex_lock(&st->mu);
	st->calls++;
	snprintf(st->who, sizeof(st->who), "%s", identity);
	pthread_mutex_unlock(&st->mu);
	dmg_jrec_init(reply, "ok");
	return dmg_jrec_set(reply, "who", identity, err);
}

struct psrv {
	struct dmg_log log;
	struct stub st;
	struct dmg_peersrv *ps;
	uint16_t port;
};

static void
psrv_start(struct psrv *v, struct dmg_peer_ctx *pc, unsigned hs_timeout, unsigned hs_max,
	   unsigned per_addr)
{
	struct dmg_peersrv_conf conf = { .addr = "127.0.0.1", .timeout_s = 5,
					 .handshake_timeout_s = hs_timeout, .handshake_max = hs_max,
					 .handshake_per_address = per_addr, .conns_max = 4,
					 .fn = stub_fn };
	struct dmg_error err = { 0 };

	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->st.mu, NULL);
	dmg_log_open(&v->log, "test", 0, 0, DMG_LOG_DEBUG);
	v->log.file = tmpfile();
	conf.arg = &v->st;
	conf.log = &v->log;
	CU_ASSERT_EQUAL_FATAL(dmg_peersrv_start(pc, &conf, &v->ps, &err), 0);
	v->port = dmg_peersrv_port(v->ps);
}

/* Stops the server; returns its log (free it). */
static char *
psrv_stop(struct psrv *v)
{
	char *text = calloc(1, 65536);
	size_t n;

	dmg_peersrv_stop(v->ps);
	rewind(v->log.file);
	n = fread(text, 1, 65535, v->log.file);
	text[n] = '\0';
	fclose(v->log.file);
	pthread_mutex_destroy(&v->st.mu);
	return text;
}

/* One call over a new connection to the peersrv; returns the status of the
 * connect and call, *who the answer's identity. */
static int
psrv_call(struct psrv *v, struct dmg_peer_ctx *cc, const char *host, char *who, size_t wlen)
{
	struct dmg_peer_conn *p = NULL;
	struct dmg_error err = { 0 };
	struct dmg_jrec req;
	struct dmg_msg res = { 0 };
	int rc;

	rc = dmg_peer_connect(cc, host, v->port, dmg_now_ms() + 3000, &p, &err);
	if (rc == 0) {
		dmg_jrec_init(&req, "ping");
		rc = dmg_peer_call(p, &req, dmg_now_ms() + 3000, &res, &err);
	}
	if (rc == 0 && res.body)
		snprintf(who, wlen, "%s", res.body);
	dmg_msg_clear(&res);
	dmg_peer_close(p);
	return rc;
}

/* A TCP connection to the server from address src that sends nothing (or
 * bytes). */
static int
raw_from(const char *src, uint16_t port, const char *bytes)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0);
	inet_pton(AF_INET, src, &sa.sin_addr);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	sa.sin_port = htons(port);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	if (bytes)
		CU_ASSERT(write(fd, bytes, strlen(bytes)) == (ssize_t)strlen(bytes));
	return fd;
}

/* Has the server closed fd?  Waits up to wait_ms for it. */
static int
closed(int fd, int wait_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[256];

	while (poll(&pfd, 1, wait_ms) == 1) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			return 1;   /* EOF or reset */
		/* an alert: keep reading to the end */
	}
	return 0;
}

/* Through the daemon's server: a configured X.509 peer reaches the handler
 * under its identity; a certificate of the same CA for a host not in peers
 * never does, and the refusal is one line naming it and its address. */
static void
test_peersrv_identity(void)
{
	struct dmg_peer_ctx *sc, *good, *monitor;
	struct psrv v;
	char who[256] = "", *log;

	NEED_PKI();
	sc = ctx_x509("ca.pem", "server", NULL, NULL);
	good = ctx_x509("ca.pem", NULL, "client", NULL);
	monitor = ctx_x509("ca.pem", NULL, "monitor", NULL);
	psrv_start(&v, sc, 5, 0, 0);
	CU_ASSERT_EQUAL(psrv_call(&v, good, "127.0.0.1", who, sizeof(who)), 0);
	CU_ASSERT_STRING_EQUAL(who, "ok who=drbdmig-client\n");
	CU_ASSERT(psrv_call(&v, monitor, "localhost", who, sizeof(who)) < 0);
	log = psrv_stop(&v);
	CU_ASSERT_EQUAL(v.st.calls, 1);
	CU_ASSERT_STRING_EQUAL(v.st.who, "drbdmig-client");
	CU_ASSERT(has(log, "peer connection refused: peer 127.0.0.1:"));
	CU_ASSERT(has(log, "certificate CN 'monitor.example' names no host in peers: refused"));
	free(log);
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(good);
	dmg_peer_ctx_free(monitor);
}

/* Idle connections from one address beyond its cap are closed at once,
 * those within it at the handshake deadline; junk is dropped at once; a
 * peer from another address is served meanwhile. */
static void
test_peersrv_preauth(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct psrv v;
	char who[256] = "", *log;
	int fd[5], junk, i, n;
	int64_t t0;

	NEED_PKI();
	sc = ctx_b();
	cc = ctx_a();
	psrv_start(&v, sc, 2, 0, 2);
	t0 = dmg_now_ms();
	for (i = 0; i < 5; i++)
		fd[i] = raw_from("127.0.0.2", v.port, NULL);
	for (i = 2; i < 5; i++)
		CU_ASSERT(closed(fd[i], 1000));
	for (i = 0; i < 2; i++)
		CU_ASSERT(!closed(fd[i], 0));
	for (i = 0, n = 0; i < 3; i++)
		n += psrv_call(&v, cc, "127.0.0.1", who, sizeof(who)) == 0;
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(who, "ok who=localhost\n");
	CU_ASSERT(dmg_now_ms() - t0 < 1500);   /* not held up by the idle ones */
	junk = raw_from("127.0.0.3", v.port, "GET / HTTP/1.0\r\n\r\n");
	CU_ASSERT(closed(junk, 1000));
	close(junk);
	/* the two within the cap: closed at the 2 s handshake deadline */
	for (i = 0; i < 2; i++)
		CU_ASSERT(closed(fd[i], 4000));
	CU_ASSERT(dmg_now_ms() - t0 >= 1900);
	CU_ASSERT(dmg_now_ms() - t0 < 4000);
	for (i = 0; i < 5; i++)
		close(fd[i]);
	log = psrv_stop(&v);
	CU_ASSERT_EQUAL(v.st.calls, 3);
	CU_ASSERT(has(log, "peer connection from 127.0.0.2 dropped: too many connections from it in the handshake"));
	CU_ASSERT(has(log, "timed out during the TLS handshake"));
	free(log);
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

/* The handshake slots all taken by idle connections from many addresses:
 * a peer's connection takes the oldest one's place. */
static void
test_peersrv_evict(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct psrv v;
	char who[256] = "", src[32], *log;
	int fd[3], i;

	NEED_PKI();
	sc = ctx_b();
	cc = ctx_a();
	psrv_start(&v, sc, 10, 3, 4);
	for (i = 0; i < 3; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 10 + i);
		fd[i] = raw_from(src, v.port, NULL);
	}
	usleep(200 * 1000);   /* let the server take all three in */
	CU_ASSERT_EQUAL(psrv_call(&v, cc, "127.0.0.1", who, sizeof(who)), 0);
	CU_ASSERT(closed(fd[0], 1000));
	for (i = 0; i < 3; i++)
		close(fd[i]);
	log = psrv_stop(&v);
	CU_ASSERT_EQUAL(v.st.calls, 1);
	free(log);
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

/* ---- what the server refuses after the handshake ------------------------------ */

static size_t
frame(unsigned char *buf, size_t len, const struct dmg_msg *m)
{
	struct dmg_buf b = { 0 };
	struct dmg_error err;
	size_t n = 0;

	if (dmg_msg_encode(m, &b, &err) == 0 && b.len <= len) {
		memcpy(buf, b.data, b.len);
		n = b.len;
	}
	dmg_buf_free(&b);
	CU_ASSERT(n > 0);
	return n;
}

/* Sends bytes over an authenticated PSK connection and checks the server's
 * receive error; calls counts the valid CALLs that precede them. */
static void
server_rejects(const void *bytes, size_t n, int calls, const char *msg)
{
	struct dmg_peer_ctx *sc = ctx_b(), *cc = ctx_a();
	struct dmg_peer_conn *p;
	struct dmg_error err = { 0 };
	struct srv s;

	srv_start(&s, sc, 5000);
	p = connect_to(&s, cc, "127.0.0.1", &err);
	CU_ASSERT_PTR_NOT_NULL(p);
	if (p) {
		CU_ASSERT_EQUAL(dmg_peer_send_raw(p, bytes, n, dmg_now_ms() + 2000, &err), 0);
		/* wait for the server's verdict before closing */
		srv_join(&s);
		dmg_peer_close(p);
	} else {
		srv_join(&s);
	}
	CU_ASSERT_EQUAL(s.calls, calls);
	CU_ASSERT(s.recv_rc < 0 && s.recv_rc != -EPIPE);
	CU_ASSERT(has(s.recv_err, msg));
	CU_ASSERT(has(s.recv_err, "peer 127.0.0.1:"));
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

static void
test_server_rejects(void)
{
	static const unsigned char badmagic[] = "DMG2\0\1\0\6\0\0\0\0";
	unsigned char big[DMG_PROTO_HDR], buf[4096];
	struct dmg_msg m;
	uint32_t len = DMG_PEER_CALL_PAYLOAD_MAX + 1;
	size_t n;

	NEED_PKI();
	server_rejects(badmagic, DMG_PROTO_HDR, 0, "bad message magic");

	/* a header announcing more than a CALL may carry: refused unread */
	memcpy(big, "DMG1\0\1\0\6", 8);
	big[8] = (unsigned char)(len >> 24);
	big[9] = (unsigned char)(len >> 16);
	big[10] = (unsigned char)(len >> 8);
	big[11] = (unsigned char)len;
	server_rejects(big, sizeof(big), 0, "exceeds the limit");

	m = (struct dmg_msg){ .type = DMG_MSG_PING };
	n = frame(buf, sizeof(buf), &m);
	server_rejects(buf, n, 0, "unexpected ping message (expected call)");

	/* a CALL whose fields do not decode */
	memcpy(buf, "DMG1\0\1\0\6\0\0\0\3xyz", 15);
	server_rejects(buf, 15, 0, "truncated field header");

	/* the first CALL is fine, then it comes again */
	m = (struct dmg_msg){ .type = DMG_MSG_CALL, .seq = 1, .body = "ping\n", .body_len = 5 };
	n = frame(buf, sizeof(buf), &m);
	n += frame(buf + n, sizeof(buf) - n, &m);
	server_rejects(buf, n, 1, "replayed or out-of-order message (seq 1, expected 2)");

	m = (struct dmg_msg){ .type = DMG_MSG_CALL, .seq = 5, .body = "ping\n", .body_len = 5 };
	n = frame(buf, sizeof(buf), &m);
	server_rejects(buf, n, 0, "replayed or out-of-order message (seq 5, expected 1)");

	m = (struct dmg_msg){ .type = DMG_MSG_CALL, .seq = 1, .body = "ping\nping\n", .body_len = 10 };
	n = frame(buf, sizeof(buf), &m);
	server_rejects(buf, n, 0, "not exactly one record line");

	m = (struct dmg_msg){ .type = DMG_MSG_CALL, .seq = 1, .body = "ping", .body_len = 4 };
	n = frame(buf, sizeof(buf), &m);
	server_rejects(buf, n, 0, "not one record line");

	m = (struct dmg_msg){ .type = DMG_MSG_CALL, .seq = 1, .body = "Ping x\n", .body_len = 7 };
	n = frame(buf, sizeof(buf), &m);
	server_rejects(buf, n, 0, "call 1: malformed record line");
}

/* ---- deadlines ----------------------------------------------------------------- */

static void
test_deadlines(void)
{
	struct dmg_peer_ctx *c;
	struct dmg_peer_conn *p = NULL;
	struct dmg_error err = { 0 };
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct srv s;
	int64_t t0;
	int lfd, fd;

	NEED_PKI();
	c = ctx_a();
	/* client side: the "server" accepts TCP (backlog) but never answers */
	lfd = dmg_peer_listen("127.0.0.1", 0, &err);
	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_FATAL(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
	t0 = dmg_now_ms();
	CU_ASSERT_EQUAL(dmg_peer_connect(c, "127.0.0.1", ntohs(sa.sin_port), t0 + 300, &p, &err),
			-ETIMEDOUT);
	CU_ASSERT(dmg_now_ms() - t0 >= 290 && dmg_now_ms() - t0 < 3000);
	CU_ASSERT(has(err.msg, "timed out during the TLS handshake"));
	CU_ASSERT_PTR_NULL(p);
	close(lfd);

	/* server side: a client stalls after part of its ClientHello */
	srv_start(&s, c, 400);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons(s.port);
	CU_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	t0 = dmg_now_ms();
	CU_ASSERT_EQUAL(write(fd, "\x16\x03\x01\x02\x00\x01", 6), 6);
	srv_join(&s);
	CU_ASSERT(dmg_now_ms() - t0 < 3000);
	CU_ASSERT_EQUAL(s.accept_rc, -ETIMEDOUT);
	CU_ASSERT(has(s.accept_err, "timed out during the TLS handshake"));
	close(fd);
	dmg_peer_ctx_free(c);
}

/* The server stalls on a half-sent message: recv_call's deadline. */
static void
test_deadline_mid_message(void)
{
	struct dmg_peer_ctx *sc, *cc;
	struct dmg_peer_conn *p;
	struct dmg_error err = { 0 };
	struct srv s;

	NEED_PKI();
	sc = ctx_b();
	cc = ctx_a();
	srv_start(&s, sc, 5000);
	p = connect_to(&s, cc, "127.0.0.1", &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(dmg_peer_send_raw(p, "DMG1\0\1", 6, dmg_now_ms() + 2000, &err), 0);
	srv_join(&s);   /* the server gives up after its 2 s receive deadline */
	CU_ASSERT_EQUAL(s.recv_rc, -ETIMEDOUT);
	CU_ASSERT(has(s.recv_err, "timed out waiting for a message"));
	dmg_peer_close(p);
	dmg_peer_ctx_free(sc);
	dmg_peer_ctx_free(cc);
}

/* ---- credentials ---------------------------------------------------------------- */

static void
ctx_fails(const struct dmg_peer_auth *a, const char *msg)
{
	struct dmg_peer_ctx *c = NULL;
	struct dmg_error err = { 0 };

	CU_ASSERT(dmg_peer_ctx_new(a, &c, &err) < 0);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(has(err.msg, msg));
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void
test_credentials(void)
{
	struct dmg_peer_auth a = { .peers = "hosta hostb", .self_name = "hostc" };
	char path[128], key[128];

	NEED_PKI();
	ctx_fails(&a, "neither a PSK file nor a TLS CA file");
	a.psk_file = "/nonexistent/peer.psk";
	ctx_fails(&a, "PSK file /nonexistent/peer.psk: No such file");
	snprintf(path, sizeof(path), "%s/t.psk", pki);
	a.psk_file = path;
	write_file(path, "hosta:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0640);
	ctx_fails(&a, "accessible by group or others (chmod 600 it)");
	chmod(path, 0600);
	CU_ASSERT_EQUAL(chown(path, 4242, (gid_t)-1), geteuid() == 0 ? 0 : -1);
	if (geteuid() == 0)
		ctx_fails(&a, "belongs to uid 4242, not root");
	CU_ASSERT_EQUAL(chown(path, geteuid(), (gid_t)-1), 0);
	write_file(path, "hosta:00112233445566778899aabbccddeeff\n", 0600);
	ctx_fails(&a, "key has 16 bytes, at least 32");
	write_file(path, "hosta:0011223344556677889xaabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
	ctx_fails(&a, "not hexadecimal");
	write_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
	ctx_fails(&a, "identity:hexkey");
	/* every line names a peers host, once; without X.509 every host has one */
	write_file(path, "hosta:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
			 "hostx:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
	ctx_fails(&a, "line 2: identity 'hostx' is not a host in peers");
	write_file(path, "hosta:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
			 "hosta:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
	ctx_fails(&a, "line 2: a second line for 'hosta'");
	write_file(path, "hosta:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
	ctx_fails(&a, "has no line for peer host hostb");
	a.peers = "";
	ctx_fails(&a, "peers is empty");
	a.peers = "hosta";
	a.self_name[0] = '\0';
	ctx_fails(&a, "own name (peer_name) is not known");
	unlink(path);

	a = (struct dmg_peer_auth){ .ca_file = "/nonexistent/ca.pem", .peers = "hosta" };
	ctx_fails(&a, "TLS CA file /nonexistent/ca.pem: No such file");
	a.ca_file = pf("ca.pem");
	a.server_cert = pf("server.pem");
	a.server_key = "/nonexistent/key.pem";
	ctx_fails(&a, "TLS private key /nonexistent/key.pem: No such file");
	a.server_key = NULL;
	ctx_fails(&a, "certificate and key must be given together");
	a.server_key = pf("client-key.pem");   /* not this certificate's key */
	ctx_fails(&a, "TLS certificate");
	/* a private key others may read: refused */
	snprintf(key, sizeof(key), "%s/open-key.pem", pki);
	CU_ASSERT_EQUAL(link(pf("server-key.pem"), key), 0);
	chmod(key, 0644);
	a.server_key = key;
	ctx_fails(&a, "is accessible by others or by group");
	chmod(key, 0600);
	unlink(key);
	a.server_key = pf("server-key.pem");
	a.crl_file = pf("ca.pem");              /* not a CRL */
	ctx_fails(&a, "TLS CRL file");
}

/* The single shared key of before is refused with what to change, the
 * way `drbdmigd -n` and the daemon's start read it. */
static void
test_psk_old_file(void)
{
	struct dmg_peer_ctx *c = NULL;
	struct dmg_peer_auth a;
	struct dmg_error err = { 0 };
	struct dmg_conf conf;
	char text[512];

	NEED_PKI();
	dmg_conf_defaults(&conf);
	snprintf(text, sizeof(text), "peer_auth = psk\npeer_psk_file = %s\npeers = 10.0.0.2\npeer_listen = 10.0.0.1\n",
		 pf("old.psk"));
	CU_ASSERT_EQUAL_FATAL(dmg_conf_parse(text, strlen(text), "t.conf", &conf, &err), 0);
	CU_ASSERT_EQUAL_FATAL(dmg_peer_auth_from_conf(&conf, &a, &err), 0);
	CU_ASSERT_STRING_EQUAL(a.self_name, "10.0.0.1");
	CU_ASSERT(dmg_peer_ctx_new(&a, &c, &err) < 0);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(has(err.msg, "its one key is for identity 'lab', which is not a host in peers"));
	CU_ASSERT(has(err.msg, "one line per peer host, named exactly as in peers"));
	CU_ASSERT(has(err.msg, "doc/security.md"));
}

static void
test_auth_from_conf(void)
{
	struct dmg_conf c;
	struct dmg_peer_auth a;
	struct dmg_error err = { 0 };
	char host[256];

	NEED_PKI();
	dmg_conf_defaults(&c);
	snprintf(c.peers, sizeof(c.peers), "hostb hostc:7781");
	snprintf(c.peer_psk_file, sizeof(c.peer_psk_file), "%s", pf("a.psk"));
	snprintf(c.tls_ca_file, sizeof(c.tls_ca_file), "%s/missing.pem", pki);
	CU_ASSERT_EQUAL(dmg_peer_auth_from_conf(&c, &a, &err), 0);
	CU_ASSERT_STRING_EQUAL(a.psk_file, c.peer_psk_file);
	CU_ASSERT_PTR_NULL(a.ca_file);
	CU_ASSERT_STRING_EQUAL(a.peers, "hostb hostc:7781");
	/* peer_listen 0.0.0.0: the host name */
	CU_ASSERT_EQUAL(gethostname(host, sizeof(host)), 0);
	CU_ASSERT_STRING_EQUAL(a.self_name, host);
	snprintf(c.peer_name, sizeof(c.peer_name), "hosta.example");
	CU_ASSERT_EQUAL(dmg_peer_auth_from_conf(&c, &a, &err), 0);
	CU_ASSERT_STRING_EQUAL(a.self_name, "hosta.example");

	snprintf(c.tls_ca_file, sizeof(c.tls_ca_file), "%s", pf("ca.pem"));
	CU_ASSERT_EQUAL(dmg_peer_auth_from_conf(&c, &a, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(a.psk_file);
	CU_ASSERT_STRING_EQUAL(a.ca_file, c.tls_ca_file);
	CU_ASSERT_STRING_EQUAL(a.client_key, "/etc/pki/libvirt/private/clientkey.pem");

	c.peer_auth = DMG_PEER_AUTH_X509;
	CU_ASSERT_EQUAL(dmg_peer_auth_from_conf(&c, &a, &err), 0);
	CU_ASSERT_PTR_NULL(a.psk_file);

	c.peers[0] = '\0';
	CU_ASSERT_EQUAL(dmg_peer_auth_from_conf(&c, &a, &err), -EINVAL);
	CU_ASSERT(has(err.msg, "peers is empty"));

	c.peer_auth = DMG_PEER_AUTH_AUTO;
	snprintf(c.peer_psk_file, sizeof(c.peer_psk_file), "%s/none.psk", pki);
	snprintf(c.tls_ca_file, sizeof(c.tls_ca_file), "%s/none.pem", pki);
	CU_ASSERT_EQUAL(dmg_peer_auth_from_conf(&c, &a, &err), -ENOENT);
	CU_ASSERT(has(err.msg, "neither the PSK file"));
}

/* ---- the pure checks (also fuzzed) ------------------------------------------------ */

static void
test_checks(void)
{
	struct dmg_msg m = { .type = DMG_MSG_CALL, .seq = 3, .body = "set-rate rate=400M\n",
			     .body_len = 19 };
	unsigned char hdr[DMG_PROTO_HDR] = { 'D', 'M', 'G', '1', 0, 1, 0, 7, 0, 0x10, 0, 0x30 };
	struct dmg_jrec r, q;
	struct dmg_error err = { 0 };
	char line[256];
	uint32_t plen;
	int n;

	CU_ASSERT_EQUAL(dmg_peer_check_call(&m, 3, &r, &err), 0);
	CU_ASSERT_STRING_EQUAL(r.step, "set-rate");
	CU_ASSERT_STRING_EQUAL(dmg_jrec_get(&r, "rate"), "400M");
	CU_ASSERT_EQUAL(r.seq, 3);
	CU_ASSERT_EQUAL(dmg_peer_check_call(&m, 4, &r, &err), -EPROTO);
	/* RESULT headers may be larger than CALLs, but not without bound */
	CU_ASSERT_EQUAL(dmg_peer_check_header(hdr, DMG_MSG_RESULT, &plen, &err), 0);
	CU_ASSERT_EQUAL(plen, 0x100030);
	hdr[9] = 0x20;
	CU_ASSERT_EQUAL(dmg_peer_check_header(hdr, DMG_MSG_RESULT, &plen, &err), -EMSGSIZE);
	hdr[9] = 0;
	CU_ASSERT_EQUAL(dmg_peer_check_header(hdr, DMG_MSG_CALL, &plen, &err), -EPROTO);

	dmg_jrec_init(&q, "build");
	dmg_jrec_set(&q, "lv", "vg0/a b", &err);
	n = dmg_peer_format_line(&q, line, sizeof(line), &err);
	CU_ASSERT_EQUAL(n, (int)strlen("build lv=vg0/a%20b\n"));
	CU_ASSERT_STRING_EQUAL(line, "build lv=vg0/a%20b\n");
	CU_ASSERT(dmg_peer_format_line(&q, line, 8, &err) < 0);
}

void
register_peer_tests(void)
{
	CU_pSuite s = CU_add_suite("peer", suite_init, suite_clean);

	CU_add_test(s, "PSK: call/result round trip", test_psk_roundtrip);
	CU_add_test(s, "PSK: wrong key refused, server reads nothing", test_psk_wrong_key);
	CU_add_test(s, "X.509: mutual authentication by IP and by name", test_x509_mutual);
	CU_add_test(s, "PSK and X.509 both configured", test_both_methods);
	CU_add_test(s, "X.509: client without certificate refused", test_x509_client_no_cert);
	CU_add_test(s, "X.509: client certificate from another CA refused", test_x509_client_other_ca);
	CU_add_test(s, "X.509: revoked client certificate refused (CRL)", test_x509_client_revoked);
	CU_add_test(s, "X.509: server certificate from another CA refused", test_x509_server_other_ca);
	CU_add_test(s, "X.509: server certificate for another name refused", test_x509_server_wrong_name);
	CU_add_test(s, "PSK: pairwise keys, both ways, identities as in peers", test_psk_pairwise_both_ways);
	CU_add_test(s, "PSK: identity not in peers refused, named escaped", test_psk_unknown_identity);
	CU_add_test(s, "connect to a host not in peers refused", test_connect_not_in_peers);
	CU_add_test(s, "X.509: certificate of the CA for a host not in peers refused", test_x509_client_not_in_peers);
	CU_add_test(s, "X.509: certificate with only a CN named by it", test_x509_cn_only);
	CU_add_test(s, "PSK: the old single shared key refused with what to change", test_psk_old_file);
	CU_add_test(s, "peersrv: handler sees the identity; a cert not in peers never reaches it", test_peersrv_identity);
	CU_add_test(s, "peersrv: per-address cap, junk dropped, handshake deadline, peer served", test_peersrv_preauth);
	CU_add_test(s, "peersrv: handshake slots full, the oldest makes way for a peer", test_peersrv_evict);
	CU_add_test(s, "malformed, oversized, wrong type, replayed, bad body rejected", test_server_rejects);
	CU_add_test(s, "handshake deadlines on both sides", test_deadlines);
	CU_add_test(s, "receive deadline mid-message", test_deadline_mid_message);
	CU_add_test(s, "credential files checked with clear errors", test_credentials);
	CU_add_test(s, "peer_auth from the configuration", test_auth_from_conf);
	CU_add_test(s, "header, call and line checks", test_checks);
}
