/* Tests for lib/kube and lib/livecache against a real kube-sim over TLS
 * (started once for the whole program, from $BERTH_BIN): every request type
 * with token and client-certificate auth, discovery of a CRD added at run
 * time, watches, the live cache converging after 10k writes, and each fault
 * kube-sim can inject (410 on watch and paging, 429 with Retry-After, 500 and
 * 503, dropped watches, an expired token re-read from tokenFile). */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "httpc.h"
#include "jsonx.h"
#include "kube.h"
#include "kube_int.h"
#include "kubeconfig.h"
#include "livecache.h"
#include "str.h"

static pid_t sim_pid;
static char tmpdir[256];
static char kc_path[512];
static char admin_token[256];
static char *ca_pem;

/* ---- kube-sim ---- */

static char *slurp(const char *path)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	if (fsx_read_file(path, &b) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* Starts kube-sim with args (after argv[0]) and waits for its ready line. */
static pid_t exec_sim(const char *const *args)
{
	const char *bin = getenv("BERTH_BIN");
	char sim[512], line[512];
	const char *argv[32];
	int fds[2];
	size_t n = 0;
	snprintf(sim, sizeof(sim), "%s/kube-sim", bin ? bin : "bin");
	argv[n++] = sim;
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe(fds) < 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		close(fds[0]);
		execv(sim, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	bool ready = false;
	while (f && fgets(line, sizeof(line), f))
		if (str_starts_with(line, "kube-sim ready")) {
			ready = true;
			break;
		}
	if (!ready) {
		fprintf(stderr, "kube-sim did not start (%s)\n", sim);
		exit(1);
	}
	/* Keep reading its stdout so it never blocks on a full pipe. */
	if (fork() == 0) {
		while (fgets(line, sizeof(line), f))
			;
		_exit(0);
	}
	fclose(f);
	return pid;
}

static void sim_start(void)
{
	str_copy(tmpdir, "/tmp/test_kube.XXXXXX", sizeof(tmpdir));
	if (!mkdtemp(tmpdir))
		abort();
	snprintf(kc_path, sizeof(kc_path), "%s/kc", tmpdir);
	const char *args[] = {"--listen", "127.0.0.1:0", "--write-kubeconfig", kc_path, "--tls", "--token", "tok-1",
			      "--no-controllers", "--bookmark-interval", "2s", NULL};
	sim_pid = exec_sim(args);
	char p[600];
	snprintf(p, sizeof(p), "%s.admin-token", kc_path);
	char *t = slurp(p);
	if (!t)
		abort();
	t[strcspn(t, "\r\n")] = '\0';
	str_copy(admin_token, t, sizeof(admin_token));
	free(t);
	snprintf(p, sizeof(p), "%s.ca.crt", kc_path);
	ca_pem = slurp(p);
}

static void sim_stop(void)
{
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		waitpid(sim_pid, NULL, 0);
	}
	free(ca_pem);
	fsx_remove_tree(tmpdir);
}

/* A request to kube-sim's admin endpoint; returns the HTTP status. */
static long admin(const char *method, const char *what, const char *body)
{
	struct kube_config cfg;
	const char *p = kc_path;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &cfg), 0);
	char auth[300], url[600];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", admin_token);
	snprintf(url, sizeof(url), "%s/_admin/%s", cfg.server, what);
	const char *hdrs[] = {auth, NULL};
	struct httpc_config hc = {.ca_pem = ca_pem, .headers = hdrs, .timeout_ms = 10000};
	struct httpc *c;
	ck_assert_int_eq(httpc_new(&hc, &c), 0);
	struct httpc_req req = {.method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0,
				.content_type = "application/json"};
	struct httpc_resp resp;
	httpc_resp_init(&resp);
	ck_assert_int_eq(httpc_request(c, &req, &resp), 0);
	long st = resp.status;
	httpc_resp_release(&resp);
	httpc_free(c);
	kube_config_release(&cfg);
	return st;
}

/* ---- clients ---- */

enum auth { AUTH_TOKEN, AUTH_CERT, AUTH_NONE, AUTH_TOKEN_FILE, AUTH_EXEC };

static struct kube_client *client_opts(enum auth a, const struct kube_client_opts *o)
{
	struct kube_config cfg;
	const char *p = kc_path;
	char path[600];
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &cfg), 0);
	if (a != AUTH_TOKEN) {
		free(cfg.token);
		cfg.token = NULL;
	}
	if (a == AUTH_CERT) {
		snprintf(path, sizeof(path), "%s.client.crt", kc_path);
		cfg.cert_pem = slurp(path);
		snprintf(path, sizeof(path), "%s.client.key", kc_path);
		cfg.key_pem = slurp(path);
		ck_assert_ptr_nonnull(cfg.cert_pem);
	}
	if (a == AUTH_TOKEN_FILE)
		cfg.token_file = str_printf("%s/token", tmpdir);
	if (a == AUTH_EXEC) {
		cfg.exec.argv = calloc(2, sizeof(char *));
		cfg.exec.argv[0] = str_printf("%s/plugin.sh", tmpdir);
		cfg.exec.env = calloc(2, sizeof(char *));
		cfg.exec.env[0] = str_printf("PLUGIN_DIR=%s", tmpdir);
		cfg.exec.api_version = strdup("client.authentication.k8s.io/v1");
	}
	struct kube_client *kc = NULL;
	int rc = kube_client_new(&cfg, o, &kc);
	ck_assert_msg(rc == 0, "client: %s", err_msg());
	kube_config_release(&cfg);
	return kc;
}

static struct kube_client *client(enum auth a)
{
	struct kube_client_opts o = {.qps = -1, .max_attempts = 6, .base_delay_ms = 20, .max_delay_ms = 200};
	return client_opts(a, &o);
}

static void make_ns(struct kube_client *kc, const char *ns)
{
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", ns);
	struct kube_target t = {.api_version = "v1", .kind = "Namespace"};
	int rc = kube_create(kc, &t, obj, NULL, NULL);
	ck_assert_msg(rc == 0 || rc == BERR_EXISTS, "namespace %s: %s", ns, err_msg());
	json_decref(obj);
}

static json_t *cm(const char *ns, const char *name, const char *val)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
			 "metadata", "name", name, "namespace", ns, "labels", "app", "t", "data", "k", val);
}

static int create_cm(struct kube_client *kc, const char *ns, const char *name, const char *val)
{
	json_t *o = cm(ns, name, val);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = ns};
	int rc = kube_create(kc, &t, o, NULL, NULL);
	json_decref(o);
	return rc;
}

/* ---- requests ---- */

START_TEST(get_create_update_with_token)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "req");
	json_t *obj = NULL, *o = cm("req", "a", "1");
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "req", .name = "a"};
	ck_assert_int_eq(kube_create(kc, &t, o, NULL, &obj), 0);
	ck_assert_str_eq(jx_path_str(obj, "metadata", "name", NULL), "a");
	ck_assert_int_eq(kube_create(kc, &t, o, NULL, NULL), BERR_EXISTS);
	ck_assert_int_eq(err_status(), 409);
	ck_assert_str_eq(err_reason(), "AlreadyExists");
	json_decref(obj);
	ck_assert_int_eq(kube_get(kc, &t, NULL, &obj), 0);
	const char *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	ck_assert_ptr_nonnull(rv);
	char *stale = strdup(rv);
	json_object_set_new(json_object_get(obj, "data"), "k", json_string("2"));
	json_t *upd = NULL;
	ck_assert_int_eq(kube_update(kc, &t, obj, NULL, &upd), 0);
	ck_assert_str_eq(jx_path_str(upd, "data", "k", NULL), "2");
	/* The old RV is now stale: 409 Conflict for the caller to retry. */
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(stale));
	ck_assert_int_eq(kube_update(kc, &t, obj, NULL, NULL), BERR_CONFLICT);
	ck_assert_int_eq(err_status(), 409);
	ck_assert_str_eq(err_reason(), "Conflict");
	ck_assert_ptr_nonnull(kube_last_status());
	free(stale);
	json_decref(upd);
	json_decref(obj);
	json_decref(o);
	kube_client_free(kc);
}
END_TEST

START_TEST(not_found_keeps_status)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "default", .name = "nope"};
	json_t *obj = NULL;
	ck_assert_int_eq(kube_get(kc, &t, NULL, &obj), BERR_NOTFOUND);
	ck_assert_ptr_null(obj);
	ck_assert_int_eq(err_status(), 404);
	ck_assert_str_eq(err_reason(), "NotFound");
	ck_assert_msg(strstr(err_msg(), "configmaps \"nope\" not found"), "%s", err_msg());
	ck_assert_str_eq(jx_str(kube_last_status(), "reason"), "NotFound");
	struct kube_target w = {.api_version = "example.com/v9", .kind = "Nothing", .namespace_ = "x", .name = "y"};
	ck_assert_int_eq(kube_get(kc, &w, NULL, &obj), BERR_NOTFOUND);
	ck_assert_msg(strstr(err_msg(), "no resource for kind \"Nothing\""), "%s", err_msg());
	kube_client_free(kc);
}
END_TEST

START_TEST(invalid_object_keeps_causes)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	json_t *o = cm("default", "Bad_Name", "x");
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "default"};
	ck_assert_int_eq(kube_create(kc, &t, o, NULL, NULL), BERR_INVALID);
	ck_assert_int_eq(err_status(), 422);
	ck_assert_str_eq(err_reason(), "Invalid");
	json_t *causes = jx_path((json_t *)kube_last_status(), "details", "causes", NULL);
	ck_assert(json_array_size(causes) >= 1);
	ck_assert_msg(strstr(err_msg(), "metadata.name"), "%s", err_msg());
	json_decref(o);
	kube_client_free(kc);
}
END_TEST

START_TEST(patch_types_and_apply)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "patch");
	ck_assert_int_eq(create_cm(kc, "patch", "p", "1"), 0);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "patch", .name = "p"};
	json_t *out = NULL, *mp = json_pack("{s:{s:s}}", "data", "m", "merge");
	ck_assert_int_eq(kube_patch(kc, &t, KUBE_PATCH_MERGE, mp, NULL, &out), 0);
	ck_assert_str_eq(jx_path_str(out, "data", "m", NULL), "merge");
	json_decref(out);
	json_t *jp = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path", "/data/k", "value", "json");
	ck_assert_int_eq(kube_patch(kc, &t, KUBE_PATCH_JSON, jp, NULL, &out), 0);
	ck_assert_str_eq(jx_path_str(out, "data", "k", NULL), "json");
	json_decref(out);
	json_t *sp = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "smp", "yes");
	ck_assert_int_eq(kube_patch(kc, &t, KUBE_PATCH_STRATEGIC, sp, NULL, &out), 0);
	ck_assert_str_eq(jx_path_str(out, "metadata", "labels", "smp", NULL), "yes");
	json_decref(out);
	/* Server-side apply: creates a missing object; another manager's field conflicts. */
	struct kube_target at = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "patch", .name = "ssa"};
	json_t *desired = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
				    "metadata", "name", "ssa", "namespace", "patch", "data", "x", "1");
	struct kube_req_opts ao = {.field_manager = "berth", .force = true};
	ck_assert_int_eq(kube_patch(kc, &at, KUBE_PATCH_APPLY, desired, &ao, &out), 0);
	ck_assert_str_eq(jx_path_str(out, "data", "x", NULL), "1");
	json_decref(out);
	json_object_set_new(json_object_get(desired, "data"), "x", json_string("2"));
	struct kube_req_opts other = {.field_manager = "someone-else"};
	ck_assert_int_eq(kube_patch(kc, &at, KUBE_PATCH_APPLY, desired, &other, NULL), BERR_CONFLICT);
	ck_assert_int_eq(err_status(), 409);
	ck_assert(json_array_size(jx_path((json_t *)kube_last_status(), "details", "causes", NULL)) >= 1);
	other.force = true;
	ck_assert_int_eq(kube_patch(kc, &at, KUBE_PATCH_APPLY, desired, &other, NULL), 0);
	/* dryRun: answered but not stored. */
	struct kube_req_opts dry = {.dry_run = true};
	json_t *mp2 = json_pack("{s:{s:s}}", "data", "x", "dry");
	ck_assert_int_eq(kube_patch(kc, &at, KUBE_PATCH_MERGE, mp2, &dry, &out), 0);
	ck_assert_str_eq(jx_path_str(out, "data", "x", NULL), "dry");
	json_decref(out);
	ck_assert_int_eq(kube_get(kc, &at, NULL, &out), 0);
	ck_assert_str_eq(jx_path_str(out, "data", "x", NULL), "2");
	json_decref(out);
	json_decref(mp);
	json_decref(mp2);
	json_decref(jp);
	json_decref(sp);
	json_decref(desired);
	kube_client_free(kc);
}
END_TEST

START_TEST(delete_policies_and_preconditions)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "del");
	ck_assert_int_eq(create_cm(kc, "del", "d", "1"), 0);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "del", .name = "d"};
	struct kube_req_opts pre = {.precondition_uid = "00000000-0000-0000-0000-000000000000"};
	ck_assert_int_eq(kube_delete(kc, &t, &pre, NULL), BERR_CONFLICT);
	json_t *out = NULL;
	struct kube_req_opts bg = {.propagation_policy = "Background"};
	ck_assert_int_eq(kube_delete(kc, &t, &bg, &out), 0);
	ck_assert_str_eq(jx_str(out, "status"), "Success");
	json_decref(out);
	/* Foreground: pending until the garbage collector (none here) finishes. */
	ck_assert_int_eq(create_cm(kc, "del", "fg", "1"), 0);
	struct kube_target fgt = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "del", .name = "fg"};
	struct kube_req_opts fg = {.propagation_policy = "Foreground"};
	ck_assert_int_eq(kube_delete(kc, &fgt, &fg, &out), 0);
	ck_assert_ptr_nonnull(jx_path_str(out, "metadata", "deletionTimestamp", NULL));
	ck_assert_str_eq(json_string_value(json_array_get(jx_path(out, "metadata", "finalizers", NULL), 0)),
			 "foregroundDeletion");
	json_decref(out);
	/* A finalizer keeps it: the delete answers the object with a deletionTimestamp. */
	json_t *o = cm("del", "f", "1");
	json_object_set_new(json_object_get(o, "metadata"), "finalizers", json_pack("[s]", "example.com/hold"));
	struct kube_target ft = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "del", .name = "f"};
	ck_assert_int_eq(kube_create(kc, &ft, o, NULL, NULL), 0);
	ck_assert_int_eq(kube_delete(kc, &ft, NULL, &out), 0);
	ck_assert_ptr_nonnull(jx_path_str(out, "metadata", "deletionTimestamp", NULL));
	json_decref(out);
	json_t *rm = json_pack("{s:{s:n}}", "metadata", "finalizers");
	ck_assert_int_eq(kube_patch(kc, &ft, KUBE_PATCH_MERGE, rm, NULL, NULL), 0);
	ck_assert_int_eq(kube_get(kc, &ft, NULL, &out), BERR_NOTFOUND);
	ck_assert_int_eq(kube_delete(kc, &t, NULL, NULL), BERR_NOTFOUND);
	json_decref(rm);
	json_decref(o);
	kube_client_free(kc);
}
END_TEST

START_TEST(status_subresource_write)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "st");
	json_t *dep = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:[{s:s, s:s}]}}}}",
				"apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", "web", "spec",
				"replicas", 1, "selector", "matchLabels", "app", "web", "template", "metadata",
				"labels", "app", "web", "spec", "containers", "name", "c", "image", "nginx:1");
	struct kube_target t = {.api_version = "apps/v1", .kind = "Deployment", .namespace_ = "st", .name = "web"};
	json_t *live = NULL;
	ck_assert_msg(kube_create(kc, &t, dep, NULL, &live) == 0, "%s", err_msg());
	json_object_set_new(live, "status", json_pack("{s:i}", "observedGeneration", 7));
	struct kube_target st = t;
	st.subresource = "status";
	json_t *out = NULL;
	ck_assert_msg(kube_update(kc, &st, live, NULL, &out) == 0, "%s", err_msg());
	ck_assert_int_eq(json_integer_value(jx_path(out, "status", "observedGeneration", NULL)), 7);
	json_decref(out);
	json_t *sp = json_pack("{s:{s:i}}", "status", "readyReplicas", 1);
	ck_assert_int_eq(kube_patch(kc, &st, KUBE_PATCH_MERGE, sp, NULL, &out), 0);
	ck_assert_int_eq(json_integer_value(jx_path(out, "status", "readyReplicas", NULL)), 1);
	json_decref(out);
	json_decref(sp);
	json_decref(live);
	json_decref(dep);
	kube_client_free(kc);
}
END_TEST

START_TEST(list_pages_fill_kind)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "pages");
	char name[32];
	for (int i = 0; i < 23; i++) {
		snprintf(name, sizeof(name), "c%02d", i);
		ck_assert_int_eq(create_cm(kc, "pages", name, "v"), 0);
	}
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "pages"};
	struct kube_req_opts o = {.limit = 5, .label_selector = "app=t"};
	json_t *list = NULL;
	ck_assert_int_eq(kube_list(kc, &t, &o, &list), 0);
	json_t *items = json_object_get(list, "items");
	ck_assert_int_eq(json_array_size(items), 23);
	ck_assert_str_eq(jx_str(json_array_get(items, 0), "kind"), "ConfigMap");
	ck_assert_str_eq(jx_str(json_array_get(items, 22), "apiVersion"), "v1");
	ck_assert_ptr_nonnull(jx_path_str(list, "metadata", "resourceVersion", NULL));
	json_decref(list);
	kube_client_free(kc);
}
END_TEST

static void escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_')
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

START_TEST(list_with_resource_version_pages)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "pagesrv");
	char name[32];
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "c%02d", i);
		ck_assert_int_eq(create_cm(kc, "pagesrv", name, "v"), 0);
	}
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "pagesrv"};
	json_t *first = NULL, *list = NULL;
	ck_assert_int_eq(kube_list(kc, &t, NULL, &first), 0);
	/* The RV goes on the first page only (with a continue token it is a 400). */
	struct kube_req_opts o = {.limit = 3,
				  .resource_version = jx_path_str(first, "metadata", "resourceVersion", NULL),
				  .resource_version_match = "NotOlderThan"};
	ck_assert_msg(kube_list(kc, &t, &o, &list) == 0, "%s", err_msg());
	ck_assert_int_eq(json_array_size(json_object_get(list, "items")), 7);
	json_decref(list);
	json_decref(first);
	kube_client_free(kc);
}
END_TEST

struct steal {
	struct kube_client *kc;
	int pages;
	int restarts;
	size_t items;
};

/* Uses the continue token before the library does, so its next page gets
 * 410 Expired and the list restarts. */
static int steal_page(json_t *page, bool restarted, void *ud)
{
	struct steal *s = ud;
	const char *cont = jx_path_str(page, "metadata", "continue", NULL);
	if (restarted) {
		s->restarts++;
		s->items = 0;
	}
	s->items += json_array_size(json_object_get(page, "items"));
	if (s->pages++ == 0 && cont && *cont) {
		struct buf p;
		buf_init(&p, 4096);
		buf_puts(&p, "/api/v1/namespaces/pages410/configmaps?limit=4&continue=");
		escape(&p, cont);
		ck_assert_int_eq(kube_raw(s->kc, "GET", p.ptr, NULL, NULL, 0, NULL), 0);
		buf_release(&p);
	}
	return 0;
}

START_TEST(list_restarts_after_expired_continue)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "pages410");
	char name[32];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "c%02d", i);
		ck_assert_int_eq(create_cm(kc, "pages410", name, "v"), 0);
	}
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "pages410"};
	struct kube_req_opts o = {.limit = 4};
	struct steal s = {.kc = kc};
	ck_assert_msg(kube_list_pages(kc, &t, &o, steal_page, &s) == 0, "%s", err_msg());
	ck_assert_int_eq(s.restarts, 1);
	ck_assert_int_eq(s.items, 10);
	kube_client_free(kc);
}
END_TEST

START_TEST(client_certificate_auth)
{
	struct kube_client *kc = client(AUTH_CERT);
	struct kube_target t = {.api_version = "v1", .kind = "Namespace"};
	json_t *list = NULL;
	ck_assert_msg(kube_list(kc, &t, NULL, &list) == 0, "%s", err_msg());
	ck_assert(json_array_size(json_object_get(list, "items")) >= 1);
	json_decref(list);
	make_ns(kc, "cert");
	ck_assert_int_eq(create_cm(kc, "cert", "by-cert", "1"), 0);
	kube_client_free(kc);
}
END_TEST

START_TEST(no_credentials_is_unauthorized)
{
	struct kube_client *kc = client(AUTH_NONE);
	json_t *out = NULL;
	ck_assert_int_eq(kube_raw(kc, "GET", "/api/v1/namespaces", NULL, NULL, 0, &out), BERR_UNAUTHORIZED);
	ck_assert_int_eq(err_status(), 401);
	kube_client_free(kc);
}
END_TEST

static const char *crd_json =
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	"\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":\"Namespaced\","
	"\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\",\"listKind\":\"WidgetList\"},"
	"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},"
	"\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}]}}";

static void wait_established(struct kube_client *kc, const char *name)
{
	struct kube_target t = {.api_version = "apiextensions.k8s.io/v1", .kind = "CustomResourceDefinition",
				.name = name};
	int64_t deadline = clock_mono_ms() + 20000;
	for (;;) {
		json_t *crd = NULL;
		bool ok = false;
		if (kube_get(kc, &t, NULL, &crd) == 0) {
			json_t *c;
			size_t i;
			json_array_foreach(jx_path(crd, "status", "conditions", NULL), i, c)
				if (strcmp(jx_str(c, "type"), "Established") == 0 && strcmp(jx_str(c, "status"), "True") == 0)
					ok = true;
		}
		json_decref(crd);
		if (ok)
			return;
		ck_assert_msg(clock_mono_ms() < deadline, "CRD %s not Established", name);
		clock_sleep_ms(50);
	}
}

START_TEST(discovers_crd_added_at_run_time)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	struct kube_resource r;
	ck_assert_int_eq(kube_resource_for(kc, "apps/v1", "Deployment", &r), 0);
	ck_assert_str_eq(r.resource, "deployments");
	ck_assert(r.namespaced);
	ck_assert(r.has_status);
	kube_resource_release(&r);
	ck_assert(kube_discovery_aggregated(kc));
	ck_assert_int_eq(kube_resource_for(kc, "rbac.authorization.k8s.io/v1", "ClusterRole", &r), 0);
	ck_assert(!r.namespaced);
	kube_resource_release(&r);

	json_t *crd = NULL;
	ck_assert_int_eq(jx_parse(crd_json, strlen(crd_json), 1 << 20, 64, &crd), 0);
	struct kube_target ct = {.api_version = "apiextensions.k8s.io/v1", .kind = "CustomResourceDefinition"};
	int rc = kube_create(kc, &ct, crd, NULL, NULL);
	ck_assert_msg(rc == 0 || rc == BERR_EXISTS, "%s", err_msg());
	wait_established(kc, "widgets.example.com");
	ck_assert_msg(kube_resource_for(kc, "example.com/v1", "Widget", &r) == 0, "%s", err_msg());
	ck_assert_str_eq(r.resource, "widgets");
	ck_assert(r.namespaced);
	kube_resource_release(&r);
	make_ns(kc, "crd");
	json_t *w = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i}}", "apiVersion", "example.com/v1", "kind", "Widget",
			      "metadata", "name", "w1", "namespace", "crd", "spec", "size", 3);
	struct kube_target wt;
	ck_assert_int_eq(kube_target_of(w, &wt), 0);
	ck_assert_msg(kube_create(kc, &wt, w, NULL, NULL) == 0, "%s", err_msg());
	json_decref(w);
	json_decref(crd);
	kube_client_free(kc);
}
END_TEST

START_TEST(plain_discovery_maps_the_same)
{
	struct kube_client_opts o = {.qps = -1, .plain_discovery = true};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &o);
	struct kube_resource r;
	ck_assert_msg(kube_resource_for(kc, "apps/v1", "StatefulSet", &r) == 0, "%s", err_msg());
	ck_assert_str_eq(r.resource, "statefulsets");
	ck_assert(r.namespaced);
	ck_assert(r.has_status);
	ck_assert(r.verbs & KUBE_VERB_WATCH);
	kube_resource_release(&r);
	ck_assert(!kube_discovery_aggregated(kc));
	ck_assert_int_eq(kube_resource_for(kc, "v1", "Namespace", &r), 0);
	ck_assert_str_eq(r.resource, "namespaces");
	ck_assert(!r.namespaced);
	kube_resource_release(&r);
	struct kube_resource *all = NULL;
	size_t n = 0;
	ck_assert_int_eq(kube_resources(kc, &all, &n), 0);
	ck_assert(n > 20);
	kube_resources_free(all, n);
	kube_client_free(kc);
}
END_TEST

/* ---- faults ---- */

START_TEST(retry_after_429_is_honoured)
{
	struct kube_client_opts o = {.qps = -1, .max_attempts = 2, .base_delay_ms = 10, .max_delay_ms = 50};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &o);
	struct kube_target t = {.api_version = "v1", .kind = "Namespace", .name = "default"};
	json_t *out = NULL;
	ck_assert_int_eq(kube_get(kc, &t, NULL, &out), 0); /* discovery done before the fault */
	json_decref(out);
	ck_assert_int_eq(admin("PUT", "faults", "{\"429\":1}"), 200);
	int64_t t0 = clock_mono_ms();
	int rc = kube_get(kc, &t, NULL, &out);
	int64_t took = clock_mono_ms() - t0;
	ck_assert_int_eq(admin("DELETE", "faults", NULL), 200);
	ck_assert_int_eq(rc, BERR_UNAVAILABLE);
	ck_assert_int_eq(err_status(), 429);
	/* kube-sim says Retry-After: 1; the computed backoff alone would be ~10 ms. */
	ck_assert_msg(took >= 950, "waited only %lld ms", (long long)took);
	ck_assert_int_eq(kube_get(kc, &t, NULL, &out), 0);
	json_decref(out);
	kube_client_free(kc);
}
END_TEST

/* GET, PUT and DELETE are replayable: a bare 500/503 is retried. */
START_TEST(server_errors_are_retried)
{
	/* ~28% of requests fail: 10 attempts make a request failing them all
	 * rare (~3e-6; 6 attempts failed one of 70 requests in ~3% of runs). */
	struct kube_client_opts o = {.qps = -1, .max_attempts = 10, .base_delay_ms = 5, .max_delay_ms = 50};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &o);
	make_ns(kc, "flaky");
	char name[32];
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		int rc = create_cm(kc, "flaky", name, "v");
		ck_assert_msg(rc == 0 || rc == BERR_EXISTS, "%s", err_msg());
	}
	ck_assert_int_eq(admin("PUT", "faults", "{\"500\":0.15,\"503\":0.15}"), 200);
	int fails = 0;
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "flaky", .name = name};
		json_t *obj = NULL;
		int rc = kube_get(kc, &t, NULL, &obj);
		if (rc == 0) {
			json_object_set_new(json_object_get(obj, "data"), "k", json_string("w"));
			rc = kube_update(kc, &t, obj, NULL, NULL);
		}
		if (rc == 0 && i % 3 == 0)
			rc = kube_delete(kc, &t, NULL, NULL);
		if (rc != 0) {
			fprintf(stderr, "%s: %s\n", name, err_msg());
			fails++;
		}
		json_decref(obj);
	}
	ck_assert_int_eq(admin("DELETE", "faults", NULL), 200);
	ck_assert_int_eq(fails, 0);
	struct kube_metrics m;
	kube_client_metrics(kc, &m);
	ck_assert_msg(m.retries > 0, "no retries counted");
	kube_client_free(kc);
}
END_TEST

/* POST and PATCH (every patch type) are retried on 429: the API server
 * rejects the request before acting on it. */
START_TEST(writes_are_retried_on_429)
{
	struct kube_client_opts o = {.qps = -1, .max_attempts = 12, .base_delay_ms = 5, .max_delay_ms = 20,
				     .max_retry_after_ms = 20};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &o);
	make_ns(kc, "busy");
	ck_assert_int_eq(admin("PUT", "faults", "{\"429\":0.4}"), 200);
	char name[32];
	int fails = 0;
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "b%02d", i);
		struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "busy", .name = name};
		json_t *merge = json_pack("{s:{s:s}}", "data", "m", "1");
		json_t *jp = json_pack("[{s:s, s:s, s:s}]", "op", "add", "path", "/data/j", "value", "2");
		json_t *smp = json_pack("{s:{s:s}}", "data", "s", "3");
		json_t *apply = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
					  "metadata", "name", name, "namespace", "busy", "data", "a", "4");
		struct kube_req_opts ao = {.field_manager = "t", .force = true};
		int rc = create_cm(kc, "busy", name, "v");
		if (rc == 0)
			rc = kube_patch(kc, &t, KUBE_PATCH_MERGE, merge, NULL, NULL);
		if (rc == 0)
			rc = kube_patch(kc, &t, KUBE_PATCH_JSON, jp, NULL, NULL);
		if (rc == 0)
			rc = kube_patch(kc, &t, KUBE_PATCH_STRATEGIC, smp, NULL, NULL);
		if (rc == 0)
			rc = kube_patch(kc, &t, KUBE_PATCH_APPLY, apply, &ao, NULL);
		if (rc != 0) {
			fprintf(stderr, "%s: %s\n", name, err_msg());
			fails++;
		}
		json_decref(merge);
		json_decref(jp);
		json_decref(smp);
		json_decref(apply);
	}
	ck_assert_int_eq(admin("DELETE", "faults", NULL), 200);
	ck_assert_int_eq(fails, 0);
	struct kube_metrics m;
	kube_client_metrics(kc, &m);
	ck_assert_msg(m.retries >= 5, "%llu retries", (unsigned long long)m.retries);
	/* Each write was applied once: the JSON patch added its key once, and
	 * every key is there. */
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "busy", .name = "b09"};
	json_t *obj = NULL;
	ck_assert_int_eq(kube_get(kc, &t, NULL, &obj), 0);
	ck_assert_int_eq(json_object_size(json_object_get(obj, "data")), 5);
	json_decref(obj);
	kube_client_free(kc);
}
END_TEST

/* A PATCH answered 429 waits the Retry-After (1 s from kube-sim), as a GET does. */
START_TEST(patch_honours_retry_after_on_429)
{
	struct kube_client_opts o = {.qps = -1, .max_attempts = 2, .base_delay_ms = 10, .max_delay_ms = 50};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &o);
	make_ns(kc, "busy");
	int rc = create_cm(kc, "busy", "ra", "v");
	ck_assert(rc == 0 || rc == BERR_EXISTS);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "busy", .name = "ra"};
	json_t *merge = json_pack("{s:{s:s}}", "data", "m", "1");
	struct kube_metrics m0, m1;
	kube_client_metrics(kc, &m0);
	ck_assert_int_eq(admin("PUT", "faults", "{\"429\":1}"), 200);
	int64_t t0 = clock_mono_ms();
	rc = kube_patch(kc, &t, KUBE_PATCH_MERGE, merge, NULL, NULL);
	int64_t took = clock_mono_ms() - t0;
	ck_assert_int_eq(admin("DELETE", "faults", NULL), 200);
	kube_client_metrics(kc, &m1);
	ck_assert_int_eq(rc, BERR_UNAVAILABLE);
	ck_assert_int_eq(err_status(), 429);
	ck_assert_int_eq(m1.retries - m0.retries, 1);
	ck_assert_msg(took >= 950, "waited only %lld ms", (long long)took);
	ck_assert_int_eq(kube_patch(kc, &t, KUBE_PATCH_MERGE, merge, NULL, NULL), 0);
	json_decref(merge);
	kube_client_free(kc);
}
END_TEST

/* A bare 500/503 to a POST or PATCH is not retried (the write may have been
 * applied: client-go does not retry it either); a GET is. */
START_TEST(bare_server_error_is_not_retried_for_post_and_patch)
{
	struct kube_client_opts o = {.qps = -1, .max_attempts = 3, .base_delay_ms = 5, .max_delay_ms = 10};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &o);
	make_ns(kc, "once");
	int rc = create_cm(kc, "once", "p", "v");
	ck_assert(rc == 0 || rc == BERR_EXISTS);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "once", .name = "p"};
	json_t *merge = json_pack("{s:{s:s}}", "data", "m", "1");
	static const char *const faults[] = {"{\"500\":1}", "{\"503\":1}"};
	for (int f = 0; f < 2; f++) {
		struct kube_metrics m0, m1, m2, m3;
		kube_client_metrics(kc, &m0);
		ck_assert_int_eq(admin("PUT", "faults", faults[f]), 200);
		int rc_create = create_cm(kc, "once", "q", "v");
		kube_client_metrics(kc, &m1);
		int rc_patch = kube_patch(kc, &t, KUBE_PATCH_MERGE, merge, NULL, NULL);
		kube_client_metrics(kc, &m2);
		json_t *obj = NULL;
		int rc_get = kube_get(kc, &t, NULL, &obj);
		kube_client_metrics(kc, &m3);
		ck_assert_int_eq(admin("DELETE", "faults", NULL), 200);
		ck_assert_int_eq(rc_create, BERR_UNAVAILABLE);
		ck_assert_int_eq(rc_patch, BERR_UNAVAILABLE);
		ck_assert_int_eq(rc_get, BERR_UNAVAILABLE);
		ck_assert_int_eq(m1.requests - m0.requests, 1);
		ck_assert_int_eq(m2.requests - m1.requests, 1);
		ck_assert_int_eq(m3.requests - m2.requests, 3);
	}
	json_decref(merge);
	kube_client_free(kc);
}
END_TEST

START_TEST(expired_token_is_reread_from_file)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("tok-1\n", f);
	fclose(f);
	struct kube_client *kc = client(AUTH_TOKEN_FILE);
	struct kube_target t = {.api_version = "v1", .kind = "Namespace", .name = "default"};
	json_t *out = NULL;
	ck_assert_int_eq(kube_get(kc, &t, NULL, &out), 0);
	json_decref(out);
	/* The server rotates the token; the file gets the new one (as kubelet
	 * does for projected tokens). The next request gets 401 with the old
	 * token, re-reads the file and succeeds. */
	ck_assert_int_eq(admin("POST", "token/rotate", "{\"token\":\"tok-2\"}"), 200);
	f = fopen(path, "w");
	fputs("tok-2\n", f);
	fclose(f);
	int rc = kube_get(kc, &t, NULL, &out);
	ck_assert_int_eq(admin("POST", "token/restore", NULL), 200);
	ck_assert_msg(rc == 0, "%s", err_msg());
	json_decref(out);
	struct kube_metrics m;
	kube_client_metrics(kc, &m);
	ck_assert_int_eq(m.credential_refreshes, 1);
	kube_client_free(kc);
}
END_TEST

START_TEST(qps_limiter_spaces_requests)
{
	struct kube_client_opts o = {.qps = 20, .burst = 5};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &o);
	json_t *out = NULL;
	ck_assert_int_eq(kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out), 0);
	json_decref(out);
	int64_t t0 = clock_mono_ms();
	for (int i = 0; i < 14; i++) {
		ck_assert_int_eq(kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out), 0);
		json_decref(out);
	}
	int64_t took = clock_mono_ms() - t0;
	/* The limiter's guarantee is a lower bound, whatever the machine's
	 * speed: at most 5 tokens in the bucket at t0, then 9 more at 20/s. */
	ck_assert_msg(took >= 450, "14 requests at 20 qps took %lld ms", (long long)took);
	struct kube_metrics m;
	kube_client_metrics(kc, &m);
	/* Waits are counted, never more than the time that passed. When the
	 * requests themselves were slow enough to keep to 20/s (a loaded
	 * machine) the bucket need not run dry; when they were fast, the
	 * limiter made up most of the 450 ms. */
	ck_assert_msg(m.throttle_wait_ms <= (uint64_t)took + 10, "waited %llu ms in %lld ms",
		      (unsigned long long)m.throttle_wait_ms, (long long)took);
	if (m.latency_ms_sum < 150)
		ck_assert_msg(m.throttle_waits >= 5 && m.throttle_wait_ms >= 250, "%llu waits, %llu ms",
			      (unsigned long long)m.throttle_waits, (unsigned long long)m.throttle_wait_ms);
	kube_client_free(kc);
}
END_TEST

START_TEST(token_file_is_reread_before_it_fails)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("tok-1\n", f);
	fclose(f);
	struct kube_client_opts o = {.qps = -1, .token_reread_ms = 1};
	struct kube_client *kc = client_opts(AUTH_TOKEN_FILE, &o);
	json_t *out = NULL;
	ck_assert_int_eq(kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out), 0);
	json_decref(out);
	ck_assert_int_eq(admin("POST", "token/rotate", "{\"token\":\"tok-4\"}"), 200);
	f = fopen(path, "w");
	fputs("tok-4\n", f);
	fclose(f);
	struct kube_metrics m0, m1;
	kube_client_metrics(kc, &m0);
	clock_sleep_ms(5); /* past token_reread_ms */
	int rc = kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out);
	kube_client_metrics(kc, &m1);
	ck_assert_int_eq(admin("POST", "token/restore", NULL), 200);
	ck_assert_msg(rc == 0, "%s", err_msg());
	json_decref(out);
	/* Re-read on schedule: one request, no 401 round trip. */
	ck_assert_int_eq(m1.requests - m0.requests, 1);
	kube_client_free(kc);
}
END_TEST

START_TEST(exec_credential_cached_until_401)
{
	char path[600];
	/* The plugin counts its runs and prints the token in $PLUGIN_DIR/ptoken. */
	snprintf(path, sizeof(path), "%s/plugin.sh", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("#!/bin/sh\n"
	      "echo run >> \"$PLUGIN_DIR/runs\"\n"
	      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
	      "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' "
	      "\"$(cat \"$PLUGIN_DIR/ptoken\")\"\n",
	      f);
	fclose(f);
	chmod(path, 0700);
	snprintf(path, sizeof(path), "%s/ptoken", tmpdir);
	f = fopen(path, "w");
	fputs("tok-1", f);
	fclose(f);
	struct kube_client *kc = client(AUTH_EXEC);
	json_t *out = NULL;
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out) == 0, "%s", err_msg());
		json_decref(out);
	}
	ck_assert_int_eq(admin("POST", "token/rotate", "{\"token\":\"tok-3\"}"), 200);
	f = fopen(path, "w");
	fputs("tok-3", f);
	fclose(f);
	int rc = kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out);
	ck_assert_int_eq(admin("POST", "token/restore", NULL), 200);
	ck_assert_msg(rc == 0, "%s", err_msg());
	json_decref(out);
	snprintf(path, sizeof(path), "%s/runs", tmpdir);
	char *runs = slurp(path);
	size_t n = 0;
	for (char *p = runs; p && *p; p++)
		n += *p == '\n';
	free(runs);
	/* Once at creation, once after the 401; cached in between. */
	ck_assert_int_eq(n, 2);
	kube_client_free(kc);
}
END_TEST

START_TEST(exec_credential_client_certificate)
{
	char path[600];
	/* The plugin answers with kube-sim's client certificate (PEM as JSON strings). */
	snprintf(path, sizeof(path), "%s/plugin.sh", tmpdir);
	FILE *f = fopen(path, "w");
	fprintf(f,
		"#!/bin/sh\n"
		"pem() { awk 'BEGIN{ORS=\"\"} {printf \"%%s\\\\n\", $0}' \"$1\"; }\n"
		"printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		"\"status\":{\"clientCertificateData\":\"%%s\",\"clientKeyData\":\"%%s\"}}' "
		"\"$(pem %s.client.crt)\" \"$(pem %s.client.key)\"\n",
		kc_path, kc_path);
	fclose(f);
	chmod(path, 0700);
	struct kube_client *kc = client(AUTH_EXEC);
	json_t *out = NULL;
	ck_assert_msg(kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out) == 0, "%s", err_msg());
	ck_assert_str_eq(jx_path_str(out, "metadata", "name", NULL), "default");
	json_decref(out);
	kube_client_free(kc);
}
END_TEST

START_TEST(non_json_error_body_keeps_code)
{
	const char *html = "<html><body>502 Bad Gateway</body></html>";
	ck_assert_int_eq(kube_map_error("GET /api", 502, html, strlen(html)), BERR_UNAVAILABLE);
	ck_assert_int_eq(err_status(), 502);
	ck_assert_str_eq(err_reason(), "");
	ck_assert_msg(strstr(err_msg(), "HTTP 502: <html><body>502 Bad Gateway"), "%s", err_msg());
	ck_assert_ptr_null(kube_last_status());
	ck_assert_int_eq(kube_map_error("GET /api", 504, "", 0), BERR_TIMEOUT);
	const char *conflict = "{\"kind\":\"Status\",\"code\":409,\"reason\":\"AlreadyExists\",\"message\":\"x exists\"}";
	ck_assert_int_eq(kube_map_error("POST /x", 409, conflict, strlen(conflict)), BERR_EXISTS);
	ck_assert_str_eq(err_reason(), "AlreadyExists");
	ck_assert_str_eq(jx_str(kube_last_status(), "message"), "x exists");
}
END_TEST

/* ---- watch ---- */

struct seen {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int counts[64];              /* ADDED events per object index */
	char last_rv[128];
	int ended;
	int end_rc;
	int bookmarks;
	bool dup_rv;
	char rvs[4096][16];
	size_t n_rvs;
};

static int seen_event(enum kube_event_type type, json_t *obj, void *ud)
{
	struct seen *s = ud;
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	const char *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	pthread_mutex_lock(&s->mu);
	if (type == KUBE_EV_ADDED && name && str_starts_with(name, "w")) {
		int i;
		if (str_to_int(name + 1, 0, 63, &i) == 0)
			s->counts[i]++;
	}
	if (type == KUBE_EV_BOOKMARK)
		s->bookmarks++;
	if (type != KUBE_EV_BOOKMARK && rv) {
		for (size_t i = 0; i < s->n_rvs; i++)
			if (strcmp(s->rvs[i], rv) == 0)
				s->dup_rv = true;
		if (s->n_rvs < 4096)
			str_copy(s->rvs[s->n_rvs++], rv, 16);
	}
	if (rv)
		str_copy(s->last_rv, rv, sizeof(s->last_rv));
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void seen_end(int rc, const char *last_rv, const char *message, void *ud)
{
	struct seen *s = ud;
	(void)message;
	pthread_mutex_lock(&s->mu);
	s->ended++;
	s->end_rc = rc;
	if (last_rv && *last_rv)
		str_copy(s->last_rv, last_rv, sizeof(s->last_rv));
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static bool wait_seen(struct seen *s, bool (*done)(struct seen *), int64_t ms)
{
	int64_t deadline = clock_mono_ms() + ms;
	pthread_mutex_lock(&s->mu);
	while (!done(s) && clock_mono_ms() < deadline) {
		pthread_mutex_unlock(&s->mu);
		clock_sleep_ms(10);
		pthread_mutex_lock(&s->mu);
	}
	bool ok = done(s);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static int want_n;
static bool seen_first(struct seen *s)
{
	for (int i = 0; i < want_n; i++)
		if (s->counts[i] == 0)
			return false;
	return true;
}
static bool seen_ended(struct seen *s)
{
	return s->ended > 0;
}

START_TEST(watch_resumes_after_drop_without_loss_or_duplicates)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "watch");
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "watch"};
	json_t *list = NULL;
	ck_assert_int_eq(kube_list(kc, &t, NULL, &list), 0);
	struct seen s;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	str_copy(s.last_rv, jx_path_str(list, "metadata", "resourceVersion", NULL), sizeof(s.last_rv));
	json_decref(list);
	char name[32];
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(kube_watch_start(kc, &t, NULL, s.last_rv, seen_event, seen_end, &s, NULL), 0);
		for (int i = round * 10; i < round * 10 + 10; i++) {
			snprintf(name, sizeof(name), "w%d", i);
			ck_assert_int_eq(create_cm(kc, "watch", name, "v"), 0);
		}
		want_n = round * 10 + 10;
		ck_assert(wait_seen(&s, seen_first, 10000));
		/* Writes while no watch runs must arrive after the resume. */
		ck_assert_int_eq(admin("POST", "drop-watches", NULL), 200);
		ck_assert(wait_seen(&s, seen_ended, 10000));
		ck_assert_int_eq(s.end_rc, 0);
		s.ended = 0;
	}
	for (int i = 0; i < 30; i++)
		ck_assert_msg(s.counts[i] == 1, "w%d seen %d times", i, s.counts[i]);
	ck_assert(!s.dup_rv);
	kube_client_free(kc);
}
END_TEST

START_TEST(watch_from_compacted_rv_ends_gone)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "gone");
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "gone"};
	json_t *list = NULL;
	ck_assert_int_eq(kube_list(kc, &t, NULL, &list), 0);
	char rv[128];
	str_copy(rv, jx_path_str(list, "metadata", "resourceVersion", NULL), sizeof(rv));
	json_decref(list);
	ck_assert_int_eq(create_cm(kc, "gone", "g1", "v"), 0);
	ck_assert_int_eq(admin("POST", "compact", NULL), 200);
	struct seen s;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	ck_assert_int_eq(kube_watch_start(kc, &t, NULL, rv, seen_event, seen_end, &s, NULL), 0);
	ck_assert(wait_seen(&s, seen_ended, 10000));
	ck_assert_int_eq(s.end_rc, BERR_GONE);
	kube_client_free(kc);
}
END_TEST

static bool seen_bookmark(struct seen *s)
{
	return s->bookmarks > 0;
}

START_TEST(watch_bookmarks_are_delivered)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "default"};
	json_t *list = NULL;
	ck_assert_int_eq(kube_list(kc, &t, NULL, &list), 0);
	struct seen s;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	ck_assert_int_eq(kube_watch_start(kc, &t, NULL, jx_path_str(list, "metadata", "resourceVersion", NULL),
					  seen_event, seen_end, &s, NULL),
			 0);
	json_decref(list);
	/* kube-sim runs with --bookmark-interval 2s. */
	ck_assert(wait_seen(&s, seen_bookmark, 8000));
	ck_assert(s.last_rv[0]);
	kube_client_free(kc);
	ck_assert_int_eq(s.ended, 1);
	ck_assert_int_eq(s.end_rc, BERR_CANCELED);
}
END_TEST

START_TEST(watch_stop_cancels)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "default"};
	struct seen s;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	struct kube_watch *w = NULL;
	ck_assert_int_eq(kube_watch_start(kc, &t, NULL, NULL, seen_event, seen_end, &s, &w), 0);
	kube_watch_stop(kc, w);
	ck_assert(wait_seen(&s, seen_ended, 5000));
	ck_assert_int_eq(s.end_rc, BERR_CANCELED);
	kube_client_free(kc);
}
END_TEST

static bool seen_w7_or_end(struct seen *s)
{
	return s->counts[7] > 0 || s->ended;
}

/* The plugin's certificate is rotated: the one it gave first is refused
 * (401); the client re-runs the plugin and its next connection presents the
 * new certificate. */
START_TEST(exec_credential_rotated_client_certificate)
{
	char path[600], cmd[1500];
	/* An old certificate the server does not trust (self-signed). */
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=old "
		 "-keyout %s/old.key -out %s/old.crt >/dev/null 2>&1",
		 tmpdir, tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	/* The plugin prints the pair $PLUGIN_DIR/pcert names and counts its runs. */
	snprintf(path, sizeof(path), "%s/plugin.sh", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("#!/bin/sh\n"
	      "echo run >> \"$PLUGIN_DIR/cert-runs\"\n"
	      "p=$(cat \"$PLUGIN_DIR/pcert\")\n"
	      "pem() { awk 'BEGIN{ORS=\"\"} {printf \"%s\\\\n\", $0}' \"$1\"; }\n"
	      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
	      "\"status\":{\"clientCertificateData\":\"%s\",\"clientKeyData\":\"%s\","
	      "\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' \"$(pem \"$p.crt\")\" \"$(pem \"$p.key\")\"\n",
	      f);
	fclose(f);
	chmod(path, 0700);
	snprintf(path, sizeof(path), "%s/pcert", tmpdir);
	f = fopen(path, "w");
	fprintf(f, "%s/old", tmpdir);
	fclose(f);
	struct kube_client *kc = client(AUTH_EXEC);
	/* Rotated: from now on the plugin hands out the trusted certificate. */
	f = fopen(path, "w");
	fprintf(f, "%s.client", kc_path);
	fclose(f);
	json_t *out = NULL;
	ck_assert_msg(kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out) == 0, "%s", err_msg());
	ck_assert_str_eq(jx_path_str(out, "metadata", "name", NULL), "default");
	json_decref(out);
	/* And it stays in use: no further plugin runs, no further refreshes. */
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(kube_raw(kc, "GET", "/api/v1/namespaces/default", NULL, NULL, 0, &out) == 0, "%s", err_msg());
		json_decref(out);
	}
	/* A watch started now presents the new certificate too: it sees an
	 * object created after it started (one with the old certificate would
	 * end with 401). */
	make_ns(kc, "certrot");
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "certrot"};
	struct seen sn;
	memset(&sn, 0, sizeof(sn));
	pthread_mutex_init(&sn.mu, NULL);
	struct kube_watch *w = NULL;
	ck_assert_int_eq(kube_watch_start(kc, &t, NULL, NULL, seen_event, seen_end, &sn, &w), 0);
	ck_assert_int_eq(create_cm(kc, "certrot", "w7", "v"), 0);
	ck_assert(wait_seen(&sn, seen_w7_or_end, 20000));
	ck_assert_msg(sn.ended == 0, "the watch ended: %d", sn.end_rc);
	ck_assert_int_eq(sn.counts[7], 1);
	kube_watch_stop(kc, w);
	ck_assert(wait_seen(&sn, seen_ended, 5000));
	snprintf(path, sizeof(path), "%s/cert-runs", tmpdir);
	char *runs = slurp(path);
	size_t n = 0;
	for (char *p = runs; p && *p; p++)
		n += *p == '\n';
	free(runs);
	ck_assert_int_eq(n, 2);
	struct kube_metrics m;
	kube_client_metrics(kc, &m);
	ck_assert_int_eq(m.credential_refreshes, 1);
	kube_client_free(kc);
}
END_TEST

/* ---- live cache ---- */

struct view {
	pthread_mutex_t mu;
	json_t *rv;                  /* "Kind/ns/name" → resourceVersion, from events only */
	uint64_t events, batches;
};

static void view_batch(const struct lc_event *ev, size_t n, void *ud)
{
	struct view *v = ud;
	char key[512];
	pthread_mutex_lock(&v->mu);
	v->batches++;
	for (size_t i = 0; i < n; i++) {
		const struct lc_record *r = ev[i].new_ ? ev[i].new_ : ev[i].old;
		snprintf(key, sizeof(key), "%s/%s/%s", r->kind, r->namespace_, r->name);
		v->events++;
		if (ev[i].old) {
			/* The old record must be what the consumer was last told. */
			const char *prev = jx_str(v->rv, key);
			if (!prev || strcmp(prev, ev[i].old->resource_version) != 0)
				json_object_set_new(v->rv, "__mismatch", json_string(key));
		}
		if (ev[i].new_)
			json_object_set_new(v->rv, key, json_string(ev[i].new_->resource_version));
		else
			json_object_del(v->rv, key);
	}
	pthread_mutex_unlock(&v->mu);
}

static bool keep_full_label(const json_t *obj, void *ud)
{
	(void)ud;
	const char *f = jx_path_str(obj, "metadata", "labels", "full", NULL);
	return f && strcmp(f, "yes") == 0;
}

static char *key_from_label(const json_t *obj, void *ud)
{
	(void)ud;
	return str_dup(jx_path_str(obj, "metadata", "labels", "app", NULL));
}

struct churn {
	struct kube_client *kc;
	int id;
	int errors;
};

/* What a caller does with a POST the client did not retry after a bare
 * 5xx (kube.h): try again; AlreadyExists then means the first one landed. */
static int create_retrying(struct kube_client *kc, const struct kube_target *t, const json_t *o)
{
	int rc = BERR_UNAVAILABLE;
	for (int attempt = 0; attempt < 8 && rc == BERR_UNAVAILABLE; attempt++) {
		rc = kube_create(kc, t, o, NULL, NULL);
		if (rc == BERR_EXISTS && attempt > 0)
			rc = 0;
	}
	return rc;
}

/* A merge patch that sets values is safe to send again. */
static int merge_patch_retrying(struct kube_client *kc, const struct kube_target *t, const json_t *p)
{
	int rc = BERR_UNAVAILABLE;
	for (int attempt = 0; attempt < 8 && rc == BERR_UNAVAILABLE; attempt++)
		rc = kube_patch(kc, t, KUBE_PATCH_MERGE, p, NULL, NULL);
	return rc;
}

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	char name[64], val[32];
	for (int i = 0; i < 1000; i++) {
		bool secret = i % 2;
		snprintf(name, sizeof(name), "t%d-%d", c->id, i);
		json_t *o = secret ? json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
					       "Secret", "metadata", "name", name, "namespace", "churn", "labels", "app",
					       "a", "full", i % 10 == 1 ? "yes" : "no", "data", "k", "djA=")
				  : json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
					      "ConfigMap", "metadata", "name", name, "namespace", "churn", "labels", "app", "b",
					      "full", i % 10 == 0 ? "yes" : "no", "data", "k", "v0");
		struct kube_target t;
		kube_target_of(o, &t);
		if (create_retrying(c->kc, &t, o) < 0)
			c->errors++;
		json_decref(o);
	}
	for (int i = 0; i < 1000; i++) {
		bool secret = i % 2;
		snprintf(name, sizeof(name), "t%d-%d", c->id, i);
		snprintf(val, sizeof(val), "v%d", i);
		json_t *p = secret ? json_pack("{s:{s:s}}", "stringData", "k", val) : json_pack("{s:{s:s}}", "data", "k", val);
		struct kube_target t = {.api_version = "v1", .kind = secret ? "Secret" : "ConfigMap", .namespace_ = "churn",
					.name = name};
		if (merge_patch_retrying(c->kc, &t, p) < 0)
			c->errors++;
		json_decref(p);
	}
	for (int i = 0; i < 1000; i += 2) {
		bool secret = (i / 2) % 2;
		snprintf(name, sizeof(name), "t%d-%d", c->id, secret ? i + 1 : i);
		struct kube_target t = {.api_version = "v1", .kind = secret ? "Secret" : "ConfigMap", .namespace_ = "churn",
					.name = name};
		if (kube_delete(c->kc, &t, NULL, NULL) < 0)
			c->errors++;
	}
	return NULL;
}

/* The cache holds exactly what a fresh LIST returns: names, uids, RVs,
 * and the full objects byte for byte. */
static void assert_cache_equals_list(struct kube_client *kc, struct livecache *lc, const char *kind, const char *ns)
{
	struct kube_target t = {.api_version = "v1", .kind = kind, .namespace_ = ns};
	json_t *list = NULL, *it;
	struct lc_records rs;
	size_t i;
	ck_assert_int_eq(kube_list(kc, &t, NULL, &list), 0);
	ck_assert_int_eq(livecache_list(lc, "", kind, ns, &rs), 0);
	json_t *items = json_object_get(list, "items");
	ck_assert_msg(rs.n == json_array_size(items), "%s: cache %zu, list %zu", kind, rs.n, json_array_size(items));
	json_array_foreach(items, i, it) {
		const char *name = jx_path_str(it, "metadata", "name", NULL);
		const struct lc_record *r = livecache_get(lc, "", kind, ns, name);
		ck_assert_msg(r != NULL, "%s %s missing from the cache", kind, name);
		ck_assert_str_eq(r->uid, jx_path_str(it, "metadata", "uid", NULL));
		ck_assert_str_eq(r->resource_version, jx_path_str(it, "metadata", "resourceVersion", NULL));
		ck_assert_int_eq(r->full, keep_full_label(it, NULL));
		if (r->full) {
			json_t *full = NULL;
			ck_assert_int_eq(lc_record_object(r, &full), 0);
			ck_assert_msg(jx_equal(full, it), "%s %s: full object differs", kind, name);
			json_decref(full);
		}
		lc_record_unref(r);
	}
	lc_records_free(&rs);
	json_decref(list);
}

static void assert_view_equals_cache(struct view *v, struct livecache *lc)
{
	struct lc_records a, b;
	ck_assert_int_eq(livecache_list(lc, "", "ConfigMap", "churn", &a), 0);
	ck_assert_int_eq(livecache_list(lc, "", "Secret", "churn", &b), 0);
	pthread_mutex_lock(&v->mu);
	ck_assert_msg(!json_object_get(v->rv, "__mismatch"), "an event's old record was not the last one delivered: %s",
		      jx_str(v->rv, "__mismatch"));
	ck_assert_int_eq(json_object_size(v->rv), a.n + b.n);
	for (int k = 0; k < 2; k++) {
		struct lc_records *rs = k ? &b : &a;
		for (size_t i = 0; i < rs->n; i++) {
			char key[512];
			snprintf(key, sizeof(key), "%s/%s/%s", rs->v[i]->kind, rs->v[i]->namespace_, rs->v[i]->name);
			const char *rv = jx_str(v->rv, key);
			ck_assert_msg(rv && strcmp(rv, rs->v[i]->resource_version) == 0, "events missed %s", key);
		}
	}
	pthread_mutex_unlock(&v->mu);
	lc_records_free(&a);
	lc_records_free(&b);
}

static void wait_cached(struct livecache *lc, const char *kind, const char *ns, const char *name, bool present)
{
	int64_t deadline = clock_mono_ms() + 60000;
	for (;;) {
		const struct lc_record *r = livecache_get(lc, "", kind, ns, name);
		lc_record_unref(r);
		if ((r != NULL) == present)
			return;
		ck_assert_msg(clock_mono_ms() < deadline, "%s %s/%s never %s the cache", kind, ns, name,
			      present ? "reached" : "left");
		clock_sleep_ms(20);
	}
}

START_TEST(cache_converges_after_10k_writes_with_faults)
{
	struct kube_client_opts ko = {.qps = -1, .max_attempts = 8, .base_delay_ms = 20, .max_delay_ms = 300};
	struct kube_client *kc = client_opts(AUTH_TOKEN, &ko);
	make_ns(kc, "churn");
	struct view v = {.rv = json_object()};
	pthread_mutex_init(&v.mu, NULL);
	static const struct lc_type_spec types[] = {{"", "ConfigMap"}, {"", "Secret"}};
	static const char *const ann[] = {"berth.dev/tracking-id", NULL};
	struct livecache_opts o = {
		.types = types, .n_types = 2, .namespace_ = "churn",
		.keep_full = keep_full_label, .annotations = ann, .caller_key = key_from_label,
		.on_batch = view_batch, .on_batch_data = &v, .batch_window_ms = 50,
		.backoff_base_ms = 50, .backoff_max_ms = 500,
	};
	struct livecache *lc = NULL;
	ck_assert_int_eq(livecache_new(kc, &o, &lc), 0);
	ck_assert_msg(livecache_wait_synced(lc, 20000) == 0, "%s", err_msg());

	/* 4 writers x (1000 creates + 1000 updates + 500 deletes) = 10k writes,
	 * with watches dropped (resume) and history compacted then dropped
	 * (410 → relist) while they run, and 500/503s thrown in. */
	struct churn c[4];
	pthread_t th[4];
	ck_assert_int_eq(admin("PUT", "faults", "{\"500\":0.02,\"503\":0.02}"), 200);
	for (int i = 0; i < 4; i++) {
		c[i] = (struct churn){.kc = kc, .id = i};
		pthread_create(&th[i], NULL, churn_main, &c[i]);
	}
	for (int k = 0; k < 2; k++) {
		wait_cached(lc, "ConfigMap", "churn", k ? "t0-600" : "t0-200", true);
		ck_assert_int_eq(admin("POST", "drop-watches", NULL), 200);
		wait_cached(lc, "ConfigMap", "churn", k ? "t1-800" : "t1-400", true);
		ck_assert_int_eq(admin("POST", "compact", NULL), 200);
		ck_assert_int_eq(admin("POST", "drop-watches", NULL), 200);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(c[i].errors, 0);
	}
	ck_assert_int_eq(admin("DELETE", "faults", NULL), 200);
	/* Watches are ordered: once a last write shows, everything before it has. */
	ck_assert_int_eq(create_cm(kc, "churn", "zz-marker", "end"), 0);
	wait_cached(lc, "ConfigMap", "churn", "zz-marker", true);
	json_t *sp = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Secret", "metadata", "name",
			       "zz-marker", "namespace", "churn");
	struct kube_target st = {.api_version = "v1", .kind = "Secret", .namespace_ = "churn"};
	ck_assert_int_eq(kube_create(kc, &st, sp, NULL, NULL), 0);
	json_decref(sp);
	wait_cached(lc, "Secret", "churn", "zz-marker", true);
	int64_t deadline = clock_mono_ms() + 10000;
	while (!livecache_synced(lc) && clock_mono_ms() < deadline)
		clock_sleep_ms(20);
	ck_assert(livecache_synced(lc));

	assert_cache_equals_list(kc, lc, "ConfigMap", "churn");
	assert_cache_equals_list(kc, lc, "Secret", "churn");
	assert_view_equals_cache(&v, lc);

	struct lc_metrics m;
	ck_assert_int_eq(livecache_metrics(lc, &m, NULL, NULL), 0);
	ck_assert_msg(m.relists >= 1, "no relist after compaction");
	ck_assert_msg(m.watch_restarts >= 2, "watch restarts %llu", (unsigned long long)m.watch_restarts);
	ck_assert_msg(v.batches < v.events, "events not batched: %llu batches for %llu events",
		      (unsigned long long)v.batches, (unsigned long long)v.events);
	ck_assert(m.full_objects > 0 && m.full_objects < m.objects);
	struct lc_records byk;
	ck_assert_int_eq(livecache_by_key(lc, "b", &byk), 0);
	ck_assert(byk.n > 0);
	for (size_t i = 0; i < byk.n; i++)
		ck_assert_str_eq(byk.v[i]->kind, "ConfigMap");
	lc_records_free(&byk);
	struct buf mb;
	buf_init(&mb, 1 << 20);
	ck_assert_int_eq(livecache_metrics_write(lc, "test", &mb), 0);
	ck_assert_msg(strstr(mb.ptr, "berth_livecache_objects{cluster=\"test\",group=\"\",kind=\"ConfigMap\"}"), "%s",
		      mb.ptr);
	buf_release(&mb);
	livecache_free(lc);
	json_decref(v.rv);
	kube_client_free(kc);
}
END_TEST

START_TEST(cache_indexes_owners)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "tree");
	static const struct lc_type_spec types[] = {{"", "ConfigMap"}};
	struct livecache_opts o = {.types = types, .n_types = 1, .namespace_ = "tree"};
	struct livecache *lc = NULL;
	ck_assert_int_eq(livecache_new(kc, &o, &lc), 0);
	ck_assert_int_eq(livecache_wait_synced(lc, 20000), 0);
	json_t *owner = NULL, *o1 = cm("tree", "owner", "1");
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "tree"};
	ck_assert_int_eq(kube_create(kc, &t, o1, NULL, &owner), 0);
	const char *uid = jx_path_str(owner, "metadata", "uid", NULL);
	json_t *child = cm("tree", "child", "1");
	json_object_set_new(json_object_get(child, "metadata"), "ownerReferences",
			    json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "v1", "kind", "ConfigMap", "name",
				      "owner", "uid", uid, "controller", 1));
	ck_assert_int_eq(kube_create(kc, &t, child, NULL, NULL), 0);
	wait_cached(lc, "ConfigMap", "tree", "child", true);
	struct lc_records rs;
	ck_assert_int_eq(livecache_by_owner(lc, uid, &rs), 0);
	ck_assert_int_eq(rs.n, 1);
	ck_assert_str_eq(rs.v[0]->name, "child");
	ck_assert(!rs.v[0]->full);
	ck_assert_str_eq(jx_str(json_array_get(json_object_get(rs.v[0]->meta, "ownerReferences"), 0), "name"), "owner");
	lc_records_free(&rs);
	struct kube_target ct = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "tree", .name = "child"};
	ck_assert_int_eq(kube_delete(kc, &ct, NULL, NULL), 0);
	wait_cached(lc, "ConfigMap", "tree", "child", false);
	ck_assert_int_eq(livecache_by_owner(lc, uid, &rs), 0);
	ck_assert_int_eq(rs.n, 0);
	lc_records_free(&rs);
	json_decref(child);
	json_decref(o1);
	json_decref(owner);
	livecache_free(lc);
	kube_client_free(kc);
}
END_TEST

START_TEST(stopped_cache_stays_readable_and_stops_following)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "stopped");
	static const struct lc_type_spec types[] = {{"", "ConfigMap"}};
	struct livecache_opts o = {.types = types, .n_types = 1, .namespace_ = "stopped"};
	struct livecache *lc = NULL, *peer = NULL;
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = "stopped"};
	json_t *a = cm("stopped", "a", "1"), *b = cm("stopped", "b", "1");
	ck_assert_int_eq(livecache_new(kc, &o, &lc), 0);
	ck_assert_int_eq(livecache_new(kc, &o, &peer), 0);
	ck_assert_int_eq(livecache_wait_synced(lc, 20000), 0);
	ck_assert_int_eq(kube_create(kc, &t, a, NULL, NULL), 0);
	wait_cached(lc, "ConfigMap", "stopped", "a", true);
	livecache_stop(lc);
	livecache_stop(lc); /* idempotent */
	const struct lc_record *r = livecache_get(lc, "", "ConfigMap", "stopped", "a");
	ck_assert_ptr_nonnull(r);
	lc_record_unref(r);
	ck_assert_int_eq(livecache_wait_synced(lc, 5000), 0);
	ck_assert_int_eq(kube_create(kc, &t, b, NULL, NULL), 0);
	wait_cached(peer, "ConfigMap", "stopped", "b", true); /* a running cache sees it */
	r = livecache_get(lc, "", "ConfigMap", "stopped", "b");
	ck_assert_ptr_null(r);
	json_decref(a);
	json_decref(b);
	livecache_free(peer);
	livecache_free(lc);
	kube_client_free(kc);
}
END_TEST

static void count_batch(const struct lc_event *ev, size_t n, void *ud)
{
	struct view *v = ud;
	pthread_mutex_lock(&v->mu);
	v->batches++;
	v->events += n;
	for (size_t i = 0; i < n; i++)
		if (ev[i].new_)
			json_object_set_new(v->rv, ev[i].new_->name, json_string(ev[i].new_->resource_version));
	pthread_mutex_unlock(&v->mu);
}

START_TEST(cache_can_skip_initial_events)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	make_ns(kc, "quiet");
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "pre%d", i);
		ck_assert_int_eq(create_cm(kc, "quiet", name, "v"), 0);
	}
	struct view v = {.rv = json_object()};
	pthread_mutex_init(&v.mu, NULL);
	static const struct lc_type_spec types[] = {{"", "ConfigMap"}};
	struct livecache_opts o = {.types = types, .n_types = 1, .namespace_ = "quiet", .on_batch = count_batch,
				   .on_batch_data = &v, .batch_window_ms = 20, .skip_initial_events = true};
	struct livecache *lc = NULL;
	ck_assert_int_eq(livecache_new(kc, &o, &lc), 0);
	ck_assert_int_eq(livecache_wait_synced(lc, 20000), 0);
	struct lc_records rs;
	ck_assert_int_eq(livecache_list(lc, "", "ConfigMap", "quiet", &rs), 0);
	ck_assert_int_eq(rs.n, 3);
	lc_records_free(&rs);
	ck_assert_int_eq(create_cm(kc, "quiet", "later", "v"), 0);
	int64_t deadline = clock_mono_ms() + 10000;
	for (;;) {
		pthread_mutex_lock(&v.mu);
		bool got = json_object_get(v.rv, "later") != NULL;
		pthread_mutex_unlock(&v.mu);
		if (got)
			break;
		ck_assert_msg(clock_mono_ms() < deadline, "no event for the later object");
		clock_sleep_ms(10);
	}
	pthread_mutex_lock(&v.mu);
	ck_assert_int_eq(v.events, 1);
	pthread_mutex_unlock(&v.mu);
	livecache_free(lc);
	json_decref(v.rv);
	kube_client_free(kc);
}
END_TEST

static const char *gadget_crd =
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
	"\"metadata\":{\"name\":\"gadgets.example.org\"},\"spec\":{\"group\":\"example.org\",\"scope\":\"Cluster\","
	"\"names\":{\"plural\":\"gadgets\",\"singular\":\"gadget\",\"kind\":\"Gadget\",\"listKind\":\"GadgetList\"},"
	"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
	"\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}]}}";

static bool is_crd(const json_t *obj, void *ud)
{
	(void)ud;
	const char *k = jx_str(obj, "kind");
	return k && strcmp(k, "CustomResourceDefinition") == 0;
}

START_TEST(cache_of_every_type_follows_crds)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	static const struct lc_type_spec excl[] = {{"events.k8s.io", "*"}, {"", "Event"}};
	struct livecache_opts o = {.exclude = excl, .n_exclude = 2, .keep_full = is_crd, .rediscover_ms = 600000,
				   .backoff_base_ms = 50, .backoff_max_ms = 500};
	struct livecache *lc = NULL;
	ck_assert_int_eq(livecache_new(kc, &o, &lc), 0);
	ck_assert_msg(livecache_wait_synced(lc, 30000) == 0, "%s", err_msg());
	const struct lc_record *r = livecache_get(lc, "", "Namespace", NULL, "default");
	ck_assert_ptr_nonnull(r);
	lc_record_unref(r);
	json_t *crd = NULL;
	ck_assert_int_eq(jx_parse(gadget_crd, strlen(gadget_crd), 1 << 20, 64, &crd), 0);
	struct kube_target ct = {.api_version = "apiextensions.k8s.io/v1", .kind = "CustomResourceDefinition"};
	ck_assert_int_eq(kube_create(kc, &ct, crd, NULL, NULL), 0);
	wait_established(kc, "gadgets.example.org");
	json_t *g = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "example.org/v1", "kind", "Gadget", "metadata", "name",
			      "g1");
	struct kube_target gt;
	kube_target_of(g, &gt);
	ck_assert_msg(kube_create(kc, &gt, g, NULL, NULL) == 0, "%s", err_msg());
	int64_t deadline = clock_mono_ms() + 30000;
	while (!(r = livecache_get(lc, "example.org", "Gadget", NULL, "g1")) && clock_mono_ms() < deadline)
		clock_sleep_ms(50);
	ck_assert_msg(r != NULL, "the new type was not picked up");
	lc_record_unref(r);
	r = livecache_get(lc, "apiextensions.k8s.io", "CustomResourceDefinition", NULL, "gadgets.example.org");
	ck_assert_ptr_nonnull(r);
	ck_assert(r->full);
	lc_record_unref(r);
	/* Deleting the CRD removes the type and its objects. */
	ct.name = "gadgets.example.org";
	ck_assert_int_eq(kube_delete(kc, &ct, NULL, NULL), 0);
	deadline = clock_mono_ms() + 30000;
	while ((r = livecache_get(lc, "example.org", "Gadget", NULL, "g1")) && clock_mono_ms() < deadline) {
		lc_record_unref(r);
		clock_sleep_ms(50);
	}
	ck_assert_msg(r == NULL, "the removed type's object is still cached");
	json_decref(g);
	json_decref(crd);
	livecache_free(lc);
	kube_client_free(kc);
}
END_TEST

/* Records built from a LIST (items parsed in part) are the same as those
 * built from watch events (whole objects): meta, kept annotations, owners,
 * caller key, and the full objects. */
START_TEST(list_records_equal_watch_records)
{
	struct kube_client *kc = client(AUTH_TOKEN);
	static const struct lc_type_spec types[] = {{"", "ConfigMap"}, {"", "Secret"}, {"", "Namespace"}};
	static const char *const ann[] = {"berth.dev/tracking-id", NULL};
	struct livecache_opts o = {.types = types, .n_types = 3, .label_selector = "lvw=yes", .keep_full = keep_full_label,
				   .annotations = ann, .caller_key = key_from_label, .backoff_base_ms = 50,
				   .backoff_max_ms = 500};
	struct livecache *from_watch = NULL, *from_list = NULL;
	ck_assert_int_eq(livecache_new(kc, &o, &from_watch), 0);
	ck_assert_int_eq(livecache_wait_synced(from_watch, 20000), 0);
	for (int n = 0; n < 2; n++) {
		json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}}}", "apiVersion", "v1", "kind", "Namespace",
				       "metadata", "name", n ? "lvw-b" : "lvw-a", "labels", "lvw", "yes", "app", "ns",
				       "full", n ? "yes" : "no");
		struct kube_target t = {.api_version = "v1", .kind = "Namespace"};
		int rc = kube_create(kc, &t, ns, NULL, NULL);
		ck_assert_msg(rc == 0 || rc == BERR_EXISTS, "%s", err_msg());
		json_decref(ns);
	}
	char name[32];
	for (int i = 0; i < 8; i++) {
		bool secret = i % 2;
		snprintf(name, sizeof(name), "o%d", i);
		json_t *obj = json_pack(
			"{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:b}]}, s:{s:s}}",
			"apiVersion", "v1", "kind", secret ? "Secret" : "ConfigMap", "metadata", "name", name, "namespace",
			"lvw-a", "labels", "lvw", "yes", "app", i < 4 ? "one" : "two", "full", i % 3 ? "no" : "yes",
			"annotations", "berth.dev/tracking-id", "one:/ConfigMap:lvw-a/o0", "other", "x", "ownerReferences",
			"apiVersion", "v1", "kind", "ConfigMap", "name", "owner", "uid", "u-1", "controller", 1, "data", "k",
			secret ? "djA=" : "v0");
		struct kube_target t;
		kube_target_of(obj, &t);
		int rc = kube_create(kc, &t, obj, NULL, NULL);
		ck_assert_msg(rc == 0 || rc == BERR_EXISTS, "%s", err_msg());
		json_decref(obj);
	}
	wait_cached(from_watch, "Namespace", NULL, "lvw-b", true);
	wait_cached(from_watch, "Secret", "lvw-a", "o7", true);
	ck_assert_int_eq(livecache_new(kc, &o, &from_list), 0);
	ck_assert_int_eq(livecache_wait_synced(from_list, 20000), 0);
	for (int k = 0; k < 3; k++) {
		struct lc_records a, b;
		ck_assert_int_eq(livecache_list(from_watch, "", types[k].kind, NULL, &a), 0);
		ck_assert_int_eq(livecache_list(from_list, "", types[k].kind, NULL, &b), 0);
		ck_assert_int_eq(a.n, k == 2 ? 2 : 4);
		ck_assert_int_eq(a.n, b.n);
		for (size_t i = 0; i < a.n; i++) {
			json_t *ja = lc_record_to_json(a.v[i]), *jb = lc_record_to_json(b.v[i]);
			char *sa = json_dumps(ja, JSON_SORT_KEYS), *sb = json_dumps(jb, JSON_SORT_KEYS);
			ck_assert_msg(jx_equal(ja, jb), "watch %s\nlist  %s", sa, sb);
			ck_assert_msg(json_object_size(json_object_get(ja, "meta")) > 0, "%s", sa);
			free(sa);
			free(sb);
			json_decref(ja);
			json_decref(jb);
		}
		lc_records_free(&a);
		lc_records_free(&b);
	}
	livecache_free(from_list);
	livecache_free(from_watch);
	kube_client_free(kc);
}
END_TEST

static int free_tcp_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

START_TEST(cache_reconnects_after_api_server_restart)
{
	char listen_at[64], kc2[600], data[600];
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", free_tcp_port());
	snprintf(kc2, sizeof(kc2), "%s/kc-restart", tmpdir);
	snprintf(data, sizeof(data), "%s/data-restart", tmpdir);
	mkdir(data, 0700);
	const char *args[] = {"--listen", listen_at, "--write-kubeconfig", kc2, "--data-dir", data, "--no-controllers", NULL};
	pid_t pid = exec_sim(args);
	struct kube_config cfg;
	const char *p = kc2;
	ck_assert_int_eq(kube_config_load_files(&p, 1, NULL, &cfg), 0);
	struct kube_client_opts ko = {.qps = -1, .max_attempts = 3, .base_delay_ms = 20, .max_delay_ms = 100};
	struct kube_client *kc = NULL;
	ck_assert_int_eq(kube_client_new(&cfg, &ko, &kc), 0);
	kube_config_release(&cfg);
	make_ns(kc, "restart");
	ck_assert_int_eq(create_cm(kc, "restart", "before", "1"), 0);
	static const struct lc_type_spec types[] = {{"", "ConfigMap"}};
	struct livecache_opts o = {.types = types, .n_types = 1, .namespace_ = "restart", .backoff_base_ms = 50,
				   .backoff_max_ms = 400};
	struct livecache *lc = NULL;
	ck_assert_int_eq(livecache_new(kc, &o, &lc), 0);
	ck_assert_int_eq(livecache_wait_synced(lc, 20000), 0);
	wait_cached(lc, "ConfigMap", "restart", "before", true);
	/* An object created after the list arrives only through the watch: the
	 * watch is running before the server goes (on a loaded machine the
	 * worker could otherwise start it only once the new server is up, and
	 * no restart would be seen). */
	ck_assert_int_eq(create_cm(kc, "restart", "live", "1"), 0);
	wait_cached(lc, "ConfigMap", "restart", "live", true);

	/* The API server goes away; the watch fails and is retried with
	 * backoff until it is back (same port, same data). */
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	pid = exec_sim(args);
	ck_assert_int_eq(create_cm(kc, "restart", "after", "1"), 0);
	wait_cached(lc, "ConfigMap", "restart", "after", true);
	int64_t deadline = clock_mono_ms() + 10000;
	while (!livecache_synced(lc) && clock_mono_ms() < deadline)
		clock_sleep_ms(20);
	assert_cache_equals_list(kc, lc, "ConfigMap", "restart");
	struct lc_metrics m;
	ck_assert_int_eq(livecache_metrics(lc, &m, NULL, NULL), 0);
	ck_assert(m.watch_restarts >= 1);
	livecache_free(lc);
	kube_client_free(kc);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
END_TEST

static Suite *kube_suite(void)
{
	Suite *s = suite_create("kube");
	TCase *tc = tcase_create("requests");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, get_create_update_with_token);
	tcase_add_test(tc, not_found_keeps_status);
	tcase_add_test(tc, invalid_object_keeps_causes);
	tcase_add_test(tc, patch_types_and_apply);
	tcase_add_test(tc, delete_policies_and_preconditions);
	tcase_add_test(tc, status_subresource_write);
	tcase_add_test(tc, list_pages_fill_kind);
	tcase_add_test(tc, list_with_resource_version_pages);
	tcase_add_test(tc, list_restarts_after_expired_continue);
	tcase_add_test(tc, client_certificate_auth);
	tcase_add_test(tc, no_credentials_is_unauthorized);
	tcase_add_test(tc, discovers_crd_added_at_run_time);
	tcase_add_test(tc, plain_discovery_maps_the_same);
	suite_add_tcase(s, tc);
	tc = tcase_create("faults");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, retry_after_429_is_honoured);
	tcase_add_test(tc, server_errors_are_retried);
	tcase_add_test(tc, writes_are_retried_on_429);
	tcase_add_test(tc, patch_honours_retry_after_on_429);
	tcase_add_test(tc, bare_server_error_is_not_retried_for_post_and_patch);
	tcase_add_test(tc, qps_limiter_spaces_requests);
	tcase_add_test(tc, token_file_is_reread_before_it_fails);
	tcase_add_test(tc, exec_credential_cached_until_401);
	tcase_add_test(tc, exec_credential_client_certificate);
	tcase_add_test(tc, exec_credential_rotated_client_certificate);
	tcase_add_test(tc, non_json_error_body_keeps_code);
	tcase_add_test(tc, expired_token_is_reread_from_file);
	tcase_add_test(tc, watch_resumes_after_drop_without_loss_or_duplicates);
	tcase_add_test(tc, watch_from_compacted_rv_ends_gone);
	tcase_add_test(tc, watch_stop_cancels);
	tcase_add_test(tc, watch_bookmarks_are_delivered);
	suite_add_tcase(s, tc);
	tc = tcase_create("livecache");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, cache_indexes_owners);
	tcase_add_test(tc, stopped_cache_stays_readable_and_stops_following);
	tcase_add_test(tc, cache_can_skip_initial_events);
	tcase_add_test(tc, cache_of_every_type_follows_crds);
	tcase_add_test(tc, list_records_equal_watch_records);
	tcase_add_test(tc, cache_converges_after_10k_writes_with_faults);
	tcase_add_test(tc, cache_reconnects_after_api_server_restart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	sim_start();
	SRunner *sr = srunner_create(kube_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sim_stop();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
