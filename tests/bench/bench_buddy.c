/*
 * tests/bench/bench_buddy.c - buddy allocator throughput over a 1 GiB pool
 * (262144 frames), median of RUNS runs, each on a fresh allocator:
 *
 *  (a) order-0 alloc+free pairs, each block freed at once;
 *  (b) steady state: the pool pre-filled to ~50 % with live blocks of random
 *      orders 0..5, then pairs of (free a random live block, allocate a new
 *      block of random order 0..5).
 *
 * Each is run with the default configuration (eager, lowest address first),
 * with the order-0 pcp cache, and with lazy coalescing, side by side, and
 * compared with a reference: a well-known public C buddy allocator measured
 * on this machine at REF_A / REF_B pairs per second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/vmtest.h"
#include "vm/buddy.h"

#define POOL_PAGES     (1ULL << 18) /* 1 GiB */
#define RUNS	       7
#define PAIRS_A	       4000000ULL
#define PAIRS_B	       2000000ULL
#define ORDERS_B       6 /* orders 0..5 */
#define FILL_NUM       1 /* pre-fill to FILL_NUM/FILL_DEN of the pool */
#define FILL_DEN       2
#define LAZY_THRESHOLD 16
#define REF_A	       3.2e6
#define REF_B	       1.7e6
#define SEED	       42
#define NS_PER_S       1e9

struct blk {
	pfn_t pfn;
	unsigned order;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	return vmtest_rand(&rng_state);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_S;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct buddy *make(struct phys *ph, const struct buddy_config *cfg)
{
	struct buddy *b;

	if (buddy_create(ph, cfg, &b)) {
		fprintf(stderr, "bench_buddy: buddy_create failed\n");
		exit(1);
	}
	return b;
}

static void must_alloc(struct buddy *b, unsigned order, pfn_t *pfn)
{
	if (buddy_alloc(b, order, pfn)) {
		fprintf(stderr, "bench_buddy: unexpected -ENOMEM\n");
		exit(1);
	}
}

/* (a): pairs per second. */
static double run_a(struct phys *ph, const struct buddy_config *cfg)
{
	struct buddy *b = make(ph, cfg);
	double t0, t1;
	pfn_t pfn;

	t0 = now();
	for (uint64_t i = 0; i < PAIRS_A; i++) {
		must_alloc(b, 0, &pfn);
		buddy_free(b, pfn, 0);
	}
	t1 = now();
	buddy_destroy(b);
	return (double)PAIRS_A / (t1 - t0);
}

/* (b): pairs per second; live is scratch of POOL_PAGES entries. */
static double run_b(struct phys *ph, const struct buddy_config *cfg,
		    struct blk *live)
{
	struct buddy *b = make(ph, cfg);
	uint64_t nlive = 0, used = 0;
	double t0, t1;

	rng_state = SEED;
	while (used < POOL_PAGES * FILL_NUM / FILL_DEN) {
		unsigned order = (unsigned)(rnd() % ORDERS_B);

		must_alloc(b, order, &live[nlive].pfn);
		live[nlive++].order = order;
		used += 1ULL << order;
	}
	t0 = now();
	for (uint64_t i = 0; i < PAIRS_B; i++) {
		struct blk *x = &live[rnd() % nlive];

		buddy_free(b, x->pfn, x->order);
		x->order = (unsigned)(rnd() % ORDERS_B);
		must_alloc(b, x->order, &x->pfn);
	}
	t1 = now();
	buddy_destroy(b);
	return (double)PAIRS_B / (t1 - t0);
}

struct variant {
	const char *name;
	bool pcp, lazy;
};

/* variants[0] is the baseline the others are compared with. */
static const struct variant variants[] = {
	{ "eager (default)", false, false },
	{ "pcp on", true, false },
	{ "lazy thr=16", false, true },
};

#define NR_VARIANTS (sizeof(variants) / sizeof(variants[0]))

static void config_of(const struct variant *v, struct buddy_config *cfg)
{
	buddy_config_init(cfg);
	cfg->pcp = v->pcp;
	cfg->lazy = v->lazy;
	cfg->lazy_threshold = LAZY_THRESHOLD;
}

/* Runs interleaved across variants, so host noise hits all alike. */
static void measure(struct phys *ph, int which, struct blk *live,
		    double r[][RUNS])
{
	struct buddy_config cfg;

	for (int i = 0; i < RUNS; i++) {
		for (size_t v = 0; v < NR_VARIANTS; v++) {
			config_of(&variants[v], &cfg);
			r[v][i] = which == 'a' ? run_a(ph, &cfg) :
						 run_b(ph, &cfg, live);
		}
	}
	for (size_t v = 0; v < NR_VARIANTS; v++)
		qsort(r[v], RUNS, sizeof(r[v][0]), cmp_double);
}

static void report(const char *what, double r[][RUNS], double ref)
{
	for (size_t v = 0; v < NR_VARIANTS; v++) {
		double med = r[v][RUNS / 2];

		printf("buddy %s, %-15s: %6.2f M pairs/s median of %d "
		       "(min %.2f max %.2f), %.2fx ref %.1f M/s, %.2fx eager\n",
		       what, variants[v].name, med / 1e6, RUNS, r[v][0] / 1e6,
		       r[v][RUNS - 1] / 1e6, med / ref, ref / 1e6,
		       med / r[0][RUNS / 2]);
	}
}

int main(void)
{
	struct blk *live = calloc(POOL_PAGES, sizeof(*live));
	double r[NR_VARIANTS][RUNS];
	struct phys ph;

	if (!live || phys_init(&ph, POOL_PAGES, NULL)) {
		fprintf(stderr, "bench_buddy: cannot set up a 1 GiB pool\n");
		return 1;
	}
	measure(&ph, 'a', live, r);
	report("(a) order-0 alloc+free, immediate free", r, REF_A);
	measure(&ph, 'b', live, r);
	report("(b) 50% live, free random + alloc order 0..5", r, REF_B);
	phys_fini(&ph);
	free(live);
	return 0;
}
