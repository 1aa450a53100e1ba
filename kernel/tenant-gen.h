/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-neutral data generations: which leg's superblock speaks for the
 * volume at assembly, and what every other leg is relative to it.
 *
 * A generation is a random 64-bit id kept in every leg's superblock.  A
 * volume starts a new one (and remembers the old one in its history)
 * whenever it goes on writing without a leg that held the current one:
 * a leg fails or falls behind, or the volume is assembled from a subset
 * of its legs (failover).  So a leg whose generation is in another leg's
 * history holds older data; two legs neither of which descends from the
 * other were written apart (split brain).  Compiles in the kernel and in
 * userspace (cmocka tests); same rules as tenant-table.h.
 */
#ifndef DM_TENANT_GEN_H
#define DM_TENANT_GEN_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <linux/types.h>
#define u8 __u8
#define u64 __u64
#endif

#define TENANT_GEN_HIST		8	/* ancestors kept, newest first */
#define TENANT_GEN_MAX_LEGS	8

/* What one leg's superblock says (only what the decision needs). */
struct tenant_gen_sb {
	bool valid;			/* our superblock, readable */
	bool same_geometry;		/* regions and legs match the table */
	u64 event;			/* superblock write counter */
	u64 gen;			/* 0: written before generations */
	u64 hist[TENANT_GEN_HIST];	/* 0: empty slot */
	u8 leg_state[TENANT_GEN_MAX_LEGS];	/* 'A', 'a', 'D' */
	u64 leg_gen[TENANT_GEN_MAX_LEGS];	/* generation leg i holds */
};

enum tenant_gen_verdict {
	TENANT_GEN_NONE,	/* no superblock: contents unknown */
	TENANT_GEN_CURRENT,	/* the authority's generation */
	TENANT_GEN_TRACKED,	/* older; the authority's bitmap covers it */
	TENANT_GEN_STALE,	/* older, untracked: copy all of it */
	TENANT_GEN_DIVERGED,	/* written apart from the authority */
};

bool tenant_gen_descends(const struct tenant_gen_sb *a,
			 const struct tenant_gen_sb *b);
int tenant_gen_pick(const struct tenant_gen_sb *sb, unsigned int n,
		    enum tenant_gen_verdict *verdict);
void tenant_gen_push(u64 *hist, u64 gen);
const char *tenant_gen_verdict_name(enum tenant_gen_verdict v);

#endif
