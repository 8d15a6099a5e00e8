/*
 * workloads/wl_malloc.c - the malloc kind: a task that allocates through
 * the emulated C library (user/umalloc.h) and verifies every block.
 *
 * One op is one call, drawn from the task's own generator:
 *
 *   no live block, or a coin (p = 1/2):   malloc (1 in 8 of them calloc)
 *   else 1 in 8:                           realloc a random live block
 *   else:                                  free a random live block
 *
 * Request sizes are log-uniform in [16, max] (so small requests dominate
 * and a few large ones cross glibc's 128 KiB mmap threshold); live bytes
 * stay under size: a malloc that would pass it frees random blocks
 * first.  Contents: a block with serial s holds bytes of the words
 * mix(s) + k x GOLDEN; a calloc'd block must read zeros until it is
 * filled.  A block is checked before it is freed, the kept prefix after
 * a realloc, and every block at the end; umalloc_check runs every
 * WL_HEAP_CHECK_OPS ops and at the end.  At exit all blocks but `leak`
 * are freed and the C library's leak report (umalloc_report_leaks, into
 * the event log's leaks table) must name exactly the ones kept.  Native mode stores and loads through the window
 * (vm_ptr: real accesses that fault), trace mode through vm_write and
 * vm_read, with the same sequence of calls for a seed.
 *
 * A malloc that returns NULL frees a random block and counts as an op;
 * with no block left to free the task ends (WL_EXIT_MALLOC).  The host
 * arrays (blocks, buf) belong to the proc and are freed with the run.
 * Only the proc's own task runs this (no locking).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "user/umalloc.h"
#include "workloads/wl_internal.h"

#define GOLDEN	       0x9E3779B97F4A7C15ULL
#define MIN_REQUEST    16
#define CALLOC_ONE_IN  8
#define REALLOC_ONE_IN 8
#define BLOCKS_START   64

/* The content of a block with serial s (0: zeros), n bytes, into buf. */
static void pattern(uint8_t *buf, uint64_t serial, uint64_t n)
{
	uint64_t base = serial ? wl_mix(serial) : 0;

	for (uint64_t i = 0; i < n; i += sizeof(uint64_t)) {
		uint64_t w = serial ? base + (i / sizeof(uint64_t)) * GOLDEN :
				      0;
		uint64_t k = n - i < sizeof(w) ? n - i : sizeof(w);

		memcpy(buf + i, &w, k);
	}
}

static int host_nomem(struct wl_proc *p)
{
	p->res = (struct wl_result){ .code = WL_EXIT_HOST, .err = -ENOMEM };
	return -1;
}

/* Store buf's first n bytes at va; 0 or -1. */
static int put(struct wl_proc *p, uint64_t va, const uint8_t *buf, uint64_t n)
{
	void *dst = p->native ? vm_ptr(p->t, va) : NULL;
	int err;

	if (dst) {
		memcpy(dst, buf, n); /* real stores */
		return 0;
	}
	err = vm_write(p->t, va, buf, n);
	if (err)
		p->res =
			(struct wl_result){ .code = WL_EXIT_NOMEM, .err = err };
	return err ? -1 : 0;
}

/* Check that va holds the first n bytes of b's pattern; 0 or -1. */
static int check(struct wl_proc *p, const struct wl_block *b, uint64_t n)
{
	const uint8_t *got = p->native ? vm_ptr(p->t, b->va) : NULL;
	uint8_t *want = p->buf, *copy = p->buf + p->run->spec.max_req;
	uint64_t i = 0;
	int err;

	if (p->run->hook) /* tests: page is the bytes about to be checked */
		p->run->hook(p->run->hook_ctx, p->t, n, b->va, false);
	pattern(want, b->serial, n);
	if (!got) {
		err = vm_read(p->t, b->va, copy, n);
		if (err) {
			p->res = (struct wl_result){ .code = WL_EXIT_NOMEM,
						     .err = err };
			return -1;
		}
		got = copy;
	}
	if (memcmp(got, want, n) == 0) /* real loads in native mode */
		return 0;
	while (i + 1 < n && got[i] == want[i])
		i++;
	p->res = (struct wl_result){ .code = WL_EXIT_MISMATCH,
				     .pid = atomic_load(&p->pid),
				     .va = b->va + i,
				     .byte = (unsigned)i,
				     .block_va = b->va,
				     .block_bytes = b->nbytes,
				     .gen = b->serial != 0 };
	return -1;
}

/* Give b a fresh serial and store its pattern; 0 or -1. */
static int fill(struct wl_proc *p, struct wl_block *b)
{
	b->serial = ++p->next_serial;
	pattern(p->buf, b->serial, b->nbytes);
	return put(p, b->va, p->buf, b->nbytes);
}

static uint64_t draw_size(struct wl_proc *p)
{
	double lo = log(MIN_REQUEST), hi = log((double)p->run->spec.max_req);
	uint64_t n = (uint64_t)exp(lo + (hi - lo) * wl_rand_unit(p));

	if (n > p->run->spec.size)
		n = p->run->spec.size;
	return n < MIN_REQUEST ? MIN_REQUEST : n;
}

/* Free live block i after checking it; 0 or -1. */
static int drop(struct wl_proc *p, uint64_t i)
{
	struct wl_block *b = &p->blocks[i];

	if (check(p, b, b->nbytes) < 0)
		return -1;
	ufree(p->heap, b->va);
	p->live_bytes -= b->nbytes;
	*b = p->blocks[--p->nblocks];
	return 0;
}

static int drop_random(struct wl_proc *p)
{
	return drop(p, wl_rand(p) % p->nblocks);
}

static int add_block(struct wl_proc *p, uint64_t va, uint64_t n)
{
	if (p->nblocks == p->cap_blocks) {
		uint64_t cap = p->cap_blocks ? 2 * p->cap_blocks : BLOCKS_START;
		struct wl_block *b = realloc(p->blocks, cap * sizeof(*b));

		if (!b) {
			ufree(p->heap, va);
			return host_nomem(p);
		}
		p->blocks = b;
		p->cap_blocks = cap;
	}
	p->blocks[p->nblocks++] = (struct wl_block){ va, n, 0 };
	p->live_bytes += n;
	return 0;
}

/* malloc or calloc one block and fill it; 0 or -1. */
static int do_malloc(struct wl_proc *p)
{
	uint64_t n = draw_size(p), va;
	bool zeroed = wl_rand(p) % CALLOC_ONE_IN == 0;

	while (p->nblocks && p->live_bytes + n > p->run->spec.size)
		if (drop_random(p) < 0)
			return -1;
	va = zeroed ? ucalloc(p->heap, 1, n) : umalloc(p->heap, n);
	if (!va) {
		if (!p->nblocks) {
			p->res = (struct wl_result){ .code = WL_EXIT_MALLOC,
						     .page = n };
			return -1;
		}
		return drop_random(p); /* make room; try again later */
	}
	if (add_block(p, va, n) < 0)
		return -1;
	if (zeroed && check(p, &p->blocks[p->nblocks - 1], n) < 0)
		return -1;
	return fill(p, &p->blocks[p->nblocks - 1]);
}

/* realloc a random block: the kept prefix must survive; 0 or -1. */
static int do_realloc(struct wl_proc *p)
{
	struct wl_block *b = &p->blocks[wl_rand(p) % p->nblocks];
	uint64_t n = draw_size(p), keep = n < b->nbytes ? n : b->nbytes, va;

	if (p->live_bytes - b->nbytes + n > p->run->spec.size)
		return 0; /* would pass the bound: skip */
	va = urealloc(p->heap, b->va, n);
	if (!va)
		return 0; /* the old block stays, unchanged */
	p->live_bytes += n - b->nbytes;
	b->va = va;
	b->nbytes = n;
	if (check(p, b, keep) < 0)
		return -1;
	return fill(p, b);
}

static int heap_check(struct wl_proc *p)
{
	int rc = umalloc_check(p->heap);

	if (rc == 0)
		return 0;
	p->res = (struct wl_result){ .code = WL_EXIT_HEAP, .err = rc };
	return -1;
}

/*
 * Free every block but `leak` of them (all checked), then the heap must
 * be sound and the C library's leak report (logged) must name exactly
 * the blocks kept.
 */
static int drain(struct wl_proc *p)
{
	uint64_t keep = p->run->spec.leak, nbytes = 0;
	struct vm_leaks lk;
	int rc;

	keep = keep < p->nblocks ? keep : p->nblocks;
	while (p->nblocks > keep)
		if (drop(p, p->nblocks - 1) < 0)
			return -1;
	for (uint64_t i = 0; i < keep; i++) {
		if (check(p, &p->blocks[i], p->blocks[i].nbytes) < 0)
			return -1;
		nbytes += p->blocks[i].nbytes;
	}
	if (heap_check(p) < 0)
		return -1;
	rc = umalloc_report_leaks(p->heap, &lk);
	if (rc <= UMALLOC_CHECK_ARENA && rc >= UMALLOC_CHECK_COUNTERS) {
		p->res = (struct wl_result){ .code = WL_EXIT_HEAP, .err = rc };
		return -1;
	}
	/* rc < 0 otherwise: the log failed; vmemu itself reports that. */
	if (lk.blocks == keep && lk.nbytes == nbytes)
		return 0;
	p->res = (struct wl_result){ .code = WL_EXIT_HEAP,
				     .err = UMALLOC_CHECK_COUNTERS };
	return -1;
}

static int one_op(struct wl_proc *p)
{
	if (!p->nblocks || wl_rand(p) % 2 == 0)
		return do_malloc(p);
	if (wl_rand(p) % REALLOC_ONE_IN == 0)
		return do_realloc(p);
	return drop_random(p);
}

int wl_malloc_body(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;
	int rc;

	p->buf = malloc(2 * s->max_req);
	if (!p->buf)
		return host_nomem(p);
	rc = umalloc_heap_create(p->t, (enum umalloc_policy)s->policy,
				 &p->heap);
	if (rc < 0) {
		p->res = (struct wl_result){ .code = WL_EXIT_NOMEM, .err = rc };
		return -1;
	}
	for (uint64_t op = 0; op < s->ops; op++) {
		if (op % WL_CHECK_OPS == 0 && wl_checkpoint(p))
			return 1;
		if (op % WL_HEAP_CHECK_OPS == 0 && heap_check(p) < 0)
			return -1;
		p->ops_done++;
		if (one_op(p) < 0)
			return -1;
	}
	return drain(p);
}
