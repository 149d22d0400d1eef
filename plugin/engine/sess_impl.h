/* Internals the engine's files share (session.c, run.c, dst.c, src.c);
 * nothing outside plugin/engine/ includes this.  The public API is
 * session.h. */
#ifndef DMG_SESS_IMPL_H
#define DMG_SESS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/session.h"
#include "engine/steps.h"

/* session.c: journal records, phases, allocation, parsing */
int sess_jset(struct dmg_jrec *r, const char *k, const char *v, struct dmg_error *err);
int sess_jsetu(struct dmg_jrec *r, const char *k, uint64_t v, struct dmg_error *err);
int sess_jwrite(struct dmg_session *s, struct dmg_jrec *r, struct dmg_error *err);
int sess_j_session(struct dmg_session *s, struct dmg_error *err);
int sess_j_disk(struct dmg_session *s, int i, struct dmg_error *err);
int sess_j_side(struct dmg_session *s, int i, enum dmg_role role, struct dmg_error *err);
int sess_set_phase(struct dmg_session *s, enum dmg_phase p, const char *reason,
		   struct dmg_error *err);
enum dmg_dom sess_dom_parse(const char *s);
int sess_num(const struct dmg_jrec *r, const char *k, uint64_t max, uint64_t *out);
int sess_copy_str(char *dst, size_t len, const char *src, const char *what,
		  struct dmg_error *err);
int sess_alloc(const char *state_dir, const char *sid, const struct dmg_sess_env *env,
	       struct dmg_log *log, struct dmg_session **out, struct dmg_error *err);
void sess_release(struct dmg_session *s);
int sess_migrating(const struct dmg_session *s);

/* run.c: steps (journalled), sequences, rollback, peer calls */
struct dmg_sess_act *sess_act_find(struct dmg_session *s, enum dmg_step step, int disk);
struct dmg_sess_act *sess_act_add(struct dmg_session *s, enum dmg_step step, int disk,
				  const char *arg, struct dmg_error *err);
int sess_run(struct dmg_session *s, enum dmg_step step, int disk, const char *in,
	     struct dmg_error *err);
int sess_run_seq(struct dmg_session *s, enum dmg_seq q, int disk, const char *in,
		 struct dmg_error *err);
int sess_settle_acts(struct dmg_session *s, struct dmg_error *err);
int sess_rollback(struct dmg_session *s, const char *reason, struct dmg_error *err);
int sess_attention(struct dmg_session *s, const char *why, struct dmg_error *err);
int sess_stuck(struct dmg_session *s, struct dmg_error *err);
int sess_call(struct dmg_session *s, enum dmg_verb verb, int disk, struct dmg_jrec *reply,
	      struct dmg_error *err);

/* The journal's record kinds (one name table for writing and replaying). */
#include "core/jkind.h"

#endif
