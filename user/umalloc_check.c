/*
 * user/umalloc_check.c - umalloc_check (the invariant walker), the walk
 * that umalloc_heap_attach rebuilds counters from, and umalloc_stats.
 *
 * The walker trusts nothing it reads: every link is checked to be a
 * sentinel or a plausible block before it is followed, every size to stay
 * inside the heap, every list walk is bounded by the number of free
 * blocks the heap walk found.  So a corrupted heap yields a code, not a
 * crash or a loop (one exception: a wild link on the mmap list to an
 * address outside the task ends the task, as touching it would).
 *
 * Order of the checks (the first failure is returned):
 *   arena -> blocks (sizes, tags, coalescing, epilogue) -> lists (nodes,
 *   links, order/bins, the set) -> binmap -> rover -> mmap list ->
 *   counters.
 *
 * Locking: none (the heap's task thread only).  Reads emulated memory:
 * in trace mode every word read is a counted access.
 */
#include "user/umalloc_internal.h"

/* ---- the heap walk ------------------------------------------------------ */

static int walk_block(struct umalloc_heap *h, uint64_t b, uint64_t tag,
		      bool *prev_free, struct um_walk *w)
{
	uint64_t size = um_size(tag);

	if (size < UMALLOC_MIN_BLOCK || size > um_epilogue(h) - b)
		return UMALLOC_CHECK_BLOCK;
	if (um_load(h, b + size - UMALLOC_WORD) != tag)
		return UMALLOC_CHECK_TAGS;
	if (um_inuse(tag)) {
		if ((tag & UMALLOC_TAG_MMAPPED) ||
		    um_slack(tag) > size - UMALLOC_OVERHEAD)
			return UMALLOC_CHECK_BLOCK;
		w->live_blocks++;
		w->live_granted += size;
		w->live_requested += size - UMALLOC_OVERHEAD - um_slack(tag);
		*prev_free = false;
		return 0;
	}
	if (*prev_free)
		return UMALLOC_CHECK_COALESCE;
	if (um_slack(tag) || (tag & UMALLOC_TAG_MMAPPED))
		return UMALLOC_CHECK_TAGS;
	w->free_blocks++;
	w->free_bytes += size;
	w->largest_free = size > w->largest_free ? size : w->largest_free;
	w->sliver_blocks += size < UMALLOC_SLIVER_BYTES;
	*prev_free = true;
	return 0;
}

static int walk_blocks(struct umalloc_heap *h, struct um_walk *w)
{
	uint64_t pro = um_tag(UMALLOC_OVERHEAD, true, 0);
	bool prev_free = false;
	int err;

	if (um_load(h, h->lo + UMALLOC_WORD) != pro ||
	    um_load(h, h->first - UMALLOC_WORD) != pro)
		return UMALLOC_CHECK_TILING;
	for (uint64_t b = h->first; b < um_epilogue(h);) {
		uint64_t tag = um_load(h, b);

		err = walk_block(h, b, tag, &prev_free, w);
		if (err)
			return err;
		b += um_size(tag);
	}
	if (um_load(h, um_epilogue(h)) != UMALLOC_TAG_ALLOC)
		return UMALLOC_CHECK_TILING;
	return 0;
}

/* A chunk node of the mmap list: sane, or UMALLOC_CHECK_MMAP. */
static int walk_chunk(struct umalloc_heap *h, uint64_t c, uint64_t prev,
		      struct um_walk *w)
{
	uint64_t tag, len;

	if ((c & (VM_PAGE_SIZE - 1)) || (c >= h->lo && c < h->top) ||
	    um_is_sentinel(h, c) || um_load(h, c + UM_PREV) != prev)
		return UMALLOC_CHECK_MMAP;
	tag = um_load(h, c + 3 * UMALLOC_WORD);
	len = um_size(tag);
	if ((tag & ~UMALLOC_TAG_SIZE_MASK) !=
		    (UMALLOC_TAG_MMAPPED | UMALLOC_TAG_ALLOC) ||
	    !len || (len & (VM_PAGE_SIZE - 1)) ||
	    um_load(h, c) > len - UMALLOC_MMAP_HDR)
		return UMALLOC_CHECK_MMAP;
	w->mmapped_chunks++;
	w->mmapped_bytes += len;
	w->live_blocks++;
	w->live_granted += len;
	w->live_requested += um_load(h, c);
	return 0;
}

static int walk_chunks(struct umalloc_heap *h, struct um_walk *w,
		       uint64_t bound)
{
	uint64_t s = h->arena + UMALLOC_A_MMAP_LIST, prev = s, n = 0;
	int err;

	for (uint64_t c = um_load(h, s + UM_NEXT); c != s;
	     c = um_load(h, c + UM_NEXT)) {
		if (++n > bound)
			return UMALLOC_CHECK_MMAP;
		err = walk_chunk(h, c, prev, w);
		if (err)
			return err;
		prev = c;
	}
	return um_load(h, s + UM_PREV) == prev ? 0 : UMALLOC_CHECK_MMAP;
}

int um_walk(struct umalloc_heap *h, struct um_walk *w, uint64_t max_chunks)
{
	int err;

	memset(w, 0, sizeof(*w));
	err = walk_blocks(h, w);
	return err ? err : walk_chunks(h, w, max_chunks);
}

/* ---- the lists ------------------------------------------------------------ */

static bool check_node_ok(const struct umalloc_heap *h, uint64_t s, uint64_t x)
{
	return x == s || um_is_block(h, x);
}

/* Is node x (a block) where it belongs after prev in list bin? */
static int check_place(struct umalloc_heap *h, unsigned bin, uint64_t prev,
		       uint64_t x, uint64_t size)
{
	if (h->policy == UMALLOC_SEGREGATED)
		return um_bin_of(size) == bin ? 0 : UMALLOC_CHECK_ORDER;
	if (bin != UMALLOC_FIT_BIN || (!um_is_sentinel(h, prev) && prev >= x))
		return UMALLOC_CHECK_ORDER;
	return 0;
}

/* Walk list bin: its nodes counted into *n / *bytes (bounded by max). */
static int check_list(struct umalloc_heap *h, unsigned bin, uint64_t max,
		      uint64_t *n, uint64_t *bytes)
{
	uint64_t s = um_bin_node(h, bin), prev = s, x, tag;
	int err;

	for (x = um_load(h, s + UM_NEXT); x != s; x = um_load(h, x + UM_NEXT)) {
		if (++*n > max)
			return UMALLOC_CHECK_LIST_SET;
		if (!check_node_ok(h, s, x))
			return UMALLOC_CHECK_NODE;
		tag = um_load(h, x);
		if (um_inuse(tag) || um_size(tag) < UMALLOC_MIN_BLOCK)
			return UMALLOC_CHECK_NODE;
		if (um_load(h, x + UM_PREV) != prev)
			return UMALLOC_CHECK_LINKS;
		err = check_place(h, bin, prev, x, um_size(tag));
		if (err)
			return err;
		*bytes += um_size(tag);
		prev = x;
	}
	return um_load(h, s + UM_PREV) == prev ? 0 : UMALLOC_CHECK_LINKS;
}

static int check_lists(struct umalloc_heap *h, const struct um_walk *w)
{
	uint64_t n = 0, bytes = 0, map[2];
	int err;

	map[0] = um_arena_get(h, UMALLOC_A_BINMAP);
	map[1] = um_arena_get(h, UMALLOC_A_BINMAP + 8);
	for (unsigned i = 0; i < UMALLOC_NBINS; i++) {
		uint64_t before = n;
		bool bit = (map[i / 64] >> (i % 64)) & 1;

		err = check_list(h, i, w->free_blocks, &n, &bytes);
		if (err)
			return err;
		if (n - before && h->policy != UMALLOC_SEGREGATED && i)
			return UMALLOC_CHECK_ORDER;
		if (bit != (h->policy == UMALLOC_SEGREGATED && n > before))
			return UMALLOC_CHECK_BINMAP;
	}
	if (n != w->free_blocks || bytes != w->free_bytes)
		return UMALLOC_CHECK_LIST_SET;
	return 0;
}

static int check_rover(struct umalloc_heap *h)
{
	uint64_t r = um_arena_get(h, UMALLOC_A_ROVER);
	uint64_t s = um_bin_node(h, UMALLOC_FIT_BIN);

	if (r == s)
		return 0;
	if (h->policy == UMALLOC_SEGREGATED || !um_is_block(h, r) ||
	    um_inuse(um_load(h, r)))
		return UMALLOC_CHECK_ROVER;
	return 0;
}

static int check_arena(struct umalloc_heap *h)
{
	if (um_arena_get(h, UMALLOC_A_MAGIC) != UMALLOC_MAGIC ||
	    um_arena_get(h, UMALLOC_A_POLICY) != (uint64_t)h->policy ||
	    um_arena_get(h, UMALLOC_A_HEAP_START) != h->lo ||
	    um_arena_get(h, UMALLOC_A_HEAP_TOP) != h->top ||
	    (h->top & (VM_PAGE_SIZE - 1)) || vm_brk(h->t, 0) != h->top)
		return UMALLOC_CHECK_ARENA;
	return 0;
}

static int check_counters(const struct umalloc_heap *h, const struct um_walk *w)
{
	const struct umalloc_stats *st = &h->st;

	if (w->free_bytes != st->free_bytes ||
	    w->free_blocks != st->free_blocks ||
	    w->live_requested != st->live_requested ||
	    w->live_granted != st->live_granted ||
	    w->live_blocks != st->live_blocks ||
	    w->mmapped_bytes != st->mmapped_bytes ||
	    w->mmapped_chunks != st->mmapped_chunks ||
	    st->footprint != h->top - h->lo + w->mmapped_bytes)
		return UMALLOC_CHECK_COUNTERS;
	return 0;
}

int umalloc_check(struct umalloc_heap *h)
{
	struct um_walk w;
	int err = check_arena(h);

	memset(&w, 0, sizeof(w));
	if (!err)
		err = walk_blocks(h, &w);
	if (!err)
		err = check_lists(h, &w);
	if (!err)
		err = check_rover(h);
	if (!err)
		err = walk_chunks(h, &w, h->st.mmapped_chunks + 1);
	if (!err)
		err = check_counters(h, &w);
	return err;
}

/* ---- statistics ----------------------------------------------------------- */

static double ratio_left(uint64_t part, uint64_t whole)
{
	return whole ? 1.0 - (double)part / (double)whole : 0.0;
}

/* Largest free block and slivers, from the free lists. */
static void stats_lists(struct umalloc_heap *h, struct umalloc_stats *st)
{
	unsigned nb = h->policy == UMALLOC_SEGREGATED ? UMALLOC_NBINS : 1;

	st->largest_free = st->sliver_blocks = 0;
	for (unsigned i = 0; i < nb; i++) {
		uint64_t s = um_bin_node(h, i);

		for (uint64_t x = um_link(h, s, UM_NEXT); x != s;
		     x = um_link(h, x, UM_NEXT)) {
			uint64_t size = um_size(um_load(h, x));

			if (size > st->largest_free)
				st->largest_free = size;
			st->sliver_blocks += size < UMALLOC_SLIVER_BYTES;
		}
	}
}

void umalloc_stats(struct umalloc_heap *h, struct umalloc_stats *st)
{
	*st = h->st;
	st->heap_start = h->lo;
	st->heap_first = h->first;
	st->heap_top = h->top;
	st->mmap_threshold = um_arena_get(h, UMALLOC_A_MMAP_THRESHOLD);
	st->trim_threshold = um_arena_get(h, UMALLOC_A_TRIM_THRESHOLD);
	st->top_pad = um_arena_get(h, UMALLOC_A_TOP_PAD);
	st->limit = um_arena_get(h, UMALLOC_A_LIMIT);
	st->dynamic_threshold =
		!(um_arena_get(h, UMALLOC_A_FLAGS) & UMALLOC_F_NO_DYN);
	stats_lists(h, st);
	st->internal_frag = ratio_left(st->live_requested, st->live_granted);
	st->external_frag = ratio_left(st->largest_free, st->free_bytes);
	st->utilisation = st->peak_footprint ?
				  (double)st->peak_requested /
					  (double)st->peak_footprint :
				  0.0;
}
