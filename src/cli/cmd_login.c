/* berth login, logout and version: sessions with the API server and the
 * contexts file (client.h). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cliconfig.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "str.h"

static const char login_usage[] =
	"Usage: berth login SERVER [--username U] [--password P] [--sso]\n"
	"                          [--name CONTEXT] [--insecure] [--plaintext]\n"
	"\n"
	"Logs in to the API server at SERVER (host:port or a URL) and stores the\n"
	"session as a context in ~/.config/berth/config (mode 0600), which becomes the\n"
	"current one. Without --password the password is asked on the terminal.\n"
	"\n"
	"      --username U         local account (default admin)\n"
	"      --password P         its password\n"
	"      --sso                log in through the server's OIDC provider (not\n"
	"                           supported by this version: use an API token with\n"
	"                           --auth-token)\n"
	"      --name CONTEXT       name of the context (default: SERVER)\n"
	"  -h, --help               show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 logged in, 2 an error (wrong password, unreachable server).\n";

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

int cmd_login(int argc, char **argv)
{
	enum { OPT_USER = CLI_OPT_FIRST_FREE, OPT_PASS, OPT_SSO, OPT_NAME };
	static const struct option opts[] = {
		{"username", required_argument, NULL, OPT_USER}, {"password", required_argument, NULL, OPT_PASS},
		{"sso", no_argument, NULL, OPT_SSO},             {"name", required_argument, NULL, OPT_NAME},
		{"help", no_argument, NULL, 'h'},                CLI_GLOBAL_LONGOPTS,
		{NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn;
	const char *user = "admin", *pass = NULL, *name = NULL;
	char typed[512];
	json_t *body = NULL, *resp = NULL;
	long status = 0;
	bool sso = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_USER: user = optarg; break;
		case OPT_PASS: pass = optarg; break;
		case OPT_SSO: sso = true; break;
		case OPT_NAME: name = optarg; break;
		case 'h': fputs(login_usage, stdout); return CLI_EXIT_OK;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one SERVER argument");
	if (sso)
		return cli_error(argv[0], "--sso is not supported by this version of berth: log in with "
					  "--username/--password, or pass an API token with --auth-token");
	g.server = argv[optind];
	g.token = NULL;
	if (!pass) {
		if (ask_password("Password: ", typed, sizeof(typed)) < 0)
			return cli_usage_error(argv[0], "no terminal to ask the password on: give --password");
		pass = typed;
	}
	if ((rc = cli_connect(argv[0], &g, false, &conn)) != 0)
		return rc;
	body = json_pack("{s:s,s:s}", "username", user, "password", pass);
	if ((rc = cli_request(&conn, "POST", "/api/v1/session", body, &status, &resp)) != 0)
		goto out;
	if (status == 401 || status == 403) {
		rc = cli_error(argv[0], "login to %s failed: invalid username or password", conn.base);
		goto out;
	}
	if (status < 200 || status >= 300 || !jx_str(resp, "token")) {
		rc = cli_error(argv[0], "login to %s failed: HTTP %ld%s%s", conn.base, status,
			       jx_str(resp, "error") ? ": " : "", jx_str(resp, "error") ? jx_str(resp, "error") : "");
		goto out;
	}
	if ((rc = save_context(argv[0], &g, name ? name : argv[optind], conn.base, user, jx_str(resp, "token"))))
		goto out;
	printf("'%s' logged in to %s\n", user, conn.base);
out:
	explicit_bzero(typed, sizeof(typed));
	json_decref(body);
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
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
