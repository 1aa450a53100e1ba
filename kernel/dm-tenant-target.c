// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tenant: a device-mapper target for multi-tenant hosts.  Each volume is
 * encrypted with its own key, bound to its tenant through the key's keyring
 * description, on extents no other volume may map.
 *
 * Table, status and messages: Documentation/dm-tenant.rst.
 */

#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dm-tenant.h"

static void tenant_dtr(struct dm_target *ti);

static int tenant_open_leg(struct tenant_c *tc,
			   const struct tenant_leg_spec *spec)
{
	struct dm_target *ti = tc->ti;
	struct tenant_leg *leg = &tc->legs[tc->nr_legs];
	int r;

	if (spec->offset > (u64)(~(sector_t)0) - ti->len) {
		ti->error = "leg offset + length overflows";
		return -EINVAL;
	}
	if (spec->offset & ((tc->sector_size >> SECTOR_SHIFT) - 1)) {
		ti->error = "leg offset must be a multiple of the sector size";
		return -EINVAL;
	}

	r = dm_get_device(ti, spec->path, dm_table_get_mode(ti->table),
			  &leg->dev);
	if (r) {
		ti->error = "cannot open leg device";
		return r;
	}
	leg->start = spec->offset;
	leg->cls = spec->cls;
	leg->state = TENANT_LEG_ALIVE;
	atomic64_set(&leg->read_errors, 0);
	atomic64_set(&leg->write_errors, 0);
	tc->nr_legs++;

	return tenant_claim_extent(tc, leg, leg->start - tc->bm.meta_sectors,
				   ti->len + tc->bm.meta_sectors);
}

/*
 * Construct a tenant mapping:
 *
 *   <tenant> <volume> <cipher> <key_ref> <iv_offset>
 *   <#legs> <class> <dev> <offset> [<class> <dev> <offset>]...
 *   [<#opt_args> <opt_arg>...]
 *
 *   tenant, volume  ids: 1..23 of [A-Za-z0-9._-], starting alphanumeric
 *   cipher          aes-xts-plain64
 *   key_ref         :<32|64>:logon:dm-tenant:<tenant>:<volume>
 *   iv_offset       added to the sector number for the IV (512B sectors)
 *   class           local | zone | remote
 *   dev, offset     leg device and data start on it (512B sectors)
 *   opt_args        allow_discards, sector_size:<512|4096>,
 *                   metadata:<sectors>, region_size:<sectors>,
 *                   min_sync:<n>, nosync, remote_budget:<bytes>,
 *                   remote_sync
 *
 * Writes are encrypted once and go to every leg that has not failed;
 * metadata:<sectors> before each leg's offset holds the superblock and the
 * write-intent bitmap (see dm-tenant-mirror.c).  Remote legs are written
 * asynchronously behind the others (dm-tenant-remote.c) unless the table
 * says remote_sync or the volume has no other leg.
 */
static int tenant_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct tenant_table_spec spec;
	struct tenant_c *tc;
	const char *err;
	unsigned int i;
	int r;

	r = tenant_parse_table(argc, argv, &spec, &err);
	/* Never keep what looks like key material around. */
	if (argc > 3 && argv[3][0] != ':')
		memzero_explicit(argv[3], strlen(argv[3]));
	if (r) {
		ti->error = (char *)err;
		return r;
	}

	if (ti->len & ((spec.sector_size >> SECTOR_SHIFT) - 1)) {
		ti->error = "device length must be a multiple of the sector size";
		return -EINVAL;
	}

	tc = kzalloc(sizeof(*tc), GFP_KERNEL);
	if (!tc) {
		ti->error = "cannot allocate context";
		return -ENOMEM;
	}
	ti->private = tc;
	tc->ti = ti;
	strscpy(tc->tenant, spec.tenant, sizeof(tc->tenant));
	strscpy(tc->volume, spec.volume, sizeof(tc->volume));
	tc->iv_offset = spec.iv_offset;
	tc->sector_size = spec.sector_size;
	tc->sector_shift = __ffs(spec.sector_size >> SECTOR_SHIFT);
	tc->allow_discards = spec.allow_discards;
	tc->bm.meta_sectors = spec.meta_sectors;
	tc->bm.region_shift = spec.region_size ? __ffs(spec.region_size) : 0;
	tc->min_sync = spec.min_sync;
	tc->nosync = spec.nosync;
	tc->remote_sync = spec.remote_sync;
	tc->remote_budget = spec.remote_budget;

	for (i = 0; i < spec.nr_legs; i++) {
		r = tenant_open_leg(tc, &spec.legs[i]);
		if (r)
			goto bad;
	}

	r = tenant_load_key(tc, spec.key_string, &spec.key, &err);
	if (r) {
		ti->error = (char *)err;
		goto bad;
	}

	r = tenant_crypt_init(tc);
	if (r) {
		ti->error = "cannot allocate memory pools";
		goto bad;
	}

	r = tenant_mirror_init(tc, &err);
	if (r) {
		ti->error = (char *)err;
		goto bad;
	}

	r = tenant_remote_init(tc, &err);
	if (r) {
		ti->error = (char *)err;
		goto bad;
	}

	ti->per_io_data_size = tenant_io_size(tc);
	/* One flush (and discard) per leg: dm_bio_get_target_bio_nr(). */
	ti->num_flush_bios = tc->nr_legs;
	ti->num_discard_bios = tc->allow_discards ? tc->nr_legs : 0;
	ti->accounts_remapped_io = true;
	return 0;

bad:
	tenant_dtr(ti);
	return r;
}

/* Safe on a half-built context. */
static void tenant_dtr(struct dm_target *ti)
{
	struct tenant_c *tc = ti->private;
	unsigned int i;

	if (!tc)
		return;
	/* Its completions queue work on tc->wq: wait before that goes. */
	tenant_remote_quiesce(tc);
	tenant_crypt_exit(tc);
	tenant_remote_exit(tc);
	tenant_mirror_exit(tc);
	for (i = 0; i < tc->nr_legs; i++) {
		tenant_release_claim(&tc->legs[i]);
		dm_put_device(ti, tc->legs[i].dev);
	}
	kfree(tc);
	ti->private = NULL;
}

/*
 * Keep a data bio inside one region (write intent and read choice are per
 * region).  Split here rather than with ti->max_io_len: dm core then also
 * splits at the stacked max_sectors, 255 sectors for brd and other
 * drivers that set none, which misaligns every leg write with the page.
 */
static void tenant_clip_to_region(struct tenant_c *tc, struct bio *bio)
{
	sector_t size = (sector_t)1 << tc->bm.region_shift;
	sector_t left = size - (dm_target_offset(tc->ti, bio->bi_iter.bi_sector) &
				(size - 1));

	if (bio_sectors(bio) > left)
		dm_accept_partial_bio(bio, left);
}

static int tenant_map(struct dm_target *ti, struct bio *bio)
{
	struct tenant_c *tc = ti->private;
	sector_t mask = (tc->sector_size >> SECTOR_SHIFT) - 1;

	/*
	 * Flushes and discards carry no data to encrypt: dm core sends one
	 * per leg.  A discard is ordered by the caller's own flushes.
	 */
	if (unlikely(bio->bi_opf & REQ_PREFLUSH ||
		     bio_op(bio) == REQ_OP_DISCARD)) {
		unsigned int i = dm_bio_get_target_bio_nr(bio);
		struct tenant_leg *leg = &tc->legs[i];
		struct tenant_io *io = dm_per_bio_data(bio,
						       ti->per_io_data_size);
		sector_t offset = dm_target_offset(ti, bio->bi_iter.bi_sector);

		io->discard_held = false;

		/*
		 * Asynchronous legs get flushes and discards in stream order
		 * (one stream entry for all of them): a flush ends an epoch
		 * of the remote stream.
		 */
		if (tenant_leg_async(tc, i)) {
			if (i == tc->rm.flush_leg && bio->bi_opf & REQ_PREFLUSH)
				tenant_remote_flush(tc);
			else if (i == tc->rm.flush_leg)
				tenant_remote_discard(tc, offset, bio_sectors(bio));
			bio_endio(bio);
			return DM_MAPIO_SUBMITTED;
		}
		if (READ_ONCE(leg->state) == TENANT_LEG_DEAD) {
			bio_endio(bio);
			return DM_MAPIO_SUBMITTED;
		}
		io->tc = tc;
		io->flush = !bio_sectors(bio);
		io->flush_done = false;
		io->read_leg = i;
		bio_set_dev(bio, leg->dev->bdev);
		if (bio_sectors(bio))
			bio->bi_iter.bi_sector = leg->start + offset;
		if (bio_op(bio) != REQ_OP_DISCARD)
			return DM_MAPIO_REMAPPED;
		if (!i)
			atomic64_inc(&tc->stats.discards);
		if (tenant_mirrored(tc))
			return tenant_map_discard(tc, bio, offset);
		return DM_MAPIO_REMAPPED;
	}

	if (unlikely((dm_target_offset(ti, bio->bi_iter.bi_sector) |
		      bio_sectors(bio)) & mask))
		return DM_MAPIO_KILL;

	/* Resume is refused without a key; this only guards a bug. */
	if (unlikely(!READ_ONCE(tc->tfm)))
		return DM_MAPIO_KILL;

	if (tenant_mirrored(tc))
		tenant_clip_to_region(tc, bio);

	if (bio_data_dir(bio) == WRITE) {
		atomic64_inc(&tc->stats.writes);
		return tenant_map_write(tc, bio);
	}
	atomic64_inc(&tc->stats.reads);
	return tenant_map_read(tc, bio);
}

/*
 * A leg that fails a flush may have lost cached writes: it is failed (in
 * process context, before the flush is answered) and the flush succeeds
 * if legs remain.
 */
static int tenant_end_io(struct dm_target *ti, struct bio *bio,
			 blk_status_t *error)
{
	struct tenant_c *tc = ti->private;
	struct tenant_io *io;

	if (bio_op(bio) == REQ_OP_DISCARD && tenant_mirrored(tc))
		tenant_discard_done(tc, bio);
	if (likely(!*error) || !tenant_mirrored(tc) ||
	    !(bio->bi_opf & REQ_PREFLUSH) || bio_sectors(bio))
		return DM_ENDIO_DONE;
	io = dm_per_bio_data(bio, ti->per_io_data_size);
	if (io->flush_done)
		return DM_ENDIO_DONE;
	tenant_defer_failed(tc, bio);
	return DM_ENDIO_INCOMPLETE;
}

static void tenant_status_table(struct tenant_c *tc, char *result,
				unsigned int maxlen)
{
	const char *names[DM_TENANT_MAX_LEGS];
	struct tenant_table_spec spec = {
		.tenant = tc->tenant,
		.volume = tc->volume,
		.cipher = DM_TENANT_CIPHER,
		.key_string = tc->key_string,
		.iv_offset = tc->iv_offset,
		.nr_legs = tc->nr_legs,
		.sector_size = tc->sector_size,
		.allow_discards = tc->allow_discards,
		.meta_sectors = tc->bm.meta_sectors,
		.region_size = tc->bm.region_shift ?
			       1U << tc->bm.region_shift : 0,
		.min_sync = tc->min_sync,
		.nosync = tc->nosync,
		.remote_budget = tc->remote_budget,
		.remote_sync = tc->remote_sync,
	};
	const char *unused;
	unsigned int i;

	/* The stored reference parsed at ctr or key set; it cannot fail. */
	if (tenant_parse_key_ref(tc->key_string, &spec.key, &unused))
		return;
	for (i = 0; i < tc->nr_legs; i++) {
		spec.legs[i].cls = tc->legs[i].cls;
		spec.legs[i].path = tc->legs[i].dev->name;
		spec.legs[i].offset = tc->legs[i].start;
		names[i] = tc->legs[i].dev->name;
	}
	/* A truncated result makes dm-ioctl retry with a larger buffer. */
	tenant_format_table(&spec, names, result, maxlen);
}

static void tenant_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct tenant_c *tc = ti->private;
	struct tenant_stats *st = &tc->stats;
	bool key_loaded = READ_ONCE(tc->tfm);
	unsigned int sz = 0;
	unsigned int i;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%s %s %s %u", tc->tenant, tc->volume,
		       key_loaded ? "loaded" : "wiped", tc->nr_legs);
		for (i = 0; i < tc->nr_legs; i++)
			DMEMIT(" %s %s %c",
			       tenant_leg_class_name(tc->legs[i].cls),
			       tc->legs[i].dev->name,
			       tenant_leg_state_char(&tc->legs[i]));
		DMEMIT(" %lld %lld %lld %lld %lld %lld",
		       atomic64_read(&st->reads), atomic64_read(&st->writes),
		       atomic64_read(&st->discards),
		       atomic64_read(&st->read_errors),
		       atomic64_read(&st->write_errors),
		       atomic64_read(&st->crypt_errors));
		if (tenant_mirrored(tc))
			DMEMIT(" %lu/%lu %s %lu/%lu %lld",
			       tenant_regions_in_sync(tc), tc->bm.nr_regions,
			       tenant_sync_action_name(tc), tc->sync_done,
			       tc->sync_total,
			       (long long)atomic64_read(&tc->mismatches));
		else
			DMEMIT(" 1/1 idle 0/0 0");
		sz = tenant_remote_status(tc, result, maxlen, sz);
		break;

	case STATUSTYPE_TABLE:
		tenant_status_table(tc, result, maxlen);
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",tenant=%s,volume=%s,cipher=%s,key_size=%u",
		       tc->tenant, tc->volume, DM_TENANT_CIPHER,
		       tc->key_size);
		DMEMIT(",key_loaded=%c,sector_size=%u,allow_discards=%c,legs=%u",
		       key_loaded ? 'y' : 'n', tc->sector_size,
		       tc->allow_discards ? 'y' : 'n', tc->nr_legs);
		for (i = 0; i < tc->nr_legs; i++)
			DMEMIT(",leg%u=%s:%c", i,
			       tenant_leg_class_name(tc->legs[i].cls),
			       tenant_leg_state_char(&tc->legs[i]));
		DMEMIT(";");
		break;
	}
}

static int tenant_msg_key_set(struct tenant_c *tc, char *arg)
{
	struct tenant_key_ref ref;
	const char *err;
	int r;

	r = tenant_parse_key_ref(arg, &ref, &err);
	if (!r)
		r = tenant_check_key_binding(&ref, tc->tenant, tc->volume,
					     &err);
	if (!r && ref.key_size != tc->key_size) {
		err = "key size may not change";
		r = -EINVAL;
	}
	if (!r)
		r = tenant_load_key(tc, arg, &ref, &err);

	if (arg[0] != ':')
		memzero_explicit(arg, strlen(arg));
	if (r)
		DMWARN("%s/%s: key set refused: %s", tc->tenant, tc->volume,
		       err);
	else
		DMINFO("%s/%s: key loaded", tc->tenant, tc->volume);
	return r;
}

/*
 * leg <i> recover [force]: a leg written apart from the others (state S)
 * is overwritten only on "force", which discards its changes.
 */
static int tenant_msg_recover(struct tenant_c *tc, unsigned int i, bool force)
{
	struct tenant_leg *leg = &tc->legs[i];
	int r;

	if (READ_ONCE(leg->diverged) && !force) {
		DMERR("%s/%s: leg %u diverged: 'recover force' discards its data",
		      tc->tenant, tc->volume, i);
		return -EPERM;
	}
	WRITE_ONCE(leg->diverged, false);
	r = tenant_leg_async(tc, i) ? tenant_remote_recover(tc, i) :
				      tenant_recover_leg(tc, i);
	if (r && leg->state == TENANT_LEG_DEAD && leg->full_recover && force)
		WRITE_ONCE(leg->diverged, true);
	else if (!r && force)
		DMWARN("%s/%s: leg %u: its own changes are being discarded (recover force)",
		       tc->tenant, tc->volume, i);
	return r;
}

static int tenant_msg_leg(struct tenant_c *tc, const char *idx,
			  const char *verb, const char *opt)
{
	unsigned int i;

	if (kstrtouint(idx, 10, &i) || i >= tc->nr_legs)
		return -EINVAL;
	if (opt) {
		if (strcasecmp(verb, "recover") || strcasecmp(opt, "force"))
			return -EINVAL;
		return tenant_msg_recover(tc, i, true);
	}
	/* Never the last leg in sync: -EBUSY, logged (recover another first). */
	if (!strcasecmp(verb, "fail"))
		return tenant_fail_leg(tc, i, "failed by message");
	if (!strcasecmp(verb, "recover"))
		return tenant_msg_recover(tc, i, false);
	return -EINVAL;
}

/*
 * Messages:
 *   key set <key_ref>    load the key again (suspended only, as dm-crypt)
 *   key wipe             forget the key; resume is refused until key set
 *   leg <i> fail         take leg i out of service (never the last one)
 *   leg <i> recover      put a failed leg back, copying what it missed
 *   leg <i> recover force  ... also a leg written apart (split brain)
 *   resync               copy every region from the primary leg
 *   check                compare the legs, count mismatched regions
 *   repair               check, and copy the primary over mismatches
 */
static int tenant_message(struct dm_target *ti, unsigned int argc,
			  char **argv, char *result, unsigned int maxlen)
{
	struct tenant_c *tc = ti->private;

	if ((argc == 3 || argc == 4) && !strcasecmp(argv[0], "leg") &&
	    tenant_mirrored(tc))
		return tenant_msg_leg(tc, argv[1], argv[2],
				      argc == 4 ? argv[3] : NULL);
	if (argc == 1 && tenant_mirrored(tc)) {
		if (!strcasecmp(argv[0], "resync"))
			return tenant_start_sync(tc, TENANT_SYNC_RESYNC);
		if (!strcasecmp(argv[0], "check"))
			return tenant_start_sync(tc, TENANT_SYNC_CHECK);
		if (!strcasecmp(argv[0], "repair"))
			return tenant_start_sync(tc, TENANT_SYNC_REPAIR);
	}

	if (argc >= 2 && !strcasecmp(argv[0], "key")) {
		if (!dm_suspended(ti)) {
			DMWARN("%s/%s: key messages need a suspended device",
			       tc->tenant, tc->volume);
			return -EBUSY;
		}
		if (argc == 2 && !strcasecmp(argv[1], "wipe")) {
			tenant_wipe_key(tc);
			DMINFO("%s/%s: key wiped", tc->tenant, tc->volume);
			return 0;
		}
		if (argc == 3 && !strcasecmp(argv[1], "set"))
			return tenant_msg_key_set(tc, argv[2]);
	}

	DMWARN("%s/%s: unrecognised message", tc->tenant, tc->volume);
	return -EINVAL;
}

static int tenant_preresume(struct dm_target *ti)
{
	struct tenant_c *tc = ti->private;

	if (!tc->tfm) {
		DMERR("%s/%s: resume refused: no key loaded (send 'key set')",
		      tc->tenant, tc->volume);
		return -ENOKEY;
	}
	return tenant_mirror_preresume(tc);
}

static void tenant_postsuspend(struct dm_target *ti)
{
	tenant_mirror_suspend(ti->private);
}

static void tenant_resume(struct dm_target *ti)
{
	tenant_mirror_resume(ti->private);
}

static int tenant_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn fn, void *data)
{
	struct tenant_c *tc = ti->private;
	unsigned int i;
	int r = 0;

	for (i = 0; !r && i < tc->nr_legs; i++)
		r = fn(ti, tc->legs[i].dev, tc->legs[i].start, ti->len, data);
	return r;
}

static void tenant_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct tenant_c *tc = ti->private;

	/* Bounce bios use single pages: keep segments within one page. */
	limits->max_segment_size = PAGE_SIZE;
	limits->logical_block_size =
		max_t(unsigned int, limits->logical_block_size, tc->sector_size);
	limits->physical_block_size =
		max_t(unsigned int, limits->physical_block_size, tc->sector_size);
	limits->io_min = max_t(unsigned int, limits->io_min, tc->sector_size);
	limits->dma_alignment = limits->logical_block_size - 1;
}

static struct target_type tenant_target = {
	.name = DM_TENANT_TARGET_NAME,
	.version = { DM_TENANT_VERSION_MAJOR, DM_TENANT_VERSION_MINOR,
		     DM_TENANT_VERSION_PATCH },
	.module = THIS_MODULE,
	.ctr = tenant_ctr,
	.dtr = tenant_dtr,
	.map = tenant_map,
	.end_io = tenant_end_io,
	.status = tenant_status,
	.message = tenant_message,
	.postsuspend = tenant_postsuspend,
	.preresume = tenant_preresume,
	.resume = tenant_resume,
	.iterate_devices = tenant_iterate_devices,
	.io_hints = tenant_io_hints,
};

static int __init dm_tenant_init(void)
{
	int r = tenant_stash_init();

	if (r)
		return r;
	r = dm_register_target(&tenant_target);
	if (r)
		tenant_stash_exit();
	return r;
}

static void __exit dm_tenant_exit(void)
{
	dm_unregister_target(&tenant_target);
	tenant_stash_exit();
}

module_init(dm_tenant_init);
module_exit(dm_tenant_exit);

MODULE_DESCRIPTION(DM_NAME " target for tenant-bound encrypted volumes");
MODULE_AUTHOR("dm-tenant developers");
MODULE_LICENSE("GPL");
/* xts(aes) is built from ecb, which must be present before xts. */
MODULE_SOFTDEP("pre: ecb xts");
