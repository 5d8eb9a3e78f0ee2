/* table — see table.h. Column sets follow kube-apiserver's printers. */
#include "table.h"

#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "jsonx.h"
#include "str.h"

bool table_wanted(const char *accept)
{
	return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io") && strstr(accept, "v=v1;");
}

/* kubectl's short human durations: 45s, 5m12s, 3h, 2d. */
static json_t *age_of(const json_t *obj)
{
	const char *ts = jx_path_str(obj, "metadata", "creationTimestamp", NULL);
	time_t t;
	if (!ts || clock_parse_rfc3339(ts, &t) < 0)
		return json_string("<unknown>");
	long d = (long)(time(NULL) - t);
	if (d < 0)
		d = 0;
	char out[32];
	if (d < 120)
		snprintf(out, sizeof(out), "%lds", d);
	else if (d < 600)
		snprintf(out, sizeof(out), "%ldm%lds", d / 60, d % 60);
	else if (d < 3 * 3600)
		snprintf(out, sizeof(out), "%ldm", d / 60);
	else if (d < 48 * 3600)
		snprintf(out, sizeof(out), "%ldh", d / 3600);
	else
		snprintf(out, sizeof(out), "%ldd", d / 86400);
	return json_string(out);
}

static json_int_t ival(const json_t *o, const char *a, const char *b)
{
	return json_integer_value(jx_path(o, a, b, NULL));
}

static json_t *str_or(const json_t *v, const char *dflt)
{
	return json_string(json_is_string(v) ? json_string_value(v) : dflt);
}

static json_t *ratio(json_int_t a, json_int_t b)
{
	char s[48];
	snprintf(s, sizeof(s), "%lld/%lld", (long long)a, (long long)b);
	return json_string(s);
}

static json_t *pod_status(const json_t *pod)
{
	if (jx_path(pod, "metadata", "deletionTimestamp", NULL))
		return json_string("Terminating");
	size_t i;
	json_t *cs;
	json_array_foreach(jx_path(pod, "status", "containerStatuses", NULL), i, cs) {
		const char *w = jx_path_str(cs, "state", "waiting", "reason", NULL);
		if (w)
			return json_string(w);
		const char *t = jx_path_str(cs, "state", "terminated", "reason", NULL);
		if (t)
			return json_string(t);
	}
	return str_or(jx_path(pod, "status", "phase", NULL), "Pending");
}

static json_t *pod_cells(const json_t *o)
{
	json_int_t ready = 0, total = (json_int_t)json_array_size(jx_path(o, "spec", "containers", NULL)), restarts = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(jx_path(o, "status", "containerStatuses", NULL), i, cs) {
		ready += json_is_true(json_object_get(cs, "ready"));
		restarts += json_integer_value(json_object_get(cs, "restartCount"));
	}
	return json_pack("[o,o,I,o,o,o]", ratio(ready, total), pod_status(o), restarts, age_of(o),
			 str_or(jx_path(o, "status", "podIP", NULL), "<none>"),
			 str_or(jx_path(o, "spec", "nodeName", NULL), "<none>"));
}

static json_t *service_ports(const json_t *svc)
{
	struct buf b;
	buf_init(&b, 4096);
	size_t i;
	json_t *p;
	json_array_foreach(jx_path(svc, "spec", "ports", NULL), i, p) {
		buf_printf(&b, "%s%lld", i ? "," : "", (long long)json_integer_value(json_object_get(p, "port")));
		if (json_object_get(p, "nodePort"))
			buf_printf(&b, ":%lld", (long long)json_integer_value(json_object_get(p, "nodePort")));
		buf_printf(&b, "/%s", jx_str(p, "protocol") ? jx_str(p, "protocol") : "TCP");
	}
	json_t *r = json_string(b.len ? b.ptr : "<none>");
	buf_release(&b);
	return r;
}

static json_t *external_ip(const json_t *svc)
{
	json_t *ing = jx_path(svc, "status", "loadBalancer", "ingress", NULL);
	if (json_array_size(ing))
		return str_or(json_object_get(json_array_get(ing, 0), "ip"), "<pending>");
	const char *type = jx_path_str(svc, "spec", "type", NULL);
	if (type && strcmp(type, "LoadBalancer") == 0)
		return json_string("<pending>");
	return json_string("<none>");
}

enum kind_cols { K_DEFAULT, K_POD, K_DEPLOY, K_RS, K_STS, K_DS, K_SVC, K_JOB, K_NS, K_CM, K_SECRET };

static enum kind_cols kind_of(const struct ks_type *t)
{
	static const struct {
		const char *group, *kind;
		enum kind_cols k;
	} map[] = {
		{ "", "Pod", K_POD },        { "apps", "Deployment", K_DEPLOY }, { "apps", "ReplicaSet", K_RS },
		{ "apps", "StatefulSet", K_STS }, { "apps", "DaemonSet", K_DS }, { "", "Service", K_SVC },
		{ "batch", "Job", K_JOB },   { "", "Namespace", K_NS },        { "", "ConfigMap", K_CM },
		{ "", "Secret", K_SECRET },
	};
	if (t->custom)
		return K_DEFAULT;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(t->group, map[i].group) == 0 && strcmp(t->kind, map[i].kind) == 0)
			return map[i].k;
	return K_DEFAULT;
}

/* Column names (after Name) and their priority (1 = wide only). */
static json_t *columns(enum kind_cols k)
{
	static const char *const cols[][9] = {
		[K_DEFAULT] = { "Age", NULL },
		[K_POD] = { "Ready", "Status", "Restarts", "Age", "IP*", "Node*", NULL },
		[K_DEPLOY] = { "Ready", "Up-to-date", "Available", "Age", NULL },
		[K_RS] = { "Desired", "Current", "Ready", "Age", NULL },
		[K_STS] = { "Ready", "Age", NULL },
		[K_DS] = { "Desired", "Current", "Ready", "Up-to-date", "Available", "Age", NULL },
		[K_SVC] = { "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", NULL },
		[K_JOB] = { "Status", "Completions", "Age", NULL },
		[K_NS] = { "Status", "Age", NULL },
		[K_CM] = { "Data", "Age", NULL },
		[K_SECRET] = { "Type", "Data", "Age", NULL },
	};
	json_t *defs = json_pack("[{s:s,s:s,s:s,s:s,s:i}]", "name", "Name", "type", "string", "format", "name",
				 "description", "Name must be unique within a namespace.", "priority", 0);
	for (size_t i = 0; cols[k][i]; i++) {
		char name[32];
		str_copy(name, cols[k][i], sizeof(name));
		size_t n = strlen(name);
		int prio = 0;
		if (n && name[n - 1] == '*') {
			name[n - 1] = '\0';
			prio = 1;
		}
		json_array_append_new(defs, json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", name, "type",
						      strcmp(name, "Age") == 0 ? "string" : "string", "format", "",
						      "description", name, "priority", prio));
	}
	return defs;
}

static json_t *cells(enum kind_cols k, const json_t *o)
{
	json_t *name = str_or(jx_path(o, "metadata", "name", NULL), "");
	json_t *rest;
	switch (k) {
	case K_POD:
		rest = pod_cells(o);
		break;
	case K_DEPLOY:
		rest = json_pack("[o,I,I,o]", ratio(ival(o, "status", "readyReplicas"), ival(o, "spec", "replicas")),
				 ival(o, "status", "updatedReplicas"), ival(o, "status", "availableReplicas"), age_of(o));
		break;
	case K_RS:
		rest = json_pack("[I,I,I,o]", ival(o, "spec", "replicas"), ival(o, "status", "replicas"),
				 ival(o, "status", "readyReplicas"), age_of(o));
		break;
	case K_STS:
		rest = json_pack("[o,o]", ratio(ival(o, "status", "readyReplicas"), ival(o, "spec", "replicas")), age_of(o));
		break;
	case K_DS:
		rest = json_pack("[I,I,I,I,I,o]", ival(o, "status", "desiredNumberScheduled"),
				 ival(o, "status", "currentNumberScheduled"), ival(o, "status", "numberReady"),
				 ival(o, "status", "updatedNumberScheduled"), ival(o, "status", "numberAvailable"), age_of(o));
		break;
	case K_SVC:
		rest = json_pack("[o,o,o,o,o]", str_or(jx_path(o, "spec", "type", NULL), "ClusterIP"),
				 str_or(jx_path(o, "spec", "clusterIP", NULL), "<none>"), external_ip(o), service_ports(o),
				 age_of(o));
		break;
	case K_JOB: {
		json_int_t succ = ival(o, "status", "succeeded"), want = ival(o, "spec", "completions");
		const char *st = "Running";
		size_t i;
		json_t *c;
		json_array_foreach(jx_path(o, "status", "conditions", NULL), i, c) {
			if (str_eq_null(jx_str(c, "status"), "True") && str_eq_null(jx_str(c, "type"), "Complete"))
				st = "Complete";
			if (str_eq_null(jx_str(c, "status"), "True") && str_eq_null(jx_str(c, "type"), "Failed"))
				st = "Failed";
		}
		rest = json_pack("[s,o,o]", st, ratio(succ, want ? want : 1), age_of(o));
		break;
	}
	case K_NS:
		rest = json_pack("[o,o]", str_or(jx_path(o, "status", "phase", NULL), "Active"), age_of(o));
		break;
	case K_CM:
		rest = json_pack("[I,o]", (json_int_t)(json_object_size(json_object_get(o, "data")) +
						       json_object_size(json_object_get(o, "binaryData"))),
				 age_of(o));
		break;
	case K_SECRET:
		rest = json_pack("[o,I,o]", str_or(json_object_get(o, "type"), "Opaque"),
				 (json_int_t)json_object_size(json_object_get(o, "data")), age_of(o));
		break;
	default:
		rest = json_pack("[o]", age_of(o));
		break;
	}
	json_t *row = json_pack("[o]", name);
	json_array_extend(row, rest);
	json_decref(rest);
	return row;
}

json_t *table_of(const struct ks_type *t, const json_t *list, const char *include_object)
{
	enum kind_cols k = kind_of(t);
	json_t *items = json_object_get(list, "items");
	json_t *tbl = json_pack("{s:s,s:s,s:{},s:o,s:[]}", "kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata",
				"columnDefinitions", columns(k), "rows");
	json_t *lm = json_object_get(list, "metadata");
	if (items) {
		const char *rv = jx_str(lm, "resourceVersion"), *cont = jx_str(lm, "continue");
		if (rv)
			json_object_set_new(json_object_get(tbl, "metadata"), "resourceVersion", json_string(rv));
		if (cont && *cont)
			json_object_set_new(json_object_get(tbl, "metadata"), "continue", json_string(cont));
	}
	json_t *rows = json_object_get(tbl, "rows");
	json_t *single = items ? NULL : json_pack("[O]", list);
	json_t *arr = items ? items : single;
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		json_t *obj;
		if (include_object && strcmp(include_object, "Object") == 0) {
			obj = json_deep_copy(o);
			json_object_set_new(obj, "apiVersion", json_string(ks_type_api_version(t)));
			json_object_set_new(obj, "kind", json_string(t->kind));
		} else {
			obj = json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1",
					"metadata", json_object_get(o, "metadata"));
		}
		json_array_append_new(rows, json_pack("{s:o,s:o}", "cells", cells(k, o), "object", obj));
	}
	json_decref(single);
	return tbl;
}
