// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of libdmtenant's destruction helpers (userspace/lib/wipe.c)
 * on regular files: method names, the verification scan (zeros, both
 * LUKS2 magics, the token across positions), crypto-shred of a LUKS2-like
 * header area, a random overwrite pass with resume offset and progress,
 * and verification of the result.  Block-device methods (discard, zero)
 * are refused on files; the VM test 60-wipe.sh covers them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dmt-internal.h"

#define SIZE	(12u << 20)

static void test_names(void **state)
{
	enum dmt_wipe_method m;
	unsigned int i;

	(void)state;
	for (i = 0; i < DMT_WIPE__COUNT; i++) {
		assert_int_equal(dmt_wipe_method_parse(dmt_wipe_method_name(i),
						       &m), 0);
		assert_int_equal(m, i);
	}
	assert_int_equal(dmt_wipe_method_parse("shred", &m), -EINVAL);
	assert_int_equal(dmt_wipe_method_parse(NULL, &m), -EINVAL);
	assert_null(dmt_wipe_method_name(DMT_WIPE__COUNT));
	assert_true(dmt_wipe_leaves_zeros(DMT_WIPE_ZERO));
	assert_false(dmt_wipe_leaves_zeros(DMT_WIPE_DISCARD));
}

static void scan(const void *p, size_t n, bool zero,
		 struct dmt_wipe_verify *v)
{
	memset(v, 0, sizeof(*v));
	v->nonzero_at = v->luks_at = v->token_at = -1;
	dmt_wipe_scan(p, n, 1000, zero, v);
}

static void test_scan(void **state)
{
	unsigned char b[256];
	struct dmt_wipe_verify v;

	(void)state;
	memset(b, 0, sizeof(b));
	scan(b, sizeof(b), true, &v);
	assert_int_equal(v.nonzero_at, -1);
	assert_int_equal(v.bytes_read, sizeof(b));
	b[17] = 1;
	scan(b, sizeof(b), true, &v);
	assert_int_equal(v.nonzero_at, 1017);
	scan(b, sizeof(b), false, &v);
	assert_int_equal(v.nonzero_at, -1);
	memcpy(b + 100, "SKUL\xba\xbe", 6);
	scan(b, sizeof(b), false, &v);
	assert_int_equal(v.luks_at, 1100);
	memset(b, 0, sizeof(b));
	memcpy(b + 250, "LUKS\xba\xbe", 6);	/* at the very end */
	scan(b, sizeof(b), false, &v);
	assert_int_equal(v.luks_at, 1250);
	memcpy(b + 3, "dm-tenant", 9);
	scan(b, sizeof(b), false, &v);
	assert_int_equal(v.token_at, 1003);
	memset(b, 0, sizeof(b));
	memcpy(b + 250, "dm-ten", 6);		/* cut: not a token */
	scan(b, sizeof(b), false, &v);
	assert_int_equal(v.token_at, -1);
}

static char path[64];

static int setup(void **state)
{
	unsigned char *b = malloc(SIZE);
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_lib_wipe_XXXXXX");
	fd = mkstemp(path);

	(void)state;
	if (fd < 0 || !b)
		return -1;
	memset(b, 0xa5, SIZE);
	memcpy(b, "LUKS\xba\xbe", 6);
	memcpy(b + 16384, "SKUL\xba\xbe", 6);
	memcpy(b + 20000, "{\"type\":\"dm-tenant\"}", 20);
	if (write(fd, b, SIZE) != SIZE)
		return -1;
	close(fd);
	free(b);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

struct prog {
	uint64_t first, last;
	unsigned int calls;
};

static int progress(uint64_t done, uint64_t total, void *arg)
{
	struct prog *p = arg;

	assert_int_equal(total, SIZE);
	if (!p->calls++)
		p->first = done;
	p->last = done;
	return 0;
}

static void test_shred_overwrite_verify(void **state)
{
	struct dmt_ctx *ctx;
	struct dmt_wipe_verify v;
	struct prog p = { 0, 0, 0 };
	uint64_t bytes = 0;

	(void)state;
	assert_int_equal(dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD), 0);
	dmt_ctx_set_log_level(ctx, 0);
	/* before: the header area fails verification */
	assert_int_equal(dmt_leg_verify(ctx, path, DMT_WIPE_SHRED, true, &v), 0);
	assert_false(v.ok);
	assert_int_equal(v.luks_at, 0);
	assert_int_equal(dmt_leg_shred(ctx, path, &bytes), 0);
	assert_int_equal(bytes, DMT_LEG_DATA_OFFSET_BYTES);
	/* header area clean; the data area still 0xa5 (no zeros expected) */
	assert_int_equal(dmt_leg_verify(ctx, path, DMT_WIPE_SHRED, true, &v), 0);
	assert_true(v.ok);
	assert_int_equal(v.bytes_read, SIZE);
	/* but a zero method would not verify */
	assert_int_equal(dmt_leg_verify(ctx, path, DMT_WIPE_ZERO, false, &v), 0);
	assert_false(v.ok);
	assert_true(v.nonzero_at >= (int64_t)DMT_LEG_DATA_OFFSET_BYTES);
	assert_int_equal(v.samples, 258);
	/* block-device methods refused on a file, nothing written */
	assert_int_equal(dmt_leg_wipe(ctx, path, DMT_WIPE_ZERO, 0, 0, NULL,
				      NULL), -EOPNOTSUPP);
	assert_int_equal(dmt_leg_wipe(ctx, path, DMT_WIPE_SHRED, 0, 0, NULL,
				      NULL), -EINVAL);
	assert_int_equal(dmt_wipe_supported(ctx, path, DMT_WIPE_OVERWRITE), 0);
	/* overwrite from a resume offset: progress starts after it */
	assert_int_equal(dmt_leg_wipe(ctx, path, DMT_WIPE_OVERWRITE, 8u << 20,
				      0, progress, &p), 0);
	assert_true(p.calls >= 1);
	assert_true(p.first > (8u << 20));
	assert_int_equal(p.last, SIZE);
	assert_int_equal(dmt_leg_verify(ctx, path, DMT_WIPE_DISCARD, true, &v), 0);
	assert_true(v.ok);
	dmt_ctx_free(ctx);
}

static int stop_at_once(uint64_t done, uint64_t total, void *arg)
{
	(void)done;
	(void)total;
	(void)arg;
	return 1;
}

static void test_cancel(void **state)
{
	struct dmt_ctx *ctx;

	(void)state;
	assert_int_equal(dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD), 0);
	dmt_ctx_set_log_level(ctx, 0);
	assert_int_equal(dmt_leg_wipe(ctx, path, DMT_WIPE_OVERWRITE, 0, 0,
				      stop_at_once, NULL), -ECANCELED);
	assert_int_equal(dmt_leg_verify(ctx, "/nonexistent/leg", DMT_WIPE_ZERO,
					false, &(struct dmt_wipe_verify){ 0 }),
			 -ENOENT);
	dmt_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_scan),
		cmocka_unit_test_setup_teardown(test_shred_overwrite_verify,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
