/*
 * cli.h — what the files of the berth command share.
 *
 * The berth binary is a table of subcommands (main.c dispatches). A command
 * is one line in CLI_COMMANDS below plus a function
 *     int cmd_<x>(int argc, char **argv)
 * in its own file src/cli/cmd_<x>.c. argv[0] is the command's full name
 * ("local diff"); the function parses its own flags (getopt_long), answers
 * --help with its usage text on stdout, prints errors as
 * "berth <command>: <message>" on stderr (cli_error), and returns the
 * process exit status: 0 success, 1 "a difference / a finding" where the
 * command defines one, 2 error (CLI_EXIT_ERROR).
 */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

#define CLI_EXIT_OK 0
#define CLI_EXIT_DIFF 1
#define CLI_EXIT_ERROR 2

/* The commands: X(name, function, one-line summary). Words of the name are
 * separated by one space; names sharing a first word form a group
 * ("berth local" lists them). Keep the list sorted by name. */
#define CLI_COMMANDS(X)                                                                     \
	X("account can-i", cmd_account_can_i, "ask the server whether an action is allowed")    \
	X("account update-password", cmd_account_update_password, "change a local account's password") \
	X("app create", cmd_app_create, "create an application from flags or a manifest")       \
	X("app delete", cmd_app_delete, "delete an application (and its resources)")            \
	X("app diff", cmd_app_diff, "show how the live resources differ from Git")              \
	X("app get", cmd_app_get, "show an application and its resources")                      \
	X("app history", cmd_app_history, "list the deployments of an application")            \
	X("app list", cmd_app_list, "list applications")                                        \
	X("app manifests", cmd_app_manifests, "print an application's manifests (Git or live)")  \
	X("app rollback", cmd_app_rollback, "deploy an earlier revision again")                 \
	X("app set", cmd_app_set, "change an application's spec")                               \
	X("app sync", cmd_app_sync, "make the cluster match Git and wait for the result")       \
	X("app terminate-op", cmd_app_terminate_op, "stop the running operation")               \
	X("app wait", cmd_app_wait, "wait until applications are synced and healthy")          \
	X("cluster add", cmd_cluster_add, "register a kubeconfig context as a cluster")         \
	X("cluster list", cmd_cluster_list, "list clusters")                                    \
	X("cluster rm", cmd_cluster_rm, "remove a cluster")                                     \
	X("completion", cmd_completion, "print a shell completion script")                      \
	X("local diff", cmd_local_diff, "compare desired manifests with live objects, offline") \
	X("local health", cmd_local_health, "assess the health of objects, offline")            \
	X("local plan", cmd_local_plan, "show the order a sync would apply objects in, offline") \
	X("local render", cmd_local_render, "render an application folder as the repo server does, offline") \
	X("login", cmd_login, "log in to an API server")                                        \
	X("logout", cmd_logout, "log out of an API server")                                     \
	X("proj add-destination", cmd_proj_add_destination, "allow a project a destination")     \
	X("proj add-source", cmd_proj_add_source, "allow a project a source repository")         \
	X("proj create", cmd_proj_create, "create a project")                                   \
	X("proj delete", cmd_proj_delete, "delete a project")                                   \
	X("proj get", cmd_proj_get, "show a project")                                           \
	X("proj list", cmd_proj_list, "list projects")                                          \
	X("repo add", cmd_repo_add, "register a Git repository and its credentials")            \
	X("repo list", cmd_repo_list, "list repositories")                                      \
	X("repo rm", cmd_repo_rm, "remove a repository")                                        \
	X("version", cmd_version, "print the version of berth and of the server")

#define CLI_DECLARE_(name, fn, summary) int fn(int argc, char **argv);
CLI_COMMANDS(CLI_DECLARE_)
#undef CLI_DECLARE_

/* Prints "berth <cmd>: <formatted>\n" to stderr and returns CLI_EXIT_ERROR. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "Try 'berth <cmd> --help'." after a usage error; returns
 * CLI_EXIT_ERROR. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Largest manifest file the CLI reads. */
#define CLI_MAX_INPUT ((size_t)64 << 20)

/*
 * Reads a manifest file ("-" for stdin) holding YAML or JSON: one object, a
 * multi-document stream, a JSON array of objects, or a "List" kind with
 * items (expanded). Empty documents are skipped. Appends the objects to
 * *objs (a JSON array, created when NULL). 0 or a BERR code with err_msg()
 * naming the file; every object must be a map with apiVersion and kind.
 */
int cli_load_objects(const char *path, json_t **objs);

/* Reads one YAML or JSON value (a single document) from a file ("-" for
 * stdin). 0 with *ret a new reference, or a BERR code naming the file. */
int cli_load_value(const char *path, json_t **ret);

/* "Kind/name" (generateName when there is no name) of obj into out. */
const char *cli_object_label(const json_t *obj, char *out, size_t size);

/* Writes the whole of b to stdout. false on a write error. */
bool cli_write_out(const struct buf *b);

#endif
