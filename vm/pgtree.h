/*
 * vm/pgtree.h - the page cache's index: a radix tree from a page offset
 * (uint64_t) to a 64-bit entry, what Linux's xarray is to its page cache.
 *
 *   root (height 3) ---> [node: 64 slots] --slot 5--> [node] --slot 2-->
 *   index = 5 * 64^2 + 2 * 64 + 7               [leaf node] slot 7: entry
 *
 * Each node has 64 slots (PGTREE_SHIFT bits of the index per level) and
 * comes from a slab cache, so inserting may run on the fault path: no
 * malloc, SIGSAFE.  An entry is any non-zero value (0 is "empty"); the
 * page cache stores tagged values (vm/filemap.h: a page, a swap slot, a
 * workingset shadow).
 *
 * Invariants (pgtree_check):
 *  1. Every index < 64^height; height 0 iff the tree is empty (no root).
 *  2. Every node's count equals its non-empty slots, and no node is empty.
 *  3. nr_entries equals the non-empty leaf slots; nr_nodes the nodes.
 *  4. The root has a second child or an entry beyond slot 0, unless the
 *     height is 1 (the tree is as short as its largest index allows).
 *
 * Locking: none inside; the machine lock guards every tree.  SIGSAFE.
 */
#ifndef VMEMU_PGTREE_H
#define VMEMU_PGTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slab_cache;
struct pgtree_node;

#define PGTREE_SHIFT	  6
#define PGTREE_SLOTS	  (1u << PGTREE_SHIFT)
#define PGTREE_MAX_HEIGHT ((64 + PGTREE_SHIFT - 1) / PGTREE_SHIFT)

struct pgtree {
	struct pgtree_node *root;
	unsigned height;	  /* levels; 0: empty */
	uint64_t nr_entries;	  /* non-empty leaf slots */
	uint64_t nr_nodes;	  /* nodes allocated */
	struct slab_cache *cache; /* where nodes come from */
};

/* The slab object size a node needs (for slab_cache_create). */
size_t pgtree_node_size(void);

/* An empty tree whose nodes come from cache. */
void pgtree_init(struct pgtree *t, struct slab_cache *cache);
/* SIGSAFE.  The entry at index, or 0. */
uint64_t pgtree_get(const struct pgtree *t, uint64_t index);
/*
 * SIGSAFE.  Store val (non-zero) at index.  0, or -ENOMEM when a node
 * could not be allocated - then the tree is exactly as it was.  Replacing
 * an existing entry never allocates.
 */
int pgtree_set(struct pgtree *t, uint64_t index, uint64_t val);
/* SIGSAFE.  Empty index (nodes left empty are freed); the old entry. */
uint64_t pgtree_clear(struct pgtree *t, uint64_t index);
/*
 * SIGSAFE.  The first entry at an index >= *index: true with *index and
 * *val set, or false when there is none.
 */
bool pgtree_next(const struct pgtree *t, uint64_t *index, uint64_t *val);
/* Free every node (the caller has dealt with the entries). */
void pgtree_destroy(struct pgtree *t);

/* pgtree_check() results (invariants above); not errno values. */
enum pgtree_check_err {
	PGTREE_CHECK_HEIGHT = -1801,  /* 1: height and root disagree */
	PGTREE_CHECK_COUNT = -1802,   /* 2: a node's count is wrong */
	PGTREE_CHECK_EMPTY = -1803,   /* 2: an empty node is linked */
	PGTREE_CHECK_ENTRIES = -1804, /* 3: nr_entries or nr_nodes wrong */
	PGTREE_CHECK_TALL = -1805,    /* 4: the tree could be shorter */
};

/* Walk the invariants; 0 or an enum pgtree_check_err. */
int pgtree_check(const struct pgtree *t);

#endif /* VMEMU_PGTREE_H */
