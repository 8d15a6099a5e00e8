/*
 * tests/bench/bench_reclaim.c - reclaim and swap, end to end, each figure
 * beside its reference measured in the same run (medians of REPS).
 *
 * 1. Swap-out and swap-in through the whole machine (trace mode):
 *    MADV_PAGEOUT of 64 MiB of written pages (isolate, swap cache, unmap,
 *    one pwritev per 32-page batch, free), then reading every page back
 *    through vm_access (fault, swap cache, readahead of 8, map) - pages/s,
 *    each divided by raw pwrite (128 KiB) / pread (32 KiB, the readahead
 *    window) of the same sequential pattern, the same 64 MiB of distinct
 *    touched memory, to a file in the same directory.  Target >= 0.5.
 * 2. A 2x and a 4x overcommit workload (native mode, 4 tasks, sequential
 *    then random passes over their memory), kswapd on vs off: wall time,
 *    pgscan, pgsteal, allocstall, scan efficiency pgsteal / pgscan.
 * 3. The cost of accessed bits under steady pressure (native, a hot/cold
 *    task): the time reclaim spends harvesting accessed bits (age_ns)
 *    plus the traps it causes (tlb_refill x the cost of one refill trap,
 *    measured in the same run), as a share of the run time.  Target 5 %.
 *    Counted over AGE_RUN_MS of steady pressure after AGE_WARM_MS of
 *    warm-up (the memory filling, reclaim starting); at the default
 *    aging budget (5 %), none (0: no walks) and unbounded (100), runs
 *    interleaved.
 *    Beside it the accesses the task made per second: the work done, to
 *    compare aging schemes by (fewer traps that cost more major faults
 *    would show there).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/benchutil.h"
#include "tests/lib/vmtest.h"

#define PAGE	  4096ULL
#define MiB	  (1ULL << 20)
#define RW	  (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	  (VM_MAP_PRIVATE | VM_MAP_ANON)
#define REPS	  5
#define IO_PAGES  16384 /* 64 MiB */
#define OUT_BATCH 32
#define IN_BATCH  8
#define NS_PER_S  1e9
#define PERCENT	  100.0

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

static struct vm *machine(enum vm_mode mode, uint64_t mem, uint64_t swap,
			  bool kswapd)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = mem;
	cfg.swap_bytes = swap;
	cfg.kswapd = kswapd;
	return vmtest_create_cfg(&cfg);
}

/* ---- 1: swap-out / swap-in vs raw pwrite / pread ---------------------- */

static void io_vmemu(double *out_ps, double *in_ps)
{
	struct vm *vm = machine(VM_MODE_TRACE, 128 * MiB, 96 * MiB, false);
	struct parked p;
	uint64_t a, t0, t1;

	if (park_spawn(vm, &p, "io") < 0)
		exit(1);
	a = vm_mmap(p.t, 0, IO_PAGES * PAGE, RW, ANON);
	for (uint64_t i = 0; i < IO_PAGES; i++)
		vm_write(p.t, a + i * PAGE, &i, sizeof(i));
	t0 = bench_now_ns();
	if (vm_madvise(p.t, a, IO_PAGES * PAGE, VM_MADV_PAGEOUT))
		exit(1);
	t1 = bench_now_ns();
	*out_ps = IO_PAGES * NS_PER_S / (double)(t1 - t0);
	for (uint64_t i = 0; i < IO_PAGES; i++)
		vm_access(p.t, a + i * PAGE, 0);
	*in_ps = IO_PAGES * NS_PER_S / (double)(bench_now_ns() - t1);
	if (stat_of(vm).pswpout < IO_PAGES || stat_of(vm).pswpin < IO_PAGES)
		exit(1);
	park_release(&p, NULL);
	vmtest_destroy(vm);
}

/*
 * The raw reference moves the same 64 MiB the machine does, from and into
 * memory that is already touched, as the frames are: pwrite of 128 KiB
 * runs (a swap cluster run) out of one 64 MiB buffer, pread of 32 KiB (the
 * readahead window) back into it.  (Until 2026-11-29 it rewrote one hot
 * 128 KiB buffer, which the CPU cache served: not the same pattern.)
 */
static void io_raw(double *out_ps, double *in_ps)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	uint8_t *buf = malloc(IO_PAGES * PAGE);
	char path[256];
	uint64_t t0, t1;
	int fd;

	snprintf(path, sizeof(path), "%s/bench_reclaim.XXXXXX", dir);
	fd = mkstemp(path);
	if (!buf || fd < 0 || unlink(path) ||
	    posix_fallocate(fd, 0, (off_t)(IO_PAGES * PAGE)))
		exit(1);
	for (uint64_t i = 0; i < IO_PAGES; i++)
		memcpy(buf + i * PAGE, &i, sizeof(i)); /* touched, distinct */
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < IO_PAGES; i += OUT_BATCH)
		if (pwrite(fd, buf + i * PAGE, OUT_BATCH * PAGE,
			   (off_t)(i * PAGE)) < 0)
			exit(1);
	t1 = bench_now_ns();
	*out_ps = IO_PAGES * NS_PER_S / (double)(t1 - t0);
	for (uint64_t i = 0; i < IO_PAGES; i += IN_BATCH)
		if (pread(fd, buf + i * PAGE, IN_BATCH * PAGE,
			  (off_t)(i * PAGE)) < 0)
			exit(1);
	*in_ps = IO_PAGES * NS_PER_S / (double)(bench_now_ns() - t1);
	close(fd);
	free(buf);
}

static void bench_io(void)
{
	double vo[REPS], vi[REPS], ro[REPS], ri[REPS], qo[REPS], qi[REPS];

	printf("\n== swap-out / swap-in through the machine vs raw I/O\n");
	for (int r = 0; r < REPS; r++) {
		io_vmemu(&vo[r], &vi[r]);
		io_raw(&ro[r], &ri[r]);
		qo[r] = vo[r] / ro[r];
		qi[r] = vi[r] / ri[r];
	}
	bench_report("swap-out (MADV_PAGEOUT, 64 MiB)", vo, REPS, "pages/s",
		     NULL);
	bench_report("raw pwrite 128 KiB of 64 MiB, same dir", ro, REPS,
		     "pages/s", NULL);
	bench_report("swap-out / raw", qo, REPS, "x", "target >= 0.5");
	bench_report("swap-in (faults, readahead 8)", vi, REPS, "pages/s",
		     NULL);
	bench_report("raw pread 32 KiB into 64 MiB", ri, REPS, "pages/s", NULL);
	bench_report("swap-in / raw", qi, REPS, "x", "target >= 0.5");
}

/* ---- 2: overcommit, kswapd on vs off ----------------------------------- */

struct oc {
	uint64_t npages;
	uint64_t seed;
};

static int oc_task(struct vm_task *t, void *arg)
{
	struct oc *o = arg;
	uint64_t a = vm_mmap(t, 0, o->npages * PAGE, RW, ANON);
	volatile uint64_t *p = vm_ptr(t, a);
	uint64_t s = o->seed ^ (uint64_t)vm_getpid(t);

	for (uint64_t i = 0; i < o->npages; i++) /* a sequential pass */
		p[i * (PAGE / 8)] = i;
	for (uint64_t k = 0; k < o->npages; k++) { /* a random pass */
		uint64_t i = vmtest_rand(&s) % o->npages;

		if (p[i * (PAGE / 8)] != i)
			return 1;
	}
	return 0;
}

static void overcommit(unsigned factor, bool kswapd, double *wall,
		       struct vm_stat *st)
{
	const uint64_t mem = 32 * MiB;
	struct vm *vm = machine(VM_MODE_NATIVE, mem, 5 * factor * mem, kswapd);
	struct oc o = { factor * mem / PAGE / 4, 7 };
	struct vm_exit ex;
	uint64_t t0 = bench_now_ns();
	int pid[4];

	for (int i = 0; i < 4; i++)
		pid[i] = vm_spawn(vm, "oc", 0, oc_task, &o);
	for (int i = 0; i < 4; i++)
		if (vm_wait(vm, pid[i], &ex) != pid[i] ||
		    ex.reason != VM_EXIT_NORMAL || ex.code)
			exit(1);
	*wall = (double)(bench_now_ns() - t0) / NS_PER_S;
	*st = stat_of(vm);
	vmtest_destroy(vm);
}

static void bench_overcommit(void)
{
	printf("\n== overcommit (native, 32 MiB RAM, 4 tasks), kswapd on/off\n");
	printf("%-22s %8s %10s %10s %9s %10s %8s\n", "", "wall s", "pgscan",
	       "pgsteal", "allocstl", "kswapd %", "eff");
	for (unsigned factor = 2; factor <= 4; factor += 2)
		for (int on = 1; on >= 0; on--) {
			double w[REPS], eff;
			struct vm_stat st;
			char what[64];
			uint64_t scan, steal;

			for (int r = 0; r < REPS; r++)
				overcommit(factor, on, &w[r], &st);
			scan = st.pgscan_kswapd + st.pgscan_direct;
			steal = st.pgsteal_kswapd + st.pgsteal_direct;
			eff = scan ? (double)steal / (double)scan : 0;
			snprintf(what, sizeof(what), "%ux, kswapd %s", factor,
				 on ? "on" : "off");
			printf("%-22s %8.3f %10" PRIu64 " %10" PRIu64
			       " %9" PRIu64 " %9.1f%% %8.2f\n",
			       what, bench_median(w, REPS), scan, steal,
			       st.allocstall,
			       steal ? PERCENT * (double)st.pgsteal_kswapd /
					       (double)steal :
				       0,
			       eff);
		}
	printf("(counts from the last repetition; wall time the median)\n");
}

/* ---- 3: the cost of accessed bits -------------------------------------- */

#define AGE_WARM_MS 1000 /* filling memory and the first walk: not counted */
#define AGE_RUN_MS  6000 /* the steady state measured */
#define REFILL_N    4096

/* ns of one refill trap: revoke a run, touch each page (native). */
static double refill_cost(void)
{
	struct vm *vm = machine(VM_MODE_NATIVE, 64 * MiB, 0, false);
	struct parked p;
	double v[REPS];
	uint64_t a;

	if (park_spawn(vm, &p, "refill") < 0)
		exit(1);
	a = vm_mmap(p.t, 0, REFILL_N * PAGE, RW, ANON);
	for (uint64_t i = 0; i < REFILL_N; i++)
		vmtest_cpu_store(p.t, a + i * PAGE, 1);
	for (int r = 0; r < REPS; r++) {
		uint8_t b;
		uint64_t t0;

		vmtest_clear_young(p.t, a, REFILL_N);
		t0 = bench_now_ns();
		for (uint64_t i = 0; i < REFILL_N; i++)
			vmtest_cpu_load(p.t, a + i * PAGE, &b);
		v[r] = (double)(bench_now_ns() - t0) / REFILL_N;
	}
	park_release(&p, NULL);
	vmtest_destroy(vm);
	return bench_median(v, REPS);
}

struct hotcold {
	uint64_t npages, hot;
	unsigned hot_percent;
	atomic_int stop;
	atomic_uint_fast64_t done; /* accesses made: the work */
};

static int hotcold_task(struct vm_task *t, void *arg)
{
	struct hotcold *h = arg;
	uint64_t a = vm_mmap(t, 0, h->npages * PAGE, RW, ANON), s = 99;
	volatile uint64_t *p = vm_ptr(t, a);

	while (!atomic_load(&h->stop)) {
		for (int k = 0; k < 1024; k++) {
			uint64_t i = vmtest_rand(&s) % 100 < h->hot_percent ?
					     vmtest_rand(&s) % h->hot :
					     vmtest_rand(&s) % h->npages;

			p[i * (PAGE / 8)]++;
		}
		atomic_fetch_add(&h->done, 1024);
	}
	return 0;
}

/* The budgets compared: the default, none at all, and unbounded. */
static const int budgets[] = { 5, 0, 100 };
#define NR_BUDGETS (sizeof(budgets) / sizeof(budgets[0]))

struct aging_run {
	double share, age_us, traps, faults, writes, work;
};

/* One run: AGE_WARM_MS of warm-up, then AGE_RUN_MS counted. */
static struct aging_run aging_once(unsigned hot_percent, int budget,
				   double trap_ns)
{
	struct vm_config cfg;
	struct vm *vm;
	struct hotcold h = { 48 * MiB / PAGE, 16 * MiB / PAGE, hot_percent, 0,
			     0 };
	struct vm_stat s0, st;
	struct aging_run o;
	uint64_t t0, done0;
	double wall;
	int pid;

	vm_config_init(&cfg);
	cfg.mem_bytes = 32 * MiB;
	cfg.swap_bytes = 64 * MiB;
	cfg.aging_budget_pct = budget;
	vm = vmtest_create_cfg(&cfg);
	pid = vm_spawn(vm, "hotcold", 0, hotcold_task, &h);
	usleep(AGE_WARM_MS * 1000);
	s0 = stat_of(vm);
	done0 = atomic_load(&h.done);
	t0 = bench_now_ns();
	usleep(AGE_RUN_MS * 1000);
	st = stat_of(vm);
	wall = (double)(bench_now_ns() - t0) / NS_PER_S;
	o.work = (double)(atomic_load(&h.done) - done0) / wall;
	atomic_store(&h.stop, 1);
	vm_wait(vm, pid, NULL);
	o.age_us = (double)(st.age_ns - s0.age_ns) / 1e3 / wall;
	o.traps = (double)(st.tlb_refill - s0.tlb_refill) / wall;
	o.faults = (double)(st.pgmajfault - s0.pgmajfault) / wall;
	o.writes = (double)(st.pswpout - s0.pswpout) / wall;
	o.share = PERCENT *
		  ((double)(st.age_ns - s0.age_ns) +
		   (double)(st.tlb_refill - s0.tlb_refill) * trap_ns) /
		  (wall * NS_PER_S);
	vmtest_destroy(vm);
	return o;
}

/* The budgets' runs interleaved, so that the host's drift hits each. */
static void bench_aging(unsigned hot_percent, double trap_ns)
{
	double share[NR_BUDGETS][REPS], age_us[NR_BUDGETS][REPS];
	double traps[NR_BUDGETS][REPS], faults[NR_BUDGETS][REPS];
	double writes[NR_BUDGETS][REPS];
	double work[NR_BUDGETS][REPS];

	for (int r = 0; r < REPS; r++)
		for (size_t b = 0; b < NR_BUDGETS; b++) {
			struct aging_run o =
				aging_once(hot_percent, budgets[b], trap_ns);

			share[b][r] = o.share;
			age_us[b][r] = o.age_us;
			traps[b][r] = o.traps;
			faults[b][r] = o.faults;
			writes[b][r] = o.writes;
			work[b][r] = o.work;
		}
	for (size_t b = 0; b < NR_BUDGETS; b++) {
		printf("\n== accessed bits under steady pressure (native, 48 MiB "
		       "in 32 MiB, %u %% of accesses to a 16 MiB hot set), "
		       "aging budget %d %%%s\n",
		       hot_percent, budgets[b], b == 0 ? " (the default)" : "");
		bench_report("accesses made (the work)", work[b], REPS, "/s",
			     NULL);
		bench_report("major faults (the pressure)", faults[b], REPS,
			     "/s", NULL);
		bench_report("pages written to swap", writes[b], REPS, "/s",
			     NULL);
		bench_report("harvesting accessed bits", age_us[b], REPS,
			     "us/s", NULL);
		bench_report("refill traps it causes", traps[b], REPS,
			     "traps/s", NULL);
		bench_report("aging cost, share of run time", share[b], REPS,
			     "%", b == 0 ? "target <= 5 %" : NULL);
	}
}

/* BENCH_ONLY=io|overcommit|aging runs one part (for a profile); all else. */
static bool part(const char *name)
{
	const char *only = getenv("BENCH_ONLY");

	return !only || !strcmp(only, name);
}

int main(void)
{
	printf("bench_reclaim: %d repetitions each, medians\n", REPS);
	double trap_ns;

	if (part("io"))
		bench_io();
	if (part("overcommit"))
		bench_overcommit();
	if (part("aging")) {
		trap_ns = refill_cost();
		printf("\none refill trap here: %.0f ns\n", trap_ns);
		bench_aging(99, trap_ns);
		bench_aging(90, trap_ns);
	}
	return 0;
}
