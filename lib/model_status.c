/*
 * model_status — the Application status shapes (DESIGN.md §3): sync, health,
 * operationState, history, resources, conditions, summary. Part of the model
 * module (model.h).
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "modeljson.h"

#define TRY(x) do { if ((rc = (x)) < 0) goto out; } while (0)

static void health_release(struct model_health *h)
{
	free(h->status);
	free(h->message);
	memset(h, 0, sizeof(*h));
}

static void history_release(struct model_history *h)
{
	free(h->revision);
	model_strv_release(&h->revisions);
	model_sources_release(&h->sources);
	free(h->deployed_at);
	free(h->deploy_started_at);
	free(h->initiated_by.username);
	memset(h, 0, sizeof(*h));
}

void model_app_status_release(struct model_app_status *st)
{
	size_t i;

	free(st->sync_status);
	free(st->sync_revision);
	model_strv_release(&st->sync_revisions);
	json_decref(st->compared_to);
	health_release(&st->health);
	model_operation_release(&st->operation_state.operation);
	free(st->operation_state.phase);
	free(st->operation_state.message);
	json_decref(st->operation_state.sync_result);
	free(st->operation_state.started_at);
	free(st->operation_state.finished_at);
	for (i = 0; i < st->n_history; i++)
		history_release(&st->history[i]);
	free(st->history);
	for (i = 0; i < st->n_resources; i++) {
		struct model_resource_status *r = &st->resources[i];
		free(r->group);
		free(r->version);
		free(r->kind);
		free(r->namespace_);
		free(r->name);
		free(r->status);
		health_release(&r->health);
	}
	free(st->resources);
	for (i = 0; i < st->n_conditions; i++) {
		free(st->conditions[i].type);
		free(st->conditions[i].message);
		free(st->conditions[i].last_transition_time);
	}
	free(st->conditions);
	free(st->reconciled_at);
	free(st->source_type);
	model_strv_release(&st->images);
	model_strv_release(&st->external_urls);
	memset(st, 0, sizeof(*st));
}

static int parse_health(const json_t *obj, const char *path, struct model_health *out)
{
	const json_t *h;
	char p[300];
	int rc;

	TRY(mj_obj(obj, "health", path, &h));
	if (!h)
		return 0;
	mj_path(p, sizeof(p), path, "health");
	TRY(mj_str(h, "status", p, &out->status));
	TRY(mj_str(h, "message", p, &out->message));
out:
	return rc;
}

static int set_health(json_t *obj, const struct model_health *h)
{
	json_t *o;
	int rc = 0;

	if (!h->status && !h->message)
		return 0;
	TRY(mj_set_new(obj, "health", o = json_object()));
	TRY(mj_set_str(o, "status", h->status));
	TRY(mj_set_str(o, "message", h->message));
out:
	return rc;
}

static int parse_operation_state(const json_t *os, struct model_operation_state *out)
{
	const char *path = "status.operationState";
	const json_t *op, *sr;
	int rc;

	out->present = true;
	TRY(mj_obj(os, "operation", path, &op));
	if (op)
		TRY(model_operation_parse(op, "status.operationState.operation", &out->operation));
	TRY(mj_str(os, "phase", path, &out->phase));
	TRY(mj_str(os, "message", path, &out->message));
	TRY(mj_obj(os, "syncResult", path, &sr));
	if (sr && !(out->sync_result = json_deep_copy(sr)))
		TRY(err_set(BERR_NOMEM, "out of memory"));
	TRY(mj_str(os, "startedAt", path, &out->started_at));
	TRY(mj_str(os, "finishedAt", path, &out->finished_at));
	TRY(mj_int(os, "retryCount", path, &out->retry_count));
out:
	return rc;
}

static int parse_history(const json_t *arr, struct model_app_status *st)
{
	char pi[64];
	size_t i;
	json_t *e;
	int rc = 0;

	TRY(mj_calloc(json_array_size(arr), sizeof(*st->history), (void **)&st->history));
	json_array_foreach(arr, i, e) {
		struct model_history *h = &st->history[i];
		mj_path_index(pi, sizeof(pi), "status.history", i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		st->n_history = i + 1;
		TRY(mj_int(e, "id", pi, &h->id));
		TRY(mj_str(e, "revision", pi, &h->revision));
		TRY(mj_strv(e, "revisions", pi, &h->revisions));
		TRY(model_sources_parse(e, pi, &h->sources));
		TRY(mj_str(e, "deployedAt", pi, &h->deployed_at));
		TRY(mj_str(e, "deployStartedAt", pi, &h->deploy_started_at));
		TRY(model_initiated_by_parse(e, pi, &h->initiated_by));
	}
out:
	return rc;
}

static int parse_resources(const json_t *arr, struct model_app_status *st)
{
	char pi[64];
	size_t i;
	json_t *e;
	int rc = 0;

	TRY(mj_calloc(json_array_size(arr), sizeof(*st->resources), (void **)&st->resources));
	json_array_foreach(arr, i, e) {
		struct model_resource_status *r = &st->resources[i];
		mj_path_index(pi, sizeof(pi), "status.resources", i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		st->n_resources = i + 1;
		TRY(mj_str(e, "group", pi, &r->group));
		TRY(mj_str(e, "version", pi, &r->version));
		TRY(mj_str(e, "kind", pi, &r->kind));
		TRY(mj_str(e, "namespace", pi, &r->namespace_));
		TRY(mj_str(e, "name", pi, &r->name));
		TRY(mj_str(e, "status", pi, &r->status));
		TRY(parse_health(e, pi, &r->health));
		TRY(mj_bool(e, "hook", pi, &r->hook));
		TRY(mj_bool(e, "requiresPruning", pi, &r->requires_pruning));
		TRY(mj_int(e, "syncWave", pi, &r->sync_wave));
	}
out:
	return rc;
}

static int parse_conditions(const json_t *arr, struct model_app_status *st)
{
	char pi[64];
	size_t i;
	json_t *e;
	int rc = 0;

	TRY(mj_calloc(json_array_size(arr), sizeof(*st->conditions), (void **)&st->conditions));
	json_array_foreach(arr, i, e) {
		struct model_condition *c = &st->conditions[i];
		mj_path_index(pi, sizeof(pi), "status.conditions", i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		st->n_conditions = i + 1;
		TRY(mj_str(e, "type", pi, &c->type));
		TRY(mj_str(e, "message", pi, &c->message));
		TRY(mj_str(e, "lastTransitionTime", pi, &c->last_transition_time));
	}
out:
	return rc;
}

static int parse_status_lists(const json_t *obj, const char *path, struct model_app_status *st)
{
	const json_t *hist, *res, *conds, *sum;
	int rc;

	TRY(mj_arr(obj, "history", path, &hist));
	if (hist)
		TRY(parse_history(hist, st));
	TRY(mj_arr(obj, "resources", path, &res));
	if (res)
		TRY(parse_resources(res, st));
	TRY(mj_arr(obj, "conditions", path, &conds));
	if (conds)
		TRY(parse_conditions(conds, st));
	TRY(mj_obj(obj, "summary", path, &sum));
	if (sum) {
		TRY(mj_strv(sum, "images", "status.summary", &st->images));
		TRY(mj_strv(sum, "externalURLs", "status.summary", &st->external_urls));
	}
out:
	return rc;
}

int model_app_status_parse(const json_t *obj, const char *path, struct model_app_status *out)
{
	struct model_app_status st = { 0 };
	const json_t *sync, *ct, *os;
	int rc;

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "%s: must be an object", path);
	TRY(mj_obj(obj, "sync", path, &sync));
	if (sync) {
		TRY(mj_str(sync, "status", "status.sync", &st.sync_status));
		TRY(mj_str(sync, "revision", "status.sync", &st.sync_revision));
		TRY(mj_strv(sync, "revisions", "status.sync", &st.sync_revisions));
		TRY(mj_obj(sync, "comparedTo", "status.sync", &ct));
		if (ct && !(st.compared_to = json_deep_copy(ct)))
			TRY(err_set(BERR_NOMEM, "out of memory"));
	}
	TRY(parse_health(obj, path, &st.health));
	TRY(mj_obj(obj, "operationState", path, &os));
	if (os)
		TRY(parse_operation_state(os, &st.operation_state));
	TRY(parse_status_lists(obj, path, &st));
	TRY(mj_str(obj, "reconciledAt", path, &st.reconciled_at));
	TRY(mj_str(obj, "sourceType", path, &st.source_type));
	TRY(mj_int(obj, "observedGeneration", path, &st.observed_generation));
	*out = st;
	return 0;
out:
	model_app_status_release(&st);
	return rc;
}

static int set_operation_state(json_t *o, const struct model_operation_state *os)
{
	json_t *s;
	int rc = 0;

	if (!os->present)
		return 0;
	TRY(mj_set_new(o, "operationState", s = json_object()));
	if (os->operation.present)
		TRY(mj_set_new(s, "operation", model_operation_to_json(&os->operation)));
	TRY(mj_set_str(s, "phase", os->phase));
	TRY(mj_set_str(s, "message", os->message));
	TRY(mj_set_json(s, "syncResult", os->sync_result));
	TRY(mj_set_str(s, "startedAt", os->started_at));
	TRY(mj_set_str(s, "finishedAt", os->finished_at));
	if (os->retry_count)
		TRY(mj_set_int(s, "retryCount", os->retry_count));
out:
	return rc;
}

static int set_history(json_t *o, const struct model_app_status *st)
{
	json_t *arr;
	size_t i;
	int rc = 0;

	if (!st->n_history)
		return 0;
	TRY(mj_set_new(o, "history", arr = json_array()));
	for (i = 0; i < st->n_history; i++) {
		const struct model_history *h = &st->history[i];
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_int(e, "id", h->id));
		TRY(mj_set_str(e, "revision", h->revision));
		TRY(mj_set_strv(e, "revisions", &h->revisions));
		TRY(model_sources_set(e, &h->sources));
		TRY(mj_set_str(e, "deployedAt", h->deployed_at));
		TRY(mj_set_str(e, "deployStartedAt", h->deploy_started_at));
		TRY(model_initiated_by_set(e, &h->initiated_by));
	}
out:
	return rc;
}

static int set_resources(json_t *o, const struct model_app_status *st)
{
	json_t *arr;
	size_t i;
	int rc = 0;

	if (!st->n_resources)
		return 0;
	TRY(mj_set_new(o, "resources", arr = json_array()));
	for (i = 0; i < st->n_resources; i++) {
		const struct model_resource_status *r = &st->resources[i];
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_str(e, "group", r->group));
		TRY(mj_set_str(e, "version", r->version));
		TRY(mj_set_str(e, "kind", r->kind));
		TRY(mj_set_str(e, "namespace", r->namespace_));
		TRY(mj_set_str(e, "name", r->name));
		TRY(mj_set_str(e, "status", r->status));
		TRY(set_health(e, &r->health));
		TRY(mj_set_bool(e, "hook", r->hook));
		TRY(mj_set_bool(e, "requiresPruning", r->requires_pruning));
		if (r->sync_wave)
			TRY(mj_set_int(e, "syncWave", r->sync_wave));
	}
out:
	return rc;
}

static int set_conditions(json_t *o, const struct model_app_status *st)
{
	json_t *arr;
	size_t i;
	int rc = 0;

	if (!st->n_conditions)
		return 0;
	TRY(mj_set_new(o, "conditions", arr = json_array()));
	for (i = 0; i < st->n_conditions; i++) {
		const struct model_condition *c = &st->conditions[i];
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_str(e, "type", c->type));
		TRY(mj_set_str(e, "message", c->message));
		TRY(mj_set_str(e, "lastTransitionTime", c->last_transition_time));
	}
out:
	return rc;
}

json_t *model_app_status_to_json(const struct model_app_status *st)
{
	json_t *o = json_object(), *sync, *sum;
	int rc = 0;

	if (!o)
		return NULL;
	if (st->sync_status || st->sync_revision || st->sync_revisions.n || st->compared_to) {
		TRY(mj_set_new(o, "sync", sync = json_object()));
		TRY(mj_set_str(sync, "status", st->sync_status));
		TRY(mj_set_str(sync, "revision", st->sync_revision));
		TRY(mj_set_strv(sync, "revisions", &st->sync_revisions));
		TRY(mj_set_json(sync, "comparedTo", st->compared_to));
	}
	TRY(set_health(o, &st->health));
	TRY(set_operation_state(o, &st->operation_state));
	TRY(set_history(o, st));
	TRY(set_resources(o, st));
	TRY(set_conditions(o, st));
	TRY(mj_set_str(o, "reconciledAt", st->reconciled_at));
	TRY(mj_set_str(o, "sourceType", st->source_type));
	if (st->images.n || st->external_urls.n) {
		TRY(mj_set_new(o, "summary", sum = json_object()));
		TRY(mj_set_strv(sum, "images", &st->images));
		TRY(mj_set_strv(sum, "externalURLs", &st->external_urls));
	}
	if (st->observed_generation)
		TRY(mj_set_int(o, "observedGeneration", st->observed_generation));
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int model_app_history_push(struct model_app *app, struct model_history *entry)
{
	struct model_app_status *st = &app->status;
	struct model_history *nh;
	int64_t limit = app->revision_history_limit;
	size_t drop = 0, i;

	nh = realloc(st->history, (st->n_history + 1) * sizeof(*nh));
	if (!nh)
		return err_set(BERR_NOMEM, "out of memory");
	st->history = nh;
	entry->id = st->n_history ? st->history[st->n_history - 1].id + 1 : 0;
	st->history[st->n_history++] = *entry;
	memset(entry, 0, sizeof(*entry));
	if (limit >= 0 && st->n_history > (size_t)limit)
		drop = st->n_history - (size_t)limit;
	for (i = 0; i < drop; i++)
		history_release(&st->history[i]);
	if (drop) {
		memmove(st->history, st->history + drop, (st->n_history - drop) * sizeof(*nh));
		st->n_history -= drop;
	}
	return 0;
}

const struct model_history *model_app_history_find(const struct model_app *app, int64_t id)
{
	size_t i;

	for (i = 0; i < app->status.n_history; i++)
		if (app->status.history[i].id == id)
			return &app->status.history[i];
	return NULL;
}

static void condition_release(struct model_condition *c)
{
	free(c->type);
	free(c->message);
	free(c->last_transition_time);
	memset(c, 0, sizeof(*c));
}

int model_app_condition_set(struct model_app_status *st, const char *type, const char *message,
			    const char *now)
{
	struct model_condition *c = NULL, *nc;
	char *msg, *when;
	size_t i;

	for (i = 0; i < st->n_conditions; i++)
		if (st->conditions[i].type && strcmp(st->conditions[i].type, type) == 0)
			c = &st->conditions[i];
	if (c && c->message && message && strcmp(c->message, message) == 0)
		return 0;
	msg = strdup(message ? message : "");
	when = strdup(now ? now : "");
	if (!msg || !when)
		goto nomem;
	if (!c) {
		char *t = strdup(type);
		nc = t ? realloc(st->conditions, (st->n_conditions + 1) * sizeof(*nc)) : NULL;
		if (!nc) {
			free(t);
			goto nomem;
		}
		st->conditions = nc;
		c = &st->conditions[st->n_conditions++];
		memset(c, 0, sizeof(*c));
		c->type = t;
	}
	free(c->message);
	free(c->last_transition_time);
	c->message = msg;
	c->last_transition_time = when;
	return 0;
nomem:
	free(msg);
	free(when);
	return err_set(BERR_NOMEM, "out of memory");
}

bool model_app_condition_clear(struct model_app_status *st, const char *type)
{
	size_t i;

	for (i = 0; i < st->n_conditions; i++) {
		if (!st->conditions[i].type || strcmp(st->conditions[i].type, type) != 0)
			continue;
		condition_release(&st->conditions[i]);
		memmove(&st->conditions[i], &st->conditions[i + 1],
			(st->n_conditions - i - 1) * sizeof(st->conditions[0]));
		st->n_conditions--;
		return true;
	}
	return false;
}
