/* The contexts file, the API server connection and terminal output shared by
 * the server commands of berth (client.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cliconfig.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "str.h"

#define API_TIMEOUT_MS 60000
#define API_MAX_BODY ((size_t)256 << 20)

bool cli_global_opt(struct cli_global *g, int c, const char *arg)
{
	switch (c) {
	case CLI_OPT_SERVER: g->server = arg; return true;
	case CLI_OPT_TOKEN: g->token = arg; return true;
	case CLI_OPT_CONFIG: g->config = arg; return true;
	case CLI_OPT_INSECURE: g->insecure = true; return true;
	case CLI_OPT_PLAINTEXT: g->plaintext = true; return true;
	default: return false;
	}
}

/* ---- connection ------------------------------------------------------- */

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int cli_connect(const char *cmd, const struct cli_global *g, bool need_token, struct cli_conn *out)
{
	struct cli_conn c = {.cmd = cmd};
	struct httpc_config hc = {.timeout_ms = API_TIMEOUT_MS, .connect_timeout_ms = 10000,
				  .max_response_bytes = API_MAX_BODY, .user_agent = "berth-cli/" BERTH_VERSION,
				  .retry = {.max_attempts = 3}};
	const char *server = g->server ? g->server : env_nonempty("BERTH_SERVER");
	const char *token = g->token ? g->token : env_nonempty("BERTH_AUTH_TOKEN");
	bool insecure = g->insecure;
	char path[4096];
	json_t *cfg = NULL, *ctx = NULL;
	int rc = CLI_EXIT_ERROR;

	cliconfig_path(g->config, path, sizeof(path));
	if (cliconfig_load(path, &cfg) < 0) {
		cli_error(cmd, "%s", err_msg());
		goto out;
	}
	/* A server given by flag or environment uses the token stored for it
	 * by `berth login`, if any. */
	ctx = cliconfig_context(cfg, server, g->plaintext);
	if (!server && ctx)
		server = jx_str(ctx, "server");
	if (!server) {
		cli_error(cmd, "not logged in: run \"berth login SERVER\" (or set --server / $BERTH_SERVER)");
		goto out;
	}
	if (!token && ctx)
		token = jx_str(ctx, "token");
	if (ctx && json_is_true(json_object_get(ctx, "insecure")))
		insecure = true;
	if (need_token && !token) {
		cli_error(cmd, "not logged in to %s: run \"berth login %s\"", server, server);
		goto out;
	}
	hc.insecure_skip_verify = insecure;
	if (!(c.base = cliconfig_server_url(server, g->plaintext)) || (token && !(c.token = str_dup(token))) ||
	    (token && !(c.auth_header = str_printf("Authorization: Bearer %s", token)))) {
		cli_error(cmd, "out of memory");
		goto out;
	}
	if (httpc_new(&hc, &c.http) < 0) {
		cli_error(cmd, "%s", err_msg());
		goto out;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	rc = 0;
out:
	cli_conn_release(&c);
	json_decref(cfg);
	return rc;
}

void cli_conn_release(struct cli_conn *c)
{
	httpc_free(c->http);
	free(c->base);
	free(c->token);
	free(c->auth_header);
	memset(c, 0, sizeof(*c));
}

int cli_request(struct cli_conn *c, const char *method, const char *path, const json_t *body,
		long *status, json_t **ret)
{
	struct httpc_resp resp;
	struct buf b;
	const char *headers[3] = {"Accept: application/json", c->auth_header, NULL};
	char *url = str_printf("%s%s", c->base, path);
	struct httpc_req req = {.method = method, .url = url, .headers = headers};
	int rc = CLI_EXIT_ERROR;

	httpc_resp_init(&resp);
	buf_init(&b, API_MAX_BODY);
	if (!url) {
		cli_error(c->cmd, "out of memory");
		goto out;
	}
	if (body) {
		if (jx_dump_compact(body, &b) < 0) {
			cli_error(c->cmd, "%s", err_msg());
			goto out;
		}
		req.body = b.ptr;
		req.body_len = b.len;
		req.content_type = "application/json";
	}
	if (httpc_request(c->http, &req, &resp) < 0) {
		cli_error(c->cmd, "cannot reach the API server at %s: %s; is berth-api-server running? "
				  "Check --server or run \"berth login SERVER\"",
			  c->base, err_msg());
		goto out;
	}
	*status = resp.status;
	if (ret) {
		json_t *v = NULL;
		*ret = NULL;
		if (resp.body.len > 0 && jx_parse(resp.body.ptr, resp.body.len, API_MAX_BODY, 512, &v) == 0)
			*ret = v;
	}
	rc = 0;
out:
	httpc_resp_release(&resp);
	buf_release(&b);
	free(url);
	return rc;
}

int cli_call(struct cli_conn *c, const char *method, const char *path, const json_t *body,
	     const char *what, json_t **ret)
{
	json_t *v = NULL;
	long status = 0;
	int rc;

	if ((rc = cli_request(c, method, path, body, &status, &v)) != 0)
		return rc;
	if (status >= 200 && status < 300) {
		if (ret)
			*ret = v;
		else
			json_decref(v);
		return 0;
	}
	const char *msg = jx_str(v, "error");
	if (!msg)
		msg = jx_str(v, "message");
	if (status == 401)
		cli_error(c->cmd, "not logged in, or the session expired%s%s: run \"berth login %s\"",
			  msg ? ": " : "", msg ? msg : "", c->base);
	else if (status == 404 && what)
		cli_error(c->cmd, "%s not found", what);
	else if (status == 403)
		cli_error(c->cmd, "permission denied%s%s", msg ? ": " : "", msg ? msg : "");
	else if (msg)
		cli_error(c->cmd, "%s (HTTP %ld)", msg, status);
	else
		cli_error(c->cmd, "%s %s: HTTP %ld", method, path, status);
	json_decref(v);
	return CLI_EXIT_ERROR;
}

int cli_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~')
			rc = buf_putc(out, (char)*p);
		else
			rc = buf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	return rc;
}

char *cli_path(const char *coll, const char *name, const char *suffix)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	if (buf_printf(&b, "/api/v1/%s/", coll) < 0 || cli_escape(&b, name) < 0 ||
	    buf_puts(&b, suffix ? suffix : "") < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* ---- output ----------------------------------------------------------- */

bool cli_is_tty(void)
{
	return isatty(STDOUT_FILENO) == 1;
}

bool cli_colour(void)
{
	const char *term = getenv("TERM");
	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return cli_is_tty();
}

const char *cli_status_colour(const char *w)
{
	static const char *const good[] = {"Synced", "Healthy", "Succeeded", "yes", NULL};
	static const char *const bad[] = {"OutOfSync", "Degraded", "Failed", "Error", "SyncFailed",
					  "Missing", "no", NULL};
	static const char *const busy[] = {"Progressing", "Running", "Terminating", "Suspended",
					   "Unknown", "Pruned", NULL};
	if (!w || !cli_colour())
		return "";
	for (int i = 0; good[i]; i++)
		if (strcmp(w, good[i]) == 0)
			return "\033[32m";
	for (int i = 0; bad[i]; i++)
		if (strcmp(w, bad[i]) == 0)
			return "\033[31m";
	for (int i = 0; busy[i]; i++)
		if (strcmp(w, busy[i]) == 0)
			return "\033[33m";
	return "";
}

const char *cli_colour_reset(void)
{
	return cli_colour() ? "\033[0m" : "";
}

void cli_table_row(json_t *rows, int n, ...)
{
	json_t *row = json_array();
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);
		json_array_append_new(row, json_string(s ? s : ""));
	}
	va_end(ap);
	json_array_append_new(rows, row);
}

void cli_table_print(const json_t *rows)
{
	size_t widths[32] = {0}, i, j, ncols = 0;
	const json_t *row, *cell;

	json_array_foreach(rows, i, row) {
		json_array_foreach(row, j, cell) {
			if (j >= 32)
				break;
			size_t w = strlen(json_string_value(cell) ? json_string_value(cell) : "");
			if (w > widths[j])
				widths[j] = w;
			if (j + 1 > ncols)
				ncols = j + 1;
		}
	}
	json_array_foreach(rows, i, row) {
		size_t n = json_array_size(row);
		for (j = 0; j < n && j < 32; j++) {
			const char *s = json_string_value(json_array_get(row, j));
			const char *col = i > 0 ? cli_status_colour(s) : "";
			s = s ? s : "";
			if (j + 1 == n)
				printf("%s%s%s", col, s, *col ? cli_colour_reset() : "");
			else
				printf("%s%s%s%*s  ", col, s, *col ? cli_colour_reset() : "",
				       (int)(widths[j] - strlen(s)), "");
		}
		putchar('\n');
	}
}

int cli_print_value(const char *cmd, const json_t *v, const char *format)
{
	struct buf b;
	int rc;

	buf_init(&b, API_MAX_BODY * 2);
	if (strcmp(format, "yaml") == 0)
		rc = kyaml_dump(v, &b);
	else
		rc = jx_dump_pretty(v, &b);
	if (rc == 0 && (b.len == 0 || b.ptr[b.len - 1] != '\n'))
		rc = buf_putc(&b, '\n');
	if (rc < 0) {
		buf_release(&b);
		return cli_error(cmd, "%s", err_msg());
	}
	if (!cli_write_out(&b))
		rc = cli_error(cmd, "write to stdout: %s", strerror(errno));
	buf_release(&b);
	return rc < 0 ? CLI_EXIT_ERROR : 0;
}

const char *cli_str(const json_t *v, const char *def, ...)
{
	va_list ap;
	const char *k;
	va_start(ap, def);
	while (v && (k = va_arg(ap, const char *)))
		v = json_object_get(v, k);
	va_end(ap);
	return json_is_string(v) ? json_string_value(v) : def;
}
