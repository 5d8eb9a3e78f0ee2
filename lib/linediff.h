/*
 * linediff — a unified diff of two texts, line by line, for humans
 * (`berth app diff`, the dashboard's diff view).
 *
 * The common prefix and suffix are stripped, the middle is aligned by a
 * longest-common-subsequence table; when the middle is too large for the
 * table (more than LINEDIFF_MAX_CELLS cells) it is shown as all removed then
 * all added, which is still a correct (if longer) diff. Output follows
 * `diff -u`: "--- a", "+++ b", "@@ -l,n +l,n @@" hunks with `context` lines
 * of context, each line prefixed by ' ', '-' or '+'.
 */
#ifndef BERTH_LINEDIFF_H
#define BERTH_LINEDIFF_H

#include <stddef.h>

#include "buf.h"

#define LINEDIFF_MAX_CELLS ((size_t)4 << 20)

/* Appends the unified diff of a[alen] → b[blen] (texts, need not end in a
 * newline) to out, with the given header names. Appends nothing when the
 * texts are equal. 0, BERR_TOOLARGE (out's bound) or BERR_NOMEM. */
int linediff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *a_name,
		     const char *b_name, unsigned context, struct buf *out);

#endif
