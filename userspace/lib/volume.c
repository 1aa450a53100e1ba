// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: whole-volume operations: create, attach, detach, rewrap,
 * erase.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmt-internal.h"

int dmt_volume_create(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *kek, char *uuid, size_t uuid_size)
{
	struct dmt_volume v;
	struct dmt_key *dek = NULL;
	char id[DMT_UUID_LEN + 1];
	unsigned int i, done = 0;
	uint64_t min = UINT64_MAX;
	int r;

	if (!ctx || !kek || kek->kind != DMT_KEY_KEK || !uuid ||
	    uuid_size < DMT_UUID_LEN + 1)
		return -EINVAL;
	r = dmt_check_volume(ctx, vol, false);
	if (r)
		return r;
	v = *vol;
	if (!v.uuid) {
		r = dmt_uuid_generate(id, sizeof(id));
		if (r)
			return r;
		v.uuid = id;
	}
	/* One size for all legs: the smallest leg decides. */
	for (i = 0; i < v.nr_legs; i++) {
		uint64_t size;
		int fd = dmt_open_exclusive(ctx, v.legs[i].path, O_RDONLY);

		if (fd < 0)
			return fd;
		r = dmt_fd_size(fd, &size);
		close(fd);
		if (r)
			return r;
		size /= 512;
		if (size <= DMT_LEG_DATA_OFFSET) {
			dmt_err(ctx, "%s: too small for a leg", v.legs[i].path);
			return -ENOSPC;
		}
		if (size - DMT_LEG_DATA_OFFSET < min)
			min = size - DMT_LEG_DATA_OFFSET;
	}
	if (!v.size)
		v.size = min;
	if (v.size > min) {
		dmt_err(ctx, "%s/%s: size %llu sectors exceeds the smallest leg (%llu)",
			v.tenant, v.volume, (unsigned long long)v.size,
			(unsigned long long)min);
		return -ENOSPC;
	}

	r = dmt_key_generate(DMT_KEY_DEK, &dek);
	if (r)
		return r;
	for (i = 0; i < v.nr_legs; i++) {
		r = dmt_leg_format(ctx, &v, i, dek, kek);
		if (r)
			break;
		done++;
	}
	dmt_key_free(dek);
	if (r) {
		/* Leave no half-made volume behind. */
		for (i = 0; i < done; i++)
			(void)dmt_leg_erase(ctx, v.legs[i].path, 0);
		return r;
	}
	snprintf(uuid, uuid_size, "%s", v.uuid);
	return 0;
}

/*
 * Every leg must be the leg the caller says it is (tenant, volume, UUID,
 * class, index, data offset, 512-byte sectors).  Fills @legs with the
 * caller's legs at their LUKS2 data offsets and @size with the volume size
 * the legs record (or vol->size).
 */
int dmt_volume_check_legs(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			  struct dmt_leg *legs, uint64_t *size)
{
	struct dmt_leg_info info;
	unsigned int i;
	int r;

	*size = 0;
	for (i = 0; i < vol->nr_legs; i++) {
		const struct dmt_leg *leg = &vol->legs[i];

		r = dmt_leg_read_info(ctx, leg->path, &info);
		if (r)
			return r;
		if (strcmp(info.tenant, vol->tenant) ||
		    strcmp(info.volume, vol->volume) ||
		    strcmp(info.uuid, vol->uuid) ||
		    info.cls != leg->cls || info.index != i) {
			dmt_err(ctx, "%s: is leg %u (%s) of %s/%s %s, not leg %u (%s) of %s/%s %s",
				leg->path, info.index,
				dmt_leg_class_name(info.cls), info.tenant,
				info.volume, info.uuid, i,
				dmt_leg_class_name(leg->cls), vol->tenant,
				vol->volume, vol->uuid);
			return -EMEDIUMTYPE;
		}
		if (leg->offset && leg->offset != info.data_offset) {
			dmt_err(ctx, "%s: data offset is %llu, not %llu",
				leg->path,
				(unsigned long long)info.data_offset,
				(unsigned long long)leg->offset);
			return -EMEDIUMTYPE;
		}
		if (info.sector_size != 512) {
			dmt_err(ctx, "%s: sector size %u not supported",
				leg->path, info.sector_size);
			return -EMEDIUMTYPE;
		}
		if (!*size)
			*size = info.size;
		legs[i] = *leg;
		legs[i].offset = info.data_offset;
	}
	if (vol->size)
		*size = vol->size;
	return 0;
}

/* The DEK from the first leg whose keyslot opens with @kek. */
int dmt_volume_open_dek(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			const struct dmt_key *kek, struct dmt_key **dek)
{
	struct dmt_key *pass = NULL;
	unsigned int i;
	int r;

	*dek = NULL;
	r = dmt_key_derive_passphrase(kek, vol->uuid, &pass);
	if (r)
		return r;
	for (i = 0; i < vol->nr_legs && !*dek; i++) {
		r = dmt_leg_get_dek(ctx, vol->legs[i].path, pass, dek);
		if (r)
			dmt_dbg(ctx, "%s: DEK not opened: %s", vol->legs[i].path,
				strerror(-r));
	}
	dmt_key_free(pass);
	if (!*dek) {
		dmt_err(ctx, "%s/%s: no leg opens with this KEK (wrong tenant key?)",
			vol->tenant, vol->volume);
		return -EPERM;
	}
	return 0;
}

/* The table of a volume laid out by libdmtenant (LUKS2 + metadata area). */
void dmt_volume_table(const struct dmt_volume *vol, struct dmt_leg *legs,
		      uint64_t size, struct dmt_table *t)
{
	memset(t, 0, sizeof(*t));
	t->tenant = vol->tenant;
	t->volume = vol->volume;
	t->length = size;
	t->key_size = DMT_DEK_SIZE;
	t->iv_offset = 0;		/* LUKS2 segments: IV = sector */
	t->legs = legs;
	t->nr_legs = vol->nr_legs;
	t->sector_size = 512;
	/* Every leg laid out by us has the target's metadata area. */
	t->meta_sectors = DMT_LEG_META_SECTORS;
	if (vol->flags & DMT_VOLUME_ALLOW_DISCARDS)
		t->flags |= DMT_TABLE_ALLOW_DISCARDS;
}

static double ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int dmt_volume_attach(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *kek, const char *name,
		      uint32_t flags, char *path, size_t path_size)
{
	/* Phase times, logged at debug level (make bench-attach reads them). */
	double t_start = ms_now(), t_legs, t_dek;
	struct dmt_leg legs[DMT_MAX_LEGS];
	struct dmt_key *dek = NULL;
	struct dmt_table t;
	char defname[2 * DMT_ID_MAX + 2];
	uint64_t size = 0;
	int32_t serial;
	int r;

	if (!ctx || !kek || kek->kind != DMT_KEY_KEK ||
	    (flags & ~DMT_ATTACH_READ_ONLY) || (path && !path_size))
		return -EINVAL;
	r = dmt_check_volume(ctx, vol, true);
	if (r)
		return r;
	if (!name) {
		snprintf(defname, sizeof(defname), "%s-%s", vol->tenant,
			 vol->volume);
		name = defname;
	}
	r = dmt_kernel_prepare(ctx);
	if (r)
		return r;

	r = dmt_volume_check_legs(ctx, vol, legs, &size);
	if (r)
		return r;
	t_legs = ms_now();
	r = dmt_volume_open_dek(ctx, vol, kek, &dek);
	if (r)
		return r;
	t_dek = ms_now();
	dmt_volume_table(vol, legs, size, &t);

	serial = dmt_keyring_add(ctx, vol->tenant, vol->volume, dek);
	dmt_key_free(dek);		/* the keyring holds it now */
	if (serial < 0)
		return serial;
	r = dmt_dev_create(ctx, name, vol->uuid, &t,
			   (flags & DMT_ATTACH_READ_ONLY) ? DMT_DEV_READ_ONLY : 0);
	/* Success or not: the key leaves the keyring now. */
	if (dmt_keyring_drop(ctx, serial) && !r) {
		/* A key we cannot drop must not outlive us silently. */
		(void)dmt_volume_detach(ctx, name, DMT_DETACH_FORCE);
		return -EIO;
	}
	if (r)
		return r;
	if (path) {
		r = dmt_dev_path(ctx, name, path, path_size);
		if (r == -ERANGE)
			dmt_err(ctx, "%s: path buffer too small", name);
	}
	if (!r) {
		double t_end = ms_now();

		dmt_info(ctx, "%s/%s attached as %s%s", vol->tenant,
			 vol->volume, name,
			 (flags & DMT_ATTACH_READ_ONLY) ? " (read-only)" : "");
		dmt_dbg(ctx, "attach timing: legs %.1f ms, dek %.1f ms, device %.1f ms, total %.1f ms",
			t_legs - t_start, t_dek - t_legs, t_end - t_dek,
			t_end - t_start);
	}
	return r;
}

int dmt_volume_detach(struct dmt_ctx *ctx, const char *name, uint32_t flags)
{
	struct dmt_dev_info info;
	uint64_t length = 0;
	int r;

	if (!ctx || !name || (flags & ~DMT_DETACH_FORCE))
		return -EINVAL;
	r = dmt_dev_info(ctx, name, &info);
	if (r) {
		if (r == -ENODEV)
			dmt_err(ctx, "%s: no such device", name);
		return r;
	}
	if (!info.volume_uuid[0]) {
		dmt_err(ctx, "%s: not a tenant device (DM UUID without %s)",
			name, DMT_DM_UUID_PREFIX);
		return -EMEDIUMTYPE;
	}
	if (info.open_count > 0 && !(flags & DMT_DETACH_FORCE)) {
		dmt_err(ctx, "%s: in use (open %d times): close it first, or force",
			name, info.open_count);
		return -EBUSY;
	}
	if (info.live_table && !info.suspended) {
		r = dmt_dev_suspend(ctx, name, 0);
		if (r)
			return r;
	}
	if (info.live_table) {
		r = dmt_dev_message(ctx, name, "key wipe", NULL, 0);
		if (r)
			dmt_warn(ctx, "%s: key wipe failed (%s); removing anyway",
				 name, strerror(-r));
	}
	/* A device held open by its user will not close within the retry
	 * window (~5 s of blocking): go straight to the error table. */
	r = dmt_dev_remove(ctx, name, info.open_count > 0 &&
			   (flags & DMT_DETACH_FORCE) ? 0 : DMT_REMOVE_RETRY);
	if (r == -EBUSY && (flags & DMT_DETACH_FORCE)) {
		/* Still open: swap in an error table (the tenant table and
		 * its key are destroyed now) and remove on the last close. */
		r = dmt_dev_length(ctx, name, &length);
		if (!r)
			r = dmt_dev_load_error(ctx, name, length);
		if (!r)
			r = dmt_dev_remove(ctx, name, DMT_REMOVE_DEFERRED);
	}
	if (!r)
		dmt_info(ctx, "%s detached", name);
	return r;
}

int dmt_volume_rewrap(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *old_kek,
		      const struct dmt_key *new_kek)
{
	unsigned int i;
	int r;

	if (!ctx || !old_kek || !new_kek || old_kek->kind != DMT_KEY_KEK ||
	    new_kek->kind != DMT_KEY_KEK)
		return -EINVAL;
	r = dmt_check_volume(ctx, vol, true);
	if (r)
		return r;
	if (!dmt_key_cmp(old_kek, new_kek)) {
		dmt_err(ctx, "rewrap: the old and the new KEK are the same");
		return -EINVAL;
	}
	/* Phase 1 everywhere, then phase 2: no leg is ever without a slot
	 * that one of the two KEKs opens. */
	for (i = 0; i < vol->nr_legs; i++) {
		r = dmt_leg_rewrap_phase(ctx, vol->legs[i].path, vol->uuid,
					 old_kek, new_kek, DMT_REWRAP_ADD);
		if (r)
			return r;
	}
	for (i = 0; i < vol->nr_legs; i++) {
		r = dmt_leg_rewrap_phase(ctx, vol->legs[i].path, vol->uuid,
					 old_kek, new_kek, DMT_REWRAP_DESTROY);
		if (r)
			return r;
	}
	dmt_info(ctx, "%s/%s: KEK rotated on %u legs", vol->tenant,
		 vol->volume, vol->nr_legs);
	return 0;
}

int dmt_volume_erase(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		     uint32_t flags)
{
	unsigned int i;
	int r, first = 0;

	if (!ctx)
		return -EINVAL;
	r = dmt_check_volume(ctx, vol, false);
	if (r)
		return r;
	for (i = 0; i < vol->nr_legs; i++) {
		r = dmt_leg_erase(ctx, vol->legs[i].path, flags);
		if (r && !first)
			first = r;
	}
	return first;
}
