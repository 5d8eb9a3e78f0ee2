/* berth repo add, list, rm: Git repositories and their credentials, stored by
 * the API server as repository Secrets (DESIGN.md §3). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "resource.h"
#include "str.h"

#define MAX_KEY_BYTES ((size_t)64 << 10)

static const char add_usage[] =
	"Usage: berth repo add URL [--username U --password P | --ssh-private-key-path F]\n"
	"                          [--insecure-skip-server-verification] [--upsert]\n"
	"\n"
	"Registers a Git repository with the credentials applications use to read it.\n"
	"\n"
	"      --username U             user for HTTPS basic authentication\n"
	"      --password P             its password or token\n"
	"      --ssh-private-key-path F  private key for ssh:// and git@ URLs\n"
	"      --insecure-skip-server-verification\n"
	"                               do not verify the repository's TLS certificate\n"
	"                               or SSH host key\n"
	"      --upsert                 replace the credentials of a known repository\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 added, 2 an error.\n";

static int read_key(const char *cmd, const char *path, struct buf *out)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return cli_error(cmd, "open \"%s\": %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_append(out, chunk, (size_t)n) < 0) {
			rc = cli_error(cmd, "read \"%s\": %s", path, n < 0 ? strerror(errno) : "too large");
			break;
		}
	}
	close(fd);
	return rc;
}

int cmd_repo_add(int argc, char **argv)
{
	enum { OPT_USER = CLI_OPT_FIRST_FREE, OPT_PASS, OPT_KEY, OPT_SKIP, OPT_UPSERT };
	static const struct option opts[] = {{"username", required_argument, NULL, OPT_USER},
					     {"password", required_argument, NULL, OPT_PASS},
					     {"ssh-private-key-path", required_argument, NULL, OPT_KEY},
					     {"insecure-skip-server-verification", no_argument, NULL, OPT_SKIP},
					     {"upsert", no_argument, NULL, OPT_UPSERT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *user = NULL, *pass = NULL, *key = NULL;
	bool skip = false, upsert = false;
	json_t *body = NULL, *resp = NULL;
	struct buf keybuf;
	int c, rc;

	buf_init(&keybuf, MAX_KEY_BYTES);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_USER: user = optarg; break;
		case OPT_PASS: pass = optarg; break;
		case OPT_KEY: key = optarg; break;
		case OPT_SKIP: skip = true; break;
		case OPT_UPSERT: upsert = true; break;
		case 'h': fputs(add_usage, stdout); rc = 0; goto out;
		default: rc = cli_usage_error(argv[0], "bad flag"); goto out;
		}
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(argv[0], "expected one URL");
		goto out;
	}
	if ((user && !pass) || (!user && pass) || (key && (user || pass))) {
		rc = cli_usage_error(argv[0], "give --username with --password, or --ssh-private-key-path");
		goto out;
	}
	if (key && (rc = read_key(argv[0], key, &keybuf)) != 0)
		goto out;
	body = json_pack("{s:s,s:s,s:b}", "repo", argv[optind], "type", "git", "insecure", skip);
	if (user) {
		json_object_set_new(body, "username", json_string(user));
		json_object_set_new(body, "password", json_string(pass));
	}
	if (key)
		json_object_set_new(body, "sshPrivateKey", json_stringn(keybuf.ptr ? keybuf.ptr : "", keybuf.len));
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		goto out;
	if ((rc = cli_call(&conn, "POST", upsert ? "/api/v1/repositories?upsert=true" : "/api/v1/repositories", body,
			   NULL, &resp)) == 0)
		printf("repository '%s' added\n", argv[optind]);
out:
	if (keybuf.ptr)
		explicit_bzero(keybuf.ptr, keybuf.len);
	buf_release(&keybuf);
	json_decref(body);
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
}

static const char list_usage[] =
	"Usage: berth repo list [-o json|yaml]\n"
	"\n"
	"Lists the registered repositories (never their credentials).\n"
	"\n"
	"  -o, --output FORMAT          json or yaml instead of the table\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 listed, 2 an error.\n";

static void repo_row(json_t *rows, const json_t *r)
{
	cli_table_row(rows, 5, cli_str(r, "git", "type", NULL), cli_str(r, "", "repo", NULL), cli_str(r, "", "username", NULL),
		      json_is_true(json_object_get(r, "insecure")) ? "true" : "false",
		      cli_str(r, "", "connectionState", "status", NULL));
}

int cmd_repo_list(int argc, char **argv)
{
	static const char *const header[] = {"TYPE", "REPO", "USER", "INSECURE", "STATUS", NULL};
	static const struct cli_listing l = {list_usage, "repositories", header, repo_row};
	return cli_list_command(argc, argv, &l);
}

static const char rm_usage[] =
	"Usage: berth repo rm URL\n"
	"\n"
	"Removes a registered repository and its credentials.\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 removed, 2 an error.\n";

int cmd_repo_rm(int argc, char **argv)
{
	static const struct cli_removal r = {rm_usage, "repositories", "repository", "one URL", "removed"};
	return cli_remove_command(argc, argv, &r);
}
