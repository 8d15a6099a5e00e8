/*
 * user/astudy_kmalloc.c - a model of Linux's kmalloc: requests up to 8 KiB
 * are rounded up to a size class and served from a slab of that class;
 * slabs are runs of pages taken from the buddy model.
 *
 *   classes   8 16 32 64 96 128 192 256 512 1k 2k 4k 8k  (kmalloc_index)
 *   slab      the smallest power of two of pages holding >= 8 objects,
 *             1 to 8 pages; objects = slab bytes / class size
 *
 *   class 96:  [obj0 obj1 ... obj41 | 64 bytes unused]   one 4 KiB page
 *
 * Each class keeps its partial slabs (some objects free) on a list; an
 * allocation takes an object from the first partial slab (its free
 * objects are a LIFO stack, as SLUB's freelist is) or makes a new slab;
 * a free pushes the object back, and a slab that becomes empty returns
 * its pages to the buddy model at once (SLUB keeps a few: min_partial;
 * the model does not).  Requests above 8 KiB go to the buddy model as
 * whole pages (kmalloc_large) - handled by astudy_model.c.
 *
 * Invariants (am_kmalloc_check):
 *  1. A slab's free stack holds exactly its free objects; inuse + free =
 *     objects; a slab is on its class's partial list iff it has a free
 *     object; no slab is empty.
 *  2. Every page of a slab maps back to it (slab_of); slab pages are
 *     disjoint from the buddy's free blocks.
 *
 * Locking: none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "user/astudy_internal.h"

#define KM_NCLASSES    13
#define KM_MIN_OBJECTS 8
#define KM_MAX_ORDER   3 /* slabs of at most 8 pages */
#define KM_NO_SLAB     (-1)

static const uint32_t km_sizes[KM_NCLASSES] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};

struct km_slab {
	uint64_t pfn;
	uint32_t cls, nobj, inuse, top; /* top: free objects on the stack */
	uint16_t *stack;		/* free object indices */
	uint16_t *req;			/* requested bytes; 0 = free */
	int64_t next, prev;		/* partial list, or free slot chain */
	bool partial;
};

struct am_kmalloc {
	struct am_buddy *b;
	struct km_slab *slabs;
	int64_t nslabs, cap, free_slot;
	uint32_t *slab_of; /* per page: slab index + 1, 0 = none */
	int64_t partial[KM_NCLASSES];
};

static unsigned km_class_index(uint64_t n)
{
	unsigned c = 0;

	while (c < KM_NCLASSES - 1 && km_sizes[c] < n)
		c++;
	return c;
}

uint32_t am_kmalloc_class(uint64_t n)
{
	return km_sizes[km_class_index(n)];
}

static unsigned km_order(unsigned cls)
{
	unsigned o = 0;

	while (o < KM_MAX_ORDER &&
	       ((uint64_t)VM_PAGE_SIZE << o) < KM_MIN_OBJECTS * km_sizes[cls])
		o++;
	return o;
}

int am_kmalloc_init(struct am_kmalloc **out, struct am_buddy *b)
{
	struct am_kmalloc *km = calloc(1, sizeof(*km));

	if (!km)
		return -ENOMEM;
	km->b = b;
	km->free_slot = KM_NO_SLAB;
	km->slab_of = calloc(b->npages, sizeof(*km->slab_of));
	if (!km->slab_of) {
		free(km);
		return -ENOMEM;
	}
	for (unsigned c = 0; c < KM_NCLASSES; c++)
		km->partial[c] = KM_NO_SLAB;
	*out = km;
	return 0;
}

void am_kmalloc_fini(struct am_kmalloc *km)
{
	if (!km)
		return;
	for (int64_t i = 0; i < km->nslabs; i++) {
		free(km->slabs[i].stack);
		free(km->slabs[i].req);
	}
	free(km->slabs);
	free(km->slab_of);
	free(km);
}

static void km_partial_add(struct am_kmalloc *km, int64_t i)
{
	struct km_slab *s = &km->slabs[i];

	s->next = km->partial[s->cls];
	s->prev = KM_NO_SLAB;
	if (s->next != KM_NO_SLAB)
		km->slabs[s->next].prev = i;
	km->partial[s->cls] = i;
	s->partial = true;
}

static void km_partial_del(struct am_kmalloc *km, int64_t i)
{
	struct km_slab *s = &km->slabs[i];

	if (s->prev != KM_NO_SLAB)
		km->slabs[s->prev].next = s->next;
	else
		km->partial[s->cls] = s->next;
	if (s->next != KM_NO_SLAB)
		km->slabs[s->next].prev = s->prev;
	s->partial = false;
}

/* A slot for a new slab (recycled or appended), or -1. */
static int64_t km_slot(struct am_kmalloc *km)
{
	int64_t i = km->free_slot;
	struct km_slab *grown;

	if (i != KM_NO_SLAB) {
		km->free_slot = km->slabs[i].next;
		return i;
	}
	if (km->nslabs == km->cap) {
		int64_t cap = km->cap ? 2 * km->cap : 64;

		grown = realloc(km->slabs, (size_t)cap * sizeof(*grown));
		if (!grown)
			return KM_NO_SLAB;
		km->slabs = grown;
		km->cap = cap;
	}
	memset(&km->slabs[km->nslabs], 0, sizeof(*km->slabs));
	return km->nslabs++;
}

/* A new slab of class cls on the partial list: its index, or -1. */
static int64_t km_new_slab(struct am_kmalloc *km, unsigned cls,
			   uint64_t *visits, uint64_t *slab_pages)
{
	unsigned order = km_order(cls);
	uint32_t nobj = (uint32_t)((VM_PAGE_SIZE << order) / km_sizes[cls]);
	uint64_t pfn = am_buddy_alloc(km->b, order, visits);
	int64_t i = pfn == AM_NONE ? KM_NO_SLAB : km_slot(km);
	uint16_t *stack, *req;
	struct km_slab *s;

	if (i == KM_NO_SLAB) {
		if (pfn != AM_NONE)
			am_buddy_free(km->b, pfn, order);
		return KM_NO_SLAB;
	}
	s = &km->slabs[i];
	stack = realloc(s->stack, nobj * sizeof(*s->stack));
	s->stack = stack ? stack : s->stack;
	req = realloc(s->req, nobj * sizeof(*s->req));
	s->req = req ? req : s->req;
	if (!stack || !req) {
		am_buddy_free(km->b, pfn, order);
		s->next = km->free_slot;
		km->free_slot = i;
		return KM_NO_SLAB;
	}
	*s =
		(struct km_slab){ pfn,	      cls,	nobj,	0,
				  nobj,	      s->stack, s->req, KM_NO_SLAB,
				  KM_NO_SLAB, false };
	for (uint32_t k = 0; k < nobj; k++) {
		s->stack[k] = (uint16_t)(nobj - 1 - k); /* object 0 first */
		s->req[k] = 0;
	}
	for (uint64_t p = 0; p < (1ULL << order); p++)
		km->slab_of[pfn + p] = (uint32_t)i + 1;
	*slab_pages = 1ULL << order;
	km_partial_add(km, i);
	return i;
}

uint64_t am_kmalloc_alloc(struct am_kmalloc *km, uint64_t n, uint64_t *visits,
			  uint64_t *slab_pages)
{
	unsigned cls = km_class_index(n);
	int64_t i = km->partial[cls];
	struct km_slab *s;
	uint32_t obj;

	*slab_pages = 0;
	++*visits;
	if (i == KM_NO_SLAB)
		i = km_new_slab(km, cls, visits, slab_pages);
	if (i == KM_NO_SLAB) {
		*slab_pages = 1ULL << km_order(cls); /* what it needed */
		return 0;
	}
	s = &km->slabs[i];
	obj = s->stack[--s->top];
	s->req[obj] = (uint16_t)n;
	s->inuse++;
	if (!s->top)
		km_partial_del(km, i);
	return AM_BASE + s->pfn * VM_PAGE_SIZE + (uint64_t)obj * km_sizes[cls];
}

bool am_kmalloc_owns(const struct am_kmalloc *km, uint64_t pfn)
{
	return km->slab_of[pfn] != 0;
}

/* The live object at addr: its slab and index, or false. */
static bool km_object(const struct am_kmalloc *km, uint64_t addr, int64_t *slab,
		      uint32_t *obj)
{
	uint64_t pfn = (addr - AM_BASE) / VM_PAGE_SIZE, off;
	const struct km_slab *s;

	if (!km->slab_of[pfn])
		return false;
	*slab = (int64_t)km->slab_of[pfn] - 1;
	s = &km->slabs[*slab];
	off = addr - AM_BASE - s->pfn * VM_PAGE_SIZE;
	*obj = (uint32_t)(off / km_sizes[s->cls]);
	return off % km_sizes[s->cls] == 0 && *obj < s->nobj && s->req[*obj];
}

/* Give an empty slab's pages back to the buddy model. */
static uint64_t km_release(struct am_kmalloc *km, int64_t i)
{
	struct km_slab *s = &km->slabs[i];
	unsigned order = km_order(s->cls);

	km_partial_del(km, i);
	for (uint64_t p = 0; p < (1ULL << order); p++)
		km->slab_of[s->pfn + p] = 0;
	am_buddy_free(km->b, s->pfn, order);
	s->nobj = 0;
	s->next = km->free_slot;
	km->free_slot = i;
	return 1ULL << order;
}

int am_kmalloc_free(struct am_kmalloc *km, uint64_t addr, uint64_t *req,
		    uint64_t *cls, uint64_t *slab_pages)
{
	struct km_slab *s;
	int64_t i;
	uint32_t obj;

	*slab_pages = 0;
	if (!km_object(km, addr, &i, &obj))
		return -EINVAL;
	s = &km->slabs[i];
	*req = s->req[obj];
	*cls = km_sizes[s->cls];
	s->req[obj] = 0;
	s->stack[s->top++] = (uint16_t)obj;
	s->inuse--;
	if (s->top == 1)
		km_partial_add(km, i);
	if (!s->inuse)
		*slab_pages = km_release(km, i);
	return 0;
}

uint64_t am_kmalloc_granted(const struct am_kmalloc *km, uint64_t addr)
{
	int64_t i;
	uint32_t obj;

	return km_object(km, addr, &i, &obj) ? km_sizes[km->slabs[i].cls] : 0;
}

/* One live slab: counts consistent, pages its own; sums its objects. */
static int km_check_slab(const struct am_kmalloc *km, int64_t i, uint8_t *seen,
			 uint64_t *req, uint64_t *objs)
{
	const struct km_slab *s = &km->slabs[i];
	uint64_t live = 0, pages = 1ULL << km_order(s->cls);

	if (s->inuse + s->top != s->nobj || !s->inuse ||
	    s->partial != (s->top != 0))
		return -EUCLEAN;
	for (uint32_t k = 0; k < s->nobj; k++) {
		live += s->req[k] != 0;
		*req += s->req[k];
	}
	for (uint64_t p = s->pfn; p < s->pfn + pages; p++) {
		if (seen[p] || km->slab_of[p] != (uint32_t)i + 1)
			return -EUCLEAN;
		seen[p] = 1;
	}
	*objs += live;
	return live == s->inuse ? 0 : -EUCLEAN;
}

int am_kmalloc_check(const struct am_kmalloc *km, uint8_t *seen,
		     uint64_t *live_req, uint64_t *live_granted,
		     uint64_t *objects)
{
	for (int64_t i = 0; i < km->nslabs; i++) {
		const struct km_slab *s = &km->slabs[i];
		uint64_t before = *objects;

		if (!s->nobj)
			continue; /* a recycled slot */
		if (km_check_slab(km, i, seen, live_req, objects))
			return -EUCLEAN;
		*live_granted += (*objects - before) * km_sizes[s->cls];
	}
	return 0;
}
