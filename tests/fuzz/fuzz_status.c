// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for libdmtenant's parser of the tenant target's status
 * line (userspace/lib/status.c), which tenantd's monitor and status verbs
 * read from the kernel.  A line that parses must give sane accessors and
 * reparse, printed back from them, to the same values; a line that does
 * not must leave nothing behind.
 */
#include <errno.h>
#include <inttypes.h>

#include <dmtenant.h>

#include "fuzz_common.h"

#define LEGS_MAX 16	/* more than DMT_MAX_LEGS: out-of-range reads */

static char *reprint(const struct dmt_status *st)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	unsigned int i;

	CHECK(s);
#define ADD(...) do {							\
		int n = snprintf(s + len, cap - len, __VA_ARGS__);	\
									\
		CHECK(n >= 0);						\
		while (len + (size_t)n >= cap) {			\
			cap *= 2;					\
			s = realloc(s, cap);				\
			CHECK(s);					\
			n = snprintf(s + len, cap - len, __VA_ARGS__);	\
		}							\
		len += (size_t)n;					\
	} while (0)
	ADD("%s %s %s %u", dmt_status_tenant(st), dmt_status_volume(st),
	    dmt_status_key_state(st) == DMT_KEY_STATE_LOADED ? "loaded" :
	    dmt_status_key_state(st) == DMT_KEY_STATE_WIPED ? "wiped" : "?",
	    dmt_status_nr_legs(st));
	for (i = 0; i < dmt_status_nr_legs(st); i++) {
		int c = dmt_status_leg_state(st, i);

		ADD(" %s %s %c",
		    dmt_leg_class_name((enum dmt_leg_class)dmt_status_leg_class(st, i)),
		    dmt_status_leg_dev(st, i), c == DMT_LEG_STATE_UNKNOWN ? '?' : c);
	}
	for (i = 0; i < DMT_COUNTER_NR; i++)
		ADD(" %" PRIu64, dmt_status_counter(st, (enum dmt_counter)i));
	for (i = 0; i < dmt_status_nr_extra(st); i++)
		ADD(" %s", dmt_status_extra(st, i));
#undef ADD
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmt_status *st = (struct dmt_status *)1, *again = NULL;
	char *line = fuzz_cstr(data, size), *text;
	unsigned int i, n;
	int r;

	r = dmt_status_parse(line, &st);
	if (r) {
		CHECK(r == -EINVAL);
		CHECK(st == NULL);
		free(line);
		return 0;
	}
	CHECK(st);
	n = dmt_status_nr_legs(st);
	CHECK(n >= 1 && n <= DMT_MAX_LEGS);
	CHECK(dmt_status_tenant(st) && *dmt_status_tenant(st));
	CHECK(dmt_status_volume(st) && *dmt_status_volume(st));
	for (i = 0; i < LEGS_MAX; i++) {
		const char *dev = dmt_status_leg_dev(st, i);

		if (i >= n) {
			CHECK(!dev && dmt_status_leg_class(st, i) == -1);
			continue;
		}
		CHECK(dev && *dev && !strpbrk(dev, " \t\n"));
		CHECK(dmt_leg_class_name((enum dmt_leg_class)
					 dmt_status_leg_class(st, i)));
	}
	CHECK(dmt_status_extra(st, dmt_status_nr_extra(st)) == NULL);
	CHECK(dmt_status_counter(st, DMT_COUNTER_NR) == 0);

	/* What the accessors say is the whole line: it reparses the same. */
	text = reprint(st);
	CHECK(dmt_status_parse(text, &again) == 0);
	CHECK(!strcmp(dmt_status_tenant(again), dmt_status_tenant(st)));
	CHECK(dmt_status_nr_legs(again) == n);
	for (i = 0; i < n; i++)
		CHECK(dmt_status_leg_state(again, i) ==
		      dmt_status_leg_state(st, i));
	for (i = 0; i < DMT_COUNTER_NR; i++)
		CHECK(dmt_status_counter(again, (enum dmt_counter)i) ==
		      dmt_status_counter(st, (enum dmt_counter)i));
	CHECK(dmt_status_nr_extra(again) == dmt_status_nr_extra(st));
	dmt_status_free(again);
	free(text);
	dmt_status_free(st);
	free(line);
	return 0;
}
