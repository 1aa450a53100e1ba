// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd's request handlers end to end, without device-mapper: requests go
 * through td_handle_line() against a real SQLite store and the real key
 * code; the libdmtenant calls that touch devices are replaced with fakes
 * (-Wl,--wrap, from the __wrap_ functions: tests/unit/unit.mk).  Checks
 * what the handlers promise: authorisation before anything changes, an
 * audit record for every request, and a state change that lands with its
 * audit record or not at all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include <dmtenant.h>

#include "../../userspace/daemon/ops.h"
#include "td_fixture.h"

#define OPERATOR	0
#define HYPERVISOR	1001
#define SUPPORT		1002
#define ADMIN		1003

static const char conf[] =
	"operator uid=0\n"
	"hypervisor uid=1001 vms=vm1\n"
	"hypervisor uid=1004 vms=vm2\n"
	"support uid=1002\n"
	"tenant-admin uid=1003 tenant=acme\n";

/* --- fakes ----------------------------------------------------------- */

static struct {
	int attach_rc, detach_rc, erase_rc, message_rc;
	unsigned int attach_calls, detach_calls, erase_calls;
	char attached_name[128];
	char message[64];
} fake;

int __wrap_dmt_dev_message(struct dmt_ctx *ctx, const char *name,
			   const char *msg, char *reply, size_t reply_size);
int __wrap_dmt_dev_message(struct dmt_ctx *ctx, const char *name,
			   const char *msg, char *reply, size_t reply_size)
{
	(void)ctx; (void)name; (void)reply; (void)reply_size;
	snprintf(fake.message, sizeof(fake.message), "%s", msg);
	return fake.message_rc;
}

int __wrap_dmt_volume_attach(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			     const struct dmt_key *kek, const char *name,
			     uint32_t flags, char *path, size_t path_size);
int __wrap_dmt_volume_attach(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			     const struct dmt_key *kek, const char *name,
			     uint32_t flags, char *path, size_t path_size)
{
	(void)ctx; (void)flags;
	assert_non_null(kek);
	assert_string_equal(vol->tenant, "acme");
	fake.attach_calls++;
	if (fake.attach_rc)
		return fake.attach_rc;
	snprintf(fake.attached_name, sizeof(fake.attached_name), "%s", name);
	snprintf(path, path_size, "/dev/mapper/%s", name);
	return 0;
}

int __wrap_dmt_volume_detach(struct dmt_ctx *ctx, const char *name,
			     uint32_t flags);
int __wrap_dmt_volume_detach(struct dmt_ctx *ctx, const char *name,
			     uint32_t flags)
{
	(void)ctx; (void)flags;
	fake.detach_calls++;
	assert_string_equal(name, fake.attached_name);
	return fake.detach_rc;
}

/* volume.delete crypto-shreds every leg (ops-wipe.c). */
int __wrap_dmt_leg_shred(struct dmt_ctx *ctx, const char *path,
			 uint64_t *shredded);
int __wrap_dmt_leg_shred(struct dmt_ctx *ctx, const char *path,
			 uint64_t *shredded)
{
	(void)ctx; (void)path;
	fake.erase_calls++;
	*shredded = 8 << 20;
	return fake.erase_rc;
}

int __wrap_dmt_wipe_supported(struct dmt_ctx *ctx, const char *path,
			      enum dmt_wipe_method m);
int __wrap_dmt_wipe_supported(struct dmt_ctx *ctx, const char *path,
			      enum dmt_wipe_method m)
{
	(void)ctx; (void)path; (void)m;
	return 0;
}

/* Wipe workers: counted, never started (no thread outlives a test). */
static unsigned int fake_threads;
int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	(void)th; (void)attr; (void)fn; (void)arg;
	fake_threads++;
	return EAGAIN;
}

int __wrap_dmt_volume_erase(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			    uint32_t flags);
int __wrap_dmt_volume_erase(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			    uint32_t flags)
{
	(void)ctx; (void)vol; (void)flags;
	fake.erase_calls++;
	return fake.erase_rc;
}

/* One live tenant device when fake_live_uuid is set (a restart finds it). */
static const char *fake_live_name, *fake_live_uuid;

int __wrap_dmt_dev_info(struct dmt_ctx *ctx, const char *name,
			struct dmt_dev_info *info);
int __wrap_dmt_dev_info(struct dmt_ctx *ctx, const char *name,
			struct dmt_dev_info *info)
{
	(void)ctx;
	if (!fake_live_uuid || strcmp(name, fake_live_name))
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", name);
	snprintf(info->volume_uuid, sizeof(info->volume_uuid), "%s",
		 fake_live_uuid);
	info->major = 253;
	info->minor = 7;
	info->open_count = 1;
	return 0;
}

int __wrap_dmt_dev_list(struct dmt_ctx *ctx, dmt_dev_list_fn fn, void *arg);
int __wrap_dmt_dev_list(struct dmt_ctx *ctx, dmt_dev_list_fn fn, void *arg)
{
	struct dmt_dev_info info;

	if (!fake_live_uuid)
		return 0;
	assert_int_equal(__wrap_dmt_dev_info(ctx, fake_live_name, &info), 0);
	return fn(&info, arg);
}

/* Legs on fake devices: which volume UUID each one carries. */
static struct {
	const char *path, *uuid;
} fake_legs[4];
static char fake_erased[4][64];
static unsigned int fake_nerased;
static const char *fake_erase_fails;

int __wrap_dmt_leg_read_info(struct dmt_ctx *ctx, const char *path,
			     struct dmt_leg_info *info);
int __wrap_dmt_leg_read_info(struct dmt_ctx *ctx, const char *path,
			     struct dmt_leg_info *info)
{
	unsigned int i;

	(void)ctx;
	for (i = 0; i < 4 && fake_legs[i].path; i++) {
		if (strcmp(fake_legs[i].path, path))
			continue;
		memset(info, 0, sizeof(*info));
		snprintf(info->uuid, sizeof(info->uuid), "%s",
			 fake_legs[i].uuid);
		return 0;
	}
	return -EMEDIUMTYPE;
}

int __wrap_dmt_leg_erase(struct dmt_ctx *ctx, const char *path,
			 uint32_t flags);
int __wrap_dmt_leg_erase(struct dmt_ctx *ctx, const char *path,
			 uint32_t flags)
{
	(void)ctx; (void)flags;
	if (fake_erase_fails && !strcmp(path, fake_erase_fails))
		return -EIO;
	assert_true(fake_nerased < 4);
	snprintf(fake_erased[fake_nerased++], sizeof(fake_erased[0]), "%s",
		 path);
	return 0;
}

/* "/dev/fake-<c>" are block devices (minor = c) to the handlers. */
int __real_stat(const char *path, struct stat *sb);
int __wrap_stat(const char *path, struct stat *sb);
int __wrap_stat(const char *path, struct stat *sb)
{
	if (strncmp(path, "/dev/fake-", 10))
		return __real_stat(path, sb);
	memset(sb, 0, sizeof(*sb));
	sb->st_mode = S_IFBLK | 0600;
	sb->st_rdev = makedev(250, (unsigned char)path[10]);
	return 0;
}

static struct {
	int rc;
	unsigned int calls;
	char uuid[64];
	unsigned int intents_during;	/* create intents seen while formatting */
} fake_create;
static struct td_store *fake_store;

static int count_intent(const struct td_intent *in, void *arg);

int __wrap_dmt_volume_create(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			     const struct dmt_key *kek, char *uuid,
			     size_t uuid_size);
int __wrap_dmt_volume_create(struct dmt_ctx *ctx, const struct dmt_volume *vol,
			     const struct dmt_key *kek, char *uuid,
			     size_t uuid_size)
{
	(void)ctx;
	assert_non_null(kek);
	fake_create.calls++;
	/* tenantd names the UUID (it recorded it in the intent first). */
	assert_non_null(vol->uuid);
	assert_int_equal(strlen(vol->uuid), 36);
	snprintf(fake_create.uuid, sizeof(fake_create.uuid), "%s", vol->uuid);
	fake_create.intents_during = 0;
	assert_int_equal(td_intent_foreach(fake_store, count_intent,
					   &fake_create.intents_during), 0);
	if (fake_create.rc)
		return fake_create.rc;
	/* As the library does: clear the output, then copy vol->uuid (so a
	 * caller passing one buffer as both gets an empty UUID). */
	memset(uuid, 0, uuid_size);
	memmove(uuid, vol->uuid, strnlen(vol->uuid, uuid_size - 1));
	return 0;
}

/*
 * A request the parser accepts with a verb the dispatch has no handler
 * for, as a protocol table newer than the handlers would give.
 */
static bool parse_unserved;
enum td_err __real_td_parse_request(const char *buf, size_t len,
				    struct td_request *r, char *msg,
				    size_t msglen);
enum td_err __wrap_td_parse_request(const char *buf, size_t len,
				    struct td_request *r, char *msg,
				    size_t msglen);
enum td_err __wrap_td_parse_request(const char *buf, size_t len,
				    struct td_request *r, char *msg,
				    size_t msglen)
{
	enum td_err e = __real_td_parse_request(buf, len, r, msg, msglen);

	if (!e && parse_unserved)
		r->verb = TD_V__COUNT;
	return e;
}

const char *__wrap_dmt_ctx_last_error(struct dmt_ctx *ctx);
const char *__wrap_dmt_ctx_last_error(struct dmt_ctx *ctx)
{
	(void)ctx;
	return "";
}

/* --- fixture --------------------------------------------------------- */


/* udev owner files stay in the test's directory, not in /run */
static char owner_dir[128];

static int setup(void **state)
{
	struct td_fixture *fx;

	memset(&fake, 0, sizeof(fake));
	memset(fake_legs, 0, sizeof(fake_legs));
	fake_nerased = 0;
	fake_erase_fails = NULL;
	fake_threads = 0;
	parse_unserved = false;
	fake_live_name = fake_live_uuid = NULL;
	memset(&fake_create, 0, sizeof(fake_create));
	fx = td_fixture_open(conf, "ops");
	assert_non_null(fx);
	fx->d.no_dm = false;	/* the faked kernel */
	fx->d.dev_dir = fx->dir;
	snprintf(owner_dir, sizeof(owner_dir), "%s/owner", fx->dir);
	fx->d.owner_dir = owner_dir;
	fake_store = fx->d.st;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	return td_fixture_free(*state);
}

/*
 * Send one request as @uid; returns the error code name, or "ok".  The
 * reply's "result" (or NULL) is copied to @result when asked for.
 */
static const char *req(struct td_fixture *fx, uid_t uid, const char *line,
		       json_object **result)
{
	static char code[32];
	struct td_caller c = { .uid = uid, .pid = 4242 };
	json_object *reply = td_handle_line(&fx->d, &c, line, strlen(line));
	json_object *ok, *err, *o;

	assert_non_null(reply);
	assert_true(json_object_object_get_ex(reply, "ok", &ok));
	if (json_object_get_boolean(ok)) {
		strcpy(code, "ok");
		if (result && json_object_object_get_ex(reply, "result", &o))
			*result = json_object_get(o);
	} else {
		assert_true(json_object_object_get_ex(reply, "error", &err));
		assert_true(json_object_object_get_ex(err, "code", &o));
		snprintf(code, sizeof(code), "%s", json_object_get_string(o));
		/* Every error says what went wrong. */
		assert_true(json_object_object_get_ex(err, "message", &o));
		assert_true(strlen(json_object_get_string(o)) > 0);
	}
	json_object_put(reply);
	return code;
}

struct last_rec {
	int64_t n;
	struct td_audit_rec r;
};

static int keep_last(const struct td_audit_rec *r, void *arg)
{
	struct last_rec *l = arg;

	l->n++;
	l->r = *r;
	return 0;
}

static struct last_rec audit_tail(struct td_fixture *fx)
{
	struct last_rec l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(td_audit_foreach(fx->d.st, 0, 0, keep_last, &l), 0);
	return l;
}

static void sql(struct td_fixture *fx, const char *stmt)
{
	assert_int_equal(sqlite3_exec(td_store_db(fx->d.st), stmt, NULL, NULL,
				      NULL), SQLITE_OK);
}

/* Make every audit insert fail, as a full disk would. */
static void break_audit(struct td_fixture *fx)
{
	sql(fx, "CREATE TRIGGER no_audit BEFORE INSERT ON audit"
		" BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END;");
}

static void mend_audit(struct td_fixture *fx)
{
	sql(fx, "DROP TRIGGER no_audit;");
}

#define TENANT_CREATE(t) \
	"{\"v\":1,\"id\":\"r1\",\"verb\":\"tenant.create\"," \
	"\"args\":{\"tenant\":\"" t "\"}}"
#define VOL_REQ(verb, extra) \
	"{\"v\":1,\"id\":\"r2\",\"verb\":\"" verb "\"," \
	"\"args\":{\"tenant\":\"acme\",\"volume\":\"db\"" extra "}}"

/* A tenant through the handler, a volume straight into the store (its
 * creation formats block devices: the VM tests cover it). */
static void make_volume(struct td_fixture *fx)
{
	struct td_volume v;

	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), NULL),
			    "ok");
	td_fixture_volume(&v, "acme", "db", "/dev/fake-leg0");
	strcpy(v.uuid, "6f1c0d52-1111-4a8e-9a3b-0123456789ab");
	strcpy(v.vm, "vm1");
	assert_int_equal(td_volume_insert(fx->d.st, &v), 0);
}

static bool is_attached(struct td_fixture *fx)
{
	struct td_volume v;

	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), 0);
	return v.attached;
}

/* --- tests ------------------------------------------------------------ */

static void test_tenant_create_audited(void **state)
{
	struct td_fixture *fx = *state;
	struct td_tenant t;
	struct last_rec l;
	json_object *res = NULL, *o;

	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), &res),
			    "ok");
	assert_true(json_object_object_get_ex(res, "kek_generation", &o));
	assert_int_equal(json_object_get_int(o), 1);
	json_object_put(res);
	assert_int_equal(td_tenant_get(fx->d.st, "acme", &t), 0);
	l = audit_tail(fx);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.r.action, "tenant.create");
	assert_string_equal(l.r.object, "acme");
	assert_string_equal(l.r.result, "ok");
	assert_string_equal(l.r.role, "operator");
	assert_int_equal(l.r.pid, 4242);
	/* The head file follows the committed transaction. */
	{
		int64_t seq;
		char hash[TD_HASH_HEX];

		assert_int_equal(td_audit_head_file(fx->d.st, &seq, hash), 0);
		assert_int_equal(seq, 1);
		assert_string_equal(hash, l.r.hash);
	}
	/* Twice: a conflict, audited too. */
	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), NULL),
			    "conflict");
	l = audit_tail(fx);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.r.result, "conflict");
}

static void test_denied_changes_nothing(void **state)
{
	struct td_fixture *fx = *state;
	struct td_tenant t;
	struct last_rec l;

	assert_string_equal(req(fx, SUPPORT, TENANT_CREATE("evil"), NULL),
			    "denied");
	assert_string_equal(req(fx, ADMIN, TENANT_CREATE("evil"), NULL),
			    "denied");
	assert_int_equal(td_tenant_get(fx->d.st, "evil", &t), -ENOENT);
	l = audit_tail(fx);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.r.result, "denied");
	assert_int_equal(l.r.uid, ADMIN);
}

static void test_audit_failure_undoes_the_change(void **state)
{
	struct td_fixture *fx = *state;
	struct td_tenant t;
	int64_t seq;
	char hash[TD_HASH_HEX];

	break_audit(fx);
	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("globex"), NULL),
			    "internal");
	mend_audit(fx);
	/* No tenant without its audit record. */
	assert_int_equal(td_tenant_get(fx->d.st, "globex", &t), -ENOENT);
	assert_int_equal(audit_tail(fx).n, 0);
	assert_int_equal(td_audit_head(fx->d.st, &seq, hash), 0);
	assert_int_equal(seq, 0);
	/* And the daemon goes on: the same request now lands. */
	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("globex"), NULL),
			    "ok");
	assert_int_equal(td_tenant_get(fx->d.st, "globex", &t), 0);
	assert_int_equal(audit_tail(fx).n, 1);
}

static void test_attach_detach_recorded(void **state)
{
	struct td_fixture *fx = *state;
	json_object *res = NULL, *o;

	make_volume(fx);
	assert_string_equal(req(fx, HYPERVISOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), &res), "ok");
	assert_true(json_object_object_get_ex(res, "device", &o));
	assert_string_equal(json_object_get_string(o),
			    "/dev/mapper/tenant+acme+db");
	json_object_put(res);
	assert_true(is_attached(fx));
	assert_string_equal(audit_tail(fx).r.action, "volume.attach");
	/* The hypervisor of another VM may not detach it. */
	assert_string_equal(req(fx, 1004, VOL_REQ("volume.detach", ""), NULL),
			    "denied");
	assert_int_equal(fake.detach_calls, 0);
	assert_string_equal(req(fx, HYPERVISOR, VOL_REQ("volume.detach", ""),
				NULL), "ok");
	assert_int_equal(fake.detach_calls, 1);
	assert_false(is_attached(fx));
}

/*
 * A diverged leg (the kernel answers EPERM) is a conflict with a hint;
 * "force" sends "leg N recover force", and only leg.recover takes it.
 */
static void test_leg_recover_force(void **state)
{
	struct td_fixture *fx = *state;

	make_volume(fx);
	assert_string_equal(req(fx, HYPERVISOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "ok");
	fake.message_rc = -EPERM;
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("leg.recover",
				",\"leg\":0"), NULL), "conflict");
	assert_string_equal(fake.message, "leg 0 recover");
	assert_string_equal(audit_tail(fx).r.result, "conflict");
	fake.message_rc = 0;
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("leg.recover",
				",\"leg\":0,\"force\":true"), NULL), "ok");
	assert_string_equal(fake.message, "leg 0 recover force");
	assert_string_equal(audit_tail(fx).r.action, "leg.recover");
	fake.message[0] = 0;
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("leg.fail",
				",\"leg\":0,\"force\":true"), NULL),
			    "invalid-argument");
	assert_string_equal(fake.message, "");
}

static void test_attach_failure_records_nothing(void **state)
{
	struct td_fixture *fx = *state;

	make_volume(fx);
	fake.attach_rc = -EBUSY;
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "conflict");
	assert_false(is_attached(fx));
	assert_string_equal(audit_tail(fx).r.result, "conflict");
	/* Support staff never get a mapping by default. */
	fake.attach_rc = 0;
	assert_string_equal(req(fx, SUPPORT, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "denied");
	assert_int_equal(fake.attach_calls, 1);
}

/*
 * A mapping the store does not record must not survive: when the
 * attachment row or the audit commit fails after the device was made,
 * the device is removed again and the caller gets an error.
 */
static void test_attach_unrecorded_is_undone(void **state)
{
	struct td_fixture *fx = *state;

	make_volume(fx);
	sql(fx, "CREATE TRIGGER no_attach BEFORE INSERT ON attachments"
		" BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END;");
	assert_string_equal(req(fx, HYPERVISOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "internal");
	assert_int_equal(fake.attach_calls, 1);
	assert_int_equal(fake.detach_calls, 1);
	assert_false(is_attached(fx));
	assert_string_equal(audit_tail(fx).r.result, "internal");
	sql(fx, "DROP TRIGGER no_attach;");

	/* The row lands but its audit record cannot: rolled back, undone. */
	break_audit(fx);
	assert_string_equal(req(fx, HYPERVISOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "internal");
	mend_audit(fx);
	assert_int_equal(fake.attach_calls, 2);
	assert_int_equal(fake.detach_calls, 2);
	assert_false(is_attached(fx));

	/* And the next attach works. */
	assert_string_equal(req(fx, HYPERVISOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "ok");
	assert_int_equal(fake.detach_calls, 2);
	assert_true(is_attached(fx));
}

/* A verb without a handler is refused and audited, never called. */
static void test_unserved_verb_refused(void **state)
{
	struct td_fixture *fx = *state;
	struct td_tenant t;
	struct last_rec l;
	enum td_verb v;

	parse_unserved = true;
	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), NULL),
			    "unsupported");
	parse_unserved = false;
	assert_int_equal(td_tenant_get(fx->d.st, "acme", &t), -ENOENT);
	l = audit_tail(fx);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.r.result, "unsupported");
	assert_string_equal(l.r.action, "tenant.create");
	/* The tables indexed by verb agree: a name, a role, a handler. */
	for (v = 0; v < TD_V__COUNT; v++) {
		const struct td_verb_info *vi = td_verb_info(v);

		assert_non_null(vi);
		assert_ptr_equal(td_verb_by_name(vi->name), vi);
		assert_true(td_verb_served(v));
		assert_true(strlen(td_verb_roles_hint(v)) > 0);
	}
	assert_false(td_verb_served(TD_V__COUNT));
}

static int count_rows(void *arg, int n, char **val, char **col)
{
	(void)n; (void)col;
	*(int *)arg = atoi(val[0]);
	return 0;
}

static int wipe_rows(struct td_fixture *fx, const char *where)
{
	char q[256];
	int n = -1;

	snprintf(q, sizeof(q), "SELECT count(*) FROM wipes WHERE %s", where);
	assert_int_equal(sqlite3_exec(td_store_db(fx->d.st), q, count_rows,
				      &n, NULL), SQLITE_OK);
	return n;
}

static int audit_with(struct td_fixture *fx, const char *action, const char *text)
{
	char q[256];
	int n = -1;

	snprintf(q, sizeof(q), "SELECT count(*) FROM audit WHERE action = '%s'"
		 " AND instr(detail, '%s') > 0", action, text);
	assert_int_equal(sqlite3_exec(td_store_db(fx->d.st), q, count_rows,
				      &n, NULL), SQLITE_OK);
	return n;
}

#define WIPE_ROW(id, state, age, cert) \
	"INSERT INTO wipes (id, tenant, volume, uuid, method, passes, verify," \
	" legs, shred, uid, role, reason, state, started, finished, cert)" \
	" VALUES (" id ", 'acme', 'v" id "', 'u" id "', 'zero', 1, 'full'," \
	" '[]', '[]', 0, 'operator', 'r', '" state "'," \
	" strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-" age " days')," \
	" strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-" age " days'), " cert ");"
#define CERT(sha) "'{\"audit\":{\"seq\":7,\"certificate_sha256\":\"" sha "\"}}'"

/*
 * Finished wipe jobs older than the retention are pruned; their
 * certificates stay bound in the audit chain (one record per pruned job
 * naming the certificate's hash); running jobs are never pruned.
 */
static void test_wipe_rows_pruned(void **state)
{
	struct td_fixture *fx = *state;
	static const char conf30[] = "operator uid=0\nwipe-retention-days 30\n";
	char err[256];
	FILE *f;

	sql(fx, WIPE_ROW("1", "done", "400", CERT("aa11")));
	sql(fx, WIPE_ROW("2", "done", "40", CERT("bb22")));
	sql(fx, WIPE_ROW("3", "failed", "40", "NULL"));
	sql(fx, WIPE_ROW("4", "done", "10", CERT("cc33")));
	sql(fx, WIPE_ROW("5", "running", "500", "NULL"));

	/* The default retention (365 days): only job 1 goes. */
	td_wipe_tick(&fx->d);
	assert_int_equal(wipe_rows(fx, "1"), 4);
	assert_int_equal(wipe_rows(fx, "id = 1"), 0);
	assert_int_equal(audit_with(fx, "wipe.prune", "aa11"), 1);

	/* 30 days, after a reload */
	td_config_free(&fx->d.cfg);
	f = fmemopen((void *)conf30, sizeof(conf30) - 1, "r");
	assert_non_null(f);
	assert_int_equal(td_config_parse(f, "t.conf", &fx->d.cfg, err,
					 sizeof(err)), 0);
	fclose(f);
	td_wipe_tick(&fx->d);
	assert_int_equal(wipe_rows(fx, "1"), 2);
	assert_int_equal(wipe_rows(fx, "id IN (4, 5)"), 2);
	assert_int_equal(audit_with(fx, "wipe.prune", "bb22"), 1);
	assert_int_equal(audit_with(fx, "wipe.prune", "job 3"), 1);
	assert_int_equal(audit_with(fx, "wipe.prune", ""), 3);
	/* Nothing more to prune: no further records. */
	td_wipe_tick(&fx->d);
	assert_int_equal(audit_with(fx, "wipe.prune", ""), 3);
	/* A bad value is refused with what is allowed. */
	{
		static const char bad[] = "wipe-retention-days soon\n";
		struct td_config c;

		f = fmemopen((void *)bad, sizeof(bad) - 1, "r");
		assert_non_null(f);
		assert_int_not_equal(td_config_parse(f, "t.conf", &c, err,
						     sizeof(err)), 0);
		fclose(f);
		assert_non_null(strstr(err, "0..36500"));
	}
}

static void read_owner_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/*
 * A volume found live at a start gets its owner file (udev's source for
 * the node's owner) again, whether its attachment was recorded (kept) or
 * not (adopted): else the next change event makes the node root's and
 * cuts the hypervisor off from its running VM's disk.
 */
static void test_restart_republishes_owner(void **state)
{
	struct td_fixture *fx = *state;
	char path[256], buf[256];

	make_volume(fx);
	assert_string_equal(req(fx, HYPERVISOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "ok");
	snprintf(path, sizeof(path), "%s/tenant+acme+db", fx->d.owner_dir);
	read_owner_file(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "DMT_OWNER=1001\n"));
	fake_live_name = "tenant+acme+db";
	fake_live_uuid = "6f1c0d52-1111-4a8e-9a3b-0123456789ab";

	/* Adopted: tenantd stopped before it recorded the attachment, and
	 * the owner files went with /run (a service manager cleaned it). */
	assert_int_equal(unlink(path), 0);
	sql(fx, "UPDATE attachments SET detached = 'x', detach_reason = 'test'"
		" WHERE detached IS NULL;");
	assert_false(is_attached(fx));
	td_reconcile(&fx->d);
	assert_true(is_attached(fx));
	read_owner_file(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "DMT_OWNER=1001\n"));
	assert_non_null(strstr(buf, "DMT_VM=vm1\n"));

	/* Kept: recorded and live, its owner file gone. */
	assert_int_equal(unlink(path), 0);
	td_reconcile(&fx->d);
	read_owner_file(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "DMT_OWNER=1001\n"));
	unlink(path);
}

static void test_delete_attached_refused(void **state)
{
	struct td_fixture *fx = *state;
	struct td_volume v;

	make_volume(fx);
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("volume.attach",
				",\"vm\":\"vm1\""), NULL), "ok");
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("volume.delete", ""),
				NULL), "conflict");
	assert_int_equal(fake.erase_calls, 0);
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), 0);
}

static int count_row(void *arg, int n, char **v, char **c)
{
	(void)n; (void)v; (void)c;
	(*(int *)arg)++;
	return 0;
}

static int wipe_jobs(struct td_fixture *fx)
{
	int n = 0;

	assert_int_equal(sqlite3_exec(td_store_db(fx->d.st),
				      "SELECT id FROM wipes", count_row, &n,
				      NULL), SQLITE_OK);
	return n;
}

static void test_delete_undone_without_audit(void **state)
{
	struct td_fixture *fx = *state;
	struct td_volume v;

	make_volume(fx);
	break_audit(fx);
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("volume.delete", ""),
				NULL), "internal");
	mend_audit(fx);
	/* The legs are shredded (irreversible), but the volume row, the wipe
	 * job and its worker wait for a delete that is recorded. */
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), 0);
	assert_int_equal(wipe_jobs(fx), 0);
	assert_int_equal(fake_threads, 0);
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("volume.delete", ""),
				NULL), "ok");
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), -ENOENT);
	assert_int_equal(fake.erase_calls, 2);
	assert_int_equal(wipe_jobs(fx), 1);
	assert_int_equal(fake_threads, 1);	/* started after the commit */
}

static void test_erase_failure_keeps_the_volume(void **state)
{
	struct td_fixture *fx = *state;
	struct td_volume v;

	make_volume(fx);
	fake.erase_rc = -EIO;
	assert_string_equal(req(fx, OPERATOR, VOL_REQ("volume.delete", ""),
				NULL), "internal");
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), 0);
	assert_string_equal(audit_tail(fx).r.result, "internal");
}

static void test_bad_requests_audited(void **state)
{
	struct td_fixture *fx = *state;
	struct last_rec l;

	assert_string_equal(req(fx, OPERATOR, "not json", NULL),
			    "bad-request");
	assert_string_equal(req(fx, OPERATOR,
				"{\"v\":1,\"id\":\"x\",\"verb\":\"volume.explode\",\"args\":{}}",
				NULL), "unknown-verb");
	assert_string_equal(req(fx, OPERATOR,
				"{\"v\":1,\"id\":\"x\",\"verb\":\"tenant.create\",\"args\":{\"tenant\":\"../etc\"}}",
				NULL), "invalid-argument");
	l = audit_tail(fx);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.r.result, "invalid-argument");
}

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"

static int count_intent(const struct td_intent *in, void *arg)
{
	(void)in;
	(*(unsigned int *)arg)++;
	return 0;
}

static unsigned int intents(struct td_fixture *fx)
{
	unsigned int n = 0;

	assert_int_equal(td_intent_foreach(fx->d.st, count_intent, &n), 0);
	return n;
}

static void add_intent(struct td_fixture *fx, const char *uuid, const char *vol,
		       const char *dev0, const char *dev1)
{
	struct td_intent in;

	memset(&in, 0, sizeof(in));
	strcpy(in.uuid, uuid);
	strcpy(in.tenant, "acme");
	strcpy(in.volume, vol);
	strcpy(in.devices[0], dev0);
	strcpy(in.devices[1], dev1);
	in.ndev = 2;
	assert_int_equal(td_intent_add(fx->d.st, &in), 0);
}

/* A create tenantd never finished: only legs carrying its UUID go. */
static void test_interrupted_create_erased(void **state)
{
	struct td_fixture *fx = *state;
	struct last_rec l;

	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), NULL),
			    "ok");
	add_intent(fx, U1, "lost", "/dev/fa", "/dev/fb");
	fake_legs[0].path = "/dev/fa";
	fake_legs[0].uuid = U1;		/* formatted, then tenantd died */
	fake_legs[1].path = "/dev/fb";
	fake_legs[1].uuid = U2;		/* since reused by another volume */
	assert_int_equal(intents(fx), 1);
	td_cleanup_intents(&fx->d);
	assert_int_equal(fake_nerased, 1);
	assert_string_equal(fake_erased[0], "/dev/fa");
	assert_int_equal(intents(fx), 0);
	l = audit_tail(fx);
	assert_string_equal(l.r.action, "daemon.create-cleanup");
	assert_string_equal(l.r.object, "acme/lost");
	assert_string_equal(l.r.result, "ok");
	assert_non_null(strstr(l.r.detail, "1 leg(s) erased"));
}

static void test_recorded_create_untouched(void **state)
{
	struct td_fixture *fx = *state;
	struct td_volume v;

	make_volume(fx);
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), 0);
	add_intent(fx, v.uuid, "db", "/dev/fake-leg0", "/dev/fb");
	fake_legs[0].path = "/dev/fake-leg0";
	fake_legs[0].uuid = v.uuid;
	td_cleanup_intents(&fx->d);
	assert_int_equal(fake_nerased, 0);
	assert_int_equal(intents(fx), 0);
}

static void test_cleanup_failure_kept_for_retry(void **state)
{
	struct td_fixture *fx = *state;

	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), NULL),
			    "ok");
	add_intent(fx, U1, "lost", "/dev/fa", "/dev/fb");
	fake_legs[0].path = "/dev/fa";
	fake_legs[0].uuid = U1;
	fake_erase_fails = "/dev/fa";
	td_cleanup_intents(&fx->d);
	assert_int_equal(intents(fx), 1);
	assert_string_equal(audit_tail(fx).r.result, "internal");
	fake_erase_fails = NULL;
	td_cleanup_intents(&fx->d);
	assert_int_equal(intents(fx), 0);
	assert_int_equal(fake_nerased, 1);
}

#define VOL_CREATE(v, legs) \
	"{\"v\":1,\"id\":\"r3\",\"verb\":\"volume.create\"," \
	"\"args\":{\"tenant\":\"acme\",\"volume\":\"" v "\"," \
	"\"legs\":[" legs "]}}"
#define LEG(c, d) "{\"class\":\"" c "\",\"device\":\"" d "\"}"

static void test_volume_create(void **state)
{
	struct td_fixture *fx = *state;
	struct td_volume v;
	json_object *res = NULL, *o;

	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), NULL),
			    "ok");
	assert_string_equal(req(fx, OPERATOR, VOL_CREATE("db",
				LEG("local", "/dev/fake-a") ","
				LEG("zone", "/dev/fake-b")), &res), "ok");
	assert_int_equal(fake_create.calls, 1);
	assert_int_equal(fake_create.intents_during, 1);
	assert_int_equal(intents(fx), 0);
	assert_true(json_object_object_get_ex(res, "uuid", &o));
	assert_string_equal(json_object_get_string(o), fake_create.uuid);
	json_object_put(res);
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), 0);
	assert_string_equal(v.uuid, fake_create.uuid);
	assert_int_equal(v.nlegs, 2);
	assert_string_equal(v.legs[1].cls, "zone");
	assert_string_equal(audit_tail(fx).r.action, "volume.create");

	/* A leg already in use, the same device twice: refused untouched. */
	assert_string_equal(req(fx, OPERATOR, VOL_CREATE("db2",
				LEG("local", "/dev/fake-a")), NULL),
			    "conflict");
	assert_string_equal(req(fx, OPERATOR, VOL_CREATE("db3",
				LEG("local", "/dev/fake-c") ","
				LEG("local", "/dev/fake-c")), NULL),
			    "invalid-argument");
	assert_int_equal(fake_create.calls, 1);
}

static void test_volume_create_failures(void **state)
{
	struct td_fixture *fx = *state;
	struct td_volume v;

	assert_string_equal(req(fx, OPERATOR, TENANT_CREATE("acme"), NULL),
			    "ok");
	/* Formatting fails: nothing recorded, no intent left. */
	fake_create.rc = -EIO;
	assert_string_equal(req(fx, OPERATOR, VOL_CREATE("db",
				LEG("local", "/dev/fake-a")), NULL),
			    "internal");
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), -ENOENT);
	assert_int_equal(intents(fx), 0);
	/* The audit record fails: the volume row goes, the intent stays for
	 * the next start to erase the formatted legs. */
	fake_create.rc = 0;
	break_audit(fx);
	assert_string_equal(req(fx, OPERATOR, VOL_CREATE("db",
				LEG("local", "/dev/fake-a")), NULL),
			    "internal");
	mend_audit(fx);
	assert_int_equal(td_volume_get(fx->d.st, "acme", "db", &v), -ENOENT);
	assert_int_equal(intents(fx), 1);
	fake_legs[0].path = "/dev/fake-a";
	fake_legs[0].uuid = fake_create.uuid;
	td_cleanup_intents(&fx->d);
	assert_int_equal(fake_nerased, 1);
	assert_int_equal(intents(fx), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_tenant_create_audited),
		T(test_leg_recover_force),
		T(test_denied_changes_nothing),
		T(test_audit_failure_undoes_the_change),
		T(test_attach_detach_recorded),
		T(test_attach_failure_records_nothing),
		T(test_attach_unrecorded_is_undone),
		T(test_unserved_verb_refused),
		T(test_wipe_rows_pruned),
		T(test_restart_republishes_owner),
		T(test_delete_attached_refused),
		T(test_delete_undone_without_audit),
		T(test_erase_failure_keeps_the_volume),
		T(test_bad_requests_audited),
		T(test_volume_create),
		T(test_volume_create_failures),
		T(test_interrupted_create_erased),
		T(test_recorded_create_untouched),
		T(test_cleanup_failure_kept_for_retry),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
