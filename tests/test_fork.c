/*
 * tests/test_fork.c - fork and copy-on-write, in both modes.
 *
 * The property Linux's mm selftests check in cow.c: after fork, writes by
 * the parent and by the child never leak into each other, across several
 * generations.  A model keeps, for every task and page, the byte that task
 * must read; random stores, loads, forks and exits are applied to vmemu
 * and to the model, with mm_check (PTE/refcount/rmap invariants) on every
 * live task as we go.  In native mode the stores are real CPU stores
 * through the task's window, resolved by the trap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mmu/pagetable.h"
#include "tests/lib/vmtest.h"
#include "vm/machine.h"
#include "vm/mm.h"
#include "vm/rmap.h"

#define RW	  (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	  (VM_MAP_PRIVATE | VM_MAP_ANON)
#define NPAGES	  48
#define MAX_TASKS 8

struct model_task {
	bool live;
	struct parked p;
	uint8_t byte[NPAGES]; /* what this task must read at each page */
};

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

static void verify_task(struct model_task *m, uint64_t base)
{
	for (int i = 0; i < NPAGES; i++) {
		uint8_t v = 0xee;

		assert_int_equal(
			vmtest_cpu_load(m->p.t, base + i * PAGE_SIZE, &v), 0);
		assert_int_equal(v, m->byte[i]);
	}
	assert_int_equal(vmtest_check(m->p.t), 0);
}

static int pick_live(struct model_task *m, uint64_t *rs)
{
	for (;;) {
		int i = (int)(vmtest_rand(rs) % MAX_TASKS);

		if (m[i].live)
			return i;
	}
}

static int free_slot(struct model_task *m)
{
	for (int i = 0; i < MAX_TASKS; i++)
		if (!m[i].live)
			return i;
	return -1;
}

static void fork_op(struct model_task *m, int from, uint64_t base)
{
	int to = free_slot(m);

	if (to < 0)
		return;
	assert_true(park_fork(&m[from].p, &m[to].p) > 0);
	m[to].live = true;
	memcpy(m[to].byte, m[from].byte, NPAGES);
	verify_task(&m[to], base);
}

static void exit_op(struct model_task *m, int i, int *nlive)
{
	struct vm_exit ex;

	if (*nlive == 1)
		return;
	assert_int_equal(park_release(&m[i].p, &ex), m[i].p.pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	m[i].live = false;
	(*nlive)--;
}

static void run_generations(enum vm_mode mode, const char *name,
			    unsigned fault_around)
{
	struct vm_config cfg;
	struct vm *vm;
	static struct model_task m[MAX_TASKS];
	uint64_t rs = vmtest_seed(name), base, free0;
	int nlive = 1;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = 32ULL << 20;
	cfg.anon_fault_around = fault_around;
	vm = vmtest_create_cfg(&cfg);
	free0 = stat_of(vm).nr_free_pages + vmtest_slab_pages(vm);

	memset(m, 0, sizeof(m));
	assert_true(park_spawn(vm, &m[0].p, "gen0") > 0);
	m[0].live = true;
	base = vm_mmap(m[0].p.t, 0, NPAGES * PAGE_SIZE, RW, ANON);
	assert_false(vm_mmap_failed(base));
	for (int step = 0; step < 3000; step++) {
		int i = pick_live(m, &rs), op = (int)(vmtest_rand(&rs) % 100);
		int pg = (int)(vmtest_rand(&rs) % NPAGES);
		uint8_t v = (uint8_t)vmtest_rand(&rs);

		if (op < 60) {
			assert_int_equal(vmtest_cpu_store(m[i].p.t,
							  base + pg * PAGE_SIZE,
							  v),
					 0);
			m[i].byte[pg] = v;
		} else if (op < 90) {
			assert_int_equal(vmtest_cpu_load(m[i].p.t,
							 base + pg * PAGE_SIZE,
							 &v),
					 0);
			assert_int_equal(v, m[i].byte[pg]);
		} else if (op < 96) {
			nlive += free_slot(m) >= 0;
			fork_op(m, i, base);
		} else {
			exit_op(m, i, &nlive);
		}
	}
	for (int i = 0; i < MAX_TASKS; i++) {
		if (!m[i].live)
			continue;
		verify_task(&m[i], base);
		assert_int_equal(park_release(&m[i].p, NULL), m[i].p.pid);
	}
	/* All gone: every frame is free again or cached by the slab. */
	assert_int_equal(stat_of(vm).nr_anon_pages, 0);
	assert_int_equal(stat_of(vm).nr_page_table_pages, 0);
	assert_int_equal(stat_of(vm).nr_free_pages + vmtest_slab_pages(vm),
			 free0);
	vmtest_destroy(vm);
}

static void test_fork_generations_trace(void **state)
{
	(void)state;
	run_generations(VM_MODE_TRACE, "test_fork_generations_trace", 0);
}

static void test_fork_generations_native(void **state)
{
	(void)state;
	run_generations(VM_MODE_NATIVE, "test_fork_generations_native", 0);
}

/* The same with 16-page anonymous fault-around: split blocks under COW. */
static void test_fork_generations_fault_around(void **state)
{
	(void)state;
	run_generations(VM_MODE_NATIVE, "test_fork_generations_fault_around",
			16);
	run_generations(VM_MODE_TRACE, "test_fork_generations_fault_around",
			16);
}

/* ---- worked example: counts, rmap, reuse ------------------------- */

struct rmap_seen {
	struct mm *mm[MAX_TASKS];
	unsigned n;
};

static void seen_visit(void *arg, struct mm *mm, vaddr_t va)
{
	struct rmap_seen *s = arg;

	(void)va;
	s->mm[s->n++] = mm;
}

static struct page *page_at(struct vm_task *t, uint64_t va)
{
	pte_t pte = vmtest_pte(t, va);

	assert_true(pte_present(pte));
	return phys_page(&t->vm->phys, pte_pfn(pte));
}

static void fork_worked_example(enum vm_mode mode)
{
	struct vm *vm = vmtest_create(mode, 16ULL << 20);
	struct parked p, c[3];
	struct rmap_seen seen = { 0 };
	struct vm_stat s0, s1;
	uint64_t a;
	uint8_t v;

	assert_true(park_spawn(vm, &p, "parent") > 0);
	a = vm_mmap(p.t, 0, 2 * PAGE_SIZE, RW, ANON);
	assert_int_equal(vmtest_cpu_store(p.t, a, 0x11), 0);
	assert_int_equal(vmtest_cpu_load(p.t, a + PAGE_SIZE, &v), 0);
	for (int i = 0; i < 3; i++)
		assert_true(park_fork(&p, &c[i]) > 0);
	/* One frame, four mappings, all COW; the zero page is shared too. */
	struct page *pg = page_at(p.t, a);
	assert_int_equal(pg->_refcount, 4);
	assert_int_equal(pg->_mapcount, 4);
	assert_int_equal(rmap_walk(pg, seen_visit, &seen), 4);
	for (int i = 0; i < 3; i++) {
		bool found = false;
		for (unsigned k = 0; k < seen.n; k++)
			found |= seen.mm[k] == vmtest_mm(c[i].t);
		assert_true(found);
		assert_true(vmtest_pte(c[i].t, a) & PTE_COW);
		assert_false(vmtest_pte(c[i].t, a) & PTE_WRITE);
		assert_true(vmtest_pte(c[i].t, a + PAGE_SIZE) & PTE_SPECIAL);
	}
	/* A child's write copies; the others keep the old frame. */
	s0 = stat_of(vm);
	assert_int_equal(vmtest_cpu_store(c[0].t, a, 0x22), 0);
	s1 = stat_of(vm);
	assert_int_equal(s1.cow_fault, s0.cow_fault + 1);
	assert_int_equal(pg->_refcount, 3);
	assert_int_equal(rmap_walk(pg, NULL, NULL), 3);
	assert_int_equal(page_at(c[0].t, a)->_refcount, 1);
	/* Once the others are gone, the parent's write reuses in place. */
	assert_int_equal(park_release(&c[1], NULL), c[1].pid);
	assert_int_equal(park_release(&c[2], NULL), c[2].pid);
	assert_int_equal(pg->_refcount, 1);
	assert_int_equal(vmtest_cpu_store(p.t, a, 0x33), 0);
	assert_int_equal(stat_of(vm).cow_reuse, s1.cow_reuse + 1);
	assert_int_equal(stat_of(vm).cow_fault, s1.cow_fault);
	assert_ptr_equal(page_at(p.t, a), pg);
	assert_int_equal(vmtest_cpu_load(c[0].t, a, &v), 0);
	assert_int_equal(v, 0x22);
	/* Writing the shared zero page gives a fresh zeroed frame. */
	assert_int_equal(vmtest_cpu_store(c[0].t, a + PAGE_SIZE + 1, 5), 0);
	assert_int_equal(vmtest_cpu_load(c[0].t, a + PAGE_SIZE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vmtest_cpu_load(p.t, a + PAGE_SIZE + 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vmtest_check(p.t), 0);
	assert_int_equal(vmtest_check(c[0].t), 0);
	assert_int_equal(park_release(&c[0], NULL), c[0].pid);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

static void test_fork_worked_example_trace(void **state)
{
	(void)state;
	fork_worked_example(VM_MODE_TRACE);
}

static void test_fork_worked_example_native(void **state)
{
	(void)state;
	fork_worked_example(VM_MODE_NATIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_fork_worked_example_trace),
		VMTEST(test_fork_worked_example_native),
		VMTEST(test_fork_generations_trace),
		VMTEST(test_fork_generations_native),
		VMTEST(test_fork_generations_fault_around),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
