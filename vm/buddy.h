/*
 * vm/buddy.h - the binary buddy allocator over the frame pool.
 *
 * Blocks of 2^order frames, order 0..BUDDY_MAX_ORDER (4 KiB .. 4 MiB).
 * Allocation takes the smallest sufficient order, lowest address first, and
 * splits keeping the lower half, freeing the upper.  Free merges a block with
 * its buddy (pfn ^ (1 << order)) while that buddy is free at the same order,
 * cascading upward.  A pool that is not a power of two is carved into
 * maximal aligned roots that never merge with each other.
 *
 * Lazy coalescing (optional, off by default): a freed block is not merged
 * while its order's free list holds fewer than `lazy_threshold` blocks.  An
 * allocation that would otherwise fail first coalesces everything it can.
 *
 * Contract for callers:
 *  - buddy_alloc() returns the head pfn of a naturally aligned block; its
 *    struct pages have flags == 0 (PG_buddy clear), _refcount == 0,
 *    _mapcount == 0; the frame contents are NOT zeroed.
 *  - buddy_free() takes back exactly a block earlier returned with the same
 *    order; the caller must have cleared every flag it set.
 *  - buddy_check() returns 0 when every invariant holds, else -(1100 + N)
 *    for the first invariant N (numbered in buddy.c) found broken: codes
 *    that cannot be mistaken for an errno value.
 *
 * Locking: none inside; the caller serialises (the machine lock).  Alloc and
 * free never allocate host memory and are SIGSAFE.
 */
#ifndef VMEMU_BUDDY_H
#define VMEMU_BUDDY_H

#include <stdbool.h>
#include <stddef.h>

#include "vm/phys.h"

#define BUDDY_MAX_ORDER 10
#define BUDDY_NR_ORDERS (BUDDY_MAX_ORDER + 1)

struct buddy_config {
	bool lazy;		 /* lazy coalescing, default false */
	unsigned lazy_threshold; /* blocks kept unmerged per order */
	bool pcp;		 /* order-0 per-cpu-style cache, if built */
};

struct buddy_stats {
	uint64_t alloc[BUDDY_NR_ORDERS]; /* successful allocations */
	uint64_t fail[BUDDY_NR_ORDERS];	 /* failed allocations */
	uint64_t split[BUDDY_NR_ORDERS]; /* blocks of this order split */
	uint64_t merge[BUDDY_NR_ORDERS]; /* merges producing this order */
	uint64_t free[BUDDY_NR_ORDERS];	 /* frees (by the caller's order) */
};

struct buddy;

void buddy_config_init(struct buddy_config *cfg);

/*
 * Take ownership of every frame of ph and put it on the free lists.
 * Returns 0 and *out, or -EINVAL (bad config) / -ENOMEM (host metadata),
 * leaving nothing allocated.
 */
int buddy_create(struct phys *ph, const struct buddy_config *cfg,
		 struct buddy **out);
void buddy_destroy(struct buddy *b);

/* SIGSAFE.  0 and *pfn, or -ENOMEM (no block) / -EINVAL (order > max). */
int buddy_alloc(struct buddy *b, unsigned order, pfn_t *pfn);
/* SIGSAFE. */
void buddy_free(struct buddy *b, pfn_t pfn, unsigned order);
/*
 * SIGSAFE.  Turn the allocated block of `order` at pfn into 2^order
 * allocated order-0 blocks, each to be freed on its own (Linux's
 * split_page).  The frames stay allocated; only their bookkeeping changes.
 */
void buddy_split(struct buddy *b, pfn_t pfn, unsigned order);

/*
 * Compaction's hooks (vm/compact.c), SIGSAFE:
 *  buddy_free_order  the order of the free block (on a list) holding pfn,
 *                    with its head in *head; -1 when pfn is in none
 *                    (allocated, or cached in pcp);
 *  buddy_take_free   take free frame pfn as an allocated order-0 block,
 *                    splitting its free block around it (Linux's free
 *                    scanner isolating a free page); 0 or -EBUSY (not
 *                    free);
 *  buddy_drain       give the pcp cache back and merge every buddy pair
 *                    lazy mode left, so each free frame sits in the
 *                    largest block it can (Linux's drain_all_pages).
 */
int buddy_free_order(const struct buddy *b, pfn_t pfn, pfn_t *head);
int buddy_take_free(struct buddy *b, pfn_t pfn);
void buddy_drain(struct buddy *b);

/*
 * Linux's debugfs fragmentation indices of the pool for an allocation of
 * 2^order frames (mm/vmstat.c), in thousandths, from the free lists (pcp
 * frames excluded, as Linux counts free_area only):
 *  unusable  1000 * (free - free in blocks >= order) / free; 1000 when
 *            nothing is free: how much free memory the request cannot use;
 *  extfrag   -1000 when a block of that order is free (the request would
 *            succeed); 0 when nothing is free; else
 *            1000 - (1000 + 1000 * free / 2^order) / free_blocks: towards
 *            0 a failure for lack of memory, towards 1000 for
 *            fragmentation.
 * order > BUDDY_MAX_ORDER gives 0.
 */
int buddy_unusable_index(const struct buddy *b, unsigned order);
int buddy_extfrag_index(const struct buddy *b, unsigned order);
/*
 * The debugfs texts extfrag/unusable_index (unusable) and
 * extfrag/extfrag_index: "Node 0, zone   Normal " then "%d.%03d " per order
 * 0..BUDDY_MAX_ORDER, then "\n".  Like snprintf.
 */
int buddy_extfrag_info(const struct buddy *b, bool unusable, char *buf,
		       size_t len);

/* Free frames, including those in lazy/pcp caches. SIGSAFE, O(1). */
uint64_t buddy_nr_free(const struct buddy *b);
/* Free blocks currently on the list of `order` (as /proc/buddyinfo). */
uint64_t buddy_nr_free_blocks(const struct buddy *b, unsigned order);
void buddy_get_stats(const struct buddy *b, struct buddy_stats *st);

/*
 * Write the /proc/buddyinfo line for this pool into buf (NUL-terminated):
 * "Node 0, zone   Normal" then "%6lu " per order, then "\n".
 * Returns the length it needs (like snprintf).
 */
int buddy_info(const struct buddy *b, char *buf, size_t len);

/* Walk every invariant; 0 when all hold.  O(nr_pages). */
int buddy_check(const struct buddy *b);

#endif /* VMEMU_BUDDY_H */
