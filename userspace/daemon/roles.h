/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd configuration (roles and daemon settings) and the authorisation
 * matrix.  Format in Documentation/tenantd.md, "Configuration".
 */
#ifndef TD_ROLES_H
#define TD_ROLES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "proto.h"

enum td_role {
	TD_ROLE_NONE = 0,
	TD_ROLE_OPERATOR,
	TD_ROLE_HYPERVISOR,
	TD_ROLE_TENANT_ADMIN,
	TD_ROLE_SUPPORT,
	TD_ROLE__COUNT
};

struct td_role_entry {
	enum td_role role;
	uid_t uid;
	char tenant[TD_ID_MAX + 1];	/* tenant-admin */
	char **vms;			/* hypervisor */
	size_t nvms;
};

struct td_config {
	struct td_role_entry *e;
	size_t n;
	char *socket_path;	/* NULL: not set in the file */
	char *db_path;
	char *master_key;
	unsigned int socket_mode;	/* 0: not set */
	unsigned int timeout_ms;	/* 0: not set */
	/* -- access -- seconds, 0: not set (defaults in access.h) */
	unsigned int access_pending_ttl;
	unsigned int access_max_duration;
	/* -- remote -- leg monitor, seconds (0: off) */
	bool monitor_interval_set;
	unsigned int monitor_interval;
	/* finished wipe jobs are pruned after this many days (0: never) */
	bool wipe_retention_set;
	unsigned int wipe_retention_days;
	/* -- metrics -- textfile for node_exporter (NULL: none), seconds */
	char *metrics_path;
	unsigned int metrics_interval;	/* 0: not set */
	/* -- mfa -- verbs that need a one-time code: bit (1 << verb) */
	bool mfa_required_set;
	uint64_t mfa_required;
};

/* -- mfa -- mfa-required when tenantd.conf does not set it */
#define TD_MFA_REQUIRED_DEFAULT ((1ULL << TD_V_ACCESS_APPROVE) | \
				 (1ULL << TD_V_ACCESS_DENY) | \
				 (1ULL << TD_V_ACCESS_OPEN))
/* Whether @verb needs a second factor under @cfg. */
bool td_mfa_verb_required(const struct td_config *cfg, enum td_verb verb);

const char *td_role_name(enum td_role r);

/* Parse @f (named @name in messages); on error -EINVAL and "name:line: why". */
int td_config_parse(FILE *f, const char *name, struct td_config *cfg,
		    char *err, size_t errlen);
int td_config_load(const char *path, struct td_config *cfg, char *err,
		   size_t errlen);
void td_config_free(struct td_config *cfg);

/* The object a request acts on, as far as authorisation cares. */
struct td_authz {
	const char *tenant;	/* NULL: no object (lists) */
	const char *vm;		/* VM the volume is assigned to, or NULL */
};

/*
 * The role that allows @uid to run @verb on @obj, or TD_ROLE_NONE.  With
 * @obj NULL: whether @uid may run @verb at all (list verbs then filter rows
 * with td_may_see()).  Operator is preferred when several roles allow.
 */
enum td_role td_authorize(const struct td_config *cfg, uid_t uid,
			  enum td_verb verb, const struct td_authz *obj);

/* Whether a list row (tenant, volume's vm) is visible to @uid for @verb. */
bool td_may_see(const struct td_config *cfg, uid_t uid, enum td_verb verb,
		const char *tenant, const char *vm);

/* The roles @uid holds, as a mask of 1 << enum td_role; 0: none. */
unsigned int td_uid_roles(const struct td_config *cfg, uid_t uid);

/* "operator", "hypervisor+tenant-admin", ... or "none" for the audit log. */
void td_roles_label(const struct td_config *cfg, uid_t uid, char *buf,
		    size_t len);

/* The hypervisor uid that serves @vm; false if none. */
bool td_vm_owner(const struct td_config *cfg, const char *vm, uid_t *uid);

/* Human-readable: which roles may run @verb (for "denied" hints). */
const char *td_verb_roles_hint(enum td_verb verb);

#endif /* TD_ROLES_H */
