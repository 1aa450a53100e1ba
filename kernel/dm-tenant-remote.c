// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tenant: asynchronous remote legs.
 *
 * A write completes when the synchronous legs (local, zone) complete.  Its
 * ciphertext is also copied into pages of its own and queued on the
 * volume's remote stream, which holds at most remote_budget bytes.  The
 * stream is cut into epochs at every flush and FUA write: the writes of an
 * epoch may be in flight together; the next epoch starts only after all of
 * them completed and a flush completed on the remote legs.  A write that
 * overlaps one still pending waits for the stream to drain (ordering
 * barrier without a flush), so the remote never ends with older data.
 * The remote copy is therefore always the volume as of some flush, plus
 * part of the following epoch: a state a crash could have left.
 *
 * When the budget is exhausted (or pages cannot be had without waiting),
 * the streaming legs go "behind": the queued entries are dropped and their
 * regions, and those of every later write, are set in the in-memory
 * out-of-sync bitmap @oos; writes go on at local speed.  A worker copies
 * those regions from the primary (read under the region's busy bit, so
 * writes to it wait only for a local read), flushes, and when no region
 * is left the legs stream again, consistent.  A remote write error fails
 * the leg ("leg <i> recover" puts it back through the same catch-up).
 *
 * Persistence: a region's write-intent bit is never cleared while an
 * entry for it is pending or it is out of sync, and the bitmap cleaner
 * does not run while a leg is behind or failed.  The on-disk write-intent
 * bitmap is thus a superset of what a remote leg misses; after a crash
 * every dirty region is also copied to the remote legs.
 */

#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/interval_tree_generic.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-tenant.h"

static unsigned int catchup_delay_ms;
module_param(catchup_delay_ms, uint, 0644);
MODULE_PARM_DESC(catchup_delay_ms,
		 "Pause between two regions copied to a catching-up remote leg");

static unsigned int remote_suspend_timeout_ms = 30000;
module_param(remote_suspend_timeout_ms, uint, 0644);
MODULE_PARM_DESC(remote_suspend_timeout_ms,
		 "How long suspend waits for the remote stream to drain before failing the remote legs it waits for (0: no bound)");

#define TENANT_REMOTE_BUDGET_DEFAULT	(64ULL << 20)

struct tenant_rentry {
	struct tenant_c *tc;
	struct list_head queue;		/* rm->queue, or a local issue list */
	struct list_head age;		/* rm->pending */
	struct rb_node rb;
	sector_t first, last;		/* target sectors covered */
	sector_t subtree_last;
	unsigned long region;
	unsigned long stamp;		/* jiffies when queued */
	unsigned int size;
	unsigned int nr_pages;
	u8 barrier;
	bool discard;			/* no pages: a discard of first..last */
	atomic_t legs_pending;
	unsigned long failed;		/* legs that failed it */
	u8 leg_idx[DM_TENANT_MAX_LEGS];
	struct page *pages[];
};

#define RE_START(e)	((e)->first)
#define RE_LAST(e)	((e)->last)
INTERVAL_TREE_DEFINE(struct tenant_rentry, rb, sector_t, subtree_last,
		     RE_START, RE_LAST, static inline, tenant_rtree)

/* Asynchronous remote legs that are not failed. */
static unsigned long tenant_remote_live(struct tenant_c *tc)
{
	unsigned long mask = 0;
	unsigned int i;

	for_each_set_bit(i, &tc->rm.legs, tc->nr_legs)
		if (READ_ONCE(tc->legs[i].state) != TENANT_LEG_DEAD)
			__set_bit(i, &mask);
	return mask;
}

static unsigned long tenant_remote_streaming(struct tenant_c *tc)
{
	return tenant_remote_live(tc) & ~READ_ONCE(tc->rm.behind);
}

static void tenant_rentry_free(struct tenant_rentry *e)
{
	unsigned int i;

	for (i = 0; i < e->nr_pages; i++)
		__free_page(e->pages[i]);
	kfree(e);
}

static void tenant_rentry_init(struct tenant_c *tc, struct tenant_rentry *e,
			       sector_t offset, sector_t sectors,
			       unsigned int size)
{
	e->tc = tc;
	e->first = offset;
	e->last = offset + sectors - 1;
	e->region = offset >> tc->bm.region_shift;
	e->size = size;
	e->stamp = jiffies;
	e->failed = 0;
	e->discard = !size;
	INIT_LIST_HEAD(&e->queue);
}

/* A copy of the write's ciphertext, without waiting for memory. */
static struct tenant_rentry *tenant_rentry_alloc(struct tenant_c *tc,
						 struct tenant_io *io,
						 sector_t offset)
{
	struct bio *clone = io->write_bio;
	unsigned int size = clone->bi_iter.bi_size;
	unsigned int nr = DIV_ROUND_UP(size, PAGE_SIZE);
	gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	struct bvec_iter_all iter_all;
	struct tenant_rentry *e;
	struct bio_vec *bv;
	unsigned int n = 0;

	e = kmalloc(struct_size(e, pages, nr), gfp);
	if (!e)
		return NULL;
	e->nr_pages = 0;
	bio_for_each_segment_all(bv, clone, iter_all) {
		struct page *page;

		if (WARN_ON_ONCE(n >= nr))
			break;
		page = alloc_page(gfp);
		if (!page) {
			tenant_rentry_free(e);
			return NULL;
		}
		e->pages[n] = page;
		e->nr_pages = ++n;
		memcpy_page(page, 0, bv->bv_page, bv->bv_offset, bv->bv_len);
	}
	tenant_rentry_init(tc, e, offset, size >> SECTOR_SHIFT, size);
	return e;
}

/* Take the pending entry @e out of the stream; rm->lock held. */
static void tenant_rentry_unlink(struct tenant_remote *rm,
				 struct tenant_rentry *e)
{
	list_del_init(&e->queue);
	list_del(&e->age);
	tenant_rtree_remove(e, &rm->tree);
	rm->bytes -= e->size;
}

/* The region's count of pending entries drops: the cleaner may take it. */
static void tenant_rentry_release(struct tenant_c *tc, struct tenant_rentry *e)
{
	if (atomic_dec_and_test(&tc->rm.rpending[e->region]) &&
	    test_bit(e->region, tc->bm.busy))
		wake_up_all(&tc->bm.wait);
	tenant_rentry_free(e);
}

static bool tenant_remote_drained(struct tenant_remote *rm)
{
	return list_empty(&rm->pending) && !rm->flushing && !rm->dirty;
}

/*
 * Queue @e at the stream's end: it takes the pending barrier, and waits
 * for the stream to drain if it overlaps an entry still pending.
 * rm->lock held.
 */
static void tenant_rentry_enqueue(struct tenant_remote *rm,
				  struct tenant_rentry *e)
{
	e->barrier = rm->next_barrier;
	rm->next_barrier = TENANT_RB_NONE;
	if (tenant_rtree_iter_first(&rm->tree, e->first, e->last) &&
	    e->barrier < TENANT_RB_ORDER)
		e->barrier = TENANT_RB_ORDER;
	atomic_inc(&rm->rpending[e->region]);
	list_add_tail(&e->queue, &rm->queue);
	list_add_tail(&e->age, &rm->pending);
	tenant_rtree_insert(e, &rm->tree);
	rm->bytes += e->size;
}

/*
 * The streaming legs in @mask fall behind (budget exhausted, or no
 * memory): every queued entry is dropped into the out-of-sync bitmap.
 * Entries already issued complete normally.  rm->lock held.
 */
static void tenant_remote_overflow(struct tenant_c *tc, unsigned long mask,
				   struct list_head *dropped)
{
	struct tenant_remote *rm = &tc->rm;
	struct tenant_rentry *e, *tmp;
	unsigned long oldest = jiffies;
	unsigned int i;

	if (!list_empty(&rm->pending))
		oldest = list_first_entry(&rm->pending, struct tenant_rentry,
					  age)->stamp;
	for_each_set_bit(i, &mask, tc->nr_legs)
		if (!rm->since[i])
			rm->since[i] = oldest;
	rm->behind |= mask;
	list_for_each_entry_safe(e, tmp, &rm->queue, queue) {
		set_bit(e->region, rm->oos);
		tenant_rentry_unlink(rm, e);
		list_add_tail(&e->queue, dropped);
	}
}

/*
 * Write path, before the ciphertext goes to the synchronous legs: queue a
 * copy for the streaming legs, mark the region for the legs behind.
 */
void tenant_remote_write(struct tenant_c *tc, struct tenant_io *io,
			 sector_t offset)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned long live = tenant_remote_live(tc), streaming, flags;
	struct tenant_rentry *e = NULL, *d, *tmp;
	LIST_HEAD(dropped);
	bool kick = false, overflow = false;

	if (!live)
		return;
	if (live & ~READ_ONCE(rm->behind))
		e = tenant_rentry_alloc(tc, io, offset);

	spin_lock_irqsave(&rm->lock, flags);
	streaming = live & ~rm->behind;
	if (streaming) {
		if (!e || rm->bytes + e->size > rm->budget) {
			tenant_remote_overflow(tc, streaming, &dropped);
			overflow = true;
		} else {
			tenant_rentry_enqueue(rm, e);
			/* FUA: durable on the remote before what follows. */
			if (io->bio->bi_opf & REQ_FUA)
				rm->next_barrier = TENANT_RB_FLUSH;
			e = NULL;
			kick = true;
		}
	}
	if (rm->behind & live)
		set_bit(io->region, rm->oos);
	spin_unlock_irqrestore(&rm->lock, flags);

	if (e)
		tenant_rentry_free(e);
	list_for_each_entry_safe(d, tmp, &dropped, queue)
		tenant_rentry_release(tc, d);
	if (overflow) {
		DMWARN_LIMIT("%s/%s: remote stream over budget: remote legs catch up",
			     tc->tenant, tc->volume);
		queue_work(tc->wq, &rm->work);
	}
	if (kick)
		queue_work(tc->wq, &rm->pump_work);
}

/*
 * A discard reached the volume (allow_discards): it joins the stream like
 * a write, ordered against overlapping writes and flushes, so the remote
 * drops what the primary dropped.  A remote leg that is behind misses it
 * (catch-up copies only what was written), as does one whose device does
 * not discard; no memory means the same.  Holds no data: 0 bytes.
 */
void tenant_remote_discard(struct tenant_c *tc, sector_t offset, sector_t len)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned long live = tenant_remote_live(tc), flags;
	struct tenant_rentry *e;
	bool queued = false;

	if (!live || !len)
		return;
	e = kmalloc(sizeof(*e), GFP_NOWAIT | __GFP_NOWARN);
	if (!e)
		return;
	e->nr_pages = 0;
	tenant_rentry_init(tc, e, offset, len, 0);

	spin_lock_irqsave(&rm->lock, flags);
	if (live & ~rm->behind) {
		tenant_rentry_enqueue(rm, e);
		queued = true;
	}
	spin_unlock_irqrestore(&rm->lock, flags);

	if (queued)
		queue_work(tc->wq, &rm->pump_work);
	else
		kfree(e);
}

/* A flush reached the volume: everything queued so far is one epoch. */
void tenant_remote_flush(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned long flags;

	spin_lock_irqsave(&rm->lock, flags);
	rm->next_barrier = TENANT_RB_FLUSH;
	spin_unlock_irqrestore(&rm->lock, flags);
	queue_work(tc->wq, &rm->pump_work);
}

bool tenant_remote_holds(struct tenant_c *tc, unsigned long region)
{
	struct tenant_remote *rm = &tc->rm;

	return rm->async && (atomic_read(&rm->rpending[region]) ||
			     test_bit(region, rm->oos));
}

static void tenant_rentry_done(struct tenant_rentry *e)
{
	struct tenant_c *tc = e->tc;
	struct tenant_remote *rm = &tc->rm;
	unsigned long flags;
	bool drained, idle;

	spin_lock_irqsave(&rm->lock, flags);
	idle = !--rm->inflight;
	tenant_rentry_unlink(rm, e);
	if (unlikely(e->failed)) {
		/* Fail the legs before the region may be cleaned. */
		rm->failed |= e->failed;
		list_add_tail(&e->queue, &rm->errored);
		e = NULL;
	}
	drained = tenant_remote_drained(rm);
	spin_unlock_irqrestore(&rm->lock, flags);

	if (e)
		tenant_rentry_release(tc, e);
	else
		queue_work(tc->wq, &rm->work);
	if (drained || idle)
		wake_up_all(&rm->wait);
	queue_work(tc->wq, &rm->pump_work);
}

static void tenant_rentry_endio(struct bio *bio)
{
	u8 *idx = bio->bi_private;
	unsigned int leg = *idx;
	struct tenant_rentry *e = container_of(idx - leg, struct tenant_rentry,
					       leg_idx[0]);

	/* A device that does not discard keeps the old ciphertext. */
	if (unlikely(bio->bi_status) &&
	    !(e->discard && bio->bi_status == BLK_STS_NOTSUPP)) {
		atomic64_inc(&e->tc->legs[leg].write_errors);
		set_bit(leg, &e->failed);
	}
	bio_put(bio);
	atomic_dec(&e->tc->rm.issued[leg]);
	if (atomic_dec_and_test(&e->legs_pending))
		tenant_rentry_done(e);
}

static void tenant_remote_flush_endio(struct bio *bio)
{
	u8 *idx = bio->bi_private;
	unsigned int leg = *idx;
	struct tenant_c *tc = container_of(idx - leg, struct tenant_c,
					   rm.flush_idx[0]);
	struct tenant_remote *rm = &tc->rm;
	unsigned long flags;

	if (unlikely(bio->bi_status)) {
		spin_lock_irqsave(&rm->lock, flags);
		rm->failed |= BIT(leg);
		spin_unlock_irqrestore(&rm->lock, flags);
		queue_work(tc->wq, &rm->work);
	}
	bio_put(bio);
	atomic_dec(&rm->issued[leg]);
	if (!atomic_dec_and_test(&rm->flush_pending))
		return;
	spin_lock_irqsave(&rm->lock, flags);
	rm->flushing = false;
	spin_unlock_irqrestore(&rm->lock, flags);
	/* Drained or not: tenant_remote_quiesce() waits for this too. */
	wake_up_all(&rm->wait);
	queue_work(tc->wq, &rm->pump_work);
}

static void tenant_remote_issue(struct tenant_c *tc, struct tenant_rentry *e)
{
	unsigned long legs = tenant_remote_streaming(tc);
	struct bio *bios[DM_TENANT_MAX_LEGS];
	unsigned int i, p, n = 0;

	for_each_set_bit(i, &legs, tc->nr_legs) {
		struct tenant_leg *leg = &tc->legs[i];
		unsigned int left = e->size, len;
		struct bio *bio;

		if (e->discard && !bdev_max_discard_sectors(leg->dev->bdev))
			continue;
		bio = bio_alloc_bioset(leg->dev->bdev, e->nr_pages,
				       e->discard ? REQ_OP_DISCARD : REQ_OP_WRITE,
				       GFP_NOIO, &tc->rm.bs);
		if (e->discard)
			bio->bi_iter.bi_size = (e->last - e->first + 1) <<
					       SECTOR_SHIFT;
		for (p = 0; p < e->nr_pages; p++, left -= len) {
			len = min_t(unsigned int, left, PAGE_SIZE);
			__bio_add_page(bio, e->pages[p], len, 0);
		}
		bio->bi_iter.bi_sector = leg->start + e->first;
		bio->bi_end_io = tenant_rentry_endio;
		e->leg_idx[i] = i;
		bio->bi_private = &e->leg_idx[i];
		bios[n++] = bio;
	}
	if (!n) {
		/* Every leg fell behind or failed meanwhile. */
		tenant_rentry_done(e);
		return;
	}
	atomic_set(&e->legs_pending, n);
	for (i = 0; i < n; i++) {
		atomic_inc(&tc->rm.issued[*(u8 *)bios[i]->bi_private]);
		submit_bio_noacct(bios[i]);
	}
}

static void tenant_remote_issue_flush(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned long legs = tenant_remote_streaming(tc), flags;
	struct bio *bios[DM_TENANT_MAX_LEGS];
	unsigned int i, n = 0;
	bool drained;

	for_each_set_bit(i, &legs, tc->nr_legs) {
		struct bio *bio;

		bio = bio_alloc_bioset(tc->legs[i].dev->bdev, 0,
				       REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC,
				       GFP_NOIO, &rm->bs);
		bio->bi_end_io = tenant_remote_flush_endio;
		rm->flush_idx[i] = i;
		bio->bi_private = &rm->flush_idx[i];
		bios[n++] = bio;
	}
	if (n) {
		atomic_set(&rm->flush_pending, n);
		for (i = 0; i < n; i++) {
			atomic_inc(&rm->issued[*(u8 *)bios[i]->bi_private]);
			submit_bio_noacct(bios[i]);
		}
		return;
	}
	spin_lock_irqsave(&rm->lock, flags);
	rm->flushing = false;
	drained = tenant_remote_drained(rm);
	spin_unlock_irqrestore(&rm->lock, flags);
	if (drained)
		wake_up_all(&rm->wait);
	queue_work(tc->wq, &rm->pump_work);
}

/*
 * Issue what the epochs allow: entries up to the next barrier; at a
 * barrier, wait for the issued ones; at a flush barrier (or a flush with
 * nothing queued after it), flush the remote legs first.
 */
static void tenant_remote_pump(struct work_struct *work)
{
	struct tenant_remote *rm = container_of(work, struct tenant_remote,
						pump_work);
	struct tenant_c *tc = container_of(rm, struct tenant_c, rm);
	struct tenant_rentry *e, *tmp;
	LIST_HEAD(issue);
	bool flush = false;

	spin_lock_irq(&rm->lock);
	while (!rm->flushing) {
		e = list_first_entry_or_null(&rm->queue, struct tenant_rentry,
					     queue);
		if (!e) {
			if (rm->next_barrier == TENANT_RB_FLUSH &&
			    !rm->inflight) {
				rm->next_barrier = TENANT_RB_NONE;
				flush = rm->dirty;
			}
			break;
		}
		if (e->barrier != TENANT_RB_NONE) {
			if (rm->inflight)
				break;
			if (e->barrier == TENANT_RB_FLUSH && rm->dirty) {
				e->barrier = TENANT_RB_NONE;
				flush = true;
				break;
			}
			e->barrier = TENANT_RB_NONE;
		}
		list_move_tail(&e->queue, &issue);
		rm->inflight++;
		rm->dirty = true;
	}
	if (flush) {
		rm->flushing = true;
		rm->dirty = false;
	}
	spin_unlock_irq(&rm->lock);

	list_for_each_entry_safe(e, tmp, &issue, queue) {
		list_del_init(&e->queue);
		tenant_remote_issue(tc, e);
	}
	if (flush)
		tenant_remote_issue_flush(tc);
}

/* ---- failures, modes and catch-up (process context) ---- */

/* Fail legs that saw errors, then let go of their entries' regions. */
static void tenant_remote_errors(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;
	struct tenant_rentry *e, *tmp;
	unsigned long failed, i;
	LIST_HEAD(list);

	spin_lock_irq(&rm->lock);
	failed = rm->failed;
	rm->failed = 0;
	list_splice_init(&rm->errored, &list);
	spin_unlock_irq(&rm->lock);

	for_each_set_bit(i, &failed, tc->nr_legs) {
		if (tc->legs[i].state != TENANT_LEG_DEAD) {
			spin_lock_irq(&rm->lock);
			if (!rm->since[i])
				rm->since[i] = list_empty(&rm->pending) ?
					jiffies :
					list_first_entry(&rm->pending,
							 struct tenant_rentry,
							 age)->stamp;
			spin_unlock_irq(&rm->lock);
		}
		tenant_fail_leg(tc, i, "remote write error");
	}
	list_for_each_entry_safe(e, tmp, &list, queue) {
		list_del_init(&e->queue);
		tenant_rentry_release(tc, e);
	}
}

/* Leg states follow the modes: behind legs are 'a' on disk too. */
static void tenant_remote_states(struct tenant_c *tc)
{
	unsigned long live = tenant_remote_live(tc);
	unsigned long behind = READ_ONCE(tc->rm.behind);
	unsigned int i;

	for_each_set_bit(i, &live, tc->nr_legs) {
		char want = test_bit(i, &behind) ? TENANT_LEG_BEHIND :
						   TENANT_LEG_ALIVE;

		if (READ_ONCE(tc->legs[i].state) != want)
			tenant_set_leg_state(tc, i, want, false);
	}
}

static int tenant_remote_write_region(struct tenant_c *tc, unsigned int i,
				      unsigned long r, void *buf)
{
	struct dm_io_request req = {
		.bi_opf = REQ_OP_WRITE,
		.mem.type = DM_IO_VMA,
		.mem.ptr.vma = buf,
		.client = tc->io_client,
	};
	struct dm_io_region where;
	sector_t start, len;

	tenant_region_range(tc, r, &start, &len);
	where.bdev = tc->legs[i].dev->bdev;
	where.sector = tc->legs[i].start + start;
	where.count = len;
	return dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT);
}

/* Copy region @r to the legs in @legs; false if the primary failed. */
static bool tenant_remote_copy(struct tenant_c *tc, unsigned long r,
			       unsigned long legs, void *buf)
{
	struct tenant_bitmap *bm = &tc->bm;
	struct tenant_remote *rm = &tc->rm;
	int primary = READ_ONCE(tc->primary);
	unsigned int i;
	int ret;

	/*
	 * Quiesce: writes wait, local and remote writes in flight drain.
	 * The resync worker may hold the region busy: take it in turn.
	 */
	wait_event(bm->wait, !test_and_set_bit(r, bm->busy));
	/* Mark before reading the counts: pairs with the writer's. */
	smp_mb__after_atomic();
	wait_event(bm->wait, !atomic_read(&bm->pending[r]) &&
		   !atomic_read(&rm->rpending[r]));
	/* A write after the read below marks the region again. */
	clear_bit(r, rm->oos);
	ret = tenant_read_region(tc, primary, r, buf);
	clear_bit(r, bm->busy);
	/* Waiters test the bit after waking. */
	smp_mb__after_atomic();
	wake_up_all(&bm->wait);
	if (ret) {
		set_bit(r, rm->oos);
		/* The last leg in sync stays: try again a little later. */
		if (tenant_fail_leg(tc, primary,
				    "read error during remote catch-up") == -EBUSY)
			wait_event_timeout(rm->wait, READ_ONCE(tc->sync_stop),
					   HZ);
		return false;
	}
	for_each_set_bit(i, &legs, tc->nr_legs) {
		if (tenant_remote_write_region(tc, i, r, buf)) {
			set_bit(r, rm->oos);
			tenant_fail_leg(tc, i, "write error during remote catch-up");
		}
	}
	rm->copied++;
	return true;
}

/* No region left: flush, and the legs stream again if none came back. */
static bool tenant_remote_caught_up(struct tenant_c *tc, unsigned long legs)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned long done = 0;
	unsigned int i;

	/* Entries issued before the legs fell behind land first. */
	wait_event(rm->wait, !READ_ONCE(rm->inflight) ||
		   READ_ONCE(tc->sync_stop));
	if (READ_ONCE(tc->sync_stop))
		return false;
	for_each_set_bit(i, &legs, tc->nr_legs)
		if (blkdev_issue_flush(tc->legs[i].dev->bdev))
			tenant_fail_leg(tc, i, "flush error during remote catch-up");
	legs &= tenant_remote_live(tc);

	spin_lock_irq(&rm->lock);
	if (!rm->inflight &&
	    find_first_bit(rm->oos, tc->bm.nr_regions) >= tc->bm.nr_regions) {
		done = legs & rm->behind;
		rm->behind &= ~done;
	}
	spin_unlock_irq(&rm->lock);
	if (!done)
		return false;
	for_each_set_bit(i, &done, tc->nr_legs) {
		rm->since[i] = 0;
		tenant_set_leg_state(tc, i, TENANT_LEG_ALIVE, false);
		DMINFO("%s/%s: remote leg %u caught up (%lu regions): consistent",
		       tc->tenant, tc->volume, i, rm->copied);
	}
	rm->copied = 0;
	return true;
}

static void tenant_remote_work(struct work_struct *work)
{
	struct tenant_remote *rm = container_of(work, struct tenant_remote,
						work);
	struct tenant_c *tc = container_of(rm, struct tenant_c, rm);
	unsigned long nr = tc->bm.nr_regions, r, legs;
	size_t bytes = (1UL << tc->bm.region_shift) << SECTOR_SHIFT;
	void *buf = NULL;

	for (;;) {
		tenant_remote_errors(tc);
		tenant_remote_states(tc);
		legs = tenant_remote_live(tc) & READ_ONCE(rm->behind);
		if (!legs || READ_ONCE(tc->sync_stop) ||
		    READ_ONCE(tc->primary) < 0)
			break;
		if (!buf) {
			buf = vmalloc(bytes);
			if (!buf) {
				DMERR("%s/%s: no memory for remote catch-up",
				      tc->tenant, tc->volume);
				break;
			}
		}
		r = find_first_bit(rm->oos, nr);
		if (r >= nr) {
			tenant_remote_caught_up(tc, legs);
			continue;
		}
		/*
		 * Regions with stream writes still in flight wait: holding
		 * them busy would stall local writes while the remote hangs.
		 */
		for (; r < nr; r = find_next_bit(rm->oos, nr, r + 1))
			if (!atomic_read(&rm->rpending[r]))
				break;
		if (r >= nr) {
			wait_event_timeout(rm->wait, READ_ONCE(tc->sync_stop),
					   HZ / 10);
			continue;
		}
		if (!tenant_remote_copy(tc, r, legs, buf))
			continue;
		if (catchup_delay_ms)
			msleep_interruptible(catchup_delay_ms);
		cond_resched();
	}
	vfree(buf);
}

/* leg <i> recover, for an asynchronous leg: copy what it missed. */
int tenant_remote_recover(struct tenant_c *tc, unsigned int i)
{
	struct tenant_remote *rm = &tc->rm;
	struct tenant_leg *leg = &tc->legs[i];
	int r;

	if (leg->state != TENANT_LEG_DEAD)
		return -EINVAL;
	if (READ_ONCE(tc->primary) < 0)
		return -EIO;
	if (leg->full_recover) {
		r = tenant_mark_all_dirty(tc);
		if (r)
			return r;
	}
	/*
	 * Behind first (a failed leg takes no writes either way), then
	 * alive-behind: from now on writes mark @oos; everything before is
	 * in the write-intent bitmap, which is not cleaned while a leg is
	 * failed or behind.
	 */
	spin_lock_irq(&rm->lock);
	if (!rm->since[i])
		rm->since[i] = jiffies;
	rm->behind |= BIT(i);
	spin_unlock_irq(&rm->lock);
	r = tenant_set_leg_state(tc, i, TENANT_LEG_BEHIND, true);
	if (r)
		return r;
	spin_lock_irq(&rm->lock);
	bitmap_or(rm->oos, rm->oos, tc->bm.bits, tc->bm.nr_regions);
	spin_unlock_irq(&rm->lock);
	DMINFO("%s/%s: remote leg %u catching up, %u regions to copy",
	       tc->tenant, tc->volume, i,
	       bitmap_weight(rm->oos, tc->bm.nr_regions));
	if (!READ_ONCE(tc->sync_stop))
		queue_work(tc->wq, &rm->work);
	return 0;
}

/*
 * First resume, after the metadata was read: a remote leg that was behind,
 * or may have missed writes in flight at a crash (any dirty region), is
 * caught up on every dirty region.
 */
void tenant_remote_assemble(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned long live = tenant_remote_live(tc);
	bool dirty = !bitmap_empty(tc->bm.bits, tc->bm.nr_regions);
	unsigned int i;

	for_each_set_bit(i, &live, tc->nr_legs) {
		if (!dirty && tc->legs[i].state == TENANT_LEG_ALIVE)
			continue;
		spin_lock_irq(&rm->lock);
		bitmap_or(rm->oos, rm->oos, tc->bm.bits, tc->bm.nr_regions);
		rm->behind |= BIT(i);
		if (!rm->since[i])
			rm->since[i] = jiffies;
		spin_unlock_irq(&rm->lock);
		tc->legs[i].state = TENANT_LEG_BEHIND;
		DMINFO("%s/%s: remote leg %u behind, %u regions to copy",
		       tc->tenant, tc->volume, i,
		       bitmap_weight(rm->oos, tc->bm.nr_regions));
	}
}

/*
 * Nothing is owed to a remote leg in service: the stream drained, or no
 * leg streams any more and nothing is queued (what is still in flight
 * goes to failed legs only).
 */
static bool tenant_remote_settled(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;
	bool settled;

	spin_lock_irq(&rm->lock);
	settled = tenant_remote_drained(rm) ||
		  (list_empty(&rm->queue) && !tenant_remote_streaming(tc));
	spin_unlock_irq(&rm->lock);
	return settled;
}

/*
 * Suspend waited remote_suspend_timeout_ms for the stream: the legs that
 * still have writes or a flush in flight are failed (their bitmap is the
 * write-intent bitmap, which keeps every region they may miss until
 * "leg <i> recover"), and the entries not yet issued are dropped: legs
 * still streaming go catching-up for them.  What is in flight cannot be
 * taken back; it completes when the link returns or the transport gives
 * up, and only the target's destruction waits for it.
 */
static void tenant_remote_cut(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;
	static const char why[] =
		"remote link did not drain within remote_suspend_timeout_ms";
	unsigned long stuck = 0, live = tenant_remote_live(tc), i;
	struct tenant_rentry *e, *tmp;
	LIST_HEAD(dropped);

	for_each_set_bit(i, &live, tc->nr_legs)
		if (atomic_read(&rm->issued[i]))
			__set_bit(i, &stuck);
	for_each_set_bit(i, &stuck, tc->nr_legs)
		tenant_fail_leg(tc, i, why);

	spin_lock_irq(&rm->lock);
	tenant_remote_overflow(tc, tenant_remote_streaming(tc), &dropped);
	spin_unlock_irq(&rm->lock);
	list_for_each_entry_safe(e, tmp, &dropped, queue)
		tenant_rentry_release(tc, e);
}

/*
 * postsuspend: the stream drains (and is flushed), catch-up stops.  A
 * dead link must not hold the volume (tenantd suspends from its only
 * thread): after remote_suspend_timeout_ms the legs it waits for are cut.
 */
void tenant_remote_suspend(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned int bound = READ_ONCE(remote_suspend_timeout_ms);

	if (!rm->async)
		return;
	spin_lock_irq(&rm->lock);
	rm->next_barrier = TENANT_RB_FLUSH;
	spin_unlock_irq(&rm->lock);
	queue_work(tc->wq, &rm->pump_work);
	if (!bound)
		wait_event(rm->wait, tenant_remote_settled(tc));
	else if (!wait_event_timeout(rm->wait, tenant_remote_settled(tc),
				     msecs_to_jiffies(bound)))
		tenant_remote_cut(tc);
	flush_work(&rm->pump_work);
	flush_work(&rm->work);
	/* Errors seen while draining. */
	tenant_remote_errors(tc);
}

/* Before the target goes: remote bios still in flight (on a cut link). */
void tenant_remote_quiesce(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;

	if (rm->async)
		wait_event(rm->wait, !READ_ONCE(rm->inflight) &&
			   !READ_ONCE(rm->flushing));
}

void tenant_remote_resume(struct tenant_c *tc)
{
	if (tc->rm.async)
		queue_work(tc->wq, &tc->rm.work);
}

/* ---- status ---- */

unsigned int tenant_remote_status(struct tenant_c *tc, char *result,
				  unsigned int maxlen, unsigned int sz)
{
	struct tenant_remote *rm = &tc->rm;
	u64 region_bytes = (u64)(1UL << tc->bm.region_shift) << SECTOR_SHIFT;
	unsigned long oldest = 0, flags;
	unsigned int i, nr = 0;
	u64 stream_bytes, oos_bytes = 0, dirty_bytes;

	for (i = 0; i < tc->nr_legs; i++)
		if (tc->legs[i].cls == TENANT_LEG_REMOTE)
			nr++;
	DMEMIT(" %u", nr);
	if (!nr)
		return sz;

	spin_lock_irqsave(&rm->lock, flags);
	stream_bytes = rm->bytes;
	if (!list_empty(&rm->pending))
		oldest = list_first_entry(&rm->pending, struct tenant_rentry,
					  age)->stamp;
	spin_unlock_irqrestore(&rm->lock, flags);
	if (rm->async)
		oos_bytes = bitmap_weight(rm->oos, tc->bm.nr_regions) *
			    region_bytes;
	dirty_bytes = tenant_mirrored(tc) ?
		bitmap_weight(tc->bm.bits, tc->bm.nr_regions) * region_bytes : 0;

	for (i = 0; i < tc->nr_legs; i++) {
		struct tenant_leg *leg = &tc->legs[i];
		char state = READ_ONCE(leg->state);
		const char *mode;
		u64 bytes = 0;
		unsigned long since = 0;

		if (leg->cls != TENANT_LEG_REMOTE)
			continue;
		if (!tenant_leg_async(tc, i)) {
			mode = state == TENANT_LEG_DEAD ? "failed" : "sync";
			if (state != TENANT_LEG_ALIVE) {
				bytes = leg->full_recover ?
					(u64)tc->ti->len << SECTOR_SHIFT :
					dirty_bytes;
			}
		} else if (state == TENANT_LEG_DEAD) {
			mode = "failed";
			bytes = leg->full_recover ?
				(u64)tc->ti->len << SECTOR_SHIFT : dirty_bytes;
			since = rm->since[i];
		} else if (test_bit(i, &rm->behind)) {
			mode = "catching-up";
			bytes = oos_bytes + stream_bytes;
			since = rm->since[i];
		} else {
			mode = "streaming";
			bytes = stream_bytes;
			since = oldest;
		}
		DMEMIT(" %u %s %llu %u %s", i, mode, bytes,
		       since ? jiffies_to_msecs(jiffies - since) : 0,
		       state == TENANT_LEG_ALIVE ? "yes" : "no");
	}
	return sz;
}

/* ---- construction ---- */

int tenant_remote_init(struct tenant_c *tc, const char **error)
{
	struct tenant_remote *rm = &tc->rm;
	unsigned int i, nsync = 0;
	int r;

	spin_lock_init(&rm->lock);
	INIT_LIST_HEAD(&rm->queue);
	INIT_LIST_HEAD(&rm->pending);
	INIT_LIST_HEAD(&rm->errored);
	rm->tree = RB_ROOT_CACHED;
	init_waitqueue_head(&rm->wait);
	INIT_WORK(&rm->pump_work, tenant_remote_pump);
	INIT_WORK(&rm->work, tenant_remote_work);
	rm->flush_leg = -1;

	for (i = 0; i < tc->nr_legs; i++)
		if (tc->legs[i].cls != TENANT_LEG_REMOTE)
			nsync++;
	/* Without a synchronous leg (or by choice) remote legs are sync. */
	if (tc->remote_sync || !nsync || nsync == tc->nr_legs)
		return 0;
	if (tc->min_sync > nsync) {
		*error = "min_sync above the number of synchronous legs";
		return -EINVAL;
	}

	for (i = 0; i < tc->nr_legs; i++) {
		if (tc->legs[i].cls != TENANT_LEG_REMOTE)
			continue;
		__set_bit(i, &rm->legs);
		if (rm->flush_leg < 0)
			rm->flush_leg = i;
	}
	rm->budget = tc->remote_budget;
	if (!rm->budget)
		rm->budget = min_t(u64, TENANT_REMOTE_BUDGET_DEFAULT,
				   ((u64)totalram_pages() << PAGE_SHIFT) / 8);

	*error = "cannot allocate the remote stream";
	rm->oos = bitmap_zalloc(tc->bm.nr_regions, GFP_KERNEL);
	rm->rpending = kvcalloc(tc->bm.nr_regions, sizeof(atomic_t),
				GFP_KERNEL);
	if (!rm->oos || !rm->rpending)
		return -ENOMEM;
	r = bioset_init(&rm->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r)
		return r;
	rm->async = true;
	return 0;
}

/* Safe on a partly initialised context; the stream is drained. */
void tenant_remote_exit(struct tenant_c *tc)
{
	struct tenant_remote *rm = &tc->rm;

	bioset_exit(&rm->bs);
	kvfree(rm->rpending);
	bitmap_free(rm->oos);
}
