/*
 * tests/test_slab.c - the slab allocator: worked examples of slab geometry,
 * fill/drain cycles through the three lists and back to the buddy, objects
 * that never overlap (byte patterns + interval sort), a randomized
 * differential test against a model of live objects (SEED=), /proc/slabinfo
 * text against a model, exhaustion, -ENOMEM and -EINVAL paths, BUG_ON on
 * bad frees (in a forked child), and slab_check catching corruption.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "vm/slab.h"
#include "vm/slab_internal.h" /* the corruption tests reach inside */

struct env {
	struct phys ph;
	struct buddy *b;
	struct slab_allocator *sa;
};

static void env_up_cfg(struct env *e, uint64_t nr_pages,
		       const struct buddy_config *cfg)
{
	assert_int_equal(phys_init(&e->ph, nr_pages, NULL), 0);
	assert_int_equal(buddy_create(&e->ph, cfg, &e->b), 0);
	assert_int_equal(
		slab_allocator_create(&e->ph, e->b, NULL, NULL, &e->sa), 0);
}

static void env_up(struct env *e, uint64_t nr_pages)
{
	struct buddy_config cfg;

	buddy_config_init(&cfg);
	env_up_cfg(e, nr_pages, &cfg);
}

/* Every cache must be empty: afterwards every frame is back in the buddy. */
static void env_down(struct env *e)
{
	slab_allocator_destroy(e->sa);
	assert_int_equal(buddy_nr_free(e->b), e->ph.nr_pages);
	assert_int_equal(buddy_check(e->b), 0);
	buddy_destroy(e->b);
	phys_fini(&e->ph);
}

static struct slab_cache_stats stats_of(const struct slab_cache *c)
{
	struct slab_cache_stats st;

	slab_cache_get_stats(c, &st);
	return st;
}

static void assert_lists(const struct slab_cache *c, uint64_t full,
			 uint64_t partial, uint64_t nfree)
{
	struct slab_cache_stats st = stats_of(c);

	assert_int_equal(slab_check(c), 0);
	assert_int_equal(st.nr_full, full);
	assert_int_equal(st.nr_partial, partial);
	assert_int_equal(st.nr_free, nfree);
	assert_int_equal(st.num_slabs, full + partial + nfree);
	assert_int_equal(st.active_slabs, full + partial);
	assert_int_equal(st.num_objs, st.num_slabs * st.objperslab);
}

static pfn_t pfn_of(const struct env *e, const void *p)
{
	return (pfn_t)((const uint8_t *)p - e->ph.direct_map) >> PAGE_SHIFT;
}

/* The object lies in the direct map, in frames of c's slabs, aligned. */
static void assert_in_slab(const struct env *e, const struct slab_cache *c,
			   const void *p, size_t size)
{
	const uint8_t *u = p;

	assert_true(u >= e->ph.direct_map);
	assert_true(u + size <=
		    e->ph.direct_map + (e->ph.nr_pages << PAGE_SHIFT));
	assert_int_equal((uintptr_t)p % 8, 0);
	for (pfn_t pfn = pfn_of(e, u); pfn <= pfn_of(e, u + size - 1); pfn++) {
		const struct page *pg = phys_page(&e->ph, pfn);

		assert_true(pg->flags & PG_slab);
		assert_ptr_equal(pg->slab_cache, c);
	}
}

/* ---- bad input ----------------------------------------------------------- */

static void test_slab_bad_input(void **state)
{
	struct env e;
	struct slab_cache *c = NULL, *sentinel = (struct slab_cache *)&e;
	uint64_t nfree;
	char name[SLAB_NAME_MAX + 1];

	(void)state;
	env_up(&e, 16);
	nfree = buddy_nr_free(e.b);
	c = sentinel;
	assert_int_equal(slab_cache_create(e.sa, "zero", 0, &c), -EINVAL);
	assert_int_equal(slab_cache_create(e.sa, "huge", SLAB_MAX_SIZE + 1, &c),
			 -EINVAL);
	assert_int_equal(slab_cache_create(e.sa, "huger", SIZE_MAX, &c),
			 -EINVAL);
	assert_int_equal(slab_cache_create(e.sa, NULL, 64, &c), -EINVAL);
	assert_int_equal(slab_cache_create(e.sa, "", 64, &c), -EINVAL);
	memset(name, 'n', SLAB_NAME_MAX);
	name[SLAB_NAME_MAX] = '\0'; /* one too long */
	assert_int_equal(slab_cache_create(e.sa, name, 64, &c), -EINVAL);
	assert_ptr_equal(c, sentinel);
	assert_int_equal(buddy_nr_free(e.b), nfree);

	/* The limits themselves are fine. */
	name[SLAB_NAME_MAX - 1] = '\0';
	assert_int_equal(slab_cache_create(e.sa, name, SLAB_MAX_SIZE, &c), 0);
	assert_int_equal(stats_of(c).objsize, SLAB_MAX_SIZE);
	assert_int_equal(stats_of(c).objperslab, 1);
	slab_cache_destroy(c);
	env_down(&e);
}

/* ---- geometry: worked examples ------------------------------------------ */

struct geom {
	size_t size;
	unsigned objsize, pagesperslab, objperslab;
};

/*
 * Computed by hand: the smallest order (<= 3) wasting <= 1/8 of the slab
 * whose bitmap fits (order 0 holds 192 slots, each tail frame 320 more),
 * else the smallest order holding one object.
 */
static const struct geom geoms[] = {
	{ 1, 16, 2, 512 }, /* min size; 256 > 192 slots at order 0 */
	{ 8, 16, 2, 512 },
	{ 16, 16, 2, 512 },
	{ 17, 24, 1, 170 }, /* waste 16 */
	{ 24, 24, 1, 170 },
	{ 40, 40, 1, 102 },
	{ 72, 72, 1, 56 },
	{ 200, 200, 1, 20 },
	{ 1000, 1000, 1, 4 },
	{ 1500, 1504, 2, 5 }, /* order 0 wastes 1088 > 512; order 1: 672 */
	{ 3000, 3000, 4, 5 }, /* orders 0, 1 waste 1096, 2192 */
	{ 4096, 4096, 1, 1 },
	{ 5000, 5000, 4, 3 },
	{ 20000, 20000, 8, 1 }, /* never <= 1/8: smallest that holds one */
	{ 32768, 32768, 8, 1 },
};

static void test_slab_geometry(void **state)
{
	struct env e;

	(void)state;
	env_up(&e, 64);
	for (size_t i = 0; i < ARRAY_SIZE(geoms); i++) {
		struct slab_cache *c;
		struct slab_cache_stats st;

		assert_int_equal(
			slab_cache_create(e.sa, "geom", geoms[i].size, &c), 0);
		st = stats_of(c);
		assert_int_equal(st.objsize, geoms[i].objsize);
		assert_int_equal(st.pagesperslab, geoms[i].pagesperslab);
		assert_int_equal(st.objperslab, geoms[i].objperslab);
		assert_int_equal(st.objperslab,
				 PAGE_SIZE * st.pagesperslab / st.objsize);
		assert_int_equal(st.num_slabs, 0);
		assert_int_equal(slab_check(c), 0);
		slab_cache_destroy(c);
	}
	env_down(&e);
}

/* ---- fill / drain cycles ------------------------------------------------- */

#define CYCLE_MAX_OBJS 2560

struct pool {
	void *obj[CYCLE_MAX_OBJS];
	unsigned n;
};

/* Free every live object in the same slab as obj[i]; returns how many. */
static unsigned free_slab_of(const struct env *e, struct slab_cache *c,
			     struct pool *p, unsigned i, unsigned max)
{
	uint64_t pps = stats_of(c).pagesperslab;
	pfn_t slab = pfn_of(e, p->obj[i]) / pps;
	unsigned freed = 0;

	for (unsigned k = 0; k < p->n && freed < max; k++) {
		if (!p->obj[k] || pfn_of(e, p->obj[k]) / pps != slab)
			continue;
		slab_free(c, p->obj[k]);
		p->obj[k] = NULL;
		freed++;
	}
	return freed;
}

static void pool_alloc(struct slab_cache *c, struct pool *p, unsigned count)
{
	for (unsigned k = 0; k < count; k++) {
		assert_true(p->n < CYCLE_MAX_OBJS);
		p->obj[p->n] = slab_alloc(c);
		assert_non_null(p->obj[p->n]);
		p->n++;
	}
}

static unsigned first_live(const struct pool *p, unsigned from)
{
	while (from < p->n && !p->obj[from])
		from++;
	assert_true(from < p->n);
	return from;
}

/* One cycle; F0 is the buddy's free count with no slab in the cache. */
static void fill_drain_cycle(struct env *e, struct slab_cache *c, uint64_t f0)
{
	uint64_t n = stats_of(c).objperslab, pps = stats_of(c).pagesperslab;
	unsigned k = (unsigned)MAX(1, n / 4), i;
	struct pool p = { .n = 0 };

	pool_alloc(c, &p, (unsigned)(3 * n + n / 2)); /* 3.5 slabs */
	assert_lists(c, 3, 1, 0);
	assert_int_equal(buddy_nr_free(e->b), f0 - 4 * pps);

	/* Empty the first slab: full -> free. */
	assert_int_equal(free_slab_of(e, c, &p, 0, (unsigned)n), n);
	assert_lists(c, 2, 1, 1);
	/* A few objects out of another full slab: full -> partial. */
	i = first_live(&p, 0);
	assert_int_equal(free_slab_of(e, c, &p, i, k), k);
	assert_lists(c, 1, 2, 1);
	assert_int_equal(stats_of(c).active_objs, 3 * n + n / 2 - n - k);

	/* Refill: partial slabs first, then the free one; no new frame. */
	pool_alloc(c, &p, (unsigned)(n - n / 2 + k + 1));
	assert_lists(c, 3, n > 1 ? 1 : 0, 0);
	assert_int_equal(buddy_nr_free(e->b), f0 - 4 * pps);

	/* Drain: SLAB_FREE_KEPT empty slabs stay, the others go back. */
	for (i = 0; i < p.n; i++)
		if (p.obj[i])
			slab_free(c, p.obj[i]);
	assert_lists(c, 0, 0, SLAB_FREE_KEPT);
	assert_int_equal(stats_of(c).active_objs, 0);
	assert_int_equal(buddy_nr_free(e->b), f0 - SLAB_FREE_KEPT * pps);
	assert_int_equal(slab_shrink(e->sa), SLAB_FREE_KEPT * pps);
	assert_lists(c, 0, 0, 0);
	assert_int_equal(buddy_nr_free(e->b), f0);
}

static void test_slab_fill_drain_cycles(void **state)
{
	static const size_t sizes[] = { 200, 3000, 16, 5000 };
	struct env e;

	(void)state;
	env_up(&e, 256);
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		struct slab_cache *c;
		uint64_t f0;

		assert_int_equal(slab_cache_create(e.sa, "cycle", sizes[s], &c),
				 0);
		f0 = buddy_nr_free(e.b);
		for (int cycle = 0; cycle < 3; cycle++)
			fill_drain_cycle(&e, c, f0);
		slab_cache_destroy(c);
	}
	env_down(&e);
}

/* ---- objects never overlap ----------------------------------------------- */

static const size_t overlap_sizes[] = { 16, 24, 40, 72, 200, 1000, 3000, 20000 };
#define NR_OVERLAP	 ARRAY_SIZE(overlap_sizes)
#define OVERLAP_MAX_OBJS 300
#define OVERLAP_BYTES	 (256 * 1024)

struct live {
	uint8_t *p;
	size_t size;
	uint64_t tag;
	unsigned cache;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint8_t pattern_byte(uint64_t tag, size_t j)
{
	return (uint8_t)((mix64(tag) >> (8 * (j % 8))) ^ (j / 8 * 131));
}

static void fill_pattern(const struct live *l)
{
	for (size_t j = 0; j < l->size; j++)
		l->p[j] = pattern_byte(l->tag, j);
}

static void check_pattern(const struct live *l)
{
	for (size_t j = 0; j < l->size; j++)
		if (l->p[j] != pattern_byte(l->tag, j))
			fail_msg("object %p (tag %lu) byte %zu overwritten",
				 (void *)l->p, (unsigned long)l->tag, j);
}

static int cmp_live(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct live *)a)->p;
	uintptr_t y = (uintptr_t)((const struct live *)b)->p;

	return x < y ? -1 : x > y;
}

/* Patterns intact, and sorted by address each ends before the next. */
static void check_all(const struct env *e, struct slab_cache **caches,
		      struct live *l, size_t n)
{
	struct live *sorted = malloc(n * sizeof(*sorted));

	assert_non_null(sorted);
	for (size_t i = 0; i < n; i++) {
		check_pattern(&l[i]);
		assert_in_slab(e, caches[l[i].cache], l[i].p, l[i].size);
	}
	memcpy(sorted, l, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_live);
	for (size_t i = 1; i < n; i++)
		assert_true(sorted[i - 1].p + sorted[i - 1].size <=
			    sorted[i].p);
	free(sorted);
	for (size_t c = 0; c < NR_OVERLAP; c++)
		assert_int_equal(slab_check(caches[c]), 0);
}

static size_t overlap_count(size_t size)
{
	return MAX(8, MIN(OVERLAP_MAX_OBJS, OVERLAP_BYTES / size));
}

/* Allocate round-robin until each cache has its count of objects. */
static size_t overlap_fill(struct slab_cache **caches, struct live *l, size_t n,
			   uint64_t *tag)
{
	size_t have[NR_OVERLAP] = { 0 };

	for (size_t i = 0; i < n; i++)
		have[l[i].cache]++;
	for (bool more = true; more;) {
		more = false;
		for (unsigned c = 0; c < NR_OVERLAP; c++) {
			if (have[c] >= overlap_count(overlap_sizes[c]))
				continue;
			l[n] = (struct live){ slab_alloc(caches[c]),
					      overlap_sizes[c], (*tag)++, c };
			assert_non_null(l[n].p);
			fill_pattern(&l[n]);
			have[c]++;
			n++;
			more = true;
		}
	}
	return n;
}

static void test_slab_objects_never_overlap(void **state)
{
	struct slab_cache *caches[NR_OVERLAP];
	struct live *l = calloc(NR_OVERLAP * OVERLAP_MAX_OBJS, sizeof(*l));
	uint64_t tag = 1;
	size_t n, kept;
	struct env e;

	(void)state;
	assert_non_null(l);
	env_up(&e, 4096);
	for (unsigned c = 0; c < NR_OVERLAP; c++)
		assert_int_equal(slab_cache_create(e.sa, "overlap",
						   overlap_sizes[c],
						   &caches[c]),
				 0);
	assert_true(stats_of(caches[NR_OVERLAP - 1]).pagesperslab > 1);
	n = overlap_fill(caches, l, 0, &tag);
	check_all(&e, caches, l, n);

	/* Free every third object, check the rest, then refill the holes. */
	kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 3 == 0)
			slab_free(caches[l[i].cache], l[i].p);
		else
			l[kept++] = l[i];
	}
	check_all(&e, caches, l, kept);
	n = overlap_fill(caches, l, kept, &tag);
	check_all(&e, caches, l, n);

	for (size_t i = 0; i < n; i++)
		slab_free(caches[l[i].cache], l[i].p);
	for (unsigned c = 0; c < NR_OVERLAP; c++) {
		assert_int_equal(stats_of(caches[c]).active_objs, 0);
		slab_cache_destroy(caches[c]);
	}
	env_down(&e);
	free(l);
}

/* ---- randomized differential test ---------------------------------------- */

#define RND_CACHES    5
#define RND_MAX_LIVE  1500
#define RND_BATCHES   150
#define RND_BATCH_OPS 200
static const size_t rnd_sizes[RND_CACHES] = { 16, 24, 136, 1000, 3000 };

struct rnd_model {
	struct slab_cache *c[RND_CACHES];
	uint8_t *live[RND_CACHES][RND_MAX_LIVE];
	uint64_t stamp[RND_CACHES][RND_MAX_LIVE];
	size_t nlive[RND_CACHES];
	uint64_t next_stamp, nulls;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	return vmtest_rand(&rng_state);
}

static uint64_t seed_from_env(void)
{
	return vmtest_seed("test_slab");
}

/* The stamp sits in the first and last 8 bytes of the object. */
static void stamp_put(uint8_t *p, size_t size, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
	memcpy(p + size - sizeof(v), &v, sizeof(v));
}

static void stamp_check(const uint8_t *p, size_t size, uint64_t v)
{
	uint64_t a, b;

	memcpy(&a, p, sizeof(a));
	memcpy(&b, p + size - sizeof(b), sizeof(b));
	assert_int_equal(a, v);
	assert_int_equal(b, v);
}

static void rnd_alloc(struct rnd_model *m, unsigned c)
{
	uint8_t *p;

	if (m->nlive[c] == RND_MAX_LIVE)
		return;
	p = slab_alloc(m->c[c]);
	if (!p) {
		/* Only when the cache had to grow and the buddy said no. */
		assert_int_equal(stats_of(m->c[c]).nr_partial, 0);
		assert_int_equal(stats_of(m->c[c]).nr_free, 0);
		m->nulls++;
		return;
	}
	m->live[c][m->nlive[c]] = p;
	m->stamp[c][m->nlive[c]] = ++m->next_stamp;
	stamp_put(p, rnd_sizes[c], m->next_stamp);
	m->nlive[c]++;
}

static void rnd_free(struct rnd_model *m, unsigned c)
{
	size_t i, last;

	if (m->nlive[c] == 0)
		return;
	i = rng() % m->nlive[c];
	last = --m->nlive[c];
	stamp_check(m->live[c][i], rnd_sizes[c], m->stamp[c][i]);
	slab_free(m->c[c], m->live[c][i]);
	m->live[c][i] = m->live[c][last];
	m->stamp[c][i] = m->stamp[c][last];
}

/* Every invariant, every stamp, and the buddy's count of frames. */
static void rnd_verify(const struct env *e, const struct rnd_model *m,
		       uint64_t f0)
{
	uint64_t frames = 0;

	for (unsigned c = 0; c < RND_CACHES; c++) {
		struct slab_cache_stats st = stats_of(m->c[c]);

		assert_int_equal(slab_check(m->c[c]), 0);
		assert_int_equal(st.active_objs, m->nlive[c]);
		assert_true(st.num_objs >= st.active_objs);
		frames += st.num_slabs * st.pagesperslab;
		for (size_t i = 0; i < m->nlive[c]; i++)
			stamp_check(m->live[c][i], rnd_sizes[c],
				    m->stamp[c][i]);
	}
	assert_int_equal(buddy_nr_free(e->b), f0 - frames);
	assert_int_equal(buddy_check(e->b), 0);
}

static void rnd_batch(struct env *e, struct rnd_model *m, uint64_t f0,
		      unsigned batch)
{
	/* Alternate growth and shrinkage phases of 15 batches. */
	unsigned alloc_pct = (batch / 15) % 2 ? 35 : 80;

	for (unsigned op = 0; op < RND_BATCH_OPS; op++) {
		unsigned c = (unsigned)(rng() % RND_CACHES);

		if (rng() % 100 < alloc_pct)
			rnd_alloc(m, c);
		else
			rnd_free(m, c);
	}
	rnd_verify(e, m, f0);
	if (batch % 7 == 6) {
		uint64_t before = buddy_nr_free(e->b);
		uint64_t freed = slab_shrink(e->sa);

		assert_int_equal(buddy_nr_free(e->b), before + freed);
		for (unsigned c = 0; c < RND_CACHES; c++)
			assert_int_equal(stats_of(m->c[c]).nr_free, 0);
		rnd_verify(e, m, f0);
	}
}

static void run_differential(const struct buddy_config *cfg)
{
	struct rnd_model *m = calloc(1, sizeof(*m));
	struct env e;
	uint64_t f0;

	assert_non_null(m);
	rng_state = seed_from_env() * 2 + 1;
	env_up_cfg(&e, 512, cfg);
	for (unsigned c = 0; c < RND_CACHES; c++)
		assert_int_equal(slab_cache_create(e.sa, "rnd", rnd_sizes[c],
						   &m->c[c]),
				 0);
	f0 = buddy_nr_free(e.b);
	for (unsigned batch = 0; batch < RND_BATCHES; batch++)
		rnd_batch(&e, m, f0, batch);
	assert_true(m->nulls > 0); /* the pool really ran dry at times */
	for (unsigned c = 0; c < RND_CACHES; c++) {
		while (m->nlive[c])
			rnd_free(m, c);
		slab_cache_destroy(m->c[c]);
	}
	env_down(&e);
	free(m);
}

static void test_slab_random_differential(void **state)
{
	struct buddy_config cfg;

	(void)state;
	buddy_config_init(&cfg);
	run_differential(&cfg);
}

/* The same over a buddy that caches order-0 frames and merges lazily. */
static void test_slab_random_differential_lazy_pcp(void **state)
{
	struct buddy_config cfg;

	(void)state;
	buddy_config_init(&cfg);
	cfg.lazy = true;
	cfg.lazy_threshold = 4;
	cfg.pcp = true;
	run_differential(&cfg);
}

/* ---- /proc/slabinfo ------------------------------------------------------ */

static const char slabinfo_header[] =
	"slabinfo - version: 2.1\n"
	"# name            <active_objs> <num_objs> <objsize> <objperslab> "
	"<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : "
	"slabdata <active_slabs> <num_slabs> <sharedavail>\n";

struct info_model {
	const char *name;
	unsigned long active_objs, active_slabs, num_slabs;
	unsigned objsize;
};

/* Parse one slabinfo line; check it against m, field by field and as text. */
static void check_info_line(const char *line, const struct info_model *m)
{
	char name[64], want[256];
	unsigned long aobj, nobj, aslab, nslab, shared;
	unsigned objsize, opsl, lim, batch, sf;
	int pps, end = -1;

	assert_int_equal(sscanf(line,
				"%63s %lu %lu %u %u %d : tunables %u %u %u "
				": slabdata %lu %lu %lu%n",
				name, &aobj, &nobj, &objsize, &opsl, &pps, &lim,
				&batch, &sf, &aslab, &nslab, &shared, &end),
			 12);
	assert_int_equal(end, (int)strlen(line));
	assert_string_equal(name, m->name);
	assert_int_equal(objsize, m->objsize);
	assert_int_equal(opsl, PAGE_SIZE * (unsigned)pps / objsize);
	assert_int_equal(aobj, m->active_objs);
	assert_int_equal(nslab, m->num_slabs);
	assert_int_equal(aslab, m->active_slabs);
	assert_int_equal(nobj, nslab * opsl);
	assert_int_equal(lim + batch + sf + shared, 0);
	snprintf(want, sizeof(want),
		 "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : "
		 "slabdata %6lu %6lu %6lu",
		 m->name, m->active_objs, m->num_slabs * opsl, m->objsize, opsl,
		 pps, 0u, 0u, 0u, m->active_slabs, m->num_slabs, 0UL);
	assert_string_equal(line, want);
}

static void check_slabinfo(const struct env *e, const struct info_model *m,
			   size_t nm)
{
	static char buf[4096];
	int len = slab_info(e->sa, buf, sizeof(buf));
	char *line, *save = NULL;
	size_t i = 0;

	assert_true(len > 0 && (size_t)len < sizeof(buf));
	assert_int_equal(len, (int)strlen(buf));
	assert_int_equal(slab_info(e->sa, NULL, 0), len);
	assert_memory_equal(buf, slabinfo_header, strlen(slabinfo_header));
	assert_int_equal(buf[len - 1], '\n');
	line = strtok_r(buf + strlen(slabinfo_header), "\n", &save);
	for (; line; line = strtok_r(NULL, "\n", &save), i++) {
		assert_true(i < nm);
		check_info_line(line, &m[i]);
	}
	assert_int_equal(i, nm);
}

static unsigned long div_up(unsigned long a, unsigned long b)
{
	return (a + b - 1) / b;
}

/* Model row for a cache after n allocations and no frees. */
static struct info_model fresh_row(const char *name, unsigned objsize,
				   unsigned objperslab, unsigned long n)
{
	return (struct info_model){ name, n, div_up(n, objperslab),
				    div_up(n, objperslab), objsize };
}

/*
 * kmem_cache's row: its first line after the header, holding one descriptor
 * per cache, its own included.  Its object size is private to slab.c, so it
 * is read back (and checked against objperslab in check_info_line).
 */
static struct info_model kmem_cache_row(const struct env *e,
					unsigned long nr_caches)
{
	char buf[4096], name[32];
	unsigned objsize, objperslab;

	slab_info(e->sa, buf, sizeof(buf));
	assert_int_equal(sscanf(buf + strlen(slabinfo_header),
				"%31s %*u %*u %u %u", name, &objsize,
				&objperslab),
			 3);
	assert_string_equal(name, "kmem_cache");
	return fresh_row("kmem_cache", objsize, objperslab, 1 + nr_caches);
}

static void test_slab_slabinfo_matches_model(void **state)
{
	static const struct {
		const char *name;
		size_t size;
		unsigned objsize, objperslab, n;
	} spec[] = {
		{ "tiny", 8, 16, 512, 7 },
		{ "anon_vma_chain_long_x", 100, 104, 39, 300 },
		{ "task_struct", 3000, 3000, 5, 11 },
		{ "huge", 20000, 20000, 1, 3 },
	};
	struct slab_cache *c[ARRAY_SIZE(spec)];
	void *objs[ARRAY_SIZE(spec)][300];
	struct info_model m[1 + ARRAY_SIZE(spec)];
	struct env e;
	char small[10];

	(void)state;
	env_up(&e, 512);
	for (size_t i = 0; i < ARRAY_SIZE(spec); i++) {
		assert_int_equal(slab_cache_create(e.sa, spec[i].name,
						   spec[i].size, &c[i]),
				 0);
		for (unsigned k = 0; k < spec[i].n; k++)
			assert_non_null(objs[i][k] = slab_alloc(c[i]));
		m[1 + i] = fresh_row(spec[i].name, spec[i].objsize,
				     spec[i].objperslab, spec[i].n);
	}
	m[0] = kmem_cache_row(&e, ARRAY_SIZE(spec));
	check_slabinfo(&e, m, ARRAY_SIZE(m));
	/* Truncated output: like snprintf, NUL-terminated, full length. */
	assert_int_equal(slab_info(e.sa, small, sizeof(small)),
			 slab_info(e.sa, NULL, 0));
	assert_string_equal(small, "slabinfo ");

	/* Drain the 104-byte cache: 8 slabs, SLAB_FREE_KEPT of them stay. */
	for (unsigned k = 0; k < spec[1].n; k++)
		slab_free(c[1], objs[1][k]);
	m[2].active_objs = 0;
	m[2].active_slabs = 0;
	m[2].num_slabs = MIN(SLAB_FREE_KEPT, m[2].num_slabs);
	check_slabinfo(&e, m, ARRAY_SIZE(m));
	/* Half of task_struct: 11 -> 5 objects, freed from the end. */
	for (unsigned k = 5; k < spec[2].n; k++)
		slab_free(c[2], objs[2][k]);
	m[3] = fresh_row("task_struct", 3000, 5, 5);
	m[3].num_slabs = 1 + MIN(SLAB_FREE_KEPT, 2); /* 3rd slab (1 obj) too */
	check_slabinfo(&e, m, ARRAY_SIZE(m));
	assert_int_equal(slab_shrink(e.sa),
			 SLAB_FREE_KEPT * 1 + MIN(SLAB_FREE_KEPT, 2) * 4);
	m[2].num_slabs = 0;
	m[3].num_slabs = 1;
	check_slabinfo(&e, m, ARRAY_SIZE(m));

	for (size_t i = 0; i < ARRAY_SIZE(spec); i++) {
		for (unsigned k = 0; k < spec[i].n; k++)
			if (i != 1 && !(i == 2 && k >= 5))
				slab_free(c[i], objs[i][k]);
		slab_cache_destroy(c[i]);
	}
	env_down(&e);
}

/* ---- exhaustion and -ENOMEM ---------------------------------------------- */

static void test_slab_exhaustion(void **state)
{
	void *objs[64];
	unsigned n = 0;
	struct slab_cache *c;
	struct env e;

	(void)state;
	env_up(&e, 8); /* kmem_cache takes one frame, 7 are left */
	assert_int_equal(slab_cache_create(e.sa, "k1000", 1000, &c), 0);
	assert_int_equal(buddy_nr_free(e.b), 7);
	while ((objs[n] = slab_alloc(c)) != NULL)
		n++;
	assert_int_equal(n, 7 * 4);
	assert_int_equal(buddy_nr_free(e.b), 0);
	assert_null(slab_alloc(c));
	assert_lists(c, 7, 0, 0);

	/* A freed slot is handed out again, without the buddy. */
	slab_free(c, objs[13]);
	assert_lists(c, 6, 1, 0);
	assert_ptr_equal(slab_alloc(c), objs[13]);
	assert_null(slab_alloc(c));
	while (n)
		slab_free(c, objs[--n]);
	assert_lists(c, 0, 0, SLAB_FREE_KEPT);
	assert_int_equal(slab_shrink(e.sa), SLAB_FREE_KEPT);
	assert_int_equal(buddy_nr_free(e.b), 7);
	slab_cache_destroy(c);
	env_down(&e);
}

/* Creation fails, -ENOMEM, when kmem_cache needs a frame and none is left. */
static void test_slab_create_enomem_leaves_nothing(void **state)
{
	struct slab_cache *filler, *caches[64], *c = NULL;
	void *objs[64];
	unsigned n = 0, nc = 0;
	char before[2048], after[2048];
	struct env e;
	int err;

	(void)state;
	env_up(&e, 8);
	assert_int_equal(slab_cache_create(e.sa, "filler", 4096, &filler), 0);
	while ((objs[n] = slab_alloc(filler)) != NULL)
		n++;
	assert_int_equal(buddy_nr_free(e.b), 0);
	/* Fill kmem_cache's only slab with descriptors. */
	while ((err = slab_cache_create(e.sa, "more", 64, &caches[nc])) == 0)
		assert_true(++nc < ARRAY_SIZE(caches));
	assert_int_equal(err, -ENOMEM);

	slab_info(e.sa, before, sizeof(before));
	assert_int_equal(slab_cache_create(e.sa, "fails", 64, &c), -ENOMEM);
	assert_null(c);
	slab_info(e.sa, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(buddy_nr_free(e.b), 0);

	/* One frame back: creation works again. */
	slab_free(filler, objs[--n]);
	assert_int_equal(buddy_nr_free(e.b), 0); /* kept as an empty slab */
	assert_int_equal(slab_shrink(e.sa), 1);
	assert_int_equal(slab_cache_create(e.sa, "works", 64, &c), 0);
	slab_cache_destroy(c);
	while (nc)
		slab_cache_destroy(caches[--nc]);
	while (n)
		slab_free(filler, objs[--n]);
	slab_cache_destroy(filler);
	env_down(&e);
}

static void test_slab_allocator_create_enomem(void **state)
{
	struct buddy_config cfg;
	struct slab_allocator *sa = NULL;
	struct buddy *b;
	struct phys ph;
	pfn_t pfn;

	(void)state;
	assert_int_equal(phys_init(&ph, 4, NULL), 0);
	buddy_config_init(&cfg);
	assert_int_equal(buddy_create(&ph, &cfg, &b), 0);
	assert_int_equal(buddy_alloc(b, 2, &pfn), 0);
	assert_int_equal(slab_allocator_create(&ph, b, NULL, NULL, &sa),
			 -ENOMEM);
	assert_null(sa);
	assert_int_equal(buddy_nr_free(b), 0);
	buddy_free(b, pfn, 2);
	assert_int_equal(slab_allocator_create(&ph, b, NULL, NULL, &sa), 0);
	assert_int_equal(buddy_nr_free(b), 3);
	slab_allocator_destroy(sa);
	assert_int_equal(buddy_nr_free(b), 4);
	buddy_destroy(b);
	phys_fini(&ph);
}

/* ---- metadata on struct pages -------------------------------------------- */

static void test_slab_frame_flags(void **state)
{
	struct slab_cache *c;
	struct env e;
	uint8_t *obj;
	pfn_t head;

	(void)state;
	env_up(&e, 64);
	assert_int_equal(slab_cache_create(e.sa, "k3000", 3000, &c), 0);
	obj = slab_alloc(c);
	assert_non_null(obj);
	head = pfn_of(&e, obj);
	assert_int_equal(head % 4, 0); /* first object at the slab's start */
	for (pfn_t i = 0; i < 4; i++) {
		uint32_t want = PG_slab | (i == 0 ? PG_head : 0);

		assert_int_equal(phys_page(&e.ph, head + i)->flags, want);
	}
	assert_int_equal(phys_page(&e.ph, head + 4)->flags & PG_slab, 0);
	slab_free(c, obj);
	assert_int_equal(phys_page(&e.ph, head)->flags, PG_slab | PG_head);
	assert_int_equal(slab_shrink(e.sa), 4);
	for (pfn_t i = 0; i < 4; i++)
		assert_int_equal(phys_page(&e.ph, head + i)->flags &
					 (PG_slab | PG_head),
				 0);
	slab_cache_destroy(c);
	env_down(&e);
}

/* slab_check really looks: corrupt one thing at a time, then restore. */
static void test_slab_check_catches_corruption(void **state)
{
	struct slab_cache *c;
	struct page *head;
	struct env e;
	void *a, *b;

	(void)state;
	env_up(&e, 64);
	assert_int_equal(slab_cache_create(e.sa, "k3000", 3000, &c), 0);
	a = slab_alloc(c);
	b = slab_alloc(c);
	head = phys_page(&e.ph, pfn_of(&e, a));
	assert_int_equal(slab_check(c), 0);

	head->slab_word[0] |= 1ULL << 7; /* slot 7 >= objperslab 5 */
	assert_int_equal(slab_check(c), SLAB_CHECK_BITMAP);
	head->slab_word[0] &= ~(1ULL << 7);
	head->slab_word[0] |= 1ULL << 3; /* a free slot marked used */
	assert_int_equal(slab_check(c), SLAB_CHECK_BITMAP);
	head->slab_word[0] &= ~(1ULL << 3);
	head[2].flags &= ~(uint32_t)PG_slab;
	assert_int_equal(slab_check(c), SLAB_CHECK_FRAMES);
	head[2].flags |= PG_slab;
	head->private = 5; /* inuse says full, but it is on slabs_partial */
	assert_int_equal(slab_check(c), SLAB_CHECK_LIST);
	head->private = 2;
	assert_int_equal(slab_check(c), 0);
	c->active_objs++; /* the cache's total disagrees with its slabs */
	assert_int_equal(slab_check(c), SLAB_CHECK_COUNT);
	c->active_objs--;
	c->nr_slabs[SLABS_PARTIAL]++;
	assert_int_equal(slab_check(c), SLAB_CHECK_COUNT);
	c->nr_slabs[SLABS_PARTIAL]--;
	c->size += 1; /* not a multiple of the alignment */
	assert_int_equal(slab_check(c), SLAB_CHECK_GEOMETRY);
	c->size -= 1;
	c->objperslab -= 1;
	assert_int_equal(slab_check(c), SLAB_CHECK_GEOMETRY);
	c->objperslab += 1;
	assert_int_equal(slab_check(c), 0);

	slab_free(c, a);
	slab_free(c, b);
	slab_cache_destroy(c);
	env_down(&e);
}

/* ---- bugs abort ---------------------------------------------------------- */

enum bad_op {
	BAD_DOUBLE_FREE,
	BAD_OTHER_CACHE,
	BAD_INTERIOR,
	BAD_OUTSIDE_MAP,
	BAD_NON_SLAB_FRAME,
	BAD_BEYOND_OBJPERSLAB,
	BAD_DESTROY_NONEMPTY,
	NR_BAD_OPS
};

/*
 * In a forked child, which owns its whole pool: the direct map is a shared
 * mapping, so a child must not touch a pool its parent still uses.
 */
static void do_bad_op(enum bad_op op)
{
	struct buddy_config cfg;
	struct slab_cache *a, *b;
	uint8_t *obj, stack_byte = 0;
	struct env e;
	pfn_t pfn;

	buddy_config_init(&cfg);
	if (phys_init(&e.ph, 64, NULL) || buddy_create(&e.ph, &cfg, &e.b) ||
	    slab_allocator_create(&e.ph, e.b, NULL, NULL, &e.sa) ||
	    slab_cache_create(e.sa, "a", 3000, &a) ||
	    slab_cache_create(e.sa, "b", 3000, &b) || !(obj = slab_alloc(a)) ||
	    buddy_alloc(e.b, 0, &pfn))
		_exit(3);
	if (op == BAD_DOUBLE_FREE) {
		slab_free(a, obj);
		slab_free(a, obj);
	} else if (op == BAD_OTHER_CACHE) {
		slab_free(b, obj);
	} else if (op == BAD_INTERIOR) {
		slab_free(a, obj + 8);
	} else if (op == BAD_OUTSIDE_MAP) {
		slab_free(a, &stack_byte);
	} else if (op == BAD_NON_SLAB_FRAME) {
		slab_free(a, phys_addr(&e.ph, pfn));
	} else if (op == BAD_BEYOND_OBJPERSLAB) {
		slab_free(a, obj + 5 * 3000); /* in the slab's waste */
	} else {
		slab_cache_destroy(a);
	}
}

static void test_slab_bad_free_is_bug(void **state)
{
	(void)state;
	for (int op = 0; op < NR_BAD_OPS; op++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			signal(SIGABRT, SIG_DFL);
			if (!freopen("/dev/null", "w", stderr))
				_exit(4);
			do_bad_op((enum bad_op)op);
			_exit(0); /* the bug went unnoticed */
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
			fail_msg("bad op %d: status %#x, no BUG", op, status);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slab_bad_input),
		cmocka_unit_test(test_slab_geometry),
		cmocka_unit_test(test_slab_fill_drain_cycles),
		cmocka_unit_test(test_slab_objects_never_overlap),
		cmocka_unit_test(test_slab_random_differential),
		cmocka_unit_test(test_slab_random_differential_lazy_pcp),
		cmocka_unit_test(test_slab_slabinfo_matches_model),
		cmocka_unit_test(test_slab_exhaustion),
		cmocka_unit_test(test_slab_create_enomem_leaves_nothing),
		cmocka_unit_test(test_slab_allocator_create_enomem),
		cmocka_unit_test(test_slab_frame_flags),
		cmocka_unit_test(test_slab_check_catches_corruption),
		cmocka_unit_test(test_slab_bad_free_is_bug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
