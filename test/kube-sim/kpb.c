/* kpb — see kpb.h. Field numbers from k8s.io/api/core/v1/generated.proto and
 * k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto. */
#include "kpb.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "err.h"

struct pb {
	const unsigned char *p, *end;
};

static int pb_varint(struct pb *b, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end)
			return BERR_INVALID;
		unsigned char c = *b->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return BERR_INVALID;
}

/* Reads one field header and, for length-delimited fields, the payload. */
struct field {
	uint32_t num;
	unsigned wire;
	uint64_t varint;
	struct pb sub; /* wire type 2 */
};

static int pb_next(struct pb *b, struct field *f)
{
	uint64_t key;
	if (pb_varint(b, &key) < 0)
		return BERR_INVALID;
	f->num = (uint32_t)(key >> 3);
	f->wire = (unsigned)(key & 7);
	switch (f->wire) {
	case 0:
		return pb_varint(b, &f->varint);
	case 1:
		if (b->end - b->p < 8)
			return BERR_INVALID;
		b->p += 8;
		return 0;
	case 5:
		if (b->end - b->p < 4)
			return BERR_INVALID;
		b->p += 4;
		return 0;
	case 2: {
		uint64_t n;
		if (pb_varint(b, &n) < 0 || n > (uint64_t)(b->end - b->p))
			return BERR_INVALID;
		f->sub.p = b->p;
		f->sub.end = b->p + n;
		b->p += n;
		return 0;
	}
	default:
		return BERR_INVALID;
	}
}

static json_t *pb_string(const struct pb *s)
{
	return json_stringn((const char *)s->p, (size_t)(s->end - s->p));
}

static json_t *pb_base64(const struct pb *s)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = (size_t)(s->end - s->p);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s->p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s->p[i + 1] << 8;
		if (i + 2 < n)
			v |= s->p[i + 2];
		out[j++] = tbl[(v >> 18) & 63];
		out[j++] = tbl[(v >> 12) & 63];
		out[j++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[j++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	json_t *r = json_stringn(out, j);
	free(out);
	return r;
}

/* A map entry (key = 1, value = 2) into obj; bytes values base64-encoded. */
static int pb_map_entry(struct pb *b, json_t *obj, bool bytes)
{
	struct field f;
	json_t *key = NULL, *val = NULL;
	while (b->p < b->end) {
		if (pb_next(b, &f) < 0) {
			json_decref(key);
			json_decref(val);
			return BERR_INVALID;
		}
		if (f.wire != 2)
			continue;
		if (f.num == 1) {
			json_decref(key);
			key = pb_string(&f.sub);
		} else if (f.num == 2) {
			json_decref(val);
			val = bytes ? pb_base64(&f.sub) : pb_string(&f.sub);
		}
	}
	if (!key || !json_string_value(key)) {
		json_decref(key);
		json_decref(val);
		return BERR_INVALID;
	}
	json_object_set_new(obj, json_string_value(key), val ? val : json_string(""));
	json_decref(key);
	return 0;
}

static json_t *ensure(json_t *o, const char *k, bool array)
{
	json_t *v = json_object_get(o, k);
	if (!v) {
		v = array ? json_array() : json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static int pb_meta(struct pb *b, json_t *meta)
{
	struct field f;
	while (b->p < b->end) {
		if (pb_next(b, &f) < 0)
			return BERR_INVALID;
		if (f.wire != 2)
			continue;
		switch (f.num) {
		case 1: json_object_set_new(meta, "name", pb_string(&f.sub)); break;
		case 2: json_object_set_new(meta, "generateName", pb_string(&f.sub)); break;
		case 3: json_object_set_new(meta, "namespace", pb_string(&f.sub)); break;
		case 6: json_object_set_new(meta, "resourceVersion", pb_string(&f.sub)); break;
		case 11:
			if (pb_map_entry(&f.sub, ensure(meta, "labels", false), false) < 0)
				return BERR_INVALID;
			break;
		case 12:
			if (pb_map_entry(&f.sub, ensure(meta, "annotations", false), false) < 0)
				return BERR_INVALID;
			break;
		case 14: json_array_append_new(ensure(meta, "finalizers", true), pb_string(&f.sub)); break;
		default: break; /* server-owned or unused by kubectl create */
		}
	}
	/* Empty strings are proto3 defaults: drop them as the JSON form does. */
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(meta, tmp, k, v) if (json_is_string(v) && !*json_string_value(v)) json_object_del(meta, k);
	return 0;
}

/* meta/v1 DeleteOptions: gracePeriodSeconds 1, preconditions 2 {uid 1,
 * resourceVersion 2}, orphanDependents 3, propagationPolicy 4, dryRun 5. */
static int pb_delete_options(struct pb *b, json_t **ret)
{
	json_t *o = json_pack("{s:s,s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
	struct field f;
	while (b->p < b->end) {
		if (pb_next(b, &f) < 0) {
			json_decref(o);
			return err_set(BERR_INVALID, "protobuf: malformed DeleteOptions");
		}
		if (f.num == 1 && f.wire == 0) {
			json_object_set_new(o, "gracePeriodSeconds", json_integer((json_int_t)f.varint));
		} else if (f.num == 2 && f.wire == 2) {
			struct pb pc = f.sub;
			struct field g;
			json_t *pre = ensure(o, "preconditions", false);
			while (pc.p < pc.end && pb_next(&pc, &g) == 0)
				if (g.wire == 2 && (g.num == 1 || g.num == 2))
					json_object_set_new(pre, g.num == 1 ? "uid" : "resourceVersion", pb_string(&g.sub));
		} else if (f.num == 3 && f.wire == 0) {
			json_object_set_new(o, "orphanDependents", json_boolean(f.varint));
		} else if (f.num == 4 && f.wire == 2) {
			json_object_set_new(o, "propagationPolicy", pb_string(&f.sub));
		} else if (f.num == 5 && f.wire == 2) {
			json_array_append_new(ensure(o, "dryRun", true), pb_string(&f.sub));
		}
	}
	*ret = o;
	return 0;
}

int kpb_decode(const unsigned char *data, size_t len, json_t **ret)
{
	if (len < 4 || memcmp(data, "k8s\0", 4) != 0)
		return err_set(BERR_INVALID, "protobuf: missing k8s envelope");
	struct pb env = { data + 4, data + len }, raw = { NULL, NULL };
	struct field f;
	json_t *api = NULL, *kind = NULL;
	int rc = BERR_INVALID;
	while (env.p < env.end) {
		if (pb_next(&env, &f) < 0)
			goto bad;
		if (f.wire == 2 && f.num == 1) {
			struct pb tm = f.sub;
			while (tm.p < tm.end) {
				if (pb_next(&tm, &f) < 0)
					goto bad;
				if (f.wire == 2 && f.num == 1) {
					json_decref(api);
					api = pb_string(&f.sub);
				} else if (f.wire == 2 && f.num == 2) {
					json_decref(kind);
					kind = pb_string(&f.sub);
				}
			}
		} else if (f.wire == 2 && f.num == 2) {
			raw = f.sub;
		}
	}
	const char *k = kind ? json_string_value(kind) : NULL;
	const char *a = api ? json_string_value(api) : NULL;
	if (!k || !a || !raw.p)
		goto bad;
	if (strcmp(k, "DeleteOptions") == 0) {
		rc = pb_delete_options(&raw, ret);
		goto out;
	}
	int type = strcmp(a, "v1") != 0 ? 0 : strcmp(k, "Namespace") == 0 ? 1 : strcmp(k, "ConfigMap") == 0 ? 2
		 : strcmp(k, "Secret") == 0 ? 3 : strcmp(k, "ServiceAccount") == 0 ? 4 : 0;
	if (!type) {
		rc = err_set(BERR_UNSUPPORTED, "protobuf bodies of %s %s are not supported; send JSON", a, k);
		goto out;
	}
	json_t *obj = json_pack("{s:O,s:O,s:{}}", "apiVersion", api, "kind", kind, "metadata");
	while (raw.p < raw.end) {
		if (pb_next(&raw, &f) < 0) {
			json_decref(obj);
			goto bad;
		}
		int r = 0;
		if (f.num == 1 && f.wire == 2) {
			r = pb_meta(&f.sub, json_object_get(obj, "metadata"));
		} else if (type == 1 && f.num == 2 && f.wire == 2) { /* NamespaceSpec.finalizers */
			struct pb s = f.sub;
			struct field g;
			json_t *spec = ensure(obj, "spec", false);
			while (s.p < s.end && r == 0) {
				r = pb_next(&s, &g);
				if (r == 0 && g.num == 1 && g.wire == 2)
					json_array_append_new(ensure(spec, "finalizers", true), pb_string(&g.sub));
			}
		} else if (type == 2 && (f.num == 2 || f.num == 3) && f.wire == 2) {
			r = pb_map_entry(&f.sub, ensure(obj, f.num == 2 ? "data" : "binaryData", false), f.num == 3);
		} else if (type == 2 && f.num == 4 && f.wire == 0) {
			json_object_set_new(obj, "immutable", json_boolean(f.varint));
		} else if (type == 3 && (f.num == 2 || f.num == 4) && f.wire == 2) {
			r = pb_map_entry(&f.sub, ensure(obj, f.num == 2 ? "data" : "stringData", false), f.num == 2);
		} else if (type == 3 && f.num == 3 && f.wire == 2) {
			if (f.sub.end > f.sub.p)
				json_object_set_new(obj, "type", pb_string(&f.sub));
		} else if (type == 3 && f.num == 5 && f.wire == 0) {
			json_object_set_new(obj, "immutable", json_boolean(f.varint));
		} else if (type == 4 && f.num == 4 && f.wire == 0) {
			json_object_set_new(obj, "automountServiceAccountToken", json_boolean(f.varint));
		}
		if (r < 0) {
			json_decref(obj);
			goto bad;
		}
	}
	*ret = obj;
	rc = 0;
	goto out;
bad:
	rc = err_set(BERR_INVALID, "protobuf: malformed body");
out:
	json_decref(api);
	json_decref(kind);
	return rc;
}
