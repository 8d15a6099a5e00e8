/*
 * tests/test_oom.c - the OOM killer's choice in worked cases, through the
 * public API, with every decision checked against the rule computed here
 * from the candidates' own numbers (the oom_candidates rows of the event
 * log): points = rss + swapents + pgtables_bytes / 4096 + oom_score_adj *
 * (totalpages / 1000), exempt at -1000, the highest wins and a later task
 * wins a tie.  Plus the kernel's report (the sink), /proc/PID/oom_score
 * and status, vm_set_oom_score_adj, panic_on_oom and
 * oom_kill_allocating_task, and event counts that equal the counters.
 *
 * Each case: parked tasks hold chosen amounts of memory (trace mode, no
 * swap unless the case needs swap entries), then a hog allocates until the
 * killer runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#define PAGE	 4096ULL
#define MiB	 (1ULL << 20)
#define RW	 (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	 (VM_MAP_PRIVATE | VM_MAP_ANON)
#define MAXTASKS 8

static char db[64];
static char report[1 << 16];

static void sink(void *arg, const char *text)
{
	(void)arg;
	snprintf(report + strlen(report), sizeof(report) - strlen(report), "%s",
		 text);
}

static int setup(void **state)
{
	(void)state;
	vmtest_db_path(db, sizeof(db), "test_oom");
	report[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	vmtest_teardown(state);
	vmtest_db_remove(db); /* and its -wal and -shm */
	return 0;
}

static struct vm *machine(uint64_t mem, uint64_t swap)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = mem;
	cfg.swap_bytes = swap;
	cfg.kswapd = false;
	cfg.min_free_kbytes = 64;
	cfg.log_path = db;
	cfg.oom_report = sink;
	return vmtest_create_cfg(&cfg);
}

/* A parked task holding npages written pages (and its adj); their va. */
static uint64_t holder(struct vm *vm, struct parked *p, const char *name,
		       uint64_t npages, int adj)
{
	uint64_t a;

	assert_true(park_spawn(vm, p, name) > 0);
	assert_int_equal(vm_set_oom_score_adj(vm, p->pid, adj), 0);
	a = vm_mmap(p->t, 0, npages * PAGE, RW, ANON);
	for (uint64_t i = 0; i < npages; i++)
		assert_int_equal(vmtest_store(p->t, a + i * PAGE, 1), 0);
	return a;
}

/* The hog allocates until the killer runs; true if the hog died. */
static bool hog_until_oom(struct vm *vm, struct parked *hog)
{
	struct vm_stat st;
	uint64_t a, before;

	vm_stat(vm, &st);
	before = st.oom_kill;
	a = vm_mmap(hog->t, 0, 64 * MiB, RW, ANON);
	for (uint64_t i = 0;; i++) {
		int rc = vmtest_store(hog->t, a + i * PAGE, 1);

		vm_stat(vm, &st);
		if (rc)
			return true;
		if (st.oom_kill > before)
			return false;
	}
}

/* The rule, from the log: every decision's chosen row is the argmax. */
static void check_decisions(void)
{
	const char *sql =
		"SELECT k.oom_id, k.totalpages, c.pid, c.rss, c.swapents, "
		"c.pgtables_bytes, c.oom_score_adj, c.points, c.chosen, "
		"k.victim_pid FROM oom_kills k JOIN oom_candidates c USING "
		"(oom_id) ORDER BY k.oom_id, c.rowid";
	sqlite3 *h;
	sqlite3_stmt *st;
	long long cur = -1, best = 0, best_pid = -1, victim = -1;
	unsigned rows = 0;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	for (;;) {
		int rc = sqlite3_step(st);
		long long id, total, pid, adj, want;
		bool exempt;

		if (rc != SQLITE_ROW || sqlite3_column_int64(st, 0) != cur) {
			if (cur >= 0) /* the previous decision is complete */
				assert_int_equal(best_pid, victim);
			if (rc != SQLITE_ROW)
				break;
			cur = sqlite3_column_int64(st, 0);
			best_pid = -1;
			best = 0;
		}
		rows++;
		id = cur;
		total = sqlite3_column_int64(st, 1);
		pid = sqlite3_column_int64(st, 2);
		adj = sqlite3_column_int64(st, 6);
		victim = sqlite3_column_type(st, 9) == SQLITE_NULL ?
				 -1 :
				 sqlite3_column_int64(st, 9);
		exempt = sqlite3_column_type(st, 7) == SQLITE_NULL;
		(void)id;
		if (exempt) {
			assert_false(sqlite3_column_int(st, 8));
			continue;
		}
		want = sqlite3_column_int64(st, 3) +
		       sqlite3_column_int64(st, 4) +
		       sqlite3_column_int64(st, 5) / (long long)PAGE +
		       adj * (total / 1000);
		assert_int_equal(sqlite3_column_int64(st, 7), want);
		if (best_pid < 0 || want >= best) {
			best = want;
			best_pid = pid;
		}
	}
	assert_true(rows > 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* The pid the log says the i-th decision chose (-1: none). */
static long long victim_of(int i)
{
	char sql[128];
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -2;

	snprintf(sql, sizeof(sql),
		 "SELECT victim_pid FROM oom_kills ORDER BY oom_id LIMIT 1 "
		 "OFFSET %d",
		 i);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ?
			    -1 :
			    sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void finish(struct vm *vm)
{
	vmtest_destroy(vm);
	check_decisions();
}

/* A small task with a large adj outweighs a bigger one. */
static void test_oom_adj_outweighs_size(void **state)
{
	struct vm *vm = machine(8 * MiB, 0); /* 2048 pages: 2 per adj */
	struct parked a, b, hog;
	struct vm_exit ex;

	(void)state;
	holder(vm, &a, "small", 100, 1000);
	holder(vm, &b, "big", 1200, 0);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_false(hog_until_oom(vm, &hog)); /* the hog goes on */
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	assert_int_equal(park_release(&b, &ex), b.pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(park_release(&hog, &ex), hog.pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	finish(vm); /* the reports are published by now */
	assert_int_equal(victim_of(0), a.pid);
	assert_non_null(strstr(report, "Out of memory: Killed process"));
	/* 400 KiB of data and the 128 KiB stack VMA */
	assert_non_null(strstr(report,
			       "(small) total-vm:528kB, anon-rss:400kB, "
			       "file-rss:0kB, shmem-rss:0kB, UID:0 "));
	assert_non_null(strstr(report, "oom_score_adj:1000\n"));
	assert_non_null(strstr(report, "[  pid  ]   uid  tgid total_vm      "
				       "rss rss_anon rss_file rss_shmem "
				       "pgtables_bytes swapents oom_score_adj "
				       "name\n"));
}

/* Equal rss: the one with swap entries too has more points. */
static void test_oom_swap_entries_decide(void **state)
{
	struct vm *vm = machine(8 * MiB, 1 * MiB); /* 255 slots */
	struct parked a, b, hog;
	struct vm_exit ex;
	uint64_t a_va;

	(void)state;
	/* Both 400 resident; a has 200 more in swap (rss + swap count). */
	a_va = holder(vm, &a, "swapped", 600, 0);
	holder(vm, &b, "resident", 400, 0);
	assert_int_equal(vmtest_pageout(a.t, a_va, 200), 200);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_int_equal(vm_set_oom_score_adj(vm, hog.pid, -1000), 0);
	assert_false(hog_until_oom(vm, &hog));
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	assert_int_equal(park_release(&b, &ex), b.pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	park_release(&hog, &ex);
	finish(vm);
	assert_int_equal(victim_of(0), a.pid);
}

/* Equal rss: the one with more page tables (a sparse layout) wins. */
static void test_oom_page_tables_decide(void **state)
{
	struct vm *vm = machine(8 * MiB, 0);
	struct parked a, b, hog;
	struct vm_exit ex;
	uint64_t base;

	(void)state;
	holder(vm, &b, "dense", 300, 0);
	assert_true(park_spawn(vm, &a, "sparse") > 0);
	/* 300 pages, each in its own 2 MiB: a PTE table each. */
	base = vm_mmap(a.t, 0, 300 * 2 * MiB, RW, ANON);
	for (uint64_t i = 0; i < 300; i++)
		assert_int_equal(vmtest_store(a.t, base + i * 2 * MiB, 1), 0);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_int_equal(vm_set_oom_score_adj(vm, hog.pid, -1000), 0);
	assert_false(hog_until_oom(vm, &hog));
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	park_release(&b, &ex);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	park_release(&hog, &ex);
	finish(vm);
	assert_int_equal(victim_of(0), a.pid);
}

/*
 * Holders a and b (pages, adj each) and an exempt hog that grows until the
 * OOM killer acts: exactly one holder is killed, the other and the hog
 * end normally.  True when it was b.
 */
static bool duel(uint64_t mem, unsigned a_pages, int a_adj, unsigned b_pages,
		 int b_adj)
{
	struct vm *vm = machine(mem, 0);
	struct parked a, b, hog;
	struct vm_exit ea, eb, ex;

	holder(vm, &a, "a", a_pages, a_adj);
	holder(vm, &b, "b", b_pages, b_adj);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_int_equal(vm_set_oom_score_adj(vm, hog.pid, -1000), 0);
	assert_false(hog_until_oom(vm, &hog));
	park_release(&a, &ea);
	park_release(&b, &eb);
	park_release(&hog, &ex);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_true((ea.reason == VM_EXIT_OOM_KILLED) !=
		    (eb.reason == VM_EXIT_OOM_KILLED));
	assert_int_equal(ea.reason == VM_EXIT_OOM_KILLED ? eb.reason :
							   ea.reason,
			 VM_EXIT_NORMAL);
	finish(vm);
	assert_int_equal(victim_of(0),
			 eb.reason == VM_EXIT_OOM_KILLED ? b.pid : a.pid);
	return eb.reason == VM_EXIT_OOM_KILLED;
}

/* A tie: the task scanned later (created later) wins. */
static void test_oom_tie_goes_to_the_later(void **state)
{
	(void)state;
	assert_true(duel(8 * MiB, 700, 0, 700, 0));
}

/* Every task exempt: no victim, the allocating task ends, nothing spins. */
static void test_oom_all_exempt(void **state)
{
	struct vm *vm = machine(8 * MiB, 0);
	struct parked a, hog;
	struct vm_exit ex;

	(void)state;
	holder(vm, &a, "exempt", 500, -1000);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_int_equal(vm_set_oom_score_adj(vm, hog.pid, -1000), 0);
	assert_true(hog_until_oom(vm, &hog)); /* the hog itself ends */
	assert_int_equal(park_release(&hog, &ex), hog.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	finish(vm);
	assert_int_equal(victim_of(0), -1);
	assert_non_null(
		strstr(report, "Out of memory and no killable processes...\n"));
}

/*
 * A victim still exiting (killed and reaped, its thread parked) is exempt
 * from the next decision; the next one picks another task.
 */
static void test_oom_reaped_victim_not_chosen_again(void **state)
{
	struct vm *vm = machine(8 * MiB, 0);
	struct parked a, b, hog;
	struct vm_exit ex;

	(void)state;
	holder(vm, &a, "big", 900, 0);
	holder(vm, &b, "medium", 400, 0);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_int_equal(vm_set_oom_score_adj(vm, hog.pid, -1000), 0);
	assert_false(hog_until_oom(vm, &hog)); /* big goes first */
	assert_false(hog_until_oom(vm, &hog)); /* then medium, not big */
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	assert_int_equal(park_release(&b, &ex), b.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	park_release(&hog, &ex);
	finish(vm);
	assert_int_equal(victim_of(0), a.pid);
	assert_int_equal(victim_of(1), b.pid);
}

/* Below 1000 pages totalpages / 1000 is 0: adj counts for nothing. */
static void test_oom_tiny_memory_adj_is_void(void **state)
{
	(void)state;
	/* 512 pages: adj 1000 on 50 pages loses to 200 pages */
	assert_true(duel(2 * MiB, 50, 1000, 200, 0));
}

/* /proc/PID/oom_score and status, and the adj's range. */
static void test_oom_procfs_and_adj(void **state)
{
	struct vm *vm = machine(8 * MiB, 0);
	struct parked a;
	char path[32], buf[1024];
	long score;

	(void)state;
	holder(vm, &a, "shown", 100, 0);
	assert_int_equal(vm_set_oom_score_adj(vm, a.pid, 1001), -EINVAL);
	assert_int_equal(vm_set_oom_score_adj(vm, 999, 0), -ESRCH);
	snprintf(path, sizeof(path), "%d/oom_score", a.pid);
	assert_true(vm_procfs(vm, path, buf, sizeof(buf)) > 0);
	score = strtol(buf, NULL, 10);
	/* (1000 + points * 1000 / 2048) * 2 / 3, points ~ 100 + tables */
	assert_true(score >= (1000 + 100 * 1000 / 2048) * 2 / 3);
	assert_true(score <= (1000 + 110 * 1000 / 2048) * 2 / 3);
	assert_int_equal(vm_set_oom_score_adj(vm, a.pid, -1000), 0);
	assert_true(vm_procfs(vm, path, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "0\n");
	snprintf(path, sizeof(path), "%d/oom_score_adj", a.pid);
	assert_true(vm_procfs(vm, path, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "-1000\n");
	snprintf(path, sizeof(path), "%d/status", a.pid);
	assert_true(vm_procfs(vm, path, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "Name:\tshown\n"));
	assert_non_null(strstr(buf, "VmRSS:\t     400 kB\n"));
	assert_non_null(strstr(buf, "RssAnon:\t     400 kB\n"));
	assert_non_null(strstr(buf, "VmSwap:\t       0 kB\n"));
	assert_non_null(strstr(buf, "VmPTE:\t"));
	snprintf(path, sizeof(path), "%d/status", 999);
	assert_int_equal(vm_procfs(vm, path, buf, sizeof(buf)), -ENOENT);
	park_release(&a, NULL);
	vmtest_destroy(vm);
}

/* vm.oom_kill_allocating_task: the hog itself goes, the bigger one stays. */
static void test_oom_kill_allocating_task(void **state)
{
	struct vm_config cfg;
	struct parked a, hog;
	struct vm_exit ex;
	struct vm *vm;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.min_free_kbytes = 64;
	cfg.oom_kill_allocating_task = true;
	cfg.log_path = db;
	cfg.oom_report = sink;
	vm = vmtest_create_cfg(&cfg);
	holder(vm, &a, "big", 1500, 0);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_true(hog_until_oom(vm, &hog));
	assert_int_equal(park_release(&hog, &ex), hog.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	finish(vm);
	assert_int_equal(victim_of(0), hog.pid);
}

/* vm.panic_on_oom: every task ends VM_EXIT_PANIC, the report says why. */
static void test_oom_panic(void **state)
{
	struct vm_config cfg;
	struct parked a, hog;
	struct vm_exit ex;
	struct vm *vm;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.min_free_kbytes = 64;
	cfg.panic_on_oom = true;
	cfg.log_path = db;
	cfg.oom_report = sink;
	vm = vmtest_create_cfg(&cfg);
	holder(vm, &a, "bystander", 100, 0);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	assert_true(hog_until_oom(vm, &hog));
	assert_int_equal(park_release(&hog, &ex), hog.pid);
	assert_int_equal(ex.reason, VM_EXIT_PANIC);
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_PANIC);
	vmtest_destroy(vm);
	assert_non_null(strstr(report, "Kernel panic - not syncing: Out of "
				       "memory: system-wide panic_on_oom is "
				       "enabled\n"));
	assert_int_equal(victim_of(0), -1);
}

/* ---- machines too small for what a task needs ------------------------ */

static int one_write(struct vm_task *t, void *arg)
{
	uint64_t va = vm_mmap(t, 0, 4096, VM_PROT_READ | VM_PROT_WRITE,
			      VM_MAP_PRIVATE | VM_MAP_ANON);

	(void)arg;
	if (vm_mmap_failed(va))
		return vm_mmap_error(va);
	return vm_write(t, va, "x", 1);
}

/*
 * A fault that needs three page tables and a page, on a machine that has
 * fewer free frames than that but more than the high watermark: the OOM
 * killer's "memory came back" shortcut used to send it round for ever.
 * It must end - written, or OOM-killed - in both modes.  Likewise tasks
 * spawned into a machine where the slab's empty frame is shrunk and taken
 * again: each spawn succeeds or fails, it never loops.
 */
static void test_oom_tiny_machine_ends(void **state)
{
	static const uint64_t sizes[] = { 40 << 10, 44 << 10, 48 << 10 };

	(void)state;
	for (int native = 0; native < 2; native++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct vm_config cfg;
			struct vm_exit ex;
			struct vm *vm;
			char err[256];
			int pid;

			vm_config_init(&cfg);
			cfg.mode = native ? VM_MODE_NATIVE : VM_MODE_TRACE;
			cfg.mem_bytes = sizes[i];
			cfg.kswapd = false;
			vm = vm_create(&cfg, err, sizeof(err));
			if (!vm)
				continue; /* too small to boot: said so */
			pid = vm_spawn(vm, "t", 0, one_write, NULL);
			if (pid > 0) {
				assert_int_equal(vm_wait(vm, pid, &ex), pid);
				assert_true((ex.reason == VM_EXIT_NORMAL &&
					     ex.code == 0) ||
					    ex.reason == VM_EXIT_OOM_KILLED);
			} else {
				assert_int_equal(pid, -ENOMEM);
			}
			for (int k = 0; k < 4; k++) {
				pid = vm_spawn(vm, "more", 0, one_write, NULL);
				assert_true(pid > 0 || pid == -ENOMEM);
				if (pid > 0)
					assert_int_equal(vm_wait(vm, pid, &ex),
							 pid);
			}
			vm_destroy(vm);
		}
}

int main(void)
{
#define OOM_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		OOM_TEST(test_oom_adj_outweighs_size),
		OOM_TEST(test_oom_swap_entries_decide),
		OOM_TEST(test_oom_page_tables_decide),
		OOM_TEST(test_oom_tie_goes_to_the_later),
		OOM_TEST(test_oom_all_exempt),
		OOM_TEST(test_oom_reaped_victim_not_chosen_again),
		OOM_TEST(test_oom_tiny_memory_adj_is_void),
		OOM_TEST(test_oom_procfs_and_adj),
		OOM_TEST(test_oom_kill_allocating_task),
		OOM_TEST(test_oom_panic),
		OOM_TEST(test_oom_tiny_machine_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
