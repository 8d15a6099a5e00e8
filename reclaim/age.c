/*
 * reclaim/age.c - accessed bits for reclaim, harvested in ranges.
 *
 * Native mode has no hardware accessed bit: a page's A bit is emulated by
 * revoking its host mapping, so that the next touch traps and sets A
 * again (DESIGN §3).  Revoking one page at a time while other threads run
 * costs a TLB-shootdown IPI each (~44 us here); a contiguous range of
 * >= 34 pages costs a fraction of that per page.  So reclaim never tests
 * a page's bit on its own: for a batch of pages it is about to judge, it
 * gathers their (address space, va) from the rmap, sorts them, and walks
 * each address space's page table over ranges that cover nearby pages
 * (a gap joins when revoking it costs less than a second revoke call),
 * like multi-gen LRU's page-table walk: one host revoke per range, then every present PTE in it has A tested and
 * cleared.  A judged page gets the count of its PTEs that had A; any other
 * page in the range keeps what was seen as PG_young (the bit moved from
 * the PTE to the page), so nothing is lost and it counts when that page's
 * turn comes.  In trace mode the bits are exact and there is nothing to
 * revoke; the same walk runs.
 *
 * The cost is bounded by the batch: at most SWAP_CLUSTER_MAX pages (and
 * their mappings) are judged per call, so a call walks at most that many
 * ranges.  age_revoke and age_pages count it; tests/bench/bench_reclaim
 * measures it.
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

/* Move one PTE's A bit to its page (PG_young) and clear it. */
static SIGSAFE void harvest_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct harvest_ctx *h = arg;
	pte_t pte = *ptep;

	if (!pte_present(pte) || (pte & PTE_SPECIAL) || !(pte & PTE_ACCESSED))
		return;
	phys_page(&h->vm->phys, pte_pfn(pte))->flags |= PG_young;
	mm_set_pte(h->mm, ptep, va, pte & ~PTE_ACCESSED);
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

SIGSAFE void reclaim_referenced(struct reclaim *rc, struct page **pg,
				unsigned n, unsigned *refs)
{
	struct vm *vm = rc->vm;
	struct age_batch b = { 0 };
	uint64_t t0 = now_ns();

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
