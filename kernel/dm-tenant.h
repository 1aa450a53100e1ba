/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-tenant: internal definitions shared by the target, its crypto path
 * and the extent-claim registry.
 *
 * Locking.  Every lock, what it guards, and the order (outer first):
 *
 *   tenant_claims_lock (mutex, module-wide; claims.c)
 *	the extent-claim tree.  Table load and unload only, never per bio;
 *	no other lock is held with it.
 *   bm->lock (mutex, per volume)
 *	the bitmap's bits, want and resync sets, and bitmap block writes.
 *	Taken before state_lock.
 *   state_lock (mutex, per volume)
 *	leg states, the primary, superblock writes and the sync action's
 *	start.  Failing a leg takes it, and bitmap writes can fail legs: no
 *	bitmap write is ever made with state_lock held.
 *   bounce_lock (mutex, per volume; crypt.c)
 *	taken only when the bounce mempool runs short, alone.
 *   fail_lock (spinlock, irq-safe, per volume)
 *	the failed, deferred, retry, repair and discard bio lists and the
 *	retry timer.  A leaf.
 *   rm->lock (spinlock, irq-safe, per volume; remote.c)
 *	the remote stream: queue, pending list and tree, budget, modes.
 *	A leaf.
 *   stash lock (spinlock, irq-safe, per CPU; stash.c)
 *	the CPU's spare bounce pages, once per bio.  A leaf.
 *
 * The spinlocks are innermost: nothing sleeps and no other dm-tenant lock
 * is taken while one is held.  The hot path (map, encryption, leg
 * completion) takes only the spinlocks and the per-region atomic counters;
 * the mutexes belong to messages, workers, and a write that enters a clean
 * region.
 */
#ifndef DM_TENANT_INTERNAL_H
#define DM_TENANT_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/blk_types.h>
#include <linux/completion.h>
#include <linux/device-mapper.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/scatterlist.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/dm-io.h>
#include <linux/dm-kcopyd.h>
#include <crypto/skcipher.h>

#include "dm-tenant-compat.h"
#include "tenant-table.h"
#include "tenant-gen.h"

#define DM_MSG_PREFIX "tenant"

#define TENANT_IV_SIZE 16	/* plain64 in a 16-byte XTS tweak */

struct tenant_claim;

/* Leg states, as shown in the status line and kept in the superblock. */
#define TENANT_LEG_ALIVE	'A'	/* in service and in sync */
#define TENANT_LEG_BEHIND	'a'	/* takes writes, catching up: not read */
#define TENANT_LEG_DEAD		'D'	/* failed: neither read nor written */

#define TENANT_LEG_DIVERGED	'S'	/* shown only: a dead leg written apart */

struct tenant_leg {
	struct dm_dev *dev;
	sector_t start;			/* data start on the leg, 512B sectors */
	enum tenant_leg_class cls;
	struct tenant_claim *claim;
	char state;			/* TENANT_LEG_*; READ_ONCE in I/O path */
	bool full_recover;		/* contents unknown: recover copies all */
	bool sb_valid;			/* had our superblock at assembly */
	bool diverged;			/* written apart: recover needs force */
	atomic64_t read_errors;
	atomic64_t write_errors;
};

/*
 * Errors a leg may stop returning on its own (out of resources, try again,
 * a command timeout): a leg write that returns one is retried before the
 * leg is failed (dm-tenant-mirror.c, leg_retries).
 */
static inline bool tenant_leg_error_transient(blk_status_t status)
{
	return status == BLK_STS_RESOURCE || status == BLK_STS_DEV_RESOURCE ||
	       status == BLK_STS_AGAIN || status == BLK_STS_TIMEOUT;
}

static inline char tenant_leg_state_char(struct tenant_leg *leg)
{
	char state = READ_ONCE(leg->state);

	return state == TENANT_LEG_DEAD && READ_ONCE(leg->diverged) ?
	       TENANT_LEG_DIVERGED : state;
}

enum tenant_sync_action {
	TENANT_SYNC_IDLE,
	TENANT_SYNC_RESYNC,		/* copy out-of-sync regions to all legs */
	TENANT_SYNC_CHECK,		/* compare legs, count mismatches */
	TENANT_SYNC_REPAIR,		/* compare, copy primary over mismatches */
};

/*
 * Write-intent bitmap.  A bit set on disk means "the legs may differ in
 * this region".  Writers set it (and wait for it to reach every leg) only
 * when it is clear; a worker clears idle regions in the background, never
 * while a leg is missing writes.  Every bio lies in one region (max_io_len).
 */
struct tenant_bitmap {
	unsigned long nr_regions;
	unsigned int region_shift;	/* log2(region size in sectors) */
	unsigned long *bits;		/* set: dirty (in memory == on disk) */
	unsigned long *want;		/* to set with the next bitmap write */
	unsigned long *recent;		/* written since the last cleaner pass */
	unsigned long *busy;		/* being copied/compared: writes wait */
	unsigned long *resync;		/* to copy from the primary leg */
	atomic_t *pending;		/* writes in flight per region */
	bool persistent;		/* has a metadata area on the legs */
	unsigned int meta_sectors;
	struct mutex lock;		/* serialises bitmap block writes */
	wait_queue_head_t wait;		/* busy bits cleared, pending drained */
	void *block_buf;		/* one bitmap block, for writing */
	u64 event;			/* superblock write counter */
	/* Data generations (tenant-gen.h); under state_lock. */
	u64 gen;
	u64 gen_hist[TENANT_GEN_HIST];
	u64 disk_gen[DM_TENANT_MAX_LEGS]; /* what each leg's superblock holds */
	unsigned long gen_legs;		/* legs in sync as of @gen */
	bool gen_partial;		/* next roll starts a new lineage */
};

/*
 * Asynchronous remote legs (dm-tenant-remote.c).  A remote leg that is
 * not written synchronously is in one of three modes, kept in its leg
 * state: streaming (TENANT_LEG_ALIVE: takes the ordered stream of
 * writes), catching-up (TENANT_LEG_BEHIND: misses writes, which mark
 * @oos; copied in the background) and failed (TENANT_LEG_DEAD).
 */
enum tenant_barrier {
	TENANT_RB_NONE,
	TENANT_RB_ORDER,		/* earlier entries complete first */
	TENANT_RB_FLUSH,		/* ... and are flushed on the remote */
};

struct tenant_remote {
	bool async;			/* some remote leg is asynchronous */
	unsigned long legs;		/* mask of the asynchronous legs */
	int flush_leg;			/* its flush bio marks an epoch */
	u64 budget;			/* bytes the stream may hold */
	spinlock_t lock;		/* everything below up to @failed */
	struct list_head queue;		/* entries not yet issued, FIFO */
	struct list_head pending;	/* entries not done, oldest first */
	struct rb_root_cached tree;	/* pending entries by sector */
	u64 bytes;			/* ciphertext bytes of @pending */
	unsigned int inflight;		/* entries issued, not done */
	bool flushing;			/* a remote flush is in flight */
	bool dirty;			/* written since the last flush */
	u8 next_barrier;		/* for the next entry queued */
	unsigned long behind;		/* legs catching up (authoritative) */
	unsigned long failed;		/* legs with errors, to be failed */
	struct list_head errored;	/* entries done with errors */
	unsigned long since[DM_TENANT_MAX_LEGS]; /* oldest missed write */
	atomic_t flush_pending;
	atomic_t issued[DM_TENANT_MAX_LEGS]; /* bios in flight per leg */
	u8 flush_idx[DM_TENANT_MAX_LEGS];
	unsigned long *oos;		/* regions the behind legs miss */
	atomic_t *rpending;		/* pending entries per region */
	unsigned long copied;		/* catch-up progress, regions */
	struct bio_set bs;
	struct work_struct pump_work;	/* issues entries and flushes */
	struct work_struct work;	/* failures, states, catch-up */
	wait_queue_head_t wait;		/* the stream drained */
};

struct tenant_stats {
	atomic64_t reads;
	atomic64_t writes;
	atomic64_t discards;
	atomic64_t read_errors;
	atomic64_t write_errors;
	atomic64_t crypt_errors;
};

struct tenant_c {
	struct dm_target *ti;
	char tenant[DM_TENANT_ID_MAX + 1];
	char volume[DM_TENANT_ID_MAX + 1];

	/*
	 * The cipher transform is the only holder of the key.  It changes only
	 * while the device is suspended (key set / key wipe), so the I/O path
	 * reads it without a lock; NULL means "no key loaded".
	 */
	struct crypto_skcipher *tfm;
	char *key_string;		/* ":<size>:logon:<desc>", no key bytes */
	unsigned int key_size;
	unsigned int reqsize;		/* driver request context, fixed at ctr */

	atomic_t writes_inflight;	/* dispatched, not answered: inline or not */
	unsigned int queued_left;	/* small writes still queued after a busy one */
	unsigned int inline_run;	/* writes without a deep queue since the last probe */
	bool deep_seen;			/* one found another in flight since the last probe */

	u64 iv_offset;			/* 512B sectors */
	unsigned int sector_size;
	unsigned int sector_shift;	/* log2(sector_size / 512) */
	bool allow_discards;

	unsigned int nr_legs;
	struct tenant_leg legs[DM_TENANT_MAX_LEGS];
	unsigned int min_sync;		/* write quorum (legs that must take it) */
	bool nosync;
	int primary;			/* leg reads and resync come from */
	bool degraded;			/* some leg is not TENANT_LEG_ALIVE */
	struct mutex state_lock;	/* leg states, superblock writes */

	struct tenant_bitmap bm;
	struct dm_io_client *io_client;
	struct dm_kcopyd_client *kcopyd;
	struct delayed_work clean_work;
	struct work_struct sync_work;
	struct work_struct fail_work;	/* writes/reads that saw leg errors */
	struct work_struct write_work;	/* writes that must wait (slow path) */
	struct delayed_work retry_work;	/* leg writes after transient errors */
	struct work_struct repair_work;	/* reads healing the legs they failed on */
	spinlock_t fail_lock;		/* the bio lists, retry_next/armed */
	struct bio_list failed_bios;	/* dm clones waiting for fail_work */
	struct bio_list deferred_writes; /* dm clones waiting for write_work */
	struct bio_list retry_bios;	/* dm clones waiting for retry_work */
	struct bio_list repair_bios;	/* reads waiting for repair_work */
	struct bio_list deferred_discards; /* leg discards for write_work */
	unsigned long retry_next;	/* when retry_work runs, if armed */
	bool retry_armed;
	enum tenant_sync_action action;
	bool sync_stop;			/* suspend: stop background work */
	bool bm_loaded;			/* metadata read at first resume */
	unsigned long sync_done, sync_total;
	atomic64_t mismatches;

	struct bio_set bs;
	struct bio_set leg_bs;		/* clones of the bounce bio, per leg */
	mempool_t page_pool;
	mempool_t req_pool;
	struct mutex bounce_lock;	/* taken only when memory is short */
	struct workqueue_struct *wq;
	/* Large writes and reads are en/decrypted here, spread over CPUs. */
	struct workqueue_struct *write_wq;

	struct tenant_stats stats;
	struct tenant_remote rm;
	bool remote_sync;		/* table option: remote legs synchronous */
	u64 remote_budget;		/* table option; 0: default */
};

/* Leg @i is a remote leg written asynchronously. */
static inline bool tenant_leg_async(struct tenant_c *tc, unsigned int i)
{
	return test_bit(i, &tc->rm.legs);
}

/* One crypto request: one cipher sector. */
struct tenant_req {
	struct tenant_io *io;
	struct scatterlist sg_in;
	struct scatterlist sg_out;
	u8 iv[TENANT_IV_SIZE] __aligned(__alignof__(u64));
	/* must be last: followed by the driver's request context */
	struct skcipher_request req;
};

/* Per-bio state, in dm's per-bio data. */
struct tenant_io {
	struct tenant_c *tc;
	struct crypto_skcipher *tfm;
	struct bio *bio;		/* dm's clone we serve */
	struct bio *write_bio;		/* bounce bio carrying ciphertext */
	bio_end_io_t *orig_end_io;	/* reads: dm's end_io, restored */
	struct bvec_iter iter_in;
	struct bvec_iter iter_out;
	struct bvec_iter orig_iter;	/* reads: saved before submission */
	u64 cc_sector;			/* next sector number for the IV */
	atomic_t pending;		/* 1 + crypto requests in flight */
	blk_status_t status;
	bool write;
	bool flush;			/* empty flush to one leg */
	bool flush_done;		/* its failure was handled */
	unsigned long region;
	unsigned long last_region;	/* discards: the last region covered */
	bool discard_held;		/* discards: counted into the regions */
	unsigned long failed_legs;	/* bit per leg that failed this bio */
	unsigned long retry_legs;	/* ... that returned a transient error */
	unsigned long sent_legs;	/* legs the write was submitted to */
	unsigned long retry_at;		/* jiffies: next retry due */
	unsigned int retries;		/* retries of transient errors so far */
	atomic_t legs_pending;		/* leg writes in flight */
	int read_leg;			/* leg the read went to */
	unsigned long tried_legs;	/* reads: legs that returned errors */
	u8 leg_idx[DM_TENANT_MAX_LEGS];	/* bi_private of leg bio i: &leg_idx[i] */
	struct tenant_req *req;		/* request to reuse, or NULL */
	struct completion done;		/* writes: async crypto finished */
	struct work_struct work;
	/* followed by an embedded struct tenant_req + driver context */
};

/* dm-tenant-stash.c */
struct tenant_stash;
int tenant_stash_init(void);
void tenant_stash_exit(void);
struct tenant_stash *tenant_stash_lock(unsigned long *flags);
void tenant_stash_unlock(struct tenant_stash *s, unsigned long flags);
struct page *tenant_stash_pop(struct tenant_stash *s);
bool tenant_stash_push(struct tenant_stash *s, struct page *page);

/* dm-tenant-crypt.c */
int tenant_crypt_init(struct tenant_c *tc);
void tenant_crypt_exit(struct tenant_c *tc);
int tenant_load_key(struct tenant_c *tc, const char *key_string,
		    const struct tenant_key_ref *ref, const char **error);
void tenant_wipe_key(struct tenant_c *tc);
size_t tenant_io_size(struct tenant_c *tc);
int tenant_map_write(struct tenant_c *tc, struct bio *bio);
int tenant_map_read(struct tenant_c *tc, struct bio *bio);

/* dm-tenant-mirror.c */
bool tenant_mirrored(struct tenant_c *tc);
int tenant_mirror_init(struct tenant_c *tc, const char **error);
void tenant_mirror_exit(struct tenant_c *tc);
int tenant_region_start_write(struct tenant_c *tc, unsigned long region,
			      bool can_block);
void tenant_defer_write(struct tenant_c *tc, struct bio *bio);
void tenant_region_end_write(struct tenant_c *tc, unsigned long region);
int tenant_map_discard(struct tenant_c *tc, struct bio *bio, sector_t offset);
void tenant_discard_done(struct tenant_c *tc, struct bio *bio);
int tenant_read_leg(struct tenant_c *tc, struct bio *bio);
void tenant_defer_failed(struct tenant_c *tc, struct bio *bio);
void tenant_fail_bio_done(struct tenant_c *tc, struct bio *bio);
int tenant_fail_leg(struct tenant_c *tc, unsigned int i, const char *why);
int tenant_recover_leg(struct tenant_c *tc, unsigned int i);
int tenant_start_sync(struct tenant_c *tc, enum tenant_sync_action action);
void tenant_mirror_suspend(struct tenant_c *tc);
int tenant_mirror_preresume(struct tenant_c *tc);
void tenant_mirror_resume(struct tenant_c *tc);
const char *tenant_sync_action_name(struct tenant_c *tc);
unsigned long tenant_regions_in_sync(struct tenant_c *tc);

/* dm-tenant-crypt.c, for the mirror's retry path */
void tenant_read_resubmit(struct tenant_c *tc, struct bio *bio, int leg);
void tenant_read_decrypt_now(struct tenant_io *io);
void tenant_write_finish(struct tenant_io *io);
void tenant_write_continue(struct tenant_c *tc, struct tenant_io *io);
void tenant_write_dispatch(struct tenant_c *tc, struct tenant_io *io);
void tenant_write_retry(struct tenant_c *tc, struct tenant_io *io);

/* dm-tenant-mirror.c, for the remote legs */
int tenant_read_region(struct tenant_c *tc, unsigned int leg,
		       unsigned long r, void *buf);
void tenant_region_range(struct tenant_c *tc, unsigned long r,
			 sector_t *start, sector_t *len);
int tenant_mark_all_dirty(struct tenant_c *tc);
int tenant_set_leg_state(struct tenant_c *tc, unsigned int i, char state,
			 bool revive);

/* dm-tenant-remote.c */
int tenant_remote_init(struct tenant_c *tc, const char **error);
void tenant_remote_exit(struct tenant_c *tc);
void tenant_remote_write(struct tenant_c *tc, struct tenant_io *io,
			 sector_t offset);
void tenant_remote_flush(struct tenant_c *tc);
void tenant_remote_discard(struct tenant_c *tc, sector_t offset, sector_t len);
bool tenant_remote_holds(struct tenant_c *tc, unsigned long region);
int tenant_remote_recover(struct tenant_c *tc, unsigned int i);
void tenant_remote_assemble(struct tenant_c *tc);
void tenant_remote_suspend(struct tenant_c *tc);
void tenant_remote_quiesce(struct tenant_c *tc);
void tenant_remote_resume(struct tenant_c *tc);
unsigned int tenant_remote_status(struct tenant_c *tc, char *result,
				  unsigned int maxlen, unsigned int sz);

/* dm-tenant-claims.c */
int tenant_claim_extent(struct tenant_c *tc, struct tenant_leg *leg,
			sector_t start, sector_t len);
void tenant_release_claim(struct tenant_leg *leg);

#endif /* DM_TENANT_INTERNAL_H */
