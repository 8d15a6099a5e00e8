/*
 * cli/report_run.c - the report's first sections: the run itself, its
 * configuration, the counters' totals, the tasks and their leaks.
 *
 * Totals are the run's last vmstat row (the event log writes one when
 * the run closes, equal to vm_stat then), every non-NULL counter column
 * under its /proc/vmstat name, two to a line.  The configuration is
 * runs.config_json taken apart with SQLite's json_each, so a field added
 * by a later vmemu shows up without a change here.  No state.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"

#define TOTALS_PER_LINE 2
#define MAX(a, b)	((a) > (b) ? (a) : (b))
#define PAGE_KIB	4

void report_header(struct report *rp)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT started_at, hostname, version, host_pid, "
		    "duration_ns, end_unix_ns IS NULL, exit_status, error, "
		    "cmdline, seed, events, kinds_logged, "
		    "(SELECT count(*) FROM runs) FROM runs WHERE run_id = ?1");
	char dur[32] = "?";

	if (!report_step(rp, st)) {
		sqlite3_finalize(st);
		return;
	}
	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		report_secs(sqlite3_column_int64(st, 4), dur, sizeof(dur));
	printf("vmemu report: %s, run %lld (of %s in the file)\n", rp->path,
	       rp->run, report_text(st, 12));
	printf("  started   %s on %s (vmemu %s, host pid %s)\n",
	       report_text(st, 0), report_text(st, 1), report_text(st, 2),
	       report_text(st, 3));
	if (sqlite3_column_int(st, 5))
		printf("  ended     never closed: vmemu was killed or crashed; "
		       "what it committed is below\n");
	else
		printf("  ran       %s, exit status %s\n", dur,
		       report_text(st, 6));
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		printf("  log error %s\n", report_text(st, 7));
	printf("  command   %s\n", report_text(st, 8));
	printf("  seed      %s; %s events logged (kinds: %s)\n",
	       report_text(st, 9), report_text(st, 10), report_text(st, 11));
	sqlite3_finalize(st);
}

void report_config(struct report *rp)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT j.key, j.value, j.type FROM runs, "
		    "json_each(runs.config_json) j WHERE run_id = ?1 "
		    "AND json_valid(runs.config_json)");
	int n = 0;

	while (report_step(rp, st)) {
		const char *key = report_text(st, 0);
		size_t len = strlen(key);
		char size[32] = "";

		if (n++ == 0)
			report_heading("Configuration (vm_config as recorded)");
		if (len > 6 && strcmp(key + len - 6, "_bytes") == 0 &&
		    sqlite3_column_int64(st, 1) > 0) {
			size[0] = ' ';
			size[1] = '(';
			cli_format_size((uint64_t)sqlite3_column_int64(st, 1),
					size + 2, sizeof(size) - 3);
			strcat(size, ")");
		}
		printf("  %-26s %s%s\n", key,
		       *report_text(st, 1) ? report_text(st, 1) : "\"\"", size);
	}
	sqlite3_finalize(st);
}

/* The vmstat columns that are counters (all but run_id, seq, t_ns). */
static int counter_columns(struct report *rp, char names[][64], int max)
{
	sqlite3_stmt *st = report_prepare(rp, "SELECT name FROM "
					      "pragma_table_info('vmstat') "
					      "ORDER BY cid");
	int n = 0;

	while (report_step(rp, st) && n < max) {
		const char *c = report_text(st, 0);

		if (strcmp(c, "run_id") && strcmp(c, "seq") &&
		    strcmp(c, "t_ns"))
			snprintf(names[n++], 64, "%s", c);
	}
	sqlite3_finalize(st);
	return n;
}

#define MAX_COUNTERS 256

/* Whether column c of the row is a counter with a value. */
static bool shown_column(sqlite3_stmt *st, int c, char names[][64], int n)
{
	const char *name = sqlite3_column_name(st, c);

	if (sqlite3_column_type(st, c) == SQLITE_NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

void report_totals(struct report *rp)
{
	static char names[MAX_COUNTERS][64];
	sqlite3_stmt *st =
		report_prepare(rp, "SELECT * FROM vmstat WHERE run_id = ?1 "
				   "ORDER BY seq DESC, t_ns DESC LIMIT 1");
	int n = counter_columns(rp, names, MAX_COUNTERS), shown = 0;
	int wname = 0, wval = 0;
	char t[32];

	if (!report_step(rp, st)) {
		sqlite3_finalize(st);
		return;
	}
	for (int c = 0; c < sqlite3_column_count(st); c++) {
		if (!shown_column(st, c, names, n))
			continue;
		wname = MAX(wname, (int)strlen(sqlite3_column_name(st, c)));
		wval = MAX(wval, (int)strlen(report_text(st, c)));
	}
	report_secs(sqlite3_column_int64(st, 2), t, sizeof(t));
	printf("\nTotals (the last vmstat sample, at %s; names as in "
	       "/proc/vmstat)\n",
	       t);
	for (int c = 0; c < sqlite3_column_count(st); c++) {
		if (!shown_column(st, c, names, n))
			continue;
		printf("  %-*s %*s", wname, sqlite3_column_name(st, c), wval,
		       report_text(st, c));
		if (++shown % TOTALS_PER_LINE == 0)
			putchar('\n');
	}
	if (shown % TOTALS_PER_LINE)
		putchar('\n');
	sqlite3_finalize(st);
}

/* How a task ended, in a few words. */
static void task_end(sqlite3_stmt *st, char *buf, size_t len)
{
	const char *reason = report_text(st, 9);

	if (sqlite3_column_type(st, 9) == SQLITE_NULL)
		snprintf(buf, len, "still running when the log ended");
	else if (strcmp(reason, "exit") == 0)
		snprintf(buf, len, "exit %s", report_text(st, 10));
	else if (sqlite3_column_type(st, 11) != SQLITE_NULL)
		snprintf(buf, len, "%s at va 0x%llx", reason,
			 (unsigned long long)sqlite3_column_int64(st, 11));
	else if (sqlite3_column_type(st, 12) != SQLITE_NULL)
		snprintf(buf, len, "%s: %s", reason, report_text(st, 12));
	else
		snprintf(buf, len, "%s", reason);
}

void report_tasks(struct report *rp)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT pid, ppid, name, oom_score_adj, peak_rss_pages, "
		    "minflt, majflt, swapins, t_start_ns, exit_reason, "
		    "exit_code, fault_va, exit_msg, t_end_ns FROM tasks "
		    "WHERE run_id = ?1 ORDER BY pid, seq");
	int n = 0;

	while (report_step(rp, st)) {
		char start[32], end[32] = "-", how[160];

		if (n++ == 0) {
			report_heading("Tasks (peak RSS and faults as "
				       "wait4's rusage reports them)");
			printf("%7s %5s  %-15s %5s %10s %8s %8s %8s %9s "
			       "%9s  %s\n",
			       "pid", "ppid", "name", "adj", "peak rss",
			       "minflt", "majflt", "swapins", "start", "end",
			       "how it ended");
		}
		report_secs(sqlite3_column_int64(st, 8), start, sizeof(start));
		if (sqlite3_column_type(st, 13) != SQLITE_NULL)
			report_secs(sqlite3_column_int64(st, 13), end,
				    sizeof(end));
		task_end(st, how, sizeof(how));
		printf("%7s %5s  %-15s %5s %7lld kB %8s %8s %8s %9s %9s  %s\n",
		       report_text(st, 0), report_text(st, 1),
		       report_text(st, 2), report_text(st, 3),
		       sqlite3_column_int64(st, 4) * PAGE_KIB,
		       report_text(st, 5), report_text(st, 6),
		       report_text(st, 7), start, end, how);
	}
	sqlite3_finalize(st);
}

void report_leaks(struct report *rp)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT l.pid, coalesce((SELECT name FROM tasks t WHERE "
		    "t.run_id = l.run_id AND t.pid = l.pid ORDER BY t.seq "
		    "DESC LIMIT 1), '?'), l.blocks, l.bytes, l.granted_bytes, "
		    "(SELECT group_concat(printf('%d B at %#x%s', "
		    "json_extract(j.value, '$.bytes'), json_extract(j.value, "
		    "'$.va'), CASE WHEN json_extract(j.value, '$.mmapped') "
		    "THEN ' (mmap)' ELSE '' END), ', ') FROM "
		    "json_each(CASE WHEN json_valid(l.largest) THEN l.largest "
		    "ELSE '[]' END) j) FROM leaks l WHERE l.run_id = ?1 "
		    "ORDER BY l.seq");
	int n = 0;

	while (report_step(rp, st)) {
		if (n++ == 0)
			report_heading("Leaks (each task's C library at exit, "
				       "as LeakSanitizer counts them)");
		printf("  pid %s (%s): %s block%s, %s bytes requested, %s "
		       "granted%s%s\n",
		       report_text(st, 0), report_text(st, 1),
		       report_text(st, 2),
		       sqlite3_column_int64(st, 2) == 1 ? "" : "s",
		       report_text(st, 3), report_text(st, 4),
		       *report_text(st, 5) ? "; largest: " : "",
		       report_text(st, 5));
	}
	sqlite3_finalize(st);
}
