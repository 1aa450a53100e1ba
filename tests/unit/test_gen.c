// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kernel/tenant-gen.c: which leg's superblock is the
 * authority at assembly, and what each other leg is relative to it
 * (current, tracked, stale, diverged), for the failover / rejoin and
 * split-brain cases of Documentation/remote-legs.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tenant-gen.h"

#define G1 0x1111111111111111ULL
#define G2 0x2222222222222222ULL
#define G3 0x3333333333333333ULL
#define G4 0x4444444444444444ULL

static struct tenant_gen_sb leg(uint64_t gen, uint64_t event)
{
	struct tenant_gen_sb s;
	unsigned int k;

	memset(&s, 0, sizeof(s));
	s.valid = true;
	s.same_geometry = true;
	s.gen = gen;
	s.event = event;
	for (k = 0; k < TENANT_GEN_MAX_LEGS; k++) {
		s.leg_state[k] = 'A';
		s.leg_gen[k] = gen;
	}
	return s;
}

static void test_none_valid(void **state)
{
	struct tenant_gen_sb sb[3] = { { 0 } };
	enum tenant_gen_verdict v[3];

	(void)state;
	assert_int_equal(tenant_gen_pick(sb, 3, v), -1);
	assert_int_equal(v[0], TENANT_GEN_NONE);
	assert_int_equal(v[2], TENANT_GEN_NONE);
}

/* One generation: the newest superblock speaks, ties go to table order. */
static void test_same_generation(void **state)
{
	struct tenant_gen_sb sb[3] = { leg(G1, 5), leg(G1, 9), leg(G1, 9) };
	enum tenant_gen_verdict v[3];

	(void)state;
	assert_int_equal(tenant_gen_pick(sb, 3, v), 1);
	assert_int_equal(v[0], TENANT_GEN_CURRENT);
	assert_int_equal(v[1], TENANT_GEN_CURRENT);
	assert_int_equal(v[2], TENANT_GEN_CURRENT);
}

/* A blank leg between valid ones. */
static void test_blank_leg(void **state)
{
	struct tenant_gen_sb sb[3] = { leg(G1, 5), { 0 }, leg(G1, 6) };
	enum tenant_gen_verdict v[3];

	(void)state;
	assert_int_equal(tenant_gen_pick(sb, 3, v), 2);
	assert_int_equal(v[1], TENANT_GEN_NONE);
	assert_int_equal(v[0], TENANT_GEN_CURRENT);
}

/*
 * A leg failed (the volume rolled G1 -> G2 and recorded that leg 1 left
 * holding G1): it comes back tracked, whatever its own event counter.
 */
static void test_failed_leg_tracked(void **state)
{
	struct tenant_gen_sb sb[2] = { leg(G2, 10), leg(G1, 50) };
	enum tenant_gen_verdict v[2];

	(void)state;
	sb[0].hist[0] = G1;
	sb[0].leg_state[1] = 'D';
	sb[0].leg_gen[1] = G1;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 0);
	assert_int_equal(v[0], TENANT_GEN_CURRENT);
	assert_int_equal(v[1], TENANT_GEN_TRACKED);
}

/* Tracked even when many generations later (history overflowed). */
static void test_tracked_beyond_history(void **state)
{
	struct tenant_gen_sb sb[2] = { leg(G2, 10), leg(G1, 5) };
	enum tenant_gen_verdict v[2];

	(void)state;
	sb[0].leg_state[1] = 'a';
	sb[0].leg_gen[1] = G1;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 0);
	assert_int_equal(v[1], TENANT_GEN_TRACKED);
}

/* An older generation the authority thinks is in sync: copy all. */
static void test_older_untracked_is_stale(void **state)
{
	struct tenant_gen_sb sb[2] = { leg(G2, 10), leg(G1, 5) };
	enum tenant_gen_verdict v[2];

	(void)state;
	sb[0].hist[3] = G1;
	sb[0].leg_gen[1] = G2;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 0);
	assert_int_equal(v[1], TENANT_GEN_STALE);

	/* Recorded, but the table's geometry changed: stale too. */
	sb[0].leg_state[1] = 'D';
	sb[0].leg_gen[1] = G1;
	sb[0].same_geometry = false;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 0);
	assert_int_equal(v[1], TENANT_GEN_STALE);
}

/*
 * Failover: the remote R was assembled alone (G2, descending from G1);
 * the old primary P still says G1.  Whatever the table order, R's side
 * is the authority and P is stale, even though P's counter is higher.
 */
static void test_failover_rejoin(void **state)
{
	struct tenant_gen_sb p = leg(G1, 900), r = leg(G2, 3);
	struct tenant_gen_sb sb[2];
	enum tenant_gen_verdict v[2];

	(void)state;
	r.hist[0] = G1;
	r.same_geometry = false;	/* its superblock says one leg */
	sb[0] = p;
	sb[1] = r;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 1);
	assert_int_equal(v[0], TENANT_GEN_STALE);
	assert_int_equal(v[1], TENANT_GEN_CURRENT);
	sb[0] = r;
	sb[1] = p;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 0);
	assert_int_equal(v[1], TENANT_GEN_STALE);
}

/*
 * Split brain: P went on after the link cut (G1 -> G3), R was failed over
 * (G1 -> G2).  Neither descends from the other: the first leg in the table
 * wins and the other is diverged, never merely stale.
 */
static void test_split_brain(void **state)
{
	struct tenant_gen_sb p = leg(G3, 40), r = leg(G2, 7);
	struct tenant_gen_sb sb[3];
	enum tenant_gen_verdict v[3];

	(void)state;
	p.hist[0] = G1;
	r.hist[0] = G1;
	sb[0] = p;
	sb[1] = r;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 0);
	assert_int_equal(v[1], TENANT_GEN_DIVERGED);
	sb[0] = r;
	sb[1] = p;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 0);
	assert_int_equal(v[1], TENANT_GEN_DIVERGED);

	/* A third leg, stale relative to both sides (G1): still stale. */
	sb[2] = leg(G1, 100);
	assert_int_equal(tenant_gen_pick(sb, 3, v), 0);
	assert_int_equal(v[2], TENANT_GEN_STALE);
}

/* The authority is a descendant even when listed after its ancestor's
 * other descendants' ancestors: a chain G1 <- G2 <- G4.
 */
static void test_chain(void **state)
{
	struct tenant_gen_sb sb[3] = { leg(G1, 1), leg(G2, 2), leg(G4, 3) };
	enum tenant_gen_verdict v[3];

	(void)state;
	sb[1].hist[0] = G1;
	sb[2].hist[0] = G2;
	sb[2].hist[1] = G1;
	sb[2].leg_state[1] = 'D';
	sb[2].leg_gen[1] = G2;
	assert_int_equal(tenant_gen_pick(sb, 3, v), 2);
	assert_int_equal(v[0], TENANT_GEN_STALE);
	assert_int_equal(v[1], TENANT_GEN_TRACKED);
	assert_int_equal(v[2], TENANT_GEN_CURRENT);
}

/* Superblocks from before generations (gen 0) are older than any. */
static void test_legacy_superblocks(void **state)
{
	struct tenant_gen_sb sb[2] = { leg(0, 4), leg(0, 8) };
	enum tenant_gen_verdict v[2];

	(void)state;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 1);
	assert_int_equal(v[0], TENANT_GEN_CURRENT);

	sb[1] = leg(G3, 1);
	sb[1].leg_gen[0] = G3;
	assert_int_equal(tenant_gen_pick(sb, 2, v), 1);
	assert_int_equal(v[0], TENANT_GEN_STALE);
	assert_true(tenant_gen_descends(&sb[1], &sb[0]));
	assert_false(tenant_gen_descends(&sb[0], &sb[1]));
}

static void test_push(void **state)
{
	__u64 hist[TENANT_GEN_HIST] = { 0 };
	unsigned int k;

	(void)state;
	for (k = 1; k <= TENANT_GEN_HIST + 2; k++)
		tenant_gen_push(hist, k);
	assert_int_equal(hist[0], TENANT_GEN_HIST + 2);
	assert_int_equal(hist[TENANT_GEN_HIST - 1], 3);
	assert_string_equal(tenant_gen_verdict_name(TENANT_GEN_DIVERGED),
			    "diverged");
}

/* More legs than a table can have are ignored, not read past. */
static void test_too_many_legs(void **state)
{
	struct tenant_gen_sb sb[TENANT_GEN_MAX_LEGS + 1];
	enum tenant_gen_verdict v[TENANT_GEN_MAX_LEGS + 1];
	unsigned int k;

	(void)state;
	for (k = 0; k <= TENANT_GEN_MAX_LEGS; k++)
		sb[k] = leg(G1, k);
	v[TENANT_GEN_MAX_LEGS] = TENANT_GEN_DIVERGED;
	assert_int_equal(tenant_gen_pick(sb, TENANT_GEN_MAX_LEGS + 1, v),
			 TENANT_GEN_MAX_LEGS - 1);
	assert_int_equal(v[TENANT_GEN_MAX_LEGS], TENANT_GEN_DIVERGED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none_valid),
		cmocka_unit_test(test_same_generation),
		cmocka_unit_test(test_blank_leg),
		cmocka_unit_test(test_failed_leg_tracked),
		cmocka_unit_test(test_tracked_beyond_history),
		cmocka_unit_test(test_older_untracked_is_stale),
		cmocka_unit_test(test_failover_rejoin),
		cmocka_unit_test(test_split_brain),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_legacy_superblocks),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_too_many_legs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
