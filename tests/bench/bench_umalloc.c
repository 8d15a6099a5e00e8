/*
 * tests/bench/bench_umalloc.c - throughput of umalloc's policies on
 * 10^6-operation generated traces, next to the host's malloc/free on the
 * same traces in the same run.
 *
 * Each figure is the median of RUNS runs (one run when a run takes more
 * than SLOW_RUN_S: worst fit's linear scans).  A run, in one task (native
 * mode: the heap's metadata in emulated memory, every tag and link a
 * real load or store through the task's window), first replays the
 * first tenth of the trace and frees what is live, then times the whole
 * trace, so the heap is resident: no first-touch faults, trimming off
 * (M_TRIM_THRESHOLD = infinity) so that no page is given back.  The host
 * reference replays the same trace the same way with malloc/realloc/free.
 *
 * Traces (seeded, user/tracegen.c):
 *   small   uniform 16..512 bytes, 4 000 live: the segregated policy's
 *           O(1) small path against glibc's tcache/fastbins
 *   mixed   power-law 16 B..64 KiB, 1 000 live: searches matter
 *
 * Then the study table of docs/allocators.md: five generated shapes
 * through all eight allocators of user/allocstudy (astudy_run).
 *
 * The claim checked by eye (docs/allocators.md has the figures): the
 * segregated policy on "small" is within a small factor of the host's
 * malloc despite keeping its metadata in emulated memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/benchutil.h"
#include "tests/lib/vmtest.h"
#include "user/allocstudy.h"
#include "user/umalloc.h"

#define NOPS	   1000000
#define RUNS	   5
#define SEED	   42
#define MEM_BYTES  (512ULL << 20)
#define SMALL_LIVE 4000
#define WARM_PART  10  /* warm up on the first tenth of the trace */
#define SLOW_RUN_S 2.0 /* a run this long is not repeated */
#define MIXED_LIVE 1000
#define MIXED_MAX  (64 << 10)
#define STUDY_OPS  200000
#define NS_PER_S   1e9
#define MOPS	   1e6

struct brun {
	const struct astudy_trace *tr;
	enum umalloc_policy pol;
	uint64_t *addr;
	double seconds;
	int err;
};

static void replay(struct umalloc_heap *h, const struct astudy_trace *tr,
		   size_t nops, uint64_t *addr)
{
	for (size_t i = 0; i < nops; i++) {
		const struct astudy_op *o = &tr->ops[i];

		if (o->kind == 'a')
			addr[o->id] = umalloc(h, o->nbytes);
		else if (o->kind == 'r')
			addr[o->id] = urealloc(h, addr[o->id], o->nbytes);
		else
			ufree(h, addr[o->id]);
		if (o->kind == 'f')
			addr[o->id] = 0;
	}
}

static int bench_task(struct vm_task *t, void *arg)
{
	struct brun *b = arg;
	struct umalloc_heap *h;
	uint64_t t0;

	b->err = umalloc_heap_create(t, b->pol, &h);
	if (b->err)
		return 1;
	umalloc_opt(h, UMALLOC_TRIM_THRESHOLD, UINT64_MAX);
	replay(h, b->tr, b->tr->nops / WARM_PART, b->addr); /* fault it in */
	for (uint32_t id = 0; id < b->tr->nids; id++) {
		ufree(h, b->addr[id]);
		b->addr[id] = 0;
	}
	t0 = bench_now_ns();
	replay(h, b->tr, b->tr->nops, b->addr);
	b->seconds = (double)(bench_now_ns() - t0) / NS_PER_S;
	b->err = umalloc_check(h);
	umalloc_heap_destroy(h);
	return 0;
}

/* One run of policy pol: ops/s of the resident pass, or 0. */
static double run_policy(const struct astudy_trace *tr, enum umalloc_policy pol)
{
	struct brun b = { tr, pol, calloc(tr->nids, sizeof(uint64_t)), 0, 0 };
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, MEM_BYTES);
	struct vm_exit ex;
	int pid = vm_spawn(vm, "bench", 0, bench_task, &b);

	if (pid < 0 || vm_wait(vm, pid, &ex) != pid ||
	    ex.reason != VM_EXIT_NORMAL || b.err) {
		fprintf(stderr, "bench_umalloc: %s failed (%d)\n",
			umalloc_policy_name(pol), b.err);
		exit(1);
	}
	vmtest_destroy(vm);
	free(b.addr);
	return (double)tr->nops / b.seconds;
}

static void host_replay(const struct astudy_trace *tr, size_t nops, void **p)
{
	for (size_t i = 0; i < nops; i++) {
		const struct astudy_op *o = &tr->ops[i];

		if (o->kind == 'a')
			p[o->id] = malloc(o->nbytes);
		else if (o->kind == 'r')
			p[o->id] = realloc(p[o->id], o->nbytes);
		else
			free(p[o->id]);
		if (o->kind == 'f')
			p[o->id] = NULL;
	}
}

static double run_host(const struct astudy_trace *tr)
{
	void **p = calloc(tr->nids, sizeof(void *));
	uint64_t t0;
	double s;

	host_replay(tr, tr->nops / WARM_PART, p);
	for (uint32_t id = 0; id < tr->nids; id++) {
		free(p[id]);
		p[id] = NULL;
	}
	t0 = bench_now_ns();
	host_replay(tr, tr->nops, p);
	s = (double)(bench_now_ns() - t0) / NS_PER_S;
	free(p);
	return (double)tr->nops / s;
}

static void bench_trace(const char *name, const struct astudy_trace *tr)
{
	double v[RUNS], host, med;
	char what[96], note[64];

	printf("== trace %s: %zu operations, %u allocations\n", name, tr->nops,
	       tr->nids);
	for (int r = 0; r < RUNS; r++)
		v[r] = run_host(tr) / MOPS;
	host = bench_report("  host malloc/free (glibc)", v, RUNS, "Mops/s",
			    NULL);
	for (int pol = 0; pol < UMALLOC_NPOLICIES; pol++) {
		size_t n = 0;

		do /* slow policies: one run is enough to see it */
			v[n] = run_policy(tr, (enum umalloc_policy)pol) / MOPS;
		while (++n < RUNS && NOPS / (v[n - 1] * MOPS) < SLOW_RUN_S);
		med = bench_median(v, n);
		snprintf(what, sizeof(what), "  umalloc %s",
			 umalloc_policy_name((enum umalloc_policy)pol));
		snprintf(note, sizeof(note), "host/umalloc = %.1fx",
			 host / med);
		bench_report(what, v, n, "Mops/s", note);
	}
}

static void make_trace(struct astudy_trace *tr, enum astudy_shape shape,
		       uint64_t max, uint32_t live)
{
	struct astudy_gen g = { shape, SEED, NOPS, 0, max, live, 0 };

	if (astudy_trace_generate(&g, tr)) {
		fprintf(stderr, "bench_umalloc: trace generation failed\n");
		exit(1);
	}
}

static uint64_t size_min(const struct astudy_trace *tr)
{
	uint64_t m = UINT64_MAX;

	for (size_t i = 0; i < tr->nops; i++)
		if (tr->ops[i].kind == 'a' && tr->ops[i].nbytes < m)
			m = tr->ops[i].nbytes;
	return m;
}

static uint64_t size_max(const struct astudy_trace *tr)
{
	uint64_t m = 0;

	for (size_t i = 0; i < tr->nops; i++)
		if (tr->ops[i].kind != 'f' && tr->ops[i].nbytes > m)
			m = tr->ops[i].nbytes;
	return m;
}

/*
 * The study table of docs/allocators.md: each shape through every
 * allocator with astudy_run (first pass, faults included; glibc's knobs).
 */
static void study_tables(void)
{
	static const struct astudy_gen shapes[] = {
		{ ASTUDY_UNIFORM, SEED, STUDY_OPS, 16, 4096, 1000, 5 },
		{ ASTUDY_UNIFORM, SEED, STUDY_OPS, 4096, 65536, 500, 0 },
		{ ASTUDY_POWERLAW, SEED, STUDY_OPS, 0, 0, 1000, 0 },
		{ ASTUDY_PHASES, SEED, STUDY_OPS, 0, 0, 1000, 0 },
		{ ASTUDY_LIFETIMES, SEED, STUDY_OPS, 0, 0, 2000, 0 },
	};
	struct astudy_result r[ASTUDY_NALLOCS];
	static char buf[1 << 14];
	struct astudy_config cfg;
	struct astudy_trace tr;

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		if (astudy_trace_generate(&shapes[i], &tr))
			exit(1);
		for (int a = 0; a < ASTUDY_NALLOCS; a++) {
			astudy_config_init(&cfg);
			cfg.alloc = (enum astudy_alloc)a;
			if (astudy_run(&cfg, &tr, &r[a]))
				exit(1);
		}
		astudy_format(r, ASTUDY_NALLOCS, ASTUDY_TABLE, buf,
			      sizeof(buf));
		printf("== study: %s, %zu ops, %u live, sizes %llu..%llu B\n%s",
		       astudy_shape_name(shapes[i].shape), tr.nops,
		       shapes[i].max_live, (unsigned long long)size_min(&tr),
		       (unsigned long long)size_max(&tr), buf);
		astudy_trace_free(&tr);
	}
}

int main(void)
{
	struct astudy_trace tr;

	printf("bench_umalloc: median of %d runs, resident heap (warmed up "
	       "on a tenth of the trace)\n",
	       RUNS);
	make_trace(&tr, ASTUDY_UNIFORM, 512, SMALL_LIVE);
	bench_trace("small (uniform 16..512 B)", &tr);
	astudy_trace_free(&tr);
	make_trace(&tr, ASTUDY_POWERLAW, MIXED_MAX, MIXED_LIVE);
	bench_trace("mixed (power-law 16 B..64 KiB)", &tr);
	astudy_trace_free(&tr);
	study_tables();
	return 0;
}
