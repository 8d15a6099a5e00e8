/*
 * user/umalloc.c - malloc, free, realloc and calloc for emulated tasks:
 * the brk heap (grow, trim), mmapped chunks and glibc's thresholds.
 * The block format, the policies and what lives where: umalloc.h.
 *
 *   brk heap:  lo                first                        top-8   top
 *              | pad | prologue | block | block | ... | block | epi |
 *   malloc:    fit (policy) -> else, if n >= mmap threshold, mmap a chunk
 *              -> else grow brk by the shortfall + top pad (pages) and
 *              place at the start of the (merged) last block
 *   free:      chunk -> munmap (dynamic threshold rule); block -> coalesce
 *              with both neighbours -> trim the last block if the merged
 *              block was >= 64 KiB and the last is >= the trim threshold
 *
 * Invariants (umalloc_check walks them):
 *  1. The brk heap is tiled by blocks from first to the epilogue; header
 *     == footer; no two free blocks adjacent; top is page aligned and
 *     equals the arena's HEAP_TOP and the task's brk.
 *  2. An in-use block's slack (tag bits 48-63) is its usable bytes minus
 *     the request: < 2^16 by construction (split remainders >= the
 *     minimum block, seg rounding <= 1/4 of 1 KiB).
 *  3. Every mmapped chunk is on the arena's mmap list, and only those.
 *  4. The counters in h->st equal what a walk finds.
 *
 * Locking: none (the heap's task thread only).  Corruption ends the task
 * (um_corrupt -> vm_abort); a host-side struct is all that is left.
 */
#include <errno.h>
#include <stdlib.h>

#include "user/umalloc_internal.h"

#define RW	   (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	   (VM_MAP_PRIVATE | VM_MAP_ANON)
#define PROLOGUE   16ULL /* an in-use block of tags only */
#define HEAP_FIXED (UMALLOC_WORD + PROLOGUE + UMALLOC_WORD) /* pad, pro, epi */

static const char *const um_policy_names[UMALLOC_NPOLICIES] = {
	"first", "next", "best", "worst", "seg",
};

const char *umalloc_policy_name(enum umalloc_policy p)
{
	return (unsigned)p < UMALLOC_NPOLICIES ? um_policy_names[p] : NULL;
}

int umalloc_policy_parse(const char *name, enum umalloc_policy *out)
{
	for (unsigned i = 0; name && i < UMALLOC_NPOLICIES; i++) {
		if (strcmp(name, um_policy_names[i]) == 0) {
			*out = (enum umalloc_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- counters ----------------------------------------------------------- */

void um_note_footprint(struct umalloc_heap *h)
{
	h->st.footprint = h->top - h->lo + h->st.mmapped_bytes;
	if (h->st.footprint > h->st.peak_footprint)
		h->st.peak_footprint = h->st.footprint;
}

static void um_note_live(struct umalloc_heap *h, int64_t blocks,
			 int64_t requested, int64_t granted)
{
	h->st.live_blocks += (uint64_t)blocks;
	h->st.live_requested += (uint64_t)requested;
	h->st.live_granted += (uint64_t)granted;
	if (h->st.live_requested > h->st.peak_requested)
		h->st.peak_requested = h->st.live_requested;
}

/* A call that returns 0: counted, and whether fragmentation was why. */
static uint64_t um_fail(struct umalloc_heap *h, uint64_t asize)
{
	h->st.failures++;
	if (asize && h->st.free_bytes >= asize)
		h->st.failures_fragmented++;
	return 0;
}

static bool um_over_limit(struct umalloc_heap *h, uint64_t more)
{
	uint64_t limit = um_arena_get(h, UMALLOC_A_LIMIT);

	return limit && (more > limit || h->st.footprint > limit - more);
}

/* ---- creation ------------------------------------------------------------ */

static void um_arena_init(struct umalloc_heap *h)
{
	static const unsigned zeroed[] = {
		UMALLOC_A_FLAGS,
		UMALLOC_A_LIMIT,
		UMALLOC_A_BINMAP,
		UMALLOC_A_BINMAP + 8,
	};
	uint64_t m = h->arena + UMALLOC_A_MMAP_LIST;

	um_arena_set(h, UMALLOC_A_MAGIC, UMALLOC_MAGIC);
	um_arena_set(h, UMALLOC_A_POLICY, h->policy);
	um_arena_set(h, UMALLOC_A_HEAP_START, h->lo);
	um_arena_set(h, UMALLOC_A_HEAP_TOP, h->top);
	um_arena_set(h, UMALLOC_A_MMAP_THRESHOLD,
		     UMALLOC_DEFAULT_MMAP_THRESHOLD);
	um_arena_set(h, UMALLOC_A_TRIM_THRESHOLD,
		     UMALLOC_DEFAULT_TRIM_THRESHOLD);
	um_arena_set(h, UMALLOC_A_TOP_PAD, UMALLOC_DEFAULT_TOP_PAD);
	for (unsigned i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++)
		um_arena_set(h, zeroed[i], 0);
	um_store(h, m + UM_NEXT, m);
	um_store(h, m + UM_PREV, m);
	for (unsigned i = 0; i < UMALLOC_NBINS; i++) {
		um_store(h, um_bin_node(h, i) + UM_NEXT, um_bin_node(h, i));
		um_store(h, um_bin_node(h, i) + UM_PREV, um_bin_node(h, i));
	}
	um_arena_set(h, UMALLOC_A_ROVER, um_bin_node(h, UMALLOC_FIT_BIN));
}

/* Pad, prologue, one free block (>= minimum) up to the epilogue. */
static void um_heap_init(struct umalloc_heap *h)
{
	uint64_t size = um_epilogue(h) - h->first;

	um_store(h, h->lo, 0);
	um_set_tags(h, h->lo + UMALLOC_WORD, um_tag(PROLOGUE, true, 0));
	um_store(h, um_epilogue(h), UMALLOC_TAG_ALLOC);
	um_set_tags(h, h->first, um_tag(size, false, 0));
	um_free_insert(h, h->first);
	h->st.free_blocks = 1;
	h->st.free_bytes = size;
	um_note_footprint(h);
}

/* Host struct for t; the arena mapped.  NULL if refused. */
static struct umalloc_heap *um_new(struct vm_task *t, uint64_t arena)
{
	struct umalloc_heap *h;

	if (vm_mmap_failed(arena))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->t = t;
	h->arena = arena;
	h->native = vm_ptr(t, arena) != NULL;
	h->arena_host = vm_ptr(t, arena);
	return h;
}

/* Cache the brk heap's bounds [lo, top) and its host base. */
static void um_set_bounds(struct umalloc_heap *h, uint64_t lo, uint64_t top)
{
	h->lo = lo;
	h->top = top;
	h->first = lo + UMALLOC_WORD + PROLOGUE;
	h->lo_host = h->native ? vm_ptr(h->t, lo) : NULL;
}

int umalloc_heap_create(struct vm_task *t, enum umalloc_policy policy,
			struct umalloc_heap **out)
{
	struct umalloc_heap *h;
	uint64_t lo, top;

	if (!t || !out || (unsigned)policy >= UMALLOC_NPOLICIES)
		return -EINVAL;
	h = um_new(t, vm_mmap(t, 0, VM_PAGE_SIZE, RW, ANON));
	if (!h)
		return -ENOMEM;
	h->policy = policy;
	lo = um_align_up(vm_brk(t, 0), UMALLOC_ALIGN);
	top = um_align_up(lo + HEAP_FIXED + UMALLOC_MIN_BLOCK, VM_PAGE_SIZE);
	if (!lo || vm_brk(t, top) != top) {
		vm_munmap(t, h->arena, VM_PAGE_SIZE);
		free(h);
		return -ENOMEM;
	}
	um_set_bounds(h, lo, top);
	um_arena_init(h);
	um_heap_init(h);
	*out = h;
	return 0;
}

/* Counters of a re-attached heap: what the walk found; peaks from now. */
static void um_adopt(struct umalloc_heap *h, const struct um_walk *w)
{
	h->st.free_bytes = w->free_bytes;
	h->st.free_blocks = w->free_blocks;
	h->st.live_requested = h->st.peak_requested = w->live_requested;
	h->st.live_granted = w->live_granted;
	h->st.live_blocks = w->live_blocks;
	h->st.mmapped_bytes = w->mmapped_bytes;
	h->st.mmapped_chunks = w->mmapped_chunks;
	um_note_footprint(h);
}

int umalloc_heap_attach(struct vm_task *t, uint64_t arena_va,
			struct umalloc_heap **out)
{
	struct umalloc_heap *h;
	uint64_t policy, lo, top;
	struct um_walk w;

	if (!t || !out || !arena_va || (arena_va & (VM_PAGE_SIZE - 1)))
		return -EINVAL;
	h = um_new(t, arena_va);
	if (!h)
		return -ENOMEM;
	policy = um_arena_get(h, UMALLOC_A_POLICY);
	lo = um_arena_get(h, UMALLOC_A_HEAP_START);
	top = um_arena_get(h, UMALLOC_A_HEAP_TOP);
	if (um_arena_get(h, UMALLOC_A_MAGIC) != UMALLOC_MAGIC ||
	    policy >= UMALLOC_NPOLICIES || top < lo ||
	    top - lo < HEAP_FIXED + UMALLOC_MIN_BLOCK)
		goto out_inval;
	h->policy = (enum umalloc_policy)policy;
	um_set_bounds(h, lo, top);
	if (um_walk(h, &w, UINT64_MAX) != 0)
		goto out_inval;
	um_adopt(h, &w);
	if (umalloc_check(h) != 0)
		goto out_inval;
	*out = h;
	return 0;
out_inval:
	free(h);
	return -EINVAL;
}

uint64_t umalloc_heap_arena(const struct umalloc_heap *h)
{
	return h->arena;
}

void umalloc_heap_destroy(struct umalloc_heap *h)
{
	free(h);
}

/* ---- the brk heap ------------------------------------------------------ */

/* The last block if free (its size in *size), else 0 (and *size 0). */
static uint64_t um_last_free(struct umalloc_heap *h, uint64_t *size)
{
	uint64_t tag = um_load(h, um_epilogue(h) - UMALLOC_WORD), b;

	*size = 0;
	if (um_inuse(tag))
		return 0;
	*size = um_size(tag);
	b = um_epilogue(h) - *size;
	if (*size < UMALLOC_MIN_BLOCK || *size > um_epilogue(h) - h->first ||
	    um_load(h, b) != tag)
		um_corrupt(h, "malloc(): corrupted top size");
	return b;
}

/* Move brk to top (the epilogue follows); false if refused. */
static bool um_set_top(struct umalloc_heap *h, uint64_t top)
{
	if (vm_brk(h->t, top) != top)
		return false;
	h->top = top;
	um_arena_set(h, UMALLOC_A_HEAP_TOP, top);
	um_store(h, um_epilogue(h), UMALLOC_TAG_ALLOC);
	um_note_footprint(h);
	return true;
}

/* Bytes to grow by for a shortfall of need: with the top pad if allowed. */
static uint64_t um_grow_bytes(struct umalloc_heap *h, uint64_t need)
{
	uint64_t pad = um_arena_get(h, UMALLOC_A_TOP_PAD);
	uint64_t grow = um_align_up(need + pad, VM_PAGE_SIZE);

	if (pad > UMALLOC_MAX_REQUEST || um_over_limit(h, grow))
		grow = um_align_up(need, VM_PAGE_SIZE);
	if (um_over_limit(h, grow)) {
		h->st.nomem_limit++;
		return 0;
	}
	return grow;
}

/* Grow the heap so that its last block is free and >= asize; it or 0. */
static uint64_t um_grow(struct umalloc_heap *h, uint64_t asize)
{
	uint64_t lsize, last = um_last_free(h, &lsize), b = um_epilogue(h);
	uint64_t grow;

	if (lsize >= asize) /* it would have fitted: the lists lie */
		um_corrupt(h, "malloc(): corrupted top size");
	grow = um_grow_bytes(h, asize - lsize);
	if (!grow)
		return 0;
	if (!um_set_top(h, h->top + grow)) {
		h->st.nomem_brk++;
		return 0;
	}
	h->st.nbrk_grow++;
	h->st.free_bytes += grow;
	if (last) {
		um_set_tags(h, last, um_tag(lsize + grow, false, 0));
		um_free_resized(h, last);
		return last;
	}
	um_set_tags(h, b, um_tag(grow, false, 0));
	um_free_insert(h, b);
	h->st.free_blocks++;
	return b;
}

/*
 * glibc's systrim: after a free whose merged block was >= 64 KiB, give
 * back whole pages of a free last block >= the trim threshold, keeping
 * the top pad plus a minimum block.
 */
static void um_trim(struct umalloc_heap *h, uint64_t merged)
{
	uint64_t lsize, last, pad, area, extra;

	if (merged < UMALLOC_TRIM_MIN_CHUNK)
		return;
	last = um_last_free(h, &lsize);
	if (!last || lsize < um_arena_get(h, UMALLOC_A_TRIM_THRESHOLD))
		return;
	pad = um_arena_get(h, UMALLOC_A_TOP_PAD);
	area = lsize - UMALLOC_MIN_BLOCK - 1;
	if (area <= pad)
		return;
	extra = (area - pad) & ~(VM_PAGE_SIZE - 1);
	if (!extra || !um_set_top(h, h->top - extra))
		return;
	um_set_tags(h, last, um_tag(lsize - extra, false, 0));
	um_free_resized(h, last);
	h->st.free_bytes -= extra;
	h->st.ntrim++;
}

/* ---- mmapped chunks ---------------------------------------------------- */

static uint64_t um_mmap_sentinel(const struct umalloc_heap *h)
{
	return h->arena + UMALLOC_A_MMAP_LIST;
}

/* A link of the mmap list, checked. */
static uint64_t um_mmap_link(struct umalloc_heap *h, uint64_t x, unsigned w)
{
	uint64_t v = um_load(h, x + w);

	if (v != um_mmap_sentinel(h) &&
	    ((v & (VM_PAGE_SIZE - 1)) || (v >= h->lo && v < h->top) ||
	     um_is_sentinel(h, v)))
		um_corrupt(h, "munmap_chunk(): invalid pointer");
	return v;
}

/* Is c a chunk on the mmap list?  (Walks it: chunks are few.) */
static bool um_mmap_listed(struct umalloc_heap *h, uint64_t c)
{
	uint64_t s = um_mmap_sentinel(h);

	for (uint64_t x = um_mmap_link(h, s, UM_NEXT); x != s;
	     x = um_mmap_link(h, x, UM_NEXT))
		if (x == c)
			return true;
	return false;
}

static uint64_t um_mmap_alloc(struct umalloc_heap *h, uint64_t nbytes)
{
	uint64_t len = um_align_up(nbytes + UMALLOC_MMAP_HDR, VM_PAGE_SIZE);
	uint64_t s = um_mmap_sentinel(h), c, next;

	if (um_over_limit(h, len)) {
		h->st.nomem_limit++;
		return 0;
	}
	c = vm_mmap(h->t, 0, len, RW, ANON);
	if (vm_mmap_failed(c)) {
		h->st.nomem_mmap++;
		return 0;
	}
	next = um_mmap_link(h, s, UM_NEXT);
	um_store(h, c, nbytes);
	um_store(h, c + UM_NEXT, next);
	um_store(h, c + UM_PREV, s);
	um_store(h, c + 3 * UMALLOC_WORD,
		 len | UMALLOC_TAG_MMAPPED | UMALLOC_TAG_ALLOC);
	um_store(h, next + UM_PREV, c);
	um_store(h, s + UM_NEXT, c);
	h->st.nmmap++;
	h->st.mmapped_chunks++;
	h->st.mmapped_bytes += len;
	um_note_live(h, 1, (int64_t)nbytes, (int64_t)len);
	um_note_footprint(h);
	return c + UMALLOC_MMAP_HDR;
}

/* The chunk whose payload is at va, its tag checked; ends the task if not. */
static uint64_t um_chunk(struct umalloc_heap *h, uint64_t va, const char *msg)
{
	uint64_t c = va - UMALLOC_MMAP_HDR, tag;

	if (va < UMALLOC_MMAP_HDR || (c & (VM_PAGE_SIZE - 1)) ||
	    !um_mmap_listed(h, c))
		um_corrupt(h, msg);
	tag = um_load(h, c + 3 * UMALLOC_WORD);
	if ((tag & (UMALLOC_TAG_MMAPPED | UMALLOC_TAG_ALLOC)) !=
		    (UMALLOC_TAG_MMAPPED | UMALLOC_TAG_ALLOC) ||
	    um_size(tag) < VM_PAGE_SIZE || um_slack(tag) ||
	    um_load(h, c) > um_size(tag) - UMALLOC_MMAP_HDR)
		um_corrupt(h, "munmap_chunk(): invalid pointer");
	return c;
}

/* glibc's dynamic threshold rule, on freeing a chunk of len bytes. */
static void um_dynamic_threshold(struct umalloc_heap *h, uint64_t len)
{
	if ((um_arena_get(h, UMALLOC_A_FLAGS) & UMALLOC_F_NO_DYN) ||
	    len <= um_arena_get(h, UMALLOC_A_MMAP_THRESHOLD) ||
	    len > UMALLOC_MMAP_THRESHOLD_MAX)
		return;
	um_arena_set(h, UMALLOC_A_MMAP_THRESHOLD, len);
	um_arena_set(h, UMALLOC_A_TRIM_THRESHOLD, 2 * len);
}

static void um_mmap_free(struct umalloc_heap *h, uint64_t c)
{
	uint64_t len = um_size(um_load(h, c + 3 * UMALLOC_WORD));
	uint64_t nbytes = um_load(h, c);
	uint64_t next = um_mmap_link(h, c, UM_NEXT);
	uint64_t prev = um_mmap_link(h, c, UM_PREV);

	if (um_load(h, next + UM_PREV) != c || um_load(h, prev + UM_NEXT) != c)
		um_corrupt(h, "corrupted double-linked list");
	um_dynamic_threshold(h, len);
	um_store(h, prev + UM_NEXT, next);
	um_store(h, next + UM_PREV, prev);
	if (vm_munmap(h->t, c, len) != 0)
		um_corrupt(h, "munmap_chunk(): invalid pointer");
	h->st.nmunmap++;
	h->st.mmapped_chunks--;
	h->st.mmapped_bytes -= len;
	um_note_live(h, -1, -(int64_t)nbytes, -(int64_t)len);
	um_note_footprint(h);
}

/* ---- blocks ------------------------------------------------------------- */

enum um_verdict { UM_OK, UM_BAD_PTR, UM_BAD_SIZE, UM_NOT_INUSE, UM_BAD_TAGS };

/* Is b an in-use block of the brk heap?  Its tag in *tag. */
static enum um_verdict um_check_block(struct umalloc_heap *h, uint64_t b,
				      uint64_t *tag)
{
	uint64_t size;

	if (!um_is_block(h, b))
		return UM_BAD_PTR;
	*tag = um_load(h, b);
	size = um_size(*tag);
	if (*tag & UMALLOC_TAG_MMAPPED)
		return UM_BAD_PTR;
	if (size < UMALLOC_MIN_BLOCK || size > um_epilogue(h) - b)
		return UM_BAD_SIZE;
	if (!um_inuse(*tag))
		return UM_NOT_INUSE;
	if (um_load(h, b + size - UMALLOC_WORD) != *tag)
		return UM_BAD_TAGS;
	return UM_OK;
}

/* The block of in-use payload va, or the task ends with msgs[verdict]. */
static uint64_t um_block(struct umalloc_heap *h, uint64_t va,
			 const char *const msgs[], uint64_t *tag)
{
	enum um_verdict v = um_check_block(h, va - UMALLOC_WORD, tag);

	if (v != UM_OK)
		um_corrupt(h, msgs[v]);
	return va - UMALLOC_WORD;
}

static bool um_in_heap(const struct umalloc_heap *h, uint64_t va)
{
	return va >= h->lo && va < h->top;
}

/* Free block f's size if free, 0 if in use or the epilogue; checked. */
static uint64_t um_next_free(struct umalloc_heap *h, uint64_t f)
{
	uint64_t tag = um_load(h, f), size = um_size(tag);

	if (f == um_epilogue(h)) {
		if (tag != UMALLOC_TAG_ALLOC)
			um_corrupt(h, "free(): invalid next size (normal)");
		return 0;
	}
	if (size < UMALLOC_MIN_BLOCK || size > um_epilogue(h) - f)
		um_corrupt(h, "free(): invalid next size (normal)");
	if (um_inuse(tag))
		return 0;
	if (um_load(h, f + size - UMALLOC_WORD) != tag)
		um_corrupt(h, "corrupted size vs. prev_size");
	return size;
}

/* The free block before b, or 0; checked. */
static uint64_t um_prev_free(struct umalloc_heap *h, uint64_t b)
{
	uint64_t tag = um_load(h, b - UMALLOC_WORD), size = um_size(tag);

	if (um_inuse(tag))
		return 0;
	if (size < UMALLOC_MIN_BLOCK || size > b - h->first ||
	    um_load(h, b - size) != tag)
		um_corrupt(h,
			   "corrupted size vs. prev_size while consolidating");
	return b - size;
}

/* Free block b of size bytes, merged with free neighbours; the result. */
static uint64_t um_coalesce(struct umalloc_heap *h, uint64_t b, uint64_t size,
			    uint64_t *merged)
{
	uint64_t p = um_prev_free(h, b), n = b + size;
	uint64_t nsize = um_next_free(h, n), psize;

	h->st.free_bytes += size;
	h->st.free_blocks++;
	if (!p && !nsize) {
		um_set_tags(h, b, um_tag(size, false, 0));
		um_free_insert(h, b);
		*merged = size;
		return b;
	}
	h->st.free_blocks -= (p != 0) + (nsize != 0);
	if (!p) {
		*merged = size + nsize;
		um_free_replace(h, n, b, *merged);
		return b;
	}
	psize = um_size(um_load(h, p));
	if (nsize)
		um_free_remove(h, n, p);
	*merged = psize + size + nsize;
	um_set_tags(h, p, um_tag(*merged, false, 0));
	um_free_resized(h, p);
	return p;
}

static void um_free_block(struct umalloc_heap *h, uint64_t b, uint64_t tag)
{
	uint64_t size = um_size(tag), merged;

	um_store(h, b, um_tag(size, false, 0)); /* a second free sees it */
	um_note_live(h, -1, -(int64_t)(size - UMALLOC_OVERHEAD - um_slack(tag)),
		     -(int64_t)size);
	um_coalesce(h, b, size, &merged);
	um_trim(h, merged);
}

/* ---- the malloc family ---------------------------------------------------- */

static uint64_t um_malloc(struct umalloc_heap *h, uint64_t nbytes)
{
	uint64_t asize, b, va;

	if (nbytes > UMALLOC_MAX_REQUEST) {
		h->st.nomem_too_large++;
		return um_fail(h, 0);
	}
	asize = um_block_size(h, nbytes);
	b = um_find_fit(h, asize);
	if (!b && nbytes >= um_arena_get(h, UMALLOC_A_MMAP_THRESHOLD)) {
		va = um_mmap_alloc(h, nbytes);
		if (va)
			return va;
	}
	if (!b)
		b = um_grow(h, asize);
	if (!b)
		return um_fail(h, asize);
	um_place(h, b, asize, nbytes);
	asize = um_size(um_load(h, b));
	um_note_live(h, 1, (int64_t)nbytes, (int64_t)asize);
	return b + UMALLOC_WORD;
}

uint64_t umalloc(struct umalloc_heap *h, size_t nbytes)
{
	h->st.nmalloc++;
	return um_malloc(h, nbytes);
}

static const char *const um_free_msgs[] = {
	[UM_BAD_PTR] = "free(): invalid pointer",
	[UM_BAD_SIZE] = "free(): invalid size",
	[UM_NOT_INUSE] = "double free or corruption (!prev)",
	[UM_BAD_TAGS] = "corrupted size vs. prev_size",
};

static void um_free(struct umalloc_heap *h, uint64_t va)
{
	uint64_t tag, b;

	if (va & (UMALLOC_ALIGN - 1))
		um_corrupt(h, "free(): invalid pointer");
	if (!um_in_heap(h, va)) {
		um_mmap_free(h, um_chunk(h, va, "free(): invalid pointer"));
		return;
	}
	b = um_block(h, va, um_free_msgs, &tag);
	um_free_block(h, b, tag);
}

void ufree(struct umalloc_heap *h, uint64_t va)
{
	h->st.nfree++;
	if (va)
		um_free(h, va);
}

uint64_t ucalloc(struct umalloc_heap *h, size_t n, size_t size)
{
	uint64_t va;

	h->st.ncalloc++;
	if (size && n > UMALLOC_MAX_REQUEST / size) {
		h->st.nomem_too_large++;
		return um_fail(h, 0);
	}
	va = um_malloc(h, (uint64_t)n * size);
	if (va && um_in_heap(h, va)) /* a fresh mapping is zero already */
		um_zero(h, va, (uint64_t)n * size);
	return va;
}

/* ---- realloc ------------------------------------------------------------ */

/* Shrink in-use block b (size bytes) to asize for nbytes; split if room. */
static void um_shrink(struct umalloc_heap *h, uint64_t b, uint64_t size,
		      uint64_t asize, uint64_t nbytes)
{
	uint64_t r = b + asize, rsize = size - asize, n = b + size, nsize;

	if (rsize < UMALLOC_MIN_BLOCK) {
		um_set_tags(h, b,
			    um_tag(size, true,
				   size - UMALLOC_OVERHEAD - nbytes));
		return;
	}
	nsize = um_next_free(h, n);
	um_set_tags(h, b,
		    um_tag(asize, true, asize - UMALLOC_OVERHEAD - nbytes));
	h->st.free_bytes += rsize;
	if (nsize) {
		um_free_replace(h, n, r, rsize + nsize);
	} else {
		um_set_tags(h, r, um_tag(rsize, false, 0));
		um_free_insert(h, r);
		h->st.free_blocks++;
	}
}

/* Grow in-use block b into a free next block if it is enough: true. */
static bool um_expand(struct umalloc_heap *h, uint64_t b, uint64_t size,
		      uint64_t asize, uint64_t nbytes)
{
	uint64_t n = b + size, nsize = um_next_free(h, n), total = size + nsize;

	if (!nsize || total < asize)
		return false;
	if (total - asize >= UMALLOC_MIN_BLOCK) {
		um_free_replace(h, n, b + asize, total - asize);
		total = asize;
	} else {
		um_free_remove(h, n, 0);
		h->st.free_blocks--;
	}
	h->st.free_bytes -= total - size;
	um_set_tags(h, b,
		    um_tag(total, true, total - UMALLOC_OVERHEAD - nbytes));
	return true;
}

static const char *const um_realloc_msgs[] = {
	[UM_BAD_PTR] = "realloc(): invalid pointer",
	[UM_BAD_SIZE] = "realloc(): invalid old size",
	[UM_NOT_INUSE] = "realloc(): invalid pointer",
	[UM_BAD_TAGS] = "corrupted size vs. prev_size",
};

/* Resize in place if possible (counters follow): true. */
static bool um_resize_block(struct umalloc_heap *h, uint64_t b, uint64_t tag,
			    uint64_t nbytes)
{
	uint64_t size = um_size(tag), asize = um_block_size(h, nbytes);
	uint64_t old_req = size - UMALLOC_OVERHEAD - um_slack(tag);

	if (asize <= size)
		um_shrink(h, b, size, asize, nbytes);
	else if (!um_expand(h, b, size, asize, nbytes))
		return false;
	um_note_live(h, 0, (int64_t)(nbytes - old_req),
		     (int64_t)(um_size(um_load(h, b)) - size));
	return true;
}

/* Resize the chunk in place when it still fits (no mremap here): true. */
static bool um_resize_chunk(struct umalloc_heap *h, uint64_t c, uint64_t nbytes)
{
	uint64_t len = um_size(um_load(h, c + 3 * UMALLOC_WORD));
	uint64_t old_req = um_load(h, c);

	if (nbytes > len - UMALLOC_MMAP_HDR)
		return false;
	um_store(h, c, nbytes);
	um_note_live(h, 0, (int64_t)(nbytes - old_req), 0);
	return true;
}

/* Usable bytes of the in-use block or chunk at va (already checked). */
static uint64_t um_usable(struct umalloc_heap *h, uint64_t va)
{
	uint64_t tag;

	if (!um_in_heap(h, va)) {
		tag = um_load(h, va - UMALLOC_WORD);
		return um_size(tag) - UMALLOC_MMAP_HDR;
	}
	return um_size(um_load(h, va - UMALLOC_WORD)) - UMALLOC_OVERHEAD;
}

uint64_t urealloc(struct umalloc_heap *h, uint64_t va, size_t nbytes)
{
	uint64_t tag, q, old;
	bool chunk;

	h->st.nrealloc++;
	if (!va)
		return um_malloc(h, nbytes);
	if (!nbytes) {
		um_free(h, va);
		return 0;
	}
	if (va & (UMALLOC_ALIGN - 1))
		um_corrupt(h, "realloc(): invalid pointer");
	if (nbytes > UMALLOC_MAX_REQUEST) {
		h->st.nomem_too_large++;
		return um_fail(h, 0);
	}
	chunk = !um_in_heap(h, va);
	old = chunk ? um_chunk(h, va, "realloc(): invalid pointer") :
		      um_block(h, va, um_realloc_msgs, &tag);
	if (chunk ? um_resize_chunk(h, old, nbytes) :
		    um_resize_block(h, old, tag, nbytes))
		return va;
	q = um_malloc(h, nbytes);
	if (!q)
		return 0;
	um_copy(h, q, va,
		um_usable(h, va) < nbytes ? um_usable(h, va) : nbytes);
	um_free(h, va);
	return q;
}

size_t umalloc_usable_size(struct umalloc_heap *h, uint64_t va)
{
	static const char *const msgs[] = {
		[UM_BAD_PTR] = "malloc_usable_size(): invalid pointer",
		[UM_BAD_SIZE] = "malloc_usable_size(): invalid pointer",
		[UM_NOT_INUSE] = NULL,
		[UM_BAD_TAGS] = "corrupted size vs. prev_size",
	};
	uint64_t tag;
	enum um_verdict v;

	if (!va)
		return 0;
	if (va & (UMALLOC_ALIGN - 1))
		um_corrupt(h, msgs[UM_BAD_PTR]);
	if (!um_in_heap(h, va)) {
		um_chunk(h, va, msgs[UM_BAD_PTR]);
		return um_usable(h, va);
	}
	v = um_check_block(h, va - UMALLOC_WORD, &tag);
	if (v == UM_NOT_INUSE)
		return 0;
	if (v != UM_OK)
		um_corrupt(h, msgs[v]);
	return um_usable(h, va);
}

/* ---- mallopt ------------------------------------------------------------ */

int umalloc_opt(struct umalloc_heap *h, int param, uint64_t value)
{
	uint64_t flags = um_arena_get(h, UMALLOC_A_FLAGS);
	unsigned off;

	switch (param) {
	case UMALLOC_MMAP_THRESHOLD:
		if (value > UMALLOC_MMAP_THRESHOLD_MAX)
			return -EINVAL;
		off = UMALLOC_A_MMAP_THRESHOLD;
		break;
	case UMALLOC_TRIM_THRESHOLD:
		off = UMALLOC_A_TRIM_THRESHOLD;
		break;
	case UMALLOC_TOP_PAD:
		off = UMALLOC_A_TOP_PAD;
		break;
	case UMALLOC_LIMIT:
		um_arena_set(h, UMALLOC_A_LIMIT, value);
		return 0;
	default:
		return -EINVAL;
	}
	um_arena_set(h, off, value);
	um_arena_set(h, UMALLOC_A_FLAGS, flags | UMALLOC_F_NO_DYN);
	return 0;
}
