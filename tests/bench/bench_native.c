/*
 * tests/bench/bench_native.c - what vmemu's memory costs next to the host's.
 *
 * Native mode turns every host page fault into a SIGSEGV, an emulated
 * fault and a host mmap; this benchmark puts those costs beside the host
 * kernel's own, in one run, each figure the median of REPS repetitions
 * (the repetitions interleave host and vmemu runs, so drift hits both).
 * Regions are NPAGES pages; one byte per page is touched.
 *
 *  1. First touch.  Host: a fresh anonymous mmap (MADV_NOHUGEPAGE),
 *     written (then, on another one, read: the zero page).  vmemu: a task
 *     vm_mmaps the same size and writes one byte per page through vm_ptr:
 *     "cold" in a fresh machine (its memfd frames never touched by the
 *     host), "warm" after munmap + mmap (frames recycled, already backed by
 *     host memory); and a read first touch (the emulated zero frame).
 *  2. COW break.  A task writes every page, vm_forks a child that waits;
 *     the parent writes every page again (each write copies a frame); then
 *     the child writes every page (refcount 1: the frame is reused).
 *  3. TLB refill.  Before (2), the child reads every page: PTEs valid, no
 *     host mapping in its new window; fault-around maps runs of
 *     consecutive frames, so traps/page can be below 1.
 *  4. Steady state.  After the first write pass, a read pass and a write
 *     pass over the resident pages: expected 0 traps and 0 pgfault.
 *  5. Trace mode: vm_access on TLB hits (HOT_PAGES pages, one per TLB set),
 *     on misses (a stride over NPAGES resident pages: each set cycles
 *     through 64 pages, more than its ways, so every access misses, and no
 *     fault happens), and per demand-zero fault: write on a cold pool,
 *     write on a warm pool (after munmap + mmap), read (the zero frame).
 *
 * Only the touch loop is timed (clock_gettime(CLOCK_MONOTONIC) inside the
 * task, around the loop): vm_create, spawn, fork and thread start are not.
 * Every timed loop also records counter deltas, printed per page after the
 * time: traps and host mmap calls (trap_get_stats: process-wide, and only
 * one thread runs at a time), vm_stat counters, and the host's minor faults
 * of the measuring thread (getrusage RUSAGE_THREAD).  vm_stat is called
 * from the task's own thread, outside the timed loop (it only takes the
 * machine lock, which the task does not hold there).  At the end, check_all
 * verifies from those counters that each figure measured what its label
 * says (no trap in steady state, one pgfault per first touch, every access
 * a hit or a miss...): the exit status is 1 if one does not.
 */
#include <errno.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "mmu/hostmap.h" /* internal: the trap and host-mapping counters */
#include "mmu/trap.h"
#include "tests/lib/benchutil.h"
#include "vm/vm.h"

#define REPS	      7
#define NPAGES	      4096ULL /* 16 MiB regions */
#define NBYTES	      (NPAGES << PAGE_SHIFT)
#define MEM_BYTES     (256ULL << 20)
#define HOT_PAGES     64ULL /* one per TLB set: all fit */
#define HIT_ACCESSES  (1ULL << 22)
#define MISS_ACCESSES (1ULL << 19)
#define WARM_TOL      0.01 /* host faults per page from elsewhere */
#define WARM_CYCLES   2	   /* trace: munmap+mmap cycles, last one timed */
#define NS_PER_US     1000.0
#define TARGET_RATIO  3.0
#define NOTE_LEN      256

#define PROT_RW	      (VM_PROT_READ | VM_PROT_WRITE)
#define MAP_PRIV_ANON (VM_MAP_PRIVATE | VM_MAP_ANON)

/* Counters around one timed loop. */
struct snap {
	struct vm_stat vs;
	struct trap_stats ts;
	struct hostmap_stats hs;
	uint64_t minflt;
};

/* One timed loop: time, items (pages or accesses), counter deltas. */
struct meas {
	uint64_t ns, n;
	uint64_t traps, maps, minflt;
	uint64_t pgfault, zero_map, cow_fault, cow_reuse, tlb_refill;
	uint64_t dirty_trap, tlb_hit, tlb_miss;
};

enum meas_id {
	M_HOST_W,
	M_HOST_R,
	M_HOST_STEADY_R,
	M_HOST_STEADY_W,
	M_VM_W_COLD,
	M_VM_W_WARM,
	M_VM_W_COLD_FA,
	M_VM_W_WARM_FA,
	M_VM_R_ZERO,
	M_VM_STEADY_R,
	M_VM_STEADY_W,
	M_REFILL,
	M_COW_COPY,
	M_COW_REUSE,
	M_TR_DZ_W,
	M_TR_DZ_R,
	M_TR_DZ_W_WARM,
	M_TR_HIT,
	M_TR_MISS,
	NR_MEAS,
};

static struct meas res[NR_MEAS][REPS];
static volatile uint64_t sink;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_native: %s: %s\n", what, strerror(err));
	exit(1);
}

/* ---- timing and counters --------------------------------------------- */

static void snap_take(struct vm *vm, struct snap *s)
{
	struct rusage ru;

	memset(s, 0, sizeof(*s));
	if (vm)
		vm_stat(vm, &s->vs);
	trap_get_stats(&s->ts);
	hostmap_get_stats(&s->hs);
	getrusage(RUSAGE_THREAD, &ru);
	s->minflt = (uint64_t)ru.ru_minflt;
}

struct timer {
	struct vm *vm;
	struct snap before;
	uint64_t t0;
};

static void timer_start(struct timer *tm, struct vm *vm)
{
	tm->vm = vm;
	snap_take(vm, &tm->before);
	tm->t0 = bench_now_ns();
}

static void timer_stop(struct timer *tm, uint64_t n, struct meas *m)
{
	uint64_t t1 = bench_now_ns();
	const struct snap *b = &tm->before;
	struct snap a;

	snap_take(tm->vm, &a);
	m->ns = t1 - tm->t0;
	m->n = n;
	m->traps = a.ts.traps - b->ts.traps;
	m->maps = a.hs.maps - b->hs.maps;
	m->minflt = a.minflt - b->minflt;
	m->pgfault = a.vs.pgfault - b->vs.pgfault;
	m->zero_map = a.vs.zero_page_map - b->vs.zero_page_map;
	m->cow_fault = a.vs.cow_fault - b->vs.cow_fault;
	m->cow_reuse = a.vs.cow_reuse - b->vs.cow_reuse;
	m->tlb_refill = a.vs.tlb_refill - b->vs.tlb_refill;
	m->dirty_trap = a.vs.dirty_trap - b->vs.dirty_trap;
	m->tlb_hit = a.vs.tlb_hit - b->vs.tlb_hit;
	m->tlb_miss = a.vs.tlb_miss - b->vs.tlb_miss;
}

/* One byte per page, through the host pointer p, timed. */
static void timed_touch(struct vm *vm, uint8_t *p, bool write, struct meas *m)
{
	volatile uint8_t *q = p;
	uint64_t sum = 0;
	struct timer tm;

	timer_start(&tm, vm);
	if (write) {
		for (uint64_t i = 0; i < NPAGES; i++)
			q[i << PAGE_SHIFT] = 1;
	} else {
		for (uint64_t i = 0; i < NPAGES; i++)
			sum += q[i << PAGE_SHIFT];
	}
	timer_stop(&tm, NPAGES, m);
	sink += sum;
}

/* ---- machines and tasks ---------------------------------------------- */

/* anon_fault_around for the "-fa" figures: 64 KiB, Linux's common mTHP. */
#define FAULT_AROUND 16

static struct vm *bench_vm_fa(enum vm_mode mode, unsigned fault_around)
{
	struct vm_config cfg;
	char err[256];
	struct vm *vm;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = MEM_BYTES;
	cfg.anon_fault_around = fault_around;
	vm = vm_create(&cfg, err, sizeof(err));
	if (!vm) {
		fprintf(stderr, "bench_native: vm_create: %s\n", err);
		exit(1);
	}
	return vm;
}

static struct vm *bench_vm(enum vm_mode mode)
{
	return bench_vm_fa(mode, 0);
}

static void task_reap(struct vm *vm, int pid, const char *name)
{
	struct vm_exit ex;
	int rc = vm_wait(vm, pid, &ex);

	if (rc < 0)
		die(name, -rc);
	if (ex.reason != VM_EXIT_NORMAL || ex.code != 0) {
		fprintf(stderr, "bench_native: task %s: reason %d code %d\n",
			name, (int)ex.reason, ex.code);
		exit(1);
	}
}

static void task_run(struct vm *vm, const char *name, vm_task_fn fn, void *arg)
{
	int pid = vm_spawn(vm, name, 0, fn, arg);

	if (pid < 0)
		die(name, -pid);
	task_reap(vm, pid, name);
}

/* A fresh private anonymous region of the task; its host pointer. */
static uint8_t *task_region(struct vm_task *t, uint64_t *va_out)
{
	uint64_t va = vm_mmap(t, 0, NBYTES, PROT_RW, MAP_PRIV_ANON);

	if (vm_mmap_failed(va))
		return NULL;
	if (va_out)
		*va_out = va;
	return vm_ptr(t, va);
}

/* ---- 1, 4: host ------------------------------------------------------ */

static uint8_t *host_region(void)
{
	void *p = mmap(NULL, NBYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	if (madvise(p, NBYTES, MADV_NOHUGEPAGE) < 0)
		die("madvise", errno);
	return p;
}

static void run_host(int r)
{
	uint8_t *p = host_region();

	timed_touch(NULL, p, true, &res[M_HOST_W][r]);
	timed_touch(NULL, p, false, &res[M_HOST_STEADY_R][r]);
	timed_touch(NULL, p, true, &res[M_HOST_STEADY_W][r]);
	munmap(p, NBYTES);
	p = host_region();
	timed_touch(NULL, p, false, &res[M_HOST_R][r]);
	munmap(p, NBYTES);
}

/* ---- 1, 4: vmemu first touch and steady state ------------------------ */

struct touch_arg {
	struct vm *vm;
	int rep;
};

static int first_touch_task(struct vm_task *t, void *arg)
{
	struct touch_arg *a = arg;
	uint64_t va;
	uint8_t *p = task_region(t, &va);

	if (!p)
		return 1;
	timed_touch(a->vm, p, true, &res[M_VM_W_COLD][a->rep]);
	timed_touch(a->vm, p, false, &res[M_VM_STEADY_R][a->rep]);
	timed_touch(a->vm, p, true, &res[M_VM_STEADY_W][a->rep]);
	if (vm_munmap(t, va, NBYTES) < 0)
		return 2;
	p = task_region(t, NULL);
	if (!p)
		return 3;
	timed_touch(a->vm, p, true, &res[M_VM_W_WARM][a->rep]);
	p = task_region(t, NULL);
	if (!p)
		return 4;
	timed_touch(a->vm, p, false, &res[M_VM_R_ZERO][a->rep]);
	return 0;
}

static void run_first_touch(int r)
{
	struct touch_arg a = { .vm = bench_vm(VM_MODE_NATIVE), .rep = r };

	task_run(a.vm, "first-touch", first_touch_task, &a);
	vm_destroy(a.vm);
}

/* 1 again with anonymous fault-around: one trap maps 16 pages. */
static int first_touch_fa_task(struct vm_task *t, void *arg)
{
	struct touch_arg *a = arg;
	uint64_t va;
	uint8_t *p = task_region(t, &va);

	if (!p)
		return 1;
	timed_touch(a->vm, p, true, &res[M_VM_W_COLD_FA][a->rep]);
	if (vm_munmap(t, va, NBYTES) < 0)
		return 2;
	p = task_region(t, NULL);
	if (!p)
		return 3;
	timed_touch(a->vm, p, true, &res[M_VM_W_WARM_FA][a->rep]);
	return 0;
}

static void run_first_touch_fa(int r)
{
	struct touch_arg a = { .vm = bench_vm_fa(VM_MODE_NATIVE, FAULT_AROUND),
			       .rep = r };

	task_run(a.vm, "first-touch-fa", first_touch_fa_task, &a);
	vm_destroy(a.vm);
}

/* ---- 2, 3: fork: TLB refill, COW copy, COW reuse --------------------- */

struct fork_arg {
	struct vm *vm;
	int rep;
	uint64_t va;
	int child_pid;
	sem_t read_done, parent_done, child_done;
};

static void sem_take(sem_t *s)
{
	while (sem_wait(s) != 0)
		;
}

static int fork_child(struct vm_task *t, void *arg)
{
	struct fork_arg *a = arg;
	uint8_t *p = vm_ptr(t, a->va);

	timed_touch(a->vm, p, false, &res[M_REFILL][a->rep]);
	sem_post(&a->read_done);
	sem_take(&a->parent_done);
	timed_touch(a->vm, p, true, &res[M_COW_REUSE][a->rep]);
	sem_post(&a->child_done);
	return 0;
}

static int fork_parent(struct vm_task *t, void *arg)
{
	struct fork_arg *a = arg;
	uint8_t *p = task_region(t, &a->va);
	struct meas untimed;

	if (!p)
		return 1;
	timed_touch(a->vm, p, true, &untimed);
	a->child_pid = vm_fork(t, fork_child, a);
	if (a->child_pid < 0)
		return 2;
	sem_take(&a->read_done);
	timed_touch(a->vm, p, true, &res[M_COW_COPY][a->rep]);
	sem_post(&a->parent_done);
	sem_take(&a->child_done); /* stay: no exit work during the child's */
	return 0;
}

static void run_fork(int r)
{
	struct fork_arg a = { .vm = bench_vm(VM_MODE_NATIVE), .rep = r };

	sem_init(&a.read_done, 0, 0);
	sem_init(&a.parent_done, 0, 0);
	sem_init(&a.child_done, 0, 0);
	task_run(a.vm, "fork-parent", fork_parent, &a);
	task_reap(a.vm, a.child_pid, "fork-child");
	sem_destroy(&a.read_done);
	sem_destroy(&a.parent_done);
	sem_destroy(&a.child_done);
	vm_destroy(a.vm);
}

/* ---- 5: trace mode --------------------------------------------------- */

enum acc_mode {
	ACC_READ = 0,
	ACC_WRITE = 1,
	ACC_ALT = 2, /* sweeps of the page set: reads, writes, reads, ... */
};

/* n vm_access calls; call i goes to page (i & page_mask) of va. */
static int trace_loop(struct vm_task *t, struct touch_arg *a, uint64_t va,
		      uint64_t n, uint64_t page_mask, enum acc_mode mode,
		      struct meas *m)
{
	struct timer tm;
	int bad = 0;

	timer_start(&tm, a->vm);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t page = i & page_mask;
		int write = mode == ACC_ALT ? (int)((i / (page_mask + 1)) & 1) :
					      (int)mode;

		bad |= vm_access(t, va + (page << PAGE_SHIFT), write);
	}
	timer_stop(&tm, n, m);
	return bad;
}

/*
 * Demand-zero writes on frames the host already backs: munmap + mmap and
 * write again.  The first cycle still gets a quarter of never-used frames
 * (the buddy splits small leftover blocks first), so only the last cycle
 * is timed.  Nonzero on a failure.
 */
static int trace_warm_faults(struct vm_task *t, struct touch_arg *a,
			     uint64_t va)
{
	struct meas untimed;
	int bad = 0;

	for (int cycle = 0; cycle < WARM_CYCLES; cycle++) {
		if (vm_munmap(t, va, NBYTES) < 0)
			return 1;
		va = vm_mmap(t, 0, NBYTES, PROT_RW, MAP_PRIV_ANON);
		if (vm_mmap_failed(va))
			return 1;
		bad |= trace_loop(t, a, va, NPAGES, NPAGES - 1, ACC_WRITE,
				  cycle == WARM_CYCLES - 1 ?
					  &res[M_TR_DZ_W_WARM][a->rep] :
					  &untimed);
	}
	return bad;
}

static int trace_task(struct vm_task *t, void *arg)
{
	struct touch_arg *a = arg;
	struct meas *r[NR_MEAS];
	uint64_t va = vm_mmap(t, 0, NBYTES, PROT_RW, MAP_PRIV_ANON);
	uint64_t va0 = vm_mmap(t, 0, NBYTES, PROT_RW, MAP_PRIV_ANON);
	struct meas warm;
	int bad = 0;

	if (vm_mmap_failed(va) || vm_mmap_failed(va0))
		return 1;
	for (int m = 0; m < NR_MEAS; m++)
		r[m] = &res[m][a->rep];
	/* Demand-zero faults: writes (new frames), reads (zero frame). */
	bad |= trace_loop(t, a, va, NPAGES, NPAGES - 1, ACC_WRITE,
			  r[M_TR_DZ_W]);
	bad |= trace_loop(t, a, va0, NPAGES, NPAGES - 1, ACC_READ,
			  r[M_TR_DZ_R]);
	/* Hot set: fill the TLB, then hits (read and write sweeps). */
	bad |= trace_loop(t, a, va, HOT_PAGES, HOT_PAGES - 1, ACC_ALT, &warm);
	bad |= trace_loop(t, a, va, HIT_ACCESSES, HOT_PAGES - 1, ACC_ALT,
			  r[M_TR_HIT]);
	/* Misses: NPAGES resident, written pages, in order: no fault. */
	bad |= trace_loop(t, a, va, MISS_ACCESSES, NPAGES - 1, ACC_READ,
			  r[M_TR_MISS]);
	return bad || trace_warm_faults(t, a, va) ? 2 : 0;
}

static void run_trace(int r)
{
	struct touch_arg a = { .vm = bench_vm(VM_MODE_TRACE), .rep = r };

	task_run(a.vm, "trace", trace_task, &a);
	vm_destroy(a.vm);
}

/* ---- reporting ------------------------------------------------------- */

/* Bit c selects ctrs[c]. */
enum ctr_bit {
	C_TRAPS = 1 << 0,
	C_MAPS = 1 << 1,
	C_MINFLT = 1 << 2,
	C_PGFAULT = 1 << 3,
	C_ZERO = 1 << 4,
	C_COW = 1 << 5,
	C_REUSE = 1 << 6,
	C_REFILL = 1 << 7,
	C_DIRTY = 1 << 8,
	C_HIT = 1 << 9,
	C_MISS = 1 << 10,
};

static const struct {
	const char *name;
	size_t off;
} ctrs[] = {
	{ "traps", offsetof(struct meas, traps) },
	{ "host-mmaps", offsetof(struct meas, maps) },
	{ "host-minflt", offsetof(struct meas, minflt) },
	{ "pgfault", offsetof(struct meas, pgfault) },
	{ "zero_page_map", offsetof(struct meas, zero_map) },
	{ "cow_fault", offsetof(struct meas, cow_fault) },
	{ "cow_reuse", offsetof(struct meas, cow_reuse) },
	{ "tlb_refill", offsetof(struct meas, tlb_refill) },
	{ "dirty_trap", offsetof(struct meas, dirty_trap) },
	{ "tlb_hit", offsetof(struct meas, tlb_hit) },
	{ "tlb_miss", offsetof(struct meas, tlb_miss) },
};

enum fig_unit {
	U_US_PAGE,   /* microseconds per page, counters per page */
	U_NS_PAGE,   /* nanoseconds per page, counters as totals */
	U_NS_ACCESS, /* nanoseconds per vm_access, counters per access */
};

static const struct fig {
	enum meas_id id;
	enum fig_unit unit;
	unsigned ctr_mask;
	const char *what;
} figs[] = {
	{ M_HOST_W, U_US_PAGE, C_MINFLT | C_TRAPS,
	  "1 host  first touch, write (anon mmap, NOHUGEPAGE)" },
	{ M_HOST_R, U_US_PAGE, C_MINFLT | C_TRAPS,
	  "1 host  first touch, read (host zero page)" },
	{ M_VM_W_COLD, U_US_PAGE, C_TRAPS | C_MAPS | C_PGFAULT | C_MINFLT,
	  "1 vmemu first touch, write, cold pool (fresh machine)" },
	{ M_VM_W_WARM, U_US_PAGE, C_TRAPS | C_MAPS | C_PGFAULT | C_MINFLT,
	  "1 vmemu first touch, write, warm pool (recycled frames)" },
	{ M_VM_W_COLD_FA, U_US_PAGE, C_TRAPS | C_MAPS | C_PGFAULT | C_MINFLT,
	  "1 vmemu first touch, write, cold pool, anon_fault_around 16" },
	{ M_VM_W_WARM_FA, U_US_PAGE, C_TRAPS | C_MAPS | C_PGFAULT | C_MINFLT,
	  "1 vmemu first touch, write, warm pool, anon_fault_around 16" },
	{ M_VM_R_ZERO, U_US_PAGE,
	  C_TRAPS | C_MAPS | C_PGFAULT | C_ZERO | C_MINFLT,
	  "1 vmemu first touch, read (emulated zero frame)" },
	{ M_COW_COPY, U_US_PAGE,
	  C_TRAPS | C_MAPS | C_PGFAULT | C_COW | C_MINFLT,
	  "2 vmemu COW break: parent writes after fork (copy)" },
	{ M_COW_REUSE, U_US_PAGE,
	  C_TRAPS | C_MAPS | C_PGFAULT | C_REUSE | C_MINFLT,
	  "2 vmemu COW break: child writes, refcount 1 (reuse)" },
	{ M_REFILL, U_US_PAGE,
	  C_TRAPS | C_MAPS | C_PGFAULT | C_REFILL | C_MINFLT,
	  "3 vmemu TLB refill: child reads after fork" },
	{ M_HOST_STEADY_R, U_NS_PAGE, C_TRAPS | C_MINFLT,
	  "4 host  steady state, read pass over resident pages" },
	{ M_HOST_STEADY_W, U_NS_PAGE, C_TRAPS | C_MINFLT,
	  "4 host  steady state, write pass over resident pages" },
	{ M_VM_STEADY_R, U_NS_PAGE,
	  C_TRAPS | C_MAPS | C_PGFAULT | C_DIRTY | C_REFILL | C_MINFLT,
	  "4 vmemu steady state, read pass over resident pages" },
	{ M_VM_STEADY_W, U_NS_PAGE,
	  C_TRAPS | C_MAPS | C_PGFAULT | C_DIRTY | C_REFILL | C_MINFLT,
	  "4 vmemu steady state, write pass over resident pages" },
	{ M_TR_HIT, U_NS_ACCESS, C_HIT | C_MISS | C_PGFAULT,
	  "5 trace vm_access, TLB hit (64 hot pages, r/w sweeps)" },
	{ M_TR_MISS, U_NS_ACCESS, C_HIT | C_MISS | C_PGFAULT,
	  "5 trace vm_access, TLB miss, resident (no fault)" },
	{ M_TR_DZ_W, U_NS_ACCESS, C_MISS | C_PGFAULT | C_MINFLT,
	  "5 trace vm_access, demand-zero fault, write, cold pool" },
	{ M_TR_DZ_W_WARM, U_NS_ACCESS, C_MISS | C_PGFAULT | C_MINFLT,
	  "5 trace vm_access, demand-zero fault, write, warm pool" },
	{ M_TR_DZ_R, U_NS_ACCESS, C_MISS | C_PGFAULT | C_ZERO | C_MINFLT,
	  "5 trace vm_access, zero-frame fault (read)" },
};

static double med_ns[NR_MEAS]; /* median ns per item */

static double ctr_of(const struct meas *m, size_t off)
{
	return (double)*(const uint64_t *)((const char *)m + off);
}

/* Median over the reps of counter off, per item unless totals. */
static double ctr_median(enum meas_id id, size_t off, bool totals)
{
	double v[REPS];

	for (int r = 0; r < REPS; r++)
		v[r] = ctr_of(&res[id][r], off) /
		       (totals ? 1.0 : (double)res[id][r].n);
	return bench_median(v, REPS);
}

static void fig_note(const struct fig *f, char *note, size_t len)
{
	bool totals = f->unit == U_NS_PAGE;
	size_t used = (size_t)snprintf(note, len,
				       "[%s:", totals ? "total" : "per item");

	for (size_t c = 0; c < sizeof(ctrs) / sizeof(ctrs[0]); c++) {
		if (!(f->ctr_mask & (1u << c)) || used >= len)
			continue;
		used += (size_t)snprintf(
			note + used, len - used, " %s %.4g", ctrs[c].name,
			ctr_median(f->id, ctrs[c].off, totals));
	}
	if (used < len)
		snprintf(note + used, len - used, "]");
}

static void fig_report(const struct fig *f)
{
	static const char *const unit_name[] = { "us/page", "ns/page",
						 "ns/access" };
	double scale = f->unit == U_US_PAGE ? NS_PER_US : 1.0;
	char note[NOTE_LEN];
	double v[REPS];

	for (int r = 0; r < REPS; r++)
		v[r] = (double)res[f->id][r].ns / (double)res[f->id][r].n /
		       scale;
	fig_note(f, note, sizeof(note));
	med_ns[f->id] =
		bench_report(f->what, v, REPS, unit_name[f->unit], note) *
		scale;
}

static void ratio_report(const char *what, enum meas_id num, enum meas_id den,
			 double target)
{
	double ratio = med_ns[num] / med_ns[den];

	printf("%-56s %9.2f x", what, ratio);
	if (target > 0)
		printf("        (target <= %.1f x: %s)", target,
		       ratio <= target ? "met" : "MISSED");
	printf("\n");
}

static void report_all(void)
{
	for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++)
		fig_report(&figs[i]);
	printf("ratios of medians (vmemu / host):\n");
	ratio_report("1 first touch write, cold pool / host write", M_VM_W_COLD,
		     M_HOST_W, TARGET_RATIO);
	ratio_report("1 first touch write, warm pool / host write", M_VM_W_WARM,
		     M_HOST_W, TARGET_RATIO);
	ratio_report("1 first touch write, cold, fault-around 16 / host",
		     M_VM_W_COLD_FA, M_HOST_W, 0);
	ratio_report("1 first touch write, warm, fault-around 16 / host",
		     M_VM_W_WARM_FA, M_HOST_W, 0);
	ratio_report("1 first touch read / host read", M_VM_R_ZERO, M_HOST_R,
		     0);
	ratio_report("2 COW copy / host first-touch write", M_COW_COPY,
		     M_HOST_W, 0);
	ratio_report("2 COW reuse / host first-touch write", M_COW_REUSE,
		     M_HOST_W, 0);
	ratio_report("3 TLB refill / host first-touch write", M_REFILL,
		     M_HOST_W, 0);
	ratio_report("4 steady read pass / host read pass", M_VM_STEADY_R,
		     M_HOST_STEADY_R, 0);
	ratio_report("4 steady write pass / host write pass", M_VM_STEADY_W,
		     M_HOST_STEADY_W, 0);
}

/* ---- checks: each figure measured what its label says -------------- */

static int nr_failed;

static const char *fig_label(enum meas_id id)
{
	for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++)
		if (figs[i].id == id)
			return figs[i].what;
	return "?";
}

static const char *ctr_name(size_t off)
{
	for (size_t c = 0; c < sizeof(ctrs) / sizeof(ctrs[0]); c++)
		if (ctrs[c].off == off)
			return ctrs[c].name;
	return "?";
}

/* Every rep of id: counter off per item within tol of want. */
static void expect(enum meas_id id, size_t off, double want, double tol)
{
	for (int r = 0; r < REPS; r++) {
		const struct meas *m = &res[id][r];
		double got = ctr_of(m, off) / (double)m->n;

		if (got >= want - tol && got <= want + tol)
			continue;
		printf("CHECK FAILED: '%s' rep %d: %s %.4g per item, "
		       "expected %.4g\n",
		       fig_label(id), r, ctr_name(off), got, want);
		nr_failed++;
	}
}

#define EXPECT(id, field, want, tol) \
	expect(id, offsetof(struct meas, field), want, tol)

static void check_all(void)
{
	static const enum meas_id host[] = { M_HOST_W, M_HOST_R,
					     M_HOST_STEADY_R, M_HOST_STEADY_W };
	static const enum meas_id steady[] = { M_VM_STEADY_R, M_VM_STEADY_W,
					       M_REFILL, M_TR_HIT, M_TR_MISS };

	for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++)
		EXPECT(host[i], traps, 0, 0);
	for (size_t i = 0; i < sizeof(steady) / sizeof(steady[0]); i++)
		EXPECT(steady[i], pgfault, 0, 0);
	EXPECT(M_VM_STEADY_R, traps, 0, 0);
	EXPECT(M_VM_STEADY_W, traps, 0, 0);
	EXPECT(M_VM_W_COLD, pgfault, 1, 0);
	EXPECT(M_VM_W_WARM, pgfault, 1, 0);
	EXPECT(M_VM_W_COLD_FA, pgfault, 1.0 / FAULT_AROUND, 0);
	EXPECT(M_VM_W_WARM_FA, pgfault, 1.0 / FAULT_AROUND, 0);
	EXPECT(M_VM_W_WARM_FA, traps, 1.0 / FAULT_AROUND, 0);
	EXPECT(M_VM_R_ZERO, zero_map, 1, 0);
	EXPECT(M_COW_COPY, cow_fault, 1, 0);
	EXPECT(M_COW_REUSE, cow_reuse, 1, 0);
	EXPECT(M_TR_HIT, tlb_miss, 0, 0);
	EXPECT(M_TR_MISS, tlb_hit, 0, 1e-3);
	EXPECT(M_TR_DZ_W, pgfault, 1, 0);
	EXPECT(M_TR_DZ_W_WARM, pgfault, 1, 0);
	EXPECT(M_TR_DZ_R, zero_map, 1, 0);
	/* Warm: no host fault to back a frame (native: only the window's). */
	EXPECT(M_VM_W_WARM, minflt, 1, WARM_TOL);
	EXPECT(M_TR_DZ_W_WARM, minflt, 0, WARM_TOL);
	if (!nr_failed)
		printf("checks: every counter matches what its label says\n");
}

int main(void)
{
	uint64_t t0 = bench_now_ns();

	printf("bench_native: %llu-page regions (%llu MiB), machine RAM "
	       "%llu MiB, median of %d reps; per item = per page or access\n",
	       (unsigned long long)NPAGES, (unsigned long long)(NBYTES >> 20),
	       (unsigned long long)(MEM_BYTES >> 20), REPS);
	for (int r = 0; r < REPS; r++) {
		run_host(r);
		run_first_touch(r);
		run_first_touch_fa(r);
		run_fork(r);
		run_trace(r);
	}
	report_all();
	check_all();
	printf("total run time %.1f s\n", (double)(bench_now_ns() - t0) / 1e9);
	return nr_failed ? 1 : 0;
}
