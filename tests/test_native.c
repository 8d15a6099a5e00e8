/*
 * tests/test_native.c - native mode end to end: workload code on task
 * threads loads and stores through its window; the trap resolves faults.
 *
 * - data integrity: every page written with a pattern derived from
 *   (pid, va, generation) and verified, by 10 concurrent task threads;
 * - SEGV isolation: tasks that touch NULL, a read-only page, an unmapped
 *   page or beyond the stack end with VM_EXIT_SEGV at the right va while
 *   the others run on;
 * - zero-page reads, and the same fault counts as trace mode for the same
 *   access sequence (fork included);
 * - concurrent fork + COW writes on both sides;
 * - host map slots (vm.max_map_count) nearly exhausted: the TLB flushes
 *   and the data survives.
 * Workloads report failures through their exit code; asserts run on the
 * main thread only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "mmu/mapslots.h"
#include "mmu/hostmap.h"
#include "mmu/trap.h"
#include "tests/lib/vmtest.h"

#define RW	  (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	  (VM_MAP_PRIVATE | VM_MAP_ANON)
#define PAGE	  4096u
#define FAM_PAGES 96
#define FAM_GENS  3
#define MiB	  (1ULL << 20)

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

/* Spawn fn and wait for it: vm_wait's result (the pid, or -errno). */
static int wait_spawned(struct vm *vm, const char *name, vm_task_fn fn,
			struct vm_exit *ex)
{
	int pid = vm_spawn(vm, name, 0, fn, NULL);

	return pid < 0 ? pid : vm_wait(vm, pid, ex);
}

static uint64_t pattern(int pid, uint64_t va, unsigned gen)
{
	uint64_t x = ((uint64_t)pid << 48) ^ va ^ ((uint64_t)gen << 40);

	return x * 0x9E3779B97F4A7C15ULL;
}

/* Fill every word of [va, va+npages) for gen; count mismatches of gen. */
static void fill(struct vm_task *t, uint64_t va, unsigned npages, unsigned gen)
{
	uint64_t *p = vm_ptr(t, va);

	for (uint64_t i = 0; i < (uint64_t)npages * PAGE / 8; i++)
		p[i] = pattern(vm_getpid(t), va + i * 8, gen);
}

static int verify(struct vm_task *t, uint64_t va, unsigned npages, unsigned gen)
{
	const uint64_t *p = vm_ptr(t, va);
	int bad = 0;

	for (uint64_t i = 0; i < (uint64_t)npages * PAGE / 8; i++)
		bad += p[i] != pattern(vm_getpid(t), va + i * 8, gen);
	return bad;
}

/* Mismatches against generation 0 of another pid's pattern. */
static int verify_as(struct vm_task *t, uint64_t va, int pid)
{
	const uint64_t *p = vm_ptr(t, va);
	int bad = 0;

	for (uint64_t i = 0; i < (uint64_t)FAM_PAGES * PAGE / 8; i++)
		bad += p[i] != pattern(pid, va + i * 8, 0);
	return bad;
}

#define INTEGRITY_PAGES 256

static int integrity_fn(struct vm_task *t, void *arg)
{
	uint64_t a = vm_mmap(t, 0, INTEGRITY_PAGES * PAGE, RW, ANON);
	uint64_t heap = vm_brk(t, 0);
	int bad = 0;

	(void)arg;
	if (vm_mmap_failed(a) ||
	    vm_brk(t, heap + 16 * PAGE) != heap + 16 * PAGE)
		return -1;
	for (unsigned gen = 0; gen < 3; gen++) {
		fill(t, a, INTEGRITY_PAGES, gen);
		fill(t, heap, 16, gen);
		bad += verify(t, a, INTEGRITY_PAGES, gen);
		bad += verify(t, heap, 16, gen);
	}
	/* Unmap half; the rest must be intact. */
	if (vm_munmap(t, a, INTEGRITY_PAGES / 2 * PAGE) != 0)
		return -1;
	bad += verify(t, a + INTEGRITY_PAGES / 2 * PAGE, INTEGRITY_PAGES / 2,
		      2);
	return bad;
}

static void test_native_integrity_concurrent(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 64 * MiB);
	uint64_t free0 = stat_of(vm).nr_free_pages + vmtest_slab_pages(vm);
	int pid[10];
	struct vm_exit ex;

	(void)state;
	for (int i = 0; i < 10; i++)
		pid[i] = vm_spawn(vm, "integrity", 0, integrity_fn, NULL);
	for (int i = 0; i < 10; i++) {
		assert_true(pid[i] > 0);
		assert_int_equal(vm_wait(vm, pid[i], &ex), pid[i]);
		assert_int_equal(ex.reason, VM_EXIT_NORMAL);
		assert_int_equal(ex.code, 0);
	}
	/* 10 tasks x (256 + 16) pages, each faulted once by its first write. */
	assert_int_equal(stat_of(vm).pgfault, 10 * (INTEGRITY_PAGES + 16));
	assert_int_equal(stat_of(vm).nr_anon_pages, 0);
	assert_int_equal(stat_of(vm).nr_free_pages + vmtest_slab_pages(vm),
			 free0);
	vmtest_destroy(vm);
}

/* ---- SEGV isolation ---------------------------------------------------- */

enum bad_kind { BAD_NULL, BAD_RDONLY, BAD_UNMAPPED, BAD_STACK, BAD_NONE };

static _Atomic uint64_t bad_va[BAD_NONE];

static int bad_fn(struct vm_task *t, void *arg)
{
	enum bad_kind k = (enum bad_kind)(intptr_t)arg;
	uint64_t a = vm_mmap(t, 0, 2 * PAGE, VM_PROT_READ, ANON);
	volatile uint8_t *p;

	switch (k) {
	case BAD_NULL:
		bad_va[k] = 8;
		break;
	case BAD_RDONLY:
		bad_va[k] = a + 100;
		break;
	case BAD_UNMAPPED:
		vm_munmap(t, a + PAGE, PAGE);
		bad_va[k] = a + PAGE;
		break;
	case BAD_STACK:
	case BAD_NONE:
		bad_va[k] = (64ULL << 30) - (16ULL << 20);
		break;
	}
	p = vm_ptr(t, bad_va[k]);
	if (k == BAD_NULL || k == BAD_UNMAPPED)
		return *p;
	*p = 1; /* must not return */
	return 99;
}

static void test_native_segv_isolation(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 64 * MiB);
	int good[4], bad[BAD_NONE];
	struct vm_exit ex;

	(void)state;
	for (int i = 0; i < 4; i++)
		good[i] = vm_spawn(vm, "good", 0, integrity_fn, NULL);
	for (int k = 0; k < BAD_NONE; k++)
		bad[k] = vm_spawn(vm, "bad", 0, bad_fn, (void *)(intptr_t)k);
	for (int k = 0; k < BAD_NONE; k++) {
		assert_int_equal(vm_wait(vm, bad[k], &ex), bad[k]);
		assert_int_equal(ex.reason, VM_EXIT_SEGV);
		assert_int_equal(ex.fault_va, bad_va[k]);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vm_wait(vm, good[i], &ex), good[i]);
		assert_int_equal(ex.reason, VM_EXIT_NORMAL);
		assert_int_equal(ex.code, 0);
	}
	assert_int_equal(stat_of(vm).segv, BAD_NONE);
	assert_int_equal(vm_wait(vm, bad[0], &ex), -ESRCH); /* reaped */
	vmtest_destroy(vm);
}

/* A task that strays into another task's window is the one that dies. */
struct stray {
	struct vm_task *victim_task;
	uint64_t victim_va;
	sem_t ready, done;
};

static int stray_victim(struct vm_task *t, void *arg)
{
	struct stray *s = arg;
	volatile uint8_t *p;

	s->victim_va = vm_mmap(t, 0, PAGE, RW, ANON);
	p = vm_ptr(t, s->victim_va);
	*p = 42;
	s->victim_task = t;
	sem_post(&s->ready);
	while (sem_wait(&s->done) != 0)
		;
	return *p == 42 ? 0 : 1;
}

static int stray_intruder(struct vm_task *t, void *arg)
{
	struct stray *s = arg;
	volatile uint8_t *p = vm_ptr(s->victim_task, 0); /* its NULL page */

	(void)t;
	return *p;
}

static void test_native_stray_access_kills_the_stray(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 16 * MiB);
	struct stray s;
	struct vm_exit ex;
	int victim, intruder;

	(void)state;
	sem_init(&s.ready, 0, 0);
	sem_init(&s.done, 0, 0);
	victim = vm_spawn(vm, "victim", 0, stray_victim, &s);
	while (sem_wait(&s.ready) != 0)
		;
	intruder = vm_spawn(vm, "intruder", 0, stray_intruder, &s);
	assert_int_equal(vm_wait(vm, intruder, &ex), intruder);
	assert_int_equal(ex.reason, VM_EXIT_SEGV);
	sem_post(&s.done);
	assert_int_equal(vm_wait(vm, victim, &ex), victim);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	vmtest_destroy(vm);
	sem_destroy(&s.ready);
	sem_destroy(&s.done);
}

/* ---- zero page and the trace-mode equivalence ------------------------ */

static int zero_read_fn(struct vm_task *t, void *arg)
{
	uint64_t a = vm_mmap(t, 0, 100 * PAGE, VM_PROT_READ, ANON);
	const volatile uint8_t *p = vm_ptr(t, a);
	int nonzero = 0;

	(void)arg;
	for (int i = 0; i < 100 * (int)PAGE; i += 512)
		nonzero += p[i] != 0;
	return nonzero;
}

static void test_native_zero_page_reads(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 16 * MiB);
	struct vm_stat s0 = stat_of(vm), s1;
	struct vm_exit ex;

	(void)state;
	assert_true(wait_spawned(vm, "zero", zero_read_fn, &ex) > 0);
	s1 = stat_of(vm);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_int_equal(s1.zero_page_map - s0.zero_page_map, 100);
	assert_int_equal(s1.pgfault - s0.pgfault, 100);
	/* No data frame: only tables and slab pages were allocated. */
	assert_true(s1.pgalloc_normal - s0.pgalloc_normal < 20);
	assert_int_equal(s1.cow_fault, s0.cow_fault);
	vmtest_destroy(vm);
}

/*
 * A task waits for its children with vm_wait(vm, ...); the API hands a
 * task function only its vm_task, so these tests keep the machine here.
 */
static struct vm *script_vm;

static struct vm *machine_of(struct vm_task *t)
{
	(void)t;
	return script_vm;
}

/* One access script; run by loads/stores (native) or vm_access (trace). */
struct script {
	uint64_t base;
	int child_pid;
};

static void touch(struct vm_task *t, uint64_t va, int write)
{
	if (vm_ptr(t, va)) {
		volatile uint8_t *p = vm_ptr(t, va);
		if (write)
			*p = (uint8_t)va;
		else
			(void)*p;
	} else {
		vm_access(t, va, write);
	}
}

static int script_child(struct vm_task *t, void *arg)
{
	struct script *s = arg;

	for (int i = 0; i < 32; i += 3)
		touch(t, s->base + i * PAGE, 1); /* COW copies */
	for (int i = 0; i < 32; i++)
		touch(t, s->base + i * PAGE + 8, 0);
	return 0;
}

static int script_parent(struct vm_task *t, void *arg)
{
	struct script *s = arg;

	s->base = vm_mmap(t, 0, 32 * PAGE, RW, ANON);
	for (int i = 0; i < 32; i += 2)
		touch(t, s->base + i * PAGE, 0); /* zero page */
	for (int i = 0; i < 32; i += 4)
		touch(t, s->base + i * PAGE, 1); /* zero -> private */
	for (int i = 1; i < 32; i += 4)
		touch(t, s->base + i * PAGE, 1); /* demand-zero write */
	for (int i = 0; i < 32; i++)
		touch(t, s->base + i * PAGE + 16, 0);
	return 0;
}

static int script_after_fork(struct vm_task *t, void *arg)
{
	struct script *s = arg;

	for (int i = 0; i < 32; i++)
		touch(t, s->base + i * PAGE, 1); /* copy or reuse */
	return 0;
}

static int script_main(struct vm_task *t, void *arg)
{
	struct script *s = arg;
	struct vm_exit ex;

	script_parent(t, s);
	s->child_pid = vm_fork(t, script_child, s);
	if (s->child_pid < 0)
		return 1;
	/* The child runs its whole script first: the counts are exact. */
	if (vm_wait(machine_of(t), s->child_pid, &ex) != s->child_pid ||
	    ex.reason != VM_EXIT_NORMAL)
		return 2;
	return script_after_fork(t, s);
}

static struct vm_stat run_script(enum vm_mode mode)
{
	struct vm *vm = vmtest_create(mode, 16 * MiB);
	struct script s = { 0 };
	struct vm_exit ex;
	struct vm_stat st;
	int pid;

	script_vm = vm;
	pid = vm_spawn(vm, "script", 0, script_main, &s);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	vm_stat(vm, &st);
	vmtest_destroy(vm);
	return st;
}

static void test_native_fault_counts_match_trace(void **state)
{
	struct vm_stat n = run_script(VM_MODE_NATIVE);
	struct vm_stat t = run_script(VM_MODE_TRACE);

	(void)state;
	assert_int_equal(n.pgfault, t.pgfault);
	assert_int_equal(n.zero_page_map, t.zero_page_map);
	assert_int_equal(n.cow_fault, t.cow_fault);
	assert_int_equal(n.cow_reuse, t.cow_reuse);
	assert_int_equal(n.pgalloc_normal, t.pgalloc_normal);
	assert_true(n.pgfault > 0 && n.zero_page_map > 0);
	assert_true(n.cow_fault + n.cow_reuse > 0);
}

/* ---- concurrent fork: parent and child write COW pages at once ------ */

struct fam {
	uint64_t base;
	int parent_pid;
	int depth;
};

static int fam_fn(struct vm_task *t, void *arg);

static int fam_child(struct vm_task *t, void *arg)
{
	struct fam *f = arg, mine = *f;
	int bad;

	/* Inherited data carries the parent's pattern of generation 0. */
	bad = verify_as(t, f->base, f->parent_pid);
	mine.depth = f->depth + 1;
	return bad + fam_fn(t, &mine);
}

static int fam_fn(struct vm_task *t, void *arg)
{
	struct fam *f = arg, child;
	struct vm_exit ex;
	int bad = 0, cpid;

	if (f->depth == 0) {
		f->base = vm_mmap(t, 0, FAM_PAGES * PAGE, RW, ANON);
		if (vm_mmap_failed(f->base))
			return 1000;
	}
	fill(t, f->base, FAM_PAGES, 0);
	if (f->depth + 1 >= FAM_GENS)
		return verify(t, f->base, FAM_PAGES, 0);
	child = *f;
	child.parent_pid = vm_getpid(t);
	cpid = vm_fork(t, fam_child, &child);
	if (cpid < 0)
		return 1000;
	/* Overwrite while the child reads and writes the same pages. */
	fill(t, f->base, FAM_PAGES, 1);
	bad += verify(t, f->base, FAM_PAGES, 1);
	if (vm_wait(machine_of(t), cpid, &ex) != cpid ||
	    ex.reason != VM_EXIT_NORMAL)
		return 1000;
	return bad + ex.code + verify(t, f->base, FAM_PAGES, 1);
}

static void test_native_concurrent_fork_cow(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 64 * MiB);
	static struct fam f[4];
	struct vm_exit ex;
	int pid[4];

	(void)state;
	script_vm = vm;
	for (int i = 0; i < 4; i++) {
		f[i] = (struct fam){ 0 };
		pid[i] = vm_spawn(vm, "family", 0, fam_fn, &f[i]);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vm_wait(vm, pid[i], &ex), pid[i]);
		assert_int_equal(ex.reason, VM_EXIT_NORMAL);
		assert_int_equal(ex.code, 0);
	}
	assert_true(stat_of(vm).cow_fault > 0);
	assert_int_equal(stat_of(vm).nr_anon_pages, 0);
	vmtest_destroy(vm);
}

/* ---- the host runs out of map slots ------------------------------- */

#define SCATTER_PAGES 1500

static int scatter_fn(struct vm_task *t, void *arg)
{
	uint64_t a = vm_mmap(t, 0, 2 * SCATTER_PAGES * PAGE, RW, ANON);
	int bad = 0;

	(void)arg;
	/* Every other page: no two host mappings can merge. */
	for (unsigned i = 0; i < SCATTER_PAGES; i++)
		fill(t, a + 2ULL * i * PAGE, 1, 7);
	for (unsigned i = 0; i < SCATTER_PAGES; i++)
		bad += verify(t, a + 2ULL * i * PAGE, 1, 7);
	return bad;
}

static void test_native_host_map_slots_exhausted(void **state)
{
	long max = mapslots_host_limit(), have = mapslots_count();
	long spare = 500, holes = (max - have - spare) / 2;
	struct vm *vm;
	struct vm_exit ex;
	uint8_t *region;

	(void)state;
	assert_true(max > 0 && have > 0 && holes > 0);
	/* Eat map slots: every other page of a region made PROT_NONE. */
	region = mmap(NULL, (size_t)(2 * holes + 1) * PAGE, PROT_READ,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(region != MAP_FAILED);
	for (long i = 0; i < holes; i++)
		assert_int_equal(mprotect(region + (2 * i + 1) * PAGE, PAGE,
					  PROT_NONE),
				 0);
	vm = vmtest_create(VM_MODE_NATIVE, 64 * MiB);
	assert_true(wait_spawned(vm, "scatter", scatter_fn, &ex) > 0);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_true(stat_of(vm).hmap_flush > 0); /* the TLB was full */
	vmtest_destroy(vm);
	munmap(region, (size_t)(2 * holes + 1) * PAGE);
}

/* The windows fill the budget themselves: flushes keep them within it. */
static _Atomic long max_seen_maps;

static int scatter_watch_fn(struct vm_task *t, void *arg)
{
	int bad = scatter_fn(t, arg);

	max_seen_maps = mapslots_count();
	return bad;
}

static void test_native_map_budget_keeps_room(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 64 * MiB);
	struct vm_exit ex;
	long limit;

	(void)state;
	vmtest_shrink_map_budget(vm, 300);
	limit = vmtest_map_budget_limit(vm);
	assert_true(wait_spawned(vm, "scatter", scatter_watch_fn, &ex) > 0);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_true(stat_of(vm).hmap_flush > 0);
	/* Within budget at the end (give or take the thread's own stacks)... */
	assert_true(max_seen_maps <= limit + 8);
	/* ...and /proc/self/maps was read now and then, not per fault. */
	assert_true(vmtest_map_budget_recounts(vm) < SCATTER_PAGES / 8);
	vmtest_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_native_integrity_concurrent),
		VMTEST(test_native_segv_isolation),
		VMTEST(test_native_stray_access_kills_the_stray),
		VMTEST(test_native_zero_page_reads),
		VMTEST(test_native_fault_counts_match_trace),
		VMTEST(test_native_concurrent_fork_cow),
		VMTEST(test_native_host_map_slots_exhausted),
		VMTEST(test_native_map_budget_keeps_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
