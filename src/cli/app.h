/*
 * app.h — what the `berth app` command files share: the flags that build an
 * Application's spec (create and set), fetching an application, and waiting
 * for it with progress (sync, wait, rollback).
 */
#ifndef BERTH_CLI_APP_H
#define BERTH_CLI_APP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"

/* Spec flags of app create / app set, collected before they are applied. */
struct app_flags {
	const char *repo, *path, *revision, *dest_server, *dest_name, *dest_namespace, *project;
	const char *sync_policy, *release_name;
	bool auto_prune, self_heal, allow_empty, directory_recurse;
	json_t *sync_options;     /* array of strings */
	json_t *helm_sets;        /* array of "k=v" */
	json_t *values;           /* array of value file names */
	json_t *kustomize_images; /* array of images */
};

enum {
	APP_OPT_REPO = CLI_OPT_FIRST_FREE + 100,
	APP_OPT_PATH,
	APP_OPT_REVISION,
	APP_OPT_DEST_SERVER,
	APP_OPT_DEST_NAME,
	APP_OPT_DEST_NAMESPACE,
	APP_OPT_PROJECT,
	APP_OPT_SYNC_POLICY,
	APP_OPT_AUTO_PRUNE,
	APP_OPT_SELF_HEAL,
	APP_OPT_ALLOW_EMPTY,
	APP_OPT_SYNC_OPTION,
	APP_OPT_HELM_SET,
	APP_OPT_VALUES,
	APP_OPT_RELEASE_NAME,
	APP_OPT_KUSTOMIZE_IMAGE,
	APP_OPT_DIRECTORY_RECURSE,
};

#define APP_SPEC_LONGOPTS                                                                  \
	{"repo", required_argument, NULL, APP_OPT_REPO},                                   \
	{"path", required_argument, NULL, APP_OPT_PATH},                                   \
	{"revision", required_argument, NULL, APP_OPT_REVISION},                           \
	{"dest-server", required_argument, NULL, APP_OPT_DEST_SERVER},                     \
	{"dest-name", required_argument, NULL, APP_OPT_DEST_NAME},                         \
	{"dest-namespace", required_argument, NULL, APP_OPT_DEST_NAMESPACE},               \
	{"project", required_argument, NULL, APP_OPT_PROJECT},                             \
	{"sync-policy", required_argument, NULL, APP_OPT_SYNC_POLICY},                     \
	{"auto-prune", no_argument, NULL, APP_OPT_AUTO_PRUNE},                             \
	{"self-heal", no_argument, NULL, APP_OPT_SELF_HEAL},                               \
	{"allow-empty", no_argument, NULL, APP_OPT_ALLOW_EMPTY},                           \
	{"sync-option", required_argument, NULL, APP_OPT_SYNC_OPTION},                     \
	{"helm-set", required_argument, NULL, APP_OPT_HELM_SET},                           \
	{"values", required_argument, NULL, APP_OPT_VALUES},                               \
	{"release-name", required_argument, NULL, APP_OPT_RELEASE_NAME},                   \
	{"kustomize-image", required_argument, NULL, APP_OPT_KUSTOMIZE_IMAGE},             \
	{"directory-recurse", no_argument, NULL, APP_OPT_DIRECTORY_RECURSE}

#define APP_SPEC_HELP                                                                       \
	"Source and destination:\n"                                                         \
	"      --repo URL               Git repository\n"                                   \
	"      --path P                 folder of the application in the repository\n"      \
	"      --revision R             branch, tag or commit (default HEAD)\n"             \
	"      --dest-server URL        destination cluster by API server URL\n"            \
	"      --dest-name N            destination cluster by name\n"                      \
	"      --dest-namespace NS      namespace for objects without one\n"                \
	"      --project P              AppProject (default \"default\")\n"                 \
	"Sync policy:\n"                                                                    \
	"      --sync-policy automated|none  sync by itself, or only on request\n"          \
	"      --auto-prune             automated sync also prunes\n"                       \
	"      --self-heal              automated sync also undoes changes in the cluster\n" \
	"      --allow-empty            automated sync may prune every resource\n"          \
	"      --sync-option O          a sync option, e.g. CreateNamespace=true (repeatable)\n" \
	"Rendering:\n"                                                                      \
	"      --helm-set K=V           a Helm parameter (repeatable)\n"                    \
	"      --values F               a Helm value file in the repository (repeatable)\n" \
	"      --release-name N         Helm release name\n"                                \
	"      --kustomize-image IMG    a Kustomize image override (repeatable)\n"          \
	"      --directory-recurse      read plain YAML from sub-folders too\n"

void app_flags_init(struct app_flags *f);
void app_flags_release(struct app_flags *f);

/* Handles one APP_SPEC_LONGOPTS option; false when c is not one. */
bool app_flags_opt(struct app_flags *f, int c, const char *arg);

/* Applies the flags to app (an Application object). 0, or an error message
 * in err (static string). */
int app_flags_apply(const struct app_flags *f, json_t *app, const char **err);

/* GET the application; 0 with *ret, or CLI_EXIT_ERROR (printed). */
int app_fetch(struct cli_conn *c, const char *name, const char *refresh, json_t **ret);

/* Asks for a refresh ("normal" or "hard") and waits (up to timeout_s) until
 * the controller has done it (it removes the berth.dev/refresh annotation).
 * 0 with *ret the application after the refresh (or as last seen, with a
 * warning on stderr, when the controller did not answer in time), or
 * CLI_EXIT_ERROR (printed). */
int app_refresh(struct cli_conn *c, const char *name, const char *kind, int64_t timeout_s, json_t **ret);

/* What app_wait waits for. */
enum {
	APP_WAIT_SYNC = 1 << 0,      /* sync status Synced */
	APP_WAIT_HEALTH = 1 << 1,    /* health Healthy */
	APP_WAIT_OPERATION = 1 << 2, /* no operation running */
	APP_WAIT_NEW_OP = 1 << 3,    /* an operation other than prev_started has finished */
};

/* Polls the application until the conditions hold or timeout_s passes (0:
 * forever). Prints resource changes on a terminal. prev_started: the
 * operationState.startedAt seen before requesting an operation (NULL:
 * none). 0 with *ret the last state seen (may be NULL), 1 on timeout (printed),
 * CLI_EXIT_ERROR (printed). */
int app_wait(struct cli_conn *c, const char *name, unsigned what, const char *prev_started,
	     int64_t timeout_s, json_t **ret);

/* Prints the results of the last operation as a table and its phase and
 * message; returns 0 when it succeeded, 1 when not. */
int app_print_operation(const json_t *app);

/* app diff --local: renders dir with the app's source settings and runs the
 * offline diff against the live states of items (managed-resources). Exit
 * status as berth local diff. */
int cli_diff_local(struct cli_conn *c, const json_t *app, const json_t *items, const char *dir);

/* The resources table of app get. */
void app_print_resources(const json_t *app, bool wide);

#endif
