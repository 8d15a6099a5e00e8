/*
 * reclaim/evict.c - the eviction machinery: what happens to the victims a
 * policy chose (Linux's shrink_folio_list), whatever lists the policy
 * took them from.  Three kinds of page:
 *
 *   anonymous  (PG_anon)                 swap: a slot, PTEs -> swap entries
 *   shmem      (PG_file | PG_swapbacked) swap: a slot, PTEs -> none, the
 *                                        page cache's entry -> the slot
 *                                        (shmem_to_swap); then as anon
 *   file       (PG_file)                 PTEs -> none; dirty: written back
 *                                        to its file; then dropped from
 *                                        the page cache (a shadow stays)
 *
 *   victims (isolated) --> anon and shmem into the swap cache (a slot
 *        |                  each; none free: back to the active list)
 *        v
 *   unmap everywhere: the host mappings of each address space revoked in
 *   one call per run of contiguous pages, then every PTE (found through
 *   the rmap) changes; its D bit makes the page dirty
 *        |
 *        v
 *   dirty ones written, the machine lock dropped around each kind's
 *   writes (PG_writeback meanwhile): swap pages with one pwritev per run
 *   of consecutive slots, file pages per run of consecutive offsets; a
 *   failed write leaves the page resident and dirty (nothing is lost)
 *        |
 *        v
 *   freed if nobody took it back meanwhile (a fault may have mapped it
 *   again while the lock was down, a truncation dropped it, a shmem fault
 *   claimed it back from the swap cache): a workingset shadow stays in its
 *   swap slot or page cache entry; otherwise put back
 *
 * The host revokes come before any PTE changes, in the same lock section:
 * from then on every touch traps and waits for the lock, so no store lands
 * in a page after its dirtiness was read.  Nothing is written under the
 * machine lock.  A clean page - a swap-cache page read back and not
 * written since, or a clean file page - is dropped without I/O
 * (file_drop_clean counts the file ones).
 *
 * Locking: the machine lock, dropped only around the writes.  SIGSAFE
 * (on-stack arrays only).
 */
#include <errno.h>

#include "reclaim/reclaim_internal.h"
#include "swap/swap.h"
#include "vm/filemap.h"
#include "vm/hosttlb.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/shmem.h"
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

/* Unmap a page cache page everywhere (its host mappings are revoked). */
static void unmap_file_page(struct vm *vm, struct page *pg, int *pid)
{
	struct mm *mm;
	vaddr_t va;

	while (rmap_first(pg, &mm, &va)) {
		*pid = mm->owner ? mm->owner->pid : 0;
		filemap_unmap_one(vm, pg, mm, va);
	}
}

enum victim_kind { VK_ANON, VK_SHMEM, VK_FILE };

static enum victim_kind kind_of(const struct page *pg)
{
	if (!(pg->flags & PG_file))
		return VK_ANON;
	return (pg->flags & PG_swapbacked) ? VK_SHMEM : VK_FILE;
}

/* Write the dirty swap-backed victims; lock dropped around the I/O. */
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
	vm->pcache->nr_writeback += n;
	vm_unlock(vm);
	if (vm->io_hook)
		vm->io_hook(vm->io_hook_arg, true);
	swap_write(vm, slots, src, n, res);
	vm_lock(vm);
	for (unsigned i = 0; i < n; i++) {
		pfn_t pfn = phys_pfn(&vm->phys, w[i]);

		w[i]->flags &= ~(uint32_t)PG_writeback;
		vm->pcache->nr_writeback--;
		if (res[i]) { /* resident, in the cache, dirty: nothing lost */
			w[i]->flags |= PG_dirty;
			vm_event(vm, VME_SWAP_WRITE_ERROR, NULL, w[i]->index,
				 pfn, slots[i], res[i]);
			continue;
		}
		vm_event(vm, VME_PSWPOUT, NULL, w[i]->index, pfn, slots[i], 0);
		vm_count(vm, VME_PGPGOUT, KB_PER_PAGE);
	}
	filemap_io_done(vm); /* a shmem fault may wait for one of them */
}

/* Write the dirty file victims back (started); lock dropped around it. */
static unsigned write_file_victims(struct reclaim *rc, struct page **w,
				   const struct filemap_io *io, unsigned n)
{
	struct vm *vm = rc->vm;
	int res[SWAP_CLUSTER_MAX];
	unsigned ok = 0;

	vm_unlock(vm);
	if (vm->io_hook)
		vm->io_hook(vm->io_hook_arg, true);
	filemap_write_io(vm, io, n, res);
	vm_lock(vm);
	for (unsigned i = 0; i < n; i++) {
		filemap_writeback_end(vm, w[i], res[i], 0);
		ok += !res[i];
	}
	filemap_io_done(vm);
	return ok;
}

/* Free a victim nobody needs any more; false if it must stay. */
static bool free_victim(struct reclaim *rc, struct page *pg, int pid,
			bool written)
{
	struct vm *vm = rc->vm;
	uint64_t slot = swp_offset(pg->swap);
	pfn_t pfn = phys_pfn(&vm->phys, pg);

	if (!(pg->flags & PG_swapcache) || pg->_mapcount ||
	    (pg->flags & (PG_dirty | PG_writeback)) || pg->_refcount != 2)
		return false; /* taken back (a shmem fault claims it out) */
	delete_from_swap_cache(vm, pg, workingset_eviction(rc, pg));
	lru_unisolate(&rc->lru, pg);
	vm_event_pid(vm, VME_EVICT, pid, pg->index, pfn, slot, written);
	page_put(vm, pg);
	return true;
}

/* Free a file victim nobody needs any more; false if it must stay. */
static bool free_file_victim(struct reclaim *rc, struct page *pg, int pid,
			     bool written)
{
	struct vm *vm = rc->vm;
	pfn_t pfn = phys_pfn(&vm->phys, pg);
	uint64_t shadow;

	if (!(pg->flags & PG_file) || pg->_mapcount ||
	    (pg->flags & (PG_dirty | PG_writeback | PG_locked)) ||
	    pg->_refcount != 2)
		return false; /* mapped again, dirtied, or truncated */
	shadow = workingset_eviction(rc, pg);
	filemap_delete(vm, pg, fm_entry(shadow, FM_SHADOW));
	lru_unisolate(&rc->lru, pg);
	vm_event_pid(vm, VME_EVICT, pid, pg->index, pfn, 0, written);
	if (!written)
		vm_count(vm, VME_FILE_DROP_CLEAN, 1);
	page_put(vm, pg); /* the page cache's reference */
	page_put(vm, pg); /* the isolation's: the frame is free */
	return true;
}

/*
 * Into the swap cache (anon, shmem); false when no slot is left (then
 * it was put back to the active list, as Linux).
 */
static bool get_slot(struct reclaim *rc, struct page *pg)
{
	if (kind_of(pg) == VK_FILE || (pg->flags & PG_swapcache) ||
	    !add_to_swap(rc->vm, pg))
		return true;
	reclaim_putback(rc, pg, PUTBACK_ACTIVATE);
	return false;
}

/*
 * Unmap victim pg everywhere; false if it must stay (put back: a PTE
 * could not take a slot reference, or shmem's slot count is full).
 */
static bool unmap_victim(struct reclaim *rc, struct page *pg, int *pid)
{
	struct vm *vm = rc->vm;
	enum victim_kind k = kind_of(pg);

	if (k == VK_ANON && unmap_page(vm, pg, pid))
		return true;
	if (k != VK_ANON) {
		unmap_file_page(vm, pg, pid);
		if (k == VK_FILE || shmem_to_swap(vm, pg) == 0)
			return true;
		delete_from_swap_cache(vm, pg, 0); /* stays a shmem page */
	}
	reclaim_putback(rc, pg, PUTBACK_KEEP);
	return false;
}

/* The batch's pages to write: swap-backed into w[], file into fw[]. */
struct evict_io {
	unsigned nw, nfw;
	struct page *w[SWAP_CLUSTER_MAX], *fw[SWAP_CLUSTER_MAX];
	struct filemap_io io[SWAP_CLUSTER_MAX];
};

static void queue_write(struct vm *vm, struct page *pg, enum victim_kind k,
			struct evict_io *x)
{
	if (k != VK_FILE) {
		if (pg->flags & PG_dirty)
			x->w[x->nw++] = pg;
	} else if ((pg->flags & PG_dirty) && !(pg->flags & PG_writeback) &&
		   filemap_writeback_start(vm, pg, &x->io[x->nfw])) {
		x->fw[x->nfw++] = pg;
	}
}

static bool in(struct page *const *set, unsigned n, const struct page *pg)
{
	for (unsigned k = 0; k < n; k++)
		if (set[k] == pg)
			return true;
	return false;
}

/* Free or put back each victim left after the writes. */
static void settle(struct reclaim *rc, struct page **v, unsigned n,
		   const unsigned char *kind, const int *pid,
		   const struct evict_io *x, struct evict_stats *st)
{
	for (unsigned i = 0; i < n; i++) {
		bool file = kind[i] == VK_FILE, written, freed;

		if (!v[i])
			continue;
		written = file ? in(x->fw, x->nfw, v[i]) :
				 in(x->w, x->nw, v[i]);
		freed = file ? free_file_victim(rc, v[i], pid[i], written) :
			       free_victim(rc, v[i], pid[i], written);
		if (freed) {
			st->freed[file]++;
			continue;
		}
		/* taken back meanwhile, or its write failed */
		reclaim_putback(rc, v[i],
				written && !v[i]->_mapcount &&
						!(v[i]->flags & PG_dirty) ?
					PUTBACK_ROTATE :
					PUTBACK_KEEP);
	}
}

SIGSAFE unsigned evict_batch(struct reclaim *rc, struct scan_control *sc,
			     struct page **v, unsigned n,
			     struct evict_stats *st)
{
	struct vm *vm = rc->vm;
	struct evict_io x = { 0 };
	unsigned char kind[SWAP_CLUSTER_MAX];
	int pid[SWAP_CLUSTER_MAX] = { 0 };
	unsigned freed;

	*st = (struct evict_stats){ 0 };
	for (unsigned i = 0; i < n; i++) {
		kind[i] = (unsigned char)kind_of(v[i]);
		if (!get_slot(rc, v[i]))
			v[i] = NULL;
	}
	revoke_victims(v, n);
	for (unsigned i = 0; i < n; i++) {
		if (!v[i])
			continue;
		if (!unmap_victim(rc, v[i], &pid[i]))
			v[i] = NULL;
		else
			queue_write(vm, v[i], (enum victim_kind)kind[i], &x);
	}
	if (x.nw)
		write_victims(rc, x.w, x.nw);
	st->io[0] = x.nw;
	if (x.nfw)
		st->io[1] = write_file_victims(rc, x.fw, x.io, x.nfw);
	settle(rc, v, n, kind, pid, &x, st);
	freed = st->freed[0] + st->freed[1];
	sc->nr_reclaimed += freed;
	vm_count(vm, sc->kswapd ? VME_PGSTEAL_KSWAPD : VME_PGSTEAL_DIRECT,
		 freed);
	vm_count(vm, VME_PGSTEAL_ANON, st->freed[0]);
	vm_count(vm, VME_PGSTEAL_FILE, st->freed[1]);
	return freed;
}
