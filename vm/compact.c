/*
 * vm/compact.c - memory compaction (see compact.h): Linux's two scanners
 * over the frame pool, and page migration.
 *
 * One run is a loop of batches, each in one section of the machine lock:
 *
 *   isolate_migratepages  from migrate_pfn up: up to COMPACT_CLUSTER_MAX
 *                         movable pages (free blocks skipped whole; in
 *                         direct compaction, an order-aligned block
 *                         holding an unmovable or busy page is skipped
 *                         whole, its pages dropped from the batch: it
 *                         could not become a free block of that order)
 *   isolate_freepages     from free_pfn down: as many free frames, taken
 *                         out of the buddy one by one (buddy_take_free)
 *   migrate_batch         host mappings of the batch revoked (nearby
 *                         pages in one call), then each page copied to its
 *                         frame: contents, struct page (flags, counts,
 *                         rmap, swap entry, policy word), its place on its
 *                         LRU list, every PTE (through the rmap; A/D and
 *                         the other bits kept, the software TLB entry shot
 *                         down), the swap cache's slot; the old frame
 *                         freed, where it merges with its free buddies
 *
 * The run ends when the scanners meet (free_pfn <= migrate_pfn) or, for
 * direct compaction, when a block of the wanted order is free.  Unlike
 * Linux, the scanners move frame by frame rather than pageblock by
 * pageblock (vmemu has no migratetypes to keep per block), so they meet at
 * one frame and the packing is tight even on a machine of a few MiB.
 *
 * Invariants (after each batch, under the lock):
 *  1. Every frame below migrate_pfn that was movable when scanned, and for
 *     which a free frame was found, now holds no page: its page lives at
 *     a frame >= free_pfn with the same bytes, flags, counts and rmap.
 *  2. Every PTE that mapped a moved page maps its new frame, with the same
 *     bits except the host-mapping ones (revoked: the next touch refills).
 *  3. Frames move between the buddy and pages only through buddy_take_free
 *     and vm_free_pages: pgalloc_normal - pgfree stays the frames in use.
 *  4. Nothing is held across a dropped lock: each batch starts from the
 *     struct pages as they are then.
 *
 * Why it is safe with reclaim, swap and faults running: all of it happens
 * under the machine lock, and a page anyone may be using with the lock
 * dropped is never movable: reclaim's isolated pages are off the LRU and
 * hold an extra reference (so are pages under writeback), a page being
 * read from swap is PG_locked, and a fault waiting for a read holds a
 * reference.  Native mode: the host mappings are revoked before the copy,
 * so a store either landed before it (and is copied) or traps and waits
 * for the lock, then refills from the new PTE.
 *
 * Locking: the machine lock.  SIGSAFE: everything but vm_compact (which
 * yields between batches); only on-stack arrays.
 */
#include "vm/compact.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/hosttlb.h"
#include "vm/page_alloc.h"
#include "vm/rmap.h"
#include "vm/vmstat.h"

#define MAP_REFS_MAX 256 /* (mm, va) pairs revoked per batch at once */
#define GAP_PAGES    64	 /* longest gap a revoke range spans */
#define GAP_HOT	     3	 /* host-mapped pages a spanned gap may hold */

enum compact_result {
	COMPACT_SKIPPED,  /* not suitable: would not help */
	COMPACT_DEFERRED, /* failed recently: not tried this time */
	COMPACT_CONTINUE, /* not finished */
	COMPACT_COMPLETE, /* the scanners met */
	COMPACT_SUCCESS,  /* a block of the order is free */
};

struct compact_control {
	struct vm *vm;
	bool direct;	   /* direct compaction for `order` */
	unsigned order;	   /* direct: the order wanted */
	pfn_t migrate_pfn; /* next frame the migrate scanner looks at */
	pfn_t free_pfn;	   /* the free scanner looks below it */
	unsigned nr_migrate, nr_free;
	struct page *migrate[COMPACT_CLUSTER_MAX];
	pfn_t freepages[COMPACT_CLUSTER_MAX];		  /* highest first */
	uint64_t migrate_scanned, free_scanned, isolated; /* this batch */
	uint64_t migrated;				  /* this run */
};

enum frame_kind { FRAME_FREE, FRAME_MOVABLE, FRAME_BUSY, FRAME_UNMOVABLE };

/* References a movable page has: its mappings and the swap cache's. */
static int expected_refs(const struct page *pg)
{
	return pg->_mapcount + ((pg->flags & PG_swapcache) ? 1 : 0);
}

static SIGSAFE enum frame_kind frame_kind(const struct page *pg)
{
	uint32_t f = pg->flags;

	if (f & PG_buddy)
		return FRAME_FREE;
	if (!f && !pg->_refcount) /* inside a free block, or in pcp */
		return FRAME_FREE;
	if (!(f & PG_anon) ||
	    (f & (PG_slab | PG_pgtable | PG_zero | PG_reserved)))
		return FRAME_UNMOVABLE;
	if (!(f & PG_lru) || (f & (PG_locked | PG_writeback)) ||
	    pg->_refcount <= 0 || pg->_refcount != expected_refs(pg))
		return FRAME_BUSY;
	return FRAME_MOVABLE;
}

/* ---- the scanners ------------------------------------------------------ */

/*
 * Direct compaction met a page that cannot move: the order-aligned block
 * holding it cannot become free, so drop what this batch took from it and
 * go on after it (Linux's skip_on_failure).
 */
static void skip_block(struct compact_control *cc, pfn_t pfn)
{
	pfn_t start = pfn & ~((1ULL << cc->order) - 1);
	const struct phys *ph = &cc->vm->phys;

	while (cc->nr_migrate &&
	       phys_pfn(ph, cc->migrate[cc->nr_migrate - 1]) >= start)
		cc->nr_migrate--;
	cc->migrate_pfn = start + (1ULL << cc->order);
}

static SIGSAFE void isolate_migratepages(struct compact_control *cc)
{
	const struct phys *ph = &cc->vm->phys;

	while (cc->nr_migrate < COMPACT_CLUSTER_MAX &&
	       cc->migrate_pfn < cc->free_pfn) {
		pfn_t pfn = cc->migrate_pfn;
		struct page *pg = phys_page(ph, pfn);

		cc->migrate_scanned++;
		if (pg->flags & PG_buddy) { /* a free block: skip it whole */
			cc->migrate_pfn += 1ULL << pg->private;
			continue;
		}
		cc->migrate_pfn++;
		switch (frame_kind(pg)) {
		case FRAME_FREE:
			break;
		case FRAME_MOVABLE:
			cc->migrate[cc->nr_migrate++] = pg;
			break;
		case FRAME_BUSY:
		case FRAME_UNMOVABLE:
			if (cc->direct)
				skip_block(cc, pfn);
			break;
		}
	}
	cc->isolated += cc->nr_migrate;
}

/* Free frames for the batch, from the top down, above the migrate side. */
static SIGSAFE void isolate_freepages(struct compact_control *cc)
{
	struct vm *vm = cc->vm;

	while (cc->nr_free < cc->nr_migrate && cc->free_pfn > cc->migrate_pfn) {
		pfn_t pfn = --cc->free_pfn;
		const struct page *pg = phys_page(&vm->phys, pfn);

		cc->free_scanned++;
		if ((pg->flags & ~(uint32_t)PG_buddy) || pg->_refcount)
			continue; /* in use: no need to ask the buddy */
		if (buddy_take_free(vm->buddy, pfn) == 0) {
			cc->freepages[cc->nr_free++] = pfn;
			cc->isolated++;
		}
	}
}

/* ---- migration --------------------------------------------------------- */

struct map_ref {
	struct mm *mm;
	vaddr_t va;
};

struct map_refs {
	unsigned n;
	bool overflow; /* more mappings than fit: revoke one by one */
	struct map_ref r[MAP_REFS_MAX];
};

static SIGSAFE void gather_visit(void *arg, struct mm *mm, vaddr_t va)
{
	struct map_refs *b = arg;

	if (!mm->win)
		return;
	if (b->n < MAP_REFS_MAX)
		b->r[b->n++] = (struct map_ref){ mm, va };
	else
		b->overflow = true;
}

static SIGSAFE void revoke_visit(void *arg, struct mm *mm, vaddr_t va)
{
	(void)arg;
	hosttlb_shootdown(mm, va, va + PAGE_SIZE);
}

static bool ref_before(const struct map_ref *a, const struct map_ref *b)
{
	if (a->mm != b->mm)
		return (uintptr_t)a->mm < (uintptr_t)b->mm;
	return a->va < b->va;
}

static void sort_refs(struct map_refs *b)
{
	for (unsigned i = 1; i < b->n; i++) {
		struct map_ref x = b->r[i];
		unsigned j = i;

		while (j > 0 && ref_before(&x, &b->r[j - 1])) {
			b->r[j] = b->r[j - 1];
			j--;
		}
		b->r[j] = x;
	}
}

/*
 * Should [end, next) join the range being revoked?  As reclaim's accessed-
 * bit harvest decides (reclaim/age.c): one revoke while other threads run
 * costs a TLB-shootdown IPI, about GAP_HOT refill traps, so a short gap
 * joins when at most that many of its pages have a host mapping (the only
 * ones the wider revoke makes trap; unmapped holes cost nothing).
 */
static SIGSAFE bool gap_cheap(struct mm *mm, vaddr_t end, vaddr_t next)
{
	unsigned mapped = 0;

	if (next > end + GAP_PAGES * PAGE_SIZE)
		return false;
	for (vaddr_t va = end; va < next; va += PAGE_SIZE) {
		pte_t *ptep = pt_walk(&mm->pt, va);

		if (ptep && (*ptep & PTE_HMAP) && ++mapped > GAP_HOT)
			return false;
	}
	return true;
}

/*
 * Native mode: revoke the host mappings of every PTE of the pages, one
 * host call per range of nearby pages of one address space.  From then
 * on a touch of any of them traps and waits for the machine lock.
 */
static SIGSAFE void revoke_batch(struct page **pg, unsigned n)
{
	struct map_refs b;
	unsigned i = 0;

	b.n = 0;
	b.overflow = false;
	for (unsigned k = 0; k < n; k++)
		rmap_walk(pg[k], gather_visit, &b);
	sort_refs(&b);
	while (i < b.n) {
		struct mm *mm = b.r[i].mm;
		vaddr_t start = b.r[i].va, end = start + PAGE_SIZE;

		for (i++; i < b.n && b.r[i].mm == mm &&
			  gap_cheap(mm, end, b.r[i].va);
		     i++)
			end = MAX(end, b.r[i].va + PAGE_SIZE);
		hosttlb_shootdown(mm, start, end);
	}
	for (unsigned k = 0; b.overflow && k < n; k++)
		rmap_walk(pg[k], revoke_visit, NULL);
}

struct remap {
	pfn_t src, dst;
};

/* The PTE of (mm, va) maps src: make it map dst, every other bit kept. */
static SIGSAFE void remap_visit(void *arg, struct mm *mm, vaddr_t va)
{
	const struct remap *r = arg;
	pte_t *ptep = pt_walk(&mm->pt, va);

	BUG_ON(!ptep || !pte_present(*ptep) || pte_pfn(*ptep) != r->src);
	BUG_ON(*ptep & PTE_HMAP); /* revoke_batch ran first */
	mm_set_pte(mm, ptep, va, pfn_pte(r->dst, *ptep & ~(pte_t)PTE_PFN_MASK));
}

/* The struct page fields that make a page what it is, and its LRU place. */
static SIGSAFE void move_identity(struct page *src, struct page *dst)
{
	dst->flags = src->flags;
	dst->_refcount = src->_refcount;
	dst->_mapcount = src->_mapcount;
	dst->private = src->private;
	dst->rmap = src->rmap;
	dst->swap = src->swap;
	dst->index = src->index;
	dst->lru_info = src->lru_info;
	list_add(&dst->lru, &src->lru); /* right after src: its place */
	list_del_init(&src->lru);
	src->flags = 0;
	src->_refcount = 0;
	src->_mapcount = 0;
	src->private = 0;
	src->rmap = NULL;
	src->swap = 0;
	src->index = 0;
	src->lru_info = 0;
}

/* Move the (host-unmapped) page src to the free frame dst_pfn. */
static SIGSAFE void migrate_one(struct vm *vm, struct page *src, pfn_t dst_pfn)
{
	pfn_t src_pfn = phys_pfn(&vm->phys, src);
	struct page *dst = phys_page(&vm->phys, dst_pfn);
	struct remap r = { src_pfn, dst_pfn };

	memcpy(phys_addr(&vm->phys, dst_pfn), phys_addr(&vm->phys, src_pfn),
	       PAGE_SIZE);
	move_identity(src, dst); /* the rmap chain and its index move too */
	rmap_walk(dst, remap_visit, &r);
	if (dst->flags & PG_swapcache)
		swap_cache_migrate(vm, src, dst);
	vm_count(vm, VME_PGALLOC_NORMAL, 1); /* dst, taken from the buddy */
	vm_free_pages(vm, src_pfn, 0);
}

/*
 * Move the batch: page i (ascending) to free frame n-1-i (ascending too),
 * so pages neighbouring in both va and pfn stay so and the host can map
 * them in one call.  Pages without a frame stay (pgmigrate_fail).
 */
static SIGSAFE void migrate_batch(struct compact_control *cc)
{
	struct vm *vm = cc->vm;
	unsigned n = MIN(cc->nr_migrate, cc->nr_free);

	if (vm->cfg.mode == VM_MODE_NATIVE)
		revoke_batch(cc->migrate, n);
	for (unsigned i = 0; i < n; i++)
		migrate_one(vm, cc->migrate[i], cc->freepages[n - 1 - i]);
	for (unsigned i = n; i < cc->nr_free; i++) /* unused: give back */
		buddy_free(vm->buddy, cc->freepages[i], 0);
	cc->migrated += n;
	vm_count(vm, VME_PGMIGRATE_SUCCESS, n);
	vm_count(vm, VME_PGMIGRATE_FAIL, cc->nr_migrate - n);
	/* Freed frames cached in pcp or left unmerged merge now. */
	buddy_drain(vm->buddy);
}

/* ---- a run ------------------------------------------------------------- */

/* One batch: isolate, find frames, move; the scanners' counts.  Lock held. */
static SIGSAFE void compact_batch(struct compact_control *cc)
{
	struct vm *vm = cc->vm;

	cc->nr_migrate = 0;
	cc->nr_free = 0;
	cc->migrate_scanned = cc->free_scanned = cc->isolated = 0;
	isolate_migratepages(cc);
	if (cc->nr_migrate) {
		isolate_freepages(cc);
		migrate_batch(cc);
	}
	vm_count(vm, VME_COMPACT_MIGRATE_SCANNED, cc->migrate_scanned);
	vm_count(vm, VME_COMPACT_FREE_SCANNED, cc->free_scanned);
	vm_count(vm, VME_COMPACT_ISOLATED, cc->isolated);
}

/* Is a block of 2^order frames (or larger) on the free lists? */
static SIGSAFE bool block_free(struct vm *vm, unsigned order)
{
	for (unsigned k = order; k <= BUDDY_MAX_ORDER; k++)
		if (buddy_nr_free_blocks(vm->buddy, k))
			return true;
	return false;
}

/* Linux's __compact_finished, for one zone. */
static SIGSAFE enum compact_result compact_finished(struct compact_control *cc)
{
	if (cc->direct && block_free(cc->vm, cc->order))
		return COMPACT_SUCCESS;
	if (cc->free_pfn <= cc->migrate_pfn)
		return COMPACT_COMPLETE;
	return COMPACT_CONTINUE;
}

static void compact_init(struct compact_control *cc, struct vm *vm, bool direct,
			 unsigned order)
{
	memset(cc, 0, sizeof(*cc));
	cc->vm = vm;
	cc->direct = direct;
	cc->order = order;
	cc->free_pfn = vm->phys.nr_pages;
}

/* ---- direct compaction --------------------------------------------------- */

/* Linux's compaction_deferred: skip this attempt after recent failures? */
static SIGSAFE bool compaction_deferred(struct compact_state *cs,
					unsigned order)
{
	unsigned limit = 1u << cs->defer_shift;

	if (order < cs->order_failed)
		return false;
	if (++cs->considered >= limit) {
		cs->considered = limit;
		return false;
	}
	return true;
}

/* Linux's defer_compaction: the run failed; skip the next 2^shift - 1. */
static SIGSAFE void defer_compaction(struct compact_state *cs, unsigned order)
{
	cs->considered = 0;
	if (++cs->defer_shift > COMPACT_MAX_DEFER_SHIFT)
		cs->defer_shift = COMPACT_MAX_DEFER_SHIFT;
	if (order < cs->order_failed)
		cs->order_failed = order;
}

/* Linux's compaction_defer_reset: it worked (alloc: and got the block). */
static SIGSAFE void defer_reset(struct compact_state *cs, unsigned order,
				bool alloc)
{
	if (alloc) {
		cs->considered = 0;
		cs->defer_shift = 0;
	}
	if (order >= cs->order_failed)
		cs->order_failed = order + 1;
}

/*
 * Linux's compaction_suitable: enough free frames to migrate into (the
 * order-0 watermark, min or low for costly orders, plus 2^(order+1)), and
 * for costly orders a failure due to fragmentation rather than lack of
 * memory (extfrag index above vm.extfrag_threshold).
 */
static SIGSAFE bool compaction_suitable(struct vm *vm, unsigned order)
{
	bool costly = order > PAGE_ALLOC_COSTLY_ORDER;
	uint64_t mark =
		(costly ? vm->wmark.low : vm->wmark.min) + (2ULL << order);
	int fragindex;

	if (!vm_watermark_ok(vm, 0, mark, GFP_USER))
		return false;
	if (!costly)
		return true;
	fragindex = buddy_extfrag_index(vm->buddy, order);
	return fragindex < 0 || fragindex > COMPACT_EXTFRAG_THRESHOLD;
}

/* Compact until an order block is free or the scanners meet. */
static SIGSAFE enum compact_result compact_zone(struct compact_control *cc)
{
	struct compact_state *cs = &cc->vm->compact;
	enum compact_result r;

	cc->migrate_pfn = cs->cached_migrate_pfn;
	if (cs->cached_free_pfn)
		cc->free_pfn = cs->cached_free_pfn;
	buddy_drain(cc->vm->buddy);
	while ((r = compact_finished(cc)) == COMPACT_CONTINUE)
		compact_batch(cc);
	if (r == COMPACT_COMPLETE) { /* the next run starts anew */
		cs->cached_migrate_pfn = 0;
		cs->cached_free_pfn = 0;
	} else {
		cs->cached_migrate_pfn = cc->migrate_pfn;
		cs->cached_free_pfn = cc->free_pfn;
	}
	return r;
}

/* Linux's try_to_compact_pages for one zone. */
static SIGSAFE enum compact_result try_to_compact(struct compact_control *cc)
{
	struct vm *vm = cc->vm;
	struct compact_state *cs = &vm->compact;
	enum compact_result r;

	/*
	 * A block is free: the allocation failed for another reason (the
	 * watermark, an injected failure - Linux's should_fail_alloc_page
	 * returns before the slow path), which compaction cannot help.
	 */
	if (block_free(vm, cc->order))
		return COMPACT_SKIPPED;
	if (compaction_deferred(cs, cc->order))
		return COMPACT_DEFERRED;
	if (!compaction_suitable(vm, cc->order))
		return COMPACT_SKIPPED;
	reclaim_memstall(vm, vm_current, true);
	r = compact_zone(cc);
	reclaim_memstall(vm, vm_current, false);
	if (r == COMPACT_SUCCESS)
		defer_reset(cs, cc->order, false);
	else
		defer_compaction(cs, cc->order);
	return r;
}

SIGSAFE int compact_alloc_pages(struct vm *vm, unsigned order, gfp_t gfp,
				pfn_t *pfn)
{
	int pid = vm_current ? vm_current->pid : 0;
	struct compact_control cc;

	if (!order || order > BUDDY_MAX_ORDER || vm->cfg.exact_frames)
		return -ENOMEM;
	compact_init(&cc, vm, true, order);
	if (try_to_compact(&cc) == COMPACT_SKIPPED)
		return -ENOMEM;
	/* Not skipped (deferred counts, as in Linux): a stall. */
	vm_event_pid(vm, VME_COMPACT_STALL, pid, 0, 0, 0, order);
	if (vm_alloc_pages(vm, order, gfp, pfn) == 0) {
		defer_reset(&vm->compact, order, true);
		vm_event_pid(vm, VME_COMPACT_SUCCESS, pid, 0, *pfn, cc.migrated,
			     order);
		return 0;
	}
	vm_event_pid(vm, VME_COMPACT_FAIL, pid, 0, 0, cc.migrated, order);
	return -ENOMEM;
}

/* ---- compact_memory -------------------------------------------------------- */

int vm_compact(struct vm *vm)
{
	struct compact_control cc;

	if (!vm_valid(vm) || vm_lock_held())
		return -EINVAL;
	if (vm->cfg.exact_frames)
		return -EOPNOTSUPP;
	compact_init(&cc, vm, false, 0);
	vm_lock(vm);
	buddy_drain(vm->buddy);
	while (compact_finished(&cc) == COMPACT_CONTINUE) {
		compact_batch(&cc);
		vm_unlock(vm); /* let faults and reclaim in between batches */
		sched_yield();
		vm_lock(vm);
	}
	vm->compact.cached_migrate_pfn = 0;
	vm->compact.cached_free_pfn = 0;
	vm_unlock(vm);
	return (int)MIN(cc.migrated, (uint64_t)INT32_MAX);
}
