/*
 * user/tracegen.c - seeded generators of malloc-lab traces in a few
 * classic shapes (allocstudy.h):
 *
 *   uniform    sizes uniform in [min, max] (16 .. 4096); random frees keep
 *              about max_live blocks live
 *   powerlaw   sizes min / U^(1/1.3) capped at max (16 .. 1 MiB): most
 *              small, a heavy tail of large ones
 *   phases     the first 40 % of operations allocate small blocks (16 ..
 *              256) and free most of them at random; then only large
 *              blocks (min .. max, 4 KiB .. 64 KiB) come and go, while the
 *              small survivors stay put between them until the end
 *   lifetimes  80 % short-lived small blocks (16 .. 512, freed oldest
 *              first, a few operations later) and 20 % long-lived larger
 *              ones (512 .. 16 KiB, freed rarely and at random)
 *
 * Every trace is balanced (the last operations free what is still live),
 * has exactly nops operations, and a fresh id per allocation, so it
 * parses under the strict parser.  The generator is xorshift64*, so the
 * same seed gives the same trace on every machine.
 *
 * Locking: none; no globals.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "user/allocstudy.h"

#define GEN_DEFAULT_LIVE  1000
#define PARETO_ALPHA	  1.3
#define PHASE_SPLIT_PCT	  40
#define SHORT_PCT	  80
#define SHORT_FREE_PCT	  45
#define LONG_FREE_PCT	  5
#define PHASE_SMALL_MAX	  256
#define SMALL_MIN	  16
#define SHORT_MAX	  512
#define LONG_MAX	  (16ULL << 10)
#define LARGE_MIN_DEFAULT (4ULL << 10)
#define LARGE_MAX_DEFAULT (64ULL << 10)
#define TWO53		  9007199254740992.0 /* 2^53: doubles in [0, 1) */

static const char *const gen_names[ASTUDY_NSHAPES] = {
	"uniform",
	"powerlaw",
	"phases",
	"lifetimes",
};

const char *astudy_shape_name(enum astudy_shape s)
{
	return (unsigned)s < ASTUDY_NSHAPES ? gen_names[s] : NULL;
}

int astudy_shape_parse(const char *name, enum astudy_shape *out)
{
	for (unsigned i = 0; name && i < ASTUDY_NSHAPES; i++) {
		if (strcmp(name, gen_names[i]) == 0) {
			*out = (enum astudy_shape)i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * A live set: ids in an array (random removal by swapping with the last)
 * with a FIFO view for the lifetimes shape (oldest first from 'head').
 */
struct gen_set {
	uint32_t *id;
	size_t n, head;
};

struct gen {
	const struct astudy_gen *g;
	struct astudy_trace *tr;
	uint64_t rs;
	uint64_t lo, hi;     /* the shape's size range */
	struct gen_set a, b; /* live sets (small/short, large/long) */
	uint32_t next_id;
};

static uint64_t gen_rand(struct gen *s)
{
	s->rs ^= s->rs >> 12;
	s->rs ^= s->rs << 25;
	s->rs ^= s->rs >> 27;
	return s->rs * 0x2545F4914F6CDD1DULL;
}

static uint64_t gen_between(struct gen *s, uint64_t lo, uint64_t hi)
{
	return lo + gen_rand(s) % (hi - lo + 1);
}

static uint64_t gen_pareto(struct gen *s)
{
	double u = ((double)(gen_rand(s) >> 11) + 1.0) / TWO53;
	double v = (double)s->lo / pow(u, 1.0 / PARETO_ALPHA);

	return v >= (double)s->hi ? s->hi : (uint64_t)v;
}

static void gen_emit(struct gen *s, char kind, uint32_t id, uint64_t nbytes)
{
	s->tr->ops[s->tr->nops++] = (struct astudy_op){ kind, id, nbytes };
}

static void gen_alloc(struct gen *s, struct gen_set *set, uint64_t nbytes)
{
	uint32_t id = s->next_id++;

	gen_emit(s, 'a', id, nbytes);
	set->id[set->n++] = id;
}

/* Free set's i-th live id (swap-remove). */
static void gen_free_at(struct gen *s, struct gen_set *set, size_t i)
{
	gen_emit(s, 'f', set->id[i], 0);
	set->id[i] = set->id[--set->n];
}

static void gen_free_random(struct gen *s, struct gen_set *set)
{
	gen_free_at(s, set, (size_t)(gen_rand(s) % set->n));
}

/* Free the oldest of a FIFO set (ids kept in order from head). */
static void gen_free_oldest(struct gen *s, struct gen_set *set)
{
	gen_emit(s, 'f', set->id[set->head++], 0);
	if (set->head == set->n)
		set->head = set->n = 0;
}

static size_t gen_live(const struct gen *s)
{
	return s->a.n - s->a.head + s->b.n;
}

static uint64_t gen_size(struct gen *s)
{
	if (s->g->shape == ASTUDY_POWERLAW)
		return gen_pareto(s);
	return gen_between(s, s->lo, s->hi);
}

/* One step of the uniform and powerlaw shapes. */
static void gen_step_steady(struct gen *s, uint32_t live_target)
{
	uint64_t r = gen_rand(s) % 100;

	if (s->a.n && r < s->g->realloc_pct) {
		size_t i = (size_t)(gen_rand(s) % s->a.n);

		gen_emit(s, 'r', s->a.id[i], gen_size(s) + 1);
		return;
	}
	if (!s->a.n || gen_rand(s) % (2ULL * live_target) >= s->a.n)
		gen_alloc(s, &s->a, gen_size(s));
	else
		gen_free_random(s, &s->a);
}

static void gen_step_phases(struct gen *s, uint32_t live_target, size_t i)
{
	bool small = i * 100 < s->g->nops * PHASE_SPLIT_PCT;
	struct gen_set *set = small ? &s->a : &s->b;
	uint64_t nbytes = small ? gen_between(s, SMALL_MIN, PHASE_SMALL_MAX) :
				  gen_between(s, s->lo, s->hi);

	if (!set->n || gen_rand(s) % (2ULL * live_target) >= set->n)
		gen_alloc(s, set, nbytes);
	else
		gen_free_random(s, set);
}

static void gen_step_lifetimes(struct gen *s, uint32_t live_target)
{
	uint64_t r = gen_rand(s) % 100;

	if (gen_live(s) >= live_target && s->a.n > s->a.head)
		gen_free_oldest(s, &s->a);
	else if (r < SHORT_FREE_PCT && s->a.n > s->a.head)
		gen_free_oldest(s, &s->a);
	else if (r < SHORT_FREE_PCT + LONG_FREE_PCT && s->b.n)
		gen_free_random(s, &s->b);
	else if (gen_rand(s) % 100 < SHORT_PCT)
		gen_alloc(s, &s->a, gen_between(s, SMALL_MIN, SHORT_MAX));
	else
		gen_alloc(s, &s->b, gen_between(s, SHORT_MAX, LONG_MAX));
}

/* The shape's size range, from the defaults and the caller's bounds. */
static int gen_range(struct gen *s)
{
	static const uint64_t lo[ASTUDY_NSHAPES] = { SMALL_MIN, SMALL_MIN,
						     LARGE_MIN_DEFAULT,
						     SMALL_MIN };
	static const uint64_t hi[ASTUDY_NSHAPES] = { 4096, 1ULL << 20,
						     LARGE_MAX_DEFAULT,
						     LONG_MAX };

	s->lo = s->g->min_bytes ? s->g->min_bytes : lo[s->g->shape];
	s->hi = s->g->max_bytes ? s->g->max_bytes : hi[s->g->shape];
	if (s->lo > s->hi || s->hi > ASTUDY_MAX_BYTES ||
	    (s->g->shape == ASTUDY_POWERLAW && !s->lo))
		return -EINVAL;
	return 0;
}

static void gen_drain(struct gen *s)
{
	while (s->a.n > s->a.head)
		gen_free_oldest(s, &s->a);
	while (s->b.n)
		gen_free_at(s, &s->b, s->b.n - 1);
}

/*
 * Resize a random live block (live stays: the budget of operations left
 * shrinks by one, which an allocation, costing two with its free, cannot).
 */
static void gen_realloc_any(struct gen *s)
{
	struct gen_set *set = s->b.n ? &s->b : &s->a;
	size_t i = set->head + (size_t)(gen_rand(s) % (set->n - set->head));

	gen_emit(s, 'r', set->id[i], gen_between(s, s->lo, s->hi) + 1);
}

static void gen_run(struct gen *s)
{
	const struct astudy_gen *g = s->g;
	uint32_t target = g->max_live ? g->max_live : GEN_DEFAULT_LIVE;

	for (size_t i = 0; s->tr->nops + gen_live(s) < g->nops; i++) {
		if (s->tr->nops + gen_live(s) + 1 == g->nops)
			gen_realloc_any(s); /* live > 0 here: see above */
		else if (g->shape == ASTUDY_PHASES)
			gen_step_phases(s, target, i);
		else if (g->shape == ASTUDY_LIFETIMES)
			gen_step_lifetimes(s, target);
		else
			gen_step_steady(s, target);
	}
	gen_drain(s);
}

int astudy_trace_generate(const struct astudy_gen *g, struct astudy_trace *out)
{
	struct gen s = { .g = g, .tr = out, .rs = g->seed ? g->seed : 1 };
	int err;

	memset(out, 0, sizeof(*out));
	if ((unsigned)g->shape >= ASTUDY_NSHAPES || g->nops < 2 ||
	    g->nops > UINT32_MAX || g->realloc_pct > 100)
		return -EINVAL;
	err = gen_range(&s);
	if (err)
		return err;
	out->ops = calloc(g->nops, sizeof(*out->ops));
	s.a.id = calloc(g->nops, sizeof(uint32_t));
	s.b.id = calloc(g->nops, sizeof(uint32_t));
	if (out->ops && s.a.id && s.b.id)
		gen_run(&s);
	else
		err = -ENOMEM;
	free(s.a.id);
	free(s.b.id);
	out->nids = s.next_id;
	out->weight = 1;
	if (err)
		astudy_trace_free(out);
	return err;
}
