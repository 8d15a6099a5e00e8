/*
 * vm/rmap.c - reverse-map chains (see rmap.h).  Items come from the
 * "rmap_item" slab cache, so this runs on the fault path: SIGSAFE, under
 * the machine lock.  Chains are short (one item per mapping), so a linear
 * search on removal is fine.
 */
#include "vm/rmap.h"

#include <errno.h>

SIGSAFE int rmap_add(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va)
{
	struct rmap_item *it = slab_alloc(vm->rmap_cache);

	if (!it)
		return -ENOMEM;
	it->mm = mm;
	it->va = va;
	it->next = pg->rmap;
	pg->rmap = it;
	return 0;
}

SIGSAFE void rmap_del(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va)
{
	struct rmap_item **pp = &pg->rmap;

	while (*pp && ((*pp)->mm != mm || (*pp)->va != va))
		pp = &(*pp)->next;
	BUG_ON(!*pp);
	struct rmap_item *it = *pp;
	*pp = it->next;
	slab_free(vm->rmap_cache, it);
}

SIGSAFE unsigned rmap_walk(struct page *pg, rmap_visit_fn fn, void *arg)
{
	unsigned n = 0;

	for (struct rmap_item *it = pg->rmap; it; it = it->next, n++)
		if (fn)
			fn(arg, it->mm, it->va);
	return n;
}
