/*
 * user/umalloc_internal.h - what the umalloc_*.c files share: the host
 * control struct, the accessor layer (a tag or link at an emulated
 * address), tag helpers, and the policy and list primitives.
 *
 * Files:
 *   umalloc.c        heap create/attach, malloc/free/realloc/calloc,
 *                    the brk heap (grow, trim), mmapped chunks, opt
 *   umalloc_mem.c    the accessor's slow paths, bulk copy and zeroing
 *   umalloc_fit.c    free lists: link/unlink, the placement policies,
 *                    splitting (place) and the rover
 *   umalloc_check.c  umalloc_check, umalloc_stats, the attach walk
 *   umalloc_leaks.c  the leak report at exit
 *
 * Locking: none.  A heap belongs to its task; only that task's thread
 * calls into it (umalloc_heap_destroy excepted).
 */
#ifndef VMEMU_USER_UMALLOC_INTERNAL_H
#define VMEMU_USER_UMALLOC_INTERNAL_H

#include <string.h>

#include "user/umalloc.h"

struct umalloc_heap {
	struct vm_task *t;
	enum umalloc_policy policy;
	bool native;		 /* words through the window, else vm_read */
	uint64_t arena;		 /* va of the arena page */
	uint64_t lo, top;	 /* brk heap [lo, top): cached from the arena */
	uint64_t first;		 /* tag of the first block */
	uint8_t *arena_host;	 /* native: vm_ptr(t, arena) */
	uint8_t *lo_host;	 /* native: vm_ptr(t, lo) */
	struct umalloc_stats st; /* counters (observations only) */
};

/* ---- accessor layer -------------------------------------------------- */

uint64_t um_load_slow(struct umalloc_heap *h, uint64_t va);
void um_store_slow(struct umalloc_heap *h, uint64_t va, uint64_t v);

/* Native: a host pointer for the word at va, if inside heap or arena. */
static inline uint8_t *um_fast(const struct umalloc_heap *h, uint64_t va)
{
	if (!h->native)
		return NULL;
	if (va >= h->lo && va < h->top && h->top - va >= UMALLOC_WORD)
		return h->lo_host + (va - h->lo);
	if (va - h->arena <= UMALLOC_A_BYTES - UMALLOC_WORD)
		return h->arena_host + (va - h->arena);
	return NULL;
}

static inline uint64_t um_load(struct umalloc_heap *h, uint64_t va)
{
	uint8_t *p = um_fast(h, va);
	uint64_t v;

	if (!p)
		return um_load_slow(h, va);
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void um_store(struct umalloc_heap *h, uint64_t va, uint64_t v)
{
	uint8_t *p = um_fast(h, va);

	if (!p) {
		um_store_slow(h, va, v);
		return;
	}
	memcpy(p, &v, sizeof(v));
}

/* Copy/zero payload bytes (either mode; ranges inside the task). */
void um_copy(struct umalloc_heap *h, uint64_t dst, uint64_t src, size_t n);
void um_zero(struct umalloc_heap *h, uint64_t dst, size_t n);

/* Corruption found: end the task like glibc's malloc_printerr. */
_Noreturn void um_corrupt(struct umalloc_heap *h, const char *msg);

/* ---- tags ------------------------------------------------------------ */

static inline uint64_t um_size(uint64_t tag)
{
	return tag & UMALLOC_TAG_SIZE_MASK;
}

static inline bool um_inuse(uint64_t tag)
{
	return tag & UMALLOC_TAG_ALLOC;
}

static inline uint64_t um_slack(uint64_t tag)
{
	return tag >> UMALLOC_TAG_SLACK_SHIFT;
}

static inline uint64_t um_tag(uint64_t size, bool inuse, uint64_t slack)
{
	return slack << UMALLOC_TAG_SLACK_SHIFT | size |
	       (inuse ? UMALLOC_TAG_ALLOC : 0);
}

/* Write a block's header and footer. */
static inline void um_set_tags(struct umalloc_heap *h, uint64_t b, uint64_t tag)
{
	um_store(h, b, tag);
	um_store(h, b + um_size(tag) - UMALLOC_WORD, tag);
}

static inline uint64_t um_arena_get(struct umalloc_heap *h, unsigned off)
{
	return um_load(h, h->arena + off);
}

static inline void um_arena_set(struct umalloc_heap *h, unsigned off,
				uint64_t v)
{
	um_store(h, h->arena + off, v);
}

static inline uint64_t um_epilogue(const struct umalloc_heap *h)
{
	return h->top - UMALLOC_WORD;
}

static inline uint64_t um_align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* ---- lists (umalloc_fit.c) -------------------------------------------- */

/* Node links: next at node+8, prev at node+16 (blocks and sentinels). */
#define UM_NEXT 8
#define UM_PREV 16

static inline uint64_t um_bin_node(const struct umalloc_heap *h, unsigned i)
{
	return h->arena + UMALLOC_A_BINS + 16ULL * i;
}

static inline bool um_is_sentinel(const struct umalloc_heap *h, uint64_t x)
{
	return x - h->arena < UMALLOC_A_BYTES;
}

/* A plausible block address: inside the heap, 8 mod 16. */
static inline bool um_is_block(const struct umalloc_heap *h, uint64_t b)
{
	return b >= h->first && b < um_epilogue(h) &&
	       (b & (UMALLOC_ALIGN - 1)) == UMALLOC_WORD;
}

/* Follow a link of node x, checked (corruption ends the task). */
uint64_t um_link(struct umalloc_heap *h, uint64_t x, unsigned which);
void um_list_insert_after(struct umalloc_heap *h, uint64_t pos, uint64_t b);
void um_list_unlink(struct umalloc_heap *h, uint64_t b);

unsigned um_bin_of(uint64_t size);
uint64_t um_bin_floor(unsigned bin);
/* Block size for a request (seg rounds small blocks up to a bin floor). */
uint64_t um_block_size(const struct umalloc_heap *h, uint64_t nbytes);

/*
 * Find a free block of at least asize by the heap's policy (counts the
 * nodes visited); 0 if none.
 */
uint64_t um_find_fit(struct umalloc_heap *h, uint64_t asize);
/*
 * Allocate asize bytes at the start of free block b (listed, free): split
 * off a remainder >= the minimum block, move the rover (rule R1), tag b
 * in use with the request's slack.
 */
void um_place(struct umalloc_heap *h, uint64_t b, uint64_t asize,
	      uint64_t nbytes);
/* Put free block b (tags written) on its list, no neighbour free. */
void um_free_insert(struct umalloc_heap *h, uint64_t b);
/*
 * Free block old (listed) gives way to free block b of size bytes, b's
 * tags written here (after old's links are read: they may overlap).  b
 * must lie before or inside old with no free block in between: it keeps
 * old's list position (fit) or moves bins (seg); the rover follows (R2).
 */
void um_free_replace(struct umalloc_heap *h, uint64_t old, uint64_t b,
		     uint64_t size);
/*
 * Remove free block b from its list.  Rule R2: a rover at b moves to heir
 * (the block b merged into), or to b's successor when heir is 0.
 */
void um_free_remove(struct umalloc_heap *h, uint64_t b, uint64_t heir);
/* Free block b's size changed in place (trim): re-bin it (seg). */
void um_free_resized(struct umalloc_heap *h, uint64_t b);

/* What a walk of the heap finds (umalloc_check.c). */
struct um_walk {
	uint64_t free_bytes, free_blocks, largest_free, sliver_blocks;
	uint64_t live_requested, live_granted, live_blocks;
	uint64_t mmapped_bytes, mmapped_chunks;
};
/* Walk blocks and chunks (at most max_chunks): 0 or UMALLOC_CHECK_*. */
int um_walk(struct umalloc_heap *h, struct um_walk *w, uint64_t max_chunks);

/* Counter helpers. */
void um_note_footprint(struct umalloc_heap *h);
void um_note_search(struct umalloc_heap *h, uint64_t visits);

#endif /* VMEMU_USER_UMALLOC_INTERNAL_H */
