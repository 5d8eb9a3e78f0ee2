/*
 * render — turn an application's folder in a repository into Kubernetes
 * objects, the way Argo CD does, safely.
 *
 * Source types (detected as Argo CD does, overridable by the Application
 * source):
 * - Helm when the source has "helm" or the folder holds Chart.yaml:
 *   `helm template <release> . --namespace NS` with valueFiles (confined to
 *   the repository), values / valuesObject (written to scratch files),
 *   parameters (--set, --set-string when forceString), releaseName (default
 *   the app name), skipCrds (else --include-crds), --kube-version and
 *   --api-versions when given. Local (file://) dependencies are built first
 *   with `helm dependency build`; a remote one that cannot be fetched fails
 *   with the tool's message.
 * - Kustomize when the source has "kustomize" or the folder holds
 *   kustomization.yaml / kustomization.yml / Kustomization: the source's
 *   namePrefix, nameSuffix, images, commonLabels, commonAnnotations,
 *   namespace and replicas are written into the kustomization file as
 *   `kustomize edit` would (parsed, edited as data, written back), then
 *   `kustomize build` runs (or `kubectl kustomize` when kustomize is not on
 *   PATH).
 * - Jsonnet when the source's directory.jsonnet is set or the folder holds
 *   only Jsonnet files: every *.jsonnet file is evaluated with libjsonnet
 *   (linked in; each evaluation runs in a forked child so the deadline,
 *   output cap and a memory limit apply) with extVars and tlas; imports and
 *   library paths are confined to the repository.
 * - Directory otherwise: *.yaml, *.yml, *.json (and *.jsonnet) files,
 *   recursing when directory.recurse, filtered by directory.include /
 *   exclude globs ("{a,b}" alternatives allowed), in sorted path order.
 *
 * Output: a JSON array of objects in a stable order (file order, then
 * document order). Multi-document YAML is split, empty documents skipped,
 * JSON arrays and "kind: List" / "*List" objects with items flattened. An
 * object without apiVersion or kind is an error naming its file. The total
 * size (as compact JSON) and the number of objects are capped.
 *
 * Safety: the caller hands over a private copy of the repository (root,
 * already checked for escaping symlinks); render may modify it (Kustomize
 * edits) and creates its scratch files in a private folder under
 * scratch_dir that it removes. Every path from the source (app path,
 * valueFiles, Jsonnet library paths, imports) is resolved and must stay
 * inside root ("... outside repository root"). Tools run through subproc:
 * no shell, a fixed environment (PATH, HOME and Helm's folders in the
 * scratch folder, no KUBECONFIG), a timeout and capped output. Tool stderr
 * in error messages is trimmed and has the scratch and root paths replaced.
 */
#ifndef BERTH_RENDER_H
#define BERTH_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum render_type { RENDER_DIRECTORY, RENDER_KUSTOMIZE, RENDER_HELM, RENDER_JSONNET };

struct render_opts {
	const char *root;                /* resolved (realpath) root of a private repository copy */
	const char *path;                /* the app's folder relative to root; NULL/""/"." = root */
	const char *app_name;            /* default Helm release name */
	const char *namespace;           /* destination namespace (helm --namespace), may be NULL */
	const json_t *source;            /* the Application source object (borrowed), may be NULL */
	const char *tool_path;           /* PATH for tools; NULL: the process's PATH */
	const char *scratch_dir;         /* where private scratch folders go; NULL: $TMPDIR or /tmp */
	int64_t exec_timeout_ms;         /* per tool run; 0: 90 s */
	size_t max_tool_output;          /* per stream of a tool; 0: 50 MB */
	size_t max_manifest_bytes;       /* total output as compact JSON; 0: 64 MB */
	size_t max_objects;              /* 0: 20000 */
	const char *kube_version;        /* helm --kube-version, or NULL */
	const char *const *api_versions; /* helm --api-versions (NULL-terminated), or NULL */
};

struct render_counters {
	uint64_t tool_runs; /* helm/kustomize/kubectl processes started */
};

/* "Directory", "Kustomize", "Helm", "Jsonnet". */
const char *render_type_name(enum render_type t);

/* Decides the source type of app_dir (an absolute folder) given the source
 * (may be NULL). 0 or BERR_IO. */
int render_detect(const char *app_dir, const json_t *source, enum render_type *ret);

/* Renders. On success *ret_type is the source type and *ret_manifests a new
 * JSON array of objects. Errors: BERR_FORBIDDEN (a path outside the
 * repository root), BERR_NOTFOUND (app path or value file missing),
 * BERR_INVALID (bad document, tool failure: message holds the tool's
 * trimmed stderr), BERR_TOOLARGE (a bound), BERR_TIMEOUT, BERR_UNSUPPORTED
 * (tool missing). counters, when not NULL, is added to. */
int render_run(const struct render_opts *o, enum render_type *ret_type, json_t **ret_manifests,
	       struct render_counters *counters);

/* Application details for the UI/CLI: {sourceType, helm:{valueFiles[],
 * parameters[{name,value}]}, kustomize:{images[]}} (helm/kustomize only for
 * those types). New reference in *ret. Same errors as render_run. */
int render_app_details(const struct render_opts *o, json_t **ret);

/* Flattens one parsed value into out (array) as render does: arrays and
 * List kinds are expanded, nulls skipped, objects checked for apiVersion and
 * kind (the error names file). Steals nothing. 0, BERR_INVALID. */
int render_collect(json_t *out, json_t *value, const char *file);

/* Expands "{a,b}" alternatives of a glob into out (a JSON array of
 * strings). Nested braces are expanded too; at most 256 results. */
int render_glob_expand(const char *pattern, json_t *out);

/* Applies the source's kustomize settings to the kustomization object k
 * (edited in place) as `kustomize edit` would. 0 or BERR_INVALID. */
int render_kustomize_edit(json_t *k, const json_t *kustomize_source);

/* The first line of "helm version --short", "kustomize version" and
 * "kubectl version --client" as one string for cache keys, e.g.
 * "helm=v3.14.0;kustomize=?;kubectl=Client Version: v1.29.0" ("?" for a
 * missing tool). Newly allocated. */
char *render_tool_versions(const char *tool_path);

#endif
