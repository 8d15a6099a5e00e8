/*
 * vm/buddy.c - the binary buddy allocator: free blocks of 2^order frames,
 * order 0..BUDDY_MAX_ORDER, kept in per-order hierarchical bitmaps so that
 * "smallest order, lowest address first" costs a few find-first-set steps.
 *
 * Free set.  For each order k a leaf bitmap has bit i set iff the block of
 * 2^k frames at pfn i << k is free at order k (a "free head").  Summary
 * levels sit above it: bit j of level l+1 is set iff word j of level l is
 * non-zero, up to one top word.  The lowest free block of an order is found
 * by reading one word per level (3 levels for 1 GiB at order 0); setting or
 * clearing a bit climbs only while a word turns zero <-> non-zero.  This
 * bitmap is the free "list" of its order: free blocks do not use page->lru.
 *
 *   order 0   summary  [1 0 1 0 ...]            one bit per leaf word
 *             leaf     [0110...][0000...][1000...]   one bit per frame
 *   order 10  leaf     [1111...]                one bit per 4 MiB block
 *
 * Roots.  The pool is carved, from pfn 0 up, into maximal aligned blocks of
 * order <= BUDDY_MAX_ORDER: N = 1000 gives 512@0, 256@512, 128@768, 64@896,
 * 32@960, 8@992.  A block merges only with a buddy in its own root; below
 * BUDDY_MAX_ORDER that needs no test: a root of order r < max sits at a pfn
 * p whose bit r is clear, its buddy p + 2^r would end beyond N, and no bit
 * is ever set for a block that does not fit in the pool.  Order-max roots
 * never merge.  Every block strictly inside a root has its buddy inside too.
 *
 * Lazy coalescing (cfg.lazy): a block about to be put on the list of order k
 * is left there unmerged while that list holds fewer than lazy_threshold
 * blocks; the test repeats at each order of a cascade.  An allocation that
 * finds no block first drains the pcp cache and coalesces every free buddy
 * pair (lazy mode), then retries; so it fails only when eager would.  The
 * coalescing pass runs only if a free left a pair unmerged since the last
 * pass (lazy_pairs), so a failing allocation is O(1) when it cannot help.
 *
 * pcp (cfg.pcp): order-0 frees go to a LIFO cache of up to BUDDY_PCP_HIGH
 * frames (oldest BUDDY_PCP_BATCH go back to the buddy when it overflows);
 * order-0 allocations pop it, refilling a batch lowest-first when empty.
 * Cached frames are free (buddy_nr_free) but on no list (buddy_info), as in
 * Linux.  Lowest-address-first then holds only within a refill batch.
 *
 * Invariants (buddy_check() returns the code in brackets when one breaks):
 *  1. [-1]  each summary bit is set iff the word below it is non-zero.
 *  2. [-2]  nr_blocks[k] == bits set in the order-k leaf; nonempty bit k ==
 *           (nr_blocks[k] != 0); nr_free == sum of 2^k * nr_blocks[k] + pcp.
 *  3. [-3]  a free head's order (page->private) is one its pfn is aligned to.
 *  4. [-4]  each free frame is in exactly one free block (one order's bitmap,
 *           or the pcp cache) and in no allocated block.
 *  5. [-5]  no two buddies are free at the same order, unless lazy mode
 *           left them so and recorded it in lazy_pairs.
 *  6. [-6]  no free or allocated block crosses a root boundary or the end.
 *  7. [-7]  PG_buddy is set exactly on free heads, with private == order.
 *  8. [-8]  every frame of a free block is clean: no other flag, _refcount
 *           and _mapcount zero.
 *  9. [-9]  free blocks, allocated blocks and pcp frames tile the pool.
 * 10. [-10] the pcp ring holds exactly the frames marked as cached.
 *
 * Double frees and frees of a non-head, of a wrong order or of a dirty head
 * are caller bugs and hit BUG_ON (head_state remembers each allocated head's
 * order).  Frames of a block other than its head are checked only by
 * buddy_check(), so buddy_free() stays O(1) in the block size, as in Linux.
 *
 * Locking: none; the caller (the machine lock) serialises every call.
 * SIGSAFE: buddy_alloc, buddy_free, buddy_nr_free, buddy_nr_free_blocks,
 * buddy_get_stats.  Host memory is allocated only in buddy_create().
 */
#include "vm/buddy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BITS 64
#define WORD_SHIFT 6
#define WORD_MASK (WORD_BITS - 1)
#define PAIR_LOW_BITS 0x5555555555555555ULL /* even bit of each pair */
#define HBM_MAX_LEVELS 8 /* 2^36 frames need 7 */

#define HEAD_NONE 0 /* not the head of an allocated block, not cached */
#define HEAD_PCP 0xff /* an order-0 frame in the pcp cache */
#define HEAD_ALLOC(order) ((uint8_t)((order) + 1))

#define BUDDY_PCP_HIGH 128 /* cached frames before a drain */
#define BUDDY_PCP_BATCH 32 /* frames moved per refill or drain */
#define BUDDY_PCP_RING 256 /* ring slots, a power of two > HIGH */

#define INFO_NODE 0
#define INFO_ZONE "Normal"

enum buddy_chk {
	CHK_SUMMARY = -1,
	CHK_COUNT = -2,
	CHK_ALIGN = -3,
	CHK_LISTS = -4,
	CHK_BUDDIES = -5,
	CHK_ROOT = -6,
	CHK_PGBUDDY = -7,
	CHK_DIRTY = -8,
	CHK_TILING = -9,
	CHK_PCP = -10,
};

/* A hierarchical bitmap: level[0] is the leaf, level[depth - 1] one word. */
struct hbm {
	uint64_t *level[HBM_MAX_LEVELS];
	uint64_t nwords[HBM_MAX_LEVELS];
	uint64_t nbits; /* leaf bits: blocks of this order that could exist */
	unsigned depth;
};

/* Order-0 cache: a ring, oldest at `tail`, newest at tail + count - 1. */
struct buddy_pcp {
	pfn_t ring[BUDDY_PCP_RING];
	unsigned tail;
	unsigned count;
};

struct buddy {
	struct page *mem_map;
	uint64_t nr_pages;
	uint64_t nr_free; /* free frames, pcp included */
	uint64_t nr_blocks[BUDDY_NR_ORDERS];
	uint32_t nonempty; /* bit k: nr_blocks[k] != 0 */
	bool lazy_pairs; /* lazy mode left a free buddy pair unmerged */
	struct buddy_config cfg;
	struct hbm map[BUDDY_NR_ORDERS];
	uint8_t *head_state; /* per frame: HEAD_NONE, HEAD_ALLOC(o), HEAD_PCP */
	struct buddy_pcp pcp;
	struct buddy_stats st;
	uint64_t *words; /* one allocation holding every bitmap */
};

/* ---- hierarchical bitmap ------------------------------------------------ */

static inline uint64_t bit(uint64_t i)
{
	return 1ULL << (i & WORD_MASK);
}

static inline int hbm_test(const struct hbm *h, uint64_t i)
{
	return (h->level[0][i >> WORD_SHIFT] & bit(i)) != 0;
}

static inline void hbm_set(struct hbm *h, uint64_t i)
{
	for (unsigned l = 0; l < h->depth; l++) {
		uint64_t *w = &h->level[l][i >> WORD_SHIFT];
		uint64_t old = *w;

		*w = old | bit(i);
		if (old)
			return;
		i >>= WORD_SHIFT;
	}
}

static inline void hbm_clear(struct hbm *h, uint64_t i)
{
	for (unsigned l = 0; l < h->depth; l++) {
		uint64_t *w = &h->level[l][i >> WORD_SHIFT];

		*w &= ~bit(i);
		if (*w)
			return;
		i >>= WORD_SHIFT;
	}
}

/* Lowest set bit; the caller knows the bitmap is not empty. */
static inline uint64_t hbm_first(const struct hbm *h)
{
	uint64_t i = 0;

	for (unsigned l = h->depth; l-- > 0;)
		i = (i << WORD_SHIFT) +
		    (uint64_t)__builtin_ctzll(h->level[l][i]);
	return i;
}

/* Words a bitmap of nbits leaf bits needs, and its shape if h != NULL. */
static uint64_t hbm_layout(struct hbm *h, uint64_t nbits, uint64_t *words)
{
	uint64_t total = 0, n = nbits;
	unsigned l = 0;

	do {
		n = (n + WORD_MASK) >> WORD_SHIFT;
		if (h) {
			h->level[l] = words + total;
			h->nwords[l] = n;
		}
		total += n;
		l++;
	} while (n > 1);
	if (h) {
		h->depth = l;
		h->nbits = nbits;
	}
	return total;
}

/* ---- free lists --------------------------------------------------------- */

/* Put the block i of order k on its free list. */
static inline void free_insert(struct buddy *b, unsigned k, uint64_t i)
{
	struct page *pg = &b->mem_map[i << k];

	hbm_set(&b->map[k], i);
	pg->flags |= PG_buddy;
	pg->private = k;
	if (b->nr_blocks[k]++ == 0)
		b->nonempty |= 1u << k;
}

static inline void free_remove(struct buddy *b, unsigned k, uint64_t i)
{
	struct page *pg = &b->mem_map[i << k];

	hbm_clear(&b->map[k], i);
	pg->flags &= ~(uint32_t)PG_buddy;
	pg->private = 0;
	if (--b->nr_blocks[k] == 0)
		b->nonempty &= ~(1u << k);
}

static inline bool lazy_holds(const struct buddy *b, unsigned k)
{
	return b->cfg.lazy && b->nr_blocks[k] < b->cfg.lazy_threshold;
}

/* Return a block to the free lists, merging upward (lazy rule aside). */
static void free_block(struct buddy *b, pfn_t pfn, unsigned k)
{
	uint64_t i = pfn >> k;

	while (k < BUDDY_MAX_ORDER && hbm_test(&b->map[k], i ^ 1)) {
		if (lazy_holds(b, k)) {
			b->lazy_pairs = true;
			break;
		}
		free_remove(b, k, i ^ 1);
		i >>= 1;
		k++;
		b->st.merge[k]++;
	}
	free_insert(b, k, i);
}

/* Lowest free block of the smallest order >= order, split down to order. */
static int take_block(struct buddy *b, unsigned order, pfn_t *pfn)
{
	uint32_t orders = b->nonempty & ~((1u << order) - 1);
	unsigned k;
	uint64_t i;

	if (!orders)
		return -ENOMEM;
	k = (unsigned)__builtin_ctz(orders);
	i = hbm_first(&b->map[k]);
	free_remove(b, k, i);
	while (k > order) {
		b->st.split[k]++;
		k--;
		i <<= 1;
		free_insert(b, k, i + 1);
	}
	*pfn = i << k;
	return 0;
}

/* Merge every free buddy pair, lowest order first, so cascades complete. */
static void coalesce_all(struct buddy *b)
{
	for (unsigned k = 0; k < BUDDY_MAX_ORDER; k++) {
		const struct hbm *h = &b->map[k];

		for (uint64_t w = 0; w < h->nwords[0]; w++) {
			uint64_t x = h->level[0][w];
			uint64_t pairs = x & (x >> 1) & PAIR_LOW_BITS;

			while (pairs) {
				uint64_t i = (w << WORD_SHIFT) +
					     (uint64_t)__builtin_ctzll(pairs);

				pairs &= pairs - 1;
				free_remove(b, k, i);
				free_remove(b, k, i + 1);
				free_insert(b, k + 1, i >> 1);
				b->st.merge[k + 1]++;
			}
		}
	}
}

/* ---- pcp cache ---------------------------------------------------------- */

static inline pfn_t *pcp_slot(struct buddy_pcp *c, unsigned n)
{
	return &c->ring[(c->tail + n) & (BUDDY_PCP_RING - 1)];
}

/* Give the n oldest cached frames back to the buddy. */
static void pcp_drain(struct buddy *b, unsigned n)
{
	struct buddy_pcp *c = &b->pcp;

	while (n-- && c->count) {
		pfn_t pfn = *pcp_slot(c, 0);

		c->tail = (c->tail + 1) & (BUDDY_PCP_RING - 1);
		c->count--;
		b->head_state[pfn] = HEAD_NONE;
		free_block(b, pfn, 0);
	}
}

/* Take up to a batch of order-0 blocks, so the lowest pops first. */
static void pcp_refill(struct buddy *b)
{
	struct buddy_pcp *c = &b->pcp;
	pfn_t pfn;

	while (c->count < BUDDY_PCP_BATCH && take_block(b, 0, &pfn) == 0) {
		c->tail = (c->tail - 1) & (BUDDY_PCP_RING - 1);
		c->count++;
		*pcp_slot(c, 0) = pfn;
		b->head_state[pfn] = HEAD_PCP;
	}
}

static inline int pcp_pop(struct buddy *b, pfn_t *pfn)
{
	struct buddy_pcp *c = &b->pcp;

	if (!c->count)
		return -ENOMEM;
	c->count--;
	*pfn = *pcp_slot(c, c->count);
	return 0;
}

static inline void pcp_push(struct buddy *b, pfn_t pfn)
{
	struct buddy_pcp *c = &b->pcp;

	*pcp_slot(c, c->count) = pfn;
	c->count++;
	b->head_state[pfn] = HEAD_PCP;
	if (c->count > BUDDY_PCP_HIGH)
		pcp_drain(b, BUDDY_PCP_BATCH);
}

/* ---- allocation and free ------------------------------------------------ */

/* Before failing: empty the pcp cache and merge what lazy mode deferred. */
static int take_slow(struct buddy *b, unsigned order, pfn_t *pfn)
{
	bool changed = false;

	if (b->pcp.count) {
		pcp_drain(b, b->pcp.count);
		changed = true;
	}
	if (b->lazy_pairs) {
		coalesce_all(b);
		b->lazy_pairs = false;
		changed = true;
	}
	return changed ? take_block(b, order, pfn) : -ENOMEM;
}

static int take_order0_pcp(struct buddy *b, pfn_t *pfn)
{
	if (pcp_pop(b, pfn) == 0)
		return 0;
	pcp_refill(b);
	if (pcp_pop(b, pfn) == 0)
		return 0;
	return take_slow(b, 0, pfn);
}

SIGSAFE int buddy_alloc(struct buddy *b, unsigned order, pfn_t *pfn)
{
	int err;

	if (order > BUDDY_MAX_ORDER)
		return -EINVAL;
	if (order == 0 && b->cfg.pcp) {
		err = take_order0_pcp(b, pfn);
	} else {
		err = take_block(b, order, pfn);
		if (unlikely(err))
			err = take_slow(b, order, pfn);
	}
	if (unlikely(err)) {
		b->st.fail[order]++;
		return -ENOMEM;
	}
	b->head_state[*pfn] = HEAD_ALLOC(order);
	b->nr_free -= 1ULL << order;
	b->st.alloc[order]++;
	return 0;
}

SIGSAFE void buddy_free(struct buddy *b, pfn_t pfn, unsigned order)
{
	const struct page *pg;

	BUG_ON(order > BUDDY_MAX_ORDER);
	BUG_ON(pfn >= b->nr_pages);
	BUG_ON(b->head_state[pfn] != HEAD_ALLOC(order)); /* double free? */
	pg = &b->mem_map[pfn];
	BUG_ON(pg->flags != 0 || pg->_refcount != 0 || pg->_mapcount != 0);
	b->nr_free += 1ULL << order;
	b->st.free[order]++;
	if (order == 0 && b->cfg.pcp) {
		pcp_push(b, pfn);
		return;
	}
	b->head_state[pfn] = HEAD_NONE;
	free_block(b, pfn, order);
}

/* ---- creation ------------------------------------------------------------ */

SIGSAFE void buddy_split(struct buddy *b, pfn_t pfn, unsigned order)
{
	BUG_ON(order > BUDDY_MAX_ORDER || pfn >= b->nr_pages);
	BUG_ON(b->head_state[pfn] != HEAD_ALLOC(order));
	for (pfn_t i = 0; i < (1ULL << order); i++)
		b->head_state[pfn + i] = HEAD_ALLOC(0);
}

void buddy_config_init(struct buddy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

/* Order of the root starting at pfn: maximal, aligned, inside the pool. */
static unsigned root_order_at(uint64_t nr_pages, pfn_t pfn)
{
	unsigned k = BUDDY_MAX_ORDER;

	while ((pfn & ((1ULL << k) - 1)) || pfn + (1ULL << k) > nr_pages)
		k--;
	return k;
}

/* Leaf bits of order k: one per block, plus the buddy of the last one. */
static uint64_t order_bits(uint64_t nr_pages, unsigned k)
{
	return (nr_pages >> k) + 1;
}

static int buddy_alloc_maps(struct buddy *b)
{
	uint64_t total = 0;

	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++)
		total += hbm_layout(NULL, order_bits(b->nr_pages, k), NULL);
	b->words = calloc(total, sizeof(uint64_t));
	b->head_state = calloc(b->nr_pages, 1);
	if (!b->words || !b->head_state)
		return -ENOMEM;
	total = 0;
	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++)
		total += hbm_layout(&b->map[k], order_bits(b->nr_pages, k),
				    b->words + total);
	return 0;
}

int buddy_create(struct phys *ph, const struct buddy_config *cfg,
		 struct buddy **out)
{
	struct buddy *b;
	int err;

	if (!ph || !cfg || !out || !ph->mem_map || ph->nr_pages == 0 ||
	    ph->nr_pages > PHYS_MAX_PAGES)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->mem_map = ph->mem_map;
	b->nr_pages = ph->nr_pages;
	b->cfg = *cfg;
	err = buddy_alloc_maps(b);
	if (err)
		goto out_free;
	for (pfn_t pfn = 0; pfn < b->nr_pages;) {
		unsigned k = root_order_at(b->nr_pages, pfn);

		free_insert(b, k, pfn >> k);
		pfn += 1ULL << k;
	}
	b->nr_free = b->nr_pages;
	*out = b;
	return 0;

out_free:
	buddy_destroy(b);
	return err;
}

/* Clear PG_buddy from every free head and release host memory. */
void buddy_destroy(struct buddy *b)
{
	if (!b)
		return;
	if (b->words) {
		pcp_drain(b, b->pcp.count);
		for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
			while (b->nonempty & (1u << k))
				free_remove(b, k, hbm_first(&b->map[k]));
		}
	}
	free(b->words);
	free(b->head_state);
	free(b);
}

/* ---- queries ------------------------------------------------------------- */

SIGSAFE uint64_t buddy_nr_free(const struct buddy *b)
{
	return b->nr_free;
}

SIGSAFE uint64_t buddy_nr_free_blocks(const struct buddy *b, unsigned order)
{
	return order > BUDDY_MAX_ORDER ? 0 : b->nr_blocks[order];
}

SIGSAFE void buddy_get_stats(const struct buddy *b, struct buddy_stats *st)
{
	*st = b->st;
}

int buddy_info(const struct buddy *b, char *buf, size_t len)
{
	size_t pos;
	int n;

	n = snprintf(buf, len, "Node %d, zone %8s ", INFO_NODE, INFO_ZONE);
	if (n < 0)
		return n;
	pos = (size_t)n;
	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		n = snprintf(pos < len ? buf + pos : NULL,
			     pos < len ? len - pos : 0, "%6lu ",
			     (unsigned long)b->nr_blocks[k]);
		if (n < 0)
			return n;
		pos += (size_t)n;
	}
	n = snprintf(pos < len ? buf + pos : NULL, pos < len ? len - pos : 0,
		     "\n");
	if (n < 0)
		return n;
	return (int)(pos + (size_t)n);
}

/* ---- invariant walker (buddy_check) -------------------------------------- */

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
		k = root_order_at(nr_pages, p);
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
