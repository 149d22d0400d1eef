/* Receive-side checks of the peer channel that need no TLS, so that the
 * fuzzer can reach them directly: frame header limits, CALL sequence and
 * body validation, and the record-line encoding of CALL bodies. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "peer/peer.h"

int
dmg_peer_check_header(const unsigned char *hdr, enum dmg_msg_type want, uint32_t *plen,
		      struct dmg_error *err)
{
	uint32_t max = want == DMG_MSG_CALL ? DMG_PEER_CALL_PAYLOAD_MAX : DMG_PEER_RESULT_PAYLOAD_MAX;
	uint16_t type;
	int rc;

	rc = dmg_msg_header(hdr, &type, plen, err);
	if (rc < 0)
		return rc;
	if (type != want)
		return dmg_error_set(err, -EPROTO, "unexpected %s message (expected %s)",
				     dmg_msg_type_name(type), dmg_msg_type_name(want));
	/* Refused here, before the caller allocates for the payload. */
	if (*plen > max)
		return dmg_error_set(err, -EMSGSIZE, "%s message of %u bytes exceeds the limit of %u",
				     dmg_msg_type_name(type), *plen, max);
	return 0;
}

int
dmg_peer_check_call(const struct dmg_msg *m, uint32_t expect, struct dmg_jrec *req,
		    struct dmg_error *err)
{
	/* dmg_jrec_parse() reads whole journal lines "<seq> <crc> body"; a CALL
	 * carries only the body, so give it a prefix that is right by
	 * construction and let the one parser judge the body. */
	char line[32 + DMG_CALL_BODY_MAX];
	size_t n;
	int hn, rc;

	memset(req, 0, sizeof(*req));
	if (m->type != DMG_MSG_CALL)
		return dmg_error_set(err, -EPROTO, "unexpected %s message (expected call)",
				     dmg_msg_type_name(m->type));
	if (m->seq != expect)
		return dmg_error_set(err, -EPROTO, "replayed or out-of-order message (seq %u, expected %u)",
				     m->seq, expect);
	n = m->body_len;
	if (!m->body || n < 2 || n > DMG_CALL_BODY_MAX || m->body[n - 1] != '\n')
		return dmg_error_set(err, -EBADMSG, "call %u: body is not one record line", m->seq);
	if (memchr(m->body, '\n', n - 1) || memchr(m->body, '\0', n) || memchr(m->body, '\r', n))
		return dmg_error_set(err, -EBADMSG, "call %u: body is not exactly one record line",
				     m->seq);
	hn = snprintf(line, sizeof(line), "%u %08x ", m->seq, dmg_crc32(m->body, n - 1));
	memcpy(line + hn, m->body, n - 1);
	line[(size_t)hn + n - 1] = '\0';
	rc = dmg_jrec_parse(line, req, NULL);
	if (rc < 0) {
		memset(req, 0, sizeof(*req));
		return dmg_error_set(err, -EBADMSG, "call %u: malformed record line", m->seq);
	}
	req->seq = m->seq;
	return 0;
}

int
dmg_peer_format_line(const struct dmg_jrec *r, char *buf, size_t len, struct dmg_error *err)
{
	char line[DMG_JLINE_MAX];
	const char *body;
	int n;
	struct dmg_jrec tmp = *r;

	tmp.seq = 1;
	n = dmg_jrec_format(&tmp, line, sizeof(line), err);
	if (n < 0)
		return n;
	/* Skip "<seq> <crc> ": the CALL's own seq and TLS protect the line. */
	body = strchr(line, ' ');
	body = body ? strchr(body + 1, ' ') : NULL;
	if (!body)
		return dmg_error_set(err, -EINVAL, "cannot format call '%s'", r->step);
	body++;
	n -= (int)(body - line);
	if ((size_t)n >= len || (size_t)n > DMG_CALL_BODY_MAX)
		return dmg_error_set(err, -ENOSPC, "call '%s' is too long", r->step);
	memcpy(buf, body, (size_t)n + 1);
	return n;
}
