/*
 * vm/rmap.c - reverse-map chains (see rmap.h).  Items come from the
 * "rmap_item" slab cache, so this runs on the fault path: SIGSAFE, under
 * the machine lock.  Chains are short (one item per mapping), so a linear
 * search on removal is fine.
 */
#include "vm/rmap.h"

#include <errno.h>

#define RMAP_DIRECT 1UL

static inline bool is_direct(const struct rmap_item *p)
{
	return (uintptr_t)p & RMAP_DIRECT;
}

static inline struct mm *direct_mm(const struct rmap_item *p)
{
	return (struct mm *)((uintptr_t)p & ~RMAP_DIRECT);
}

SIGSAFE int rmap_add(struct vm *vm, struct page *pg, struct mm *mm, vaddr_t va)
{
	struct rmap_item *it;

	if (!pg->rmap && va == pg->index) {
		pg->rmap = (struct rmap_item *)((uintptr_t)mm | RMAP_DIRECT);
		return 0;
	}
	it = slab_alloc(vm->rmap_cache);
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

	for (;;) {
		BUG_ON(!*pp);
		if (is_direct(*pp)) {
			BUG_ON(direct_mm(*pp) != mm || va != pg->index);
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
		if (is_direct(it)) {
			if (fn)
				fn(arg, direct_mm(it), pg->index);
			return n + 1;
		}
		if (fn)
			fn(arg, it->mm, it->va);
	}
	return n;
}

SIGSAFE bool rmap_first(const struct page *pg, struct mm **mm, vaddr_t *va)
{
	const struct rmap_item *it = pg->rmap;

	if (!it)
		return false;
	*mm = is_direct(it) ? direct_mm(it) : it->mm;
	*va = is_direct(it) ? pg->index : it->va;
	return true;
}
