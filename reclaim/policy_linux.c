/*
 * reclaim/policy_linux.c - "linux": the classic two-list LRU of Linux 6.x
 * (mm/vmscan.c without multi-gen LRU), for anonymous pages.
 *
 *   new page ---> inactive_anon head          active_anon head <-- refault
 *                      |                            |          within the
 *                  (scan tail)                 (scan tail)     workingset
 *        referenced once: PG_referenced,     when inactive is low:
 *          back to the head (KEEP)            every page deactivated
 *        referenced again, or by several        (PG_workingset), to the
 *          PTEs: ACTIVATE --------------->      inactive head
 *        not referenced: evict
 *
 * Per priority pass, a list is scanned for at most its size >> priority
 * pages, one batch per call (get_scan_count without file pages: anon only, and nothing when
 * no page can go to swap), in batches of SWAP_CLUSTER_MAX.  The active
 * list is shrunk first when inactive_is_low: with gb = (inactive + active)
 * in GiB, ratio = gb ? int_sqrt(10 * gb) : 1, low when
 * inactive * ratio < active.  The reference test is folio_check_references
 * for an anonymous page: its PTEs' accessed bits (harvested in ranges by
 * reclaim_referenced) and PG_referenced, the two-touch rule.
 *
 * Counters: pgscan_{kswapd,direct}, pgscan_anon (inactive pages scanned),
 * pgrefill (active pages scanned), pgdeactivate, pgactivate, pgrotated.
 *
 * Locking: the machine lock.  SIGSAFE (on-stack arrays only).
 */
#include "reclaim/reclaim_internal.h"
#include "vm/vmstat.h"

#define GB_SHIFT (30 - PAGE_SHIFT)

static uint64_t int_sqrt64(uint64_t x)
{
	uint64_t r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

static bool inactive_is_low(const struct lruvec *lv)
{
	uint64_t inactive = lv->nr[LRU_INACTIVE_ANON];
	uint64_t active = lv->nr[LRU_ACTIVE_ANON];
	uint64_t gb = (inactive + active) >> GB_SHIFT;
	uint64_t ratio = gb ? int_sqrt64(10 * gb) : 1;

	return inactive * ratio < active;
}

static SIGSAFE void linux_add(struct reclaim *rc, struct page *pg, bool active)
{
	lru_add(&rc->lru, pg, active ? LRU_ACTIVE_ANON : LRU_INACTIVE_ANON,
		false);
}

static SIGSAFE void linux_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE void linux_putback(struct reclaim *rc, struct page *pg,
				  enum putback_how how)
{
	struct vm *vm = rc->vm;

	switch (how) {
	case PUTBACK_ACTIVATE:
		lru_putback(&rc->lru, pg, LRU_ACTIVE_ANON, false);
		vm_event(vm, VME_PGACTIVATE, NULL, pg->index,
			 phys_pfn(&vm->phys, pg), 0, 0);
		workingset_activation(rc, pg);
		break;
	case PUTBACK_ROTATE:
		lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, true);
		vm_count(vm, VME_PGROTATED, 1);
		break;
	case PUTBACK_KEEP:
		lru_putback(&rc->lru, pg, LRU_INACTIVE_ANON, false);
		break;
	}
}

/* Take up to n pages off the tail of list l into out[]. */
static unsigned isolate_tail(struct reclaim *rc, enum lru_list l,
			     struct page **out, unsigned n)
{
	unsigned k = 0;
	struct page *pg;

	while (k < n && (pg = lru_tail(&rc->lru, l))) {
		lru_isolate(&rc->lru, pg);
		out[k++] = pg;
	}
	return k;
}

/*
 * shrink_active_list for anonymous pages: the accessed bits are harvested
 * (and so cleared), and every page is deactivated regardless.
 */
static void shrink_active(struct reclaim *rc, unsigned nr)
{
	struct page *pg[SWAP_CLUSTER_MAX];
	unsigned refs[SWAP_CLUSTER_MAX];
	unsigned n = isolate_tail(rc, LRU_ACTIVE_ANON, pg,
				  MIN(nr, (unsigned)SWAP_CLUSTER_MAX));
	struct vm *vm = rc->vm;

	reclaim_referenced(rc, pg, n, refs);
	vm_count(vm, VME_PGREFILL, n);
	for (unsigned i = 0; i < n; i++) {
		pg[i]->flags |= PG_workingset;
		lru_putback(&rc->lru, pg[i], LRU_INACTIVE_ANON, false);
		vm_event(vm, VME_PGDEACTIVATE, NULL, pg[i]->index,
			 phys_pfn(&vm->phys, pg[i]), 0, 0);
	}
}

/* folio_check_references for an anonymous page. */
static enum putback_how check_references(struct page *pg, unsigned refs,
					 bool *reclaim)
{
	bool referenced_page = pg->flags & PG_referenced;

	pg->flags &= ~(uint32_t)PG_referenced;
	*reclaim = false;
	if (refs) {
		pg->flags |= PG_referenced;
		if (referenced_page || refs > 1)
			return PUTBACK_ACTIVATE;
		return PUTBACK_KEEP;
	}
	*reclaim = true;
	return PUTBACK_KEEP;
}

/* This pass's scan budget per list: size >> priority. */
static void start_pass(struct reclaim *rc, struct scan_control *sc)
{
	for (int l = 0; l < NR_LRU_LISTS; l++)
		sc->budget[l] = rc->lru.nr[l] >> sc->priority;
	if (!sc->may_swap)
		sc->budget[LRU_INACTIVE_ANON] = sc->budget[LRU_ACTIVE_ANON] = 0;
	sc->pass_started = true;
}

/* One batch off the inactive tail: the victims into out[]. */
static unsigned scan_inactive(struct reclaim *rc, struct scan_control *sc,
			      struct page **out, unsigned max)
{
	struct page *pg[SWAP_CLUSTER_MAX];
	unsigned refs[SWAP_CLUSTER_MAX], n, k = 0;
	uint64_t want = MIN(sc->budget[LRU_INACTIVE_ANON], (uint64_t)max);

	n = isolate_tail(rc, LRU_INACTIVE_ANON, pg,
			 (unsigned)MIN(want, (uint64_t)SWAP_CLUSTER_MAX));
	sc->budget[LRU_INACTIVE_ANON] =
		n < want ? 0 : sc->budget[LRU_INACTIVE_ANON] - n;
	sc->nr_scanned += n;
	vm_count(rc->vm, sc->kswapd ? VME_PGSCAN_KSWAPD : VME_PGSCAN_DIRECT, n);
	vm_count(rc->vm, VME_PGSCAN_ANON, n);
	reclaim_referenced(rc, pg, n, refs);
	for (unsigned i = 0; i < n; i++) {
		bool reclaim;
		enum putback_how how =
			check_references(pg[i], refs[i], &reclaim);

		if (reclaim)
			out[k++] = pg[i];
		else
			scan_defer(sc, pg[i], how);
	}
	return k;
}

static SIGSAFE int linux_select(struct reclaim *rc, struct scan_control *sc,
				struct page **out, unsigned max)
{
	bool deactivate;

	if (!sc->pass_started)
		start_pass(rc, sc);
	deactivate = sc->budget[LRU_ACTIVE_ANON] && inactive_is_low(&rc->lru);
	if (deactivate) {
		unsigned nr = (unsigned)MIN(sc->budget[LRU_ACTIVE_ANON],
					    (uint64_t)SWAP_CLUSTER_MAX);

		shrink_active(rc, nr);
		sc->budget[LRU_ACTIVE_ANON] -= nr;
	}
	if (sc->budget[LRU_INACTIVE_ANON])
		return (int)scan_inactive(rc, sc, out, max);
	return deactivate ? 0 : -1;
}

const struct reclaim_policy policy_linux = {
	.name = "linux",
	.doc = "Linux's two-list LRU (active/inactive, two-touch activation)",
	.page_add = linux_add,
	.page_del = linux_del,
	.page_access = NULL,
	.select = linux_select,
	.putback = linux_putback,
};
