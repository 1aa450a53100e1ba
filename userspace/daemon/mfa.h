/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second factor (Documentation/jit-access.md, "Second factor"): TOTP
 * enrolments (RFC 6238, codes made and checked by liboath) and their
 * table.  A seed is stored only wrapped under the master key
 * (dmt_secret_wrap), bound to its owner: uid, scope, algorithm, digits.
 * No request handling here (ops-mfa.c), no device-mapper.
 *
 * Rules: a code counts within TD_MFA_DRIFT_STEPS steps of the daemon's
 * clock, and never twice: the last accepted time step of an enrolment is
 * stored and only a later step passes.  Wrong codes are counted per uid;
 * TD_MFA_MAX_FAILURES within TD_MFA_FAILURE_WINDOW seconds lock the uid
 * out for TD_MFA_LOCKOUT seconds (persisted: a restart does not unlock).
 */
#ifndef TD_MFA_H
#define TD_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dmtenant.h>

#include "proto.h"
#include "store.h"

#define TD_MFA_PERIOD		30	/* seconds per time step */
#define TD_MFA_DRIFT_STEPS	1	/* accepted either side of now */
/* A code that matches this many steps away is named as a clock problem. */
#define TD_MFA_FAR_STEPS	20
#define TD_MFA_MAX_FAILURES	5
#define TD_MFA_FAILURE_WINDOW	300
#define TD_MFA_LOCKOUT		900
/* A pending enrolment not confirmed within this many seconds is void. */
#define TD_MFA_PENDING_TTL	600
#define TD_MFA_SCOPE_MAX	(TD_ID_MAX + 8)	/* "host", "tenant:<id>" */
#define TD_MFA_URI_MAX		320

enum td_mfa_state { TD_MFA_PENDING = 0, TD_MFA_ACTIVE };
enum td_mfa_algo { TD_MFA_SHA1 = 0, TD_MFA_SHA256 };

struct td_mfa_enrolment {
	int64_t id;
	int64_t uid;
	char scope[TD_MFA_SCOPE_MAX + 1];
	enum td_mfa_state state;
	enum td_mfa_algo algo;
	unsigned int digits;		/* 6 or 8 */
	uint8_t wrapped[DMT_WRAPPED_SECRET_SIZE(DMT_SECRET_MAX)];
	size_t wrapped_len;
	int64_t last_step;		/* last accepted time step; 0 none */
	int64_t created;
	int64_t confirmed;		/* 0 while pending */
};

enum td_mfa_outcome {
	TD_MFA_OK = 0,
	TD_MFA_NOT_ENROLLED,	/* no (pending / active) enrolment */
	TD_MFA_MALFORMED,	/* not 6 or 8 digits as enrolled */
	TD_MFA_WRONG,		/* no match near now */
	TD_MFA_REPLAY,		/* matches a step already used */
	TD_MFA_DRIFT,		/* matches, but too far from the host clock */
	TD_MFA_HOST_CLOCK,	/* host clock behind the last accepted code */
	TD_MFA_LOCKED,		/* too many failures: wait */
	TD_MFA_CORRUPT,		/* stored row unreadable or seed tampered */
	TD_MFA_STORE,		/* database error */
};

struct td_mfa_result {
	enum td_mfa_outcome outcome;
	int64_t enrolment;	/* the one checked, 0 none */
	int64_t offset;		/* seconds between the code and now */
	int64_t locked_until;	/* TD_MFA_LOCKED, or locked by this failure */
	bool locked_now;	/* this failure started a lockout */
	unsigned int failures;	/* counted failures in the window */
};

/* The daemon's clock, UNIX seconds; unit tests replace it. */
extern int64_t (*td_mfa_clock)(void);

const char *td_mfa_algo_name(enum td_mfa_algo a);
int td_mfa_algo_parse(const char *name, enum td_mfa_algo *a);
const char *td_mfa_state_name(enum td_mfa_state s);
/* "host" for staff, "tenant:<id>" for a tenant admin's. */
void td_mfa_scope(const char *tenant, char *buf, size_t len);

/*
 * Start an enrolment for @uid: a new random seed, wrapped, stored as a
 * pending row (replacing an older pending one; an active enrolment stays
 * until this one is confirmed).  Writes the otpauth:// URI (it holds the
 * seed: the caller sends it to the enrollee once, and nowhere else).
 * 0, -EINVAL, -EIO (database), or the library's -errno.
 */
int td_mfa_enrol(struct td_store *st, const struct dmt_key *master,
		 int64_t uid, const char *scope, enum td_mfa_algo algo,
		 unsigned int digits, const char *issuer, const char *account,
		 struct td_mfa_enrolment *e, char *uri, size_t urilen);
/*
 * Check @code for @uid against its active enrolment, or with @confirm its
 * pending one (which then becomes the active one, replacing the old).
 * Updates the last step, the failure count and the lockout as it goes.
 */
void td_mfa_check(struct td_store *st, const struct dmt_key *master,
		  int64_t uid, const char *code, bool confirm,
		  struct td_mfa_result *res);
/* Whether @uid has an active enrolment (@e filled if non-NULL); -EIO. */
int td_mfa_get(struct td_store *st, int64_t uid, bool pending,
	       struct td_mfa_enrolment *e);
/* Remove every enrolment of @uid and its failure count. */
int td_mfa_reset(struct td_store *st, int64_t uid, unsigned int *removed);
typedef int (*td_mfa_fn)(const struct td_mfa_enrolment *e,
			 int64_t locked_until, void *arg);
int td_mfa_foreach(struct td_store *st, td_mfa_fn fn, void *arg);
/* 6 or 8 ASCII digits. */
bool td_mfa_code_wellformed(const char *code);
const char *td_mfa_err(struct td_store *st);

#endif /* TD_MFA_H */
