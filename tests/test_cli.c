/*
 * tests/test_cli.c - the vmemu command, run as a separate process
 * ($VMEMU, default ./vmemu):
 *  - bad input (unknown command, option, workload or key; malformed
 *    sizes and numbers; values vm_create refuses; a --mem beyond the
 *    host) gets exactly one line on stderr, nothing on stdout, status 2;
 *  - --help of every command is complete (every option, workload, key);
 *  - every workload runs and verifies in both modes; the built-in
 *    scenario runs; a task that fails makes the status 1;
 *  - SIGINT/SIGTERM mid-run kill the tasks, print the summary, 130/143;
 *  - on a terminal (a pty) the once-a-second line's header appears;
 *  - vmemu query: the sqlite3 shell's output modes byte for byte, the
 *    database opened read-only (an INSERT fails, the file is unchanged,
 *    a missing file is not created), :run bound from --run, statements
 *    in order, exit statuses 0/1/2.
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

#define MAX_ARGS 40
#define OUT_LEN	 (1 << 17)
#define ERR_LEN	 (1 << 14)

struct result {
	int status;
	char out[OUT_LEN];
	char err[ERR_LEN];
};

struct child {
	pid_t pid;
	int out, err;
};

static const char *vmemu(void)
{
	return getenv("VMEMU") ? getenv("VMEMU") : "./vmemu";
}

static void slurp(int fd, char *buf, size_t len, size_t used)
{
	ssize_t n;

	while (used + 1 < len &&
	       ((n = read(fd, buf + used, len - 1 - used)) > 0 ||
		(n < 0 && errno == EINTR)))
		used += n > 0 ? (size_t)n : 0;
	buf[used] = '\0';
}

/* Start vmemu with args (NULL-terminated); stdout, stderr piped. */
static void start(struct child *c, const char *const *args, int err_fd)
{
	char *argv[MAX_ARGS + 2];
	int out[2], err[2];
	size_t n = 0;

	argv[n++] = (char *)(uintptr_t)vmemu();
	while (args[n - 1] && n <= MAX_ARGS) {
		argv[n] = (char *)(uintptr_t)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(out[1], 1);
		dup2(err_fd >= 0 ? err_fd : err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->out = out[0];
	c->err = err[0];
}

/* Read the rest of the output, wait; the exit status. */
static void finish(struct child *c, struct result *r, size_t out_used)
{
	int st;

	/* stdout first: stderr is short unless it is a terminal. */
	slurp(c->out, r->out, sizeof(r->out), out_used);
	slurp(c->err, r->err, sizeof(r->err), 0);
	close(c->out);
	close(c->err);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	assert_true(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
}

static void run(struct result *r, const char *const *args)
{
	struct child c;

	start(&c, args, -1);
	finish(&c, r, 0);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("output lacks '%s':\n%s", needle, hay);
}

static void expect_usage_error(const char *const *args, const char *needle)
{
	static struct result r;
	char *nl;

	run(&r, args);
	if (r.status != 2)
		fail_msg("%s %s: status %d, stderr '%s'", args[0],
			 args[1] ? args[1] : "", r.status, r.err);
	assert_string_equal(r.out, "");
	assert_true(strncmp(r.err, "vmemu: ", 7) == 0);
	nl = strchr(r.err, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0'); /* exactly one line */
	expect_in(r.err, needle);
}

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
	static struct result r;

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
	expect_usage_error(ARGS("report", "x.db"), "report: not in this build");
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
	static struct result r;

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
			 "zero:size=256K,name=t-zero", "-w",
			 "segv:name=t-segv"));
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
		expect_in(r.out, "every task ended as expected");
		assert_string_equal(r.err, "");
	}
}

static void test_cli_builtin_scenario(void **state)
{
	static const char *const modes[] = { "native", "trace" };
	static struct result r;

	(void)state;
	for (int m = 0; m < 2; m++) {
		run(&r, ARGS("run", "--mem", "16M", "--no-log", "--mode",
			     modes[m]));
		assert_int_equal(r.status, 0);
		expect_in(r.out, "the built-in scenario");
		expect_task_end(r.out, "fill-verify", "ok");
		expect_task_end(r.out, "fork-cow", "ok");
		expect_task_end(r.out, "zero-reader", "ok");
		expect_task_end(r.out, "null-deref", "SEGV at va 0x0");
		expect_in(r.out, "== /proc/vmstat (after every task exited)");
		expect_in(r.out, "\npgfault ");
		expect_in(r.out, "Node 0, zone   Normal");
		expect_in(r.out, "slabinfo - version: 2.1");
		assert_string_equal(r.err, "");
	}
}

/* A task that does not end as expected: status 1, and it says so. */
static void test_cli_failed_task_status(void **state)
{
	static struct result r;

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
	static struct result r;
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

/* Interrupted after its header line: tasks killed, summary, 128+sig. */
static void interrupt(int sig, int want)
{
	static struct result r;
	struct child c;
	size_t used = 0;
	ssize_t n;

	start(&c,
	      ARGS("run", "--no-log", "--mem", "16M", "-w",
		   "idle:size=256K,sleep=600000,ops=0,name=sleeper", "-w",
		   "forkstorm:size=128K,rounds=100000000,name=stormy"),
	      -1);
	while (!memchr(r.out, '\n', used) &&
	       (n = read(c.out, r.out + used, sizeof(r.out) - 1 - used)) > 0)
		used += (size_t)n;
	assert_non_null(memchr(r.out, '\n', used)); /* tasks started */
	assert_int_equal(kill(c.pid, sig), 0);
	finish(&c, &r, used);
	assert_int_equal(r.status, want);
	expect_task_end(r.out, "sleeper", "killed");
	expect_task_end(r.out, "stormy", "killed");
	expect_in(r.out, sig == SIGINT ? "interrupted by SIGINT" :
					 "interrupted by SIGTERM");
	expect_in(r.out, "== /proc/vmstat");
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
	static struct result r;
	static char tty[ERR_LEN];
	int quiet;

	(void)state;
	for (quiet = 0; quiet < 2; quiet++) {
		struct child c;
		int master = posix_openpt(O_RDWR | O_NOCTTY), slave;

		assert_true(master >= 0);
		assert_int_equal(grantpt(master), 0);
		assert_int_equal(unlockpt(master), 0);
		slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		assert_true(slave >= 0);
		start(&c,
		      quiet ? ARGS("run", "--no-log", "--quiet", "-w",
				   "seq:size=64K") :
			      ARGS("run", "--no-log", "-w", "seq:size=64K"),
		      slave);
		close(slave);
		finish(&c, &r, 0);
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
	static struct result r;

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
	static struct result r;
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
	static struct result r;

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
		cmocka_unit_test(test_cli_help_complete),
		cmocka_unit_test(test_cli_workloads_both_modes),
		cmocka_unit_test(test_cli_builtin_scenario),
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
