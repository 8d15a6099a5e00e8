/*
 * vm/rmap.h - the reverse map: for a frame, every (address space, va)
 * whose PTE maps it.
 *
 *   struct page --rmap--> [mm B, va'] --next--> [mm C, va''] --> (mm A | 1)
 *
 * One rmap_item (from the slab) per mapping, chained from page->rmap, so a
 * COW-shared frame after several forks lists each of its mappings - except
 * that a mapping at the page's own index (an anonymous page's va, which
 * every fork keeps) ends the chain as a tagged pointer to its mm (low bit
 * RMAP_DIRECT set) instead of an item: a page mapped once, the common
 * case, costs no item.  The shared zero frame is not reverse-mapped.
 *
 * Invariant: the chain's length (items, plus one for a direct end) equals
 * page->_mapcount, and each names a PTE that maps the frame.  Use
 * rmap_walk / rmap_first, never page->rmap's items directly.  Locking: the
 * machine lock.  SIGSAFE.
 */
#ifndef VMEMU_RMAP_H
#define VMEMU_RMAP_H

#include "vm/machine.h"

struct rmap_item {
	struct mm *mm;
	vaddr_t va;
	struct rmap_item *next;
};

#define RMAP_DIRECT 1UL

static inline bool rmap_is_direct(const struct rmap_item *p)
{
	return (uintptr_t)p & RMAP_DIRECT;
}

static inline struct mm *rmap_direct_mm(const struct rmap_item *p)
{
	return (struct mm *)((uintptr_t)p & ~RMAP_DIRECT);
}

/* The chain's items (rmap.c); rmap_add and rmap_del come here. */
int rmap_add_item(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va);
void rmap_del_item(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va);

/*
 * Record that (mm, va) maps pg; 0 or -ENOMEM (no frame for the item).
 * The direct case is inline: every fault of a fresh page takes it.
 */
static inline int rmap_add(struct vm *vm, struct page *pg, struct mm *mm,
			   vaddr_t va)
{
	if (!pg->rmap && va == pg->index) {
		pg->rmap = (struct rmap_item *)((uintptr_t)mm | RMAP_DIRECT);
		return 0;
	}
	return rmap_add_item(vm, pg, mm, va);
}

/* Forget (mm, va); BUG if it was not recorded. */
static inline void rmap_del(struct vm *vm, struct page *pg, struct mm *mm,
			    vaddr_t va)
{
	if (rmap_is_direct(pg->rmap)) {
		BUG_ON(rmap_direct_mm(pg->rmap) != mm || va != pg->index);
		pg->rmap = NULL;
		return;
	}
	rmap_del_item(vm, pg, mm, va);
}

typedef void (*rmap_visit_fn)(void *arg, struct mm *mm, vaddr_t va);
/* Call fn for each mapping of pg (fn may be NULL); returns how many. */
unsigned rmap_walk(const struct page *pg, rmap_visit_fn fn, void *arg);

/* The most recent mapping of pg into *mm, *va; false when it has none. */
static inline bool rmap_first(const struct page *pg, struct mm **mm,
			      vaddr_t *va)
{
	const struct rmap_item *it = pg->rmap;

	if (!it)
		return false;
	*mm = rmap_is_direct(it) ? rmap_direct_mm(it) : it->mm;
	*va = rmap_is_direct(it) ? pg->index : it->va;
	return true;
}

#endif /* VMEMU_RMAP_H */
