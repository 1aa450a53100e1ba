// SPDX-License-Identifier: GPL-2.0
/*
 * Second factor (Documentation/jit-access.md, "Second factor"): the mfa.*
 * verbs and op_mfa_check(), which the verbs listed in mfa-required call
 * once their caller is authorised and just before they act.
 *
 * Every check is one audit record ("mfa.verify": uid, the verb, the
 * enrolment, the outcome), a lockout another ("mfa.lockout").  Codes and
 * seeds never reach a record, a log line or an error: the only reply that
 * holds a seed is the enrollee's own mfa.enroll.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "log.h"
#include "mfa.h"
#include "ops-internal.h"

static void role_label(struct op *op, char *buf, size_t len)
{
	if (op->role != TD_ROLE_NONE)
		snprintf(buf, len, "%s", td_role_name(op->role));
	else
		td_roles_label(&op->d->cfg, op->c->uid, buf, len);
}

static void audit(struct op *op, const char *action, const char *result,
		  const char *detail)
{
	char role[64];

	role_label(op, role, sizeof(role));
	op_audit(op->d, op->c->uid, op->c->pid, role, action, op->object,
		 result, detail);
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	td_time_fmt(t, buf, len);
}

static const char *outcome_text(enum td_mfa_outcome o)
{
	switch (o) {
	case TD_MFA_OK: return "checked";
	case TD_MFA_NOT_ENROLLED: return "no enrolment";
	case TD_MFA_MALFORMED: return "malformed code";
	case TD_MFA_WRONG: return "wrong code";
	case TD_MFA_REPLAY: return "code already used";
	case TD_MFA_DRIFT: return "code from a clock far off";
	case TD_MFA_HOST_CLOCK: return "host clock behind the last code";
	case TD_MFA_LOCKED: return "locked out";
	case TD_MFA_CORRUPT: return "enrolment unreadable";
	case TD_MFA_STORE: return "database error";
	}
	return "?";
}

/* The reply for a failed check; records it (and a lockout) in the chain. */
static enum td_err refuse(struct op *op, const char *what,
			  const struct td_mfa_result *res)
{
	unsigned int uid = (unsigned int)op->c->uid;
	char until[32], detail[160];

	td_fmt(detail, sizeof(detail), "second factor for %s: enrolment %"
	       PRId64 ": %s%s", what, res->enrolment, outcome_text(res->outcome),
	       res->locked_now ? "; uid locked out" : "");
	audit(op, "mfa.verify", res->outcome == TD_MFA_MALFORMED ?
	      "invalid-argument" : "denied", detail);
	fmt_time(res->locked_until, until, sizeof(until));
	if (res->locked_now) {
		td_fmt(detail, sizeof(detail),
		       "uid %u locked out until %s after %d wrong codes",
		       uid, until, TD_MFA_MAX_FAILURES);
		td_log(LOG_WARNING, "mfa: %s", detail);
		audit(op, "mfa.lockout", "ok", detail);
	}
	switch (res->outcome) {
	case TD_MFA_OK:
		break;
	case TD_MFA_NOT_ENROLLED:
		op_hint(op, "start again with 'tenantctl mfa enroll' and confirm within %d minutes",
			TD_MFA_PENDING_TTL / 60);
		return op_fail(op, TD_E_DENIED,
			       "uid %u has no enrolment waiting for confirmation",
			       uid);
	case TD_MFA_MALFORMED:
		op_hint(op, "type only the digits your authenticator shows (6 or 8, as enrolled)");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "the one-time code is malformed");
	case TD_MFA_WRONG:
		if (res->locked_now)
			break;
		op_hint(op, "use the current code of the entry 'dm-tenant' for uid %u; a code of another entry never works (%u of %d failures before a lockout)",
			uid, res->failures, TD_MFA_MAX_FAILURES);
		return op_fail(op, TD_E_DENIED,
			       "the one-time code was not accepted");
	case TD_MFA_REPLAY:
		if (res->locked_now)
			break;
		op_hint(op, "wait for the next code (every %d s)",
			TD_MFA_PERIOD);
		return op_fail(op, TD_E_DENIED,
			       "this one-time code was already used");
	case TD_MFA_DRIFT:
		if (res->locked_now)
			break;
		op_hint(op, "set your authenticator's clock right (or this host's: check NTP), then use a fresh code");
		return op_fail(op, TD_E_DENIED,
			       "the one-time code is from %+" PRId64
			       " s away from this host's clock", res->offset);
	case TD_MFA_HOST_CLOCK:
		op_hint(op, "check this host's clock (NTP): no code is accepted until it has caught up");
		return op_fail(op, TD_E_INTERNAL,
			       "this host's clock is %" PRId64
			       " s behind the last accepted code", res->offset);
	case TD_MFA_LOCKED:
		op_hint(op, "wait until then; the operator can clear it with 'tenantctl mfa reset %u' (you enrol again afterwards)",
			uid);
		return op_fail(op, TD_E_DENIED,
			       "uid %u is locked out after too many wrong codes until %s",
			       uid, until);
	case TD_MFA_CORRUPT:
		op_hint(op, "the operator removes it with 'tenantctl mfa reset %u'; then enrol again with 'tenantctl mfa enroll'",
			uid);
		return op_fail(op, TD_E_INTERNAL,
			       "enrolment %" PRId64 " of uid %u cannot be used: its stored seed fails its integrity check; nothing was granted",
			       res->enrolment, uid);
	case TD_MFA_STORE:
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_mfa_err(op->d->st));
	}
	op_hint(op, "wait until then; the operator can clear it with 'tenantctl mfa reset %u'",
		uid);
	return op_fail(op, TD_E_DENIED,
		       "too many failed codes: uid %u is locked out until %s",
		       uid, until);
}

/*
 * The code of the request against the caller's active enrolment.  Runs
 * outside the request's transaction: a code spent stays spent even when
 * the verb then fails.
 */
static enum td_err check_code(struct op *op, const char *what, bool confirm,
			      int64_t *enrolment)
{
	const char *code = td_arg_str(op->req, "code");
	struct td_mfa_result res;
	char detail[160];

	if (op->tx)
		return op_fail(op, TD_E_INTERNAL,
			       "second factor checked inside a transaction");
	if (!code) {
		op_hint(op, "tenantctl asks for it on a terminal; otherwise give it on standard input or with --code");
		return op_fail(op, TD_E_CODE_REQUIRED,
			       "%s needs a one-time code from your authenticator",
			       what);
	}
	td_mfa_check(op->d->st, op->d->master, op->c->uid, code, confirm,
		     &res);
	if (res.outcome != TD_MFA_OK)
		return refuse(op, what, &res);
	td_fmt(detail, sizeof(detail),
	       "second factor for %s: enrolment %" PRId64 " (totp) checked",
	       what, res.enrolment);
	audit(op, "mfa.verify", "ok", detail);
	if (enrolment)
		*enrolment = res.enrolment;
	return TD_OK;
}

enum td_err op_mfa_check(struct op *op)
{
	const char *what = td_verb_name(op->req->verb);
	int r;

	if (!td_mfa_verb_required(&op->d->cfg, op->req->verb))
		return TD_OK;
	r = td_mfa_get(op->d->st, op->c->uid, false, NULL);
	if (r == -ENOENT) {
		op_hint(op, "enrol an authenticator first: 'tenantctl mfa enroll' (then confirm it with one code)");
		return op_fail(op, TD_E_DENIED,
			       "%s needs a second factor and uid %u has none enrolled",
			       what, (unsigned int)op->c->uid);
	}
	if (r == -EIO)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_mfa_err(op->d->st));
	/* an unreadable row is reported by the check itself */
	return check_code(op, what, false, NULL);
}

/* --- verbs --------------------------------------------------------------- */

/* A tenant admin's seed is wrapped for its tenant, anybody else's for the
 * host; a uid that is both is staff. */
static void enrol_scope(const struct td_config *cfg, uid_t uid, char *buf,
			size_t len)
{
	const char *tenant = NULL;
	bool staff = false;
	size_t i;

	for (i = 0; i < cfg->n; i++) {
		if (cfg->e[i].uid != uid)
			continue;
		if (cfg->e[i].role == TD_ROLE_TENANT_ADMIN && !tenant)
			tenant = cfg->e[i].tenant;
		else if (cfg->e[i].role != TD_ROLE_TENANT_ADMIN)
			staff = true;
	}
	td_mfa_scope(staff ? NULL : tenant, buf, len);
}

static void account_name(uid_t uid, char *buf, size_t len)
{
	char host[64] = "";
	size_t i;

	gethostname(host, sizeof(host) - 1);
	/* the label goes into a URI unescaped: keep it to safe characters */
	for (i = 0; host[i]; i++)
		if (!(host[i] >= 'a' && host[i] <= 'z') &&
		    !(host[i] >= 'A' && host[i] <= 'Z') &&
		    !(host[i] >= '0' && host[i] <= '9') && host[i] != '.' &&
		    host[i] != '-')
			host[i] = '-';
	snprintf(buf, len, "uid%u@%s", (unsigned int)uid,
		 host[0] ? host : "localhost");
}

enum td_err op_mfa_enroll(struct op *op)
{
	const char *alg = td_arg_str(op->req, "algorithm");
	uint64_t digits = td_arg_uint(op->req, "digits", 6);
	struct td_mfa_enrolment e;
	enum td_mfa_algo algo = TD_MFA_SHA1;
	char scope[TD_MFA_SCOPE_MAX + 1], account[96], uri[TD_MFA_URI_MAX];
	int64_t old = 0;
	enum td_err err;
	int r;

	snprintf(op->object, sizeof(op->object), "uid%u",
		 (unsigned int)op->c->uid);
	err = op_authorize(op, NULL, NULL);
	if (err)
		return err;
	if ((alg && td_mfa_algo_parse(alg, &algo)) ||
	    (digits != 6 && digits != 8)) {
		op_hint(op, "algorithm sha1 (what most authenticator apps expect) or sha256; 6 or 8 digits");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "unsupported TOTP parameters");
	}
	/* Replacing an enrolment takes a code of the current one: a stolen
	 * shell must not swap in its own authenticator. */
	r = td_mfa_get(op->d->st, op->c->uid, false, &e);
	if (r != -ENOENT) {
		if (r == -EIO)
			return op_fail(op, TD_E_INTERNAL, "database: %s",
				       td_mfa_err(op->d->st));
		err = check_code(op, "mfa.enroll (replacing an enrolment)",
				 false, &old);
		if (err)
			return err;
	}
	enrol_scope(&op->d->cfg, op->c->uid, scope, sizeof(scope));
	account_name(op->c->uid, account, sizeof(account));
	r = td_mfa_enrol(op->d->st, op->d->master, op->c->uid, scope, algo,
			 (unsigned int)digits, "dm-tenant", account, &e, uri,
			 sizeof(uri));
	if (r)
		return op_from_errno(op, r, "enrolment");
	td_fmt(op->detail, sizeof(op->detail),
	       "enrolment %" PRId64 " pending: totp %s %" PRIu64
	       " digits %d s, seed wrapped (%s)%s",
	       e.id, td_mfa_algo_name(algo), digits, TD_MFA_PERIOD, scope,
	       old ? "; replaces the active one once confirmed" : "");
	op->result = json_object_new_object();
	json_object_object_add(op->result, "enrolment",
			       json_object_new_int64(e.id));
	json_object_object_add(op->result, "uri", json_object_new_string(uri));
	json_object_object_add(op->result, "account",
			       json_object_new_string(account));
	json_object_object_add(op->result, "scope",
			       json_object_new_string(scope));
	json_object_object_add(op->result, "confirm_within",
			       json_object_new_int(TD_MFA_PENDING_TTL));
	explicit_bzero(uri, sizeof(uri));
	return TD_OK;
}

enum td_err op_mfa_confirm(struct op *op)
{
	int64_t id = 0;
	enum td_err e;

	snprintf(op->object, sizeof(op->object), "uid%u",
		 (unsigned int)op->c->uid);
	e = op_authorize(op, NULL, NULL);
	if (e)
		return e;
	e = check_code(op, "mfa.confirm", true, &id);
	if (e)
		return e;
	td_fmt(op->detail, sizeof(op->detail),
	       "enrolment %" PRId64 " active", id);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "enrolment",
			       json_object_new_int64(id));
	json_object_object_add(op->result, "state",
			       json_object_new_string("active"));
	return TD_OK;
}

enum td_err op_mfa_reset(struct op *op)
{
	int64_t uid = (int64_t)td_arg_uint(op->req, "uid", 0);
	unsigned int removed = 0;
	enum td_err e;

	snprintf(op->object, sizeof(op->object), "uid%" PRId64, uid);
	e = op_authorize(op, NULL, NULL);
	if (e)
		return e;
	if (td_mfa_reset(op->d->st, uid, &removed))
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_mfa_err(op->d->st));
	td_fmt(op->detail, sizeof(op->detail),
	       "%u enrolment(s) of uid %" PRId64 " removed, failures cleared",
	       removed, uid);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "uid", json_object_new_int64(uid));
	json_object_object_add(op->result, "removed",
			       json_object_new_int(removed));
	return TD_OK;
}

struct list_arg {
	struct op *op;
	json_object *arr;
};

static int list_one(const struct td_mfa_enrolment *e, int64_t locked,
		    void *arg)
{
	struct list_arg *la = arg;
	json_object *o;
	char t[32];

	if (la->op->role != TD_ROLE_OPERATOR &&
	    e->uid != (int64_t)la->op->c->uid)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "enrolment", json_object_new_int64(e->id));
	json_object_object_add(o, "uid", json_object_new_int64(e->uid));
	json_object_object_add(o, "scope", json_object_new_string(e->scope));
	json_object_object_add(o, "state", json_object_new_string(
		td_mfa_state_name(e->state)));
	json_object_object_add(o, "readable",
			       json_object_new_boolean(e->wrapped_len > 0));
	json_object_object_add(o, "algorithm", json_object_new_string(
		td_mfa_algo_name(e->algo)));
	json_object_object_add(o, "digits", json_object_new_int(e->digits));
	fmt_time(e->created, t, sizeof(t));
	json_object_object_add(o, "created", json_object_new_string(t));
	fmt_time(e->confirmed, t, sizeof(t));
	json_object_object_add(o, "confirmed", e->confirmed ?
			       json_object_new_string(t) : NULL);
	fmt_time(e->last_step * TD_MFA_PERIOD, t, sizeof(t));
	json_object_object_add(o, "last_used", e->last_step ?
			       json_object_new_string(t) : NULL);
	fmt_time(locked, t, sizeof(t));
	json_object_object_add(o, "locked_until",
			       locked > td_mfa_clock() ?
			       json_object_new_string(t) : NULL);
	json_object_array_add(la->arr, o);
	return 0;
}

enum td_err op_mfa_list(struct op *op)
{
	struct list_arg la = { op, NULL };
	enum td_err e = op_authorize(op, NULL, NULL);

	if (e)
		return e;
	la.arr = json_object_new_array();
	if (td_mfa_foreach(op->d->st, list_one, &la)) {
		json_object_put(la.arr);
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_mfa_err(op->d->st));
	}
	op->result = json_object_new_object();
	json_object_object_add(op->result, "enrolments", la.arr);
	return TD_OK;
}
