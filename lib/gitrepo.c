/* gitrepo — see gitrepo.h. */
#include "gitrepo.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "semver.h"
#include "str.h"

#define LS_REMOTE_TTL_MS (3 * 60 * 1000)
#define DEFAULT_TIMEOUT_MS 90000

struct ref {
	char *name;
	char sha[41];
};

struct reflist {
	struct ref *v;
	size_t n;
};

struct repo_entry {
	struct repo_entry *next;
	char *url;
	char *dir;
	pthread_mutex_t fetch_lock; /* one fetch at a time per repository */
	/* ls-remote cache (guarded by the cache's lock) */
	uint8_t lsr_creds[32];
	int64_t lsr_at;
	struct reflist lsr;
};

struct gitrepo_cache {
	char *dir;
	int64_t timeout_ms;
	pthread_mutex_t lock; /* repos list, ls-remote caches, stats */
	struct repo_entry *repos;
	struct gitrepo_stats stats;
};

/* What the libgit2 callbacks of one network operation share. */
struct net_state {
	const struct gitrepo_creds *creds;
	int64_t deadline;
	int attempts;
	bool auth_failed;
	bool cert_rejected;
	bool timed_out;
};

static pthread_once_t libgit2_once = PTHREAD_ONCE_INIT;

static void libgit2_setup(void)
{
	git_libgit2_init();
	/* Our bare caches are ours; don't let a global safe.directory
	 * ownership check or the user's ~/.gitconfig change behaviour. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
}

static void reflist_release(struct reflist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int reflist_copy(const struct reflist *src, struct reflist *dst)
{
	dst->v = calloc(src->n ? src->n : 1, sizeof(*dst->v));
	dst->n = 0;
	if (!dst->v)
		return err_set(BERR_NOMEM, "out of memory");
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].name = strdup(src->v[i].name);
		if (!dst->v[i].name) {
			reflist_release(dst);
			return err_set(BERR_NOMEM, "out of memory");
		}
		memcpy(dst->v[i].sha, src->v[i].sha, 41);
		dst->n++;
	}
	return 0;
}

void gitrepo_redact_url(const char *url, char *out, size_t size)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *slash = strchr(host, '/');
	const char *at = strchr(host, '@');

	if (scheme && at && (!slash || at < slash)) {
		struct buf b;
		buf_init(&b, size ? size - 1 : 0);
		buf_append(&b, url, (size_t)(host - url));
		buf_puts(&b, at + 1);
		str_copy(out, b.ptr, size);
		buf_release(&b);
		return;
	}
	str_copy(out, url, size);
}

int gitrepo_cache_new(const char *dir, int64_t timeout_ms, struct gitrepo_cache **ret)
{
	struct gitrepo_cache *c;

	pthread_once(&libgit2_once, libgit2_setup);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(BERR_IO, "cache dir \"%s\": %s", dir, strerror(errno));
	c = calloc(1, sizeof(*c));
	if (!c || !(c->dir = strdup(dir))) {
		free(c);
		return err_set(BERR_NOMEM, "out of memory");
	}
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	pthread_mutex_init(&c->lock, NULL);
	*ret = c;
	return 0;
}

void gitrepo_cache_free(struct gitrepo_cache *c)
{
	if (!c)
		return;
	while (c->repos) {
		struct repo_entry *e = c->repos;
		c->repos = e->next;
		pthread_mutex_destroy(&e->fetch_lock);
		reflist_release(&e->lsr);
		free(e->url);
		free(e->dir);
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
}

void gitrepo_get_stats(struct gitrepo_cache *c, struct gitrepo_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The entry for url, creating it (and its bare clone) on first use. */
static int get_entry(struct gitrepo_cache *c, const char *url, struct repo_entry **ret)
{
	struct repo_entry *e;
	uint8_t md[32];
	char name[65];
	int rc = 0;

	if (!url || !*url || strlen(url) > 2048 || strpbrk(url, "\n\r "))
		return err_set(BERR_INVALID, "invalid repository URL");
	if (!str_starts_with(url, "https://") && !str_starts_with(url, "http://") &&
	    !str_starts_with(url, "ssh://") && !str_starts_with(url, "git://") &&
	    !(strchr(url, '@') && strchr(url, ':') && !strstr(url, "://")))
		return err_set(BERR_INVALID, "repository URL \"%.100s\": only http(s), ssh and git URLs are allowed",
			       url);
	pthread_mutex_lock(&c->lock);
	for (e = c->repos; e; e = e->next)
		if (!strcmp(e->url, url))
			goto out;
	SHA256((const unsigned char *)url, strlen(url), md);
	hex(md, 16, name);
	e = calloc(1, sizeof(*e));
	if (!e || !(e->url = strdup(url)) || !(e->dir = str_printf("%s/%s.git", c->dir, name))) {
		if (e)
			free(e->url);
		free(e);
		e = NULL;
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	pthread_mutex_init(&e->fetch_lock, NULL);
	git_repository *repo = NULL;
	if (git_repository_open_bare(&repo, e->dir) < 0 && git_repository_init(&repo, e->dir, 1) < 0) {
		rc = err_set(BERR_IO, "cache clone \"%s\": %s", e->dir, git_error_last() ? git_error_last()->message : "?");
		pthread_mutex_destroy(&e->fetch_lock);
		free(e->url);
		free(e->dir);
		free(e);
		e = NULL;
		goto out;
	}
	git_repository_free(repo);
	e->next = c->repos;
	c->repos = e;
out:
	pthread_mutex_unlock(&c->lock);
	if (!rc)
		*ret = e;
	return rc;
}

static void creds_hash(const struct gitrepo_creds *cr, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *parts[3] = {cr ? cr->username : NULL, cr ? cr->password : NULL, cr ? cr->ssh_private_key : NULL};

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (int i = 0; i < 3; i++) {
		const char *p = parts[i] ? parts[i] : "";
		EVP_DigestUpdate(ctx, p, strlen(p) + 1);
	}
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

/* ---- libgit2 callbacks ---------------------------------------------- */

static int cred_cb(git_credential **out, const char *url, const char *user_from_url, unsigned int allowed,
		   void *payload)
{
	struct net_state *st = payload;
	const struct gitrepo_creds *cr = st->creds;
	(void)url;

	if (++st->attempts > 1) {
		st->auth_failed = true;
		return GIT_EUSER;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_MEMORY) && cr && cr->ssh_private_key)
		return git_credential_ssh_key_memory_new(out, user_from_url ? user_from_url : "git", NULL,
							 cr->ssh_private_key, NULL);
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && cr && cr->password)
		return git_credential_userpass_plaintext_new(
			out, cr->username && *cr->username ? cr->username : "git", cr->password);
	if ((allowed & GIT_CREDENTIAL_USERNAME) && user_from_url)
		return git_credential_username_new(out, user_from_url);
	st->auth_failed = true;
	return GIT_EUSER;
}

/* True when known_hosts text lists host with exactly this raw key. */
static bool known_host_matches(const char *known, const char *host, const unsigned char *key, size_t keylen)
{
	const char *line = known;

	while (line && *line) {
		const char *eol = strchrnul(line, '\n');
		char hosts[512], type[64], b64[8192];
		struct buf l;
		buf_init(&l, 16384);
		if (buf_append(&l, line, (size_t)(eol - line)) == 0 && l.ptr[0] != '#' &&
		    sscanf(l.ptr, "%511s %63s %8191s", hosts, type, b64) == 3) {
			bool host_ok = false;
			for (char *h = hosts, *sp; h && *h; h = sp) {
				sp = strchr(h, ',');
				if (sp)
					*sp++ = '\0';
				if (!strcmp(h, host))
					host_ok = true;
			}
			unsigned char raw[6144];
			size_t blen = strlen(b64);
			if (host_ok && blen / 4 * 3 <= sizeof(raw)) {
				int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)blen);
				size_t pad = (blen >= 1 && b64[blen - 1] == '=') + (blen >= 2 && b64[blen - 2] == '=');
				if (n >= 0 && (size_t)n - pad == keylen && !memcmp(raw, key, keylen)) {
					buf_release(&l);
					return true;
				}
			}
		}
		buf_release(&l);
		line = *eol ? eol + 1 : NULL;
	}
	return false;
}

static int cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct net_state *st = payload;
	const struct gitrepo_creds *cr = st->creds;

	if (cr && cr->insecure)
		return 0;
	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
		if (cr && cr->ssh_known_hosts && (hk->type & GIT_CERT_SSH_RAW) &&
		    known_host_matches(cr->ssh_known_hosts, host, (const unsigned char *)hk->hostkey, hk->hostkey_len))
			return 0;
		st->cert_rejected = true;
		return GIT_ECERTIFICATE;
	}
	if (valid)
		return 0;
	st->cert_rejected = true;
	return GIT_ECERTIFICATE;
}

static int transfer_cb(const git_indexer_progress *stats, void *payload)
{
	struct net_state *st = payload;
	(void)stats;
	if (clock_mono_ms() > st->deadline) {
		st->timed_out = true;
		return GIT_EUSER;
	}
	return 0;
}

static int sideband_cb(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return transfer_cb(NULL, payload);
}

static void init_callbacks(git_remote_callbacks *cbs, struct net_state *st)
{
	git_remote_init_callbacks(cbs, GIT_REMOTE_CALLBACKS_VERSION);
	cbs->credentials = cred_cb;
	cbs->certificate_check = cert_cb;
	cbs->transfer_progress = transfer_cb;
	cbs->sideband_progress = sideband_cb;
	cbs->payload = st;
}

/* Turns a libgit2 failure of a network operation into a BERR code and a
 * message with no credentials in it. */
static int net_error(int gerr, const struct net_state *st, const char *what, const char *url)
{
	const git_error *ge = git_error_last();
	char safe_url[512];
	struct buf msg;
	int code;

	gitrepo_redact_url(url, safe_url, sizeof(safe_url));
	if (st->timed_out)
		return err_set(BERR_TIMEOUT, "%s \"%s\": timed out", what, safe_url);
	if (st->auth_failed || gerr == GIT_EAUTH ||
	    (ge && (strstr(ge->message, "401") || strstr(ge->message, "authentication") ||
		    strstr(ge->message, "Authentication")))) {
		code = err_set(BERR_UNAUTHORIZED, "%s \"%s\": authentication failed", what, safe_url);
		err_set_status(401, "Unauthorized");
		return code;
	}
	if (st->cert_rejected || gerr == GIT_ECERTIFICATE)
		return err_set(BERR_FORBIDDEN, "%s \"%s\": server certificate or host key not trusted", what, safe_url);
	/* libgit2's message may quote the URL; scrub what could be secret. */
	buf_init(&msg, 1024);
	buf_puts(&msg, ge ? ge->message : "unknown error");
	if (st->creds && st->creds->password && *st->creds->password) {
		char *hit;
		while ((hit = strstr(msg.ptr, st->creds->password)))
			memset(hit, '*', strlen(st->creds->password));
	}
	if (strstr(url, "@") && strcmp(url, safe_url)) {
		char *hit;
		while ((hit = strstr(msg.ptr, url)))
			memset(hit, '*', strlen(url));
	}
	code = gerr == GIT_ENOTFOUND ? BERR_NOTFOUND : BERR_UNAVAILABLE;
	if (ge && ge->klass == GIT_ERROR_HTTP && strstr(ge->message, "404"))
		code = BERR_NOTFOUND;
	err_set(code, "%s \"%s\": %s", what, safe_url, msg.ptr);
	buf_release(&msg);
	return code;
}

/* ---- network operations -------------------------------------------- */

static int open_repo(const struct repo_entry *e, git_repository **ret)
{
	if (git_repository_open_bare(ret, e->dir) < 0)
		return err_set(BERR_IO, "cache clone \"%s\": %s", e->dir,
			       git_error_last() ? git_error_last()->message : "cannot open");
	return 0;
}

static int ls_remote_net(struct gitrepo_cache *c, struct repo_entry *e, const struct gitrepo_creds *creds,
			 struct reflist *out)
{
	struct net_state st = {.creds = creds, .deadline = clock_mono_ms() + c->timeout_ms};
	git_remote_callbacks cbs;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	const git_remote_head **heads;
	size_t n;
	int rc, g;

	if ((rc = open_repo(e, &repo)) < 0)
		return rc;
	init_callbacks(&cbs, &st);
	if ((g = git_remote_create_anonymous(&remote, repo, e->url)) < 0 ||
	    (g = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cbs, NULL, NULL)) < 0 ||
	    (g = git_remote_ls(&heads, &n, remote)) < 0) {
		rc = net_error(g, &st, "list refs of", e->url);
		goto out;
	}
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	out->n = 0;
	if (!out->v) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(out->v[i].name = strdup(heads[i]->name))) {
			reflist_release(out);
			rc = err_set(BERR_NOMEM, "out of memory");
			goto out;
		}
		git_oid_tostr(out->v[i].sha, 41, &heads[i]->oid);
		out->n++;
	}
out:
	if (remote)
		git_remote_disconnect(remote);
	git_remote_free(remote);
	git_repository_free(repo);
	pthread_mutex_lock(&c->lock);
	c->stats.ls_remotes++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* The remote's refs, from the 3-minute cache unless fresh. */
static int ls_remote(struct gitrepo_cache *c, struct repo_entry *e, const struct gitrepo_creds *creds, bool fresh,
		     struct reflist *out)
{
	uint8_t ch[32];
	struct reflist got = {0};
	int rc;

	creds_hash(creds, ch);
	pthread_mutex_lock(&c->lock);
	if (!fresh && e->lsr.v && !memcmp(ch, e->lsr_creds, 32) && clock_mono_ms() - e->lsr_at < LS_REMOTE_TTL_MS) {
		rc = reflist_copy(&e->lsr, out);
		c->stats.ls_remote_hits++;
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	pthread_mutex_unlock(&c->lock);
	if ((rc = ls_remote_net(c, e, creds, &got)) < 0)
		return rc;
	pthread_mutex_lock(&c->lock);
	reflist_release(&e->lsr);
	if (reflist_copy(&got, &e->lsr) == 0) {
		memcpy(e->lsr_creds, ch, 32);
		e->lsr_at = clock_mono_ms();
	}
	pthread_mutex_unlock(&c->lock);
	*out = got;
	return 0;
}

static int fetch_net(struct gitrepo_cache *c, struct repo_entry *e, const struct gitrepo_creds *creds)
{
	struct net_state st = {.creds = creds, .deadline = clock_mono_ms() + c->timeout_ms};
	git_fetch_options opts;
	static char spec_heads[] = "+refs/heads/*:refs/heads/*", spec_tags[] = "+refs/tags/*:refs/tags/*";
	char *specs[] = {spec_heads, spec_tags};
	git_strarray refspecs = {specs, 2};
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	int rc, g;

	if ((rc = open_repo(e, &repo)) < 0)
		return rc;
	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	init_callbacks(&opts.callbacks, &st);
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	opts.update_fetchhead = 0;
	if ((g = git_remote_create_anonymous(&remote, repo, e->url)) < 0 ||
	    (g = git_remote_fetch(remote, &refspecs, &opts, NULL)) < 0)
		rc = net_error(g, &st, "fetch", e->url);
	git_remote_free(remote);
	git_repository_free(repo);
	pthread_mutex_lock(&c->lock);
	c->stats.fetches++;
	if (rc < 0)
		c->stats.fetch_errors++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- local lookups --------------------------------------------------- */

/* Finds an object by full or abbreviated hex and peels it to a commit. 0 with
 * out set, BERR_NOTFOUND, BERR_INVALID (ambiguous or not a commit). */
static int local_commit(const struct repo_entry *e, const char *hexid, char out[41])
{
	git_repository *repo = NULL;
	git_object *obj = NULL, *peeled = NULL;
	git_oid oid;
	size_t len = strlen(hexid);
	int rc, g;

	if ((rc = open_repo(e, &repo)) < 0)
		return rc;
	if (git_oid_fromstrn(&oid, hexid, len) < 0) {
		rc = err_set(BERR_INVALID, "\"%s\" is not a commit id", hexid);
		goto out;
	}
	g = git_object_lookup_prefix(&obj, repo, &oid, len, GIT_OBJECT_ANY);
	if (g == GIT_EAMBIGUOUS) {
		rc = err_set(BERR_INVALID, "commit id \"%s\" is ambiguous", hexid);
		goto out;
	}
	if (g < 0) {
		rc = BERR_NOTFOUND;
		goto out;
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		rc = err_set(BERR_INVALID, "\"%s\" does not name a commit", hexid);
		goto out;
	}
	git_oid_tostr(out, 41, git_object_id(peeled));
out:
	git_object_free(peeled);
	git_object_free(obj);
	git_repository_free(repo);
	return rc;
}

/* Makes sure the object hexid is in the cache, fetching once if needed;
 * returns the commit it peels to. */
static int ensure_commit(struct gitrepo_cache *c, struct repo_entry *e, const struct gitrepo_creds *creds,
			 const char *hexid, bool force_fetch, char out[41])
{
	int rc;
	char safe_url[512];

	if (!force_fetch && (rc = local_commit(e, hexid, out)) != BERR_NOTFOUND)
		return rc;
	pthread_mutex_lock(&e->fetch_lock);
	/* Someone may have fetched it while we waited. */
	rc = local_commit(e, hexid, out);
	if (rc == BERR_NOTFOUND || (force_fetch && rc == 0 && strlen(hexid) < 40)) {
		rc = fetch_net(c, e, creds);
		if (rc == 0)
			rc = local_commit(e, hexid, out);
	}
	pthread_mutex_unlock(&e->fetch_lock);
	if (rc == BERR_NOTFOUND) {
		gitrepo_redact_url(e->url, safe_url, sizeof(safe_url));
		return err_set(BERR_NOTFOUND, "revision \"%s\" not found in \"%s\"", hexid, safe_url);
	}
	return rc;
}

static bool is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The SHA a ref name resolves to in refs (peeled entry preferred). */
static const char *find_ref(const struct reflist *refs, const char *name)
{
	const char *plain = NULL;
	size_t n = strlen(name);

	for (size_t i = 0; i < refs->n; i++) {
		const char *r = refs->v[i].name;
		if (!strncmp(r, name, n) && !strcmp(r + n, "^{}"))
			return refs->v[i].sha;
		if (!strcmp(r, name))
			plain = refs->v[i].sha;
	}
	return plain;
}

static int resolve_semver(const struct reflist *refs, const char *constraint, char **ret_tag)
{
	const char **names = calloc(refs->n ? refs->n : 1, sizeof(*names));
	size_t n = 0, idx;
	int rc;

	if (!names)
		return err_set(BERR_NOMEM, "out of memory");
	for (size_t i = 0; i < refs->n; i++)
		if (str_starts_with(refs->v[i].name, "refs/tags/") && !str_ends_with(refs->v[i].name, "^{}"))
			names[n++] = refs->v[i].name + strlen("refs/tags/");
	rc = semver_max_satisfying(constraint, names, n, &idx);
	if (rc == 0 && !(*ret_tag = str_printf("refs/tags/%s", names[idx])))
		rc = err_set(BERR_NOMEM, "out of memory");
	free(names);
	return rc;
}

int gitrepo_resolve(struct gitrepo_cache *c, const char *url, const struct gitrepo_creds *creds,
		    const char *revision, bool fresh, char out[41])
{
	struct repo_entry *e;
	struct reflist refs = {0};
	const char *rev = revision && *revision ? revision : "HEAD";
	char safe_url[512], sha[41];
	const char *hit = NULL;
	char *name = NULL;
	int rc;

	if ((rc = get_entry(c, url, &e)) < 0)
		return rc;
	if (strlen(rev) > 255 || strpbrk(rev, "\n\r\t\\") || strstr(rev, ".."))
		return err_set(BERR_INVALID, "invalid revision");
	if (is_hex(rev, 40, 40)) {
		char lower[41];
		for (int i = 0; i < 41; i++)
			lower[i] = (char)tolower((unsigned char)rev[i]);
		rc = ensure_commit(c, e, creds, lower, false, sha);
		goto done;
	}
	if ((rc = ls_remote(c, e, creds, fresh, &refs)) < 0)
		return rc;
	if (!strcmp(rev, "HEAD"))
		hit = find_ref(&refs, "HEAD");
	else if (str_starts_with(rev, "refs/"))
		hit = find_ref(&refs, rev);
	if (!hit && (name = str_printf("refs/heads/%s", rev))) {
		hit = find_ref(&refs, name);
		free(name);
	}
	if (!hit && (name = str_printf("refs/tags/%s", rev))) {
		hit = find_ref(&refs, name);
		free(name);
	}
	name = NULL;
	if (!hit && semver_is_constraint(rev)) {
		if ((rc = resolve_semver(&refs, rev, &name)) < 0 && rc != BERR_NOTFOUND)
			goto out;
		if (name)
			hit = find_ref(&refs, name);
	}
	if (hit) {
		rc = ensure_commit(c, e, creds, hit, false, sha);
	} else if (is_hex(rev, 4, 39)) {
		char lower[41];
		str_copy(lower, rev, sizeof(lower));
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		rc = ensure_commit(c, e, creds, lower, false, sha);
	} else {
		gitrepo_redact_url(url, safe_url, sizeof(safe_url));
		rc = err_set(BERR_NOTFOUND, "revision \"%s\" not found in \"%s\"", rev, safe_url);
	}
	goto out;
done:
out:
	free(name);
	reflist_release(&refs);
	if (rc == 0)
		memcpy(out, sha, 41);
	return rc;
}

/* ---- export ---------------------------------------------------------- */

struct pending_link {
	char *path;   /* relative to dest */
	char *target;
};

struct export_state {
	git_repository *repo;
	const char *dest;
	size_t max_files, files;
	uint64_t max_bytes, bytes;
	struct pending_link *links;
	size_t nlinks;
	int rc;
};

static bool bad_name(const char *name)
{
	return !*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') != NULL;
}

static int write_blob(struct export_state *st, const char *path, const git_oid *id, bool exec)
{
	git_blob *blob = NULL;
	int fd = -1, rc = 0;

	if (git_blob_lookup(&blob, st->repo, id) < 0)
		return err_set(BERR_IO, "read blob for \"%s\": %s", path, git_error_last()->message);
	git_object_size_t size = git_blob_rawsize(blob);
	if (size > st->max_bytes - st->bytes) {
		rc = err_set(BERR_TOOLARGE, "repository is larger than the %llu-byte limit",
			     (unsigned long long)st->max_bytes);
		goto out;
	}
	st->bytes += size;
	char *full = str_printf("%s/%s", st->dest, path);
	if (!full) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exec ? 0755 : 0644);
	free(full);
	if (fd < 0) {
		rc = err_set(BERR_IO, "write \"%s\": %s", path, strerror(errno));
		goto out;
	}
	const char *p = git_blob_rawcontent(blob);
	size_t left = (size_t)size;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = err_set(BERR_IO, "write \"%s\": %s", path, strerror(errno));
			goto out;
		}
		p += w;
		left -= (size_t)w;
	}
out:
	if (fd >= 0)
		close(fd);
	git_blob_free(blob);
	return rc;
}

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct export_state *st = payload;
	const char *name = git_tree_entry_name(entry);
	git_filemode_t mode = git_tree_entry_filemode(entry);
	char *rel = NULL;

	if (bad_name(name)) {
		st->rc = err_set(BERR_FORBIDDEN, "repository holds an invalid path \"%s%s\"", root, name);
		return -1;
	}
	if (mode == GIT_FILEMODE_COMMIT) /* submodule: not part of this tree */
		return 0;
	if (++st->files > st->max_files) {
		st->rc = err_set(BERR_TOOLARGE, "repository has more than %zu files", st->max_files);
		return -1;
	}
	if (!(rel = str_printf("%s%s", root, name))) {
		st->rc = err_set(BERR_NOMEM, "out of memory");
		return -1;
	}
	if (mode == GIT_FILEMODE_TREE) {
		char *full = str_printf("%s/%s", st->dest, rel);
		if (!full || mkdir(full, 0755) < 0)
			st->rc = err_set(BERR_IO, "mkdir \"%s\": %s", rel, full ? strerror(errno) : "out of memory");
		free(full);
	} else if (mode == GIT_FILEMODE_LINK) {
		git_blob *blob = NULL;
		struct pending_link *nl = realloc(st->links, (st->nlinks + 1) * sizeof(*nl));
		if (!nl || git_blob_lookup(&blob, st->repo, git_tree_entry_id(entry)) < 0 ||
		    git_blob_rawsize(blob) > PATH_MAX) {
			if (nl)
				st->links = nl;
			st->rc = err_set(BERR_INVALID, "symlink \"%s\" is unreadable", rel);
		} else {
			st->links = nl;
			nl[st->nlinks].path = rel;
			nl[st->nlinks].target = strndup(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
			rel = NULL;
			if (!nl[st->nlinks].target) {
				free(nl[st->nlinks].path);
				st->rc = err_set(BERR_NOMEM, "out of memory");
			} else
				st->nlinks++;
		}
		git_blob_free(blob);
	} else if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) {
		st->rc = write_blob(st, rel, git_tree_entry_id(entry), mode == GIT_FILEMODE_BLOB_EXECUTABLE);
	}
	free(rel);
	return st->rc < 0 ? -1 : 0;
}

/* Creates the symlinks (after all files, so no write went through one) and
 * checks each resolves inside dest. */
static int place_links(struct export_state *st)
{
	char root[PATH_MAX];
	int rc = 0;

	if (!realpath(st->dest, root))
		return err_set(BERR_IO, "export root: %s", strerror(errno));
	for (size_t i = 0; i < st->nlinks && !rc; i++) {
		char *full = str_printf("%s/%s", st->dest, st->links[i].path);
		if (!full)
			return err_set(BERR_NOMEM, "out of memory");
		if (symlink(st->links[i].target, full) < 0)
			rc = err_set(BERR_IO, "symlink \"%s\": %s", st->links[i].path, strerror(errno));
		free(full);
	}
	for (size_t i = 0; i < st->nlinks && !rc; i++) {
		bool inside = false;
		char *full = str_printf("%s/%s", st->dest, st->links[i].path);
		if (!full)
			return err_set(BERR_NOMEM, "out of memory");
		inside = fsx_link_stays_inside(root, full);
		free(full);
		if (!inside)
			rc = err_set(BERR_FORBIDDEN, "repository rejected: symlink \"%s\" points outside the repository root",
				     st->links[i].path);
	}
	return rc;
}

int gitrepo_export(struct gitrepo_cache *c, const char *url, const char *sha, const char *dest,
		   const struct gitrepo_limits *limits)
{
	struct export_state st = {.dest = dest};
	struct repo_entry *e;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_oid oid;
	int rc;

	st.max_files = limits && limits->max_files ? limits->max_files : 100000;
	st.max_bytes = limits && limits->max_bytes ? limits->max_bytes : (uint64_t)1 << 30;
	if ((rc = get_entry(c, url, &e)) < 0)
		return rc;
	if ((rc = open_repo(e, &st.repo)) < 0)
		return rc;
	if (!is_hex(sha, 40, 40) || git_oid_fromstr(&oid, sha) < 0 || git_commit_lookup(&commit, st.repo, &oid) < 0 ||
	    git_commit_tree(&tree, commit) < 0) {
		rc = err_set(BERR_NOTFOUND, "commit \"%s\" is not in the cache", sha);
		goto out;
	}
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &st) < 0) {
		rc = st.rc < 0 ? st.rc : err_set(BERR_IO, "export %s: %s", sha, git_error_last()->message);
		goto out;
	}
	rc = place_links(&st);
out:
	for (size_t i = 0; i < st.nlinks; i++) {
		free(st.links[i].path);
		free(st.links[i].target);
	}
	free(st.links);
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(st.repo);
	return rc;
}
