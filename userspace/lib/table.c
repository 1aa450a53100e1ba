// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: table builder.  Tables are built into the kernel parser's
 * own spec structure, printed with tenant_format_table() and parsed back
 * with tenant_parse_table() (the code the kernel runs), so a table this
 * library loads is one the kernel's grammar accepts.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt-internal.h"
#include "tenant-table.h"

int dmt_key_description(const char *tenant, const char *volume,
			char *buf, size_t size)
{
	int n;

	if (dmt_id_valid(tenant) || dmt_id_valid(volume) || !buf)
		return -EINVAL;
	n = snprintf(buf, size, DM_TENANT_KEY_PREFIX "%s:%s", tenant, volume);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return 0;
}

/* Split a copy of @line into argv; returns argc or -errno. */
static int split_args(char *line, char **argv, unsigned int max)
{
	unsigned int argc = 0;
	char *p, *save = NULL;

	for (p = strtok_r(line, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		if (argc == max)
			return -E2BIG;
		argv[argc++] = p;
	}
	return (int)argc;
}

int dmt_table_format(struct dmt_ctx *ctx, const struct dmt_table *t,
		     char *buf, size_t size)
{
	struct tenant_table_spec spec, check;
	char keyref[80], *copy = NULL, *argv[64];
	const char *error = NULL;
	unsigned int i;
	int n, argc, r;

	if (!t || (!buf && size))
		return -EINVAL;
	if (dmt_id_valid(t->tenant) || dmt_id_valid(t->volume)) {
		dmt_err(ctx, "table: invalid tenant or volume id");
		return -EINVAL;
	}
	if (!t->length) {
		dmt_err(ctx, "table %s/%s: length 0", t->tenant, t->volume);
		return -EINVAL;
	}
	if (!t->legs || t->nr_legs < 1 || t->nr_legs > DMT_MAX_LEGS) {
		dmt_err(ctx, "table %s/%s: %u legs (1..%d)", t->tenant,
			t->volume, t->nr_legs, DMT_MAX_LEGS);
		return -EINVAL;
	}
	if (t->flags & ~DMT_TABLE_ALLOW_DISCARDS)
		return -EINVAL;
	if (t->sector_size && t->sector_size != 512 && t->sector_size != 4096) {
		dmt_err(ctx, "table %s/%s: sector size %u (512 or 4096)",
			t->tenant, t->volume, t->sector_size);
		return -EINVAL;
	}

	n = snprintf(keyref, sizeof(keyref), ":%u:" DM_TENANT_KEY_TYPE ":"
		     DM_TENANT_KEY_PREFIX "%s:%s",
		     t->key_size ? t->key_size : DMT_DEK_SIZE, t->tenant,
		     t->volume);
	if (n < 0 || (size_t)n >= sizeof(keyref))
		return -EINVAL;

	memset(&spec, 0, sizeof(spec));
	spec.tenant = t->tenant;
	spec.volume = t->volume;
	spec.cipher = DM_TENANT_CIPHER;
	spec.key_string = keyref;
	r = tenant_parse_key_ref(keyref, &spec.key, &error);
	if (r) {
		dmt_err(ctx, "table %s/%s: %s", t->tenant, t->volume, error);
		return r;
	}
	spec.iv_offset = t->iv_offset;
	spec.nr_legs = t->nr_legs;
	for (i = 0; i < t->nr_legs; i++) {
		const struct dmt_leg *leg = &t->legs[i];

		if (!dmt_leg_class_name(leg->cls) || !leg->path || !*leg->path ||
		    strpbrk(leg->path, " \t\n")) {
			dmt_err(ctx, "table %s/%s: leg %u: bad class or path",
				t->tenant, t->volume, i);
			return -EINVAL;
		}
		spec.legs[i].cls = (enum tenant_leg_class)leg->cls;
		spec.legs[i].path = leg->path;
		spec.legs[i].offset = leg->offset;
	}
	spec.sector_size = t->sector_size ? t->sector_size : 512;
	spec.allow_discards = !!(t->flags & DMT_TABLE_ALLOW_DISCARDS);
	spec.meta_sectors = t->meta_sectors;

	n = tenant_format_table(&spec, NULL, NULL, 0);
	if (n < 0)
		return -EINVAL;
	copy = malloc((size_t)n + 1);
	if (!copy)
		return -ENOMEM;
	tenant_format_table(&spec, NULL, copy, (size_t)n + 1);

	/* Validate with the kernel's parser. */
	{
		char *dup = strdup(copy);

		if (!dup) {
			free(copy);
			return -ENOMEM;
		}
		argc = split_args(dup, argv, DMT_ARRAY_SIZE(argv));
		r = argc < 0 ? argc :
		    tenant_parse_table((unsigned int)argc, argv, &check, &error);
		if (r) {
			dmt_err(ctx, "table %s/%s refused by the table parser: %s",
				t->tenant, t->volume,
				error ? error : "too many arguments");
			free(dup);
			free(copy);
			return r < 0 ? r : -EINVAL;
		}
		free(dup);
	}
	if (buf && size) {
		size_t len = (size_t)n < size - 1 ? (size_t)n : size - 1;

		memcpy(buf, copy, len);
		buf[len] = '\0';
	}
	free(copy);
	return n;
}
