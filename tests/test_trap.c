/*
 * tests/test_trap.c - the native-mode trap against a tiny reference kernel.
 *
 * "tk" (test kernel) is the smallest emulated kernel a window needs: one
 * array of PTEs (pfn + 1, 0 = none) and the host protection it installed
 * per page, frames handed out by a counter over a phys pool.  Its resolver
 * demand-maps, upgrades read-only pages on a store (trap_protect), refills
 * revoked pages (trap_map of the same frame), kills on a denied page, and
 * logs every trap it sees.  Tests check the window against patterns and
 * against the direct map, byte for byte, and count traps.
 *
 * cmocka installs its own SIGSEGV handler around each test, so every test
 * installs the trap in its body.  Threads never assert: they count failures
 * in atomics that the main thread asserts on.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mmu/mapslots.h"
#include "mmu/hostmap.h"
#include "mmu/trap.h"
#include "vm/phys.h"

#define TK_MAX_PAGES	   256
#define TK_LOG		   64
#define TK_NO_DENY	   UINT64_MAX
#define WORDS_PER_PAGE	   (PAGE_SIZE / sizeof(uint64_t))
#define POOL_PAGES	   1024
#define RANGE_PAGES	   64
#define NR_THREADS	   8
#define OWN_PAGES	   48
#define STRIPES_PER_THREAD 6
#define COMMON_PAGES	   16
#define CHILD_SURVIVED	   3
#define CHILD_PREV_HANDLER 42
#define CHILD_TIMEOUT_S	   10 /* a handler that loops dies of SIGALRM */
/* The map-count test runs only where it takes well under a second. */
#define MAP_COUNT_TEST_MAX 262144

struct pool {
	struct phys ph;
	atomic_uint_fast64_t next_pfn;
};

struct tk_event {
	vaddr_t va;
	bool write;
};

struct tk {
	struct pool *pool;
	struct trap_window *w;
	size_t npages;
	int read_prot;	      /* host protection given on a load fault */
	vaddr_t deny_va;      /* page whose touch gets TRAP_KILL */
	pthread_mutex_t lock; /* guards pte[], prot[] */
	pfn_t pte[TK_MAX_PAGES];
	int prot[TK_MAX_PAGES];
	atomic_uint traps, upgrades, refills, kills, errors, off_altstack;
	atomic_uint nlog;
	struct tk_event log[TK_LOG];
};

static uint64_t seed;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The word `word` of page `page` written under `tag`. */
static uint64_t pattern(uint64_t tag, size_t page, size_t word)
{
	return splitmix64(seed ^ (tag << 48) ^ (page << 20) ^ word);
}

static uint64_t load64(const void *p)
{
	return *(const volatile uint64_t *)p;
}

static void store64(void *p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

/* ---- the test kernel ----------------------------------------------------- */

static void tk_record(struct tk *tk, vaddr_t va, bool write)
{
	unsigned i = atomic_fetch_add(&tk->nlog, 1);

	if (i < TK_LOG)
		tk->log[i] = (struct tk_event){ va, write };
}

/* tk->lock held.  Make page i accessible for this access. */
static int tk_fix(struct tk *tk, size_t i, bool write)
{
	int want = write ? HOSTMAP_PROT_RW : tk->read_prot;
	vaddr_t va = (vaddr_t)i << PAGE_SHIFT;
	int err;

	if (tk->prot[i] == HOSTMAP_PROT_RW || (tk->prot[i] && !write))
		return 0; /* another thread resolved it meanwhile */
	if (tk->prot[i] == HOSTMAP_PROT_READ) {
		atomic_fetch_add(&tk->upgrades, 1);
		err = hostmap_protect(tk->w, va, 1, HOSTMAP_PROT_RW);
	} else {
		if (tk->pte[i] == 0) {
			pfn_t pfn = atomic_fetch_add(&tk->pool->next_pfn, 1);

			if (!phys_valid(&tk->pool->ph, pfn))
				return -ENOMEM;
			tk->pte[i] = pfn + 1;
		} else {
			atomic_fetch_add(&tk->refills, 1);
		}
		err = hostmap_map(tk->w, va, tk->pool->ph.memfd, tk->pte[i] - 1,
				  1, want);
	}
	if (err == 0)
		tk->prot[i] = want;
	return err;
}

static enum trap_verdict tk_resolve(void *owner, vaddr_t va, bool write)
{
	struct tk *tk = owner;
	stack_t ss;
	int err;

	errno = EDOM; /* the handler must hide this from the workload */
	atomic_fetch_add(&tk->traps, 1);
	tk_record(tk, va, write);
	if (sigaltstack(NULL, &ss) < 0 || !(ss.ss_flags & SS_ONSTACK))
		atomic_fetch_add(&tk->off_altstack, 1);
	if (PAGE_ROUND_DOWN(va) == tk->deny_va) {
		atomic_fetch_add(&tk->kills, 1);
		return TRAP_KILL;
	}
	pthread_mutex_lock(&tk->lock);
	err = tk_fix(tk, va >> PAGE_SHIFT, write);
	pthread_mutex_unlock(&tk->lock);
	if (err) {
		atomic_fetch_add(&tk->errors, 1);
		return TRAP_KILL;
	}
	return TRAP_RETRY;
}

static struct tk *tk_new(struct pool *pool, size_t npages, int read_prot)
{
	struct tk *tk = calloc(1, sizeof(*tk));

	assert_non_null(tk);
	assert_true(npages <= TK_MAX_PAGES);
	tk->pool = pool;
	tk->npages = npages;
	tk->read_prot = read_prot;
	tk->deny_va = TK_NO_DENY;
	pthread_mutex_init(&tk->lock, NULL);
	assert_int_equal(trap_window_create(npages << PAGE_SHIFT, tk, &tk->w),
			 0);
	assert_int_equal(trap_window_size(tk->w), npages << PAGE_SHIFT);
	return tk;
}

static void tk_free(struct tk *tk)
{
	trap_window_destroy(tk->w);
	pthread_mutex_destroy(&tk->lock);
	free(tk);
}

static int tk_revoke(struct tk *tk, size_t first, size_t npages)
{
	int err;

	pthread_mutex_lock(&tk->lock);
	err = hostmap_revoke(tk->w, (vaddr_t)first << PAGE_SHIFT, npages);
	for (size_t i = first; err == 0 && i < first + npages; i++)
		tk->prot[i] = HOSTMAP_PROT_NONE;
	pthread_mutex_unlock(&tk->lock);
	return err;
}

static uint64_t *tk_page(struct tk *tk, size_t page)
{
	return trap_window_addr(tk->w, (vaddr_t)page << PAGE_SHIFT);
}

/* The frame behind page (through the direct map), or NULL. */
static uint64_t *tk_frame(struct tk *tk, size_t page)
{
	pfn_t pte = tk->pte[page];

	return pte ? phys_addr(&tk->pool->ph, pte - 1) : NULL;
}

static void fill_page(struct tk *tk, size_t page, uint64_t tag)
{
	uint64_t *p = tk_page(tk, page);

	for (size_t i = 0; i < WORDS_PER_PAGE; i++)
		store64(&p[i], pattern(tag, page, i));
}

/* Number of words of page (read through the window) off the pattern. */
static size_t check_page(struct tk *tk, size_t page, uint64_t tag)
{
	const uint64_t *p = tk_page(tk, page);
	size_t bad = 0;

	for (size_t i = 0; i < WORDS_PER_PAGE; i++)
		bad += load64(&p[i]) != pattern(tag, page, i);
	return bad;
}

/* Window page and its frame hold the same bytes. */
static void assert_coherent(struct tk *tk, size_t page)
{
	assert_non_null(tk_frame(tk, page));
	assert_memory_equal(tk_page(tk, page), tk_frame(tk, page), PAGE_SIZE);
}

static void pool_init(struct pool *pool, uint64_t nr_pages)
{
	assert_int_equal(phys_init(&pool->ph, nr_pages, NULL), 0);
	atomic_init(&pool->next_pfn, 0);
}

static uint64_t traps_now(void)
{
	struct trap_stats st;

	trap_get_stats(&st);
	return st.traps;
}

/* Number of lines of /proc/self/maps (open/read: no allocation). */
static int maps_count(void)
{
	return (int)mapslots_count();
}

static void trap_begin(void)
{
	assert_int_equal(trap_install(tk_resolve), 0);
	assert_int_equal(trap_thread_init(), 0);
}

static void trap_end(void)
{
	trap_thread_fini();
	trap_uninstall();
}

/* ---- single-thread behaviour --------------------------------------------- */

static void test_trap_demand_map_direct_map_coherent(void **state)
{
	enum { NPAGES = 32 };
	struct pool pool;
	struct tk *tk;
	uint64_t t0;

	(void)state;
	pool_init(&pool, NPAGES * 2);
	trap_begin();
	tk = tk_new(&pool, NPAGES, HOSTMAP_PROT_RW);
	t0 = traps_now();
	errno = 0;
	for (size_t pg = 0; pg < NPAGES; pg++)
		fill_page(tk, pg, 1);
	assert_int_equal(errno, 0); /* the resolver's EDOM did not leak */
	assert_int_equal(traps_now() - t0, NPAGES); /* one trap per page */
	assert_int_equal(atomic_load(&tk->traps), NPAGES);
	assert_int_equal(atomic_load(&tk->off_altstack), 0);
	for (size_t pg = 0; pg < NPAGES; pg++) {
		assert_int_equal(check_page(tk, pg, 1), 0);
		assert_coherent(tk, pg);
		/* Now the other way: the direct map writes, the window reads. */
		for (size_t i = 0; i < WORDS_PER_PAGE; i++)
			tk_frame(tk, pg)[i] = pattern(2, pg, i);
		assert_int_equal(check_page(tk, pg, 2), 0);
	}
	assert_int_equal(traps_now() - t0, NPAGES); /* resident: no traps */
	tk_free(tk);
	trap_end();
	phys_fini(&pool.ph);
}

static void assert_event(struct tk *tk, unsigned i, vaddr_t va, bool write)
{
	assert_true(i < atomic_load(&tk->nlog));
	assert_int_equal(tk->log[i].va, va);
	assert_int_equal(tk->log[i].write, write);
}

static void test_trap_write_detection(void **state)
{
	struct pool pool;
	struct tk *tk;
	uint8_t *base;

	(void)state;
	pool_init(&pool, 8);
	trap_begin();
	tk = tk_new(&pool, 4, HOSTMAP_PROT_READ);
	base = trap_window_addr(tk->w, 0);
	assert_int_equal(load64(base + 24), 0); /* load: mapped read-only */
	assert_int_equal(load64(base + 32), 0); /* resident: no trap */
	store64(base + 40, 0xabcdef);		/* store: upgraded */
	assert_int_equal(load64(base + PAGE_SIZE + 8), 0);
	store64(base + 2 * PAGE_SIZE + 16, 7); /* store on an unmapped page */
	assert_int_equal(atomic_load(&tk->nlog), 4);
	assert_event(tk, 0, 24, false);
	assert_event(tk, 1, 40, true);
	assert_event(tk, 2, PAGE_SIZE + 8, false);
	assert_event(tk, 3, 2 * PAGE_SIZE + 16, true);
	assert_int_equal(atomic_load(&tk->upgrades), 1);
	assert_int_equal(tk_frame(tk, 0)[40 / 8], 0xabcdef);
	assert_int_equal(tk_frame(tk, 2)[16 / 8], 7);
	tk_free(tk);
	trap_end();
	phys_fini(&pool.ph);
}

static void test_trap_revoke_refaults_and_keeps_data(void **state)
{
	enum { NPAGES = 4 };
	struct pool pool;
	struct tk *tk;
	uint64_t t0;

	(void)state;
	pool_init(&pool, NPAGES);
	trap_begin();
	tk = tk_new(&pool, NPAGES, HOSTMAP_PROT_RW);
	for (size_t pg = 0; pg < NPAGES; pg++)
		fill_page(tk, pg, 3);
	t0 = traps_now();
	assert_int_equal(tk_revoke(tk, 1, 2), 0);
	/* The data stays in the frames while the host mapping is gone. */
	for (size_t i = 0; i < WORDS_PER_PAGE; i++) {
		assert_int_equal(tk_frame(tk, 1)[i], pattern(3, 1, i));
		assert_int_equal(tk_frame(tk, 2)[i], pattern(3, 2, i));
	}
	assert_int_equal(check_page(tk, 0, 3), 0);
	assert_int_equal(traps_now() - t0, 0);
	assert_int_equal(check_page(tk, 1, 3), 0); /* refill */
	assert_int_equal(traps_now() - t0, 1);
	assert_int_equal(check_page(tk, 2, 3), 0);
	assert_int_equal(check_page(tk, 3, 3), 0);
	assert_int_equal(traps_now() - t0, 2);
	assert_int_equal(atomic_load(&tk->refills), 2);
	assert_int_equal(atomic_load(&pool.next_pfn), NPAGES); /* same frames */
	tk_free(tk);
	trap_end();
	phys_fini(&pool.ph);
}

/*
 * 64-page ranges in one call each.  The host-mapping count shows what each
 * costs in map slots: mapping contiguous frames in the middle of a window
 * splits its reservation in three (+2), changing their protection costs
 * nothing, and revoking them merges the range back (+0).
 */
static void test_trap_ranges(void **state)
{
	enum { NPAGES = 4 * RANGE_PAGES, FIRST = RANGE_PAGES, PFN0 = 10 };
	struct pool pool;
	struct tk *tk;
	uint64_t t0;
	int maps0;

	(void)state;
	pool_init(&pool, 2 * NPAGES);
	trap_begin();
	tk = tk_new(&pool, NPAGES, HOSTMAP_PROT_READ);
	maps0 = maps_count();
	assert_int_equal(hostmap_map(tk->w, FIRST << PAGE_SHIFT, pool.ph.memfd,
				     PFN0, RANGE_PAGES, HOSTMAP_PROT_RW),
			 0);
	assert_int_equal(maps_count() - maps0, 2);
	for (size_t pg = FIRST; pg < FIRST + RANGE_PAGES; pg++) {
		tk->pte[pg] = PFN0 + (pg - FIRST) + 1;
		tk->prot[pg] = HOSTMAP_PROT_RW;
	}
	atomic_store(&pool.next_pfn, PFN0 + RANGE_PAGES);
	t0 = traps_now();
	for (size_t pg = FIRST; pg < FIRST + RANGE_PAGES; pg++)
		fill_page(tk, pg, 4);
	assert_int_equal(traps_now() - t0, 0);
	for (size_t pg = FIRST; pg < FIRST + RANGE_PAGES; pg++)
		assert_coherent(tk, pg);

	/* Read-only over the range: each page's first store traps once. */
	pthread_mutex_lock(&tk->lock);
	assert_int_equal(hostmap_protect(tk->w, FIRST << PAGE_SHIFT,
					 RANGE_PAGES, HOSTMAP_PROT_READ),
			 0);
	for (size_t pg = FIRST; pg < FIRST + RANGE_PAGES; pg++)
		tk->prot[pg] = HOSTMAP_PROT_READ;
	pthread_mutex_unlock(&tk->lock);
	assert_int_equal(maps_count() - maps0, 2);
	for (size_t pg = FIRST; pg < FIRST + RANGE_PAGES; pg++)
		fill_page(tk, pg, 5);
	assert_int_equal(traps_now() - t0, RANGE_PAGES);
	assert_int_equal(atomic_load(&tk->upgrades), RANGE_PAGES);

	/* Revoke the range: merged back, every page refaults, data kept. */
	assert_int_equal(tk_revoke(tk, FIRST, RANGE_PAGES), 0);
	assert_int_equal(maps_count(), maps0);
	for (size_t pg = FIRST; pg < FIRST + RANGE_PAGES; pg++)
		assert_int_equal(check_page(tk, pg, 5), 0);
	assert_int_equal(traps_now() - t0, 2 * RANGE_PAGES);
	assert_int_equal(atomic_load(&tk->refills), RANGE_PAGES);
	tk_free(tk);
	trap_end();
	phys_fini(&pool.ph);
}

/* ---- TRAP_KILL and threads ----------------------------------------------- */

struct kill_case {
	struct tk *tk;
	atomic_int reached_deny; /* the access after the denied one ran */
	atomic_int landed;	 /* came back through the exit point */
	atomic_int bad;		 /* anything else unexpected */
};

/*
 * Touch page 0, then the denied page 1: must land at the exit point, with
 * SIGSEGV unblocked even when sigsetjmp did not save the mask.
 */
static void run_killed(struct kill_case *kc, int savemask)
{
	sigjmp_buf exit_point;
	uint8_t *base = trap_window_addr(kc->tk->w, 0);
	sigset_t mask;

	if (trap_thread_init())
		atomic_fetch_add(&kc->bad, 1);
	if (sigsetjmp(exit_point, savemask) == 0) {
		trap_thread_enter(&exit_point);
		store64(base, 1);
		store64(base + PAGE_SIZE, 2);
		atomic_store(&kc->reached_deny, 1);
	} else {
		atomic_store(&kc->landed, 1);
	}
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	if (sigismember(&mask, SIGSEGV))
		atomic_fetch_add(&kc->bad, 1);
	trap_thread_enter(NULL);
	trap_thread_fini();
}

static void *killed_thread(void *arg)
{
	run_killed(arg, 1);
	return NULL;
}

struct bystander {
	struct tk *tk;
	atomic_int bad;
};

/* Fill and check every page of its own window, twice, revoking between. */
static void *bystander_thread(void *arg)
{
	struct bystander *b = arg;

	if (trap_thread_init())
		atomic_fetch_add(&b->bad, 1);
	for (size_t pg = 0; pg < b->tk->npages; pg++)
		fill_page(b->tk, pg, 6);
	if (tk_revoke(b->tk, 0, b->tk->npages))
		atomic_fetch_add(&b->bad, 1);
	for (size_t pg = 0; pg < b->tk->npages; pg++)
		if (check_page(b->tk, pg, 6))
			atomic_fetch_add(&b->bad, 1);
	trap_thread_fini();
	return NULL;
}

static void test_trap_kill_lands_at_exit_point(void **state)
{
	struct kill_case kc = { 0 };
	struct bystander by = { 0 };
	struct trap_stats st0, st1;
	struct pool pool;
	pthread_t t1, t2;

	(void)state;
	pool_init(&pool, 2 * RANGE_PAGES);
	trap_begin();
	kc.tk = tk_new(&pool, 2, HOSTMAP_PROT_RW);
	kc.tk->deny_va = PAGE_SIZE;
	by.tk = tk_new(&pool, RANGE_PAGES, HOSTMAP_PROT_RW);
	trap_get_stats(&st0);
	assert_int_equal(pthread_create(&t1, NULL, killed_thread, &kc), 0);
	assert_int_equal(pthread_create(&t2, NULL, bystander_thread, &by), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(atomic_load(&kc.landed), 1);
	assert_int_equal(atomic_load(&kc.reached_deny), 0);
	assert_int_equal(atomic_load(&kc.bad), 0);
	assert_int_equal(atomic_load(&by.bad), 0);
	assert_int_equal(tk_frame(kc.tk, 0)[0], 1); /* before the kill */

#ifndef __SANITIZE_THREAD__
	/*
	 * The main thread can be killed and carry on just the same.  Not
	 * under ThreadSanitizer: after the main thread jumps out of a signal
	 * handler its bookkeeping believes it is still inside one, and later
	 * tests crash in the sanitizer's runtime.
	 */
	atomic_store(&kc.landed, 0);
	run_killed(&kc, 0);
	assert_int_equal(atomic_load(&kc.landed), 1);
	assert_int_equal(atomic_load(&kc.reached_deny), 0);
	assert_int_equal(atomic_load(&kc.bad), 0);
	trap_get_stats(&st1);
	assert_int_equal(st1.kills - st0.kills, 2);
	assert_int_equal(atomic_load(&kc.tk->kills), 2);
#else
	trap_get_stats(&st1);
	assert_int_equal(st1.kills - st0.kills, 1);
#endif
	tk_free(kc.tk);
	tk_free(by.tk);
	trap_end();
	phys_fini(&pool.ph);
}

struct worker {
	struct tk *own, *shared;
	unsigned id;
	atomic_uint *failures;
};

static void worker_check(struct worker *wk, bool ok)
{
	if (!ok)
		atomic_fetch_add(wk->failures, 1);
}

static void *worker_thread(void *arg)
{
	struct worker *wk = arg;
	size_t nstripes = NR_THREADS * STRIPES_PER_THREAD;

	worker_check(wk, trap_thread_init() == 0);
	for (size_t pg = 0; pg < wk->own->npages; pg++)
		fill_page(wk->own, pg, wk->id);
	for (size_t pg = wk->id; pg < nstripes; pg += NR_THREADS)
		fill_page(wk->shared, pg, wk->id);
	for (size_t pg = nstripes; pg < nstripes + COMMON_PAGES; pg++)
		for (size_t i = 0; i < WORDS_PER_PAGE; i += 64)
			worker_check(wk,
				     load64(&tk_page(wk->shared, pg)[i]) == 0);
	for (size_t pg = 0; pg < wk->own->npages; pg++)
		worker_check(wk, check_page(wk->own, pg, wk->id) == 0);
	worker_check(wk, tk_revoke(wk->own, 0, wk->own->npages) == 0);
	for (size_t pg = 0; pg < wk->own->npages; pg++)
		worker_check(wk, check_page(wk->own, pg, wk->id) == 0);
	for (size_t pg = wk->id; pg < nstripes; pg += NR_THREADS)
		worker_check(wk, check_page(wk->shared, pg, wk->id) == 0);
	trap_thread_fini();
	return NULL;
}

static unsigned tk_traps(struct tk *tk)
{
	assert_int_equal(atomic_load(&tk->errors), 0);
	assert_int_equal(atomic_load(&tk->kills), 0);
	assert_int_equal(atomic_load(&tk->off_altstack), 0);
	return atomic_load(&tk->traps);
}

static void test_trap_threads_concurrent(void **state)
{
	size_t nstripes = NR_THREADS * STRIPES_PER_THREAD;
	struct worker wk[NR_THREADS];
	pthread_t tid[NR_THREADS];
	atomic_uint failures = 0;
	struct pool pool;
	struct tk *shared;
	uint64_t t0, resolved = 0;

	(void)state;
	pool_init(&pool, POOL_PAGES);
	trap_begin();
	shared = tk_new(&pool, nstripes + COMMON_PAGES, HOSTMAP_PROT_READ);
	for (unsigned i = 0; i < NR_THREADS; i++)
		wk[i] = (struct worker){ tk_new(&pool, OWN_PAGES,
						HOSTMAP_PROT_RW),
					 shared, i, &failures };
	t0 = traps_now();
	for (unsigned i = 0; i < NR_THREADS; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, worker_thread,
						&wk[i]),
				 0);
	for (unsigned i = 0; i < NR_THREADS; i++)
		pthread_join(tid[i], NULL);
	assert_int_equal(atomic_load(&failures), 0);
	for (unsigned i = 0; i < NR_THREADS; i++) {
		/* Each own page: a first store, then a refill after revoke. */
		assert_int_equal(tk_traps(wk[i].own), 2 * OWN_PAGES);
		resolved += tk_traps(wk[i].own);
		for (size_t pg = 0; pg < OWN_PAGES; pg++)
			assert_coherent(wk[i].own, pg);
	}
	resolved += tk_traps(shared);
	assert_true(tk_traps(shared) >= nstripes + COMMON_PAGES);
	for (size_t pg = 0; pg < nstripes + COMMON_PAGES; pg++)
		assert_coherent(shared, pg);
	assert_int_equal(traps_now() - t0, resolved); /* all resolved here */
	for (unsigned i = 0; i < NR_THREADS; i++)
		tk_free(wk[i].own);
	tk_free(shared);
	trap_end();
	phys_fini(&pool.ph);
}

/* ---- real crashes stay crashes ------------------------------------------- */

enum crash_kind {
	CRASH_PAST_END,
	CRASH_BEFORE_BASE,
	CRASH_NULL_PAGE,
	CRASH_KILL_NO_EXIT,
	CRASH_SENT_SIGNAL,
	CRASH_PREV_HANDLER,
};

/* A wild pointer into page 0, opaque to the compiler. */
static volatile uintptr_t null_page_addr = sizeof(uint64_t);

static void prev_handler(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)si;
	(void)uctx;
	_exit(CHILD_PREV_HANDLER);
}

/* In the child: set up the trap and do the crash of kind k. */
static void crash_child(enum crash_kind k)
{
	struct rlimit no_core = { 0, 0 };
	struct sigaction sa = { .sa_sigaction = prev_handler,
				.sa_flags = SA_SIGINFO };
	struct pool pool;
	struct tk *tk;
	uint8_t *base;

	alarm(CHILD_TIMEOUT_S);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(SIGSEGV, SIG_DFL); /* drop cmocka's handler */
	if (k == CRASH_PREV_HANDLER)
		sigaction(SIGSEGV, &sa, NULL);
	pool_init(&pool, 4);
	trap_begin();
	tk = tk_new(&pool, 2, HOSTMAP_PROT_RW);
	tk->deny_va = 0;
	base = trap_window_addr(tk->w, 0);
	store64(base + PAGE_SIZE, 1); /* a good trap first */
	if (k == CRASH_PAST_END || k == CRASH_PREV_HANDLER)
		store64(base + 2 * PAGE_SIZE, 1);
	else if (k == CRASH_BEFORE_BASE)
		store64(base - sizeof(uint64_t), 1);
	else if (k == CRASH_NULL_PAGE)
		store64((void *)null_page_addr, 1);
	else if (k == CRASH_KILL_NO_EXIT)
		store64(base, 1);
	else
		raise(SIGSEGV);
	_exit(CHILD_SURVIVED);
}

static int run_crash_child(enum crash_kind k)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		crash_child(k);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_trap_outside_window_crashes(void **state)
{
	static const enum crash_kind kinds[] = {
		CRASH_PAST_END,	    CRASH_BEFORE_BASE, CRASH_NULL_PAGE,
		CRASH_KILL_NO_EXIT, CRASH_SENT_SIGNAL,
	};
	int status;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		status = run_crash_child(kinds[i]);
		if (!WIFSIGNALED(status))
			fprintf(stderr, "crash kind %zu: status 0x%x\n", i,
				(unsigned)status);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSEGV);
	}
	/* A handler that was there before the trap gets the crash. */
	status = run_crash_child(CRASH_PREV_HANDLER);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_PREV_HANDLER);
}

/* ---- the registry and bad input ------------------------------------------ */

static enum trap_verdict other_resolve(void *owner, vaddr_t va, bool write)
{
	(void)owner;
	(void)va;
	(void)write;
	return TRAP_KILL;
}

static void test_trap_install_refcount(void **state)
{
	struct sigaction before, now;

	(void)state;
	assert_int_equal(sigaction(SIGSEGV, NULL, &before), 0);
	assert_int_equal(trap_install(NULL), -EINVAL);
	assert_int_equal(trap_install(tk_resolve), 0);
	assert_int_equal(trap_install(tk_resolve), 0);
	assert_int_equal(trap_install(other_resolve), -EBUSY);
	trap_uninstall();
	assert_int_equal(sigaction(SIGSEGV, NULL, &now), 0);
	assert_true(now.sa_sigaction != before.sa_sigaction);
	assert_true(now.sa_flags & SA_ONSTACK);
	trap_uninstall();
	assert_int_equal(sigaction(SIGSEGV, NULL, &now), 0);
	assert_true(now.sa_sigaction == before.sa_sigaction);
	trap_uninstall(); /* one too many: harmless */
}

static void test_trap_thread_altstack(void **state)
{
	stack_t before, now;

	(void)state;
	assert_int_equal(sigaltstack(NULL, &before), 0);
	assert_int_equal(trap_thread_init(), 0);
	assert_int_equal(trap_thread_init(), 0); /* idempotent */
	assert_int_equal(sigaltstack(NULL, &now), 0);
	assert_false(now.ss_flags & SS_DISABLE);
	assert_true(now.ss_size >= 64 * 1024);
	trap_thread_fini();
	trap_thread_fini();
	assert_int_equal(sigaltstack(NULL, &now), 0);
	assert_int_equal(now.ss_flags, before.ss_flags);
	assert_true(now.ss_sp == before.ss_sp);
}

static void test_trap_bad_input(void **state)
{
	struct trap_window *w = (void *)1;
	struct pool pool;
	int fd;

	(void)state;
	pool_init(&pool, 4);
	fd = pool.ph.memfd;
	assert_int_equal(trap_window_create(0, NULL, &w), -EINVAL);
	assert_null(w);
	assert_int_equal(trap_window_create(PAGE_SIZE + 1, NULL, &w), -EINVAL);
	assert_int_equal(trap_window_create(1ULL << 62, NULL, &w), -ENOMEM);
	assert_int_equal(trap_window_create(UINT64_MAX & PAGE_MASK, NULL, &w),
			 -ENOMEM);
	assert_int_equal(trap_window_create(4 * PAGE_SIZE, NULL, &w), 0);
	assert_int_equal(hostmap_map(w, 4 * PAGE_SIZE, fd, 0, 1,
				     HOSTMAP_PROT_RW),
			 -EINVAL);
	assert_int_equal(hostmap_map(w, 3 * PAGE_SIZE, fd, 0, 2,
				     HOSTMAP_PROT_RW),
			 -EINVAL);
	assert_int_equal(hostmap_map(w, 0, fd, 0, 0, HOSTMAP_PROT_RW), -EINVAL);
	assert_int_equal(hostmap_map(w, 1, fd, 0, 1, HOSTMAP_PROT_RW), -EINVAL);
	assert_int_equal(hostmap_map(w, 0, fd, 0, 1, 2), -EINVAL);
	assert_int_equal(hostmap_map(w, 0, fd, UINT64_MAX >> 4, 1,
				     HOSTMAP_PROT_RW),
			 -EINVAL);
	assert_int_equal(hostmap_map(w, 0, -1, 0, 1, HOSTMAP_PROT_RW), -EBADF);
	assert_int_equal(hostmap_map(NULL, 0, fd, 0, 1, HOSTMAP_PROT_RW),
			 -EINVAL);
	assert_int_equal(hostmap_protect(w, 0, 5, HOSTMAP_PROT_READ), -EINVAL);
	assert_int_equal(hostmap_protect(w, 0, 1, -1), -EINVAL);
	assert_int_equal(hostmap_revoke(w, 2 * PAGE_SIZE, SIZE_MAX), -EINVAL);
	assert_int_equal(hostmap_revoke(w, UINT64_MAX & PAGE_MASK, 1), -EINVAL);
	assert_int_equal(hostmap_map(w, 0, fd, 0, 4, HOSTMAP_PROT_RW), 0);
	assert_int_equal(hostmap_revoke(w, 0, 4), 0);
	trap_window_destroy(w);
	trap_window_destroy(NULL);
	phys_fini(&pool.ph);
}

/* All slots taken: -ENOMEM; the last slot still resolves; slots reused. */
static void test_trap_registry_exhaustion(void **state)
{
	static struct tk *tks[TRAP_MAX_WINDOWS];
	struct trap_window *extra;
	struct pool pool;

	(void)state;
	pool_init(&pool, 4);
	trap_begin();
	for (size_t i = 0; i < TRAP_MAX_WINDOWS; i++)
		tks[i] = tk_new(&pool, 1, HOSTMAP_PROT_RW);
	assert_int_equal(trap_window_create(PAGE_SIZE, NULL, &extra), -ENOMEM);
	assert_null(extra);
	store64(tk_page(tks[TRAP_MAX_WINDOWS - 1], 0), 9);
	assert_int_equal(atomic_load(&tks[TRAP_MAX_WINDOWS - 1]->traps), 1);
	tk_free(tks[7]);
	tks[7] = tk_new(&pool, 1, HOSTMAP_PROT_RW);
	store64(tk_page(tks[7], 0), 10);
	assert_int_equal(atomic_load(&tks[7]->traps), 1);
	assert_int_equal(tk_frame(tks[7], 0)[0], 10);
	for (size_t i = 0; i < TRAP_MAX_WINDOWS; i++)
		tk_free(tks[i]);
	trap_end();
	phys_fini(&pool.ph);
}

static void test_trap_max_map_count(void **state)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long want = -1;

	(void)state;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &want), 1);
	fclose(f);
	assert_int_equal(mapslots_host_limit(), want);
}

/*
 * At vm.max_map_count.  Consecutive pages mapped to frame 0 (no merging: one
 * map slot each) until the host refuses: trap_map says -ENOMEM and leaves no
 * hole.  The process now holds one mapping more than the limit and the
 * kernel refuses every mmap, yet revoking one page in the middle, the last
 * one, and then the whole window still work (the ballast), and afterwards
 * the count is back where it was.
 */
static void test_trap_map_count_limit(void **state)
{
	long max = mapslots_host_limit();
	struct trap_window *w;
	struct pool pool;
	size_t npages, pg;
	int err, maps0, hole, mid_revoke, last_revoke, all_revoke;

	(void)state;
	if (max <= 0 || max > MAP_COUNT_TEST_MAX) {
		print_message("vm.max_map_count=%ld: too large to reach here\n",
			      max);
		skip();
	}
	pool_init(&pool, 1);
	npages = 2 * (size_t)max;
	assert_int_equal(trap_window_create(npages << PAGE_SHIFT, NULL, &w), 0);
	maps0 = maps_count();
	for (pg = 0; pg < npages; pg++) {
		err = hostmap_map(w, pg << PAGE_SHIFT, pool.ph.memfd, 0, 1,
				  HOSTMAP_PROT_READ);
		if (err)
			break;
	}
	/* No allocation and no assertion until the count is down again. */
	hole = madvise(trap_window_addr(w, pg << PAGE_SHIFT), PAGE_SIZE,
		       MADV_NORMAL);
	mid_revoke = hostmap_revoke(w, (pg / 2) << PAGE_SHIFT, 1);
	last_revoke = hostmap_revoke(w, (pg - 1) << PAGE_SHIFT, 1);
	all_revoke = hostmap_revoke(w, 0, npages);
	assert_int_equal(err, -ENOMEM);
	assert_true(pg > 0 && pg < npages);
	assert_int_equal(hole, 0);
	assert_int_equal(mid_revoke, 0);
	assert_int_equal(last_revoke, 0);
	assert_int_equal(all_revoke, 0);
	assert_int_equal(maps_count(), maps0);
	assert_int_equal(
		hostmap_map(w, 0, pool.ph.memfd, 0, 1, HOSTMAP_PROT_READ), 0);
	trap_window_destroy(w);
	phys_fini(&pool.ph);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trap_demand_map_direct_map_coherent),
		cmocka_unit_test(test_trap_write_detection),
		cmocka_unit_test(test_trap_revoke_refaults_and_keeps_data),
		cmocka_unit_test(test_trap_ranges),
		cmocka_unit_test(test_trap_kill_lands_at_exit_point),
		cmocka_unit_test(test_trap_threads_concurrent),
		cmocka_unit_test(test_trap_outside_window_crashes),
		cmocka_unit_test(test_trap_install_refcount),
		cmocka_unit_test(test_trap_thread_altstack),
		cmocka_unit_test(test_trap_bad_input),
		cmocka_unit_test(test_trap_registry_exhaustion),
		cmocka_unit_test(test_trap_max_map_count),
		cmocka_unit_test(test_trap_map_count_limit),
	};
	const char *env = getenv("SEED");

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)getpid() * 2654435761u;
	fprintf(stderr, "seed=%lu\n", (unsigned long)seed);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
