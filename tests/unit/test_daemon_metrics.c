// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd metrics (userspace/daemon/metrics.c, ops-metrics.c): label
 * escaping, every family's HELP and TYPE, the samples of a faked kernel
 * status line (parsed by the real parser), the atomic write and its error
 * paths (missing or corrupt directory, full disk), the textfile written
 * from a real store with its failures logged once, the metrics.get verb
 * (operator only; no reasons, no key material), and promtool's verdict
 * when Debian's prometheus package is installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include <dmtenant.h>

#include "../../userspace/daemon/access.h"
#include "../../userspace/daemon/metrics.h"
#include "../../userspace/daemon/ops.h"
#include "td_fixture.h"

#define PROMTOOL "/usr/bin/promtool"

/* --- fakes ---------------------------------------------------------------- */

/* legs local A, zone a, remote D; resync 5 of 8 regions done */
static const char status_line[] =
	"acme vol1 loaded 3 local 1:0 A zone 2:0 a remote 3:0 D "
	"100 200 3 1 2 0 6/8 resync 5/8 4 1 2 failed 1048576 2500 no";

static char fake_status[512];
static int fake_status_err;
static bool full_disk;
static unsigned int nlog_err, nlog_info_again;

int __wrap_dmt_dev_status(struct dmt_ctx *ctx, const char *name,
			  struct dmt_status **st);
int __wrap_dmt_dev_status(struct dmt_ctx *ctx, const char *name,
			  struct dmt_status **st)
{
	(void)ctx;
	(void)name;
	if (fake_status_err)
		return fake_status_err;
	return dmt_status_parse(fake_status, st);
}

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (full_disk) {
		errno = ENOSPC;
		return -1;
	}
	return __real_write(fd, buf, n);
}

void __real_td_log(int prio, const char *fmt, ...);
void __wrap_td_log(int prio, const char *fmt, ...);
void __wrap_td_log(int prio, const char *fmt, ...)
{
	(void)fmt;
	if (prio == LOG_ERR && strstr(fmt, "metrics"))
		nlog_err++;
	if (prio == LOG_INFO && strstr(fmt, "written again"))
		nlog_info_again++;
}

/* --- helpers -------------------------------------------------------------- */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static unsigned int count_of(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

static unsigned int files_in(const char *dir)
{
	char cmd[128];
	FILE *p;
	unsigned int n = 0;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%u", &n), 1);
	pclose(p);
	return n;
}

/* The value of the first sample whose line starts with @prefix. */
static const char *value_of(const char *text, const char *prefix)
{
	static char val[64];
	const char *p = strstr(text, prefix), *sp;

	if (!p)
		return "";
	sp = strstr(p, "} ");
	assert_non_null(sp);
	snprintf(val, sizeof(val), "%.*s", (int)strcspn(sp + 2, "\n"), sp + 2);
	return val;
}

/* promtool's exit status on @text; -1 if it is not installed. */
static int promtool(const char *text)
{
	char path[] = "/tmp/td-metrics-prom-XXXXXX", cmd[128];
	int fd, st;

	if (access(PROMTOOL, X_OK))
		return -1;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(__real_write(fd, text, strlen(text)),
			 (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s >&2", path);
	st = system(cmd);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

/* --- the format ------------------------------------------------------------ */

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	td_mx_escape("plain-id_1.x", out, sizeof(out));
	assert_string_equal(out, "plain-id_1.x");
	td_mx_escape("a\\b\"c\nd", out, sizeof(out));
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	/* cut before an escape, never inside one */
	td_mx_escape("ab\"", out, 4);
	assert_string_equal(out, "ab");
	td_mx_escape(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_every_family(void **state)
{
	struct td_mx *mx = td_mx_new("h1");
	char *text, line[256];
	unsigned int f;
	size_t len;

	(void)state;
	assert_non_null(mx);
	text = td_mx_render(mx, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	for (f = 0; f < TD_MX__COUNT; f++) {
		const char *name = td_mx_name(f);

		assert_non_null(name);
		assert_memory_equal(name, "dmtenant_", 9);
		snprintf(line, sizeof(line), "# HELP %s ", name);
		assert_int_equal(count_of(text, line), 1);
		snprintf(line, sizeof(line), "# TYPE %s ", name);
		assert_int_equal(count_of(text, line), 1);
		/* counters end in _total, nothing else does */
		snprintf(line, sizeof(line), "# TYPE %s counter\n", name);
		assert_int_equal(strstr(text, line) != NULL,
				 strlen(name) > 6 &&
				 !strcmp(name + strlen(name) - 6, "_total"));
	}
	assert_null(td_mx_name(TD_MX__COUNT));
	free(text);
	/* an odd label list is refused */
	assert_int_equal(td_mx_add(mx, TD_MX_AUDIT_RECORDS, 1, "tenant",
				   (const char *)NULL, NULL), -EINVAL);
	assert_int_equal(td_mx_add(mx, TD_MX__COUNT, 1, NULL), -EINVAL);
	td_mx_free(mx);
}

static void test_status_samples(void **state)
{
	struct dmt_status *st;
	struct td_mx *mx = td_mx_new("host\"1\n");
	char *text;

	(void)state;
	assert_int_equal(dmt_status_parse(status_line, &st), 0);
	assert_int_equal(td_mx_add_status(mx, "acme", "vol1", st), 0);
	assert_int_equal(td_mx_add(mx, TD_MX_AUDIT_RECORDS, 12, NULL), 0);
	text = td_mx_render(mx, NULL);
	assert_non_null(text);
#define L(x) "{tenant=\"acme\",volume=\"vol1\"" x ",host=\"host\\\"1\\n\"}"
	assert_non_null(strstr(text, "dmtenant_device_key_loaded" L("") " 1\n"));
	assert_non_null(strstr(text, "dmtenant_leg_state" L(",leg=\"0\",class=\"local\",state=\"up_to_date\"") " 1\n"));
	assert_non_null(strstr(text, "dmtenant_leg_state" L(",leg=\"0\",class=\"local\",state=\"failed\"") " 0\n"));
	assert_non_null(strstr(text, "dmtenant_leg_state" L(",leg=\"1\",class=\"zone\",state=\"syncing\"") " 1\n"));
	assert_non_null(strstr(text, "dmtenant_leg_state" L(",leg=\"2\",class=\"remote\",state=\"failed\"") " 1\n"));
	assert_non_null(strstr(text, "dmtenant_leg_state" L(",leg=\"2\",class=\"remote\",state=\"up_to_date\"") " 0\n"));
	/* five states per leg, three legs */
	assert_int_equal(count_of(text, "\ndmtenant_leg_state{"), 15);
	assert_non_null(strstr(text, "dmtenant_device_reads_total" L("") " 100\n"));
	assert_non_null(strstr(text, "dmtenant_device_writes_total" L("") " 200\n"));
	assert_non_null(strstr(text, "dmtenant_device_discards_total" L("") " 3\n"));
	assert_non_null(strstr(text, "dmtenant_device_read_errors_total" L("") " 1\n"));
	assert_non_null(strstr(text, "dmtenant_device_write_errors_total" L("") " 2\n"));
	assert_non_null(strstr(text, "dmtenant_device_crypt_errors_total" L("") " 0\n"));
	assert_non_null(strstr(text, "dmtenant_device_regions" L("") " 8\n"));
	assert_non_null(strstr(text, "dmtenant_device_outofsync_regions" L("") " 2\n"));
	assert_non_null(strstr(text, "dmtenant_device_sync_action" L(",action=\"resync\"") " 1\n"));
	assert_non_null(strstr(text, "dmtenant_device_sync_action" L(",action=\"idle\"") " 0\n"));
	assert_non_null(strstr(text, "dmtenant_device_regions_synced" L("") " 5\n"));
	assert_non_null(strstr(text, "dmtenant_device_regions_to_sync" L("") " 8\n"));
	assert_non_null(strstr(text, "dmtenant_device_mismatch_regions" L("") " 4\n"));
	assert_non_null(strstr(text, "dmtenant_peerdevice_outofsync_bytes" L(",leg=\"2\",class=\"remote\"") " 1048576\n"));
	assert_non_null(strstr(text, "dmtenant_peerdevice_rpo_seconds" L(",leg=\"2\",class=\"remote\"") " 2.5\n"));
	assert_non_null(strstr(text, "dmtenant_peerdevice_consistent" L(",leg=\"2\",class=\"remote\"") " 0\n"));
	assert_non_null(strstr(text, "dmtenant_audit_records_total{host=\"host\\\"1\\n\"} 12\n"));
#undef L
	/* samples follow their own HELP/TYPE */
	assert_true(strstr(text, "# TYPE dmtenant_leg_state gauge\n") <
		    strstr(text, "\ndmtenant_leg_state{"));
	assert_true(strstr(text, "\ndmtenant_leg_state{") <
		    strstr(text, "# HELP dmtenant_device_regions "));
	free(text);
	td_mx_free(mx);
	dmt_status_free(st);
}

/* A kernel without the appended fields: no sync or remote samples. */
static void test_status_old_kernel(void **state)
{
	struct dmt_status *st;
	struct td_mx *mx = td_mx_new("h");
	struct td_status_sync s;
	char *text;

	(void)state;
	assert_int_equal(dmt_status_parse("acme v wiped 1 local 1:0 X 1 2 3 4 5 6",
					  &st), 0);
	td_status_sync_parse(st, &s);
	assert_false(s.have_regions);
	assert_int_equal(s.nremote, 0);
	assert_int_equal(td_mx_add_status(mx, "acme", "v", st), 0);
	text = td_mx_render(mx, NULL);
	assert_non_null(strstr(text, "dmtenant_device_key_loaded{tenant=\"acme\",volume=\"v\",host=\"h\"} 0\n"));
	assert_non_null(strstr(text, "state=\"unknown\",host=\"h\"} 1\n"));
	assert_null(strstr(text, "\ndmtenant_device_regions{"));
	assert_null(strstr(text, "\ndmtenant_peerdevice_rpo_seconds{"));
	assert_non_null(strstr(text, "\ndmtenant_device_crypt_errors_total{tenant=\"acme\",volume=\"v\",host=\"h\"} 6\n"));
	free(text);
	td_mx_free(mx);
	dmt_status_free(st);
}

static void test_status_json(void **state)
{
	struct dmt_status *st;
	json_object *k = json_object_new_object(), *o, *x;

	(void)state;
	assert_int_equal(dmt_status_parse(status_line, &st), 0);
	td_status_sync_json(st, k);
	assert_true(json_object_object_get_ex(k, "sync", &o));
	assert_true(json_object_object_get_ex(o, "action", &x));
	assert_string_equal(json_object_get_string(x), "resync");
	assert_true(json_object_object_get_ex(o, "done", &x));
	assert_int_equal(json_object_get_int64(x), 5);
	assert_true(json_object_object_get_ex(o, "total", &x));
	assert_int_equal(json_object_get_int64(x), 8);
	assert_true(json_object_object_get_ex(k, "remote", &o));
	assert_int_equal(json_object_array_length(o), 1);
	x = json_object_array_get_idx(o, 0);
	assert_true(json_object_object_get_ex(x, "rpo_ms", &x));
	assert_int_equal(json_object_get_int64(x), 2500);
	json_object_put(k);
	dmt_status_free(st);
}

static void test_diskstats(void **state)
{
	struct td_mx *mx = td_mx_new("h");
	char *text;

	(void)state;
	/* reads, merges, sectors read, ms, writes, merges, sectors written */
	assert_int_equal(td_mx_add_diskstats(mx, "acme", "v",
		"     120        0     2048      10      300        0    16384     90"
		"        0       40      100        0        0        0        0\n"), 0);
	assert_int_equal(td_mx_add_diskstats(mx, "acme", "w", "garbage"),
			 -EINVAL);
	assert_int_equal(td_mx_add_diskstats(mx, "acme", "w", NULL), -EINVAL);
	text = td_mx_render(mx, NULL);
	assert_string_equal(value_of(text, "\ndmtenant_device_read_bytes_total{tenant=\"acme\",volume=\"v\","), "1048576");
	assert_string_equal(value_of(text, "\ndmtenant_device_written_bytes_total{tenant=\"acme\",volume=\"v\","), "8388608");
	assert_null(strstr(text, "volume=\"w\""));
	free(text);
	td_mx_free(mx);
}

static void test_merge(void **state)
{
	struct td_mx *mx = td_mx_new("h");
	char *text;

	(void)state;
	td_mx_add(mx, TD_MX_REQUESTS_PENDING, 1, "tenant", "a", "volume", "v", NULL);
	td_mx_add(mx, TD_MX_REQUESTS_PENDING, 1, "tenant", "a", "volume", "w", NULL);
	td_mx_add(mx, TD_MX_REQUESTS_PENDING, 1, "tenant", "a", "volume", "v", NULL);
	td_mx_add(mx, TD_MX_GRANTS_ACTIVE, 1, "tenant", "a", "volume", "v", NULL);
	td_mx_merge(mx);
	text = td_mx_render(mx, NULL);
	assert_non_null(strstr(text, "dmtenant_access_requests_pending{tenant=\"a\",volume=\"v\",host=\"h\"} 2\n"));
	assert_non_null(strstr(text, "dmtenant_access_requests_pending{tenant=\"a\",volume=\"w\",host=\"h\"} 1\n"));
	assert_non_null(strstr(text, "dmtenant_access_grants_active{tenant=\"a\",volume=\"v\",host=\"h\"} 1\n"));
	free(text);
	td_mx_free(mx);
}

/* --- the atomic write -------------------------------------------------- */

static void test_write_file(void **state)
{
	char dir[] = "/tmp/td-metrics-w-XXXXXX", path[96], bad[128];
	struct stat sb;
	char *got;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dm.prom", dir);
	assert_int_equal(td_metrics_write_file(path, "a 1\n", 4), 0);
	got = read_all(path);
	assert_string_equal(got, "a 1\n");
	free(got);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	/* replaced whole; no temporary left */
	assert_int_equal(td_metrics_write_file(path, "b 2\n", 4), 0);
	got = read_all(path);
	assert_string_equal(got, "b 2\n");
	free(got);
	assert_int_equal(files_in(dir), 1);

	/* a full disk: the old file stays, nothing else is left */
	full_disk = true;
	assert_int_equal(td_metrics_write_file(path, "c 3\n", 4), -ENOSPC);
	full_disk = false;
	got = read_all(path);
	assert_string_equal(got, "b 2\n");
	free(got);
	assert_int_equal(files_in(dir), 1);

	/* a missing directory, a file where the directory should be */
	snprintf(bad, sizeof(bad), "%s/nodir/dm.prom", dir);
	assert_int_equal(td_metrics_write_file(bad, "x", 1), -ENOENT);
	snprintf(bad, sizeof(bad), "%s/dm.prom/dm.prom", dir);
	assert_int_equal(td_metrics_write_file(bad, "x", 1), -ENOTDIR);
	/* a name that is a directory: rename refuses, the temporary goes */
	snprintf(bad, sizeof(bad), "%s/sub.prom", dir);
	assert_int_equal(mkdir(bad, 0700), 0);
	assert_int_equal(td_metrics_write_file(bad, "x", 1), -EISDIR);
	assert_int_equal(files_in(dir), 2);
	assert_int_equal(td_metrics_write_file("relative.prom", "x", 1),
			 -EINVAL);
	assert_int_equal(td_metrics_write_file("/tmp/", "x", 1), -EINVAL);
	rmdir(bad);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* --- from a real store --------------------------------------------------- */

static int setup(void **state)
{
	static const char *const classes[] = { "local", "zone", "remote" };
	struct td_fixture *fx = td_fixture_new(
		"operator uid=0\nmetrics-interval 1\n", "vol1", classes, 3);
	struct td_grant g;
	char path[96];

	if (!fx)
		return -1;
	snprintf(path, sizeof(path), "%s/out/dm.prom", fx->dir);
	fx->d.cfg.metrics_path = strdup(path);
	/* a pending request whose reason (free text) must never show */
	memset(&g, 0, sizeof(g));
	strcpy(g.tenant, "acme");
	strcpy(g.volume, "vol1");
	g.requester = 1002;
	strcpy(g.reason, "REASON-WRITTEN-BY-SUPPORT");
	g.duration = 60;
	g.state = TD_GS_PENDING;
	g.requested = 1;
	g.pending_until = 4000000000LL;
	g.approver = -1;
	if (td_grant_insert(fx->d.st, &g))
		return -1;
	fx->d.no_dm = false;
	strcpy(fake_status, status_line);
	fake_status_err = 0;
	nlog_err = nlog_info_again = 0;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct td_fixture *fx = *state;
	char p[96];

	td_metrics_stop();
	unlink(fx->d.cfg.metrics_path);
	snprintf(p, sizeof(p), "%s/out", fx->dir);
	rmdir(p);
	return td_fixture_free(fx);
}

static void test_textfile_logged_once(void **state)
{
	struct td_fixture *fx = *state;
	char out[96];
	char *text;
	int i;

	/* the directory is missing: refused, logged once, still serving */
	for (i = 0; i < 5; i++)
		assert_int_equal(td_metrics_write_now(&fx->d), -ENOENT);
	assert_int_equal(nlog_err, 1);
	/* a full disk after that: still not logged again */
	snprintf(out, sizeof(out), "%s/out", fx->dir);
	assert_int_equal(mkdir(out, 0700), 0);
	full_disk = true;
	assert_int_equal(td_metrics_write_now(&fx->d), -ENOSPC);
	full_disk = false;
	assert_int_equal(nlog_err, 1);
	assert_int_equal(nlog_info_again, 0);
	/* it works again: said once */
	assert_int_equal(td_metrics_write_now(&fx->d), 0);
	assert_int_equal(td_metrics_write_now(&fx->d), 0);
	assert_int_equal(nlog_info_again, 1);
	assert_int_equal(nlog_err, 1);
	/* failing again is news again */
	full_disk = true;
	assert_int_equal(td_metrics_write_now(&fx->d), -ENOSPC);
	full_disk = false;
	assert_int_equal(nlog_err, 2);

	text = read_all(fx->d.cfg.metrics_path);
	assert_non_null(text);
	assert_non_null(strstr(text, "dmtenant_volume_attached{tenant=\"acme\",volume=\"vol1\","));
	assert_non_null(strstr(text, ",leg=\"2\",class=\"remote\",state=\"failed\","));
	assert_non_null(strstr(text, "\ndmtenant_device_writes_total{tenant=\"acme\",volume=\"vol1\","));
	assert_non_null(strstr(text, "\ndmtenant_access_requests_pending{tenant=\"acme\",volume=\"vol1\","));
	assert_string_equal(value_of(text, "\ndmtenant_status_errors{tenant=\"acme\",volume=\"vol1\","), "0");
	assert_string_equal(value_of(text, "\ndmtenant_access_requests_pending{tenant=\"acme\",volume=\"vol1\","), "1");
	assert_non_null(strstr(text, "\ndmtenant_audit_records_total{"));
	assert_null(strstr(text, "REASON-WRITTEN-BY-SUPPORT"));
	free(text);
}

static void test_status_unreadable(void **state)
{
	struct td_fixture *fx = *state;
	size_t len;
	char *text;

	fake_status_err = -ENXIO;
	text = td_metrics_collect(&fx->d, &len);
	assert_non_null(text);
	assert_string_equal(value_of(text, "\ndmtenant_status_errors{tenant=\"acme\",volume=\"vol1\","), "1");
	assert_null(strstr(text, "\ndmtenant_leg_state{"));
	free(text);
	/* a status line of another volume under that name: not shown */
	fake_status_err = 0;
	strcpy(fake_status, "acme other loaded 1 local 1:0 A 1 2 3 4 5 6");
	text = td_metrics_collect(&fx->d, &len);
	assert_null(strstr(text, "\ndmtenant_leg_state{"));
	free(text);
}

static void test_verb(void **state)
{
	struct td_fixture *fx = *state;
	struct td_caller op = { .uid = 0, .pid = 1 };
	struct td_caller nobody = { .uid = 4242, .pid = 2 };
	const char *line = "{\"verb\":\"metrics.get\"}";
	json_object *rep, *o, *t;
	char kek_hex[2 * TD_WRAPPED_MAX + 1];
	struct td_tenant tn;
	size_t i;

	td_metrics_attach_done("acme", "vol1", 1250);
	rep = td_handle_line(&fx->d, &op, line, strlen(line));
	assert_true(json_object_object_get_ex(rep, "ok", &o));
	assert_true(json_object_get_boolean(o));
	assert_true(json_object_object_get_ex(rep, "result", &o));
	assert_true(json_object_object_get_ex(o, "text", &t));
	assert_non_null(strstr(json_object_get_string(t),
		"\ndmtenant_attach_last_duration_seconds{tenant=\"acme\",volume=\"vol1\","));
	assert_string_equal(value_of(json_object_get_string(t),
		"\ndmtenant_attach_last_duration_seconds{"), "1.25");
	assert_null(strstr(json_object_get_string(t), "REASON-WRITTEN"));
	/* not even the wrapped KEK */
	assert_int_equal(td_tenant_get(fx->d.st, "acme", &tn), 0);
	for (i = 0; i < tn.kek_len && i < 8; i++)
		sprintf(kek_hex + 2 * i, "%02x", tn.kek[i]);
	assert_null(strstr(json_object_get_string(t), kek_hex));
	assert_int_equal(promtool(json_object_get_string(t)) > 0, 0);
	json_object_put(rep);

	rep = td_handle_line(&fx->d, &nobody, line, strlen(line));
	assert_true(json_object_object_get_ex(rep, "ok", &o));
	assert_false(json_object_get_boolean(o));
	assert_false(json_object_object_get_ex(rep, "result", &o));
	json_object_put(rep);
}

static void test_promtool(void **state)
{
	struct dmt_status *st;
	struct td_mx *mx = td_mx_new("host \"with\" \\ odd\nchars");
	char *text;
	int r;

	(void)state;
	assert_int_equal(dmt_status_parse(status_line, &st), 0);
	assert_int_equal(td_mx_add_status(mx, "acme", "vol1", st), 0);
	td_mx_add(mx, TD_MX_WIPE_DONE, 512, "tenant", "acme", "volume", "v2",
		  "job", "3", "method", "zero", NULL);
	td_mx_add(mx, TD_MX_WIPE_TOTAL, 4096, "tenant", "acme", "volume", "v2",
		  "job", "3", "method", "zero", NULL);
	td_mx_add(mx, TD_MX_ATTACH_SECONDS, 0.731, "tenant", "acme",
		  "volume", "vol1", NULL);
	text = td_mx_render(mx, NULL);
	r = promtool(text);
	free(text);
	td_mx_free(mx);
	dmt_status_free(st);
	if (r < 0)
		fail_msg("%s missing: run 'make deps' (Debian package prometheus)",
			 PROMTOOL);
	assert_int_equal(r, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_every_family),
		cmocka_unit_test(test_status_samples),
		cmocka_unit_test(test_status_old_kernel),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_diskstats),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test_setup_teardown(test_textfile_logged_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_unreadable,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_verb, setup, teardown),
		cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
