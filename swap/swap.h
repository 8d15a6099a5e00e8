/*
 * swap/swap.h - swap as the rest of the kernel sees it: the swap cache,
 * swap entries in PTEs, and bringing pages back (swap/swap_state.c), over
 * the swap area of swap/swapfile.h.
 *
 * The swap cache maps a slot to the frame that holds its data while both
 * exist: a page on its way out (added by reclaim, until its write is done
 * and nobody maps it) or on its way in (read by a fault, until the last
 * PTE that needs it maps it).  It lives in the slots' private words:
 *
 *   private = (pfn << 2) | SWPRIV_PAGE     the slot's page is resident
 *   private = (shadow << 2) | SWPRIV_SHADOW the page was evicted; shadow is
 *                                           workingset's eviction stamp
 *   private = 0                             nothing (a fresh slot)
 *
 * References: a page in the swap cache holds one reference of its own
 * (_refcount) and the slot's cache bit; each PTE holding the swap entry
 * holds one count of the slot.  A page in the swap cache is mapped
 * read-only: a write breaks it out of the cache (its slot freed, if no
 * other PTE still needs the slot's copy) or copies it (COW).  So a
 * resident page in the swap cache without PG_dirty equals its slot's copy
 * and can be dropped without a write.
 *
 * A read in flight: the page is PG_locked in the cache; a fault on it
 * waits (a futex on a counter that completed reads bump: signal-safe, and
 * page flags stay under the lock) and runs again.  No I/O is
 * done under the machine lock.
 *
 * Locking: the machine lock, held by every caller (the swap-in functions
 * drop it around the read and take it again).  SIGSAFE: everything but
 * swap_setup/swap_teardown.
 */
#ifndef VMEMU_SWAP_H
#define VMEMU_SWAP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/types.h"

struct vm;
struct page;
struct mm;
struct vm_task;

#define SWPRIV_PAGE   1ULL
#define SWPRIV_SHADOW 2ULL
#define SWPRIV_SHIFT  2
#define SWP_TYPE      0 /* the one swap area's type in swap entries */

/*
 * Create the machine's swap area from vm_config (swap_bytes, swap_path;
 * none when swap_bytes is 0).  0, or -errno with a message.
 */
int swap_setup(struct vm *vm, char *err, size_t errlen);
void swap_teardown(struct vm *vm);

/* SIGSAFE, lock held.  Is there a free slot (can anon pages be swapped)? */
bool swap_available(struct vm *vm);
/* SIGSAFE, lock held.  Slots in all, free, and pages in the swap cache. */
uint64_t swap_total_pages(struct vm *vm);
uint64_t swap_free_pages(struct vm *vm);
uint64_t swap_cached_pages(struct vm *vm);

/* One more PTE refers to e (fork).  0, or -ENOMEM. */
int swap_entry_dup(struct vm *vm, swp_entry_t e);
/*
 * One PTE referring to e is gone (munmap, exit, reap).  A page left in the
 * swap cache that nothing needs any more is freed with it.
 */
void swap_entry_free(struct vm *vm, swp_entry_t e);

/*
 * Give pg (anonymous, resident, not in the swap cache) a slot: it joins
 * the swap cache, dirty (its slot holds nothing yet).  0 or -ENOSPC.
 */
int add_to_swap(struct vm *vm, struct page *pg);
/*
 * pg leaves the swap cache (reclaim evicted it: shadow is the eviction
 * stamp to leave in the slot, or 0; or a write broke it out).  The cache's
 * page reference is dropped: the caller must hold another.
 */
void delete_from_swap_cache(struct vm *vm, struct page *pg, uint64_t shadow);
/*
 * Is pg a swap-cache page nobody needs any more: unmapped, no I/O in
 * flight, and no PTE holding its slot?  (Then it can only be dropped.)
 */
bool swap_page_unneeded(struct vm *vm, struct page *pg);
/*
 * pg, in the swap cache, just lost a mapping (the caller still holds that
 * mapping's reference): if nothing maps it and no PTE needs its slot any
 * more, it leaves the cache (freeing the slot), so the caller's put frees
 * it.  Busy pages (a read or write in flight, reclaim holding them) stay.
 */
void swap_cache_release_unused(struct vm *vm, struct page *pg);
/*
 * Compaction moved from's contents and identity (PG_swapcache, swap entry,
 * references) to `to`: the slot names `to` from now on.
 */
void swap_cache_migrate(struct vm *vm, struct page *from, struct page *to);
/* The page in the swap cache for slot, or NULL. */
struct page *swap_cache_page(struct vm *vm, uint64_t slot);
/* Slot references held by PTEs (without the cache). */
unsigned swap_slot_count(struct vm *vm, uint64_t slot);
/* More than half the slots in use (Linux's vm_swap_full). */
bool swap_half_full(struct vm *vm);

/* Writing pages out (reclaim): see swapfile.h's swap_write_pages. */
int swap_write(struct vm *vm, const uint64_t *slots, const void *const *src,
	       unsigned n, int *res);

enum swapin_result {
	SWAPIN_CACHED, /* the slot's page is in the swap cache now */
	SWAPIN_NOMEM,  /* no frame for it: reclaim, then again */
	SWAPIN_STALE,  /* the entry changed meanwhile: fault again */
	SWAPIN_EIO,    /* the read failed: the faulting task's SIGBUS */
	SWAPIN_WAIT,   /* another thread is reading it: wait, again */
};

/*
 * SIGSAFE, lock held on entry and on return (dropped for the read).  Bring
 * slot's page into the swap cache for a fault at va of mm (by self, whose
 * stall PSI counts; NULL for none), with
 * readahead of its neighbours (vm.page-cluster, Linux's window rules).
 * *nread = pages read.  On SWAPIN_WAIT, *waitp is the page read by
 * another thread, with a reference the caller drops (swap_wait_page).
 */
enum swapin_result swapin(struct vm *vm, struct mm *mm, struct vm_task *self,
			  uint64_t slot, vaddr_t va, unsigned *nread,
			  struct page **waitp);
/*
 * SIGSAFE, lock held on entry and on return (dropped while it sleeps).
 * Wait (futex, at most a short while) for reads in flight to complete;
 * then drop the reference swapin took on pg.
 */
void swap_wait_page(struct vm *vm, struct page *pg);

/* SIGSAFE, lock held.  A fault found pg, read ahead: a readahead hit. */
void swap_ra_hit(struct vm *vm, struct page *pg);

/*
 * Lock held.  The swap cache's invariants (swap_state.c, 1-3) over every
 * frame, and swap_check of the area; 0 or a code of -1600 and below (or
 * swap_check's).  O(frames).
 */
int swap_state_check(struct vm *vm);

/* The swap area's injection point for writes or reads; NULL: no swap. */
struct fault_attr *swap_fault_attr(struct vm *vm, bool write);

/* /proc/swaps (swapfile.h's swap_info), like snprintf. */
int swap_procfs(struct vm *vm, char *buf, size_t len);

#endif /* VMEMU_SWAP_H */
