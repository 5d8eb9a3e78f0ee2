/*
 * discovery — the API discovery documents kubectl reads first
 * (KUBE-API.md §1): /api, /apis (plain and aggregated v2 by Accept),
 * /api/v1 and /apis/{group}/{version} (APIResourceList), built from the
 * store's type registry so CRDs appear once Established, plus /version and
 * a minimal /openapi/v2 and /openapi/v3 index.
 */
#ifndef KUBESIM_DISCOVERY_H
#define KUBESIM_DISCOVERY_H

#include <jansson.h>
#include <stdbool.h>

#include "store.h"

/* The media type header value of aggregated discovery responses. */
#define DISCOVERY_V2_CONTENT_TYPE "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

/* True when the Accept header asks for aggregated discovery v2. */
bool discovery_wants_v2(const char *accept);

/* /api (core=true) or /apis: plain documents. New references. */
json_t *discovery_api_versions(void);
json_t *discovery_group_list(struct ks_store *s);
/* Aggregated APIGroupDiscoveryList for /api (core) or /apis. */
json_t *discovery_aggregated(struct ks_store *s, bool core);
/* APIResourceList for group ("" core) and version; NULL when no served type
 * belongs to it. */
json_t *discovery_resource_list(struct ks_store *s, const char *group, const char *version);
/* /openapi/v3: the index of group-versions; and one group-version's
 * document (paths with PATCH operations and their query parameters, no
 * schemas; NULL when the group-version is not served). New references. */
json_t *discovery_openapi_index(struct ks_store *s);
json_t *discovery_openapi_gv(struct ks_store *s, const char *group, const char *version);
/* /version */
json_t *discovery_version(void);

#endif
