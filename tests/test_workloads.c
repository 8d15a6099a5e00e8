/*
 * tests/test_workloads.c - the synthetic workloads, through the public
 * API (vm/vm.h and workloads/wl.h): specs parse or are refused with one
 * line; every kind runs and ends as it expects in both modes; for one
 * task the access sequence is the same in native and trace mode for a
 * seed (recorded with the access hook); a byte corrupted behind a task's
 * back (vm_write from the hook) ends it with WL_EXIT_MISMATCH naming the
 * address; data survives swap-out and swap-in; a killed task ends
 * promptly even while it sleeps.  The malloc kind: every placement
 * policy runs and verifies its blocks (also under swap), the same calls
 * in both modes, a corrupted block byte caught and named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "workloads/wl.h"

#define MB	  (1ULL << 20)
#define SMALL_MEM (32 * MB)

static const char *const modes[] = { "native", "trace" };

static struct vm *machine(int mode, uint64_t mem)
{
	return vmtest_create(mode ? VM_MODE_TRACE : VM_MODE_NATIVE, mem);
}

static void parse_ok(const char *text, struct wl_spec *s)
{
	char err[256] = "";

	if (wl_spec_parse(text, s, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
}

/* Run spec text as one task on vm; its exit and (optionally) its run. */
static void run_one(struct vm *vm, const char *text, uint64_t seed,
		    struct vm_exit *ex, struct wl_run **keep, wl_access_hook h,
		    void *ctx)
{
	struct wl_spec s;
	struct wl_run *run;
	int pid;

	parse_ok(text, &s);
	run = wl_run_new(vm, &s, seed);
	assert_non_null(run);
	if (h)
		wl_run_set_hook(run, h, ctx);
	pid = vm_spawn(vm, s.name, s.adj, wl_run_main, run);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, ex), pid);
	if (keep)
		*keep = run;
	else
		wl_run_free(run);
}

static void test_workloads_spec_parse(void **state)
{
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "frob", "unknown workload 'frob'" },
		{ "zipf:alpha=x", "alpha 'x' is not a positive number" },
		{ "zipf:alpha=0", "alpha '0' is not a positive number" },
		{ "seq:size=12X", "size '12X' is not a size" },
		{ "seq:size=99999999999999G", "is not a size" },
		{ "seq:size=0", "size must be at least 4K" },
		{ "seq:write=1.5", "write '1.5' is not a number from 0 to 1" },
		{ "seq:alpha=1", "workload 'seq' has no key 'alpha'" },
		{ "seq:bogus", "'bogus' is not key=value" },
		{ "rand:adj=1001", "adj '1001' is not a whole number from" },
		{ "rand:name=abcdefghijklmnop", "name 'abcdefghijklmnop'" },
		{ "rand:ops=-1", "ops '-1' is not a whole number" },
		{ "stride:k=0", "k must be positive" },
		{ "segv:size=4K", "workload 'segv' has no key 'size'" },
		{ "malloc:policy=buddy", "policy 'buddy' is not first, next" },
		{ "malloc:max=8", "max must be at least 16" },
		{ "malloc:fork=1", "workload 'malloc' has no key 'fork'" },
		{ "seq:policy=best", "workload 'seq' has no key 'policy'" },
	};
	struct wl_spec s;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
			wl_spec_parse(bad[i].text, &s, err, sizeof(err)), -22);
		if (!strstr(err, bad[i].needle) || strchr(err, '\n'))
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].text,
				 err, bad[i].needle);
	}
	parse_ok("zipf:alpha=1.2,size=1MiB,ops=10,name=z,seed=7,adj=-5", &s);
	assert_int_equal(s.kind, WL_ZIPF);
	assert_true(s.alpha == 1.2);
	assert_int_equal(s.size, MB);
	assert_int_equal(s.ops, 10);
	assert_string_equal(s.name, "z");
	assert_true(s.seed_set && s.seed == 7);
	assert_int_equal(s.adj, -5);
	parse_ok("seq:size=5000", &s);
	assert_int_equal(s.size, 8192); /* rounded up to pages */
	parse_ok("hog", &s);
	assert_int_equal(s.size, 0); /* no cap */
	parse_ok("malloc:policy=segregated,max=1K,delay=5", &s);
	assert_int_equal(s.policy, 4); /* UMALLOC_SEGREGATED */
	assert_int_equal(s.max_req, 1024);
	assert_int_equal(s.delay_ms, 5);
}

/* Every kind, both modes, ends as it expects. */
static void test_workloads_each_kind_verifies(void **state)
{
	static const char *const specs[] = {
		"seq:size=256K,passes=2",
		"rand:size=256K,ops=500,write=0.5",
		"zipf:size=256K,ops=500,alpha=1.1",
		"hotcold:size=256K,ops=500,hot=0.2,share=0.8",
		"phases:size=256K,ops=500,ws=0.25,period=50",
		"stride:size=256K,passes=2,k=5",
		"hog:size=1M,chunk=256K",
		"forkstorm:size=128K,rounds=2,fork=2",
		"idle:size=128K,sleep=20,ops=3",
		"zero:size=256K",
		"segv",
		"rand:size=256K,ops=300,fork=3",
		"malloc:size=512K,ops=1500,policy=first",
		"malloc:size=512K,ops=1500,policy=next,max=4K",
		"malloc:size=512K,ops=1500,policy=best,leak=3",
		"malloc:size=512K,ops=1500,policy=worst",
		"malloc:size=512K,ops=1500,policy=segregated,max=1M",
	};

	(void)state;
	for (int m = 0; m < 2; m++) {
		struct vm *vm = machine(m, SMALL_MEM);

		for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
			struct vm_exit ex;
			struct wl_run *run;
			char what[160];

			run_one(vm, specs[i], 42, &ex, &run, NULL, NULL);
			wl_run_describe(run, &ex, what, sizeof(what));
			if (!wl_run_expected(run, &ex))
				fail_msg("%s mode, %s: %s", modes[m], specs[i],
					 what);
			wl_run_free(run);
		}
		vm_destroy(vm);
	}
}

/* A hog without a cap on a small machine: the OOM kill is its end. */
static void test_workloads_hog_oom_expected(void **state)
{
	(void)state;
	for (int m = 0; m < 2; m++) {
		struct vm *vm = machine(m, 8 * MB);
		struct vm_exit ex;
		struct wl_run *run;

		run_one(vm, "hog:chunk=512K", 1, &ex, &run, NULL, NULL);
		assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
		assert_true(wl_run_expected(run, &ex));
		wl_run_free(run);
		vm_destroy(vm);
	}
}

/*
 * Twice as much memory as RAM, with swap: every byte still reads back
 * right after eviction and swap-in, in both modes, with COW children.
 */
static void test_workloads_verify_under_swap(void **state)
{
	static const char *const specs[] = {
		"rand:size=16M,ops=6000,write=0.5",
		"seq:size=12M,passes=2,write=0.5,fork=1",
		"malloc:size=12M,ops=3000,policy=best",
	};

	(void)state;
	for (int m = 0; m < 2; m++) {
		struct vm_config cfg;
		struct vm_stat st;
		struct vm *vm;

		vm_config_init(&cfg);
		cfg.mode = m ? VM_MODE_TRACE : VM_MODE_NATIVE;
		cfg.mem_bytes = 8 * MB;
		cfg.swap_bytes = 64 * MB;
		vm = vmtest_create_cfg(&cfg);
		for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
			struct vm_exit ex;
			struct wl_run *run;
			char what[160];

			run_one(vm, specs[i], 11, &ex, &run, NULL, NULL);
			wl_run_describe(run, &ex, what, sizeof(what));
			if (ex.reason != VM_EXIT_NORMAL ||
			    ex.code != WL_EXIT_OK)
				fail_msg("%s mode, %s: %s", modes[m], specs[i],
					 what);
			wl_run_free(run);
		}
		vm_stat(vm, &st);
		assert_true(st.pswpout > 0 && st.pswpin > 0); /* it swapped */
		vm_destroy(vm);
	}
}

struct trace_rec {
	uint64_t *ops; /* page << 1 | write */
	size_t n, cap;
};

static void record(void *ctx, struct vm_task *t, uint64_t page, uint64_t va,
		   bool write)
{
	struct trace_rec *r = ctx;

	(void)t;
	(void)va;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		r->ops = realloc(r->ops, r->cap * sizeof(*r->ops));
		if (!r->ops)
			abort(); /* not on the main thread: no cmocka assert */
	}
	r->ops[r->n++] = page << 1 | write;
}

/* One task: the same (page, write) sequence in both modes for a seed. */
static void test_workloads_same_sequence_native_trace(void **state)
{
	static const char *const specs[] = {
		"seq:size=128K,passes=3",
		"rand:size=128K,ops=800",
		"zipf:size=128K,ops=800",
		"hotcold:size=128K,ops=800",
		"phases:size=128K,ops=800",
		"stride:size=128K,passes=2,k=3",
		"hog:size=512K,chunk=128K",
		"idle:size=64K,sleep=5,ops=4",
		"malloc:size=256K,ops=1000,policy=seg",
	};
	uint64_t seed = vmtest_seed("test_workloads_same_sequence");

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct trace_rec rec[2] = { { 0 } };

		for (int m = 0; m < 2; m++) {
			struct vm *vm = machine(m, SMALL_MEM);
			struct vm_exit ex;

			run_one(vm, specs[i], seed, &ex, NULL, record, &rec[m]);
			assert_int_equal(ex.reason, VM_EXIT_NORMAL);
			assert_int_equal(ex.code, WL_EXIT_OK);
			vm_destroy(vm);
		}
		assert_true(rec[0].n > 0);
		if (rec[0].n != rec[1].n ||
		    memcmp(rec[0].ops, rec[1].ops, rec[0].n * sizeof(uint64_t)))
			fail_msg("%s: native and trace sequences differ "
				 "(%zu vs %zu accesses)",
				 specs[i], rec[0].n, rec[1].n);
		free(rec[0].ops);
		free(rec[1].ops);
	}
}

/* Another seed gives another sequence (the seed is used at all). */
static void test_workloads_seed_matters(void **state)
{
	struct trace_rec rec[2] = { { 0 } };

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct vm *vm = machine(1, SMALL_MEM);
		struct vm_exit ex;

		run_one(vm, "rand:size=128K,ops=200", 100 + (uint64_t)i, &ex,
			NULL, record, &rec[i]);
		vm_destroy(vm);
	}
	assert_int_equal(rec[0].n, rec[1].n);
	assert_true(memcmp(rec[0].ops, rec[1].ops,
			   rec[0].n * sizeof(uint64_t)) != 0);
	free(rec[0].ops);
	free(rec[1].ops);
}

struct corrupt {
	int pid;       /* corrupt in this task (0: any) */
	uint64_t at;   /* at its at-th access, which must be a read */
	uint64_t seen; /* accesses seen in that task */
	uint64_t va;   /* what was corrupted */
	int rc;	       /* vm_write's result */
};

#define CORRUPT_BYTE 123

static void corrupt_hook(void *ctx, struct vm_task *t, uint64_t page,
			 uint64_t va, bool write)
{
	struct corrupt *c = ctx;
	uint8_t b;

	(void)page;
	if ((c->pid && vm_getpid(t) != c->pid) || c->seen++ != c->at || write)
		return;
	c->va = va + CORRUPT_BYTE;
	c->rc = vm_read(t, c->va, &b, 1);
	b ^= 0x5a;
	if (c->rc == 0)
		c->rc = vm_write(t, c->va, &b, 1);
}

static void expect_mismatch(int m, const char *spec, struct corrupt *c,
			    const char *needle)
{
	struct vm *vm = machine(m, SMALL_MEM);
	struct vm_exit ex;
	struct wl_run *run;
	char what[200], va[40];

	run_one(vm, spec, 9, &ex, &run, corrupt_hook, c);
	assert_int_equal(c->rc, 0);
	assert_true(c->va != 0);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, WL_EXIT_MISMATCH);
	assert_false(wl_run_expected(run, &ex));
	wl_run_describe(run, &ex, what, sizeof(what));
	snprintf(va, sizeof(va), "at va 0x%llx ", (unsigned long long)c->va);
	if (!strstr(what, va) || !strstr(what, needle) ||
	    !strstr(what, "byte 123"))
		fail_msg("%s mode: '%s' lacks '%s' or '%s'", modes[m], what, va,
			 needle);
	wl_run_free(run);
	vm_destroy(vm);
}

/*
 * seq:size=128K,passes=2,write=1 writes its 32 pages twice (accesses
 * 0..63), then verifies: access 72 reads page 8, written twice by pid 1.
 */
static void test_workloads_catch_corruption(void **state)
{
	(void)state;
	for (int m = 0; m < 2; m++) {
		struct corrupt c = { .at = 72 };

		expect_mismatch(m, "seq:size=128K,passes=2,write=1", &c,
				"expected write 2 by pid 1");
	}
	/* Never written: the zero page must read back zeros. */
	for (int m = 0; m < 2; m++) {
		struct corrupt c = { .at = 5 };

		expect_mismatch(m, "seq:size=64K,passes=1,write=0", &c,
				"expected zeros");
	}
	/* In a child: the parent reports the child's mismatch. */
	for (int m = 0; m < 2; m++) {
		struct corrupt c = { .pid = 2, .at = 20 };

		expect_mismatch(m, "seq:size=64K,passes=1,write=1,fork=1", &c,
				"in child pid 2");
	}
}

/* The malloc kind: the first check of a block of >= 256 bytes. */
static void corrupt_block(void *ctx, struct vm_task *t, uint64_t nbytes,
			  uint64_t va, bool write)
{
	struct corrupt *c = ctx;
	uint8_t b;

	(void)write;
	if (c->va || nbytes < 2 * CORRUPT_BYTE)
		return;
	c->va = va + CORRUPT_BYTE;
	c->rc = vm_read(t, c->va, &b, 1);
	b ^= 0x5a;
	if (c->rc == 0)
		c->rc = vm_write(t, c->va, &b, 1);
}

/* A byte of a live malloc'd block changed behind the task's back. */
static void test_workloads_malloc_catches_corruption(void **state)
{
	(void)state;
	for (int m = 0; m < 2; m++) {
		struct vm *vm = machine(m, SMALL_MEM);
		struct corrupt c = { 0 };
		struct vm_exit ex;
		struct wl_run *run;
		char what[200], va[40];

		run_one(vm, "malloc:size=256K,ops=500,max=8K", 9, &ex, &run,
			corrupt_block, &c);
		assert_int_equal(c.rc, 0);
		assert_true(c.va != 0);
		assert_int_equal(ex.reason, VM_EXIT_NORMAL);
		assert_int_equal(ex.code, WL_EXIT_MISMATCH);
		wl_run_describe(run, &ex, what, sizeof(what));
		snprintf(va, sizeof(va), "at va 0x%llx ",
			 (unsigned long long)c.va);
		if (!strstr(what, va) || !strstr(what, "byte 123 of the"))
			fail_msg("%s mode: '%s' lacks '%s'", modes[m], what,
				 va);
		wl_run_free(run);
		vm_destroy(vm);
	}
}

/*
 * vm_kill reaches an idle task while it sleeps, and a forkstorm's
 * children (wl_run_stop, wl_run_kill_children) while they run.
 */
static void test_workloads_kill_ends_tasks(void **state)
{
	static const char *const specs[] = {
		"idle:size=64K,sleep=600000,ops=0",
		"forkstorm:size=64K,rounds=1000000,fork=2",
	};

	(void)state;
	for (int m = 0; m < 2; m++) {
		for (int i = 0; i < 2; i++) {
			struct vm *vm = machine(m, SMALL_MEM);
			struct wl_spec s;
			struct wl_run *run;
			struct vm_exit ex;
			int pid;

			parse_ok(specs[i], &s);
			run = wl_run_new(vm, &s, 3);
			assert_non_null(run);
			pid = vm_spawn(vm, s.name, 0, wl_run_main, run);
			assert_true(pid > 0);
			assert_int_equal(vm_kill(vm, pid), 0);
			wl_run_stop(run);
			wl_run_kill_children(run);
			assert_int_equal(vm_wait(vm, pid, &ex), pid);
			assert_true(ex.reason == VM_EXIT_KILLED ||
				    (ex.reason == VM_EXIT_NORMAL &&
				     ex.code == WL_EXIT_STOPPED));
			vm_destroy(vm);
			wl_run_free(run);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workloads_spec_parse),
		cmocka_unit_test(test_workloads_each_kind_verifies),
		cmocka_unit_test(test_workloads_hog_oom_expected),
		cmocka_unit_test(test_workloads_verify_under_swap),
		cmocka_unit_test(test_workloads_same_sequence_native_trace),
		cmocka_unit_test(test_workloads_seed_matters),
		cmocka_unit_test(test_workloads_catch_corruption),
		cmocka_unit_test(test_workloads_malloc_catches_corruption),
		cmocka_unit_test(test_workloads_kill_ends_tasks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
