// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl's progress output (userspace/cli/tc-progress.c) in both modes:
 * on a terminal one line redrawn in place (\r, a bar, erase to the end),
 * elsewhere a plain line per 10 % step; rate and ETA from the samples'
 * clock.  Then "volume status --watch", "wipe status --wait" and
 * "tenantctl metrics" against canned replies (tc_call() here).
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
#include <unistd.h>
#include <cmocka.h>

#include "../../userspace/cli/tenantctl.h"
#include "../../userspace/daemon/proto.h"

static const char *const *replies;	/* one per call, the last repeats */
static unsigned int ncalls, nreplies;
static char verbs[16][32];

int tc_call(const char *verb, json_object *args, json_object **reply)
{
	const char *r = replies[ncalls < nreplies ? ncalls : nreplies - 1];

	if (ncalls < 16)
		snprintf(verbs[ncalls], sizeof(verbs[0]), "%s", verb);
	ncalls++;
	json_object_put(args);
	*reply = json_tokener_parse(r);
	return *reply ? 0 : -EBADMSG;
}

int tc_raw(int in_fd)
{
	(void)in_fd;
	return 1;
}

static unsigned int count_of(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

/* Run @fn with standard output going to a file; returns what it wrote. */
static char *capture(int (*fn)(void *), void *arg, int *ret)
{
	char path[] = "/tmp/tc-progress-XXXXXX";
	int fd = mkstemp(path), saved;
	char *buf = calloc(1, 65536);
	ssize_t n;

	assert_true(fd >= 0);
	assert_non_null(buf);
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	*ret = fn(arg);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, buf, 65535, 0);
	assert_true(n >= 0);
	close(fd);
	unlink(path);
	return buf;
}

/* @fn against the canned replies @seq (@n of them, the last repeats). */
static char *canned(const char *const *seq, unsigned int n,
		    int (*fn)(void *), int *ret)
{
	replies = seq;
	nreplies = n;
	ncalls = 0;
	return capture(fn, NULL, ret);
}

static void test_format_tty(void **state)
{
	char line[256];

	(void)state;
	tc_progress_format(line, sizeof(line), true, "job 3", 5 << 20,
			   10 << 20, 1 << 20, "B");
	assert_string_equal(line,
		"\rjob 3 [############>           ]  50.0% 1.0 MiB/s, ETA 0:05\033[K");
	/* before the rate is known */
	tc_progress_format(line, sizeof(line), true, "v", 0, 8, 0, "regions");
	assert_string_equal(line,
		"\rv [>                       ]   0.0% -, ETA -\033[K");
	tc_progress_format(line, sizeof(line), true, "v", 8, 8, 2, "regions");
	assert_non_null(strstr(line, "[########################] 100.0% 2.0 regions/s, ETA 0:00"));
}

static void test_format_plain(void **state)
{
	char line[256];

	(void)state;
	tc_progress_format(line, sizeof(line), false, "job 3", 5 << 20,
			   10 << 20, 1 << 20, "B");
	assert_string_equal(line,
		"job 3: 50% (5.0 MiB of 10.0 MiB), 1.0 MiB/s, ETA 0:05\n");
	tc_progress_format(line, sizeof(line), false, "acme/v resync", 3, 8,
			   0.5, "regions");
	assert_string_equal(line,
		"acme/v resync: 37% (3 of 8 regions), 0.5 regions/s, ETA 0:10\n");
	/* hours */
	tc_progress_format(line, sizeof(line), false, "w", 0, 7200, 1, "B");
	assert_non_null(strstr(line, "ETA 2:00:00\n"));
}

static void test_update_modes(void **state)
{
	struct tc_progress p;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	uint64_t d;

	(void)state;
	/* plain: one line per 10 % step, however often it is called */
	f = open_memstream(&out, &len);
	tc_progress_init(&p, f, false);
	for (d = 0; d <= 1000; d += 5)
		tc_progress_update(&p, "w", d << 10, 1000 << 10, "B",
				   1000 + (int64_t)d * 10);
	tc_progress_end(&p);
	fclose(f);
	assert_int_equal(count_of(out, "\n"), 11);
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\033'));
	/* 1000 KiB in 10 s: 100 KiB/s; half-way, 5 s to go */
	assert_non_null(strstr(out, "w: 50% (500.0 KiB of 1000.0 KiB), 100.0 KiB/s, ETA 0:05\n"));
	free(out);

	/* terminal: redrawn at every call, one newline at the end */
	out = NULL;
	f = open_memstream(&out, &len);
	tc_progress_init(&p, f, true);
	for (d = 0; d <= 100; d += 10)
		tc_progress_update(&p, "w", d, 100, "regions",
				   (int64_t)d * 100);
	tc_progress_end(&p);
	fclose(f);
	assert_int_equal(count_of(out, "\r"), 11);
	assert_int_equal(count_of(out, "\033[K"), 11);
	assert_int_equal(count_of(out, "\n"), 1);
	assert_int_equal(out[strlen(out) - 1], '\n');
	assert_non_null(strstr(out, " 100.0% 10.0 regions/s, ETA 0:00"));
	free(out);
}

#define ST(action, done) \
	"{\"ok\":true,\"result\":{\"tenant\":\"acme\",\"volume\":\"v\"," \
	"\"kernel\":{\"key_state\":\"loaded\",\"leg_states\":[\"A\",\"a\"]," \
	"\"sync\":{\"regions\":8,\"in_sync\":" #done ",\"action\":\"" action \
	"\",\"done\":" #done ",\"total\":8,\"mismatches\":0}," \
	"\"remote\":[{\"leg\":1,\"mode\":\"streaming\",\"unreplicated_bytes\":2048," \
	"\"rpo_ms\":1500,\"consistent\":true}]}}}"

static int watch(void *arg)
{
	(void)arg;
	return tc_volume_watch("acme", "v", 0);
}

static void test_volume_watch(void **state)
{
	static const char *const seq[] = {
		ST("resync", 0), ST("resync", 2), ST("resync", 4),
		ST("resync", 6), ST("idle", 8),
	};
	char *out;
	int r;

	(void)state;
	out = canned(seq, 5, watch, &r);
	assert_int_equal(r, 0);
	assert_int_equal(ncalls, 5);
	assert_string_equal(verbs[0], "volume.status");
	/* not a terminal: plain lines, one per step seen */
	assert_non_null(strstr(out, "acme/v resync: 0% (0 of 8 regions), -, ETA -\n"));
	assert_non_null(strstr(out, "acme/v resync: 75% (6 of 8 regions), "));
	assert_int_equal(count_of(out, "\n"), 4);
	assert_null(strchr(out, '\r'));
	free(out);
}

static int status_cmd(void *arg)
{
	char *argv[] = { "tenantctl", "volume", "status", "acme", "v", NULL };

	(void)arg;
	return tc_main(5, argv);
}

static void test_status_sync_lines(void **state)
{
	static const char *const one[] = { ST("recover", 5) };
	char *out;
	int r;

	(void)state;
	out = canned(one, 1, status_cmd, &r);
	assert_int_equal(r, 0);
	assert_non_null(strstr(out, "sync:       5/8 regions in sync, recover 5/8, mismatches 0\n"));
	assert_non_null(strstr(out, "remote:     leg 1 streaming, 2.0 KiB unreplicated, RPO 1.5 s, consistent\n"));
	free(out);
}

#define JOB(state, done) \
	"{\"ok\":true,\"result\":{\"jobs\":[{\"job\":7,\"tenant\":\"acme\"," \
	"\"volume\":\"v\",\"method\":\"zero\",\"state\":\"" state "\"," \
	"\"percent\":0,\"leg\":0,\"pass\":0,\"bytes_done\":" #done "," \
	"\"bytes_total\":4194304,\"resumes\":0,\"error\":null}]}}"

static int wipe_wait(void *arg)
{
	char *argv[] = { "tenantctl", "wipe", "status", "--wait", NULL };

	(void)arg;
	return tc_main(4, argv);
}

static void test_wipe_wait(void **state)
{
	static const char *const seq[] = {
		JOB("running", 0), JOB("running", 2097152),
		JOB("done", 4194304),
	};
	char *out;
	int r;

	(void)state;
	out = canned(seq, 3, wipe_wait, &r);
	assert_int_equal(r, 0);
	assert_int_equal(ncalls, 3);
	assert_non_null(strstr(out, "job 7 acme/v zero: 0% (0 B of 4.0 MiB), -, ETA -\n"));
	assert_non_null(strstr(out, "job 7 acme/v zero: 50% (2.0 MiB of 4.0 MiB), "));
	assert_non_null(strstr(out, "job 7 acme/v zero: done"));
	assert_null(strchr(out, '\r'));
	free(out);
}

static int metrics_cmd(void *arg)
{
	char *argv[] = { "tenantctl", "metrics", NULL };

	(void)arg;
	return tc_main(2, argv);
}

static void test_metrics(void **state)
{
	static const char *const ok[] = {
		"{\"ok\":true,\"result\":{\"format\":\"text/plain; version=0.0.4\","
		"\"text\":\"# HELP a b\\n# TYPE a gauge\\na{host=\\\"h\\\"} 1\\n\"}}"
	};
	static const char *const denied[] = {
		"{\"ok\":false,\"error\":{\"code\":\"denied\",\"message\":\"no\"}}"
	};
	char *out;
	int r;

	(void)state;
	out = canned(ok, 1, metrics_cmd, &r);
	assert_int_equal(r, 0);
	assert_string_equal(verbs[0], "metrics.get");
	assert_string_equal(out, "# HELP a b\n# TYPE a gauge\na{host=\"h\"} 1\n");
	free(out);
	out = canned(denied, 1, metrics_cmd, &r);
	assert_int_equal(r, td_err_exit_code(TD_E_DENIED));
	assert_string_equal(out, "");
	free(out);
}

static int setup(void **state)
{
	(void)state;
	if (!freopen("/dev/null", "w", stderr))
		return -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_tty),
		cmocka_unit_test(test_format_plain),
		cmocka_unit_test(test_update_modes),
		cmocka_unit_test(test_volume_watch),
		cmocka_unit_test(test_status_sync_lines),
		cmocka_unit_test(test_wipe_wait),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
