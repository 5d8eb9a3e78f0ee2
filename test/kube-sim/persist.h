/*
 * persist — kube-sim's --data-dir: objects and the resourceVersion counter
 * survive a restart.
 *
 * Layout of DIR: "snapshot.jsonl" (one stored object per line, CRDs and
 * Namespaces first, then a last line {"base":B,"rv":N}: the global RV
 * before and after the store was walked) and "log.jsonl" (changes since
 * the snapshot: {"e":"ADDED|MODIFIED|DELETED","rv":N,"o":{object}} per line,
 * appended as the store commits them and fdatasync'd at most every 100 ms by
 * a flusher thread). At load the snapshot is read and the log replayed
 * (entries with RV <= base are already in the snapshot); for each object
 * the entry with the highest RV wins (subscribers may see
 * concurrent commits out of order). Then a fresh snapshot is written
 * (temp file, fsync, rename) and the log truncated; the same compaction runs
 * whenever the log grows past a bound.
 *
 * Usage in main: persist_open(dir) → persist_load(store) before serving →
 * persist_attach(store) → ... → persist_close() at exit (flushes).
 */
#ifndef KUBESIM_PERSIST_H
#define KUBESIM_PERSIST_H

#include <stddef.h>
#include <stdint.h>

struct ks_store;
struct persist;

/* Opens (creating if needed, mode 0700) the data directory. 0 or BERR_IO. */
int persist_open(const char *dir, struct persist **ret);

/* Loads the saved objects into s (store_restore, then store_restore_rv with
 * the highest RV saved) and compacts the files. 0, or BERR_IO / BERR_INVALID
 * (a corrupt line; a torn last line of the log is ignored). *ret_count (may
 * be NULL) receives the number of objects loaded. */
int persist_load(struct persist *p, struct ks_store *s, size_t *ret_count);

/* Subscribes to s's changes and starts the flusher thread. 0 or a BERR. */
int persist_attach(struct persist *p, struct ks_store *s);

/* Flushes, stops the thread, unsubscribes and frees. NULL is fine. */
void persist_close(struct persist *p);

#endif
