/* The per-session journal: every step of a migration session is appended
 * (and fdatasync'ed) before it is taken, so a restarted daemon, or `drbdmig
 * cleanup`, can tell how far a session got and finish or undo it.
 *
 * One file per session, one text line per record, readable by an admin:
 *   <seq> <crc32> <step> key=value key=value...
 * seq counts from 1 without gaps; crc32 (hex) covers the rest of the line
 * after the crc field; values are percent-encoded (no space, '%', '=' or
 * control byte appears raw).  A torn last line (crash mid-write) is dropped
 * and reported, and cut off the file before the journal is appended to
 * again; anything wrong before it, or a whole record out of sequence, makes
 * the journal unusable and the session "needs attention": drbdmig then
 * deletes nothing. */
#ifndef DMG_JOURNAL_H
#define DMG_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DMG_JREC_STEP_MAX 32
#define DMG_JREC_KEY_MAX  32
#define DMG_JREC_VAL_MAX  512
#define DMG_JREC_MAX_KV   16
#define DMG_JLINE_MAX     16384

struct dmg_jkv {
	char key[DMG_JREC_KEY_MAX];
	char val[DMG_JREC_VAL_MAX];
};

struct dmg_jrec {
	uint64_t seq;                       /* set by append / replay */
	char step[DMG_JREC_STEP_MAX];
	size_t n;
	struct dmg_jkv kv[DMG_JREC_MAX_KV];
};

/* Record building and lookup. */
void dmg_jrec_init(struct dmg_jrec *r, const char *step);
int dmg_jrec_set(struct dmg_jrec *r, const char *key, const char *val, struct dmg_error *err);
const char *dmg_jrec_get(const struct dmg_jrec *r, const char *key);

/* One record as a journal line (with '\n'); returns its length. */
int dmg_jrec_format(const struct dmg_jrec *r, char *buf, size_t len, struct dmg_error *err);
/* The same record as a message line (CLI and peer bodies): only
 * "step key=value ...\n", no seq or crc (the framing protects it). */
int dmg_jrec_format_line(const struct dmg_jrec *r, char *buf, size_t len, struct dmg_error *err);
int dmg_jrec_parse_line(const char *line, struct dmg_jrec *r, struct dmg_error *err);
/* Parses one line (without '\n'); -EBADMSG on any damage. */
int dmg_jrec_parse(const char *line, struct dmg_jrec *r, struct dmg_error *err);

struct dmg_journal;

/* Opens (creating if create) the journal file path for appending; an
 * existing journal is replayed to find the next sequence number.  A journal
 * ending in a torn record is refused (-EBADMSG). */
int dmg_journal_open(const char *path, int create, struct dmg_journal **out,
		     struct dmg_error *err);
/* Reopens an existing journal for appending after a crash: a torn last
 * record is cut off (the file truncated to the end of the last good record,
 * file and directory synced) and *cut set to the bytes removed, 0 if none.
 * Damage before the last line is refused like in dmg_journal_replay(). */
int dmg_journal_recover(const char *path, struct dmg_journal **out, size_t *cut,
			struct dmg_error *err);
/* Appends r (its seq is assigned) and waits until it is on disk.  On failure
 * the file is cut back to its length before the append, so the journal ends
 * on its last good record; if that fails too, later appends are refused. */
int dmg_journal_append(struct dmg_journal *j, struct dmg_jrec *r, struct dmg_error *err);
void dmg_journal_close(struct dmg_journal *j);

/* Calls fn for every record of the file in order.  *torn is set when a
 * damaged last line was dropped.  Returns 0, fn's non-zero value, or a
 * negative code (-EBADMSG when the journal is damaged before its end or a
 * record is out of sequence). */
int dmg_journal_replay(const char *path, int (*fn)(const struct dmg_jrec *r, void *arg),
		       void *arg, int *torn, struct dmg_error *err);

uint32_t dmg_crc32(const void *data, size_t len);

#endif
