// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdmtenant: parser of the tenant target's status line
 * (Documentation/dm-tenant.rst, "Status"):
 *
 *   <tenant> <volume> <key_state> <#legs> [<class> <dev> <leg_state>]...
 *   <reads> <writes> <discards> <read_errors> <write_errors> <crypt_errors>
 *   [<extra>...]
 *
 * New fields are only ever appended by the kernel; they are kept as strings.
 * Unknown leg state letters parse as DMT_LEG_STATE_UNKNOWN.
 */
#include <stdlib.h>
#include <string.h>

#include "dmt-internal.h"

struct dmt_status_leg {
	int cls;
	const char *dev;
	enum dmt_leg_state state;
};

struct dmt_status {
	char *buf;		/* the tokens, NUL-separated */
	const char *tenant;
	const char *volume;
	enum dmt_key_state key_state;
	unsigned int nr_legs;
	struct dmt_status_leg legs[DMT_MAX_LEGS];
	uint64_t counters[DMT_COUNTER_NR];
	unsigned int nr_extra;
	const char **extra;
};

static int parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -EINVAL;
	if (s[0] == '0' && s[1])
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned int)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int dmt_status_parse(const char *line, struct dmt_status **out)
{
	struct dmt_status *st;
	char **tok = NULL, *p, *save = NULL;
	unsigned int ntok = 0, i, t;
	uint64_t nlegs;
	size_t cap;
	int r = -EINVAL;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!line)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->buf = strdup(line);
	cap = strlen(line) / 2 + 2;
	tok = calloc(cap, sizeof(*tok));
	if (!st->buf || !tok) {
		r = -ENOMEM;
		goto fail;
	}
	for (p = strtok_r(st->buf, " \t\n", &save); p;
	     p = strtok_r(NULL, " \t\n", &save))
		tok[ntok++] = p;

	if (ntok < 4)
		goto fail;
	st->tenant = tok[0];
	st->volume = tok[1];
	if (!strcmp(tok[2], "loaded"))
		st->key_state = DMT_KEY_STATE_LOADED;
	else if (!strcmp(tok[2], "wiped"))
		st->key_state = DMT_KEY_STATE_WIPED;
	else
		st->key_state = DMT_KEY_STATE_UNKNOWN;
	if (parse_u64(tok[3], &nlegs) || nlegs < 1 || nlegs > DMT_MAX_LEGS)
		goto fail;
	st->nr_legs = (unsigned int)nlegs;
	t = 4;
	if (ntok < t + 3 * st->nr_legs + DMT_COUNTER_NR)
		goto fail;
	for (i = 0; i < st->nr_legs; i++, t += 3) {
		enum dmt_leg_class cls;
		const char *s = tok[t + 2];

		if (dmt_leg_class_parse(tok[t], &cls))
			goto fail;
		st->legs[i].cls = (int)cls;
		st->legs[i].dev = tok[t + 1];
		if (strlen(s) != 1)
			goto fail;
		switch (s[0]) {
		case 'A': case 'D': case 'a': case 'S':
			st->legs[i].state = (enum dmt_leg_state)s[0];
			break;
		default:
			st->legs[i].state = DMT_LEG_STATE_UNKNOWN;
		}
	}
	for (i = 0; i < DMT_COUNTER_NR; i++, t++)
		if (parse_u64(tok[t], &st->counters[i]))
			goto fail;
	st->nr_extra = ntok - t;
	if (st->nr_extra) {
		st->extra = calloc(st->nr_extra, sizeof(*st->extra));
		if (!st->extra) {
			r = -ENOMEM;
			goto fail;
		}
		for (i = 0; i < st->nr_extra; i++)
			st->extra[i] = tok[t + i];
	}
	free(tok);
	*out = st;
	return 0;
fail:
	free(tok);
	dmt_status_free(st);
	return r;
}

void dmt_status_free(struct dmt_status *st)
{
	if (!st)
		return;
	free(st->extra);
	free(st->buf);
	free(st);
}

const char *dmt_status_tenant(const struct dmt_status *st)
{
	return st ? st->tenant : NULL;
}

const char *dmt_status_volume(const struct dmt_status *st)
{
	return st ? st->volume : NULL;
}

enum dmt_key_state dmt_status_key_state(const struct dmt_status *st)
{
	return st ? st->key_state : DMT_KEY_STATE_UNKNOWN;
}

unsigned int dmt_status_nr_legs(const struct dmt_status *st)
{
	return st ? st->nr_legs : 0;
}

int dmt_status_leg_class(const struct dmt_status *st, unsigned int i)
{
	return st && i < st->nr_legs ? st->legs[i].cls : -1;
}

const char *dmt_status_leg_dev(const struct dmt_status *st, unsigned int i)
{
	return st && i < st->nr_legs ? st->legs[i].dev : NULL;
}

enum dmt_leg_state dmt_status_leg_state(const struct dmt_status *st,
					unsigned int i)
{
	return st && i < st->nr_legs ? st->legs[i].state :
				       DMT_LEG_STATE_UNKNOWN;
}

uint64_t dmt_status_counter(const struct dmt_status *st, enum dmt_counter c)
{
	return st && (unsigned int)c < DMT_COUNTER_NR ? st->counters[c] : 0;
}

unsigned int dmt_status_nr_extra(const struct dmt_status *st)
{
	return st ? st->nr_extra : 0;
}

const char *dmt_status_extra(const struct dmt_status *st, unsigned int i)
{
	return st && i < st->nr_extra ? st->extra[i] : NULL;
}
