// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the tenantd protocol parser (userspace/daemon/proto.c):
 * malformed JSON, oversized and truncated requests, wrong types, unknown
 * verbs and arguments, the volume.create cross-argument rules, replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../userspace/daemon/proto.h"

static enum td_err parse(const char *s, char *msg)
{
	struct td_request req;
	enum td_err e = td_parse_request(s, strlen(s), &req, msg, 256);

	td_request_free(&req);
	return e;
}

static void expect_err(const char *req, enum td_err want, const char *sub)
{
	char msg[256] = "";
	enum td_err e = parse(req, msg);

	if (e != want || (sub && !strstr(msg, sub)))
		fail_msg("request %s: got %s '%s', want %s containing '%s'",
			 req, td_err_name(e), msg, td_err_name(want),
			 sub ? sub : "");
}

static void test_valid(void **state)
{
	struct td_request req;
	char msg[256];
	const char *s = "{\"v\":1,\"id\":42,\"verb\":\"volume.status\","
			"\"args\":{\"tenant\":\"acme\",\"volume\":\"vol.1_x-2\"}}";

	(void)state;
	assert_int_equal(td_parse_request(s, strlen(s), &req, msg, sizeof(msg)),
			 TD_OK);
	assert_int_equal(req.verb, TD_V_VOLUME_STATUS);
	assert_string_equal(td_arg_str(&req, "tenant"), "acme");
	assert_string_equal(td_arg_str(&req, "volume"), "vol.1_x-2");
	assert_int_equal(json_object_get_int(req.id), 42);
	td_request_free(&req);

	/* args may be omitted when nothing is required; CR LF is fine */
	s = "{\"verb\":\"tenant.list\"}\r";
	assert_int_equal(td_parse_request(s, strlen(s), &req, msg, sizeof(msg)),
			 TD_OK);
	assert_non_null(req.args);
	td_request_free(&req);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_err("", TD_E_BAD_REQUEST, "empty");
	expect_err("   ", TD_E_BAD_REQUEST, "empty");
	expect_err("garbage", TD_E_BAD_REQUEST, "malformed");
	expect_err("{\"verb\":\"tenant.list\",}", TD_E_BAD_REQUEST, NULL);
	expect_err("{'verb':'tenant.list'}", TD_E_BAD_REQUEST, NULL);
	expect_err("[\"tenant.list\"]", TD_E_BAD_REQUEST, "object");
	expect_err("\"tenant.list\"", TD_E_BAD_REQUEST, "object");
	expect_err("42", TD_E_BAD_REQUEST, "object");
	expect_err("{\"verb\":\"tenant.list\"}{\"verb\":\"tenant.list\"}",
		   TD_E_BAD_REQUEST, NULL);
	expect_err("{\"verb\":\"tenant.list\"} x", TD_E_BAD_REQUEST, NULL);
	expect_err("{\"verb\":\"tenant.list\",\"verb2\":1}", TD_E_BAD_REQUEST,
		   "unknown request field");
	expect_err("{\"args\":{}}", TD_E_BAD_REQUEST, "no 'verb'");
	expect_err("{\"v\":2,\"verb\":\"tenant.list\"}", TD_E_BAD_REQUEST,
		   "version");
	expect_err("{\"id\":[1],\"verb\":\"tenant.list\"}", TD_E_BAD_REQUEST,
		   "'id'");
	/* deeply nested input stops at the depth limit */
	expect_err("{\"verb\":\"tenant.list\",\"args\":{\"a\":[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]}}",
		   TD_E_BAD_REQUEST, NULL);
	/* invalid UTF-8 */
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"\xff\xfe\"}}",
		   TD_E_BAD_REQUEST, NULL);
}

static void test_truncated(void **state)
{
	const char *full = "{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"acme\"}}";
	size_t n;

	(void)state;
	/* every strict prefix is refused; none is "ok" */
	for (n = 1; n < strlen(full); n++) {
		char buf[128], msg[256];
		struct td_request req;
		enum td_err e;

		memcpy(buf, full, n);
		buf[n] = '\0';
		e = td_parse_request(buf, n, &req, msg, sizeof(msg));
		td_request_free(&req);
		if (e != TD_E_BAD_REQUEST)
			fail_msg("prefix of %zu bytes: %s", n, td_err_name(e));
	}
	expect_err("{\"verb\":\"tenant.create\"", TD_E_BAD_REQUEST, "truncated");
}

static void test_nul_and_size(void **state)
{
	char msg[256], *big;
	struct td_request req;
	const char s[] = "{\"verb\":\"tenant.list\"}\0x";

	(void)state;
	assert_int_equal(td_parse_request(s, sizeof(s) - 1, &req, msg,
					  sizeof(msg)), TD_E_BAD_REQUEST);
	assert_non_null(strstr(msg, "NUL"));
	td_request_free(&req);

	big = malloc(TD_MAX_REQUEST + 2);
	assert_non_null(big);
	memset(big, ' ', TD_MAX_REQUEST + 1);
	memcpy(big, "{\"verb\":\"tenant.list\"}", 22);
	assert_int_equal(td_parse_request(big, TD_MAX_REQUEST + 1, &req, msg,
					  sizeof(msg)), TD_E_TOO_LARGE);
	td_request_free(&req);
	/* exactly the limit is accepted (trailing blanks are trimmed) */
	assert_int_equal(td_parse_request(big, TD_MAX_REQUEST, &req, msg,
					  sizeof(msg)), TD_OK);
	td_request_free(&req);
	free(big);
}

static void test_unknown_verb(void **state)
{
	struct td_request req;
	char msg[256];
	const char *s = "{\"id\":\"x1\",\"verb\":\"format.disk\\n\"}";

	(void)state;
	assert_int_equal(td_parse_request(s, strlen(s), &req, msg, sizeof(msg)),
			 TD_E_UNKNOWN_VERB);
	/* the id is kept for the reply, the verb made printable */
	assert_string_equal(json_object_get_string(req.id), "x1");
	assert_string_equal(req.verb_text, "format.disk?");
	td_request_free(&req);
	expect_err("{\"verb\":5}", TD_E_BAD_REQUEST, "string");
	expect_err("{\"verb\":\"Tenant.List\"}", TD_E_UNKNOWN_VERB, NULL);
}

static void test_args(void **state)
{
	(void)state;
	expect_err("{\"verb\":\"tenant.create\"}", TD_E_INVALID_ARGUMENT,
		   "missing argument 'tenant'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":[]}", TD_E_BAD_REQUEST,
		   "'args'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":5}}",
		   TD_E_INVALID_ARGUMENT, "'tenant'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":null}}",
		   TD_E_INVALID_ARGUMENT, "'tenant'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"a/b\"}}",
		   TD_E_INVALID_ARGUMENT, "'tenant'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"a:b\"}}",
		   TD_E_INVALID_ARGUMENT, "'tenant'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"-ab\"}}",
		   TD_E_INVALID_ARGUMENT, "'tenant'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"abcdefghijklmnopqrstuvwx\"}}",
		   TD_E_INVALID_ARGUMENT, "'tenant'");
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"abcdefghijklmnopqrstuvw\"}}",
		   TD_OK, NULL);
	expect_err("{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"a\",\"x\":1}}",
		   TD_E_INVALID_ARGUMENT, "unknown argument 'x'");
	expect_err("{\"verb\":\"tenant.delete\",\"args\":{\"tenant\":\"a\",\"force\":\"yes\"}}",
		   TD_E_INVALID_ARGUMENT, "'force'");
	expect_err("{\"verb\":\"leg.fail\",\"args\":{\"tenant\":\"a\",\"volume\":\"v\",\"leg\":-1}}",
		   TD_E_INVALID_ARGUMENT, "'leg'");
	expect_err("{\"verb\":\"leg.fail\",\"args\":{\"tenant\":\"a\",\"volume\":\"v\",\"leg\":1.5}}",
		   TD_E_INVALID_ARGUMENT, "'leg'");
	expect_err("{\"verb\":\"volume.attach\",\"args\":{\"tenant\":\"a\",\"volume\":\"v\",\"vm\":\"vm 1\"}}",
		   TD_E_INVALID_ARGUMENT, "'vm'");
	expect_err("{\"verb\":\"audit.export\",\"args\":{\"after\":\"1\"}}",
		   TD_E_INVALID_ARGUMENT, "'after'");
}

static void test_volume_create(void **state)
{
#define VC "{\"verb\":\"volume.create\",\"args\":{\"tenant\":\"a\",\"volume\":\"v\","
	(void)state;
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"/dev/vda\"}]}}",
		   TD_OK, NULL);
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"/dev/vda\",\"offset\":0},"
		   "{\"class\":\"zone\",\"device\":\"/dev/vdb\"}],\"size\":4096,\"vm\":\"vm1\"}}",
		   TD_OK, NULL);
	expect_err(VC "\"preset\":\"zrs\",\"devices\":[\"/dev/a\",\"/dev/b\",\"/dev/c\"]}}",
		   TD_OK, NULL);
	expect_err(VC "\"preset\":\"grs\",\"devices\":[\"/dev/a\",\"/dev/b\",\"/dev/c\"]}}",
		   TD_E_INVALID_ARGUMENT, "exactly 6");
	expect_err(VC "\"preset\":\"xrs\",\"devices\":[\"/dev/a\"]}}",
		   TD_E_INVALID_ARGUMENT, "lrs, zrs or grs");
	expect_err(VC "\"preset\":\"lrs\"}}", TD_E_INVALID_ARGUMENT, "together");
	expect_err(VC "\"size\":4096}}", TD_E_INVALID_ARGUMENT, "either");
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"/dev/vda\"}],"
		   "\"preset\":\"lrs\",\"devices\":[\"/a\",\"/b\",\"/c\"]}}",
		   TD_E_INVALID_ARGUMENT, "either");
	expect_err(VC "\"legs\":[]}}", TD_E_INVALID_ARGUMENT, "1 to 8");
	expect_err(VC "\"legs\":[{\"class\":\"near\",\"device\":\"/dev/vda\"}]}}",
		   TD_E_INVALID_ARGUMENT, "class");
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"vda\"}]}}",
		   TD_E_INVALID_ARGUMENT, "absolute");
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"/dev/../etc/x\"}]}}",
		   TD_E_INVALID_ARGUMENT, "absolute");
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"/dev/v da\"}]}}",
		   TD_E_INVALID_ARGUMENT, "absolute");
	expect_err(VC "\"legs\":[{\"class\":\"local\"}]}}",
		   TD_E_INVALID_ARGUMENT, "needs class and device");
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"/dev/vda\",\"key\":\"00\"}]}}",
		   TD_E_INVALID_ARGUMENT, "unknown field");
	expect_err(VC "\"legs\":[\"local:/dev/vda\"]}}",
		   TD_E_INVALID_ARGUMENT, "object");
	expect_err(VC "\"legs\":[{\"class\":\"local\",\"device\":\"/dev/vda\",\"offset\":-8}]}}",
		   TD_E_INVALID_ARGUMENT, "offset");
#undef VC
}

static void test_every_verb_known(void **state)
{
	int v;

	(void)state;
	for (v = 0; v < TD_V__COUNT; v++) {
		const struct td_verb_info *vi = td_verb_info(v);

		assert_non_null(vi);
		assert_int_equal(vi->verb, v);
		assert_ptr_equal(td_verb_by_name(vi->name), vi);
	}
	assert_null(td_verb_info(TD_V__COUNT));
	assert_null(td_verb_by_name(NULL));
}

static void test_errors_and_replies(void **state)
{
	json_object *id = json_object_new_string("r1"), *r, *e, *f;
	char *line;
	size_t len;
	int i;

	(void)state;
	for (i = 0; i < TD_E__COUNT; i++)
		assert_int_equal(td_err_from_name(td_err_name(i)), i);
	assert_int_equal(td_err_exit_code(TD_OK), 0);
	assert_int_equal(td_err_exit_code(TD_E_INVALID_ARGUMENT), 2);
	assert_int_equal(td_err_exit_code(TD_E_DENIED), 3);
	assert_int_equal(td_err_exit_code(TD_E_NOT_FOUND), 4);
	assert_int_equal(td_err_exit_code(TD_E_CONFLICT), 5);
	assert_int_equal(td_err_exit_code(TD_E_UNSUPPORTED), 6);
	assert_int_equal(td_err_from_name("no-such-code"), TD_E_INTERNAL);

	r = td_reply_err(id, TD_E_DENIED, "no", "ask");
	line = td_reply_line(r, &len);
	assert_string_equal(line,
		"{\"id\":\"r1\",\"ok\":false,\"error\":{\"code\":\"denied\",\"message\":\"no\",\"hint\":\"ask\"}}\n");
	assert_int_equal(len, strlen(line));
	assert_true(json_object_object_get_ex(r, "error", &e));
	assert_true(json_object_object_get_ex(e, "code", &f));
	free(line);
	json_object_put(r);

	r = td_reply_ok(NULL, NULL);
	line = td_reply_line(r, NULL);
	assert_string_equal(line, "{\"ok\":true,\"result\":{}}\n");
	free(line);
	json_object_put(r);
	json_object_put(id);

	line = td_request_line("tenant.list", NULL, &len);
	assert_string_equal(line, "{\"v\":1,\"verb\":\"tenant.list\",\"args\":{}}\n");
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_unknown_verb),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_volume_create),
		cmocka_unit_test(test_every_verb_known),
		cmocka_unit_test(test_errors_and_replies),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
