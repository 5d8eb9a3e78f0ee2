/*
 * fsx — file-system helpers for working on untrusted trees: private scratch
 * folders, recursive removal that never follows symlinks, bounded file
 * reading, and confinement of paths to a root after resolution.
 *
 * Confinement is the defence against path traversal (SECURITY.md): a path
 * from a request or a repository ("../../etc", "/abs", "a/../../x", a chain
 * of symlinks) is resolved with realpath() and accepted only if the result
 * is the root or below it.
 */
#ifndef BERTH_FSX_H
#define BERTH_FSX_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Creates a new folder base/<prefix>XXXXXXXX (random, mode 0700) and returns
 * its path (free() it) in *ret. 0 or BERR_IO. */
int fsx_private_dir(const char *base, const char *prefix, char **ret);

/* Removes path and everything below it, never following symlinks (a link is
 * removed, not its target). Missing path is fine. 0 or BERR_IO. */
int fsx_remove_tree(const char *path);

/* Reads a whole regular file (appending) into out (its bound applies: BERR_TOOLARGE). 0, BERR_NOTFOUND,
 * BERR_IO, BERR_TOOLARGE. */
int fsx_read_file(const char *path, struct buf *out);

/* Resolves rel (relative to root; an absolute rel is refused) and returns the
 * resolved absolute path in *ret (free() it) when it lies inside root (root
 * must already be resolved: realpath'd). Fails with BERR_FORBIDDEN and a
 * message saying "outside repository root" otherwise, BERR_NOTFOUND when the
 * path does not exist. The message names rel only, never the target. */
int fsx_confine(const char *root, const char *rel, char **ret);

/* True when the symlink at link_path resolves (through any chain) to root or
 * below it; a dangling link is judged by its target text. root must be
 * resolved. */
bool fsx_link_stays_inside(const char *root, const char *link_path);

/* Copies the tree at src into the existing empty folder dst: folders,
 * regular files (mode kept) and symlinks (as links). Names starting with
 * ".git" at the top are skipped. A symlink that resolves outside src
 * (through any chain) fails the copy with BERR_FORBIDDEN ("... points outside
 * the repository root"); more than max_files entries or max_bytes bytes →
 * BERR_TOOLARGE. */
int fsx_copy_tree(const char *src, const char *dst, size_t max_files, size_t max_bytes);

/* True when path (resolved) equals root or lies below it. */
bool fsx_is_inside(const char *root, const char *path);

#endif
