/* berth login, logout and version: sessions with the API server and the
 * contexts file (client.h). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cliconfig.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "sso.h"
#include "str.h"

static const char login_usage[] =
	"Usage: berth login SERVER [--username U] [--password P]\n"
	"                          [--sso [--sso-port N] [--sso-timeout S] [--sso-launch-browser]]\n"
	"                          [--name CONTEXT] [--insecure] [--plaintext]\n"
	"\n"
	"Logs in to the API server at SERVER (host:port or a URL) and stores the\n"
	"session as a context in ~/.config/berth/config (mode 0600), which becomes the\n"
	"current one. Without --password the password is asked on the terminal.\n"
	"\n"
	"With --sso the login goes through the server's OpenID Connect provider: berth\n"
	"listens on 127.0.0.1, prints a URL to open in a browser (and opens it with\n"
	"$BROWSER when that is set, or with xdg-open given --sso-launch-browser), and\n"
	"waits for the server to send the session back to the local port.\n"
	"\n"
	"      --username U         local account (default admin)\n"
	"      --password P         its password\n"
	"      --sso                log in through the server's OIDC provider (browser)\n"
	"      --sso-port N         local port for the login callback (default: a free one)\n"
	"      --sso-timeout S      seconds to wait for the browser login (default 300)\n"
	"      --sso-launch-browser open the URL in a browser ($BROWSER, else xdg-open)\n"
	"      --name CONTEXT       name of the context (default: SERVER)\n"
	"  -h, --help               show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 logged in, 2 an error (wrong password, unreachable server,\n"
	"SSO not configured, login not finished within --sso-timeout).\n";

/* Reads a password from the terminal without echo into out. */
static int ask_password(const char *prompt, char *out, size_t size)
{
	struct termios old, raw;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	size_t n = 0;
	char ch;

	if (fd < 0)
		return -1;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcgetattr(fd, &old) < 0) {
		close(fd);
		return -1;
	}
	raw = old;
	raw.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &raw);
	while (read(fd, &ch, 1) == 1 && ch != '\n' && ch != '\r')
		if (n + 1 < size)
			out[n++] = ch;
	out[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* nothing to do: the prompt is cosmetic */
	}
	close(fd);
	return 0;
}

static int save_context(const char *cmd, const struct cli_global *g, const char *name, const char *url,
			const char *user, const char *token)
{
	char path[4096];
	json_t *cfg = NULL;
	int rc = 0;

	cliconfig_path(g->config, path, sizeof(path));
	if (cliconfig_load(path, &cfg) < 0)
		return cli_error(cmd, "%s", err_msg());
	if (cliconfig_set_context(cfg, name, url, user, token, g->insecure) < 0 || cliconfig_save(path, cfg) < 0)
		rc = cli_error(cmd, "%s", err_msg());
	json_decref(cfg);
	return rc;
}

struct sso_opts {
	int port;          /* 0: a free port */
	int64_t timeout_s;
	bool launch;       /* --sso-launch-browser */
};

/* Starts $BROWSER (or xdg-open when launch) on url without waiting for it:
 * the browser may outlive berth, so a grandchild runs it. No shell is
 * involved; the browser keeps the environment (it needs DISPLAY). */
static void open_browser(const char *cmd, const char *url, bool launch)
{
	const char *browser = getenv("BROWSER");
	if (!browser || !*browser) {
		if (!launch)
			return;
		browser = "xdg-open";
	}
	fprintf(stderr, "berth %s: opening it with %s\n", cmd, browser);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "berth %s: warning: cannot start %s: open the URL yourself\n", cmd, browser);
		return;
	}
	if (pid == 0) {
		if (fork() == 0) {
			int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (nul >= 0)
				dup2(nul, STDOUT_FILENO);
			execlp(browser, browser, url, (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* Swaps the connection's token for token. */
static int conn_set_token(struct cli_conn *c, const char *token)
{
	char *t = str_dup(token), *h = str_printf("Authorization: Bearer %s", token);
	if (!t || !h) {
		free(t);
		free(h);
		return -1;
	}
	free(c->token);
	free(c->auth_header);
	c->token = t;
	c->auth_header = h;
	return 0;
}

/* Redeems the one-time code of the loopback callback with our PKCE
 * verifier (POST /auth/token). 0 with *ret_token, or an exit status. */
static int redeem_code(const char *cmd, struct cli_conn *conn, const struct sso_listener *l, const char *code,
		       char **ret_token)
{
	json_t *body = json_pack("{s:s,s:s}", "code", code, "code_verifier", l->verifier), *resp = NULL;
	long status = 0;
	int rc = body ? cli_request(conn, "POST", "/auth/token", body, &status, &resp) : cli_error(cmd, "out of memory");

	if (rc == 0 && (status != 200 || !jx_str(resp, "token")))
		rc = cli_error(cmd, "single sign-on at %s: the server refused the login code (HTTP %ld%s%s)", conn->base,
			       status, jx_str(resp, "error") ? ": " : "", jx_str(resp, "error") ? jx_str(resp, "error") : "");
	if (rc == 0 && !(*ret_token = str_dup(jx_str(resp, "token"))))
		rc = cli_error(cmd, "out of memory");
	if (jx_str(resp, "token"))
		explicit_bzero((char *)jx_str(resp, "token"), strlen(jx_str(resp, "token")));
	json_decref(body);
	json_decref(resp);
	return rc;
}

/* berth login --sso: the browser logs in at the server's identity provider,
 * the server hands a one-time code to our loopback port, and we redeem it
 * with our PKCE verifier (sso.h). */
static int login_sso(const char *cmd, const struct cli_global *g, struct cli_conn *conn, const struct sso_opts *o,
		     const char *ctx_name)
{
	struct sso_listener l = {.fd = -1};
	json_t *settings = NULL, *info = NULL;
	char *query = NULL, *url = NULL, *code = NULL, *token = NULL;
	long status = 0;
	int rc;

	if ((rc = cli_request(conn, "GET", "/api/v1/settings", NULL, &status, &settings)) != 0)
		goto out;
	if (status != 200 || !jx_path(settings, "oidcConfig", "issuer", NULL)) {
		rc = cli_error(cmd, "%s has no single sign-on configured (oidc.config in berth-cm): log in with "
				    "--username and --password", conn->base);
		goto out;
	}
	if (sso_listen(o->port, &l) < 0) {
		rc = cli_error(cmd, "%s", err_msg());
		goto out;
	}
	if (!(query = sso_login_query(&l)) || !(url = str_printf("%s/auth/login?%s", conn->base, query))) {
		rc = cli_error(cmd, "out of memory");
		goto out;
	}
	printf("To log in, open this URL in a browser:\n\n  %s\n\nWaiting up to %llds for the login "
	       "(Ctrl-C to cancel)...\n",
	       url, (long long)o->timeout_s);
	fflush(stdout);
	open_browser(cmd, url, o->launch);
	if (sso_wait_code(&l, o->timeout_s * 1000, &code) < 0) {
		rc = cli_error(cmd, "single sign-on at %s: %s", conn->base, err_msg());
		goto out;
	}
	if ((rc = redeem_code(cmd, conn, &l, code, &token)) != 0)
		goto out;
	if (conn_set_token(conn, token) < 0) {
		rc = cli_error(cmd, "out of memory");
		goto out;
	}
	if ((rc = cli_call(conn, "GET", "/api/v1/session/userinfo", NULL, NULL, &info)) != 0)
		goto out;
	const char *user = jx_str(info, "username");
	if (!json_is_true(json_object_get(info, "loggedIn")) || !user) {
		rc = cli_error(cmd, "single sign-on at %s: the server does not accept the session it sent", conn->base);
		goto out;
	}
	if ((rc = save_context(cmd, g, ctx_name, conn->base, user, token)))
		goto out;
	printf("'%s' logged in to %s\n", user, conn->base);
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	sso_listener_release(&l);
	free(query);
	free(url);
	free(code);
	json_decref(settings);
	json_decref(info);
	return rc;
}

/* berth login SERVER with a username and password (asked on the terminal
 * when pass is NULL): POST /api/v1/session, the token saved as context
 * ctx_name. A CLI exit code. */
static int login_password(const char *argv0, struct cli_global *g, const char *user, const char *pass,
			  const char *ctx_name)
{
	struct cli_conn conn;
	char typed[512];
	json_t *body = NULL, *resp = NULL;
	long status = 0;
	int rc;

	if (!pass) {
		if (ask_password("Password: ", typed, sizeof(typed)) < 0)
			return cli_usage_error(argv0, "no terminal to ask the password on: give --password");
		pass = typed;
	}
	if ((rc = cli_connect(argv0, g, false, &conn)) != 0) {
		explicit_bzero(typed, sizeof(typed));
		return rc;
	}
	body = json_pack("{s:s,s:s}", "username", user, "password", pass);
	if ((rc = cli_request(&conn, "POST", "/api/v1/session", body, &status, &resp)) != 0)
		goto out;
	if (status == 401 || status == 403) {
		rc = cli_error(argv0, "login to %s failed: invalid username or password", conn.base);
		goto out;
	}
	if (status < 200 || status >= 300 || !jx_str(resp, "token")) {
		rc = cli_error(argv0, "login to %s failed: HTTP %ld%s%s", conn.base, status,
			       jx_str(resp, "error") ? ": " : "", jx_str(resp, "error") ? jx_str(resp, "error") : "");
		goto out;
	}
	if ((rc = save_context(argv0, g, ctx_name, conn.base, user, jx_str(resp, "token"))))
		goto out;
	printf("'%s' logged in to %s\n", user, conn.base);
out:
	explicit_bzero(typed, sizeof(typed));
	json_decref(body);
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
}

int cmd_login(int argc, char **argv)
{
	enum { OPT_USER = CLI_OPT_FIRST_FREE, OPT_PASS, OPT_SSO, OPT_NAME, OPT_SSO_PORT, OPT_SSO_TIMEOUT,
	       OPT_SSO_LAUNCH };
	static const struct option opts[] = {
		{"username", required_argument, NULL, OPT_USER},
		{"password", required_argument, NULL, OPT_PASS},
		{"sso", no_argument, NULL, OPT_SSO},
		{"sso-port", required_argument, NULL, OPT_SSO_PORT},
		{"sso-timeout", required_argument, NULL, OPT_SSO_TIMEOUT},
		{"sso-launch-browser", no_argument, NULL, OPT_SSO_LAUNCH},
		{"name", required_argument, NULL, OPT_NAME},
		{"help", no_argument, NULL, 'h'},
		CLI_GLOBAL_LONGOPTS,
		{NULL, 0, NULL, 0}};
	struct sso_opts so = {.timeout_s = 300};
	bool sso_flags = false;
	struct cli_global g = {0};
	struct cli_conn conn;
	const char *user = "admin", *pass = NULL, *name = NULL;
	bool sso = false, user_given = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_USER: user = optarg; user_given = true; break;
		case OPT_PASS: pass = optarg; break;
		case OPT_SSO: sso = true; break;
		case OPT_SSO_PORT:
			if (str_to_int(optarg, 0, 65535, &so.port) < 0)
				return cli_usage_error(argv[0], "--sso-port: a port number from 0 to 65535");
			sso_flags = true;
			break;
		case OPT_SSO_TIMEOUT:
			if (str_to_i64(optarg, &so.timeout_s) < 0 || so.timeout_s <= 0)
				return cli_usage_error(argv[0], "--sso-timeout: a number of seconds above 0");
			sso_flags = true;
			break;
		case OPT_SSO_LAUNCH: so.launch = true; sso_flags = true; break;
		case OPT_NAME: name = optarg; break;
		case 'h': fputs(login_usage, stdout); return CLI_EXIT_OK;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one SERVER argument");
	if (sso && (pass || user_given))
		return cli_usage_error(argv[0], "--sso logs in through the browser: drop --username/--password");
	if (sso_flags && !sso)
		return cli_usage_error(argv[0], "--sso-port, --sso-timeout and --sso-launch-browser go with --sso");
	g.server = argv[optind];
	g.token = NULL;
	if (sso) {
		if ((rc = cli_connect(argv[0], &g, false, &conn)) != 0)
			return rc;
		rc = login_sso(argv[0], &g, &conn, &so, name ? name : argv[optind]);
		cli_conn_release(&conn);
		return rc;
	}
	return login_password(argv[0], &g, user, pass, name ? name : argv[optind]);
}

static const char logout_usage[] =
	"Usage: berth logout [CONTEXT]\n"
	"\n"
	"Ends the session of CONTEXT (default: the current context) on the server\n"
	"and removes its token from the contexts file.\n"
	"\n"
	"  -h, --help               show this help\n"
	"      --config FILE        contexts file (default ~/.config/berth/config)\n";

int cmd_logout(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	char path[4096];
	json_t *cfg = NULL, *ctx;
	const char *name;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		if (c == 'h') {
			fputs(logout_usage, stdout);
			return CLI_EXIT_OK;
		}
		return cli_usage_error(argv[0], "bad flag");
	}
	cliconfig_path(g.config, path, sizeof(path));
	if (cliconfig_load(path, &cfg) < 0)
		return cli_error(argv[0], "%s", err_msg());
	name = optind < argc ? argv[optind] : jx_str(cfg, "current");
	ctx = name ? json_object_get(json_object_get(cfg, "contexts"), name) : NULL;
	if (!ctx || !jx_str(ctx, "token")) {
		rc = cli_error(argv[0], "not logged in%s%s", name ? " to " : "", name ? name : "");
		goto out;
	}
	{
		struct cli_global sg = {.server = jx_str(ctx, "server"), .token = jx_str(ctx, "token"),
					.insecure = json_is_true(json_object_get(ctx, "insecure"))};
		struct cli_conn conn;
		long status;
		/* Best effort: the token is forgotten here even when the server
		 * cannot be told. */
		if (cli_connect(argv[0], &sg, true, &conn) == 0) {
			cli_request(&conn, "DELETE", "/api/v1/session", NULL, &status, NULL);
			cli_conn_release(&conn);
		}
	}
	json_object_del(ctx, "token");
	if (cliconfig_save(path, cfg) < 0) {
		rc = cli_error(argv[0], "%s", err_msg());
		goto out;
	}
	printf("logged out from %s\n", name);
out:
	json_decref(cfg);
	return rc;
}

static const char version_usage[] =
	"Usage: berth version [--client]\n"
	"\n"
	"Prints the version of the berth client and, when a server is known (logged\n"
	"in, --server or $BERTH_SERVER), of the API server.\n"
	"\n"
	"      --client             only the client's version\n"
	"  -h, --help               show this help\n"
	"\n" CLI_GLOBAL_HELP;

int cmd_version(int argc, char **argv)
{
	enum { OPT_CLIENT = CLI_OPT_FIRST_FREE };
	static const struct option opts[] = {{"client", no_argument, NULL, OPT_CLIENT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn;
	bool client_only = false;
	char path[4096];
	json_t *cfg = NULL, *v = NULL;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		if (c == OPT_CLIENT)
			client_only = true;
		else if (c == 'h') {
			fputs(version_usage, stdout);
			return CLI_EXIT_OK;
		} else
			return cli_usage_error(argv[0], "bad flag");
	}
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);
	printf("berth %s\n", BERTH_VERSION);
	if (client_only)
		return CLI_EXIT_OK;
	cliconfig_path(g.config, path, sizeof(path));
	if (!g.server && !getenv("BERTH_SERVER") &&
	    (cliconfig_load(path, &cfg) < 0 || !jx_str(cfg, "current"))) {
		json_decref(cfg);
		return CLI_EXIT_OK;
	}
	json_decref(cfg);
	fflush(stdout);
	if ((rc = cli_connect(argv[0], &g, false, &conn)) != 0)
		return rc;
	if ((rc = cli_call(&conn, "GET", "/api/version", NULL, NULL, &v)) == 0) {
		const char *sv = jx_str(v, "Version");
		if (!sv)
			sv = jx_str(v, "version");
		printf("berth-api-server %s (%s)\n", sv ? sv : "unknown", conn.base);
	}
	json_decref(v);
	cli_conn_release(&conn);
	return rc;
}
