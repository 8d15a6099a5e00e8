/*
 * vm/buddy_internal.h - the buddy allocator's private data structures,
 * shared by its two files: vm/buddy.c (the allocator) and vm/buddy_check.c
 * (the invariant walker).  Nothing else includes this file; see buddy.c for
 * the idea, the invariants and the locking.
 */
#ifndef VMEMU_BUDDY_INTERNAL_H
#define VMEMU_BUDDY_INTERNAL_H

#include "vm/buddy.h"

#define WORD_BITS      64
#define WORD_SHIFT     6
#define WORD_MASK      (WORD_BITS - 1)
#define PAIR_LOW_BITS  0x5555555555555555ULL /* even bit of each pair */
#define HBM_MAX_LEVELS 8		     /* 2^36 frames need 7 */

#define HEAD_NONE	  0 /* not the head of an allocated block, not cached */
#define HEAD_PCP	  0xff /* an order-0 frame in the pcp cache */
#define HEAD_ALLOC(order) ((uint8_t)((order) + 1))

#define BUDDY_PCP_HIGH	128 /* cached frames before a drain */
#define BUDDY_PCP_BATCH 32  /* frames moved per refill or drain */
#define BUDDY_PCP_RING	256 /* ring slots, a power of two > HIGH */

#define INFO_NODE 0
#define INFO_ZONE "Normal"

/* buddy_check() results: invariant N of buddy.c broke -> -(1100 + N). */
enum buddy_chk {
	CHK_SUMMARY = -1101,
	CHK_COUNT = -1102,
	CHK_ALIGN = -1103,
	CHK_LISTS = -1104,
	CHK_BUDDIES = -1105,
	CHK_ROOT = -1106,
	CHK_PGBUDDY = -1107,
	CHK_DIRTY = -1108,
	CHK_TILING = -1109,
	CHK_PCP = -1110,
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
	bool lazy_pairs;   /* lazy mode left a free buddy pair unmerged */
	struct buddy_config cfg;
	struct hbm map[BUDDY_NR_ORDERS];
	uint8_t *head_state; /* per frame: HEAD_NONE, HEAD_ALLOC(o), HEAD_PCP */
	struct buddy_pcp pcp;
	struct buddy_stats st;
	uint64_t *words; /* one allocation holding every bitmap */
};

static inline uint64_t bit(uint64_t i)
{
	return 1ULL << (i & WORD_MASK);
}

static inline int hbm_test(const struct hbm *h, uint64_t i)
{
	return (h->level[0][i >> WORD_SHIFT] & bit(i)) != 0;
}

/* Order of the root block that starts at pfn (pfn must start one). */
unsigned buddy_root_order_at(uint64_t nr_pages, pfn_t pfn);

#endif /* VMEMU_BUDDY_INTERNAL_H */
