/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-tenant: internal definitions shared by the target, its crypto path
 * and the extent-claim registry.
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
#include <linux/scatterlist.h>
#include <linux/workqueue.h>
#include <crypto/skcipher.h>

#include "tenant-table.h"

#define DM_MSG_PREFIX "tenant"

#define TENANT_IV_SIZE 16	/* plain64 in a 16-byte XTS tweak */

struct tenant_claim;

struct tenant_leg {
	struct dm_dev *dev;
	sector_t start;			/* data start on the leg, 512B sectors */
	enum tenant_leg_class cls;
	struct tenant_claim *claim;
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

	u64 iv_offset;			/* 512B sectors */
	unsigned int sector_size;
	unsigned int sector_shift;	/* log2(sector_size / 512) */
	bool allow_discards;

	unsigned int nr_legs;
	struct tenant_leg legs[DM_TENANT_MAX_LEGS];

	struct bio_set bs;
	mempool_t page_pool;
	mempool_t req_pool;
	struct mutex bounce_lock;	/* taken only when memory is short */
	struct workqueue_struct *wq;

	struct tenant_stats stats;
};

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
	struct tenant_req *req;		/* request to reuse, or NULL */
	struct completion done;		/* writes: async crypto finished */
	struct work_struct work;
	/* followed by an embedded struct tenant_req + driver context */
};

/* dm-tenant-crypt.c */
int tenant_crypt_init(struct tenant_c *tc);
void tenant_crypt_exit(struct tenant_c *tc);
int tenant_load_key(struct tenant_c *tc, const char *key_string,
		    const struct tenant_key_ref *ref, const char **error);
void tenant_wipe_key(struct tenant_c *tc);
size_t tenant_io_size(struct tenant_c *tc);
int tenant_map_write(struct tenant_c *tc, struct bio *bio);
int tenant_map_read(struct tenant_c *tc, struct bio *bio);

/* dm-tenant-claims.c */
int tenant_claim_extent(struct tenant_c *tc, struct tenant_leg *leg,
			sector_t len);
void tenant_release_claim(struct tenant_leg *leg);

#endif /* DM_TENANT_INTERNAL_H */
