/*
 * tests/bench/bench_compact.c - how fast compaction moves pages, next to a
 * plain memcpy of the same bytes, in the same run.
 *
 * Each repetition builds a fragmented machine (64 MiB, no swap, no
 * kswapd): one task fills almost all free memory page by page, then
 * unmaps every other page, so free memory is single-frame holes between
 * movable pages.  Then:
 *
 *   compaction  vm_compact(): scanners, isolation, the host revokes
 *               (native), the copies, PTE/rmap/LRU updates, frees and
 *               merges; pages moved / wall time
 *   memcpy      the same number of pages copied with memcpy between two
 *               host buffers, page by page (the second of two passes:
 *               caches and TLB warm, the best case for it)
 *
 * in trace and in native mode (where moving a page also revokes its host
 * mapping: one host call per run of contiguous pages of the batch).  The
 * figures are medians over REPS repetitions of pages/s, and the median of
 * the per-repetition ratios memcpy / compaction: how many times a bare
 * copy is faster than a migration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/benchutil.h"
#include "tests/lib/vmtest.h"

#include "vm/machine.h"

#define MiB	 (1ULL << 20)
#define MEM	 (64 * MiB)
#define REPS	 5
#define NS_PER_S 1e9
#define RW	 (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	 (VM_MAP_PRIVATE | VM_MAP_ANON)
#define MARGIN	 256 /* frames left for page tables and VMAs */

static void fill(struct vm_task *t, uint64_t va, uint64_t i)
{
	uint8_t buf[PAGE_SIZE];
	void *p = vm_ptr(t, va);

	memset(buf, (int)(i & 0xff), sizeof(buf));
	if (p)
		memcpy(p, buf, PAGE_SIZE);
	else if (vm_write(t, va, buf, PAGE_SIZE))
		abort();
}

/* A fragmented machine with its parked task; the pages kept. */
static struct vm *build(enum vm_mode mode, struct parked *p)
{
	struct vm_config cfg;
	struct vm_stat st;
	struct vm *vm;
	uint64_t n, base, low;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = MEM;
	cfg.kswapd = false;
	vm = vmtest_create_cfg(&cfg);
	if (park_spawn(vm, p, "bench") < 0)
		abort();
	vm_stat(vm, &st);
	vm_lock(vm);
	low = vm->wmark.low;
	vm_unlock(vm);
	n = st.nr_free_pages - low - MARGIN;
	base = vm_mmap(p->t, 0, n * PAGE_SIZE, RW, ANON);
	if (vm_mmap_failed(base))
		abort();
	for (uint64_t i = 0; i < n; i++)
		fill(p->t, base + i * PAGE_SIZE, i);
	for (uint64_t i = 1; i < n; i += 2)
		if (vm_munmap(p->t, base + i * PAGE_SIZE, PAGE_SIZE))
			abort();
	return vm;
}

/* memcpy of npages pages from src to dst; pages/s. */
static double copy_rate(uint8_t *dst, const uint8_t *src, uint64_t npages)
{
	uint64_t t0 = bench_now_ns(), t1;

	for (uint64_t i = 0; i < npages; i++)
		memcpy(dst + i * PAGE_SIZE, src + i * PAGE_SIZE, PAGE_SIZE);
	t1 = bench_now_ns();
	return (double)npages * NS_PER_S / (double)(t1 - t0);
}

static void bench_mode(enum vm_mode mode)
{
	double comp[REPS], copy[REPS], ratio[REPS];
	const char *name = mode == VM_MODE_NATIVE ? "native" : "trace";
	uint64_t moved = 0;
	char what[64], note[64];

	for (int r = 0; r < REPS; r++) {
		struct parked p;
		struct vm *vm = build(mode, &p);
		uint64_t t0 = bench_now_ns(), t1;
		int n = vm_compact(vm);
		uint8_t *a, *b;

		t1 = bench_now_ns();
		if (n <= 0)
			abort();
		moved = (uint64_t)n;
		comp[r] = (double)n * NS_PER_S / (double)(t1 - t0);
		a = malloc((size_t)n * PAGE_SIZE);
		b = malloc((size_t)n * PAGE_SIZE);
		if (!a || !b)
			abort();
		memset(a, 1, (size_t)n * PAGE_SIZE);
		memset(b, 2, (size_t)n * PAGE_SIZE);
		copy_rate(b, a, moved); /* warm: caches, TLB */
		copy[r] = copy_rate(b, a, moved);
		ratio[r] = copy[r] / comp[r];
		free(a);
		free(b);
		park_release(&p, NULL);
		vmtest_destroy(vm);
	}
	snprintf(what, sizeof(what), "  %s: compaction (%llu pages moved)",
		 name, (unsigned long long)moved);
	bench_report(what, comp, REPS, "pages/s", NULL);
	snprintf(what, sizeof(what), "  %s: memcpy of the same bytes", name);
	bench_report(what, copy, REPS, "pages/s", NULL);
	snprintf(note, sizeof(note), "memcpy is %.1fx faster",
		 bench_median(ratio, REPS));
	snprintf(what, sizeof(what), "  %s: memcpy / compaction", name);
	bench_report(what, ratio, REPS, "x", note);
}

int main(void)
{
	printf("bench_compact: %llu MiB machine, every other page free; "
	       "median of %d runs\n",
	       (unsigned long long)(MEM / MiB), REPS);
	bench_mode(VM_MODE_TRACE);
	bench_mode(VM_MODE_NATIVE);
	return 0;
}
