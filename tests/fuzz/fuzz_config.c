// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for tenantd.conf (td_config_parse,
 * userspace/daemon/roles.c).  Bad input must give -EINVAL with a
 * "name:line: why" message and an empty configuration; good input a
 * configuration whose values are in their documented ranges, and that
 * answers authorisation questions without crashing.
 */
#include <errno.h>

#include "../../userspace/daemon/roles.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_config cfg;
	char err[256], label[128];
	struct td_authz obj = { .tenant = "acme", .vm = "vm1" };
	FILE *f;
	size_t i;
	int r;

	f = fmemopen((void *)data, size, "r");
	if (!f)		/* glibc refuses a zero-length buffer */
		return 0;
	err[0] = '\0';
	r = td_config_parse(f, "fuzz.conf", &cfg, err, sizeof(err));
	fclose(f);
	if (r) {
		CHECK(r == -EINVAL || r == -ENOMEM);
		CHECK(!strncmp(err, "fuzz.conf:", 10) && strlen(err) > 10);
		CHECK(cfg.n == 0 && !cfg.e && !cfg.socket_path &&
		      !cfg.db_path && !cfg.master_key);
		td_config_free(&cfg);
		return 0;
	}
	CHECK(cfg.socket_mode <= 0777);
	CHECK(cfg.timeout_ms <= 600000);
	CHECK(cfg.monitor_interval <= 3600);
	CHECK(!cfg.socket_path || cfg.socket_path[0] == '/');
	CHECK(!cfg.db_path || cfg.db_path[0] == '/');
	CHECK(!cfg.master_key || cfg.master_key[0] == '/');
	for (i = 0; i < cfg.n; i++) {
		uid_t uid = cfg.e[i].uid;
		int v;

		CHECK(cfg.e[i].role > TD_ROLE_NONE &&
		      cfg.e[i].role < TD_ROLE__COUNT);
		for (v = 0; v < TD_V__COUNT; v++)
			(void)td_authorize(&cfg, uid, (enum td_verb)v, &obj);
		td_roles_label(&cfg, uid, label, sizeof(label));
		CHECK(strlen(label) < sizeof(label));
	}
	td_config_free(&cfg);
	return 0;
}
