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
 *  1. [-1101]  each summary bit is set iff the word below it is non-zero.
 *  2. [-1102]  nr_blocks[k] == bits set in the order-k leaf; nonempty bit k ==
 *           (nr_blocks[k] != 0); nr_free == sum of 2^k * nr_blocks[k] + pcp.
 *  3. [-1103]  a free head's order (page->private) is one its pfn is aligned to.
 *  4. [-1104]  each free frame is in exactly one free block (one order's bitmap,
 *           or the pcp cache) and in no allocated block.
 *  5. [-1105]  no two buddies are free at the same order, unless lazy mode
 *           left them so and recorded it in lazy_pairs.
 *  6. [-1106]  no free or allocated block crosses a root boundary or the end.
 *  7. [-1107]  PG_buddy is set exactly on free heads, with private == order.
 *  8. [-1108]  every frame of a free block is clean: no other flag, _refcount
 *           and _mapcount zero.
 *  9. [-1109]  free blocks, allocated blocks and pcp frames tile the pool.
 * 10. [-1110] the pcp ring holds exactly the frames marked as cached.
 *
 * Double frees and frees of a non-head, of a wrong order or of a dirty head
 * are caller bugs and hit BUG_ON (head_state remembers each allocated head's
 * order).  Frames of a block other than its head are checked only by
 * buddy_check(), so buddy_free() stays O(1) in the block size, as in Linux.
 *
 * Locking: none; the caller (the machine lock) serialises every call.
 * SIGSAFE: buddy_alloc, buddy_free, buddy_nr_free, buddy_nr_free_blocks,
 * buddy_get_stats, and compaction's buddy_free_order, buddy_take_free,
 * buddy_drain.  Host memory is allocated only in buddy_create().
 */
#include "vm/buddy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hierarchical bitmap ------------------------------------------------ */

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

/* ---- compaction's hooks -------------------------------------------------- */

SIGSAFE int buddy_free_order(const struct buddy *b, pfn_t pfn, pfn_t *head)
{
	if (pfn >= b->nr_pages)
		return -1;
	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		if (hbm_test(&b->map[k], pfn >> k)) {
			*head = pfn & ~((1ULL << k) - 1);
			return (int)k;
		}
	}
	return -1;
}

/*
 * Take frame pfn out of the free block of order k that holds it: the block
 * leaves its list and is split down, the halves without pfn going back on
 * their lists, as take_block splits keeping one half.
 */
SIGSAFE int buddy_take_free(struct buddy *b, pfn_t pfn)
{
	pfn_t head;
	int k = buddy_free_order(b, pfn, &head);
	uint64_t i;

	if (k < 0)
		return -EBUSY;
	i = head >> k;
	free_remove(b, (unsigned)k, i);
	while (k > 0) {
		b->st.split[k]++;
		k--;
		i <<= 1;
		if ((pfn >> k) & 1) {
			free_insert(b, (unsigned)k, i);
			i |= 1;
		} else {
			free_insert(b, (unsigned)k, i + 1);
		}
	}
	b->head_state[pfn] = HEAD_ALLOC(0);
	b->nr_free--;
	b->st.alloc[0]++;
	return 0;
}

SIGSAFE void buddy_drain(struct buddy *b)
{
	pcp_drain(b, b->pcp.count);
	if (b->lazy_pairs) {
		coalesce_all(b);
		b->lazy_pairs = false;
	}
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

/* Leaf bits of order k: one per block, plus the buddy of the last one. */
unsigned buddy_root_order_at(uint64_t nr_pages, pfn_t pfn)
{
	unsigned k = BUDDY_MAX_ORDER;

	while ((pfn & ((1ULL << k) - 1)) || pfn + (1ULL << k) > nr_pages)
		k--;
	return k;
}

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
		unsigned k = buddy_root_order_at(b->nr_pages, pfn);

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
