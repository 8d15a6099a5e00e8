/*
 * reclaim/workingset.c - workingset detection, as Linux's mm/workingset.c.
 *
 * The LRU has a clock, lruvec->nonresident_age, that ticks once per page
 * evicted and once per page activated.  An evicted page leaves a shadow in
 * its swap slot: the clock at its eviction, and whether it was in the
 * workingset (PG_workingset: it had been active).  When it faults back,
 *
 *   refault_distance = clock now - clock at eviction
 *
 * is how many pages were evicted or activated while it was out: had the
 * inactive list been refault_distance pages longer, it would have stayed.
 * If that distance is within the workingset (the active pages, plus the
 * inactive file pages; file pages come with their issue), the page comes
 * back active (workingset_activate_anon), and if it had been active
 * before, that is a restore (workingset_restore_anon): thrashing shows as
 * a stream of refaults with short distances.
 *
 *   shadow = (eviction clock << 1) | workingset bit   (never 0: bit 63
 *            of the stamp set, so 0 stays "no shadow")
 *
 * Locking: the machine lock.  SIGSAFE.
 */
#include "reclaim/reclaim_internal.h"
#include "vm/vmstat.h"

#define SHADOW_VALID (1ULL << 60)
#define SHADOW_WS    1ULL
#define CLOCK_MASK   ((SHADOW_VALID >> 1) - 1)

SIGSAFE uint64_t workingset_eviction(struct reclaim *rc, struct page *pg)
{
	uint64_t eviction = rc->lru.nonresident_age & CLOCK_MASK;

	rc->lru.nonresident_age++;
	return SHADOW_VALID | (eviction << 1) |
	       ((pg->flags & PG_workingset) ? SHADOW_WS : 0);
}

SIGSAFE void workingset_activation(struct reclaim *rc, struct page *pg)
{
	(void)pg;
	rc->lru.nonresident_age++;
}

SIGSAFE bool workingset_refault(struct reclaim *rc, struct page *pg,
				uint64_t shadow, struct mm *mm)
{
	struct lruvec *lv = &rc->lru;
	uint64_t eviction, distance, ws_size;

	if (!(shadow & SHADOW_VALID))
		return false;
	eviction = (shadow >> 1) & CLOCK_MASK;
	distance = (lv->nonresident_age - eviction) & CLOCK_MASK;
	vm_event(rc->vm, VME_WORKINGSET_REFAULT_ANON, mm, pg->index,
		 phys_pfn(&rc->vm->phys, pg), swp_offset(pg->swap),
		 (int64_t)distance);
	/* Linux's workingset_test_recent for an anonymous refault. */
	ws_size = lv->nr[LRU_ACTIVE_FILE] + lv->nr[LRU_INACTIVE_FILE];
	if (reclaim_may_swap(rc))
		ws_size += lv->nr[LRU_ACTIVE_ANON];
	if (distance > ws_size)
		return false;
	lv->nonresident_age++;
	vm_count(rc->vm, VME_WORKINGSET_ACTIVATE_ANON, 1);
	if (shadow & SHADOW_WS) {
		pg->flags |= PG_workingset;
		vm_count(rc->vm, VME_WORKINGSET_RESTORE_ANON, 1);
	}
	return true;
}
