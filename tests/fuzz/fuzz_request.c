// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for tenantd's request handling: td_handle_line()
 * (userspace/daemon/ops.c) with the real protocol parser, authorisation,
 * handlers, SQLite store, audit chain and key code.  Any local user can
 * send these lines.  Each input starts from the same fresh store (a copy
 * of a database made once), so a crash reproduces from its input alone.
 *
 * Input: up to MAX_LINES request lines.  A line may start with a caller
 * letter (o operator, h / H the hypervisors of vm1 / vm2, s support, a / g
 * the tenant-admins of acme / globex, n a uid with no role; default
 * operator).  A first
 * line "!letters" makes device calls fail with -EIO: a attach, d detach,
 * c create, e erase / shred / wipe, m message, r reload / rewrap, i info.
 *
 * The device calls of libdmtenant are faked (-Wl,--wrap, tests/fuzz/fuzz.mk)
 * and keep a set of "mapped" names.  While a request runs, the file system
 * is the scratch directory only: /dev/fake-<c> are block devices, any
 * other path is absent, and changes outside the scratch directory
 * (owner files, chown of device nodes) are accepted and dropped.
 *
 * Checked: every reply is {"ok":true,"result":{...}} or {"ok":false,
 * "error":{"code":<known>,"message":<non-empty>}}; every request appends
 * exactly one audit record; the chain verifies at the end.
 * FUZZ_REQUEST_TRACE=1 prints each request and its reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dmtenant.h>

#include "../../userspace/daemon/log.h"
#include "../../userspace/daemon/ops.h"

#include "fuzz_common.h"

#define MAX_LINES 8
#define MAX_MAPPED 8

/* Two tenants' admins, so that one can try the other's objects. */
static const char conf[] =
	"operator uid=0\n"
	"tenant-admin uid=1003 tenant=acme\n"
	"tenant-admin uid=1005 tenant=globex\n"
	"support uid=1002\n"
	"hypervisor uid=1001 vms=vm1\n"
	"hypervisor uid=1004 vms=vm2\n";

static struct td_daemon d;
static char scratch[64], db[96];
static char *template_db;
static size_t template_len;
static bool inside;		/* a request is running */
static char fails[16];		/* letters of the failing fakes */
static char mapped[MAX_MAPPED][DMT_DM_NAME_MAX];

static int fail(char what)
{
	return strchr(fails, what) ? -EIO : 0;
}

static int mapped_find(const char *name)
{
	int i;

	for (i = 0; i < MAX_MAPPED; i++)
		if (mapped[i][0] && !strcmp(mapped[i], name))
			return i;
	return -1;
}

/* --- device calls ------------------------------------------------------ */

#define WRAP(ret, fn, ...)			\
	ret __wrap_##fn(__VA_ARGS__);		\
	ret __wrap_##fn(__VA_ARGS__)

WRAP(int, dmt_volume_attach, struct dmt_ctx *ctx, const struct dmt_volume *vol,
     const struct dmt_key *kek, const char *name, uint32_t flags, char *path,
     size_t path_size)
{
	int i;

	(void)ctx; (void)flags;
	CHECK(vol && kek && name);
	CHECK(vol->nr_legs >= 1 && vol->nr_legs <= DMT_MAX_LEGS);
	if (fail('a'))
		return -EIO;
	if (mapped_find(name) >= 0)
		return -EEXIST;
	for (i = 0; i < MAX_MAPPED && mapped[i][0]; i++)
		;
	if (i == MAX_MAPPED)
		return -ENOSPC;
	snprintf(mapped[i], sizeof(mapped[i]), "%s", name);
	snprintf(path, path_size, "/dev/mapper/%s", name);
	return 0;
}

WRAP(int, dmt_volume_detach, struct dmt_ctx *ctx, const char *name,
     uint32_t flags)
{
	int i = mapped_find(name);

	(void)ctx; (void)flags;
	if (fail('d'))
		return -EIO;
	if (i < 0)
		return -ENODEV;
	mapped[i][0] = '\0';
	return 0;
}

WRAP(int, dmt_dev_info, struct dmt_ctx *ctx, const char *name,
     struct dmt_dev_info *info)
{
	int i = mapped_find(name);

	(void)ctx;
	if (fail('i'))
		return -EIO;
	if (i < 0)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", name);
	info->major = 253;
	info->minor = (uint32_t)i;
	info->target_count = 1;
	info->live_table = true;
	return 0;
}

/* A tenant device "tenant+T+V": one local leg, alive. */
WRAP(int, dmt_dev_status, struct dmt_ctx *ctx, const char *name,
     struct dmt_status **st)
{
	char line[256], t[64] = "t", v[64] = "v";

	(void)ctx;
	if (mapped_find(name) < 0)
		return -ENODEV;
	sscanf(name, "tenant+%63[^+]+%63s", t, v);
	snprintf(line, sizeof(line), "%s %s loaded 1 local 8:16 A 1 2 0 0 0 0",
		 t, v);
	return dmt_status_parse(line, st);
}

WRAP(int, dmt_dev_message, struct dmt_ctx *ctx, const char *name,
     const char *msg, char *reply, size_t reply_size)
{
	(void)ctx; (void)msg;
	if (reply && reply_size)
		reply[0] = '\0';
	if (fail('m'))
		return -EIO;
	return mapped_find(name) < 0 ? -ENODEV : 0;
}

WRAP(int, dmt_dev_list, struct dmt_ctx *ctx, dmt_dev_list_fn fn, void *arg)
{
	(void)ctx; (void)fn; (void)arg;
	return 0;
}

WRAP(int, dmt_dev_suspend, struct dmt_ctx *ctx, const char *name,
     uint32_t flags)
{
	(void)ctx; (void)flags;
	return mapped_find(name) < 0 ? -ENODEV : 0;
}

WRAP(int, dmt_dev_resume, struct dmt_ctx *ctx, const char *name)
{
	(void)ctx;
	return mapped_find(name) < 0 ? -ENODEV : 0;
}

WRAP(int, dmt_volume_create, struct dmt_ctx *ctx, const struct dmt_volume *vol,
     const struct dmt_key *kek, char *uuid, size_t uuid_size)
{
	(void)ctx;
	CHECK(vol && kek && vol->uuid && strlen(vol->uuid) == 36);
	CHECK(vol->nr_legs >= 1 && vol->nr_legs <= DMT_MAX_LEGS);
	if (fail('c'))
		return -EIO;
	memset(uuid, 0, uuid_size);
	memmove(uuid, vol->uuid, strnlen(vol->uuid, uuid_size - 1));
	return 0;
}

WRAP(int, dmt_volume_reload, struct dmt_ctx *ctx, const struct dmt_volume *vol,
     const struct dmt_key *kek, const char *name)
{
	(void)ctx; (void)vol; (void)kek;
	if (fail('r'))
		return -EIO;
	return mapped_find(name) < 0 ? -ENODEV : 0;
}

WRAP(int, dmt_volume_rewrap, struct dmt_ctx *ctx, const struct dmt_volume *vol,
     const struct dmt_key *old_kek, const struct dmt_key *new_kek)
{
	(void)ctx; (void)vol;
	CHECK(old_kek && new_kek);
	return fail('r');
}

WRAP(int, dmt_volume_erase, struct dmt_ctx *ctx, const struct dmt_volume *vol,
     uint32_t flags)
{
	(void)ctx; (void)vol; (void)flags;
	return fail('e');
}

WRAP(int, dmt_leg_read_info, struct dmt_ctx *ctx, const char *path,
     struct dmt_leg_info *info)
{
	(void)ctx; (void)path; (void)info;
	return -EMEDIUMTYPE;
}

WRAP(int, dmt_leg_erase, struct dmt_ctx *ctx, const char *path,
     uint32_t flags)
{
	(void)ctx; (void)path; (void)flags;
	return fail('e');
}

WRAP(int, dmt_leg_shred, struct dmt_ctx *ctx, const char *path,
     uint64_t *shredded)
{
	(void)ctx; (void)path;
	*shredded = 8 << 20;
	return fail('e');
}

WRAP(int, dmt_leg_wipe, struct dmt_ctx *ctx, const char *path,
     enum dmt_wipe_method m, uint64_t start, uint32_t rate_mib,
     dmt_wipe_progress_fn fn, void *arg)
{
	(void)ctx; (void)path; (void)m; (void)start; (void)rate_mib;
	(void)fn; (void)arg;
	return fail('e');
}

WRAP(int, dmt_leg_verify, struct dmt_ctx *ctx, const char *path,
     enum dmt_wipe_method m, bool full, struct dmt_wipe_verify *res)
{
	(void)ctx; (void)path; (void)m; (void)full;
	memset(res, 0, sizeof(*res));
	res->ok = true;
	res->nonzero_at = res->luks_at = res->token_at = -1;
	return fail('e');
}

WRAP(int, dmt_wipe_supported, struct dmt_ctx *ctx, const char *path,
     enum dmt_wipe_method m)
{
	(void)ctx; (void)path; (void)m;
	return 0;
}

WRAP(int, dmt_keyring_count, struct dmt_ctx *ctx, const char *tenant,
     const char *volume)
{
	(void)ctx; (void)tenant; (void)volume;
	return 0;
}

/* Wipe and export workers: never started (no thread outlives an input). */
WRAP(int, pthread_create, pthread_t *th, const pthread_attr_t *attr,
     void *(*fn)(void *), void *arg)
{
	(void)th; (void)attr; (void)fn; (void)arg;
	return EAGAIN;
}

/* --- the file system while a request runs -------------------------------- */

int __real_stat(const char *path, struct stat *sb);
int __real_open(const char *path, int flags, ...);
FILE *__real_fopen(const char *path, const char *mode);
int __real_mkdir(const char *path, mode_t mode);
int __real_rename(const char *from, const char *to);
int __real_unlink(const char *path);
int __real_chown(const char *path, uid_t uid, gid_t gid);
int __real_chmod(const char *path, mode_t mode);
int __real_fchmod(int fd, mode_t mode);

static bool in_scratch(const char *path)
{
	size_t n = strlen(scratch);

	return !strncmp(path, scratch, n) && path[n] == '/' &&
	       !strstr(path, "/..");
}

WRAP(int, stat, const char *path, struct stat *sb)
{
	if (!inside || in_scratch(path))
		return __real_stat(path, sb);
	if (!strncmp(path, "/dev/fake-", 10) && path[10] && !path[11]) {
		memset(sb, 0, sizeof(*sb));
		sb->st_mode = S_IFBLK | 0600;
		sb->st_rdev = makedev(250, (unsigned char)path[10]);
		return 0;
	}
	errno = ENOENT;
	return -1;
}

WRAP(int, open, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (!inside || in_scratch(path))
		return __real_open(path, flags, mode);
	errno = ENOENT;
	return -1;
}

WRAP(FILE *, fopen, const char *path, const char *mode)
{
	if (!inside || in_scratch(path))
		return __real_fopen(path, mode);
	if (strpbrk(mode, "wa"))
		return __real_fopen("/dev/null", mode);
	errno = ENOENT;
	return NULL;
}

WRAP(int, mkdir, const char *path, mode_t mode)
{
	if (!inside || in_scratch(path))
		return __real_mkdir(path, mode);
	return 0;
}

WRAP(int, rename, const char *from, const char *to)
{
	if (!inside || (in_scratch(from) && in_scratch(to)))
		return __real_rename(from, to);
	return 0;
}

WRAP(int, unlink, const char *path)
{
	if (!inside || in_scratch(path))
		return __real_unlink(path);
	return 0;
}

WRAP(int, chown, const char *path, uid_t uid, gid_t gid)
{
	if (!inside)
		return __real_chown(path, uid, gid);
	return 0;
}

WRAP(int, chmod, const char *path, mode_t mode)
{
	if (!inside)
		return __real_chmod(path, mode);
	return 0;
}

WRAP(int, fchmod, int fd, mode_t mode)
{
	if (!inside)
		return __real_fchmod(fd, mode);
	return 0;
}

/* --- the harness ------------------------------------------------------------ */

static void write_file(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	CHECK(close(fd) == 0);
}


static void remove_scratch(void)
{
	static const char *const files[] = { "", "-wal", "-shm",
					     ".audit-head", ".audit-head.tmp" };
	char p[128];
	unsigned int i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, files[i]);
		unlink(p);
	}
	rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	struct td_store *st;
	FILE *f;
	long n;

	(void)argc; (void)argv;
	td_log_level = -1;	/* quiet: a log line per request */
	/* tmpfs: the store syncs every commit */
	snprintf(scratch, sizeof(scratch), "%s/fuzz_request.XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	CHECK(mkdtemp(scratch));
	atexit(remove_scratch);
	snprintf(db, sizeof(db), "%s/tenantd.db", scratch);
	f = fmemopen((void *)conf, sizeof(conf) - 1, "r");
	CHECK(f);
	CHECK(td_config_parse(f, "fuzz.conf", &d.cfg, err, sizeof(err)) == 0);
	fclose(f);
	CHECK(dmt_key_generate(DMT_KEY_MASTER, &d.master) == 0);
	CHECK(dmt_ctx_new(&d.dmt, DMT_CTX_NO_MODULE_LOAD) == 0);
	d.dev_dir = scratch;

	/* The schema, made once: each input starts from a copy. */
	CHECK(td_store_open(db, &st, err, sizeof(err)) == 0);
	td_store_close(st);
	f = fopen(db, "re");
	CHECK(f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0);
	rewind(f);
	template_len = (size_t)n;
	template_db = malloc(template_len);
	CHECK(template_db && fread(template_db, 1, template_len, f) ==
	      template_len);
	fclose(f);
	return 0;
}

static void check_reply(json_object *reply)
{
	json_object *ok, *x, *code, *msg;

	CHECK(json_object_is_type(reply, json_type_object));
	CHECK(json_object_object_get_ex(reply, "ok", &ok) &&
	      json_object_is_type(ok, json_type_boolean));
	if (json_object_get_boolean(ok)) {
		CHECK(json_object_object_get_ex(reply, "result", &x));
		return;
	}
	CHECK(json_object_object_get_ex(reply, "error", &x) &&
	      json_object_object_get_ex(x, "code", &code) &&
	      json_object_object_get_ex(x, "message", &msg));
	CHECK(json_object_is_type(code, json_type_string) &&
	      td_err_from_name(json_object_get_string(code)) != TD_OK);
	CHECK(json_object_is_type(msg, json_type_string) &&
	      json_object_get_string_len(msg) > 0);
}

static int count_rec(const struct td_audit_rec *r, void *arg)
{
	struct td_audit_verifier *v = arg;

	return td_audit_verify_step(v, r);
}

static uid_t caller_of(char c)
{
	switch (c) {
	case 'o': return 0;
	case 'h': return 1001;
	case 'H': return 1004;
	case 's': return 1002;
	case 'a': return 1003;
	case 'g': return 1005;
	case 'n': return 65534;
	default: return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], hash[TD_HASH_HEX], *buf = fuzz_cstr(data, size), *line;
	struct td_audit_verifier v;
	int64_t seq = 0, after = 0;
	size_t len = size;
	int lines;

	remove_scratch();	/* then the template again */
	CHECK(mkdir(scratch, 0700) == 0);
	write_file(db, template_db, template_len);
	memset(mapped, 0, sizeof(mapped));
	fails[0] = '\0';
	CHECK(td_store_open(db, &d.st, err, sizeof(err)) == 0);
	line = buf;
	if (line[0] == '!') {
		char *nl = memchr(line, '\n', len);
		size_t n = nl ? (size_t)(nl - line) : len;

		snprintf(fails, sizeof(fails), "%.*s", (int)n, line + 1);
		len -= nl ? n + 1 : n;
		line += nl ? n + 1 : n;
	}
	for (lines = 0; lines < MAX_LINES && len; lines++) {
		char *nl = memchr(line, '\n', len);
		size_t n = nl ? (size_t)(nl - line) : len;
		struct td_caller c = { .pid = 4242, .fd = -1 };
		json_object *reply;

		CHECK(td_audit_head(d.st, &seq, hash) == 0);
		inside = true;
		if (n && strchr("ohHsagn", line[0])) {
			c.uid = caller_of(line[0]);
			reply = td_handle_line(&d, &c, line + 1, n - 1);
		} else {
			reply = td_handle_line(&d, &c, line, n);
		}
		inside = false;
		check_reply(reply);
		if (getenv("FUZZ_REQUEST_TRACE"))	/* seeds: see the replies */
			fprintf(stderr, "%.*s\n  -> %s\n", (int)n, line,
				json_object_to_json_string(reply));
		json_object_put(reply);
		/* One audit record per request, whatever the outcome. */
		CHECK(td_audit_head(d.st, &after, hash) == 0);
		CHECK(after == seq + 1);
		len -= nl ? n + 1 : n;
		line += nl ? n + 1 : n;
	}
	td_audit_verify_init(&v);
	CHECK(td_audit_foreach(d.st, 0, 0, count_rec, &v) == 0);
	CHECK(!v.failed && v.count == after);
	td_store_close(d.st);
	d.st = NULL;
	free(buf);
	return 0;
}
