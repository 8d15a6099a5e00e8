/*
 * reclaim/policy_ghost.c - ghost lists (policy_ghost.h): a node pool with
 * doubly linked lists by index, and a linear-probing hash table of node
 * indices.
 *
 * Locking: the machine lock.  SIGSAFE but ghost_init / ghost_fini.
 */
#include "reclaim/policy_ghost.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/types.h"
#include "reclaim/reclaim_internal.h"

#define GHOST_NIL    UINT32_MAX
#define GOLDEN_RATIO 0x9E3779B97F4A7C15ULL

int ghost_init(struct ghost *g, uint64_t cap)
{
	uint64_t slots = 2;
	unsigned bits = 1;

	memset(g, 0, sizeof(*g));
	if (cap >= GHOST_NIL / 2)
		return -EOVERFLOW;
	while (slots < 2 * cap) {
		slots <<= 1;
		bits++;
	}
	g->node = malloc((cap ? cap : 1) * sizeof(*g->node));
	g->slot = calloc(slots, sizeof(*g->slot));
	if (!g->node || !g->slot) {
		ghost_fini(g);
		return -ENOMEM;
	}
	g->mask = slots - 1;
	g->shift = 64 - bits;
	g->cap = (uint32_t)cap;
	for (uint32_t i = 0; i < g->cap; i++)
		g->node[i].next = i + 1 < g->cap ? i + 1 : GHOST_NIL;
	g->free = cap ? 0 : GHOST_NIL;
	for (int l = 0; l < GHOST_LISTS; l++)
		g->list[l] = (struct ghost_list){ GHOST_NIL, GHOST_NIL, 0 };
	return 0;
}

void ghost_fini(struct ghost *g)
{
	free(g->node);
	free(g->slot);
	memset(g, 0, sizeof(*g));
}

static inline uint64_t home(const struct ghost *g, uint64_t key)
{
	return (key * GOLDEN_RATIO) >> g->shift;
}

/* The slot holding key, or the empty slot where it would go. */
static SIGSAFE uint64_t lookup(const struct ghost *g, uint64_t key)
{
	uint64_t i = home(g, key);

	while (g->slot[i] && g->node[g->slot[i] - 1].key != key)
		i = (i + 1) & g->mask;
	return i;
}

/* Empty slot i, shifting back the entries that probed past it. */
static SIGSAFE void slot_delete(struct ghost *g, uint64_t i)
{
	uint64_t j = i;

	for (;;) {
		j = (j + 1) & g->mask;
		if (!g->slot[j])
			break;
		uint64_t h = home(g, g->node[g->slot[j] - 1].key);

		/* Move j's entry into the hole unless its home lies in (i, j]. */
		if (((j - h) & g->mask) >= ((j - i) & g->mask)) {
			g->slot[i] = g->slot[j];
			i = j;
		}
	}
	g->slot[i] = 0;
}

SIGSAFE int ghost_find(const struct ghost *g, uint64_t key)
{
	uint32_t s = g->slot[lookup(g, key)];

	return s ? (int)g->node[s - 1].list : -1;
}

static SIGSAFE void unlink_node(struct ghost *g, uint32_t x)
{
	struct ghost_node *n = &g->node[x];
	struct ghost_list *l = &g->list[n->list];

	if (n->prev != GHOST_NIL)
		g->node[n->prev].next = n->next;
	else
		l->head = n->next;
	if (n->next != GHOST_NIL)
		g->node[n->next].prev = n->prev;
	else
		l->tail = n->prev;
	l->n--;
	n->next = g->free;
	g->free = x;
	g->used--;
}

SIGSAFE int ghost_remove(struct ghost *g, uint64_t key)
{
	uint64_t i = lookup(g, key);
	uint32_t s = g->slot[i];
	int l;

	if (!s)
		return -1;
	l = (int)g->node[s - 1].list;
	slot_delete(g, i);
	unlink_node(g, s - 1);
	return l;
}

SIGSAFE bool ghost_push(struct ghost *g, int l, uint64_t key)
{
	struct ghost_list *gl = &g->list[l];
	uint32_t x;

	ghost_remove(g, key);
	if (g->free == GHOST_NIL)
		return false;
	x = g->free;
	g->free = g->node[x].next;
	g->used++;
	g->node[x] =
		(struct ghost_node){ key, GHOST_NIL, gl->head, (uint32_t)l };
	if (gl->head != GHOST_NIL)
		g->node[gl->head].prev = x;
	else
		gl->tail = x;
	gl->head = x;
	gl->n++;
	g->slot[lookup(g, key)] = x + 1;
	return true;
}

SIGSAFE bool ghost_pop(struct ghost *g, int l)
{
	uint32_t x = g->list[l].tail;

	if (x == GHOST_NIL)
		return false;
	slot_delete(g, lookup(g, g->node[x].key));
	unlink_node(g, x);
	return true;
}

SIGSAFE uint64_t ghost_page_key(const struct reclaim *rc, const struct page *pg)
{
	if (reclaim_exact(rc))
		return reclaim_page_key(pg);
	if (pg->flags & PG_readahead)
		return GHOST_NO_KEY;
	return pg->index >> PAGE_SHIFT;
}

/* Walk list l: links, length, and each node found by its key. */
static int check_list(const struct ghost *g, int l)
{
	uint32_t prev = GHOST_NIL, x = g->list[l].head;
	uint64_t n = 0;

	for (; x != GHOST_NIL; prev = x, x = g->node[x].next) {
		if (x >= g->cap || ++n > g->cap || g->node[x].prev != prev ||
		    g->node[x].list != (uint32_t)l)
			return GHOST_CHECK_LINKS;
		if (g->slot[lookup(g, g->node[x].key)] != x + 1)
			return GHOST_CHECK_TABLE;
	}
	if (prev != g->list[l].tail)
		return GHOST_CHECK_LINKS;
	return n == g->list[l].n ? 0 : GHOST_CHECK_COUNT;
}

int ghost_check(const struct ghost *g)
{
	uint64_t on_lists = 0, in_table = 0, nfree = 0;

	for (int l = 0; l < GHOST_LISTS; l++) {
		int err = check_list(g, l);

		if (err)
			return err;
		on_lists += g->list[l].n;
	}
	for (uint32_t x = g->free; x != GHOST_NIL && nfree <= g->cap;
	     x = g->node[x].next)
		nfree++;
	if (on_lists != g->used || on_lists + nfree != g->cap)
		return GHOST_CHECK_COUNT;
	for (uint64_t i = 0; i <= g->mask; i++)
		in_table += g->slot[i] != 0;
	return in_table == on_lists ? 0 : GHOST_CHECK_TABLE;
}
