/*
 * tests/test_shmem.c - shared anonymous memory (vm_mmap with VM_MAP_SHARED
 * | VM_MAP_ANON): one object shared by every task forked from the mapper,
 * zero-filled, swap-backed, freed with its last mapping.
 *
 * The model: each page's generation, in host memory, written only by the
 * task that owns the page (or by the parent while no child runs); every
 * task reads what the others wrote through its own mapping.  Every test
 * ends with every invariant walker (vmtest_check_all).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "workloads/wl.h"

#define PAGE	   4096ULL
#define MiB	   (1ULL << 20)
#define RW	   (VM_PROT_READ | VM_PROT_WRITE)
#define SHM	   (VM_MAP_SHARED | VM_MAP_ANON)
#define PAGE_WORDS (PAGE / sizeof(uint64_t))
#define KIDS	   2

static uint64_t pat(uint64_t i, uint32_t gen, unsigned w)
{
	uint64_t x = (i << 20) ^ ((uint64_t)gen << 44) ^ w;

	return gen ? x * 0x9E3779B97F4A7C15ULL + 0x7654321ULL : 0;
}

/*
 * The task's CPU through its window (native mode): every load and store of
 * page bytes the test makes goes through here, so that tests/tsan.supp can
 * name it - the window aliasing TSan cannot follow (a revoke by another
 * thread, ordered by the trap and the machine lock).
 */
__attribute__((noinline)) static void
shmem_window_copy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

/* Page i at va holds generation gen (0: never written, zeros)? 0 / -1. */
static int check_page(struct vm_task *t, uint64_t va, uint64_t i, uint32_t gen)
{
	uint64_t buf[PAGE_WORDS];
	const uint64_t *p = vm_ptr(t, va);

	if (p)
		shmem_window_copy(buf, p, PAGE);
	else if (vm_read(t, va, buf, PAGE))
		return -1;
	for (unsigned w = 0; w < PAGE_WORDS; w += 61)
		if (buf[w] != pat(i, gen, w))
			return -1;
	return 0;
}

static int write_page(struct vm_task *t, uint64_t va, uint64_t i, uint32_t gen)
{
	uint64_t buf[PAGE_WORDS];
	uint64_t *p = vm_ptr(t, va);

	for (unsigned w = 0; w < PAGE_WORDS; w++)
		buf[w] = pat(i, gen, w);
	if (p) {
		shmem_window_copy(p, buf, PAGE);
		return 0;
	}
	return vm_write(t, va, buf, PAGE) ? -1 : 0;
}

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

/*
 * The counters once kswapd holds no page any more (it may still be
 * writing one out when the last task has gone); at most a second.
 */
static struct vm_stat quiet_stat(struct vm *vm)
{
	struct timespec ms = { 0, 1000000L };
	struct vm_stat st = stat_of(vm);

	for (int i = 0; i < 1000 && (st.nr_isolated_anon || st.nr_writeback);
	     i++) {
		nanosleep(&ms, NULL);
		st = stat_of(vm);
	}
	return st;
}

static long long meminfo_kb(struct vm *vm, const char *name)
{
	char buf[4096], key[64];
	const char *p;

	assert_true(vm_procfs(vm, "meminfo", buf, sizeof(buf)) > 0);
	snprintf(key, sizeof(key), "\n%s:", name);
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* ---- tasks sharing one region -------------------------------------------- */

struct shm {
	uint64_t va, npages, ops, seed;
	uint32_t *gen;
	atomic_int bad;
	int round;
	uint64_t rss_shmem_seen; /* a child's RssShmem, in pages */
};

struct kid {
	struct shm *s;
	int k;
};

static struct kid kids[KIDS];

/* Every page at its generation? Counts the ones that are not. */
static void verify_all(struct vm_task *t, struct shm *s)
{
	for (uint64_t i = 0; i < s->npages; i++)
		if (check_page(t, s->va + i * PAGE, i, s->gen[i]))
			atomic_fetch_add(&s->bad, 1);
}

/* Round r's child k owns the pages i % KIDS == (k + r) % KIDS. */
static uint64_t owner_of(uint64_t i, int round)
{
	return (i + KIDS - (uint64_t)round % KIDS) % KIDS;
}

static void verify_owned(struct vm_task *t, struct shm *s, int k)
{
	for (uint64_t i = 0; i < s->npages; i++)
		if (owner_of(i, s->round) == (uint64_t)k &&
		    check_page(t, s->va + i * PAGE, i, s->gen[i]))
			atomic_fetch_add(&s->bad, 1);
}

/*
 * A child: what it owns this round was written by the parent (round 0) or
 * by its sibling of the round before (owners rotate), and is there; then
 * ops random accesses to the pages it owns, writing a new generation half
 * the time; then they are checked again.
 */
static int kid_fn(struct vm_task *t, void *arg)
{
	struct kid *c = arg;
	struct shm *s = c->s;
	uint64_t r = s->seed ^ ((uint64_t)(s->round * KIDS + c->k) << 40);
	struct vm_task_info ti;

	verify_owned(t, s, c->k);
	for (uint64_t op = 0; op < s->ops; op++) {
		uint64_t i = vmtest_rand(&r) % s->npages;

		if (owner_of(i, s->round) != (uint64_t)c->k)
			continue;
		if (check_page(t, s->va + i * PAGE, i, s->gen[i]))
			atomic_fetch_add(&s->bad, 1);
		if (vmtest_rand(&r) % 2) {
			s->gen[i]++;
			if (write_page(t, s->va + i * PAGE, i, s->gen[i]))
				atomic_fetch_add(&s->bad, 1);
		}
	}
	verify_owned(t, s, c->k);
	if (vm_task_info(vmtest_task_vm(t), vm_getpid(t), &ti) == 0 && !c->k)
		s->rss_shmem_seen = ti.rss_shmem;
	return 0;
}

/* Two rounds of KIDS children over the parent's region. */
static int parent_fn(struct vm_task *t, void *arg)
{
	struct shm *s = arg;
	struct vm *vm = vmtest_task_vm(t);

	s->va = vm_mmap(t, 0, s->npages * PAGE, RW, SHM);
	if (vm_mmap_failed(s->va))
		return 2;
	verify_all(t, s); /* zeros */
	for (uint64_t i = 0; i < s->npages; i++) {
		s->gen[i] = 1;
		if (write_page(t, s->va + i * PAGE, i, 1))
			atomic_fetch_add(&s->bad, 1);
	}
	for (s->round = 0; s->round < 2; s->round++) {
		int pid[KIDS];
		struct vm_exit ex;

		for (int k = 0; k < KIDS; k++) {
			kids[k] = (struct kid){ s, k };
			pid[k] = vm_fork(t, kid_fn, &kids[k]);
			if (pid[k] < 0)
				return 3;
		}
		for (int k = 0; k < KIDS; k++)
			if (vm_wait(vm, pid[k], &ex) != pid[k] ||
			    ex.reason != VM_EXIT_NORMAL || ex.code)
				return 4;
		verify_all(t, s); /* the children's writes, seen */
	}
	return 0;
}

static void shared_rounds(enum vm_mode mode, uint64_t mem, uint64_t swap,
			  uint64_t npages, uint64_t ops)
{
	struct vm_config cfg;
	struct vm *vm;
	struct shm *s = calloc(1, sizeof(*s));
	struct vm_exit ex;
	struct vm_stat st;
	int pid;

	assert_non_null(s);
	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = mem;
	cfg.swap_bytes = swap;
	vm = vmtest_create_cfg(&cfg);
	s->npages = npages;
	s->ops = ops;
	s->seed = vmtest_seed("test_shmem");
	s->gen = calloc(npages, sizeof(*s->gen));
	pid = vm_spawn(vm, "shm", 0, parent_fn, s);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_int_equal(atomic_load(&s->bad), 0);
	assert_true(s->rss_shmem_seen > 0);
	st = quiet_stat(vm);
	assert_true(st.shmem_fault >= npages);
	/* The last mapping gone: pages, swap slots, everything freed. */
	assert_int_equal(st.nr_shmem, 0);
	assert_int_equal(st.nr_file_pages, 0);
	assert_int_equal(meminfo_kb(vm, "Shmem"), 0);
	if (swap) { /* it went through swap and came back */
		assert_true(st.pswpout > 0 && st.pswpin > 0);
		assert_true(st.pgsteal_anon > 0);
		assert_int_equal(st.nr_swap_free, swap / PAGE - 1);
	}
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
	free(s->gen);
	free(s);
}

static void test_shmem_across_fork_trace(void **state)
{
	(void)state;
	shared_rounds(VM_MODE_TRACE, 16 * MiB, 0, 256, 2000);
}

static void test_shmem_across_fork_native(void **state)
{
	(void)state;
	shared_rounds(VM_MODE_NATIVE, 16 * MiB, 0, 256, 2000);
}

/* 8 MiB shared in 4 MiB of RAM: through swap, claimed back. */
static void test_shmem_under_swap_trace(void **state)
{
	(void)state;
	shared_rounds(VM_MODE_TRACE, 4 * MiB, 16 * MiB, 2048, 6000);
}

static void test_shmem_under_swap_native(void **state)
{
	(void)state;
	shared_rounds(VM_MODE_NATIVE, 4 * MiB, 16 * MiB, 2048, 4000);
}

/* ---- accounting and lifetime ---------------------------------------------- */

static void test_shmem_accounting(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, 16 * MiB);
	struct parked p, c;
	struct vm_task_info ti;
	struct vm_stat st;
	uint64_t va;

	(void)state;
	assert_true(park_spawn(vm, &p, "parent") > 0);
	va = vm_mmap(p.t, 0, 16 * PAGE, RW, SHM);
	assert_false(vm_mmap_failed(va));
	for (uint64_t i = 0; i < 8; i++) /* half of it */
		assert_int_equal(write_page(p.t, va + i * PAGE, i, 3), 0);
	assert_int_equal(meminfo_kb(vm, "Shmem"), 8 * 4);
	assert_int_equal(meminfo_kb(vm, "Cached"), 8 * 4);
	assert_int_equal(vm_task_info(vm, p.pid, &ti), 0);
	assert_int_equal(ti.rss_shmem, 8);
	assert_int_equal(ti.rss_anon, 0);
	assert_true(park_fork(&p, &c) > 0);
	/* The child maps what it touches, from the same pages. */
	assert_int_equal(check_page(c.t, va + 2 * PAGE, 2, 3), 0);
	assert_int_equal(vmtest_pte(c.t, va + 2 * PAGE) >> 12,
			 vmtest_pte(p.t, va + 2 * PAGE) >> 12);
	assert_int_equal(check_page(c.t, va + 12 * PAGE, 12, 0), 0); /* zeros */
	assert_int_equal(check_page(p.t, va + 12 * PAGE, 12, 0), 0);
	assert_int_equal(meminfo_kb(vm, "Shmem"), 9 * 4);
	assert_int_equal(vmtest_check_all(vm), 0);
	/* The parent unmaps; the child's mapping keeps the object. */
	assert_int_equal(vm_munmap(p.t, va, 16 * PAGE), 0);
	assert_int_equal(meminfo_kb(vm, "Shmem"), 9 * 4);
	assert_int_equal(check_page(c.t, va + 7 * PAGE, 7, 3), 0);
	assert_int_equal(park_release(&c, NULL), c.pid);
	assert_int_equal(meminfo_kb(vm, "Shmem"), 0);
	st = stat_of(vm);
	assert_int_equal(st.nr_file_pages, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

/* Exact replacement holds no data: no shared memory there. */
static void test_shmem_refused_in_exact_mode(void **state)
{
	struct vm_config cfg;
	struct vm *vm;
	struct parked p;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.exact_frames = 64;
	vm = vmtest_create_cfg(&cfg);
	assert_true(park_spawn(vm, &p, "exact") > 0);
	assert_int_equal(vm_mmap_error(vm_mmap(p.t, 0, PAGE, RW, SHM)),
			 -EINVAL);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

/* ---- the shm workload -------------------------------------------------- */

static void shm_workload(enum vm_mode mode, const char *text, uint64_t mem,
			 uint64_t swap)
{
	struct vm_config cfg;
	char err[256] = "", what[256];
	struct wl_spec s;
	struct wl_run *run;
	struct vm_exit ex;
	struct vm *vm;
	int pid;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = mem;
	cfg.swap_bytes = swap;
	vm = vmtest_create_cfg(&cfg);
	if (wl_spec_parse(text, &s, err, sizeof(err)))
		fail_msg("'%s': %s", text, err);
	run = wl_run_new(vm, &s, 7);
	assert_non_null(run);
	pid = vm_spawn(vm, s.name, 0, wl_run_main, run);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	wl_run_describe(run, &ex, what, sizeof(what));
	if (ex.reason != VM_EXIT_NORMAL || ex.code)
		fail_msg("%s: %s", text, what);
	wl_run_free(run);
	assert_int_equal(stat_of(vm).nr_shmem, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

static void test_shmem_workload(void **state)
{
	(void)state;
	shm_workload(VM_MODE_NATIVE, "shm:size=1M,fork=3,passes=3", 16 * MiB,
		     0);
	shm_workload(VM_MODE_TRACE, "shm:size=1M,fork=3,passes=3", 16 * MiB, 0);
	shm_workload(VM_MODE_NATIVE, "shm:size=8M", 4 * MiB, 16 * MiB);
	shm_workload(VM_MODE_TRACE, "shm:size=8M", 4 * MiB, 16 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_shmem_across_fork_trace),
		VMTEST(test_shmem_across_fork_native),
		VMTEST(test_shmem_under_swap_trace),
		VMTEST(test_shmem_under_swap_native),
		VMTEST(test_shmem_accounting),
		VMTEST(test_shmem_refused_in_exact_mode),
		VMTEST(test_shmem_workload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
