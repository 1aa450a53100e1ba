// SPDX-License-Identifier: GPL-2.0
/*
 * libdmtenant key material: HKDF (RFC 5869 vectors), the keyslot
 * passphrase derivation, KEK wrapping (tamper -> -EBADMSG), the master key
 * file, secure buffers, key handles, UUIDs.
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
#include <sys/stat.h>
#include <unistd.h>

#include "dmt-internal.h"

static void unhex(const char *hex, unsigned char *out, size_t *len)
{
	size_t n = strlen(hex) / 2, i;

	for (i = 0; i < n; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (unsigned char)b;
	}
	*len = n;
}

/* RFC 5869 A.1: basic test case with SHA-256. */
static void test_hkdf_rfc5869_case1(void **state)
{
	unsigned char ikm[22], salt[13], info[10], okm[42], want[42];
	size_t len, i;

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)i;
	for (i = 0; i < sizeof(info); i++)
		info[i] = (unsigned char)(0xf0 + i);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	      "34007208d5b887185865", want, &len);
	assert_int_equal(len, 42);
	assert_int_equal(dmt_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt),
					 info, sizeof(info), okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want, 42);
}

/* RFC 5869 A.3: zero-length salt and info. */
static void test_hkdf_rfc5869_case3(void **state)
{
	unsigned char ikm[22], okm[42], want[42];
	size_t len;

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	      "9d201395faa4b61a96c8", want, &len);
	assert_int_equal(dmt_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, NULL, 0,
					 okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want, 42);
}

static void test_hkdf_bad_args(void **state)
{
	unsigned char ikm[32] = { 1 }, out[32];

	(void)state;
	assert_int_equal(dmt_hkdf_sha256(NULL, 32, NULL, 0, NULL, 0, out, 32), -EINVAL);
	assert_int_equal(dmt_hkdf_sha256(ikm, 0, NULL, 0, NULL, 0, out, 32), -EINVAL);
	assert_int_equal(dmt_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, 255 * 32 + 1), -EINVAL);
	assert_int_equal(dmt_hkdf_sha256(ikm, 32, NULL, 3, NULL, 0, out, 32), -EINVAL);
}

static const char uuid_a[] = "0f8a3b1c-2d4e-4f60-8a7b-9c0d1e2f3a4b";
static const char uuid_b[] = "0f8a3b1c-2d4e-4f60-8a7b-9c0d1e2f3a4c";

/* The passphrase is exactly HKDF(KEK, salt=UUID, info="dm-tenant keyslot v1"). */
static void test_passphrase_derivation(void **state)
{
	unsigned char kekb[DMT_KEK_SIZE], want[32], got[64];
	struct dmt_key *kek, *kek2, *p1, *p2, *p3, *p4;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kekb); i++)
		kekb[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(dmt_key_import(DMT_KEY_KEK, kekb, sizeof(kekb), &kek), 0);
	assert_int_equal(dmt_key_derive_passphrase(kek, uuid_a, &p1), 0);
	assert_int_equal(dmt_key_get_kind(p1), DMT_KEY_PASSPHRASE);
	assert_int_equal(dmt_key_get_size(p1), 32);
	assert_int_equal(dmt_hkdf_sha256(kekb, sizeof(kekb), uuid_a, 36,
					 "dm-tenant keyslot v1", 20, want, 32), 0);
	assert_int_equal(dmt_key_export(p1, got, sizeof(got)), 32);
	assert_memory_equal(got, want, 32);

	/* deterministic */
	assert_int_equal(dmt_key_derive_passphrase(kek, uuid_a, &p2), 0);
	assert_int_equal(dmt_key_cmp(p1, p2), 0);
	/* bound to the volume UUID */
	assert_int_equal(dmt_key_derive_passphrase(kek, uuid_b, &p3), 0);
	assert_int_equal(dmt_key_cmp(p1, p3), 1);
	/* and to the KEK */
	kekb[0] ^= 1;
	assert_int_equal(dmt_key_import(DMT_KEY_KEK, kekb, sizeof(kekb), &kek2), 0);
	assert_int_equal(dmt_key_derive_passphrase(kek2, uuid_a, &p4), 0);
	assert_int_equal(dmt_key_cmp(p1, p4), 1);
	dmt_key_free(p4);

	/* bad inputs */
	assert_int_equal(dmt_key_derive_passphrase(kek, "not-a-uuid", &p4), -EINVAL);
	assert_null(p4);
	assert_int_equal(dmt_key_derive_passphrase(p1, uuid_a, &p4), -EINVAL);
	assert_int_equal(dmt_key_derive_passphrase(kek,
		"0F8A3B1C-2D4E-4F60-8A7B-9C0D1E2F3A4B", &p4), -EINVAL);

	explicit_bzero(got, sizeof(got));
	dmt_key_free(kek);
	dmt_key_free(kek2);
	dmt_key_free(p1);
	dmt_key_free(p2);
	dmt_key_free(p3);
}

static void test_wrap_roundtrip_and_tamper(void **state)
{
	struct dmt_key *master, *master2, *kek, *out = NULL;
	uint8_t blob[DMT_WRAPPED_KEK_SIZE], blob2[DMT_WRAPPED_KEK_SIZE];
	size_t len, i;
	int bit;

	(void)state;
	assert_int_equal(dmt_key_generate(DMT_KEY_MASTER, &master), 0);
	assert_int_equal(dmt_key_generate(DMT_KEY_MASTER, &master2), 0);
	assert_int_equal(dmt_key_generate(DMT_KEY_KEK, &kek), 0);
	assert_int_equal(dmt_kek_wrap(master, "acme", kek, blob, sizeof(blob), &len), 0);
	assert_int_equal(len, DMT_WRAPPED_KEK_SIZE);
	assert_int_equal(dmt_kek_unwrap(master, "acme", blob, len, &out), 0);
	assert_int_equal(dmt_key_cmp(kek, out), 0);
	dmt_key_free(out);

	/* fresh nonce every time */
	assert_int_equal(dmt_kek_wrap(master, "acme", kek, blob2, sizeof(blob2), &len), 0);
	assert_memory_not_equal(blob, blob2, sizeof(blob));

	/* every bit of nonce, ciphertext and tag is authenticated */
	for (i = 1; i < sizeof(blob); i++) {
		for (bit = 0; bit < 8; bit += 3) {
			blob[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(dmt_kek_unwrap(master, "acme", blob, len, &out),
					 -EBADMSG);
			assert_null(out);
			blob[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* the version byte is checked before decryption */
	blob[0] ^= 0x80;
	assert_int_equal(dmt_kek_unwrap(master, "acme", blob, len, &out), -EINVAL);
	blob[0] ^= 0x80;
	/* bound to the tenant (AAD) and the master key */
	assert_int_equal(dmt_kek_unwrap(master, "acmf", blob, len, &out), -EBADMSG);
	assert_int_equal(dmt_kek_unwrap(master2, "acme", blob, len, &out), -EBADMSG);
	/* truncated / oversized */
	assert_int_equal(dmt_kek_unwrap(master, "acme", blob, len - 1, &out), -EINVAL);
	assert_int_equal(dmt_kek_unwrap(master, "acme", blob, len + 1, &out), -EINVAL);
	/* wrong key kinds, bad tenant, small buffer */
	assert_int_equal(dmt_kek_wrap(kek, "acme", kek, blob, sizeof(blob), &len), -EINVAL);
	assert_int_equal(dmt_kek_wrap(master, "ac:me", kek, blob, sizeof(blob), &len), -EINVAL);
	assert_int_equal(dmt_kek_wrap(master, "acme", kek, blob, 60, &len), -ENOSPC);
	/* the blob does not contain the KEK */
	{
		unsigned char kb[DMT_KEK_SIZE];

		assert_int_equal(dmt_key_export(kek, kb, sizeof(kb)), DMT_KEK_SIZE);
		for (i = 0; i + 8 <= sizeof(blob2); i++)
			assert_memory_not_equal(blob2 + i, kb, 8);
		explicit_bzero(kb, sizeof(kb));
	}
	dmt_key_free(master);
	dmt_key_free(master2);
	dmt_key_free(kek);
}

/* Secrets (a TOTP seed) wrapped under the master key, bound to a context. */
static void test_secret_wrap(void **state)
{
	struct dmt_key *master, *master2, *kek, *out = NULL;
	static const uint8_t seed[20] = "12345678901234567890";
	uint8_t blob[DMT_WRAPPED_SECRET_SIZE(20)], kblob[DMT_WRAPPED_KEK_SIZE];
	uint8_t got[DMT_SECRET_MAX];
	size_t len, n, i;

	(void)state;
	assert_int_equal(dmt_key_generate(DMT_KEY_MASTER, &master), 0);
	assert_int_equal(dmt_key_generate(DMT_KEY_MASTER, &master2), 0);
	assert_int_equal(dmt_key_generate(DMT_KEY_KEK, &kek), 0);
	assert_int_equal(dmt_secret_wrap(master, "mfa/host/uid=7", seed,
					 sizeof(seed), blob, sizeof(blob), &len), 0);
	assert_int_equal(len, sizeof(blob));
	assert_int_equal(dmt_secret_unwrap(master, "mfa/host/uid=7", blob, len,
					   got, sizeof(got), &n), 0);
	assert_int_equal(n, sizeof(seed));
	assert_memory_equal(got, seed, sizeof(seed));
	/* the blob never holds the seed in clear */
	for (i = 0; i + 8 <= sizeof(blob); i++)
		assert_memory_not_equal(blob + i, seed, 8);
	/* any flipped bit, another owner, another master key: refused */
	for (i = 1; i < sizeof(blob); i++) {
		blob[i] ^= 0x04;
		assert_int_equal(dmt_secret_unwrap(master, "mfa/host/uid=7", blob,
						   len, got, sizeof(got), &n),
				 -EBADMSG);
		blob[i] ^= 0x04;
	}
	assert_int_equal(dmt_secret_unwrap(master, "mfa/host/uid=8", blob, len,
					   got, sizeof(got), &n), -EBADMSG);
	assert_int_equal(dmt_secret_unwrap(master2, "mfa/host/uid=7", blob, len,
					   got, sizeof(got), &n), -EBADMSG);
	/* a KEK blob is not a secret blob, and the other way round */
	assert_int_equal(dmt_kek_wrap(master, "acme", kek, kblob, sizeof(kblob),
				      &len), 0);
	assert_int_equal(dmt_secret_unwrap(master, "acme", kblob, len, got,
					   sizeof(got), &n), -EINVAL);
	assert_int_equal(dmt_kek_unwrap(master, "acme", blob, sizeof(blob),
					&out), -EINVAL);
	/* bad arguments */
	assert_int_equal(dmt_secret_wrap(master, "", seed, sizeof(seed), blob,
					 sizeof(blob), &len), -EINVAL);
	assert_int_equal(dmt_secret_wrap(kek, "x", seed, sizeof(seed), blob,
					 sizeof(blob), &len), -EINVAL);
	assert_int_equal(dmt_secret_wrap(master, "x", seed, sizeof(seed), blob,
					 sizeof(blob) - 1, &len), -ENOSPC);
	assert_int_equal(dmt_secret_unwrap(master, "mfa/host/uid=7", blob, 29,
					   got, sizeof(got), &n), -EINVAL);
	assert_int_equal(dmt_secret_unwrap(master, "mfa/host/uid=7", blob,
					   sizeof(blob), got, 4, &n), -ENOSPC);
	explicit_bzero(got, sizeof(got));
	dmt_key_free(master);
	dmt_key_free(master2);
	dmt_key_free(kek);
}

static void test_master_key_file(void **state)
{
	char dir[] = "/tmp/dmt-unit-XXXXXX", path[64];
	struct dmt_key *m1, *m2;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/master.key", dir);

	assert_int_equal(dmt_master_key_load(path, &m1), -ENOENT);
	assert_int_equal(dmt_master_key_create(path, &m1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, DMT_MASTER_KEY_SIZE);
	assert_int_equal(dmt_master_key_create(path, &m2), -EEXIST);
	assert_null(m2);
	assert_int_equal(dmt_master_key_load(path, &m2), 0);
	assert_int_equal(dmt_key_get_kind(m2), DMT_KEY_MASTER);
	assert_int_equal(dmt_key_cmp(m1, m2), 0);
	dmt_key_free(m2);

	/* group/other bits: refused */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(dmt_master_key_load(path, &m2), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	/* wrong size */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(dmt_master_key_load(path, &m2), -EINVAL);
	/* a directory is not a key */
	assert_int_equal(dmt_master_key_load(dir, &m2), -EPERM);

	dmt_key_free(m1);
	unlink(path);
	rmdir(dir);
}

/* VmFlags of the mapping containing @p, from /proc/self/smaps. */
static int vmflags_of(const void *p, char *flags, size_t size)
{
	char line[512];
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			size_t n = strlen(line + 8);

			if (n >= size)
				n = size - 1;
			memcpy(flags, line + 8, n);
			flags[n] = '\0';
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

static void test_secure_buffer(void **state)
{
	char flags[256];
	unsigned char *p;
	size_t i;

	(void)state;
	assert_null(dmt_secure_alloc(0));
	p = dmt_secure_alloc(100);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xa5, 100);
	if (vmflags_of(p, flags, sizeof(flags)) == 0) {
		/* dd: MADV_DONTDUMP; wf: MADV_WIPEONFORK */
		assert_non_null(strstr(flags, " dd"));
		assert_non_null(strstr(flags, " wf"));
	}
	dmt_secure_free(p, 100);
	dmt_secure_free(NULL, 0);
}

static void test_key_handles(void **state)
{
	struct dmt_key *a, *b, *c;
	unsigned char buf[64], small[16];
	char fp1[DMT_FINGERPRINT_LEN + 1], fp2[DMT_FINGERPRINT_LEN + 1];

	(void)state;
	assert_int_equal(dmt_key_generate(DMT_KEY_DEK, &a), 0);
	assert_int_equal(dmt_key_get_size(a), DMT_DEK_SIZE);
	assert_int_equal(dmt_key_generate(DMT_KEY_DEK, &b), 0);
	assert_int_equal(dmt_key_cmp(a, b), 1);
	assert_int_equal(dmt_key_generate(0, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(dmt_key_export(a, small, sizeof(small)), -ENOSPC);
	assert_int_equal(dmt_key_export(a, buf, sizeof(buf)), 64);
	assert_int_equal(dmt_key_import(DMT_KEY_DEK, buf, 63, &c), -EINVAL);
	assert_int_equal(dmt_key_import(DMT_KEY_DEK, buf, 64, &c), 0);
	assert_int_equal(dmt_key_cmp(a, c), 0);
	/* same bytes, other kind: different keys */
	dmt_key_free(b);
	assert_int_equal(dmt_key_import(DMT_KEY_KEK, buf, 32, &b), 0);
	assert_int_equal(dmt_key_cmp(a, b), 1);

	assert_int_equal(dmt_key_fingerprint(a, fp1, sizeof(fp1)), 0);
	assert_int_equal(dmt_key_fingerprint(c, fp2, sizeof(fp2)), 0);
	assert_string_equal(fp1, fp2);
	assert_int_equal(strlen(fp1), DMT_FINGERPRINT_LEN);
	assert_int_equal(strspn(fp1, "0123456789abcdef"), DMT_FINGERPRINT_LEN);
	assert_int_equal(dmt_key_fingerprint(a, fp1, DMT_FINGERPRINT_LEN), -EINVAL);

	explicit_bzero(buf, sizeof(buf));
	dmt_key_free(a);
	dmt_key_free(b);
	dmt_key_free(c);
	dmt_key_free(NULL);
}

static void test_uuid_and_ids(void **state)
{
	char u[DMT_UUID_LEN + 1], v[DMT_UUID_LEN + 1];

	(void)state;
	assert_int_equal(dmt_uuid_generate(u, sizeof(u)), 0);
	assert_int_equal(dmt_uuid_valid(u), 0);
	assert_int_equal(u[14], '4');
	assert_non_null(strchr("89ab", u[19]));
	assert_int_equal(dmt_uuid_generate(v, sizeof(v)), 0);
	assert_string_not_equal(u, v);
	assert_int_equal(dmt_uuid_generate(v, DMT_UUID_LEN), -EINVAL);
	assert_int_equal(dmt_uuid_valid(uuid_a), 0);
	assert_int_equal(dmt_uuid_valid("0f8a3b1c-2d4e-4f60-8a7b-9c0d1e2f3a4"), -EINVAL);
	assert_int_equal(dmt_uuid_valid("0f8a3b1c+2d4e-4f60-8a7b-9c0d1e2f3a4b"), -EINVAL);
	assert_int_equal(dmt_uuid_valid(NULL), -EINVAL);
	assert_int_equal(dmt_id_valid("acme"), 0);
	assert_int_equal(dmt_id_valid("a:b"), -EINVAL);
	assert_int_equal(dmt_id_valid("-ab"), -EINVAL);
	assert_int_equal(dmt_id_valid("abcdefghijklmnopqrstuvwx"), -EINVAL);
	assert_int_equal(dmt_id_valid(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_rfc5869_case1),
		cmocka_unit_test(test_hkdf_rfc5869_case3),
		cmocka_unit_test(test_hkdf_bad_args),
		cmocka_unit_test(test_passphrase_derivation),
		cmocka_unit_test(test_wrap_roundtrip_and_tamper),
		cmocka_unit_test(test_secret_wrap),
		cmocka_unit_test(test_master_key_file),
		cmocka_unit_test(test_secure_buffer),
		cmocka_unit_test(test_key_handles),
		cmocka_unit_test(test_uuid_and_ids),
	};

	return cmocka_run_group_tests_name("lib_keys", tests, NULL, NULL);
}
