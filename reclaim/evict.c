/*
 * reclaim/evict.c - the eviction machinery: what happens to the victims a
 * policy chose (Linux's shrink_folio_list for anonymous pages).
 *
 *   victims (isolated) --> into the swap cache (a slot each; none free:
 *        |                  back to the active list, as Linux)
 *        v
 *   unmap everywhere: the host mappings of each address space revoked in
 *   one call per run of contiguous pages, then every PTE (found through
 *   the rmap) becomes the page's swap entry, taking a slot reference
 *        |
 *        v
 *   dirty ones written: one pwritev per run of consecutive slots, the
 *   machine lock dropped around it (PG_writeback meanwhile); a failed
 *   write leaves the page resident, in the swap cache and dirty
 *        |
 *        v
 *   freed if nobody took it back meanwhile (a fault may have mapped it
 *   again from the swap cache while the lock was down): its slot keeps a
 *   shadow for workingset detection; otherwise put back
 *
 * The host revokes come before any PTE changes, in the same lock section:
 * from then on every touch traps and waits for the lock, so no store lands
 * in a page after its dirtiness was read.  Nothing is written under the
 * machine lock.  A clean page of the swap cache (read back and not written
 * since) is dropped without a write.
 *
 * Locking: the machine lock, dropped only around the write.  SIGSAFE
 * (on-stack arrays only).
 */
#include <errno.h>

#include "reclaim/reclaim_internal.h"
#include "swap/swap.h"
#include "vm/hosttlb.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/vmstat.h"

#define KB_PER_PAGE	   (PAGE_SIZE >> 10)
#define UNMAP_MAX_MAPPINGS 512 /* (mm, va) pairs revoked per call */

struct unmap_ref {
	struct mm *mm;
	vaddr_t va;
};

struct unmap_batch {
	unsigned n;
	bool overflow; /* more mappings than fit: revoke one by one */
	struct unmap_ref r[UNMAP_MAX_MAPPINGS];
};

static SIGSAFE void shootdown_visit(void *arg, struct mm *mm, vaddr_t va)
{
	(void)arg;
	hosttlb_shootdown(mm, va, va + PAGE_SIZE);
}

static SIGSAFE void gather_visit(void *arg, struct mm *mm, vaddr_t va)
{
	struct unmap_batch *b = arg;

	if (b->n < UNMAP_MAX_MAPPINGS)
		b->r[b->n++] = (struct unmap_ref){ mm, va };
	else
		b->overflow = true;
}

static bool ref_before(const struct unmap_ref *a, const struct unmap_ref *b)
{
	if (a->mm != b->mm)
		return (uintptr_t)a->mm < (uintptr_t)b->mm;
	return a->va < b->va;
}

static void sort_refs(struct unmap_batch *b)
{
	for (unsigned i = 1; i < b->n; i++) {
		struct unmap_ref x = b->r[i];
		unsigned j = i;

		while (j > 0 && ref_before(&x, &b->r[j - 1])) {
			b->r[j] = b->r[j - 1];
			j--;
		}
		b->r[j] = x;
	}
}

/* Revoke the host mappings of every victim's PTEs, contiguous runs at once. */
static void revoke_victims(struct page **v, unsigned n)
{
	struct unmap_batch b = { 0 };
	unsigned i = 0;

	for (unsigned k = 0; k < n; k++)
		if (v[k])
			rmap_walk(v[k], gather_visit, &b);
	sort_refs(&b);
	while (i < b.n) {
		struct mm *mm = b.r[i].mm;
		vaddr_t start = b.r[i].va, end = start + PAGE_SIZE;

		for (i++; i < b.n && b.r[i].mm == mm && b.r[i].va == end; i++)
			end += PAGE_SIZE;
		hosttlb_shootdown(mm, start, end);
	}
	/* Beyond the batch (a page mapped very many times): one by one. */
	for (unsigned k = 0; b.overflow && k < n; k++)
		if (v[k])
			rmap_walk(v[k], shootdown_visit, NULL);
}

/* Replace one PTE mapping pg by its swap entry.  0, or -EOVERFLOW. */
static int unmap_one(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va)
{
	pte_t *ptep = pt_walk(&mm->pt, va), old;

	BUG_ON(!ptep || !pte_present(*ptep));
	old = *ptep;
	if (swap_entry_dup(vm, pg->swap) < 0)
		return -EOVERFLOW;
	if (old & PTE_DIRTY)
		pg->flags |= PG_dirty;
	mm_set_pte(mm, ptep, va, swp_entry_to_pte(pg->swap));
	rmap_del(vm, pg, mm, va);
	page_unmapped(vm, pg);
	pg->_refcount--;
	mm_rss_add(mm, -1);
	mm->swapents++;
	return 0;
}

/* Unmap pg everywhere; false if some PTE could not be converted. */
static bool unmap_page(struct vm *vm, struct page *pg, int *pid)
{
	struct mm *mm;
	vaddr_t va;

	while (rmap_first(pg, &mm, &va)) {
		*pid = mm->owner ? mm->owner->pid : 0;
		if (unmap_one(vm, pg, mm, va) < 0)
			return false;
	}
	return true;
}

/* Write the dirty victims; lock dropped around the I/O. */
static void write_victims(struct reclaim *rc, struct page **w, unsigned n)
{
	struct vm *vm = rc->vm;
	uint64_t slots[SWAP_CLUSTER_MAX];
	const void *src[SWAP_CLUSTER_MAX];
	int res[SWAP_CLUSTER_MAX];

	for (unsigned i = 0; i < n; i++) {
		w[i]->flags = (w[i]->flags & ~(uint32_t)PG_dirty) |
			      PG_writeback;
		slots[i] = swp_offset(w[i]->swap);
		src[i] = phys_addr(&vm->phys, phys_pfn(&vm->phys, w[i]));
	}
	vm_unlock(vm);
	if (vm->io_hook)
		vm->io_hook(vm->io_hook_arg, true);
	swap_write(vm, slots, src, n, res);
	vm_lock(vm);
	for (unsigned i = 0; i < n; i++) {
		pfn_t pfn = phys_pfn(&vm->phys, w[i]);

		w[i]->flags &= ~(uint32_t)PG_writeback;
		if (res[i]) { /* resident, in the cache, dirty: nothing lost */
			w[i]->flags |= PG_dirty;
			vm_event(vm, VME_SWAP_WRITE_ERROR, NULL, w[i]->index,
				 pfn, slots[i], res[i]);
			continue;
		}
		vm_event(vm, VME_PSWPOUT, NULL, w[i]->index, pfn, slots[i], 0);
		vm_count(vm, VME_PGPGOUT, KB_PER_PAGE);
	}
}

/* Free a victim nobody needs any more; false if it must stay. */
static bool free_victim(struct reclaim *rc, struct page *pg, int pid,
			bool written)
{
	struct vm *vm = rc->vm;
	uint64_t slot = swp_offset(pg->swap);
	pfn_t pfn = phys_pfn(&vm->phys, pg);

	if (pg->_mapcount || (pg->flags & (PG_dirty | PG_writeback)) ||
	    pg->_refcount != 2)
		return false;
	delete_from_swap_cache(vm, pg, workingset_eviction(rc, pg));
	lru_unisolate(&rc->lru, pg);
	vm_event_pid(vm, VME_EVICT, pid, pg->index, pfn, slot, written);
	page_put(vm, pg);
	return true;
}

SIGSAFE unsigned evict_batch(struct reclaim *rc, struct scan_control *sc,
			     struct page **v, unsigned n)
{
	struct vm *vm = rc->vm;
	struct page *w[SWAP_CLUSTER_MAX];
	int pid[SWAP_CLUSTER_MAX] = { 0 };
	unsigned nw = 0, freed = 0;

	for (unsigned i = 0; i < n; i++)
		if (!(v[i]->flags & PG_swapcache) && add_to_swap(vm, v[i])) {
			reclaim_putback(rc, v[i], PUTBACK_ACTIVATE);
			v[i] = NULL; /* no slot left: keep it, as Linux */
		}
	revoke_victims(v, n);
	for (unsigned i = 0; i < n; i++) {
		if (!v[i])
			continue;
		if (!unmap_page(vm, v[i], &pid[i])) {
			reclaim_putback(rc, v[i], PUTBACK_KEEP);
			v[i] = NULL;
		} else if (v[i]->flags & PG_dirty) {
			w[nw++] = v[i];
		}
	}
	if (nw)
		write_victims(rc, w, nw);
	for (unsigned i = 0; i < n; i++) {
		bool written = false;

		for (unsigned k = 0; v[i] && k < nw; k++)
			written = written || w[k] == v[i];
		if (!v[i])
			continue;
		if (free_victim(rc, v[i], pid[i], written))
			freed++;
		else /* taken back meanwhile, or its write failed */
			reclaim_putback(rc, v[i],
					written && !v[i]->_mapcount &&
							!(v[i]->flags &
							  PG_dirty) ?
						PUTBACK_ROTATE :
						PUTBACK_KEEP);
	}
	sc->nr_reclaimed += freed;
	vm_count(vm, sc->kswapd ? VME_PGSTEAL_KSWAPD : VME_PGSTEAL_DIRECT,
		 freed);
	vm_count(vm, VME_PGSTEAL_ANON, freed);
	return freed;
}
