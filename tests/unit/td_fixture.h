/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tenantd on a fresh store for handler tests (test_monitor.c,
 * test_daemon_metrics.c): configuration from text, a master key, tenant
 * "acme" created through td_handle_line(), and one volume recorded as
 * attached as "tenant+acme+<volume>", its legs on /dev/<class letter><i>
 * (no devices: the tests fake the kernel).  The daemon is left with
 * no_dm set; a test that wants the (faked) kernel clears it.
 */
#ifndef TD_FIXTURE_H
#define TD_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dmtenant.h>

#include "../../userspace/daemon/ops.h"

struct td_fixture {
	char dir[32];
	char db[64];
	struct td_daemon d;
};

static inline struct td_fixture *
td_fixture_new(const char *conf, const char *volume,
	       const char *const *classes, unsigned int nlegs)
{
	static const char create[] =
		"{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"acme\"}}";
	struct td_fixture *fx = calloc(1, sizeof(*fx));
	FILE *f = fmemopen((void *)conf, strlen(conf), "r");
	struct td_caller c = { .uid = 0, .pid = 1 };
	char err[256], mk[96], dm[128];
	struct td_volume v;
	unsigned int i;

	if (!fx || !f || nlegs > TD_MAX_LEGS)
		return NULL;
	strcpy(fx->dir, "/tmp/td-fixture-XXXXXX");
	if (!mkdtemp(fx->dir))
		return NULL;
	snprintf(fx->db, sizeof(fx->db), "%s/t.db", fx->dir);
	snprintf(mk, sizeof(mk), "%s/master.key", fx->dir);
	if (td_config_parse(f, "t.conf", &fx->d.cfg, err, sizeof(err)))
		return NULL;
	fclose(f);
	if (dmt_master_key_create(mk, &fx->d.master))
		return NULL;
	fx->d.no_dm = true;	/* tenant.create without a kernel */
	fx->d.dev_dir = "/dev";
	if (td_store_open(fx->db, &fx->d.st, err, sizeof(err)))
		return NULL;
	json_object_put(td_handle_line(&fx->d, &c, create, strlen(create)));
	memset(&v, 0, sizeof(v));
	strcpy(v.tenant, "acme");
	snprintf(v.id, sizeof(v.id), "%s", volume);
	strcpy(v.uuid, "11111111-2222-4333-8444-555555555555");
	v.kek_gen = 1;
	v.nlegs = nlegs;
	for (i = 0; i < nlegs; i++) {
		v.legs[i].idx = i;
		snprintf(v.legs[i].cls, sizeof(v.legs[i].cls), "%s", classes[i]);
		snprintf(v.legs[i].device, sizeof(v.legs[i].device), "/dev/%c%u",
			 classes[i][0], i);
	}
	snprintf(dm, sizeof(dm), "tenant+acme+%s", volume);
	if (td_volume_insert(fx->d.st, &v) ||
	    td_attach_add(fx->d.st, "acme", volume, "", dm, "/dev/dm-9", 0))
		return NULL;
	return fx;
}

static inline void td_fixture_free(struct td_fixture *fx)
{
	static const char *const files[] = { "t.db", "t.db-wal", "t.db-shm",
		"t.db.audit-head", "master.key" };
	char p[96];
	size_t i;

	td_store_close(fx->d.st);
	td_config_free(&fx->d.cfg);
	dmt_key_free(fx->d.master);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fx->dir, files[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
}

#endif /* TD_FIXTURE_H */
