/*
 * linediff — unified diff (see linediff.h).
 */
#include "linediff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct line {
	const char *p;
	size_t n;
};

struct lines {
	struct line *v;
	size_t n;
};

static int split_lines(const char *s, size_t len, struct lines *out)
{
	size_t n = 0, cap = 64;
	struct line *v = malloc(cap * sizeof(*v));
	if (!v)
		return err_set(BERR_NOMEM, "out of memory");
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len;
		if (n == cap) {
			cap *= 2;
			struct line *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return err_set(BERR_NOMEM, "out of memory");
			}
			v = nv;
		}
		v[n++] = (struct line){s + i, e - i};
		i = e + 1;
	}
	out->v = v;
	out->n = n;
	return 0;
}

static int line_eq(const struct line *a, const struct line *b)
{
	return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/* Edit script entry: ' ' both, '-' only a, '+' only b. */
struct edit {
	char op;
	size_t ai, bi;
};

static int build_script(const struct lines *a, const struct lines *b, struct edit **ret, size_t *ret_n)
{
	size_t pre = 0, suf = 0;
	while (pre < a->n && pre < b->n && line_eq(&a->v[pre], &b->v[pre]))
		pre++;
	while (suf < a->n - pre && suf < b->n - pre &&
	       line_eq(&a->v[a->n - 1 - suf], &b->v[b->n - 1 - suf]))
		suf++;
	size_t am = a->n - pre - suf, bm = b->n - pre - suf;
	struct edit *e = malloc((a->n + b->n + 1) * sizeof(*e));
	size_t n = 0;
	if (!e)
		return err_set(BERR_NOMEM, "out of memory");
	for (size_t i = 0; i < pre; i++)
		e[n++] = (struct edit){' ', i, i};
	uint32_t *t = NULL;
	if (am && bm && (am + 1) * (bm + 1) <= LINEDIFF_MAX_CELLS)
		t = calloc((am + 1) * (bm + 1), sizeof(*t));
	if (t) {
		/* t[i][j] = LCS length of a-middle[i..] and b-middle[j..] */
		size_t w = bm + 1;
		for (size_t i = am; i-- > 0;)
			for (size_t j = bm; j-- > 0;) {
				if (line_eq(&a->v[pre + i], &b->v[pre + j]))
					t[i * w + j] = t[(i + 1) * w + j + 1] + 1;
				else
					t[i * w + j] = t[(i + 1) * w + j] > t[i * w + j + 1] ? t[(i + 1) * w + j]
											: t[i * w + j + 1];
			}
		size_t i = 0, j = 0;
		while (i < am || j < bm) {
			if (i < am && j < bm && line_eq(&a->v[pre + i], &b->v[pre + j])) {
				e[n++] = (struct edit){' ', pre + i, pre + j};
				i++, j++;
			} else if (i < am && (j == bm || t[(i + 1) * w + j] >= t[i * w + j + 1])) {
				e[n++] = (struct edit){'-', pre + i, pre + j};
				i++;
			} else {
				e[n++] = (struct edit){'+', pre + i, pre + j};
				j++;
			}
		}
		free(t);
	} else {
		for (size_t i = 0; i < am; i++)
			e[n++] = (struct edit){'-', pre + i, pre};
		for (size_t j = 0; j < bm; j++)
			e[n++] = (struct edit){'+', pre + am, pre + j};
	}
	for (size_t i = 0; i < suf; i++)
		e[n++] = (struct edit){' ', pre + am + i, pre + bm + i};
	*ret = e;
	*ret_n = n;
	return 0;
}

static int emit_hunk(const struct lines *a, const struct lines *b, const struct edit *e, size_t from,
		     size_t to, struct buf *out)
{
	size_t as = e[from].ai, bs = e[from].bi, an = 0, bn = 0;
	int rc;
	for (size_t k = from; k < to; k++) {
		if (e[k].op != '+')
			an++;
		if (e[k].op != '-')
			bn++;
	}
	if ((rc = buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", an ? as + 1 : as, an, bn ? bs + 1 : bs, bn)) < 0)
		return rc;
	for (size_t k = from; k < to; k++) {
		const struct line *l = e[k].op == '+' ? &b->v[e[k].bi] : &a->v[e[k].ai];
		if ((rc = buf_putc(out, e[k].op)) < 0 || (rc = buf_append(out, l->p, l->n)) < 0 ||
		    (rc = buf_putc(out, '\n')) < 0)
			return rc;
	}
	return 0;
}

int linediff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *a_name,
		     const char *b_name, unsigned context, struct buf *out)
{
	struct lines la = {0}, lb = {0};
	struct edit *e = NULL;
	size_t n = 0, start_len = out->len;
	int rc;

	if (alen == blen && memcmp(a, b, alen) == 0)
		return 0;
	if ((rc = split_lines(a, alen, &la)) < 0 || (rc = split_lines(b, blen, &lb)) < 0)
		goto out;
	if ((rc = build_script(&la, &lb, &e, &n)) < 0)
		goto out;
	if ((rc = buf_printf(out, "--- %s\n+++ %s\n", a_name, b_name)) < 0)
		goto out;
	size_t k = 0;
	while (k < n) {
		while (k < n && e[k].op == ' ')
			k++;
		if (k == n)
			break;
		size_t from = k > context ? k - context : 0;
		/* extend while the next change is within 2*context lines */
		size_t end = k, same = 0;
		while (end < n) {
			if (e[end].op == ' ') {
				same++;
				if (same > 2 * context)
					break;
			} else {
				same = 0;
			}
			end++;
		}
		size_t to = end;
		/* keep only `context` trailing unchanged lines */
		size_t trail = 0;
		while (to > from && e[to - 1].op == ' ' && trail < same)
			to--, trail++;
		to += trail < context ? trail : context;
		if ((rc = emit_hunk(&la, &lb, e, from, to, out)) < 0)
			goto out;
		k = to;
	}
out:
	if (rc < 0)
		buf_truncate(out, start_len);
	free(la.v);
	free(lb.v);
	free(e);
	return rc;
}
