/* libFuzzer target for the source's peer-verb layer: request lines, as the
 * peer channel delivers them after its checks, go through the record parser
 * and the verb check (dmg_verb_check, both channels' tables) into the
 * session engine (dmg_sess_peer_call) over a fake host -- storage steps
 * counted, not taken; one running annotated guest with disks vda and vdb.
 * The first input byte picks, per line, which of two callers sends it (bit
 * i for line i).  Beyond "no crash": a request the check lets through names
 * a verb of its channel; a call from the caller that did not open the
 * session never succeeds and never runs a storage step. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/journal.h"
#include "core/verb.h"
#include "engine/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake {
	int nact;
};

static int
f_act(void *arg, struct dmg_session *s, const char *verb, int disk, const char *in, char *out,
      size_t outlen, struct dmg_error *err)
{
	struct fake *f = arg;
	struct dmg_sess_disk *d = &s->disks[disk];

	(void)in;
	(void)out;
	(void)outlen;
	(void)err;
	f->nact++;
	if (strcmp(verb, "source-size") == 0) {
		snprintf(d->vg, sizeof(d->vg), "vg0");
		snprintf(d->lv, sizeof(d->lv), "%s", d->target);
		d->size = 1u << 20;
		snprintf(d->side[DMG_ROLE_SRC].host, sizeof(d->side[0].host), "src");
		snprintf(d->side[DMG_ROLE_SRC].addr, sizeof(d->side[0].addr), "10.0.0.1");
		d->side[DMG_ROLE_SRC].minor = 100 + (uint32_t)disk;
		d->side[DMG_ROLE_SRC].port = 7800 + (uint32_t)disk;
	}
	return 0;
}

static int
f_dom(void *arg, const char *uuid, enum dmg_dom *st, struct dmg_error *err)
{
	(void)arg;
	(void)uuid;
	(void)err;
	*st = DMG_DOM_RUNNING;
	return 0;
}

static int
f_policy(void *arg, const char *uuid, struct dmg_policy **out, struct dmg_error *err)
{
	static const char *const t[] = { "vda", "vdb" };
	struct dmg_policy *p = calloc(1, sizeof(*p));
	size_t i;

	(void)arg;
	(void)uuid;
	if (!p || !(p->disks = calloc(2, sizeof(*p->disks))) || !(p->domain = strdup("guest"))) {
		dmg_policy_free(p);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	p->ndisks = 2;
	for (i = 0; i < 2; i++) {
		snprintf(p->disks[i].target, sizeof(p->disks[i].target), "%s", t[i]);
		p->disks[i].source = strdup(i ? "/dev/vg0/b" : "/dev/vg0/a");
		p->disks[i].resync_rate_kib = 1024;
		if (!p->disks[i].source) {
			dmg_policy_free(p);
			return dmg_error_set(err, -ENOMEM, "out of memory");
		}
	}
	*out = p;
	return 0;
}

static int
f_peer(void *arg, const struct dmg_session *s, enum dmg_verb verb, const struct dmg_jrec *req,
       struct dmg_jrec *reply, struct dmg_error *err)
{
	(void)arg;
	(void)s;
	(void)verb;
	(void)req;
	(void)reply;
	return dmg_error_set(err, -EHOSTUNREACH, "fake: no peer");
}

/* Every file in the directory is the fuzzer's: whatever journal a run
 * made (only a successful open makes one, but a failing one may leave it)
 * goes, so that runs do not depend on each other. */
static void
clean_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	static const char *const callers[] = { "dst:7780", "other:7780" };
	struct fake f = { 0 };
	struct dmg_sess_env env = { .arg = &f, .act = f_act, .dom_state = f_dom,
				    .dom_policy = f_policy, .peer = f_peer, .self = "src:7780" };
	struct dmg_session *s = NULL;
	struct dmg_log log;
	char *text, *line, *save = NULL;
	const char *owner = NULL;
	unsigned who, n = 0;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/dmg-fuzz-verbs-XXXXXX");
		if (!mkdtemp(dir))
			snprintf(dir, sizeof(dir), "/tmp");
	}
	if (size < 1)
		return 0;
	who = data[0];
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	dmg_log_open(&log, "fuzz", 0, 0, DMG_LOG_ERR);
	for (line = strtok_r(text, "\n", &save); line && n < 32; line = strtok_r(NULL, "\n", &save), n++) {
		const char *caller = callers[(who >> (n % 8)) & 1];
		struct dmg_session *created = NULL;
		struct dmg_jrec req, reply;
		struct dmg_error err = { 0 };
		enum dmg_verb verb, cli;
		int before = f.nact, rc;

		if (dmg_jrec_parse_line(line, &req, &err) < 0)
			continue;
		/* The CLI socket's table sees the same lines. */
		if (dmg_verb_check(&req, DMG_VERB_CLI, &cli, &err) == 0 &&
		    (cli == DMG_VERB_NONE || dmg_verb_lookup(req.step, DMG_VERB_CLI) != cli))
			abort();
		if (dmg_verb_check(&req, DMG_VERB_PEER, &verb, &err) < 0)
			continue;
		if (verb == DMG_VERB_NONE || dmg_verb_lookup(req.step, DMG_VERB_PEER) != verb)
			abort();
		if (!dmg_verb_is_session(verb))
			continue;   /* probe, whohas, fence: the registry's, not the engine's */
		rc = dmg_sess_peer_call(s, caller, verb, &req, dir, &env, &log, &created, &reply, &err);
		if (created) {
			s = created;
			owner = caller;
		}
		if (s && !created && owner && strcmp(caller, owner) != 0 &&
		    (rc == 0 || f.nact != before))
			abort();   /* another peer acted on the session */
	}
	dmg_sess_free(s);
	dmg_log_close(&log);
	clean_dir(dir);
	free(text);
	return 0;
}
