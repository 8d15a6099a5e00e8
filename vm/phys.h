/*
 * vm/phys.h - emulated physical memory: the frame pool, the direct map and
 * mem_map (one struct page per frame).
 *
 * Emulated RAM is a memfd of nr_pages frames of PAGE_SIZE bytes, mapped once
 * in full, MAP_SHARED, as the direct map: the emulated kernel reads, zeroes
 * and copies frames only through it, never through a task window.  Task
 * windows map the same memfd pages (mmu/trap), so a store through a window
 * is visible through the direct map and vice versa.
 *
 *   memfd offset:  0        4096     8192           (nr_pages-1)*4096
 *                  +--------+--------+----  ...  ---+--------+
 *   direct_map ->  | pfn 0  | pfn 1  |               | pfn N-1|
 *                  +--------+--------+----  ...  ---+--------+
 *   mem_map    ->  [page 0] [page 1]   ...           [page N-1]   (64 B each)
 *
 * Invariants:
 *  1. nr_pages >= 1; direct_map and mem_map cover exactly nr_pages frames.
 *  2. sizeof(struct page) <= 64 (1.6 % of RAM, as lean as Linux's).
 *  3. phys_page() and phys_pfn() are inverse bijections on [0, nr_pages).
 *
 * Locking: struct phys is immutable after phys_init(); the struct pages are
 * guarded by whoever owns the frame (the buddy allocator while PG_buddy is
 * set, otherwise the machine lock).  phys_page/phys_pfn/phys_addr are
 * SIGSAFE.
 */
#ifndef VMEMU_PHYS_H
#define VMEMU_PHYS_H

#include <stdbool.h>

#include "base/list.h"
#include "base/types.h"
#include "mmu/pagetable.h"

/* struct page flags (page->flags). */
enum {
	PG_buddy = 1u << 0,	  /* free, owned by the buddy allocator */
	PG_slab = 1u << 1,	  /* part of a slab */
	PG_pgtable = 1u << 2,	  /* a page-table page */
	PG_lru = 1u << 3,	  /* on an LRU list */
	PG_active = 1u << 4,	  /* on the active list */
	PG_referenced = 1u << 5,  /* second-chance bit for the LRU */
	PG_dirty = 1u << 6,	  /* newer than its swap/file copy */
	PG_swapcache = 1u << 7,	  /* has a swap slot (page->swap) */
	PG_locked = 1u << 8,	  /* being read from swap (a fault waits) */
	PG_anon = 1u << 9,	  /* anonymous memory */
	PG_zero = 1u << 10,	  /* the shared zero frame */
	PG_reserved = 1u << 11,	  /* never allocated nor freed */
	PG_head = 1u << 12,	  /* first frame of a multi-frame block */
	PG_young = 1u << 13,	  /* a PTE's accessed bit was harvested */
	PG_writeback = 1u << 14,  /* being written to swap */
	PG_workingset = 1u << 15, /* was active: its refault is a restore */
	PG_readahead = 1u << 16,  /* swap: read ahead, not yet used; file:
				     the async readahead marker */
	PG_file = 1u << 17,	  /* in a page cache: private = its mapping's
				     id, index = its page offset there */
	PG_swapbacked = 1u << 18, /* with PG_file: shared anonymous memory
				     (shmem), whose backing store is swap */
	PG_lru_file = 1u << 19,	  /* on a file LRU list (reclaim/lru.h) */
};

struct rmap_item;
struct slab_cache;

/*
 * One per frame.  Field use by owner:
 *  - buddy (PG_buddy):  private = order of the free block at this head;
 *                       lru unused (free lists are bitmaps, vm/buddy.c).
 *  - slab (PG_slab):    see vm/slab.c for its overlay of the union, and
 *                       of lru (slab_lru_word) on a slab's tail pages.
 *  - page table:        pt = the walker's bookkeeping (mmu/pagetable.h).
 *  - anonymous memory (PG_anon): lru = LRU link, rmap = reverse-map
 *                       chain, swap = swap slot while PG_swapcache,
 *                       index = va (rmap's direct mapping), lru_info =
 *                       the policy's word.
 *  - page cache (PG_file, vm/filemap.h): the same lru, rmap and
 *                       lru_info; index = the page's offset in its file
 *                       or shmem object (pages), private = the object's
 *                       id in the machine's table (a 32-bit id, not a
 *                       pointer: the union has no fifth word), swap
 *                       unused (a shmem page leaves the page cache when
 *                       it joins the swap cache: it becomes an anonymous
 *                       swap-cache page until a fault claims it back).
 *    So a page is in at most one cache: PG_file or PG_swapcache.
 *  A 64-byte struct page is asserted in phys.c.
 */
struct page {
	uint32_t flags;
	int32_t _refcount; /* references: mappings + swap cache + transient */
	int32_t _mapcount; /* number of PTEs mapping this frame (0: none) */
	uint32_t private;
	union {
		struct list_head lru;
		uint64_t slab_lru_word[2]; /* slab tail pages: bitmap words */
	};
	union {
		struct {
			struct rmap_item *rmap;
			swp_entry_t swap;
			uint64_t index;
			uint64_t lru_info; /* policy-private (age, count) */
		};
		struct {
			struct slab_cache *slab_cache;
			uint64_t slab_word[3];
		};
		struct pt_meta pt; /* PG_pgtable */
	};
};

struct phys {
	int memfd;	      /* backing store of emulated RAM */
	uint64_t nr_pages;    /* number of frames, >= 1 */
	uint8_t *direct_map;  /* nr_pages * PAGE_SIZE bytes */
	struct page *mem_map; /* nr_pages entries */
};

/* Largest pool accepted: 2^36 frames (256 TiB); beyond it sizes overflow. */
#define PHYS_MAX_PAGES (1ULL << 36)

/*
 * Create the pool.  On error returns a negative errno and leaves *ph with
 * memfd == -1 and NULL pointers (nothing to release):
 *   -EINVAL    nr_pages == 0
 *   -EOVERFLOW nr_pages > PHYS_MAX_PAGES
 *   other      from memfd_create/ftruncate/mmap (e.g. -EFBIG, -ENOMEM)
 * *step (if not NULL) names the step that failed, for messages.
 */
int phys_init(struct phys *ph, uint64_t nr_pages, const char **step);

/* Release everything phys_init() acquired.  Idempotent. */
void phys_fini(struct phys *ph);

/* SIGSAFE */
static inline struct page *phys_page(const struct phys *ph, pfn_t pfn)
{
	return &ph->mem_map[pfn];
}

/* SIGSAFE */
static inline pfn_t phys_pfn(const struct phys *ph, const struct page *pg)
{
	return (pfn_t)(pg - ph->mem_map);
}

/* SIGSAFE: the frame's bytes through the direct map. */
static inline void *phys_addr(const struct phys *ph, pfn_t pfn)
{
	return ph->direct_map + (pfn << PAGE_SHIFT);
}

static inline bool phys_valid(const struct phys *ph, pfn_t pfn)
{
	return pfn < ph->nr_pages;
}

/* The table memory of page tables in this pool, frames from alloc/free. */
static inline struct pt_mem phys_pt_mem(const struct phys *ph,
					int (*alloc)(void *ctx, pfn_t *pfn),
					void (*free)(void *ctx, pfn_t pfn),
					void *ctx)
{
	return (struct pt_mem){
		.frames = ph->direct_map,
		.meta = (uint8_t *)&ph->mem_map[0].pt,
		.meta_stride = sizeof(struct page),
		.nr_frames = ph->nr_pages,
		.alloc = alloc,
		.free = free,
		.ctx = ctx,
	};
}

#endif /* VMEMU_PHYS_H */
