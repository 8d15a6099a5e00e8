/*
 * cli/report.c - `vmemu report FILE.db [--run ID|all]`.
 *
 * Waits for the event log's schema (branch evlog, docs/evlog.md): until
 * it lands, --help says what the report will hold and any other use is
 * a usage error that points at `vmemu query`.
 */
#include <stdio.h>

#include "cli/cli.h"

static const char report_usage[] =
	"usage: vmemu report FILE.db [--run ID|all]\n"
	"\n"
	"What happened in a run logged by `vmemu run --log FILE.db` (the\n"
	"latest run unless --run ID; --run all lists the runs): its\n"
	"configuration, totals named as in /proc/vmstat, each task's peak RSS,\n"
	"faults, swap-ins and end, each OOM decision with its candidates in\n"
	"the kernel's task-dump layout, and a timeline (pressure, first\n"
	"swap-out, each kill).\n"
	"\n"
	"Not in this build yet: it waits for the event log's schema.  Until\n"
	"then, vmemu query FILE.db \"SQL\" reads the log (docs/queries.md).\n";

int cli_report(int argc, char **argv)
{
	if (argc >= 2 && cli_is_help(argv[1])) {
		fputs(report_usage, stdout);
		return CLI_EXIT_OK;
	}
	return cli_error("report: not in this build yet (it needs the event "
			 "log's schema); use vmemu query FILE.db \"SQL\"");
}
