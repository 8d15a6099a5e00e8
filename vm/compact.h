/*
 * vm/compact.h - memory compaction, as Linux's mm/compaction.c does it for
 * one zone: movable pages move from the bottom of RAM to free frames at
 * the top, so that the free frames left at the bottom merge into
 * high-order buddy blocks.
 *
 *   pfn 0                                                     nr_pages
 *   | migrate scanner -->                       <-- free scanner |
 *   [A . B C . . D | ...                  ...  | . E . . . F . . ]
 *     movable pages are copied to free frames found from the top;
 *     the scanners meet and the run ends
 *
 * Two ways in:
 *   vm_compact (vm.h)    compact_memory: the whole machine, on demand,
 *                        the lock dropped between batches;
 *   compact_alloc_pages  direct compaction: a high-order allocation that
 *                        failed for want of a block (not of free frames)
 *                        compacts until a block of its order is free, then
 *                        takes it; with Linux's deferral after failures,
 *                        its suitability test (free frames for the
 *                        migration, vm.extfrag_threshold for costly
 *                        orders) and its counters (compact_stall,
 *                        compact_success, compact_fail).
 *
 * Movable: an anonymous page on the LRU, mapped or only in the swap
 * cache, that nobody holds beyond its mappings and the cache (reclaim's
 * isolated pages, pages under I/O and pages a fault is waiting for are
 * busy now, and skipped).  Unmovable: page tables, slab frames, the zero
 * frame.  docs/compaction.md has the whole story.
 *
 * Locking: the machine lock, held by compact_alloc_pages' caller and taken
 * by vm_compact.  compact_alloc_pages is SIGSAFE: it runs inside the trap
 * (the anonymous fault-around block) and never drops the lock.
 */
#ifndef VMEMU_COMPACT_H
#define VMEMU_COMPACT_H

#include "base/types.h"
#include "vm/gfp.h"

struct vm;

#define COMPACT_CLUSTER_MAX	  32  /* pages per batch (Linux's) */
#define COMPACT_MAX_DEFER_SHIFT	  6   /* skip up to 63 attempts */
#define PAGE_ALLOC_COSTLY_ORDER	  3   /* above it: the extfrag test */
#define COMPACT_EXTFRAG_THRESHOLD 500 /* vm.extfrag_threshold default */

/* The machine's compaction state (in struct vm; zero-initialised). */
struct compact_state {
	pfn_t cached_migrate_pfn; /* where direct compaction resumes */
	pfn_t cached_free_pfn;	  /* its free scanner; 0: the top */
	unsigned considered;	  /* attempts since the last deferral */
	unsigned defer_shift;	  /* skip 2^shift - 1 attempts */
	unsigned order_failed;	  /* orders below it are not deferred */
};

/*
 * SIGSAFE, lock held (never dropped).  Direct compaction for an
 * allocation of 2^order frames with gfp that just failed (Linux's
 * __alloc_pages_direct_compact): compact if it is not deferred and may
 * help, then allocate through vm_alloc_pages.  0 and *pfn (a block as
 * vm_alloc_pages gives it), or -ENOMEM: the caller falls back as it did
 * before (a smaller allocation, reclaim).  Pages of any task may have
 * moved meanwhile: a caller must hold no struct page or frame of a
 * movable page across the call.
 */
int compact_alloc_pages(struct vm *vm, unsigned order, gfp_t gfp, pfn_t *pfn);

#endif /* VMEMU_COMPACT_H */
