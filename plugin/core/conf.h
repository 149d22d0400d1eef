/* /etc/drbdmig/drbdmig.conf: "key = value" lines, '#' comments.  One table
 * lists every option with its type, range and default; the hook, the daemon
 * and `drbdmigd --check-config` all read the file through it. */
#ifndef DMG_CONF_H
#define DMG_CONF_H

#include <stddef.h>

#include "core/error.h"

#define DMG_CONF_FILE_MAX (256u << 10)

#define DMG_CONF_PATH_MAX 256    /* file and directory names, URIs */
#define DMG_CONF_ADDR_MAX 64     /* an IPv4 or IPv6 literal */
#define DMG_CONF_LIST_MAX 1000   /* the peers list (a line is < 1024) */
#define DMG_CONF_NAME_MAX 64     /* an algorithm name */
#define DMG_CONF_HOST_MAX 256    /* a DNS name or an IP literal */

enum dmg_log_level { DMG_LOG_ERR = 3, DMG_LOG_WARNING = 4, DMG_LOG_INFO = 6, DMG_LOG_DEBUG = 7 };

/* peer_auth: which credentials peers use (see peer.h). */
enum dmg_peer_auth_mode { DMG_PEER_AUTH_AUTO, DMG_PEER_AUTH_PSK, DMG_PEER_AUTH_X509 };

/* Plain data, strings in fixed arrays: copy it freely, nothing to free.
 * An empty string means "not set" where the key allows it. */
struct dmg_conf {
	unsigned hook_migrate_timeout;   /* s the hook waits on `migrate begin` */
	unsigned hook_event_timeout;     /* s the hook waits on other events */
	int log_level;                   /* enum dmg_log_level */

	/* the peer channel */
	char peer_listen[DMG_CONF_ADDR_MAX];      /* IP literal to listen on */
	unsigned peer_port;
	char peers[DMG_CONF_LIST_MAX];            /* "host[:port] ...", see dmg_conf_peer() */
	char peer_psk_file[DMG_CONF_PATH_MAX];
	int peer_auth;                            /* enum dmg_peer_auth_mode */
	char tls_ca_file[DMG_CONF_PATH_MAX];
	char tls_crl_file[DMG_CONF_PATH_MAX];
	char tls_server_cert[DMG_CONF_PATH_MAX];
	char tls_server_key[DMG_CONF_PATH_MAX];
	char tls_client_cert[DMG_CONF_PATH_MAX];
	char tls_client_key[DMG_CONF_PATH_MAX];
	unsigned peer_timeout;                    /* s per peer exchange */
	char peer_name[DMG_CONF_HOST_MAX];        /* how peers name us; "" = derived */
	unsigned peer_handshake_timeout;          /* s an accepted connection may take to authenticate */
	unsigned peer_handshake_max;              /* connections still in the handshake, all addresses */
	unsigned peer_handshake_per_address;      /* ... from one address */
	unsigned peer_connections_max;            /* authenticated connections served at once */

	/* migration sessions */
	char replication_address[DMG_CONF_ADDR_MAX];   /* "" = route to the peer */
	unsigned drbd_port_min, drbd_port_max;
	unsigned drbd_minor_min, drbd_minor_max;
	unsigned sync_timeout;                    /* s for the initial sync */
	unsigned sync_converge_timeout;           /* s without progress: synchronous */
	char state_dir[DMG_CONF_PATH_MAX];
	char cram_hmac_alg[DMG_CONF_NAME_MAX];
	char libvirt_uri[DMG_CONF_PATH_MAX];
};

void dmg_conf_defaults(struct dmg_conf *c);

/* Parses text (named name in messages) on top of c.  On error c is left
 * unchanged. */
int dmg_conf_parse(const char *text, size_t len, const char *name,
		   struct dmg_conf *c, struct dmg_error *err);

/* Loads a file; a missing file is fine when missing_ok (defaults stay). */
int dmg_conf_load(const char *path, int missing_ok, struct dmg_conf *c,
		  struct dmg_error *err);

/* Writes the effective configuration as a config file to buf (every key;
 * DMG_CONF_FORMAT_MAX is always enough).  Returns what snprintf returns. */
#define DMG_CONF_FORMAT_MAX 8192
int dmg_conf_format(const struct dmg_conf *c, char *buf, size_t len);

/* The i-th entry (from 0) of the peers list: host (name, IPv4, or IPv6
 * without brackets) and port (peer_port when the entry has none).  Returns
 * 1, or 0 past the end.  The list was validated when it was parsed. */
int dmg_conf_peer(const struct dmg_conf *c, size_t i, char *host, size_t hlen,
		  unsigned *port);

/* The same for any peers-format list (port 0 when the entry has none);
 * also returns 0 for a malformed entry. */
int dmg_conf_peer_list(const char *list, size_t i, char *host, size_t hlen, unsigned *port);

#endif
