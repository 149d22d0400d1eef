/* libFuzzer target: what the peer channel's receiving side does with bytes
 * that came out of TLS -- header limits, frame decode, CALL checks (seq,
 * exactly one record line) and the record-line parse.  A CALL that passes
 * must format to a line that passes again as the same record. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer/peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[DMG_CALL_BODY_MAX + 1];
	struct dmg_error err;
	struct dmg_msg m;
	struct dmg_jrec r, r2;
	uint32_t plen;
	int n;

	if (size < 1 + DMG_PROTO_HDR)
		return 0;
	/* the first byte picks the expected seq, the rest is the frame */
	if (dmg_peer_check_header(data + 1, DMG_MSG_CALL, &plen, &err) < 0) {
		if (dmg_peer_check_header(data + 1, DMG_MSG_RESULT, &plen, &err) == 0 &&
		    plen > DMG_PEER_RESULT_PAYLOAD_MAX)
			abort();
		return 0;
	}
	if (plen > DMG_PEER_CALL_PAYLOAD_MAX)
		abort();
	if (size - 1 < DMG_PROTO_HDR + (size_t)plen)
		return 0;
	if (dmg_msg_decode(data + 1, DMG_PROTO_HDR + (size_t)plen, &m, &err) < 0)
		return 0;
	if (dmg_peer_check_call(&m, data[0], &r, &err) == 0) {
		struct dmg_msg again = { .type = DMG_MSG_CALL, .seq = m.seq, .body = line };

		n = dmg_peer_format_line(&r, line, sizeof(line), &err);
		if (n < 0 || r.seq != m.seq)
			abort();
		again.body_len = (size_t)n;
		if (dmg_peer_check_call(&again, m.seq, &r2, &err) != 0 ||
		    memcmp(&r, &r2, sizeof(r)) != 0)
			abort();
	}
	dmg_msg_clear(&m);
	return 0;
}
