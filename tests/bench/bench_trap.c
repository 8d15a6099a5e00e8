/*
 * tests/bench/bench_trap.c - what a trap costs on this host, side by side.
 *
 * Every figure is the median of REPS repetitions over NPAGES pages, in
 * microseconds per page, with its ratio to (a):
 *   (a)  the host kernel's own first-touch fault on anonymous memory;
 *   (b)  a bare SIGSEGV round trip whose handler mprotects the page RW
 *        (the store then also takes (a)'s fault);
 *   (c)  SIGSEGV + mmap of a memfd page (MAP_SHARED|MAP_FIXED), plain and
 *        with MAP_POPULATE (the memfd pages exist: filled beforehand);
 *   (d)  the trap module: window + resolver doing trap_map of a frame, and
 *        the same with the window in the last registry slot (the first
 *        trap scans every slot below it, later ones hit the thread's hint);
 *   (e)  trap_revoke one page at a time vs ranges of RANGE_PAGES, with no
 *        other thread and with a second thread spinning on another CPU.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mmu/hostmap.h"
#include "mmu/trap.h"
#include "vm/phys.h"

#define NPAGES	    2048
#define REPS	    7
#define RANGE_PAGES 64
#define US_PER_S    1e6
#define US_PER_NS   1e-3

enum bare_mode { BARE_MPROTECT, BARE_MMAP, BARE_MMAP_POPULATE };

static struct {
	enum bare_mode mode;
	uint8_t *base;
	int memfd;
} bare;

static struct phys ph;
static struct trap_window *win;
static double host_fault_us;
static atomic_int spin_stop, spin_running;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_trap: %s: %s\n", what, strerror(err));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * US_PER_S + (double)ts.tv_nsec * US_PER_NS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median over REPS runs of fn (each returns microseconds per page). */
static double median_of(double (*fn)(void))
{
	double v[REPS];

	for (int i = 0; i < REPS; i++)
		v[i] = fn();
	qsort(v, REPS, sizeof(v[0]), cmp_double);
	return v[REPS / 2];
}

static void report(const char *label, double us)
{
	printf("%-62s %7.2f us/page  %5.2fx (a)\n", label, us,
	       us / host_fault_us);
	fflush(stdout);
}

/* Store one byte to each page; microseconds per page. */
static double touch_pages(uint8_t *base)
{
	double t0 = now_us();

	for (size_t i = 0; i < NPAGES; i++)
		((volatile uint8_t *)base)[i << PAGE_SHIFT] = 1;
	return (now_us() - t0) / NPAGES;
}

static uint8_t *reserve(int prot)
{
	void *p = mmap(NULL, NPAGES << PAGE_SHIFT, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

static double rep_host_fault(void)
{
	uint8_t *p = reserve(PROT_READ | PROT_WRITE);
	double us;

	madvise(p, NPAGES << PAGE_SHIFT, MADV_NOHUGEPAGE);
	us = touch_pages(p);
	munmap(p, NPAGES << PAGE_SHIFT);
	return us;
}

static void bare_handler(int sig, siginfo_t *si, void *uctx)
{
	uint8_t *page = (uint8_t *)((uintptr_t)si->si_addr & PAGE_MASK);
	int flags = MAP_SHARED | MAP_FIXED;

	(void)sig;
	(void)uctx;
	if (bare.mode == BARE_MPROTECT) {
		mprotect(page, PAGE_SIZE, PROT_READ | PROT_WRITE);
		return;
	}
	if (bare.mode == BARE_MMAP_POPULATE)
		flags |= MAP_POPULATE;
	mmap(page, PAGE_SIZE, PROT_READ | PROT_WRITE, flags, bare.memfd,
	     page - bare.base);
}

static double rep_bare(void)
{
	double us;

	bare.base = reserve(PROT_NONE);
	us = touch_pages(bare.base);
	munmap(bare.base, NPAGES << PAGE_SHIFT);
	return us;
}

static double bench_bare(enum bare_mode mode)
{
	struct sigaction sa = { .sa_sigaction = bare_handler,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	struct sigaction old;
	double us;

	sigemptyset(&sa.sa_mask);
	bare.mode = mode;
	bare.memfd = ph.memfd;
	sigaction(SIGSEGV, &sa, &old);
	us = median_of(rep_bare);
	sigaction(SIGSEGV, &old, NULL);
	return us;
}

static enum trap_verdict map_frame(void *owner, vaddr_t va, bool write)
{
	(void)owner;
	(void)write;
	va = PAGE_ROUND_DOWN(va);
	if (hostmap_map(win, va, ph.memfd, va >> PAGE_SHIFT, 1,
			HOSTMAP_PROT_RW))
		return TRAP_KILL;
	return TRAP_RETRY;
}

static double rep_trap(void)
{
	if (hostmap_revoke(win, 0, NPAGES))
		die("trap_revoke", EINVAL);
	return touch_pages(trap_window_addr(win, 0));
}

/* Map the whole window (one call), populate it, revoke in chunks. */
static double revoke_rep(size_t chunk)
{
	double t0;
	int err;

	err = hostmap_map(win, 0, ph.memfd, 0, NPAGES, HOSTMAP_PROT_RW);
	if (err)
		die("trap_map", -err);
	touch_pages(trap_window_addr(win, 0));
	t0 = now_us();
	for (size_t pg = 0; pg < NPAGES; pg += chunk)
		if (hostmap_revoke(win, pg << PAGE_SHIFT, chunk))
			die("trap_revoke", EINVAL);
	return (now_us() - t0) / NPAGES;
}

static double rep_revoke_single(void)
{
	return revoke_rep(1);
}

static double rep_revoke_range(void)
{
	return revoke_rep(RANGE_PAGES);
}

static void *spinner(void *arg)
{
	(void)arg;
	atomic_store(&spin_running, 1);
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
		;
	return NULL;
}

/* (d) again with TRAP_MAX_WINDOWS - 1 windows registered before win. */
static double bench_trap_last_slot(void)
{
	static struct trap_window *others[TRAP_MAX_WINDOWS - 1];
	double us;
	int err;

	trap_window_destroy(win);
	for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
		err = trap_window_create(PAGE_SIZE, NULL, &others[i]);
		if (err)
			die("trap_window_create", -err);
	}
	err = trap_window_create(NPAGES << PAGE_SHIFT, NULL, &win);
	if (err)
		die("trap_window_create", -err);
	us = median_of(rep_trap);
	for (size_t i = 0; i < ARRAY_SIZE(others); i++)
		trap_window_destroy(others[i]);
	return us;
}

static void bench_revoke(const char *who)
{
	char label[128];

	snprintf(label, sizeof(label), "(e) trap_revoke, 1 page per call, %s",
		 who);
	report(label, median_of(rep_revoke_single));
	snprintf(label, sizeof(label), "(e) trap_revoke, %d pages per call, %s",
		 RANGE_PAGES, who);
	report(label, median_of(rep_revoke_range));
}

static void setup(void)
{
	int err = phys_init(&ph, NPAGES, NULL);

	if (err)
		die("phys_init", -err);
	memset(ph.direct_map, 1, NPAGES << PAGE_SHIFT); /* frames exist */
	err = trap_install(map_frame);
	if (!err)
		err = trap_thread_init();
	if (!err)
		err = trap_window_create(NPAGES << PAGE_SHIFT, NULL, &win);
	if (err)
		die("trap setup", -err);
}

int main(void)
{
	pthread_t tid;

	setup();
	printf("bench_trap: %d pages per repetition, median of %d\n", NPAGES,
	       REPS);
	host_fault_us = median_of(rep_host_fault);
	report("(a) host first-touch fault (anon, MADV_NOHUGEPAGE)",
	       host_fault_us);
	report("(b) SIGSEGV + mprotect RW (+ the host fault)",
	       bench_bare(BARE_MPROTECT));
	report("(c) SIGSEGV + mmap memfd page MAP_SHARED|MAP_FIXED",
	       bench_bare(BARE_MMAP));
	report("(c) same, with MAP_POPULATE", bench_bare(BARE_MMAP_POPULATE));
	report("(d) trap module: window + resolver trap_map of a frame",
	       median_of(rep_trap));
	report("(d) same, 1023 other windows registered below it",
	       bench_trap_last_slot());
	bench_revoke("no other thread");
	if (pthread_create(&tid, NULL, spinner, NULL))
		die("pthread_create", EAGAIN);
	while (!atomic_load(&spin_running))
		;
	bench_revoke("another thread spinning");
	atomic_store(&spin_stop, 1);
	pthread_join(tid, NULL);
	trap_window_destroy(win);
	trap_thread_fini();
	trap_uninstall();
	phys_fini(&ph);
	return 0;
}
