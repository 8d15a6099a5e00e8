/*
 * tests/test_cli_log.c - the vmemu command and its event log, through the
 * built binary ($VMEMU, default ./vmemu):
 *  - the built-in scenario, in both modes (side by side, as two
 *    processes): every milestone it announces, an OOM kill with its
 *    candidate table, every surviving task's data verified - checked in
 *    the log, and the recap's numbers equal to the log's last vmstat row;
 *  - vmemu report on a file of several runs: the latest by default,
 *    --run N, --run all; the OOM decision rebuilt from oom_candidates is
 *    the kernel's own report text line for line; a timeline falling back
 *    to vmstat samples for kinds not logged; the file byte for byte
 *    unchanged; sections of absent tables skipped (an older file);
 *  - report's refusals: missing, foreign, empty file, no such run;
 *  - reproducibility: trace mode, one task, --no-kswapd: the same seed
 *    gives the same events table (every column but t_ns, hashed), another
 *    seed another;
 *  - a log that fails mid-run (RLIMIT_FSIZE, as a full disk): one line,
 *    status 1, the tasks stopped, the file still sound;
 *  - query on a real log is read-only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tests/lib/clitest.h"

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME  1099511628211ULL

static struct cli_result res[2];

/* ---- reading a log ------------------------------------------------------ */

static sqlite3 *open_ro(const char *db)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	return h;
}

/* The first column of sql's first row (an integer; -1 for no row). */
static long long q_int(const char *db, const char *sql)
{
	sqlite3 *h = open_ro(db);
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* The same, as text into buf ("" for no row or NULL). */
static void q_text(const char *db, const char *sql, char *buf, size_t len)
{
	sqlite3 *h = open_ro(db);
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void exec_rw(const char *db, const char *sql)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

/* The number after "prefix" in text (the first occurrence). */
static long long number_after(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);

	if (!p)
		fail_msg("no '%s' in:\n%s", prefix, text);
	return atoll(p + strlen(prefix));
}

/* The number before " suffix" in text: "8191 pages written out". */
static long long number_before(const char *text, const char *suffix)
{
	const char *p = strstr(text, suffix);

	if (!p)
		fail_msg("no '%s' in:\n%s", suffix, text);
	while (p > text && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return atoll(p);
}

static void slurp_file(const char *path, char *buf, size_t len, size_t *n)
{
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	*n = fread(buf, 1, len, f);
	assert_true(*n < len);
	fclose(f);
}

/* ---- the built-in scenario ---------------------------------------------- */

/* A copy of text with each run of spaces and line breaks one space. */
static void unwrap(const char *text, char *buf, size_t len)
{
	size_t n = 0;

	while (*text && n + 1 < len) {
		if (*text == '\n' || *text == ' ') {
			text += strspn(text, "\n ");
			buf[n++] = ' ';
			continue;
		}
		buf[n++] = *text++;
	}
	buf[n] = '\0';
}

static const char *const milestones[] = {
	"[kswapd_wake]", "[allocstall_normal]",
	"[pswpout]",	 "[workingset_refault_anon]",
	"[oom_kill]",
};

/* What the log of a scenario run must show; out is its stdout. */
static void check_scenario_log(const char *db, const char *out)
{
	char sql[512];

	assert_true(q_int(db, "SELECT count(*) FROM oom_kills WHERE "
			      "victim_pid IS NOT NULL") >= 1);
	assert_true(q_int(db, "SELECT count(*) FROM oom_candidates") >= 3);
	/* Every task that was not OOM-killed verified its data: exit 0. */
	assert_int_equal(q_int(db, "SELECT count(*) FROM tasks WHERE "
				   "exit_reason <> 'oom_killed' AND NOT "
				   "(exit_reason = 'exit' AND exit_code = 0)"),
			 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM tasks WHERE "
				   "exit_reason = 'exit'"),
			 2);
	assert_int_equal(q_int(db, "SELECT exit_status FROM runs"), 0);
	/* The recap's numbers are the log's final counters. */
	out = strstr(out, "What the counters say");
	assert_non_null(out);
	snprintf(sql, sizeof(sql),
		 "SELECT %s FROM vmstat ORDER BY seq DESC "
		 "LIMIT 1",
		 "pswpout");
	assert_int_equal(number_before(out, " pages written out"),
			 q_int(db, sql));
	assert_int_equal(number_before(out, " evicted pages were needed again"),
			 q_int(db, "SELECT workingset_refault_anon FROM vmstat "
				   "ORDER BY seq DESC LIMIT 1"));
	assert_int_equal(number_after(out, " direct reclaim "),
			 q_int(db, "SELECT allocstall_normal FROM vmstat "
				   "ORDER BY seq DESC LIMIT 1"));
	assert_int_equal(number_after(out, " kswapd woke "),
			 q_int(db, "SELECT vmemu_kswapd_wake FROM vmstat "
				   "ORDER BY seq DESC LIMIT 1"));
}

/*
 * The scenario in native and trace mode at once (two processes: most of
 * it is the sleeper's sleep): each milestone, the OOM report, the
 * recap, the hints, and the log behind them.
 */
static void test_cli_log_scenario(void **state)
{
	static const char *const modes[] = { "native", "trace" };
	struct cli_child c[2];
	char dir[64], db[2][96];

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	for (int m = 0; m < 2; m++) {
		snprintf(db[m], sizeof(db[m]), "%s/%s.db", dir, modes[m]);
		clitest_start(&c[m],
			      ARGS("run", "--log", db[m], "--mode", modes[m]),
			      NULL);
	}
	for (int m = 0; m < 2; m++)
		clitest_finish(&c[m], &res[m], 0);
	for (int m = 0; m < 2; m++) {
		static char out[CLITEST_OUT_LEN];

		unwrap(res[m].out, out, sizeof(out));
		if (res[m].status != 0)
			fail_msg("%s: status %d\n%s%s", modes[m], res[m].status,
				 res[m].out, res[m].err);
		for (size_t i = 0; i < sizeof(milestones) / sizeof(*milestones);
		     i++)
			clitest_expect_in(out, milestones[i]);
		clitest_expect_in(res[m].err, "Tasks state (memory values in "
					      "pages):");
		clitest_expect_in(res[m].err,
				  "Out of memory: Killed process 3 (hog)");
		clitest_expect_in(out, "OOM-killed (expected)");
		clitest_expect_in(out, "What the counters say");
		clitest_expect_in(out, "read back every byte they wrote");
		clitest_expect_in(out, "report ");
		clitest_expect_in(out, " query ");
		check_scenario_log(db[m], out);
	}
	clitest_rmdir(dir);
}

/* ---- vmemu report ------------------------------------------------------- */

/* Every line of the stored kernel report appears in the report's text. */
static void expect_kernel_lines(const char *db, const char *report)
{
	static char text[1 << 14];
	char *line, *save = NULL, want[512];

	q_text(db,
	       "SELECT report FROM oom_kills WHERE run_id = 1 ORDER BY "
	       "seq LIMIT 1",
	       text, sizeof(text));
	assert_true(text[0] != '\0');
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "invoked oom-killer"))
			continue; /* the report words the trigger its own way */
		snprintf(want, sizeof(want), "  %s\n", line);
		clitest_expect_in(report, want);
	}
}

/* Three runs in one file: OOM with swap, a subset of kinds, a plain one. */
static void make_runs(const char *db)
{
	static struct cli_result r;

	clitest_run(&r,
		    ARGS("run", "--quiet", "--log", db, "--mem", "8M", "--swap",
			 "4M", "-w", "idle:size=2M,sleep=200,ops=4,name=sleepy",
			 "-w", "hog:chunk=512K,adj=100,delay=50,name=greedy"));
	assert_int_equal(r.status, 0);
	clitest_run(&r,
		    ARGS("run", "--quiet", "--log", db, "--mem", "4M", "--swap",
			 "8M", "--events", "anon_fault,oom_kill", "-w",
			 "rand:size=6M,ops=6000,write=1,name=swapper"));
	assert_int_equal(r.status, 0);
	clitest_run(&r, ARGS("run", "--quiet", "--log", db, "-w",
			     "seq:size=64K,name=plain", "-w",
			     "malloc:size=256K,ops=500,leak=1,name=leaky"));
	assert_int_equal(r.status, 0);
}

/* The same file as an older one: without some tables, with a newer one. */
static void report_older_file(const char *db)
{
	struct cli_result *r = &res[0];

	exec_rw(db, "CREATE TABLE sim_future (run_id INTEGER, x INTEGER)");
	clitest_run(r, ARGS("report", db, "--run", "1"));
	assert_int_equal(r->status, 0);
	exec_rw(db, "DROP TABLE oom_candidates; DROP TABLE psi; "
		    "DROP TABLE events; DROP TABLE event_kinds; "
		    "DROP TABLE leaks");
	clitest_run(r, ARGS("report", db, "--run", "1"));
	if (r->status != 0)
		fail_msg("status %d\n%s%s", r->status, r->out, r->err);
	clitest_expect_in(r->out, "Totals");
	clitest_expect_in(r->out, "greedy");
	assert_null(strstr(r->out, "OOM decisions"));
	assert_null(strstr(r->out, "Timeline"));
	exec_rw(db, "DROP TABLE vmstat; DROP TABLE tasks");
	clitest_run(r, ARGS("report", db));
	assert_int_equal(r->status, 0);
	clitest_expect_in(r->out, "Configuration");
	clitest_run(r, ARGS("report", db, "--run", "all"));
	assert_int_equal(r->status, 0);
}

/*
 * --aging-budget reaches the machine: recorded in the run's config, and
 * 0 means no aging walks (no revokes) where 100 walks under the same
 * pressure.
 */
static void test_cli_log_aging_budget(void **state)
{
	static const char *const budget[2] = { "0", "100" };
	struct cli_result *r = &res[0];
	char dir[64], db[96];

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	for (int i = 0; i < 2; i++) {
		long long revokes;

		snprintf(db, sizeof(db), "%s/aging%s.db", dir, budget[i]);
		clitest_run(r,
			    ARGS("run", "--quiet", "--log", db, "--mem", "4M",
				 "--swap", "16M", "--aging-budget", budget[i],
				 "-w", "rand:size=8M,ops=60000,write=1"));
		if (r->status != 0)
			fail_msg("status %d\n%s%s", r->status, r->out, r->err);
		assert_int_equal(q_int(db, "SELECT json_extract(config_json, "
					   "'$.aging_budget_pct') FROM runs"),
				 atoi(budget[i]));
		assert_true(q_int(db, "SELECT max(pswpin) FROM vmstat") > 0);
		revokes = q_int(db, "SELECT max(vmemu_age_revoke) FROM vmstat");
		if (i == 0)
			assert_int_equal(revokes, 0);
		else
			assert_true(revokes > 0);
	}
	clitest_rmdir(dir);
}

static void test_cli_log_report_runs(void **state)
{
	static char before[1 << 22], after[1 << 22];
	struct cli_result *r = &res[0];
	char dir[64], db[96];
	size_t nb, na;
	struct stat st0, st1;

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/runs.db", dir);
	make_runs(db);
	slurp_file(db, before, sizeof(before), &nb);
	assert_int_equal(stat(db, &st0), 0);

	clitest_run(r, ARGS("report", db)); /* the latest: run 3 */
	assert_int_equal(r->status, 0);
	clitest_expect_in(r->out, "run 3 (of 3 in the file)");
	clitest_expect_in(r->out, " plain ");
	clitest_expect_in(r->out, "never  first swap-out");
	clitest_expect_in(r->out, "pid 2 (leaky): 1 block, ");
	assert_null(strstr(r->out, "pid 1 (plain)")); /* no C library */

	assert_null(strstr(r->out, "OOM decisions"));

	clitest_run(r, ARGS("report", db, "--run", "1"));
	assert_int_equal(r->status, 0);
	clitest_expect_in(r->out, "run 1 (of 3 in the file)");
	clitest_expect_in(r->out,
			  "  mem_bytes                  8388608 (8 MiB)");
	clitest_expect_in(r->out, "pswpout ");
	clitest_expect_in(r->out, "#1 at ");
	clitest_expect_in(r->out, "greedy (pid 2) could not get a frame");
	clitest_expect_in(r->out, "<- chosen");
	clitest_expect_in(r->out, "oom_killed");
	clitest_expect_in(r->out, "memory pressure began - ");
	clitest_expect_in(r->out, "OOM kill #1: greedy chosen and killed");
	expect_kernel_lines(db, r->out);

	clitest_run(r, ARGS("report", db, "--run=2"));
	assert_int_equal(r->status, 0);
	clitest_expect_in(r->out, "first swap-out (in a vmstat sample: the "
				  "kind was not logged)");
	clitest_expect_in(r->out, "kinds: oom_kill,anon_fault");

	clitest_run(r, ARGS("report", db, "--run", "all"));
	assert_int_equal(r->status, 0);
	clitest_expect_in(r->out, "    1  ");
	clitest_expect_in(r->out, "    3  ");
	clitest_expect_in(r->out, "--events anon_fault,oom_kill");
	assert_int_equal(number_before(strstr(r->out, "\n    1  "), "  vmemu"),
			 1); /* one kill in run 1 */

	slurp_file(db, after, sizeof(after), &na); /* never changed */
	assert_int_equal(stat(db, &st1), 0);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	assert_true(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec &&
		    st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec);
	report_older_file(db);
	clitest_rmdir(dir);
}

static void test_cli_log_report_refusals(void **state)
{
	char dir[64], path[96], db[96];
	FILE *f;

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/missing.db", dir);
	clitest_expect_usage_error(ARGS("report", path),
				   "No such file or directory");
	snprintf(path, sizeof(path), "%s/text.db", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a database\n", f);
	fclose(f);
	clitest_expect_usage_error(ARGS("report", path),
				   "is not a vmemu event log");
	snprintf(path, sizeof(path), "%s/foreign.db", dir);
	exec_rw(path, "CREATE TABLE runs (run_id INTEGER)");
	clitest_expect_usage_error(ARGS("report", path),
				   "a SQLite database with application_id");
	snprintf(db, sizeof(db), "%s/one.db", dir);
	clitest_run(&res[0],
		    ARGS("run", "--quiet", "--log", db, "-w", "seq:size=64K"));
	assert_int_equal(res[0].status, 0);
	clitest_expect_usage_error(ARGS("report", db, "--run", "7"),
				   "has no run 7");
	clitest_expect_usage_error(ARGS("report", db, "--run", "-1"),
				   "is not a run id or 'all'");
	clitest_expect_usage_error(ARGS("report"), "needs FILE.db");
	clitest_expect_usage_error(ARGS("report", db, db), "unexpected");
	clitest_rmdir(dir);
}

/* ---- reproducibility ---------------------------------------------------- */

/* FNV-1a over every column but t_ns of run's events, in seq order. */
static uint64_t events_hash(const char *db, int run, long long *rows)
{
	sqlite3 *h = open_ro(db);
	sqlite3_stmt *st;
	uint64_t x = FNV_OFFSET;

	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT seq, kind, pid, va, pfn, "
					    "slot, arg FROM events WHERE "
					    "run_id = ?1 ORDER BY seq",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_int(st, 1, run);
	*rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < 7; c++) {
			const unsigned char *t = sqlite3_column_text(st, c);

			for (; t && *t; t++)
				x = (x ^ *t) * FNV_PRIME;
			x = (x ^ '|') * FNV_PRIME;
		}
		(*rows)++;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return x;
}

static void test_cli_log_reproducible_by_seed(void **state)
{
	static const char *const seeds[] = { "7", "7", "8" };
	char dir[64], db[96];
	uint64_t hash[3];
	long long rows[3];

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/seed.db", dir);
	for (int i = 0; i < 3; i++) {
		clitest_run(&res[0],
			    ARGS("run", "--quiet", "--log", db, "--mode",
				 "trace", "--no-kswapd", "--mem", "4M",
				 "--swap", "8M", "--seed", seeds[i], "-w",
				 "rand:size=6M,ops=4000,write=0.5"));
		assert_int_equal(res[0].status, 0);
		hash[i] = events_hash(db, i + 1, &rows[i]);
	}
	print_message("events: %lld, %lld, %lld rows\n", rows[0], rows[1],
		      rows[2]);
	assert_true(rows[0] > 1000); /* it swapped: a real sequence */
	assert_int_equal(rows[0], rows[1]);
	assert_true(hash[0] == hash[1]);
	assert_true(hash[0] != hash[2]);
	clitest_rmdir(dir);
}

/* ---- a log that fails ---------------------------------------------------- */

/*
 * Files of vmemu limited to 1.5 MiB (RLIMIT_FSIZE: writes fail with
 * EFBIG as on a full disk) while a swapping task logs far more: vmemu
 * says so in one line, stops the tasks, exits 1; the file stays sound.
 */
static void test_cli_log_failure_stops_run(void **state)
{
	struct cli_result *r = &res[0];
	struct cli_child c;
	char dir[64], db[96], *nl;

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/full.db", dir);
	clitest_start(
		&c,
		ARGS("run", "--quiet", "--log", db, "--mem", "1M", "--swap",
		     "1M", "-w", "rand:size=1400K,ops=100000000,name=logger"),
		&(struct cli_opts){ .err_fd = -1, .fsize_bytes = 1536 * 1024 });
	clitest_finish(&c, r, 0);
	if (r->status != 1)
		fail_msg("status %d\n%s%s", r->status, r->out, r->err);
	if (strncmp(r->err, "vmemu: the event log failed", 27) != 0)
		fail_msg("stderr: '%s'", r->err);
	nl = strchr(r->err, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0'); /* one line */
	clitest_expect_in(r->out, "stopped because the event log failed");
	assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), 1);
	{
		char ok[16];

		q_text(db, "PRAGMA integrity_check", ok, sizeof(ok));
		assert_string_equal(ok, "ok");
	}
	clitest_rmdir(dir);
}

/* ---- query on a real log ------------------------------------------------ */

static void test_cli_log_query_read_only(void **state)
{
	static char before[1 << 20], after[1 << 20];
	struct cli_result *r = &res[0];
	char dir[64], db[96];
	size_t nb, na;

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/q.db", dir);
	clitest_run(r,
		    ARGS("run", "--quiet", "--log", db, "-w", "seq:size=256K"));
	assert_int_equal(r->status, 0);
	slurp_file(db, before, sizeof(before), &nb);
	clitest_run(r, ARGS("query", db, "DELETE FROM events"));
	assert_int_equal(r->status, 1);
	clitest_expect_in(r->err, "attempt to write a readonly database");
	clitest_run(r, ARGS("query", db,
			    "UPDATE runs SET exit_status = 9; SELECT 1"));
	assert_int_equal(r->status, 1);
	slurp_file(db, after, sizeof(after), &na);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	clitest_run(r, ARGS("query", db, "SELECT exit_status FROM runs"));
	assert_string_equal(r->out, "exit_status\n0\n");
	clitest_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_log_scenario),
		cmocka_unit_test(test_cli_log_aging_budget),
		cmocka_unit_test(test_cli_log_report_runs),
		cmocka_unit_test(test_cli_log_report_refusals),
		cmocka_unit_test(test_cli_log_reproducible_by_seed),
		cmocka_unit_test(test_cli_log_failure_stops_run),
		cmocka_unit_test(test_cli_log_query_read_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
