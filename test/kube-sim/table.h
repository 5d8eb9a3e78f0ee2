/*
 * table — server-side printing: the meta.k8s.io/v1 Table form kubectl asks
 * for (Accept: application/json;as=Table;v=v1;g=meta.k8s.io) so `kubectl
 * get` shows the usual columns (READY, STATUS, CLUSTER-IP, ...) for the
 * common built-in kinds, and NAME/AGE for the rest.
 */
#ifndef KUBESIM_TABLE_H
#define KUBESIM_TABLE_H

#include <jansson.h>
#include <stdbool.h>

#include "store.h"

/* True when the Accept header asks for a Table (v1). */
bool table_wanted(const char *accept);

/* A Table of the objects in list (a list object with items, or a single
 * object when list has no "items"); items of built-in lists may lack kind
 * and apiVersion. include_object: "Object" embeds the whole object, else
 * PartialObjectMetadata. New reference. */
json_t *table_of(const struct ks_type *t, const json_t *list, const char *include_object);

#endif
