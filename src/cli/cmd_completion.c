/* berth completion bash — a completion script built from the command table;
 * flags are read from each command's --help when completing. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
	"Usage: berth completion bash\n"
	"\n"
	"Prints a bash completion script. Load it with\n"
	"    source <(berth completion bash)\n"
	"or install it as /etc/bash_completion.d/berth.\n"
	"\n"
	"  -h, --help                   show this help\n";

#define NAME_(name, fn, summary) name "\n"
static const char command_names[] = CLI_COMMANDS(NAME_);
#undef NAME_

int cmd_completion(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[1], "bash") != 0)
		return cli_usage_error(argv[0], "only \"bash\" is supported");
	printf("# bash completion for berth %s\n"
	       "_berth_commands='",
	       BERTH_VERSION);
	for (const char *p = command_names; *p; p++)
		putchar(*p == '\n' ? ';' : *p);
	fputs("help'\n"
	      "_berth() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} first=${COMP_WORDS[1]:-} second=${COMP_WORDS[2]:-}\n"
	      "\tlocal IFS=$'\\n' words w cmd=\n"
	      "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	      "\t\twords=$(tr ';' '\\n' <<<\"$_berth_commands\" | cut -d' ' -f1 | sort -u)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tif [ \"$COMP_CWORD\" -eq 2 ] && [[ \"$cur\" != -* ]]; then\n"
	      "\t\twords=$(tr ';' '\\n' <<<\"$_berth_commands\" | awk -v g=\"$first\" '$1 == g && NF > 1 {print $2}')\n"
	      "\t\tif [ -n \"$words\" ]; then COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")); return; fi\n"
	      "\tfi\n"
	      "\tif [[ \"$cur\" == -* ]]; then\n"
	      "\t\tif tr ';' '\\n' <<<\"$_berth_commands\" | grep -qx \"$first $second\"; then cmd=\"$first $second\"; else cmd=$first; fi\n"
	      "\t\twords=$(IFS=' '; berth $cmd --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "}\n"
	      "complete -F _berth berth\n",
	      stdout);
	return CLI_EXIT_OK;
}
