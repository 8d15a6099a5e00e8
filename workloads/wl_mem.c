/*
 * workloads/wl_mem.c - a task's region and the one place it touches it.
 *
 * The region is a list of chunks the task mapped (one for most kinds; a
 * hog adds one per step), addressed as pages 0..npages-1.  For each page
 * the task keeps who wrote it last and how often (owner, gen), and so
 * knows its whole content: word i of a page is
 *
 *     gen == 0:  0                              (never written)
 *     else:      mix(owner, gen, page) + i * GOLDEN
 *
 * wl_touch is every access a workload makes: it calls the test hook,
 * then stores a whole page (write) or loads a whole page and compares it
 * (read).  Native mode goes through vm_ptr with memcpy/memcmp - real
 * stores and loads that trap - and trace mode through vm_write/vm_read;
 * the expected content is the same, so the same sequence of wl_touch
 * calls verifies the same bytes in both.
 *
 * Invariants: (1) after any wl_touch returns 0, every page's content in
 * emulated memory equals the pattern of (owner[page], gen[page]); (2) the
 * sequence of wl_touch calls depends only on the seed and the spec.
 * Only the proc's own task calls these (no locking); host allocations
 * happen before the memory they describe is touched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "user/umalloc.h"
#include "workloads/wl_internal.h"

#define GOLDEN	      0x9E3779B97F4A7C15ULL
#define PAGE_WORDS    (VM_PAGE_SIZE / sizeof(uint64_t))
#define HOG_CAP_START 16 /* chunk slots a growing region starts with */
#define NSEC_PER_MSEC 1000000L

uint64_t wl_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

uint64_t wl_rand(struct wl_proc *p)
{
	p->rng += GOLDEN;
	return wl_mix(p->rng);
}

double wl_rand_unit(struct wl_proc *p)
{
	return (double)(wl_rand(p) >> 11) * 0x1p-53;
}

struct wl_proc *wl_proc_new(struct wl_run *run, uint64_t seed)
{
	struct wl_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->scratch = malloc(2 * VM_PAGE_SIZE);
	if (!p->scratch) {
		free(p);
		return NULL;
	}
	p->run = run;
	p->seed = seed;
	p->rng = wl_mix(seed);
	p->fd = -1;
	p->next = atomic_load(&run->procs);
	while (!atomic_compare_exchange_weak(&run->procs, &p->next, p))
		;
	return p;
}

void wl_proc_free(struct wl_proc *p)
{
	umalloc_heap_destroy(p->heap);
	free(p->blocks);
	free(p->buf);
	if (p->fd >= 0)
		close(p->fd);
	free(p->bases);
	free(p->owner);
	free(p->gen);
	free(p->scratch);
	free(p);
}

/* Make room for cap chunks in p's arrays; 0 or -ENOMEM. */
static int region_reserve(struct wl_proc *p, uint64_t cap)
{
	uint64_t pages = cap * p->chunk_pages;
	uint64_t *bases;
	uint32_t *owner, *gen;

	if (cap <= p->cap_chunks)
		return 0;
	if (pages / cap != p->chunk_pages || pages > SIZE_MAX / sizeof(*gen))
		return -ENOMEM;
	bases = realloc(p->bases, cap * sizeof(*bases));
	if (bases)
		p->bases = bases;
	owner = realloc(p->owner, pages * sizeof(*owner));
	if (owner)
		p->owner = owner;
	gen = realloc(p->gen, pages * sizeof(*gen));
	if (gen)
		p->gen = gen;
	if (!bases || !owner || !gen)
		return -ENOMEM;
	p->cap_chunks = cap;
	return 0;
}

struct wl_proc *wl_proc_clone(struct wl_proc *parent, uint64_t seed)
{
	struct wl_proc *c = wl_proc_new(parent->run, seed);
	uint64_t n = parent->npages;

	if (!c)
		return NULL;
	c->native = parent->native;
	c->chunk_pages = parent->chunk_pages;
	if (region_reserve(c, parent->nchunks ? parent->nchunks : 1) < 0)
		return NULL; /* freed with the run */
	memcpy(c->bases, parent->bases, parent->nchunks * sizeof(*c->bases));
	memcpy(c->owner, parent->owner, n * sizeof(*c->owner));
	memcpy(c->gen, parent->gen, n * sizeof(*c->gen));
	c->nchunks = parent->nchunks;
	c->npages = n;
	return c;
}

int wl_region_grow(struct wl_proc *p)
{
	uint64_t cap = p->cap_chunks ? p->cap_chunks : 1, va;
	int prot = p->run->spec.kind == WL_ZERO ? VM_PROT_READ :
						  VM_PROT_READ | VM_PROT_WRITE;

	if (p->run->spec.kind == WL_HOG && cap < HOG_CAP_START)
		cap = HOG_CAP_START;
	if (p->nchunks == cap)
		cap *= 2;
	if (region_reserve(p, cap) < 0) {
		p->res.code = WL_EXIT_HOST;
		p->res.err = -ENOMEM;
		return -1;
	}
	va = vm_mmap(p->t, 0, p->chunk_pages * VM_PAGE_SIZE, prot,
		     VM_MAP_PRIVATE | VM_MAP_ANON);
	if (vm_mmap_failed(va)) {
		p->res.code = WL_EXIT_NOMEM;
		p->res.err = vm_mmap_error(va);
		return -1;
	}
	memset(p->owner + p->npages, 0, p->chunk_pages * sizeof(*p->owner));
	memset(p->gen + p->npages, 0, p->chunk_pages * sizeof(*p->gen));
	p->bases[p->nchunks++] = va;
	p->npages += p->chunk_pages;
	return 0;
}

uint64_t wl_page_va(const struct wl_proc *p, uint64_t page)
{
	return p->bases[page / p->chunk_pages] +
	       (page % p->chunk_pages) * VM_PAGE_SIZE;
}

static void fill_expected(uint64_t *w, uint32_t owner, uint32_t gen,
			  uint64_t page)
{
	uint64_t b;

	if (gen == 0) {
		memset(w, 0, VM_PAGE_SIZE);
		return;
	}
	b = wl_mix((((uint64_t)owner << 32) | gen) ^ wl_mix(page + 1));
	for (uint64_t i = 0; i < PAGE_WORDS; i++)
		w[i] = b + i * GOLDEN;
}

/* Record a mismatch of page (content at got vs scratch); returns -1. */
static int mismatch(struct wl_proc *p, uint64_t page, const uint8_t *got)
{
	const uint8_t *want = (const uint8_t *)p->scratch;
	unsigned i = 0;

	while (i < VM_PAGE_SIZE - 1 && got[i] == want[i])
		i++;
	p->res = (struct wl_result){ .code = WL_EXIT_MISMATCH,
				     .pid = atomic_load(&p->pid),
				     .va = wl_page_va(p, page) + i,
				     .page = page,
				     .byte = i,
				     .owner = p->owner[page],
				     .gen = p->gen[page] };
	return -1;
}

/* vm_read/vm_write failed without ending the task: report it. */
static int access_failed(struct wl_proc *p, int err)
{
	p->res.code = WL_EXIT_NOMEM;
	p->res.err = err;
	return -1;
}

static int store_page(struct wl_proc *p, uint64_t va)
{
	void *dst = p->native ? vm_ptr(p->t, va) : NULL;
	int err;

	if (dst) {
		memcpy(dst, p->scratch, VM_PAGE_SIZE); /* real stores */
		return 0;
	}
	err = vm_write(p->t, va, p->scratch, VM_PAGE_SIZE);
	return err ? access_failed(p, err) : 0;
}

static int check_page(struct wl_proc *p, uint64_t page)
{
	uint64_t va = wl_page_va(p, page);
	const void *src = p->native ? vm_ptr(p->t, va) : NULL;
	uint64_t *got = p->scratch + PAGE_WORDS;
	int err;

	if (src) {
		if (memcmp(src, p->scratch, VM_PAGE_SIZE) == 0) /* real loads */
			return 0;
		memcpy(got, src, VM_PAGE_SIZE);
		return mismatch(p, page, (const uint8_t *)got);
	}
	err = vm_read(p->t, va, got, VM_PAGE_SIZE);
	if (err)
		return access_failed(p, err);
	if (memcmp(got, p->scratch, VM_PAGE_SIZE) == 0)
		return 0;
	return mismatch(p, page, (const uint8_t *)got);
}

int wl_touch(struct wl_proc *p, uint64_t page, bool write)
{
	struct wl_run *run = p->run;

	if (run->hook)
		run->hook(run->hook_ctx, p->t, page, wl_page_va(p, page),
			  write);
	p->ops_done++;
	if (!write) {
		fill_expected(p->scratch, p->owner[page], p->gen[page], page);
		return check_page(p, page);
	}
	p->gen[page]++;
	p->owner[page] = (uint32_t)atomic_load(&p->pid);
	fill_expected(p->scratch, p->owner[page], p->gen[page], page);
	return store_page(p, wl_page_va(p, page));
}

bool wl_checkpoint(struct wl_proc *p)
{
	vm_brk(p->t, 0); /* a call that delivers a pending kill */
	return atomic_load(&p->run->stop);
}

int wl_verify_all(struct wl_proc *p)
{
	for (uint64_t page = 0; page < p->npages; page++) {
		if (page % WL_CHECK_OPS == 0 && wl_checkpoint(p))
			return 1;
		if (wl_touch(p, page, false) < 0)
			return -1;
	}
	return 0;
}

bool wl_sleep(struct wl_proc *p, uint64_t ms)
{
	while (ms) {
		uint64_t slice = ms < WL_SLEEP_SLICE_MS ? ms :
							  WL_SLEEP_SLICE_MS;
		struct timespec ts = { 0, (long)slice * NSEC_PER_MSEC };

		nanosleep(&ts, NULL);
		ms -= slice;
		if (wl_checkpoint(p))
			return true;
	}
	return false;
}
