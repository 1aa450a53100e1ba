// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: LUKS2 legs (libcryptsetup).
 *
 * Layout of a leg (Documentation/libdmtenant.md):
 *   [0, 128 KiB)        LUKS2 binary header + JSON, two 64 KiB copies
 *   [128 KiB, 4 MiB)    LUKS2 keyslots area (a PBKDF2 keyslot of a 64-byte
 *                       key takes 250 KiB: room for 15, 2 needed at once)
 *   [4 MiB, 8 MiB)      dm-tenant metadata area (zeroed at format)
 *   [8 MiB, end)        data: the LUKS2 segment, aes-xts-plain64, 512-byte
 *                       sectors, iv_offset 0 - what dm-crypt and the tenant
 *                       target both read and write.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include <json-c/json.h>
#include <libcryptsetup.h>

#include "dmt-internal.h"

#define LUKS2_METADATA_SIZE	(64 * 1024)
#define LUKS2_KEYSLOTS_SIZE	(DMT_LEG_LUKS2_SIZE_BYTES - 2 * LUKS2_METADATA_SIZE)
#define PBKDF2_ITERATIONS	1000
#define TOKEN_LAYOUT		1

/* ------------------------------------------------------------------ */
/* Devices                                                             */
/* ------------------------------------------------------------------ */

int dmt_fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return -errno;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	return -ENOTBLK;
}

int dmt_open_exclusive(struct dmt_ctx *ctx, const char *path, int flags)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0) {
		dmt_err(ctx, "%s: %s", path, strerror(errno));
		return -errno;
	}
	/* O_EXCL on a block device fails with EBUSY while it is mounted,
	 * mapped by device-mapper or held by another O_EXCL opener. */
	if (S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		dmt_err(ctx, "%s: %s%s", path, strerror(e),
			e == EBUSY ? " (in use: detach the volume first)" : "");
		return -e;
	}
	return fd;
}

static int pwrite_zero(int fd, uint64_t off, uint64_t len)
{
	static const unsigned char zero[64 * 1024];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		ssize_t w = pwrite(fd, zero, n, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Token                                                               */
/* ------------------------------------------------------------------ */

static int json_add_str(struct json_object *o, const char *k, const char *v)
{
	struct json_object *s = json_object_new_string(v);

	if (!s)
		return -ENOMEM;
	json_object_object_add(o, k, s);
	return 0;
}

static int json_add_u64(struct json_object *o, const char *k, uint64_t v)
{
	char buf[24];

	/* Strings for 64-bit numbers, as LUKS2 itself does. */
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_add_str(o, k, buf);
}

int dmt_token_build(const struct dmt_volume *vol, unsigned int index,
		    uint64_t size, char **json)
{
	struct json_object *o, *a;
	int r = -ENOMEM;

	*json = NULL;
	o = json_object_new_object();
	a = json_object_new_array();
	if (!o || !a) {
		json_object_put(a);
		goto out;
	}
	json_object_object_add(o, "keyslots", a);
	if (json_add_str(o, "type", DMT_LUKS2_TOKEN_TYPE) ||
	    json_add_str(o, "tenant", vol->tenant) ||
	    json_add_str(o, "volume", vol->volume) ||
	    json_add_str(o, "volume_uuid", vol->uuid) ||
	    json_add_str(o, "class", dmt_leg_class_name(vol->legs[index].cls)) ||
	    json_add_u64(o, "leg", index) ||
	    json_add_u64(o, "generation", vol->generation) ||
	    json_add_u64(o, "size", size) ||
	    json_add_u64(o, "layout", TOKEN_LAYOUT) ||
	    json_add_u64(o, "metadata_offset", DMT_LEG_META_OFFSET_BYTES >> 9) ||
	    json_add_u64(o, "metadata_size", DMT_LEG_META_SIZE_BYTES >> 9))
		goto out;
	*json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	r = *json ? 0 : -ENOMEM;
out:
	json_object_put(o);
	return r;
}

static int json_get_u64(struct json_object *o, const char *k, uint64_t *v)
{
	struct json_object *f;
	const char *s;
	char *end;

	if (!json_object_object_get_ex(o, k, &f) ||
	    !json_object_is_type(f, json_type_string))
		return -EINVAL;
	s = json_object_get_string(f);
	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int json_get_str(struct json_object *o, const char *k, char *buf,
			size_t size)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, k, &f) ||
	    !json_object_is_type(f, json_type_string))
		return -EINVAL;
	if ((size_t)snprintf(buf, size, "%s", json_object_get_string(f)) >= size)
		return -EINVAL;
	return 0;
}

int dmt_token_parse(const char *json, struct dmt_leg_info *info)
{
	struct json_object *o;
	char cls[16];
	uint64_t v;
	int r = -EINVAL;
	enum dmt_leg_class c;

	o = json_tokener_parse(json);
	if (!o)
		return -EINVAL;
	if (json_get_str(o, "type", cls, sizeof(cls)) ||
	    strcmp(cls, DMT_LUKS2_TOKEN_TYPE))
		goto out;
	if (json_get_str(o, "tenant", info->tenant, sizeof(info->tenant)) ||
	    dmt_id_valid(info->tenant) ||
	    json_get_str(o, "volume", info->volume, sizeof(info->volume)) ||
	    dmt_id_valid(info->volume) ||
	    json_get_str(o, "volume_uuid", info->uuid, sizeof(info->uuid)) ||
	    dmt_uuid_valid(info->uuid) ||
	    json_get_str(o, "class", cls, sizeof(cls)) ||
	    dmt_leg_class_parse(cls, &c))
		goto out;
	info->cls = c;
	if (json_get_u64(o, "leg", &v) || v >= DMT_MAX_LEGS)
		goto out;
	info->index = (unsigned int)v;
	if (json_get_u64(o, "generation", &info->generation) ||
	    json_get_u64(o, "size", &info->size) ||
	    json_get_u64(o, "layout", &v) || v > 1000)
		goto out;
	info->layout = (unsigned int)v;
	r = 0;
out:
	json_object_put(o);
	return r;
}

/* ------------------------------------------------------------------ */
/* libcryptsetup plumbing                                              */
/* ------------------------------------------------------------------ */

static void cs_log(int level, const char *msg, void *usrptr)
{
	struct dmt_ctx *ctx = usrptr;
	int prio;

	switch (level) {
	case CRYPT_LOG_ERROR:
		/* Expected failures (wrong KEK on a probe) are ours to report. */
		prio = LOG_WARNING;
		break;
	default:
		prio = LOG_DEBUG;
	}
	dmt_log(ctx, prio, "cryptsetup: %s", msg);
}

/* A crypt device holds the library lock until cs_close(). */
static int cs_open(struct dmt_ctx *ctx, const char *path,
		   struct crypt_device **cd, bool load)
{
	int r;

	dmt_lib_lock();
	r = crypt_init(cd, path);
	if (r < 0) {
		dmt_lib_unlock();
		dmt_err(ctx, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	crypt_set_log_callback(*cd, cs_log, ctx);
	if (!load)
		return 0;
	r = crypt_load(*cd, CRYPT_LUKS2, NULL);
	if (r < 0) {
		crypt_free(*cd);
		dmt_lib_unlock();
		*cd = NULL;
		dmt_err(ctx, "%s: no LUKS2 header (not a dm-tenant leg)", path);
		return -ENODEV;
	}
	return 0;
}

static void cs_close(struct crypt_device *cd)
{
	if (!cd)
		return;
	crypt_free(cd);
	dmt_lib_unlock();
}

uint64_t dmt_leg_data_end(struct dmt_ctx *ctx, const char *path,
			  uint64_t end)
{
	struct crypt_device *cd;

	dmt_lib_lock();
	if (crypt_init(&cd, path) == 0) {
		crypt_set_log_callback(cd, cs_log, ctx);
		if (crypt_load(cd, CRYPT_LUKS2, NULL) == 0 &&
		    crypt_get_data_offset(cd))
			end = crypt_get_data_offset(cd) * 512;
		crypt_free(cd);
	}
	dmt_lib_unlock();
	return end;
}

static int cs_set_pbkdf(struct crypt_device *cd)
{
	/* The passphrase is 256 bits of HKDF output: no stretching needed
	 * (as systemd-cryptenroll does for high-entropy secrets). */
	struct crypt_pbkdf_type pbkdf = {
		.type = CRYPT_KDF_PBKDF2,
		.hash = "sha256",
		.iterations = PBKDF2_ITERATIONS,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};

	return crypt_set_pbkdf_type(cd, &pbkdf);
}

/* Find our token; 0 and *json (owned by @cd) or -EMEDIUMTYPE. */
static int cs_find_token(struct crypt_device *cd, const char **json)
{
	int id;

	for (id = 0; id < 32; id++) {
		const char *type = NULL;
		crypt_token_info ti = crypt_token_status(cd, id, &type);

		if (ti == CRYPT_TOKEN_INVALID || ti == CRYPT_TOKEN_INACTIVE)
			continue;
		if (!type || strcmp(type, DMT_LUKS2_TOKEN_TYPE))
			continue;
		if (crypt_token_json_get(cd, id, json) < 0)
			return -EINVAL;
		return 0;
	}
	return -EMEDIUMTYPE;
}

static int cs_read_info(struct dmt_ctx *ctx, struct crypt_device *cd,
			const char *path, struct dmt_leg_info *info)
{
	const char *s, *json = NULL;
	int i, r, max;

	memset(info, 0, sizeof(*info));
	s = crypt_get_subsystem(cd);
	if (!s || strcmp(s, DMT_LUKS2_SUBSYSTEM)) {
		dmt_err(ctx, "%s: LUKS2 but not a dm-tenant leg (subsystem '%s')",
			path, s ? s : "");
		return -EMEDIUMTYPE;
	}
	r = cs_find_token(cd, &json);
	if (r) {
		dmt_err(ctx, "%s: no dm-tenant token in the LUKS2 header", path);
		return r;
	}
	r = dmt_token_parse(json, info);
	if (r) {
		dmt_err(ctx, "%s: malformed dm-tenant token", path);
		return r;
	}
	s = crypt_get_label(cd);
	snprintf(info->label, sizeof(info->label), "%s", s ? s : "");
	s = crypt_get_uuid(cd);
	snprintf(info->luks_uuid, sizeof(info->luks_uuid), "%s", s ? s : "");
	info->data_offset = crypt_get_data_offset(cd);
	info->sector_size = (unsigned int)crypt_get_sector_size(cd);
	max = crypt_keyslot_max(CRYPT_LUKS2);
	for (i = 0; i < max; i++) {
		crypt_keyslot_info ki = crypt_keyslot_status(cd, i);

		if (ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST)
			info->nr_keyslots++;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Public leg operations                                               */
/* ------------------------------------------------------------------ */

static int check_volume(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			bool need_uuid)
{
	unsigned int i;

	if (!vol || dmt_id_valid(vol->tenant) || dmt_id_valid(vol->volume)) {
		dmt_err(ctx, "invalid tenant or volume id");
		return -EINVAL;
	}
	if ((need_uuid || vol->uuid) && dmt_uuid_valid(vol->uuid)) {
		dmt_err(ctx, "%s/%s: invalid volume UUID", vol->tenant,
			vol->volume);
		return -EINVAL;
	}
	if (!vol->legs || vol->nr_legs < 1 || vol->nr_legs > DMT_MAX_LEGS) {
		dmt_err(ctx, "%s/%s: %u legs (1..%d)", vol->tenant,
			vol->volume, vol->nr_legs, DMT_MAX_LEGS);
		return -EINVAL;
	}
	for (i = 0; i < vol->nr_legs; i++)
		if (!vol->legs[i].path || !dmt_leg_class_name(vol->legs[i].cls)) {
			dmt_err(ctx, "%s/%s: leg %u: no path or bad class",
				vol->tenant, vol->volume, i);
			return -EINVAL;
		}
	if (vol->sector_size && vol->sector_size != 512) {
		dmt_err(ctx, "%s/%s: sector size %u not supported (512)",
			vol->tenant, vol->volume, vol->sector_size);
		return -EINVAL;
	}
	if (vol->flags & ~DMT_VOLUME_ALLOW_DISCARDS)
		return -EINVAL;
	return 0;
}

int dmt_check_volume(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		     bool need_uuid)
{
	return check_volume(ctx, vol, need_uuid);
}

int dmt_leg_format(struct dmt_ctx *ctx, const struct dmt_volume *vol,
		   unsigned int index, const struct dmt_key *dek,
		   const struct dmt_key *kek)
{
	struct crypt_params_luks2 params = { .sector_size = 512 };
	struct crypt_device *cd = NULL;
	struct dmt_key *pass = NULL;
	char label[48], *json = NULL;
	const char *path;
	uint64_t dev_size, size;
	int fd, r;

	if (!ctx)
		return -EINVAL;
	r = check_volume(ctx, vol, true);
	if (r)
		return r;
	if (index >= vol->nr_legs || !dek || dek->kind != DMT_KEY_DEK ||
	    !kek || kek->kind != DMT_KEY_KEK)
		return -EINVAL;
	path = vol->legs[index].path;
	if (vol->legs[index].offset &&
	    vol->legs[index].offset != DMT_LEG_DATA_OFFSET) {
		dmt_err(ctx, "%s: leg offset must be %llu (the layout's data offset)",
			path, (unsigned long long)DMT_LEG_DATA_OFFSET);
		return -EINVAL;
	}

	/* Exclusive: refuse a device that is mapped, mounted or open. */
	fd = dmt_open_exclusive(ctx, path, O_RDWR);
	if (fd < 0)
		return fd;
	r = dmt_fd_size(fd, &dev_size);
	if (r)
		goto out_fd;
	size = vol->size;
	if (dev_size < DMT_LEG_DATA_OFFSET_BYTES + (1 << 20) ||
	    (size && dev_size / 512 < DMT_LEG_DATA_OFFSET + size)) {
		dmt_err(ctx, "%s: too small (%llu bytes) for the %llu MiB leg header%s",
			path, (unsigned long long)dev_size,
			(unsigned long long)(DMT_LEG_DATA_OFFSET_BYTES >> 20),
			size ? " plus the volume size" : " plus 1 MiB of data");
		r = -ENOSPC;
		goto out_fd;
	}
	if (!size)
		size = dev_size / 512 - DMT_LEG_DATA_OFFSET;
	/* libcryptsetup opens the device exclusively itself. */
	close(fd);
	fd = -1;

	r = dmt_key_derive_passphrase(kek, vol->uuid, &pass);
	if (r)
		goto out_fd;
	r = dmt_token_build(vol, index, size, &json);
	if (r)
		goto out_fd;
	snprintf(label, sizeof(label), "%s/%s", vol->tenant, vol->volume);
	params.label = label;
	params.subsystem = DMT_LUKS2_SUBSYSTEM;

	r = cs_open(ctx, path, &cd, false);
	if (r)
		goto out_fd;
	r = cs_set_pbkdf(cd);
	if (!r)
		r = crypt_set_metadata_size(cd, LUKS2_METADATA_SIZE,
					    LUKS2_KEYSLOTS_SIZE);
	if (!r)
		r = crypt_set_data_offset(cd, DMT_LEG_DATA_OFFSET);
	if (r) {
		dmt_err(ctx, "%s: cannot set the LUKS2 layout: %s", path,
			strerror(-r));
		goto out;
	}
	r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL,
			 (const char *)dmt_key_bytes(dek), dek->size, &params);
	if (r < 0) {
		dmt_err(ctx, "%s: LUKS2 format failed: %s", path, strerror(-r));
		goto out;
	}
	r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT,
					    (const char *)dmt_key_bytes(dek),
					    dek->size,
					    (const char *)dmt_key_bytes(pass),
					    pass->size);
	if (r < 0) {
		dmt_err(ctx, "%s: cannot add the keyslot: %s", path,
			strerror(-r));
		goto out;
	}
	r = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json);
	if (r < 0) {
		dmt_err(ctx, "%s: cannot write the dm-tenant token: %s", path,
			strerror(-r));
		goto out;
	}
	cs_close(cd);
	cd = NULL;
	/* The metadata area is ours: start it zeroed. */
	fd = dmt_open_exclusive(ctx, path, O_RDWR);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	r = pwrite_zero(fd, DMT_LEG_META_OFFSET_BYTES, DMT_LEG_META_SIZE_BYTES);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r)
		dmt_err(ctx, "%s: cannot zero the metadata area: %s", path,
			strerror(-r));
	else
		dmt_info(ctx, "%s: formatted leg %u (%s) of %s/%s", path, index,
			 dmt_leg_class_name(vol->legs[index].cls),
			 vol->tenant, vol->volume);
out:
	cs_close(cd);
out_fd:
	if (fd >= 0)
		close(fd);
	free(json);
	dmt_key_free(pass);
	return r < 0 ? r : 0;
}

int dmt_leg_read_info(struct dmt_ctx *ctx, const char *path,
		      struct dmt_leg_info *info)
{
	struct crypt_device *cd;
	int r;

	if (!ctx || !path || !info)
		return -EINVAL;
	r = cs_open(ctx, path, &cd, true);
	if (r)
		return r;
	r = cs_read_info(ctx, cd, path, info);
	cs_close(cd);
	return r;
}

int dmt_leg_get_dek(struct dmt_ctx *ctx, const char *path,
		    const struct dmt_key *pass, struct dmt_key **dek)
{
	struct crypt_device *cd;
	size_t size = DMT_DEK_SIZE;
	int r;

	*dek = NULL;
	r = cs_open(ctx, path, &cd, true);
	if (r)
		return r;
	if (crypt_get_volume_key_size(cd) != DMT_DEK_SIZE) {
		dmt_err(ctx, "%s: volume key is not %d bytes", path,
			DMT_DEK_SIZE);
		r = -EMEDIUMTYPE;
		goto out;
	}
	r = dmt_key_alloc(DMT_KEY_DEK, dek);
	if (r)
		goto out;
	r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)(*dek)->bytes,
				 &size, (const char *)dmt_key_bytes(pass),
				 pass->size);
	if (r < 0 || size != DMT_DEK_SIZE) {
		dmt_key_free(*dek);
		*dek = NULL;
		if (r == -EPERM || r == -ENOENT || r >= 0)
			r = -EPERM;
		goto out;
	}
	r = 0;
out:
	cs_close(cd);
	return r;
}

static int check_leg_uuid(struct dmt_ctx *ctx, const char *path,
			  const char *volume_uuid)
{
	struct dmt_leg_info info;
	int r;

	r = dmt_leg_read_info(ctx, path, &info);
	if (r)
		return r;
	if (strcmp(info.uuid, volume_uuid)) {
		dmt_err(ctx, "%s: leg of volume %s/%s (%s), not of %s", path,
			info.tenant, info.volume, info.uuid, volume_uuid);
		return -EMEDIUMTYPE;
	}
	return 0;
}

int dmt_leg_open_dek(struct dmt_ctx *ctx, const char *path,
		     const char *volume_uuid, const struct dmt_key *kek,
		     struct dmt_key **dek)
{
	struct dmt_key *pass = NULL;
	int r;

	if (!dek)
		return -EINVAL;
	*dek = NULL;
	if (!ctx || !path || dmt_uuid_valid(volume_uuid) || !kek ||
	    kek->kind != DMT_KEY_KEK)
		return -EINVAL;
	r = check_leg_uuid(ctx, path, volume_uuid);
	if (r)
		return r;
	r = dmt_key_derive_passphrase(kek, volume_uuid, &pass);
	if (r)
		return r;
	r = dmt_leg_get_dek(ctx, path, pass, dek);
	if (r == -EPERM)
		dmt_err(ctx, "%s: no keyslot opens with this KEK", path);
	dmt_key_free(pass);
	return r;
}

/* Keyslot opened by @pass, or -EPERM. */
static int cs_slot_of(struct crypt_device *cd, const struct dmt_key *pass)
{
	int r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT,
					     (const char *)dmt_key_bytes(pass),
					     pass->size, 0);

	return r >= 0 ? r : -EPERM;
}

int dmt_leg_rewrap_phase(struct dmt_ctx *ctx, const char *path,
			 const char *volume_uuid,
			 const struct dmt_key *old_kek,
			 const struct dmt_key *new_kek, unsigned int phases)
{
	struct dmt_key *old_pass = NULL, *new_pass = NULL, *dek = NULL;
	struct crypt_device *cd = NULL;
	int r, s_old, s_new;

	r = check_leg_uuid(ctx, path, volume_uuid);
	if (r)
		return r;
	r = dmt_key_derive_passphrase(old_kek, volume_uuid, &old_pass);
	if (!r)
		r = dmt_key_derive_passphrase(new_kek, volume_uuid, &new_pass);
	if (r)
		goto out;
	r = cs_open(ctx, path, &cd, true);
	if (r)
		goto out;
	r = cs_set_pbkdf(cd);
	if (r)
		goto out;

	s_new = cs_slot_of(cd, new_pass);
	s_old = cs_slot_of(cd, old_pass);
	if (s_new < 0 && s_old < 0) {
		dmt_err(ctx, "%s: opens with neither the old nor the new KEK",
			path);
		r = -EPERM;
		goto out;
	}
	if ((phases & DMT_REWRAP_ADD) && s_new < 0) {
		size_t size = DMT_DEK_SIZE;

		r = dmt_key_alloc(DMT_KEY_DEK, &dek);
		if (r)
			goto out;
		r = crypt_volume_key_get(cd, s_old, (char *)dek->bytes, &size,
					 (const char *)dmt_key_bytes(old_pass),
					 old_pass->size);
		if (r < 0 || size != DMT_DEK_SIZE) {
			dmt_err(ctx, "%s: cannot open the DEK with the old KEK",
				path);
			r = -EPERM;
			goto out;
		}
		r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT,
				(const char *)dek->bytes, dek->size,
				(const char *)dmt_key_bytes(new_pass),
				new_pass->size);
		if (r < 0) {
			dmt_err(ctx, "%s: cannot add the new keyslot: %s", path,
				strerror(-r));
			goto out;
		}
		s_new = r;
		dmt_info(ctx, "%s: keyslot %d added for the new KEK", path, s_new);
	}
	if ((phases & DMT_REWRAP_DESTROY) && s_old >= 0) {
		if (s_new < 0) {
			dmt_err(ctx, "%s: refusing to destroy the only keyslot",
				path);
			r = -EPERM;
			goto out;
		}
		if (s_old != s_new) {
			r = crypt_keyslot_destroy(cd, s_old);
			if (r < 0) {
				dmt_err(ctx, "%s: cannot destroy keyslot %d: %s",
					path, s_old, strerror(-r));
				goto out;
			}
			dmt_info(ctx, "%s: keyslot %d of the old KEK destroyed",
				 path, s_old);
		}
	}
	r = 0;
out:
	cs_close(cd);
	dmt_key_free(dek);
	dmt_key_free(old_pass);
	dmt_key_free(new_pass);
	return r;
}

int dmt_leg_rewrap(struct dmt_ctx *ctx, const char *path,
		   const char *volume_uuid, const struct dmt_key *old_kek,
		   const struct dmt_key *new_kek)
{
	if (!ctx || !path || dmt_uuid_valid(volume_uuid) || !old_kek ||
	    !new_kek || old_kek->kind != DMT_KEY_KEK ||
	    new_kek->kind != DMT_KEY_KEK)
		return -EINVAL;
	if (!dmt_key_cmp(old_kek, new_kek)) {
		dmt_err(ctx, "rewrap: the old and the new KEK are the same");
		return -EINVAL;
	}
	return dmt_leg_rewrap_phase(ctx, path, volume_uuid, old_kek, new_kek,
				    DMT_REWRAP_ADD | DMT_REWRAP_DESTROY);
}

int dmt_leg_erase(struct dmt_ctx *ctx, const char *path, uint32_t flags)
{
	static const unsigned char zero[64 * 1024];
	unsigned char *buf = NULL;
	uint64_t dev_size, end = DMT_LEG_DATA_OFFSET_BYTES, off;
	struct stat st;
	int fd, r;

	if (!ctx || !path || flags)
		return -EINVAL;
	fd = dmt_open_exclusive(ctx, path, O_RDWR);
	if (fd < 0)
		return fd;
	r = dmt_fd_size(fd, &dev_size);
	if (r)
		goto out;
	/* The header says where the data starts; quietly, it may be gone. */
	end = dmt_leg_data_end(ctx, path, end);
	if (end > dev_size)
		end = dev_size;
	r = pwrite_zero(fd, 0, end);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r) {
		dmt_err(ctx, "%s: erase failed: %s", path, strerror(-r));
		goto out;
	}
	/* Verify from the device, not from the page cache. */
	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode))
		(void)ioctl(fd, BLKFLSBUF, 0);
	(void)posix_fadvise(fd, 0, (off_t)end, POSIX_FADV_DONTNEED);
	buf = malloc(sizeof(zero));
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (off = 0; off < end; off += sizeof(zero)) {
		size_t n = end - off < sizeof(zero) ? (size_t)(end - off) :
						      sizeof(zero);
		ssize_t got = pread(fd, buf, n, (off_t)off);

		if (got != (ssize_t)n || memcmp(buf, zero, n)) {
			dmt_err(ctx, "%s: erase verification failed at byte %llu",
				path, (unsigned long long)off);
			r = -EIO;
			goto out;
		}
	}
	dmt_info(ctx, "%s: header, keyslots and metadata erased (%llu bytes)",
		 path, (unsigned long long)end);
out:
	free(buf);
	close(fd);
	return r;
}
