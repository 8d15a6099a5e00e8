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

#define RW (VM_PROT_READ | VM_PROT_WRITE)
#define ANON (VM_MAP_PRIVATE | VM_MAP_ANON)
#define N 16

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
		assert_int_equal(vmtest_cpu_store(p.t, a + i * PAGE_SIZE, i), 0);
	for (int round = 0; round < 3; round++) {
		/* Clean: D off, then one write each sets it again. */
		assert_int_equal(vmtest_clean(p.t, a, N), N);
		assert_int_equal(vmtest_clean(p.t, a, N), 0);
		for (int i = 0; i < N; i++)
			assert_false(vmtest_pte(p.t, a + i * PAGE_SIZE) &
				     PTE_DIRTY);
		s0 = stat_of(vm);
		for (int i = 0; i < N; i++) {
			assert_int_equal(vmtest_cpu_load(p.t, a + i * PAGE_SIZE,
							 &v), 0);
			assert_int_equal(v, (uint8_t)(i + round));
			assert_int_equal(vmtest_cpu_store(p.t,
					 a + i * PAGE_SIZE, i + round + 1), 0);
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
			assert_int_equal(vmtest_cpu_load(p.t, a + i * PAGE_SIZE,
							 &v), 0);
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
	park_release(&p, NULL);
	vm_destroy(vm);
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
	park_release(&p, NULL);
	vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_ad_bits_trace),
		cmocka_unit_test(test_fault_ad_bits_native),
		cmocka_unit_test(test_fault_steady_state_no_traps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
