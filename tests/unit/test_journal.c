#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/jkind.h"
#include "core/journal.h"
#include "unit.h"

struct collected {
	size_t n;
	struct dmg_jrec r[8];
};

static int
collect(const struct dmg_jrec *r, void *arg)
{
	struct collected *c = arg;

	if (c->n < 8)
		c->r[c->n] = *r;
	c->n++;
	return 0;
}

static void
tmpname(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/dmg-journal-%ld-%d", (long)getpid(), rand());
	unlink(buf);
}

static void
test_crc(void)
{
	/* the standard check value of CRC-32/IEEE */
	CU_ASSERT_EQUAL(dmg_crc32("123456789", 9), 0xcbf43926u);
	CU_ASSERT_EQUAL(dmg_crc32("", 0), 0);
}

static void
test_format_parse(void)
{
	struct dmg_jrec r, p;
	struct dmg_error err;
	char line[1024];
	int n;

	dmg_jrec_init(&r, "swap-source");
	r.seq = 7;
	CU_ASSERT_EQUAL(dmg_jrec_set(&r, "lv", "vg0-web1", &err), 0);
	CU_ASSERT_EQUAL(dmg_jrec_set(&r, "table", "0 409600 linear 9:126 8300544\n", &err), 0);
	CU_ASSERT_EQUAL(dmg_jrec_set(&r, "odd", "a=b%c d\te", &err), 0);
	CU_ASSERT_EQUAL(dmg_jrec_set(&r, "empty", "", &err), 0);
	n = dmg_jrec_format(&r, line, sizeof(line), &err);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(line[n - 1], '\n');
	CU_ASSERT_EQUAL(strchr(line, '\n'), line + n - 1);    /* one line */
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "table=0%20409600%20linear"));
	line[n - 1] = '\0';
	CU_ASSERT_EQUAL_FATAL(dmg_jrec_parse(line, &p, &err), 0);
	CU_ASSERT_EQUAL(p.seq, 7);
	CU_ASSERT_STRING_EQUAL(p.step, "swap-source");
	CU_ASSERT_EQUAL(p.n, 4);
	CU_ASSERT_STRING_EQUAL(dmg_jrec_get(&p, "table"), "0 409600 linear 9:126 8300544\n");
	CU_ASSERT_STRING_EQUAL(dmg_jrec_get(&p, "odd"), "a=b%c d\te");
	CU_ASSERT_STRING_EQUAL(dmg_jrec_get(&p, "empty"), "");
	CU_ASSERT_PTR_NULL(dmg_jrec_get(&p, "missing"));
	/* any flipped byte is caught */
	line[20] ^= 1;
	CU_ASSERT_EQUAL(dmg_jrec_parse(line, &p, &err), -EBADMSG);
	/* bad names are refused at the source */
	CU_ASSERT(dmg_jrec_set(&r, "Bad Key", "x", &err) < 0);
	dmg_jrec_init(&r, "no spaces please");
	CU_ASSERT(dmg_jrec_format(&r, line, sizeof(line), &err) < 0);
}

static void
test_parse_garbage(void)
{
	static const char *const bad[] = {
		"", "x", "0 00000000 step", "1 zz step", "1 0000000 step", "1 00000000",
		"1 00000000 step k=v", "18446744073709551616 00000000 s",
	};
	struct dmg_jrec r;
	struct dmg_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(dmg_jrec_parse(bad[i], &r, &err), -EBADMSG);
}

static void
test_append_replay(void)
{
	struct dmg_journal *j;
	struct collected c = { 0 };
	struct dmg_jrec r;
	struct dmg_error err;
	char path[128];
	int torn, i;

	tmpname(path, sizeof(path));
	CU_ASSERT(dmg_journal_open(path, 0, &j, &err) < 0);      /* not there, no create */
	CU_ASSERT_EQUAL_FATAL(dmg_journal_open(path, 1, &j, &err), 0);
	for (i = 0; i < 3; i++) {
		char v[16];

		dmg_jrec_init(&r, "step");
		snprintf(v, sizeof(v), "%d", i);
		dmg_jrec_set(&r, "i", v, &err);
		CU_ASSERT_EQUAL(dmg_journal_append(j, &r, &err), 0);
		CU_ASSERT_EQUAL(r.seq, (uint64_t)i + 1);
	}
	dmg_journal_close(j);
	/* reopening continues the sequence */
	CU_ASSERT_EQUAL_FATAL(dmg_journal_open(path, 0, &j, &err), 0);
	dmg_jrec_init(&r, "done");
	CU_ASSERT_EQUAL(dmg_journal_append(j, &r, &err), 0);
	CU_ASSERT_EQUAL(r.seq, 4);
	dmg_journal_close(j);
	CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), 0);
	CU_ASSERT_EQUAL(torn, 0);
	CU_ASSERT_EQUAL(c.n, 4);
	CU_ASSERT_STRING_EQUAL(dmg_jrec_get(&c.r[2], "i"), "2");
	CU_ASSERT_STRING_EQUAL(c.r[3].step, "done");
	unlink(path);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* A crash can tear the last line only; earlier damage means "needs attention". */
static void
test_torn_and_damaged(void)
{
	struct collected c = { 0 };
	struct dmg_journal *j;
	struct dmg_jrec r;
	struct dmg_error err;
	char path[128], l1[256], l2[256], l3[256], text[1024];
	int torn;

	tmpname(path, sizeof(path));
	dmg_jrec_init(&r, "a");
	r.seq = 1;
	dmg_jrec_format(&r, l1, sizeof(l1), &err);
	dmg_jrec_init(&r, "b");
	r.seq = 2;
	dmg_jrec_format(&r, l2, sizeof(l2), &err);
	dmg_jrec_init(&r, "c");
	r.seq = 3;
	dmg_jrec_format(&r, l3, sizeof(l3), &err);

	/* torn: last line cut */
	snprintf(text, sizeof(text), "%s%s%.*s", l1, l2, (int)strlen(l3) / 2, l3);
	write_text(path, text);
	CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), 0);
	CU_ASSERT_EQUAL(torn, 1);
	CU_ASSERT_EQUAL(c.n, 2);
	/* appending after a torn record is refused until it is dealt with */
	CU_ASSERT_EQUAL(dmg_journal_open(path, 0, &j, &err), -EBADMSG);
	/* complete line but no newline: the record was never confirmed */
	c.n = 0;
	snprintf(text, sizeof(text), "%s%s%.*s", l1, l2, (int)strlen(l3) - 1, l3);
	write_text(path, text);
	CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), 0);
	CU_ASSERT_EQUAL(torn, 1);
	CU_ASSERT_EQUAL(c.n, 2);
	/* damage in the middle */
	c.n = 0;
	snprintf(text, sizeof(text), "%s%s%s", l1, l2, l3);
	text[strlen(l1) + 5] ^= 1;
	write_text(path, text);
	CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs attention"));
	/* a gap in the sequence: a whole record out of order is not a torn
	 * write, even at the end */
	c.n = 0;
	snprintf(text, sizeof(text), "%s%s", l1, l3);
	write_text(path, text);
	CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs attention"));
	CU_ASSERT_EQUAL(c.n, 1);
	snprintf(text, sizeof(text), "%s%s%s", l1, l3, l2);
	write_text(path, text);
	CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), -EBADMSG);
	unlink(path);
}

static void
write_bytes(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static long
file_len(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Formats a record "step" with seq and one field into buf; returns its length. */
static size_t
make_line(char *buf, size_t len, const char *step, uint64_t seq)
{
	struct dmg_error err;
	struct dmg_jrec r;
	int n;

	dmg_jrec_init(&r, step);
	r.seq = seq;
	dmg_jrec_set(&r, "lv", "vg0/guest0", &err);
	n = dmg_jrec_format(&r, buf, len, &err);
	CU_ASSERT_FATAL(n > 0);
	return (size_t)n;
}

/* What a crash can leave after the last good record is cut off, the
 * journal appended to on a clean line, and every good record kept. */
static void
test_recover_cuts_torn_tail(void)
{
	char path[128], l1[256], l2[256], l3[256], text[1024], *got;
	size_t n1, n2, n3, len, k;
	struct collected c;
	struct dmg_journal *j;
	struct dmg_jrec r;
	struct dmg_error err;
	int torn;

	tmpname(path, sizeof(path));
	n1 = make_line(l1, sizeof(l1), "a", 1);
	n2 = make_line(l2, sizeof(l2), "b", 2);
	n3 = make_line(l3, sizeof(l3), "c", 3);
	for (k = 0; k < 4; k++) {
		size_t tail;

		memcpy(text, l1, n1);
		memcpy(text + n1, l2, n2);
		memcpy(text + n1 + n2, l3, n3);
		if (k == 0)             /* cut in the middle */
			tail = n3 / 2;
		else if (k == 1)        /* whole record but its newline */
			tail = n3 - 1;
		else if (k == 2) {      /* whole line, checksum wrong */
			tail = n3;
			text[n1 + n2 + n3 - 3] ^= 1;
		} else {                /* the file grew, its data never came: zeros */
			tail = 7;
			memset(text + n1 + n2, 0, tail);
		}
		write_bytes(path, text, n1 + n2 + tail);
		CU_ASSERT_EQUAL_FATAL(dmg_journal_recover(path, &j, &len, &err), 0);
		CU_ASSERT_EQUAL(len, tail);
		CU_ASSERT_EQUAL(file_len(path), (long)(n1 + n2));
		dmg_jrec_init(&r, "c");
		dmg_jrec_set(&r, "lv", "vg0/guest0", &err);
		CU_ASSERT_EQUAL(dmg_journal_append(j, &r, &err), 0);
		CU_ASSERT_EQUAL(r.seq, 3);
		dmg_journal_close(j);
		/* the file is exactly the three good records, the new one on its
		 * own line */
		got = read_file(path, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		CU_ASSERT_EQUAL(len, n1 + n2 + n3);
		CU_ASSERT(len == n1 + n2 + n3 && memcmp(got, l1, n1) == 0 &&
			  memcmp(got + n1, l2, n2) == 0 && memcmp(got + n1 + n2, l3, n3) == 0);
		free(got);
		memset(&c, 0, sizeof(c));
		CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), 0);
		CU_ASSERT_EQUAL(torn, 0);
		CU_ASSERT_EQUAL(c.n, 3);
		CU_ASSERT_STRING_EQUAL(c.r[2].step, "c");
	}
	/* a clean journal is left as it is */
	CU_ASSERT_EQUAL_FATAL(dmg_journal_recover(path, &j, &len, &err), 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(file_len(path), (long)(n1 + n2 + n3));
	dmg_journal_close(j);
	unlink(path);
}

/* Damage that a crash cannot produce is refused and the file left alone:
 * cutting there would throw good records away. */
static void
test_recover_refuses_damage(void)
{
	char path[128], l1[256], l2[256], l3[256], text[1024], *got;
	size_t n1, n2, n3, len, k;
	struct dmg_journal *j = NULL;
	struct dmg_error err;

	tmpname(path, sizeof(path));
	n1 = make_line(l1, sizeof(l1), "a", 1);
	n2 = make_line(l2, sizeof(l2), "b", 2);
	n3 = make_line(l3, sizeof(l3), "c", 3);
	for (k = 0; k < 4; k++) {
		size_t tlen = 0;

		memcpy(text, l1, n1);
		tlen = n1;
		if (k == 0) {           /* a garbage line, valid records after it */
			memcpy(text + tlen, "garbage\n", 8);
			tlen += 8;
			memcpy(text + tlen, l2, n2);
			tlen += n2;
		} else if (k == 1) {    /* a torn record that is not the last */
			memcpy(text + tlen, l2, n2 / 2);
			tlen += n2 / 2;
			memcpy(text + tlen, l2, n2);
			tlen += n2;
		} else if (k == 2) {    /* a good record, then a NUL in its line */
			memcpy(text + tlen, l2, n2 - 1);
			tlen += n2 - 1;
			memcpy(text + tlen, "\0x\n", 3);
			tlen += 3;
		} else {                /* a whole record out of sequence at the end */
			memcpy(text + tlen, l2, n2);
			tlen += n2;
			memcpy(text + tlen, l2, n2);
			tlen += n2;
		}
		if (k < 3) {
			memcpy(text + tlen, l3, n3);
			tlen += n3;
		}
		write_bytes(path, text, tlen);
		CU_ASSERT_EQUAL(dmg_journal_recover(path, &j, &len, &err), -EBADMSG);
		CU_ASSERT_PTR_NULL(j);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs attention"));
		got = read_file(path, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		CU_ASSERT(len == tlen && memcmp(got, text, tlen) == 0);
		free(got);
	}
	unlink(path);
}
/* The child's half of test_short_write: RLIMIT_FSIZE (SIGXFSZ ignored) lets
 * the third record's write stop half-way and the rest fail with EFBIG, a
 * real short write.  Exits 0 or the number of the check that failed. */
static int
short_write_child(const char *path, size_t line_len)
{
	struct rlimit old, lim;
	struct dmg_journal *j;
	struct dmg_jrec r;
	struct dmg_error err;
	int i;

	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &old) < 0)
		return 1;
	lim = old;
	lim.rlim_cur = (rlim_t)(2 * line_len + line_len / 2);
	if (dmg_journal_open(path, 1, &j, &err) < 0 || setrlimit(RLIMIT_FSIZE, &lim) < 0)
		return 2;
	for (i = 0; i < 3; i++) {
		dmg_jrec_init(&r, "s");
		dmg_jrec_set(&r, "lv", "vg0/guest0", &err);
		if (dmg_journal_append(j, &r, &err) != (i < 2 ? 0 : -EFBIG))
			return 3 + i;
	}
	if (file_len(path) != (long)(2 * line_len))   /* the partial line is gone */
		return 6;
	if (setrlimit(RLIMIT_FSIZE, &old) < 0)
		return 7;
	/* the same journal goes on, the failed seq is used again */
	dmg_jrec_init(&r, "s");
	dmg_jrec_set(&r, "lv", "vg0/guest0", &err);
	if (dmg_journal_append(j, &r, &err) != 0 || r.seq != 3)
		return 8;
	dmg_journal_close(j);
	return 0;
}

static void
test_short_write(void)
{
	char path[128], line[256], *got;
	struct collected c = { 0 };
	struct dmg_journal *j;
	struct dmg_jrec r;
	struct dmg_error err;
	size_t n, len, i;
	int status, torn;
	pid_t pid;

	tmpname(path, sizeof(path));
	n = make_line(line, sizeof(line), "s", 1);   /* seqs 1-9 make lines of one length */
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(short_write_child(path, n));
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	/* three whole lines, nothing between them */
	got = read_file(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(len, 3 * n);
	for (i = 0; i < len; i++)
		if (got[i] == '\n')
			CU_ASSERT_EQUAL((i + 1) % n, 0);
	free(got);
	/* a plain reopen finds no torn tail and goes on */
	CU_ASSERT_EQUAL_FATAL(dmg_journal_open(path, 0, &j, &err), 0);
	dmg_jrec_init(&r, "t");
	CU_ASSERT_EQUAL(dmg_journal_append(j, &r, &err), 0);
	CU_ASSERT_EQUAL(r.seq, 4);
	dmg_journal_close(j);
	CU_ASSERT_EQUAL(dmg_journal_replay(path, collect, &c, &torn, &err), 0);
	CU_ASSERT_EQUAL(torn, 0);
	CU_ASSERT_EQUAL(c.n, 4);
	for (i = 0; i < 4 && i < c.n; i++)
		CU_ASSERT_EQUAL(c.r[i].seq, i + 1);
	CU_ASSERT_STRING_EQUAL(c.r[3].step, "t");
	unlink(path);
}

/* Every record kind's name round-trips and is a valid step field; anything
 * else is UNKNOWN, never an error. */
static void
test_kinds(void)
{
	struct dmg_jrec r;
	int i, k;

	for (i = DMG_JK_UNKNOWN + 1; i < DMG_JK_MAX; i++) {
		const char *name = dmg_jkind_name((enum dmg_jkind)i);

		CU_ASSERT(strlen(name) > 0 && strlen(name) < DMG_JREC_STEP_MAX);
		CU_ASSERT_EQUAL(dmg_jkind_parse(name), i);
		dmg_jrec_init_kind(&r, (enum dmg_jkind)i);
		CU_ASSERT_STRING_EQUAL(r.step, name);
		CU_ASSERT_EQUAL(r.n, 0);
		for (k = i + 1; k < DMG_JK_MAX; k++)
			CU_ASSERT(strcmp(name, dmg_jkind_name((enum dmg_jkind)k)) != 0);
	}
	/* the names journals on disk were written with */
	CU_ASSERT_EQUAL(dmg_jkind_parse("session"), DMG_JK_SESSION);
	CU_ASSERT_EQUAL(dmg_jkind_parse("undone"), DMG_JK_UNDONE);
	CU_ASSERT_EQUAL(dmg_jkind_parse("fail"), DMG_JK_FAIL);
	CU_ASSERT_EQUAL(dmg_jkind_parse("Session"), DMG_JK_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_jkind_parse("done "), DMG_JK_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_jkind_parse("orphan"), DMG_JK_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_jkind_parse("?"), DMG_JK_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_jkind_parse(""), DMG_JK_UNKNOWN);
	CU_ASSERT_EQUAL(dmg_jkind_parse(NULL), DMG_JK_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(dmg_jkind_name(DMG_JK_UNKNOWN), "?");
	CU_ASSERT_STRING_EQUAL(dmg_jkind_name(DMG_JK_MAX), "?");
}

void
register_journal_tests(void)
{
	CU_pSuite s = CU_add_suite("journal", NULL, NULL);

	CU_add_test(s, "CRC-32", test_crc);
	CU_add_test(s, "record format and parse", test_format_parse);
	CU_add_test(s, "garbage records", test_parse_garbage);
	CU_add_test(s, "append, reopen, replay", test_append_replay);
	CU_add_test(s, "torn tail and damage", test_torn_and_damaged);
	CU_add_test(s, "recovery cuts a torn tail off", test_recover_cuts_torn_tail);
	CU_add_test(s, "recovery refuses damage before the end", test_recover_refuses_damage);
	CU_add_test(s, "a short write is cut back, the journal goes on", test_short_write);
	CU_add_test(s, "record kinds", test_kinds);
}
