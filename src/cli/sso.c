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
#include "oidc.h"
#include "osrand.h"
#include "sso.h"
#include "str.h"

#define SSO_MAX_REQUEST 16384   /* a request head */
#define SSO_CLIENT_TIMEOUT_MS 5000 /* for one browser connection to send its request */

/* 32 random bytes as base64url into out[48]. */
static int random_b64(char out[48])
{
	unsigned char raw[32];
	char *s;
	int rc = osrand_bytes(raw, sizeof(raw));

	if (rc < 0)
		return rc;
	if (!(s = b64_encode(raw, sizeof(raw), true)))
		return err_set(BERR_NOMEM, "out of memory");
	str_copy(out, s, 48);
	explicit_bzero(raw, sizeof(raw));
	free(s);
	return 0;
}

int sso_listen(int port, struct sso_listener *out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	struct sso_listener l = {.fd = -1};
	int one = 1, rc;

	if (port < 0 || port > 65535)
		return err_set(BERR_INVALID, "port %d: not between 0 and 65535", port);
	if ((rc = random_b64(l.state)) < 0 || (rc = random_b64(l.verifier)) < 0)
		return rc;
	if ((rc = oidc_pkce_challenge(l.verifier, l.challenge)) < 0)
		return rc;
	l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l.fd < 0) {
		rc = err_set(BERR_IO, "socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l.fd, 8) < 0 ||
	    getsockname(l.fd, (struct sockaddr *)&sa, &len) < 0) {
		rc = errno == EADDRINUSE ? err_set(BERR_UNAVAILABLE, "127.0.0.1:%d is in use: pick another --sso-port", port)
					 : err_set(BERR_IO, "listen on 127.0.0.1:%d: %s", port, strerror(errno));
		goto fail;
	}
	l.port = ntohs(sa.sin_port);
	*out = l;
	return 0;
fail:
	sso_listener_release(&l);
	return rc;
}

void sso_listener_release(struct sso_listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	explicit_bzero(l->state, sizeof(l->state));
	explicit_bzero(l->verifier, sizeof(l->verifier));
}

char *sso_login_query(const struct sso_listener *l)
{
	struct buf b;
	char *ret = str_printf("http://127.0.0.1:%d/auth/callback?state=%s", l->port, l->state);

	buf_init(&b, 8192);
	if (!ret || buf_puts(&b, "return_url=") < 0 || buf_put_url_escaped(&b, ret) < 0 ||
	    buf_printf(&b, "&code_challenge=%s&code_challenge_method=S256", l->challenge) < 0) {
		free(ret);
		buf_release(&b);
		return NULL;
	}
	free(ret);
	return buf_detach(&b, NULL);
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
 * absent. Not percent-decoded: the server appends the code (base64url)
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

/* Handles one connection. 1 to keep waiting, 0 with *ret_code, or a BERR. */
static int serve_one(struct sso_listener *l, int conn, int64_t deadline, char **ret_code)
{
	struct buf b;
	char *state = NULL, *code = NULL;
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
	code = query_value(query, "code");
	if (!state || !str_secure_eq(state, strlen(state), l->state, strlen(l->state))) {
		answer(conn, 400, "Bad Request",
		       "<p>Login refused: this callback does not belong to the login berth started "
		       "(state mismatch).</p>\n");
		rc = err_set(BERR_FORBIDDEN, "the login callback carried another state than berth sent: "
					     "refused (start the login again)");
		goto out;
	}
	if (!code || !*code) {
		answer(conn, 400, "Bad Request", "<p>Login failed: the server sent no login code.</p>\n");
		rc = err_set(BERR_UNAUTHORIZED, "the login callback carried no code (is the API server older than "
						"this berth?)");
		goto out;
	}
	answer(conn, 200, "OK",
	       "<!doctype html><title>berth</title><p>Logged in. You may close this window and go back "
	       "to the terminal.</p>\n");
	*ret_code = code;
	code = NULL;
	rc = 0;
out:
	free(code);
	if (b.ptr)
		explicit_bzero(b.ptr, b.len);
	buf_release(&b);
	free(state);
	return rc;
}

int sso_wait_code(struct sso_listener *l, int64_t timeout_ms, char **ret_code)
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
		int rc = serve_one(l, conn, deadline, ret_code);
		close(conn);
		if (rc <= 0)
			return rc;
	}
}
