/*
 * sso.h — the loopback half of `berth login --sso`.
 *
 * The API server runs the OpenID Connect authorization code flow (PKCE S256,
 * state and nonce) with the identity provider itself; at its end it sends
 * the browser to the return_url it was given, which for the CLI is a
 * loopback URL (berth-api-server(8)). This module is the CLI's side of
 * that, as RFC 8252 asks of native apps: a one-shot HTTP listener on
 * 127.0.0.1 (a port the kernel picks, or one the user gives), a fresh
 * random state in the return_url, and a PKCE pair of the CLI's own. The
 * login URL carries the challenge; the server answers the loopback URL
 * with a one-time code, which only the holder of the verifier can redeem
 * (POST /auth/token), so the session token never travels in a URL.
 * Anything else reaching the port (favicon requests, other paths) gets a
 * 404 and the wait goes on; a callback with the wrong state ends the login.
 */
#ifndef BERTH_CLI_SSO_H
#define BERTH_CLI_SSO_H

#include <stdint.h>

struct sso_listener {
	int fd;          /* listening socket, O_CLOEXEC */
	int port;        /* the port it listens on */
	char state[48];  /* 32 random bytes, base64url */
	char verifier[48]; /* PKCE verifier: 32 random bytes, base64url */
	char challenge[44]; /* its S256 challenge */
};

/* Listens on 127.0.0.1:port (0: a free port) and draws a new state and
 * PKCE verifier. 0, or
 * BERR_UNAVAILABLE (port taken) / BERR_INTERNAL with err_msg(); *out
 * untouched on failure. */
int sso_listen(int port, struct sso_listener *out);

/* Closes the socket and forgets the secrets. Safe on {.fd = -1}. */
void sso_listener_release(struct sso_listener *l);

/* The query of the server's /auth/login for this listener:
 * "return_url=http%3A%2F%2F127.0.0.1%3APORT%2Fauth%2Fcallback%3Fstate%3DSTATE
 * &code_challenge=C&code_challenge_method=S256", newly allocated (NULL when
 * out of memory). */
char *sso_login_query(const struct sso_listener *l);

/* Serves the loopback port until the callback arrives or timeout_ms pass.
 * 0 with *ret_code (newly allocated) when a GET /auth/callback with our
 * state and a code came (the browser is told it may close the tab);
 * BERR_TIMEOUT when nothing did in time; BERR_FORBIDDEN for a callback with
 * another state; BERR_UNAUTHORIZED for one without a code. */
int sso_wait_code(struct sso_listener *l, int64_t timeout_ms, char **ret_code);

#endif
