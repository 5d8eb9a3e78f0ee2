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

#include "b64.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "semver.h"
#include "str.h"
#include "subproc.h"

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
	pthread_mutex_t ls_lock;    /* one ref listing at a time per repository */
	/* ls-remote cache (guarded by the cache's lock) */
	uint8_t lsr_creds[32];
	int64_t lsr_at; /* when the cached listing started */
	unsigned users;    /* calls using it now (guarded by the cache's lock) */
	int64_t last_used; /* for eviction, least recently used first */
	struct reflist lsr;
};

struct gitrepo_cache {
	char *dir;
	int64_t timeout_ms;
	pthread_mutex_t lock; /* repos list, ls-remote caches, stats */
	struct repo_entry *repos;
	struct gitrepo_stats stats;
	struct gitrepo_ref_store store; /* get == NULL: none */
	size_t nrepos, max_repos;       /* max_repos 0: no bound */
	uint64_t evicted_seq;
};

static void entry_free(struct repo_entry *e);

static pthread_once_t libgit2_once = PTHREAD_ONCE_INIT;

static void libgit2_setup(void)
{
	git_libgit2_init();
	/* Our bare caches are ours; don't let a global safe.directory
	 * ownership check or the user's ~/.gitconfig change behaviour. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
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
		entry_free(e);
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

static void entry_free(struct repo_entry *e)
{
	pthread_mutex_destroy(&e->fetch_lock);
	pthread_mutex_destroy(&e->ls_lock);
	reflist_release(&e->lsr);
	free(e->url);
	free(e->dir);
	free(e);
}

void gitrepo_set_max_repos(struct gitrepo_cache *c, size_t max_repos)
{
	pthread_mutex_lock(&c->lock);
	c->max_repos = max_repos;
	pthread_mutex_unlock(&c->lock);
}

/* Takes the least recently used idle clone out of the cache (lock held);
 * its folder is renamed aside and returned for removal after unlocking. */
static char *evict_one(struct gitrepo_cache *c, const struct repo_entry *keep)
{
	struct repo_entry **pp, **victim = NULL;
	char *trash = NULL;

	for (pp = &c->repos; *pp; pp = &(*pp)->next)
		if (*pp != keep && (*pp)->users == 0 && (!victim || (*pp)->last_used < (*victim)->last_used))
			victim = pp;
	if (!victim)
		return NULL;
	struct repo_entry *e = *victim;
	*victim = e->next;
	c->nrepos--;
	c->stats.evictions++;
	trash = str_printf("%s.evicted.%llu", e->dir, (unsigned long long)++c->evicted_seq);
	if (trash && rename(e->dir, trash) < 0) {
		free(trash);
		trash = NULL;
	}
	entry_free(e);
	return trash;
}

static void put_entry(struct gitrepo_cache *c, struct repo_entry *e)
{
	pthread_mutex_lock(&c->lock);
	e->users--;
	pthread_mutex_unlock(&c->lock);
}

/* The entry for url, creating it (and its bare clone) on first use; the
 * caller holds it (put_entry) so it is not evicted meanwhile. */
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
	char *trash = NULL;
	pthread_mutex_lock(&c->lock);
	for (e = c->repos; e; e = e->next)
		if (!strcmp(e->url, url))
			goto out;
	SHA256((const unsigned char *)url, strlen(url), md);
	str_hex(md, 16, name);
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
	pthread_mutex_init(&e->ls_lock, NULL);
	git_repository *repo = NULL;
	if (git_repository_open_bare(&repo, e->dir) < 0 && git_repository_init(&repo, e->dir, 1) < 0) {
		rc = err_set(BERR_IO, "cache clone \"%s\": %s", e->dir, git_error_last() ? git_error_last()->message : "?");
		pthread_mutex_destroy(&e->fetch_lock);
		pthread_mutex_destroy(&e->ls_lock);
		free(e->url);
		free(e->dir);
		free(e);
		e = NULL;
		goto out;
	}
	git_repository_free(repo);
	e->next = c->repos;
	c->repos = e;
	c->nrepos++;
	if (c->max_repos && c->nrepos > c->max_repos)
		trash = evict_one(c, e);
out:
	if (e) {
		e->users++;
		e->last_used = clock_mono_ms();
	}
	pthread_mutex_unlock(&c->lock);
	if (trash) {
		fsx_remove_tree(trash);
		free(trash);
	}
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
	EVP_DigestUpdate(ctx, cr && cr->insecure ? "1" : "0", 1);
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

/* ---- network: the git CLI ------------------------------------------------
 *
 * Fetching and listing refs run `git` as a subprocess rather than through
 * libgit2 (bench/RESULTS.md, "gitrepo fetch"): with the libgit2 1.5.1 that
 * Debian 12 ships every remote connection leaks about 250 KB (pcre2 match
 * data, fixed upstream after 1.5) — unbounded growth in a daemon that lists
 * refs every 3 minutes per repository — and libgit2 1.5 has no connect or
 * I/O timeout, while a subprocess gets a hard deadline and a process-group
 * kill. Speed is not the reason: libgit2 and the CLI fetch a 10k-commit,
 * 5k-file repository in about the same time. libgit2 still does all local
 * reading (revisions, trees, export).
 *
 * The child gets a fixed environment: no system or global git config, no
 * terminal prompts, only the http(s)/ssh/git transports (no ext:: or file::
 * helpers), credentials passed as an HTTP header through GIT_CONFIG_* or as
 * an SSH key file in a private folder — never on the command line, where
 * other local users could read them.
 */

struct git_env {
	char *vars[24];
	size_t n;
	char *tmpdir; /* private folder for an SSH key / known_hosts, or NULL */
};

static int env_add(struct git_env *g, char *s)
{
	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	if (g->n + 1 >= sizeof(g->vars) / sizeof(g->vars[0])) {
		free(s);
		return err_set(BERR_INTERNAL, "git environment too large");
	}
	g->vars[g->n++] = s;
	g->vars[g->n] = NULL;
	return 0;
}

static void git_env_release(struct git_env *g)
{
	for (size_t i = 0; i < g->n; i++) {
		explicit_bzero(g->vars[i], strlen(g->vars[i]));
		free(g->vars[i]);
	}
	if (g->tmpdir) {
		fsx_remove_tree(g->tmpdir);
		free(g->tmpdir);
	}
	memset(g, 0, sizeof(*g));
}

static int write_secret_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t len = strlen(data);
	bool nl = len && data[len - 1] != '\n';
	if (fd < 0)
		return err_set(BERR_IO, "write key file: %s", strerror(errno));
	if (write(fd, data, len) != (ssize_t)len || (nl && write(fd, "\n", 1) != 1)) {
		close(fd);
		return err_set(BERR_IO, "write key file: %s", strerror(errno));
	}
	close(fd);
	return 0;
}

/* The SSH key (and known_hosts) go to files in a private folder that
 * git_env_release removes; ssh reads them through GIT_SSH_COMMAND. */
static int ssh_env(const struct gitrepo_cache *c, const struct gitrepo_creds *cr, struct git_env *g)
{
	char *key = NULL, *kh = NULL;
	int rc;

	if ((rc = fsx_private_dir(c->dir, "ssh-", &g->tmpdir)) < 0)
		return rc;
	key = str_printf("%s/key", g->tmpdir);
	kh = str_printf("%s/known_hosts", g->tmpdir);
	if (!key || !kh)
		rc = err_set(BERR_NOMEM, "out of memory");
	if (!rc)
		rc = write_secret_file(key, cr->ssh_private_key);
	if (!rc)
		rc = write_secret_file(kh, cr->ssh_known_hosts ? cr->ssh_known_hosts : "");
	if (!rc)
		rc = env_add(g, str_printf("GIT_SSH_COMMAND=ssh -F /dev/null -i %s -o IdentitiesOnly=yes "
					   "-o BatchMode=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=%s "
					   "-o ConnectTimeout=30",
					   key, cr->insecure ? "/dev/null" : kh, cr->insecure ? "no" : "yes"));
	free(key);
	free(kh);
	return rc;
}

static int git_env_build(const struct gitrepo_cache *c, const struct gitrepo_creds *cr, struct git_env *g)
{
	const char *path = getenv("PATH");
	int rc, nconf = 0;
	const char *cfg_key[8];
	char *cfg_val[8] = {0};

	memset(g, 0, sizeof(*g));
	if ((rc = env_add(g, str_printf("PATH=%s", path ? path : "/usr/bin:/bin"))) < 0 ||
	    (rc = env_add(g, str_printf("HOME=%s", c->dir))) < 0 ||
	    (rc = env_add(g, str_printf("GIT_CONFIG_NOSYSTEM=1"))) < 0 ||
	    (rc = env_add(g, str_printf("GIT_CONFIG_GLOBAL=/dev/null"))) < 0 ||
	    (rc = env_add(g, str_printf("GIT_TERMINAL_PROMPT=0"))) < 0 ||
	    (rc = env_add(g, str_printf("GIT_ALLOW_PROTOCOL=http:https:ssh:git"))) < 0 ||
	    (rc = env_add(g, str_printf("LANG=C"))) < 0)
		goto fail;
	cfg_key[nconf] = "gc.auto";
	cfg_val[nconf++] = str_printf("0");
	cfg_key[nconf] = "http.lowSpeedLimit";
	cfg_val[nconf++] = str_printf("1000");
	cfg_key[nconf] = "http.lowSpeedTime";
	cfg_val[nconf++] = str_printf("30");
	if (cr && cr->password && *cr->password) {
		char *up = str_printf("%s:%s", cr->username && *cr->username ? cr->username : "git", cr->password);
		char *enc = up ? b64_encode(up, strlen(up), false) : NULL;
		if (up) {
			explicit_bzero(up, strlen(up));
			free(up);
		}
		cfg_key[nconf] = "http.extraHeader";
		cfg_val[nconf++] = enc ? str_printf("Authorization: Basic %s", enc) : NULL;
		if (enc) {
			explicit_bzero(enc, strlen(enc));
			free(enc);
		}
	}
	if (cr && cr->insecure) {
		cfg_key[nconf] = "http.sslVerify";
		cfg_val[nconf++] = str_printf("false");
	}
	if ((rc = env_add(g, str_printf("GIT_CONFIG_COUNT=%d", nconf))) < 0)
		goto fail;
	for (int i = 0; i < nconf; i++) {
		if (!cfg_val[i]) {
			rc = err_set(BERR_NOMEM, "out of memory");
			goto fail;
		}
		if ((rc = env_add(g, str_printf("GIT_CONFIG_KEY_%d=%s", i, cfg_key[i]))) < 0 ||
		    (rc = env_add(g, str_printf("GIT_CONFIG_VALUE_%d=%s", i, cfg_val[i]))) < 0)
			goto fail;
	}
	if (cr && cr->ssh_private_key && *cr->ssh_private_key && (rc = ssh_env(c, cr, g)) < 0)
		goto fail;
	for (int i = 0; i < nconf; i++)
		free(cfg_val[i]);
	return 0;
fail:
	for (int i = 0; i < nconf; i++)
		free(cfg_val[i]);
	git_env_release(g);
	return rc;
}

/* Replaces every occurrence of secret in b with asterisks. */
static void scrub(struct buf *b, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *hit;
	if (n < 3)
		return;
	while ((hit = memmem(b->ptr, b->len, secret, n)))
		memset(hit, '*', n);
}

/* Turns a failed git run into a BERR code and a message without secrets. */
static int git_failure(int rc, const struct subproc_result *r, const struct gitrepo_creds *cr, const char *what,
		       const char *url)
{
	char safe_url[512];
	struct buf msg;
	int code;

	gitrepo_redact_url(url, safe_url, sizeof(safe_url));
	if (rc == BERR_TIMEOUT)
		return err_set(BERR_TIMEOUT, "%s \"%s\": timed out", what, safe_url);
	if (rc < 0)
		return err_prefix(rc, "%s \"%s\"", what, safe_url);
	const char *e = r->err.ptr;
	if (strstr(e, "Authentication failed") || strstr(e, "could not read Username") ||
	    strstr(e, "could not read Password") || strstr(e, "terminal prompts disabled") ||
	    strstr(e, " 401") || strstr(e, "Permission denied (publickey")) {
		code = err_set(BERR_UNAUTHORIZED, "%s \"%s\": authentication failed", what, safe_url);
		err_set_status(401, "Unauthorized");
		return code;
	}
	if (strstr(e, "Host key verification failed") || strstr(e, "SSL certificate problem") ||
	    strstr(e, "certificate verification failed"))
		return err_set(BERR_FORBIDDEN, "%s \"%s\": server certificate or host key not trusted", what, safe_url);
	code = (strstr(e, "not found") || strstr(e, " 404") || strstr(e, "does not appear to be a git repository"))
		       ? BERR_NOTFOUND
		       : BERR_UNAVAILABLE;
	buf_init(&msg, 4096);
	const char *fatal = strstr(e, "fatal: ");
	buf_append(&msg, fatal ? fatal + 7 : e, strcspn(fatal ? fatal + 7 : e, "\n"));
	if (cr) {
		scrub(&msg, cr->password);
		scrub(&msg, cr->username && strlen(cr->username) > 3 ? cr->username : NULL);
	}
	if (strcmp(url, safe_url))
		scrub(&msg, url);
	err_set(code, "%s \"%s\": %s", what, safe_url, msg.len ? msg.ptr : "git failed");
	buf_release(&msg);
	return code;
}

static int run_git(const struct gitrepo_cache *c, const struct gitrepo_creds *cr, const char *const *argv,
		   const char *what, const char *url, struct subproc_result *r)
{
	struct git_env g;
	int rc;

	if ((rc = git_env_build(c, cr, &g)) < 0) {
		buf_init(&r->out, 0);
		buf_init(&r->err, 0);
		return rc;
	}
	struct subproc_opts so = {.argv = argv, .env = (const char *const *)g.vars, .timeout_ms = c->timeout_ms,
				  .max_output = (size_t)16 << 20};
	rc = subproc_run(&so, r);
	git_env_release(&g);
	if (rc < 0 || r->exit_code != 0)
		return git_failure(rc, r, cr, what, url);
	return 0;
}

static int open_repo(const struct repo_entry *e, git_repository **ret)
{
	if (git_repository_open_bare(ret, e->dir) < 0)
		return err_set(BERR_IO, "cache clone \"%s\": %s", e->dir,
			       git_error_last() ? git_error_last()->message : "cannot open");
	return 0;
}

static int parse_ls_remote(const char *text, struct reflist *out)
{
	size_t cap = 64;
	out->v = calloc(cap, sizeof(*out->v));
	out->n = 0;
	if (!out->v)
		return err_set(BERR_NOMEM, "out of memory");
	for (const char *line = text; *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *tab = memchr(line, '\t', (size_t)(eol - line));
		if (tab && tab - line == 40) {
			if (out->n == cap) {
				struct ref *nv = realloc(out->v, cap * 2 * sizeof(*nv));
				if (!nv) {
					reflist_release(out);
					return err_set(BERR_NOMEM, "out of memory");
				}
				out->v = nv;
				cap *= 2;
			}
			memcpy(out->v[out->n].sha, line, 40);
			out->v[out->n].sha[40] = '\0';
			if (!(out->v[out->n].name = strndup(tab + 1, (size_t)(eol - tab - 1)))) {
				reflist_release(out);
				return err_set(BERR_NOMEM, "out of memory");
			}
			out->n++;
		}
		line = *eol ? eol + 1 : eol;
	}
	return 0;
}

void gitrepo_set_ref_store(struct gitrepo_cache *c, const struct gitrepo_ref_store *store)
{
	pthread_mutex_lock(&c->lock);
	c->store = store ? *store : (struct gitrepo_ref_store){0};
	pthread_mutex_unlock(&c->lock);
}

/* Lists refs over the network; the raw listing goes to raw when not NULL. */
static int ls_remote_net(struct gitrepo_cache *c, struct repo_entry *e, const struct gitrepo_creds *creds,
			 struct reflist *out, struct buf *raw)
{
	const char *argv[] = {"git", "ls-remote", e->url, NULL};
	struct subproc_result r;
	int rc = run_git(c, creds, argv, "list refs of", e->url, &r);

	if (rc == 0)
		rc = parse_ls_remote(r.out.ptr, out);
	if (rc == 0 && raw)
		buf_append(raw, r.out.ptr, r.out.len);
	subproc_result_release(&r);
	pthread_mutex_lock(&c->lock);
	c->stats.ls_remotes++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Answers from the cached listing when it fits: younger than 3 minutes,
 * or — for a fresh request — started after the request was made. Called
 * with c->lock held. */
static bool cached_listing(struct gitrepo_cache *c, struct repo_entry *e, const uint8_t ch[32], bool fresh,
			   int64_t asked, struct reflist *out, int *rc)
{
	if (!e->lsr.v || memcmp(ch, e->lsr_creds, 32))
		return false;
	if (fresh ? e->lsr_at < asked : clock_mono_ms() - e->lsr_at >= LS_REMOTE_TTL_MS)
		return false;
	*rc = reflist_copy(&e->lsr, out);
	c->stats.ls_remote_hits++;
	return true;
}

static char *store_key(const struct repo_entry *e, const uint8_t ch[32])
{
	uint8_t md[32];
	char uh[65], chh[65];

	SHA256((const unsigned char *)e->url, strlen(e->url), md);
	str_hex(md, 16, uh);
	str_hex(ch, 16, chh);
	return str_printf("lsremote:%s:%s", uh, chh);
}

/* A listing from the shared store that is younger than the TTL: stored as
 * "<wall ms when it started>\n<git ls-remote output>". */
static bool listing_from_store(struct gitrepo_cache *c, const char *key, struct reflist *out, int64_t *ret_age)
{
	struct gitrepo_ref_store st;
	struct buf b;
	bool ok = false;
	int64_t at;

	pthread_mutex_lock(&c->lock);
	st = c->store;
	pthread_mutex_unlock(&c->lock);
	if (!st.get || !key)
		return false;
	buf_init(&b, (size_t)16 << 20);
	if (st.get(st.arg, key, &b) == 0) {
		char *nl = strchr(b.ptr, '\n');
		if (nl) {
			*nl = '\0';
			int64_t age = str_to_i64(b.ptr, &at) == 0 ? clock_wall_ms() - at : -1;
			if (age >= 0 && age < LS_REMOTE_TTL_MS && parse_ls_remote(nl + 1, out) == 0) {
				*ret_age = age;
				ok = true;
			}
		}
	}
	buf_release(&b);
	err_clear();
	return ok;
}

static void listing_to_store(struct gitrepo_cache *c, const char *key, int64_t wall_started, const struct buf *raw)
{
	struct gitrepo_ref_store st;
	struct buf b;

	pthread_mutex_lock(&c->lock);
	st = c->store;
	pthread_mutex_unlock(&c->lock);
	if (!st.put || !key)
		return;
	buf_init(&b, raw->len + 32);
	if (buf_printf(&b, "%lld\n", (long long)wall_started) == 0 && buf_append(&b, raw->ptr, raw->len) == 0)
		st.put(st.arg, key, b.ptr, b.len, LS_REMOTE_TTL_MS / 1000);
	buf_release(&b);
}

/* The remote's refs, from the 3-minute cache unless fresh. Listings are
 * single-flight per repository: concurrent requests wait for the one
 * running and share its answer (a fresh request accepts a listing that
 * started after it asked), so a burst of N refreshes costs one ls-remote. */
static int ls_remote(struct gitrepo_cache *c, struct repo_entry *e, const struct gitrepo_creds *creds, bool fresh,
		     struct reflist *out)
{
	uint8_t ch[32];
	struct reflist got = {0};
	int64_t asked = clock_mono_ms(), started;
	int rc = 0;
	bool hit;

	creds_hash(creds, ch);
	pthread_mutex_lock(&c->lock);
	hit = cached_listing(c, e, ch, fresh, asked, out, &rc);
	pthread_mutex_unlock(&c->lock);
	if (hit)
		return rc;
	pthread_mutex_lock(&e->ls_lock);
	pthread_mutex_lock(&c->lock);
	hit = cached_listing(c, e, ch, fresh, asked, out, &rc);
	pthread_mutex_unlock(&c->lock);
	if (hit) {
		pthread_mutex_unlock(&e->ls_lock);
		return rc;
	}
	char *key = store_key(e, ch);
	int64_t age = 0;
	struct buf raw;
	bool from_store = !fresh && listing_from_store(c, key, &got, &age);
	int64_t wall_started = clock_wall_ms();

	buf_init(&raw, (size_t)16 << 20);
	started = clock_mono_ms() - age;
	if (from_store || (rc = ls_remote_net(c, e, creds, &got, &raw)) == 0) {
		pthread_mutex_lock(&c->lock);
		reflist_release(&e->lsr);
		if (reflist_copy(&got, &e->lsr) == 0) {
			memcpy(e->lsr_creds, ch, 32);
			e->lsr_at = started;
		}
		if (from_store)
			c->stats.ls_remote_hits++;
		pthread_mutex_unlock(&c->lock);
		if (!from_store)
			listing_to_store(c, key, wall_started, &raw);
		*out = got;
	}
	buf_release(&raw);
	free(key);
	pthread_mutex_unlock(&e->ls_lock);
	return rc;
}

static int fetch_net(struct gitrepo_cache *c, struct repo_entry *e, const struct gitrepo_creds *creds)
{
	const char *argv[] = {"git", "-C", e->dir, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
			      "--prune", e->url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", NULL};
	struct subproc_result r;
	int rc = run_git(c, creds, argv, "fetch", e->url, &r);

	subproc_result_release(&r);
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
			 const char *hexid, char out[41])
{
	int rc;
	char safe_url[512];

	if ((rc = local_commit(e, hexid, out)) != BERR_NOTFOUND)
		return rc;
	pthread_mutex_lock(&e->fetch_lock);
	/* Someone may have fetched it while we waited. */
	rc = local_commit(e, hexid, out);
	if (rc == BERR_NOTFOUND) {
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

static int resolve_entry(struct gitrepo_cache *c, struct repo_entry *e, const char *url,
			 const struct gitrepo_creds *creds, const char *revision, bool fresh, char out[41])
{
	struct reflist refs = {0};
	const char *rev = revision && *revision ? revision : "HEAD";
	char safe_url[512], sha[41];
	const char *hit = NULL;
	char *name = NULL;
	int rc;

	if (strlen(rev) > 255 || strpbrk(rev, "\n\r\t\\") || strstr(rev, ".."))
		return err_set(BERR_INVALID, "invalid revision");
	/* Always list refs with the caller's credentials — also for a commit
	 * SHA that is already in the cache: the listing (cached per
	 * credentials) is what proves the caller may read the repository, so
	 * a commit fetched for one caller is never served to another who
	 * cannot. */
	if ((rc = ls_remote(c, e, creds, fresh && !is_hex(rev, 40, 40), &refs)) < 0)
		return rc; /* (a commit SHA needs no fresh listing: a cached one proves access) */
	if (is_hex(rev, 40, 40)) {
		char lower[41];
		for (int i = 0; i < 41; i++)
			lower[i] = (char)tolower((unsigned char)rev[i]);
		rc = ensure_commit(c, e, creds, lower, sha);
		goto done;
	}
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
	/* A constraint, or a plain version matching a tag spelled differently
	 * ("1.2.3" for tag v1.2.3), as Argo CD reads targetRevision. */
	struct semver plain;
	if (!hit && (semver_is_constraint(rev) || semver_parse(rev, &plain) == 0)) {
		if ((rc = resolve_semver(&refs, rev, &name)) < 0 && rc != BERR_NOTFOUND)
			goto out;
		if (name)
			hit = find_ref(&refs, name);
	}
	if (hit) {
		rc = ensure_commit(c, e, creds, hit, sha);
	} else if (is_hex(rev, 4, 39)) {
		char lower[41];
		str_copy(lower, rev, sizeof(lower));
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		rc = ensure_commit(c, e, creds, lower, sha);
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

int gitrepo_resolve(struct gitrepo_cache *c, const char *url, const struct gitrepo_creds *creds,
		    const char *revision, bool fresh, char out[41])
{
	struct repo_entry *e;
	int rc = get_entry(c, url, &e);

	if (rc < 0)
		return rc;
	rc = resolve_entry(c, e, url, creds, revision, fresh, out);
	put_entry(c, e);
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
	if ((rc = open_repo(e, &st.repo)) < 0) {
		put_entry(c, e);
		return rc;
	}
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
	put_entry(c, e);
	return rc;
}
