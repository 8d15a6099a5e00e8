/*
 * tests/test_exact.c - exact replacement (vm_config.exact_frames) and the
 * textbook policies it runs, against published fault counts and against
 * naive reference models (an array scanned per reference: nothing shared
 * with the code under test).
 *
 * Published counts (Silberschatz, Operating System Concepts, ch. 10; and
 * Belady, Nelson, Shedler 1969): the reference string
 * 7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1 with 3 frames: FIFO 15, LRU 12;
 * 1 2 3 4 1 2 5 1 2 3 4 5: FIFO 9 faults with 3 frames, 10 with 4.
 *
 * Randomized differential runs print their seed (SEED= to rerun).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reclaim/reclaim_internal.h"
#include "tests/lib/replay.h"
#include "tests/lib/vmtest.h"
#include "vm/machine.h"
#include "vm/mm.h"

#define MAXF 64

static const uint64_t silberschatz[] = { 7, 0, 1, 2, 0, 3, 0, 4, 2, 3,
					 0, 3, 2, 1, 2, 0, 1, 7, 0, 1 };
static const uint64_t belady[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };

static uint64_t run(const char *policy, uint64_t frames, const uint64_t *p,
		    size_t n)
{
	struct replay_result r;
	char err[256] = "";

	if (replay_exact(policy, frames, p, NULL, n, &r, err, sizeof(err))) {
		print_error("replay %s: %s\n", policy, err);
		fail();
	}
	assert_int_equal(r.ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(r.access_err, 0);
	assert_int_equal(r.check, 0);
	assert_true(r.resident <= frames);
	return r.misses;
}

/* ---- naive reference models ------------------------------------------ */

enum model_kind { M_FIFO, M_LRU, M_CLOCK };

/* Misses of policy k over p[0..n) with f frames: arrays, O(f) per ref. */
static uint64_t model(enum model_kind k, unsigned f, const uint64_t *p,
		      size_t n)
{
	uint64_t res[MAXF];
	int ref[MAXF];
	unsigned used = 0;
	uint64_t misses = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned j;

		for (j = 0; j < used && res[j] != p[i]; j++)
			;
		if (j < used) { /* hit */
			if (k == M_LRU) {
				memmove(&res[j], &res[j + 1],
					(used - j - 1) * sizeof(res[0]));
				res[used - 1] = p[i];
			}
			ref[j] = 1;
			continue;
		}
		misses++;
		while (used == f) {
			if (k == M_CLOCK && ref[0]) { /* second chance */
				uint64_t v = res[0];

				memmove(&res[0], &res[1],
					(used - 1) * sizeof(res[0]));
				memmove(&ref[0], &ref[1],
					(used - 1) * sizeof(ref[0]));
				res[used - 1] = v;
				ref[used - 1] = 0;
				continue;
			}
			memmove(&res[0], &res[1], (used - 1) * sizeof(res[0]));
			memmove(&ref[0], &ref[1], (used - 1) * sizeof(ref[0]));
			used--;
		}
		res[used] = p[i];
		ref[used++] = 0;
	}
	return misses;
}

/* ---- published counts ------------------------------------------------ */

static void test_textbook_fifo_lru(void **state)
{
	(void)state;
	assert_int_equal(run("fifo", 3, silberschatz, 20), 15);
	assert_int_equal(run("lru", 3, silberschatz, 20), 12);
	assert_int_equal(model(M_FIFO, 3, silberschatz, 20), 15);
	assert_int_equal(model(M_LRU, 3, silberschatz, 20), 12);
}

static void test_belady_anomaly(void **state)
{
	(void)state;
	assert_int_equal(run("fifo", 3, belady, 12), 9);
	assert_int_equal(run("fifo", 4, belady, 12), 10);
	/* LRU is a stack algorithm: never worse with more frames. */
	assert_true(run("lru", 4, belady, 12) <= run("lru", 3, belady, 12));
}

/* Every distinct page is one miss when everything fits. */
static void test_all_fit(void **state)
{
	static const char *const pol[] = { "fifo", "lru", "clock", "linux" };

	(void)state;
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(run(pol[i], 8, silberschatz, 20), 6);
}

/*
 * linux in the exact harness: a policy with only select, whose passes keep
 * every referenced page - with few frames all are referenced, yet each
 * miss must still evict one page (it used to end the task instead).
 */
static void test_linux_few_frames(void **state)
{
	(void)state;
	for (uint64_t f = 1; f <= 5; f++) {
		uint64_t m = run("linux", f, silberschatz, 20);

		assert_true(m >= 6 && m <= 20); /* 6 distinct pages */
	}
	/* One frame: no reference repeats the one before it. */
	assert_int_equal(run("linux", 1, silberschatz, 20), 20);
}

/* ---- randomized differential runs ------------------------------------ */

static void differential(const char *name, enum model_kind k)
{
	uint64_t seed = vmtest_seed(name), s = seed;
	uint64_t p[400];

	for (int round = 0; round < 60; round++) {
		unsigned npages = 2 + (unsigned)(vmtest_rand(&s) % 40);
		unsigned f = 1 + (unsigned)(vmtest_rand(&s) % 24);
		size_t n = 1 + vmtest_rand(&s) % 400;

		for (size_t i = 0; i < n; i++) /* a skewed mix */
			p[i] = vmtest_rand(&s) % 3 ?
				       vmtest_rand(&s) % (npages / 2 + 1) :
				       vmtest_rand(&s) % npages;
		if (run(name, f, p, n) != model(k, f, p, n)) {
			print_error("%s: seed %llu round %d: %u frames, %zu "
				    "refs\n",
				    name, (unsigned long long)seed, round, f,
				    n);
			fail();
		}
	}
}

static void test_fifo_model(void **state)
{
	(void)state;
	differential("fifo", M_FIFO);
}

static void test_lru_model(void **state)
{
	(void)state;
	differential("lru", M_LRU);
}

static void test_clock_model(void **state)
{
	(void)state;
	differential("clock", M_CLOCK);
}

/* ---- the mode itself --------------------------------------------------- */

/* A trace-mode machine with exact replacement (policy NULL: the default). */
static struct vm *exact_vm(const char *policy, uint64_t frames)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	if (policy)
		cfg.policy = policy;
	cfg.exact_frames = frames;
	return vmtest_create_cfg(&cfg);
}

/* Run fn(arg) as a task of vm; it must end normally with 0. */
static void run_task(struct vm *vm, const char *name,
		     int (*fn)(struct vm_task *, void *), void *arg)
{
	struct vm_exit ex;
	int pid = vm_spawn(vm, name, 0, fn, arg);

	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
}

static void test_config_errors(void **state)
{
	struct vm_config cfg;
	char err[256];

	(void)state;
	vm_config_init(&cfg);
	cfg.exact_frames = 8; /* native mode */
	assert_null(vm_create(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "trace mode"));
	cfg.mode = VM_MODE_TRACE;
	cfg.exact_frames = VM_EXACT_MAX_FRAMES + 1;
	assert_null(vm_create(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "at most"));
}

/* Writes and reads alike take a frame; evicted pages come back major. */
static void test_counts(void **state)
{
	static const uint64_t p[] = { 0, 1, 2, 3, 0, 1, 2, 3 };
	static const uint8_t w[] = { 1, 0, 1, 0, 0, 1, 0, 1 };
	struct replay_result r;
	char err[128];

	(void)state;
	assert_int_equal(replay_exact("fifo", 2, p, w, 8, &r, err, sizeof(err)),
			 0);
	assert_int_equal(r.misses, 8);
	assert_int_equal(r.majfaults, 4); /* the second round */
	assert_int_equal(r.evictions, 6); /* 8 misses into 2 frames */
	assert_int_equal(r.resident, 2);
	assert_int_equal(r.check, 0);
}

/* Frames hold no data: the copy calls refuse. */
static int no_data_task(struct vm_task *t, void *arg)
{
	uint64_t va = vm_mmap(t, 0, 4096, VM_PROT_READ | VM_PROT_WRITE,
			      VM_MAP_PRIVATE | VM_MAP_ANON);
	char c = 1;

	(void)arg;
	if (vm_mmap_failed(va) || vm_access(t, va, 1))
		return 1;
	return vm_write(t, va, &c, 1) == -EINVAL &&
			       vm_read(t, va, &c, 1) == -EINVAL ?
		       0 :
		       2;
}

static void test_no_data(void **state)
{
	struct vm *vm = exact_vm(NULL, 4);

	(void)state;
	run_task(vm, "nodata", no_data_task, NULL);
	vmtest_destroy(vm);
}

/*
 * The policy's peek (the eviction's prefetch hint, reclaim/exact.c):
 * white-box.  For fifo and lru the page it names first is the one the
 * next miss evicts - whose frame then holds the incoming page - and the
 * second is next in line.  (A hit may move what peek named - lru's hit
 * page leaves the tail - which only makes the hint stale: a hint.)
 */
#define PEEK_FRAMES 8
#define PEEK_PAGES  32
#define PEEK_REFS   4000

struct peek_job {
	struct vm *vm;
	uint64_t seed;
	unsigned evictions, wrong;
};

/* peek's answer, and whether every frame is in use (a miss evicts). */
static unsigned peek_now(struct vm *vm, struct page **out, bool *full)
{
	struct reclaim *rc = vm_reclaim(vm);
	unsigned n;

	vm_lock(vm);
	n = rc->policy->peek(rc, out, 2);
	*full = rc->lru.nr[LRU_INACTIVE_ANON] == PEEK_FRAMES;
	vm_unlock(vm);
	return n;
}

static int peek_task(struct vm_task *t, void *arg)
{
	struct peek_job *j = arg;
	uint64_t base = vm_mmap(t, 0, PEEK_PAGES * 4096ULL,
				VM_PROT_READ | VM_PROT_WRITE,
				VM_MAP_PRIVATE | VM_MAP_ANON);
	uint64_t s = j->seed;
	struct vm_stat a, b;

	if (vm_mmap_failed(base))
		return 1;
	for (unsigned i = 0; i < PEEK_REFS; i++) {
		uint64_t va = base + (vmtest_rand(&s) % PEEK_PAGES) * 4096ULL;
		struct page *next[2], *after[2];
		bool full, dummy;
		unsigned n = peek_now(j->vm, next, &full), m;

		vm_stat(j->vm, &a);
		if (vm_access(t, va, (int)(i & 1)))
			return 2;
		vm_stat(j->vm, &b);
		if (b.pgfault == a.pgfault || !full || n < 2)
			continue; /* a hit, or a frame still free */
		j->evictions++;
		m = peek_now(j->vm, after, &dummy);
		/* the named frame now holds the new page; the second leads */
		if (next[0]->index != va || m < 1 || after[0] != next[1])
			j->wrong++;
	}
	return 0;
}

static void test_peek_names_next_victim(void **state)
{
	static const char *const pol[] = { "fifo", "lru" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct peek_job j = { .seed = vmtest_seed(pol[i]) };

		j.vm = exact_vm(pol[i], PEEK_FRAMES);
		assert_non_null(vm_reclaim(j.vm)->policy->peek);
		run_task(j.vm, pol[i], peek_task, &j);
		assert_true(j.evictions > PEEK_REFS / 4);
		assert_int_equal(j.wrong, 0);
		vmtest_destroy(j.vm);
	}
}

/*
 * The next victim's PTE slot, kept by an eviction for the next
 * (reclaim/exact.c, rc->next_victim): white-box.  After every eviction it
 * is the slot a walk finds for the page peek names first, stamped with
 * the machine's count of freed page tables; a page-table free moves that
 * count; and a slot whose stamp is old is not used - poisoned here with a
 * slot that maps another frame, which unmap_one would BUG_ON.
 */
#define SLOT_FRAMES 4
#define SLOT_PAGES  16
#define SLOT_REFS   600

struct slot_job {
	struct vm *vm;
	uint64_t seed;
	unsigned checked, poisoned;
	bool frees_moved;
};

/* Is rc->next_victim what a walk of peek's first page finds now? */
static bool slot_is_walked(struct vm *vm, struct vm_task *t)
{
	struct reclaim *rc = vm_reclaim(vm);
	struct page *next[2];
	bool ok;

	vm_lock(vm);
	ok = rc->policy->peek(rc, next, 2) >= 1 &&
	     rc->next_victim.pg == next[0] && rc->next_victim.mm == t->mm &&
	     rc->next_victim.va == next[0]->index &&
	     rc->next_victim.ptep == pt_walk(&t->mm->pt, rc->next_victim.va) &&
	     rc->next_victim.frees == vm->pt_frees;
	vm_unlock(vm);
	return ok;
}

static int slot_task(struct vm_task *t, void *arg)
{
	struct slot_job *j = arg;
	uint64_t base = vm_mmap(t, 0, SLOT_PAGES * 4096ULL,
				VM_PROT_READ | VM_PROT_WRITE,
				VM_MAP_PRIVATE | VM_MAP_ANON);
	uint64_t s = j->seed, frees;
	pte_t poison = 0;

	if (vm_mmap_failed(base))
		return 1;
	for (unsigned i = 0; i < SLOT_REFS; i++) {
		struct vm_stat a, b;

		vm_stat(j->vm, &a);
		if (vm_access(t,
			      base + (vmtest_rand(&s) % SLOT_PAGES) * 4096ULL,
			      (int)(i & 1)))
			return 2;
		vm_stat(j->vm, &b);
		if (b.pswpout == a.pswpout)
			continue; /* no eviction */
		if (!slot_is_walked(j->vm, t))
			return 3;
		j->checked++;
		if (i % 7)
			continue;
		/* Poison the kept slot, its stamp old: the next eviction
		   must walk instead (else BUG_ON: the frame differs). */
		vm_lock(j->vm);
		poison = pfn_pte(0, PTE_PRESENT | PTE_WRITE | PTE_USER);
		vm_reclaim(j->vm)->next_victim.ptep = &poison;
		vm_reclaim(j->vm)->next_victim.frees--;
		vm_unlock(j->vm);
		j->poisoned++;
	}
	/* A page table freed (the area's, emptied) moves the count. */
	frees = j->vm->pt_frees;
	if (vm_munmap(t, base, SLOT_PAGES * 4096ULL))
		return 5;
	j->frees_moved = j->vm->pt_frees > frees;
	return 0;
}

static void test_next_victim_slot(void **state)
{
	static const char *const pol[] = { "fifo", "lru", "clock" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct slot_job j = { .seed = vmtest_seed(pol[i]) };

		j.vm = exact_vm(pol[i], SLOT_FRAMES);
		run_task(j.vm, pol[i], slot_task, &j);
		assert_true(j.checked > SLOT_REFS / 4);
		assert_true(j.poisoned > 10);
		assert_true(j.frees_moved);
		assert_int_equal(vmtest_check_all(j.vm), 0);
		vmtest_destroy(j.vm);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_textbook_fifo_lru),
		VMTEST(test_belady_anomaly),
		VMTEST(test_all_fit),
		VMTEST(test_fifo_model),
		VMTEST(test_lru_model),
		VMTEST(test_clock_model),
		VMTEST(test_config_errors),
		VMTEST(test_counts),
		VMTEST(test_no_data),
		VMTEST(test_linux_few_frames),
		VMTEST(test_peek_names_next_victim),
		VMTEST(test_next_victim_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
