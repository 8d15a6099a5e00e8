/*
 * reclaim/policy_ghost.h - ghost lists: the identities (reclaim_page_key)
 * of pages recently evicted, without their data, in eviction order, for
 * the policies that remember what they evicted (arc's B1/B2, 2q's A1out,
 * s3fifo's ghost FIFO).
 *
 *   list 0:  head [newest key] <-> ... <-> [oldest key] tail
 *   list 1:  ...
 *   hash table: key -> node (open addressing, linear probing, backward
 *   shift on delete; at most half full)
 *
 * One pool of `cap` nodes serves every list; a key is on at most one
 * list.  Everything is O(1): find, remove a key from anywhere, push at
 * the head, drop the tail.
 *
 * Invariants (ghost_check):
 *  1. Each list's links are consistent and its length is n; nodes on the
 *     lists plus free nodes = cap.
 *  2. Every node on a list is found by its key in the table, and the
 *     table holds nothing else.
 *
 * Memory: 24 bytes per node and 8 to 16 bytes of table per node.
 * Locking: the machine lock.  SIGSAFE but ghost_init / ghost_fini.
 */
#ifndef VMEMU_POLICY_GHOST_H
#define VMEMU_POLICY_GHOST_H

#include <stdbool.h>
#include <stdint.h>

#define GHOST_LISTS  2
#define GHOST_NO_KEY UINT64_MAX /* a page whose identity is not known */

struct page;
struct reclaim;

struct ghost_node {
	uint64_t key;
	uint32_t prev, next; /* GHOST_NIL ends; next links the free list */
	uint32_t list;
};

struct ghost_list {
	uint32_t head, tail; /* newest, oldest */
	uint64_t n;
};

struct ghost {
	struct ghost_node *node; /* cap nodes */
	uint32_t *slot;		 /* node index + 1; 0: empty */
	uint64_t mask;		 /* slots - 1 */
	unsigned shift;		 /* 64 - log2(slots) */
	uint32_t cap, used, free;
	struct ghost_list list[GHOST_LISTS];
};

/* ghost_check() results; not errno values. */
enum ghost_check_err {
	GHOST_CHECK_LINKS = -1731, /* 1 */
	GHOST_CHECK_COUNT = -1732, /* 1 */
	GHOST_CHECK_TABLE = -1733, /* 2 */
};

/* An empty set of at most cap keys; 0, -ENOMEM or -EOVERFLOW. */
int ghost_init(struct ghost *g, uint64_t cap);
void ghost_fini(struct ghost *g);

/* The list holding key, or -1. */
int ghost_find(const struct ghost *g, uint64_t key);
/* Remove key; the list it was on, or -1. */
int ghost_remove(struct ghost *g, uint64_t key);
/*
 * key becomes the newest of list l (taken off any list it was on first);
 * false when every node is in use (drop one first).
 */
bool ghost_push(struct ghost *g, int l, uint64_t key);
/* Drop the oldest key of list l; false when it is empty. */
bool ghost_pop(struct ghost *g, int l);

static inline uint64_t ghost_len(const struct ghost *g, int l)
{
	return g->list[l].n;
}

static inline bool ghost_full(const struct ghost *g)
{
	return g->used == g->cap;
}

/*
 * SIGSAFE.  A page's identity for ghost lists: reclaim_page_key in exact
 * replacement; in native mode the virtual page number alone (a page read
 * back from swap is added before it is mapped again, so its owner is not
 * known yet), and GHOST_NO_KEY for a page read ahead (nor its address).
 */
uint64_t ghost_page_key(const struct reclaim *rc, const struct page *pg);

/* 0 or an enum ghost_check_err; O(cap). */
int ghost_check(const struct ghost *g);

#endif /* VMEMU_POLICY_GHOST_H */
