/*
 * cli/main.c - the vmemu command: picks the subcommand and hands it its
 * arguments (argv[0] is the subcommand's name).
 *
 *   vmemu run     cli/run.c (monitor.c, summary.c, scenario.c)
 *   vmemu query   cli/query.c
 *   vmemu report  cli/report.c
 *   vmemu sim     cli/sim.c (sim_out.c, sim_log.c)
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
	"  sim --policy P,.. --frames N,.. TRACE\n"
	"                                     page-replacement study over a "
	"trace\n"
	"  explain TOPIC [ARG]...             a classic question answered by "
	"a run\n"
	"  alloc [--policy P,..] TRACE|GEN    allocators side by side on one "
	"request\n"
	"                                     sequence\n"
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
	{ "sim", cli_sim },	    /* cli/sim.c: docs/sim.md */
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* " run, query, ..." from the table. */
static const char *command_names(void)
{
	static char list[256];
	size_t used = 0;

	for (size_t i = 0; i < NR_COMMANDS && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s %s", i ? "," : "",
					 commands[i].name);
	return list;
}

int main(int argc, char **argv)
{
	cli_set_prog(argv[0]);
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
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	return cli_error("unknown command '%s' (commands:%s)", argv[1],
			 command_names());
}
