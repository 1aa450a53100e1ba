// SPDX-License-Identifier: GPL-2.0
/*
 * tenantctl transport: one request line out, one reply line back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../daemon/proto.h"
#include "tenantctl.h"

#define MAX_REPLY	(256 * 1024 * 1024)

/* wipe: tc_send_fd (tc-wipe.c) goes with the request. */
/* Weak: tenantctl's is in tc-wipe.c; dmt-udev links this file alone. */
__attribute__((weak)) int tc_send_fd = -1;
static ssize_t send_first(int fd, const char *p, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (tc_send_fd < 0)
		return send(fd, p, len, MSG_NOSIGNAL);
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &tc_send_fd, sizeof(int));
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

int tc_call(const char *verb, json_object *args, json_object **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = opt_timeout };
	size_t len, off = 0, cap = 65536, used = 0;
	char *line = td_request_line(verb, args, &len);
	char *buf = NULL;
	int fd, r = -EIO, send_err = 0;

	*reply = NULL;
	if (!line)
		return -ENOMEM;
	if (strlen(opt_socket) >= sizeof(sa.sun_path)) {
		free(line);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, opt_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < len) {
		ssize_t n = off ? send(fd, line + off, len - off, MSG_NOSIGNAL) :
			send_first(fd, line, len);

		if (n <= 0) {
			/* tenantd may have answered and closed at once (a
			 * refusal): read that answer before giving up. */
			send_err = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			char *nb;

			if (cap >= MAX_REPLY) {
				r = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + used, cap - used - 1, 0);
		if (n < 0) {
			r = send_err ? send_err :
				errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (memchr(buf + used - n, '\n', (size_t)n))
			break;
	}
	buf[used] = '\0';
	*reply = json_tokener_parse(buf);
	r = *reply ? 0 : send_err ? send_err : -EBADMSG;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return r;
}


/*
 * tenantctl raw: copy standard input to the socket as it arrives (no
 * framing, no checks), half-close, print whatever tenantd answers.  For
 * protocol debugging and the tests of malformed, truncated and slow
 * requests.  Returns 0 if a reply came, 1 otherwise.
 */
int tc_raw(int in_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[65536];
	ssize_t n;
	int fd, got = 0;

	if (strlen(opt_socket) >= sizeof(sa.sun_path))
		return 1;
	strcpy(sa.sun_path, opt_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	while ((n = read(in_fd, buf, sizeof(buf))) > 0) {
		ssize_t off = 0;

		while (off < n) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off),
					 MSG_NOSIGNAL);

			if (w <= 0)
				goto reply;	/* tenantd closed: read why */
			off += w;
		}
	}
reply:
	shutdown(fd, SHUT_WR);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (write(STDOUT_FILENO, buf, (size_t)n) != n)
			break;
		got = 1;
	}
	close(fd);
	return got ? 0 : 1;
}
