// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd request handlers.  Each handler fills a struct op: the object it
 * acts on (for the audit record), the role that allowed it, the result or
 * an error code with a message and a hint naming the next step.  Key bytes
 * never appear here: libdmtenant keeps them behind struct dmt_key.
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <dmtenant.h>

#include "log.h"
#include "metrics.h"
#include "monitor.h"	/* remote */
#include "ops-internal.h"


__attribute__((format(printf, 3, 4)))
enum td_err op_fail(struct op *op, enum td_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
	va_end(ap);
	return e;
}

__attribute__((format(printf, 2, 3)))
void op_hint(struct op *op, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->hint, sizeof(op->hint), fmt, ap);
	va_end(ap);
}

void td_dm_name(const char *tenant, const char *volume, char *buf,
		size_t len)
{
	snprintf(buf, len, "tenant+%s+%s", tenant, volume);
}

/* --- audit ---------------------------------------------------------------- */

int op_audit(struct td_daemon *d, int64_t uid, int64_t pid,
		  const char *role, const char *action, const char *object,
		  const char *result, const char *detail)
{
	struct td_audit_rec r;
	int ret;

	memset(&r, 0, sizeof(r));
	td_now(r.time, sizeof(r.time));
	r.uid = uid;
	r.pid = pid;
	td_audit_set(r.role, sizeof(r.role), role);
	td_audit_set(r.action, sizeof(r.action), action);
	td_audit_set(r.object, sizeof(r.object), object);
	td_audit_set(r.result, sizeof(r.result), result);
	td_audit_set(r.detail, sizeof(r.detail), detail);
	ret = td_audit_append(d->st, &r);
	if (ret)
		td_log(LOG_ERR, "audit record for %s %s NOT written: %s",
		       r.action, r.object, td_store_err(d->st));
	return ret;
}

enum td_err op_tx_begin(struct op *op)
{
	if (op->tx)
		return TD_OK;
	if (td_store_begin(op->d->st))
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_store_err(op->d->st));
	op->tx = true;
	return TD_OK;
}

void td_audit_event(struct td_daemon *d, const char *action,
		    const char *object, const char *result,
		    const char *detail)
{
	op_audit(d, getuid(), getpid(), "daemon", action, object, result, detail);
}

/* --- helpers -------------------------------------------------------------- */

enum td_err op_authorize(struct op *op, const char *tenant,
			     const char *vm)
{
	struct td_authz obj = { .tenant = tenant, .vm = vm };
	char roles[64];

	op->role = td_authorize(&op->d->cfg, op->c->uid, op->req->verb,
				tenant || vm ? &obj : NULL);
	if (op->role != TD_ROLE_NONE)
		return TD_OK;
	td_roles_label(&op->d->cfg, op->c->uid, roles, sizeof(roles));
	op_hint(op, "%s is allowed for: %s; roles come from tenantd.conf (ask the operator)",
	     td_verb_name(op->req->verb),
	     td_verb_roles_hint(op->req->verb));
	return op_fail(op, TD_E_DENIED, "uid %u (role: %s) may not run %s%s%s",
		    (unsigned int)op->c->uid, roles,
		    td_verb_name(op->req->verb), op->object[0] ? " on " : "",
		    op->object);
}

enum td_err op_from_errno(struct op *op, int err, const char *what)
{
	const char *why = op->d->dmt ? dmt_ctx_last_error(op->d->dmt) : "";
	enum td_err e;

	switch (-err) {
	case ENOENT:
	case ENODEV:
		e = TD_E_NOT_FOUND;
		break;
	case EEXIST:
	case EBUSY:
		e = TD_E_CONFLICT;
		break;
	case EINVAL:
		e = TD_E_INVALID_ARGUMENT;
		break;
	case EOPNOTSUPP:
		e = TD_E_UNSUPPORTED;
		break;
	case EPERM:
	case EACCES:
		e = TD_E_DENIED;
		break;
	default:
		e = TD_E_INTERNAL;
	}
	return op_fail(op, e, "%s: %s%s%s", what, strerror(-err),
		    why && *why ? ": " : "", why ? why : "");
}

/* Device-mapper operations are refused when started with --no-dm. */
enum td_err op_need_dm(struct op *op)
{
	if (!op->d->no_dm)
		return TD_OK;
	op_hint(op, "restart tenantd without --no-dm");
	return op_fail(op, TD_E_UNSUPPORTED,
		    "tenantd runs with --no-dm: no device-mapper access");
}

void op_set_object(struct op *op, const char *tenant, const char *volume)
{
	if (tenant && volume)
		snprintf(op->object, sizeof(op->object), "%s/%s", tenant,
			 volume);
	else if (tenant)
		snprintf(op->object, sizeof(op->object), "%s", tenant);
}

enum td_err op_load_tenant(struct op *op, const char *id,
			       struct td_tenant *t)
{
	int r = td_tenant_get(op->d->st, id, t);

	if (r == -ENOENT) {
		op_hint(op, "list tenants with 'tenantctl tenant list'");
		return op_fail(op, TD_E_NOT_FOUND, "no tenant '%s'", id);
	}
	if (r)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	return TD_OK;
}

enum td_err op_unwrap(struct op *op, const struct td_tenant *t,
			  bool next, struct dmt_key **kek)
{
	int r = dmt_kek_unwrap(op->d->master, t->id,
			       next ? t->next_kek : t->kek,
			       next ? t->next_len : t->kek_len, kek);

	if (r)
		return op_fail(op, TD_E_INTERNAL,
			    "cannot unwrap the KEK of tenant %s (generation %" PRId64 "): %s; is this the host's master key?",
			    t->id, next ? t->next_gen : t->kek_gen,
			    strerror(-r));
	return TD_OK;
}

/* struct dmt_volume from a stored volume; @legs has TD_MAX_LEGS room. */
void op_to_dmt(const struct td_volume *v, struct dmt_volume *dv,
		   struct dmt_leg *legs)
{
	unsigned int i;

	memset(dv, 0, sizeof(*dv));
	for (i = 0; i < v->nlegs; i++) {
		dmt_leg_class_parse(v->legs[i].cls, &legs[i].cls);
		legs[i].path = v->legs[i].device;
		legs[i].offset = v->legs[i].offset;
	}
	dv->tenant = v->tenant;
	dv->volume = v->id;
	dv->uuid = v->uuid;
	dv->legs = legs;
	dv->nr_legs = v->nlegs;
	dv->size = v->size;
}

json_object *op_volume_json(const struct td_volume *v, bool full)
{
	json_object *o = json_object_new_object(), *legs, *a;
	unsigned int i;
	char name[128];

	json_object_object_add(o, "tenant", json_object_new_string(v->tenant));
	json_object_object_add(o, "volume", json_object_new_string(v->id));
	json_object_object_add(o, "uuid", json_object_new_string(v->uuid));
	json_object_object_add(o, "vm", v->vm[0] ?
			       json_object_new_string(v->vm) : NULL);
	json_object_object_add(o, "nr_legs", json_object_new_int(v->nlegs));
	json_object_object_add(o, "attached",
			       json_object_new_boolean(v->attached));
	td_dm_name(v->tenant, v->id, name, sizeof(name));
	json_object_object_add(o, "dm_name", json_object_new_string(name));
	if (!full)
		return o;
	json_object_object_add(o, "size_sectors",
			       json_object_new_int64((int64_t)v->size));
	json_object_object_add(o, "kek_generation",
			       json_object_new_int64(v->kek_gen));
	json_object_object_add(o, "created", json_object_new_string(v->created));
	legs = json_object_new_array();
	for (i = 0; i < v->nlegs; i++) {
		json_object *l = json_object_new_object();

		json_object_object_add(l, "index",
				       json_object_new_int(v->legs[i].idx));
		json_object_object_add(l, "class",
				       json_object_new_string(v->legs[i].cls));
		json_object_object_add(l, "device",
				       json_object_new_string(v->legs[i].device));
		json_object_array_add(legs, l);
	}
	json_object_object_add(o, "legs", legs);
	if (v->attached) {
		a = json_object_new_object();
		json_object_object_add(a, "dm_name",
				       json_object_new_string(v->dm_name));
		json_object_object_add(a, "device",
				       json_object_new_string(v->device));
		json_object_object_add(a, "vm", v->att_vm[0] ?
				       json_object_new_string(v->att_vm) : NULL);
		json_object_object_add(a, "owner_uid", v->hv_uid >= 0 ?
				       json_object_new_int64(v->hv_uid) : NULL);
		json_object_object_add(a, "since",
				       json_object_new_string(v->attached_at));
		json_object_object_add(o, "attachment", a);
	}
	return o;
}


int op_collect_vol(const struct td_volume *v, void *arg)
{
	struct vol_list *vl = arg;
	struct td_volume *nv = realloc(vl->v, (vl->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	vl->v = nv;
	vl->v[vl->n++] = *v;
	return 0;
}

int op_collect_vols(struct td_store *st, const char *tenant,
			struct vol_list *vl)
{
	vl->v = NULL;
	vl->n = 0;
	return td_volume_foreach(st, tenant, op_collect_vol, vl);
}

/* --- tenants ------------------------------------------------------------- */

static enum td_err op_tenant_create(struct op *op)
{
	const char *id = td_arg_str(op->req, "tenant");
	struct td_tenant t, old;
	struct dmt_key *kek = NULL;
	enum td_err e;
	int r;

	op_set_object(op, id, NULL);
	e = op_authorize(op, id, NULL);
	if (e)
		return e;
	if (td_tenant_get(op->d->st, id, &old) == 0) {
		op_hint(op, "pick another id, or inspect it with 'tenantctl tenant list'");
		return op_fail(op, TD_E_CONFLICT, "tenant '%s' exists", id);
	}
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.kek_gen = 1;
	r = dmt_key_generate(DMT_KEY_KEK, &kek);
	if (!r)
		r = dmt_kek_wrap(op->d->master, id, kek, t.kek, sizeof(t.kek),
				 &t.kek_len);
	if (!r)
		r = dmt_key_fingerprint(kek, t.kek_fpr, sizeof(t.kek_fpr));
	dmt_key_free(kek);
	if (r)
		return op_from_errno(op, r, "KEK generation");
	if (op_tx_begin(op))
		return TD_E_INTERNAL;
	r = td_tenant_insert(op->d->st, &t);
	if (r)
		return op_fail(op, r == -EEXIST ? TD_E_CONFLICT : TD_E_INTERNAL,
			    "database: %s", td_store_err(op->d->st));
	snprintf(op->detail, sizeof(op->detail), "KEK gen 1 fpr %s",
		 t.kek_fpr);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "tenant", json_object_new_string(id));
	json_object_object_add(op->result, "kek_generation",
			       json_object_new_int(1));
	json_object_object_add(op->result, "kek_fingerprint",
			       json_object_new_string(t.kek_fpr));
	return TD_OK;
}

struct count_arg {
	unsigned int n, attached;
};

static int count_vol(const struct td_volume *v, void *arg)
{
	struct count_arg *c = arg;

	c->n++;
	c->attached += v->attached;
	return 0;
}

struct list_arg {
	struct op *op;
	json_object *arr;
};

static int list_tenant(const struct td_tenant *t, void *arg)
{
	struct list_arg *la = arg;
	struct count_arg c = { 0, 0 };
	json_object *o;

	if (!td_may_see(&la->op->d->cfg, la->op->c->uid, TD_V_TENANT_LIST,
			t->id, NULL))
		return 0;
	td_volume_foreach(la->op->d->st, t->id, count_vol, &c);
	o = json_object_new_object();
	json_object_object_add(o, "tenant", json_object_new_string(t->id));
	json_object_object_add(o, "kek_generation",
			       json_object_new_int64(t->kek_gen));
	json_object_object_add(o, "kek_fingerprint",
			       json_object_new_string(t->kek_fpr));
	json_object_object_add(o, "rotation_pending",
			       json_object_new_boolean(t->has_next));
	json_object_object_add(o, "volumes", json_object_new_int(c.n));
	json_object_object_add(o, "created", json_object_new_string(t->created));
	json_object_array_add(la->arr, o);
	return 0;
}

static enum td_err op_tenant_list(struct op *op)
{
	struct list_arg la = { op, NULL };
	enum td_err e = op_authorize(op, NULL, NULL);

	if (e)
		return e;
	la.arr = json_object_new_array();
	if (td_tenant_foreach(op->d->st, list_tenant, &la)) {
		json_object_put(la.arr);
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	}
	op->result = json_object_new_object();
	json_object_object_add(op->result, "tenants", la.arr);
	return TD_OK;
}

/* tenant.delete: op_wipe_tenant_delete (ops-wipe.c). */

struct rotate_arg {
	struct op *op;
	const struct td_tenant *t;
	struct dmt_key *old, *new;
	unsigned int done, skipped;
};

static int rotate_vol(const struct td_volume *v, struct rotate_arg *ra)
{
	struct dmt_leg legs[TD_MAX_LEGS];
	struct dmt_volume dv;
	int r;

	if (v->kek_gen == ra->t->next_gen) {
		ra->skipped++;
		return 0;
	}
	op_to_dmt(v, &dv, legs);
	r = dmt_volume_rewrap(ra->op->d->dmt, &dv, ra->old, ra->new);
	if (r) {
		char what[96];

		snprintf(what, sizeof(what), "rewrap of volume %s/%s",
			 v->tenant, v->id);
		op_from_errno(ra->op, r, what);
		op_hint(ra->op, "both KEKs are kept: fix the leg and repeat 'tenantctl tenant rotate-kek %s' (it resumes)",
		     v->tenant);
		return r;
	}
	r = td_volume_set_kek_gen(ra->op->d->st, v->tenant, v->id,
				  ra->t->next_gen);
	if (r)
		return r;
	ra->done++;
	return 0;
}

/* The rotation itself; @op->role is already decided. */
static enum td_err rotate(struct op *op, const char *id)
{
	struct rotate_arg ra = { .op = op };
	struct td_tenant t;
	char old_fpr[TD_FPR_LEN];
	enum td_err e;
	int r;

	e = op_load_tenant(op, id, &t);
	if (e)
		return e;
	snprintf(old_fpr, sizeof(old_fpr), "%s", t.kek_fpr);
	e = op_unwrap(op, &t, false, &ra.old);
	if (e)
		return e;
	if (t.has_next) {
		/* An interrupted rotation: finish it with the same new KEK. */
		e = op_unwrap(op, &t, true, &ra.new);
		if (e)
			goto out;
	} else {
		uint8_t blob[TD_WRAPPED_MAX];
		size_t len = 0;
		char fpr[TD_FPR_LEN];

		r = dmt_key_generate(DMT_KEY_KEK, &ra.new);
		if (!r)
			r = dmt_kek_wrap(op->d->master, id, ra.new, blob,
					 sizeof(blob), &len);
		if (!r)
			r = dmt_key_fingerprint(ra.new, fpr, sizeof(fpr));
		if (r) {
			e = op_from_errno(op, r, "new KEK");
			goto out;
		}
		/* Step 1: record the new KEK next to the old one. */
		r = td_tenant_set_next(op->d->st, id, blob, len,
				       t.kek_gen + 1, fpr);
		if (r) {
			e = op_fail(op, TD_E_INTERNAL, "database: %s",
				 td_store_err(op->d->st));
			goto out;
		}
		e = op_load_tenant(op, id, &t);
		if (e)
			goto out;
	}
	/* Step 2: every leg of every volume gets the new keyslot. */
	ra.t = &t;
	{
		struct vol_list vl;
		size_t i;

		r = op_collect_vols(op->d->st, id, &vl);
		for (i = 0; !r && i < vl.n; i++)
			r = rotate_vol(&vl.v[i], &ra);
		free(vl.v);
	}
	if (r) {
		e = op->msg[0] ? TD_E_INTERNAL :
			op_fail(op, TD_E_INTERNAL, "database: %s",
			     td_store_err(op->d->st));
		goto out;
	}
	/* Step 3: the new KEK becomes the current one; the old is gone. */
	r = td_tenant_promote_next(op->d->st, id);
	if (r) {
		e = op_fail(op, TD_E_INTERNAL, "database: %s",
			 td_store_err(op->d->st));
		goto out;
	}
	snprintf(op->detail, sizeof(op->detail),
		 "KEK gen %" PRId64 " fpr %s -> gen %" PRId64
		 " fpr %s, %u volume(s) rewrapped", t.kek_gen, old_fpr,
		 t.next_gen, t.next_fpr, ra.done + ra.skipped);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "tenant", json_object_new_string(id));
	json_object_object_add(op->result, "kek_generation",
			       json_object_new_int64(t.next_gen));
	json_object_object_add(op->result, "kek_fingerprint",
			       json_object_new_string(t.next_fpr));
	json_object_object_add(op->result, "previous_fingerprint",
			       json_object_new_string(old_fpr));
	json_object_object_add(op->result, "volumes_rewrapped",
			       json_object_new_int(ra.done + ra.skipped));
	e = TD_OK;
out:
	dmt_key_free(ra.old);
	dmt_key_free(ra.new);
	return e;
}

static enum td_err op_tenant_rotate(struct op *op)
{
	const char *id = td_arg_str(op->req, "tenant");
	enum td_err e;

	op_set_object(op, id, NULL);
	e = op_authorize(op, id, NULL);
	if (e)
		return e;
	return rotate(op, id);
}

/* --- volumes ------------------------------------------------------------- */

struct devcheck {
	dev_t rdev;
	const char *path;
	char owner[64];
};

static int dev_in_use(const struct td_volume *v, void *arg)
{
	struct devcheck *dc = arg;
	struct stat sb;
	unsigned int i;

	for (i = 0; i < v->nlegs; i++) {
		if (!strcmp(v->legs[i].device, dc->path) ||
		    (stat(v->legs[i].device, &sb) == 0 &&
		     S_ISBLK(sb.st_mode) && sb.st_rdev == dc->rdev)) {
			snprintf(dc->owner, sizeof(dc->owner), "%s/%s leg %u",
				 v->tenant, v->id, v->legs[i].idx);
			return 1;
		}
	}
	return 0;
}

static enum td_err op_volume_create(struct op *op)
{
	struct td_intent intent;
	const char *tid = td_arg_str(op->req, "tenant");
	const char *vid = td_arg_str(op->req, "volume");
	const char *vm = td_arg_str(op->req, "vm");
	json_object *legs = td_arg(op->req, "legs");
	uint64_t size = td_arg_uint(op->req, "size", 0);
	struct dmt_leg dlegs[TD_MAX_LEGS];
	struct dmt_volume dv;
	struct td_volume *v;
	struct td_tenant t;
	struct dmt_key *kek = NULL;
	dev_t rdevs[TD_MAX_LEGS];
	unsigned int i, j, n;
	enum td_err e;
	uid_t owner;
	int r;

	op_set_object(op, tid, vid);
	e = op_authorize(op, tid, NULL);
	if (e)
		return e;
	if (size % 4096) {
		op_hint(op, "give the size in bytes as a multiple of 4096, or leave it out to use the whole leg");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			    "size %" PRIu64 " is not a multiple of 4096", size);
	}
	if (vm && !td_vm_owner(&op->d->cfg, vm, &owner)) {
		op_hint(op, "add the VM to a 'hypervisor uid=... vms=...' line of tenantd.conf and reload tenantd");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			    "no hypervisor serves VM '%s'", vm);
	}
	e = op_load_tenant(op, tid, &t);
	if (e)
		return e;
	v = calloc(1, sizeof(*v));
	if (!v)
		return op_fail(op, TD_E_INTERNAL, "out of memory");
	if (td_volume_get(op->d->st, tid, vid, v) == 0) {
		free(v);
		op_hint(op, "pick another volume id, or look at it with 'tenantctl volume status %s %s'",
		     tid, vid);
		return op_fail(op, TD_E_CONFLICT, "volume %s/%s exists", tid, vid);
	}
	memset(v, 0, sizeof(*v));
	snprintf(v->tenant, sizeof(v->tenant), "%s", tid);
	snprintf(v->id, sizeof(v->id), "%s", vid);
	snprintf(v->vm, sizeof(v->vm), "%s", vm ? vm : "");
	v->size = size / 512;
	v->kek_gen = t.kek_gen;
	if (legs) {
		n = json_object_array_length(legs);
		for (i = 0; i < n; i++) {
			json_object *l = json_object_array_get_idx(legs, i), *f;

			json_object_object_get_ex(l, "class", &f);
			snprintf(v->legs[i].cls, sizeof(v->legs[i].cls), "%s",
				 json_object_get_string(f));
			json_object_object_get_ex(l, "device", &f);
			snprintf(v->legs[i].device, sizeof(v->legs[i].device),
				 "%s", json_object_get_string(f));
			if (json_object_object_get_ex(l, "offset", &f))
				v->legs[i].offset =
					(uint64_t)json_object_get_int64(f);
		}
	} else {
		const struct td_preset *p =
			td_preset_by_name(td_arg_str(op->req, "preset"));
		json_object *devs = td_arg(op->req, "devices");

		n = p->nlegs;
		for (i = 0; i < n; i++) {
			snprintf(v->legs[i].cls, sizeof(v->legs[i].cls), "%s",
				 p->classes[i]);
			snprintf(v->legs[i].device, sizeof(v->legs[i].device),
				 "%s", json_object_get_string(
					json_object_array_get_idx(devs, i)));
		}
	}
	v->nlegs = n;
	for (i = 0; i < n; i++) {
		struct devcheck dc;
		struct stat sb;

		v->legs[i].idx = i;
		if (stat(v->legs[i].device, &sb) || !S_ISBLK(sb.st_mode)) {
			op_hint(op, "give each leg as CLASS:/dev/BLOCKDEVICE");
			e = op_fail(op, TD_E_INVALID_ARGUMENT,
				 "leg %u: %s is not a block device", i,
				 v->legs[i].device);
			goto out;
		}
		rdevs[i] = sb.st_rdev;
		for (j = 0; j < i; j++)
			if (rdevs[j] == rdevs[i]) {
				e = op_fail(op, TD_E_INVALID_ARGUMENT,
					 "legs %u and %u are the same device",
					 j, i);
				goto out;
			}
		dc.rdev = sb.st_rdev;
		dc.path = v->legs[i].device;
		dc.owner[0] = '\0';
		if (td_volume_foreach(op->d->st, NULL, dev_in_use, &dc) > 0) {
			op_hint(op, "each leg needs a device of its own; delete %s first to reuse it",
			     dc.owner);
			e = op_fail(op, TD_E_CONFLICT, "%s is already %s",
				 v->legs[i].device, dc.owner);
			goto out;
		}
	}

	e = op_unwrap(op, &t, false, &kek);
	if (e)
		goto out;
	/*
	 * The UUID is ours and recorded, with the devices, before the first
	 * leg is formatted: if tenantd stops before the volume row lands,
	 * the next start erases exactly the legs carrying this UUID.
	 */
	r = dmt_uuid_generate(v->uuid, sizeof(v->uuid));
	if (r) {
		e = op_from_errno(op, r, "volume UUID");
		goto out;
	}
	memset(&intent, 0, sizeof(intent));
	snprintf(intent.uuid, sizeof(intent.uuid), "%s", v->uuid);
	snprintf(intent.tenant, sizeof(intent.tenant), "%s", v->tenant);
	snprintf(intent.volume, sizeof(intent.volume), "%s", v->id);
	for (i = 0; i < n; i++)
		snprintf(intent.devices[i], sizeof(intent.devices[i]), "%s",
			 v->legs[i].device);
	intent.ndev = n;
	if (td_intent_add(op->d->st, &intent)) {
		e = op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
		goto out;
	}
	op_to_dmt(v, &dv, dlegs);
	dv.uuid = intent.uuid;	/* not v->uuid: the output buffer */
	dv.generation = 1;
	r = dmt_volume_create(op->d->dmt, &dv, kek, v->uuid, sizeof(v->uuid));
	if (r) {
		/* dmt_volume_create() erased what it had formatted. */
		td_intent_del(op->d->st, intent.uuid);
		e = op_from_errno(op, r, "formatting the legs");
		goto out;
	}
	e = op_tx_begin(op);
	if (e)
		goto out;
	r = td_volume_insert(op->d->st, v);
	if (!r)
		r = td_intent_del(op->d->st, intent.uuid);
	if (r) {
		e = op_fail(op, r == -EEXIST ? TD_E_CONFLICT : TD_E_INTERNAL,
			 "database: %s", td_store_err(op->d->st));
		op_to_dmt(v, &dv, dlegs);
		dmt_volume_erase(op->d->dmt, &dv, 0);
		goto out;
	}
	snprintf(op->detail, sizeof(op->detail), "uuid %s, %u leg(s)",
		 v->uuid, n);
	op->result = op_volume_json(v, true);
	e = TD_OK;
out:
	dmt_key_free(kek);
	free(v);
	return e;
}

static int list_volume(const struct td_volume *v, void *arg)
{
	struct list_arg *la = arg;

	if (td_may_see(&la->op->d->cfg, la->op->c->uid, TD_V_VOLUME_LIST,
		       v->tenant, v->vm[0] ? v->vm : NULL))
		json_object_array_add(la->arr, op_volume_json(v, false));
	return 0;
}

static enum td_err op_volume_list(struct op *op)
{
	const char *tid = td_arg_str(op->req, "tenant");
	struct list_arg la = { op, NULL };
	enum td_err e;

	op_set_object(op, tid, NULL);
	e = op_authorize(op, NULL, NULL);
	if (e)
		return e;
	la.arr = json_object_new_array();
	if (td_volume_foreach(op->d->st, tid, list_volume, &la)) {
		json_object_put(la.arr);
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	}
	op->result = json_object_new_object();
	json_object_object_add(op->result, "volumes", la.arr);
	return TD_OK;
}

/*
 * Load the volume named by the request and authorise on it.  A caller who
 * may not see the volume is denied whether or not it exists (no existence
 * oracle across tenants); one who may see its tenant learns "not found".
 */
enum td_err op_load_volume(struct op *op, struct td_volume *v)
{
	const char *tid = td_arg_str(op->req, "tenant");
	const char *vid = td_arg_str(op->req, "volume");
	int r;

	op_set_object(op, tid, vid);
	r = td_volume_get(op->d->st, tid, vid, v);
	if (r && r != -ENOENT)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	if (op_authorize(op, tid, r ? NULL : (v->vm[0] ? v->vm : NULL)))
		return TD_E_DENIED;
	if (r) {
		op_hint(op, "list volumes with 'tenantctl volume list %s'", tid);
		return op_fail(op, TD_E_NOT_FOUND, "no volume %s/%s", tid, vid);
	}
	return TD_OK;
}

const char *op_key_state_name(enum dmt_key_state s)
{
	return s == DMT_KEY_STATE_LOADED ? "loaded" :
		s == DMT_KEY_STATE_WIPED ? "wiped" : "unknown";
}

static enum td_err op_volume_status(struct op *op)
{
	struct td_volume v;
	struct dmt_status *st = NULL;
	enum td_err e = op_load_volume(op, &v);
	json_object *k;
	int r;

	if (e)
		return e;
	op->result = op_volume_json(&v, true);
	if (!v.attached || op->d->no_dm)
		return TD_OK;
	r = dmt_dev_status(op->d->dmt, v.dm_name, &st);
	if (r) {
		json_object_object_add(op->result, "kernel_status_error",
				       json_object_new_string(strerror(-r)));
		return TD_OK;
	}
	k = json_object_new_object();
	json_object_object_add(k, "key_state", json_object_new_string(
		op_key_state_name(dmt_status_key_state(st))));
	json_object_object_add(k, "reads", json_object_new_int64(
		(int64_t)dmt_status_counter(st, DMT_COUNTER_READS)));
	json_object_object_add(k, "writes", json_object_new_int64(
		(int64_t)dmt_status_counter(st, DMT_COUNTER_WRITES)));
	json_object_object_add(k, "read_errors", json_object_new_int64(
		(int64_t)dmt_status_counter(st, DMT_COUNTER_READ_ERRORS)));
	json_object_object_add(k, "write_errors", json_object_new_int64(
		(int64_t)dmt_status_counter(st, DMT_COUNTER_WRITE_ERRORS)));
	json_object_object_add(k, "crypt_errors", json_object_new_int64(
		(int64_t)dmt_status_counter(st, DMT_COUNTER_CRYPT_ERRORS)));
	{
		json_object *ls = json_object_new_array();
		unsigned int i;

		for (i = 0; i < dmt_status_nr_legs(st); i++) {
			char s[2] = { (char)dmt_status_leg_state(st, i), 0 };

			json_object_array_add(ls, json_object_new_string(s));
		}
		json_object_object_add(k, "leg_states", ls);
	}
	td_status_sync_json(st, k);	/* -- metrics -- resync, remote lag */
	json_object_object_add(op->result, "kernel", k);
	dmt_status_free(st);
	/* remote: failed remote legs tenantd retries */
	k = td_monitor_json(v.dm_name);
	if (k)
		json_object_object_add(op->result, "retry", k);
	return TD_OK;
}

static enum td_err op_volume_assign(struct op *op)
{
	const char *vm = td_arg_str(op->req, "vm");
	struct td_volume v;
	enum td_err e = op_load_volume(op, &v);
	uid_t owner;

	if (e)
		return e;
	if (!td_vm_owner(&op->d->cfg, vm, &owner)) {
		op_hint(op, "add the VM to a 'hypervisor uid=... vms=...' line of tenantd.conf and reload tenantd (SIGHUP)");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			    "no hypervisor serves VM '%s'", vm);
	}
	if (v.attached && strcmp(v.att_vm, vm)) {
		op_hint(op, "detach it first: 'tenantctl volume detach %s %s'",
		     v.tenant, v.id);
		return op_fail(op, TD_E_CONFLICT, "%s/%s is attached to VM '%s'",
			    v.tenant, v.id, v.att_vm);
	}
	if (op_tx_begin(op))
		return TD_E_INTERNAL;
	if (td_volume_set_vm(op->d->st, v.tenant, v.id, vm))
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	snprintf(op->detail, sizeof(op->detail), "vm %s (was %s)", vm,
		 v.vm[0] ? v.vm : "none");
	op->result = json_object_new_object();
	json_object_object_add(op->result, "vm", json_object_new_string(vm));
	return TD_OK;
}

/* Hand the device node(s) to the hypervisor: owner @uid, mode 0600. */
int op_chown_nodes(struct op *op, const char *name, uid_t uid)
{
	struct dmt_dev_info info;
	char path[512];
	struct passwd *pw = getpwuid(uid);
	gid_t gid = pw ? pw->pw_gid : (gid_t)uid;
	int r, done = 0;

	snprintf(path, sizeof(path), "%s/mapper/%s", op->d->dev_dir, name);
	if (chown(path, uid, gid) == 0 && chmod(path, 0600) == 0)
		done++;
	r = dmt_dev_info(op->d->dmt, name, &info);
	if (!r) {
		snprintf(path, sizeof(path), "%s/dm-%u", op->d->dev_dir,
			 info.minor);
		if (chown(path, uid, gid) == 0 && chmod(path, 0600) == 0)
			done++;
	}
	return done ? 0 : -ENOENT;
}

/*
 * Remove a mapping just made whose attachment was not recorded; the reason
 * the request failed stays in @op->msg, a failed removal is added to it.
 */
static void attach_undo(struct op *op, const char *name)
{
	int r = dmt_volume_detach(op->d->dmt, name, 0);
	size_t n = strlen(op->msg);

	if (r && r != -ENODEV) {
		td_log(LOG_CRIT, "%s: attach not recorded and the device could NOT be removed: %s: remove it with 'dmsetup remove %s'",
		       name, strerror(-r), name);
		snprintf(op->msg + n, sizeof(op->msg) - n,
			 "; the device %s could not be removed (%s): run 'dmsetup remove %s'",
			 name, strerror(-r), name);
		return;
	}
	op_udev_owner_forget(op->d, name);
	snprintf(op->msg + n, sizeof(op->msg) - n, "; the device was removed");
}

static void attach_committed(struct op *op)
{
	free(op->after_arg);
	op->after_arg = NULL;
}

static void attach_aborted(struct op *op)
{
	attach_undo(op, op->after_arg);
	attach_committed(op);
}

static enum td_err op_volume_attach(struct op *op)
{
	const char *vm = td_arg_str(op->req, "vm");
	struct dmt_leg legs[TD_MAX_LEGS];
	struct dmt_volume dv;
	struct dmt_key *kek = NULL;
	struct td_volume v;
	struct td_tenant t;
	char name[128], path[DMT_DEV_PATH_MAX];
	int64_t started = td_metrics_now_ms();
	bool next;
	enum td_err e;
	uid_t owner;
	int r;

	e = op_load_volume(op, &v);
	if (!e)
		e = op_need_dm(op);
	if (e)
		return e;
	if (op->role == TD_ROLE_OPERATOR) {
		if (!vm)
			vm = v.vm[0] ? v.vm : NULL;
		if (!vm) {
			op_hint(op, "repeat with --vm VM: the operator attaches for a hypervisor's VM");
			return op_fail(op, TD_E_INVALID_ARGUMENT,
				    "%s/%s is not assigned to a VM", v.tenant,
				    v.id);
		}
		if (!td_vm_owner(&op->d->cfg, vm, &owner)) {
			op_hint(op, "add the VM to a 'hypervisor uid=... vms=...' line of tenantd.conf and reload tenantd (SIGHUP)");
			return op_fail(op, TD_E_INVALID_ARGUMENT,
				    "no hypervisor serves VM '%s'", vm);
		}
		if (owner == op->c->uid)
			return op_fail(op, TD_E_DENIED,
				    "the operator may not own a plaintext mapping");
	} else {
		if (vm && strcmp(vm, v.vm)) {
			op_hint(op, "ask the operator to assign the volume to that VM");
			return op_fail(op, TD_E_DENIED,
				    "%s/%s is assigned to VM '%s', not '%s'",
				    v.tenant, v.id, v.vm, vm);
		}
		vm = v.vm;
		owner = op->c->uid;
	}
	if (v.vm[0] && strcmp(vm, v.vm)) {
		op_hint(op, "reassign it first: 'tenantctl volume assign %s %s --vm %s'",
		     v.tenant, v.id, vm);
		return op_fail(op, TD_E_CONFLICT, "%s/%s is assigned to VM '%s'",
			    v.tenant, v.id, v.vm);
	}
	if (v.attached) {
		op_hint(op, "detach it first: 'tenantctl volume detach %s %s'",
		     v.tenant, v.id);
		return op_fail(op, TD_E_CONFLICT,
			    "%s/%s is already attached as %s for VM '%s'",
			    v.tenant, v.id, v.device, v.att_vm);
	}
	e = op_access_check_free(op, &v);	/* -- access -- */
	if (e)
		return e;
	e = op_load_tenant(op, v.tenant, &t);
	if (e)
		return e;
	/* During a rotation a volume opens with the KEK of its generation. */
	next = t.has_next && v.kek_gen == t.next_gen;
	e = op_unwrap(op, &t, next, &kek);
	if (e)
		return e;
	td_dm_name(v.tenant, v.id, name, sizeof(name));
	op_to_dmt(&v, &dv, legs);
	op_udev_owner_publish(op->d, name, owner, vm);	/* udev */
	r = dmt_volume_attach(op->d->dmt, &dv, kek, name, 0, path,
			      sizeof(path));
	if (r == -EPERM && t.has_next) {
		dmt_key_free(kek);
		kek = NULL;
		e = op_unwrap(op, &t, !next, &kek);
		if (e)
			return e;
		r = dmt_volume_attach(op->d->dmt, &dv, kek, name, 0, path,
				      sizeof(path));
	}
	dmt_key_free(kek);
	if (r)
		op_udev_owner_forget(op->d, name);	/* udev */
	if (r == -EINVAL && v.nlegs > 1) {
		op_hint(op, "this volume needs a kernel with replication; meanwhile use 1-leg volumes");
		return op_fail(op, TD_E_UNSUPPORTED,
			    "the kernel target refused the %u-leg table of %s/%s (see the kernel log): the loaded dm-tenant supports fewer legs",
			    v.nlegs, v.tenant, v.id);
	}
	if (r)
		return op_from_errno(op, r, "attach");
	if (op_chown_nodes(op, name, owner))
		td_log(LOG_WARNING, "%s: cannot hand the device node to uid %u",
		       name, (unsigned int)owner);
	/* A plaintext mapping the store does not know must not stay. */
	e = op_tx_begin(op);
	if (!e && !v.vm[0] && td_volume_set_vm(op->d->st, v.tenant, v.id, vm))
		e = op_fail(op, TD_E_INTERNAL, "cannot record the VM: %s",
			    td_store_err(op->d->st));
	if (!e && td_attach_add(op->d->st, v.tenant, v.id, vm, name, path,
				owner))
		e = op_fail(op, TD_E_INTERNAL,
			    "the attachment could not be recorded: %s",
			    td_store_err(op->d->st));
	if (!e)
		op->after_arg = strdup(name);
	if (!e && !op->after_arg)
		e = op_fail(op, TD_E_INTERNAL, "out of memory");
	if (e) {
		op_hint(op, "check the database's disk (space, permissions), then repeat");
		attach_undo(op, name);
		return e;
	}
	/* The commit with the audit record may still fail (finish()). */
	op->after_commit = attach_committed;
	op->after_abort = attach_aborted;
	snprintf(op->detail, sizeof(op->detail), "%.60s for vm %.64s owner uid %u",
		 name, vm, (unsigned int)owner);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "dm_name", json_object_new_string(name));
	json_object_object_add(op->result, "device", json_object_new_string(path));
	json_object_object_add(op->result, "vm", json_object_new_string(vm));
	json_object_object_add(op->result, "owner_uid",
			       json_object_new_int64(owner));
	td_metrics_attach_done(v.tenant, v.id, td_metrics_now_ms() - started);
	return TD_OK;
}

static enum td_err op_volume_detach(struct op *op)
{
	struct td_volume v;
	enum td_err e = op_load_volume(op, &v);
	const char *reason = "detach";
	int r;

	if (!e)
		e = op_need_dm(op);
	if (e)
		return e;
	if (!v.attached) {
		op_hint(op, "nothing to do; see 'tenantctl volume status %s %s'",
		     v.tenant, v.id);
		return op_fail(op, TD_E_CONFLICT, "%s/%s is not attached",
			    v.tenant, v.id);
	}
	r = dmt_volume_detach(op->d->dmt, v.dm_name, 0);
	if (r == -ENODEV) {
		reason = "vanished";
	} else if (r == -EBUSY) {
		op_hint(op, "the device is open (by VM '%s'?): stop using it, then repeat",
		     v.att_vm);
		return op_fail(op, TD_E_CONFLICT, "%s is in use", v.dm_name);
	} else if (r) {
		return op_from_errno(op, r, "detach");
	}
	op_tx_begin(op);	/* without it, the row still lands */
	op_udev_owner_forget(op->d, v.dm_name);	/* udev */
	if (td_attach_close(op->d->st, v.tenant, v.id, reason))
		td_log(LOG_ERR, "%s: detach NOT recorded: %s", v.dm_name,
		       td_store_err(op->d->st));
	snprintf(op->detail, sizeof(op->detail), "%s (%s)", v.dm_name, reason);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "dm_name",
			       json_object_new_string(v.dm_name));
	return TD_OK;
}

/* volume.delete: op_wipe_volume_delete (ops-wipe.c). */

static enum td_err op_leg(struct op *op)
{
	uint64_t idx = td_arg_uint(op->req, "leg", 0);
	bool failing = op->req->verb == TD_V_LEG_FAIL;
	bool force = !failing && td_arg_bool(op->req, "force");
	struct td_volume v;
	enum td_err e = op_load_volume(op, &v);
	char msg[64];
	int r;

	if (!e)
		e = op_need_dm(op);
	if (e)
		return e;
	snprintf(op->object + strlen(op->object),
		 sizeof(op->object) - strlen(op->object), "/leg%" PRIu64, idx);
	if (idx >= v.nlegs)
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			    "%s/%s has legs 0..%u", v.tenant, v.id,
			    v.nlegs - 1);
	if (!v.attached) {
		op_hint(op, "leg states live in the kernel: attach the volume first");
		return op_fail(op, TD_E_CONFLICT, "%s/%s is not attached",
			    v.tenant, v.id);
	}
	/* the target's message is "leg <i> fail|recover [force]" (dm-tenant.rst) */
	snprintf(msg, sizeof(msg), "leg %" PRIu64 " %s", idx,
		 failing ? "fail" : force ? "recover force" : "recover");
	r = dmt_dev_message(op->d->dmt, v.dm_name, msg, NULL, 0);
	if (r == -EPERM && !failing) {
		op_hint(op, "the leg was written apart from the volume (split brain, state S): 'tenantctl leg recover --force' overwrites it and discards those writes; see Documentation/remote-legs.md");
		return op_fail(op, TD_E_CONFLICT, "leg %" PRIu64 " of %s/%s diverged",
			    idx, v.tenant, v.id);
	}
	if (r == -EINVAL || r == -EOPNOTSUPP) {
		op_hint(op, failing ?
		     "single-leg volumes have no leg states" :
		     "only a failed leg (state D) can be recovered; see 'tenantctl volume status'");
		return op_fail(op, TD_E_UNSUPPORTED,
			    "the kernel target refused '%s'", msg);
	}
	if (r)
		return op_from_errno(op, r, msg);
	/* remote: a leg failed by hand is not retried, not even
	 * by the next tenantd: the hold is in the store too. */
	if (!strcmp(v.legs[idx].cls, "remote")) {
		td_monitor_hold(v.dm_name, (unsigned int)idx, failing);
		e = op_tx_begin(op);
		if (!e && td_leg_hold_set(op->d->st, v.tenant, v.id,
					  (unsigned int)idx, failing))
			e = op_fail(op, TD_E_INTERNAL,
				    "'%s' was done, but the hold could not be recorded: %s",
				    msg, td_store_err(op->d->st));
		if (e) {
			op_hint(op, "check the database's disk (space, permissions), then repeat the command");
			return e;
		}
	}
	snprintf(op->detail, sizeof(op->detail), "%s", msg);
	op->result = json_object_new_object();
	return TD_OK;
}

/* --- audit ---------------------------------------------------------------- */

static int export_rec(const struct td_audit_rec *r, void *arg)
{
	json_object_array_add(arg, td_audit_to_json(r));
	return 0;
}

static enum td_err op_audit_export(struct op *op)
{
	int64_t after = (int64_t)td_arg_uint(op->req, "after", 0);
	int64_t limit = (int64_t)td_arg_uint(op->req, "limit", 1000);
	json_object *arr;
	enum td_err e = op_authorize(op, NULL, NULL);
	int64_t seq;
	char head[TD_HASH_HEX];

	if (e)
		return e;
	if (limit <= 0 || limit > 5000)
		limit = 5000;
	arr = json_object_new_array();
	if (td_audit_foreach(op->d->st, after, limit, export_rec, arr)) {
		json_object_put(arr);
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	}
	td_audit_head(op->d->st, &seq, head);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "more", json_object_new_boolean(
		json_object_array_length(arr) == (size_t)limit));
	json_object_object_add(op->result, "records", arr);
	json_object_object_add(op->result, "head_seq",
			       json_object_new_int64(seq));
	json_object_object_add(op->result, "head_hash",
			       json_object_new_string(head));
	snprintf(op->detail, sizeof(op->detail), "after %" PRId64 ", %zu records",
		 after, json_object_array_length(arr));
	return TD_OK;
}

struct verify_arg {
	struct td_audit_verifier v;
	int64_t alarm_seq;		/* first "daemon.audit-check invalid" */
	char alarm[160];
};

static int verify_rec(const struct td_audit_rec *r, void *arg)
{
	struct verify_arg *va = arg;

	td_audit_verify_step(&va->v, r);
	if (!va->alarm_seq && !strcmp(r->action, "daemon.audit-check") &&
	    strcmp(r->result, "ok")) {
		va->alarm_seq = r->seq;
		snprintf(va->alarm, sizeof(va->alarm), "%s", r->detail);
	}
	return 0;
}

/*
 * Verify the chain, the audit_head table and the head file.  Returns 0 if
 * all agree, else -EBADMSG with the first problem in @va->v.err.
 */
static int verify_all(struct td_daemon *d, struct verify_arg *va, bool *file)
{
	char head[TD_HASH_HEX], fhead[TD_HASH_HEX];
	int64_t seq, fseq;
	int fr;

	memset(va, 0, sizeof(*va));
	td_audit_verify_init(&va->v);
	if (td_audit_foreach(d->st, 0, 0, verify_rec, va) ||
	    td_audit_head(d->st, &seq, head))
		return -EIO;
	td_audit_verify_anchor(&va->v, seq, head);
	fr = td_audit_head_file(d->st, &fseq, fhead);
	*file = fr == 0;
	if (!va->v.failed && !fr && (fseq != seq || strcmp(fhead, head))) {
		snprintf(va->v.err, sizeof(va->v.err),
			 "the audit_head table (record %" PRId64
			 ") disagrees with the head file (record %" PRId64
			 "): the database was edited", seq, fseq);
		va->v.failed = true;
	}
	if (!va->v.failed && va->alarm_seq) {
		snprintf(va->v.err, sizeof(va->v.err),
			 "record %" PRId64 ": tenantd found the audit log tampered with at a start: %s",
			 va->alarm_seq, va->alarm);
		va->v.failed = true;
	}
	return va->v.failed ? -EBADMSG : 0;
}

void td_audit_startup_check(struct td_daemon *d)
{
	struct verify_arg va;
	bool file;
	int r = verify_all(d, &va, &file);

	if (r == -EIO) {
		td_log(LOG_ERR, "audit check: database: %s", td_store_err(d->st));
		return;
	}
	if (r) {
		td_log(LOG_CRIT, "AUDIT LOG TAMPERED WITH: %s", va.v.err);
		td_audit_event(d, "daemon.audit-check", "", "invalid", va.v.err);
		return;
	}
	if (!file && va.v.count)
		td_log(LOG_WARNING, "audit head file missing: the end of the chain cannot be checked against it");
	td_log(LOG_INFO, "audit chain valid: %" PRId64 " records, head %s",
	       va.v.count, va.v.head);
}

static enum td_err op_audit_verify(struct op *op)
{
	struct verify_arg va;
	enum td_err e = op_authorize(op, NULL, NULL);
	bool file;

	if (e)
		return e;
	if (verify_all(op->d, &va, &file) == -EIO)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	op->result = json_object_new_object();
	json_object_object_add(op->result, "valid",
			       json_object_new_boolean(!va.v.failed));
	json_object_object_add(op->result, "records",
			       json_object_new_int64(va.v.count));
	json_object_object_add(op->result, "head_hash",
			       json_object_new_string(va.v.head));
	json_object_object_add(op->result, "head_file",
			       json_object_new_boolean(file));
	if (va.v.failed)
		json_object_object_add(op->result, "problem",
				       json_object_new_string(va.v.err));
	snprintf(op->detail, sizeof(op->detail), "%s, %" PRId64 " records%s%.100s",
		 va.v.failed ? "INVALID" : "valid", va.v.count,
		 va.v.failed ? ": " : "", va.v.failed ? va.v.err : "");
	return TD_OK;
}

/* --- dispatch ------------------------------------------------------------- */

/* Indexed by verb; a verb left out is refused (op_handler()). */
static const op_fn handlers[TD_V__COUNT] = {
	[TD_V_TENANT_CREATE]	= op_tenant_create,
	[TD_V_TENANT_LIST]	= op_tenant_list,
	[TD_V_TENANT_DELETE]	= op_wipe_tenant_delete,
	[TD_V_TENANT_ROTATE_KEK] = op_tenant_rotate,
	[TD_V_VOLUME_CREATE]	= op_volume_create,
	[TD_V_VOLUME_LIST]	= op_volume_list,
	[TD_V_VOLUME_STATUS]	= op_volume_status,
	[TD_V_VOLUME_ASSIGN]	= op_volume_assign,
	[TD_V_VOLUME_ATTACH]	= op_volume_attach,
	[TD_V_VOLUME_DETACH]	= op_volume_detach,
	[TD_V_VOLUME_DELETE]	= op_wipe_volume_delete,
	[TD_V_LEG_FAIL]		= op_leg,
	[TD_V_LEG_RECOVER]	= op_leg,
	[TD_V_AUDIT_EXPORT]	= op_audit_export,
	[TD_V_AUDIT_VERIFY]	= op_audit_verify,
	/* -- access -- */
	[TD_V_ACCESS_REQUEST]	= op_access_request,
	[TD_V_ACCESS_APPROVE]	= op_access_decide,
	[TD_V_ACCESS_DENY]	= op_access_decide,
	[TD_V_ACCESS_OPEN]	= op_access_open,
	[TD_V_ACCESS_CLOSE]	= op_access_end,
	[TD_V_ACCESS_REVOKE]	= op_access_end,
	[TD_V_ACCESS_LIST]	= op_access_list,
	/* -- wipe -- */
	[TD_V_WIPE_STATUS]	= op_wipe_status,
	[TD_V_TENANT_AUDIT_EXPORT] = op_tenant_audit_export,
	[TD_V_VOLUME_EXPORT]	= op_volume_export,
	/* -- udev -- */
	[TD_V_LEG_SEEN]		= op_leg_seen,
	[TD_V_LEG_GONE]		= op_leg_gone,
	[TD_V_VOLUME_AUTO]	= op_volume_auto,
	/* -- remote -- */
	/* -- metrics -- */
	[TD_V_METRICS_GET]	= op_metrics_get,
	/* -- mfa -- */
	[TD_V_MFA_ENROLL]	= op_mfa_enroll,
	[TD_V_MFA_CONFIRM]	= op_mfa_confirm,
	[TD_V_MFA_RESET]	= op_mfa_reset,
	[TD_V_MFA_LIST]		= op_mfa_list,
};

static op_fn op_handler(enum td_verb verb)
{
	if ((unsigned int)verb >= TD_V__COUNT)
		return NULL;
	return handlers[verb];
}

bool td_verb_served(enum td_verb verb)
{
	return op_handler(verb) != NULL;
}

static enum td_err op_unserved(struct op *op)
{
	op_hint(op, "this tenantd does not serve it: run a tenantd and tenantctl of the same version");
	return op_fail(op, TD_E_UNSUPPORTED, "verb '%s' has no handler in this tenantd",
		       op->req->verb_text);
}

static json_object *finish(struct op *op, enum td_err e, const char *action)
{
	char role[64];
	json_object *reply;

	if (op->role != TD_ROLE_NONE)
		snprintf(role, sizeof(role), "%s", td_role_name(op->role));
	else
		td_roles_label(&op->d->cfg, op->c->uid, role, sizeof(role));
	if (op->tx && e) {
		/* Failed after op_tx_begin(): undo its rows, audit alone. */
		td_store_rollback(op->d->st);
		op->tx = false;
	}
	if (op->tx) {
		/* The state change and its audit record land together or not
		 * at all: no recorded change without its record. */
		op->tx = false;
		if (op_audit(op->d, op->c->uid, op->c->pid, role, action,
			     op->object, "ok", op->detail) ||
		    td_store_commit(op->d->st)) {
			td_store_rollback(op->d->st);
			json_object_put(op->result);
			op->result = NULL;
			op_hint(op, "check the database's disk (space, permissions), then repeat");
			e = op_fail(op, TD_E_INTERNAL,
				    "the audit record could not be written, so the change was not recorded: %s",
				    td_store_err(op->d->st));
			op_audit(op->d, op->c->uid, op->c->pid, role, action,
				 op->object, td_err_name(e), op->msg);
		}
	} else {
		op_audit(op->d, op->c->uid, op->c->pid, role, action,
			 op->object, e ? td_err_name(e) : "ok",
			 e ? op->msg : op->detail);
	}
	if (!e && op->after_commit)
		op->after_commit(op);
	else if (e && op->after_abort)
		op->after_abort(op);
	if (e) {
		if (e != TD_E_DENIED)
			td_log(LOG_INFO, "uid %u pid %d %s %s: %s: %s",
			       (unsigned int)op->c->uid, (int)op->c->pid,
			       action, op->object, td_err_name(e), op->msg);
		reply = td_reply_err(op->req ? op->req->id : NULL, e, op->msg,
				     op->hint);
		json_object_put(op->result);
		return reply;
	}
	return td_reply_ok(op->req->id, op->result);
}

json_object *td_handle_line(struct td_daemon *d, const struct td_caller *c,
			    const char *line, size_t len)
{
	struct td_request req;
	struct op op;
	json_object *reply;
	struct timespec t0, t1;
	enum td_err e;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&op, 0, sizeof(op));
	op.d = d;
	op.c = c;
	op.req = &req;
	e = td_parse_request(line, len, &req, op.msg, sizeof(op.msg));
	if (e) {
		if (e == TD_E_UNKNOWN_VERB)
			op_hint(&op, "see tenantctl(8) or Documentation/tenantd-protocol.md for the verbs");
		reply = finish(&op, e, req.verb_text);
	} else {
		op_fn fn = op_handler(req.verb);

		e = fn ? fn(&op) : op_unserved(&op);
		if (e == TD_OK && !op.result)
			op.result = json_object_new_object();
		reply = finish(&op, e, fn ? td_verb_name(req.verb) :
			       req.verb_text);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	td_log(LOG_DEBUG, "request timing: %s %s: %.1f ms (audit included)",
	       req.verb_text, op.object,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	td_request_free(&req);
	return reply;
}

json_object *td_handle_broken(struct td_daemon *d, const struct td_caller *c,
			      enum td_err e, const char *msg)
{
	struct op op;

	memset(&op, 0, sizeof(op));
	op.d = d;
	op.c = c;
	snprintf(op.msg, sizeof(op.msg), "%s", msg);
	return finish(&op, e, "-");
}

/* --- startup ------------------------------------------------------------- */

struct recon {
	struct td_daemon *d;
	unsigned int kept, adopted, vanished, unknown;
};

/*
 * The owner file of a device found live: udev reads it at every change
 * event, and /run may have lost it while tenantd was down.  The owner is
 * the recorded one, else the node's, else the hypervisor of the volume's
 * VM; returns it (-1: none, the node stays root's).
 */
static int64_t recon_owner(struct td_daemon *d, const struct td_volume *v,
			   const char *name, int64_t owner)
{
	const char *vm = v->attached && v->att_vm[0] ? v->att_vm : v->vm;
	uid_t hv;

	if (owner < 0 && vm[0] && td_vm_owner(&d->cfg, vm, &hv))
		owner = hv;
	if (owner < 0) {
		td_log(LOG_WARNING, "reconcile: %s: no owner known: its node stays root's; attach it again for its VM",
		       name);
		return -1;
	}
	op_udev_owner_restore(d, name, (uid_t)owner, vm);
	return owner;
}

static int recon_dev(const struct dmt_dev_info *info, void *arg)
{
	struct recon *rc = arg;
	struct td_volume v;
	char path[512];
	struct stat sb;
	int64_t owner = -1;

	/* -- access -- grant mappings: td_access_startup() */
	if (td_access_is_grant_dev(info->name))
		return 0;
	if (td_volume_by_uuid(rc->d->st, info->volume_uuid, &v)) {
		td_log(LOG_WARNING,
		       "reconcile: %s (TENANT-%s) is not in the database; left alone",
		       info->name, info->volume_uuid);
		rc->unknown++;
		return 0;
	}
	if (v.attached && !strcmp(v.dm_name, info->name)) {
		recon_owner(rc->d, &v, info->name, v.hv_uid);
		rc->kept++;
		return 0;
	}
	if (v.attached)
		td_attach_close(rc->d->st, v.tenant, v.id, "renamed");
	snprintf(path, sizeof(path), "%s/mapper/%s", rc->d->dev_dir,
		 info->name);
	if (stat(path, &sb) == 0)
		owner = sb.st_uid;
	else
		snprintf(path, sizeof(path), "%s/dm-%u", rc->d->dev_dir,
			 info->minor);
	if (owner <= 0)
		owner = -1;	/* root's node: udev's default, not an owner */
	owner = recon_owner(rc->d, &v, info->name, owner);
	td_attach_add(rc->d->st, v.tenant, v.id, v.vm[0] ? v.vm : NULL,
		      info->name, path, owner);
	td_log(LOG_INFO, "reconcile: %s/%s is live as %s: recorded as attached",
	       v.tenant, v.id, info->name);
	rc->adopted++;
	return 0;
}

static int recon_vol(const struct td_volume *v, void *arg)
{
	struct recon *rc = arg;
	struct dmt_dev_info info;

	if (!v->attached)
		return 0;
	if (dmt_dev_info(rc->d->dmt, v->dm_name, &info) == 0 &&
	    !strcmp(info.volume_uuid, v->uuid))
		return 0;
	td_attach_close(rc->d->st, v->tenant, v->id, "vanished");
	td_log(LOG_INFO, "reconcile: %s/%s: device %s is gone: recorded as detached",
	       v->tenant, v->id, v->dm_name);
	rc->vanished++;
	return 0;
}

void td_reconcile(struct td_daemon *d)
{
	struct recon rc = { .d = d };
	char detail[160];
	int r;

	if (d->no_dm) {
		td_log(LOG_INFO, "reconcile: skipped (--no-dm)");
		return;
	}
	r = dmt_dev_list(d->dmt, recon_dev, &rc);
	if (r) {
		/* No device-mapper (dm-mod not loaded): nothing can be live. */
		td_log(LOG_INFO, "reconcile: cannot list dm devices (%s)",
		       strerror(-r));
	}
	td_volume_foreach(d->st, NULL, recon_vol, &rc);
	snprintf(detail, sizeof(detail),
		 "kept %u, adopted %u, vanished %u, unknown %u%s", rc.kept,
		 rc.adopted, rc.vanished, rc.unknown,
		 r ? " (no dm device list)" : "");
	td_log(LOG_INFO, "reconcile: %s", detail);
	td_audit_event(d, "daemon.reconcile", "", "ok", detail);
}

static int pending(const struct td_tenant *t, void *arg)
{
	struct vol_list *ids = arg;	/* reuses the list: only ids matter */
	struct td_volume v;

	if (!t->has_next)
		return 0;
	memset(&v, 0, sizeof(v));
	snprintf(v.tenant, sizeof(v.tenant), "%s", t->id);
	return op_collect_vol(&v, ids);
}

static void resume_one(struct td_daemon *d, const char *id)
{
	struct td_caller c = { .uid = getuid(), .pid = getpid() };
	struct td_request req = { .verb = TD_V_TENANT_ROTATE_KEK };
	struct op op;
	enum td_err e;

	memset(&op, 0, sizeof(op));
	op.d = d;
	op.c = &c;
	op.req = &req;
	op_set_object(&op, id, NULL);
	td_log(LOG_INFO, "resuming the interrupted KEK rotation of tenant %s",
	       id);
	e = rotate(&op, id);
	if (e)
		td_log(LOG_ERR, "KEK rotation of tenant %s: %s", id, op.msg);
	op_audit(d, c.uid, c.pid, "daemon", "tenant.rotate-kek.resume", op.object,
	      e ? td_err_name(e) : "ok", e ? op.msg : op.detail);
	json_object_put(op.result);
}

void td_resume_rotations(struct td_daemon *d)
{
	struct vol_list ids = { NULL, 0 };
	size_t i;

	td_tenant_foreach(d->st, pending, &ids);
	for (i = 0; i < ids.n; i++)
		resume_one(d, ids.v[i].tenant);
	free(ids.v);
}

/* --- startup: creates a stop interrupted ---------------------------------- */

struct intent_list {
	struct td_intent *v;
	size_t n;
};

static int collect_intent(const struct td_intent *in, void *arg)
{
	struct intent_list *il = arg;
	struct td_intent *nv = realloc(il->v, (il->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	il->v = nv;
	il->v[il->n++] = *in;
	return 0;
}

/* Erase the legs of @in that carry its UUID; returns how many. */
static unsigned int erase_orphans(struct td_daemon *d,
				  const struct td_intent *in,
				  unsigned int *failed)
{
	struct dmt_leg_info info;
	unsigned int i, erased = 0;

	for (i = 0; i < in->ndev; i++) {
		if (dmt_leg_read_info(d->dmt, in->devices[i], &info) ||
		    strcmp(info.uuid, in->uuid))
			continue;	/* never formatted, or not ours now */
		if (dmt_leg_erase(d->dmt, in->devices[i], 0)) {
			td_log(LOG_ERR, "create cleanup: cannot erase %s (leg of unrecorded volume %s/%s %s)",
			       in->devices[i], in->tenant, in->volume,
			       in->uuid);
			(*failed)++;
			continue;
		}
		erased++;
	}
	return erased;
}

void td_cleanup_intents(struct td_daemon *d)
{
	struct intent_list il = { NULL, 0 };
	struct td_volume v;
	char obj[112], detail[160];
	unsigned int erased, failed;
	size_t i;

	if (td_intent_foreach(d->st, collect_intent, &il))
		td_log(LOG_ERR, "create cleanup: %s", td_store_err(d->st));
	for (i = 0; i < il.n; i++) {
		const struct td_intent *in = &il.v[i];

		snprintf(obj, sizeof(obj), "%s/%s", in->tenant, in->volume);
		if (td_volume_by_uuid(d->st, in->uuid, &v) == 0) {
			/* The volume was recorded: nothing to undo. */
			td_intent_del(d->st, in->uuid);
			continue;
		}
		failed = 0;
		erased = erase_orphans(d, in, &failed);
		snprintf(detail, sizeof(detail),
			 "create of %s started %s never recorded: %u leg(s) erased%s",
			 in->uuid, in->started, erased,
			 failed ? ", some NOT (see the log)" : "");
		td_log(failed ? LOG_ERR : LOG_WARNING, "create cleanup: %s: %s",
		       obj, detail);
		td_audit_event(d, "daemon.create-cleanup", obj,
			       failed ? "internal" : "ok", detail);
		if (!failed)
			td_intent_del(d->st, in->uuid);
	}
	free(il.v);
}
