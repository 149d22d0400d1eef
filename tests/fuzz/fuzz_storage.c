/* libFuzzer target for the parsers of what drbdmig reads back from the
 * kernel, lvm2 or the disk, chosen by the first input byte modulo 4: DRBD
 * netlink replies and events, device-mapper table text (and whether it may
 * be mapped twice), journal records, lines of lvs output. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/dm.h"
#include "storage/drbd.h"
#include "storage/lvm.h"
#include "core/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmg_error err;

	if (size < 1)
		return 0;
	if (data[0] % 4 == 3) {
		struct dmg_lv lv;
		char *line = malloc(size);

		if (!line)
			return 0;
		memcpy(line, data + 1, size - 1);
		line[size - 1] = '\0';
		/* what parses holds terminated names and an allocation within
		 * the LV */
		if (dmg_lvm_parse_lvs(line, &lv, &err) == 0 &&
		    (lv.vg[sizeof(lv.vg) - 1] || lv.lv[sizeof(lv.lv) - 1] ||
		     lv.thin_pool[sizeof(lv.thin_pool) - 1] || lv.used > lv.size))
			abort();
		free(line);
	} else if (data[0] % 4 == 2) {
		struct dmg_jrec r, r2;
		char *line = malloc(size), out[DMG_JLINE_MAX + 64];
		size_t i;

		if (!line)
			return 0;
		memcpy(line, data + 1, size - 1);
		line[size - 1] = '\0';
		/* a record that parses formats back to the same line */
		if (dmg_jrec_parse(line, &r, &err) == 0) {
			int n = dmg_jrec_format(&r, out, sizeof(out), &err);

			if (n <= 0 || dmg_jrec_parse((out[n - 1] = '\0', out), &r2, &err) != 0 ||
			    r2.n != r.n || strcmp(r.step, r2.step) != 0)
				abort();
			for (i = 0; i < r.n; i++)
				if (strcmp(r.kv[i].val, r2.kv[i].val) != 0)
					abort();
		}
		free(line);
	} else if (data[0] % 4 == 0) {
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
			(void)dmg_dm_table_plain(&t, "/dev/vg0/x", &err);
		}
		free(text);
	}
	return 0;
}
