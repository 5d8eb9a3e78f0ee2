/*
 * kubeconfig — see kubeconfig.h. The files are read with kyaml into JSON;
 * entries are looked up by name across the files in order (first wins),
 * remembering which file an entry came from so relative paths resolve
 * against that file's folder.
 */
#include "kubeconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "kyaml.h"
#include "model.h"
#include "str.h"
#include "subproc.h"

#define PEM_MAX ((size_t)1 << 20)
#define EXEC_TIMEOUT_MS 30000
#define EXEC_MAX_OUTPUT ((size_t)1 << 20)

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static char **strv_copy(char *const *v)
{
	size_t n = 0;
	if (!v)
		return NULL;
	while (v[n])
		n++;
	char **out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(out[i] = strdup(v[i]))) {
			strv_free(out);
			return NULL;
		}
	return out;
}

void kube_config_release(struct kube_config *c)
{
	if (!c)
		return;
	free(c->context);
	free(c->server);
	free(c->namespace_);
	free(c->ca_pem);
	free(c->cert_pem);
	free(c->key_pem);
	free(c->tls_server_name);
	free(c->token);
	free(c->token_file);
	free(c->impersonate_user);
	strv_free(c->impersonate_groups);
	strv_free(c->exec.argv);
	strv_free(c->exec.env);
	free(c->exec.api_version);
	memset(c, 0, sizeof(*c));
}

int kube_config_copy(const struct kube_config *src, struct kube_config *out)
{
	struct kube_config c;
	memset(&c, 0, sizeof(c));
	bool bad = false;
#define DUP(f)                                   \
	do {                                     \
		if (src->f && !(c.f = strdup(src->f))) \
			bad = true;              \
	} while (0)
	DUP(context);
	DUP(server);
	DUP(namespace_);
	DUP(ca_pem);
	DUP(cert_pem);
	DUP(key_pem);
	DUP(tls_server_name);
	DUP(token);
	DUP(token_file);
	DUP(impersonate_user);
	DUP(exec.api_version);
#undef DUP
	c.insecure = src->insecure;
	c.exec.provide_cluster_info = src->exec.provide_cluster_info;
	if ((src->impersonate_groups && !(c.impersonate_groups = strv_copy(src->impersonate_groups))) ||
	    (src->exec.argv && !(c.exec.argv = strv_copy(src->exec.argv))) ||
	    (src->exec.env && !(c.exec.env = strv_copy(src->exec.env))))
		bad = true;
	if (bad) {
		kube_config_release(&c);
		return err_set(BERR_NOMEM, "copy kube config: out of memory");
	}
	*out = c;
	return 0;
}

/* ---- files ---- */

struct kc_file {
	char *path;
	char *dir;
	json_t *doc;
};

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* path relative to dir unless absolute; new string. */
static char *resolve_path(const char *dir, const char *p)
{
	if (p[0] == '/' || !dir)
		return strdup(p);
	return str_printf("%s/%s", dir, p);
}

static int read_text(const char *path, size_t max, char **ret)
{
	struct buf b;
	int rc;
	buf_init(&b, max);
	if ((rc = fsx_read_file(path, &b)) < 0) {
		buf_release(&b);
		return rc;
	}
	char *s = buf_detach(&b, NULL);
	if (!s)
		return err_set(BERR_NOMEM, "read \"%s\": out of memory", path);
	*ret = s;
	return 0;
}

static int load_file(const char *path, struct kc_file *f)
{
	char *text = NULL;
	json_t *doc = NULL;
	int rc;
	if ((rc = read_text(path, KUBECONFIG_MAX_FILE_BYTES, &text)) < 0)
		return err_prefix(rc, "kubeconfig \"%s\"", path);
	struct kyaml_limits lim = {.max_bytes = KUBECONFIG_MAX_FILE_BYTES};
	if (strspn(text, " \t\r\n") == strlen(text)) {
		doc = json_object();
	} else if ((rc = kyaml_load_one(text, strlen(text), &lim, &doc)) < 0) {
		free(text);
		return err_prefix(rc, "kubeconfig \"%s\"", path);
	}
	free(text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return err_set(BERR_INVALID, "kubeconfig \"%s\": not a mapping", path);
	}
	f->path = strdup(path);
	f->dir = dir_of(path);
	f->doc = doc;
	if (!f->path || !f->dir)
		return err_set(BERR_NOMEM, "kubeconfig: out of memory");
	return 0;
}

/* Finds the first entry named name in section ("clusters", ...) across the
 * files; *ret_body is entry[member] (borrowed), *ret_file the file. */
static bool find_entry(struct kc_file *files, size_t n, const char *section, const char *member,
		       const char *name, json_t **ret_body, struct kc_file **ret_file)
{
	for (size_t i = 0; i < n; i++) {
		json_t *arr = json_object_get(files[i].doc, section), *e;
		size_t k;
		if (!json_is_array(arr))
			continue;
		json_array_foreach(arr, k, e) {
			const char *en = jx_str(e, "name");
			if (en && strcmp(en, name) == 0) {
				json_t *body = json_object_get(e, member);
				*ret_body = json_is_object(body) ? body : NULL;
				*ret_file = &files[i];
				return true;
			}
		}
	}
	return false;
}

/* Reads PEM material from key "<what>-data" (base64) or "<what>" (a path
 * relative to the file). *ret stays NULL when neither is set. */
static int load_material(struct kc_file *f, const char *entry, json_t *body, const char *what, char **ret)
{
	char key[96];
	const char *data, *path;
	int rc;
	if (str_copy(key, what, sizeof(key)) >= sizeof(key) - 6)
		return err_set(BERR_INVALID, "kubeconfig: key too long");
	str_copy(key + strlen(what), "-data", sizeof(key) - strlen(what));
	data = jx_str(body, key);
	path = jx_str(body, what);
	if (data && *data) {
		uint8_t *raw = NULL;
		if ((rc = b64_decode(data, false, PEM_MAX, &raw, NULL)) < 0)
			return err_prefix(rc, "kubeconfig \"%s\": %s: %s", f->path, entry, key);
		*ret = (char *)raw;
		return 0;
	}
	if (path && *path) {
		char *full = resolve_path(f->dir, path);
		if (!full)
			return err_set(BERR_NOMEM, "kubeconfig: out of memory");
		rc = read_text(full, PEM_MAX, ret);
		free(full);
		if (rc < 0)
			return err_prefix(rc, "kubeconfig \"%s\": %s: %s", f->path, entry, what);
	}
	return 0;
}

static bool get_bool(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v))
		return strcmp(json_string_value(v), "true") == 0;
	return false;
}

/* Copies a JSON array of strings into a NULL-terminated vector, with an
 * optional first element. */
static int strv_from_json(const json_t *arr, const char *first, char ***ret)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0, k = 0;
	char **v = calloc(n + 2, sizeof(*v));
	if (!v)
		return BERR_NOMEM;
	if (first && !(v[k++] = strdup(first)))
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s) {
			strv_free(v);
			return BERR_INVALID;
		}
		if (!(v[k++] = strdup(s)))
			goto nomem;
	}
	*ret = v;
	return 0;
nomem:
	strv_free(v);
	return BERR_NOMEM;
}

static int load_exec(struct kc_file *f, const char *uname, json_t *ex, struct kube_exec *out)
{
	const char *cmd = jx_str(ex, "command");
	char *cmd_path = NULL;
	int rc;
	if (!cmd || !*cmd)
		return err_set(BERR_INVALID, "kubeconfig \"%s\": user \"%s\": exec: command is required", f->path, uname);
	/* A command with a slash is a path, relative to the kubeconfig's folder. */
	cmd_path = strchr(cmd, '/') ? resolve_path(f->dir, cmd) : strdup(cmd);
	if (!cmd_path)
		return err_set(BERR_NOMEM, "kubeconfig: out of memory");
	rc = strv_from_json(json_object_get(ex, "args"), cmd_path, &out->argv);
	free(cmd_path);
	if (rc < 0)
		return err_set(rc, "kubeconfig \"%s\": user \"%s\": exec: args must be strings", f->path, uname);
	json_t *env = json_object_get(ex, "env"), *e;
	size_t n = json_is_array(env) ? json_array_size(env) : 0, i;
	out->env = calloc(n + 1, sizeof(char *));
	if (!out->env)
		return err_set(BERR_NOMEM, "kubeconfig: out of memory");
	if (n)
		json_array_foreach(env, i, e) {
			const char *k = jx_str(e, "name"), *v = jx_str(e, "value");
			if (!k || !*k || strchr(k, '='))
				return err_set(BERR_INVALID, "kubeconfig \"%s\": user \"%s\": exec: env[%zu]: bad name",
					       f->path, uname, i);
			if (!(out->env[i] = str_printf("%s=%s", k, v ? v : "")))
				return err_set(BERR_NOMEM, "kubeconfig: out of memory");
		}
	const char *av = jx_str(ex, "apiVersion");
	out->api_version = strdup(av && *av ? av : "client.authentication.k8s.io/v1");
	out->provide_cluster_info = get_bool(ex, "provideClusterInfo");
	return out->api_version ? 0 : err_set(BERR_NOMEM, "kubeconfig: out of memory");
}

static int load_user(struct kc_file *f, const char *uname, json_t *u, struct kube_config *c)
{
	int rc;
	char entry[300];
	const char *s;
	if (!u)
		return 0;
	str_copy(entry, "user \"", sizeof(entry));
	str_copy(entry + strlen(entry), uname, sizeof(entry) - strlen(entry) - 2);
	str_copy(entry + strlen(entry), "\"", sizeof(entry) - strlen(entry));
	if ((rc = load_material(f, entry, u, "client-certificate", &c->cert_pem)) < 0 ||
	    (rc = load_material(f, entry, u, "client-key", &c->key_pem)) < 0)
		return rc;
	if ((c->cert_pem == NULL) != (c->key_pem == NULL))
		return err_set(BERR_INVALID, "kubeconfig \"%s\": %s: client-certificate and client-key go together",
			       f->path, entry);
	if ((s = jx_str(u, "token")) && *s && !(c->token = strdup(s)))
		return BERR_NOMEM;
	if ((s = jx_str(u, "tokenFile")) && *s && !(c->token_file = resolve_path(f->dir, s)))
		return BERR_NOMEM;
	if ((s = jx_str(u, "as")) && *s && !(c->impersonate_user = strdup(s)))
		return BERR_NOMEM;
	json_t *groups = json_object_get(u, "as-groups");
	if (json_is_array(groups) && json_array_size(groups) &&
	    (rc = strv_from_json(groups, NULL, &c->impersonate_groups)) < 0)
		return err_set(rc, "kubeconfig \"%s\": %s: as-groups must be strings", f->path, entry);
	json_t *ex = json_object_get(u, "exec");
	if (json_is_object(ex) && (rc = load_exec(f, uname, ex, &c->exec)) < 0)
		return rc;
	return 0;
}

static int load_cluster(struct kc_file *f, const char *cname, json_t *cl, struct kube_config *c)
{
	int rc;
	char entry[300];
	const char *server = cl ? jx_str(cl, "server") : NULL, *s;
	if (!server || !*server)
		return err_set(BERR_INVALID, "kubeconfig \"%s\": cluster \"%s\": server is required", f->path, cname);
	if (!str_starts_with(server, "https://") && !str_starts_with(server, "http://"))
		return err_set(BERR_INVALID, "kubeconfig \"%s\": cluster \"%s\": server \"%s\" is not an http(s) URL",
			       f->path, cname, server);
	size_t len = strlen(server);
	while (len > 0 && server[len - 1] == '/')
		len--;
	if (!(c->server = strndup(server, len)))
		return BERR_NOMEM;
	str_copy(entry, "cluster \"", sizeof(entry));
	str_copy(entry + strlen(entry), cname, sizeof(entry) - strlen(entry) - 2);
	str_copy(entry + strlen(entry), "\"", sizeof(entry) - strlen(entry));
	if ((rc = load_material(f, entry, cl, "certificate-authority", &c->ca_pem)) < 0)
		return rc;
	c->insecure = get_bool(cl, "insecure-skip-tls-verify");
	if ((s = jx_str(cl, "tls-server-name")) && *s && !(c->tls_server_name = strdup(s)))
		return BERR_NOMEM;
	return 0;
}

static int resolve_context(struct kc_file *files, size_t n, const char *context, struct kube_config *c)
{
	const char *ctx_name = context;
	json_t *ctx = NULL, *cl = NULL, *u = NULL;
	struct kc_file *cf = NULL, *clf = NULL, *uf = NULL;
	int rc;

	for (size_t i = 0; i < n && (!ctx_name || !*ctx_name); i++)
		ctx_name = jx_str(files[i].doc, "current-context");
	if (!ctx_name || !*ctx_name)
		return err_set(BERR_NOTFOUND, "kubeconfig \"%s\": no current-context and no context given", files[0].path);
	if (!find_entry(files, n, "contexts", "context", ctx_name, &ctx, &cf) || !ctx)
		return err_set(BERR_NOTFOUND, "kubeconfig \"%s\": context \"%s\" not found", files[0].path, ctx_name);
	const char *cname = jx_str(ctx, "cluster"), *uname = jx_str(ctx, "user"), *ns = jx_str(ctx, "namespace");
	if (!cname || !*cname)
		return err_set(BERR_INVALID, "kubeconfig \"%s\": context \"%s\": cluster is required", cf->path, ctx_name);
	if (!find_entry(files, n, "clusters", "cluster", cname, &cl, &clf))
		return err_set(BERR_NOTFOUND, "kubeconfig \"%s\": context \"%s\": cluster \"%s\" not found", cf->path,
			       ctx_name, cname);
	if ((rc = load_cluster(clf, cname, cl, c)) < 0)
		return rc;
	if (uname && *uname) {
		if (!find_entry(files, n, "users", "user", uname, &u, &uf))
			return err_set(BERR_NOTFOUND, "kubeconfig \"%s\": context \"%s\": user \"%s\" not found", cf->path,
				       ctx_name, uname);
		if ((rc = load_user(uf, uname, u, c)) < 0)
			return rc;
	}
	if (!(c->context = strdup(ctx_name)) || !(c->namespace_ = strdup(ns && *ns ? ns : "default")))
		return BERR_NOMEM;
	return 0;
}

int kube_config_load_files(const char *const *paths, size_t n, const char *context, struct kube_config *out)
{
	struct kc_file files[KUBECONFIG_MAX_FILES];
	struct kube_config c;
	size_t nf = 0;
	int rc = 0;

	memset(files, 0, sizeof(files));
	memset(&c, 0, sizeof(c));
	if (n == 0)
		return err_set(BERR_INVALID, "kubeconfig: no file given");
	if (n > KUBECONFIG_MAX_FILES)
		return err_set(BERR_TOOLARGE, "kubeconfig: %zu files, at most %d", n, KUBECONFIG_MAX_FILES);
	for (size_t i = 0; i < n; i++) {
		if (!paths[i] || !*paths[i])
			continue;
		if (n > 1 && access(paths[i], F_OK) < 0 && errno == ENOENT)
			continue;
		if ((rc = load_file(paths[i], &files[nf])) < 0) {
			nf++;
			goto out;
		}
		nf++;
	}
	if (nf == 0) {
		rc = err_set(BERR_NOTFOUND, "kubeconfig: none of the %zu files exists", n);
		goto out;
	}
	if ((rc = resolve_context(files, nf, context, &c)) < 0) {
		if (rc == BERR_NOMEM)
			rc = err_set(BERR_NOMEM, "kubeconfig: out of memory");
		goto out;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	kube_config_release(&c);
	for (size_t i = 0; i < nf; i++) {
		free(files[i].path);
		free(files[i].dir);
		json_decref(files[i].doc);
	}
	return rc;
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config *out)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config c;
	char *p = NULL;
	int rc = 0;

	if (!host || !*host || !port || !*port)
		return err_set(BERR_NOTFOUND, "in-cluster config: KUBERNETES_SERVICE_HOST and _PORT are not set");
	if (!sa_dir)
		sa_dir = KUBECONFIG_SA_DIR;
	memset(&c, 0, sizeof(c));
	c.server = strchr(host, ':') ? str_printf("https://[%s]:%s", host, port) : str_printf("https://%s:%s", host, port);
	c.token_file = str_printf("%s/token", sa_dir);
	if (!c.server || !c.token_file) {
		rc = err_set(BERR_NOMEM, "in-cluster config: out of memory");
		goto out;
	}
	if (access(c.token_file, R_OK) < 0) {
		rc = err_set(BERR_NOTFOUND, "in-cluster config: token \"%s\": %s", c.token_file, strerror(errno));
		goto out;
	}
	if (!(p = str_printf("%s/ca.crt", sa_dir))) {
		rc = BERR_NOMEM;
		goto out;
	}
	if ((rc = read_text(p, PEM_MAX, &c.ca_pem)) < 0) {
		rc = err_prefix(rc, "in-cluster config");
		goto out;
	}
	free(p);
	if (!(p = str_printf("%s/namespace", sa_dir))) {
		rc = BERR_NOMEM;
		goto out;
	}
	if (read_text(p, 1024, &c.namespace_) == 0)
		c.namespace_[strcspn(c.namespace_, "\r\n")] = '\0';
	else
		err_clear();
	if (!c.namespace_ || !*c.namespace_) {
		free(c.namespace_);
		c.namespace_ = strdup("default");
	}
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	free(p);
	kube_config_release(&c);
	return rc;
}

int kube_config_load_default(const char *explicit_path, const char *context, struct kube_config *out)
{
	const char *env = getenv("KUBECONFIG");
	if (explicit_path && *explicit_path)
		return kube_config_load_files(&explicit_path, 1, context, out);
	if (env && *env) {
		char *copy = strdup(env);
		const char *paths[KUBECONFIG_MAX_FILES];
		size_t n = 0;
		int rc;
		if (!copy)
			return err_set(BERR_NOMEM, "kubeconfig: out of memory");
		for (char *tok = copy, *colon; tok; tok = colon ? colon + 1 : NULL) {
			if ((colon = strchr(tok, ':')))
				*colon = '\0';
			if (!*tok)
				continue;
			if (n == KUBECONFIG_MAX_FILES) {
				free(copy);
				return err_set(BERR_TOOLARGE, "KUBECONFIG: more than %d files", KUBECONFIG_MAX_FILES);
			}
			paths[n++] = tok;
		}
		rc = n ? kube_config_load_files(paths, n, context, out)
		       : err_set(BERR_NOTFOUND, "KUBECONFIG names no file");
		free(copy);
		return rc;
	}
	if (getenv("KUBERNETES_SERVICE_HOST") && getenv("KUBERNETES_SERVICE_PORT"))
		return kube_config_in_cluster(NULL, out);
	const char *home = getenv("HOME");
	if (!home || !*home)
		return err_set(BERR_NOTFOUND, "kubeconfig: no --kubeconfig, KUBECONFIG, in-cluster config or HOME");
	char *p = str_printf("%s/.kube/config", home);
	if (!p)
		return err_set(BERR_NOMEM, "kubeconfig: out of memory");
	const char *pp = p;
	int rc = kube_config_load_files(&pp, 1, context, out);
	free(p);
	return rc;
}

int kube_config_from_cluster(const struct model_cluster *cl, struct kube_config *out)
{
	struct kube_config c;
	memset(&c, 0, sizeof(c));
	if (!cl->server || !*cl->server)
		return err_set(BERR_INVALID, "cluster \"%s\": no server", cl->name ? cl->name : "");
	size_t len = strlen(cl->server);
	while (len > 0 && cl->server[len - 1] == '/')
		len--;
	c.server = strndup(cl->server, len);
	c.namespace_ = strdup("default");
	c.context = cl->name ? strdup(cl->name) : NULL;
	c.token = cl->bearer_token && *cl->bearer_token ? strdup(cl->bearer_token) : NULL;
	c.ca_pem = str_dup(cl->ca_data);
	c.cert_pem = str_dup(cl->cert_data);
	c.key_pem = str_dup(cl->key_data);
	c.tls_server_name = cl->server_name && *cl->server_name ? strdup(cl->server_name) : NULL;
	c.insecure = cl->insecure;
	if (!c.server || !c.namespace_ || (cl->name && !c.context) || (cl->ca_data && !c.ca_pem) ||
	    (cl->cert_data && !c.cert_pem) || (cl->key_data && !c.key_pem)) {
		kube_config_release(&c);
		return err_set(BERR_NOMEM, "cluster: out of memory");
	}
	*out = c;
	return 0;
}

int kube_config_from_cluster_secret(const json_t *secret, struct kube_config *out)
{
	struct model_cluster cl;
	int rc;
	memset(&cl, 0, sizeof(cl));
	if ((rc = model_cluster_from_secret(secret, &cl)) == 0)
		rc = kube_config_from_cluster(&cl, out);
	model_cluster_release(&cl);
	return rc;
}

/* ---- credentials ---- */

void kube_credential_release(struct kube_credential *cr)
{
	if (!cr)
		return;
	free(cr->token);
	free(cr->cert_pem);
	free(cr->key_pem);
	memset(cr, 0, sizeof(*cr));
}

/* Trimmed first bytes of a plugin's stderr, printable only, for messages. */
static void short_text(const char *s, char *out, size_t size)
{
	size_t k = 0;
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	for (; *s && k + 1 < size; s++)
		out[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : ' ';
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

/* The exec plugin's environment: PATH and HOME from ours (with defaults),
 * the kubeconfig's env entries, then KUBERNETES_EXEC_INFO. env is a
 * NULL-terminated array borrowing the strings below it and ex->env. */
struct exec_env {
	const char **env;
	char *path, *home, *info;
};

static void exec_env_release(struct exec_env *e)
{
	free(e->env);
	free(e->info);
	free(e->path);
	free(e->home);
	memset(e, 0, sizeof(*e));
}

static int exec_env_build(const struct kube_config *c, struct exec_env *e)
{
	const struct kube_exec *ex = &c->exec;
	const char *path = getenv("PATH"), *home = getenv("HOME");
	size_t nenv = 0, k = 0;

	memset(e, 0, sizeof(*e));
	while (ex->env && ex->env[nenv])
		nenv++;
	e->env = calloc(nenv + 4, sizeof(*e->env));
	e->path = str_printf("PATH=%s", path ? path : "/usr/local/bin:/usr/bin:/bin");
	e->home = str_printf("HOME=%s", home ? home : "/");
	if (ex->provide_cluster_info)
		e->info = str_printf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
				     "\"spec\":{\"interactive\":false,\"cluster\":{\"server\":\"%s\"}}}",
				     ex->api_version, c->server ? c->server : "");
	else
		e->info = str_printf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
				     "\"spec\":{\"interactive\":false}}",
				     ex->api_version);
	if (!e->env || !e->path || !e->home || !e->info) {
		exec_env_release(e);
		return err_set(BERR_NOMEM, "exec credential: out of memory");
	}
	e->env[k++] = e->path;
	e->env[k++] = e->home;
	for (size_t i = 0; i < nenv; i++)
		e->env[k++] = ex->env[i];
	e->env[k++] = e->info;
	return 0;
}

/* The ExecCredential a plugin printed -> *out. */
static int exec_credential_parse(const char *plugin, const json_t *doc, struct kube_credential *out)
{
	json_t *st = json_object_get(doc, "status");
	const char *tok = jx_str(st, "token"), *cert = jx_str(st, "clientCertificateData"),
		   *key = jx_str(st, "clientKeyData"), *exp = jx_str(st, "expirationTimestamp");
	struct kube_credential cr = {0};

	if (!json_is_object(st) || ((!tok || !*tok) && (!cert || !key)))
		return err_set(BERR_UNAUTHORIZED, "exec credential plugin \"%s\": no status.token or client certificate",
			       plugin);
	if (exp && *exp) {
		time_t t;
		if (clock_parse_rfc3339(exp, &t) < 0)
			return err_set(BERR_UNAUTHORIZED, "exec credential plugin \"%s\": bad expirationTimestamp",
				       plugin);
		cr.expires_ms = (int64_t)t * 1000;
	}
	cr.token = tok && *tok ? strdup(tok) : NULL;
	cr.cert_pem = cert && key ? strdup(cert) : NULL;
	cr.key_pem = cert && key ? strdup(key) : NULL;
	*out = cr;
	return 0;
}

static int run_exec(const struct kube_config *c, struct kube_credential *out)
{
	const struct kube_exec *ex = &c->exec;
	struct exec_env e;
	struct subproc_result r;
	json_t *doc = NULL;
	int rc;
	bool have_result = false;

	if ((rc = exec_env_build(c, &e)) < 0)
		return rc;
	struct subproc_opts o = {.argv = (const char *const *)ex->argv, .env = e.env, .timeout_ms = EXEC_TIMEOUT_MS,
				 .max_output = EXEC_MAX_OUTPUT};
	rc = subproc_run(&o, &r);
	have_result = true;
	if (rc < 0) {
		rc = err_prefix(rc, "exec credential plugin \"%s\"", ex->argv[0]);
		goto out;
	}
	if (r.exit_code != 0) {
		char msg[256];
		short_text(r.err.ptr, msg, sizeof(msg));
		rc = err_set(BERR_UNAUTHORIZED, "exec credential plugin \"%s\": exit %d: %s", ex->argv[0], r.exit_code,
			     msg);
		goto out;
	}
	if ((rc = jx_parse(r.out.ptr, r.out.len, EXEC_MAX_OUTPUT, 32, &doc)) < 0) {
		rc = err_prefix(BERR_UNAUTHORIZED, "exec credential plugin \"%s\": output", ex->argv[0]);
		goto out;
	}
	rc = exec_credential_parse(ex->argv[0], doc, out);
out:
	if (have_result)
		subproc_result_release(&r);
	json_decref(doc);
	exec_env_release(&e);
	return rc;
}

int kube_config_credential(const struct kube_config *c, struct kube_credential *out)
{
	int rc;
	if (c->exec.argv && c->exec.argv[0])
		return run_exec(c, out);
	if (c->token_file) {
		char *t = NULL;
		if ((rc = read_text(c->token_file, 64 * 1024, &t)) < 0)
			return err_prefix(rc, "token file");
		/* Trim surrounding whitespace (files often end in a newline). */
		size_t len = strlen(t);
		while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
			t[--len] = '\0';
		if (len == 0) {
			free(t);
			return err_set(BERR_UNAUTHORIZED, "token file \"%s\" is empty", c->token_file);
		}
		memset(out, 0, sizeof(*out));
		out->token = t;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if (c->token && !(out->token = strdup(c->token)))
		return err_set(BERR_NOMEM, "credential: out of memory");
	return 0;
}
