/*
 * tests/test_reclaim.c - memory pressure end to end: tasks that touch more
 * memory than the machine has keep running, their data intact, through
 * reclaim and swap; and when there is nowhere to put pages, the OOM entry
 * point ends a task instead of anything hanging.
 *
 * The integrity workload writes a pattern that names (task, page,
 * generation) into every page, sequentially and then in a seeded random
 * order, several passes, and checks every page it reads; native mode
 * through real loads and stores, trace mode through vm_read/vm_write.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "reclaim/reclaim_internal.h"
#include "vm/mm.h"
#include "tests/lib/vmtest.h"

#define PAGE	      4096ULL
#define MiB	      (1ULL << 20)
#define RW	      (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	      (VM_MAP_PRIVATE | VM_MAP_ANON)
#define WORDS_CHECKED 4 /* words per page written and verified */

struct wl {
	uint64_t npages;
	unsigned passes;
	uint64_t seed;
	atomic_uint_fast64_t *mismatches;
	/* Optional: the tasks wait for each other after their first pass
	   (at most 20 s), so that they overlap even on a host so loaded
	   that it would run them one after the other - each alone fits. */
	atomic_uint *gate;
	unsigned gate_n;
};

static void gate_wait(const struct wl *w)
{
	if (!w->gate)
		return;
	atomic_fetch_add(w->gate, 1);
	for (int i = 0; i < 20000 && atomic_load(w->gate) < w->gate_n; i++)
		usleep(1000);
}

static uint64_t pattern(int pid, uint64_t page, unsigned gen, unsigned w)
{
	uint64_t x = ((uint64_t)pid << 40) ^ (page << 8) ^ gen ^
		     ((uint64_t)w << 56);

	return x * 0x9E3779B97F4A7C15ULL + 1;
}

/* Word w of page i, through the window or through vm_read/vm_write. */
static int word_io(struct vm_task *t, uint64_t base, uint64_t i, unsigned w,
		   uint64_t *v, bool write)
{
	uint64_t va = base + i * PAGE + w * (PAGE / WORDS_CHECKED);
	uint64_t *p = vm_ptr(t, va);

	if (p) {
		if (write)
			*p = *v;
		else
			*v = *p;
		return 0;
	}
	return write ? vm_write(t, va, v, sizeof(*v)) :
		       vm_read(t, va, v, sizeof(*v));
}

/* Check page i holds generation gen, then write generation gen + 1. */
static uint64_t touch_page(struct vm_task *t, uint64_t base, uint64_t i,
			   unsigned gen)
{
	int pid = vm_getpid(t);
	uint64_t bad = 0, v;

	for (unsigned w = 0; w < WORDS_CHECKED; w++) {
		if (gen && (word_io(t, base, i, w, &v, false) ||
			    v != pattern(pid, i, gen, w)))
			bad++;
		v = pattern(pid, i, gen + 1, w);
		if (word_io(t, base, i, w, &v, true))
			bad++;
	}
	return bad;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* passes x (sequential, then a seeded permutation) over npages. */
static int integrity_fn(struct vm_task *t, void *arg)
{
	struct wl *w = arg;
	uint64_t base = vm_mmap(t, 0, w->npages * PAGE, RW, ANON), bad = 0;
	uint64_t s = w->seed ^ (uint64_t)vm_getpid(t), *gen;
	uint64_t order_va;

	if (vm_mmap_failed(base))
		return 1;
	/* The generation of each page lives in task memory too. */
	order_va = vm_mmap(t, 0, w->npages * sizeof(*gen), RW, ANON);
	if (vm_mmap_failed(order_va))
		return 1;
	for (unsigned pass = 0; pass < w->passes; pass++) {
		for (uint64_t k = 0; k < w->npages; k++) {
			uint64_t i = (pass & 1) ? rnd(&s) % w->npages : k;
			uint64_t g;

			if (vm_read(t, order_va + i * sizeof(g), &g, sizeof(g)))
				return 1;
			bad += touch_page(t, base, i, (unsigned)g);
			g++;
			if (vm_write(t, order_va + i * sizeof(g), &g,
				     sizeof(g)))
				return 1;
		}
		if (pass == 0)
			gate_wait(w);
	}
	atomic_fetch_add(w->mismatches, bad);
	return bad ? 2 : 0;
}

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

/*
 * vm_stat once reclaim has let go: kswapd may still be finishing the batch
 * it isolated from tasks that have exited (writing it, then freeing frames
 * and slots), so the counts settle a moment after the last vm_wait.  A
 * leak never settles: after 5 s the counts are returned as they are.
 */
static struct vm_stat settled_stat(struct vm *vm, uint64_t swap0)
{
	struct vm_stat st = stat_of(vm);

	for (int i = 0;
	     i < 5000 && (st.nr_isolated_anon || st.nr_swap_free != swap0);
	     i++) {
		usleep(1000);
		st = stat_of(vm);
	}
	return st;
}

struct pressure_cfg {
	enum vm_mode mode;
	bool kswapd;
	uint64_t mem, swap;
	unsigned tasks;
	uint64_t pages_per_task;
	unsigned passes;
};

/* "some ... total=N" of /proc/pressure/memory (us). */
static unsigned long long psi_some_total(struct vm *vm)
{
	char buf[256];
	const char *p;

	assert_true(vm_procfs(vm, "pressure/memory", buf, sizeof(buf)) > 0);
	assert_int_equal(strncmp(buf, "some avg10=", 11), 0);
	p = strstr(buf, "total=");
	assert_non_null(p);
	return strtoull(p + 6, NULL, 10);
}

static void run_pressure(const struct pressure_cfg *pc)
{
	struct vm_config cfg;
	struct vm *vm;
	struct wl w;
	atomic_uint_fast64_t mismatches = 0;
	atomic_uint gate = 0;
	uint64_t free0, swap0;
	struct vm_stat st;
	int pid[16];

	vm_config_init(&cfg);
	cfg.mode = pc->mode;
	cfg.mem_bytes = pc->mem;
	cfg.swap_bytes = pc->swap;
	cfg.kswapd = pc->kswapd;
	vm = vmtest_create_cfg(&cfg);
	st = stat_of(vm);
	free0 = st.nr_free_pages + vmtest_slab_pages(vm);
	swap0 = st.nr_swap_free;
	w = (struct wl){
		pc->pages_per_task, pc->passes, vmtest_seed("run_pressure"),
		&mismatches,	    &gate,	pc->tasks
	};
	for (unsigned i = 0; i < pc->tasks; i++) {
		pid[i] = vm_spawn(vm, "integrity", 0, integrity_fn, &w);
		assert_true(pid[i] > 0);
	}
	for (unsigned i = 0; i < pc->tasks; i++) {
		struct vm_exit ex;

		assert_int_equal(vm_wait(vm, pid[i], &ex), pid[i]);
		if (ex.reason != VM_EXIT_NORMAL || ex.code != 0)
			fail_msg("task %d: reason %d code %d", pid[i],
				 ex.reason, ex.code);
	}
	st = settled_stat(vm, swap0);
	print_message("%s kswapd=%d: pswpout %llu pswpin %llu pgmajfault %llu "
		      "allocstall %llu pgsteal k/d %llu/%llu refault %llu\n",
		      pc->mode == VM_MODE_NATIVE ? "native" : "trace",
		      pc->kswapd, (unsigned long long)st.pswpout,
		      (unsigned long long)st.pswpin,
		      (unsigned long long)st.pgmajfault,
		      (unsigned long long)st.allocstall,
		      (unsigned long long)st.pgsteal_kswapd,
		      (unsigned long long)st.pgsteal_direct,
		      (unsigned long long)st.workingset_refault_anon);
	print_message(
		"aging: age_revoke %llu age_pages %llu pgscan %llu\n",
		(unsigned long long)st.age_revoke,
		(unsigned long long)st.age_pages,
		(unsigned long long)(st.pgscan_kswapd + st.pgscan_direct));
	assert_int_equal(atomic_load(&mismatches), 0);
	/* Native: accessed bits are cleared by walks, a revoke per window
	   each, not per page judged (reclaim/age.c). */
	if (pc->mode == VM_MODE_NATIVE)
		assert_true(st.age_revoke * 16 <
			    st.pgscan_kswapd + st.pgscan_direct);
	/* Tasks stalled in direct reclaim and swap reads: PSI saw it. */
	assert_true(psi_some_total(vm) > 0);
	if (pc->kswapd) {
		/* Both count in kswapd's thread, which a loaded host may not
		   have run before the tasks ended (direct reclaim did it
		   all: pgsteal 0/513 once): its wake is pending, wait. */
		for (int i = 0; i < 5000 && !st.pageoutrun; i++) {
			usleep(1000);
			st = stat_of(vm);
		}
		assert_true(st.pageoutrun > 0 && st.kswapd_wake > 0);
	} else
		assert_true(st.pageoutrun == 0 && st.pgscan_kswapd == 0);
	assert_true(st.pswpout > 0);
	assert_true(st.pswpin > 0);
	assert_int_equal(st.nr_swap_free, swap0); /* every slot free again */
	assert_int_equal(st.nr_swapcached, 0);
	assert_int_equal(st.nr_free_pages + vmtest_slab_pages(vm), free0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

#define PCT 5 /* vm_config.aging_budget_pct's default */

/*
 * Native aging's budget (reclaim/age.c): it fills at PCT % of the
 * time, pays walks and their refill traps (AGE_TRAP_NS each), and a walk
 * starts only when asked and covered.  Figures worked by hand.
 */
static void test_reclaim_age_budget_by_hand(void **state)
{
	const uint64_t ms = 1000000;
	struct age_state a = { 0 };

	(void)state;
	assert_int_equal(AGE_TRAP_NS, 10000);
	/* First reclaim at 1 s: 1000 LRU pages, so the first walk is
	   expected to cost 1000 traps = 10 ms; nothing saved yet. */
	age_budget_update(&a, 1000 * ms, 0, 1000, PCT);
	assert_int_equal(age_walk_cost(&a), 10 * ms);
	assert_false(age_walk_due(&a));
	a.want = true;
	assert_false(age_walk_due(&a));
	/* 10 ms is 5 % of 200 ms. */
	age_budget_update(&a, 1199 * ms, 0, 1000, PCT);
	assert_false(age_walk_due(&a));
	age_budget_update(&a, 1200 * ms, 0, 1000, PCT);
	assert_true(age_walk_due(&a));
	/* A 2 ms walk, paid at once; the next is expected to cost as much,
	   with the first estimate's traps until this one's are known. */
	age_walked(&a, 2 * ms);
	assert_false(a.want);
	assert_int_equal(a.balance_ns, 8 * ms);
	assert_int_equal(age_walk_cost(&a), 12 * ms);
	/* Its traps, as they come: 40 ms later, 500 (5 ms) and 2 ms
	   earned. */
	age_budget_update(&a, 1240 * ms, 500, 1000, PCT);
	assert_int_equal(a.balance_ns, 5 * ms);
	/* 500 more (5 ms): the 12 ms need 240 ms more. */
	a.want = true;
	age_budget_update(&a, 1479 * ms, 1000, 1000, PCT);
	assert_false(age_walk_due(&a));
	age_budget_update(&a, 1480 * ms, 1000, 1000, PCT);
	assert_true(age_walk_due(&a));
	/* The second walk: the estimate is now its predecessor's real cost
	   (3 ms and 1000 traps, until more come). */
	age_walked(&a, 3 * ms);
	assert_int_equal(age_walk_cost(&a), 13 * ms);
	/* Quiet for 100 s: at most AGE_BURST_NS saved. */
	age_budget_update(&a, 101480 * ms, 1000, 1000, PCT);
	assert_int_equal(a.balance_ns, AGE_BURST_NS);
	/* A walk costlier than that can still be saved for. */
	a.walk_ns = 70 * ms;
	age_budget_update(&a, 201480 * ms, 1000, 1000, PCT);
	assert_int_equal(a.balance_ns, 80 * ms);
}

/*
 * The budget over a simulated minute of heavy pressure: a walk is always
 * wanted, takes 5 ms and makes 3000 pages trap over the next 300 ms.
 * Aging spends at most PCT % of the time (give or take the
 * first walk), and does not fall far short of it either.
 */
static void test_reclaim_age_budget_holds(void **state)
{
	const uint64_t ms = 1000000, walk = 5 * ms, pages = 3000;
	struct age_state a = { 0 };
	uint64_t refills = 0, spent = 0, walks = 0, last = 0;

	(void)state;
	for (uint64_t t = 1; t <= 60000; t++) {
		if (walks && t - last <= 300)
			refills += pages / 300;
		age_budget_update(&a, t * ms, refills, 4000, PCT);
		a.want = true;
		if (age_walk_due(&a)) {
			age_walked(&a, walk);
			spent += walk;
			walks++;
			last = t;
		}
	}
	spent += refills * AGE_TRAP_NS;
	print_message("budget: %llu walks, %.2f %% of the time\n",
		      (unsigned long long)walks, 100.0 * (double)spent / 60e9);
	/* Each walk with its traps: 35 ms; 5 % of 60 s = 3 s: ~86. */
	assert_true(spent <=
		    60000 * ms * PCT / 100 + walk + pages * AGE_TRAP_NS);
	assert_true(walks >= 80);
}

#define AGE_N 4

/* Judge the AGE_N pages under the lock; want says if a walk was asked. */
static void judge(struct vm *vm, struct page **pg, unsigned *refs, bool *want)
{
	vmtest_lock(vm);
	vm->reclaim->age.want = false;
	reclaim_referenced(vm->reclaim, pg, AGE_N, refs);
	*want = vm->reclaim->age.want;
	vmtest_unlock(vm);
}

/* An aging walk, asked for and with the budget long unspent. */
static void walk(struct vm *vm)
{
	vmtest_lock(vm);
	vm->reclaim->age.want = true;
	vm->reclaim->age.balance_ns = INT64_MAX / 2; /* paid for */
	reclaim_age_tick(vm->reclaim);
	assert_false(vm->reclaim->age.want); /* it ran */
	vmtest_unlock(vm);
}

static void expect_refs(const unsigned *refs, unsigned r0, unsigned r1,
			unsigned r2, unsigned r3)
{
	const unsigned want[AGE_N] = { r0, r1, r2, r3 };

	for (unsigned i = 0; i < AGE_N; i++)
		if (refs[i] != want[i])
			fail_msg("page %u: %u references, expected %u", i,
				 refs[i], want[i]);
}

/*
 * Native aging (reclaim/age.c) stands for Linux's test-and-clear whose
 * clears touches only see after a walk: a judgement counts each accessed
 * bit once (PTE_AGED, no revoke); a counted bit is stale - unreferenced,
 * and a walk asked for; a walk spends counted bits and keeps uncounted
 * ones as PG_young; a touch after it is a reference again.
 */
static void test_reclaim_age_counts_each_bit_once(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 16 * MiB);
	struct page *pg[AGE_N];
	unsigned refs[AGE_N];
	struct parked p;
	bool want;
	uint8_t v;
	uint64_t a;

	(void)state;
	assert_true(park_spawn(vm, &p, "aging") > 0);
	a = vm_mmap(p.t, 0, AGE_N * PAGE_SIZE, RW, ANON);
	for (unsigned i = 0; i < AGE_N; i++) {
		assert_int_equal(vmtest_cpu_store(p.t, a + i * PAGE_SIZE, 1),
				 0);
		pg[i] = phys_page(&vm->phys,
				  pte_pfn(vmtest_pte(p.t, a + i * PAGE_SIZE)));
	}
	/* The faults set A: one reference each, now counted. */
	judge(vm, pg, refs, &want);
	expect_refs(refs, 1, 1, 1, 1);
	assert_false(want);
	for (unsigned i = 0; i < AGE_N; i++)
		assert_true(vmtest_pte(p.t, a + i * PAGE_SIZE) & PTE_AGED);
	assert_int_equal(vmtest_check(p.t), 0);
	/* Judged again with nothing new to see: stale, so unreferenced. */
	judge(vm, pg, refs, &want);
	expect_refs(refs, 0, 0, 0, 0);
	assert_true(want);
	/* The walk clears A and the marks; spent bits leave no PG_young. */
	walk(vm);
	for (unsigned i = 0; i < AGE_N; i++)
		assert_false(vmtest_pte(p.t, a + i * PAGE_SIZE) &
			     (PTE_ACCESSED | PTE_AGED));
	/* A touch after it (a refill trap) is a fresh reference. */
	assert_int_equal(vmtest_cpu_load(p.t, a + 1 * PAGE_SIZE, &v), 0);
	judge(vm, pg, refs, &want);
	expect_refs(refs, 0, 1, 0, 0);
	assert_false(want); /* pages 0, 2, 3: no bit at all, not stale */
	/* An uncounted bit at a walk survives it as PG_young, once. */
	assert_int_equal(vmtest_cpu_load(p.t, a + 2 * PAGE_SIZE, &v), 0);
	walk(vm);
	judge(vm, pg, refs, &want);
	expect_refs(refs, 0, 0, 1, 0);
	judge(vm, pg, refs, &want);
	expect_refs(refs, 0, 0, 0, 0);
	assert_false(want);
	assert_int_equal(vmtest_check(p.t), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

static void test_reclaim_integrity_trace_direct(void **state)
{
	struct pressure_cfg pc = { VM_MODE_TRACE, false, 16 * MiB, 80 * MiB, 4,
				   4096,	  3 };

	(void)state;
	run_pressure(&pc);
}

static void test_reclaim_integrity_trace_kswapd(void **state)
{
	struct pressure_cfg pc = { VM_MODE_TRACE, true, 16 * MiB, 80 * MiB, 4,
				   4096,	  3 };

	(void)state;
	run_pressure(&pc);
}

static void test_reclaim_integrity_native_direct(void **state)
{
	struct pressure_cfg pc = { VM_MODE_NATIVE, false, 16 * MiB, 80 * MiB, 4,
				   4096,	   3 };

	(void)state;
	run_pressure(&pc);
}

static void test_reclaim_integrity_native_kswapd(void **state)
{
	struct pressure_cfg pc = { VM_MODE_NATIVE, true, 16 * MiB, 80 * MiB, 4,
				   4096,	   3 };

	(void)state;
	run_pressure(&pc);
}

/* ---- deterministic races: an action while the lock is down for I/O ---- */

#define RACE_PAGES 8

struct race {
	struct vm *vm;
	struct parked *p, *c;
	uint64_t va;
	int fired;     /* the action ran once */
	bool on_write; /* act during a write (else a read) */
	void (*act)(struct race *r);
};

static void race_hook(void *arg, bool write)
{
	struct race *r = arg;

	if (r->fired || write != r->on_write)
		return;
	r->fired = 1;
	r->act(r);
}

/* A trace-mode machine with swap and no kswapd (reclaim only when asked). */
static struct vm *trace_no_kswapd(uint64_t mem, uint64_t swap)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = mem;
	cfg.swap_bytes = swap;
	cfg.kswapd = false;
	return vmtest_create_cfg(&cfg);
}

/* A machine with swap, a parked task with RACE_PAGES written pages. */
static struct vm *race_setup(struct parked *p, uint64_t *va)
{
	struct vm *vm = trace_no_kswapd(8 * MiB, 8 * MiB);

	assert_true(park_spawn(vm, p, "race") > 0);
	*va = vm_mmap(p->t, 0, RACE_PAGES * PAGE, RW, ANON);
	for (unsigned i = 0; i < RACE_PAGES; i++)
		assert_int_equal(vmtest_store(p->t, *va + i * PAGE, 0x10 + i),
				 0);
	return vm;
}

static void expect_bytes(struct vm_task *t, uint64_t va, uint8_t base)
{
	for (unsigned i = 0; i < RACE_PAGES; i++) {
		uint8_t v;

		assert_int_equal(vmtest_load(t, va + i * PAGE, &v), 0);
		assert_int_equal(v, (uint8_t)(base + i));
	}
}

static void act_read(struct race *r)
{
	uint8_t v;

	/* The page being written is faulted back from the swap cache. */
	assert_int_equal(vmtest_load(r->p->t, r->va + 2 * PAGE, &v), 0);
	assert_int_equal(v, 0x12);
}

static void act_write(struct race *r)
{
	/* A write to it copies it (the cache copy is being written out). */
	assert_int_equal(vmtest_store(r->p->t, r->va + 2 * PAGE, 0x99), 0);
}

/*
 * A page touched while it is being written to swap: read, it is mapped
 * back from the swap cache and stays; written, it is copied (a page under
 * writeback is never reused) and the old copy goes.  Either way the data
 * the task sees is right and nothing leaks.
 */
static void touch_case(void (*act)(struct race *), uint64_t freed, uint8_t want)
{
	struct parked p;
	struct race r = { .p = &p, .on_write = true, .act = act };
	struct vm *vm = race_setup(&p, &r.va);
	uint8_t v;

	vmtest_set_io_hook(vm, race_hook, &r);
	assert_int_equal(vmtest_pageout(p.t, r.va, RACE_PAGES), freed);
	assert_int_equal(r.fired, 1);
	assert_false(vmtest_swapped(p.t, r.va + 2 * PAGE));
	assert_true(vmtest_swapped(p.t, r.va + 3 * PAGE));
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(vmtest_load(p.t, r.va + 2 * PAGE, &v), 0);
	assert_int_equal(v, want);
	assert_int_equal(vmtest_load(p.t, r.va + 3 * PAGE, &v), 0);
	assert_int_equal(v, 0x13);
	assert_int_equal(park_release(&p, NULL), p.pid);
	assert_int_equal(stat_of(vm).nr_swap_free, 2047);
	assert_int_equal(stat_of(vm).nr_swapcached, 0);
	vmtest_destroy(vm);
}

static void test_reclaim_race_touch_during_swapout(void **state)
{
	(void)state;
	touch_case(act_read, RACE_PAGES - 1, 0x12);
	touch_case(act_write, RACE_PAGES, 0x99);
}

static void act_munmap(struct race *r)
{
	assert_int_equal(vm_munmap(r->p->t, r->va, RACE_PAGES * PAGE), 0);
}

/* munmap while the pages are being written: nothing leaks. */
static void test_reclaim_race_munmap_during_swapout(void **state)
{
	struct parked p;
	struct race r = { .p = &p, .on_write = true, .act = act_munmap };
	struct vm *vm = race_setup(&p, &r.va);

	(void)state;
	vmtest_set_io_hook(vm, race_hook, &r);
	assert_int_equal(vmtest_pageout(p.t, r.va, RACE_PAGES), RACE_PAGES);
	assert_int_equal(r.fired, 1);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(stat_of(vm).nr_swap_free, 2047); /* all slots */
	assert_int_equal(stat_of(vm).nr_swapcached, 0);
	assert_int_equal(stat_of(vm).nr_anon_pages, 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

static void act_exit(struct race *r)
{
	assert_int_equal(park_release(r->p, NULL), r->p->pid);
}

/* The owner exits while its pages are being written. */
static void test_reclaim_race_exit_during_swapout(void **state)
{
	struct parked p, keep;
	struct race r = { .p = &p, .on_write = true, .act = act_exit };
	struct vm *vm = race_setup(&p, &r.va);
	struct vm_task *t = p.t;

	(void)state;
	assert_true(park_spawn(vm, &keep, "keep") > 0);
	vmtest_set_io_hook(vm, race_hook, &r);
	assert_int_equal(vmtest_pageout(t, r.va, RACE_PAGES), RACE_PAGES);
	assert_int_equal(r.fired, 1);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(stat_of(vm).nr_swap_free, 2047);
	assert_int_equal(stat_of(vm).nr_swapcached, 0);
	assert_int_equal(park_release(&keep, NULL), keep.pid);
	vmtest_destroy(vm);
}

/*
 * MADV_PAGEOUT of a range over several page tables (it walks one table's
 * span at a time): starting in the middle of a table, with pages never
 * touched between written ones; every written page - and only those - is
 * swapped, and reads back.
 */
#define SPAN_PAGES 1700 /* > 3 tables of 512 */
#define SPAN_SKIP  256	/* the range starts here, mid-table */

static void test_reclaim_pageout_spans_tables(void **state)
{
	struct vm *vm = trace_no_kswapd(16 * MiB, 16 * MiB);
	struct parked p;
	uint64_t va, written = 0;

	(void)state;
	assert_true(park_spawn(vm, &p, "span") > 0);
	va = vm_mmap(p.t, 0, SPAN_PAGES * PAGE, RW, ANON);
	assert_false(vm_mmap_failed(va));
	for (unsigned i = 0; i < SPAN_PAGES; i++)
		if (i % 7 != 3) { /* holes: pages never touched */
			assert_int_equal(vmtest_store(p.t, va + i * PAGE,
						      (uint8_t)i),
					 0);
			written += i >= SPAN_SKIP;
		}
	assert_int_equal(vmtest_pageout(p.t, va + SPAN_SKIP * PAGE,
					SPAN_PAGES - SPAN_SKIP),
			 written);
	assert_int_equal(stat_of(vm).pswpout, written);
	assert_int_equal(vmtest_check_all(vm), 0);
	for (unsigned i = 0; i < SPAN_PAGES; i++) {
		uint8_t v;

		assert_int_equal(vmtest_load(p.t, va + i * PAGE, &v), 0);
		assert_int_equal(v, i % 7 != 3 ? (uint8_t)i : 0);
	}
	assert_int_equal(stat_of(vm).pswpin, written);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

static void act_fork(struct race *r)
{
	assert_true(park_fork(r->p, r->c) > 0);
}

/* fork while the pages are being written: the child shares the entries. */
static void test_reclaim_race_fork_during_swapout(void **state)
{
	struct parked p, c;
	struct race r = { .p = &p, .c = &c, .on_write = true, .act = act_fork };
	struct vm *vm = race_setup(&p, &r.va);

	(void)state;
	vmtest_set_io_hook(vm, race_hook, &r);
	assert_int_equal(vmtest_pageout(p.t, r.va, RACE_PAGES), RACE_PAGES);
	assert_int_equal(r.fired, 1);
	assert_int_equal(vmtest_check_all(vm), 0);
	/* Both read the data back; their writes stay their own. */
	expect_bytes(c.t, r.va, 0x10);
	assert_int_equal(vmtest_store(c.t, r.va, 0xc0), 0);
	expect_bytes(p.t, r.va, 0x10);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&c, NULL), c.pid);
	assert_int_equal(park_release(&p, NULL), p.pid);
	assert_int_equal(stat_of(vm).nr_swap_free, 2047);
	vmtest_destroy(vm);
}
struct shared_fault {
	struct parked *c;
	uint64_t va;
	pthread_t th;
	uint8_t seen;
	int rc;
};

static void *child_load(void *arg)
{
	struct shared_fault *f = arg;

	f->rc = vmtest_load(f->c->t, f->va, &f->seen);
	return NULL;
}

static void act_second_fault(struct race *r)
{
	struct shared_fault *f = (struct shared_fault *)r->c;

	assert_int_equal(pthread_create(&f->th, NULL, child_load, f), 0);
	usleep(50000); /* let it find the page locked and wait */
}

/* Two tasks fault the same swapped shared page: one read, both see it. */
static void test_reclaim_race_two_faults_one_read(void **state)
{
	struct vm_config cfg;
	struct parked p, c;
	struct shared_fault f = { .c = &c };
	struct race r = { .p = &p, .on_write = false, .act = act_second_fault };
	struct vm *vm;
	uint64_t in0;
	uint8_t v;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.swap_bytes = 8 * MiB;
	cfg.page_cluster = 0; /* no readahead: one page, one read */
	cfg.kswapd = false;
	vm = vmtest_create_cfg(&cfg);
	assert_true(park_spawn(vm, &p, "parent") > 0);
	r.va = vm_mmap(p.t, 0, PAGE, RW, ANON);
	assert_int_equal(vmtest_store(p.t, r.va, 0x5e), 0);
	assert_true(park_fork(&p, &c) > 0);
	assert_int_equal(vmtest_pageout(p.t, r.va, 1), 1);
	assert_true(vmtest_swapped(c.t, r.va));
	f.va = r.va;
	r.c = (struct parked *)&f;
	vmtest_set_io_hook(vm, race_hook, &r);
	in0 = stat_of(vm).pswpin;
	assert_int_equal(vmtest_load(p.t, r.va, &v), 0);
	pthread_join(f.th, NULL);
	assert_int_equal(r.fired, 1);
	assert_int_equal(v, 0x5e);
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.seen, 0x5e);
	assert_int_equal(stat_of(vm).pswpin - in0, 1);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&c, NULL), c.pid);
	assert_int_equal(park_release(&p, NULL), p.pid);
	assert_int_equal(stat_of(vm).nr_swap_free, 2047);
	vmtest_destroy(vm);
}

/* ---- I/O errors never lose data ----------------------------------------- */

static void test_reclaim_write_errors_lose_nothing(void **state)
{
	struct vm_config cfg;
	struct vm *vm;
	atomic_uint_fast64_t mismatches = 0;
	struct wl w = { 2048, 3, 0, &mismatches, NULL, 0 };
	struct vm_fault_attr often = { 20, 1, -1, 0 };
	struct vm_stat st;
	struct vm_exit ex;
	uint64_t swap0;
	int pid[2];

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.swap_bytes = 32 * MiB;
	vm = vmtest_create_cfg(&cfg);
	swap0 = stat_of(vm).nr_swap_free;
	w.seed = vmtest_seed("write_errors");
	assert_int_equal(vm_fault_inject(vm, "fail_swap_write", &often), 0);
	for (int i = 0; i < 2; i++)
		assert_true((pid[i] = vm_spawn(vm, "w", 0, integrity_fn, &w)) >
			    0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vm_wait(vm, pid[i], &ex), pid[i]);
		assert_int_equal(ex.reason, VM_EXIT_NORMAL);
		assert_int_equal(ex.code, 0);
	}
	assert_int_equal(atomic_load(&mismatches), 0);
	/* kswapd may still be writing a batch of the dead tasks' pages: an
	   injected failure counts when decided, its event when the write
	   returns (1271 against 1268 once, read too early). */
	st = settled_stat(vm, swap0);
	assert_true(st.swap_write_error > 0);
	assert_int_equal(vm_fault_injected(vm, "fail_swap_write"),
			 (long long)st.swap_write_error);
	assert_true(st.pswpout > 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

/* A failed read ends the task that needed the page, and no other. */
static void test_reclaim_read_error_is_sigbus(void **state)
{
	struct vm_config cfg;
	struct parked a, b;
	struct vm_fault_attr once = { 100, 1, 1, 0 };
	struct vm_exit ex;
	struct vm *vm;
	uint64_t va, vb;
	uint8_t v;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.swap_bytes = 8 * MiB;
	cfg.page_cluster = 0;
	cfg.kswapd = false;
	vm = vmtest_create_cfg(&cfg);
	assert_true(park_spawn(vm, &a, "a") > 0);
	assert_true(park_spawn(vm, &b, "b") > 0);
	va = vm_mmap(a.t, 0, PAGE, RW, ANON);
	vb = vm_mmap(b.t, 0, PAGE, RW, ANON);
	assert_int_equal(vmtest_store(a.t, va, 1), 0);
	assert_int_equal(vmtest_store(b.t, vb, 2), 0);
	assert_int_equal(vmtest_pageout(a.t, va, 1), 1);
	assert_int_equal(vmtest_pageout(b.t, vb, 1), 1);
	assert_int_equal(vm_fault_inject(vm, "fail_swap_read", &once), 0);
	assert_int_equal(vmtest_load(a.t, va, &v), -EFAULT);
	assert_int_equal(vmtest_load(b.t, vb, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(stat_of(vm).swap_read_error, 1);
	assert_int_equal(park_release(&a, &ex), a.pid);
	assert_int_equal(ex.reason, VM_EXIT_SIGBUS);
	assert_int_equal(ex.fault_va, va);
	assert_int_equal(park_release(&b, &ex), b.pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(stat_of(vm).nr_swap_free, 2047);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

/* ---- nowhere to put pages: the OOM entry point, never a hang ------------ */

static int hog_fn(struct vm_task *t, void *arg)
{
	uint64_t n = *(uint64_t *)arg, va = vm_mmap(t, 0, n * PAGE, RW, ANON);
	uint8_t b = 1;

	for (uint64_t i = 0; i < n; i++)
		if (vm_write(t, va + i * PAGE, &b, 1))
			return 1;
	return 0;
}

static void oom_case(uint64_t swap)
{
	struct vm_config cfg;
	uint64_t pages = (8 * MiB + swap) / PAGE * 2;
	struct vm_stat st;
	struct vm_exit ex;
	struct vm *vm;
	int pid;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.swap_bytes = swap;
	vm = vmtest_create_cfg(&cfg);
	pid = vm_spawn(vm, "hog", 0, hog_fn, &pages);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_OOM_KILLED);
	/* kswapd may still hold a slot of the dead task's last batch */
	st = settled_stat(vm, swap ? swap / PAGE - 1 : 0);
	assert_int_equal(st.oom_kill, 1);
	if (!swap) /* nothing reclaimable: no retrying at all */
		assert_true(st.allocstall <= 1);
	assert_int_equal(st.nr_swap_free, swap ? swap / PAGE - 1 : 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

static void test_reclaim_swap_full_and_zero_swap_oom(void **state)
{
	(void)state;
	oom_case(2 * MiB); /* swap fills up */
	oom_case(0);	   /* no swap at all */
}

/* ---- fork with swapped pages: COW isolation holds across swap ---------- */

#define FORK_PAGES 3072 /* 12 MiB in an 8 MiB machine */

struct forkwl {
	struct vm *vm_of_parent;
	uint64_t base;
	int bad;
};

static uint8_t fork_byte(uint64_t i, int who)
{
	return (uint8_t)(i * 7 + (unsigned)who * 101 + 1);
}

static int fork_child(struct vm_task *t, void *arg)
{
	struct forkwl *f = arg;
	uint8_t b;

	for (uint64_t i = 0; i < FORK_PAGES; i++) {
		if (vm_read(t, f->base + i * PAGE, &b, 1) ||
		    b != fork_byte(i, 0))
			return 1;
		if (i % 2) {
			b = fork_byte(i, 2);
			if (vm_write(t, f->base + i * PAGE, &b, 1))
				return 1;
		}
	}
	for (uint64_t i = 0; i < FORK_PAGES; i++)
		if (vm_read(t, f->base + i * PAGE, &b, 1) ||
		    b != fork_byte(i, i % 2 ? 2 : 0))
			return 1;
	return 0;
}

static int fork_parent(struct vm_task *t, void *arg)
{
	struct forkwl *f = arg;
	struct vm_exit ex;
	uint8_t b;
	int pid;

	f->base = vm_mmap(t, 0, FORK_PAGES * PAGE, RW, ANON);
	for (uint64_t i = 0; i < FORK_PAGES; i++) {
		b = fork_byte(i, 0);
		if (vm_write(t, f->base + i * PAGE, &b, 1))
			return 1;
	}
	pid = vm_fork(t, fork_child, f);
	if (pid < 0)
		return 2;
	/* The parent writes the even pages meanwhile. */
	for (uint64_t i = 0; i < FORK_PAGES; i += 2) {
		b = fork_byte(i, 1);
		if (vm_write(t, f->base + i * PAGE, &b, 1))
			return 1;
	}
	if (vm_wait(f->vm_of_parent, pid, &ex) != pid)
		return 3;
	f->bad = ex.reason != VM_EXIT_NORMAL || ex.code;
	for (uint64_t i = 0; i < FORK_PAGES; i++)
		if (vm_read(t, f->base + i * PAGE, &b, 1) ||
		    b != fork_byte(i, i % 2 ? 0 : 1))
			return 4;
	return 0;
}

static void test_reclaim_fork_with_swapped_pages(void **state)
{
	struct vm_config cfg;
	struct forkwl f = { 0 };
	struct vm_exit ex;
	struct vm *vm;
	int pid;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8 * MiB;
	cfg.swap_bytes = 32 * MiB;
	vm = vmtest_create_cfg(&cfg);
	f.vm_of_parent = vm;
	pid = vm_spawn(vm, "parent", 0, fork_parent, &f);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_int_equal(f.bad, 0);
	assert_true(stat_of(vm).pswpin > 0);
	assert_int_equal(stat_of(vm).nr_swap_free, 32 * MiB / PAGE - 1);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

/* ---- /proc texts, knobs -------------------------------------------------- */

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/* meminfo, zoneinfo and swaps in Linux's formats, with the right numbers. */
static void test_reclaim_procfs(void **state)
{
	struct vm_config cfg;
	static char buf[4096];
	char line[128];
	struct vm *vm;
	uint64_t kb = 16 * 1024, min_kb = isqrt(kb * 16), pages = kb / 4;
	uint64_t min = min_kb / 4;
	uint64_t delta = min / 4 > pages * 10 / 10000 ? min / 4 :
							pages * 10 / 10000;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 16 * MiB;
	cfg.swap_bytes = 8 * MiB;
	vm = vmtest_create_cfg(&cfg);
	assert_int_equal(psi_some_total(vm), 0); /* no pressure, no stall */
	assert_true(vm_procfs(vm, "meminfo", buf, sizeof(buf)) > 0);
	snprintf(line, sizeof(line), "MemTotal:       %8llu kB\n",
		 (unsigned long long)kb);
	assert_non_null(strstr(buf, line));
	assert_non_null(strstr(buf, "SwapTotal:          8188 kB\n"));
	assert_non_null(strstr(buf, "SwapFree:           8188 kB\n"));
	assert_non_null(strstr(buf, "\nSwapCached:     "));
	assert_non_null(strstr(buf, "\nActive(anon):   "));
	assert_non_null(strstr(buf, "\nInactive(anon): "));
	assert_true(vm_procfs(vm, "zoneinfo", buf, sizeof(buf)) > 0);
	assert_int_equal(
		strncmp(buf, "Node 0, zone   Normal\n  pages free", 34), 0);
	snprintf(line, sizeof(line),
		 "\n        min      %llu\n        low      %llu\n        "
		 "high     %llu\n",
		 (unsigned long long)min, (unsigned long long)(min + delta),
		 (unsigned long long)(min + 2 * delta));
	if (!strstr(buf, line))
		fail_msg("zoneinfo: %s", buf);
	assert_non_null(strstr(buf, "\n        managed  4096\n"));
	assert_true(vm_procfs(vm, "swaps", buf, sizeof(buf)) > 0);
	assert_int_equal(strncmp(buf, "Filename", 8), 0);
	assert_non_null(strstr(buf, " file\t\t8188\t\t0\t\t-2\n"));
	vmtest_destroy(vm);
	/* Overrides: min_free_kbytes and watermark_scale_factor. */
	cfg.min_free_kbytes = 1024;
	cfg.watermark_scale_factor = 1000;
	vm = vmtest_create_cfg(&cfg);
	assert_true(vm_procfs(vm, "zoneinfo", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\n        min      256\n        low      "
				    "665\n        high     1074\n"));
	vmtest_destroy(vm);
}

static void test_reclaim_unknown_policy(void **state)
{
	struct vm_config cfg;
	char err[256];

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.policy = "belady";
	assert_null(vm_create(&cfg, err, sizeof(err)));
	/* The message names the policy and lists the known ones. */
	assert_non_null(strstr(err, "unknown policy 'belady' (known: "));
	assert_non_null(strstr(err, "linux"));
	assert_non_null(strstr(err, "lru"));
}

/* kswapd works when on (and counts), and nothing runs it when off. */
static void test_reclaim_kswapd_counters(void **state)
{
	struct pressure_cfg on = { VM_MODE_TRACE, true, 8 * MiB, 32 * MiB, 2,
				   2048,	  2 };
	struct pressure_cfg off = on;

	(void)state;
	off.kswapd = false;
	run_pressure(&on);
	run_pressure(&off);
}

/* ---- a soak: 8 tasks in native mode (run under ASan and TSan too) ------ */

static void test_reclaim_soak_8_threads(void **state)
{
	struct pressure_cfg pc = { VM_MODE_NATIVE, true, 8 * MiB, 48 * MiB, 8,
				   1024,	   2 };

	(void)state;
	run_pressure(&pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_reclaim_age_budget_by_hand),
		VMTEST(test_reclaim_age_budget_holds),
		VMTEST(test_reclaim_age_counts_each_bit_once),
		VMTEST(test_reclaim_integrity_trace_direct),
		VMTEST(test_reclaim_integrity_trace_kswapd),
		VMTEST(test_reclaim_integrity_native_direct),
		VMTEST(test_reclaim_integrity_native_kswapd),
		VMTEST(test_reclaim_race_touch_during_swapout),
		VMTEST(test_reclaim_race_munmap_during_swapout),
		VMTEST(test_reclaim_race_exit_during_swapout),
		VMTEST(test_reclaim_pageout_spans_tables),
		VMTEST(test_reclaim_race_fork_during_swapout),
		VMTEST(test_reclaim_race_two_faults_one_read),
		VMTEST(test_reclaim_write_errors_lose_nothing),
		VMTEST(test_reclaim_read_error_is_sigbus),
		VMTEST(test_reclaim_swap_full_and_zero_swap_oom),
		VMTEST(test_reclaim_fork_with_swapped_pages),
		VMTEST(test_reclaim_procfs),
		VMTEST(test_reclaim_unknown_policy),
		VMTEST(test_reclaim_kswapd_counters),
		VMTEST(test_reclaim_soak_8_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
