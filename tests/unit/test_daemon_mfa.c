// SPDX-License-Identifier: GPL-2.0
/*
 * The second factor (userspace/daemon/mfa.c, ops-mfa.c): enrolments and
 * checks against a real SQLite store with the daemon's clock replaced,
 * codes made by oathtool(1) at the same fixed times (the reference, never
 * our own TOTP code).  Right code, wrong code, replay, drift, lockout, a
 * tampered wrapped seed, malformed codes, a code of another enrolment,
 * corrupted rows, clocks far off; then the handlers in-process (--no-dm):
 * access.approve / deny / open refused without an enrolment (hint names
 * 'mfa enroll'), asking for the code, granting with it, the audit chain
 * naming the enrolment and never the code or the seed.
 */
#include <errno.h>
#include <inttypes.h>
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
#include <liboath/oath.h>
#include <sqlite3.h>

#include "../../userspace/daemon/access.h"
#include "../../userspace/daemon/mfa.h"
#include "../../userspace/daemon/ops.h"
#include "td_inproc.h"

/* 2026-12-01T00:00:00Z, a multiple of 30 */
#define T0	1796083200LL

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

static const char conf[] =
	"operator uid=0\n"
	"support uid=1002\n"
	"tenant-admin uid=1003 tenant=acme\n"
	"tenant-admin uid=1004 tenant=acme\n"
	"mfa-required access.approve,access.deny,access.open,tenant.delete\n";

static int setup(void **state)
{
	fake_now = T0;
	td_mfa_clock = fake_clock;
	return fx_setup(state, conf, "mfa");
}

/* --- helpers --------------------------------------------------------------- */

/* The seed (base32) out of an otpauth URI. */
static void uri_secret(const char *uri, char *b32, size_t len)
{
	const char *p = strstr(uri, "secret=");
	size_t n;

	assert_non_null(p);
	p += 7;
	n = strcspn(p, "&");
	assert_true(n < len);
	memcpy(b32, p, n);
	b32[n] = '\0';
}

/* oathtool's code for @b32 at time @t. */
static void oathtool(const char *b32, const char *algo, unsigned int digits,
		     int64_t t, char *code)
{
	char cmd[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "oathtool --totp=%s --digits=%u --now=@%" PRId64 " -b %s",
		 algo, digits, t, b32);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(code, 16, p));
	assert_int_equal(pclose(p), 0);
	code[strcspn(code, "\n")] = '\0';
	assert_int_equal(strlen(code), digits);
}

struct enrolled {
	int64_t id;
	char b32[128];
};

static void enrol(int64_t uid, enum td_mfa_algo algo, unsigned int digits,
		  struct enrolled *en)
{
	struct td_mfa_enrolment e;
	char uri[TD_MFA_URI_MAX];

	assert_int_equal(td_mfa_enrol(F->d.st, F->d.master, uid, "host", algo,
				      digits, "dm-tenant", "uid@test", &e, uri,
				      sizeof(uri)), 0);
	assert_non_null(strstr(uri, "otpauth://totp/dm-tenant:uid@test?"));
	uri_secret(uri, en->b32, sizeof(en->b32));
	en->id = e.id;
}

static enum td_mfa_outcome check(int64_t uid, const char *code, bool confirm)
{
	struct td_mfa_result r;

	td_mfa_check(F->d.st, F->d.master, uid, code, confirm, &r);
	return r.outcome;
}

/* Enrol and confirm at fake_now; returns the enrolment. */
static void enrol_active(int64_t uid, struct enrolled *en)
{
	char code[16];

	enrol(uid, TD_MFA_SHA1, 6, en);
	oathtool(en->b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(uid, code, true), TD_MFA_OK);
}

static void sql(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_exec(td_store_db(F->d.st), buf, NULL, NULL,
				      NULL), SQLITE_OK);
}

/* Flip one bit of the stored wrapped seed of enrolment @id. */
static void flip_wrapped_bit(int64_t id, int byte)
{
	sqlite3 *db = td_store_db(F->d.st);
	sqlite3_stmt *s;
	uint8_t blob[128];
	int n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT wrapped FROM"
		" mfa_enrolments WHERE id = ?", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_int64(s, 1, id);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_bytes(s, 0);
	assert_true(n > byte && n <= (int)sizeof(blob));
	memcpy(blob, sqlite3_column_blob(s, 0), (size_t)n);
	sqlite3_finalize(s);
	blob[byte] ^= 0x10;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE mfa_enrolments SET"
		" wrapped = ? WHERE id = ?", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_blob(s, 1, blob, n, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, id);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

/* A code that is not the right one now (and not near it). */
static void wrong_code(const struct enrolled *en, char *code)
{
	char c[3][16];
	int i;

	for (i = 0; i < 3; i++)
		oathtool(en->b32, "sha1", 6, fake_now + (i - 1) * 30, c[i]);
	strcpy(code, "000000");
	while (!strcmp(code, c[0]) || !strcmp(code, c[1]) ||
	       !strcmp(code, c[2]))
		code[5]++;
}

/* --- mfa.c ----------------------------------------------------------------- */

static void test_enrol_confirm_right_code(void **state)
{
	struct td_mfa_enrolment e;
	struct enrolled en;
	char code[16];

	(void)state;
	enrol(1002, TD_MFA_SHA1, 6, &en);
	/* pending does not count until confirmed */
	assert_int_equal(td_mfa_get(F->d.st, 1002, false, &e), -ENOENT);
	oathtool(en.b32, "sha1", 6, T0, code);
	assert_int_equal(check(1002, code, false), TD_MFA_NOT_ENROLLED);
	assert_int_equal(check(1002, code, true), TD_MFA_OK);
	assert_int_equal(td_mfa_get(F->d.st, 1002, false, &e), 0);
	assert_int_equal(e.id, en.id);
	assert_int_equal(e.last_step, T0 / 30);
	/* a later code passes */
	fake_now = T0 + 90;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
	assert_int_equal(td_mfa_get(F->d.st, 1002, false, &e), 0);
	assert_int_equal(e.last_step, (T0 + 90) / 30);
}

static void test_sha256_eight_digits(void **state)
{
	struct enrolled en;
	char code[16];

	(void)state;
	enrol(1002, TD_MFA_SHA256, 8, &en);
	oathtool(en.b32, "sha256", 8, T0, code);
	assert_int_equal(check(1002, code, true), TD_MFA_OK);
	fake_now += 30;
	/* the SHA-1 code of the same seed is another code */
	oathtool(en.b32, "sha1", 8, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_WRONG);
	oathtool(en.b32, "sha256", 8, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
}

static void test_wrong_code_and_other_enrolment(void **state)
{
	struct enrolled a, b;
	struct td_mfa_result r;
	char code[16];

	(void)state;
	enrol_active(1002, &a);
	enrol_active(1003, &b);
	fake_now += 30;
	wrong_code(&a, code);
	td_mfa_check(F->d.st, F->d.master, 1002, code, false, &r);
	assert_int_equal(r.outcome, TD_MFA_WRONG);
	assert_int_equal(r.enrolment, a.id);
	assert_int_equal(r.failures, 1);
	/* uid 1003's current code is no code of uid 1002 */
	oathtool(b.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_WRONG);
	/* and still good for its owner */
	assert_int_equal(check(1003, code, false), TD_MFA_OK);
}

static void test_replay(void **state)
{
	struct enrolled en;
	char code[16], prev[16];

	(void)state;
	enrol_active(1002, &en);
	/* the confirming code is spent */
	oathtool(en.b32, "sha1", 6, T0, code);
	assert_int_equal(check(1002, code, false), TD_MFA_REPLAY);
	fake_now = T0 + 30;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
	/* the same code again, still inside its window */
	fake_now = T0 + 45;
	assert_int_equal(check(1002, code, false), TD_MFA_REPLAY);
	/* an older code inside the drift window: refused too */
	oathtool(en.b32, "sha1", 6, T0, prev);
	fake_now = T0 + 50;
	assert_int_equal(check(1002, prev, false), TD_MFA_REPLAY);
	/* stored: a restart does not forget it */
	td_store_close(F->d.st);
	open_store(F);
	assert_int_equal(check(1002, code, false), TD_MFA_REPLAY);
	fake_now = T0 + 60;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
}

static void test_drift(void **state)
{
	struct enrolled en;
	struct td_mfa_result r;
	char code[16];

	(void)state;
	enrol_active(1002, &en);
	/* one step behind and one ahead are accepted */
	fake_now = T0 + 300;
	oathtool(en.b32, "sha1", 6, fake_now - 30, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
	fake_now = T0 + 600;
	oathtool(en.b32, "sha1", 6, fake_now + 30, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
	/* two steps: named as a clock problem, with the offset */
	fake_now = T0 + 1200;
	oathtool(en.b32, "sha1", 6, fake_now + 60, code);
	td_mfa_check(F->d.st, F->d.master, 1002, code, false, &r);
	assert_int_equal(r.outcome, TD_MFA_DRIFT);
	assert_int_equal(r.offset, 60);
	oathtool(en.b32, "sha1", 6, fake_now - 300, code);
	td_mfa_check(F->d.st, F->d.master, 1002, code, false, &r);
	assert_int_equal(r.outcome, TD_MFA_DRIFT);
	assert_int_equal(r.offset, -300);
	/* an authenticator a day off: just wrong */
	oathtool(en.b32, "sha1", 6, fake_now + 86400, code);
	assert_int_equal(check(1002, code, false), TD_MFA_WRONG);
}

static void test_host_clock_far_off(void **state)
{
	struct enrolled en;
	struct td_mfa_result r;
	char code[16];

	(void)state;
	fake_now = T0 + 3600;
	enrol_active(1002, &en);
	/* the host clock went back an hour: refused, named, not counted */
	fake_now = T0;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	td_mfa_check(F->d.st, F->d.master, 1002, code, false, &r);
	assert_int_equal(r.outcome, TD_MFA_HOST_CLOCK);
	assert_int_equal(r.offset, 3600);
	assert_int_equal(r.failures, 0);
	/* back on time: works, the enrolment survived */
	fake_now = T0 + 3630;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
}

static void test_lockout(void **state)
{
	struct enrolled en;
	struct td_mfa_result r;
	char code[16], bad[16];
	int i;

	(void)state;
	enrol_active(1002, &en);
	fake_now = T0 + 30;
	wrong_code(&en, bad);
	for (i = 1; i < TD_MFA_MAX_FAILURES; i++) {
		td_mfa_check(F->d.st, F->d.master, 1002, bad, false, &r);
		assert_int_equal(r.outcome, TD_MFA_WRONG);
		assert_false(r.locked_now);
		assert_int_equal(r.failures, i);
	}
	td_mfa_check(F->d.st, F->d.master, 1002, bad, false, &r);
	assert_int_equal(r.outcome, TD_MFA_WRONG);
	assert_true(r.locked_now);
	assert_int_equal(r.locked_until, fake_now + TD_MFA_LOCKOUT);
	/* the right code does not pass while locked, even after a restart */
	td_store_close(F->d.st);
	open_store(F);
	fake_now = T0 + 60;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	td_mfa_check(F->d.st, F->d.master, 1002, code, false, &r);
	assert_int_equal(r.outcome, TD_MFA_LOCKED);
	/* another uid is not affected */
	/* after the lockout: works */
	fake_now = T0 + 30 + TD_MFA_LOCKOUT;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
	/* failures spread beyond the window never lock */
	for (i = 0; i < 2 * TD_MFA_MAX_FAILURES; i++) {
		fake_now += TD_MFA_FAILURE_WINDOW / (TD_MFA_MAX_FAILURES - 1);
		wrong_code(&en, bad);
		td_mfa_check(F->d.st, F->d.master, 1002, bad, false, &r);
		assert_false(r.locked_now);
	}
	/* reset clears a lockout and the enrolment */
	for (i = 0; i < TD_MFA_MAX_FAILURES && !r.locked_now; i++)
		td_mfa_check(F->d.st, F->d.master, 1002, bad, false, &r);
	assert_true(r.locked_now);
	{
		unsigned int removed = 0;

		assert_int_equal(td_mfa_reset(F->d.st, 1002, &removed), 0);
		assert_int_equal(removed, 1);
	}
	assert_int_equal(check(1002, bad, false), TD_MFA_NOT_ENROLLED);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "12345", "1234567", "123456789", "12a456", " 123456",
		"123456 ", "+12345", "１２３４５６",
	};
	struct enrolled en;
	struct td_mfa_result r;
	char code[16];
	size_t i;

	(void)state;
	enrol_active(1002, &en);
	fake_now += 30;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		td_mfa_check(F->d.st, F->d.master, 1002, bad[i], false, &r);
		assert_int_equal(r.outcome, TD_MFA_MALFORMED);
		assert_int_equal(r.failures, 0);
	}
	td_mfa_check(F->d.st, F->d.master, 1002, NULL, false, &r);
	assert_int_equal(r.outcome, TD_MFA_MALFORMED);
	/* 8 digits for a 6-digit enrolment */
	assert_int_equal(check(1002, "12345678", false), TD_MFA_MALFORMED);
	/* nothing was lost */
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
}

static void test_tampered_seed(void **state)
{
	struct enrolled en;
	struct td_mfa_result r;
	char code[16];

	(void)state;
	enrol_active(1002, &en);
	fake_now += 30;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	/* one bit of the wrapped seed */
	flip_wrapped_bit(en.id, 21);
	td_mfa_check(F->d.st, F->d.master, 1002, code, false, &r);
	assert_int_equal(r.outcome, TD_MFA_CORRUPT);
	assert_int_equal(r.enrolment, en.id);
	assert_int_equal(r.failures, 0);
	/* the row is kept (the operator resets it) */
	assert_int_equal(td_mfa_get(F->d.st, 1002, false, NULL), 0);
}

static void test_corrupted_rows(void **state)
{
	struct enrolled en;
	char code[16];

	(void)state;
	enrol_active(1002, &en);
	fake_now += 30;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	/* moved to another uid: the seed is bound to its owner */
	sql("UPDATE mfa_enrolments SET uid = 1005 WHERE id = %" PRId64, en.id);
	assert_int_equal(check(1005, code, false), TD_MFA_CORRUPT);
	sql("UPDATE mfa_enrolments SET uid = 1002 WHERE id = %" PRId64, en.id);
	/* fewer digits than enrolled: bound too */
	sql("UPDATE mfa_enrolments SET digits = 8 WHERE id = %" PRId64, en.id);
	assert_int_equal(check(1002, "12345678", false), TD_MFA_CORRUPT);
	sql("UPDATE mfa_enrolments SET digits = 7 WHERE id = %" PRId64, en.id);
	assert_int_equal(check(1002, code, false), TD_MFA_CORRUPT);
	sql("UPDATE mfa_enrolments SET digits = 6, algorithm = 'md5' WHERE id = %"
	    PRId64, en.id);
	assert_int_equal(check(1002, code, false), TD_MFA_CORRUPT);
	sql("UPDATE mfa_enrolments SET algorithm = 'sha1', scope = 'nowhere'"
	    " WHERE id = %" PRId64, en.id);
	assert_int_equal(check(1002, code, false), TD_MFA_CORRUPT);
	sql("UPDATE mfa_enrolments SET scope = 'host', wrapped = x'02' WHERE id = %"
	    PRId64, en.id);
	assert_int_equal(check(1002, code, false), TD_MFA_CORRUPT);
	/* listed, so the operator sees it and resets it */
	assert_int_equal(td_mfa_get(F->d.st, 1002, false, NULL), -EUCLEAN);
}

static void test_seed_never_in_clear(void **state)
{
	struct enrolled en;
	char *seed = NULL, *buf;
	size_t n = 0, len, i;
	FILE *f;

	(void)state;
	enrol_active(1002, &en);
	assert_int_equal(oath_base32_decode(en.b32, strlen(en.b32), &seed, &n),
			 OATH_OK);
	assert_int_equal(n, 20);
	td_store_close(F->d.st);
	f = fopen(F->db, "rb");
	assert_non_null(f);
	buf = malloc(1 << 20);
	len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	for (i = 0; i + 8 <= len; i++)
		assert_memory_not_equal(buf + i, seed, 8);
	assert_null(memmem(buf, len, en.b32, 16));
	free(buf);
	free(seed);
	open_store(F);
}

static void test_pending_expires(void **state)
{
	struct enrolled en, en2;
	char code[16];

	(void)state;
	enrol_active(1002, &en);
	/* a second enrolment waits; the first stays until it is confirmed */
	fake_now += 30;
	enrol(1002, TD_MFA_SHA1, 6, &en2);
	fake_now += TD_MFA_PENDING_TTL + 30;
	oathtool(en2.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, true), TD_MFA_NOT_ENROLLED);
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_OK);
	/* confirmed in time, the new one replaces the old */
	enrol(1002, TD_MFA_SHA1, 6, &en2);
	fake_now += 30;
	oathtool(en2.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, true), TD_MFA_OK);
	fake_now += 30;
	oathtool(en.b32, "sha1", 6, fake_now, code);
	assert_int_equal(check(1002, code, false), TD_MFA_WRONG);
}

/* --- handlers -------------------------------------------------------------- */

struct scan {
	const char *action, *needle, *never[2];
	int n, leaks;
};

static int scan_rec(const struct td_audit_rec *r, void *arg)
{
	struct scan *s = arg;
	int i;

	if (!strcmp(r->action, s->action) && strstr(r->detail, s->needle))
		s->n++;
	for (i = 0; i < 2; i++)
		if (s->never[i] && (strstr(r->detail, s->never[i]) ||
				    strstr(r->object, s->never[i])))
			s->leaks++;
	return 0;
}

/* Records with @action and @needle; fails if @never appears anywhere. */
static int audited(const char *action, const char *needle,
		   const char *never1, const char *never2)
{
	struct scan s = { action, needle, { never1, never2 }, 0, 0 };

	assert_int_equal(td_audit_foreach(F->d.st, 0, 0, scan_rec, &s), 0);
	assert_int_equal(s.leaks, 0);
	return s.n;
}

static void add_volume(void)
{
	assert_string_equal(req(0, "{\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"acme\"}}"), "ok");
	fx_add_volume("acme", "vol1");
}

static int64_t request(uid_t uid)
{
	assert_string_equal(req(uid,
		"{\"verb\":\"access.request\",\"args\":{\"tenant\":\"acme\","
		"\"volume\":\"vol1\",\"reason\":\"ticket 9\",\"duration\":60}}"),
		"ok");
	return atoll(res("id"));
}

/* mfa.enroll + mfa.confirm through the handlers, as uid @uid. */
static void enrol_via_verbs(uid_t uid, char *b32, size_t len)
{
	char code[16];

	assert_string_equal(req(uid, "{\"verb\":\"mfa.enroll\"}"), "ok");
	uri_secret(res("uri"), b32, len);
	assert_string_equal(req(uid, "{\"verb\":\"mfa.confirm\"}"),
			    "code-required");
	assert_string_equal(req(uid, "{\"verb\":\"mfa.confirm\",\"args\":{\"code\":\"123\"}}"),
			    "invalid-argument");
	oathtool(b32, "sha1", 6, fake_now, code);
	assert_string_equal(req(uid, "{\"verb\":\"mfa.confirm\",\"args\":{\"code\":\"%s\"}}",
				code), "ok");
}

static void test_verbs_flow(void **state)
{
	char admin[128], sup[128], code[16], used[16];
	int64_t g;

	(void)state;
	add_volume();
	g = request(1002);
	/* no enrolment: refused, the hint names the way out */
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 "}}", g),
			    "denied");
	assert_non_null(strstr(err_field("hint"), "tenantctl mfa enroll"));
	assert_string_equal(req(1003, "{\"verb\":\"access.deny\",\"args\":{\"id\":%" PRId64 "}}", g),
			    "denied");
	assert_non_null(strstr(err_field("hint"), "mfa enroll"));

	enrol_via_verbs(1003, admin, sizeof(admin));
	assert_string_equal(res("state"), "active");
	/* the tenant admin's seed is wrapped for its tenant */
	assert_string_equal(req(1003, "{\"verb\":\"mfa.list\"}"), "ok");
	assert_non_null(strstr(json_object_to_json_string(last), "tenant:acme"));
	/* enrolled, no code: asked for */
	fake_now += 30;
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 "}}", g),
			    "code-required");
	/* wrong, then malformed: refused, nothing moved */
	{
		struct enrolled e1;

		strcpy(e1.b32, admin);
		wrong_code(&e1, code);
	}
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 ",\"code\":\"%s\"}}", g, code),
			    "denied");
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 ",\"code\":\"12 345\"}}", g),
			    "invalid-argument");
	assert_string_equal(res("state"), "");
	/* the right code grants */
	oathtool(admin, "sha1", 6, fake_now, code);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 ",\"code\":\"%s\"}}", g, code),
			    "ok");
	assert_string_equal(res("state"), "approved");
	strcpy(used, code);
	/* the requester must enrol too, and a code is never taken twice */
	assert_string_equal(req(1002, "{\"verb\":\"access.open\",\"args\":{\"id\":%" PRId64 "}}", g),
			    "unsupported");	/* --no-dm comes first */
	F->d.no_dm = false;
	assert_string_equal(req(1002, "{\"verb\":\"access.open\",\"args\":{\"id\":%" PRId64 "}}", g),
			    "denied");
	assert_non_null(strstr(err_field("hint"), "mfa enroll"));
	enrol_via_verbs(1002, sup, sizeof(sup));
	F->d.no_dm = true;
	g = request(1002);
	fake_now += 10;
	assert_string_equal(req(1003, "{\"verb\":\"access.deny\",\"args\":{\"id\":%" PRId64 ",\"code\":\"%s\"}}", g, used),
			    "denied");
	assert_non_null(strstr(err_field("message"), "already used"));
	fake_now += 30;
	oathtool(admin, "sha1", 6, fake_now, code);
	assert_string_equal(req(1003, "{\"verb\":\"access.deny\",\"args\":{\"id\":%" PRId64 ",\"code\":\"%s\"}}", g, code),
			    "ok");
	/* the audit chain says which enrolment was checked, never the code
	 * or the seed */
	assert_int_equal(audited("mfa.verify", "second factor for access.approve: enrolment 1 (totp) checked", used, admin), 1);
	assert_int_equal(audited("mfa.verify", "second factor for access.deny: enrolment 1 (totp) checked", code, admin), 1);
	assert_int_equal(audited("mfa.verify", "second factor for access.approve: enrolment 1: malformed code", code, admin), 1);
	assert_int_equal(audited("mfa.verify", "wrong code", code, sup), 1);
	assert_int_equal(audited("mfa.verify", "code already used", code, sup), 1);

	/* replacing an enrolment takes a code of the current one */
	assert_string_equal(req(1003, "{\"verb\":\"mfa.enroll\"}"), "code-required");
	/* the operator resets, audited; it never sees a seed */
	assert_string_equal(req(1003, "{\"verb\":\"mfa.reset\",\"args\":{\"uid\":1003}}"), "denied");
	assert_string_equal(req(0, "{\"verb\":\"mfa.list\"}"), "ok");
	assert_null(strstr(json_object_to_json_string(last), "secret"));
	assert_null(strstr(json_object_to_json_string(last), admin));
	assert_string_equal(req(0, "{\"verb\":\"mfa.reset\",\"args\":{\"uid\":1003}}"), "ok");
	assert_string_equal(res("removed"), "1");
	assert_int_equal(audited("mfa.reset", "1 enrolment(s) of uid 1003 removed", admin, NULL), 1);
	g = request(1002);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 "}}", g),
			    "denied");
	assert_non_null(strstr(err_field("hint"), "mfa enroll"));
}

static void test_verbs_lockout_and_optional(void **state)
{
	char admin[128], code[16];
	struct enrolled e1;
	int64_t g;
	int i;

	(void)state;
	add_volume();
	g = request(1002);
	enrol_via_verbs(1003, admin, sizeof(admin));
	fake_now += 30;
	strcpy(e1.b32, admin);
	wrong_code(&e1, code);
	for (i = 0; i < TD_MFA_MAX_FAILURES; i++)
		req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 ",\"code\":\"%s\"}}", g, code);
	assert_int_equal(audited("mfa.lockout", "uid 1003 locked out until", admin, NULL), 1);
	oathtool(admin, "sha1", 6, fake_now, code);
	assert_string_equal(req(1003, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 ",\"code\":\"%s\"}}", g, code),
			    "denied");
	assert_non_null(strstr(err_field("message"), "locked out"));
	/* another approver is not locked out by it */
	enrol_via_verbs(1004, admin, sizeof(admin));
	fake_now += 30;
	oathtool(admin, "sha1", 6, fake_now, code);
	assert_string_equal(req(1004, "{\"verb\":\"access.approve\",\"args\":{\"id\":%" PRId64 ",\"code\":\"%s\"}}", g, code),
			    "ok");
	/* tenant.delete is listed in mfa-required: the operator too */
	assert_string_equal(req(0, "{\"verb\":\"tenant.delete\",\"args\":{\"tenant\":\"acme\",\"force\":true}}"),
			    "denied");
	assert_non_null(strstr(err_field("hint"), "mfa enroll"));
}

static void test_config(void **state)
{
	static const char *const bad[] = {
		"mfa-required access.request\n", "mfa-required\n",
		"mfa-required access.open,nothing\n", "mfa-required tenant.create\n",
		"mfa-required ,\n",
	};
	struct td_config cfg;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");

		assert_int_equal(td_config_parse(f, "t", &cfg, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "mfa-required"));
		fclose(f);
	}
	/* default: the three access verbs */
	memset(&cfg, 0, sizeof(cfg));
	assert_true(td_mfa_verb_required(&cfg, TD_V_ACCESS_APPROVE));
	assert_true(td_mfa_verb_required(&cfg, TD_V_ACCESS_DENY));
	assert_true(td_mfa_verb_required(&cfg, TD_V_ACCESS_OPEN));
	assert_false(td_mfa_verb_required(&cfg, TD_V_TENANT_DELETE));
	assert_false(td_mfa_verb_required(&cfg, TD_V_ACCESS_REQUEST));
	assert_true(td_mfa_verb_required(&F->d.cfg, TD_V_TENANT_DELETE));
	assert_false(td_mfa_verb_required(&F->d.cfg, TD_V_VOLUME_EXPORT));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enrol_confirm_right_code),
		T(test_sha256_eight_digits),
		T(test_wrong_code_and_other_enrolment),
		T(test_replay),
		T(test_drift),
		T(test_host_clock_far_off),
		T(test_lockout),
		T(test_malformed),
		T(test_tampered_seed),
		T(test_corrupted_rows),
		T(test_seed_never_in_clear),
		T(test_pending_expires),
		T(test_verbs_flow),
		T(test_verbs_lockout_and_optional),
		T(test_config),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	json_object_put(last);
	return r;
}
