/*
 * modeljson — typed field readers and writers for the model module's
 * parsers (model.c, model_project.c, model_creds.c). Internal to the model;
 * other code uses model.h.
 *
 * Readers take the object, the key and the object's own path ("spec.source")
 * and report type errors as BERR_INVALID "<path>.<key>: must be a <type>".
 * An absent key or a JSON null leaves *out untouched and returns 0, so
 * callers set defaults first. Strings are copied (caller owns).
 */
#ifndef BERTH_MODELJSON_H
#define BERTH_MODELJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Joins parent and key into dst ("spec" + "source" -> "spec.source"; an
 * empty parent gives just key). Truncates safely. Returns dst. */
const char *mj_path(char *dst, size_t size, const char *parent, const char *key);

/* Like mj_path for an array element: "spec.sources" + 2 -> "spec.sources[2]". */
const char *mj_path_index(char *dst, size_t size, const char *parent, size_t i);

/* A string (copied), a boolean, an integer, or a list of strings at key;
 * see the reading rules above. 0, BERR_INVALID (wrong type), BERR_NOMEM. */
int mj_str(const json_t *obj, const char *key, const char *path, char **out);
int mj_bool(const json_t *obj, const char *key, const char *path, bool *out);
int mj_int(const json_t *obj, const char *key, const char *path, int64_t *out);
/* An integer or a decimal string (Kubernetes int-or-string). */
int mj_int_or_str(const json_t *obj, const char *key, const char *path, int64_t *out);
int mj_strv(const json_t *obj, const char *key, const char *path, struct model_strv *out);

/* Borrowed object / array at key, or NULL when absent or null; a value of
 * another type is BERR_INVALID. Arrays longer than MODEL_MAX_LIST are
 * BERR_TOOLARGE. */
int mj_obj(const json_t *obj, const char *key, const char *path, const json_t **out);
int mj_arr(const json_t *obj, const char *key, const char *path, const json_t **out);

/* An object whose values are all strings (labels, annotations): stores a
 * deep copy in *out (new reference). */
int mj_str_map(const json_t *obj, const char *key, const char *path, json_t **out);

/* The members of obj whose names are not in known (a NULL-terminated list),
 * as a new object in *out (left NULL when there are none). 0 or BERR_NOMEM. */
int mj_extra(const json_t *obj, const char *const *known, json_t **out);

/* Copies every member of extra (may be NULL) that obj does not already
 * have into obj. 0 or BERR_NOMEM. */
int mj_merge_extra(json_t *obj, const json_t *extra);

/* Allocates a zeroed array of n elements of size sz (NULL when n == 0). 0 or
 * BERR_NOMEM. */
int mj_calloc(size_t n, size_t sz, void **out);

/* Writers: add key to obj only when the value is set (non-NULL string,
 * true, non-empty list, non-NULL json). Return 0 or BERR_NOMEM. */
int mj_set_str(json_t *obj, const char *key, const char *s);
int mj_set_bool(json_t *obj, const char *key, bool v);
int mj_set_int(json_t *obj, const char *key, int64_t v);
int mj_set_strv(json_t *obj, const char *key, const struct model_strv *sv);
/* Stores a copy of v (deep) when v is not NULL. */
int mj_set_json(json_t *obj, const char *key, const json_t *v);
/* Stores v, stealing the reference; v == NULL is BERR_NOMEM (it came from a
 * failed constructor). */
int mj_set_new(json_t *obj, const char *key, json_t *v);

/* Pieces of the model shared between model.c, model_status.c,
 * model_project.c and model_creds.c. */

/* metadata of obj -> out (zeroed); keeps a copy of the whole object. */
int model_meta_parse(const json_t *obj, struct model_meta *out);
/* meta.raw with the typed fields laid over it. New reference or NULL. */
json_t *model_meta_to_json(const struct model_meta *m);
int model_destination_parse(const json_t *obj, const char *path, struct model_destination *out);
json_t *model_destination_to_json(const struct model_destination *d);
/* obj["initiatedBy"] <-> ib. */
int model_initiated_by_parse(const json_t *obj, const char *path, struct model_initiated_by *out);
int model_initiated_by_set(json_t *obj, const struct model_initiated_by *ib);
/* apiVersion (berth or Argo CD) and kind, when present, must fit. */
int model_check_type(const json_t *obj, const char *kind);
/* A DNS-1123 subdomain name; "<field>: ..." error otherwise. */
int model_validate_name(const char *field, const char *name);

#endif
