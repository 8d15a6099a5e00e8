/*
 * vm/page_alloc.h - the one entry point through which the emulated kernel
 * takes frames: anonymous pages, COW copies, page tables, slab growth,
 * fault-around blocks, the zero page.  Watermarks, failure injection and
 * (with reclaim) direct reclaim and the OOM killer live behind it.
 *
 * Watermarks (pages), as Linux computes them for one zone:
 *   min_free_kbytes = clamp(int_sqrt(RAM_kB * 16), 128, 262144) unless
 *                     configured;
 *   min  = min_free_kbytes / 4 (pages of 4 KiB), capped at managed / 8 so
 *          that machines smaller than Linux runs on keep room for tasks
 *          (docs/architecture.md);
 *   delta = max(min / 4, managed * watermark_scale_factor / 10000);
 *   low  = min + delta;  high = low + delta.
 *
 * The watermark test is Linux's __zone_watermark_ok for one zone: an
 * allocation of 2^order frames succeeds when, after it, more than `mark`
 * frames would stay free; __GFP_HIGH halves the mark, __GFP_MEMALLOC
 * skips the test.
 *
 * Locking: the machine lock, held by every caller.  SIGSAFE.
 */
#ifndef VMEMU_PAGE_ALLOC_H
#define VMEMU_PAGE_ALLOC_H

#include "vm/gfp.h"
#include "vm/machine.h"

#define MIN_FREE_KBYTES_LO 128
#define MIN_FREE_KBYTES_HI 262144
#define WMARK_SCALE_DIV	   10000

/* Compute vm->wmark from the configuration and the pool size. */
void vm_setup_watermarks(struct vm *vm);

/*
 * SIGSAFE, lock held.  A block of 2^order frames (struct pages clear,
 * contents not zeroed).  0 and *pfn, or -ENOMEM: below the watermark gfp
 * allows, no block of that order, or an injected failure
 * (fail_page_alloc).  Counts pgalloc_normal.
 */
int vm_alloc_pages(struct vm *vm, unsigned order, gfp_t gfp, pfn_t *pfn);
/* SIGSAFE, lock held.  Give back a block (flags cleared by the caller). */
void vm_free_pages(struct vm *vm, pfn_t pfn, unsigned order);

/* SIGSAFE, lock held.  One frame; as vm_alloc_pages(vm, 0, gfp, pfn). */
static inline int vm_page_alloc(struct vm *vm, gfp_t gfp, pfn_t *pfn)
{
	return vm_alloc_pages(vm, 0, gfp, pfn);
}
static inline void vm_page_free(struct vm *vm, pfn_t pfn)
{
	vm_free_pages(vm, pfn, 0);
}

/*
 * Lock held.  A system call failed with err after `shortages` was read
 * from vm->nr_alloc_short at its start.  When it failed because frames ran
 * short (not for an injected failure, nor for lack of address space),
 * drop the lock, reclaim (reclaim_retry) and say whether to run it again
 * (true, lock held again).  System calls never call the OOM killer: when
 * reclaim cannot help they return -ENOMEM (docs/architecture.md).
 */
struct reclaim_retry;
bool vm_nomem_retry(struct vm *vm, int err, uint64_t shortages,
		    struct reclaim_retry *rr);

/* SIGSAFE, lock held.  Frames free now. */
uint64_t vm_nr_free(const struct vm *vm);
/*
 * SIGSAFE, lock held.  Would 2^order frames at `mark` (a watermark in
 * pages) leave more than mark free, with gfp's reserves?
 */
bool vm_watermark_ok(const struct vm *vm, unsigned order, uint64_t mark,
		     gfp_t gfp);

#endif /* VMEMU_PAGE_ALLOC_H */
