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
 * If that distance is within the workingset, the page comes back active
 * (workingset_activate_*), and if it had been active before, that is a
 * restore (workingset_restore_*, which also counts as a reclaim cost of
 * its kind, Linux's lru_note_cost_refault): thrashing shows as a stream
 * of refaults with short distances.  The workingset is Linux's
 * workingset_test_recent:
 *
 *   anon refault:  active_file + inactive_file (+ active_anon with swap)
 *   file refault:  active_file (+ active_anon + inactive_anon with swap)
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

/* The kind's counters: anon (and shmem, swap-backed) or file. */
struct ws_kind {
	bool file;
	enum vm_event refault, activate, restore;
};

static struct ws_kind ws_kind_of(const struct page *pg)
{
	bool file = (pg->flags & (PG_file | PG_swapbacked)) == PG_file;

	if (file)
		return (struct ws_kind){ true, VME_WORKINGSET_REFAULT_FILE,
					 VME_WORKINGSET_ACTIVATE_FILE,
					 VME_WORKINGSET_RESTORE_FILE };
	return (struct ws_kind){ false, VME_WORKINGSET_REFAULT_ANON,
				 VME_WORKINGSET_ACTIVATE_ANON,
				 VME_WORKINGSET_RESTORE_ANON };
}

/* workingset_test_recent's workingset size for a refault of kind k. */
static uint64_t ws_size(struct reclaim *rc, const struct ws_kind *k)
{
	const struct lruvec *lv = &rc->lru;
	uint64_t n = lv->nr[LRU_ACTIVE_FILE];

	if (!k->file)
		n += lv->nr[LRU_INACTIVE_FILE];
	if (reclaim_may_swap(rc)) {
		n += lv->nr[LRU_ACTIVE_ANON];
		if (k->file)
			n += lv->nr[LRU_INACTIVE_ANON];
	}
	return n;
}

SIGSAFE bool workingset_refault(struct reclaim *rc, struct page *pg,
				uint64_t shadow, struct mm *mm)
{
	struct lruvec *lv = &rc->lru;
	struct ws_kind k = ws_kind_of(pg);
	uint64_t eviction, distance;

	if (!(shadow & SHADOW_VALID))
		return false;
	eviction = (shadow >> 1) & CLOCK_MASK;
	distance = (lv->nonresident_age - eviction) & CLOCK_MASK;
	vm_event(rc->vm, k.refault, mm, pg->index, phys_pfn(&rc->vm->phys, pg),
		 (pg->flags & PG_swapcache) ? swp_offset(pg->swap) : 0,
		 (int64_t)distance);
	if (distance > ws_size(rc, &k))
		return false;
	lv->nonresident_age++;
	vm_count(rc->vm, k.activate, 1);
	if (shadow & SHADOW_WS) {
		pg->flags |= PG_workingset;
		lru_note_cost(lv, k.file, 1, 0); /* lru_note_cost_refault */
		vm_count(rc->vm, k.restore, 1);
	}
	return true;
}
