// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for kernel/tenant-table.c.
 *
 * The input is split on spaces and NULs only (tabs, newlines and other
 * control bytes reach the parser) into at most TT_MAX_ARGS arguments and
 * parsed as a table.  A table that parses must format to a canonical line
 * that reparses to an equal spec and formats to the same text (a fixed
 * point); truncated formatting must be a NUL-terminated prefix.  The raw
 * input is also parsed as a key reference and as an id, and checked
 * against simple reference predicates.  Any violation aborts.
 */
#include "tenant-table.h"
#include "tt_helpers.h"

#include "fuzz_common.h"

/* An error must be a constant message outside the input. */
static void check_error(int r, const char *err, const char *in, size_t len)
{
	CHECK(r == -EINVAL || r == -EACCES);
	CHECK(err != NULL);
	CHECK(!(err >= in && err <= in + len));
	CHECK(strlen(err) > 0 && strlen(err) < 200);
}

/* Reference predicate for ids, written independently of the parser. */
static int ref_valid_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > DM_TENANT_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

static void fuzz_key_ref(const char *s, size_t len)
{
	struct tenant_key_ref ref;
	const char *err = NULL;
	char expect[64];
	size_t dlen;
	int r;

	r = tenant_parse_key_ref(s, &ref, &err);
	if (r) {
		check_error(r, err, s, len);
		CHECK(r == -EINVAL);
		return;
	}
	/* accepted: exactly ":<32|64>:logon:<desc>" */
	CHECK(ref.key_size == 32 || ref.key_size == 64);
	snprintf(expect, sizeof(expect), ":%u:logon:", ref.key_size);
	CHECK(strncmp(s, expect, strlen(expect)) == 0);
	CHECK(ref.type == s + 4 && ref.type_len == 5);
	CHECK(ref.desc == s + strlen(expect));
	dlen = strlen(ref.desc);
	CHECK(dlen > 0);
	for (size_t i = 0; i < dlen; i++)
		CHECK((unsigned char)ref.desc[i] > ' ' &&
		      (unsigned char)ref.desc[i] != 0x7f);

	/* binding: accepted iff the description is exactly the expected one */
	r = tenant_check_key_binding(&ref, "t1", "v1", &err);
	CHECK(r == 0 ? !strcmp(ref.desc, "dm-tenant:t1:v1") : r == -EACCES);
}

static char *format_alloc(const struct tenant_table_spec *spec)
{
	int len = tenant_format_table(spec, NULL, NULL, 0);
	char *buf;

	CHECK(len > 0);
	buf = malloc((size_t)len + 1);
	CHECK(buf != NULL);
	CHECK(tenant_format_table(spec, NULL, buf, (size_t)len + 1) == len);
	CHECK(strlen(buf) == (size_t)len);
	return buf;
}

static void fuzz_table(char *s, size_t len)
{
	struct tenant_table_spec spec, spec2;
	char *argv[TT_MAX_ARGS], *argv2[TT_MAX_ARGS];
	const char *err = NULL;
	unsigned int argc, argc2, i;
	char *out, *copy, *out2, small[17];
	size_t olen, cut;
	int r;

	argc = tt_split(s, len, argv, TT_MAX_ARGS, false);
	r = tenant_parse_table(argc, argv, &spec, &err);
	if (r) {
		check_error(r, err, s, len);
		return;
	}

	/* invariants of an accepted table */
	CHECK(spec.nr_legs >= 1 && spec.nr_legs <= DM_TENANT_MAX_LEGS);
	CHECK(spec.sector_size == 512 || spec.sector_size == 4096);
	CHECK(ref_valid_id(spec.tenant) && ref_valid_id(spec.volume));
	CHECK(!strcmp(spec.cipher, DM_TENANT_CIPHER));
	for (i = 0; i < spec.nr_legs; i++) {
		CHECK(tenant_leg_class_name(spec.legs[i].cls) != NULL);
		CHECK(spec.legs[i].path[0] != '\0');
		if (spec.sector_size == 4096)
			CHECK(spec.legs[i].offset % 8 == 0);
	}

	/* format -> parse -> equal spec -> same text */
	out = format_alloc(&spec);
	olen = strlen(out);
	copy = strdup(out);
	CHECK(copy != NULL);
	argc2 = tt_split(copy, olen, argv2, TT_MAX_ARGS, false);
	err = NULL;
	r = tenant_parse_table(argc2, argv2, &spec2, &err);
	if (r)
		fprintf(stderr, "reparse failed: %s\n", err);
	CHECK(r == 0);
	CHECK(tt_spec_equal(&spec, &spec2));
	out2 = format_alloc(&spec2);
	CHECK(!strcmp(out, out2));

	/* truncated output is the NUL-terminated prefix */
	cut = olen % sizeof(small);
	memset(small, 'X', sizeof(small));
	CHECK(tenant_format_table(&spec, NULL, small, cut) == (int)olen);
	if (cut) {
		CHECK(strlen(small) == (cut - 1 < olen ? cut - 1 : olen));
		CHECK(!strncmp(small, out, strlen(small)));
	}

	free(out2);
	free(copy);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 16384)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;

	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_key_ref(s, size);
	CHECK((tenant_valid_id(s) == 0) == (ref_valid_id(s) == 1));

	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_table(s, size);

	free(s);
	return 0;
}
