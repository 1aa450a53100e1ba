/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd in-process for handler tests: a configuration, a master key and
 * a real SQLite store in a temporary directory, --no-dm, and requests sent
 * through td_handle_line() as a given uid.  One fixture per test (F), the
 * last reply in `last`.
 */
#ifndef TD_INPROC_H
#define TD_INPROC_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dmtenant.h>

#include "../../userspace/daemon/ops.h"

struct fx {
	char dir[40];
	char db[64];
	struct td_daemon d;
};

static struct fx *F;
static json_object *last;	/* the last reply */

static inline void open_store(struct fx *fx)
{
	char err[256];

	assert_int_equal(td_store_open(fx->db, &fx->d.st, err, sizeof(err)), 0);
}

/* Daemon with configuration @conf, files under /tmp/td-@name-XXXXXX. */
static inline int fx_setup(void **state, const char *conf, const char *name)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	FILE *f = fmemopen((void *)conf, strlen(conf), "r");
	char err[256], mk[96];

	if (!fx || !f || !freopen("/dev/null", "w", stderr))
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/td-%s-XXXXXX", name);
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->db, sizeof(fx->db), "%s/t.db", fx->dir);
	snprintf(mk, sizeof(mk), "%s/master.key", fx->dir);
	if (td_config_parse(f, "t.conf", &fx->d.cfg, err, sizeof(err)))
		return -1;
	fclose(f);
	if (dmt_master_key_create(mk, &fx->d.master))
		return -1;
	fx->d.no_dm = true;
	fx->d.dev_dir = "/dev";
	open_store(fx);
	F = fx;
	*state = fx;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *fx = *state;
	const char *sfx[] = { "t.db", "t.db-wal", "t.db-shm", "t.db.audit-head",
			      "master.key" };
	char p[112];
	size_t i;

	td_store_close(fx->d.st);
	td_config_free(&fx->d.cfg);
	dmt_key_free(fx->d.master);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fx->dir, sfx[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Send @fmt as uid @uid; returns the error code name or "ok". */
__attribute__((format(printf, 2, 3)))
static inline const char *req(uid_t uid, const char *fmt, ...)
{
	struct td_caller c = { .uid = uid, .pid = 4242 };
	char line[1024];
	json_object *ok, *err, *code;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_object_put(last);
	last = td_handle_line(&F->d, &c, line, strlen(line));
	assert_true(json_object_object_get_ex(last, "ok", &ok));
	if (json_object_get_boolean(ok))
		return "ok";
	assert_true(json_object_object_get_ex(last, "error", &err));
	assert_true(json_object_object_get_ex(err, "code", &code));
	return json_object_get_string(code);
}

/* A field of the last reply's result ("" if absent or null). */
static inline const char *res(const char *key)
{
	json_object *r, *v;

	if (!json_object_object_get_ex(last, "result", &r) ||
	    !json_object_object_get_ex(r, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

/* A field of the last reply's error ("" if absent). */
static inline const char *err_field(const char *key)
{
	json_object *e, *v;

	if (!json_object_object_get_ex(last, "error", &e) ||
	    !json_object_object_get_ex(e, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

/* A volume row with one leg that does not exist (--no-dm never opens it). */
static inline void fx_add_volume(const char *tenant, const char *volume)
{
	struct td_volume v;

	memset(&v, 0, sizeof(v));
	snprintf(v.tenant, sizeof(v.tenant), "%s", tenant);
	snprintf(v.id, sizeof(v.id), "%s", volume);
	strcpy(v.uuid, "11111111-2222-4333-8444-555555555555");
	v.kek_gen = 1;
	v.nlegs = 1;
	strcpy(v.legs[0].cls, "local");
	strcpy(v.legs[0].device, "/dev/nonexistent-leg");
	assert_int_equal(td_volume_insert(F->d.st, &v), 0);
}

static inline const char *js(void)
{
	return json_object_to_json_string_ext(last, JSON_C_TO_STRING_PLAIN);
}

#endif /* TD_INPROC_H */
