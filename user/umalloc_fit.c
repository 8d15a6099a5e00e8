/*
 * user/umalloc_fit.c - the free lists and the placement policies.
 *
 * Free blocks are linked through their first payload words into circular
 * doubly-linked lists whose sentinels are nodes in the arena page (a
 * sentinel's links sit at the same offsets as a block's, so one unlink
 * serves both, as glibc's bin_at does):
 *
 *   arena: [bin i: next prev] <-> [b: tag next prev ... tag] <-> ... -+
 *            ^-----------------------------------------------------+
 *
 * First/next/best/worst fit share one list (bin 0) in address order;
 * a block with no free neighbour is inserted by walking the heap from it
 * in both directions (tags, footers) to its nearest free neighbour, so an
 * insert costs the distance to the nearest free block, not a list scan.
 * The segregated policy keeps 128 bins (umalloc.h) pushed and popped at
 * the head, with a two-word bitmap of non-empty bins in the arena.
 *
 * The rover (next fit's roving pointer; kept by all four fit policies):
 *   R1  after an allocation takes block b, the rover is b's remainder if
 *       b was split, else b's list successor (the sentinel: the start);
 *   R2  otherwise the rover follows its block: when that block merges
 *       into another free block it moves to the merged block, when a
 *       realloc consumes it, to the remainder or the successor.
 *
 * Invariants (umalloc_check verifies them):
 *  1. Every listed node is a free block; every free block is listed once.
 *  2. Fit policies: bin 0 is sorted by address, bins 1..127 are empty.
 *     Seg: a block sits in bin um_bin_of(size); binmap bit i == bin i
 *     non-empty.
 *  3. The rover is a sentinel or a listed free block (seg: the sentinel).
 *
 * Locking: none (the heap's task thread only).
 */
#include "user/umalloc_internal.h"

#define BINMAP_WORDS	 2
#define BITS_PER_WORD	 64
#define SEG_TINY_BINS	 6   /* bins 0-5: 32..112 in steps of 16 */
#define SEG_TINY_END	 128 /* first size of the geometric bins */
#define SEG_TINY_SHIFT	 4
#define SEG_LOG_TINY_END 7
#define SEG_PER_POW2	 4 /* geometric bins per power of two */
#define SEG_SUB_SHIFT	 2 /* log2(SEG_PER_POW2) */

/* ---- bins -------------------------------------------------------------- */

unsigned um_bin_of(uint64_t size)
{
	unsigned e, idx;

	if (size < SEG_TINY_END)
		return (unsigned)(size >> SEG_TINY_SHIFT) - 2;
	e = 63 - (unsigned)__builtin_clzll(size);
	idx = SEG_TINY_BINS + (e - SEG_LOG_TINY_END) * SEG_PER_POW2 +
	      (unsigned)((size >> (e - SEG_SUB_SHIFT)) & (SEG_PER_POW2 - 1));
	return idx < UMALLOC_NBINS ? idx : UMALLOC_NBINS - 1;
}

uint64_t um_bin_floor(unsigned bin)
{
	unsigned j, e;

	if (bin < SEG_TINY_BINS)
		return UMALLOC_MIN_BLOCK + UMALLOC_ALIGN * bin;
	j = bin - SEG_TINY_BINS;
	e = SEG_LOG_TINY_END + j / SEG_PER_POW2;
	return (uint64_t)(SEG_PER_POW2 + j % SEG_PER_POW2)
	       << (e - SEG_SUB_SHIFT);
}

uint64_t um_block_size(const struct umalloc_heap *h, uint64_t nbytes)
{
	uint64_t a = um_align_up(nbytes + UMALLOC_OVERHEAD, UMALLOC_ALIGN);
	unsigned i;

	if (a < UMALLOC_MIN_BLOCK)
		a = UMALLOC_MIN_BLOCK;
	if (h->policy != UMALLOC_SEGREGATED || a > UMALLOC_SMALL_MAX)
		return a;
	i = um_bin_of(a);
	return um_bin_floor(i) == a ? a : um_bin_floor(i + 1);
}

/* ---- links ------------------------------------------------------------- */

static bool um_valid_node(const struct umalloc_heap *h, uint64_t x)
{
	uint64_t off = x - h->arena - UMALLOC_A_BINS;

	if (um_is_sentinel(h, x))
		return x >= h->arena + UMALLOC_A_BINS && off % 16 == 0 &&
		       off / 16 < UMALLOC_NBINS;
	return um_is_block(h, x);
}

uint64_t um_link(struct umalloc_heap *h, uint64_t x, unsigned which)
{
	uint64_t v = um_load(h, x + which);

	if (!um_valid_node(h, v))
		um_corrupt(h, "malloc(): corrupted free list");
	return v;
}

void um_list_insert_after(struct umalloc_heap *h, uint64_t pos, uint64_t b)
{
	uint64_t next = um_link(h, pos, UM_NEXT);

	um_store(h, b + UM_NEXT, next);
	um_store(h, b + UM_PREV, pos);
	um_store(h, next + UM_PREV, b);
	um_store(h, pos + UM_NEXT, b);
}

void um_list_unlink(struct umalloc_heap *h, uint64_t b)
{
	uint64_t next = um_link(h, b, UM_NEXT);
	uint64_t prev = um_link(h, b, UM_PREV);

	if (um_load(h, next + UM_PREV) != b || um_load(h, prev + UM_NEXT) != b)
		um_corrupt(h, "corrupted double-linked list");
	um_store(h, prev + UM_NEXT, next);
	um_store(h, next + UM_PREV, prev);
}

/* ---- segregated bins --------------------------------------------------- */

static void seg_mark(struct umalloc_heap *h, unsigned bin, bool on)
{
	unsigned off = UMALLOC_A_BINMAP + (bin / BITS_PER_WORD) * 8;
	uint64_t bit = 1ULL << (bin % BITS_PER_WORD);
	uint64_t w = um_arena_get(h, off);

	if (!!(w & bit) != on)
		um_arena_set(h, off, w ^ bit);
}

static void seg_insert(struct umalloc_heap *h, uint64_t b, uint64_t size)
{
	unsigned bin = um_bin_of(size);

	um_list_insert_after(h, um_bin_node(h, bin), b);
	seg_mark(h, bin, true);
}

/* Unlink b; clear its bin's bit when b was the last block there. */
static void seg_remove(struct umalloc_heap *h, uint64_t b)
{
	uint64_t prev = um_link(h, b, UM_PREV);

	um_list_unlink(h, b);
	if (um_is_sentinel(h, prev) && um_load(h, prev + UM_NEXT) == prev)
		seg_mark(h, (unsigned)((prev - um_bin_node(h, 0)) / 16), false);
}

/* The first non-empty bin >= from, or -1. */
static int seg_first_bin(struct umalloc_heap *h, unsigned from)
{
	for (unsigned w = from / BITS_PER_WORD; w < BINMAP_WORDS; w++) {
		uint64_t m = um_arena_get(h, UMALLOC_A_BINMAP + w * 8);

		if (w == from / BITS_PER_WORD)
			m &= ~0ULL << (from % BITS_PER_WORD);
		if (m)
			return (int)(w * BITS_PER_WORD) + __builtin_ctzll(m);
	}
	return -1;
}

/* ---- searches ---------------------------------------------------------- */

/* The size of listed block x, whose tag must say free. */
static uint64_t um_free_size(struct umalloc_heap *h, uint64_t x)
{
	uint64_t tag = um_load(h, x);

	if (um_inuse(tag) || um_size(tag) < UMALLOC_MIN_BLOCK ||
	    um_size(tag) > um_epilogue(h) - x)
		um_corrupt(h, "malloc(): corrupted free list");
	return um_size(tag);
}

/* Best fit among the blocks of the list at sentinel s. */
static uint64_t best_in(struct umalloc_heap *h, uint64_t s, uint64_t asize,
			uint64_t *visits)
{
	uint64_t best = 0, best_size = UINT64_MAX;

	for (uint64_t x = um_link(h, s, UM_NEXT); x != s;
	     x = um_link(h, x, UM_NEXT)) {
		uint64_t size = um_free_size(h, x);

		++*visits;
		if (size < asize || size > best_size ||
		    (size == best_size && x > best))
			continue;
		best = x;
		best_size = size;
		if (size == asize)
			break; /* exact: nothing can beat it */
	}
	return best;
}

static uint64_t worst_in(struct umalloc_heap *h, uint64_t s, uint64_t asize,
			 uint64_t *visits)
{
	uint64_t worst = 0, worst_size = 0;

	for (uint64_t x = um_link(h, s, UM_NEXT); x != s;
	     x = um_link(h, x, UM_NEXT)) {
		uint64_t size = um_free_size(h, x);

		++*visits;
		if (size >= asize && size > worst_size) {
			worst = x; /* strictly larger: ties keep the lowest */
			worst_size = size;
		}
	}
	return worst;
}

/* First fit from node start (inclusive) round the circle back to it. */
static uint64_t first_from(struct umalloc_heap *h, uint64_t s, uint64_t start,
			   uint64_t asize, uint64_t *visits)
{
	uint64_t x = start;

	do {
		if (x != s) {
			++*visits;
			if (um_free_size(h, x) >= asize)
				return x;
		}
		x = um_link(h, x, UM_NEXT);
	} while (x != start);
	return 0;
}

static uint64_t seg_find(struct umalloc_heap *h, uint64_t asize,
			 uint64_t *visits)
{
	unsigned bin = um_bin_of(asize);
	uint64_t b = 0;
	int i;

	if (asize > UMALLOC_SMALL_MAX) {
		b = best_in(h, um_bin_node(h, bin), asize, visits);
		bin++;
	}
	if (b)
		return b;
	i = seg_first_bin(h, bin);
	if (i < 0)
		return 0;
	++*visits;
	return um_link(h, um_bin_node(h, (unsigned)i), UM_NEXT);
}

uint64_t um_find_fit(struct umalloc_heap *h, uint64_t asize)
{
	uint64_t s = um_bin_node(h, UMALLOC_FIT_BIN), visits = 0, b = 0;
	uint64_t rover;

	switch (h->policy) {
	case UMALLOC_FIRST_FIT:
		b = first_from(h, s, s, asize, &visits);
		break;
	case UMALLOC_NEXT_FIT:
		rover = um_arena_get(h, UMALLOC_A_ROVER);
		if (!um_valid_node(h, rover))
			um_corrupt(h, "malloc(): corrupted rover");
		b = first_from(h, s, rover, asize, &visits);
		break;
	case UMALLOC_BEST_FIT:
		b = best_in(h, s, asize, &visits);
		break;
	case UMALLOC_WORST_FIT:
		b = worst_in(h, s, asize, &visits);
		break;
	case UMALLOC_SEGREGATED:
	case UMALLOC_NPOLICIES:
		b = seg_find(h, asize, &visits);
		break;
	}
	um_note_search(h, visits);
	return b;
}

/* ---- placing and freeing ----------------------------------------------- */

static bool um_is_fit(const struct umalloc_heap *h)
{
	return h->policy != UMALLOC_SEGREGATED;
}

/* Fit list: old's neighbours, their links to old checked. */
static void fit_links(struct umalloc_heap *h, uint64_t old, uint64_t *next,
		      uint64_t *prev)
{
	*next = um_link(h, old, UM_NEXT);
	*prev = um_link(h, old, UM_PREV);
	if (um_load(h, *next + UM_PREV) != old ||
	    um_load(h, *prev + UM_NEXT) != old)
		um_corrupt(h, "corrupted double-linked list");
}

/* Fit list: link b between prev and next. */
static void fit_link_in(struct umalloc_heap *h, uint64_t b, uint64_t next,
			uint64_t prev)
{
	um_store(h, b + UM_NEXT, next);
	um_store(h, b + UM_PREV, prev);
	um_store(h, prev + UM_NEXT, b);
	um_store(h, next + UM_PREV, b);
}

static void rover_follow(struct umalloc_heap *h, uint64_t from, uint64_t to)
{
	if (um_is_fit(h) && um_arena_get(h, UMALLOC_A_ROVER) == from)
		um_arena_set(h, UMALLOC_A_ROVER, to);
}

void um_place(struct umalloc_heap *h, uint64_t b, uint64_t asize,
	      uint64_t nbytes)
{
	uint64_t tag = um_load(h, b), size = um_size(tag), rover, next, prev;

	if (um_inuse(tag) || um_load(h, b + size - UMALLOC_WORD) != tag)
		um_corrupt(h, "malloc(): corrupted free list");
	if (size - asize >= UMALLOC_MIN_BLOCK) {
		rover = b + asize; /* the remainder */
		um_set_tags(h, rover, um_tag(size - asize, false, 0));
		if (um_is_fit(h)) {
			fit_links(h, b, &next, &prev);
			fit_link_in(h, rover, next, prev);
		} else {
			seg_remove(h, b);
			seg_insert(h, rover, size - asize);
		}
	} else {
		rover = um_link(h, b, UM_NEXT); /* the successor */
		if (um_is_fit(h))
			um_list_unlink(h, b);
		else
			seg_remove(h, b);
		asize = size;
		h->st.free_blocks--;
	}
	if (um_is_fit(h))
		um_arena_set(h, UMALLOC_A_ROVER, rover); /* R1 */
	h->st.free_bytes -= asize;
	um_set_tags(h, b,
		    um_tag(asize, true, asize - UMALLOC_OVERHEAD - nbytes));
}

/* One step forward from block *f: its list predecessor if free, else 0. */
static uint64_t walk_forward(struct umalloc_heap *h, uint64_t *f)
{
	uint64_t tag = um_load(h, *f), size = um_size(tag);

	if (!um_inuse(tag))
		return um_link(h, *f, UM_PREV);
	if (size < UMALLOC_MIN_BLOCK || size > um_epilogue(h) - *f)
		um_corrupt(h, "free(): corrupted heap");
	*f += size;
	return 0;
}

/* One step back from block *k to the one before it: that block if free. */
static uint64_t walk_back(struct umalloc_heap *h, uint64_t *k)
{
	uint64_t tag = um_load(h, *k - UMALLOC_WORD), size = um_size(tag);

	if (size < UMALLOC_MIN_BLOCK || size > *k - h->first)
		um_corrupt(h, "free(): corrupted heap");
	*k -= size;
	return um_inuse(tag) ? 0 : *k;
}

/*
 * Fit list: insert b after its nearest free neighbour, walking the heap
 * from b both ways at once (cost: the distance to the nearest free block).
 */
static void fit_insert(struct umalloc_heap *h, uint64_t b)
{
	uint64_t epi = um_epilogue(h), f = b + um_size(um_load(h, b)), k = b;
	uint64_t s = um_bin_node(h, UMALLOC_FIT_BIN), pos = 0;

	if (f == epi) /* the last block: the list's tail precedes it */
		pos = um_link(h, s, UM_PREV);
	else if (k == h->first)
		pos = s;
	while (!pos && (f < epi || k > h->first)) {
		if (f < epi)
			pos = walk_forward(h, &f);
		if (!pos && k > h->first)
			pos = walk_back(h, &k);
	}
	um_list_insert_after(h, pos ? pos : s, b);
}

void um_free_insert(struct umalloc_heap *h, uint64_t b)
{
	if (um_is_fit(h))
		fit_insert(h, b);
	else
		seg_insert(h, b, um_size(um_load(h, b)));
}

void um_free_replace(struct umalloc_heap *h, uint64_t old, uint64_t b,
		     uint64_t size)
{
	uint64_t next, prev;

	if (!um_is_fit(h)) {
		seg_remove(h, old);
		um_set_tags(h, b, um_tag(size, false, 0));
		seg_insert(h, b, size);
		return;
	}
	fit_links(h, old, &next, &prev); /* before b's tags overwrite them */
	um_set_tags(h, b, um_tag(size, false, 0));
	fit_link_in(h, b, next, prev);
	rover_follow(h, old, b);
}

void um_free_remove(struct umalloc_heap *h, uint64_t b, uint64_t heir)
{
	uint64_t succ = um_link(h, b, UM_NEXT);

	if (!um_is_fit(h)) {
		seg_remove(h, b);
		return;
	}
	um_list_unlink(h, b);
	rover_follow(h, b, heir ? heir : succ);
}

void um_free_resized(struct umalloc_heap *h, uint64_t b)
{
	if (um_is_fit(h))
		return;
	seg_remove(h, b);
	seg_insert(h, b, um_size(um_load(h, b)));
}

void um_note_search(struct umalloc_heap *h, uint64_t visits)
{
	h->st.search_allocs++;
	h->st.search_visits += visits;
	if (visits > h->st.search_max)
		h->st.search_max = visits;
}
