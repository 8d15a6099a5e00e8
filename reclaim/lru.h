/*
 * reclaim/lru.h - the LRU lists: every evictable page of the machine is on
 * exactly one of them, or isolated by reclaim for a moment.
 *
 *   head (newest)                                         tail (oldest)
 *   inactive_anon: [new] -> ... -> [scanned next]
 *   active_anon:   [activated] -> ... -> [deactivated next]
 *   inactive_file, active_file: the same for file pages (vm/filemap.h)
 *   unevictable:   (not used yet)
 *
 * A page enters at the head and reclaim scans from the tail; which list a
 * page goes to and when it moves is the replacement policy's business
 * (reclaim/policy.h); this file only keeps the lists and their counts.
 * `nonresident_age` is the LRU clock of workingset detection: it advances
 * on every eviction and activation (reclaim/workingset.c).  anon_cost and
 * file_cost are Linux's reclaim costs (lru_note_cost, reclaim/vmscan.c),
 * refaults[] the workingset activations seen at the end of the last
 * reclaim run (snapshot_refaults): the `linux` policy's balance between
 * the lists reads them.
 *
 * Invariants (lru_check):
 *  1. A page is on list l iff PG_lru is set and l == page_lru(page):
 *     PG_active selects active vs inactive, PG_lru_file anon vs file.
 *     Both are set by lru_add from the list the policy chose, so a
 *     policy may keep any page on any list (the `linux` policy puts page
 *     cache pages of files on the file lists, everything swap-backed on
 *     the anonymous ones, as Linux).
 *  2. nr[l] equals the length of list l; every page on a list is in use
 *     (refcount > 0, not PG_buddy).
 *  3. nr_isolated counts pages taken off the lists by reclaim (PG_lru
 *     clear, one reference held by the isolator).
 *
 * Locking: the machine lock guards the lists, counts and the PG_lru /
 * PG_active bits.  Everything is SIGSAFE.
 */
#ifndef VMEMU_LRU_H
#define VMEMU_LRU_H

#include "vm/phys.h"

enum lru_list {
	LRU_INACTIVE_ANON,
	LRU_ACTIVE_ANON,
	LRU_INACTIVE_FILE,
	LRU_ACTIVE_FILE,
	LRU_UNEVICTABLE,
	NR_LRU_LISTS,
};

struct lruvec {
	struct list_head lists[NR_LRU_LISTS];
	uint64_t nr[NR_LRU_LISTS];
	uint64_t nr_isolated_anon;
	uint64_t nonresident_age;      /* the workingset clock */
	uint64_t anon_cost, file_cost; /* Linux's lru_note_cost */
	uint64_t refaults[2]; /* workingset_activate_{anon,file} snapshot */
};

static inline bool lru_is_active(enum lru_list l)
{
	return l == LRU_ACTIVE_ANON || l == LRU_ACTIVE_FILE;
}

static inline bool lru_is_file(enum lru_list l)
{
	return l == LRU_INACTIVE_FILE || l == LRU_ACTIVE_FILE;
}

/* The list a page belongs on by its flags (invariant 1). */
static inline enum lru_list page_lru(const struct page *pg)
{
	enum lru_list l = (pg->flags & PG_lru_file) ? LRU_INACTIVE_FILE :
						      LRU_INACTIVE_ANON;

	return (pg->flags & PG_active) ? l + 1 : l;
}

void lruvec_init(struct lruvec *lv);

/* Set PG_active and PG_lru_file to match list l. */
static inline void lru_set_flags(struct page *pg, enum lru_list l)
{
	pg->flags &= ~(uint32_t)(PG_active | PG_lru_file);
	if (lru_is_active(l))
		pg->flags |= PG_active;
	if (lru_is_file(l))
		pg->flags |= PG_lru_file;
}

/*
 * The list operations below are SIGSAFE and inline: every miss of exact
 * replacement runs several of them (docs/exact.md, "Speed").
 */

/* Put pg on list l (head, or tail); sets PG_lru and PG_active. */
static inline void lru_add(struct lruvec *lv, struct page *pg, enum lru_list l,
			   bool tail)
{
	BUG_ON(pg->flags & PG_lru);
	lru_set_flags(pg, l);
	pg->flags |= PG_lru;
	if (tail)
		list_add_tail(&pg->lru, &lv->lists[l]);
	else
		list_add(&pg->lru, &lv->lists[l]);
	lv->nr[l]++;
}

/* Take pg off its list (PG_lru must be set; clears it). */
static inline void lru_del(struct lruvec *lv, struct page *pg)
{
	BUG_ON(!(pg->flags & PG_lru));
	list_del_init(&pg->lru);
	lv->nr[page_lru(pg)]--;
	pg->flags &= ~(uint32_t)PG_lru;
}

/*
 * Move pg (on a list) to list l, at its head or tail.  Within one list
 * (a hit's move to the head: exact LRU's every hit) the flags and the
 * counts stay as they are, and only the links change.
 */
static inline void lru_move(struct lruvec *lv, struct page *pg, enum lru_list l,
			    bool tail)
{
	BUG_ON(!(pg->flags & PG_lru));
	if (page_lru(pg) == l) {
		if (tail)
			list_move_tail(&pg->lru, &lv->lists[l]);
		else
			list_move(&pg->lru, &lv->lists[l]);
		return;
	}
	lru_del(lv, pg);
	lru_add(lv, pg, l, tail);
}

/*
 * Isolate pg for reclaim: off its list, one reference taken (invariant
 * 3).  lru_putback undoes it onto list l (the page must be held by
 * someone else too); lru_unisolate only ends the isolation's count, and
 * the caller drops the reference itself (page_put: the page may go).
 */
static inline void lru_isolate(struct lruvec *lv, struct page *pg)
{
	lru_del(lv, pg);
	pg->_refcount++;
	lv->nr_isolated_anon++;
}

static inline void lru_unisolate(struct lruvec *lv, struct page *pg)
{
	BUG_ON(pg->flags & PG_lru || lv->nr_isolated_anon == 0);
	lv->nr_isolated_anon--;
}

static inline void lru_putback(struct lruvec *lv, struct page *pg,
			       enum lru_list l, bool tail)
{
	lru_unisolate(lv, pg);
	BUG_ON(pg->_refcount < 2); /* someone besides the isolator holds it */
	pg->_refcount--;
	lru_add(lv, pg, l, tail);
}

/* SIGSAFE.  The oldest page of list l, or NULL. */
static inline struct page *lru_tail(struct lruvec *lv, enum lru_list l)
{
	if (list_empty(&lv->lists[l]))
		return NULL;
	return list_entry(lv->lists[l].prev, struct page, lru);
}

/* lru_check() results (invariants above); not errno values. */
enum lru_check_err {
	LRU_CHECK_FLAGS = -1501,    /* 1: PG_lru / PG_active / list disagree */
	LRU_CHECK_COUNT = -1502,    /* 2: nr[l] != length of list l */
	LRU_CHECK_FREE = -1503,	    /* 2: a free page on a list */
	LRU_CHECK_ISOLATED = -1504, /* 3: isolated count vs pages */
};

/*
 * Walk the lists; 0 or an enum lru_check_err.  nr_pages bounds a walk
 * (a cycle that misses its head); `isolated` is the number of pages the
 * caller knows to be isolated now (0 outside reclaim).
 */
int lru_check(const struct lruvec *lv, const struct phys *ph,
	      uint64_t isolated);

#endif /* VMEMU_LRU_H */
