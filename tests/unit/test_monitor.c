// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd's leg monitor (remote; userspace/daemon/monitor.c):
 * the back-off schedule and the decision as pure functions, the config key,
 * and one scan after another on a real store with the kernel replaced by
 * fakes (dmt_dev_status parses a status line the test sets, dmt_dev_message
 * records the messages): only failed remote legs get "leg <i> recover",
 * when due, while the volume is idle, with back-off, audited as daemon
 * actions; a leg failed through tenantd is held; the state is dropped when
 * the leg is back or the volume detached.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <dmtenant.h>

#include "../../userspace/daemon/monitor.h"
#include "../../userspace/daemon/ops.h"
#include "td_fixture.h"

/* --- fakes of the kernel side ------------------------------------------ */

static char fake_status[512];
static int fake_status_err;
static char sent[8][64];
static unsigned int nsent;
static int fake_msg_err;

int __wrap_dmt_dev_status(struct dmt_ctx *ctx, const char *name,
			  struct dmt_status **st);
int __wrap_dmt_dev_status(struct dmt_ctx *ctx, const char *name,
			  struct dmt_status **st)
{
	(void)ctx;
	assert_string_equal(name, "tenant+acme+rr");
	if (fake_status_err)
		return fake_status_err;
	return dmt_status_parse(fake_status, st);
}

int __wrap_dmt_dev_message(struct dmt_ctx *ctx, const char *name,
			   const char *msg, char *reply, size_t reply_size);
int __wrap_dmt_dev_message(struct dmt_ctx *ctx, const char *name,
			   const char *msg, char *reply, size_t reply_size)
{
	(void)ctx;
	(void)reply;
	(void)reply_size;
	assert_string_equal(name, "tenant+acme+rr");
	assert_true(nsent < 8);
	snprintf(sent[nsent++], sizeof(sent[0]), "%s", msg);
	return fake_msg_err;
}

/* legs: local, remote, local; STATES e.g. "ADA"; ACTION e.g. "idle" */
static void set_status(const char *states, const char *action,
		       const char *key)
{
	snprintf(fake_status, sizeof(fake_status),
		 "acme rr %s 3 local 1:0 %c remote 2:0 %c local 3:0 %c "
		 "10 20 0 0 1 0 8/8 %s 0/0 0 1 1 %s 0 0 no",
		 key, states[0], states[1], states[2], action,
		 states[1] == 'A' ? "streaming" :
		 states[1] == 'a' ? "catching-up" : "failed");
}

/* --- pure functions ---------------------------------------------------- */

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(td_monitor_backoff_s(5, 1), 5);
	assert_int_equal(td_monitor_backoff_s(5, 2), 10);
	assert_int_equal(td_monitor_backoff_s(5, 3), 20);
	assert_int_equal(td_monitor_backoff_s(5, 6), 160);
	assert_int_equal(td_monitor_backoff_s(5, 7), 300);	/* 320 capped */
	assert_int_equal(td_monitor_backoff_s(5, 1000), 300);
	assert_int_equal(td_monitor_backoff_s(5, 0xffffffffu), 300);
	assert_int_equal(td_monitor_backoff_s(1, 1), 1);
	assert_int_equal(td_monitor_backoff_s(1, 9), 256);
	assert_int_equal(td_monitor_backoff_s(1, 10), 300);
	assert_int_equal(td_monitor_backoff_s(200, 2), 300);
	/* an interval above the cap: never faster than the interval */
	assert_int_equal(td_monitor_backoff_s(600, 1), 600);
	assert_int_equal(td_monitor_backoff_s(600, 9), 600);
	assert_int_equal(td_monitor_backoff_s(3600, 40), 3600);
}

static void test_decide(void **state)
{
	struct td_mon_leg l = { .leg = 1 };
	struct td_mon_obs o = { .cls = DMT_LEG_REMOTE, .state = 'A',
				.idle = true, .key_loaded = true };
	int64_t t = 1000000;

	(void)state;
	assert_int_equal(td_monitor_decide(&l, &o, t, 5), TD_MON_NONE);
	assert_false(l.active);

	/* failed: the first retry one interval later */
	o.state = 'D';
	assert_int_equal(td_monitor_decide(&l, &o, t, 5), TD_MON_FAILED);
	assert_true(l.active);
	assert_int_equal(l.next_ms, t + 5000);
	assert_int_equal(td_monitor_decide(&l, &o, t + 4999, 5), TD_MON_WAIT);
	assert_int_equal(td_monitor_decide(&l, &o, t + 5000, 5), TD_MON_RETRY);

	/* due, but a resync / check runs, or the key is wiped: wait */
	o.idle = false;
	assert_int_equal(td_monitor_decide(&l, &o, t + 5000, 5), TD_MON_WAIT);
	o.idle = true;
	o.key_loaded = false;
	assert_int_equal(td_monitor_decide(&l, &o, t + 5000, 5), TD_MON_WAIT);
	o.key_loaded = true;

	/* sent: the next one 2 intervals later, then 4 */
	td_monitor_sent(&l, 0, t + 5000, 5);
	assert_int_equal(l.attempts, 1);
	assert_int_equal(l.next_ms, t + 15000);
	o.state = 'a';		/* catching up: count kept */
	assert_int_equal(td_monitor_decide(&l, &o, t + 6000, 5), TD_MON_NONE);
	assert_int_equal(l.attempts, 1);
	o.state = 'D';		/* re-failed by the kernel */
	assert_int_equal(td_monitor_decide(&l, &o, t + 7000, 5), TD_MON_WAIT);
	assert_int_equal(td_monitor_decide(&l, &o, t + 15000, 5), TD_MON_RETRY);
	td_monitor_sent(&l, -EIO, t + 15000, 5);
	assert_int_equal(l.attempts, 2);
	assert_int_equal(l.last_err, -EIO);
	assert_int_equal(l.next_ms, t + 35000);

	/* back in sync: everything reset, once */
	o.state = 'A';
	assert_int_equal(td_monitor_decide(&l, &o, t + 40000, 5), TD_MON_BACK);
	assert_false(l.active);
	assert_int_equal(l.attempts, 0);
	assert_int_equal(td_monitor_decide(&l, &o, t + 41000, 5), TD_MON_NONE);

	/* failed again later: the schedule starts over */
	o.state = 'D';
	assert_int_equal(td_monitor_decide(&l, &o, t + 50000, 5), TD_MON_FAILED);
	assert_int_equal(l.next_ms, t + 55000);
}

static void test_decide_never_local(void **state)
{
	struct td_mon_leg l = { .leg = 0 };
	struct td_mon_obs o = { .state = 'D', .idle = true,
				.key_loaded = true };
	int64_t t;

	(void)state;
	o.cls = DMT_LEG_LOCAL;
	for (t = 0; t < 1000000; t += 1000)
		assert_int_equal(td_monitor_decide(&l, &o, t, 1), TD_MON_NONE);
	o.cls = DMT_LEG_ZONE;
	for (t = 0; t < 1000000; t += 1000)
		assert_int_equal(td_monitor_decide(&l, &o, t, 1), TD_MON_NONE);
	o.cls = -1;		/* unknown class */
	assert_int_equal(td_monitor_decide(&l, &o, t, 1), TD_MON_NONE);
	assert_false(l.active);

	/* held (leg.fail through tenantd): never, until seen in sync */
	o.cls = DMT_LEG_REMOTE;
	l.held = true;
	for (t = 0; t < 1000000; t += 1000)
		assert_int_equal(td_monitor_decide(&l, &o, t, 1), TD_MON_NONE);
	o.state = 'A';
	assert_int_equal(td_monitor_decide(&l, &o, t, 1), TD_MON_NONE);
	assert_false(l.held);
	o.state = 'D';
	assert_int_equal(td_monitor_decide(&l, &o, t, 1), TD_MON_FAILED);

	/* diverged (S, split brain): only an operator's recover --force */
	memset(&l, 0, sizeof(l));
	o.state = DMT_LEG_STATE_DIVERGED;
	for (t = 0; t < 1000000; t += 1000)
		assert_int_equal(td_monitor_decide(&l, &o, t, 1), TD_MON_NONE);
	assert_false(l.active);
}

static void test_sync_idle(void **state)
{
	const char *idle[] = { "8/8", "idle" }, *busy[] = { "3/8", "resync" };
	const char *check[] = { "8/8", "check" }, *none[] = { "8/8", NULL };

	(void)state;
	assert_true(td_monitor_sync_idle(idle, 2));
	assert_false(td_monitor_sync_idle(busy, 2));
	assert_false(td_monitor_sync_idle(check, 2));
	assert_false(td_monitor_sync_idle(none, 2));
	assert_false(td_monitor_sync_idle(idle, 1));	/* old kernel */
	assert_false(td_monitor_sync_idle(NULL, 0));
}

static void test_config(void **state)
{
	static const char *const good[] = {
		"monitor-interval 0\n", "monitor-interval 1\n",
		"monitor_interval 3600\n",
	};
	static const char *const bad[] = {
		"monitor-interval 3601\n", "monitor-interval -1\n",
		"monitor-interval\n", "monitor-interval 5 6\n",
		"monitor-interval 1s\n",
	};
	struct td_config cfg;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		FILE *f = fmemopen((void *)good[i], strlen(good[i]), "r");

		assert_int_equal(td_config_parse(f, "t", &cfg, err,
						 sizeof(err)), 0);
		assert_true(cfg.monitor_interval_set);
		assert_int_equal(cfg.monitor_interval, i == 2 ? 3600 : i);
		fclose(f);
		td_config_free(&cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");

		assert_int_not_equal(td_config_parse(f, "t", &cfg, err,
						     sizeof(err)), 0);
		fclose(f);
	}
	{
		const char *c = "operator uid=0\n";
		struct td_daemon d = { 0 };
		FILE *f = fmemopen((void *)c, strlen(c), "r");

		assert_int_equal(td_config_parse(f, "t", &d.cfg, err,
						 sizeof(err)), 0);
		fclose(f);
		assert_int_equal(td_monitor_interval(&d),
				 TD_MONITOR_INTERVAL_DEFAULT);
		d.cfg.monitor_interval_set = true;
		d.cfg.monitor_interval = 0;
		assert_int_equal(td_monitor_interval(&d), 0);
		d.cfg.monitor_interval = 2;
		assert_int_equal(td_monitor_interval(&d), 2);
		d.no_dm = true;
		assert_int_equal(td_monitor_interval(&d), 0);
		td_config_free(&d.cfg);
	}
}

/* --- scans on a real store --------------------------------------------- */

static int setup(void **state)
{
	static const char *const classes[] = { "local", "remote", "local" };
	struct td_fixture *fx;

	if (!freopen("/dev/null", "w", stderr))
		return -1;
	fx = td_fixture_new("operator uid=0\nmonitor-interval 1\n", "rr",
			    classes, 3);
	if (!fx)
		return -1;
	nsent = 0;
	fake_msg_err = 0;
	fake_status_err = 0;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	td_monitor_stop();
	return td_fixture_free(*state);
}

struct audit_count {
	const char *action, *object, *result, *detail;
	int n;
};

static int count_rec(const struct td_audit_rec *r, void *arg)
{
	struct audit_count *ac = arg;

	if (!strcmp(r->action, ac->action) &&
	    (!ac->object || !strcmp(r->object, ac->object)) &&
	    (!ac->result || !strcmp(r->result, ac->result)) &&
	    (!ac->detail || strstr(r->detail, ac->detail))) {
		assert_string_equal(r->role, "daemon");
		ac->n++;
	}
	return 0;
}

static int audited(struct td_fixture *fx, const char *object, const char *result,
		   const char *detail)
{
	struct audit_count ac = { "daemon.leg-retry", object, result, detail,
				  0 };

	assert_int_equal(td_audit_foreach(fx->d.st, 0, 0, count_rec, &ac), 0);
	return ac.n;
}

static void test_scan(void **state)
{
	struct td_fixture *fx = *state;
	int64_t t = 5000000;
	json_object *j, *e, *f;

	/* legs 1 (remote) and 2 (local) failed */
	set_status("ADD", "idle", "loaded");
	td_monitor_scan(&fx->d, t, 1);
	assert_int_equal(nsent, 0);		/* first: one interval */
	j = td_monitor_json("tenant+acme+rr");
	assert_non_null(j);
	assert_int_equal(json_object_array_length(j), 1);	/* leg 1 only */
	e = json_object_array_get_idx(j, 0);
	assert_true(json_object_object_get_ex(e, "leg", &f));
	assert_int_equal(json_object_get_int(f), 1);
	json_object_put(j);

	td_monitor_scan(&fx->d, t + 1000, 1);
	assert_int_equal(nsent, 1);
	assert_string_equal(sent[0], "leg 1 recover");
	assert_int_equal(audited(fx, "acme/rr/leg1", "ok",
				 "leg 1 recover: attempt 1,"), 1);

	/* the kernel re-failed it; the message fails too: back off */
	fake_msg_err = -EIO;
	td_monitor_scan(&fx->d, t + 2000, 1);	/* next at +3000 */
	assert_int_equal(nsent, 1);
	td_monitor_scan(&fx->d, t + 3000, 1);
	assert_int_equal(nsent, 2);
	assert_int_equal(audited(fx, "acme/rr/leg1", "internal",
				 "attempt 2"), 1);
	fake_msg_err = 0;
	j = td_monitor_json("tenant+acme+rr");
	e = json_object_array_get_idx(j, 0);
	assert_true(json_object_object_get_ex(e, "attempts", &f));
	assert_int_equal(json_object_get_int(f), 2);
	assert_true(json_object_object_get_ex(e, "next_retry_s", &f));
	assert_true(json_object_object_get_ex(e, "last_error", &f));
	json_object_put(j);

	/* due at +7000, but a resync runs: wait until idle */
	td_monitor_scan(&fx->d, t + 6000, 1);
	set_status("ADD", "resync", "loaded");
	td_monitor_scan(&fx->d, t + 7000, 1);
	td_monitor_scan(&fx->d, t + 8000, 1);
	assert_int_equal(nsent, 2);
	set_status("ADD", "idle", "wiped");
	td_monitor_scan(&fx->d, t + 9000, 1);
	assert_int_equal(nsent, 2);
	set_status("ADD", "idle", "loaded");
	td_monitor_scan(&fx->d, t + 10000, 1);
	assert_int_equal(nsent, 3);

	/* a status error changes nothing and sends nothing */
	fake_status_err = -ENXIO;
	td_monitor_scan(&fx->d, t + 30000, 1);
	assert_int_equal(nsent, 3);
	fake_status_err = 0;
	j = td_monitor_json("tenant+acme+rr");
	assert_non_null(j);			/* schedule kept */
	e = json_object_array_get_idx(j, 0);
	assert_true(json_object_object_get_ex(e, "attempts", &f));
	assert_int_equal(json_object_get_int(f), 3);
	json_object_put(j);

	/* catching up, then in sync: the state goes */
	set_status("AaD", "idle", "loaded");
	td_monitor_scan(&fx->d, t + 40000, 1);
	assert_int_equal(nsent, 3);
	set_status("AAD", "idle", "loaded");
	td_monitor_scan(&fx->d, t + 41000, 1);
	assert_null(td_monitor_json("tenant+acme+rr"));

	/* the local leg 2 was failed all along: never a word to it */
	for (unsigned int i = 0; i < nsent; i++)
		assert_string_equal(sent[i], "leg 1 recover");
	assert_int_equal(audited(fx, "acme/rr/leg2", NULL, NULL), 0);
	assert_int_equal(audited(fx, NULL, NULL, NULL), 3);
}

static void test_scan_held_and_detached(void **state)
{
	struct td_fixture *fx = *state;
	int64_t t = 9000000;
	json_object *j, *e, *f;

	/* leg.fail through tenantd: held */
	td_monitor_hold("tenant+acme+rr", 1, true);
	set_status("ADA", "idle", "loaded");
	for (int i = 0; i < 20; i++)
		td_monitor_scan(&fx->d, t + i * 1000, 1);
	assert_int_equal(nsent, 0);
	j = td_monitor_json("tenant+acme+rr");
	assert_non_null(j);
	e = json_object_array_get_idx(j, 0);
	assert_true(json_object_object_get_ex(e, "held", &f));
	assert_true(json_object_get_boolean(f));
	json_object_put(j);

	/* detached and attached again: still held */
	assert_int_equal(td_attach_close(fx->d.st, "acme", "rr", "detach"), 0);
	td_monitor_scan(&fx->d, t + 21000, 1);
	assert_int_equal(td_attach_add(fx->d.st, "acme", "rr", "",
				       "tenant+acme+rr", "/dev/dm-9", 0), 0);
	td_monitor_scan(&fx->d, t + 22000, 1);
	td_monitor_scan(&fx->d, t + 23000, 1);
	assert_int_equal(nsent, 0);

	/* leg.recover through tenantd: released (it fails again later) */
	td_monitor_hold("tenant+acme+rr", 1, false);
	td_monitor_scan(&fx->d, t + 30000, 1);
	td_monitor_scan(&fx->d, t + 31000, 1);
	assert_int_equal(nsent, 1);

	/* detached: the state is dropped, nothing is sent */
	assert_int_equal(td_attach_close(fx->d.st, "acme", "rr", "detach"), 0);
	td_monitor_scan(&fx->d, t + 60000, 1);
	assert_null(td_monitor_json("tenant+acme+rr"));
	assert_int_equal(nsent, 1);
}

/*
 * A leg failed through tenantd stays held across a restart of tenantd: the
 * hold is in the store, not only in memory.
 */
static void test_hold_survives_restart(void **state)
{
	struct td_fixture *fx = *state;
	struct td_caller op = { .uid = 0, .pid = 1 };
	const char *fail = "{\"verb\":\"leg.fail\",\"args\":{\"tenant\":"
		"\"acme\",\"volume\":\"rr\",\"leg\":1}}";
	const char *recover = "{\"verb\":\"leg.recover\",\"args\":{\"tenant\":"
		"\"acme\",\"volume\":\"rr\",\"leg\":1}}";
	int64_t t = 3000000;
	char err[256];
	json_object *rep, *ok;

	fx->d.no_dm = false;
	rep = td_handle_line(&fx->d, &op, fail, strlen(fail));
	assert_true(json_object_object_get_ex(rep, "ok", &ok));
	assert_true(json_object_get_boolean(ok));
	json_object_put(rep);
	assert_int_equal(nsent, 1);
	assert_string_equal(sent[0], "leg 1 fail");

	/* tenantd stops and starts: memory gone, the store reopened */
	td_monitor_stop();
	td_store_close(fx->d.st);
	assert_int_equal(td_store_open(fx->db, &fx->d.st, err, sizeof(err)), 0);
	set_status("ADA", "idle", "loaded");
	for (int i = 0; i < 10; i++)
		td_monitor_scan(&fx->d, t + i * 1000, 1);
	assert_int_equal(nsent, 1);		/* no recover */

	/* leg.recover releases it, for good */
	rep = td_handle_line(&fx->d, &op, recover, strlen(recover));
	json_object_put(rep);
	assert_int_equal(nsent, 2);
	td_monitor_stop();
	td_store_close(fx->d.st);
	assert_int_equal(td_store_open(fx->db, &fx->d.st, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++)
		td_monitor_scan(&fx->d, t + 20000 + i * 1000, 1);
	assert_int_equal(nsent, 3);
	assert_string_equal(sent[2], "leg 1 recover");

	/* Held again, then recovered outside tenantd (dmsetup message): seen
	 * in sync, the hold goes from the store too. */
	rep = td_handle_line(&fx->d, &op, fail, strlen(fail));
	json_object_put(rep);
	assert_int_equal(nsent, 4);
	set_status("AAA", "idle", "loaded");
	td_monitor_scan(&fx->d, t + 40000, 1);
	td_monitor_stop();
	td_store_close(fx->d.st);
	assert_int_equal(td_store_open(fx->db, &fx->d.st, err, sizeof(err)), 0);
	set_status("ADA", "idle", "loaded");
	for (int i = 0; i < 3; i++)
		td_monitor_scan(&fx->d, t + 50000 + i * 1000, 1);
	assert_int_equal(nsent, 5);
	assert_string_equal(sent[4], "leg 1 recover");
}

/* Two failed remote legs: one recover per volume and scan. */
static void test_scan_one_per_volume(void **state)
{
	struct td_fixture *fx = *state;
	int64_t t = 7000000;

	(void)fx;
	snprintf(fake_status, sizeof(fake_status), "%s",
		 "acme rr loaded 3 local 1:0 A remote 2:0 D remote 3:0 D "
		 "10 20 0 0 1 0 8/8 idle 0/0 0 2 1 failed 0 0 no "
		 "2 failed 0 0 no");
	td_monitor_scan(&fx->d, t, 1);
	assert_int_equal(nsent, 0);
	td_monitor_scan(&fx->d, t + 1000, 1);
	assert_int_equal(nsent, 1);
	assert_string_equal(sent[0], "leg 1 recover");
	td_monitor_scan(&fx->d, t + 2000, 1);
	assert_int_equal(nsent, 2);
	assert_string_equal(sent[1], "leg 2 recover");
	td_monitor_scan(&fx->d, t + 3000, 1);	/* leg 1's second */
	assert_int_equal(nsent, 3);
	assert_string_equal(sent[2], "leg 1 recover");
	td_monitor_scan(&fx->d, t + 4000, 1);	/* leg 2's second */
	assert_int_equal(nsent, 4);
	assert_string_equal(sent[3], "leg 2 recover");
	td_monitor_scan(&fx->d, t + 5000, 1);
	td_monitor_scan(&fx->d, t + 6000, 1);
	assert_int_equal(nsent, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_never_local),
		cmocka_unit_test(test_sync_idle),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_held_and_detached,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_one_per_volume,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_survives_restart,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
