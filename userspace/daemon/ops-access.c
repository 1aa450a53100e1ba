// SPDX-License-Identifier: GPL-2.0
/*
 * Just-in-time access (Documentation/jit-access.md): support staff ask for
 * one volume with a reason and a duration, a tenant admin (never the
 * requester) approves, the requester opens a mapping only it can read, and
 * tenantd tears the mapping down (suspend, key wipe, remove; I/O in flight
 * then fails) when the window ends or the grant is revoked.
 *
 * The clock: td_access_tick() runs from the daemon's poll loop and returns
 * the time to the next deadline; td_access_startup() closes what expired
 * while tenantd was down and removes grant mappings nobody holds a grant
 * for.  Every move is one audit record: the verbs' own (finish() in ops.c)
 * or a daemon event ("access.expire", "access.startup").
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dmtenant.h>

#include "access.h"
#include "log.h"
#include "ops-internal.h"

/* Earliest deadline of a non-final grant (UNIX s); 0: recompute. */
static int64_t next_due;

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static unsigned int pending_ttl(const struct td_daemon *d)
{
	return d->cfg.access_pending_ttl ? d->cfg.access_pending_ttl :
		TD_ACCESS_PENDING_TTL_DEFAULT;
}

static unsigned int max_duration(const struct td_daemon *d)
{
	return d->cfg.access_max_duration ? d->cfg.access_max_duration :
		TD_ACCESS_MAX_DURATION_DEFAULT;
}

bool td_access_is_grant_dev(const char *dm_name)
{
	return !strncmp(dm_name, TD_ACCESS_DM_PREFIX,
			strlen(TD_ACCESS_DM_PREFIX));
}

static void grant_object(const struct td_grant *g, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/grant%" PRId64, g->tenant, g->volume, g->id);
}

static void add_time(json_object *o, const char *key, int64_t t)
{
	char buf[32];

	td_time_fmt(t, buf, sizeof(buf));
	json_object_object_add(o, key, t ? json_object_new_string(buf) : NULL);
}

static json_object *grant_json(const struct td_grant *g)
{
	json_object *o = json_object_new_object();
	int64_t due = td_grant_deadline(g), now = now_s();

	json_object_object_add(o, "id", json_object_new_int64(g->id));
	json_object_object_add(o, "tenant", json_object_new_string(g->tenant));
	json_object_object_add(o, "volume", json_object_new_string(g->volume));
	json_object_object_add(o, "state", json_object_new_string(
		td_grant_state_name(g->state)));
	json_object_object_add(o, "requester",
			       json_object_new_int64(g->requester));
	json_object_object_add(o, "reason", json_object_new_string(g->reason));
	json_object_object_add(o, "mode_requested", json_object_new_string(
		td_grant_mode_name(g->mode_requested)));
	json_object_object_add(o, "mode", json_object_new_string(
		td_grant_mode_name(g->mode)));
	json_object_object_add(o, "duration",
			       json_object_new_int64(g->duration));
	add_time(o, "requested", g->requested);
	add_time(o, "pending_until", g->state == TD_GS_PENDING ?
		 g->pending_until : 0);
	json_object_object_add(o, "approver", g->approver >= 0 ?
			       json_object_new_int64(g->approver) : NULL);
	add_time(o, "decided", g->decided);
	json_object_object_add(o, "note", g->note[0] ?
			       json_object_new_string(g->note) : NULL);
	add_time(o, "expires", g->expires);
	add_time(o, "opened", g->opened);
	json_object_object_add(o, "device", g->device[0] ?
			       json_object_new_string(g->device) : NULL);
	json_object_object_add(o, "dm_name", g->dm_name[0] ?
			       json_object_new_string(g->dm_name) : NULL);
	add_time(o, "closed", g->closed);
	json_object_object_add(o, "close_reason", g->close_reason[0] ?
			       json_object_new_string(g->close_reason) : NULL);
	json_object_object_add(o, "remaining", due ?
			       json_object_new_int64(due > now ? due - now : 0) :
			       NULL);
	return o;
}

/* Hand the grant's device nodes to the requester: 0400 ro, 0600 rw. */
static int chown_nodes(struct td_daemon *d, const char *name, uid_t uid,
		       mode_t mode)
{
	struct dmt_dev_info info;
	struct passwd *pw = getpwuid(uid);
	gid_t gid = pw ? pw->pw_gid : (gid_t)uid;
	char path[512];
	int done = 0, failed = 0;

	snprintf(path, sizeof(path), "%s/mapper/%s", d->dev_dir, name);
	if (access(path, F_OK) == 0) {
		if (chown(path, uid, gid) || chmod(path, mode))
			failed++;
		else
			done++;
	}
	if (dmt_dev_info(d->dmt, name, &info) == 0) {
		snprintf(path, sizeof(path), "%s/dm-%u", d->dev_dir,
			 info.minor);
		if (chown(path, uid, gid) || chmod(path, mode))
			failed++;
		else
			done++;
	}
	return done && !failed ? 0 : -EPERM;
}

/*
 * Suspend, wipe the key, remove.  A device still open gets an error table
 * and is removed on its last close: its user's I/O fails from now on.
 * Writes a note for the audit record to @note.  0 or -errno.
 */
static int teardown(struct td_daemon *d, const struct td_grant *g, char *note,
		    size_t len)
{
	struct dmt_dev_info info;
	char path[512];
	int r;

	if (d->no_dm) {
		td_fmt(note, len, "no device-mapper (--no-dm)");
		return 0;
	}
	op_udev_owner_forget(d, g->dm_name);
	r = dmt_volume_detach(d->dmt, g->dm_name, DMT_DETACH_FORCE);
	if (r == -ENODEV) {
		td_fmt(note, len, "%.60s already gone", g->dm_name);
		return 0;
	}
	if (r) {
		td_fmt(note, len, "teardown of %.60s FAILED: %.40s", g->dm_name,
			 strerror(-r));
		return r;
	}
	if (dmt_dev_info(d->dmt, g->dm_name, &info) == 0)
		td_fmt(note, len,
			 "%.52s suspended, key wiped, error table; removed at last close",
			 g->dm_name);
	else
		td_fmt(note, len, "%.60s suspended, key wiped, removed",
			 g->dm_name);
	/*
	 * No new open through the name from now on.  After a deferred
	 * remove nobody else deletes this node (no udev), and a stale node
	 * owned by the requester would open whatever device reuses the
	 * minor.  Open descriptors keep working (and failing) as they are.
	 */
	snprintf(path, sizeof(path), "%s/mapper/%s", d->dev_dir, g->dm_name);
	if (unlink(path) && errno != ENOENT)
		td_log(LOG_ERR, "access: cannot remove %s: %s", path,
		       strerror(errno));
	return 0;
}

/*
 * Apply the clock to one grant: a passed deadline moves it (pending and
 * approved expire, active completes after a teardown).  Returns 1 if it
 * moved, 0 if not due, -errno if the teardown failed (retried later).
 */
static int expire_one(struct td_daemon *d, struct td_grant *g, int64_t now)
{
	enum td_grant_state from = g->state, to;
	int64_t due = td_grant_deadline(g);
	char obj[112], note[120], detail[160];
	int r = 0;

	if (!due || due > now || td_grant_next(from, TD_GE_TIMEOUT, &to))
		return 0;
	note[0] = '\0';
	if (from == TD_GS_ACTIVE) {
		r = teardown(d, g, note, sizeof(note));
		if (r) {
			grant_object(g, obj, sizeof(obj));
			td_log(LOG_ERR, "access: grant %" PRId64 ": %s",
			       g->id, note);
			td_audit_event(d, "access.expire", obj, "internal",
				       note);
			return r;
		}
	}
	g->state = to;
	g->closed = now;
	td_fmt(g->close_reason, sizeof(g->close_reason), "%s",
		 from == TD_GS_PENDING ? "no decision in time" :
		 from == TD_GS_APPROVED ? "window ended unopened" :
		 "window ended");
	if (td_grant_update(d->st, g))
		td_log(LOG_ERR, "access: grant %" PRId64 " NOT recorded as %s: %s",
		       g->id, td_grant_state_name(to), td_grant_err(d->st));
	td_fmt(detail, sizeof(detail), "grant %" PRId64 " %s -> %s (%s)%s%s",
		 g->id, td_grant_state_name(from), td_grant_state_name(to),
		 g->close_reason, note[0] ? ": " : "", note);
	grant_object(g, obj, sizeof(obj));
	td_log(LOG_INFO, "access: %s", detail);
	td_audit_event(d, "access.expire", obj, "ok", detail);
	return 1;
}

struct grant_list {
	struct td_grant *g;
	size_t n;
};

static int collect(const struct td_grant *g, void *arg)
{
	struct grant_list *gl = arg;
	struct td_grant *ng = realloc(gl->g, (gl->n + 1) * sizeof(*ng));

	if (!ng)
		return -ENOMEM;
	gl->g = ng;
	gl->g[gl->n++] = *g;
	return 0;
}

/* Expire what is due; returns the next deadline (0: none). */
static int64_t sweep(struct td_daemon *d, unsigned int *moved)
{
	struct grant_list gl = { NULL, 0 };
	int64_t now = now_s(), next = 0, due;
	size_t i;
	int r;

	if (td_grant_foreach(d->st, true, collect, &gl)) {
		td_log(LOG_ERR, "access: cannot read grants: %s",
		       td_grant_err(d->st));
		free(gl.g);
		return now + 5;
	}
	for (i = 0; i < gl.n; i++) {
		r = expire_one(d, &gl.g[i], now);
		if (r > 0 && moved)
			(*moved)++;
		due = r < 0 ? now + 5 : td_grant_deadline(&gl.g[i]);
		if (due && (!next || due < next))
			next = due;
	}
	free(gl.g);
	return next;
}

int64_t td_access_tick(struct td_daemon *d)
{
	struct timespec ts;
	int64_t now_ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!next_due || now_ms >= next_due * 1000) {
		next_due = sweep(d, NULL);
		if (!next_due)
			next_due = -1;	/* nothing open */
	}
	if (next_due < 0)
		return -1;
	return next_due * 1000 > now_ms ? next_due * 1000 - now_ms : 0;
}

/* After a change by a verb: the next tick recomputes the deadline. */
static void changed(void)
{
	next_due = 0;
}

struct orphan_arg {
	struct td_daemon *d;
	unsigned int removed, vanished, kept;
};

static int orphan_dev(const struct dmt_dev_info *info, void *arg)
{
	struct orphan_arg *oa = arg;
	struct td_grant g;
	char note[120], detail[160];
	bool held = false;
	char tenant[TD_ID_MAX + 1] = "", volume[TD_ID_MAX + 1] = "";
	const char *p, *q;

	if (!td_access_is_grant_dev(info->name))
		return 0;
	p = info->name + strlen(TD_ACCESS_DM_PREFIX);
	q = strchr(p, '+');
	if (q && (size_t)(q - p) <= TD_ID_MAX && strlen(q + 1) <= TD_ID_MAX) {
		snprintf(tenant, sizeof(tenant), "%.*s", (int)(q - p), p);
		snprintf(volume, sizeof(volume), "%s", q + 1);
		held = td_grant_active(oa->d->st, tenant, volume, &g) == 0 &&
			!strcmp(g.dm_name, info->name);
	}
	if (held) {
		oa->kept++;
		return 0;
	}
	memset(&g, 0, sizeof(g));
	snprintf(g.dm_name, sizeof(g.dm_name), "%s", info->name);
	teardown(oa->d, &g, note, sizeof(note));
	td_fmt(detail, sizeof(detail), "no active grant holds it: %s", note);
	td_log(LOG_WARNING, "access: %s: %s", info->name, detail);
	td_audit_event(oa->d, "access.orphan", info->name, "ok", detail);
	oa->removed++;
	return 0;
}

static int vanished_grant(const struct td_grant *g, void *arg)
{
	struct orphan_arg *oa = arg;
	struct dmt_dev_info info;
	struct td_grant c = *g;
	char obj[112], detail[160];

	if (g->state != TD_GS_ACTIVE ||
	    dmt_dev_info(oa->d->dmt, g->dm_name, &info) != -ENODEV)
		return 0;
	c.state = TD_GS_COMPLETED;
	c.closed = now_s();
	td_fmt(c.close_reason, sizeof(c.close_reason), "mapping vanished");
	td_grant_update(oa->d->st, &c);
	grant_object(&c, obj, sizeof(obj));
	td_fmt(detail, sizeof(detail),
		 "grant %" PRId64 " active -> completed: %.60s is gone",
		 c.id, c.dm_name);
	td_audit_event(oa->d, "access.expire", obj, "ok", detail);
	oa->vanished++;
	return 0;
}

void td_access_startup(struct td_daemon *d)
{
	struct orphan_arg oa = { .d = d };
	unsigned int expired = 0;
	char detail[160];

	next_due = sweep(d, &expired);
	if (!next_due)
		next_due = -1;
	if (!d->no_dm) {
		struct grant_list gl = { NULL, 0 };
		size_t i;

		td_grant_foreach(d->st, true, collect, &gl);
		for (i = 0; i < gl.n; i++)
			vanished_grant(&gl.g[i], &oa);
		free(gl.g);
		dmt_dev_list(d->dmt, orphan_dev, &oa);
	}
	td_fmt(detail, sizeof(detail),
		 "closed %u due, %u active kept, %u vanished, %u unheld mapping(s) removed",
		 expired, oa.kept, oa.vanished, oa.removed);
	td_log(LOG_INFO, "access: %s", detail);
	td_audit_event(d, "access.startup", "", "ok", detail);
	changed();
}

/* --- verbs --------------------------------------------------------------- */

enum td_err op_access_check_free(struct op *op, const struct td_volume *v)
{
	struct td_grant g;
	char until[32];

	if (td_grant_active(op->d->st, v->tenant, v->id, &g))
		return TD_OK;
	td_time_fmt(g.expires, until, sizeof(until));
	op_hint(op, "wait until %s, or a tenant admin ends it: 'tenantctl access revoke %" PRId64 "'",
		until, g.id);
	return op_fail(op, TD_E_CONFLICT,
		       "%s/%s is mapped for uid %" PRId64 " by access grant %" PRId64,
		       v->tenant, v->id, g.requester, g.id);
}

/*
 * Load the grant named by "id", apply the clock to it, and authorise the
 * verb on its tenant.  Callers who may not act on the grant's tenant are
 * denied whether or not it exists.
 */
static enum td_err load_grant(struct op *op, struct td_grant *g)
{
	int64_t id = (int64_t)td_arg_uint(op->req, "id", 0);
	enum td_err e;
	int r;

	snprintf(op->object, sizeof(op->object), "grant%" PRId64, id);
	r = td_grant_get(op->d->st, id, g);
	if (r && r != -ENOENT)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_grant_err(op->d->st));
	if (!r)
		grant_object(g, op->object, sizeof(op->object));
	e = op_authorize(op, r ? NULL : g->tenant, NULL);
	if (e)
		return e;
	if (r) {
		op_hint(op, "list requests with 'tenantctl access list --all'");
		return op_fail(op, TD_E_NOT_FOUND, "no access request %" PRId64,
			       id);
	}
	if (expire_one(op->d, g, now_s()) > 0)
		changed();
	return TD_OK;
}

static enum td_err refuse_move(struct op *op, const struct td_grant *g,
			       const char *what)
{
	switch (g->state) {
	case TD_GS_PENDING:
		op_hint(op, "a tenant admin of %s must approve it first",
			g->tenant);
		break;
	case TD_GS_APPROVED:
		op_hint(op, "it is approved: the requester opens it with 'tenantctl access open %" PRId64 "'",
			g->id);
		break;
	case TD_GS_ACTIVE:
		op_hint(op, "it is open; it ends with its window, 'tenantctl access close' or 'tenantctl access revoke'");
		break;
	default:
		op_hint(op, "it is over; ask again with 'tenantctl access request'");
	}
	return op_fail(op, TD_E_CONFLICT, "cannot %s access request %" PRId64
		       ": it is %s%s%s", what, g->id,
		       td_grant_state_name(g->state),
		       g->close_reason[0] ? " - " : "", g->close_reason);
}

static enum td_err save(struct op *op, struct td_grant *g)
{
	changed();
	if (td_grant_update(op->d->st, g))
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_grant_err(op->d->st));
	return TD_OK;
}

enum td_err op_access_request(struct op *op)
{
	const char *reason = td_arg_str(op->req, "reason");
	const char *mode = td_arg_str(op->req, "mode");
	uint64_t duration = td_arg_uint(op->req, "duration", 0);
	struct td_volume v;
	struct td_grant g;
	enum td_err e = op_load_volume(op, &v);
	int r;

	if (e)
		return e;
	if (!duration || duration > max_duration(op->d)) {
		op_hint(op, "ask for 1..%u seconds (access-max-duration in tenantd.conf)",
			max_duration(op->d));
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "duration %" PRIu64 " s is out of range",
			       duration);
	}
	memset(&g, 0, sizeof(g));
	snprintf(g.tenant, sizeof(g.tenant), "%s", v.tenant);
	snprintf(g.volume, sizeof(g.volume), "%s", v.id);
	g.requester = op->c->uid;
	snprintf(g.reason, sizeof(g.reason), "%s", reason);
	g.mode_requested = TD_MODE_RO;
	if (mode)
		td_grant_mode_parse(mode, &g.mode_requested);
	g.mode = g.mode_requested;
	g.duration = (int64_t)duration;
	g.state = TD_GS_PENDING;
	g.requested = now_s();
	g.pending_until = g.requested + pending_ttl(op->d);
	g.approver = -1;
	r = td_grant_insert(op->d->st, &g);
	if (r)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_grant_err(op->d->st));
	changed();
	grant_object(&g, op->object, sizeof(op->object));
	td_fmt(op->detail, sizeof(op->detail),
		 "grant %" PRId64 " pending, %s %" PRId64 "s, reason: %s",
		 g.id, td_grant_mode_name(g.mode), g.duration, g.reason);
	op->result = grant_json(&g);
	return TD_OK;
}

enum td_err op_access_decide(struct op *op)
{
	bool approve = op->req->verb == TD_V_ACCESS_APPROVE;
	const char *mode = td_arg_str(op->req, "mode");
	const char *note = td_arg_str(op->req, "note");
	enum td_grant_state to;
	struct td_grant g;
	enum td_err e = load_grant(op, &g);
	char until[32];

	if (e)
		return e;
	if (g.requester == (int64_t)op->c->uid) {
		op_hint(op, "another tenant admin of %s must decide", g.tenant);
		return op_fail(op, TD_E_DENIED,
			       "uid %u asked for access request %" PRId64
			       " and may not decide it",
			       (unsigned int)op->c->uid, g.id);
	}
	if (td_grant_next(g.state, approve ? TD_GE_APPROVE : TD_GE_DENY, &to))
		return refuse_move(op, &g, approve ? "approve" : "deny");
	if (approve && mode) {
		enum td_grant_mode m;

		td_grant_mode_parse(mode, &m);
		if (m > g.mode_requested) {
			op_hint(op, "approve it as asked (ro), or let the requester ask again for rw");
			return op_fail(op, TD_E_INVALID_ARGUMENT,
				       "access request %" PRId64
				       " asked for ro: cannot approve rw",
				       g.id);
		}
		g.mode = m;
	}
	e = op_mfa_check(op);
	if (e)
		return e;
	g.state = to;
	g.approver = op->c->uid;
	g.decided = now_s();
	snprintf(g.note, sizeof(g.note), "%s", note ? note : "");
	if (approve) {
		g.expires = g.decided + g.duration;
	} else {
		g.closed = g.decided;
		td_fmt(g.close_reason, sizeof(g.close_reason), "denied");
	}
	e = save(op, &g);
	if (e)
		return e;
	td_time_fmt(g.expires, until, sizeof(until));
	if (approve)
		td_fmt(op->detail, sizeof(op->detail),
			 "grant %" PRId64 " approved %s (asked %s) for uid %" PRId64
			 " until %s%s%s", g.id, td_grant_mode_name(g.mode),
			 td_grant_mode_name(g.mode_requested), g.requester,
			 until, g.note[0] ? ": " : "", g.note);
	else
		td_fmt(op->detail, sizeof(op->detail),
			 "grant %" PRId64 " denied for uid %" PRId64 "%s%s",
			 g.id, g.requester, g.note[0] ? ": " : "", g.note);
	op->result = grant_json(&g);
	return TD_OK;
}

enum td_err op_access_open(struct op *op)
{
	const char *mode = td_arg_str(op->req, "mode");
	struct dmt_leg legs[TD_MAX_LEGS];
	struct dmt_volume dv;
	struct dmt_key *kek = NULL;
	enum td_grant_state to;
	struct td_volume v;
	struct td_tenant t;
	struct td_grant g;
	char path[DMT_DEV_PATH_MAX], note[120], until[32];
	enum td_err e = load_grant(op, &g);
	bool next;
	int r;

	if (e)
		return e;
	if (g.requester != (int64_t)op->c->uid) {
		op_hint(op, "only the requester opens a grant; ask for your own with 'tenantctl access request'");
		return op_fail(op, TD_E_DENIED,
			       "access request %" PRId64 " belongs to uid %" PRId64,
			       g.id, g.requester);
	}
	if (td_grant_next(g.state, TD_GE_OPEN, &to))
		return refuse_move(op, &g, "open");
	if (mode && !strcmp(mode, "rw") && g.mode != TD_MODE_RW) {
		op_hint(op, "open it read-only, or ask again for rw");
		return op_fail(op, TD_E_DENIED,
			       "access request %" PRId64 " was approved read-only",
			       g.id);
	}
	e = op_need_dm(op);
	if (!e)
		e = op_mfa_check(op);
	if (e)
		return e;
	r = td_volume_get(op->d->st, g.tenant, g.volume, &v);
	if (r)
		return op_fail(op, r == -ENOENT ? TD_E_NOT_FOUND : TD_E_INTERNAL,
			       "volume %s/%s: %s", g.tenant, g.volume,
			       r == -ENOENT ? "gone" : td_store_err(op->d->st));
	if (v.attached) {
		op_hint(op, "the volume is live for VM '%s': it must be detached before support can map it",
			v.att_vm);
		return op_fail(op, TD_E_CONFLICT, "%s/%s is attached as %s",
			       v.tenant, v.id, v.dm_name);
	}
	e = op_load_tenant(op, v.tenant, &t);
	if (e)
		return e;
	next = t.has_next && v.kek_gen == t.next_gen;
	e = op_unwrap(op, &t, next, &kek);
	if (e)
		return e;
	snprintf(g.dm_name, sizeof(g.dm_name), "%s%s+%s", TD_ACCESS_DM_PREFIX,
		 v.tenant, v.id);
	op_to_dmt(&v, &dv, legs);
	/* Where udev runs, its rule gives the node to the requester too
	 * (a change event would otherwise make it root's again). */
	op_udev_owner_publish(op->d, g.dm_name, (uid_t)g.requester, NULL);
	r = dmt_volume_attach(op->d->dmt, &dv, kek, g.dm_name,
			      g.mode == TD_MODE_RO ? DMT_ATTACH_READ_ONLY : 0,
			      path, sizeof(path));
	if (r == -EPERM && t.has_next) {
		dmt_key_free(kek);
		kek = NULL;
		e = op_unwrap(op, &t, !next, &kek);
		if (e)
			return e;
		r = dmt_volume_attach(op->d->dmt, &dv, kek, g.dm_name,
				      g.mode == TD_MODE_RO ?
				      DMT_ATTACH_READ_ONLY : 0,
				      path, sizeof(path));
	}
	dmt_key_free(kek);
	if (r)
		return op_from_errno(op, r, "mapping the volume");
	snprintf(g.device, sizeof(g.device), "%s", path);
	if (chown_nodes(op->d, g.dm_name, (uid_t)g.requester,
			g.mode == TD_MODE_RO ? 0400 : 0600)) {
		teardown(op->d, &g, note, sizeof(note));
		return op_fail(op, TD_E_INTERNAL,
			       "cannot hand %s to uid %" PRId64 "; mapping removed (%s)",
			       g.dm_name, g.requester, note);
	}
	g.state = to;
	g.opened = now_s();
	e = save(op, &g);
	if (e) {
		teardown(op->d, &g, note, sizeof(note));
		return e;
	}
	td_time_fmt(g.expires, until, sizeof(until));
	td_fmt(op->detail, sizeof(op->detail),
		 "grant %" PRId64 " opened: %s %s for uid %" PRId64 " until %s",
		 g.id, g.dm_name, td_grant_mode_name(g.mode), g.requester,
		 until);
	op->result = grant_json(&g);
	return TD_OK;
}

/* access.close (the requester is done) and access.revoke (admin). */
enum td_err op_access_end(struct op *op)
{
	bool revoke = op->req->verb == TD_V_ACCESS_REVOKE;
	const char *note = td_arg_str(op->req, "note");
	enum td_grant_state from, to;
	struct td_grant g;
	char tnote[120] = "";
	enum td_err e = load_grant(op, &g);

	if (e)
		return e;
	if (!revoke && g.requester != (int64_t)op->c->uid) {
		op_hint(op, "a tenant admin or the operator ends other people's grants with 'tenantctl access revoke'");
		return op_fail(op, TD_E_DENIED,
			       "access request %" PRId64 " belongs to uid %" PRId64,
			       g.id, g.requester);
	}
	from = g.state;
	if (td_grant_next(from, revoke ? TD_GE_REVOKE : TD_GE_CLOSE, &to))
		return refuse_move(op, &g, revoke ? "revoke" : "close");
	if (from == TD_GS_ACTIVE && teardown(op->d, &g, tnote, sizeof(tnote))) {
		op_hint(op, "see the daemon log; tenantd retries when the window ends");
		return op_fail(op, TD_E_INTERNAL, "%s", tnote);
	}
	g.state = to;
	g.closed = now_s();
	td_fmt(g.close_reason, sizeof(g.close_reason), "%s by uid %u",
		 revoke ? "revoked" : "closed", (unsigned int)op->c->uid);
	if (revoke && note)
		snprintf(g.note, sizeof(g.note), "%s", note);
	e = save(op, &g);
	if (e)
		return e;
	td_fmt(op->detail, sizeof(op->detail), "grant %" PRId64
		 " %s -> %s%s%s%s%s", g.id, td_grant_state_name(from),
		 td_grant_state_name(to), tnote[0] ? ": " : "", tnote,
		 revoke && note ? "; note: " : "", revoke && note ? note : "");
	op->result = grant_json(&g);
	return TD_OK;
}

struct list_arg2 {
	struct op *op;
	const char *tenant;
	bool all;
	json_object *arr;
};

static int list_one(const struct td_grant *g, void *arg)
{
	struct list_arg2 *la = arg;
	struct td_authz obj = { .tenant = g->tenant };
	enum td_role role;

	if (la->tenant && strcmp(la->tenant, g->tenant))
		return 0;
	if (!la->all && td_grant_final(g->state))
		return 0;
	role = td_authorize(&la->op->d->cfg, la->op->c->uid, TD_V_ACCESS_LIST,
			    &obj);
	/* support sees its own requests only */
	if (role == TD_ROLE_NONE || (role == TD_ROLE_SUPPORT &&
				     g->requester != (int64_t)la->op->c->uid))
		return 0;
	json_object_array_add(la->arr, grant_json(g));
	return 0;
}

enum td_err op_access_list(struct op *op)
{
	struct list_arg2 la = { op, td_arg_str(op->req, "tenant"),
				td_arg_bool(op->req, "all"), NULL };
	enum td_err e;

	op_set_object(op, la.tenant, NULL);
	e = op_authorize(op, NULL, NULL);
	if (e)
		return e;
	next_due = sweep(op->d, NULL);
	if (!next_due)
		next_due = -1;
	la.arr = json_object_new_array();
	if (td_grant_foreach(op->d->st, !la.all, list_one, &la)) {
		json_object_put(la.arr);
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_grant_err(op->d->st));
	}
	op->result = json_object_new_object();
	json_object_object_add(op->result, "grants", la.arr);
	return TD_OK;
}
