/* Unit tests for gitrepo against a real git daemon serving real repositories
 * built with the git CLI. */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "gitrepo.h"
#include "str.h"

static char top[PATH_MAX];
static char url[256];
static pid_t daemon_pid;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static char *sh_out(const char *cmd)
{
	char line[256] = "";
	FILE *f = popen(cmd, "r");
	if (!f || !fgets(line, sizeof(line), f))
		line[0] = '\0';
	if (f)
		pclose(f);
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &len);
	close(s);
	return ntohs(a.sin_port);
}

#define GITENV "GIT_CONFIG_NOSYSTEM=1 HOME=%s GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t"

static void setup_repos(void)
{
	char tmpl[] = "/tmp/berth-test-gitrepo.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	str_copy(top, tmpl, sizeof(top));
	int rc = sh("set -e; cd %s; export " GITENV "; mkdir -p srv w; cd w; git init -q -b main;"
		    "mkdir -p app sub; echo 'kind: A' > app/a.yaml; echo '#!/bin/sh' > run.sh; chmod +x run.sh;"
		    "ln -s ../app/a.yaml sub/link.yaml;"
		    "git add -A; git commit -q -m one; git tag v1.0.0; git tag -a v1.2.0 -m rel;"
		    "echo 'kind: B' > app/b.yaml; git add -A; git commit -q -m two; git tag v1.2.5; git tag v2.0.0-rc.1;"
		    "git checkout -q -b feature; echo f > f.txt; git add -A; git commit -q -m feat; git checkout -q main;"
		    "git clone -q --bare . ../srv/good.git;"
		    "git checkout -q -b evil; ln -s /etc etc-link; git add -A; git commit -q -m evil;"
		    "git clone -q --bare . ../srv/evil.git;"
		    "git checkout -q main; git checkout -q -b chain; ln -s c2 c1; ln -s ../../../../../../ c2; git add -A;"
		    "git commit -q -m chain; git clone -q --bare . ../srv/chain.git",
		    top, top);
	ck_assert_int_eq(rc, 0);
	int port = free_port();
	daemon_pid = fork();
	if (daemon_pid == 0) {
		char base[PATH_MAX + 20], portarg[32];
		snprintf(base, sizeof(base), "--base-path=%s/srv", top);
		snprintf(portarg, sizeof(portarg), "--port=%d", port);
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 2);
		execlp("git", "git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", base,
		       "--listen=127.0.0.1", portarg, (char *)NULL);
		_exit(127);
	}
	snprintf(url, sizeof(url), "git://127.0.0.1:%d", port);
	/* wait until it answers */
	for (int i = 0; i < 200; i++) {
		if (sh("git ls-remote %s/good.git >/dev/null 2>&1", url) == 0)
			return;
		clock_sleep_ms(50);
	}
	ck_abort_msg("git daemon did not start");
}

static void teardown_repos(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	sh("rm -rf %s", top);
}

static struct gitrepo_cache *new_cache(void)
{
	struct gitrepo_cache *c;
	char *dir = NULL;
	ck_assert_int_eq(fsx_private_dir(top, "cache-", &dir), 0);
	ck_assert_int_eq(gitrepo_cache_new(dir, 20000, &c), 0);
	free(dir);
	return c;
}

static char *repo_url(const char *name)
{
	return str_printf("%s/%s.git", url, name);
}

static char *rev_parse(const char *repo, const char *rev)
{
	char *cmd = str_printf("git -C %s/srv/%s.git rev-parse '%s^{commit}'", top, repo, rev);
	char *out = sh_out(cmd);
	free(cmd);
	return out;
}

static void assert_resolves(struct gitrepo_cache *c, const char *rev, const char *want_rev)
{
	char *u = repo_url("good"), *want = rev_parse("good", want_rev);
	char got[41];
	int rc = gitrepo_resolve(c, u, NULL, rev, false, got);
	ck_assert_msg(rc == 0, "resolve %s: %s", rev, err_msg());
	ck_assert_msg(!strcmp(got, want), "%s: got %s want %s", rev, got, want);
	free(u);
	free(want);
}

START_TEST(gitrepo_resolves_head_branch_tag_and_sha)
{
	struct gitrepo_cache *c = new_cache();
	char *head = rev_parse("good", "main");
	char shortsha[9];
	str_copy(shortsha, head, sizeof(shortsha));
	assert_resolves(c, "", "main");
	assert_resolves(c, "HEAD", "main");
	assert_resolves(c, "feature", "feature");
	assert_resolves(c, "refs/heads/feature", "feature");
	assert_resolves(c, "v1.0.0", "v1.0.0");
	assert_resolves(c, "v1.2.0", "v1.2.0"); /* annotated: peeled to its commit */
	assert_resolves(c, head, "main");
	assert_resolves(c, shortsha, "main");
	free(head);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_resolves_semver_constraints_over_tags)
{
	struct gitrepo_cache *c = new_cache();
	assert_resolves(c, "1.2.*", "v1.2.5");
	assert_resolves(c, ">=1.0.0 <1.2.0", "v1.0.0");
	assert_resolves(c, "~1.2", "v1.2.5");
	assert_resolves(c, "1.2.5", "v1.2.5"); /* a plain version finds tag v1.2.5 */
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_unknown_revision_is_not_found)
{
	struct gitrepo_cache *c = new_cache();
	char *u = repo_url("good");
	char got[41];
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "no-such-branch", false, got), BERR_NOTFOUND);
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "9.*", false, got), BERR_NOTFOUND);
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "0000000000000000000000000000000000000000", false, got),
			 BERR_NOTFOUND);
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_refuses_local_file_urls)
{
	struct gitrepo_cache *c = new_cache();
	char *u = str_printf("file://%s/srv/good.git", top);
	char got[41];
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "HEAD", false, got), BERR_INVALID);
	ck_assert_int_eq(gitrepo_resolve(c, "/etc", NULL, "HEAD", false, got), BERR_INVALID);
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_caches_ls_remote_and_sees_new_commit_when_fresh)
{
	struct gitrepo_cache *c = new_cache();
	struct gitrepo_stats st;
	char *u = repo_url("good");
	char a[41], b[41], d[41];
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "main", false, a), 0);
	ck_assert_int_eq(sh("set -e; export " GITENV "; cd %s/w; git checkout -q main; echo n > new.txt; git add -A;"
			    "git commit -q -m new; git push -q ../srv/good.git main",
			    top, top),
			 0);
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "main", false, b), 0);
	ck_assert_str_eq(a, b); /* answered from the 3-minute cache */
	gitrepo_get_stats(c, &st);
	ck_assert_uint_eq(st.ls_remotes, 1);
	ck_assert_uint_eq(st.ls_remote_hits, 1);
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "main", true, d), 0);
	ck_assert_str_ne(a, d);
	char *want = rev_parse("good", "main");
	ck_assert_str_eq(d, want);
	free(want);
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

struct race {
	struct gitrepo_cache *c;
	const char *url;
	char sha[41];
	int rc;
};

static void *race_resolve(void *arg)
{
	struct race *r = arg;
	r->rc = gitrepo_resolve(r->c, r->url, NULL, "feature", false, r->sha);
	return NULL;
}

static void *race_resolve_fresh(void *arg)
{
	struct race *r = arg;
	r->rc = gitrepo_resolve(r->c, r->url, NULL, "feature", true, r->sha);
	return NULL;
}

START_TEST(gitrepo_concurrent_requests_share_one_fetch)
{
	struct gitrepo_cache *c = new_cache();
	struct gitrepo_stats st;
	char *u = repo_url("good");
	struct race r[6];
	pthread_t th[6];
	for (int i = 0; i < 6; i++) {
		r[i].c = c;
		r[i].url = u;
		pthread_create(&th[i], NULL, race_resolve, &r[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(r[i].rc, 0);
		ck_assert_str_eq(r[i].sha, r[0].sha);
	}
	gitrepo_get_stats(c, &st);
	ck_assert_uint_eq(st.fetches, 1);
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_concurrent_fresh_requests_share_ref_listings)
{
	struct gitrepo_cache *c = new_cache();
	struct gitrepo_stats st;
	char *u = repo_url("good");
	struct race r[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		r[i].c = c;
		r[i].url = u;
		pthread_create(&th[i], NULL, race_resolve_fresh, &r[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(r[i].rc, 0);
	}
	gitrepo_get_stats(c, &st);
	ck_assert_uint_lt(st.ls_remotes, 8);
	ck_assert_uint_eq(st.fetches, 1);
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

static int export_rev(struct gitrepo_cache *c, const char *repo, const char *rev, char **ret_dir)
{
	char *u = repo_url(repo);
	char sha[41];
	int rc = gitrepo_resolve(c, u, NULL, rev, false, sha);
	ck_assert_msg(rc == 0, "%s", err_msg());
	ck_assert_int_eq(fsx_private_dir(top, "export-", ret_dir), 0);
	rc = gitrepo_export(c, u, sha, *ret_dir, NULL);
	free(u);
	return rc;
}

START_TEST(gitrepo_exports_files_modes_and_inner_symlinks)
{
	struct gitrepo_cache *c = new_cache();
	char *dir, *p;
	struct stat st;
	ck_assert_int_eq(export_rev(c, "good", "v1.2.5", &dir), 0);
	p = str_printf("%s/app/b.yaml", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	p = str_printf("%s/run.sh", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(st.st_mode & S_IXUSR);
	free(p);
	p = str_printf("%s/sub/link.yaml", dir);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	free(p);
	fsx_remove_tree(dir);
	free(dir);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_rejects_symlink_out_of_the_repository)
{
	struct gitrepo_cache *c = new_cache();
	char *dir;
	ck_assert_int_eq(export_rev(c, "evil", "evil", &dir), BERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(err_msg(), "outside the repository root"));
	ck_assert_ptr_null(strstr(err_msg(), "/etc"));
	fsx_remove_tree(dir);
	free(dir);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_rejects_symlink_chain_out_of_the_repository)
{
	struct gitrepo_cache *c = new_cache();
	char *dir;
	ck_assert_int_eq(export_rev(c, "chain", "chain", &dir), BERR_FORBIDDEN);
	fsx_remove_tree(dir);
	free(dir);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_export_honours_file_limit)
{
	struct gitrepo_cache *c = new_cache();
	struct gitrepo_limits lim = {.max_files = 2};
	char *u = repo_url("good"), *dir, sha[41];
	ck_assert_int_eq(gitrepo_resolve(c, u, NULL, "main", false, sha), 0);
	ck_assert_int_eq(fsx_private_dir(top, "export-", &dir), 0);
	ck_assert_int_eq(gitrepo_export(c, u, sha, dir, &lim), BERR_TOOLARGE);
	fsx_remove_tree(dir);
	free(dir);
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_ssh_key_never_leaks_and_is_cleaned_up)
{
	struct gitrepo_cache *c = new_cache();
	struct gitrepo_creds cr = {.ssh_private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nS3CRETKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n",
				   .password = "pw-never-shown"};
	char *u = str_printf("ssh://git@127.0.0.1:%d/x.git", free_port()), got[41];
	int rc = gitrepo_resolve(c, u, &cr, "main", false, got);
	ck_assert_int_lt(rc, 0);
	ck_assert_ptr_null(strstr(err_msg(), "S3CRET"));
	ck_assert_ptr_null(strstr(err_msg(), "pw-never-shown"));
	/* the key file lived in a private folder that is gone now */
	char *cmd = str_printf("find %s -name 'ssh-*' | grep -q .", top);
	ck_assert_int_ne(system(cmd), 0);
	free(cmd);
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_unreachable_remote_error_hides_credentials)
{
	/* git daemon has no auth; an http URL to a closed port is unavailable */
	struct gitrepo_cache *c = new_cache();
	struct gitrepo_creds cr = {.username = "bob", .password = "hunter2-secret"};
	char *u = str_printf("http://bob:hunter2-secret@127.0.0.1:%d/x.git", free_port()), got[41];
	ck_assert_int_eq(gitrepo_resolve(c, u, &cr, "main", false, got), BERR_UNAVAILABLE);
	ck_assert_ptr_null(strstr(err_msg(), "hunter2"));
	free(u);
	gitrepo_cache_free(c);
}
END_TEST

struct fake_store {
	pthread_mutex_t mu;
	char key[256];
	struct buf val;
	int puts;
};

static int fake_get(void *arg, const char *key, struct buf *out)
{
	struct fake_store *f = arg;
	int rc = BERR_NOTFOUND;
	pthread_mutex_lock(&f->mu);
	if (!strcmp(f->key, key))
		rc = buf_append(out, f->val.ptr, f->val.len);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static void fake_put(void *arg, const char *key, const char *text, size_t len, int64_t ttl_s)
{
	struct fake_store *f = arg;
	ck_assert_int_eq(ttl_s, 180);
	pthread_mutex_lock(&f->mu);
	str_copy(f->key, key, sizeof(f->key));
	buf_reset(&f->val);
	buf_append(&f->val, text, len);
	f->puts++;
	pthread_mutex_unlock(&f->mu);
}

START_TEST(gitrepo_replicas_share_ref_listings_through_the_store)
{
	struct fake_store fs = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct gitrepo_ref_store store = {.get = fake_get, .put = fake_put, .arg = &fs};
	struct gitrepo_cache *a = new_cache(), *b = new_cache();
	struct gitrepo_stats st;
	char *u = repo_url("good"), sa[41], sb[41];

	buf_init(&fs.val, 1 << 20);
	gitrepo_set_ref_store(a, &store);
	gitrepo_set_ref_store(b, &store);
	ck_assert_int_eq(gitrepo_resolve(a, u, NULL, "main", false, sa), 0);
	ck_assert_int_eq(fs.puts, 1);
	ck_assert_ptr_null(strstr(fs.key, "127.0.0.1")); /* the URL is hashed */
	ck_assert_int_eq(gitrepo_resolve(b, u, NULL, "main", false, sb), 0);
	ck_assert_str_eq(sa, sb);
	gitrepo_get_stats(b, &st);
	ck_assert_uint_eq(st.ls_remotes, 0);
	ck_assert_uint_eq(st.ls_remote_hits, 1);
	/* a stale entry is not used */
	struct gitrepo_cache *c3 = new_cache();
	gitrepo_set_ref_store(c3, &store);
	char *nl = strchr(fs.val.ptr, '\n');
	struct buf old;
	buf_init(&old, 1 << 20);
	buf_printf(&old, "%lld%s", (long long)(clock_wall_ms() - 200000), nl);
	buf_reset(&fs.val);
	buf_append(&fs.val, old.ptr, old.len);
	ck_assert_int_eq(gitrepo_resolve(c3, u, NULL, "main", false, sb), 0);
	gitrepo_get_stats(c3, &st);
	ck_assert_uint_eq(st.ls_remotes, 1);
	buf_release(&old);
	buf_release(&fs.val);
	free(u);
	gitrepo_cache_free(a);
	gitrepo_cache_free(b);
	gitrepo_cache_free(c3);
}
END_TEST

START_TEST(gitrepo_evicts_least_recently_used_clones)
{
	struct gitrepo_cache *c;
	struct gitrepo_stats st;
	char *good = repo_url("good"), *evil = repo_url("evil"), *chain = repo_url("chain"), sha[41], *dir = NULL;
	ck_assert_int_eq(fsx_private_dir(top, "lru-", &dir), 0);
	ck_assert_int_eq(gitrepo_cache_new(dir, 20000, &c), 0);
	gitrepo_set_max_repos(c, 2);
	ck_assert_int_eq(gitrepo_resolve(c, good, NULL, "main", false, sha), 0);
	ck_assert_int_eq(gitrepo_resolve(c, evil, NULL, "evil", false, sha), 0);
	ck_assert_int_eq(gitrepo_resolve(c, chain, NULL, "chain", false, sha), 0); /* evicts good */
	gitrepo_get_stats(c, &st);
	ck_assert_uint_eq(st.evictions, 1);
	char *cmd = str_printf("test $(ls %s | wc -l) -eq 2", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
	/* an evicted repository comes back when asked for */
	ck_assert_int_eq(gitrepo_resolve(c, good, NULL, "main", false, sha), 0);
	char *want = rev_parse("good", "main");
	ck_assert_str_eq(sha, want);
	free(want);
	free(good);
	free(evil);
	free(chain);
	gitrepo_cache_free(c);
}
END_TEST

START_TEST(gitrepo_redacts_credentials_in_urls)
{
	char out[256];
	gitrepo_redact_url("https://bob:hunter2@git.example/x.git", out, sizeof(out));
	ck_assert_str_eq(out, "https://git.example/x.git");
	gitrepo_redact_url("https://git.example/a@b.git", out, sizeof(out));
	ck_assert_str_eq(out, "https://git.example/a@b.git");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gitrepo");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, setup_repos, teardown_repos);
	tcase_add_test(tc, gitrepo_resolves_head_branch_tag_and_sha);
	tcase_add_test(tc, gitrepo_resolves_semver_constraints_over_tags);
	tcase_add_test(tc, gitrepo_unknown_revision_is_not_found);
	tcase_add_test(tc, gitrepo_refuses_local_file_urls);
	tcase_add_test(tc, gitrepo_caches_ls_remote_and_sees_new_commit_when_fresh);
	tcase_add_test(tc, gitrepo_concurrent_requests_share_one_fetch);
	tcase_add_test(tc, gitrepo_concurrent_fresh_requests_share_ref_listings);
	tcase_add_test(tc, gitrepo_exports_files_modes_and_inner_symlinks);
	tcase_add_test(tc, gitrepo_rejects_symlink_out_of_the_repository);
	tcase_add_test(tc, gitrepo_rejects_symlink_chain_out_of_the_repository);
	tcase_add_test(tc, gitrepo_export_honours_file_limit);
	tcase_add_test(tc, gitrepo_redacts_credentials_in_urls);
	tcase_add_test(tc, gitrepo_evicts_least_recently_used_clones);
	tcase_add_test(tc, gitrepo_replicas_share_ref_listings_through_the_store);
	tcase_add_test(tc, gitrepo_ssh_key_never_leaks_and_is_cleaned_up);
	tcase_add_test(tc, gitrepo_unreachable_remote_error_hides_credentials);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
