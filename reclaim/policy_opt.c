/*
 * reclaim/policy_opt.c - "opt": Belady's MIN.  Evict the page whose next
 * access is farthest in the future; a page never used again is infinitely
 * far (UINT64_MAX), and goes first.
 *
 *   page in / hit:  next = reclaim_next_use() (the request index of the
 *                   page's next access, from vm_access_next)
 *   victim:         the largest next
 *
 *   inactive_anon: pages never used again - any of them is the victim,
 *                  O(1) from the tail (on a trace most victims are such)
 *   active_anon:   the others, in a min-heap (reclaim/policy_heap.h)
 *                  keyed by ~next: the top is the farthest; a hit moves
 *                  its page's next later, so the page sifts up
 *
 * Needs the future, so exact replacement only (exact_only: vm_create
 * refuses it elsewhere).  Accesses made without a next use (vm_access,
 * not vm_access_next) count as never used again; among such pages the
 * choice is arbitrary (any choice gives the same misses).
 *
 * Invariants (opt_check, besides the heap's): every active page has an
 * entry, inactive pages have none.
 *
 * Memory: the heap (16 bytes per frame, 4 bytes of index per frame of the
 * machine); lru_info keeps a victim's next use while it is isolated.
 *
 * Locking: the machine lock.  SIGSAFE but init / fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "reclaim/policy_heap.h"
#include "reclaim/reclaim_internal.h"

#define OPT_NEVER	     LRU_INACTIVE_ANON
#define OPT_LATER	     LRU_ACTIVE_ANON
#define OPT_CHECK_UNINDEXED  (-1721)
#define OPT_CHECK_INDEXED    (-1722)
#define OPT_CHECK_WRONG_LIST (-1723)

struct opt {
	struct pheap heap;
	struct phys *phys;
};

static inline struct opt *opt_of(struct reclaim *rc)
{
	return reclaim_private(rc);
}

static int opt_init(struct reclaim *rc, uint64_t nr_frames)
{
	struct opt *o = malloc(sizeof(*o));
	int err;

	if (!o)
		return -ENOMEM;
	err = pheap_init(&o->heap, nr_frames, rc->vm->phys.nr_pages);
	if (err) {
		free(o);
		return err;
	}
	o->phys = &rc->vm->phys;
	reclaim_set_private(rc, o);
	return 0;
}

static void opt_fini(struct reclaim *rc)
{
	struct opt *o = opt_of(rc);

	if (!o)
		return;
	pheap_fini(&o->heap);
	free(o);
	reclaim_set_private(rc, NULL);
}

static SIGSAFE bool on_a_list(uint64_t pfn, void *arg)
{
	struct opt *o = arg;

	return phys_page(o->phys, pfn)->flags & PG_lru;
}

/* pg's next use becomes next: its entry, made if need be. */
static SIGSAFE void opt_key(struct opt *o, const struct page *pg, uint64_t next)
{
	uint64_t pfn = phys_pfn(o->phys, pg);

	if (pheap_set(&o->heap, pfn, 0, ~next))
		return;
	pheap_filter(&o->heap, on_a_list, o); /* drop stale entries */
	BUG_ON(!pheap_set(&o->heap, pfn, 0, ~next));
}

/* The list of a page whose next use is next. */
static inline enum lru_list list_for(uint64_t next)
{
	return next == UINT64_MAX ? OPT_NEVER : OPT_LATER;
}

/* pg, now on list_for(next): its entry follows. */
static SIGSAFE void opt_index(struct opt *o, const struct page *pg,
			      uint64_t next)
{
	if (next == UINT64_MAX)
		pheap_del(&o->heap, phys_pfn(o->phys, pg));
	else
		opt_key(o, pg, next);
}

static SIGSAFE void opt_add(struct reclaim *rc, struct page *pg, bool active)
{
	uint64_t next = reclaim_next_use(rc);

	(void)active;
	pg->lru_info = 0;
	lru_add(&rc->lru, pg, list_for(next), false);
	opt_index(opt_of(rc), pg, next);
}

static SIGSAFE void opt_del(struct reclaim *rc, struct page *pg)
{
	pheap_del(&opt_of(rc)->heap, phys_pfn(&rc->vm->phys, pg));
	lru_del(&rc->lru, pg);
}

static SIGSAFE void opt_access(struct reclaim *rc, struct page *pg)
{
	uint64_t next = reclaim_next_use(rc);

	if (page_lru(pg) != list_for(next))
		lru_move(&rc->lru, pg, list_for(next), false);
	opt_index(opt_of(rc), pg, next);
}

static SIGSAFE struct page *opt_victim(struct reclaim *rc,
				       struct scan_control *sc)
{
	struct opt *o = opt_of(rc);
	struct page *pg = lru_tail(&rc->lru, OPT_NEVER);
	const struct pheap_ent *top;
	uint64_t next = UINT64_MAX;

	while (!pg && (top = pheap_top(&o->heap))) {
		uint64_t pfn = top->pfn;

		next = ~top->lo;
		pheap_del(&o->heap, pfn);
		pg = phys_page(o->phys, pfn);
		if (!(pg->flags & PG_lru))
			pg = NULL; /* stale */
	}
	if (!pg)
		return NULL;
	policy_count_scanned(rc, sc, 1);
	lru_isolate(&rc->lru, pg);
	pg->lru_info = next; /* its next use, if it comes back */
	return pg;
}

static SIGSAFE void opt_putback(struct reclaim *rc, struct page *pg,
				enum putback_how how)
{
	uint64_t next = pg->lru_info;

	(void)how;
	pg->lru_info = 0;
	lru_putback(&rc->lru, pg, list_for(next), false);
	opt_index(opt_of(rc), pg, next);
}

static int opt_check(struct reclaim *rc)
{
	struct opt *o = opt_of(rc);
	const struct lruvec *lv = &rc->lru;
	struct list_head *pos;
	int err = pheap_check(&o->heap);
	uint64_t on_lists = 0;

	if (err)
		return err;
	for (int l = 0; l < NR_LRU_LISTS; l++)
		if (l != OPT_NEVER && l != OPT_LATER && lv->nr[l])
			return OPT_CHECK_WRONG_LIST;
	for (uint64_t i = 0; i < o->heap.n; i++)
		on_lists += on_a_list(o->heap.e[i].pfn, o);
	if (on_lists != lv->nr[OPT_LATER])
		return OPT_CHECK_UNINDEXED;
	list_for_each(pos, &rc->lru.lists[OPT_NEVER])
		if (pheap_find(&o->heap,
			       phys_pfn(o->phys,
					list_entry(pos, struct page, lru))))
			return OPT_CHECK_INDEXED;
	return 0;
}

const struct reclaim_policy policy_opt = {
	.name = "opt",
	.doc = "Belady's MIN: evict the page used again farthest in the "
	       "future (exact replacement only)",
	.init = opt_init,
	.fini = opt_fini,
	.page_add = opt_add,
	.page_del = opt_del,
	.page_access = opt_access,
	.victim = opt_victim,
	.select = policy_select_victims,
	.putback = opt_putback,
	.exact_only = true,
	.check = opt_check,
};
