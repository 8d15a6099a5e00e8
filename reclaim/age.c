/*
 * reclaim/age.c - accessed bits for reclaim: test them per page, clear
 * them in walks that stay within a time budget.
 *
 * Native mode has no hardware accessed bit: a page's A bit is emulated by
 * revoking its host mapping, so that the next touch traps and sets A
 * again (DESIGN §3).  A revoke costs a syscall and, while another thread
 * of the process runs, a TLB-shootdown IPI; the touch after it costs a
 * refill trap (~5-7 us here).  Test-and-clear per judged page - what
 * Linux does with hardware bits - paid both for every page reclaim looked
 * at: pages judged are scattered, so each was its own revoke
 * (docs/reclaim.md has the figures).  So native mode separates the two,
 * as multi-gen LRU's page-table walk does:
 *
 *   judging a page (reclaim_referenced): an A bit reclaim has not counted
 *     yet is a reference, and is marked counted (PTE_AGED, a software
 *     bit: no revoke); PG_young counts once (consumed).  An A bit counted
 *     already is *stale*: whether the page was touched again since, only
 *     a revoke could tell.  A stale page is judged unreferenced - what
 *     Linux's bit says of a page not touched since it was last cleared -
 *     and asks for a walk (age.want).
 *   a walk (reclaim_age_tick, before each shrink_node): every address
 *     space's window revoked in one call; every present PTE's uncounted A
 *     bit moved to its page as PG_young; A and PTE_AGED cleared.  Only
 *     when asked and paid for: a budget fills at aging_budget_pct (a
 *     vm_config knob, default 5) percent of the time passing - at most
 *     AGE_BURST_NS saved, or one walk's cost - and pays each walk's time
 *     and the refill traps after it (AGE_TRAP_NS each); a walk starts
 *     when the budget covers what the last one cost.
 *
 * So aging costs at most aging_budget_pct of the time, give or take one
 * walk whose cost was misjudged (the first is judged at one trap per LRU
 * page, the most it can cost).
 * What it gives up: between walks, a page is referenced at most once per
 * touch reclaim could see - a page touched on and on, whose bit was
 * counted once, looks as idle as one touched once.  When every page is
 * touched within a walk's period (thrashing), reclaim then evicts in list
 * order among them, where Linux would have seen them all referenced and
 * done the same after a full round of activations.  Trace mode keeps
 * exact per-judgement test-and-clear: its bits cost nothing, and the LRU
 * model tests hold it to Linux's rules.  Trace mode's clearing walks
 * ranges around the judged pages (harvest_all), so neighbours keep their
 * bit as PG_young.
 *
 * This is for a policy with walk_aging (linux: it judges each page once
 * per pass); the others (clock circles until a look finds a page
 * unreferenced) keep test-and-clear per look in both modes.
 *
 * Counts: age_ns (judging in trace mode, walks in native mode), age_revoke
 * (host revokes: one per window per walk), age_pages (A bits cleared).
 *
 * Locking: the machine lock.  SIGSAFE (on-stack arrays only).
 */
#include <time.h>

#include "reclaim/reclaim_internal.h"
#include "vm/hosttlb.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/vmstat.h"

#define AGE_MAX_MAPPINGS 256 /* (mm, va) pairs gathered per call */
#define NSEC_PER_SEC	 1000000000ULL

struct age_ref {
	struct mm *mm;
	vaddr_t va;
};

struct age_batch {
	unsigned n;
	struct age_ref r[AGE_MAX_MAPPINGS];
};

static SIGSAFE void gather_visit(void *arg, struct mm *mm, vaddr_t va)
{
	struct age_batch *b = arg;

	if (b->n < AGE_MAX_MAPPINGS)
		b->r[b->n++] = (struct age_ref){ mm, va };
}

static bool ref_before(const struct age_ref *a, const struct age_ref *b)
{
	if (a->mm != b->mm)
		return (uintptr_t)a->mm < (uintptr_t)b->mm;
	return a->va < b->va;
}

/* Insertion sort: n <= AGE_MAX_MAPPINGS, and no qsort in a handler. */
static void sort_refs(struct age_batch *b)
{
	for (unsigned i = 1; i < b->n; i++) {
		struct age_ref x = b->r[i];
		unsigned j = i;

		while (j > 0 && ref_before(&x, &b->r[j - 1])) {
			b->r[j] = b->r[j - 1];
			j--;
		}
		b->r[j] = x;
	}
}

struct harvest_ctx {
	struct vm *vm;
	struct mm *mm;
};

/*
 * Clear one PTE's A bit, moving it to its page (PG_young) unless reclaim
 * has counted it already (PTE_AGED: that reference is spent).
 */
static SIGSAFE void harvest_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct harvest_ctx *h = arg;
	pte_t pte = *ptep;

	if (!pte_present(pte) || (pte & PTE_SPECIAL) || !(pte & PTE_ACCESSED))
		return;
	if (!(pte & PTE_AGED))
		phys_page(&h->vm->phys, pte_pfn(pte))->flags |= PG_young;
	mm_set_pte(h->mm, ptep, va, pte & ~(PTE_ACCESSED | PTE_AGED));
	vm_count(h->vm, VME_AGE_PAGES, 1);
}

/* Harvest [start, end) of mm: one host revoke, then the walk. */
static void harvest_range(struct vm *vm, struct mm *mm, vaddr_t start,
			  vaddr_t end)
{
	struct harvest_ctx h = { vm, mm };

	if (mm->win && hosttlb_shootdown(mm, start, end))
		vm_count(vm, VME_AGE_REVOKE, 1);
	pt_for_each(&mm->pt, start, end, harvest_visit, &h);
}

/*
 * Should [end, next) join the range being built?  A revoke while another
 * thread runs costs a TLB-shootdown IPI, about AGE_GAP_HOT refill traps:
 * the gap joins when it is short and holds at most that many pages with a
 * host mapping (the only ones the wider revoke would make trap).
 */
static bool gap_cheap(struct mm *mm, vaddr_t end, vaddr_t next)
{
	unsigned mapped = 0;

	if (next > end + AGE_GAP_PAGES * PAGE_SIZE)
		return false;
	for (vaddr_t va = end; va < next; va += PAGE_SIZE) {
		pte_t *ptep = pt_walk(&mm->pt, va);

		if (ptep && (*ptep & PTE_HMAP) && ++mapped > AGE_GAP_HOT)
			return false;
	}
	return true;
}

/* Walk the sorted references in ranges of nearby pages. */
static void harvest_all(struct vm *vm, struct age_batch *b)
{
	unsigned i = 0;

	while (i < b->n) {
		struct mm *mm = b->r[i].mm;
		vaddr_t start = b->r[i].va, end = start + PAGE_SIZE;

		for (i++; i < b->n && b->r[i].mm == mm &&
			  gap_cheap(mm, end, b->r[i].va);
		     i++)
			end = MAX(end, b->r[i].va + PAGE_SIZE);
		harvest_range(vm, mm, start, end);
	}
}

struct count_ctx {
	unsigned refs;
};

static SIGSAFE void count_visit(void *arg, struct mm *mm, vaddr_t va)
{
	pte_t *ptep = pt_walk(&mm->pt, va);

	if (ptep && pte_present(*ptep) && (*ptep & PTE_ACCESSED))
		((struct count_ctx *)arg)->refs++;
}

/* SIGSAFE: CLOCK_MONOTONIC in ns. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

struct judge_ctx {
	unsigned fresh; /* A bits not counted before (now PTE_AGED) */
	unsigned stale; /* A bits counted before */
};

/*
 * Native: count one PTE's A bit if uncounted, and mark it counted.  The
 * mark is a software bit: pt_set, no TLB flush (the software TLB holds
 * translations and permissions, which do not change).
 */
static SIGSAFE void judge_visit(void *arg, struct mm *mm, vaddr_t va)
{
	struct judge_ctx *j = arg;
	pte_t *ptep = pt_walk(&mm->pt, va);

	if (!ptep || !pte_present(*ptep) || !(*ptep & PTE_ACCESSED))
		return;
	if (*ptep & PTE_AGED) {
		j->stale++;
		return;
	}
	j->fresh++;
	pt_set(&mm->pt, ptep, *ptep | PTE_AGED);
}

/* Native: uncounted bits are references; a stale page asks for a walk. */
static SIGSAFE void referenced_native(struct reclaim *rc, struct page **pg,
				      unsigned n, unsigned *refs)
{
	for (unsigned i = 0; i < n; i++) {
		struct judge_ctx j = { 0 };

		rmap_walk(pg[i], judge_visit, &j);
		refs[i] = j.fresh;
		if ((pg[i]->flags & PG_young) && !refs[i])
			refs[i] = 1;
		pg[i]->flags &= ~(uint32_t)PG_young;
		if (!refs[i] && j.stale)
			rc->age.want = true;
	}
}

SIGSAFE void reclaim_referenced(struct reclaim *rc, struct page **pg,
				unsigned n, unsigned *refs)
{
	struct vm *vm = rc->vm;
	struct age_batch b = { 0 };
	uint64_t t0;

	if (vm->cfg.mode == VM_MODE_NATIVE && rc->policy->walk_aging) {
		referenced_native(rc, pg, n, refs);
		return;
	}
	t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct count_ctx c = { 0 };

		rmap_walk(pg[i], count_visit, &c);
		refs[i] = c.refs;
		rmap_walk(pg[i], gather_visit, &b);
	}
	sort_refs(&b);
	harvest_all(vm, &b);
	for (unsigned i = 0; i < n; i++) {
		/* PG_young from an earlier harvest, or this one. */
		if ((pg[i]->flags & PG_young) && !refs[i])
			refs[i] = 1;
		pg[i]->flags &= ~(uint32_t)PG_young;
	}
	vm_count(vm, VME_AGE_NS, now_ns() - t0);
}

/* ---- native mode: aging walks ------------------------------------------ */

SIGSAFE void age_budget_update(struct age_state *a, uint64_t now_ns,
			       uint64_t refills, uint64_t lru_pages,
			       unsigned pct)
{
	uint64_t traps, cap;

	if (!a->clock_ns) {
		a->clock_ns = now_ns;
		a->refill0 = refills;
		a->traps_was = lru_pages;
	}
	traps = refills - a->refill0;
	a->balance_ns += (int64_t)((now_ns - a->clock_ns) * pct / 100) -
			 (int64_t)(traps * AGE_TRAP_NS);
	a->traps += traps;
	a->clock_ns = now_ns;
	a->refill0 = refills;
	cap = MAX((uint64_t)AGE_BURST_NS, age_walk_cost(a));
	if (a->balance_ns > (int64_t)cap)
		a->balance_ns = (int64_t)cap;
}

SIGSAFE uint64_t age_walk_cost(const struct age_state *a)
{
	return a->walk_ns + MAX(a->traps, a->traps_was) * AGE_TRAP_NS;
}

SIGSAFE bool age_walk_due(const struct age_state *a)
{
	return a->want && a->balance_ns >= (int64_t)age_walk_cost(a);
}

SIGSAFE void age_walked(struct age_state *a, uint64_t walk_ns)
{
	a->balance_ns -= (int64_t)walk_ns;
	a->walk_ns = walk_ns;
	if (a->walks++) /* traps since the first walk are walks' traps */
		a->traps_was = a->traps;
	a->traps = 0;
	a->want = false;
}

static uint64_t lru_pages(const struct lruvec *lv)
{
	uint64_t n = 0;

	for (int l = 0; l < NR_LRU_LISTS; l++)
		n += lv->nr[l];
	return n;
}

/* One walk: every window revoked in one call, its A bits to PG_young. */
static SIGSAFE void age_walk(struct reclaim *rc)
{
	struct vm *vm = rc->vm;
	struct list_head *n;
	uint64_t t0 = now_ns();

	list_for_each(n, &vm->tasks) {
		struct mm *mm = list_entry(n, struct vm_task, node)->mm;

		if (mm && !mm->reaped)
			harvest_range(vm, mm, 0, mm->task_size);
	}
	age_walked(&rc->age, now_ns() - t0);
	vm_count(vm, VME_AGE_NS, rc->age.walk_ns);
}

SIGSAFE void reclaim_age_tick(struct reclaim *rc)
{
	struct vm *vm = rc->vm;

	if (vm->cfg.mode != VM_MODE_NATIVE || !rc->policy->walk_aging ||
	    !vm->cfg.aging_budget_pct)
		return;
	age_budget_update(&rc->age, now_ns(), vm->ev[VME_TLB_REFILL],
			  lru_pages(&rc->lru),
			  (unsigned)vm->cfg.aging_budget_pct);
	if (age_walk_due(&rc->age))
		age_walk(rc);
}
