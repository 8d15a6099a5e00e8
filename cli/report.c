/*
 * cli/report.c - `vmemu report FILE.db [--run ID|all]`.
 *
 * Waits for the event log's schema (branch evlog): until it lands, the
 * command says so and points at `vmemu query`.
 */
#include <stdio.h>

#include "cli/cli.h"

int cli_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("report: not in this build yet (it needs the event "
			 "log's schema); use vmemu query FILE.db \"SQL\"");
}
