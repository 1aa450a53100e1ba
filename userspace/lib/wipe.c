// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: destruction of a leg (Documentation/destruction.md).
 *
 *   dmt_leg_shred    crypto-shred: [0, data offset) - both LUKS2 header
 *                    copies, every keyslot, digest, label, tokens and the
 *                    dm-tenant metadata area - overwritten with random
 *                    bytes, then zeros, flushed and read back;
 *   dmt_leg_wipe     one pass of a media method over the whole device:
 *                    discard, secure discard, zero (BLKZEROOUT) or random
 *                    overwrite (AES-256-CTR keystream of a fresh random
 *                    key), from a resume offset, with a progress callback;
 *   dmt_leg_verify   reads (sampled or full) that prove the method: no
 *                    LUKS2 magic, no dm-tenant token, zeros where the
 *                    method leaves zeros.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <openssl/evp.h>

#include "dmt-internal.h"

#define CHUNK		(4u << 20)	/* bytes per write / progress step */
#define VCHUNK		(64u << 10)	/* bytes per verification read */
#define SAMPLES		256		/* sampled reads of the data area */

static const char *const method_names[DMT_WIPE__COUNT] = {
	[DMT_WIPE_SHRED]	= "crypto-shred",
	[DMT_WIPE_DISCARD]	= "discard",
	[DMT_WIPE_SECDISCARD]	= "secure-discard",
	[DMT_WIPE_ZERO]		= "zero",
	[DMT_WIPE_OVERWRITE]	= "overwrite",
};

const char *dmt_wipe_method_name(enum dmt_wipe_method m)
{
	if ((unsigned int)m >= DMT_WIPE__COUNT)
		return NULL;
	return method_names[m];
}

int dmt_wipe_method_parse(const char *name, enum dmt_wipe_method *m)
{
	unsigned int i;

	for (i = 0; name && i < DMT_WIPE__COUNT; i++)
		if (!strcmp(name, method_names[i])) {
			*m = i;
			return 0;
		}
	return -EINVAL;
}

bool dmt_wipe_leaves_zeros(enum dmt_wipe_method m)
{
	return m == DMT_WIPE_ZERO || m == DMT_WIPE_OVERWRITE;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		off += (uint64_t)w;
		len -= (size_t)w;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Drop cached pages so that reads come from the device. */
static void drop_cache(int fd, uint64_t len)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode))
		(void)ioctl(fd, BLKFLSBUF, 0);
	(void)posix_fadvise(fd, 0, (off_t)len, POSIX_FADV_DONTNEED);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

uint64_t dmt_wipe_header_end(struct dmt_ctx *ctx, const char *path)
{
	uint64_t end = dmt_leg_data_end(ctx, path, DMT_LEG_DATA_OFFSET_BYTES);

	/* The header says where the data starts; it may be gone already. */
	return end > DMT_LEG_DATA_OFFSET_BYTES ? end :
		DMT_LEG_DATA_OFFSET_BYTES;
}

int dmt_leg_shred(struct dmt_ctx *ctx, const char *path, uint64_t *shredded)
{
	unsigned char *buf;
	uint64_t dev_size, end, off;
	int fd, r, pass;

	if (!ctx || !path)
		return -EINVAL;
	end = dmt_wipe_header_end(ctx, path);
	fd = dmt_open_exclusive(ctx, path, O_RDWR);
	if (fd < 0)
		return fd;
	buf = malloc(CHUNK);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = dmt_fd_size(fd, &dev_size);
	if (r)
		goto out;
	if (end > dev_size)
		end = dev_size;
	/* Pass 0: random, so that no remanence of the old bytes is trivially
	 * readable; pass 1: zeros, so that the result is verifiable. */
	for (pass = 0; pass < 2 && !r; pass++) {
		for (off = 0; off < end && !r; off += CHUNK) {
			size_t n = end - off < CHUNK ? (size_t)(end - off) : CHUNK;

			if (pass == 0)
				r = dmt_random_bytes(buf, n);
			else
				memset(buf, 0, n);
			if (!r)
				r = pwrite_all(fd, buf, n, off);
		}
		if (!r && fsync(fd) < 0)
			r = -errno;
	}
	if (r) {
		dmt_err(ctx, "%s: crypto-shred failed: %s", path, strerror(-r));
		goto out;
	}
	drop_cache(fd, end);
	for (off = 0; off < end; off += CHUNK) {
		size_t n = end - off < CHUNK ? (size_t)(end - off) : CHUNK;

		r = pread_all(fd, buf, n, off);
		if (r || !all_zero(buf, n)) {
			dmt_err(ctx, "%s: crypto-shred verification failed near byte %llu",
				path, (unsigned long long)off);
			r = -EIO;
			goto out;
		}
	}
	if (shredded)
		*shredded = end;
	dmt_info(ctx, "%s: crypto-shredded [0, %llu): header, keyslots, tokens, metadata",
		 path, (unsigned long long)end);
out:
	free(buf);
	close(fd);
	return r;
}

/* Fill @buf with AES-256-CTR keystream (encrypting zeros). */
static int keystream(EVP_CIPHER_CTX *c, unsigned char *buf, size_t n)
{
	int outl = 0;

	memset(buf, 0, n);
	if (EVP_EncryptUpdate(c, buf, &outl, buf, (int)n) != 1 ||
	    (size_t)outl != n)
		return -EIO;
	return 0;
}

static EVP_CIPHER_CTX *keystream_new(void)
{
	unsigned char key[32], iv[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (!c)
		return NULL;
	if (dmt_random_bytes(key, sizeof(key)) ||
	    dmt_random_bytes(iv, sizeof(iv)) ||
	    EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, key, iv) != 1) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	explicit_bzero(key, sizeof(key));
	return c;
}

int dmt_leg_wipe(struct dmt_ctx *ctx, const char *path,
		 enum dmt_wipe_method m, uint64_t start, uint32_t rate_mib,
		 dmt_wipe_progress_fn fn, void *arg)
{
	EVP_CIPHER_CTX *ks = NULL;
	unsigned char *buf = NULL;
	uint64_t size, off, t0 = now_ns(), done = 0;
	struct stat st;
	int fd, r;

	if (!ctx || !path || (unsigned int)m >= DMT_WIPE__COUNT ||
	    m == DMT_WIPE_SHRED)
		return -EINVAL;
	fd = dmt_open_exclusive(ctx, path, O_RDWR);
	if (fd < 0)
		return fd;
	r = dmt_fd_size(fd, &size);
	if (r)
		goto out;
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
		if (m != DMT_WIPE_OVERWRITE) {
			dmt_err(ctx, "%s: %s needs a block device", path,
				method_names[m]);
			r = -EOPNOTSUPP;
			goto out;
		}
	}
	if (m == DMT_WIPE_OVERWRITE) {
		buf = malloc(CHUNK);
		ks = keystream_new();
		if (!buf || !ks) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (start > size)
		start = size;
	for (off = start; off < size; ) {
		uint64_t n = size - off < CHUNK ? size - off : CHUNK;
		uint64_t range[2] = { off, n };

		switch (m) {
		case DMT_WIPE_DISCARD:
			r = ioctl(fd, BLKDISCARD, range) ? -errno : 0;
			break;
		case DMT_WIPE_SECDISCARD:
			r = ioctl(fd, BLKSECDISCARD, range) ? -errno : 0;
			break;
		case DMT_WIPE_ZERO:
			r = ioctl(fd, BLKZEROOUT, range) ? -errno : 0;
			break;
		default:
			r = keystream(ks, buf, (size_t)n);
			if (!r)
				r = pwrite_all(fd, buf, (size_t)n, off);
			break;
		}
		if (r) {
			dmt_err(ctx, "%s: %s failed at byte %llu: %s%s", path,
				method_names[m], (unsigned long long)off,
				strerror(-r), r == -EOPNOTSUPP ?
				" (the device does not support it; pick another method)" :
				"");
			goto out;
		}
		off += n;
		done += n;
		if (off == size || !(off % (2 * (uint64_t)CHUNK))) {
			if (fsync(fd) < 0) {
				r = -errno;
				dmt_err(ctx, "%s: flush: %s", path, strerror(-r));
				goto out;
			}
			if (fn && fn(off, size, arg)) {
				r = -ECANCELED;
				goto out;
			}
		}
		if (rate_mib) {
			/* Stay under @rate_mib MiB/s (less I/O for neighbours). */
			uint64_t want = done * 1000000000ull /
				((uint64_t)rate_mib << 20);
			uint64_t el = now_ns() - t0;

			if (want > el) {
				struct timespec ts = {
					.tv_sec = (time_t)((want - el) / 1000000000ull),
					.tv_nsec = (long)((want - el) % 1000000000ull),
				};

				nanosleep(&ts, NULL);
			}
		}
	}
	r = fsync(fd) < 0 ? -errno : 0;
out:
	if (ks)
		EVP_CIPHER_CTX_free(ks);
	free(buf);
	close(fd);
	return r;
}

static const unsigned char luks_magic1[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
static const unsigned char luks_magic2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

void dmt_wipe_scan(const unsigned char *p, size_t n, uint64_t base,
		   bool want_zero, struct dmt_wipe_verify *res)
{
	static const char token[] = DMT_LUKS2_TOKEN_TYPE;
	size_t i;

	res->bytes_read += n;
	for (i = 0; i < n; i++) {
		if (p[i] && want_zero && res->nonzero_at < 0)
			res->nonzero_at = (int64_t)(base + i);
		if (p[i] == 'L' || p[i] == 'S') {
			if (n - i >= 6 && (!memcmp(p + i, luks_magic1, 6) ||
					   !memcmp(p + i, luks_magic2, 6)) &&
			    res->luks_at < 0)
				res->luks_at = (int64_t)(base + i);
		} else if (p[i] == token[0] && n - i >= sizeof(token) - 1 &&
			   !memcmp(p + i, token, sizeof(token) - 1) &&
			   res->token_at < 0) {
			res->token_at = (int64_t)(base + i);
		}
	}
}

/* xorshift64*: sample offsets, reproducible from the seed in the result. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

int dmt_leg_verify(struct dmt_ctx *ctx, const char *path,
		   enum dmt_wipe_method m, bool full,
		   struct dmt_wipe_verify *res)
{
	unsigned char *buf;
	uint64_t size, off, hdr = DMT_LEG_DATA_OFFSET_BYTES, seed;
	bool zeros = dmt_wipe_leaves_zeros(m);
	unsigned int i;
	int fd, r;

	if (!ctx || !path || !res || (unsigned int)m >= DMT_WIPE__COUNT)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->nonzero_at = res->luks_at = res->token_at = -1;
	fd = dmt_open_exclusive(ctx, path, O_RDONLY);
	if (fd < 0)
		return fd;
	buf = malloc(VCHUNK);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = dmt_fd_size(fd, &size);
	if (r)
		goto out;
	drop_cache(fd, size);
	if (hdr > size)
		hdr = size;
	res->size = size;
	/* The header area, always in full: zeros after the crypto-shred. */
	for (off = 0; off < hdr && !r; off += VCHUNK) {
		size_t n = hdr - off < VCHUNK ? (size_t)(hdr - off) : VCHUNK;

		r = pread_all(fd, buf, n, off);
		if (!r)
			dmt_wipe_scan(buf, n, off, true, res);
	}
	if (full) {
		for (off = hdr; off < size && !r; off += VCHUNK) {
			size_t n = size - off < VCHUNK ? (size_t)(size - off) :
							 VCHUNK;

			r = pread_all(fd, buf, n, off);
			if (!r)
				dmt_wipe_scan(buf, n, off, zeros, res);
		}
	} else if (size > hdr) {
		uint64_t blocks = (size - hdr) / VCHUNK;

		r = dmt_random_bytes(&seed, sizeof(seed));
		seed |= 1;
		res->seed = seed;
		/* First and last block, then random ones. */
		for (i = 0; i < SAMPLES + 2 && !r && blocks; i++) {
			uint64_t b = i == 0 ? 0 : i == 1 ? blocks - 1 :
				next_rand(&seed) % blocks;

			off = hdr + b * VCHUNK;
			r = pread_all(fd, buf, VCHUNK, off);
			if (!r)
				dmt_wipe_scan(buf, VCHUNK, off, zeros, res);
			res->samples++;
		}
	}
	if (r) {
		dmt_err(ctx, "%s: verification read failed: %s", path,
			strerror(-r));
		goto out;
	}
	res->ok = res->nonzero_at < 0 && res->luks_at < 0 && res->token_at < 0;
out:
	free(buf);
	close(fd);
	return r;
}

/* Logon keys of a volume still in /proc/keys (as far as we may view). */
int dmt_keyring_count(struct dmt_ctx *ctx, const char *tenant,
		      const char *volume)
{
	char desc[96], line[512];
	FILE *f;
	int n = 0, r;

	r = dmt_key_description(tenant, volume, desc, sizeof(desc));
	if (r)
		return r;
	f = fopen("/proc/keys", "re");
	if (!f) {
		dmt_warn(ctx, "/proc/keys: %s", strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, desc);
		size_t l = strlen(desc);

		if (p && (p[l] == ':' || p[l] == ' ' || p[l] == '\n' ||
			  !p[l]) && strstr(line, "logon"))
			n++;
	}
	fclose(f);
	return n;
}

int dmt_wipe_supported(struct dmt_ctx *ctx, const char *path,
		       enum dmt_wipe_method m)
{
	/* Misaligned on purpose: the kernel checks support (EOPNOTSUPP)
	 * before the range (EINVAL), so nothing is discarded. */
	uint64_t range[2] = { 1, 512 };
	unsigned long req;
	int fd, r;

	if (!ctx || !path || (unsigned int)m >= DMT_WIPE__COUNT)
		return -EINVAL;
	if (m != DMT_WIPE_DISCARD && m != DMT_WIPE_SECDISCARD)
		return 0;
	req = m == DMT_WIPE_DISCARD ? BLKDISCARD : BLKSECDISCARD;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = ioctl(fd, req, range) ? -errno : 0;
	close(fd);
	if (r == -EOPNOTSUPP || r == -ENOTTY) {
		dmt_err(ctx, "%s does not support %s", path, method_names[m]);
		return -EOPNOTSUPP;
	}
	return 0;
}
