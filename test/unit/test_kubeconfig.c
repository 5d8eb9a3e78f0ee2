/* Unit tests for lib/kubeconfig: kubeconfig files (merging, contexts,
 * relative paths, bad base64), $KUBECONFIG, in-cluster configuration,
 * cluster Secrets and exec credential plugins. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsx.h"
#include "kubeconfig.h"
#include "model.h"
#include "str.h"

static char dir[256];

static void setup(void)
{
	str_copy(dir, "/tmp/test_kubeconfig.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	fsx_remove_tree(dir);
}

/* Writes text to dir/name and returns the path (static buffer per call slot). */
static const char *put(const char *name, const char *text, int mode)
{
	static char paths[8][512];
	static int slot;
	char *p = paths[slot++ % 8];
	snprintf(p, 512, "%s/%s", dir, name);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	mkdir(p, 0700);
	*slash = '/';
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(p, (mode_t)mode);
	return p;
}

/* "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n" in base64. */
#define PEM_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClgKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define PEM_TEXT "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n"

static const char *basic =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: prod\n"
	"clusters:\n"
	"- name: prod\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443/prefix/\n"
	"    certificate-authority-data: " PEM_B64 "\n"
	"    tls-server-name: api.internal\n"
	"contexts:\n"
	"- name: prod\n"
	"  context: {cluster: prod, user: ci, namespace: apps}\n"
	"- name: bare\n"
	"  context: {cluster: prod}\n"
	"users:\n"
	"- name: ci\n"
	"  user:\n"
	"    token: abc\n"
	"    as: jane\n"
	"    as-groups: [devs, ops]\n";

START_TEST(loads_current_context)
{
	const char *p = put("config", basic, 0600);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), 0);
	ck_assert_str_eq(c.context, "prod");
	ck_assert_str_eq(c.server, "https://10.0.0.1:6443/prefix");
	ck_assert_str_eq(c.namespace_, "apps");
	ck_assert_str_eq(c.ca_pem, PEM_TEXT);
	ck_assert_str_eq(c.tls_server_name, "api.internal");
	ck_assert_str_eq(c.token, "abc");
	ck_assert_str_eq(c.impersonate_user, "jane");
	ck_assert_str_eq(c.impersonate_groups[1], "ops");
	ck_assert(!c.insecure);
	kube_config_release(&c);
}
END_TEST

START_TEST(namespace_defaults_to_default)
{
	const char *p = put("config", basic, 0600);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, "bare", &c), 0);
	ck_assert_str_eq(c.namespace_, "default");
	ck_assert_ptr_null(c.token);
	kube_config_release(&c);
}
END_TEST

START_TEST(missing_context_is_named)
{
	const char *p = put("config", basic, 0600);
	struct kube_config c;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(kube_config_load_files(&p, 1, "staging", &c), BERR_NOTFOUND);
	ck_assert_msg(strstr(err_msg(), "context \"staging\" not found"), "%s", err_msg());
	ck_assert_ptr_null(c.server);
}
END_TEST

START_TEST(missing_user_is_named)
{
	const char *p = put("config",
			    "current-context: x\n"
			    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			    "contexts: [{name: x, context: {cluster: c, user: ghost}}]\n",
			    0600);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), BERR_NOTFOUND);
	ck_assert_msg(strstr(err_msg(), "user \"ghost\" not found"), "%s", err_msg());
}
END_TEST

START_TEST(bad_base64_names_user_and_key)
{
	const char *p = put("config",
			    "current-context: x\n"
			    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
			    "users: [{name: u, user: {client-certificate-data: 'bm90!!', client-key-data: 'eA=='}}]\n",
			    0600);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), BERR_INVALID);
	ck_assert_msg(strstr(err_msg(), "user \"u\": client-certificate-data"), "%s", err_msg());
	ck_assert_msg(strstr(err_msg(), p), "%s", err_msg());
}
END_TEST

START_TEST(no_server_is_invalid)
{
	const char *p = put("config",
			    "current-context: x\n"
			    "clusters: [{name: c, cluster: {}}]\n"
			    "contexts: [{name: x, context: {cluster: c}}]\n",
			    0600);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), BERR_INVALID);
	ck_assert_msg(strstr(err_msg(), "cluster \"c\": server is required"), "%s", err_msg());
}
END_TEST

START_TEST(relative_paths_resolve_against_the_file)
{
	put("sub/ca.crt", PEM_TEXT, 0600);
	put("sub/certs/client.crt", "CERT", 0600);
	put("sub/certs/client.key", "KEY", 0600);
	const char *p = put("sub/config",
			    "current-context: x\n"
			    "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: ca.crt}}]\n"
			    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
			    "users: [{name: u, user: {client-certificate: certs/client.crt, client-key: certs/client.key,"
			    " tokenFile: tok}}]\n",
			    0600);
	struct kube_config c;
	ck_assert_msg(kube_config_load_files(&p, 1, NULL, &c) == 0, "%s", err_msg());
	ck_assert_str_eq(c.ca_pem, PEM_TEXT);
	ck_assert_str_eq(c.cert_pem, "CERT");
	ck_assert_str_eq(c.key_pem, "KEY");
	char want[600];
	snprintf(want, sizeof(want), "%s/sub/tok", dir);
	ck_assert_str_eq(c.token_file, want);
	kube_config_release(&c);
}
END_TEST

START_TEST(missing_referenced_file_is_an_error)
{
	const char *p = put("config",
			    "current-context: x\n"
			    "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: nope.crt}}]\n"
			    "contexts: [{name: x, context: {cluster: c}}]\n",
			    0600);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), BERR_NOTFOUND);
	ck_assert_msg(strstr(err_msg(), "certificate-authority"), "%s", err_msg());
}
END_TEST

START_TEST(merged_files_first_wins)
{
	const char *a = put("a",
			    "clusters: [{name: c, cluster: {server: 'https://first'}}]\n"
			    "users: [{name: u, user: {token: first}}]\n",
			    0600);
	const char *b = put("b",
			    "current-context: x\n"
			    "clusters: [{name: c, cluster: {server: 'https://second'}}]\n"
			    "contexts: [{name: x, context: {cluster: c, user: u, namespace: ns-b}}]\n"
			    "users: [{name: u, user: {token: second}}]\n",
			    0600);
	const char *paths[] = {a, "/nonexistent/kubeconfig", b};
	struct kube_config c;
	ck_assert_msg(kube_config_load_files(paths, 3, NULL, &c) == 0, "%s", err_msg());
	ck_assert_str_eq(c.server, "https://first");
	ck_assert_str_eq(c.token, "first");
	ck_assert_str_eq(c.namespace_, "ns-b");
	kube_config_release(&c);
}
END_TEST

START_TEST(kubeconfig_env_list_is_merged)
{
	const char *a = put("a", "current-context: x\n", 0600);
	const char *b = put("b",
			    "clusters: [{name: c, cluster: {server: 'https://env', insecure-skip-tls-verify: true}}]\n"
			    "contexts: [{name: x, context: {cluster: c}}]\n",
			    0600);
	char *env = str_printf("%s::%s", a, b);
	setenv("KUBECONFIG", env, 1);
	struct kube_config c;
	int rc = kube_config_load_default(NULL, NULL, &c);
	unsetenv("KUBECONFIG");
	free(env);
	ck_assert_msg(rc == 0, "%s", err_msg());
	ck_assert_str_eq(c.server, "https://env");
	ck_assert(c.insecure);
	kube_config_release(&c);
}
END_TEST

START_TEST(single_missing_file_is_an_error)
{
	const char *p = "/nonexistent/kubeconfig";
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), BERR_NOTFOUND);
	ck_assert_msg(strstr(err_msg(), "/nonexistent/kubeconfig"), "%s", err_msg());
}
END_TEST

START_TEST(in_cluster_uses_service_account)
{
	put("sa/token", "sa-token\n", 0600);
	put("sa/ca.crt", PEM_TEXT, 0600);
	put("sa/namespace", "berth\n", 0600);
	char sa[512];
	snprintf(sa, sizeof(sa), "%s/sa", dir);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kube_config c;
	int rc = kube_config_in_cluster(sa, &c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	ck_assert_msg(rc == 0, "%s", err_msg());
	ck_assert_str_eq(c.server, "https://[fd00::1]:443");
	ck_assert_str_eq(c.namespace_, "berth");
	ck_assert_str_eq(c.ca_pem, PEM_TEXT);
	struct kube_credential cr;
	ck_assert_int_eq(kube_config_credential(&c, &cr), 0);
	ck_assert_str_eq(cr.token, "sa-token");
	kube_credential_release(&cr);
	kube_config_release(&c);
}
END_TEST

START_TEST(in_cluster_needs_the_variables)
{
	unsetenv("KUBERNETES_SERVICE_HOST");
	struct kube_config c;
	ck_assert_int_eq(kube_config_in_cluster(dir, &c), BERR_NOTFOUND);
}
END_TEST

START_TEST(cluster_secret_becomes_config)
{
	struct model_cluster cl;
	memset(&cl, 0, sizeof(cl));
	cl.name = strdup("prod");
	cl.server = strdup("https://prod.example:6443/");
	cl.bearer_token = strdup("t0k");
	cl.ca_data = strdup(PEM_TEXT);
	cl.server_name = strdup("api");
	struct kube_config c;
	ck_assert_int_eq(kube_config_from_cluster(&cl, &c), 0);
	ck_assert_str_eq(c.server, "https://prod.example:6443");
	ck_assert_str_eq(c.token, "t0k");
	ck_assert_str_eq(c.ca_pem, PEM_TEXT);
	ck_assert_str_eq(c.tls_server_name, "api");
	struct kube_config copy;
	ck_assert_int_eq(kube_config_copy(&c, &copy), 0);
	ck_assert_str_eq(copy.token, "t0k");
	kube_config_release(&copy);
	kube_config_release(&c);
	model_cluster_release(&cl);
}
END_TEST

START_TEST(cluster_secret_json_becomes_config)
{
	struct model_cluster cl;
	memset(&cl, 0, sizeof(cl));
	cl.name = strdup("edge");
	cl.server = strdup("https://edge.example");
	cl.bearer_token = strdup("edge-token");
	cl.insecure = true;
	json_t *secret = NULL;
	ck_assert_int_eq(model_cluster_to_secret(&cl, "berth", "cluster-edge", &secret), 0);
	struct kube_config c;
	ck_assert_msg(kube_config_from_cluster_secret(secret, &c) == 0, "%s", err_msg());
	ck_assert_str_eq(c.server, "https://edge.example");
	ck_assert_str_eq(c.token, "edge-token");
	ck_assert(c.insecure);
	ck_assert_str_eq(c.context, "edge");
	kube_config_release(&c);
	json_decref(secret);
	model_cluster_release(&cl);
}
END_TEST

static const char *exec_config(const char *script_name, bool cluster_info)
{
	static char text[2048];
	snprintf(text, sizeof(text),
		 "current-context: x\n"
		 "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "    exec:\n"
		 "      apiVersion: client.authentication.k8s.io/v1\n"
		 "      command: ./%s\n"
		 "      args: [--flag, value]\n"
		 "      env: [{name: PLUGIN_TOKEN, value: from-env}]\n"
		 "      interactiveMode: Never\n"
		 "      provideClusterInfo: %s\n",
		 script_name, cluster_info ? "true" : "false");
	return put("config", text, 0600);
}

START_TEST(exec_plugin_gives_token_and_expiry)
{
	/* The plugin echoes its env token, its second argument and whether it
	 * got the ExecCredential info. */
	put("plugin.sh",
	    "#!/bin/sh\n"
	    "case \"$KUBERNETES_EXEC_INFO\" in *'\"cluster\"'*) info=cluster;; *ExecCredential*) info=plain;; *) info=none;; esac\n"
	    "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
	    "\"status\":{\"token\":\"%s-%s-%s\",\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}' "
	    "\"$PLUGIN_TOKEN\" \"$2\" \"$info\"\n",
	    0700);
	const char *p = exec_config("plugin.sh", false);
	struct kube_config c;
	ck_assert_msg(kube_config_load_files(&p, 1, NULL, &c) == 0, "%s", err_msg());
	struct kube_credential cr;
	ck_assert_msg(kube_config_credential(&c, &cr) == 0, "%s", err_msg());
	ck_assert_str_eq(cr.token, "from-env-value-plain");
	ck_assert_int_eq(cr.expires_ms, 1893553445000LL);
	kube_credential_release(&cr);
	kube_config_release(&c);

	p = exec_config("plugin.sh", true);
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), 0);
	ck_assert_int_eq(kube_config_credential(&c, &cr), 0);
	ck_assert_str_eq(cr.token, "from-env-value-cluster");
	kube_credential_release(&cr);
	kube_config_release(&c);
}
END_TEST

START_TEST(exec_plugin_failure_is_unauthorized)
{
	put("fail.sh", "#!/bin/sh\necho 'no SSO session' >&2\nexit 3\n", 0700);
	const char *p = exec_config("fail.sh", false);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), 0);
	struct kube_credential cr;
	ck_assert_int_eq(kube_config_credential(&c, &cr), BERR_UNAUTHORIZED);
	ck_assert_msg(strstr(err_msg(), "exit 3: no SSO session"), "%s", err_msg());
	kube_config_release(&c);
}
END_TEST

START_TEST(exec_plugin_without_status_is_unauthorized)
{
	put("empty.sh", "#!/bin/sh\necho '{\"kind\":\"ExecCredential\"}'\n", 0700);
	const char *p = exec_config("empty.sh", false);
	struct kube_config c;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &c), 0);
	struct kube_credential cr;
	ck_assert_int_eq(kube_config_credential(&c, &cr), BERR_UNAUTHORIZED);
	kube_config_release(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kubeconfig");
	TCase *tc = tcase_create("kubeconfig");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, loads_current_context);
	tcase_add_test(tc, namespace_defaults_to_default);
	tcase_add_test(tc, missing_context_is_named);
	tcase_add_test(tc, missing_user_is_named);
	tcase_add_test(tc, bad_base64_names_user_and_key);
	tcase_add_test(tc, no_server_is_invalid);
	tcase_add_test(tc, relative_paths_resolve_against_the_file);
	tcase_add_test(tc, missing_referenced_file_is_an_error);
	tcase_add_test(tc, merged_files_first_wins);
	tcase_add_test(tc, kubeconfig_env_list_is_merged);
	tcase_add_test(tc, single_missing_file_is_an_error);
	tcase_add_test(tc, in_cluster_uses_service_account);
	tcase_add_test(tc, in_cluster_needs_the_variables);
	tcase_add_test(tc, cluster_secret_becomes_config);
	tcase_add_test(tc, cluster_secret_json_becomes_config);
	tcase_add_test(tc, exec_plugin_gives_token_and_expiry);
	tcase_add_test(tc, exec_plugin_failure_is_unauthorized);
	tcase_add_test(tc, exec_plugin_without_status_is_unauthorized);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
