/*
 * reclaim/exact.c - eviction in exact replacement (vm_config.exact_frames):
 * a miss with every data frame in use evicts exactly one page, the one the
 * policy names, before the new page comes in - so that the count of
 * misses is the policy's alone, request for request comparable with a
 * cache simulator.
 *
 *   policy->victim (or select with max 1, priority DEF_PRIORITY down to 0,
 *   what it keeps put back at once)
 *        |
 *        v
 *   every PTE mapping the page (rmap) becomes the "evicted" entry
 *   (vm/mm.h: exact_evicted_pte), its software TLB entry shot down
 *        |
 *        v
 *   the frame goes to the new page at once (not through the buddy: it
 *   would only hand it back): frames carry no data in exact mode, so
 *   nothing is written and nothing kept; the next access to the evicted
 *   page is a major fault that takes a frame the same way.
 *
 * Rewiring.  When the victim is an anonymous page mapped once, by the
 * faulting mm itself (one task replaying a trace: every miss), releasing
 * it and making the new page would undo each other's work: the rmap's
 * direct entry, _mapcount, the mapping's reference, nr_anon_pages and the
 * mm's rss all come back to where they were.  So the page only changes
 * its index to the new va and goes to the policy as a new page; the
 * victim's PTE becomes the evicted entry all the same.  What a reader of
 * the machine sees afterwards is identical to the release-and-init path
 * (test_exact: test_rewire_same_state).
 *
 * Counts: one evict event and one pswpout per page (swap accounted, not
 * written: pgpgout does not move).  Nothing here drops the machine lock.
 *
 * Locking: the machine lock.  SIGSAFE (on-stack arrays only).
 */
#include <errno.h>

#include "reclaim/reclaim_internal.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/vmstat.h"

#define EXACT_MAX_MAPPINGS 64 /* (mm, va) pairs gathered per round */
#define SELECT_ROUNDS	   3  /* full priority loops before the fallback */

/*
 * The victim of a policy that has only select: one page at a time, from
 * DEF_PRIORITY down.  A pass that kept every page it looked at (all
 * referenced) has cleared their accessed bits, so passes repeat - as
 * reclaim rounds would - until one yields; a policy that still keeps
 * everything gives up its oldest inactive (else active) page.
 */
static SIGSAFE struct page *select_one(struct reclaim *rc,
				       struct scan_control *sc)
{
	struct page *pg = NULL;

	for (int round = 0; round < SELECT_ROUNDS && !pg; round++)
		for (int prio = DEF_PRIORITY; prio >= 0 && !pg; prio--) {
			sc->priority = (unsigned)prio;
			sc->pass_started = false;
			while (!pg) {
				int n = rc->policy->select(rc, sc, &pg, 1);

				for (unsigned i = 0; i < sc->nr_deferred; i++)
					reclaim_putback(
						rc, sc->deferred[i],
						(enum putback_how)
							sc->deferred_how[i]);
				sc->nr_deferred = 0;
				if (n < 0)
					break;
			}
		}
	if (!pg)
		pg = lru_tail(&rc->lru, LRU_INACTIVE_ANON);
	if (!pg)
		pg = lru_tail(&rc->lru, LRU_ACTIVE_ANON);
	if (pg && (pg->flags & PG_lru))
		lru_isolate(&rc->lru, pg);
	return pg;
}

struct exact_maps {
	unsigned n;
	struct mm *mm[EXACT_MAX_MAPPINGS];
	vaddr_t va[EXACT_MAX_MAPPINGS];
};

static SIGSAFE void gather(void *arg, struct mm *mm, vaddr_t va)
{
	struct exact_maps *m = arg;

	if (m->n < EXACT_MAX_MAPPINGS) {
		m->mm[m->n] = mm;
		m->va[m->n++] = va;
	}
}

/* The victim's slot at (mm, va): the look ahead's, if still good. */
static ALWAYS_INLINE SIGSAFE pte_t *
victim_slot(struct reclaim *rc, struct page *pg, struct mm *mm, vaddr_t va)
{
	if (rc->next_victim.pg == pg && rc->next_victim.mm == mm &&
	    rc->next_victim.va == va &&
	    rc->next_victim.frees == rc->vm->pt_frees)
		return rc->next_victim.ptep;
	return pt_walk(&mm->pt, va);
}

/*
 * Turn mm's PTE for pg at va, *ptep, into the evicted entry; the mapping
 * it held is the caller's to release.  Returns the old PTE.
 */
static ALWAYS_INLINE SIGSAFE pte_t unmap_pte(struct vm *vm, struct page *pg,
					     struct mm *mm, vaddr_t va,
					     pte_t *ptep)
{
	pte_t old = *ptep;

	BUG_ON(!pte_present(old) || pte_pfn(old) != phys_pfn(&vm->phys, pg));
	mm_set_pte(mm, ptep, va, exact_evicted_pte());
	mm->swapents++;
	return old;
}

/* Turn mm's PTE for pg at va, *ptep, into the evicted entry; release it. */
static SIGSAFE void unmap_one(struct vm *vm, struct page *pg, struct mm *mm,
			      vaddr_t va, pte_t *ptep)
{
	mm_release_pte(mm, va, unmap_pte(vm, pg, mm, va, ptep));
}

/*
 * Turn every PTE that maps pg into the evicted entry.  A page mapped once
 * (the common case) is mm's at va, its slot often found already by the
 * last eviction's look ahead; others are gathered in rounds of 64.
 */
static SIGSAFE void unmap_all(struct reclaim *rc, struct page *pg,
			      struct mm *mm, vaddr_t va)
{
	struct vm *vm = rc->vm;
	struct exact_maps m;

	if (pg->_mapcount == 1) {
		unmap_one(vm, pg, mm, va, victim_slot(rc, pg, mm, va));
		return;
	}
	do {
		m.n = 0;
		rmap_walk(pg, gather, &m);
		for (unsigned i = 0; i < m.n; i++)
			unmap_one(vm, pg, m.mm[i], m.va[i],
				  pt_walk(&m.mm[i]->pt, m.va[i]));
	} while (m.n == EXACT_MAX_MAPPINGS);
}

/*
 * Start loading what the next evictions will touch, a miss ahead: the
 * next victim's PTE (its struct page was asked for one eviction ago) and
 * the struct page of the one after.  Without it the victim's PTE is the
 * miss path's one long stall: the oldest page's entry is long out of
 * the cache (bench_exact).
 */
static ALWAYS_INLINE SIGSAFE void prefetch_victims(struct reclaim *rc)
{
	struct page *next[2];
	struct mm *mm;
	unsigned n;
	vaddr_t va;
	pte_t *p;

	rc->next_victim.pg = NULL;
	if (!rc->policy->peek)
		return;
	n = rc->policy->peek(rc, next, 2);
	if (n > 1)
		__builtin_prefetch(next[1]);
	if (n > 0 && rmap_first(next[0], &mm, &va) &&
	    (p = pt_walk(&mm->pt, va)) != NULL) {
		__builtin_prefetch(p, 1);
		rc->next_victim.pg = next[0];
		rc->next_victim.mm = mm;
		rc->next_victim.va = va;
		rc->next_victim.ptep = p;
		rc->next_victim.frees = rc->vm->pt_frees;
	}
}

/*
 * pg, the isolated victim, is mapped once: by mm at va, if rewiring
 * applies (the file comment); then it becomes mm's anonymous page at
 * new_va.  False, nothing changed, when it does not apply.
 */
static ALWAYS_INLINE SIGSAFE bool rewire(struct reclaim *rc, struct page *pg,
					 struct mm *mm, vaddr_t va,
					 struct mm *new_mm, vaddr_t new_va)
{
	struct vm *vm = rc->vm;

	if (rc->no_rewire || mm != new_mm || pg->_mapcount != 1 ||
	    !rmap_is_direct(pg->rmap) ||
	    (pg->flags & (PG_file | PG_swapcache | PG_locked | PG_writeback)) ||
	    !(pg->flags & PG_anon))
		return false;
	unmap_pte(vm, pg, mm, va, victim_slot(rc, pg, mm, va));
	lru_unisolate(&rc->lru, pg);
	BUG_ON(pg->_refcount != 2);
	pg->_refcount = 1; /* the isolation's goes; the mapping's stays */
	pg->flags = PG_anon;
	pg->lru_info = 0;
	pg->index = new_va; /* the direct rmap entry now names new_va */
	rc->policy->page_add(rc, pg, false); /* reclaim_page_new */
	rc->exact_rewired++;
	return true;
}

SIGSAFE int reclaim_exact_evict(struct vm *vm, struct mm *new_mm,
				vaddr_t new_va, pfn_t *reuse)
{
	struct reclaim *rc = vm->reclaim;
	struct scan_control sc;
	struct page *pg;
	struct mm *mm = NULL;
	vaddr_t va = 0;
	pfn_t pfn;

	scan_control_init(&sc, 1, true);
	pg = rc->policy->victim ? rc->policy->victim(rc, &sc) :
				  select_one(rc, &sc);
	if (!pg)
		return -ENOMEM;
	pfn = phys_pfn(&vm->phys, pg);
	*reuse = pfn;
	rmap_first(pg, &mm, &va);
	vm_event(vm, VME_EVICT, mm, pg->index, pfn, 0, 0);
	vm_event(vm, VME_PSWPOUT, mm, pg->index, pfn, 0, 0);
	if (rewire(rc, pg, mm, va, new_mm, new_va)) {
		prefetch_victims(rc);
		return 1;
	}
	unmap_all(rc, pg, mm, va);
	lru_unisolate(&rc->lru, pg);
	BUG_ON(pg->_refcount != 1 || pg->_mapcount || pg->rmap);
	/* The isolation's reference was the last: the frame is the caller's
	   (page_put would free it only for the allocation to take it back). */
	pg->_refcount = 0;
	pg->flags = 0;
	pg->lru_info = 0;
	prefetch_victims(rc);
	return 0;
}
