/*
 * reclaim/policy_lfu.c - "lfu": evict the page used least often; and
 * "lfu-aging", the same with every count halved every N accesses.
 *
 *   count: 1 when the page comes in, +1 on each hit; forgotten when the
 *   page leaves.  Victim: the smallest count; among equal counts, the
 *   page whose last access is oldest.
 *
 *   a page's key = (count, clock at its last access); the count lives in
 *   lru_info, the last access in stamp[pfn]
 *
 *   min-heap of keys (reclaim/policy_heap.h), updated lazily:
 *     hit:     count + 1 and stamp = clock in place, the heap untouched:
 *              an entry's key may lag, but never exceeds the page's key
 *     victim:  top lagging -> re-keyed (sinks), look again;
 *              top current -> it is the smallest key of all (its key <=
 *              every entry's <= every page's key): the victim
 *
 * A hit costs two stores (lru_info shares the cache line reclaim already
 * read); a lagging entry is re-keyed at most once however many hits made
 * it lag, and a hot page, re-keyed with a high count, rarely comes up
 * again.  The clock advances on every access (a page coming in, a hit).
 *
 * Aging (lfu-aging:N, N accesses between halvings; plain "lfu-aging"
 * takes N = 10 x frames): after every N-th access every resident count
 * becomes count / 2 (rounded down: a count can reach 0, so a new page
 * outranks an old one that went quiet); the heap gets every current key
 * and is rebuilt in O(n): amortized O(1) per access.
 *
 * Exact mode sees every access (page_add, page_access): the textbook LFU.
 * Native mode sees no hits: a page's count grows by one each time reclaim
 * looks at it and finds its accessed bits set (then it goes back, behind
 * the pages of its count); the clock advances on those looks and on page
 * ins, and aging counts them as accesses.  The first look after a page
 * comes in finds the bit its own fault set and is not counted
 * (LFU_FRESH).  docs/policies.md shows the difference.
 *
 * Counts are exact up to 2^32 - 1 hits on one page (the heap's keys stop
 * there); the clock is 64 bits.
 *
 * Invariants (lfu_check, besides the heap's own):
 *  1. Every page on the lists has an entry, whose key is at most the
 *     page's; an entry whose page is not on a list is stale (its page left
 *     behind the policy's back) and goes when met.
 *  2. Pages are on inactive_anon only.
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

#define LFU_FRESH	     (1ULL << 63) /* native: not looked at yet */
#define LFU_COUNT_MASK	     (LFU_FRESH - 1)
#define LFU_AGING_PER_FRAME  10 /* default N of lfu-aging: 10 x frames */
#define LFU_CHECK_UNINDEXED  (-1711) /* 1: a page on a list, no entry */
#define LFU_CHECK_AHEAD	     (-1712) /* 1: an entry above its page */
#define LFU_CHECK_WRONG_LIST (-1713) /* 2 */

struct lfu {
	struct pheap heap;
	uint64_t *stamp; /* per frame of the machine: the last access */
	uint64_t clock;	 /* accesses seen */
	uint64_t period; /* accesses between halvings; 0: no aging */
	uint64_t since;	 /* accesses since the last halving */
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

/* Aging: the page's count halves; its entry takes the current key. */
static SIGSAFE void halve(struct pheap_ent *e, void *arg)
{
	struct lfu *l = arg;
	struct page *pg = phys_page(l->phys, e->pfn);

	if (!(pg->flags & PG_lru))
		return; /* stale: goes when met */
	pg->lru_info = (pg->lru_info & LFU_FRESH) | (count_of(pg) >> 1);
	e->hi = key_hi(count_of(pg));
	e->lo = l->stamp[e->pfn];
}

/* One access counted; every period-th halves every count. */
static SIGSAFE void lfu_tick(struct lfu *l)
{
	if (l->period && ++l->since == l->period) {
		l->since = 0;
		pheap_for_each(&l->heap, halve, l);
		pheap_rebuild(&l->heap);
	}
}

static SIGSAFE bool on_a_list(uint64_t pfn, void *arg)
{
	struct lfu *l = arg;

	return phys_page(l->phys, pfn)->flags & PG_lru;
}

/* pfn's entry takes the page's current key. */
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
	pg->lru_info = 1 | (reclaim_exact(rc) ? 0 : LFU_FRESH);
	lru_add(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	l->stamp[pfn] = ++l->clock;
	lfu_rekey(l, pfn, 1);
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

	if (count_of(pg) < LFU_COUNT_MASK)
		pg->lru_info++;
	l->stamp[phys_pfn(l->phys, pg)] = ++l->clock;
	lfu_tick(l);
}

/*
 * Native: the top page pg is looked at: referenced since the last look,
 * it stays with count + 1 (the first look only clears the bit its fault
 * set) and true; else false, pg isolated.
 */
static SIGSAFE bool lfu_keep(struct reclaim *rc, struct lfu *l,
			     struct page *pg, uint64_t pfn)
{
	bool fresh = pg->lru_info & LFU_FRESH;

	if (!policy_isolate_referenced(rc, pg))
		return false;
	pg->lru_info &= ~LFU_FRESH;
	if (!fresh && count_of(pg) < LFU_COUNT_MASK)
		pg->lru_info++;
	l->stamp[pfn] = ++l->clock;
	lfu_rekey(l, pfn, count_of(pg));
	lfu_tick(l);
	lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	return true;
}

static SIGSAFE struct page *lfu_victim(struct reclaim *rc,
				       struct scan_control *sc)
{
	struct lfu *l = lfu_of(rc);
	uint64_t tries = l->heap.n + 1;
	const struct pheap_ent *top;

	while ((top = pheap_top(&l->heap))) {
		uint64_t pfn = top->pfn;
		struct page *pg = phys_page(l->phys, pfn);

		if (!(pg->flags & PG_lru)) { /* stale */
			pheap_del(&l->heap, pfn);
			continue;
		}
		if (top->hi != key_hi(count_of(pg)) || top->lo != l->stamp[pfn]) {
			lfu_rekey(l, pfn, count_of(pg)); /* lagging */
			continue;
		}
		policy_count_scanned(rc, sc, 1);
		if (reclaim_exact(rc) || !tries--)
			lru_isolate(&rc->lru, pg);
		else if (lfu_keep(rc, l, pg, pfn))
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

	lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	if (pheap_find(&l->heap, pfn))
		return; /* isolated by someone else: its entry stayed */
	if (how == PUTBACK_ROTATE)
		l->stamp[pfn] = 0; /* first among its count */
	lfu_rekey(l, pfn, count_of(pg));
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
		if (lr != LRU_INACTIVE_ANON && lv->nr[lr])
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
	return on_lists == lv->nr[LRU_INACTIVE_ANON] ? 0 : LFU_CHECK_UNINDEXED;
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
