/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capture what the code under test prints: stdout goes to a memory stream,
 * stderr to /dev/null (sanitizer reports write to fd 2 directly, so they
 * still reach the log).  glibc lets a program assign stdout and stderr.
 */
#ifndef FUZZ_OUTPUT_H
#define FUZZ_OUTPUT_H

#include "fuzz_common.h"

struct fuzz_output {
	FILE *out, *err;
	char *text;
	size_t len;
};

static inline void fuzz_output_begin(struct fuzz_output *o)
{
	static FILE *devnull;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	CHECK(devnull);
	o->out = stdout;
	o->err = stderr;
	o->text = NULL;
	o->len = 0;
	stdout = open_memstream(&o->text, &o->len);
	CHECK(stdout);
	stderr = devnull;
}

/* Restore the streams; o->text holds the output (free it). */
static inline void fuzz_output_end(struct fuzz_output *o)
{
	fflush(stderr);
	CHECK(fclose(stdout) == 0);
	stdout = o->out;
	stderr = o->err;
}

#endif /* FUZZ_OUTPUT_H */
