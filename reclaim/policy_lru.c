/*
 * reclaim/policy_lru.c - "lru": evict the page whose last access is
 * oldest.
 *
 *   inactive_anon: [most recently used] -> ... -> [least] --> victim
 *
 * Exact mode sees every access (page_access moves the page to the head),
 * so the list is in exact recency order.  Native mode sees only accessed
 * bits: a tail page whose bit is set was used since it last reached the
 * tail and moves to the head instead (its bit cleared); that is the
 * classic LRU approximation, and it orders pages by the last time reclaim
 * *noticed* a use, not by the use itself (docs/policies.md shows the
 * difference).
 *
 * Locking: the machine lock.  SIGSAFE.
 */
#include "reclaim/reclaim_internal.h"

static SIGSAFE void lru_policy_add(struct reclaim *rc, struct page *pg,
				   bool active)
{
	(void)active;
	lru_add(&rc->lru, pg, LRU_INACTIVE_ANON, false);
}

static SIGSAFE void lru_policy_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE void lru_policy_access(struct reclaim *rc, struct page *pg)
{
	lru_move(&rc->lru, pg, LRU_INACTIVE_ANON, false);
}

static SIGSAFE struct page *lru_policy_victim(struct reclaim *rc,
					      struct scan_control *sc)
{
	uint64_t tries = rc->lru.nr[LRU_INACTIVE_ANON] + 1;
	struct page *pg;

	while ((pg = lru_tail(&rc->lru, LRU_INACTIVE_ANON)) && tries--) {
		policy_count_scanned(rc, sc, 1);
		if (reclaim_exact(rc)) {
			lru_isolate(&rc->lru, pg);
			return pg;
		}
		if (!policy_isolate_referenced(rc, pg))
			return pg;
		lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	}
	if (!pg)
		return NULL;
	lru_isolate(&rc->lru, pg); /* all referenced: the oldest goes */
	return pg;
}

static SIGSAFE void lru_policy_putback(struct reclaim *rc, struct page *pg,
				       enum putback_how how)
{
	(void)how;
	lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
}

const struct reclaim_policy policy_lru = {
	.name = "lru",
	.doc = "least recently used: evict the page whose last access is "
	       "oldest",
	.page_add = lru_policy_add,
	.page_del = lru_policy_del,
	.page_access = lru_policy_access,
	.victim = lru_policy_victim,
	.peek = policy_peek_inactive,
	.select = policy_select_victims,
	.putback = lru_policy_putback,
};
