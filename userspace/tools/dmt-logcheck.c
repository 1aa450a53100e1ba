// SPDX-License-Identifier: GPL-2.0
/*
 * dmt-logcheck: check dm-tenant's write-intent bitmap invariant on a
 * dm-log-writes log of one leg.
 *
 *   dmt-logcheck [-v] [-q] META_START DATA_START REGION_SIZE REGIONS LOGDEV
 *   dmt-logcheck --selftest
 *
 * All positions are 512-byte sectors of the logged leg: META_START is the
 * start of the leg's metadata area (table: <offset> - metadata), DATA_START
 * its <offset>; REGION_SIZE in sectors, REGIONS the number of regions.
 *
 * The log (drivers/md/dm-log-writes.c): struct log_write_super in sector 0
 * (magic 0x6a736677736872, version 1, nr_entries, sectorsize), then for
 * each entry one sectorsize block holding struct log_write_entry {sector,
 * nr_sectors, flags, data_len} (sector and nr_sectors in sectorsize units;
 * a mark's text follows the entry in the same block), then nr_sectors
 * blocks of data except for discards.
 *
 * The log is replayed in order.  Writes to the bitmap blocks (block b at
 * META_START + 8 + 8 * b, 64-bit little-endian words, bit r = region r)
 * update a copy of the on-leg bitmap, which starts all zero (the leg's
 * metadata area is zero, or was written inside the log, when logging
 * starts).  Every data write or discard in [DATA_START, DATA_START +
 * REGIONS * REGION_SIZE) must find the bit of every region it touches set
 * in that copy; each miss is a violation (entry index, region).  Exit 0:
 * no violation; 1: violations; 2: usage or log format error.
 *
 * Why log order is the right order to check against.  dm-log-writes does
 * not log in submission order: a FUA write is logged when it completes; a
 * plain write when the next flush completes (just before the flush entry);
 * so the log is an order in which the writes became durable, and every
 * prefix of it a possible crash image of the leg.  dm-tenant's protocol:
 *
 *  - Marking.  The bitmap block goes to every leg with REQ_FUA through
 *    dm_io(), which waits for completion, before the first write to a clean
 *    region is issued.  The FUA entry is queued for logging at its
 *    completion, i.e. before the data write even exists, so a correct
 *    kernel always has the setting entry first: no false positive.
 *
 *  - Cleaning.  The cleaner clears a bit only when no write is in flight in
 *    the region (pending count 0), i.e. after every write there completed
 *    on every leg.  If a flush completed in between, the data entries were
 *    logged before the clearing entry: fine.  If not, dm-log-writes still
 *    holds them as unflushed and logs them after the (FUA) clearing entry,
 *    and the checker reports them.  That is not a false positive: until a
 *    flush, the write may be lost from this leg's volatile cache while
 *    another leg kept it, and the durable bitmap already says "clean".
 *    (md writes its bitmap with REQ_PREFLUSH | REQ_FUA for this reason.)
 *    Workloads that flush before going idle cannot trip this.
 *
 *  - Limits.  The log shows completion, never submission: a data write
 *    submitted before its bit was durable but completed after it is not
 *    seen (false negatives are possible, false positives are not).  Only
 *    this leg is logged; the target sends the same writes to every leg.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_FLUSH_FLAG		(1 << 0)
#define LOG_FUA_FLAG		(1 << 1)
#define LOG_DISCARD_FLAG	(1 << 2)
#define LOG_MARK_FLAG		(1 << 3)
#define LOG_METADATA_FLAG	(1 << 4)
#define WRITE_LOG_VERSION	1ULL
#define WRITE_LOG_MAGIC		0x6a736677736872ULL

#define BM_BLOCK_SECTORS	8		/* 4 KiB bitmap blocks */
#define BM_BITS_PER_BLOCK	(4096 * 8)
#define MAX_REPORTED		40

struct params {
	uint64_t meta_start, data_start, region_size, regions;
	bool verbose, quiet;
};

struct stats {
	uint64_t entries, data_writes, bitmap_writes, bitmap_sets, bitmap_clears,
		 clearing_writes, sb_writes, other_writes, flushes, fuas,
		 discards, marks, violations, max_dirty;
};

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static bool bit_test(const unsigned char *bm, uint64_t r)
{
	return bm[r / 8] & (1u << (r % 8));
}

static uint64_t popcount_bits(const unsigned char *bm, uint64_t regions)
{
	uint64_t r, n = 0;

	for (r = 0; r < regions; r++)
		n += bit_test(bm, r);
	return n;
}

static const char *flag_str(uint64_t f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", f & LOG_FLUSH_FLAG ? "FLUSH " : "",
		 f & LOG_FUA_FLAG ? "FUA " : "", f & LOG_DISCARD_FLAG ? "DISCARD " : "",
		 f & LOG_MARK_FLAG ? "MARK " : "", f & LOG_METADATA_FLAG ? "META " : "");
	return buf;
}

/* Replay the log on @fd; returns 0, 1 (violations) or 2 (error). */
static int check_log(int fd, const struct params *p, struct stats *st)
{
	unsigned char super[512], *blk = NULL, *data = NULL, *bm = NULL;
	uint64_t nr_entries, pos, i, nblocks, bm_start, bm_end, data_end;
	uint32_t ss, spb;
	size_t data_cap = 0;
	int ret = 2;

	memset(st, 0, sizeof(*st));
	if (read_at(fd, super, sizeof(super), 0)) {
		fprintf(stderr, "dmt-logcheck: cannot read the log superblock\n");
		return 2;
	}
	if (le64(super) != WRITE_LOG_MAGIC || le64(super + 8) != WRITE_LOG_VERSION) {
		fprintf(stderr, "dmt-logcheck: not a dm-log-writes log (magic %#" PRIx64
			" version %" PRIu64 ")\n", le64(super), le64(super + 8));
		return 2;
	}
	nr_entries = le64(super + 16);
	ss = le32(super + 24);
	if (ss < 512 || ss > 65536 || (ss & (ss - 1))) {
		fprintf(stderr, "dmt-logcheck: bad sectorsize %u\n", ss);
		return 2;
	}
	spb = ss / 512;
	nblocks = (p->regions + BM_BITS_PER_BLOCK - 1) / BM_BITS_PER_BLOCK;
	bm_start = p->meta_start + BM_BLOCK_SECTORS;
	bm_end = bm_start + nblocks * BM_BLOCK_SECTORS;
	data_end = p->data_start + p->regions * p->region_size;
	blk = malloc(ss);
	bm = calloc(nblocks, 4096);
	if (!blk || !bm)
		goto out_oom;

	pos = ss;
	for (i = 0; i < nr_entries; i++) {
		uint64_t sector, nr, flags, s, n, len, r, r0, r1;
		char fb[64];

		if (read_at(fd, blk, ss, pos)) {
			fprintf(stderr, "dmt-logcheck: entry %" PRIu64 " at byte %" PRIu64
				" beyond the end of the log\n", i, pos);
			goto out;
		}
		pos += ss;
		sector = le64(blk);
		nr = le64(blk + 8);
		flags = le64(blk + 16);
		s = sector * spb;
		n = nr * spb;
		st->entries++;
		if (flags & LOG_FLUSH_FLAG)
			st->flushes++;
		if (flags & LOG_FUA_FLAG)
			st->fuas++;
		if (flags & LOG_MARK_FLAG) {
			uint64_t dl = le64(blk + 24);

			st->marks++;
			if (dl > ss - 32)
				dl = ss - 32;
			if (p->verbose)
				printf("%" PRIu64 ": mark \"%.*s\"\n", i, (int)dl,
				       (const char *)blk + 32);
			continue;
		}
		if (flags & LOG_DISCARD_FLAG) {
			st->discards++;
		} else if (n) {
			len = n * 512;
			if (len > data_cap) {
				free(data);
				data = malloc(len);
				data_cap = data ? len : 0;
				if (!data)
					goto out_oom;
			}
			if (read_at(fd, data, len, pos)) {
				fprintf(stderr, "dmt-logcheck: data of entry %" PRIu64
					" beyond the end of the log\n", i);
				goto out;
			}
			pos += len;
		}
		if (p->verbose)
			printf("%" PRIu64 ": sector %" PRIu64 " +%" PRIu64 " %s\n", i, s,
			       n, flag_str(flags, fb, sizeof(fb)));
		if (!n)
			continue;
		/* Superblock of the metadata area. */
		if (s < bm_start && s + n > p->meta_start)
			st->sb_writes++;
		/* Bitmap blocks: update the replayed on-leg bitmap. */
		if (s < bm_end && s + n > bm_start && !(flags & LOG_DISCARD_FLAG)) {
			uint64_t a = s > bm_start ? s : bm_start;
			uint64_t b = s + n < bm_end ? s + n : bm_end;
			uint64_t off, sets = 0, clears = 0;

			for (off = (a - bm_start) * 512; off < (b - bm_start) * 512; off++) {
				unsigned char o = bm[off];
				unsigned char v = data[(bm_start - s) * 512 + off];
				unsigned char keep;

				/* bits beyond the last region are padding */
				if (off * 8 >= p->regions)
					keep = 0;
				else if ((off + 1) * 8 > p->regions)
					keep = (unsigned char)((1u << (p->regions - off * 8)) - 1);
				else
					keep = 0xff;
				sets += (uint64_t)__builtin_popcount((unsigned)(v & ~o & keep));
				clears += (uint64_t)__builtin_popcount((unsigned)(o & ~v & keep));
				bm[off] = v & keep;
			}
			st->bitmap_writes++;
			st->bitmap_sets += sets;
			st->bitmap_clears += clears;
			if (clears)
				st->clearing_writes++;
			if (p->verbose)
				printf("%" PRIu64 ":   bitmap +%" PRIu64 " -%" PRIu64
				       " dirty %" PRIu64 "\n", i, sets, clears,
				       popcount_bits(bm, p->regions));
			if (sets) {
				uint64_t d = popcount_bits(bm, p->regions);

				if (d > st->max_dirty)
					st->max_dirty = d;
			}
		}
		/* Data: every region touched must be dirty on the leg. */
		if (s < data_end && s + n > p->data_start) {
			uint64_t a = s > p->data_start ? s : p->data_start;
			uint64_t b = s + n < data_end ? s + n : data_end;

			st->data_writes++;
			r0 = (a - p->data_start) / p->region_size;
			r1 = (b - 1 - p->data_start) / p->region_size;
			for (r = r0; r <= r1; r++) {
				if (bit_test(bm, r))
					continue;
				st->violations++;
				if (!p->quiet && st->violations <= MAX_REPORTED)
					printf("VIOLATION entry %" PRIu64 ": %s sector %"
					       PRIu64 " +%" PRIu64 " %s-> region %" PRIu64
					       " not marked on the leg\n", i,
					       flags & LOG_DISCARD_FLAG ? "discard" : "write",
					       s, n, flag_str(flags, fb, sizeof(fb)), r);
			}
		}
		if (!(s < data_end && s + n > p->data_start) &&
		    !(s < bm_end && s + n > p->meta_start))
			st->other_writes++;
	}
	ret = st->violations ? 1 : 0;
	goto out;
out_oom:
	fprintf(stderr, "dmt-logcheck: out of memory\n");
out:
	free(blk);
	free(data);
	free(bm);
	return ret;
}

static void print_stats(const struct stats *st)
{
	printf("entries %" PRIu64 " data_writes %" PRIu64 " bitmap_writes %" PRIu64
	       " clearing_bitmap_writes %" PRIu64 " bits_set %" PRIu64
	       " bits_cleared %" PRIu64 " sb_writes %" PRIu64 " other_writes %"
	       PRIu64 " flushes %" PRIu64 " fua %" PRIu64 " discards %" PRIu64
	       " marks %" PRIu64 " max_dirty_regions %" PRIu64 " violations %"
	       PRIu64 "\n", st->entries, st->data_writes, st->bitmap_writes,
	       st->clearing_writes, st->bitmap_sets, st->bitmap_clears,
	       st->sb_writes, st->other_writes, st->flushes, st->fuas,
	       st->discards, st->marks, st->max_dirty, st->violations);
}

/* ---- self test: synthetic logs ---- */

struct synth {
	unsigned char *buf;
	size_t len, cap;
	uint64_t n;
};

static void put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static int synth_grow(struct synth *sy, size_t more)
{
	if (sy->len + more > sy->cap) {
		size_t cap = (sy->len + more) * 2;
		unsigned char *b = realloc(sy->buf, cap);

		if (!b)
			return -1;
		memset(b + sy->cap, 0, cap - sy->cap);
		sy->buf = b;
		sy->cap = cap;
	}
	return 0;
}

/* One entry; @data holds nr * 512 bytes (NULL: zeros). */
static int synth_entry(struct synth *sy, uint64_t sector, uint64_t nr,
		       uint64_t flags, const unsigned char *data)
{
	size_t dl = (flags & LOG_DISCARD_FLAG) ? 0 : nr * 512;

	if (synth_grow(sy, 512 + dl))
		return -1;
	memset(sy->buf + sy->len, 0, 512 + dl);
	put_le64(sy->buf + sy->len, sector);
	put_le64(sy->buf + sy->len + 8, nr);
	put_le64(sy->buf + sy->len + 16, flags);
	sy->len += 512;
	if (dl && data)
		memcpy(sy->buf + sy->len, data, dl);
	sy->len += dl;
	sy->n++;
	return 0;
}

/* A bitmap block write of block 0 with the regions in @mask set. */
static int synth_bitmap(struct synth *sy, uint64_t meta, uint64_t mask)
{
	unsigned char blk[4096] = { 0 };

	put_le64(blk, mask);
	return synth_entry(sy, meta + 8, 8, LOG_FUA_FLAG, blk);
}

static int synth_check(struct synth *sy, const struct params *p,
		       struct stats *st)
{
	char path[] = "/tmp/dmt-logcheck.XXXXXX";
	int fd = mkstemp(path), r = 2;

	if (fd < 0 || synth_grow(sy, 512))
		goto out;
	memset(sy->buf, 0, 512);
	put_le64(sy->buf, WRITE_LOG_MAGIC);
	put_le64(sy->buf + 8, WRITE_LOG_VERSION);
	put_le64(sy->buf + 16, sy->n);
	sy->buf[24] = 0;
	sy->buf[25] = 2;		/* sectorsize 512 */
	if (write(fd, sy->buf, sy->len) != (ssize_t)sy->len)
		goto out;
	r = check_log(fd, p, st);
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return r;
}

static int selftest(void)
{
	/* meta area at 0 (sb 0..7, bitmap block 0 at 8..15), data at 16 */
	struct params p = { .meta_start = 0, .data_start = 16,
			    .region_size = 8, .regions = 4, .quiet = false };
	struct synth good = { .len = 512 }, bad = { .len = 512 },
		     clr = { .len = 512 };
	struct stats st;
	int fails = 0, r;

	if (synth_grow(&good, 0) || synth_grow(&bad, 0) || synth_grow(&clr, 0))
		return 2;
	/* valid: sb, mark r0+r2, writes, flush, clear r0, write r2, set all,
	 * write spanning r1..r3, discard in r3, clear all */
	synth_entry(&good, 0, 8, LOG_FUA_FLAG, NULL);
	synth_bitmap(&good, 0, 0x5);
	synth_entry(&good, 16, 8, 0, NULL);		/* r0 */
	synth_entry(&good, 16 + 2 * 8 + 4, 4, 0, NULL);	/* r2 */
	synth_entry(&good, 0, 0, LOG_FLUSH_FLAG, NULL);
	synth_bitmap(&good, 0, 0x4);
	synth_entry(&good, 16 + 2 * 8, 8, 0, NULL);	/* r2 */
	synth_bitmap(&good, 0, 0xf);
	synth_entry(&good, 16 + 8 + 4, 16, LOG_FUA_FLAG, NULL);	/* r1..r3 */
	synth_entry(&good, 16 + 3 * 8, 8, LOG_DISCARD_FLAG, NULL);
	synth_entry(&good, 0, 0, LOG_FLUSH_FLAG, NULL);
	synth_bitmap(&good, 0, 0);
	synth_entry(&good, 100, 8, 0, NULL);		/* beyond the data */
	r = synth_check(&good, &p, &st);
	print_stats(&st);
	if (r != 0 || st.data_writes != 5 || st.bitmap_writes != 4 ||
	    st.clearing_writes != 2 || st.max_dirty != 4 || st.flushes != 2 ||
	    st.sb_writes != 1 || st.other_writes != 1) {
		printf("selftest: valid log: FAIL (exit %d)\n", r);
		fails++;
	} else {
		printf("selftest: valid log: ok\n");
	}

	/* data write logged before the bitmap write that marks it */
	synth_entry(&bad, 16 + 8, 8, 0, NULL);		/* r1, clean */
	synth_bitmap(&bad, 0, 0x2);
	synth_entry(&bad, 16 + 8, 8, 0, NULL);		/* r1, fine now */
	r = synth_check(&bad, &p, &st);
	print_stats(&st);
	if (r != 1 || st.violations != 1) {
		printf("selftest: write before its bitmap write: FAIL (exit %d)\n", r);
		fails++;
	} else {
		printf("selftest: write before its bitmap write: flagged, ok\n");
	}

	/* unflushed write logged after the cleaner's FUA clear */
	synth_bitmap(&clr, 0, 0x1);
	synth_bitmap(&clr, 0, 0x0);
	synth_entry(&clr, 16, 8, 0, NULL);
	synth_entry(&clr, 0, 0, LOG_FLUSH_FLAG, NULL);
	r = synth_check(&clr, &p, &st);
	print_stats(&st);
	if (r != 1 || st.violations != 1) {
		printf("selftest: write flushed after its region was cleared: FAIL (exit %d)\n", r);
		fails++;
	} else {
		printf("selftest: write flushed after its region was cleared: flagged, ok\n");
	}

	/* wrong region size on the valid log must be caught */
	p.region_size = 4;
	p.regions = 8;
	r = synth_check(&good, &p, &st);
	if (r != 1) {
		printf("selftest: valid log, wrong region size: FAIL (exit %d)\n", r);
		fails++;
	} else {
		printf("selftest: valid log, wrong region size: flagged, ok\n");
	}
	free(good.buf);
	free(bad.buf);
	free(clr.buf);
	printf("selftest: %s\n", fails ? "FAILED" : "passed");
	return fails ? 1 : 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dmt-logcheck [-v] [-q] META_START DATA_START REGION_SIZE REGIONS LOGDEV\n"
		"       dmt-logcheck --selftest\n");
}

int main(int argc, char **argv)
{
	struct params p = { 0 };
	struct stats st;
	int i = 1, fd, r;

	if (argc == 2 && !strcmp(argv[1], "--selftest"))
		return selftest();
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-v"))
			p.verbose = true;
		else if (!strcmp(argv[i], "-q"))
			p.quiet = true;
		else {
			usage();
			return 2;
		}
	}
	if (argc - i != 5 || parse_u64(argv[i], &p.meta_start) ||
	    parse_u64(argv[i + 1], &p.data_start) ||
	    parse_u64(argv[i + 2], &p.region_size) ||
	    parse_u64(argv[i + 3], &p.regions) || !p.region_size || !p.regions ||
	    p.meta_start + BM_BLOCK_SECTORS > p.data_start) {
		usage();
		return 2;
	}
	fd = open(argv[i + 4], O_RDONLY);
	if (fd < 0) {
		perror(argv[i + 4]);
		return 2;
	}
	r = check_log(fd, &p, &st);
	close(fd);
	if (r == 2)
		return 2;
	print_stats(&st);
	if (st.violations > MAX_REPORTED && !p.quiet)
		printf("(%" PRIu64 " violations, first %d shown)\n", st.violations,
		       MAX_REPORTED);
	printf("%s\n", r ? "FAIL: the bitmap does not cover every write" :
	       "OK: every data write found its regions marked on the leg");
	return r;
}
