/*
 * patch — RFC 6902 JSON patch, RFC 7386 merge patch and Kubernetes strategic
 * merge patch: apply and create (see patch.h).
 *
 * Strategic merge follows k8s.io/apimachinery's strategicpatch semantics as
 * the API server applies them: directives are handled per map ($patch,
 * $retainKeys, $deleteFromPrimitiveList/, $setElementOrder/), keyed lists
 * merge item by item, set lists take the union, everything else is replaced.
 * The schema comes from lib/mergekeys.h and is walked alongside the document.
 */
#include "patch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "jsonx.h"
#include "mergekeys.h"

#define DIR_PATCH "$patch"
#define DIR_RETAIN "$retainKeys"
#define DIR_ORDER "$setElementOrder/"
#define DIR_DELPRIM "$deleteFromPrimitiveList/"

/* Keyed and set lists merge item by item with linear lookups; past this
 * many items the work would be quadratic in hostile input. Real lists
 * (containers, env, ports, volumes, finalizers) are far shorter. */
static int too_long(const char *field)
{
	return err_set(BERR_TOOLARGE, "list \"%s\": more than %d items to merge", field, PATCH_MAX_MERGE_ITEMS);
}

/* Moves the members of src (an object) into dst, replacing its contents. */
static int replace_object_contents(json_t *dst, json_t *src)
{
	if (!json_is_object(src))
		return err_set(BERR_INVALID, "patch would replace the document with a non-object");
	json_object_clear(dst);
	if (json_object_update(dst, src) < 0)
		return err_set(BERR_NOMEM, "patch: out of memory");
	return 0;
}

/* ------------------------------------------------------------------ */
/* RFC 6902                                                            */
/* ------------------------------------------------------------------ */

#define JP_MAX_TOKENS 128

struct jptr {
	char *tok[JP_MAX_TOKENS];
	size_t n;
	char *mem;
};

static void jptr_release(struct jptr *p)
{
	free(p->mem);
	p->mem = NULL;
	p->n = 0;
}

/* Splits an RFC 6901 pointer into unescaped tokens (copied into p->mem). */
static int jptr_parse(const char *s, struct jptr *p)
{
	memset(p, 0, sizeof(*p));
	if (*s == '\0')
		return 0;
	if (*s != '/')
		return err_set(BERR_INVALID, "pointer must start with '/'");
	p->mem = malloc(strlen(s) + 1);
	if (!p->mem)
		return err_set(BERR_NOMEM, "out of memory");
	char *w = p->mem;
	const char *r = s;
	while (*r == '/') {
		if (p->n == JP_MAX_TOKENS) {
			jptr_release(p);
			return err_set(BERR_TOOLARGE, "pointer has more than %d tokens", JP_MAX_TOKENS);
		}
		r++;
		p->tok[p->n++] = w;
		while (*r && *r != '/') {
			if (*r == '~') {
				if (r[1] != '0' && r[1] != '1') {
					jptr_release(p);
					return err_set(BERR_INVALID, "bad '~' escape in pointer");
				}
				*w++ = r[1] == '0' ? '~' : '/';
				r += 2;
			} else {
				*w++ = *r++;
			}
		}
		*w++ = '\0';
	}
	return 0;
}

/* Array index: digits without leading zeros. */
static int parse_index(const char *tok, size_t *out)
{
	size_t v = 0;
	if (!*tok || (tok[0] == '0' && tok[1]))
		return -1;
	for (const char *c = tok; *c; c++) {
		if (*c < '0' || *c > '9' || v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*c - '0');
	}
	*out = v;
	return 0;
}

/* The value at tokens [0, n). Borrowed or NULL. */
static json_t *jptr_walk(json_t *root, const struct jptr *p, size_t n)
{
	json_t *cur = root;
	for (size_t i = 0; i < n && cur; i++) {
		if (json_is_object(cur)) {
			cur = json_object_get(cur, p->tok[i]);
		} else if (json_is_array(cur)) {
			size_t idx;
			if (parse_index(p->tok[i], &idx) < 0)
				return NULL;
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
	}
	return cur;
}

/* Adds value (stolen) at p; the root itself when p is empty. */
static int jp_add(json_t **root, const struct jptr *p, json_t *value)
{
	if (p->n == 0) {
		json_decref(*root);
		*root = value;
		return 0;
	}
	json_t *parent = jptr_walk(*root, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	int rc = 0;
	if (json_is_object(parent)) {
		if (json_object_set_new(parent, last, value) < 0)
			return err_set(BERR_NOMEM, "out of memory");
		return 0;
	}
	if (json_is_array(parent)) {
		size_t idx, len = json_array_size(parent);
		if (strcmp(last, "-") == 0)
			idx = len;
		else if (parse_index(last, &idx) < 0 || idx > len) {
			rc = err_set(BERR_INVALID, "array index \"%s\" out of range", last);
			goto fail;
		}
		if (json_array_insert_new(parent, idx, value) < 0)
			return err_set(BERR_NOMEM, "out of memory");
		return 0;
	}
	rc = err_set(BERR_INVALID, "parent does not exist or is not a container");
fail:
	json_decref(value);
	return rc;
}

/* Removes the value at p; *ret_old (if not NULL) gets a new reference. */
static int jp_remove(json_t *root, const struct jptr *p, json_t **ret_old)
{
	if (p->n == 0)
		return err_set(BERR_INVALID, "cannot remove the document root");
	json_t *parent = jptr_walk(root, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	json_t *old = NULL;
	if (json_is_object(parent)) {
		old = json_object_get(parent, last);
		if (!old)
			return err_set(BERR_INVALID, "path does not exist");
		json_incref(old);
		json_object_del(parent, last);
	} else if (json_is_array(parent)) {
		size_t idx;
		if (parse_index(last, &idx) < 0 || idx >= json_array_size(parent))
			return err_set(BERR_INVALID, "path does not exist");
		old = json_incref(json_array_get(parent, idx));
		json_array_remove(parent, idx);
	} else {
		return err_set(BERR_INVALID, "path does not exist");
	}
	if (ret_old)
		*ret_old = old;
	else
		json_decref(old);
	return 0;
}

static bool jptr_is_proper_prefix(const struct jptr *a, const struct jptr *b)
{
	if (a->n >= b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->tok[i], b->tok[i]) != 0)
			return false;
	return true;
}

/* RFC 6902 "test": the value at p equals value. */
static int jp_test(json_t *root, const struct jptr *p, const json_t *value)
{
	json_t *cur = jptr_walk(root, p, p->n);

	if (!cur)
		return err_set(BERR_INVALID, "path does not exist");
	if (!jx_equal(cur, value))
		return err_set(BERR_INVALID, "test failed: value differs");
	return 0;
}

/* RFC 6902 "move" (is_move) or "copy" from f (parsed from the text from)
 * to p. */
static int jp_move_or_copy(json_t **root, const struct jptr *p, const char *from, const struct jptr *f,
			   bool is_move)
{
	json_t *moved = NULL;
	int rc;

	if (is_move) {
		if (jptr_is_proper_prefix(f, p))
			return err_set(BERR_INVALID, "cannot move \"%s\" into its own child", from);
		if (f->n == 0) {
			/* moving the root onto itself is the only legal root move */
			return p->n == 0 ? 0 : err_set(BERR_INVALID, "cannot move the root");
		}
		if ((rc = jp_remove(*root, f, &moved)) < 0)
			return rc;
	} else {
		json_t *src = jptr_walk(*root, f, f->n);
		if (!src)
			return err_set(BERR_INVALID, "\"from\" path does not exist");
		moved = json_deep_copy(src);
	}
	return jp_add(root, p, moved);
}

static int jp_one(json_t **root, const json_t *op, size_t i)
{
	const char *name = jx_str(op, "op");
	const char *path = jx_str(op, "path");
	const char *from = jx_str(op, "from");
	json_t *value = json_object_get(op, "value");
	struct jptr p = {0}, f = {0};
	int rc;

	if (!json_is_object(op) || !name || !path)
		return err_set(BERR_INVALID, "op %zu: needs string members \"op\" and \"path\"", i);
	if ((rc = jptr_parse(path, &p)) < 0)
		return err_prefix(BERR_INVALID, "op %zu (%s %s)", i, name, path);

	if (strcmp(name, "add") == 0 || strcmp(name, "replace") == 0 || strcmp(name, "test") == 0) {
		if (!value) {
			rc = err_set(BERR_INVALID, "missing \"value\"");
			goto out;
		}
	}
	if (strcmp(name, "add") == 0) {
		rc = jp_add(root, &p, json_deep_copy(value));
	} else if (strcmp(name, "remove") == 0) {
		rc = jp_remove(*root, &p, NULL);
	} else if (strcmp(name, "replace") == 0) {
		if (p.n > 0 && (rc = jp_remove(*root, &p, NULL)) < 0)
			goto out;
		rc = jp_add(root, &p, json_deep_copy(value));
	} else if (strcmp(name, "test") == 0) {
		rc = jp_test(*root, &p, value);
	} else if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
		if (!from) {
			rc = err_set(BERR_INVALID, "missing \"from\"");
			goto out;
		}
		if ((rc = jptr_parse(from, &f)) < 0)
			goto out;
		rc = jp_move_or_copy(root, &p, from, &f, name[0] == 'm');
	} else {
		rc = err_set(BERR_INVALID, "unknown operation");
	}
out:
	jptr_release(&p);
	jptr_release(&f);
	if (rc < 0)
		return err_prefix(BERR_INVALID, "op %zu (%s %s)", i, name, path);
	return 0;
}

int patch_apply_json_patch(json_t *doc, const json_t *ops)
{
	json_t *root;
	size_t i;
	int rc = 0;

	if (!json_is_object(doc))
		return err_set(BERR_INVALID, "json patch: document is not an object");
	if (!json_is_array(ops))
		return err_set(BERR_INVALID, "json patch: not an array of operations");
	root = json_deep_copy(doc);
	if (!root)
		return err_set(BERR_NOMEM, "json patch: out of memory");
	for (i = 0; i < json_array_size(ops); i++) {
		if ((rc = jp_one(&root, json_array_get(ops, i), i)) < 0)
			goto out;
	}
	rc = replace_object_contents(doc, root);
out:
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* RFC 7386                                                            */
/* ------------------------------------------------------------------ */

static int merge_into(json_t *target, const json_t *patch, int depth)
{
	const char *k;
	json_t *v;

	if (depth > PATCH_MAX_DEPTH)
		return err_set(BERR_TOOLARGE, "merge patch nested deeper than %d", PATCH_MAX_DEPTH);
	json_object_foreach((json_t *)patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(target, k);
		} else if (json_is_object(v)) {
			json_t *t = json_object_get(target, k);
			if (!json_is_object(t)) {
				t = json_object();
				if (!t || json_object_set_new(target, k, t) < 0)
					return err_set(BERR_NOMEM, "out of memory");
			}
			int rc = merge_into(t, v, depth + 1);
			if (rc < 0)
				return rc;
		} else {
			if (json_object_set_new(target, k, json_deep_copy(v)) < 0)
				return err_set(BERR_NOMEM, "out of memory");
		}
	}
	return 0;
}

int patch_apply_merge_nocopy(json_t *doc, const json_t *patch)
{
	if (!json_is_object(doc))
		return err_set(BERR_INVALID, "merge patch: document is not an object");
	if (!json_is_object(patch))
		return err_set(BERR_INVALID, "merge patch: patch is not an object");
	return merge_into(doc, patch, 0);
}

int patch_apply_merge(json_t *doc, const json_t *patch)
{
	int rc;
	json_t *copy;

	if (!json_is_object(doc) || !json_is_object(patch))
		return patch_apply_merge_nocopy(doc, patch);
	copy = json_deep_copy(doc);
	if (!copy)
		return err_set(BERR_NOMEM, "merge patch: out of memory");
	if ((rc = merge_into(copy, patch, 0)) == 0)
		rc = replace_object_contents(doc, copy);
	json_decref(copy);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Strategic merge patch: apply                                        */
/* ------------------------------------------------------------------ */

static int smp_map(json_t *dst, const json_t *patch, const struct mk_node *node, int depth,
		   bool *ret_delete);

static bool is_directive(const char *k)
{
	return k[0] == '$';
}

/* Index of the first item of list whose key member equals kv, or -1. */
static ssize_t find_keyed(const json_t *list, const char *key, const json_t *kv)
{
	size_t i;
	json_t *it;
	json_array_foreach(list, i, it) {
		json_t *v = json_object_get(it, key);
		if (v && jx_equal(v, kv))
			return (ssize_t)i;
	}
	return -1;
}

static ssize_t find_value(const json_t *list, const json_t *v)
{
	size_t i;
	json_t *it;
	json_array_foreach(list, i, it)
		if (jx_equal(it, v))
			return (ssize_t)i;
	return -1;
}

/* Position of item in an order list: by merge key for keyed lists, by value
 * for scalar lists. */
static ssize_t order_pos(const json_t *order, const char *key, const json_t *item)
{
	if (!order)
		return -1;
	if (key) {
		json_t *kv = json_object_get(item, key);
		return kv ? find_keyed(order, key, kv) : -1;
	}
	return find_value(order, item);
}

struct ord_item {
	json_t *v;
	ssize_t pos;  /* sort position within its group */
	size_t seq;   /* stable tie-break */
	ssize_t spos; /* position in the server's list, -1 when new */
};

static int ord_cmp(const void *a, const void *b)
{
	const struct ord_item *x = a, *y = b;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/*
 * Orders a merged list the way the API server does: items named by the
 * patch (patch_order: $setElementOrder, else the patch list) are sorted by
 * it, items only the server had keep their server order, and the two runs
 * are merged by the positions both have in the server's original list.
 */
static int order_list(json_t *list, const json_t *patch_order, const json_t *server,
		      const char *key)
{
	size_t n = json_array_size(list), np = 0, ns = 0, i;
	struct ord_item *pi, *si;
	int rc = 0;

	if (n < 2 || !patch_order)
		return 0;
	pi = calloc(n, sizeof(*pi));
	si = calloc(n, sizeof(*si));
	if (!pi || !si) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(list, i);
		ssize_t pp = order_pos(patch_order, key, it), sp = order_pos(server, key, it);
		if (pp >= 0)
			pi[np++] = (struct ord_item){it, pp, i, sp};
		else
			si[ns++] = (struct ord_item){it, sp, i, sp};
	}
	qsort(pi, np, sizeof(*pi), ord_cmp);
	qsort(si, ns, sizeof(*si), ord_cmp);
	/* pos of patch items now: the server position of the next patch item
	 * (from here on) that the server knows, so the merge below is linear */
	for (size_t j = np, next = (size_t)-1; j-- > 0;) {
		if (pi[j].spos >= 0)
			next = (size_t)pi[j].spos;
		pi[j].pos = next == (size_t)-1 ? -1 : (ssize_t)next;
	}
	json_t *out = json_array();
	if (!out) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	size_t a = 0, b = 0;
	while (a < ns || b < np) {
		json_t *pick;
		if (a >= ns) {
			pick = pi[b++].v;
		} else if (b >= np) {
			pick = si[a++].v;
		} else {
			/* a new patch item (not on the server) sits where the
			 * next patch item the server knows sits */
			ssize_t ls = si[a].spos, rs = pi[b].pos;
			if (rs < 0 || (ls >= 0 && ls < rs))
				pick = si[a++].v;
			else
				pick = pi[b++].v;
		}
		json_array_append(out, pick);
	}
	json_array_clear(list);
	json_array_extend(list, out);
	json_decref(out);
out:
	free(pi);
	free(si);
	return rc;
}

/* A fresh object built from a patch object alone (directives processed,
 * nulls dropped), for a field the document does not have yet. New
 * reference; NULL with *rc = 0 when the patch asked to delete it, NULL with
 * *rc < 0 on error. */
static json_t *smp_fresh(const json_t *pv, const struct mk_field *f, int depth, int *rc);

static int smp_keyed_list(json_t *cur, const json_t *patch, const struct mk_field *f, int depth)
{
	size_t i;
	json_t *p;

	json_array_foreach(patch, i, p) {
		if (!json_is_object(p))
			return err_set(BERR_INVALID, "list \"%s\": item %zu is not an object", f->name, i);
		const char *pd = jx_str(p, DIR_PATCH);
		if (pd && strcmp(pd, "replace") == 0)
			continue; /* handled by the caller */
		json_t *kv = json_object_get(p, f->key);
		if (!kv)
			return err_set(BERR_INVALID, "list \"%s\": item %zu has no merge key \"%s\"",
				       f->name, i, f->key);
		ssize_t at = find_keyed(cur, f->key, kv);
		if (pd && strcmp(pd, "delete") == 0) {
			while (at >= 0) {
				json_array_remove(cur, (size_t)at);
				at = find_keyed(cur, f->key, kv);
			}
			continue;
		}
		if (at >= 0 && json_is_object(json_array_get(cur, (size_t)at))) {
			bool del = false;
			int rc = smp_map(json_array_get(cur, (size_t)at), p, f->child, depth + 1, &del);
			if (rc < 0)
				return rc;
			if (del)
				json_array_remove(cur, (size_t)at);
		} else {
			json_t *nv = json_object();
			bool del = false;
			int rc;
			if (!nv)
				return err_set(BERR_NOMEM, "out of memory");
			if ((rc = smp_map(nv, p, f->child, depth + 1, &del)) < 0) {
				json_decref(nv);
				return rc;
			}
			if (del)
				json_decref(nv);
			else if (at >= 0)
				json_array_set_new(cur, (size_t)at, nv);
			else
				json_array_append_new(cur, nv);
		}
	}
	return 0;
}

/* True when patch (a list) holds a {"$patch":"replace"} item. */
static bool list_has_replace(const json_t *patch)
{
	size_t i;
	json_t *p;
	json_array_foreach(patch, i, p) {
		const char *d = jx_str(p, DIR_PATCH);
		if (d && strcmp(d, "replace") == 0)
			return true;
	}
	return false;
}

/* The list value of field k after patching cur (may be NULL) with pv. New
 * reference or NULL with *rc set. */
static json_t *smp_list(json_t *cur, const json_t *pv, const struct mk_field *f,
			const json_t *order, int depth, int *rc)
{
	json_t *res = NULL, *server = NULL;
	enum mk_list strat = f ? f->list : MK_LIST_ATOMIC;
	size_t i;
	json_t *p;

	*rc = 0;
	if (strat != MK_LIST_ATOMIC && (json_array_size(pv) > PATCH_MAX_MERGE_ITEMS ||
					json_array_size(cur) > PATCH_MAX_MERGE_ITEMS)) {
		*rc = too_long(f->name);
		return NULL;
	}
	if (strat == MK_LIST_ATOMIC || !json_is_array(cur) || list_has_replace(pv)) {
		/* whole replacement; a keyed patch list still loses its
		 * directives and becomes plain items */
		if (strat == MK_LIST_MAP) {
			res = json_array();
			json_array_foreach(pv, i, p) {
				const char *d = jx_str(p, DIR_PATCH);
				if (d && (strcmp(d, "replace") == 0 || strcmp(d, "delete") == 0))
					continue;
				json_t *nv = json_is_object(p) ? smp_fresh(p, f, depth, rc) : json_deep_copy(p);
				if (*rc < 0) {
					json_decref(res);
					return NULL;
				}
				if (nv)
					json_array_append_new(res, nv);
			}
			if (!list_has_replace(pv) && (*rc = order_list(res, order ? order : pv, NULL, f->key)) < 0) {
				json_decref(res);
				return NULL;
			}
		} else {
			res = json_deep_copy(pv);
		}
		if (!res)
			*rc = err_set(BERR_NOMEM, "out of memory");
		return res;
	}
	server = json_copy(cur); /* shallow: only for positions */
	res = json_incref(cur);
	if (strat == MK_LIST_SET) {
		json_array_foreach(pv, i, p) {
			if (find_value(res, p) < 0)
				json_array_append_new(res, json_deep_copy(p));
		}
		*rc = order_list(res, order, server, NULL);
	} else {
		*rc = smp_keyed_list(res, pv, f, depth);
		if (*rc == 0)
			*rc = order_list(res, order ? order : pv, server, f->key);
	}
	json_decref(server);
	if (*rc < 0) {
		json_decref(res);
		return NULL;
	}
	return res;
}

static json_t *smp_fresh(const json_t *pv, const struct mk_field *f, int depth, int *rc)
{
	json_t *nv = json_object();
	bool del = false;
	if (!nv) {
		*rc = err_set(BERR_NOMEM, "out of memory");
		return NULL;
	}
	if ((*rc = smp_map(nv, pv, f ? f->child : NULL, depth + 1, &del)) < 0 || del) {
		json_decref(nv);
		return NULL;
	}
	return nv;
}

/* Applies the map-level directives that act before merging. */
static int smp_pre_directives(json_t *dst, const json_t *patch)
{
	const char *k;
	json_t *v;

	json_t *retain = json_object_get(patch, DIR_RETAIN);
	if (retain) {
		if (!json_is_array(retain))
			return err_set(BERR_INVALID, "%s must be a list", DIR_RETAIN);
		void *tmp;
		json_object_foreach_safe(dst, tmp, k, v) {
			bool keep = false;
			size_t i;
			json_t *r;
			json_array_foreach(retain, i, r)
				if (json_is_string(r) && strcmp(json_string_value(r), k) == 0)
					keep = true;
			if (!keep)
				json_object_del(dst, k);
		}
	}
	json_object_foreach((json_t *)patch, k, v) {
		if (strncmp(k, DIR_DELPRIM, strlen(DIR_DELPRIM)) != 0)
			continue;
		const char *field = k + strlen(DIR_DELPRIM);
		json_t *list = json_object_get(dst, field);
		if (!json_is_array(v))
			return err_set(BERR_INVALID, "%s must be a list", k);
		if (!json_is_array(list))
			continue;
		if (json_array_size(v) > PATCH_MAX_MERGE_ITEMS || json_array_size(list) > PATCH_MAX_MERGE_ITEMS)
			return too_long(field);
		size_t i;
		json_t *d;
		json_array_foreach(v, i, d) {
			ssize_t at;
			while ((at = find_value(list, d)) >= 0)
				json_array_remove(list, (size_t)at);
		}
	}
	return 0;
}

static int smp_set_field(json_t *dst, const char *k, const json_t *v, const struct mk_node *node,
			 const json_t *patch, int depth)
{
	const struct mk_field *f = mk_node_field(node, k);
	json_t *cur = json_object_get(dst, k);
	int rc = 0;

	if (json_is_null(v)) {
		json_object_del(dst, k);
		return 0;
	}
	if (json_is_object(v)) {
		bool del = false;
		if (json_is_object(cur)) {
			if ((rc = smp_map(cur, v, f ? f->child : NULL, depth + 1, &del)) < 0)
				return rc;
			if (del)
				json_object_del(dst, k);
			return 0;
		}
		json_t *nv = smp_fresh(v, f, depth, &rc);
		if (rc < 0)
			return rc;
		if (!nv) {
			json_object_del(dst, k);
			return 0;
		}
		return json_object_set_new(dst, k, nv) < 0 ? err_set(BERR_NOMEM, "out of memory") : 0;
	}
	if (json_is_array(v)) {
		char okey[256];
		int n = snprintf(okey, sizeof(okey), "%s%s", DIR_ORDER, k);
		const json_t *order = n > 0 && (size_t)n < sizeof(okey) ? json_object_get(patch, okey) : NULL;
		json_t *nv = smp_list(cur, v, f, order, depth, &rc);
		if (rc < 0)
			return rc;
		if (nv != cur && json_object_set_new(dst, k, nv) < 0)
			return err_set(BERR_NOMEM, "out of memory");
		if (nv == cur)
			json_decref(nv);
		return 0;
	}
	return json_object_set_new(dst, k, json_deep_copy(v)) < 0 ? err_set(BERR_NOMEM, "out of memory") : 0;
}

/* $setElementOrder for a field the patch did not otherwise touch. */
static int smp_order_only(json_t *dst, const json_t *patch, const struct mk_node *node)
{
	const char *k;
	json_t *v;
	size_t plen = strlen(DIR_ORDER);

	json_object_foreach((json_t *)patch, k, v) {
		if (strncmp(k, DIR_ORDER, plen) != 0)
			continue;
		const char *field = k + plen;
		if (json_object_get(patch, field))
			continue; /* ordered while merging */
		json_t *list = json_object_get(dst, field);
		if (!json_is_array(list) || !json_is_array(v))
			continue;
		const struct mk_field *f = mk_node_field(node, field);
		const char *key = f && f->list == MK_LIST_MAP ? f->key : NULL;
		if (f && f->list == MK_LIST_ATOMIC)
			continue;
		if (json_array_size(v) > PATCH_MAX_MERGE_ITEMS || json_array_size(list) > PATCH_MAX_MERGE_ITEMS)
			return too_long(field);
		json_t *server = json_copy(list);
		int rc = order_list(list, v, server, key);
		json_decref(server);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int smp_map(json_t *dst, const json_t *patch, const struct mk_node *node, int depth,
		   bool *ret_delete)
{
	const char *k;
	json_t *v;
	int rc;

	if (depth > PATCH_MAX_DEPTH)
		return err_set(BERR_TOOLARGE, "strategic merge patch nested deeper than %d", PATCH_MAX_DEPTH);
	const char *pd = jx_str(patch, DIR_PATCH);
	if (json_object_get(patch, DIR_PATCH) && !pd)
		return err_set(BERR_INVALID, "%s must be a string", DIR_PATCH);
	if (pd && strcmp(pd, "delete") == 0) {
		*ret_delete = true;
		return 0;
	}
	if (pd && strcmp(pd, "replace") == 0)
		json_object_clear(dst);
	else if (pd && strcmp(pd, "merge") != 0)
		return err_set(BERR_INVALID, "unknown %s value \"%s\"", DIR_PATCH, pd);

	if ((rc = smp_pre_directives(dst, patch)) < 0)
		return rc;
	json_object_foreach((json_t *)patch, k, v) {
		if (is_directive(k))
			continue;
		if ((rc = smp_set_field(dst, k, v, node, patch, depth)) < 0)
			return err_prefix(rc, "%s", k);
	}
	return smp_order_only(dst, patch, node);
}

int patch_apply_strategic_nocopy(json_t *doc, const json_t *patch, const char *group,
				 const char *kind)
{
	bool del = false;
	int rc;

	if (!json_is_object(doc))
		return err_set(BERR_INVALID, "strategic merge patch: document is not an object");
	if (!json_is_object(patch))
		return err_set(BERR_INVALID, "strategic merge patch: patch is not an object");
	rc = smp_map(doc, patch, mk_kind_schema(group, kind), 0, &del);
	if (rc < 0)
		return err_prefix(rc, "strategic merge patch");
	if (del)
		return err_set(BERR_INVALID, "strategic merge patch: cannot delete the document root");
	return 0;
}

int patch_apply_strategic(json_t *doc, const json_t *patch, const char *group, const char *kind)
{
	int rc;
	json_t *copy;

	if (!json_is_object(doc) || !json_is_object(patch))
		return patch_apply_strategic_nocopy(doc, patch, group, kind);
	copy = json_deep_copy(doc);
	if (!copy)
		return err_set(BERR_NOMEM, "strategic merge patch: out of memory");
	if ((rc = patch_apply_strategic_nocopy(copy, patch, group, kind)) == 0)
		rc = replace_object_contents(doc, copy);
	json_decref(copy);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Creating patches                                                    */
/* ------------------------------------------------------------------ */

/*
 * One recursive pass computes kubectl's two halves at once: additions and
 * changes are taken relative to current (what the server has), deletions
 * relative to original (what we applied last time). With node NULL every
 * list is atomic and no directive is produced, which is exactly a JSON merge
 * patch; that is how custom resources and patch_create_merge use it.
 */
struct tw {
	bool strategic;
};

static int tw_map(const struct tw *t, const json_t *o, const json_t *m, const json_t *c,
		  const struct mk_node *node, bool retain_keys, int depth, json_t **ret);

/* Stores v (stolen) at (*obj)[k], creating *obj on first use: most maps
 * visited produce no patch, so their patch object is never allocated. */
static int set_new(json_t **obj, const char *k, json_t *v)
{
	if (!*obj && !(*obj = json_object())) {
		json_decref(v);
		return err_set(BERR_NOMEM, "out of memory");
	}
	if (!v || json_object_set_new(*obj, k, v) < 0)
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

static int set_directive(json_t **obj, const char *prefix, const char *field, json_t *v)
{
	char key[512];
	size_t pl = strlen(prefix), fl = strlen(field);
	if (pl + fl >= sizeof(key)) {
		json_decref(v);
		return err_set(BERR_TOOLARGE, "field name \"%.64s...\" too long", field);
	}
	memcpy(key, prefix, pl);
	memcpy(key + pl, field, fl + 1);
	return set_new(obj, key, v);
}

static int append_new(json_t **list, json_t *v)
{
	if (!*list && !(*list = json_array())) {
		json_decref(v);
		return err_set(BERR_NOMEM, "out of memory");
	}
	if (!v || json_array_append_new(*list, v) < 0)
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

static int tw_keyed_list(const struct tw *t, const char *k, const json_t *o, const json_t *m,
			 const json_t *c, const struct mk_field *f, int depth, json_t **patch)
{
	json_t *plist = NULL, *order = NULL, *mi;
	size_t i;
	int rc = 0;

	if (json_array_size(o) > PATCH_MAX_MERGE_ITEMS || json_array_size(m) > PATCH_MAX_MERGE_ITEMS ||
	    json_array_size(c) > PATCH_MAX_MERGE_ITEMS)
		return too_long(k);

	json_array_foreach(m, i, mi) {
		json_t *kv = json_object_get(mi, f->key);
		if (!json_is_object(mi) || !kv) {
			rc = err_set(BERR_INVALID, "%s[%zu]: no merge key \"%s\"", k, i, f->key);
			goto out;
		}
		ssize_t ci = find_keyed(c, f->key, kv);
		if (ci < 0) {
			if ((rc = append_new(&plist, json_deep_copy(mi))) < 0)
				goto out;
			continue;
		}
		ssize_t oi = json_is_array(o) ? find_keyed(o, f->key, kv) : -1;
		json_t *sub = NULL;
		rc = tw_map(t, oi >= 0 ? json_array_get(o, (size_t)oi) : NULL, mi,
			    json_array_get(c, (size_t)ci), f->child, f->retain_keys, depth + 1, &sub);
		if (rc < 0)
			goto out;
		if (!sub)
			continue;
		json_object_set(sub, f->key, kv);
		if ((rc = append_new(&plist, sub)) < 0)
			goto out;
	}
	if (json_is_array(o)) {
		json_array_foreach(o, i, mi) {
			json_t *kv = json_object_get(mi, f->key);
			if (!kv || find_keyed(m, f->key, kv) >= 0)
				continue;
			if ((rc = append_new(&plist, json_pack("{sOss}", f->key, kv, DIR_PATCH, "delete"))) < 0)
				goto out;
		}
	}
	if (!plist)
		goto out;
	json_array_foreach(m, i, mi)
		if ((rc = append_new(&order, json_pack("{sO}", f->key, json_object_get(mi, f->key)))) < 0)
			goto out;
	if ((rc = set_new(patch, k, json_incref(plist))) < 0)
		goto out;
	rc = set_directive(patch, DIR_ORDER, k, order ? json_incref(order) : json_array());
out:
	json_decref(plist);
	json_decref(order);
	return rc < 0 ? rc : 0;
}

static int tw_set_list(const char *k, const json_t *o, const json_t *m, const json_t *c, json_t **patch)
{
	json_t *adds = NULL, *dels = NULL, *v;
	size_t i;
	int rc = 0;

	if (json_array_size(o) > PATCH_MAX_MERGE_ITEMS || json_array_size(m) > PATCH_MAX_MERGE_ITEMS ||
	    json_array_size(c) > PATCH_MAX_MERGE_ITEMS)
		return too_long(k);

	json_array_foreach(m, i, v)
		if (find_value(c, v) < 0 && (rc = append_new(&adds, json_deep_copy(v))) < 0)
			goto out;
	if (json_is_array(o))
		json_array_foreach(o, i, v)
			if (find_value(m, v) < 0 && (rc = append_new(&dels, json_deep_copy(v))) < 0)
				goto out;
	if (adds && (rc = set_new(patch, k, json_incref(adds))) < 0)
		goto out;
	if (dels && (rc = set_directive(patch, DIR_DELPRIM, k, json_incref(dels))) < 0)
		goto out;
	if (adds || dels)
		rc = set_directive(patch, DIR_ORDER, k, json_deep_copy(m));
out:
	json_decref(adds);
	json_decref(dels);
	return rc;
}

/* Sorted keys of m with non-null values: the $retainKeys list. */
static json_t *retain_list(const json_t *m)
{
	const char *keys[256];
	size_t n = 0;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)m, k, v)
		if (!json_is_null(v) && !is_directive(k) && n < 256)
			keys[n++] = k;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *tmp = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = tmp;
		}
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++)
		json_array_append_new(list, json_string(keys[i]));
	return list;
}

static int tw_field(const struct tw *t, const char *k, const json_t *ov, const json_t *mv,
		    const json_t *cv, const struct mk_node *node, int depth, json_t **patch)
{
	const struct mk_field *f = t->strategic ? mk_node_field(node, k) : NULL;
	int rc;

	if (json_is_null(mv))
		return cv ? set_new(patch, k, json_null()) : 0;
	if (!cv)
		return set_new(patch, k, json_deep_copy(mv));
	if (json_is_object(mv) && json_is_object(cv)) {
		json_t *sub = NULL;
		rc = tw_map(t, json_is_object(ov) ? ov : NULL, mv, cv, f ? f->child : NULL,
			    f && f->retain_keys, depth + 1, &sub);
		if (rc < 0)
			return err_prefix(rc, "%s", k);
		return sub ? set_new(patch, k, sub) : 0;
	}
	if (json_is_array(mv) && json_is_array(cv) && f && f->list == MK_LIST_MAP)
		return tw_keyed_list(t, k, ov, mv, cv, f, depth, patch);
	if (json_is_array(mv) && json_is_array(cv) && f && f->list == MK_LIST_SET)
		return tw_set_list(k, ov, mv, cv, patch);
	if (jx_equal(mv, cv))
		return 0;
	return set_new(patch, k, json_deep_copy(mv));
}

/* *ret is the patch object, or NULL when there is nothing to patch. */
static int tw_map(const struct tw *t, const json_t *o, const json_t *m, const json_t *c,
		  const struct mk_node *node, bool retain_keys, int depth, json_t **ret)
{
	json_t *patch = NULL, *mv, *ov;
	const char *k;
	int rc = 0;

	if (depth > PATCH_MAX_DEPTH)
		return err_set(BERR_TOOLARGE, "object nested deeper than %d", PATCH_MAX_DEPTH);
	json_object_foreach((json_t *)m, k, mv) {
		if (t->strategic && is_directive(k))
			continue;
		if ((rc = tw_field(t, k, o ? json_object_get(o, k) : NULL, mv,
				   c ? json_object_get(c, k) : NULL, node, depth, &patch)) < 0)
			goto out;
	}
	if (o) {
		json_object_foreach((json_t *)o, k, ov) {
			if ((t->strategic && is_directive(k)) || json_object_get(m, k))
				continue;
			if ((rc = set_new(&patch, k, json_null())) < 0)
				goto out;
		}
	}
	if (retain_keys && t->strategic && patch)
		rc = set_new(&patch, DIR_RETAIN, retain_list(m));
out:
	if (rc < 0) {
		json_decref(patch);
		return rc;
	}
	*ret = patch;
	return 0;
}

static int tw_top(const struct tw *t, const json_t *o, const json_t *m, const json_t *c,
		  const struct mk_node *node, json_t **ret)
{
	json_t *patch = NULL;
	int rc = tw_map(t, o, m, c, node, false, 0, &patch);
	if (rc < 0)
		return rc;
	if (!patch && !(patch = json_object()))
		return err_set(BERR_NOMEM, "out of memory");
	*ret = patch;
	return 0;
}

int patch_create_merge(const json_t *original, const json_t *modified, json_t **ret_patch)
{
	struct tw t = {.strategic = false};
	if (!json_is_object(original) || !json_is_object(modified))
		return err_set(BERR_INVALID, "merge patch: both documents must be objects");
	return tw_top(&t, original, modified, original, NULL, ret_patch);
}

int patch_create_three_way(const json_t *original, const json_t *modified, const json_t *current,
			   const char *group, const char *kind, json_t **ret_patch)
{
	struct tw t = {.strategic = mk_is_builtin(group, kind)};
	int rc;

	if (original && !json_is_object(original))
		return err_set(BERR_INVALID, "three-way patch: last-applied is not an object");
	if (!json_is_object(modified) || !json_is_object(current))
		return err_set(BERR_INVALID, "three-way patch: desired and live must be objects");
	rc = tw_top(&t, original, modified, current, t.strategic ? mk_kind_schema(group, kind) : NULL,
		    ret_patch);
	if (rc < 0)
		return err_prefix(rc, "three-way patch");
	return 0;
}
