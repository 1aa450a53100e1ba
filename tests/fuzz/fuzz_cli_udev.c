// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the udev and hypervisor verbs of tenantctl
 * (userspace/cli/tc-udev.c): "tenantctl attach|detach ...", "leg
 * seen|gone DEVICE" and "volume auto", which the libvirt hook and udev run
 * with names from a VM's definition or a device event, and whose replies
 * come from tenantd.  The input, NUL-separated:
 *
 *   selector \0 reply-1 \0 ... \0 reply-4 \0 arg-1 \0 arg-2 \0 ...
 *
 * selector's first byte picks the verb ('a' attach ... 'e' volume auto), the replies answer tc_call() in
 * turn (an empty one: tenantd unreachable).  The exit code must be one of
 * tenantctl's; a libvirt <disk> element printed must keep every value
 * inside its quotes and elements (no raw ', ", < or > from a value, every
 * & an entity).
 */
#include <errno.h>

#include "../../userspace/cli/tenantctl.h"

#include "fuzz_common.h"
#include "fuzz_output.h"

#define NR_REPLIES 4
#define MAX_WORDS 16

static const char *replies[NR_REPLIES];
static unsigned int next_reply;

int tc_call(const char *verb, json_object *args, json_object **reply)
{
	const char *r = next_reply < NR_REPLIES ? replies[next_reply] : "";

	(void)verb;
	next_reply++;
	json_object_put(args);
	*reply = NULL;
	if (!*r)
		return -ECONNREFUSED;
	*reply = json_tokener_parse(r);
	return *reply ? 0 : -EBADMSG;
}

int tc_raw(int in_fd)
{
	(void)in_fd;
	abort();
}

/* The <disk> element: what sits between quotes or tags has no markup. */
static void check_disk(const char *text)
{
	static const char *const open[] = { "<source dev='", "<target dev='",
					    "<serial>" };
	static const char *const close[] = { "'/>", "' bus=", "</serial>" };
	unsigned int i;

	/* Without --libvirt the device path is printed as it is. */
	if (strncmp(text, "<disk type='block'", 18))
		return;
	for (i = 0; i < 3; i++) {
		const char *a = strstr(text, open[i]), *b, *p;

		CHECK(a);
		a += strlen(open[i]);
		b = strstr(a, close[i]);
		CHECK(b);
		for (p = a; p < b; p++) {
			CHECK(!strchr("'\"<>", *p));
			/* XML reads a raw newline in a value as a blank. */
			if (*p == '&')
				CHECK(!strncmp(p, "&amp;", 5) ||
				      !strncmp(p, "&lt;", 4) ||
				      !strncmp(p, "&gt;", 4) ||
				      !strncmp(p, "&apos;", 6) ||
				      !strncmp(p, "&quot;", 6));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const verbs[][2] = {
		{ "attach", NULL }, { "detach", NULL }, { "leg", "seen" },
		{ "leg", "gone" }, { "volume", "auto" },
	};
	char *buf, *w[MAX_WORDS], *argv[MAX_WORDS + 1];
	const char *const *verb;
	struct fuzz_output o;
	int n, argc = 0, i, ex;

	n = fuzz_words(data, size, &buf, w, MAX_WORDS);
	if (n < 1 + NR_REPLIES) {
		free(buf);
		return 0;
	}
	verb = verbs[(unsigned char)(w[0][0] - 'a') % 5];
	for (i = 0; i < NR_REPLIES; i++)
		replies[i] = w[1 + i];
	next_reply = 0;
	if (!verb[1])
		argv[argc++] = (char *)verb[0];
	for (i = 1 + NR_REPLIES; i < n; i++)
		argv[argc++] = w[i];
	argv[argc] = NULL;

	fuzz_output_begin(&o);
	if (!verb[1]) {
		ex = tc_udev_alias(argc, argv);
	} else {
		const struct tc_verb *v = tc_find_verb(verb[0], verb[1]);

		CHECK(v);
		ex = v->fn(v, argc, argv);
	}
	fuzz_output_end(&o);
	CHECK(ex >= 0 && ex <= 8);
	CHECK(strlen(o.text) == o.len);
	check_disk(o.text);
	free(o.text);
	free(buf);
	return 0;
}
