/*
 * reclaim/policy_lfu.c - "lfu": evict the page used least often; and
 * "lfu-aging", the same with every count halved every N accesses.
 *
 *   count: 1 when the page comes in, +1 on each hit; forgotten when the
 *   page leaves.  Victim: the smallest count; among equal counts, the
 *   page whose last access is oldest.
 *
 * A page's key is (count, clock at its last access): the count lives in
 * lru_info, the last access in stamp[pfn].  Two places hold the pages:
 *
 *   inactive_anon: pages not hit since they came in, newest at the head:
 *     the tail has the oldest arrival, and (halvings only lower the
 *     counts of older pages) the smallest key of the list
 *   active_anon + a min-heap (reclaim/policy_heap.h) of keys, updated
 *     lazily: a hit stores count + 1 and the clock in place; an entry's
 *     key may lag behind its page's, never exceed it
 *
 *   hit, inactive page:  count + 1 -> active, into the heap
 *   hit, active page:    count + 1, stamp: two stores, nothing moves
 *   victim:              heap top lagging -> re-keyed (sinks), look again;
 *                        then the smaller key of the inactive tail and
 *                        the heap top (which, current, is the smallest
 *                        key of the heap's pages)
 *
 * So the usual victim, a page used once, leaves from a list tail in O(1),
 * a hot page's hits move nothing, and a lagging entry is re-keyed at most
 * once however many hits made it lag.  The clock advances on every
 * access (a page coming in, a hit).
 *
 * Aging (lfu-aging:N, N accesses between halvings; plain "lfu-aging"
 * takes N = 10 x frames): after every N-th access every resident count
 * becomes count / 2 (rounded down: a count can reach 0, so a new page
 * outranks an old one that went quiet); the heap takes every current key
 * and is rebuilt: O(n) every N accesses.
 *
 * Exact mode sees every access (page_add, page_access): the textbook LFU.
 * Native mode sees no hits: a page's count grows by one each time reclaim
 * looks at it and finds its accessed bits set (then it stays, with the
 * clock as its last access); the clock advances on those looks and on
 * page ins, and aging counts them as accesses.  The first look after a
 * page comes in finds the bit its own fault set and is not counted
 * (LFU_FRESH).  A page put back after a look or a failed eviction goes
 * to the heap.  docs/policies.md shows the difference.
 *
 * Counts are exact up to 2^32 - 1 hits on one page (the heap's keys stop
 * there); the clock is 64 bits.
 *
 * Invariants (lfu_check, besides the heap's own):
 *  1. Every active page has an entry whose key is at most the page's;
 *     inactive pages have none.  An entry whose page is not on a list is
 *     stale (its page left behind the policy's back) and goes when met.
 *  2. Inactive pages run from the smallest key (tail) up.
 *
 * Memory per frame: the heap's 16-byte entry, and per frame of the
 * machine 4 bytes of heap index and 8 of stamp; lru_info: the count and
 * LFU_FRESH (a victim that comes back keeps its count).
 *
 * Locking: the machine lock.  SIGSAFE but init / fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "reclaim/policy_heap.h"
#include "reclaim/reclaim_internal.h"

#define LFU_NEW		     LRU_INACTIVE_ANON
#define LFU_HIT		     LRU_ACTIVE_ANON
#define LFU_FRESH	     (1ULL << 63) /* native: not looked at yet */
#define LFU_COUNT_MASK	     (LFU_FRESH - 1)
#define LFU_AGING_PER_FRAME  10	     /* default N of lfu-aging: 10 x frames */
#define LFU_CHECK_UNINDEXED  (-1711) /* 1: an active page, no entry */
#define LFU_CHECK_AHEAD	     (-1712) /* 1: an entry above its page */
#define LFU_CHECK_INDEXED    (-1713) /* 1: an inactive page with one */
#define LFU_CHECK_ORDER	     (-1714) /* 2 */
#define LFU_CHECK_WRONG_LIST (-1715)

struct lfu {
	struct pheap heap;
	uint64_t *stamp; /* per frame of the machine: the last access */
	uint64_t clock;	 /* accesses seen */
	uint64_t period; /* accesses between halvings; 0: no aging */
	uint64_t since;	 /* accesses since the last halving */
	struct reclaim *rc;
	struct phys *phys;
};

static inline struct lfu *lfu_of(struct reclaim *rc)
{
	return reclaim_private(rc);
}

static inline uint64_t count_of(const struct page *pg)
{
	return pg->lru_info & LFU_COUNT_MASK;
}

/* The heap's part of a count. */
static inline uint32_t key_hi(uint64_t count)
{
	return (uint32_t)MIN(count, (uint64_t)UINT32_MAX);
}

static int lfu_init_period(struct reclaim *rc, uint64_t nr_frames,
			   uint64_t period)
{
	struct lfu *l = calloc(1, sizeof(*l));
	uint64_t nr_pages = rc->vm->phys.nr_pages;
	int err;

	if (!l)
		return -ENOMEM;
	l->stamp = calloc(nr_pages, sizeof(*l->stamp));
	err = l->stamp ? pheap_init(&l->heap, nr_frames, nr_pages) : -ENOMEM;
	if (err) {
		free(l->stamp);
		free(l);
		return err;
	}
	l->period = period;
	l->rc = rc;
	l->phys = &rc->vm->phys;
	reclaim_set_private(rc, l);
	return 0;
}

static int lfu_init(struct reclaim *rc, uint64_t nr_frames)
{
	return lfu_init_period(rc, nr_frames, 0);
}

/* lfu-aging[:N]: N > 0 accesses between halvings. */
static int lfu_aging_init(struct reclaim *rc, uint64_t nr_frames)
{
	const char *arg = reclaim_policy_arg(rc);
	uint64_t period = LFU_AGING_PER_FRAME * nr_frames;
	char *end;

	if (arg) {
		period = strtoull(arg, &end, 10);
		if (end == arg || *end || *arg == '-' || !period)
			return -EINVAL;
	}
	return lfu_init_period(rc, nr_frames, period);
}

static void lfu_fini(struct reclaim *rc)
{
	struct lfu *l = lfu_of(rc);

	if (!l)
		return;
	pheap_fini(&l->heap);
	free(l->stamp);
	free(l);
	reclaim_set_private(rc, NULL);
}

static inline void halve_count(struct page *pg)
{
	pg->lru_info = (pg->lru_info & LFU_FRESH) | (count_of(pg) >> 1);
}

/* Aging of an active page: its count halves, its entry catches up. */
static SIGSAFE void halve_entry(struct pheap_ent *e, void *arg)
{
	struct lfu *l = arg;
	struct page *pg = phys_page(l->phys, e->pfn);

	if (!(pg->flags & PG_lru))
		return; /* stale: goes when met */
	halve_count(pg);
	e->hi = key_hi(count_of(pg));
	e->lo = l->stamp[e->pfn];
}

/* One access counted; every period-th halves every count. */
static SIGSAFE void lfu_tick(struct lfu *l)
{
	struct list_head *pos;

	if (!l->period || ++l->since < l->period)
		return;
	l->since = 0;
	list_for_each(pos, &l->rc->lru.lists[LFU_NEW])
		halve_count(list_entry(pos, struct page, lru));
	pheap_for_each(&l->heap, halve_entry, l);
	pheap_rebuild(&l->heap);
}

static SIGSAFE bool on_a_list(uint64_t pfn, void *arg)
{
	struct lfu *l = arg;

	return phys_page(l->phys, pfn)->flags & PG_lru;
}

/* pfn's entry (made if need be) takes the page's current key. */
static SIGSAFE void lfu_rekey(struct lfu *l, uint64_t pfn, uint64_t count)
{
	if (pheap_set(&l->heap, pfn, key_hi(count), l->stamp[pfn]))
		return;
	pheap_filter(&l->heap, on_a_list, l); /* drop stale entries */
	BUG_ON(!pheap_set(&l->heap, pfn, key_hi(count), l->stamp[pfn]));
}

static SIGSAFE void lfu_add(struct reclaim *rc, struct page *pg, bool active)
{
	struct lfu *l = lfu_of(rc);
	uint64_t pfn = phys_pfn(l->phys, pg);

	(void)active;
	pheap_del(&l->heap, pfn); /* a stale entry of the frame's last page */
	pg->lru_info = 1 | (reclaim_exact(rc) ? 0 : LFU_FRESH);
	lru_add(&rc->lru, pg, LFU_NEW, false);
	l->stamp[pfn] = ++l->clock;
	lfu_tick(l);
}

static SIGSAFE void lfu_del(struct reclaim *rc, struct page *pg)
{
	pheap_del(&lfu_of(rc)->heap, phys_pfn(&rc->vm->phys, pg));
	lru_del(&rc->lru, pg);
}

static SIGSAFE void lfu_access(struct reclaim *rc, struct page *pg)
{
	struct lfu *l = lfu_of(rc);
	uint64_t pfn = phys_pfn(l->phys, pg);

	if (count_of(pg) < LFU_COUNT_MASK)
		pg->lru_info++;
	l->stamp[pfn] = ++l->clock;
	if (!(pg->flags & PG_active)) { /* its first hit: to the heap */
		lru_move(&rc->lru, pg, LFU_HIT, false);
		lfu_rekey(l, pfn, count_of(pg));
	}
	lfu_tick(l);
}

/*
 * Native: the candidate pg is looked at (isolated by the look):
 * referenced since the last look, it stays with count + 1 (the first look
 * only clears the bit its fault set), true; else false, pg isolated.
 */
static SIGSAFE bool lfu_keep(struct lfu *l, struct page *pg, uint64_t pfn)
{
	bool fresh = pg->lru_info & LFU_FRESH;

	if (!policy_isolate_referenced(l->rc, pg))
		return false;
	pg->lru_info &= ~LFU_FRESH;
	if (!fresh && count_of(pg) < LFU_COUNT_MASK)
		pg->lru_info++;
	l->stamp[pfn] = ++l->clock;
	lru_putback(&l->rc->lru, pg, LFU_HIT, false);
	lfu_rekey(l, pfn, count_of(pg));
	lfu_tick(l);
	return true;
}

/* The heap's current top (lagging tops re-keyed, stale ones dropped). */
static SIGSAFE struct page *heap_top(struct lfu *l, uint64_t *pfn)
{
	const struct pheap_ent *top;

	while ((top = pheap_top(&l->heap))) {
		struct page *pg = phys_page(l->phys, top->pfn);

		*pfn = top->pfn;
		if (!(pg->flags & PG_lru))
			pheap_del(&l->heap, *pfn); /* stale */
		else if (top->hi != key_hi(count_of(pg)) ||
			 top->lo != l->stamp[*pfn])
			lfu_rekey(l, *pfn, count_of(pg)); /* lagging */
		else
			return pg;
	}
	return NULL;
}

/* The page with the smallest key, and its pfn; NULL when none. */
static SIGSAFE struct page *smallest(struct lfu *l, uint64_t *pfn)
{
	struct page *h = heap_top(l, pfn);
	struct page *t = lru_tail(&l->rc->lru, LFU_NEW);
	uint64_t tpfn;

	if (!t)
		return h;
	tpfn = phys_pfn(l->phys, t);
	if (h &&
	    (count_of(h) < count_of(t) ||
	     (count_of(h) == count_of(t) && l->stamp[*pfn] < l->stamp[tpfn])))
		return h;
	*pfn = tpfn;
	return t;
}

static SIGSAFE struct page *lfu_victim(struct reclaim *rc,
				       struct scan_control *sc)
{
	struct lfu *l = lfu_of(rc);
	uint64_t tries = rc->lru.nr[LFU_NEW] + rc->lru.nr[LFU_HIT] + 1;
	uint64_t pfn;
	struct page *pg;

	while ((pg = smallest(l, &pfn))) {
		policy_count_scanned(rc, sc, 1);
		if (reclaim_exact(rc) || !tries--)
			lru_isolate(&rc->lru, pg);
		else if (lfu_keep(l, pg, pfn))
			continue;
		pheap_del(&l->heap, pfn);
		return pg; /* lru_info keeps its count, if it comes back */
	}
	return NULL;
}

static SIGSAFE void lfu_putback(struct reclaim *rc, struct page *pg,
				enum putback_how how)
{
	struct lfu *l = lfu_of(rc);
	uint64_t pfn = phys_pfn(l->phys, pg);

	if (how == PUTBACK_ROTATE)
		l->stamp[pfn] = 0; /* first among its count */
	lru_putback(&rc->lru, pg, LFU_HIT, false);
	lfu_rekey(l, pfn, count_of(pg));
}

/* Inactive pages: no entry, keys rising from the tail. */
static int check_new(struct lfu *l)
{
	struct list_head *pos;
	uint64_t prev_count = UINT64_MAX, prev_stamp = UINT64_MAX;

	list_for_each(pos, &l->rc->lru.lists[LFU_NEW]) {
		struct page *pg = list_entry(pos, struct page, lru);
		uint64_t pfn = phys_pfn(l->phys, pg);

		if (pheap_find(&l->heap, pfn))
			return LFU_CHECK_INDEXED;
		if (count_of(pg) > prev_count ||
		    (count_of(pg) == prev_count && l->stamp[pfn] > prev_stamp))
			return LFU_CHECK_ORDER;
		prev_count = count_of(pg);
		prev_stamp = l->stamp[pfn];
	}
	return 0;
}

static int lfu_check(struct reclaim *rc)
{
	struct lfu *l = lfu_of(rc);
	const struct lruvec *lv = &rc->lru;
	int err = pheap_check(&l->heap);
	uint64_t on_lists = 0;

	if (err)
		return err;
	for (int lr = 0; lr < NR_LRU_LISTS; lr++)
		if (lr != LFU_NEW && lr != LFU_HIT && lv->nr[lr])
			return LFU_CHECK_WRONG_LIST;
	for (uint64_t i = 0; i < l->heap.n; i++) {
		const struct pheap_ent *e = &l->heap.e[i];
		const struct page *pg = phys_page(l->phys, e->pfn);
		uint32_t hi = key_hi(count_of(pg));

		if (!(pg->flags & PG_lru))
			continue;
		on_lists++;
		if (e->hi > hi || (e->hi == hi && e->lo > l->stamp[e->pfn]))
			return LFU_CHECK_AHEAD;
	}
	if (on_lists != lv->nr[LFU_HIT])
		return LFU_CHECK_UNINDEXED;
	return check_new(l);
}

const struct reclaim_policy policy_lfu = {
	.name = "lfu",
	.doc = "least frequently used: evict the smallest use count (ties: "
	       "the oldest last access)",
	.init = lfu_init,
	.fini = lfu_fini,
	.page_add = lfu_add,
	.page_del = lfu_del,
	.page_access = lfu_access,
	.victim = lfu_victim,
	.select = policy_select_victims,
	.putback = lfu_putback,
	.check = lfu_check,
};

const struct reclaim_policy policy_lfu_aging = {
	.name = "lfu-aging",
	.doc = "lfu with every count halved every N accesses (lfu-aging:N; "
	       "default 10 x frames)",
	.arg_doc = "N, accesses between halvings",
	.init = lfu_aging_init,
	.fini = lfu_fini,
	.page_add = lfu_add,
	.page_del = lfu_del,
	.page_access = lfu_access,
	.victim = lfu_victim,
	.select = policy_select_victims,
	.putback = lfu_putback,
	.check = lfu_check,
};
