/*
 * vm/pgtree.c - the page cache's radix tree (see pgtree.h).
 *
 * Level 0 is the leaf level (its slots hold entries); a node at level L
 * holds pointers to nodes at level L - 1.  The tree grows at the top when
 * an index does not fit (the old root becomes slot 0 of a new root) and
 * shrinks again when only slot 0 of the root is left.  An insertion counts
 * the nodes it needs and allocates all of them before it links any, so a
 * failure leaves the tree untouched.
 *
 * Locking: the caller's (the machine lock).  SIGSAFE: nodes come from a
 * slab cache, recursion is bounded by PGTREE_MAX_HEIGHT.
 */
#include "vm/pgtree.h"

#include <errno.h>
#include <string.h>

#include "vm/slab.h"

#define SLOT_MASK (PGTREE_SLOTS - 1)

struct pgtree_node {
	uint64_t slot[PGTREE_SLOTS]; /* entries, or child node pointers */
	uint32_t count;		     /* non-empty slots */
};

size_t pgtree_node_size(void)
{
	return sizeof(struct pgtree_node);
}

void pgtree_init(struct pgtree *t, struct slab_cache *cache)
{
	memset(t, 0, sizeof(*t));
	t->cache = cache;
}

static inline unsigned digit(uint64_t index, unsigned level)
{
	return (unsigned)(index >> (level * PGTREE_SHIFT)) & SLOT_MASK;
}

/* Does index fit a tree of this height? */
static inline bool fits(unsigned height, uint64_t index)
{
	return height >= PGTREE_MAX_HEIGHT ||
	       (index >> (height * PGTREE_SHIFT)) == 0;
}

static unsigned height_for(uint64_t index)
{
	unsigned h = 1;

	while (!fits(h, index))
		h++;
	return h;
}

static inline struct pgtree_node *child(const struct pgtree_node *n, unsigned d)
{
	return (struct pgtree_node *)(uintptr_t)n->slot[d];
}

SIGSAFE uint64_t pgtree_get(const struct pgtree *t, uint64_t index)
{
	const struct pgtree_node *n = t->root;

	if (!n || !fits(t->height, index))
		return 0;
	for (unsigned level = t->height - 1; level > 0; level--) {
		n = child(n, digit(index, level));
		if (!n)
			return 0;
	}
	return n->slot[digit(index, 0)];
}

/* Nodes an insertion at index into a tree of height newh must add. */
static unsigned nodes_needed(const struct pgtree *t, uint64_t index,
			     unsigned newh)
{
	const struct pgtree_node *n = t->root;
	unsigned need, level;

	if (!n)
		return newh;
	need = newh - t->height; /* new roots */
	for (level = newh - 1; level >= t->height; level--)
		if (digit(index, level))
			return need + level; /* a new path below it */
	for (level = t->height - 1; level > 0; level--) {
		n = child(n, digit(index, level));
		if (!n)
			return need + level;
	}
	return need;
}

struct node_stock {
	unsigned n;
	struct pgtree_node *node[2 * PGTREE_MAX_HEIGHT];
};

static struct pgtree_node *take(struct pgtree *t, struct node_stock *s)
{
	struct pgtree_node *n = s->node[--s->n];

	memset(n, 0, sizeof(*n));
	t->nr_nodes++;
	return n;
}

/* Grow the tree to newh levels (the old root under slot 0 of each). */
static void grow(struct pgtree *t, unsigned newh, struct node_stock *s)
{
	if (!t->root) {
		t->root = take(t, s);
		t->height = newh;
		return;
	}
	while (t->height < newh) {
		struct pgtree_node *g = take(t, s);

		g->slot[0] = (uint64_t)(uintptr_t)t->root;
		g->count = 1;
		t->root = g;
		t->height++;
	}
}

SIGSAFE int pgtree_set(struct pgtree *t, uint64_t index, uint64_t val)
{
	unsigned newh = MAX(t->height, height_for(index));
	struct node_stock s = { 0 };
	unsigned need = nodes_needed(t, index, newh), d;
	struct pgtree_node *n;

	BUG_ON(val == 0);
	for (; s.n < need; s.n++) {
		s.node[s.n] = slab_alloc(t->cache);
		if (!s.node[s.n]) {
			while (s.n)
				slab_free(t->cache, s.node[--s.n]);
			return -ENOMEM;
		}
	}
	grow(t, newh, &s);
	n = t->root;
	for (unsigned level = t->height - 1; level > 0; level--) {
		d = digit(index, level);
		if (!n->slot[d]) {
			n->slot[d] = (uint64_t)(uintptr_t)take(t, &s);
			n->count++;
		}
		n = child(n, d);
	}
	d = digit(index, 0);
	if (!n->slot[d]) {
		n->count++;
		t->nr_entries++;
	}
	n->slot[d] = val;
	BUG_ON(s.n != 0);
	return 0;
}

static void node_free(struct pgtree *t, struct pgtree_node *n)
{
	slab_free(t->cache, n);
	t->nr_nodes--;
}

/* Drop roots that hold only slot 0 (pgtree.h invariant 4). */
static void shrink(struct pgtree *t)
{
	while (t->height > 1 && t->root->count == 1 && t->root->slot[0]) {
		struct pgtree_node *old = t->root;

		t->root = child(old, 0);
		t->height--;
		node_free(t, old);
	}
}

SIGSAFE uint64_t pgtree_clear(struct pgtree *t, uint64_t index)
{
	struct pgtree_node *path[PGTREE_MAX_HEIGHT], *n = t->root;
	unsigned level;
	uint64_t old;

	if (!n || !fits(t->height, index))
		return 0;
	for (level = t->height - 1; level > 0; level--) {
		path[level] = n;
		n = child(n, digit(index, level));
		if (!n)
			return 0;
	}
	path[0] = n;
	old = n->slot[digit(index, 0)];
	if (!old)
		return 0;
	n->slot[digit(index, 0)] = 0;
	n->count--;
	t->nr_entries--;
	for (level = 0; level < t->height && path[level]->count == 0; level++) {
		node_free(t, path[level]);
		if (level + 1 == t->height) {
			t->root = NULL;
			t->height = 0;
			return old;
		}
		path[level + 1]->slot[digit(index, level + 1)] = 0;
		path[level + 1]->count--;
	}
	shrink(t);
	return old;
}

SIGSAFE bool pgtree_next(const struct pgtree *t, uint64_t *index, uint64_t *val)
{
	uint64_t i = *index, step;

	while (t->root && fits(t->height, i)) {
		const struct pgtree_node *n = t->root, *c;
		unsigned level = t->height - 1;

		for (; level > 0; level--) {
			c = child(n, digit(i, level));
			if (!c)
				break;
			n = c;
		}
		if (level == 0) {
			for (unsigned d = digit(i, 0); d < PGTREE_SLOTS; d++) {
				if (n->slot[d]) {
					*index = (i & ~(uint64_t)SLOT_MASK) | d;
					*val = n->slot[d];
					return true;
				}
			}
		}
		/* Nothing more under this node: on to the next one. */
		step = 1ULL << (level * PGTREE_SHIFT);
		if ((i | (step - 1)) == UINT64_MAX)
			return false;
		i = (i | (step - 1)) + 1;
	}
	return false;
}

static void free_subtree(struct pgtree *t, struct pgtree_node *n,
			 unsigned level)
{
	for (unsigned d = 0; level > 0 && d < PGTREE_SLOTS; d++)
		if (n->slot[d])
			free_subtree(t, child(n, d), level - 1);
	node_free(t, n);
}

void pgtree_destroy(struct pgtree *t)
{
	if (t->root)
		free_subtree(t, t->root, t->height - 1);
	t->root = NULL;
	t->height = 0;
	t->nr_entries = 0;
}

struct check_sum {
	uint64_t entries, nodes;
};

static int check_node(const struct pgtree_node *n, unsigned level,
		      struct check_sum *sum)
{
	unsigned used = 0;
	int err;

	sum->nodes++;
	for (unsigned d = 0; d < PGTREE_SLOTS; d++) {
		if (!n->slot[d])
			continue;
		used++;
		if (level == 0) {
			sum->entries++;
			continue;
		}
		err = check_node(child(n, d), level - 1, sum);
		if (err)
			return err;
	}
	if (used != n->count)
		return PGTREE_CHECK_COUNT;
	return used ? 0 : PGTREE_CHECK_EMPTY;
}

int pgtree_check(const struct pgtree *t)
{
	struct check_sum sum = { 0 };
	int err;

	if (!t->root != !t->height || t->height > PGTREE_MAX_HEIGHT)
		return PGTREE_CHECK_HEIGHT;
	if (!t->root)
		return t->nr_entries || t->nr_nodes ? PGTREE_CHECK_ENTRIES : 0;
	err = check_node(t->root, t->height - 1, &sum);
	if (err)
		return err;
	if (sum.entries != t->nr_entries || sum.nodes != t->nr_nodes)
		return PGTREE_CHECK_ENTRIES;
	if (t->height > 1 && t->root->count == 1 && t->root->slot[0])
		return PGTREE_CHECK_TALL;
	return 0;
}
