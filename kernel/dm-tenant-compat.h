/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels dm-tenant builds for (Debian
 * 12's 6.1 and 6.12), in one place: the core files call the tenant_*
 * wrappers below and never test a kernel version.  Which API a kernel has
 * is found by compile probes (kernel/compat/probes/, one .c per API, each
 * naming the upstream change); scripts/kmod.sh compiles them against the
 * kernel's headers and writes dm-tenant-probes.h, with one HAVE_<PROBE>
 * per probe that compiled (Documentation/design.md, "Two kernels").
 */
#ifndef DM_TENANT_COMPAT_H
#define DM_TENANT_COMPAT_H

#include <linux/crypto.h>
#include <linux/device-mapper.h>
#include <linux/err.h>
#include <linux/shrinker.h>
#include <linux/slab.h>

#include "dm-tenant-probes.h"

/*
 * A crypto completion callback gets "tenant_crypto_done_arg_t *": the
 * request's data pointer itself (6.3+), or the crypto_async_request
 * carrying it.
 */
#ifdef HAVE_CRYPTO_COMPLETION_DATA
#define tenant_crypto_done_arg_t void
static inline void *tenant_crypto_done_data(void *arg)
{
	return arg;
}
#else
#define tenant_crypto_done_arg_t struct crypto_async_request
static inline void *tenant_crypto_done_data(struct crypto_async_request *areq)
{
	return areq->data;
}
#endif

/* Whether @t was loaded read-write: blk_mode_t (6.5+) or fmode_t. */
static inline bool tenant_table_writable(struct dm_table *t)
{
#ifdef HAVE_BLK_MODE_T
	return dm_table_get_mode(t) & BLK_OPEN_WRITE;
#else
	return dm_table_get_mode(t) & FMODE_WRITE;
#endif
}

/*
 * A registered shrinker, allocated by the shrinker core (6.7+) or here.
 * Returns an ERR_PTR on failure.
 */
static inline struct shrinker *
tenant_shrinker_create(unsigned long (*count)(struct shrinker *,
					      struct shrink_control *),
		       unsigned long (*scan)(struct shrinker *,
					     struct shrink_control *),
		       const char *name)
{
	struct shrinker *s;

#ifdef HAVE_SHRINKER_ALLOC
	s = shrinker_alloc(0, "%s", name);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->count_objects = count;
	s->scan_objects = scan;
	shrinker_register(s);
#else
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	if (register_shrinker(s, "%s", name)) {
		kfree(s);
		return ERR_PTR(-ENOMEM);
	}
#endif
	return s;
}

static inline void tenant_shrinker_destroy(struct shrinker *s)
{
#ifdef HAVE_SHRINKER_ALLOC
	shrinker_free(s);
#else
	unregister_shrinker(s);
	kfree(s);
#endif
}

#endif /* DM_TENANT_COMPAT_H */
