/*
 * vm/buddy_frag.c - external fragmentation of the buddy's free memory in
 * Linux's terms: the two indices its debugfs shows per order
 * (extfrag/unusable_index, extfrag/extfrag_index; mm/vmstat.c).
 *
 * Both start from what Linux's fill_contig_page_info gathers for an order
 * o over the free lists of every order k:
 *
 *   free_pages      sum of nr_blocks[k] << k
 *   free_blocks     sum of nr_blocks[k]
 *   suitable        sum over k >= o of nr_blocks[k] << (k - o): how many
 *                   blocks of 2^o frames the free lists could hand out
 *
 *   unusable(o) = (free_pages - (suitable << o)) / free_pages
 *                 (1 when nothing is free)
 *   extfrag(o)  = -1 if suitable (the request would succeed),
 *                  0 if nothing is free,
 *                  1 - (1 + free_pages / 2^o) / free_blocks otherwise
 *
 * Both are computed in thousandths with integer division, as Linux does,
 * and printed "%d.%03d" (so -1000 shows as -1.000).  unusable answers "how
 * much of the free memory can this request not use?"; extfrag, only for a
 * request that would fail, "for lack of memory (towards 0) or for
 * fragmentation (towards 1)?" - Linux's compaction_suitable skips
 * compaction when it is at or below vm.extfrag_threshold (500).
 *
 * Frames cached in pcp are on no list and are not counted, as in Linux.
 * Invariants: 0 <= unusable <= 1000; -1000 <= extfrag < 1000.  Linux's
 * formula goes below 0 for a request that would fail (one free frame,
 * order 1: -500), and its "%d.%03d" then prints
 * "0.-500"; vmemu prints what Linux would.  That happens only with a single
 * free block: every free block is at most half the request, so with two
 * or more the index is >= 0.
 * Locking: the caller serialises (the machine lock).  SIGSAFE but
 * buddy_extfrag_info (snprintf).
 */
#include "vm/buddy_internal.h"

#include <stdio.h>

#define INDEX_SCALE 1000

struct contig_info {
	uint64_t free_pages, free_blocks, suitable;
};

static void fill_contig_info(const struct buddy *b, unsigned order,
			     struct contig_info *ci)
{
	*ci = (struct contig_info){ 0 };
	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		uint64_t n = b->nr_blocks[k];

		ci->free_blocks += n;
		ci->free_pages += n << k;
		if (k >= order)
			ci->suitable += n << (k - order);
	}
}

SIGSAFE int buddy_unusable_index(const struct buddy *b, unsigned order)
{
	struct contig_info ci;

	if (order > BUDDY_MAX_ORDER)
		return 0;
	fill_contig_info(b, order, &ci);
	if (!ci.free_pages)
		return INDEX_SCALE;
	return (int)((ci.free_pages - (ci.suitable << order)) * INDEX_SCALE /
		     ci.free_pages);
}

SIGSAFE int buddy_extfrag_index(const struct buddy *b, unsigned order)
{
	struct contig_info ci;
	uint64_t requested = 1ULL << order;

	if (order > BUDDY_MAX_ORDER)
		return 0;
	fill_contig_info(b, order, &ci);
	if (!ci.free_blocks)
		return 0;
	if (ci.suitable)
		return -INDEX_SCALE;
	return INDEX_SCALE -
	       (int)((INDEX_SCALE + ci.free_pages * INDEX_SCALE / requested) /
		     ci.free_blocks);
}

int buddy_extfrag_info(const struct buddy *b, bool unusable, char *buf,
		       size_t len)
{
	size_t pos;
	int n;

	n = snprintf(buf, len, "Node %d, zone %8s ", INFO_NODE, INFO_ZONE);
	if (n < 0)
		return n;
	pos = (size_t)n;
	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		int idx = unusable ? buddy_unusable_index(b, k) :
				     buddy_extfrag_index(b, k);

		n = snprintf(pos < len ? buf + pos : NULL,
			     pos < len ? len - pos : 0, "%d.%03d ",
			     idx / INDEX_SCALE, idx % INDEX_SCALE);
		if (n < 0)
			return n;
		pos += (size_t)n;
	}
	n = snprintf(pos < len ? buf + pos : NULL, pos < len ? len - pos : 0,
		     "\n");
	if (n < 0)
		return n;
	return (int)(pos + (size_t)n);
}
