/*
 * vm/page_alloc.c - the frame allocation entry point (see page_alloc.h):
 * failure injection, watermarks (below low kswapd is woken; below min the
 * allocation fails and the caller reclaims), then the buddy allocator.
 *
 * Invariants:
 *  1. Every frame the emulated kernel holds was handed out here and comes
 *     back through vm_free_pages: pgalloc_normal - pgfree = frames in use.
 *  2. min <= low <= high, all computed once at vm_create.
 *
 * Locking: the machine lock, held by every caller.  Everything is SIGSAFE
 * but vm_setup_watermarks.
 */
#include "vm/page_alloc.h"

#include <errno.h>

#include "reclaim/reclaim.h"
#include "vm/vmstat.h"

#define KB_PER_PAGE	    (PAGE_SIZE >> 10)
#define MIN_WMARK_FRACTION  8  /* min is at most managed / 8 */
#define MIN_FREE_KBYTES_MUL 16 /* int_sqrt(RAM_kB * 16) */

/* floor(sqrt(x)), by Newton's method on integers. */
static uint64_t int_sqrt(uint64_t x)
{
	uint64_t r = x, y;

	if (x < 2)
		return x;
	y = (r + x / r) / 2;
	while (y < r) {
		r = y;
		y = (r + x / r) / 2;
	}
	return r;
}

void vm_setup_watermarks(struct vm *vm)
{
	uint64_t managed = vm->phys.nr_pages;
	uint64_t kb = (uint64_t)vm->cfg.min_free_kbytes, delta;

	if (!kb) {
		kb = int_sqrt(managed * KB_PER_PAGE * MIN_FREE_KBYTES_MUL);
		kb = MAX(kb, (uint64_t)MIN_FREE_KBYTES_LO);
		kb = MIN(kb, (uint64_t)MIN_FREE_KBYTES_HI);
	}
	vm->min_free_kbytes = kb;
	vm->wmark.min = MIN(kb / KB_PER_PAGE, managed / MIN_WMARK_FRACTION);
	delta = MAX(vm->wmark.min / 4,
		    managed * (uint64_t)vm->cfg.watermark_scale_factor /
			    WMARK_SCALE_DIV);
	vm->wmark.low = vm->wmark.min + delta;
	vm->wmark.high = vm->wmark.low + delta;
}

SIGSAFE uint64_t vm_nr_free(const struct vm *vm)
{
	return buddy_nr_free(vm->buddy);
}

SIGSAFE bool vm_watermark_ok(const struct vm *vm, unsigned order, uint64_t mark,
			     gfp_t gfp)
{
	uint64_t free = vm_nr_free(vm), want = 1ULL << order;

	if (gfp & __GFP_MEMALLOC)
		return free >= want;
	if (gfp & __GFP_HIGH)
		mark -= mark / 2;
	return free >= want && free - want >= mark;
}

SIGSAFE int vm_alloc_pages(struct vm *vm, unsigned order, gfp_t gfp, pfn_t *pfn)
{
	if (should_fail(&vm->fail_page_alloc, PAGE_SIZE << order))
		return -ENOMEM;
	/* Linux's fast path tests LOW: below it kswapd is woken. */
	if (!vm_watermark_ok(vm, order, vm->wmark.low, gfp))
		reclaim_wake_kswapd(vm);
	if (!vm_watermark_ok(vm, order, vm->wmark.min, gfp) ||
	    buddy_alloc(vm->buddy, order, pfn) < 0) {
		vm->nr_alloc_short++;
		return -ENOMEM;
	}
	vm_count(vm, VME_PGALLOC_NORMAL, 1ULL << order);
	return 0;
}

SIGSAFE void vm_free_pages(struct vm *vm, pfn_t pfn, unsigned order)
{
	buddy_free(vm->buddy, pfn, order);
	vm_count(vm, VME_PGFREE, 1ULL << order);
}

bool vm_nomem_retry(struct vm *vm, int err, uint64_t shortages,
		    struct reclaim_retry *rr)
{
	bool again;

	if (err != -ENOMEM || vm->nr_alloc_short == shortages)
		return false;
	vm_unlock(vm);
	again = reclaim_retry(vm, rr);
	vm_lock(vm);
	return again;
}
