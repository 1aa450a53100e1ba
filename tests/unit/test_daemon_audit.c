// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the audit hash chain (userspace/daemon/auditchain.c) and
 * its storage (store.c): known-answer hash, edit / delete / insert /
 * reorder / truncation detected, export form round trip.
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
#include <openssl/evp.h>

#include "../../userspace/daemon/auditchain.h"
#include "../../userspace/daemon/store.h"

#define N 8

static void make(struct td_audit_rec *r, int64_t seq, const char *action)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	snprintf(r->time, sizeof(r->time), "2026-11-28T10:00:%02d.000000Z",
		 (int)seq);
	r->uid = 1000 + seq;
	r->pid = 42;
	td_audit_set(r->role, sizeof(r->role), "operator");
	td_audit_set(r->action, sizeof(r->action), action);
	td_audit_set(r->object, sizeof(r->object), "acme/vol1");
	td_audit_set(r->result, sizeof(r->result), seq % 2 ? "ok" : "denied");
	td_audit_set(r->detail, sizeof(r->detail), "");
}

/* A sealed chain of N records in @r. */
static void chain(struct td_audit_rec *r)
{
	const char *prev = TD_AUDIT_GENESIS;
	int i;

	for (i = 0; i < N; i++) {
		make(&r[i], i + 1, "volume.attach");
		assert_int_equal(td_audit_seal(&r[i], prev), 0);
		prev = r[i].hash;
	}
}

/* Verify @n records in order; returns the index that failed, or -1. */
static int verify(const struct td_audit_rec *r, int n,
		  struct td_audit_verifier *v)
{
	int i;

	td_audit_verify_init(v);
	for (i = 0; i < n; i++)
		if (td_audit_verify_step(v, &r[i]))
			return i;
	return -1;
}

static void test_canonical_and_kat(void **state)
{
	struct td_audit_rec r;
	unsigned char md[32], buf[512];
	unsigned int len, i;
	char *canon, hex[65];

	(void)state;
	make(&r, 1, "tenant.create");
	canon = td_audit_canonical(&r);
	assert_string_equal(canon,
		"{\"seq\":1,\"time\":\"2026-11-28T10:00:01.000000Z\",\"uid\":1001,"
		"\"pid\":42,\"role\":\"operator\",\"action\":\"tenant.create\","
		"\"object\":\"acme/vol1\",\"result\":\"ok\",\"detail\":\"\"}");
	/* hash = SHA-256(32 zero bytes || canonical JSON), independently */
	memset(buf, 0, 32);
	memcpy(buf + 32, canon, strlen(canon));
	assert_int_equal(EVP_Digest(buf, 32 + strlen(canon), md, &len,
				    EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	assert_int_equal(td_audit_seal(&r, TD_AUDIT_GENESIS), 0);
	assert_string_equal(r.hash, hex);
	assert_string_equal(r.prev, TD_AUDIT_GENESIS);
	free(canon);

	/* non-printable bytes never reach a record */
	td_audit_set(r.detail, sizeof(r.detail), "a\nb\x01\xff");
	assert_string_equal(r.detail, "a?b??");
	assert_int_equal(td_audit_seal(&r, "nothex"), -EINVAL);
}

static void test_valid_chain(void **state)
{
	struct td_audit_rec r[N];
	struct td_audit_verifier v;

	(void)state;
	chain(r);
	assert_int_equal(verify(r, N, &v), -1);
	assert_int_equal(v.count, N);
	assert_string_equal(v.head, r[N - 1].hash);
	assert_int_equal(td_audit_verify_anchor(&v, N, r[N - 1].hash), 0);
}

static void test_edit(void **state)
{
	struct td_audit_rec r[N];
	struct td_audit_verifier v;
	int field;

	(void)state;
	for (field = 0; field < 9; field++) {
		chain(r);
		switch (field) {
		case 0: r[3].uid = 0; break;
		case 1: r[3].pid++; break;
		case 2: r[3].time[5] = '9'; break;
		case 3: strcpy(r[3].role, "support"); break;
		case 4: strcpy(r[3].action, "volume.detach"); break;
		case 5: strcpy(r[3].object, "acme/vol2"); break;
		case 6: strcpy(r[3].result, "ok"); break;
		case 7: strcpy(r[3].detail, "x"); break;
		case 8: r[3].hash[0] ^= 1; break;
		}
		if (verify(r, N, &v) != (field == 8 ? 3 : 3))
			fail_msg("edit of field %d not detected at record 4",
				 field);
		assert_true(v.failed);
	}
	/* an edit followed by a recomputed hash breaks the next link */
	chain(r);
	strcpy(r[3].result, "ok");
	assert_int_equal(td_audit_seal(&r[3], r[2].hash), 0);
	assert_int_equal(verify(r, N, &v), 4);
	assert_non_null(strstr(v.err, "prev_hash"));
}

static void test_delete_insert_reorder(void **state)
{
	struct td_audit_rec r[N], t[N + 1], x;
	struct td_audit_verifier v;
	int i;

	(void)state;
	/* delete record 3 (index 2) */
	chain(r);
	for (i = 0, memset(t, 0, sizeof(t)); i < N; i++)
		if (i != 2)
			t[i < 2 ? i : i - 1] = r[i];
	assert_int_equal(verify(t, N - 1, &v), 2);
	assert_non_null(strstr(v.err, "deleted"));

	/* delete the first record */
	assert_int_equal(verify(r + 1, N - 1, &v), 0);

	/* insert a well-formed record after record 4 */
	chain(r);
	make(&x, 5, "tenant.delete");
	assert_int_equal(td_audit_seal(&x, r[3].hash), 0);
	for (i = 0; i < 4; i++)
		t[i] = r[i];
	t[4] = x;
	for (i = 4; i < N; i++)
		t[i + 1] = r[i];
	assert_int_equal(verify(t, N + 1, &v), 5);

	/* swap records 5 and 6 */
	chain(r);
	x = r[4];
	r[4] = r[5];
	r[5] = x;
	assert_int_equal(verify(r, N, &v), 4);
	assert_non_null(strstr(v.err, "reordered"));

	/* swap, and renumber seq to hide it: the links still break */
	chain(r);
	x = r[4];
	r[4] = r[5];
	r[5] = x;
	r[4].seq = 5;
	r[5].seq = 6;
	assert_int_equal(verify(r, N, &v), 4);
}

static void test_truncation(void **state)
{
	struct td_audit_rec r[N];
	struct td_audit_verifier v;

	(void)state;
	chain(r);
	/* the chain alone cannot tell that its tail is gone... */
	assert_int_equal(verify(r, N - 2, &v), -1);
	/* ...the anchor (count and head kept elsewhere) can */
	assert_int_equal(td_audit_verify_anchor(&v, N, r[N - 1].hash),
			 -EBADMSG);
	assert_non_null(strstr(v.err, "end"));
	/* sticky failure */
	assert_int_equal(td_audit_verify_step(&v, &r[N - 2]), -EBADMSG);
}

/*
 * A partial export may start anywhere, even at the last seq there is: the
 * record after it is refused with a message, not an arithmetic overflow.
 */
static void test_seq_at_int64_max(void **state)
{
	struct td_audit_rec r[2];
	struct td_audit_verifier v;

	(void)state;
	make(&r[0], 1, "volume.attach");
	r[0].seq = INT64_MAX;
	assert_int_equal(td_audit_seal(&r[0], TD_AUDIT_GENESIS), 0);
	make(&r[1], 2, "volume.detach");
	r[1].seq = INT64_MAX;
	assert_int_equal(td_audit_seal(&r[1], r[0].hash), 0);
	td_audit_verify_init(&v);
	v.last_seq = INT64_MAX - 1;	/* as tenantctl does for a partial export */
	assert_int_equal(td_audit_verify_step(&v, &r[0]), 0);
	assert_int_equal(td_audit_verify_step(&v, &r[1]), -EBADMSG);
	assert_non_null(strstr(v.err, "9223372036854775807"));
}

static void test_json_roundtrip(void **state)
{
	struct td_audit_rec r[N], back;
	struct td_audit_verifier v;
	json_object *o;
	char err[128];
	int i;

	(void)state;
	chain(r);
	td_audit_verify_init(&v);
	for (i = 0; i < N; i++) {
		char *s;

		o = td_audit_to_json(&r[i]);
		s = strdup(json_object_to_json_string_ext(o,
						JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		o = json_tokener_parse(s);
		free(s);
		assert_int_equal(td_audit_from_json(o, &back, err, sizeof(err)),
				 0);
		json_object_put(o);
		assert_int_equal(td_audit_verify_step(&v, &back), 0);
	}
	o = json_tokener_parse("{\"seq\":\"1\"}");
	assert_int_equal(td_audit_from_json(o, &back, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "seq"));
	json_object_put(o);
	o = json_tokener_parse("[]");
	assert_int_equal(td_audit_from_json(o, &back, err, sizeof(err)),
			 -EINVAL);
	json_object_put(o);
}

/* --- the chain in SQLite ------------------------------------------------ */

static int collect(const struct td_audit_rec *r, void *arg)
{
	struct td_audit_verifier *v = arg;

	td_audit_verify_step(v, r);
	return 0;
}

static void test_store_chain(void **state)
{
	char path[] = "/tmp/td-audit-XXXXXX", db[64], err[256], head[65],
	     fhead[65];
	struct td_store *st;
	struct td_audit_verifier v;
	struct td_audit_rec r;
	int64_t seq, fseq;
	int i;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(db, sizeof(db), "%s/t.db", path);
	assert_int_equal(td_store_open(db, &st, err, sizeof(err)), 0);
	for (i = 0; i < 5; i++) {
		make(&r, 0, "tenant.list");
		assert_int_equal(td_audit_append(st, &r), 0);
		assert_int_equal(r.seq, i + 1);
	}
	td_audit_verify_init(&v);
	assert_int_equal(td_audit_foreach(st, 0, 0, collect, &v), 0);
	assert_false(v.failed);
	assert_int_equal(v.count, 5);
	assert_int_equal(td_audit_head(st, &seq, head), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(td_audit_verify_anchor(&v, seq, head), 0);
	assert_int_equal(td_audit_head_file(st, &fseq, fhead), 0);
	assert_int_equal(fseq, 5);
	assert_string_equal(fhead, head);

	/* page through */
	td_audit_verify_init(&v);
	assert_int_equal(td_audit_foreach(st, 0, 2, collect, &v), 0);
	assert_int_equal(v.count, 2);
	assert_int_equal(td_audit_foreach(st, 2, 0, collect, &v), 0);
	assert_int_equal(v.count, 5);

	/* tamper with the database behind the store's back */
	assert_int_equal(sqlite3_exec(td_store_db(st),
		"UPDATE audit SET result = 'ok' WHERE seq = 2", NULL, NULL,
		NULL), SQLITE_OK);
	td_audit_verify_init(&v);
	td_audit_foreach(st, 0, 0, collect, &v);
	assert_true(v.failed);
	assert_non_null(strstr(v.err, "record 2"));

	td_store_close(st);
	unlink(db);
	snprintf(err, sizeof(err), "%s-wal", db);
	unlink(err);
	snprintf(err, sizeof(err), "%s-shm", db);
	unlink(err);
	snprintf(err, sizeof(err), "%s.audit-head", db);
	unlink(err);
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_and_kat),
		cmocka_unit_test(test_valid_chain),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_delete_insert_reorder),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_seq_at_int64_max),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_store_chain),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
