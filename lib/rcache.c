/* rcache — see rcache.h. */
#include "rcache.h"

#include <errno.h>
#include <hiredis.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "clock.h"
#include "err.h"
#include "str.h"

#define MAGIC "BC1"
#define HDR_LEN (3 + 1 + 8 + 32)
#define FLAG_ZLIB 1
#define COMPRESS_MIN 512
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct conn {
	pthread_mutex_t mu;
	redisContext *ctx;
};

struct rcache {
	char host[256];
	int port;
	char *password;
	uint8_t key[64];
	size_t key_len;
	EVP_MAC *hmac; /* fetched once; shareable between threads */
	int64_t timeout_ms;
	void (*on_state)(bool up, const char *msg, void *arg);
	void *state_arg;

	struct conn *pool;
	size_t npool;
	unsigned next;

	pthread_mutex_t state_mu; /* up, backoff, retry time, stats */
	bool up;
	int64_t backoff_ms;
	int64_t retry_at_ms;
	struct rcache_stats stats;
};

static int parse_addr(const char *addr, char *host, size_t hsize, int *port)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;

	if (!colon || colon == addr || (size_t)(colon - addr) >= hsize)
		return err_set(BERR_INVALID, "redis address \"%s\": want HOST:PORT", addr ? addr : "");
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (str_to_int(colon + 1, 1, 65535, port) < 0)
		return err_set(BERR_INVALID, "redis address \"%s\": bad port", addr);
	return 0;
}

int rcache_new(const struct rcache_opts *o, struct rcache **ret)
{
	struct rcache *rc = calloc(1, sizeof(*rc));
	int r;

	if (!rc)
		return err_set(BERR_NOMEM, "out of memory");
	if ((r = parse_addr(o->addr, rc->host, sizeof(rc->host), &rc->port)) < 0)
		goto fail;
	if (!o->hmac_key || o->hmac_key_len < 16 || o->hmac_key_len > sizeof(rc->key)) {
		r = err_set(BERR_INVALID, "cache signing key must be 16..64 bytes");
		goto fail;
	}
	memcpy(rc->key, o->hmac_key, o->hmac_key_len);
	if (!(rc->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL))) {
		r = err_set(BERR_INTERNAL, "HMAC not available");
		goto fail;
	}
	rc->key_len = o->hmac_key_len;
	if (o->password && !(rc->password = strdup(o->password))) {
		r = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	rc->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1000;
	rc->on_state = o->on_state;
	rc->state_arg = o->state_arg;
	rc->npool = o->pool_size ? o->pool_size : 4;
	if (!(rc->pool = calloc(rc->npool, sizeof(*rc->pool)))) {
		r = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < rc->npool; i++)
		pthread_mutex_init(&rc->pool[i].mu, NULL);
	pthread_mutex_init(&rc->state_mu, NULL);
	rc->up = true;
	rc->backoff_ms = BACKOFF_MIN_MS;
	*ret = rc;
	return 0;
fail:
	EVP_MAC_free(rc->hmac);
	free(rc->password);
	free(rc);
	return r;
}

void rcache_free(struct rcache *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->npool; i++) {
		if (rc->pool[i].ctx)
			redisFree(rc->pool[i].ctx);
		pthread_mutex_destroy(&rc->pool[i].mu);
	}
	free(rc->pool);
	pthread_mutex_destroy(&rc->state_mu);
	if (rc->password) {
		explicit_bzero(rc->password, strlen(rc->password));
		free(rc->password);
	}
	explicit_bzero(rc->key, sizeof(rc->key));
	EVP_MAC_free(rc->hmac);
	free(rc);
}

static void mark_down(struct rcache *rc, const char *why)
{
	bool changed;

	pthread_mutex_lock(&rc->state_mu);
	changed = rc->up;
	if (!changed)
		rc->backoff_ms = rc->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : rc->backoff_ms * 2;
	rc->up = false;
	rc->retry_at_ms = clock_mono_ms() + rc->backoff_ms;
	rc->stats.errors++;
	pthread_mutex_unlock(&rc->state_mu);
	if (changed && rc->on_state)
		rc->on_state(false, why, rc->state_arg);
}

static void mark_up(struct rcache *rc)
{
	bool changed;

	pthread_mutex_lock(&rc->state_mu);
	changed = !rc->up;
	rc->up = true;
	rc->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_unlock(&rc->state_mu);
	if (changed && rc->on_state)
		rc->on_state(true, "redis reachable", rc->state_arg);
}

bool rcache_up(struct rcache *rc)
{
	bool up;
	pthread_mutex_lock(&rc->state_mu);
	up = rc->up;
	pthread_mutex_unlock(&rc->state_mu);
	return up;
}

void rcache_get_stats(struct rcache *rc, struct rcache_stats *out)
{
	pthread_mutex_lock(&rc->state_mu);
	*out = rc->stats;
	pthread_mutex_unlock(&rc->state_mu);
}

static void count(struct rcache *rc, uint64_t *field)
{
	pthread_mutex_lock(&rc->state_mu);
	(*field)++;
	pthread_mutex_unlock(&rc->state_mu);
}

/* A connected, authenticated context, or NULL (error recorded). */
static redisContext *connect_redis(struct rcache *rc)
{
	struct timeval tv = {.tv_sec = rc->timeout_ms / 1000, .tv_usec = (rc->timeout_ms % 1000) * 1000};
	redisContext *ctx;
	redisReply *r;
	bool down;

	pthread_mutex_lock(&rc->state_mu);
	down = !rc->up && clock_mono_ms() < rc->retry_at_ms;
	pthread_mutex_unlock(&rc->state_mu);
	if (down) {
		err_set(BERR_UNAVAILABLE, "redis %s:%d unavailable", rc->host, rc->port);
		return NULL;
	}
	ctx = redisConnectWithTimeout(rc->host, rc->port, tv);
	if (!ctx || ctx->err) {
		err_set(BERR_UNAVAILABLE, "redis %s:%d: %s", rc->host, rc->port, ctx ? ctx->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(ctx, tv);
	if (rc->password) {
		r = redisCommand(ctx, "AUTH %s", rc->password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			err_set(BERR_UNAVAILABLE, "redis %s:%d: authentication failed", rc->host, rc->port);
			if (r)
				freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	mark_up(rc);
	return ctx;
fail:
	if (ctx)
		redisFree(ctx);
	mark_down(rc, err_msg());
	err_set(BERR_UNAVAILABLE, "redis %s:%d unavailable", rc->host, rc->port);
	return NULL;
}

static struct conn *take_conn(struct rcache *rc)
{
	for (size_t i = 0; i < rc->npool; i++)
		if (pthread_mutex_trylock(&rc->pool[i].mu) == 0)
			return &rc->pool[i];
	struct conn *c = &rc->pool[__atomic_fetch_add(&rc->next, 1, __ATOMIC_RELAXED) % rc->npool];
	pthread_mutex_lock(&c->mu);
	return c;
}

/* Runs one command (argv form); returns the reply (caller frees) or NULL
 * with BERR_UNAVAILABLE recorded. */
static redisReply *command(struct rcache *rc, int argc, const char **argv, const size_t *lens)
{
	struct conn *c = take_conn(rc);
	redisReply *r = NULL;

	if (!c->ctx && !(c->ctx = connect_redis(rc)))
		goto out;
	r = redisCommandArgv(c->ctx, argc, argv, lens);
	if (!r) {
		char why[256];
		str_copy(why, c->ctx->errstr, sizeof(why));
		redisFree(c->ctx);
		c->ctx = NULL;
		mark_down(rc, why);
		err_set(BERR_UNAVAILABLE, "redis %s:%d: %s", rc->host, rc->port, why);
	} else if (r->type == REDIS_REPLY_ERROR) {
		err_set(BERR_UNAVAILABLE, "redis: %.200s", r->str);
		count(rc, &rc->stats.errors);
		freeReplyObject(r);
		r = NULL;
	}
out:
	pthread_mutex_unlock(&c->mu);
	return r;
}

static char *full_key(const char *key)
{
	char *k = str_printf(RCACHE_PREFIX "%s", key);
	if (!k)
		err_set(BERR_NOMEM, "out of memory");
	return k;
}

static void sign(const struct rcache *rc, const char *key, const uint8_t *hdr9, const void *payload, size_t len,
		 uint8_t mac[32])
{
	static char digest[] = "SHA256";
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
			       OSSL_PARAM_construct_end()};
	EVP_MAC_CTX *h = EVP_MAC_CTX_new(rc->hmac);
	size_t ml = 0;

	memset(mac, 0, 32);
	if (!h)
		return;
	if (EVP_MAC_init(h, rc->key, rc->key_len, params) == 1) {
		EVP_MAC_update(h, (const unsigned char *)key, strlen(key) + 1);
		EVP_MAC_update(h, hdr9, 9); /* flags + original length */
		EVP_MAC_update(h, payload, len);
		EVP_MAC_final(h, mac, &ml, 32);
	}
	EVP_MAC_CTX_free(h);
}

int rcache_set(struct rcache *rc, const char *key, const void *data, size_t len, int64_t ttl_s)
{
	uint8_t *env = NULL;
	size_t plen = len;
	uint8_t flags = 0;
	char *k = full_key(key), ttl[32];
	int rc_ = 0;

	if (!k)
		return BERR_NOMEM;
	uLongf clen = compressBound((uLong)len);
	env = malloc(HDR_LEN + (clen > len ? clen : len));
	if (!env) {
		rc_ = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if (len >= COMPRESS_MIN && compress2(env + HDR_LEN, &clen, data, (uLong)len, 1) == Z_OK && clen < len) {
		flags = FLAG_ZLIB;
		plen = clen;
	} else {
		memcpy(env + HDR_LEN, data, len);
	}
	memcpy(env, MAGIC, 3);
	env[3] = flags;
	for (int i = 0; i < 8; i++)
		env[4 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	sign(rc, k, env + 3, env + HDR_LEN, plen, env + 12);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
	const char *argv[5] = {"SET", k, (const char *)env, "EX", ttl};
	size_t lens[5] = {3, strlen(k), HDR_LEN + plen, 2, strlen(ttl)};
	redisReply *r = command(rc, ttl_s > 0 ? 5 : 3, argv, lens);
	if (!r)
		rc_ = BERR_UNAVAILABLE;
	else {
		freeReplyObject(r);
		count(rc, &rc->stats.sets);
	}
out:
	free(env);
	free(k);
	return rc_;
}

/* Runs "verb KEY" (value NULL) or "verb KEY value" on our prefixed key,
 * ignoring the reply: 0, BERR_NOMEM, BERR_UNAVAILABLE. */
static int keyed_command(struct rcache *rc, const char *verb, const char *key, const void *value, size_t len)
{
	char *k = full_key(key);
	if (!k)
		return BERR_NOMEM;
	const char *argv[3] = {verb, k, value};
	size_t lens[3] = {strlen(verb), strlen(k), len};
	redisReply *r = command(rc, value ? 3 : 2, argv, lens);
	free(k);
	if (!r)
		return BERR_UNAVAILABLE;
	freeReplyObject(r);
	return 0;
}

int rcache_set_raw(struct rcache *rc, const char *key, const void *data, size_t len)
{
	return keyed_command(rc, "SET", key, data ? data : "", len);
}

/* Checks an envelope and appends its payload to out. */
static int open_envelope(struct rcache *rc, const char *k, const uint8_t *env, size_t n, struct buf *out)
{
	uint8_t mac[32];
	uint64_t orig = 0;

	if (n < HDR_LEN || memcmp(env, MAGIC, 3))
		return BERR_NOTFOUND;
	sign(rc, k, env + 3, env + HDR_LEN, n - HDR_LEN, mac);
	if (!str_secure_eq(mac, 32, env + 12, 32))
		return BERR_NOTFOUND;
	for (int i = 0; i < 8; i++)
		orig = (orig << 8) | env[4 + i];
	if (!(env[3] & FLAG_ZLIB))
		return orig == n - HDR_LEN ? buf_append(out, env + HDR_LEN, n - HDR_LEN) : BERR_NOTFOUND;
	if (orig > out->max - out->len)
		return err_set(BERR_TOOLARGE, "cached value of %llu bytes passes the limit", (unsigned long long)orig);
	int r = buf_grow(out, (size_t)orig);
	if (r < 0)
		return r;
	uLongf dl = (uLongf)orig;
	if (uncompress((Bytef *)out->ptr + out->len, &dl, env + HDR_LEN, (uLong)(n - HDR_LEN)) != Z_OK || dl != orig)
		return BERR_NOTFOUND;
	out->len += dl;
	out->ptr[out->len] = '\0';
	return 0;
}

/* GET or GETDEL (cmd) of key into out, verified. */
static int get_cmd(struct rcache *rc, const char *cmd, const char *key, struct buf *out)
{
	char *k = full_key(key);
	size_t before = out->len;
	int r;

	if (!k)
		return BERR_NOMEM;
	const char *argv[2] = {cmd, k};
	size_t lens[2] = {strlen(cmd), strlen(k)};
	redisReply *rep = command(rc, 2, argv, lens);
	if (!rep) {
		free(k);
		return BERR_UNAVAILABLE;
	}
	if (rep->type != REDIS_REPLY_STRING) {
		count(rc, &rc->stats.misses);
		r = err_set(BERR_NOTFOUND, "cache miss");
	} else if ((r = open_envelope(rc, k, (const uint8_t *)rep->str, rep->len, out)) == 0) {
		count(rc, &rc->stats.hits);
	} else {
		buf_truncate(out, before);
		if (r == BERR_NOTFOUND) {
			count(rc, &rc->stats.rejected);
			count(rc, &rc->stats.misses);
			err_set(BERR_NOTFOUND, "cache entry rejected (bad signature or corrupt)");
		}
	}
	freeReplyObject(rep);
	free(k);
	return r;
}

int rcache_get(struct rcache *rc, const char *key, struct buf *out)
{
	return get_cmd(rc, "GET", key, out);
}

int rcache_take(struct rcache *rc, const char *key, struct buf *out)
{
	return get_cmd(rc, "GETDEL", key, out);
}

int rcache_del(struct rcache *rc, const char *key)
{
	return keyed_command(rc, "DEL", key, NULL, 0);
}

int rcache_publish(struct rcache *rc, const char *channel, const void *msg, size_t len)
{
	return keyed_command(rc, "PUBLISH", channel, msg ? msg : "", len);
}

static void deliver(redisReply *r, rcache_message_fn cb, void *arg)
{
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
	    !strcmp(r->element[0]->str, "message") && r->element[2]->type == REDIS_REPLY_STRING)
		cb(r->element[2]->str, r->element[2]->len, arg);
}

int rcache_subscribe(struct rcache *rc, const char *channel, rcache_message_fn cb, void *arg,
		     volatile bool *stop)
{
	char *k = full_key(channel);
	redisContext *ctx = NULL;

	if (!k)
		return BERR_NOMEM;
	while (!*stop) {
		if (!ctx) {
			ctx = connect_redis(rc);
			if (ctx) {
				redisReply *r = redisCommand(ctx, "SUBSCRIBE %s", k);
				if (!r) {
					redisFree(ctx);
					ctx = NULL;
				} else
					freeReplyObject(r);
			}
			if (!ctx) {
				clock_sleep_ms(200);
				continue;
			}
		}
		struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
		int pr = poll(&p, 1, 200);
		if (pr <= 0)
			continue;
		void *reply = NULL;
		if (redisBufferRead(ctx) != REDIS_OK) {
			mark_down(rc, ctx->errstr);
			redisFree(ctx);
			ctx = NULL;
			continue;
		}
		while (redisGetReplyFromReader(ctx, &reply) == REDIS_OK && reply) {
			deliver(reply, cb, arg);
			freeReplyObject(reply);
			reply = NULL;
		}
	}
	if (ctx)
		redisFree(ctx);
	free(k);
	return 0;
}
