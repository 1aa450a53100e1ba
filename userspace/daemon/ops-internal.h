/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the request handlers share: struct op (one request in flight) and
 * the helpers every handler uses.  ops.c holds the core verbs and the
 * dispatch table; each feature keeps its handlers in its own ops-*.c file
 * and names them here.
 */
#ifndef TD_OPS_INTERNAL_H
#define TD_OPS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include <dmtenant.h>

#include "ops.h"

struct op {
	struct td_daemon *d;
	const struct td_caller *c;
	struct td_request *req;
	enum td_role role;		/* that allowed the request */
	char object[112];
	char detail[160];		/* audit note on success */
	char msg[256];
	char hint[256];
	json_object *result;
	bool tx;			/* op_tx_begin() opened a transaction */
	/*
	 * Work that may only start once the transaction is committed with
	 * its audit record (a worker that reads the rows, a VACUUM):
	 * finish() calls after_commit then, or after_abort (to free
	 * after_arg) when the request failed or was rolled back.
	 */
	void (*after_commit)(struct op *op);
	void (*after_abort)(struct op *op);
	void *after_arg;
};

typedef enum td_err (*op_fn)(struct op *op);

/* Set the error message; returns @e so handlers can "return op_fail(...)". */
__attribute__((format(printf, 3, 4)))
enum td_err op_fail(struct op *op, enum td_err e, const char *fmt, ...);
/* The next step for the caller, sent with the error. */
__attribute__((format(printf, 2, 3)))
void op_hint(struct op *op, const char *fmt, ...);
/*
 * Open the transaction that carries the request's state change: finish()
 * appends the audit record inside it and commits both, or rolls both back
 * (a failed request, or an audit record that cannot be written).  Call it
 * just before the final database change, after any device-mapper work.
 */
enum td_err op_tx_begin(struct op *op);
/* Append one audit record (sealed into the hash chain); 0 or -errno. */
int op_audit(struct td_daemon *d, int64_t uid, int64_t pid,
	      const char *role, const char *action, const char *object,
	      const char *result, const char *detail);
/* Role check for the request's verb on @tenant / @vm (either may be NULL). */
enum td_err op_authorize(struct op *op, const char *tenant, const char *vm);
/* A libdmtenant -errno as a protocol error, with the library's reason. */
enum td_err op_from_errno(struct op *op, int err, const char *what);
/* TD_E_UNSUPPORTED when the daemon runs with --no-dm. */
enum td_err op_need_dm(struct op *op);
/* The audit object: "tenant" or "tenant/volume". */
void op_set_object(struct op *op, const char *tenant, const char *volume);
enum td_err op_load_tenant(struct op *op, const char *id,
			   struct td_tenant *t);
/* The volume named by the request's tenant / volume arguments. */
enum td_err op_load_volume(struct op *op, struct td_volume *v);
/* Unwrap the tenant's current (or, @next, rotating) KEK. */
enum td_err op_unwrap(struct op *op, const struct td_tenant *t, bool next,
		      struct dmt_key **kek);
/* struct dmt_volume from a stored volume; @legs has TD_MAX_LEGS room. */
void op_to_dmt(const struct td_volume *v, struct dmt_volume *dv,
	       struct dmt_leg *legs);
json_object *op_volume_json(const struct td_volume *v, bool full);
const char *op_key_state_name(enum dmt_key_state s);
/* chown / chmod 0600 the device nodes of dm device @name to @uid. */
int op_chown_nodes(struct op *op, const char *name, uid_t uid);

/* Volumes of a tenant, copied out (callers then change rows freely). */
struct vol_list {
	struct td_volume *v;
	size_t n;
};

int op_collect_vol(const struct td_volume *v, void *arg);
int op_collect_vols(struct td_store *st, const char *tenant,
		    struct vol_list *vl);

/*
 * Feature handlers, one block per file.  Keep each block in place (and
 * its marker line) so parallel work merges cleanly.
 */
/* -- ops-access.c (just-in-time access) -- */
enum td_err op_access_request(struct op *op);
enum td_err op_access_decide(struct op *op);	/* approve, deny */
enum td_err op_access_open(struct op *op);
enum td_err op_access_end(struct op *op);	/* close, revoke */
enum td_err op_access_list(struct op *op);
/* A grant's mapping ("jit+..."): reconcile leaves it to ops-access.c. */
bool td_access_is_grant_dev(const char *dm_name);
/* TD_E_CONFLICT if an active access grant holds the volume's legs. */
enum td_err op_access_check_free(struct op *op, const struct td_volume *v);
/* -- ops-wipe.c (destruction and export) -- */
enum td_err op_wipe_volume_delete(struct op *op);
enum td_err op_wipe_tenant_delete(struct op *op);
enum td_err op_wipe_status(struct op *op);
enum td_err op_tenant_audit_export(struct op *op);
enum td_err op_volume_export(struct op *op);
/* -- ops-udev.c (udev provisioning, hypervisor attach) -- */
enum td_err op_leg_seen(struct op *op);
enum td_err op_leg_gone(struct op *op);
enum td_err op_volume_auto(struct op *op);
/*
 * /run/dm-tenant/owner/<dm name>: the owner udev gives the node of a
 * tenant device (69-dm-tenant.rules); written before the device is made,
 * removed after it is gone.
 */
void op_udev_owner_publish(struct td_daemon *d, const char *name, uid_t uid,
			   const char *vm);
void op_udev_owner_forget(struct td_daemon *d, const char *name);
/* At a start: the owner file of a device found live, written again. */
void op_udev_owner_restore(struct td_daemon *d, const char *name, uid_t uid,
			   const char *vm);
/* -- ops-remote.c (remote legs) -- */
/* -- ops-metrics.c -- */
enum td_err op_metrics_get(struct op *op);
/* -- ops-mfa.c (second factor) -- */
enum td_err op_mfa_enroll(struct op *op);
enum td_err op_mfa_confirm(struct op *op);
enum td_err op_mfa_reset(struct op *op);
enum td_err op_mfa_list(struct op *op);
/*
 * For a verb listed in mfa-required: the request's one-time code against
 * the caller's enrolment, audited.  Call it after authorisation and the
 * checks that need no code, just before acting, outside a transaction.
 */
enum td_err op_mfa_check(struct op *op);

#endif /* TD_OPS_INTERNAL_H */
