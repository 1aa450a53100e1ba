// SPDX-License-Identifier: GPL-2.0
/*
 * Second factor: TOTP enrolments and their checks (mfa.h).  The codes
 * themselves are liboath's (oath_totp_validate4); this file only keeps the
 * seeds wrapped, the last accepted step and the failure count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <liboath/oath.h>
#include <sqlite3.h>

#include "mfa.h"

static int64_t system_clock(void)
{
	return (int64_t)time(NULL);
}

int64_t (*td_mfa_clock)(void) = system_clock;

const char *td_mfa_algo_name(enum td_mfa_algo a)
{
	return a == TD_MFA_SHA256 ? "sha256" : "sha1";
}

int td_mfa_algo_parse(const char *name, enum td_mfa_algo *a)
{
	if (name && !strcmp(name, "sha1"))
		*a = TD_MFA_SHA1;
	else if (name && !strcmp(name, "sha256"))
		*a = TD_MFA_SHA256;
	else
		return -EINVAL;
	return 0;
}

const char *td_mfa_state_name(enum td_mfa_state s)
{
	return s == TD_MFA_ACTIVE ? "active" : "pending";
}

void td_mfa_scope(const char *tenant, char *buf, size_t len)
{
	if (tenant && *tenant)
		snprintf(buf, len, "tenant:%s", tenant);
	else
		snprintf(buf, len, "host");
}

bool td_mfa_code_wellformed(const char *code)
{
	size_t i, n = code ? strlen(code) : 0;

	if (n != 6 && n != 8)
		return false;
	for (i = 0; i < n; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

const char *td_mfa_err(struct td_store *st)
{
	return sqlite3_errmsg(td_store_db(st));
}

static size_t seed_size(enum td_mfa_algo a)
{
	return a == TD_MFA_SHA256 ? 32 : 20;
}

/* The wrapping label: whose seed this is and how its codes are made. */
static void wrap_context(const struct td_mfa_enrolment *e, char *buf,
			 size_t len)
{
	snprintf(buf, len, "mfa/%s/uid=%" PRId64 "/%s/%u", e->scope, e->uid,
		 td_mfa_algo_name(e->algo), e->digits);
}

static bool oath_ready(void)
{
	static bool done;

	if (!done)
		done = oath_init() == OATH_OK;
	return done;
}

/* --- rows ----------------------------------------------------------------- */

#define MFA_COLS "id, uid, scope, state, algorithm, digits, wrapped," \
	" last_step, created, confirmed"

/* -EUCLEAN when the row does not describe an enrolment this code makes. */
static int enrolment_row(sqlite3_stmt *s, struct td_mfa_enrolment *e)
{
	const unsigned char *t;
	const void *blob;
	int n;

	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(s, 0);
	e->uid = sqlite3_column_int64(s, 1);
	t = sqlite3_column_text(s, 2);
	snprintf(e->scope, sizeof(e->scope), "%s", t ? (const char *)t : "");
	t = sqlite3_column_text(s, 3);
	e->state = t && !strcmp((const char *)t, "active") ? TD_MFA_ACTIVE :
		TD_MFA_PENDING;
	e->digits = (unsigned int)sqlite3_column_int64(s, 5);
	blob = sqlite3_column_blob(s, 6);
	n = sqlite3_column_bytes(s, 6);
	e->last_step = sqlite3_column_int64(s, 7);
	e->created = sqlite3_column_int64(s, 8);
	e->confirmed = sqlite3_column_int64(s, 9);
	if (td_mfa_algo_parse((const char *)sqlite3_column_text(s, 4),
			      &e->algo) ||
	    (e->digits != 6 && e->digits != 8) || !blob ||
	    (size_t)n != DMT_WRAPPED_SECRET_SIZE(seed_size(e->algo)) ||
	    (strcmp(e->scope, "host") && strncmp(e->scope, "tenant:", 7)))
		return -EUCLEAN;
	memcpy(e->wrapped, blob, (size_t)n);
	e->wrapped_len = (size_t)n;
	return 0;
}

static sqlite3_stmt *prep(struct td_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(td_store_db(st), sql, -1, &s, NULL) !=
	    SQLITE_OK)
		return NULL;
	return s;
}

/* Runs @s to completion; 0 or -EIO.  Finalizes it. */
static int step_done(sqlite3_stmt *s)
{
	int rc = s ? sqlite3_step(s) : SQLITE_ERROR;

	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* 0, -ENOENT, -EIO, or -EUCLEAN (row unreadable; @e->id still set). */
int td_mfa_get(struct td_store *st, int64_t uid, bool pending,
	       struct td_mfa_enrolment *e)
{
	struct td_mfa_enrolment tmp;
	sqlite3_stmt *s = prep(st, "SELECT " MFA_COLS " FROM mfa_enrolments"
			       " WHERE uid = ? AND state = ?"
			       " ORDER BY id DESC LIMIT 1");
	int rc, r;

	if (!s)
		return -EIO;
	if (!e)
		e = &tmp;
	sqlite3_bind_int64(s, 1, uid);
	sqlite3_bind_text(s, 2, pending ? "pending" : "active", -1,
			  SQLITE_STATIC);
	rc = sqlite3_step(s);
	r = rc == SQLITE_ROW ? enrolment_row(s, e) :
		rc == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(s);
	return r;
}

int td_mfa_enrol(struct td_store *st, const struct dmt_key *master,
		 int64_t uid, const char *scope, enum td_mfa_algo algo,
		 unsigned int digits, const char *issuer, const char *account,
		 struct td_mfa_enrolment *e, char *uri, size_t urilen)
{
	uint8_t seed[DMT_SECRET_MAX];
	char ctx[DMT_SECRET_CONTEXT_MAX + 1], *b32 = NULL;
	size_t n = seed_size(algo), b32len = 0;
	sqlite3_stmt *s;
	int r;

	if ((digits != 6 && digits != 8) || !scope ||
	    strlen(scope) > TD_MFA_SCOPE_MAX || !oath_ready())
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->uid = uid;
	snprintf(e->scope, sizeof(e->scope), "%s", scope);
	e->state = TD_MFA_PENDING;
	e->algo = algo;
	e->digits = digits;
	e->created = td_mfa_clock();
	wrap_context(e, ctx, sizeof(ctx));
	r = getrandom(seed, n, 0) == (ssize_t)n ? 0 : -EIO;
	if (!r)
		r = dmt_secret_wrap(master, ctx, seed, n, e->wrapped,
				    sizeof(e->wrapped), &e->wrapped_len);
	if (!r && oath_base32_encode((const char *)seed, n, &b32, &b32len) !=
	    OATH_OK)
		r = -ENOMEM;
	explicit_bzero(seed, sizeof(seed));
	if (r)
		goto out;
	/* otpauth URIs carry the seed without base32 padding */
	while (b32len && b32[b32len - 1] == '=')
		b32[--b32len] = '\0';
	if ((size_t)snprintf(uri, urilen,
			     "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=%s&digits=%u&period=%d",
			     issuer, account, b32, issuer,
			     algo == TD_MFA_SHA256 ? "SHA256" : "SHA1",
			     digits, TD_MFA_PERIOD) >= urilen) {
		r = -ENOSPC;
		goto out;
	}
	s = prep(st, "DELETE FROM mfa_enrolments WHERE uid = ? AND"
		 " state = 'pending'");
	if (s)
		sqlite3_bind_int64(s, 1, uid);
	r = step_done(s);
	s = r ? NULL : prep(st, "INSERT INTO mfa_enrolments (uid, scope,"
			    " state, algorithm, digits, wrapped, last_step,"
			    " created) VALUES (?, ?, 'pending', ?, ?, ?, 0, ?)");
	if (s) {
		sqlite3_bind_int64(s, 1, uid);
		sqlite3_bind_text(s, 2, e->scope, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, td_mfa_algo_name(algo), -1,
				  SQLITE_STATIC);
		sqlite3_bind_int(s, 4, (int)digits);
		sqlite3_bind_blob(s, 5, e->wrapped, (int)e->wrapped_len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, e->created);
	}
	r = r ? r : step_done(s);
	if (!r)
		e->id = sqlite3_last_insert_rowid(td_store_db(st));
out:
	if (b32) {
		explicit_bzero(b32, b32len);
		free(b32);
	}
	if (r)
		explicit_bzero(uri, urilen);
	return r;
}

/* --- failures and lockout ------------------------------------------------- */

static int64_t locked_until(struct td_store *st, int64_t uid)
{
	sqlite3_stmt *s = prep(st, "SELECT locked_until FROM mfa_failures"
			       " WHERE uid = ?");
	int64_t t = 0;

	if (!s)
		return 0;
	sqlite3_bind_int64(s, 1, uid);
	if (sqlite3_step(s) == SQLITE_ROW)
		t = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return t;
}

static void count_failure(struct td_store *st, int64_t uid, int64_t now,
			  struct td_mfa_result *res)
{
	sqlite3_stmt *s = prep(st, "SELECT failures, first FROM mfa_failures"
			       " WHERE uid = ?");
	int64_t failures = 0, first = now;

	if (s) {
		sqlite3_bind_int64(s, 1, uid);
		if (sqlite3_step(s) == SQLITE_ROW) {
			failures = sqlite3_column_int64(s, 0);
			first = sqlite3_column_int64(s, 1);
		}
		sqlite3_finalize(s);
	}
	if (now - first >= TD_MFA_FAILURE_WINDOW || now < first) {
		failures = 0;
		first = now;
	}
	failures++;
	res->failures = (unsigned int)failures;
	if (failures >= TD_MFA_MAX_FAILURES) {
		res->locked_now = true;
		res->locked_until = now + TD_MFA_LOCKOUT;
		failures = 0;
		first = now;
	}
	s = prep(st, "INSERT OR REPLACE INTO mfa_failures (uid, failures,"
		 " first, locked_until) VALUES (?, ?, ?, ?)");
	if (s) {
		sqlite3_bind_int64(s, 1, uid);
		sqlite3_bind_int64(s, 2, failures);
		sqlite3_bind_int64(s, 3, first);
		sqlite3_bind_int64(s, 4, res->locked_until);
	}
	step_done(s);
}

static int clear_failures(struct td_store *st, int64_t uid)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM mfa_failures WHERE uid = ?");

	if (s)
		sqlite3_bind_int64(s, 1, uid);
	return step_done(s);
}

/* --- checks --------------------------------------------------------------- */

/*
 * liboath finds the step the code belongs to, searching up to
 * TD_MFA_FAR_STEPS either side, so a code from a clock far off is named
 * as such instead of "wrong".  Returns the outcome, *step the matched step.
 */
static enum td_mfa_outcome match(const struct td_mfa_enrolment *e,
				 const struct dmt_key *master,
				 const char *code, int64_t now, int64_t *step,
				 int64_t *offset)
{
	uint8_t seed[DMT_SECRET_MAX];
	char ctx[DMT_SECRET_CONTEXT_MAX + 1];
	size_t n = 0;
	uint64_t counter = 0;
	int pos = 0, r;

	wrap_context(e, ctx, sizeof(ctx));
	if (dmt_secret_unwrap(master, ctx, e->wrapped, e->wrapped_len, seed,
			      sizeof(seed), &n))
		return TD_MFA_CORRUPT;
	r = oath_totp_validate4((const char *)seed, n, (time_t)now,
				TD_MFA_PERIOD, 0, TD_MFA_FAR_STEPS, &pos,
				&counter, e->algo == TD_MFA_SHA256 ?
				OATH_TOTP_HMAC_SHA256 : 0, code);
	explicit_bzero(seed, sizeof(seed));
	if (r < 0)
		return TD_MFA_WRONG;
	*step = (int64_t)counter;
	*offset = (int64_t)pos * TD_MFA_PERIOD;
	if (pos > TD_MFA_DRIFT_STEPS || pos < -TD_MFA_DRIFT_STEPS)
		return TD_MFA_DRIFT;
	if (*step <= e->last_step)
		return TD_MFA_REPLAY;
	return TD_MFA_OK;
}

/* Make the pending enrolment the active one, in one transaction. */
static int promote(struct td_store *st, const struct td_mfa_enrolment *e,
		   int64_t step, int64_t now)
{
	sqlite3 *db = td_store_db(st);
	sqlite3_stmt *s;
	int r;

	if (sqlite3_exec(db, "SAVEPOINT mfa_confirm", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return -EIO;
	s = prep(st, "DELETE FROM mfa_enrolments WHERE uid = ? AND"
		 " state = 'active'");
	if (s)
		sqlite3_bind_int64(s, 1, e->uid);
	r = step_done(s);
	s = r ? NULL : prep(st, "UPDATE mfa_enrolments SET state = 'active',"
			    " confirmed = ?, last_step = ? WHERE id = ?");
	if (s) {
		sqlite3_bind_int64(s, 1, now);
		sqlite3_bind_int64(s, 2, step);
		sqlite3_bind_int64(s, 3, e->id);
	}
	r = r ? r : step_done(s);
	if (r) {
		sqlite3_exec(db, "ROLLBACK TO mfa_confirm", NULL, NULL, NULL);
		sqlite3_exec(db, "RELEASE mfa_confirm", NULL, NULL, NULL);
		return r;
	}
	return sqlite3_exec(db, "RELEASE mfa_confirm", NULL, NULL, NULL) ==
		SQLITE_OK ? 0 : -EIO;
}

static int record_step(struct td_store *st, int64_t id, int64_t step)
{
	sqlite3_stmt *s = prep(st, "UPDATE mfa_enrolments SET last_step = ?"
			       " WHERE id = ? AND last_step < ?");

	if (s) {
		sqlite3_bind_int64(s, 1, step);
		sqlite3_bind_int64(s, 2, id);
		sqlite3_bind_int64(s, 3, step);
	}
	if (step_done(s))
		return -EIO;
	/* another request took this step first: that one counts */
	return sqlite3_changes(td_store_db(st)) ? 0 : -EALREADY;
}

void td_mfa_check(struct td_store *st, const struct dmt_key *master,
		  int64_t uid, const char *code, bool confirm,
		  struct td_mfa_result *res)
{
	struct td_mfa_enrolment e;
	int64_t now = td_mfa_clock(), step = 0, until;
	int r;

	memset(res, 0, sizeof(*res));
	until = locked_until(st, uid);
	if (until > now) {
		res->outcome = TD_MFA_LOCKED;
		res->locked_until = until;
		return;
	}
	r = td_mfa_get(st, uid, confirm, &e);
	if (r == -ENOENT || (!r && confirm &&
			     now - e.created > TD_MFA_PENDING_TTL)) {
		res->outcome = TD_MFA_NOT_ENROLLED;
		return;
	}
	res->enrolment = r == -EIO ? 0 : e.id;
	if (r) {
		res->outcome = r == -EIO ? TD_MFA_STORE : TD_MFA_CORRUPT;
		return;
	}
	if (!td_mfa_code_wellformed(code) || strlen(code) != e.digits) {
		res->outcome = TD_MFA_MALFORMED;
		return;
	}
	if (!oath_ready()) {
		res->outcome = TD_MFA_CORRUPT;
		return;
	}
	/* A clock that went back could let an old step pass again. */
	if (now / TD_MFA_PERIOD + TD_MFA_DRIFT_STEPS < e.last_step) {
		res->outcome = TD_MFA_HOST_CLOCK;
		res->offset = (e.last_step - now / TD_MFA_PERIOD) *
			TD_MFA_PERIOD;
		return;
	}
	res->outcome = match(&e, master, code, now, &step, &res->offset);
	if (res->outcome == TD_MFA_CORRUPT)
		return;
	if (res->outcome == TD_MFA_OK) {
		r = confirm ? promote(st, &e, step, now) :
			record_step(st, e.id, step);
		if (r == -EALREADY)
			res->outcome = TD_MFA_REPLAY;
		else if (r)
			res->outcome = TD_MFA_STORE;
	}
	if (res->outcome == TD_MFA_OK)
		clear_failures(st, uid);
	else if (res->outcome != TD_MFA_STORE)
		count_failure(st, uid, now, res);
}

int td_mfa_reset(struct td_store *st, int64_t uid, unsigned int *removed)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM mfa_enrolments WHERE uid = ?");
	int r;

	if (s)
		sqlite3_bind_int64(s, 1, uid);
	r = step_done(s);
	if (!r)
		*removed = (unsigned int)sqlite3_changes(td_store_db(st));
	return r ? r : clear_failures(st, uid);
}

int td_mfa_foreach(struct td_store *st, td_mfa_fn fn, void *arg)
{
	sqlite3_stmt *s = prep(st, "SELECT " MFA_COLS ", (SELECT locked_until"
			       " FROM mfa_failures f WHERE f.uid = e.uid)"
			       " FROM mfa_enrolments e ORDER BY uid, id");
	struct td_mfa_enrolment e;
	int rc, r = 0;

	if (!s)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		/* an unreadable row is still listed, so it can be reset */
		enrolment_row(s, &e);
		r = fn(&e, sqlite3_column_int64(s, 10), arg);
		if (r)
			break;
	}
	sqlite3_finalize(s);
	if (!r && rc != SQLITE_DONE)
		return -EIO;
	return r;
}
