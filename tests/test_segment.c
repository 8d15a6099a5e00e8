/*
 * tests/test_segment.c - segmentation in front of paging (mmu/segment.h,
 * vm/ldt.c): the segmentation unit alone, against the textbook's rule
 * (linear = base + offset when offset < limit and the access is allowed,
 * else a trap); a task's default table, derived from its layout; the
 * worked example (segment 3 with base 7000: offset 500 -> linear 7500);
 * and the faults, each ending the task with its own cause, as the page
 * walk's own SEGV keeps the "page" cause.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mmu/pagetable.h"
#include "mmu/segment.h"
#include "tests/lib/vmtest.h"

#define PAGE 4096ULL
#define RW   (VM_PROT_READ | VM_PROT_WRITE)
#define MEM  (8ULL << 20)

/* ---- the segmentation unit ------------------------------------------- */

/* The rule, written independently of mmu/segment.c. */
static int model(uint64_t base, uint64_t limit, unsigned prot, uint64_t off,
		 bool write, uint64_t *linear)
{
	if (!(off < limit))
		return SEG_FAULT_LIMIT;
	if (!(prot & (write ? SEG_WRITE : SEG_READ)))
		return SEG_FAULT_PERM;
	*linear = base + off;
	return SEG_OK;
}

static void test_segment_unit_rule(void **state)
{
	static const struct {
		uint64_t base, limit;
		unsigned prot;
	} segs[] = {
		{ 1400, 1000, SEG_READ },	   { 6300, 400, SEG_PROT },
		{ 4300, 400, SEG_WRITE },	   { 3200, 1100, SEG_PROT },
		{ 4700, 1000, SEG_READ },	   { 0, 0, 0 },
		{ PT_VA_LIMIT - 10, 10, SEG_PROT }
	};
	static const uint64_t offs[] = {
		0, 1, 399, 400, 500, 999, 1000, 1099, 1100, 9, 10, UINT64_MAX
	};
	struct seg_table st;

	(void)state;
	seg_table_init(&st);
	for (unsigned s = 0; s < ARRAY_SIZE(segs); s++)
		assert_int_equal(seg_set(&st, s, segs[s].base, segs[s].limit,
					 segs[s].prot),
				 0);
	for (unsigned s = 0; s < ARRAY_SIZE(segs); s++)
		for (unsigned i = 0; i < ARRAY_SIZE(offs); i++)
			for (int w = 0; w < 2; w++) {
				uint64_t got = 1, want = 1;
				int rm = model(segs[s].base, segs[s].limit,
					       segs[s].prot, offs[i], w, &want);

				assert_int_equal(seg_translate(&st, s, offs[i],
							       w, &got),
						 rm);
				assert_true(got == want);
			}
	/* No such segment: a limit fault, as a selector past the table. */
	assert_int_equal(seg_translate(&st, SEG_MAX, 0, false,
				       &(uint64_t){ 0 }),
			 SEG_FAULT_LIMIT);
	/* Unused descriptors (limit 0) refuse everything. */
	assert_int_equal(seg_translate(&st, 7, 0, false, &(uint64_t){ 0 }),
			 SEG_FAULT_LIMIT);
}

static void test_segment_unit_set_refuses(void **state)
{
	struct seg_table st;

	(void)state;
	seg_table_init(&st);
	assert_int_equal(seg_set(&st, SEG_MAX, 0, 1, SEG_READ), -EINVAL);
	assert_int_equal(seg_set(&st, 0, 0, 1, 0x4), -EINVAL);
	assert_int_equal(seg_set(&st, 0, PT_VA_LIMIT, 1, SEG_READ), -EINVAL);
	assert_int_equal(seg_set(&st, 0, PT_VA_LIMIT - 1, 2, SEG_READ),
			 -EINVAL);
	assert_int_equal(seg_set(&st, 0, UINT64_MAX, UINT64_MAX, SEG_READ),
			 -EINVAL);
	assert_int_equal(seg_set(&st, 0, PT_VA_LIMIT - 1, 1, SEG_READ), 0);
}

/* ---- through the API --------------------------------------------------- */

struct seg_case {
	struct vm *vm;
	unsigned seg;
	uint64_t off;
	int write;
	struct vm_seg set; /* applied to seg when set.limit != 0 */
	uint64_t linear;   /* what vm_seg_translate said */
	int translate_rc, access_rc;
};

/* Task: optionally set a segment, translate, then access through it. */
static int seg_task(struct vm_task *t, void *arg)
{
	struct seg_case *c = arg;

	if (c->set.limit && vm_seg_set(t, c->seg, &c->set) != 0)
		return 90;
	c->translate_rc =
		vm_seg_translate(t, c->seg, c->off, c->write, &c->linear);
	c->access_rc = vm_seg_access(t, c->seg, c->off, c->write);
	return 0;
}

static void run_case(struct seg_case *c, struct vm_exit *ex)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	int pid = vm_spawn(vm, "seg", 0, seg_task, c);

	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, ex), pid);
	vmtest_destroy(vm);
}

static void test_segment_worked_example(void **state)
{
	/* Segment 3: base 7000, limit 1100 (the textbook's table). */
	struct seg_case c = { .seg = 3, .off = 500, .set = { 7000, 1100, RW } };
	struct vm_exit ex;

	(void)state;
	run_case(&c, &ex);
	assert_int_equal(c.translate_rc, 0);
	assert_true(c.linear == 7500);
	/* Segmentation let it through; paging then found no VMA at 7500
	 * (below vm.mmap_min_addr): the page walk's own SIGSEGV. */
	assert_int_equal(ex.reason, VM_EXIT_SEGV);
	assert_int_equal(ex.segv_cause, VM_SEGV_PAGE);
	assert_true(ex.fault_va == 7500);
	assert_int_equal(ex.segv_seg, -1);
}

static void test_segment_limit_violation(void **state)
{
	struct seg_case c = { .seg = 3,
			      .off = 1100,
			      .set = { 7000, 1100, RW } };
	struct vm_exit ex;

	(void)state;
	run_case(&c, &ex);
	assert_int_equal(c.translate_rc, VM_SEGV_SEG_LIMIT);
	assert_int_equal(ex.reason, VM_EXIT_SEGV);
	assert_int_equal(ex.segv_cause, VM_SEGV_SEG_LIMIT);
	assert_int_equal(ex.segv_seg, 3);
	assert_true(ex.fault_va == 1100);
	assert_string_equal(ex.msg, "segment 3: offset 0x44c >= limit 0x44c");
}

static void test_segment_permission_violation(void **state)
{
	/* A write through the default code segment (read-only). */
	struct seg_case c = { .seg = VM_SEG_CODE, .off = 16, .write = 1 };
	struct vm_exit ex;

	(void)state;
	run_case(&c, &ex);
	assert_int_equal(c.translate_rc, VM_SEGV_SEG_PERM);
	assert_int_equal(ex.reason, VM_EXIT_SEGV);
	assert_int_equal(ex.segv_cause, VM_SEGV_SEG_PERM);
	assert_int_equal(ex.segv_seg, VM_SEG_CODE);
	assert_string_equal(ex.msg, "segment 0 does not allow writing");
}

static void test_segment_page_cause_unchanged(void **state)
{
	/* The default stack segment maps onto the stack VMA: a read at its
	 * top works; an unused segment is a limit fault. */
	struct seg_case ok = { .seg = VM_SEG_STACK, .off = (8ULL << 20) - 8 };
	struct seg_case unused = { .seg = 6, .off = 0 };
	struct vm_exit ex;

	(void)state;
	run_case(&ok, &ex);
	assert_int_equal(ok.translate_rc, 0);
	assert_int_equal(ok.access_rc, 0);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.segv_seg, -1);
	run_case(&unused, &ex);
	assert_int_equal(ex.segv_cause, VM_SEGV_SEG_LIMIT);
	assert_int_equal(ex.segv_seg, 6);
}

/* ---- defaults, the walk behind a segment, fork ---------------------- */

struct layout_case {
	struct vm *vm;
	struct vm_seg seg[VM_SEG_MAX];
	uint64_t brk0, linear;
	struct vm_walk w;
	int rc;
};

static int layout_task(struct vm_task *t, void *arg)
{
	struct layout_case *c = arg;

	c->brk0 = vm_brk(t, 0);
	for (unsigned s = 0; s < VM_SEG_MAX; s++)
		if (vm_seg_get(t, s, &c->seg[s]) != 0)
			return 91;
	if (vm_brk(t, c->brk0 + PAGE) != c->brk0 + PAGE)
		return 92;
	c->rc = vm_seg_access(t, VM_SEG_HEAP, 100, 1);
	vm_seg_translate(t, VM_SEG_HEAP, 100, 1, &c->linear);
	return vm_walk(c->vm, vm_getpid(t), c->linear, &c->w);
}

static void test_segment_defaults_from_layout(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	struct layout_case c = { .vm = vm };
	struct vm_exit ex;
	int pid = vm_spawn(vm, "layout", 0, layout_task, &c);

	(void)state;
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	/* code [4 MiB, 8 MiB) read; data [8 MiB, start_brk) rw. */
	assert_true(c.seg[VM_SEG_CODE].base == 4ULL << 20);
	assert_true(c.seg[VM_SEG_CODE].limit == 4ULL << 20);
	assert_int_equal(c.seg[VM_SEG_CODE].prot, VM_PROT_READ);
	assert_true(c.seg[VM_SEG_DATA].base + c.seg[VM_SEG_DATA].limit ==
		    c.brk0);
	assert_true(c.seg[VM_SEG_HEAP].base == c.brk0);
	assert_int_equal(c.seg[VM_SEG_HEAP].prot, RW);
	/* The stack segment ends where the task's space does. */
	assert_true(c.seg[VM_SEG_STACK].base + c.seg[VM_SEG_STACK].limit ==
		    1ULL << 47);
	for (unsigned s = 4; s < VM_SEG_MAX; s++)
		assert_true(c.seg[s].limit == 0);
	/* heap:100 is brk0 + 100, and the walk finds it mapped, written. */
	assert_int_equal(c.rc, 0);
	assert_true(c.linear == c.brk0 + 100);
	assert_int_equal(c.w.state, VM_PTE_MAPPED);
	assert_true(c.w.pte & VM_PTE_DIRTY);
	vmtest_destroy(vm);
}

struct fork_case {
	struct vm *vm;
	struct vm_seg child_seg;
	struct vm_exit child_ex;
};

static int fork_child(struct vm_task *t, void *arg)
{
	struct fork_case *c = arg;

	return vm_seg_get(t, 5, &c->child_seg);
}

static int fork_parent(struct vm_task *t, void *arg)
{
	struct fork_case *c = arg;
	struct vm_seg s = { 1ULL << 30, 12345, VM_PROT_READ };
	int pid;

	if (vm_seg_set(t, 5, &s) != 0)
		return 93;
	pid = vm_fork(t, fork_child, c);
	if (pid < 0)
		return 94;
	return vm_wait(c->vm, pid, &c->child_ex) == pid ? 0 : 95;
}

static void test_segment_fork_inherits(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	struct fork_case c = { .vm = vm };
	struct vm_exit ex;
	int pid = vm_spawn(vm, "parent", 0, fork_parent, &c);

	(void)state;
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.code, 0);
	assert_int_equal(c.child_ex.code, 0);
	assert_true(c.child_seg.base == 1ULL << 30);
	assert_true(c.child_seg.limit == 12345);
	assert_int_equal(c.child_seg.prot, VM_PROT_READ);
	vmtest_destroy(vm);
}

static int bad_args_task(struct vm_task *t, void *arg)
{
	struct vm_seg s = { 0, 1, 0x4 },
		      big = { 1ULL << 47, (1ULL << 47) + 1, 0 };
	uint64_t lin;

	(void)arg;
	if (vm_seg_set(t, VM_SEG_MAX, &(struct vm_seg){ 0, 1, 0 }) != -EINVAL ||
	    vm_seg_set(t, 4, &s) != -EINVAL ||
	    vm_seg_set(t, 4, &big) != -EINVAL ||
	    vm_seg_get(t, VM_SEG_MAX, &s) != -EINVAL ||
	    vm_seg_translate(t, 0, 0, 2, &lin) != -EINVAL ||
	    vm_seg_access(t, 0, 0, 2) != -EINVAL ||
	    vm_seg_translate(NULL, 0, 0, 0, &lin) != -EINVAL)
		return 96;
	return 0;
}

static void test_segment_bad_arguments(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	struct vm_exit ex;
	int pid = vm_spawn(vm, "args", 0, bad_args_task, NULL);

	(void)state;
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	vmtest_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_unit_rule),
		cmocka_unit_test(test_segment_unit_set_refuses),
		VMTEST(test_segment_worked_example),
		VMTEST(test_segment_limit_violation),
		VMTEST(test_segment_permission_violation),
		VMTEST(test_segment_page_cause_unchanged),
		VMTEST(test_segment_defaults_from_layout),
		VMTEST(test_segment_fork_inherits),
		VMTEST(test_segment_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
