/*
 * reclaim/lru.c - the LRU lists (see lru.h).  Locking: the machine lock.
 * SIGSAFE: everything but lru_check (which only reads, and is too).
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

/* Set PG_active and PG_lru_file to match list l. */
static void set_active(struct page *pg, enum lru_list l)
{
	pg->flags &= ~(uint32_t)(PG_active | PG_lru_file);
	if (lru_is_active(l))
		pg->flags |= PG_active;
	if (lru_is_file(l))
		pg->flags |= PG_lru_file;
}

SIGSAFE void lru_add(struct lruvec *lv, struct page *pg, enum lru_list l,
		     bool tail)
{
	BUG_ON(pg->flags & PG_lru);
	set_active(pg, l);
	pg->flags |= PG_lru;
	if (tail)
		list_add_tail(&pg->lru, &lv->lists[l]);
	else
		list_add(&pg->lru, &lv->lists[l]);
	lv->nr[l]++;
}

SIGSAFE void lru_del(struct lruvec *lv, struct page *pg)
{
	BUG_ON(!(pg->flags & PG_lru));
	list_del_init(&pg->lru);
	lv->nr[page_lru(pg)]--;
	pg->flags &= ~(uint32_t)PG_lru;
}

SIGSAFE void lru_move(struct lruvec *lv, struct page *pg, enum lru_list l,
		      bool tail)
{
	lru_del(lv, pg);
	lru_add(lv, pg, l, tail);
}

SIGSAFE void lru_isolate(struct lruvec *lv, struct page *pg)
{
	lru_del(lv, pg);
	pg->_refcount++;
	lv->nr_isolated_anon++;
}

SIGSAFE void lru_unisolate(struct lruvec *lv, struct page *pg)
{
	BUG_ON(pg->flags & PG_lru || lv->nr_isolated_anon == 0);
	lv->nr_isolated_anon--;
}

SIGSAFE void lru_putback(struct lruvec *lv, struct page *pg, enum lru_list l,
			 bool tail)
{
	lru_unisolate(lv, pg);
	BUG_ON(pg->_refcount < 2); /* someone besides the isolator holds it */
	pg->_refcount--;
	lru_add(lv, pg, l, tail);
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
