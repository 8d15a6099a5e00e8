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

#define SLAB_NAME_MAX  24 /* bytes of a name, with its NUL */
#define SLAB_MAX_ORDER 3  /* slabs are 1..8 frames */
#define SLAB_MAX_SIZE  (PAGE_SIZE << SLAB_MAX_ORDER) /* largest object */
#define SLAB_MIN_SIZE  16 /* smaller objects are rounded up to it */
#define SLAB_FREE_KEPT 2  /* empty slabs a cache keeps before shrink */

struct slab_cache;
struct slab_allocator;

/* Bring up the allocator (and its cache of caches).  0 or -ENOMEM. */
int slab_allocator_create(struct phys *ph, struct buddy *b,
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

struct slab_cache_stats {
	uint64_t active_objs, num_objs, objsize, objperslab, pagesperslab;
	uint64_t active_slabs, num_slabs;
	uint64_t nr_full, nr_partial, nr_free; /* slabs on each list */
};
void slab_cache_get_stats(const struct slab_cache *c,
			  struct slab_cache_stats *st);

/* Walk every invariant of the cache; 0 when all hold. */
int slab_check(const struct slab_cache *c);

#endif /* VMEMU_SLAB_H */
