/*
 * vm/slab.h - slab caches of fixed-size objects on top of the buddy.
 *
 * A cache hands out objects of one size from slabs of 2^order frames.
 * Each slab sits on one of the cache's three lists:
 *
 *   slabs_full    every slot in use
 *   slabs_partial some slots in use
 *   slabs_free    no slot in use (returned to the buddy by slab_shrink)
 *
 * Objects per slab = floor(PAGE_SIZE << order / object size), exactly what
 * /proc/slabinfo reports as objperslab: slot bookkeeping (a bitmap per slab)
 * lives outside the slab's bytes.  Objects live in emulated RAM and are
 * reached through the direct map.  Nothing here calls malloc: cache
 * descriptors themselves come from a built-in cache of caches, so the
 * emulated kernel's own objects (VMAs, rmap items, tasks) can be allocated
 * on the fault path.
 *
 * Locking: none inside; the caller serialises (the machine lock).
 * slab_alloc/slab_free are SIGSAFE.
 */
#ifndef VMEMU_SLAB_H
#define VMEMU_SLAB_H

#include <stddef.h>

#include "vm/buddy.h"
#include "vm/gfp.h"

struct fault_attr;

#define SLAB_NAME_MAX  24 /* bytes of a name, with its NUL */
#define SLAB_MAX_ORDER 3  /* slabs are 1..8 frames */
#define SLAB_MAX_SIZE  (PAGE_SIZE << SLAB_MAX_ORDER) /* largest object */
#define SLAB_MIN_SIZE  16 /* smaller objects are rounded up to it */
#define SLAB_FREE_KEPT 2  /* empty slabs a cache keeps before shrink */

struct slab_cache;
struct slab_allocator;

/*
 * Where slab frames come from: alloc (SIGSAFE) returns 0 and a block of
 * 2^order frames (struct pages clear) or -ENOMEM; free takes it back.
 */
struct slab_page_source {
	int (*alloc)(void *ctx, unsigned order, gfp_t gfp, pfn_t *pfn);
	void (*free)(void *ctx, pfn_t pfn, unsigned order);
	void *ctx;
};

/*
 * Bring up the allocator (and its cache of caches) over the buddy b, or
 * over `pages` when not NULL (the machine's page allocator: watermarks and
 * accounting).  failslab, when not NULL, is consulted by every slab_alloc
 * (Linux's failslab).  0 or -ENOMEM.
 */
int slab_allocator_create(struct phys *ph, struct buddy *b,
			  const struct slab_page_source *pages,
			  struct fault_attr *failslab,
			  struct slab_allocator **out);
/* Destroys every cache; all objects must have been freed.  */
void slab_allocator_destroy(struct slab_allocator *sa);

/*
 * Create a cache of objects of `size` bytes (rounded up to 8-byte alignment,
 * and to SLAB_MIN_SIZE).  name: 1..SLAB_NAME_MAX-1 characters, copied.
 * Returns 0 and *out, -EINVAL for a bad size/name, -ENOMEM when no frame is
 * left for the descriptor.
 */
int slab_cache_create(struct slab_allocator *sa, const char *name, size_t size,
		      struct slab_cache **out);
/* How hard growing c may try (default GFP_KERNEL). */
void slab_cache_set_gfp(struct slab_cache *c, gfp_t gfp);
/* The cache must be empty (no live objects).  Frees its slabs. */
void slab_cache_destroy(struct slab_cache *c);

/* SIGSAFE.  A pointer into the direct map, or NULL when no frame is free. */
void *slab_alloc(struct slab_cache *c);
/* SIGSAFE.  obj must come from c. */
void slab_free(struct slab_cache *c, void *obj);

/* Return every empty slab of every cache to the buddy; frames freed. */
uint64_t slab_shrink(struct slab_allocator *sa);

/*
 * /proc/slabinfo version 2.1 for every cache: header lines, then one line
 * per cache.  Returns the length it needs (like snprintf).
 */
int slab_info(const struct slab_allocator *sa, char *buf, size_t len);

/*
 * vmemu's /proc/slab_waste: per cache, the bytes its slabs hold against
 * the bytes of its live objects, and where the difference goes (free
 * slots, slab tails).  One header line, one line per cache, a total line.
 * Like snprintf.  (docs/allocators.md.)
 */
int slab_waste_info(const struct slab_allocator *sa, char *buf, size_t len);

struct slab_cache_stats {
	uint64_t active_objs, num_objs, objsize, objperslab, pagesperslab;
	uint64_t active_slabs, num_slabs;
	uint64_t nr_full, nr_partial, nr_free; /* slabs on each list */
	/* Waste (bytes): slab_bytes = live_bytes + free_slot_bytes +
	   tail_bytes, the tail being what no whole object fits in. */
	uint64_t slab_bytes, live_bytes, free_slot_bytes, tail_bytes;
};
void slab_cache_get_stats(const struct slab_cache *c,
			  struct slab_cache_stats *st);

/* slab_check() results: the invariant of slab.c that broke (first found). */
enum slab_check_err {
	SLAB_CHECK_LIST = -1201,      /* 1: a slab on the wrong list */
	SLAB_CHECK_BITMAP = -1202,    /* 2: bitmap vs inuse */
	SLAB_CHECK_COUNT = -1203,     /* 3: list lengths / active_objs */
	SLAB_CHECK_FRAMES = -1204,    /* 4: frame flags, owner, alignment */
	SLAB_CHECK_FREE_KEPT = -1205, /* 5: too many empty slabs kept */
	SLAB_CHECK_GEOMETRY = -1206,  /* 6: size, order, objperslab */
};

/* Walk every invariant of the cache; 0, or an enum slab_check_err. */
int slab_check(const struct slab_cache *c);

#endif /* VMEMU_SLAB_H */
