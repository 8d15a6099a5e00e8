/*
 * tests/bench/bench_policies.c - what a replacement policy sees in native
 * mode against exact replacement, on the same reference strings.
 *
 * Native mode: one task stores into its pages in the string's order
 * (real stores through the window: a miss is a SIGSEGV and a swap-in),
 * RAM smaller than the pages, swap, direct reclaim (no kswapd), no swap
 * readahead (page-cluster 0), so that a miss is one major fault.  Its
 * misses: first touches + major faults.  The policy learns about use only
 * through accessed bits, and reclaim evicts in batches of 32.
 *
 * Exact replacement: the same string through vm_access_batch with as
 * many frames as the native run of fifo ended up holding (its anonymous
 * pages at the end), every access seen by the policy, one eviction per
 * miss.  opt there is the lower bound.
 *
 * Strings (BENCH_REFS references, default 10^5, over BENCH_NPAGES pages,
 * default 8192, RAM BENCH_MEM_MB, default 16 MiB):
 *   zipf      Zipf(0.9) over the pages, ranks scattered
 *   loop+hot  a cyclic loop over 3/5 of the pages - more than RAM holds:
 *             LRU's worst case - with a quarter of the references to a
 *             hot set of 1/32 of the pages beside it
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/benchutil.h"
#include "tests/lib/vmtest.h"

#define PAGE 4096ULL
#define MiB  ((uint64_t)1 << 20)

struct run {
	const uint64_t *seq;
	size_t n;
	uint64_t npages;
	struct vm_stat st;
	uint64_t misses, ns;
};

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s ? strtoull(s, NULL, 0) : dflt;
}

static void make_zipf(uint64_t *seq, size_t n, uint64_t npages, double a)
{
	double *cdf = malloc(npages * sizeof(*cdf)), sum = 0;
	uint64_t *perm = malloc(npages * sizeof(*perm)), s = 7;

	if (!cdf || !perm)
		abort();
	for (uint64_t i = 0; i < npages; i++) {
		cdf[i] = (sum += pow((double)(i + 1), -a));
		perm[i] = i;
	}
	for (uint64_t i = npages; i > 1; i--) {
		uint64_t j = vmtest_rand(&s) % i, t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		double u = (double)(vmtest_rand(&s) >> 11) /
			   9007199254740992.0 * sum;
		uint64_t lo = 0, hi = npages - 1;

		while (lo < hi) {
			uint64_t mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		seq[i] = perm[lo];
	}
	free(cdf);
	free(perm);
}

/* A loop over 3/5 of the pages (more than RAM), a quarter of the
   references to a hot set of 1/32 of the pages beside it. */
static void make_loop_hot(uint64_t *seq, size_t n, uint64_t npages)
{
	uint64_t s = 11, loop = npages * 3 / 5, hot = npages / 32, scan = 0;

	for (size_t i = 0; i < n; i++)
		seq[i] = vmtest_rand(&s) % 4 ? scan++ % loop :
					       loop + vmtest_rand(&s) % hot;
}

static int native_task(struct vm_task *t, void *arg)
{
	struct run *r = arg;
	uint64_t va = vm_mmap(t, 0, r->npages * PAGE,
			      VM_PROT_READ | VM_PROT_WRITE,
			      VM_MAP_PRIVATE | VM_MAP_ANON);
	volatile uint64_t *base;

	if (vm_mmap_failed(va))
		return 1;
	base = vm_ptr(t, va);
	for (size_t i = 0; i < r->n; i++)
		base[r->seq[i] * (PAGE / sizeof(*base))] += 1;
	vm_stat(vmtest_task_vm(t), &r->st);
	return 0;
}

static int exact_task(struct vm_task *t, void *arg)
{
	struct run *r = arg;
	uint64_t va = vm_mmap(t, 0, r->npages * PAGE,
			      VM_PROT_READ | VM_PROT_WRITE,
			      VM_MAP_PRIVATE | VM_MAP_ANON);
	struct vm_ref *ref = malloc(r->n * sizeof(*ref));
	uint64_t *last = malloc(r->npages * sizeof(*last));

	if (vm_mmap_failed(va) || !ref || !last)
		return 1;
	for (uint64_t p = 0; p < r->npages; p++)
		last[p] = UINT64_MAX;
	for (size_t i = r->n; i-- > 0;) { /* next uses, for opt */
		ref[i] = (struct vm_ref){ va + r->seq[i] * PAGE,
					  last[r->seq[i]], 1 };
		last[r->seq[i]] = i;
	}
	if (vm_access_batch(t, ref, r->n, NULL))
		return 2;
	vm_stat(vmtest_task_vm(t), &r->st);
	free(ref);
	free(last);
	return 0;
}

/* One run; false when the policy is refused (opt in native mode). */
static bool run_one(const char *policy, bool native, uint64_t mem,
		    uint64_t frames, struct run *r)
{
	struct vm_config cfg;
	struct vm_exit ex;
	char err[256];
	struct vm *vm;
	uint64_t t0;
	int pid;

	vm_config_init(&cfg);
	cfg.policy = policy;
	if (native) {
		cfg.mode = VM_MODE_NATIVE;
		cfg.mem_bytes = mem;
		cfg.swap_bytes = 4 * r->npages * PAGE;
		cfg.kswapd = false;
		cfg.page_cluster = 0;
	} else {
		cfg.mode = VM_MODE_TRACE;
		cfg.exact_frames = frames;
	}
	vm = vm_create(&cfg, err, sizeof(err));
	if (!vm)
		return false;
	t0 = bench_now_ns();
	pid = vm_spawn(vm, policy, 0, native ? native_task : exact_task, r);
	if (pid < 0 || vm_wait(vm, pid, &ex) != pid ||
	    ex.reason != VM_EXIT_NORMAL || ex.code) {
		fprintf(stderr, "bench_policies: %s run failed\n", policy);
		exit(1);
	}
	r->ns = bench_now_ns() - t0;
	vm_destroy(vm);
	return true;
}

static uint64_t distinct(const uint64_t *seq, size_t n, uint64_t npages)
{
	uint8_t *seen = calloc(npages, 1);
	uint64_t d = 0;

	if (!seen)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!seen[seq[i]]++)
			d++;
	free(seen);
	return d;
}

static void workload(const char *name, const uint64_t *seq, size_t n,
		     uint64_t npages, uint64_t mem)
{
	static const char *const pol[] = { "fifo", "lru",	"clock",
					   "lfu",  "lfu-aging", "arc",
					   "2q",   "s3fifo",	"linux",
					   "opt" };
	uint64_t d = distinct(seq, n, npages), frames = 0;

	printf("\n%s: %zu references over %" PRIu64 " pages (%" PRIu64
	       " touched), RAM %" PRIu64 " MiB\n",
	       name, n, npages, d, (uint64_t)(mem / MiB));
	printf("%-10s %14s %9s %8s %8s | %14s %9s\n", "policy", "native misses",
	       "ratio", "scanned", "seconds", "exact misses", "ratio");
	for (size_t p = 0; p < sizeof(pol) / sizeof(pol[0]); p++) {
		struct run nat = { seq, n, npages, { 0 }, 0, 0 };
		struct run ex = { seq, n, npages, { 0 }, 0, 0 };
		bool have_native = run_one(pol[p], true, mem, 0, &nat);

		if (have_native && !frames)
			frames = nat.st.nr_anon_pages; /* fifo's resident set */
		run_one(pol[p], false, 0, frames, &ex);
		if (have_native)
			printf("%-10s %14" PRIu64 " %9.4f %8" PRIu64
			       " %8.2f | ",
			       pol[p], d + nat.st.pgmajfault,
			       (double)(d + nat.st.pgmajfault) / (double)n,
			       nat.st.pgscan_direct + nat.st.pgscan_kswapd,
			       (double)nat.ns / 1e9);
		else
			printf("%-10s %14s %9s %8s %8s | ", pol[p], "-", "-",
			       "-", "-");
		printf("%14" PRIu64 " %9.4f\n", ex.st.pgfault,
		       (double)ex.st.pgfault / (double)n);
	}
	printf("(exact replacement with %" PRIu64 " frames: what fifo's "
	       "native run held at the end)\n",
	       frames);
}

int main(void)
{
	size_t n = env_u64("BENCH_REFS", 100000);
	uint64_t npages = env_u64("BENCH_NPAGES", 8192);
	uint64_t mem = env_u64("BENCH_MEM_MB", 16) * MiB;
	uint64_t *seq = malloc(n * sizeof(*seq));

	if (!seq)
		abort();
	make_zipf(seq, n, npages, 0.9);
	workload("zipf", seq, n, npages, mem);
	make_loop_hot(seq, n, npages);
	workload("loop+hot", seq, n, npages, mem);
	free(seq);
	return 0;
}
