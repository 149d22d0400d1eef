/* The peer channel over GnuTLS: credentials, TCP with deadlines, the TLS
 * handshake with mutual authentication, and CALL/RESULT exchange.  See
 * peer.h for the contract. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "peer/peer.h"
#include "core/hex.h"
#include "core/defaults.h"
#include "core/wire.h"

#define PSK_KEY_MIN      32
#define PSK_KEY_MAX      256
#define PSK_FILE_MAX     (64 << 10)
#define ADDR_MAX         64     /* "[v6]:port" */
#define HOST_MAX         DMG_CONF_HOST_MAX
#define SHOWN_MAX        (4 * 64 + 1)   /* an escaped peer-supplied name */
#define NAME_MAX_LEN     (16 + SHOWN_MAX + ADDR_MAX)

/* TLS 1.2/1.3 only; NORMAL has no anonymous suites, static RSA is dropped
 * for forward secrecy, and only AEAD ciphers remain (NORMAL still has CBC
 * with HMAC in TLS 1.2).  PSK only with (EC)DHE, so both sides prove the
 * key.  `gnutls-cli --priority '<string>' -l` lists what a string allows. */
#define PRIO_VERS  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define PRIO_AEAD  ":-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-CCM:+AES-128-CCM:-MAC-ALL:+AEAD"
#define PRIO_BASE  PRIO_VERS ":-RSA" PRIO_AEAD
#define PRIO_PSK   ":+ECDHE-PSK:+DHE-PSK"
#define PRIO_PSK_ONLY PRIO_VERS ":-KX-ALL" PRIO_PSK PRIO_AEAD

/* One line of the PSK file: the key this host shares with one peer. */
struct psk_entry {
	char identity[HOST_MAX];          /* the peer host, as peers lists it */
	unsigned char key[PSK_KEY_MAX];
	unsigned len;
	gnutls_psk_client_credentials_t cli;   /* self_name + key, to connect to it */
};

struct dmg_peer_ctx {
	char (*peers)[HOST_MAX];          /* the hosts of peers */
	size_t npeers;
	char self[HOST_MAX];              /* our PSK identity */
	struct psk_entry *psk;
	size_t npsk, npsk_alloc;          /* lines used, allocated */
	int has_psk;
	gnutls_psk_server_credentials_t psk_srv;
	gnutls_certificate_credentials_t x509_srv;   /* CA + server cert/key */
	gnutls_certificate_credentials_t x509_cli;   /* CA (+ client cert/key) */
	gnutls_priority_t prio_srv, prio_cli, prio_cli_psk;
	int global_init;
};

struct dmg_peer_conn {
	const struct dmg_peer_ctx *ctx;
	gnutls_session_t s;
	int fd;
	int server;
	int broken;          /* the stream is out of step after an error */
	int pending;         /* server: a CALL awaits its RESULT */
	uint32_t seq;        /* client: next CALL's seq; server: next expected */
	uint32_t answer;     /* server: seq of the CALL to answer */
	const struct psk_entry *psk;   /* client: the key for this host, or NULL */
	char host[HOST_MAX]; /* client: the name the certificate must carry */
	char identity[HOST_MAX];       /* the peers host the remote proved to be */
	char unknown[SHOWN_MAX];       /* server: a PSK identity not in peers */
	char addr[ADDR_MAX];
	char name[NAME_MAX_LEN];
	gnutls_typed_vdata_st vdata[2];   /* live as long as the session */
	unsigned nvdata;
};

/* ---- names ----------------------------------------------------------------- */

/* Peer-supplied text for a log line: printable ASCII as is, anything else
 * (and the backslash and quote) as \xNN, cut at 64 input bytes. */
static void
escape(const char *in, size_t n, char *out, size_t olen)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < 64 && o + 5 <= olen; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch > ' ' && ch < 0x7f && ch != '\\' && ch != '\'')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, olen - o, "\\x%02x", ch);
	}
	if (olen)
		out[o < olen ? o : olen - 1] = '\0';
}

/* The same host: IP literals by value, names without regard to case. */
static int
same_host(const char *a, const char *b)
{
	unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
	return strcasecmp(a, b) == 0;
}

/* The peers entry for host, or NULL. */
static const char *
find_peer(const struct dmg_peer_ctx *c, const char *host)
{
	size_t i;

	for (i = 0; i < c->npeers; i++)
		if (same_host(c->peers[i], host))
			return c->peers[i];
	return NULL;
}

static const struct psk_entry *
find_psk(const struct dmg_peer_ctx *c, const char *identity)
{
	size_t i;

	for (i = 0; i < c->npsk; i++)
		if (strcmp(c->psk[i].identity, identity) == 0)
			return &c->psk[i];
	return NULL;
}

static int
load_peers(struct dmg_peer_ctx *c, const char *list, struct dmg_error *err)
{
	char host[HOST_MAX];
	unsigned port;
	size_t i, n = 0;

	while (list && dmg_conf_peer_list(list, n, host, sizeof(host), &port))
		n++;
	if (n == 0)
		return dmg_error_set(err, -EINVAL,
				     "peers is empty: no host may use the peer channel (list the other hosts in peers, see drbdmig.conf(5))");
	c->peers = calloc(n, sizeof(*c->peers));
	if (!c->peers)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if (!dmg_conf_peer_list(list, i, c->peers[i], HOST_MAX, &port))
			return dmg_error_set(err, -EINVAL, "peers: entry %zu is not host[:port]", i + 1);
	c->npeers = n;
	return 0;
}

/* ---- credentials -------------------------------------------------------- */

/* One "identity:hexkey" line into e. */
static int
parse_psk_line(char *line, struct psk_entry *e, const char *where, struct dmg_error *err)
{
	char *colon = strchr(line, ':'), *hex;
	size_t i, n;

	if (!colon || colon == line)
		return dmg_error_set(err, -EINVAL, "%s: expected 'identity:hexkey' (psktool format)", where);
	*colon = '\0';
	hex = colon + 1;
	if ((size_t)(colon - line) >= sizeof(e->identity))
		return dmg_error_set(err, -EINVAL, "%s: identity longer than %d bytes", where, HOST_MAX - 1);
	for (i = 0; line[i]; i++)
		if (line[i] <= ' ' || line[i] > '~')
			return dmg_error_set(err, -EINVAL, "%s: identity has a space or control byte", where);
	n = strlen(hex);
	if (n % 2 || n / 2 > PSK_KEY_MAX)
		return dmg_error_set(err, -EINVAL, "%s: key is not hexadecimal bytes", where);
	for (i = 0; i < n / 2; i++) {
		int hi = dmg_hexval(hex[2 * i]), lo = dmg_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return dmg_error_set(err, -EINVAL, "%s: key is not hexadecimal bytes", where);
		e->key[i] = (unsigned char)(hi << 4 | lo);
	}
	if (n / 2 < PSK_KEY_MIN)
		return dmg_error_set(err, -EINVAL, "%s: key has %zu bytes, at least %d needed", where,
				     n / 2, PSK_KEY_MIN);
	e->len = (unsigned)(n / 2);
	memcpy(e->identity, line, (size_t)(colon - line) + 1);
	return 0;
}

/* Every line names a peers host, once.  A single line for another name is
 * what the file of the old scheme (one key shared by all hosts) looks
 * like: say what to change. */
static int
check_psk_entry(const struct dmg_peer_ctx *c, const struct psk_entry *e, size_t idx,
		size_t nlines, const char *path, unsigned lineno, struct dmg_error *err)
{
	char shown[SHOWN_MAX];
	size_t i;

	escape(e->identity, strlen(e->identity), shown, sizeof(shown));
	for (i = 0; i < c->npeers; i++)
		if (strcmp(c->peers[i], e->identity) == 0)
			break;
	if (i == c->npeers && nlines == 1)
		return dmg_error_set(err, -EINVAL,
				     "PSK file %s: its one key is for identity '%s', which is not a host in peers: the file needs one line per peer host, named exactly as in peers, each with a key shared by that pair of hosts only (see doc/security.md, upgrading from one shared PSK)",
				     path, shown);
	if (i == c->npeers)
		return dmg_error_set(err, -EINVAL,
				     "PSK file %s line %u: identity '%s' is not a host in peers (one line per peer host, named exactly as in peers)",
				     path, lineno, shown);
	for (i = 0; i < idx; i++)
		if (strcmp(c->psk[i].identity, e->identity) == 0)
			return dmg_error_set(err, -EINVAL, "PSK file %s line %u: a second line for '%s'",
					     path, lineno, shown);
	return 0;
}

static int
parse_psk(struct dmg_peer_ctx *c, char *text, const char *path, struct dmg_error *err)
{
	char *line, *next, where[300];
	size_t n = 0, nlines = 0;
	unsigned lineno = 0;
	int rc;

	for (line = text; *line; line += strcspn(line, "\n"), line += *line == '\n')
		if (*line != '\n')
			nlines++;
	if (nlines == 0)
		return dmg_error_set(err, -EINVAL, "PSK file %s is empty (one 'host:hexkey' line per peer host)",
				     path);
	c->psk = calloc(nlines, sizeof(*c->psk));
	if (!c->psk)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	c->npsk_alloc = nlines;
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (!*line)
			continue;
		snprintf(where, sizeof(where), "PSK file %s line %u", path, lineno);
		rc = parse_psk_line(line, &c->psk[n], where, err);
		if (rc == 0)
			rc = check_psk_entry(c, &c->psk[n], n, nlines, path, lineno, err);
		if (rc < 0)
			return rc;
		n++;
	}
	c->npsk = n;
	return 0;
}

/* The PSK file holds the keys of every pair this host belongs to: root's
 * (or the daemon's own, for tests) and nobody else's to read or change. */
static int
check_psk_file(const struct stat *st, const char *path, struct dmg_error *err)
{
	if (!S_ISREG(st->st_mode))
		return dmg_error_set(err, -EINVAL, "PSK file %s is not a regular file", path);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return dmg_error_set(err, -EPERM, "PSK file %s belongs to uid %u, not root (chown root it)",
				     path, (unsigned)st->st_uid);
	if (st->st_mode & 077)
		return dmg_error_set(err, -EPERM, "PSK file %s is accessible by group or others (chmod 600 it)",
				     path);
	return 0;
}

static int
load_psk(struct dmg_peer_ctx *c, const char *path, struct dmg_error *err)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return dmg_error_sys(err, -errno, "PSK file %s", path);
	buf = malloc(PSK_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	if (fstat(fd, &st) < 0) {
		rc = dmg_error_sys(err, -errno, "PSK file %s", path);
	} else if ((rc = check_psk_file(&st, path, err)) == 0) {
		while (len <= PSK_FILE_MAX && (n = read(fd, buf + len, PSK_FILE_MAX + 1 - len)) > 0)
			len += (size_t)n;
		if (n < 0)
			rc = dmg_error_sys(err, -errno, "cannot read PSK file %s", path);
		else if (len > PSK_FILE_MAX)
			rc = dmg_error_set(err, -EFBIG, "PSK file %s is too large", path);
		else {
			buf[len] = '\0';
			rc = memchr(buf, '\0', len)
			     ? dmg_error_set(err, -EINVAL, "PSK file %s contains a NUL byte", path)
			     : parse_psk(c, buf, path, err);
		}
	}
	explicit_bzero(buf, PSK_FILE_MAX + 1);
	free(buf);
	close(fd);
	return rc;
}

/* Hands the acceptor the key it shares with the host named username, a
 * peers host; remembers any other name for the refusal's log line. */
static int
psk_server_key(gnutls_session_t s, const char *username, gnutls_datum_t *key)
{
	struct dmg_peer_conn *p = gnutls_session_get_ptr(s);
	const struct psk_entry *e = find_psk(p->ctx, username);

	if (!e) {
		escape(username, strlen(username), p->unknown, sizeof(p->unknown));
		return -1;
	}
	key->data = gnutls_malloc(e->len);
	if (!key->data)
		return -1;
	memcpy(key->data, e->key, e->len);
	key->size = e->len;
	return 0;
}

static int
setup_psk(struct dmg_peer_ctx *c, const struct dmg_peer_auth *a, int x509, struct dmg_error *err)
{
	size_t i;
	int rc;

	if (!*a->self_name)
		return dmg_error_set(err, -EINVAL, "PSK: this host's own name (peer_name) is not known");
	snprintf(c->self, sizeof(c->self), "%s", a->self_name);
	rc = load_psk(c, a->psk_file, err);
	if (rc < 0)
		return rc;
	for (i = 0; !x509 && i < c->npeers; i++)
		if (!find_psk(c, c->peers[i]))
			return dmg_error_set(err, -EINVAL, "PSK file %s has no line for peer host %s",
					     a->psk_file, c->peers[i]);
	if (gnutls_psk_allocate_server_credentials(&c->psk_srv) < 0)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	gnutls_psk_set_server_credentials_function(c->psk_srv, psk_server_key);
	(void)gnutls_psk_set_server_known_dh_params(c->psk_srv, GNUTLS_SEC_PARAM_HIGH);
	for (i = 0; i < c->npsk; i++) {
		gnutls_datum_t key = { c->psk[i].key, c->psk[i].len };

		if (gnutls_psk_allocate_client_credentials(&c->psk[i].cli) < 0)
			return dmg_error_set(err, -ENOMEM, "out of memory");
		rc = gnutls_psk_set_client_credentials(c->psk[i].cli, c->self, &key, GNUTLS_PSK_KEY_RAW);
		if (rc < 0)
			return dmg_error_set(err, -EINVAL, "PSK file %s: %s", a->psk_file, gnutls_strerror(rc));
	}
	c->has_psk = 1;
	return 0;
}

static int
need_file(const char *path, const char *what, struct dmg_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return dmg_error_sys(err, -errno, "%s %s", what, path);
	if (!S_ISREG(st.st_mode))
		return dmg_error_set(err, -EINVAL, "%s %s is not a regular file", what, path);
	return 0;
}

static int
is_set(const char *s)
{
	return s && *s;
}

/* One certificate credential: trust (CA, CRL) and optionally our own pair. */
static int
make_x509(gnutls_certificate_credentials_t *out, const struct dmg_peer_auth *a,
	  const char *cert, const char *key, struct dmg_error *err)
{
	gnutls_certificate_credentials_t x;
	int rc;

	if (gnutls_certificate_allocate_credentials(&x) < 0)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	*out = x;
	rc = gnutls_certificate_set_x509_trust_file(x, a->ca_file, GNUTLS_X509_FMT_PEM);
	if (rc <= 0)
		return dmg_error_set(err, -EINVAL, "TLS CA file %s: %s", a->ca_file,
				     rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
	if (is_set(a->crl_file)) {
		rc = gnutls_certificate_set_x509_crl_file(x, a->crl_file, GNUTLS_X509_FMT_PEM);
		if (rc < 0)
			return dmg_error_set(err, -EINVAL, "TLS CRL file %s: %s", a->crl_file,
					     gnutls_strerror(rc));
	}
	if (cert) {
		rc = gnutls_certificate_set_x509_key_file(x, cert, key, GNUTLS_X509_FMT_PEM);
		if (rc < 0)
			return dmg_error_set(err, -EINVAL, "TLS certificate %s with key %s: %s", cert, key,
					     gnutls_strerror(rc));
	}
	(void)gnutls_certificate_set_known_dh_params(x, GNUTLS_SEC_PARAM_HIGH);
	return 0;
}

/* A private key that others may read lets them act as this host towards
 * its peers.  libvirt's virt-pki-validate asks for 0600 on the server key
 * but 0644 on the system client key (for unprivileged virsh): drbdmig
 * refuses that too, and allows only a group read by group root (0640
 * root:root), which gives nobody else the key. */
static int
check_key(const char *path, struct dmg_error *err)
{
	struct stat st;
	int rc;

	rc = need_file(path, "TLS private key", err);
	if (rc < 0)
		return rc;
	if (stat(path, &st) < 0)
		return dmg_error_sys(err, -errno, "TLS private key %s", path);
	if ((st.st_mode & 026) || ((st.st_mode & 040) && st.st_gid != 0))
		return dmg_error_set(err, -EPERM,
				     "TLS private key %s is accessible by others or by group %u (chmod 600 it; for a client key that unprivileged libvirt clients share, give drbdmig its own with tls_client_cert/tls_client_key)",
				     path, (unsigned)st.st_gid);
	return 0;
}

static int
check_pair(const char *cert, const char *key, const char *what, struct dmg_error *err)
{
	int rc;

	if (is_set(cert) != is_set(key))
		return dmg_error_set(err, -EINVAL, "TLS %s certificate and key must be given together",
				     what);
	if (!is_set(cert))
		return 0;
	rc = need_file(cert, "TLS certificate", err);
	return rc < 0 ? rc : check_key(key, err);
}

static int
setup_x509(struct dmg_peer_ctx *c, const struct dmg_peer_auth *a, struct dmg_error *err)
{
	int rc;

	rc = need_file(a->ca_file, "TLS CA file", err);
	if (rc == 0 && is_set(a->crl_file))
		rc = need_file(a->crl_file, "TLS CRL file", err);
	if (rc == 0)
		rc = check_pair(a->server_cert, a->server_key, "server", err);
	if (rc == 0)
		rc = check_pair(a->client_cert, a->client_key, "client", err);
	if (rc == 0 && is_set(a->server_cert))
		rc = make_x509(&c->x509_srv, a, a->server_cert, a->server_key, err);
	if (rc == 0)
		rc = make_x509(&c->x509_cli, a, is_set(a->client_cert) ? a->client_cert : NULL,
			       a->client_key, err);
	return rc;
}

static int
setup_priorities(struct dmg_peer_ctx *c, struct dmg_error *err)
{
	const char *srv = c->has_psk ? (c->x509_srv ? PRIO_BASE PRIO_PSK : PRIO_PSK_ONLY) : PRIO_BASE;
	const char *pos = NULL;
	int rc;

	rc = gnutls_priority_init(&c->prio_srv, srv, &pos);
	if (rc == 0)
		rc = gnutls_priority_init(&c->prio_cli, PRIO_BASE, &pos);
	if (rc == 0)
		rc = gnutls_priority_init(&c->prio_cli_psk, PRIO_PSK_ONLY, &pos);
	if (rc < 0)
		return dmg_error_set(err, -EINVAL, "TLS priorities at '%s': %s", pos ? pos : "?",
				     gnutls_strerror(rc));
	return 0;
}

int
dmg_peer_ctx_new(const struct dmg_peer_auth *a, struct dmg_peer_ctx **out,
		 struct dmg_error *err)
{
	struct dmg_peer_ctx *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	rc = gnutls_global_init();
	if (rc < 0) {
		free(c);
		return dmg_error_set(err, -EIO, "GnuTLS: %s", gnutls_strerror(rc));
	}
	c->global_init = 1;
	if (!is_set(a->psk_file) && !is_set(a->ca_file))
		rc = dmg_error_set(err, -EINVAL, "peer authentication: neither a PSK file nor a TLS CA file is configured");
	else
		rc = 0;
	if (rc == 0)
		rc = load_peers(c, a->peers, err);
	if (rc == 0 && is_set(a->psk_file))
		rc = setup_psk(c, a, is_set(a->ca_file), err);
	if (rc == 0 && is_set(a->ca_file))
		rc = setup_x509(c, a, err);
	if (rc == 0)
		rc = setup_priorities(c, err);
	if (rc < 0) {
		dmg_peer_ctx_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
dmg_peer_ctx_free(struct dmg_peer_ctx *c)
{
	size_t i;

	if (!c)
		return;
	if (c->psk_srv)
		gnutls_psk_free_server_credentials(c->psk_srv);
	for (i = 0; i < c->npsk_alloc; i++)
		if (c->psk[i].cli)
			gnutls_psk_free_client_credentials(c->psk[i].cli);
	if (c->psk) {
		explicit_bzero(c->psk, c->npsk_alloc * sizeof(*c->psk));
		free(c->psk);
	}
	free(c->peers);
	if (c->x509_srv)
		gnutls_certificate_free_credentials(c->x509_srv);
	if (c->x509_cli)
		gnutls_certificate_free_credentials(c->x509_cli);
	if (c->prio_srv)
		gnutls_priority_deinit(c->prio_srv);
	if (c->prio_cli)
		gnutls_priority_deinit(c->prio_cli);
	if (c->prio_cli_psk)
		gnutls_priority_deinit(c->prio_cli_psk);
	if (c->global_init)
		gnutls_global_deinit();
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* How the peers list this host (the PSK identity it sends): peer_name,
 * else a specific peer_listen address, else the host name. */
static int
self_name(const struct dmg_conf *c, char *out, size_t len, struct dmg_error *err)
{
	if (*c->peer_name)
		snprintf(out, len, "%s", c->peer_name);
	else if (strcmp(c->peer_listen, "0.0.0.0") != 0 && strcmp(c->peer_listen, "::") != 0)
		snprintf(out, len, "%s", c->peer_listen);
	else if (gethostname(out, len) < 0 || !memchr(out, '\0', len))
		return dmg_error_sys(err, -errno, "cannot get the host name for peer_name");
	return 0;
}

int
dmg_peer_auth_from_conf(const struct dmg_conf *c, struct dmg_peer_auth *a,
			struct dmg_error *err)
{
	int psk = c->peer_auth == DMG_PEER_AUTH_PSK, x509 = c->peer_auth == DMG_PEER_AUTH_X509;
	char host[HOST_MAX];
	unsigned port;

	memset(a, 0, sizeof(*a));
	if (c->peer_auth == DMG_PEER_AUTH_AUTO) {
		psk = *c->peer_psk_file && access(c->peer_psk_file, F_OK) == 0;
		x509 = *c->tls_ca_file && access(c->tls_ca_file, F_OK) == 0;
		if (!psk && !x509)
			return dmg_error_set(err, -ENOENT,
					     "peer_auth auto: neither the PSK file '%s' nor the TLS CA file '%s' exists; peers cannot authenticate",
					     c->peer_psk_file, c->tls_ca_file);
	}
	if (!dmg_conf_peer(c, 0, host, sizeof(host), &port))
		return dmg_error_set(err, -EINVAL,
				     "peers is empty: the peer channel is configured (peer_auth %s) but no host may use it; list the other hosts in peers (drbdmig.conf(5))",
				     psk ? "psk" : "x509");
	a->peers = c->peers;
	if (psk) {
		int rc = self_name(c, a->self_name, sizeof(a->self_name), err);

		if (rc < 0)
			return rc;
		a->psk_file = c->peer_psk_file;
	}
	if (x509) {
		a->ca_file = c->tls_ca_file;
		a->crl_file = c->tls_crl_file;
		a->server_cert = c->tls_server_cert;
		a->server_key = c->tls_server_key;
		a->client_cert = c->tls_client_cert;
		a->client_key = c->tls_client_key;
	}
	return 0;
}

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

static void
conn_free(struct dmg_peer_conn *p)
{
	if (!p)
		return;
	if (p->s)
		gnutls_deinit(p->s);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static int
tls_wait(struct dmg_peer_conn *p, int64_t deadline, const char *what, struct dmg_error *err)
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
		conn_free(p);
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
	return same_host(cn, host);
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
			escape(cn, sz, shown, len);
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
			const struct psk_entry *e = u ? find_psk(p->ctx, u) : NULL;

			if (!e) {
				escape(u ? u : "", u ? strlen(u) : 0, id, sizeof(id));
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

static const char *
tls_reason(struct dmg_peer_conn *p, int code, char *buf, size_t len)
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
			rc = tls_wait(p, deadline, "during the TLS handshake", err);
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
				     tls_reason(p, rc, why, sizeof(why)),
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
		p->psk = c->has_psk ? find_psk(c, peer) : NULL;
	}
	/* Small request/answer messages: do not wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = conn_setup(p, err);
	if (rc == 0)
		rc = handshake(p, deadline, err);
	if (rc < 0) {
		conn_free(p);
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
	peer = find_peer(c, host);
	if (!peer)
		return dmg_error_set(err, -EACCES, "peer %s: %s is not in peers; drbdmig talks only to the hosts listed there",
				     who, host);
	if (!(c->has_psk && find_psk(c, peer)) && !c->x509_cli)
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

/* ---- records ------------------------------------------------------------------ */

static int
broken(struct dmg_peer_conn *p, int rc)
{
	p->broken = 1;
	return rc;
}

static int
tls_send(struct dmg_peer_conn *p, const void *buf, size_t len, int64_t deadline,
	 struct dmg_error *err)
{
	const unsigned char *b = buf;
	int rc;

	while (len) {
		ssize_t n = gnutls_record_send(p->s, b, len);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS wants the same data again once writable. */
			rc = tls_wait(p, deadline, "sending", err);
			if (rc < 0)
				return broken(p, rc);
			continue;
		}
		if (n < 0)
			return broken(p, dmg_error_set(err, -EIO, "peer %s: send: %s", p->addr,
						       gnutls_strerror((int)n)));
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; *got counts what arrived (EOF between messages
 * is a clean close). */
static int
tls_recv(struct dmg_peer_conn *p, void *buf, size_t len, size_t *got, int64_t deadline,
	 struct dmg_error *err)
{
	unsigned char *b = buf;
	int rc;

	while (*got < len) {
		ssize_t n = gnutls_record_recv(p->s, b + *got, len - *got);

		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (n == 0)
			return broken(p, dmg_error_set(err, -EPIPE, "peer %s: connection closed", p->addr));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			rc = tls_wait(p, deadline, "waiting for a message", err);
			if (rc < 0)
				return broken(p, rc);
			continue;
		}
		if (n == GNUTLS_E_REHANDSHAKE || gnutls_error_is_fatal((int)n)) {
			char why[128];

			return broken(p, dmg_error_set(err, n == GNUTLS_E_PREMATURE_TERMINATION ? -EPIPE : -EIO,
						       "peer %s: receive: %s", p->addr,
						       tls_reason(p, (int)n, why, sizeof(why))));
		}
		/* a warning alert: keep reading */
	}
	return 0;
}

static int
send_msg(struct dmg_peer_conn *p, const struct dmg_msg *m, int64_t deadline,
	 struct dmg_error *err)
{
	struct dmg_buf b = { 0 };
	int rc;

	rc = dmg_msg_encode(m, &b, err);
	if (rc < 0)
		dmg_error_prefix(err, "peer %s", p->addr);
	else
		rc = tls_send(p, b.data, b.len, deadline, err);
	dmg_buf_free(&b);
	return rc;
}

/* Receives one frame of type want, refusing an oversized header before
 * allocating for its payload. */
static int
recv_msg(struct dmg_peer_conn *p, enum dmg_msg_type want, int64_t deadline,
	 struct dmg_msg *m, struct dmg_error *err)
{
	unsigned char hdr[DMG_PROTO_HDR], *frame;
	size_t got = 0, pgot = 0;
	uint32_t plen;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = tls_recv(p, hdr, sizeof(hdr), &got, deadline, err);
	if (rc < 0) {
		if (rc == -EPIPE && got)
			dmg_error_set(err, -EPIPE, "peer %s: connection closed mid-message", p->addr);
		return rc;
	}
	rc = dmg_peer_check_header(hdr, want, &plen, err);
	if (rc < 0)
		return broken(p, dmg_error_prefix(err, "peer %s", p->addr));
	frame = malloc(DMG_PROTO_HDR + (size_t)plen);
	if (!frame)
		return dmg_error_set(err, -ENOMEM, "out of memory");
	memcpy(frame, hdr, DMG_PROTO_HDR);
	rc = tls_recv(p, frame + DMG_PROTO_HDR, plen, &pgot, deadline, err);
	if (rc == -EPIPE)
		dmg_error_set(err, -EPIPE, "peer %s: connection closed mid-message", p->addr);
	if (rc == 0) {
		rc = dmg_msg_decode(frame, DMG_PROTO_HDR + (size_t)plen, m, err);
		if (rc < 0)
			broken(p, dmg_error_prefix(err, "peer %s", p->addr));
	}
	free(frame);
	return rc;
}

static int
usable(struct dmg_peer_conn *p, int server, struct dmg_error *err)
{
	if (p->broken)
		return dmg_error_set(err, -EPIPE, "peer %s: connection unusable after an earlier error",
				     p->addr);
	if (p->server != server)
		return dmg_error_set(err, -EINVAL, "peer %s: wrong side of the connection", p->addr);
	return 0;
}

int
dmg_peer_call(struct dmg_peer_conn *p, const struct dmg_jrec *req, int64_t deadline,
	      struct dmg_msg *result, struct dmg_error *err)
{
	char line[DMG_CALL_BODY_MAX + 1];
	struct dmg_msg m = { .type = DMG_MSG_CALL };
	int n, rc;

	memset(result, 0, sizeof(*result));
	rc = usable(p, 0, err);
	if (rc < 0)
		return rc;
	n = dmg_peer_format_line(req, line, sizeof(line), err);
	if (n < 0)
		return n;
	m.seq = p->seq;
	m.body = line;
	m.body_len = (size_t)n;
	rc = send_msg(p, &m, deadline, err);
	if (rc == 0)
		rc = recv_msg(p, DMG_MSG_RESULT, deadline, result, err);
	if (rc == 0 && result->seq != p->seq) {
		rc = broken(p, dmg_error_set(err, -EPROTO,
					     "peer %s: replayed or out-of-order message (seq %u, expected %u)",
					     p->addr, result->seq, p->seq));
		dmg_msg_clear(result);
	}
	if (rc < 0)
		return rc;
	p->seq++;
	return 0;
}

int
dmg_peer_recv_call(struct dmg_peer_conn *p, struct dmg_jrec *req, int64_t deadline,
		   struct dmg_error *err)
{
	struct dmg_msg m;
	int rc;

	memset(req, 0, sizeof(*req));
	rc = usable(p, 1, err);
	if (rc == 0 && p->pending)
		rc = dmg_error_set(err, -EPROTO, "peer %s: call %u is not answered yet", p->addr,
				   p->answer);
	if (rc < 0)
		return rc;
	rc = recv_msg(p, DMG_MSG_CALL, deadline, &m, err);
	if (rc < 0)
		return rc;
	rc = dmg_peer_check_call(&m, p->seq, req, err);
	dmg_msg_clear(&m);
	if (rc < 0)
		return broken(p, dmg_error_prefix(err, "peer %s", p->addr));
	p->answer = p->seq++;
	p->pending = 1;
	return 0;
}

int
dmg_peer_send_result(struct dmg_peer_conn *p, uint32_t status, const char *message,
		     const char *body, size_t body_len, int64_t deadline, struct dmg_error *err)
{
	struct dmg_msg m = { .type = DMG_MSG_RESULT, .status = status };
	int rc;

	rc = usable(p, 1, err);
	if (rc < 0)
		return rc;
	if (!p->pending)
		return dmg_error_set(err, -EPROTO, "peer %s: no call to answer", p->addr);
	if (message && strpbrk(message, "\r\n"))
		return dmg_error_set(err, -EINVAL, "peer %s: result message must be one line", p->addr);
	m.seq = p->answer;
	m.message = (char *)message;
	m.body = (char *)body;
	m.body_len = body ? body_len : 0;
	rc = send_msg(p, &m, deadline, err);
	if (rc < 0)
		return rc;
	p->pending = 0;
	return 0;
}

int
dmg_peer_send_raw(struct dmg_peer_conn *p, const void *buf, size_t len, int64_t deadline,
		  struct dmg_error *err)
{
	return tls_send(p, buf, len, deadline, err);
}

void
dmg_peer_close(struct dmg_peer_conn *p)
{
	if (!p)
		return;
	/* One non-blocking attempt: a close must never wait on the peer. */
	(void)gnutls_bye(p->s, GNUTLS_SHUT_WR);
	conn_free(p);
}
