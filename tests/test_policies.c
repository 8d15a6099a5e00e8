/*
 * tests/test_policies.c - the replacement policies lfu, lfu-aging, opt,
 * arc, 2q and s3fifo (reclaim/policy_*.c) in exact replacement, against
 * published counts, hand-worked examples and naive reference models; and
 * each (but opt) in native mode under real memory pressure.
 *
 * Published counts: the reference string 7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0
 * 1 7 0 1 with 3 frames: OPT 9 (Silberschatz, Operating System Concepts,
 * ch. 10); Belady's string 1 2 3 4 1 2 5 1 2 3 4 5: OPT 7 with 3 frames,
 * 6 with 4.
 *
 * The models keep the resident set (and ghost lists) in small arrays
 * scanned on every reference, written from the papers' rules as
 * docs/policies.md states them - nothing shared with the code under test.
 * Randomized differential runs print their seed (SEED= to rerun).
 * Every replay also checks that a miss with every frame in use evicted
 * exactly one page, and runs the machine's invariant walkers (the
 * policy's own among them).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/replay.h"
#include "tests/lib/vmtest.h"

#define MAXF 64		/* frames of the models */
#define MAXG (2 * MAXF) /* ghost keys of the models */
#define MAXN 800	/* references of a random trace */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))

static const uint64_t silberschatz[] = { 7, 0, 1, 2, 0, 3, 0, 4, 2, 3,
					 0, 3, 2, 1, 2, 0, 1, 7, 0, 1 };
static const uint64_t belady[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };

static size_t distinct(const uint64_t *p, size_t n)
{
	size_t d = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < i && p[j] != p[i])
			j++;
		d += j == i;
	}
	return d;
}

/* Misses of policy over p[0..n) with frames frames, checked as it goes. */
static uint64_t run(const char *policy, uint64_t frames, const uint64_t *p,
		    size_t n)
{
	struct replay_result r;
	char err[256] = "";
	uint64_t d = distinct(p, n);

	if (replay_exact(policy, frames, p, NULL, n, &r, err, sizeof(err))) {
		print_error("replay %s: %s\n", policy, err);
		fail();
	}
	assert_int_equal(r.ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(r.access_err, 0);
	assert_int_equal(r.check, 0);
	/* Frames fill first; then every miss evicts exactly one page. */
	assert_int_equal(r.evictions, r.misses - MIN(r.misses, frames));
	assert_int_equal(r.resident, MIN(frames, d));
	return r.misses;
}

/* ---- small array helpers for the models ------------------------------ */

/* Index of x in a[0..n), or n. */
static unsigned find(const uint64_t *a, unsigned n, uint64_t x)
{
	unsigned i = 0;

	while (i < n && a[i] != x)
		i++;
	return i;
}

/* Remove a[i] keeping the order; the new length. */
static unsigned take(uint64_t *a, unsigned n, unsigned i)
{
	memmove(&a[i], &a[i + 1], (n - i - 1) * sizeof(a[0]));
	return n - 1;
}

/* ---- LFU ------------------------------------------------------------- */

/*
 * count 1 on the way in, +1 per hit; evict the smallest count, among
 * equals the oldest last access; every period-th access halves every
 * count (period 0: never).
 */
static uint64_t model_lfu(unsigned f, const uint64_t *p, size_t n,
			  uint64_t period)
{
	uint64_t res[MAXF], cnt[MAXF], last[MAXF], misses = 0;
	unsigned used = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned j = find(res, used, p[i]);

		if (j < used) {
			cnt[j]++;
			last[j] = i;
		} else {
			misses++;
			if (used == f) {
				unsigned v = 0;

				for (unsigned k = 1; k < used; k++)
					if (cnt[k] < cnt[v] ||
					    (cnt[k] == cnt[v] &&
					     last[k] < last[v]))
						v = k;
				used--;
				res[v] = res[used];
				cnt[v] = cnt[used];
				last[v] = last[used];
			}
			res[used] = p[i];
			cnt[used] = 1;
			last[used++] = i;
		}
		if (period && (i + 1) % period == 0)
			for (unsigned k = 0; k < used; k++)
				cnt[k] /= 2;
	}
	return misses;
}

/* ---- OPT --------------------------------------------------------------- */

/* Evict the page whose next reference is farthest (never: farthest). */
static uint64_t model_opt(unsigned f, const uint64_t *p, size_t n)
{
	uint64_t res[MAXF], misses = 0;
	unsigned used = 0;

	for (size_t i = 0; i < n; i++) {
		if (find(res, used, p[i]) < used)
			continue;
		misses++;
		if (used == f) {
			unsigned v = 0;
			size_t far = 0;

			for (unsigned k = 0; k < used; k++) {
				size_t nx = i + 1;

				while (nx < n && p[nx] != res[k])
					nx++;
				if (nx > far) {
					far = nx;
					v = k;
				}
			}
			res[v] = res[--used];
		}
		res[used++] = p[i];
	}
	return misses;
}

/* ---- ARC (Megiddo & Modha 2003, Fig. 4) ------------------------------ */

/* Lists in LRU order: [0] is the LRU end. */
struct arc_model {
	uint64_t t1[MAXF], t2[MAXF], b1[MAXG], b2[MAXG];
	unsigned n1, n2, nb1, nb2, c;
	uint64_t p;
};

static void arc_replace(struct arc_model *m, bool x_in_b2)
{
	if (m->n1 >= 1 && (m->n1 > m->p || (x_in_b2 && m->n1 == m->p))) {
		m->b1[m->nb1++] = m->t1[0];
		m->n1 = take(m->t1, m->n1, 0);
	} else {
		m->b2[m->nb2++] = m->t2[0];
		m->n2 = take(m->t2, m->n2, 0);
	}
}

/* Case IV: a miss on a page in no list, before it goes to T1. */
static void arc_miss_new(struct arc_model *m)
{
	unsigned c = m->c, total = m->n1 + m->n2 + m->nb1 + m->nb2;

	if (m->n1 + m->nb1 == c) { /* Case A */
		if (m->n1 < c) {
			m->nb1 = take(m->b1, m->nb1, 0);
			arc_replace(m, false);
		} else {
			m->n1 = take(m->t1, m->n1, 0);
		}
	} else if (total >= c) { /* Case B */
		if (total == 2 * c)
			m->nb2 = take(m->b2, m->nb2, 0);
		arc_replace(m, false);
	}
}

/* One reference; true on a miss. */
static bool arc_ref(struct arc_model *m, uint64_t x)
{
	unsigned j, c = m->c;

	if ((j = find(m->t1, m->n1, x)) < m->n1) { /* Case I */
		m->n1 = take(m->t1, m->n1, j);
		m->t2[m->n2++] = x;
		return false;
	}
	if ((j = find(m->t2, m->n2, x)) < m->n2) {
		m->n2 = take(m->t2, m->n2, j);
		m->t2[m->n2++] = x;
		return false;
	}
	if ((j = find(m->b1, m->nb1, x)) < m->nb1) { /* Case II */
		uint64_t d = m->nb1 >= m->nb2 ? 1 : m->nb2 / m->nb1;

		m->p = m->p + d < c ? m->p + d : c;
		arc_replace(m, false);
		m->nb1 = take(m->b1, m->nb1, find(m->b1, m->nb1, x));
		m->t2[m->n2++] = x;
		return true;
	}
	if ((j = find(m->b2, m->nb2, x)) < m->nb2) { /* Case III */
		uint64_t d = m->nb2 >= m->nb1 ? 1 : m->nb1 / m->nb2;

		m->p = m->p > d ? m->p - d : 0;
		arc_replace(m, true);
		m->nb2 = take(m->b2, m->nb2, find(m->b2, m->nb2, x));
		m->t2[m->n2++] = x;
		return true;
	}
	arc_miss_new(m);
	m->t1[m->n1++] = x;
	return true;
}

static uint64_t model_arc(unsigned f, const uint64_t *p, size_t n)
{
	struct arc_model m = { .c = f };
	uint64_t misses = 0;

	for (size_t i = 0; i < n; i++)
		misses += arc_ref(&m, p[i]);
	return misses;
}

/* ---- 2Q (Johnson & Shasha 1994, full version) ------------------------ */

/*
 * A1in FIFO, Am LRU, A1out FIFO of identifiers ([0]: oldest); Kin = 25 %,
 * Kout = 50 % of the frames.  A hit in A1out takes x out of A1out.
 */
static uint64_t model_2q(unsigned f, const uint64_t *p, size_t n)
{
	uint64_t a1in[MAXF], am[MAXF], a1out[MAXG], misses = 0;
	unsigned nin = 0, nm = 0, nout = 0, kin = f / 4, kout = f / 2, j;

	for (size_t i = 0; i < n; i++) {
		uint64_t x = p[i];
		bool ghost;

		if ((j = find(am, nm, x)) < nm) {
			nm = take(am, nm, j);
			am[nm++] = x;
			continue;
		}
		if (find(a1in, nin, x) < nin)
			continue;
		misses++;
		ghost = (j = find(a1out, nout, x)) < nout;
		if (ghost)
			nout = take(a1out, nout, j);
		if (nin + nm == f) { /* reclaimfor(x) */
			if (nin > kin) {
				uint64_t y = a1in[0];

				nin = take(a1in, nin, 0);
				if (kout && nout == kout)
					nout = take(a1out, nout, 0);
				if (kout)
					a1out[nout++] = y;
			} else {
				nm = take(am, nm, 0);
			}
		}
		if (ghost)
			am[nm++] = x;
		else
			a1in[nin++] = x;
	}
	return misses;
}

/* ---- S3-FIFO (Yang et al. 2023; the authors' simulator's rules) ------- */

struct s3_model {
	uint64_t s[MAXF], m[MAXF], g[MAXG];
	unsigned fs[MAXF], fm[MAXF]; /* freq of s[i], m[i] */
	unsigned ns, nm, ng;
};

static void s3_to_ghost(struct s3_model *q, unsigned gcap, uint64_t x)
{
	if (!gcap)
		return;
	if (q->ng == gcap)
		q->ng = take(q->g, q->ng, 0);
	q->g[q->ng++] = x;
}

/* Evict one page: the main FIFO's clock or the small FIFO's filter. */
static void s3_evict(struct s3_model *q, unsigned mcap, unsigned gcap)
{
	for (;;) {
		if (q->nm > mcap || q->ns == 0) {
			while (q->nm) {
				uint64_t t = q->m[0];
				unsigned fr = q->fm[0];

				memmove(&q->fm[0], &q->fm[1],
					(q->nm - 1) * sizeof(q->fm[0]));
				q->nm = take(q->m, q->nm, 0);
				if (!fr)
					return;
				q->m[q->nm] = t;
				q->fm[q->nm++] = fr - 1;
			}
			return;
		}
		while (q->ns) {
			uint64_t t = q->s[0];
			unsigned fr = q->fs[0];

			memmove(&q->fs[0], &q->fs[1],
				(q->ns - 1) * sizeof(q->fs[0]));
			q->ns = take(q->s, q->ns, 0);
			if (fr < 2) {
				s3_to_ghost(q, gcap, t);
				return;
			}
			q->m[q->nm] = t;
			q->fm[q->nm++] = 0;
		}
	}
}

static uint64_t model_s3fifo(unsigned f, const uint64_t *p, size_t n)
{
	struct s3_model q = { .ns = 0 };
	unsigned scap = f / 10 ? f / 10 : 1, mcap = f - scap;
	unsigned gcap = f * 9 / 10, j;
	uint64_t misses = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t x = p[i];
		bool ghost;

		if ((j = find(q.s, q.ns, x)) < q.ns) {
			q.fs[j] += q.fs[j] < 3;
			continue;
		}
		if ((j = find(q.m, q.nm, x)) < q.nm) {
			q.fm[j] += q.fm[j] < 3;
			continue;
		}
		misses++;
		ghost = (j = find(q.g, q.ng, x)) < q.ng;
		if (ghost)
			q.ng = take(q.g, q.ng, j);
		if (q.ns + q.nm == f)
			s3_evict(&q, mcap, gcap);
		if (ghost) {
			q.m[q.nm] = x;
			q.fm[q.nm++] = 0;
		} else {
			q.s[q.ns] = x;
			q.fs[q.ns++] = 0;
		}
	}
	return misses;
}

/* ---- published counts and worked examples ---------------------------- */

static void test_policies_opt_textbook(void **state)
{
	(void)state;
	assert_int_equal(model_opt(3, silberschatz, 20), 9);
	assert_int_equal(run("opt", 3, silberschatz, 20), 9);
	assert_int_equal(model_opt(3, belady, 12), 7);
	assert_int_equal(run("opt", 3, belady, 12), 7);
	assert_int_equal(run("opt", 4, belady, 12), 6);
	/* Nothing does better than OPT on the classic string. */
	assert_true(run("lfu", 3, silberschatz, 20) >= 9);
	assert_true(run("arc", 3, silberschatz, 20) >= 9);
}

/* OPT needs the future: refused outside exact replacement. */
static void test_policies_opt_needs_exact(void **state)
{
	struct vm_config cfg;
	char err[256];

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.policy = "opt";
	assert_null(vm_create(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "needs the future"));
}

static void test_policies_lfu_worked(void **state)
{
	/* Ties go to the oldest last access: 2, then 3, then 4 leave. */
	static const uint64_t tie[] = { 1, 1, 2, 3, 4, 2, 3 };
	/* 1 is evicted with count 2; it comes back with count 1. */
	static const uint64_t forget[] = { 1, 1, 2, 2, 2, 3, 1, 3, 1 };
	/* Halving after accesses 4 and 8 lets the old favourite 1 go. */
	static const uint64_t aging[] = { 1, 1, 1, 2, 3, 2, 3, 2, 1 };

	(void)state;
	assert_int_equal(run("lfu", 3, tie, 7), 6);
	assert_int_equal(run("lru", 3, tie, 7), 4);
	assert_int_equal(run("lfu", 2, forget, 9), 6);
	assert_int_equal(run("lfu", 2, aging, 9), 6);
	assert_int_equal(run("lfu-aging:4", 2, aging, 9), 5);
	assert_int_equal(model_lfu(3, tie, 7, 0), 6);
	assert_int_equal(model_lfu(2, forget, 9, 0), 6);
	assert_int_equal(model_lfu(2, aging, 9, 4), 5);
}

/* lfu-aging's N: "lfu-aging:N", N > 0; other policies take none. */
static void test_policies_parameters(void **state)
{
	static const char *const bad[] = { "lfu-aging:0", "lfu-aging:x",
					   "lfu-aging:", "lfu-aging:-3",
					   "lfu-aging:5x" };
	struct vm_config cfg;
	char err[256];

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.exact_frames = 4;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cfg.policy = bad[i];
		assert_null(vm_create(&cfg, err, sizeof(err)));
		assert_non_null(strstr(err, "Invalid argument"));
	}
	cfg.policy = "lfu:5";
	assert_null(vm_create(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "unknown policy 'lfu:5'"));
	/* The names are listed. */
	cfg.policy = "nope";
	assert_null(vm_create(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "lfu-aging, opt, arc, 2q, s3fifo"));
}

/* Every distinct page is one miss when everything fits. */
static void test_policies_all_fit(void **state)
{
	static const char *const pol[] = { "lfu", "lfu-aging", "opt",
					   "arc", "2q",	       "s3fifo" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(pol); i++)
		assert_int_equal(run(pol[i], 8, silberschatz, 20), 6);
}

/* ---- randomized differential runs ------------------------------------ */

enum model_kind { M_LFU, M_LFU_AGING, M_OPT, M_ARC, M_2Q, M_S3FIFO };

static uint64_t model(enum model_kind k, unsigned f, const uint64_t *p,
		      size_t n, uint64_t period)
{
	switch (k) {
	case M_LFU:
		return model_lfu(f, p, n, 0);
	case M_LFU_AGING:
		return model_lfu(f, p, n, period);
	case M_OPT:
		return model_opt(f, p, n);
	case M_ARC:
		return model_arc(f, p, n);
	case M_2Q:
		return model_2q(f, p, n);
	case M_S3FIFO:
		return model_s3fifo(f, p, n);
	}
	return 0;
}

/*
 * A random trace of n references over npages pages: a skewed mix, loops
 * a little larger than the frames (ghost hits), scans through a hot set,
 * shifting working sets - chosen per trace.
 */
static void make_trace(uint64_t *s, uint64_t *p, size_t n, unsigned npages,
		       unsigned f)
{
	unsigned shape = (unsigned)(vmtest_rand(s) % 4);
	unsigned loop = f + 1 + (unsigned)(vmtest_rand(s) % (f / 2 + 2));
	unsigned hot = 1 + (unsigned)(vmtest_rand(s) % (npages / 3 + 1));

	for (size_t i = 0; i < n; i++) {
		uint64_t r = vmtest_rand(s);

		switch (shape) {
		case 0: /* skewed */
			p[i] = r % 3 ? (r >> 8) % (npages / 2 + 1) :
				       (r >> 8) % npages;
			break;
		case 1: /* a loop with noise */
			p[i] = r % 5 ? i % loop : (r >> 8) % npages;
			break;
		case 2: /* a hot set, a scan now and then */
			p[i] = (i / 40) % 3 == 2 ? npages + i % 97 :
						   (r >> 8) % hot;
			break;
		default: /* working sets that move */
			p[i] = (i / 64 * 7 + (r >> 8) % (f + 3)) % npages;
			break;
		}
	}
}

static void differential(const char *name, enum model_kind k, int rounds)
{
	uint64_t seed = vmtest_seed(name), s = seed;
	static uint64_t p[MAXN];
	char pol[64];

	for (int round = 0; round < rounds; round++) {
		unsigned npages = 2 + (unsigned)(vmtest_rand(&s) % 120);
		unsigned f = 1 + (unsigned)(vmtest_rand(&s) % MAXF);
		size_t n = 1 + vmtest_rand(&s) % MAXN;
		uint64_t period = f * 10ULL;

		snprintf(pol, sizeof(pol), "%s", name);
		if (k == M_LFU_AGING && round % 2) {
			period = 1 + vmtest_rand(&s) % 60;
			snprintf(pol, sizeof(pol), "%s:%llu", name,
				 (unsigned long long)period);
		}
		make_trace(&s, p, n, npages, f);
		uint64_t got = run(pol, f, p, n);
		uint64_t want = model(k, f, p, n, period);

		if (got != want) {
			print_error("%s: seed %llu round %d: %u frames, %zu "
				    "refs: %llu misses, the model %llu\n",
				    pol, (unsigned long long)seed, round, f, n,
				    (unsigned long long)got,
				    (unsigned long long)want);
			fail();
		}
	}
}

static void test_policies_lfu_model(void **state)
{
	(void)state;
	differential("lfu", M_LFU, 40);
}

static void test_policies_lfu_aging_model(void **state)
{
	(void)state;
	differential("lfu-aging", M_LFU_AGING, 40);
}

static void test_policies_opt_model(void **state)
{
	(void)state;
	differential("opt", M_OPT, 40);
}

static void test_policies_arc_model(void **state)
{
	(void)state;
	differential("arc", M_ARC, 60);
}

static void test_policies_2q_model(void **state)
{
	(void)state;
	differential("2q", M_2Q, 40);
}

static void test_policies_s3fifo_model(void **state)
{
	(void)state;
	differential("s3fifo", M_S3FIFO, 60);
}

/* OPT is optimal: no policy does better on any trace. */
static void test_policies_opt_is_optimal(void **state)
{
	static const char *const pol[] = { "lfu", "arc", "2q", "s3fifo" };
	uint64_t seed = vmtest_seed("opt_is_optimal"), s = seed;
	static uint64_t p[MAXN];

	(void)state;
	for (int round = 0; round < 5; round++) {
		unsigned f = 2 + (unsigned)(vmtest_rand(&s) % 30);

		make_trace(&s, p, MAXN, 80, f);
		uint64_t opt = run("opt", f, p, MAXN);

		assert_int_equal(model_opt(f, p, MAXN), opt);
		for (size_t i = 0; i < ARRAY_SIZE(pol); i++)
			assert_true(run(pol[i], f, p, MAXN) >= opt);
	}
}

/* ---- native mode: real loads and stores, swap, data verified ---------- */

#define PAGE  4096ULL
#define MiB   (1ULL << 20)
#define RW    (VM_PROT_READ | VM_PROT_WRITE)
#define ANON  (VM_MAP_PRIVATE | VM_MAP_ANON)
#define WORDS 4 /* words per page written and verified */

struct smoke {
	uint64_t npages;
	uint64_t seed;
	atomic_uint_fast64_t bad;
};

static uint64_t word_of(uint64_t page, unsigned gen, unsigned w)
{
	return ((page << 8) ^ gen ^ ((uint64_t)w << 56)) *
		       0x9E3779B97F4A7C15ULL +
	       1;
}

/* Check page i holds generation gen (0: nothing yet), write gen + 1. */
static uint64_t touch(uint64_t *base, uint64_t i, unsigned gen)
{
	uint64_t *pg = base + i * (PAGE / sizeof(*base)), bad = 0;

	for (unsigned w = 0; w < WORDS; w++) {
		uint64_t *x = pg + w * (PAGE / WORDS / sizeof(*pg));

		bad += gen && *x != word_of(i, gen, w);
		*x = word_of(i, gen + 1, w);
	}
	return bad;
}

/*
 * Pass 0 writes every page; passes 1-3 check and rewrite them, in a
 * seeded random order with a hot tenth touched twice as often; a
 * MADV_PAGEOUT in the middle takes pages behind the policy's back.
 */
static int smoke_fn(struct vm_task *t, void *arg)
{
	struct smoke *sm = arg;
	uint64_t va = vm_mmap(t, 0, sm->npages * PAGE, RW, ANON), s = sm->seed;
	unsigned *gen = calloc(sm->npages, sizeof(*gen));
	uint64_t *base, bad = 0, hot = sm->npages / 10;

	if (vm_mmap_failed(va) || !gen)
		return 1;
	base = vm_ptr(t, va);
	for (unsigned pass = 0; pass < 4; pass++) {
		for (uint64_t k = 0; k < sm->npages; k++) {
			uint64_t r = vmtest_rand(&s);
			uint64_t i = !pass ? k :
				     r % 3 ? (r >> 8) % sm->npages :
					     (r >> 8) % hot;

			bad += touch(base, i, gen[i]);
			gen[i]++;
		}
		if (pass == 1 &&
		    vm_madvise(t, va + hot * PAGE, 64 * PAGE, VM_MADV_PAGEOUT))
			return 3;
	}
	for (uint64_t i = 0; i < sm->npages; i++)
		bad += touch(base, i, gen[i]);
	free(gen);
	atomic_fetch_add(&sm->bad, bad);
	return bad ? 2 : 0;
}

static void native_smoke(const char *policy)
{
	struct smoke sm = { 3 * 1024, vmtest_seed(policy), 0 };
	struct vm_config cfg;
	struct vm_stat st;
	struct vm_exit ex;
	struct vm *vm;
	int pid;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_NATIVE;
	cfg.policy = policy;
	cfg.mem_bytes = 8 * MiB; /* 12 MiB of data over 8 MiB of RAM */
	cfg.swap_bytes = 32 * MiB;
	vm = vmtest_create_cfg(&cfg);
	pid = vm_spawn(vm, policy, 0, smoke_fn, &sm);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	if (ex.reason != VM_EXIT_NORMAL || ex.code)
		fail_msg("%s: reason %d code %d, %llu bad words", policy,
			 ex.reason, ex.code,
			 (unsigned long long)atomic_load(&sm.bad));
	vm_stat(vm, &st);
	print_message(
		"%-10s pswpout %6llu pswpin %6llu pgscan %7llu\n", policy,
		(unsigned long long)st.pswpout, (unsigned long long)st.pswpin,
		(unsigned long long)(st.pgscan_kswapd + st.pgscan_direct));
	assert_true(st.pswpout > 0 && st.pswpin > 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

static void test_policies_native_lfu(void **state)
{
	(void)state;
	native_smoke("lfu");
}

static void test_policies_native_lfu_aging(void **state)
{
	(void)state;
	native_smoke("lfu-aging:5000");
}

static void test_policies_native_arc(void **state)
{
	(void)state;
	native_smoke("arc");
}

static void test_policies_native_2q(void **state)
{
	(void)state;
	native_smoke("2q");
}

static void test_policies_native_s3fifo(void **state)
{
	(void)state;
	native_smoke("s3fifo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_policies_opt_textbook),
		VMTEST(test_policies_opt_needs_exact),
		VMTEST(test_policies_lfu_worked),
		VMTEST(test_policies_parameters),
		VMTEST(test_policies_all_fit),
		VMTEST(test_policies_lfu_model),
		VMTEST(test_policies_lfu_aging_model),
		VMTEST(test_policies_opt_model),
		VMTEST(test_policies_arc_model),
		VMTEST(test_policies_2q_model),
		VMTEST(test_policies_s3fifo_model),
		VMTEST(test_policies_opt_is_optimal),
		VMTEST(test_policies_native_lfu),
		VMTEST(test_policies_native_lfu_aging),
		VMTEST(test_policies_native_arc),
		VMTEST(test_policies_native_2q),
		VMTEST(test_policies_native_s3fifo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
