/*
 * cli/report_oom.c - the report's OOM decisions and its timeline.
 *
 * Each decision (oom_kills row) is printed as the kernel printed it,
 * rebuilt from the oom_candidates rows rather than copied from the
 * stored text, so that the numbers shown are the ones a query sees:
 *
 *   "Tasks state (memory values in pages):" and the task dump, one row
 *   per candidate in Linux's dump_tasks layout (uid 0, tgid = pid);
 *   then each candidate's oom_badness points - which the kernel does not
 *   print - highest first, with the rule that made them; then the
 *   "Out of memory: Killed process ..." line of the victim (or "Out of
 *   memory and no killable processes...").
 *
 * The timeline takes the first event of each milestone kind in one scan
 * of the events table (it has no index: one GROUP BY, not one query per
 * kind).  A kind the run did not log (vmemu run --events) falls back to
 * the first vmstat sample where its counter is non-zero, labelled as
 * such.  No state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"

#define PAGE_SIZE_BYTES 4096
#define KB_PER_PAGE	4
#define MAX_LINES	64

/* ---- OOM decisions ----------------------------------------------------- */

static void dump_tasks(struct report *rp, long long oom_id)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT pid, total_vm, rss, rss_anon, rss_file, "
		    "rss_shmem, pgtables_bytes, swapents, oom_score_adj, name "
		    "FROM oom_candidates WHERE run_id = ?1 AND oom_id = ?2 "
		    "ORDER BY rowid");

	if (st)
		sqlite3_bind_int64(st, 2, oom_id);
	printf("  Tasks state (memory values in pages):\n");
	printf("  [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file "
	       "rss_shmem pgtables_bytes swapents oom_score_adj name\n");
	while (report_step(rp, st))
		printf("  [%7lld] %5d %5lld %8lld %8lld %8lld %8lld %9lld "
		       "%8lld %8lld         %5lld %s\n",
		       sqlite3_column_int64(st, 0), 0,
		       sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		       sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
		       sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
		       sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7),
		       sqlite3_column_int64(st, 8), report_text(st, 9));
	sqlite3_finalize(st);
}

static void badness(struct report *rp, long long oom_id, long long total)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT pid, name, rss, swapents, pgtables_bytes, "
		    "oom_score_adj, points, chosen FROM oom_candidates "
		    "WHERE run_id = ?1 AND oom_id = ?2 "
		    "ORDER BY points IS NULL, points DESC, rowid");

	if (st)
		sqlite3_bind_int64(st, 2, oom_id);
	printf("  oom_badness: rss + swapents + pgtables_bytes/%d + "
	       "oom_score_adj x %lld/1000 (totalpages = RAM + swap pages)\n",
	       PAGE_SIZE_BYTES, total);
	while (report_step(rp, st)) {
		if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
			printf("  %9s  %s (pid %lld): oom_score_adj -1000, "
			       "never chosen\n",
			       "exempt", report_text(st, 1),
			       sqlite3_column_int64(st, 0));
			continue;
		}
		printf("  %9lld  %s (pid %lld) = %lld + %lld + %lld + %lld"
		       "%s\n",
		       sqlite3_column_int64(st, 6), report_text(st, 1),
		       sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 2),
		       sqlite3_column_int64(st, 3),
		       sqlite3_column_int64(st, 4) / PAGE_SIZE_BYTES,
		       sqlite3_column_int64(st, 5) * (total / 1000),
		       sqlite3_column_int(st, 7) ? "   <- chosen" : "");
	}
	sqlite3_finalize(st);
}

static void kill_line(struct report *rp, long long oom_id)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT pid, name, total_vm, rss_anon, rss_file, "
		    "rss_shmem, pgtables_bytes, oom_score_adj FROM "
		    "oom_candidates WHERE run_id = ?1 AND oom_id = ?2 "
		    "AND chosen");

	if (st)
		sqlite3_bind_int64(st, 2, oom_id);
	if (!report_step(rp, st)) {
		printf("  Out of memory and no killable processes...\n");
		sqlite3_finalize(st);
		return;
	}
	printf("  Out of memory: Killed process %lld (%s) total-vm:%lldkB, "
	       "anon-rss:%lldkB, file-rss:%lldkB, shmem-rss:%lldkB, UID:0 "
	       "pgtables:%lldkB oom_score_adj:%lld\n",
	       sqlite3_column_int64(st, 0), report_text(st, 1),
	       sqlite3_column_int64(st, 2) * KB_PER_PAGE,
	       sqlite3_column_int64(st, 3) * KB_PER_PAGE,
	       sqlite3_column_int64(st, 4) * KB_PER_PAGE,
	       sqlite3_column_int64(st, 5) * KB_PER_PAGE,
	       sqlite3_column_int64(st, 6) / 1024, sqlite3_column_int64(st, 7));
	sqlite3_finalize(st);
}

void report_ooms(struct report *rp)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT oom_id, t_ns, trigger_pid, totalpages, "
		    "(SELECT name FROM oom_candidates c WHERE c.run_id = ?1 "
		    "AND c.oom_id = k.oom_id AND c.pid = k.trigger_pid) "
		    "FROM oom_kills k WHERE run_id = ?1 ORDER BY seq");
	int n = 0;

	while (report_step(rp, st)) {
		long long id = sqlite3_column_int64(st, 0);
		long long trig = sqlite3_column_int64(st, 2);
		char t[32];

		if (n++ == 0)
			report_heading("OOM decisions");
		report_secs(sqlite3_column_int64(st, 1), t, sizeof(t));
		if (trig)
			printf("#%d at %s: %s (pid %lld) could not get a frame "
			       "and reclaim could not free one\n",
			       n, t, report_text(st, 4), trig);
		else
			printf("#%d at %s: the machine (kswapd) could not "
			       "reclaim\n",
			       n, t);
		dump_tasks(rp, id);
		badness(rp, id, sqlite3_column_int64(st, 3));
		kill_line(rp, id);
	}
	sqlite3_finalize(st);
}

/* ---- the timeline ------------------------------------------------------ */

static const struct {
	const char *kind;   /* event_kinds.name */
	const char *column; /* its vmstat column */
	const char *what;
} milestones[] = {
	{ "kswapd_wake", "vmemu_kswapd_wake",
	  "kswapd first woke: free memory fell below the low watermark" },
	{ "allocstall_normal", "allocstall_normal",
	  "first direct reclaim: an allocation at the min watermark "
	  "reclaimed for itself" },
	{ "pswpout", "pswpout", "first swap-out" },
	{ "workingset_refault_anon", "workingset_refault_anon",
	  "first refault: a swapped-out page was needed again" },
};

#define NR_MILESTONES (sizeof(milestones) / sizeof(milestones[0]))

struct line {
	int64_t t_ns;
	char text[200];
};

struct timeline {
	struct line lines[MAX_LINES];
	int n;
	int64_t first[NR_MILESTONES]; /* -1: never */
	long long count[NR_MILESTONES];
	bool sampled[NR_MILESTONES]; /* from vmstat, not events */
};

static void add(struct timeline *tl, int64_t t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(struct timeline *tl, int64_t t, const char *fmt, ...)
{
	va_list ap;

	if (tl->n == MAX_LINES)
		return;
	tl->lines[tl->n].t_ns = t;
	va_start(ap, fmt);
	vsnprintf(tl->lines[tl->n].text, sizeof(tl->lines[0].text), fmt, ap);
	va_end(ap);
	tl->n++;
}

/* First event and count of each milestone kind, in one scan. */
static void first_events(struct report *rp, struct timeline *tl)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT k.name, x.t, x.n FROM (SELECT kind, min(t_ns) AS "
		    "t, count(*) AS n FROM events WHERE run_id = ?1 AND kind "
		    "IN (SELECT kind FROM event_kinds WHERE run_id = ?1 AND "
		    "name IN ('kswapd_wake', 'allocstall_normal', 'pswpout', "
		    "'workingset_refault_anon')) GROUP BY kind) x JOIN "
		    "event_kinds k ON k.run_id = ?1 AND k.kind = x.kind");

	for (size_t m = 0; m < NR_MILESTONES; m++)
		tl->first[m] = -1;
	while (report_step(rp, st))
		for (size_t m = 0; m < NR_MILESTONES; m++)
			if (strcmp(report_text(st, 0), milestones[m].kind) ==
			    0) {
				tl->first[m] = sqlite3_column_int64(st, 1);
				tl->count[m] = sqlite3_column_int64(st, 2);
			}
	sqlite3_finalize(st);
}

/* Whether the run logged kind (event_kinds.logged). */
static bool logged(struct report *rp, const char *kind)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT logged FROM event_kinds WHERE run_id = ?1 AND "
		    "name = ?2");
	bool yes = false;

	if (st)
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	if (report_step(rp, st))
		yes = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return yes;
}

/* Kinds the run did not log: the first vmstat sample showing them. */
static void from_samples(struct report *rp, struct timeline *tl)
{
	bool vmstat = report_has(rp, "vmstat");

	for (size_t m = 0; m < NR_MILESTONES; m++) {
		char sql[256];
		sqlite3_stmt *st;

		if (tl->first[m] >= 0 || !vmstat ||
		    logged(rp, milestones[m].kind))
			continue;
		snprintf(sql, sizeof(sql),
			 "SELECT min(t_ns) FROM vmstat WHERE run_id = ?1 AND "
			 "\"%s\" > 0",
			 milestones[m].column);
		if (sqlite3_prepare_v2(rp->db, sql, -1, &st, NULL) != SQLITE_OK)
			continue; /* no such column in this file */
		sqlite3_bind_int64(st, 1, rp->run);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL) {
			tl->first[m] = sqlite3_column_int64(st, 0);
			tl->sampled[m] = true;
		}
		sqlite3_finalize(st);
	}
}

static void milestone_lines(struct timeline *tl)
{
	size_t pressure = NR_MILESTONES;

	for (size_t m = 0; m < 2; m++) /* kswapd or direct, whichever first */
		if (tl->first[m] >= 0 && (pressure == NR_MILESTONES ||
					  tl->first[m] < tl->first[pressure]))
			pressure = m;
	for (size_t m = 0; m < NR_MILESTONES; m++) {
		char n[48] = " (in a vmstat sample: the kind was not logged)";

		if (tl->first[m] < 0)
			continue;
		if (!tl->sampled[m])
			snprintf(n, sizeof(n), " (%lld in all)", tl->count[m]);
		add(tl, tl->first[m], "%s%s%s",
		    m == pressure ? "memory pressure began - " : "",
		    milestones[m].what, n);
	}
}

/* OOM kills and tasks that did not simply exit. */
static void end_lines(struct report *rp, struct timeline *tl)
{
	sqlite3_stmt *st = report_prepare(
		rp, "SELECT t_end_ns, pid, name, exit_reason FROM tasks WHERE "
		    "run_id = ?1 AND exit_reason IS NOT NULL AND exit_reason "
		    "<> 'exit' ORDER BY t_end_ns");

	if (report_has(rp, "tasks"))
		while (report_step(rp, st))
			add(tl, sqlite3_column_int64(st, 0),
			    "pid %lld (%s) ended: %s",
			    sqlite3_column_int64(st, 1), report_text(st, 2),
			    report_text(st, 3));
	sqlite3_finalize(st);
	if (!report_has(rp, "oom_kills") || !report_has(rp, "oom_candidates"))
		return;
	st = report_prepare(rp, "SELECT k.t_ns, c.name, k.victim_pid FROM "
				"oom_kills k LEFT JOIN oom_candidates c ON "
				"c.oom_id = k.oom_id AND c.chosen "
				"WHERE k.run_id = ?1 ORDER BY k.seq");
	for (int i = 1; report_step(rp, st); i++)
		add(tl, sqlite3_column_int64(st, 0),
		    sqlite3_column_type(st, 2) == SQLITE_NULL ?
			    "OOM #%d: no killable process%s" :
			    "OOM kill #%d: %s chosen and killed",
		    i, report_text(st, 1));
	sqlite3_finalize(st);
}

static int by_time(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

void report_timeline(struct report *rp)
{
	static struct timeline tl;
	char t[32];

	memset(&tl, 0, sizeof(tl));
	first_events(rp, &tl);
	from_samples(rp, &tl);
	milestone_lines(&tl);
	end_lines(rp, &tl);
	qsort(tl.lines, (size_t)tl.n, sizeof(tl.lines[0]), by_time);
	report_heading("Timeline (seconds since the run started)");
	for (int i = 0; i < tl.n; i++) {
		report_secs(tl.lines[i].t_ns, t, sizeof(t));
		printf("  %10s  %s\n", t, tl.lines[i].text);
	}
	for (size_t m = 0; m < NR_MILESTONES; m++)
		if (tl.first[m] < 0)
			printf("  %10s  %s\n", "never", milestones[m].what);
}
