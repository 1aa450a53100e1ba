// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: device-mapper (libdevmapper) and kernel modules (libkmod).
 *
 * udev: every operation that creates, resumes or removes a device node
 * gets a udev cookie (dm_task_set_cookie + dm_udev_wait), as dmsetup does.
 * When udev is not running or DM_DISABLE_UDEV=1 is set, libdevmapper hands
 * out cookie 0 and creates / removes the /dev/mapper nodes itself when
 * dm_udev_wait() runs, so the same code works in both worlds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libdevmapper.h>
#include <libkmod.h>

#include "dmt-internal.h"
#include "tenant-table.h"

/* ------------------------------------------------------------------ */
/* Modules                                                             */
/* ------------------------------------------------------------------ */

/* ecb before xts: else aes-xts tables fail with -ENOENT (BRIEF.md). */
static const char *const dmt_modules[] = { "dm-mod", "ecb", "xts", "dm-tenant" };

static int module_loaded(const char *name)
{
	char path[64], *p;
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	for (p = path + strlen("/sys/module/"); *p; p++)
		if (*p == '-')
			*p = '_';
	return stat(path, &st) == 0;
}

int dmt_kernel_prepare(struct dmt_ctx *ctx)
{
	struct kmod_ctx *kctx = NULL;
	size_t i;
	int r = 0;

	if (!ctx)
		return -EINVAL;
	if (ctx->modules_ready || (ctx->flags & DMT_CTX_NO_MODULE_LOAD))
		return 0;
	for (i = 0; i < DMT_ARRAY_SIZE(dmt_modules); i++) {
		struct kmod_list *list = NULL, *it;
		int found = 0;

		if (module_loaded(dmt_modules[i]))
			continue;
		if (!kctx) {
			kctx = kmod_new(NULL, NULL);
			if (!kctx)
				return -ENOMEM;
		}
		r = kmod_module_new_from_lookup(kctx, dmt_modules[i], &list);
		if (r < 0) {
			dmt_err(ctx, "module %s: lookup failed: %s",
				dmt_modules[i], strerror(-r));
			break;
		}
		kmod_list_foreach(it, list) {
			struct kmod_module *mod = kmod_module_get_module(it);
			int state = kmod_module_get_initstate(mod);

			found = 1;
			if (state != KMOD_MODULE_LIVE &&
			    state != KMOD_MODULE_BUILTIN &&
			    state != KMOD_MODULE_COMING)
				r = kmod_module_probe_insert_module(
					mod, 0, NULL, NULL, NULL, NULL);
			kmod_module_unref(mod);
			if (r < 0)
				break;
		}
		kmod_module_unref_list(list);
		if (!found && !module_loaded(dmt_modules[i])) {
			/* Built-in modules without modules.builtin entries. */
			if (strcmp(dmt_modules[i], "dm-tenant") &&
			    strcmp(dmt_modules[i], "dm-mod"))
				continue;
			r = -ENOENT;
		}
		if (r < 0) {
			dmt_err(ctx, "cannot load kernel module %s: %s (install it, or run modprobe %s)",
				dmt_modules[i], strerror(-r), dmt_modules[i]);
			break;
		}
		dmt_dbg(ctx, "loaded kernel module %s", dmt_modules[i]);
	}
	kmod_unref(kctx);
	if (!r)
		ctx->modules_ready = true;
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------ */
/* Tasks                                                               */
/* ------------------------------------------------------------------ */

static int valid_name(const char *name)
{
	size_t n;

	if (!name)
		return 0;
	n = strlen(name);
	return n > 0 && n < DMT_DM_NAME_MAX && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

/* A task holds the library lock until task_free(). */
static struct dm_task *task_new(struct dmt_ctx *ctx, int type,
				const char *name)
{
	struct dm_task *dmt;

	dmt_lib_lock();
	dmt = dm_task_create(type);
	if (!dmt) {
		dmt_lib_unlock();
		dmt_err(ctx, "device-mapper: cannot create a task (is dm-mod loaded?)");
		return NULL;
	}
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		dmt_lib_unlock();
		return NULL;
	}
	return dmt;
}

static void task_free(struct dm_task *dmt)
{
	dm_task_destroy(dmt);
	dmt_lib_unlock();
}

/* Run @dmt; -errno from the ioctl (EIO when libdevmapper has none). */
static int task_run(struct dm_task *dmt)
{
	int e;

	if (dm_task_run(dmt))
		return 0;
	e = dm_task_get_errno(dmt);
	return e > 0 ? -e : -EIO;
}

/* Run with a udev cookie and wait for udev (or make nodes ourselves). */
static int task_run_udev(struct dmt_ctx *ctx, struct dm_task *dmt,
			 const char *what, const char *name)
{
	uint32_t cookie = 0;
	int r;

	if (!dm_task_set_cookie(dmt, &cookie, 0))
		return -EIO;
	r = task_run(dmt);
	/* Always wait: releases the cookie and processes node operations. */
	(void)dm_udev_wait(cookie);
	if (r)
		dmt_err(ctx, "device-mapper: %s %s failed: %s", what, name,
			strerror(-r));
	return r;
}

int dmt_dev_info(struct dmt_ctx *ctx, const char *name,
		 struct dmt_dev_info *info)
{
	struct dm_task *dmt;
	struct dm_info di;
	const char *uuid;
	int r;

	if (!valid_name(name) || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	dmt = task_new(ctx, DM_DEVICE_INFO, name);
	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	if (!r && !dm_task_get_info(dmt, &di))
		r = -EIO;
	if (!r && !di.exists)
		r = -ENODEV;
	if (r)
		goto out;
	snprintf(info->name, sizeof(info->name), "%s", name);
	uuid = dm_task_get_uuid(dmt);
	if (uuid && !strncmp(uuid, DMT_DM_UUID_PREFIX,
			     strlen(DMT_DM_UUID_PREFIX)) &&
	    !dmt_uuid_valid(uuid + strlen(DMT_DM_UUID_PREFIX)))
		snprintf(info->volume_uuid, sizeof(info->volume_uuid), "%s",
			 uuid + strlen(DMT_DM_UUID_PREFIX));
	info->major = di.major;
	info->minor = di.minor;
	info->open_count = di.open_count;
	info->target_count = (uint32_t)di.target_count;
	info->suspended = di.suspended;
	info->read_only = di.read_only;
	info->live_table = di.live_table;
	info->inactive_table = di.inactive_table;
out:
	task_free(dmt);
	return r;
}

static int add_tenant_target(struct dmt_ctx *ctx, struct dm_task *dmt,
			     const struct dmt_table *t)
{
	char *params;
	int n, r = 0;

	n = dmt_table_format(ctx, t, NULL, 0);
	if (n < 0)
		return n;
	params = malloc((size_t)n + 1);
	if (!params)
		return -ENOMEM;
	dmt_table_format(ctx, t, params, (size_t)n + 1);
	if (!dm_task_add_target(dmt, 0, t->length, DM_TENANT_TARGET_NAME,
				params))
		r = -ENOMEM;
	free(params);
	return r;
}

int dmt_dev_create(struct dmt_ctx *ctx, const char *name,
		   const char *volume_uuid, const struct dmt_table *t,
		   uint32_t flags)
{
	char uuid[sizeof(DMT_DM_UUID_PREFIX) + DMT_UUID_LEN];
	struct dm_task *dmt;
	int r;

	if (!ctx || !valid_name(name) || dmt_uuid_valid(volume_uuid) || !t ||
	    (flags & ~DMT_DEV_READ_ONLY))
		return -EINVAL;
	snprintf(uuid, sizeof(uuid), DMT_DM_UUID_PREFIX "%s", volume_uuid);
	dmt = task_new(ctx, DM_DEVICE_CREATE, name);
	if (!dmt)
		return -ENOMEM;
	r = -ENOMEM;
	if (!dm_task_set_uuid(dmt, uuid))
		goto out;
	if ((flags & DMT_DEV_READ_ONLY) && !dm_task_set_ro(dmt))
		goto out;
	r = add_tenant_target(ctx, dmt, t);
	if (r)
		goto out;
	dm_task_secure_data(dmt);	/* wipe ioctl buffers (belt and braces) */
	r = task_run_udev(ctx, dmt, "create", name);
	if (r == -EINVAL)
		dmt_err(ctx, "the kernel refused the table of %s (%s/%s): see the kernel log (dmesg)",
			name, t->tenant, t->volume);
out:
	task_free(dmt);
	return r;
}

int dmt_dev_load(struct dmt_ctx *ctx, const char *name,
		 const struct dmt_table *t, uint32_t flags)
{
	struct dm_task *dmt;
	int r;

	if (!ctx || !valid_name(name) || !t || (flags & ~DMT_DEV_READ_ONLY))
		return -EINVAL;
	dmt = task_new(ctx, DM_DEVICE_RELOAD, name);
	if (!dmt)
		return -ENOMEM;
	r = -ENOMEM;
	if ((flags & DMT_DEV_READ_ONLY) && !dm_task_set_ro(dmt))
		goto out;
	r = add_tenant_target(ctx, dmt, t);
	if (r)
		goto out;
	dm_task_secure_data(dmt);
	r = task_run(dmt);
	if (r)
		dmt_err(ctx, "device-mapper: load table into %s failed: %s (see dmesg)",
			name, strerror(-r));
out:
	task_free(dmt);
	return r;
}

int dmt_dev_suspend(struct dmt_ctx *ctx, const char *name, uint32_t flags)
{
	struct dm_task *dmt;
	int r;

	if (!ctx || !valid_name(name) || (flags & ~DMT_SUSPEND_NOFLUSH))
		return -EINVAL;
	dmt = task_new(ctx, DM_DEVICE_SUSPEND, name);
	if (!dmt)
		return -ENOMEM;
	if (flags & DMT_SUSPEND_NOFLUSH)
		dm_task_no_flush(dmt);
	r = task_run(dmt);
	if (r)
		dmt_err(ctx, "device-mapper: suspend %s failed: %s", name,
			strerror(-r));
	task_free(dmt);
	return r;
}

int dmt_dev_resume(struct dmt_ctx *ctx, const char *name)
{
	struct dm_task *dmt;
	int r;

	if (!ctx || !valid_name(name))
		return -EINVAL;
	dmt = task_new(ctx, DM_DEVICE_RESUME, name);
	if (!dmt)
		return -ENOMEM;
	r = task_run_udev(ctx, dmt, "resume", name);
	task_free(dmt);
	return r;
}

int dmt_dev_remove(struct dmt_ctx *ctx, const char *name, uint32_t flags)
{
	struct dm_task *dmt;
	int r;

	if (!ctx || !valid_name(name) ||
	    (flags & ~(DMT_REMOVE_RETRY | DMT_REMOVE_DEFERRED)))
		return -EINVAL;
	dmt = task_new(ctx, DM_DEVICE_REMOVE, name);
	if (!dmt)
		return -ENOMEM;
	if (flags & DMT_REMOVE_RETRY)
		dm_task_retry_remove(dmt);
	if (flags & DMT_REMOVE_DEFERRED)
		dm_task_deferred_remove(dmt);
	r = task_run_udev(ctx, dmt, "remove", name);
	task_free(dmt);
	return r;
}

static int hex_key_in(const char *msg)
{
	/* A run of 32+ hex digits looks like key material: refuse it. */
	size_t run = 0;

	for (; *msg; msg++) {
		char c = *msg;

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')) {
			if (++run >= 32)
				return 1;
		} else {
			run = 0;
		}
	}
	return 0;
}

int dmt_dev_message(struct dmt_ctx *ctx, const char *name, const char *msg,
		    char *reply, size_t reply_size)
{
	struct dm_task *dmt;
	const char *resp;
	int r;

	if (!ctx || !valid_name(name) || !msg || !*msg)
		return -EINVAL;
	if (reply && reply_size)
		reply[0] = '\0';
	if (hex_key_in(msg)) {
		dmt_err(ctx, "message to %s refused: it looks like a hex key; use a keyring reference",
			name);
		return -EINVAL;
	}
	dmt = task_new(ctx, DM_DEVICE_TARGET_MSG, name);
	if (!dmt)
		return -ENOMEM;
	r = -ENOMEM;
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg))
		goto out;
	r = task_run(dmt);
	if (r) {
		dmt_err(ctx, "device-mapper: message '%s' to %s failed: %s",
			msg, name, strerror(-r));
		goto out;
	}
	resp = dm_task_get_message_response(dmt);
	if (reply && reply_size && resp)
		snprintf(reply, reply_size, "%s", resp);
out:
	task_free(dmt);
	return r;
}

/* STATUS or TABLE of a single-target tenant device. */
static int get_params(struct dmt_ctx *ctx, int type, const char *name,
		      char *buf, size_t size, char **dup)
{
	struct dm_task *dmt;
	uint64_t start, length;
	char *ttype = NULL, *params = NULL;
	void *next;
	int r;

	dmt = task_new(ctx, type, name);
	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	if (r) {
		if (r == -ENXIO)
			r = -ENODEV;
		dmt_err(ctx, "device-mapper: %s of %s failed: %s",
			type == DM_DEVICE_STATUS ? "status" : "table", name,
			strerror(-r));
		goto out;
	}
	next = dm_get_next_target(dmt, NULL, &start, &length, &ttype, &params);
	if (!ttype || strcmp(ttype, DM_TENANT_TARGET_NAME) || next) {
		dmt_err(ctx, "%s is not a single tenant target", name);
		r = -EMEDIUMTYPE;
		goto out;
	}
	if (dup) {
		*dup = strdup(params ? params : "");
		if (!*dup)
			r = -ENOMEM;
	} else if (buf && size) {
		if (snprintf(buf, size, "%s", params ? params : "") >= (int)size)
			r = -ERANGE;
	}
out:
	task_free(dmt);
	return r;
}

int dmt_dev_table(struct dmt_ctx *ctx, const char *name, char *buf,
		  size_t size)
{
	if (!ctx || !valid_name(name) || !buf || !size)
		return -EINVAL;
	return get_params(ctx, DM_DEVICE_TABLE, name, buf, size, NULL);
}

int dmt_dev_status(struct dmt_ctx *ctx, const char *name,
		   struct dmt_status **st)
{
	char *line = NULL;
	int r;

	if (!st)
		return -EINVAL;
	*st = NULL;
	if (!ctx || !valid_name(name))
		return -EINVAL;
	r = get_params(ctx, DM_DEVICE_STATUS, name, NULL, 0, &line);
	if (r)
		return r;
	r = dmt_status_parse(line, st);
	if (r)
		dmt_err(ctx, "status of %s does not parse", name);
	free(line);
	return r;
}

int dmt_dev_list(struct dmt_ctx *ctx, dmt_dev_list_fn fn, void *arg)
{
	struct dm_task *dmt;
	struct dm_names *names;
	unsigned int next = 0;
	char (*list)[DMT_DM_NAME_MAX] = NULL, (*nl)[DMT_DM_NAME_MAX];
	size_t n = 0, i;
	int r;

	if (!ctx || !fn)
		return -EINVAL;
	dmt = task_new(ctx, DM_DEVICE_LIST, NULL);
	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	if (r) {
		dmt_err(ctx, "device-mapper: list failed: %s", strerror(-r));
		goto out;
	}
	names = dm_task_get_names(dmt);
	if (!names || !names->dev)
		goto out;
	/* Names copied out: @fn runs without the library lock. */
	do {
		names = (struct dm_names *)((char *)names + next);
		nl = realloc(list, (n + 1) * sizeof(*list));
		if (!nl) {
			r = -ENOMEM;
			goto out;
		}
		list = nl;
		snprintf(list[n++], sizeof(*list), "%s", names->name);
		next = names->next;
	} while (next);
out:
	task_free(dmt);
	for (i = 0; !r && i < n; i++) {
		struct dmt_dev_info info;

		if (dmt_dev_info(ctx, list[i], &info) == 0 &&
		    info.volume_uuid[0])
			r = fn(&info, arg);
	}
	free(list);
	return r;
}

int dmt_kernel_target_version(struct dmt_ctx *ctx, unsigned int *major,
			      unsigned int *minor, unsigned int *patch)
{
	struct dm_task *dmt;
	struct dm_versions *v, *last;
	int r;

	if (!ctx || !major || !minor || !patch)
		return -EINVAL;
	dmt = task_new(ctx, DM_DEVICE_LIST_VERSIONS, NULL);
	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	if (r)
		goto out;
	r = -ENOENT;
	v = dm_task_get_versions(dmt);
	do {
		if (!strcmp(v->name, DM_TENANT_TARGET_NAME)) {
			*major = v->version[0];
			*minor = v->version[1];
			*patch = v->version[2];
			r = 0;
			break;
		}
		last = v;
		v = (struct dm_versions *)((char *)v + v->next);
	} while (last != v);
out:
	task_free(dmt);
	return r;
}

/*
 * Replace @name's table by an error target of the same length and resume
 * (the tenant table, and the key it holds, are destroyed), for a forced
 * detach of an open device.
 */
int dmt_dev_load_error(struct dmt_ctx *ctx, const char *name, uint64_t length)
{
	struct dm_task *dmt;
	int r;

	dmt = task_new(ctx, DM_DEVICE_RELOAD, name);
	if (!dmt)
		return -ENOMEM;
	r = -ENOMEM;
	if (!dm_task_add_target(dmt, 0, length, "error", ""))
		goto out;
	r = task_run(dmt);
	if (!r)
		r = dmt_dev_resume(ctx, name);
out:
	task_free(dmt);
	return r;
}

/* Length of @name's live table (sum of targets). */
int dmt_dev_length(struct dmt_ctx *ctx, const char *name, uint64_t *length)
{
	struct dm_task *dmt;
	uint64_t start, len;
	char *ttype, *params;
	void *next = NULL;
	int r;

	*length = 0;
	dmt = task_new(ctx, DM_DEVICE_TABLE, name);
	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	if (!r) {
		do {
			next = dm_get_next_target(dmt, next, &start, &len,
						  &ttype, &params);
			if (ttype && start + len > *length)
				*length = start + len;
		} while (next);
	}
	task_free(dmt);
	return r;
}

/* The node of @name: /dev/mapper/<name> when it exists, else /dev/dm-N. */
int dmt_dev_path(struct dmt_ctx *ctx, const char *name, char *path,
		 size_t size)
{
	struct dmt_dev_info info;
	struct stat st;
	int r, n;

	r = dmt_dev_info(ctx, name, &info);
	if (r)
		return r;
	n = snprintf(path, size, "%s/%s", dm_dir(), name);
	if (n >= 0 && (size_t)n < size && stat(path, &st) == 0 &&
	    S_ISBLK(st.st_mode) && major(st.st_rdev) == info.major &&
	    minor(st.st_rdev) == info.minor)
		return 0;
	n = snprintf(path, size, "/dev/dm-%u", info.minor);
	return n < 0 || (size_t)n >= size ? -ERANGE : 0;
}
