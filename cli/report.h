/*
 * cli/report.h - what `vmemu report`'s files share: the open log, the
 * run being reported, and the sections.
 *
 *   report.c          arguments, opening, choosing the run, --run all,
 *                     the section table
 *   report_run.c      the run's header, configuration, totals, tasks,
 *                     leaks
 *   report_oom.c      each OOM decision and the timeline
 *
 * A section names the tables it reads; the report skips a section whose
 * tables the file lacks (an older log, or a kind of run that never made
 * them), so a new table is one new line in the section table and an
 * older file still reports.  A section that hits an SQL error says so in
 * its own place and the report goes on (exit status 1 at the end).
 * Main thread only.
 */
#ifndef VMEMU_CLI_REPORT_H
#define VMEMU_CLI_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

struct report {
	sqlite3 *db;
	const char *path;
	long long run;	 /* run_id being reported */
	bool sql_failed; /* some section could not be read */
};

/*
 * Prepare sql with ?1 bound to the run; NULL after saying why in the
 * report (sql_failed set).
 */
sqlite3_stmt *report_prepare(struct report *rp, const char *sql);
/* Step st: true for a row; false at the end or after an error (said). */
bool report_step(struct report *rp, sqlite3_stmt *st);
/* Column i as text ("" for NULL). */
const char *report_text(sqlite3_stmt *st, int i);
/* Whether the file has table name. */
bool report_has(const struct report *rp, const char *name);
/* A section heading. */
void report_heading(const char *title);
/* "12.345 s" for ns. */
void report_secs(int64_t ns, char *buf, size_t len);

/* The sections (report_run.c, report_oom.c). */
void report_header(struct report *rp);
void report_config(struct report *rp);
void report_totals(struct report *rp);
void report_tasks(struct report *rp);
void report_leaks(struct report *rp);
void report_ooms(struct report *rp);
void report_timeline(struct report *rp);

#endif /* VMEMU_CLI_REPORT_H */
