/*
 * workloads/trace_load.c - from requests to the loaded form (trace.h):
 * object ids to dense page numbers, the next-use pass, the checks.
 *
 *   parser --tload_add(id, write)--> hash map id -> page (first seen: the
 *                                    next number), page[] grows
 *   tload_finish: backward pass  next[i] = last[page[i]]; last[page[i]] = i
 *
 * The map is open addressing with linear probing over 2^k 16-byte slots
 * (key and value together: one cache miss per lookup), at most half
 * full, keyed by the 64-bit id mixed by a multiply-xorshift (ids of real
 * traces are often small consecutive integers or addresses; the mix
 * spreads them).  Memory: 4 bytes per request (page) + 4 (next) + a bit
 * when the trace writes, and 8 (ids) + 32 to 64 (map) per page while
 * loading, 8 after.
 *
 * oracleGeneral brings next_access_vtime; libCacheSim's traceConv writes
 * the 1-based index of the next request to the object, or -1.  We compute
 * next[] ourselves (the replay's request indices are ours) and check the
 * file's values: while loading, next[i] holds what record i claims
 * (vtime - 1; TRACE_NEVER for -1 or INT64_MAX, which libCacheSim's reader
 * turns -1 into; CLAIM_BAD for a value no index has), and the backward
 * pass compares each claim with the truth as it overwrites it - no extra
 * memory, sequential access.  The first disagreeing record is reported in
 * trace.vtime_mismatch (a warning: the run uses next[]).
 *
 * Invariants: see trace.h (1-5); tload keeps page[0..nr_requests) and
 * ids[0..nr_pages) consistent with the map after every tload_add.
 * No locking: one loader per thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/trace_internal.h"

#define EMPTY	      UINT32_MAX
#define CLAIM_BAD     (UINT32_MAX - 1) /* above every request index */
#define MIN_REQ_CAP   1024
#define MIN_MAP_SLOTS 1024
#define WORDS(nbits)  (((nbits) + 63) / 64)

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static struct tslot *map_alloc(uint64_t slots)
{
	struct tslot *map = malloc(slots * sizeof(*map));

	for (uint64_t i = 0; map && i < slots; i++)
		map[i].val = EMPTY;
	return map;
}

/* The slot of id: where it is, or the empty slot where it would go. */
static struct tslot *map_slot(struct tslot *map, uint64_t mask, uint64_t id)
{
	uint64_t i = mix(id) & mask;

	while (map[i].val != EMPTY && map[i].key != id)
		i = (i + 1) & mask;
	return &map[i];
}

/* Double the map: every page's id is in ids[], so rebuild from there. */
static int map_grow(struct tload *l)
{
	uint64_t mask = l->mask * 2 + 1;
	struct tslot *map = map_alloc(mask + 1);

	if (!map)
		return -ENOMEM;
	for (uint64_t p = 0; p < l->tr->nr_pages; p++) {
		struct tslot *sl = map_slot(map, mask, l->tr->ids[p]);

		sl->key = l->tr->ids[p];
		sl->val = (uint32_t)p;
	}
	free(l->map);
	l->map = map;
	l->mask = mask;
	return 0;
}

static int grow(void **p, uint64_t n, size_t size)
{
	void *q;

	if (n > SIZE_MAX / size)
		return -ENOMEM;
	q = realloc(*p, (size_t)(n * size));
	if (!q)
		return -ENOMEM;
	*p = q;
	return 0;
}

int tload_init(struct tload *l, struct trace *tr, uint64_t max_requests,
	       uint64_t size_hint)
{
	memset(l, 0, sizeof(*l));
	memset(tr, 0, sizeof(*tr));
	l->tr = tr;
	l->max_requests = max_requests && max_requests < TRACE_MAX_REQUESTS ?
				  max_requests :
				  TRACE_MAX_REQUESTS;
	l->cap_req = size_hint < MIN_REQ_CAP ? MIN_REQ_CAP : size_hint;
	if (l->cap_req > l->max_requests)
		l->cap_req = l->max_requests;
	if (grow((void **)&tr->page, l->cap_req, sizeof(*tr->page)) ||
	    grow((void **)&tr->next, l->cap_req, sizeof(*tr->next)))
		return -ENOMEM;
	l->mask = MIN_MAP_SLOTS - 1;
	l->map = map_alloc(MIN_MAP_SLOTS);
	return l->map ? 0 : -ENOMEM;
}

/* Room for one more page: ids[], and the map at most half full. */
static int room_for_page(struct tload *l)
{
	uint64_t n = l->tr->nr_pages;

	if (n == l->cap_pages) {
		uint64_t cap = n ? 2 * n : MIN_REQ_CAP;

		if (grow((void **)&l->tr->ids, cap, sizeof(uint64_t)))
			return -ENOMEM;
		l->cap_pages = cap;
	}
	return 2 * (n + 1) > l->mask + 1 ? map_grow(l) : 0;
}

/* Room for one more request: page[], next[] and the write bitmap. */
static int room_for_request(struct tload *l)
{
	struct trace *tr = l->tr;
	uint64_t cap;

	if (tr->nr_requests >= l->max_requests)
		return -EFBIG;
	if (tr->nr_requests < l->cap_req)
		return 0;
	cap = l->cap_req * 2 < l->max_requests ? l->cap_req * 2 :
						 l->max_requests;
	if (grow((void **)&tr->page, cap, sizeof(*tr->page)) ||
	    grow((void **)&tr->next, cap, sizeof(*tr->next)))
		return -ENOMEM;
	if (tr->write) {
		if (grow((void **)&tr->write, WORDS(cap), sizeof(uint64_t)))
			return -ENOMEM;
		memset(tr->write + WORDS(l->cap_req), 0,
		       (WORDS(cap) - WORDS(l->cap_req)) * sizeof(uint64_t));
	}
	l->cap_req = cap;
	return 0;
}

static int mark_write(struct tload *l, uint64_t i)
{
	struct trace *tr = l->tr;

	if (!tr->write) {
		tr->write = calloc(WORDS(l->cap_req), sizeof(uint64_t));
		if (!tr->write)
			return -ENOMEM;
	}
	tr->write[i / 64] |= 1ULL << (i % 64);
	tr->nr_writes++;
	return 0;
}

int tload_add(struct tload *l, uint64_t id, bool write, uint32_t *page)
{
	struct trace *tr = l->tr;
	struct tslot *sl;
	int rc = room_for_request(l);

	if (rc)
		return rc;
	sl = map_slot(l->map, l->mask, id);
	if (sl->val == EMPTY) {
		rc = room_for_page(l);
		if (rc)
			return rc;
		sl = map_slot(l->map, l->mask, id); /* it may have grown */
		sl->key = id;
		sl->val = (uint32_t)tr->nr_pages;
		tr->ids[tr->nr_pages++] = id;
	}
	*page = sl->val;
	if (write && mark_write(l, tr->nr_requests))
		return -ENOMEM;
	tr->page[tr->nr_requests++] = *page;
	return 0;
}

void tload_claim(struct tload *l, int64_t vt)
{
	uint64_t i = l->tr->nr_requests - 1; /* the request just added */
	uint32_t claim;

	l->check_vtime = true;
	if (vt == -1 || vt == INT64_MAX) {
		claim = TRACE_NEVER;
	} else if (vt >= 1 && (uint64_t)vt <= TRACE_MAX_REQUESTS) {
		claim = (uint32_t)(vt - 1);
	} else {
		claim = CLAIM_BAD;
		if (!l->bad_at) {
			l->bad_at = i + 1;
			l->bad_vt = vt;
		}
	}
	l->tr->next[i] = claim;
}

/* What record i + 1 said, for the message. */
static int64_t claimed(const struct tload *l, uint64_t i, uint32_t claim)
{
	if (claim == TRACE_NEVER)
		return -1;
	if (claim == CLAIM_BAD)
		return i + 1 == l->bad_at ? l->bad_vt : 0;
	return (int64_t)claim + 1;
}

/* next[] by one backward pass (checking claims); last[] is per page. */
static int next_pass(struct tload *l)
{
	struct trace *tr = l->tr;
	uint32_t *last =
		malloc((tr->nr_pages ? tr->nr_pages : 1) * sizeof(*last));

	if (!last)
		return -ENOMEM;
	memset(last, 0xff, tr->nr_pages * sizeof(*last)); /* TRACE_NEVER */
	for (uint64_t i = tr->nr_requests; i-- > 0;) {
		uint32_t p = tr->page[i];

		if (l->check_vtime && tr->next[i] != last[p]) {
			tr->vtime_mismatch = i + 1; /* ends at the first */
			tr->vtime_given = claimed(l, i, tr->next[i]);
		}
		tr->next[i] = last[p];
		last[p] = (uint32_t)i;
	}
	free(last);
	return 0;
}

int tload_finish(struct tload *l)
{
	struct trace *tr = l->tr;
	uint64_t n = tr->nr_requests ? tr->nr_requests : 1;
	int rc = next_pass(l);

	/* Give back what over-allocation took. */
	if (!rc && n < l->cap_req &&
	    (grow((void **)&tr->page, n, sizeof(*tr->page)) ||
	     grow((void **)&tr->next, n, sizeof(*tr->next))))
		rc = -ENOMEM;
	if (!rc && tr->write && WORDS(n) < WORDS(l->cap_req) &&
	    grow((void **)&tr->write, WORDS(n), sizeof(uint64_t)))
		rc = -ENOMEM;
	if (!rc && tr->nr_pages < l->cap_pages && tr->nr_pages &&
	    grow((void **)&tr->ids, tr->nr_pages, sizeof(*tr->ids)))
		rc = -ENOMEM;
	return rc;
}

void tload_free(struct tload *l)
{
	free(l->map);
	l->map = NULL;
}

void trace_free(struct trace *tr)
{
	free(tr->page);
	free(tr->next);
	free(tr->write);
	free(tr->ids);
	memset(tr, 0, sizeof(*tr));
}

/* ---- the whole load -------------------------------------------------- */

static int load_src(struct tsrc *s, const struct trace_opts *o,
		    struct trace *tr)
{
	enum trace_format f = o->format;
	struct tload l;
	int rc;

	s->max_bytes = o->max_bytes;
	rc = tsrc_start(s);
	if (!rc && f == TRACE_AUTO)
		f = trace_format_of(s->name);
	if (!rc && f == TRACE_AUTO)
		rc = trace_sniff(s, &f);
	if (rc)
		return rc;
	rc = tload_init(
		&l, tr, o->max_requests,
		f == TRACE_ORACLE ? tsrc_size_hint(s) / TRACE_ORACLE_SIZE : 0);
	tr->format_by_content = o->format == TRACE_AUTO &&
				trace_format_of(s->name) == TRACE_AUTO;
	tr->format = f;
	tr->compress = s->comp;
	if (!rc)
		rc = trace_parse(s, f, o, &l);
	if (!rc)
		rc = tload_finish(&l);
	if (rc == -ENOMEM && s->err && !s->err[0])
		tsrc_error(s, rc, 0, false, "out of memory");
	tr->bytes = s->out_bytes;
	tload_free(&l);
	return rc;
}

static int load_done(struct tsrc *s, struct trace *tr, int rc)
{
	tsrc_close(s);
	if (rc)
		trace_free(tr);
	return rc;
}

int trace_load(const char *path, const struct trace_opts *o, struct trace *tr,
	       char *err, size_t errlen)
{
	struct tsrc s = { .err = err, .errlen = errlen, .fd = -1 };
	int rc;

	memset(tr, 0, sizeof(*tr));
	if (err && errlen)
		err[0] = '\0';
	rc = tsrc_open_file(&s, path, o->compress);
	if (rc)
		return load_done(&s, tr, rc);
	return load_done(&s, tr, load_src(&s, o, tr));
}

int trace_load_mem(const char *name, const void *buf, size_t len,
		   const struct trace_opts *o, struct trace *tr, char *err,
		   size_t errlen)
{
	struct tsrc s = { .err = err, .errlen = errlen };

	memset(tr, 0, sizeof(*tr));
	if (err && errlen)
		err[0] = '\0';
	tsrc_open_mem(&s, name, buf, len, o->compress);
	return load_done(&s, tr, load_src(&s, o, tr));
}

int trace_from_ids(const uint64_t *ids, uint64_t n, struct trace *tr)
{
	struct tload l;
	uint32_t page;
	int rc = tload_init(&l, tr, 0, n);

	for (uint64_t i = 0; !rc && i < n; i++)
		rc = tload_add(&l, ids[i], false, &page);
	if (!rc)
		rc = tload_finish(&l);
	tload_free(&l);
	if (rc)
		trace_free(tr);
	return rc;
}

/* ---- the invariant walker ---------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Invariants 2 and 3 with a per-page scratch array. */
static int check_pages(const struct trace *tr, uint32_t *last)
{
	uint64_t seen = 0;

	for (uint64_t i = 0; i < tr->nr_requests; i++) {
		if (tr->page[i] > seen || tr->page[i] >= tr->nr_pages)
			return 2;
		seen += tr->page[i] == seen;
	}
	if (seen != tr->nr_pages)
		return 2;
	memset(last, 0xff, tr->nr_pages * sizeof(*last));
	for (uint64_t i = tr->nr_requests; i-- > 0;) {
		if (tr->next[i] != last[tr->page[i]])
			return 3;
		last[tr->page[i]] = (uint32_t)i;
	}
	return 0;
}

static int check_ids(const struct trace *tr)
{
	uint64_t *ids = malloc((tr->nr_pages + 1) * sizeof(*ids));
	int rc = 0;

	if (!ids)
		return -ENOMEM;
	if (tr->nr_pages)
		memcpy(ids, tr->ids, tr->nr_pages * sizeof(*ids));
	qsort(ids, tr->nr_pages, sizeof(*ids), cmp_u64);
	for (uint64_t p = 1; p < tr->nr_pages && !rc; p++)
		rc = ids[p] == ids[p - 1] ? 4 : 0;
	free(ids);
	return rc;
}

int trace_check(const struct trace *tr)
{
	uint64_t writes = 0;
	uint32_t *last;
	int rc;

	if (tr->nr_requests > TRACE_MAX_REQUESTS ||
	    tr->nr_pages > tr->nr_requests)
		return 1;
	last = malloc((tr->nr_pages + 1) * sizeof(*last));
	if (!last)
		return -ENOMEM;
	rc = check_pages(tr, last);
	free(last);
	if (!rc)
		rc = check_ids(tr);
	for (uint64_t i = 0; !rc && tr->write && i < tr->nr_requests; i++)
		writes += trace_is_write(tr, i);
	if (!rc && writes != tr->nr_writes)
		rc = 5;
	return rc;
}
