/*
 * cli/report.c - `vmemu report FILE.db [--run ID|all]`: what happened in
 * a run logged by `vmemu run`, from the log alone.
 *
 * The file must be a vmemu event log (judged from its header before
 * SQLite opens it, cli/logdb.c) and is opened read-only: the report can
 * never change it.  Without --run it reports the latest run (the
 * largest run_id); --run all lists the runs instead.
 *
 * The report is a list of sections, each with the tables it needs
 * (report.h): a file that lacks a table - older, or from a future
 * subcommand that only writes some - skips that section and reports the
 * rest.  Exit status: 0; 1 if a section hit an SQL error; 2 for bad
 * usage, a missing or foreign file, or a run that is not there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/logdb.h"
#include "cli/report.h"

#define NSEC_PER_SEC 1e9

static const char report_usage[] =
	"usage: vmemu report FILE.db [--run ID|all]\n"
	"\n"
	"What happened in a run logged by `vmemu run --log FILE.db`, from "
	"the log\nalone (the latest run unless --run ID):\n"
	"  the run       when, how long, its command line, exit status\n"
	"  configuration every vm_config field, as recorded\n"
	"  totals        the last vmstat sample: every counter, named as in\n"
	"                /proc/vmstat (vmemu's own prefixed vmemu_)\n"
	"  tasks         pid, parent, oom_score_adj, peak RSS, faults, "
	"swap-ins,\n"
	"                start and end times, how each ended\n"
	"  leaks         each task's C library report at exit (blocks never\n"
	"                freed, the largest of them)\n"
	"  OOM decisions each one: who triggered it, every candidate in the\n"
	"                kernel's task-dump layout, their oom_badness points, "
	"the\n"
	"                kill line\n"
	"  timeline      pressure (kswapd, direct reclaim), first swap-out, "
	"first\n"
	"                refault, each OOM kill, unusual task ends\n"
	"A section whose table the file lacks (an older log) is left out.\n"
	"\n"
	"  --run ID     report run ID (the runs table's run_id)\n"
	"  --run all    list the runs: id, start, duration, exit status, "
	"tasks,\n"
	"               OOM kills, command line\n"
	"  -h, --help   this text\n"
	"\n"
	"The file is opened read-only and never changed.  For questions the\n"
	"report does not answer: vmemu query FILE.db \"SQL\" (docs/queries.md)."
	"\n"
	"Exit status: 0 ok; 1 a section could not be read (SQL error); 2 bad\n"
	"usage, a missing file, not a vmemu event log, or no such run.\n";

/* ---- helpers the sections share ------------------------------------ */

static void section_error(struct report *rp, const char *what)
{
	rp->sql_failed = true;
	printf("  (not readable: %s: %s)\n", what, sqlite3_errmsg(rp->db));
}

sqlite3_stmt *report_prepare(struct report *rp, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(rp->db, sql, -1, &st, NULL) != SQLITE_OK) {
		section_error(rp, "preparing");
		return NULL;
	}
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, rp->run);
	return st;
}

bool report_step(struct report *rp, sqlite3_stmt *st)
{
	int rc = st ? sqlite3_step(st) : SQLITE_DONE;

	if (rc == SQLITE_ROW)
		return true;
	if (rc != SQLITE_DONE)
		section_error(rp, "reading");
	return false;
}

const char *report_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

bool report_has(const struct report *rp, const char *name)
{
	return cli_logdb_has(rp->db, name);
}

void report_heading(const char *title)
{
	printf("\n%s\n", title);
}

void report_secs(int64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%.3f s", (double)ns / NSEC_PER_SEC);
}

/* ---- the sections -------------------------------------------------- */

static const struct {
	const char *tables; /* comma-separated: all must exist */
	void (*print)(struct report *rp);
} sections[] = {
	{ "runs", report_header },
	{ "runs", report_config },
	{ "vmstat", report_totals },
	{ "tasks", report_tasks },
	{ "leaks", report_leaks },
	{ "oom_kills,oom_candidates", report_ooms },
	{ "events,event_kinds", report_timeline },
};

static bool has_all(const struct report *rp, const char *tables)
{
	char name[64];

	while (*tables) {
		size_t len = strcspn(tables, ",");

		snprintf(name, sizeof(name), "%.*s", (int)len, tables);
		if (!report_has(rp, name))
			return false;
		tables += len + (tables[len] == ',');
	}
	return true;
}

/* ---- --run all -------------------------------------------------------- */

static void list_runs(struct report *rp)
{
	char sql[1024];
	sqlite3_stmt *st;
	bool tasks = report_has(rp, "tasks"),
	     kills = report_has(rp, "oom_kills");

	snprintf(sql, sizeof(sql),
		 "SELECT run_id, started_at, duration_ns, exit_status, "
		 "end_unix_ns IS NULL, %s, %s, cmdline FROM runs r "
		 "ORDER BY run_id",
		 tasks ? "(SELECT count(*) FROM tasks t WHERE t.run_id = "
			 "r.run_id)" :
			 "NULL",
		 kills ? "(SELECT count(*) FROM oom_kills k WHERE k.run_id = "
			 "r.run_id AND victim_pid IS NOT NULL)" :
			 "NULL");
	st = report_prepare(rp, sql);
	printf("%5s  %-24s %10s %5s %6s %5s  %s\n", "run", "started",
	       "duration", "exit", "tasks", "kills", "command");
	while (report_step(rp, st)) {
		char dur[32] = "-";

		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			report_secs(sqlite3_column_int64(st, 2), dur,
				    sizeof(dur));
		printf("%5s  %-24s %10s %5s %6s %5s  %s%s\n",
		       report_text(st, 0), report_text(st, 1), dur,
		       sqlite3_column_int(st, 4) ? "-" : report_text(st, 3),
		       report_text(st, 5), report_text(st, 6),
		       report_text(st, 7),
		       sqlite3_column_int(st, 4) ? "  (not closed)" : "");
	}
	sqlite3_finalize(st);
}

/* ---- arguments, the run ---------------------------------------------- */

struct report_args {
	const char *path, *run;
};

static int parse_report(int argc, char **argv, struct report_args *a)
{
	struct cli_args w = { argc, argv, 1, "" };
	const char *arg, *iv;
	uint64_t id;

	while (cli_arg_next(&w, &arg, &iv)) {
		if (cli_is_help(arg)) {
			fputs(report_usage, stdout);
			return -1;
		} else if (strcmp(arg, "--run") == 0) {
			a->run = cli_arg_value(&w, "report", arg, iv);
			if (!a->run)
				return CLI_EXIT_USAGE;
		} else if (cli_is_option(arg)) {
			return cli_error("report: unknown option '%s' (vmemu "
					 "report --help)",
					 arg);
		} else if (!a->path) {
			a->path = arg;
		} else {
			return cli_error("report: unexpected argument '%s' "
					 "(one FILE.db)",
					 arg);
		}
	}
	if (!a->path)
		return cli_error("report: needs FILE.db (vmemu report --help)");
	if (a->run && strcmp(a->run, "all") != 0 &&
	    (cli_parse_u64(a->run, &id) || id > INT64_MAX))
		return cli_error("report: --run '%s' is not a run id or 'all'",
				 a->run);
	return 0;
}

/* The run to report: --run's, else the latest; 0 or the exit status. */
static int pick_run(struct report *rp, const char *run)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rp->run = run ? atoll(run) : -1;
	rc = sqlite3_prepare_v2(
		rp->db,
		run ? "SELECT run_id FROM runs WHERE run_id = ?1" :
		      "SELECT max(run_id) FROM runs",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, rp->run);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		rp->run = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cli_fail("report: %s: %s", rp->path,
				sqlite3_errmsg(rp->db));
	if (run)
		return cli_error("report: %s has no run %s (vmemu report %s "
				 "--run all lists them)",
				 rp->path, run, rp->path);
	return cli_error("report: %s holds no run yet", rp->path);
}

static int report_run(struct report *rp, const char *run)
{
	int rc;

	if (!report_has(rp, "runs"))
		return cli_error("report: %s has no runs table: not a vmemu "
				 "event log",
				 rp->path);
	if (run && strcmp(run, "all") == 0) {
		list_runs(rp);
		return rp->sql_failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	rc = pick_run(rp, run);
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (has_all(rp, sections[i].tables))
			sections[i].print(rp);
	return rp->sql_failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_report(int argc, char **argv)
{
	struct report_args a = { 0 };
	struct report rp = { 0 };
	char err[512];
	int rc = parse_report(argc, argv, &a);

	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	rp.path = a.path;
	if (cli_logdb_open(a.path, &rp.db, err, sizeof(err)) < 0)
		return cli_error("report: %s", err);
	rc = report_run(&rp, a.run);
	fflush(stdout);
	sqlite3_close(rp.db);
	return rc;
}
