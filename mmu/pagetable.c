/*
 * mmu/pagetable.c - 4-level page tables kept in emulated RAM.
 *
 * A table is one frame from s->mem.alloc, read and written at
 * s->mem.frames (the kernel's direct map); its bookkeeping is the struct
 * pt_meta the kernel keeps for the frame.  An upper entry is PTE_TABLE | pfn of the next table; a leaf is
 * whatever the caller stores (present PTE, swap entry, file marker).
 *
 *   pgd_pfn -> PGD[PT_INDEX(3, va)] -> PUD[..(2, va)] -> PMD[..(1, va)]
 *                                                        -> PTE[..(0, va)]
 *
 * Tables are created on demand by pt_walk_alloc and freed as soon as they
 * become empty (pt_clear, pt_unmap_range, pt_for_each after its visitor
 * emptied one), cascading up to, never including, the PGD.
 *
 * Invariants (1-4 are the contract's, pt_check walks them all):
 *  1. A table's meta nr_used = its number of non-none entries.
 *  2. No table below the PGD is empty; every table's meta has the magic.
 *  3. s->nr_tables = tables reachable from the PGD = frames taken from
 *     s->mem.alloc and not given back (every failing path frees what it
 *     took).
 *  4. Upper entries are exactly PTE_TABLE | pfn of a valid frame.
 *  5. A table's meta tag = table_tag(base va it maps, its level).
 *
 * Recursion (range walks, destroy, check) is bounded by PT_LEVELS.
 *
 * Locking: the caller holds the machine lock for every call.
 * SIGSAFE: everything but pt_init and pt_destroy (no malloc, no stdio; the
 * only library call is memset, which POSIX lists as async-signal-safe).
 */
#include "mmu/pagetable.h"

#include <errno.h>
#include <string.h>

#define PT_LEVEL_MASK ((uint64_t)PAGE_SIZE - 1)

/* Bytes mapped by one entry of a table at `level`. */
static inline uint64_t entry_span(int level)
{
	return 1ULL << PT_SHIFT(level);
}

/* Base va of the table at `level` that maps va. */
static inline vaddr_t table_base(vaddr_t va, int level)
{
	return va & ~(entry_span(level) * PT_ENTRIES - 1);
}

/* The tag of a table: its base va (page aligned) | its level. */
static inline uint64_t table_tag(vaddr_t base, int level)
{
	return base | (uint64_t)level;
}

static inline bool frame_valid(const struct pt_space *s, pfn_t pfn)
{
	return pfn < s->mem.nr_frames;
}

/* SIGSAFE.  Take a zeroed table frame for (base, level); 0 or -ENOMEM. */
static int table_new(struct pt_space *s, vaddr_t base, int level, pfn_t *pfn)
{
	struct pt_meta *pg;
	int err;

	err = s->mem.alloc(s->mem.ctx, pfn);
	if (err)
		return err;
	BUG_ON(!frame_valid(s, *pfn));
	memset(pt_table(s, *pfn), 0, PAGE_SIZE);
	pg = pt_meta_of(s, *pfn);
	pg->magic = PT_META_MAGIC;
	pg->nr_used = 0;
	pg->tag = table_tag(base, level);
	s->nr_tables++;
	return 0;
}

/* SIGSAFE.  Give a table frame back; its entries are not looked at. */
static void table_free(struct pt_space *s, pfn_t pfn)
{
	struct pt_meta *pg = pt_meta_of(s, pfn);

	pg->magic = 0;
	pg->nr_used = 0;
	pg->tag = 0;
	s->mem.free(s->mem.ctx, pfn);
	s->nr_tables--;
}

/* Unlink and free the child table at parent[idx] (it must be empty). */
static void table_unlink(struct pt_space *s, pfn_t parent, unsigned idx)
{
	pte_t *slot = &pt_table(s, parent)[idx];

	table_free(s, pte_pfn(*slot));
	pt_entry_store(pt_meta_of(s, parent), slot, 0);
}

int pt_init(struct pt_space *s, const struct pt_mem *mem)
{
	s->mem = *mem;
	s->nr_tables = 0;
	return table_new(s, 0, PT_TOP, &s->pgd_pfn);
}

/* Free the table at pfn and everything below it, children first. */
static void destroy_table(struct pt_space *s, pfn_t pfn, int level)
{
	const pte_t *t = pt_table(s, pfn);

	for (unsigned i = 0; level > 0 && i < PT_ENTRIES; i++)
		if (!pte_none(t[i]))
			destroy_table(s, pte_pfn(t[i]), level - 1);
	table_free(s, pfn);
}

void pt_destroy(struct pt_space *s)
{
	destroy_table(s, s->pgd_pfn, PT_TOP);
	BUG_ON(s->nr_tables != 0);
}

/*
 * SIGSAFE.  Follow va down from the PGD while entries exist; path[level]
 * gets the pfn of each table reached.  Returns the level of the deepest
 * table reached (0: the PTE table).
 */
static int descend(const struct pt_space *s, vaddr_t va, pfn_t path[])
{
	int level = PT_TOP;

	path[level] = s->pgd_pfn;
	for (; level > 0; level--) {
		pte_t e = pt_table(s, path[level])[PT_INDEX(level, va)];

		if (pte_none(e))
			break;
		path[level - 1] = pte_pfn(e);
	}
	return level;
}

/*
 * Allocate the tables of levels top-1 .. 0 for va into fresh[level].  On
 * failure free those already taken and return -ENOMEM: nothing changed.
 */
static int alloc_levels(struct pt_space *s, vaddr_t va, int top, pfn_t fresh[])
{
	int level, err = 0;

	for (level = top - 1; level >= 0; level--) {
		err = table_new(s, table_base(va, level), level, &fresh[level]);
		if (err)
			break;
	}
	if (!err)
		return 0;
	for (level++; level < top; level++)
		table_free(s, fresh[level]);
	return err;
}

int pt_walk_alloc_levels(struct pt_space *s, vaddr_t va, pte_t **ptep)
{
	pfn_t path[PT_LEVELS], fresh[PT_TOP];
	int top, err;

	top = descend(s, va, path);
	err = alloc_levels(s, va, top, fresh);
	if (err)
		return err;
	for (int level = top; level > 0; level--) {
		pte_t *slot = &pt_table(s, path[level])[PT_INDEX(level, va)];

		pt_entry_store(pt_meta_of(s, path[level]), slot,
			       pfn_pte(fresh[level - 1], PTE_TABLE));
		path[level - 1] = fresh[level - 1];
	}
	*ptep = &pt_table(s, path[0])[PT_INDEX(0, va)];
	return 0;
}

int pt_map(struct pt_space *s, vaddr_t va, pte_t val)
{
	pte_t *ptep;
	int err;

	BUG_ON(pte_none(val));
	err = pt_walk_alloc(s, va, &ptep);
	if (err)
		return err;
	if (!pte_none(*ptep))
		return -EEXIST; /* the path existed: nothing was allocated */
	pt_set(s, ptep, val);
	return 0;
}

/* Free the empty tables of path[] from `level` up, below the PGD. */
static void prune(struct pt_space *s, vaddr_t va, const pfn_t path[], int level)
{
	for (; level < PT_TOP; level++) {
		if (pt_meta_of(s, path[level])->nr_used != 0)
			break;
		table_unlink(s, path[level + 1], PT_INDEX(level + 1, va));
	}
}

pte_t pt_clear(struct pt_space *s, vaddr_t va)
{
	pfn_t path[PT_LEVELS];
	pte_t old = 0;
	int level;

	if (unlikely(va >= PT_VA_LIMIT))
		return 0;
	level = descend(s, va, path);
	if (level == 0) {
		pte_t *slot = &pt_table(s, path[0])[PT_INDEX(0, va)];

		old = *slot;
		pt_entry_store(pt_meta_of(s, path[0]), slot, 0);
	}
	prune(s, va, path, level);
	return old;
}

/* One range walk: [start, end) page aligned, start < end <= PT_VA_LIMIT. */
struct range {
	struct pt_space *s;
	vaddr_t start, end;
	pt_visit_fn visit;     /* pt_for_each */
	pt_release_fn release; /* pt_unmap_range (may be NULL) */
	void *arg;
	bool clear; /* pt_unmap_range: clear the leaves */
};

/* Indexes [*first, *last] of the table (base, level) that meet the range. */
static void range_indexes(const struct range *r, vaddr_t base, int level,
			  unsigned *first, unsigned *last)
{
	vaddr_t lo = MAX(r->start, base);
	vaddr_t hi = MIN(r->end, base + entry_span(level) * PT_ENTRIES);

	*first = (unsigned)((lo - base) >> PT_SHIFT(level));
	*last = (unsigned)((hi - 1 - base) >> PT_SHIFT(level));
}

/* The leaves of the PTE table at pfn (mapping from base) in the range. */
static void range_leaves(const struct range *r, pfn_t pfn, vaddr_t base)
{
	pte_t *t = pt_table(r->s, pfn);
	struct pt_meta *pg = pt_meta_of(r->s, pfn);
	unsigned i, last;

	range_indexes(r, base, 0, &i, &last);
	for (; i <= last; i++) {
		vaddr_t va = base + ((vaddr_t)i << PAGE_SHIFT);
		pte_t old = t[i];

		if (pte_none(old))
			continue;
		if (!r->clear) {
			r->visit(r->arg, va, &t[i]);
			continue;
		}
		pt_entry_store(pg, &t[i], 0);
		if (r->release)
			r->release(r->arg, va, old);
	}
}

/* The table at pfn (level, mapping from base): recurse, free emptied. */
static void range_table(const struct range *r, pfn_t pfn, int level,
			vaddr_t base)
{
	const pte_t *t = pt_table(r->s, pfn);
	unsigned i, last;

	if (level == 0) {
		range_leaves(r, pfn, base);
		return;
	}
	range_indexes(r, base, level, &i, &last);
	for (; i <= last; i++) {
		pfn_t child;

		if (pte_none(t[i]))
			continue; /* absent subtree: skipped whole */
		child = pte_pfn(t[i]);
		range_table(r, child, level - 1,
			    base + ((vaddr_t)i << PT_SHIFT(level)));
		if (pt_meta_of(r->s, child)->nr_used == 0)
			table_unlink(r->s, pfn, i);
	}
}

/* Normalise [start, end) (see the header) and walk it, if not empty. */
static void range_walk(struct range *r, vaddr_t start, vaddr_t end)
{
	end = PAGE_ROUND_UP(MIN(end, PT_VA_LIMIT));
	start = PAGE_ROUND_DOWN(start);
	if (start >= end)
		return;
	r->start = start;
	r->end = end;
	range_table(r, r->s->pgd_pfn, PT_TOP, 0);
}

void pt_for_each(struct pt_space *s, vaddr_t start, vaddr_t end, pt_visit_fn fn,
		 void *arg)
{
	struct range r = { .s = s, .visit = fn, .arg = arg, .clear = false };

	range_walk(&r, start, end);
}

void pt_unmap_range(struct pt_space *s, vaddr_t start, vaddr_t end,
		    pt_release_fn fn, void *arg)
{
	struct range r = { .s = s, .release = fn, .arg = arg, .clear = true };

	range_walk(&r, start, end);
}

static int check_table(const struct pt_space *s, pfn_t pfn, int level,
		       vaddr_t base, uint64_t *nr);

/* An upper entry of a table at level (mapping base): inv. 4, then below. */
static int check_upper(const struct pt_space *s, pte_t e, int level,
		       vaddr_t base, uint64_t *nr)
{
	if ((e & ~PTE_PFN_MASK) != PTE_TABLE || !frame_valid(s, pte_pfn(e)))
		return PT_CHECK_UPPER;
	return check_table(s, pte_pfn(e), level - 1, base, nr);
}

/* The table at pfn and all below it; counts them into *nr. */
static int check_table(const struct pt_space *s, pfn_t pfn, int level,
		       vaddr_t base, uint64_t *nr)
{
	const struct pt_meta *pg = pt_meta_of(s, pfn);
	const pte_t *t = pt_table(s, pfn);
	uint32_t used = 0;
	int err;

	if (pg->magic != PT_META_MAGIC)
		return PT_CHECK_FLAGS;
	if (pg->tag != table_tag(base, level))
		return PT_CHECK_PLACE;
	(*nr)++;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (pte_none(t[i]))
			continue;
		used++;
		if (level == 0)
			continue;
		err = check_upper(s, t[i], level,
				  base + ((vaddr_t)i << PT_SHIFT(level)), nr);
		if (err)
			return err;
	}
	if (used != pg->nr_used)
		return PT_CHECK_COUNT;
	if (used == 0 && level < PT_TOP)
		return PT_CHECK_EMPTY;
	return 0;
}

int pt_check(const struct pt_space *s)
{
	uint64_t nr = 0;
	int err;

	if (!frame_valid(s, s->pgd_pfn))
		return PT_CHECK_UPPER;
	err = check_table(s, s->pgd_pfn, PT_TOP, 0, &nr);
	if (err)
		return err;
	return nr == s->nr_tables ? 0 : PT_CHECK_NR_TABLES;
}
