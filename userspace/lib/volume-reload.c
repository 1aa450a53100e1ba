// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: reload the table of an attached volume with fresh device
 * references for its legs (a leg that vanished and came back, maybe under
 * another device number).  udev provisioning uses it before "leg <i>
 * recover" (Documentation/udev-hypervisor.md).
 */
#include <stdio.h>
#include <string.h>
#include <libdevmapper.h>

#include "dmt-internal.h"

/* Drop the inactive table of @name (a load that must not take effect). */
static void clear_inactive(const char *name)
{
	struct dm_task *dmt;

	dmt_lib_lock();
	dmt = dm_task_create(DM_DEVICE_CLEAR);
	if (dmt) {
		if (dm_task_set_name(dmt, name))
			(void)dm_task_run(dmt);
		dm_task_destroy(dmt);
	}
	dmt_lib_unlock();
}

int dmt_volume_reload(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *kek, const char *name)
{
	struct dmt_leg legs[DMT_MAX_LEGS];
	struct dmt_dev_info di;
	struct dmt_key *dek = NULL;
	struct dmt_table t;
	uint64_t size = 0;
	int32_t serial;
	int r;

	if (!ctx || !kek || kek->kind != DMT_KEY_KEK || !name)
		return -EINVAL;
	r = dmt_check_volume(ctx, vol, true);
	if (r)
		return r;
	r = dmt_dev_info(ctx, name, &di);
	if (r)
		return r;
	if (strcmp(di.volume_uuid, vol->uuid)) {
		dmt_err(ctx, "%s: carries volume %s, not %s", name,
			di.volume_uuid[0] ? di.volume_uuid : "(none)",
			vol->uuid);
		return -EMEDIUMTYPE;
	}
	r = dmt_volume_check_legs(ctx, vol, legs, &size);
	if (!r)
		r = dmt_volume_open_dek(ctx, vol, kek, &dek);
	if (r)
		return r;
	dmt_volume_table(vol, legs, size, &t);

	serial = dmt_keyring_add(ctx, vol->tenant, vol->volume, dek);
	dmt_key_free(dek);
	if (serial < 0)
		return serial;
	r = dmt_dev_load(ctx, name, &t, di.read_only ? DMT_DEV_READ_ONLY : 0);
	/* The inactive table holds its own cipher: the key leaves now. */
	if (dmt_keyring_drop(ctx, serial) && !r) {
		clear_inactive(name);
		return -EIO;
	}
	if (r)
		return r;
	r = dmt_dev_suspend(ctx, name, 0);
	if (!r)
		r = dmt_dev_resume(ctx, name);
	if (r) {
		dmt_err(ctx, "%s: table swap failed: %s", name, strerror(-r));
		return r;
	}
	dmt_info(ctx, "%s/%s: table of %s reloaded", vol->tenant, vol->volume,
		 name);
	return 0;
}
