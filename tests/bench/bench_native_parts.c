/*
 * tests/bench/bench_native_parts.c - where a native-mode fault's time goes,
 * measured on the host alone (no vmemu code), to explain bench_native.
 *
 * A vmemu first-touch write is: SIGSEGV delivery and return, the emulated
 * fault (zero a frame through the direct map), one mmap of the memfd frame
 * into the window (MAP_SHARED|MAP_FIXED over the PROT_NONE reservation),
 * and, when the store restarts, the host's own fault to fill its PTE for
 * that shared page.  Each part is timed here, over NPAGES pages, median of
 * REPS repetitions, µs per page, with its ratio to the host's first-touch
 * fault on anonymous memory (a).  bench_trap measures SIGSEGV + mmap
 * together; this adds the parts and a prototype of mapping 16 pages per
 * trap (anonymous fault-around), the change docs/bench-native.md suggests.
 *
 *   (a) host first-touch write, anonymous, MADV_NOHUGEPAGE
 *   (b) SIGSEGV round trip alone: the handler skips the faulting store
 *       (x86-64 only: it checks the instruction's bytes before skipping)
 *   (c) mmap of one memfd page over the reservation, no touch
 *   (d) first write to memfd pages mapped by (c): the host's shared fault
 *   (e) first read of the same: the host maps a run per fault (fault-around)
 *   (f) zeroing a 4 KiB frame through the direct map: warm memfd, and cold
 *       (the host allocates the shmem page: what a fresh vmemu pool pays)
 *   (g) trap whose handler zeroes the frame and mmaps it: vmemu's warm
 *       first touch minus the emulated kernel's bookkeeping
 *   (h) trap whose handler zeroes and mmaps an aligned 16-page run, plain
 *       and with MAP_POPULATE (write faults on a shared mapping get no host
 *       fault-around, so without it each page still takes (d))
 *   (i) MADV_POPULATE_WRITE of a cold direct map: what backing the whole
 *       pool up front at vm_create would cost per frame
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "tests/lib/benchutil.h"
#include "base/types.h"

#define REPS	  7
#define NPAGES	  4096UL
#define NBYTES	  (NPAGES << PAGE_SHIFT)
#define RUN_PAGES 16UL
#define NS_PER_US 1000.0
/* movb $1, (%rax): the store (b) skips. */
#define STORE_INSN_LEN 3
static const uint8_t store_insn[STORE_INSN_LEN] = { 0xc6, 0x00, 0x01 };

enum handler_mode {
	H_SKIP,	       /* (b) */
	H_MAP1,	       /* (g) */
	H_MAP_RUN,     /* (h) */
	H_MAP_RUN_POP, /* (h) with MAP_POPULATE */
};

static struct {
	_Atomic int mode;
	uint8_t *_Atomic win; /* the reservation: "window" */
	uint8_t *dmap;	      /* direct map of the memfd */
	int memfd;
} st = { .memfd = -1 };

enum part {
	P_HOST,
	P_SIGNAL,
	P_MMAP,
	P_SHARED_WRITE,
	P_SHARED_READ,
	P_ZERO_WARM,
	P_ZERO_COLD,
	P_TRAP_MAP1,
	P_TRAP_RUN,
	P_TRAP_RUN_POP,
	P_POPULATE,
	NR_PARTS,
};

static double us[NR_PARTS][REPS];

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_native_parts: %s: %s\n", what, strerror(err));
	exit(1);
}

static void map_frames(uint64_t pg, uint64_t npages, int extra)
{
	uint8_t *win = atomic_load(&st.win);

	memset(st.dmap + (pg << PAGE_SHIFT), 0, npages << PAGE_SHIFT);
	if (mmap(win + (pg << PAGE_SHIFT), npages << PAGE_SHIFT,
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | extra,
		 st.memfd, (off_t)(pg << PAGE_SHIFT)) == MAP_FAILED)
		abort();
}

static void skip_store(void *uctx)
{
#ifdef __x86_64__
	ucontext_t *uc = uctx;
	const uint8_t *ip = (const uint8_t *)uc->uc_mcontext.gregs[REG_RIP];

	if (memcmp(ip, store_insn, STORE_INSN_LEN) != 0)
		abort();
	uc->uc_mcontext.gregs[REG_RIP] += STORE_INSN_LEN;
#else
	(void)uctx;
	abort();
#endif
}

static void handler(int sig, siginfo_t *si, void *uctx)
{
	uint8_t *win = atomic_load(&st.win);
	uint64_t pg = (uint64_t)((uint8_t *)si->si_addr - win) >> PAGE_SHIFT;
	int saved = errno;

	(void)sig;
	if (pg >= NPAGES)
		abort(); /* not ours: a real crash */
	switch (atomic_load(&st.mode)) {
	case H_SKIP:
		skip_store(uctx);
		break;
	case H_MAP1:
		map_frames(pg, 1, 0);
		break;
	case H_MAP_RUN:
		map_frames(pg & ~(RUN_PAGES - 1), RUN_PAGES, 0);
		break;
	case H_MAP_RUN_POP:
		map_frames(pg & ~(RUN_PAGES - 1), RUN_PAGES, MAP_POPULATE);
		break;
	}
	errno = saved;
}

/* ---- setup ----------------------------------------------------------- */

static void *map_anon(int prot)
{
	void *p = mmap(NULL, NBYTES, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

/* A fresh PROT_NONE reservation as the window. */
static void new_window(void)
{
	uint8_t *old = atomic_load(&st.win);

	if (old)
		munmap(old, NBYTES);
	atomic_store(&st.win, map_anon(PROT_NONE));
}

/* A fresh memfd and direct map; warm: every page backed by the host. */
static void new_memfd(bool warm)
{
	if (st.dmap)
		munmap(st.dmap, NBYTES);
	if (st.memfd >= 0)
		close(st.memfd);
	st.memfd = memfd_create("bench-parts", MFD_CLOEXEC);
	if (st.memfd < 0 || ftruncate(st.memfd, (off_t)NBYTES) < 0)
		die("memfd", errno);
	st.dmap = mmap(NULL, NBYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		       st.memfd, 0);
	if (st.dmap == MAP_FAILED)
		die("mmap memfd", errno);
	if (warm)
		memset(st.dmap, 0, NBYTES);
}

/* ---- the parts ------------------------------------------------------- */

static double per_page_us(uint64_t t0)
{
	return (double)(bench_now_ns() - t0) / NPAGES / NS_PER_US;
}

static double touch(uint8_t *p, bool write)
{
	volatile uint8_t *q = p;
	uint64_t t0 = bench_now_ns();
	uint8_t sum = 0;

	for (uint64_t i = 0; i < NPAGES; i++) {
		if (write)
			q[i << PAGE_SHIFT] = 1;
		else
			sum += q[i << PAGE_SHIFT];
	}
	(void)sum;
	return per_page_us(t0);
}

static double part_host(void)
{
	uint8_t *p = map_anon(PROT_READ | PROT_WRITE);
	double v;

	if (madvise(p, NBYTES, MADV_NOHUGEPAGE) < 0)
		die("madvise", errno);
	v = touch(p, true);
	munmap(p, NBYTES);
	return v;
}

#ifdef __x86_64__
static double part_signal(void)
{
	uint8_t *win;
	uint64_t t0;

	new_window();
	win = atomic_load(&st.win);
	atomic_store(&st.mode, H_SKIP);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < NPAGES; i++)
		__asm__ volatile("movb $1, (%0)"
				 :
				 : "a"(win + (i << PAGE_SHIFT))
				 : "memory");
	return per_page_us(t0);
}
#endif

/* (c), then (d) or (e) on the pages (c) mapped. */
static void part_mmap_then_touch(int rep, bool write)
{
	uint8_t *win;
	uint64_t t0;

	new_window();
	win = atomic_load(&st.win);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < NPAGES; i++)
		if (mmap(win + (i << PAGE_SHIFT), PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 st.memfd, (off_t)(i << PAGE_SHIFT)) == MAP_FAILED)
			die("mmap", errno);
	us[P_MMAP][rep] = per_page_us(t0);
	us[write ? P_SHARED_WRITE : P_SHARED_READ][rep] = touch(win, write);
}

static double part_zero(void)
{
	uint64_t t0 = bench_now_ns();

	for (uint64_t i = 0; i < NPAGES; i++)
		memset(st.dmap + (i << PAGE_SHIFT), 0, PAGE_SIZE);
	return per_page_us(t0);
}

static double part_populate(void)
{
	uint64_t t0 = bench_now_ns();

	if (madvise(st.dmap, NBYTES, MADV_POPULATE_WRITE) < 0)
		die("madvise(MADV_POPULATE_WRITE)", errno);
	return per_page_us(t0);
}

static double part_trap(enum handler_mode mode)
{
	new_window();
	atomic_store(&st.mode, mode);
	return touch(atomic_load(&st.win), true);
}

static void run_rep(int r)
{
	us[P_HOST][r] = part_host();
#ifdef __x86_64__
	us[P_SIGNAL][r] = part_signal();
#endif
	new_memfd(true);
	part_mmap_then_touch(r, false);
	part_mmap_then_touch(r, true); /* keeps (c) of the write run */
	us[P_ZERO_WARM][r] = part_zero();
	us[P_TRAP_MAP1][r] = part_trap(H_MAP1);
	us[P_TRAP_RUN][r] = part_trap(H_MAP_RUN);
	us[P_TRAP_RUN_POP][r] = part_trap(H_MAP_RUN_POP);
	new_memfd(false);
	us[P_ZERO_COLD][r] = part_zero();
	new_memfd(false);
	us[P_POPULATE][r] = part_populate();
}

static const char *const part_name[NR_PARTS] = {
	[P_HOST] = "(a) host first-touch write, anon, NOHUGEPAGE",
	[P_SIGNAL] = "(b) SIGSEGV round trip alone (store skipped)",
	[P_MMAP] = "(c) mmap 1 memfd page MAP_SHARED|MAP_FIXED, no touch",
	[P_SHARED_WRITE] = "(d) first write to a page (c) mapped: host fault",
	[P_SHARED_READ] = "(e) first read of a page (c) mapped: host fault",
	[P_ZERO_WARM] = "(f) zero a 4 KiB frame via the direct map, warm",
	[P_ZERO_COLD] = "(f) zero a 4 KiB frame via the direct map, cold",
	[P_TRAP_MAP1] = "(g) trap: zero + mmap 1 page (vmemu minus emulator)",
	[P_TRAP_RUN] = "(h) trap: zero + mmap 16-page run",
	[P_TRAP_RUN_POP] = "(h) trap: zero + mmap 16-page run, MAP_POPULATE",
	[P_POPULATE] = "(i) MADV_POPULATE_WRITE of a cold direct map",
};

int main(void)
{
	struct sigaction sa, old;
	char note[64];
	double host;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSEGV, &sa, &old) < 0)
		die("sigaction", errno);
	printf("bench_native_parts: %lu pages, median of %d reps\n", NPAGES,
	       REPS);
	for (int r = 0; r < REPS; r++)
		run_rep(r);
	sigaction(SIGSEGV, &old, NULL);
	host = bench_median(us[P_HOST], REPS);
	for (int p = 0; p < NR_PARTS; p++) {
		snprintf(note, sizeof(note), "%5.2fx (a)",
			 bench_median(us[p], REPS) / host);
		bench_report(part_name[p], us[p], REPS, "us/page", note);
	}
	return 0;
}
