/*
 * model_creds — cluster and repository Secrets, repository URL
 * normalisation and credential matching. Part of the model module
 * (model.h).
 *
 * Secrets carry their values base64-encoded in data (a Secret written with
 * stringData reads back as data from the API server; stringData is accepted
 * too for objects that never went through one). Values are bounded: a
 * Secret value over MODEL_SECRET_VALUE_MAX bytes is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "err.h"
#include "jsonx.h"
#include "model.h"
#include "modeljson.h"
#include "str.h"

#define TRY(x) do { if ((rc = (x)) < 0) goto out; } while (0)

#define MODEL_SECRET_VALUE_MAX ((size_t)1 << 20)
#define ARGO_SECRET_TYPE_LABEL "argocd.argoproj.io/secret-type"

/* Decodes a base64 Secret value into text; NUL bytes are refused (every
 * field the model reads is text). */
static int decode_text(const char *in, const char *field, char **ret)
{
	uint8_t *out = NULL;
	size_t n = 0;
	int rc = b64_decode(in, false, MODEL_SECRET_VALUE_MAX, &out, &n);

	if (rc < 0)
		return err_prefix(rc, "%s", field);
	if (memchr(out, '\0', n)) {
		free(out);
		return err_set(BERR_INVALID, "%s: contains a NUL byte", field);
	}
	*ret = (char *)out;
	return 0;
}

/* Reads Secret value key: data (base64) first, else stringData. Absent
 * leaves *out untouched. */
static int secret_value(const json_t *secret, const char *key, char **out)
{
	const json_t *data = json_object_get(secret, "data");
	const json_t *sdata = json_object_get(secret, "stringData");
	const char *v;
	char field[128];
	char *dec = NULL;
	int rc;

	snprintf(field, sizeof(field), "data.%s", key);
	if (json_is_object(data) && (v = jx_str(data, key))) {
		if ((rc = decode_text(v, field, &dec)) < 0)
			return rc;
		free(*out);
		*out = dec;
		return 0;
	}
	if (json_is_object(sdata) && (v = jx_str(sdata, key))) {
		if (strlen(v) > MODEL_SECRET_VALUE_MAX)
			return err_set(BERR_TOOLARGE, "stringData.%s: value too large", key);
		if (!(dec = strdup(v)))
			return err_set(BERR_NOMEM, "out of memory");
		free(*out);
		*out = dec;
	}
	return 0;
}

static int secret_bool(const json_t *secret, const char *key, bool *out)
{
	char *v = NULL;
	int rc = secret_value(secret, key, &v);

	if (rc < 0 || !v)
		return rc;
	*out = strcmp(v, "true") == 0;
	free(v);
	return 0;
}

static const char *secret_type(const json_t *secret)
{
	const char *t = jx_path_str(secret, "metadata", "labels", MODEL_SECRET_TYPE_LABEL, NULL);
	return t ? t : jx_path_str(secret, "metadata", "labels", ARGO_SECRET_TYPE_LABEL, NULL);
}

static int set_data(json_t *data, const char *key, const char *value)
{
	char *enc;
	int rc;

	if (!value)
		return 0;
	if (!(enc = b64_encode(value, strlen(value), false)))
		return err_set(BERR_NOMEM, "out of memory");
	rc = mj_set_new(data, key, json_string(enc));
	free(enc);
	return rc;
}

/* A Secret skeleton {apiVersion, kind, type, metadata{name, namespace,
 * labels{secret-type}}, data{}}; *ret_data borrowed. */
static json_t *secret_new(const char *namespace_, const char *name, const char *type,
			  json_t **ret_data)
{
	json_t *s = json_object(), *md, *labels;
	int rc = 0;

	if (!s)
		return NULL;
	TRY(mj_set_str(s, "apiVersion", "v1"));
	TRY(mj_set_str(s, "kind", "Secret"));
	TRY(mj_set_str(s, "type", "Opaque"));
	TRY(mj_set_new(s, "metadata", md = json_object()));
	TRY(mj_set_str(md, "name", name));
	TRY(mj_set_str(md, "namespace", namespace_));
	TRY(mj_set_new(md, "labels", labels = json_object()));
	TRY(mj_set_str(labels, MODEL_SECRET_TYPE_LABEL, type));
	TRY(mj_set_new(s, "data", *ret_data = json_object()));
out:
	if (rc < 0) {
		json_decref(s);
		return NULL;
	}
	return s;
}

/* ---- clusters -------------------------------------------------------------- */

void model_cluster_release(struct model_cluster *c)
{
	free(c->name);
	free(c->server);
	free(c->bearer_token);
	free(c->username);
	free(c->password);
	free(c->ca_data);
	free(c->cert_data);
	free(c->key_data);
	free(c->server_name);
	model_strv_release(&c->namespaces);
	free(c->project);
	memset(c, 0, sizeof(*c));
}

static int tls_data(const json_t *tls, const char *key, const char *path, char **out)
{
	char *enc = NULL, field[160];
	int rc = mj_str(tls, key, path, &enc);

	if (rc < 0 || !enc)
		return rc;
	rc = decode_text(enc, mj_path(field, sizeof(field), path, key), out);
	free(enc);
	return rc;
}

/* Reads {bearerToken, username, password, tlsClientConfig{...}}. */
static int cluster_config_parse(const json_t *cfg, const char *path, struct model_cluster *c)
{
	const json_t *tls;
	char tp[128];
	int rc;

	if (!json_is_object(cfg))
		return err_set(BERR_INVALID, "%s: must be a JSON object", path);
	TRY(mj_str(cfg, "bearerToken", path, &c->bearer_token));
	TRY(mj_str(cfg, "username", path, &c->username));
	TRY(mj_str(cfg, "password", path, &c->password));
	TRY(mj_obj(cfg, "tlsClientConfig", path, &tls));
	if (!tls)
		return 0;
	mj_path(tp, sizeof(tp), path, "tlsClientConfig");
	TRY(tls_data(tls, "caData", tp, &c->ca_data));
	TRY(tls_data(tls, "certData", tp, &c->cert_data));
	TRY(tls_data(tls, "keyData", tp, &c->key_data));
	TRY(mj_bool(tls, "insecure", tp, &c->insecure));
	TRY(mj_str(tls, "serverName", tp, &c->server_name));
out:
	return rc;
}

static int set_tls_data(json_t *tls, const char *key, const char *pem)
{
	char *enc;
	int rc;

	if (!pem)
		return 0;
	if (!(enc = b64_encode(pem, strlen(pem), false)))
		return err_set(BERR_NOMEM, "out of memory");
	rc = mj_set_new(tls, key, json_string(enc));
	free(enc);
	return rc;
}

static json_t *cluster_config_to_json(const struct model_cluster *c, bool with_secrets)
{
	json_t *cfg = json_object(), *tls;
	int rc = 0;

	if (!cfg)
		return NULL;
	if (with_secrets) {
		TRY(mj_set_str(cfg, "bearerToken", c->bearer_token));
		TRY(mj_set_str(cfg, "password", c->password));
	}
	TRY(mj_set_str(cfg, "username", c->username));
	TRY(mj_set_new(cfg, "tlsClientConfig", tls = json_object()));
	TRY(set_tls_data(tls, "caData", c->ca_data));
	TRY(set_tls_data(tls, "certData", c->cert_data));
	if (with_secrets)
		TRY(set_tls_data(tls, "keyData", c->key_data));
	TRY(mj_set_new(tls, "insecure", json_boolean(c->insecure)));
	TRY(mj_set_str(tls, "serverName", c->server_name));
out:
	if (rc < 0) {
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

static int split_namespaces(const char *list, struct model_strv *out)
{
	const char *p = list;
	char item[254];
	int rc;

	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0 && n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			if ((rc = model_strv_push(out, item)) < 0)
				return rc;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int model_cluster_from_secret(const json_t *secret, struct model_cluster *out)
{
	struct model_cluster c = { 0 };
	const char *type = secret_type(secret);
	char *config = NULL, *namespaces = NULL;
	json_t *cfg = NULL;
	int rc;

	if (!type || strcmp(type, "cluster") != 0)
		return err_set(BERR_INVALID, "metadata.labels: %s must be \"cluster\"",
			       MODEL_SECRET_TYPE_LABEL);
	TRY(secret_value(secret, "name", &c.name));
	TRY(secret_value(secret, "server", &c.server));
	TRY(secret_value(secret, "project", &c.project));
	TRY(secret_value(secret, "namespaces", &namespaces));
	if (namespaces)
		TRY(split_namespaces(namespaces, &c.namespaces));
	if (!c.server || !*c.server)
		TRY(err_set(BERR_INVALID, "data.server: is required"));
	if (!c.name && !(c.name = strdup(c.server)))
		TRY(err_set(BERR_NOMEM, "out of memory"));
	TRY(secret_value(secret, "config", &config));
	if (config) {
		if ((rc = jx_parse(config, strlen(config), MODEL_SECRET_VALUE_MAX, 16, &cfg)) < 0)
			TRY(err_prefix(rc, "data.config"));
		TRY(cluster_config_parse(cfg, "data.config", &c));
	}
	*out = c;
	c = (struct model_cluster){ 0 };
out:
	model_cluster_release(&c);
	json_decref(cfg);
	free(config);
	free(namespaces);
	return rc;
}

int model_cluster_to_secret(const struct model_cluster *c, const char *namespace_,
			    const char *secret_name, json_t **ret)
{
	json_t *data = NULL, *cfg = NULL;
	json_t *s = secret_new(namespace_, secret_name, "cluster", &data);
	struct buf b;
	int rc = 0;

	buf_init(&b, MODEL_SECRET_VALUE_MAX);
	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	TRY(set_data(data, "name", c->name));
	TRY(set_data(data, "server", c->server));
	TRY(set_data(data, "project", c->project));
	if (c->namespaces.n) {
		size_t i;
		for (i = 0; i < c->namespaces.n; i++)
			TRY(buf_printf(&b, "%s%s", i ? "," : "", c->namespaces.v[i]));
		TRY(set_data(data, "namespaces", b.ptr));
		buf_reset(&b);
	}
	if (!(cfg = cluster_config_to_json(c, true)))
		TRY(err_set(BERR_NOMEM, "out of memory"));
	TRY(jx_dump_compact(cfg, &b));
	TRY(set_data(data, "config", b.ptr));
	*ret = s;
	s = NULL;
out:
	buf_release(&b);
	json_decref(cfg);
	json_decref(s);
	return rc;
}

json_t *model_cluster_to_json(const struct model_cluster *c, bool with_secrets)
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_str(o, "server", c->server));
	TRY(mj_set_str(o, "name", c->name));
	TRY(mj_set_strv(o, "namespaces", &c->namespaces));
	TRY(mj_set_str(o, "project", c->project));
	TRY(mj_set_new(o, "config", cluster_config_to_json(c, with_secrets)));
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int model_cluster_from_json(const json_t *obj, struct model_cluster *out)
{
	struct model_cluster c = { 0 };
	const json_t *cfg;
	int rc;

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "cluster: must be a JSON object");
	TRY(mj_str(obj, "server", "", &c.server));
	TRY(mj_str(obj, "name", "", &c.name));
	TRY(mj_strv(obj, "namespaces", "", &c.namespaces));
	TRY(mj_str(obj, "project", "", &c.project));
	TRY(mj_obj(obj, "config", "", &cfg));
	if (cfg)
		TRY(cluster_config_parse(cfg, "config", &c));
	if (!c.server || !*c.server)
		TRY(err_set(BERR_INVALID, "server: is required"));
	if (!c.name && !(c.name = strdup(c.server)))
		TRY(err_set(BERR_NOMEM, "out of memory"));
	*out = c;
	return 0;
out:
	model_cluster_release(&c);
	return rc;
}

int model_cluster_init_in_cluster(struct model_cluster *out)
{
	struct model_cluster c = { 0 };

	c.name = strdup(MODEL_IN_CLUSTER_NAME);
	c.server = strdup(MODEL_IN_CLUSTER_SERVER);
	if (!c.name || !c.server) {
		model_cluster_release(&c);
		return err_set(BERR_NOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

static int dest_copy(const struct model_destination *d, const char *server, const char *name,
		     struct model_destination *out)
{
	struct model_destination r = { 0 };

	r.server = strdup(server);
	r.name = strdup(name);
	r.namespace_ = str_dup(d->namespace_);
	if (!r.server || !r.name || (d->namespace_ && !r.namespace_)) {
		model_destination_release(&r);
		return err_set(BERR_NOMEM, "out of memory");
	}
	*out = r;
	return 0;
}

ssize_t model_destination_resolve(const struct model_destination *d,
				  const struct model_cluster *clusters, size_t n,
				  struct model_destination *out)
{
	bool by_name = d->name && *d->name;
	size_t i;
	int rc;

	if (!by_name && (!d->server || !*d->server))
		return err_set(BERR_INVALID, "spec.destination: one of server or name is required");
	for (i = 0; i < n; i++) {
		const struct model_cluster *c = &clusters[i];
		bool hit = by_name ? (c->name && strcmp(c->name, d->name) == 0)
				   : (c->server && strcmp(c->server, d->server) == 0);
		if (hit) {
			rc = dest_copy(d, c->server, c->name ? c->name : c->server, out);
			return rc < 0 ? rc : (ssize_t)i;
		}
	}
	if (by_name ? strcmp(d->name, MODEL_IN_CLUSTER_NAME) == 0
		    : strcmp(d->server, MODEL_IN_CLUSTER_SERVER) == 0) {
		rc = dest_copy(d, MODEL_IN_CLUSTER_SERVER, MODEL_IN_CLUSTER_NAME, out);
		return rc < 0 ? rc : (ssize_t)n;
	}
	if (by_name)
		return err_set(BERR_NOTFOUND, "spec.destination: no cluster named \"%s\"", d->name);
	return err_set(BERR_NOTFOUND, "spec.destination: no cluster with server \"%s\"", d->server);
}

/* ---- repositories ------------------------------------------------------------ */

void model_repo_release(struct model_repo *r)
{
	free(r->url);
	free(r->name);
	free(r->type);
	free(r->username);
	free(r->password);
	free(r->ssh_private_key);
	free(r->project);
	memset(r, 0, sizeof(*r));
}

int model_repo_from_secret(const json_t *secret, struct model_repo *out)
{
	struct model_repo r = { 0 };
	const char *type = secret_type(secret);
	int rc;

	if (!type || (strcmp(type, "repository") != 0 && strcmp(type, "repo-creds") != 0))
		return err_set(BERR_INVALID, "metadata.labels: %s must be \"repository\" or "
			       "\"repo-creds\"", MODEL_SECRET_TYPE_LABEL);
	r.is_template = strcmp(type, "repo-creds") == 0;
	TRY(secret_value(secret, "url", &r.url));
	TRY(secret_value(secret, "name", &r.name));
	TRY(secret_value(secret, "type", &r.type));
	TRY(secret_value(secret, "username", &r.username));
	TRY(secret_value(secret, "password", &r.password));
	TRY(secret_value(secret, "sshPrivateKey", &r.ssh_private_key));
	TRY(secret_bool(secret, "insecure", &r.insecure));
	TRY(secret_value(secret, "project", &r.project));
	if (!r.url || !*r.url)
		TRY(err_set(BERR_INVALID, "data.url: is required"));
	if (r.type && strcmp(r.type, "git") != 0 && strcmp(r.type, "helm") != 0)
		TRY(err_set(BERR_INVALID, "data.type: \"%s\" must be git or helm", r.type));
	*out = r;
	return 0;
out:
	model_repo_release(&r);
	return rc;
}

int model_repo_to_secret(const struct model_repo *r, const char *namespace_,
			 const char *secret_name, json_t **ret)
{
	json_t *data = NULL;
	json_t *s = secret_new(namespace_, secret_name, r->is_template ? "repo-creds" : "repository",
			       &data);
	int rc = 0;

	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	TRY(set_data(data, "url", r->url));
	TRY(set_data(data, "name", r->name));
	TRY(set_data(data, "type", r->type));
	TRY(set_data(data, "username", r->username));
	TRY(set_data(data, "password", r->password));
	TRY(set_data(data, "sshPrivateKey", r->ssh_private_key));
	if (r->insecure)
		TRY(set_data(data, "insecure", "true"));
	TRY(set_data(data, "project", r->project));
	*ret = s;
	s = NULL;
out:
	json_decref(s);
	return rc;
}

json_t *model_repo_to_json(const struct model_repo *r, bool with_secrets)
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_str(o, "repo", r->url));
	TRY(mj_set_str(o, "name", r->name));
	TRY(mj_set_str(o, "type", r->type ? r->type : "git"));
	TRY(mj_set_str(o, "username", r->username));
	if (with_secrets) {
		TRY(mj_set_str(o, "password", r->password));
		TRY(mj_set_str(o, "sshPrivateKey", r->ssh_private_key));
	}
	TRY(mj_set_bool(o, "insecure", r->insecure));
	TRY(mj_set_str(o, "project", r->project));
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int model_repo_from_json(const json_t *obj, struct model_repo *out)
{
	struct model_repo r = { 0 };
	int rc;

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "repository: must be a JSON object");
	TRY(mj_str(obj, "repo", "", &r.url));
	TRY(mj_str(obj, "name", "", &r.name));
	TRY(mj_str(obj, "type", "", &r.type));
	TRY(mj_str(obj, "username", "", &r.username));
	TRY(mj_str(obj, "password", "", &r.password));
	TRY(mj_str(obj, "sshPrivateKey", "", &r.ssh_private_key));
	TRY(mj_bool(obj, "insecure", "", &r.insecure));
	TRY(mj_str(obj, "project", "", &r.project));
	if (!r.url || !*r.url)
		TRY(err_set(BERR_INVALID, "repo: is required"));
	if (r.type && strcmp(r.type, "git") != 0 && strcmp(r.type, "helm") != 0)
		TRY(err_set(BERR_INVALID, "type: \"%s\" must be git or helm", r.type));
	*out = r;
	return 0;
out:
	model_repo_release(&r);
	return rc;
}

/* ---- URL normalisation -------------------------------------------------------- */

const char *model_repo_url_redact(const char *url, char *out, size_t size)
{
	const char *scheme, *auth, *end, *at = NULL, *p;

	if (!url) {
		snprintf(out, size, "%s", "");
		return out;
	}
	scheme = strstr(url, "://");
	auth = scheme ? scheme + 3 : url;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	/* scp-style git@host:path names a user but carries no secret. */
	if (!at || (!scheme && !memchr(auth, ':', (size_t)(at - auth)))) {
		snprintf(out, size, "%s", url);
		return out;
	}
	snprintf(out, size, "%.*s***%s", (int)(auth - url), url, at);
	return out;
}

/* scp-style "user@host:path": no scheme, an '@' before the first ':' and no
 * '/' before the '@'. */
static bool is_scp_style(const char *u)
{
	const char *at = strchr(u, '@'), *colon = strchr(u, ':'), *slash = strchr(u, '/');

	if (strstr(u, "://"))
		return false;
	return at && colon && at < colon && (!slash || slash > at);
}

int model_repo_url_normalize(const char *url, char **ret)
{
	char red[512];
	struct buf b;
	const char *s, *e;
	char *p;
	int rc = 0;

	if (!url)
		return err_set(BERR_INVALID, "repository URL is empty");
	s = url;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	if (e == s)
		return err_set(BERR_INVALID, "repository URL is empty");
	buf_init(&b, 8192);
	TRY(buf_append(&b, s, (size_t)(e - s)));
	for (p = b.ptr; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (is_scp_style(b.ptr)) {
		/* "git@host:org/repo" -> "git@host/org/repo" (ssh:// form without
		 * its scheme, which is how Argo CD prints both). */
		*strchr(b.ptr, ':') = '/';
	} else if (str_starts_with(b.ptr, "ssh://")) {
		memmove(b.ptr, b.ptr + 6, b.len - 6 + 1);
		b.len -= 6;
	}
	while (b.len > 0 && b.ptr[b.len - 1] == '/')
		buf_truncate(&b, b.len - 1);
	if (str_ends_with(b.ptr, ".git"))
		buf_truncate(&b, b.len - 4);
	while (b.len > 0 && b.ptr[b.len - 1] == '/')
		buf_truncate(&b, b.len - 1);
	if (b.len == 0)
		TRY(err_set(BERR_INVALID, "repository URL \"%s\" is empty after normalisation",
			    model_repo_url_redact(url, red, sizeof(red))));
	*ret = buf_detach(&b, NULL);
	if (!*ret)
		rc = err_set(BERR_NOMEM, "out of memory");
out:
	buf_release(&b);
	return rc;
}

bool model_repo_url_equal(const char *a, const char *b)
{
	char *na = NULL, *nb = NULL;
	bool eq = false;

	if (model_repo_url_normalize(a, &na) == 0 && model_repo_url_normalize(b, &nb) == 0)
		eq = strcmp(na, nb) == 0;
	free(na);
	free(nb);
	return eq;
}

ssize_t model_repo_match(const struct model_repo *repos, size_t n, const char *url)
{
	char *nu = NULL, *nr = NULL;
	ssize_t best = -1;
	size_t best_len = 0, i;

	if (model_repo_url_normalize(url, &nu) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (repos[i].is_template || model_repo_url_normalize(repos[i].url, &nr) < 0)
			continue;
		if (strcmp(nr, nu) == 0) {
			free(nr);
			free(nu);
			return (ssize_t)i;
		}
		free(nr);
		nr = NULL;
	}
	/* Templates match by prefix of the URL as written (lower-cased, as
	 * Argo CD compares them), longest prefix first. */
	for (i = 0; i < n; i++) {
		size_t len;
		if (!repos[i].is_template || !repos[i].url)
			continue;
		len = strlen(repos[i].url);
		if (len > best_len && strncasecmp(url, repos[i].url, len) == 0) {
			best = (ssize_t)i;
			best_len = len;
		}
	}
	free(nu);
	return best;
}
