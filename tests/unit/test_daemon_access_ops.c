// SPDX-License-Identifier: GPL-2.0
/*
 * The access.* request handlers (userspace/daemon/ops-access.c) in-process,
 * through td_handle_line() as tenantd runs them, against a real SQLite
 * store, with --no-dm (no device-mapper: the mapping itself is tested in
 * the VM, tests/vm/50-access-flow.sh).  Who may decide (never the
 * requester, never another tenant's admin, not the operator), narrowing
 * rw to ro only, refused moves, the clock (pending TTL, window end) in
 * td_access_tick(), closing at start (td_access_startup()) after a
 * "restart", list filtering, and one audit record per request with the
 * reason, the approver and the times.
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

#include "../../userspace/daemon/access.h"
#include "../../userspace/daemon/ops.h"
#include "td_inproc.h"

static const char conf[] =
	"operator uid=0\n"
	"support uid=1002\n"
	"tenant-admin uid=1002 tenant=acme\n"	/* requester and admin */
	"tenant-admin uid=1003 tenant=acme\n"
	"tenant-admin uid=1004 tenant=globex\n"
	"support uid=1005\n"
	"access-pending-ttl 3\n"	/* seconds: slack for valgrind */
	"access-max-duration 100\n"
	/* the second factor has its own tests (test_daemon_mfa.c) */
	"mfa-required none\n";

static int setup(void **state)
{
	return fx_setup(state, conf, "accops");
}

static int64_t request(uid_t uid, const char *mode, int duration)
{
	assert_string_equal(req(uid,
		"{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\","
		"\"volume\":\"vol1\",\"reason\":\"ticket 7: check\","
		"\"duration\":%d,\"mode\":\"%s\"}}", duration, mode), "ok");
	assert_string_equal(res("state"), "pending");
	return atoll(res("id"));
}

static const char *grant_state(int64_t id)
{
	static char buf[16];
	struct td_grant g;

	assert_int_equal(td_grant_get(F->d.st, id, &g), 0);
	snprintf(buf, sizeof(buf), "%s", td_grant_state_name(g.state));
	return buf;
}

struct find {
	const char *action, *needle;
	int64_t after;
	int n;
};

static int find_rec(const struct td_audit_rec *r, void *arg)
{
	struct find *f = arg;

	if (!strcmp(r->action, f->action) && strstr(r->detail, f->needle))
		f->n++;
	return 0;
}

/* Audit records after @after with @action and @needle in the detail. */
static int audited(int64_t after, const char *action, const char *needle)
{
	struct find f = { action, needle, after, 0 };

	assert_int_equal(td_audit_foreach(F->d.st, after, 0, find_rec, &f), 0);
	return f.n;
}

static int64_t head(void)
{
	int64_t seq;
	char h[TD_HASH_HEX];

	assert_int_equal(td_audit_head(F->d.st, &seq, h), 0);
	return seq;
}

static void add_volume(void)
{
	assert_string_equal(req(0, "{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"acme\"}}"), "ok");
	assert_string_equal(req(0, "{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"globex\"}}"), "ok");
	fx_add_volume("acme", "vol1");
}

static void test_flow(void **state)
{
	int64_t g1, g2, g3, h0;
	struct td_grant g;

	(void)state;
	add_volume();
	td_access_startup(&F->d);
	h0 = head();

	/* who may ask */
	assert_string_equal(req(1003, "{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"vol1\",\"reason\":\"r\",\"duration\":10}}"),
			    "denied");
	assert_string_equal(req(1002, "{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"vol1\",\"reason\":\"r\",\"duration\":101}}"),
			    "invalid-argument");
	assert_string_equal(req(1002, "{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"nope\",\"reason\":\"r\",\"duration\":10}}"),
			    "not-found");
	assert_int_equal(head(), h0 + 3);	/* refusals are audited too */

	/* who may decide */
	g1 = request(1002, "ro", 30);
	assert_int_equal(audited(h0, "access.request",
				 "pending, ro 30s, reason: ticket 7: check"), 1);
	assert_string_equal(req(1002, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "denied");		/* self, although admin of acme */
	assert_string_equal(req(1004, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "denied");		/* admin of globex */
	assert_string_equal(req(0, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "denied");		/* operator */
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld,\"mode\":\"rw\"}}", (long long)g1),
			    "invalid-argument");	/* no widening */
	assert_string_equal(req(1005, "{\"verb\":\"access.open\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "denied");		/* not the requester */
	assert_string_equal(req(1002, "{\"verb\":\"access.open\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "conflict");	/* not approved */
	assert_string_equal(grant_state(g1), "pending");
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld,\"note\":\"fine\"}}", (long long)g1),
			    "ok");
	assert_string_equal(res("state"), "approved");
	assert_string_equal(res("approver"), "1003");
	assert_int_equal(audited(h0, "access.approve", "approved ro (asked ro) for uid 1002 until "), 1);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "conflict");	/* double approve */
	assert_string_equal(req(1003, "{\"verb\":\"access.deny\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "conflict");
	assert_string_equal(req(1002, "{\"verb\":\"access.open\",\"args\":{\"id\":%lld,\"mode\":\"rw\"}}", (long long)g1),
			    "denied");		/* ro approved */
	assert_string_equal(req(1002, "{\"verb\":\"access.open\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "unsupported");	/* --no-dm */
	assert_string_equal(req(1003, "{\"verb\":\"access.revoke\",\"args\":{\"id\":%lld,\"note\":\"no longer needed\"}}", (long long)g1),
			    "ok");
	assert_string_equal(grant_state(g1), "revoked");
	assert_string_equal(req(1002, "{\"verb\":\"access.open\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "conflict");	/* open after revoke */
	assert_string_equal(req(1003, "{\"verb\":\"access.revoke\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "conflict");

	/* rw asked, ro approved: narrowing is allowed */
	g2 = request(1002, "rw", 30);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld,\"mode\":\"ro\"}}", (long long)g2),
			    "ok");
	assert_string_equal(res("mode"), "ro");
	assert_string_equal(res("mode_requested"), "rw");
	assert_string_equal(req(1002, "{\"verb\":\"access.close\",\"args\":{\"id\":%lld}}", (long long)g2),
			    "ok");
	assert_string_equal(grant_state(g2), "completed");

	/* deny, with a note */
	g3 = request(1005, "ro", 30);
	assert_string_equal(req(1003, "{\"verb\":\"access.deny\",\"args\":{\"id\":%lld,\"note\":\"use the backup\"}}", (long long)g3),
			    "ok");
	assert_int_equal(audited(h0, "access.deny", "denied for uid 1005: use the backup"), 1);
	assert_string_equal(req(1005, "{\"verb\":\"access.open\",\"args\":{\"id\":%lld}}", (long long)g3),
			    "conflict");
	assert_int_equal(td_grant_get(F->d.st, g3, &g), 0);
	assert_int_equal(g.approver, 1003);
	assert_true(g.decided > 0 && g.closed == g.decided);

	/* list filtering */
	assert_string_equal(req(1005, "{\"verb\":\"access.list\",\"args\":{\"all\":true}}"), "ok");
	assert_non_null(strstr(js(), "\"requester\":1005"));
	assert_null(strstr(js(), "\"requester\":1002"));
	assert_string_equal(req(1004, "{\"verb\":\"access.list\",\"args\":{\"all\":true}}"), "ok");
	assert_null(strstr(js(), "acme"));
	assert_string_equal(req(0, "{\"verb\":\"access.list\",\"args\":{\"all\":true}}"), "ok");
	assert_non_null(strstr(js(), "\"requester\":1005"));
	assert_non_null(strstr(js(), "\"requester\":1002"));
	assert_string_equal(req(0, "{\"verb\":\"access.list\"}"), "ok");
	assert_null(strstr(js(), "\"id\""));	/* none open */
	assert_string_equal(req(1001, "{\"verb\":\"access.list\"}"), "denied");
}

static void test_clock_and_restart(void **state)
{
	int64_t g1, g2, g3, h0;
	struct td_grant g;
	int64_t due;

	(void)state;
	add_volume();
	td_access_startup(&F->d);
	h0 = head();
	assert_int_equal(td_access_tick(&F->d), -1);	/* nothing open */

	/* a pending request expires (ttl 3 s) */
	g1 = request(1002, "ro", 30);
	due = td_access_tick(&F->d);
	assert_true(due >= 0 && due <= 3000);
	sleep(4);
	assert_true(td_access_tick(&F->d) == -1);
	assert_string_equal(grant_state(g1), "expired");
	assert_int_equal(audited(h0, "access.expire", "pending -> expired (no decision in time)"), 1);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld}}", (long long)g1),
			    "conflict");	/* approve after expiry */

	/* an approved grant's window ends unopened */
	g2 = request(1002, "ro", 1);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld}}", (long long)g2), "ok");
	/* an active grant whose window ends while tenantd is "down" */
	g3 = request(1005, "ro", 1);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%lld}}", (long long)g3), "ok");
	assert_int_equal(td_grant_get(F->d.st, g3, &g), 0);
	g.state = TD_GS_ACTIVE;			/* as if opened */
	g.opened = g.decided;
	strcpy(g.dm_name, "jit+acme+vol1");
	assert_int_equal(td_grant_update(F->d.st, &g), 0);

	td_store_close(F->d.st);		/* "stop" */
	F->d.st = NULL;
	sleep(2);
	open_store(F);				/* "start" */
	h0 = head();
	td_access_startup(&F->d);
	assert_string_equal(grant_state(g2), "expired");
	assert_string_equal(grant_state(g3), "completed");
	assert_int_equal(td_grant_get(F->d.st, g3, &g), 0);
	assert_string_equal(g.close_reason, "window ended");
	assert_int_equal(audited(h0, "access.expire", "approved -> expired (window ended unopened)"), 1);
	assert_int_equal(audited(h0, "access.expire", "active -> completed (window ended)"), 1);
	assert_int_equal(audited(h0, "access.startup", "closed 2 due, 0 active kept"), 1);
	assert_int_equal(td_access_tick(&F->d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_and_restart, setup,
						teardown),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	json_object_put(last);
	return r;
}
