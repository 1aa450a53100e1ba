// SPDX-License-Identifier: GPL-2.0
/*
 * libdmtenant: the status line parser and the table builder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dmt-internal.h"

/* ---- status ---- */

static void test_status_one_leg(void **state)
{
	struct dmt_status *st;

	(void)state;
	assert_int_equal(dmt_status_parse(
		"acme vol1 loaded 1 local 254:0 A 10 20 3 0 1 2", &st), 0);
	assert_string_equal(dmt_status_tenant(st), "acme");
	assert_string_equal(dmt_status_volume(st), "vol1");
	assert_int_equal(dmt_status_key_state(st), DMT_KEY_STATE_LOADED);
	assert_int_equal(dmt_status_nr_legs(st), 1);
	assert_int_equal(dmt_status_leg_class(st, 0), DMT_LEG_LOCAL);
	assert_string_equal(dmt_status_leg_dev(st, 0), "254:0");
	assert_int_equal(dmt_status_leg_state(st, 0), DMT_LEG_STATE_ALIVE);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_READS), 10);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_WRITES), 20);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_DISCARDS), 3);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_READ_ERRORS), 0);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_WRITE_ERRORS), 1);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_CRYPT_ERRORS), 2);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_NR), 0);
	assert_int_equal(dmt_status_nr_extra(st), 0);
	assert_null(dmt_status_extra(st, 0));
	/* out of range */
	assert_int_equal(dmt_status_leg_class(st, 1), -1);
	assert_null(dmt_status_leg_dev(st, 1));
	assert_int_equal(dmt_status_leg_state(st, 1), DMT_LEG_STATE_UNKNOWN);
	dmt_status_free(st);
}

/* Replication: more legs, states D and a, appended fields, u64 counters. */
static void test_status_replication(void **state)
{
	struct dmt_status *st;

	(void)state;
	assert_int_equal(dmt_status_parse(
		"t.1 v-2 wiped 3 local 8:16 A zone 8:32 D remote 43:0 a "
		"18446744073709551615 0 0 0 0 0 lag=12 4096 x\n", &st), 0);
	assert_int_equal(dmt_status_key_state(st), DMT_KEY_STATE_WIPED);
	assert_int_equal(dmt_status_nr_legs(st), 3);
	assert_int_equal(dmt_status_leg_class(st, 1), DMT_LEG_ZONE);
	assert_int_equal(dmt_status_leg_class(st, 2), DMT_LEG_REMOTE);
	assert_int_equal(dmt_status_leg_state(st, 1), DMT_LEG_STATE_DEAD);
	assert_int_equal(dmt_status_leg_state(st, 2), DMT_LEG_STATE_SYNCING);
	assert_string_equal(dmt_status_leg_dev(st, 2), "43:0");
	dmt_status_free(st);

	/* A leg written apart from the volume (split brain) shows S. */
	assert_int_equal(dmt_status_parse(
		"t v loaded 2 local 8:16 A remote 43:0 S 0 0 0 0 0 0 "
		"8/8 idle 0/0 0 1 1 failed 0 0 no", &st), 0);
	assert_int_equal(dmt_status_leg_state(st, 1), DMT_LEG_STATE_DIVERGED);
	dmt_status_free(st);
	assert_int_equal(dmt_status_parse(
		"t.1 v-2 wiped 3 local 8:16 A zone 8:32 D remote 43:0 a "
		"18446744073709551615 0 0 0 0 0 lag=12 4096 x\n", &st), 0);
	assert_true(dmt_status_counter(st, DMT_COUNTER_READS) == UINT64_MAX);
	assert_int_equal(dmt_status_nr_extra(st), 3);
	assert_string_equal(dmt_status_extra(st, 0), "lag=12");
	assert_string_equal(dmt_status_extra(st, 2), "x");
	dmt_status_free(st);
}

/* remote: the remote-leg fields are appended after the sync ones. */
static void test_status_remote_legs(void **state)
{
	struct dmt_status *st;

	(void)state;
	assert_int_equal(dmt_status_parse(
		"acme g1 loaded 2 local 1:0 A remote 259:1 a 3072 38068 0 0 0 0 "
		"128/128 idle 0/0 0 1 1 catching-up 67108864 12756 no", &st), 0);
	assert_int_equal(dmt_status_nr_legs(st), 2);
	assert_int_equal(dmt_status_leg_class(st, 1), DMT_LEG_REMOTE);
	assert_int_equal(dmt_status_leg_state(st, 1), DMT_LEG_STATE_SYNCING);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_WRITES), 38068);
	assert_int_equal(dmt_status_nr_extra(st), 10);
	assert_string_equal(dmt_status_extra(st, 0), "128/128");
	assert_string_equal(dmt_status_extra(st, 4), "1");
	assert_string_equal(dmt_status_extra(st, 5), "1");
	assert_string_equal(dmt_status_extra(st, 6), "catching-up");
	assert_string_equal(dmt_status_extra(st, 7), "67108864");
	assert_string_equal(dmt_status_extra(st, 8), "12756");
	assert_string_equal(dmt_status_extra(st, 9), "no");
	dmt_status_free(st);
}

static void test_status_unknown_states(void **state)
{
	struct dmt_status *st;

	(void)state;
	assert_int_equal(dmt_status_parse(
		"a b frozen 1 local 1:1 Z 0 0 0 0 0 0", &st), 0);
	assert_int_equal(dmt_status_key_state(st), DMT_KEY_STATE_UNKNOWN);
	assert_int_equal(dmt_status_leg_state(st, 0), DMT_LEG_STATE_UNKNOWN);
	dmt_status_free(st);
}

static void test_status_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"acme vol1 loaded",
		"acme vol1 loaded 0 0 0 0 0 0 0",
		"acme vol1 loaded 9 local 1:1 A 0 0 0 0 0 0",
		"acme vol1 loaded 1 local 1:1 A 0 0 0 0 0",	/* a counter short */
		"acme vol1 loaded 2 local 1:1 A 0 0 0 0 0 0",	/* a leg short */
		"acme vol1 loaded 1 lokal 1:1 A 0 0 0 0 0 0",
		"acme vol1 loaded 1 local 1:1 AA 0 0 0 0 0 0",
		"acme vol1 loaded 1 local 1:1 A -1 0 0 0 0 0",
		"acme vol1 loaded 1 local 1:1 A 01 0 0 0 0 0",
		"acme vol1 loaded 1 local 1:1 A 18446744073709551616 0 0 0 0 0",
		"acme vol1 loaded x local 1:1 A 0 0 0 0 0 0",
	};
	struct dmt_status *st = (void *)1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dmt_status_parse(bad[i], &st), -EINVAL);
		assert_null(st);
	}
	assert_int_equal(dmt_status_parse(NULL, &st), -EINVAL);
	assert_int_equal(dmt_status_parse("x", NULL), -EINVAL);
	dmt_status_free(NULL);
	assert_null(dmt_status_tenant(NULL));
}

/* ---- table ---- */

static struct dmt_ctx *quiet_ctx(void)
{
	struct dmt_ctx *ctx;

	assert_int_equal(dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD), 0);
	dmt_ctx_set_log_level(ctx, -1);	/* nothing to stderr */
	return ctx;
}

static void test_table_one_leg(void **state)
{
	struct dmt_ctx *ctx = quiet_ctx();
	struct dmt_leg legs[] = { { DMT_LEG_LOCAL, "/dev/vda", 16384 } };
	struct dmt_table t = {
		.tenant = "acme", .volume = "vol1", .length = 81920,
		.legs = legs, .nr_legs = 1,
	};
	char buf[512];
	const char *want = "acme vol1 aes-xts-plain64 :64:logon:dm-tenant:acme:vol1 "
			   "0 1 local /dev/vda 16384";

	(void)state;
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)),
			 (int)strlen(want));
	assert_string_equal(buf, want);
	/* snprintf-like: the length without a buffer, truncation */
	assert_int_equal(dmt_table_format(ctx, &t, NULL, 0), (int)strlen(want));
	assert_int_equal(dmt_table_format(ctx, &t, buf, 10), (int)strlen(want));
	assert_string_equal(buf, "acme vol1");
	dmt_ctx_free(ctx);
}

static void test_table_many_legs_options(void **state)
{
	struct dmt_ctx *ctx = quiet_ctx();
	struct dmt_leg legs[] = {
		{ DMT_LEG_LOCAL, "8:16", 16384 },
		{ DMT_LEG_ZONE, "/dev/vdb", 16384 },
		{ DMT_LEG_REMOTE, "/dev/nbd0", 16384 },
	};
	struct dmt_table t = {
		.tenant = "t-1", .volume = "v.2", .length = 1000, .key_size = 32,
		.iv_offset = 7, .legs = legs, .nr_legs = 3,
		.flags = DMT_TABLE_ALLOW_DISCARDS,
	};
	char buf[512];

	(void)state;
	assert_true(dmt_table_format(ctx, &t, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "t-1 v.2 aes-xts-plain64 :32:logon:dm-tenant:t-1:v.2 7 3 "
			    "local 8:16 16384 zone /dev/vdb 16384 remote /dev/nbd0 16384 "
			    "1 allow_discards");
	dmt_ctx_free(ctx);
}

static void test_table_invalid(void **state)
{
	struct dmt_ctx *ctx = quiet_ctx();
	struct dmt_leg legs[DMT_MAX_LEGS + 1];
	struct dmt_table t;
	char buf[1024];
	unsigned int i;

	(void)state;
	for (i = 0; i <= DMT_MAX_LEGS; i++) {
		legs[i].cls = DMT_LEG_LOCAL;
		legs[i].path = "/dev/x";
		legs[i].offset = 0;
	}
#define RESET() do { memset(&t, 0, sizeof(t)); t.tenant = "acme"; \
	t.volume = "vol1"; t.length = 8; t.legs = legs; t.nr_legs = 1; } while (0)
	RESET();
	assert_true(dmt_table_format(ctx, &t, buf, sizeof(buf)) > 0);
	t.nr_legs = DMT_MAX_LEGS;
	assert_true(dmt_table_format(ctx, &t, buf, sizeof(buf)) > 0);
	t.nr_legs = DMT_MAX_LEGS + 1;
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	RESET(); t.nr_legs = 0;
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	RESET(); t.tenant = "ac:me";
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	RESET(); t.volume = "";
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	RESET(); t.length = 0;
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	RESET(); t.key_size = 48;	/* refused by the kernel's parser */
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	assert_true(strlen(dmt_ctx_last_error(ctx)) > 0);
	RESET(); t.sector_size = 1024;
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	RESET(); t.flags = 0x80;
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	RESET(); legs[0].path = "/dev/a b";
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	legs[0].path = "/dev/x";
	RESET(); legs[0].cls = 7;
	assert_int_equal(dmt_table_format(ctx, &t, buf, sizeof(buf)), -EINVAL);
	legs[0].cls = DMT_LEG_LOCAL;
	/* sector_size:4096 is printed as an option */
	RESET(); t.sector_size = 4096; legs[0].offset = 8;
	assert_true(dmt_table_format(ctx, &t, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, " 1 sector_size:4096"));
	dmt_ctx_free(ctx);
#undef RESET
}

static void test_key_description(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(dmt_key_description("acme", "vol1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "dm-tenant:acme:vol1");
	assert_int_equal(dmt_key_description("acme", "vol1", buf, 10), -ENOSPC);
	assert_int_equal(dmt_key_description("a/b", "vol1", buf, sizeof(buf)), -EINVAL);
}

static void test_leg_classes(void **state)
{
	enum dmt_leg_class c;

	(void)state;
	assert_string_equal(dmt_leg_class_name(DMT_LEG_LOCAL), "local");
	assert_string_equal(dmt_leg_class_name(DMT_LEG_ZONE), "zone");
	assert_string_equal(dmt_leg_class_name(DMT_LEG_REMOTE), "remote");
	assert_null(dmt_leg_class_name(3));
	assert_int_equal(dmt_leg_class_parse("remote", &c), 0);
	assert_int_equal(c, DMT_LEG_REMOTE);
	assert_int_equal(dmt_leg_class_parse("Remote", &c), -EINVAL);
	assert_int_equal(dmt_leg_class_parse(NULL, &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_one_leg),
		cmocka_unit_test(test_status_replication),
		cmocka_unit_test(test_status_remote_legs),
		cmocka_unit_test(test_status_unknown_states),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_table_one_leg),
		cmocka_unit_test(test_table_many_legs_options),
		cmocka_unit_test(test_table_invalid),
		cmocka_unit_test(test_key_description),
		cmocka_unit_test(test_leg_classes),
	};

	return cmocka_run_group_tests_name("lib_status_table", tests, NULL, NULL);
}
