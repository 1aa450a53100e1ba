// SPDX-License-Identifier: GPL-2.0
/*
 * libdmtenant LUKS2 legs with the real libcryptsetup on image files (no
 * block device, no device-mapper, no kernel module: safe on the host):
 * format, identity, DEK release, wrong KEK, rewrap (idempotent), volume
 * create (same DEK on every leg), erase, token round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmt-internal.h"

#define LEG_BYTES	(12ULL << 20)	/* 8 MiB header area + 4 MiB data */

struct fixture {
	char dir[32];
	char leg[3][64];
	struct dmt_ctx *ctx;
	struct dmt_key *kek, *kek2, *dek;
	struct dmt_leg legs[3];
	struct dmt_volume vol;
	char uuid[DMT_UUID_LEN + 1];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int i, fd;

	if (!f)
		return -1;
	strcpy(f->dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/dmt-leg-XXXXXX" : "/tmp/dmt-leg-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	for (i = 0; i < 3; i++) {
		snprintf(f->leg[i], sizeof(f->leg[i]), "%s/leg%d", f->dir, i);
		fd = open(f->leg[i], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)LEG_BYTES + i * 1048576) < 0)
			return -1;
		/* non-zero garbage where the metadata area will be */
		if (pwrite(fd, "garbage", 7, 5 << 20) != 7)
			return -1;
		close(fd);
		f->legs[i].path = f->leg[i];
		f->legs[i].cls = (enum dmt_leg_class)i;
	}
	if (dmt_ctx_new(&f->ctx, DMT_CTX_NO_MODULE_LOAD))
		return -1;
	dmt_ctx_set_log_level(f->ctx, -1);
	if (dmt_key_generate(DMT_KEY_KEK, &f->kek) ||
	    dmt_key_generate(DMT_KEY_KEK, &f->kek2) ||
	    dmt_key_generate(DMT_KEY_DEK, &f->dek) ||
	    dmt_uuid_generate(f->uuid, sizeof(f->uuid)))
		return -1;
	f->vol.tenant = "acme";
	f->vol.volume = "vol1";
	f->vol.uuid = f->uuid;
	f->vol.legs = f->legs;
	f->vol.nr_legs = 3;
	f->vol.generation = 7;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 3; i++)
		unlink(f->leg[i]);
	rmdir(f->dir);
	dmt_key_free(f->kek);
	dmt_key_free(f->kek2);
	dmt_key_free(f->dek);
	dmt_ctx_free(f->ctx);
	free(f);
	return 0;
}

static int all_zero(const char *path, off_t off, size_t len)
{
	unsigned char *buf = malloc(len);
	int fd = open(path, O_RDONLY), ok;
	size_t i;

	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
	for (i = 0, ok = 1; i < len; i++)
		if (buf[i]) {
			ok = 0;
			break;
		}
	free(buf);
	return ok;
}

static void test_format_info_open(void **state)
{
	struct fixture *f = *state;
	struct dmt_leg_info info;
	struct dmt_key *dek = NULL;

	assert_int_equal(dmt_leg_format(f->ctx, &f->vol, 1, f->dek, f->kek), 0);
	assert_int_equal(dmt_leg_read_info(f->ctx, f->leg[1], &info), 0);
	assert_string_equal(info.tenant, "acme");
	assert_string_equal(info.volume, "vol1");
	assert_string_equal(info.uuid, f->uuid);
	assert_string_equal(info.label, "acme/vol1");
	assert_int_equal(dmt_uuid_valid(info.luks_uuid), 0);
	assert_string_not_equal(info.luks_uuid, f->uuid);
	assert_int_equal(info.cls, DMT_LEG_ZONE);
	assert_int_equal(info.index, 1);
	assert_int_equal(info.generation, 7);
	assert_int_equal(info.data_offset, DMT_LEG_DATA_OFFSET);
	assert_int_equal(info.size, (LEG_BYTES + 1048576 - DMT_LEG_DATA_OFFSET_BYTES) / 512);
	assert_int_equal(info.sector_size, 512);
	assert_int_equal(info.layout, 1);
	assert_int_equal(info.nr_keyslots, 1);
	/* the metadata area was zeroed */
	assert_true(all_zero(f->leg[1], DMT_LEG_META_OFFSET_BYTES,
			     DMT_LEG_META_SIZE_BYTES));

	assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[1], f->uuid, f->kek, &dek), 0);
	assert_int_equal(dmt_key_get_kind(dek), DMT_KEY_DEK);
	assert_int_equal(dmt_key_cmp(dek, f->dek), 0);
	dmt_key_free(dek);

	/* another KEK: refused; another volume UUID: not this leg */
	assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[1], f->uuid, f->kek2, &dek), -EPERM);
	assert_null(dek);
	assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[1],
		"00000000-0000-4000-8000-000000000000", f->kek, &dek), -EMEDIUMTYPE);
	/* no header at all */
	assert_int_equal(dmt_leg_read_info(f->ctx, f->leg[2], &info), -ENODEV);
	assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[2], f->uuid, f->kek, &dek), -ENODEV);
}

static void test_format_refusals(void **state)
{
	struct fixture *f = *state;
	struct dmt_volume v = f->vol;
	struct dmt_leg legs[1] = { { DMT_LEG_LOCAL, f->leg[0], 100 } };

	assert_int_equal(dmt_leg_format(f->ctx, &v, 3, f->dek, f->kek), -EINVAL);
	assert_int_equal(dmt_leg_format(f->ctx, &v, 0, f->kek, f->kek), -EINVAL);
	assert_int_equal(dmt_leg_format(f->ctx, &v, 0, f->dek, f->dek), -EINVAL);
	v.uuid = NULL;
	assert_int_equal(dmt_leg_format(f->ctx, &v, 0, f->dek, f->kek), -EINVAL);
	v = f->vol;
	v.size = LEG_BYTES / 512;	/* does not fit after the header */
	assert_int_equal(dmt_leg_format(f->ctx, &v, 0, f->dek, f->kek), -ENOSPC);
	v = f->vol;
	v.legs = legs;		/* an offset other than the layout's */
	v.nr_legs = 1;
	assert_int_equal(dmt_leg_format(f->ctx, &v, 0, f->dek, f->kek), -EINVAL);
	v = f->vol;
	v.sector_size = 4096;
	assert_int_equal(dmt_leg_format(f->ctx, &v, 0, f->dek, f->kek), -EINVAL);
}

static void test_volume_create_rewrap_erase(void **state)
{
	struct fixture *f = *state;
	struct dmt_volume v = f->vol;
	struct dmt_leg_info info;
	struct dmt_key *d0 = NULL, *d = NULL;
	char uuid[DMT_UUID_LEN + 1];
	unsigned int i;

	/* two legs of different sizes (valgrind makes every keyslot slow) */
	v.uuid = NULL;
	v.nr_legs = 2;
	assert_int_equal(dmt_volume_create(f->ctx, &v, f->kek, uuid, sizeof(uuid)), 0);
	assert_int_equal(dmt_uuid_valid(uuid), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(dmt_leg_read_info(f->ctx, f->leg[i], &info), 0);
		assert_string_equal(info.uuid, uuid);
		assert_int_equal(info.index, i);
		assert_int_equal(info.cls, (enum dmt_leg_class)i);
		/* one size for all: the smallest leg's */
		assert_int_equal(info.size, (LEG_BYTES - DMT_LEG_DATA_OFFSET_BYTES) / 512);
		assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[i], uuid, f->kek, &d), 0);
		if (!d0)
			d0 = d;
		else {
			assert_int_equal(dmt_key_cmp(d0, d), 0);
			dmt_key_free(d);
		}
	}

	v.uuid = uuid;
	/* same KEK twice: refused, nothing destroyed */
	assert_int_equal(dmt_volume_rewrap(f->ctx, &v, f->kek, f->kek), -EINVAL);
	assert_int_equal(dmt_volume_rewrap(f->ctx, &v, f->kek, f->kek2), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[i], uuid, f->kek, &d), -EPERM);
		assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[i], uuid, f->kek2, &d), 0);
		assert_int_equal(dmt_key_cmp(d0, d), 0);
		dmt_key_free(d);
		assert_int_equal(dmt_leg_read_info(f->ctx, f->leg[i], &info), 0);
		assert_int_equal(info.nr_keyslots, 1);
	}
	/* idempotent: again, and a leg-level call */
	assert_int_equal(dmt_volume_rewrap(f->ctx, &v, f->kek, f->kek2), 0);
	assert_int_equal(dmt_leg_rewrap(f->ctx, f->leg[0], uuid, f->kek, f->kek2), 0);
	/* back, leg by leg: opens with neither -> EPERM */
	assert_int_equal(dmt_leg_rewrap(f->ctx, f->leg[0], uuid, f->kek2, f->kek), 0);
	assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[0], uuid, f->kek, &d), 0);
	dmt_key_free(d);
	{
		struct dmt_key *k3;

		assert_int_equal(dmt_key_generate(DMT_KEY_KEK, &k3), 0);
		assert_int_equal(dmt_leg_rewrap(f->ctx, f->leg[1], uuid, f->kek, k3), -EPERM);
		dmt_key_free(k3);
	}

	assert_int_equal(dmt_volume_erase(f->ctx, &v, 0), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(dmt_leg_read_info(f->ctx, f->leg[i], &info), -ENODEV);
		assert_true(all_zero(f->leg[i], 0, DMT_LEG_DATA_OFFSET_BYTES));
		assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg[i], uuid, f->kek2, &d), -ENODEV);
	}
	/* erase of an erased leg: still fine */
	assert_int_equal(dmt_leg_erase(f->ctx, f->leg[0], 0), 0);
	assert_int_equal(dmt_leg_erase(f->ctx, f->leg[0], 1), -EINVAL);
	dmt_key_free(d0);
}

static void test_token_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct dmt_leg_info info;
	char *json;

	assert_int_equal(dmt_token_build(&f->vol, 2, 12345, &json), 0);
	assert_non_null(strstr(json, "\"type\":\"dm-tenant\""));
	assert_non_null(strstr(json, "\"keyslots\":[]"));
	memset(&info, 0, sizeof(info));
	assert_int_equal(dmt_token_parse(json, &info), 0);
	assert_string_equal(info.tenant, "acme");
	assert_int_equal(info.cls, DMT_LEG_REMOTE);
	assert_int_equal(info.index, 2);
	assert_int_equal(info.size, 12345);
	assert_int_equal(info.generation, 7);
	free(json);
	assert_int_equal(dmt_token_parse("{\"type\":\"other\"}", &info), -EINVAL);
	assert_int_equal(dmt_token_parse("not json", &info), -EINVAL);
	assert_int_equal(dmt_token_parse(
		"{\"type\":\"dm-tenant\",\"keyslots\":[],\"tenant\":\"a:b\","
		"\"volume\":\"v\",\"volume_uuid\":\"00000000-0000-4000-8000-000000000000\","
		"\"class\":\"local\",\"leg\":\"0\",\"generation\":\"1\",\"size\":\"1\","
		"\"layout\":\"1\"}", &info), -EINVAL);
	assert_int_equal(dmt_token_parse(
		"{\"type\":\"dm-tenant\",\"keyslots\":[],\"tenant\":\"a\","
		"\"volume\":\"v\",\"volume_uuid\":\"00000000-0000-4000-8000-000000000000\","
		"\"class\":\"local\",\"leg\":\"8\",\"generation\":\"1\",\"size\":\"1\","
		"\"layout\":\"1\"}", &info), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_format_info_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_create_rewrap_erase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_roundtrip, setup, teardown),
	};

	return cmocka_run_group_tests_name("lib_leg", tests, NULL, NULL);
}
