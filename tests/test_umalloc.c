/*
 * tests/test_umalloc.c - the emulated tasks' malloc (user/umalloc).
 *
 * The strongest test is differential: one random request sequence runs
 * through umalloc (first, next, best, worst fit; both modes) inside a
 * task, and through a tiny independent reference below - an array of
 * blocks scanned naively, with the same split / coalesce / minimum-block
 * rules, the same rover rules, brk growth, trimming and glibc's mmap
 * threshold rule - and every returned address must be the same.  Then:
 * a textbook example asserted address by address; the thresholds
 * (including the dynamic rise) and trimming; data across fork (COW);
 * libc-style aborts on double free and corruption; one corruption per
 * umalloc_check code; out-of-memory accounting; the segregated classes.
 *
 * Task functions never assert (cmocka asserts longjmp on the main thread
 * only): they record into a struct that the main thread checks after
 * vm_wait.
 * Under swap pressure (a heap three times the machine's RAM) every byte
 * written must come back, through swap-out and swap-in of payloads and of
 * the allocator's own tags and links.
 */
#include <errno.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "user/umalloc.h"

#define MEM_BYTES (256ULL << 20)
#define KIB	  1024ULL
#define MIB	  (1024ULL * KIB)
#define PAGE	  VM_PAGE_SIZE
#define RW	  (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	  (VM_MAP_PRIVATE | VM_MAP_ANON)

/* ---- running a task ------------------------------------------------------- */

static void run_task(enum vm_mode mode, vm_task_fn fn, void *arg,
		     struct vm_exit *ex)
{
	struct vm *vm = vmtest_create(mode, MEM_BYTES);
	int pid = vm_spawn(vm, "umalloc", 0, fn, arg);

	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, ex), pid);
	vmtest_destroy(vm);
}

static void run_ok(enum vm_mode mode, vm_task_fn fn, void *arg)
{
	struct vm_exit ex;

	run_task(mode, fn, arg, &ex);
	if (ex.reason != VM_EXIT_NORMAL)
		fail_msg("task ended with reason %d (%s) va %#llx", ex.reason,
			 ex.msg, (unsigned long long)ex.fault_va);
	assert_int_equal(ex.code, 0);
}

/* The task's CPU storing/loading bytes (either mode). */
static void poke_bytes(struct vm_task *t, uint64_t va, const void *buf,
		       size_t n)
{
	void *p = vm_ptr(t, va);

	if (p)
		memcpy(p, buf, n);
	else
		vm_write(t, va, buf, n);
}

static void peek_bytes(struct vm_task *t, uint64_t va, void *buf, size_t n)
{
	void *p = vm_ptr(t, va);

	if (p)
		memcpy(buf, p, n);
	else
		vm_read(t, va, buf, n);
}

static void poke(struct vm_task *t, uint64_t va, uint64_t v)
{
	poke_bytes(t, va, &v, sizeof(v));
}

static uint64_t peek(struct vm_task *t, uint64_t va)
{
	uint64_t v;

	peek_bytes(t, va, &v, sizeof(v));
	return v;
}

static struct umalloc_stats stats_of(struct umalloc_heap *h)
{
	struct umalloc_stats st;

	umalloc_stats(h, &st);
	return st;
}

/* ---- the reference model ---------------------------------------------------- */

/*
 * An array of blocks in address order tiling [first, top - 8): what
 * umalloc's brk heap should look like, computed the slow, obvious way.
 * Mmapped requests are only predicted (REF_MMAP); the test adopts the
 * real address.
 */
#define REF_MMAP UINT64_MAX

struct ref_blk {
	uint64_t addr, size;
	bool free;
};

struct ref {
	enum umalloc_policy pol;
	struct ref_blk *b;
	size_t n;
	uint64_t top, rover; /* rover: a free block's address, 0 = start */
	uint64_t mmap_thr, trim_thr, pad;
	bool dyn;
};

static uint64_t ref_asize(uint64_t n)
{
	uint64_t a = (n + UMALLOC_OVERHEAD + 15) & ~15ULL;

	return a < UMALLOC_MIN_BLOCK ? UMALLOC_MIN_BLOCK : a;
}

static void ref_init(struct ref *r, enum umalloc_policy pol, uint64_t first,
		     uint64_t top)
{
	memset(r, 0, sizeof(*r));
	r->pol = pol;
	r->b = malloc(sizeof(*r->b) * 65536);
	r->b[0] = (struct ref_blk){ first, top - 8 - first, true };
	r->n = 1;
	r->top = top;
	r->mmap_thr = UMALLOC_DEFAULT_MMAP_THRESHOLD;
	r->trim_thr = UMALLOC_DEFAULT_TRIM_THRESHOLD;
	r->pad = UMALLOC_DEFAULT_TOP_PAD;
	r->dyn = true;
}

static size_t ref_index(const struct ref *r, uint64_t addr)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->b[i].addr == addr)
			return i;
	fail_msg("reference: no block at %#llx", (unsigned long long)addr);
	return 0;
}

static void ref_insert(struct ref *r, size_t at, struct ref_blk blk)
{
	memmove(&r->b[at + 1], &r->b[at], (r->n - at) * sizeof(*r->b));
	r->b[at] = blk;
	r->n++;
}

static void ref_delete(struct ref *r, size_t at)
{
	memmove(&r->b[at], &r->b[at + 1], (r->n - at - 1) * sizeof(*r->b));
	r->n--;
}

/* The first free block at or after index i, or 0 (the start). */
static uint64_t ref_free_from(const struct ref *r, size_t i)
{
	for (; i < r->n; i++)
		if (r->b[i].free)
			return r->b[i].addr;
	return 0;
}

static long ref_find(const struct ref *r, uint64_t asize)
{
	long pick = -1;
	size_t start = r->rover ? ref_index(r, r->rover) : 0;

	for (size_t k = 0; k < r->n; k++) {
		size_t i = r->pol == UMALLOC_NEXT_FIT ? (start + k) % r->n : k;
		const struct ref_blk *x = &r->b[i];

		if (!x->free || x->size < asize)
			continue;
		if (r->pol == UMALLOC_FIRST_FIT || r->pol == UMALLOC_NEXT_FIT)
			return (long)i;
		if (pick < 0 ||
		    (r->pol == UMALLOC_BEST_FIT && x->size < r->b[pick].size) ||
		    (r->pol == UMALLOC_WORST_FIT && x->size > r->b[pick].size))
			pick = (long)i;
	}
	return pick;
}

static size_t ref_grow(struct ref *r, uint64_t asize)
{
	struct ref_blk *last = &r->b[r->n - 1];
	uint64_t have = r->n && last->free ? last->size : 0;
	uint64_t grow = (asize - have + r->pad + PAGE - 1) & ~(PAGE - 1);

	if (have) {
		last->size += grow;
	} else {
		r->b[r->n] = (struct ref_blk){ r->top - 8, grow, true };
		r->n++;
	}
	r->top += grow;
	return r->n - 1;
}

static void ref_place(struct ref *r, size_t i, uint64_t asize)
{
	struct ref_blk *x = &r->b[i];

	if (x->size - asize >= UMALLOC_MIN_BLOCK) {
		ref_insert(r, i + 1,
			   (struct ref_blk){ x->addr + asize, x->size - asize,
					     true });
		r->b[i].size = asize;
		r->rover = r->b[i + 1].addr;
	} else {
		r->rover = ref_free_from(r, i + 1);
	}
	r->b[i].free = false;
}

static uint64_t ref_malloc(struct ref *r, uint64_t n)
{
	uint64_t asize = ref_asize(n);
	long i = ref_find(r, asize);

	if (i < 0 && n >= r->mmap_thr)
		return REF_MMAP;
	if (i < 0)
		i = (long)ref_grow(r, asize);
	ref_place(r, (size_t)i, asize);
	return r->b[i].addr + 8;
}

/* Merge free block i+1 into free block i; the rover follows. */
static void ref_merge_next(struct ref *r, size_t i)
{
	if (r->rover == r->b[i + 1].addr)
		r->rover = r->b[i].addr;
	r->b[i].size += r->b[i + 1].size;
	ref_delete(r, i + 1);
}

static void ref_trim(struct ref *r, uint64_t merged)
{
	struct ref_blk *last = &r->b[r->n - 1];
	uint64_t area, extra;

	if (merged < UMALLOC_TRIM_MIN_CHUNK || !last->free ||
	    last->size < r->trim_thr)
		return;
	area = last->size - UMALLOC_MIN_BLOCK - 1;
	if (area <= r->pad)
		return;
	extra = (area - r->pad) & ~(PAGE - 1);
	last->size -= extra;
	r->top -= extra;
}

static void ref_free(struct ref *r, uint64_t va)
{
	size_t i = ref_index(r, va - 8);

	r->b[i].free = true;
	if (i + 1 < r->n && r->b[i + 1].free)
		ref_merge_next(r, i);
	if (i > 0 && r->b[i - 1].free)
		ref_merge_next(r, --i);
	ref_trim(r, r->b[i].size);
}

static void ref_free_mmap(struct ref *r, uint64_t len)
{
	if (r->dyn && len > r->mmap_thr && len <= UMALLOC_MMAP_THRESHOLD_MAX) {
		r->mmap_thr = len;
		r->trim_thr = 2 * len;
	}
}

/* Realloc of brk block va in place; false if it must move. */
static bool ref_resize(struct ref *r, uint64_t va, uint64_t n)
{
	size_t i = ref_index(r, va - 8);
	uint64_t asize = ref_asize(n), size = r->b[i].size, total;
	struct ref_blk *nx = i + 1 < r->n ? &r->b[i + 1] : NULL;

	if (asize <= size) {
		if (size - asize < UMALLOC_MIN_BLOCK)
			return true;
		r->b[i].size = asize;
		ref_insert(r, i + 1,
			   (struct ref_blk){ va - 8 + asize, size - asize,
					     true });
		if (i + 2 < r->n && r->b[i + 2].free)
			ref_merge_next(r, i + 1);
		return true;
	}
	if (!nx || !nx->free || size + nx->size < asize)
		return false;
	total = size + nx->size;
	if (total - asize >= UMALLOC_MIN_BLOCK) {
		if (r->rover == nx->addr)
			r->rover = va - 8 + asize;
		*nx = (struct ref_blk){ va - 8 + asize, total - asize, true };
		r->b[i].size = asize;
		return true;
	}
	if (r->rover == nx->addr)
		r->rover = ref_free_from(r, i + 2);
	ref_delete(r, i + 1);
	r->b[i].size = total;
	return true;
}

/* ---- differential runs -------------------------------------------------------- */

enum { OP_MALLOC, OP_FREE, OP_REALLOC };

struct dop {
	uint8_t kind;
	uint16_t slot;
	uint32_t nbytes;
};

#define DIFF_SLOTS 96
#define DIFF_OPS   2500
#define DIFF_BATCH 50

/* Fixed knobs for a run (umalloc_opt), or all 0: glibc's defaults. */
struct diff_knobs {
	uint64_t mmap_thr, trim_thr, pad;
};

struct diff_run {
	enum umalloc_policy pol;
	struct diff_knobs k;
	const struct dop *ops;
	size_t nops;
	uint64_t res[DIFF_OPS];
	uint64_t first, top0, top_end, thr_end;
	int check_err;
	size_t check_at;
};

static int diff_task(struct vm_task *t, void *arg)
{
	struct diff_run *d = arg;
	uint64_t slot[DIFF_SLOTS] = { 0 };
	struct umalloc_heap *h;
	struct umalloc_stats st;

	if (umalloc_heap_create(t, d->pol, &h))
		return 1;
	if (d->k.mmap_thr) {
		umalloc_opt(h, UMALLOC_MMAP_THRESHOLD, d->k.mmap_thr);
		umalloc_opt(h, UMALLOC_TRIM_THRESHOLD, d->k.trim_thr);
		umalloc_opt(h, UMALLOC_TOP_PAD, d->k.pad);
	}
	st = stats_of(h);
	d->first = st.heap_first;
	d->top0 = st.heap_top;
	for (size_t i = 0; i < d->nops; i++) {
		const struct dop *o = &d->ops[i];

		if (o->kind == OP_MALLOC)
			slot[o->slot] = umalloc(h, o->nbytes);
		else if (o->kind == OP_REALLOC)
			slot[o->slot] = urealloc(h, slot[o->slot], o->nbytes);
		else
			ufree(h, slot[o->slot]);
		if (o->kind == OP_FREE)
			slot[o->slot] = 0;
		d->res[i] = slot[o->slot];
		if ((i % DIFF_BATCH == 0 || i + 1 == d->nops) &&
		    !d->check_err) {
			d->check_err = umalloc_check(h);
			d->check_at = i;
		}
	}
	st = stats_of(h);
	d->top_end = st.heap_top;
	d->thr_end = st.mmap_threshold;
	umalloc_heap_destroy(h);
	return 0;
}

static uint32_t diff_size(uint64_t *rs)
{
	uint64_t r = vmtest_rand(rs) % 1000;

	if (r < 700)
		return (uint32_t)(vmtest_rand(rs) % 600);
	if (r < 950)
		return (uint32_t)(600 + vmtest_rand(rs) % (16 * KIB));
	return (uint32_t)(64 * KIB + vmtest_rand(rs) % (256 * KIB));
}

static void diff_gen(struct dop *ops, size_t n, uint64_t seed)
{
	bool live[DIFF_SLOTS] = { false };
	uint64_t rs = seed;

	for (size_t i = 0; i < n; i++) {
		uint16_t s = (uint16_t)(vmtest_rand(&rs) % DIFF_SLOTS);
		uint64_t r = vmtest_rand(&rs) % 10;

		ops[i] = (struct dop){ OP_MALLOC, s, diff_size(&rs) };
		if (live[s] && r < 6)
			ops[i].kind = OP_FREE;
		else if (live[s] || r < 2)
			ops[i].kind = OP_REALLOC;
		live[s] = !(ops[i].kind == OP_FREE ||
			    (ops[i].kind == OP_REALLOC && live[s] &&
			     !ops[i].nbytes));
	}
}

struct ref_slot {
	uint64_t va, len; /* len: mapping length if mmapped, else 0 */
};

/* Replay op i on the reference; the address it must return. */
static uint64_t ref_step(struct ref *r, struct ref_slot *s, const struct dop *o)
{
	uint64_t len = (o->nbytes + UMALLOC_MMAP_HDR + PAGE - 1) & ~(PAGE - 1);
	uint64_t va = s->va, q;

	if (o->kind == OP_FREE || (o->kind == OP_REALLOC && va && !o->nbytes)) {
		if (s->len)
			ref_free_mmap(r, s->len);
		else if (va)
			ref_free(r, va);
		*s = (struct ref_slot){ 0, 0 };
		return 0;
	}
	if (o->kind == OP_REALLOC && va) {
		if (s->len ? o->nbytes <= s->len - UMALLOC_MMAP_HDR :
			     ref_resize(r, va, o->nbytes))
			return va;
		q = ref_malloc(r, o->nbytes);
		ref_step(r, s, &(struct dop){ OP_FREE, 0, 0 });
	} else {
		q = ref_malloc(r, o->nbytes);
	}
	s->len = q == REF_MMAP ? len : 0;
	return q;
}

static void diff_compare(struct diff_run *d, uint64_t seed)
{
	struct ref_slot slot[DIFF_SLOTS] = { { 0, 0 } };
	struct ref r;

	ref_init(&r, d->pol, d->first, d->top0);
	if (d->k.mmap_thr) {
		r.mmap_thr = d->k.mmap_thr;
		r.trim_thr = d->k.trim_thr;
		r.pad = d->k.pad;
		r.dyn = false;
	}
	for (size_t i = 0; i < d->nops; i++) {
		struct ref_slot *s = &slot[d->ops[i].slot];
		uint64_t want = ref_step(&r, s, &d->ops[i]);

		if (want == REF_MMAP) {
			if (d->res[i] < r.top || (d->res[i] - 32) % PAGE)
				fail_msg(
					"%s seed %llu op %zu: %#llx not mmapped",
					umalloc_policy_name(d->pol),
					(unsigned long long)seed, i,
					(unsigned long long)d->res[i]);
			want = d->res[i];
		}
		if (d->res[i] != want)
			fail_msg(
				"%s seed %llu op %zu (%d slot %d %u): got %#llx"
				" want %#llx",
				umalloc_policy_name(d->pol),
				(unsigned long long)seed, i, d->ops[i].kind,
				d->ops[i].slot, d->ops[i].nbytes,
				(unsigned long long)d->res[i],
				(unsigned long long)want);
		s->va = want;
	}
	assert_int_equal(d->top_end, r.top);
	assert_int_equal(d->thr_end, r.mmap_thr);
	free(r.b);
}

static void diff_run_one(enum umalloc_policy pol, enum vm_mode mode,
			 size_t nops, struct diff_knobs k)
{
	uint64_t seed = vmtest_seed(umalloc_policy_name(pol));
	struct dop *ops = calloc(nops, sizeof(*ops));
	struct diff_run *d = calloc(1, sizeof(*d));

	diff_gen(ops, nops, seed);
	*d = (struct diff_run){ .pol = pol, .k = k, .ops = ops, .nops = nops };
	run_ok(mode, diff_task, d);
	if (d->check_err)
		fail_msg("umalloc_check %d after op %zu (seed %llu)",
			 d->check_err, d->check_at, (unsigned long long)seed);
	diff_compare(d, seed);
	free(ops);
	free(d);
}

/* glibc's defaults (dynamic threshold), then fixed knobs, no top pad. */
static void diff_policy(enum umalloc_policy pol, enum vm_mode mode, size_t nops)
{
	diff_run_one(pol, mode, nops, (struct diff_knobs){ 0, 0, 0 });
	diff_run_one(pol, mode, nops,
		     (struct diff_knobs){ 64 * KIB, 96 * KIB, 0 });
}

static void test_umalloc_differential_first_fit(void **state)
{
	(void)state;
	diff_policy(UMALLOC_FIRST_FIT, VM_MODE_NATIVE, DIFF_OPS);
}

static void test_umalloc_differential_next_fit(void **state)
{
	(void)state;
	diff_policy(UMALLOC_NEXT_FIT, VM_MODE_NATIVE, DIFF_OPS);
}

static void test_umalloc_differential_best_fit(void **state)
{
	(void)state;
	diff_policy(UMALLOC_BEST_FIT, VM_MODE_NATIVE, DIFF_OPS);
}

static void test_umalloc_differential_worst_fit(void **state)
{
	(void)state;
	diff_policy(UMALLOC_WORST_FIT, VM_MODE_NATIVE, DIFF_OPS);
}

static void test_umalloc_differential_trace_mode(void **state)
{
	(void)state;
	diff_policy(UMALLOC_NEXT_FIT, VM_MODE_TRACE, DIFF_OPS / 4);
	diff_policy(UMALLOC_BEST_FIT, VM_MODE_TRACE, DIFF_OPS / 4);
}

/* ---- a textbook example -------------------------------------------------------- */

/*
 * On a fresh heap (one 4064-byte free block), allocate A..F (blocks of
 * 1024 128 320 128 512 128 bytes), free A, C, E: holes of 1024 @0, 320
 * @1152, 512 @1600, and the rest (1824 @2240).  Then ask for 288, 480, 16
 * (blocks 304, 496, 32).  Offsets from the first block:
 *
 *   first  0     304   800   the front fills first
 *   next   2240  2544  3040  the rover keeps going from the last cut
 *   best   1152  1600  0     exact-ish holes, no slivers left
 *   worst  2240  2544  0     the largest; a 1024 tie goes to the lowest
 *   seg    1152  1600  0     288 -> class 320, 480 -> class 512
 */
static const uint64_t example_want[UMALLOC_NPOLICIES][3] = {
	[UMALLOC_FIRST_FIT] = { 0, 304, 800 },
	[UMALLOC_NEXT_FIT] = { 2240, 2544, 3040 },
	[UMALLOC_BEST_FIT] = { 1152, 1600, 0 },
	[UMALLOC_WORST_FIT] = { 2240, 2544, 0 },
	[UMALLOC_SEGREGATED] = { 1152, 1600, 0 },
};

struct example_run {
	enum umalloc_policy pol;
	uint64_t got[3];
	int check;
};

static int example_task(struct vm_task *t, void *arg)
{
	static const uint32_t first[6] = { 1008, 112, 304, 112, 496, 112 };
	static const uint32_t then[3] = { 288, 480, 16 };
	struct example_run *e = arg;
	struct umalloc_heap *h;
	uint64_t p[6], base;

	if (umalloc_heap_create(t, e->pol, &h))
		return 1;
	base = stats_of(h).heap_first + UMALLOC_WORD;
	for (int i = 0; i < 6; i++)
		p[i] = umalloc(h, first[i]);
	for (int i = 0; i < 6; i += 2)
		ufree(h, p[i]);
	for (int i = 0; i < 3; i++)
		e->got[i] = umalloc(h, then[i]) - base;
	e->check = umalloc_check(h);
	umalloc_heap_destroy(h);
	return 0;
}

static void test_umalloc_textbook_placement(void **state)
{
	(void)state;
	for (int pol = 0; pol < UMALLOC_NPOLICIES; pol++) {
		struct example_run e = { .pol = (enum umalloc_policy)pol };

		run_ok(VM_MODE_NATIVE, example_task, &e);
		assert_int_equal(e.check, 0);
		for (int i = 0; i < 3; i++)
			if (e.got[i] != example_want[pol][i])
				fail_msg("%s: request %d at +%llu, want +%llu",
					 umalloc_policy_name(e.pol), i,
					 (unsigned long long)e.got[i],
					 (unsigned long long)
						 example_want[pol][i]);
	}
}

/* ---- brk/mmap thresholds and trimming ------------------------------------------ */

struct thr_run {
	bool p1_heap, p2_mapped, p3_heap, p4_mapped, g_heap, c_mapped;
	uint64_t p2_usable, thr_after_p2, trim_after_p2, thr_after_p4;
	uint64_t thr_after_huge, thr_fixed_after, chunks_mid;
	int opt_big, opt_bad, check;
	bool dyn_after_opt;
};

static bool in_heap(struct umalloc_heap *h, uint64_t va)
{
	struct umalloc_stats st = stats_of(h);

	return va >= st.heap_first && va < st.heap_top;
}

static bool is_chunk(struct umalloc_heap *h, uint64_t va)
{
	return va && !in_heap(h, va) && (va - UMALLOC_MMAP_HDR) % PAGE == 0;
}

static void thr_dynamic(struct umalloc_heap *h, struct thr_run *r)
{
	uint64_t p2 = umalloc(h, 128 * KIB), p1 = umalloc(h, 128 * KIB - 1);
	uint64_t p3, p4;

	r->p1_heap = in_heap(h, p1);
	r->p2_mapped = is_chunk(h, p2);
	r->p2_usable = umalloc_usable_size(h, p2);
	r->chunks_mid = stats_of(h).mmapped_chunks;
	ufree(h, p2);
	r->thr_after_p2 = stats_of(h).mmap_threshold;
	r->trim_after_p2 = stats_of(h).trim_threshold;
	p3 = umalloc(h, 128 * KIB); /* below the risen threshold now */
	r->p3_heap = in_heap(h, p3);
	p4 = umalloc(h, 300 * KIB);
	r->p4_mapped = is_chunk(h, p4);
	ufree(h, p4);
	r->thr_after_p4 = stats_of(h).mmap_threshold;
	ufree(h, umalloc(h, 40 * MIB)); /* > 32 MiB: no rise */
	r->thr_after_huge = stats_of(h).mmap_threshold;
	ufree(h, p1);
	ufree(h, p3);
}

/* Fixed thresholds; a large request a free block satisfies stays. */
static void thr_fixed(struct umalloc_heap *h, struct thr_run *r)
{
	uint64_t f, b, g, c;

	r->opt_big = umalloc_opt(h, UMALLOC_MMAP_THRESHOLD, 33 * MIB);
	r->opt_bad = umalloc_opt(h, 12345, 1);
	umalloc_opt(h, UMALLOC_MMAP_THRESHOLD, 1 * MIB);
	f = umalloc(h, 600 * KIB);
	b = umalloc(h, 100);
	ufree(h, f);
	umalloc_opt(h, UMALLOC_MMAP_THRESHOLD, 64 * KIB);
	r->dyn_after_opt = stats_of(h).dynamic_threshold;
	g = umalloc(h, 100 * KIB); /* >= threshold, but a free block fits */
	r->g_heap = in_heap(h, g);
	c = umalloc(h, 2 * MIB); /* nothing fits: mmapped */
	r->c_mapped = is_chunk(h, c);
	ufree(h, c);
	r->thr_fixed_after = stats_of(h).mmap_threshold;
	ufree(h, g);
	ufree(h, b);
}

static int thr_task(struct vm_task *t, void *arg)
{
	struct thr_run *r = arg;
	struct umalloc_heap *h;

	if (umalloc_heap_create(t, UMALLOC_FIRST_FIT, &h))
		return 1;
	thr_dynamic(h, r);
	thr_fixed(h, r);
	r->check = umalloc_check(h);
	umalloc_heap_destroy(h);
	return 0;
}

static void test_umalloc_mmap_threshold_dynamic(void **state)
{
	uint64_t len128 = (128 * KIB + UMALLOC_MMAP_HDR + PAGE - 1) &
			  ~(PAGE - 1);
	uint64_t len300 = (300 * KIB + UMALLOC_MMAP_HDR + PAGE - 1) &
			  ~(PAGE - 1);
	struct thr_run r = { 0 };

	(void)state;
	run_ok(VM_MODE_NATIVE, thr_task, &r);
	assert_true(r.p1_heap);	  /* 128 KiB - 1: brk */
	assert_true(r.p2_mapped); /* 128 KiB: mmap */
	assert_int_equal(r.chunks_mid, 1);
	assert_int_equal(r.p2_usable, len128 - UMALLOC_MMAP_HDR);
	assert_int_equal(r.thr_after_p2, len128); /* risen to the chunk */
	assert_int_equal(r.trim_after_p2, 2 * len128);
	assert_true(r.p3_heap);
	assert_true(r.p4_mapped);
	assert_int_equal(r.thr_after_p4, len300);
	assert_int_equal(r.thr_after_huge, len300); /* capped at 32 MiB */
	assert_int_equal(r.opt_big, -EINVAL);
	assert_int_equal(r.opt_bad, -EINVAL);
	assert_false(r.dyn_after_opt);
	assert_true(r.g_heap);
	assert_true(r.c_mapped);
	assert_int_equal(r.thr_fixed_after, 64 * KIB); /* fixed: no rise */
	assert_int_equal(r.check, 0);
}

struct trim_run {
	uint64_t first, top_grown, top_trimmed, top_kept, top_final;
	uint64_t ntrim_a, ntrim_b, ntrim_c, ntrim_off, fp_grown, fp_trimmed;
	int check;
};

static int trim_task(struct vm_task *t, void *arg)
{
	struct trim_run *r = arg;
	struct umalloc_heap *h;
	uint64_t a, b, c;

	if (umalloc_heap_create(t, UMALLOC_BEST_FIT, &h))
		return 1;
	umalloc_opt(h, UMALLOC_MMAP_THRESHOLD, 1 * MIB); /* 512K: brk */
	r->first = stats_of(h).heap_first;
	a = umalloc(h, 512 * KIB);
	r->top_grown = stats_of(h).heap_top;
	r->fp_grown = stats_of(h).footprint;
	ufree(h, a); /* the whole heap is one free block: trimmed */
	r->top_trimmed = stats_of(h).heap_top;
	r->fp_trimmed = stats_of(h).footprint;
	r->ntrim_a = stats_of(h).ntrim;
	b = umalloc(h, 512 * KIB);
	c = umalloc(h, 100);
	ufree(h, b); /* merged >= 64K but not the last block: kept */
	r->top_kept = stats_of(h).heap_top;
	r->ntrim_b = stats_of(h).ntrim;
	ufree(h, c); /* now it is: trimmed */
	r->ntrim_c = stats_of(h).ntrim;
	umalloc_opt(h, UMALLOC_TRIM_THRESHOLD, UINT64_MAX);
	ufree(h, umalloc(h, 512 * KIB));
	r->ntrim_off = stats_of(h).ntrim;
	r->top_final = stats_of(h).heap_top;
	r->check = umalloc_check(h);
	umalloc_heap_destroy(h);
	return 0;
}

static void test_umalloc_trim(void **state)
{
	struct trim_run r = { 0 };
	uint64_t left;

	(void)state;
	run_ok(VM_MODE_NATIVE, trim_task, &r);
	left = r.top_trimmed - UMALLOC_WORD - r.first; /* the one block */
	assert_true(r.top_grown - r.first >= 512 * KIB);
	assert_int_equal(r.ntrim_a, 1);
	/* glibc's systrim: keep top pad + minimum block, whole pages off */
	assert_true(left > UMALLOC_DEFAULT_TOP_PAD + UMALLOC_MIN_BLOCK);
	assert_true(left <= UMALLOC_DEFAULT_TOP_PAD + UMALLOC_MIN_BLOCK + PAGE);
	assert_true(r.fp_trimmed < r.fp_grown);
	assert_int_equal(r.ntrim_b, 1);
	assert_true(r.top_kept >= r.first + 512 * KIB);
	assert_int_equal(r.ntrim_c, 2);
	assert_int_equal(r.ntrim_off, 2); /* trim threshold "infinite" */
	assert_true(r.top_final >= r.first + 512 * KIB);
	assert_int_equal(r.check, 0);
}

/* ---- fork: the child's heap is a COW copy -------------------------------------- */

#define FORK_BLOCKS 24

struct fork_run {
	struct vm *vm;
	enum umalloc_policy pol;
	uint64_t arena, blk[FORK_BLOCKS];
	size_t len[FORK_BLOCKS];
	sem_t parent_wrote, child_wrote;
	int child_attach, child_bad, child_check, child_check_end;
	int parent_bad, parent_check, child_reason, child_code;
};

static uint8_t fork_byte(int who, int i, size_t k)
{
	return (uint8_t)(who * 71 + i * 13 + k * 7);
}

static void fork_fill(struct vm_task *t, const struct fork_run *f, int who,
		      int from, int to)
{
	uint8_t buf[4096];

	for (int i = from; i < to; i++) {
		for (size_t k = 0; k < f->len[i]; k++)
			buf[k] = fork_byte(who, i, k);
		poke_bytes(t, f->blk[i], buf, f->len[i]);
	}
}

static int fork_verify(struct vm_task *t, const struct fork_run *f, int who,
		       int from, int to)
{
	uint8_t buf[4096];
	int bad = 0;

	for (int i = from; i < to; i++) {
		peek_bytes(t, f->blk[i], buf, f->len[i]);
		for (size_t k = 0; k < f->len[i]; k++)
			bad += buf[k] != fork_byte(who, i, k);
	}
	return bad;
}

static int fork_child(struct vm_task *t, void *arg)
{
	struct fork_run *f = arg;
	struct umalloc_heap *h;
	uint64_t extra[8];

	f->child_attach = umalloc_heap_attach(t, f->arena, &h);
	sem_wait(&f->parent_wrote);
	if (f->child_attach) {
		sem_post(&f->child_wrote);
		return 1;
	}
	f->child_bad = fork_verify(t, f, 1, 0, FORK_BLOCKS); /* pre-fork */
	f->child_check = umalloc_check(h);
	fork_fill(t, f, 2, FORK_BLOCKS / 2, FORK_BLOCKS);
	for (int i = 0; i < 8; i++)
		ufree(h, f->blk[i]), extra[i] = umalloc(h, 40 + 100 * i);
	f->child_bad += fork_verify(t, f, 2, FORK_BLOCKS / 2, FORK_BLOCKS);
	f->child_check_end = umalloc_check(h);
	(void)extra;
	sem_post(&f->child_wrote);
	umalloc_heap_destroy(h);
	return 0;
}

static int fork_parent(struct vm_task *t, void *arg)
{
	struct fork_run *f = arg;
	struct umalloc_heap *h;
	struct vm_exit ex;
	int pid;

	if (umalloc_heap_create(t, f->pol, &h))
		return 1;
	f->arena = umalloc_heap_arena(h);
	for (int i = 0; i < FORK_BLOCKS; i++) {
		f->len[i] = 16 + (size_t)i * 160;
		f->blk[i] = umalloc(h, f->len[i]);
	}
	fork_fill(t, f, 1, 0, FORK_BLOCKS);
	pid = vm_fork(t, fork_child, f);
	if (pid < 0)
		return 2;
	fork_fill(t, f, 3, 0, FORK_BLOCKS / 2); /* after the fork: COW */
	sem_post(&f->parent_wrote);
	sem_wait(&f->child_wrote);
	f->parent_bad = fork_verify(t, f, 3, 0, FORK_BLOCKS / 2) +
			fork_verify(t, f, 1, FORK_BLOCKS / 2, FORK_BLOCKS);
	for (int i = 0; i < FORK_BLOCKS; i += 3)
		ufree(h, f->blk[i]);
	f->parent_check = umalloc_check(h);
	if (vm_wait(f->vm, pid, &ex) != pid)
		return 3;
	f->child_reason = ex.reason;
	f->child_code = ex.code;
	umalloc_heap_destroy(h);
	return 0;
}

static void fork_mode(enum vm_mode mode, enum umalloc_policy pol)
{
	struct vm *vm = vmtest_create(mode, MEM_BYTES);
	struct fork_run *f = calloc(1, sizeof(*f));
	struct vm_exit ex;
	int pid;

	f->vm = vm;
	f->pol = pol;
	sem_init(&f->parent_wrote, 0, 0);
	sem_init(&f->child_wrote, 0, 0);
	pid = vm_spawn(vm, "forker", 0, fork_parent, f);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	vmtest_destroy(vm);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_int_equal(f->child_reason, VM_EXIT_NORMAL);
	assert_int_equal(f->child_code, 0);
	assert_int_equal(f->child_attach, 0);
	assert_int_equal(f->child_bad, 0);  /* parent's writes unseen */
	assert_int_equal(f->parent_bad, 0); /* child's writes unseen */
	assert_int_equal(f->child_check, 0);
	assert_int_equal(f->child_check_end, 0);
	assert_int_equal(f->parent_check, 0);
	free(f);
}

static void test_umalloc_fork_cow_heap(void **state)
{
	(void)state;
	fork_mode(VM_MODE_NATIVE, UMALLOC_FIRST_FIT);
	fork_mode(VM_MODE_NATIVE, UMALLOC_SEGREGATED);
	fork_mode(VM_MODE_TRACE, UMALLOC_NEXT_FIT);
}

/* ---- libc-style aborts ------------------------------------------------------------ */

struct abort_case {
	const char *name;
	void (*provoke)(struct vm_task *t, struct umalloc_heap *h);
	const char *msg;
};

static void ab_double_free(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t p = umalloc(h, 100);

	(void)t;
	umalloc(h, 100);
	ufree(h, p);
	ufree(h, p);
}

static void ab_double_free_merged(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t a = umalloc(h, 100), b = umalloc(h, 100);

	(void)t;
	umalloc(h, 100);
	ufree(h, a);
	ufree(h, b); /* merges into a */
	ufree(h, b);
}

static void ab_misaligned(struct vm_task *t, struct umalloc_heap *h)
{
	(void)t;
	ufree(h, umalloc(h, 100) + 8);
}

static void ab_not_from_heap(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t va = vm_mmap(t, 0, PAGE, RW, ANON);

	ufree(h, va + UMALLOC_MMAP_HDR);
}

static void ab_interior(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t p = umalloc(h, 200);

	poke(t, p + 24, 0); /* what free would take for a header */
	ufree(h, p + 32);
}

static void ab_header(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t p = umalloc(h, 100);

	umalloc(h, 100);
	poke(t, p - 8, peek(t, p - 8) + 16); /* size no longer matches */
	ufree(h, p);
}

static void ab_prev_size(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t a = umalloc(h, 100), b = umalloc(h, 100);

	umalloc(h, 100);
	ufree(h, a);
	poke(t, a - 8, peek(t, a - 8) ^ (1ULL << 48)); /* a's header */
	ufree(h, b); /* consolidating with a */
}

static void ab_top(struct vm_task *t, struct umalloc_heap *h)
{
	struct umalloc_stats st = stats_of(h);

	poke(t, st.heap_top - 16, peek(t, st.heap_top - 16) + 32);
	umalloc(h, 64 * KIB); /* must grow: looks at the top block */
}

static void ab_list(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t a = umalloc(h, 100);

	umalloc(h, 100);
	ufree(h, a);
	poke(t, a, 0x123458); /* a's next link */
	umalloc(h, 100);
}

static void ab_chunk_twice(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t c = umalloc(h, 1 * MIB);

	(void)t;
	ufree(h, c);
	ufree(h, c);
}

static void ab_realloc_freed(struct vm_task *t, struct umalloc_heap *h)
{
	uint64_t p = umalloc(h, 100);

	(void)t;
	umalloc(h, 100);
	ufree(h, p);
	urealloc(h, p, 200);
}

static const struct abort_case abort_cases[] = {
	{ "double free", ab_double_free, "double free or corruption (!prev)" },
	{ "double free after merge", ab_double_free_merged,
	  "double free or corruption (!prev)" },
	{ "misaligned", ab_misaligned, "free(): invalid pointer" },
	{ "not from the heap", ab_not_from_heap, "free(): invalid pointer" },
	{ "interior pointer", ab_interior, "free(): invalid size" },
	{ "corrupted header", ab_header, "corrupted size vs. prev_size" },
	{ "corrupted free neighbour", ab_prev_size,
	  "corrupted size vs. prev_size while consolidating" },
	{ "corrupted top", ab_top, "malloc(): corrupted top size" },
	{ "corrupted link", ab_list, "malloc(): corrupted free list" },
	{ "chunk freed twice", ab_chunk_twice, "free(): invalid pointer" },
	{ "realloc of freed", ab_realloc_freed, "realloc(): invalid pointer" },
};

struct abort_run {
	const struct abort_case *c;
	enum umalloc_policy pol;
	struct umalloc_heap *h; /* freed by the main thread */
};

static int abort_task(struct vm_task *t, void *arg)
{
	struct abort_run *a = arg;

	if (umalloc_heap_create(t, a->pol, &a->h))
		return 1;
	a->c->provoke(t, a->h);
	return 2; /* should not get here */
}

static void test_umalloc_corruption_aborts_task(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(abort_cases) / sizeof(abort_cases[0]);
	     i++) {
		for (int pol = 0; pol < UMALLOC_NPOLICIES; pol += 4) {
			struct abort_run a = { &abort_cases[i],
					       (enum umalloc_policy)pol, NULL };
			struct vm_exit ex;

			run_task(VM_MODE_NATIVE, abort_task, &a, &ex);
			umalloc_heap_destroy(a.h);
			if (ex.reason != VM_EXIT_ABORT ||
			    strcmp(ex.msg, a.c->msg) != 0)
				fail_msg(
					"%s (%s): reason %d msg '%s', want '%s'",
					a.c->name, umalloc_policy_name(a.pol),
					ex.reason, ex.msg, a.c->msg);
		}
	}
}

/* ---- umalloc_check: one corruption per finding ----------------------------------- */

/*
 * The fixture: blocks A B C D F (100 bytes: 128-byte blocks) and a
 * mmapped chunk E; B and D freed.  Free list (fit): B, D, the rest.
 */
struct fixture {
	uint64_t arena, a, b, c, d, e, f, top, rest;
};

typedef void (*corrupt_fn)(struct vm_task *t, const struct fixture *x);

static void tag2(struct vm_task *t, uint64_t blk, uint64_t tag)
{
	poke(t, blk, tag);
	poke(t, blk + (tag & UMALLOC_TAG_SIZE_MASK) - 8, tag);
}

static void cx_arena(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->arena + UMALLOC_A_MAGIC, 0);
}

static void cx_block(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->a - 8, 8 | UMALLOC_TAG_ALLOC);
}

static void cx_tags(struct vm_task *t, const struct fixture *x)
{
	uint64_t tag = peek(t, x->a - 8);

	poke(t, x->a - 8 + 128 - 8, tag ^ (1ULL << 48));
}

static void cx_coalesce(struct vm_task *t, const struct fixture *x)
{
	tag2(t, x->c - 8, 128); /* C looks free, next to free B */
}

static void cx_tiling(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->top - 8, 0);
}

static void cx_node(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->b - 8 + 8, x->a - 8); /* B.next = A, in use */
}

static void cx_links(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->d - 8 + 16, x->d - 8); /* D.prev = D */
}

static void cx_order_fit(struct vm_task *t, const struct fixture *x)
{
	uint64_t s = x->arena + UMALLOC_A_BINS, b = x->b - 8, d = x->d - 8;

	poke(t, s + 8, d); /* s -> D -> B -> rest */
	poke(t, d + 16, s);
	poke(t, d + 8, b);
	poke(t, b + 16, d);
	poke(t, b + 8, x->rest);
	poke(t, x->rest + 16, b);
}

static void cx_order_seg(struct vm_task *t, const struct fixture *x)
{
	uint64_t s6 = x->arena + UMALLOC_A_BINS + 16 * 6, s7 = s6 + 16;
	uint64_t b = x->b - 8, d = x->d - 8; /* bin 6: s6 -> D -> B */

	poke(t, d + 8, s6); /* B moved to bin 7 (not its class) */
	poke(t, s6 + 16, d);
	poke(t, s7 + 8, b);
	poke(t, s7 + 16, b);
	poke(t, b + 8, s7);
	poke(t, b + 16, s7);
	poke(t, x->arena + UMALLOC_A_BINMAP,
	     peek(t, x->arena + UMALLOC_A_BINMAP) | 1ULL << 7);
}

static void cx_list_set(struct vm_task *t, const struct fixture *x)
{
	uint64_t b = x->b - 8, next = peek(t, b + 8), prev = peek(t, b + 16);

	poke(t, prev + 8, next); /* B unlinked, still free */
	poke(t, next + 16, prev);
}

static void cx_binmap(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->arena + UMALLOC_A_BINMAP + 8, 1ULL << 36);
}

static void cx_rover(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->arena + UMALLOC_A_ROVER, x->a - 8);
}

static void cx_mmap(struct vm_task *t, const struct fixture *x)
{
	poke(t, x->e - 8, 12345);
}

static void cx_counters(struct vm_task *t, const struct fixture *x)
{
	tag2(t, x->a - 8, peek(t, x->a - 8) + (1ULL << 48)); /* slack + 1 */
}

struct check_case {
	const char *name;
	corrupt_fn fn;
	int want;
	bool fit, seg; /* which policies it applies to */
};

static const struct check_case check_cases[] = {
	{ "arena", cx_arena, UMALLOC_CHECK_ARENA, true, true },
	{ "block", cx_block, UMALLOC_CHECK_BLOCK, true, true },
	{ "tags", cx_tags, UMALLOC_CHECK_TAGS, true, true },
	{ "coalesce", cx_coalesce, UMALLOC_CHECK_COALESCE, true, true },
	{ "tiling", cx_tiling, UMALLOC_CHECK_TILING, true, true },
	{ "node", cx_node, UMALLOC_CHECK_NODE, true, true },
	{ "links", cx_links, UMALLOC_CHECK_LINKS, true, true },
	{ "order", cx_order_fit, UMALLOC_CHECK_ORDER, true, false },
	{ "bin", cx_order_seg, UMALLOC_CHECK_ORDER, false, true },
	{ "list set", cx_list_set, UMALLOC_CHECK_LIST_SET, true, true },
	{ "binmap", cx_binmap, UMALLOC_CHECK_BINMAP, true, true },
	{ "rover", cx_rover, UMALLOC_CHECK_ROVER, true, false },
	{ "mmap", cx_mmap, UMALLOC_CHECK_MMAP, true, true },
	{ "counters", cx_counters, UMALLOC_CHECK_COUNTERS, true, true },
};

struct check_run {
	enum umalloc_policy pol;
	corrupt_fn fn;
	int before, after;
};

static int check_task(struct vm_task *t, void *arg)
{
	struct check_run *r = arg;
	struct umalloc_heap *h;
	struct fixture x;

	if (umalloc_heap_create(t, r->pol, &h))
		return 1;
	x.arena = umalloc_heap_arena(h);
	x.a = umalloc(h, 100), x.b = umalloc(h, 100), x.c = umalloc(h, 100);
	x.d = umalloc(h, 100), x.e = umalloc(h, 1 * MIB);
	x.f = umalloc(h, 100);
	ufree(h, x.b);
	ufree(h, x.d);
	x.top = stats_of(h).heap_top;
	x.rest = x.f - 8 + 128;
	r->before = umalloc_check(h);
	r->fn(t, &x);
	r->after = umalloc_check(h);
	umalloc_heap_destroy(h);
	return 0;
}

static void test_umalloc_check_finds_each_corruption(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]);
	     i++) {
		const struct check_case *c = &check_cases[i];

		for (int pol = 0; pol < UMALLOC_NPOLICIES; pol++) {
			bool seg = pol == UMALLOC_SEGREGATED;
			struct check_run r = { (enum umalloc_policy)pol, c->fn,
					       1, 1 };

			if (seg ? !c->seg : !c->fit)
				continue;
			run_ok(pol % 2 ? VM_MODE_TRACE : VM_MODE_NATIVE,
			       check_task, &r);
			assert_int_equal(r.before, 0);
			if (r.after != c->want)
				fail_msg("%s (%s): umalloc_check %d, want %d",
					 c->name, umalloc_policy_name(r.pol),
					 r.after, c->want);
		}
	}
}

/* ---- out of memory -------------------------------------------------------------- */

struct oom_run {
	uint64_t limited_ok, huge, calloc_huge, terabyte;
	struct umalloc_stats lim, big, frag;
	int check;
};

static void oom_limit(struct vm_task *t, struct oom_run *r)
{
	struct umalloc_heap *h;

	if (umalloc_heap_create(t, UMALLOC_FIRST_FIT, &h))
		return;
	umalloc_opt(h, UMALLOC_LIMIT, 1 * MIB);
	while (umalloc(h, 100 * KIB))
		r->limited_ok++;
	r->huge = umalloc(h, UMALLOC_MAX_REQUEST + 1);
	r->calloc_huge = ucalloc(h, 1ULL << 40, 1ULL << 40);
	umalloc_stats(h, &r->lim);
	umalloc_heap_destroy(h);
}

/* Holes of 8 KiB totalling 128 KiB cannot serve 64 KiB under a limit. */
static void oom_fragmented(struct vm_task *t, struct oom_run *r)
{
	struct umalloc_heap *h;
	uint64_t p[32];

	if (umalloc_heap_create(t, UMALLOC_BEST_FIT, &h))
		return;
	umalloc_opt(h, UMALLOC_TOP_PAD, 0);
	umalloc_opt(h, UMALLOC_MMAP_THRESHOLD, UMALLOC_MMAP_THRESHOLD_MAX);
	for (int i = 0; i < 32; i++)
		p[i] = umalloc(h, i % 2 ? 64 : 8 * KIB);
	umalloc_opt(h, UMALLOC_LIMIT, stats_of(h).footprint);
	for (int i = 0; i < 32; i += 2)
		ufree(h, p[i]);
	umalloc(h, 64 * KIB);
	umalloc_stats(h, &r->frag);
	r->check = umalloc_check(h);
	umalloc_heap_destroy(h);
}

static int oom_task(struct vm_task *t, void *arg)
{
	struct oom_run *r = arg;
	struct umalloc_heap *h;

	oom_limit(t, r);
	oom_fragmented(t, r);
	if (umalloc_heap_create(t, UMALLOC_SEGREGATED, &h))
		return 1;
	r->terabyte = umalloc(h, 1ULL << 40); /* mmap, then brk, refused */
	umalloc_stats(h, &r->big);
	umalloc_heap_destroy(h);
	return 0;
}

static void test_umalloc_out_of_memory_counts_reasons(void **state)
{
	struct oom_run r = { 0 };

	(void)state;
	run_ok(VM_MODE_NATIVE, oom_task, &r);
	assert_true(r.limited_ok >= 7 && r.limited_ok <= 10);
	assert_true(r.lim.footprint <= 1 * MIB);
	assert_true(r.lim.nomem_limit >= 1);
	assert_int_equal(r.huge, 0);
	assert_int_equal(r.calloc_huge, 0);
	assert_int_equal(r.lim.nomem_too_large, 2);
	assert_int_equal(r.lim.failures, 3);
	assert_int_equal(r.terabyte, 0);
	assert_int_equal(r.big.nomem_mmap, 1);
	assert_int_equal(r.big.nomem_brk, 1);
	assert_int_equal(r.big.failures, 1);
	assert_int_equal(r.frag.failures, 1);
	assert_int_equal(r.frag.failures_fragmented, 1);
	assert_true(r.frag.free_bytes >= 64 * KIB);
	assert_true(r.frag.largest_free < 64 * KIB);
	assert_int_equal(r.check, 0);
}

/* ---- the segregated classes ------------------------------------------------------ */

struct seg_run {
	size_t usable[8];
	uint64_t search_max, search_allocs;
	double ifrag_seg, ifrag_first;
	int check;
};

static const size_t seg_req[8] = { 1, 100, 130, 200, 300, 1000, 1100, 5000 };
/* Blocks 32 128 160 224 320 1024 (small: a class floor); 1120 and 5024
 * are large: not rounded. */
static const size_t seg_usable[8] = { 16, 112, 144, 208, 304, 1008, 1104, 5008 };

static double ifrag_of(struct vm_task *t, enum umalloc_policy pol)
{
	struct umalloc_heap *h;
	double f;

	if (umalloc_heap_create(t, pol, &h))
		return -1;
	for (int i = 0; i < 100; i++)
		umalloc(h, 260); /* fit: block 288; seg: class 320 */
	f = stats_of(h).internal_frag;
	umalloc_heap_destroy(h);
	return f;
}

static int seg_task(struct vm_task *t, void *arg)
{
	struct seg_run *r = arg;
	struct umalloc_heap *h;
	uint64_t p[64];

	if (umalloc_heap_create(t, UMALLOC_SEGREGATED, &h))
		return 1;
	for (int i = 0; i < 8; i++)
		r->usable[i] = umalloc_usable_size(h, umalloc(h, seg_req[i]));
	for (int round = 0; round < 50; round++) { /* small only: O(1) */
		for (int i = 0; i < 64; i++)
			p[i] = umalloc(h, 1 + (size_t)(i * 37 + round) % 900);
		for (int i = 0; i < 64; i += 1 + round % 3)
			ufree(h, p[i]);
	}
	r->search_max = stats_of(h).search_max;
	r->search_allocs = stats_of(h).search_allocs;
	r->check = umalloc_check(h);
	umalloc_heap_destroy(h);
	r->ifrag_seg = ifrag_of(t, UMALLOC_SEGREGATED);
	r->ifrag_first = ifrag_of(t, UMALLOC_FIRST_FIT);
	return 0;
}

static void test_umalloc_segregated_classes(void **state)
{
	struct seg_run r = { 0 };

	(void)state;
	run_ok(VM_MODE_NATIVE, seg_task, &r);
	for (int i = 0; i < 8; i++)
		if (r.usable[i] != seg_usable[i])
			fail_msg("request %zu: usable %zu, want %zu",
				 seg_req[i], r.usable[i], seg_usable[i]);
	assert_int_equal(r.search_max, 1); /* small requests: one node */
	assert_true(r.search_allocs > 3000);
	assert_int_equal(r.check, 0);
	/* 260 bytes: 276 of 320 (seg) vs 276 of 288 (fit), headers in */
	assert_true(r.ifrag_seg > r.ifrag_first + 0.05);
}

/* ---- every policy, random, contents checked --------------------------------------- */

#define RND_SLOTS 128
#define RND_OPS	  4000

struct rnd_run {
	enum umalloc_policy pol;
	uint64_t seed;
	int bad_data, bad_align, bad_usable, bad_zero, check;
	size_t check_at;
	uint64_t live_end, blocks_end;
};

struct rnd_slot {
	uint64_t va;
	size_t n;
	uint32_t gen;
};

static uint64_t mark_of(int slot, uint32_t gen, size_t off)
{
	return ((uint64_t)slot << 40 | (uint64_t)gen << 20 | off) *
	       0x9E3779B97F4A7C15ULL;
}

/* Marks: one word every 512 bytes and the last whole word. */
static void rnd_mark(struct vm_task *t, const struct rnd_slot *s, int slot)
{
	for (size_t off = 0; off + 8 <= s->n; off += 512)
		poke(t, s->va + off, mark_of(slot, s->gen, off));
	if (s->n >= 8)
		poke(t, s->va + (s->n & ~7ULL) - 8,
		     mark_of(slot, s->gen, (s->n & ~7ULL) - 8));
}

static int rnd_verify(struct vm_task *t, const struct rnd_slot *s, int slot,
		      size_t n)
{
	int bad = 0;

	for (size_t off = 0; off + 8 <= n; off += 512)
		bad += peek(t, s->va + off) != mark_of(slot, s->gen, off);
	if (n == s->n && n >= 8)
		bad += peek(t, s->va + (n & ~7ULL) - 8) !=
		       mark_of(slot, s->gen, (n & ~7ULL) - 8);
	return bad;
}

static size_t rnd_size(uint64_t *rs)
{
	uint64_t r = vmtest_rand(rs) % 100;

	if (r < 70)
		return vmtest_rand(rs) % 300;
	if (r < 97)
		return 300 + vmtest_rand(rs) % (8 * KIB);
	return 100 * KIB + vmtest_rand(rs) % (200 * KIB);
}

static void rnd_check_new(struct vm_task *t, struct umalloc_heap *h,
			  struct rnd_run *r, struct rnd_slot *s, bool zeroed)
{
	r->bad_align += s->va % UMALLOC_ALIGN != 0;
	r->bad_usable += umalloc_usable_size(h, s->va) < s->n;
	for (size_t off = 0; zeroed && off + 8 <= s->n; off += 512)
		r->bad_zero += peek(t, s->va + off) != 0;
}

static void rnd_op(struct vm_task *t, struct umalloc_heap *h, struct rnd_run *r,
		   struct rnd_slot *s, int slot, uint64_t *rs)
{
	uint64_t what = vmtest_rand(rs) % 10;
	size_t n = rnd_size(rs);

	if (s->va && what < 5) {
		r->bad_data += rnd_verify(t, s, slot, s->n);
		ufree(h, s->va);
		s->va = 0;
	} else if (s->va) {
		uint64_t q = urealloc(h, s->va, n);

		s->va = q;
		r->bad_data += rnd_verify(t, s, slot, n < s->n ? n : s->n);
		s->n = n;
		s->gen++;
		rnd_check_new(t, h, r, s, false);
		rnd_mark(t, s, slot);
	} else {
		s->n = n;
		s->gen++;
		s->va = what < 8 ? umalloc(h, n) : ucalloc(h, 1, n);
		rnd_check_new(t, h, r, s, what >= 8);
		rnd_mark(t, s, slot);
	}
}

static int rnd_task(struct vm_task *t, void *arg)
{
	struct rnd_run *r = arg;
	struct rnd_slot *slot = calloc(RND_SLOTS, sizeof(*slot));
	struct umalloc_heap *h;
	uint64_t rs = r->seed;

	if (!slot || umalloc_heap_create(t, r->pol, &h))
		return 1;
	for (size_t i = 0; i < RND_OPS; i++) {
		int k = (int)(vmtest_rand(&rs) % RND_SLOTS);

		rnd_op(t, h, r, &slot[k], k, &rs);
		if (i % 100 == 99 && !r->check) {
			r->check = umalloc_check(h);
			r->check_at = i;
		}
	}
	for (int k = 0; k < RND_SLOTS; k++)
		ufree(h, slot[k].va);
	r->check = r->check ? r->check : umalloc_check(h);
	r->live_end = stats_of(h).live_requested;
	r->blocks_end = stats_of(h).live_blocks;
	umalloc_heap_destroy(h);
	free(slot);
	return 0;
}

static void test_umalloc_random_contents_all_policies(void **state)
{
	uint64_t seed = vmtest_seed("random contents");

	(void)state;
	for (int pol = 0; pol <= UMALLOC_NPOLICIES; pol++) {
		struct rnd_run r = { 0 };
		bool trace = pol == UMALLOC_NPOLICIES; /* seg once more */

		r.pol = trace ? UMALLOC_SEGREGATED : (enum umalloc_policy)pol;
		r.seed = seed + (uint64_t)pol;
		run_ok(trace ? VM_MODE_TRACE : VM_MODE_NATIVE, rnd_task, &r);
		if (r.check)
			fail_msg("%s: umalloc_check %d near op %zu (seed %llu)",
				 umalloc_policy_name(r.pol), r.check,
				 r.check_at, (unsigned long long)seed);
		assert_int_equal(r.bad_data, 0);
		assert_int_equal(r.bad_align, 0);
		assert_int_equal(r.bad_usable, 0);
		assert_int_equal(r.bad_zero, 0);
		assert_int_equal(r.live_end, 0);
		assert_int_equal(r.blocks_end, 0);
	}
}

/* ---- contents under swap pressure ---------------------------------------------- */

#define SWAP_RAM   (16ULL << 20)
#define SWAP_SPACE (128ULL << 20)
#define SWAP_SLOTS 192
#define SWAP_CHUNK 4096
#define SWAP_OPS   600

struct swap_run {
	enum umalloc_policy pol;
	uint64_t seed;
	int bad, check, failed;
	size_t check_at;
	uint64_t peak_live;
};

struct swap_slot {
	uint64_t va, n;
	uint32_t gen;
};

static void swap_pattern(uint8_t *buf, size_t n, int slot, uint32_t gen,
			 uint64_t off)
{
	for (size_t k = 0; k < n; k++)
		buf[k] = (uint8_t)(slot * 131 + gen * 31 + (off + k) * 7 +
				   ((off + k) >> 12));
}

static void swap_fill(struct vm_task *t, const struct swap_slot *s, int slot)
{
	uint8_t buf[SWAP_CHUNK];

	for (uint64_t off = 0; off < s->n; off += SWAP_CHUNK) {
		size_t k = s->n - off < SWAP_CHUNK ? s->n - off : SWAP_CHUNK;

		swap_pattern(buf, k, slot, s->gen, off);
		poke_bytes(t, s->va + off, buf, k);
	}
}

static int swap_verify(struct vm_task *t, const struct swap_slot *s, int slot,
		       uint64_t n)
{
	uint8_t want[SWAP_CHUNK], got[SWAP_CHUNK];
	int bad = 0;

	for (uint64_t off = 0; off < n; off += SWAP_CHUNK) {
		size_t k = n - off < SWAP_CHUNK ? n - off : SWAP_CHUNK;

		swap_pattern(want, k, slot, s->gen, off);
		peek_bytes(t, s->va + off, got, k);
		bad += memcmp(want, got, k) != 0;
	}
	return bad;
}

static void swap_op(struct vm_task *t, struct umalloc_heap *h,
		    struct swap_run *r, struct swap_slot *s, int slot,
		    uint64_t *rs)
{
	uint64_t n = 16 * KIB + vmtest_rand(rs) % (512 * KIB), q;

	if (s->va && vmtest_rand(rs) % 3 == 0) { /* realloc keeps a prefix */
		q = urealloc(h, s->va, n);
		r->failed += !q;
		if (!q)
			return;
		s->va = q;
		r->bad += swap_verify(t, s, slot, n < s->n ? n : s->n);
	} else {
		if (s->va)
			r->bad += swap_verify(t, s, slot, s->n);
		ufree(h, s->va);
		s->va = umalloc(h, n);
		r->failed += !s->va;
	}
	s->n = s->va ? n : 0;
	s->gen++;
	swap_fill(t, s, slot);
}

static int swap_task(struct vm_task *t, void *arg)
{
	struct swap_run *r = arg;
	struct swap_slot *slot = calloc(SWAP_SLOTS, sizeof(*slot));
	struct umalloc_heap *h;
	uint64_t rs = r->seed;

	if (!slot || umalloc_heap_create(t, r->pol, &h))
		return 1;
	for (int i = 0; i < SWAP_OPS; i++) {
		int k = (int)(vmtest_rand(&rs) % SWAP_SLOTS);

		swap_op(t, h, r, &slot[k], k, &rs);
		if (i % 50 == 49 && !r->check) {
			r->check = umalloc_check(h);
			r->check_at = (size_t)i;
		}
	}
	r->peak_live = stats_of(h).peak_requested;
	for (int k = 0; k < SWAP_SLOTS; k++) {
		r->bad += swap_verify(t, &slot[k], k, slot[k].n);
		ufree(h, slot[k].va);
	}
	r->check = r->check ? r->check : umalloc_check(h);
	umalloc_heap_destroy(h);
	free(slot);
	return 0;
}

static void swap_mode(enum vm_mode mode, enum umalloc_policy pol, uint64_t seed)
{
	struct swap_run r = { .pol = pol, .seed = seed };
	struct vm_config cfg;
	struct vm_stat st;
	struct vm_exit ex;
	struct vm *vm;
	int pid;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = SWAP_RAM;
	cfg.swap_bytes = SWAP_SPACE;
	vm = vmtest_create_cfg(&cfg);
	pid = vm_spawn(vm, "swapper", 0, swap_task, &r);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	vm_stat(vm, &st);
	vmtest_destroy(vm);
	if (ex.reason != VM_EXIT_NORMAL || ex.code)
		fail_msg("%s: reason %d code %d (%s) seed %llu",
			 umalloc_policy_name(pol), ex.reason, ex.code, ex.msg,
			 (unsigned long long)seed);
	if (r.check)
		fail_msg("%s: umalloc_check %d near op %zu (seed %llu)",
			 umalloc_policy_name(pol), r.check, r.check_at,
			 (unsigned long long)seed);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.failed, 0);
	assert_true(r.peak_live > 2 * SWAP_RAM); /* it did not fit */
	assert_true(st.pswpout > 0 && st.pswpin > 0);
}

static void test_umalloc_contents_under_swap_pressure(void **state)
{
	uint64_t seed = vmtest_seed("swap pressure");

	(void)state;
	swap_mode(VM_MODE_NATIVE, UMALLOC_FIRST_FIT, seed);
	swap_mode(VM_MODE_NATIVE, UMALLOC_SEGREGATED, seed + 1);
	swap_mode(VM_MODE_TRACE, UMALLOC_BEST_FIT, seed + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_umalloc_differential_first_fit),
		VMTEST(test_umalloc_differential_next_fit),
		VMTEST(test_umalloc_differential_best_fit),
		VMTEST(test_umalloc_differential_worst_fit),
		VMTEST(test_umalloc_differential_trace_mode),
		VMTEST(test_umalloc_textbook_placement),
		VMTEST(test_umalloc_mmap_threshold_dynamic),
		VMTEST(test_umalloc_trim),
		VMTEST(test_umalloc_fork_cow_heap),
		VMTEST(test_umalloc_corruption_aborts_task),
		VMTEST(test_umalloc_check_finds_each_corruption),
		VMTEST(test_umalloc_out_of_memory_counts_reasons),
		VMTEST(test_umalloc_segregated_classes),
		VMTEST(test_umalloc_random_contents_all_policies),
		VMTEST(test_umalloc_contents_under_swap_pressure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
