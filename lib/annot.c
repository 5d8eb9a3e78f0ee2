/* annot — see annot.h. */
#include "annot.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "str.h"

/* Longest item of a comma list we look at; longer items are unknown. */
#define ITEM_MAX 256

static const json_t *annotations_of(const json_t *obj)
{
	json_t *a = jx_path(obj, "metadata", "annotations", NULL);
	return json_is_object(a) ? a : NULL;
}

static const char *annotation(const json_t *obj, const char *key)
{
	const json_t *a = annotations_of(obj);
	return a ? jx_str(a, key) : NULL;
}

const char *annot_get(const json_t *obj, const char *name)
{
	char key[128];
	const char *v;

	if ((size_t)snprintf(key, sizeof(key), "%s%s", ANNOT_PREFIX, name) >= sizeof(key))
		return NULL;
	if ((v = annotation(obj, key)))
		return v;
	if ((size_t)snprintf(key, sizeof(key), "%s%s", ANNOT_ARGO_PREFIX, name) >= sizeof(key))
		return NULL;
	return annotation(obj, key);
}

/* The object as "Kind/name" for messages. */
static void object_label(const json_t *obj, char *out, size_t size)
{
	const char *kind = jx_str(obj, "kind");
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	if (!name)
		name = jx_path_str(obj, "metadata", "generateName", NULL);
	snprintf(out, size, "%s/%s", kind ? kind : "<no kind>", name ? name : "<no name>");
}

/*
 * Calls fn(item, arg) for each trimmed, non-empty item of a comma list.
 * Items longer than ITEM_MAX are passed truncated (they match nothing).
 */
static int each_csv(const char *csv, int (*fn)(const char *item, void *arg), void *arg)
{
	const char *p = csv;
	char item[ITEM_MAX + 1];
	int rc;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *s = p, *e = p + n;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
			e--;
		if (e > s) {
			size_t len = (size_t)(e - s);
			if (len > ITEM_MAX)
				len = ITEM_MAX;
			memcpy(item, s, len);
			item[len] = '\0';
			if ((rc = fn(item, arg)) < 0)
				return rc;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int unknown_add(char ***list, size_t *n, const char *what, const char *item)
{
	char **grown;
	char *s;

	if (!list)
		return 0;
	s = what ? str_printf("%s=%s", what, item) : str_dup(item);
	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (!grown) {
		free(s);
		return err_set(BERR_NOMEM, "out of memory");
	}
	grown[(*n)++] = s;
	*list = grown;
	return 0;
}

/* ---- names ---------------------------------------------------------- */

struct name_bit {
	const char *name;
	unsigned bit;
};

static const struct name_bit hook_names[] = {
	{"PreSync", ANNOT_HOOK_PRESYNC},   {"Sync", ANNOT_HOOK_SYNC},
	{"PostSync", ANNOT_HOOK_POSTSYNC}, {"SyncFail", ANNOT_HOOK_SYNCFAIL},
	{"Skip", ANNOT_HOOK_SKIP},         {"PostDelete", ANNOT_HOOK_POSTDELETE},
};

static const struct name_bit delete_policy_names[] = {
	{"HookSucceeded", ANNOT_DELETE_HOOK_SUCCEEDED},
	{"HookFailed", ANNOT_DELETE_HOOK_FAILED},
	{"BeforeHookCreation", ANNOT_DELETE_BEFORE_HOOK_CREATION},
};

/* Helm hook types: the phase each maps to (0 = a hook with no sync phase). */
static const struct name_bit helm_hook_names[] = {
	{"pre-install", ANNOT_HOOK_PRESYNC},   {"pre-upgrade", ANNOT_HOOK_PRESYNC},
	{"crd-install", 0},                    {"post-install", ANNOT_HOOK_POSTSYNC},
	{"post-upgrade", ANNOT_HOOK_POSTSYNC}, {"pre-delete", 0},
	{"post-delete", 0},                    {"pre-rollback", 0},
	{"post-rollback", 0},                  {"test", 0},
	{"test-success", 0},                   {"test-failure", 0},
};

static const struct name_bit helm_delete_policy_names[] = {
	{"hook-succeeded", ANNOT_DELETE_HOOK_SUCCEEDED},
	{"hook-failed", ANNOT_DELETE_HOOK_FAILED},
	{"before-hook-creation", ANNOT_DELETE_BEFORE_HOOK_CREATION},
};

static const struct name_bit sync_option_names[] = {
	{"Prune=false", ANNOT_SYNC_PRUNE_FALSE},
	{"Prune=confirm", ANNOT_SYNC_PRUNE_CONFIRM},
	{"Prune=true", 0},
	{"Delete=false", ANNOT_SYNC_DELETE_FALSE},
	{"Delete=confirm", ANNOT_SYNC_DELETE_CONFIRM},
	{"Delete=true", 0},
	{"Replace=true", ANNOT_SYNC_REPLACE},
	{"Replace=false", 0},
	{"ServerSideApply=true", ANNOT_SYNC_SERVER_SIDE_APPLY},
	{"ServerSideApply=false", 0},
	{"Validate=false", ANNOT_SYNC_VALIDATE_FALSE},
	{"Validate=true", 0},
	{"PruneLast=true", ANNOT_SYNC_PRUNE_LAST},
	{"PruneLast=false", 0},
	{"SkipDryRunOnMissingResource=true", ANNOT_SYNC_SKIP_DRY_RUN_ON_MISSING},
	{"SkipDryRunOnMissingResource=false", 0},
	{"CreateNamespace=true", ANNOT_SYNC_CREATE_NAMESPACE},
	{"CreateNamespace=false", 0},
	{"ApplyOutOfSyncOnly=true", ANNOT_SYNC_APPLY_OUT_OF_SYNC_ONLY},
	{"ApplyOutOfSyncOnly=false", 0},
	{"Force=true", ANNOT_SYNC_FORCE},
	{"Force=false", 0},
	{"FailOnSharedResource=true", ANNOT_SYNC_FAIL_ON_SHARED},
	{"FailOnSharedResource=false", 0},
	{"RespectIgnoreDifferences=true", ANNOT_SYNC_RESPECT_IGNORE_DIFFERENCES},
	{"RespectIgnoreDifferences=false", 0},
	{"PrunePropagationPolicy=foreground", ANNOT_SYNC_PRUNE_PROPAGATION_FOREGROUND},
	{"PrunePropagationPolicy=background", ANNOT_SYNC_PRUNE_PROPAGATION_BACKGROUND},
	{"PrunePropagationPolicy=orphan", ANNOT_SYNC_PRUNE_PROPAGATION_ORPHAN},
};

static const struct name_bit compare_option_names[] = {
	{"IgnoreExtraneous", ANNOT_COMPARE_IGNORE_EXTRANEOUS},
	{"ServerSideDiff=true", ANNOT_COMPARE_SERVER_SIDE_DIFF},
	{"ServerSideDiff=false", ANNOT_COMPARE_NO_SERVER_SIDE_DIFF},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct name_bit *find_name(const struct name_bit *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

static const char *bit_name(const struct name_bit *t, size_t n, unsigned bit)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].bit == bit)
			return t[i].name;
	return NULL;
}

const char *annot_hook_name(unsigned hook)
{
	return hook ? bit_name(hook_names, N(hook_names), hook) : NULL;
}

const char *annot_delete_policy_name(unsigned policy)
{
	return policy ? bit_name(delete_policy_names, N(delete_policy_names), policy) : NULL;
}

bool annot_sync_option_add(const char *opt, unsigned *bits)
{
	char item[ITEM_MAX + 1];
	const char *s = opt, *e;
	const struct name_bit *nb;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if ((size_t)(e - s) > ITEM_MAX)
		return false;
	memcpy(item, s, (size_t)(e - s));
	item[e - s] = '\0';
	if (!(nb = find_name(sync_option_names, N(sync_option_names), item)))
		return false;
	*bits |= nb->bit;
	return true;
}

/* ---- collecting comma lists ----------------------------------------- */

struct collect {
	const struct name_bit *table;
	size_t n;
	const char *what; /* annotation name for unknown items */
	unsigned bits;
	unsigned matched; /* count of items found in the table */
	char ***unknown;
	size_t *n_unknown;
};

static int collect_item(const char *item, void *arg)
{
	struct collect *c = arg;
	const struct name_bit *nb = find_name(c->table, c->n, item);
	if (!nb)
		return unknown_add(c->unknown, c->n_unknown, c->what, item);
	c->bits |= nb->bit;
	c->matched++;
	return 0;
}

static int sync_option_item(const char *item, void *arg)
{
	struct collect *c = arg;
	if (annot_sync_option_add(item, &c->bits))
		return 0;
	return unknown_add(c->unknown, c->n_unknown, c->what, item);
}

int annot_sync_options_csv(const char *csv, unsigned *bits, char ***unknown, size_t *n_unknown)
{
	struct collect c = {.bits = *bits, .unknown = unknown, .n_unknown = n_unknown};
	int rc = each_csv(csv, sync_option_item, &c);
	if (rc == 0)
		*bits = c.bits;
	return rc;
}

int annot_sync_options_array(const json_t *arr, unsigned *bits, char ***unknown, size_t *n_unknown)
{
	struct collect c = {.bits = *bits, .unknown = unknown, .n_unknown = n_unknown};
	size_t i;
	json_t *v;
	int rc;

	if (!json_is_array(arr))
		return err_set(BERR_INVALID, "syncOptions: not a list");
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return err_set(BERR_INVALID, "syncOptions[%zu]: not a string", i);
		if ((rc = sync_option_item(json_string_value(v), &c)) < 0)
			return rc;
	}
	*bits = c.bits;
	return 0;
}

/* ---- annot_parse ----------------------------------------------------- */

/* Helm's hook types as phases. */
static int helm_hooks(const char *v, struct annot *a, unsigned *bits)
{
	struct collect c = {.table = helm_hook_names, .n = N(helm_hook_names), .what = "helm.sh/hook",
			    .unknown = &a->unknown, .n_unknown = &a->n_unknown};
	int rc = each_csv(v, collect_item, &c);
	*bits = c.bits;
	return rc;
}

/* gitops-engine's hook.IsHook/Types/Skip: the Berth/Argo CD annotation
 * decides whether an object is a hook; its phases are the known types it
 * names or, when it names none, the Helm ones. */
static int parse_hooks(const json_t *obj, struct annot *a)
{
	struct collect c = {.table = hook_names, .n = N(hook_names), .what = "hook", .unknown = &a->unknown,
			    .n_unknown = &a->n_unknown};
	const char *v = annot_get(obj, "hook");
	const char *helm = annotation(obj, "helm.sh/hook");
	unsigned bits = 0;
	int rc;

	if (v) {
		if ((rc = each_csv(v, collect_item, &c)) < 0)
			return rc;
		a->hooks = c.bits;
		if (c.matched == 0 && helm) {
			if ((rc = helm_hooks(helm, a, &bits)) < 0)
				return rc;
			a->hooks = bits;
			a->helm_hook = true;
		}
		/* "Skip" alone means "do not apply"; otherwise the annotation
		 * makes a hook even when it names no known type. */
		a->skip = a->hooks == ANNOT_HOOK_SKIP;
		a->is_hook = !a->skip;
		return 0;
	}
	if (!helm)
		return 0;
	if ((rc = helm_hooks(helm, a, &bits)) < 0)
		return rc;
	a->hooks = bits;
	a->helm_hook = true;
	/* "crd-install" alone marks a CRD, not a hook (as in Argo CD). */
	{
		const char *s = helm, *e = helm + strlen(helm);
		while (*s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		a->is_hook = !((size_t)(e - s) == strlen("crd-install") && strncmp(s, "crd-install", 11) == 0);
	}
	return 0;
}

static int parse_delete_policies(const json_t *obj, struct annot *a)
{
	struct collect c = {.table = delete_policy_names, .n = N(delete_policy_names),
			    .what = "hook-delete-policy", .unknown = &a->unknown,
			    .n_unknown = &a->n_unknown};
	const char *v;
	int rc;

	if ((v = annot_get(obj, "hook-delete-policy")) && (rc = each_csv(v, collect_item, &c)) < 0)
		return rc;
	if ((v = annotation(obj, "helm.sh/hook-delete-policy"))) {
		c.table = helm_delete_policy_names;
		c.n = N(helm_delete_policy_names);
		c.what = "helm.sh/hook-delete-policy";
		if ((rc = each_csv(v, collect_item, &c)) < 0)
			return rc;
	}
	a->delete_policies = c.bits ? c.bits : ANNOT_DELETE_BEFORE_HOOK_CREATION;
	return 0;
}

static int parse_wave(const json_t *obj, struct annot *a)
{
	const char *v = annot_get(obj, "sync-wave");
	char label[300];
	int wave;

	if (v) {
		if (str_to_int(v, -1000000000, 1000000000, &wave) < 0) {
			object_label(obj, label, sizeof(label));
			return err_set(BERR_INVALID, "%s: annotation sync-wave: \"%s\" is not an integer",
				       label, v);
		}
		a->wave = wave;
		a->wave_set = true;
		return 0;
	}
	/* Helm's weight is as lenient as Helm: a bad value counts as 0. */
	v = annotation(obj, "helm.sh/hook-weight");
	if (v) {
		a->wave_set = true;
		if (str_to_int(v, -1000000000, 1000000000, &wave) == 0)
			a->wave = wave;
		else
			err_clear();
	}
	return 0;
}

static int check_annotations(const json_t *obj)
{
	const json_t *meta = jx_path(obj, "metadata", NULL);
	const json_t *a = meta ? json_object_get(meta, "annotations") : NULL;
	const char *key;
	json_t *v;
	char label[300];

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "object is not a JSON object");
	if (!a || json_is_null(a))
		return 0;
	object_label(obj, label, sizeof(label));
	if (!json_is_object(a))
		return err_set(BERR_INVALID, "%s: metadata.annotations is not a map", label);
	json_object_foreach((json_t *)a, key, v) {
		if (!json_is_string(v))
			return err_set(BERR_INVALID, "%s: annotation %s is not a string", label, key);
	}
	return 0;
}

int annot_parse(const json_t *obj, struct annot *out)
{
	struct annot a = {0};
	struct collect c = {.table = compare_option_names, .n = N(compare_option_names),
			    .what = "compare-options", .unknown = &a.unknown,
			    .n_unknown = &a.n_unknown};
	const char *v;
	int rc;

	if ((rc = check_annotations(obj)) < 0)
		return rc;
	if ((rc = parse_hooks(obj, &a)) < 0 || (rc = parse_delete_policies(obj, &a)) < 0 ||
	    (rc = parse_wave(obj, &a)) < 0)
		goto fail;
	if ((v = annot_get(obj, "sync-options"))) {
		struct collect so = {.what = "sync-options", .unknown = &a.unknown,
				     .n_unknown = &a.n_unknown};
		if ((rc = each_csv(v, sync_option_item, &so)) < 0)
			goto fail;
		a.sync_options = so.bits;
	}
	if ((v = annot_get(obj, "compare-options"))) {
		if ((rc = each_csv(v, collect_item, &c)) < 0)
			goto fail;
		a.compare_options = c.bits;
	}
	if ((v = annotation(obj, ANNOT_REFRESH)) || (v = annotation(obj, "argocd.argoproj.io/refresh"))) {
		if (strcmp(v, "hard") == 0)
			a.refresh = ANNOT_REFRESH_HARD;
		else if (strcmp(v, "normal") == 0)
			a.refresh = ANNOT_REFRESH_NORMAL;
		else if ((rc = unknown_add(&a.unknown, &a.n_unknown, "refresh", v)) < 0)
			goto fail;
	}
	if ((v = annotation(obj, ANNOT_TRACKING_ID)) && !(a.tracking_id = str_dup(v))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	*out = a;
	return 0;
fail:
	annot_release(&a);
	return rc;
}

void annot_release(struct annot *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_unknown; i++)
		free(a->unknown[i]);
	free(a->unknown);
	free(a->tracking_id);
	memset(a, 0, sizeof(*a));
}

/* ---- tracking id ----------------------------------------------------- */

int annot_tracking_id_build(struct buf *out, const char *app, const char *group, const char *kind,
			    const char *ns, const char *name)
{
	return buf_printf(out, "%s:%s/%s:%s/%s", app ? app : "", group ? group : "", kind ? kind : "",
			  ns ? ns : "", name ? name : "");
}

static char *dup_range(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

int annot_tracking_parse(const char *id, struct annot_tracking *out)
{
	/* app ':' group '/' kind ':' ns '/' name. The app name and the
	 * namespace/name never contain ':'; a group never contains '/'. */
	const char *c1, *c2, *s1, *s2;
	struct annot_tracking t = {0};

	if (!id)
		return err_set(BERR_INVALID, "tracking id: empty");
	c1 = strchr(id, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || !c2 || strchr(c2 + 1, ':'))
		goto bad;
	s1 = memchr(c1 + 1, '/', (size_t)(c2 - c1 - 1));
	s2 = strchr(c2 + 1, '/');
	if (!s1 || !s2 || strchr(s2 + 1, '/') || memchr(s1 + 1, '/', (size_t)(c2 - s1 - 1)))
		goto bad;
	if (c1 == id || c2 == s1 + 1 || s2[1] == '\0')
		goto bad;
	t.app = dup_range(id, (size_t)(c1 - id));
	t.group = dup_range(c1 + 1, (size_t)(s1 - c1 - 1));
	t.kind = dup_range(s1 + 1, (size_t)(c2 - s1 - 1));
	t.ns = dup_range(c2 + 1, (size_t)(s2 - c2 - 1));
	t.name = str_dup(s2 + 1);
	if (!t.app || !t.group || !t.kind || !t.ns || !t.name) {
		annot_tracking_release(&t);
		return err_set(BERR_NOMEM, "out of memory");
	}
	*out = t;
	return 0;
bad:
	return err_set(BERR_INVALID,
		       "tracking id \"%s\": not of the form <app>:<group>/<kind>:<namespace>/<name>", id);
}

void annot_tracking_release(struct annot_tracking *t)
{
	if (!t)
		return;
	free(t->app);
	free(t->group);
	free(t->kind);
	free(t->ns);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

const char *annot_api_group(const json_t *obj, char *out, size_t size)
{
	const char *av = jx_str(obj, "apiVersion");
	const char *slash = av ? strchr(av, '/') : NULL;
	size_t n = slash ? (size_t)(slash - av) : 0;

	if (size == 0)
		return out;
	if (n >= size)
		n = size - 1;
	memcpy(out, av ? av : "", n);
	out[n] = '\0';
	return out;
}

int annot_tracking_id_of(struct buf *out, const char *app, const json_t *obj)
{
	char group[256];
	const char *kind = jx_str(obj, "kind"), *name = jx_path_str(obj, "metadata", "name", NULL);

	if (!kind || !name)
		return err_set(BERR_INVALID, "tracking id: object without kind or name");
	return annot_tracking_id_build(out, app, annot_api_group(obj, group, sizeof(group)), kind,
				       jx_path_str(obj, "metadata", "namespace", NULL), name);
}

bool annot_tracking_matches(const json_t *obj, const char *app)
{
	const char *have = annotation(obj, ANNOT_TRACKING_ID);
	struct buf want;
	bool ok;

	if (!have || !app)
		return false;
	buf_init(&want, 4096);
	if (annot_tracking_id_of(&want, app, obj) < 0) {
		err_clear();
		buf_release(&want);
		return false;
	}
	ok = strcmp(want.ptr, have) == 0;
	buf_release(&want);
	return ok;
}
