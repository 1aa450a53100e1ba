// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tenantd's SQLite store (userspace/daemon/store.c): schema
 * migrations (fresh, stepwise, failing step rolled back, newer database
 * refused, reopen is a no-op), pragmas, and the tenant / volume / leg /
 * attachment / rotation rows.
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

#include "../../userspace/daemon/store.h"
#include "td_fixture.h"

static int setup(void **state)
{
	struct td_fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || td_fixture_dir(fx, "store")) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	int rc = td_fixture_rmdir(*state);

	free(*state);
	return rc;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;

	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int v = -1;

	sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static bool has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *s;
	bool found;

	sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?",
			   -1, &s, NULL);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

static void test_fresh_open(void **state)
{
	struct td_fixture *fx = *state;
	struct td_store *st;
	char err[256];
	sqlite3_stmt *s;
	const char *mode;

	assert_int_equal(td_store_open(fx->db, &st, err, sizeof(err)), 0);
	assert_int_equal(user_version(td_store_db(st)), td_schema_version);
	assert_int_equal(pragma_int(td_store_db(st), "PRAGMA foreign_keys"), 1);
	sqlite3_prepare_v2(td_store_db(st), "PRAGMA journal_mode", -1, &s, NULL);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	mode = (const char *)sqlite3_column_text(s, 0);
	assert_string_equal(mode, "wal");
	sqlite3_finalize(s);
	assert_true(has_table(td_store_db(st), "tenants"));
	assert_true(has_table(td_store_db(st), "legs"));
	assert_true(has_table(td_store_db(st), "audit_head"));
	td_store_close(st);
	/* reopening migrates nothing and keeps the version */
	assert_int_equal(td_store_open(fx->db, &st, err, sizeof(err)), 0);
	assert_int_equal(user_version(td_store_db(st)), td_schema_version);
	td_store_close(st);
}

static void test_stepwise_and_failure(void **state)
{
	struct td_fixture *fx = *state;
	static const char *const steps[] = {
		"CREATE TABLE a (x INTEGER);",
		"ALTER TABLE a ADD COLUMN y TEXT; INSERT INTO a VALUES (1, 'one');",
		"CREATE TABLE b (z INTEGER); INSERT INTO nosuch VALUES (1);",
	};
	sqlite3 *db;
	char err[256];

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	/* version 0 -> 1 */
	assert_int_equal(td_store_migrate(db, steps, 1, err, sizeof(err)), 0);
	assert_int_equal(user_version(db), 1);
	/* 1 -> 2, the earlier step not rerun */
	assert_int_equal(td_store_migrate(db, steps, 2, err, sizeof(err)), 0);
	assert_int_equal(user_version(db), 2);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM a"), 1);
	assert_int_equal(td_store_migrate(db, steps, 2, err, sizeof(err)), 0);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM a"), 1);
	/* a failing step changes nothing: no table b, version stays 2 */
	assert_int_equal(td_store_migrate(db, steps, 3, err, sizeof(err)),
			 -EIO);
	assert_non_null(strstr(err, "schema step 3"));
	assert_int_equal(user_version(db), 2);
	assert_false(has_table(db, "b"));
	/* a database newer than the code is refused */
	assert_int_equal(td_store_migrate(db, steps, 1, err, sizeof(err)),
			 -EPROTO);
	assert_non_null(strstr(err, "newer"));
	sqlite3_close(db);
}

static void test_newer_db_refused_by_open(void **state)
{
	struct td_fixture *fx = *state;
	struct td_store *st;
	sqlite3 *db;
	char err[256], sql[64];

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 td_schema_version + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(td_store_open(fx->db, &st, err, sizeof(err)),
			 -EPROTO);
	assert_null(st);
}

static struct td_tenant tenant(const char *id)
{
	struct td_tenant t;

	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	memset(t.kek, 0xab, 61);
	t.kek_len = 61;
	t.kek_gen = 1;
	strcpy(t.kek_fpr, "0011223344556677");
	return t;
}

static struct td_volume volume(const char *t, const char *id,
			       const char *uuid, const char *dev)
{
	struct td_volume v;

	memset(&v, 0, sizeof(v));
	snprintf(v.tenant, sizeof(v.tenant), "%s", t);
	snprintf(v.id, sizeof(v.id), "%s", id);
	snprintf(v.uuid, sizeof(v.uuid), "%s", uuid);
	v.kek_gen = 1;
	v.nlegs = 2;
	v.legs[0].idx = 0;
	strcpy(v.legs[0].cls, "local");
	snprintf(v.legs[0].device, sizeof(v.legs[0].device), "%s", dev);
	v.legs[1].idx = 1;
	strcpy(v.legs[1].cls, "zone");
	snprintf(v.legs[1].device, sizeof(v.legs[1].device), "%s-z", dev);
	return v;
}

static int count(const struct td_volume *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static void test_rows(void **state)
{
	struct td_fixture *fx = *state;
	struct td_store *st;
	struct td_tenant t = tenant("acme"), g;
	struct td_volume v = volume("acme", "vol1", "u-1", "/dev/vda"), w;
	char err[256];
	uint8_t blob[61];
	int n = 0;

	assert_int_equal(td_store_open(fx->db, &st, err, sizeof(err)), 0);
	assert_int_equal(td_tenant_insert(st, &t), 0);
	assert_int_equal(td_tenant_insert(st, &t), -EEXIST);
	assert_int_equal(td_tenant_get(st, "acme", &g), 0);
	assert_int_equal(g.kek_len, 61);
	assert_memory_equal(g.kek, t.kek, 61);
	assert_false(g.has_next);
	assert_int_equal(td_tenant_get(st, "nope", &g), -ENOENT);

	/* volumes need their tenant (foreign key) */
	w = volume("ghost", "v", "u-9", "/dev/vdz");
	assert_int_not_equal(td_volume_insert(st, &w), 0);
	assert_int_equal(td_volume_insert(st, &v), 0);
	/* a leg device belongs to one volume only */
	w = volume("acme", "vol2", "u-2", "/dev/vda");
	assert_int_equal(td_volume_insert(st, &w), -EEXIST);
	assert_int_equal(td_volume_get(st, "acme", "vol1", &w), 0);
	assert_int_equal(w.nlegs, 2);
	assert_string_equal(w.legs[1].cls, "zone");
	assert_false(w.attached);
	assert_int_equal(td_volume_by_uuid(st, "u-1", &w), 0);

	/* attachments: one live per volume, history kept */
	assert_int_equal(td_attach_add(st, "acme", "vol1", "vm1", "tenant+acme+vol1",
				       "/dev/mapper/tenant+acme+vol1", 1001), 0);
	assert_int_not_equal(td_attach_add(st, "acme", "vol1", "vm1", "x", "y",
					   1001), 0);
	assert_int_equal(td_volume_get(st, "acme", "vol1", &w), 0);
	assert_true(w.attached);
	assert_int_equal(w.hv_uid, 1001);
	assert_string_equal(w.att_vm, "vm1");
	assert_int_equal(td_attach_close(st, "acme", "vol1", "detach"), 0);
	assert_int_equal(td_attach_close(st, "acme", "vol1", "detach"), -ENOENT);
	assert_int_equal(td_volume_get(st, "acme", "vol1", &w), 0);
	assert_false(w.attached);

	/* tenant with volumes cannot go (ON DELETE RESTRICT) */
	assert_int_not_equal(td_tenant_delete(st, "acme"), 0);

	/* rotation: next recorded next to current, then promoted */
	memset(blob, 0xcd, sizeof(blob));
	assert_int_equal(td_tenant_set_next(st, "acme", blob, 61, 2,
					    "8899aabbccddeeff"), 0);
	assert_int_equal(td_tenant_get(st, "acme", &g), 0);
	assert_true(g.has_next);
	assert_int_equal(g.kek_gen, 1);
	assert_int_equal(g.next_gen, 2);
	assert_memory_equal(g.kek, t.kek, 61);
	assert_int_equal(td_volume_set_kek_gen(st, "acme", "vol1", 2), 0);
	assert_int_equal(td_tenant_promote_next(st, "acme"), 0);
	assert_int_equal(td_tenant_get(st, "acme", &g), 0);
	assert_false(g.has_next);
	assert_int_equal(g.kek_gen, 2);
	assert_memory_equal(g.kek, blob, 61);
	assert_string_equal(g.kek_fpr, "8899aabbccddeeff");
	assert_int_equal(td_tenant_promote_next(st, "acme"), -ENOENT);

	assert_int_equal(td_volume_set_vm(st, "acme", "vol1", "vm2"), 0);
	assert_int_equal(td_volume_foreach(st, "acme", count, &n), 0);
	assert_int_equal(n, 1);
	/* deleting the volume removes its legs and attachment history */
	assert_int_equal(td_volume_delete(st, "acme", "vol1"), 0);
	assert_int_equal(td_volume_delete(st, "acme", "vol1"), -ENOENT);
	assert_int_equal(pragma_int(td_store_db(st), "SELECT count(*) FROM legs"), 0);
	assert_int_equal(pragma_int(td_store_db(st),
				    "SELECT count(*) FROM attachments"), 0);
	assert_int_equal(td_tenant_delete(st, "acme"), 0);
	td_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stepwise_and_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newer_db_refused_by_open,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
