/*
 * reclaim/policy_fifo.c - "fifo": evict the page that was brought in
 * earliest.  Accesses change nothing.
 *
 *   inactive_anon: [newest] -> ... -> [oldest] --> victim
 *
 * One list, arrival order.  A victim the machinery could not evict (no
 * swap slot, a write error) comes back as the newest page, so that it is
 * not chosen again at once.  Exact and native modes behave alike.
 *
 * Locking: the machine lock.  SIGSAFE.
 */
#include "reclaim/reclaim_internal.h"

static SIGSAFE void fifo_add(struct reclaim *rc, struct page *pg, bool active)
{
	(void)active;
	lru_add(&rc->lru, pg, LRU_INACTIVE_ANON, false);
}

static SIGSAFE void fifo_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE struct page *fifo_victim(struct reclaim *rc,
					struct scan_control *sc)
{
	struct page *pg = lru_tail(&rc->lru, LRU_INACTIVE_ANON);

	if (!pg)
		return NULL;
	policy_count_scanned(rc, sc, 1);
	lru_isolate(&rc->lru, pg);
	return pg;
}

static SIGSAFE void fifo_putback(struct reclaim *rc, struct page *pg,
				 enum putback_how how)
{
	(void)how;
	lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
}

const struct reclaim_policy policy_fifo = {
	.name = "fifo",
	.doc = "first in, first out: evict the page brought in earliest",
	.page_add = fifo_add,
	.page_del = fifo_del,
	.victim = fifo_victim,
	.peek = policy_peek_inactive,
	.select = policy_select_victims,
	.putback = fifo_putback,
};
