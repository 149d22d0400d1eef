/* The peer channel's identities and credentials: the peers list, the PSK
 * file (one key per pair of hosts), X.509 credentials, TLS priorities, and
 * the context that holds them.  See peer.h for the contract. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "peer/peer_int.h"
#include "core/hex.h"

#define PSK_KEY_MIN      32
#define PSK_FILE_MAX     (64 << 10)

/* TLS 1.2/1.3 only; NORMAL has no anonymous suites, static RSA is dropped
 * for forward secrecy, and only AEAD ciphers remain (NORMAL still has CBC
 * with HMAC in TLS 1.2).  PSK only with (EC)DHE, so both sides prove the
 * key.  `gnutls-cli --priority '<string>' -l` lists what a string allows. */
#define PRIO_VERS  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define PRIO_AEAD  ":-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-CCM:+AES-128-CCM:-MAC-ALL:+AEAD"
#define PRIO_BASE  PRIO_VERS ":-RSA" PRIO_AEAD
#define PRIO_PSK   ":+ECDHE-PSK:+DHE-PSK"
#define PRIO_PSK_ONLY PRIO_VERS ":-KX-ALL" PRIO_PSK PRIO_AEAD

/* ---- names ----------------------------------------------------------------- */

/* Peer-supplied text for a log line: printable ASCII as is, anything else
 * (and the backslash and quote) as \xNN, cut at 64 input bytes. */
void
peer_escape(const char *in, size_t n, char *out, size_t olen)
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
int
peer_same_host(const char *a, const char *b)
{
	unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
	return strcasecmp(a, b) == 0;
}

/* The peers entry for host, or NULL. */
const char *
peer_find_peer(const struct dmg_peer_ctx *c, const char *host)
{
	size_t i;

	for (i = 0; i < c->npeers; i++)
		if (peer_same_host(c->peers[i], host))
			return c->peers[i];
	return NULL;
}

const struct psk_entry *
peer_find_psk(const struct dmg_peer_ctx *c, const char *identity)
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

	peer_escape(e->identity, strlen(e->identity), shown, sizeof(shown));
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
	const struct psk_entry *e = peer_find_psk(p->ctx, username);

	if (!e) {
		peer_escape(username, strlen(username), p->unknown, sizeof(p->unknown));
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
		if (!peer_find_psk(c, c->peers[i]))
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
