/*
 * reclaim/policy_clock.c - "clock": second chance (FIFO with reinsertion).
 *
 *   inactive_anon: [newest] -> ... -> [oldest]   (the hand is at the tail)
 *   oldest page: reference bit set -> clear it, move it to the newest end
 *                              clear -> evict it
 *
 * One reference bit per page (lru_info bit CLOCK_REF): clear when the page
 * is brought in, set on every hit (exact mode: page_access).  Native mode
 * has no hits to see: the page's accessed bits stand in for the reference
 * bit (tested and cleared as the hand passes), which is the hardware
 * clock the textbooks describe.
 *
 * Locking: the machine lock.  SIGSAFE.
 */
#include "reclaim/reclaim_internal.h"

#define CLOCK_REF 1ULL

static SIGSAFE void clock_add(struct reclaim *rc, struct page *pg, bool active)
{
	(void)active;
	pg->lru_info = 0;
	lru_add(&rc->lru, pg, LRU_INACTIVE_ANON, false);
}

static SIGSAFE void clock_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE void clock_access(struct reclaim *rc, struct page *pg)
{
	(void)rc;
	pg->lru_info |= CLOCK_REF;
}

/* Was pg referenced since the hand last passed?  Clears the bit. */
static SIGSAFE bool clock_referenced(struct reclaim *rc, struct page *pg)
{
	bool ref = pg->lru_info & CLOCK_REF;

	pg->lru_info &= ~CLOCK_REF;
	if (reclaim_exact(rc)) {
		lru_isolate(&rc->lru, pg);
		return ref;
	}
	return policy_isolate_referenced(rc, pg) || ref;
}

static SIGSAFE struct page *clock_victim(struct reclaim *rc,
					 struct scan_control *sc)
{
	uint64_t tries = rc->lru.nr[LRU_INACTIVE_ANON] + 1;
	struct page *pg;

	/* Each page is passed at most once before its bit is clear. */
	while ((pg = lru_tail(&rc->lru, LRU_INACTIVE_ANON)) && tries--) {
		policy_count_scanned(rc, sc, 1);
		if (!clock_referenced(rc, pg))
			return pg;
		lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	}
	if (!pg)
		return NULL;
	lru_isolate(&rc->lru, pg); /* native: referenced again meanwhile */
	return pg;
}

static SIGSAFE void clock_putback(struct reclaim *rc, struct page *pg,
				  enum putback_how how)
{
	(void)how;
	lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
}

const struct reclaim_policy policy_clock = {
	.name = "clock",
	.doc = "second chance: FIFO that gives a referenced page another "
	       "round",
	.page_add = clock_add,
	.page_del = clock_del,
	.page_access = clock_access,
	.victim = clock_victim,
	.peek = policy_peek_inactive,
	.select = policy_select_victims,
	.putback = clock_putback,
};
