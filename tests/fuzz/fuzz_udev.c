// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for dmt-udev, the helper 69-dm-tenant.rules runs
 * (userspace/udev/dmt-udev.c, its main() renamed dmt_udev_main by
 * tests/fuzz/fuzz.mk).  What it reads from outside: its arguments (device
 * and DM names from udev), TENANTD_SOCKET and DMT_UDEV_WAIT, the owner file
 * tenantd wrote, the dm-tenant token of a leg's LUKS2 header, and
 * tenantd's reply.  The input gives all of them, NUL-separated:
 *
 *   owner-file \0 reply \0 token \0 DMT_UDEV_WAIT \0 TENANTD_SOCKET \0 argv[1] \0 ...
 *
 * (an empty environment word leaves the variable unset).  udev imports the
 * helper's output as properties and puts some into OWNER=, GROUP= and
 * symlink names: every line printed must be DMT_<NAME>=<value> with a
 * value of [A-Za-z0-9._:+-] only.
 */
#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include <dmtenant.h>
#include "dmt-internal.h"
#include "../../userspace/cli/tenantctl.h"

#include "fuzz_common.h"
#include "fuzz_output.h"

int dmt_udev_main(int argc, char **argv);

#define OWNER_DIR "/run/dm-tenant/owner/"

static const char *owner_file, *reply_text, *token_text;

/* The leg's header: its token, as the real reader would parse it. */
int __wrap_dmt_leg_read_info(struct dmt_ctx *ctx, const char *path,
			     struct dmt_leg_info *info);
int __wrap_dmt_leg_read_info(struct dmt_ctx *ctx, const char *path,
			     struct dmt_leg_info *info)
{
	(void)ctx;
	CHECK(path && path[0] == '/');
	memset(info, 0, sizeof(*info));
	return dmt_token_parse(token_text, info) ? -EMEDIUMTYPE : 0;
}

/* The owner file tenantd published; any other file is really opened. */
FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode)
{
	if (strncmp(path, OWNER_DIR, strlen(OWNER_DIR)))
		return __real_fopen(path, mode);
	CHECK(!strchr(path + strlen(OWNER_DIR), '/'));
	if (!*owner_file) {
		errno = ENOENT;
		return NULL;
	}
	return fmemopen((void *)owner_file, strlen(owner_file), mode);
}

void __wrap_openlog(const char *ident, int option, int facility);
void __wrap_openlog(const char *ident, int option, int facility)
{
	(void)ident; (void)option; (void)facility;
}

void __wrap_syslog(int prio, const char *fmt, ...);
void __wrap_syslog(int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	(void)prio;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

/* tenantd (transport.c is not linked): the reply from the input. */
int tc_call(const char *verb, json_object *args, json_object **reply)
{
	CHECK(!strcmp(verb, "leg.seen") || !strcmp(verb, "leg.gone"));
	json_object_put(args);
	if (!*reply_text)
		return -ECONNREFUSED;
	*reply = json_tokener_parse(reply_text);
	return *reply ? 0 : -EBADMSG;
}

static int value_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("._:+-", c);
}

static void check_properties(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	CHECK(strlen(text) == len);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *q;

		CHECK(nl);	/* every line ends */
		CHECK(!strncmp(p, "DMT_", 4));
		for (q = p + 4; q < nl && *q != '='; q++)
			CHECK((*q >= 'A' && *q <= 'Z') || *q == '_');
		CHECK(q < nl);
		for (q++; q < nl; q++)
			CHECK(value_char(*q));
		p = nl + 1;
	}
}

#define MAX_WORDS 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *w[MAX_WORDS], *argv[MAX_WORDS];
	struct fuzz_output o;
	int n, argc = 1, i, ex;

	n = fuzz_words(data, size, &buf, w, MAX_WORDS);
	if (n < 5) {
		free(buf);
		return 0;
	}
	owner_file = w[0];
	reply_text = w[1];
	token_text = w[2];
	if (*w[3])
		setenv("DMT_UDEV_WAIT", w[3], 1);
	else
		unsetenv("DMT_UDEV_WAIT");
	if (*w[4])
		setenv("TENANTD_SOCKET", w[4], 1);
	else
		unsetenv("TENANTD_SOCKET");
	argv[0] = "dmt-udev";
	for (i = 5; i < n; i++)
		argv[argc++] = w[i];
	argv[argc] = NULL;

	fuzz_output_begin(&o);
	ex = dmt_udev_main(argc, argv);
	fuzz_output_end(&o);
	CHECK(ex == 0 || ex == 2);
	check_properties(o.text, o.len);
	free(o.text);
	free(buf);
	return 0;
}
