// SPDX-License-Identifier: GPL-2.0
/*
 * Compiles iff block device open modes are a blk_mode_t with BLK_OPEN_*
 * flags (what dm_table_get_mode and dm_get_device use), not fmode_t with
 * FMODE_*: v6.5, upstream series "block: replace fmode_t with a
 * block-specific type for block open flags" (2023-06).
 */
#include <linux/device-mapper.h>

static __maybe_unused bool probe_blk_mode_t(struct dm_table *t)
{
	blk_mode_t mode = dm_table_get_mode(t);

	return mode & BLK_OPEN_WRITE;
}
