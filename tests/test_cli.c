/*
 * tests/test_cli.c - the vmemu command, run as a separate process
 * ($VMEMU, default ./vmemu):
 *  - bad input (unknown command, option, workload or key; malformed
 *    sizes and numbers; values vm_create refuses; a --mem beyond the
 *    host or too small for its tasks; a --log that cannot be written or
 *    is not a vmemu log) gets exactly one line on stderr, nothing on
 *    stdout, status 2, and creates or changes no file;
 *  - --help of every command is complete (every option, workload, key);
 *  - every workload (malloc too) runs and verifies in both modes; a task
 *    that fails makes the status 1;
 *  - SIGINT/SIGTERM mid-run kill the tasks, print the summary, 130/143,
 *    and leave a log that opens, passes integrity_check, and records
 *    the run's end and that status;
 *  - on a terminal (a pty) the once-a-second line's header appears;
 *  - vmemu query: the sqlite3 shell's output modes byte for byte, the
 *    database opened read-only (an INSERT fails, the file is unchanged,
 *    a missing file is not created), :run bound from --run, statements
 *    in order, exit statuses 0/1/2.
 * The built-in scenario and report are tests/test_cli_log.c's; the
 * cookbook, tests/test_cli_queries.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tests/lib/clitest.h"

#define OUT_LEN CLITEST_OUT_LEN
#define ERR_LEN CLITEST_ERR_LEN

static void slurp(int fd, char *buf, size_t len, size_t used)
{
	ssize_t n;

	while (used + 1 < len &&
	       ((n = read(fd, buf + used, len - 1 - used)) > 0 ||
		(n < 0 && errno == EINTR)))
		used += n > 0 ? (size_t)n : 0;
	buf[used] = '\0';
}

static void run(struct cli_result *r, const char *const *args)
{
	clitest_run(r, args);
}

static void expect_in(const char *hay, const char *needle)
{
	clitest_expect_in(hay, needle);
}

static void expect_usage_error(const char *const *args, const char *needle)
{
	clitest_expect_usage_error(args, needle);
}

static void read_file(const char *path, char *buf, size_t len, size_t *n);

static void test_cli_bad_input(void **state)
{
	(void)state;
	expect_usage_error((const char *const[]){ NULL }, "missing command");
	expect_usage_error(ARGS("frobnicate"), "unknown command 'frobnicate'");
	expect_usage_error(ARGS("run", "--swop", "1G"),
			   "unknown option '--swop'");
	expect_usage_error(ARGS("run", "--mem"), "--mem needs a value");
	expect_usage_error(ARGS("run", "--mem", "12X"),
			   "--mem '12X' is not a size");
	expect_usage_error(ARGS("run", "--mem=1.5G"),
			   "--mem '1.5G' is not a size");
	expect_usage_error(ARGS("run", "--mem", "-1M"),
			   "--mem '-1M' is not a size");
	expect_usage_error(ARGS("run", "--mem", "0"),
			   "--mem '0' is not a size");
	expect_usage_error(ARGS("run", "--mem", "99999999999G"),
			   "is not a size");
	expect_usage_error(ARGS("run", "--mem", "18446744073709551616"),
			   "is not a size");
	expect_usage_error(ARGS("run", "--swap", "1Q"),
			   "--swap '1Q' is not a size");
	expect_usage_error(ARGS("run", "--mem", "5000"),
			   "not a positive multiple of 4096");
	expect_usage_error(ARGS("run", "--mem", "64T"),
			   "--mem 64T needs 65 TiB of host memory");
	expect_usage_error(ARGS("run", "--mode", "fast"),
			   "--mode 'fast' is not native or trace");
	expect_usage_error(ARGS("run", "--seed", "-3"),
			   "--seed '-3' is not a number");
	expect_usage_error(ARGS("run", "--fault-around", "3"),
			   "--fault-around '3' is not a power of two up to 64");
	expect_usage_error(ARGS("run", "--swappiness", "x"),
			   "--swappiness 'x' is not a number");
	expect_usage_error(ARGS("run", "--swappiness", "300"),
			   "swappiness 300 is outside 0..200");
	expect_usage_error(ARGS("run", "--aging-budget", "5%"),
			   "--aging-budget '5%' is not a number");
	expect_usage_error(ARGS("run", "--aging-budget", "150"),
			   "aging budget 150% is outside 0..100");
	expect_usage_error(ARGS("run", "--sysctl", "vm.swappiness=201"),
			   "swappiness 201 is outside 0..200");
	expect_usage_error(ARGS("run", "--sysctl",
				"vm.watermark_scale_factor=0"),
			   "watermark_scale_factor 0 is outside 1..3000");
	expect_usage_error(ARGS("run", "--sysctl", "vm.nope=1"),
			   "unknown sysctl 'vm.nope'");
	expect_usage_error(ARGS("run", "--sysctl", "vm.swappiness"),
			   "is not NAME=VALUE");
	expect_usage_error(ARGS("run", "--sysctl", "vm.panic_on_oom=7"),
			   "vm.panic_on_oom '7' is not 0, 1 or 2");
	expect_usage_error(ARGS("run", "--policy", "nosuch"),
			   "unknown policy 'nosuch'");
	expect_usage_error(ARGS("run", "--no-kswapd=1"),
			   "--no-kswapd takes no value");
	expect_usage_error(ARGS("run", "--sample-ms", "0"),
			   "--sample-ms '0' is not a positive number");
}

/*
 * Machines too small for their tasks, and logs that cannot be written:
 * one line, status 2, nothing created, an existing file untouched.
 */
static void test_cli_bad_machine_or_log(void **state)
{
	static char before[1 << 14], after[1 << 14];
	char dir[64], db[96], foreign[96], cmd[256];
	struct stat st;
	size_t nb, na;

	(void)state;
	clitest_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/new.db", dir);
	expect_usage_error(ARGS("run", "--log", db, "--mem", "32K", "-w",
				"seq:size=4K"),
			   "--mem 32K is too small for 1 task");
	expect_usage_error(ARGS("run", "--log", db, "--mem", "128K"),
			   "--mem 128K is too small for 3 tasks");
	assert_int_equal(stat(db, &st), -1); /* nothing created */
	expect_usage_error(ARGS("run", "--log", "/nonexistent/dir/x.db", "-w",
				"seq:size=4K"),
			   "/nonexistent/dir/x.db");
	snprintf(foreign, sizeof(foreign), "%s/foreign.db", dir);
	snprintf(cmd, sizeof(cmd),
		 "CREATE TABLE mine(a); INSERT INTO mine "
		 "VALUES (42)");
	{
		sqlite3 *h;

		assert_int_equal(sqlite3_open(foreign, &h), SQLITE_OK);
		assert_int_equal(sqlite3_exec(h, cmd, NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(h);
	}
	read_file(foreign, before, sizeof(before), &nb);
	expect_usage_error(ARGS("run", "--log", foreign, "-w", "seq:size=4K"),
			   "not a vmemu event log");
	read_file(foreign, after, sizeof(after), &na);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	clitest_rmdir(dir);
}

static void test_cli_bad_workload(void **state)
{
	(void)state;
	expect_usage_error(ARGS("run", "-w", "nope"),
			   "unknown workload 'nope'");
	expect_usage_error(ARGS("run", "-w", "zipf:alpha=x"),
			   "-w zipf:alpha=x: workload 'zipf': alpha 'x' is "
			   "not a positive number");
	expect_usage_error(ARGS("run", "-w", "seq:size=12X"),
			   "size '12X' is not a size");
	expect_usage_error(ARGS("run", "-w", "seq:bogus=1"),
			   "workload 'seq' has no key 'bogus'");
	expect_usage_error(ARGS("run", "-w", "seq:write"),
			   "'write' is not key=value");
	expect_usage_error(ARGS("run", "-w", "rand:write=2"),
			   "write '2' is not a number from 0 to 1");
	expect_usage_error(ARGS("run", "-w", "seq", "-w", "hog:adj=-1001"),
			   "adj '-1001' is not a whole number from -1000");
	expect_usage_error(ARGS("run", "-w"), "-w needs a value");
}

static void test_cli_help_complete(void **state)
{
	static const char *const run_words[] = {
		"--mem",
		"--swap",
		"--swap-file",
		"--policy",
		"--swappiness",
		"--min-free-kbytes",
		"--watermark-scale-factor",
		"--page-cluster",
		"--sysctl",
		"--no-kswapd",
		"--mode",
		"--seed",
		"--log",
		"--no-log",
		"--events",
		"--sample-ms",
		"--fault-around",
		"-w WORKLOAD",
		"--quiet",
		"--help",
		"--version",
		"vm.swappiness",
		"vm.min_free_kbytes",
		"vm.watermark_scale_factor",
		"vm.page-cluster",
		"vm.panic_on_oom",
		"vm.oom_kill_allocating_task",
		"KiB",
		"seq ",
		"rand ",
		"zipf ",
		"hotcold ",
		"phases ",
		"stride ",
		"hog ",
		"forkstorm ",
		"idle ",
		"zero ",
		"segv ",
		"malloc ",
		"policy=first",
		"max=256K",
		"delay=0",
		"segregated",
		"alpha=0.99",
		"hot=0.1",
		"share=0.9",
		"ws=0.25",
		"period=0",
		"k=16",
		"chunk=1M",
		"rounds=4",
		"sleep=2000",
		"size=4M",
		"passes=2",
		"write=0.3",
		"adj=0",
		"fork=0",
		"seed=auto",
		"op: ",
		"Exit status",
		"130/143",
	};
	static struct cli_result r;

	(void)state;
	run(&r, ARGS("run", "--help"));
	assert_int_equal(r.status, 0);
	for (size_t i = 0; i < sizeof(run_words) / sizeof(run_words[0]); i++)
		expect_in(r.out, run_words[i]);
	run(&r, ARGS("--help"));
	assert_int_equal(r.status, 0);
	expect_in(r.out, "run [OPTION]");
	expect_in(r.out, "query FILE.db");
	expect_in(r.out, "report FILE.db");
	run(&r, ARGS("query", "--help"));
	assert_int_equal(r.status, 0);
	expect_in(r.out, "--mode MODE");
	expect_in(r.out, "--run ID");
	expect_in(r.out, "box");
	run(&r, ARGS("report", "--help"));
	assert_int_equal(r.status, 0);
	expect_in(r.out, "--run ID|all");
	expect_in(r.out, "OOM decisions");
	expect_in(r.out, "timeline");
	run(&r, ARGS("--version"));
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, "vmemu ", 6) == 0);
}

/* The task line of pid n in a summary. */
static const char *task_line(const char *out, const char *name)
{
	const char *l = strstr(out, name);

	if (!l)
		fail_msg("no task '%s' in:\n%s", name, out);
	return l;
}

static void expect_task_end(const char *out, const char *name, const char *end)
{
	const char *l = task_line(out, name), *nl = strchr(l, '\n');
	char line[512];

	snprintf(line, sizeof(line), "%.*s", nl ? (int)(nl - l) : 511, l);
	if (!strstr(line, end))
		fail_msg("task '%s' ended '%s', not '%s'", name, line, end);
}

/* Every workload kind runs and verifies, in both modes. */
static void test_cli_workloads_both_modes(void **state)
{
	static const char *const modes[] = { "native", "trace" };
	static struct cli_result r;

	(void)state;
	for (int m = 0; m < 2; m++) {
		run(&r,
		    ARGS("run", "--mem", "32M", "--no-log", "--mode", modes[m],
			 "--seed", "5", "-w", "seq:size=256K,name=t-seq", "-w",
			 "rand:size=256K,ops=500,fork=2,name=t-rand", "-w",
			 "zipf:size=256K,ops=500,name=t-zipf", "-w",
			 "hotcold:size=256K,ops=500,name=t-hotcold", "-w",
			 "phases:size=256K,ops=500,name=t-phases", "-w",
			 "stride:size=256K,k=7,name=t-stride", "-w",
			 "hog:size=1M,chunk=256K,name=t-hog", "-w",
			 "forkstorm:size=128K,rounds=2,name=t-forkstorm", "-w",
			 "idle:size=128K,sleep=20,ops=2,name=t-idle", "-w",
			 "zero:size=256K,name=t-zero", "-w", "segv:name=t-segv",
			 "-w",
			 "malloc:size=512K,ops=2000,policy=worst,name=t-malloc"));
		if (r.status != 0)
			fail_msg("%s: status %d\n%s%s", modes[m], r.status,
				 r.out, r.err);
		expect_in(r.out, modes[m]);
		expect_task_end(r.out, "t-seq", "ok");
		expect_task_end(r.out, "t-rand", "ok");
		expect_task_end(r.out, "t-zipf", "ok");
		expect_task_end(r.out, "t-hotcold", "ok");
		expect_task_end(r.out, "t-phases", "ok");
		expect_task_end(r.out, "t-stride", "ok");
		expect_task_end(r.out, "t-hog", "ok");
		expect_task_end(r.out, "t-forkstorm", "ok");
		expect_task_end(r.out, "t-idle", "ok");
		expect_task_end(r.out, "t-zero", "ok");
		expect_task_end(r.out, "t-segv", "SEGV at va 0x0 (expected)");
		expect_task_end(r.out, "t-malloc", "ok");
		expect_in(r.out, "every task ended as expected");
		assert_string_equal(r.err, "");
	}
}

/* A task that does not end as expected: status 1, and it says so. */
static void test_cli_failed_task_status(void **state)
{
	static struct cli_result r;

	(void)state;
	run(&r, ARGS("run", "--mem", "8M", "--no-log", "--quiet", "-w",
		     "seq:size=32M,passes=1,write=1,name=too-big"));
	assert_int_equal(r.status, 1);
	expect_task_end(r.out, "too-big", "FAILED: OOM-killed");
	expect_in(r.out, "1 of 1 tasks did not end as expected");
	assert_null(strstr(r.out, "== /proc/")); /* --quiet */
	/* A hog's OOM kill is its expected end. */
	run(&r, ARGS("run", "--mem", "8M", "--no-log", "--quiet", "-w",
		     "hog:chunk=512K"));
	assert_int_equal(r.status, 0);
	expect_task_end(r.out, "hog", "OOM-killed (expected)");
}

/* The knob reaches the machine: faults map blocks. */
static void test_cli_fault_around(void **state)
{
	static struct cli_result r;
	const char *line;

	(void)state;
	run(&r, ARGS("run", "--mem", "16M", "--no-log", "--fault-around=16",
		     "-w", "seq:size=1M,write=1"));
	assert_int_equal(r.status, 0);
	line = strstr(r.out, "\nvmemu_fault_around ");
	assert_non_null(line);
	assert_true(atol(line + strlen("\nvmemu_fault_around ")) > 0);
	run(&r, ARGS("run", "--mem", "16M", "--no-log", "-w",
		     "seq:size=1M,write=1"));
	line = strstr(r.out, "\nvmemu_fault_around ");
	assert_non_null(line);
	assert_int_equal(atol(line + strlen("\nvmemu_fault_around ")), 0);
}

/* The log of an interrupted run: sound, closed, its exit status. */
static void expect_closed_log(const char *db, int want)
{
	sqlite3 *h;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1,
					    &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT end_unix_ns IS NOT NULL, "
					    "exit_status, error IS NULL, "
					    "(SELECT count(*) FROM tasks WHERE "
					    "exit_reason IS NULL) FROM runs",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1); /* closed */
	assert_int_equal(sqlite3_column_int(st, 1), want);
	assert_int_equal(sqlite3_column_int(st, 2), 1);
	assert_int_equal(sqlite3_column_int(st, 3), 0); /* every task ended */
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/*
 * Interrupted after its header line: tasks killed, summary, 128+sig,
 * and a log that opens, passes integrity_check and says so.
 */
static void interrupt(int sig, int want)
{
	static struct cli_result r;
	struct cli_child c;
	char dir[64], db[96];
	size_t used;

	clitest_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/run.db", dir);
	clitest_start(&c,
		      ARGS("run", "--log", db, "--mem", "16M", "-w",
			   "idle:size=256K,sleep=600000,ops=0,name=sleeper",
			   "-w",
			   "forkstorm:size=128K,rounds=100000000,name=stormy"),
		      NULL);
	used = clitest_read_until(&c, &r, "\n");
	assert_non_null(strchr(r.out, '\n')); /* tasks started */
	assert_int_equal(kill(c.pid, sig), 0);
	clitest_finish(&c, &r, used);
	assert_int_equal(r.status, want);
	expect_task_end(r.out, "sleeper", "killed");
	expect_task_end(r.out, "stormy", "killed");
	expect_in(r.out, sig == SIGINT ? "interrupted by SIGINT" :
					 "interrupted by SIGTERM");
	expect_in(r.out, "== /proc/vmstat");
	expect_in(r.out, "The run is logged in");
	expect_closed_log(db, want);
	clitest_rmdir(dir);
}

static void test_cli_sigint_summary(void **state)
{
	(void)state;
	interrupt(SIGINT, 130);
	interrupt(SIGTERM, 143);
}

/* With stderr on a terminal, the progress header; not with --quiet. */
static void test_cli_progress_on_tty(void **state)
{
	static struct cli_result r;
	static char tty[ERR_LEN];
	int quiet;

	(void)state;
	for (quiet = 0; quiet < 2; quiet++) {
		struct cli_child c;
		int master = posix_openpt(O_RDWR | O_NOCTTY), slave;

		assert_true(master >= 0);
		assert_int_equal(grantpt(master), 0);
		assert_int_equal(unlockpt(master), 0);
		slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		assert_true(slave >= 0);
		clitest_start(&c,
			      quiet ? ARGS("run", "--no-log", "--quiet", "-w",
					   "idle:size=64K,sleep=300") :
				      ARGS("run", "--no-log", "-w",
					   "idle:size=64K,sleep=1300"),
			      &(struct cli_opts){ .err_fd = slave });
		close(slave);
		clitest_finish(&c, &r, 0);
		assert_int_equal(r.status, 0);
		slurp(master, tty, sizeof(tty), 0); /* ends with EIO */
		close(master);
		if (quiet)
			assert_null(strstr(tty, "flt/s"));
		else
			expect_in(tty, "free      swpd");
	}
}

/* ---- vmemu query ------------------------------------------------------ */

static char db_path[64];

static void make_db(void)
{
	static const char sql[] =
		"CREATE TABLE runs(run_id INTEGER PRIMARY KEY, cmdline TEXT);"
		"INSERT INTO runs VALUES(1, 'vmemu run'), (2, 'vmemu run -w "
		"hog');"
		"CREATE TABLE t(a INTEGER, b TEXT, c REAL, run_id INTEGER);"
		"INSERT INTO t VALUES(1, 'x', 1.5, 1),"
		"(22, 'he said \"hi\", ok', NULL, 2),"
		"(NULL, 'multi\nline', 3.0, 2);";
	char dir[] = "/tmp/vmemu-test-XXXXXX";
	sqlite3 *db;

	assert_non_null(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/log.db", dir);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void drop_db(void)
{
	char dir[64];

	unlink(db_path);
	snprintf(dir, sizeof(dir), "%.*s",
		 (int)(strrchr(db_path, '/') - db_path), db_path);
	rmdir(dir);
}

static void expect_query(const char *mode, const char *sql, const char *want)
{
	static struct cli_result r;

	if (mode)
		run(&r, ARGS("query", db_path, sql, "--mode", mode));
	else
		run(&r, ARGS("query", db_path, sql));
	if (r.status != 0 || strcmp(r.out, want) != 0)
		fail_msg("mode %s, status %d: got\n%s\nwant\n%s\nstderr %s",
			 mode ? mode : "(default)", r.status, r.out, want,
			 r.err);
}

#define SEL_T "SELECT a, b, c FROM t"

/* Byte for byte what `sqlite3 -header -MODE` prints (3.40). */
static void test_cli_query_modes(void **state)
{
	(void)state;
	make_db();
	expect_query(
		NULL, SEL_T,
		"a|b|c\n1|x|1.5\n22|he said \"hi\", ok|\n|multi\nline|3.0\n");
	expect_query("csv", SEL_T "; SELECT 'é' AS u, '' AS e",
		     "a,b,c\n1,x,1.5\n22,\"he said \"\"hi\"\", ok\",\n"
		     ",\"multi\nline\",3.0\nu,e\n\"é\",\"\"\n");
	expect_query("json", SEL_T "; SELECT 0.1 AS f, char(1) AS s",
		     "[{\"a\":1,\"b\":\"x\",\"c\":1.5},\n"
		     "{\"a\":22,\"b\":\"he said \\\"hi\\\", ok\",\"c\":null},\n"
		     "{\"a\":null,\"b\":\"multi\\nline\",\"c\":3.0}]\n"
		     "[{\"f\":0.10000000000000000555,\"s\":\"\\u0001\"}]\n");
	expect_query("line", SEL_T " LIMIT 2; SELECT 1 AS longername",
		     "    a = 1\n    b = x\n    c = 1.5\n\n"
		     "    a = 22\n    b = he said \"hi\", ok\n    c = \n"
		     "longername = 1\n");
	expect_query("box", "SELECT a, b FROM t WHERE a = 1; SELECT 1 AS one",
		     "┌───┬───┐\n│ a │ b │\n├───┼───┤\n│ 1 │ x │\n"
		     "└───┴───┘\n┌─────┐\n│ one │\n├─────┤\n│ 1   │\n"
		     "└─────┘\n");
	expect_query("box", SEL_T " WHERE a IS NULL OR a = 22",
		     "┌────┬──────────────────┬─────┐\n"
		     "│ a  │        b         │  c  │\n"
		     "├────┼──────────────────┼─────┤\n"
		     "│ 22 │ he said \"hi\", ok │     │\n"
		     "├────┼──────────────────┼─────┤\n"
		     "│    │ multi            │ 3.0 │\n"
		     "│    │ line             │     │\n"
		     "└────┴──────────────────┴─────┘\n");
	expect_query("json", "SELECT 1 WHERE 0", ""); /* no rows: nothing */
	expect_query(NULL, "SELECT 1 AS x WHERE 0", "");
	drop_db();
}

static void read_file(const char *path, char *buf, size_t len, size_t *n)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	*n = (size_t)read(fd, buf, len);
	close(fd);
}

/* SQLite refuses the write; the file is byte for byte unchanged. */
static void test_cli_query_read_only(void **state)
{
	static char before[1 << 16], after[1 << 16];
	static struct cli_result r;
	size_t nb, na;
	struct stat st;
	char missing[80];

	(void)state;
	make_db();
	read_file(db_path, before, sizeof(before), &nb);
	run(&r, ARGS("query", db_path, "INSERT INTO runs VALUES(3, 'sneaky')"));
	assert_int_equal(r.status, 1);
	expect_in(r.err, "readonly database");
	run(&r, ARGS("query", db_path, "DROP TABLE t"));
	assert_int_equal(r.status, 1);
	read_file(db_path, after, sizeof(after), &na);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	run(&r, ARGS("query", db_path, "SELECT count(*) AS n FROM runs"));
	assert_string_equal(r.out, "n\n2\n");
	/* A missing database is not created: status 2, one line. */
	snprintf(missing, sizeof(missing), "%s.missing", db_path);
	expect_usage_error(ARGS("query", missing, "SELECT 1"), "cannot open");
	assert_int_equal(stat(missing, &st), -1);
	drop_db();
}

static void test_cli_query_run_and_errors(void **state)
{
	static struct cli_result r;

	(void)state;
	make_db();
	run(&r, ARGS("query", db_path,
		     "SELECT a FROM t WHERE run_id = :run ORDER BY a", "--run",
		     "2"));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "a\n\n22\n");
	run(&r, ARGS("query", "--run=1", db_path,
		     "SELECT cmdline FROM runs WHERE run_id = :run"));
	assert_string_equal(r.out, "cmdline\nvmemu run\n");
	/* --run without :run is harmless. */
	run(&r, ARGS("query", db_path, "SELECT 7 AS x", "--run", "1"));
	assert_string_equal(r.out, "x\n7\n");
	expect_usage_error(ARGS("query", db_path, "SELECT :run"),
			   "the SQL uses :run; give --run ID");
	/* Statements in order; an error stops there with status 1. */
	run(&r, ARGS("query", db_path,
		     "SELECT 1 AS one; SELECT nope FROM t; SELECT 3 AS three"));
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "one\n1\n");
	expect_in(r.err, "no such column: nope");
	run(&r, ARGS("query", db_path, "SELEC 1"));
	assert_int_equal(r.status, 1);
	expect_in(r.err, "syntax error");
	expect_usage_error(ARGS("query", db_path), "needs FILE.db and \"SQL\"");
	expect_usage_error(ARGS("query", db_path, "SELECT 1", "--mode", "xml"),
			   "--mode 'xml' is not one of list|csv|json|box|line");
	expect_usage_error(ARGS("query", db_path, "SELECT 1", "--frob"),
			   "unknown option '--frob'");
	expect_usage_error(ARGS("query", db_path, "SELECT 1", "extra"),
			   "unexpected argument 'extra'");
	drop_db();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_bad_input),
		cmocka_unit_test(test_cli_bad_workload),
		cmocka_unit_test(test_cli_bad_machine_or_log),
		cmocka_unit_test(test_cli_help_complete),
		cmocka_unit_test(test_cli_workloads_both_modes),
		cmocka_unit_test(test_cli_failed_task_status),
		cmocka_unit_test(test_cli_fault_around),
		cmocka_unit_test(test_cli_sigint_summary),
		cmocka_unit_test(test_cli_progress_on_tty),
		cmocka_unit_test(test_cli_query_modes),
		cmocka_unit_test(test_cli_query_read_only),
		cmocka_unit_test(test_cli_query_run_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
