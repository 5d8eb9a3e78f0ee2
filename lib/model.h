/*
 * model — the GitOps model: Application, AppProject, cluster and repository
 * types, parsed from and written to JSON (DESIGN.md §3).
 *
 * An Application or AppProject arrives as the JSON of a Kubernetes object
 * (berth.dev/v1alpha1, or Argo CD's argoproj.io/v1alpha1 after
 * model_convert_argocd). model_app_parse/model_project_parse check the
 * *shape* (types of every known field) and fill typed structs with defaults
 * applied (project "default", targetRevision "HEAD", revisionHistoryLimit
 * 10). model_app_validate/model_project_validate check the *meaning*
 * (required fields, exclusive fields, durations). Every error is BERR_INVALID
 * with a message that starts with the offending field's path:
 *     spec.destination: one of server or name is required
 * model_*_to_json writes the object back. Fields Berth does not model are
 * kept as they came and written back unchanged: in metadata (managedFields,
 * ownerReferences, ...), in the spec, the sources and their helm,
 * kustomize and directory settings, and the sync policy (the `extra`
 * members), so an update through Berth never loses what an Argo CD user
 * wrote. Unknown status fields are dropped (the controller owns status).
 *
 * Projects decide what an application may use: model_project_permits_source,
 * _destination and _resource evaluate sourceRepos, destinations and the
 * resource allow/deny lists the way Argo CD 2.x does (globs, "!" negation).
 *
 * Clusters and repositories are Secrets labelled berth.dev/secret-type
 * (cluster | repository); model_cluster_* and model_repo_* read and build
 * them (base64 in Secret data), and model_repo_url_normalize compares
 * repository URLs the way Argo CD's NormalizeGitURL does.
 *
 * The code: model.c (applications, sources, operations, Argo CD
 * conversion), model_status.c (status shapes, history, conditions),
 * model_project.c (projects, globs, rules), model_creds.c (cluster and
 * repository Secrets, URLs, destination resolution), modeljson.[ch]
 * (internal typed field readers/writers).
 *
 * Strings in the structs are owned (malloc'd) by the struct; NULL means
 * absent. json_t members are owned references. Every struct that can be
 * parsed has a matching *_release that frees its members and leaves it
 * zeroed; releasing a zeroed struct is a no-op.
 */
#ifndef BERTH_MODEL_H
#define BERTH_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MODEL_GROUP "berth.dev"
#define MODEL_VERSION "v1alpha1"
#define MODEL_API_VERSION "berth.dev/v1alpha1"
#define MODEL_ARGO_API_VERSION "argoproj.io/v1alpha1"
#define MODEL_KIND_APP "Application"
#define MODEL_KIND_PROJECT "AppProject"
#define MODEL_FINALIZER "resources-finalizer.berth.dev"
#define MODEL_ARGO_FINALIZER "resources-finalizer.argocd.argoproj.io"
#define MODEL_ANNOTATION_PREFIX "berth.dev/"
#define MODEL_ARGO_ANNOTATION_PREFIX "argocd.argoproj.io/"
#define MODEL_IN_CLUSTER_SERVER "https://kubernetes.default.svc"
#define MODEL_IN_CLUSTER_NAME "in-cluster"
#define MODEL_DEFAULT_PROJECT "default"
#define MODEL_DEFAULT_REVISION "HEAD"
#define MODEL_DEFAULT_HISTORY_LIMIT 10
#define MODEL_SECRET_TYPE_LABEL "berth.dev/secret-type"

/* Bounds on list lengths accepted by the parsers (BERR_TOOLARGE past them). */
#define MODEL_MAX_LIST 10000

/* A list of owned strings. */
struct model_strv {
	char **v;
	size_t n;
};

void model_strv_release(struct model_strv *sv);
/* Appends a copy of s. 0 or BERR_NOMEM / BERR_TOOLARGE. */
int model_strv_push(struct model_strv *sv, const char *s);
/* True when sv holds a string equal to s. */
bool model_strv_has(const struct model_strv *sv, const char *s);

/* ---- metadata ---------------------------------------------------------- */

struct model_meta {
	char *name;
	char *namespace_;
	char *uid;
	char *resource_version;
	int64_t generation;
	char *deletion_timestamp;   /* RFC 3339 or NULL */
	struct model_strv finalizers;
	json_t *labels;             /* object of strings, or NULL */
	json_t *annotations;        /* object of strings, or NULL */
	json_t *raw;                /* the whole metadata object as received (or NULL) */
};

void model_meta_release(struct model_meta *m);

/* ---- Application source ------------------------------------------------ */

struct model_helm_param {
	char *name;
	char *value;
	bool force_string;
};

struct model_helm {
	bool present;
	struct model_strv value_files;
	char *values;               /* YAML text */
	json_t *values_object;      /* free-form object, or NULL */
	struct model_helm_param *parameters;
	size_t n_parameters;
	char *release_name;
	bool skip_crds;
	bool ignore_missing_value_files;
	json_t *extra;              /* fields Berth does not model, kept as they came */
};

struct model_kustomize_replica {
	char *name;
	int64_t count;
};

struct model_kustomize {
	bool present;
	char *name_prefix;
	char *name_suffix;
	struct model_strv images;
	json_t *common_labels;      /* object of strings, or NULL */
	json_t *common_annotations; /* object of strings, or NULL */
	char *namespace_;
	struct model_kustomize_replica *replicas;
	size_t n_replicas;
	json_t *extra;              /* e.g. patches, components, version: kept as they came */
};

struct model_jsonnet_var {
	char *name;
	char *value;
	bool code;
};

struct model_directory {
	bool present;
	bool recurse;
	char *include;
	char *exclude;
	struct model_jsonnet_var *ext_vars;
	size_t n_ext_vars;
	struct model_jsonnet_var *tlas;
	size_t n_tlas;
	struct model_strv jsonnet_libs;
	json_t *extra;
};

struct model_source {
	char *repo_url;
	char *target_revision;      /* defaulted to "HEAD" by the parser */
	char *path;
	char *chart;                /* Helm repository sources */
	char *ref;                  /* multi-source: name to refer to this source ($ref/...) */
	char *name;
	struct model_helm helm;
	struct model_kustomize kustomize;
	struct model_directory directory;
	json_t *extra;
};

void model_source_release(struct model_source *s);

/* Parses a source object; path names it in errors ("spec.source"). */
int model_source_parse(const json_t *obj, const char *path, struct model_source *out);

/* Writes a source as JSON (only fields that are set). New reference or NULL
 * on allocation failure. */
json_t *model_source_to_json(const struct model_source *s);

/* The source type the settings ask for: "Helm", "Kustomize", "Directory"
 * (directory or jsonnet settings), or NULL when none is set (the repo server
 * then detects it from the files). */
const char *model_source_explicit_type(const struct model_source *s);

/* SHA-256 (64 hex chars + NUL) of the source's rendering settings: chart,
 * ref, helm, kustomize and directory settings in canonical JSON. repoURL,
 * targetRevision and path are NOT included (the manifest cache key holds the
 * repository, the resolved commit and the path separately; so do the
 * application name and namespace, which also influence rendering). */
int model_source_settings_hash(const struct model_source *s, char out[65]);

/* A list of sources: spec.source (multi == false, n == 1) or spec.sources[]
 * (multi == true). */
struct model_sources {
	struct model_source *v;
	size_t n;
	bool multi;
};

void model_sources_release(struct model_sources *ss);

/* Reads the "source" object or the "sources" list of obj (a spec, a history
 * entry, an operation's sync); having both is BERR_INVALID. Neither leaves
 * out empty (n == 0). path names obj in errors. */
int model_sources_parse(const json_t *obj, const char *path, struct model_sources *out);

/* Sets obj["source"] (multi == false) or obj["sources"] (multi == true);
 * nothing when ss->n == 0. 0 or BERR_NOMEM. */
int model_sources_set(json_t *obj, const struct model_sources *ss);

/* ---- destination, sync policy, ignoreDifferences ------------------------ */

struct model_destination {
	char *server;
	char *name;
	char *namespace_;
};

void model_destination_release(struct model_destination *d);

struct model_backoff {
	int64_t duration_ms;        /* default 5s */
	int64_t factor;             /* default 2 */
	int64_t max_duration_ms;    /* default 3m */
};

struct model_retry {
	bool present;
	int64_t limit;              /* < 0: unlimited */
	struct model_backoff backoff;
};

struct model_sync_policy {
	bool automated;             /* syncPolicy.automated present */
	bool prune;
	bool self_heal;
	bool allow_empty;
	struct model_strv sync_options;  /* "CreateNamespace=true", ... */
	struct model_retry retry;
	json_t *extra;              /* e.g. managedNamespaceMetadata */
};

/* True when options holds "<name>=true" (case-insensitive value). */
bool model_sync_option_true(const struct model_strv *options, const char *name);

struct model_ignore_diff {
	char *group;
	char *kind;
	char *name;
	char *namespace_;
	struct model_strv json_pointers;
	struct model_strv jq_path_expressions;
	struct model_strv managed_fields_managers;
};

/* ---- operation ---------------------------------------------------------- */

struct model_sync_resource {
	char *group;
	char *kind;
	char *name;
	char *namespace_;
};

struct model_initiated_by {
	char *username;
	bool automated;
};

struct model_operation {
	bool present;
	bool sync_present;
	char *revision;
	struct model_strv revisions;    /* multi-source */
	bool prune;
	bool dry_run;
	struct model_sync_resource *resources;
	size_t n_resources;
	struct model_strv sync_options;
	struct model_sources sources;   /* rollback: the history entry's source(s); n == 0 if none */
	struct model_initiated_by initiated_by;
	int64_t retry_limit;            /* operation.retry.limit, 0 when absent */
};

void model_operation_release(struct model_operation *op);
int model_operation_parse(const json_t *obj, const char *path, struct model_operation *out);
json_t *model_operation_to_json(const struct model_operation *op);

/* ---- status -------------------------------------------------------------- */

struct model_health {
	char *status;               /* Healthy, Progressing, Degraded, Suspended, Missing, Unknown */
	char *message;
};

struct model_resource_status {
	char *group;
	char *version;
	char *kind;
	char *namespace_;
	char *name;
	char *status;               /* Synced, OutOfSync, Unknown */
	struct model_health health;
	bool hook;
	bool requires_pruning;
	int64_t sync_wave;
};

struct model_history {
	int64_t id;
	char *revision;
	struct model_strv revisions;
	struct model_sources sources;   /* source or sources */
	char *deployed_at;
	char *deploy_started_at;
	struct model_initiated_by initiated_by;
};

struct model_condition {
	char *type;
	char *message;
	char *last_transition_time;
};

struct model_operation_state {
	bool present;
	struct model_operation operation;
	char *phase;                /* Running, Terminating, Succeeded, Failed, Error */
	char *message;
	json_t *sync_result;        /* free-form: {resources[], revision, source}, or NULL */
	char *started_at;
	char *finished_at;
	int64_t retry_count;
};

struct model_app_status {
	char *sync_status;          /* Synced, OutOfSync, Unknown */
	char *sync_revision;
	struct model_strv sync_revisions;
	json_t *compared_to;        /* {source|sources, destination}, or NULL */
	struct model_health health;
	struct model_operation_state operation_state;
	struct model_history *history;
	size_t n_history;
	struct model_resource_status *resources;
	size_t n_resources;
	struct model_condition *conditions;
	size_t n_conditions;
	char *reconciled_at;
	char *source_type;
	struct model_strv images;
	struct model_strv external_urls;
	int64_t observed_generation;
};

void model_app_status_release(struct model_app_status *st);

/* Parses an Application's status object; path names it ("status"). */
int model_app_status_parse(const json_t *obj, const char *path, struct model_app_status *out);

/* Formats milliseconds as a Go duration ("5s", "3m", "1m30s", "250ms") into
 * out[size]. */
void model_format_duration(int64_t ms, char *out, size_t size);

/* ---- Application --------------------------------------------------------- */

struct model_app {
	struct model_meta meta;
	char *project;              /* defaulted to "default" */
	struct model_sources sources;
	struct model_destination destination;
	struct model_sync_policy sync_policy;
	struct model_ignore_diff *ignore_differences;
	size_t n_ignore_differences;
	int64_t revision_history_limit;     /* defaulted to 10 */
	json_t *spec_extra;         /* spec fields Berth does not model (e.g. info) */
	struct model_operation operation;
	struct model_app_status status;
};

void model_app_release(struct model_app *app);

/* Parses an Application object (berth.dev/v1alpha1; an argoproj.io one is
 * accepted too and read as model_convert_argocd would convert it, Argo CD
 * finalizers mapped). Checks field types, applies
 * defaults. 0, BERR_INVALID (message names the field), BERR_TOOLARGE,
 * BERR_NOMEM. out is untouched on failure. */
int model_app_parse(const json_t *obj, struct model_app *out);

/* Checks the meaning of a parsed app: name, destination (server or name,
 * not both), source or sources (not both, repoURL required, one source
 * type), retry durations, revisionHistoryLimit, operation resources.
 * 0 or BERR_INVALID with the offending field first in the message. */
int model_app_validate(const struct model_app *app);

/* Writes the app as a berth.dev/v1alpha1 object (metadata from meta.raw
 * with the typed fields laid over it, spec, operation when present, status
 * when include_status). New reference, or NULL on allocation failure. */
json_t *model_app_to_json(const struct model_app *app, bool include_status);

/* Writes only the status (for a status subresource write). New reference. */
json_t *model_app_status_to_json(const struct model_app_status *st);

/* The value of annotation berth.dev/<name>, else argocd.argoproj.io/<name>,
 * else NULL. Borrowed from app->meta.annotations. */
const char *model_app_annotation(const struct model_app *app, const char *name);

/* Appends a history entry (its members are moved: entry is left zeroed)
 * with id = last id + 1, then drops the oldest entries beyond
 * revisionHistoryLimit. 0 or BERR_NOMEM (entry untouched). */
int model_app_history_push(struct model_app *app, struct model_history *entry);

/* Sets the condition of this type (one per type, as Argo CD keeps them):
 * replaces its message, and its lastTransitionTime (now, RFC 3339) only when
 * the message changed. 0 or BERR_NOMEM. */
int model_app_condition_set(struct model_app_status *st, const char *type, const char *message,
			    const char *now);

/* Removes the condition of this type; true when there was one. */
bool model_app_condition_clear(struct model_app_status *st, const char *type);

/* The history entry with this id, or NULL. Borrowed. */
const struct model_history *model_app_history_find(const struct model_app *app, int64_t id);

/* The app's primary source (sources.v[0]) or NULL when there is none.
 * Borrowed. */
const struct model_source *model_app_source(const struct model_app *app);

/* Converts an Argo CD object to Berth in place: for apiVersion
 * argoproj.io/v1alpha1 with kind Application or AppProject, sets apiVersion
 * berth.dev/v1alpha1 and maps finalizers resources-finalizer.argocd.argoproj.io
 * (and its /background, /foreground forms) to resources-finalizer.berth.dev.
 * argocd.argoproj.io/ annotations are kept (Berth honours them).
 * Returns 1 when converted, 0 when obj is already berth.dev/v1alpha1,
 * BERR_INVALID for any other apiVersion/kind. */
int model_convert_argocd(json_t *obj);

/* ---- AppProject ---------------------------------------------------------- */

struct model_group_kind {
	char *group;
	char *kind;
	char *name;                 /* optional name glob (cluster resources) */
};

struct model_project_token {
	int64_t iat;
	int64_t exp;                /* 0: never */
	char *id;
};

struct model_project_role {
	char *name;
	char *description;
	struct model_strv policies;
	struct model_strv groups;
	struct model_project_token *jwt_tokens;
	size_t n_jwt_tokens;
};

struct model_sync_window {
	char *kind;                 /* allow | deny */
	char *schedule;             /* cron */
	char *duration;             /* Go duration */
	struct model_strv applications;
	struct model_strv namespaces;
	struct model_strv clusters;
	bool manual_sync;
	char *time_zone;
};

struct model_project {
	struct model_meta meta;
	char *description;
	struct model_strv source_repos;
	struct model_destination *destinations;
	size_t n_destinations;
	struct model_group_kind *cluster_whitelist;
	size_t n_cluster_whitelist;
	struct model_group_kind *cluster_blacklist;
	size_t n_cluster_blacklist;
	struct model_group_kind *namespace_whitelist;
	size_t n_namespace_whitelist;
	bool namespace_whitelist_set;   /* present, even if empty: [] permits nothing */
	struct model_group_kind *namespace_blacklist;
	size_t n_namespace_blacklist;
	struct model_project_role *roles;
	size_t n_roles;
	struct model_sync_window *sync_windows;
	size_t n_sync_windows;
	struct model_strv source_namespaces;
	json_t *spec_extra;         /* spec fields Berth does not model, kept as they came */
	json_t *status;             /* free-form status (jwtTokensByRole), or NULL */
};

void model_project_release(struct model_project *p);

/* Parses an AppProject object. Same contract as model_app_parse. */
int model_project_parse(const json_t *obj, struct model_project *out);

/* Checks names, that each destination has server or name, roles named
 * uniquely and their policies well-formed ("p, proj:<project>:<role>, ...").
 * 0 or BERR_INVALID. */
int model_project_validate(const struct model_project *p);

/* Writes the project as a berth.dev/v1alpha1 object. New reference or NULL. */
json_t *model_project_to_json(const struct model_project *p);

/* Fills out with the permissive built-in "default" project (any source, any
 * destination, every resource kind), as Argo CD creates it. namespace_ may
 * be NULL. 0 or BERR_NOMEM. */
int model_project_init_default(struct model_project *out, const char *namespace_);

/* Project rules. Each returns true when permitted; when refused and
 * ret_reason is not NULL, *ret_reason receives a newly allocated sentence
 * naming the project and what was refused (free() it).
 *
 * These follow Argo CD's code, including its surprise: an entry "!pattern"
 * counts as matching every value it does not exclude, so a list holding
 * only deny entries permits everything they do not exclude.
 *
 * Source: the repo URL (normalised) must match some entry of sourceRepos
 * and must not be excluded by a "!" entry. Globs: '*' does not cross '/',
 * '**' does; the entry "*" alone matches everything.
 *
 * Destination: some entry must match (server or name, and namespace, as
 * globs), and no entry may have a "!" part (server, name or namespace) that
 * excludes the destination's value.
 *
 * Resource: cluster-scoped kinds must be in clusterResourceWhitelist and not
 * in clusterResourceBlacklist; namespaced kinds must be in
 * namespaceResourceWhitelist when that list is given (an empty list given
 * explicitly permits no namespaced kind, as in Argo CD) and not in
 * namespaceResourceBlacklist. group "" is the core group. Entries are globs.
 *
 * The caller should fill both server and name of dst when it knows the
 * cluster (Argo CD resolves one from the other before checking). */
bool model_project_permits_source(const struct model_project *p, const char *repo_url,
				  char **ret_reason);
bool model_project_permits_destination(const struct model_project *p,
				       const struct model_destination *dst, char **ret_reason);
bool model_project_permits_resource(const struct model_project *p, const char *group,
				    const char *kind, bool namespaced, char **ret_reason);

/* All of an application's rules at once, as the API server (create, update,
 * sync) and the controller (before applying) check them: app->project must
 * be this project, every source's repoURL must be permitted, and the
 * destination (resolve it first with model_destination_resolve) too.
 * Resources are checked one by one later with _permits_resource. */
bool model_project_permits_app(const struct model_project *p, const struct model_app *app,
			       char **ret_reason);

/* The role called name, or NULL. Borrowed. */
const struct model_project_role *model_project_role(const struct model_project *p,
						    const char *name);

/* Whether a project role token is still valid: role exists, a jwtTokens
 * entry has this id, and it has not expired at now (Unix seconds; exp 0
 * never expires). Deleting the entry from the project revokes the token. */
bool model_project_token_valid(const struct model_project *p, const char *role, const char *id,
			       int64_t now);

/* Glob match as Argo CD's project rules use it: '*' any run of characters
 * except sep (when sep != 0), '**' any run including sep, '?' one character,
 * '[...]' classes, '{a,b}' alternatives, '\\' escapes. A leading '!' is
 * NOT interpreted here. Matching is bounded by MODEL_GLOB_MAX_STEPS steps:
 * model_glob_checked returns 1 (match), 0 (no match) or BERR_TOOLARGE
 * (pattern over 1023 characters, or too costly for s); model_glob is true
 * only for a match. Callers applying a deny rule must treat BERR_TOOLARGE
 * as a hit, not a miss. */
#define MODEL_GLOB_MAX_STEPS 200000L
int model_glob_checked(const char *pattern, const char *s, char sep);
bool model_glob(const char *pattern, const char *s, char sep);

/* ---- clusters ------------------------------------------------------------ */

struct model_cluster {
	char *name;
	char *server;
	char *bearer_token;
	char *username;
	char *password;
	char *ca_data;              /* PEM (decoded from the config's base64) */
	char *cert_data;            /* PEM */
	char *key_data;             /* PEM */
	bool insecure;
	char *server_name;
	struct model_strv namespaces;   /* optional: restrict to these namespaces */
	char *project;              /* optional: project-scoped cluster */
};

void model_cluster_release(struct model_cluster *c);

/* Reads a cluster Secret (label berth.dev/secret-type=cluster, or Argo CD's
 * argocd.argoproj.io/secret-type=cluster). data.config is JSON
 * {bearerToken, username, password, tlsClientConfig{caData, certData,
 * keyData, insecure, serverName}} where the *Data fields are base64 PEM.
 * A missing data.name defaults to the server. 0 or BERR_INVALID. */
int model_cluster_from_secret(const json_t *secret, struct model_cluster *out);

/* Builds the Secret for a cluster: metadata {name: secret_name, namespace,
 * labels}, data base64-encoded. New reference in *ret; 0 or BERR_NOMEM. */
int model_cluster_to_secret(const struct model_cluster *c, const char *namespace_,
			    const char *secret_name, json_t **ret);

/* API shape {server, name, config{bearerToken, tlsClientConfig{...}}}.
 * The tlsClientConfig *Data fields are base64 (as in the Secret's config).
 * with_secrets == false omits bearerToken, password and keyData.
 * from_json reads the same shape. */
json_t *model_cluster_to_json(const struct model_cluster *c, bool with_secrets);
int model_cluster_from_json(const json_t *obj, struct model_cluster *out);

/* Fills out with the control-plane cluster (in-cluster, no credentials:
 * the caller uses its own in-cluster config). */
int model_cluster_init_in_cluster(struct model_cluster *out);

/* Resolves a destination against the known clusters (the control-plane
 * cluster https://kubernetes.default.svc / in-cluster is always known,
 * unless a cluster Secret redefines it): fills both server and name in
 * *out (a copy; release with model_destination_release), namespace copied.
 * Returns the index of the cluster in clusters, n for the implicit
 * in-cluster, or BERR_NOTFOUND ("spec.destination: no cluster named
 * \"x\"" / "... with server \"y\""), BERR_INVALID (neither set), BERR_NOMEM. */
ssize_t model_destination_resolve(const struct model_destination *d,
				  const struct model_cluster *clusters, size_t n,
				  struct model_destination *out);

/* ---- repositories -------------------------------------------------------- */

struct model_repo {
	char *url;
	char *name;
	char *type;                 /* "git" (default) or "helm" */
	char *username;
	char *password;
	char *ssh_private_key;
	bool insecure;
	char *project;
	bool is_template;           /* a credential template (repo-creds): url is a prefix */
};

void model_repo_release(struct model_repo *r);

/* Reads a repository Secret (berth.dev/secret-type repository or
 * repo-creds; Argo CD's label accepted too). 0 or BERR_INVALID. */
int model_repo_from_secret(const json_t *secret, struct model_repo *out);

/* Builds the Secret for a repository (label value repository, or repo-creds
 * when is_template). New reference in *ret; 0 or BERR_NOMEM. */
int model_repo_to_secret(const struct model_repo *r, const char *namespace_,
			 const char *secret_name, json_t **ret);

/* API shape {repo, name, type, username, password, sshPrivateKey, insecure,
 * project}. with_secrets == false omits password and sshPrivateKey. */
json_t *model_repo_to_json(const struct model_repo *r, bool with_secrets);
int model_repo_from_json(const json_t *obj, struct model_repo *out);

/* Normalises a repository URL as Argo CD's NormalizeGitURL does: trims
 * space, lower-cases, turns scp-style "user@host:path" into the same form as
 * "ssh://user@host/path" (both become "user@host/path"), strips a ".git"
 * suffix and trailing slashes. *ret is newly allocated. 0, BERR_INVALID
 * (empty), BERR_NOMEM. */
int model_repo_url_normalize(const char *url, char **ret);

/* Copies url into out[size] with any user information ("user:password@")
 * replaced by "***@", for messages and logs. Returns out. */
const char *model_repo_url_redact(const char *url, char *out, size_t size);

/* True when a and b normalise to the same URL. */
bool model_repo_url_equal(const char *a, const char *b);

/* Picks the credentials for url: the repository whose URL normalises equal
 * to url, else the credential template (is_template) whose URL is the
 * longest prefix of url. Returns the index into repos, or -1. */
ssize_t model_repo_match(const struct model_repo *repos, size_t n, const char *url);

#endif
