/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one fixture of tenantd's store and handler tests.
 *
 *   td_fixture_dir()   a fresh /tmp/td-<name>-XXXXXX and the path of a
 *                      database in it (store tests open it themselves);
 *   td_fixture_open()  that, plus a tenantd: configuration from text, a
 *                      master key, the store open, no_dm set (a test that
 *                      wants the faked kernel clears it);
 *   td_fixture_new()   that, plus tenant "acme" created through
 *                      td_handle_line() and one volume recorded as attached
 *                      as "tenant+acme+<volume>", its legs on
 *                      /dev/<class letter><i> (no devices: the tests fake
 *                      the kernel);
 *   td_fixture_free()  closes what is open and removes the directory
 *                      (-1 if it could not: a teardown's failure).
 *
 * A test's own setup (fakes, owner directory, rows) stays in the test.
 */
#ifndef TD_FIXTURE_H
#define TD_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dmtenant.h>

#include "../../userspace/daemon/ops.h"

struct td_fixture {
	char dir[64];
	char db[96];
	struct td_daemon d;
};

/* 0, or -1 with nothing created. */
static inline int td_fixture_dir(struct td_fixture *fx, const char *name)
{
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/td-%s-XXXXXX", name);
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->db, sizeof(fx->db), "%s/t.db", fx->dir);
	return 0;
}

static inline int td_fixture_rm(const char *path, const struct stat *sb,
				int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* The directory and everything a test left in it (WAL, owner files...):
 * 0, or -1 if something could not be removed (a teardown failure).
 */
static inline int td_fixture_rmdir(struct td_fixture *fx)
{
	if (!fx->dir[0])
		return 0;
	return nftw(fx->dir, td_fixture_rm, 8, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

/* 0, or -1 if the directory could not be removed. */
static inline int td_fixture_free(struct td_fixture *fx)
{
	int rc;

	if (!fx)
		return 0;
	td_store_close(fx->d.st);
	td_config_free(&fx->d.cfg);
	dmt_key_free(fx->d.master);
	rc = td_fixture_rmdir(fx);
	free(fx);
	return rc;
}

/* A volume row, not yet stored: generation 1, one local leg on @leg. */
static inline void td_fixture_volume(struct td_volume *v, const char *tenant,
				     const char *volume, const char *leg)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->tenant, sizeof(v->tenant), "%s", tenant);
	snprintf(v->id, sizeof(v->id), "%s", volume);
	strcpy(v->uuid, "11111111-2222-4333-8444-555555555555");
	v->kek_gen = 1;
	v->nlegs = 1;
	strcpy(v->legs[0].cls, "local");
	snprintf(v->legs[0].device, sizeof(v->legs[0].device), "%s", leg);
}

/* tenantd with configuration @conf on a fresh store; NULL on failure. */
static inline struct td_fixture *td_fixture_open(const char *conf,
						 const char *name)
{
	struct td_fixture *fx = calloc(1, sizeof(*fx));
	char err[256], mk[112];
	FILE *f;
	int rc;

	if (!fx)
		return NULL;
	if (td_fixture_dir(fx, name)) {
		free(fx);
		return NULL;
	}
	f = fmemopen((void *)conf, strlen(conf), "r");
	rc = !f || td_config_parse(f, "t.conf", &fx->d.cfg, err, sizeof(err));
	if (f)
		fclose(f);
	snprintf(mk, sizeof(mk), "%s/master.key", fx->dir);
	if (rc || dmt_master_key_create(mk, &fx->d.master) ||
	    td_store_open(fx->db, &fx->d.st, err, sizeof(err))) {
		td_fixture_free(fx);
		return NULL;
	}
	fx->d.no_dm = true;	/* tenant.create without a kernel */
	fx->d.dev_dir = "/dev";
	return fx;
}

static inline struct td_fixture *
td_fixture_new(const char *conf, const char *volume,
	       const char *const *classes, unsigned int nlegs)
{
	static const char create[] =
		"{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"acme\"}}";
	struct td_caller c = { .uid = 0, .pid = 1 };
	struct td_fixture *fx;
	struct td_volume v;
	char dm[128];
	unsigned int i;

	if (nlegs > TD_MAX_LEGS)
		return NULL;
	fx = td_fixture_open(conf, "fixture");
	if (!fx)
		return NULL;
	json_object_put(td_handle_line(&fx->d, &c, create, strlen(create)));
	td_fixture_volume(&v, "acme", volume, "");
	v.nlegs = nlegs;
	for (i = 0; i < nlegs; i++) {
		v.legs[i].idx = i;
		snprintf(v.legs[i].cls, sizeof(v.legs[i].cls), "%s", classes[i]);
		snprintf(v.legs[i].device, sizeof(v.legs[i].device), "/dev/%c%u",
			 classes[i][0], i);
	}
	snprintf(dm, sizeof(dm), "tenant+acme+%s", volume);
	if (td_volume_insert(fx->d.st, &v) ||
	    td_attach_add(fx->d.st, "acme", volume, "", dm, "/dev/dm-9", 0)) {
		td_fixture_free(fx);
		return NULL;
	}
	return fx;
}

#endif /* TD_FIXTURE_H */
