// SPDX-License-Identifier: GPL-2.0
/*
 * Just-in-time access grants: state machine and storage.  See access.h and
 * Documentation/jit-access.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access.h"

static const char *const state_names[TD_GS__COUNT] = {
	[TD_GS_PENDING]		= "pending",
	[TD_GS_APPROVED]	= "approved",
	[TD_GS_DENIED]		= "denied",
	[TD_GS_EXPIRED]		= "expired",
	[TD_GS_ACTIVE]		= "active",
	[TD_GS_REVOKED]		= "revoked",
	[TD_GS_COMPLETED]	= "completed",
};

const char *td_grant_state_name(enum td_grant_state s)
{
	return (unsigned int)s < TD_GS__COUNT ? state_names[s] : "?";
}

int td_grant_state_parse(const char *name, enum td_grant_state *s)
{
	unsigned int i;

	for (i = 0; name && i < TD_GS__COUNT; i++)
		if (!strcmp(state_names[i], name)) {
			*s = i;
			return 0;
		}
	return -EINVAL;
}

const char *td_grant_mode_name(enum td_grant_mode m)
{
	return m == TD_MODE_RW ? "rw" : "ro";
}

int td_grant_mode_parse(const char *name, enum td_grant_mode *m)
{
	if (name && !strcmp(name, "ro"))
		*m = TD_MODE_RO;
	else if (name && !strcmp(name, "rw"))
		*m = TD_MODE_RW;
	else
		return -EINVAL;
	return 0;
}

/*
 * The moves.  A missing entry is a refused move.
 *   pending  --approve--> approved   --open-->    active
 *   pending  --deny-->    denied     approved --revoke--> revoked
 *   pending  --timeout--> expired    approved --timeout--> expired
 *                                    approved --close-->  completed
 *   active   --timeout--> completed  active --close--> completed
 *   active   --revoke-->  revoked
 */
#define NONE TD_GS__COUNT
static const unsigned char moves[TD_GS__COUNT][TD_GE__COUNT] = {
	[TD_GS_PENDING] = {
		[TD_GE_APPROVE] = TD_GS_APPROVED, [TD_GE_DENY] = TD_GS_DENIED,
		[TD_GE_OPEN] = NONE, [TD_GE_REVOKE] = NONE,
		[TD_GE_CLOSE] = NONE, [TD_GE_TIMEOUT] = TD_GS_EXPIRED },
	[TD_GS_APPROVED] = {
		[TD_GE_APPROVE] = NONE, [TD_GE_DENY] = NONE,
		[TD_GE_OPEN] = TD_GS_ACTIVE, [TD_GE_REVOKE] = TD_GS_REVOKED,
		[TD_GE_CLOSE] = TD_GS_COMPLETED,
		[TD_GE_TIMEOUT] = TD_GS_EXPIRED },
	[TD_GS_ACTIVE] = {
		[TD_GE_APPROVE] = NONE, [TD_GE_DENY] = NONE,
		[TD_GE_OPEN] = NONE, [TD_GE_REVOKE] = TD_GS_REVOKED,
		[TD_GE_CLOSE] = TD_GS_COMPLETED,
		[TD_GE_TIMEOUT] = TD_GS_COMPLETED },
	[TD_GS_DENIED] = { NONE, NONE, NONE, NONE, NONE, NONE },
	[TD_GS_EXPIRED] = { NONE, NONE, NONE, NONE, NONE, NONE },
	[TD_GS_REVOKED] = { NONE, NONE, NONE, NONE, NONE, NONE },
	[TD_GS_COMPLETED] = { NONE, NONE, NONE, NONE, NONE, NONE },
};

int td_grant_next(enum td_grant_state from, enum td_grant_event ev,
		  enum td_grant_state *to)
{
	if ((unsigned int)from >= TD_GS__COUNT ||
	    (unsigned int)ev >= TD_GE__COUNT || moves[from][ev] == NONE)
		return -EPERM;
	*to = moves[from][ev];
	return 0;
}

bool td_grant_final(enum td_grant_state s)
{
	return s == TD_GS_DENIED || s == TD_GS_EXPIRED ||
		s == TD_GS_REVOKED || s == TD_GS_COMPLETED;
}

int64_t td_grant_deadline(const struct td_grant *g)
{
	if (g->state == TD_GS_PENDING)
		return g->pending_until;
	if (g->state == TD_GS_APPROVED || g->state == TD_GS_ACTIVE)
		return g->expires;
	return 0;
}

void td_time_fmt(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm)) {
		snprintf(buf, len, "%s", "");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* --- storage ------------------------------------------------------------- */

#define GRANT_COLS "id, tenant, volume, requester, reason, mode_requested," \
	" mode, duration, state, requested, pending_until, approver, decided," \
	" note, expires, opened, dm_name, device, closed, close_reason"

const char *td_grant_err(struct td_store *st)
{
	return sqlite3_errmsg(td_store_db(st));
}

static int gerr(struct td_store *st)
{
	int rc = sqlite3_extended_errcode(td_store_db(st));

	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return -EEXIST;
	return -EIO;
}

static void ctext(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static void btext(sqlite3_stmt *s, int i, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bint(sqlite3_stmt *s, int i, int64_t v, int64_t null_value)
{
	if (v == null_value)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static void grant_row(sqlite3_stmt *s, struct td_grant *g)
{
	char buf[16];

	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(s, 0);
	ctext(s, 1, g->tenant, sizeof(g->tenant));
	ctext(s, 2, g->volume, sizeof(g->volume));
	g->requester = sqlite3_column_int64(s, 3);
	ctext(s, 4, g->reason, sizeof(g->reason));
	ctext(s, 5, buf, sizeof(buf));
	td_grant_mode_parse(buf, &g->mode_requested);
	ctext(s, 6, buf, sizeof(buf));
	td_grant_mode_parse(buf, &g->mode);
	g->duration = sqlite3_column_int64(s, 7);
	ctext(s, 8, buf, sizeof(buf));
	td_grant_state_parse(buf, &g->state);
	g->requested = sqlite3_column_int64(s, 9);
	g->pending_until = sqlite3_column_int64(s, 10);
	g->approver = sqlite3_column_type(s, 11) == SQLITE_NULL ? -1 :
		sqlite3_column_int64(s, 11);
	g->decided = sqlite3_column_int64(s, 12);
	ctext(s, 13, g->note, sizeof(g->note));
	g->expires = sqlite3_column_int64(s, 14);
	g->opened = sqlite3_column_int64(s, 15);
	ctext(s, 16, g->dm_name, sizeof(g->dm_name));
	ctext(s, 17, g->device, sizeof(g->device));
	g->closed = sqlite3_column_int64(s, 18);
	ctext(s, 19, g->close_reason, sizeof(g->close_reason));
}

int td_grant_insert(struct td_store *st, struct td_grant *g)
{
	sqlite3 *db = td_store_db(st);
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
		"INSERT INTO access_grants (tenant, volume, requester, reason,"
		" mode_requested, mode, duration, state, requested,"
		" pending_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		-1, &s, NULL) != SQLITE_OK)
		return -EIO;
	btext(s, 1, g->tenant);
	btext(s, 2, g->volume);
	sqlite3_bind_int64(s, 3, g->requester);
	btext(s, 4, g->reason);
	btext(s, 5, td_grant_mode_name(g->mode_requested));
	btext(s, 6, td_grant_mode_name(g->mode));
	sqlite3_bind_int64(s, 7, g->duration);
	btext(s, 8, td_grant_state_name(g->state));
	sqlite3_bind_int64(s, 9, g->requested);
	sqlite3_bind_int64(s, 10, g->pending_until);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return gerr(st);
	g->id = sqlite3_last_insert_rowid(db);
	return 0;
}

static int get_one(struct td_store *st, const char *where, int64_t id,
		   const char *tenant, const char *volume, struct td_grant *g)
{
	char sql[512];
	sqlite3_stmt *s = NULL;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT " GRANT_COLS
		 " FROM access_grants WHERE %s", where);
	if (sqlite3_prepare_v2(td_store_db(st), sql, -1, &s, NULL) !=
	    SQLITE_OK)
		return -EIO;
	if (tenant) {
		btext(s, 1, tenant);
		btext(s, 2, volume);
	} else {
		sqlite3_bind_int64(s, 1, id);
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		grant_row(s, g);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : gerr(st);
}

int td_grant_get(struct td_store *st, int64_t id, struct td_grant *g)
{
	return get_one(st, "id = ?", id, NULL, NULL, g);
}

int td_grant_active(struct td_store *st, const char *tenant,
		    const char *volume, struct td_grant *g)
{
	return get_one(st, "tenant = ? AND volume = ? AND state = 'active'",
		       0, tenant, volume, g);
}

int td_grant_update(struct td_store *st, const struct td_grant *g)
{
	sqlite3 *db = td_store_db(st);
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
		"UPDATE access_grants SET mode = ?, state = ?, approver = ?,"
		" decided = ?, note = ?, expires = ?, opened = ?, dm_name = ?,"
		" device = ?, closed = ?, close_reason = ? WHERE id = ?",
		-1, &s, NULL) != SQLITE_OK)
		return -EIO;
	btext(s, 1, td_grant_mode_name(g->mode));
	btext(s, 2, td_grant_state_name(g->state));
	bint(s, 3, g->approver, -1);
	bint(s, 4, g->decided, 0);
	btext(s, 5, g->note);
	bint(s, 6, g->expires, 0);
	bint(s, 7, g->opened, 0);
	btext(s, 8, g->dm_name);
	btext(s, 9, g->device);
	bint(s, 10, g->closed, 0);
	btext(s, 11, g->close_reason);
	sqlite3_bind_int64(s, 12, g->id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return gerr(st);
	return sqlite3_changes(db) ? 0 : -ENOENT;
}

int td_grant_foreach(struct td_store *st, bool only_open, td_grant_fn fn,
		     void *arg)
{
	sqlite3_stmt *s = NULL;
	struct td_grant g;
	int rc, r = 0;

	if (sqlite3_prepare_v2(td_store_db(st), only_open ?
		"SELECT " GRANT_COLS " FROM access_grants WHERE state IN"
		" ('pending', 'approved', 'active') ORDER BY id" :
		"SELECT " GRANT_COLS " FROM access_grants ORDER BY id",
		-1, &s, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		grant_row(s, &g);
		r = fn(&g, arg);
		if (r)
			break;
	}
	sqlite3_finalize(s);
	if (!r && rc != SQLITE_DONE)
		return gerr(st);
	return r;
}
