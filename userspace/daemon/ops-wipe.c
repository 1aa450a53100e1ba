// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd: destruction and export (Documentation/destruction.md).
 *
 * volume.delete / tenant.delete crypto-shred every leg in the request
 * (header area random then zeros, read back; the kernel key checked gone;
 * on tenant delete the wrapped KEK deleted with secure_delete, VACUUM and
 * a WAL checkpoint TRUNCATE), forget the volume, and leave a wipe job: a
 * worker thread runs the media method (discard, secure discard, zero,
 * overwrite), keeps its progress in the "wipes" table (a restarted tenantd
 * resumes there), verifies every leg and hands the result back to the
 * poll loop, which writes the certificate of sanitization and the audit
 * record that covers it.  The worker has its own SQLite connection and
 * libdmtenant context and touches nothing else of the daemon (libdmtenant
 * serialises its libdevmapper and libcryptsetup calls with the poll
 * loop's, as it does for the export worker's attach and detach).
 *
 * tenant.audit-export gives a tenant admin the audit records of its
 * tenant, each checkable on its own (hash = SHA-256(prev_hash || record)).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <dmtenant.h>

#include "cert.h"
#include "log.h"
#include "ops-internal.h"

#define MAX_JOBS	64
#define TOOL_NAME	"tenantd (dm-tenant)"
#define CERT_FORMAT	1

struct wipe_job {
	int64_t id;
	char dbpath[512];
	char tenant[TD_ID_MAX + 1], volume[TD_ID_MAX + 1];
	char uuid[TD_UUID_LEN];
	enum dmt_wipe_method m;
	unsigned int passes;		/* media passes (overwrite: + zero) */
	bool full;
	unsigned int rate;
	unsigned int nlegs;
	struct td_leg legs[TD_MAX_LEGS];
	/* resume point, advanced by the worker */
	unsigned int leg, pass;
	uint64_t offset;
	sqlite3 *db;			/* the worker's own connection */
	pthread_t th;
	atomic_bool done, stop;
	int err;
	char errmsg[256];
	struct dmt_wipe_verify ver[TD_MAX_LEGS];
};

static struct wipe_job *jobs[MAX_JOBS];
static void export_tick(struct td_daemon *d, bool stopping);
static bool export_busy(void);

/* --- arguments ------------------------------------------------------------ */

struct wipe_spec {
	enum dmt_wipe_method m;
	unsigned int passes;
	bool full;
	unsigned int rate;
};

static enum td_err wipe_args(struct op *op, struct wipe_spec *ws)
{
	const char *w = td_arg_str(op->req, "wipe");
	const char *vf = td_arg_str(op->req, "verify");
	uint64_t passes = td_arg_uint(op->req, "passes", 0);
	uint64_t rate = td_arg_uint(op->req, "rate", 0);

	memset(ws, 0, sizeof(*ws));
	ws->m = DMT_WIPE_SHRED;
	if (w && dmt_wipe_method_parse(w, &ws->m)) {
		op_hint(op, "wipe is one of crypto-shred, discard, secure-discard, zero, overwrite");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "unknown wipe method '%s'", w);
	}
	if (passes && ws->m != DMT_WIPE_OVERWRITE) {
		op_hint(op, "passes go with --wipe overwrite");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "passes given for wipe method %s",
			       dmt_wipe_method_name(ws->m));
	}
	if (passes > 8)
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "passes must be 1..8");
	ws->passes = ws->m == DMT_WIPE_OVERWRITE ? (passes ? passes : 1) + 1 :
		ws->m == DMT_WIPE_SHRED ? 0 : 1;
	if (vf && strcmp(vf, "sample") && strcmp(vf, "full"))
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "verify must be sample or full");
	ws->full = vf && !strcmp(vf, "full");
	if (rate > 100000)
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "rate must be 0..100000 MiB/s");
	ws->rate = (unsigned int)rate;
	return TD_OK;
}

/* The method of media pass @pass (overwrite ends with a zero pass). */
static enum dmt_wipe_method pass_method(const struct wipe_job *j,
					unsigned int pass)
{
	if (j->m == DMT_WIPE_OVERWRITE && pass + 1 == j->passes)
		return DMT_WIPE_ZERO;
	return j->m;
}

static uint64_t dev_bytes(const char *path)
{
	uint64_t size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (ioctl(fd, BLKGETSIZE64, &size))
		size = 0;
	close(fd);
	return size;
}

/* --- live devices of a volume --------------------------------------------- */

struct live_arg {
	const char *uuid;
	char name[DMT_DM_NAME_MAX];
};

static int live_dev(const struct dmt_dev_info *info, void *arg)
{
	struct live_arg *la = arg;

	if (strcmp(info->volume_uuid, la->uuid))
		return 0;
	snprintf(la->name, sizeof(la->name), "%s", info->name);
	return 1;
}

/* Refuse a volume that is attached or mapped in any way (grants too). */
static enum td_err check_not_live(struct op *op, const struct td_volume *v)
{
	struct live_arg la = { .uuid = v->uuid };

	if (v->attached) {
		op_hint(op, "detach it first: 'tenantctl volume detach %s %s'",
			v->tenant, v->id);
		return op_fail(op, TD_E_CONFLICT, "%s/%s is attached", v->tenant,
			       v->id);
	}
	if (!op->d->no_dm && dmt_dev_list(op->d->dmt, live_dev, &la) > 0) {
		op_hint(op, "remove the mapping %s (an access grant?) first",
			la.name);
		return op_fail(op, TD_E_CONFLICT, "%s/%s is mapped as %s",
			       v->tenant, v->id, la.name);
	}
	return TD_OK;
}

/* The method must work on every leg before anything is destroyed. */
static enum td_err check_method(struct op *op, const struct td_volume *v,
				enum dmt_wipe_method m)
{
	unsigned int i;

	for (i = 0; i < v->nlegs; i++)
		if (dmt_wipe_supported(op->d->dmt, v->legs[i].device, m)) {
			op_hint(op, "pick another method: zero and overwrite work everywhere");
			return op_fail(op, TD_E_UNSUPPORTED,
				       "leg %u of %s/%s (%s) does not support %s; nothing was changed",
				       i, v->tenant, v->id, v->legs[i].device,
				       dmt_wipe_method_name(m));
		}
	return TD_OK;
}

/* --- crypto-shred (in the request) ----------------------------------------- */

/* Shred every leg; @shred gets {legs: [{leg, device, bytes}], kernel_key}. */
static enum td_err shred_volume(struct op *op, const struct td_volume *v,
				json_object **shred)
{
	json_object *arr = json_object_new_array(), *o;
	unsigned int i;
	enum td_err e;
	int r, keys;

	for (i = 0; i < v->nlegs; i++) {
		uint64_t bytes = 0;
		json_object *l;

		r = dmt_leg_shred(op->d->dmt, v->legs[i].device, &bytes);
		if (r) {
			char what[128];

			json_object_put(arr);
			snprintf(what, sizeof(what), "crypto-shred of %s/%s leg %u (%s)",
				 v->tenant, v->id, i, v->legs[i].device);
			e = op_from_errno(op, r, what);
			op_hint(op, "nothing was forgotten: fix the leg and repeat the delete (the shred is idempotent)");
			return e;
		}
		l = json_object_new_object();
		json_object_object_add(l, "leg", json_object_new_int((int)i));
		json_object_object_add(l, "class",
				       json_object_new_string(v->legs[i].cls));
		json_object_object_add(l, "device",
				       json_object_new_string(v->legs[i].device));
		json_object_object_add(l, "header_area_bytes",
				       json_object_new_int64((int64_t)bytes));
		json_object_object_add(l, "size_bytes", json_object_new_int64(
			(int64_t)dev_bytes(v->legs[i].device)));
		json_object_array_add(arr, l);
	}
	o = json_object_new_object();
	json_object_object_add(o, "legs", arr);
	keys = dmt_keyring_count(op->d->dmt, v->tenant, v->id);
	json_object_object_add(o, "kernel_key", json_object_new_string(
		keys == 0 ? "none (the volume is detached; the target wiped it)" :
		keys > 0 ? "STILL PRESENT" : "unknown (/proc/keys unreadable)"));
	*shred = o;
	return keys > 0 ? op_fail(op, TD_E_CONFLICT,
				  "a logon key of %s/%s is still in the kernel keyring",
				  v->tenant, v->id) : TD_OK;
}

/* --- jobs ------------------------------------------------------------------ */

static void *worker(void *arg);

static int job_db_open(struct wipe_job *j)
{
	if (sqlite3_open_v2(j->dbpath, &j->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_busy_timeout(j->db, 10000);
	sqlite3_exec(j->db, "PRAGMA secure_delete = ON;", NULL, NULL, NULL);
	return 0;
}

static int job_start(struct td_daemon *d, struct wipe_job *j)
{
	unsigned int i;

	for (i = 0; i < MAX_JOBS && jobs[i]; i++)
		;
	if (i == MAX_JOBS)
		return -EAGAIN;
	snprintf(j->dbpath, sizeof(j->dbpath), "%s", td_store_path(d->st));
	if (pthread_create(&j->th, NULL, worker, j))
		return -EAGAIN;
	jobs[i] = j;
	return 0;
}

static int legs_from_json(const char *text, struct wipe_job *j)
{
	json_object *a = json_tokener_parse(text), *l, *f;
	size_t i, n;

	if (!a || !json_object_is_type(a, json_type_array)) {
		json_object_put(a);
		return -EINVAL;
	}
	n = json_object_array_length(a);
	for (i = 0; i < n && i < TD_MAX_LEGS; i++) {
		l = json_object_array_get_idx(a, i);
		j->legs[i].idx = (unsigned int)i;
		if (json_object_object_get_ex(l, "class", &f))
			snprintf(j->legs[i].cls, sizeof(j->legs[i].cls), "%s",
				 json_object_get_string(f));
		if (json_object_object_get_ex(l, "device", &f))
			snprintf(j->legs[i].device, sizeof(j->legs[i].device),
				 "%s", json_object_get_string(f));
	}
	j->nlegs = (unsigned int)i;
	json_object_put(a);
	return 0;
}

static json_object *legs_to_json(const struct td_volume *v)
{
	json_object *a = json_object_new_array();
	unsigned int i;

	for (i = 0; i < v->nlegs; i++) {
		json_object *l = json_object_new_object();

		json_object_object_add(l, "class",
				       json_object_new_string(v->legs[i].cls));
		json_object_object_add(l, "device",
				       json_object_new_string(v->legs[i].device));
		json_object_array_add(a, l);
	}
	return a;
}

static int64_t job_insert(struct op *op, const struct td_volume *v,
			  const struct wipe_spec *ws, json_object *shred,
			  const char *reason)
{
	sqlite3 *db = td_store_db(op->d->st);
	sqlite3_stmt *s;
	json_object *legs = legs_to_json(v);
	char now[40];
	int64_t id = -1;

	td_now(now, sizeof(now));
	if (sqlite3_prepare_v2(db,
		"INSERT INTO wipes (tenant, volume, uuid, method, passes, verify,"
		" rate, legs, shred, uid, role, reason, state, started)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
		-1, &s, NULL) != SQLITE_OK) {
		json_object_put(legs);
		return -1;
	}
	sqlite3_bind_text(s, 1, v->tenant, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, v->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, v->uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, dmt_wipe_method_name(ws->m), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 5, (int)ws->passes);
	sqlite3_bind_text(s, 6, ws->full ? "full" : "sample", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 7, (int)ws->rate);
	sqlite3_bind_text(s, 8, json_object_to_json_string_ext(legs,
			  JSON_C_TO_STRING_PLAIN), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, json_object_to_json_string_ext(shred,
			  JSON_C_TO_STRING_PLAIN), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 10, op->c->uid);
	sqlite3_bind_text(s, 11, td_role_name(op->role), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 12, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 13, now, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(s);
	json_object_put(legs);
	return id;
}

/* A job from its row (new or interrupted). */
static struct wipe_job *job_load(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *s;
	struct wipe_job *j = NULL;

	if (sqlite3_prepare_v2(db,
		"SELECT tenant, volume, uuid, method, passes, verify, rate, legs,"
		" leg, pass, offset FROM wipes WHERE id = ?", -1, &s, NULL) !=
	    SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW && (j = calloc(1, sizeof(*j)))) {
		j->id = id;
		snprintf(j->tenant, sizeof(j->tenant), "%s",
			 sqlite3_column_text(s, 0));
		snprintf(j->volume, sizeof(j->volume), "%s",
			 sqlite3_column_text(s, 1));
		snprintf(j->uuid, sizeof(j->uuid), "%s",
			 sqlite3_column_text(s, 2));
		dmt_wipe_method_parse((const char *)sqlite3_column_text(s, 3),
				      &j->m);
		j->passes = (unsigned int)sqlite3_column_int(s, 4);
		j->full = !strcmp((const char *)sqlite3_column_text(s, 5),
				  "full");
		j->rate = (unsigned int)sqlite3_column_int(s, 6);
		if (legs_from_json((const char *)sqlite3_column_text(s, 7), j)) {
			free(j);
			j = NULL;
		} else {
			j->leg = (unsigned int)sqlite3_column_int(s, 8);
			j->pass = (unsigned int)sqlite3_column_int(s, 9);
			j->offset = (uint64_t)sqlite3_column_int64(s, 10);
		}
	}
	sqlite3_finalize(s);
	return j;
}

static void job_progress_save(struct wipe_job *j)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(j->db, "UPDATE wipes SET leg = ?, pass = ?,"
			       " offset = ? WHERE id = ?", -1, &s, NULL) !=
	    SQLITE_OK)
		return;
	sqlite3_bind_int(s, 1, (int)j->leg);
	sqlite3_bind_int(s, 2, (int)j->pass);
	sqlite3_bind_int64(s, 3, (int64_t)j->offset);
	sqlite3_bind_int64(s, 4, j->id);
	if (sqlite3_step(s) != SQLITE_DONE)
		td_log(LOG_WARNING, "wipe job %" PRId64 ": progress not saved: %s",
		       j->id, sqlite3_errmsg(j->db));
	sqlite3_finalize(s);
}

static int progress_cb(uint64_t done, uint64_t total, void *arg)
{
	struct wipe_job *j = arg;

	(void)total;
	j->offset = done;
	job_progress_save(j);
	return atomic_load(&j->stop) ? 1 : 0;
}

static void wlog(int prio, const char *msg, void *ud)
{
	(void)ud;
	td_log(prio, "wipe: libdmtenant: %s", msg);
}

static void *worker(void *arg)
{
	struct wipe_job *j = arg;
	struct dmt_ctx *ctx = NULL;
	unsigned int i;
	int r;

	r = job_db_open(j);
	if (!r)
		r = dmt_ctx_new(&ctx, DMT_CTX_NO_MODULE_LOAD);
	if (r) {
		j->err = r;
		snprintf(j->errmsg, sizeof(j->errmsg), "worker setup: %s",
			 strerror(-r));
		goto out;
	}
	dmt_ctx_set_log_fn(ctx, wlog, NULL);
	for (; j->leg < j->nlegs; j->leg++, j->pass = 0) {
		for (; j->pass < j->passes; j->pass++, j->offset = 0) {
			enum dmt_wipe_method m = pass_method(j, j->pass);

			job_progress_save(j);
			r = dmt_leg_wipe(ctx, j->legs[j->leg].device, m,
					 j->offset, j->rate, progress_cb, j);
			if (r) {
				j->err = r;
				if (r != -ECANCELED)
					snprintf(j->errmsg, sizeof(j->errmsg),
						 "leg %u (%s), pass %u (%s): %s: %s",
						 j->leg, j->legs[j->leg].device,
						 j->pass + 1,
						 dmt_wipe_method_name(m),
						 strerror(-r),
						 dmt_ctx_last_error(ctx));
				goto out;
			}
		}
	}
	job_progress_save(j);
	/* Verification, every leg. */
	for (i = 0; i < j->nlegs; i++) {
		r = dmt_leg_verify(ctx, j->legs[i].device,
				   j->passes ? pass_method(j, j->passes - 1) :
				   DMT_WIPE_SHRED, j->full, &j->ver[i]);
		if (r) {
			j->err = r;
			snprintf(j->errmsg, sizeof(j->errmsg),
				 "verification of leg %u (%s): %s", i,
				 j->legs[i].device, strerror(-r));
			goto out;
		}
	}
out:
	dmt_ctx_free(ctx);
	sqlite3_close(j->db);
	j->db = NULL;
	atomic_store(&j->done, true);
	return NULL;
}

/* --- certificate ----------------------------------------------------------- */

static void sysfs_attr(const char *dir, const char *name, char *buf,
		       size_t len)
{
	char p[600];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f)) {
		n = strlen(buf);
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			buf[--n] = '\0';
	}
	fclose(f);
}

/* Model and serial of a block device, from sysfs where present. */
static void media_info(const char *dev, json_object *o)
{
	char dir[300], real[512], model[128] = "", serial[128] = "",
		vendor[64] = "", name[512] = "";
	struct stat sb;
	char *p;
	int k;

	if (stat(dev, &sb) || !S_ISBLK(sb.st_mode))
		goto out;
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u",
		 major(sb.st_rdev), minor(sb.st_rdev));
	if (!realpath(dir, real))
		goto out;
	p = strrchr(real, '/');
	snprintf(name, sizeof(name), "%s", p ? p + 1 : real);
	/* a partition: its disk is the parent directory */
	for (k = 0; k < 2; k++) {
		char d2[600];

		snprintf(d2, sizeof(d2), "%s/device", real);
		if (!model[0])
			sysfs_attr(d2, "model", model, sizeof(model));
		if (!vendor[0])
			sysfs_attr(d2, "vendor", vendor, sizeof(vendor));
		if (!serial[0])
			sysfs_attr(d2, "serial", serial, sizeof(serial));
		if (!serial[0])
			sysfs_attr(real, "serial", serial, sizeof(serial));
		if (!serial[0])
			sysfs_attr(d2, "wwid", serial, sizeof(serial));
		p = strrchr(real, '/');
		if (!p)
			break;
		*p = '\0';
	}
out:
	json_object_object_add(o, "kernel_name", name[0] ?
			       json_object_new_string(name) : NULL);
	json_object_object_add(o, "manufacturer", vendor[0] ?
			       json_object_new_string(vendor) : NULL);
	json_object_object_add(o, "model", model[0] ?
			       json_object_new_string(model) : NULL);
	json_object_object_add(o, "serial", serial[0] ?
			       json_object_new_string(serial) : NULL);
}

static const char *method_text(const struct wipe_job *j, char *buf,
			       size_t len)
{
	if (j->m == DMT_WIPE_OVERWRITE)
		snprintf(buf, len, "crypto-shred + overwrite (%u random pass%s, then zeros)",
			 j->passes - 1, j->passes == 2 ? "" : "es");
	else if (j->m == DMT_WIPE_SHRED)
		snprintf(buf, len, "crypto-shred");
	else
		snprintf(buf, len, "crypto-shred + %s", dmt_wipe_method_name(j->m));
	return buf;
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Row fields the certificate needs besides the job. */
struct job_row {
	char started[40], reason[32], role[32], verify[8];
	int64_t uid, resumes;
	json_object *shred;
};

static int row_load(sqlite3 *db, int64_t id, struct job_row *jr)
{
	sqlite3_stmt *s;
	int r = -ENOENT;

	memset(jr, 0, sizeof(*jr));
	if (sqlite3_prepare_v2(db, "SELECT started, reason, role, verify, uid,"
			       " resumes, shred FROM wipes WHERE id = ?", -1,
			       &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(jr->started, sizeof(jr->started), "%s",
			 sqlite3_column_text(s, 0));
		snprintf(jr->reason, sizeof(jr->reason), "%s",
			 sqlite3_column_text(s, 1));
		snprintf(jr->role, sizeof(jr->role), "%s",
			 sqlite3_column_text(s, 2));
		snprintf(jr->verify, sizeof(jr->verify), "%s",
			 sqlite3_column_text(s, 3));
		jr->uid = sqlite3_column_int64(s, 4);
		jr->resumes = sqlite3_column_int64(s, 5);
		jr->shred = json_tokener_parse((const char *)
					       sqlite3_column_text(s, 6));
		r = 0;
	}
	sqlite3_finalize(s);
	return r;
}

static json_object *cert_build(const struct wipe_job *j,
			       const struct job_row *jr, const char *finished,
			       bool pass)
{
	json_object *c = json_object_new_object(), *o, *a, *sl = NULL;
	struct passwd *pw = getpwuid((uid_t)jr->uid);
	char host[128] = "", buf[160];
	unsigned int i;

	gethostname(host, sizeof(host) - 1);
	json_object_object_add(c, "type", json_object_new_string(
		"certificate of sanitization (NIST SP 800-88 Rev. 1, Appendix G)"));
	json_object_object_add(c, "format", json_object_new_int(CERT_FORMAT));
	json_object_object_add(c, "job", json_object_new_int64(j->id));
	/* person performing sanitization */
	o = json_object_new_object();
	json_object_object_add(o, "uid", json_object_new_int64(jr->uid));
	json_object_object_add(o, "name", jstr(pw ? pw->pw_name : NULL));
	json_object_object_add(o, "role", json_object_new_string(jr->role));
	json_object_object_add(o, "host", json_object_new_string(host));
	json_object_object_add(c, "operator", o);
	json_object_object_add(c, "request", json_object_new_string(jr->reason));
	json_object_object_add(c, "tenant", json_object_new_string(j->tenant));
	json_object_object_add(c, "volume", json_object_new_string(j->volume));
	json_object_object_add(c, "volume_uuid", json_object_new_string(j->uuid));
	/* media information, one entry per leg */
	json_object_object_get_ex(jr->shred, "legs", &sl);
	a = json_object_new_array();
	for (i = 0; i < j->nlegs; i++) {
		json_object *m = json_object_new_object(), *sh, *f;

		json_object_object_add(m, "leg", json_object_new_int((int)i));
		json_object_object_add(m, "class",
				       json_object_new_string(j->legs[i].cls));
		json_object_object_add(m, "device",
				       json_object_new_string(j->legs[i].device));
		json_object_object_add(m, "media_type", json_object_new_string(
			"block device (magnetic, flash or virtual: as the host presents it)"));
		media_info(j->legs[i].device, m);
		sh = sl ? json_object_array_get_idx(sl, i) : NULL;
		json_object_object_add(m, "size_bytes",
			json_object_new_int64(sh && json_object_object_get_ex(sh,
				"size_bytes", &f) ? json_object_get_int64(f) : 0));
		json_object_object_add(m, "header_area_shredded_bytes",
			json_object_new_int64(sh && json_object_object_get_ex(sh,
				"header_area_bytes", &f) ?
				json_object_get_int64(f) : 0));
		json_object_array_add(a, m);
	}
	json_object_object_add(c, "media", a);
	/* sanitization */
	o = json_object_new_object();
	json_object_object_add(o, "method_type", json_object_new_string(
		j->m == DMT_WIPE_SECDISCARD ? "purge (cryptographic erase + secure discard)" :
		j->m == DMT_WIPE_SHRED || j->m == DMT_WIPE_DISCARD ?
		"purge (cryptographic erase)" :
		"purge (cryptographic erase) + clear (overwrite)"));
	json_object_object_add(o, "method", json_object_new_string(
		dmt_wipe_method_name(j->m)));
	json_object_object_add(o, "method_used",
			       json_object_new_string(method_text(j, buf,
								  sizeof(buf))));
	json_object_object_add(o, "media_passes",
			       json_object_new_int((int)j->passes));
	json_object_object_add(o, "key_destruction", json_object_new_string(
		"LUKS2 header area [0, data offset) of every leg (both headers, keyslots, digest, label, tokens) and the dm-tenant metadata area overwritten with random bytes then zeros, read back"));
	{
		json_object *kk = NULL;

		json_object_object_get_ex(jr->shred, "kernel_key", &kk);
		json_object_object_add(o, "kernel_key",
				       json_object_new_string(kk ?
				       json_object_get_string(kk) : "unknown"));
	}
	json_object_object_add(o, "kek", json_object_new_string(
		!strcmp(jr->reason, "tenant.delete") ?
		"destroyed (tenant deleted; database: secure_delete, VACUUM, WAL checkpoint TRUNCATE)" :
		"kept (other volumes of the tenant); this volume's keyslots are destroyed"));
	json_object_object_add(o, "tool", json_object_new_string(TOOL_NAME));
	snprintf(buf, sizeof(buf), "protocol %d, certificate format %d",
		 TD_PROTO_VERSION, CERT_FORMAT);
	json_object_object_add(o, "tool_version", json_object_new_string(buf));
	json_object_object_add(o, "started", json_object_new_string(jr->started));
	json_object_object_add(o, "completed", json_object_new_string(finished));
	json_object_object_add(o, "interruptions",
			       json_object_new_int64(jr->resumes));
	json_object_object_add(c, "sanitization", o);
	/* verification */
	o = json_object_new_object();
	snprintf(buf, sizeof(buf), "%s reads of every leg: header area in full%s; no LUKS2 magic, no dm-tenant token%s",
		 jr->verify, j->full ? ", data area in full" :
		 ", data area in 258 sampled 64 KiB blocks",
		 j->passes && dmt_wipe_leaves_zeros(pass_method(j, j->passes - 1)) ?
		 ", all zeros" : ", header area zeros");
	json_object_object_add(o, "method", json_object_new_string(buf));
	json_object_object_add(o, "result", json_object_new_string(
		pass ? "pass" : "FAIL"));
	a = json_object_new_array();
	for (i = 0; i < j->nlegs; i++) {
		const struct dmt_wipe_verify *v = &j->ver[i];
		json_object *l = json_object_new_object();

		json_object_object_add(l, "leg", json_object_new_int((int)i));
		json_object_object_add(l, "result", json_object_new_string(
			v->ok ? "pass" : "FAIL"));
		json_object_object_add(l, "bytes_read",
				       json_object_new_int64((int64_t)v->bytes_read));
		json_object_object_add(l, "samples",
				       json_object_new_int((int)v->samples));
		json_object_object_add(l, "first_nonzero",
				       json_object_new_int64(v->nonzero_at));
		json_object_object_add(l, "first_luks_magic",
				       json_object_new_int64(v->luks_at));
		json_object_object_add(l, "first_token",
				       json_object_new_int64(v->token_at));
		json_object_array_add(a, l);
	}
	json_object_object_add(o, "legs", a);
	json_object_object_add(c, "verification", o);
	return c;
}

static void job_finish(struct td_daemon *d, struct wipe_job *j)
{
	sqlite3 *db = td_store_db(d->st);
	struct job_row jr;
	json_object *cert = NULL, *a;
	char now[40], hex[TD_HASH_HEX], head[TD_HASH_HEX], object[112],
		detail[160], buf[96];
	bool pass = !j->err;
	int64_t seq = 0;
	sqlite3_stmt *s;
	unsigned int i;

	pthread_join(j->th, NULL);
	if (j->err == -ECANCELED) {
		td_log(LOG_INFO, "wipe job %" PRId64 " stopped at leg %u pass %u byte %" PRIu64 ": resumes at the next start",
		       j->id, j->leg, j->pass, j->offset);
		return;
	}
	td_now(now, sizeof(now));
	snprintf(object, sizeof(object), "%s/%s", j->tenant, j->volume);
	for (i = 0; pass && i < j->nlegs; i++)
		pass = j->ver[i].ok;
	if (row_load(db, j->id, &jr)) {
		td_log(LOG_ERR, "wipe job %" PRId64 ": row gone", j->id);
		return;
	}
	if (j->err) {
		td_log(LOG_ERR, "wipe job %" PRId64 " of %s failed: %s", j->id,
		       object, j->errmsg);
		snprintf(detail, sizeof(detail), "job %" PRId64 ": %.140s",
			 j->id, j->errmsg);
		op_audit(d, jr.uid, getpid(), "daemon", "wipe.failed", object,
			 "internal", detail);
	} else {
		cert = cert_build(j, &jr, now, pass);
		td_cert_body_hash(cert, hex);
		snprintf(detail, sizeof(detail),
			 "job %" PRId64 " %s verify %s %s cert-sha256 %s", j->id,
			 dmt_wipe_method_name(j->m), jr.verify,
			 pass ? "pass" : "FAIL", hex);
		op_audit(d, jr.uid, getpid(), "daemon", "wipe.certificate",
			 object, pass ? "ok" : "failed", detail);
		td_audit_head(d->st, &seq, head);
		a = json_object_new_object();
		json_object_object_add(a, "seq", json_object_new_int64(seq));
		json_object_object_add(a, "hash", json_object_new_string(head));
		json_object_object_add(a, "certificate_sha256",
				       json_object_new_string(hex));
		json_object_object_add(cert, "audit", a);
		td_log(pass ? LOG_INFO : LOG_ERR,
		       "wipe job %" PRId64 " of %s: %s, verification %s, certificate in audit record %" PRId64,
		       j->id, object, method_text(j, buf, sizeof(buf)),
		       pass ? "pass" : "FAILED", seq);
	}
	if (sqlite3_prepare_v2(db, "UPDATE wipes SET state = ?, finished = ?,"
			       " error = ?, cert = ? WHERE id = ?", -1, &s,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, j->err || !pass ? "failed" : "done", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(s, 2, now, -1, SQLITE_TRANSIENT);
		if (j->err)
			sqlite3_bind_text(s, 3, j->errmsg, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(s, 3);
		if (cert)
			sqlite3_bind_text(s, 4, json_object_to_json_string_ext(
				cert, JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE), -1,
				SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(s, 4);
		sqlite3_bind_int64(s, 5, j->id);
		if (sqlite3_step(s) != SQLITE_DONE)
			td_log(LOG_ERR, "wipe job %" PRId64 ": result NOT stored: %s",
			       j->id, sqlite3_errmsg(db));
		sqlite3_finalize(s);
	}
	json_object_put(cert);
	json_object_put(jr.shred);
}

/* --- pruning of finished jobs ------------------------------------------ */

#define PRUNE_EVERY_S	600

struct pruned {
	int64_t id;
	char object[112];
	char detail[160];
};

/* The row's audit record: which job, and the hash that binds its
 * certificate (the "wipe.certificate" record keeps it too). */
static void prune_note(sqlite3_stmt *s, unsigned int days, struct pruned *p)
{
	const char *cert = (const char *)sqlite3_column_text(s, 5);
	json_object *c = cert ? json_tokener_parse(cert) : NULL, *a, *o;
	const char *sha = NULL;
	int64_t seq = 0;

	if (c && json_object_object_get_ex(c, "audit", &a)) {
		if (json_object_object_get_ex(a, "certificate_sha256", &o))
			sha = json_object_get_string(o);
		if (json_object_object_get_ex(a, "seq", &o))
			seq = json_object_get_int64(o);
	}
	p->id = sqlite3_column_int64(s, 0);
	td_fmt(p->object, sizeof(p->object), "%s/%s",
	       (const char *)sqlite3_column_text(s, 1),
	       (const char *)sqlite3_column_text(s, 2));
	if (sha)
		td_fmt(p->detail, sizeof(p->detail),
		       "job %" PRId64 " %s %.10s, over %u days; certificate sha256 %.64s (record %" PRId64 ")",
		       p->id, (const char *)sqlite3_column_text(s, 3),
		       (const char *)sqlite3_column_text(s, 4), days, sha,
		       seq);
	else
		td_fmt(p->detail, sizeof(p->detail),
		       "job %" PRId64 " %s %.10s, over %u days; no certificate",
		       p->id, (const char *)sqlite3_column_text(s, 3),
		       (const char *)sqlite3_column_text(s, 4), days);
	json_object_put(c);
}

/* Delete one job row with its audit record, both or neither. */
static int prune_one(struct td_daemon *d, const struct pruned *p)
{
	sqlite3 *db = td_store_db(d->st);
	sqlite3_stmt *s = NULL;
	int r = td_store_begin(d->st);

	if (!r)
		r = op_audit(d, getuid(), getpid(), "daemon", "wipe.prune",
			     p->object, "ok", p->detail);
	if (!r && (sqlite3_prepare_v2(db, "DELETE FROM wipes WHERE id = ?",
				      -1, &s, NULL) != SQLITE_OK ||
		   sqlite3_bind_int64(s, 1, p->id) != SQLITE_OK ||
		   sqlite3_step(s) != SQLITE_DONE))
		r = -EIO;
	sqlite3_finalize(s);
	if (!r)
		r = td_store_commit(d->st);
	if (r)
		td_store_rollback(d->st);
	return r;
}

/*
 * Finished jobs older than the retention go (at the first tick, every
 * PRUNE_EVERY_S and after a reload changes the setting); running jobs stay.
 */
static void wipe_prune(struct td_daemon *d)
{
	static const struct td_store *last_st;
	static unsigned int last_days;
	static time_t next;
	unsigned int days = d->cfg.wipe_retention_set ?
		d->cfg.wipe_retention_days : TD_WIPE_RETENTION_DAYS_DEFAULT;
	sqlite3 *db = td_store_db(d->st);
	struct pruned *p = NULL, *np;
	size_t n = 0, i;
	time_t now = time(NULL), cut;
	char cutoff[40];
	sqlite3_stmt *s;
	struct tm tm;

	if (!days || (d->st == last_st && days == last_days && now < next))
		return;
	last_st = d->st;
	last_days = days;
	next = now + PRUNE_EVERY_S;
	cut = now - (time_t)days * 86400;
	gmtime_r(&cut, &tm);
	strftime(cutoff, sizeof(cutoff), "%Y-%m-%dT%H:%M:%S", &tm);
	if (sqlite3_prepare_v2(db, "SELECT id, tenant, volume, state, finished,"
			       " cert FROM wipes WHERE state != 'running'"
			       " AND finished IS NOT NULL AND finished < ?"
			       " ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
		td_log(LOG_ERR, "wipe prune: %s", sqlite3_errmsg(db));
		return;
	}
	sqlite3_bind_text(s, 1, cutoff, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		np = realloc(p, (n + 1) * sizeof(*p));
		if (!np)
			break;
		p = np;
		prune_note(s, days, &p[n++]);
	}
	sqlite3_finalize(s);
	for (i = 0; i < n; i++)
		if (prune_one(d, &p[i])) {
			td_log(LOG_ERR, "wipe prune: job %" PRId64 " kept: %s",
			       p[i].id, td_store_err(d->st));
			break;
		}
	if (i)
		td_log(LOG_INFO, "wipe prune: %zu finished job(s) older than %u days removed; their certificates stay bound in the audit chain",
		       i, days);
	free(p);
}

void td_wipe_tick(struct td_daemon *d)
{
	unsigned int i;

	wipe_prune(d);
	export_tick(d, false);
	for (i = 0; i < MAX_JOBS; i++) {
		if (!jobs[i] || !atomic_load(&jobs[i]->done))
			continue;
		job_finish(d, jobs[i]);
		free(jobs[i]);
		jobs[i] = NULL;
	}
}

bool td_wipe_busy(void)
{
	unsigned int i;

	for (i = 0; i < MAX_JOBS; i++)
		if (jobs[i])
			return true;
	return export_busy();
}

/*
 * Shutdown: stop the workers where they are (progress is saved every
 * 8 MiB); a job that ended but has no certificate yet gets it at the next
 * start (it resumes past its last pass and verifies again).
 */
void td_wipe_stop(struct td_daemon *d)
{
	unsigned int i;

	export_tick(d, true);
	for (i = 0; i < MAX_JOBS; i++)
		if (jobs[i])
			atomic_store(&jobs[i]->stop, true);
	for (i = 0; i < MAX_JOBS; i++) {
		if (!jobs[i])
			continue;
		pthread_join(jobs[i]->th, NULL);
		free(jobs[i]);
		jobs[i] = NULL;
	}
}

void td_wipe_resume(struct td_daemon *d)
{
	sqlite3 *db = td_store_db(d->st);
	sqlite3_stmt *s;
	int64_t ids[MAX_JOBS];
	unsigned int n = 0, i;

	if (d->no_dm)
		return;
	if (sqlite3_prepare_v2(db, "SELECT id FROM wipes WHERE state = 'running'"
			       " ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return;
	while (n < MAX_JOBS && sqlite3_step(s) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	for (i = 0; i < n; i++) {
		struct wipe_job *j = job_load(db, ids[i]);
		char object[112], detail[160];

		if (!j)
			continue;
		snprintf(object, sizeof(object), "%s/%s", j->tenant, j->volume);
		snprintf(detail, sizeof(detail),
			 "job %" PRId64 " resumes at leg %u pass %u byte %" PRIu64,
			 j->id, j->leg, j->pass + 1, j->offset);
		td_log(LOG_INFO, "wipe of %s: %s", object, detail);
		{
			char sql[96];

			snprintf(sql, sizeof(sql), "UPDATE wipes SET resumes ="
				 " resumes + 1 WHERE id = %" PRId64, j->id);
			sqlite3_exec(db, sql, NULL, NULL, NULL);
		}
		td_audit_event(d, "wipe.resume", object, "ok", detail);
		if (job_start(d, j)) {
			td_log(LOG_ERR, "wipe job %" PRId64 ": cannot start a worker",
			       j->id);
			free(j);
		}
	}
}

/* --- requests -------------------------------------------------------------- */

/* After shred_volume: record the job, forget the volume (one transaction). */
static enum td_err forget_volume(struct op *op, const struct td_volume *v,
				 const struct wipe_spec *ws, json_object *shred,
				 const char *reason, struct wipe_job **job)
{
	int64_t id = job_insert(op, v, ws, shred, reason);

	if (id < 0)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       sqlite3_errmsg(td_store_db(op->d->st)));
	if (td_volume_delete(op->d->st, v->tenant, v->id))
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_store_err(op->d->st));
	*job = job_load(td_store_db(op->d->st), id);
	if (!*job)
		return op_fail(op, TD_E_INTERNAL, "wipe job %" PRId64 " not readable",
			       id);
	return TD_OK;
}

static void start_or_log(struct op *op, struct wipe_job *j)
{
	if (job_start(op->d, j)) {
		td_log(LOG_ERR, "wipe job %" PRId64 ": no worker now; it starts with the next tenantd start",
		       j->id);
		free(j);
	}
}

static json_object *job_brief(const struct wipe_job *j)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "job", json_object_new_int64(j->id));
	json_object_object_add(o, "tenant", json_object_new_string(j->tenant));
	json_object_object_add(o, "volume", json_object_new_string(j->volume));
	json_object_object_add(o, "method", json_object_new_string(
		dmt_wipe_method_name(j->m)));
	return o;
}

/* after_commit / after_abort of the deletes: after_arg is a NULL-ended
 * array of the jobs the committed transaction recorded. */
static void start_jobs(struct op *op)
{
	struct wipe_job **jobs = op->after_arg;
	size_t i;

	for (i = 0; jobs[i]; i++)
		start_or_log(op, jobs[i]);
	free(jobs);
}

static void drop_jobs(struct op *op)
{
	struct wipe_job **jobs = op->after_arg;
	size_t i;

	for (i = 0; jobs[i]; i++)
		free(jobs[i]);
	free(jobs);
}

enum td_err op_wipe_volume_delete(struct op *op)
{
	struct td_volume v;
	struct wipe_spec ws;
	struct wipe_job *j = NULL;
	json_object *shred = NULL;
	enum td_err e = op_load_volume(op, &v);

	if (!e)
		e = wipe_args(op, &ws);
	if (!e)
		e = op_access_check_free(op, &v);
	if (!e)
		e = check_not_live(op, &v);
	if (!e)
		e = check_method(op, &v, ws.m);
	if (!e)
		e = shred_volume(op, &v, &shred);
	if (e) {
		json_object_put(shred);
		return e;
	}
	/* The job row and the volume's removal commit with the audit record
	 * (finish()); the worker starts only then. */
	e = op_tx_begin(op);
	if (e) {
		json_object_put(shred);
		return e;
	}
	e = forget_volume(op, &v, &ws, shred, "volume.delete", &j);
	json_object_put(shred);
	if (e) {
		free(j);
		return e;
	}
	op->after_arg = calloc(2, sizeof(struct wipe_job *));
	if (!op->after_arg) {
		free(j);
		return op_fail(op, TD_E_INTERNAL, "out of memory");
	}
	((struct wipe_job **)op->after_arg)[0] = j;
	op->after_commit = start_jobs;
	op->after_abort = drop_jobs;
	snprintf(op->detail, sizeof(op->detail),
		 "uuid %s, %u leg(s) crypto-shredded; wipe job %" PRId64 " (%s, verify %s)",
		 v.uuid, v.nlegs, j->id, dmt_wipe_method_name(ws.m),
		 ws.full ? "full" : "sample");
	op->result = json_object_new_object();
	json_object_object_add(op->result, "volumes_shredded",
			       json_object_new_int(1));
	{
		json_object *a = json_object_new_array();

		json_object_array_add(a, job_brief(j));
		json_object_object_add(op->result, "wipe_jobs", a);
	}
	return TD_OK;
}

/* After the tenant row is gone: no page of the database keeps its KEK. */
static int scrub_database(struct td_daemon *d, char *err, size_t len)
{
	sqlite3 *db = td_store_db(d->st);
	int i, rc = SQLITE_OK;
	char *msg = NULL;

	if (sqlite3_exec(db, "PRAGMA secure_delete = ON; VACUUM;", NULL, NULL,
			 &msg) != SQLITE_OK) {
		snprintf(err, len, "VACUUM: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	/* Wipe workers write progress now and then: retry the checkpoint. */
	for (i = 0; i < 50; i++) {
		int log = 0, ckpt = 0;

		rc = sqlite3_wal_checkpoint_v2(db, NULL,
					       SQLITE_CHECKPOINT_TRUNCATE,
					       &log, &ckpt);
		if (rc == SQLITE_OK)
			return 0;
		usleep(100000);
	}
	snprintf(err, len, "WAL checkpoint: %s", sqlite3_errstr(rc));
	return -EBUSY;
}

/* tenant.delete, once committed: start the wipes, then make sure no page
 * of the database file or its WAL still holds the KEK. */
static void start_jobs_and_scrub(struct op *op)
{
	char err[256];

	start_jobs(op);
	if (scrub_database(op->d, err, sizeof(err))) {
		td_log(LOG_ERR, "tenant %s deleted but the database is not scrubbed: %s",
		       op->object, err);
		td_audit_event(op->d, "tenant.delete.scrub", op->object,
			       "internal", err);
	}
}

enum td_err op_wipe_tenant_delete(struct op *op)
{
	const char *id = td_arg_str(op->req, "tenant");
	bool force = td_arg_bool(op->req, "force");
	struct wipe_job *started[TD_MAX_LEGS * 16] = { NULL };
	struct vol_list vl = { NULL, 0 };
	json_object *shreds[64] = { NULL }, *arr;
	struct wipe_spec ws;
	struct td_tenant t;
	size_t i, n = 0;
	enum td_err e;

	op_set_object(op, id, NULL);
	e = op_authorize(op, id, NULL);
	if (!e)
		e = op_load_tenant(op, id, &t);
	if (!e)
		e = wipe_args(op, &ws);
	if (!e)
		e = op_mfa_check(op);
	if (e)
		return e;
	if (op_collect_vols(op->d->st, id, &vl))
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_store_err(op->d->st));
	if (vl.n && !force) {
		op_hint(op, "delete the volumes first, or repeat with --force to destroy all of them");
		e = op_fail(op, TD_E_CONFLICT, "tenant '%s' has %zu volume(s)",
			    id, vl.n);
		goto out;
	}
	if (vl.n > 64) {
		e = op_fail(op, TD_E_UNSUPPORTED,
			    "tenant '%s' has %zu volumes; delete some first (64 at a time)",
			    id, vl.n);
		goto out;
	}
	for (i = 0; i < vl.n && !e; i++)
		e = check_not_live(op, &vl.v[i]);
	for (i = 0; i < vl.n && !e; i++)
		e = check_method(op, &vl.v[i], ws.m);
	/* Crypto-shred every leg of every volume before anything is forgotten. */
	for (i = 0; i < vl.n && !e; i++)
		e = shred_volume(op, &vl.v[i], &shreds[i]);
	if (e)
		goto out;
	e = op_tx_begin(op);
	if (e)
		goto out;
	for (i = 0; i < vl.n && !e; i++) {
		e = forget_volume(op, &vl.v[i], &ws, shreds[i], "tenant.delete",
				  &started[i]);
		n = i + 1;
	}
	if (!e && td_tenant_delete(op->d->st, id))
		e = op_fail(op, TD_E_INTERNAL, "database: %s",
			    td_store_err(op->d->st));
	if (!e) {
		op->after_arg = calloc(n + 1, sizeof(struct wipe_job *));
		if (!op->after_arg)
			e = op_fail(op, TD_E_INTERNAL, "out of memory");
	}
	if (e) {
		/* finish() rolls the transaction back. */
		for (i = 0; i < n; i++)
			free(started[i]);
		goto out;
	}
	memcpy(op->after_arg, started, n * sizeof(struct wipe_job *));
	/* After the commit: the KEK row is deleted (secure_delete zeroes its
	 * cells); VACUUM rewrites the file, the checkpoint empties the WAL. */
	op->after_commit = start_jobs_and_scrub;
	op->after_abort = drop_jobs;
	snprintf(op->detail, sizeof(op->detail),
		 "KEK %s destroyed (database vacuumed and WAL truncated after the commit), %zu volume(s) crypto-shredded, %s",
		 t.kek_fpr, vl.n, dmt_wipe_method_name(ws.m));
	op->result = json_object_new_object();
	json_object_object_add(op->result, "tenant", json_object_new_string(id));
	json_object_object_add(op->result, "volumes_shredded",
			       json_object_new_int((int)vl.n));
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, job_brief(started[i]));
	json_object_object_add(op->result, "wipe_jobs", arr);
	e = TD_OK;
out:
	for (i = 0; i < vl.n && i < 64; i++)
		json_object_put(shreds[i]);
	free(vl.v);
	return e;
}

/* Bytes a job writes in all, and has written (@leg, @pass, @off: where it is). */
static void job_bytes(const char *legs_json, int64_t passes, int64_t leg,
		      int64_t pass, int64_t off, uint64_t *done,
		      uint64_t *total)
{
	struct wipe_job tmp;
	unsigned int i;

	memset(&tmp, 0, sizeof(tmp));
	*done = *total = 0;
	legs_from_json(legs_json, &tmp);
	for (i = 0; i < tmp.nlegs; i++) {
		uint64_t sz = dev_bytes(tmp.legs[i].device);

		*total += sz * (uint64_t)passes;
		if ((int64_t)i < leg)
			*done += sz * (uint64_t)passes;
		else if ((int64_t)i == leg)
			*done += sz * (uint64_t)pass + (uint64_t)off;
	}
}

int td_wipe_progress_foreach(struct td_daemon *d, td_wipe_progress_fn fn,
			     void *arg)
{
	sqlite3 *db = td_store_db(d->st);
	sqlite3_stmt *s;
	int r = 0;

	if (sqlite3_prepare_v2(db,
		"SELECT id, tenant, volume, method, passes, legs, leg, pass,"
		" offset FROM wipes WHERE state = 'running' ORDER BY id", -1,
		&s, NULL) != SQLITE_OK)
		return -EIO;
	while (!r && sqlite3_step(s) == SQLITE_ROW) {
		struct td_wipe_progress w;

		memset(&w, 0, sizeof(w));
		w.job = sqlite3_column_int64(s, 0);
		td_fmt(w.tenant, sizeof(w.tenant), "%s",
		       (const char *)sqlite3_column_text(s, 1));
		td_fmt(w.volume, sizeof(w.volume), "%s",
		       (const char *)sqlite3_column_text(s, 2));
		td_fmt(w.method, sizeof(w.method), "%s",
		       (const char *)sqlite3_column_text(s, 3));
		job_bytes((const char *)sqlite3_column_text(s, 5),
			  sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 6),
			  sqlite3_column_int64(s, 7), sqlite3_column_int64(s, 8),
			  &w.done, &w.total);
		r = fn(&w, arg);
	}
	sqlite3_finalize(s);
	return r;
}

/* wipe.status: jobs with progress; finished ones with their certificate. */
enum td_err op_wipe_status(struct op *op)
{
	const char *tid = td_arg_str(op->req, "tenant");
	int64_t want = (int64_t)td_arg_uint(op->req, "job", 0);
	sqlite3 *db = td_store_db(op->d->st);
	json_object *arr;
	sqlite3_stmt *s;
	enum td_err e;

	op_set_object(op, tid, NULL);
	e = op_authorize(op, tid, NULL);
	if (e)
		return e;
	if (sqlite3_prepare_v2(db,
		"SELECT id, tenant, volume, method, passes, verify, legs, state,"
		" leg, pass, offset, started, finished, error, cert, resumes"
		" FROM wipes WHERE (?1 IS NULL OR tenant = ?1)"
		" AND (?2 = 0 OR id = ?2) ORDER BY id", -1, &s, NULL) !=
	    SQLITE_OK)
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       sqlite3_errmsg(db));
	if (tid)
		sqlite3_bind_text(s, 1, tid, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 1);
	sqlite3_bind_int64(s, 2, want);
	arr = json_object_new_array();
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *tn = (const char *)sqlite3_column_text(s, 1);
		json_object *o;
		int64_t passes = sqlite3_column_int64(s, 4), leg, pass, off;
		uint64_t total = 0, done = 0;

		if (!td_may_see(&op->d->cfg, op->c->uid, op->req->verb, tn,
				NULL))
			continue;
		leg = sqlite3_column_int64(s, 8);
		pass = sqlite3_column_int64(s, 9);
		off = sqlite3_column_int64(s, 10);
		job_bytes((const char *)sqlite3_column_text(s, 6), passes, leg,
			  pass, off, &done, &total);
		o = json_object_new_object();
		json_object_object_add(o, "job", json_object_new_int64(
			sqlite3_column_int64(s, 0)));
		json_object_object_add(o, "tenant", json_object_new_string(tn));
		json_object_object_add(o, "volume", json_object_new_string(
			(const char *)sqlite3_column_text(s, 2)));
		json_object_object_add(o, "method", json_object_new_string(
			(const char *)sqlite3_column_text(s, 3)));
		json_object_object_add(o, "media_passes",
				       json_object_new_int64(passes));
		json_object_object_add(o, "verify", json_object_new_string(
			(const char *)sqlite3_column_text(s, 5)));
		json_object_object_add(o, "state", json_object_new_string(
			(const char *)sqlite3_column_text(s, 7)));
		json_object_object_add(o, "leg", json_object_new_int64(leg));
		json_object_object_add(o, "pass", json_object_new_int64(pass));
		json_object_object_add(o, "offset", json_object_new_int64(off));
		json_object_object_add(o, "bytes_done",
				       json_object_new_int64((int64_t)done));
		json_object_object_add(o, "bytes_total",
				       json_object_new_int64((int64_t)total));
		json_object_object_add(o, "percent", json_object_new_int(
			!strcmp((const char *)sqlite3_column_text(s, 7), "running") ?
			(total ? (int)(done * 100 / total) : 0) : 100));
		json_object_object_add(o, "resumes", json_object_new_int64(
			sqlite3_column_int64(s, 15)));
		json_object_object_add(o, "started", json_object_new_string(
			(const char *)sqlite3_column_text(s, 11)));
		json_object_object_add(o, "finished",
			jstr((const char *)sqlite3_column_text(s, 12)));
		json_object_object_add(o, "error",
			jstr((const char *)sqlite3_column_text(s, 13)));
		json_object_object_add(o, "certificate",
			sqlite3_column_type(s, 14) == SQLITE_NULL ? NULL :
			json_tokener_parse((const char *)sqlite3_column_text(s, 14)));
		json_object_array_add(arr, o);
	}
	sqlite3_finalize(s);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "jobs", arr);
	return TD_OK;
}

/* --- tenant audit export --------------------------------------------------- */

struct texp {
	const char *tenant;
	size_t tlen;
	json_object *arr;
	int64_t limit, n, last;
};

static int texp_rec(const struct td_audit_rec *r, void *arg)
{
	struct texp *te = arg;

	te->last = r->seq;
	if (strcmp(r->object, te->tenant) &&
	    (strncmp(r->object, te->tenant, te->tlen) ||
	     r->object[te->tlen] != '/'))
		return 0;
	json_object_array_add(te->arr, td_audit_to_json(r));
	return ++te->n >= te->limit ? 1 : 0;
}

enum td_err op_tenant_audit_export(struct op *op)
{
	const char *tid = td_arg_str(op->req, "tenant");
	int64_t after = (int64_t)td_arg_uint(op->req, "after", 0);
	int64_t limit = (int64_t)td_arg_uint(op->req, "limit", 1000);
	struct texp te = { .tenant = tid };
	char head[TD_HASH_HEX];
	int64_t seq;
	enum td_err e;
	int r;

	op_set_object(op, tid, NULL);
	e = op_authorize(op, tid, NULL);
	if (e)
		return e;
	if (limit <= 0 || limit > 5000)
		limit = 5000;
	te.tlen = strlen(tid);
	te.limit = limit;
	te.arr = json_object_new_array();
	te.last = after;
	r = td_audit_foreach(op->d->st, after, 0, texp_rec, &te);
	if (r < 0) {
		json_object_put(te.arr);
		return op_fail(op, TD_E_INTERNAL, "database: %s",
			       td_store_err(op->d->st));
	}
	td_audit_head(op->d->st, &seq, head);
	op->result = json_object_new_object();
	json_object_object_add(op->result, "more",
			       json_object_new_boolean(te.n >= te.limit));
	json_object_object_add(op->result, "records", te.arr);
	json_object_object_add(op->result, "scanned_to",
			       json_object_new_int64(te.last));
	json_object_object_add(op->result, "head_seq",
			       json_object_new_int64(seq));
	json_object_object_add(op->result, "head_hash",
			       json_object_new_string(head));
	snprintf(op->detail, sizeof(op->detail), "after %" PRId64 ", %" PRId64 " records",
		 after, te.n);
	return TD_OK;
}

/* --- volume export ---------------------------------------------------------- */

/*
 * volume.export: the tenant admin passes the write end of a pipe (or a
 * file opened for writing) with the request.  A worker maps the volume
 * read-only under its own name (node root 0600), copies the plaintext into
 * the descriptor, removes the mapping (key wiped) and closes it; the poll
 * loop then audits the result with the SHA-256 of what was sent.
 */
struct export_job {
	struct td_daemon *d;		/* d->master only (read-only) */
	int64_t id, uid, pid;
	int out;
	char tenant[TD_ID_MAX + 1], volume[TD_ID_MAX + 1];
	struct td_volume v;
	uint8_t kek[TD_WRAPPED_MAX];
	size_t kek_len;
	uint64_t bytes, total;
	char sha[TD_HASH_HEX];
	pthread_t th;
	atomic_bool done, stop;
	int err;
	char errmsg[200];
};

static struct export_job *exports[8];
static int64_t export_seq;

static void node_lock(struct dmt_ctx *ctx, const char *name, const char *path)
{
	struct dmt_dev_info info;
	char p[300];

	if (chown(path, 0, 0) || chmod(path, 0600))
		td_log(LOG_WARNING, "export: %s: cannot restrict: %s", path,
		       strerror(errno));
	if (!dmt_dev_info(ctx, name, &info)) {
		snprintf(p, sizeof(p), "/dev/dm-%u", info.minor);
		if (strcmp(p, path) && (chown(p, 0, 0) || chmod(p, 0600)))
			td_log(LOG_DEBUG, "export: %s: %s", p, strerror(errno));
	}
}

static void *export_worker(void *arg)
{
	struct export_job *x = arg;
	struct dmt_leg legs[TD_MAX_LEGS];
	struct dmt_volume dv;
	struct dmt_ctx *ctx = NULL;
	struct dmt_key *kek = NULL;
	char name[DMT_DM_NAME_MAX], path[DMT_DEV_PATH_MAX];
	unsigned char md[SHA256_DIGEST_LENGTH], *buf = NULL;
	EVP_MD_CTX *sc = EVP_MD_CTX_new();
	bool mapped = false;
	int fd = -1, r, i;

	if (!sc || EVP_DigestInit_ex(sc, EVP_sha256(), NULL) != 1) {
		r = -ENOMEM;
		snprintf(x->errmsg, sizeof(x->errmsg), "out of memory");
		goto out;
	}
	snprintf(name, sizeof(name), "tenant-export+%s+%s", x->tenant,
		 x->volume);
	r = dmt_ctx_new(&ctx, 0);
	if (!r)
		r = dmt_kek_unwrap(x->d->master, x->tenant, x->kek, x->kek_len,
				   &kek);
	if (r) {
		snprintf(x->errmsg, sizeof(x->errmsg), "KEK: %s", strerror(-r));
		goto out;
	}
	dmt_ctx_set_log_fn(ctx, wlog, NULL);
	op_to_dmt(&x->v, &dv, legs);
	r = dmt_volume_attach(ctx, &dv, kek, name, DMT_ATTACH_READ_ONLY, path,
			      sizeof(path));
	dmt_key_free(kek);
	if (r) {
		snprintf(x->errmsg, sizeof(x->errmsg), "read-only mapping: %s: %s",
			 strerror(-r), dmt_ctx_last_error(ctx));
		goto out;
	}
	mapped = true;
	node_lock(ctx, name, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf = malloc(1 << 20);
	if (fd < 0 || !buf) {
		r = -errno;
		snprintf(x->errmsg, sizeof(x->errmsg), "%.100s: %.80s", path,
			 strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(x->errmsg, sizeof(x->errmsg), "read: %s",
				 strerror(errno));
			goto out;
		}
		if (!n)
			break;
		EVP_DigestUpdate(sc, buf, (size_t)n);
		while (off < n) {
			ssize_t w = write(x->out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = -errno;
				snprintf(x->errmsg, sizeof(x->errmsg),
					 "the receiver stopped: %s",
					 strerror(errno));
				goto out;
			}
			off += w;
		}
		x->bytes += (uint64_t)n;
		if (atomic_load(&x->stop)) {
			r = -ECANCELED;
			snprintf(x->errmsg, sizeof(x->errmsg),
				 "tenantd stopped");
			goto out;
		}
	}
	EVP_DigestFinal_ex(sc, md, NULL);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(x->sha + 2 * i, "%02x", md[i]);
	r = 0;
out:
	if (buf)
		explicit_bzero(buf, 1 << 20);
	free(buf);
	if (fd >= 0)
		close(fd);
	close(x->out);
	x->out = -1;
	if (mapped) {
		int d = dmt_volume_detach(ctx, name, DMT_DETACH_FORCE);

		if (d && !r) {
			r = d;
			snprintf(x->errmsg, sizeof(x->errmsg),
				 "mapping %s NOT removed: %s", name,
				 strerror(-d));
		}
	}
	dmt_ctx_free(ctx);
	EVP_MD_CTX_free(sc);
	x->err = r;
	atomic_store(&x->done, true);
	return NULL;
}

enum td_err op_volume_export(struct op *op)
{
	struct export_job *x;
	struct td_volume v;
	struct td_tenant t;
	struct stat sb;
	unsigned int i, slot;
	uint64_t min = 0;
	bool next;
	enum td_err e = op_load_volume(op, &v);
	int fl;

	if (!e)
		e = op_need_dm(op);
	if (!e)
		e = check_not_live(op, &v);
	if (!e)
		e = op_mfa_check(op);
	if (e)
		return e;
	if (!op->c->has_fd) {
		op_hint(op, "use 'tenantctl volume export': it passes a pipe with the request");
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "volume.export needs a descriptor to write to (SCM_RIGHTS)");
	}
	fl = fcntl(op->c->fd, F_GETFL);
	if (fstat(op->c->fd, &sb) || fl < 0 || (fl & O_ACCMODE) == O_RDONLY ||
	    !(S_ISFIFO(sb.st_mode) || S_ISREG(sb.st_mode)))
		return op_fail(op, TD_E_INVALID_ARGUMENT,
			       "the descriptor passed is not a pipe or a file open for writing");
	for (slot = 0; slot < 8 && exports[slot]; slot++)
		;
	if (slot == 8) {
		op_hint(op, "wait for an export to finish");
		return op_fail(op, TD_E_BUSY, "8 exports are running");
	}
	e = op_load_tenant(op, v.tenant, &t);
	if (e)
		return e;
	x = calloc(1, sizeof(*x));
	if (!x)
		return op_fail(op, TD_E_INTERNAL, "out of memory");
	next = t.has_next && v.kek_gen == t.next_gen;
	memcpy(x->kek, next ? t.next_kek : t.kek, TD_WRAPPED_MAX);
	x->kek_len = next ? t.next_len : t.kek_len;
	x->d = op->d;
	x->id = ++export_seq;
	x->uid = op->c->uid;
	x->pid = op->c->pid;
	x->v = v;
	snprintf(x->tenant, sizeof(x->tenant), "%s", v.tenant);
	snprintf(x->volume, sizeof(x->volume), "%s", v.id);
	for (i = 0; i < v.nlegs; i++) {
		uint64_t s = dev_bytes(v.legs[i].device);

		if (!min || s < min)
			min = s;
	}
	x->total = v.size ? v.size * 512 : min > DMT_LEG_DATA_OFFSET_BYTES ?
		min - DMT_LEG_DATA_OFFSET_BYTES : 0;
	x->out = fcntl(op->c->fd, F_DUPFD_CLOEXEC, 3);
	if (x->out < 0 || pthread_create(&x->th, NULL, export_worker, x)) {
		if (x->out >= 0)
			close(x->out);
		free(x);
		return op_fail(op, TD_E_INTERNAL, "cannot start the export");
	}
	exports[slot] = x;
	snprintf(op->detail, sizeof(op->detail),
		 "export %" PRId64 ": %" PRIu64 " bytes of plaintext to uid %u (%s)",
		 x->id, x->total, (unsigned int)op->c->uid,
		 S_ISFIFO(sb.st_mode) ? "pipe" : "file");
	op->result = json_object_new_object();
	json_object_object_add(op->result, "export",
			       json_object_new_int64(x->id));
	json_object_object_add(op->result, "bytes",
			       json_object_new_int64((int64_t)x->total));
	return TD_OK;
}

/* Poll loop: audit finished exports. */
static void export_tick(struct td_daemon *d, bool stopping)
{
	char object[112], detail[160];
	unsigned int i;

	for (i = 0; i < 8; i++) {
		struct export_job *x = exports[i];

		if (!x)
			continue;
		if (stopping)
			atomic_store(&x->stop, true);
		if (!stopping && !atomic_load(&x->done))
			continue;
		pthread_join(x->th, NULL);
		snprintf(object, sizeof(object), "%s/%s", x->tenant, x->volume);
		if (x->err)
			snprintf(detail, sizeof(detail),
				 "export %" PRId64 ": %" PRIu64 " bytes, then %.100s",
				 x->id, x->bytes, x->errmsg);
		else
			snprintf(detail, sizeof(detail),
				 "export %" PRId64 ": %" PRIu64 " bytes, sha256 %s",
				 x->id, x->bytes, x->sha);
		op_audit(d, x->uid, x->pid, "daemon", "volume.export.done",
			 object, x->err ? "internal" : "ok", detail);
		td_log(x->err ? LOG_ERR : LOG_INFO, "%s: %s", object, detail);
		free(x);
		exports[i] = NULL;
	}
}

static bool export_busy(void)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		if (exports[i])
			return true;
	return false;
}
