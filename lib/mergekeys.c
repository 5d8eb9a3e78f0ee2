/*
 * mergekeys — the static schema tree of list strategies (see mergekeys.h).
 *
 * Each N_* node describes one object type of the Kubernetes API by the
 * fields whose patch behaviour is not the default. The values come from the
 * patchStrategy/patchMergeKey struct tags of k8s.io/api (KUBE-API.md §5.4).
 */
#include "mergekeys.h"

#include <string.h>

#include "err.h"

#define NODE(name, ...)                                                         \
	static const struct mk_field name##_fields[] = {__VA_ARGS__};           \
	static const struct mk_node name = {name##_fields,                      \
					    sizeof(name##_fields) / sizeof(name##_fields[0])}

#define MAPLIST(n, k, c) {.name = (n), .list = MK_LIST_MAP, .key = (k), .child = (c)}
#define MAPLIST_RK(n, k, c) {.name = (n), .list = MK_LIST_MAP, .key = (k), .retain_keys = true, .child = (c)}
#define SETLIST(n) {.name = (n), .list = MK_LIST_SET}
#define SUB(n, c) {.name = (n), .child = (c)}
#define SUB_RK(n, c) {.name = (n), .retain_keys = true, .child = (c)}

NODE(N_OBJECT_META,
     MAPLIST("ownerReferences", "uid", NULL),
     SETLIST("finalizers"));

NODE(N_CONTAINER,
     MAPLIST("ports", "containerPort", NULL),
     MAPLIST("env", "name", NULL),
     MAPLIST("volumeMounts", "mountPath", NULL),
     MAPLIST("volumeDevices", "devicePath", NULL),
     MAPLIST("resizePolicy", "resourceName", NULL));

NODE(N_POD_SPEC,
     MAPLIST("containers", "name", &N_CONTAINER),
     MAPLIST("initContainers", "name", &N_CONTAINER),
     MAPLIST("ephemeralContainers", "name", &N_CONTAINER),
     MAPLIST_RK("volumes", "name", NULL),
     MAPLIST("imagePullSecrets", "name", NULL),
     MAPLIST("hostAliases", "ip", NULL),
     MAPLIST("topologySpreadConstraints", "topologyKey", NULL),
     MAPLIST_RK("resourceClaims", "name", NULL),
     MAPLIST("schedulingGates", "name", NULL));

NODE(N_POD_TEMPLATE_SPEC,
     SUB("metadata", &N_OBJECT_META),
     SUB("spec", &N_POD_SPEC));

/* status of workloads and most built-ins: conditions keyed by type. */
NODE(N_CONDITIONS_STATUS,
     MAPLIST("conditions", "type", NULL));

NODE(N_POD_STATUS,
     MAPLIST("conditions", "type", NULL),
     MAPLIST("podIPs", "ip", NULL),
     MAPLIST("hostIPs", "ip", NULL));

NODE(N_POD,
     SUB("metadata", &N_OBJECT_META),
     SUB("spec", &N_POD_SPEC),
     SUB("status", &N_POD_STATUS));

NODE(N_DEPLOYMENT_SPEC,
     SUB("template", &N_POD_TEMPLATE_SPEC),
     SUB_RK("strategy", NULL));

NODE(N_DEPLOYMENT,
     SUB("metadata", &N_OBJECT_META),
     SUB("spec", &N_DEPLOYMENT_SPEC),
     SUB("status", &N_CONDITIONS_STATUS));

/* StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job: only the
 * template matters (volumeClaimTemplates and the rest are atomic). */
NODE(N_TEMPLATED_SPEC,
     SUB("template", &N_POD_TEMPLATE_SPEC));

NODE(N_TEMPLATED,
     SUB("metadata", &N_OBJECT_META),
     SUB("spec", &N_TEMPLATED_SPEC),
     SUB("status", &N_CONDITIONS_STATUS));

NODE(N_JOB_TEMPLATE_SPEC,
     SUB("metadata", &N_OBJECT_META),
     SUB("spec", &N_TEMPLATED_SPEC));

NODE(N_CRONJOB_SPEC,
     SUB("jobTemplate", &N_JOB_TEMPLATE_SPEC));

NODE(N_CRONJOB,
     SUB("metadata", &N_OBJECT_META),
     SUB("spec", &N_CRONJOB_SPEC),
     SUB("status", &N_CONDITIONS_STATUS));

NODE(N_POD_TEMPLATE,
     SUB("metadata", &N_OBJECT_META),
     SUB("template", &N_POD_TEMPLATE_SPEC));

NODE(N_SERVICE_SPEC,
     MAPLIST("ports", "port", NULL));

NODE(N_SERVICE,
     SUB("metadata", &N_OBJECT_META),
     SUB("spec", &N_SERVICE_SPEC),
     SUB("status", &N_CONDITIONS_STATUS));

NODE(N_SERVICE_ACCOUNT,
     SUB("metadata", &N_OBJECT_META),
     MAPLIST("secrets", "name", NULL),
     MAPLIST("imagePullSecrets", "name", NULL));

NODE(N_WEBHOOK_CONFIGURATION,
     SUB("metadata", &N_OBJECT_META),
     MAPLIST("webhooks", "name", NULL));

NODE(N_NODE_STATUS,
     MAPLIST("conditions", "type", NULL),
     MAPLIST("addresses", "type", NULL));

NODE(N_NODE,
     SUB("metadata", &N_OBJECT_META),
     SUB("status", &N_NODE_STATUS));

/* Any other built-in kind. */
NODE(N_GENERIC,
     SUB("metadata", &N_OBJECT_META),
     SUB("status", &N_CONDITIONS_STATUS));

struct kind_entry {
	const char *group;
	const char *kind;
	const struct mk_node *node;
};

static const struct kind_entry kinds[] = {
	{"", "Pod", &N_POD},
	{"", "PodTemplate", &N_POD_TEMPLATE},
	{"", "ReplicationController", &N_TEMPLATED},
	{"", "Service", &N_SERVICE},
	{"", "ServiceAccount", &N_SERVICE_ACCOUNT},
	{"", "Node", &N_NODE},
	{"apps", "Deployment", &N_DEPLOYMENT},
	{"apps", "StatefulSet", &N_TEMPLATED},
	{"apps", "DaemonSet", &N_TEMPLATED},
	{"apps", "ReplicaSet", &N_TEMPLATED},
	{"extensions", "Deployment", &N_DEPLOYMENT},
	{"extensions", "DaemonSet", &N_TEMPLATED},
	{"extensions", "ReplicaSet", &N_TEMPLATED},
	{"batch", "Job", &N_TEMPLATED},
	{"batch", "CronJob", &N_CRONJOB},
	{"admissionregistration.k8s.io", "MutatingWebhookConfiguration", &N_WEBHOOK_CONFIGURATION},
	{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration", &N_WEBHOOK_CONFIGURATION},
};

/* Groups served by kube-apiserver itself (kube-aggregator included). Listed
 * exactly: CRD-defined groups may also end in .k8s.io. */
static const char *const builtin_groups[] = {
	"",
	"admissionregistration.k8s.io",
	"apiextensions.k8s.io",
	"apiregistration.k8s.io",
	"apps",
	"authentication.k8s.io",
	"authorization.k8s.io",
	"autoscaling",
	"batch",
	"certificates.k8s.io",
	"coordination.k8s.io",
	"discovery.k8s.io",
	"events.k8s.io",
	"extensions",
	"flowcontrol.apiserver.k8s.io",
	"internal.apiserver.k8s.io",
	"networking.k8s.io",
	"node.k8s.io",
	"policy",
	"rbac.authorization.k8s.io",
	"resource.k8s.io",
	"scheduling.k8s.io",
	"storage.k8s.io",
	"storagemigration.k8s.io",
};

bool mk_is_builtin(const char *group, const char *kind)
{
	(void)kind;
	if (!group)
		group = "";
	for (size_t i = 0; i < sizeof(builtin_groups) / sizeof(builtin_groups[0]); i++)
		if (strcmp(group, builtin_groups[i]) == 0)
			return true;
	return false;
}

const struct mk_node *mk_kind_schema(const char *group, const char *kind)
{
	if (!group)
		group = "";
	if (!kind || !mk_is_builtin(group, kind))
		return NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0 && strcmp(kinds[i].group, group) == 0)
			return kinds[i].node;
	return &N_GENERIC;
}

const struct mk_field *mk_node_field(const struct mk_node *node, const char *name)
{
	if (!node || !name)
		return NULL;
	for (size_t i = 0; i < node->n; i++)
		if (strcmp(node->fields[i].name, name) == 0)
			return &node->fields[i];
	return NULL;
}

int mk_lookup(const char *group, const char *kind, const char *path, struct mk_strategy *out)
{
	const struct mk_node *node = mk_kind_schema(group, kind);
	const struct mk_field *field = NULL;
	char seg[128];

	if (!path || !*path)
		return err_set(BERR_INVALID, "merge-key path is empty");
	const char *p = path;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= 2 && p[n - 2] == '[' && p[n - 1] == ']')
			n -= 2;
		if (n == 0 || n >= sizeof(seg) || memchr(p, '[', n) || memchr(p, ']', n))
			return err_set(BERR_INVALID, "merge-key path \"%s\": bad segment", path);
		memcpy(seg, p, n);
		seg[n] = '\0';
		field = mk_node_field(node, seg);
		node = field ? field->child : NULL;
		if (!dot)
			break;
		p = dot + 1;
	}
	out->list = field ? field->list : MK_LIST_ATOMIC;
	out->key = field ? field->key : NULL;
	out->retain_keys = field ? field->retain_keys : false;
	return 0;
}
