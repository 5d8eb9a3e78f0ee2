/*
 * apply — server-side apply and managedFields (KUBE-API.md §4, §5.5).
 *
 * A field set is a JSON object used as a set of leaf paths. A path is the
 * list of fieldsV1 segments joined by '\x1f': "f:<field>" for a map member,
 * "k:<json of the key>" for an item of a keyed list, "v:<json>" for a member
 * of a set list, and "." for a keyed item itself. managedFields' fieldsV1
 * is the same set as a tree. Lists of built-in types merge by the keys of
 * §5.4 (by field name, which is unambiguous for the fields we serve);
 * lists of custom resources are atomic.
 *
 * Apply: the applied configuration's leaves become the manager's set;
 * changing a leaf whose value another manager owns is a conflict unless
 * forced (then the others lose it); leaves the manager applied before and
 * left out now, and that nobody else owns, are removed.
 * Update (any other write): the writer's Update entry gains the leaves whose
 * value it changed; other managers lose them.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "store_int.h"
#include "str.h"

#define SEP "\x1f"

enum lkind { L_ATOMIC, L_MAP, L_SET };

/* The list strategy of field name (of a built-in type); *key gets the merge
 * key for L_MAP. ports: by containerPort inside containers, by port in
 * Services (decided by the items). */
static enum lkind list_kind(const struct ks_type *t, const char *name, const json_t *items, const char **key)
{
	static const char *const by_name[] = { "containers", "initContainers", "ephemeralContainers", "env",
					       "volumes", "imagePullSecrets", NULL };
	if (t->custom)
		return L_ATOMIC;
	for (const char *const *p = by_name; *p; p++)
		if (strcmp(name, *p) == 0) {
			*key = "name";
			return L_MAP;
		}
	if (strcmp(name, "ports") == 0) {
		json_t *first = json_array_get(items, 0);
		*key = json_object_get(first, "containerPort") ? "containerPort" : "port";
		return L_MAP;
	}
	if (strcmp(name, "volumeMounts") == 0) {
		*key = "mountPath";
		return L_MAP;
	}
	if (strcmp(name, "volumeDevices") == 0) {
		*key = "devicePath";
		return L_MAP;
	}
	if (strcmp(name, "hostAliases") == 0) {
		*key = "ip";
		return L_MAP;
	}
	if (strcmp(name, "topologySpreadConstraints") == 0) {
		*key = "topologyKey";
		return L_MAP;
	}
	if (strcmp(name, "ownerReferences") == 0) {
		*key = "uid";
		return L_MAP;
	}
	if (strcmp(name, "conditions") == 0) {
		*key = "type";
		return L_MAP;
	}
	if (strcmp(name, "finalizers") == 0)
		return L_SET;
	return L_ATOMIC;
}

static bool skip_meta(const char *k)
{
	static const char *const skip[] = { "name", "namespace", "uid", "resourceVersion", "generation",
					    "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp",
					    "deletionGracePeriodSeconds", "generateName", NULL };
	for (const char *const *p = skip; *p; p++)
		if (strcmp(k, *p) == 0)
			return true;
	return false;
}

static void set_add(json_t *set, const char *path)
{
	json_object_set_new(set, path, json_true());
}

static char *key_json(const char *key, const json_t *val)
{
	json_t *o = json_object();
	json_object_set(o, key, (json_t *)val);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static void flatten(const struct ks_type *t, const json_t *v, const char *prefix, const char *fname, json_t *set);

static void flatten_member(const struct ks_type *t, const char *k, const json_t *v, const char *prefix, json_t *set)
{
	char *p = str_printf("%s%sf:%s", prefix, *prefix ? SEP : "", k);
	if (!p)
		return;
	if (json_is_array(v)) {
		const char *key = NULL;
		enum lkind lk = list_kind(t, k, v, &key);
		size_t i;
		json_t *item;
		if (lk == L_MAP && json_array_size(v)) {
			json_array_foreach(v, i, item) {
				json_t *kv = json_object_get(item, key);
				char *kj = kv ? key_json(key, kv) : NULL;
				if (!kj)
					continue;
				char *ip = str_printf("%s" SEP "k:%s", p, kj);
				char *dot = str_printf("%s" SEP ".", ip);
				if (dot)
					set_add(set, dot);
				flatten(t, item, ip, NULL, set);
				free(dot);
				free(ip);
				free(kj);
			}
		} else if (lk == L_SET && json_array_size(v)) {
			json_array_foreach(v, i, item) {
				char *j = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
				char *ip = j ? str_printf("%s" SEP "v:%s", p, j) : NULL;
				if (ip)
					set_add(set, ip);
				free(ip);
				free(j);
			}
		} else {
			set_add(set, p);
		}
	} else if (json_is_object(v) && json_object_size(v)) {
		flatten(t, v, p, k, set);
	} else {
		set_add(set, p);
	}
	free(p);
}

static void flatten(const struct ks_type *t, const json_t *v, const char *prefix, const char *fname, json_t *set)
{
	const char *k;
	json_t *c;
	(void)fname;
	json_object_foreach((json_t *)v, k, c) {
		if (strcmp(k, "$patch") == 0)
			continue;
		flatten_member(t, k, c, prefix, set);
	}
}

/* The field set of a whole object as the given subresource sees it. */
static json_t *object_fields(const struct ks_type *t, const json_t *obj, const char *sub)
{
	json_t *set = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		if (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0)
			continue;
		bool is_status = strcmp(k, "status") == 0;
		if (sub && strcmp(sub, "status") == 0 ? !is_status : (is_status && t->has_status))
			continue;
		if (strcmp(k, "metadata") == 0) {
			const char *mk;
			json_t *mv;
			json_object_foreach(v, mk, mv) {
				if (skip_meta(mk))
					continue;
				char *p = str_dup("f:metadata");
				flatten_member(t, mk, mv, p, set);
				free(p);
			}
			continue;
		}
		flatten_member(t, k, v, "", set);
	}
	return set;
}

/* Resolves a path in obj: the value, or NULL. */
static json_t *path_get(json_t *obj, const char *path, json_t **ret_parent, char **ret_last)
{
	char *copy = str_dup(path);
	json_t *cur = obj, *parent = NULL;
	char *save = NULL, *last = NULL;
	for (char *seg = strtok_r(copy, SEP, &save); seg && cur; seg = strtok_r(NULL, SEP, &save)) {
		parent = cur;
		free(last);
		last = str_dup(seg);
		if (strncmp(seg, "f:", 2) == 0) {
			cur = json_is_object(cur) ? json_object_get(cur, seg + 2) : NULL;
		} else if (strncmp(seg, "k:", 2) == 0) {
			json_t *kv = json_loads(seg + 2, 0, NULL);
			json_t *found = NULL;
			size_t i;
			json_t *item;
			const char *kk;
			json_t *kval;
			json_array_foreach(cur, i, item) {
				bool match = true;
				json_object_foreach(kv, kk, kval) if (!jx_equal(json_object_get(item, kk), kval)) match = false;
				if (match) {
					found = item;
					break;
				}
			}
			json_decref(kv);
			cur = found;
		} else if (strncmp(seg, "v:", 2) == 0) {
			json_t *val = json_loads(seg + 2, JSON_DECODE_ANY, NULL);
			json_t *found = NULL;
			size_t i;
			json_t *item;
			json_array_foreach(cur, i, item) if (jx_equal(item, val)) found = item;
			json_decref(val);
			cur = found;
		} else if (strcmp(seg, ".") == 0) {
			/* the item itself */
		}
	}
	free(copy);
	if (ret_parent)
		*ret_parent = parent;
	if (ret_last)
		*ret_last = last;
	else
		free(last);
	return cur;
}

/* Removes the leaf at path from obj (nothing when absent). */
static void path_del(json_t *obj, const char *path)
{
	char *p = str_dup(path);
	if (!p)
		return;
	size_t n = strlen(p);
	bool whole_item = n >= 2 && strcmp(p + n - 2, SEP ".") == 0;
	if (whole_item)
		p[n - 2] = '\0';
	json_t *parent = NULL;
	char *last = NULL;
	json_t *v = path_get(obj, p, &parent, &last);
	if (v && parent && last) {
		if (strncmp(last, "f:", 2) == 0 && json_is_object(parent)) {
			json_object_del(parent, last + 2);
		} else if (json_is_array(parent)) {
			size_t i;
			json_t *item;
			json_array_foreach(parent, i, item) if (item == v) {
				json_array_remove(parent, i);
				break;
			}
		}
	}
	free(last);
	free(p);
}

/* Human form of a path for conflict messages: .spec.containers[name="web"].image */
static void path_human(const char *path, struct buf *out)
{
	char *copy = str_dup(path);
	char *save = NULL;
	for (char *seg = strtok_r(copy, SEP, &save); seg; seg = strtok_r(NULL, SEP, &save)) {
		if (strncmp(seg, "f:", 2) == 0) {
			buf_printf(out, ".%s", seg + 2);
		} else if (strncmp(seg, "k:", 2) == 0) {
			json_t *kv = json_loads(seg + 2, 0, NULL);
			const char *kk;
			json_t *kval;
			buf_putc(out, '[');
			int first = 1;
			json_object_foreach(kv, kk, kval) {
				char *j = json_dumps(kval, JSON_COMPACT | JSON_ENCODE_ANY);
				buf_printf(out, "%s%s=%s", first ? "" : ",", kk, j ? j : "");
				free(j);
				first = 0;
			}
			buf_putc(out, ']');
			json_decref(kv);
		} else if (strncmp(seg, "v:", 2) == 0) {
			buf_printf(out, "[%s]", seg + 2);
		}
	}
	free(copy);
}

/* fieldsV1 tree <-> path set */
static json_t *set_to_tree(const json_t *set)
{
	json_t *tree = json_object();
	const char *path;
	json_t *v;
	json_object_foreach((json_t *)set, path, v) {
		char *copy = str_dup(path);
		char *save = NULL;
		json_t *cur = tree;
		for (char *seg = strtok_r(copy, SEP, &save); seg; seg = strtok_r(NULL, SEP, &save))
			cur = jx_obj_ensure(cur, seg);
		free(copy);
	}
	return tree;
}

static void tree_to_set_rec(const json_t *tree, const char *prefix, json_t *set)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)tree, k, v) {
		char *p = str_printf("%s%s%s", prefix, *prefix ? SEP : "", k);
		if (!p)
			continue;
		if (json_object_size(v) == 0 || strcmp(k, ".") == 0)
			set_add(set, p);
		else
			tree_to_set_rec(v, p, set);
		free(p);
	}
}

static json_t *tree_to_set(const json_t *tree)
{
	json_t *set = json_object();
	if (json_is_object(tree))
		tree_to_set_rec(tree, "", set);
	return set;
}

/* ---- merging ----------------------------------------------------------------- */

static void merge_into(const struct ks_type *t, json_t *dst, const json_t *src);

static void merge_list(const struct ks_type *t, const char *name, json_t *parent, json_t *dst, const json_t *src)
{
	const char *key = NULL;
	enum lkind lk = list_kind(t, name, json_array_size(src) ? src : dst, &key);
	size_t i;
	json_t *item;
	if (lk == L_MAP) {
		json_array_foreach(src, i, item) {
			json_t *kv = json_object_get(item, key);
			json_t *match = NULL;
			size_t j;
			json_t *d;
			json_array_foreach(dst, j, d) if (kv && jx_equal(json_object_get(d, key), kv)) match = d;
			if (match && json_is_object(match))
				merge_into(t, match, item);
			else
				json_array_append_new(dst, json_deep_copy(item));
		}
	} else if (lk == L_SET) {
		json_array_foreach(src, i, item) {
			bool found = false;
			size_t j;
			json_t *d;
			json_array_foreach(dst, j, d) if (jx_equal(d, item)) found = true;
			if (!found)
				json_array_append_new(dst, json_deep_copy(item));
		}
	} else {
		json_object_set_new(parent, name, json_deep_copy(src));
	}
}

static void merge_into(const struct ks_type *t, json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)src, k, v) {
		json_t *d = json_object_get(dst, k);
		if (json_is_object(v) && json_is_object(d))
			merge_into(t, d, v);
		else if (json_is_array(v) && json_is_array(d))
			merge_list(t, k, dst, d, v);
		else if (json_is_null(v))
			json_object_del(dst, k);
		else
			json_object_set_new(dst, k, json_deep_copy(v));
	}
}

/* ---- managedFields ------------------------------------------------------------- */

static bool is_status(const char *sub)
{
	return sub && strcmp(sub, "status") == 0;
}

static bool entry_is(const json_t *e, const char *manager, const char *op, const char *sub)
{
	return str_eq_null(jx_str(e, "manager"), manager) && str_eq_null(jx_str(e, "operation"), op) &&
	       str_eq_null(jx_str(e, "subresource"), sub);
}

static json_t *new_entry(const struct ks_type *t, const char *manager, const char *op, const char *sub,
			 const json_t *set)
{
	char now[32];
	clock_now_rfc3339(now, sizeof(now));
	json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "manager", manager, "operation", op, "apiVersion",
			      ks_type_api_version(t), "time", now, "fieldsType", "FieldsV1", "fieldsV1", set_to_tree(set));
	if (sub)
		json_object_set_new(e, "subresource", json_string(sub));
	return e;
}

/* Removes paths from every entry except skip; drops entries left empty. */
static json_t *strip_paths(const json_t *mf, const json_t *paths, const json_t *skip)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach((json_t *)mf, i, e) {
		if (e == skip)
			continue;
		json_t *set = tree_to_set(json_object_get(e, "fieldsV1"));
		const char *p;
		json_t *v;
		bool changed = false;
		json_object_foreach((json_t *)paths, p, v) if (json_object_get(set, p)) {
			json_object_del(set, p);
			changed = true;
		}
		if (json_object_size(set) == 0) {
			json_decref(set);
			continue;
		}
		if (changed) {
			json_t *ne = json_deep_copy(e);
			json_object_set_new(ne, "fieldsV1", set_to_tree(set));
			json_array_append_new(out, ne);
		} else {
			json_array_append(out, e);
		}
		json_decref(set);
	}
	return out;
}

void managed_update(const struct ks_type *t, const json_t *old, json_t *obj, const char *manager, const char *sub)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *mf = json_object_get(meta, "managedFields");
	if (!json_is_array(mf))
		mf = old ? jx_path(old, "metadata", "managedFields", NULL) : NULL;
	json_t *now_set = object_fields(t, obj, sub);
	json_t *old_set = old ? object_fields(t, old, sub) : json_object();
	json_t *changed = json_object();
	const char *p;
	json_t *v;
	json_object_foreach(now_set, p, v) {
		if (!old || !json_object_get(old_set, p) ||
		    !jx_equal(path_get(obj, p, NULL, NULL), path_get((json_t *)old, p, NULL, NULL)))
			set_add(changed, p);
	}
	/* Leaves that vanished are nobody's any more. */
	json_t *gone = json_object();
	json_object_foreach(old_set, p, v) if (!json_object_get(now_set, p)) set_add(gone, p);
	json_t *mine = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(mf, i, e) if (entry_is(e, manager, "Update", sub)) mine = e;
	json_t *all = json_object();
	json_object_update(all, changed);
	json_object_update(all, gone);
	json_t *empty = json_array();
	json_t *out = strip_paths(mf ? mf : empty, all, mine);
	json_decref(empty);
	if (json_object_size(changed) || mine) {
		json_t *set = mine ? tree_to_set(json_object_get(mine, "fieldsV1")) : json_object();
		json_object_update(set, changed);
		json_object_foreach(gone, p, v) json_object_del(set, p);
		if (json_object_size(set))
			json_array_append_new(out, new_entry(t, manager, "Update", sub, set));
		json_decref(set);
	}
	if (json_array_size(out))
		json_object_set_new(meta, "managedFields", out);
	else {
		json_decref(out);
		json_object_del(meta, "managedFields");
	}
	json_decref(now_set);
	json_decref(old_set);
	json_decref(changed);
	json_decref(gone);
	json_decref(all);
}

/* Leaves of cfg_set whose value changes from live and that another manager
 * (other than mine, on the same side of the status split) owns: each
 * becomes a cause in *conflicts and a path in *taken. */
static void find_conflicts(const json_t *live, const json_t *cfg, const json_t *cfg_set, const json_t *mf,
			   const json_t *mine, const char *sub, json_t *conflicts, json_t *taken)
{
	const char *p;
	json_t *v, *e;
	size_t i;
	json_object_foreach((json_t *)cfg_set, p, v) {
		size_t n = strlen(p);
		if (n >= 2 && strcmp(p + n - 2, SEP ".") == 0)
			continue;
		json_t *lv = path_get((json_t *)live, p, NULL, NULL);
		json_t *cv = path_get((json_t *)cfg, p, NULL, NULL);
		if (!lv || jx_equal(lv, cv))
			continue;
		json_array_foreach((json_t *)mf, i, e) {
			if (e == mine || is_status(jx_str(e, "subresource")) != is_status(sub))
				continue;
			json_t *set = tree_to_set(json_object_get(e, "fieldsV1"));
			if (json_object_get(set, p)) {
				set_add(taken, p);
				struct buf h;
				buf_init(&h, 4096);
				path_human(p, &h);
				const char *esub = jx_str(e, "subresource");
				bool upd = str_eq_null(jx_str(e, "operation"), "Update");
				char *msg = str_printf("conflict with \"%s\"%s%s%s%s%s", jx_str(e, "manager"),
						       esub ? " with subresource \"" : "", esub ? esub : "", esub ? "\"" : "",
						       upd ? " using " : "", upd ? jx_str(e, "apiVersion") : "");
				json_array_append_new(conflicts, json_pack("{s:s,s:s,s:s}", "reason", "FieldManagerConflict",
									   "message", msg ? msg : "", "field", h.ptr));
				free(msg);
				buf_release(&h);
			}
			json_decref(set);
		}
	}
}

static int conflict_error(const struct ks_type *t, const json_t *live, json_t *conflicts)
{
	struct buf m;
	buf_init(&m, 65536);
	size_t nc = json_array_size(conflicts), i;
	json_t *e;
	buf_printf(&m, "Apply failed with %zu conflict%s: ", nc, nc == 1 ? "" : "s");
	json_array_foreach(conflicts, i, e) buf_printf(&m, "%s%s: %s", i ? "\n" : "", jx_str(e, "message"), jx_str(e, "field"));
	err_set(BERR_CONFLICT, "%s", m.ptr);
	err_set_status(409, "Conflict");
	store_err_details(jx_path_str(live, "metadata", "name", NULL), t->group, t->plural, json_incref(conflicts));
	buf_release(&m);
	return BERR_CONFLICT;
}

/* The part of cfg that is merged into the object: no apiVersion/kind or
 * server-owned metadata; only .status for the status subresource. */
static json_t *mergeable_config(const json_t *cfg, const char *sub)
{
	json_t *copy = json_deep_copy(cfg);
	json_t *cmeta = json_object_get(copy, "metadata");
	const char *mk;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(cmeta, tmp, mk, v) if (skip_meta(mk) && strcmp(mk, "name") != 0)
		json_object_del(cmeta, mk);
	json_object_del(copy, "apiVersion");
	json_object_del(copy, "kind");
	if (is_status(sub)) {
		json_t *only = json_object();
		json_t *st = json_object_get(copy, "status");
		if (st)
			json_object_set(only, "status", st);
		json_decref(copy);
		copy = only;
	}
	return copy;
}

/* The new managedFields: forced leaves leave the other entries; this
 * manager's Apply entry is the configuration's set, at its old position,
 * keeping its time stamp when the set did not change (so a repeated apply
 * is a no-op). */
static json_t *applied_managed_fields(const struct ks_type *t, const json_t *mf, const json_t *mine,
				      const json_t *taken, const json_t *prev, const json_t *cfg_set,
				      const char *manager, const char *sub)
{
	json_t *empty = json_array();
	json_t *nmf = strip_paths(mf ? mf : empty, taken, mine);
	json_decref(empty);
	json_t *me = new_entry(t, manager, "Apply", sub, cfg_set);
	if (mine && jx_equal(prev, cfg_set))
		json_object_set(me, "time", json_object_get(mine, "time"));
	json_t *ordered = json_array();
	bool placed = false;
	size_t i, j;
	json_t *e, *x;
	json_array_foreach((json_t *)mf, i, e) {
		if (e == mine) {
			json_array_append(ordered, me);
			placed = true;
			continue;
		}
		json_array_foreach(nmf, j, x) if (str_eq_null(jx_str(x, "manager"), jx_str(e, "manager")) &&
						  str_eq_null(jx_str(x, "operation"), jx_str(e, "operation")) &&
						  str_eq_null(jx_str(x, "subresource"), jx_str(e, "subresource")))
			json_array_append(ordered, x);
	}
	if (!placed)
		json_array_append(ordered, me);
	json_decref(me);
	json_decref(nmf);
	return ordered;
}

int apply_merge(const struct ks_type *t, json_t *live, const json_t *cfg, const char *manager, bool force,
		const char *sub, json_t **ret)
{
	json_t *mf = live ? jx_path(live, "metadata", "managedFields", NULL) : NULL;
	json_t *cfg_set = object_fields(t, cfg, sub);
	json_t *mine = NULL, *e, *v;
	size_t i;
	const char *p;
	json_array_foreach(mf, i, e) if (entry_is(e, manager, "Apply", sub)) mine = e;
	json_t *prev = mine ? tree_to_set(json_object_get(mine, "fieldsV1")) : json_object();
	json_t *conflicts = json_array(), *taken = json_object(), *result = NULL;
	int rc = 0;

	if (live)
		find_conflicts(live, cfg, cfg_set, mf, mine, sub, conflicts, taken);
	if (json_array_size(conflicts) && !force) {
		rc = conflict_error(t, live, conflicts);
		goto out;
	}
	result = live ? json_deep_copy(live) : json_object();
	json_t *part = mergeable_config(cfg, sub);
	merge_into(t, result, part);
	json_decref(part);

	/* Remove what this manager applied before, left out now, and nobody
	 * else owns. */
	json_t *others = json_object();
	json_array_foreach(mf, i, e) {
		if (e == mine)
			continue;
		json_t *set = tree_to_set(json_object_get(e, "fieldsV1"));
		json_object_foreach(set, p, v) if (!json_object_get(taken, p)) set_add(others, p);
		json_decref(set);
	}
	json_object_foreach(prev, p, v) if (!json_object_get(cfg_set, p) && !json_object_get(others, p)) path_del(result, p);
	json_decref(others);

	json_object_set_new(jx_obj_ensure(result, "metadata"), "managedFields",
			    applied_managed_fields(t, mf, mine, taken, prev, cfg_set, manager, sub));
	*ret = result;
	result = NULL;
out:
	json_decref(result);
	json_decref(cfg_set);
	json_decref(prev);
	json_decref(conflicts);
	json_decref(taken);
	return rc;
}
