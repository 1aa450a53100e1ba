// SPDX-License-Identifier: GPL-2.0
/*
 * tenant-table: validate a dm-tenant table line with the very parser the
 * kernel target uses (kernel/tenant-table.c) and print its canonical form.
 *
 *   tenant-table check <table args...>
 *   tenant-table check -		(one table line from stdin)
 *   tenant-table --help
 *
 * Exit status: 0 valid, 2 invalid table, 1 usage or I/O error.
 * Errors never echo arguments: a mistyped key argument may be key bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "tenant-table.h"

#define PROG		"tenant-table"
#define MAX_ARGS	256
#define MAX_LINE	(64 * 1024)

#define EXIT_INVALID	2
#define EXIT_USAGE	1

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " check <table args...>\n"
		"       " PROG " check -\n"
		"       " PROG " --help\n"
		"\n"
		"Validate a dm-tenant table (the arguments after <start> <length> "
		DM_TENANT_TARGET_NAME ")\n"
		"and print its canonical form on stdout.  With '-', read one "
		"table line from stdin.\n"
		"\n"
		"Table: <tenant_id> <volume_id> " DM_TENANT_CIPHER
		" :<32|64>:" DM_TENANT_KEY_TYPE ":" DM_TENANT_KEY_PREFIX
		"<tenant_id>:<volume_id>\n"
		"       <iv_offset> <#legs> <local|zone|remote> <dev> <offset>...\n"
		"       [<#opt_args> [allow_discards] [sector_size:<512|4096>]]\n"
		"\n"
		"Exit status: 0 valid, 2 invalid table, 1 usage error.\n");
}

static int check(unsigned int argc, char **argv)
{
	struct tenant_table_spec spec;
	const char *error = NULL;
	char *out;
	int len, r;

	r = tenant_parse_table(argc, argv, &spec, &error);
	if (r) {
		fprintf(stderr, PROG ": %s\n", error ? error : "invalid table");
		return EXIT_INVALID;
	}
	len = tenant_format_table(&spec, NULL, NULL, 0);
	out = malloc((size_t)len + 1);
	if (!out) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_USAGE;
	}
	tenant_format_table(&spec, NULL, out, (size_t)len + 1);
	printf("%s\n", out);
	free(out);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": write error\n");
		return EXIT_USAGE;
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Read one line; -1 at EOF, -2 on error, -3 if too long or has a NUL. */
static ssize_t read_line(char **line, size_t *cap)
{
	ssize_t n;

	errno = 0;
	n = getline(line, cap, stdin);
	if (n < 0)
		return errno ? -2 : -1;
	if (n > MAX_LINE || memchr(*line, '\0', (size_t)n))
		return -3;
	return n;
}

static int check_stdin(void)
{
	char *argv[MAX_ARGS];
	unsigned int argc = 0;
	char *line = NULL, *extra = NULL, *p;
	size_t cap = 0, xcap = 0;
	ssize_t n;
	int ret = EXIT_INVALID;

	n = read_line(&line, &cap);
	if (n == -1) {
		fprintf(stderr, PROG ": no table line on stdin\n");
		goto out;
	}
	if (n == -2) {
		fprintf(stderr, PROG ": read error\n");
		ret = EXIT_USAGE;
		goto out;
	}
	if (n == -3) {
		fprintf(stderr, PROG ": table line too long or contains NUL\n");
		goto out;
	}
	/* Further lines may only be blank: one table per invocation. */
	while ((n = read_line(&extra, &xcap)) != -1) {
		ssize_t i;

		if (n < 0) {
			fprintf(stderr, PROG ": read error\n");
			goto out;
		}
		for (i = 0; i < n; i++)
			if (!is_blank(extra[i])) {
				fprintf(stderr,
					PROG ": more than one table line on stdin\n");
				goto out;
			}
	}

	for (p = line; *p;) {
		while (is_blank(*p))
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == MAX_ARGS) {
			fprintf(stderr, PROG ": too many arguments\n");
			goto out;
		}
		argv[argc++] = p;
		while (*p && !is_blank(*p))
			p++;
	}
	ret = check(argc, argv);
out:
	free(extra);
	free(line);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") ||
			  !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "check")) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (argc == 3 && !strcmp(argv[2], "-"))
		return check_stdin();
	return check((unsigned int)(argc - 2), argv + 2);
}
