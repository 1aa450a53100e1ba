// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd state in SQLite.  See store.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

struct td_store {
	sqlite3 *db;
	char *path;
	char *head_path;
	char err[256];
	/* An audit record appended inside the caller's transaction: the head
	 * file follows the database only once that transaction commits. */
	bool head_pending;
	int64_t pending_seq;
	char pending_hash[TD_HASH_HEX];
};

static int write_head_file(struct td_store *st, int64_t seq,
			   const char *hash);

/*
 * Schema history.  Never edit a released step: append a new one.
 *   1: tenants, volumes, legs, attachments, audit, audit_head
 *   2: create_intents (legs being formatted, for cleanup after a crash)
 *   3: access_grants (just-in-time access, Documentation/jit-access.md)
 *   4: wipes (destruction jobs, progress, certificates)
 *   5: volume_auto, leg_presence (udev provisioning)
 *   6: mfa_enrolments, mfa_failures (second factor)
 *   7: leg_holds (legs failed on purpose, kept from the leg monitor)
 *   (features append their steps after their marker in the array)
 */
const char *const td_schema_steps[] = {
	"CREATE TABLE tenants ("
	"  id TEXT PRIMARY KEY,"
	"  kek_wrapped BLOB NOT NULL,"
	"  kek_gen INTEGER NOT NULL,"
	"  kek_fpr TEXT NOT NULL,"
	"  next_kek_wrapped BLOB,"
	"  next_kek_gen INTEGER,"
	"  next_kek_fpr TEXT,"
	"  created TEXT NOT NULL);"
	"CREATE TABLE volumes ("
	"  tenant TEXT NOT NULL REFERENCES tenants(id) ON DELETE RESTRICT,"
	"  id TEXT NOT NULL,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL,"
	"  vm TEXT,"
	"  kek_gen INTEGER NOT NULL,"
	"  created TEXT NOT NULL,"
	"  PRIMARY KEY (tenant, id));"
	"CREATE TABLE legs ("
	"  tenant TEXT NOT NULL,"
	"  volume TEXT NOT NULL,"
	"  idx INTEGER NOT NULL CHECK (idx >= 0 AND idx < 8),"
	"  class TEXT NOT NULL CHECK (class IN ('local', 'zone', 'remote')),"
	"  device TEXT NOT NULL UNIQUE,"
	"  offset INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (tenant, volume, idx),"
	"  FOREIGN KEY (tenant, volume) REFERENCES volumes(tenant, id)"
	"    ON DELETE CASCADE);"
	"CREATE TABLE attachments ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant TEXT NOT NULL,"
	"  volume TEXT NOT NULL,"
	"  vm TEXT,"
	"  dm_name TEXT NOT NULL,"
	"  device TEXT,"
	"  hv_uid INTEGER,"
	"  attached TEXT NOT NULL,"
	"  detached TEXT,"
	"  detach_reason TEXT,"
	"  FOREIGN KEY (tenant, volume) REFERENCES volumes(tenant, id)"
	"    ON DELETE CASCADE);"
	"CREATE UNIQUE INDEX attachments_live ON attachments(tenant, volume)"
	"  WHERE detached IS NULL;"
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  time TEXT NOT NULL, uid INTEGER NOT NULL, pid INTEGER NOT NULL,"
	"  role TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL,"
	"  result TEXT NOT NULL, detail TEXT NOT NULL,"
	"  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
	"CREATE TABLE audit_head ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  seq INTEGER NOT NULL, hash TEXT NOT NULL);",
	"CREATE TABLE create_intents ("
	"  uuid TEXT PRIMARY KEY,"
	"  tenant TEXT NOT NULL, volume TEXT NOT NULL,"
	"  devices TEXT NOT NULL,"		/* one path per line */
	"  started TEXT NOT NULL);",
	/* -- access -- */
	/* 2: access_grants (Documentation/jit-access.md) */
	"CREATE TABLE access_grants ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant TEXT NOT NULL,"
	"  volume TEXT NOT NULL,"
	"  requester INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  mode_requested TEXT NOT NULL CHECK (mode_requested IN ('ro', 'rw')),"
	"  mode TEXT NOT NULL CHECK (mode IN ('ro', 'rw')),"
	"  duration INTEGER NOT NULL CHECK (duration > 0),"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'approved',"
	"    'denied', 'expired', 'active', 'revoked', 'completed')),"
	"  requested INTEGER NOT NULL,"
	"  pending_until INTEGER NOT NULL,"
	"  approver INTEGER,"
	"  decided INTEGER,"
	"  note TEXT,"
	"  expires INTEGER,"
	"  opened INTEGER,"
	"  dm_name TEXT,"
	"  device TEXT,"
	"  closed INTEGER,"
	"  close_reason TEXT,"
	"  FOREIGN KEY (tenant, volume) REFERENCES volumes(tenant, id)"
	"    ON DELETE CASCADE);"
	"CREATE UNIQUE INDEX access_grants_active ON access_grants(tenant, volume)"
	"  WHERE state = 'active';",
	/* -- wipe -- */
	/* wipe jobs: progress (resume after a crash) and certificates */
	"CREATE TABLE wipes ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant TEXT NOT NULL, volume TEXT NOT NULL, uuid TEXT NOT NULL,"
	"  method TEXT NOT NULL, passes INTEGER NOT NULL,"
	"  verify TEXT NOT NULL, rate INTEGER NOT NULL DEFAULT 0,"
	"  legs TEXT NOT NULL,"
	"  shred TEXT NOT NULL,"
	"  uid INTEGER NOT NULL, role TEXT NOT NULL, reason TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),"
	"  leg INTEGER NOT NULL DEFAULT 0, pass INTEGER NOT NULL DEFAULT 0,"
	"  offset INTEGER NOT NULL DEFAULT 0, resumes INTEGER NOT NULL DEFAULT 0,"
	"  started TEXT NOT NULL, finished TEXT, error TEXT,"
	"  verification TEXT, cert TEXT);",
	/* -- udev -- */
	"CREATE TABLE volume_auto ("
	"  tenant TEXT NOT NULL,"
	"  volume TEXT NOT NULL,"
	"  auto_attach INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant, volume),"
	"  FOREIGN KEY (tenant, volume) REFERENCES volumes(tenant, id)"
	"    ON DELETE CASCADE);"
	"CREATE TABLE leg_presence ("
	"  tenant TEXT NOT NULL,"
	"  volume TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  device TEXT NOT NULL,"
	"  devnum TEXT NOT NULL,"
	"  present INTEGER NOT NULL,"
	"  changed TEXT NOT NULL,"
	"  pending_recover INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (tenant, volume, idx),"
	"  FOREIGN KEY (tenant, volume) REFERENCES volumes(tenant, id)"
	"    ON DELETE CASCADE);",
	/* -- mfa -- second factor (Documentation/jit-access.md): seeds only
	 * wrapped; last_step refuses a code used before; failures per uid */
	"CREATE TABLE mfa_enrolments ("
	"  id INTEGER PRIMARY KEY,"
	"  uid INTEGER NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'active')),"
	"  algorithm TEXT NOT NULL,"
	"  digits INTEGER NOT NULL,"
	"  wrapped BLOB NOT NULL,"
	"  last_step INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  confirmed INTEGER);"
	"CREATE UNIQUE INDEX mfa_enrolments_one ON mfa_enrolments(uid, state);"
	"CREATE TABLE mfa_failures ("
	"  uid INTEGER PRIMARY KEY,"
	"  failures INTEGER NOT NULL,"
	"  first INTEGER NOT NULL,"
	"  locked_until INTEGER NOT NULL DEFAULT 0);",
	/* -- remote -- */
	"CREATE TABLE leg_holds ("
	"  tenant TEXT NOT NULL,"
	"  volume TEXT NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  since TEXT NOT NULL,"
	"  PRIMARY KEY (tenant, volume, idx),"
	"  FOREIGN KEY (tenant, volume) REFERENCES volumes(tenant, id)"
	"    ON DELETE CASCADE);",
};
const int td_schema_version =
	(int)(sizeof(td_schema_steps) / sizeof(td_schema_steps[0]));

void td_now(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static int sql_err(struct td_store *st, const char *what)
{
	int rc = sqlite3_extended_errcode(st->db);

	snprintf(st->err, sizeof(st->err), "%s: %s", what,
		 sqlite3_errmsg(st->db));
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return -EEXIST;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return -EBUSY;	/* foreign key: still referenced */
	return -EIO;
}

const char *td_store_err(struct td_store *st)
{
	return st->err;
}

const char *td_store_path(struct td_store *st)
{
	return st->path;
}

sqlite3 *td_store_db(struct td_store *st)
{
	return st->db;
}

static int exec_simple(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int td_store_migrate(sqlite3 *db, const char *const *steps, int n,
		     char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int ver = -1, i;
	char sql[64];

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -EIO;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		ver = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (ver < 0) {
		snprintf(err, errlen, "cannot read the schema version");
		return -EIO;
	}
	if (ver > n) {
		snprintf(err, errlen,
			 "database schema version %d is newer than this tenantd (%d): run the newer tenantd or restore a backup",
			 ver, n);
		return -EPROTO;
	}
	for (i = ver; i < n; i++) {
		char e2[200];

		if (exec_simple(db, "BEGIN IMMEDIATE", err, errlen))
			return -EIO;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
		if (exec_simple(db, steps[i], e2, sizeof(e2)) ||
		    exec_simple(db, sql, e2, sizeof(e2))) {
			snprintf(err, errlen, "schema step %d failed: %s",
				 i + 1, e2);
			exec_simple(db, "ROLLBACK", e2, sizeof(e2));
			return -EIO;
		}
		if (exec_simple(db, "COMMIT", err, errlen))
			return -EIO;
	}
	return 0;
}

int td_store_open(const char *path, struct td_store **out, char *err,
		  size_t errlen)
{
	struct td_store *st = calloc(1, sizeof(*st));
	int r;

	*out = NULL;
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->path = strdup(path);
	if (!st->path || asprintf(&st->head_path, "%s.audit-head", path) < 0) {
		st->head_path = NULL;
		td_store_close(st);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "cannot open");
		td_store_close(st);
		return -EIO;
	}
	sqlite3_busy_timeout(st->db, 5000);
	r = exec_simple(st->db,
			"PRAGMA journal_mode = WAL;"
			"PRAGMA synchronous = FULL;"
			"PRAGMA foreign_keys = ON;"
			"PRAGMA secure_delete = ON;", err, errlen);
	if (!r)
		r = td_store_migrate(st->db, td_schema_steps,
				     td_schema_version, err, errlen);
	if (r) {
		td_store_close(st);
		return r;
	}
	*out = st;
	return 0;
}

void td_store_close(struct td_store *st)
{
	if (!st)
		return;
	if (st->db)
		sqlite3_close(st->db);
	free(st->path);
	free(st->head_path);
	free(st);
}

int td_store_begin(struct td_store *st)
{
	return exec_simple(st->db, "BEGIN IMMEDIATE", st->err,
			   sizeof(st->err));
}

int td_store_commit(struct td_store *st)
{
	int r = exec_simple(st->db, "COMMIT", st->err, sizeof(st->err));

	if (!r && st->head_pending)
		write_head_file(st, st->pending_seq, st->pending_hash);
	st->head_pending = false;
	return r;
}

void td_store_rollback(struct td_store *st)
{
	char e[64];

	st->head_pending = false;
	if (!sqlite3_get_autocommit(st->db))
		exec_simple(st->db, "ROLLBACK", e, sizeof(e));
}

/* --- helpers ------------------------------------------------------------ */

static sqlite3_stmt *prep(struct td_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		sql_err(st, "prepare");
		return NULL;
	}
	return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void col_text(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static size_t col_blob(sqlite3_stmt *s, int i, uint8_t *dst, size_t n)
{
	const void *b = sqlite3_column_blob(s, i);
	size_t len = (size_t)sqlite3_column_bytes(s, i);

	if (!b || len > n)
		return 0;
	memcpy(dst, b, len);
	return len;
}

/* Run a statement that returns no rows; -ENOENT if it changed nothing. */
static int run(struct td_store *st, sqlite3_stmt *s, bool must_change)
{
	int rc;

	if (!s)
		return -EIO;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sql_err(st, "step");
	if (must_change && sqlite3_changes(st->db) == 0)
		return -ENOENT;
	return 0;
}

/* --- tenants ------------------------------------------------------------ */

int td_tenant_insert(struct td_store *st, const struct td_tenant *t)
{
	sqlite3_stmt *s = prep(st,
		"INSERT INTO tenants (id, kek_wrapped, kek_gen, kek_fpr, created)"
		" VALUES (?, ?, ?, ?, ?)");
	char now[40];

	if (!s)
		return -EIO;
	td_now(now, sizeof(now));
	bind_text(s, 1, t->id);
	sqlite3_bind_blob(s, 2, t->kek, (int)t->kek_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, t->kek_gen);
	bind_text(s, 4, t->kek_fpr);
	bind_text(s, 5, now);
	return run(st, s, false);
}

#define TENANT_COLS "id, kek_wrapped, kek_gen, kek_fpr, next_kek_wrapped," \
		    " next_kek_gen, next_kek_fpr, created"

static void tenant_row(sqlite3_stmt *s, struct td_tenant *t)
{
	memset(t, 0, sizeof(*t));
	col_text(s, 0, t->id, sizeof(t->id));
	t->kek_len = col_blob(s, 1, t->kek, sizeof(t->kek));
	t->kek_gen = sqlite3_column_int64(s, 2);
	col_text(s, 3, t->kek_fpr, sizeof(t->kek_fpr));
	t->has_next = sqlite3_column_type(s, 4) != SQLITE_NULL;
	t->next_len = col_blob(s, 4, t->next_kek, sizeof(t->next_kek));
	t->next_gen = sqlite3_column_int64(s, 5);
	col_text(s, 6, t->next_fpr, sizeof(t->next_fpr));
	col_text(s, 7, t->created, sizeof(t->created));
}

int td_tenant_get(struct td_store *st, const char *id, struct td_tenant *t)
{
	sqlite3_stmt *s = prep(st, "SELECT " TENANT_COLS
			       " FROM tenants WHERE id = ?");
	int rc;

	if (!s)
		return -EIO;
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		tenant_row(s, t);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : sql_err(st, "tenant");
}

int td_tenant_delete(struct td_store *st, const char *id)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM tenants WHERE id = ?");

	if (!s)
		return -EIO;
	bind_text(s, 1, id);
	return run(st, s, true);
}

int td_tenant_foreach(struct td_store *st, td_tenant_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT " TENANT_COLS
			       " FROM tenants ORDER BY id");
	struct td_tenant t;
	int rc, r = 0;

	if (!s)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		tenant_row(s, &t);
		r = fn(&t, arg);
		if (r)
			break;
	}
	sqlite3_finalize(s);
	if (!r && rc != SQLITE_DONE)
		return sql_err(st, "tenants");
	return r;
}

int td_tenant_set_next(struct td_store *st, const char *id,
		       const uint8_t *kek, size_t len, int64_t gen,
		       const char *fpr)
{
	sqlite3_stmt *s = prep(st,
		"UPDATE tenants SET next_kek_wrapped = ?, next_kek_gen = ?,"
		" next_kek_fpr = ? WHERE id = ?");

	if (!s)
		return -EIO;
	sqlite3_bind_blob(s, 1, kek, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, gen);
	bind_text(s, 3, fpr);
	bind_text(s, 4, id);
	return run(st, s, true);
}

int td_tenant_promote_next(struct td_store *st, const char *id)
{
	sqlite3_stmt *s = prep(st,
		"UPDATE tenants SET kek_wrapped = next_kek_wrapped,"
		" kek_gen = next_kek_gen, kek_fpr = next_kek_fpr,"
		" next_kek_wrapped = NULL, next_kek_gen = NULL,"
		" next_kek_fpr = NULL"
		" WHERE id = ? AND next_kek_wrapped IS NOT NULL");

	if (!s)
		return -EIO;
	bind_text(s, 1, id);
	return run(st, s, true);
}

/* --- volumes ------------------------------------------------------------ */

int td_volume_insert(struct td_store *st, const struct td_volume *v)
{
	sqlite3_stmt *s;
	char now[40];
	unsigned int i;
	int r;

	td_now(now, sizeof(now));
	/* All rows or none: a volume with half its legs is worse than none. */
	if (exec_simple(st->db, "SAVEPOINT volume_insert", st->err,
			sizeof(st->err)))
		return -EIO;
	s = prep(st, "INSERT INTO volumes (tenant, id, uuid, size, vm, kek_gen,"
		 " created) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (s) {
		bind_text(s, 1, v->tenant);
		bind_text(s, 2, v->id);
		bind_text(s, 3, v->uuid);
		sqlite3_bind_int64(s, 4, (int64_t)v->size);
		bind_text(s, 5, v->vm);
		sqlite3_bind_int64(s, 6, v->kek_gen);
		bind_text(s, 7, now);
	}
	r = s ? run(st, s, false) : -EIO;
	for (i = 0; !r && i < v->nlegs; i++) {
		s = prep(st, "INSERT INTO legs (tenant, volume, idx, class,"
			 " device, offset) VALUES (?, ?, ?, ?, ?, ?)");
		if (!s) {
			r = -EIO;
			break;
		}
		bind_text(s, 1, v->tenant);
		bind_text(s, 2, v->id);
		sqlite3_bind_int(s, 3, (int)v->legs[i].idx);
		bind_text(s, 4, v->legs[i].cls);
		bind_text(s, 5, v->legs[i].device);
		sqlite3_bind_int64(s, 6, (int64_t)v->legs[i].offset);
		r = run(st, s, false);
	}
	if (r) {
		char e[64];

		exec_simple(st->db, "ROLLBACK TO volume_insert", e, sizeof(e));
	}
	{
		char e[64];

		exec_simple(st->db, "RELEASE volume_insert", e, sizeof(e));
	}
	return r;
}

#define VOLUME_SELECT							\
	"SELECT v.tenant, v.id, v.uuid, v.size, v.vm, v.kek_gen, v.created," \
	" a.id, a.dm_name, a.device, a.vm, a.hv_uid, a.attached"	\
	" FROM volumes v LEFT JOIN attachments a"			\
	" ON a.tenant = v.tenant AND a.volume = v.id AND a.detached IS NULL"

static int volume_row(struct td_store *st, sqlite3_stmt *s,
		      struct td_volume *v)
{
	sqlite3_stmt *l;
	int rc;

	memset(v, 0, sizeof(*v));
	col_text(s, 0, v->tenant, sizeof(v->tenant));
	col_text(s, 1, v->id, sizeof(v->id));
	col_text(s, 2, v->uuid, sizeof(v->uuid));
	v->size = (uint64_t)sqlite3_column_int64(s, 3);
	col_text(s, 4, v->vm, sizeof(v->vm));
	v->kek_gen = sqlite3_column_int64(s, 5);
	col_text(s, 6, v->created, sizeof(v->created));
	v->attached = sqlite3_column_type(s, 7) != SQLITE_NULL;
	if (v->attached) {
		v->att_id = sqlite3_column_int64(s, 7);
		col_text(s, 8, v->dm_name, sizeof(v->dm_name));
		col_text(s, 9, v->device, sizeof(v->device));
		col_text(s, 10, v->att_vm, sizeof(v->att_vm));
		v->hv_uid = sqlite3_column_type(s, 11) == SQLITE_NULL ? -1 :
			sqlite3_column_int64(s, 11);
		col_text(s, 12, v->attached_at, sizeof(v->attached_at));
	}
	l = prep(st, "SELECT idx, class, device, offset FROM legs"
		 " WHERE tenant = ? AND volume = ? ORDER BY idx");
	if (!l)
		return -EIO;
	bind_text(l, 1, v->tenant);
	bind_text(l, 2, v->id);
	while ((rc = sqlite3_step(l)) == SQLITE_ROW && v->nlegs < TD_MAX_LEGS) {
		struct td_leg *g = &v->legs[v->nlegs++];

		g->idx = (unsigned int)sqlite3_column_int(l, 0);
		col_text(l, 1, g->cls, sizeof(g->cls));
		col_text(l, 2, g->device, sizeof(g->device));
		g->offset = (uint64_t)sqlite3_column_int64(l, 3);
	}
	sqlite3_finalize(l);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 :
		sql_err(st, "legs");
}

static int volume_one(struct td_store *st, sqlite3_stmt *s,
		      struct td_volume *v)
{
	int rc = sqlite3_step(s), r;

	if (rc == SQLITE_ROW) {
		r = volume_row(st, s, v);
		sqlite3_finalize(s);
		return r;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? -ENOENT : sql_err(st, "volume");
}

int td_volume_get(struct td_store *st, const char *tenant, const char *id,
		  struct td_volume *v)
{
	sqlite3_stmt *s = prep(st, VOLUME_SELECT
			       " WHERE v.tenant = ? AND v.id = ?");

	if (!s)
		return -EIO;
	bind_text(s, 1, tenant);
	bind_text(s, 2, id);
	return volume_one(st, s, v);
}

int td_volume_by_uuid(struct td_store *st, const char *uuid,
		      struct td_volume *v)
{
	sqlite3_stmt *s = prep(st, VOLUME_SELECT " WHERE v.uuid = ?");

	if (!s)
		return -EIO;
	bind_text(s, 1, uuid);
	return volume_one(st, s, v);
}

int td_volume_foreach(struct td_store *st, const char *tenant,
		      td_volume_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, tenant ?
			       VOLUME_SELECT " WHERE v.tenant = ?"
			       " ORDER BY v.tenant, v.id" :
			       VOLUME_SELECT " ORDER BY v.tenant, v.id");
	struct td_volume *v;
	int rc, r = 0;

	if (!s)
		return -EIO;
	v = malloc(sizeof(*v));
	if (!v) {
		sqlite3_finalize(s);
		return -ENOMEM;
	}
	if (tenant)
		bind_text(s, 1, tenant);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = volume_row(st, s, v);
		if (!r)
			r = fn(v, arg);
		if (r)
			break;
	}
	sqlite3_finalize(s);
	free(v);
	if (!r && rc != SQLITE_DONE)
		return sql_err(st, "volumes");
	return r;
}

int td_volume_delete(struct td_store *st, const char *tenant, const char *id)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM volumes WHERE tenant = ?"
			       " AND id = ?");

	if (!s)
		return -EIO;
	bind_text(s, 1, tenant);
	bind_text(s, 2, id);
	return run(st, s, true);
}

int td_volume_set_vm(struct td_store *st, const char *tenant, const char *id,
		     const char *vm)
{
	sqlite3_stmt *s = prep(st, "UPDATE volumes SET vm = ? WHERE tenant = ?"
			       " AND id = ?");

	if (!s)
		return -EIO;
	bind_text(s, 1, vm);
	bind_text(s, 2, tenant);
	bind_text(s, 3, id);
	return run(st, s, true);
}

int td_volume_set_kek_gen(struct td_store *st, const char *tenant,
			  const char *id, int64_t gen)
{
	sqlite3_stmt *s = prep(st, "UPDATE volumes SET kek_gen = ?"
			       " WHERE tenant = ? AND id = ?");

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, gen);
	bind_text(s, 2, tenant);
	bind_text(s, 3, id);
	return run(st, s, true);
}

/* --- attachments -------------------------------------------------------- */

int td_attach_add(struct td_store *st, const char *tenant, const char *vol,
		  const char *vm, const char *dm_name, const char *device,
		  int64_t hv_uid)
{
	sqlite3_stmt *s = prep(st,
		"INSERT INTO attachments (tenant, volume, vm, dm_name, device,"
		" hv_uid, attached) VALUES (?, ?, ?, ?, ?, ?, ?)");
	char now[40];

	if (!s)
		return -EIO;
	td_now(now, sizeof(now));
	bind_text(s, 1, tenant);
	bind_text(s, 2, vol);
	bind_text(s, 3, vm);
	bind_text(s, 4, dm_name);
	bind_text(s, 5, device);
	if (hv_uid >= 0)
		sqlite3_bind_int64(s, 6, hv_uid);
	else
		sqlite3_bind_null(s, 6);
	bind_text(s, 7, now);
	return run(st, s, false);
}

int td_attach_close(struct td_store *st, const char *tenant, const char *vol,
		    const char *reason)
{
	sqlite3_stmt *s = prep(st,
		"UPDATE attachments SET detached = ?, detach_reason = ?"
		" WHERE tenant = ? AND volume = ? AND detached IS NULL");
	char now[40];

	if (!s)
		return -EIO;
	td_now(now, sizeof(now));
	bind_text(s, 1, now);
	bind_text(s, 2, reason);
	bind_text(s, 3, tenant);
	bind_text(s, 4, vol);
	return run(st, s, true);
}

/* --- audit -------------------------------------------------------------- */

static int write_head_file(struct td_store *st, int64_t seq, const char *hash)
{
	char tmp[4096], line[128];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", st->head_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%" PRId64 " %s\n", seq, hash);
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	close(fd);
	return rename(tmp, st->head_path) ? -errno : 0;
}

int td_audit_head(struct td_store *st, int64_t *seq, char hash[TD_HASH_HEX])
{
	sqlite3_stmt *s = prep(st, "SELECT seq, hash FROM audit_head"
			       " WHERE id = 1");
	int rc;

	if (!s)
		return -EIO;
	*seq = 0;
	strcpy(hash, TD_AUDIT_GENESIS);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		col_text(s, 1, hash, TD_HASH_HEX);
	}
	sqlite3_finalize(s);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 :
		sql_err(st, "audit_head");
}

int td_audit_head_file(struct td_store *st, int64_t *seq,
		       char hash[TD_HASH_HEX])
{
	FILE *f = fopen(st->head_path, "re");
	char h[80];
	int r = 0;

	*seq = 0;
	strcpy(hash, TD_AUDIT_GENESIS);
	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	if (fscanf(f, "%" SCNd64 " %70s", seq, h) != 2 || strlen(h) != 64)
		r = -EINVAL;
	else
		strcpy(hash, h);
	fclose(f);
	return r;
}

int td_audit_append(struct td_store *st, struct td_audit_rec *r)
{
	char head[TD_HASH_HEX];
	int64_t seq;
	sqlite3_stmt *s;
	bool own_tx = sqlite3_get_autocommit(st->db);
	int ret;

	if (own_tx && td_store_begin(st))
		return -EIO;
	ret = td_audit_head(st, &seq, head);
	if (ret)
		goto out;
	r->seq = seq + 1;
	ret = td_audit_seal(r, head);
	if (ret)
		goto out;
	s = prep(st, "INSERT INTO audit (seq, time, uid, pid, role, action,"
		 " object, result, detail, prev_hash, hash)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(s, 1, r->seq);
	sqlite3_bind_text(s, 2, r->time, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, r->uid);
	sqlite3_bind_int64(s, 4, r->pid);
	sqlite3_bind_text(s, 5, r->role, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, r->action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 7, r->object, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 8, r->result, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, r->detail, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 10, r->prev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 11, r->hash, -1, SQLITE_TRANSIENT);
	ret = run(st, s, false);
	if (ret)
		goto out;
	s = prep(st, "INSERT OR REPLACE INTO audit_head (id, seq, hash)"
		 " VALUES (1, ?, ?)");
	if (!s) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(s, 1, r->seq);
	sqlite3_bind_text(s, 2, r->hash, -1, SQLITE_TRANSIENT);
	ret = run(st, s, false);
out:
	if (!own_tx) {
		if (!ret) {
			st->head_pending = true;
			st->pending_seq = r->seq;
			memcpy(st->pending_hash, r->hash, TD_HASH_HEX);
		}
		return ret;
	}
	if (ret) {
		td_store_rollback(st);
		return ret;
	}
	ret = td_store_commit(st);
	if (!ret)
		write_head_file(st, r->seq, r->hash);
	return ret;
}

int td_audit_foreach(struct td_store *st, int64_t after, int64_t limit,
		     td_audit_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st,
		"SELECT seq, time, uid, pid, role, action, object, result,"
		" detail, prev_hash, hash FROM audit WHERE seq > ?"
		" ORDER BY seq LIMIT ?");
	struct td_audit_rec r;
	int rc, ret = 0;

	if (!s)
		return -EIO;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.seq = sqlite3_column_int64(s, 0);
		col_text(s, 1, r.time, sizeof(r.time));
		r.uid = sqlite3_column_int64(s, 2);
		r.pid = sqlite3_column_int64(s, 3);
		col_text(s, 4, r.role, sizeof(r.role));
		col_text(s, 5, r.action, sizeof(r.action));
		col_text(s, 6, r.object, sizeof(r.object));
		col_text(s, 7, r.result, sizeof(r.result));
		col_text(s, 8, r.detail, sizeof(r.detail));
		col_text(s, 9, r.prev, sizeof(r.prev));
		col_text(s, 10, r.hash, sizeof(r.hash));
		ret = fn(&r, arg);
		if (ret)
			break;
	}
	sqlite3_finalize(s);
	if (!ret && rc != SQLITE_DONE)
		return sql_err(st, "audit");
	return ret;
}

/* --- leg holds -------------------------------------------------------- */

int td_leg_hold_set(struct td_store *st, const char *tenant,
		    const char *volume, unsigned int leg, bool held)
{
	sqlite3_stmt *s = prep(st, held ?
		"INSERT OR REPLACE INTO leg_holds (tenant, volume, idx, since)"
		" VALUES (?, ?, ?, ?)" :
		"DELETE FROM leg_holds WHERE tenant = ? AND volume = ?"
		" AND idx = ?");
	char now[40];

	if (!s)
		return -EIO;
	bind_text(s, 1, tenant);
	bind_text(s, 2, volume);
	sqlite3_bind_int64(s, 3, leg);
	if (held) {
		td_now(now, sizeof(now));
		bind_text(s, 4, now);
	}
	return run(st, s, false);
}

int td_leg_hold_foreach(struct td_store *st, td_leg_hold_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT tenant, volume, idx FROM leg_holds"
			       " ORDER BY tenant, volume, idx");
	char tenant[TD_ID_MAX + 1], volume[TD_ID_MAX + 1];
	int rc, ret = 0;

	if (!s)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		col_text(s, 0, tenant, sizeof(tenant));
		col_text(s, 1, volume, sizeof(volume));
		ret = fn(tenant, volume,
			 (unsigned int)sqlite3_column_int64(s, 2), arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sql_err(st, "step");
	sqlite3_finalize(s);
	return ret;
}

/* --- create intents -------------------------------------------------- */

int td_intent_add(struct td_store *st, const struct td_intent *in)
{
	char devs[TD_MAX_LEGS * (TD_PATH_MAX + 1) + 1];
	char now[40];
	size_t off = 0;
	sqlite3_stmt *s;
	unsigned int i;

	devs[0] = '\0';
	for (i = 0; i < in->ndev; i++) {
		if (strchr(in->devices[i], '\n'))
			return -EINVAL;
		off += (size_t)snprintf(devs + off, sizeof(devs) - off, "%s\n",
					in->devices[i]);
	}
	td_now(now, sizeof(now));
	s = prep(st, "INSERT INTO create_intents (uuid, tenant, volume,"
		 " devices, started) VALUES (?, ?, ?, ?, ?)");
	if (!s)
		return -EIO;
	bind_text(s, 1, in->uuid);
	bind_text(s, 2, in->tenant);
	bind_text(s, 3, in->volume);
	bind_text(s, 4, devs);
	bind_text(s, 5, now);
	return run(st, s, true);
}

int td_intent_del(struct td_store *st, const char *uuid)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM create_intents WHERE uuid = ?");

	if (!s)
		return -EIO;
	bind_text(s, 1, uuid);
	return run(st, s, false);
}

int td_intent_foreach(struct td_store *st, td_intent_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT uuid, tenant, volume, devices,"
			       " started FROM create_intents ORDER BY started");
	char devs[TD_MAX_LEGS * (TD_PATH_MAX + 1) + 1];
	struct td_intent in;
	int rc, ret = 0;

	if (!s)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char *save = NULL, *tok;

		memset(&in, 0, sizeof(in));
		col_text(s, 0, in.uuid, sizeof(in.uuid));
		col_text(s, 1, in.tenant, sizeof(in.tenant));
		col_text(s, 2, in.volume, sizeof(in.volume));
		col_text(s, 3, devs, sizeof(devs));
		col_text(s, 4, in.started, sizeof(in.started));
		for (tok = strtok_r(devs, "\n", &save);
		     tok && in.ndev < TD_MAX_LEGS;
		     tok = strtok_r(NULL, "\n", &save))
			snprintf(in.devices[in.ndev++], TD_PATH_MAX + 1, "%s",
				 tok);
		ret = fn(&in, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sql_err(st, "step");
	sqlite3_finalize(s);
	return ret;
}
