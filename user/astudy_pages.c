/*
 * user/astudy_pages.c - the study's two page allocators (models).
 *
 * Buddy: free blocks of 2^order pages, each aligned to its size, on one
 * LIFO list per order (as Linux's free_area lists are pushed and popped
 * at the head).  An allocation takes the first block of the smallest
 * order that has one and splits it, keeping the lower half and putting
 * the upper halves back; a free merges the block with its buddy (pfn ^
 * 2^order) for as long as the buddy is free and whole.  The arena is cut
 * at start into the largest aligned blocks that fit, as a kernel does
 * with its memory.
 *
 *   order 2:  [0 1 2 3]                       alloc(order 0) from an
 *   split:    [0 1] [2 3]  ->  [0] [1] [2 3]  order-2 block: 0 is taken,
 *                                             1 and [2 3] go back
 *
 * Bitmap: one bit per page (1 = in use); an allocation of n pages scans
 * from the lowest free page (the hint) for the first run of n clear bits,
 * skipping whole words that are full (or, inside a run, empty): O(arena)
 * in the worst case, the cost the search counter reports in pages.
 *
 * Invariants (am_buddy_check; the bitmap's are checked by the model):
 *  1. A free block is aligned to its size, inside the arena, on exactly
 *     the list of its order, its head page tagged with that order.
 *  2. Free blocks are disjoint and add up to free_pages.
 *  3. No free block's buddy is a free block of the same order.
 *
 * Locking: none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "user/astudy_internal.h"

#define WORD_BITS 64
#define WORD_FULL UINT64_MAX

unsigned am_order_of(uint64_t npages)
{
	unsigned o = 0;

	while (o < 63 && (1ULL << o) < npages)
		o++;
	return o;
}

/* ---- buddy ---------------------------------------------------------------- */

static void bd_push(struct am_buddy *b, uint64_t pfn, unsigned order)
{
	b->next[pfn] = b->head[order];
	b->prev[pfn] = AM_NONE;
	if (b->head[order] != AM_NONE)
		b->prev[b->head[order]] = pfn;
	b->head[order] = pfn;
	b->free_order[pfn] = (int8_t)order;
	b->nfree[order]++;
	b->free_pages += 1ULL << order;
}

static void bd_unlink(struct am_buddy *b, uint64_t pfn)
{
	unsigned o = (unsigned)b->free_order[pfn];

	if (b->prev[pfn] != AM_NONE)
		b->next[b->prev[pfn]] = b->next[pfn];
	else
		b->head[o] = b->next[pfn];
	if (b->next[pfn] != AM_NONE)
		b->prev[b->next[pfn]] = b->prev[pfn];
	b->free_order[pfn] = -1;
	b->nfree[o]--;
	b->free_pages -= 1ULL << o;
}

int am_buddy_init(struct am_buddy *b, uint64_t npages)
{
	memset(b, 0, sizeof(*b));
	b->npages = npages;
	b->next = malloc(npages * sizeof(*b->next));
	b->prev = malloc(npages * sizeof(*b->prev));
	b->free_order = malloc(npages);
	if (!b->next || !b->prev || !b->free_order) {
		am_buddy_fini(b);
		return -ENOMEM;
	}
	memset(b->free_order, -1, npages);
	b->max_order = am_order_of(npages + 1) - 1;
	if (b->max_order > AM_MAX_ORDER)
		b->max_order = AM_MAX_ORDER;
	for (unsigned o = 0; o <= AM_MAX_ORDER; o++)
		b->head[o] = AM_NONE;
	for (uint64_t pfn = 0; pfn < npages;) {
		unsigned o = b->max_order;

		while (o && ((pfn & ((1ULL << o) - 1)) ||
			     pfn + (1ULL << o) > npages))
			o--;
		bd_push(b, pfn, o);
		pfn += 1ULL << o;
	}
	return 0;
}

void am_buddy_fini(struct am_buddy *b)
{
	free(b->next);
	free(b->prev);
	free(b->free_order);
	b->next = b->prev = NULL;
	b->free_order = NULL;
}

uint64_t am_buddy_alloc(struct am_buddy *b, unsigned order, uint64_t *visits)
{
	for (unsigned o = order; o <= b->max_order; o++) {
		uint64_t pfn = b->head[o];

		++*visits;
		if (pfn == AM_NONE)
			continue;
		bd_unlink(b, pfn);
		while (o > order) {
			o--;
			bd_push(b, pfn + (1ULL << o), o);
		}
		return pfn;
	}
	return AM_NONE;
}

void am_buddy_free(struct am_buddy *b, uint64_t pfn, unsigned order)
{
	while (order < b->max_order) {
		uint64_t buddy = pfn ^ (1ULL << order);

		if (buddy + (1ULL << order) > b->npages ||
		    b->free_order[buddy] != (int8_t)order)
			break;
		bd_unlink(b, buddy);
		pfn &= ~(1ULL << order);
		order++;
	}
	bd_push(b, pfn, order);
}

uint64_t am_buddy_largest(const struct am_buddy *b)
{
	for (int o = (int)b->max_order; o >= 0; o--)
		if (b->nfree[o])
			return 1ULL << o;
	return 0;
}

uint64_t am_buddy_blocks(const struct am_buddy *b)
{
	uint64_t n = 0;

	for (unsigned o = 0; o <= b->max_order; o++)
		n += b->nfree[o];
	return n;
}

/* Is free block x of order o well placed?  Marks its pages in seen. */
static bool bd_block_ok(const struct am_buddy *b, uint64_t x, unsigned o,
			uint64_t prev, uint8_t *seen)
{
	uint64_t size = 1ULL << o, buddy = x ^ size;

	if (x >= b->npages || (x & (size - 1)) || x + size > b->npages ||
	    b->free_order[x] != (int8_t)o || b->prev[x] != prev)
		return false;
	if (o < b->max_order && buddy + size <= b->npages &&
	    b->free_order[buddy] == (int8_t)o)
		return false; /* should have merged */
	for (uint64_t p = x; p < x + size; p++) {
		if (seen[p])
			return false;
		seen[p] = 1;
	}
	return true;
}

int am_buddy_check(const struct am_buddy *b, uint8_t *seen)
{
	uint64_t pages = 0;

	for (unsigned o = 0; o <= b->max_order; o++) {
		uint64_t n = 0, prev = AM_NONE;

		for (uint64_t x = b->head[o]; x != AM_NONE; x = b->next[x]) {
			if (++n > b->nfree[o] ||
			    !bd_block_ok(b, x, o, prev, seen))
				return -EUCLEAN;
			prev = x;
		}
		if (n != b->nfree[o])
			return -EUCLEAN;
		pages += n << o;
	}
	return pages == b->free_pages ? 0 : -EUCLEAN;
}

/* ---- bitmap ---------------------------------------------------------------- */

int am_bitmap_init(struct am_bitmap *bm, uint64_t npages)
{
	memset(bm, 0, sizeof(*bm));
	bm->npages = npages;
	bm->bits =
		calloc((npages + WORD_BITS - 1) / WORD_BITS, sizeof(uint64_t));
	return bm->bits ? 0 : -ENOMEM;
}

void am_bitmap_fini(struct am_bitmap *bm)
{
	free(bm->bits);
	bm->bits = NULL;
}

bool am_bitmap_test(const struct am_bitmap *bm, uint64_t pfn)
{
	return (bm->bits[pfn / WORD_BITS] >> (pfn % WORD_BITS)) & 1;
}

static void bm_set(struct am_bitmap *bm, uint64_t pfn, uint64_t n, bool on)
{
	for (uint64_t p = pfn; p < pfn + n; p++) {
		uint64_t bit = 1ULL << (p % WORD_BITS);

		if (on)
			bm->bits[p / WORD_BITS] |= bit;
		else
			bm->bits[p / WORD_BITS] &= ~bit;
	}
}

/* A whole word at page i (word-aligned, inside the arena) equal to w? */
static bool bm_word_is(const struct am_bitmap *bm, uint64_t i, uint64_t w)
{
	return i % WORD_BITS == 0 && i + WORD_BITS <= bm->npages &&
	       bm->bits[i / WORD_BITS] == w;
}

/* The first free page at or after from (npages if none). */
static uint64_t bm_next_free(const struct am_bitmap *bm, uint64_t from)
{
	uint64_t i = from;

	while (i < bm->npages) {
		if (bm_word_is(bm, i, WORD_FULL))
			i += WORD_BITS;
		else if (am_bitmap_test(bm, i))
			i++;
		else
			break;
	}
	return i;
}

uint64_t am_bitmap_alloc(struct am_bitmap *bm, uint64_t n, uint64_t *visits)
{
	uint64_t run = 0, start = 0, i = bm->hint;

	while (i < bm->npages && run < n) {
		uint64_t step = 1;

		if (bm_word_is(bm, i, WORD_FULL)) {
			step = WORD_BITS;
			run = 0;
		} else if (run + WORD_BITS <= n && bm_word_is(bm, i, 0)) {
			step = WORD_BITS;
			start = run ? start : i;
			run += WORD_BITS;
		} else if (am_bitmap_test(bm, i)) {
			run = 0;
		} else {
			start = run++ ? start : i;
		}
		*visits += step;
		i += step;
	}
	if (run < n)
		return AM_NONE;
	bm_set(bm, start, n, true);
	bm->used += n;
	if (start == bm->hint)
		bm->hint = bm_next_free(bm, start + n);
	return start;
}

void am_bitmap_free(struct am_bitmap *bm, uint64_t pfn, uint64_t n)
{
	bm_set(bm, pfn, n, false);
	bm->used -= n;
	if (pfn < bm->hint)
		bm->hint = pfn;
}

void am_bitmap_runs(const struct am_bitmap *bm, uint64_t *runs,
		    uint64_t *longest)
{
	uint64_t run = 0;

	*runs = *longest = 0;
	for (uint64_t p = 0; p <= bm->npages; p++) {
		if (p < bm->npages && !am_bitmap_test(bm, p)) {
			run++;
			continue;
		}
		*runs += run != 0;
		*longest = run > *longest ? run : *longest;
		run = 0;
	}
}
