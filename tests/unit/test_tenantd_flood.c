// SPDX-License-Identifier: GPL-2.0
/*
 * No local user can starve tenantd.  tenantd (build/bin/tenantd, or
 * $TENANTD) runs with --no-dm on a private socket; while a uid with no role
 * (65534) floods it with connections and junk lines, and a uid with a
 * minor role (support) holds as many connections open as it can, the
 * operator and a hypervisor each make 100 requests: every one must
 * succeed.  Afterwards the audit chain holds a summary of the refusals
 * ("uid 65534: N refused requests in T s"), not one record per request.
 *
 * Needs root (to run the clients as other uids); skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#define NOBODY		65534
#define HYPERVISOR	1001
#define SUPPORT		1002
#define REQUESTS	100
#define FLOOD_FDS	200

struct fx {
	char dir[64], sock[96], db[96], conf[96], key[96];
	pid_t tenantd;
};

static struct fx fx;

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int sock_connect(bool nonblock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
			(nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.sock);
	/* A bound on every wait of a client: connect, send, receive. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Non-blocking: a full backlog (EAGAIN) is a failed attempt too. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request on its own connection, as tenantctl makes it; true if ok. */
static bool request_ok(const char *line)
{
	char buf[4096];
	size_t got = 0;
	int fd = sock_connect(false);
	bool ok = false;

	if (fd < 0)
		return false;
	if (write(fd, line, strlen(line)) == (ssize_t)strlen(line)) {
		while (got < sizeof(buf) - 1) {
			ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			if (memchr(buf, '\n', got))
				break;
		}
		buf[got] = '\0';
		ok = strstr(buf, "\"ok\":true") != NULL;
		if (!ok)
			fprintf(stderr, "# reply: %s\n", got ? buf : "(none)");
	}
	close(fd);
	return ok;
}

/* Failed requests of @n; stops at the first failure. */
static unsigned int requests(const char *line, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!request_ok(line))
			return n - i;
	return 0;
}

static void become(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		_exit(99);
}

/*
 * A flooder: keeps up to FLOOD_FDS connections (non-blocking connects),
 * each sending a junk line if @junk, reconnecting whenever one is closed;
 * writes one byte to @ready once it has made FLOOD_FDS connects.
 */
static void flood(uid_t uid, bool junk, int ready)
{
	struct pollfd p[FLOOD_FDS];
	unsigned int made = 0, i;
	bool told = false;
	char buf[512];

	become(uid);
	for (i = 0; i < FLOOD_FDS; i++)
		p[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
	for (;;) {
		for (i = 0; i < FLOOD_FDS; i++) {
			if (p[i].fd >= 0)
				continue;
			p[i].fd = sock_connect(true);
			made++;
			if (p[i].fd >= 0 && junk &&
			    send(p[i].fd, "junk\n", 5, MSG_NOSIGNAL) < 0)
				errno = 0;
		}
		if (!told && made >= FLOOD_FDS) {
			told = true;
			if (write(ready, "r", 1) != 1)
				_exit(98);
		}
		if (poll(p, FLOOD_FDS, 10) < 0)
			continue;
		for (i = 0; i < FLOOD_FDS; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (read(p[i].fd, buf, sizeof(buf)) > 0 &&
			    !(p[i].revents & (POLLHUP | POLLERR)))
				continue;
			close(p[i].fd);
			p[i].fd = -1;
		}
	}
}

static pid_t start_flood(uid_t uid, bool junk)
{
	int pp[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(pp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(pp[0]);
		flood(uid, junk, pp[1]);
	}
	close(pp[1]);
	assert_int_equal(read(pp[0], &c, 1), 1);
	close(pp[0]);
	return pid;
}

static int setup(void **state)
{
	static const char conf[] =
		"operator uid=0\n"
		"hypervisor uid=1001 vms=vm1\n"
		"support uid=1002\n";
	const char *tenantd = getenv("TENANTD");
	FILE *f;
	int i;

	(void)state;
	if (!tenantd)
		tenantd = "build/bin/tenantd";
	strcpy(fx.dir, "/tmp/test_tenantd_flood.XXXXXX");
	if (!mkdtemp(fx.dir) || chmod(fx.dir, 0755))
		return -1;
	snprintf(fx.sock, sizeof(fx.sock), "%s/s", fx.dir);
	snprintf(fx.db, sizeof(fx.db), "%s/db/t.db", fx.dir);
	snprintf(fx.conf, sizeof(fx.conf), "%s/t.conf", fx.dir);
	snprintf(fx.key, sizeof(fx.key), "%s/db/master.key", fx.dir);
	f = fopen(fx.conf, "w");
	if (!f || fputs(conf, f) < 0 || fclose(f))
		return -1;
	fx.tenantd = fork();
	if (fx.tenantd < 0)
		return -1;
	if (!fx.tenantd) {
		int null = open("/dev/null", O_WRONLY);

		/* Its log is not the test's output. */
		if (null >= 0 && !getenv("TEST_VERBOSE"))
			dup2(null, STDERR_FILENO);
		execl(tenantd, "tenantd", "--no-dm", "-c", fx.conf, "-s",
		      fx.sock, "-d", fx.db, "-k", fx.key, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 3000; i++) {	/* up to 30 s */
		struct stat sb;

		if (stat(fx.sock, &sb) == 0)
			return 0;
		if (waitpid(fx.tenantd, NULL, WNOHANG) == fx.tenantd) {
			fprintf(stderr, "# %s did not start (make userspace?)\n",
				tenantd);
			fx.tenantd = 0;
			return -1;
		}
		msleep(10);
	}
	return -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (fx.tenantd > 0) {
		kill(fx.tenantd, SIGKILL);
		waitpid(fx.tenantd, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	return system(cmd) ? -1 : 0;
}

static int count_cb(void *arg, int n, char **val, char **col)
{
	(void)n;
	(void)col;
	*(long *)arg = val[0] ? atol(val[0]) : 0;
	return 0;
}

static long db_count(sqlite3 *db, const char *where)
{
	char q[256];
	long n = -1;

	snprintf(q, sizeof(q), "SELECT count(*) FROM audit WHERE %s", where);
	assert_int_equal(sqlite3_exec(db, q, count_cb, &n, NULL), SQLITE_OK);
	return n;
}

static void test_flood_starves_nobody(void **state)
{
	pid_t nobody, support, hv;
	unsigned int op_failed;
	int status;
	sqlite3 *db;

	(void)state;
	/* A volume.list needs nothing to exist; a tenant.list neither. */
	nobody = start_flood(NOBODY, true);
	support = start_flood(SUPPORT, false);
	hv = fork();
	assert_true(hv >= 0);
	if (!hv) {
		become(HYPERVISOR);
		_exit((int)requests("{\"verb\":\"volume.list\"}\n", REQUESTS));
	}
	op_failed = requests("{\"verb\":\"tenant.list\"}\n", REQUESTS);
	assert_int_equal(waitpid(hv, &status, 0), hv);
	kill(nobody, SIGKILL);
	kill(support, SIGKILL);
	waitpid(nobody, NULL, 0);
	waitpid(support, NULL, 0);
	assert_int_equal(op_failed, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Stopped, tenantd writes the summaries that are still open. */
	assert_int_equal(kill(fx.tenantd, SIGTERM), 0);
	assert_int_equal(waitpid(fx.tenantd, &status, 0), fx.tenantd);
	fx.tenantd = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(sqlite3_open_v2(fx.db, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(db_count(db, "action = 'tenant.list' AND"
				  " result = 'ok'"), REQUESTS);
	assert_int_equal(db_count(db, "action = 'volume.list' AND"
				  " result = 'ok'"), REQUESTS);
	assert_true(db_count(db, "action = 'daemon.refused' AND"
			     " object = 'uid 65534' AND detail LIKE"
			     " 'uid 65534: % refused requests in % s (no role)'")
		    >= 1);
	/* The junk lines of the uid with no role were never audited one
	 * by one: a handful of records, not thousands. */
	assert_int_equal(db_count(db, "uid = 65534"), 0);
	assert_true(db_count(db, "1") < 2 * REQUESTS + 20);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flood_starves_nobody,
						setup, teardown),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (clients run as other uids)\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
