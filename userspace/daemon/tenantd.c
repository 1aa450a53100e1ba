// SPDX-License-Identifier: GPL-2.0
/*
 * tenantd: the dm-tenant control daemon.  One thread, one poll loop:
 * non-blocking accept, per-connection input/output buffers with a size cap
 * and a deadline, requests handled one at a time (so the database and the
 * kernel see them in order) and answered in order.  See tenantd(8) and
 * Documentation/tenantd.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <dmtenant.h>

#include "log.h"
#include "monitor.h"	/* remote */
#include "ops.h"

#define MAX_CONNS	64
/*
 * Admission (Documentation/tenantd.md, "Connections"): a uid with no role
 * is answered "denied" at accept and closed; one uid holds at most
 * CONNS_PER_UID connections; the last CONNS_RESERVED slots are kept for the
 * roles that keep VMs running (operator, hypervisor).  At most
 * ACCEPTS_PER_TURN accepts per poll round, so a connect flood cannot keep
 * the loop from serving the connections it has.
 */
#define CONNS_PER_UID	8
#define CONNS_RESERVED	16
#define ACCEPTS_PER_TURN	32
/* Refusals are summarised per uid in the audit chain, one record per
 * uid and reason per window, not one per refusal. */
#define REFUSAL_WINDOW_MS	60000
#define MAX_REFUSERS	32
#define DEFAULT_TIMEOUT_MS	10000
#define DEFAULT_DB	"/var/lib/dm-tenant/tenantd.db"
#define DEFAULT_MODE	0666

struct conn {
	int fd;
	struct td_caller who;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	int64_t deadline;
	bool eof;		/* peer finished sending */
	bool closing;		/* close once the output is flushed */
};

static struct conn conns[MAX_CONNS];
static unsigned int nconns;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- systemd notification (sd_notify without libsystemd) --------------- */

static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   len) < 0)
		td_log(LOG_WARNING, "sd_notify: %s", strerror(errno));
	close(fd);
}

/* --- connections ------------------------------------------------------ */

/* wipe: a descriptor passed with a request lives until the
 * request is handled. */
static void conn_drop_fd(struct conn *c)
{
	if (c->who.has_fd)
		close(c->who.fd);
	c->who.has_fd = false;
}

/* recv() that also takes descriptors passed with SCM_RIGHTS (one kept). */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k, nfd;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfd; k++) {
			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(fd));
			conn_drop_fd(c);
			c->who.fd = fd;
			c->who.has_fd = true;
		}
	}
	return n;
}

static void conn_close(struct conn *c)
{
	conn_drop_fd(c);
	close(c->fd);
	free(c->in);
	free(c->out);
	*c = conns[--nconns];
	memset(&conns[nconns], 0, sizeof(conns[nconns]));
}

static void queue_reply(struct conn *c, json_object *reply)
{
	size_t len;
	char *line = td_reply_line(reply, &len);
	char *n;

	json_object_put(reply);
	if (!line) {
		c->closing = true;
		return;
	}
	n = realloc(c->out, c->out_len + len);
	if (!n) {
		free(line);
		c->closing = true;
		return;
	}
	c->out = n;
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
	free(line);
}

static void flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			c->closing = true;	/* peer gone */
			c->out_off = c->out_len;
			return;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
}

/* Handle every complete line in the input buffer. */
static void process(struct td_daemon *d, struct conn *c, unsigned int tmo)
{
	char *nl;

	/* One reply in flight per connection: a client that does not read
	 * its replies stops being read (bounded memory). */
	while (!c->closing && !c->out_len &&
	       (nl = memchr(c->in, '\n', c->in_len)) != NULL) {
		size_t len = (size_t)(nl - c->in);

		queue_reply(c, td_handle_line(d, &c->who, c->in, len));
		conn_drop_fd(c);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
		c->deadline = now_ms() + tmo;
		flush_out(c);
	}
	if (c->closing || c->out_len || memchr(c->in, '\n', c->in_len))
		return;
	if (c->in_len > TD_MAX_REQUEST) {
		char msg[96];

		snprintf(msg, sizeof(msg),
			 "request larger than %d bytes (connection closed)",
			 TD_MAX_REQUEST);
		queue_reply(c, td_handle_broken(d, &c->who, TD_E_TOO_LARGE,
						msg));
		c->closing = true;
		return;
	}
	if (c->eof) {
		/* The last request may end at EOF instead of a newline. */
		if (c->in_len)
			queue_reply(c, td_handle_line(d, &c->who, c->in,
						      c->in_len));
		conn_drop_fd(c);
		c->in_len = 0;
		c->closing = true;
	}
}

static void conn_read(struct td_daemon *d, struct conn *c, unsigned int tmo)
{
	for (;;) {
		ssize_t n;

		if (c->in_len > TD_MAX_REQUEST)
			break;
		n = conn_recv(c, c->in + c->in_len,
			      TD_MAX_REQUEST + 2 - c->in_len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			c->closing = true;
			c->out_off = c->out_len;
			return;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		c->in_len += (size_t)n;
		process(d, c, tmo);
		if (c->closing || c->out_len)
			return;
	}
	process(d, c, tmo);
}

/* --- admission: refusals, summarised ----------------------------------- */

struct refuser {
	uid_t uid;
	enum td_err why;	/* TD_E_DENIED (no role) or TD_E_BUSY */
	unsigned int n;
	int64_t first_ms;
};

static struct refuser refusers[MAX_REFUSERS];
static unsigned int nrefusers;

static void refusal_summary(struct td_daemon *d, const struct refuser *r,
			    int64_t now)
{
	char obj[32], detail[160];

	snprintf(obj, sizeof(obj), "uid %u", (unsigned int)r->uid);
	snprintf(detail, sizeof(detail),
		 "uid %u: %u refused requests in %" PRId64 " s (%s)",
		 (unsigned int)r->uid, r->n, (now - r->first_ms + 999) / 1000,
		 r->why == TD_E_DENIED ? "no role" : "connection limit");
	td_log(LOG_WARNING, "%s", detail);
	td_audit_event(d, "daemon.refused", obj, td_err_name(r->why), detail);
}

/* Summaries of the windows that are over (all of them if @all). */
static void refusals_flush(struct td_daemon *d, bool all)
{
	int64_t now = now_ms();
	unsigned int i;

	for (i = nrefusers; i-- > 0;) {
		if (!all && now - refusers[i].first_ms < REFUSAL_WINDOW_MS)
			continue;
		refusal_summary(d, &refusers[i], now);
		refusers[i] = refusers[--nrefusers];
	}
}

static void refusal_count(struct td_daemon *d, uid_t uid, enum td_err why)
{
	struct refuser *r = NULL;
	unsigned int i;

	for (i = 0; i < nrefusers && !r; i++)
		if (refusers[i].uid == uid && refusers[i].why == why)
			r = &refusers[i];
	if (!r) {
		if (nrefusers == MAX_REFUSERS) {
			/* Many uids at once: the oldest window closes early. */
			unsigned int old = 0;

			for (i = 1; i < nrefusers; i++)
				if (refusers[i].first_ms < refusers[old].first_ms)
					old = i;
			refusal_summary(d, &refusers[old], now_ms());
			refusers[old] = refusers[--nrefusers];
		}
		r = &refusers[nrefusers++];
		*r = (struct refuser){ .uid = uid, .why = why,
				       .first_ms = now_ms() };
		td_log(LOG_WARNING, "uid %u refused (%s); more refusals are counted and audited once per %d s",
		       (unsigned int)uid,
		       why == TD_E_DENIED ? "no role" : "connection limit",
		       REFUSAL_WINDOW_MS / 1000);
	}
	r->n++;
}

/* Answer at once and close: nothing is read from @fd. */
static void refuse(struct td_daemon *d, int fd, uid_t uid, enum td_err why,
		   const char *msg, const char *hint)
{
	json_object *reply = td_reply_err(NULL, why, msg, hint);
	size_t len;
	char *line = td_reply_line(reply, &len);

	json_object_put(reply);
	if (line && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		td_log(LOG_DEBUG, "refusal reply to uid %u lost",
		       (unsigned int)uid);
	free(line);
	close(fd);
	refusal_count(d, uid, why);
}

static unsigned int conns_of(uid_t uid)
{
	unsigned int i, n = 0;

	for (i = 0; i < nconns; i++)
		n += conns[i].who.uid == uid;
	return n;
}

static void do_accept(int lfd, struct td_daemon *d, unsigned int tmo)
{
	const unsigned int vital = 1U << TD_ROLE_OPERATOR |
				   1U << TD_ROLE_HYPERVISOR;
	unsigned int turn;

	for (turn = 0; turn < ACCEPTS_PER_TURN; turn++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *c;
		unsigned int roles;
		char msg[128];
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			close(fd);
			continue;
		}
		roles = td_uid_roles(&d->cfg, cred.uid);
		if (!roles) {
			snprintf(msg, sizeof(msg),
				 "uid %u has no role in tenantd", (unsigned int)cred.uid);
			refuse(d, fd, cred.uid, TD_E_DENIED, msg,
			       "roles come from tenantd.conf (ask the operator)");
			continue;
		}
		if (conns_of(cred.uid) >= CONNS_PER_UID) {
			snprintf(msg, sizeof(msg),
				 "uid %u already has %d connections open (the limit per uid)",
				 (unsigned int)cred.uid, CONNS_PER_UID);
			refuse(d, fd, cred.uid, TD_E_BUSY, msg,
			       "close idle connections, or retry in a moment");
			continue;
		}
		if (nconns >= MAX_CONNS ||
		    (!(roles & vital) &&
		     nconns >= MAX_CONNS - CONNS_RESERVED)) {
			refuse(d, fd, cred.uid, TD_E_BUSY, "too many connections",
			       "retry in a moment");
			continue;
		}
		c = &conns[nconns];
		memset(c, 0, sizeof(*c));
		c->in = malloc(TD_MAX_REQUEST + 2);
		if (!c->in) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->who.uid = cred.uid;
		c->who.pid = cred.pid;
		c->deadline = now_ms() + tmo;
		nconns++;
		(void)d;
	}
}

/* --- setup ------------------------------------------------------------- */

static int mkdir_parent(const char *path, mode_t mode)
{
	char *dir = strdup(path), *slash;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, mode) == 0)
			r = chmod(dir, mode) ? -errno : 0;	/* umask */
		else if (errno != EEXIST)
			r = -errno;
	}
	free(dir);
	return r;
}

static int listen_on(const char *path, unsigned int mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		td_log(LOG_ERR, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	mkdir_parent(path, 0755);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			td_log(LOG_ERR, "%s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, mode) || listen(fd, 64)) {
		td_log(LOG_ERR, "socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void dmt_log_cb(int prio, const char *msg, void *ud)
{
	(void)ud;
	td_log(prio, "libdmtenant: %s", msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tenantd [OPTIONS]\n"
		"The dm-tenant control daemon (see tenantd(8)).\n"
		"\n"
		"  -c, --config PATH      roles and settings (default " TD_DEFAULT_CONFIG ")\n"
		"  -s, --socket PATH      listening socket (default " TD_DEFAULT_SOCKET ")\n"
		"  -d, --database PATH    SQLite state (default " DEFAULT_DB ")\n"
		"  -k, --master-key PATH  host master key, created when absent\n"
		"                         (default " DMT_MASTER_KEY_DEFAULT_PATH ")\n"
		"  -m, --socket-mode MODE octal socket permissions (default 0666:\n"
		"                         every caller is identified by SO_PEERCRED)\n"
		"  -t, --timeout-ms MS    per-request deadline (default 10000)\n"
		"  -v, --verbose          debug messages\n"
		"      --check-config     parse the configuration and exit\n"
		"      --no-dm            never touch device-mapper or kernel modules\n"
		"                         (state and audit only: tests, dry runs)\n"
		"  -h, --help             this help\n"
		"Command-line options override the configuration file.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "database", required_argument, NULL, 'd' },
		{ "master-key", required_argument, NULL, 'k' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "no-dm", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = TD_DEFAULT_CONFIG, *sock = NULL, *db = NULL;
	const char *mkey = NULL;
	unsigned int mode = 0, tmo = 0;
	bool check_only = false, stop = false;
	struct td_daemon d = { .dev_dir = "/dev" };
	char err[512];
	sigset_t mask;
	int o, r, lfd, sfd, rc = 1;

	while ((o = getopt_long(argc, argv, "c:s:d:k:m:t:vh", opts, NULL)) !=
	       -1) {
		switch (o) {
		case 'c': config = optarg; break;
		case 's': sock = optarg; break;
		case 'd': db = optarg; break;
		case 'k': mkey = optarg; break;
		case 'm': mode = (unsigned int)strtoul(optarg, NULL, 8); break;
		case 't': tmo = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'v': td_log_level = LOG_DEBUG; break;
		case 'C': check_only = true; break;
		case 'N': d.no_dm = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	umask(077);
	r = dmt_process_harden();
	if (r)
		td_log(LOG_WARNING, "cannot harden the process: %s", strerror(-r));

	if (td_config_load(config, &d.cfg, err, sizeof(err))) {
		td_log(LOG_ERR, "configuration: %s", err);
		return 1;
	}
	if (check_only) {
		printf("%s: %zu role entries, ok\n", config, d.cfg.n);
		td_config_free(&d.cfg);
		return 0;
	}
	sock = sock ? sock : d.cfg.socket_path ? d.cfg.socket_path :
		TD_DEFAULT_SOCKET;
	db = db ? db : d.cfg.db_path ? d.cfg.db_path : DEFAULT_DB;
	mkey = mkey ? mkey : d.cfg.master_key ? d.cfg.master_key :
		DMT_MASTER_KEY_DEFAULT_PATH;
	mode = mode ? mode : d.cfg.socket_mode ? d.cfg.socket_mode :
		DEFAULT_MODE;
	tmo = tmo ? tmo : d.cfg.timeout_ms ? d.cfg.timeout_ms :
		DEFAULT_TIMEOUT_MS;

	mkdir_parent(db, 0700);
	r = td_store_open(db, &d.st, err, sizeof(err));
	if (r) {
		td_log(LOG_ERR, "database %s: %s", db, err);
		goto out;
	}
	r = dmt_master_key_load(mkey, &d.master);
	if (r == -ENOENT) {
		mkdir_parent(mkey, 0700);
		r = dmt_master_key_create(mkey, &d.master);
		if (!r)
			td_log(LOG_WARNING,
			       "created a new host master key %s: back it up; without it no tenant KEK unwraps",
			       mkey);
	}
	if (r) {
		td_log(LOG_ERR, "master key %s: %s", mkey, strerror(-r));
		goto out;
	}
	r = dmt_ctx_new(&d.dmt, d.no_dm ? DMT_CTX_NO_MODULE_LOAD : 0);
	if (r) {
		td_log(LOG_ERR, "libdmtenant: %s", strerror(-r));
		goto out;
	}
	dmt_ctx_set_log_fn(d.dmt, dmt_log_cb, NULL);
	dmt_ctx_set_log_level(d.dmt, td_log_level >= LOG_DEBUG ? LOG_DEBUG :
			      LOG_WARNING);

	td_audit_startup_check(&d);
	td_audit_event(&d, "daemon.start", "", "ok", config);
	td_reconcile(&d);
	td_cleanup_intents(&d);
	td_resume_rotations(&d);
	td_access_startup(&d);	/* -- access -- */
	td_wipe_resume(&d);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	lfd = listen_on(sock, mode);
	if (sfd < 0 || lfd < 0)
		goto out;
	td_log(LOG_INFO, "listening on %s (mode %04o), database %s, %zu role entries",
	       sock, mode, db, d.cfg.n);
	notify("READY=1\nSTATUS=listening");

	while (!stop) {
		struct pollfd pfd[MAX_CONNS + 2];
		int64_t now = now_ms(), next = now + 60000, due;
		unsigned int i, n = 0;

		/* -- access -- grants whose time is up end here */
		due = td_access_tick(&d);
		if (due >= 0 && now + due < next)
			next = now + due;
		/* -- remote -- failed remote legs retried here */
		due = td_monitor_tick(&d);
		if (due >= 0 && now + due < next)
			next = now + due;
		/* -- metrics -- the textfile for node_exporter */
		due = td_metrics_tick(&d);
		if (due >= 0 && now + due < next)
			next = now + due;

		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		/* Always accepted: a refusal needs the connection too. */
		pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];

			pfd[n++] = (struct pollfd){ .fd = c->fd,
				.events = c->out_len ? POLLOUT :
				(c->closing || c->eof ? 0 : POLLIN) };
			if (c->deadline < next)
				next = c->deadline;
		}
		if (td_wipe_busy() && next > now + 500)
			next = now + 500;	/* wipe */
		if (poll(pfd, n, next > now ? (int)(next - now) : 0) < 0 &&
		    errno != EINTR) {
			td_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					struct td_config nc;

					if (td_config_load(config, &nc, err,
							   sizeof(err))) {
						td_log(LOG_ERR, "reload: %s (keeping the old roles)",
						       err);
						td_audit_event(&d, "daemon.reload",
							       config, "invalid-argument",
							       err);
						continue;
					}
					td_config_free(&d.cfg);
					d.cfg = nc;
					td_log(LOG_INFO, "reloaded %s: %zu role entries",
					       config, d.cfg.n);
					td_audit_event(&d, "daemon.reload",
						       config, "ok", "");
				} else {
					stop = true;
				}
			}
		}
		/* Connections first (their fds are at 2..), then accept. */
		for (i = n - 2; i-- > 0;) {
			struct conn *c = &conns[i];
			short re = pfd[i + 2].revents;

			if (c->out_len)
				flush_out(c);
			if (!c->out_len && (re & (POLLIN | POLLHUP | POLLERR)))
				conn_read(&d, c, tmo);
			else if (!c->out_len)
				process(&d, c, tmo);	/* buffered lines */
			if (!c->out_len && c->closing) {
				conn_close(c);
				continue;
			}
			if (now_ms() >= c->deadline && !c->out_len) {
				if (c->in_len)
					queue_reply(c, td_handle_broken(&d,
						&c->who, TD_E_TIMEOUT,
						"request incomplete at the deadline (connection closed)"));
				c->closing = true;
				flush_out(c);
				if (!c->out_len)
					conn_close(c);
			}
		}
		if (pfd[1].revents & POLLIN)
			do_accept(lfd, &d, tmo);
		refusals_flush(&d, false);
		td_wipe_tick(&d);
	}

	/* Shutdown: requests are handled synchronously, so none is in flight;
	 * give pending replies a moment, then close everything. */
	notify("STOPPING=1");
	close(lfd);
	unlink(sock);
	{
		int64_t until = now_ms() + 1000;
		unsigned int i;

		while (nconns && now_ms() < until) {
			for (i = nconns; i-- > 0;) {
				flush_out(&conns[i]);
				if (!conns[i].out_len)
					conn_close(&conns[i]);
			}
			if (nconns)
				usleep(10000);
		}
		while (nconns)
			conn_close(&conns[0]);
	}
	refusals_flush(&d, true);
	td_wipe_stop(&d);
	td_monitor_stop();	/* remote */
	td_metrics_stop();
	td_audit_event(&d, "daemon.stop", "", "ok", "SIGTERM");
	td_log(LOG_INFO, "stopped");
	rc = 0;
out:
	dmt_ctx_free(d.dmt);
	dmt_key_free(d.master);
	td_store_close(d.st);
	td_config_free(&d.cfg);
	return rc;
}
