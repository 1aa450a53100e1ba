/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdmtenant: the userspace library of dm-tenant.
 *
 * It wraps everything a control plane needs to run tenant volumes:
 *   - key material (master key file, per-tenant KEK wrapped under it,
 *     per-volume DEK), held in locked, non-dumpable, wiped buffers behind an
 *     opaque handle (struct dmt_key): key bytes never cross this API as
 *     plain arrays, except through the two functions marked RESCUE below;
 *   - self-describing LUKS2 legs (libcryptsetup): format, identity, DEK
 *     release with a KEK, online KEK rotation (rewrap), erase;
 *   - the kernel keyring (logon keys, unlinked right after the table load);
 *   - device-mapper (libdevmapper): create / load / suspend / resume /
 *     message / status / table / remove / list of tenant devices;
 *   - libkmod: loads dm-mod, ecb, xts and dm-tenant when missing.
 *
 * Conventions (as libcryptsetup's):
 *   - every name starts with dmt_ / DMT_;
 *   - every function that can fail returns 0 (or a documented non-negative
 *     value) on success and a negative errno on failure; results come back
 *     through out-parameters;
 *   - handles are opaque; free functions accept NULL;
 *   - a struct dmt_ctx is not thread-safe: use one per thread.  Functions
 *     that take no context are thread-safe.  Calls into libdevmapper and
 *     libcryptsetup (neither is thread-safe) are serialised inside the
 *     library, across contexts: two threads may each use their own.
 *   - sizes and offsets on block devices are in 512-byte sectors unless the
 *     name says _bytes.
 * Error messages (never containing key bytes) go to the context's log
 * function; the last error is kept for dmt_ctx_last_error().
 *
 * Documentation: Documentation/libdmtenant.md (API, on-disk leg layout, key
 * hierarchy); the kernel target: Documentation/dm-tenant.rst.
 *
 * Build: link with -ldmtenant (build/lib/libdmtenant.so.1, symbol version
 * DMTENANT_1.0), or the static build/lib/libdmtenant.a plus its
 * dependencies (see userspace/lib/lib.mk: LIBDMT_STATIC_LINK).
 *
 * CHANGES (source-compatible additions after the first version):
 *   - struct dmt_table.meta_sectors and DMT_LEG_META_SECTORS added (for
 *     the replication kernel's "metadata:<n>" option).
 *   - destruction: dmt_leg_shred, dmt_leg_wipe, dmt_leg_verify and their
 *     helpers (Documentation/destruction.md).
 *   - dmt_volume_reload() added (udev provisioning: a returning leg).
 */
#ifndef DMTENANT_H
#define DMTENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Limits and constants                                                */
/* ------------------------------------------------------------------ */

/* Tenant / volume id: 1..23 of [A-Za-z0-9._-], first a letter or digit. */
#define DMT_ID_MAX		23
/* Legs per volume (table grammar); the running kernel may accept fewer. */
#define DMT_MAX_LEGS		8
/* Volume UUID as text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case. */
#define DMT_UUID_LEN		36
/* DM UUID of a tenant device: DMT_DM_UUID_PREFIX + volume UUID. */
#define DMT_DM_UUID_PREFIX	"TENANT-"
/* Longest device path dmt_volume_attach() returns, with the NUL. */
#define DMT_DEV_PATH_MAX	256
/* Device-mapper device name, with the NUL (DM_NAME_LEN). */
#define DMT_DM_NAME_MAX		128

/* Key sizes, bytes. */
#define DMT_MASTER_KEY_SIZE	32	/* AES-256-GCM key wrapping KEKs */
#define DMT_KEK_SIZE		32	/* per tenant */
#define DMT_DEK_SIZE		64	/* per volume, AES-256-XTS */
#define DMT_PASSPHRASE_SIZE	32	/* LUKS2 keyslot passphrase, binary */

/* A wrapped KEK (dmt_kek_wrap): opaque bytes, store them as they are. */
#define DMT_WRAPPED_KEK_SIZE	61

/* Default master key file (0600, owned by the daemon's user). */
#define DMT_MASTER_KEY_DEFAULT_PATH "/var/lib/dm-tenant/master.key"

/* KEK fingerprint as text: 16 lower-case hex digits and a NUL. */
#define DMT_FINGERPRINT_LEN	16

/*
 * On-disk layout of a leg (bytes from the start of the leg device; see
 * Documentation/libdmtenant.md):
 *   [0, 4 MiB)      LUKS2: two 64 KiB header copies + keyslots area
 *   [4 MiB, 8 MiB)  dm-tenant metadata area (zeroed at format)
 *   [8 MiB, ...)    data, aes-xts-plain64, the LUKS2 data segment
 */
#define DMT_LEG_LUKS2_SIZE_BYTES	(4ULL << 20)
#define DMT_LEG_META_OFFSET_BYTES	(4ULL << 20)
#define DMT_LEG_META_SIZE_BYTES		(4ULL << 20)
#define DMT_LEG_DATA_OFFSET_BYTES	(8ULL << 20)
#define DMT_LEG_DATA_OFFSET		(DMT_LEG_DATA_OFFSET_BYTES >> 9)
#define DMT_LEG_META_SECTORS		(DMT_LEG_META_SIZE_BYTES >> 9)

/* LUKS2 identity of a leg. */
#define DMT_LUKS2_SUBSYSTEM	"dm-tenant"
#define DMT_LUKS2_TOKEN_TYPE	"dm-tenant"

/* ------------------------------------------------------------------ */
/* Context and logging                                                 */
/* ------------------------------------------------------------------ */

struct dmt_ctx;

/*
 * Log callback.  @priority is a syslog priority (LOG_ERR, LOG_WARNING,
 * LOG_INFO, LOG_DEBUG); @msg has no trailing newline and never contains key
 * bytes.  The default writes "libdmtenant: <msg>" to stderr for priorities
 * up to the context's log level.
 */
typedef void (*dmt_log_fn)(int priority, const char *msg, void *userdata);

/* dmt_ctx_new() flags */
#define DMT_CTX_NO_MODULE_LOAD	(1u << 0)  /* never load kernel modules */

/*
 * Create a context.  Cheap: no kernel access until a function needs it.
 * Returns 0 or -ENOMEM / -EINVAL (unknown flag).
 */
int dmt_ctx_new(struct dmt_ctx **ctx, uint32_t flags);
void dmt_ctx_free(struct dmt_ctx *ctx);

/* Replace the log function (NULL: back to the stderr default). */
void dmt_ctx_set_log_fn(struct dmt_ctx *ctx, dmt_log_fn fn, void *userdata);
/* Highest syslog priority passed to the log function (default LOG_ERR;
 * LOG_DEBUG also routes libcryptsetup's debug output). */
void dmt_ctx_set_log_level(struct dmt_ctx *ctx, int priority);
/*
 * The message of the last error logged through @ctx (LOG_ERR), or "" when
 * none.  Valid until the next call on @ctx.  Meant for replies to clients:
 * it names the object and, where possible, the next step.
 */
const char *dmt_ctx_last_error(const struct dmt_ctx *ctx);

/*
 * Process hardening for a program holding keys: no core dumps
 * (RLIMIT_CORE 0), not dumpable (PR_SET_DUMPABLE 0: no ptrace by the same
 * uid, /proc/PID/mem unreadable).  Call early in the daemon.  0 or -errno.
 */
int dmt_process_harden(void);

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

/*
 * An opaque key: bytes in an mmap'ed, mlock'ed (best effort),
 * MADV_DONTDUMP + MADV_WIPEONFORK page, wiped with explicit_bzero() when
 * freed.  Immutable once made.
 */
struct dmt_key;

enum dmt_key_kind {
	DMT_KEY_MASTER = 1,	/* DMT_MASTER_KEY_SIZE bytes */
	DMT_KEY_KEK = 2,	/* DMT_KEK_SIZE bytes */
	DMT_KEY_DEK = 3,	/* DMT_DEK_SIZE bytes */
	DMT_KEY_PASSPHRASE = 4,	/* DMT_PASSPHRASE_SIZE bytes, derived */
};

/* New random key of @kind (getrandom(2)).  0, -EINVAL, -ENOMEM, -errno. */
int dmt_key_generate(enum dmt_key_kind kind, struct dmt_key **key);
/*
 * Key from caller bytes (e.g. a KEK the caller received from a KMS).
 * @size must be the kind's size (-EINVAL).  The caller wipes its copy.
 */
int dmt_key_import(enum dmt_key_kind kind, const void *data, size_t size,
		   struct dmt_key **key);
/* Wipes and frees; NULL is fine. */
void dmt_key_free(struct dmt_key *key);
enum dmt_key_kind dmt_key_get_kind(const struct dmt_key *key);
size_t dmt_key_get_size(const struct dmt_key *key);
/*
 * Public, stable identifier of a key: the first 8 bytes of
 * HKDF-SHA256(key, salt="", info="dm-tenant fingerprint v1") as hex.
 * Reveals nothing about the key; use it in logs and audit records
 * ("KEK 3f1c... replaced by 9ab0...").  @buf >= DMT_FINGERPRINT_LEN + 1.
 */
int dmt_key_fingerprint(const struct dmt_key *key, char *buf, size_t size);
/* 0 if both keys have the same kind and bytes (constant time), else 1. */
int dmt_key_cmp(const struct dmt_key *a, const struct dmt_key *b);

/*
 * The LUKS2 keyslot passphrase of a volume:
 *   HKDF-SHA256(IKM = KEK, salt = volume UUID text (36 bytes),
 *               info = "dm-tenant keyslot v1", L = 32)
 * Returns a DMT_KEY_PASSPHRASE key.  -EINVAL for a bad UUID or a key that
 * is not a KEK.
 */
int dmt_key_derive_passphrase(const struct dmt_key *kek,
			      const char *volume_uuid,
			      struct dmt_key **passphrase);

/*
 * RESCUE ONLY: copy a key's bytes into @buf (@size >= key size) and return
 * the number of bytes written.  For the emergency exit (stock cryptsetup
 * with --volume-key-file / --key-file) run by an administrator on the
 * host; a daemon must never send these bytes anywhere.  The caller wipes
 * @buf (explicit_bzero).  -ENOSPC if @buf is too small.
 */
int dmt_key_export(const struct dmt_key *key, void *buf, size_t size);
/*
 * RESCUE ONLY: write a key's bytes to a new file @path (O_CREAT|O_EXCL,
 * mode 0600).  -EEXIST if it exists.
 */
int dmt_key_export_file(const struct dmt_key *key, const char *path);

/*
 * Master key file: exactly DMT_MASTER_KEY_SIZE bytes, a regular file (a
 * symlink to one is followed), owned by the effective uid, no group or
 * other permission bits.
 *   load:   0; -ENOENT (absent: create it, or provision it), -EPERM (owner
 *           or mode wrong: fix with chmod 600 / chown), -EINVAL (size).
 *   create: random key, O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, fsync'ed
 *           (file and directory); -EEXIST if present (never overwritten).
 *           The directory must exist.
 * @path NULL means DMT_MASTER_KEY_DEFAULT_PATH.
 */
int dmt_master_key_load(const char *path, struct dmt_key **master);
int dmt_master_key_create(const char *path, struct dmt_key **master);

/*
 * Wrap a KEK under the master key: AES-256-GCM, random 96-bit nonce,
 * AAD = format byte + tenant id, so a blob only unwraps for its tenant.
 * @blob must hold DMT_WRAPPED_KEK_SIZE bytes; *blob_len is set to it.
 * The blob is not secret but is integrity protected; store it as is.
 */
int dmt_kek_wrap(const struct dmt_key *master, const char *tenant,
		 const struct dmt_key *kek, uint8_t *blob, size_t blob_size,
		 size_t *blob_len);
/*
 * Unwrap: -EBADMSG if the blob was altered, belongs to another tenant or
 * another master key; -EINVAL if it is not a wrapped KEK at all.
 */
int dmt_kek_unwrap(const struct dmt_key *master, const char *tenant,
		   const uint8_t *blob, size_t blob_len, struct dmt_key **kek);

/*
 * Small secrets a control plane keeps for someone else (a second factor's
 * TOTP seed): wrapped under the master key like a KEK (AES-256-GCM, random
 * nonce), AAD = format byte + @context, a printable label of 1 to
 * DMT_SECRET_CONTEXT_MAX bytes that names the owner ("mfa/host/uid=1001"),
 * so a blob only unwraps for the owner it was made for.  @len 1 to
 * DMT_SECRET_MAX; @blob holds DMT_WRAPPED_SECRET_SIZE(@len) bytes.
 */
#define DMT_SECRET_MAX		64
#define DMT_SECRET_CONTEXT_MAX	128
#define DMT_WRAPPED_SECRET_SIZE(len)	(1 + 12 + (len) + 16)
int dmt_secret_wrap(const struct dmt_key *master, const char *context,
		    const void *secret, size_t len, uint8_t *blob,
		    size_t blob_size, size_t *blob_len);
/*
 * Unwrap into @secret (@size bytes), *@len set to the secret's length.
 * -EBADMSG if the blob was altered or belongs to another context or master
 * key (@secret is then zeroed); -EINVAL if it is not a wrapped secret;
 * -ENOSPC if @size is too small.  The caller wipes @secret.
 */
int dmt_secret_unwrap(const struct dmt_key *master, const char *context,
		      const uint8_t *blob, size_t blob_len, void *secret,
		      size_t size, size_t *len);

/* ------------------------------------------------------------------ */
/* Ids                                                                 */
/* ------------------------------------------------------------------ */

/* 0 if @id is a valid tenant or volume id (see DMT_ID_MAX), else -EINVAL. */
int dmt_id_valid(const char *id);
/* 0 if @uuid is a lower-case 36-character UUID, else -EINVAL. */
int dmt_uuid_valid(const char *uuid);
/* Random (version 4) UUID into @buf (>= DMT_UUID_LEN + 1). */
int dmt_uuid_generate(char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Volumes and legs                                                    */
/* ------------------------------------------------------------------ */

/* Same numbering as the kernel (enum tenant_leg_class). */
enum dmt_leg_class {
	DMT_LEG_LOCAL = 0,	/* same facility, synchronous */
	DMT_LEG_ZONE = 1,	/* other failure domain, synchronous */
	DMT_LEG_REMOTE = 2,	/* other region, asynchronous */
};

/* "local", "zone", "remote"; NULL if invalid. */
const char *dmt_leg_class_name(enum dmt_leg_class cls);
/* Parse a class name; 0 or -EINVAL. */
int dmt_leg_class_parse(const char *name, enum dmt_leg_class *cls);

struct dmt_leg {
	enum dmt_leg_class cls;
	const char *path;	/* block device path (or a file for format) */
	/*
	 * Data offset on the device, sectors.  0 = the LUKS2 data offset read
	 * from the leg's header (attach) / DMT_LEG_DATA_OFFSET (format).  A
	 * non-zero value must equal the header's.
	 */
	uint64_t offset;
};

/* struct dmt_volume.flags */
#define DMT_VOLUME_ALLOW_DISCARDS (1u << 0)	/* table: allow_discards */

/*
 * A volume as the caller knows it.  Legs are given in leg-index order:
 * legs[i] is leg i (the index written in its token).
 */
struct dmt_volume {
	const char *tenant;
	const char *volume;
	/* Volume UUID; NULL for dmt_volume_create() to generate one. */
	const char *uuid;
	const struct dmt_leg *legs;
	unsigned int nr_legs;		/* 1..DMT_MAX_LEGS */
	/*
	 * Volume size in sectors.  Format: 0 = the smallest leg minus the
	 * data offset; recorded in every leg's token.  Attach: 0 = the size
	 * recorded in the legs' tokens.
	 */
	uint64_t size;
	unsigned int sector_size;	/* 0 or 512 (4096: not yet) */
	uint64_t generation;		/* written to the token at format */
	uint32_t flags;			/* DMT_VOLUME_* */
};

/*
 * Identity of a leg, read from its LUKS2 header without any key.  Strings
 * are empty when the header lacks them.
 */
struct dmt_leg_info {
	char tenant[DMT_ID_MAX + 1];
	char volume[DMT_ID_MAX + 1];
	char uuid[DMT_UUID_LEN + 1];	/* volume UUID (token) */
	char luks_uuid[DMT_UUID_LEN + 1]; /* this leg's LUKS2 UUID */
	char label[48];			/* LUKS2 label "<tenant>/<volume>" */
	enum dmt_leg_class cls;
	unsigned int index;		/* leg index in the volume */
	uint64_t generation;
	uint64_t size;			/* volume size, sectors (token) */
	uint64_t data_offset;		/* LUKS2 data offset, sectors */
	unsigned int sector_size;	/* LUKS2 encryption sector size */
	unsigned int layout;		/* token layout version (1) */
	unsigned int nr_keyslots;	/* active LUKS2 keyslots */
	uint64_t reserved[8];
};

/*
 * Format leg @index of @vol (which must have a UUID): a LUKS2 header with
 * label "<tenant>/<volume>", subsystem "dm-tenant", a "dm-tenant" token,
 * aes-xts-plain64 with @dek as the volume key, one keyslot opened by the
 * passphrase derived from @kek (PBKDF2-SHA256, 1000 iterations, no
 * benchmark), data at DMT_LEG_DATA_OFFSET; the metadata area is zeroed.
 * Destroys whatever the device held: the caller decides that it may.
 * -EBUSY if the device is in use, -ENOSPC if it is too small for the
 * layout plus the volume size.
 */
int dmt_leg_format(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		   unsigned int index, const struct dmt_key *dek,
		   const struct dmt_key *kek);

/*
 * Read a leg's identity.  -ENODEV: no LUKS2 header; -EMEDIUMTYPE: LUKS2 but
 * not a dm-tenant leg (no subsystem/token); -EINVAL: malformed token.
 */
int dmt_leg_read_info(struct dmt_ctx *ctx, const char *path,
		      struct dmt_leg_info *info);

/*
 * The DEK of a leg, opened with the passphrase derived from @kek and
 * @volume_uuid.  -EPERM: no keyslot opens with this KEK; -EMEDIUMTYPE: the
 * leg belongs to another volume UUID.
 */
int dmt_leg_open_dek(struct dmt_ctx *ctx, const char *path,
		     const char *volume_uuid, const struct dmt_key *kek,
		     struct dmt_key **dek);

/*
 * KEK rotation on one leg, online (the leg may be mapped and in use): add a
 * keyslot for @new_kek's passphrase from the DEK, then destroy the keyslot
 * of @old_kek.  No data is rewritten.  Idempotent: a leg that already opens
 * with @new_kek only loses its @old_kek keyslot (if any).  -EPERM if the
 * leg opens with neither key.
 */
int dmt_leg_rewrap(struct dmt_ctx *ctx, const char *path,
		   const char *volume_uuid, const struct dmt_key *old_kek,
		   const struct dmt_key *new_kek);

/*
 * Crypto-shred one leg: overwrite [0, data offset) - both LUKS2 header
 * copies, every keyslot, the token/label/digest, and the dm-tenant metadata
 * area - with zeros, flush, and read it back to verify.  Data is left as
 * ciphertext that no key opens any more.  The device must not be in use
 * (-EBUSY).  Without a readable header, [0, DMT_LEG_DATA_OFFSET) is
 * overwritten.
 */
int dmt_leg_erase(struct dmt_ctx *ctx, const char *path, uint32_t flags);

/*
 * Create a volume: a fresh random DEK, the same on every leg, each leg
 * formatted with dmt_leg_format(); the DEK is wiped afterwards.  If
 * @vol->uuid is NULL a UUID is generated.  The volume UUID is written to
 * @uuid (>= DMT_UUID_LEN + 1).  On failure, legs already formatted are
 * erased again.
 */
int dmt_volume_create(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *kek, char *uuid, size_t uuid_size);

/* dmt_volume_attach() flags */
#define DMT_ATTACH_READ_ONLY	(1u << 0)

/*
 * Attach a volume in one call: check every leg's identity against @vol
 * (tenant, volume, UUID, class, index), derive the passphrase from @kek,
 * get the DEK from the first leg that opens, add it as the logon key
 * "dm-tenant:<tenant>:<volume>" to this thread's keyring, create the dm
 * device @name (DM UUID "TENANT-<uuid>") with the table built from @vol
 * and the legs' data offsets, invalidate the key (only the target holds
 * it), wipe the DEK, and return the device path (/dev/mapper/<name>, else
 * /dev/dm-N) in @path (>= DMT_DEV_PATH_MAX is always enough).
 * @name NULL means "<tenant>-<volume>".  Loads the kernel modules when
 * missing (unless DMT_CTX_NO_MODULE_LOAD).
 * Errors: -EPERM (no leg opens with this KEK), -EMEDIUMTYPE (a leg belongs
 * to another volume or has the wrong class/index), -EEXIST (name in use),
 * -EBUSY (an extent is claimed by another volume, or the volume is live
 * elsewhere), -EINVAL (kernel refused the table: see the kernel log; e.g.
 * more legs than this kernel supports), -ERANGE (@path too small: the
 * device exists nevertheless).
 */
int dmt_volume_attach(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *kek, const char *name,
		      uint32_t flags, char *path, size_t path_size);

/*
 * Reload the table of the attached volume @name from @vol's legs (fresh
 * device references, e.g. a leg that vanished and came back under another
 * device number), then suspend (flush) and resume it.  Every leg is
 * checked as by dmt_volume_attach() and the DEK is released again with
 * @kek for the table load only.  The target assembles leg states from the
 * legs' superblocks at the resume: a leg that was failed stays failed
 * until "leg <i> recover".  -ENODEV (no such device), -EMEDIUMTYPE (@name
 * is another volume, or a leg is not what @vol says), -EPERM (KEK).
 */
int dmt_volume_reload(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *kek, const char *name);

/* dmt_volume_detach() flags */
#define DMT_DETACH_FORCE	(1u << 0)  /* detach even if the device is open
					    * (I/O then fails) */

/*
 * Detach: refuse with -EBUSY if the device is open (unless
 * DMT_DETACH_FORCE), suspend (flushes), send "key wipe", remove.  -ENODEV
 * if no such device, -EMEDIUMTYPE if it is not a tenant device.
 */
int dmt_volume_detach(struct dmt_ctx *ctx, const char *name, uint32_t flags);

/*
 * KEK rotation of every leg (dmt_leg_rewrap), online.  First adds the new
 * keyslot on every leg, then destroys the old one on every leg, so at each
 * moment every leg opens with at least one of the two KEKs.  On failure,
 * repeat the call: it is idempotent.  The caller stores the new wrapped
 * KEK before the call and drops the old one only after success.
 */
int dmt_volume_rewrap(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		      const struct dmt_key *old_kek,
		      const struct dmt_key *new_kek);

/* dmt_leg_erase() on every leg; continues past failures, returns the first. */
int dmt_volume_erase(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		     uint32_t flags);

/* ------------------------------------------------------------------ */
/* Destruction (Documentation/destruction.md)                          */
/* ------------------------------------------------------------------ */

/* Media methods after the crypto-shred (which is always done first). */
enum dmt_wipe_method {
	DMT_WIPE_SHRED = 0,	/* crypto-shred only: header area */
	DMT_WIPE_DISCARD,	/* BLKDISCARD of the whole device */
	DMT_WIPE_SECDISCARD,	/* BLKSECDISCARD (where supported) */
	DMT_WIPE_ZERO,		/* BLKZEROOUT */
	DMT_WIPE_OVERWRITE,	/* random passes (the caller ends with zero) */
	DMT_WIPE__COUNT
};

/* "crypto-shred", "discard", "secure-discard", "zero", "overwrite". */
const char *dmt_wipe_method_name(enum dmt_wipe_method m);
int dmt_wipe_method_parse(const char *name, enum dmt_wipe_method *m);
/* True for the methods whose result reads as zeros. */
bool dmt_wipe_leaves_zeros(enum dmt_wipe_method m);
/* End of a leg's header area, bytes: the LUKS2 data offset if a header
 * is still there, else DMT_LEG_DATA_OFFSET_BYTES. */
uint64_t dmt_wipe_header_end(struct dmt_ctx *ctx, const char *path);

/*
 * Crypto-shred one leg: [0, data offset) - both LUKS2 header copies, all
 * keyslots, digest, label, tokens, and the dm-tenant metadata area - is
 * overwritten with random bytes, then zeros, flushed and read back from
 * the device.  The device must not be in use (-EBUSY).  *@shredded (may
 * be NULL) gets the number of bytes shredded.
 */
int dmt_leg_shred(struct dmt_ctx *ctx, const char *path, uint64_t *shredded);

/* Progress of a pass: @done of @total bytes.  Non-zero stops the pass. */
typedef int (*dmt_wipe_progress_fn)(uint64_t done, uint64_t total,
				    void *arg);
/*
 * One pass of @m over the whole device, from byte @start (resume), at
 * most @rate_mib MiB/s (0: unlimited).  @fn is called every 8 MiB and at
 * the end, after the bytes before it are flushed.  -EOPNOTSUPP when the
 * device lacks the operation, -ECANCELED when @fn stopped it.
 */
int dmt_leg_wipe(struct dmt_ctx *ctx, const char *path,
		 enum dmt_wipe_method m, uint64_t start, uint32_t rate_mib,
		 dmt_wipe_progress_fn fn, void *arg);

struct dmt_wipe_verify {
	bool ok;		/* nothing below found */
	uint64_t size;		/* device bytes */
	uint64_t bytes_read;
	unsigned int samples;	/* sampled 64 KiB reads of the data area */
	uint64_t seed;		/* of the sample offsets */
	int64_t nonzero_at;	/* first non-zero byte where zeros are due */
	int64_t luks_at;	/* first LUKS2 magic */
	int64_t token_at;	/* first "dm-tenant" string */
};

/*
 * Prove a wipe: read the header area in full (must be zeros, no LUKS2
 * magic, no token), and the rest of the device in full (@full) or in 258
 * sampled 64 KiB blocks (first, last, random); no magic, no token, and
 * zeros for the methods that leave zeros.  0 with @res->ok telling the
 * result; -errno if the reads failed.
 */
int dmt_leg_verify(struct dmt_ctx *ctx, const char *path,
		   enum dmt_wipe_method m, bool full,
		   struct dmt_wipe_verify *res);
/* 0 if @path supports method @m (discard / secure discard are probed
 * without discarding anything), -EOPNOTSUPP if not. */
int dmt_wipe_supported(struct dmt_ctx *ctx, const char *path,
		       enum dmt_wipe_method m);
/* Scan a buffer read at @base (exposed for the unit tests). */
void dmt_wipe_scan(const unsigned char *p, size_t n, uint64_t base,
		   bool want_zero, struct dmt_wipe_verify *res);
/* Logon keys "dm-tenant:<tenant>:<volume>" visible in /proc/keys. */
int dmt_keyring_count(struct dmt_ctx *ctx, const char *tenant,
		      const char *volume);

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

/* struct dmt_table.flags */
#define DMT_TABLE_ALLOW_DISCARDS (1u << 0)

/*
 * A tenant table (Documentation/dm-tenant.rst).  The key reference is
 * always ":<key_size>:logon:dm-tenant:<tenant>:<volume>".
 */
struct dmt_table {
	const char *tenant;
	const char *volume;
	uint64_t length;		/* sectors */
	unsigned int key_size;		/* bytes: 0 = DMT_DEK_SIZE */
	uint64_t iv_offset;		/* sectors, 0 for LUKS2 legs */
	const struct dmt_leg *legs;	/* offset = data offset, sectors */
	unsigned int nr_legs;
	unsigned int sector_size;	/* 0/512 or 4096 */
	uint32_t flags;			/* DMT_TABLE_* */
	/*
	 * "metadata:<n>" option (replication kernels): the metadata area
	 * right before every leg's offset, sectors; 0 = omit.  For legs laid
	 * out by this library: DMT_LEG_META_SECTORS.
	 */
	unsigned int meta_sectors;
};

/*
 * The target parameters (no start/length/target name) for @t, validated
 * with the kernel's own parser (tenant_parse_table).  Returns like
 * snprintf: the length the full string needs (excluding the NUL);
 * truncation when >= @size.  -EINVAL (message in the log) if invalid.
 */
int dmt_table_format(struct dmt_ctx *ctx, const struct dmt_table *t,
		     char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Device-mapper                                                       */
/* ------------------------------------------------------------------ */

/*
 * Load the kernel modules the target needs (dm-mod, ecb, xts, dm-tenant;
 * in that order) when missing.  Called by attach.  -ENOENT if a module is
 * neither loaded, built in, nor installed.
 */
int dmt_kernel_prepare(struct dmt_ctx *ctx);
/* Version of the loaded "tenant" target.  -ENOENT if not loaded. */
int dmt_kernel_target_version(struct dmt_ctx *ctx, unsigned int *major,
			      unsigned int *minor, unsigned int *patch);

/* dmt_dev_create() / dmt_dev_load() flags */
#define DMT_DEV_READ_ONLY	(1u << 0)

/*
 * Create device @name with DM UUID "TENANT-<volume_uuid>" and table @t
 * (one tenant target over [0, t->length)), and resume it.  The key named
 * by the table must be in a keyring the calling thread searches.  Uses
 * udev cookies when udev runs; else libdevmapper makes the /dev/mapper
 * node itself (DM_DISABLE_UDEV=1).  On failure nothing is left behind.
 */
int dmt_dev_create(struct dmt_ctx *ctx, const char *name,
		   const char *volume_uuid, const struct dmt_table *t,
		   uint32_t flags);
/* Load @t as the inactive table of @name (it takes effect on resume). */
int dmt_dev_load(struct dmt_ctx *ctx, const char *name,
		 const struct dmt_table *t, uint32_t flags);

/* dmt_dev_suspend() flags */
#define DMT_SUSPEND_NOFLUSH	(1u << 0)
int dmt_dev_suspend(struct dmt_ctx *ctx, const char *name, uint32_t flags);
int dmt_dev_resume(struct dmt_ctx *ctx, const char *name);

/* dmt_dev_remove() flags */
#define DMT_REMOVE_RETRY	(1u << 0)  /* retry while briefly open (udev) */
#define DMT_REMOVE_DEFERRED	(1u << 1)  /* remove on last close */
int dmt_dev_remove(struct dmt_ctx *ctx, const char *name, uint32_t flags);

/*
 * Send a target message (sector 0), e.g. "key wipe".  Any reply is copied
 * to @reply (may be NULL); hex keys are refused (-EINVAL) before sending.
 */
int dmt_dev_message(struct dmt_ctx *ctx, const char *name, const char *msg,
		    char *reply, size_t reply_size);

/* Active table parameters of @name (no start/length/target name). */
int dmt_dev_table(struct dmt_ctx *ctx, const char *name, char *buf,
		  size_t size);

struct dmt_dev_info {
	char name[DMT_DM_NAME_MAX];
	char volume_uuid[DMT_UUID_LEN + 1]; /* "" if not a tenant device */
	uint32_t major, minor;
	int32_t open_count;
	uint32_t target_count;
	bool suspended;
	bool read_only;
	bool live_table;
	bool inactive_table;
	uint64_t reserved[4];
};

/* Info of @name; -ENODEV if absent. */
int dmt_dev_info(struct dmt_ctx *ctx, const char *name,
		 struct dmt_dev_info *info);

/*
 * Call @fn for every dm device whose DM UUID starts with "TENANT-"
 * (for reconciliation at daemon start).  A non-zero return of @fn stops
 * the walk and is returned.
 */
typedef int (*dmt_dev_list_fn)(const struct dmt_dev_info *info, void *arg);
int dmt_dev_list(struct dmt_ctx *ctx, dmt_dev_list_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Status                                                              */
/* ------------------------------------------------------------------ */

struct dmt_status;

enum dmt_key_state {
	DMT_KEY_STATE_UNKNOWN = 0,
	DMT_KEY_STATE_LOADED = 1,
	DMT_KEY_STATE_WIPED = 2,
};

/* Leg states of the status line; other letters read as UNKNOWN. */
enum dmt_leg_state {
	DMT_LEG_STATE_UNKNOWN = '?',
	DMT_LEG_STATE_ALIVE = 'A',	/* alive and in sync */
	DMT_LEG_STATE_DEAD = 'D',	/* failed (replication) */
	DMT_LEG_STATE_SYNCING = 'a',	/* alive, not in sync (replication) */
	DMT_LEG_STATE_DIVERGED = 'S',	/* failed, written apart (split brain) */
};

enum dmt_counter {
	DMT_COUNTER_READS = 0,
	DMT_COUNTER_WRITES,
	DMT_COUNTER_DISCARDS,
	DMT_COUNTER_READ_ERRORS,
	DMT_COUNTER_WRITE_ERRORS,
	DMT_COUNTER_CRYPT_ERRORS,
	DMT_COUNTER_NR
};

/*
 * Parse a tenant status line (target parameters only, as
 * dm_get_next_target() returns them).  Fields the kernel appends later are
 * kept as strings (dmt_status_extra).  -EINVAL if malformed.
 */
int dmt_status_parse(const char *line, struct dmt_status **st);
/* Status of device @name (must be a single tenant target). */
int dmt_dev_status(struct dmt_ctx *ctx, const char *name,
		   struct dmt_status **st);
void dmt_status_free(struct dmt_status *st);

const char *dmt_status_tenant(const struct dmt_status *st);
const char *dmt_status_volume(const struct dmt_status *st);
enum dmt_key_state dmt_status_key_state(const struct dmt_status *st);
unsigned int dmt_status_nr_legs(const struct dmt_status *st);
/* Leg @i (< nr_legs); an out-of-range index gives -1 / NULL / UNKNOWN. */
int dmt_status_leg_class(const struct dmt_status *st, unsigned int i);
const char *dmt_status_leg_dev(const struct dmt_status *st, unsigned int i);
enum dmt_leg_state dmt_status_leg_state(const struct dmt_status *st,
					unsigned int i);
uint64_t dmt_status_counter(const struct dmt_status *st, enum dmt_counter c);
/* Fields after the known ones (appended by newer kernels). */
unsigned int dmt_status_nr_extra(const struct dmt_status *st);
const char *dmt_status_extra(const struct dmt_status *st, unsigned int i);

#ifdef __cplusplus
}
#endif

#endif /* DMTENANT_H */
