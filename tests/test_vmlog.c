/*
 * tests/test_vmlog.c - the machine's event log end to end: after a run
 * under pressure (faults, reclaim, swap, an OOM kill, forks, exits), for
 * every event kind the rows in `events` equal its counter, the last
 * `vmstat` row equals vm_stat(), every task has its row with its exit
 * reason, the runs row holds the configuration; a selected subset of kinds
 * logs only those; a file that is not a vmemu log is refused by vm_create
 * and left as it was; many runs append to one file.
 */
#include <errno.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#define PAGE 4096ULL
#define MiB  (1ULL << 20)
#define RW   (VM_PROT_READ | VM_PROT_WRITE)
#define ANON (VM_MAP_PRIVATE | VM_MAP_ANON)

static char db[64];

static int setup(void **state)
{
	(void)state;
	vmtest_db_path(db, sizeof(db), "test_vmlog");
	return 0;
}

static int teardown(void **state)
{
	vmtest_teardown(state);
	vmtest_db_remove(db);
	return 0;
}

static int64_t q1(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static sqlite3 *open_db(void)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	return h;
}

static int child_fn(struct vm_task *t, void *arg)
{
	uint64_t a = *(uint64_t *)arg;
	uint8_t b = 9;

	for (uint64_t i = 0; i < 256; i++)
		if (vm_write(t, a + i * PAGE, &b, 1))
			return 1;
	return 0;
}

/* Writes n pages, forks a child that writes some, touches more. */
static int busy_fn(struct vm_task *t, void *arg)
{
	uint64_t n = *(uint64_t *)arg, a = vm_mmap(t, 0, n * PAGE, RW, ANON);
	struct vm_exit ex;
	uint8_t b = 1;
	int pid;

	for (uint64_t i = 0; i < n; i++)
		if (vm_write(t, a + i * PAGE, &b, 1))
			return 1;
	pid = vm_fork(t, child_fn, &a);
	if (pid < 0)
		return 2;
	for (uint64_t i = 0; i < n; i++)
		if (vm_read(t, a + i * PAGE, &b, 1))
			return 1;
	return vm_wait(vmtest_task_vm(t), pid, &ex) == pid ? 0 : 3;
}

static int hog_fn(struct vm_task *t, void *arg)
{
	uint64_t a = vm_mmap(t, 0, 256 * MiB, RW, ANON);
	uint8_t b = 1;

	(void)arg;
	for (uint64_t i = 0;; i++)
		vm_write(t, a + i * PAGE, &b, 1); /* until the OOM killer */
	return 0;
}

/* Rows of each kind equal its counter; the last vmstat row = vm_stat. */
static void test_vmlog_events_equal_counters(void **state)
{
	struct vm_config cfg;
	struct vm_stat st;
	struct vm_exit ex;
	struct vm *vm;
	uint64_t n = 2200; /* 8.6 MiB: more than RAM even alone - swap-ins */
	sqlite3 *h;
	char sql[256];
	int pid[3];

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.swap_bytes = 32 * MiB; /* room for both: only the hog is killed */
	cfg.kswapd = false; /* all reclaim on task threads: quiet once done */
	cfg.log_path = db;
	cfg.log_sample_ms = 10;
	cfg.log_cmdline = "test_vmlog --pressure";
	vm = vmtest_create_cfg(&cfg);
	pid[0] = vm_spawn(vm, "busy", 0, busy_fn, &n);
	pid[1] = vm_spawn(vm, "busy", 0, busy_fn, &n);
	assert_int_equal(vm_wait(vm, pid[0], &ex), pid[0]);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_int_equal(vm_wait(vm, pid[1], &ex), pid[1]);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	pid[2] = vm_spawn(vm, "hog", 0, hog_fn, NULL);
	assert_int_equal(vm_wait(vm, pid[2], &ex), pid[2]);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	vm_stat(vm, &st);
	vm_set_exit_status(vm, 7);
	vmtest_destroy(vm);
	if (!(st.pswpout > 0 && st.pswpin > 0 && st.oom_kill == 1))
		fail_msg("pswpout %llu pswpin %llu oom_kill %llu",
			 (unsigned long long)st.pswpout,
			 (unsigned long long)st.pswpin,
			 (unsigned long long)st.oom_kill);
	h = open_db();
	/* Each counter that is an event kind: its rows, and vmstat's. */
	static const char *const kinds[][2] = {
		{ "anon_fault", "vmemu_anon_fault" },
		{ "zero_page_map", "vmemu_zero_page_map" },
		{ "cow_fault", "vmemu_cow_fault" },
		{ "cow_reuse", "vmemu_cow_reuse" },
		{ "pswpin", "pswpin" },
		{ "pswpout", "pswpout" },
		{ "evict", "vmemu_evict" },
		{ "swapin_fault", "vmemu_swapin_fault" },
		{ "allocstall_normal", "allocstall_normal" },
		{ "direct_reclaim_end", "vmemu_direct_reclaim_end" },
		{ "pgactivate", "pgactivate" },
		{ "pgdeactivate", "pgdeactivate" },
		{ "workingset_refault_anon", "workingset_refault_anon" },
		{ "oom_kill", "oom_kill" },
		{ "task_spawn", "vmemu_task_spawn" },
		{ "task_fork", "vmemu_task_fork" },
		{ "task_exit", "vmemu_task_exit" },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int64_t rows, counter;

		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM events e JOIN event_kinds k ON "
			 "k.kind = e.kind AND k.run_id = e.run_id WHERE "
			 "k.name = '%s'",
			 kinds[i][0]);
		rows = q1(h, sql);
		snprintf(sql, sizeof(sql),
			 "SELECT \"%s\" FROM vmstat ORDER BY seq DESC LIMIT 1",
			 kinds[i][1]);
		counter = q1(h, sql);
		if (rows != counter ||
		    (strstr(",anon_fault,cow_fault,pswpin,pswpout,evict,"
			    "oom_kill,task_fork,",
			    kinds[i][0]) &&
		     rows <= 0))
			fail_msg("%s: %lld rows, counter %lld", kinds[i][0],
				 (long long)rows, (long long)counter);
	}
	/* The last vmstat row is vm_stat() at the end. */
	assert_int_equal(q1(h, "SELECT pgfault FROM vmstat ORDER BY seq DESC "
			       "LIMIT 1"),
			 (int64_t)st.pgfault);
	assert_int_equal(q1(h, "SELECT pswpout FROM vmstat ORDER BY seq DESC "
			       "LIMIT 1"),
			 (int64_t)st.pswpout);
	assert_true(q1(h, "SELECT count(*) FROM vmstat") > 1);
	assert_true(q1(h, "SELECT count(*) FROM psi") > 1);
	/* Tasks: two busy, two children, one hog; the hog OOM-killed. */
	assert_int_equal(q1(h, "SELECT count(*) FROM tasks"), 5);
	assert_int_equal(q1(h, "SELECT count(*) FROM tasks WHERE exit_reason "
			       "= 'oom_killed'"),
			 1);
	assert_int_equal(q1(h, "SELECT count(*) FROM tasks WHERE exit_reason "
			       "IS NULL"),
			 0);
	assert_int_equal(q1(h, "SELECT count(*) FROM oom_kills"), 1);
	assert_true(q1(h, "SELECT count(*) FROM oom_candidates") >= 1);
	assert_int_equal(q1(h, "SELECT exit_status FROM runs"), 7);
	assert_int_equal(q1(h, "SELECT count(*) FROM runs WHERE cmdline = "
			       "'test_vmlog --pressure' AND config_json LIKE "
			       "'%\"swap_bytes\":33554432%'"),
			 1);
	sqlite3_close(h);
}

/* Only the kinds asked for are logged; counters still count them all. */
static void test_vmlog_selected_kinds(void **state)
{
	struct vm_config cfg;
	struct parked p;
	struct vm *vm;
	sqlite3 *h;
	uint64_t a;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.log_path = db;
	cfg.log_events = "task_spawn, task_exit";
	vm = vmtest_create_cfg(&cfg);
	assert_true(park_spawn(vm, &p, "t") > 0);
	a = vm_mmap(p.t, 0, 64 * PAGE, RW, ANON);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(vmtest_store(p.t, a + i * PAGE, 1), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
	h = open_db();
	assert_int_equal(q1(h, "SELECT count(*) FROM events"), 2);
	assert_int_equal(q1(h, "SELECT vmemu_anon_fault FROM vmstat ORDER BY "
			       "seq DESC LIMIT 1"),
			 64);
	sqlite3_close(h);
	/* An unknown kind: vm_create says which, and lists them. */
	{
		char err[512];

		cfg.log_events = "no_such_kind";
		assert_null(vm_create(&cfg, err, sizeof(err)));
		assert_non_null(strstr(err, "no_such_kind"));
	}
}

/* A file that is not a vmemu log is refused, and left byte for byte. */
static void test_vmlog_foreign_file_refused(void **state)
{
	static const char junk[] = "not a database at all\n";
	struct vm_config cfg;
	struct stat s0, s1;
	char err[512], back[64] = "";
	FILE *f = fopen(db, "w");

	(void)state;
	assert_non_null(f);
	fputs(junk, f);
	fclose(f);
	assert_int_equal(stat(db, &s0), 0);
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.log_path = db;
	assert_null(vm_create(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, db));
	assert_int_equal(stat(db, &s1), 0);
	assert_int_equal(s1.st_size, s0.st_size);
	f = fopen(db, "r");
	assert_non_null(fgets(back, sizeof(back), f));
	fclose(f);
	assert_string_equal(back, junk);
}

/* Runs append: one file, two runs, each with its own rows. */
static void test_vmlog_runs_append(void **state)
{
	struct vm_config cfg;
	struct parked p;
	sqlite3 *h;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.log_path = db;
	for (int run = 0; run < 2; run++) {
		struct vm *vm = vmtest_create_cfg(&cfg);

		assert_true(park_spawn(vm, &p, "t") > 0);
		assert_int_equal(park_release(&p, NULL), p.pid);
		vmtest_destroy(vm);
	}
	h = open_db();
	assert_int_equal(q1(h, "SELECT count(*) FROM runs"), 2);
	assert_int_equal(q1(h, "SELECT count(DISTINCT run_id) FROM tasks"), 2);
	sqlite3_close(h);
}

int main(void)
{
#define LOG_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		LOG_TEST(test_vmlog_events_equal_counters),
		LOG_TEST(test_vmlog_selected_kinds),
		LOG_TEST(test_vmlog_foreign_file_refused),
		LOG_TEST(test_vmlog_runs_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
