/*
 * swap/swap_slots.c - the slot allocator of a swap area: per-slot reference
 * counts (swap_map) and clusters of SWAPFILE_CLUSTER slots on three lists,
 * after Linux's mm/swapfile.c (order-0 allocations only, one "CPU").
 *
 *   cluster   0          1          2                      n-1
 *           [H........][..........][..........]   ...   [.......XXX]
 *            H = header slot 0, X = past the end of the file: both
 *            SWAP_MAP_BAD, counted in their cluster, never free
 *
 *   free:     clusters with count 0          (oldest freed first)
 *   nonfull:  0 < count < SWAPFILE_CLUSTER
 *   full:     count == SWAPFILE_CLUSTER
 *
 * Allocation.  One allocation cursor `next` (Linux keeps one per CPU; the
 * emulator's allocations are serialised by the machine lock, so one is
 * enough) names the slot to scan from in the current cluster.  swap_alloc
 * takes the lowest free slot >= next in that cluster; failing that, the
 * lowest free slot of the free list's head cluster, then of the nonfull
 * list's head.  The cursor then points just past the slot taken (none if
 * that was the cluster's last slot).  A fresh area therefore hands out 1,
 * 2, 3, ... in file order: the cursor starts at slot 1.  Whole free
 * clusters go before clusters with holes, as Linux does up to 6.13 (and
 * still for discard devices): a batch of swap-outs lands in one sequential
 * stretch.  Linux 6.14+ prefers nonfull clusters on other devices, to keep
 * free clusters for large folios, which vmemu does not swap.
 *
 * After every count change a cluster moves to the list its count names, at
 * the tail.
 *
 * Invariants (swap_check() returns the code in brackets when one breaks):
 *  1. [SWAP_CHECK_MAP]  map[0] and the slots at or past nr_pages are
 *     exactly SWAP_MAP_BAD; every other slot has no BAD count.
 *  2. [SWAP_CHECK_PRIVATE]  a free slot (map 0) has private word 0.
 *  3. [SWAP_CHECK_COUNT]  a cluster's count == its slots with map != 0.
 *  4. [SWAP_CHECK_LIST]  a cluster's list is the one its count names.
 *  5. [SWAP_CHECK_LINKS]  each list, walked from its head, holds exactly
 *     the clusters marked with it, nr of them, prev links mirror next
 *     links, and tail is the last.
 *  6. [SWAP_CHECK_NR_FREE]  nr_free == the usable slots with map 0.
 *  7. [SWAP_CHECK_NEXT]  next is SLOT_NONE or a slot below nr_pages.
 *
 * Locking: the caller's (the machine lock) guards map, priv, cl, lists,
 * nr_free and next.  SIGSAFE: every function here (no host memory is
 * allocated; swap_slots_init runs inside swap_area_create).
 */
#include "swap/swap_internal.h"

#include <errno.h>

/* ---- cluster lists ----------------------------------------------------- */

static uint32_t cluster_of(uint64_t slot)
{
	return (uint32_t)(slot / SWAPFILE_CLUSTER);
}

static void clist_del(struct swap_area *a, uint32_t ci)
{
	struct swap_cluster *c = &a->cl[ci];
	struct swap_clist *l = &a->lists[c->list];

	if (c->prev == CLUSTER_NONE)
		l->head = c->next;
	else
		a->cl[c->prev].next = c->next;
	if (c->next == CLUSTER_NONE)
		l->tail = c->prev;
	else
		a->cl[c->next].prev = c->prev;
	l->nr--;
}

static void clist_add_tail(struct swap_area *a, uint32_t ci, uint32_t list)
{
	struct swap_cluster *c = &a->cl[ci];
	struct swap_clist *l = &a->lists[list];

	c->list = list;
	c->next = CLUSTER_NONE;
	c->prev = l->tail;
	if (l->tail == CLUSTER_NONE)
		l->head = ci;
	else
		a->cl[l->tail].next = ci;
	l->tail = ci;
	l->nr++;
}

static uint32_t list_for_count(uint32_t count)
{
	if (count == 0)
		return CL_FREE;
	return count == SWAPFILE_CLUSTER ? CL_FULL : CL_NONFULL;
}

/* Put cluster ci on the list its count names (invariant 4). */
static void cluster_relocate(struct swap_area *a, uint32_t ci)
{
	uint32_t want = list_for_count(a->cl[ci].count);

	if (a->cl[ci].list == want)
		return;
	clist_del(a, ci);
	clist_add_tail(a, ci, want);
}

void swap_slots_init(struct swap_area *a)
{
	uint64_t end = a->nr_clusters * SWAPFILE_CLUSTER;

	for (unsigned l = 0; l < CL_NR_LISTS; l++)
		a->lists[l] =
			(struct swap_clist){ CLUSTER_NONE, CLUSTER_NONE, 0 };
	a->map[0] = SWAP_MAP_BAD;
	for (uint64_t s = a->nr_pages; s < end; s++)
		a->map[s] = SWAP_MAP_BAD;
	a->cl[0].count = 1;
	if (a->nr_pages < end)
		a->cl[a->nr_clusters - 1].count +=
			(uint32_t)(end - a->nr_pages);
	for (uint32_t ci = 0; ci < a->nr_clusters; ci++)
		clist_add_tail(a, ci, list_for_count(a->cl[ci].count));
	a->nr_free = a->nr_pages - 1;
	a->next = 1;
}

/* ---- slot state -------------------------------------------------------- */

static void check_slot(const struct swap_area *a, uint64_t slot)
{
	BUG_ON(slot == 0 || slot >= a->nr_pages);
}

static unsigned map_count(uint16_t v)
{
	return v & SWAP_MAP_COUNT_MASK;
}

/* The slot became used (map was 0). */
static void slot_taken(struct swap_area *a, uint64_t slot)
{
	uint32_t ci = cluster_of(slot);

	a->cl[ci].count++;
	a->nr_free--;
	cluster_relocate(a, ci);
}

/* The slot's map just dropped to 0: it is free again. */
static void slot_freed(struct swap_area *a, uint64_t slot)
{
	uint32_t ci = cluster_of(slot);

	a->priv[slot] = 0;
	a->cl[ci].count--;
	a->nr_free++;
	cluster_relocate(a, ci);
}

/* ---- allocation -------------------------------------------------------- */

/* The lowest free slot in [from, end of from's cluster), or SLOT_NONE. */
static uint64_t scan_cluster(const struct swap_area *a, uint64_t from)
{
	uint64_t end = ((uint64_t)cluster_of(from) + 1) * SWAPFILE_CLUSTER;

	if (a->cl[cluster_of(from)].count == SWAPFILE_CLUSTER)
		return SLOT_NONE;
	for (uint64_t s = from; s < end; s++)
		if (a->map[s] == 0)
			return s;
	return SLOT_NONE;
}

/* The slot to hand out next (nr_free > 0). */
static uint64_t pick_slot(const struct swap_area *a)
{
	uint64_t s = SLOT_NONE;

	if (a->next != SLOT_NONE)
		s = scan_cluster(a, a->next);
	if (s == SLOT_NONE && a->lists[CL_FREE].head != CLUSTER_NONE)
		s = scan_cluster(a, (uint64_t)a->lists[CL_FREE].head *
					    SWAPFILE_CLUSTER);
	if (s == SLOT_NONE && a->lists[CL_NONFULL].head != CLUSTER_NONE)
		s = scan_cluster(a, (uint64_t)a->lists[CL_NONFULL].head *
					    SWAPFILE_CLUSTER);
	BUG_ON(s == SLOT_NONE); /* nr_free > 0 but no cluster has room */
	return s;
}

int swap_alloc(struct swap_area *a, uint64_t *slot)
{
	uint64_t s;

	if (a->nr_free == 0)
		return -ENOSPC;
	s = pick_slot(a);
	a->map[s] = SWAP_HAS_CACHE;
	slot_taken(a, s);
	*slot = s++;
	/* Past the cluster's (or the file's) end: no cursor. */
	a->next = s % SWAPFILE_CLUSTER && s < a->nr_pages ? s : SLOT_NONE;
	return 0;
}

/* ---- counts and the cache bit ------------------------------------------ */

int swap_dup(struct swap_area *a, uint64_t slot)
{
	check_slot(a, slot);
	if (a->map[slot] == 0)
		return -ENOENT;
	if (map_count(a->map[slot]) >= SWAP_COUNT_MAX)
		return -EOVERFLOW;
	a->map[slot]++;
	return 0;
}

unsigned swap_put(struct swap_area *a, uint64_t slot)
{
	check_slot(a, slot);
	BUG_ON(map_count(a->map[slot]) == 0);
	a->map[slot]--;
	if (a->map[slot] == 0)
		slot_freed(a, slot);
	return map_count(a->map[slot]);
}

int swap_cache_add(struct swap_area *a, uint64_t slot)
{
	check_slot(a, slot);
	if (a->map[slot] & SWAP_HAS_CACHE)
		return -EEXIST;
	if (a->map[slot] == 0)
		return -ENOENT;
	a->map[slot] |= SWAP_HAS_CACHE;
	return 0;
}

void swap_cache_del(struct swap_area *a, uint64_t slot)
{
	check_slot(a, slot);
	BUG_ON(!(a->map[slot] & SWAP_HAS_CACHE));
	a->map[slot] &= (uint16_t)~SWAP_HAS_CACHE;
	if (a->map[slot] == 0)
		slot_freed(a, slot);
}

bool swap_has_cache(const struct swap_area *a, uint64_t slot)
{
	check_slot(a, slot);
	return a->map[slot] & SWAP_HAS_CACHE;
}

unsigned swap_count(const struct swap_area *a, uint64_t slot)
{
	check_slot(a, slot);
	return map_count(a->map[slot]);
}

uint64_t swap_private(const struct swap_area *a, uint64_t slot)
{
	check_slot(a, slot);
	return a->priv[slot];
}

void swap_set_private(struct swap_area *a, uint64_t slot, uint64_t v)
{
	check_slot(a, slot);
	BUG_ON(a->map[slot] == 0);
	a->priv[slot] = v;
}

uint64_t swap_nr_slots(const struct swap_area *a)
{
	return a->nr_pages - 1;
}

uint64_t swap_nr_free(const struct swap_area *a)
{
	return a->nr_free;
}

/* ---- invariant walker -------------------------------------------------- */

/* Invariants 1 and 2, slot by slot. */
static int check_map(const struct swap_area *a)
{
	uint64_t end = a->nr_clusters * SWAPFILE_CLUSTER;

	for (uint64_t s = 0; s < end; s++) {
		bool bad = s == 0 || s >= a->nr_pages;

		if (bad != (a->map[s] == SWAP_MAP_BAD) ||
		    (!bad && map_count(a->map[s]) == SWAP_MAP_BAD))
			return SWAP_CHECK_MAP;
		if (!bad && a->map[s] == 0 && a->priv[s] != 0)
			return SWAP_CHECK_PRIVATE;
	}
	return 0;
}

/* Invariants 3 and 4, cluster by cluster. */
static int check_clusters(const struct swap_area *a)
{
	for (uint32_t ci = 0; ci < a->nr_clusters; ci++) {
		const uint16_t *m = &a->map[(uint64_t)ci * SWAPFILE_CLUSTER];
		uint32_t used = 0;

		for (unsigned i = 0; i < SWAPFILE_CLUSTER; i++)
			used += m[i] != 0;
		if (a->cl[ci].count != used)
			return SWAP_CHECK_COUNT;
		if (a->cl[ci].list != list_for_count(used))
			return SWAP_CHECK_LIST;
	}
	return 0;
}

/* Invariant 5 for one list: walk it, at most nr_clusters steps. */
static int check_list(const struct swap_area *a, uint32_t id)
{
	const struct swap_clist *l = &a->lists[id];
	uint32_t prev = CLUSTER_NONE, ci = l->head;
	uint64_t n = 0, marked = 0;

	for (uint32_t i = 0; i < a->nr_clusters; i++)
		marked += a->cl[i].list == id;
	while (ci != CLUSTER_NONE) {
		if (ci >= a->nr_clusters || n++ >= a->nr_clusters ||
		    a->cl[ci].list != id || a->cl[ci].prev != prev)
			return SWAP_CHECK_LINKS;
		prev = ci;
		ci = a->cl[ci].next;
	}
	if (l->tail != prev || l->nr != n || n != marked)
		return SWAP_CHECK_LINKS;
	return 0;
}

int swap_check(const struct swap_area *a)
{
	uint64_t nr_free = 0;
	int rc = check_map(a);

	if (!rc)
		rc = check_clusters(a);
	for (uint32_t id = 0; !rc && id < CL_NR_LISTS; id++)
		rc = check_list(a, id);
	if (rc)
		return rc;
	for (uint64_t s = 1; s < a->nr_pages; s++)
		nr_free += a->map[s] == 0;
	if (nr_free != a->nr_free)
		return SWAP_CHECK_NR_FREE;
	if (a->next != SLOT_NONE && a->next >= a->nr_pages)
		return SWAP_CHECK_NEXT;
	return 0;
}
