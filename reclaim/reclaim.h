/*
 * reclaim/reclaim.h - the reclaim side of the allocation slow path.
 *
 * An allocation that fails under the machine lock does not reclaim there:
 * reclaim writes to swap, and no I/O happens under the machine lock.  So
 * the allocating path unwinds what it started (a fault leaves the PTE as it
 * was), drops the lock and calls reclaim_retry, which reclaims and decides,
 * as Linux's __alloc_pages_slowpath and should_reclaim_retry do, whether
 * the allocation is worth trying again:
 *
 *   allocation fails --> unwind, unlock --> reclaim_retry
 *        ^                                     | true: again
 *        +-------------------------------------+
 *                                              | false: reclaim cannot help
 *                                              v
 *                          a fault: out_of_memory (reclaim/oom.h)
 *                          a system call: -ENOMEM
 *
 * Retrying stops after MAX_RECLAIM_RETRIES rounds without progress, or at
 * once when even everything reclaimable plus the free frames could not lift
 * the free count above the min watermark: no livelock.
 *
 * Locking: reclaim_retry is called WITHOUT the machine lock and takes it
 * itself.  SIGSAFE (it runs inside the trap).
 */
#ifndef VMEMU_RECLAIM_H
#define VMEMU_RECLAIM_H

#include <stdbool.h>

#include "vm/gfp.h"

struct vm;

#define MAX_RECLAIM_RETRIES 16

struct reclaim_retry {
	unsigned order;		    /* the allocation's order */
	gfp_t gfp;		    /* and how hard it may try */
	unsigned loops;		    /* rounds so far */
	unsigned no_progress_loops; /* rounds that freed nothing */
};

static inline void reclaim_retry_init(struct reclaim_retry *rr, unsigned order,
				      gfp_t gfp)
{
	rr->order = order;
	rr->gfp = gfp;
	rr->loops = 0;
	rr->no_progress_loops = 0;
}

/*
 * Lock NOT held.  One round of direct reclaim for the allocation rr
 * describes; true when it should be tried again, false when reclaim cannot
 * help.  SIGSAFE.
 */
bool reclaim_retry(struct vm *vm, struct reclaim_retry *rr);

#endif /* VMEMU_RECLAIM_H */
