/*
 * tests/test_fault.c - accessed/dirty emulation and fault accounting, in
 * both modes through the same test body.
 *
 * Native mode has no hardware A/D bits: a clean page is mapped read-only
 * so its first write traps (dirty_trap) and sets D; clearing A revokes the
 * host mapping so the next touch traps (tlb_refill) and sets A.  Trace
 * mode sets both exactly in vm_access, shooting the software TLB down.
 * Neither kind of trap is a page fault: pgfault must not move, and the
 * data must survive every round bit for bit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mmu/pagetable.h"
#include "tests/lib/vmtest.h"

#define RW   (VM_PROT_READ | VM_PROT_WRITE)
#define ANON (VM_MAP_PRIVATE | VM_MAP_ANON)
#define N    16

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

static void ad_rounds(enum vm_mode mode)
{
	struct vm *vm = vmtest_create(mode, 16ULL << 20);
	bool native = mode == VM_MODE_NATIVE;
	struct parked p;
	struct vm_stat s0, s1;
	uint64_t a;
	uint8_t v;

	assert_true(park_spawn(vm, &p, "ad") > 0);
	a = vm_mmap(p.t, 0, N * PAGE_SIZE, RW, ANON);
	for (int i = 0; i < N; i++)
		assert_int_equal(vmtest_cpu_store(p.t, a + i * PAGE_SIZE, i),
				 0);
	for (int round = 0; round < 3; round++) {
		/* Clean: D off, then one write each sets it again. */
		assert_int_equal(vmtest_clean(p.t, a, N), N);
		assert_int_equal(vmtest_clean(p.t, a, N), 0);
		for (int i = 0; i < N; i++)
			assert_false(vmtest_pte(p.t, a + i * PAGE_SIZE) &
				     PTE_DIRTY);
		s0 = stat_of(vm);
		for (int i = 0; i < N; i++) {
			assert_int_equal(
				vmtest_cpu_load(p.t, a + i * PAGE_SIZE, &v), 0);
			assert_int_equal(v, (uint8_t)(i + round));
			assert_int_equal(vmtest_cpu_store(p.t,
							  a + i * PAGE_SIZE,
							  i + round + 1),
					 0);
			assert_true(vmtest_pte(p.t, a + i * PAGE_SIZE) &
				    PTE_DIRTY);
		}
		s1 = stat_of(vm);
		assert_int_equal(s1.pgfault, s0.pgfault);
		assert_int_equal(s1.dirty_trap - s0.dirty_trap, native ? N : 0);
		/* Age: A off, then a read sets it (a refill in native). */
		assert_int_equal(vmtest_clear_young(p.t, a, N), N);
		assert_int_equal(vmtest_clear_young(p.t, a, N), 0);
		s0 = stat_of(vm);
		for (int i = 0; i < N; i++) {
			assert_false(vmtest_pte(p.t, a + i * PAGE_SIZE) &
				     PTE_ACCESSED);
			assert_int_equal(
				vmtest_cpu_load(p.t, a + i * PAGE_SIZE, &v), 0);
			assert_int_equal(v, (uint8_t)(i + round + 1));
			assert_true(vmtest_pte(p.t, a + i * PAGE_SIZE) &
				    PTE_ACCESSED);
		}
		s1 = stat_of(vm);
		assert_int_equal(s1.pgfault, s0.pgfault);
		if (native) /* fault-around may refill several per trap */
			assert_true(s1.tlb_refill > s0.tlb_refill);
		else
			assert_int_equal(s1.tlb_miss - s0.tlb_miss, N);
		assert_int_equal(vmtest_check(p.t), 0);
	}
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

static void test_fault_ad_bits_trace(void **state)
{
	(void)state;
	ad_rounds(VM_MODE_TRACE);
}

static void test_fault_ad_bits_native(void **state)
{
	(void)state;
	ad_rounds(VM_MODE_NATIVE);
}

/* Resident pages cost no trap at all in steady state (native). */
static void test_fault_steady_state_no_traps(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 16ULL << 20);
	struct parked p;
	struct vm_stat s0, s1;
	uint64_t a;
	uint8_t v;

	(void)state;
	assert_true(park_spawn(vm, &p, "steady") > 0);
	a = vm_mmap(p.t, 0, 64 * PAGE_SIZE, RW, ANON);
	for (int i = 0; i < 64; i++)
		vmtest_cpu_store(p.t, a + i * PAGE_SIZE, 1);
	s0 = stat_of(vm);
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < 64; i++) {
			vmtest_cpu_store(p.t, a + i * PAGE_SIZE + 9, 2);
			vmtest_cpu_load(p.t, a + i * PAGE_SIZE, &v);
		}
	s1 = stat_of(vm);
	assert_int_equal(s1.pgfault, s0.pgfault);
	assert_int_equal(s1.tlb_refill, s0.tlb_refill);
	assert_int_equal(s1.dirty_trap, s0.dirty_trap);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

/* ---- anonymous fault-around (vm_config.anon_fault_around) ---------- */

#define FA 16

static struct vm *fa_machine(enum vm_mode mode)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = 16ULL << 20;
	cfg.anon_fault_around = FA;
	return vmtest_create_cfg(&cfg);
}

static void fault_around_rounds(enum vm_mode mode)
{
	struct vm *vm = fa_machine(mode);
	struct parked p;
	struct vm_stat s0, s1;
	uint64_t free0 = stat_of(vm).nr_free_pages + vmtest_slab_pages(vm);
	uint64_t a, pte0;
	uint8_t v;

	assert_true(park_spawn(vm, &p, "fa") > 0);
	/* 64 pages, block-aligned: a write maps the whole block of 16. */
	a = vm_mmap(p.t, 0, 4 * FA * PAGE_SIZE, RW, ANON);
	assert_int_equal(a % (FA * PAGE_SIZE), 0);
	s0 = stat_of(vm);
	assert_int_equal(vmtest_cpu_store(p.t, a + 5 * PAGE_SIZE + 3, 0x5a), 0);
	s1 = stat_of(vm);
	assert_int_equal(s1.pgfault - s0.pgfault, 1);
	assert_int_equal(s1.fault_around - s0.fault_around, FA - 1);
	assert_int_equal(s1.nr_anon_pages - s0.nr_anon_pages, FA);
	pte0 = vmtest_pte(p.t, a);
	for (int i = 0; i < FA; i++) {
		uint64_t pte = vmtest_pte(p.t, a + i * PAGE_SIZE);
		assert_true((pte & (PTE_PRESENT | PTE_WRITE | PTE_ACCESSED |
				    PTE_DIRTY)) == (PTE_PRESENT | PTE_WRITE |
						    PTE_ACCESSED | PTE_DIRTY));
		assert_int_equal(pte_pfn(pte), pte_pfn(pte0) + i);
	}
	assert_int_equal(vmtest_pte(p.t, a + FA * PAGE_SIZE), 0);
	/* The whole block is now resident: no fault, no trap, zeros. */
	s0 = stat_of(vm);
	for (int i = 0; i < FA; i++) {
		assert_int_equal(
			vmtest_cpu_load(p.t, a + i * PAGE_SIZE + 3, &v), 0);
		assert_int_equal(v, i == 5 ? 0x5a : 0);
		assert_int_equal(vmtest_cpu_store(p.t, a + i * PAGE_SIZE, 1),
				 0);
	}
	s1 = stat_of(vm);
	assert_int_equal(s1.pgfault, s0.pgfault);
	assert_int_equal(s1.tlb_refill, s0.tlb_refill);
	/* A block with a page already there falls back to one page. */
	assert_int_equal(vmtest_cpu_load(p.t, a + FA * PAGE_SIZE, &v), 0);
	s0 = stat_of(vm);
	assert_int_equal(vmtest_cpu_store(p.t, a + (FA + 1) * PAGE_SIZE, 1), 0);
	s1 = stat_of(vm);
	assert_int_equal(s1.fault_around, s0.fault_around);
	assert_int_equal(s1.nr_anon_pages - s0.nr_anon_pages, 1);
	assert_int_equal(vmtest_check(p.t), 0);
	/* Everything goes back: each frame of a split block frees alone. */
	assert_int_equal(vm_munmap(p.t, a + 3 * PAGE_SIZE, 2 * PAGE_SIZE), 0);
	assert_int_equal(vm_munmap(p.t, a, 4 * FA * PAGE_SIZE), 0);
	assert_int_equal(stat_of(vm).nr_anon_pages, 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	assert_int_equal(stat_of(vm).nr_free_pages + vmtest_slab_pages(vm),
			 free0);
	vmtest_destroy(vm);
}

static void test_fault_around_trace(void **state)
{
	(void)state;
	fault_around_rounds(VM_MODE_TRACE);
}

static void test_fault_around_native(void **state)
{
	(void)state;
	fault_around_rounds(VM_MODE_NATIVE);
}

/* A VMA smaller than the block never gets more than it asked for. */
static void test_fault_around_stays_in_vma(void **state)
{
	struct vm *vm = fa_machine(VM_MODE_TRACE);
	struct parked p;
	uint64_t a;

	(void)state;
	assert_true(park_spawn(vm, &p, "edge") > 0);
	a = vm_mmap(p.t, 0, 3 * PAGE_SIZE, RW, ANON);
	assert_int_equal(vm_access(p.t, a + PAGE_SIZE, 1), 0);
	assert_int_equal(stat_of(vm).fault_around, 0);
	assert_int_equal(vmtest_pte(p.t, a), 0);
	assert_int_equal(vmtest_pte(p.t, a + 2 * PAGE_SIZE), 0);
	assert_int_equal(vmtest_check(p.t), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_fault_ad_bits_trace),
		VMTEST(test_fault_ad_bits_native),
		VMTEST(test_fault_steady_state_no_traps),
		VMTEST(test_fault_around_trace),
		VMTEST(test_fault_around_native),
		VMTEST(test_fault_around_stays_in_vma),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
