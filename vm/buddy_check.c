/*
 * vm/buddy_check.c - buddy_check(): the walker of the buddy allocator's
 * invariants 1-10 (numbered in vm/buddy.c, codes in enum buddy_chk).
 * O(nr_pages); reads only.  Same locking as the allocator: the caller
 * serialises.
 */
#include "vm/buddy_internal.h"

/* Invariant 1: summaries, and no bit for a block beyond the pool (6). */
static int check_summaries(const struct buddy *b, unsigned k)
{
	const struct hbm *h = &b->map[k];

	for (unsigned l = 1; l < h->depth; l++) {
		for (uint64_t x = 0; x < h->nwords[l - 1]; x++) {
			bool below = h->level[l - 1][x] != 0;
			bool sum = (h->level[l][x >> WORD_SHIFT] & bit(x)) != 0;

			if (below != sum)
				return CHK_SUMMARY;
		}
	}
	for (uint64_t i = b->nr_pages >> k; i < h->nwords[0] * WORD_BITS; i++)
		if (hbm_test(h, i))
			return CHK_ROOT;
	return 0;
}

/* Invariant 2: the counters against a recount of the leaves. */
static int check_counts(const struct buddy *b)
{
	uint64_t frames = b->pcp.count;

	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		const struct hbm *h = &b->map[k];
		uint64_t n = 0;

		for (uint64_t w = 0; w < h->nwords[0]; w++)
			n += (uint64_t)__builtin_popcountll(h->level[0][w]);
		if (n != b->nr_blocks[k] ||
		    ((b->nonempty >> k) & 1) != (n != 0))
			return CHK_COUNT;
		frames += n << k;
	}
	return frames == b->nr_free ? 0 : CHK_COUNT;
}

/* Invariant 5: no two free buddies of one order (unless lazy_pairs). */
static int check_buddies(const struct buddy *b)
{
	for (unsigned k = 0; k < BUDDY_MAX_ORDER; k++) {
		const struct hbm *h = &b->map[k];

		for (uint64_t w = 0; w < h->nwords[0]; w++) {
			uint64_t x = h->level[0][w];

			if (x & (x >> 1) & PAIR_LOW_BITS)
				return CHK_BUDDIES;
		}
	}
	return 0;
}

/* The root holding pfn: its start and order (see "Roots" above). */
static unsigned root_of(uint64_t nr_pages, pfn_t pfn, pfn_t *start)
{
	uint64_t max_blk = 1ULL << BUDDY_MAX_ORDER;
	pfn_t p = nr_pages & ~(max_blk - 1);
	unsigned k;

	if (pfn < p) {
		*start = pfn & ~(max_blk - 1);
		return BUDDY_MAX_ORDER;
	}
	for (;;) {
		k = buddy_root_order_at(nr_pages, p);
		if (pfn < p + (1ULL << k))
			break;
		p += 1ULL << k;
	}
	*start = p;
	return k;
}

static bool in_one_root(const struct buddy *b, pfn_t pfn, unsigned k)
{
	pfn_t start;
	unsigned rk;

	if (pfn + (1ULL << k) > b->nr_pages)
		return false;
	rk = root_of(b->nr_pages, pfn, &start);
	return pfn + (1ULL << k) <= start + (1ULL << rk);
}

/* The order whose free list has pfn as a head; -1: none; CHK_LISTS: two. */
static int free_order_at(const struct buddy *b, pfn_t pfn)
{
	int found = -1;

	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		if (pfn & ((1ULL << k) - 1))
			break;
		if (!hbm_test(&b->map[k], pfn >> k))
			continue;
		if (found >= 0)
			return CHK_LISTS;
		found = (int)k;
	}
	return found;
}

static bool page_clean(const struct page *pg, uint32_t flags)
{
	return pg->flags == flags && pg->_refcount == 0 && pg->_mapcount == 0;
}

/* A frame inside a block (not its head): no head of anything. */
static int check_inner(const struct buddy *b, pfn_t pfn, bool is_free)
{
	const struct page *pg = &b->mem_map[pfn];

	if (free_order_at(b, pfn) != -1 || b->head_state[pfn] != HEAD_NONE)
		return CHK_LISTS;
	if (pg->flags & PG_buddy)
		return CHK_PGBUDDY;
	if (is_free && !page_clean(pg, 0))
		return CHK_DIRTY;
	return 0;
}

/* Invariants 3, 4, 6, 7, 8 for the free block at pfn of order k. */
static int check_free_block(const struct buddy *b, pfn_t pfn, unsigned k)
{
	const struct page *pg = &b->mem_map[pfn];
	int err;

	if (!(pg->flags & PG_buddy) || pg->private > BUDDY_MAX_ORDER)
		return CHK_PGBUDDY;
	if (pfn & ((1ULL << pg->private) - 1))
		return CHK_ALIGN;
	if (pg->private != k)
		return CHK_PGBUDDY;
	if (!page_clean(pg, PG_buddy))
		return CHK_DIRTY;
	if (b->head_state[pfn] != HEAD_NONE)
		return CHK_LISTS;
	if (!in_one_root(b, pfn, k))
		return CHK_ROOT;
	for (pfn_t q = pfn + 1; q < pfn + (1ULL << k); q++) {
		err = check_inner(b, q, true);
		if (err)
			return err;
	}
	return 0;
}

/* An allocated block or a cached frame at pfn; *npages gets its size. */
static int check_used_block(const struct buddy *b, pfn_t pfn, uint64_t *npages)
{
	uint8_t hs = b->head_state[pfn];
	unsigned k;
	int err;

	if (b->mem_map[pfn].flags & PG_buddy)
		return CHK_PGBUDDY;
	if (hs == HEAD_NONE ||
	    (hs != HEAD_PCP && hs > HEAD_ALLOC(BUDDY_MAX_ORDER)))
		return CHK_TILING;
	*npages = 1;
	if (hs == HEAD_PCP)
		return page_clean(&b->mem_map[pfn], 0) ? 0 : CHK_DIRTY;
	k = hs - 1u;
	if ((pfn & ((1ULL << k) - 1)) || !in_one_root(b, pfn, k))
		return CHK_ROOT;
	for (pfn_t q = pfn + 1; q < pfn + (1ULL << k); q++) {
		err = check_inner(b, q, false);
		if (err)
			return err;
	}
	*npages = 1ULL << k;
	return 0;
}

/* Walk the pool block by block; count the pcp frames met. */
static int check_walk(const struct buddy *b, uint64_t *nr_cached)
{
	pfn_t pfn = 0;
	int k, err;

	*nr_cached = 0;
	while (pfn < b->nr_pages) {
		uint64_t npages;

		k = free_order_at(b, pfn);
		if (k < -1)
			return k;
		if (k >= 0) {
			err = check_free_block(b, pfn, (unsigned)k);
			npages = 1ULL << k;
		} else {
			err = check_used_block(b, pfn, &npages);
			*nr_cached += b->head_state[pfn] == HEAD_PCP;
		}
		if (err)
			return err;
		pfn += npages;
	}
	return 0;
}

/* Invariant 10: the ring holds exactly the frames marked HEAD_PCP. */
static int check_pcp(const struct buddy *b, uint64_t nr_cached)
{
	const struct buddy_pcp *c = &b->pcp;

	if (c->count > BUDDY_PCP_HIGH || c->count != nr_cached)
		return CHK_PCP;
	if (c->count && !b->cfg.pcp)
		return CHK_PCP;
	for (unsigned n = 0; n < c->count; n++) {
		pfn_t pfn = c->ring[(c->tail + n) & (BUDDY_PCP_RING - 1)];

		if (pfn >= b->nr_pages || b->head_state[pfn] != HEAD_PCP)
			return CHK_PCP;
	}
	return 0;
}

int buddy_check(const struct buddy *b)
{
	uint64_t nr_cached;
	int err;

	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		err = check_summaries(b, k);
		if (err)
			return err;
	}
	err = check_counts(b);
	if (!err && !b->lazy_pairs)
		err = check_buddies(b);
	if (!err)
		err = check_walk(b, &nr_cached);
	if (!err)
		err = check_pcp(b, nr_cached);
	return err;
}
