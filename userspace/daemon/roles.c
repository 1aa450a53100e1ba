// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd configuration parser and authorisation matrix.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"

static const char *const role_names[TD_ROLE__COUNT] = {
	[TD_ROLE_NONE]		= "none",
	[TD_ROLE_OPERATOR]	= "operator",
	[TD_ROLE_HYPERVISOR]	= "hypervisor",
	[TD_ROLE_TENANT_ADMIN]	= "tenant-admin",
	[TD_ROLE_SUPPORT]	= "support",
};

const char *td_role_name(enum td_role r)
{
	if ((unsigned int)r >= TD_ROLE__COUNT)
		return "none";
	return role_names[r];
}

/*
 * The matrix.  R_ANY: any object.  R_OWN: hypervisor -> the volume is
 * assigned to one of its VMs; tenant-admin -> the object is in its tenant.
 * With no object (list verbs), R_OWN allows the call and rows are filtered.
 */
enum { R_NO = 0, R_ANY, R_OWN };

static const unsigned char matrix[TD_V__COUNT][TD_ROLE__COUNT] = {
	[TD_V_TENANT_CREATE]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_TENANT_LIST]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_TENANT_DELETE]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_TENANT_ROTATE_KEK] = { [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_VOLUME_CREATE]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_VOLUME_LIST]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_HYPERVISOR] = R_OWN,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_VOLUME_STATUS]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_HYPERVISOR] = R_OWN,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_VOLUME_ASSIGN]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_VOLUME_ATTACH]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_HYPERVISOR] = R_OWN },
	[TD_V_VOLUME_DETACH]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_HYPERVISOR] = R_OWN },
	[TD_V_VOLUME_DELETE]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_LEG_FAIL]		= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_LEG_RECOVER]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_AUDIT_EXPORT]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_AUDIT_VERIFY]	= { [TD_ROLE_OPERATOR] = R_ANY },
	/* -- access -- */
	[TD_V_ACCESS_REQUEST]	= { [TD_ROLE_SUPPORT] = R_ANY },
	[TD_V_ACCESS_APPROVE]	= { [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_ACCESS_DENY]	= { [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_ACCESS_OPEN]	= { [TD_ROLE_SUPPORT] = R_ANY },
	[TD_V_ACCESS_CLOSE]	= { [TD_ROLE_SUPPORT] = R_ANY },
	[TD_V_ACCESS_REVOKE]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_ACCESS_LIST]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN,
				    [TD_ROLE_SUPPORT] = R_ANY },
	/* -- wipe -- */
	[TD_V_WIPE_STATUS]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN },
	[TD_V_TENANT_AUDIT_EXPORT] = { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN },
	/* plaintext: the tenant's own admin only, never the operator */
	[TD_V_VOLUME_EXPORT]	= { [TD_ROLE_TENANT_ADMIN] = R_OWN },
	/* -- udev -- */
	/* leg reports: the handler also requires uid 0 (udev runs as root) */
	[TD_V_LEG_SEEN]		= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_LEG_GONE]		= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_VOLUME_AUTO]	= { [TD_ROLE_OPERATOR] = R_ANY },
	/* -- remote -- */
	/* -- metrics -- every tenant's names and states: the operator only */
	[TD_V_METRICS_GET]	= { [TD_ROLE_OPERATOR] = R_ANY },
	/* -- mfa -- each person enrols itself; only the operator resets */
	[TD_V_MFA_ENROLL]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN,
				    [TD_ROLE_SUPPORT] = R_ANY },
	[TD_V_MFA_CONFIRM]	= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN,
				    [TD_ROLE_SUPPORT] = R_ANY },
	[TD_V_MFA_RESET]	= { [TD_ROLE_OPERATOR] = R_ANY },
	[TD_V_MFA_LIST]		= { [TD_ROLE_OPERATOR] = R_ANY,
				    [TD_ROLE_TENANT_ADMIN] = R_OWN,
				    [TD_ROLE_SUPPORT] = R_ANY },
};

static bool entry_serves_vm(const struct td_role_entry *e, const char *vm)
{
	size_t i;

	if (!vm)
		return false;
	for (i = 0; i < e->nvms; i++)
		if (!strcmp(e->vms[i], vm))
			return true;
	return false;
}

static bool entry_allows(const struct td_role_entry *e, enum td_verb verb,
			 const struct td_authz *obj)
{
	unsigned char r;

	if ((unsigned int)verb >= TD_V__COUNT)
		return false;
	r = matrix[verb][e->role];
	if (r == R_ANY)
		return true;
	if (r != R_OWN)
		return false;
	if (!obj)
		return true;
	switch (e->role) {
	case TD_ROLE_HYPERVISOR:
		return entry_serves_vm(e, obj->vm);
	case TD_ROLE_TENANT_ADMIN:
		return obj->tenant && !strcmp(obj->tenant, e->tenant);
	default:
		return false;
	}
}

enum td_role td_authorize(const struct td_config *cfg, uid_t uid,
			  enum td_verb verb, const struct td_authz *obj)
{
	enum td_role best = TD_ROLE_NONE;
	size_t i;

	for (i = 0; i < cfg->n; i++) {
		const struct td_role_entry *e = &cfg->e[i];

		if (e->uid != uid || !entry_allows(e, verb, obj))
			continue;
		if (best == TD_ROLE_NONE || e->role < best)
			best = e->role;
	}
	return best;
}

bool td_may_see(const struct td_config *cfg, uid_t uid, enum td_verb verb,
		const char *tenant, const char *vm)
{
	struct td_authz obj = { .tenant = tenant, .vm = vm };

	return td_authorize(cfg, uid, verb, &obj) != TD_ROLE_NONE;
}

unsigned int td_uid_roles(const struct td_config *cfg, uid_t uid)
{
	unsigned int mask = 0;
	size_t i;

	for (i = 0; i < cfg->n; i++)
		if (cfg->e[i].uid == uid)
			mask |= 1U << cfg->e[i].role;
	return mask;
}

void td_roles_label(const struct td_config *cfg, uid_t uid, char *buf,
		    size_t len)
{
	bool seen[TD_ROLE__COUNT] = { false };
	size_t i, off = 0;
	int r;

	for (i = 0; i < cfg->n; i++)
		if (cfg->e[i].uid == uid)
			seen[cfg->e[i].role] = true;
	buf[0] = '\0';
	for (r = TD_ROLE_OPERATOR; r < TD_ROLE__COUNT; r++) {
		if (!seen[r])
			continue;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s",
				off ? "+" : "", role_names[r]);
	}
	if (!off)
		snprintf(buf, len, "none");
}

bool td_vm_owner(const struct td_config *cfg, const char *vm, uid_t *uid)
{
	size_t i;

	for (i = 0; i < cfg->n; i++)
		if (cfg->e[i].role == TD_ROLE_HYPERVISOR &&
		    entry_serves_vm(&cfg->e[i], vm)) {
			*uid = cfg->e[i].uid;
			return true;
		}
	return false;
}

const char *td_verb_roles_hint(enum td_verb verb)
{
	static char buf[TD_V__COUNT][96];
	size_t off = 0;
	int r;

	if ((unsigned int)verb >= TD_V__COUNT)
		return "nobody";
	if (buf[verb][0])
		return buf[verb];
	for (r = TD_ROLE_OPERATOR; r < TD_ROLE__COUNT; r++) {
		const char *what;

		if (matrix[verb][r] == R_NO)
			continue;
		what = matrix[verb][r] == R_ANY ? "" :
			r == TD_ROLE_HYPERVISOR ? " (volumes of its VMs)" :
			" (its tenant)";
		off += snprintf(buf[verb] + off, sizeof(buf[verb]) - off,
				"%s%s%s", off ? ", " : "", role_names[r], what);
	}
	return buf[verb];
}

/* -- mfa -- */
bool td_mfa_verb_required(const struct td_config *cfg, enum td_verb verb)
{
	uint64_t set = cfg->mfa_required_set ? cfg->mfa_required :
		TD_MFA_REQUIRED_DEFAULT;

	return (unsigned int)verb < 64 && ((set >> verb) & 1);
}

/* The verbs mfa-required may name: the ones that call op_mfa_check(). */
static const enum td_verb mfa_verbs[] = {
	TD_V_ACCESS_APPROVE, TD_V_ACCESS_DENY, TD_V_ACCESS_OPEN,
	TD_V_TENANT_DELETE, TD_V_VOLUME_EXPORT,
};

/* "none" or a comma-separated list of mfa_verbs. */
static int parse_mfa_verbs(char *list, uint64_t *set)
{
	char *save = NULL, *tok;
	size_t i;

	*set = 0;
	if (!strcmp(list, "none"))
		return 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(mfa_verbs) / sizeof(mfa_verbs[0]); i++)
			if (!strcmp(tok, td_verb_name(mfa_verbs[i])))
				break;
		if (i == sizeof(mfa_verbs) / sizeof(mfa_verbs[0]))
			return -EINVAL;
		*set |= 1ULL << mfa_verbs[i];
	}
	return *set ? 0 : -EINVAL;
}

/* --- parser ----------------------------------------------------------- */

static void free_entry(struct td_role_entry *e)
{
	size_t j;

	for (j = 0; j < e->nvms; j++)
		free(e->vms[j]);
	free(e->vms);
	memset(e, 0, sizeof(*e));
}

void td_config_free(struct td_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n; i++)
		free_entry(&cfg->e[i]);
	free(cfg->e);
	free(cfg->socket_path);
	free(cfg->db_path);
	free(cfg->master_key);
	free(cfg->metrics_path);
	memset(cfg, 0, sizeof(*cfg));
}

#define CFG_ERR(...) do {						\
		snprintf(err, errlen, "%s:%u: ", name, lineno);		\
		snprintf(err + strlen(err), errlen - strlen(err),	\
			 __VA_ARGS__);					\
		goto fail;						\
	} while (0)

static bool parse_uint(const char *s, unsigned long max, int base,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static int split_vms(char *list, struct td_role_entry *e)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char **nv;

		if (!td_valid_vm(tok))
			return -EINVAL;
		nv = realloc(e->vms, (e->nvms + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		e->vms = nv;
		e->vms[e->nvms] = strdup(tok);
		if (!e->vms[e->nvms])
			return -ENOMEM;
		e->nvms++;
	}
	return e->nvms ? 0 : -EINVAL;
}

static int set_str(char **dst, const char *val)
{
	free(*dst);
	*dst = strdup(val);
	return *dst ? 0 : -ENOMEM;
}

int td_config_parse(FILE *f, const char *name, struct td_config *cfg,
		    char *err, size_t errlen)
{
	char line[4096];
	unsigned int lineno = 0;
	struct td_role_entry e = { 0 };
	size_t i, j, k;

	memset(cfg, 0, sizeof(*cfg));
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *word, *kv;
		struct td_role_entry *ne;
		bool have_uid = false;
		unsigned long v;

		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			CFG_ERR("line too long");
		line[strcspn(line, "#\n")] = '\0';
		word = strtok_r(line, " \t\r", &save);
		if (!word)
			continue;

		/* Daemon settings: "key value". */
		if (!strcmp(word, "socket") || !strcmp(word, "database") ||
		    !strcmp(word, "master-key") ||
		    !strcmp(word, "socket-mode") ||
		    !strcmp(word, "timeout-ms") ||
		    !strcmp(word, "access-pending-ttl") ||
		    !strcmp(word, "access-max-duration") ||
		    /* -- remote -- */
		    !strcmp(word, "monitor-interval") ||
		    !strcmp(word, "monitor_interval") ||
		    !strcmp(word, "wipe-retention-days") ||
		    /* -- metrics -- */
		    !strcmp(word, "metrics-textfile") ||
		    !strcmp(word, "metrics-interval") ||
		    /* -- mfa -- */
		    !strcmp(word, "mfa-required")) {
			char *val = strtok_r(NULL, " \t\r", &save);

			if (!val || strtok_r(NULL, " \t\r", &save))
				CFG_ERR("'%s' takes exactly one value", word);
			if (!strcmp(word, "socket-mode")) {
				if (!parse_uint(val, 0777, 8, &v))
					CFG_ERR("socket-mode must be octal, e.g. 0666");
				cfg->socket_mode = v;
			} else if (!strcmp(word, "timeout-ms")) {
				if (!parse_uint(val, 600000, 10, &v) || !v)
					CFG_ERR("timeout-ms must be 1..600000");
				cfg->timeout_ms = v;
			/* -- access -- */
			} else if (!strcmp(word, "access-pending-ttl") ||
				   !strcmp(word, "access-max-duration")) {
				if (!parse_uint(val, 31536000, 10, &v) || !v)
					CFG_ERR("%s must be 1..31536000 seconds",
						word);
				*(word[7] == 'p' ? &cfg->access_pending_ttl :
				  &cfg->access_max_duration) = v;
			/* -- mfa -- */
			} else if (!strcmp(word, "mfa-required")) {
				if (parse_mfa_verbs(val, &cfg->mfa_required))
					CFG_ERR("mfa-required takes 'none' or a comma-separated list of access.approve, access.deny, access.open, tenant.delete, volume.export");
				cfg->mfa_required_set = true;
			/* -- remote -- */
			} else if (!strncmp(word, "monitor", 7)) {
				if (!parse_uint(val, 3600, 10, &v))
					CFG_ERR("monitor-interval must be 0..3600 seconds (0: off)");
				cfg->monitor_interval = v;
				cfg->monitor_interval_set = true;
			} else if (!strcmp(word, "wipe-retention-days")) {
				if (!parse_uint(val, 36500, 10, &v))
					CFG_ERR("wipe-retention-days must be 0..36500 (0: keep forever)");
				cfg->wipe_retention_days = v;
				cfg->wipe_retention_set = true;
			/* -- metrics -- */
			} else if (!strcmp(word, "metrics-interval")) {
				if (!parse_uint(val, 3600, 10, &v) || !v)
					CFG_ERR("metrics-interval must be 1..3600 seconds");
				cfg->metrics_interval = v;
			} else if (!strcmp(word, "metrics-textfile")) {
				if (val[0] != '/' || strlen(val) > 1024 ||
				    strlen(val) < 6 ||
				    strcmp(val + strlen(val) - 5, ".prom"))
					CFG_ERR("metrics-textfile needs an absolute path ending in .prom, the files node_exporter reads (e.g. /var/lib/prometheus/node-exporter/dm-tenant.prom)");
				if (set_str(&cfg->metrics_path, val))
					CFG_ERR("out of memory");
			} else {
				if (val[0] != '/')
					CFG_ERR("'%s' needs an absolute path", word);
				if (set_str(!strcmp(word, "socket") ?
					    &cfg->socket_path :
					    !strcmp(word, "database") ?
					    &cfg->db_path : &cfg->master_key,
					    val))
					CFG_ERR("out of memory");
			}
			continue;
		}

		for (i = TD_ROLE_OPERATOR; i < TD_ROLE__COUNT; i++)
			if (!strcmp(word, role_names[i]))
				e.role = i;
		if (e.role == TD_ROLE_NONE)
			CFG_ERR("unknown keyword '%.32s' (roles: operator, hypervisor, tenant-admin, support)",
				word);
		while ((kv = strtok_r(NULL, " \t\r", &save))) {
			char *val = strchr(kv, '=');

			if (!val)
				CFG_ERR("expected key=value, got '%.32s'", kv);
			*val++ = '\0';
			if (!strcmp(kv, "uid")) {
				if (!parse_uint(val, (uid_t)-2, 10, &v))
					CFG_ERR("uid must be a number");
				e.uid = v;
				have_uid = true;
			} else if (!strcmp(kv, "vms") &&
				   e.role == TD_ROLE_HYPERVISOR) {
				if (e.nvms || split_vms(val, &e))
					CFG_ERR("vms must be a comma-separated list of VM names");
			} else if (!strcmp(kv, "tenant") &&
				   e.role == TD_ROLE_TENANT_ADMIN) {
				if (!td_valid_id(val))
					CFG_ERR("invalid tenant id '%.32s'", val);
				strcpy(e.tenant, val);
			} else {
				CFG_ERR("unknown key '%.32s' for %s", kv, word);
			}
		}
		if (!have_uid || (e.role == TD_ROLE_TENANT_ADMIN &&
				  !e.tenant[0]))
			CFG_ERR(e.role == TD_ROLE_TENANT_ADMIN ?
				"tenant-admin needs uid= and tenant=" :
				"%s needs uid=", word);
		if (e.role == TD_ROLE_HYPERVISOR && !e.nvms)
			CFG_ERR("hypervisor needs vms=");
		ne = realloc(cfg->e, (cfg->n + 1) * sizeof(*ne));
		if (!ne)
			CFG_ERR("out of memory");
		cfg->e = ne;
		cfg->e[cfg->n++] = e;
		memset(&e, 0, sizeof(e));
	}

	/* Consistency: separation of duties and unambiguous VM owners. */
	lineno = 0;
	for (i = 0; i < cfg->n; i++) {
		for (j = 0; j < cfg->n; j++) {
			if (cfg->e[i].role == TD_ROLE_OPERATOR &&
			    cfg->e[j].role == TD_ROLE_HYPERVISOR &&
			    cfg->e[i].uid == cfg->e[j].uid)
				CFG_ERR("uid %u is both operator and hypervisor: an operator must never own a plaintext mapping",
					(unsigned int)cfg->e[i].uid);
			if (j <= i || cfg->e[i].role != TD_ROLE_HYPERVISOR ||
			    cfg->e[j].role != TD_ROLE_HYPERVISOR ||
			    cfg->e[i].uid == cfg->e[j].uid)
				continue;
			for (k = 0; k < cfg->e[i].nvms; k++)
				if (entry_serves_vm(&cfg->e[j],
						    cfg->e[i].vms[k]))
					CFG_ERR("VM '%s' is served by two hypervisor uids (%u, %u)",
						cfg->e[i].vms[k],
						(unsigned int)cfg->e[i].uid,
						(unsigned int)cfg->e[j].uid);
		}
	}
	return 0;
fail:
	free_entry(&e);
	td_config_free(cfg);
	return -EINVAL;
}

int td_config_load(const char *path, struct td_config *cfg, char *err,
		   size_t errlen)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		memset(cfg, 0, sizeof(*cfg));
		return r;
	}
	r = td_config_parse(f, path, cfg, err, errlen);
	fclose(f);
	return r;
}
