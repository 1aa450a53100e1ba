// SPDX-License-Identifier: GPL-2.0
/*
 * libdmtenant attach / detach / status flows against a fake device-mapper
 * and a fake keyring (every libdevmapper and keyutils call the library
 * makes is -Wl,--wrap'ed, multipath-tools style: tests/unit/unit.mk adds
 * --wrap=foo for each __wrap_foo below).  The legs are real LUKS2 image
 * files.
 *
 * Checked: the order add_key -> create -> invalidate, the key is dropped
 * on failure too, the table and DM UUID that reach the kernel, the key
 * size/payload/keyring, read-only, detach's busy check and its order
 * suspend -> "key wipe" -> remove, refusal of foreign devices.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keyutils.h>
#include <libcryptsetup.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "dmt-internal.h"

/* ------------------------------------------------------------------ */
/* Fake device-mapper: one device at most, an operation log            */
/* ------------------------------------------------------------------ */

struct fake_task {
	int type;
	char name[128];
	char uuid[160];
	char ttype[32];
	char params[1024];
	char msg[256];
	uint64_t length;
	int ro, cookie, noflush, retry, deferred;
	int err;
	int next_called;
};

static struct {
	int exists;
	char name[128];
	char uuid[160];
	char params[1024];
	char status[1024];
	uint64_t length;
	int ro, suspended, open_count;
	int fail_errno[32];	/* per dm task type: make dm_task_run fail */
	char log[4096];
	/* keyring */
	key_serial_t next_serial;
	unsigned char payload[128];
	size_t plen;
	key_serial_t ring;
	int key_live;
} fk;

static void logop(const char *fmt, ...)
{
	size_t n = strlen(fk.log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fk.log + n, sizeof(fk.log) - n, fmt, ap);
	va_end(ap);
}

/*
 * Who is inside libdevmapper (a task alive) or libcryptsetup (a crypt
 * device alive), for the test that two threads never are at once.  The
 * gate makes the first thread that enters wait there (bounded) for
 * another thread to enter too.
 */
static atomic_int lib_inside, lib_max_inside;
static atomic_bool gate_armed, gate_waiting;
static _Thread_local bool gate_thread;

static void lib_enter(void)
{
	int n = atomic_fetch_add(&lib_inside, 1) + 1, m;

	m = atomic_load(&lib_max_inside);
	while (n > m && !atomic_compare_exchange_weak(&lib_max_inside, &m, n))
		;
	if (gate_thread && atomic_exchange(&gate_armed, false)) {
		atomic_store(&gate_waiting, true);
		/* Wait up to 2 s for the other thread to enter as well. */
		for (int i = 0; i < 2000 && atomic_load(&lib_inside) < 2; i++)
			usleep(1000);
	}
}

static void lib_leave(void)
{
	atomic_fetch_sub(&lib_inside, 1);
}

struct dm_task *__wrap_dm_task_create(int type);
struct dm_task *__wrap_dm_task_create(int type)
{
	struct fake_task *t = calloc(1, sizeof(*t));

	t->type = type;
	lib_enter();
	return (struct dm_task *)t;
}

void __wrap_dm_task_destroy(struct dm_task *dmt);
void __wrap_dm_task_destroy(struct dm_task *dmt)
{
	lib_leave();
	free(dmt);
}

int __real_crypt_init(struct crypt_device **cd, const char *device);
int __wrap_crypt_init(struct crypt_device **cd, const char *device);
int __wrap_crypt_init(struct crypt_device **cd, const char *device)
{
	int r = __real_crypt_init(cd, device);

	if (!r)
		lib_enter();
	return r;
}

void __real_crypt_free(struct crypt_device *cd);
void __wrap_crypt_free(struct crypt_device *cd);
void __wrap_crypt_free(struct crypt_device *cd)
{
	if (cd)
		lib_leave();
	__real_crypt_free(cd);
}

#define T(dmt) ((struct fake_task *)(dmt))

int __wrap_dm_task_set_name(struct dm_task *dmt, const char *name);
int __wrap_dm_task_set_name(struct dm_task *dmt, const char *name)
{
	snprintf(T(dmt)->name, sizeof(T(dmt)->name), "%s", name);
	return 1;
}

int __wrap_dm_task_set_uuid(struct dm_task *dmt, const char *uuid);
int __wrap_dm_task_set_uuid(struct dm_task *dmt, const char *uuid)
{
	snprintf(T(dmt)->uuid, sizeof(T(dmt)->uuid), "%s", uuid);
	return 1;
}

int __wrap_dm_task_set_ro(struct dm_task *dmt);
int __wrap_dm_task_set_ro(struct dm_task *dmt)
{
	T(dmt)->ro = 1;
	return 1;
}

int __wrap_dm_task_add_target(struct dm_task *dmt, uint64_t start,
			      uint64_t size, const char *ttype,
			      const char *params);
int __wrap_dm_task_add_target(struct dm_task *dmt, uint64_t start,
			      uint64_t size, const char *ttype,
			      const char *params)
{
	assert_int_equal(start, 0);
	T(dmt)->length = size;
	snprintf(T(dmt)->ttype, sizeof(T(dmt)->ttype), "%s", ttype);
	snprintf(T(dmt)->params, sizeof(T(dmt)->params), "%s", params);
	return 1;
}

int __wrap_dm_task_secure_data(struct dm_task *dmt);
int __wrap_dm_task_secure_data(struct dm_task *dmt)
{
	(void)dmt;
	return 1;
}

int __wrap_dm_task_set_cookie(struct dm_task *dmt, uint32_t *cookie,
			      uint16_t flags);
int __wrap_dm_task_set_cookie(struct dm_task *dmt, uint32_t *cookie,
			      uint16_t flags)
{
	(void)flags;
	T(dmt)->cookie = 1;
	*cookie = 0;	/* as without udev */
	return 1;
}

int __wrap_dm_udev_wait(uint32_t cookie);
int __wrap_dm_udev_wait(uint32_t cookie)
{
	assert_int_equal(cookie, 0);
	return 1;
}

int __wrap_dm_task_no_flush(struct dm_task *dmt);
int __wrap_dm_task_no_flush(struct dm_task *dmt)
{
	T(dmt)->noflush = 1;
	return 1;
}

int __wrap_dm_task_retry_remove(struct dm_task *dmt);
int __wrap_dm_task_retry_remove(struct dm_task *dmt)
{
	T(dmt)->retry = 1;
	return 1;
}

int __wrap_dm_task_deferred_remove(struct dm_task *dmt);
int __wrap_dm_task_deferred_remove(struct dm_task *dmt)
{
	T(dmt)->deferred = 1;
	return 1;
}

int __wrap_dm_task_set_sector(struct dm_task *dmt, uint64_t sector);
int __wrap_dm_task_set_sector(struct dm_task *dmt, uint64_t sector)
{
	(void)dmt;
	assert_int_equal(sector, 0);
	return 1;
}

int __wrap_dm_task_set_message(struct dm_task *dmt, const char *msg);
int __wrap_dm_task_set_message(struct dm_task *dmt, const char *msg)
{
	snprintf(T(dmt)->msg, sizeof(T(dmt)->msg), "%s", msg);
	return 1;
}

const char *__wrap_dm_task_get_message_response(struct dm_task *dmt);
const char *__wrap_dm_task_get_message_response(struct dm_task *dmt)
{
	(void)dmt;
	return "";
}

const char *__wrap_dm_dir(void);
const char *__wrap_dm_dir(void)
{
	return "/nonexistent-dm-dir";
}

int __wrap_dm_task_get_errno(struct dm_task *dmt);
int __wrap_dm_task_get_errno(struct dm_task *dmt)
{
	return T(dmt)->err;
}

int __wrap_dm_task_run(struct dm_task *dmt);
int __wrap_dm_task_run(struct dm_task *dmt)
{
	struct fake_task *t = T(dmt);
	int e = t->type >= 0 && t->type < 32 ? fk.fail_errno[t->type] : 0;

	if (t->type != DM_DEVICE_INFO && t->type != DM_DEVICE_LIST &&
	    t->type != DM_DEVICE_LIST_VERSIONS &&
	    (!fk.exists || strcmp(t->name, fk.name)) &&
	    t->type != DM_DEVICE_CREATE)
		e = ENXIO;
	switch (t->type) {
	case DM_DEVICE_CREATE:
		if (fk.exists)
			e = EEXIST;
		logop("create(%s,%s,ro=%d,cookie=%d,%s %llu %s) ", t->name,
		      t->uuid, t->ro, t->cookie, t->ttype,
		      (unsigned long long)t->length, t->params);
		if (!e) {
			fk.exists = 1;
			snprintf(fk.name, sizeof(fk.name), "%s", t->name);
			snprintf(fk.uuid, sizeof(fk.uuid), "%s", t->uuid);
			snprintf(fk.params, sizeof(fk.params), "%s", t->params);
			fk.length = t->length;
			fk.ro = t->ro;
		}
		break;
	case DM_DEVICE_SUSPEND:
		logop("suspend(%s) ", t->name);
		if (!e)
			fk.suspended = 1;
		break;
	case DM_DEVICE_RESUME:
		logop("resume(%s) ", t->name);
		if (!e)
			fk.suspended = 0;
		break;
	case DM_DEVICE_TARGET_MSG:
		logop("message(%s,%s) ", t->name, t->msg);
		break;
	case DM_DEVICE_REMOVE:
		logop("remove(%s,cookie=%d,retry=%d) ", t->name, t->cookie,
		      t->retry);
		if (!e && fk.open_count)
			e = EBUSY;
		if (!e)
			fk.exists = 0;
		break;
	case DM_DEVICE_INFO:
	case DM_DEVICE_STATUS:
	case DM_DEVICE_TABLE:
		break;
	default:
		logop("unexpected(%d) ", t->type);
	}
	t->err = e;
	return !e;
}

int __wrap_dm_task_get_info(struct dm_task *dmt, struct dm_info *info);
int __wrap_dm_task_get_info(struct dm_task *dmt, struct dm_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!fk.exists || strcmp(T(dmt)->name, fk.name))
		return 1;
	info->exists = 1;
	info->major = 253;
	info->minor = 5;
	info->open_count = fk.open_count;
	info->suspended = fk.suspended;
	info->read_only = fk.ro;
	info->live_table = 1;
	info->target_count = 1;
	return 1;
}

const char *__wrap_dm_task_get_uuid(const struct dm_task *dmt);
const char *__wrap_dm_task_get_uuid(const struct dm_task *dmt)
{
	(void)dmt;
	return fk.exists ? fk.uuid : "";
}

void *__wrap_dm_get_next_target(struct dm_task *dmt, void *next,
				uint64_t *start, uint64_t *length,
				char **target_type, char **params);
void *__wrap_dm_get_next_target(struct dm_task *dmt, void *next,
				uint64_t *start, uint64_t *length,
				char **target_type, char **params)
{
	(void)next;
	*start = 0;
	*length = fk.length;
	*target_type = (char *)"tenant";
	*params = T(dmt)->type == DM_DEVICE_STATUS ? fk.status : fk.params;
	return NULL;
}

key_serial_t __wrap_add_key(const char *type, const char *desc,
			    const void *payload, size_t plen,
			    key_serial_t ringid);
key_serial_t __wrap_add_key(const char *type, const char *desc,
			    const void *payload, size_t plen,
			    key_serial_t ringid)
{
	logop("add_key(%s,%s,%zu,%d) ", type, desc, plen, ringid);
	assert_true(plen <= sizeof(fk.payload));
	memcpy(fk.payload, payload, plen);
	fk.plen = plen;
	fk.ring = ringid;
	fk.key_live = 1;
	return ++fk.next_serial;
}

long __wrap_keyctl_invalidate(key_serial_t id);
long __wrap_keyctl_invalidate(key_serial_t id)
{
	logop("invalidate(%d) ", id);
	fk.key_live = 0;
	return 0;
}

long __wrap_keyctl_unlink(key_serial_t id, key_serial_t ring);
long __wrap_keyctl_unlink(key_serial_t id, key_serial_t ring)
{
	logop("unlink(%d,%d) ", id, ring);
	fk.key_live = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fixture: one real LUKS2 leg file                                    */
/* ------------------------------------------------------------------ */

struct fixture {
	char dir[48], leg[80];
	struct dmt_ctx *ctx;
	struct dmt_key *kek;
	struct dmt_leg legs[1];
	struct dmt_volume vol;
	char uuid[DMT_UUID_LEN + 1];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	strcpy(f->dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/dmt-dm-XXXXXX" :
						       "/tmp/dmt-dm-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->leg, sizeof(f->leg), "%s/leg0", f->dir);
	fd = open(f->leg, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, 10 << 20) < 0)
		return -1;
	close(fd);
	if (dmt_ctx_new(&f->ctx, DMT_CTX_NO_MODULE_LOAD) ||
	    dmt_key_generate(DMT_KEY_KEK, &f->kek))
		return -1;
	dmt_ctx_set_log_level(f->ctx, -1);
	f->legs[0].cls = DMT_LEG_LOCAL;
	f->legs[0].path = f->leg;
	f->vol.tenant = "acme";
	f->vol.volume = "vol1";
	f->vol.legs = f->legs;
	f->vol.nr_legs = 1;
	if (dmt_volume_create(f->ctx, &f->vol, f->kek, f->uuid, sizeof(f->uuid)))
		return -1;
	f->vol.uuid = f->uuid;
	memset(&fk, 0, sizeof(fk));
	fk.next_serial = 41;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->leg);
	rmdir(f->dir);
	dmt_key_free(f->kek);
	dmt_ctx_free(f->ctx);
	free(f);
	return 0;
}

static void test_attach_order_and_table(void **state)
{
	struct fixture *f = *state;
	struct dmt_key *dek;
	unsigned char raw[DMT_DEK_SIZE];
	char path[DMT_DEV_PATH_MAX], want[2048];

	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, f->kek, NULL, 0,
					   path, sizeof(path)), 0);
	assert_string_equal(path, "/dev/dm-5");
	/* length: the 10 MiB leg minus the 8 MiB header area = 4096 sectors */
	snprintf(want, sizeof(want),
		 "add_key(logon,dm-tenant:acme:vol1,64,%d) "
		 "create(acme-vol1,TENANT-%s,ro=0,cookie=1,tenant 4096 "
		 "acme vol1 aes-xts-plain64 :64:logon:dm-tenant:acme:vol1 0 1 local %s 16384 1 metadata:8192) "
		 "invalidate(42) ",
		 KEY_SPEC_THREAD_KEYRING, f->uuid, f->leg);
	assert_string_equal(fk.log, want);
	assert_int_equal(fk.key_live, 0);
	/* the payload was the volume key of the leg */
	assert_int_equal(dmt_leg_open_dek(f->ctx, f->leg, f->uuid, f->kek, &dek), 0);
	assert_int_equal(dmt_key_export(dek, raw, sizeof(raw)), DMT_DEK_SIZE);
	assert_int_equal(fk.plen, DMT_DEK_SIZE);
	assert_memory_equal(fk.payload, raw, DMT_DEK_SIZE);
	explicit_bzero(raw, sizeof(raw));
	dmt_key_free(dek);
	/* key bytes are not in the table */
	assert_null(memmem(fk.params, strlen(fk.params), fk.payload, 8));

	/* a second attach under the same name: EEXIST, key dropped again */
	fk.log[0] = '\0';
	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, f->kek, NULL, 0,
					   path, sizeof(path)), -EEXIST);
	assert_non_null(strstr(fk.log, "invalidate(43)"));
	assert_int_equal(fk.key_live, 0);
}

static void test_attach_failures_drop_key(void **state)
{
	struct fixture *f = *state;
	struct dmt_key *other;
	struct dmt_volume v;
	char path[DMT_DEV_PATH_MAX];

	/* the kernel refuses the table (e.g. extent claimed): EBUSY */
	fk.fail_errno[DM_DEVICE_CREATE] = EBUSY;
	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, f->kek, "x", 0,
					   path, sizeof(path)), -EBUSY);
	assert_non_null(strstr(fk.log, "add_key("));
	assert_non_null(strstr(fk.log, "invalidate(42)"));
	assert_int_equal(fk.key_live, 0);
	assert_int_equal(fk.exists, 0);

	/* a KEK that opens nothing: no key added, no device */
	fk.log[0] = '\0';
	fk.fail_errno[DM_DEVICE_CREATE] = 0;
	assert_int_equal(dmt_key_generate(DMT_KEY_KEK, &other), 0);
	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, other, "x", 0,
					   path, sizeof(path)), -EPERM);
	dmt_key_free(other);
	assert_string_equal(fk.log, "");

	/* the leg is not what the caller says: wrong class, tenant, uuid */
	v = f->vol;
	f->legs[0].cls = DMT_LEG_ZONE;
	assert_int_equal(dmt_volume_attach(f->ctx, &v, f->kek, "x", 0, path,
					   sizeof(path)), -EMEDIUMTYPE);
	f->legs[0].cls = DMT_LEG_LOCAL;
	v.tenant = "other";
	assert_int_equal(dmt_volume_attach(f->ctx, &v, f->kek, "x", 0, path,
					   sizeof(path)), -EMEDIUMTYPE);
	v = f->vol;
	v.uuid = "00000000-0000-4000-8000-000000000000";
	assert_int_equal(dmt_volume_attach(f->ctx, &v, f->kek, "x", 0, path,
					   sizeof(path)), -EMEDIUMTYPE);
	v = f->vol;
	v.uuid = NULL;
	assert_int_equal(dmt_volume_attach(f->ctx, &v, f->kek, "x", 0, path,
					   sizeof(path)), -EINVAL);
	assert_string_equal(fk.log, "");
}

static void test_attach_read_only_named(void **state)
{
	struct fixture *f = *state;
	char path[DMT_DEV_PATH_MAX];

	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, f->kek, "vm7-disk0",
					   DMT_ATTACH_READ_ONLY, path,
					   sizeof(path)), 0);
	assert_non_null(strstr(fk.log, "create(vm7-disk0,TENANT-"));
	assert_non_null(strstr(fk.log, ",ro=1,"));
	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, f->kek, "a/b", 0,
					   path, sizeof(path)), -EINVAL);
}

static void test_detach(void **state)
{
	struct fixture *f = *state;
	char path[DMT_DEV_PATH_MAX];

	assert_int_equal(dmt_volume_detach(f->ctx, "acme-vol1", 0), -ENODEV);
	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, f->kek, NULL, 0,
					   path, sizeof(path)), 0);

	/* open: refused, untouched */
	fk.log[0] = '\0';
	fk.open_count = 1;
	assert_int_equal(dmt_volume_detach(f->ctx, "acme-vol1", 0), -EBUSY);
	assert_string_equal(fk.log, "");
	assert_int_equal(fk.suspended, 0);

	fk.open_count = 0;
	assert_int_equal(dmt_volume_detach(f->ctx, "acme-vol1", 0), 0);
	assert_string_equal(fk.log, "suspend(acme-vol1) message(acme-vol1,key wipe) "
			    "remove(acme-vol1,cookie=1,retry=1) ");
	assert_int_equal(fk.exists, 0);

	/* a device that is not ours */
	fk.exists = 1;
	strcpy(fk.name, "crypt1");
	strcpy(fk.uuid, "CRYPT-LUKS2-0123-crypt1");
	fk.log[0] = '\0';
	assert_int_equal(dmt_volume_detach(f->ctx, "crypt1", 0), -EMEDIUMTYPE);
	assert_string_equal(fk.log, "");
}

static void test_status_list_message(void **state)
{
	struct fixture *f = *state;
	struct dmt_status *st;
	struct dmt_dev_info info;
	char path[DMT_DEV_PATH_MAX], buf[256];

	assert_int_equal(dmt_volume_attach(f->ctx, &f->vol, f->kek, NULL, 0,
					   path, sizeof(path)), 0);
	strcpy(fk.status, "acme vol1 loaded 1 local 253:0 A 5 6 0 0 0 0");
	assert_int_equal(dmt_dev_status(f->ctx, "acme-vol1", &st), 0);
	assert_int_equal(dmt_status_counter(st, DMT_COUNTER_WRITES), 6);
	dmt_status_free(st);
	assert_int_equal(dmt_dev_table(f->ctx, "acme-vol1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, fk.params);
	assert_int_equal(dmt_dev_table(f->ctx, "acme-vol1", buf, 8), -ERANGE);
	assert_int_equal(dmt_dev_info(f->ctx, "acme-vol1", &info), 0);
	assert_string_equal(info.volume_uuid, f->uuid);
	assert_int_equal(info.minor, 5);

	/* hex keys never leave the library */
	fk.log[0] = '\0';
	assert_int_equal(dmt_dev_message(f->ctx, "acme-vol1",
		"key set 00112233445566778899aabbccddeeff00112233", NULL, 0), -EINVAL);
	assert_string_equal(fk.log, "");
	assert_int_equal(dmt_dev_message(f->ctx, "acme-vol1",
		"key set :64:logon:dm-tenant:acme:vol1", NULL, 0), 0);
	assert_string_equal(fk.log,
		"message(acme-vol1,key set :64:logon:dm-tenant:acme:vol1) ");
	strcpy(fk.status, "garbage");
	assert_int_equal(dmt_dev_status(f->ctx, "acme-vol1", &st), -EINVAL);
	assert_null(st);
}

/*
 * libdevmapper is not thread-safe and libcryptsetup keeps an unlocked
 * global use count: the library lets one thread at a time use them, across
 * contexts (tenantd's export worker attaches while the poll loop serves).
 */
struct peer {
	struct fixture *f;
	bool use_dm;
	int r;
};

static void *peer_thread(void *arg)
{
	struct peer *p = arg;
	struct dmt_ctx *ctx = NULL;
	struct dmt_dev_info di;
	struct dmt_leg_info li;

	/* Enter only once the other thread waits inside a library. */
	for (int i = 0; i < 5000 && !atomic_load(&gate_waiting); i++)
		usleep(1000);
	p->r = dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD);
	if (!p->r) {
		dmt_ctx_set_log_level(ctx, -1);
		p->r = p->use_dm ? dmt_dev_info(ctx, "acme-vol1", &di) :
			dmt_leg_read_info(ctx, p->f->leg, &li);
	}
	dmt_ctx_free(ctx);
	return NULL;
}

static void one_at_a_time(struct fixture *f, bool first_dm)
{
	struct peer p = { .f = f, .use_dm = !first_dm };
	struct dmt_dev_info di;
	struct dmt_leg_info li;
	pthread_t th;

	atomic_store(&lib_inside, 0);
	atomic_store(&lib_max_inside, 0);
	atomic_store(&gate_waiting, false);
	atomic_store(&gate_armed, true);
	gate_thread = true;
	assert_int_equal(pthread_create(&th, NULL, peer_thread, &p), 0);
	if (first_dm)
		assert_int_equal(dmt_dev_info(f->ctx, "acme-vol1", &di), -ENODEV);
	else
		assert_int_equal(dmt_leg_read_info(f->ctx, f->leg, &li), 0);
	gate_thread = false;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(atomic_load(&gate_waiting));
	assert_int_equal(p.r, first_dm ? 0 : -ENODEV);
	assert_int_equal(atomic_load(&lib_inside), 0);
	assert_int_equal(atomic_load(&lib_max_inside), 1);
}

static void test_libraries_one_thread_at_a_time(void **state)
{
	struct fixture *f = *state;

	one_at_a_time(f, true);		/* dm task alive, cryptsetup waits */
	one_at_a_time(f, false);	/* crypt device alive, dm waits */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_order_and_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_failures_drop_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_read_only_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_list_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libraries_one_thread_at_a_time, setup, teardown),
	};

	return cmocka_run_group_tests_name("lib_dm", tests, NULL, NULL);
}
