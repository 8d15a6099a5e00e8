/*
 * tests/bench/bench_swap.c - swap I/O throughput next to the raw syscalls.
 *
 * One 64 MiB swap area (an unlinked temporary file, $TMPDIR or /tmp).  Four
 * patterns, each timed through the swap layer and then as raw syscalls on
 * the same file descriptor, at the same offsets, in the same run:
 *
 *   swap-out, batches   swap_write_pages of 32 consecutive slots (one run:
 *                       one pwritev of 32 iovecs) vs one pwrite of 128 KiB
 *                       from a contiguous buffer
 *   swap-in, batches    swap_read_pages, the same, vs pread of 128 KiB
 *   swap-out, single    swap_write_pages of one page, slots in a random
 *                       order, vs pwrite of 4 KiB at the same offsets
 *   swap-in, single     swap_read_pages of one page vs pread of 4 KiB
 *
 * The swap layer's pages come from frames scattered over a 16 MiB pool (as
 * frames of the direct map are); the raw calls use one contiguous buffer,
 * the best case for them (cache-hot).  A third figure, "raw, same frames",
 * makes the raw calls from the swap layer's own scattered frames
 * (pwritev/preadv of the same iovecs for batches): swap / that ratio is the
 * layer's own overhead, the rest is memory.  Each repetition covers every
 * slot once; the
 * file is written in full first, so no repetition pays for converting
 * preallocated (unwritten) extents.  The figures are page-cache speeds:
 * nothing is synced.  Printed: medians over REPS repetitions of pages/s,
 * and the median of the per-repetition ratios swap / raw (target >= 0.5).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "swap/swap_internal.h"
#include "tests/lib/benchutil.h"
#include "tests/lib/vmtest.h"

#define AREA_PAGES  16384 /* slots: 64 MiB */
#define POOL_PAGES  4096  /* scattered source/destination frames */
#define BATCH	    32	  /* pages per batch (SWAP_CLUSTER_MAX) */
#define REPS	    7
#define SEED	    42
#define NS_PER_S    1e9
#define KILO	    1e3
#define TARGET	    0.5
#define NR_PATTERNS 4

enum mode { M_SWAP, M_RAW, M_RAW_FRAMES, NR_MODES };

struct bench {
	struct swap_area *a;
	int fd;
	uint8_t *pool;	 /* POOL_PAGES frames */
	uint8_t *contig; /* BATCH pages, for the raw calls */
	uint64_t *order; /* slots 1..AREA_PAGES in a random order */
	uint64_t *frame; /* frame index in pool, per slot */
	uint64_t rng;
};

static uint8_t *frame_of(const struct bench *b, uint64_t slot)
{
	return b->pool + b->frame[slot] * PAGE_SIZE;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_swap: %s: %s\n", what, strerror(err));
	exit(1);
}

/* swap_write_pages / swap_read_pages of slots[0..n). */
static void swap_io(struct bench *b, const uint64_t *slots, unsigned n,
		    bool write)
{
	const void *src[BATCH];
	void *dst[BATCH];
	int rc;

	for (unsigned i = 0; i < n; i++)
		src[i] = dst[i] = frame_of(b, slots[i]);
	rc = write ? swap_write_pages(b->a, slots, src, n, NULL) :
		     swap_read_pages(b->a, slots, dst, n, NULL);
	if (rc)
		die("swap I/O", -rc);
}

/* pwrite / pread of n pages at slot's offset, from the contiguous buffer. */
static void raw_io(struct bench *b, uint64_t slot, unsigned n, bool write)
{
	size_t len = (size_t)n * PAGE_SIZE;
	off_t off = (off_t)(slot * PAGE_SIZE);
	ssize_t r = write ? pwrite(b->fd, b->contig, len, off) :
			    pread(b->fd, b->contig, len, off);

	if (r != (ssize_t)len)
		die("raw I/O", r < 0 ? errno : EIO);
}

/* pwritev / preadv of slots[0..n) (consecutive) from the swap's frames. */
static void raw_frames_io(struct bench *b, const uint64_t *slots, unsigned n,
			  bool write)
{
	struct iovec iov[BATCH];
	off_t off = (off_t)(slots[0] * PAGE_SIZE);
	ssize_t r;

	for (unsigned i = 0; i < n; i++)
		iov[i] = (struct iovec){ frame_of(b, slots[i]), PAGE_SIZE };
	r = write ? pwritev(b->fd, iov, (int)n, off) :
		    preadv(b->fd, iov, (int)n, off);
	if (r != (ssize_t)(n * PAGE_SIZE))
		die("raw I/O", r < 0 ? errno : EIO);
}

/* One pass over every slot; returns pages per second. */
static double pass(struct bench *b, bool batched, bool write, enum mode m)
{
	unsigned step = batched ? BATCH : 1;
	uint64_t t0 = bench_now_ns(), slots[BATCH];

	for (uint64_t i = 0; i < AREA_PAGES; i += step) {
		for (unsigned k = 0; k < step; k++)
			slots[k] = batched ? 1 + i + k : b->order[i];
		if (m == M_RAW)
			raw_io(b, slots[0], step, write);
		else if (m == M_RAW_FRAMES)
			raw_frames_io(b, slots, step, write);
		else
			swap_io(b, slots, step, write);
	}
	return AREA_PAGES * NS_PER_S / (double)(bench_now_ns() - t0);
}

static void setup(struct bench *b)
{
	struct swap_config cfg = { .nbytes = (AREA_PAGES + 1) * PAGE_SIZE,
				   .seed = SEED };
	char err[256];
	int rc = swap_area_create(&cfg, &b->a, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "bench_swap: %s\n", err);
		exit(1);
	}
	b->fd = b->a->fd;
	b->rng = SEED;
	b->pool = malloc(POOL_PAGES * PAGE_SIZE);
	b->contig = malloc(BATCH * PAGE_SIZE);
	b->order = malloc(AREA_PAGES * sizeof(*b->order));
	b->frame = malloc((AREA_PAGES + 1) * sizeof(*b->frame));
	if (!b->pool || !b->contig || !b->order || !b->frame)
		die("malloc", ENOMEM);
	memset(b->pool, 0x5a, POOL_PAGES * PAGE_SIZE);
	memset(b->contig, 0xa5, BATCH * PAGE_SIZE);
	for (uint64_t s = 0; s <= AREA_PAGES; s++)
		b->frame[s] = vmtest_rand(&b->rng) % POOL_PAGES;
	for (uint64_t i = 0; i < AREA_PAGES; i++)
		b->order[i] = 1 + i;
	for (uint64_t i = AREA_PAGES - 1; i > 0; i--) {
		uint64_t j = vmtest_rand(&b->rng) % (i + 1), t = b->order[i];

		b->order[i] = b->order[j];
		b->order[j] = t;
	}
}

/* Print pattern p's figures; returns the median ratio swap / raw. */
static double report(const char *what, double (*kps)[REPS])
{
	static const char *const name[NR_MODES] = { "swap", "raw",
						    "raw, same frames" };
	double ratio[REPS], own[REPS], med;
	char line[128];

	for (unsigned r = 0; r < REPS; r++) {
		ratio[r] = kps[M_SWAP][r] / kps[M_RAW][r];
		own[r] = kps[M_SWAP][r] / kps[M_RAW_FRAMES][r];
	}
	printf("%s\n", what);
	for (unsigned m = 0; m < NR_MODES; m++) {
		snprintf(line, sizeof(line), "  %s", name[m]);
		bench_report(line, kps[m], REPS, "kpages/s", NULL);
	}
	med = bench_report("  ratio swap / raw", ratio, REPS, "", NULL);
	bench_report("  ratio swap / raw, same frames", own, REPS, "", NULL);
	return med;
}

int main(void)
{
	static const char *const what[NR_PATTERNS] = {
		"swap-out, batches of 32 consecutive slots",
		"swap-in, batches of 32 consecutive slots",
		"swap-out, single pages, scattered slots",
		"swap-in, single pages, scattered slots",
	};
	static double kps[NR_PATTERNS][NR_MODES][REPS];
	double med[NR_PATTERNS];
	struct bench b;

	setup(&b);
	pass(&b, true, true, M_RAW); /* allocate every block of the file */
	for (unsigned r = 0; r < REPS; r++)
		for (unsigned p = 0; p < NR_PATTERNS; p++)
			for (unsigned m = 0; m < NR_MODES; m++)
				kps[p][m][r] =
					pass(&b, p < 2, p % 2 == 0, m) / KILO;
	for (unsigned p = 0; p < NR_PATTERNS; p++)
		med[p] = report(what[p], kps[p]);
	swap_area_destroy(b.a);
	for (unsigned p = 0; p < NR_PATTERNS; p++)
		if (med[p] < TARGET)
			printf("below target %.1f: %s\n", TARGET, what[p]);
	return 0;
}
