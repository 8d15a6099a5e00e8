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
#include <inttypes.h>
#include <semaphore.h>
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
#include "vm/rmap.h"

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

/* The policies whose victims come from a list's tail (peek names them). */
static const char *const list_policies[] = { "fifo", "lru", "clock" };

/*
 * A trace-mode machine with exact replacement (policy NULL: the default)
 * and a software TLB of tlb_entries (0: exact mode's default).
 */
static struct vm *exact_vm_tlb(const char *policy, uint64_t frames,
			       unsigned tlb_entries)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	if (policy)
		cfg.policy = policy;
	cfg.exact_frames = frames;
	cfg.tlb_entries = tlb_entries;
	return vmtest_create_cfg(&cfg);
}

static struct vm *exact_vm(const char *policy, uint64_t frames)
{
	return exact_vm_tlb(policy, frames, 0);
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

/* A private anonymous read-write area of pages pages in t. */
static uint64_t anon_area(struct vm_task *t, uint64_t pages)
{
	return vm_mmap(t, 0, pages * 4096ULL, VM_PROT_READ | VM_PROT_WRITE,
		       VM_MAP_PRIVATE | VM_MAP_ANON);
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
	uint64_t va = anon_area(t, 1);
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
	uint64_t base = anon_area(t, PEEK_PAGES);
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
	uint64_t base = anon_area(t, SLOT_PAGES);
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
	const char *const *pol = list_policies;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(list_policies); i++) {
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

/*
 * Exact mode's two short cuts against the general path, differentially:
 * - rewiring (reclaim/exact.c): an eviction whose victim is the faulting
 *   mm's own page, mapped once, moves that page to the new va instead of
 *   releasing it and making a new one;
 * - the walk hit (vm/fault_exact.c): a TLB miss whose PTE already grants
 *   the access, with A (and D) set, fills the TLB without a fault.
 * The same run of two tasks that take turns (so that each also evicts
 * the other's pages, which is never rewired; one task also unmaps its
 * area and maps a new one; both clear A and D bits now and then, which
 * the walk must leave to the fault), with a small TLB, on a machine with
 * the short cut and on one without.  After every access, a digest of what
 * a reader can see - every counter, both mms' counts and PTEs, the struct
 * page of every frame they map, the LRU lists in order with their pages -
 * must be the same on both.
 */
#define RW_FRAMES   12
#define RW_PAGES    24
#define RW_TLB	    4 /* entries: far fewer than the frames */
#define RW_TURNS    8
#define RW_PER_TURN 64
#define RW_STEPS    (2 * RW_TURNS * RW_PER_TURN)

struct rw_job {
	struct vm *vm;
	uint64_t seed;
	sem_t turn[2];
	struct mm *mm[2];
	uint64_t area[2];
	uint64_t digest[RW_STEPS];
	unsigned step;
	int failed;
};

struct rw_arg {
	struct rw_job *j;
	int me;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static uint64_t mix_page(uint64_t h, struct vm *vm, const struct page *pg,
			 const struct rw_job *j)
{
	struct mm *mm = NULL;
	vaddr_t va = 0;
	bool mapped = rmap_first(pg, &mm, &va);

	h = mix(h, phys_pfn(&vm->phys, pg));
	h = mix(h, pg->flags);
	h = mix(h, (uint64_t)(uint32_t)pg->_refcount);
	h = mix(h, (uint64_t)(uint32_t)pg->_mapcount);
	h = mix(h, pg->index);
	h = mix(h, pg->lru_info);
	h = mix(h, pg->private);
	h = mix(h, !mapped ? 0 : rmap_is_direct(pg->rmap) ? 1 : 2);
	h = mix(h, mm == j->mm[0] ? 10 : mm == j->mm[1] ? 11 : mm ? 12 : 13);
	return mix(h, va);
}

static uint64_t rw_digest(const struct rw_job *j)
{
	struct vm *vm = j->vm;
	struct reclaim *rc = vm_reclaim(vm);
	uint64_t h = 14695981039346656037ULL;
	struct list_head *pos;
	struct vm_stat st;
	uint64_t w[sizeof(st) / sizeof(uint64_t)];

	vm_stat(vm, &st);
	st.age_ns = 0; /* a time */
	memcpy(w, &st, sizeof(w));
	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++)
		h = mix(h, w[k]);
	vm_lock(vm);
	for (int m = 0; m < 2; m++) {
		struct mm *mm = j->mm[m];

		if (!mm)
			continue;
		h = mix(h, mm->rss_anon);
		h = mix(h, mm->swapents);
		h = mix(h, mm->owner ? mm->owner->ru.maxrss : 0);
		for (unsigned p = 0; p < RW_PAGES; p++) {
			pte_t *e = pt_walk(&mm->pt, j->area[m] + p * 4096ULL);

			h = mix(h, e ? *e : ~0ULL);
			if (e && pte_present(*e))
				h = mix_page(h, vm,
					     phys_page(&vm->phys, pte_pfn(*e)),
					     j);
		}
	}
	for (int l = 0; l < NR_LRU_LISTS; l++) {
		h = mix(h, rc->lru.nr[l]);
		list_for_each(pos, &rc->lru.lists[l])
			h = mix_page(h, vm, list_entry(pos, struct page, lru),
				     j);
	}
	h = mix(h, vm->exact_used);
	vm_unlock(vm);
	return h;
}

static int rw_task(struct vm_task *t, void *arg)
{
	struct rw_arg *a = arg;
	struct rw_job *j = a->j;
	int me = a->me;
	uint64_t s = j->seed + (uint64_t)me;

	sem_wait(&j->turn[me]);
	j->area[me] = anon_area(t, RW_PAGES);
	j->mm[me] = t->mm;
	if (vm_mmap_failed(j->area[me]))
		j->failed = 1;
	sem_post(&j->turn[!me]);
	for (unsigned turn = 0; turn < RW_TURNS; turn++) {
		sem_wait(&j->turn[me]);
		for (unsigned k = 0; k < RW_PER_TURN && !j->failed; k++) {
			uint64_t r = vmtest_rand(&s);
			/* Half the time uniform, half the low pages hot. */
			uint64_t p = (r >> 60) & 1 ?
					     r % RW_PAGES :
					     r % (1 + (r >> 32) % RW_PAGES);

			/* A and D bits that the next accesses must set. */
			if (k == RW_PER_TURN / 4)
				vmtest_clear_young(t, j->area[me],
						   RW_PAGES / 2);
			if (k == RW_PER_TURN / 2)
				vmtest_clean(t, j->area[me], RW_PAGES / 2);
			if (vm_access_next(t, j->area[me] + p * 4096ULL,
					   (r >> 20) % 3 == 0,
					   j->step + (r >> 40) % 50))
				j->failed = 2;
			j->digest[j->step++] = rw_digest(j);
		}
		if (me == 0 && turn == RW_TURNS / 2 && !j->failed) {
			/* Tables freed, the kept victim slot stale. */
			if (vm_munmap(t, j->area[0], RW_PAGES * 4096ULL))
				j->failed = 3;
			j->area[0] = anon_area(t, RW_PAGES);
			if (vm_mmap_failed(j->area[0]))
				j->failed = 4;
		}
		sem_post(&j->turn[!me]);
	}
	if (me == 0) /* stay until the other's last turn is over */
		sem_wait(&j->turn[0]);
	return 0;
}

static void rw_run(struct rw_job *j, const char *policy, bool rewire,
		   bool walk_hit)
{
	struct rw_arg a[2] = { { j, 0 }, { j, 1 } };
	struct vm_exit ex;
	int pid[2];

	j->vm = exact_vm_tlb(policy, RW_FRAMES, RW_TLB);
	vm_reclaim(j->vm)->no_rewire = !rewire;
	j->vm->exact_walk_faults = !walk_hit;
	sem_init(&j->turn[0], 0, 0);
	sem_init(&j->turn[1], 0, 0);
	for (int i = 0; i < 2; i++) {
		pid[i] = vm_spawn(j->vm, "rw", 0, rw_task, &a[i]);
		assert_true(pid[i] > 0);
	}
	sem_post(&j->turn[0]);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vm_wait(j->vm, pid[i], &ex), pid[i]);
		assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	}
	assert_int_equal(j->failed, 0);
	assert_int_equal(j->step, RW_STEPS);
	assert_int_equal(vmtest_check_all(j->vm), 0);
	sem_destroy(&j->turn[0]);
	sem_destroy(&j->turn[1]);
}

static const char *const rw_policies[] = { "fifo", "lru",    "clock",
					   "lfu",  "opt",    "arc",
					   "2q",   "s3fifo", "linux" };
static struct rw_job on, off;

/*
 * Run policy twice with one seed: `on` with both short cuts, `off` with
 * the short cuts given (the one under test false).
 */
static void rw_pair(const char *policy, bool off_rewire, bool off_walk_hit)
{
	on = (struct rw_job){ .seed = vmtest_seed(policy) };
	off = (struct rw_job){ .seed = on.seed };
	rw_run(&on, policy, true, true);
	rw_run(&off, policy, off_rewire, off_walk_hit);
}

/* The digests of on and off agree after every access; then free both. */
static void rw_compare(const char *policy)
{
	for (unsigned k = 0; k < RW_STEPS; k++)
		if (on.digest[k] != off.digest[k])
			fail_msg("%s: the states differ after access %u",
				 policy, k);
	vmtest_destroy(on.vm);
	vmtest_destroy(off.vm);
}

static void test_rewire_same_state(void **state)
{
	const char *const *pol = rw_policies;
	struct vm_stat st;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rw_policies); i++) {
		rw_pair(pol[i], false, true);
		vm_stat(on.vm, &st);
		printf("%s: %" PRIu64 " of %" PRIu64 " evictions rewired\n",
		       pol[i], vm_reclaim(on.vm)->exact_rewired, st.pswpout);
		/* Both paths ran, each a good part of the time. */
		assert_true(vm_reclaim(on.vm)->exact_rewired > st.pswpout / 4);
		assert_true(vm_reclaim(on.vm)->exact_rewired + 10 < st.pswpout);
		assert_true(st.pswpout > RW_STEPS / 4);
		assert_int_equal(vm_reclaim(off.vm)->exact_rewired, 0);
		rw_compare(pol[i]);
	}
}

static void test_walk_hit_same_state(void **state)
{
	const char *const *pol = rw_policies;
	struct vm_stat st;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rw_policies); i++) {
		rw_pair(pol[i], true, false);
		vm_stat(on.vm, &st);
		printf("%s: %" PRIu64 " walk hits, %" PRIu64 " misses\n",
		       pol[i], on.vm->exact_walk_hits, st.pswpin);
		/* The short cut ran, a good part of the time. */
		assert_true(on.vm->exact_walk_hits > RW_STEPS / 32);
		assert_int_equal(off.vm->exact_walk_hits, 0);
		rw_compare(pol[i]);
	}
}

/*
 * The walk hit asks the VMA: a PROT_NONE area keeps its PTEs present and
 * accessed, and a read of it must still be the task's SEGV, at its
 * address.  A read-only area's read is a hit, its write a SEGV.
 */
struct prot_case {
	int prot, write;
	uint64_t va; /* the access that must fail */
};

static int prot_task(struct vm_task *t, void *arg)
{
	struct prot_case *c = arg;
	uint64_t a = anon_area(t, 4);

	if (vm_mmap_failed(a))
		return 1;
	for (unsigned p = 0; p < 4; p++) /* resident, A and D set */
		if (vm_access(t, a + p * 4096ULL, 1))
			return 2;
	if (vm_mprotect(t, a, 4 * 4096ULL, c->prot))
		return 3;
	if (c->prot && vm_access(t, a + 2 * 4096ULL, 0)) /* a walk hit */
		return 4;
	c->va = a + 4096 + 8;
	vm_access(t, c->va, c->write); /* the task ends here */
	return 5;
}

static void test_walk_obeys_prot(void **state)
{
	struct prot_case cases[] = { { VM_PROT_NONE, 0, 0 },
				     { VM_PROT_READ, 1, 0 } };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vm *vm = exact_vm("lru", 8);
		struct vm_exit ex;
		int pid = vm_spawn(vm, "prot", 0, prot_task, &cases[i]);

		assert_true(pid > 0);
		assert_int_equal(vm_wait(vm, pid, &ex), pid);
		assert_int_equal(ex.reason, VM_EXIT_SEGV);
		assert_int_equal(ex.fault_va, cases[i].va);
		/* the read-only area's read was the walk's hit */
		assert_int_equal(vm->exact_walk_hits, cases[i].prot ? 1 : 0);
		vmtest_destroy(vm);
	}
}

/*
 * The software TLB against the page tables (mmu/swtlb.h's invariant),
 * after every access of a random replay of reads and writes, with more
 * pages than the TLB holds and evictions between: each valid entry sits
 * in its va's set, once; maps the frame its PTE maps, and the PTE is
 * present and accessed (and writable and dirty if the entry is).  Catches
 * a fill that leaves a stale or second entry (exact_tlb_miss fills without
 * searching the set after a read).
 */
#define TLBC_ENTRIES 16
#define TLBC_PAGES   64
#define TLBC_REFS    3000

struct tlbc_job {
	struct vm *vm;
	uint64_t seed;
	unsigned checked;
};

static const char *tlb_inconsistency(struct vm *vm, struct mm *mm)
{
	struct swtlb *tlb = &mm->swtlb;

	for (unsigned set = 0; set <= tlb->set_mask; set++)
		for (unsigned w = 0; w < SWTLB_WAYS; w++) {
			uint64_t e = tlb->line[set].entry[w];
			vaddr_t va = (e >> SWTLB_E_TAG_SHIFT) << PAGE_SHIFT;
			pte_t *p;

			if (!(e & SWTLB_E_VALID))
				continue;
			if (swtlb_set(tlb, va) != set)
				return "an entry in the wrong set";
			for (unsigned o = w + 1; o < SWTLB_WAYS; o++)
				if ((tlb->line[set].entry[o] | SWTLB_E_WRITE) ==
				    (e | SWTLB_E_WRITE))
					return "two entries for one page";
			p = pt_walk(&mm->pt, va);
			if (!p || !pte_present(*p) || !(*p & PTE_ACCESSED))
				return "an entry without a present, "
				       "accessed PTE";
			if (pte_pfn(*p) != tlb->line[set].pfn[w])
				return "an entry for another frame";
			if ((e & SWTLB_E_WRITE) &&
			    (!(*p & PTE_WRITE) || !(*p & PTE_DIRTY)))
				return "a writable entry for a clean or "
				       "read-only PTE";
		}
	(void)vm;
	return NULL;
}

static int tlbc_task(struct vm_task *t, void *arg)
{
	struct tlbc_job *j = arg;
	uint64_t base = anon_area(t, TLBC_PAGES);
	uint64_t s = j->seed;

	if (vm_mmap_failed(base))
		return 1;
	for (unsigned i = 0; i < TLBC_REFS; i++) {
		uint64_t r = vmtest_rand(&s);
		const char *bad;

		if (vm_access(t, base + (r % TLBC_PAGES) * 4096ULL + r % 4096,
			      (r >> 40) % 4 == 0))
			return 2;
		vm_lock(j->vm);
		bad = tlb_inconsistency(j->vm, t->mm);
		vm_unlock(j->vm);
		if (bad) {
			fprintf(stderr, "after access %u: %s\n", i, bad);
			return 3;
		}
		j->checked++;
	}
	return 0;
}

static void test_tlb_consistent(void **state)
{
	const char *const *pol = list_policies;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(list_policies); i++) {
		struct tlbc_job j = { .seed = vmtest_seed(pol[i]) };

		j.vm = exact_vm_tlb(pol[i], TLBC_PAGES / 2, TLBC_ENTRIES);
		run_task(j.vm, pol[i], tlbc_task, &j);
		assert_int_equal(j.checked, TLBC_REFS);
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
		VMTEST(test_rewire_same_state),
		VMTEST(test_walk_hit_same_state),
		VMTEST(test_walk_obeys_prot),
		VMTEST(test_tlb_consistent),
		VMTEST(test_next_victim_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
