// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd: udev provisioning (Documentation/udev-hypervisor.md).
 *
 *   leg.seen     udev saw a block device carrying a dm-tenant leg: record
 *                it; assemble a volume marked for automatic attach once all
 *                its legs are present; a leg of an attached volume that
 *                comes back after it vanished is put back in the table and
 *                resynced ("leg <i> recover").
 *   leg.gone     a leg's device went away: recorded; the kernel is told to
 *                stop using it ("leg <i> fail") so the volume degrades at
 *                once instead of at the next write error.
 *   volume.auto  mark a volume for automatic attach (operator).
 *
 * Leg reports come from udev (root) only.  The daemon never trusts the
 * reporter's view of a device: it reads the leg's LUKS2 header itself.  A
 * leg of a volume this daemon does not know is logged and audited, never
 * used.
 *
 * The owner files (/run/dm-tenant/owner/<dm name>) tell the udev rule who
 * owns a tenant device node, so that udev's change events keep the owner
 * that op_chown_nodes() set.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dmtenant.h>

#include "log.h"
#include "ops-internal.h"

#define RUN_DIR		"/run/dm-tenant"
#define OWNER_DIR	RUN_DIR "/owner"

/* --- owner files ---------------------------------------------------------- */

static bool dm_live(struct td_daemon *d, const char *name)
{
	struct dmt_dev_info info;

	return d->dmt && !d->no_dm && !dmt_dev_info(d->dmt, name, &info);
}

static const char *owner_dir(const struct td_daemon *d)
{
	return d->owner_dir ? d->owner_dir : OWNER_DIR;
}

static void owner_write(struct td_daemon *d, const char *name, uid_t uid,
			const char *vm)
{
	struct passwd *pw = getpwuid(uid);
	gid_t gid = pw ? pw->pw_gid : (gid_t)uid;
	char path[256], tmp[272];
	FILE *f;

	if (!d->owner_dir && mkdir(RUN_DIR, 0755) && errno != EEXIST)
		goto fail;
	if (mkdir(owner_dir(d), 0755) && errno != EEXIST)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", owner_dir(d), name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		goto fail;
	fchmod(fileno(f), 0644);
	fprintf(f, "DMT_OWNER=%u\nDMT_GROUP=%u\nDMT_VM=%s\n",
		(unsigned int)uid, (unsigned int)gid, vm ? vm : "");
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		goto fail;
	}
	return;
fail:
	td_log(LOG_WARNING, "%s: cannot write the owner file for udev: %s",
	       name, strerror(errno));
}

void op_udev_owner_publish(struct td_daemon *d, const char *name, uid_t uid,
			   const char *vm)
{
	/* A live device of that name keeps its owner (the attach that
	 * called us will fail with -EEXIST). */
	if (dm_live(d, name))
		return;
	owner_write(d, name, uid, vm);
}

void op_udev_owner_restore(struct td_daemon *d, const char *name, uid_t uid,
			   const char *vm)
{
	owner_write(d, name, uid, vm);
}

void op_udev_owner_forget(struct td_daemon *d, const char *name)
{
	char path[256];

	if (dm_live(d, name))
		return;	/* still there (a failed attach of a live name) */
	snprintf(path, sizeof(path), "%s/%s", owner_dir(d), name);
	if (unlink(path) && errno != ENOENT)
		td_log(LOG_WARNING, "%s: cannot remove %s: %s", name, path,
		       strerror(errno));
}

/* --- records -------------------------------------------------------------- */

struct presence {
	bool found;
	bool present;
	char tenant[TD_ID_MAX + 1];
	char volume[TD_ID_MAX + 1];
	unsigned int idx;
	char device[TD_PATH_MAX + 1];
	char devnum[24];
	bool pending_recover;	/* back, waiting for the reload */
};

static sqlite3_stmt *prep(struct op *op, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(td_store_db(op->d->st), sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		td_log(LOG_ERR, "database: %s",
		       sqlite3_errmsg(td_store_db(op->d->st)));
		return NULL;
	}
	return s;
}

static enum td_err db_fail(struct op *op)
{
	return op_fail(op, TD_E_INTERNAL, "database: %s",
		       sqlite3_errmsg(td_store_db(op->d->st)));
}

static void copy_col(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static int presence_read(sqlite3_stmt *s, struct presence *p)
{
	int rc = sqlite3_step(s);

	memset(p, 0, sizeof(*p));
	if (rc == SQLITE_ROW) {
		p->found = true;
		copy_col(s, 0, p->tenant, sizeof(p->tenant));
		copy_col(s, 1, p->volume, sizeof(p->volume));
		p->idx = (unsigned int)sqlite3_column_int(s, 2);
		copy_col(s, 3, p->device, sizeof(p->device));
		copy_col(s, 4, p->devnum, sizeof(p->devnum));
		p->present = sqlite3_column_int(s, 5) != 0;
		p->pending_recover = sqlite3_column_int(s, 6) != 0;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

#define PRESENCE_SELECT \
	"SELECT tenant, volume, idx, device, devnum, present, pending_recover" \
	" FROM leg_presence"

static int presence_get(struct op *op, const char *tenant, const char *vol,
			unsigned int idx, struct presence *p)
{
	sqlite3_stmt *s = prep(op, PRESENCE_SELECT
			       " WHERE tenant = ? AND volume = ? AND idx = ?");

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, vol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, (int)idx);
	return presence_read(s, p);
}

static int presence_by_device(struct op *op, const char *device,
			      struct presence *p)
{
	sqlite3_stmt *s = prep(op, PRESENCE_SELECT
			       " WHERE device = ? AND present = 1");

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, device, -1, SQLITE_TRANSIENT);
	return presence_read(s, p);
}

static int presence_set(struct op *op, const char *tenant, const char *vol,
			unsigned int idx, const char *device,
			const char *devnum, bool present)
{
	sqlite3_stmt *s = prep(op,
		"INSERT INTO leg_presence (tenant, volume, idx, device, devnum,"
		" present, changed) VALUES (?, ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (tenant, volume, idx) DO UPDATE SET"
		" device = excluded.device, devnum = excluded.devnum,"
		" present = excluded.present, changed = excluded.changed");
	char now[40];
	int rc;

	if (!s)
		return -EIO;
	td_now(now, sizeof(now));
	sqlite3_bind_text(s, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, vol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, (int)idx);
	sqlite3_bind_text(s, 4, device, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, devnum, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 6, present);
	sqlite3_bind_text(s, 7, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Legs of @v recorded as present. */
static unsigned int presence_count(struct op *op, const struct td_volume *v)
{
	struct presence p;
	unsigned int i, n = 0;

	for (i = 0; i < v->nlegs; i++)
		if (!presence_get(op, v->tenant, v->id, i, &p) && p.present)
			n++;
	return n;
}

static bool auto_get(struct op *op, const char *tenant, const char *vol)
{
	sqlite3_stmt *s = prep(op, "SELECT auto_attach FROM volume_auto"
			       " WHERE tenant = ? AND volume = ?");
	bool on = false;

	if (!s)
		return false;
	sqlite3_bind_text(s, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, vol, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		on = sqlite3_column_int(s, 0) != 0;
	sqlite3_finalize(s);
	return on;
}

static int auto_set(struct op *op, const char *tenant, const char *vol,
		    bool on)
{
	sqlite3_stmt *s = prep(op,
		"INSERT INTO volume_auto (tenant, volume, auto_attach)"
		" VALUES (?, ?, ?) ON CONFLICT (tenant, volume)"
		" DO UPDATE SET auto_attach = excluded.auto_attach");
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, vol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, on);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Run @sql with (device, tenant, volume, idx) bound as ?1..?4. */
static int leg_exec(struct op *op, const char *sql, const char *device,
		    const char *tenant, const char *vol, unsigned int idx)
{
	sqlite3_stmt *s = prep(op, sql);
	int rc;

	if (!s)
		return -EIO;
	sqlite3_bind_text(s, 1, device, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, vol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 4, (int)idx);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/*
 * The leg's device path as attach will use it (the leg moved).  @device
 * was just read and carries this leg, so any other leg recorded at that
 * path is stale (its disk went away and the name was reused, e.g. two
 * loop devices plugged back in the other order): that record becomes
 * "<path> (gone: <tenant>/<volume> leg <i>)" (paths are unique in the
 * legs table) and its presence is cleared, until udev sees that leg again.
 */
static int leg_set_device(struct op *op, const char *tenant, const char *vol,
			  unsigned int idx, const char *device)
{
	static const char *const steps[] = {
		"UPDATE legs SET device = ?1 || ' (gone: ' || tenant || '/' ||"
		" volume || ' leg ' || idx || ')' WHERE device = ?1 AND"
		" NOT (tenant = ?2 AND volume = ?3 AND idx = ?4)",
		"UPDATE leg_presence SET present = 0 WHERE device = ?1 AND"
		" NOT (tenant = ?2 AND volume = ?3 AND idx = ?4)",
		"UPDATE legs SET device = ?1"
		" WHERE tenant = ?2 AND volume = ?3 AND idx = ?4",
	};
	int changed, r = 0;
	size_t i;

	if (td_store_begin(op->d->st))
		return -EIO;
	for (i = 0; !r && i < sizeof(steps) / sizeof(steps[0]); i++) {
		r = leg_exec(op, steps[i], device, tenant, vol, idx);
		changed = sqlite3_changes(td_store_db(op->d->st));
		if (!r && i == 0 && changed)
			td_log(LOG_INFO, "%s now carries leg %u of %s/%s: %d stale leg record(s) at that path marked gone",
			       device, idx, tenant, vol, changed);
	}
	if (!r)
		r = td_store_commit(op->d->st);
	if (r)
		td_store_rollback(op->d->st);
	return r;
}

/* --- helpers -------------------------------------------------------------- */

static const char *cls_name(enum dmt_leg_class c)
{
	const char *n = dmt_leg_class_name(c);

	return n ? n : "?";
}

static void set_leg_object(struct op *op, const char *tenant,
			   const char *volume, unsigned int idx)
{
	snprintf(op->object, sizeof(op->object), "%s/%s/leg%u", tenant,
		 volume, idx);
}

/* Authorise a leg report and return its one device. */
static enum td_err report_prologue(struct op *op, const char **path)
{
	json_object *devs = td_arg(op->req, "devices");
	enum td_err e = op_authorize(op, NULL, NULL);

	if (e)
		return e;
	if (op->c->uid != 0) {
		op->role = TD_ROLE_NONE;
		op_hint(op, "leg reports come from udev (69-dm-tenant.rules); an operator uses 'tenantctl leg fail|recover'");
		return op_fail(op, TD_E_DENIED,
			       "uid %u may not report legs: root (udev) only",
			       (unsigned int)op->c->uid);
	}
	if (json_object_array_length(devs) != 1) {
		op_hint(op, "send one report per device");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "a leg report names exactly one device");
	}
	*path = json_object_get_string(json_object_array_get_idx(devs, 0));
	snprintf(op->object, sizeof(op->object), "%.100s", *path);
	return TD_OK;
}

static json_object *report_result(const struct td_volume *v,
				  unsigned int idx, const char *device,
				  const char *action, unsigned int present)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "tenant", json_object_new_string(v->tenant));
	json_object_object_add(o, "volume", json_object_new_string(v->id));
	json_object_object_add(o, "leg", json_object_new_int((int)idx));
	json_object_object_add(o, "device", json_object_new_string(device));
	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "legs_present",
			       json_object_new_int((int)present));
	json_object_object_add(o, "nr_legs", json_object_new_int((int)v->nlegs));
	return o;
}

/*
 * Unwrap the KEK that opens @v (during a rotation: the one of its
 * generation first) and run @fn with it, retrying with the other KEK on
 * -EPERM.  Returns @fn's result, or a negative errno / -EKEYREJECTED when
 * no KEK could be unwrapped (op->msg set).
 */
typedef int (*kek_fn)(struct op *op, const struct td_volume *v,
		      const struct dmt_key *kek, void *arg);

static int with_kek(struct op *op, const struct td_volume *v, kek_fn fn,
		    void *arg)
{
	struct dmt_key *kek = NULL;
	struct td_tenant t;
	bool next;
	int r;

	if (op_load_tenant(op, v->tenant, &t))
		return -EKEYREJECTED;
	next = t.has_next && v->kek_gen == t.next_gen;
	if (op_unwrap(op, &t, next, &kek))
		return -EKEYREJECTED;
	r = fn(op, v, kek, arg);
	dmt_key_free(kek);
	if (r != -EPERM || !t.has_next)
		return r;
	kek = NULL;
	if (op_unwrap(op, &t, !next, &kek))
		return -EKEYREJECTED;
	r = fn(op, v, kek, arg);
	dmt_key_free(kek);
	return r;
}

struct attach_arg {
	char name[DMT_DM_NAME_MAX];
	char path[DMT_DEV_PATH_MAX];
};

static int do_attach(struct op *op, const struct td_volume *v,
		     const struct dmt_key *kek, void *arg)
{
	struct attach_arg *a = arg;
	struct dmt_leg legs[TD_MAX_LEGS];
	struct dmt_volume dv;

	op_to_dmt(v, &dv, legs);
	return dmt_volume_attach(op->d->dmt, &dv, kek, a->name, 0, a->path,
				 sizeof(a->path));
}

static int do_reload(struct op *op, const struct td_volume *v,
		     const struct dmt_key *kek, void *arg)
{
	struct dmt_leg legs[TD_MAX_LEGS];
	struct dmt_volume dv;

	(void)arg;
	op_to_dmt(v, &dv, legs);
	return dmt_volume_reload(op->d->dmt, &dv, kek, v->dm_name);
}

/*
 * Attach @v for its assigned VM, the node owned by that VM's hypervisor,
 * as an operator attach would.  Audited as "volume.auto-attach".
 */
static enum td_err auto_attach(struct op *op, const struct td_volume *v,
			       const char **action)
{
	struct attach_arg a;
	char obj[64], detail[160];
	uid_t owner;
	int r;

	*action = "recorded";
	if (op->d->no_dm)
		return TD_OK;
	if (!v->vm[0] || !td_vm_owner(&op->d->cfg, v->vm, &owner)) {
		td_log(LOG_WARNING, "%s/%s: all legs present, but %s: not attached",
		       v->tenant, v->id, v->vm[0] ?
		       "its VM is served by no hypervisor" :
		       "it is not assigned to a VM");
		*action = "not-assigned";
		return TD_OK;
	}
	td_dm_name(v->tenant, v->id, a.name, sizeof(a.name));
	op_udev_owner_publish(op->d, a.name, owner, v->vm);
	r = with_kek(op, v, do_attach, &a);
	snprintf(obj, sizeof(obj), "%s/%s", v->tenant, v->id);
	if (r) {
		enum td_err e;

		op_udev_owner_forget(op->d, a.name);
		if (r == -EKEYREJECTED)
			e = TD_E_INTERNAL;
		else
			e = op_from_errno(op, r, "automatic attach");
		op_audit(op->d, op->c->uid, op->c->pid, "daemon",
			 "volume.auto-attach", obj, td_err_name(e), op->msg);
		return e;
	}
	if (op_chown_nodes(op, a.name, owner))
		td_log(LOG_WARNING, "%s: cannot hand the device node to uid %u",
		       a.name, (unsigned int)owner);
	if (td_attach_add(op->d->st, v->tenant, v->id, v->vm, a.name, a.path,
			  owner))
		td_log(LOG_ERR, "%s: attachment NOT recorded: %s", a.name,
		       td_store_err(op->d->st));
	snprintf(detail, sizeof(detail), "%.60s for vm %.64s owner uid %u",
		 a.name, v->vm, (unsigned int)owner);
	op_audit(op->d, op->c->uid, op->c->pid, "daemon", "volume.auto-attach",
		 obj, "ok", detail);
	td_log(LOG_INFO, "%s/%s: all %u legs present: attached as %s for VM %s",
	       v->tenant, v->id, v->nlegs, a.name, v->vm);
	*action = "attached";
	return TD_OK;
}

/* Kernel view of leg @idx: state letter and "major:minor". */
static int kernel_leg(struct op *op, const struct td_volume *v,
		      unsigned int idx, char *state, char *dev, size_t len)
{
	struct dmt_status *st = NULL;
	const char *kd;
	int r = dmt_dev_status(op->d->dmt, v->dm_name, &st);

	if (r)
		return r;
	if (idx >= dmt_status_nr_legs(st)) {
		dmt_status_free(st);
		return -ERANGE;
	}
	*state = (char)dmt_status_leg_state(st, idx);
	kd = dmt_status_leg_dev(st, idx);
	snprintf(dev, len, "%s", kd ? kd : "");
	dmt_status_free(st);
	return 0;
}

static enum td_err leg_message(struct op *op, const struct td_volume *v,
			       unsigned int idx, const char *verb)
{
	char msg[32];
	int r;

	snprintf(msg, sizeof(msg), "leg %u %s", idx, verb);
	r = dmt_dev_message(op->d->dmt, v->dm_name, msg, NULL, 0);
	if (r)
		return op_from_errno(op, r, msg);
	return TD_OK;
}

/*
 * A leg of attached volume @v is back on @devnum.  If it had vanished
 * (recorded absent, or the table still points at another device), the
 * table is reloaded with the legs' current devices and the leg recovered.
 * A leg failed by an operator on a device that never went away is left
 * alone: that was a decision, not an accident.
 */
static enum td_err seen_attached(struct op *op, const struct td_volume *v,
				 unsigned int idx, const char *devnum,
				 bool was_absent, const char **action)
{
	char state = '?', kdev[32];
	unsigned int j, n = 0, todo[TD_MAX_LEGS];
	bool suspended;
	enum td_err e;
	int r;

	*action = "in-service";
	if (op->d->no_dm)
		return TD_OK;
	r = kernel_leg(op, v, idx, &state, kdev, sizeof(kdev));
	if (r)
		return op_from_errno(op, r, "kernel status");
	if (!strcmp(kdev, devnum) && !was_absent)
		return TD_OK;	/* the leg the table uses, never gone */
	if (state != DMT_LEG_STATE_DEAD && state != DMT_LEG_STATE_DIVERGED &&
	    v->nlegs > 1) {
		/* The table holds the device that vanished: stop using it. */
		e = leg_message(op, v, idx, "fail");
		if (e)
			return e;
	}
	if (presence_count(op, v) < v->nlegs) {
		/* A reload needs every leg's device: this leg is recovered
		 * with the reload that the last missing leg brings. */
		if (leg_exec(op, "UPDATE leg_presence SET pending_recover = 1"
			     " WHERE tenant = ?2 AND volume = ?3"
			     " AND idx = ?4", v->legs[idx].device, v->tenant,
			     v->id, idx))
			return db_fail(op);
		*action = "waiting";
		return TD_OK;
	}
	r = with_kek(op, v, do_reload, NULL);
	if (r == -EKEYREJECTED)
		return TD_E_INTERNAL;
	if (r)
		return op_from_errno(op, r, "table reload");
	if (v->nlegs == 1) {
		/* One leg: no leg states; the reload alone revives it. */
		td_log(LOG_INFO, "%s/%s: its only leg is back on %s (%s): table reloaded",
		       v->tenant, v->id, v->legs[idx].device, devnum);
		*action = "reloaded";
		return TD_OK;
	}
	/* The legs to recover: this one and those that waited for it. */
	for (j = 0; j < v->nlegs; j++) {
		struct presence p;

		if (j != idx && (presence_get(op, v->tenant, v->id, j, &p) ||
				 !p.pending_recover))
			continue;
		r = kernel_leg(op, v, j, &state, kdev, sizeof(kdev));
		if (r)
			return op_from_errno(op, r, "kernel status");
		if (state == DMT_LEG_STATE_DEAD)
			todo[n++] = j;
		else if (state == DMT_LEG_STATE_DIVERGED)
			/* Written apart (split brain): only an operator may
			 * overwrite it (tenantctl leg recover --force). */
			td_log(LOG_WARNING, "%s/%s: leg %u diverged from the volume: not recovered automatically",
			       v->tenant, v->id, j);
	}
	/*
	 * Several legs: start their recovery while the device is suspended,
	 * so that one resync pass copies to all of them (a leg recovered
	 * during a copy is safe either way: the kernel copies that region
	 * again, tests/vm/45-mirror-recover-race.sh).
	 */
	suspended = n > 1 && !dmt_dev_suspend(op->d->dmt, v->dm_name, 0);
	for (j = 0, e = TD_OK; j < n && !e; j++)
		e = leg_message(op, v, todo[j], "recover");
	if (suspended && (r = dmt_dev_resume(op->d->dmt, v->dm_name)) && !e)
		e = op_from_errno(op, r, "resume after recover");
	if (e)
		return e;
	for (j = 0; j < n; j++) {
		if (leg_exec(op, "UPDATE leg_presence SET pending_recover = 0"
			     " WHERE tenant = ?2 AND volume = ?3"
			     " AND idx = ?4", "", v->tenant, v->id, todo[j]))
			return db_fail(op);
		td_log(LOG_INFO, "%s/%s: leg %u is back on %s: table reloaded, leg recovering",
		       v->tenant, v->id, todo[j], v->legs[todo[j]].device);
	}
	if (leg_exec(op, "UPDATE leg_presence SET pending_recover = 0"
		     " WHERE tenant = ?2 AND volume = ?3 AND idx = ?4", "",
		     v->tenant, v->id, idx))
		return db_fail(op);
	*action = "recovering";
	return TD_OK;
}

/* --- verbs ---------------------------------------------------------------- */

enum td_err op_leg_seen(struct op *op)
{
	const char *path = NULL, *action = "recorded";
	struct dmt_leg_info info;
	struct presence p;
	struct td_volume *v;
	struct stat sb;
	char devnum[24];
	unsigned int idx, present;
	bool was_absent, on;
	enum td_err e;
	int r;

	e = report_prologue(op, &path);
	if (e)
		return e;
	if (stat(path, &sb) || !S_ISBLK(sb.st_mode))
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "%s is not a block device", path);
	snprintf(devnum, sizeof(devnum), "%u:%u", major(sb.st_rdev),
		 minor(sb.st_rdev));
	r = dmt_leg_read_info(op->d->dmt, path, &info);
	if (r == -ENODEV || r == -EMEDIUMTYPE || r == -EINVAL)
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "%s is not a dm-tenant leg", path);
	if (r)
		return op_from_errno(op, r, path);
	v = calloc(1, sizeof(*v));
	if (!v)
		return op_fail(op, TD_E_INTERNAL, "out of memory");
	r = td_volume_by_uuid(op->d->st, info.uuid, v);
	if (r == -ENOENT) {
		set_leg_object(op, info.tenant, info.volume, info.index);
		td_log(LOG_WARNING, "%s: leg %u of unknown volume %s/%s (uuid %s): not used",
		       path, info.index, info.tenant, info.volume, info.uuid);
		op_hint(op, "a leg of a volume created elsewhere or deleted here; it is left alone (crypto-shred it by hand if it is stale)");
		e = op_fail(op, TD_E_NOT_FOUND,
			    "%s: leg %u of %s/%s (uuid %s): no such volume here; not used",
			    path, info.index, info.tenant, info.volume,
			    info.uuid);
		goto out;
	}
	if (r) {
		e = op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
		goto out;
	}
	idx = info.index;
	set_leg_object(op, v->tenant, v->id, idx);
	if (strcmp(info.tenant, v->tenant) || strcmp(info.volume, v->id) ||
	    idx >= v->nlegs ||
	    strcmp(cls_name(info.cls), v->legs[idx].cls)) {
		e = op_fail(op, TD_E_CONFLICT,
			    "%s: its header (%s/%s leg %u, %s) disagrees with the record of volume %s: not used",
			    path, info.tenant, info.volume, idx,
			    cls_name(info.cls), info.uuid);
		goto out;
	}
	if (presence_get(op, v->tenant, v->id, idx, &p)) {
		e = db_fail(op);
		goto out;
	}
	/* Another live device already carries this leg: a copy; use neither
	 * silently. */
	if (p.found && p.present && strcmp(p.devnum, devnum)) {
		struct stat ob;
		char odev[24] = "";

		if (!stat(p.device, &ob) && S_ISBLK(ob.st_mode))
			snprintf(odev, sizeof(odev), "%u:%u",
				 major(ob.st_rdev), minor(ob.st_rdev));
		if (!strcmp(odev, p.devnum)) {
			op_hint(op, "two devices carry the same leg (a cloned disk?): remove one");
			e = op_fail(op, TD_E_CONFLICT,
				    "%s: leg %u of %s/%s is already present as %s: not used",
				    path, idx, v->tenant, v->id, p.device);
			goto out;
		}
	}
	was_absent = p.found && !p.present;
	if (strcmp(v->legs[idx].device, path)) {
		r = leg_set_device(op, v->tenant, v->id, idx, path);
		if (r) {
			e = db_fail(op);
			goto out;
		}
		td_log(LOG_INFO, "%s/%s: leg %u moved from %s to %s", v->tenant,
		       v->id, idx, v->legs[idx].device, path);
		snprintf(v->legs[idx].device, sizeof(v->legs[idx].device),
			 "%s", path);
	}
	if (presence_set(op, v->tenant, v->id, idx, path, devnum, true)) {
		e = db_fail(op);
		goto out;
	}
	present = presence_count(op, v);
	on = auto_get(op, v->tenant, v->id);
	if (v->attached)
		e = seen_attached(op, v, idx, devnum, was_absent, &action);
	else if (on && present == v->nlegs)
		e = auto_attach(op, v, &action);
	else
		e = TD_OK;
	if (e)
		goto out;
	snprintf(op->detail, sizeof(op->detail),
		 "%.64s (%s): %s, %u/%u legs present%s", path, devnum, action,
		 present, v->nlegs, on ? "" : ", auto-attach off");
	op->result = report_result(v, idx, path, action, present);
	e = TD_OK;
out:
	free(v);
	return e;
}

enum td_err op_leg_gone(struct op *op)
{
	const char *path = NULL, *action = "recorded";
	struct presence p;
	struct td_volume *v;
	char state = '?', kdev[32];
	unsigned int present;
	enum td_err e;
	int r;

	e = report_prologue(op, &path);
	if (e)
		return e;
	if (presence_by_device(op, path, &p))
		return db_fail(op);
	if (!p.found) {
		op_hint(op, "only devices reported with leg.seen are tracked");
		return op_fail(op, TD_E_NOT_FOUND,
			       "no leg is recorded present at %s", path);
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return op_fail(op, TD_E_INTERNAL, "out of memory");
	set_leg_object(op, p.tenant, p.volume, p.idx);
	r = td_volume_get(op->d->st, p.tenant, p.volume, v);
	if (r) {
		e = op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
		goto out;
	}
	if (presence_set(op, p.tenant, p.volume, p.idx, p.device, p.devnum,
			 false)) {
		e = db_fail(op);
		goto out;
	}
	if (v->attached && !op->d->no_dm && v->nlegs > 1 &&
	    !kernel_leg(op, v, p.idx, &state, kdev, sizeof(kdev)) &&
	    !strcmp(kdev, p.devnum)) {
		if (state != DMT_LEG_STATE_DEAD &&
		    state != DMT_LEG_STATE_DIVERGED) {
			e = leg_message(op, v, p.idx, "fail");
			if (e) {
				op_hint(op, "it was the last leg in sync: I/O on %s fails until it returns",
					v->dm_name);
				td_log(LOG_ERR, "%s/%s: leg %u (%s) vanished and the kernel kept it: %s",
				       v->tenant, v->id, p.idx, path, op->msg);
				goto out;
			}
		}
		action = "degraded";
		td_log(LOG_WARNING, "%s/%s: leg %u (%s) vanished: failed, the volume runs degraded",
		       v->tenant, v->id, p.idx, path);
	} else if (v->attached && v->nlegs == 1) {
		action = "lost";
		td_log(LOG_ERR, "%s/%s: its only leg (%s) vanished: I/O fails until it returns",
		       v->tenant, v->id, path);
	}
	present = presence_count(op, v);
	snprintf(op->detail, sizeof(op->detail), "%.64s (%s): %s, %u/%u legs present",
		 path, p.devnum, action, present, v->nlegs);
	op->result = report_result(v, p.idx, path, action, present);
	e = TD_OK;
out:
	free(v);
	return e;
}

enum td_err op_volume_auto(struct op *op)
{
	bool on = td_arg_bool(op->req, "auto");
	const char *action = "recorded";
	struct td_volume *v;
	unsigned int present;
	enum td_err e;

	v = calloc(1, sizeof(*v));
	if (!v)
		return op_fail(op, TD_E_INTERNAL, "out of memory");
	e = op_load_volume(op, v);
	if (e)
		goto out;
	if (auto_set(op, v->tenant, v->id, on)) {
		e = db_fail(op);
		goto out;
	}
	present = presence_count(op, v);
	/* Legs already all here: no need to wait for the next event. */
	if (on && !v->attached && present == v->nlegs) {
		e = auto_attach(op, v, &action);
		if (e)
			goto out;
	}
	snprintf(op->detail, sizeof(op->detail), "auto-attach %s, %u/%u legs present: %s",
		 on ? "on" : "off", present, v->nlegs, action);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "auto", json_object_new_boolean(on));
	json_object_object_add(op->result, "legs_present",
			       json_object_new_int((int)present));
	json_object_object_add(op->result, "nr_legs",
			       json_object_new_int((int)v->nlegs));
	json_object_object_add(op->result, "action",
			       json_object_new_string(action));
out:
	free(v);
	return e;
}
