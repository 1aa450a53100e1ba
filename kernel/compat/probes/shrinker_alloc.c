// SPDX-License-Identifier: GPL-2.0
/*
 * Compiles iff shrinkers are allocated by the shrinker core
 * (shrinker_alloc/shrinker_register/shrinker_free), which replaced
 * register_shrinker: v6.7, upstream commits "mm: shrinker: add
 * infrastructure for dynamically allocating shrinker" and "mm: shrinker:
 * remove old APIs" (2023-09).
 */
#include <linux/shrinker.h>

static __maybe_unused struct shrinker *probe_shrinker_alloc(void)
{
	struct shrinker *s = shrinker_alloc(0, "probe");

	shrinker_register(s);
	return s;
}
