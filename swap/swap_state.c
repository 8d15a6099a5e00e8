/*
 * swap/swap_state.c - the swap cache, swap entries in PTEs, and swap-in
 * with readahead (see swap.h for the cache's encoding and references).
 *
 * Swap-in of one slot, the machine lock held on entry:
 *
 *   page in cache? -- yes, locked --> SWAPIN_WAIT (the reader finishes)
 *        | no               \-- yes --> SWAPIN_CACHED (the fault maps it)
 *        v
 *   frames for the slot and its readahead window; each joins the cache
 *   PG_locked; unlock; one preadv per run of slots; lock; each page
 *   unlocked (futex wake), onto the LRU (workingset decides active or
 *   not); a page whose read failed leaves the cache and is freed, and if
 *   it was the faulting slot: SWAPIN_EIO.
 *
 * Readahead (Linux's __swapin_nr_pages): the window is 2^page_cluster at
 * most; it grows with readahead hits (hits + 2, rounded up to a power of
 * two >= 4), is 1 for a fault not next to the previous one when there were
 * no hits, and shrinks by half at most per fault.  The window is the
 * aligned block of slots around the faulting one (Linux's cluster
 * readahead): slots swapped out together are neighbours in the file.
 *
 * Invariants:
 *  1. A slot's cache bit is set iff its private word is SWPRIV_PAGE (or a
 *     fresh slot being filled in the same lock section).
 *  2. A page with PG_swapcache has page->swap = its entry, one reference
 *     for the cache, and the slot's private word names it.
 *  3. nr_cached = pages with PG_swapcache.
 *
 * Locking: the machine lock (dropped only around the read).  SIGSAFE but
 * swap_setup/swap_teardown/swap_procfs.
 */
#include "swap/swap.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "reclaim/reclaim.h"
#include "swap/swapfile.h"
#include "vm/mm.h"
#include "vm/page_alloc.h"
#include "vm/vmstat.h"

#define SWAP_RA_MAX	  (1u << 10) /* 2^page_cluster, page_cluster <= 10 */
#define SWAP_RA_MIN_ROUND 4
#define WAIT_SLICE_NS	  10000000L /* re-check a kill every 10 ms */
#define KB_PER_PAGE	  (PAGE_SIZE >> 10)

struct swap_ctl {
	struct swap_area *area;
	uint64_t nr_cached;
	/*
	 * Bumped (and futex-woken) whenever reads complete: a fault waiting
	 * for another thread's read sleeps on it, so page flags are only
	 * ever touched under the machine lock.
	 */
	_Atomic uint32_t io_seq;
	/* readahead state (Linux keeps it per swap area too) */
	unsigned ra_hits, prev_win;
	uint64_t prev_offset;
};

static inline struct swap_ctl *ctl(struct vm *vm)
{
	return vm->swap;
}

int swap_setup(struct vm *vm, char *err, size_t errlen)
{
	struct swap_config cfg = {
		.nbytes = vm->cfg.swap_bytes,
		.path = vm->cfg.swap_path,
		.seed = vm->cfg.seed,
	};
	struct swap_ctl *c;
	int rc;

	if (!vm->cfg.swap_bytes)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	rc = swap_area_create(&cfg, &c->area, err, errlen);
	if (rc) {
		free(c);
		return rc;
	}
	vm->swap = c;
	return 0;
}

void swap_teardown(struct vm *vm)
{
	if (!vm->swap)
		return;
	swap_area_destroy(ctl(vm)->area);
	free(vm->swap);
	vm->swap = NULL;
}

SIGSAFE bool swap_available(struct vm *vm)
{
	return vm->swap && swap_nr_free(ctl(vm)->area) > 0;
}

SIGSAFE uint64_t swap_total_pages(struct vm *vm)
{
	return vm->swap ? swap_nr_slots(ctl(vm)->area) : 0;
}

SIGSAFE uint64_t swap_free_pages(struct vm *vm)
{
	return vm->swap ? swap_nr_free(ctl(vm)->area) : 0;
}

SIGSAFE uint64_t swap_cached_pages(struct vm *vm)
{
	return vm->swap ? ctl(vm)->nr_cached : 0;
}

SIGSAFE bool swap_half_full(struct vm *vm)
{
	struct swap_area *a = ctl(vm)->area;

	return swap_nr_free(a) * 2 < swap_nr_slots(a);
}

SIGSAFE unsigned swap_slot_count(struct vm *vm, uint64_t slot)
{
	return swap_count(ctl(vm)->area, slot);
}

SIGSAFE struct page *swap_cache_page(struct vm *vm, uint64_t slot)
{
	uint64_t priv = swap_private(ctl(vm)->area, slot);

	if ((priv & (SWPRIV_PAGE | SWPRIV_SHADOW)) != SWPRIV_PAGE)
		return NULL;
	return phys_page(&vm->phys, priv >> SWPRIV_SHIFT);
}

/* The slot's eviction stamp, or 0. */
static uint64_t slot_shadow(struct vm *vm, uint64_t slot)
{
	uint64_t priv = swap_private(ctl(vm)->area, slot);

	return (priv & SWPRIV_SHADOW) ? priv >> SWPRIV_SHIFT : 0;
}

/* pg (fresh frame or resident page) joins the cache for slot. */
static void cache_insert(struct vm *vm, struct page *pg, uint64_t slot)
{
	pg->flags |= PG_swapcache;
	pg->swap = swp_entry(SWP_TYPE, slot);
	pg->_refcount++;
	swap_set_private(ctl(vm)->area, slot,
			 (phys_pfn(&vm->phys, pg) << SWPRIV_SHIFT) |
				 SWPRIV_PAGE);
	ctl(vm)->nr_cached++;
}

SIGSAFE int add_to_swap(struct vm *vm, struct page *pg)
{
	uint64_t slot;

	BUG_ON(pg->flags & PG_swapcache);
	if (!vm->swap || swap_alloc(ctl(vm)->area, &slot) < 0)
		return -ENOSPC;
	cache_insert(vm, pg, slot);
	pg->flags |= PG_dirty; /* its slot holds nothing yet */
	return 0;
}

SIGSAFE void delete_from_swap_cache(struct vm *vm, struct page *pg,
				    uint64_t shadow)
{
	uint64_t slot = swp_offset(pg->swap);
	struct swap_area *a = ctl(vm)->area;

	BUG_ON(!(pg->flags & PG_swapcache) || pg->_refcount < 2);
	swap_set_private(a, slot,
			 shadow ? (shadow << SWPRIV_SHIFT) | SWPRIV_SHADOW : 0);
	swap_cache_del(a, slot); /* frees the slot if no PTE holds it */
	pg->flags &= ~(uint32_t)PG_swapcache;
	pg->swap = 0;
	pg->_refcount--;
	ctl(vm)->nr_cached--;
}

SIGSAFE void swap_cache_migrate(struct vm *vm, struct page *from,
				struct page *to)
{
	uint64_t slot = swp_offset(to->swap);

	BUG_ON(!(to->flags & PG_swapcache) ||
	       swap_cache_page(vm, slot) != from);
	swap_set_private(ctl(vm)->area, slot,
			 (phys_pfn(&vm->phys, to) << SWPRIV_SHIFT) |
				 SWPRIV_PAGE);
}

SIGSAFE int swap_entry_dup(struct vm *vm, swp_entry_t e)
{
	BUG_ON(!vm->swap);
	return swap_dup(ctl(vm)->area, swp_offset(e)) < 0 ? -ENOMEM : 0;
}

/*
 * The last PTE needing slot is gone while its page sits in the cache: the
 * page is useless now; free it unless someone is busy with it (a read or
 * write in flight, reclaim holding it isolated, or it is still mapped).
 */
SIGSAFE bool swap_page_unneeded(struct vm *vm, struct page *pg)
{
	return (pg->flags & PG_swapcache) && !pg->_mapcount &&
	       !(pg->flags & (PG_locked | PG_writeback)) &&
	       swap_count(ctl(vm)->area, swp_offset(pg->swap)) == 0;
}

/* Free an unneeded cache page that only the cache holds. */
static void drop_unneeded(struct vm *vm, struct page *pg)
{
	if (!pg || pg->_refcount != 1 || !swap_page_unneeded(vm, pg))
		return;
	pg->_refcount++; /* hold it across the cache's release */
	delete_from_swap_cache(vm, pg, 0);
	page_put(vm, pg);
}

SIGSAFE void swap_cache_release_unused(struct vm *vm, struct page *pg)
{
	if (pg->_refcount == 2 && swap_page_unneeded(vm, pg))
		delete_from_swap_cache(vm, pg, 0);
}

SIGSAFE void swap_entry_free(struct vm *vm, swp_entry_t e)
{
	uint64_t slot = swp_offset(e);

	BUG_ON(!vm->swap);
	if (swap_put(ctl(vm)->area, slot) == 0 &&
	    swap_has_cache(ctl(vm)->area, slot))
		drop_unneeded(vm, swap_cache_page(vm, slot));
}

SIGSAFE int swap_write(struct vm *vm, const uint64_t *slots,
		       const void *const *src, unsigned n, int *res)
{
	return swap_write_pages(ctl(vm)->area, slots, src, n, res);
}

struct fault_attr *swap_fault_attr(struct vm *vm, bool write)
{
	return vm->swap ? swap_fault_point(ctl(vm)->area, write) : NULL;
}

int swap_procfs(struct vm *vm, char *buf, size_t len)
{
	return swap_info(vm->swap ? ctl(vm)->area : NULL, buf, len);
}

/* ---- swap-in ---------------------------------------------------------- */

/* Linux's __swapin_nr_pages: how many pages to read around offset. */
static unsigned ra_window(struct vm *vm, uint64_t offset)
{
	struct swap_ctl *c = ctl(vm);
	unsigned max = 1u << vm->cfg.page_cluster, hits = c->ra_hits, pages;

	c->ra_hits = 0;
	if (max <= 1)
		return 1;
	pages = hits + 2;
	if (pages == 2) {
		if (offset != c->prev_offset + 1 &&
		    offset != c->prev_offset - 1)
			pages = 1;
	} else {
		unsigned round = SWAP_RA_MIN_ROUND;

		while (round < pages)
			round <<= 1;
		pages = round;
	}
	pages = MIN(pages, max);
	pages = MAX(pages, c->prev_win / 2);
	c->prev_win = pages;
	c->prev_offset = offset;
	return pages;
}

/* A fresh frame in the cache for slot, locked for the read; or NULL. */
static struct page *ra_page(struct vm *vm, uint64_t slot, vaddr_t va, gfp_t gfp)
{
	struct page *pg;
	pfn_t pfn;

	if (vm_page_alloc(vm, gfp, &pfn) < 0)
		return NULL;
	if (swap_cache_add(ctl(vm)->area, slot) < 0) {
		vm_page_free(vm, pfn);
		return NULL;
	}
	pg = phys_page(&vm->phys, pfn);
	pg->flags = PG_anon | PG_locked;
	pg->index = va;
	pg->_refcount = 0; /* cache_insert takes the cache's reference */
	pg->_mapcount = 0;
	/* The slot's cache bit is set: store the page, not the shadow. */
	pg->lru_info = slot_shadow(vm, slot);
	swap_set_private(ctl(vm)->area, slot, 0);
	cache_insert(vm, pg, slot);
	return pg;
}

/* May this neighbour of the faulting slot be read ahead? */
static bool ra_wanted(struct vm *vm, uint64_t slot)
{
	struct swap_area *a = ctl(vm)->area;

	return slot >= 1 && slot <= swap_nr_slots(a) &&
	       swap_count(a, slot) > 0 && !swap_has_cache(a, slot);
}

struct ra_batch {
	unsigned n;
	uint64_t slots[SWAP_RA_MAX];
	struct page *pages[SWAP_RA_MAX];
	void *dst[SWAP_RA_MAX];
	int res[SWAP_RA_MAX];
};

/* Frames for the faulting slot (first) and its readahead neighbours. */
static enum swapin_result ra_collect(struct vm *vm, uint64_t slot, vaddr_t va,
				     struct ra_batch *b)
{
	unsigned win = ra_window(vm, slot);
	uint64_t start = slot & ~((uint64_t)win - 1);
	struct page *pg = ra_page(vm, slot, va, GFP_USER);

	if (!pg)
		return swap_count(ctl(vm)->area, slot) ? SWAPIN_NOMEM :
							 SWAPIN_STALE;
	b->n = 0;
	b->slots[b->n] = slot;
	b->pages[b->n++] = pg;
	for (uint64_t s = start; s < start + win; s++) {
		if (s == slot || !ra_wanted(vm, s))
			continue;
		pg = ra_page(vm, s, 0, GFP_USER | __GFP_NORETRY);
		if (!pg)
			break;
		pg->flags |= PG_readahead;
		b->slots[b->n] = s;
		b->pages[b->n++] = pg;
	}
	for (unsigned i = 0; i < b->n; i++)
		b->dst[i] =
			phys_addr(&vm->phys, phys_pfn(&vm->phys, b->pages[i]));
	return SWAPIN_CACHED;
}

/* Reads completed: wake every fault waiting for one. */
static void io_done(struct vm *vm)
{
	atomic_fetch_add(&ctl(vm)->io_seq, 1);
	syscall(SYS_futex, &ctl(vm)->io_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}

/* After the read: unlock each page; keep it, or drop it on an error. */
static bool ra_finish(struct vm *vm, struct mm *mm, struct ra_batch *b)
{
	bool faulting_ok = true;

	for (unsigned i = 0; i < b->n; i++) {
		struct page *pg = b->pages[i];
		uint64_t shadow = pg->lru_info;

		pg->lru_info = 0;
		pg->flags &= ~(uint32_t)PG_locked;
		if (b->res[i]) {
			vm_event(vm, VME_SWAP_READ_ERROR, NULL, 0,
				 phys_pfn(&vm->phys, pg), b->slots[i],
				 b->res[i]);
			faulting_ok = faulting_ok && i != 0;
			pg->_refcount++;
			delete_from_swap_cache(vm, pg, shadow);
			page_put(vm, pg);
			continue;
		}
		vm_event(vm, VME_PSWPIN, NULL, 0, phys_pfn(&vm->phys, pg),
			 b->slots[i], i != 0);
		vm_count(vm, VME_PGPGIN, KB_PER_PAGE);
		if (i)
			vm_count(vm, VME_SWAP_RA, 1);
		if (swap_page_unneeded(vm, pg)) { /* its PTEs went meanwhile */
			drop_unneeded(vm, pg);
			continue;
		}
		reclaim_page_swapin(vm, pg, shadow, i ? NULL : mm);
	}
	return faulting_ok;
}

SIGSAFE enum swapin_result swapin(struct vm *vm, struct mm *mm,
				  struct vm_task *self, uint64_t slot,
				  vaddr_t va, unsigned *nread,
				  struct page **waitp)
{
	struct page *pg = swap_cache_page(vm, slot);
	struct ra_batch b;
	enum swapin_result r;

	*nread = 0;
	if (pg && (pg->flags & PG_locked)) {
		pg->_refcount++;
		*waitp = pg;
		return SWAPIN_WAIT;
	}
	if (pg)
		return SWAPIN_CACHED;
	r = ra_collect(vm, slot, va, &b);
	if (r != SWAPIN_CACHED)
		return r;
	reclaim_memstall(vm, self, true);
	vm_unlock(vm);
	if (vm->io_hook)
		vm->io_hook(vm->io_hook_arg, false);
	swap_read_pages(ctl(vm)->area, b.slots, b.dst, b.n, b.res);
	vm_lock(vm);
	reclaim_memstall(vm, self, false);
	*nread = b.n;
	r = ra_finish(vm, mm, &b) ? SWAPIN_CACHED : SWAPIN_EIO;
	io_done(vm);
	return r;
}

SIGSAFE void swap_wait_page(struct vm *vm, struct page *pg)
{
	struct timespec slice = { 0, WAIT_SLICE_NS };
	uint32_t seen = atomic_load(&ctl(vm)->io_seq);
	bool locked = pg->flags & PG_locked; /* the lock is still held */

	vm_unlock(vm);
	if (locked)
		syscall(SYS_futex, &ctl(vm)->io_seq, FUTEX_WAIT_PRIVATE, seen,
			&slice, NULL, 0);
	vm_lock(vm);
	page_put(vm, pg);
}

/* A fault found a page read ahead: a hit (it widens the next window). */
SIGSAFE void swap_ra_hit(struct vm *vm, struct page *pg)
{
	if (!(pg->flags & PG_readahead))
		return;
	pg->flags &= ~(uint32_t)PG_readahead;
	ctl(vm)->ra_hits++;
	vm_count(vm, VME_SWAP_RA_HIT, 1);
}

/* ---- invariant walker -------------------------------------------------- */

enum {
	SWAPST_CHECK_PAGE = -1601,  /* 2: a cached page's slot disagrees */
	SWAPST_CHECK_COUNT = -1602, /* 3: nr_cached != cached pages */
	SWAPST_CHECK_SLOT = -1603,  /* 1: a slot's page does not name it */
};

static int check_page(struct vm *vm, const struct page *pg)
{
	uint64_t slot = swp_offset(pg->swap);
	struct swap_area *a = ctl(vm)->area;

	if (slot < 1 || slot > swap_nr_slots(a) || !swap_has_cache(a, slot) ||
	    swap_cache_page(vm, slot) != pg || pg->_refcount < 1)
		return SWAPST_CHECK_PAGE;
	return 0;
}

int swap_state_check(struct vm *vm)
{
	uint64_t cached = 0;
	int err;

	if (!vm->swap)
		return 0;
	err = swap_check(ctl(vm)->area);
	for (pfn_t pfn = 0; !err && pfn < vm->phys.nr_pages; pfn++) {
		const struct page *pg = phys_page(&vm->phys, pfn);

		if (!(pg->flags & PG_swapcache))
			continue;
		cached++;
		err = check_page(vm, pg);
	}
	for (uint64_t s = 1; !err && s <= swap_nr_slots(ctl(vm)->area); s++) {
		struct page *pg = swap_cache_page(vm, s);

		if (pg &&
		    (!(pg->flags & PG_swapcache) || swp_offset(pg->swap) != s))
			err = SWAPST_CHECK_SLOT;
	}
	if (!err && cached != ctl(vm)->nr_cached)
		err = SWAPST_CHECK_COUNT;
	return err;
}
