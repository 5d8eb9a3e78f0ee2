/* faults — see faults.h. */
#include "faults.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "osrand.h"
#include "str.h"
#include "store.h"

#define MAX_PATH_FAULTS 32

struct path_fault {
	char *pattern;
	int status;
	double fraction;
};

struct fault_set {
	double p429, p500, p503, drop;
	int64_t latency_ms, watch_drop_ms, compact_ms;
	struct path_fault paths[MAX_PATH_FAULTS];
	size_t npaths;
};

struct faults {
	struct ks_store *s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t timer;
	bool stop, started;
	struct fault_set set;
	int64_t next_drop_ms, next_compact_ms;
	uint64_t rng;
	char admin_token[65];
	char *orig_token, *cur_token; /* NULL when the server has no bearer token */
	bool expired;
};

static void set_release(struct fault_set *fs)
{
	for (size_t i = 0; i < fs->npaths; i++)
		free(fs->paths[i].pattern);
	memset(fs, 0, sizeof(*fs));
}

static void token_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (osrand_bytes(raw, nbytes) < 0) {
		err_clear();
		uint64_t x = (uint64_t)clock_wall_ms() ^ (uint64_t)clock_mono_ms() << 20;
		for (size_t i = 0; i < nbytes; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			raw[i] = (unsigned char)(x >> 56);
		}
	}
	str_hex(raw, nbytes, out);
}

/* xorshift under mu: a fraction in [0, 1). */
static double roll(struct faults *f)
{
	uint64_t x = f->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	f->rng = x;
	return (double)(x >> 11) / (double)(1ULL << 53);
}

/* ---- parsing ------------------------------------------------------------------ */

static int parse_fraction(const char *s, double *out)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return BERR_INVALID;
	*out = v;
	return 0;
}

static int set_item(struct fault_set *fs, const char *key, const char *value)
{
	int rc = 0;

	if (strcmp(key, "429") == 0)
		rc = parse_fraction(value, &fs->p429);
	else if (strcmp(key, "500") == 0)
		rc = parse_fraction(value, &fs->p500);
	else if (strcmp(key, "503") == 0)
		rc = parse_fraction(value, &fs->p503);
	else if (strcmp(key, "drop") == 0)
		rc = parse_fraction(value, &fs->drop);
	else if (strcmp(key, "latency") == 0)
		rc = str_to_duration_ms(value, &fs->latency_ms);
	else if (strcmp(key, "watch-drop") == 0)
		rc = str_to_duration_ms(value, &fs->watch_drop_ms);
	else if (strcmp(key, "compact") == 0)
		rc = str_to_duration_ms(value, &fs->compact_ms);
	else if ((strncmp(key, "500@", 4) == 0 || strncmp(key, "503@", 4) == 0) && key[4]) {
		double frac;
		if (fs->npaths == MAX_PATH_FAULTS)
			return err_set(BERR_INVALID, "faults: more than %d path faults", MAX_PATH_FAULTS);
		if ((rc = parse_fraction(value, &frac)) == 0) {
			struct path_fault *p = &fs->paths[fs->npaths++];
			p->pattern = str_dup(key + 4);
			p->status = key[2] == '0' ? 500 : 503;
			p->fraction = frac;
		}
	} else
		return err_set(BERR_INVALID, "faults: unknown fault \"%s\"", key);
	if (rc < 0)
		return err_set(BERR_INVALID, "faults: bad value \"%s\" for %s", value, key);
	return 0;
}

static int parse_spec(const char *spec, struct fault_set *fs)
{
	char *copy = str_dup(spec ? spec : ""), *item, *next;
	int rc = 0;

	if (!copy)
		return err_set(BERR_NOMEM, "faults: out of memory");
	for (item = copy; item && *item && rc == 0; item = next) {
		if ((next = strchr(item, ',')))
			*next++ = '\0';
		if (!*item)
			continue;
		/* The key may hold a path with '=' in it only before the last '='. */
		char *eq = strrchr(item, '=');
		if (!eq) {
			rc = err_set(BERR_INVALID, "faults: \"%s\" is not KEY=VALUE", item);
			break;
		}
		*eq = '\0';
		rc = set_item(fs, item, eq + 1);
	}
	free(copy);
	return rc;
}

/* From the admin JSON body. */
static int parse_json(const json_t *body, struct fault_set *fs)
{
	const char *key;
	json_t *v;
	char tmp[64];
	int rc;

	if (!json_is_object(body))
		return err_set(BERR_INVALID, "faults: body must be a JSON object");
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "spec") == 0) {
			if (!json_is_string(v) || (rc = parse_spec(json_string_value(v), fs)) < 0)
				return json_is_string(v) ? rc : err_set(BERR_INVALID, "faults: spec must be a string");
		} else if (strcmp(key, "paths") == 0) {
			size_t i;
			json_t *p;
			json_array_foreach(v, i, p) {
				const char *pat = jx_str(p, "pattern");
				json_int_t st = json_integer_value(json_object_get(p, "status"));
				json_t *fr = json_object_get(p, "fraction");
				if (!pat || (st != 500 && st != 503))
					return err_set(BERR_INVALID, "faults: paths[%zu] needs pattern and status 500|503", i);
				snprintf(tmp, sizeof(tmp), "%.17g", fr ? json_number_value(fr) : 1.0);
				char *k = str_printf("%d@%s", (int)st, pat);
				rc = k ? set_item(fs, k, tmp) : BERR_NOMEM;
				free(k);
				if (rc < 0)
					return rc;
			}
		} else {
			if (json_is_number(v))
				snprintf(tmp, sizeof(tmp), "%.17g", json_number_value(v));
			else if (json_is_string(v))
				str_copy(tmp, json_string_value(v), sizeof(tmp));
			else
				return err_set(BERR_INVALID, "faults: %s must be a number or string", key);
			if ((rc = set_item(fs, key, tmp)) < 0)
				return rc;
		}
	}
	return 0;
}

/* Installs a parsed set (taking its memory) and restarts the timers. */
static void install(struct faults *f, struct fault_set *fs)
{
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&f->mu);
	set_release(&f->set);
	f->set = *fs;
	memset(fs, 0, sizeof(*fs));
	f->next_drop_ms = f->set.watch_drop_ms > 0 ? now + f->set.watch_drop_ms : 0;
	f->next_compact_ms = f->set.compact_ms > 0 ? now + f->set.compact_ms : 0;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

int faults_set_spec(struct faults *f, const char *spec)
{
	struct fault_set fs;
	memset(&fs, 0, sizeof(fs));
	int rc = parse_spec(spec, &fs);
	if (rc < 0) {
		set_release(&fs);
		return rc;
	}
	install(f, &fs);
	return 0;
}

static json_t *duration_json(int64_t ms)
{
	char s[32];
	if (ms % 1000 == 0)
		snprintf(s, sizeof(s), "%llds", (long long)(ms / 1000));
	else
		snprintf(s, sizeof(s), "%lldms", (long long)ms);
	return json_string(s);
}

static json_t *describe(struct faults *f)
{
	json_t *paths = json_array(), *o;
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->set.npaths; i++)
		json_array_append_new(paths, json_pack("{s:s, s:i, s:f}", "pattern", f->set.paths[i].pattern, "status",
						       f->set.paths[i].status, "fraction", f->set.paths[i].fraction));
	o = json_pack("{s:f, s:f, s:f, s:f, s:o, s:o, s:o, s:o, s:b}", "429", f->set.p429, "500", f->set.p500, "503",
		      f->set.p503, "drop", f->set.drop, "latency", duration_json(f->set.latency_ms), "watch-drop",
		      duration_json(f->set.watch_drop_ms), "compact", duration_json(f->set.compact_ms), "paths", paths,
		      "tokenExpired", f->expired);
	pthread_mutex_unlock(&f->mu);
	return o;
}

/* ---- timers ----------------------------------------------------------------------- */

static void *timer_main(void *arg)
{
	struct faults *f = arg;
	pthread_mutex_lock(&f->mu);
	while (!f->stop) {
		int64_t now = clock_mono_ms();
		bool drop = f->next_drop_ms && now >= f->next_drop_ms;
		bool compact = f->next_compact_ms && now >= f->next_compact_ms;
		if (drop)
			f->next_drop_ms = now + f->set.watch_drop_ms;
		if (compact)
			f->next_compact_ms = now + f->set.compact_ms;
		if (drop || compact) {
			pthread_mutex_unlock(&f->mu);
			if (compact)
				store_compact(f->s);
			if (drop)
				store_drop_watches(f->s);
			pthread_mutex_lock(&f->mu);
			continue;
		}
		/* Sleep until the next timer is due (at most 1 s; a new fault
		 * set wakes us through the condition variable). */
		int64_t wait = 1000;
		if (f->next_drop_ms && f->next_drop_ms - now < wait)
			wait = f->next_drop_ms - now;
		if (f->next_compact_ms && f->next_compact_ms - now < wait)
			wait = f->next_compact_ms - now;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------------- */

struct faults *faults_new(struct ks_store *s, const char *admin_token, const char *cluster_token)
{
	struct faults *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;

	if (!f) {
		err_set(BERR_NOMEM, "faults: out of memory");
		return NULL;
	}
	f->s = s;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (admin_token)
		str_copy(f->admin_token, admin_token, sizeof(f->admin_token));
	else
		token_hex(f->admin_token, 16);
	if (cluster_token) {
		f->orig_token = str_dup(cluster_token);
		f->cur_token = str_dup(cluster_token);
	}
	if (osrand_bytes(&f->rng, sizeof(f->rng)) < 0 || f->rng == 0)
		f->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)clock_wall_ms();
	if (pthread_create(&f->timer, NULL, timer_main, f) != 0) {
		faults_free(f);
		err_set(BERR_INTERNAL, "faults: cannot start the timer thread");
		return NULL;
	}
	f->started = true;
	return f;
}

void faults_free(struct faults *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (f->started)
		pthread_join(f->timer, NULL);
	set_release(&f->set);
	free(f->orig_token);
	free(f->cur_token);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

const char *faults_admin_token(struct faults *f)
{
	return f->admin_token;
}

/* ---- per request --------------------------------------------------------------------- */

void faults_before_request(struct faults *f, const char *method, const char *path, struct faults_verdict *out)
{
	int64_t latency;
	(void)method;

	memset(out, 0, sizeof(*out));
	if (!f || (path && str_starts_with(path, FAULTS_ADMIN_PREFIX)))
		return;
	pthread_mutex_lock(&f->mu);
	latency = f->set.latency_ms;
	if (f->set.drop > 0 && roll(f) < f->set.drop)
		out->drop = true;
	else if (f->set.p429 > 0 && roll(f) < f->set.p429) {
		out->status = 429;
		out->retry_after_s = 1;
	} else if (f->set.p500 > 0 && roll(f) < f->set.p500)
		out->status = 500;
	else if (f->set.p503 > 0 && roll(f) < f->set.p503)
		out->status = 503;
	else {
		for (size_t i = 0; path && i < f->set.npaths; i++) {
			if (str_glob(f->set.paths[i].pattern, path) && roll(f) < f->set.paths[i].fraction) {
				out->status = f->set.paths[i].status;
				break;
			}
		}
	}
	pthread_mutex_unlock(&f->mu);
	if (latency > 0)
		clock_sleep_ms(latency);
}

json_t *faults_status_body(const struct faults_verdict *v)
{
	const char *reason, *message;
	json_t *body;

	switch (v->status) {
	case 429:
		reason = "TooManyRequests";
		message = "Too many requests, please try again later.";
		break;
	case 503:
		reason = "ServiceUnavailable";
		message = "the server is currently unable to handle the request (injected fault)";
		break;
	case 401:
		reason = "Unauthorized";
		message = "Unauthorized";
		break;
	default:
		reason = "InternalError";
		message = "Internal error occurred: injected fault";
		break;
	}
	body = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
			 "status", "Failure", "message", message, "reason", reason, "code", v->status ? v->status : 500);
	if (v->retry_after_s > 0)
		json_object_set_new(body, "details", json_pack("{s:i}", "retryAfterSeconds", v->retry_after_s));
	return body;
}

bool faults_token_accepted(struct faults *f, const char *bearer)
{
	bool ok;
	pthread_mutex_lock(&f->mu);
	if (!f->cur_token)
		ok = true;
	else
		ok = !f->expired && bearer &&
		     str_secure_eq(bearer, strlen(bearer), f->cur_token, strlen(f->cur_token));
	pthread_mutex_unlock(&f->mu);
	return ok;
}

/* ---- admin -------------------------------------------------------------------------- */

static int status_body(int code, const char *reason, const char *message, json_t **ret)
{
	*ret = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
			 "status", code < 300 ? "Success" : "Failure", "message", message, "reason", reason, "code",
			 code);
	return code;
}

static int token_admin(struct faults *f, const char *action, const char *body, size_t body_len, json_t **ret)
{
	pthread_mutex_lock(&f->mu);
	if (!f->cur_token) {
		pthread_mutex_unlock(&f->mu);
		return status_body(409, "Conflict", "kube-sim runs without a bearer token (--token)", ret);
	}
	if (strcmp(action, "expire") == 0) {
		f->expired = true;
	} else if (strcmp(action, "restore") == 0) {
		f->expired = false;
		free(f->cur_token);
		f->cur_token = str_dup(f->orig_token);
	} else if (strcmp(action, "rotate") == 0) {
		char fresh[65];
		json_t *req = NULL;
		const char *want = NULL;
		if (body && body_len && jx_parse(body, body_len, 64 * 1024, 16, &req) == 0)
			want = jx_str(req, "token");
		if (want && *want)
			str_copy(fresh, want, sizeof(fresh));
		else
			token_hex(fresh, 16);
		json_decref(req);
		free(f->cur_token);
		f->cur_token = str_dup(fresh);
		f->expired = false;
	} else {
		pthread_mutex_unlock(&f->mu);
		return status_body(404, "NotFound", "unknown token action", ret);
	}
	*ret = json_pack("{s:s, s:b}", "token", f->cur_token, "expired", f->expired);
	pthread_mutex_unlock(&f->mu);
	return 200;
}

int faults_admin(struct faults *f, const char *method, const char *path, const char *bearer, const char *body,
		 size_t body_len, json_t **ret_body)
{
	const char *what = path + strlen(FAULTS_ADMIN_PREFIX);
	bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0;

	if (!str_starts_with(path, FAULTS_ADMIN_PREFIX))
		return status_body(404, "NotFound", "not an admin path", ret_body);
	if (!bearer || !str_secure_eq(bearer, strlen(bearer), f->admin_token, strlen(f->admin_token)))
		return status_body(401, "Unauthorized", "admin token required", ret_body);

	if (strcmp(what, "faults") == 0) {
		if (get) {
			*ret_body = describe(f);
			return 200;
		}
		if (strcmp(method, "DELETE") == 0) {
			struct fault_set empty;
			memset(&empty, 0, sizeof(empty));
			install(f, &empty);
			pthread_mutex_lock(&f->mu);
			f->expired = false;
			if (f->orig_token) {
				free(f->cur_token);
				f->cur_token = str_dup(f->orig_token);
			}
			pthread_mutex_unlock(&f->mu);
			*ret_body = describe(f);
			return 200;
		}
		if (put) {
			struct fault_set fs;
			json_t *req = NULL;
			int rc;
			memset(&fs, 0, sizeof(fs));
			if ((rc = jx_parse(body ? body : "", body_len, 1 << 20, 16, &req)) < 0 ||
			    (rc = parse_json(req, &fs)) < 0) {
				json_decref(req);
				set_release(&fs);
				return status_body(400, "BadRequest", err_msg(), ret_body);
			}
			json_decref(req);
			install(f, &fs);
			*ret_body = describe(f);
			return 200;
		}
		return status_body(405, "MethodNotAllowed", "use GET, PUT or DELETE", ret_body);
	}
	if (get && strcmp(what, "watches") == 0) {
		size_t open = 0;
		uint64_t opened = 0;
		store_watch_counts(f->s, &open, &opened);
		*ret_body = json_pack("{s:I, s:I}", "open", (json_int_t)open, "opened", (json_int_t)opened);
		return *ret_body ? 200 : status_body(500, "InternalError", "out of memory", ret_body);
	}
	if (!put)
		return status_body(405, "MethodNotAllowed", "use POST", ret_body);
	if (strcmp(what, "compact") == 0) {
		store_compact(f->s);
		return status_body(200, "", "watch history compacted", ret_body);
	}
	if (strcmp(what, "drop-watches") == 0) {
		store_drop_watches(f->s);
		return status_body(200, "", "watches dropped", ret_body);
	}
	if (str_starts_with(what, "token/"))
		return token_admin(f, what + 6, body, body_len, ret_body);
	return status_body(404, "NotFound", "unknown admin endpoint", ret_body);
}
