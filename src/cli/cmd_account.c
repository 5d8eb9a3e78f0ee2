/* berth account update-password and can-i. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "str.h"

static const char password_usage[] =
	"Usage: berth account update-password --current-password P --new-password N\n"
	"                                     [--account NAME]\n"
	"\n"
	"Changes the password of the logged-in account (or of NAME, for an admin).\n"
	"Sessions opened with the old password end; log in again.\n"
	"\n"
	"      --current-password P     the password now\n"
	"      --new-password N         the new password\n"
	"      --account NAME           another local account\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 changed, 2 an error.\n";

int cmd_account_update_password(int argc, char **argv)
{
	enum { OPT_CUR = CLI_OPT_FIRST_FREE, OPT_NEW, OPT_ACCOUNT };
	static const struct option opts[] = {{"current-password", required_argument, NULL, OPT_CUR},
					     {"new-password", required_argument, NULL, OPT_NEW},
					     {"account", required_argument, NULL, OPT_ACCOUNT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	const char *cur = NULL, *newp = NULL, *account = NULL;
	json_t *body = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_CUR: cur = optarg; break;
		case OPT_NEW: newp = optarg; break;
		case OPT_ACCOUNT: account = optarg; break;
		case 'h': fputs(password_usage, stdout); return 0;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind != argc || !cur || !newp)
		return cli_usage_error(argv[0], "--current-password and --new-password are required");
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	body = json_pack("{s:s,s:s}", "currentPassword", cur, "newPassword", newp);
	if (account)
		json_object_set_new(body, "name", json_string(account));
	if ((rc = cli_call(&conn, "PUT", "/api/v1/account/password", body, NULL, NULL)) == 0)
		printf("password updated; log in again with \"berth login\"\n");
	json_decref(body);
	cli_conn_release(&conn);
	return rc;
}

static const char can_i_usage[] =
	"Usage: berth account can-i ACTION RESOURCE [OBJECT]\n"
	"\n"
	"Asks the server whether the logged-in account may do ACTION (get, create,\n"
	"update, delete, sync, override) on RESOURCE (applications, projects,\n"
	"repositories, clusters, accounts, logs) for OBJECT (e.g. PROJECT/APP; default\n"
	"\"*\"). Prints yes or no.\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 yes, 1 no, 2 an error.\n";

int cmd_account_can_i(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	json_t *resp = NULL;
	struct buf p;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		if (c == 'h') {
			fputs(can_i_usage, stdout);
			return 0;
		}
		return cli_usage_error(argv[0], "bad flag");
	}
	if (argc - optind != 2 && argc - optind != 3)
		return cli_usage_error(argv[0], "expected ACTION RESOURCE [OBJECT]");
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		return rc;
	buf_init(&p, 1 << 16);
	buf_puts(&p, "/api/v1/account/can-i/");
	cli_escape(&p, argv[optind + 1]);
	buf_putc(&p, '/');
	cli_escape(&p, argv[optind]);
	buf_putc(&p, '/');
	cli_escape(&p, argc - optind == 3 ? argv[optind + 2] : "*");
	if ((rc = cli_call(&conn, "GET", p.ptr, NULL, NULL, &resp)) == 0) {
		const char *v = jx_str(resp, "value");
		bool yes = v ? strcmp(v, "yes") == 0 : json_is_true(json_object_get(resp, "allowed"));
		printf("%s\n", yes ? "yes" : "no");
		rc = yes ? 0 : 1;
	}
	buf_release(&p);
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
}
