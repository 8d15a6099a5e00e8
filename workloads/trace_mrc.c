/*
 * workloads/trace_mrc.c - LRU's miss-ratio curve for every frame count in
 * one pass: Mattson's stack algorithm (1970), distances counted with a
 * Fenwick tree.
 *
 * LRU is a stack algorithm: the pages resident with c frames are always
 * the c most recently used.  So a request to page p hits with c frames
 * iff p's stack distance - 1 + the number of distinct pages used since
 * p's previous request - is at most c.  One pass histograms the
 * distances; misses(c) = first touches + requests with distance > c.
 *
 * Counting the distinct pages since p's previous request i' (at request
 * i): keep a 1 at each page's latest request index and 0 elsewhere; the
 * count is the sum over (i', i), a Fenwick-tree range sum (O(log n)).
 *
 *   index:   0  1  2  3  4  5      requests  a b c b a ?
 *   mark:    0  0  1  1  1  .      latest of c, b, a
 *   at i=5 asking for c (i'=2): marks in (2,5) = 2 -> distance 3
 *
 * Invariants: after request i, the tree holds exactly one 1 per page
 * seen, at its latest index; hist[d] counts requests of distance d.
 * No locking; the trace is only read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/trace.h"

/* Fenwick tree over positions 1..n (request i is position i + 1). */
static void fen_add(uint32_t *fen, uint64_t n, uint64_t pos, int32_t delta)
{
	for (; pos <= n; pos += pos & -pos)
		fen[pos] += (uint32_t)delta;
}

static uint64_t fen_sum(const uint32_t *fen, uint64_t pos)
{
	uint64_t s = 0;

	for (; pos > 0; pos -= pos & -pos)
		s += fen[pos];
	return s;
}

/* The distance histogram: hist[d] for d in 1..nr_pages; cold misses. */
static uint64_t histogram(const struct trace *tr, uint32_t *fen, uint32_t *last,
			  uint64_t *hist)
{
	uint64_t n = tr->nr_requests, cold = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint32_t p = tr->page[i];

		if (last[p] == TRACE_NEVER) {
			cold++;
		} else {
			uint64_t since = fen_sum(fen, i) -
					 fen_sum(fen, (uint64_t)last[p] + 1);

			hist[since + 1]++;
			fen_add(fen, n, (uint64_t)last[p] + 1, -1);
		}
		fen_add(fen, n, i + 1, 1);
		last[p] = (uint32_t)i;
	}
	return cold;
}

int trace_lru_mrc(const struct trace *tr, uint64_t *misses)
{
	uint64_t d_max = tr->nr_pages;
	uint32_t *fen = calloc(tr->nr_requests + 1, sizeof(*fen));
	uint32_t *last = malloc((d_max + 1) * sizeof(*last));
	uint64_t *hist = calloc(d_max + 2, sizeof(*hist));
	int rc = -ENOMEM;

	if (fen && last && hist) {
		memset(last, 0xff, (d_max + 1) * sizeof(*last));
		misses[d_max] = histogram(tr, fen, last, hist);
		for (uint64_t c = d_max; c-- > 0;)
			misses[c] = misses[c + 1] + hist[c + 1];
		rc = 0;
	}
	free(fen);
	free(last);
	free(hist);
	return rc;
}
