/*
 * reclaim/policy_linux.c - "linux": the classic split LRU of Linux 6.x
 * (mm/vmscan.c without multi-gen LRU): anonymous and file lists, each an
 * active/inactive pair, balanced by swappiness and reclaim cost.
 *
 *   anon, shmem page --> inactive_anon head    active_anon head <-- refault
 *   file page -------> inactive_file head     active_file head      within
 *                           |                       |          the
 *                       (scan tail)            (scan tail)     workingset
 *        referenced once: PG_referenced,     when may_deactivate:
 *          back to the head (KEEP)            every page deactivated
 *        referenced again, or by several        (PG_workingset), to the
 *          PTEs: ACTIVATE --------------->      inactive head
 *        not referenced: evict (a dirty file page referenced before but
 *          not since is kept instead: RECLAIM_CLEAN)
 *
 * Per priority pass (start_pass, Linux's prepare_scan_control and
 * get_scan_count) each list gets a budget of size >> priority pages,
 * scaled by the scan balance:
 *
 *   SCAN_FILE   no swap (or swap full): file lists only; also in cache
 *               trim mode - enough inactive file pages (>> priority) and
 *               no file thrashing (no file workingset activations since
 *               the last reclaim run, inactive_file not low)
 *   SCAN_ANON   file_is_tiny: file + free <= the high watermark, anon not
 *               thrashing, inactive_anon >> priority
 *   SCAN_EQUAL  priority 0 with swappiness > 0
 *   SCAN_FRACT  otherwise: anon : file =
 *                 swappiness * (T + 1) / (A' + 1) :
 *                 (200 - swappiness) * (T + 1) / (F' + 1)
 *               with A' = A + C, F' = F + C, T = A' + F', C = A + F, A and
 *               F the lists' reclaim costs (lru_note_cost, vmscan.c:
 *               32 per page written plus the pages scanned but kept, and
 *               32 per workingset restore; halved when their sum passes a
 *               quarter of the LRU), each list's budget multiplied by its
 *               share (floor division, as Linux for the root cgroup)
 *
 * An active list is only shrunk when may_deactivate allows it for its
 * kind: its inactive list is low (inactive * ratio < active, ratio =
 * int_sqrt(10 * GiB), 1 below 1 GiB) or there were workingset
 * activations of that kind since the last reclaim run.  The lists are
 * taken in Linux's order (inactive_anon, active_anon, inactive_file,
 * active_file), one batch of at most SWAP_CLUSTER_MAX each per round,
 * rounds going on while an inactive list or active_file has budget left
 * and the target is not met (shrink_lruvec; a round is finished even past
 * the target: lru_cursor tells shrink_node so).  Linux's proportional
 * scan adjustment once the target is met is left out: the pass stops.
 *
 * The reference test is folio_check_references: the page's PTEs'
 * accessed bits (harvested in ranges by reclaim_referenced) and
 * PG_referenced, the two-touch rule for mapped pages of both kinds.
 *
 * Counters: pgscan_{kswapd,direct}, pgscan_anon / pgscan_file (inactive
 * pages scanned), pgrefill (active pages scanned), pgdeactivate,
 * pgactivate, pgrotated.
 *
 * Locking: the machine lock.  SIGSAFE (on-stack arrays only).
 */
#include "reclaim/reclaim_internal.h"
#include "vm/page_alloc.h"
#include "vm/vmstat.h"

#define GB_SHIFT     (30 - PAGE_SHIFT)
#define DEACT_ANON   1u
#define DEACT_FILE   2u
#define NR_EVICTABLE 4

enum scan_balance { SCAN_EQUAL, SCAN_FRACT, SCAN_ANON, SCAN_FILE };

/* Linux's for_each_evictable_lru order. */
static const enum lru_list evictable[NR_EVICTABLE] = {
	LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE
};

static uint64_t int_sqrt64(uint64_t x)
{
	uint64_t r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/* A page cache page of a file: the file lists.  Anon and shmem: anon. */
static inline bool page_is_file_lru(const struct page *pg)
{
	return (pg->flags & (PG_file | PG_swapbacked)) == PG_file;
}

static bool inactive_is_low(const struct lruvec *lv, bool file)
{
	enum lru_list il = file ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON;
	uint64_t inactive = lv->nr[il], active = lv->nr[il + 1];
	uint64_t gb = (inactive + active) >> GB_SHIFT;
	uint64_t ratio = gb ? int_sqrt64(10 * gb) : 1;

	return inactive * ratio < active;
}

static SIGSAFE void linux_add(struct reclaim *rc, struct page *pg, bool active)
{
	enum lru_list l = page_is_file_lru(pg) ? LRU_INACTIVE_FILE :
						 LRU_INACTIVE_ANON;

	lru_add(&rc->lru, pg, active ? l + 1 : l, false);
}

static SIGSAFE void linux_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE void linux_putback(struct reclaim *rc, struct page *pg,
				  enum putback_how how)
{
	struct vm *vm = rc->vm;
	enum lru_list l = page_is_file_lru(pg) ? LRU_INACTIVE_FILE :
						 LRU_INACTIVE_ANON;

	switch (how) {
	case PUTBACK_ACTIVATE:
		lru_putback(&rc->lru, pg, l + 1, false);
		vm_event(vm, VME_PGACTIVATE, NULL, pg->index,
			 phys_pfn(&vm->phys, pg), 0, 0);
		workingset_activation(rc, pg);
		break;
	case PUTBACK_ROTATE:
		lru_putback(&rc->lru, pg, l, true);
		vm_count(vm, VME_PGROTATED, 1);
		break;
	case PUTBACK_KEEP:
		lru_putback(&rc->lru, pg, l, false);
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
 * shrink_active_list: the accessed bits are harvested (and so cleared),
 * and every page is deactivated regardless (no executable mappings here,
 * which Linux would rotate).
 */
static void shrink_active(struct reclaim *rc, enum lru_list l, unsigned nr)
{
	struct page *pg[SWAP_CLUSTER_MAX];
	unsigned refs[SWAP_CLUSTER_MAX];
	unsigned n =
		isolate_tail(rc, l, pg, MIN(nr, (unsigned)SWAP_CLUSTER_MAX));
	struct vm *vm = rc->vm;

	reclaim_referenced(rc, pg, n, refs);
	vm_count(vm, VME_PGREFILL, n);
	for (unsigned i = 0; i < n; i++) {
		pg[i]->flags |= PG_workingset;
		lru_putback(&rc->lru, pg[i], l - 1, false);
		vm_event(vm, VME_PGDEACTIVATE, NULL, pg[i]->index,
			 phys_pfn(&vm->phys, pg[i]), 0, 0);
	}
}

/* folio_check_references. */
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
	/* RECLAIM_CLEAN: a dirty file page is kept for its write-back. */
	if (referenced_page && page_is_file_lru(pg) && (pg->flags & PG_dirty))
		return PUTBACK_KEEP;
	*reclaim = true;
	return PUTBACK_KEEP;
}

/* Which lists this pass may scan, and how (get_scan_count). */
static enum scan_balance scan_balance(struct reclaim *rc,
				      struct scan_control *sc, unsigned deact)
{
	const struct lruvec *lv = &rc->lru;
	struct vm *vm = rc->vm;
	uint64_t file = lv->nr[LRU_INACTIVE_FILE] + lv->nr[LRU_ACTIVE_FILE];

	if (!sc->may_swap)
		return SCAN_FILE;
	if (!sc->priority && vm->cfg.swappiness)
		return SCAN_EQUAL;
	if (file + vm_nr_free(vm) <= vm->wmark.high && !(deact & DEACT_ANON) &&
	    (lv->nr[LRU_INACTIVE_ANON] >> sc->priority))
		return SCAN_ANON; /* file_is_tiny */
	if ((lv->nr[LRU_INACTIVE_FILE] >> sc->priority) &&
	    !(deact & DEACT_FILE))
		return SCAN_FILE; /* cache_trim_mode */
	return SCAN_FRACT;
}

/* SCAN_FRACT's anon and file shares, from swappiness and the costs. */
static void scan_fraction(const struct reclaim *rc, uint64_t fraction[2])
{
	const struct lruvec *lv = &rc->lru;
	uint64_t swappiness = (uint64_t)rc->vm->cfg.swappiness;
	uint64_t total_cost = lv->anon_cost + lv->file_cost;
	uint64_t anon_cost = total_cost + lv->anon_cost;
	uint64_t file_cost = total_cost + lv->file_cost;

	total_cost = anon_cost + file_cost;
	fraction[0] = swappiness * (total_cost + 1) / (anon_cost + 1);
	fraction[1] = (200 - swappiness) * (total_cost + 1) / (file_cost + 1);
}

/* This pass's scan budget per list (prepare_scan_control + get_scan_count). */
static void start_pass(struct reclaim *rc, struct scan_control *sc)
{
	const struct lruvec *lv = &rc->lru;
	const uint64_t *ev = rc->vm->ev;
	unsigned deact = 0;
	uint64_t fraction[2] = { 1, 1 }, denominator;
	enum scan_balance sb;

	if (ev[VME_WORKINGSET_ACTIVATE_ANON] != lv->refaults[0] ||
	    inactive_is_low(lv, false))
		deact |= DEACT_ANON;
	if (ev[VME_WORKINGSET_ACTIVATE_FILE] != lv->refaults[1] ||
	    inactive_is_low(lv, true))
		deact |= DEACT_FILE;
	sb = scan_balance(rc, sc, deact);
	if (sb == SCAN_FRACT)
		scan_fraction(rc, fraction);
	denominator = fraction[0] + fraction[1];
	for (int i = 0; i < NR_EVICTABLE; i++) {
		enum lru_list l = evictable[i];
		bool file = lru_is_file(l);
		uint64_t scan = lv->nr[l] >> sc->priority;

		if (sb == SCAN_FRACT)
			scan = scan * fraction[file] / denominator;
		else if ((sb == SCAN_FILE && !file) ||
			 (sb == SCAN_ANON && file))
			scan = 0;
		if (lru_is_active(l) &&
		    !(deact & (file ? DEACT_FILE : DEACT_ANON)))
			scan = 0; /* skipped_deactivate */
		sc->budget[l] = scan;
	}
	sc->lru_cursor = 0;
	sc->pass_started = true;
}

/* One batch off the tail of inactive list l: the victims into out[]. */
static unsigned scan_inactive(struct reclaim *rc, struct scan_control *sc,
			      enum lru_list l, struct page **out, unsigned max)
{
	struct page *pg[SWAP_CLUSTER_MAX];
	unsigned refs[SWAP_CLUSTER_MAX], n, k = 0;
	uint64_t want = MIN(sc->budget[l], (uint64_t)max);

	n = isolate_tail(rc, l, pg,
			 (unsigned)MIN(want, (uint64_t)SWAP_CLUSTER_MAX));
	sc->budget[l] = n < want ? 0 : sc->budget[l] - n;
	sc->nr_scanned += n;
	vm_count(rc->vm, sc->kswapd ? VME_PGSCAN_KSWAPD : VME_PGSCAN_DIRECT, n);
	vm_count(rc->vm, lru_is_file(l) ? VME_PGSCAN_FILE : VME_PGSCAN_ANON, n);
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

/* Budget left on a list that keeps the turns going (shrink_lruvec)? */
static bool work_left(const struct scan_control *sc)
{
	return sc->budget[LRU_INACTIVE_ANON] || sc->budget[LRU_INACTIVE_FILE] ||
	       sc->budget[LRU_ACTIVE_FILE];
}

static SIGSAFE int linux_select(struct reclaim *rc, struct scan_control *sc,
				struct page **out, unsigned max)
{
	if (!sc->pass_started)
		start_pass(rc, sc);
	for (;;) {
		enum lru_list l = evictable[sc->lru_cursor];
		unsigned nr;

		/* A new round only while there is work and no target met. */
		if (sc->lru_cursor == 0 &&
		    (!work_left(sc) || sc->nr_reclaimed >= sc->nr_to_reclaim))
			return -1;
		sc->lru_cursor = (sc->lru_cursor + 1) % NR_EVICTABLE;
		nr = (unsigned)MIN(sc->budget[l], (uint64_t)SWAP_CLUSTER_MAX);
		if (!nr)
			continue;
		if (!lru_is_active(l))
			return (int)scan_inactive(rc, sc, l, out, max);
		shrink_active(rc, l, nr);
		sc->budget[l] -= nr;
		return 0;
	}
}

const struct reclaim_policy policy_linux = {
	.name = "linux",
	.doc = "Linux's split LRU (active/inactive x anon/file, two-touch "
	       "activation, swappiness and reclaim cost)",
	.page_add = linux_add,
	.page_del = linux_del,
	.page_access = NULL,
	.select = linux_select,
	.putback = linux_putback,
	.walk_aging = true,
};
