/*
 * tests/test_inject.c - failure injection, SQLite's way: for N = 1, 2, 3,
 * ... make the N-th allocation of a whole operation fail (once), run the
 * operation, and check after every failure that the machine is consistent
 * (buddy_check, slab_check, mm_check of every task) and that nothing
 * leaked (frames and kernel objects back to where they were once the
 * operation's tasks are gone).  The loop ends when an operation runs
 * without reaching its N-th allocation.  Operations: a fault with
 * fault-around, a COW break, fork, mmap + mprotect (VMA splits), spawn;
 * each under fail_page_alloc and under failslab.
 *
 * So every unwind path runs: fault-around giving back a partly
 * initialised block, rmap_add failing, a COW break out of memory, fork
 * failing half way, a VMA split failing, a task's creation failing.  A
 * fault is restartable (it retries after reclaim, and the injected
 * failure was transient), so it always succeeds in the end; a system call
 * returns -ENOMEM for an injected failure, as Linux's would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#define PAGE	     4096ULL
#define RW	     (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	     (VM_MAP_PRIVATE | VM_MAP_ANON)
#define FA_PAGES     16	 /* anon_fault_around */
#define MAX_N	     200 /* more allocations than any operation here */
#define MEM_BYTES    (16ULL << 20)
#define REGION_PAGES 64

/*
 * One operation under test: prepare (no injection), run (injected).
 * page_allocs: whether it takes frames itself (mmap and mprotect only
 * take VMAs, which come from slabs that have room).
 */
struct op {
	const char *name;
	bool page_allocs; /* must meet a failed frame allocation */
	bool slab_objs;	  /* must meet a failed kernel-object allocation */
	void (*prepare)(struct vm *vm, struct parked *p, uint64_t *va);
	int (*run)(struct vm *vm, struct parked *p, uint64_t va,
		   struct parked *extra);
	void (*verify)(struct vm *vm, struct parked *p, uint64_t va, int rc);
};

static void prep_region(struct vm *vm, struct parked *p, uint64_t *va)
{
	assert_true(park_spawn(vm, p, "victim") > 0);
	*va = vm_mmap(p->t, 0, REGION_PAGES * PAGE, RW, ANON);
	assert_false(vm_mmap_failed(*va));
}

static void prep_written(struct vm *vm, struct parked *p, uint64_t *va)
{
	prep_region(vm, p, va);
	for (unsigned i = 0; i < FA_PAGES; i++)
		assert_int_equal(vmtest_store(p->t, *va + i * PAGE, 0x40 + i),
				 0);
}

/* A first write: fault-around maps the aligned 16-page block. */
static int run_fault(struct vm *vm, struct parked *p, uint64_t va,
		     struct parked *extra)
{
	(void)vm, (void)extra;
	return vmtest_store(p->t, va + 3 * PAGE, 0x5a);
}

static void verify_fault(struct vm *vm, struct parked *p, uint64_t va, int rc)
{
	uint8_t v;

	(void)vm;
	assert_int_equal(rc, 0); /* a fault always gets there in the end */
	assert_int_equal(vmtest_load(p->t, va + 3 * PAGE, &v), 0);
	assert_int_equal(v, 0x5a);
	assert_int_equal(vmtest_load(p->t, va + 4 * PAGE, &v), 0);
	assert_int_equal(v, 0);
}

/* The child writes a page it shares with its parent: a COW copy. */
static int run_cow(struct vm *vm, struct parked *p, uint64_t va,
		   struct parked *child)
{
	(void)vm;
	(void)p;
	return vmtest_store(child->t, va + 5 * PAGE, 0x99);
}

static void verify_cow(struct vm *vm, struct parked *p, uint64_t va, int rc)
{
	uint8_t v;

	(void)vm;
	assert_int_equal(rc, 0);
	assert_int_equal(vmtest_load(p->t, va + 5 * PAGE, &v), 0);
	assert_int_equal(v, 0x45); /* the parent's byte is untouched */
}

static int run_fork(struct vm *vm, struct parked *p, uint64_t va,
		    struct parked *child)
{
	(void)vm, (void)va;
	return park_fork(p, child);
}

static void verify_fork(struct vm *vm, struct parked *p, uint64_t va, int rc)
{
	uint8_t v;

	(void)vm;
	assert_true(rc > 0 || rc == -ENOMEM);
	for (unsigned i = 0; i < FA_PAGES; i++) {
		assert_int_equal(vmtest_load(p->t, va + i * PAGE, &v), 0);
		assert_int_equal(v, 0x40 + i);
	}
}

/* mmap, then mprotect the middle: two VMA splits. */
static int run_mmap(struct vm *vm, struct parked *p, uint64_t va,
		    struct parked *extra)
{
	uint64_t a = vm_mmap(p->t, 0, 8 * PAGE, RW, ANON);

	(void)vm, (void)va, (void)extra;
	if (vm_mmap_failed(a))
		return vm_mmap_error(a);
	return vm_mprotect(p->t, a + 2 * PAGE, 2 * PAGE, VM_PROT_READ);
}

static void verify_syscall(struct vm *vm, struct parked *p, uint64_t va, int rc)
{
	(void)vm, (void)p, (void)va;
	assert_true(rc >= 0 || rc == -ENOMEM);
}

static int run_spawn(struct vm *vm, struct parked *p, uint64_t va,
		     struct parked *extra)
{
	(void)p, (void)va;
	return park_spawn(vm, extra, "newborn");
}

static const struct op ops[] = {
	/* A page mapped at its own va needs no rmap item (vm/rmap.h): the
	   faults allocate frames only. */
	{ "fault-around", true, false, prep_region, run_fault, verify_fault },
	{ "cow-break", true, false, prep_written, run_cow, verify_cow },
	{ "fork", true, true, prep_written, run_fork, verify_fork },
	{ "mmap-split", false, true, prep_region, run_mmap, verify_syscall },
	{ "spawn", true, true, prep_region, run_spawn, verify_syscall },
};

static void set_point(struct vm *vm, const char *point, unsigned long nth)
{
	struct vm_fault_attr a = { 100, nth, 1, 0 };

	if (!nth)
		a.probability = 0;
	assert_int_equal(vm_fault_inject(vm, point, &a), 0);
}

static uint64_t frames_held(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st.nr_free_pages + vmtest_slab_pages(vm);
}

/* One round: op with the nth allocation failing; true if it was reached. */
static bool round_nth(struct vm *vm, const struct op *op, const char *point,
		      unsigned long nth, uint64_t free0, uint64_t objs0)
{
	struct parked p, extra = { 0 };
	uint64_t va;
	long long hit;
	int rc;

	op->prepare(vm, &p, &va);
	if (op->run == run_cow)
		assert_true(park_fork(&p, &extra) > 0);
	set_point(vm, point, nth);
	rc = op->run(vm, &p, va, &extra);
	hit = vm_fault_injected(vm, point);
	set_point(vm, point, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	op->verify(vm, &p, va, rc);
	assert_int_equal(vmtest_check_all(vm), 0);
	if (extra.ctl)
		assert_int_equal(park_release(&extra, NULL), extra.pid);
	assert_int_equal(park_release(&p, NULL), p.pid);
	/* Nothing leaked: every frame and kernel object is back. */
	assert_int_equal(frames_held(vm), free0);
	assert_int_equal(vmtest_slab_objs(vm), objs0);
	assert_int_equal(vmtest_check_all(vm), 0);
	return hit > 0;
}

static void loop_op(const struct op *op, const char *point, bool native)
{
	struct vm_config cfg;
	struct vm *vm;
	uint64_t free0, objs0;
	unsigned long n, failures = 0;

	vm_config_init(&cfg);
	cfg.mode = native ? VM_MODE_NATIVE : VM_MODE_TRACE;
	cfg.mem_bytes = MEM_BYTES;
	cfg.anon_fault_around = FA_PAGES;
	vm = vmtest_create_cfg(&cfg);
	free0 = frames_held(vm);
	objs0 = vmtest_slab_objs(vm);
	for (n = 1; n < MAX_N; n++) {
		if (!round_nth(vm, op, point, n, free0, objs0))
			break;
		failures++;
	}
	print_message("%s/%s%s: %lu injected failures, done at N=%lu\n",
		      op->name, point, native ? " (native)" : "", failures, n);
	assert_true(n < MAX_N); /* the operation did finish */
	if (strcmp(point, "failslab") == 0 ? op->slab_objs : op->page_allocs)
		assert_true(failures > 0); /* and failed on the way */
	vmtest_destroy(vm);
}

static void test_inject_page_alloc_loops(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		loop_op(&ops[i], "fail_page_alloc", false);
}

static void test_inject_failslab_loops(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		loop_op(&ops[i], "failslab", false);
}

/* The spawn of a native task also creates its window. */
static void test_inject_native_spawn(void **state)
{
	(void)state;
	loop_op(&ops[4], "fail_page_alloc", true);
	loop_op(&ops[4], "failslab", true);
}

/* The attributes behave as Linux's: interval, times, space, probability. */
static void test_inject_attributes(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM_BYTES);
	struct vm_fault_attr a = { 101, 1, 1, 0 };
	struct parked p;
	uint64_t va;
	int fails = 0;

	(void)state;
	assert_int_equal(vm_fault_inject(vm, "fail_page_alloc", &a), -EINVAL);
	assert_int_equal(vm_fault_inject(vm, "no_such_point", &a), -ENOENT);
	assert_int_equal(vm_fault_injected(vm, "no_such_point"), -ENOENT);
	prep_region(vm, &p, &va);
	/* Every 3rd call fails, twice in all, after 8 KiB of space. */
	a = (struct vm_fault_attr){ 100, 3, 2, 2 * PAGE };
	assert_int_equal(vm_fault_inject(vm, "fail_page_alloc", &a), 0);
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(vmtest_store(p.t, va + i * PAGE, 1), 0);
	assert_int_equal(vm_fault_injected(vm, "fail_page_alloc"), 2);
	/* probability 0 turns the point off. */
	a = (struct vm_fault_attr){ 0, 1, -1, 0 };
	assert_int_equal(vm_fault_inject(vm, "fail_page_alloc", &a), 0);
	for (unsigned i = 32; i < 40; i++)
		fails += vmtest_store(p.t, va + i * PAGE, 1) != 0;
	assert_int_equal(fails, 0);
	assert_int_equal(vm_fault_injected(vm, "fail_page_alloc"), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_inject_attributes),
		VMTEST(test_inject_page_alloc_loops),
		VMTEST(test_inject_failslab_loops),
		VMTEST(test_inject_native_spawn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
