/*
 * vm/slab_internal.h - the slab allocator's private structures, shared by
 * vm/slab.c and its invariant walker vm/slab_check.c (see slab.c for the
 * layout of a slab and its bitmap).  Nothing else includes this.
 */
#ifndef VMEMU_SLAB_INTERNAL_H
#define VMEMU_SLAB_INTERNAL_H

#include "base/fault_inject.h"
#include "vm/slab.h"

#define SLAB_ALIGN	    8
#define SLAB_WASTE_FRACTION 8
#define BITS_PER_WORD	    64
#define HEAD_WORDS	    3 /* head->slab_word[0..2] */
#define TAIL_SW_WORDS	    3 /* tail->slab_word[0..2] */
#define TAIL_WORDS	    5 /* ... then tail->slab_lru_word[0..1] */
#define KMEM_CACHE_NAME	    "kmem_cache"

enum { SLABS_FULL, SLABS_PARTIAL, SLABS_FREE, NR_SLAB_LISTS };

struct slab_cache {
	char name[SLAB_NAME_MAX];
	struct slab_allocator *sa;
	struct list_head list;		       /* in sa->caches */
	struct list_head slabs[NR_SLAB_LISTS]; /* head pages, by lru */
	uint64_t nr_slabs[NR_SLAB_LISTS];
	uint64_t active_objs;
	uint32_t size;	     /* bytes per object */
	uint32_t order;	     /* slab = 2^order frames */
	uint32_t objperslab; /* objects per slab */
	uint32_t nr_words;   /* bitmap words covering objperslab */
	gfp_t gfp;	     /* how hard growing a slab may try */
};

struct slab_allocator {
	struct phys *ph;
	struct slab_page_source pages; /* where slab frames come from */
	struct fault_attr *failslab;   /* injection point, or NULL */
	struct slab_cache *kmem_cache; /* the cache of caches */
	struct list_head caches;       /* every cache, creation order */
};

static inline unsigned slab_bitmap_words(unsigned order)
{
	return HEAD_WORDS + TAIL_WORDS * ((1u << order) - 1);
}

/* SIGSAFE: bitmap word w of the slab at head (see the figure above). */
static inline uint64_t *slab_word(struct page *head, unsigned w)
{
	struct page *tail;
	unsigned slot;

	if (w < HEAD_WORDS)
		return &head->slab_word[w];
	w -= HEAD_WORDS;
	tail = head + 1 + w / TAIL_WORDS;
	slot = w % TAIL_WORDS;
	if (slot < TAIL_SW_WORDS)
		return &tail->slab_word[slot];
	return &tail->slab_lru_word[slot - TAIL_SW_WORDS];
}

/* SIGSAFE: the bits of word w that name real slots. */
static inline uint64_t slab_word_mask(const struct slab_cache *c, unsigned w)
{
	unsigned first = w * BITS_PER_WORD;

	if (first + BITS_PER_WORD <= c->objperslab)
		return ~0ULL;
	return (1ULL << (c->objperslab - first)) - 1;
}

static inline int slab_list_of(const struct slab_cache *c, uint32_t inuse)
{
	if (inuse == 0)
		return SLABS_FREE;
	return inuse == c->objperslab ? SLABS_FULL : SLABS_PARTIAL;
}

#endif /* VMEMU_SLAB_INTERNAL_H */
