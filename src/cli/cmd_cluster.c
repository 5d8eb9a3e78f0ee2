/* berth cluster add, list, rm: destination clusters, stored by the API server
 * as cluster Secrets (DESIGN.md §3). add reads a kubeconfig context. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cli.h"
#include "client.h"
#include "err.h"
#include "jsonx.h"
#include "kubeconfig.h"
#include "resource.h"
#include "str.h"

static const char add_usage[] =
	"Usage: berth cluster add CONTEXT [--name N] [--kubeconfig F] [--upsert]\n"
	"\n"
	"Registers the cluster of kubeconfig context CONTEXT: its API server URL and\n"
	"credentials (token or client certificate, CA) are stored as a cluster Secret.\n"
	"\n"
	"      --name N                 the cluster's name in Berth (default: CONTEXT)\n"
	"      --kubeconfig F           kubeconfig file (default: $KUBECONFIG or\n"
	"                               ~/.kube/config)\n"
	"      --upsert                 replace a cluster of the same server\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 added, 2 an error.\n";

static void put_b64(json_t *obj, const char *key, const char *pem)
{
	char *enc;
	if (!pem || !(enc = b64_encode(pem, strlen(pem), false)))
		return;
	json_object_set_new(obj, key, json_string(enc));
	free(enc);
}

static json_t *cluster_body(const struct kube_config *kc, const char *name, const char **err)
{
	json_t *tls = json_object(), *config = json_object();
	char *token = NULL;

	if (kc->exec.argv) {
		*err = "the context uses an exec credential plugin, which a server cannot run: use a context "
		       "with a token or client certificate";
		goto fail;
	}
	if (kc->token)
		token = str_dup(kc->token);
	put_b64(tls, "caData", kc->ca_pem);
	put_b64(tls, "certData", kc->cert_pem);
	put_b64(tls, "keyData", kc->key_pem);
	if (kc->insecure)
		json_object_set_new(tls, "insecure", json_true());
	if (kc->tls_server_name)
		json_object_set_new(tls, "serverName", json_string(kc->tls_server_name));
	if (token)
		json_object_set_new(config, "bearerToken", json_string(token));
	json_object_set_new(config, "tlsClientConfig", tls);
	free(token);
	return json_pack("{s:s,s:s,s:o}", "server", kc->server, "name", name, "config", config);
fail:
	json_decref(tls);
	json_decref(config);
	return NULL;
}

int cmd_cluster_add(int argc, char **argv)
{
	enum { OPT_NAME = CLI_OPT_FIRST_FREE, OPT_KUBECONFIG, OPT_UPSERT };
	static const struct option opts[] = {{"name", required_argument, NULL, OPT_NAME},
					     {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
					     {"upsert", no_argument, NULL, OPT_UPSERT},
					     {"help", no_argument, NULL, 'h'},
					     CLI_GLOBAL_LONGOPTS,
					     {NULL, 0, NULL, 0}};
	struct cli_global g = {0};
	struct cli_conn conn = {0};
	struct kube_config kc = {0};
	const char *name = NULL, *kubeconfig = NULL, *err = NULL;
	bool upsert = false;
	json_t *body = NULL, *resp = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_global_opt(&g, c, optarg))
			continue;
		switch (c) {
		case OPT_NAME: name = optarg; break;
		case OPT_KUBECONFIG: kubeconfig = optarg; break;
		case OPT_UPSERT: upsert = true; break;
		case 'h': fputs(add_usage, stdout); return 0;
		default: return cli_usage_error(argv[0], "bad flag");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one CONTEXT");
	if (kube_config_load_default(kubeconfig, argv[optind], &kc) < 0)
		return cli_error(argv[0], "%s", err_msg());
	if (!(body = cluster_body(&kc, name ? name : argv[optind], &err))) {
		rc = cli_error(argv[0], "context \"%s\": %s", argv[optind], err ? err : "out of memory");
		goto out;
	}
	if ((rc = cli_connect(argv[0], &g, true, &conn)) != 0)
		goto out;
	if ((rc = cli_call(&conn, "POST", upsert ? "/api/v1/clusters?upsert=true" : "/api/v1/clusters", body, NULL,
			   &resp)) == 0)
		printf("cluster '%s' (%s) added\n", name ? name : argv[optind], kc.server);
out:
	kube_config_release(&kc);
	json_decref(body);
	json_decref(resp);
	cli_conn_release(&conn);
	return rc;
}

static const char list_usage[] =
	"Usage: berth cluster list [-o json|yaml]\n"
	"\n"
	"Lists the clusters applications may deploy to (never their credentials).\n"
	"\n"
	"  -o, --output FORMAT          json or yaml instead of the table\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 listed, 2 an error.\n";

static void cluster_row(json_t *rows, const json_t *r)
{
	cli_table_row(rows, 3, cli_str(r, "", "server", NULL), cli_str(r, "", "name", NULL),
		      cli_str(r, "", "connectionState", "status", NULL));
}

int cmd_cluster_list(int argc, char **argv)
{
	static const char *const header[] = {"SERVER", "NAME", "STATUS", NULL};
	static const struct cli_listing l = {list_usage, "clusters", header, cluster_row};
	return cli_list_command(argc, argv, &l);
}

static const char rm_usage[] =
	"Usage: berth cluster rm SERVER\n"
	"\n"
	"Removes a registered cluster (by its API server URL) and its credentials.\n"
	"\n"
	"  -h, --help                   show this help\n"
	"\n" CLI_GLOBAL_HELP "\n"
	"Exit status: 0 removed, 2 an error.\n";

int cmd_cluster_rm(int argc, char **argv)
{
	static const struct cli_removal r = {rm_usage, "clusters", "cluster", "one SERVER", "removed"};
	return cli_remove_command(argc, argv, &r);
}
