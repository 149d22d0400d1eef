/* drbdmig-fence-peer: DRBD 8.4's fence-peer handler for drbdmig's own
 * resources (named in their resource files).  DRBD runs it through drbdadm
 * when the replication link breaks while this host is Primary, with the
 * resource's I/O frozen; it asks drbdmigd what to do and exits with the code
 * DRBD expects (4: the peer is outdated, I/O resumes).  Any failure exits 1,
 * which leaves I/O frozen: no write is ever completed that the other copy
 * might miss. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/call.h"
#include "core/defaults.h"
#include "core/verb.h"
#include "core/wire.h"

int
main(int argc, char **argv)
{
	const char *res = getenv("DRBD_RESOURCE");
	struct dmg_msg rep;
	struct dmg_error err = { 0 };
	int64_t deadline = dmg_now_ms() + DMG_FENCE_CALL_MS;
	enum dmg_call_stage stage;
	int rc;

	(void)argv;
	if (argc != 1 || !res || !*res) {
		fprintf(stderr, "drbdmig-fence-peer: run by DRBD with DRBD_RESOURCE set\n");
		return 1;
	}
	rc = dmg_call(DMG_SOCKET_PATH, dmg_verb_name(DMG_VERB_FENCE_RES), res, DMG_SOCKET_CONNECT_MS,
		      deadline, &rep, &stage, &err);
	if (rc < 0 && stage == DMG_CALL_REQUEST) {
		fprintf(stderr, "drbdmig-fence-peer: %s\n", err.msg);
		return 1;
	}
	if (rc < 0 && stage == DMG_CALL_CONNECT) {
		fprintf(stderr, "drbdmig-fence-peer: %s: cannot reach drbdmigd (%s); I/O stays frozen\n",
			res, err.msg);
		return 1;
	}
	if (rc < 0 || rep.type != DMG_MSG_RESULT || rep.status || !rep.body) {
		fprintf(stderr, "drbdmig-fence-peer: %s: %s; I/O stays frozen\n", res,
			rc < 0 ? err.msg : rep.message ? rep.message : "no answer");
		dmg_msg_clear(&rep);
		return 1;
	}
	/* "fence code=N": DRBD's fence-peer exit codes are 3..7; anything
	 * else (no code, junk) is a failure. */
	rc = dmg_fence_code_parse(rep.body, rep.body_len);
	dmg_msg_clear(&rep);
	return rc >= 3 && rc <= 7 ? rc : 1;
}
