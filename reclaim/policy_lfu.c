/*
 * reclaim/policy_lfu.c - "lfu": evict the page used least often; and
 * "lfu-aging", the same with every count halved every N accesses.
 *
 *   count: 1 when the page comes in, +1 on each hit; forgotten when the
 *   page leaves.  Victim: the smallest count; among equal counts, the
 *   page whose last access is oldest.
 *
 *   key (k1, k2) = (count, clock at the last access)   in a min-heap
 *   (reclaim/policy_heap.h): the top is the victim
 *
 * The clock advances on every access (a page coming in, a hit).  Aging
 * (lfu-aging:N, N accesses between halvings; plain "lfu-aging" takes
 * N = 10 x frames): after every N-th access every resident count becomes
 * count / 2 (rounded down: a count can reach 0, so a new page outranks an
 * old one that went quiet), and the heap is rebuilt in O(n) - amortized
 * O(1) per access.
 *
 * Exact mode sees every access (page_add, page_access): the textbook LFU.
 * Native mode sees no hits: a page's count grows by one each time reclaim
 * looks at it and finds its accessed bits set (then it goes back, behind
 * the pages of its count); the clock advances on those looks and on page
 * ins, and aging counts them as accesses.  The first look after a page
 * comes in finds the bit its own fault set and is not counted
 * (LFU_FRESH).  docs/policies.md shows the difference.
 *
 * Invariants (lfu_check, besides the heap's own):
 *  1. Every page on the lists has an entry; an entry whose page is not on
 *     a list is stale (its page left behind the policy's back) and goes
 *     when met.
 *  2. Pages are on inactive_anon only.
 *
 * Memory: the heap (24 bytes per frame, 4 bytes of index per frame of the
 * machine); lru_info holds LFU_FRESH, and a victim's count while it is
 * isolated (a victim that comes back keeps it).
 *
 * Locking: the machine lock.  SIGSAFE but init / fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "reclaim/policy_heap.h"
#include "reclaim/reclaim_internal.h"

#define LFU_FRESH	      (1ULL << 63) /* native: not looked at yet */
#define LFU_COUNT_MASK	      (LFU_FRESH - 1)
#define LFU_AGING_PER_FRAME   10 /* default N of lfu-aging: 10 x frames */
#define LFU_CHECK_UNINDEXED   (-1711) /* 1: a page on a list, no entry */
#define LFU_CHECK_WRONG_LIST  (-1712) /* 2 */

struct lfu {
	struct pheap heap;
	uint64_t clock;	 /* accesses seen */
	uint64_t period; /* accesses between halvings; 0: no aging */
	uint64_t since;	 /* accesses since the last halving */
};

static inline struct lfu *lfu_of(struct reclaim *rc)
{
	return reclaim_private(rc);
}

static inline uint64_t pfn_of(struct reclaim *rc, const struct page *pg)
{
	return phys_pfn(&rc->vm->phys, pg);
}

static int lfu_init_period(struct reclaim *rc, uint64_t nr_frames,
			   uint64_t period)
{
	struct lfu *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	err = pheap_init(&l->heap, nr_frames, rc->vm->phys.nr_pages);
	if (err) {
		free(l);
		return err;
	}
	l->period = period;
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
	free(l);
	reclaim_set_private(rc, NULL);
}

static SIGSAFE void halve(struct pheap_ent *e, void *arg)
{
	(void)arg;
	e->k1 >>= 1;
}

/* One access counted; every period-th halves every count. */
static SIGSAFE void lfu_tick(struct lfu *l)
{
	if (l->period && ++l->since == l->period) {
		l->since = 0;
		pheap_for_each(&l->heap, halve, NULL);
		pheap_rebuild(&l->heap);
	}
}

static SIGSAFE bool on_a_list(uint64_t pfn, void *arg)
{
	struct reclaim *rc = arg;

	return phys_page(&rc->vm->phys, pfn)->flags & PG_lru;
}

static SIGSAFE void lfu_set(struct reclaim *rc, struct lfu *l,
			    const struct page *pg, uint64_t count,
			    uint64_t stamp)
{
	uint64_t pfn = pfn_of(rc, pg);

	if (pheap_set(&l->heap, pfn, count, stamp))
		return;
	pheap_filter(&l->heap, on_a_list, rc); /* drop stale entries */
	BUG_ON(!pheap_set(&l->heap, pfn, count, stamp));
}

static SIGSAFE void lfu_add(struct reclaim *rc, struct page *pg, bool active)
{
	struct lfu *l = lfu_of(rc);

	(void)active;
	pg->lru_info = reclaim_exact(rc) ? 0 : LFU_FRESH;
	lru_add(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	lfu_set(rc, l, pg, 1, ++l->clock);
	lfu_tick(l);
}

static SIGSAFE void lfu_del(struct reclaim *rc, struct page *pg)
{
	pheap_del(&lfu_of(rc)->heap, pfn_of(rc, pg));
	lru_del(&rc->lru, pg);
}

static SIGSAFE void lfu_access(struct reclaim *rc, struct page *pg)
{
	struct lfu *l = lfu_of(rc);
	const struct pheap_ent *e = pheap_find(&l->heap, pfn_of(rc, pg));

	lfu_set(rc, l, pg, e ? e->k1 + 1 : 1, ++l->clock);
	lfu_tick(l);
}

/*
 * Native: the top page pg (count) is looked at: referenced since the last
 * look, it stays with count + 1 (the first look only clears the bit its
 * fault set) and true; else false, pg isolated.
 */
static SIGSAFE bool lfu_keep(struct reclaim *rc, struct lfu *l,
			     struct page *pg, uint64_t count)
{
	bool fresh = pg->lru_info & LFU_FRESH;

	if (!policy_isolate_referenced(rc, pg))
		return false;
	pg->lru_info &= ~LFU_FRESH;
	lfu_set(rc, l, pg, fresh ? count : count + 1, ++l->clock);
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
		uint64_t pfn = top->pfn, count = top->k1;
		struct page *pg = phys_page(&rc->vm->phys, pfn);

		if (!(pg->flags & PG_lru)) { /* stale */
			pheap_del(&l->heap, pfn);
			continue;
		}
		policy_count_scanned(rc, sc, 1);
		if (reclaim_exact(rc) || !tries--)
			lru_isolate(&rc->lru, pg);
		else if (lfu_keep(rc, l, pg, count))
			continue;
		pheap_del(&l->heap, pfn);
		pg->lru_info = count; /* kept if it comes back */
		return pg;
	}
	return NULL;
}

static SIGSAFE void lfu_putback(struct reclaim *rc, struct page *pg,
				enum putback_how how)
{
	struct lfu *l = lfu_of(rc);
	uint64_t count = pg->lru_info & LFU_COUNT_MASK;

	lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	if (pheap_find(&l->heap, pfn_of(rc, pg)))
		return; /* isolated by someone else: its entry stayed */
	pg->lru_info = 0;
	lfu_set(rc, l, pg, count ? count : 1,
		how == PUTBACK_ROTATE ? 0 : l->clock);
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
	for (uint64_t i = 0; i < l->heap.n; i++)
		on_lists += (phys_page(&rc->vm->phys, l->heap.e[i].pfn)->flags &
			     PG_lru) != 0;
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
