#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/journal.h"

struct dmg_journal {
	int fd;
	uint64_t next_seq;
	off_t size;         /* the file's length: the end of the last record */
	int broken;         /* a failed append could not be cut off */
	char *path;
};

/* Bitwise CRC-32 (IEEE, reflected): records are small and rare, and this
 * needs no table. */
uint32_t
dmg_crc32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

void
dmg_jrec_init(struct dmg_jrec *r, const char *step)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->step, sizeof(r->step), "%s", step);
}

static int
is_name(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

int
dmg_jrec_set(struct dmg_jrec *r, const char *key, const char *val, struct dmg_error *err)
{
	size_t i;

	if (!is_name(key, DMG_JREC_KEY_MAX))
		return dmg_error_set(err, -EINVAL, "journal: bad key '%.40s'", key);
	if (strlen(val) >= DMG_JREC_VAL_MAX)
		return dmg_error_set(err, -E2BIG, "journal: value of '%s' too long", key);
	for (i = 0; i < r->n; i++)
		if (strcmp(r->kv[i].key, key) == 0)
			break;
	if (i == r->n) {
		if (r->n == DMG_JREC_MAX_KV)
			return dmg_error_set(err, -E2BIG, "journal: too many fields in '%s'", r->step);
		r->n++;
	}
	memcpy(r->kv[i].key, key, strlen(key) + 1);
	memcpy(r->kv[i].val, val, strlen(val) + 1);
	return 0;
}

const char *
dmg_jrec_get(const struct dmg_jrec *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->kv[i].key, key) == 0)
			return r->kv[i].val;
	return NULL;
}

static int
needs_escape(unsigned char c)
{
	return c <= 0x20 || c == '%' || c == '=' || c == 0x7f;
}

/* Appends to buf at *off; -ENOSPC when full. */
static int
put(char *buf, size_t len, size_t *off, const char *s, size_t n)
{
	if (*off + n >= len)
		return -ENOSPC;
	memcpy(buf + *off, s, n);
	*off += n;
	buf[*off] = '\0';
	return 0;
}

/* The body of a record line, "step key=value ...", without newline. */
static int
format_body(const struct dmg_jrec *r, char *body, size_t len, size_t *outlen,
	    struct dmg_error *err)
{
	size_t off = 0, i;

	if (!is_name(r->step, DMG_JREC_STEP_MAX))
		return dmg_error_set(err, -EINVAL, "journal: bad step name '%.40s'", r->step);
	body[0] = '\0';
	if (put(body, len, &off, r->step, strlen(r->step)) < 0)
		goto nospace;
	for (i = 0; i < r->n; i++) {
		const unsigned char *v = (const unsigned char *)r->kv[i].val;

		if (put(body, len, &off, " ", 1) < 0 ||
		    put(body, len, &off, r->kv[i].key, strlen(r->kv[i].key)) < 0 ||
		    put(body, len, &off, "=", 1) < 0)
			goto nospace;
		for (; *v; v++) {
			char e[4];

			if (needs_escape(*v))
				snprintf(e, sizeof(e), "%%%02X", *v);
			else {
				e[0] = (char)*v;
				e[1] = '\0';
			}
			if (put(body, len, &off, e, strlen(e)) < 0)
				goto nospace;
		}
	}
	*outlen = off;
	return 0;
nospace:
	return dmg_error_set(err, -ENOSPC, "journal: record '%s' too long", r->step);
}

int
dmg_jrec_format(const struct dmg_jrec *r, char *buf, size_t len, struct dmg_error *err)
{
	char body[DMG_JLINE_MAX], head[48];
	size_t off = 0;
	int hn, rc;

	rc = format_body(r, body, sizeof(body), &off, err);
	if (rc < 0)
		return rc;
	hn = snprintf(head, sizeof(head), "%" PRIu64 " %08x ", r->seq, dmg_crc32(body, off));
	if ((size_t)hn + off + 2 > len)
		return dmg_error_set(err, -ENOSPC, "journal: record '%s' too long", r->step);
	memcpy(buf, head, (size_t)hn);
	memcpy(buf + hn, body, off);
	buf[(size_t)hn + off] = '\n';
	buf[(size_t)hn + off + 1] = '\0';
	return (int)((size_t)hn + off + 1);
}

int
dmg_jrec_format_line(const struct dmg_jrec *r, char *buf, size_t len, struct dmg_error *err)
{
	size_t off = 0;
	int rc;

	if (len < 2)
		return dmg_error_set(err, -ENOSPC, "journal: no room for record '%s'", r->step);
	rc = format_body(r, buf, len - 1, &off, err);
	if (rc < 0)
		return rc;
	buf[off] = '\n';
	buf[off + 1] = '\0';
	return (int)off + 1;
}

/* The journal writes its escapes in upper case and reads only that, so
 * every value has one spelling. */
static int
upper_hexval(char c)
{
	return c >= 'a' && c <= 'f' ? -1 : dmg_hexval((unsigned char)c);
}

int
dmg_jrec_parse(const char *line, struct dmg_jrec *r, struct dmg_error *err)
{
	const char *p = line, *body;
	unsigned long long seq;
	unsigned long crc;
	char *end;

	memset(r, 0, sizeof(*r));
	errno = 0;
	seq = strtoull(p, &end, 10);
	if (errno || end == p || *end != ' ' || seq == 0)
		goto bad;
	p = end + 1;
	crc = strtoul(p, &end, 16);
	if (end != p + 8 || *end != ' ')
		goto bad;
	body = end + 1;
	if (dmg_crc32(body, strlen(body)) != (uint32_t)crc)
		return dmg_error_set(err, -EBADMSG, "journal record %llu: checksum mismatch", seq);
	if (dmg_jrec_parse_line(body, r, NULL) < 0)
		goto bad;
	r->seq = seq;
	return 0;
bad:
	memset(r, 0, sizeof(*r));
	return dmg_error_set(err, -EBADMSG, "journal: malformed record '%.60s'", line);
}

int
dmg_jrec_parse_line(const char *body, struct dmg_jrec *r, struct dmg_error *err)
{
	const char *p;
	char *end;

	memset(r, 0, sizeof(*r));
	/* step */
	end = strchr(body, ' ');
	if ((size_t)((end ? end : body + strlen(body)) - body) >= DMG_JREC_STEP_MAX)
		goto bad;
	memcpy(r->step, body, (size_t)((end ? end : body + strlen(body)) - body));
	if (!is_name(r->step, DMG_JREC_STEP_MAX))
		goto bad;
	p = end;
	while (p && *p == ' ') {
		const char *eq = strchr(p + 1, '='), *v;
		struct dmg_jkv *kv;
		size_t kl, vl = 0;

		if (!eq || r->n == DMG_JREC_MAX_KV)
			goto bad;
		kv = &r->kv[r->n];
		kl = (size_t)(eq - (p + 1));
		if (kl == 0 || kl >= DMG_JREC_KEY_MAX)
			goto bad;
		memcpy(kv->key, p + 1, kl);
		if (!is_name(kv->key, DMG_JREC_KEY_MAX) || dmg_jrec_get(r, kv->key))
			goto bad;
		for (v = eq + 1; *v && *v != ' '; v++) {
			int c = (unsigned char)*v;

			if (c == '%') {
				int h = upper_hexval(v[1]), l = h < 0 ? -1 : upper_hexval(v[2]);

				if (h < 0 || l < 0)
					goto bad;
				c = h * 16 + l;
				v += 2;
			} else if (needs_escape((unsigned char)c)) {
				goto bad;
			}
			if (vl + 1 >= DMG_JREC_VAL_MAX || c == 0)
				goto bad;
			kv->val[vl++] = (char)c;
		}
		r->n++;
		p = v;
	}
	if (p && *p)
		goto bad;
	return 0;
bad:
	memset(r, 0, sizeof(*r));
	return dmg_error_set(err, -EBADMSG, "malformed record '%.60s'", body);
}

/* Replays path; *good_end is the file offset just past the last good record,
 * where a torn tail begins. */
static int
replay(const char *path, int (*fn)(const struct dmg_jrec *r, void *arg), void *arg, int *torn,
       off_t *good_end, struct dmg_error *err)
{
	char line[DMG_JLINE_MAX + 2];
	uint64_t expect = 1;
	off_t start = 0;
	FILE *f;
	int rc = 0;

	*torn = 0;
	*good_end = 0;
	f = fopen(path, "re");
	if (!f)
		return dmg_error_sys(err, -errno, "cannot open journal %s", path);
	while (fgets(line, sizeof(line), f)) {
		off_t next = ftello(f);
		size_t raw, n = strlen(line);
		struct dmg_jrec r;
		int last;

		/* raw counts the bytes read, n stops at a NUL: a line with a NUL
		 * byte in it must not pass for a shorter one. */
		raw = next < start ? 0 : (size_t)(next - start);
		if (raw == 0 || raw >= sizeof(line)) {
			rc = dmg_error_sys(err, next < 0 ? -errno : -EIO, "cannot read journal %s", path);
			break;
		}
		last = line[raw - 1] != '\n';
		if (!last)
			line[--raw] = '\0';
		if (n < raw || raw > DMG_JLINE_MAX)
			rc = -EBADMSG;     /* the message is set below */
		else
			rc = dmg_jrec_parse(line, &r, err);
		if (rc < 0) {
			/* Only the very last line may be torn by a crash. */
			int c = fgetc(f);

			if (c == EOF) {
				*torn = 1;
				rc = 0;
				break;
			}
			rc = dmg_error_set(err, -EBADMSG, "journal %s damaged at record %llu: needs attention",
					   path, (unsigned long long)expect);
			break;
		}
		/* A whole record with a valid checksum was written out of order,
		 * not torn by a crash: never cut off, never trusted. */
		if (r.seq != expect) {
			rc = dmg_error_set(err, -EBADMSG,
					   "journal %s: record %llu where %llu was expected: needs attention",
					   path, (unsigned long long)r.seq, (unsigned long long)expect);
			break;
		}
		if (last) {   /* a complete record without its newline: torn */
			*torn = 1;
			break;
		}
		expect++;
		start = next;
		rc = fn(&r, arg);
		if (rc)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = dmg_error_sys(err, -EIO, "cannot read journal %s", path);
	fclose(f);
	*good_end = start;
	return rc;
}

int
dmg_journal_replay(const char *path, int (*fn)(const struct dmg_jrec *r, void *arg), void *arg,
		   int *torn, struct dmg_error *err)
{
	off_t good_end;

	return replay(path, fn, arg, torn, &good_end, err);
}

static int
count_rec(const struct dmg_jrec *r, void *arg)
{
	*(uint64_t *)arg = r->seq;
	return 0;
}

static int
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -ENOMEM;

	if (copy) {
		fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = fd < 0 ? -errno : (fsync(fd) < 0 ? -errno : 0);
		if (fd >= 0)
			close(fd);
	}
	free(copy);
	return rc;
}

/* Cuts a torn tail off: the file ends with the last good record again. */
static int
cut_tail(struct dmg_journal *j, off_t good_end, size_t *cut, struct dmg_error *err)
{
	struct stat st;

	if (fstat(j->fd, &st) < 0)
		return dmg_error_sys(err, -errno, "cannot stat journal %s", j->path);
	if (st.st_size < good_end)
		return dmg_error_set(err, -EBADMSG, "journal %s shrank while it was read", j->path);
	if (ftruncate(j->fd, good_end) < 0 || fsync(j->fd) < 0)
		return dmg_error_sys(err, -errno, "cannot cut the torn record off journal %s", j->path);
	*cut = (size_t)(st.st_size - good_end);
	return 0;
}

static int
journal_open(const char *path, int create, int cut_torn, struct dmg_journal **out, size_t *cut,
	     struct dmg_error *err)
{
	struct dmg_journal *j;
	struct stat st;
	uint64_t last = 0;
	off_t good_end = 0;
	int torn = 0, rc;

	*out = NULL;
	*cut = 0;
	if (access(path, F_OK) == 0) {
		rc = replay(path, count_rec, &last, &torn, &good_end, err);
		if (rc < 0)
			return rc;
		if (torn && !cut_torn)
			return dmg_error_set(err, -EBADMSG,
					     "journal %s ends in a torn record: replay it before appending", path);
	} else if (!create) {
		return dmg_error_sys(err, -ENOENT, "journal %s", path);
	}
	j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(path))) {
		free(j);
		return dmg_error_set(err, -ENOMEM, "out of memory");
	}
	j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		rc = dmg_error_sys(err, -errno, "cannot open journal %s", path);
		free(j->path);
		free(j);
		return rc;
	}
	rc = torn ? cut_tail(j, good_end, cut, err) : 0;
	if (rc == 0 && fstat(j->fd, &st) < 0)
		rc = dmg_error_sys(err, -errno, "cannot stat journal %s", path);
	if (rc != 0) {
		dmg_journal_close(j);
		return rc;
	}
	j->size = st.st_size;
	/* the new file's directory entry (or its cut length) must survive a
	 * crash too */
	rc = sync_dir(path);
	if (rc < 0) {
		dmg_journal_close(j);
		return dmg_error_sys(err, rc, "cannot sync the directory of %s", path);
	}
	j->next_seq = last + 1;
	*out = j;
	return 0;
}

int
dmg_journal_open(const char *path, int create, struct dmg_journal **out, struct dmg_error *err)
{
	size_t cut;

	return journal_open(path, create, 0, out, &cut, err);
}

int
dmg_journal_recover(const char *path, struct dmg_journal **out, size_t *cut,
		    struct dmg_error *err)
{
	return journal_open(path, 0, 1, out, cut, err);
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
dmg_journal_append(struct dmg_journal *j, struct dmg_jrec *r, struct dmg_error *err)
{
	char line[DMG_JLINE_MAX + 64];
	const char *what = "write";
	int n, rc;

	if (j->broken)
		return dmg_error_set(err, -EIO,
				     "journal %s ends in a failed record that could not be cut off: no more appends",
				     j->path);
	r->seq = j->next_seq;
	n = dmg_jrec_format(r, line, sizeof(line), err);
	if (n < 0)
		return n;
	rc = write_all(j->fd, line, (size_t)n);
	if (rc == 0 && fdatasync(j->fd) < 0) {
		rc = -errno;
		what = "sync";
	}
	if (rc < 0) {
		/* A short write leaves part of a line, a failed sync a record of
		 * unknown fate: cut the file back to its last good record, so the
		 * next append starts on a clean line and the journal stays usable.
		 * If even that fails, refuse further appends: a valid record after
		 * a partial line would make the whole journal unreadable, whereas
		 * a partial last line is cut off on the next load. */
		if (ftruncate(j->fd, j->size) < 0 || fsync(j->fd) < 0) {
			j->broken = 1;
			return dmg_error_sys(err, rc, "cannot %s journal %s (its partial record stays: no more appends)",
					     what, j->path);
		}
		return dmg_error_sys(err, rc, "cannot %s journal %s", what, j->path);
	}
	j->size += n;
	j->next_seq++;
	return 0;
}

void
dmg_journal_close(struct dmg_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}
