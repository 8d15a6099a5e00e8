/*
 * tests/test_mm.c - address spaces in trace mode, driven from the main
 * thread through a parked task: layout, mmap placement and merging,
 * munmap/mprotect splits, brk, stack growth, demand-zero and the zero
 * frame, exact A/D bits, the software TLB, bad input, and a randomized
 * differential test against a page-state model with mm_check after every
 * operation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mmu/pagetable.h"
#include "tests/lib/vmtest.h"
#include "vm/mm.h"
#include "vm/vma.h"

#define RW   (VM_PROT_READ | VM_PROT_WRITE)
#define ANON (VM_MAP_PRIVATE | VM_MAP_ANON)
#define MiB  (1ULL << 20)

struct fx {
	struct vm *vm;
	struct parked p;
};

static int setup(void **state)
{
	static struct fx fx;

	fx.vm = vmtest_create(VM_MODE_TRACE, 16 * MiB);
	if (park_spawn(fx.vm, &fx.p, "mm") < 0)
		return -1;
	*state = &fx;
	return 0;
}

#define MM_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, vmtest_teardown)

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

static void test_mm_layout(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	struct mm *mm = vmtest_mm(t);
	uint64_t a, b;

	assert_int_equal(vm_brk(t, 0), MM_START_BRK);
	assert_int_equal(vmtest_map_count(t), 1); /* the stack */
	a = vm_mmap(t, 0, 3 * PAGE_SIZE, RW, ANON);
	assert_false(vm_mmap_failed(a));
	assert_int_equal(a, mm->mmap_base - 3 * PAGE_SIZE);
	b = vm_mmap(t, 0, PAGE_SIZE, RW, ANON);
	assert_int_equal(b, a - PAGE_SIZE);	  /* top-down, adjacent */
	assert_int_equal(vmtest_map_count(t), 2); /* merged into one */
	b = vm_mmap(t, 0, PAGE_SIZE, VM_PROT_READ, ANON);
	assert_int_equal(vmtest_map_count(t), 3); /* other prot: apart */
	assert_int_equal(vmtest_check(t), 0);
	assert_int_equal(vm_munmap(t, b, 5 * PAGE_SIZE), 0);
	assert_int_equal(vmtest_map_count(t), 1);
	/* Reserved low region: never handed out, fixed maps refused. */
	a = vm_mmap(t, 0, PAGE_SIZE, RW, ANON | VM_MAP_FIXED);
	assert_true(vm_mmap_failed(a));
	assert_int_equal(vm_mmap_error(a), -EPERM);
}

static void test_mm_hint_and_fixed(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t hint = 0x40000000, a;

	a = vm_mmap(t, hint, 4 * PAGE_SIZE, RW, ANON);
	assert_int_equal(a, hint);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vmtest_store(t, a + i * PAGE_SIZE, 0xa0 + i),
				 0);
	/* Occupied hint: placed elsewhere. */
	a = vm_mmap(t, hint, PAGE_SIZE, RW, ANON);
	assert_int_not_equal(a, hint);
	assert_int_equal(vm_munmap(t, a, PAGE_SIZE), 0);
	/* MAP_FIXED over the middle replaces it: fresh zero page. */
	a = vm_mmap(t, hint + PAGE_SIZE, PAGE_SIZE, RW, ANON | VM_MAP_FIXED);
	assert_int_equal(a, hint + PAGE_SIZE);
	uint8_t v = 0xff;
	assert_int_equal(vmtest_load(t, hint + PAGE_SIZE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vmtest_load(t, hint + 2 * PAGE_SIZE, &v), 0);
	assert_int_equal(v, 0xa2);
	assert_int_equal(vmtest_map_count(t), 2); /* merged back */
	assert_int_equal(vmtest_check(t), 0);
	assert_int_equal(vm_munmap(t, hint, 4 * PAGE_SIZE), 0);
}

static void test_mm_munmap_frees_frames(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t free0 =
		stat_of(fx->vm).nr_free_pages + vmtest_slab_pages(fx->vm);
	uint64_t pt0 = stat_of(fx->vm).nr_page_table_pages;
	uint64_t a = vm_mmap(t, 0, 10 * PAGE_SIZE, RW, ANON);

	for (int i = 0; i < 10; i++)
		assert_int_equal(vmtest_store(t, a + i * PAGE_SIZE, i), 0);
	/* Exactly: 10 data frames and the tables the walk made. */
	assert_int_equal(
		stat_of(fx->vm).nr_free_pages + vmtest_slab_pages(fx->vm),
		free0 - 10 - (stat_of(fx->vm).nr_page_table_pages - pt0));
	assert_int_equal(vm_munmap(t, a + 4 * PAGE_SIZE, 2 * PAGE_SIZE), 0);
	assert_int_equal(vmtest_map_count(t), 3); /* split around the hole */
	assert_int_equal(vmtest_pte(t, a + 4 * PAGE_SIZE), 0);
	assert_int_equal(vmtest_pte(t, a + 5 * PAGE_SIZE), 0);
	assert_int_equal(*vmtest_frame(t, a + 6 * PAGE_SIZE), 6);
	assert_int_equal(vmtest_check(t), 0);
	assert_int_equal(vm_munmap(t, a, 10 * PAGE_SIZE), 0);
	/* Every data frame and page-table page came back (or sits in slab). */
	assert_int_equal(stat_of(fx->vm).nr_anon_pages, 0);
	assert_int_equal(stat_of(fx->vm).nr_page_table_pages, pt0);
	assert_int_equal(stat_of(fx->vm).nr_free_pages +
				 vmtest_slab_pages(fx->vm),
			 free0);
}

static void test_mm_mprotect_split_merge(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t a = vm_mmap(t, 0, 8 * PAGE_SIZE, RW, ANON);
	uint64_t pte;

	for (int i = 0; i < 8; i++)
		assert_int_equal(vmtest_store(t, a + i * PAGE_SIZE, i), 0);
	assert_int_equal(vm_mprotect(t, a + 2 * PAGE_SIZE, 3 * PAGE_SIZE,
				     VM_PROT_READ),
			 0);
	assert_int_equal(vmtest_map_count(t), 4);
	pte = vmtest_pte(t, a + 3 * PAGE_SIZE);
	assert_true(pte_present(pte));
	assert_false(pte & PTE_WRITE);
	assert_true(vmtest_pte(t, a + 5 * PAGE_SIZE) & PTE_WRITE);
	assert_int_equal(vmtest_check(t), 0);
	/* Back to RW: VMAs merge; the first write reuses the frame. */
	assert_int_equal(vm_mprotect(t, a + 2 * PAGE_SIZE, 3 * PAGE_SIZE, RW),
			 0);
	assert_int_equal(vmtest_map_count(t), 2);
	uint64_t reuse0 = stat_of(fx->vm).cow_reuse;
	assert_int_equal(vmtest_store(t, a + 3 * PAGE_SIZE, 33), 0);
	assert_int_equal(stat_of(fx->vm).cow_reuse, reuse0 + 1);
	assert_int_equal(*vmtest_frame(t, a + 3 * PAGE_SIZE), 33);
	/* A hole makes mprotect fail without changing anything. */
	assert_int_equal(vm_munmap(t, a + 7 * PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(vm_mprotect(t, a, 9 * PAGE_SIZE, VM_PROT_READ),
			 -ENOMEM);
	assert_true(vmtest_pte(t, a) & PTE_WRITE);
	assert_int_equal(vmtest_check(t), 0);
	assert_int_equal(vm_munmap(t, a, 8 * PAGE_SIZE), 0);
}

static void test_mm_brk(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t base = vm_brk(t, 0), free0;

	assert_int_equal(vm_brk(t, base - 1), base); /* below start: no */
	assert_int_equal(vm_brk(t, base + 10000), base + 10000);
	for (uint64_t va = base; va < base + 10000; va += PAGE_SIZE)
		assert_int_equal(vmtest_store(t, va, 7), 0);
	assert_int_equal(vmtest_map_count(t), 2);
	/* Growth into an existing mapping is refused. */
	uint64_t blocker = vm_mmap(t, base + 16 * PAGE_SIZE, PAGE_SIZE, RW,
				   ANON | VM_MAP_FIXED);
	assert_int_equal(blocker, base + 16 * PAGE_SIZE);
	assert_int_equal(vm_brk(t, base + 20 * PAGE_SIZE), base + 10000);
	assert_int_equal(vm_munmap(t, blocker, PAGE_SIZE), 0);
	/* Shrinking releases the frames above the new break. */
	free0 = stat_of(fx->vm).nr_free_pages;
	assert_int_equal(vm_brk(t, base + 1), base + 1);
	assert_int_equal(stat_of(fx->vm).nr_free_pages, free0 + 2);
	assert_int_equal(*vmtest_frame(t, base), 7);
	assert_int_equal(vmtest_pte(t, base + PAGE_SIZE), 0);
	assert_int_equal(vm_brk(t, base), base);
	assert_int_equal(vmtest_map_count(t), 1);
	assert_int_equal(vmtest_check(t), 0);
}

static void test_mm_zero_page_and_ad_bits(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t a = vm_mmap(t, 0, 2 * PAGE_SIZE, RW, ANON);
	struct vm_stat s0 = stat_of(fx->vm), s1;
	uint8_t v = 1;
	uint64_t pte;

	assert_int_equal(vmtest_load(t, a, &v), 0);
	assert_int_equal(v, 0);
	pte = vmtest_pte(t, a);
	assert_true(pte & PTE_SPECIAL);
	assert_true(pte & PTE_ACCESSED);
	assert_false(pte & (PTE_WRITE | PTE_DIRTY));
	s1 = stat_of(fx->vm);
	assert_int_equal(s1.pgfault, s0.pgfault + 1);
	assert_int_equal(s1.zero_page_map, s0.zero_page_map + 1);
	assert_int_equal(s1.nr_anon_pages, s0.nr_anon_pages);
	/* Write after read: a private zeroed frame, not a copy. */
	assert_int_equal(vmtest_store(t, a + 5, 9), 0);
	pte = vmtest_pte(t, a);
	assert_false(pte & PTE_SPECIAL);
	assert_true((pte & (PTE_WRITE | PTE_DIRTY | PTE_ACCESSED)) ==
		    (PTE_WRITE | PTE_DIRTY | PTE_ACCESSED));
	s0 = stat_of(fx->vm);
	assert_int_equal(s0.pgfault, s1.pgfault + 1);
	assert_int_equal(s0.cow_fault, s1.cow_fault);
	assert_int_equal(s0.nr_anon_pages, s1.nr_anon_pages + 1);
	assert_int_equal(vmtest_frame(t, a)[0], 0);
	assert_int_equal(vmtest_frame(t, a)[5], 9);
	/* A direct first write: one fault, dirty at once. */
	assert_int_equal(vm_access(t, a + PAGE_SIZE, 1), 0);
	assert_true(vmtest_pte(t, a + PAGE_SIZE) & PTE_DIRTY);
	assert_int_equal(stat_of(fx->vm).pgfault, s0.pgfault + 1);
	assert_int_equal(vmtest_check(t), 0);
	assert_int_equal(vm_munmap(t, a, 2 * PAGE_SIZE), 0);
}

static void test_mm_tlb_hits_and_shootdown(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t a = vm_mmap(t, 0, PAGE_SIZE, RW, ANON);
	struct vm_stat s0, s1;

	assert_int_equal(vm_access(t, a, 1), 0);
	s0 = stat_of(fx->vm);
	for (int i = 0; i < 100; i++)
		assert_int_equal(vm_access(t, a + i, i & 1), 0);
	s1 = stat_of(fx->vm);
	assert_int_equal(s1.tlb_hit, s0.tlb_hit + 100);
	assert_int_equal(s1.tlb_miss, s0.tlb_miss);
	assert_int_equal(s1.pgfault, s0.pgfault);
	/* mprotect to read-only shoots the entry down: writes now fail. */
	assert_int_equal(vm_mprotect(t, a, PAGE_SIZE, VM_PROT_READ), 0);
	assert_int_equal(vm_access(t, a, 0), 0);
	assert_int_equal(stat_of(fx->vm).tlb_miss, s1.tlb_miss + 1);
	assert_int_equal(vm_munmap(t, a, PAGE_SIZE), 0);
}

static void test_mm_bad_input(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t a = vm_mmap(t, 0, PAGE_SIZE, RW, ANON);

	assert_int_equal(vm_mmap_error(vm_mmap(t, 0, 0, RW, ANON)), -EINVAL);
	assert_int_equal(vm_mmap_error(vm_mmap(t, 0, SIZE_MAX, RW, ANON)),
			 -ENOMEM);
	/* Larger than the space, and larger than any gap left in it. */
	assert_int_equal(
		vm_mmap_error(vm_mmap(t, 0, vmtest_mm(t)->task_size + PAGE_SIZE,
				      RW, ANON)),
		-ENOMEM);
	assert_int_equal(
		vm_mmap_error(vm_mmap(t, 0, vmtest_mm(t)->mmap_base, RW, ANON)),
		-ENOMEM);
	assert_int_equal(vm_mmap_error(vm_mmap(t, 0, PAGE_SIZE, 0x4, ANON)),
			 -EINVAL);
	assert_int_equal(
		vm_mmap_error(vm_mmap(t, 0, PAGE_SIZE, RW, 0x1000 | ANON)),
		-EINVAL);
	assert_int_equal(
		vm_mmap_error(vm_mmap(t, 0, PAGE_SIZE, RW, VM_MAP_ANON)),
		-EINVAL);
	assert_int_equal(
		vm_mmap_error(vm_mmap(t, 0, PAGE_SIZE, RW, VM_MAP_PRIVATE)),
		-EINVAL);
	assert_int_equal(vm_mmap_error(vm_mmap(t, 0x40000001, PAGE_SIZE, RW,
					       ANON | VM_MAP_FIXED)),
			 -EINVAL);
	assert_int_equal(vm_munmap(t, a + 1, PAGE_SIZE), -EINVAL);
	assert_int_equal(vm_munmap(t, a, 0), -EINVAL);
	assert_int_equal(vm_munmap(t, a, UINT64_MAX - a + 2), -EINVAL);
	assert_int_equal(vm_mprotect(t, a, PAGE_SIZE, 0x8), -EINVAL);
	assert_int_equal(vm_mprotect(t, a + 1, PAGE_SIZE, RW), -EINVAL);
	assert_int_equal(vm_access(t, a, 2), -EINVAL);
	assert_int_equal(vm_access(NULL, a, 0), -EINVAL);
	assert_int_equal(vm_getpid(NULL), -EINVAL);
	assert_int_equal(vm_wait(fx->vm, 4242, NULL), -ESRCH);
	assert_int_equal(vm_spawn(fx->vm, "x", 1001, (vm_task_fn)1, NULL),
			 -EINVAL);
	assert_int_equal(vm_spawn(fx->vm, "x", 0, NULL, NULL), -EINVAL);
	assert_int_equal(vm_fork(fx->p.t, NULL, NULL), -EINVAL);
	/* Nothing of the above changed the address space. */
	assert_int_equal(vmtest_map_count(t), 2);
	assert_int_equal(vmtest_check(t), 0);
	assert_int_equal(vm_munmap(t, a, PAGE_SIZE), 0);
}

/* ---- tasks that die: each gets its own parked task ---------------- */

static void expect_segv(struct vm *vm, uint64_t (*prep)(struct vm_task *),
			int write)
{
	struct parked p;
	struct vm_exit ex;
	uint64_t va;

	assert_true(park_spawn(vm, &p, "victim") > 0);
	va = prep(p.t);
	assert_int_equal(vm_access(p.t, va, write), -EFAULT);
	/* Killed: every later call refuses. */
	assert_true(vm_mmap_failed(vm_mmap(p.t, 0, PAGE_SIZE, RW, ANON)));
	assert_int_equal(park_release(&p, &ex), p.pid);
	assert_int_equal(ex.reason, VM_EXIT_SEGV);
	assert_int_equal(ex.fault_va, va);
}

static uint64_t prep_null(struct vm_task *t)
{
	(void)t;
	return 0;
}

static uint64_t prep_readonly(struct vm_task *t)
{
	return vm_mmap(t, 0, PAGE_SIZE, VM_PROT_READ, ANON);
}

static uint64_t prep_none(struct vm_task *t)
{
	uint64_t a = vm_mmap(t, 0, PAGE_SIZE, RW, ANON);

	assert_int_equal(vm_access(t, a, 1), 0);
	assert_int_equal(vm_mprotect(t, a, PAGE_SIZE, VM_PROT_NONE), 0);
	return a;
}

static uint64_t prep_unmapped(struct vm_task *t)
{
	uint64_t a = vm_mmap(t, 0, 2 * PAGE_SIZE, RW, ANON);

	assert_int_equal(vm_munmap(t, a + PAGE_SIZE, PAGE_SIZE), 0);
	return a + PAGE_SIZE;
}

static uint64_t prep_beyond_stack(struct vm_task *t)
{
	return vmtest_mm(t)->task_size - MM_STACK_MAX - PAGE_SIZE;
}

static uint64_t prep_beyond_task(struct vm_task *t)
{
	return vmtest_mm(t)->task_size;
}

static void test_mm_segv_cases(void **state)
{
	struct fx *fx = *state;

	expect_segv(fx->vm, prep_null, 0);
	expect_segv(fx->vm, prep_readonly, 1);
	expect_segv(fx->vm, prep_none, 0);
	expect_segv(fx->vm, prep_unmapped, 0);
	expect_segv(fx->vm, prep_beyond_stack, 1);
	expect_segv(fx->vm, prep_beyond_task, 0);
	assert_int_equal(stat_of(fx->vm).segv, 6);
	/* The parked task of the fixture is unaffected. */
	assert_int_equal(vmtest_check(fx->p.t), 0);
}

static void test_mm_stack_grows(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t top = vmtest_mm(t)->task_size;

	assert_int_equal(vmtest_store(t, top - 1, 1), 0);
	assert_int_equal(vmtest_store(t, top - MM_STACK_MAX, 2), 0);
	assert_int_equal(vmtest_map_count(t), 1);
	assert_int_equal(*vmtest_frame(t, top - MM_STACK_MAX), 2);
	assert_int_equal(vmtest_check(t), 0);
}

/*
 * Out of frames (nothing to reclaim yet): the faulting task ends
 * OOM_KILLED, its address space stays consistent up to its exit, and a
 * bystander is untouched.  With min_free_kbytes = 16 the min watermark is
 * exactly 4 frames: a task's pages stop there (each allocation must leave
 * 4 free).  A write to a fresh 2 MiB region then needs a PTE table and a
 * data frame: the table may dip into the reserve below min (down to 2),
 * the data frame may not; the fault fails, gives the table back (no empty
 * table stays behind) and, reclaim having nothing (no swap), the OOM
 * killer runs: it chooses the hog (the most memory) and reaps it at once.
 * With every task exempt (oom_score_adj -1000) it has no candidate, and
 * the allocating task ends without anything being reaped.
 */
#define OOM_MIN_FREE_KBYTES 16
#define OOM_MIN_PAGES	    4

static void test_mm_oom_kills_the_faulting_task(void **state)
{
	struct vm_config cfg;
	struct parked hog, bystander;
	struct vm_exit ex;
	struct vm *vm;
	uint64_t a, b, i, pt0;
	uint8_t v;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 96 * PAGE_SIZE;
	cfg.min_free_kbytes = OOM_MIN_FREE_KBYTES;
	vm = vmtest_create_cfg(&cfg);
	assert_true(park_spawn(vm, &bystander, "bystander") > 0);
	b = vm_mmap(bystander.t, 0, PAGE_SIZE, RW, ANON);
	assert_int_equal(vmtest_store(bystander.t, b, 0x77), 0);
	assert_true(park_spawn(vm, &hog, "hog") > 0);
	a = vm_mmap(hog.t, 0, 4ULL << 20, RW, ANON);
	assert_int_equal(a % (2ULL << 20), 0);
	for (i = 0; stat_of(vm).nr_free_pages > OOM_MIN_PAGES; i++)
		assert_int_equal(vm_access(hog.t, a + i * PAGE_SIZE, 1), 0);
	/* Ordinary pages never take the last min frames. */
	assert_int_equal(vm_access(hog.t, a + i * PAGE_SIZE, 1), -ENOMEM);
	assert_int_equal(stat_of(vm).oom_kill, 1);
	/* Reaped at once: its i frames are free before it even leaves. */
	assert_true(stat_of(vm).nr_free_pages >= OOM_MIN_PAGES + i);
	assert_int_equal(park_release(&hog, &ex), hog.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);

	/* The table from the reserve is given back when the data fails. */
	assert_true(park_spawn(vm, &hog, "hog2") > 0);
	assert_int_equal(vm_set_oom_score_adj(vm, hog.pid, -1000), 0);
	assert_int_equal(vm_set_oom_score_adj(vm, bystander.pid, -1000), 0);
	a = vm_mmap(hog.t, 0, 4ULL << 20, RW, ANON);
	for (i = 0; stat_of(vm).nr_free_pages > OOM_MIN_PAGES; i++)
		assert_int_equal(vm_access(hog.t, a + i * PAGE_SIZE, 1), 0);
	pt0 = stat_of(vm).nr_page_table_pages;
	assert_int_equal(vm_access(hog.t, a + (2ULL << 20), 1), -ENOMEM);
	assert_int_equal(stat_of(vm).nr_page_table_pages, pt0);
	assert_int_equal(stat_of(vm).nr_free_pages, OOM_MIN_PAGES);
	assert_int_equal(vmtest_check(hog.t), 0);
	assert_int_equal(stat_of(vm).oom_kill, 2);
	assert_int_equal(park_release(&hog, &ex), hog.pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	assert_int_equal(vmtest_load(bystander.t, b, &v), 0);
	assert_int_equal(v, 0x77);
	assert_int_equal(vmtest_check(bystander.t), 0);
	assert_int_equal(park_release(&bystander, NULL), bystander.pid);
	vmtest_destroy(vm);
}

/* ---- mm_check looks ------------------------------------------------- */

/*
 * Corrupt one thing at a time (machine lock held), check that mm_check
 * names it, restore, check that it is clean again.
 */
#define EXPECT_MM(mm, expr_bad, code, expr_fix)         \
	do {                                            \
		expr_bad;                               \
		assert_int_equal(mm_check(mm), (code)); \
		expr_fix;                               \
		assert_int_equal(mm_check(mm), 0);      \
	} while (0)

static void test_mm_check_catches_corruption(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	struct mm *mm = vmtest_mm(t);
	uint64_t a = vm_mmap(t, 0, 4 * PAGE_SIZE, RW, ANON);
	uint64_t z = vm_mmap(t, 0, PAGE_SIZE, VM_PROT_READ, ANON);
	struct vma *v, *vz;
	struct page *pg;
	pte_t *ptep, *zp, saved;
	uint8_t b;

	assert_int_equal(vmtest_store(t, a, 1), 0);
	assert_int_equal(vmtest_load(t, z, &b), 0); /* the zero frame */
	vmtest_lock(fx->vm);
	v = vma_find(mm, a);
	vz = vma_find(mm, z);
	ptep = pt_walk(&mm->pt, a);
	zp = pt_walk(&mm->pt, z);
	saved = *ptep;
	pg = phys_page(&mm->vm->phys, pte_pfn(saved));
	assert_int_equal(mm_check(mm), 0);
	EXPECT_MM(mm, v->end = v->start, MM_CHECK_VMA_RANGE,
		  v->end = a + 4 * PAGE_SIZE);
	EXPECT_MM(mm, vz->end = a + PAGE_SIZE, MM_CHECK_VMA_ORDER,
		  vz->end = z + PAGE_SIZE); /* overlaps the next one */
	EXPECT_MM(mm, mm->map_count++, MM_CHECK_MAP_COUNT, mm->map_count--);
	EXPECT_MM(mm, pt_set(&mm->pt, ptep + 1, PTE_HMAP_R),
		  MM_CHECK_HMAP_ABSENT, pt_set(&mm->pt, ptep + 1, 0));
	EXPECT_MM(mm, v->start = a + PAGE_SIZE, MM_CHECK_NO_VMA, v->start = a);
	EXPECT_MM(mm, v->prot = VM_PROT_NONE, MM_CHECK_WRITE_PROT,
		  v->prot = RW);
	EXPECT_MM(mm, *ptep = (saved & ~PTE_DIRTY) | PTE_HMAP_W,
		  MM_CHECK_HMAP_W, *ptep = saved);
	EXPECT_MM(mm, *ptep = saved | PTE_HMAP_R, MM_CHECK_HMAP_NOWIN,
		  *ptep = saved);
	EXPECT_MM(mm, *zp ^= pfn_pte(1, 0), MM_CHECK_ZERO,
		  *zp ^= pfn_pte(1, 0));
	EXPECT_MM(mm, pg->flags &= ~(uint32_t)PG_anon, MM_CHECK_PAGE,
		  pg->flags |= PG_anon);
	EXPECT_MM(mm, pg->_refcount++, MM_CHECK_SHARED_W, pg->_refcount--);
	EXPECT_MM(mm,
		  (*ptep = saved & ~PTE_WRITE, pg->_mapcount++,
		   pg->_refcount++),
		  MM_CHECK_RMAP,
		  (*ptep = saved, pg->_mapcount--, pg->_refcount--));
	EXPECT_MM(mm, mm->rss_anon++, MM_CHECK_RSS, mm->rss_anon--);
	EXPECT_MM(mm, mm->swapents++, MM_CHECK_SWAPENTS, mm->swapents--);
	EXPECT_MM(
		mm,
		phys_page(&mm->vm->phys, ((uintptr_t)ptep -
					  (uintptr_t)mm->vm->phys.direct_map) >>
						 PAGE_SHIFT)
			->pt.nr_used++,
		MM_CHECK_PT,
		phys_page(&mm->vm->phys, ((uintptr_t)ptep -
					  (uintptr_t)mm->vm->phys.direct_map) >>
						 PAGE_SHIFT)
			->pt.nr_used--);
	vmtest_unlock(fx->vm);
}

/* The checks that need a window or a second VMA, in native mode. */
static void test_mm_check_catches_corruption_native(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 16 * MiB);
	struct parked p;
	struct vma *v, *w;
	struct mm *mm;
	pte_t *ptep, saved;
	uint64_t a, b;

	(void)state;
	assert_true(park_spawn(vm, &p, "native") > 0);
	a = vm_mmap(p.t, 0, 2 * PAGE_SIZE, RW, ANON);
	b = vm_mmap(p.t, a + 2 * PAGE_SIZE, PAGE_SIZE, VM_PROT_READ, ANON);
	assert_int_equal(b, a + 2 * PAGE_SIZE);
	assert_int_equal(vmtest_store(p.t, a, 1), 0);
	mm = vmtest_mm(p.t);
	vmtest_lock(vm);
	v = vma_find(mm, a);
	w = vma_find(mm, b);
	ptep = pt_walk(&mm->pt, a);
	saved = *ptep;
	assert_int_equal(mm_check(mm), 0);
	EXPECT_MM(mm, w->prot = RW, MM_CHECK_VMA_MERGE, w->prot = VM_PROT_READ);
	EXPECT_MM(mm, *ptep = (saved & ~PTE_ACCESSED) | PTE_HMAP_R,
		  MM_CHECK_HMAP_OLD, *ptep = saved);
	EXPECT_MM(mm, *ptep = (saved & ~(PTE_ACCESSED | PTE_HMAP)) | PTE_AGED,
		  MM_CHECK_AGED_OLD, *ptep = saved);
	(void)v;
	vmtest_unlock(vm);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

/* ---- randomized differential test ----------------------------------- */

#define ARENA_PAGES 64
enum { M_UNMAPPED, M_MAPPED };

struct model_page {
	int state;
	int prot;
	uint8_t byte; /* expected content of byte 0 (0 when untouched) */
};

static void model_check(struct vm_task *t, uint64_t base,
			const struct model_page *m)
{
	for (int i = 0; i < ARENA_PAGES; i++) {
		uint64_t va = base + (uint64_t)i * PAGE_SIZE;
		uint64_t pte = vmtest_pte(t, va);

		if (m[i].state == M_UNMAPPED) {
			assert_false(pte_present(pte));
			continue;
		}
		if (pte_present(pte))
			assert_int_equal(*vmtest_frame(t, va), m[i].byte);
		else
			assert_int_equal(m[i].byte, 0);
		if (pte & PTE_WRITE)
			assert_true(m[i].prot & VM_PROT_WRITE);
	}
	assert_int_equal(vmtest_check(t), 0);
}

static void random_op(struct vm_task *t, uint64_t base, struct model_page *m,
		      uint64_t *rs)
{
	int i = (int)(vmtest_rand(rs) % ARENA_PAGES);
	int n = 1 + (int)(vmtest_rand(rs) % 8);
	int op = (int)(vmtest_rand(rs) % 5);
	uint64_t va = base + (uint64_t)i * PAGE_SIZE;
	int prot = (vmtest_rand(rs) & 1) ? RW : VM_PROT_READ;

	if (i + n > ARENA_PAGES)
		n = ARENA_PAGES - i;
	if (op == 0) { /* map fixed */
		assert_int_equal(vm_mmap(t, va, (size_t)n * PAGE_SIZE, prot,
					 ANON | VM_MAP_FIXED),
				 va);
		for (int k = i; k < i + n; k++)
			m[k] = (struct model_page){ M_MAPPED, prot, 0 };
	} else if (op == 1) {
		assert_int_equal(vm_munmap(t, va, (size_t)n * PAGE_SIZE), 0);
		for (int k = i; k < i + n; k++)
			m[k].state = M_UNMAPPED;
	} else if (op == 2) {
		bool all = true;
		for (int k = i; k < i + n; k++)
			all &= m[k].state == M_MAPPED;
		assert_int_equal(vm_mprotect(t, va, (size_t)n * PAGE_SIZE,
					     prot),
				 all ? 0 : -ENOMEM);
		for (int k = i; all && k < i + n; k++)
			m[k].prot = prot;
	} else if (m[i].state == M_MAPPED && (m[i].prot & VM_PROT_WRITE) &&
		   op == 3) {
		uint8_t v = (uint8_t)vmtest_rand(rs);
		assert_int_equal(vmtest_store(t, va, v), 0);
		m[i].byte = v;
	} else if (m[i].state == M_MAPPED) {
		uint8_t v;
		assert_int_equal(vmtest_load(t, va, &v), 0);
		assert_int_equal(v, m[i].byte);
	}
}

static void test_mm_random_vs_model(void **state)
{
	struct fx *fx = *state;
	struct vm_task *t = fx->p.t;
	uint64_t rs = vmtest_seed("test_mm_random_vs_model");
	struct model_page m[ARENA_PAGES] = { 0 };
	uint64_t base = 0x100000000ULL;

	for (int step = 0; step < 4000; step++) {
		random_op(t, base, m, &rs);
		if (step % 16 == 0)
			model_check(t, base, m);
	}
	model_check(t, base, m);
	assert_int_equal(vm_munmap(t, base, ARENA_PAGES * PAGE_SIZE), 0);
	assert_int_equal(vmtest_check(t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		MM_TEST(test_mm_layout),
		MM_TEST(test_mm_hint_and_fixed),
		MM_TEST(test_mm_munmap_frees_frames),
		MM_TEST(test_mm_mprotect_split_merge),
		MM_TEST(test_mm_brk),
		MM_TEST(test_mm_zero_page_and_ad_bits),
		MM_TEST(test_mm_tlb_hits_and_shootdown),
		MM_TEST(test_mm_bad_input),
		MM_TEST(test_mm_segv_cases),
		MM_TEST(test_mm_stack_grows),
		VMTEST(test_mm_oom_kills_the_faulting_task),
		MM_TEST(test_mm_random_vs_model),
		MM_TEST(test_mm_check_catches_corruption),
		VMTEST(test_mm_check_catches_corruption_native),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
