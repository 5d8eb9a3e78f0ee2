/* Settings: berth-cm, berth-rbac-cm, berth-secret and the revocation list,
 * read into an immutable snapshot that is swapped in when they change.
 *
 * The reloader watches ConfigMaps and Secrets of the namespace and re-reads
 * the four objects when one of them changes (and once a minute anyway, in
 * case a watch stalls), swapping in a new snapshot only when a
 * resourceVersion changed: edits take effect well within a second, without
 * a restart and without polling. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "osrand.h"
#include "passwd.h"
#include "server.h"
#include "str.h"

#define SECRET_MAX_VALUE (1u << 20)

static void settings_free(struct settings *st)
{
	if (!st)
		return;
	json_decref(st->cm);
	json_decref(st->rbac_cm);
	json_decref(st->secret);
	json_decref(st->revoked);
	rbac_policy_free(st->policy);
	if (st->key) {
		explicit_bzero(st->key, st->key_len);
		free(st->key);
	}
	free(st);
}

struct settings *settings_get(struct api_server *s)
{
	struct settings *st;

	pthread_mutex_lock(&s->mu);
	st = s->settings;
	if (st)
		__atomic_add_fetch(&st->refs, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&s->mu);
	return st;
}

void settings_put(struct settings *st)
{
	if (st && __atomic_sub_fetch(&st->refs, 1, __ATOMIC_SEQ_CST) == 0)
		settings_free(st);
}

const char *settings_cm(const struct settings *st, const char *key)
{
	return st ? jx_str(st->cm, key) : NULL;
}

const char *settings_secret(const struct settings *st, const char *key)
{
	return st ? jx_str(st->secret, key) : NULL;
}

/* GET a ConfigMap or Secret in the control-plane namespace; NULL when absent. */
static int get_object(struct api_server *s, const char *kind, const char *name, json_t **ret)
{
	struct kube_target t = {.api_version = "v1", .kind = kind, .namespace_ = s->ns, .name = name};
	int rc = kube_get(s->kc, &t, NULL, ret);

	if (rc == BERR_NOTFOUND) {
		*ret = NULL;
		return 0;
	}
	return rc;
}

/* A Secret's data decoded into an object of strings. */
static json_t *decode_secret_data(const json_t *secret)
{
	json_t *out = json_object();
	const json_t *data = jx_path(secret, "data", NULL);
	const char *k;
	json_t *v;

	if (!out || !json_is_object(data))
		return out;
	json_object_foreach((json_t *)data, k, v) {
		uint8_t *dec = NULL;
		size_t n = 0;
		if (!json_is_string(v) || b64_decode(json_string_value(v), false, SECRET_MAX_VALUE, &dec, &n) < 0)
			continue;
		json_object_set_new(out, k, json_stringn((const char *)dec, n));
		explicit_bzero(dec, n);
		free(dec);
	}
	return out;
}

static json_t *cm_data(const json_t *cm)
{
	json_t *d = jx_path(cm, "data", NULL);
	return json_is_object(d) ? json_deep_copy(d) : json_object();
}

static const char *rv_of(const json_t *o)
{
	const char *rv = jx_path_str(o, "metadata", "resourceVersion", NULL);
	return rv ? rv : "-";
}

static int build_policy(struct settings *st)
{
	const char *csv = jx_str(st->rbac_cm, "policy.csv");
	struct buf all;
	const char *k;
	json_t *v;
	int rc;

	/* Argo CD also reads policy.<name>.csv keys: appended after policy.csv. */
	buf_init(&all, 8u << 20);
	if (csv && (rc = buf_puts(&all, csv)) < 0)
		goto out;
	json_object_foreach(st->rbac_cm, k, v) {
		if (str_starts_with(k, "policy.") && str_ends_with(k, ".csv") && strcmp(k, "policy.csv") &&
		    json_is_string(v)) {
			if ((rc = buf_puts(&all, "\n")) < 0 || (rc = buf_puts(&all, json_string_value(v))) < 0)
				goto out;
		}
	}
	rc = rbac_policy_new(all.len ? all.ptr : NULL, jx_str(st->rbac_cm, "policy.default"),
			     jx_str(st->rbac_cm, "scopes"), &st->policy);
	if (rc < 0) {
		/* A broken policy must not lock everyone out nor open anything:
		 * keep only the built-in roles (admin stays admin). */
		log_limited(LOG_LEVEL_WARN, "berth-rbac-cm: policy refused, using built-in roles only",
			    "error", err_msg(), NULL);
		rc = rbac_policy_new(NULL, NULL, NULL, &st->policy);
	}
out:
	buf_release(&all);
	return rc;
}

/* The last resourceVersions read, to skip rebuilding an unchanged snapshot. */
static char last_rvs[512];

int settings_reload(struct api_server *s)
{
	json_t *cm = NULL, *rcm = NULL, *sec = NULL, *rev = NULL;
	struct settings *st = NULL, *old;
	char rvs[512];
	int rc;

	if ((rc = get_object(s, "ConfigMap", API_CM, &cm)) < 0 ||
	    (rc = get_object(s, "ConfigMap", API_RBAC_CM, &rcm)) < 0 ||
	    (rc = get_object(s, "Secret", API_SECRET, &sec)) < 0 ||
	    (rc = get_object(s, "Secret", API_REVOKED_SECRET, &rev)) < 0)
		goto out;
	snprintf(rvs, sizeof(rvs), "%s/%s/%s/%s", rv_of(cm), rv_of(rcm), rv_of(sec), rv_of(rev));
	pthread_mutex_lock(&s->mu);
	bool same = s->settings && !strcmp(rvs, last_rvs);
	pthread_mutex_unlock(&s->mu);
	if (same)
		goto out;
	if (!(st = calloc(1, sizeof(*st)))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	st->refs = 1;
	static uint64_t next_gen; /* guarded by s->mu */
	pthread_mutex_lock(&s->mu);
	st->gen = ++next_gen;
	pthread_mutex_unlock(&s->mu);
	st->cm = cm_data(cm);
	st->rbac_cm = cm_data(rcm);
	st->secret = decode_secret_data(sec);
	st->revoked = decode_secret_data(rev);
	if (!st->cm || !st->rbac_cm || !st->secret || !st->revoked) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	const char *ae = jx_str(st->cm, "admin.enabled");
	st->admin_enabled = !ae || strcmp(ae, "false") != 0;
	const char *key = jx_str(st->secret, "server.secretkey");
	if (key && strlen(key) >= 32) {
		st->key_len = strlen(key);
		st->key = (uint8_t *)str_dup(key);
	}
	if ((rc = build_policy(st)) < 0)
		goto out;
	pthread_mutex_lock(&s->mu);
	old = s->settings;
	s->settings = st;
	str_copy(last_rvs, rvs, sizeof(last_rvs));
	pthread_mutex_unlock(&s->mu);
	st = NULL;
	settings_put(old);
out:
	settings_free(st);
	json_decref(cm);
	json_decref(rcm);
	json_decref(sec);
	json_decref(rev);
	return rc;
}

/* The reloader's watches: one of ConfigMaps, one of Secrets in the
 * namespace; an event for one of the settings objects marks the snapshot
 * dirty and wakes the reloader. */
#define RELOAD_RESYNC_MS 60000   /* re-read anyway, in case a watch stalls */
#define RELOAD_RETRY_MS 1000     /* a watch that could not start, again */

struct reload_watch {
	struct api_server *s;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool dirty;
	struct kube_watch *w[2];
	bool running[2];
	int64_t retry_at[2];
};

static const char *const WATCHED[2] = {"ConfigMap", "Secret"};

/* The two watches share on_event and on_end; which one is found by its
 * userdata. */
struct reload_end {
	struct reload_watch *rw;
	int i;
};

static int on_settings_event(enum kube_event_type type, json_t *obj, void *ud)
{
	struct reload_watch *rw = ((struct reload_end *)ud)->rw;
	const char *name = jx_path_str(obj, "metadata", "name", NULL);

	if (type == KUBE_EV_BOOKMARK || !name)
		return 0;
	if (!strcmp(name, API_CM) || !strcmp(name, API_RBAC_CM) || !strcmp(name, API_SECRET) ||
	    !strcmp(name, API_REVOKED_SECRET)) {
		pthread_mutex_lock(&rw->mu);
		rw->dirty = true;
		pthread_cond_signal(&rw->cond);
		pthread_mutex_unlock(&rw->mu);
	}
	return 0;
}

static void on_settings_end(int rc, const char *last_rv, const char *message, void *ud)
{
	struct reload_end *e = ud;
	struct reload_watch *rw = e->rw;

	(void)last_rv;
	if (rc != 0 && rc != BERR_CANCELED)
		log_debug("settings watch ended", "kind", WATCHED[e->i], "error", message ? message : "", NULL);
	pthread_mutex_lock(&rw->mu);
	rw->running[e->i] = false;
	rw->w[e->i] = NULL;
	/* Events may have been missed: read again once it is back. */
	rw->dirty = true;
	rw->retry_at[e->i] = clock_mono_ms() + (rc == 0 ? 0 : RELOAD_RETRY_MS);
	pthread_cond_signal(&rw->cond);
	pthread_mutex_unlock(&rw->mu);
}

/* Starts watch i (rw->mu not held). */
static void reload_watch_start(struct reload_watch *rw, struct reload_end *e)
{
	struct kube_target t = {.api_version = "v1", .kind = WATCHED[e->i], .namespace_ = rw->s->ns};
	struct kube_watch *w = NULL;

	pthread_mutex_lock(&rw->mu);
	rw->running[e->i] = true;
	pthread_mutex_unlock(&rw->mu);
	int rc = kube_watch_start(rw->s->kc, &t, NULL, NULL, on_settings_event, on_settings_end, e, &w);
	pthread_mutex_lock(&rw->mu);
	if (rc < 0) {
		rw->running[e->i] = false;
		rw->retry_at[e->i] = clock_mono_ms() + RELOAD_RETRY_MS;
	} else if (rw->running[e->i]) {
		rw->w[e->i] = w;
	}
	pthread_mutex_unlock(&rw->mu);
}

void *settings_reloader(void *arg)
{
	struct reload_watch rw = {.s = arg};
	struct reload_end ends[2] = {{&rw, 0}, {&rw, 1}};
	struct api_server *s = arg;
	bool failing = false;
	int64_t resync = clock_mono_ms() + RELOAD_RESYNC_MS;

	pthread_mutex_init(&rw.mu, NULL);
	pthread_cond_init(&rw.cond, NULL);
	while (!s->stopping) {
		for (int i = 0; i < 2; i++) {
			pthread_mutex_lock(&rw.mu);
			bool start = !rw.running[i] && clock_mono_ms() >= rw.retry_at[i];
			pthread_mutex_unlock(&rw.mu);
			if (start)
				reload_watch_start(&rw, &ends[i]);
		}
		pthread_mutex_lock(&rw.mu);
		if (!rw.dirty) {
			/* Short waits: stopping is a flag, not a signal. */
			struct timespec ts = clock_realtime_after_ms(200);
			pthread_cond_timedwait(&rw.cond, &rw.mu, &ts);
		}
		bool reload = rw.dirty || clock_mono_ms() >= resync;
		rw.dirty = false;
		pthread_mutex_unlock(&rw.mu);
		if (!reload || s->stopping)
			continue;
		resync = clock_mono_ms() + RELOAD_RESYNC_MS;
		if (settings_reload(s) < 0) {
			if (!failing)
				log_warn("settings reload failed, keeping the last ones", "error", err_msg(), NULL);
			failing = true;
			pthread_mutex_lock(&rw.mu);
			rw.dirty = true; /* again, after a pause */
			pthread_mutex_unlock(&rw.mu);
			clock_sleep_ms(RELOAD_RETRY_MS);
		} else {
			failing = false;
		}
	}
	/* Stop the watches and wait for their on_end (they use rw). */
	pthread_mutex_lock(&rw.mu);
	for (int i = 0; i < 2; i++) {
		if (rw.w[i]) {
			kube_watch_stop(s->kc, rw.w[i]);
			rw.w[i] = NULL;
		}
	}
	while (rw.running[0] || rw.running[1])
		pthread_cond_wait(&rw.cond, &rw.mu);
	pthread_mutex_unlock(&rw.mu);
	pthread_mutex_destroy(&rw.mu);
	pthread_cond_destroy(&rw.cond);
	return NULL;
}

/* Random printable text from the OS RNG (URL-safe base64 of n bytes). */
static char *random_text(size_t n)
{
	uint8_t raw[64];

	if (n > sizeof(raw) || osrand_bytes(raw, n) < 0)
		return NULL;
	char *out = b64_encode(raw, n, true);
	explicit_bzero(raw, sizeof(raw));
	return out;
}

int settings_secret_patch(struct api_server *s, const json_t *kv)
{
	json_t *data = json_object(), *patch = NULL;
	const char *k;
	json_t *v;
	int rc;

	if (!data)
		return err_set(BERR_NOMEM, "out of memory");
	json_object_foreach((json_t *)kv, k, v) {
		if (json_is_string(v)) {
			char *enc = b64_encode(json_string_value(v), json_string_length(v), false);
			if (!enc) {
				json_decref(data);
				return err_set(BERR_NOMEM, "out of memory");
			}
			json_object_set_new(data, k, json_string(enc));
			free(enc);
		} else {
			json_object_set_new(data, k, json_null());
		}
	}
	patch = json_pack("{s:o}", "data", data);
	struct kube_target t = {.api_version = "v1", .kind = "Secret", .namespace_ = s->ns, .name = API_SECRET};
	rc = kube_patch(s->kc, &t, KUBE_PATCH_MERGE, patch, NULL, NULL);
	json_decref(patch);
	if (rc == 0)
		rc = settings_reload(s);
	return rc;
}

static int ensure_secret(struct api_server *s, const char *name, const json_t *string_data)
{
	json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:O}", "apiVersion", "v1", "kind", "Secret",
				"metadata", "name", name, "namespace", s->ns, "type", "Opaque",
				"stringData", string_data);
	struct kube_target t = {.api_version = "v1", .kind = "Secret", .namespace_ = s->ns};
	int rc;

	if (!obj)
		return err_set(BERR_NOMEM, "out of memory");
	rc = kube_create(s->kc, &t, obj, NULL, NULL);
	json_decref(obj);
	return rc == BERR_EXISTS ? 0 : rc;
}

/* First start: creates berth-secret when missing, a server.secretkey when it
 * has none, and an admin password (also written to
 * berth-initial-admin-secret, for the operator to read once). */
int settings_bootstrap(struct api_server *s)
{
	json_t *empty = json_object(), *add = json_object();
	struct settings *st;
	char *key = NULL, *password = NULL, *hash = NULL;
	int rc;

	if (!empty || !add) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = ensure_secret(s, API_SECRET, empty)) < 0 || (rc = settings_reload(s)) < 0)
		goto out;
	st = settings_get(s);
	bool need_key = !st->key, need_admin = !settings_secret(st, "admin.password");
	settings_put(st);
	if (need_key) {
		if (!(key = random_text(48))) {
			rc = err_set(BERR_INTERNAL, "cannot draw a server key");
			goto out;
		}
		json_object_set_new(add, "server.secretkey", json_string(key));
	}
	if (need_admin) {
		char mtime[40];
		if (!(password = random_text(18))) {
			rc = err_set(BERR_INTERNAL, "cannot draw an admin password");
			goto out;
		}
		if ((rc = passwd_hash(password, 0, &hash)) < 0)
			goto out;
		clock_now_rfc3339(mtime, sizeof(mtime));
		json_object_set_new(add, "admin.password", json_string(hash));
		json_object_set_new(add, "admin.passwordMtime", json_string(mtime));
		json_t *init = json_pack("{s:s}", "password", password);
		rc = ensure_secret(s, API_INITIAL_SECRET, init);
		json_decref(init);
		if (rc < 0)
			goto out;
		log_info("created the admin password", "secret", API_INITIAL_SECRET, NULL);
	}
	if (json_object_size(add))
		rc = settings_secret_patch(s, add);
out:
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(hash);
	json_decref(empty);
	json_decref(add);
	return rc;
}

/* GET /api/v1/settings — only what the login page needs (no secrets, no
 * policy): the URL, whether local login is on, and the OIDC provider's
 * name and issuer. Unauthenticated, as the login page needs it. */
void api_settings(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct settings *st = settings_get(s);
	json_t *out = json_object();
	const char *url = settings_cm(st, "url");
	const char *oidc = settings_cm(st, "oidc.config");

	json_object_set_new(out, "url", json_string(url ? url : ""));
	json_object_set_new(out, "localLoginEnabled", json_boolean(st && st->admin_enabled));
	if (oidc && *oidc) {
		/* Only the name and issuer: never clientSecret, never scopes'
		 * mapping. The value is YAML in Argo CD; take the two keys from
		 * "key: value" lines. */
		json_t *o = json_object();
		const char *keys[] = {"name", "issuer"};
		for (size_t i = 0; i < 2; i++) {
			const char *p = strstr(oidc, keys[i]);
			while (p && p != oidc && p[-1] != '\n' && p[-1] != ' ')
				p = strstr(p + 1, keys[i]);
			if (!p || p[strlen(keys[i])] != ':')
				continue;
			p += strlen(keys[i]) + 1;
			while (*p == ' ')
				p++;
			size_t n = strcspn(p, "\r\n");
			if (n && (*p == '"' || *p == '\'') && p[n - 1] == *p && n >= 2) {
				p++;
				n -= 2;
			}
			json_object_set_new(o, keys[i], json_stringn(p, n));
		}
		json_object_set_new(out, "oidcConfig", o);
	}
	httpd_respond_json(req, 200, out);
	json_decref(out);
	settings_put(st);
}
