/*
 * client.h — what the server commands of berth share: the contexts file,
 * the connection to the API server (DESIGN.md §9), and terminal output
 * (tables, colour, JSON/YAML).
 *
 * Contexts live in the contexts file (lib/cliconfig.h). A command finds its server and token in this order: --server /
 * --auth-token flags, $BERTH_SERVER / $BERTH_AUTH_TOKEN, the current
 * context. A server given without a scheme is https://, or http:// with
 * --plaintext.
 *
 * Every function here that returns an exit status has already printed the
 * error as "berth <command>: <message>" (cli_error), so a command can
 * `return rc` at once.
 */
#ifndef BERTH_CLI_CLIENT_H
#define BERTH_CLI_CLIENT_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "httpc.h"

/* Flags every server command accepts. */
struct cli_global {
	const char *server;
	const char *token;
	const char *config;
	bool insecure;
	bool plaintext;
};

enum {
	CLI_OPT_SERVER = 0x1000,
	CLI_OPT_TOKEN,
	CLI_OPT_CONFIG,
	CLI_OPT_INSECURE,
	CLI_OPT_PLAINTEXT,
	CLI_OPT_FIRST_FREE /* commands number their own long-only options from here */
};

#define CLI_GLOBAL_LONGOPTS                                                 \
	{"server", required_argument, NULL, CLI_OPT_SERVER},                \
	{"auth-token", required_argument, NULL, CLI_OPT_TOKEN},             \
	{"config", required_argument, NULL, CLI_OPT_CONFIG},                \
	{"insecure", no_argument, NULL, CLI_OPT_INSECURE},                  \
	{"plaintext", no_argument, NULL, CLI_OPT_PLAINTEXT}

#define CLI_GLOBAL_HELP                                                                  \
	"Connection (every server command):\n"                                           \
	"      --server ADDR        API server (else $BERTH_SERVER, else the context)\n"  \
	"      --auth-token TOKEN   session token (else $BERTH_AUTH_TOKEN, else the context)\n" \
	"      --config FILE        contexts file (default ~/.config/berth/config)\n"   \
	"      --insecure           do not verify the server's TLS certificate\n"       \
	"      --plaintext          use http:// for an ADDR without a scheme\n"

/* Handles c when it is one of CLI_GLOBAL_LONGOPTS; false otherwise. */
bool cli_global_opt(struct cli_global *g, int c, const char *arg);

/* ---- connection ---- */

struct cli_conn {
	const char *cmd;     /* for messages */
	struct httpc *http;
	char *base;          /* server URL without trailing '/' */
	char *token;         /* NULL when none */
	char *auth_header;   /* "Authorization: Bearer ..." */
};

/* Opens a connection for command cmd. need_token: fail with "not logged
 * in" when no token is found. Returns 0 or CLI_EXIT_ERROR (printed). */
int cli_connect(const char *cmd, const struct cli_global *g, bool need_token, struct cli_conn *out);

void cli_conn_release(struct cli_conn *c);

/* Sends method path (relative to the server, "/api/v1/...") with an
 * optional JSON body. Any HTTP response: 0, *status set and *ret the parsed
 * body (JSON, or NULL when empty / not JSON; ret may be NULL). Transport
 * failure: CLI_EXIT_ERROR, printed. */
int cli_request(struct cli_conn *c, const char *method, const char *path, const json_t *body,
		long *status, json_t **ret);

/* cli_request that also treats a non-2xx answer as an error, printed with
 * what to do ("not logged in: run ..."). what names the object for
 * 404 messages ("application \"x\""), may be NULL. */
int cli_call(struct cli_conn *c, const char *method, const char *path, const json_t *body,
	     const char *what, json_t **ret);

/* Percent-encodes s for one path segment or query value into out. */
int cli_escape(struct buf *out, const char *s);

/* "/api/v1/<coll>/<escaped name><suffix>" (malloc'd). */
char *cli_path(const char *coll, const char *name, const char *suffix);

/* ---- output ---- */

/* Is colour on for stdout (a terminal, NO_COLOR unset, TERM not dumb)? */
bool cli_colour(void);
bool cli_is_tty(void);

/* An ANSI colour for a status word (Synced, Healthy, OutOfSync, Degraded,
 * Failed ...), "" when colour is off or the word has none. */
const char *cli_status_colour(const char *word);
const char *cli_colour_reset(void);

/* Prints rows (an array of arrays of strings; row 0 is the header) as
 * aligned columns, colouring status words. */
void cli_table_print(const json_t *rows);

/* Appends a row of n strings (NULL → "") to rows. */
void cli_table_row(json_t *rows, int n, ...);

/* Prints v as "json" or "yaml". Returns 0 or CLI_EXIT_ERROR. */
int cli_print_value(const char *cmd, const json_t *v, const char *format);

/* The string at a path, or def. */
const char *cli_str(const json_t *v, const char *def, ...) __attribute__((sentinel));

#endif
