/* The loopback HTTP server pieces the webhook tests share (tests/unit/test_alert.c,
 * tests/tsan/tsan_threads.c): a listening socket on 127.0.0.1 at an ephemeral port (parallel
 * runs do not clash), and reading one request, headers and Content-Length body. */
#ifndef DM_TESTS_LOOPBACK_HTTP_H
#define DM_TESTS_LOOPBACK_HTTP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listening socket on 127.0.0.1, its port in *port; -1 on failure. */
static int loopback_listen(int backlog, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* Reads one request into buf (NUL-terminated, at most cap - 1 bytes): until the headers and
 * Content-Length bytes of body are in, or the client closes. Returns its length; *hend points at
 * the "\r\n\r\n" ending the headers, NULL when none came. */
static size_t loopback_read_request(int fd, char *buf, size_t cap, char **hend)
{
	size_t len = 0;
	long clen = -1;
	*hend = NULL;
	buf[0] = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = 0;
		if (!*hend && (*hend = strstr(buf, "\r\n\r\n"))) {
			char *cl = strstr(buf, "Content-Length: ");
			clen = cl ? strtol(cl + 16, NULL, 10) : 0;
		}
		if (*hend && (long)(len - (size_t)(*hend + 4 - buf)) >= clen)
			break;
	}
	return len;
}

#endif
