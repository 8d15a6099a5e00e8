/*
 * vm/rmap.h - the reverse map: for a frame, every (address space, va)
 * whose PTE maps it.
 *
 *   struct page --rmap--> [mm A, va] --next--> [mm B, va'] --> NULL
 *
 * One rmap_item (from the slab) per mapping, chained from page->rmap, so a
 * COW-shared frame after several forks lists each of its mappings.  The
 * shared zero frame is not reverse-mapped.
 *
 * Invariant: the chain length equals page->_mapcount, and each item names
 * a PTE that maps the frame.  Locking: the machine lock.  SIGSAFE.
 */
#ifndef VMEMU_RMAP_H
#define VMEMU_RMAP_H

#include "vm/machine.h"

struct rmap_item {
	struct mm *mm;
	vaddr_t va;
	struct rmap_item *next;
};

/* Record that (mm, va) maps pg; 0 or -ENOMEM (no frame for the item). */
int rmap_add(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va);
/* Forget (mm, va); BUG if it was not recorded. */
void rmap_del(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va);

typedef void (*rmap_visit_fn)(void *arg, struct mm *mm, vaddr_t va);
/* Call fn for each mapping of pg; returns how many. */
unsigned rmap_walk(struct page *pg, rmap_visit_fn fn, void *arg);

#endif /* VMEMU_RMAP_H */
