/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd state in SQLite (Documentation/tenantd.md, "State"): tenants and
 * their wrapped KEKs, volumes and legs, attachments, the audit chain.
 * WAL, foreign_keys=ON, schema migrations counted in PRAGMA user_version.
 * Every function returns 0 or a negative errno (-ENOENT: no such row,
 * -EEXIST: unique constraint, -EIO: SQLite error, logged with td_store_err).
 */
#ifndef TD_STORE_H
#define TD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "auditchain.h"
#include "proto.h"

#define TD_WRAPPED_MAX	128
#define TD_FPR_LEN	17
#define TD_UUID_LEN	37

struct td_store;

struct td_tenant {
	char id[TD_ID_MAX + 1];
	uint8_t kek[TD_WRAPPED_MAX];	/* wrapped under the master key */
	size_t kek_len;
	int64_t kek_gen;
	char kek_fpr[TD_FPR_LEN];
	/* Rotation in progress: the next KEK (kept with the current one). */
	bool has_next;
	uint8_t next_kek[TD_WRAPPED_MAX];
	size_t next_len;
	int64_t next_gen;
	char next_fpr[TD_FPR_LEN];
	char created[40];
};

struct td_leg {
	unsigned int idx;
	char cls[8];
	char device[TD_PATH_MAX + 1];
	uint64_t offset;
};

struct td_volume {
	char tenant[TD_ID_MAX + 1];
	char id[TD_ID_MAX + 1];
	char uuid[TD_UUID_LEN];
	uint64_t size;			/* sectors; 0 = as the legs record */
	char vm[TD_VM_MAX + 1];		/* assigned VM, "" if none */
	int64_t kek_gen;		/* generation every keyslot opens with */
	char created[40];
	unsigned int nlegs;
	struct td_leg legs[TD_MAX_LEGS];
	/* Live attachment, if any. */
	bool attached;
	int64_t att_id;
	char dm_name[128];
	char device[256];
	char att_vm[TD_VM_MAX + 1];
	int64_t hv_uid;
	char attached_at[40];
};

/* Current time, RFC 3339 UTC with microseconds. */
void td_now(char *buf, size_t len);

int td_store_open(const char *path, struct td_store **st, char *err,
		  size_t errlen);
void td_store_close(struct td_store *st);
sqlite3 *td_store_db(struct td_store *st);
const char *td_store_err(struct td_store *st);
const char *td_store_path(struct td_store *st);

/* The schema steps; step i brings user_version from i to i + 1. */
extern const char *const td_schema_steps[];
extern const int td_schema_version;
/*
 * Bring @db to @n steps, each in its own transaction together with its
 * user_version bump.  -EPROTO if the database is newer than @n (written by
 * a newer tenantd: refuse rather than guess).
 */
int td_store_migrate(sqlite3 *db, const char *const *steps, int n,
		     char *err, size_t errlen);

int td_store_begin(struct td_store *st);
int td_store_commit(struct td_store *st);
void td_store_rollback(struct td_store *st);

/* Tenants. */
int td_tenant_insert(struct td_store *st, const struct td_tenant *t);
int td_tenant_get(struct td_store *st, const char *id, struct td_tenant *t);
int td_tenant_delete(struct td_store *st, const char *id);
typedef int (*td_tenant_fn)(const struct td_tenant *t, void *arg);
int td_tenant_foreach(struct td_store *st, td_tenant_fn fn, void *arg);
/* Rotation step 1: record the next KEK next to the current one. */
int td_tenant_set_next(struct td_store *st, const char *id,
		       const uint8_t *kek, size_t len, int64_t gen,
		       const char *fpr);
/* Rotation last step: next becomes current, next cleared. */
int td_tenant_promote_next(struct td_store *st, const char *id);

/* Volumes (with legs and the live attachment). */
int td_volume_insert(struct td_store *st, const struct td_volume *v);
int td_volume_get(struct td_store *st, const char *tenant, const char *id,
		  struct td_volume *v);
int td_volume_by_uuid(struct td_store *st, const char *uuid,
		      struct td_volume *v);
int td_volume_delete(struct td_store *st, const char *tenant,
		     const char *id);
int td_volume_set_vm(struct td_store *st, const char *tenant, const char *id,
		     const char *vm);
int td_volume_set_kek_gen(struct td_store *st, const char *tenant,
			  const char *id, int64_t gen);
typedef int (*td_volume_fn)(const struct td_volume *v, void *arg);
/* @tenant NULL: all tenants. */
int td_volume_foreach(struct td_store *st, const char *tenant,
		      td_volume_fn fn, void *arg);

/* Attachments: live ones have no "detached" time. */
int td_attach_add(struct td_store *st, const char *tenant, const char *vol,
		  const char *vm, const char *dm_name, const char *device,
		  int64_t hv_uid);
int td_attach_close(struct td_store *st, const char *tenant, const char *vol,
		    const char *reason);

/*
 * Create intents: the legs of a volume being formatted, recorded (and
 * committed) before the first leg is touched and deleted in the transaction
 * that records the volume.  One left at start means tenantd stopped in
 * between: its legs carry a volume the database does not know.
 */
struct td_intent {
	char uuid[TD_UUID_LEN];
	char tenant[TD_ID_MAX + 1];
	char volume[TD_ID_MAX + 1];
	char devices[TD_MAX_LEGS][TD_PATH_MAX + 1];
	unsigned int ndev;
	char started[40];
};

int td_intent_add(struct td_store *st, const struct td_intent *in);
int td_intent_del(struct td_store *st, const char *uuid);
typedef int (*td_intent_fn)(const struct td_intent *in, void *arg);
int td_intent_foreach(struct td_store *st, td_intent_fn fn, void *arg);

/*
 * Leg holds: a leg failed on purpose (leg.fail) that the leg monitor must
 * not recover; kept until leg.recover, across restarts.
 */
int td_leg_hold_set(struct td_store *st, const char *tenant,
		    const char *volume, unsigned int leg, bool held);
typedef int (*td_leg_hold_fn)(const char *tenant, const char *volume,
			      unsigned int leg, void *arg);
int td_leg_hold_foreach(struct td_store *st, td_leg_hold_fn fn, void *arg);

/* Audit: append seals the record (seq, prev, hash) in one transaction. */
int td_audit_append(struct td_store *st, struct td_audit_rec *r);
typedef int (*td_audit_fn)(const struct td_audit_rec *r, void *arg);
/* Records with seq > @after, in seq order, at most @limit (0: all). */
int td_audit_foreach(struct td_store *st, int64_t after, int64_t limit,
		     td_audit_fn fn, void *arg);
/* The head kept in the audit_head table (count, hash of the last). */
int td_audit_head(struct td_store *st, int64_t *seq, char hash[TD_HASH_HEX]);
/* The head file "<db>.audit-head": written after every append. */
int td_audit_head_file(struct td_store *st, int64_t *seq,
		       char hash[TD_HASH_HEX]);

#endif /* TD_STORE_H */
