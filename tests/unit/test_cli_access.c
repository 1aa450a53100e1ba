// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tenantctl's access verbs (userspace/cli/tc-access.c)
 * without a daemon: tc_call() here records the request and returns a
 * canned reply.  Requests built from command lines, usage errors (nothing
 * sent), exit codes of refusals, duration parsing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../userspace/cli/tenantctl.h"
#include "../../userspace/daemon/proto.h"

static char last_verb[64];
static char last_args[1024];
static const char *canned;
static int calls;
static const char *canned_first;
static char first_args[1024];

int tc_call(const char *verb, json_object *args, json_object **reply)
{
	calls++;
	snprintf(last_verb, sizeof(last_verb), "%s", verb);
	snprintf(last_args, sizeof(last_args), "%s",
		 args ? json_object_to_json_string_ext(args,
						JSON_C_TO_STRING_PLAIN |
						JSON_C_TO_STRING_NOSLASHESCAPE) :
		 "{}");
	json_object_put(args);
	/* a first reply asking for a code, then the canned one */
	if (calls == 1 && canned_first) {
		snprintf(first_args, sizeof(first_args), "%s", last_args);
		*reply = json_tokener_parse(canned_first);
	} else {
		*reply = json_tokener_parse(canned);
	}
	return *reply ? 0 : -EBADMSG;
}

int tc_raw(int in_fd)
{
	(void)in_fd;
	return 1;
}

static int tc(const char *first, ...)
{
	char *argv[32];
	int argc = 0, r;
	va_list ap;
	const char *a;

	argv[argc++] = (char *)"tenantctl";
	va_start(ap, first);
	for (a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	last_verb[0] = last_args[0] = '\0';
	calls = 0;
	fflush(stdout);
	r = tc_main(argc, argv);
	fflush(stdout);
	return r;
}

#define GRANT "{\"ok\":true,\"result\":{\"id\":3,\"tenant\":\"acme\"," \
	"\"volume\":\"vol1\",\"state\":\"active\",\"requester\":1002," \
	"\"reason\":\"r\",\"mode\":\"ro\",\"mode_requested\":\"rw\"," \
	"\"duration\":60,\"approver\":1003,\"device\":\"/dev/dm-3\"," \
	"\"expires\":\"2026-11-28T19:00:00Z\",\"remaining\":42}}"

static int setup(void **state)
{
	(void)state;
	/* keep the test output TAP-clean (printers write plain lines) */
	if (!freopen("/dev/null", "w", stderr))
		return -1;
	return 0;
}

static void test_requests(void **state)
{
	(void)state;
	canned = GRANT;
	assert_int_equal(tc("access", "request", "--tenant", "acme",
			    "--volume", "vol1", "--reason", "ticket 42",
			    "--duration", "15m", "--mode", "rw", NULL), 0);
	assert_string_equal(last_verb, "access.request");
	assert_string_equal(last_args,
		"{\"tenant\":\"acme\",\"volume\":\"vol1\",\"reason\":\"ticket 42\",\"duration\":900,\"mode\":\"rw\"}");
	assert_int_equal(tc("access", "request", "--duration", "30",
			    "--reason", "x", "--volume", "v", "--tenant", "t",
			    NULL), 0);
	assert_string_equal(last_args,
		"{\"tenant\":\"t\",\"volume\":\"v\",\"reason\":\"x\",\"duration\":30}");
	assert_int_equal(tc("access", "approve", "3", "--mode", "ro", "--note",
			    "ro is enough", NULL), 0);
	assert_string_equal(last_verb, "access.approve");
	assert_string_equal(last_args,
		"{\"id\":3,\"mode\":\"ro\",\"note\":\"ro is enough\"}");
	assert_int_equal(tc("access", "deny", "4", "--note", "no", NULL), 0);
	assert_string_equal(last_verb, "access.deny");
	assert_string_equal(last_args, "{\"id\":4,\"note\":\"no\"}");
	assert_int_equal(tc("access", "open", "3", NULL), 0);
	assert_string_equal(last_verb, "access.open");
	assert_string_equal(last_args, "{\"id\":3}");
	assert_int_equal(tc("access", "open", "3", "--mode", "rw", NULL), 0);
	assert_string_equal(last_args, "{\"id\":3,\"mode\":\"rw\"}");
	assert_int_equal(tc("access", "close", "3", NULL), 0);
	assert_string_equal(last_verb, "access.close");
	assert_int_equal(tc("access", "revoke", "3", "--note", "done", NULL), 0);
	assert_string_equal(last_verb, "access.revoke");
	assert_string_equal(last_args, "{\"id\":3,\"note\":\"done\"}");
	canned = "{\"ok\":true,\"result\":{\"grants\":[]}}";
	assert_int_equal(tc("access", "list", "--tenant", "acme", "--all",
			    NULL), 0);
	assert_string_equal(last_verb, "access.list");
	assert_string_equal(last_args, "{\"tenant\":\"acme\",\"all\":true}");
}

static void test_usage(void **state)
{
	(void)state;
	canned = GRANT;
	/* each is a usage error (2) and sends nothing */
	assert_int_equal(tc("access", "request", "--tenant", "acme", NULL), 2);
	assert_int_equal(calls, 0);
	assert_int_equal(tc("access", "request", "--tenant", "a", "--volume",
			    "v", "--reason", "r", "--duration", "0", NULL), 2);
	assert_int_equal(tc("access", "request", "--tenant", "a", "--volume",
			    "v", "--reason", "r", "--duration", "5x", NULL), 2);
	assert_int_equal(tc("access", "request", "--tenant", "a", "--volume",
			    "v", "--reason", "r", "--duration", "5",
			    "--mode", "wo", NULL), 2);
	assert_int_equal(tc("access", "request", "--tenant", NULL), 2);
	assert_int_equal(tc("access", "approve", NULL), 2);
	assert_int_equal(tc("access", "approve", "x3", NULL), 2);
	assert_int_equal(tc("access", "approve", "3", "4", NULL), 2);
	assert_int_equal(tc("access", "open", "3", "--note", "n", NULL), 2);
	assert_int_equal(tc("access", "close", "3", "--mode", "ro", NULL), 2);
	assert_int_equal(tc("access", "list", "extra", NULL), 2);
	assert_int_equal(calls, 0);
}

static void test_refusals(void **state)
{
	(void)state;
	canned = "{\"ok\":false,\"error\":{\"code\":\"denied\",\"message\":\"m\"}}";
	assert_int_equal(tc("access", "approve", "3", NULL), 3);
	canned = "{\"ok\":false,\"error\":{\"code\":\"conflict\",\"message\":\"m\",\"hint\":\"h\"}}";
	assert_int_equal(tc("access", "open", "3", NULL), 5);
	canned = "{\"ok\":false,\"error\":{\"code\":\"not-found\",\"message\":\"m\"}}";
	assert_int_equal(tc("access", "revoke", "9", NULL), 4);
	canned = "{\"nonsense\":1}";
	assert_int_equal(tc("access", "list", NULL), 1);
}

static void test_duration(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(tc_parse_duration("90", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(tc_parse_duration("90s", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(tc_parse_duration("15m", &v), 0);
	assert_int_equal(v, 900);
	assert_int_equal(tc_parse_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(tc_parse_duration("1d", &v), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(tc_parse_duration("0", &v), -EINVAL);
	assert_int_equal(tc_parse_duration("-5", &v), -EINVAL);
	assert_int_equal(tc_parse_duration("5ms", &v), -EINVAL);
	assert_int_equal(tc_parse_duration("", &v), -EINVAL);
	assert_int_equal(tc_parse_duration(NULL, &v), -EINVAL);
	assert_int_equal(tc_parse_duration("99999999999999999999", &v),
			 -EINVAL);
	assert_int_equal(tc_parse_duration("2000000h", &v), -EINVAL);
}

#define CODE_REQUIRED "{\"ok\":false,\"error\":{\"code\":\"code-required\"," \
	"\"message\":\"access.approve needs a one-time code\"}}"

/* stdin of the test: @text, or empty */
static void stdin_is(const char *text)
{
	char path[] = "/tmp/tc-code-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_non_null(freopen(path, "r", stdin));
	unlink(path);
}

/* Second factor: the code goes in when tenantd asks, from stdin or --code. */
static void test_code(void **state)
{
	(void)state;
	canned = GRANT;
	canned_first = CODE_REQUIRED;
	/* asked for: one line of stdin, resent */
	stdin_is(" 123456 \n");
	assert_int_equal(tc("access", "approve", "3", NULL), 0);
	assert_int_equal(calls, 2);
	assert_null(strstr(first_args, "code"));
	assert_string_equal(last_args, "{\"id\":3,\"code\":\"123456\"}");
	/* nothing on stdin: refused like a denial, no second request */
	stdin_is("");
	assert_int_equal(tc("access", "open", "3", NULL), 3);
	assert_int_equal(calls, 1);
	/* deny and open too */
	stdin_is("654321\n");
	assert_int_equal(tc("access", "deny", "3", "--note", "no", NULL), 0);
	assert_string_equal(last_args, "{\"id\":3,\"note\":\"no\",\"code\":\"654321\"}");
	/* --code: sent with the first request, the verb never sees it */
	canned_first = NULL;
	assert_int_equal(tc("access", "open", "3", "--code", "11223344", NULL), 0);
	assert_int_equal(calls, 1);
	assert_string_equal(last_args, "{\"id\":3,\"code\":\"11223344\"}");
	tc_opt_code = NULL;
	/* --code -: read from stdin before sending */
	stdin_is("778899\n");
	assert_int_equal(tc("access", "approve", "3", "--code", "-", NULL), 0);
	assert_string_equal(last_args, "{\"id\":3,\"code\":\"778899\"}");
	tc_opt_code = NULL;
	assert_int_equal(tc("access", "approve", "3", "--code", NULL), 2);
	assert_int_equal(calls, 0);
	/* tenant delete (mfa-required may list it) goes through the same */
	canned_first = CODE_REQUIRED;
	stdin_is("246810\n");
	tc("tenant", "delete", "acme", NULL);
	assert_int_equal(calls, 2);
	assert_string_equal(last_verb, "tenant.delete");
	assert_non_null(strstr(last_args, "\"code\":\"246810\""));
	canned_first = NULL;
	/* mfa verbs */
	assert_int_equal(tc("mfa", "reset", "1003", NULL), 0);
	assert_string_equal(last_verb, "mfa.reset");
	assert_string_equal(last_args, "{\"uid\":1003}");
	assert_int_equal(tc("mfa", "reset", "x", NULL), 2);
	assert_int_equal(tc("mfa", "enroll", "--digits", "7", NULL), 2);
	assert_int_equal(calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_code),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
