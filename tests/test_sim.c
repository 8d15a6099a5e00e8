/*
 * tests/test_sim.c - the page-replacement simulator: LRU's one-pass
 * miss-ratio curve, the replay through exact mode, Belady's anomaly, and
 * `vmemu sim` itself run as a separate process ($VMEMU, default ./vmemu).
 *
 *  - trace_lru_mrc equals a naive LRU (an array stack, nothing shared)
 *    at every frame count, over random traces (seed printed, SEED=);
 *    and equals trace_replay's misses under the machine's lru;
 *  - published counts through trace_replay: 7 0 1 2 0 3 0 4 2 3 0 3 2 1 2
 *    0 1 7 0 1 with 3 frames: FIFO 15, LRU 12, OPT 9; Belady's string
 *    1 2 3 4 1 2 5 1 2 3 4 5: FIFO 9 with 3 frames, 10 with 4;
 *  - the reference models of --find-anomaly equal the machine request
 *    for request on random strings; the search finds FIFO's anomaly and
 *    none for LRU (a stack algorithm);
 *  - a write after a read of a resident page is no second miss (the
 *    vmtrace write flag reaches the machine without changing counts);
 *  - the CLI: usage errors (one line, status 2, nothing on stdout), a
 *    malformed trace (file:line, 65), the CSV header, the anomaly line,
 *    --mrc, --log into new / vmemu / foreign databases, --find-anomaly.
 *
 * Every policy named here must be in the machine: a refusal fails the
 * test with the reason vm_create gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
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

#include "tests/lib/vmtest.h"
#include "workloads/trace.h"

#define MAXF	16
#define OUT_LEN (1 << 16)

static const uint64_t classic[] = { 7, 0, 1, 2, 0, 3, 0, 4, 2, 3,
				    0, 3, 2, 1, 2, 0, 1, 7, 0, 1 };
static const uint64_t belady[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };

/* Fails unless the machine runs policy in exact mode. */
static void need(const char *policy)
{
	char msg[256];

	if (!trace_policy_available(policy, msg, sizeof(msg)))
		fail_msg("%s: %s", policy, msg);
}

static uint64_t replay(const struct trace *tr, const char *policy,
		       uint64_t frames)
{
	struct trace_run run = { .policy = policy, .frames = frames };

	if (trace_replay(tr, &run))
		fail_msg("replay %s, %llu frames: %s", policy,
			 (unsigned long long)frames, run.msg);
	assert_int_equal(run.requests, tr->nr_requests);
	return run.misses;
}

static uint64_t replay_ids(const uint64_t *ids, size_t n, const char *policy,
			   uint64_t frames)
{
	struct trace tr;
	uint64_t m;

	assert_int_equal(trace_from_ids(ids, n, &tr), 0);
	m = replay(&tr, policy, frames);
	trace_free(&tr);
	return m;
}

/* ---- LRU's curve -------------------------------------------------------- */

/* Naive LRU: stack[0] most recent; misses with f frames. */
static uint64_t naive_lru(const uint64_t *ids, size_t n, uint64_t f)
{
	uint64_t stack[512], misses = 0;
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < used && stack[j] != ids[i]; j++)
			;
		if (j == used) {
			misses++;
			if (used < f)
				used++;
			j = used - 1; /* the LRU one falls off */
		}
		memmove(stack + 1, stack, j * sizeof(stack[0]));
		stack[0] = ids[i];
	}
	return misses;
}

static void random_ids(uint64_t *s, uint64_t *ids, size_t n, uint64_t pages)
{
	uint64_t hot = 1 + vmtest_rand(s) % pages;

	for (size_t i = 0; i < n; i++) /* some locality, some not */
		ids[i] = vmtest_rand(s) % 2 ? vmtest_rand(s) % hot :
					      vmtest_rand(s) % pages;
}

static void test_sim_mrc_equals_naive_lru(void **state)
{
	uint64_t seed = vmtest_seed("test_sim_mrc_equals_naive_lru"), s = seed;
	uint64_t ids[600], misses[513];
	struct trace tr;

	(void)state;
	for (int round = 0; round < 300; round++) {
		size_t n = 1 + vmtest_rand(&s) % 600;
		uint64_t pages = 1 + vmtest_rand(&s) % 200;

		random_ids(&s, ids, n, pages);
		assert_int_equal(trace_from_ids(ids, n, &tr), 0);
		assert_int_equal(trace_lru_mrc(&tr, misses), 0);
		assert_int_equal(misses[0], n);
		for (uint64_t c = 1; c <= tr.nr_pages + 1; c++) {
			uint64_t got =
				misses[c <= tr.nr_pages ? c : tr.nr_pages];

			if (got != naive_lru(ids, n, c))
				fail_msg("seed %llu round %d: %llu frames: "
					 "%llu misses, naive %llu",
					 (unsigned long long)seed, round,
					 (unsigned long long)c,
					 (unsigned long long)got,
					 (unsigned long long)naive_lru(ids, n,
								       c));
		}
		trace_free(&tr);
	}
}

static void test_sim_mrc_equals_replay(void **state)
{
	uint64_t seed = vmtest_seed("test_sim_mrc_equals_replay"), s = seed;
	uint64_t ids[400], misses[401];
	struct trace tr;

	(void)state;
	need("lru");
	for (int round = 0; round < 10; round++) {
		size_t n = 50 + vmtest_rand(&s) % 350;

		random_ids(&s, ids, n, 1 + vmtest_rand(&s) % 60);
		assert_int_equal(trace_from_ids(ids, n, &tr), 0);
		assert_int_equal(trace_lru_mrc(&tr, misses), 0);
		for (uint64_t c = 1; c <= tr.nr_pages; c += 1 + c / 4)
			if (replay(&tr, "lru", c) != misses[c])
				fail_msg("seed %llu round %d: %llu frames: "
					 "replay differs from the curve",
					 (unsigned long long)seed, round,
					 (unsigned long long)c);
		trace_free(&tr);
	}
}

/* ---- published counts and the models ----------------------------------- */

static void test_sim_textbook_counts(void **state)
{
	static const struct {
		const char *policy;
		const uint64_t *ids;
		size_t n;
		uint64_t frames, misses;
	} cases[] = {
		{ "fifo", classic, 20, 3, 15 }, { "lru", classic, 20, 3, 12 },
		{ "opt", classic, 20, 3, 9 },	{ "fifo", belady, 12, 3, 9 },
		{ "fifo", belady, 12, 4, 10 },
	};
	unsigned ran = 0;
	uint64_t m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t refs[20];

		for (size_t j = 0; j < cases[i].n; j++)
			refs[j] = (uint32_t)cases[i].ids[j];
		assert_int_equal(
			trace_model_misses(cases[i].policy, refs, cases[i].n,
					   (unsigned)cases[i].frames, &m),
			0);
		assert_int_equal(m, cases[i].misses);
		need(cases[i].policy);
		assert_int_equal(replay_ids(cases[i].ids, cases[i].n,
					    cases[i].policy, cases[i].frames),
				 cases[i].misses);
		ran++;
	}
	assert_true(ran > 0);
}

static void test_sim_models_equal_machine(void **state)
{
	static const char *const policies[] = { "fifo", "lru", "clock", "lfu",
						"opt" };
	uint64_t seed = vmtest_seed("test_sim_models_equal_machine"), s = seed;
	uint64_t ids[40], m;
	uint32_t refs[40];
	unsigned ran = 0;

	(void)state;
	for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		need(policies[p]);
		ran++;
		for (int round = 0; round < 40; round++) {
			size_t n = 5 + vmtest_rand(&s) % 35;

			random_ids(&s, ids, n, 2 + vmtest_rand(&s) % 7);
			for (size_t i = 0; i < n; i++)
				refs[i] = (uint32_t)ids[i];
			for (unsigned f = 1; f <= 5; f++) {
				trace_model_misses(policies[p], refs, n, f, &m);
				if (replay_ids(ids, n, policies[p], f) != m)
					fail_msg("seed %llu: %s, %u frames: "
						 "machine and model differ",
						 (unsigned long long)seed,
						 policies[p], f);
			}
		}
	}
	assert_true(ran > 0);
}

static void test_sim_anomaly_points(void **state)
{
	static const struct trace_point flat[] = { { 1, 9 },
						   { 2, 9 },
						   { 3, 5 } },
					bumps[] = { { 3, 9 },
						    { 4, 10 },
						    { 5, 5 },
						    { 6, 6 } };
	size_t out[4];

	(void)state;
	assert_int_equal(trace_anomalies(flat, 3, out), 0);
	assert_int_equal(trace_anomalies(bumps, 4, out), 2);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 3);
	assert_int_equal(trace_anomalies(bumps, 1, out), 0);
	assert_int_equal(trace_anomalies(bumps, 0, out), 0);
}

static void test_sim_find_anomaly(void **state)
{
	struct trace_anomaly a = { .policy = "fifo",
				   .seed = 42,
				   .tries = 100000,
				   .max_len = 20,
				   .max_page = 6 };
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(trace_find_anomaly(&a), 1);
	assert_true(a.misses_hi > a.misses_lo);
	assert_int_equal(a.model_disagreed, 0);
	assert_int_equal(
		trace_model_misses("fifo", a.refs, a.len, a.frames, &lo), 0);
	assert_int_equal(trace_model_misses("fifo", a.refs, a.len, a.frames + 1,
					    &hi),
			 0);
	assert_int_equal(lo, a.misses_lo);
	assert_int_equal(hi, a.misses_hi);
	a = (struct trace_anomaly){ .policy = "lru", .seed = 7, .tries = 3000 };
	assert_int_equal(trace_find_anomaly(&a), 0); /* a stack algorithm */
	assert_int_equal(a.tried, 3000);
	a = (struct trace_anomaly){ .policy = "no-such",
				    .seed = 1,
				    .tries = 1 };
	assert_true(trace_find_anomaly(&a) < 0);
	assert_non_null(strstr(a.msg, "no-such"));
}

static void test_sim_write_flag(void **state)
{
	static const char text[] = "R 0x1000\nW 0x1008\nR 0x2000\nW 0x1000\n";
	struct trace_opts o;
	struct trace tr;
	char err[256];

	(void)state;
	need("fifo");
	trace_opts_init(&o);
	o.format = TRACE_VMTRACE;
	assert_int_equal(trace_load_mem("t", text, strlen(text), &o, &tr, err,
					sizeof(err)),
			 0);
	assert_int_equal(replay(&tr, "fifo", 1), 3); /* a a b a */
	assert_int_equal(replay(&tr, "fifo", 2), 2);
	trace_free(&tr);
}

static void test_sim_parallel_runs(void **state)
{
	uint64_t seed = vmtest_seed("test_sim_parallel_runs"), s = seed;
	struct trace_run runs[12];
	uint64_t ids[3000];
	struct trace tr;

	(void)state;
	need("fifo");
	random_ids(&s, ids, 3000, 300);
	assert_int_equal(trace_from_ids(ids, 3000, &tr), 0);
	for (unsigned i = 0; i < 12; i++)
		runs[i] = (struct trace_run){ .policy = i % 2 ? "fifo" : "lru",
					      .frames = 10 + 20 * i };
	need("lru");
	assert_int_equal(trace_replay_all(&tr, runs, 12, 3), 0);
	for (unsigned i = 0; i < 12; i++)
		assert_int_equal(runs[i].misses,
				 replay(&tr, runs[i].policy, runs[i].frames));
	runs[0] = (struct trace_run){ .policy = "no-such", .frames = 3 };
	assert_int_equal(trace_replay_all(&tr, runs, 1, 0), 1);
	assert_int_equal(runs[0].err, -EINVAL);
	assert_non_null(strstr(runs[0].msg, "no-such"));
	trace_free(&tr);
}

/* ---- the command ---------------------------------------------------------- */

struct result {
	int status;
	char out[OUT_LEN];
	char err[OUT_LEN];
};

static const char *vmemu(void)
{
	return getenv("VMEMU") ? getenv("VMEMU") : "./vmemu";
}

static void slurp(int fd, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;

	while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
}

/* Run vmemu with args (NULL-terminated); out/err to temporary files. */
static void run(struct result *r, const char *const *args)
{
	char *argv[32];
	FILE *out = tmpfile(), *err = tmpfile();
	size_t n = 0;
	pid_t pid;
	int st;

	assert_true(out && err);
	argv[n++] = (char *)(uintptr_t)vmemu();
	while (args[n - 1] && n < 31) {
		argv[n] = (char *)(uintptr_t)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		execv(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
	lseek(fileno(out), 0, SEEK_SET);
	lseek(fileno(err), 0, SEEK_SET);
	slurp(fileno(out), r->out, sizeof(r->out));
	slurp(fileno(err), r->err, sizeof(r->err));
	fclose(out);
	fclose(err);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' not in:\n%s", needle, hay);
}

/* Status 2 (or want), one line on stderr holding needle, no stdout. */
static void expect_refused(struct result *r, int want, const char *needle)
{
	if (r->status != want)
		fail_msg("status %d, not %d; stderr: %s", r->status, want,
			 r->err);
	expect_in(r->err, needle);
	assert_int_equal(strchr(r->err, '\n') - r->err + 1,
			 (long)strlen(r->err));
	assert_string_equal(r->out, "");
}

static char dir[] = "/tmp/vmemu-test-sim-XXXXXX";

static const char *file(const char *name, const char *text)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];
	FILE *f;

	snprintf(p, 256, "%s/%s", dir, name);
	if (text) {
		f = fopen(p, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	return p;
}

static int setup_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct result res;

static void test_sim_cli_usage(void **state)
{
	const char *t = file("u.txt", "1\n2\n");
	static const struct {
		const char *args[8];
		const char *needle;
	} cases[] = {
		{ { "sim", "--bogus", NULL }, "unknown option '--bogus'" },
		{ { "sim", "--frames", "3", NULL }, "needs a TRACE" },
		{ { "sim", "T", NULL }, "needs --frames" },
		{ { "sim", "--frames", "0", "T", NULL }, "'0' is not N" },
		{ { "sim", "--frames", "5-3", "T", NULL }, "'5-3'" },
		{ { "sim", "--frames", "2,,3", "T", NULL }, "empty item" },
		{ { "sim", "--frames", "3:2", "T", NULL }, "'3:2'" },
		{ { "sim", "--frames", "x%", "T", NULL }, "'x%'" },
		{ { "sim", "--format", "xml", "--mrc", "T", NULL },
		  "'xml' is not one of" },
		{ { "sim", "--policy", "lru,lru", "--mrc", "T", NULL },
		  "'lru' twice" },
		{ { "sim", "--find-anomaly", "fifo", "T", NULL },
		  "takes no TRACE" },
		{ { "sim", "--seed", "3", "--mrc", "T", NULL },
		  "go with --find-anomaly" },
		{ { "sim", "--mrc", "--policy", "lru", "/nonexistent/t.txt",
		    NULL },
		  "cannot open" },
		{ { "sim", "--frames", "3", "--policy", "no-such", "T", NULL },
		  "no-such" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[8] = { 0 };

		for (size_t j = 0; cases[i].args[j]; j++)
			args[j] = strcmp(cases[i].args[j], "T") ?
					  cases[i].args[j] :
					  t;
		run(&res, args);
		expect_refused(&res, 2, cases[i].needle);
	}
}

static void test_sim_cli_malformed_trace(void **state)
{
	const char *bad = file("bad.txt", "1\n2\nthree\n");
	const char *empty = file("empty.txt", "");
	char want[300];

	(void)state;
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", bad));
	snprintf(want, sizeof(want), "%s:3: 'three' is not", bad);
	expect_refused(&res, 65, want);
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", empty));
	expect_refused(&res, 65, "no requests");
}

static void test_sim_cli_csv_and_mrc(void **state)
{
	const char *t = file("classic.txt", "7\n0\n1\n2\n0\n3\n0\n4\n2\n3\n0\n"
					    "3\n2\n1\n2\n0\n1\n7\n0\n1\n");

	(void)state;
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", "--csv", t));
	assert_int_equal(res.status, 0);
	assert_memory_equal(res.out,
			    "policy,frames,requests,misses,miss_ratio,"
			    "seconds,",
			    46);
	expect_in(res.out, "\nlru,3,20,12,0.600000,");
	expect_in(res.out, "\nlru,6,20,6,0.300000,"); /* 6 distinct pages */
	assert_null(strstr(res.out, "\nlru,7,"));
	run(&res,
	    ARGS("sim", "--mrc", "--policy", "lru", "--frames", "3,50%", t));
	assert_int_equal(res.status, 0);
	expect_in(res.out, "exact replacement");
	expect_in(res.out, "stack");
}

static void test_sim_cli_anomaly(void **state)
{
	const char *t = file("belady.txt", "1\n2\n3\n4\n1\n2\n5\n1\n2\n3\n4\n5"
					   "\n");

	(void)state;
	need("fifo");
	run(&res, ARGS("sim", "--policy", "fifo", "--frames", "1-5", t));
	assert_int_equal(res.status, 0);
	expect_in(res.out, "FIFO: 4 frames 10 misses > 3 frames 9 misses\n");
	run(&res,
	    ARGS("sim", "--policy", "fifo", "--frames", "3-4", "--csv", t));
	assert_int_equal(res.status, 0);
	expect_in(res.out, "\nfifo,4,12,10,0.833333,");
	expect_in(res.out, ",exact,replay,1\n");
	expect_in(res.err, "FIFO: 4 frames 10 misses > 3 frames 9 misses");
	run(&res, ARGS("sim", "--find-anomaly", "fifo", "--seed", "42"));
	assert_int_equal(res.status, 0);
	expect_in(res.out, "seed 42");
	expect_in(res.out, "FIFO: ");
	expect_in(res.out, "counts from the machine");
}

/* ---- --log ------------------------------------------------------------- */

static int64_t sql_int(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void sha256sum(const char *path, char *hex)
{
	char cmd[300];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%64s", hex), 1);
	pclose(p);
}

static void test_sim_cli_log_new_and_append(void **state)
{
	const char *t = file("log.txt", "1\n2\n3\n1\n4\n1\n");
	const char *db = file("new.db", NULL);
	char hex[65], sql[200];

	(void)state;
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", "--log", db, t));
	assert_int_equal(res.status, 0);
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", "--frames", "2",
		       "--log", db, t));
	assert_int_equal(res.status, 0);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM sim_runs"), 2);
	assert_int_equal(sql_int(db, "SELECT max(sim_id) FROM sim_runs"), 2);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM sim_results "
				     "WHERE sim_id = 1"),
			 4); /* 4 distinct pages: frames 1..4 */
	assert_int_equal(sql_int(db, "SELECT misses FROM sim_results "
				     "WHERE sim_id = 2"),
			 5);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM sim_mrc "
				     "WHERE sim_id = 2 AND policy = 'lru'"),
			 4); /* the whole curve, whatever --frames printed */
	assert_int_equal(sql_int(db, "PRAGMA application_id"), 0x766d656d);
	sha256sum(t, hex);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM sim_runs WHERE trace_sha256 = '%s' "
		 "AND trace_name = 'log.txt' AND mode = 'exact'",
		 hex);
	assert_int_equal(sql_int(db, sql), 2);
	run(&res, ARGS("query", db,
		       "SELECT policy, frames, misses FROM "
		       "sim_results WHERE sim_id = 2"));
	assert_int_equal(res.status, 0);
	expect_in(res.out, "lru|2|5");
}

static void test_sim_cli_log_into_event_log(void **state)
{
	const char *t = file("ev.txt", "1\n2\n1\n");
	const char *db = file("ev.db", NULL);
	struct vm_config cfg;
	struct vm *vm;
	char e[256];

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 4 << 20;
	cfg.log_path = db;
	vm = vm_create(&cfg, e, sizeof(e));
	if (!vm)
		fail_msg("vm_create: %s", e);
	vm_destroy(vm);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 1);
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", "--log", db, t));
	assert_int_equal(res.status, 0);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM sim_runs"), 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM "
				     "pragma_integrity_check WHERE "
				     "integrity_check = 'ok'"),
			 1);
	/* And the event log still takes runs after ours. */
	vm = vm_create(&cfg, e, sizeof(e));
	if (!vm)
		fail_msg("vm_create after sim: %s", e);
	vm_destroy(vm);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 2);
}

static void file_bytes(const char *path, char *buf, size_t len, size_t *n)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	*n = (size_t)read(fd, buf, len);
	close(fd);
}

static void test_sim_cli_log_refuses_foreign(void **state)
{
	const char *t = file("f.txt", "1\n2\n");
	const char *db = file("foreign.db", NULL);
	const char *junk = file("junk.db", "not a database at all\n");
	char before[8192], after[8192];
	size_t nb, na;
	sqlite3 *h;

	(void)state;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
				      "CREATE TABLE mine (x); INSERT INTO "
				      "mine VALUES (1)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	file_bytes(db, before, sizeof(before), &nb);
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", "--log", db, t));
	expect_refused(&res, 2, "not a vmemu database");
	file_bytes(db, after, sizeof(after), &na);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	assert_int_equal(access(file("foreign.db-journal", NULL), F_OK), -1);
	run(&res, ARGS("sim", "--mrc", "--policy", "lru", "--log", junk, t));
	expect_refused(&res, 2, "not a SQLite database");
	file_bytes(junk, after, sizeof(after), &na);
	assert_int_equal(na, strlen("not a database at all\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_mrc_equals_naive_lru),
		cmocka_unit_test(test_sim_mrc_equals_replay),
		cmocka_unit_test(test_sim_textbook_counts),
		cmocka_unit_test(test_sim_models_equal_machine),
		cmocka_unit_test(test_sim_anomaly_points),
		cmocka_unit_test(test_sim_find_anomaly),
		cmocka_unit_test(test_sim_write_flag),
		cmocka_unit_test(test_sim_parallel_runs),
		cmocka_unit_test(test_sim_cli_usage),
		cmocka_unit_test(test_sim_cli_malformed_trace),
		cmocka_unit_test(test_sim_cli_csv_and_mrc),
		cmocka_unit_test(test_sim_cli_anomaly),
		cmocka_unit_test(test_sim_cli_log_new_and_append),
		cmocka_unit_test(test_sim_cli_log_into_event_log),
		cmocka_unit_test(test_sim_cli_log_refuses_foreign),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
