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
	X("local diff", cmd_local_diff, "compare desired manifests with live objects, offline") \
	X("local health", cmd_local_health, "assess the health of objects, offline")            \
	X("local plan", cmd_local_plan, "show the order a sync would apply objects in, offline") \
	X("local render", cmd_local_render, "render an application folder as the repo server does, offline") \
	X("version", cmd_version, "print the version of berth")

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
