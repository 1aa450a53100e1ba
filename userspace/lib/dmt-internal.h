/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdmtenant internals: shared by the library's sources, the unit tests
 * and test helpers linked against the static archive.  None of this is
 * exported from libdmtenant.so (libdmtenant.sym lists the public names).
 */
#ifndef DMT_INTERNAL_H
#define DMT_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include <linux/dm-tenant.h>

#include "dmtenant.h"

#define DMT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct dmt_ctx {
	uint32_t flags;
	dmt_log_fn log_fn;
	void *log_data;
	int log_level;
	bool modules_ready;
	char last_error[512];
};

/* Logging: never pass key bytes. */
__attribute__((format(printf, 3, 4)))
void dmt_log(struct dmt_ctx *ctx, int prio, const char *fmt, ...);
#define dmt_err(ctx, ...)   dmt_log(ctx, LOG_ERR, __VA_ARGS__)
#define dmt_warn(ctx, ...)  dmt_log(ctx, LOG_WARNING, __VA_ARGS__)
#define dmt_info(ctx, ...)  dmt_log(ctx, LOG_INFO, __VA_ARGS__)
#define dmt_dbg(ctx, ...)   dmt_log(ctx, LOG_DEBUG, __VA_ARGS__)

/* Secure buffers: page-backed, mlock'ed (best effort), MADV_DONTDUMP,
 * MADV_WIPEONFORK, explicit_bzero + munmap on free. */
void *dmt_secure_alloc(size_t size);
void dmt_secure_free(void *p, size_t size);

/*
 * Held from the creation of a dm task or crypt device to its destruction
 * (task_new()/task_free() in dm.c, cs_open()/cs_close() in leg.c).
 */
void dmt_lib_lock(void);
void dmt_lib_unlock(void);
/* Where a leg's data starts, from its LUKS2 header; @end if it has none. */
uint64_t dmt_leg_data_end(struct dmt_ctx *ctx, const char *path,
			  uint64_t end);

struct dmt_key {
	enum dmt_key_kind kind;
	size_t size;
	unsigned char *bytes;	/* secure buffer */
};

/* Size of a key kind, 0 if unknown. */
size_t dmt_key_kind_size(enum dmt_key_kind kind);
/* A key of @kind with uninitialised secure bytes (the caller fills them). */
int dmt_key_alloc(enum dmt_key_kind kind, struct dmt_key **key);
static inline const unsigned char *dmt_key_bytes(const struct dmt_key *k)
{
	return k->bytes;
}

/* RFC 5869 HKDF-SHA256 into @out (@out_len <= 255 * 32). */
int dmt_hkdf_sha256(const void *ikm, size_t ikm_len,
		    const void *salt, size_t salt_len,
		    const void *info, size_t info_len,
		    void *out, size_t out_len);

/* getrandom(2) until full. */
int dmt_random_bytes(void *buf, size_t len);

/* Logon key description "dm-tenant:<tenant>:<volume>". */
int dmt_key_description(const char *tenant, const char *volume,
			char *buf, size_t size);

/* Keyring: add @dek as logon key in the thread keyring; returns the serial
 * (> 0) or -errno.  dmt_keyring_drop invalidates (else unlinks) it. */
int32_t dmt_keyring_add(struct dmt_ctx *ctx, const char *tenant,
			const char *volume, const struct dmt_key *dek);
int dmt_keyring_drop(struct dmt_ctx *ctx, int32_t serial);

/* Token JSON of a leg (built / parsed with json-c). */
int dmt_token_build(const struct dmt_volume *vol, unsigned int index,
		    uint64_t size, char **json);
int dmt_token_parse(const char *json, struct dmt_leg_info *info);

/* Open @path and check that nobody holds it (O_EXCL for block devices). */
int dmt_open_exclusive(struct dmt_ctx *ctx, const char *path, int flags);
/* Size of a block device or regular file, bytes. */
int dmt_fd_size(int fd, uint64_t *size);

/* dm.c helpers */
int dmt_dev_load_error(struct dmt_ctx *ctx, const char *name, uint64_t length);
int dmt_dev_length(struct dmt_ctx *ctx, const char *name, uint64_t *length);
int dmt_dev_path(struct dmt_ctx *ctx, const char *name, char *path,
		 size_t size);

/* leg.c helpers for volume.c */
/* volume.c: shared by attach and reload. */
int dmt_volume_check_legs(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			  struct dmt_leg *legs, uint64_t *size);
int dmt_volume_open_dek(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			const struct dmt_key *kek, struct dmt_key **dek);
void dmt_volume_table(const struct dmt_volume *vol, struct dmt_leg *legs,
		      uint64_t size, struct dmt_table *t);
int dmt_check_volume(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		     bool need_uuid);
int dmt_leg_get_dek(struct dmt_ctx *ctx, const char *path,
		    const struct dmt_key *passphrase, struct dmt_key **dek);
/* Rewrap phases: 1 = add the new keyslot, 2 = destroy the old one. */
#define DMT_REWRAP_ADD		1u
#define DMT_REWRAP_DESTROY	2u
int dmt_leg_rewrap_phase(struct dmt_ctx *ctx, const char *path,
			 const char *volume_uuid,
			 const struct dmt_key *old_kek,
			 const struct dmt_key *new_kek, unsigned int phases);

#endif /* DMT_INTERNAL_H */
