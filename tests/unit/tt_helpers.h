/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the table unit tests and the libFuzzer target:
 * splitting a line into an argv and comparing two parsed specs.
 */
#ifndef TT_HELPERS_H
#define TT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "tenant-table.h"

#define TT_MAX_ARGS	64

static inline bool tt_is_sep(char c, bool blanks)
{
	if (c == ' ' || c == '\0')
		return true;
	return blanks && (c == '\t' || c == '\n' || c == '\r');
}

/*
 * Split @s in place on spaces and NULs (and, if @blanks, on tab, newline
 * and CR too) up to @len bytes; at most @max arguments, the rest is
 * ignored.  Returns argc.
 */
static inline unsigned int tt_split(char *s, size_t len, char **argv,
				    unsigned int max, bool blanks)
{
	unsigned int argc = 0;
	size_t i = 0;

	while (i < len && argc < max) {
		while (i < len && tt_is_sep(s[i], blanks))
			s[i++] = '\0';
		if (i >= len)
			break;
		argv[argc++] = &s[i];
		while (i < len && !tt_is_sep(s[i], blanks))
			i++;
		if (i < len)
			s[i++] = '\0';
	}
	return argc;
}

static inline bool tt_str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Field-by-field equality of two parsed specs (strings by content). */
static inline bool tt_spec_equal(const struct tenant_table_spec *a,
				 const struct tenant_table_spec *b)
{
	unsigned int i;

	if (!tt_str_eq(a->tenant, b->tenant) ||
	    !tt_str_eq(a->volume, b->volume) ||
	    !tt_str_eq(a->cipher, b->cipher) ||
	    !tt_str_eq(a->key_string, b->key_string) ||
	    a->key.key_size != b->key.key_size ||
	    a->key.type_len != b->key.type_len ||
	    (a->key.type_len &&
	     memcmp(a->key.type, b->key.type, a->key.type_len)) ||
	    !tt_str_eq(a->key.desc, b->key.desc) ||
	    a->iv_offset != b->iv_offset || a->nr_legs != b->nr_legs ||
	    a->sector_size != b->sector_size ||
	    a->allow_discards != b->allow_discards ||
	    a->meta_sectors != b->meta_sectors ||
	    a->region_size != b->region_size ||
	    a->min_sync != b->min_sync || a->nosync != b->nosync)
		return false;
	if (a->nr_legs > DM_TENANT_MAX_LEGS)
		return false;
	for (i = 0; i < a->nr_legs; i++)
		if (a->legs[i].cls != b->legs[i].cls ||
		    !tt_str_eq(a->legs[i].path, b->legs[i].path) ||
		    a->legs[i].offset != b->legs[i].offset)
			return false;
	return true;
}

#endif /* TT_HELPERS_H */
