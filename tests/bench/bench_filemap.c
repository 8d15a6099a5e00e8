/*
 * tests/bench/bench_filemap.c - the page cache's costs, each beside its
 * reference in the same run (medians of REPS).
 *
 * 1. Per page of a 64 MiB file read through a fresh mapping, in native and
 *    trace mode, in a machine whose frames the host has backed already
 *    (the first touch of a memfd page costs the host a clear_page):
 *      miss  the file is not cached: major faults, the reads (with the
 *            default 128 KiB readahead, and with none) from the host file
 *            (itself in the host's page cache);
 *      hit   the file is cached (a second mapping): minor faults, 16 pages
 *            per fault with fault-around;
 *    beside the first read of untouched anonymous memory (the zero page),
 *    the cheapest fault there is.
 * 2. Write-back: 64 MiB of a shared mapping dirtied, then vm_msync - pages
 *    per second, divided by raw pwrite of the same pages (32 at a time, as
 *    write-back's batches) from a host buffer to the same file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/benchutil.h"
#include "tests/lib/vmtest.h"

#define PAGE	 4096ULL
#define MiB	 (1ULL << 20)
#define RW	 (VM_PROT_READ | VM_PROT_WRITE)
#define REPS	 5
#define NPAGES	 16384 /* 64 MiB */
#define WB_BATCH 32
#define NS_PER_S 1e9

static int make_file(void)
{
	char path[] = "/tmp/vmemu-bench-filemap-XXXXXX";
	static uint64_t buf[PAGE / sizeof(uint64_t) * WB_BATCH];
	int fd = mkstemp(path);

	if (fd < 0)
		exit(1);
	unlink(path);
	for (uint64_t i = 0; i < NPAGES; i += WB_BATCH) {
		buf[0] = i;
		if (pwrite(fd, buf, sizeof(buf), (off_t)(i * PAGE)) !=
		    (ssize_t)sizeof(buf))
			exit(1);
	}
	return fd;
}

static struct vm *machine(enum vm_mode mode, unsigned ra_kb)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = 256 * MiB;
	cfg.kswapd = false;
	cfg.read_ahead_kb = ra_kb;
	return vmtest_create_cfg(&cfg);
}

/* Read one word of every page at va as the task's CPU would; ns/page. */
static double read_all(struct parked *p, uint64_t va)
{
	volatile uint64_t sum = 0;
	uint64_t t0 = bench_now_ns(), w;
	const volatile uint64_t *mem = vm_ptr(p->t, va);

	for (uint64_t i = 0; i < NPAGES; i++) {
		if (mem) {
			sum += mem[i * PAGE / sizeof(uint64_t)];
		} else {
			if (vm_access(p->t, va + i * PAGE, 0))
				exit(1);
			w = i;
			sum += w;
		}
	}
	(void)sum;
	return (double)(bench_now_ns() - t0) / NPAGES;
}

struct read_costs {
	double miss, hit, zero;
};

/*
 * Touch the frames of a fresh machine once (written and freed), so that
 * the host has backed its RAM: a miss then costs what it costs in a
 * machine that has been running, not the host's first touch of a frame.
 */
static void warm_frames(struct parked *p)
{
	uint64_t n = NPAGES * 3, a;

	a = vm_mmap(p->t, 0, n * PAGE, RW, VM_MAP_PRIVATE | VM_MAP_ANON);
	if (vm_mmap_failed(a))
		exit(1);
	for (uint64_t i = 0; i < n; i++)
		if (vm_write(p->t, a + i * PAGE, &i, sizeof(i)))
			exit(1);
	if (vm_munmap(p->t, a, n * PAGE))
		exit(1);
}

static struct read_costs read_costs(enum vm_mode mode, unsigned ra_kb, int fd)
{
	struct vm *vm = machine(mode, ra_kb);
	struct parked p;
	struct read_costs c;
	uint64_t va, anon;

	if (park_spawn(vm, &p, "reader") < 0)
		exit(1);
	warm_frames(&p);
	va = vm_mmap_file(p.t, 0, NPAGES * PAGE, VM_PROT_READ, VM_MAP_SHARED,
			  fd, 0);
	anon = vm_mmap(p.t, 0, NPAGES * PAGE, VM_PROT_READ,
		       VM_MAP_PRIVATE | VM_MAP_ANON);
	if (vm_mmap_failed(va) || vm_mmap_failed(anon))
		exit(1);
	c.miss = read_all(&p, va);
	if (vm_munmap(p.t, va, NPAGES * PAGE))
		exit(1);
	va = vm_mmap_file(p.t, 0, NPAGES * PAGE, VM_PROT_READ, VM_MAP_SHARED,
			  fd, 0);
	c.hit = read_all(&p, va);
	c.zero = read_all(&p, anon);
	park_release(&p, NULL);
	vmtest_destroy(vm);
	return c;
}

static void bench_reads(int fd)
{
	static const char *const names[] = { "native", "trace" };

	printf("== page cache: ns per page, 64 MiB file, fresh mapping\n");
	for (int m = 0; m < 2; m++) {
		double miss[REPS], miss0[REPS], hit[REPS], zero[REPS];
		char what[96];

		for (int r = 0; r < REPS; r++) {
			struct read_costs c =
				read_costs((enum vm_mode)m, 128, fd);

			miss[r] = c.miss;
			hit[r] = c.hit;
			zero[r] = c.zero;
			miss0[r] = read_costs((enum vm_mode)m, 0, fd).miss;
		}
		snprintf(what, sizeof(what), "%s miss, readahead 128K",
			 names[m]);
		bench_report(what, miss, REPS, "ns/page", NULL);
		snprintf(what, sizeof(what), "%s miss, no readahead", names[m]);
		bench_report(what, miss0, REPS, "ns/page", NULL);
		snprintf(what, sizeof(what), "%s hit (cached)", names[m]);
		bench_report(what, hit, REPS, "ns/page",
			     "fault-around: 16 pages per fault");
		snprintf(what, sizeof(what), "%s zero page (reference)",
			 names[m]);
		bench_report(what, zero, REPS, "ns/page", NULL);
	}
}

/* ---- write-back vs raw pwrite -------------------------------------------- */

static double writeback_pps(int fd)
{
	struct vm *vm = machine(VM_MODE_TRACE, 128);
	struct parked p;
	uint64_t va, t0, t1;

	if (park_spawn(vm, &p, "writer") < 0)
		exit(1);
	va = vm_mmap_file(p.t, 0, NPAGES * PAGE, RW, VM_MAP_SHARED, fd, 0);
	if (vm_mmap_failed(va))
		exit(1);
	for (uint64_t i = 0; i < NPAGES; i++) /* every page dirty */
		if (vm_write(p.t, va + i * PAGE, &i, sizeof(i)))
			exit(1);
	t0 = bench_now_ns();
	if (vm_msync(p.t, va, NPAGES * PAGE, VM_MS_SYNC))
		exit(1);
	t1 = bench_now_ns();
	park_release(&p, NULL);
	vmtest_destroy(vm);
	return NPAGES * NS_PER_S / (double)(t1 - t0);
}

static double raw_pps(int fd, uint8_t *buf)
{
	uint64_t t0 = bench_now_ns();

	for (uint64_t i = 0; i < NPAGES; i += WB_BATCH)
		if (pwrite(fd, buf + i * PAGE, WB_BATCH * PAGE,
			   (off_t)(i * PAGE)) != (ssize_t)(WB_BATCH * PAGE))
			exit(1);
	return NPAGES * NS_PER_S / (double)(bench_now_ns() - t0);
}

static void bench_writeback(int fd)
{
	uint8_t *buf = malloc(NPAGES * PAGE);
	double wb[REPS], raw[REPS], ratio[REPS];

	if (!buf)
		exit(1);
	memset(buf, 0x5a, NPAGES * PAGE);
	printf("== write-back: 64 MiB dirty in a shared mapping, vm_msync\n");
	for (int r = 0; r < REPS; r++) { /* alternating, same file */
		wb[r] = writeback_pps(fd);
		raw[r] = raw_pps(fd, buf);
		ratio[r] = wb[r] / raw[r];
	}
	bench_report("write-back", wb, REPS, "pages/s", NULL);
	bench_report("raw pwrite, 128 KiB", raw, REPS, "pages/s", NULL);
	bench_report("write-back / raw", ratio, REPS, "", "target >= 0.5");
	free(buf);
}

int main(void)
{
	int fd = make_file();

	bench_reads(fd);
	bench_writeback(fd);
	close(fd);
	return 0;
}
