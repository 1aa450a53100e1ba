/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-neutral parsers for the dm-tenant table line and keyring key
 * references.  This file and tenant-table.c compile both in the kernel
 * (part of dm-tenant.ko) and in userspace (cmocka unit tests, the libFuzzer
 * target, tools), so they use only: fixed-width integers, bool, strlen,
 * strcmp, strncmp, memcmp, memset, snprintf and the E* error numbers.
 * No allocation: results point into the caller's argv strings.
 */
#ifndef DM_TENANT_TABLE_H
#define DM_TENANT_TABLE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/kernel.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#endif

#include <linux/dm-tenant.h>

enum tenant_leg_class {
	TENANT_LEG_LOCAL = 0,	/* same facility, synchronous */
	TENANT_LEG_ZONE = 1,	/* other failure domain, synchronous */
	TENANT_LEG_REMOTE = 2,	/* other region, asynchronous */
};

/* A parsed ":<size>:<type>:<description>" keyring reference. */
struct tenant_key_ref {
	unsigned int key_size;		/* bytes */
	const char *type;		/* points into the input, not terminated */
	size_t type_len;
	const char *desc;		/* points into the input, NUL-terminated */
};

struct tenant_leg_spec {
	enum tenant_leg_class cls;
	const char *path;		/* device path or major:minor */
	unsigned long long offset;		/* start on the device, 512-byte sectors */
};

struct tenant_table_spec {
	const char *tenant;
	const char *volume;
	const char *cipher;		/* always DM_TENANT_CIPHER once parsed */
	const char *key_string;		/* the whole key reference argument */
	struct tenant_key_ref key;
	unsigned long long iv_offset;		/* 512-byte sectors, as dm-crypt */
	unsigned int nr_legs;
	struct tenant_leg_spec legs[DM_TENANT_MAX_LEGS];
	/* optional arguments */
	unsigned int sector_size;	/* 512 (default) or 4096 */
	bool allow_discards;
	unsigned int meta_sectors;	/* metadata area before each leg's data */
	unsigned int region_size;	/* 512B sectors; 0: the default */
	unsigned int min_sync;		/* write quorum; 0: all healthy legs */
	bool nosync;			/* legs known identical at creation */
	unsigned long long remote_budget; /* bytes in flight to remote legs; 0: default */
	bool remote_sync;		/* remote legs written synchronously */
};

/* remote_budget bounds, bytes. */
#define TENANT_REMOTE_BUDGET_MIN	65536ULL
#define TENANT_REMOTE_BUDGET_MAX	1099511627776ULL	/* 2^40 */

/* Default region size of the write-intent bitmap: 512 KiB. */
#define TENANT_DEFAULT_REGION_SIZE	1024

/* 0 if @id is a valid tenant or volume id, else -EINVAL. */
int tenant_valid_id(const char *id);

/*
 * Parse a key reference.  Only ":<size>:logon:<description>" with a
 * decimal size without sign or blanks is accepted.  On error returns
 * -EINVAL and sets *error to a constant message naming the problem
 * (never echoing the argument, which might be a hex key).
 */
int tenant_parse_key_ref(const char *s, struct tenant_key_ref *ref,
			 const char **error);

/*
 * 0 if @ref names exactly "dm-tenant:<tenant>:<volume>", else -EACCES with
 * *error saying the key belongs to another tenant or volume.
 */
int tenant_check_key_binding(const struct tenant_key_ref *ref,
			     const char *tenant, const char *volume,
			     const char **error);

/*
 * Parse a whole table line (the target's argv, without start/length/name).
 * Validates ids, cipher, key reference (syntax, size, logon type and the
 * binding to tenant/volume), leg count, classes, offsets and optional
 * arguments.  Does not open devices or look up keys.  On error returns
 * -EINVAL (or -EACCES for a key bound to another tenant/volume) with
 * *error set to a constant message; *spec is then unspecified.
 */
int tenant_parse_table(unsigned int argc, char **argv,
		       struct tenant_table_spec *spec, const char **error);

/* "local", "zone", "remote"; NULL for an invalid class. */
const char *tenant_leg_class_name(enum tenant_leg_class cls);

/*
 * Print @spec in table form (the inverse of tenant_parse_table) into @buf;
 * returns the length the full output needs, excluding the NUL, like
 * snprintf.  @leg_names, if not NULL, replaces each leg's path (the kernel
 * prints major:minor).  Key bytes are never part of a spec.
 */
int tenant_format_table(const struct tenant_table_spec *spec,
			const char *const *leg_names, char *buf, size_t size);

#endif /* DM_TENANT_TABLE_H */
