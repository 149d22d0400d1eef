/* The peer channel's CALL/RESULT exchange over a connection that conn.c
 * set up: TLS records with deadlines, frames, and sequence numbers.  See
 * peer.h for the contract. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "peer/peer_int.h"

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
			rc = peer_tls_wait(p, deadline, "sending", err);
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
			rc = peer_tls_wait(p, deadline, "waiting for a message", err);
			if (rc < 0)
				return broken(p, rc);
			continue;
		}
		if (n == GNUTLS_E_REHANDSHAKE || gnutls_error_is_fatal((int)n)) {
			char why[128];

			return broken(p, dmg_error_set(err, n == GNUTLS_E_PREMATURE_TERMINATION ? -EPIPE : -EIO,
						       "peer %s: receive: %s", p->addr,
						       peer_tls_reason(p, (int)n, why, sizeof(why))));
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
	peer_conn_free(p);
}
