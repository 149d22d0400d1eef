/* libFuzzer target for the storage layer's parsers: DRBD netlink replies and
 * events (first input byte even) and device-mapper table text, as read back
 * from a journal (first byte odd). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "drbd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmg_error err;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		struct dmg_drbd_status st;
		int rc = dmg_drbd_decode(data + 1, size - 1, &st, &err);

		if (rc == 1 && (st.info[sizeof(st.info) - 1] || st.resource[sizeof(st.resource) - 1]))
			abort();
	} else {
		struct dmg_dm_table t, t2;
		char *text = malloc(size), out[DMG_DM_MAX_TARGETS * (DMG_DM_PARAMS_MAX + 64)];

		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		/* whatever parses must format and parse back to the same table */
		if (dmg_dm_table_parse(text, &t, &err) == 0) {
			if (dmg_dm_table_format(&t, out, sizeof(out)) < 0 ||
			    dmg_dm_table_parse(out, &t2, &err) < 0 || !dmg_dm_table_equal(&t, &t2))
				abort();
		}
		free(text);
	}
	return 0;
}
