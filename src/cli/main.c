/*
 * berth — the command-line client. This file only dispatches: it finds the
 * command named by the first words of the arguments in the table built
 * from CLI_COMMANDS (cli.h) and hands it the rest. Commands live in their
 * own files (cmd_*.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "str.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

#define CLI_ENTRY_(name, fn, summary) {name, fn, summary},
static const struct command commands[] = {CLI_COMMANDS(CLI_ENTRY_)};
#undef CLI_ENTRY_

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "berth %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_ERROR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "berth %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'berth %s --help'.\n", cmd);
	return CLI_EXIT_ERROR;
}

/* Number of words of name matched by argv[0..argc-1], or 0. */
static int match_words(const char *name, int argc, char **argv)
{
	const char *p = name;
	int k = 0;

	while (*p) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		if (k >= argc || strlen(argv[k]) != n || strncmp(argv[k], p, n) != 0)
			return 0;
		k++;
		p = sp ? sp + 1 : p + n;
	}
	return k;
}

/* Is word the first word of some command with more words? */
static bool is_group(const char *word)
{
	size_t n = strlen(word);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strncmp(commands[i].name, word, n) == 0 && commands[i].name[n] == ' ')
			return true;
	return false;
}

static void list_commands(FILE *f, const char *group)
{
	size_t n = group ? strlen(group) : 0;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (group && !(strncmp(commands[i].name, group, n) == 0 && commands[i].name[n] == ' '))
			continue;
		fprintf(f, "  %-22s %s\n", commands[i].name, commands[i].summary);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: berth COMMAND [ARGS...]\n"
		   "       berth help [COMMAND | --commands]\n"
		   "       berth --help | --version\n"
		   "\n"
		   "Berth is GitOps continuous delivery for Kubernetes. Commands:\n\n");
	list_commands(f, NULL);
	fprintf(f, "\n"
		   "Run 'berth help COMMAND' or 'berth COMMAND --help' for the flags of a command.\n"
		   "  -h, --help             show this help\n"
		   "      --version          print the version (same as 'berth version')\n");
}

/* Runs the command matched at argv[0..]; returns -1 when none matches. */
static int run_command(int argc, char **argv)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		int k = match_words(commands[i].name, argc, argv);
		if (k == 0)
			continue;
		/* The command sees its full name as argv[0]. */
		char **sub = argv + k - 1;
		sub[0] = (char *)commands[i].name;
		return commands[i].run(argc - k + 1, sub);
	}
	return -1;
}

static int help(int argc, char **argv)
{
	char *args[64];
	int rc;

	if (argc == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[0], "--commands") == 0) {
		for (size_t i = 0; i < N_COMMANDS; i++)
			printf("%s\n", commands[i].name);
		return CLI_EXIT_OK;
	}
	if (argc > 60)
		argc = 60;
	for (int i = 0; i < argc; i++)
		args[i] = argv[i];
	args[argc] = (char *)"--help";
	args[argc + 1] = NULL;
	if ((rc = run_command(argc + 1, args)) >= 0)
		return rc;
	if (argc == 1 && is_group(argv[0])) {
		printf("Usage: berth %s COMMAND [ARGS...]\n\nCommands:\n", argv[0]);
		list_commands(stdout, argv[0]);
		return CLI_EXIT_OK;
	}
	fprintf(stderr, "berth help: no command \"%s\"; see 'berth --help'.\n", argv[0]);
	return CLI_EXIT_ERROR;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_ERROR;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		char *args[] = {(char *)"version", NULL};
		return cmd_version(1, args);
	}
	if (strcmp(argv[1], "help") == 0)
		return help(argc - 2, argv + 2);
	if ((rc = run_command(argc - 1, argv + 1)) >= 0)
		return rc;
	if (is_group(argv[1])) {
		bool asked = argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0);
		FILE *f = asked ? stdout : stderr;
		if (!asked && argc > 2)
			fprintf(stderr, "berth %s: no command \"%s\"\n", argv[1], argv[2]);
		fprintf(f, "Usage: berth %s COMMAND [ARGS...]\n\nCommands:\n", argv[1]);
		list_commands(f, argv[1]);
		return asked ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	}
	fprintf(stderr, "berth: no command \"%s\"; see 'berth --help'.\n", argv[1]);
	return CLI_EXIT_ERROR;
}
