/*
 * vm/rmap.c - reverse-map chains (see rmap.h).  Items come from the
 * "rmap_item" slab cache, so this runs on the fault path: SIGSAFE, under
 * the machine lock.  Chains are short (one item per mapping), so a linear
 * search on removal is fine.
 */
#include "vm/rmap.h"

#include <errno.h>

SIGSAFE int rmap_add_item(struct vm *vm, struct page *pg, struct mm *mm,
			  vaddr_t va)
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

SIGSAFE void rmap_del_item(struct vm *vm, struct page *pg, struct mm *mm,
			   vaddr_t va)
{
	struct rmap_item **pp = &pg->rmap;

	for (;;) {
		BUG_ON(!*pp);
		if (rmap_is_direct(*pp)) {
			BUG_ON(rmap_direct_mm(*pp) != mm || va != pg->index);
			*pp = NULL;
			return;
		}
		if ((*pp)->mm == mm && (*pp)->va == va)
			break;
		pp = &(*pp)->next;
	}
	struct rmap_item *it = *pp;
	*pp = it->next;
	slab_free(vm->rmap_cache, it);
}

SIGSAFE unsigned rmap_walk(const struct page *pg, rmap_visit_fn fn, void *arg)
{
	unsigned n = 0;

	for (const struct rmap_item *it = pg->rmap; it; it = it->next, n++) {
		if (rmap_is_direct(it)) {
			if (fn)
				fn(arg, rmap_direct_mm(it), pg->index);
			return n + 1;
		}
		if (fn)
			fn(arg, it->mm, it->va);
	}
	return n;
}
