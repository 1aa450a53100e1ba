// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-neutral data generations (see tenant-gen.h): pick the authority
 * among the legs' superblocks and classify the others.
 */
#include "tenant-gen.h"

/* Does @a's data descend from @b's (b is an older state of a)? */
bool tenant_gen_descends(const struct tenant_gen_sb *a,
			 const struct tenant_gen_sb *b)
{
	unsigned int k;

	if (a->gen == b->gen)
		return false;
	/* Written before generations existed: older than any generation. */
	if (!b->gen)
		return true;
	for (k = 0; k < TENANT_GEN_HIST; k++)
		if (a->hist[k] == b->gen)
			return true;
	return false;
}

/*
 * The authority is a leg whose generation no other leg descends from;
 * among several such generations (split brain) the one of the first leg
 * in table order wins: the table is the operator's statement of which
 * side this is.  Within the generation, the newest superblock wins.
 * Returns its index, or -1 when no leg has a superblock.
 */
int tenant_gen_pick(const struct tenant_gen_sb *sb, unsigned int n,
		    enum tenant_gen_verdict *verdict)
{
	const struct tenant_gen_sb *a;
	unsigned int i, j;
	int first = -1, best = -1;

	if (n > TENANT_GEN_MAX_LEGS)
		n = TENANT_GEN_MAX_LEGS;
	for (i = 0; i < n && first < 0; i++) {
		bool dominated = false;

		if (!sb[i].valid)
			continue;
		for (j = 0; j < n && !dominated; j++)
			dominated = sb[j].valid &&
				    tenant_gen_descends(&sb[j], &sb[i]);
		if (!dominated)
			first = i;
	}
	if (first < 0) {
		for (i = 0; i < n; i++)
			verdict[i] = TENANT_GEN_NONE;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (sb[i].valid && sb[i].gen == sb[first].gen &&
		    (best < 0 || sb[i].event > sb[best].event))
			best = i;
	a = &sb[best];

	for (i = 0; i < n; i++) {
		if (!sb[i].valid)
			verdict[i] = TENANT_GEN_NONE;
		else if (sb[i].gen == a->gen)
			verdict[i] = TENANT_GEN_CURRENT;
		else if (a->same_geometry && a->leg_state[i] != 'A' &&
			 a->leg_gen[i] == sb[i].gen)
			/* Left service holding this generation; since then
			 * the bitmap kept what it misses.
			 */
			verdict[i] = TENANT_GEN_TRACKED;
		else if (tenant_gen_descends(a, &sb[i]))
			verdict[i] = TENANT_GEN_STALE;
		else
			verdict[i] = TENANT_GEN_DIVERGED;
	}
	return best;
}

/* Remember @gen as the newest ancestor. */
void tenant_gen_push(u64 *hist, u64 gen)
{
	unsigned int k;

	for (k = TENANT_GEN_HIST - 1; k > 0; k--)
		hist[k] = hist[k - 1];
	hist[0] = gen;
}

const char *tenant_gen_verdict_name(enum tenant_gen_verdict v)
{
	switch (v) {
	case TENANT_GEN_NONE:
		return "no metadata";
	case TENANT_GEN_CURRENT:
		return "current";
	case TENANT_GEN_TRACKED:
		return "older, tracked";
	case TENANT_GEN_STALE:
		return "older generation";
	case TENANT_GEN_DIVERGED:
		return "diverged";
	}
	return "?";
}
