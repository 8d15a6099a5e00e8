/*
 * vm/shmem.h - shared anonymous memory (MAP_SHARED | MAP_ANON): a shmem
 * object per mapping, its pages in the page cache (vm/filemap.h), swap as
 * their backing store, shared by every task that forks from the mapper.
 *
 *   fault at pgoff --> tree[pgoff]:
 *       none            a fresh zeroed page joins the tree (minor)
 *       FM_PAGE         mapped (minor)
 *       FM_SWAP(slot)   its page in the swap cache? claimed back into the
 *                       tree (the slot freed, the page dirty: as Linux's
 *                       shmem_swapin_folio); else swapped in first (major)
 *
 * Reclaim sees shmem pages on the anonymous LRU lists (they are swap
 * backed).  Evicting one (reclaim/evict.c): it gets a swap slot, its PTEs
 * become none (not swap entries: a shmem PTE refaults through the tree),
 * and shmem_to_swap moves it from the page cache to the swap cache - the
 * tree keeps FM_SWAP(slot), holding one count of the slot - after which
 * it is an anonymous swap-cache page like any other: written, freed.
 *
 * RssShmem (per task) counts PTEs mapping shmem pages; Shmem (meminfo)
 * the resident shmem pages.  The object lives while a VMA refers to it;
 * when the last one goes, its pages are freed and its slots released
 * (filemap_release_dead, after the PTEs were dropped).
 *
 * Locking: the machine lock.  SIGSAFE but shmem_create/shmem_destroy.
 */
#ifndef VMEMU_SHMEM_H
#define VMEMU_SHMEM_H

#include "vm/filemap.h"

/* Lock held.  A new shmem object of len bytes; NULL if out of memory. */
struct filemap *shmem_create(struct vm *vm, uint64_t len);
/* Lock held.  Free fm's pages and swap slots, then fm (no VMA left). */
void shmem_destroy(struct vm *vm, struct filemap *fm);

enum shmem_result {
	SHMEM_PAGE,   /* *out: the resident page, not locked */
	SHMEM_NOMEM,  /* no frame or tree node: reclaim, then again */
	SHMEM_SWAPIN, /* *slot must be read into the swap cache first */
	SHMEM_BUSY,   /* its swap-cache page is being written: again */
};

/*
 * SIGSAFE, lock held.  fm's page at pgoff for a fault: resident, claimed
 * back from the swap cache, or a fresh zeroed page (*fresh set).
 */
enum shmem_result shmem_get_page(struct vm *vm, struct filemap *fm,
				 uint64_t pgoff, struct page **out,
				 uint64_t *slot, bool *fresh);
/*
 * SIGSAFE, lock held.  Reclaim evicts shmem page pg: it is in the swap
 * cache (add_to_swap) and mapped nowhere.  It leaves the page cache for
 * the swap cache: the tree keeps FM_SWAP(its slot), pg becomes an
 * anonymous swap-cache page.  0, or -EOVERFLOW (slot count full: pg
 * stays a shmem page).
 */
int shmem_to_swap(struct vm *vm, struct page *pg);

#endif /* VMEMU_SHMEM_H */
