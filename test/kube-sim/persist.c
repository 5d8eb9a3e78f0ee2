/* persist — see persist.h.
 *
 * Consistency without stopping the store: a snapshot records the global RV
 * before ("base") and after ("rv") it walked the store. Log entries with an
 * RV at or below base are already in the snapshot and are skipped at load;
 * later ones are replayed, the highest RV per object winning. Subscriber
 * callbacks of concurrent writers may reach the log out of order, which
 * that rule absorbs. */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "kmap.h"
#include "log.h"
#include "str.h"
#include "store.h"

#define LINE_MAX_BYTES ((size_t)64 << 20)
#define LOG_MIN_COMPACT 20000 /* log lines before a compaction is considered */
#define FLUSH_MS 100

struct persist {
	char *dir;
	int log_fd;
	struct ks_store *s;
	int sub;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool stop, started;
	struct buf pending;   /* log lines not yet written */
	size_t log_lines;     /* lines in the log file */
	size_t objects;       /* objects in the last snapshot (a size hint) */
	int io_error;         /* first write error, reported once */
};

static char *path_of(const struct persist *p, const char *file)
{
	return str_printf("%s/%s", p->dir, file);
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return BERR_IO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int persist_open(const char *dir, struct persist **ret)
{
	struct persist *p;
	char *logp;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(BERR_IO, "data dir \"%s\": %s", dir, strerror(errno));
	if (!(p = calloc(1, sizeof(*p))))
		return err_set(BERR_NOMEM, "persist: out of memory");
	p->dir = str_dup(dir);
	p->sub = -1;
	buf_init(&p->pending, (size_t)1 << 30);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	logp = path_of(p, "log.jsonl");
	p->log_fd = logp ? open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
	if (p->log_fd < 0) {
		int rc = err_set(BERR_IO, "data dir \"%s\": cannot open the log: %s", dir, strerror(errno));
		free(logp);
		persist_close(p);
		return rc;
	}
	free(logp);
	*ret = p;
	return 0;
}

/* ---- snapshot -------------------------------------------------------------------- */

struct snap_ctx {
	int fd;
	struct buf b;
	int pass;      /* 0: CRDs, 1: Namespaces, 2: the rest */
	size_t count;
	int rc;
};

static int object_pass(const json_t *obj)
{
	const char *kind = jx_str(obj, "kind"), *av = jx_str(obj, "apiVersion");
	if (kind && strcmp(kind, "CustomResourceDefinition") == 0)
		return 0;
	if (kind && av && strcmp(kind, "Namespace") == 0 && strcmp(av, "v1") == 0)
		return 1;
	return 2;
}

/* obj with kind and apiVersion (a shallow copy when they must be added). */
static json_t *with_type(const struct ks_type *t, const json_t *obj)
{
	json_t *o;
	if (json_object_get(obj, "kind") && json_object_get(obj, "apiVersion"))
		return json_incref((json_t *)obj);
	o = json_copy((json_t *)obj);
	json_object_set_new(o, "apiVersion", json_string(ks_type_api_version(t)));
	json_object_set_new(o, "kind", json_string(t->kind));
	return o;
}

static void snap_one(void *ctx, const struct ks_type *t, const json_t *obj)
{
	struct snap_ctx *sc = ctx;
	json_t *o = with_type(t, obj);
	if (sc->rc == 0 && object_pass(o) == sc->pass) {
		if ((sc->rc = jx_dump_compact(o, &sc->b)) == 0 && (sc->rc = buf_putc(&sc->b, '\n')) == 0)
			sc->count++;
		if (sc->rc == 0 && sc->b.len > (1u << 20)) {
			sc->rc = write_all(sc->fd, sc->b.ptr, sc->b.len);
			buf_reset(&sc->b);
		}
	}
	json_decref(o);
}

/* Writes snapshot.jsonl from the store and empties the log. Caller holds
 * mu (so no log line is written meanwhile; callbacks wait). */
static int compact_locked(struct persist *p)
{
	char *tmp = path_of(p, "snapshot.jsonl.tmp"), *final = path_of(p, "snapshot.jsonl");
	struct snap_ctx sc = { .fd = -1 };
	uint64_t base, rv;
	int rc = 0;

	buf_init(&sc.b, (size_t)1 << 30);
	if (!tmp || !final) {
		rc = BERR_NOMEM;
		goto out;
	}
	/* Lines still pending belong to the old log; write them first so
	 * nothing is lost if we crash before the rename. */
	if (p->pending.len) {
		write_all(p->log_fd, p->pending.ptr, p->pending.len);
		buf_reset(&p->pending);
	}
	if ((sc.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		rc = err_set(BERR_IO, "snapshot \"%s\": %s", tmp, strerror(errno));
		goto out;
	}
	base = store_rv(p->s);
	for (sc.pass = 0; sc.pass < 3 && sc.rc == 0; sc.pass++)
		store_foreach(p->s, snap_one, &sc);
	rv = store_rv(p->s);
	if (sc.rc == 0)
		sc.rc = buf_printf(&sc.b, "{\"base\":%llu,\"rv\":%llu}\n", (unsigned long long)base,
				   (unsigned long long)rv);
	if (sc.rc == 0)
		sc.rc = write_all(sc.fd, sc.b.ptr, sc.b.len);
	if (sc.rc < 0 || fsync(sc.fd) < 0) {
		rc = err_set(BERR_IO, "snapshot \"%s\": write failed", tmp);
		goto out;
	}
	close(sc.fd);
	sc.fd = -1;
	if (rename(tmp, final) < 0) {
		rc = err_set(BERR_IO, "snapshot \"%s\": %s", final, strerror(errno));
		goto out;
	}
	int dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if (ftruncate(p->log_fd, 0) < 0) {
		rc = err_set(BERR_IO, "log: cannot truncate: %s", strerror(errno));
		goto out;
	}
	p->log_lines = 0;
	p->objects = sc.count;
out:
	if (sc.fd >= 0)
		close(sc.fd);
	buf_release(&sc.b);
	free(tmp);
	free(final);
	return rc;
}

/* ---- load ----------------------------------------------------------------------------- */

struct entry {
	uint64_t rv;
	json_t *obj; /* NULL: deleted */
};

static void entry_key(const json_t *obj, struct buf *key)
{
	buf_reset(key);
	buf_printf(key, "%s|%s|%s|%s", jx_str(obj, "apiVersion") ? jx_str(obj, "apiVersion") : "",
		   jx_str(obj, "kind") ? jx_str(obj, "kind") : "",
		   jx_path_str(obj, "metadata", "namespace", NULL) ? jx_path_str(obj, "metadata", "namespace", NULL) : "",
		   jx_path_str(obj, "metadata", "name", NULL) ? jx_path_str(obj, "metadata", "name", NULL) : "");
}

static uint64_t obj_rv(const json_t *obj)
{
	uint64_t rv = 0;
	const char *s = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	if (s)
		str_to_u64(s, &rv);
	return rv;
}

/* Records obj (or a deletion) at rv when newer than what is known. */
static void put_entry(struct kmap *m, struct buf *key, const json_t *obj, uint64_t rv, bool deleted)
{
	struct entry *e;

	entry_key(obj, key);
	e = kmap_get(m, key->ptr);
	if (e && e->rv > rv)
		return;
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return;
		if (kmap_put(m, key->ptr, e, NULL) < 0) {
			free(e);
			return;
		}
	}
	json_decref(e->obj);
	e->rv = rv;
	e->obj = deleted ? NULL : json_incref((json_t *)obj);
}

/* Reads a JSON-lines file, calling fn for each parsed line. A line that does
 * not parse fails the load unless it is the last one (a torn write). */
static int read_lines(const char *path, int (*fn)(void *ctx, json_t *line), void *ctx, bool *ret_exists)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0, bad = 0;
	size_t lineno = 0;

	*ret_exists = f != NULL;
	if (!f)
		return errno == ENOENT ? 0 : err_set(BERR_IO, "\"%s\": %s", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *v = NULL;
		lineno++;
		if (bad) { /* a bad line followed by more lines: corrupt */
			rc = err_set(BERR_INVALID, "\"%s\": line %zu is not JSON", path, lineno - 1);
			break;
		}
		if ((size_t)n > LINE_MAX_BYTES || jx_parse(line, (size_t)n, LINE_MAX_BYTES, 256, &v) < 0) {
			bad = 1;
			continue;
		}
		rc = fn(ctx, v);
		json_decref(v);
		if (rc < 0)
			break;
	}
	free(line);
	fclose(f);
	return rc;
}

struct load_ctx {
	struct kmap m;
	struct buf key;
	uint64_t base, max_rv;
};

static int snapshot_line(void *ctx, json_t *v)
{
	struct load_ctx *lc = ctx;
	if (!json_object_get(v, "kind")) {
		lc->base = (uint64_t)json_integer_value(json_object_get(v, "base"));
		uint64_t rv = (uint64_t)json_integer_value(json_object_get(v, "rv"));
		if (rv > lc->max_rv)
			lc->max_rv = rv;
		return 0;
	}
	uint64_t rv = obj_rv(v);
	if (rv > lc->max_rv)
		lc->max_rv = rv;
	put_entry(&lc->m, &lc->key, v, rv, false);
	return 0;
}

static int log_line(void *ctx, json_t *v)
{
	struct load_ctx *lc = ctx;
	const char *e = jx_str(v, "e");
	json_t *obj = json_object_get(v, "o");
	uint64_t rv = (uint64_t)json_integer_value(json_object_get(v, "rv"));

	if (!e || !json_is_object(obj))
		return 0;
	if (rv > lc->max_rv)
		lc->max_rv = rv;
	if (rv <= lc->base)
		return 0;
	put_entry(&lc->m, &lc->key, obj, rv, strcmp(e, "DELETED") == 0);
	return 0;
}

int persist_load(struct persist *p, struct ks_store *s, size_t *ret_count)
{
	struct load_ctx lc;
	char *snap = path_of(p, "snapshot.jsonl"), *logp = path_of(p, "log.jsonl");
	bool have_snap, have_log;
	size_t it, count = 0;
	int rc;

	memset(&lc, 0, sizeof(lc));
	kmap_init(&lc.m);
	buf_init(&lc.key, 64 * 1024);
	p->s = s;
	if ((rc = read_lines(snap, snapshot_line, &lc, &have_snap)) < 0 ||
	    (rc = read_lines(logp, log_line, &lc, &have_log)) < 0)
		goto out;
	/* CRDs first (they register types), then Namespaces, then the rest. */
	for (int pass = 0; pass < 3; pass++) {
		for (struct kmap_entry *e = kmap_first(&lc.m, &it); e; e = kmap_next(&lc.m, e, &it)) {
			struct entry *en = e->value;
			if (!en->obj || object_pass(en->obj) != pass)
				continue;
			if (store_restore(s, en->obj) < 0)
				log_warn("persist: object not restored", "key", e->key, "error", err_msg(), NULL);
			else
				count++;
		}
	}
	store_restore_rv(s, lc.max_rv);
	pthread_mutex_lock(&p->mu);
	rc = compact_locked(p);
	pthread_mutex_unlock(&p->mu);
	if (rc == 0 && ret_count)
		*ret_count = count;
out:
	for (struct kmap_entry *e = kmap_first(&lc.m, &it); e; e = kmap_next(&lc.m, e, &it)) {
		struct entry *en = e->value;
		json_decref(en->obj);
		free(en);
	}
	kmap_release(&lc.m);
	buf_release(&lc.key);
	free(snap);
	free(logp);
	return rc;
}

/* ---- appending ------------------------------------------------------------------------- */

static void on_change(void *ctx, const char *event, const struct ks_type *t, const json_t *obj)
{
	struct persist *p = ctx;
	json_t *o = with_type(t, obj);
	size_t mark;

	pthread_mutex_lock(&p->mu);
	mark = p->pending.len;
	if (buf_printf(&p->pending, "{\"e\":\"%s\",\"rv\":%llu,\"o\":", event, (unsigned long long)obj_rv(obj)) < 0 ||
	    jx_dump_compact(o, &p->pending) < 0 || buf_puts(&p->pending, "}\n") < 0)
		buf_truncate(&p->pending, mark);
	else
		p->log_lines++;
	pthread_mutex_unlock(&p->mu);
	json_decref(o);
}

static void flush_locked(struct persist *p)
{
	if (!p->pending.len)
		return;
	if (write_all(p->log_fd, p->pending.ptr, p->pending.len) < 0 || fdatasync(p->log_fd) < 0) {
		if (!p->io_error)
			log_error("persist: cannot write the log", "dir", p->dir, "error", strerror(errno), NULL);
		p->io_error = BERR_IO;
	}
	buf_reset(&p->pending);
}

static void *flusher(void *arg)
{
	struct persist *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FLUSH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		flush_locked(p);
		if (p->log_lines > LOG_MIN_COMPACT && p->log_lines > 2 * p->objects) {
			if (compact_locked(p) < 0)
				log_error("persist: compaction failed", "error", err_msg(), NULL);
		}
	}
	flush_locked(p);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int persist_attach(struct persist *p, struct ks_store *s)
{
	p->s = s;
	if ((p->sub = store_subscribe(s, on_change, p)) < 0)
		return err_set(BERR_INTERNAL, "persist: cannot subscribe to the store");
	if (pthread_create(&p->thread, NULL, flusher, p) != 0) {
		store_unsubscribe(s, p->sub);
		p->sub = -1;
		return err_set(BERR_INTERNAL, "persist: cannot start the flusher");
	}
	p->started = true;
	return 0;
}

void persist_close(struct persist *p)
{
	if (!p)
		return;
	if (p->sub >= 0 && p->s)
		store_unsubscribe(p->s, p->sub);
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->started)
		pthread_join(p->thread, NULL);
	else {
		pthread_mutex_lock(&p->mu);
		flush_locked(p);
		pthread_mutex_unlock(&p->mu);
	}
	if (p->log_fd >= 0)
		close(p->log_fd);
	buf_release(&p->pending);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->dir);
	free(p);
}
