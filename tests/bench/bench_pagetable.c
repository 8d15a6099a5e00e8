/*
 * tests/bench/bench_pagetable.c - page-table cost on a sparse 1 GiB space.
 *
 * The space: 1 GiB of mapped pages = 16384 chunks of 64 KiB (16 pages),
 * each at a random, distinct 64 KiB-aligned place in the 1 TiB range
 * [1 TiB, 2 TiB).  That is ~16k PTE tables holding 16 entries each, ~1k
 * PMD tables and 2 PUD tables: the sparse, table-heavy shape of a big
 * heap with scattered mappings.  Leaves point at real frames of the pool
 * (never touched: the memfd stays lazily backed).
 *
 * Measured, each as the median of REPS repetitions:
 *  - pt_map per page while building the space, pt_for_each per leaf over
 *    the whole space, pt_unmap_range per page tearing it down;
 *  - pt_walk per lookup, LOOKUPS lookups per repetition, for three VA
 *    streams generated before timing: uniform over the mapped pages; 90/10
 *    (90 % of lookups in a hot 10 % of the chunks, the rest uniform); Zipf
 *    (s = 1) over pages ranked in random order.  Each stream twice:
 *    independent walks (throughput: the CPU overlaps their cache misses)
 *    and chained walks (latency: each va depends on the previous result,
 *    as one fault's single walk would).  The pfns found are summed into a
 *    volatile sink so no walk is optimised away.  A baseline loop reads
 *    the stream without walking.  Repetitions interleave all the runs.
 *  - as a reference, pt_walk (uniform) with the same pages mapped
 *    contiguously: 515 tables, 2 MiB, mostly cache-resident.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/pagetable.h"
#include "tests/lib/frame_stack.h"

#define CHUNK_PAGES    16
#define NR_CHUNKS      16384
#define NR_DATA	       ((uint64_t)CHUNK_PAGES * NR_CHUNKS) /* 1 GiB */
#define TABLE_HEADROOM 32768
#define VA_BASE	       (1ULL << 40)
#define VA_SPAN_SHIFT  40 /* 1 TiB */
#define CHUNK_SHIFT    (PAGE_SHIFT + 4)
#define NR_SLOTS       (1ULL << (VA_SPAN_SHIFT - CHUNK_SHIFT))
#define LOOKUPS	       2000000
#define REPS	       7
#define HOT_PERCENT    10
#define HOT_HITS       90
#define ZIPF_S	       1.0

struct bench {
	struct frame_stack fs;
	struct pt_space s;
	vaddr_t chunk_va[NR_CHUNKS];
	pfn_t data_pfn[NR_DATA];
	uint64_t rng;
	bool dense; /* reference: the same pages contiguous from VA_BASE */
};

static uint64_t rng_next(uint64_t *x) /* splitmix64 */
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void report(const char *what, double v[REPS], const char *unit)
{
	qsort(v, REPS, sizeof(v[0]), cmp_double);
	printf("%-66s median %7.1f %s (min %.1f, max %.1f; %d reps)\n", what,
	       v[REPS / 2], unit, v[0], v[REPS - 1], REPS);
}

static vaddr_t page_va(const struct bench *b, uint64_t page)
{
	if (b->dense)
		return VA_BASE + page * PAGE_SIZE;
	return b->chunk_va[page / CHUNK_PAGES] +
	       (page % CHUNK_PAGES) * PAGE_SIZE;
}

/* Distinct random chunk places; data frames for every page. */
static int bench_setup(struct bench *b)
{
	uint8_t *used = calloc(NR_SLOTS / 8, 1);

	if (!used)
		return -1;
	for (size_t c = 0; c < NR_CHUNKS;) {
		uint64_t slot = rng_next(&b->rng) % NR_SLOTS;

		if (used[slot / 8] & (1u << (slot % 8)))
			continue;
		used[slot / 8] |= (uint8_t)(1u << (slot % 8));
		b->chunk_va[c++] = VA_BASE + (slot << CHUNK_SHIFT);
	}
	free(used);
	for (uint64_t p = 0; p < NR_DATA; p++)
		if (fstack_alloc(&b->fs, &b->data_pfn[p]) != 0)
			return -1;
	return 0;
}

static int build(struct bench *b)
{
	for (uint64_t p = 0; p < NR_DATA; p++) {
		pte_t pte = pfn_pte(b->data_pfn[p],
				    PTE_PRESENT | PTE_WRITE | PTE_USER);

		if (pt_map(&b->s, page_va(b, p), pte) != 0)
			return -1;
	}
	return 0;
}

static void count_leaf(void *arg, vaddr_t va, pte_t *ptep)
{
	*(uint64_t *)arg += pte_pfn(*ptep) ^ va;
}

/* Build, visit, tear down REPS times; ns per page for each. */
static int bench_build_visit_unmap(struct bench *b)
{
	double map_ns[REPS], visit_ns[REPS], unmap_ns[REPS], t;
	uint64_t sum = 0;

	for (int r = 0; r < REPS; r++) {
		t = now_ns();
		if (build(b) != 0)
			return -1;
		map_ns[r] = (now_ns() - t) / NR_DATA;
		if (r == 0)
			printf("space: %" PRIu64 " pages mapped, %" PRIu64
			       " tables (%.1f MiB of tables)\n",
			       NR_DATA, b->s.nr_tables,
			       b->s.nr_tables * PAGE_SIZE / 1048576.0);
		t = now_ns();
		pt_for_each(&b->s, 0, PT_VA_LIMIT, count_leaf, &sum);
		visit_ns[r] = (now_ns() - t) / NR_DATA;
		t = now_ns();
		pt_unmap_range(&b->s, 0, PT_VA_LIMIT, NULL, NULL);
		unmap_ns[r] = (now_ns() - t) / NR_DATA;
	}
	report("pt_map, building the space (per page)", map_ns, "ns");
	report("pt_for_each, whole space (per leaf)", visit_ns, "ns");
	report("pt_unmap_range, whole space (per page)", unmap_ns, "ns");
	printf("(checksum %" PRIu64 ")\n", sum);
	return b->s.nr_tables == 1 ? 0 : -1;
}

static void stream_uniform(struct bench *b, vaddr_t *vas)
{
	for (size_t i = 0; i < LOOKUPS; i++)
		vas[i] = page_va(b, rng_next(&b->rng) % NR_DATA);
}

/* Chunks are placed at random, so chunks [0, hot) are a random hot set. */
static void stream_hot(struct bench *b, vaddr_t *vas)
{
	const uint64_t hot_pages = NR_DATA * HOT_PERCENT / 100;

	for (size_t i = 0; i < LOOKUPS; i++) {
		uint64_t r = rng_next(&b->rng);
		bool hot = (r % 100) < HOT_HITS;

		vas[i] = page_va(b, (r >> 8) % (hot ? hot_pages : NR_DATA));
	}
}

/* Zipf(s) over ranks; rank k is page perm[k] (a random permutation). */
static int stream_zipf(struct bench *b, vaddr_t *vas)
{
	double *cdf = malloc(NR_DATA * sizeof(*cdf));
	uint64_t *perm = malloc(NR_DATA * sizeof(*perm));
	double acc = 0;

	if (!cdf || !perm) {
		free(cdf);
		free(perm);
		return -1;
	}
	for (uint64_t k = 0; k < NR_DATA; k++) {
		acc += 1.0 / pow((double)(k + 1), ZIPF_S);
		cdf[k] = acc;
		perm[k] = k;
	}
	for (uint64_t k = NR_DATA - 1; k > 0; k--) {
		uint64_t j = rng_next(&b->rng) % (k + 1), tmp = perm[k];

		perm[k] = perm[j];
		perm[j] = tmp;
	}
	for (size_t i = 0; i < LOOKUPS; i++) {
		double u = (double)(rng_next(&b->rng) >> 11) * 0x1p-53 * acc;
		uint64_t lo = 0, hi = NR_DATA - 1;

		while (lo < hi) {
			uint64_t mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		vas[i] = page_va(b, perm[lo]);
	}
	free(cdf);
	free(perm);
	return 0;
}

/*
 * Walk every va of the stream.  chained: each va is offset by
 * (previous pfn & zero), zero being 0 unknown to the compiler, so each walk
 * waits for the one before it (latency); otherwise the walks are
 * independent and the CPU overlaps their misses (throughput).
 */
static uint64_t run_walks(const struct bench *b, const vaddr_t *vas,
			  bool chained, uint64_t zero)
{
	uint64_t sum = 0, pfn = 0;

	for (size_t i = 0; i < LOOKUPS; i++) {
		vaddr_t va = vas[i] + (chained ? (pfn & zero) : 0);

		pfn = pte_pfn(*pt_walk(&b->s, va));
		sum += pfn;
	}
	return sum;
}

static uint64_t run_baseline(const vaddr_t *vas)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < LOOKUPS; i++)
		sum += vas[i] >> PAGE_SHIFT;
	return sum;
}

enum { ST_UNIFORM, ST_HOT, ST_ZIPF, NR_STREAMS };

static const char *const stream_name[NR_STREAMS] = {
	"uniform over the mapped pages",
	"90% of lookups in 10% of the chunks",
	"Zipf s=1 over the pages",
};

/* Run 0: baseline; then each stream independent and chained. */
#define NR_RUNS (1 + 2 * NR_STREAMS)

static double time_run(const struct bench *b, vaddr_t *const vas[], int run,
		       uint64_t zero)
{
	static volatile uint64_t sink;
	double t = now_ns();

	if (run == 0)
		sink += run_baseline(vas[ST_UNIFORM]);
	else
		sink += run_walks(b, vas[(run - 1) / 2], (run - 1) % 2, zero);
	return (now_ns() - t) / LOOKUPS;
}

/* Repetitions interleave the runs, so host noise hits them alike. */
static void time_runs(const struct bench *b, vaddr_t *const vas[])
{
	static volatile uint64_t zero_src;
	double ns[NR_RUNS][REPS];
	char what[96];

	for (int r = 0; r < REPS; r++)
		for (int run = 0; run < NR_RUNS; run++)
			ns[run][r] = time_run(b, vas, run, zero_src);
	report("baseline: read the uniform VA stream, no walk", ns[0],
	       "ns/lookup");
	for (int run = 1; run < NR_RUNS; run++) {
		snprintf(what, sizeof(what), "pt_walk %s, %s",
			 (run - 1) % 2 ? "latency " : "throughput",
			 stream_name[(run - 1) / 2]);
		report(what, ns[run], "ns/lookup");
	}
}

static int bench_walks(struct bench *b)
{
	vaddr_t *vas[NR_STREAMS] = { NULL };
	int err = -1;

	for (int i = 0; i < NR_STREAMS; i++)
		if (!(vas[i] = malloc(LOOKUPS * sizeof(*vas[i]))))
			goto out_free;
	if (build(b) != 0)
		goto out_free;
	stream_uniform(b, vas[ST_UNIFORM]);
	stream_hot(b, vas[ST_HOT]);
	if (stream_zipf(b, vas[ST_ZIPF]) != 0)
		goto out_free;
	time_runs(b, vas);
	pt_unmap_range(&b->s, 0, PT_VA_LIMIT, NULL, NULL);
	err = 0;
out_free:
	for (int i = 0; i < NR_STREAMS; i++)
		free(vas[i]);
	return err;
}

/* Reference: the same 1 GiB contiguous (512 PTE tables, 2 MiB). */
static int bench_dense(struct bench *b)
{
	vaddr_t *vas = malloc(LOOKUPS * sizeof(*vas));
	double ns[2][REPS];
	static volatile uint64_t sink, zero_src;

	b->dense = true;
	if (!vas || build(b) != 0) {
		free(vas);
		return -1;
	}
	printf("dense reference: same pages contiguous, %" PRIu64 " tables\n",
	       b->s.nr_tables);
	stream_uniform(b, vas);
	for (int r = 0; r < REPS; r++)
		for (int chained = 0; chained < 2; chained++) {
			double t = now_ns();

			sink += run_walks(b, vas, chained, zero_src);
			ns[chained][r] = (now_ns() - t) / LOOKUPS;
		}
	report("pt_walk throughput, dense space, uniform", ns[0], "ns/lookup");
	report("pt_walk latency , dense space, uniform", ns[1], "ns/lookup");
	pt_unmap_range(&b->s, 0, PT_VA_LIMIT, NULL, NULL);
	free(vas);
	return 0;
}

int main(void)
{
	static struct bench b;
	const char *env = getenv("SEED");
	struct pt_mem m;
	int err;

	b.rng = env && *env ? strtoull(env, NULL, 0) : 42;
	printf("bench_pagetable: seed=%" PRIu64 ", %d chunks of %d pages at "
	       "random in 1 TiB, %d lookups/rep\n",
	       b.rng, NR_CHUNKS, CHUNK_PAGES, LOOKUPS);
	if (fstack_init(&b.fs, NR_DATA + TABLE_HEADROOM, false) != 0)
		return 1;
	m = fstack_pt_mem(&b.fs);
	err = bench_setup(&b) || pt_init(&b.s, &m) ||
	      bench_build_visit_unmap(&b) || bench_walks(&b) || bench_dense(&b);
	if (!err)
		pt_destroy(&b.s);
	fstack_fini(&b.fs);
	if (err)
		fprintf(stderr, "bench_pagetable: setup or build failed\n");
	return err ? 1 : 0;
}
