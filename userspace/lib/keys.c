// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: key material.  Secure buffers, opaque key handles, HKDF,
 * the keyslot passphrase, the master key file, KEK and secret wrapping.
 *
 * Key hierarchy (Documentation/libdmtenant.md):
 *   master key (file, 32 B) --AES-256-GCM--> wrapped KEK (per tenant, 32 B)
 *   KEK --HKDF-SHA256(salt = volume UUID)--> LUKS2 keyslot passphrase
 *   passphrase --LUKS2 keyslot (PBKDF2)--> DEK (per volume, 64 B)
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/crypto.h>

#include "dmt-internal.h"

/* ------------------------------------------------------------------ */
/* Secure buffers                                                      */
/* ------------------------------------------------------------------ */

static size_t page_round(size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (size + pg - 1) / pg * pg;
}

void *dmt_secure_alloc(size_t size)
{
	size_t len;
	void *p;

	if (!size)
		return NULL;
	len = page_round(size);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Best effort: an unprivileged process may exceed RLIMIT_MEMLOCK. */
	(void)mlock(p, len);
	(void)madvise(p, len, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
	(void)madvise(p, len, MADV_WIPEONFORK);
#endif
	return p;
}

void dmt_secure_free(void *p, size_t size)
{
	size_t len;

	if (!p)
		return;
	len = page_round(size);
	explicit_bzero(p, len);
	(void)munlock(p, len);
	munmap(p, len);
}

/* ------------------------------------------------------------------ */
/* Key handles                                                         */
/* ------------------------------------------------------------------ */

size_t dmt_key_kind_size(enum dmt_key_kind kind)
{
	switch (kind) {
	case DMT_KEY_MASTER: return DMT_MASTER_KEY_SIZE;
	case DMT_KEY_KEK: return DMT_KEK_SIZE;
	case DMT_KEY_DEK: return DMT_DEK_SIZE;
	case DMT_KEY_PASSPHRASE: return DMT_PASSPHRASE_SIZE;
	}
	return 0;
}

int dmt_key_alloc(enum dmt_key_kind kind, struct dmt_key **key)
{
	size_t size = dmt_key_kind_size(kind);
	struct dmt_key *k;

	if (!key)
		return -EINVAL;
	*key = NULL;
	if (!size)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->bytes = dmt_secure_alloc(size);
	if (!k->bytes) {
		free(k);
		return -ENOMEM;
	}
	k->kind = kind;
	k->size = size;
	*key = k;
	return 0;
}

void dmt_key_free(struct dmt_key *key)
{
	if (!key)
		return;
	dmt_secure_free(key->bytes, key->size);
	free(key);
}

int dmt_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int dmt_key_generate(enum dmt_key_kind kind, struct dmt_key **key)
{
	int r = dmt_key_alloc(kind, key);

	if (r)
		return r;
	r = dmt_random_bytes((*key)->bytes, (*key)->size);
	if (r) {
		dmt_key_free(*key);
		*key = NULL;
	}
	return r;
}

int dmt_key_import(enum dmt_key_kind kind, const void *data, size_t size,
		   struct dmt_key **key)
{
	int r;

	if (!data || !key || size != dmt_key_kind_size(kind))
		return -EINVAL;
	r = dmt_key_alloc(kind, key);
	if (r)
		return r;
	memcpy((*key)->bytes, data, size);
	return 0;
}

enum dmt_key_kind dmt_key_get_kind(const struct dmt_key *key)
{
	return key ? key->kind : 0;
}

size_t dmt_key_get_size(const struct dmt_key *key)
{
	return key ? key->size : 0;
}

int dmt_key_cmp(const struct dmt_key *a, const struct dmt_key *b)
{
	if (!a || !b || a->kind != b->kind || a->size != b->size)
		return 1;
	return CRYPTO_memcmp(a->bytes, b->bytes, a->size) ? 1 : 0;
}

int dmt_key_export(const struct dmt_key *key, void *buf, size_t size)
{
	if (!key || !buf)
		return -EINVAL;
	if (size < key->size)
		return -ENOSPC;
	memcpy(buf, key->bytes, key->size);
	return (int)key->size;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int dmt_key_export_file(const struct dmt_key *key, const char *path)
{
	int fd, r;

	if (!key || !path)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, key->bytes, key->size);
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r)
		unlink(path);
	return r;
}

/* ------------------------------------------------------------------ */
/* HKDF and derived values                                             */
/* ------------------------------------------------------------------ */

int dmt_hkdf_sha256(const void *ikm, size_t ikm_len,
		    const void *salt, size_t salt_len,
		    const void *info, size_t info_len,
		    void *out, size_t out_len)
{
	EVP_PKEY_CTX *pctx;
	size_t len = out_len;
	int r = -EIO;

	if (!ikm || !ikm_len || !out || !out_len || out_len > 255 * 32 ||
	    (salt_len && !salt) || (info_len && !info) ||
	    ikm_len > INT_MAX || salt_len > INT_MAX || info_len > INT_MAX)
		return -EINVAL;
	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (!pctx)
		return -ENOMEM;
	if (EVP_PKEY_derive_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, (int)ikm_len) <= 0)
		goto out;
	/* An empty salt is HashLen zero bytes (RFC 5869 2.2), OpenSSL's default. */
	if (salt_len &&
	    EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, (int)salt_len) <= 0)
		goto out;
	if (info_len &&
	    EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)info_len) <= 0)
		goto out;
	if (EVP_PKEY_derive(pctx, out, &len) <= 0 || len != out_len)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	if (r)
		explicit_bzero(out, out_len);
	return r;
}

#define PASSPHRASE_INFO		"dm-tenant keyslot v1"
#define FINGERPRINT_INFO	"dm-tenant fingerprint v1"

int dmt_key_derive_passphrase(const struct dmt_key *kek,
			      const char *volume_uuid,
			      struct dmt_key **passphrase)
{
	int r;

	if (!passphrase)
		return -EINVAL;
	*passphrase = NULL;
	if (!kek || kek->kind != DMT_KEY_KEK || dmt_uuid_valid(volume_uuid))
		return -EINVAL;
	r = dmt_key_alloc(DMT_KEY_PASSPHRASE, passphrase);
	if (r)
		return r;
	r = dmt_hkdf_sha256(kek->bytes, kek->size,
			    volume_uuid, DMT_UUID_LEN,
			    PASSPHRASE_INFO, strlen(PASSPHRASE_INFO),
			    (*passphrase)->bytes, (*passphrase)->size);
	if (r) {
		dmt_key_free(*passphrase);
		*passphrase = NULL;
	}
	return r;
}

int dmt_key_fingerprint(const struct dmt_key *key, char *buf, size_t size)
{
	unsigned char fp[DMT_FINGERPRINT_LEN / 2];
	size_t i;
	int r;

	if (!key || !buf || size < DMT_FINGERPRINT_LEN + 1)
		return -EINVAL;
	r = dmt_hkdf_sha256(key->bytes, key->size, NULL, 0,
			    FINGERPRINT_INFO, strlen(FINGERPRINT_INFO),
			    fp, sizeof(fp));
	if (r)
		return r;
	for (i = 0; i < sizeof(fp); i++)
		snprintf(buf + 2 * i, 3, "%02x", fp[i]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Master key file                                                     */
/* ------------------------------------------------------------------ */

static int read_full(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EINVAL;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int dmt_master_key_load(const char *path, struct dmt_key **master)
{
	struct stat st;
	int fd, r;

	if (!master)
		return -EINVAL;
	*master = NULL;
	if (!path)
		path = DMT_MASTER_KEY_DEFAULT_PATH;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	r = -EPERM;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)))
		goto out;
	r = -EINVAL;
	if (st.st_size != DMT_MASTER_KEY_SIZE)
		goto out;
	r = dmt_key_alloc(DMT_KEY_MASTER, master);
	if (r)
		goto out;
	r = read_full(fd, (*master)->bytes, (*master)->size);
	if (r) {
		dmt_key_free(*master);
		*master = NULL;
	}
out:
	close(fd);
	return r;
}

int dmt_master_key_create(const char *path, struct dmt_key **master)
{
	char dirbuf[PATH_MAX];
	int fd, dfd, r;

	if (!master)
		return -EINVAL;
	*master = NULL;
	if (!path)
		path = DMT_MASTER_KEY_DEFAULT_PATH;
	if (strlen(path) >= sizeof(dirbuf))
		return -ENAMETOOLONG;
	r = dmt_key_generate(DMT_KEY_MASTER, master);
	if (r)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	/* umask could only have removed bits; make sure of 0600 anyway. */
	r = 0;
	if (fchmod(fd, 0600) < 0)
		r = -errno;
	if (!r)
		r = write_all(fd, (*master)->bytes, (*master)->size);
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r) {
		unlink(path);
		goto fail;
	}
	strcpy(dirbuf, path);
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	dmt_key_free(*master);
	*master = NULL;
	return r;
}

/* ------------------------------------------------------------------ */
/* Wrapping under the master key:                                      */
/*   version(1) | nonce(12) | ciphertext(n) | tag(16)                  */
/* KEKs: version 0x01, AAD = 0x01 || tenant id.                        */
/* Secrets (dmt_secret_wrap): version 0x02, AAD = 0x02 || context.     */
/* The version byte in the AAD keeps the two kinds apart: a KEK blob   */
/* never opens as a secret, nor the other way round.                   */
/* ------------------------------------------------------------------ */

#define WRAP_VERSION	0x01
#define WRAP_SECRET_VERSION	0x02
#define WRAP_NONCE	12
#define WRAP_TAG	16

static int wrap_aad(EVP_CIPHER_CTX *c, unsigned char version,
		    const char *context)
{
	int outl;

	if (EVP_CipherUpdate(c, NULL, &outl, &version, 1) <= 0)
		return -EIO;
	if (EVP_CipherUpdate(c, NULL, &outl, (const unsigned char *)context,
			     (int)strlen(context)) <= 0)
		return -EIO;
	return 0;
}

/* @blob gets 1 + WRAP_NONCE + @len + WRAP_TAG bytes. */
static int gcm_seal(const struct dmt_key *master, unsigned char version,
		    const char *context, const unsigned char *pt, size_t len,
		    uint8_t *blob)
{
	uint8_t *nonce = blob + 1, *ct = blob + 1 + WRAP_NONCE;
	EVP_CIPHER_CTX *c;
	int outl, r;

	r = dmt_random_bytes(nonce, WRAP_NONCE);
	if (r)
		return r;
	blob[0] = version;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	r = -EIO;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, 1) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, WRAP_NONCE, NULL) <= 0 ||
	    EVP_CipherInit_ex(c, NULL, NULL, master->bytes, nonce, 1) <= 0 ||
	    wrap_aad(c, version, context) ||
	    EVP_CipherUpdate(c, ct, &outl, pt, (int)len) <= 0 ||
	    outl != (int)len ||
	    EVP_CipherFinal_ex(c, ct + outl, &outl) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, WRAP_TAG,
				ct + len) <= 0)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(c);
	if (r)
		explicit_bzero(blob, 1 + WRAP_NONCE + len + WRAP_TAG);
	return r;
}

/* Opens a blob of @len plaintext bytes into @pt; -EBADMSG if altered. */
static int gcm_open(const struct dmt_key *master, unsigned char version,
		    const char *context, const uint8_t *blob, size_t len,
		    unsigned char *pt)
{
	const uint8_t *nonce = blob + 1, *ct = blob + 1 + WRAP_NONCE;
	unsigned char tag[WRAP_TAG];
	EVP_CIPHER_CTX *c;
	int outl, r;

	memcpy(tag, ct + len, WRAP_TAG);
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	r = -EIO;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, 0) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, WRAP_NONCE, NULL) <= 0 ||
	    EVP_CipherInit_ex(c, NULL, NULL, master->bytes, nonce, 0) <= 0 ||
	    wrap_aad(c, version, context) ||
	    EVP_CipherUpdate(c, pt, &outl, ct, (int)len) <= 0 ||
	    outl != (int)len ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, WRAP_TAG, tag) <= 0)
		goto out;
	if (EVP_CipherFinal_ex(c, pt + outl, &outl) <= 0) {
		r = -EBADMSG;
		goto out;
	}
	r = 0;
out:
	EVP_CIPHER_CTX_free(c);
	if (r)
		explicit_bzero(pt, len);
	return r;
}

int dmt_kek_wrap(const struct dmt_key *master, const char *tenant,
		 const struct dmt_key *kek, uint8_t *blob, size_t blob_size,
		 size_t *blob_len)
{
	int r;

	if (!master || master->kind != DMT_KEY_MASTER || !kek ||
	    kek->kind != DMT_KEY_KEK || dmt_id_valid(tenant) || !blob ||
	    !blob_len)
		return -EINVAL;
	if (blob_size < DMT_WRAPPED_KEK_SIZE)
		return -ENOSPC;
	r = gcm_seal(master, WRAP_VERSION, tenant, kek->bytes, kek->size,
		     blob);
	if (!r)
		*blob_len = DMT_WRAPPED_KEK_SIZE;
	return r;
}

int dmt_kek_unwrap(const struct dmt_key *master, const char *tenant,
		   const uint8_t *blob, size_t blob_len, struct dmt_key **kek)
{
	int r;

	if (!kek)
		return -EINVAL;
	*kek = NULL;
	if (!master || master->kind != DMT_KEY_MASTER ||
	    dmt_id_valid(tenant) || !blob)
		return -EINVAL;
	if (blob_len != DMT_WRAPPED_KEK_SIZE || blob[0] != WRAP_VERSION)
		return -EINVAL;
	r = dmt_key_alloc(DMT_KEY_KEK, kek);
	if (r)
		return r;
	r = gcm_open(master, WRAP_VERSION, tenant, blob, DMT_KEK_SIZE,
		     (*kek)->bytes);
	if (r) {
		dmt_key_free(*kek);
		*kek = NULL;
	}
	return r;
}

static bool valid_context(const char *context)
{
	size_t n = context ? strlen(context) : 0;

	return n >= 1 && n <= DMT_SECRET_CONTEXT_MAX;
}

int dmt_secret_wrap(const struct dmt_key *master, const char *context,
		    const void *secret, size_t len, uint8_t *blob,
		    size_t blob_size, size_t *blob_len)
{
	int r;

	if (!master || master->kind != DMT_KEY_MASTER ||
	    !valid_context(context) || !secret || !len ||
	    len > DMT_SECRET_MAX || !blob || !blob_len)
		return -EINVAL;
	if (blob_size < DMT_WRAPPED_SECRET_SIZE(len))
		return -ENOSPC;
	r = gcm_seal(master, WRAP_SECRET_VERSION, context, secret, len, blob);
	if (!r)
		*blob_len = DMT_WRAPPED_SECRET_SIZE(len);
	return r;
}

int dmt_secret_unwrap(const struct dmt_key *master, const char *context,
		      const uint8_t *blob, size_t blob_len, void *secret,
		      size_t size, size_t *len)
{
	size_t n;

	if (!master || master->kind != DMT_KEY_MASTER ||
	    !valid_context(context) || !blob || !secret || !len)
		return -EINVAL;
	if (blob_len <= DMT_WRAPPED_SECRET_SIZE(0) ||
	    blob_len > DMT_WRAPPED_SECRET_SIZE(DMT_SECRET_MAX) ||
	    blob[0] != WRAP_SECRET_VERSION)
		return -EINVAL;
	n = blob_len - DMT_WRAPPED_SECRET_SIZE(0);
	if (size < n)
		return -ENOSPC;
	*len = 0;
	if (gcm_open(master, WRAP_SECRET_VERSION, context, blob, n, secret))
		return -EBADMSG;
	*len = n;
	return 0;
}
