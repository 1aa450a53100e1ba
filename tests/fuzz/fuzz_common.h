/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): a check that
 * aborts (libFuzzer then keeps the input), the input as a C string, and
 * the input cut into NUL-separated words (argv-like).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "check failed: %s (%s:%d)\n",	\
				#cond, __FILE__, __LINE__);		\
			abort();					\
		}							\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a malloc'd C string (it ends at the first NUL, if any). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Cut a malloc'd copy of @data at NULs into at most @max words; *buf is the
 * copy (free it).  Every word, even the last, is NUL-terminated.
 */
static inline int fuzz_words(const uint8_t *data, size_t size, char **buf,
			     char **words, int max)
{
	char *p;
	int n = 0;

	*buf = fuzz_cstr(data, size);
	for (p = *buf; n < max && p <= *buf + size; p += strlen(p) + 1)
		words[n++] = p;
	return n;
}

#endif /* FUZZ_COMMON_H */
