/* reccheck: checks the record ring written by tests/guest/recguest.asm.
 *
 *   reccheck [--slots N] [--min-seq S] [--spread N] DEVICE_OR_IMAGE
 *
 * Record layout (512-byte sector, little endian): "DMREC001", u32 seq, u32 lba,
 * dwords 4..126 = seq ^ index, u32 checksum = sum mod 2^32 of dwords 0..126.
 * Record seq n lives at LBA 1 + ((n - 1) mod SLOTS).
 *
 * Every non-empty (not all-zero) slot must hold a valid record for that slot.
 * With M the highest seq found, every seq in (max(0, M - SLOTS), M] must sit in
 * its slot: nothing the guest wrote within the last lap of the ring is missing
 * or stale.  --min-seq S additionally demands M >= S (S = the last seq the
 * guest's console reported, i.e. a write the guest saw completed).
 * --spread N (a guest built with SPREAD=N) also checks the N sectors after the
 * ring: each non-empty one must be a whole copy of a record, of a seq no higher
 * than the ring's (the guest writes a record to the ring before its copy).
 *
 * Prints "reccheck: max_seq=M records=K corrupt=C missing=X" on stdout (with
 * --spread, " copies=K bad_copies=B" after it), names
 * the first bad slot on stderr, exits 0 if all is well, 1 if the check failed,
 * 2 on usage or I/O errors. */
#define _GNU_SOURCE     /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR        512
#define DWORDS        (SECTOR / 4)
#define DEFAULT_SLOTS 4096u
#define MAX_SLOTS     (1u << 22)        /* 2 GiB of ring: plenty */
#define MAX_SPREAD    ((1u << 24) - MAX_SLOTS - 1)   /* the guest's LBA28 writes: 24 bits */
#define ALIGN         4096

static const char magic[8] = { 'D', 'M', 'R', 'E', 'C', '0', '0', '1' };

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Returns NULL if the sector is a valid record for slot `slot` (seq stored in
 * *seq), else a reason.  An all-zero sector is reported as "empty". */
static const char *
check_record(const unsigned char *s, uint32_t slot, uint32_t slots, uint32_t *seq)
{
	uint32_t sum = 0, i;
	int zero = 1;

	for (i = 0; i < SECTOR && zero; i++)
		zero = s[i] == 0;
	if (zero)
		return "empty";
	if (memcmp(s, magic, sizeof(magic)) != 0)
		return "bad magic";
	*seq = get32(s + 8);
	if (*seq == 0)
		return "seq 0";
	if (get32(s + 12) != slot + 1)
		return "lba field does not match the slot";
	if ((*seq - 1) % slots != slot)
		return "seq does not belong in this slot";
	for (i = 4; i < DWORDS - 1; i++)
		if (get32(s + 4 * i) != (*seq ^ i))
			return "bad filler";
	for (i = 0; i < DWORDS - 1; i++)
		sum += get32(s + 4 * i);
	if (sum != get32(s + SECTOR - 4))
		return "bad checksum";
	return NULL;
}

static int
parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: reccheck [--slots N] [--min-seq S] DEVICE_OR_IMAGE\n"
		"  --slots N     ring size in sectors (default %u, as in recguest.asm)\n"
		"  --min-seq S   fail unless the highest seq on disk is >= S\n"
		"  --spread N    also check the N sectors after the ring (recguest SPREAD=N)\n",
		DEFAULT_SLOTS);
}

/* Reads sectors 0..slots into buf (O_DIRECT when possible, so a block device
 * is read as the writer left it, not from a stale page cache). */
static int
read_ring(const char *path, unsigned char *buf, size_t want, size_t len)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "reccheck: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (got < want) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "reccheck: cannot read %s: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got < want) {
		fprintf(stderr, "reccheck: %s is too small: %zu bytes, the check needs %zu\n",
			path, got, want);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ "min-seq", required_argument, NULL, 'm' },
		{ "spread", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t slots = DEFAULT_SLOTS, min_seq = 0, max_seq = 0, records = 0;
	uint32_t corrupt = 0, missing = 0, slot, first = 0, n, s;
	uint32_t spread = 0, copies = 0, bad_copies = 0;
	const char *first_why = NULL;
	unsigned char *buf;
	uint32_t *seqs;
	unsigned char *bad;
	size_t want, len;
	int opt, have_min = 0;

	while ((opt = getopt_long(argc, argv, "s:m:p:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (parse_u32(optarg, 1, MAX_SLOTS, &slots) < 0) {
				fprintf(stderr, "reccheck: --slots must be 1..%u\n", MAX_SLOTS);
				return 2;
			}
			break;
		case 'm':
			if (parse_u32(optarg, 0, UINT32_MAX, &min_seq) < 0) {
				fprintf(stderr, "reccheck: --min-seq must be an unsigned 32-bit number\n");
				return 2;
			}
			have_min = 1;
			break;
		case 'p':
			if (parse_u32(optarg, 1, MAX_SPREAD, &spread) < 0) {
				fprintf(stderr, "reccheck: --spread must be 1..%u\n", MAX_SPREAD);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}

	want = ((size_t)slots + 1 + spread) * SECTOR;
	len = (want + ALIGN - 1) / ALIGN * ALIGN;
	buf = aligned_alloc(ALIGN, len);
	seqs = calloc(slots, sizeof(*seqs));     /* 0 = no valid record */
	bad = calloc(slots, 1);
	if (!buf || !seqs || !bad) {
		fprintf(stderr, "reccheck: out of memory\n");
		return 2;
	}
	if (read_ring(argv[optind], buf, want, len) < 0)
		return 2;

	for (slot = 0; slot < slots; slot++) {
		const char *why = check_record(buf + ((size_t)slot + 1) * SECTOR, slot, slots, &s);

		if (!why) {
			seqs[slot] = s;
			records++;
			if (s > max_seq)
				max_seq = s;
		} else if (strcmp(why, "empty") != 0) {
			bad[slot] = 1;
			if (!corrupt++) {
				first = slot;
				first_why = why;
			}
		}
	}

	/* The last lap: seq max_seq - n for n = 0 .. min(max_seq, slots) - 1.
	 * A corrupt slot is counted once, as corrupt, not again as missing. */
	for (n = 0; n < slots && n < max_seq; n++) {
		static char why[96];

		s = max_seq - n;
		slot = (s - 1) % slots;
		if (seqs[slot] == s || bad[slot])
			continue;
		missing++;
		if (first_why && first < slot)
			continue;
		if (seqs[slot])
			snprintf(why, sizeof(why), "seq %" PRIu32 " missing, stale seq %" PRIu32 " found",
				 s, seqs[slot]);
		else
			snprintf(why, sizeof(why), "seq %" PRIu32 " missing (empty slot)", s);
		first = slot;
		first_why = why;
	}

	/* The copies: a record of the slot its lba field names, not newer than
	 * the ring's newest. */
	for (n = 0; n < spread; n++) {
		const unsigned char *c = buf + ((size_t)slots + 1 + n) * SECTOR;
		uint32_t lba = get32(c + 12);
		/* slot 0's check first: it tells an empty sector apart */
		const char *why = check_record(c, 0, slots, &s);

		if (why && strcmp(why, "empty") == 0)
			continue;
		if (lba >= 1 && lba <= slots)
			why = check_record(c, lba - 1, slots, &s);
		else if (!why || memcmp(c, magic, sizeof(magic)) == 0)
			why = "lba field outside the ring";
		if (!why && s > max_seq)
			why = "seq above the ring's highest (a ring write is missing)";
		if (why) {
			if (!bad_copies++)
				fprintf(stderr, "reccheck: FAIL: first bad copy at lba %zu: %s\n",
					(size_t)slots + 1 + n, why);
		} else {
			copies++;
		}
	}

	printf("reccheck: max_seq=%" PRIu32 " records=%" PRIu32 " corrupt=%" PRIu32
	       " missing=%" PRIu32, max_seq, records, corrupt, missing);
	if (spread)
		printf(" copies=%" PRIu32 " bad_copies=%" PRIu32, copies, bad_copies);
	printf("\n");
	if (first_why)
		fprintf(stderr, "reccheck: FAIL: first bad slot %" PRIu32 " (lba %" PRIu32 "): %s\n",
			first, first + 1, first_why);
	if (records == 0)
		fprintf(stderr, "reccheck: FAIL: no records found\n");
	if (have_min && max_seq < min_seq)
		fprintf(stderr, "reccheck: FAIL: max_seq %" PRIu32 " < --min-seq %" PRIu32
			" (a write the guest saw completed is missing)\n", max_seq, min_seq);
	free(buf);
	free(seqs);
	free(bad);
	return corrupt || missing || bad_copies || records == 0 || (have_min && max_seq < min_seq) ?
	       1 : 0;
}
