/* What the dashboard and the CLI read about an app besides its status,
 * kept in Redis by the controller (DESIGN.md §8):
 *
 *   app:<ns>:<name>:resource-tree       {"nodes": [...]}: the app's live
 *       resources and their dependents (ReplicaSets and Pods under a
 *       Deployment...) down to TREE_DEPTH levels; a dependent names its
 *       owner as Argo CD does: parentRefs [{group, kind, namespace, name,
 *       uid}];
 *   app:<ns>:<name>:managed-resources   {"items": [...]} (built in
 *       reconcile.c).
 *
 * Both expire after VIEW_TTL_S and are written only when they changed: the
 * signature (SHA-256) of the last write of each key is remembered, and a
 * key is written again when its signature differs or its last write is
 * older than half the TTL (so an unchanged view never expires while its
 * app exists). A restart forgets the signatures, so it writes each view
 * once. */
#include <pthread.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "jsonx.h"
#include "str.h"

#define VIEW_TTL_S (24 * 3600)
#define TREE_DEPTH 3
#define TREE_MAX_NODES 100000
#define TREE_MAX_BYTES ((size_t)64 << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *written; /* key → {"sig": hex, "at": monotonic ms} */

bool ctl_view_unchanged(const char *key, const char sig[65])
{
	bool same = false;
	pthread_mutex_lock(&mu);
	json_t *e = written ? json_object_get(written, key) : NULL;
	if (e && str_eq_null(jx_str(e, "sig"), sig) &&
	    clock_mono_ms() - json_integer_value(json_object_get(e, "at")) < (int64_t)VIEW_TTL_S * 500)
		same = true;
	pthread_mutex_unlock(&mu);
	return same;
}

static void remember(const char *key, const char *sig)
{
	pthread_mutex_lock(&mu);
	if (!written)
		written = json_object();
	if (written) {
		if (sig)
			json_object_set_new(written, key, json_pack("{s:s,s:I}", "sig", sig, "at",
								    (json_int_t)clock_mono_ms()));
		else
			json_object_del(written, key);
	}
	pthread_mutex_unlock(&mu);
}

void ctl_view_write(struct ctl *c, const char *key, const char sig[65], const char *text, size_t len)
{
	if (!c->cache)
		return;
	if (rcache_set(c->cache, key, text, len, VIEW_TTL_S) == 0) {
		remember(key, sig);
	} else {
		err_clear();
		remember(key, NULL);
	}
}

/* One node of the tree, and its dependents (by owner uid) up to depth
 * levels below. parent is NULL for the app's own resources. */
static void tree_add(struct cluster *cl, json_t *nodes, const struct lc_record *r, const struct lc_record *parent,
		     int depth)
{
	json_t *n = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "group", r->group, "version", r->version, "kind", r->kind,
			      "namespace", r->namespace_, "name", r->name, "uid", r->uid);
	if (!n)
		return;
	if (parent)
		json_object_set_new(n, "parentRefs",
				    json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "group", parent->group, "kind", parent->kind,
					      "namespace", parent->namespace_, "name", parent->name, "uid",
					      parent->uid));
	json_array_append_new(nodes, n);
	struct lc_records kids = {0};
	if (depth <= 0 || !*r->uid || livecache_by_owner(cl->lc, r->uid, &kids) < 0)
		return;
	for (size_t i = 0; i < kids.n && json_array_size(nodes) < TREE_MAX_NODES; i++)
		tree_add(cl, nodes, kids.v[i], r, depth - 1);
	lc_records_free(&kids);
}

void ctl_view_store_tree(struct ctl *c, struct cluster *cl, const char *name)
{
	struct lc_records rs = {0};
	json_t *tree = NULL, *nodes = json_array();
	struct buf b;
	char sig[65];
	char *key = str_printf("app:%s:%s:resource-tree", c->ns, name);
	buf_init(&b, TREE_MAX_BYTES);
	if (!c->cache || !nodes || !key || livecache_by_key(cl->lc, name, &rs) < 0)
		goto out;
	for (size_t i = 0; i < rs.n; i++)
		tree_add(cl, nodes, rs.v[i], NULL, TREE_DEPTH);
	tree = json_pack("{s:O}", "nodes", nodes);
	if (!tree || jx_dump_compact(tree, &b) < 0 || jx_hash_hex(tree, sig) < 0)
		goto out;
	if (!ctl_view_unchanged(key, sig))
		ctl_view_write(c, key, sig, b.ptr, b.len);
out:
	err_clear();
	lc_records_free(&rs);
	json_decref(tree);
	json_decref(nodes);
	buf_release(&b);
	free(key);
}
