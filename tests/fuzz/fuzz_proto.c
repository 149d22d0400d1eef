/* libFuzzer target: the hook/CLI/daemon message codec.  Whatever decodes
 * must re-encode to exactly the same bytes (the format has one spelling
 * per message, up to field order, which the encoder fixes). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmg_msg m, m2;
	struct dmg_buf b = { 0 };
	struct dmg_error err;

	if (dmg_msg_decode(data, size, &m, &err) < 0)
		return 0;
	if (dmg_msg_encode(&m, &b, &err) < 0)
		abort();
	if (dmg_msg_decode(b.data, b.len, &m2, &err) < 0 || m2.type != m.type)
		abort();
	if (b.len != size)   /* same fields, maybe reordered: same length */
		abort();
	dmg_msg_clear(&m);
	dmg_msg_clear(&m2);
	dmg_buf_free(&b);
	return 0;
}
