#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/defaults.h"
#include "core/endpoint.h"

enum opt_kind { OPT_UINT, OPT_ENUM, OPT_STR };

struct choice {
	const char *name;
	int value;
};

struct opt;
typedef int (*check_fn)(const struct opt *o, const char *v, const char *where,
			struct dmg_error *err);

struct opt {
	const char *key;
	size_t off;
	size_t size;                  /* OPT_STR: the array's size */
	const char *sdef;             /* OPT_STR default */
	check_fn check;               /* OPT_STR validation */
	const struct choice *choices; /* OPT_ENUM */
	size_t nchoices;
	enum opt_kind kind;
	unsigned min, max, def;       /* OPT_UINT; def also OPT_ENUM's value */
};

static const struct choice levels[] = {
	{ "error", DMG_LOG_ERR }, { "warning", DMG_LOG_WARNING },
	{ "info", DMG_LOG_INFO }, { "debug", DMG_LOG_DEBUG },
};

static const struct choice auths[] = {
	{ "auto", DMG_PEER_AUTH_AUTO }, { "psk", DMG_PEER_AUTH_PSK }, { "x509", DMG_PEER_AUTH_X509 },
};

static int check_path(const struct opt *o, const char *v, const char *where, struct dmg_error *err);
static int check_dir(const struct opt *o, const char *v, const char *where, struct dmg_error *err);
static int check_ip(const struct opt *o, const char *v, const char *where, struct dmg_error *err);
static int check_ip_opt(const struct opt *o, const char *v, const char *where, struct dmg_error *err);
static int check_peers(const struct opt *o, const char *v, const char *where, struct dmg_error *err);
static int check_host_opt(const struct opt *o, const char *v, const char *where, struct dmg_error *err);
static int check_alg(const struct opt *o, const char *v, const char *where, struct dmg_error *err);
static int check_uri(const struct opt *o, const char *v, const char *where, struct dmg_error *err);

#define F(f)                       offsetof(struct dmg_conf, f)
#define UINT_OPT(k, f, lo, hi, d) \
	{ .key = (k), .kind = OPT_UINT, .off = F(f), .min = (lo), .max = (hi), .def = (d) }
#define ENUM_OPT(k, f, t, d) \
	{ .key = (k), .kind = OPT_ENUM, .off = F(f), .def = (d), .choices = (t), \
	  .nchoices = sizeof(t) / sizeof((t)[0]) }
#define STR_OPT(k, f, chk, d) \
	{ .key = (k), .kind = OPT_STR, .off = F(f), .size = sizeof(((struct dmg_conf *)0)->f), \
	  .sdef = (d), .check = (chk) }

/* Every option, in the order dmg_conf_format() prints them. */
static const struct opt opts[] = {
	UINT_OPT("hook_migrate_timeout", hook_migrate_timeout, 1, 86400, DMG_DEFAULT_HOOK_MIGRATE_TIMEOUT_S),
	UINT_OPT("hook_event_timeout", hook_event_timeout, 1, 300, DMG_DEFAULT_HOOK_EVENT_TIMEOUT_S),
	ENUM_OPT("log_level", log_level, levels, DMG_LOG_INFO),
	STR_OPT("peer_listen", peer_listen, check_ip, "0.0.0.0"),
	UINT_OPT("peer_port", peer_port, 1, 65535, DMG_DEFAULT_PEER_PORT),
	STR_OPT("peers", peers, check_peers, ""),
	ENUM_OPT("peer_auth", peer_auth, auths, DMG_PEER_AUTH_AUTO),
	STR_OPT("peer_psk_file", peer_psk_file, check_path, "/etc/drbdmig/peer.psk"),
	STR_OPT("tls_ca_file", tls_ca_file, check_path, "/etc/pki/CA/cacert.pem"),
	STR_OPT("tls_crl_file", tls_crl_file, check_path, ""),
	STR_OPT("tls_server_cert", tls_server_cert, check_path, "/etc/pki/libvirt/servercert.pem"),
	STR_OPT("tls_server_key", tls_server_key, check_path, "/etc/pki/libvirt/private/serverkey.pem"),
	STR_OPT("tls_client_cert", tls_client_cert, check_path, "/etc/pki/libvirt/clientcert.pem"),
	STR_OPT("tls_client_key", tls_client_key, check_path, "/etc/pki/libvirt/private/clientkey.pem"),
	UINT_OPT("peer_timeout", peer_timeout, 1, 3600, DMG_DEFAULT_PEER_TIMEOUT_S),
	STR_OPT("peer_name", peer_name, check_host_opt, ""),
	UINT_OPT("peer_handshake_timeout", peer_handshake_timeout, 1, 120,
		 DMG_DEFAULT_PEER_HANDSHAKE_TIMEOUT_S),
	UINT_OPT("peer_handshake_max", peer_handshake_max, 1, 1024, 64),
	UINT_OPT("peer_handshake_per_address", peer_handshake_per_address, 1, 1024, 4),
	UINT_OPT("peer_connections_max", peer_connections_max, 1, 1024, 32),
	STR_OPT("replication_address", replication_address, check_ip_opt, ""),
	UINT_OPT("drbd_port_min", drbd_port_min, 1, 65535, DMG_DEFAULT_DRBD_PORT_MIN),
	UINT_OPT("drbd_port_max", drbd_port_max, 1, 65535, DMG_DEFAULT_DRBD_PORT_MAX),
	UINT_OPT("drbd_minor_min", drbd_minor_min, 0, 1048575, DMG_DEFAULT_DRBD_MINOR_MIN),
	UINT_OPT("drbd_minor_max", drbd_minor_max, 0, 1048575, DMG_DEFAULT_DRBD_MINOR_MAX),
	UINT_OPT("sync_timeout", sync_timeout, 1, 604800, DMG_DEFAULT_SYNC_TIMEOUT_S),
	UINT_OPT("sync_converge_timeout", sync_converge_timeout, 5, 3600, DMG_DEFAULT_SYNC_CONVERGE_S),
	STR_OPT("state_dir", state_dir, check_dir, "/var/lib/drbdmig"),
	STR_OPT("cram_hmac_alg", cram_hmac_alg, check_alg, "sha256"),
	STR_OPT("libvirt_uri", libvirt_uri, check_uri, "qemu:///system"),
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static unsigned *
uint_at(struct dmg_conf *c, const struct opt *o)
{
	return (unsigned *)(void *)((char *)c + o->off);
}

static int *
int_at(struct dmg_conf *c, const struct opt *o)
{
	return (int *)(void *)((char *)c + o->off);
}

static char *
str_at(struct dmg_conf *c, const struct opt *o)
{
	return (char *)c + o->off;
}

static const void *
field(const struct dmg_conf *c, const struct opt *o)
{
	return (const char *)c + o->off;
}

void
dmg_conf_defaults(struct dmg_conf *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		if (o->kind == OPT_UINT)
			*uint_at(c, o) = o->def;
		else if (o->kind == OPT_ENUM)
			*int_at(c, o) = (int)o->def;
		else
			snprintf(str_at(c, o), o->size, "%s", o->sdef);
	}
}

/* ---- string validators: one clear line each ---------------------------- */

static int
has_space_or_ctl(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == 0x7f)
			return 1;
	return 0;
}

static int
check_path(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	if (*v && (v[0] != '/' || has_space_or_ctl(v)))
		return dmg_error_set(err, -EINVAL, "%s: %s must be an absolute path without spaces, not '%.64s'",
				     where, o->key, v);
	return 0;
}

static int
check_dir(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	if (!*v)
		return dmg_error_set(err, -EINVAL, "%s: %s must not be empty", where, o->key);
	return check_path(o, v, where, err);
}

static int
is_ip(const char *v)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

static int
check_ip(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	if (!is_ip(v))
		return dmg_error_set(err, -EINVAL, "%s: %s must be an IPv4 or IPv6 address, not '%.64s'",
				     where, o->key, v);
	return 0;
}

static int
check_ip_opt(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	return *v ? check_ip(o, v, where, err) : 0;
}

/* One "host[:port]" entry (core/endpoint.h); port 0 when it has none.
 * Returns 0, or -EINVAL for a malformed entry. */
static int
split_peer(const char *tok, size_t n, char *host, size_t hlen, unsigned *port)
{
	struct dmg_error scratch = { 0 };
	uint16_t p;

	if (dmg_endpoint_parsen(tok, n, 0, host, hlen, &p, &scratch) < 0)
		return -EINVAL;
	*port = p;
	return 0;
}

/* Finds the i-th whitespace-separated token of list. */
static const char *
nth_token(const char *list, size_t i, size_t *len)
{
	const char *p = list;

	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			return NULL;
		*len = strcspn(p, " \t");
		if (i-- == 0)
			return p;
		p += *len;
	}
}

static int
check_peers(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	char host[DMG_CONF_LIST_MAX];
	const char *tok;
	unsigned port;
	size_t i, n;

	for (i = 0; (tok = nth_token(v, i, &n)) != NULL; i++)
		if (split_peer(tok, n, host, sizeof(host), &port) < 0)
			return dmg_error_set(err, -EINVAL,
					     "%s: %s: '%.*s' is not host[:port] (a name, an IPv4 address or [IPv6], port 1 to 65535)",
					     where, o->key, (int)(n > 64 ? 64 : n), tok);
	return 0;
}

int
dmg_conf_peer_list(const char *list, size_t i, char *host, size_t hlen, unsigned *port)
{
	const char *tok;
	size_t n;

	tok = list ? nth_token(list, i, &n) : NULL;
	return tok && split_peer(tok, n, host, hlen, port) == 0;
}

int
dmg_conf_peer(const struct dmg_conf *c, size_t i, char *host, size_t hlen, unsigned *port)
{
	if (!dmg_conf_peer_list(c->peers, i, host, hlen, port))
		return 0;
	if (*port == 0)
		*port = c->peer_port;
	return 1;
}

/* peer_name: how the other hosts list this one in their peers, so a name
 * or an address, as a peers entry's host. */
static int
check_host_opt(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	if (*v && !is_ip(v) && !dmg_is_dns_name(v, strlen(v)))
		return dmg_error_set(err, -EINVAL, "%s: %s must be a host name or an IP address (as the other hosts list this one in peers), not '%.64s'",
				     where, o->key, v);
	return 0;
}

static int
check_alg(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	const char *p = v;

	for (; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			break;
	if (!*v || *p)
		return dmg_error_set(err, -EINVAL, "%s: %s must be a kernel hash name such as sha256, not '%.64s'",
				     where, o->key, v);
	return 0;
}

static int
check_uri(const struct opt *o, const char *v, const char *where, struct dmg_error *err)
{
	if (!*v || !strchr(v, ':') || has_space_or_ctl(v))
		return dmg_error_set(err, -EINVAL, "%s: %s must be a libvirt URI such as qemu:///system, not '%.64s'",
				     where, o->key, v);
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
set_enum(const struct opt *o, const char *v, struct dmg_conf *c, const char *where,
	 struct dmg_error *err)
{
	char names[128];
	size_t i, off = 0;

	for (i = 0; i < o->nchoices; i++)
		if (strcmp(v, o->choices[i].name) == 0) {
			*int_at(c, o) = o->choices[i].value;
			return 0;
		}
	names[0] = '\0';
	for (i = 0; i < o->nchoices && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
					i == 0 ? "" : i + 1 == o->nchoices ? " or " : ", ",
					o->choices[i].name);
	return dmg_error_set(err, -EINVAL, "%s: %s must be %s, not '%.64s'", where, o->key, names, v);
}

static int
set_uint(const struct opt *o, const char *v, struct dmg_conf *c, const char *where,
	 struct dmg_error *err)
{
	unsigned long long n = 0;
	const char *p = v;

	for (; isdigit((unsigned char)*p) && n <= o->max; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (p == v || *p || n < o->min || n > o->max)
		return dmg_error_set(err, -EINVAL, "%s: %s must be a whole number from %u to %u, not '%.64s'",
				     where, o->key, o->min, o->max, v);
	*uint_at(c, o) = (unsigned)n;
	return 0;
}

static int
set_opt(const struct opt *o, const char *v, struct dmg_conf *c, const char *where,
	struct dmg_error *err)
{
	int rc;

	if (o->kind == OPT_ENUM)
		return set_enum(o, v, c, where, err);
	if (o->kind == OPT_UINT)
		return set_uint(o, v, c, where, err);
	if (strlen(v) >= o->size)
		return dmg_error_set(err, -EINVAL, "%s: %s is longer than %zu characters", where, o->key,
				     o->size - 1);
	rc = o->check(o, v, where, err);
	if (rc < 0)
		return rc;
	memcpy(str_at(c, o), v, strlen(v) + 1);
	return 0;
}

static int
check_pair(const char *a, const char *an, const char *b, const char *bn, const char *name,
	   struct dmg_error *err)
{
	if (!*a != !*b)
		return dmg_error_set(err, -EINVAL, "%s: %s and %s must be set together", name, an, bn);
	return 0;
}

/* What no single line can tell: one line per problem, naming the file. */
static int
check_whole(const struct dmg_conf *c, const char *name, struct dmg_error *err)
{
	int rc;

	if (c->drbd_port_min > c->drbd_port_max)
		return dmg_error_set(err, -EINVAL, "%s: drbd_port_min (%u) is greater than drbd_port_max (%u)",
				     name, c->drbd_port_min, c->drbd_port_max);
	if (c->drbd_minor_min > c->drbd_minor_max)
		return dmg_error_set(err, -EINVAL, "%s: drbd_minor_min (%u) is greater than drbd_minor_max (%u)",
				     name, c->drbd_minor_min, c->drbd_minor_max);
	if (c->peer_port >= c->drbd_port_min && c->peer_port <= c->drbd_port_max)
		return dmg_error_set(err, -EINVAL, "%s: peer_port %u lies within drbd_port_min..drbd_port_max (%u..%u)",
				     name, c->peer_port, c->drbd_port_min, c->drbd_port_max);
	rc = check_pair(c->tls_server_cert, "tls_server_cert", c->tls_server_key, "tls_server_key",
			name, err);
	if (rc == 0)
		rc = check_pair(c->tls_client_cert, "tls_client_cert", c->tls_client_key,
				"tls_client_key", name, err);
	if (rc < 0)
		return rc;
	if (c->peer_auth == DMG_PEER_AUTH_PSK && !*c->peer_psk_file)
		return dmg_error_set(err, -EINVAL, "%s: peer_auth = psk needs peer_psk_file", name);
	if (c->peer_auth == DMG_PEER_AUTH_X509 && (!*c->tls_ca_file || !*c->tls_server_cert ||
						   !*c->tls_client_cert))
		return dmg_error_set(err, -EINVAL,
				     "%s: peer_auth = x509 needs tls_ca_file, tls_server_cert and tls_client_cert",
				     name);
	if (c->peer_auth == DMG_PEER_AUTH_AUTO && !*c->peer_psk_file && !*c->tls_ca_file)
		return dmg_error_set(err, -EINVAL,
				     "%s: peer_auth = auto needs peer_psk_file or tls_ca_file", name);
	return 0;
}

int
dmg_conf_parse(const char *text, size_t len, const char *name, struct dmg_conf *c,
	       struct dmg_error *err)
{
	struct dmg_conf tmp = *c;
	uint64_t seen = 0;   /* bit per option */
	unsigned lineno = 0;
	int rc;
	const char *p = text, *end = text + len;
	char line[1024], where[300];

	if (memchr(text, '\0', len))
		return dmg_error_set(err, -EINVAL, "%s: contains a NUL byte", name);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl : end) - p);
		char *key, *val, *eq, *hash;
		size_t i;

		lineno++;
		snprintf(where, sizeof(where), "%s line %u", name, lineno);
		if (ll >= sizeof(line))
			return dmg_error_set(err, -EINVAL, "%s: line too long", where);
		memcpy(line, p, ll);
		line[ll] = '\0';
		p += ll + (nl ? 1 : 0);
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq)
			return dmg_error_set(err, -EINVAL, "%s: expected 'key = value'", where);
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		for (i = 0; i < NOPTS; i++)
			if (strcmp(opts[i].key, key) == 0)
				break;
		if (i == NOPTS)
			return dmg_error_set(err, -EINVAL, "%s: unknown option '%.64s'", where, key);
		if (seen & ((uint64_t)1 << i))
			return dmg_error_set(err, -EINVAL, "%s: option '%s' is set twice", where, key);
		seen |= (uint64_t)1 << i;
		rc = set_opt(&opts[i], val, &tmp, where, err);
		if (rc < 0)
			return rc;
	}
	rc = check_whole(&tmp, name, err);
	if (rc < 0)
		return rc;
	*c = tmp;
	return 0;
}

int
dmg_conf_load(const char *path, int missing_ok, struct dmg_conf *c,
	      struct dmg_error *err)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return dmg_error_sys(err, -errno, "cannot open %s", path);
	}
	buf = malloc(DMG_CONF_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	while ((n = read(fd, buf + len, DMG_CONF_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		rc = dmg_error_sys(err, -errno, "cannot read %s", path);
	else if (len > DMG_CONF_FILE_MAX)
		rc = dmg_error_set(err, -EFBIG, "%s is larger than %u KiB", path,
				   DMG_CONF_FILE_MAX >> 10);
	else
		rc = dmg_conf_parse(buf, len, path, c, err);
	free(buf);
	close(fd);
	return rc;
}

int
dmg_conf_format(const struct dmg_conf *c, char *buf, size_t len)
{
	size_t i, j, off = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		const char *v = "?";
		char num[16];
		int n;

		if (o->kind == OPT_UINT) {
			snprintf(num, sizeof(num), "%u", *(const unsigned *)field(c, o));
			v = num;
		} else if (o->kind == OPT_ENUM) {
			for (j = 0; j < o->nchoices; j++)
				if (o->choices[j].value == *(const int *)field(c, o))
					v = o->choices[j].name;
		} else {
			v = field(c, o);
		}
		n = snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0, "%s = %s\n",
			     o->key, v);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (int)off;
}
