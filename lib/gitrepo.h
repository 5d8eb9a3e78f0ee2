/*
 * gitrepo — the repo server's Git side: a bare cache clone per repository
 * URL, fetched on demand with per-request credentials, revisions resolved
 * the way Argo CD users expect, and trees exported into private folders.
 *
 * Cache layout: <cache-dir>/<first 32 hex of sha256(url)>.git, a bare
 * repository holding every branch and tag of the remote. Nothing
 * else is stored: credentials live only for the duration of a call.
 *
 * Concurrency: one fetch at a time per repository; a caller that needs a
 * fetch while one runs waits for it and then looks again, so N requests for
 * a new commit cost one fetch. Reading (resolve by SHA, export) takes no
 * repository-wide lock, so exports of different commits run in parallel.
 * Each call opens its own libgit2 handle (they are not shareable between
 * threads).
 *
 * Revisions (gitrepo_resolve): "" and "HEAD" → the remote's HEAD; a branch
 * or tag name, or a full ref name → what the remote advertises (annotated
 * tags peeled to their commit); a full 40-hex SHA → itself (fetched if
 * missing); a semver constraint ("1.2.*", ">=1.0 <2", "~1.4") → the highest
 * matching tag; a 4..39-hex abbreviation → the unique matching commit after
 * a fetch. Remote ref lists (ls-remote) are cached for 3 minutes per
 * (URL, credentials) unless the caller asks for a fresh answer. Every
 * resolve lists refs with the caller's credentials (or finds such a listing
 * cached), even for a commit already in the cache: that is the access
 * check, so what one caller fetched is never served to one who may not read
 * the repository.
 *
 * Fetching and listing refs run the git CLI as a confined subprocess
 * (credentials in its environment, never its argv; only http(s), ssh and git
 * transports); libgit2 does all local reading. gitrepo.c and bench/RESULTS.md
 * ("gitrepo fetch") give the measurements and the reasons.
 *
 * Export (gitrepo_export): writes the tree of a commit into a folder with
 * regular files, executables and symlinks (submodules are skipped), bounded
 * in files and bytes. Every symlink is then resolved (following chains);
 * one that leads outside the exported root rejects the whole repository
 * with BERR_FORBIDDEN ("symlink ... points outside the repository root").
 *
 * Error messages name the repository by its URL with any user:password@
 * part removed, and never contain credentials.
 */
#ifndef BERTH_GITREPO_H
#define BERTH_GITREPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct gitrepo_creds {
	const char *username;        /* HTTPS user (default "git" when only a password/token is set) */
	const char *password;        /* HTTPS password or token */
	const char *ssh_private_key; /* PEM text of an SSH private key */
	const char *ssh_known_hosts; /* known_hosts lines; unknown SSH hosts are refused unless insecure */
	bool insecure;               /* skip TLS verification / accept any SSH host key */
};

struct gitrepo_limits {
	size_t max_files;   /* 0: 100000 */
	uint64_t max_bytes; /* 0: 1 GiB */
};

struct gitrepo_stats {
	uint64_t fetches;         /* network fetches done */
	uint64_t fetch_errors;
	uint64_t ls_remotes;      /* network ref listings done */
	uint64_t ls_remote_hits;  /* ref listings answered from the 3-minute cache */
	uint64_t evictions;       /* cache clones removed to stay under the bound */
};

struct gitrepo_cache;

/* Opens (creating) a cache in dir. timeout_ms bounds each network operation
 * (0: 90 s); the git process group is killed when it passes.
 * *ret owned by the caller (gitrepo_cache_free). 0, BERR_IO. */
int gitrepo_cache_new(const char *dir, int64_t timeout_ms, struct gitrepo_cache **ret);
void gitrepo_cache_free(struct gitrepo_cache *c);

/* Resolves revision of url to a commit SHA (40 hex + NUL in out). When fresh
 * is true the ls-remote cache is bypassed. Makes sure the commit is present
 * in the cache clone (fetching if needed). 0, BERR_NOTFOUND (no such
 * revision), BERR_UNAUTHORIZED (credentials rejected/required),
 * BERR_UNAVAILABLE (remote unreachable), BERR_TIMEOUT, BERR_FORBIDDEN (TLS or
 * host key refused), BERR_INVALID (bad URL or revision). */
int gitrepo_resolve(struct gitrepo_cache *c, const char *url, const struct gitrepo_creds *creds,
		    const char *revision, bool fresh, char out[41]);

/* Writes the tree of commit sha (already in the cache) into dest (an
 * existing empty folder). Symlinks leading outside dest are refused
 * (BERR_FORBIDDEN); limits exceeded → BERR_TOOLARGE. On failure dest may
 * hold a partial tree (the caller removes it). */
int gitrepo_export(struct gitrepo_cache *c, const char *url, const char *sha, const char *dest,
		   const struct gitrepo_limits *limits);

/* A shared store for ref listings — Redis in the repo server — so that
 * replicas share the 3-minute ls-remote cache (DESIGN.md §8). get appends
 * the text stored under key to out and returns 0, or a negative code when
 * absent or unavailable; put stores text for ttl_s seconds (its failures
 * are ignored). Both are called from any thread. Keys name the URL and the
 * credentials by hash, never in clear. */
struct gitrepo_ref_store {
	int (*get)(void *arg, const char *key, struct buf *out);
	void (*put)(void *arg, const char *key, const char *text, size_t len, int64_t ttl_s);
	void *arg;
};

/* Installs (copies) a shared store; NULL removes it. Call before use. */
void gitrepo_set_ref_store(struct gitrepo_cache *c, const struct gitrepo_ref_store *store);

/* Bounds the number of cache clones (0: no bound, the default). Past it, the
 * least recently used clone that no call is using is removed from disk; it
 * is cloned again when next asked for. */
void gitrepo_set_max_repos(struct gitrepo_cache *c, size_t max_repos);

/* A snapshot of the counters. */
void gitrepo_get_stats(struct gitrepo_cache *c, struct gitrepo_stats *out);

/* Copies url into out[size] without any "user:password@" part. */
void gitrepo_redact_url(const char *url, char *out, size_t size);

#endif
