/*
 * server — kube-sim's HTTP(S) front end on libmicrohttpd: authentication
 * (bearer token, client certificates signed by the CA), fault hooks, and the
 * Kubernetes REST surface (discovery, GET/LIST/WATCH/POST/PUT/PATCH/DELETE on
 * objects and their status/scale subresources) over the store.
 *
 * One thread per connection, so a watch simply blocks in its response
 * callback waiting for store events.
 */
#ifndef KUBESIM_SERVER_H
#define KUBESIM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct faults;
struct ks_server;

struct ks_server_opts {
	const char *host;        /* listen address (IPv4 literal or "localhost") */
	int port;                /* 0: any free port */
	const char *token;       /* bearer token required (NULL: none) */
	/* TLS (all NULL: plain HTTP). PEM text. */
	const char *tls_cert_pem, *tls_key_pem, *client_ca_pem;
	struct faults *faults;   /* may be NULL */
	int64_t max_body;        /* request body limit (default 16 MiB) */
};

/* Starts serving store s. 0 or a BERR (err_msg says why). */
int server_start(struct ks_store *s, const struct ks_server_opts *o, struct ks_server **ret);

/* The port actually bound. */
int server_port(const struct ks_server *srv);

/* Stops accepting, ends watches and frees. NULL is fine. */
void server_stop(struct ks_server *srv);

#endif
