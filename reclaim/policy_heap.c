/*
 * reclaim/policy_heap.c - the indexed 4-ary min-heap of policy_heap.h.
 * Sifts move a hole instead of swapping: each level costs one entry copy
 * and one pos[] store.
 *
 * Locking: the machine lock.  SIGSAFE but pheap_init / pheap_fini.
 */
#include "reclaim/policy_heap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/types.h"

#define ARITY	   4
#define CACHE_LINE 64
/* e = mem + HEAP_SKEW entries: e[1] (the root's children) line-aligned. */
#define HEAP_SKEW (CACHE_LINE / sizeof(struct pheap_ent) - 1)

int pheap_init(struct pheap *h, uint64_t cap, uint64_t nr_pfns)
{
	size_t bytes;

	memset(h, 0, sizeof(*h));
	if (cap >= PHEAP_NONE || nr_pfns >= PHEAP_NONE)
		return -EOVERFLOW;
	bytes = (cap + HEAP_SKEW + 1) * sizeof(*h->e);
	h->mem = aligned_alloc(CACHE_LINE, (bytes + CACHE_LINE - 1) /
						   CACHE_LINE * CACHE_LINE);
	h->pos = malloc((nr_pfns ? nr_pfns : 1) * sizeof(*h->pos));
	if (!h->mem || !h->pos) {
		pheap_fini(h);
		return -ENOMEM;
	}
	h->e = (struct pheap_ent *)h->mem + HEAP_SKEW;
	memset(h->pos, 0xff, nr_pfns * sizeof(*h->pos)); /* PHEAP_NONE */
	h->cap = cap;
	h->nr_pfns = nr_pfns;
	return 0;
}

void pheap_fini(struct pheap *h)
{
	free(h->mem);
	free(h->pos);
	memset(h, 0, sizeof(*h));
}

static inline bool less(const struct pheap_ent *a, const struct pheap_ent *b)
{
	return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

/* Put x at i (a hole) and move it up while it is below its parent. */
static SIGSAFE void sift_up(struct pheap *h, uint64_t i, struct pheap_ent x)
{
	while (i > 0) {
		uint64_t parent = (i - 1) / ARITY;

		if (!less(&x, &h->e[parent]))
			break;
		h->e[i] = h->e[parent];
		h->pos[h->e[i].pfn] = (uint32_t)i;
		i = parent;
	}
	h->e[i] = x;
	h->pos[x.pfn] = (uint32_t)i;
}

/* Put x at i (a hole) and move it down while a child is below it. */
static SIGSAFE void sift_down(struct pheap *h, uint64_t i, struct pheap_ent x)
{
	uint64_t n = h->n;

	for (;;) {
		uint64_t first = ARITY * i + 1, c = first;

		if (first >= n)
			break;
		for (uint64_t k = first + 1; k < MIN(first + ARITY, n); k++)
			if (less(&h->e[k], &h->e[c]))
				c = k;
		if (!less(&h->e[c], &x))
			break;
		h->e[i] = h->e[c];
		h->pos[h->e[i].pfn] = (uint32_t)i;
		i = c;
	}
	h->e[i] = x;
	h->pos[x.pfn] = (uint32_t)i;
}

SIGSAFE bool pheap_set(struct pheap *h, uint64_t pfn, uint32_t hi, uint64_t lo)
{
	struct pheap_ent x = { lo, hi, (uint32_t)pfn };
	uint32_t i = h->pos[pfn];

	if (i == PHEAP_NONE) {
		if (h->n == h->cap)
			return false;
		sift_up(h, h->n++, x);
	} else if (less(&x, &h->e[i])) {
		sift_up(h, i, x);
	} else {
		sift_down(h, i, x);
	}
	return true;
}

SIGSAFE void pheap_del(struct pheap *h, uint64_t pfn)
{
	uint32_t i = h->pos[pfn];
	struct pheap_ent last;

	if (i == PHEAP_NONE)
		return;
	h->pos[pfn] = PHEAP_NONE;
	last = h->e[--h->n];
	if (i == h->n)
		return;
	if (less(&last, &h->e[i]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

SIGSAFE void pheap_for_each(struct pheap *h,
			    void (*f)(struct pheap_ent *e, void *arg),
			    void *arg)
{
	for (uint64_t i = 0; i < h->n; i++)
		f(&h->e[i], arg);
}

SIGSAFE void pheap_rebuild(struct pheap *h)
{
	for (uint64_t i = MIN(h->n, h->n / ARITY + 1); i-- > 0;)
		sift_down(h, i, h->e[i]);
}

SIGSAFE void pheap_filter(struct pheap *h,
			  bool (*keep)(uint64_t pfn, void *arg), void *arg)
{
	uint64_t j = 0;

	for (uint64_t i = 0; i < h->n; i++) {
		if (!keep(h->e[i].pfn, arg)) {
			h->pos[h->e[i].pfn] = PHEAP_NONE;
			continue;
		}
		h->e[j] = h->e[i];
		h->pos[h->e[j].pfn] = (uint32_t)j;
		j++;
	}
	h->n = j;
	pheap_rebuild(h);
}

int pheap_check(const struct pheap *h)
{
	uint64_t with_entry = 0;

	if (h->n > h->cap)
		return PHEAP_CHECK_COUNT;
	for (uint64_t i = 0; i < h->n; i++) {
		if (h->e[i].pfn >= h->nr_pfns || h->pos[h->e[i].pfn] != i)
			return PHEAP_CHECK_POS;
		if (i && less(&h->e[i], &h->e[(i - 1) / ARITY]))
			return PHEAP_CHECK_ORDER;
	}
	for (uint64_t p = 0; p < h->nr_pfns; p++)
		with_entry += h->pos[p] != PHEAP_NONE;
	return with_entry == h->n ? 0 : PHEAP_CHECK_COUNT;
}
