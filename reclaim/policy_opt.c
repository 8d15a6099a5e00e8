/*
 * reclaim/policy_opt.c - "opt": Belady's MIN.  Evict the page whose next
 * access is farthest in the future; a page never used again is infinitely
 * far (UINT64_MAX), and goes first.
 *
 *   page in / hit:  next = reclaim_next_use() (the request index of the
 *                   page's next access, from vm_access_next)
 *   victim:         the largest next
 *
 *   min-heap (reclaim/policy_heap.h) keyed by ~next: the top is the
 *   farthest; a hit moves its page's next later, so the page sifts up.
 *
 * Needs the future, so exact replacement only (exact_only: vm_create
 * refuses it elsewhere).  Accesses made without a next use
 * (vm_access, not vm_access_next) count as never used again; among such
 * pages the choice is arbitrary (any choice gives the same misses).
 *
 * Invariants (opt_check, besides the heap's): every page on the lists has
 * an entry; pages are on inactive_anon only.
 *
 * Memory: the heap (16 bytes per frame, 4 bytes of index per frame of the
 * machine); lru_info keeps a victim's key while it is isolated.
 *
 * Locking: the machine lock.  SIGSAFE but init / fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "reclaim/policy_heap.h"
#include "reclaim/reclaim_internal.h"

#define OPT_CHECK_UNINDEXED  (-1721)
#define OPT_CHECK_WRONG_LIST (-1722)

static inline struct pheap *heap_of(struct reclaim *rc)
{
	return reclaim_private(rc);
}

static inline uint64_t pfn_of(struct reclaim *rc, const struct page *pg)
{
	return phys_pfn(&rc->vm->phys, pg);
}

static int opt_init(struct reclaim *rc, uint64_t nr_frames)
{
	struct pheap *h = malloc(sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	err = pheap_init(h, nr_frames, rc->vm->phys.nr_pages);
	if (err) {
		free(h);
		return err;
	}
	reclaim_set_private(rc, h);
	return 0;
}

static void opt_fini(struct reclaim *rc)
{
	struct pheap *h = heap_of(rc);

	if (!h)
		return;
	pheap_fini(h);
	free(h);
	reclaim_set_private(rc, NULL);
}

static SIGSAFE bool on_a_list(uint64_t pfn, void *arg)
{
	struct reclaim *rc = arg;

	return phys_page(&rc->vm->phys, pfn)->flags & PG_lru;
}

/* pg's next use becomes next (its key ~next). */
static SIGSAFE void opt_set(struct reclaim *rc, const struct page *pg,
			    uint64_t next)
{
	struct pheap *h = heap_of(rc);

	if (pheap_set(h, pfn_of(rc, pg), 0, ~next))
		return;
	pheap_filter(h, on_a_list, rc); /* drop stale entries */
	BUG_ON(!pheap_set(h, pfn_of(rc, pg), 0, ~next));
}

static SIGSAFE void opt_add(struct reclaim *rc, struct page *pg, bool active)
{
	(void)active;
	pg->lru_info = 0;
	lru_add(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	opt_set(rc, pg, reclaim_next_use(rc));
}

static SIGSAFE void opt_del(struct reclaim *rc, struct page *pg)
{
	pheap_del(heap_of(rc), pfn_of(rc, pg));
	lru_del(&rc->lru, pg);
}

static SIGSAFE void opt_access(struct reclaim *rc, struct page *pg)
{
	opt_set(rc, pg, reclaim_next_use(rc));
}

static SIGSAFE struct page *opt_victim(struct reclaim *rc,
				       struct scan_control *sc)
{
	struct pheap *h = heap_of(rc);
	const struct pheap_ent *top;

	while ((top = pheap_top(h))) {
		uint64_t pfn = top->pfn, key = top->lo;
		struct page *pg = phys_page(&rc->vm->phys, pfn);

		pheap_del(h, pfn);
		if (!(pg->flags & PG_lru))
			continue; /* stale */
		policy_count_scanned(rc, sc, 1);
		lru_isolate(&rc->lru, pg);
		pg->lru_info = ~key; /* its next use, if it comes back */
		return pg;
	}
	return NULL;
}

static SIGSAFE void opt_putback(struct reclaim *rc, struct page *pg,
				enum putback_how how)
{
	(void)how;
	lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
	if (!pheap_find(heap_of(rc), pfn_of(rc, pg)))
		opt_set(rc, pg, pg->lru_info);
	pg->lru_info = 0;
}

static int opt_check(struct reclaim *rc)
{
	struct pheap *h = heap_of(rc);
	const struct lruvec *lv = &rc->lru;
	int err = pheap_check(h);
	uint64_t on_lists = 0;

	if (err)
		return err;
	for (int l = 0; l < NR_LRU_LISTS; l++)
		if (l != LRU_INACTIVE_ANON && lv->nr[l])
			return OPT_CHECK_WRONG_LIST;
	for (uint64_t i = 0; i < h->n; i++)
		on_lists += on_a_list(h->e[i].pfn, rc);
	return on_lists == lv->nr[LRU_INACTIVE_ANON] ? 0 : OPT_CHECK_UNINDEXED;
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
