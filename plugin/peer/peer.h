/* The peer channel: drbdmigd daemons on two hypervisors choreograph a
 * migration over TCP, inside TLS (GnuTLS), and only after both sides have
 * authenticated each other (DESIGN.md section 5 rule 5).
 *
 * Messages are the DMG1 frames of proto.h: the connector sends CALLs, the
 * acceptor answers each with a RESULT.  A CALL's body is one record line
 * "verb key=value ...\n" in the journal's encoding (journal.h: the record
 * without its "<seq> <crc>" prefix, values percent-encoded); seq counts the
 * CALLs of a connection from 1 and a RESULT echoes it.
 *
 * Authentication, always mutual, and always to a configured peer: the
 * identity a connection proves must be one of the hosts of `peers` (the
 * auth's peers list); anything else is refused right after the handshake,
 * with an alert, before any application byte is read.
 * - PSK, pairwise: a psktool-format file with one line "identity:hexkey"
 *   per peer host, the identity being that host exactly as `peers` lists it
 *   and the key (at least 32 bytes) shared by exactly this pair of hosts.
 *   The file must belong to root (or the daemon's euid) and not be
 *   accessible by group or others.  The connector to host H sends its own
 *   name (self_name, how the peers list this host) with the key of H's
 *   line; the acceptor looks up the key by the identity the connector sent,
 *   which must be a peers host.  As only H and we hold that key, a finished
 *   handshake proves both sides.  Key exchange ECDHE-PSK / DHE-PSK only
 *   (TLS 1.3: psk_dhe_ke): forward secrecy.
 * - X.509: the acceptor requires a client certificate chaining to the CA
 *   (and not revoked by the CRL if given), for TLS client use, which names a
 *   peers host: a subjectAltName dNSName or iPAddress equal to it, or, for a
 *   certificate without such names, its one CN (no wildcards).  The
 *   connector verifies the server's chain and that it names the host it
 *   connected to (subjectAltName, or the CN without dNSName), as libvirt.
 * - Both configured: the acceptor takes either; the connector uses PSK for
 *   a host that has a line in the PSK file, X.509 otherwise.
 * TLS 1.2 and 1.3 only, AEAD ciphers only (AES-GCM, ChaCha20-Poly1305,
 * AES-CCM), no anonymous, no unauthenticated, no static-RSA suites, no
 * session tickets (no resumption).  The handshake is finished and
 * the peer authenticated before any application byte is read.  A side that
 * refuses the other sends a TLS alert, so both name the reason.  In TLS 1.3
 * the connector's side of the handshake ends before the acceptor has judged
 * the connector's certificate: dmg_peer_connect() may succeed and the first
 * dmg_peer_call() then fails with the acceptor's alert ("the peer refused:
 * Certificate is bad"); the acceptor never reads a byte from it.
 *
 * Blocking steps (connect, accept, handshake, send, receive) take an
 * absolute deadline (dmg_now_ms()); sockets are non-blocking and waited on
 * with poll().  Exception: dmg_peer_connect() resolves a host name with
 * getaddrinfo(), which has no deadline (IP literals never block).
 *
 * Sizes are bounded before anything is allocated: a frame header announcing
 * more than a CALL (DMG_CALL_BODY_MAX body) or a RESULT (DMG_RESULT_BODY_MAX
 * body) can carry, or another message type, is refused.  After any error
 * from a send or receive the connection is marked broken (the stream is out
 * of step) and every later call on it fails: close it.
 *
 * Threads: a context is read-only once made and may be shared by threads;
 * different connections may be used from different threads at once; one
 * connection is used by one thread at a time.  GnuTLS is initialised with
 * gnutls_global_init() (reference counted, thread-safe since GnuTLS 3.3) by
 * dmg_peer_ctx_new() and released by dmg_peer_ctx_free(). */
#ifndef DMG_PEER_H
#define DMG_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/error.h"
#include "core/journal.h"
#include "core/proto.h"

/* Which credentials; NULL or "" = not used. */
struct dmg_peer_auth {
	const char *peers;                      /* "host[:port] ...": who may talk to us */
	char self_name[DMG_CONF_HOST_MAX];      /* our PSK identity: how peers list us */
	const char *psk_file;                   /* "identity:hexkey" per peer, mode 0600 */
	const char *ca_file, *crl_file;         /* X.509 trust; crl optional */
	const char *server_cert, *server_key;   /* used when we accept */
	const char *client_cert, *client_key;   /* used when we connect */
};

struct dmg_peer_ctx;
struct dmg_peer_conn;

/* Picks the credentials of the configuration (peer_auth and the file keys):
 * auto = PSK if peer_psk_file exists, X.509 if tls_ca_file exists, at least
 * one; psk / x509 = that one only.  peers must not be empty.  self_name is
 * peer_name, else peer_listen when it is a specific address, else this
 * host's name (gethostname()).  The strings point into c.  Missing files of
 * the chosen methods are reported by dmg_peer_ctx_new(). */
int dmg_peer_auth_from_conf(const struct dmg_conf *c, struct dmg_peer_auth *a,
			    struct dmg_error *err);

/* Loads the credentials.  X.509 is enabled by ca_file; a certificate needs
 * its key and the other way round; private keys must not be accessible by
 * others, nor writable or (unless the group is root) readable by the group.
 * An acceptor needs server_cert (X.509) or a PSK; a context without
 * client_cert connects without a certificate (the acceptor refuses it --
 * useful only to test that it does).  peers must list at least one host;
 * with PSK, self_name must be set and every line of the file must name a
 * peers host (a file made for the old single shared key is refused with
 * what to change); without X.509 every peers host needs a line. */
int dmg_peer_ctx_new(const struct dmg_peer_auth *a, struct dmg_peer_ctx **out,
		     struct dmg_error *err);
void dmg_peer_ctx_free(struct dmg_peer_ctx *c);

/* A non-blocking listening TCP socket on an IP literal (port 0 = any);
 * returns the fd. */
int dmg_peer_listen(const char *addr, uint16_t port, struct dmg_error *err);

/* Waits (until deadline) for a connection on lfd and runs the server side
 * of the handshake; on success *out is an authenticated connection. */
int dmg_peer_accept(struct dmg_peer_ctx *c, int lfd, int64_t deadline,
		    struct dmg_peer_conn **out, struct dmg_error *err);
/* The same for a socket already accepted by the caller's event loop; fd is
 * owned by the connection afterwards, or closed on failure. */
int dmg_peer_accept_fd(struct dmg_peer_ctx *c, int fd, int64_t deadline,
		       struct dmg_peer_conn **out, struct dmg_error *err);

/* Connects to host (name or IP literal, which must be a peers host) and
 * port and runs the client side of the handshake. */
int dmg_peer_connect(struct dmg_peer_ctx *c, const char *host, uint16_t port,
		     int64_t deadline, struct dmg_peer_conn **out, struct dmg_error *err);

/* "psk:<identity>@<addr>:<port>" or "x509:<CN>@<addr>:<port>" (IPv6
 * addresses in brackets): who the authenticated peer is. */
const char *dmg_peer_conn_name(const struct dmg_peer_conn *p);

/* The peers host (as the peers list spells it) that the remote side proved
 * to be: on the acceptor the client's PSK identity or certificate name, on
 * the connector the host connected to. */
const char *dmg_peer_conn_identity(const struct dmg_peer_conn *c);

/* Client: sends CALL(next seq, req as a record line; req->seq is ignored)
 * and waits for the RESULT with the same seq.  Returns 0 when a RESULT
 * arrived -- result->status then says how the call went (0 or a positive
 * errno, result->message the peer's line) and result->body holds zero or
 * more record lines; the caller clears result with dmg_msg_clear(). */
int dmg_peer_call(struct dmg_peer_conn *p, const struct dmg_jrec *req, int64_t deadline,
		  struct dmg_msg *result, struct dmg_error *err);

/* Server: receives the next CALL into req (req->seq = the CALL's seq).
 * Rejects other message types, a seq other than the expected one (replay,
 * reorder), and a body that is not exactly one valid record line.  -EPIPE
 * when the peer closed the connection between messages. */
int dmg_peer_recv_call(struct dmg_peer_conn *p, struct dmg_jrec *req, int64_t deadline,
		       struct dmg_error *err);

/* Server: answers the last CALL received.  status is 0 or a positive errno;
 * message (one line) and body (record lines) may be NULL. */
int dmg_peer_send_result(struct dmg_peer_conn *p, uint32_t status, const char *message,
			 const char *body, size_t body_len, int64_t deadline,
			 struct dmg_error *err);

/* Writes bytes into the TLS stream as they are: for tests and fuzzing of
 * the receiving side only. */
int dmg_peer_send_raw(struct dmg_peer_conn *p, const void *buf, size_t len,
		      int64_t deadline, struct dmg_error *err);

/* Sends a TLS close_notify (briefly, without blocking) and frees p. */
void dmg_peer_close(struct dmg_peer_conn *p);

/* --- receive-side validation, without TLS (peer_msg.c; fuzzed) ------------ */

/* Largest payloads a CALL or a RESULT can have with their body limits. */
#define DMG_PEER_CALL_PAYLOAD_MAX   (10u + 6u + DMG_CALL_BODY_MAX)
#define DMG_PEER_RESULT_PAYLOAD_MAX (10u + 10u + 6u + 4096u + 6u + DMG_RESULT_BODY_MAX)

/* Checks a 12-byte frame header: valid, of type want, and no longer than
 * that type may be on the peer channel.  Sets *plen. */
int dmg_peer_check_header(const unsigned char *hdr, enum dmg_msg_type want,
			  uint32_t *plen, struct dmg_error *err);

/* Checks a decoded CALL: its seq is expect and its body exactly one valid
 * record line, parsed into req (req->seq = m->seq). */
int dmg_peer_check_call(const struct dmg_msg *m, uint32_t expect, struct dmg_jrec *req,
			struct dmg_error *err);

/* Formats r as a CALL body line ("verb key=value ...\n"); returns its
 * length. */
int dmg_peer_format_line(const struct dmg_jrec *r, char *buf, size_t len,
			 struct dmg_error *err);

#endif
