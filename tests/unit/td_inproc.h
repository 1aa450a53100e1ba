/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenantd in-process for handler tests: the daemon of td_fixture_open()
 * (a configuration, a master key and a real SQLite store in a temporary
 * directory, --no-dm), and requests sent through td_handle_line() as a
 * given uid.  One fixture per test (F), the last reply in `last`.
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
#include "td_fixture.h"

static struct td_fixture *F;
static json_object *last;	/* the last reply */

static inline void open_store(struct td_fixture *fx)
{
	char err[256];

	assert_int_equal(td_store_open(fx->db, &fx->d.st, err, sizeof(err)), 0);
}

/* Daemon with configuration @conf, files under /tmp/td-@name-XXXXXX. */
static inline int fx_setup(void **state, const char *conf, const char *name)
{
	if (!freopen("/dev/null", "w", stderr))
		return -1;
	F = td_fixture_open(conf, name);
	if (!F)
		return -1;
	*state = F;
	return 0;
}

static inline int teardown(void **state)
{
	return td_fixture_free(*state);
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

	td_fixture_volume(&v, tenant, volume, "/dev/nonexistent-leg");
	assert_int_equal(td_volume_insert(F->d.st, &v), 0);
}

static inline const char *js(void)
{
	return json_object_to_json_string_ext(last, JSON_C_TO_STRING_PLAIN);
}

#endif /* TD_INPROC_H */
