// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kernel/tenant-table.c: table and key reference parsing,
 * key binding and canonical formatting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tenant-table.h"
#include "tt_helpers.h"

/* The exact error messages (part of the user interface). */
#define E_ARGV		"invalid argument vector"
#define E_FEW		"not enough arguments"
#define E_TENANT	"invalid tenant id (1-23 characters of A-Za-z0-9._-, starting with a letter or digit)"
#define E_VOLUME	"invalid volume id (1-23 characters of A-Za-z0-9._-, starting with a letter or digit)"
#define E_CIPHER	"unsupported cipher (only aes-xts-plain64)"
#define E_KEY_MISSING	"missing key reference"
#define E_KEY_HEX	"hex keys are not accepted: the key must be a keyring reference :<size>:logon:<description>"
#define E_KEY_NO_SIZE	"key reference has no key size"
#define E_KEY_SYNTAX	"key size must be decimal digits without sign or blanks"
#define E_KEY_ZEROS	"key size must not have leading zeros"
#define E_KEY_SIZE	"key size must be 32 or 64 bytes"
#define E_KEY_NO_TYPE	"key reference has no key type"
#define E_KEY_TYPE	"key type must be logon (user and other key types are refused)"
#define E_KEY_NO_DESC	"key reference has no key description"
#define E_KEY_DESC	"key description contains blanks or control characters"
#define E_BINDING	"key belongs to another tenant or volume: description must be dm-tenant:<tenant>:<volume>"
#define E_IV		"invalid iv_offset (decimal 512-byte sectors)"
#define E_NR_LEGS	"invalid number of legs (1-8)"
#define E_FEW_LEGS	"not enough arguments for the number of legs"
#define E_CLASS		"invalid leg class (local, zone or remote)"
#define E_DEV_EMPTY	"empty leg device"
#define E_DEV		"leg device contains blanks or control characters"
#define E_LEG_OFF	"invalid leg offset (decimal 512-byte sectors)"
#define E_OPT_COUNT	"invalid optional argument count"
#define E_OPT_FEW	"missing optional arguments (fewer than their count)"
#define E_OPT_MANY	"too many arguments (more optional arguments than their count)"
#define E_OPT_UNKNOWN	"unknown optional argument"
#define E_OPT_DUP	"duplicate optional argument"
#define E_SECTOR	"invalid sector_size (512 or 4096)"
#define E_IV_ALIGN	"iv_offset must be a multiple of 8 with sector_size:4096"
#define E_LEG_ALIGN	"leg offset must be a multiple of 8 with sector_size:4096"

#define E_META		"invalid metadata size (decimal sectors, at most 2^31)"
#define E_META_ROOM	"leg offset is smaller than the metadata area before it"
#define E_REGION	"invalid region_size (a power of two, 8 to 2^30 sectors)"
#define E_MIN_SYNC	"invalid min_sync (1 to the number of legs)"
#define E_BUDGET	"invalid remote_budget (decimal bytes, 65536 to 2^40)"

#define PFX	"t1 v1 aes-xts-plain64 :32:logon:dm-tenant:t1:v1 "
#define VALID1	PFX "0 1 local /dev/sdb 0"

#define U64_MAX_STR	"18446744073709551615"
#define U64_OVER_STR	"18446744073709551616"

/* A line split into an argv; the spec points into buf. */
struct line {
	char buf[4096];
	char *argv[TT_MAX_ARGS];
	unsigned int argc;
};

static void split_line(struct line *l, const char *s)
{
	size_t len = strlen(s);

	assert_true(len < sizeof(l->buf));
	memcpy(l->buf, s, len + 1);
	l->argc = tt_split(l->buf, len, l->argv, TT_MAX_ARGS, true);
}

static int parse_line(struct line *l, const char *s,
		      struct tenant_table_spec *spec, const char **err)
{
	split_line(l, s);
	*err = NULL;
	return tenant_parse_table(l->argc, l->argv, spec, err);
}

/* Parse must fail with exactly @ret and @msg; the message is constant. */
static void expect_error(const char *s, int ret, const char *msg)
{
	struct tenant_table_spec spec;
	const char *err;
	struct line l;
	int r;

	r = parse_line(&l, s, &spec, &err);
	if (r != ret || !err || strcmp(err, msg))
		fail_msg("table \"%s\": got %d \"%s\", want %d \"%s\"", s, r,
			 err ? err : "(null)", ret, msg);
	/* Never a pointer into (or a copy of) the caller's arguments. */
	assert_false(err >= l.buf && err < l.buf + sizeof(l.buf));
}

static void expect_valid(const char *s, struct tenant_table_spec *spec,
			 struct line *l)
{
	const char *err;
	int r;

	r = parse_line(l, s, spec, &err);
	if (r)
		fail_msg("table \"%s\": got %d \"%s\", want success", s, r,
			 err ? err : "(null)");
}

/* Format @spec, check the snprintf contract, return a malloc'ed string. */
static char *format(const struct tenant_table_spec *spec)
{
	int len = tenant_format_table(spec, NULL, NULL, 0);
	char *buf;

	assert_true(len > 0);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(tenant_format_table(spec, NULL, buf, (size_t)len + 1),
			 len);
	assert_int_equal(strlen(buf), (size_t)len);
	return buf;
}

/* parse -> format -> parse: equal specs and identical canonical text. */
static void check_round_trip(const char *s, const char *canonical)
{
	struct tenant_table_spec a, b;
	struct line la, lb;
	char *out, *out2;

	expect_valid(s, &a, &la);
	out = format(&a);
	if (canonical)
		assert_string_equal(out, canonical);
	expect_valid(out, &b, &lb);
	assert_true(tt_spec_equal(&a, &b));
	out2 = format(&b);
	assert_string_equal(out, out2);
	free(out2);
	free(out);
}

/* ---- valid tables ---- */

static void test_valid_one_leg(void **state)
{
	struct tenant_table_spec spec;
	struct line l;

	(void)state;
	expect_valid(VALID1, &spec, &l);
	assert_string_equal(spec.tenant, "t1");
	assert_string_equal(spec.volume, "v1");
	assert_string_equal(spec.cipher, "aes-xts-plain64");
	assert_string_equal(spec.key_string, ":32:logon:dm-tenant:t1:v1");
	assert_int_equal(spec.key.key_size, 32);
	assert_int_equal(spec.key.type_len, 5);
	assert_memory_equal(spec.key.type, "logon", 5);
	assert_string_equal(spec.key.desc, "dm-tenant:t1:v1");
	assert_int_equal(spec.iv_offset, 0);
	assert_int_equal(spec.nr_legs, 1);
	assert_int_equal(spec.legs[0].cls, TENANT_LEG_LOCAL);
	assert_string_equal(spec.legs[0].path, "/dev/sdb");
	assert_int_equal(spec.legs[0].offset, 0);
	assert_int_equal(spec.sector_size, 512);
	assert_false(spec.allow_discards);
	/* results point into argv, nothing is copied */
	assert_ptr_equal(spec.tenant, l.argv[0]);
	assert_ptr_equal(spec.legs[0].path, l.argv[7]);
	assert_ptr_equal(spec.key.desc, l.argv[3] + 10);
}

static void test_valid_each_class(void **state)
{
	struct tenant_table_spec spec;
	struct line l;

	(void)state;
	expect_valid(PFX "7 3 local 8:16 1 zone /dev/disk/by-id/x 2 remote 253:4 3",
		     &spec, &l);
	assert_int_equal(spec.iv_offset, 7);
	assert_int_equal(spec.nr_legs, 3);
	assert_int_equal(spec.legs[0].cls, TENANT_LEG_LOCAL);
	assert_int_equal(spec.legs[1].cls, TENANT_LEG_ZONE);
	assert_int_equal(spec.legs[2].cls, TENANT_LEG_REMOTE);
	assert_string_equal(spec.legs[0].path, "8:16");
	assert_string_equal(spec.legs[1].path, "/dev/disk/by-id/x");
	assert_string_equal(spec.legs[2].path, "253:4");
	assert_int_equal(spec.legs[0].offset, 1);
	assert_int_equal(spec.legs[1].offset, 2);
	assert_int_equal(spec.legs[2].offset, 3);

	expect_valid(PFX "0 1 zone /dev/a 0", &spec, &l);
	assert_int_equal(spec.legs[0].cls, TENANT_LEG_ZONE);
	expect_valid(PFX "0 1 remote /dev/a 0", &spec, &l);
	assert_int_equal(spec.legs[0].cls, TENANT_LEG_REMOTE);
}

static void test_valid_eight_legs(void **state)
{
	struct tenant_table_spec spec;
	struct line l;
	unsigned int i;

	(void)state;
	expect_valid(PFX "0 8 local /dev/a 0 local /dev/b 8 zone /dev/c 16 "
		     "zone /dev/d 24 remote /dev/e 32 remote /dev/f 40 "
		     "local /dev/g 48 zone /dev/h 56 2 allow_discards "
		     "sector_size:4096", &spec, &l);
	assert_int_equal(spec.nr_legs, 8);
	for (i = 0; i < 8; i++) {
		char name[16];

		snprintf(name, sizeof(name), "/dev/%c", 'a' + i);
		assert_string_equal(spec.legs[i].path, name);
		assert_int_equal(spec.legs[i].offset, 8 * i);
	}
	assert_true(spec.allow_discards);
	assert_int_equal(spec.sector_size, 4096);
}

static void test_valid_options(void **state)
{
	struct tenant_table_spec spec;
	struct line l;

	(void)state;
	expect_valid(VALID1 " 0", &spec, &l);
	assert_false(spec.allow_discards);
	assert_int_equal(spec.sector_size, 512);

	expect_valid(VALID1 " 1 allow_discards", &spec, &l);
	assert_true(spec.allow_discards);
	assert_int_equal(spec.sector_size, 512);

	expect_valid(VALID1 " 1 sector_size:512", &spec, &l);
	assert_int_equal(spec.sector_size, 512);

	expect_valid(PFX "16 1 local /dev/sdb 4096 1 sector_size:4096", &spec,
		     &l);
	assert_int_equal(spec.sector_size, 4096);
	assert_int_equal(spec.iv_offset, 16);

	expect_valid(PFX "8 2 local /dev/a 8 zone /dev/b 0 2 sector_size:4096 allow_discards",
		     &spec, &l);
	assert_true(spec.allow_discards);
	assert_int_equal(spec.sector_size, 4096);

	/* sector_size:512 does not impose any alignment */
	expect_valid(PFX "7 1 local /dev/a 9 1 sector_size:512", &spec, &l);
}

static void test_valid_key_64_and_ids(void **state)
{
	struct tenant_table_spec spec;
	struct line l;

	(void)state;
	expect_valid("acme.corp_1-x vol-01.a_b aes-xts-plain64 "
		     ":64:logon:dm-tenant:acme.corp_1-x:vol-01.a_b 0 1 local /dev/a 0",
		     &spec, &l);
	assert_int_equal(spec.key.key_size, 64);
	assert_string_equal(spec.tenant, "acme.corp_1-x");
	assert_string_equal(spec.volume, "vol-01.a_b");

	/* 23-character ids on both sides */
	expect_valid("ABCDEFGHIJKLMNOPQRSTUVW 0bcdefghijklmnopqrstuvw aes-xts-plain64 "
		     ":32:logon:dm-tenant:ABCDEFGHIJKLMNOPQRSTUVW:0bcdefghijklmnopqrstuvw "
		     "0 1 local /dev/a 0", &spec, &l);
}

static void test_valid_u64_limits(void **state)
{
	struct tenant_table_spec spec;
	struct line l;

	(void)state;
	expect_valid(PFX U64_MAX_STR " 1 local /dev/a " U64_MAX_STR, &spec,
		     &l);
	assert_true(spec.iv_offset == UINT64_MAX);
	assert_true(spec.legs[0].offset == UINT64_MAX);
	check_round_trip(PFX U64_MAX_STR " 1 local /dev/a " U64_MAX_STR,
			 PFX U64_MAX_STR " 1 local /dev/a " U64_MAX_STR);
	/* the largest multiple of 8 with 4096-byte sectors */
	expect_valid(PFX "18446744073709551608 1 local /dev/a 18446744073709551608 1 sector_size:4096",
		     &spec, &l);
}

/* ---- round trip and formatting ---- */

static void test_round_trip(void **state)
{
	(void)state;
	check_round_trip(VALID1, VALID1);
	check_round_trip(VALID1 " 0", VALID1);
	check_round_trip(VALID1 " 1 sector_size:512", VALID1);
	check_round_trip(VALID1 " 1 allow_discards", VALID1 " 1 allow_discards");
	check_round_trip(PFX "8 2 local /dev/a 8 zone /dev/b 0 2 sector_size:4096 allow_discards",
			 PFX "8 2 local /dev/a 8 zone /dev/b 0 2 allow_discards sector_size:4096");
	check_round_trip(PFX "8 1 remote 8:0 8 1 sector_size:4096",
			 PFX "8 1 remote 8:0 8 1 sector_size:4096");
	check_round_trip("\tt1  v1 aes-xts-plain64 :32:logon:dm-tenant:t1:v1 0 1 local /dev/sdb 0\n",
			 VALID1);
	check_round_trip(PFX "0 8 local /dev/a 0 local /dev/b 8 zone /dev/c 16 "
			 "zone /dev/d 24 remote /dev/e 32 remote /dev/f 40 "
			 "local /dev/g 48 zone /dev/h 56 2 allow_discards "
			 "sector_size:4096", NULL);
	check_round_trip("a b aes-xts-plain64 :64:logon:dm-tenant:a:b 3 1 zone /x 5",
			 "a b aes-xts-plain64 :64:logon:dm-tenant:a:b 3 1 zone /x 5");
}

static void test_format_truncation(void **state)
{
	struct tenant_table_spec spec;
	struct line l;
	char *full, buf[512];
	size_t size;
	int len;

	(void)state;
	expect_valid(PFX "8 2 local /dev/a 8 zone /dev/b 0 2 allow_discards sector_size:4096",
		     &spec, &l);
	full = format(&spec);
	len = (int)strlen(full);
	assert_true((size_t)len < sizeof(buf));

	/* NULL buffer with any size, like snprintf(NULL, 0, ...) */
	assert_int_equal(tenant_format_table(&spec, NULL, NULL, 0), len);
	assert_int_equal(tenant_format_table(&spec, NULL, NULL, 100), len);

	for (size = 0; size <= (size_t)len + 2; size++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(tenant_format_table(&spec, NULL, buf, size),
				 len);
		if (size == 0) {
			assert_int_equal(buf[0], 'X');
			continue;
		}
		/* the longest prefix that fits, NUL-terminated, no overrun */
		if (size <= (size_t)len) {
			assert_memory_equal(buf, full, size - 1);
			assert_int_equal(buf[size - 1], '\0');
			assert_int_equal(buf[size], 'X');
		} else {
			assert_string_equal(buf, full);
		}
	}
	free(full);
}

static void test_format_leg_names(void **state)
{
	static const char *const names[] = { "8:16", "253:7" };
	static const char *const some[] = { NULL, "9:9" };
	struct tenant_table_spec spec;
	struct line l;
	char buf[512];
	int len;

	(void)state;
	expect_valid(PFX "0 2 local /dev/a 0 remote /dev/b 8", &spec, &l);
	len = tenant_format_table(&spec, names, buf, sizeof(buf));
	assert_string_equal(buf, PFX "0 2 local 8:16 0 remote 253:7 8");
	assert_int_equal(len, (int)strlen(buf));
	/* a NULL entry keeps the path */
	tenant_format_table(&spec, some, buf, sizeof(buf));
	assert_string_equal(buf, PFX "0 2 local /dev/a 0 remote 9:9 8");
}

static void test_format_degenerate(void **state)
{
	struct tenant_table_spec spec;
	char buf[256];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(tenant_format_table(NULL, NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	/* a zeroed spec must not crash (NULL strings, bogus values) */
	memset(&spec, 0, sizeof(spec));
	assert_true(tenant_format_table(&spec, NULL, buf, sizeof(buf)) > 0);
	spec.nr_legs = 1000;
	spec.legs[0].cls = (enum tenant_leg_class)42;
	assert_true(tenant_format_table(&spec, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, " invalid "));
}

static void test_leg_class_name(void **state)
{
	(void)state;
	assert_string_equal(tenant_leg_class_name(TENANT_LEG_LOCAL), "local");
	assert_string_equal(tenant_leg_class_name(TENANT_LEG_ZONE), "zone");
	assert_string_equal(tenant_leg_class_name(TENANT_LEG_REMOTE), "remote");
	assert_null(tenant_leg_class_name((enum tenant_leg_class)3));
	assert_null(tenant_leg_class_name((enum tenant_leg_class)-1));
}

/* ---- argc/argv edge cases ---- */

static void test_argc_zero_and_null(void **state)
{
	struct tenant_table_spec spec;
	char *argv[10] = { NULL };
	const char *err = NULL;
	struct line l;

	(void)state;
	assert_int_equal(tenant_parse_table(0, NULL, &spec, &err), -EINVAL);
	assert_string_equal(err, E_FEW);
	assert_int_equal(tenant_parse_table(0, argv, &spec, &err), -EINVAL);
	assert_string_equal(err, E_FEW);
	assert_int_equal(tenant_parse_table(3, NULL, &spec, &err), -EINVAL);
	assert_string_equal(err, E_ARGV);

	split_line(&l, VALID1);
	assert_int_equal(tenant_parse_table(l.argc, l.argv, NULL, &err),
			 -EINVAL);
	assert_string_equal(err, E_ARGV);
	l.argv[7] = NULL;
	assert_int_equal(tenant_parse_table(l.argc, l.argv, &spec, &err),
			 -EINVAL);
	assert_string_equal(err, E_ARGV);

	/* a NULL error pointer is allowed */
	assert_int_equal(tenant_parse_table(0, NULL, &spec, NULL), -EINVAL);
	split_line(&l, VALID1);
	assert_int_equal(tenant_parse_table(l.argc, l.argv, &spec, NULL), 0);
	split_line(&l, PFX "0 1 local /dev/a x");
	assert_int_equal(tenant_parse_table(l.argc, l.argv, &spec, NULL),
			 -EINVAL);
	assert_int_equal(tenant_parse_key_ref("x", &spec.key, NULL), -EINVAL);
	assert_int_equal(tenant_parse_key_ref(NULL, &spec.key, &err), -EINVAL);
	assert_string_equal(err, E_KEY_MISSING);
	assert_int_equal(tenant_parse_key_ref(":32:logon:d", NULL, &err),
			 -EINVAL);
	assert_string_equal(err, E_KEY_MISSING);
}

/*
 * Every prefix of a valid table (argc = 0..n on the same argv) is refused
 * with a message, except the prefixes that are complete tables themselves.
 */
static void check_prefixes(const char *s, unsigned int full_without_opts)
{
	struct tenant_table_spec spec;
	const char *err;
	struct line l;
	unsigned int k;
	int r;

	split_line(&l, s);
	for (k = 0; k <= l.argc; k++) {
		err = NULL;
		r = tenant_parse_table(k, l.argv, &spec, &err);
		if (k == l.argc || k == full_without_opts) {
			if (r)
				fail_msg("prefix %u of \"%s\": %s", k, s, err);
		} else {
			if (r != -EINVAL || !err)
				fail_msg("prefix %u of \"%s\" accepted", k, s);
		}
	}
}

static void test_prefixes(void **state)
{
	(void)state;
	check_prefixes(VALID1, 9);
	check_prefixes(VALID1 " 1 allow_discards", 9);
	check_prefixes(PFX "8 3 local /dev/a 0 zone /dev/b 8 remote /dev/c 16 2 allow_discards sector_size:4096",
		       15);
	check_prefixes(PFX "0 8 local /dev/a 0 local /dev/b 8 zone /dev/c 16 "
		       "zone /dev/d 24 remote /dev/e 32 remote /dev/f 40 "
		       "local /dev/g 48 zone /dev/h 56 2 allow_discards "
		       "sector_size:4096", 30);
}

static void test_prefix_errors(void **state)
{
	(void)state;
	expect_error("", -EINVAL, E_FEW);
	expect_error("t1", -EINVAL, E_FEW);
	expect_error(PFX "0", -EINVAL, E_FEW);
	expect_error(PFX "0 1", -EINVAL, E_FEW_LEGS);
	expect_error(PFX "0 1 local", -EINVAL, E_FEW_LEGS);
	expect_error(PFX "0 1 local /dev/a", -EINVAL, E_FEW_LEGS);
	expect_error(PFX "0 2 local /dev/a 0", -EINVAL, E_FEW_LEGS);
	expect_error(PFX "0 2 local /dev/a 0 zone /dev/b", -EINVAL,
		     E_FEW_LEGS);
	expect_error(PFX "0 8 local /dev/a 0", -EINVAL, E_FEW_LEGS);
}

/* ---- ids ---- */

static void test_valid_id(void **state)
{
	static const char *const good[] = {
		"a", "Z", "0", "9", "a.b", "a_b", "a-b", "a.", "a-", "a_",
		"0-0", "ABCDEFGHIJKLMNOPQRSTUVW", "12345678901234567890123",
		"a..", "a--__..",
	};
	static const char *const bad[] = {
		"", ".a", "_a", "-a", "a:b", "a/b", "a b", "a\tb", "a\nb",
		"a\x7f", "caf\xc3\xa9", "\xff", "a+b", "a@b", "a*", "a%",
		"ABCDEFGHIJKLMNOPQRSTUVWX", "123456789012345678901234",
		"1234567890123456789012345678901234567890", ":", "/", ".",
		"-", "_",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (tenant_valid_id(good[i]))
			fail_msg("id \"%s\" refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tenant_valid_id(bad[i]) != -EINVAL)
			fail_msg("id \"%s\" accepted", bad[i]);
	assert_int_equal(tenant_valid_id(NULL), -EINVAL);
}

static void test_id_errors(void **state)
{
	(void)state;
	/* 24 characters */
	expect_error("ABCDEFGHIJKLMNOPQRSTUVWX v1 aes-xts-plain64 "
		     ":32:logon:dm-tenant:ABCDEFGHIJKLMNOPQRSTUVWX:v1 0 1 local /dev/a 0",
		     -EINVAL, E_TENANT);
	expect_error("t1 ABCDEFGHIJKLMNOPQRSTUVWX aes-xts-plain64 "
		     ":32:logon:dm-tenant:t1:ABCDEFGHIJKLMNOPQRSTUVWX 0 1 local /dev/a 0",
		     -EINVAL, E_VOLUME);
	expect_error(".t v1 aes-xts-plain64 :32:logon:dm-tenant:.t:v1 0 1 local /dev/a 0",
		     -EINVAL, E_TENANT);
	expect_error("t:x v1 aes-xts-plain64 :32:logon:dm-tenant:t:x:v1 0 1 local /dev/a 0",
		     -EINVAL, E_TENANT);
	expect_error("t1 v/1 aes-xts-plain64 :32:logon:dm-tenant:t1:v/1 0 1 local /dev/a 0",
		     -EINVAL, E_VOLUME);
	expect_error("t1 -v aes-xts-plain64 :32:logon:dm-tenant:t1:-v 0 1 local /dev/a 0",
		     -EINVAL, E_VOLUME);
	expect_error("t1 b:c aes-xts-plain64 :32:logon:dm-tenant:t1:b:c 0 1 local /dev/a 0",
		     -EINVAL, E_VOLUME);
}

/* ---- cipher ---- */

static void test_cipher_errors(void **state)
{
	static const char *const ciphers[] = {
		"aes-cbc-essiv:sha256", "aes-xts-plain", "AES-XTS-PLAIN64",
		"aes-xts-plain64x", "aes-xts-plain6", "capi:xts(aes)-plain64",
		"null", "aes-xts-benbi", "-",
	};
	char line[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		snprintf(line, sizeof(line),
			 "t1 v1 %s :32:logon:dm-tenant:t1:v1 0 1 local /dev/a 0",
			 ciphers[i]);
		expect_error(line, -EINVAL, E_CIPHER);
	}
}

/* ---- key references ---- */

#define DESC	"dm-tenant:t1:v1"

struct key_case {
	const char *key;
	int ret;		/* of tenant_parse_key_ref */
	const char *msg;	/* its message, NULL if it succeeds */
};

/*
 * The borked keys of cryptsetup's tests/keyring-test (its logon and user
 * descriptions replaced by this table's binding), its message ioctl cases,
 * plus our own.  Every one must be refused by the table parser; those that
 * are syntactically valid key references fail the binding.
 */
static const struct key_case key_cases[] = {
	/* cryptsetup "[3] bOrked keys", logon variants */
	{ ":\\ 32:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ": 32:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":+32:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":-32:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32 :logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32\\ :logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32_:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32+:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":30+2:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32+0:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32: logon:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:\\ logon:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:logonA:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:logo:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:llogon:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32xlogon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32:logonx" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:logon" DESC, -EINVAL, E_KEY_TYPE },
	/* user variants: the type alone is refused */
	{ ": 32:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":\\ 32:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":+32:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":-32:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32 :user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32\\ :user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32_:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32+:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":30+2:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32+0:user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32: user:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:\\ user:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:userA:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:use:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:uuser:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32xuser:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32user:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32:userx" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:user" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:userlogon:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:logonuser:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:logon:user:" DESC, 0, NULL },	/* binding refuses */
	{ ":32:user:logon:" DESC, -EINVAL, E_KEY_TYPE },
	/* cryptsetup "[1]"/"[3]": valid for dm-crypt, refused here */
	{ ":32:user:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":31:logon:" DESC, -EINVAL, E_KEY_SIZE },
	/* cryptsetup "[2] message ioctl" */
	{ ":", -EINVAL, E_KEY_NO_SIZE },
	{ "::::", -EINVAL, E_KEY_NO_SIZE },
	{ ":0:logon:" DESC, -EINVAL, E_KEY_SIZE },
	{ ":32", -EINVAL, E_KEY_NO_TYPE },
	{ ":32:", -EINVAL, E_KEY_NO_TYPE },
	{ ":32:logon", -EINVAL, E_KEY_NO_DESC },
	{ ":32:logo", -EINVAL, E_KEY_TYPE },
	{ ":32:logon:", -EINVAL, E_KEY_NO_DESC },
	/* hex keys (cryptsetup's HEXKEY_32, HEXKEY_32_BAD, HEXKEY_31) */
	{ "bb21158c733229347bd4e681891e213d94c685be6a5b84818afe7a78a6de7a1a",
	  -EINVAL, E_KEY_HEX },
	{ "bb21158c733229347bd4e68189XXXX3d94c685be6a5b84818afe7a78a6de7a1a",
	  -EINVAL, E_KEY_HEX },
	{ "bb21158c733229347bd4e681891e213d94c685be6a5b84818afe7a78a6de7a",
	  -EINVAL, E_KEY_HEX },
	{ "-", -EINVAL, E_KEY_HEX },
	{ "", -EINVAL, E_KEY_HEX },
	{ " :32:logon:" DESC, -EINVAL, E_KEY_HEX },
	/* the brief's list and more */
	{ ":32::" DESC, -EINVAL, E_KEY_NO_TYPE },
	{ ":32::desc", -EINVAL, E_KEY_NO_TYPE },
	{ "::logon:d", -EINVAL, E_KEY_NO_SIZE },
	{ ":32logon:d", -EINVAL, E_KEY_SYNTAX },
	{ ":032:logon:" DESC, -EINVAL, E_KEY_ZEROS },
	{ ":0032:logon:" DESC, -EINVAL, E_KEY_ZEROS },
	{ ":00:logon:" DESC, -EINVAL, E_KEY_ZEROS },
	{ ":064:logon:" DESC, -EINVAL, E_KEY_ZEROS },
	{ ":032", -EINVAL, E_KEY_SYNTAX },
	{ ":0x20:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32.0:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":3 2:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":\t32:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":32\n:logon:" DESC, -EINVAL, E_KEY_SYNTAX },
	{ ":16:logon:" DESC, -EINVAL, E_KEY_SIZE },
	{ ":33:logon:" DESC, -EINVAL, E_KEY_SIZE },
	{ ":128:logon:" DESC, -EINVAL, E_KEY_SIZE },
	{ ":4294967328:logon:" DESC, -EINVAL, E_KEY_SIZE },	/* 2^32+32 */
	{ ":18446744073709551648:logon:" DESC, -EINVAL, E_KEY_SIZE }, /* 2^64+32 */
	{ ":18446744073709551616:logon:" DESC, -EINVAL, E_KEY_SIZE },
	{ ":99999999999999999999999999999999999999:logon:" DESC, -EINVAL,
	  E_KEY_SIZE },
	{ ":32:LOGON:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:Logon:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:logon\t:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:encrypted:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:trusted:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:keyring:" DESC, -EINVAL, E_KEY_TYPE },
	{ ":32:logon: " DESC, -EINVAL, E_KEY_DESC },
	{ ":32:logon:" DESC " ", -EINVAL, E_KEY_DESC },
	{ ":32:logon:dm-tenant:t1:\tv1", -EINVAL, E_KEY_DESC },
	{ ":32:logon:dm-tenant:t1:v1\n", -EINVAL, E_KEY_DESC },
	{ ":32:logon:dm-tenant:t1:v1\r", -EINVAL, E_KEY_DESC },
	{ ":32:logon:dm-tenant:t1:v1\x7f", -EINVAL, E_KEY_DESC },
	{ ":32:logon:dm-tenant:t1:v1\x1b", -EINVAL, E_KEY_DESC },
	{ ":32:logon::", 0, NULL },		/* binding refuses */
	{ ":32:logon:x", 0, NULL },		/* binding refuses */
	{ ":32:logon:" DESC, 0, NULL },		/* the valid one */
	{ ":64:logon:" DESC, 0, NULL },		/* the valid one */
};

static void test_key_ref_cases(void **state)
{
	struct tenant_key_ref ref;
	const char *err;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];

		err = NULL;
		r = tenant_parse_key_ref(c->key, &ref, &err);
		if (r != c->ret || (c->msg && (!err || strcmp(err, c->msg))))
			fail_msg("key case %zu \"%s\": got %d \"%s\", want %d \"%s\"",
				 i, c->key, r, err ? err : "(null)", c->ret,
				 c->msg ? c->msg : "(none)");
		if (!r) {
			assert_true(ref.key_size == 32 || ref.key_size == 64);
			assert_int_equal(ref.type_len, 5);
			assert_memory_equal(ref.type, "logon", 5);
			assert_ptr_equal(ref.type, c->key + 4);
			assert_ptr_equal(ref.desc, c->key + 10);
		} else {
			/* the argument (maybe a key) is never echoed */
			if (strlen(c->key) >= 8)
				assert_null(strstr(err, c->key));
		}
	}
}

/* Every key case inside a whole table is refused, except the two valid. */
static void test_key_ref_in_table(void **state)
{
	struct tenant_table_spec spec;
	const char *err;
	struct line l;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];
		bool valid = !strcmp(c->key, ":32:logon:" DESC) ||
			     !strcmp(c->key, ":64:logon:" DESC);

		split_line(&l, VALID1);
		l.argv[3] = (char *)c->key;	/* may contain blanks */
		err = NULL;
		r = tenant_parse_table(l.argc, l.argv, &spec, &err);
		if (valid) {
			assert_int_equal(r, 0);
			continue;
		}
		if (c->ret == 0) {
			if (r != -EACCES || !err || strcmp(err, E_BINDING))
				fail_msg("key case %zu \"%s\": got %d", i,
					 c->key, r);
		} else if (r != c->ret || !err || strcmp(err, c->msg)) {
			fail_msg("key case %zu \"%s\": got %d \"%s\"", i,
				 c->key, r, err ? err : "(null)");
		}
	}
}

static void test_hex_key_not_echoed(void **state)
{
	static const char hex[] =
		"bb21158c733229347bd4e681891e213d94c685be6a5b84818afe7a78a6de7a1a";
	struct tenant_table_spec spec;
	const char *err = NULL;
	struct line l;

	(void)state;
	split_line(&l, "t1 v1 aes-xts-plain64 " "bb21158c733229347bd4e681891e213d94c685be6a5b84818afe7a78a6de7a1a" " 0 1 local /dev/a 0");
	assert_int_equal(tenant_parse_table(l.argc, l.argv, &spec, &err),
			 -EINVAL);
	assert_string_equal(err, E_KEY_HEX);
	assert_null(strstr(err, hex));
	assert_null(strstr(err, "bb21"));
}

/* ---- key binding ---- */

static void expect_binding(const char *desc, const char *tenant,
			   const char *volume, int ret)
{
	struct tenant_key_ref ref = { .key_size = 32, .type = "logon",
				      .type_len = 5, .desc = desc };
	const char *err = NULL;
	int r = tenant_check_key_binding(&ref, tenant, volume, &err);

	if (r != ret)
		fail_msg("binding \"%s\" for %s/%s: got %d, want %d", desc,
			 tenant ? tenant : "(null)",
			 volume ? volume : "(null)", r, ret);
	if (r)
		assert_string_equal(err, E_BINDING);
}

static void test_key_binding(void **state)
{
	struct tenant_key_ref ref;
	const char *err = NULL;

	(void)state;
	expect_binding("dm-tenant:a:b", "a", "b", 0);
	expect_binding("dm-tenant:acme:vol-1", "acme", "vol-1", 0);
	expect_binding("dm-tenant:a:b", "a", "c", -EACCES);
	expect_binding("dm-tenant:a:b", "c", "b", -EACCES);
	expect_binding("dm-tenant:a:b", "b", "a", -EACCES);
	/* prefix and suffix tricks */
	expect_binding("dm-tenant:a:b:c", "a", "b", -EACCES);
	expect_binding("dm-tenant:a:bc", "a", "b", -EACCES);
	expect_binding("dm-tenant:a:b", "a", "bc", -EACCES);
	expect_binding("dm-tenant:ab:c", "a", "b:c", -EACCES);
	expect_binding("dm-tenant:a:b:c", "a:b", "c", -EACCES);
	expect_binding("dm-tenant:a:b:c", "a", "b:c", -EACCES);
	expect_binding("dm-tenant:ab:c", "a", "bc", -EACCES);
	expect_binding("dm-tenant:ab:c", "abc", "c", -EACCES);
	expect_binding("dm-tenant:a", "a", "b", -EACCES);
	expect_binding("dm-tenant:a:", "a", "b", -EACCES);
	expect_binding("dm-tenant::b", "a", "b", -EACCES);
	expect_binding("dm-tenant:", "a", "b", -EACCES);
	expect_binding("dm-tenant", "a", "b", -EACCES);
	expect_binding("", "a", "b", -EACCES);
	expect_binding("DM-TENANT:a:b", "a", "b", -EACCES);
	expect_binding("dm-tenantX:a:b", "a", "b", -EACCES);
	expect_binding("xdm-tenant:a:b", "a", "b", -EACCES);
	expect_binding("dm-tenant:A:b", "a", "b", -EACCES);
	expect_binding("dm-tenant:a:b", "", "b", -EACCES);
	expect_binding("dm-tenant:a:", "a", "", -EACCES);
	expect_binding("dm-tenant:a:b", NULL, "b", -EACCES);
	expect_binding("dm-tenant:a:b", "a", NULL, -EACCES);
	expect_binding(NULL, "a", "b", -EACCES);
	assert_int_equal(tenant_check_key_binding(NULL, "a", "b", &err),
			 -EACCES);
	assert_string_equal(err, E_BINDING);

	/* through the parser */
	assert_int_equal(tenant_parse_key_ref(":32:logon:dm-tenant:a:b", &ref,
					      &err), 0);
	assert_int_equal(tenant_check_key_binding(&ref, "a", "b", &err), 0);
	assert_int_equal(tenant_check_key_binding(&ref, "a", "b", NULL), 0);
	assert_int_equal(tenant_check_key_binding(&ref, "x", "b", NULL),
			 -EACCES);
}

/* ---- numbers, legs and options ---- */

static void test_number_errors(void **state)
{
	(void)state;
	expect_error(PFX U64_OVER_STR " 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "99999999999999999999999 1 local /dev/a 0", -EINVAL,
		     E_IV);
	expect_error(PFX "-1 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "+1 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "01 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "00 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "0x10 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "1e3 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "1.0 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "x 1 local /dev/a 0", -EINVAL, E_IV);
	expect_error(PFX "0 1 local /dev/a " U64_OVER_STR, -EINVAL, E_LEG_OFF);
	expect_error(PFX "0 1 local /dev/a 184467440737095516150", -EINVAL,
		     E_LEG_OFF);
	expect_error(PFX "0 1 local /dev/a -0", -EINVAL, E_LEG_OFF);
	expect_error(PFX "0 1 local /dev/a 007", -EINVAL, E_LEG_OFF);
	expect_error(PFX "0 1 local /dev/a 7s", -EINVAL, E_LEG_OFF);
	expect_error(PFX "0 2 local /dev/a 0 zone /dev/b x", -EINVAL,
		     E_LEG_OFF);
}

static void test_leg_errors(void **state)
{
	(void)state;
	expect_error(PFX "0 0 local /dev/a 0", -EINVAL, E_NR_LEGS);
	expect_error(PFX "0 0", -EINVAL, E_NR_LEGS);
	expect_error(PFX "0 9 local /dev/a 0 local /dev/b 0 local /dev/c 0 "
		     "local /dev/d 0 local /dev/e 0 local /dev/f 0 "
		     "local /dev/g 0 local /dev/h 0 local /dev/i 0", -EINVAL,
		     E_NR_LEGS);
	expect_error(PFX "0 01 local /dev/a 0", -EINVAL, E_NR_LEGS);
	expect_error(PFX "0 -1 local /dev/a 0", -EINVAL, E_NR_LEGS);
	expect_error(PFX "0 4294967297 local /dev/a 0", -EINVAL, E_NR_LEGS);
	expect_error(PFX "0 " U64_MAX_STR " local /dev/a 0", -EINVAL,
		     E_NR_LEGS);
	expect_error(PFX "0 one local /dev/a 0", -EINVAL, E_NR_LEGS);
	expect_error(PFX "0 1 LOCAL /dev/a 0", -EINVAL, E_CLASS);
	expect_error(PFX "0 1 sync /dev/a 0", -EINVAL, E_CLASS);
	expect_error(PFX "0 1 locale /dev/a 0", -EINVAL, E_CLASS);
	expect_error(PFX "0 1 loca /dev/a 0", -EINVAL, E_CLASS);
	expect_error(PFX "0 2 local /dev/a 0 remotes /dev/b 0", -EINVAL,
		     E_CLASS);
	expect_error(PFX "0 1 /dev/a local 0", -EINVAL, E_CLASS);
}

static void test_leg_device_errors(void **state)
{
	static const char *const bad[] = { "/dev/a b", "/dev/a\tb", "a\n",
					   "\x7f", "\x01", "/dev/\x1b[0m" };
	struct tenant_table_spec spec;
	const char *err;
	struct line l;
	size_t i;

	(void)state;
	split_line(&l, VALID1);
	l.argv[7] = "";
	err = NULL;
	assert_int_equal(tenant_parse_table(l.argc, l.argv, &spec, &err),
			 -EINVAL);
	assert_string_equal(err, E_DEV_EMPTY);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l.argv[7] = (char *)bad[i];
		err = NULL;
		assert_int_equal(tenant_parse_table(l.argc, l.argv, &spec,
						    &err), -EINVAL);
		assert_string_equal(err, E_DEV);
	}
	/* non-ASCII paths are fine */
	l.argv[7] = "/dev/disk/by-label/caf\xc3\xa9";
	assert_int_equal(tenant_parse_table(l.argc, l.argv, &spec, &err), 0);
}

static void test_option_errors(void **state)
{
	(void)state;
	expect_error(VALID1 " x", -EINVAL, E_OPT_COUNT);
	expect_error(VALID1 " -1", -EINVAL, E_OPT_COUNT);
	expect_error(VALID1 " 01 allow_discards", -EINVAL, E_OPT_COUNT);
	expect_error(VALID1 " allow_discards", -EINVAL, E_OPT_COUNT);
	expect_error(VALID1 " " U64_OVER_STR " allow_discards", -EINVAL,
		     E_OPT_COUNT);
	expect_error(VALID1 " 1", -EINVAL, E_OPT_FEW);
	expect_error(VALID1 " 2 allow_discards", -EINVAL, E_OPT_FEW);
	expect_error(VALID1 " " U64_MAX_STR " allow_discards", -EINVAL,
		     E_OPT_FEW);
	expect_error(VALID1 " 4294967297 allow_discards", -EINVAL, E_OPT_FEW);
	expect_error(VALID1 " 0 allow_discards", -EINVAL, E_OPT_MANY);
	expect_error(VALID1 " 1 allow_discards sector_size:4096", -EINVAL,
		     E_OPT_MANY);
	expect_error(VALID1 " 1 discard", -EINVAL, E_OPT_UNKNOWN);
	expect_error(VALID1 " 1 Allow_discards", -EINVAL, E_OPT_UNKNOWN);
	expect_error(VALID1 " 1 allow_discards:1", -EINVAL, E_OPT_UNKNOWN);
	expect_error(VALID1 " 1 sector_size", -EINVAL, E_OPT_UNKNOWN);
	expect_error(VALID1 " 1 same_cpu_crypt", -EINVAL, E_OPT_UNKNOWN);
	expect_error(VALID1 " 2 allow_discards allow_discards", -EINVAL,
		     E_OPT_DUP);
	expect_error(VALID1 " 2 sector_size:512 sector_size:512", -EINVAL,
		     E_OPT_DUP);
	expect_error(VALID1 " 2 sector_size:512 sector_size:4096", -EINVAL,
		     E_OPT_DUP);
	expect_error(VALID1 " 1 sector_size:", -EINVAL, E_SECTOR);
	expect_error(VALID1 " 1 sector_size:1024", -EINVAL, E_SECTOR);
	expect_error(VALID1 " 1 sector_size:04096", -EINVAL, E_SECTOR);
	expect_error(VALID1 " 1 sector_size:4096x", -EINVAL, E_SECTOR);
	expect_error(VALID1 " 1 sector_size:+512", -EINVAL, E_SECTOR);
	expect_error(VALID1 " 1 sector_size:18446744073709555712", -EINVAL,
		     E_SECTOR);	/* 2^64 + 4096 */
	expect_error(VALID1 " 1 sector_size:0", -EINVAL, E_SECTOR);
	expect_error(PFX "1 1 local /dev/a 0 1 sector_size:4096", -EINVAL,
		     E_IV_ALIGN);
	expect_error(PFX "4 1 local /dev/a 8 1 sector_size:4096", -EINVAL,
		     E_IV_ALIGN);
	expect_error(PFX "8 1 local /dev/a 1 1 sector_size:4096", -EINVAL,
		     E_LEG_ALIGN);
	expect_error(PFX "8 3 local /dev/a 8 zone /dev/b 16 remote /dev/c 12 2 allow_discards sector_size:4096",
		     -EINVAL, E_LEG_ALIGN);
}

#define LEGS3	PFX "0 3 local /dev/a 16384 local /dev/b 16384 zone /dev/c 16384"

static void test_replication_options(void **state)
{
	struct tenant_table_spec spec;
	struct line l;

	(void)state;
	expect_valid(LEGS3, &spec, &l);
	assert_int_equal(spec.meta_sectors, 0);
	assert_int_equal(spec.region_size, 0);
	assert_int_equal(spec.min_sync, 0);
	assert_false(spec.nosync);

	expect_valid(LEGS3 " 4 nosync min_sync:2 region_size:2048 metadata:8192",
		     &spec, &l);
	assert_int_equal(spec.meta_sectors, 8192);
	assert_int_equal(spec.region_size, 2048);
	assert_int_equal(spec.min_sync, 2);
	assert_true(spec.nosync);
	check_round_trip(LEGS3 " 4 nosync min_sync:2 region_size:2048 metadata:8192",
			 LEGS3 " 4 metadata:8192 region_size:2048 min_sync:2 nosync");
	check_round_trip(LEGS3 " 6 nosync min_sync:3 region_size:8 metadata:16384 allow_discards sector_size:4096",
			 LEGS3 " 6 allow_discards sector_size:4096 metadata:16384 region_size:8 min_sync:3 nosync");
	/* metadata exactly fills the space before the offset */
	expect_valid(LEGS3 " 1 metadata:16384", &spec, &l);

	expect_error(LEGS3 " 1 metadata:16385", -EINVAL, E_META_ROOM);
	expect_error(VALID1 " 1 metadata:1", -EINVAL, E_META_ROOM);
	expect_error(LEGS3 " 1 metadata:", -EINVAL, E_META);
	expect_error(LEGS3 " 1 metadata:x", -EINVAL, E_META);
	expect_error(LEGS3 " 1 metadata:2147483649", -EINVAL, E_META);
	expect_error(LEGS3 " 2 metadata:8 metadata:8", -EINVAL, E_OPT_DUP);
	expect_error(LEGS3 " 1 region_size:0", -EINVAL, E_REGION);
	expect_error(LEGS3 " 1 region_size:4", -EINVAL, E_REGION);
	expect_error(LEGS3 " 1 region_size:1000", -EINVAL, E_REGION);
	expect_error(LEGS3 " 1 region_size:2147483648", -EINVAL, E_REGION);
	expect_error(LEGS3 " 2 region_size:8 region_size:8", -EINVAL, E_OPT_DUP);
	expect_error(LEGS3 " 1 min_sync:0", -EINVAL, E_MIN_SYNC);
	expect_error(LEGS3 " 1 min_sync:4", -EINVAL, E_MIN_SYNC);
	expect_error(VALID1 " 1 min_sync:2", -EINVAL, E_MIN_SYNC);
	expect_error(LEGS3 " 2 min_sync:1 min_sync:1", -EINVAL, E_OPT_DUP);
	expect_error(LEGS3 " 2 nosync nosync", -EINVAL, E_OPT_DUP);
	expect_error(LEGS3 " 1 nosync:1", -EINVAL, E_OPT_UNKNOWN);
}

/* remote */
#define LEGSR	PFX "0 2 local /dev/a 2048 remote /dev/b 2048"

static void test_remote_options(void **state)
{
	struct tenant_table_spec spec;
	struct line l;

	(void)state;
	expect_valid(LEGSR, &spec, &l);
	assert_int_equal(spec.remote_budget, 0);
	assert_false(spec.remote_sync);

	expect_valid(LEGSR " 3 remote_sync remote_budget:65536 metadata:2048",
		     &spec, &l);
	assert_int_equal(spec.remote_budget, 65536);
	assert_true(spec.remote_sync);
	check_round_trip(LEGSR " 3 remote_sync remote_budget:67108864 metadata:2048",
			 LEGSR " 3 metadata:2048 remote_budget:67108864 remote_sync");
	check_round_trip(LEGSR " 1 remote_budget:1099511627776",
			 LEGSR " 1 remote_budget:1099511627776");
	check_round_trip(LEGSR " 7 remote_sync nosync min_sync:1 region_size:8 metadata:2048 allow_discards remote_budget:65537",
			 LEGSR " 7 allow_discards metadata:2048 region_size:8 min_sync:1 nosync remote_budget:65537 remote_sync");

	expect_error(LEGSR " 1 remote_budget:", -EINVAL, E_BUDGET);
	expect_error(LEGSR " 1 remote_budget:65535", -EINVAL, E_BUDGET);
	expect_error(LEGSR " 1 remote_budget:1099511627777", -EINVAL, E_BUDGET);
	expect_error(LEGSR " 1 remote_budget:" U64_OVER_STR, -EINVAL, E_BUDGET);
	expect_error(LEGSR " 1 remote_budget:064000", -EINVAL, E_BUDGET);
	expect_error(LEGSR " 1 remote_budget:-1", -EINVAL, E_BUDGET);
	expect_error(LEGSR " 1 remote_budget:1M", -EINVAL, E_BUDGET);
	expect_error(LEGSR " 2 remote_budget:65536 remote_budget:65536", -EINVAL,
		     E_OPT_DUP);
	expect_error(LEGSR " 2 remote_sync remote_sync", -EINVAL, E_OPT_DUP);
	expect_error(LEGSR " 1 remote_sync:1", -EINVAL, E_OPT_UNKNOWN);
	expect_error(LEGSR " 1 remote_budget", -EINVAL, E_OPT_UNKNOWN);
}

static void test_every_message(void **state)
{
	(void)state;
	/* the first field errors, one each, in argument order */
	expect_error("t1 v1 aes-xts-plain64 :32:logon:dm-tenant:t1:v1 0", -EINVAL,
		     E_FEW);
	expect_error("t1! v1 aes-xts-plain64 :32:logon:dm-tenant:t1:v1 0 1 local /dev/a 0",
		     -EINVAL, E_TENANT);
	expect_error("t1 v1! aes-xts-plain64 :32:logon:dm-tenant:t1:v1 0 1 local /dev/a 0",
		     -EINVAL, E_VOLUME);
	expect_error("t1 v1 aes-cbc-essiv:sha256 :32:logon:dm-tenant:t1:v1 0 1 local /dev/a 0",
		     -EINVAL, E_CIPHER);
	expect_error("t1 v1 aes-xts-plain64 :32:user:dm-tenant:t1:v1 0 1 local /dev/a 0",
		     -EINVAL, E_KEY_TYPE);
	expect_error("t1 v1 aes-xts-plain64 :32:logon:dm-tenant:t2:v1 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
}

static void test_binding_table_cases(void **state)
{
	(void)state;
	/* other tenant */
	expect_error("t1 v1 aes-xts-plain64 :32:logon:dm-tenant:t2:v1 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	/* other volume */
	expect_error("t1 v1 aes-xts-plain64 :32:logon:dm-tenant:t1:v2 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	/* swapped */
	expect_error("t1 v1 aes-xts-plain64 :32:logon:dm-tenant:v1:t1 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	/* prefix tricks */
	expect_error("a b aes-xts-plain64 :32:logon:dm-tenant:a:b:c 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	expect_error("a b aes-xts-plain64 :32:logon:dm-tenant:ab:c 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	expect_error("a b aes-xts-plain64 :32:logon:dm-tenant:a:bc 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	expect_error("ab c aes-xts-plain64 :32:logon:dm-tenant:a:bc 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	expect_error("a b aes-xts-plain64 :32:logon:dm-tenant:a:b. 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	expect_error("a b aes-xts-plain64 :32:logon:dm-tenant:a 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	expect_error("a b aes-xts-plain64 :32:logon:a:b 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	expect_error("a b aes-xts-plain64 :32:logon:dm-tenant:A:b 0 1 local /dev/a 0",
		     -EACCES, E_BINDING);
	/* volume "b:c" is not a valid id: refused before the binding */
	expect_error("a b:c aes-xts-plain64 :32:logon:dm-tenant:a:b:c 0 1 local /dev/a 0",
		     -EINVAL, E_VOLUME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_one_leg),
		cmocka_unit_test(test_valid_each_class),
		cmocka_unit_test(test_valid_eight_legs),
		cmocka_unit_test(test_valid_options),
		cmocka_unit_test(test_valid_key_64_and_ids),
		cmocka_unit_test(test_valid_u64_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_format_leg_names),
		cmocka_unit_test(test_format_degenerate),
		cmocka_unit_test(test_leg_class_name),
		cmocka_unit_test(test_argc_zero_and_null),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_prefix_errors),
		cmocka_unit_test(test_valid_id),
		cmocka_unit_test(test_id_errors),
		cmocka_unit_test(test_cipher_errors),
		cmocka_unit_test(test_key_ref_cases),
		cmocka_unit_test(test_key_ref_in_table),
		cmocka_unit_test(test_hex_key_not_echoed),
		cmocka_unit_test(test_key_binding),
		cmocka_unit_test(test_binding_table_cases),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_leg_errors),
		cmocka_unit_test(test_leg_device_errors),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_replication_options),
		cmocka_unit_test(test_remote_options),
		cmocka_unit_test(test_every_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
