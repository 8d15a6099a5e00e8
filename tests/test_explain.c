/*
 * tests/test_explain.c - `vmemu explain` through the built binary
 * ($VMEMU, default ./vmemu; `make asan` points it at the ASan build, so
 * every topic also runs under AddressSanitizer there).
 *
 * The --json facts are checked against what the textbook or Linux says,
 * computed here: a VA's PGD/PUD/PMD/PTE indices are its bit fields; the
 * physical address is pfn * 4096 + offset; malloc(1 MiB) is mmapped
 * (>= 128 KiB) and malloc(1 KiB) is not; freeing the mmapped block raises
 * the threshold to its size; fork shares a frame with refcount and
 * mapcount 2, the child's write copies and the parent's then reuses;
 * segment 3 with base 7000 maps offset 500 to 7500 and refuses offset
 * 1222 >= its limit.  The text form fits 80 columns and ends with the
 * `vmemu query` that shows more; bad input is one line and status 2.
 *
 * JSON is read with SQLite's json_extract (an independent parser;
 * tests/lib/cliexec.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/cliexec.h"
#include "tests/lib/vmtest.h"

#define res	 cli_res
#define run	 cliexec_run
#define run_json cliexec_run_ok
#define jint	 cliexec_jint
#define jstr	 cliexec_jstr

static char db[64];

/* ---- translate --------------------------------------------------------- */

static void check_translate(uint64_t va, const char *arg)
{
	char buf[64];

	run_json(ARGS("explain", "translate", arg, "--json", "--no-log"));
	assert_true((uint64_t)jint("$.split.va") == va);
	assert_int_equal(jint("$.split.pgd"), (va >> 39) & 511);
	assert_int_equal(jint("$.split.pud"), (va >> 30) & 511);
	assert_int_equal(jint("$.split.pmd"), (va >> 21) & 511);
	assert_int_equal(jint("$.split.pte"), (va >> 12) & 511);
	assert_int_equal(jint("$.split.offset"), va & 4095);
	/* Before: only the PGD can be read; its entry is empty. */
	assert_int_equal(jint("$.before.tables_read"), 1);
	/* The walk: four tables, each level's index the VA's. */
	assert_int_equal(jint("$.walk.levels[3].index"), (va >> 12) & 511);
	assert_int_equal(jint("$.walk.levels[0].index"), (va >> 39) & 511);
	/* Each upper entry points at the next level's table. */
	for (int i = 0; i < 3; i++) {
		char p1[64], p2[64];

		snprintf(p1, sizeof(p1), "$.walk.levels[%d].entry", i);
		snprintf(p2, sizeof(p2), "$.walk.levels[%d].table_pfn", i + 1);
		assert_true(((uint64_t)jint(p1) >> 12) == (uint64_t)jint(p2));
		assert_true(jint(p1) & 1); /* present */
	}
	assert_true(((uint64_t)jint("$.walk.levels[3].entry") >> 12) ==
		    (uint64_t)jint("$.walk.pfn"));
	assert_true((uint64_t)jint("$.walk.phys") ==
		    (uint64_t)jint("$.walk.pfn") * 4096 + (va & 4095));
	assert_string_equal(jstr("$.walk.pte_bits", buf, sizeof(buf)),
			    "P W U A D");
	/* The first access faulted and missed; the second hit the TLB. */
	assert_int_equal(jint("$.first.pgfault"), 1);
	assert_int_equal(jint("$.first.tlb_miss"), 1);
	assert_int_equal(jint("$.second.pgfault"), 0);
	assert_int_equal(jint("$.second.tlb_hit"), 1);
	/* Not present: none, then a swap entry, read back by a major fault. */
	assert_string_equal(jstr("$.not_present.neighbour_state", buf,
				 sizeof(buf)),
			    "none");
	assert_string_equal(jstr("$.not_present.after_pageout", buf,
				 sizeof(buf)),
			    "swap entry");
	assert_true(((uint64_t)jint("$.not_present.swap_pte") >> 12) ==
		    (uint64_t)jint("$.not_present.swap_slot"));
	assert_int_equal(jint("$.swapin.pgmajfault"), 1);
	assert_int_equal(jint("$.swapin.pswpin"), 1);
}

static void test_explain_translate_indices(void **state)
{
	(void)state;
	check_translate(0x7f1234567abcULL, "0x7f1234567abc");
	/* A low address: PGD, PUD 0; PMD 0x91, PTE 0x145, offset 0x678. */
	check_translate(0x12345678ULL, "0x12345678");
	assert_int_equal(jint("$.split.pmd"), 0x91);
	assert_int_equal(jint("$.split.pte"), 0x145);
}

/* ---- malloc ---------------------------------------------------------------- */

static void test_explain_malloc_brk_or_mmap(void **state)
{
	(void)state;
	run_json(ARGS("explain", "malloc", "--json", "--no-log"));
	/* glibc's rule: 1 MiB >= 128 KiB is mmapped; 1 KiB and 1 are not. */
	assert_int_equal(jint("$.malloc_1m.mmapped"), 1);
	assert_int_equal(jint("$.malloc_1m.mmap_calls"), 1);
	assert_int_equal(jint("$.malloc_1k.mmapped"), 0);
	assert_int_equal(jint("$.malloc_1.mmapped"), 0);
	assert_int_equal(jint("$.malloc_1m.threshold"), 128 * 1024);
	/* The chunk: 1 MiB + a 32-byte header, in whole pages. */
	assert_int_equal(jint("$.malloc_1m.granted"), (1 << 20) + 4096);
	/* Touching 1 MiB: one fault and one frame per page not yet touched
	 * (the header's page was, by the call). */
	assert_int_equal(jint("$.malloc_1m.touch.pgfault"), 256);
	assert_int_equal(jint("$.malloc_1m.touch.frames"), 256);
	/* malloc(1): the minimum block, 16 usable bytes. */
	assert_int_equal(jint("$.malloc_1.granted"), 32);
	assert_int_equal(jint("$.malloc_1.usable"), 16);
	assert_int_equal(jint("$.chunk.min_chunk"), 32);
	/* Freeing the chunk raises the threshold to its size (glibc). */
	assert_int_equal(jint("$.free_1m.threshold_before"), 128 * 1024);
	assert_int_equal(jint("$.free_1m.threshold_after"),
			 jint("$.malloc_1m.granted"));
	assert_int_equal(jint("$.free_1m.frames"), -257);
	/* ... so the next malloc(1 MiB) comes from brk. */
	assert_int_equal(jint("$.malloc_1m_again.mmapped"), 0);
	assert_true(jint("$.malloc_1m_again.brk_growth") >= 1 << 20);
	/* The leak report: malloc(1) and malloc(1 KiB) were never freed. */
	assert_int_equal(jint("$.leaks.blocks"), 2);
	assert_int_equal(jint("$.leaks.bytes"), 1025);
	assert_int_equal(jint("$.leaks.largest[0].bytes"), 1024);
	assert_int_equal(jint("$.leaks.largest[1].bytes"), 1);
}

/* ---- fork ------------------------------------------------------------------- */

static void test_explain_fork_refcounts(void **state)
{
	(void)state;
	run_json(ARGS("explain", "fork", "--json", "--no-log"));
	/* After fork: one frame, two PTEs, both write-protected. */
	for (int i = 0; i < 4; i++) {
		char p[64];

		snprintf(p, sizeof(p), "$.after_fork[%d].refcount", i);
		assert_int_equal(jint(p), 2);
		snprintf(p, sizeof(p), "$.after_fork[%d].mapcount", i);
		assert_int_equal(jint(p), 2);
	}
	assert_int_equal(jint("$.after_fork[0].pfn"),
			 jint("$.after_fork[1].pfn"));
	assert_int_equal(jint("$.fork.pages_copied"), 0);
	assert_int_equal(jint("$.fork.child_pgtables"),
			 jint("$.fork.parent_pgtables"));
	/* The child's write copies; the parent's frame is its own again. */
	assert_int_equal(jint("$.child_write.cow_fault"), 1);
	assert_int_equal(jint("$.after_child_write[0].refcount"), 1);
	assert_int_equal(jint("$.after_child_write[0].pfn"),
			 jint("$.after_fork[0].pfn"));
	assert_true(jint("$.after_child_write[1].pfn") !=
		    jint("$.after_fork[0].pfn"));
	/* The parent's write reuses it; B, still shared, is copied. */
	assert_int_equal(jint("$.parent_write.cow_reuse"), 1);
	assert_int_equal(jint("$.parent_write.cow_fault"), 0);
	assert_int_equal(jint("$.parent_write.pgalloc_normal"), 0);
	assert_int_equal(jint("$.parent_write_b.cow_fault"), 1);
}

/* ---- segmentation -------------------------------------------------------- */

static void test_explain_segmentation_example(void **state)
{
	char buf[64];

	(void)state;
	run_json(ARGS("explain", "segmentation", "--json", "--no-log"));
	assert_int_equal(jint("$.example.base"), 7000);
	assert_int_equal(jint("$.example.offset"), 500);
	assert_int_equal(jint("$.example.linear"), 7500);
	/* 7500 passes segmentation, then paging refuses it. */
	assert_string_equal(jstr("$.example_exit.cause", buf, sizeof(buf)),
			    "page");
	assert_int_equal(jint("$.example_exit.fault"), 7500);
	/* Offset 1222 >= limit 1000: a limit fault of segment 3. */
	assert_string_equal(jstr("$.limit_fault.reason", buf, sizeof(buf)),
			    "SIGSEGV");
	assert_string_equal(jstr("$.limit_fault.cause", buf, sizeof(buf)),
			    "limit");
	assert_int_equal(jint("$.limit_fault.segment"), 3);
	assert_int_equal(jint("$.limit_fault.fault"), 1222);
	assert_string_equal(jstr("$.perm_fault.cause", buf, sizeof(buf)),
			    "permission");
	/* heap:500 is start_brk + 500, and it was mapped. */
	assert_int_equal(jint("$.heap_access.linear"),
			 jint("$.heap_access.start_brk") + 500);
	assert_int_equal(jint("$.defaults[2].base"),
			 jint("$.heap_access.start_brk"));
}

/* ---- text, log, usage ------------------------------------------------------- */

static const char *const topic_names[] = { "translate", "malloc", "fork",
					   "segmentation" };

static void test_explain_text_fits_80_columns(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(topic_names) / sizeof(topic_names[0]);
	     i++) {
		run(ARGS("explain", topic_names[i], "--no-log"));
		cliexec_check_text(topic_names[i]);
	}
}

static void test_explain_json_marks_emulator_only(void **state)
{
	char buf[64];

	(void)state;
	run_json(ARGS("explain", "translate", "--json", "--no-log"));
	assert_string_equal(jstr("$.topic", buf, sizeof(buf)), "translate");
	assert_true(strstr(res.out, "\"emulator_only\":[") != NULL);
	assert_true(strstr(res.out, "\"first.tlb_hit\"") != NULL);
	assert_true(strstr(res.out, "\"split.pgd\"") == NULL);
}

static int setup(void **state)
{
	(void)state;
	vmtest_db_path(db, sizeof(db), "test_explain");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vmtest_db_remove(db);
	return 0;
}

static void test_explain_query_shows_the_log(void **state)
{
	char q[1024];

	(void)state;
	run_json(ARGS("explain", "malloc", "--json", "--log", db));
	jstr("$.query", q, sizeof(q));
	assert_true(strncmp(q, "vmemu query ", 12) == 0);
	assert_non_null(strstr(q, db));
	/* The leaks row of this run, read back by vmemu query. */
	run(ARGS("query", db,
		 "SELECT blocks || ' ' || bytes FROM leaks WHERE run_id ="
		 " (SELECT max(run_id) FROM runs)"));
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "\n2 1025\n"));
	run(ARGS("query", db, "SELECT cmdline FROM runs"));
	assert_non_null(strstr(res.out, "vmemu explain malloc"));
}

static void expect_usage(const char *const *args, const char *needle)
{
	run(args);
	if (res.status != 2)
		fail_msg("status %d, stderr '%s'", res.status, res.err);
	assert_string_equal(res.out, "");
	assert_true(strncmp(res.err, "vmemu: ", 7) == 0);
	assert_non_null(strchr(res.err, '\n'));
	assert_int_equal(strchr(res.err, '\n')[1], '\0');
	if (!strstr(res.err, needle))
		fail_msg("'%s' lacks '%s'", res.err, needle);
}

static void test_explain_bad_input(void **state)
{
	(void)state;
	expect_usage(ARGS("explain"), "which topic");
	expect_usage(ARGS("explain", "paging"), "unknown topic 'paging'");
	expect_usage(ARGS("explain", "translate", "0xzz"), "not an address");
	expect_usage(ARGS("explain", "translate", "0x10"), "outside");
	expect_usage(ARGS("explain", "translate", "-5"), "unknown option");
	expect_usage(ARGS("explain", "fork", "--jsn"), "unknown option");
	expect_usage(ARGS("explain", "fork", "--log"), "needs a value");
	run(ARGS("explain", "--help"));
	assert_int_equal(res.status, 0);
	for (size_t i = 0; i < sizeof(topic_names) / sizeof(topic_names[0]);
	     i++)
		assert_non_null(strstr(res.out, topic_names[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_translate_indices),
		cmocka_unit_test(test_explain_malloc_brk_or_mmap),
		cmocka_unit_test(test_explain_fork_refcounts),
		cmocka_unit_test(test_explain_segmentation_example),
		cmocka_unit_test(test_explain_text_fits_80_columns),
		cmocka_unit_test(test_explain_json_marks_emulator_only),
		cmocka_unit_test_setup_teardown(
			test_explain_query_shows_the_log, setup, teardown),
		cmocka_unit_test(test_explain_bad_input),
	};

	if (access(clitest_vmemu(), X_OK) != 0) {
		fprintf(stderr, "test_explain: %s is not built\n",
			clitest_vmemu());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
