// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tenant: keys and the encrypted data path.
 *
 * The on-disk format is dm-crypt's aes-xts-plain64: one XTS sector per
 * cipher sector, tweak = little-endian (sector + iv_offset), counted in
 * cipher sectors for 4096-byte sectors (dm-crypt's iv_large_sectors).
 *
 * Where dm-crypt queues a write up to four times (crypt workqueue, cryptd,
 * write thread, submission), we do the work in the context that has it:
 *   write: encrypt into bounce pages in the submitter's context (map) and
 *          submit from there; async cipher drivers are waited for there.
 *          Large writes, and small ones while the volume has a deep queue,
 *          take one hop to an unbound workqueue (write_inline_max).
 *   read:  remap dm's clone to the leg and decrypt in place in the bio's
 *          completion context; a completion in hard-IRQ context (where
 *          the crypto API cannot run) goes through our workqueue, and
 *          reads over read_inline_max through the unbound one.
 */

#include <linux/key.h>
#include <linux/key-type.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <keys/user-type.h>

#include "dm-tenant.h"

/*
 * Writes up to this size are encrypted inline, in the submitter's context:
 * no thread hand-off, the lowest latency at low queue depth.  Larger ones
 * go to an unbound workqueue, so that several large writes in flight are
 * encrypted on several CPUs at once, as dm-crypt's kcryptd does; so do
 * small ones submitted while another write is in flight, and the next
 * TENANT_QUEUED_AFTER_BUSY after that: a submitter with a deep queue would
 * otherwise do all the work on its own CPU, and without the tail it falls
 * back inline whenever the queue drained for a moment.  One that waits
 * for each write (QD1) never sees another in flight and keeps the lowest
 * latency.  Legs that complete inside submit_bio (brd) hide a deep queue
 * too; the periodic probe (TENANT_PROBE_EVERY) finds it.
 * 0: every write inline.
 */
static unsigned int write_inline_max = 64 << 10;
module_param(write_inline_max, uint, 0644);
MODULE_PARM_DESC(write_inline_max,
		 "largest write (bytes) encrypted inline; larger ones go to a workqueue (0: all inline)");

/*
 * The same for reads: up to this size they are decrypted in the
 * completion context; larger ones on the unbound workqueue, so that the
 * reads of a deep queue are decrypted on several CPUs (dm-crypt's
 * kcryptd does the same for every read).  0: every read inline.
 */
static unsigned int read_inline_max = 64 << 10;
module_param(read_inline_max, uint, 0644);
MODULE_PARM_DESC(read_inline_max,
		 "largest read (bytes) decrypted inline; larger ones go to a workqueue (0: all inline)");

static inline struct tenant_req *tenant_embedded_req(struct tenant_io *io)
{
	return (void *)io + ALIGN(sizeof(*io), __alignof__(struct tenant_req));
}

size_t tenant_io_size(struct tenant_c *tc)
{
	return ALIGN(sizeof(struct tenant_io), __alignof__(struct tenant_req)) +
	       sizeof(struct tenant_req) + tc->reqsize;
}

/* Copy the logon key named by @ref into @buf; the caller wipes @buf. */
static int tenant_read_keyring(const struct tenant_key_ref *ref, u8 *buf,
			       const char **error)
{
	const struct user_key_payload *ukp;
	struct key *key;
	int r = 0;

	key = request_key(&key_type_logon, ref->desc, NULL);
	if (IS_ERR(key)) {
		r = PTR_ERR(key);
		*error = r == -ENOKEY ?
			"key not found in the keyring (add it as a logon key first)" :
			"key lookup failed (revoked, expired or no permission)";
		return r;
	}

	down_read(&key->sem);
	ukp = user_key_payload_locked(key);
	if (!ukp) {
		*error = "key has been revoked";
		r = -EKEYREVOKED;
	} else if (ukp->datalen != ref->key_size) {
		*error = "key in the keyring does not have the size the table names";
		r = -EINVAL;
	} else {
		memcpy(buf, ukp->data, ref->key_size);
	}
	up_read(&key->sem);
	key_put(key);
	return r;
}

/*
 * Load the key named by @ref into a new cipher transform and make it the
 * target's.  On any failure the previous transform, key string and key
 * state are left exactly as they were.
 */
int tenant_load_key(struct tenant_c *tc, const char *key_string,
		    const struct tenant_key_ref *ref, const char **error)
{
	struct crypto_skcipher *tfm, *old;
	char *new_string;
	u8 *key;
	int r;

	key = kmalloc(ref->key_size, GFP_KERNEL);
	new_string = kstrdup(key_string, GFP_KERNEL);
	if (!key || !new_string) {
		*error = "cannot allocate key buffer";
		r = -ENOMEM;
		goto out_free;
	}

	r = tenant_read_keyring(ref, key, error);
	if (r)
		goto out_free;

	tfm = crypto_alloc_skcipher("xts(aes)", 0, CRYPTO_ALG_ALLOCATES_MEMORY);
	if (IS_ERR(tfm)) {
		r = PTR_ERR(tfm);
		*error = "cannot allocate xts(aes) cipher (are ecb and xts loaded?)";
		goto out_free;
	}

	/* Per-bio data was sized for the first transform's requests. */
	if (tc->reqsize && crypto_skcipher_reqsize(tfm) > tc->reqsize) {
		*error = "cipher driver changed since the table was loaded";
		r = -EINVAL;
		goto out_tfm;
	}

	crypto_skcipher_set_flags(tfm, CRYPTO_TFM_REQ_FORBID_WEAK_KEYS);
	r = crypto_skcipher_setkey(tfm, key, ref->key_size);
	if (r) {
		*error = "cipher refused the key (weak or malformed XTS key)";
		goto out_tfm;
	}

	old = tc->tfm;
	WRITE_ONCE(tc->tfm, tfm);
	kfree(tc->key_string);
	tc->key_string = new_string;
	tc->key_size = ref->key_size;
	if (!tc->reqsize)
		tc->reqsize = crypto_skcipher_reqsize(tfm);
	/* crypto_free_skcipher() zeroes the transform's key schedule. */
	if (old)
		crypto_free_skcipher(old);
	kfree_sensitive(key);
	return 0;

out_tfm:
	crypto_free_skcipher(tfm);
out_free:
	kfree(new_string);
	kfree_sensitive(key);
	return r;
}

/* Forget the key: the transform that holds it is zeroed and freed. */
void tenant_wipe_key(struct tenant_c *tc)
{
	struct crypto_skcipher *tfm = tc->tfm;

	WRITE_ONCE(tc->tfm, NULL);
	if (tfm)
		crypto_free_skcipher(tfm);
}

int tenant_crypt_init(struct tenant_c *tc)
{
	int r;

	mutex_init(&tc->bounce_lock);

	r = bioset_init(&tc->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r)
		return r;
	/* Leg clones share the bounce pages: no bvecs of their own. */
	r = bioset_init(&tc->leg_bs, BIO_POOL_SIZE * tc->nr_legs, 0, 0);
	if (r)
		return r;

	/* One maximal bio's worth of pages guarantees forward progress. */
	r = mempool_init_page_pool(&tc->page_pool, BIO_MAX_VECS, 0);
	if (r)
		return r;

	r = mempool_init_kmalloc_pool(&tc->req_pool, BIO_MAX_VECS,
				      sizeof(struct tenant_req) + tc->reqsize);
	if (r)
		return r;

	tc->wq = alloc_workqueue("kdmtenantd", WQ_MEM_RECLAIM | WQ_HIGHPRI |
				 WQ_CPU_INTENSIVE, 0);
	if (!tc->wq)
		return -ENOMEM;
	/*
	 * One worker per CPU at a time, as dm-crypt's kcryptd: with the
	 * default limit every large write in flight got its own worker, and
	 * they preempted each other mid-encryption.
	 */
	tc->write_wq = alloc_workqueue("kdmtenantd_wr", WQ_MEM_RECLAIM |
				       WQ_UNBOUND | WQ_CPU_INTENSIVE,
				       num_online_cpus());
	if (!tc->write_wq)
		return -ENOMEM;
	return 0;
}

/* Safe on a partly initialised target. */
void tenant_crypt_exit(struct tenant_c *tc)
{
	if (tc->write_wq)
		destroy_workqueue(tc->write_wq);
	if (tc->wq)
		destroy_workqueue(tc->wq);
	mempool_exit(&tc->req_pool);
	mempool_exit(&tc->page_pool);
	bioset_exit(&tc->leg_bs);
	bioset_exit(&tc->bs);
	tenant_wipe_key(tc);
	kfree(tc->key_string);
	tc->key_string = NULL;
}

static void tenant_req_done(tenant_crypto_done_arg_t *areq, int err);

static void tenant_req_init(struct tenant_io *io, struct tenant_req *treq)
{
	treq->io = io;
	skcipher_request_set_tfm(&treq->req, io->tfm);
	/* MAY_BACKLOG: a full driver queue backlogs instead of dropping. */
	skcipher_request_set_callback(&treq->req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				      tenant_req_done, treq);
}

static void tenant_io_init(struct tenant_c *tc, struct tenant_io *io,
			   struct bio *bio, bool write)
{
	io->tc = tc;
	io->tfm = READ_ONCE(tc->tfm);
	io->bio = bio;
	io->write_bio = NULL;
	io->write = write;
	io->status = BLK_STS_OK;
	/* Per-bio data is not zeroed: a flush may have used it last. */
	io->flush = false;
	io->flush_done = false;
	io->failed_legs = 0;
	io->retry_legs = 0;
	io->retries = 0;
	io->tried_legs = 0;
	io->cc_sector = dm_target_offset(tc->ti, bio->bi_iter.bi_sector) +
			tc->iv_offset;
	atomic_set(&io->pending, 1);
	io->req = tenant_embedded_req(io);
	tenant_req_init(io, io->req);
}

static void tenant_release_req(struct tenant_io *io)
{
	if (io->req && io->req != tenant_embedded_req(io))
		mempool_free(io->req, &io->tc->req_pool);
	io->req = NULL;
}

static void tenant_crypt_error(struct tenant_io *io, int err)
{
	/* Racing writers all store an error; any one of them will do. */
	WRITE_ONCE(io->status, errno_to_blk_status(err));
	DMERR_LIMIT("%s/%s: cipher error %d", io->tc->tenant, io->tc->volume,
		    err);
}

static void tenant_read_finish(struct tenant_io *io)
{
	struct bio *bio = io->bio;

	if (unlikely(io->status)) {
		atomic64_inc(&io->tc->stats.crypt_errors);
		bio->bi_status = io->status;
	}
	bio->bi_end_io = io->orig_end_io;
	bio_endio(bio);
}

/* Drop one reference; the last one finishes the cipher stage. */
static void tenant_io_put(struct tenant_io *io)
{
	if (!atomic_dec_and_test(&io->pending))
		return;
	if (io->write)
		complete(&io->done);
	else
		tenant_read_finish(io);
}

static void tenant_req_done(tenant_crypto_done_arg_t *areq, int err)
{
	struct tenant_req *treq = tenant_crypto_done_data(areq);
	struct tenant_io *io = treq->io;

	/* Moved out of the backlog; the final completion follows. */
	if (err == -EINPROGRESS)
		return;
	if (unlikely(err))
		tenant_crypt_error(io, err);
	if (treq != tenant_embedded_req(io))
		mempool_free(treq, &io->tc->req_pool);
	tenant_io_put(io);
}

/*
 * Hand every remaining cipher sector of @io to the cipher.  Returns -EAGAIN
 * if a request could not be allocated with @gfp (only for non-sleeping
 * masks); the iterators then say where to continue.
 */
static int tenant_convert(struct tenant_io *io, gfp_t gfp)
{
	struct tenant_c *tc = io->tc;
	unsigned int len = tc->sector_size;
	struct bio *out = io->write ? io->write_bio : io->bio;

	while (io->iter_in.bi_size) {
		struct bio_vec bv_in = bio_iter_iovec(io->bio, io->iter_in);
		struct bio_vec bv_out = bio_iter_iovec(out, io->iter_out);
		struct tenant_req *treq = io->req;
		int r;

		/* A cipher sector must not straddle a segment (io_hints). */
		if (unlikely(bv_in.bv_len < len || bv_out.bv_len < len)) {
			tenant_crypt_error(io, -EIO);
			return 0;
		}

		if (!treq) {
			treq = mempool_alloc(&tc->req_pool, gfp);
			if (!treq)
				return -EAGAIN;
			tenant_req_init(io, treq);
			io->req = treq;
		}

		sg_init_table(&treq->sg_in, 1);
		sg_set_page(&treq->sg_in, bv_in.bv_page, len, bv_in.bv_offset);
		sg_init_table(&treq->sg_out, 1);
		sg_set_page(&treq->sg_out, bv_out.bv_page, len, bv_out.bv_offset);
		memset(treq->iv, 0, sizeof(treq->iv));
		*(__le64 *)treq->iv = cpu_to_le64(io->cc_sector >> tc->sector_shift);
		skcipher_request_set_crypt(&treq->req, &treq->sg_in,
					   &treq->sg_out, len, treq->iv);

		atomic_inc(&io->pending);
		r = io->write ? crypto_skcipher_encrypt(&treq->req) :
				crypto_skcipher_decrypt(&treq->req);
		switch (r) {
		case 0:
			/* Done synchronously: reuse the request. */
			atomic_dec(&io->pending);
			break;
		case -EINPROGRESS:
		case -EBUSY:
			/* The driver owns it until tenant_req_done(). */
			io->req = NULL;
			break;
		default:
			atomic_dec(&io->pending);
			tenant_crypt_error(io, r);
			return 0;
		}

		bio_advance_iter(io->bio, &io->iter_in, len);
		bio_advance_iter(out, &io->iter_out, len);
		io->cc_sector += len >> SECTOR_SHIFT;
	}
	return 0;
}

/* ---- reads ---- */

static void tenant_read_decrypt(struct tenant_io *io, gfp_t gfp);

static void tenant_read_work(struct work_struct *work)
{
	tenant_read_decrypt(container_of(work, struct tenant_io, work),
			    GFP_NOIO);
}

static void tenant_read_decrypt(struct tenant_io *io, gfp_t gfp)
{
	if (tenant_convert(io, gfp) == -EAGAIN) {
		/* Out of atomic memory: finish in process context. */
		INIT_WORK(&io->work, tenant_read_work);
		queue_work(io->tc->wq, &io->work);
		return;
	}
	tenant_release_req(io);
	tenant_io_put(io);
}

static void tenant_read_endio(struct bio *bio)
{
	struct tenant_io *io = bio->bi_private;
	struct tenant_c *tc = io->tc;

	/* Errors, and successful retries (to heal the bad leg), need a
	 * process context: the mirror's worker takes them.
	 */
	if (unlikely(bio->bi_status || io->tried_legs)) {
		if (tenant_mirrored(tc)) {
			tenant_defer_failed(tc, bio);
			return;
		}
		atomic64_inc(&tc->stats.read_errors);
		bio->bi_end_io = io->orig_end_io;
		bio_endio(bio);
		return;
	}

	io->iter_in = io->orig_iter;
	io->iter_out = io->orig_iter;

	/* The crypto API cannot run in hard-IRQ context. */
	if (unlikely(in_hardirq() || irqs_disabled())) {
		INIT_WORK(&io->work, tenant_read_work);
		queue_work(tc->wq, &io->work);
		return;
	}
	if (io->orig_iter.bi_size > READ_ONCE(read_inline_max) &&
	    READ_ONCE(read_inline_max)) {
		INIT_WORK(&io->work, tenant_read_work);
		queue_work(tc->write_wq, &io->work);
		return;
	}
	/* Completion context may hold locks: never sleep here. */
	tenant_read_decrypt(io, GFP_NOWAIT | __GFP_NOWARN);
}

/* Process context: decrypt (or fail, if io->status is set) a read. */
void tenant_read_decrypt_now(struct tenant_io *io)
{
	if (unlikely(io->status)) {
		atomic64_inc(&io->tc->stats.read_errors);
		io->bio->bi_status = io->status;
		io->bio->bi_end_io = io->orig_end_io;
		bio_endio(io->bio);
		return;
	}
	io->iter_in = io->orig_iter;
	io->iter_out = io->orig_iter;
	tenant_read_decrypt(io, GFP_NOIO);
}

static void tenant_read_remap(struct tenant_c *tc, struct bio *bio,
			      struct tenant_io *io, int leg)
{
	io->read_leg = leg;
	bio_set_dev(bio, tc->legs[leg].dev->bdev);
	bio->bi_iter.bi_sector = tc->legs[leg].start +
		dm_target_offset(tc->ti, io->orig_iter.bi_sector);
}

/* Send a failed read to another leg (process context). */
void tenant_read_resubmit(struct tenant_c *tc, struct bio *bio, int leg)
{
	struct tenant_io *io = bio->bi_private;

	bio->bi_iter = io->orig_iter;
	bio->bi_status = BLK_STS_OK;
	tenant_read_remap(tc, bio, io, leg);
	submit_bio_noacct(bio);
}

int tenant_map_read(struct tenant_c *tc, struct bio *bio)
{
	struct tenant_io *io = dm_per_bio_data(bio, tc->ti->per_io_data_size);
	int leg = tenant_read_leg(tc, bio);

	if (unlikely(leg < 0))
		return DM_MAPIO_KILL;
	tenant_io_init(tc, io, bio, false);
	io->orig_iter = bio->bi_iter;
	io->orig_end_io = bio->bi_end_io;
	bio->bi_end_io = tenant_read_endio;
	bio->bi_private = io;
	tenant_read_remap(tc, bio, io, leg);
	return DM_MAPIO_REMAPPED;
}

/* ---- writes ---- */

/*
 * Bounce pages go back to this CPU's stash, or to the page pool when its
 * reserve ran low (a writer may be waiting there for them) or the stash is
 * full.
 */
static void tenant_free_bounce(struct tenant_c *tc, struct bio *clone)
{
	struct bvec_iter_all iter_all;
	struct tenant_stash *s;
	unsigned long flags;
	struct bio_vec *bv;

	if (READ_ONCE(tc->page_pool.curr_nr) < tc->page_pool.min_nr) {
		bio_for_each_segment_all(bv, clone, iter_all)
			mempool_free(bv->bv_page, &tc->page_pool);
		return;
	}
	s = tenant_stash_lock(&flags);
	bio_for_each_segment_all(bv, clone, iter_all)
		if (!tenant_stash_push(s, bv->bv_page))
			mempool_free(bv->bv_page, &tc->page_pool);
	tenant_stash_unlock(s, flags);
}

/* All legs are done (process context or endio): complete the write. */
void tenant_write_finish(struct tenant_io *io)
{
	struct tenant_c *tc = io->tc;

	tenant_free_bounce(tc, io->write_bio);
	bio_put(io->write_bio);
	atomic_dec(&tc->writes_inflight);
	if (tenant_mirrored(tc))
		tenant_region_end_write(tc, io->region);
	if (unlikely(io->status)) {
		atomic64_inc(&tc->stats.write_errors);
		io->bio->bi_status = io->status;
	}
	bio_endio(io->bio);
}

static void tenant_leg_write_endio(struct bio *lbio)
{
	u8 *idx = lbio->bi_private;
	unsigned int leg = *idx;
	struct tenant_io *io = container_of(idx - leg, struct tenant_io,
					    leg_idx[0]);
	struct tenant_c *tc = io->tc;

	if (unlikely(lbio->bi_status)) {
		if (tenant_mirrored(tc)) {
			atomic64_inc(&tc->legs[leg].write_errors);
			set_bit(leg, tenant_leg_error_transient(lbio->bi_status) ?
				&io->retry_legs : &io->failed_legs);
		} else {
			io->status = lbio->bi_status;
		}
	}
	if (lbio != io->write_bio)
		bio_put(lbio);
	if (!atomic_dec_and_test(&io->legs_pending))
		return;
	/* A leg failed: retry, or fail it, before the write is answered. */
	if (unlikely(io->failed_legs | io->retry_legs)) {
		tenant_defer_failed(tc, io->bio);
		return;
	}
	tenant_write_finish(io);
}

/*
 * Send the ciphertext to every synchronous leg that is not failed: the
 * bounce bio to the first, clones sharing its pages to the others.
 * Asynchronous remote legs get their copy through the remote stream.
 */
static int tenant_submit_legs(struct tenant_c *tc, struct tenant_io *io,
			      sector_t offset)
{
	struct bio *lbios[DM_TENANT_MAX_LEGS];
	struct bio *clone = io->write_bio;
	unsigned long sent = 0;
	unsigned int i, n = 0;

	for (i = 0; i < tc->nr_legs; i++) {
		struct tenant_leg *leg = &tc->legs[i];
		struct bio *lbio;

		if (READ_ONCE(leg->state) == TENANT_LEG_DEAD ||
		    tenant_leg_async(tc, i))
			continue;
		if (!n) {
			lbio = clone;
			bio_set_dev(lbio, leg->dev->bdev);
		} else {
			lbio = bio_alloc_clone(leg->dev->bdev, clone, GFP_NOIO,
					       &tc->leg_bs);
		}
		lbio->bi_iter.bi_sector = leg->start + offset;
		lbio->bi_end_io = tenant_leg_write_endio;
		io->leg_idx[i] = i;
		lbio->bi_private = &io->leg_idx[i];
		lbios[n++] = lbio;
		__set_bit(i, &sent);
	}
	if (!n)
		return -EIO;

	io->sent_legs = sent;
	atomic_set(&io->legs_pending, n);
	for (i = 0; i < n; i++)
		dm_submit_bio_remap(io->bio, lbios[i]);
	return 0;
}

/*
 * Send the write again to the legs in io->retry_legs, after a transient
 * error (process context).  The bounce bio has completed, so every leg
 * gets a fresh clone of its pages, covering the whole write again.
 */
void tenant_write_retry(struct tenant_c *tc, struct tenant_io *io)
{
	sector_t offset = dm_target_offset(tc->ti, io->bio->bi_iter.bi_sector);
	unsigned long legs = io->retry_legs;
	struct bio *lbios[DM_TENANT_MAX_LEGS];
	unsigned int i, n = 0;

	io->retry_legs = 0;
	for_each_set_bit(i, &legs, tc->nr_legs) {
		struct tenant_leg *leg = &tc->legs[i];
		struct bio *lbio;

		if (READ_ONCE(leg->state) == TENANT_LEG_DEAD) {
			/* Failed meanwhile: it does not hold the write. */
			set_bit(i, &io->failed_legs);
			continue;
		}
		lbio = bio_alloc_clone(leg->dev->bdev, io->write_bio, GFP_NOIO,
				       &tc->leg_bs);
		lbio->bi_opf &= ~REQ_NOWAIT;
		lbio->bi_iter.bi_sector = leg->start + offset;
		lbio->bi_iter.bi_size = io->bio->bi_iter.bi_size;
		lbio->bi_iter.bi_idx = 0;
		lbio->bi_iter.bi_bvec_done = 0;
		lbio->bi_end_io = tenant_leg_write_endio;
		lbio->bi_private = &io->leg_idx[i];
		lbios[n++] = lbio;
	}
	if (!n) {
		tenant_defer_failed(tc, io->bio);
		return;
	}
	atomic_set(&io->legs_pending, n);
	for (i = 0; i < n; i++)
		submit_bio_noacct(lbios[i]);
}

/*
 * Bounce pages for the ciphertext: from this CPU's stash first, then from
 * the allocator.  The first try never sleeps; under memory pressure one
 * bio at a time waits on the page pool, which holds a maximal bio's
 * worth, so every waiter eventually makes progress.
 */
static struct bio *tenant_alloc_bounce(struct tenant_io *io, unsigned int size)
{
	struct tenant_c *tc = io->tc;
	unsigned int nr = DIV_ROUND_UP(size, PAGE_SIZE);
	gfp_t gfp = GFP_NOWAIT | __GFP_HIGHMEM;
	unsigned int remaining, len;
	struct tenant_stash *s;
	unsigned long flags;
	struct bio *clone;
	struct page *page;

retry:
	if (gfp & __GFP_DIRECT_RECLAIM)
		mutex_lock(&tc->bounce_lock);

	clone = bio_alloc_bioset(tc->legs[0].dev->bdev, nr, io->bio->bi_opf,
				 GFP_NOIO, &tc->bs);

	s = tenant_stash_lock(&flags);
	for (remaining = size; remaining; remaining -= len) {
		page = tenant_stash_pop(s);
		if (!page)
			break;
		len = min_t(unsigned int, remaining, PAGE_SIZE);
		__bio_add_page(clone, page, len, 0);
	}
	tenant_stash_unlock(s, flags);

	for (; remaining; remaining -= len) {
		page = mempool_alloc(&tc->page_pool, gfp);
		if (!page) {
			tenant_free_bounce(tc, clone);
			bio_put(clone);
			gfp |= __GFP_DIRECT_RECLAIM;
			goto retry;
		}
		len = min_t(unsigned int, remaining, PAGE_SIZE);
		__bio_add_page(clone, page, len, 0);
	}

	if (gfp & __GFP_DIRECT_RECLAIM)
		mutex_unlock(&tc->bounce_lock);
	return clone;
}

/*
 * Encrypt the write into bounce pages and send it to the legs.  Map
 * context, or the write worker for writes that had to wait; the region
 * (mirrored volumes) is already counted in.
 */
void tenant_write_continue(struct tenant_c *tc, struct tenant_io *io)
{
	struct bio *bio = io->bio;
	sector_t offset = dm_target_offset(tc->ti, bio->bi_iter.bi_sector);
	struct bio *clone;

	clone = tenant_alloc_bounce(io, bio->bi_iter.bi_size);
	io->write_bio = clone;
	io->iter_in = bio->bi_iter;
	io->iter_out = clone->bi_iter;
	init_completion(&io->done);

	tenant_convert(io, GFP_NOIO);
	tenant_release_req(io);
	/* Like dm-crypt's inline writes: wait here for an async driver. */
	if (!atomic_dec_and_test(&io->pending))
		wait_for_completion(&io->done);

	if (unlikely(io->status)) {
		atomic64_inc(&tc->stats.crypt_errors);
		goto fail;
	}
	if (tc->rm.async)
		tenant_remote_write(tc, io, offset);
	if (tenant_submit_legs(tc, io, offset)) {
		io->status = BLK_STS_IOERR;
		goto fail;
	}
	return;

fail:
	tenant_free_bounce(tc, clone);
	bio_put(clone);
	atomic_dec(&tc->writes_inflight);
	if (tenant_mirrored(tc))
		tenant_region_end_write(tc, io->region);
	bio->bi_status = io->status;
	bio_endio(bio);
}

static void tenant_encrypt_work(struct work_struct *work)
{
	struct tenant_io *io = container_of(work, struct tenant_io, work);

	tenant_write_continue(io->tc, io);
}

#define TENANT_QUEUED_AFTER_BUSY 64
#define TENANT_PROBE_WRITES 8

/*
 * Legs that complete inside submit_bio (brd, pmem, zram) answer every
 * inline write before its submitter can send the next one, so even a
 * deep queue never shows a write in flight.  After TENANT_PROBE_EVERY
 * inline writes in a row, the next TENANT_PROBE_WRITES are queued (a
 * probe): a deep queue then overlaps them and stays queued while it
 * lasts; a writer that waits for each write pays the hop on those few
 * and goes back inline (8 writes in 4096).  A deep queue whose writes the
 * workers finish as fast as they come stops overlapping now and then and
 * falls back inline: after a probe or a stretch that found one, the next
 * probe comes after TENANT_PROBE_AGAIN writes.
 */
#define TENANT_PROBE_EVERY 4096
#define TENANT_PROBE_AGAIN 256

/*
 * Encrypt and submit here, or on the write workqueue if the write is large
 * or the volume has a deep queue.  queued_left, inline_run and deep_seen
 * are hints shared without a lock, written only when they change.
 */
void tenant_write_dispatch(struct tenant_c *tc, struct tenant_io *io)
{
	unsigned int inline_max = READ_ONCE(write_inline_max);
	unsigned int left = READ_ONCE(tc->queued_left);
	unsigned int run;
	bool deep;

	if (atomic_inc_return(&tc->writes_inflight) > 1) {
		deep = true;
		if (left != TENANT_QUEUED_AFTER_BUSY)
			WRITE_ONCE(tc->queued_left, TENANT_QUEUED_AFTER_BUSY);
		if (!READ_ONCE(tc->deep_seen))
			WRITE_ONCE(tc->deep_seen, true);
	} else if (left) {
		deep = true;
		WRITE_ONCE(tc->queued_left, left - 1);
	} else {
		run = READ_ONCE(tc->inline_run) + 1;
		deep = run >= (READ_ONCE(tc->deep_seen) ? TENANT_PROBE_AGAIN :
						       TENANT_PROBE_EVERY);
		WRITE_ONCE(tc->inline_run, deep ? 0 : run);
		if (deep) {
			WRITE_ONCE(tc->queued_left, TENANT_PROBE_WRITES - 1);
			WRITE_ONCE(tc->deep_seen, false);
		}
	}

	if (inline_max && (io->bio->bi_iter.bi_size > inline_max || deep)) {
		INIT_WORK(&io->work, tenant_encrypt_work);
		queue_work(tc->write_wq, &io->work);
		return;
	}
	tenant_write_continue(tc, io);
}

int tenant_map_write(struct tenant_c *tc, struct bio *bio)
{
	struct tenant_io *io = dm_per_bio_data(bio, tc->ti->per_io_data_size);

	/* Bounce bios are built from single pages: at most BIO_MAX_VECS. */
	if (unlikely(bio->bi_iter.bi_size > (BIO_MAX_VECS << PAGE_SHIFT)))
		dm_accept_partial_bio(bio, (BIO_MAX_VECS << PAGE_SHIFT) >>
				      SECTOR_SHIFT);

	tenant_io_init(tc, io, bio, true);
	if (tenant_mirrored(tc)) {
		/* tenant_map() keeps every bio inside one region. */
		io->region = dm_target_offset(tc->ti, bio->bi_iter.bi_sector) >>
			     tc->bm.region_shift;
		if (unlikely(tenant_region_start_write(tc, io->region, false))) {
			tenant_defer_write(tc, bio);
			return DM_MAPIO_SUBMITTED;
		}
	}
	tenant_write_dispatch(tc, io);
	return DM_MAPIO_SUBMITTED;
}
