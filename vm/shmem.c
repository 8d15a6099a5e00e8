/*
 * vm/shmem.c - shared anonymous memory (see shmem.h): shmem objects, their
 * faults, and the hand-over between the page cache and the swap cache.
 *
 * Invariants (beside filemap.h's):
 *  1. A shmem object's tree holds FM_PAGE entries (resident pages, with
 *     PG_file | PG_swapbacked) and FM_SWAP entries; each FM_SWAP entry
 *     holds one count of its slot, as a swap PTE does.
 *  2. A slot's page in the swap cache is never in a tree at the same time:
 *     shmem_to_swap moves a page out of the tree, claim moves it back in
 *     (and out of the swap cache) - only while no write is in flight.
 *
 * Locking: the machine lock.  SIGSAFE but shmem_create/shmem_destroy.
 */
#include "vm/shmem.h"

#include <errno.h>
#include <string.h>

#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/mm.h"
#include "vm/page_alloc.h"
#include "vm/vmstat.h"

struct filemap *shmem_create(struct vm *vm, uint64_t len)
{
	struct filemap *fm = filemap_new_shmem(vm);

	if (fm)
		fm->size = len;
	return fm;
}

void shmem_destroy(struct vm *vm, struct filemap *fm)
{
	filemap_drop_all(vm, fm);
}

/*
 * The page of slot is in the swap cache, idle: it goes back into fm's
 * tree at pgoff and leaves the swap cache (its slot freed, the page
 * dirty, as Linux's shmem_swapin_folio).  pg may sit on an LRU list or be
 * isolated by reclaim (which then finds it out of the swap cache).
 */
static void claim(struct vm *vm, struct filemap *fm, uint64_t pgoff,
		  struct page *pg, uint64_t slot)
{
	uint64_t old;

	BUG_ON(pg->_mapcount);
	swap_ra_hit(vm, pg); /* if it was read ahead: a hit */
	pg->_refcount++;     /* the tree's, before the cache lets go */
	delete_from_swap_cache(vm, pg, 0);
	pg->flags &= ~(uint32_t)(PG_anon | PG_readahead | PG_dirty);
	pg->_refcount--; /* filemap_add takes it again: no allocation */
	BUG_ON(filemap_add(vm, fm, pg, pgoff, &old) < 0);
	BUG_ON(fm_tag(old) != FM_SWAP || fm_val(old) != slot);
	swap_entry_free(vm, swp_entry(SWP_TYPE, slot)); /* the tree's count */
}

/* A fresh zeroed page at pgoff; SHMEM_PAGE or SHMEM_NOMEM. */
static enum shmem_result new_page(struct vm *vm, struct filemap *fm,
				  uint64_t pgoff, struct page **out)
{
	struct page *pg;
	uint64_t old;
	pfn_t pfn;

	if (vm_page_alloc(vm, GFP_USER, &pfn) < 0)
		return SHMEM_NOMEM;
	pg = phys_page(&vm->phys, pfn);
	if (filemap_add(vm, fm, pg, pgoff, &old) < 0) {
		vm_page_free(vm, pfn);
		return SHMEM_NOMEM;
	}
	memset(phys_addr(&vm->phys, pfn), 0, PAGE_SIZE);
	reclaim_page_new(vm, pg);
	*out = pg;
	return SHMEM_PAGE;
}

SIGSAFE enum shmem_result shmem_get_page(struct vm *vm, struct filemap *fm,
					 uint64_t pgoff, struct page **out,
					 uint64_t *slot, bool *fresh)
{
	uint64_t e = pgtree_get(&fm->tree, pgoff);
	struct page *pg;

	*fresh = false;
	if (fm_tag(e) == FM_PAGE) {
		*out = phys_page(&vm->phys, fm_val(e));
		return SHMEM_PAGE;
	}
	if (fm_tag(e) != FM_SWAP) {
		*fresh = true;
		return new_page(vm, fm, pgoff, out);
	}
	*slot = fm_val(e);
	pg = swap_cache_page(vm, *slot);
	if (!pg || (pg->flags & PG_locked))
		return SHMEM_SWAPIN; /* swapin reads it, or waits */
	if (pg->flags & PG_writeback)
		return SHMEM_BUSY;
	claim(vm, fm, pgoff, pg, *slot);
	*out = pg;
	return SHMEM_PAGE;
}

SIGSAFE int shmem_to_swap(struct vm *vm, struct page *pg)
{
	swp_entry_t e = pg->swap;
	uint64_t pgoff = pg->index;

	BUG_ON(!(pg->flags & PG_swapcache) || pg->_mapcount ||
	       (pg->flags & (PG_file | PG_swapbacked)) !=
		       (PG_file | PG_swapbacked));
	if (swap_entry_dup(vm, e) < 0)
		return -EOVERFLOW;
	filemap_delete(vm, pg, fm_entry(swp_offset(e), FM_SWAP));
	pg->_refcount--; /* the tree's: the swap cache and reclaim hold it */
	pg->flags |= PG_anon | PG_dirty; /* its slot holds nothing yet */
	pg->index = pgoff;
	return 0;
}
