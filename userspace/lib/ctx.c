// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: context, logging, process hardening, ids.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "dmt-internal.h"
#include "tenant-table.h"

/*
 * libdevmapper is not thread-safe and libcryptsetup keeps an unlocked
 * global use count, so one thread at a time, whatever its context, may
 * have a dm task or a crypt device alive.  Recursive: a function that
 * holds one may call another that takes it.
 */
static pthread_mutex_t lib_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void dmt_lib_lock(void)
{
	pthread_mutex_lock(&lib_lock);
}

void dmt_lib_unlock(void)
{
	pthread_mutex_unlock(&lib_lock);
}

int dmt_ctx_new(struct dmt_ctx **ctx, uint32_t flags)
{
	struct dmt_ctx *c;

	if (!ctx)
		return -EINVAL;
	*ctx = NULL;
	if (flags & ~DMT_CTX_NO_MODULE_LOAD)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->flags = flags;
	c->log_level = LOG_ERR;
	*ctx = c;
	return 0;
}

void dmt_ctx_free(struct dmt_ctx *ctx)
{
	free(ctx);
}

void dmt_ctx_set_log_fn(struct dmt_ctx *ctx, dmt_log_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->log_fn = fn;
	ctx->log_data = userdata;
}

void dmt_ctx_set_log_level(struct dmt_ctx *ctx, int priority)
{
	if (ctx)
		ctx->log_level = priority;
}

const char *dmt_ctx_last_error(const struct dmt_ctx *ctx)
{
	return ctx ? ctx->last_error : "";
}

void dmt_log(struct dmt_ctx *ctx, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';

	if (!ctx) {
		if (prio <= LOG_ERR)
			fprintf(stderr, "libdmtenant: %s\n", msg);
		return;
	}
	if (prio <= LOG_ERR)
		memcpy(ctx->last_error, msg, n + 1);
	if (prio > ctx->log_level)
		return;
	if (ctx->log_fn)
		ctx->log_fn(prio, msg, ctx->log_data);
	else
		fprintf(stderr, "libdmtenant: %s\n", msg);
}

int dmt_process_harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int dmt_id_valid(const char *id)
{
	if (!id)
		return -EINVAL;
	return tenant_valid_id(id);
}

int dmt_uuid_valid(const char *u)
{
	size_t i;

	if (!u || strlen(u) != DMT_UUID_LEN)
		return -EINVAL;
	for (i = 0; i < DMT_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return -EINVAL;
		} else if (!((u[i] >= '0' && u[i] <= '9') ||
			     (u[i] >= 'a' && u[i] <= 'f'))) {
			return -EINVAL;
		}
	}
	return 0;
}

int dmt_uuid_generate(char *buf, size_t size)
{
	unsigned char b[16];
	int r;

	if (!buf || size < DMT_UUID_LEN + 1)
		return -EINVAL;
	r = dmt_random_bytes(b, sizeof(b));
	if (r)
		return r;
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(buf, size,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

const char *dmt_leg_class_name(enum dmt_leg_class cls)
{
	return tenant_leg_class_name((enum tenant_leg_class)cls);
}

int dmt_leg_class_parse(const char *name, enum dmt_leg_class *cls)
{
	static const enum dmt_leg_class all[] = {
		DMT_LEG_LOCAL, DMT_LEG_ZONE, DMT_LEG_REMOTE
	};
	size_t i;

	if (!name || !cls)
		return -EINVAL;
	for (i = 0; i < DMT_ARRAY_SIZE(all); i++) {
		if (!strcmp(name, dmt_leg_class_name(all[i]))) {
			*cls = all[i];
			return 0;
		}
	}
	return -EINVAL;
}
