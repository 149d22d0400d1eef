/* PRIVATE to plugin/peer/ (cred.c, conn.c, peer.c): the context and
 * connection structs and the helpers those files share.  Everyone else
 * uses peer/peer.h; nothing outside plugin/peer/ includes this. */
#ifndef DMG_PEER_INT_H
#define DMG_PEER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "peer/peer.h"

#define PSK_KEY_MAX      256
#define ADDR_MAX         64     /* "[v6]:port" */
#define HOST_MAX         DMG_CONF_HOST_MAX
#define SHOWN_MAX        (4 * 64 + 1)   /* an escaped peer-supplied name */
#define NAME_MAX_LEN     (16 + SHOWN_MAX + ADDR_MAX)

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

/* cred.c: names, and looking up the peers list and the PSK file */
void peer_escape(const char *in, size_t n, char *out, size_t olen);
int peer_same_host(const char *a, const char *b);
const char *peer_find_peer(const struct dmg_peer_ctx *c, const char *host);
const struct psk_entry *peer_find_psk(const struct dmg_peer_ctx *c, const char *identity);

/* conn.c: a connection's TLS session, used by the records (peer.c) too */
void peer_conn_free(struct dmg_peer_conn *p);
int peer_tls_wait(struct dmg_peer_conn *p, int64_t deadline, const char *what,
		  struct dmg_error *err);
const char *peer_tls_reason(struct dmg_peer_conn *p, int code, char *buf, size_t len);

#endif
