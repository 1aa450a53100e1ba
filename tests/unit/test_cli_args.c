// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tenantctl (userspace/cli/tenantctl.c) without a daemon:
 * tc_call() is provided here (the real one is in transport.c, not linked),
 * records the request and returns a canned reply.  Checks the verb table,
 * the requests built from command lines, usage errors, exit codes from
 * error codes, size/leg parsing and the offline audit verifier.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../userspace/cli/tenantctl.h"
#include "../../userspace/daemon/auditchain.h"
#include "../../userspace/daemon/proto.h"

static char last_verb[64];
static char last_args[1024];
static const char *canned;	/* reply JSON */
static int calls;

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
	*reply = json_tokener_parse(canned);
	return *reply ? 0 : -EBADMSG;
}

int tc_raw(int in_fd)
{
	(void)in_fd;
	return 1;
}

/* Run tenantctl with a NULL-terminated argument list; stdout discarded. */
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

#define OK "{\"ok\":true,\"result\":{}}"

/* CLI verbs without a protocol verb of their own. */
#define TC_OFFLINE_VERBS	(0 \
	/* -- wipe: wipe cert, cert verify, tenant audit-verify -- */ \
	+ 3)

static int setup(void **state)
{
	(void)state;
	/* keep the test output TAP-clean */
	if (!freopen("/dev/null", "w", stderr))
		return -1;
	return 0;
}

static void test_verb_table(void **state)
{
	const struct tc_verb *v;
	int n = 0;

	(void)state;
	for (v = tc_verbs; v->object; v++, n++) {
		assert_ptr_equal(tc_find_verb(v->object, v->verb), v);
		assert_non_null(v->fn);
		assert_non_null(v->usage);
		assert_non_null(v->summary);
	}
	/* one CLI verb per protocol verb, plus the offline ones */
	assert_int_equal(n, TD_V__COUNT + TC_OFFLINE_VERBS);
	assert_null(tc_find_verb("tenant", "explode"));
	assert_null(tc_find_verb("tenant", NULL));
}

static void test_requests(void **state)
{
	(void)state;
	canned = OK;
	assert_int_equal(tc("tenant", "create", "acme", NULL), 0);
	assert_string_equal(last_verb, "tenant.create");
	assert_string_equal(last_args, "{\"tenant\":\"acme\"}");

	assert_int_equal(tc("tenant", "delete", "acme", "--force", NULL), 0);
	assert_string_equal(last_args, "{\"tenant\":\"acme\",\"force\":true}");

	assert_int_equal(tc("volume", "create", "acme", "vol1", "--leg",
			    "local:/dev/vda", "--leg", "zone:/dev/vdb:2048",
			    "--size", "64M", "--vm", "vm1", NULL), 0);
	assert_string_equal(last_verb, "volume.create");
	assert_string_equal(last_args,
		"{\"tenant\":\"acme\",\"volume\":\"vol1\",\"legs\":["
		"{\"class\":\"local\",\"device\":\"/dev/vda\"},"
		"{\"class\":\"zone\",\"device\":\"/dev/vdb\",\"offset\":2048}],"
		"\"size\":67108864,\"vm\":\"vm1\"}");

	assert_int_equal(tc("volume", "create", "acme", "v2", "--preset", "zrs",
			    "--devices", "/dev/a,/dev/b", "--devices", "/dev/c",
			    NULL), 0);
	assert_string_equal(last_args,
		"{\"tenant\":\"acme\",\"volume\":\"v2\",\"preset\":\"zrs\","
		"\"devices\":[\"/dev/a\",\"/dev/b\",\"/dev/c\"]}");

	assert_int_equal(tc("volume", "attach", "acme", "vol1", "--vm", "vm1",
			    NULL), 0);
	assert_string_equal(last_verb, "volume.attach");
	assert_string_equal(last_args,
		"{\"tenant\":\"acme\",\"volume\":\"vol1\",\"vm\":\"vm1\"}");
	assert_int_equal(tc("volume", "detach", "acme", "vol1", NULL), 0);
	assert_string_equal(last_verb, "volume.detach");
	assert_int_equal(tc("leg", "fail", "acme", "vol1", "1", NULL), 0);
	assert_string_equal(last_args,
		"{\"tenant\":\"acme\",\"volume\":\"vol1\",\"leg\":1}");
	assert_int_equal(tc("--json", "volume", "list", NULL), 0);
	assert_string_equal(last_verb, "volume.list");
	assert_string_equal(last_args, "{}");
	assert_int_equal(tc("tenant", "rotate-kek", "acme", NULL), 0);
	assert_string_equal(last_verb, "tenant.rotate-kek");
}

static void test_usage_errors(void **state)
{
	(void)state;
	canned = OK;
	assert_int_equal(tc(NULL), 2);
	assert_int_equal(tc("frobnicate", NULL), 2);
	assert_int_equal(tc("tenant", NULL), 2);
	assert_int_equal(tc("tenant", "create", NULL), 2);
	assert_int_equal(tc("tenant", "create", "a", "b", NULL), 2);
	assert_int_equal(tc("volume", "create", "acme", "v", NULL), 2);
	assert_int_equal(tc("volume", "create", "acme", "v", "--leg",
			    "fast:/dev/vda", NULL), 2);
	assert_int_equal(tc("volume", "create", "acme", "v", "--leg",
			    "local:vda", NULL), 2);
	assert_int_equal(tc("volume", "create", "acme", "v", "--preset", "lrs",
			    "--devices", "/dev/a", NULL), 2);
	assert_int_equal(tc("volume", "create", "acme", "v", "--preset", "lrs",
			    "--devices", "/a,/b,/c", "--leg", "local:/dev/x",
			    NULL), 2);
	assert_int_equal(tc("volume", "create", "acme", "v", "--leg",
			    "local:/dev/x", "--size", "12Q", NULL), 2);
	assert_int_equal(tc("volume", "assign", "acme", "v", NULL), 2);
	assert_int_equal(tc("leg", "fail", "acme", "v", "x", NULL), 2);
	assert_int_equal(tc("leg", "fail", "acme", "v", "9", NULL), 2);
	assert_int_equal(tc("--bogus", "tenant", "list", NULL), 2);
	assert_int_equal(calls, 0);	/* nothing was sent */
	/* --help anywhere after the verb: usage, exit 0, nothing sent */
	assert_int_equal(tc("volume", "create", "--help", NULL), 0);
	assert_int_equal(calls, 0);
}

static void test_exit_codes(void **state)
{
	static const struct {
		const char *code;
		int exit;
	} map[] = {
		{ "denied", 3 }, { "not-found", 4 }, { "conflict", 5 },
		{ "unsupported", 6 }, { "busy", 7 }, { "invalid-argument", 2 },
		{ "bad-request", 1 }, { "internal", 1 }, { "whatever", 1 },
	};
	char reply[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		snprintf(reply, sizeof(reply),
			 "{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"m\",\"hint\":\"h\"}}",
			 map[i].code);
		canned = reply;
		assert_int_equal(tc("volume", "status", "a", "b", NULL),
				 map[i].exit);
	}
	canned = "{\"nonsense\":1}";
	assert_int_equal(tc("tenant", "list", NULL), 1);
	canned = "{\"ok\":true,\"result\":{\"valid\":false,\"problem\":\"x\"}}";
	assert_int_equal(tc("audit", "verify", NULL), 8);
	assert_int_equal(tc("--json", "audit", "verify", NULL), 8);
	canned = "{\"ok\":true,\"result\":{\"valid\":true,\"records\":3,\"head_hash\":\"ab\"}}";
	assert_int_equal(tc("audit", "verify", NULL), 0);
}

static void test_parse_size_leg(void **state)
{
	uint64_t v;
	json_object *leg;

	(void)state;
	assert_int_equal(tc_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(tc_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(tc_parse_size("2MiB", &v), 0);
	assert_int_equal(v, 2ULL << 20);
	assert_int_equal(tc_parse_size("-1", &v), -EINVAL);
	assert_int_equal(tc_parse_size("", &v), -EINVAL);
	assert_int_equal(tc_parse_size("1X", &v), -EINVAL);
	assert_int_equal(tc_parse_size("99999999999T", &v), -EINVAL);
	assert_int_equal(tc_parse_leg("remote:/dev/nvme0n1", &leg), 0);
	json_object_put(leg);
	assert_int_equal(tc_parse_leg("local", &leg), -EINVAL);
	assert_int_equal(tc_parse_leg("local:/dev/x:-5", &leg), -EINVAL);
	assert_int_equal(tc_parse_leg("local:/dev/x:", &leg), -EINVAL);
}

/* An export of @n sealed records in a memory file. */
static FILE *export_file(int n, int edit, int drop)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len), *in;
	char prev[TD_HASH_HEX] = TD_AUDIT_GENESIS;
	int i;

	for (i = 1; i <= n; i++) {
		struct td_audit_rec r;
		json_object *o;

		memset(&r, 0, sizeof(r));
		r.seq = i;
		strcpy(r.time, "2026-11-28T00:00:00.000000Z");
		r.uid = i;
		strcpy(r.role, "operator");
		strcpy(r.action, "tenant.list");
		strcpy(r.result, "ok");
		td_audit_seal(&r, prev);
		strcpy(prev, r.hash);
		if (i == edit)
			r.uid = 0;
		if (i == drop)
			continue;
		o = td_audit_to_json(&r);
		fprintf(f, "%s\n", json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	fclose(f);
	in = fmemopen(NULL, len + 1, "w+");
	fwrite(buf, 1, len, in);
	rewind(in);
	free(buf);
	return in;
}

static void test_offline_verify(void **state)
{
	char msg[512];
	FILE *f;

	(void)state;
	f = export_file(6, 0, 0);
	assert_int_equal(tc_verify_file(f, NULL, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "6 record(s)"));
	fclose(f);
	f = export_file(6, 3, 0);
	assert_int_equal(tc_verify_file(f, NULL, msg, sizeof(msg)), 8);
	assert_non_null(strstr(msg, "line 3"));
	fclose(f);
	f = export_file(6, 0, 4);
	assert_int_equal(tc_verify_file(f, NULL, msg, sizeof(msg)), 8);
	fclose(f);
	/* a tail cut off: valid alone, caught by the anchor */
	f = export_file(6, 0, 6);
	assert_int_equal(tc_verify_file(f, NULL, msg, sizeof(msg)), 0);
	rewind(f);
	assert_int_equal(tc_verify_file(f, TD_AUDIT_GENESIS, msg, sizeof(msg)),
			 8);
	fclose(f);
	f = fmemopen((void *)"not json\n", 9, "r");
	assert_int_equal(tc_verify_file(f, NULL, msg, sizeof(msg)), 8);
	assert_non_null(strstr(msg, "line 1"));
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verb_table),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_parse_size_leg),
		cmocka_unit_test(test_offline_verify),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, NULL);
}
