/*
 * tests/test_leaks.c - the leak report of the emulated C library
 * (umalloc_leaks, umalloc_report_leaks) and its rows in the event log
 * (vm_log_leaks, the `leaks` table).
 *
 * The expected figures are computed here from the block format alone
 * (umalloc.h: a brk block is the request plus 16 bytes of tags, rounded
 * up to 16, at least 32; a chunk is the request plus its 32-byte header,
 * rounded up to pages), never taken from the allocator: a known sequence
 * gives exact counts, bytes and the largest blocks in order; freeing
 * everything gives zero; the log holds the same numbers, and a version-2
 * log file gains the table by migration.
 *
 * Task functions never assert: they record, the main thread checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tests/lib/vmtest.h"
#include "user/umalloc.h"

#define MEM  (64ULL << 20)
#define PAGE VM_PAGE_SIZE
#define NREQ 8

static char db[64];

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

/* The model: bytes a request is granted (brk block or mmapped chunk). */
static uint64_t granted(uint64_t n, bool mmapped)
{
	uint64_t b = round_up(n + 16, 16);

	return mmapped ? round_up(n + 32, PAGE) : (b < 32 ? 32 : b);
}

struct leak_run {
	enum umalloc_policy policy;
	size_t req[NREQ]; /* 0 ends the list */
	bool keep[NREQ];  /* not freed before exit */
	uint64_t va[NREQ];
	struct vm_leaks lk;
	struct umalloc_stats st;
	int rc;
	int pid;
};

static int leak_task(struct vm_task *t, void *arg)
{
	struct leak_run *r = arg;
	struct umalloc_heap *h;
	int err = umalloc_heap_create(t, r->policy, &h);

	if (err)
		return 80;
	r->pid = vm_getpid(t);
	for (unsigned i = 0; i < NREQ && r->req[i]; i++)
		if (!(r->va[i] = umalloc(h, r->req[i])))
			return 81;
	for (unsigned i = 0; i < NREQ && r->req[i]; i++)
		if (!r->keep[i])
			ufree(h, r->va[i]);
	umalloc_stats(h, &r->st);
	r->rc = umalloc_report_leaks(h, &r->lk);
	umalloc_heap_destroy(h);
	return 0;
}

static void run(struct leak_run *r, const char *log)
{
	struct vm_config cfg;
	struct vm *vm;
	struct vm_exit ex;
	int pid;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = MEM;
	cfg.log_path = log;
	vm = vmtest_create_cfg(&cfg);
	pid = vm_spawn(vm, "leaky", 0, leak_task, r);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	vmtest_destroy(vm);
}

static void test_leaks_known_sequence(void **state)
{
	/* malloc 1, 100, 1000, 200 KiB (mmapped: >= 128 KiB), 7; free 100. */
	struct leak_run r = {
		.policy = UMALLOC_FIRST_FIT,
		.req = { 1, 100, 1000, 200 << 10, 7 },
		.keep = { true, false, true, true, true },
	};
	uint64_t want_bytes = 1 + 1000 + (200 << 10) + 7;
	uint64_t want_granted = granted(1, false) + granted(1000, false) +
				granted(200 << 10, true) + granted(7, false);

	(void)state;
	run(&r, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(r.lk.blocks == 4);
	assert_true(r.lk.nbytes == want_bytes);
	assert_true(r.lk.granted == want_granted);
	/* The same memory as the allocator's own counters. */
	assert_true(r.lk.blocks == r.st.live_blocks);
	assert_true(r.lk.nbytes == r.st.live_requested);
	assert_true(r.lk.granted == r.st.live_granted);
	/* Largest first: 200 KiB (mmapped), 1000, 7, 1. */
	assert_int_equal(r.lk.ntop, 4);
	assert_true(r.lk.top[0].nbytes == 200 << 10 && r.lk.top[0].mmapped);
	assert_true(r.lk.top[0].va == r.va[3]);
	assert_true(r.lk.top[0].granted == granted(200 << 10, true));
	assert_true(r.lk.top[1].nbytes == 1000 && r.lk.top[1].va == r.va[2]);
	assert_true(r.lk.top[1].granted == 1024 && !r.lk.top[1].mmapped);
	assert_true(r.lk.top[2].nbytes == 7 && r.lk.top[2].va == r.va[4]);
	assert_true(r.lk.top[3].nbytes == 1 && r.lk.top[3].va == r.va[0]);
	assert_true(r.lk.top[3].granted == 32);
}

static void test_leaks_none_after_freeing_all(void **state)
{
	struct leak_run r = { .policy = UMALLOC_SEGREGATED,
			      .req = { 1, 1 << 10, 1 << 20, 64, 5000 } };

	(void)state;
	run(&r, NULL);
	assert_int_equal(r.rc, 0);
	assert_true(r.lk.blocks == 0 && r.lk.nbytes == 0 && r.lk.granted == 0);
	assert_int_equal(r.lk.ntop, 0);
}

static void test_leaks_top_is_the_largest_few(void **state)
{
	/* Eight leaks; the two 300s tie (lower address first); the five
	 * largest are listed. */
	struct leak_run r = {
		.policy = UMALLOC_BEST_FIT,
		.req = { 10, 300, 20, 500, 300, 40, 400, 30 },
		.keep = { true, true, true, true, true, true, true, true },
	};
	static const uint64_t want[] = { 500, 400, 300, 300, 40 };

	(void)state;
	run(&r, NULL);
	assert_true(r.lk.blocks == NREQ);
	assert_true(r.lk.nbytes == 10 + 300 + 20 + 500 + 300 + 40 + 400 + 30);
	assert_int_equal(r.lk.ntop, VM_LEAKS_TOP);
	for (unsigned i = 0; i < VM_LEAKS_TOP; i++)
		assert_true(r.lk.top[i].nbytes == want[i]);
	assert_true(r.lk.top[2].va == r.va[1] && r.lk.top[3].va == r.va[4]);
}

/* ---- the log ------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	vmtest_db_path(db, sizeof(db), "test_leaks");
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

static void test_leaks_log_rows(void **state)
{
	struct leak_run r = {
		.policy = UMALLOC_FIRST_FIT,
		.req = { 1, 100, 1000, 200 << 10, 7 },
		.keep = { true, false, true, true, true },
	};
	char sql[256];
	sqlite3 *h;

	(void)state;
	run(&r, db);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(q1(h, "PRAGMA user_version"), 3);
	assert_int_equal(q1(h, "SELECT count(*) FROM leaks"), 1);
	snprintf(sql, sizeof(sql), "SELECT pid FROM leaks");
	assert_int_equal(q1(h, sql), r.pid);
	assert_true(q1(h, "SELECT blocks FROM leaks") == (int64_t)r.lk.blocks);
	assert_true(q1(h, "SELECT bytes FROM leaks") == (int64_t)r.lk.nbytes);
	assert_true(q1(h, "SELECT granted_bytes FROM leaks") ==
		    (int64_t)r.lk.granted);
	assert_int_equal(q1(h, "SELECT json_array_length(largest) FROM leaks"),
			 4);
	assert_int_equal(q1(h, "SELECT json_extract(largest, '$[0].bytes')"
			       " FROM leaks"),
			 200 << 10);
	assert_int_equal(q1(h, "SELECT json_extract(largest, '$[0].mmapped')"
			       " FROM leaks"),
			 1);
	snprintf(sql, sizeof(sql),
		 "SELECT json_extract(largest, '$[1].va') = %llu FROM leaks",
		 (unsigned long long)r.va[2]);
	assert_int_equal(q1(h, sql), 1);
	/* The row belongs to the run and follows the task's start. */
	assert_int_equal(q1(h, "SELECT count(*) FROM leaks l JOIN tasks t"
			       " ON t.run_id = l.run_id AND t.pid = l.pid"
			       " WHERE l.seq >= t.seq"),
			 1);
	sqlite3_close(h);
}

static void test_leaks_table_by_migration(void **state)
{
	struct leak_run r = { .policy = UMALLOC_FIRST_FIT,
			      .req = { 5 },
			      .keep = { true } };
	sqlite3 *h;

	(void)state;
	run(&r, db);
	/* Make it a version-2 file: no leaks table. */
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h,
				      "DROP TABLE leaks;"
				      " PRAGMA user_version = 2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
	run(&r, db);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(q1(h, "PRAGMA user_version"), 3);
	assert_int_equal(q1(h, "SELECT count(*) FROM runs"), 2);
	assert_int_equal(q1(h, "SELECT count(*) FROM leaks"), 1);
	assert_int_equal(q1(h, "SELECT bytes FROM leaks"), 5);
	sqlite3_close(h);
}

static int bad_task(struct vm_task *t, void *arg)
{
	struct vm_leaks lk = { .ntop = VM_LEAKS_TOP + 1 };

	(void)arg;
	if (vm_log_leaks(t, &lk) != -EINVAL || vm_log_leaks(t, NULL) != -EINVAL)
		return 1;
	lk.ntop = 0; /* no log on this machine: nothing to do */
	return vm_log_leaks(t, &lk) == 0 ? 0 : 2;
}

static void test_leaks_log_refuses_bad_reports(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	struct vm_exit ex;
	int pid = vm_spawn(vm, "bad", 0, bad_task, NULL);

	(void)state;
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.code, 0);
	vmtest_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_leaks_known_sequence),
		VMTEST(test_leaks_none_after_freeing_all),
		VMTEST(test_leaks_top_is_the_largest_few),
		cmocka_unit_test_setup_teardown(test_leaks_log_rows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_leaks_table_by_migration,
						setup, teardown),
		VMTEST(test_leaks_log_refuses_bad_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
