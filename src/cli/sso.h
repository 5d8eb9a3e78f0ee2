/*
 * sso.h — the loopback half of `berth login --sso`.
 *
 * The API server runs the OpenID Connect authorization code flow (PKCE S256,
 * state and nonce) with the identity provider itself; at its end it sends
 * the browser to the return_url it was given, which for the CLI is a
 * loopback URL, with the session token appended as ?token=
 * (berth-api-server(8)). This module is the CLI's side of that: a one-shot
 * HTTP listener on 127.0.0.1 (a port the kernel picks, or one the user
 * gives), the return_url naming it together with a fresh random state, and
 * a bounded wait for the browser's request, which must carry that state.
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
};

/* Listens on 127.0.0.1:port (0: a free port) and draws a new state. 0, or
 * BERR_UNAVAILABLE (port taken) / BERR_INTERNAL with err_msg(); *out
 * untouched on failure. */
int sso_listen(int port, struct sso_listener *out);

/* Closes the socket and forgets the state. Safe on a zeroed struct. */
void sso_listener_release(struct sso_listener *l);

/* "http://127.0.0.1:PORT/auth/callback?state=STATE", newly allocated (NULL
 * when out of memory). */
char *sso_return_url(const struct sso_listener *l);

/* Serves the loopback port until the callback arrives or timeout_ms pass.
 * 0 with *ret_token (newly allocated) when a GET /auth/callback with our
 * state and a token came (the browser is told it may close the tab);
 * BERR_TIMEOUT when nothing did in time; BERR_FORBIDDEN for a callback with
 * another state; BERR_UNAUTHORIZED for one without a token. */
int sso_wait_token(struct sso_listener *l, int64_t timeout_ms, char **ret_token);

#endif
