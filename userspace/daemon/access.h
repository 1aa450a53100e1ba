/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just-in-time access grants (Documentation/jit-access.md): the state
 * machine and the access_grants table.  No device-mapper here: the request
 * handlers and the expiry sweep are in ops-access.c.
 *
 * Times are UNIX seconds (UTC); every function returns 0 or a negative
 * errno (-ENOENT: no such grant, -EEXIST: another grant of the volume is
 * active, -EIO: SQLite error, see td_grant_err()).
 */
#ifndef TD_ACCESS_H
#define TD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "store.h"

/* Free text (reasons, notes): printable ASCII, 1..TD_TEXT_MAX. */
#define TD_ACCESS_NOTE_MAX	TD_TEXT_MAX

/* Defaults of the tenantd.conf settings of the same names. */
#define TD_ACCESS_PENDING_TTL_DEFAULT	3600	/* access-pending-ttl */
#define TD_ACCESS_MAX_DURATION_DEFAULT	28800	/* access-max-duration */

/* dm name of a grant's mapping: "jit+<tenant>+<volume>". */
#define TD_ACCESS_DM_PREFIX	"jit+"

enum td_grant_state {
	TD_GS_PENDING = 0,	/* asked, waiting for a tenant admin */
	TD_GS_APPROVED,		/* approved, window running, not opened */
	TD_GS_DENIED,		/* refused by a tenant admin (final) */
	TD_GS_EXPIRED,		/* nobody decided in time, or never opened */
	TD_GS_ACTIVE,		/* mapping open for the requester */
	TD_GS_REVOKED,		/* ended by an admin/operator (final) */
	TD_GS_COMPLETED,	/* window over or closed by the requester */
	TD_GS__COUNT
};

/* What moves a grant (the verbs and the clock). */
enum td_grant_event {
	TD_GE_APPROVE = 0,
	TD_GE_DENY,
	TD_GE_OPEN,
	TD_GE_REVOKE,
	TD_GE_CLOSE,		/* the requester is done */
	TD_GE_TIMEOUT,		/* pending TTL or grant window over */
	TD_GE__COUNT
};

enum td_grant_mode { TD_MODE_RO = 0, TD_MODE_RW = 1 };

struct td_grant {
	int64_t id;
	char tenant[TD_ID_MAX + 1];
	char volume[TD_ID_MAX + 1];
	int64_t requester;		/* uid */
	char reason[TD_ACCESS_NOTE_MAX + 1];
	enum td_grant_mode mode_requested;
	enum td_grant_mode mode;	/* approved (<= requested) */
	int64_t duration;		/* seconds, counted from approval */
	enum td_grant_state state;
	int64_t requested;		/* time of the request */
	int64_t pending_until;		/* a pending request expires then */
	int64_t approver;		/* uid who decided; -1 none */
	int64_t decided;		/* 0 if not yet */
	char note[TD_ACCESS_NOTE_MAX + 1];	/* approver's or revoker's note */
	int64_t expires;		/* end of the window; 0 before approval */
	int64_t opened;			/* 0 if never */
	char dm_name[128];
	char device[256];
	int64_t closed;			/* 0 while not final */
	char close_reason[64];		/* why it ended */
};

const char *td_grant_state_name(enum td_grant_state s);
int td_grant_state_parse(const char *name, enum td_grant_state *s);
const char *td_grant_mode_name(enum td_grant_mode m);
int td_grant_mode_parse(const char *name, enum td_grant_mode *m);
/*
 * The state @ev moves @from to, or -EPERM if @ev is not allowed there.
 * The whole machine is this function (tests/unit/test_daemon_access.c).
 */
int td_grant_next(enum td_grant_state from, enum td_grant_event ev,
		  enum td_grant_state *to);
bool td_grant_final(enum td_grant_state s);
/* The deadline of a non-final grant (pending_until or expires), else 0. */
int64_t td_grant_deadline(const struct td_grant *g);

/* The table access_grants: created by a schema step in store.c. */
int td_grant_insert(struct td_store *st, struct td_grant *g);	/* sets id */
int td_grant_get(struct td_store *st, int64_t id, struct td_grant *g);
/* Write every mutable column of @g (state, decision, window, mapping). */
int td_grant_update(struct td_store *st, const struct td_grant *g);
/* The active grant of a volume; -ENOENT if none. */
int td_grant_active(struct td_store *st, const char *tenant,
		    const char *volume, struct td_grant *g);
typedef int (*td_grant_fn)(const struct td_grant *g, void *arg);
/* Grants in id order; @only_open: the non-final ones only. */
int td_grant_foreach(struct td_store *st, bool only_open, td_grant_fn fn,
		     void *arg);
const char *td_grant_err(struct td_store *st);

/* RFC 3339 UTC (seconds) of a UNIX time, "" for 0. */
void td_time_fmt(int64_t t, char *buf, size_t len);

#endif /* TD_ACCESS_H */
