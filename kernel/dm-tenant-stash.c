// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tenant: a per-CPU stash of bounce pages.
 *
 * A kernel hardened with init_on_alloc (Debian's default) zeroes every page
 * the allocator hands out.  Bounce pages are overwritten by the cipher at
 * once, so that zeroing is pure cost: about a tenth of the CPU of a large
 * write.  Pages a finished write gives back are kept here, per CPU, and
 * handed out again as they are.  They only ever held ciphertext, and a
 * bounce page goes to disk only as far as the cipher wrote it, so nothing
 * stale can leave.  A shrinker takes them back under memory pressure.
 *
 * Each CPU's stash has a lock only so that the shrinker can empty it from
 * another CPU; the I/O path takes its own CPU's lock, uncontended, once
 * per bio.
 */

#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/shrinker.h>
#include <linux/spinlock.h>

#include "dm-tenant.h"

/* A 512 KiB region's worth per CPU: what one large write uses at a time. */
#define TENANT_STASH_PAGES 128

struct tenant_stash {
	spinlock_t lock;		/* the shrinker reaches other CPUs */
	unsigned int nr;
	struct page *pages[TENANT_STASH_PAGES];
};

static DEFINE_PER_CPU(struct tenant_stash, tenant_stashes);

/*
 * The stash of the CPU we run on; after a migration, of the one we ran on,
 * which the lock makes just as safe.
 */
struct tenant_stash *tenant_stash_lock(unsigned long *flags)
{
	struct tenant_stash *s = raw_cpu_ptr(&tenant_stashes);

	spin_lock_irqsave(&s->lock, *flags);
	return s;
}

void tenant_stash_unlock(struct tenant_stash *s, unsigned long flags)
{
	spin_unlock_irqrestore(&s->lock, flags);
}

struct page *tenant_stash_pop(struct tenant_stash *s)
{
	return s->nr ? s->pages[--s->nr] : NULL;
}

bool tenant_stash_push(struct tenant_stash *s, struct page *page)
{
	if (s->nr == TENANT_STASH_PAGES)
		return false;
	s->pages[s->nr++] = page;
	return true;
}

/* Empty the stashes of every CPU, at most @max pages; returns how many. */
static unsigned long tenant_stash_drain(unsigned long max)
{
	unsigned long freed = 0, flags;
	struct tenant_stash *s;
	struct page *page;
	int cpu;

	for_each_possible_cpu(cpu) {
		s = per_cpu_ptr(&tenant_stashes, cpu);
		spin_lock_irqsave(&s->lock, flags);
		while (freed < max && (page = tenant_stash_pop(s))) {
			__free_page(page);
			freed++;
		}
		spin_unlock_irqrestore(&s->lock, flags);
	}
	return freed;
}

static unsigned long tenant_stash_count(struct shrinker *shrink,
					struct shrink_control *sc)
{
	unsigned long nr = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		nr += READ_ONCE(per_cpu_ptr(&tenant_stashes, cpu)->nr);
	return nr ? nr : SHRINK_EMPTY;
}

static unsigned long tenant_stash_scan(struct shrinker *shrink,
				       struct shrink_control *sc)
{
	unsigned long freed = tenant_stash_drain(sc->nr_to_scan);

	return freed ? freed : SHRINK_STOP;
}

static struct shrinker *tenant_stash_shrinker;

int tenant_stash_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(&tenant_stashes, cpu)->lock);
	tenant_stash_shrinker = tenant_shrinker_create(tenant_stash_count,
						       tenant_stash_scan,
						       "dm-tenant-stash");
	return PTR_ERR_OR_ZERO(tenant_stash_shrinker);
}

/* Module exit: no target is left, so no page can come back. */
void tenant_stash_exit(void)
{
	tenant_shrinker_destroy(tenant_stash_shrinker);
	tenant_stash_drain(ULONG_MAX);
}
