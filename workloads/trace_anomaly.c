/*
 * workloads/trace_anomaly.c - Belady's anomaly: spotting it in a series
 * of (frames, misses) points, and searching random reference strings for
 * one.
 *
 * Belady, Nelson and Shedler (1969) showed FIFO can miss more with more
 * frames (1 2 3 4 1 2 5 1 2 3 4 5: 9 misses with 3 frames, 10 with 4).
 * Stack algorithms (LRU, OPT, LFU with an order that is a stack) cannot;
 * FIFO and Clock can.
 *
 * The search draws strings from a seeded xorshift generator.  For a
 * policy with a small model here (trace_model_misses: the exact
 * rules, naive O(frames) per request), every string is screened by the
 * model at each frame count and only a candidate is replayed through the
 * machine, which decides; a candidate the machine does not confirm is
 * counted (model_disagreed) and the search goes on.  For other policies
 * the machine runs every frame count.  A found string is shortened one
 * request at a time while the machine (the model, if there is no
 * machine) still shows the anomaly at the same frame count, so the one
 * printed is 1-minimal: no single request can go.
 *
 * No state beyond the struct passed in; no locking.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/trace.h"

#define MIN_LEN	  8 /* shortest string drawn */
#define MIN_PAGES 3 /* fewest distinct pages drawn */

size_t trace_anomalies(const struct trace_point *pts, size_t n, size_t *out)
{
	size_t k = 0;

	for (size_t i = 1; i < n; i++)
		if (pts[i].misses > pts[i - 1].misses)
			out[k++] = i;
	return k;
}

/* ---- the models ---------------------------------------------------------- */

struct mframe {
	uint32_t page;
	uint64_t order; /* fifo, clock: arrival (clock: re-arrival) */
	uint64_t last;	/* lru, lfu: last access */
	uint64_t count; /* lfu */
	bool ref;	/* clock */
};

enum model { M_FIFO, M_LRU, M_CLOCK, M_LFU, M_OPT, M_NONE };

static enum model model_of(const char *policy)
{
	static const char *const names[] = { "fifo", "lru", "clock", "lfu",
					     "opt" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (policy && strcmp(policy, names[i]) == 0)
			return (enum model)i;
	return M_NONE;
}

/* Distance to page's next use after request i (n + 1: never). */
static size_t next_use(const uint32_t *refs, size_t n, size_t i, uint32_t pg)
{
	for (size_t j = i + 1; j < n; j++)
		if (refs[j] == pg)
			return j;
	return n + 1;
}

static bool worse(enum model m, const struct mframe *a, const struct mframe *b)
{
	switch (m) {
	case M_FIFO:
	case M_CLOCK:
		return a->order < b->order;
	case M_LRU:
		return a->last < b->last;
	case M_LFU:
		return a->count < b->count ||
		       (a->count == b->count && a->last < b->last);
	case M_OPT:
	case M_NONE:
		break;
	}
	return false;
}

/* The frame to evict among f[0..k) at request i. */
static unsigned victim(enum model m, struct mframe *f, unsigned k,
		       const uint32_t *refs, size_t n, size_t i,
		       uint64_t *clock)
{
	unsigned v = 0;

	for (;;) {
		v = 0;
		for (unsigned j = 1; j < k; j++)
			if (m == M_OPT ?
				    next_use(refs, n, i, f[j].page) >
					    next_use(refs, n, i, f[v].page) :
				    worse(m, &f[j], &f[v]))
				v = j;
		if (m != M_CLOCK || !f[v].ref)
			return v;
		f[v].ref = false; /* second chance: to the newest end */
		f[v].order = ++*clock;
	}
}

int trace_model_misses(const char *policy, const uint32_t *refs, size_t n,
		       unsigned frames, uint64_t *misses)
{
	enum model m = model_of(policy);
	struct mframe *f;
	uint64_t clock = 0;
	unsigned k = 0;

	if (m == M_NONE)
		return -ENOENT;
	if (frames == 0)
		return -EINVAL;
	f = calloc(frames, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*misses = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned j;

		for (j = 0; j < k && f[j].page != refs[i]; j++)
			;
		if (j < k) { /* hit */
			f[j].last = i;
			f[j].count++;
			f[j].ref = true;
			continue;
		}
		++*misses;
		j = k < frames ? k++ : victim(m, f, k, refs, n, i, &clock);
		f[j] = (struct mframe){ refs[i], ++clock, i, 1, false };
	}
	free(f);
	return 0;
}

/* ---- the search ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Misses of refs with frames through the machine; 0 or an error. */
static int machine_misses(struct trace_anomaly *a, const uint32_t *refs,
			  unsigned len, unsigned frames, uint64_t *misses)
{
	uint64_t ids[TRACE_ANOMALY_MAXLEN];
	struct trace_run run = { .policy = a->policy, .frames = frames };
	struct trace tr;
	int rc;

	for (unsigned i = 0; i < len; i++)
		ids[i] = refs[i];
	rc = trace_from_ids(ids, len, &tr);
	if (rc)
		return rc;
	rc = trace_replay(&tr, &run);
	trace_free(&tr);
	if (rc)
		snprintf(a->msg, sizeof(a->msg), "%s", run.msg);
	*misses = run.misses;
	return rc;
}

static int misses_at(struct trace_anomaly *a, bool model, const uint32_t *refs,
		     unsigned len, unsigned frames, uint64_t *misses)
{
	if (model)
		return trace_model_misses(a->policy, refs, len, frames, misses);
	return machine_misses(a, refs, len, frames, misses);
}

/* Does frames -> frames + 1 miss more?  1 yes, 0 no, < 0 error. */
static int anomalous(struct trace_anomaly *a, bool model, const uint32_t *refs,
		     unsigned len, unsigned frames, uint64_t *lo, uint64_t *hi)
{
	int rc = misses_at(a, model, refs, len, frames, lo);

	if (!rc)
		rc = misses_at(a, model, refs, len, frames + 1, hi);
	return rc ? rc : *hi > *lo;
}

/* The smallest frame count where refs shows the anomaly, or 0. */
static int first_anomaly(struct trace_anomaly *a, bool model,
			 const uint32_t *refs, unsigned len, unsigned pages)
{
	uint64_t prev = 0, cur;

	for (unsigned f = 1; f <= pages; f++) {
		int rc = misses_at(a, model, refs, len, f, &cur);

		if (rc)
			return rc;
		if (f > 1 && cur > prev)
			return (int)f - 1;
		prev = cur;
	}
	return 0;
}

/* Drop requests one at a time while frames still shows the anomaly. */
static int shrink(struct trace_anomaly *a, bool model)
{
	uint32_t try[TRACE_ANOMALY_MAXLEN];
	uint64_t lo, hi;
	int rc;

	for (unsigned i = 0; i < a->len;) {
		memcpy(try, a->refs, i * sizeof(*try));
		memcpy(try + i, a->refs + i + 1,
		       (a->len - i - 1) * sizeof(*try));
		rc = anomalous(a, model, try, a->len - 1, a->frames, &lo, &hi);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			i++;
			continue;
		}
		memcpy(a->refs, try, (a->len - 1) * sizeof(*try));
		a->len--;
	}
	return 0;
}

/* Draw one string into a->refs; the number of distinct pages it may use. */
static unsigned draw(struct trace_anomaly *a, uint64_t *rng)
{
	unsigned max_len = a->max_len < MIN_LEN ? MIN_LEN : a->max_len;
	unsigned max_page = a->max_page < MIN_PAGES ? MIN_PAGES : a->max_page;
	unsigned pages;

	if (max_len > TRACE_ANOMALY_MAXLEN)
		max_len = TRACE_ANOMALY_MAXLEN;
	a->len = MIN_LEN + (unsigned)(rng_next(rng) % (max_len - MIN_LEN + 1));
	pages = MIN_PAGES +
		(unsigned)(rng_next(rng) % (max_page - MIN_PAGES + 1));
	for (unsigned i = 0; i < a->len; i++)
		a->refs[i] = 1 + (uint32_t)(rng_next(rng) % pages);
	return pages;
}

/* A candidate at frames: confirm (machine), shrink, count.  1 found. */
static int settle(struct trace_anomaly *a, bool screened, int frames)
{
	uint64_t lo, hi;
	int rc;

	a->frames = (unsigned)frames;
	if (screened && !a->model_only) {
		rc = anomalous(a, false, a->refs, a->len, a->frames, &lo, &hi);
		if (rc <= 0) {
			a->model_disagreed += rc == 0;
			return rc;
		}
	}
	rc = shrink(a, a->model_only); /* the machine, when there is one */
	if (!rc)
		rc = anomalous(a, a->model_only, a->refs, a->len, a->frames,
			       &a->misses_lo, &a->misses_hi);
	return rc < 0 ? rc : 1;
}

int trace_find_anomaly(struct trace_anomaly *a)
{
	bool machine =
		trace_policy_available(a->policy, a->msg, sizeof(a->msg));
	uint64_t rng = a->seed ? a->seed : 1, dummy;
	uint32_t one = 1;
	int rc = 0;

	a->by_model = trace_model_misses(a->policy, &one, 1, 1, &dummy) == 0;
	a->model_only = !machine && a->by_model;
	a->tried = a->model_disagreed = 0;
	if (!machine && !a->by_model)
		return -EINVAL; /* a->msg says why */
	if (machine)
		a->msg[0] = '\0';
	for (a->tried = 0; a->tried < a->tries && rc == 0;) {
		unsigned pages = draw(a, &rng);
		int f;

		a->tried++;
		f = first_anomaly(a, a->by_model, a->refs, a->len, pages);
		if (f < 0)
			return f;
		rc = f ? settle(a, a->by_model, f) : 0;
	}
	return rc;
}
