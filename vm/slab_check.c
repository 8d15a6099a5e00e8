/*
 * vm/slab_check.c - slab_check(), the invariant walker of vm/slab.c (its
 * invariants 1-6, numbered in slab.c's opening comment; the result names
 * the first that broke, as enum slab_check_err).  Reads only.
 */
#include "vm/slab_internal.h"

/* Invariant 4 for one slab. */
static int check_frames(const struct slab_cache *c, const struct page *head)
{
	const struct phys *ph = c->sa->ph;
	pfn_t pfn = phys_pfn(ph, head);

	if (pfn & ((1u << c->order) - 1) ||
	    pfn + (1u << c->order) > ph->nr_pages)
		return SLAB_CHECK_FRAMES;
	for (unsigned i = 0; i < (1u << c->order); i++) {
		uint32_t want = PG_slab | (i == 0 ? PG_head : 0);

		if ((head[i].flags & (PG_slab | PG_head)) != want ||
		    head[i].slab_cache != c || (i > 0 && head[i].private != i))
			return SLAB_CHECK_FRAMES;
	}
	return 0;
}

/* Invariants 1 (given list l), 2 and 4 for one slab. */
static int check_slab(const struct slab_cache *c, struct page *head, int l)
{
	unsigned popcount = 0;
	int err = check_frames(c, head);

	if (err)
		return err;
	if (head->private > c->objperslab ||
	    slab_list_of(c, head->private) != l)
		return SLAB_CHECK_LIST;
	for (unsigned w = 0; w < slab_bitmap_words(c->order); w++) {
		uint64_t word = *slab_word(head, w);
		uint64_t mask = w < c->nr_words ? slab_word_mask(c, w) : 0;

		if (word & ~mask)
			return SLAB_CHECK_BITMAP;
		popcount += (unsigned)__builtin_popcountll(word);
	}
	return popcount == head->private ? 0 : SLAB_CHECK_BITMAP;
}

static int check_geometry(const struct slab_cache *c)
{
	if (c->size % SLAB_ALIGN || c->size < SLAB_MIN_SIZE ||
	    c->size > SLAB_MAX_SIZE || c->order > SLAB_MAX_ORDER)
		return SLAB_CHECK_GEOMETRY;
	if (c->objperslab != (PAGE_SIZE << c->order) / c->size ||
	    c->objperslab == 0 ||
	    c->objperslab > slab_bitmap_words(c->order) * BITS_PER_WORD)
		return SLAB_CHECK_GEOMETRY;
	return 0;
}

int slab_check(const struct slab_cache *c)
{
	uint64_t bound = c->sa->ph->nr_pages, objs = 0;
	int err = check_geometry(c);

	for (int l = 0; l < NR_SLAB_LISTS && !err; l++) {
		struct list_head *pos;
		uint64_t n = 0;

		list_for_each(pos, &c->slabs[l]) {
			struct page *head = list_entry(pos, struct page, lru);

			if (++n > bound)
				return SLAB_CHECK_COUNT; /* a cycle that misses the head */
			err = check_slab(c, head, l);
			if (err)
				return err;
			objs += head->private;
		}
		if (n != c->nr_slabs[l])
			return SLAB_CHECK_COUNT;
	}
	if (!err && objs != c->active_objs)
		err = SLAB_CHECK_COUNT;
	if (!err && c->nr_slabs[SLABS_FREE] > SLAB_FREE_KEPT)
		err = SLAB_CHECK_FREE_KEPT;
	return err;
}
