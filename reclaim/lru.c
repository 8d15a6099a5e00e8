/*
 * reclaim/lru.c - the LRU lists (see lru.h).  Locking: the machine lock.
 * SIGSAFE: all of it (lru_check only reads).  The list operations the
 * fault path runs are inline in lru.h.
 */
#include "reclaim/lru.h"

void lruvec_init(struct lruvec *lv)
{
	for (int l = 0; l < NR_LRU_LISTS; l++) {
		list_init(&lv->lists[l]);
		lv->nr[l] = 0;
	}
	lv->nr_isolated_anon = 0;
	lv->nonresident_age = 0;
	lv->anon_cost = lv->file_cost = 0;
	lv->refaults[0] = lv->refaults[1] = 0;
}

int lru_check(const struct lruvec *lv, const struct phys *ph, uint64_t isolated)
{
	for (int l = 0; l < NR_LRU_LISTS; l++) {
		const struct list_head *pos;
		uint64_t n = 0;

		for (pos = lv->lists[l].next; pos != &lv->lists[l];
		     pos = pos->next) {
			const struct page *pg =
				(const struct page *)((const char *)pos -
						      offsetof(struct page,
							       lru));

			if (++n > ph->nr_pages)
				return LRU_CHECK_COUNT; /* a cycle */
			if (!(pg->flags & PG_lru) || (int)page_lru(pg) != l)
				return LRU_CHECK_FLAGS;
			if (pg->_refcount <= 0 || (pg->flags & PG_buddy))
				return LRU_CHECK_FREE;
		}
		if (n != lv->nr[l])
			return LRU_CHECK_COUNT;
	}
	return lv->nr_isolated_anon == isolated ? 0 : LRU_CHECK_ISOLATED;
}
