/*
 * cli/main.c - the vmemu command: picks the subcommand and hands it its
 * arguments (argv[0] is the subcommand's name).
 *
 *   vmemu run     cli/run.c (monitor.c, summary.c, scenario.c)
 *   vmemu query   cli/query.c
 *   vmemu report  cli/report.c
 *
 * Shared parsing and the error line are in cli/opts.c, SQLite row
 * printing in cli/output.c.  Bad input gets one line on stderr and exit
 * status 2 (DESIGN §9); docs/cli.md has the decisions, docs/vmemu.1 the
 * manual.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
	"usage: vmemu COMMAND [ARG]...\n"
	"\n"
	"A user-space virtual memory emulator: workloads run inside emulated\n"
	"processes whose memory an emulated kernel manages.\n"
	"\n"
	"Commands:\n"
	"  run [OPTION]... [-w WORKLOAD]...   run workloads on an emulated "
	"machine\n"
	"                                     (without -w: a built-in "
	"scenario)\n"
	"  query FILE.db \"SQL\" [--mode M] [--run ID]\n"
	"                                     SQL on a run's event log, "
	"read-only\n"
	"  report FILE.db [--run ID|all]      what happened in a logged run\n"
	"\n"
	"  vmemu COMMAND --help   that command's options\n"
	"  vmemu --version        the version\n"
	"\n"
	"Exit status: 0 ok; 1 a task or a query failed; 2 bad usage;\n"
	"130/143 interrupted by SIGINT/SIGTERM.  See man -l docs/vmemu.1.\n";

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} commands[] = {
	{ "run", cli_run },
	{ "query", cli_query },
	{ "report", cli_report },
	{ "explain", cli_explain }, /* cli/explain.c: docs/explain.md */
	{ "alloc", cli_alloc },	    /* cli/alloc.c: docs/allocators.md */
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_error("missing command (vmemu --help lists them)");
	if (cli_is_help(argv[1])) {
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("vmemu %s\n", CLI_VERSION);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	return cli_error("unknown command '%s' (commands: run, query, report)",
			 argv[1]);
}
