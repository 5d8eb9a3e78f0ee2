/* The loopback listener of berth login --sso (sso.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "osrand.h"
#include "sso.h"
#include "str.h"

#define SSO_MAX_REQUEST 16384   /* a request head; the token is < 8 KiB */
#define SSO_CLIENT_TIMEOUT_MS 5000 /* for one browser connection to send its request */

int sso_listen(int port, struct sso_listener *out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	unsigned char raw[32];
	char *state = NULL;
	int fd, one = 1, rc;

	if (port < 0 || port > 65535)
		return err_set(BERR_INVALID, "port %d: not between 0 and 65535", port);
	if ((rc = osrand_bytes(raw, sizeof(raw))) < 0)
		return rc;
	if (!(state = b64_encode(raw, sizeof(raw), true)))
		return err_set(BERR_NOMEM, "out of memory");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(state);
		return err_set(BERR_IO, "socket: %s", strerror(errno));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		rc = errno == EADDRINUSE ? err_set(BERR_UNAVAILABLE, "127.0.0.1:%d is in use: pick another --sso-port", port)
					 : err_set(BERR_IO, "listen on 127.0.0.1:%d: %s", port, strerror(errno));
		close(fd);
		free(state);
		return rc;
	}
	out->fd = fd;
	out->port = ntohs(sa.sin_port);
	str_copy(out->state, state, sizeof(out->state));
	free(state);
	return 0;
}

void sso_listener_release(struct sso_listener *l)
{
	if (l->fd > 0)
		close(l->fd);
	l->fd = -1;
	explicit_bzero(l->state, sizeof(l->state));
}

char *sso_return_url(const struct sso_listener *l)
{
	return str_printf("http://127.0.0.1:%d/auth/callback?state=%s", l->port, l->state);
}

/* Waits until fd is readable, up to ms. true when it is. */
static bool readable(int fd, int64_t ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (ms < 0)
		ms = 0;
	int n;
	do
		n = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

/* Reads a request head (up to the blank line) from conn into b, before
 * deadline. true when a whole head came. */
static bool read_head(int conn, struct buf *b, int64_t deadline)
{
	char chunk[2048];
	while (!b->ptr || !memmem(b->ptr, b->len, "\r\n\r\n", 4)) {
		if (!readable(conn, deadline - clock_mono_ms()))
			return false;
		ssize_t n = read(conn, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_append(b, chunk, (size_t)n) < 0)
			return false;
	}
	return true;
}

/* The value of key in query (a=b&c=d), newly allocated, or NULL when
 * absent. Not percent-decoded: the server appends the token (JWT characters)
 * as it is, and the state is ours (base64url), so an escaped value could
 * only be a foreign one, which must not match anyway. */
static char *query_value(const char *query, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			const char *v = p + klen + 1;
			return strndup(v, strcspn(v, "&"));
		}
	}
	return NULL;
}

static void answer(int conn, int status, const char *reason, const char *text)
{
	struct buf b;
	buf_init(&b, 4096);
	buf_printf(&b,
		   "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
		   "Content-Security-Policy: default-src 'none'\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
		   status, reason, strlen(text), text);
	size_t off = 0;
	while (b.ptr && off < b.len) {
		ssize_t n = write(conn, b.ptr + off, b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf_release(&b);
}

/* Handles one connection. 1 to keep waiting, 0 with *ret_token, or a BERR. */
static int serve_one(struct sso_listener *l, int conn, int64_t deadline, char **ret_token)
{
	struct buf b;
	char *state = NULL, *token = NULL;
	int rc = 1;

	buf_init(&b, SSO_MAX_REQUEST);
	int64_t until = clock_mono_ms() + SSO_CLIENT_TIMEOUT_MS;
	if (!read_head(conn, &b, until < deadline ? until : deadline))
		goto out;
	buf_putc(&b, '\0');
	/* "GET /auth/callback?... HTTP/1.1" */
	const char *target = b.ptr;
	if (!str_starts_with(target, "GET ")) {
		answer(conn, 405, "Method Not Allowed", "method not allowed\n");
		goto out;
	}
	target += 4;
	char *end = strchr(target, ' ');
	if (end)
		*end = '\0';
	if (!str_starts_with(target, "/auth/callback?") && strcmp(target, "/auth/callback")) {
		answer(conn, 404, "Not Found", "not found\n");
		goto out;
	}
	const char *query = strchr(target, '?') ? strchr(target, '?') + 1 : "";
	state = query_value(query, "state");
	token = query_value(query, "token");
	if (!state || !str_secure_eq(state, strlen(state), l->state, strlen(l->state))) {
		answer(conn, 400, "Bad Request",
		       "<p>Login refused: this callback does not belong to the login berth started "
		       "(state mismatch).</p>\n");
		rc = err_set(BERR_FORBIDDEN, "the login callback carried another state than berth sent: "
					     "refused (start the login again)");
		goto out;
	}
	if (!token || !*token) {
		answer(conn, 400, "Bad Request", "<p>Login failed: the server sent no token.</p>\n");
		rc = err_set(BERR_UNAUTHORIZED, "the login callback carried no token");
		goto out;
	}
	answer(conn, 200, "OK",
	       "<!doctype html><title>berth</title><p>Logged in. You may close this window and go back "
	       "to the terminal.</p>\n");
	*ret_token = token;
	token = NULL;
	rc = 0;
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (b.ptr)
		explicit_bzero(b.ptr, b.len);
	buf_release(&b);
	free(state);
	return rc;
}

int sso_wait_token(struct sso_listener *l, int64_t timeout_ms, char **ret_token)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0 || !readable(l->fd, left)) {
			if (clock_mono_ms() < deadline)
				continue; /* poll is capped at a minute */
			return err_set(BERR_TIMEOUT, "no login arrived within %llds",
				       (long long)((timeout_ms + 999) / 1000));
		}
		int conn = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			return err_set(BERR_IO, "accept on 127.0.0.1:%d: %s", l->port, strerror(errno));
		}
		int rc = serve_one(l, conn, deadline, ret_token);
		close(conn);
		if (rc <= 0)
			return rc;
	}
}
