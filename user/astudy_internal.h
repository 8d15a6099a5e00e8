/*
 * user/astudy_internal.h - the study's page-granular models, shared by
 * astudy_model.c (the astudy_model_* entry points and accounting),
 * astudy_pages.c (the buddy and bitmap page allocators) and
 * astudy_kmalloc.c (size classes on slabs over the buddy model).
 *
 * These are textbook models over a simulated arena of pages numbered
 * 0..npages-1 at the made-up address AM_BASE; they hold no memory of
 * their own beyond host-side bookkeeping, and they are not the emulated
 * kernel's allocators (vm/buddy.c, vm/slab.c), which user/ must not see.
 *
 * Locking: none; one model per caller.
 */
#ifndef VMEMU_USER_ASTUDY_INTERNAL_H
#define VMEMU_USER_ASTUDY_INTERNAL_H

#include "user/allocstudy.h"

#define AM_NONE	     UINT64_MAX
#define AM_BASE	     (1ULL << 32) /* simulated address of page 0 */
#define AM_MAX_ORDER 40

/* ---- buddy (astudy_pages.c) -------------------------------------------- */

struct am_buddy {
	uint64_t npages;
	unsigned max_order;
	uint64_t head[AM_MAX_ORDER + 1]; /* LIFO free lists, AM_NONE-ended */
	uint64_t nfree[AM_MAX_ORDER + 1];
	uint64_t *next, *prev; /* links of free block heads */
	int8_t *free_order;    /* order of the free block headed here, -1 */
	uint64_t free_pages;
};

/* The smallest order whose block holds npages (>= 1). */
unsigned am_order_of(uint64_t npages);
int am_buddy_init(struct am_buddy *b, uint64_t npages);
void am_buddy_fini(struct am_buddy *b);
/* 2^order pages: the first, or AM_NONE; *visits += orders examined. */
uint64_t am_buddy_alloc(struct am_buddy *b, unsigned order, uint64_t *visits);
void am_buddy_free(struct am_buddy *b, uint64_t pfn, unsigned order);
/* Largest free block (pages), free block count. */
uint64_t am_buddy_largest(const struct am_buddy *b);
uint64_t am_buddy_blocks(const struct am_buddy *b);
/* Free lists well formed and disjoint; their pages marked in seen. */
int am_buddy_check(const struct am_buddy *b, uint8_t *seen);

/* ---- bitmap (astudy_pages.c) ------------------------------------------- */

struct am_bitmap {
	uint64_t npages, used;
	uint64_t *bits; /* 1 = page in use */
	uint64_t hint;	/* no free page below it */
};

int am_bitmap_init(struct am_bitmap *bm, uint64_t npages);
void am_bitmap_fini(struct am_bitmap *bm);
/* n consecutive free pages, first fit: the first, or AM_NONE. */
uint64_t am_bitmap_alloc(struct am_bitmap *bm, uint64_t n, uint64_t *visits);
void am_bitmap_free(struct am_bitmap *bm, uint64_t pfn, uint64_t n);
bool am_bitmap_test(const struct am_bitmap *bm, uint64_t pfn);
/* Free runs: how many, the longest (pages). */
void am_bitmap_runs(const struct am_bitmap *bm, uint64_t *runs,
		    uint64_t *longest);

/* ---- kmalloc (astudy_kmalloc.c) ------------------------------------------ */

struct am_kmalloc;

#define AM_KMALLOC_MAX 8192 /* KMALLOC_MAX_CACHE_SIZE: larger -> buddy */

/* The class size serving n bytes (1 <= n <= AM_KMALLOC_MAX). */
uint32_t am_kmalloc_class(uint64_t n);
int am_kmalloc_init(struct am_kmalloc **km, struct am_buddy *b);
void am_kmalloc_fini(struct am_kmalloc *km);
/*
 * An object for n bytes: its address, or 0 (the buddy model had no slab).
 * *slab_pages: pages a new slab took (0 if none); on failure, the pages
 * the slab would have needed.
 */
uint64_t am_kmalloc_alloc(struct am_kmalloc *km, uint64_t n, uint64_t *visits,
			  uint64_t *slab_pages);
/* Is pfn a slab page? */
bool am_kmalloc_owns(const struct am_kmalloc *km, uint64_t pfn);
/*
 * Free the object at addr (a slab page): 0 and its requested bytes and
 * class in *req / *cls, *slab_pages freed with an emptied slab; -EINVAL
 * if addr is not a live object.
 */
int am_kmalloc_free(struct am_kmalloc *km, uint64_t addr, uint64_t *req,
		    uint64_t *cls, uint64_t *slab_pages);
/* The class of the live object at addr, 0 if none. */
uint64_t am_kmalloc_granted(const struct am_kmalloc *km, uint64_t addr);
/* Slabs consistent; their pages marked in seen; live bytes summed. */
int am_kmalloc_check(const struct am_kmalloc *km, uint8_t *seen,
		     uint64_t *live_req, uint64_t *live_granted,
		     uint64_t *objects);

#endif /* VMEMU_USER_ASTUDY_INTERNAL_H */
