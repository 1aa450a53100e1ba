// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tenant: extent claims (logical segregation on shared disks).
 *
 * Every leg claims its metadata area and data, [start - metadata, start +
 * len), of its device for its volume; legs of one volume may not overlap.  dm
 * core lets any number of tables share a block device, so this registry is
 * what stops a second volume from being mapped over a tenant's data.
 *
 * Claims are keyed by the owning mapped device: a reload of the same device
 * (new table built while the old one is live) may claim the same extent,
 * another device may not.  Extents are compared on the whole disk, so a
 * partition and its disk cannot be used to alias the same sectors.  A
 * volume (tenant/volume pair) may be live in one mapped device only.
 *
 * The registry is touched only from ctr and dtr, never per bio.
 */

#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/slab.h>

#include "dm-tenant.h"

struct tenant_claim {
	struct list_head list;
	struct mapped_device *md;
	struct tenant_c *owner;
	dev_t disk;			/* whole disk */
	sector_t start;			/* on the whole disk */
	sector_t len;
	char tenant[DM_TENANT_ID_MAX + 1];
	char volume[DM_TENANT_ID_MAX + 1];
};

static LIST_HEAD(tenant_claims);
static DEFINE_MUTEX(tenant_claims_lock);

static bool tenant_extents_overlap(const struct tenant_claim *a,
				   const struct tenant_claim *b)
{
	return a->disk == b->disk && a->start < b->start + b->len &&
	       b->start < a->start + a->len;
}

int tenant_claim_extent(struct tenant_c *tc, struct tenant_leg *leg,
			sector_t start, sector_t len)
{
	struct block_device *bdev = leg->dev->bdev;
	struct tenant_claim *claim, *other;
	int r = 0;

	claim = kzalloc(sizeof(*claim), GFP_KERNEL);
	if (!claim) {
		tc->ti->error = "cannot allocate extent claim";
		return -ENOMEM;
	}
	claim->md = dm_table_get_md(tc->ti->table);
	claim->owner = tc;
	claim->disk = bdev_whole(bdev)->bd_dev;
	claim->start = bdev->bd_start_sect + start;
	claim->len = len;
	strscpy(claim->tenant, tc->tenant, sizeof(claim->tenant));
	strscpy(claim->volume, tc->volume, sizeof(claim->volume));

	mutex_lock(&tenant_claims_lock);
	list_for_each_entry(other, &tenant_claims, list) {
		if (other->owner == tc && tenant_extents_overlap(claim, other)) {
			tc->ti->error = "two legs of the volume overlap";
			r = -EINVAL;
			break;
		}
		if (other->md == claim->md)
			continue;
		if (tenant_extents_overlap(claim, other)) {
			DMERR("%s/%s: extent %llu+%llu of %pg overlaps volume %s/%s",
			      tc->tenant, tc->volume,
			      (unsigned long long)start,
			      (unsigned long long)len, bdev,
			      other->tenant, other->volume);
			tc->ti->error = "leg extent overlaps another volume's claim";
			r = -EBUSY;
			break;
		}
		if (!strcmp(other->tenant, claim->tenant) &&
		    !strcmp(other->volume, claim->volume)) {
			DMERR("%s/%s: volume is already live in another device",
			      tc->tenant, tc->volume);
			tc->ti->error = "volume is already live in another device";
			r = -EBUSY;
			break;
		}
	}
	if (!r)
		list_add_tail(&claim->list, &tenant_claims);
	mutex_unlock(&tenant_claims_lock);

	if (r)
		kfree(claim);
	else
		leg->claim = claim;
	return r;
}

void tenant_release_claim(struct tenant_leg *leg)
{
	if (!leg->claim)
		return;
	mutex_lock(&tenant_claims_lock);
	list_del(&leg->claim->list);
	mutex_unlock(&tenant_claims_lock);
	kfree(leg->claim);
	leg->claim = NULL;
}
