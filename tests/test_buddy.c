/*
 * tests/test_buddy.c - the buddy allocator.
 *
 * The strongest test is differential: a naive reference model (a byte per
 * possible block per order, scanned with memchr; roots from the binary digits
 * of the pool size; merges checked against a per-frame root id) runs the same
 * random alloc/free sequence as vm/buddy.c, and every returned pfn, every
 * per-order count and every counter must agree.  Around it: the textbook
 * split/merge example step by step, lazy coalescing, odd pool sizes, the
 * pcp cache, exhaustion, the exact /proc/buddyinfo text, bad input, double
 * frees (BUG_ON in a child process) and buddy_check() catching corruption.
 *
 * SEED=<n> in the environment replays a randomized run.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#include "vm/buddy.h"

/* buddy_check() codes, as documented at the top of vm/buddy.c. */
#define CHK_ALIGN   (-1103)
#define CHK_PGBUDDY (-1107)
#define CHK_DIRTY   (-1108)

#define NR_ORDERS	BUDDY_NR_ORDERS
#define MAX_BLOCK	(1ULL << BUDDY_MAX_ORDER)
#define INFO_LEN	256
#define DIFF_OPS	1000000
#define CHECK_EVERY	1000
#define PHASE_OPS	20000 /* ops between switches of the fill direction */
#define ALLOC_PCT_FILL	65    /* % of ops that allocate while filling */
#define ALLOC_PCT_DRAIN 35
#define PCT		100

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return vmtest_rand(&rng_state);
}

static uint64_t seed_from_env(void)
{
	return vmtest_seed("test_buddy");
}

static void rng_seed(uint64_t seed)
{
	rng_state = seed * 2654435761ULL + 1; /* never 0 */
}

/* ---- fixtures ------------------------------------------------------------ */

struct pool {
	struct phys ph;
	struct buddy *b;
};

static void pool_open_cfg(struct pool *p, uint64_t nr_pages,
			  const struct buddy_config *cfg)
{
	assert_int_equal(phys_init(&p->ph, nr_pages, NULL), 0);
	assert_int_equal(buddy_create(&p->ph, cfg, &p->b), 0);
	assert_int_equal(buddy_check(p->b), 0);
	assert_int_equal(buddy_nr_free(p->b), nr_pages);
}

static void pool_open(struct pool *p, uint64_t nr_pages)
{
	struct buddy_config cfg;

	buddy_config_init(&cfg);
	pool_open_cfg(p, nr_pages, &cfg);
}

static void pool_close(struct pool *p)
{
	buddy_destroy(p->b);
	phys_fini(&p->ph);
}

static pfn_t must_alloc(struct buddy *b, unsigned order)
{
	pfn_t pfn = ~0ULL;

	assert_int_equal(buddy_alloc(b, order, &pfn), 0);
	return pfn;
}

/* A block as a caller sees it: every frame clean. */
static void assert_block_clean(const struct pool *p, pfn_t pfn, unsigned order)
{
	for (pfn_t q = pfn; q < pfn + (1ULL << order); q++) {
		const struct page *pg = phys_page(&p->ph, q);

		assert_int_equal(pg->flags, 0);
		assert_int_equal(pg->_refcount, 0);
		assert_int_equal(pg->_mapcount, 0);
	}
}

struct blk {
	pfn_t pfn;
	unsigned order;
};

/* The free lists hold exactly `want` (any order within the array). */
static void assert_free_set(const struct pool *p, const struct blk *want,
			    size_t n)
{
	uint64_t count[NR_ORDERS] = { 0 };

	for (size_t i = 0; i < n; i++) {
		const struct page *pg = phys_page(&p->ph, want[i].pfn);

		assert_true(pg->flags & PG_buddy);
		assert_int_equal(pg->private, want[i].order);
		count[want[i].order]++;
	}
	for (unsigned k = 0; k < NR_ORDERS; k++)
		assert_int_equal(buddy_nr_free_blocks(p->b, k), count[k]);
	assert_int_equal(buddy_check(p->b), 0);
}

/* The free lists hold exactly the (pfn, order) pairs given. */
#define EXPECT_FREE(p, ...)                                     \
	do {                                                    \
		const struct blk want_[] = { __VA_ARGS__ };     \
		assert_free_set((p), want_, ARRAY_SIZE(want_)); \
	} while (0)

/* ---- reference model ----------------------------------------------------- */

struct ref {
	uint64_t n;
	uint8_t *free[NR_ORDERS]; /* free[k][i]: block i of order k is free */
	uint64_t nblk[NR_ORDERS]; /* blocks of order k that fit in the pool */
	uint32_t *root_id;	  /* per frame */
	uint64_t count[NR_ORDERS];
	uint64_t nr_free;
	bool lazy;
	unsigned thr;
	struct buddy_stats st;
};

static void ref_init(struct ref *r, uint64_t n, bool lazy, unsigned thr)
{
	pfn_t p = 0;
	uint32_t id = 0;

	memset(r, 0, sizeof(*r));
	r->n = n;
	r->lazy = lazy;
	r->thr = thr;
	r->nr_free = n;
	r->root_id = calloc(n, sizeof(*r->root_id));
	assert_non_null(r->root_id);
	for (unsigned k = 0; k < NR_ORDERS; k++) {
		r->nblk[k] = n >> k;
		r->free[k] = calloc(r->nblk[k] + 1, 1);
		assert_non_null(r->free[k]);
	}
	/* Roots: whole max-order blocks, then one per binary digit of n. */
	for (int k = BUDDY_MAX_ORDER; k >= 0; k--) {
		uint64_t nroots = k == BUDDY_MAX_ORDER ? n >> k : (n >> k) & 1;

		for (uint64_t j = 0; j < nroots; j++, id++) {
			for (uint64_t q = 0; q < (1ULL << k); q++)
				r->root_id[p + q] = id;
			r->free[k][p >> k] = 1;
			r->count[k]++;
			p += 1ULL << k;
		}
	}
	assert_int_equal(p, n);
}

static void ref_fini(struct ref *r)
{
	for (unsigned k = 0; k < NR_ORDERS; k++)
		free(r->free[k]);
	free(r->root_id);
}

static bool ref_can_merge(const struct ref *r, pfn_t pfn, unsigned k)
{
	pfn_t buddy = pfn ^ (1ULL << k);

	if (k >= BUDDY_MAX_ORDER || buddy + (1ULL << k) > r->n)
		return false;
	if (r->root_id[buddy] != r->root_id[pfn])
		return false;
	return r->free[k][buddy >> k];
}

static void ref_coalesce(struct ref *r)
{
	for (unsigned k = 0; k < BUDDY_MAX_ORDER; k++) {
		for (uint64_t i = 0; i + 1 < r->nblk[k]; i += 2) {
			if (!r->free[k][i] || !ref_can_merge(r, i << k, k))
				continue;
			r->free[k][i] = r->free[k][i + 1] = 0;
			r->count[k] -= 2;
			r->free[k + 1][i / 2] = 1;
			r->count[k + 1]++;
			r->st.merge[k + 1]++;
		}
	}
}

static bool ref_take(struct ref *r, unsigned order, pfn_t *pfn)
{
	for (unsigned j = order; j < NR_ORDERS; j++) {
		uint8_t *hit = memchr(r->free[j], 1, r->nblk[j]);
		uint64_t i;

		if (!hit)
			continue;
		i = (uint64_t)(hit - r->free[j]);
		*hit = 0;
		r->count[j]--;
		for (; j > order; j--) {
			r->st.split[j]++;
			i *= 2;
			r->free[j - 1][i + 1] = 1;
			r->count[j - 1]++;
		}
		*pfn = i << order;
		return true;
	}
	return false;
}

static int ref_alloc(struct ref *r, unsigned order, pfn_t *pfn)
{
	bool ok = ref_take(r, order, pfn);

	if (!ok && r->lazy) {
		ref_coalesce(r);
		ok = ref_take(r, order, pfn);
	}
	if (!ok) {
		r->st.fail[order]++;
		return -ENOMEM;
	}
	r->st.alloc[order]++;
	r->nr_free -= 1ULL << order;
	return 0;
}

static void ref_free(struct ref *r, pfn_t pfn, unsigned k)
{
	r->st.free[k]++;
	r->nr_free += 1ULL << k;
	for (; k < BUDDY_MAX_ORDER; k++) {
		if (r->lazy && r->count[k] < r->thr)
			break;
		if (!ref_can_merge(r, pfn, k))
			break;
		r->free[k][(pfn ^ (1ULL << k)) >> k] = 0;
		r->count[k]--;
		pfn &= ~(1ULL << k);
		r->st.merge[k + 1]++;
	}
	r->free[k][pfn >> k] = 1;
	r->count[k]++;
}

/* ---- differential test --------------------------------------------------- */

struct diff {
	struct pool p;
	struct ref r;
	struct blk *live;
	uint64_t nlive;
};

/* Mostly small orders, but every order shows up often enough. */
static unsigned pick_order(void)
{
	uint64_t x = rnd();

	if ((x & 3) == 0)
		return (unsigned)((x >> 2) % NR_ORDERS);
	x >>= 2;
	return (unsigned)MIN(__builtin_ctzll(x | MAX_BLOCK), BUDDY_MAX_ORDER);
}

static void diff_compare(struct diff *d, bool full)
{
	struct buddy_stats st;

	for (unsigned k = 0; k < NR_ORDERS; k++)
		assert_int_equal(buddy_nr_free_blocks(d->p.b, k),
				 d->r.count[k]);
	assert_int_equal(buddy_nr_free(d->p.b), d->r.nr_free);
	if (!full)
		return;
	assert_int_equal(buddy_check(d->p.b), 0);
	buddy_get_stats(d->p.b, &st);
	assert_memory_equal(&st, &d->r.st, sizeof(st));
}

static void diff_alloc(struct diff *d)
{
	unsigned order = pick_order();
	pfn_t pfn = ~0ULL, want = ~0ULL;
	int rc = buddy_alloc(d->p.b, order, &pfn);
	struct page *pg;

	assert_int_equal(rc, ref_alloc(&d->r, order, &want));
	if (rc)
		return;
	assert_int_equal(pfn, want);
	assert_block_clean(&d->p, pfn, order);
	/* Use the block as a caller would: flags, counts, private, lru. */
	pg = phys_page(&d->p.ph, pfn);
	pg->flags = PG_anon | PG_lru;
	pg->_refcount = 1;
	pg->_mapcount = 1;
	pg->private = 0xdead;
	list_init(&pg->lru);
	d->live[d->nlive++] = (struct blk){ pfn, order };
}

static void diff_free(struct diff *d)
{
	uint64_t i = rnd() % d->nlive;
	struct blk blk = d->live[i];
	struct page *pg = phys_page(&d->p.ph, blk.pfn);

	d->live[i] = d->live[--d->nlive];
	pg->flags = 0;
	pg->_refcount = 0;
	pg->_mapcount = 0;
	buddy_free(d->p.b, blk.pfn, blk.order);
	ref_free(&d->r, blk.pfn, blk.order);
}

static void diff_run(uint64_t n, bool lazy, unsigned thr, uint64_t seed)
{
	struct buddy_config cfg;
	struct diff d;

	rng_seed(seed);
	buddy_config_init(&cfg);
	cfg.lazy = lazy;
	cfg.lazy_threshold = thr;
	pool_open_cfg(&d.p, n, &cfg);
	ref_init(&d.r, n, lazy, thr);
	d.live = calloc(n, sizeof(*d.live));
	d.nlive = 0;
	assert_non_null(d.live);
	diff_compare(&d, true);
	for (uint64_t op = 1; op <= DIFF_OPS; op++) {
		unsigned pct = (op / PHASE_OPS) & 1 ? ALLOC_PCT_DRAIN :
						      ALLOC_PCT_FILL;

		if (d.nlive == 0 || (d.nlive < n && rnd() % PCT < pct))
			diff_alloc(&d);
		else
			diff_free(&d);
		diff_compare(&d, op % CHECK_EVERY == 0);
	}
	while (d.nlive)
		diff_free(&d);
	diff_compare(&d, true);
	free(d.live);
	ref_fini(&d.r);
	pool_close(&d.p);
}

static void test_buddy_differential_pow2(void **state)
{
	(void)state;
	diff_run(2 * MAX_BLOCK, false, 0, seed_from_env());
}

/* 3000 = 2 roots of order 10, then 512 + 256 + 128 + 32 + 16 + 8. */
static void test_buddy_differential_odd(void **state)
{
	(void)state;
	diff_run(3000, false, 0, seed_from_env());
}

static void test_buddy_differential_lazy(void **state)
{
	uint64_t seed = seed_from_env();

	(void)state;
	diff_run(2 * MAX_BLOCK, true, 4, seed);
	diff_run(3000, true, 2, seed + 1);
}

/* ---- worked example ------------------------------------------------------ */

/*
 * The textbook example (1 MiB memory, 64 KiB smallest block): A=70K, B=35K,
 * C=80K, free A, D=60K, free B, free D, free C.  Here 1 unit = 16 frames
 * (64 KiB), so the pool is 256 frames (order 8), 64K = order 4, 128K =
 * order 5.  Expected free blocks after each step as (pfn, order).
 */
#define U 16 /* frames per unit */

static void test_buddy_textbook_example(void **state)
{
	struct pool p;
	pfn_t a, bb, c, dd;

	(void)state;
	pool_open(&p, 16 * U);
	EXPECT_FREE(&p, { 0, 8 });

	a = must_alloc(p.b, 5); /* 70K -> 128K */
	assert_int_equal(a, 0);
	EXPECT_FREE(&p, { 2 * U, 5 }, { 4 * U, 6 }, { 8 * U, 7 });
	bb = must_alloc(p.b, 4); /* 35K -> 64K */
	assert_int_equal(bb, 2 * U);
	EXPECT_FREE(&p, { 3 * U, 4 }, { 4 * U, 6 }, { 8 * U, 7 });
	c = must_alloc(p.b, 5); /* 80K -> 128K */
	assert_int_equal(c, 4 * U);
	EXPECT_FREE(&p, { 3 * U, 4 }, { 6 * U, 5 }, { 8 * U, 7 });
	buddy_free(p.b, a, 5);
	EXPECT_FREE(&p, { 0, 5 }, { 3 * U, 4 }, { 6 * U, 5 }, { 8 * U, 7 });
	dd = must_alloc(p.b, 4); /* 60K -> 64K */
	assert_int_equal(dd, 3 * U);
	EXPECT_FREE(&p, { 0, 5 }, { 6 * U, 5 }, { 8 * U, 7 });
	buddy_free(p.b, bb, 4);
	EXPECT_FREE(&p, { 0, 5 }, { 2 * U, 4 }, { 6 * U, 5 }, { 8 * U, 7 });
	buddy_free(p.b, dd, 4); /* 2U+3U -> 2U(5), + 0(5) -> 0(6) */
	EXPECT_FREE(&p, { 0, 6 }, { 6 * U, 5 }, { 8 * U, 7 });
	buddy_free(p.b, c, 5); /* -> 4U(6) -> 0(7) -> 0(8) */
	EXPECT_FREE(&p, { 0, 8 });
	pool_close(&p);
}

/* The same example through the counters. */
static void test_buddy_textbook_counters(void **state)
{
	struct buddy_stats st;
	struct pool p;
	pfn_t a, bb, c, dd;

	(void)state;
	pool_open(&p, 16 * U);
	a = must_alloc(p.b, 5);
	bb = must_alloc(p.b, 4);
	c = must_alloc(p.b, 5);
	buddy_free(p.b, a, 5);
	dd = must_alloc(p.b, 4);
	buddy_free(p.b, bb, 4);
	buddy_free(p.b, dd, 4);
	buddy_free(p.b, c, 5);
	buddy_get_stats(p.b, &st);
	assert_int_equal(st.alloc[4], 2);
	assert_int_equal(st.alloc[5], 2);
	assert_int_equal(st.free[4], 2);
	assert_int_equal(st.free[5], 2);
	/* Splits: 8, 7, 6 (A); 5 (B); 6 (C).  Merges: 5, 6 (D); 6, 7, 8 (C). */
	assert_int_equal(st.split[8], 1);
	assert_int_equal(st.split[7], 1);
	assert_int_equal(st.split[6], 2);
	assert_int_equal(st.split[5], 1);
	assert_int_equal(st.merge[5], 1);
	assert_int_equal(st.merge[6], 2);
	assert_int_equal(st.merge[7], 1);
	assert_int_equal(st.merge[8], 1);
	for (unsigned k = 0; k < NR_ORDERS; k++)
		assert_int_equal(st.fail[k], 0);
	pool_close(&p);
}

/* ---- lazy coalescing ----------------------------------------------------- */

static void open_lazy(struct pool *p, uint64_t n, unsigned thr)
{
	struct buddy_config cfg;

	buddy_config_init(&cfg);
	cfg.lazy = true;
	cfg.lazy_threshold = thr;
	pool_open_cfg(p, n, &cfg);
}

/*
 * Threshold 2 on 16 frames: frees stay unmerged while their order's list
 * holds < 2 blocks, merge once it holds 2, and an allocation that finds
 * nothing big enough coalesces everything first.
 */
static void test_buddy_lazy_delays_then_merges(void **state)
{
	struct buddy_stats st;
	struct pool p;

	(void)state;
	open_lazy(&p, 16, 2);
	for (pfn_t i = 0; i < 4; i++)
		assert_int_equal(must_alloc(p.b, 0), i);
	EXPECT_FREE(&p, { 4, 2 }, { 8, 3 });
	buddy_free(p.b, 0, 0); /* list 0 held 0 < 2: kept */
	buddy_free(p.b, 2, 0); /* held 1 < 2: kept */
	EXPECT_FREE(&p, { 0, 0 }, { 2, 0 }, { 4, 2 }, { 8, 3 });
	buddy_free(p.b, 1, 0); /* held 2: merges with 0; list 1 held 0: kept */
	EXPECT_FREE(&p, { 0, 1 }, { 2, 0 }, { 4, 2 }, { 8, 3 });
	buddy_free(p.b, 3, 0); /* held 1 < 2: kept beside its free buddy 2 */
	EXPECT_FREE(&p, { 0, 1 }, { 2, 0 }, { 3, 0 }, { 4, 2 }, { 8, 3 });
	assert_int_equal(buddy_nr_free(p.b), 16);
	assert_int_equal(must_alloc(p.b, 3), 8);
	/* No order >= 3 left: coalesce 2+3, 0+2, 0+4 into 0 (order 3). */
	assert_int_equal(must_alloc(p.b, 3), 0);
	assert_free_set(&p, NULL, 0);
	buddy_get_stats(p.b, &st);
	assert_int_equal(st.merge[1], 2);
	assert_int_equal(st.merge[2], 1);
	assert_int_equal(st.merge[3], 1);
	assert_int_equal(st.fail[3], 0);
	pool_close(&p);
}

/* Threshold 0 never delays: the eager layout. */
static void test_buddy_lazy_threshold_zero_is_eager(void **state)
{
	struct pool p;

	(void)state;
	open_lazy(&p, 16, 0);
	assert_int_equal(must_alloc(p.b, 0), 0);
	assert_int_equal(must_alloc(p.b, 0), 1);
	buddy_free(p.b, 0, 0);
	buddy_free(p.b, 1, 0);
	EXPECT_FREE(&p, { 0, 4 });
	pool_close(&p);
}

/* A fully fragmented lazy pool still serves the largest block. */
static void test_buddy_lazy_never_fails_where_eager_succeeds(void **state)
{
	const uint64_t n = 2 * MAX_BLOCK;
	struct pool p;

	(void)state;
	open_lazy(&p, n, (unsigned)n); /* never merges on free */
	for (pfn_t i = 0; i < n; i++)
		assert_int_equal(must_alloc(p.b, 0), i);
	for (pfn_t i = 0; i < n; i++)
		buddy_free(p.b, i, 0);
	assert_int_equal(buddy_nr_free_blocks(p.b, 0), n);
	assert_int_equal(buddy_check(p.b), 0);
	assert_int_equal(must_alloc(p.b, BUDDY_MAX_ORDER), 0);
	assert_int_equal(must_alloc(p.b, BUDDY_MAX_ORDER), MAX_BLOCK);
	assert_free_set(&p, NULL, 0);
	pool_close(&p);
}

/* ---- odd sizes --------------------------------------------------------- */

static void check_odd(uint64_t n, const struct blk *roots, size_t nroots)
{
	char before[INFO_LEN], after[INFO_LEN];
	uint8_t *seen = calloc(n, 1);
	pfn_t *order0 = calloc(n, sizeof(*order0));
	struct pool p;
	pfn_t pfn;

	assert_non_null(seen);
	assert_non_null(order0);
	pool_open(&p, n);
	assert_free_set(&p, roots, nroots);
	buddy_info(p.b, before, sizeof(before));
	for (uint64_t i = 0; i < n; i++) {
		order0[i] = must_alloc(p.b, 0);
		assert_true(order0[i] < n);
		assert_false(seen[order0[i]]);
		seen[order0[i]] = 1;
	}
	assert_int_equal(buddy_alloc(p.b, 0, &pfn), -ENOMEM);
	assert_int_equal(buddy_nr_free(p.b), 0);
	assert_int_equal(buddy_check(p.b), 0);
	for (uint64_t i = n; i > 1; i--) { /* Fisher-Yates */
		uint64_t j = rnd() % i;
		pfn_t t = order0[i - 1];

		order0[i - 1] = order0[j];
		order0[j] = t;
	}
	for (uint64_t i = 0; i < n; i++)
		buddy_free(p.b, order0[i], 0);
	buddy_info(p.b, after, sizeof(after));
	assert_string_equal(after, before);
	assert_free_set(&p, roots, nroots);
	pool_close(&p);
	free(order0);
	free(seen);
}

#define CHECK_ODD(n, ...)                                    \
	do {                                                 \
		const struct blk roots_[] = { __VA_ARGS__ }; \
		check_odd((n), roots_, ARRAY_SIZE(roots_));  \
	} while (0)

static void test_buddy_odd_sizes(void **state)
{
	(void)state;
	rng_seed(seed_from_env());
	CHECK_ODD(1, { 0, 0 });
	CHECK_ODD(3, { 0, 1 }, { 2, 0 });
	CHECK_ODD(5, { 0, 2 }, { 4, 0 });
	CHECK_ODD(1000, { 0, 9 }, { 512, 8 }, { 768, 7 }, { 896, 6 },
		  { 960, 5 }, { 992, 3 });
	CHECK_ODD(1023, { 0, 9 }, { 512, 8 }, { 768, 7 }, { 896, 6 },
		  { 960, 5 }, { 992, 4 }, { 1008, 3 }, { 1016, 2 }, { 1020, 1 },
		  { 1022, 0 });
	CHECK_ODD(1025, { 0, 10 }, { 1024, 0 });
}

/* Roots never merge: two order-10 roots, and a lone frame after them. */
static void test_buddy_roots_do_not_merge(void **state)
{
	struct pool p;

	(void)state;
	pool_open(&p, 2 * MAX_BLOCK + 1);
	EXPECT_FREE(&p, { 0, 10 }, { MAX_BLOCK, 10 }, { 2 * MAX_BLOCK, 0 });
	/* Smallest sufficient order first: the lone frame, not a split. */
	assert_int_equal(must_alloc(p.b, 0), 2 * MAX_BLOCK);
	assert_int_equal(must_alloc(p.b, 0), 0);
	buddy_free(p.b, 2 * MAX_BLOCK, 0);
	buddy_free(p.b, 0, 0);
	EXPECT_FREE(&p, { 0, 10 }, { MAX_BLOCK, 10 }, { 2 * MAX_BLOCK, 0 });
	pool_close(&p);
}

/* ---- exhaustion, pcp, buddyinfo ----------------------------------------- */

/* split_page: a block's frames freed one by one, in any order, merge back. */
static void test_buddy_split_frees_frames_singly(void **state)
{
	char info0[INFO_LEN], info1[INFO_LEN];
	struct pool p;
	pfn_t order[16];
	pfn_t head;

	(void)state;
	pool_open(&p, 256);
	buddy_info(p.b, info0, sizeof(info0));
	head = must_alloc(p.b, 4);
	buddy_split(p.b, head, 4);
	assert_int_equal(buddy_check(p.b), 0);
	assert_int_equal(buddy_nr_free(p.b), 256 - 16);
	for (int i = 0; i < 16; i++) /* a fixed shuffle: 7i mod 16 */
		order[i] = head + (pfn_t)((7 * i) % 16);
	for (int i = 0; i < 16; i++) {
		buddy_free(p.b, order[i], 0);
		assert_int_equal(buddy_check(p.b), 0);
	}
	buddy_info(p.b, info1, sizeof(info1));
	assert_string_equal(info0, info1);
	pool_close(&p);
}

static void test_buddy_exhaustion(void **state)
{
	struct buddy_stats st0, st1;
	char info0[INFO_LEN], info1[INFO_LEN];
	struct pool p;
	pfn_t pfn = 1234;

	(void)state;
	pool_open(&p, 96); /* 64 + 32 */
	assert_int_equal(must_alloc(p.b, 6), 0);
	assert_int_equal(must_alloc(p.b, 4), 64);
	buddy_get_stats(p.b, &st0);
	buddy_info(p.b, info0, sizeof(info0));
	assert_int_equal(buddy_alloc(p.b, 5, &pfn), -ENOMEM);
	assert_int_equal(pfn, 1234);
	assert_int_equal(buddy_alloc(p.b, BUDDY_MAX_ORDER + 1, &pfn), -EINVAL);
	buddy_get_stats(p.b, &st1);
	assert_int_equal(st1.fail[5], st0.fail[5] + 1);
	st1.fail[5] = st0.fail[5];
	assert_memory_equal(&st0, &st1, sizeof(st0));
	buddy_info(p.b, info1, sizeof(info1));
	assert_string_equal(info0, info1);
	assert_int_equal(buddy_nr_free(p.b), 16);
	assert_int_equal(buddy_check(p.b), 0);
	pool_close(&p);
}

static void open_pcp(struct pool *p, uint64_t n)
{
	struct buddy_config cfg;

	buddy_config_init(&cfg);
	cfg.pcp = true;
	pool_open_cfg(p, n, &cfg);
}

/* pcp: LIFO reuse, counted free, on no list, drained before failing. */
static void test_buddy_pcp(void **state)
{
	struct pool p;
	pfn_t a, c;

	(void)state;
	open_pcp(&p, 2 * MAX_BLOCK);
	a = must_alloc(p.b, 0);
	assert_int_equal(a, 0); /* the refill batch pops lowest first */
	c = must_alloc(p.b, 0);
	assert_int_equal(c, 1);
	assert_block_clean(&p, c, 0);
	buddy_free(p.b, a, 0);
	assert_int_equal(must_alloc(p.b, 0), a); /* hot frame reused */
	buddy_free(p.b, a, 0);
	buddy_free(p.b, c, 0);
	assert_int_equal(buddy_nr_free(p.b), 2 * MAX_BLOCK);
	assert_int_equal(buddy_check(p.b), 0);
	/* Cached frames keep root 0 split; a second order-10 request drains. */
	assert_int_equal(buddy_nr_free_blocks(p.b, BUDDY_MAX_ORDER), 1);
	assert_int_equal(must_alloc(p.b, BUDDY_MAX_ORDER), MAX_BLOCK);
	assert_int_equal(must_alloc(p.b, BUDDY_MAX_ORDER), 0);
	assert_int_equal(buddy_nr_free(p.b), 0);
	assert_int_equal(buddy_check(p.b), 0);
	pool_close(&p);
}

/* pcp under random load: nothing lost, invariants hold, full drain. */
static void test_buddy_pcp_random(void **state)
{
	const uint64_t n = 2 * MAX_BLOCK, ops = DIFF_OPS / 4;
	struct blk *live = calloc(n, sizeof(*live));
	uint64_t nlive = 0, used = 0;
	struct pool p;

	(void)state;
	rng_seed(seed_from_env());
	assert_non_null(live);
	open_pcp(&p, n);
	for (uint64_t op = 1; op <= ops; op++) {
		unsigned order = rnd() & 1 ? 0 : pick_order();
		pfn_t pfn;

		if (nlive == 0 || (nlive < n && rnd() % PCT < ALLOC_PCT_FILL)) {
			if (buddy_alloc(p.b, order, &pfn) == 0) {
				assert_block_clean(&p, pfn, order);
				live[nlive++] = (struct blk){ pfn, order };
				used += 1ULL << order;
			}
		} else {
			uint64_t i = rnd() % nlive;

			buddy_free(p.b, live[i].pfn, live[i].order);
			used -= 1ULL << live[i].order;
			live[i] = live[--nlive];
		}
		assert_int_equal(buddy_nr_free(p.b), n - used);
		if (op % CHECK_EVERY == 0)
			assert_int_equal(buddy_check(p.b), 0);
	}
	while (nlive--)
		buddy_free(p.b, live[nlive].pfn, live[nlive].order);
	assert_int_equal(must_alloc(p.b, BUDDY_MAX_ORDER), 0);
	assert_int_equal(must_alloc(p.b, BUDDY_MAX_ORDER), MAX_BLOCK);
	pool_close(&p);
	free(live);
}

static void test_buddy_info_format(void **state)
{
	const char *want = "Node 0, zone   Normal "
			   "     0      0      0      1      0      1 "
			   "     1      1      1      1      0 \n";
	char buf[INFO_LEN], tiny[8];
	struct pool p;

	(void)state;
	pool_open(&p, 1000);
	assert_int_equal(buddy_info(p.b, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
	/* Too small: truncated, terminated, full length returned. */
	assert_int_equal(buddy_info(p.b, tiny, sizeof(tiny)),
			 (int)strlen(want));
	assert_string_equal(tiny, "Node 0,");
	assert_int_equal(buddy_info(p.b, NULL, 0), (int)strlen(want));
	/* A known state after some traffic. */
	must_alloc(p.b, 0); /* splits 992 (order 3): 993, 994, 996 free */
	must_alloc(p.b, 9);
	buddy_info(p.b, buf, sizeof(buf));
	assert_string_equal(buf, "Node 0, zone   Normal "
				 "     1      1      1      0      0      1 "
				 "     1      1      1      0      0 \n");
	pool_close(&p);
}

/* ---- bad input and bugs ------------------------------------------------- */

static void test_buddy_bad_input(void **state)
{
	struct buddy_config cfg;
	struct phys empty = { .memfd = -1 };
	struct buddy *b = NULL;
	struct phys ph;

	(void)state;
	buddy_config_init(&cfg);
	assert_false(cfg.lazy);
	assert_false(cfg.pcp);
	assert_int_equal(phys_init(&ph, 8, NULL), 0);
	assert_int_equal(buddy_create(NULL, &cfg, &b), -EINVAL);
	assert_int_equal(buddy_create(&ph, NULL, &b), -EINVAL);
	assert_int_equal(buddy_create(&ph, &cfg, NULL), -EINVAL);
	assert_int_equal(buddy_create(&empty, &cfg, &b), -EINVAL);
	assert_null(b);
	assert_int_equal(buddy_create(&ph, &cfg, &b), 0);
	assert_int_equal(buddy_nr_free_blocks(b, BUDDY_MAX_ORDER + 1), 0);
	buddy_destroy(b);
	/* destroy hands the frames back clean */
	for (pfn_t q = 0; q < ph.nr_pages; q++)
		assert_int_equal(phys_page(&ph, q)->flags, 0);
	buddy_destroy(NULL);
	phys_fini(&ph);
}

enum bad_free { FREE_TWICE, FREE_WRONG_ORDER, FREE_INNER, FREE_DIRTY };

/* In a child (BUG_ON aborts): must die of SIGABRT. */
static void expect_bug(enum bad_free how)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct pool p;
		pfn_t pfn;

		if (!freopen("/dev/null", "w", stderr))
			_exit(1);
		if (phys_init(&p.ph, 64, NULL) != 0)
			_exit(1);
		buddy_create(&p.ph, &(struct buddy_config){ 0 }, &p.b);
		buddy_alloc(p.b, 2, &pfn);
		if (how == FREE_TWICE) {
			buddy_free(p.b, pfn, 2);
			buddy_free(p.b, pfn, 2);
		} else if (how == FREE_WRONG_ORDER) {
			buddy_free(p.b, pfn, 1);
		} else if (how == FREE_INNER) {
			buddy_free(p.b, pfn + 1, 0);
		} else {
			phys_page(&p.ph, pfn)->_refcount = 1;
			buddy_free(p.b, pfn, 2);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_buddy_bad_free_bugs(void **state)
{
	(void)state;
	expect_bug(FREE_TWICE);
	expect_bug(FREE_WRONG_ORDER);
	expect_bug(FREE_INNER);
	expect_bug(FREE_DIRTY);
}

/* Corrupt one field, expect the named code, restore, expect 0. */
#define EXPECT_CHECK(p, field, value, code)                    \
	do {                                                   \
		__typeof__(field) saved_ = (field);            \
		(field) = (value);                             \
		assert_int_equal(buddy_check((p)->b), (code)); \
		(field) = saved_;                              \
		assert_int_equal(buddy_check((p)->b), 0);      \
	} while (0)

static void test_buddy_check_catches_corruption(void **state)
{
	struct pool p;
	struct page *head, *inner, *used;

	(void)state;
	pool_open(&p, 1000);
	used = phys_page(&p.ph, must_alloc(p.b, 0)); /* 992; 993.. free */
	head = phys_page(&p.ph, 512);		     /* free, order 8 */
	inner = phys_page(&p.ph, 600);
	EXPECT_CHECK(&p, head->flags, 0, CHK_PGBUDDY);
	EXPECT_CHECK(&p, head->private, 7, CHK_PGBUDDY);
	EXPECT_CHECK(&p, head->private, BUDDY_MAX_ORDER, CHK_ALIGN);
	EXPECT_CHECK(&p, head->flags, PG_buddy | PG_lru, CHK_DIRTY);
	EXPECT_CHECK(&p, inner->flags, PG_buddy, CHK_PGBUDDY);
	EXPECT_CHECK(&p, inner->_refcount, 1, CHK_DIRTY);
	EXPECT_CHECK(&p, inner->_mapcount, -1, CHK_DIRTY);
	EXPECT_CHECK(&p, used->flags, PG_buddy, CHK_PGBUDDY);
	pool_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buddy_textbook_example),
		cmocka_unit_test(test_buddy_textbook_counters),
		cmocka_unit_test(test_buddy_lazy_delays_then_merges),
		cmocka_unit_test(test_buddy_lazy_threshold_zero_is_eager),
		cmocka_unit_test(
			test_buddy_lazy_never_fails_where_eager_succeeds),
		cmocka_unit_test(test_buddy_odd_sizes),
		cmocka_unit_test(test_buddy_roots_do_not_merge),
		cmocka_unit_test(test_buddy_exhaustion),
		cmocka_unit_test(test_buddy_split_frees_frames_singly),
		cmocka_unit_test(test_buddy_pcp),
		cmocka_unit_test(test_buddy_pcp_random),
		cmocka_unit_test(test_buddy_info_format),
		cmocka_unit_test(test_buddy_bad_input),
		cmocka_unit_test(test_buddy_bad_free_bugs),
		cmocka_unit_test(test_buddy_check_catches_corruption),
		cmocka_unit_test(test_buddy_differential_pow2),
		cmocka_unit_test(test_buddy_differential_odd),
		cmocka_unit_test(test_buddy_differential_lazy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
