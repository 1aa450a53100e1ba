// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the certificate binding (userspace/daemon/cert.c): a
 * certificate and its audit record check out; an altered body, an altered
 * record, another record, a wrong action or object, a record without the
 * body hash are each refused.  The body hash survives a JSON round trip
 * through a file (pretty printed), as tenantctl writes it.
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

#include "../../userspace/daemon/auditchain.h"
#include "../../userspace/daemon/cert.h"

static json_object *cert_new(void)
{
	json_object *c = json_object_new_object(), *v = json_object_new_object();

	json_object_object_add(c, "format", json_object_new_int(1));
	json_object_object_add(c, "tenant", json_object_new_string("acme"));
	json_object_object_add(c, "volume", json_object_new_string("v1"));
	json_object_object_add(v, "result", json_object_new_string("pass"));
	json_object_object_add(v, "method", json_object_new_string(
		"full reads / of every leg"));
	json_object_object_add(c, "verification", v);
	return c;
}

/* Seal a record for @c as tenantd does, then bind @c to it. */
static void bind(json_object *c, struct td_audit_rec *r, const char *action)
{
	char hex[TD_HASH_HEX], detail[160];
	json_object *a = json_object_new_object();

	memset(r, 0, sizeof(*r));
	td_cert_body_hash(c, hex);
	r->seq = 7;
	snprintf(r->time, sizeof(r->time), "2026-11-28T10:00:00.000000Z");
	td_audit_set(r->role, sizeof(r->role), "daemon");
	td_audit_set(r->action, sizeof(r->action), action);
	td_audit_set(r->object, sizeof(r->object), "acme/v1");
	td_audit_set(r->result, sizeof(r->result), "ok");
	snprintf(detail, sizeof(detail), "job 1 zero verify full pass cert-sha256 %s",
		 hex);
	td_audit_set(r->detail, sizeof(r->detail), detail);
	assert_int_equal(td_audit_seal(r, TD_AUDIT_GENESIS), 0);
	json_object_object_add(a, "seq", json_object_new_int64(r->seq));
	json_object_object_add(a, "hash", json_object_new_string(r->hash));
	json_object_object_add(a, "certificate_sha256",
			       json_object_new_string(hex));
	json_object_object_add(c, "audit", a);
}

static void test_valid(void **state)
{
	json_object *c = cert_new();
	struct td_audit_rec r;
	char msg[512];

	(void)state;
	bind(c, &r, "wipe.certificate");
	assert_int_equal(td_cert_check(c, &r, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "certificate valid"));
	assert_int_equal(td_cert_audit_seq(c), 7);
	json_object_put(c);
}

static void test_roundtrip_file(void **state)
{
	char path[] = "/tmp/test_cert_XXXXXX", msg[512];
	json_object *c = cert_new(), *back;
	struct td_audit_rec r;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	bind(c, &r, "wipe.certificate");
	assert_int_equal(json_object_to_file_ext(path, c,
			 JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), 0);
	back = json_object_from_file(path);
	unlink(path);
	assert_non_null(back);
	assert_int_equal(td_cert_check(back, &r, msg, sizeof(msg)), 0);
	json_object_put(back);
	json_object_put(c);
}

static void test_tampered_body(void **state)
{
	json_object *c = cert_new(), *v;
	struct td_audit_rec r;
	char msg[512];

	(void)state;
	bind(c, &r, "wipe.certificate");
	json_object_object_get_ex(c, "verification", &v);
	json_object_object_add(v, "result", json_object_new_string("PASS"));
	assert_int_equal(td_cert_check(c, &r, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "altered"));
	json_object_put(c);
}

static void test_tampered_hash_in_cert(void **state)
{
	json_object *c = cert_new(), *a;
	struct td_audit_rec r;
	char msg[512], hex[TD_HASH_HEX];

	(void)state;
	/* the forger recomputes the body hash but cannot fix the record */
	bind(c, &r, "wipe.certificate");
	json_object_object_add(c, "volume", json_object_new_string("v2"));
	td_cert_body_hash(c, hex);
	json_object_object_get_ex(c, "audit", &a);
	json_object_object_add(a, "certificate_sha256",
			       json_object_new_string(hex));
	assert_int_equal(td_cert_check(c, &r, msg, sizeof(msg)), -EBADMSG);
	json_object_put(c);
}

static void test_record_problems(void **state)
{
	json_object *c = cert_new();
	struct td_audit_rec r, x;
	char msg[512];

	(void)state;
	bind(c, &r, "wipe.certificate");
	/* altered record: hash no longer recomputes */
	x = r;
	x.detail[5] ^= 1;
	assert_int_equal(td_cert_check(c, &x, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "altered"));
	/* another record, properly sealed */
	x = r;
	x.seq = 8;
	td_audit_seal(&x, r.hash);
	assert_int_equal(td_cert_check(c, &x, msg, sizeof(msg)), -EBADMSG);
	/* wrong object, resealed */
	x = r;
	td_audit_set(x.object, sizeof(x.object), "acme/v9");
	td_audit_seal(&x, TD_AUDIT_GENESIS);
	assert_int_equal(td_cert_check(c, &x, msg, sizeof(msg)), -EBADMSG);
	json_object_put(c);
	/* wrong action */
	c = cert_new();
	bind(c, &r, "volume.delete");
	assert_int_equal(td_cert_check(c, &r, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "not a wipe.certificate"));
	json_object_put(c);
	/* not a certificate */
	c = json_object_new_object();
	assert_int_equal(td_cert_check(c, &r, msg, sizeof(msg)), -EBADMSG);
	assert_int_equal(td_cert_audit_seq(c), -1);
	json_object_put(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_roundtrip_file),
		cmocka_unit_test(test_tampered_body),
		cmocka_unit_test(test_tampered_hash_in_cert),
		cmocka_unit_test(test_record_problems),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
