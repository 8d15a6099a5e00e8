/*
 * tests/test_pagetable.c - 4-level page tables against an independent model.
 *
 * The model is a sorted array of (va, pte).  From it alone the tests derive
 * which tables must exist: a PUD table per distinct va >> PT_SHIFT(3), a PMD
 * table per distinct va >> PT_SHIFT(2), a PTE table per distinct
 * va >> PT_SHIFT(1), plus the PGD.  Every check compares pt_walk,
 * pt_for_each, nr_tables, the tables found by a raw walk of the frames, and
 * the frames the test allocator has out, against that.
 *
 * Tables come from tests/lib/frame_stack (a pfn stack with failure
 * injection, poisoning every frame it hands out), not from the buddy.
 * Leaves hold made-up pfns, swap entries and file markers: pt never looks
 * at what a leaf references.  Randomized tests print seed=; SEED= replays.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mmu/pagetable.h"
#include "tests/lib/frame_stack.h"

#define POOL_PAGES 4096
#define MODEL_MAX  2048
#define NO_TABLE   ((pfn_t)-1)
#define GiB	   (1ULL << 30)
#define TiB	   (1ULL << 40)

static uint64_t seed;

/* ---- helpers: rng, fixture, model ------------------------------------ */

static uint64_t rng_next(uint64_t *x) /* splitmix64 */
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct fixture {
	struct frame_stack fs;
	struct pt_space s;
	bool live; /* s initialised and not destroyed */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fstack_init(&f->fs, POOL_PAGES, true) != 0)
		return -1;
	struct pt_mem m = fstack_pt_mem(&f->fs);
	if (pt_init(&f->s, &m) != 0)
		return -1;
	f->live = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->live)
		pt_destroy(&f->s);
	assert_int_equal(fstack_in_use(&f->fs), 0);
	assert_int_equal(f->fs.bad_frees, 0);
	fstack_fini(&f->fs);
	free(f);
	return 0;
}

struct ment {
	vaddr_t va;
	pte_t pte;
};

struct model {
	struct ment e[MODEL_MAX];
	size_t n;
};

/* Index of the first entry with va >= key. */
static size_t model_lower(const struct model *m, vaddr_t key)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->e[mid].va < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct ment *model_find(const struct model *m, vaddr_t va)
{
	size_t i = model_lower(m, va);

	return i < m->n && m->e[i].va == va ? &m->e[i] : NULL;
}

static void model_add(struct model *m, vaddr_t va, pte_t pte)
{
	size_t i = model_lower(m, va);

	assert_true(m->n < MODEL_MAX);
	memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(m->e[0]));
	m->e[i] = (struct ment){ va, pte };
	m->n++;
}

static void model_del(struct model *m, vaddr_t va)
{
	size_t i = model_lower(m, va);

	assert_true(i < m->n && m->e[i].va == va);
	memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(m->e[0]));
	m->n--;
}

/* Does some mapped va share the table of `level` that would map va? */
static bool model_has_table(const struct model *m, vaddr_t va, int level)
{
	int shift = PT_SHIFT(level + 1);
	size_t i;

	if (level == PT_LEVELS - 1)
		return true; /* the PGD */
	i = model_lower(m, (va >> shift) << shift);
	return i < m->n && (m->e[i].va >> shift) == (va >> shift);
}

/* Tables the model needs: distinct prefixes per level, plus the PGD. */
static uint64_t model_tables(const struct model *m)
{
	uint64_t nr = 1;

	for (int level = 0; level < PT_LEVELS - 1; level++) {
		int shift = PT_SHIFT(level + 1);

		for (size_t i = 0; i < m->n; i++)
			if (i == 0 ||
			    (m->e[i].va >> shift) != (m->e[i - 1].va >> shift))
				nr++;
	}
	return nr;
}

/* Raw walk of the frames: the pfn of va's table at level, or NO_TABLE. */
static pfn_t raw_table(const struct pt_space *s, vaddr_t va, int level)
{
	pfn_t pfn = s->pgd_pfn;

	for (int l = PT_LEVELS - 1; l > level; l--) {
		const pte_t *t =
			(const pte_t *)(s->mem.frames + (pfn << PAGE_SHIFT));
		pte_t e = t[PT_INDEX(l, va)];

		if (pte_none(e))
			return NO_TABLE;
		pfn = pte_pfn(e);
	}
	return pfn;
}

static pfn_t ptep_pfn(const struct pt_space *s, const pte_t *ptep)
{
	return ((uintptr_t)ptep - (uintptr_t)s->mem.frames) >> PAGE_SHIFT;
}

/* ---- checks against the model --------------------------------------- */

/* Exactly the model's tables exist on va's path; pt_walk agrees. */
static void check_probe(const struct fixture *f, const struct model *m,
			vaddr_t va)
{
	const struct ment *me;
	pte_t *p;

	va &= PT_VA_LIMIT - 1;
	for (int level = 0; level < PT_LEVELS; level++)
		assert_int_equal(raw_table(&f->s, va, level) != NO_TABLE,
				 model_has_table(m, va, level));
	p = pt_walk(&f->s, va);
	assert_int_equal(p != NULL, model_has_table(m, va, 0));
	me = model_find(m, PAGE_ROUND_DOWN(va));
	if (p)
		assert_int_equal(*p, me ? me->pte : 0);
	else
		assert_null(me);
}

struct collect {
	struct ment e[MODEL_MAX];
	size_t n;
	bool overflow;
};

static void collect_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct collect *c = arg;

	if (c->n == MODEL_MAX) {
		c->overflow = true;
		return;
	}
	c->e[c->n++] = (struct ment){ va, *ptep };
}

static void collect_release(void *arg, vaddr_t va, pte_t old)
{
	collect_visit(arg, va, &old);
}

/* c holds exactly the model's entries overlapping [start, end), in order. */
static void check_collected(const struct collect *c, const struct model *m,
			    vaddr_t start, vaddr_t end)
{
	size_t j = 0;

	assert_false(c->overflow);
	for (size_t i = 0; i < m->n; i++) {
		const struct ment *e = &m->e[i];

		if (e->va + PAGE_SIZE <= start || e->va >= end)
			continue;
		assert_true(j < c->n);
		assert_int_equal(c->e[j].va, e->va);
		assert_int_equal(c->e[j].pte, e->pte);
		j++;
	}
	assert_int_equal(j, c->n);
}

static void check_for_each(struct fixture *f, const struct model *m,
			   vaddr_t start, vaddr_t end)
{
	static struct collect c;

	c.n = 0;
	c.overflow = false;
	pt_for_each(&f->s, start, end, collect_visit, &c);
	check_collected(&c, m, start, end);
}

/* Everything observable agrees with the model. */
static void check_model(struct fixture *f, const struct model *m)
{
	assert_int_equal(pt_check(&f->s), 0);
	assert_int_equal(f->s.nr_tables, model_tables(m));
	assert_int_equal(fstack_in_use(&f->fs), f->s.nr_tables);
	assert_int_equal(f->fs.bad_frees, 0);
	for (size_t i = 0; i < m->n; i++) {
		vaddr_t va = m->e[i].va;

		check_probe(f, m, va);
		check_probe(f, m, va + PAGE_SIZE - 1);
		for (int level = 0; level < PT_LEVELS; level++) {
			check_probe(f, m, va + (1ULL << PT_SHIFT(level)));
			check_probe(f, m, va - (1ULL << PT_SHIFT(level)));
		}
	}
	check_for_each(f, m, 0, PT_VA_LIMIT);
}

/* A random non-none leaf: present pfn, swap entry or file marker. */
static pte_t random_pte(uint64_t *x)
{
	static const pte_t flags[] = { PTE_WRITE,  PTE_USER, PTE_ACCESSED,
				       PTE_DIRTY,  PTE_COW,  PTE_SOFTDIRTY,
				       PTE_SPECIAL };
	uint64_t r = rng_next(x);
	pte_t fl = PTE_PRESENT;

	switch (r % 4) {
	case 0:
		return swp_entry_to_pte(
			swp_entry((unsigned)(r >> 8) & SWP_MAX_TYPE,
				  rng_next(x) & SWP_MAX_OFFSET));
	case 1:
		return pgoff_to_pte(rng_next(x) & SWP_MAX_OFFSET);
	default:
		for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
			if (rng_next(x) & 1)
				fl |= flags[i];
		return pfn_pte(rng_next(x) >> 24, fl);
	}
}

/* ---- level boundaries ------------------------------------------------ */

static const struct {
	vaddr_t va;
	uint64_t tables_after_map;   /* mapping in this order */
	uint64_t tables_after_unmap; /* unmapping in the same order */
} boundary_steps[] = {
	{ (1ULL << 21) - PAGE_SIZE, 4, 18 },
	{ 1ULL << 21, 5, 17 },
	{ (1ULL << 30) - PAGE_SIZE, 6, 15 },
	{ 1ULL << 30, 8, 13 },
	{ (1ULL << 39) - PAGE_SIZE, 10, 10 },
	{ 1ULL << 39, 13, 7 },
	{ (1ULL << 47) - PAGE_SIZE, 16, 4 },
	{ PT_VA_LIMIT - PAGE_SIZE, 19, 1 },
};

/* Probe around every boundary va: exactly the model's tables exist. */
static void check_boundaries(struct fixture *f, const struct model *m)
{
	check_model(f, m);
	for (size_t i = 0; i < ARRAY_SIZE(boundary_steps); i++) {
		vaddr_t va = boundary_steps[i].va;

		check_probe(f, m, 0);
		for (int level = 0; level < PT_LEVELS; level++) {
			check_probe(f, m, va + (1ULL << PT_SHIFT(level)) - 1);
			check_probe(f, m, va - (1ULL << PT_SHIFT(level)));
		}
	}
}

static void test_pagetable_level_boundaries(void **state)
{
	struct fixture *f = *state;
	static struct model m;

	m.n = 0;
	assert_int_equal(f->s.nr_tables, 1);
	check_boundaries(f, &m);
	for (size_t i = 0; i < ARRAY_SIZE(boundary_steps); i++) {
		vaddr_t va = boundary_steps[i].va;
		pte_t pte = pfn_pte(i + 100, PTE_PRESENT | PTE_WRITE);

		assert_int_equal(pt_map(&f->s, va, pte), 0);
		model_add(&m, va, pte);
		assert_int_equal(f->s.nr_tables,
				 boundary_steps[i].tables_after_map);
		check_boundaries(f, &m);
	}
	for (size_t i = 0; i < ARRAY_SIZE(boundary_steps); i++) {
		vaddr_t va = boundary_steps[i].va;

		assert_int_equal(pt_clear(&f->s, va), model_find(&m, va)->pte);
		model_del(&m, va);
		assert_int_equal(f->s.nr_tables,
				 boundary_steps[i].tables_after_unmap);
		check_boundaries(f, &m);
	}
	assert_int_equal(fstack_in_use(&f->fs), 1);
}

/* ---- single-slot operations ------------------------------------------ */

static void assert_table_zero(const struct pt_space *s, pfn_t pfn)
{
	const pte_t *t = (const pte_t *)(s->mem.frames + (pfn << PAGE_SHIFT));

	for (unsigned i = 0; i < PT_ENTRIES; i++)
		assert_int_equal(t[i], 0);
}

/* New tables are zeroed and tagged; pt_clear undoes an unused walk. */
static void test_pagetable_walk_alloc_and_undo(void **state)
{
	struct fixture *f = *state;
	vaddr_t va = 0x7f1234567000ULL;
	pte_t *p, *q;

	assert_null(pt_walk(&f->s, va));
	assert_int_equal(pt_walk_alloc(&f->s, va, &p), 0);
	assert_int_equal(f->s.nr_tables, 4);
	assert_int_equal(*p, 0);
	assert_ptr_equal(pt_walk(&f->s, va + 123), p);
	assert_table_zero(&f->s, ptep_pfn(&f->s, p));
	for (int level = 0; level < PT_LEVELS - 1; level++) {
		pfn_t pfn = raw_table(&f->s, va, level);
		const struct pt_meta *pg = &phys_page(&f->fs.ph, pfn)->pt;

		assert_int_equal(pg->magic, PT_META_MAGIC);
		assert_int_equal(pg->nr_used, level == 0 ? 0 : 1);
	}
	/* Walking again allocates nothing. */
	assert_int_equal(pt_walk_alloc(&f->s, va, &q), 0);
	assert_ptr_equal(p, q);
	assert_int_equal(fstack_in_use(&f->fs), 4);
	/* The slot was never set: pt_clear frees the empty path. */
	assert_int_equal(pt_clear(&f->s, va), 0);
	assert_int_equal(f->s.nr_tables, 1);
	assert_int_equal(fstack_in_use(&f->fs), 1);
	assert_int_equal(pt_check(&f->s), 0);
}

/* pt_set keeps the table's count over every none/non-none transition. */
static void test_pagetable_set_counts(void **state)
{
	struct fixture *f = *state;
	vaddr_t va = 5 * GiB + 7 * PAGE_SIZE;
	const struct pt_meta *pg;
	pte_t *p;

	assert_int_equal(pt_walk_alloc(&f->s, va, &p), 0);
	pg = &phys_page(&f->fs.ph, ptep_pfn(&f->s, p))->pt;
	pt_set(&f->s, p, pfn_pte(42, PTE_PRESENT));
	assert_int_equal(pg->nr_used, 1);
	pt_set(&f->s, p, pfn_pte(43, PTE_PRESENT | PTE_DIRTY));
	assert_int_equal(pg->nr_used, 1);
	pt_set(&f->s, p, swp_entry_to_pte(swp_entry(0, 0)));
	assert_int_equal(pg->nr_used, 1);
	assert_int_equal(pt_check(&f->s), 0);
	assert_int_equal(pt_map(&f->s, va + PAGE_SIZE, pgoff_to_pte(0)), 0);
	assert_int_equal(pg->nr_used, 2);
	pt_set(&f->s, p, 0);
	assert_int_equal(pg->nr_used, 1);
	assert_int_equal(pt_check(&f->s), 0);
	assert_int_equal(pt_clear(&f->s, va + PAGE_SIZE), pgoff_to_pte(0));
	assert_int_equal(f->s.nr_tables, 1);
	assert_int_equal(pt_check(&f->s), 0);
}

static void test_pagetable_map_eexist(void **state)
{
	struct fixture *f = *state;
	vaddr_t va = 3 * TiB;
	pte_t a = pfn_pte(7, PTE_PRESENT), b = pfn_pte(8, PTE_PRESENT);
	pte_t swp = swp_entry_to_pte(swp_entry(3, 99));

	assert_int_equal(pt_map(&f->s, va, a), 0);
	assert_int_equal(pt_map(&f->s, va, b), -EEXIST);
	assert_int_equal(pt_map(&f->s, va + 5, b), -EEXIST);
	assert_int_equal(*pt_walk(&f->s, va), a);
	assert_int_equal(pt_map(&f->s, va + PAGE_SIZE, swp), 0);
	assert_int_equal(pt_map(&f->s, va + PAGE_SIZE, b), -EEXIST);
	assert_int_equal(f->s.nr_tables, 4);
	assert_int_equal(fstack_in_use(&f->fs), 4);
	assert_int_equal(pt_clear(&f->s, va + PAGE_SIZE), swp);
	assert_int_equal(pt_clear(&f->s, va + PAGE_SIZE), 0);
	assert_int_equal(pt_clear(&f->s, va), a);
	assert_int_equal(pt_clear(&f->s, va), 0);
	assert_int_equal(f->s.nr_tables, 1);
}

/* va >= PT_VA_LIMIT holds nothing; ranges are clamped and rounded. */
static void test_pagetable_va_limit_and_ranges(void **state)
{
	struct fixture *f = *state;
	static struct model m;
	vaddr_t last = PT_VA_LIMIT - PAGE_SIZE;
	pte_t pte = pfn_pte(1, PTE_PRESENT);

	m.n = 0;
	assert_null(pt_walk(&f->s, PT_VA_LIMIT));
	assert_null(pt_walk(&f->s, UINT64_MAX));
	assert_int_equal(pt_clear(&f->s, PT_VA_LIMIT), 0);
	assert_int_equal(pt_map(&f->s, last, pte), 0);
	assert_int_equal(pt_map(&f->s, 0, pte), 0);
	model_add(&m, 0, pte);
	model_add(&m, last, pte);
	/* An alias of `last` above the limit must not find it. */
	assert_null(pt_walk(&f->s, last + PT_VA_LIMIT));
	assert_int_equal(pt_clear(&f->s, last + PT_VA_LIMIT), 0);
	check_model(f, &m);
	check_for_each(f, &m, 0, UINT64_MAX);
	check_for_each(f, &m, last + 1, last + 2); /* unaligned */
	check_for_each(f, &m, 1, PAGE_SIZE - 1);
	check_for_each(f, &m, PAGE_SIZE, last);		/* nothing */
	check_for_each(f, &m, PT_VA_LIMIT, UINT64_MAX); /* nothing */
	check_for_each(f, &m, last, last);		/* empty */
	check_for_each(f, &m, last, 0);			/* reversed */
	pt_unmap_range(&f->s, PT_VA_LIMIT, UINT64_MAX, NULL, NULL);
	pt_unmap_range(&f->s, PAGE_SIZE, last, NULL, NULL);
	check_model(f, &m);
	pt_unmap_range(&f->s, 0, UINT64_MAX, NULL, NULL);
	m.n = 0;
	check_model(f, &m);
	assert_int_equal(f->s.nr_tables, 1);
}

/* ---- sparse spaces against the model --------------------------------- */

/* A random page: anywhere, or sharing a table with a mapped page. */
static vaddr_t random_va(uint64_t *x, const struct model *m)
{
	uint64_t r = rng_next(x);
	vaddr_t near, span;
	int level = (int)(r % 4); /* 3: anywhere, else share level's table */

	if (m->n == 0 || level == PT_LEVELS - 1)
		return rng_next(x) & (PT_VA_LIMIT - 1) & PAGE_MASK;
	near = m->e[(r >> 8) % m->n].va;
	span = 1ULL << PT_SHIFT(level + 1);
	return (near & ~(span - 1)) | (rng_next(x) & (span - 1) & PAGE_MASK);
}

static void sparse_fill(struct fixture *f, struct model *m, uint64_t *x,
			size_t npages)
{
	while (m->n < npages) {
		vaddr_t va = random_va(x, m);
		pte_t pte = random_pte(x);
		int want = model_find(m, va) ? -EEXIST : 0;

		assert_int_equal(pt_map(&f->s, va, pte), want);
		if (want == 0)
			model_add(m, va, pte);
	}
}

/* pt_clear a random third of the pages, checking each old value. */
static void sparse_clear_some(struct fixture *f, struct model *m, uint64_t *x)
{
	for (size_t k = m->n / 3; k > 0 && m->n > 0; k--) {
		const struct ment *e = &m->e[rng_next(x) % m->n];
		vaddr_t va = e->va;

		assert_int_equal(pt_clear(&f->s,
					  va + (rng_next(x) % PAGE_SIZE)),
				 e->pte);
		model_del(m, va);
	}
}

/* pt_unmap_range random ranges; each release exactly once, in order. */
static void sparse_unmap_ranges(struct fixture *f, struct model *m, uint64_t *x)
{
	static struct collect c;

	for (int k = 0; k < 8 && m->n > 0; k++) {
		vaddr_t a =
			m->e[rng_next(x) % m->n].va + rng_next(x) % PAGE_SIZE;
		vaddr_t len = rng_next(x) & ((1ULL << (rng_next(x) % 44)) - 1);
		vaddr_t b = a + len + 1;
		size_t i;

		c.n = 0;
		c.overflow = false;
		pt_unmap_range(&f->s, a, b, collect_release, &c);
		check_collected(&c, m, a, b);
		for (i = 0; i < c.n; i++)
			model_del(m, c.e[i].va);
		check_model(f, m);
	}
}

static void test_pagetable_sparse_model(void **state)
{
	struct fixture *f = *state;
	static struct model m;
	uint64_t x = seed ^ 0x5a5a;

	m.n = 0;
	for (int round = 0; round < 3; round++) {
		sparse_fill(f, &m, &x, 300);
		check_model(f, &m);
		for (int k = 0; k < 64; k++) {
			check_probe(f, &m, rng_next(&x));
			vaddr_t a = random_va(&x, &m), b = random_va(&x, &m);
			check_for_each(f, &m, MIN(a, b), MAX(a, b) + 1);
		}
		sparse_clear_some(f, &m, &x);
		check_model(f, &m);
		sparse_unmap_ranges(f, &m, &x);
	}
	pt_unmap_range(&f->s, 0, PT_VA_LIMIT, NULL, NULL);
	m.n = 0;
	check_model(f, &m);
	assert_int_equal(f->s.nr_tables, 1);
	assert_int_equal(fstack_in_use(&f->fs), 1);
}

/* A dense run across a PUD boundary: release sees each leaf once. */
static void test_pagetable_unmap_range_dense(void **state)
{
	struct fixture *f = *state;
	static struct model m;
	static struct collect c;
	vaddr_t base = GiB - 700 * PAGE_SIZE, a, b;
	uint64_t x = seed ^ 0xd15e;

	m.n = 0;
	for (size_t i = 0; i < 1500; i++) {
		vaddr_t va = base + i * PAGE_SIZE;
		pte_t pte = random_pte(&x);

		if (i % 7 == 3)
			continue; /* a few holes */
		assert_int_equal(pt_map(&f->s, va, pte), 0);
		model_add(&m, va, pte);
	}
	check_model(f, &m);
	a = base + 100 * PAGE_SIZE;
	b = base + 1300 * PAGE_SIZE;
	c.n = 0;
	pt_unmap_range(&f->s, a, b, collect_release, &c);
	check_collected(&c, &m, a, b);
	for (size_t i = 0; i < c.n; i++)
		model_del(&m, c.e[i].va);
	check_model(f, &m);
	c.n = 0;
	pt_unmap_range(&f->s, 0, PT_VA_LIMIT, collect_release, &c);
	check_collected(&c, &m, 0, PT_VA_LIMIT);
	m.n = 0;
	check_model(f, &m);
}

/* A visitor that rewrites leaves and clears every third one. */
struct rewrite {
	struct pt_space *s;
	unsigned seen;
};

static void rewrite_leaf(void *arg, vaddr_t va, pte_t *ptep)
{
	struct rewrite *rw = arg;
	pte_t val = 0;

	if (rw->seen++ % 3 != 0)
		val = pte_present(*ptep) ? *ptep & ~PTE_ACCESSED :
					   pgoff_to_pte(va >> PAGE_SHIFT);
	pt_set(rw->s, ptep, val);
}

/* Apply rewrite_leaf's rule to the model, in address order. */
static void rewrite_model(struct model *m)
{
	unsigned seen = 0;

	for (size_t i = 0; i < m->n;) {
		struct ment *e = &m->e[i];

		if (seen++ % 3 == 0) {
			model_del(m, e->va);
			continue;
		}
		e->pte = pte_present(e->pte) ?
				 e->pte & ~PTE_ACCESSED :
				 pgoff_to_pte(e->va >> PAGE_SHIFT);
		i++;
	}
}

static void test_pagetable_for_each_rewrites(void **state)
{
	struct fixture *f = *state;
	static struct model m;
	struct rewrite rw = { &f->s, 0 };
	uint64_t x = seed ^ 0xf0e4;

	m.n = 0;
	sparse_fill(f, &m, &x, 400);
	check_model(f, &m);
	pt_for_each(&f->s, 0, PT_VA_LIMIT, rewrite_leaf, &rw);
	assert_int_equal(rw.seen, 400);
	rewrite_model(&m);
	check_model(f, &m);
	/* Again: emptied tables are freed by pt_for_each itself. */
	rw.seen = 0;
	pt_for_each(&f->s, 0, PT_VA_LIMIT, rewrite_leaf, &rw);
	rewrite_model(&m);
	check_model(f, &m);
}

static void test_pagetable_destroy_returns_frames(void **state)
{
	struct fixture *f = *state;
	static struct model m;
	uint64_t x = seed ^ 0xde57;

	m.n = 0;
	sparse_fill(f, &m, &x, 500);
	check_model(f, &m);
	assert_true(fstack_in_use(&f->fs) > 100);
	pt_destroy(&f->s);
	f->live = false;
	assert_int_equal(f->s.nr_tables, 0);
	assert_int_equal(fstack_in_use(&f->fs), 0);
	assert_int_equal(f->fs.bad_frees, 0);
}

/* ---- allocation failure --------------------------------------------- */

static void test_pagetable_init_enomem(void **state)
{
	struct fixture *f = *state;
	struct pt_mem m = fstack_pt_mem(&f->fs);
	struct pt_space s2;

	fstack_fail_nth(&f->fs, 1);
	assert_int_equal(pt_init(&s2, &m), -ENOMEM);
	assert_int_equal(fstack_in_use(&f->fs), 1); /* the fixture's PGD */
	assert_int_equal(pt_init(&s2, &m), 0);
	assert_int_equal(s2.nr_tables, 1);
	assert_int_equal(pt_check(&s2), 0);
	pt_destroy(&s2);
	assert_int_equal(fstack_in_use(&f->fs), 1);
}

/*
 * A neighbour of FAULT_VA sharing `shared` levels of tables below the PGD
 * with it: 0 other PGD slot, 1 same PUD table, 2 same PMD, 3 same PTE table.
 */
#define FAULT_VA 0x123456789000ULL

static vaddr_t fault_neighbour(int shared)
{
	return FAULT_VA ^ (1ULL << PT_SHIFT(PT_LEVELS - 1 - shared));
}

/*
 * Make the n-th table allocation fail for n = 1, 2, ... until the call
 * succeeds; after each failure nothing changed.  Returns the allocations
 * the successful call needed.
 */
static uint64_t fault_loop(struct fixture *f, struct model *m, bool walk)
{
	uint64_t n;

	for (n = 1;; n++) {
		uint64_t before = f->s.nr_tables;
		pte_t *p = NULL;
		int err;

		fstack_fail_nth(&f->fs, n);
		if (walk)
			err = pt_walk_alloc(&f->s, FAULT_VA, &p);
		else
			err = pt_map(&f->s, FAULT_VA, pfn_pte(9, PTE_PRESENT));
		if (err == 0)
			break;
		assert_int_equal(err, -ENOMEM);
		assert_int_equal(f->fs.nr_failed, n);
		assert_int_equal(f->s.nr_tables, before);
		check_model(f, m);
	}
	fstack_fail_nth(&f->fs, 0);
	f->fs.nr_failed = 0;
	if (walk)
		assert_int_equal(pt_clear(&f->s, FAULT_VA), 0);
	else
		assert_int_equal(pt_clear(&f->s, FAULT_VA),
				 pfn_pte(9, PTE_PRESENT));
	check_model(f, m);
	return n - 1;
}

static void test_pagetable_alloc_failure(void **state)
{
	struct fixture *f = *state;
	static struct model m;
	pte_t pte = pfn_pte(5, PTE_PRESENT);

	m.n = 0;
	assert_int_equal(fault_loop(f, &m, false), 3);
	assert_int_equal(fault_loop(f, &m, true), 3);
	for (int shared = 0; shared < PT_LEVELS; shared++) {
		vaddr_t nb = fault_neighbour(shared);

		assert_int_equal(pt_map(&f->s, nb, pte), 0);
		model_add(&m, nb, pte);
		/* Tables still missing for FAULT_VA: 3 - levels shared. */
		assert_int_equal(fault_loop(f, &m, false),
				 (uint64_t)(PT_LEVELS - 1 - shared));
		assert_int_equal(fault_loop(f, &m, true),
				 (uint64_t)(PT_LEVELS - 1 - shared));
	}
	pt_unmap_range(&f->s, 0, PT_VA_LIMIT, NULL, NULL);
	m.n = 0;
	check_model(f, &m);
}

/* ---- encodings ------------------------------------------------------- */

static void check_swap(unsigned type, uint64_t offset)
{
	swp_entry_t e = swp_entry(type, offset);
	pte_t p = swp_entry_to_pte(e);

	assert_int_equal(swp_type(e), type);
	assert_int_equal(swp_offset(e), offset);
	assert_false(pte_none(p));
	assert_false(pte_present(p));
	assert_true(pte_is_swap(p));
	assert_false(pte_is_file(p));
	assert_int_equal(pte_to_swp_entry(p), e);
}

static void test_pagetable_swap_entries(void **state)
{
	uint64_t x = seed ^ 0x5ab;

	(void)state;
	for (unsigned type = 0; type <= SWP_MAX_TYPE; type++) {
		check_swap(type, 0);
		check_swap(type, 1);
		check_swap(type, SWP_MAX_OFFSET);
		for (int k = 0; k < 16; k++)
			check_swap(type, rng_next(&x) & SWP_MAX_OFFSET);
	}
}

static void check_file(uint64_t pgoff)
{
	pte_t p = pgoff_to_pte(pgoff);

	assert_false(pte_none(p));
	assert_false(pte_present(p));
	assert_true(pte_is_file(p));
	assert_false(pte_is_swap(p));
	assert_int_equal(pte_to_pgoff(p), pgoff);
}

static void test_pagetable_file_markers(void **state)
{
	uint64_t x = seed ^ 0xf11e;

	(void)state;
	check_file(0);
	check_file(1);
	check_file(SWP_MAX_OFFSET);
	for (int k = 0; k < 64; k++)
		check_file(rng_next(&x) & SWP_MAX_OFFSET);
	assert_false(pte_is_swap(0) || pte_is_file(0) || pte_present(0));
}

static void check_pfn(pfn_t pfn, pte_t flags)
{
	pte_t p = pfn_pte(pfn, flags);

	assert_int_equal(pte_pfn(p), pfn);
	assert_int_equal(p & ~PTE_PFN_MASK, flags);
	assert_true(pte_present(p));
	assert_false(pte_is_swap(p) || pte_is_file(p) || pte_none(p));
}

static void test_pagetable_pfn_roundtrip(void **state)
{
	const pfn_t max_pfn = (PTE_PFN_MASK >> PTE_PFN_SHIFT);
	const pte_t all = PTE_PRESENT | PTE_WRITE | PTE_USER | PTE_ACCESSED |
			  PTE_DIRTY | PTE_COW | PTE_SOFTDIRTY | PTE_SPECIAL;
	uint64_t x = seed ^ 0xbf;

	(void)state;
	assert_int_equal(max_pfn, (1ULL << 40) - 1);
	check_pfn(0, PTE_PRESENT);
	check_pfn(1, all);
	check_pfn(PHYS_MAX_PAGES - 1, PTE_PRESENT | PTE_WRITE);
	check_pfn(max_pfn, all);
	check_pfn(max_pfn, PTE_PRESENT);
	for (int k = 0; k < 64; k++)
		check_pfn(rng_next(&x) & max_pfn,
			  PTE_PRESENT | (rng_next(&x) & all));
}

/* ---- pt_check -------------------------------------------------------- */

#define CORRUPT_VA (2 * TiB + 3 * GiB) /* PMD index 0 */

static struct pt_meta *table_page(struct fixture *f, vaddr_t va, int level)
{
	return &phys_page(&f->fs.ph, raw_table(&f->s, va, level))->pt;
}

/* Invariants 1-3: counts, the table magic, nr_tables. */
static void corrupt_counts(struct fixture *f)
{
	struct pt_meta *pmd_pg = table_page(f, CORRUPT_VA, 1);
	struct pt_meta *pte_pg = table_page(f, CORRUPT_VA, 0);
	struct pt_meta *pgd_pg = table_page(f, CORRUPT_VA, PT_LEVELS - 1);
	pte_t *slot = pt_walk(&f->s, CORRUPT_VA), saved = *slot;

	pmd_pg->nr_used += 1;
	assert_int_equal(pt_check(&f->s), PT_CHECK_COUNT);
	pmd_pg->nr_used -= 1;
	assert_int_equal(pt_check(&f->s), 0);
	pte_pg->magic = 0;
	assert_int_equal(pt_check(&f->s), PT_CHECK_FLAGS);
	pte_pg->magic = PT_META_MAGIC;
	pgd_pg->magic = 0;
	assert_int_equal(pt_check(&f->s), PT_CHECK_FLAGS);
	pgd_pg->magic = PT_META_MAGIC;
	f->s.nr_tables++;
	assert_int_equal(pt_check(&f->s), PT_CHECK_NR_TABLES);
	f->s.nr_tables--;
	/* An empty table left behind (bypassing pt_set). */
	*slot = 0;
	pte_pg->nr_used = 0;
	assert_int_equal(pt_check(&f->s), PT_CHECK_EMPTY);
	*slot = saved;
	pte_pg->nr_used = 1;
	assert_int_equal(pt_check(&f->s), 0);
}

/* Invariant 4 and placement: bad upper entries, a cross-linked table. */
static void corrupt_upper(struct fixture *f)
{
	pte_t *pmd = phys_addr(&f->fs.ph, raw_table(&f->s, CORRUPT_VA, 1));
	struct pt_meta *pmd_pg = table_page(f, CORRUPT_VA, 1);
	pte_t *slot = &pmd[PT_INDEX(1, CORRUPT_VA)], saved = *slot;

	*slot = saved & ~PTE_WRITE;
	assert_int_equal(pt_check(&f->s), PT_CHECK_UPPER);
	*slot = pfn_pte(POOL_PAGES, PTE_TABLE);
	assert_int_equal(pt_check(&f->s), PT_CHECK_UPPER);
	*slot = saved;
	/* The next 2 MiB range's slot points at the same PTE table. */
	slot[1] = saved;
	pmd_pg->nr_used += 1;
	assert_int_equal(pt_check(&f->s), PT_CHECK_PLACE);
	slot[1] = 0;
	pmd_pg->nr_used -= 1;
	assert_int_equal(pt_check(&f->s), 0);
}

static void test_pagetable_check_catches_corruption(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pt_map(&f->s, CORRUPT_VA, pfn_pte(1, PTE_PRESENT)), 0);
	assert_int_equal(pt_map(&f->s, 5 * TiB, pfn_pte(2, PTE_PRESENT)), 0);
	assert_int_equal(pt_check(&f->s), 0);
	corrupt_counts(f);
	corrupt_upper(f);
}

static unsigned long seed_from_env(void)
{
	const char *s = getenv("SEED");

	if (s && *s)
		return strtoul(s, NULL, 0);
	return (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
}

#define PT_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PT_TEST(test_pagetable_level_boundaries),
		PT_TEST(test_pagetable_walk_alloc_and_undo),
		PT_TEST(test_pagetable_set_counts),
		PT_TEST(test_pagetable_map_eexist),
		PT_TEST(test_pagetable_va_limit_and_ranges),
		PT_TEST(test_pagetable_sparse_model),
		PT_TEST(test_pagetable_unmap_range_dense),
		PT_TEST(test_pagetable_for_each_rewrites),
		PT_TEST(test_pagetable_destroy_returns_frames),
		PT_TEST(test_pagetable_init_enomem),
		PT_TEST(test_pagetable_alloc_failure),
		PT_TEST(test_pagetable_swap_entries),
		PT_TEST(test_pagetable_file_markers),
		PT_TEST(test_pagetable_pfn_roundtrip),
		PT_TEST(test_pagetable_check_catches_corruption),
	};

	seed = seed_from_env();
	fprintf(stderr, "seed=%lu\n", (unsigned long)seed);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
