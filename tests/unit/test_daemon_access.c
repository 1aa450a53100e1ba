// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of just-in-time access (userspace/daemon/access.c): every
 * state x every event of the grant state machine against the documented
 * table (Documentation/jit-access.md), names, deadlines, the
 * access_grants table (round trip, one active grant per volume, foreign
 * key, cascade, schema step), the free-text argument check, and the
 * tenantd.conf settings access-pending-ttl / access-max-duration.
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

#include "../../userspace/daemon/access.h"
#include "../../userspace/daemon/roles.h"
#include "td_fixture.h"

/*
 * The documented moves: row = state, column = event (approve, deny, open,
 * revoke, close, timeout); '.' = refused.  Letters: P pending, A approved,
 * D denied, E expired, X active, R revoked, C completed.
 */
static const char *const expect[TD_GS__COUNT] = {
	[TD_GS_PENDING]		= "AD...E",
	[TD_GS_APPROVED]	= "..XRCE",
	[TD_GS_DENIED]		= "......",
	[TD_GS_EXPIRED]		= "......",
	[TD_GS_ACTIVE]		= "...RCC",
	[TD_GS_REVOKED]		= "......",
	[TD_GS_COMPLETED]	= "......",
};

static char letter(enum td_grant_state s)
{
	return "PADEXRC"[s];
}

static void test_state_machine(void **state)
{
	enum td_grant_state s, to;
	enum td_grant_event ev;

	(void)state;
	for (s = 0; s < TD_GS__COUNT; s++) {
		for (ev = 0; ev < TD_GE__COUNT; ev++) {
			int r = td_grant_next(s, ev, &to);
			char got = r ? '.' : letter(to);

			if (got != expect[s][ev])
				fail_msg("%s + event %d: got %c want %c",
					 td_grant_state_name(s), ev, got,
					 expect[s][ev]);
			if (r)
				assert_int_equal(r, -EPERM);
		}
		/* final states have no way out */
		assert_int_equal(td_grant_final(s),
				 !strcmp(expect[s], "......"));
	}
	/* the refusals the issue names */
	assert_int_equal(td_grant_next(TD_GS_APPROVED, TD_GE_APPROVE, &to),
			 -EPERM);		/* double approve */
	assert_int_equal(td_grant_next(TD_GS_EXPIRED, TD_GE_APPROVE, &to),
			 -EPERM);		/* approve after expiry */
	assert_int_equal(td_grant_next(TD_GS_REVOKED, TD_GE_OPEN, &to),
			 -EPERM);		/* open after revoke */
	assert_int_equal(td_grant_next(TD_GS_PENDING, TD_GE_OPEN, &to),
			 -EPERM);		/* open before approval */
	assert_int_equal(td_grant_next(TD_GS__COUNT, TD_GE_OPEN, &to), -EPERM);
	assert_int_equal(td_grant_next(TD_GS_PENDING, TD_GE__COUNT, &to),
			 -EPERM);
}

static void test_names(void **state)
{
	enum td_grant_state s, p;
	enum td_grant_mode m;

	(void)state;
	for (s = 0; s < TD_GS__COUNT; s++) {
		assert_int_equal(td_grant_state_parse(td_grant_state_name(s),
						      &p), 0);
		assert_int_equal(p, s);
	}
	assert_int_equal(td_grant_state_parse("Active", &p), -EINVAL);
	assert_int_equal(td_grant_state_parse(NULL, &p), -EINVAL);
	assert_string_equal(td_grant_state_name(TD_GS__COUNT), "?");
	assert_int_equal(td_grant_mode_parse("ro", &m), 0);
	assert_int_equal(m, TD_MODE_RO);
	assert_int_equal(td_grant_mode_parse("rw", &m), 0);
	assert_int_equal(m, TD_MODE_RW);
	assert_int_equal(td_grant_mode_parse("wo", &m), -EINVAL);
	assert_int_equal(td_grant_mode_parse("", &m), -EINVAL);
	assert_true(TD_MODE_RW > TD_MODE_RO);	/* "narrowing" compares */
}

static void test_deadline_and_time(void **state)
{
	struct td_grant g;
	char buf[32];

	(void)state;
	memset(&g, 0, sizeof(g));
	g.pending_until = 100;
	g.expires = 200;
	g.state = TD_GS_PENDING;
	assert_int_equal(td_grant_deadline(&g), 100);
	g.state = TD_GS_APPROVED;
	assert_int_equal(td_grant_deadline(&g), 200);
	g.state = TD_GS_ACTIVE;
	assert_int_equal(td_grant_deadline(&g), 200);
	g.state = TD_GS_REVOKED;
	assert_int_equal(td_grant_deadline(&g), 0);
	td_time_fmt(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	td_time_fmt(1796000000, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-30T00:53:20Z");
}

static void test_text(void **state)
{
	char s[TD_TEXT_MAX + 2];

	(void)state;
	assert_true(td_valid_text("ticket 42: fsck after crash"));
	assert_false(td_valid_text(""));
	assert_false(td_valid_text(NULL));
	assert_false(td_valid_text("line\nbreak"));
	assert_false(td_valid_text("tab\there"));
	assert_false(td_valid_text("caf\xc3\xa9"));
	memset(s, 'a', sizeof(s));
	s[TD_TEXT_MAX] = '\0';
	assert_true(td_valid_text(s));
	s[TD_TEXT_MAX] = 'a';
	s[TD_TEXT_MAX + 1] = '\0';
	assert_false(td_valid_text(s));
}

static void test_verbs_parse(void **state)
{
	struct td_request req;
	char msg[256];

	(void)state;
#define P(s) td_parse_request(s, strlen(s), &req, msg, sizeof(msg))
	assert_int_equal(P("{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"v\",\"reason\":\"r\",\"duration\":60,\"mode\":\"rw\"}}"),
			 TD_OK);
	td_request_free(&req);
	assert_int_equal(P("{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"v\",\"reason\":\"r\",\"duration\":60,\"mode\":\"wr\"}}"),
			 TD_E_INVALID_ARGUMENT);
	td_request_free(&req);
	assert_int_equal(P("{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"v\",\"reason\":\"\",\"duration\":60}}"),
			 TD_E_INVALID_ARGUMENT);
	td_request_free(&req);
	assert_int_equal(P("{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"v\",\"reason\":\"a\\u0007b\",\"duration\":60}}"),
			 TD_E_INVALID_ARGUMENT);
	td_request_free(&req);
	assert_int_equal(P("{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\",\"volume\":\"v\",\"reason\":\"r\"}}"),
			 TD_E_INVALID_ARGUMENT);	/* duration missing */
	td_request_free(&req);
	assert_int_equal(P("{\"verb\":\"access.approve\",\"args\":{\"id\":\"3\"}}"),
			 TD_E_INVALID_ARGUMENT);	/* id must be an integer */
	td_request_free(&req);
	assert_int_equal(P("{\"verb\":\"access.open\",\"args\":{\"id\":3,\"note\":\"x\"}}"),
			 TD_E_INVALID_ARGUMENT);	/* open takes no note */
	td_request_free(&req);
	assert_int_equal(P("{\"verb\":\"access.revoke\",\"args\":{\"id\":3,\"note\":\"x\"}}"),
			 TD_OK);
	td_request_free(&req);
#undef P
}

static int setup(void **state)
{
	struct td_fixture *fx = calloc(1, sizeof(*fx));
	struct td_tenant t;
	struct td_volume v;
	char err[256];

	if (!fx || td_fixture_dir(fx, "access")) {
		free(fx);
		return -1;
	}
	if (td_store_open(fx->db, &fx->d.st, err, sizeof(err)))
		return -1;
	memset(&t, 0, sizeof(t));
	strcpy(t.id, "acme");
	t.kek_len = 4;
	t.kek_gen = 1;
	strcpy(t.kek_fpr, "0011223344556677");
	td_fixture_volume(&v, "acme", "vol1", "/dev/vda");
	if (td_tenant_insert(fx->d.st, &t) || td_volume_insert(fx->d.st, &v))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct td_fixture *fx = *state;

	int rc;

	td_store_close(fx->d.st);
	rc = td_fixture_rmdir(fx);
	free(fx);
	return rc;
}

static void new_grant(struct td_grant *g, const char *volume)
{
	memset(g, 0, sizeof(*g));
	strcpy(g->tenant, "acme");
	strcpy(g->volume, volume);
	g->requester = 1002;
	strcpy(g->reason, "ticket 42");
	g->mode_requested = TD_MODE_RW;
	g->mode = TD_MODE_RW;
	g->duration = 60;
	g->state = TD_GS_PENDING;
	g->requested = 1000;
	g->pending_until = 4600;
	g->approver = -1;
}

static int count_open(const struct td_grant *g, void *arg)
{
	(void)g;
	(*(int *)arg)++;
	return 0;
}

static void test_store(void **state)
{
	struct td_fixture *fx = *state;
	struct td_grant g, h, k;
	int n;

	new_grant(&g, "vol1");
	assert_int_equal(td_grant_insert(fx->d.st, &g), 0);
	assert_true(g.id > 0);
	assert_int_equal(td_grant_get(fx->d.st, g.id, &h), 0);
	assert_string_equal(h.tenant, "acme");
	assert_string_equal(h.volume, "vol1");
	assert_string_equal(h.reason, "ticket 42");
	assert_int_equal(h.requester, 1002);
	assert_int_equal(h.mode_requested, TD_MODE_RW);
	assert_int_equal(h.state, TD_GS_PENDING);
	assert_int_equal(h.pending_until, 4600);
	assert_int_equal(h.approver, -1);
	assert_int_equal(h.expires, 0);
	assert_int_equal(td_grant_get(fx->d.st, g.id + 100, &h), -ENOENT);
	assert_int_equal(td_grant_active(fx->d.st, "acme", "vol1", &h), -ENOENT);

	/* approve ro, open */
	g.state = TD_GS_ACTIVE;
	g.mode = TD_MODE_RO;
	g.approver = 1003;
	g.decided = 1010;
	strcpy(g.note, "ro is enough");
	g.expires = 1070;
	g.opened = 1020;
	strcpy(g.dm_name, "jit+acme+vol1");
	strcpy(g.device, "/dev/mapper/jit+acme+vol1");
	assert_int_equal(td_grant_update(fx->d.st, &g), 0);
	assert_int_equal(td_grant_active(fx->d.st, "acme", "vol1", &h), 0);
	assert_int_equal(h.id, g.id);
	assert_int_equal(h.mode, TD_MODE_RO);
	assert_int_equal(h.approver, 1003);
	assert_int_equal(h.expires, 1070);
	assert_string_equal(h.note, "ro is enough");
	assert_string_equal(h.dm_name, "jit+acme+vol1");

	/* a second active grant of the same volume is refused */
	new_grant(&k, "vol1");
	assert_int_equal(td_grant_insert(fx->d.st, &k), 0);
	k.state = TD_GS_ACTIVE;
	assert_int_equal(td_grant_update(fx->d.st, &k), -EEXIST);
	assert_int_equal(td_grant_get(fx->d.st, k.id, &h), 0);
	assert_int_equal(h.state, TD_GS_PENDING);	/* unchanged */

	/* open ones: g (active) and k (pending) */
	n = 0;
	assert_int_equal(td_grant_foreach(fx->d.st, true, count_open, &n), 0);
	assert_int_equal(n, 2);
	g.state = TD_GS_REVOKED;
	g.closed = 1030;
	strcpy(g.close_reason, "revoked by uid 1003");
	assert_int_equal(td_grant_update(fx->d.st, &g), 0);
	n = 0;
	assert_int_equal(td_grant_foreach(fx->d.st, true, count_open, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(td_grant_foreach(fx->d.st, false, count_open, &n), 0);
	assert_int_equal(n, 2);

	/* an unknown grant cannot be updated */
	h.id = 999;
	assert_int_equal(td_grant_update(fx->d.st, &h), -ENOENT);
	/* the foreign key: no grant for a volume that does not exist */
	new_grant(&k, "nosuch");
	assert_int_not_equal(td_grant_insert(fx->d.st, &k), 0);
	/* a bad state never reaches the table (CHECK) */
	new_grant(&k, "vol1");
	k.state = TD_GS__COUNT;
	assert_int_not_equal(td_grant_insert(fx->d.st, &k), 0);
	/* deleting the volume takes its grants along */
	assert_int_equal(td_volume_delete(fx->d.st, "acme", "vol1"), 0);
	n = 0;
	assert_int_equal(td_grant_foreach(fx->d.st, false, count_open, &n), 0);
	assert_int_equal(n, 0);
}

static int parse_conf(const char *text, struct td_config *cfg, char *err,
		      size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(f);
	r = td_config_parse(f, "a.conf", cfg, err, errlen);
	fclose(f);
	return r;
}

static void test_config(void **state)
{
	struct td_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse_conf("operator uid=0\naccess-pending-ttl 30\n"
				    "access-max-duration 7200\n", &cfg, err,
				    sizeof(err)), 0);
	assert_int_equal(cfg.access_pending_ttl, 30);
	assert_int_equal(cfg.access_max_duration, 7200);
	td_config_free(&cfg);
	assert_int_equal(parse_conf("operator uid=0\n", &cfg, err,
				    sizeof(err)), 0);
	assert_int_equal(cfg.access_pending_ttl, 0);	/* default applies */
	td_config_free(&cfg);
	assert_int_equal(parse_conf("access-pending-ttl 0\n", &cfg, err,
				    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a.conf:1:"));
	assert_int_equal(parse_conf("access-max-duration -5\n", &cfg, err,
				    sizeof(err)), -EINVAL);
	assert_int_equal(parse_conf("access-max-duration 1h\n", &cfg, err,
				    sizeof(err)), -EINVAL);
	assert_int_equal(parse_conf("access-pending-ttl 5 6\n", &cfg, err,
				    sizeof(err)), -EINVAL);
	assert_int_equal(parse_conf("access-whatever 5\n", &cfg, err,
				    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown keyword"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_machine),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_deadline_and_time),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_verbs_parse),
		cmocka_unit_test_setup_teardown(test_store, setup, teardown),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
