// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tenant: legs, the write-intent bitmap, leg failure and resync.
 *
 * Every leg of a volume holds the same ciphertext (the target encrypts
 * once).  Metadata lives on every leg, in the "metadata:<sectors>" area
 * right before the leg's data: a superblock (leg states, generation) in
 * the first 4 KiB, then the write-intent bitmap, one bit per region.  Any
 * single surviving leg therefore knows which regions may differ and which
 * legs have failed.
 *
 * The write path sets a region's bit, and waits for it to reach every
 * leg, only on the first write to a clean region; later writes to a dirty
 * region go straight through (a counter per region, no lock).  A worker
 * clears idle regions every few seconds, never while a leg is missing
 * writes, so after a leg failure the bitmap records everything the leg
 * missed.  The clean/write race is closed without a lock: the writer
 * counts itself in, then tests the bit; the cleaner clears the bit, then
 * tests the counter, and puts the bit back if the region is in use.
 * The worker commits the bits of all the writes waiting for it together,
 * each bitmap block written once (group commit), and a sequential writer
 * gets the next seq_lookahead_kb of regions marked with its own; bits are
 * set in memory only once on disk, all under bm->lock.
 *
 * Resync, check and repair run one region at a time in a worker, with
 * dm-kcopyd (throttled by the resync_throttle module parameter) copying
 * the primary leg's ciphertext; writes to the region being copied wait.
 * So do writes to a region whose read error is being healed: the read is
 * answered after the copy.  Discards count into their regions as writes.
 */

#include <linux/crc32.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-tenant.h"

DECLARE_DM_KCOPYD_THROTTLE_WITH_MODULE_PARM(resync_throttle,
					    "Percentage of time resync may use the disks");

static unsigned int seq_lookahead_kb = 8192;
module_param(seq_lookahead_kb, uint, 0644);
MODULE_PARM_DESC(seq_lookahead_kb,
		 "KiB past a sequential writer whose regions are marked dirty with its own (0: off)");

/*
 * A leg write that returned a transient error is sent again after
 * leg_retry_ms, then twice as long each time (at most 32 times as long),
 * leg_retries times, before the leg is failed.  The defaults ride out
 * about 3 s of queue-full or a path switch-over; a leg whose commands
 * time out only after their own long timeout holds its writes that many
 * timeouts longer: lower leg_retries for such disks.
 */
static unsigned int leg_retries = 5;
module_param(leg_retries, uint, 0644);
MODULE_PARM_DESC(leg_retries,
		 "Retries of a leg write that returned a transient error (resource, again, timeout) before the leg is failed (0: fail at once)");

static unsigned int leg_retry_ms = 100;
module_param(leg_retry_ms, uint, 0644);
MODULE_PARM_DESC(leg_retry_ms,
		 "Wait before the first retry of a transient leg write error, in ms; doubled for each further retry, up to 32 times");

#define TENANT_RETRY_MAX_SHIFT	5
#define TENANT_RETRY_MAX_MS	60000UL	/* one wait, whatever the parameter */

#define TENANT_SB_MAGIC		"DMTNTSB1"
#define TENANT_SB_VERSION	1
#define TENANT_BLOCK_SIZE	4096
#define TENANT_BLOCK_SECTORS	(TENANT_BLOCK_SIZE >> SECTOR_SHIFT)
#define TENANT_BITS_PER_BLOCK	(TENANT_BLOCK_SIZE * 8)
#define TENANT_CLEAN_DELAY	(3 * HZ)
#define TENANT_SB_FULL_RECOVER	0x01
#define TENANT_SB_DIVERGED	0x02	/* informational: recomputed at load */

/* On-disk superblock, little endian, in the first block of the area. */
struct tenant_sb {
	u8 magic[8];
	__le32 version;
	__le32 csum;			/* crc32 of the block with csum 0 */
	__le64 event;			/* bumped on every superblock write */
	char tenant[DM_TENANT_ID_MAX + 1];
	char volume[DM_TENANT_ID_MAX + 1];
	__le64 data_sectors;
	__le64 nr_regions;
	__le32 region_size;
	__le32 nr_legs;
	u8 leg_state[DM_TENANT_MAX_LEGS];
	u8 leg_flags[DM_TENANT_MAX_LEGS];
	u8 leg_index;			/* which leg this copy sits on */
	u8 pad[7];
	/* Data generations (tenant-gen.h); zero before they existed. */
	__le64 gen;
	__le64 gen_hist[TENANT_GEN_HIST];
	__le64 leg_gen[DM_TENANT_MAX_LEGS];
} __packed;

/* The bitmap is written as little-endian 64-bit words. */
#ifdef __BIG_ENDIAN
#error "dm-tenant's on-disk bitmap layout assumes a little-endian host"
#endif

bool tenant_mirrored(struct tenant_c *tc)
{
	return tc->nr_legs > 1;
}

static sector_t tenant_meta_start(struct tenant_c *tc, unsigned int i)
{
	return tc->legs[i].start - tc->bm.meta_sectors;
}

static unsigned long tenant_nr_blocks(struct tenant_bitmap *bm)
{
	return DIV_ROUND_UP(bm->nr_regions, TENANT_BITS_PER_BLOCK);
}

/* Write @buf to block @block of the metadata area of the legs in @mask. */
static int tenant_meta_write(struct tenant_c *tc, unsigned long mask,
			     unsigned long block, void *buf, blk_opf_t flags,
			     unsigned long *failed)
{
	struct dm_io_region where[DM_TENANT_MAX_LEGS];
	unsigned int map[DM_TENANT_MAX_LEGS];
	struct dm_io_request req = {
		.bi_opf = REQ_OP_WRITE | REQ_SYNC | REQ_FUA | flags,
		.mem.type = DM_IO_KMEM,
		.mem.ptr.addr = buf,
		.client = tc->io_client,
	};
	unsigned long bits = 0;
	unsigned int i, n = 0;
	int r;

	*failed = 0;
	for_each_set_bit(i, &mask, tc->nr_legs) {
		where[n].bdev = tc->legs[i].dev->bdev;
		where[n].sector = tenant_meta_start(tc, i) +
				  block * TENANT_BLOCK_SECTORS;
		where[n].count = TENANT_BLOCK_SECTORS;
		map[n++] = i;
	}
	if (!n)
		return 0;
	r = dm_io(&req, n, where, &bits, IOPRIO_DEFAULT);
	for (i = 0; i < n; i++)
		if (r && (!bits || test_bit(i, &bits)))
			__set_bit(map[i], failed);
	return 0;
}

static unsigned long tenant_live_mask(struct tenant_c *tc)
{
	unsigned long mask = 0;
	unsigned int i;

	for (i = 0; i < tc->nr_legs; i++)
		if (tc->legs[i].state != TENANT_LEG_DEAD)
			__set_bit(i, &mask);
	return mask;
}

/*
 * Legs that take metadata writes.  Writers wait for bitmap writes, so
 * those never go to an asynchronous remote leg (its bitmap is not read
 * back while a synchronous leg has one: the union of the bitmaps is a
 * superset).  Superblocks go to asynchronous legs only while they
 * stream: a leg behind a cut link must not hold up state changes.
 */
static unsigned long tenant_meta_mask(struct tenant_c *tc, bool sb)
{
	unsigned long mask = tenant_live_mask(tc), i;

	for_each_set_bit(i, &tc->rm.legs, tc->nr_legs)
		if (!sb || tc->legs[i].state != TENANT_LEG_ALIVE)
			__clear_bit(i, &mask);
	return mask;
}

/* Legs holding every acknowledged write: alive and synchronous. */
static unsigned long tenant_insync_mask(struct tenant_c *tc)
{
	unsigned long mask = 0;
	unsigned int i;

	for (i = 0; i < tc->nr_legs; i++)
		if (tc->legs[i].state == TENANT_LEG_ALIVE &&
		    !tenant_leg_async(tc, i))
			__set_bit(i, &mask);
	return mask;
}

/*
 * Of the legs in @failed, those that must not be failed: the legs in sync
 * among them, when no other leg in sync is left.  state_lock held.
 */
static unsigned long tenant_legs_to_keep(struct tenant_c *tc,
					 unsigned long failed)
{
	unsigned long insync = tenant_insync_mask(tc);

	return insync & ~failed ? 0 : insync & failed;
}

/* Pick the primary and the degraded flag; called with state_lock held. */
static void tenant_update_roles(struct tenant_c *tc)
{
	static const enum tenant_leg_class order[] = {
		TENANT_LEG_LOCAL, TENANT_LEG_ZONE, TENANT_LEG_REMOTE };
	unsigned int c, i;
	int primary = -1;
	bool degraded = false;

	for (i = 0; i < tc->nr_legs; i++)
		if (tc->legs[i].state != TENANT_LEG_ALIVE)
			degraded = true;
	/* An asynchronous remote leg lags: never the primary. */
	for (c = 0; c < ARRAY_SIZE(order) && primary < 0; c++)
		for (i = 0; i < tc->nr_legs && primary < 0; i++)
			if (tc->legs[i].cls == order[c] &&
			    tc->legs[i].state == TENANT_LEG_ALIVE &&
			    !tenant_leg_async(tc, i))
				primary = i;
	WRITE_ONCE(tc->degraded, degraded);
	WRITE_ONCE(tc->primary, primary);
}

/* @written: the legs this superblock goes to, which then hold bm.gen. */
static void tenant_sb_fill(struct tenant_c *tc, struct tenant_sb *sb,
			   unsigned int leg, unsigned long written)
{
	unsigned int i;

	memset(sb, 0, TENANT_BLOCK_SIZE);
	memcpy(sb->magic, TENANT_SB_MAGIC, sizeof(sb->magic));
	sb->version = cpu_to_le32(TENANT_SB_VERSION);
	sb->event = cpu_to_le64(tc->bm.event);
	strscpy(sb->tenant, tc->tenant, sizeof(sb->tenant));
	strscpy(sb->volume, tc->volume, sizeof(sb->volume));
	sb->data_sectors = cpu_to_le64(tc->ti->len);
	sb->nr_regions = cpu_to_le64(tc->bm.nr_regions);
	sb->region_size = cpu_to_le32(1U << tc->bm.region_shift);
	sb->nr_legs = cpu_to_le32(tc->nr_legs);
	for (i = 0; i < tc->nr_legs; i++) {
		sb->leg_state[i] = tc->legs[i].state;
		sb->leg_flags[i] = (tc->legs[i].full_recover ?
				    TENANT_SB_FULL_RECOVER : 0) |
				   (tc->legs[i].diverged ? TENANT_SB_DIVERGED : 0);
		sb->leg_gen[i] = cpu_to_le64(test_bit(i, &written) ?
					     tc->bm.gen : tc->bm.disk_gen[i]);
	}
	sb->leg_index = leg;
	sb->gen = cpu_to_le64(tc->bm.gen);
	for (i = 0; i < TENANT_GEN_HIST; i++)
		sb->gen_hist[i] = cpu_to_le64(tc->bm.gen_hist[i]);
	sb->csum = cpu_to_le32(crc32_le(0, (void *)sb, TENANT_BLOCK_SIZE));
}

static void tenant_mark_dead(struct tenant_c *tc, unsigned int i,
			     const char *why)
{
	struct tenant_leg *leg = &tc->legs[i];

	if (leg->state == TENANT_LEG_DEAD)
		return;
	WRITE_ONCE(leg->state, TENANT_LEG_DEAD);
	if (tenant_leg_async(tc, i) && !tc->rm.since[i])
		tc->rm.since[i] = jiffies;	/* oldest write it may miss */
	DMERR("%s/%s: leg %u (%s %s) failed: %s", tc->tenant, tc->volume, i,
	      tenant_leg_class_name(leg->cls), leg->dev->name, why);
}

static u64 tenant_gen_new(void)
{
	u64 gen;

	do
		gen = get_random_u64();
	while (!gen);
	return gen;
}

/*
 * Start a new data generation when the volume goes on without a leg that
 * was in sync as of the current one: from now on that leg (and whatever
 * was assembled from it elsewhere) holds older data, and a later assembly
 * can tell which side is newer (tenant_gen_pick).  Legs that come back
 * into sync join the current generation.  state_lock held.
 */
static void tenant_gen_update(struct tenant_c *tc)
{
	struct tenant_bitmap *bm = &tc->bm;
	unsigned long alive = 0;
	unsigned int i;

	for (i = 0; i < tc->nr_legs; i++)
		if (tc->legs[i].state == TENANT_LEG_ALIVE)
			__set_bit(i, &alive);
	if (bm->gen_legs & ~alive) {
		if (bm->gen_partial)
			memset(bm->gen_hist, 0, sizeof(bm->gen_hist));
		else
			tenant_gen_push(bm->gen_hist, bm->gen);
		bm->gen_partial = false;
		bm->gen = tenant_gen_new();
		DMINFO("%s/%s: new data generation %016llx", tc->tenant,
		       tc->volume, bm->gen);
	}
	bm->gen_legs = alive;
}

/*
 * Write the superblock to every live leg; a leg that cannot take it
 * fails, and the others are written again.  Called with state_lock held.
 */
static int tenant_write_sb_locked(struct tenant_c *tc)
{
	unsigned long mask, failed;
	struct tenant_sb *sb;
	unsigned int i;
	int r = 0;

	tenant_update_roles(tc);
	if (!tc->bm.persistent)
		goto out;

	sb = kmalloc(TENANT_BLOCK_SIZE, GFP_NOIO);
	if (!sb)
		return -ENOMEM;
again:
	tc->bm.event++;
	tenant_gen_update(tc);
	mask = tenant_meta_mask(tc, true);
	failed = 0;
	for_each_set_bit(i, &mask, tc->nr_legs) {
		unsigned long f;

		tenant_sb_fill(tc, sb, i, mask);
		tenant_meta_write(tc, BIT(i), 0, sb, 0, &f);
		if (!f)
			tc->bm.disk_gen[i] = tc->bm.gen;
		failed |= f;
	}
	if (failed) {
		unsigned long keep = tenant_legs_to_keep(tc, failed);

		for_each_set_bit(i, &failed, tc->nr_legs)
			if (!test_bit(i, &keep))
				tenant_mark_dead(tc, i, "superblock write error");
		tenant_update_roles(tc);
		if (!keep && tenant_meta_mask(tc, true))
			goto again;
		r = -EIO;
	}
	kfree(sb);
out:
	dm_table_event(tc->ti->table);
	return r;
}

/*
 * Fail the legs in @failed (they missed a write, or returned an error):
 * all of them, unless that would leave no leg in sync.  Then the legs in
 * sync among them stay, and -EBUSY tells the caller to fail the I/O
 * instead, as md never fails its last working mirror.  An error on every
 * leg at once is more likely a shared fault (controller, path, power)
 * than a dead disk: failing one leg would throw its copy away and gain
 * nothing.  The test and the failure are one step under state_lock, so
 * concurrent callers can never fail the last leg between them.
 */
static int tenant_fail_legs(struct tenant_c *tc, unsigned long failed,
			    const char *why)
{
	unsigned long keep;
	bool changed = false;
	unsigned int i;
	int r = 0;

	mutex_lock(&tc->state_lock);
	keep = tenant_legs_to_keep(tc, failed);
	for_each_set_bit(i, &failed, tc->nr_legs) {
		if (test_bit(i, &keep) ||
		    tc->legs[i].state == TENANT_LEG_DEAD)
			continue;
		tenant_mark_dead(tc, i, why);
		changed = true;
	}
	if (changed)
		r = tenant_write_sb_locked(tc);
	mutex_unlock(&tc->state_lock);
	if (keep) {
		DMERR_LIMIT("%s/%s: %s on legs 0x%lx: %s", tc->tenant,
			    tc->volume, why, keep,
			    "the last in sync, not failed (recover another leg first)");
		return -EBUSY;
	}
	return r;
}

int tenant_fail_leg(struct tenant_c *tc, unsigned int i, const char *why)
{
	return tenant_fail_legs(tc, BIT(i), why);
}

/*
 * Write bitmap block @block as it is in memory, with the regions queued
 * in bm->want (tenant_want_region) also set in the image: their bits are
 * set in memory only once they are on every leg, so no writer takes the
 * fast path before.  @preflush: the write clears bits, so everything the
 * legs completed must be durable first (a region is clean only when its
 * last writes are on stable media).  bm->lock held.
 */
static int tenant_write_bitmap_block(struct tenant_c *tc, unsigned long block,
				     bool preflush)
{
	struct tenant_bitmap *bm = &tc->bm;
	size_t bytes = BITS_TO_LONGS(bm->nr_regions) * sizeof(long);
	size_t off = block * TENANT_BLOCK_SIZE;
	size_t n = min_t(size_t, TENANT_BLOCK_SIZE, bytes - off);
	unsigned long failed, mask;

	if (!bm->persistent)
		return 0;
	memset(bm->block_buf, 0, TENANT_BLOCK_SIZE);
	memcpy(bm->block_buf, (u8 *)bm->bits + off, n);
	bitmap_or(bm->block_buf, bm->block_buf,
		  (unsigned long *)((u8 *)bm->want + off), n * BITS_PER_BYTE);
	for (;;) {
		mask = tenant_meta_mask(tc, false);
		if (!mask)
			return -EIO;
		tenant_meta_write(tc, mask, 1 + block, bm->block_buf,
				  preflush ? REQ_PREFLUSH : 0, &failed);
		if (!failed)
			return 0;
		/* The bit must be on every leg we keep writing to. */
		if (tenant_fail_legs(tc, failed, "bitmap write error") == -EBUSY)
			return -EIO;
	}
}

/* Write the whole bitmap (after bits were set wholesale); bm->lock held. */
static int tenant_write_bitmap(struct tenant_c *tc)
{
	unsigned long blk;
	int r = 0;

	for (blk = 0; blk < tenant_nr_blocks(&tc->bm) && !r; blk++)
		r = tenant_write_bitmap_block(tc, blk, false);
	return r;
}

/*
 * Queue the bit of @region for the next tenant_commit_bits().  A
 * sequential writer (@head: the write starts at the region's first sector,
 * and the region before is dirty) also gets the regions of the next
 * seq_lookahead_kb, so it does not stop for a bitmap write at every
 * region: they are marked recent, so a cleaner pass leaves them to the
 * writer, and cleared as usual once they are idle.  After a crash at most
 * that many more regions are resynced.  bm->lock held.
 */
static void tenant_want_region(struct tenant_c *tc, unsigned long region,
			       bool head)
{
	struct tenant_bitmap *bm = &tc->bm;
	unsigned long r, last;

	if (test_bit(region, bm->bits))
		return;
	__set_bit(region, bm->want);
	if (!head || !region || (!test_bit(region - 1, bm->bits) &&
				 !test_bit(region - 1, bm->want)))
		return;
	last = ((unsigned long)READ_ONCE(seq_lookahead_kb) << 1) >>
	       bm->region_shift;
	last = min(region + last, bm->nr_regions - 1);
	for (r = region + 1; r <= last; r++) {
		if (test_bit(r, bm->bits))
			continue;
		set_bit(r, bm->recent);
		__set_bit(r, bm->want);
	}
}

/*
 * Group commit: write every bitmap block holding a queued bit once, to
 * every leg that takes metadata, then set the queued bits in memory (only
 * those of blocks that reached the legs).  bm->want is empty on return.
 * bm->lock held.
 */
static int tenant_commit_bits(struct tenant_c *tc)
{
	struct tenant_bitmap *bm = &tc->bm;
	unsigned long r, end;
	int err = 0;

	r = find_first_bit(bm->want, bm->nr_regions);
	while (r < bm->nr_regions) {
		end = min(round_down(r, TENANT_BITS_PER_BLOCK) +
			  TENANT_BITS_PER_BLOCK, bm->nr_regions);
		if (!err)
			err = tenant_write_bitmap_block(tc,
							r / TENANT_BITS_PER_BLOCK,
							false);
		for_each_set_bit_from(r, bm->want, end) {
			if (!err)
				set_bit(r, bm->bits);
			__clear_bit(r, bm->want);
		}
		r = find_next_bit(bm->want, bm->nr_regions, end);
	}
	return err;
}

/*
 * Count a write into @region without blocking: 0 when the region's bit is
 * set (the write may go), 1 when the bit must be written first (counted
 * in), -EBUSY when the region is being copied or compared (not counted).
 */
static int tenant_region_enter(struct tenant_c *tc, unsigned long region)
{
	struct tenant_bitmap *bm = &tc->bm;

	atomic_inc(&bm->pending[region]);
	/* Count in before testing: pairs with the barriers of the cleaner
	 * and the sync worker, which change a bit before reading the count.
	 */
	smp_mb__after_atomic();
	if (unlikely(test_bit(region, bm->busy))) {
		tenant_region_end_write(tc, region);
		return -EBUSY;
	}
	if (!test_bit(region, bm->recent))
		set_bit(region, bm->recent);
	return likely(test_bit(region, bm->bits)) ? 0 : 1;
}

/*
 * Count a write into @region; make sure the region's bit is on every live
 * leg first.  Without @can_block (map context: bios we submit there wait
 * on current->bio_list until map returns, so we must not wait for I/O)
 * only the fast path is taken and -EAGAIN asks the caller to defer.
 * Otherwise 0, or -EIO when no leg is left.
 */
int tenant_region_start_write(struct tenant_c *tc, unsigned long region,
			      bool can_block)
{
	struct tenant_bitmap *bm = &tc->bm;
	int r;

again:
	r = tenant_region_enter(tc, region);
	if (likely(!r))
		return 0;
	if (!can_block) {
		if (r > 0)
			tenant_region_end_write(tc, region);
		return -EAGAIN;
	}
	if (r < 0) {
		/* Being copied or compared: wait until it is done. */
		wait_event(bm->wait, !test_bit(region, bm->busy));
		goto again;
	}

	mutex_lock(&bm->lock);
	tenant_want_region(tc, region, false);
	r = tenant_commit_bits(tc);
	mutex_unlock(&bm->lock);
	if (r)
		tenant_region_end_write(tc, region);
	return r;
}

void tenant_region_end_write(struct tenant_c *tc, unsigned long region)
{
	struct tenant_bitmap *bm = &tc->bm;

	if (atomic_dec_and_test(&bm->pending[region]) &&
	    unlikely(test_bit(region, bm->busy)))
		wake_up_all(&bm->wait);
}

/*
 * Clear the bits of regions with no write in flight (and, unless @all,
 * none since the last pass).  Never while a leg misses writes or regions
 * still wait for resync: the bits are then the record of what to copy.
 */
static void tenant_clean_regions(struct tenant_c *tc, bool all)
{
	struct tenant_bitmap *bm = &tc->bm;
	unsigned long r, block, last_block = ULONG_MAX;

	if (READ_ONCE(tc->degraded) || tc->primary < 0 ||
	    !bitmap_empty(bm->resync, bm->nr_regions))
		return;

	mutex_lock(&bm->lock);
	for_each_set_bit(r, bm->bits, bm->nr_regions) {
		if (!all && test_and_clear_bit(r, bm->recent))
			continue;
		clear_bit(r, bm->bits);
		/* Clear before reading the count: pairs with the writer's. */
		smp_mb__after_atomic();
		if (atomic_read(&bm->pending[r]) ||
		    tenant_remote_holds(tc, r)) {
			set_bit(r, bm->bits);
			continue;
		}
		block = r / TENANT_BITS_PER_BLOCK;
		if (block != last_block && last_block != ULONG_MAX)
			tenant_write_bitmap_block(tc, last_block, true);
		last_block = block;
	}
	if (last_block != ULONG_MAX)
		tenant_write_bitmap_block(tc, last_block, true);
	mutex_unlock(&bm->lock);
}

static void tenant_clean_work(struct work_struct *work)
{
	struct tenant_c *tc = container_of(to_delayed_work(work),
					   struct tenant_c, clean_work);

	tenant_clean_regions(tc, false);
	if (!READ_ONCE(tc->sync_stop))
		queue_delayed_work(tc->wq, &tc->clean_work, TENANT_CLEAN_DELAY);
}

/* Take every bio of one of the lists under fail_lock. */
static struct bio_list tenant_take_bios(struct tenant_c *tc,
					struct bio_list *from)
{
	struct bio_list list;

	spin_lock_irq(&tc->fail_lock);
	list = *from;
	bio_list_init(from);
	spin_unlock_irq(&tc->fail_lock);
	return list;
}

/* ---- discards ---- */

static void tenant_range_end_write(struct tenant_c *tc, unsigned long first,
				   unsigned long end)
{
	unsigned long r;

	for (r = first; r < end; r++)
		tenant_region_end_write(tc, r);
}

/*
 * Count a discard (one leg's bio of it) into every region it covers, as
 * a write: the regions' bits are on the legs before any leg drops data,
 * and stay set until every leg's discard is done, so after a crash the
 * legs are resynced where a discard may have reached only some of them.
 * A region being copied is waited for with nothing counted in.  Without
 * @can_block (map context) -EAGAIN asks the caller to defer.
 */
static int tenant_discard_enter(struct tenant_c *tc, struct tenant_io *io,
				bool can_block)
{
	struct tenant_bitmap *bm = &tc->bm;
	unsigned long r, first = io->region, last = io->last_region;
	bool commit;
	int ret;

again:
	commit = false;
	for (r = first; r <= last; r++) {
		ret = tenant_region_enter(tc, r);
		if (ret < 0)
			break;
		if (ret)
			commit = true;
	}
	if (r <= last) {
		tenant_range_end_write(tc, first, r);
		if (!can_block)
			return -EAGAIN;
		wait_event(bm->wait, !test_bit(r, bm->busy));
		goto again;
	}
	if (commit) {
		if (!can_block) {
			tenant_range_end_write(tc, first, last + 1);
			return -EAGAIN;
		}
		mutex_lock(&bm->lock);
		for (r = first; r <= last; r++)
			tenant_want_region(tc, r, false);
		ret = tenant_commit_bits(tc);
		mutex_unlock(&bm->lock);
		if (ret) {
			tenant_range_end_write(tc, first, last + 1);
			return ret;
		}
	}
	io->discard_held = true;
	return 0;
}

/*
 * Map a discard already remapped to its leg, @offset being its target
 * offset: DM_MAPIO_REMAPPED once counted in, else deferred to the write
 * worker (DM_MAPIO_SUBMITTED).
 */
int tenant_map_discard(struct tenant_c *tc, struct bio *bio, sector_t offset)
{
	struct tenant_io *io = dm_per_bio_data(bio, tc->ti->per_io_data_size);

	io->region = offset >> tc->bm.region_shift;
	io->last_region = (offset + bio_sectors(bio) - 1) >> tc->bm.region_shift;
	if (likely(!tenant_discard_enter(tc, io, false)))
		return DM_MAPIO_REMAPPED;
	spin_lock_irq(&tc->fail_lock);
	bio_list_add(&tc->deferred_discards, bio);
	spin_unlock_irq(&tc->fail_lock);
	queue_work(tc->wq, &tc->write_work);
	return DM_MAPIO_SUBMITTED;
}

/* A leg's discard is done (end_io): its regions may be cleaned again. */
void tenant_discard_done(struct tenant_c *tc, struct bio *bio)
{
	struct tenant_io *io = dm_per_bio_data(bio, tc->ti->per_io_data_size);

	if (!io->discard_held)
		return;
	io->discard_held = false;
	tenant_range_end_write(tc, io->region, io->last_region + 1);
}

static void tenant_discard_work(struct tenant_c *tc)
{
	struct bio_list list;
	struct bio *bio;

	list = tenant_take_bios(tc, &tc->deferred_discards);

	while ((bio = bio_list_pop(&list))) {
		struct tenant_io *io = dm_per_bio_data(bio,
						       tc->ti->per_io_data_size);

		if (tenant_discard_enter(tc, io, true)) {
			bio->bi_status = BLK_STS_IOERR;
			bio_endio(bio);
			continue;
		}
		submit_bio_noacct(bio);
	}
}

/* ---- deferred writes ---- */

/* Writes that need the bitmap written first, or wait for a busy region. */
void tenant_defer_write(struct tenant_c *tc, struct bio *bio)
{
	spin_lock_irq(&tc->fail_lock);
	bio_list_add(&tc->deferred_writes, bio);
	spin_unlock_irq(&tc->fail_lock);
	queue_work(tc->wq, &tc->write_work);
}

/*
 * Writes deferred from map: group commit.  Every write of the batch is
 * counted into its region first; the bits of all regions still clean are
 * then written together, each bitmap block once, and the writes released.
 * Writes to a region being copied wait for it afterwards, one by one.
 */
static void tenant_write_work(struct work_struct *work)
{
	struct tenant_c *tc = container_of(work, struct tenant_c, write_work);
	struct tenant_bitmap *bm = &tc->bm;
	struct bio_list list, ready, waiting;
	struct tenant_io *io;
	struct bio *bio;
	bool commit = false, head;
	int r;

	list = tenant_take_bios(tc, &tc->deferred_writes);

	bio_list_init(&ready);
	bio_list_init(&waiting);
	while ((bio = bio_list_pop(&list))) {
		io = dm_per_bio_data(bio, tc->ti->per_io_data_size);
		r = tenant_region_enter(tc, io->region);
		if (r < 0) {
			bio_list_add(&waiting, bio);
			continue;
		}
		if (r)
			commit = true;
		bio_list_add(&ready, bio);
	}

	r = 0;
	if (commit) {
		mutex_lock(&bm->lock);
		bio_list_for_each(bio, &ready) {
			io = dm_per_bio_data(bio, tc->ti->per_io_data_size);
			/* Split at regions: a sequential writer enters at the head. */
			head = !(dm_target_offset(tc->ti, bio->bi_iter.bi_sector) &
				 ((1UL << bm->region_shift) - 1));
			tenant_want_region(tc, io->region, head);
		}
		r = tenant_commit_bits(tc);
		mutex_unlock(&bm->lock);
	}

	while ((bio = bio_list_pop(&ready))) {
		io = dm_per_bio_data(bio, tc->ti->per_io_data_size);
		if (unlikely(r && !test_bit(io->region, bm->bits))) {
			tenant_region_end_write(tc, io->region);
			bio->bi_status = BLK_STS_IOERR;
			bio_endio(bio);
			continue;
		}
		tenant_write_dispatch(tc, io);
	}

	while ((bio = bio_list_pop(&waiting))) {
		io = dm_per_bio_data(bio, tc->ti->per_io_data_size);
		if (tenant_region_start_write(tc, io->region, true)) {
			bio->bi_status = BLK_STS_IOERR;
			bio_endio(bio);
			continue;
		}
		tenant_write_dispatch(tc, io);
	}

	tenant_discard_work(tc);
}

/* ---- reads ---- */

/*
 * The leg a read goes to: the primary for regions waiting for resync
 * (legs may differ there), else spread over the alive legs of the nearest
 * class in 64 KiB chunks.  Lockless; -1 when no leg is alive.
 */
int tenant_read_leg(struct tenant_c *tc, struct bio *bio)
{
	static const enum tenant_leg_class order[] = {
		TENANT_LEG_LOCAL, TENANT_LEG_ZONE, TENANT_LEG_REMOTE };
	sector_t offset = dm_target_offset(tc->ti, bio->bi_iter.bi_sector);
	int primary = READ_ONCE(tc->primary);
	unsigned int c, i, n, cand[DM_TENANT_MAX_LEGS];

	if (!tenant_mirrored(tc))
		return 0;
	if (primary < 0 ||
	    test_bit(offset >> tc->bm.region_shift, tc->bm.resync))
		return primary;
	for (c = 0; c < ARRAY_SIZE(order); c++) {
		n = 0;
		for (i = 0; i < tc->nr_legs; i++)
			if (tc->legs[i].cls == order[c] &&
			    READ_ONCE(tc->legs[i].state) == TENANT_LEG_ALIVE &&
			    !tenant_leg_async(tc, i))
				cand[n++] = i;
		if (n)
			return cand[(offset >> 7) % n];
	}
	return primary;
}

/* ---- failed I/O: handled in process context ---- */

void tenant_defer_failed(struct tenant_c *tc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&tc->fail_lock, flags);
	bio_list_add(&tc->failed_bios, bio);
	spin_unlock_irqrestore(&tc->fail_lock, flags);
	queue_work(tc->wq, &tc->fail_work);
}

static unsigned int tenant_quorum(struct tenant_c *tc)
{
	return tc->min_sync ? tc->min_sync : 1;
}

struct tenant_copy {
	struct completion done;
	int read_err;
	unsigned long write_err;
};

static void tenant_copy_done(int read_err, unsigned long write_err,
			     void *context)
{
	struct tenant_copy *c = context;

	c->read_err = read_err;
	c->write_err = write_err;
	complete(&c->done);
}

/*
 * Legs a read that needed a retry failed on and that still take writes:
 * the ones to heal with the good copy.
 */
static unsigned long tenant_repair_dests(struct tenant_c *tc,
					 struct tenant_io *io)
{
	unsigned long dests = 0;
	unsigned int i;

	for_each_set_bit(i, &io->tried_legs, tc->nr_legs)
		if (READ_ONCE(tc->legs[i].state) != TENANT_LEG_DEAD)
			__set_bit(i, &dests);
	return dests;
}

/*
 * Copy the range of a read that needed a retry from leg @good over the
 * legs that failed it.  The region is held busy (new writes wait) and the
 * writes in flight drain first, as md raid1 freezes the array around
 * fix_read_error: a write landing between the copy's read and its write
 * would otherwise be overwritten on the healed legs only.
 */
static void tenant_repair_range(struct tenant_c *tc, struct tenant_io *io,
				int good)
{
	struct tenant_bitmap *bm = &tc->bm;
	struct dm_io_region from, to[DM_TENANT_MAX_LEGS];
	sector_t offset = dm_target_offset(tc->ti, io->orig_iter.bi_sector);
	sector_t count = io->orig_iter.bi_size >> SECTOR_SHIFT;
	unsigned long region = offset >> bm->region_shift, dests;
	struct tenant_copy c;
	unsigned int i, n = 0;

	wait_event(bm->wait, !test_and_set_bit(region, bm->busy));
	/* Mark before reading the count: pairs with the writer's. */
	smp_mb__after_atomic();
	wait_event(bm->wait, !atomic_read(&bm->pending[region]));

	dests = tenant_repair_dests(tc, io);
	for_each_set_bit(i, &dests, tc->nr_legs) {
		to[n].bdev = tc->legs[i].dev->bdev;
		to[n].sector = tc->legs[i].start + offset;
		to[n++].count = count;
	}
	if (n && READ_ONCE(tc->legs[good].state) != TENANT_LEG_DEAD) {
		from.bdev = tc->legs[good].dev->bdev;
		from.sector = tc->legs[good].start + offset;
		from.count = count;
		init_completion(&c.done);
		dm_kcopyd_copy(tc->kcopyd, &from, n, to, 0, tenant_copy_done,
			       &c);
		wait_for_completion(&c.done);
		if (c.read_err || c.write_err)
			DMWARN("%s/%s: rewriting a bad range failed", tc->tenant,
			       tc->volume);
	}

	clear_bit(region, bm->busy);
	/* Waiters test the bit after waking. */
	smp_mb__after_atomic();
	wake_up_all(&bm->wait);
}

/*
 * Reads whose retry worked wait here for their repair, then decrypt.  Not
 * in fail_work: a repair waits for the region's writes, and a write that
 * failed on a leg finishes in fail_work.
 */
static void tenant_repair_work(struct work_struct *work)
{
	struct tenant_c *tc = container_of(work, struct tenant_c, repair_work);
	struct bio_list list;
	struct bio *bio;

	list = tenant_take_bios(tc, &tc->repair_bios);

	while ((bio = bio_list_pop(&list))) {
		struct tenant_io *io = bio->bi_private;

		tenant_repair_range(tc, io, io->read_leg);
		tenant_read_decrypt_now(io);
	}
}

static void tenant_failed_read(struct tenant_c *tc, struct bio *bio,
			       struct tenant_io *io)
{
	unsigned int i;

	if (!bio->bi_status) {
		/* A retry worked: heal the legs that failed, then decrypt. */
		if (!tenant_repair_dests(tc, io)) {
			tenant_read_decrypt_now(io);
			return;
		}
		spin_lock_irq(&tc->fail_lock);
		bio_list_add(&tc->repair_bios, bio);
		spin_unlock_irq(&tc->fail_lock);
		queue_work(tc->wq, &tc->repair_work);
		return;
	}
	__set_bit(io->read_leg, &io->tried_legs);
	atomic64_inc(&tc->legs[io->read_leg].read_errors);
	for (i = 0; i < tc->nr_legs; i++) {
		if (test_bit(i, &io->tried_legs) ||
		    READ_ONCE(tc->legs[i].state) != TENANT_LEG_ALIVE ||
		    tenant_leg_async(tc, i))	/* lags: never read */
			continue;
		DMWARN_LIMIT("%s/%s: read error on leg %u, retrying on leg %u",
			     tc->tenant, tc->volume, io->read_leg, i);
		tenant_read_resubmit(tc, bio, i);
		return;
	}
	/* No copy left: the read fails. */
	io->status = bio->bi_status;
	tenant_read_decrypt_now(io);
}

/* Arm retry_work for @due, unless it runs earlier anyway.  fail_lock held. */
static void tenant_arm_retry(struct tenant_c *tc, unsigned long due)
{
	if (tc->retry_armed && !time_before(due, tc->retry_next))
		return;
	tc->retry_armed = true;
	tc->retry_next = due;
	mod_delayed_work(tc->wq, &tc->retry_work,
			 time_after(due, jiffies) ? due - jiffies : 0);
}

/* Retry the legs of @io that returned a transient error, after a pause. */
static void tenant_queue_retry(struct tenant_c *tc, struct tenant_io *io)
{
	unsigned long ms = (unsigned long)READ_ONCE(leg_retry_ms) <<
			   min_t(unsigned int, io->retries, TENANT_RETRY_MAX_SHIFT);

	ms = min(ms, TENANT_RETRY_MAX_MS);

	io->retries++;
	io->retry_at = jiffies + msecs_to_jiffies(ms);
	DMWARN_LIMIT("%s/%s: transient write error on legs 0x%lx, retry %u in %lu ms",
		     tc->tenant, tc->volume, io->retry_legs, io->retries, ms);
	spin_lock_irq(&tc->fail_lock);
	bio_list_add(&tc->retry_bios, io->bio);
	tenant_arm_retry(tc, io->retry_at);
	spin_unlock_irq(&tc->fail_lock);
}

/* Writes whose retry is due go to their legs again; the others wait. */
static void tenant_retry_work(struct work_struct *work)
{
	struct tenant_c *tc = container_of(to_delayed_work(work),
					   struct tenant_c, retry_work);
	struct bio_list list, due;
	struct tenant_io *io;
	struct bio *bio;

	bio_list_init(&due);
	spin_lock_irq(&tc->fail_lock);
	tc->retry_armed = false;
	list = tc->retry_bios;
	bio_list_init(&tc->retry_bios);
	while ((bio = bio_list_pop(&list))) {
		io = dm_per_bio_data(bio, tc->ti->per_io_data_size);
		if (time_before(jiffies, io->retry_at)) {
			bio_list_add(&tc->retry_bios, bio);
			tenant_arm_retry(tc, io->retry_at);
		} else {
			bio_list_add(&due, bio);
		}
	}
	spin_unlock_irq(&tc->fail_lock);

	while ((bio = bio_list_pop(&due)))
		tenant_write_retry(tc, dm_per_bio_data(bio,
						       tc->ti->per_io_data_size));
}

/*
 * A write that some legs did not take.  Transient errors are retried
 * first (tenant_queue_retry); then the legs that still miss it are
 * failed, except the last in sync: the write fails instead, and its
 * region, whose bit is set, waits for resync (read from the primary until
 * then, kept dirty on disk: the cleaner does not run while any region
 * waits).
 */
static void tenant_failed_write(struct tenant_c *tc, struct tenant_io *io)
{
	unsigned int good;

	if (io->retry_legs) {
		if (io->retries < READ_ONCE(leg_retries)) {
			tenant_queue_retry(tc, io);
			return;
		}
		io->failed_legs |= io->retry_legs;
		io->retry_legs = 0;
	}
	if (io->failed_legs &&
	    tenant_fail_legs(tc, io->failed_legs, "write error") == -EBUSY) {
		set_bit(io->region, tc->bm.resync);
		io->status = BLK_STS_IOERR;
		dm_table_event(tc->ti->table);
	}
	good = hweight_long(io->sent_legs & ~io->failed_legs);
	if (good < tenant_quorum(tc))
		io->status = BLK_STS_IOERR;
	tenant_write_finish(io);
}

/*
 * A leg failed a flush: fail the leg, then answer for the others.  The
 * last leg in sync is not failed: the flush fails.
 */
static void tenant_failed_flush(struct tenant_c *tc, struct bio *bio,
				struct tenant_io *io)
{
	if (tenant_fail_leg(tc, io->read_leg, "flush error") != -EBUSY &&
	    READ_ONCE(tc->primary) >= 0)
		bio->bi_status = BLK_STS_OK;
	io->flush_done = true;
	bio_endio(bio);
}

static void tenant_fail_work(struct work_struct *work)
{
	struct tenant_c *tc = container_of(work, struct tenant_c, fail_work);
	struct bio_list list;
	struct bio *bio;

	list = tenant_take_bios(tc, &tc->failed_bios);

	while ((bio = bio_list_pop(&list))) {
		struct tenant_io *io = dm_per_bio_data(bio,
						       tc->ti->per_io_data_size);

		if (io->flush)
			tenant_failed_flush(tc, bio, io);
		else if (io->write)
			tenant_failed_write(tc, io);
		else
			tenant_failed_read(tc, bio, io);
	}
}

/* ---- resync, check, repair ---- */

void tenant_region_range(struct tenant_c *tc, unsigned long r,
			 sector_t *start, sector_t *len)
{
	*start = (sector_t)r << tc->bm.region_shift;
	*len = min_t(sector_t, 1ULL << tc->bm.region_shift,
		     tc->ti->len - *start);
}

/* Copy region @r from the primary to the legs in @dests. */
static int tenant_copy_region(struct tenant_c *tc, unsigned long r,
			      unsigned long dests)
{
	struct dm_io_region from, to[DM_TENANT_MAX_LEGS];
	unsigned int map[DM_TENANT_MAX_LEGS];
	struct tenant_copy c;
	sector_t start, len;
	unsigned int i, n = 0;
	int primary = tc->primary;

	if (primary < 0)
		return -EIO;
	tenant_region_range(tc, r, &start, &len);
	from.bdev = tc->legs[primary].dev->bdev;
	from.sector = tc->legs[primary].start + start;
	from.count = len;
	for_each_set_bit(i, &dests, tc->nr_legs) {
		if (i == primary)
			continue;
		to[n].bdev = tc->legs[i].dev->bdev;
		to[n].sector = tc->legs[i].start + start;
		to[n].count = len;
		map[n++] = i;
	}
	if (!n)
		return 0;

	init_completion(&c.done);
	dm_kcopyd_copy(tc->kcopyd, &from, n, to, 0, tenant_copy_done, &c);
	wait_for_completion(&c.done);
	if (c.read_err)
		return tenant_fail_leg(tc, primary, "read error during resync") ==
		       -EBUSY ? -EIO : -EAGAIN;
	for (i = 0; i < n; i++)
		if (test_bit(i, &c.write_err))
			tenant_fail_leg(tc, map[i], "write error during resync");
	return 0;
}

int tenant_read_region(struct tenant_c *tc, unsigned int leg,
		       unsigned long r, void *buf)
{
	struct dm_io_request req = {
		.bi_opf = REQ_OP_READ,
		.mem.type = DM_IO_VMA,
		.mem.ptr.vma = buf,
		.client = tc->io_client,
	};
	struct dm_io_region where;
	sector_t start, len;

	tenant_region_range(tc, r, &start, &len);
	where.bdev = tc->legs[leg].dev->bdev;
	where.sector = tc->legs[leg].start + start;
	where.count = len;
	return dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT);
}

/* Compare region @r of every alive leg with the primary's. */
static int tenant_check_region(struct tenant_c *tc, unsigned long r,
			       void *a, void *b, bool repair)
{
	sector_t start, len;
	unsigned long bad = 0;
	int primary = tc->primary;
	unsigned int i;

	if (primary < 0)
		return -EIO;
	tenant_region_range(tc, r, &start, &len);
	if (tenant_read_region(tc, primary, r, a))
		return tenant_fail_leg(tc, primary, "read error during check") ==
		       -EBUSY ? -EIO : -EAGAIN;
	for (i = 0; i < tc->nr_legs; i++) {
		if (i == primary || tc->legs[i].state != TENANT_LEG_ALIVE ||
		    tenant_leg_async(tc, i))
			continue;
		if (tenant_read_region(tc, i, r, b)) {
			tenant_fail_leg(tc, i, "read error during check");
			continue;
		}
		if (memcmp(a, b, len << SECTOR_SHIFT))
			__set_bit(i, &bad);
	}
	if (bad) {
		atomic64_inc(&tc->mismatches);
		DMWARN_LIMIT("%s/%s: region %lu differs on legs 0x%lx", tc->tenant,
			     tc->volume, r, bad);
		if (repair)
			return tenant_copy_region(tc, r, bad);
	}
	return 0;
}

/*
 * Legs that receive resync copies: every live leg but the asynchronous
 * remote ones, which catch up on their own (dm-tenant-remote.c).
 */
static unsigned long tenant_sync_dests(struct tenant_c *tc)
{
	return tenant_live_mask(tc) & ~tc->rm.legs;
}

/* All out-of-sync regions copied: legs that were behind are in sync. */
static void tenant_resync_finished(struct tenant_c *tc)
{
	unsigned int i;
	bool changed = false;

	mutex_lock(&tc->state_lock);
	for (i = 0; i < tc->nr_legs; i++) {
		if (tc->legs[i].state == TENANT_LEG_BEHIND &&
		    !tenant_leg_async(tc, i)) {
			tc->legs[i].state = TENANT_LEG_ALIVE;
			tc->legs[i].full_recover = false;
			DMINFO("%s/%s: leg %u in sync", tc->tenant, tc->volume,
			       i);
			changed = true;
		}
	}
	if (changed)
		tenant_write_sb_locked(tc);
	else
		dm_table_event(tc->ti->table);
	mutex_unlock(&tc->state_lock);
}

/*
 * A region copied to @dests is in sync unless a leg was recovered while
 * the copy ran ("leg <i> recover" adds its regions to @resync and makes it
 * a destination under state_lock): then the region is copied again, to
 * the newcomer too, instead of being marked done behind its back.
 */
static bool tenant_resync_region_done(struct tenant_c *tc, unsigned long r,
				      unsigned long dests)
{
	bool done;

	mutex_lock(&tc->state_lock);
	done = !(tenant_sync_dests(tc) & ~dests);
	if (done)
		clear_bit(r, tc->bm.resync);
	mutex_unlock(&tc->state_lock);
	return done;
}

static void tenant_sync_work(struct work_struct *work)
{
	struct tenant_c *tc = container_of(work, struct tenant_c, sync_work);
	struct tenant_bitmap *bm = &tc->bm;
	void *a = NULL, *b = NULL;
	size_t bytes = (1UL << bm->region_shift) << SECTOR_SHIFT;
	enum tenant_sync_action action = READ_ONCE(tc->action);
	unsigned long r, dests;
	bool stopped = false;
	int ret;

	if (action == TENANT_SYNC_CHECK || action == TENANT_SYNC_REPAIR) {
		a = vmalloc(bytes);
		b = vmalloc(bytes);
		if (!a || !b) {
			DMERR("%s/%s: no memory for check", tc->tenant,
			      tc->volume);
			WRITE_ONCE(tc->action, TENANT_SYNC_IDLE);
			goto out;
		}
	}

	while (!READ_ONCE(tc->sync_stop) && tc->primary >= 0) {
		if (action == TENANT_SYNC_RESYNC) {
			r = find_first_bit(bm->resync, bm->nr_regions);
			if (r >= bm->nr_regions)
				break;
		} else {
			r = tc->sync_done;
			if (r >= bm->nr_regions)
				break;
		}

		/*
		 * Quiesce the region: new writes wait, in-flight drain.  The
		 * remote catch-up may hold it busy too: take it in turn.
		 */
		wait_event(bm->wait, !test_and_set_bit(r, bm->busy));
		/* Mark before reading the count: pairs with the writer's. */
		smp_mb__after_atomic();
		wait_event(bm->wait, !atomic_read(&bm->pending[r]) &&
			   !(tc->rm.async &&
			     atomic_read(&tc->rm.rpending[r])));

		dests = tenant_sync_dests(tc);
		if (action == TENANT_SYNC_RESYNC)
			ret = tenant_copy_region(tc, r, dests);
		else
			ret = tenant_check_region(tc, r, a, b,
						  action == TENANT_SYNC_REPAIR);

		clear_bit(r, bm->busy);
		/* Waiters test the bit after waking. */
		smp_mb__after_atomic();
		wake_up_all(&bm->wait);
		if (ret == -EAGAIN)
			continue;	/* new primary: same region again */
		if (ret == -EIO) {
			/* The last leg in sync cannot be read: stop here. */
			DMERR("%s/%s: %s stopped at region %lu: read error on the last leg in sync",
			      tc->tenant, tc->volume,
			      tenant_sync_action_name(tc), r);
			stopped = true;
			break;
		}
		if (action == TENANT_SYNC_RESYNC &&
		    !tenant_resync_region_done(tc, r, dests))
			continue;	/* a leg joined during the copy */
		tc->sync_done++;
		cond_resched();
	}

	if (READ_ONCE(tc->sync_stop))
		goto out;
	if (stopped) {
		dm_table_event(tc->ti->table);
	} else if (tc->primary < 0) {
		DMERR("%s/%s: no leg left to copy from", tc->tenant, tc->volume);
	} else if (action == TENANT_SYNC_RESYNC) {
		tenant_resync_finished(tc);
	} else {
		DMINFO("%s/%s: %s finished, %lld mismatched regions", tc->tenant,
		       tc->volume, action == TENANT_SYNC_CHECK ? "check" : "repair",
		       (long long)atomic64_read(&tc->mismatches));
		dm_table_event(tc->ti->table);
	}
	WRITE_ONCE(tc->action, TENANT_SYNC_IDLE);
out:
	vfree(a);
	vfree(b);
}

/* Start a background action (message context, state_lock not held). */
int tenant_start_sync(struct tenant_c *tc, enum tenant_sync_action action)
{
	struct tenant_bitmap *bm = &tc->bm;
	int r = 0;

	if (!tenant_mirrored(tc))
		return -EINVAL;
	/*
	 * Lock order: bm->lock, then state_lock.  Bitmap writes may fail
	 * legs, which takes state_lock: never write the bitmap under it.
	 */
	mutex_lock(&bm->lock);
	mutex_lock(&tc->state_lock);
	if (READ_ONCE(tc->action) != TENANT_SYNC_IDLE ||
	    work_pending(&tc->sync_work)) {
		r = -EBUSY;
		goto out;
	}
	switch (action) {
	case TENANT_SYNC_RESYNC:
		/* resync: everything, or the regions already out of sync */
		if (bitmap_empty(bm->resync, bm->nr_regions)) {
			bitmap_fill(bm->bits, bm->nr_regions);
			bitmap_fill(bm->resync, bm->nr_regions);
			/*
			 * A crash must not forget what is left to copy.  A
			 * bitmap write error fails the leg, which takes
			 * state_lock: write without it.  bm->lock keeps
			 * every other action from starting meanwhile.
			 */
			mutex_unlock(&tc->state_lock);
			r = tenant_write_bitmap(tc);
			mutex_lock(&tc->state_lock);
			if (r)
				goto out;
		}
		tc->sync_total = bitmap_weight(bm->resync, bm->nr_regions);
		break;
	case TENANT_SYNC_CHECK:
	case TENANT_SYNC_REPAIR:
		if (tc->degraded) {
			r = -EBUSY;	/* compare only legs in sync */
			goto out;
		}
		atomic64_set(&tc->mismatches, 0);
		tc->sync_total = bm->nr_regions;
		break;
	default:
		r = -EINVAL;
		goto out;
	}
	tc->sync_done = 0;
	WRITE_ONCE(tc->action, action);
	if (!tc->sync_stop)
		queue_work(tc->wq, &tc->sync_work);
	dm_table_event(tc->ti->table);
out:
	mutex_unlock(&tc->state_lock);
	mutex_unlock(&bm->lock);
	return r;
}

/* leg <i> recover: a failed leg takes writes again and is caught up. */
int tenant_recover_leg(struct tenant_c *tc, unsigned int i)
{
	struct tenant_bitmap *bm = &tc->bm;
	struct tenant_leg *leg = &tc->legs[i];
	int r = 0;

	mutex_lock(&bm->lock);
	mutex_lock(&tc->state_lock);
	if (leg->state != TENANT_LEG_DEAD) {
		r = -EINVAL;
		goto out;
	}
	if (tc->primary < 0) {
		r = -EIO;
		goto out;
	}
	/*
	 * Every region it may have missed; all of them if it is unknown.
	 * The bitmap is written without state_lock (a write error fails a
	 * leg, which takes it); bm->lock keeps other recovers and actions
	 * out, and a failure meanwhile only makes another leg dead.
	 */
	if (leg->full_recover) {
		bitmap_fill(bm->bits, bm->nr_regions);
		mutex_unlock(&tc->state_lock);
		r = tenant_write_bitmap(tc);
		mutex_lock(&tc->state_lock);
		if (r)
			goto out;
		if (leg->state != TENANT_LEG_DEAD || tc->primary < 0) {
			r = tc->primary < 0 ? -EIO : -EINVAL;
			goto out;
		}
	}
	bitmap_or(bm->resync, bm->resync, bm->bits, bm->nr_regions);
	WRITE_ONCE(leg->state, TENANT_LEG_BEHIND);
	DMINFO("%s/%s: leg %u recovering, %u regions to copy", tc->tenant,
	       tc->volume, i, bitmap_weight(bm->resync, bm->nr_regions));
	r = tenant_write_sb_locked(tc);
	if (r)
		goto out;
	if (READ_ONCE(tc->action) == TENANT_SYNC_IDLE) {
		tc->sync_done = 0;
		tc->sync_total = bitmap_weight(bm->resync, bm->nr_regions);
		WRITE_ONCE(tc->action, TENANT_SYNC_RESYNC);
		if (!tc->sync_stop)
			queue_work(tc->wq, &tc->sync_work);
	} else if (tc->action == TENANT_SYNC_RESYNC) {
		tc->sync_total = tc->sync_done +
			bitmap_weight(bm->resync, bm->nr_regions);
	} else {
		r = -EBUSY;	/* check/repair running: recover after it */
		WRITE_ONCE(leg->state, TENANT_LEG_DEAD);
		tenant_write_sb_locked(tc);
	}
out:
	mutex_unlock(&tc->state_lock);
	mutex_unlock(&bm->lock);
	return r;
}

/* Every region dirty, on disk too (a leg of unknown contents returns). */
int tenant_mark_all_dirty(struct tenant_c *tc)
{
	int r;

	mutex_lock(&tc->bm.lock);
	bitmap_fill(tc->bm.bits, tc->bm.nr_regions);
	r = tenant_write_bitmap(tc);
	mutex_unlock(&tc->bm.lock);
	return r;
}

/*
 * Set leg @i's state and write the superblock (process context).  A
 * failed leg changes only if @revive (leg <i> recover).
 */
int tenant_set_leg_state(struct tenant_c *tc, unsigned int i, char state,
			 bool revive)
{
	int r = 0;

	mutex_lock(&tc->state_lock);
	if ((revive || tc->legs[i].state != TENANT_LEG_DEAD) &&
	    tc->legs[i].state != state) {
		WRITE_ONCE(tc->legs[i].state, state);
		r = tenant_write_sb_locked(tc);
	}
	mutex_unlock(&tc->state_lock);
	return r;
}

const char *tenant_sync_action_name(struct tenant_c *tc)
{
	unsigned int i;

	switch (READ_ONCE(tc->action)) {
	case TENANT_SYNC_RESYNC:
		for (i = 0; i < tc->nr_legs; i++)
			if (READ_ONCE(tc->legs[i].state) == TENANT_LEG_BEHIND &&
			    !tenant_leg_async(tc, i))
				return "recover";
		return "resync";
	case TENANT_SYNC_CHECK:
		return "check";
	case TENANT_SYNC_REPAIR:
		return "repair";
	default:
		return "idle";
	}
}

unsigned long tenant_regions_in_sync(struct tenant_c *tc)
{
	return tc->bm.nr_regions - bitmap_weight(tc->bm.resync,
						 tc->bm.nr_regions);
}

/* ---- assembly ---- */

static bool tenant_sb_ok(struct tenant_c *tc, struct tenant_sb *sb)
{
	u32 csum = le32_to_cpu(sb->csum);

	sb->csum = 0;
	if (crc32_le(0, (void *)sb, TENANT_BLOCK_SIZE) != csum)
		return false;
	sb->csum = cpu_to_le32(csum);
	return !memcmp(sb->magic, TENANT_SB_MAGIC, sizeof(sb->magic)) &&
	       le32_to_cpu(sb->version) == TENANT_SB_VERSION &&
	       !strcmp(sb->tenant, tc->tenant) &&
	       !strcmp(sb->volume, tc->volume);
}

static int tenant_read_meta_block(struct tenant_c *tc, unsigned int i,
				  unsigned long block, void *buf)
{
	struct dm_io_request req = {
		.bi_opf = REQ_OP_READ,
		.mem.type = DM_IO_KMEM,
		.mem.ptr.addr = buf,
		.client = tc->io_client,
	};
	struct dm_io_region where = {
		.bdev = tc->legs[i].dev->bdev,
		.sector = tenant_meta_start(tc, i) + block * TENANT_BLOCK_SECTORS,
		.count = TENANT_BLOCK_SECTORS,
	};

	return dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT);
}

static void tenant_gen_from_sb(struct tenant_c *tc, const struct tenant_sb *sb,
			       struct tenant_gen_sb *g)
{
	unsigned int k;

	g->valid = true;
	g->same_geometry =
		le64_to_cpu(sb->nr_regions) == tc->bm.nr_regions &&
		le32_to_cpu(sb->region_size) == 1U << tc->bm.region_shift &&
		le32_to_cpu(sb->nr_legs) == tc->nr_legs;
	g->event = le64_to_cpu(sb->event);
	g->gen = le64_to_cpu(sb->gen);
	for (k = 0; k < TENANT_GEN_HIST; k++)
		g->hist[k] = le64_to_cpu(sb->gen_hist[k]);
	for (k = 0; k < DM_TENANT_MAX_LEGS; k++) {
		g->leg_state[k] = sb->leg_state[k];
		g->leg_gen[k] = le64_to_cpu(sb->leg_gen[k]);
	}
}

/*
 * Read every leg's superblock and bitmap (first resume).  The authority
 * superblock (tenant_gen_pick: the newest generation, the newest write
 * within it) gives the leg states; the bitmaps of the legs in service are
 * OR'ed into the regions to resync.  Legs without our superblock are
 * unknown: new volumes start with a full sync (unless nosync), a blank leg
 * in an existing volume is failed until "leg <i> recover" copies it all.
 * A leg of an older generation the bitmap does not cover is failed the
 * same way; a leg written apart from the authority (split brain) too, and
 * only "leg <i> recover force" may overwrite it.
 */
static int tenant_load_meta(struct tenant_c *tc)
{
	struct tenant_bitmap *bm = &tc->bm;
	struct tenant_sb *sb, *best;
	void *sbs;
	struct tenant_gen_sb *gens;
	enum tenant_gen_verdict verdict[DM_TENANT_MAX_LEGS];
	unsigned long nblocks = tenant_nr_blocks(bm), blk;
	size_t bytes = BITS_TO_LONGS(bm->nr_regions) * sizeof(long);
	unsigned int i;
	bool geometry_changed = false;
	u64 max_event = 0;
	int a, r = -ENOMEM;

	sb = kmalloc(TENANT_BLOCK_SIZE, GFP_KERNEL);
	sbs = kvmalloc_array(tc->nr_legs, TENANT_BLOCK_SIZE, GFP_KERNEL);
	gens = kcalloc(tc->nr_legs, sizeof(*gens), GFP_KERNEL);
	if (!sb || !sbs || !gens)
		goto out;

	for (i = 0; i < tc->nr_legs; i++) {
		struct tenant_sb *leg_sb = sbs + i * TENANT_BLOCK_SIZE;

		tc->legs[i].sb_valid = false;
		if (tenant_read_meta_block(tc, i, 0, leg_sb)) {
			tenant_mark_dead(tc, i, "superblock read error");
			tc->legs[i].full_recover = true;
			continue;
		}
		if (!tenant_sb_ok(tc, leg_sb))
			continue;
		tc->legs[i].sb_valid = true;
		tenant_gen_from_sb(tc, leg_sb, &gens[i]);
		bm->disk_gen[i] = gens[i].gen;
		max_event = max(max_event, gens[i].event);
	}
	a = tenant_gen_pick(gens, tc->nr_legs, verdict);

	if (a < 0) {
		/* A new volume. */
		DMINFO("%s/%s: new metadata, %s", tc->tenant, tc->volume,
		       tc->nosync ? "legs taken as in sync (nosync)" :
				    "full initial sync");
		bm->gen = tenant_gen_new();
		bm->gen_legs = 0;
		if (!tc->nosync) {
			bitmap_fill(bm->bits, bm->nr_regions);
			bitmap_fill(bm->resync, bm->nr_regions);
		}
	} else {
		best = sbs + a * TENANT_BLOCK_SIZE;
		bm->event = max_event;
		bm->gen = gens[a].gen;
		memcpy(bm->gen_hist, gens[a].hist, sizeof(bm->gen_hist));
		geometry_changed = !gens[a].same_geometry;
		bm->gen_legs = 0;
		if (geometry_changed) {
			/*
			 * Assembled from other legs than it was written
			 * with (a failover): a new generation, descending
			 * from the old one only if this copy was in sync.
			 */
			bm->gen_legs = ~0UL;
			bm->gen_partial = best->leg_index >= DM_TENANT_MAX_LEGS ||
				best->leg_state[best->leg_index] != TENANT_LEG_ALIVE;
		} else {
			for (i = 0; i < tc->nr_legs; i++)
				if (best->leg_state[i] == TENANT_LEG_ALIVE)
					__set_bit(i, &bm->gen_legs);
		}
		for (i = 0; i < tc->nr_legs; i++) {
			struct tenant_leg *leg = &tc->legs[i];
			u8 st = geometry_changed ? TENANT_LEG_ALIVE :
						   best->leg_state[i];

			if (leg->state == TENANT_LEG_DEAD)
				continue;	/* unreadable just now */
			switch (verdict[i]) {
			case TENANT_GEN_NONE:
				tenant_mark_dead(tc, i,
						 "no dm-tenant metadata on this leg");
				leg->full_recover = true;
				continue;
			case TENANT_GEN_STALE:
				tenant_mark_dead(tc, i,
						 "it holds an older generation of the volume");
				leg->full_recover = true;
				continue;
			case TENANT_GEN_DIVERGED:
				tenant_mark_dead(tc, i,
						 "written apart from the others (split brain)");
				leg->full_recover = true;
				leg->diverged = true;
				DMERR("%s/%s: leg %u kept as it is (S), leg %d wins",
				      tc->tenant, tc->volume, i, a);
				continue;
			case TENANT_GEN_CURRENT:
			case TENANT_GEN_TRACKED:
				break;
			}
			if (st == TENANT_LEG_DEAD) {
				leg->state = TENANT_LEG_DEAD;
				leg->full_recover = !geometry_changed &&
					(best->leg_flags[i] & TENANT_SB_FULL_RECOVER);
				DMWARN("%s/%s: leg %u stays failed until 'leg %u recover'",
				       tc->tenant, tc->volume, i, i);
			} else if (st == TENANT_LEG_BEHIND) {
				leg->state = TENANT_LEG_BEHIND;
			}
		}
		if (geometry_changed) {
			DMWARN("%s/%s: region geometry changed: full resync",
			       tc->tenant, tc->volume);
			bitmap_fill(bm->bits, bm->nr_regions);
		} else {
			/* Union of the bitmaps of the legs in service. */
			for (i = 0; i < tc->nr_legs; i++) {
				if (tc->legs[i].state == TENANT_LEG_DEAD)
					continue;
				for (blk = 0; blk < nblocks; blk++) {
					size_t off = blk * TENANT_BLOCK_SIZE;
					size_t n = min_t(size_t, TENANT_BLOCK_SIZE,
							 bytes - off);

					if (tenant_read_meta_block(tc, i, 1 + blk,
								   sb)) {
						tenant_mark_dead(tc, i,
								 "bitmap read error");
						break;
					}
					bitmap_or((unsigned long *)((u8 *)bm->bits + off),
						  (unsigned long *)((u8 *)bm->bits + off),
						  (unsigned long *)sb,
						  n * BITS_PER_BYTE);
				}
			}
		}
		/* Bits beyond the last region are not ours. */
		bitmap_clear(bm->bits, bm->nr_regions,
			     bytes * BITS_PER_BYTE - bm->nr_regions);
		bitmap_copy(bm->resync, bm->bits, bm->nr_regions);
		if (!bitmap_empty(bm->resync, bm->nr_regions))
			DMINFO("%s/%s: %u of %lu regions to resync", tc->tenant,
			       tc->volume,
			       bitmap_weight(bm->resync, bm->nr_regions),
			       bm->nr_regions);
	}

	mutex_lock(&tc->state_lock);
	/* Nothing is written when no leg can serve: the legs stay as found. */
	tenant_update_roles(tc);
	r = tc->primary < 0 ? 0 : tenant_write_sb_locked(tc);
	if (!r && tc->primary < 0) {
		if (a >= 0)
			DMERR("%s/%s: no synchronous leg is in sync; the newest data is on leg %d",
			      tc->tenant, tc->volume, a);
		r = -EIO;
	}
	mutex_unlock(&tc->state_lock);
	if (r)
		goto out;

	/* Persist the OR'ed bitmap so no leg forgets a dirty region. */
	mutex_lock(&bm->lock);
	r = tenant_write_bitmap(tc);
	mutex_unlock(&bm->lock);

	if (!bitmap_empty(bm->resync, bm->nr_regions)) {
		tc->sync_done = 0;
		tc->sync_total = bitmap_weight(bm->resync, bm->nr_regions);
		tc->action = TENANT_SYNC_RESYNC;
	}
out:
	kfree(sb);
	kvfree(sbs);
	kfree(gens);
	return r;
}

int tenant_mirror_init(struct tenant_c *tc, const char **error)
{
	struct tenant_bitmap *bm = &tc->bm;
	unsigned int region_size = tc->bm.region_shift ?
				   1U << tc->bm.region_shift :
				   TENANT_DEFAULT_REGION_SIZE;
	unsigned long need;
	int r;

	mutex_init(&tc->state_lock);
	mutex_init(&bm->lock);
	init_waitqueue_head(&bm->wait);
	spin_lock_init(&tc->fail_lock);
	bio_list_init(&tc->failed_bios);
	bio_list_init(&tc->deferred_writes);
	bio_list_init(&tc->retry_bios);
	INIT_DELAYED_WORK(&tc->retry_work, tenant_retry_work);
	bio_list_init(&tc->repair_bios);
	bio_list_init(&tc->deferred_discards);
	INIT_WORK(&tc->fail_work, tenant_fail_work);
	INIT_WORK(&tc->repair_work, tenant_repair_work);
	INIT_WORK(&tc->write_work, tenant_write_work);
	INIT_WORK(&tc->sync_work, tenant_sync_work);
	INIT_DELAYED_WORK(&tc->clean_work, tenant_clean_work);
	tc->primary = 0;

	if (!tenant_mirrored(tc))
		return 0;

	bm->region_shift = __ffs(region_size);
	bm->nr_regions = DIV_ROUND_UP_SECTOR_T(tc->ti->len, region_size);
	bm->persistent = bm->meta_sectors > 0;
	if (bm->persistent) {
		need = TENANT_BLOCK_SECTORS * (1 + tenant_nr_blocks(bm));
		if (bm->meta_sectors < need) {
			DMERR("%s/%s: metadata area of %u sectors too small: %lu regions need %lu",
			      tc->tenant, tc->volume, bm->meta_sectors,
			      bm->nr_regions, need);
			*error = "metadata area too small for the write-intent bitmap";
			return -EINVAL;
		}
	}

	*error = "cannot allocate the write-intent bitmap";
	bm->bits = bitmap_zalloc(round_up(bm->nr_regions, TENANT_BITS_PER_BLOCK),
				 GFP_KERNEL);
	bm->recent = bitmap_zalloc(bm->nr_regions, GFP_KERNEL);
	bm->want = bitmap_zalloc(round_up(bm->nr_regions, TENANT_BITS_PER_BLOCK),
				 GFP_KERNEL);
	bm->busy = bitmap_zalloc(bm->nr_regions, GFP_KERNEL);
	bm->resync = bitmap_zalloc(bm->nr_regions, GFP_KERNEL);
	bm->pending = kvcalloc(bm->nr_regions, sizeof(atomic_t), GFP_KERNEL);
	bm->block_buf = kmalloc(TENANT_BLOCK_SIZE, GFP_KERNEL);
	if (!bm->bits || !bm->want || !bm->recent || !bm->busy || !bm->resync ||
	    !bm->pending || !bm->block_buf)
		return -ENOMEM;

	tc->io_client = dm_io_client_create();
	if (IS_ERR(tc->io_client)) {
		r = PTR_ERR(tc->io_client);
		tc->io_client = NULL;
		*error = "cannot create dm-io client";
		return r;
	}
	tc->kcopyd = dm_kcopyd_client_create(&dm_kcopyd_throttle);
	if (IS_ERR(tc->kcopyd)) {
		r = PTR_ERR(tc->kcopyd);
		tc->kcopyd = NULL;
		*error = "cannot create dm-kcopyd client";
		return r;
	}

	/* Assembled at the first resume, when an old table is quiet. */
	tc->sync_stop = true;
	return 0;
}

/* Safe on a partly initialised context. */
void tenant_mirror_exit(struct tenant_c *tc)
{
	struct tenant_bitmap *bm = &tc->bm;

	if (tc->kcopyd)
		dm_kcopyd_client_destroy(tc->kcopyd);
	if (tc->io_client)
		dm_io_client_destroy(tc->io_client);
	kfree(bm->block_buf);
	kvfree(bm->pending);
	bitmap_free(bm->resync);
	bitmap_free(bm->busy);
	bitmap_free(bm->recent);
	bitmap_free(bm->want);
	bitmap_free(bm->bits);
}

/* postsuspend: stop background work; leave a clean bitmap behind. */
void tenant_mirror_suspend(struct tenant_c *tc)
{
	if (!tenant_mirrored(tc))
		return;
	WRITE_ONCE(tc->sync_stop, true);
	wake_up_all(&tc->rm.wait);
	tenant_remote_suspend(tc);
	cancel_delayed_work_sync(&tc->clean_work);
	flush_work(&tc->sync_work);
	flush_work(&tc->write_work);
	/* dm drained the I/O: no retry is due; as a safety net. */
	flush_delayed_work(&tc->retry_work);
	flush_work(&tc->fail_work);
	flush_work(&tc->repair_work);
	if (tc->bm_loaded)
		tenant_clean_regions(tc, true);
}

/*
 * A one-leg table over one leg of a mirrored volume (a failover: the
 * remote copy assembled alone at the secondary site) keeps no bitmap, but
 * the leg's superblock gets a new generation, so that when the other legs
 * come back the assembly knows this copy is the newer one.  Done once, at
 * the first resume; a leg without our superblock is left alone.
 */
static void tenant_single_leg_lineage(struct tenant_c *tc)
{
	struct tenant_bitmap *bm = &tc->bm;
	struct tenant_sb *sb;
	unsigned long failed;
	unsigned int i;
	u8 own;

	sb = kmalloc(TENANT_BLOCK_SIZE, GFP_KERNEL);
	if (!sb)
		return;
	if (!tc->io_client) {
		tc->io_client = dm_io_client_create();
		if (IS_ERR(tc->io_client)) {
			tc->io_client = NULL;
			goto out;
		}
	}
	if (tenant_read_meta_block(tc, 0, 0, sb) || !tenant_sb_ok(tc, sb) ||
	    le32_to_cpu(sb->nr_legs) == 1)
		goto out;
	own = sb->leg_index < DM_TENANT_MAX_LEGS ?
	      sb->leg_state[sb->leg_index] : TENANT_LEG_DEAD;
	bm->event = le64_to_cpu(sb->event);
	bm->gen = le64_to_cpu(sb->gen);
	for (i = 0; i < TENANT_GEN_HIST; i++)
		bm->gen_hist[i] = le64_to_cpu(sb->gen_hist[i]);
	bm->gen_partial = own != TENANT_LEG_ALIVE;
	bm->gen_legs = ~0UL;
	mutex_lock(&tc->state_lock);
	tenant_gen_update(tc);
	bm->event++;
	tenant_sb_fill(tc, sb, 0, BIT(0));
	tenant_meta_write(tc, BIT(0), 0, sb, 0, &failed);
	mutex_unlock(&tc->state_lock);
	if (failed)
		DMWARN("%s/%s: cannot record the new generation on the leg",
		       tc->tenant, tc->volume);
	else
		DMINFO("%s/%s: a leg of a mirrored volume assembled alone%s",
		       tc->tenant, tc->volume,
		       own == TENANT_LEG_ALIVE ? "" : " (it was not in sync)");
out:
	kfree(sb);
}

int tenant_mirror_preresume(struct tenant_c *tc)
{
	int r;

	/* A read-only table (a forensic look at one leg) changes nothing. */
	if (!tenant_mirrored(tc) && tc->bm.meta_sectors && !tc->bm_loaded &&
	    tenant_table_writable(tc->ti->table)) {
		tenant_single_leg_lineage(tc);
		tc->bm_loaded = true;
	}
	if (!tenant_mirrored(tc) || tc->bm_loaded)
		return 0;
	r = tenant_load_meta(tc);
	if (r) {
		DMERR("%s/%s: cannot assemble: no leg in service", tc->tenant,
		      tc->volume);
		return r;
	}
	if (tc->rm.async)
		tenant_remote_assemble(tc);
	tc->bm_loaded = true;
	return 0;
}

void tenant_mirror_resume(struct tenant_c *tc)
{
	if (!tenant_mirrored(tc))
		return;
	WRITE_ONCE(tc->sync_stop, false);
	if (READ_ONCE(tc->action) != TENANT_SYNC_IDLE)
		queue_work(tc->wq, &tc->sync_work);
	queue_delayed_work(tc->wq, &tc->clean_work, TENANT_CLEAN_DELAY);
	tenant_remote_resume(tc);
}
