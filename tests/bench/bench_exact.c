/*
 * tests/bench/bench_exact.c - exact replacement through the real access
 * path (vm_access_next: software TLB, page walk, fault, policy), the
 * trace already in memory, so that the figure is the kernel's alone
 * (bench_sim adds trace reading).
 *
 * Trace: BENCH_REQS requests (default 10^7), Zipf(1.0) over BENCH_PAGES
 * distinct pages (default 10^6), ranks scattered over the pages by a
 * seeded permutation; frames = 1 % and 10 % of the pages.  Per policy:
 * requests/s (median of REPS runs), misses; the cost of a hit measured
 * by a second pass with every page resident (frames = pages), and the
 * cost of a miss derived as (time - hits x hit cost) / misses.
 * Targets (issue): >= 15 M req/s for fifo, lru, clock; >= 6 M/s for lfu
 * and opt, on one core: the process stays on the CPU it starts on
 * (bench_pin_cpu; BENCH_PIN=0 lets it move).  Memory per resident page: struct page, rmap item, PTE.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tests/lib/benchutil.h"
#include "tests/lib/replay.h"
#include "tests/lib/vmtest.h"

#define PAGE	 4096ULL
#define MAX_REPS 9
static int REPS = 3; /* BENCH_REPS */

struct trace {
	uint64_t *page, *next;
	size_t n, npages;
};

struct job {
	const struct trace *tr;
	bool batch; /* vm_access_batch, else one vm_access_next per ref */
	unsigned passes;
	uint64_t ns[2]; /* per pass */
	uint64_t misses;
};

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s ? strtoull(s, NULL, 0) : dflt;
}

/* Zipf(1.0) by inversion of the CDF (binary search). */
static void make_trace(struct trace *tr, size_t n, size_t npages)
{
	double *cdf = malloc(npages * sizeof(*cdf)), sum = 0;
	uint64_t *perm = malloc(npages * sizeof(*perm)), s = 42;

	tr->page = malloc(n * sizeof(*tr->page));
	tr->next = malloc(n * sizeof(*tr->next));
	if (!cdf || !perm || !tr->page || !tr->next)
		abort();
	for (size_t i = 0; i < npages; i++)
		cdf[i] = (sum += 1.0 / (double)(i + 1));
	for (size_t i = 0; i < npages; i++) {
		size_t j = vmtest_rand(&s) % (i + 1);

		perm[i] = perm[j];
		perm[j] = i;
	}
	for (size_t i = 0; i < n; i++) {
		double u = (double)(vmtest_rand(&s) >> 11) /
			   9007199254740992.0 * sum;
		size_t lo = 0, hi = npages - 1;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		tr->page[i] = perm[lo];
	}
	tr->n = n;
	tr->npages = npages;
	replay_next_use(tr->page, n, tr->next);
	free(cdf);
	free(perm);
}

static int job_task(struct vm_task *t, void *arg)
{
	struct job *j = arg;
	const struct trace *tr = j->tr;
	struct vm_stat a, b;
	uint64_t base = vm_mmap(t, 0, tr->npages * PAGE,
				VM_PROT_READ | VM_PROT_WRITE,
				VM_MAP_PRIVATE | VM_MAP_ANON);

	if (vm_mmap_failed(base))
		return 1;
	struct vm_ref *ref = j->batch ? malloc(tr->n * sizeof(*ref)) : NULL;

	if (j->batch && !ref)
		return 3;
	for (size_t i = 0; j->batch && i < tr->n; i++)
		ref[i] = (struct vm_ref){ base + tr->page[i] * PAGE,
					  tr->next[i], 0 };
	vm_stat(vmtest_task_vm(t), &a);
	for (unsigned p = 0; p < j->passes; p++) {
		uint64_t t0 = bench_now_ns();

		if (j->batch && vm_access_batch(t, ref, tr->n, NULL))
			return 2;
		for (size_t i = 0; !j->batch && i < tr->n; i++)
			if (vm_access_next(t, base + tr->page[i] * PAGE, 0,
					   tr->next[i]))
				return 2;
		j->ns[p] = bench_now_ns() - t0;
	}
	free(ref);
	vm_stat(vmtest_task_vm(t), &b);
	j->misses = b.pgfault - a.pgfault;
	return 0;
}

/*
 * The yardstick: a minimal FIFO cache simulator of the kind the
 * established ones are (open-addressing hash table of resident ids with
 * backward-shift deletion, a ring in arrival order), on the same trace in
 * the same run, so that the machine's speed is factored out.
 */
struct yard {
	uint64_t *key; /* id + 1; 0: empty */
	size_t mask;
};

static size_t yard_find(const struct yard *y, uint64_t id)
{
	size_t i = (id * 0x9E3779B97F4A7C15ULL) >> 20 & y->mask;

	while (y->key[i] && y->key[i] != id + 1)
		i = (i + 1) & y->mask;
	return i;
}

static void yard_del(struct yard *y, size_t i)
{
	size_t j = i;

	for (;;) {
		j = (j + 1) & y->mask;
		if (!y->key[j])
			break;
		size_t h = ((y->key[j] - 1) * 0x9E3779B97F4A7C15ULL) >> 20 &
			   y->mask;
		if ((j > i && (h <= i || h > j)) ||
		    (j < i && h <= i && h > j)) {
			y->key[i] = y->key[j];
			i = j;
		}
	}
	y->key[i] = 0;
}

static uint64_t yard_fifo(const struct trace *tr, uint64_t frames, uint64_t *ns)
{
	struct yard y;
	size_t cap = 1;
	uint64_t *ring = malloc(frames * sizeof(*ring)), misses = 0;
	size_t head = 0, used = 0;

	while (cap < 2 * frames)
		cap <<= 1;
	y.key = calloc(cap, sizeof(*y.key));
	y.mask = cap - 1;
	if (!ring || !y.key)
		abort();
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < tr->n; i++) {
		uint64_t id = tr->page[i];
		size_t k = yard_find(&y, id);

		if (y.key[k])
			continue;
		misses++;
		if (used == frames) {
			yard_del(&y, yard_find(&y, ring[head]));
			k = yard_find(&y, id);
		} else {
			used++;
		}
		y.key[k] = id + 1;
		ring[head] = id;
		head = (head + 1) % frames;
	}
	*ns = bench_now_ns() - t0;
	free(ring);
	free(y.key);
	return misses;
}

/* One run; 0 or -1 (policy unknown: skipped). */
static int run(const char *policy, uint64_t frames, struct job *j)
{
	struct vm_config cfg;
	struct vm_exit ex;
	char err[256];
	struct vm *vm;
	int pid;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.policy = policy;
	cfg.exact_frames = frames;
	cfg.tlb_entries = (unsigned)env_u64("BENCH_TLB", 0); /* 0: default */
	vm = vm_create(&cfg, err, sizeof(err));
	if (!vm)
		return -1;
	pid = vm_spawn(vm, policy, 0, job_task, j);
	if (pid < 0 || vm_wait(vm, pid, &ex) != pid ||
	    ex.reason != VM_EXIT_NORMAL || ex.code) {
		fprintf(stderr, "bench_exact: %s run failed\n", policy);
		exit(1);
	}
	vm_destroy(vm);
	return 0;
}

/* Host memory in use (resident set, KiB), from /proc/self/statm. */
static uint64_t rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (PAGE / 1024);
}

struct scale_job {
	uint64_t npages, frames;
	uint64_t rss_full_kib; /* host RSS with every frame in use */
	uint64_t ns;
};

static int scale_task(struct vm_task *t, void *arg)
{
	struct scale_job *j = arg;
	uint64_t base = vm_mmap(t, 0, j->npages * PAGE,
				VM_PROT_READ | VM_PROT_WRITE,
				VM_MAP_PRIVATE | VM_MAP_ANON);
	enum { CHUNK = 4096 };
	struct vm_ref ref[CHUNK];
	uint64_t t0 = bench_now_ns();

	if (vm_mmap_failed(base))
		return 1;
	for (uint64_t p = 0; p < j->npages; p += CHUNK) {
		size_t n =
			(size_t)(j->npages - p < CHUNK ? j->npages - p : CHUNK);

		for (size_t i = 0; i < n; i++)
			ref[i] = (struct vm_ref){ base + (p + i) * PAGE,
						  UINT64_MAX, 1 };
		if (vm_access_batch(t, ref, n, NULL))
			return 2;
		if (p + n == j->frames)
			j->rss_full_kib = rss_kib();
	}
	j->ns = bench_now_ns() - t0;
	return 0;
}

/*
 * Scale (BENCH_SCALE_FRAMES, e.g. 16777216 = 64 GiB of frames): touch
 * 1.25 x that many distinct pages once, so that every frame fills and a
 * quarter are then evicted; host memory per resident page from the RSS
 * with every frame in use minus the RSS before the machine existed.
 */
static void scale(uint64_t frames)
{
	struct scale_job j = { frames + frames / 4, frames, 0, 0 };
	uint64_t rss0 = rss_kib();
	struct vm_config cfg;
	struct vm_exit ex;
	char err[256];
	struct vm *vm;
	int pid;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.policy = "fifo";
	cfg.exact_frames = frames;
	vm = vm_create(&cfg, err, sizeof(err));
	if (!vm) {
		printf("scale: %s\n", err);
		return;
	}
	pid = vm_spawn(vm, "scale", 0, scale_task, &j);
	if (pid < 0 || vm_wait(vm, pid, &ex) != pid ||
	    ex.reason != VM_EXIT_NORMAL || ex.code) {
		printf("scale: the run failed (reason %d code %d)\n",
		       pid < 0 ? -1 : (int)ex.reason, ex.code);
		vm_destroy(vm);
		return;
	}
	vm_destroy(vm);
	printf("scale: %" PRIu64 " frames (%.1f GiB emulated), %" PRIu64
	       " pages touched in %.1f s: host RSS %.2f GiB with every "
	       "frame in use, %.1f bytes per resident page\n",
	       frames, (double)frames * PAGE / (1ULL << 30), j.npages,
	       (double)j.ns / 1e9, (double)j.rss_full_kib / (1 << 20),
	       (double)(j.rss_full_kib - rss0) * 1024 / (double)frames);
}

int main(void)
{
	static const char *const policies[] = {
		"fifo", "lru", "clock", "lfu",	  "lfu-aging",
		"opt",	"arc", "2q",	"s3fifo", "linux",
	};
	size_t n = env_u64("BENCH_REQS", 10000000);
	size_t npages = env_u64("BENCH_PAGES", 1000000);
	struct trace tr;
	double hit_ns[MAX_REPS];

	if (getenv("BENCH_SCALE_FRAMES")) {
		scale(env_u64("BENCH_SCALE_FRAMES", 0));
		return 0;
	}
	REPS = (int)env_u64("BENCH_REPS", 3);
	if (REPS < 1 || REPS > MAX_REPS)
		REPS = 3;
	bench_pin_cpu("bench_exact");
	make_trace(&tr, n, npages);
	printf("bench_exact: %zu requests, Zipf(1.0) over %zu pages, "
	       "through vm_access_next (median of %d)\n",
	       n, npages, REPS);
	for (int r = 0; r < REPS; r++) { /* the cost of a hit */
		struct job j = { &tr, true, 2, { 0, 0 }, 0 };

		run("fifo", npages, &j);
		hit_ns[r] = (double)j.ns[1] / (double)n;
	}
	double hit = bench_report("hit (all resident, 2nd pass)", hit_ns, REPS,
				  "ns", NULL);
	printf("%-8s %8s %10s %9s %10s %10s %12s\n", "policy", "frames",
	       "misses", "Mreq/s", "ns/req", "ns/miss", "1-by-1 Mreq/s");
	const char *only = getenv("BENCH_POLICIES");

	for (int pc = 1; pc <= 10; pc += 9) {
		uint64_t frames = npages * (uint64_t)pc / 100, m = 0, ns;
		double v[MAX_REPS];

		for (int r = 0; r < REPS; r++) {
			m = yard_fifo(&tr, frames, &ns);
			v[r] = (double)ns;
		}
		double med = bench_median(v, REPS);

		printf("%-8s %8" PRIu64 " %10" PRIu64 " %9.2f %10.1f "
		       "(yardstick: hash table + ring, no MMU)\n",
		       "fifo-ref", frames, m, (double)n / med * 1e3,
		       med / (double)n);
	}

	for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++)
		for (int pc = 1; pc <= 10; pc += 9) {
			uint64_t frames = npages * (uint64_t)pc / 100;
			double v[MAX_REPS];
			struct job j = { &tr, true, 1, { 0, 0 }, 0 };
			struct job one = { &tr, false, 1, { 0, 0 }, 0 };
			double v1[MAX_REPS];
			int r;

			if (only && !strstr(only, policies[p]))
				continue;
			for (r = 0; r < REPS; r++) {
				if (run(policies[p], frames, &j) < 0)
					break;
				v[r] = (double)j.ns[0];
				v1[r] = 0;
				if (getenv("BENCH_BATCH_ONLY"))
					continue;
				run(policies[p], frames, &one);
				v1[r] = (double)one.ns[0];
			}
			if (r < REPS)
				continue;
			double ns = bench_median(v, REPS);
			double miss_ns = (ns - (double)(n - j.misses) * hit) /
					 (double)j.misses;

			printf("%-8s %8" PRIu64 " %10" PRIu64
			       " %9.2f %10.1f %10.1f %12.2f\n",
			       policies[p], frames, j.misses,
			       (double)n / ns * 1e3, ns / (double)n, miss_ns,
			       (double)n / bench_median(v1, REPS) * 1e3);
		}
	free(tr.page);
	free(tr.next);
	return 0;
}
