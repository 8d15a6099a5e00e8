/*
 * reclaim/vmscan.c - direct reclaim and the retry decision of the
 * allocation slow path (see reclaim.h).
 *
 * There is nothing to reclaim yet: pages join LRU lists with the
 * memory-pressure issue.  So a round reclaims nothing, and the decision is
 * Linux's should_reclaim_retry with zero reclaimable pages: retry while the
 * free frames alone would pass the min watermark (the failure was
 * transient: an injected failure, or a race with a task that freed
 * memory), at most MAX_RECLAIM_RETRIES rounds without progress.
 *
 * Locking: takes the machine lock for the watermark test.  SIGSAFE.
 */
#include "reclaim/reclaim.h"

#include "vm/page_alloc.h"

SIGSAFE bool reclaim_retry(struct vm *vm, struct reclaim_retry *rr)
{
	bool ok;

	rr->loops++;
	if (++rr->no_progress_loops > MAX_RECLAIM_RETRIES)
		return false;
	vm_lock(vm);
	ok = vm_watermark_ok(vm, rr->order, vm->wmark.min, rr->gfp);
	vm_unlock(vm);
	return ok;
}
