// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tenantd's configuration parser and authorisation matrix
 * (userspace/daemon/roles.c): every role x every verb, on objects of the
 * caller's own tenant / VM and on foreign ones; config errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../userspace/daemon/roles.h"

static const char conf[] =
	"# roles\n"
	"socket /run/x.sock\n"
	"socket-mode 0660\n"
	"timeout-ms 2500\n"
	"operator uid=0\n"
	"hypervisor uid=1001 vms=vm1,vm2   # trailing comment\n"
	"hypervisor uid=1005 vms=vm3\n"
	"tenant-admin uid=1003 tenant=acme\n"
	"tenant-admin uid=1006 tenant=acme\n"
	"tenant-admin uid=1006 tenant=globex\n"
	"support uid=1002\n"
	"\n";

static int setup(void **state)
{
	struct td_config *cfg = calloc(1, sizeof(*cfg));
	FILE *f = fmemopen((void *)conf, sizeof(conf) - 1, "r");
	char err[256];

	if (!cfg || !f || td_config_parse(f, "t.conf", cfg, err, sizeof(err))) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	fclose(f);
	*state = cfg;
	return 0;
}

static int teardown(void **state)
{
	td_config_free(*state);
	free(*state);
	return 0;
}

enum { OP, HV, HV2, TA, SUP, NOB, NCALLERS };
static const uid_t uids[NCALLERS] = { 0, 1001, 1005, 1003, 1002, 4242 };

/*
 * Expected outcome per verb and caller on three objects:
 *   own   acme volume assigned to vm1 (hv's VM, ta's tenant)
 *   other globex volume assigned to vm3 (hv2's VM)
 *   none  no object (list verbs / "may call at all")
 * Letters: O operator, H hypervisor, T tenant-admin, S support, - denied.
 */
static const struct {
	enum td_verb verb;
	const char *own, *other, *none;	/* per caller: OP HV HV2 TA SUP NOB */
} expect[] = {
	{ TD_V_TENANT_CREATE,	  "O-----", "O-----", "O-----" },
	{ TD_V_TENANT_LIST,	  "O--T--", "O-----", "O--T--" },
	{ TD_V_TENANT_DELETE,	  "O-----", "O-----", "O-----" },
	{ TD_V_TENANT_ROTATE_KEK, "---T--", "------", "---T--" },
	{ TD_V_VOLUME_CREATE,	  "O-----", "O-----", "O-----" },
	{ TD_V_VOLUME_LIST,	  "OH-T--", "O-H---", "OHHT--" },
	{ TD_V_VOLUME_STATUS,	  "OH-T--", "O-H---", "OHHT--" },
	{ TD_V_VOLUME_ASSIGN,	  "O-----", "O-----", "O-----" },
	{ TD_V_VOLUME_ATTACH,	  "OH----", "O-H---", "OHH---" },
	{ TD_V_VOLUME_DETACH,	  "OH----", "O-H---", "OHH---" },
	{ TD_V_VOLUME_DELETE,	  "O-----", "O-----", "O-----" },
	{ TD_V_LEG_FAIL,	  "O-----", "O-----", "O-----" },
	{ TD_V_LEG_RECOVER,	  "O-----", "O-----", "O-----" },
	{ TD_V_AUDIT_EXPORT,	  "O-----", "O-----", "O-----" },
	{ TD_V_AUDIT_VERIFY,	  "O-----", "O-----", "O-----" },
	/* -- access -- */
	{ TD_V_ACCESS_REQUEST,	  "----S-", "----S-", "----S-" },
	{ TD_V_ACCESS_APPROVE,	  "---T--", "------", "---T--" },
	{ TD_V_ACCESS_DENY,	  "---T--", "------", "---T--" },
	{ TD_V_ACCESS_OPEN,	  "----S-", "----S-", "----S-" },
	{ TD_V_ACCESS_CLOSE,	  "----S-", "----S-", "----S-" },
	{ TD_V_ACCESS_REVOKE,	  "O--T--", "O-----", "O--T--" },
	{ TD_V_ACCESS_LIST,	  "O--TS-", "O---S-", "O--TS-" },
	/* -- wipe -- */
	{ TD_V_WIPE_STATUS,	  "O--T--", "O-----", "O--T--" },
	{ TD_V_TENANT_AUDIT_EXPORT, "O--T--", "O-----", "O--T--" },
	{ TD_V_VOLUME_EXPORT,	  "---T--", "------", "---T--" },
	/* udev: leg reports also need uid 0 (checked in ops-udev.c) */
	{ TD_V_LEG_SEEN,	  "O-----", "O-----", "O-----" },
	{ TD_V_LEG_GONE,	  "O-----", "O-----", "O-----" },
	{ TD_V_VOLUME_AUTO,	  "O-----", "O-----", "O-----" },
	{ TD_V_METRICS_GET,	  "O-----", "O-----", "O-----" },
	/* -- mfa -- each person enrols itself (no object); reset: operator */
	{ TD_V_MFA_ENROLL,	  "O--TS-", "O---S-", "O--TS-" },
	{ TD_V_MFA_CONFIRM,	  "O--TS-", "O---S-", "O--TS-" },
	{ TD_V_MFA_RESET,	  "O-----", "O-----", "O-----" },
	{ TD_V_MFA_LIST,	  "O--TS-", "O---S-", "O--TS-" },
};

static char letter(enum td_role r)
{
	switch (r) {
	case TD_ROLE_OPERATOR: return 'O';
	case TD_ROLE_HYPERVISOR: return 'H';
	case TD_ROLE_TENANT_ADMIN: return 'T';
	case TD_ROLE_SUPPORT: return 'S';
	default: return '-';
	}
}

static void test_matrix(void **state)
{
	const struct td_config *cfg = *state;
	struct td_authz own = { "acme", "vm1" }, other = { "globex", "vm3" };
	size_t i;
	int c, seen[TD_V__COUNT] = { 0 };

	assert_int_equal(sizeof(expect) / sizeof(expect[0]), TD_V__COUNT);
	for (i = 0; i < TD_V__COUNT; i++) {
		seen[expect[i].verb]++;
		for (c = 0; c < NCALLERS; c++) {
			char got[3] = {
				letter(td_authorize(cfg, uids[c], expect[i].verb, &own)),
				letter(td_authorize(cfg, uids[c], expect[i].verb, &other)),
				letter(td_authorize(cfg, uids[c], expect[i].verb, NULL)),
			};
			char want[3] = { expect[i].own[c], expect[i].other[c],
					 expect[i].none[c] };

			if (memcmp(got, want, 3))
				fail_msg("%s uid %u: own/other/none got %.3s want %.3s",
					 td_verb_name(expect[i].verb),
					 (unsigned int)uids[c], got, want);
		}
	}
	for (i = 0; i < TD_V__COUNT; i++)
		assert_int_equal(seen[i], 1);	/* every verb exactly once */
}

static void test_special_cases(void **state)
{
	const struct td_config *cfg = *state;
	struct td_authz unassigned = { "acme", NULL };
	struct td_authz globex = { "globex", NULL };
	uid_t u;

	/* a volume assigned to no VM: only the operator may attach it */
	assert_int_equal(td_authorize(cfg, 1001, TD_V_VOLUME_ATTACH, &unassigned),
			 TD_ROLE_NONE);
	assert_int_equal(td_authorize(cfg, 0, TD_V_VOLUME_ATTACH, &unassigned),
			 TD_ROLE_OPERATOR);
	/* a uid admin of two tenants */
	assert_int_equal(td_authorize(cfg, 1006, TD_V_TENANT_ROTATE_KEK, &globex),
			 TD_ROLE_TENANT_ADMIN);
	assert_int_equal(td_authorize(cfg, 1006, TD_V_TENANT_ROTATE_KEK, &unassigned),
			 TD_ROLE_TENANT_ADMIN);
	assert_int_equal(td_authorize(cfg, 1003, TD_V_TENANT_ROTATE_KEK, &globex),
			 TD_ROLE_NONE);
	/* list filtering */
	assert_true(td_may_see(cfg, 1001, TD_V_VOLUME_LIST, "globex", "vm2"));
	assert_false(td_may_see(cfg, 1001, TD_V_VOLUME_LIST, "globex", "vm3"));
	assert_false(td_may_see(cfg, 1001, TD_V_VOLUME_LIST, "acme", NULL));
	assert_true(td_may_see(cfg, 1003, TD_V_VOLUME_LIST, "acme", NULL));
	assert_false(td_may_see(cfg, 1003, TD_V_TENANT_LIST, "globex", NULL));
	/* VM owners */
	assert_true(td_vm_owner(cfg, "vm2", &u));
	assert_int_equal(u, 1001);
	assert_true(td_vm_owner(cfg, "vm3", &u));
	assert_int_equal(u, 1005);
	assert_false(td_vm_owner(cfg, "vm9", &u));
	/* an out-of-range verb is never allowed */
	assert_int_equal(td_authorize(cfg, 0, TD_V__COUNT, NULL), TD_ROLE_NONE);
}

static void test_labels_and_settings(void **state)
{
	const struct td_config *cfg = *state;
	char buf[64];

	td_roles_label(cfg, 0, buf, sizeof(buf));
	assert_string_equal(buf, "operator");
	td_roles_label(cfg, 1006, buf, sizeof(buf));
	assert_string_equal(buf, "tenant-admin");
	td_roles_label(cfg, 4242, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	assert_string_equal(cfg->socket_path, "/run/x.sock");
	assert_int_equal(cfg->socket_mode, 0660);
	assert_int_equal(cfg->timeout_ms, 2500);
	assert_null(cfg->db_path);
	assert_string_equal(td_verb_roles_hint(TD_V_VOLUME_ATTACH),
			    "operator, hypervisor (volumes of its VMs)");
	assert_string_equal(td_verb_roles_hint(TD_V_TENANT_ROTATE_KEK),
			    "tenant-admin (its tenant)");
}

static void bad_conf(const char *text, const char *sub)
{
	struct td_config cfg;
	char err[256] = "";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(f);
	r = td_config_parse(f, "b.conf", &cfg, err, sizeof(err));
	fclose(f);
	if (r != -EINVAL || !strstr(err, sub))
		fail_msg("config '%s': r=%d err='%s', want '%s'", text, r, err,
			 sub);
	assert_null(cfg.e);
}

static void test_bad_configs(void **state)
{
	(void)state;
	bad_conf("admin uid=0\n", "unknown keyword");
	bad_conf("operator\n", "needs uid=");
	bad_conf("operator uid=abc\n", "uid must be a number");
	bad_conf("operator uid=-1\n", "uid must be a number");
	bad_conf("operator uid=0 vms=vm1\n", "unknown key");
	bad_conf("operator uid=0 tenant\n", "key=value");
	bad_conf("hypervisor uid=1\n", "needs vms=");
	bad_conf("hypervisor uid=1 vms=,\n", "comma-separated");
	bad_conf("hypervisor uid=1 vms=vm1,bad/vm\n", "comma-separated");
	bad_conf("hypervisor uid=1 vms=a vms=b\n", "comma-separated");
	bad_conf("tenant-admin uid=3\n", "tenant=");
	bad_conf("tenant-admin uid=3 tenant=a:b\n", "invalid tenant");
	bad_conf("operator uid=7\nhypervisor uid=7 vms=vm1\n",
		 "both operator and hypervisor");
	bad_conf("hypervisor uid=1 vms=vm1\nhypervisor uid=2 vms=vm2,vm1\n",
		 "two hypervisor uids");
	bad_conf("socket relative.sock\n", "absolute path");
	bad_conf("socket /a /b\n", "exactly one value");
	bad_conf("socket-mode 999\n", "octal");
	bad_conf("timeout-ms 0\n", "timeout-ms");
	bad_conf("operator uid=0\nsupport\n", "b.conf:2:");
}

static void test_load_missing(void **state)
{
	struct td_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(td_config_load("/nonexistent/tenantd.conf", &cfg, err,
					sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/tenantd.conf"));
	td_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_special_cases),
		cmocka_unit_test(test_labels_and_settings),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_load_missing),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
