/*
 * mmu/pagetable.h - x86-64-shaped 4-level page tables in emulated RAM.
 *
 *  47      39 38      30 29      21 20      12 11          0
 * +----------+----------+----------+----------+-------------+
 * | PGD idx  | PUD idx  | PMD idx  | PTE idx  | page offset |
 * +----------+----------+----------+----------+-------------+
 *     9 bits     9 bits     9 bits     9 bits     12 bits
 *
 * Every table is one frame of 512 64-bit entries.  The walker is the
 * hardware model: it knows nothing of the kernel's frame descriptors.  The
 * kernel hands it a struct pt_mem - where frame bytes live (its direct
 * map), where each frame's struct pt_meta lives (inside its own per-frame
 * descriptor), and how to get and give back a frame.  A table's pt_meta
 * holds a magic, the number of its non-none entries (so a table that
 * becomes empty on unmap is freed at once; the PGD only by pt_destroy)
 * and a tag (its base va | level).  Tables are counted
 * per address space (nr_tables, the PGD included): the OOM killer charges
 * them.
 *
 * Leaf PTE (present):                     Non-present, non-none PTE:
 *   bit 0  PTE_PRESENT                      bit 0 = 0
 *   bit 1  PTE_WRITE                        bit 1  PTE_SWAP: swap entry,
 *   bit 2  PTE_USER                                type bits 2..6,
 *   bit 5  PTE_ACCESSED                            offset bits 12..57
 *   bit 6  PTE_DIRTY                        bit 3  PTE_FILE: file offset
 *   bit 9  PTE_COW      (software)                 marker, pgoff bits 12..57
 *   bit 10 PTE_SOFTDIRTY (software)
 *   bit 11 PTE_SPECIAL  (software: zero page, not refcounted)
 *   bits 12..51 pfn
 * Upper-level entries: PTE_PRESENT|PTE_WRITE|PTE_USER + pfn of the table.
 *
 * Invariants (pt_check walks them):
 *  1. Each table's nr_used equals the count of its non-none entries.
 *  2. No table below the PGD is empty; every table's meta has the magic.
 *  3. nr_tables equals the number of tables reachable from the PGD.
 *  4. Upper-level entries are present and point at valid frames.
 *
 * A table's tag = base va of the range it maps | its level (3 = PGD ...
 * 0 = PTE table): pt_check finds misplaced tables with it, pt_set checks
 * that it stores into a PTE table.
 *
 * Addresses: va >= PT_VA_LIMIT holds nothing: pt_walk returns NULL and
 * pt_clear returns none for it; pt_walk_alloc/pt_map BUG_ON it.  Ranges are
 * clamped to PT_VA_LIMIT and cover every page they overlap (start rounded
 * down, end rounded up); an empty range does nothing.  The page offset of a
 * va is ignored.
 *
 * Locking: the machine lock guards every table.  Everything here except
 * pt_init/pt_destroy is SIGSAFE (allocation goes through pt_mem, which
 * must itself be SIGSAFE).  Mutate entries only through these functions
 * (pt_set keeps invariant 1).
 */
#ifndef VMEMU_PAGETABLE_H
#define VMEMU_PAGETABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/types.h"

#define PT_LEVELS     4
#define PT_TOP	      (PT_LEVELS - 1)
#define PT_INDEX_BITS 9
#define PT_ENTRIES    (1u << PT_INDEX_BITS)
#define PT_VA_BITS    48
#define PT_VA_LIMIT   (1ULL << PT_VA_BITS)
/* Shift of the index at `level` (3 = PGD ... 0 = PTE). */
#define PT_SHIFT(level) (PAGE_SHIFT + PT_INDEX_BITS * (level))
#define PT_INDEX(level, va) \
	((unsigned)(((va) >> PT_SHIFT(level)) & (PT_ENTRIES - 1)))

#define PTE_PRESENT   (1ULL << 0)
#define PTE_WRITE     (1ULL << 1)
#define PTE_USER      (1ULL << 2)
#define PTE_ACCESSED  (1ULL << 5)
#define PTE_DIRTY     (1ULL << 6)
#define PTE_COW	      (1ULL << 9)
#define PTE_SOFTDIRTY (1ULL << 10)
#define PTE_SPECIAL   (1ULL << 11)
#define PTE_PFN_SHIFT PAGE_SHIFT
#define PTE_PFN_MASK  (((1ULL << 52) - 1) & ~((1ULL << PAGE_SHIFT) - 1))
#define PTE_TABLE     (PTE_PRESENT | PTE_WRITE | PTE_USER)

/* Non-present encodings. */
#define PTE_SWAP	 (1ULL << 1)
#define PTE_FILE	 (1ULL << 3)
#define SWP_TYPE_SHIFT	 2
#define SWP_TYPE_BITS	 5
#define SWP_OFFSET_SHIFT PAGE_SHIFT
#define SWP_OFFSET_BITS	 46
#define SWP_MAX_TYPE	 ((1u << SWP_TYPE_BITS) - 1)
#define SWP_MAX_OFFSET	 ((1ULL << SWP_OFFSET_BITS) - 1)

static inline bool pte_none(pte_t p)
{
	return p == 0;
}
static inline bool pte_present(pte_t p)
{
	return p & PTE_PRESENT;
}
static inline pfn_t pte_pfn(pte_t p)
{
	return (p & PTE_PFN_MASK) >> PTE_PFN_SHIFT;
}
static inline pte_t pfn_pte(pfn_t pfn, pte_t flags)
{
	return ((pfn << PTE_PFN_SHIFT) & PTE_PFN_MASK) | flags;
}

/* swp_entry_t: type in the top SWP_TYPE_BITS, offset below. */
static inline swp_entry_t swp_entry(unsigned type, uint64_t offset)
{
	return ((swp_entry_t)type << SWP_OFFSET_BITS) | offset;
}
static inline unsigned swp_type(swp_entry_t e)
{
	return (unsigned)(e >> SWP_OFFSET_BITS);
}
static inline uint64_t swp_offset(swp_entry_t e)
{
	return e & SWP_MAX_OFFSET;
}
static inline bool pte_is_swap(pte_t p)
{
	return !pte_present(p) && (p & PTE_SWAP);
}
static inline pte_t swp_entry_to_pte(swp_entry_t e)
{
	return PTE_SWAP | ((pte_t)swp_type(e) << SWP_TYPE_SHIFT) |
	       (swp_offset(e) << SWP_OFFSET_SHIFT);
}
static inline swp_entry_t pte_to_swp_entry(pte_t p)
{
	return swp_entry((unsigned)((p >> SWP_TYPE_SHIFT) & SWP_MAX_TYPE),
			 (p >> SWP_OFFSET_SHIFT) & SWP_MAX_OFFSET);
}
/* PTE_SWAP excluded: swap types with bit 1 set share bit 3 with PTE_FILE. */
static inline bool pte_is_file(pte_t p)
{
	return !pte_present(p) && !(p & PTE_SWAP) && (p & PTE_FILE);
}
static inline pte_t pgoff_to_pte(uint64_t pgoff)
{
	return PTE_FILE | ((pgoff & SWP_MAX_OFFSET) << SWP_OFFSET_SHIFT);
}
static inline uint64_t pte_to_pgoff(pte_t p)
{
	return (p >> SWP_OFFSET_SHIFT) & SWP_MAX_OFFSET;
}

/* A table frame's bookkeeping, kept by the kernel beside the frame. */
#define PT_META_MAGIC 0x70746162u
struct pt_meta {
	uint32_t magic;	  /* PT_META_MAGIC while the frame is a table */
	uint32_t nr_used; /* non-none entries (invariant 1) */
	uint64_t tag;	  /* base va it maps | level */
};

/*
 * The memory tables live in, supplied by the kernel.  Frame pfn's bytes
 * are at frames + (pfn << PAGE_SHIFT), its pt_meta at meta + pfn *
 * meta_stride; pfn < nr_frames.  alloc (SIGSAFE) returns 0 and a frame
 * (any contents: pt zeroes it) or -ENOMEM; free takes back such a frame.
 */
struct pt_mem {
	uint8_t *frames;
	uint8_t *meta;
	size_t meta_stride;
	uint64_t nr_frames;
	int (*alloc)(void *ctx, pfn_t *pfn);
	void (*free)(void *ctx, pfn_t pfn);
	void *ctx;
};

struct pt_space {
	struct pt_mem mem;
	pfn_t pgd_pfn;
	uint64_t nr_tables; /* table frames owned, PGD included */
};

/* Allocate the PGD.  0, or -ENOMEM with nothing allocated. */
int pt_init(struct pt_space *s, const struct pt_mem *mem);
/*
 * Free every table, the PGD last.  Leaf entries are dropped without being
 * looked at: release what they reference first (pt_unmap_range).
 */
void pt_destroy(struct pt_space *s);

/* The entries of the table in frame pfn. */
static inline pte_t *pt_table(const struct pt_space *s, pfn_t pfn)
{
	return (pte_t *)(s->mem.frames + (pfn << PAGE_SHIFT));
}

/*
 * SIGSAFE.  The PTE slot for va, or NULL when a level is missing.  Inline:
 * exact replacement walks several times per miss (docs/exact.md).
 */
static inline pte_t *pt_walk(const struct pt_space *s, vaddr_t va)
{
	pte_t *t = pt_table(s, s->pgd_pfn);

	if (unlikely(va >= PT_VA_LIMIT))
		return NULL;
#pragma GCC unroll 4
	for (int level = PT_TOP; level > 0; level--) {
		pte_t e = t[PT_INDEX(level, va)];

		if (pte_none(e))
			return NULL;
		t = pt_table(s, pte_pfn(e));
	}
	return &t[PT_INDEX(0, va)];
}

/* pt_walk_alloc's slow path: a level is missing (pagetable.c). */
int pt_walk_alloc_levels(struct pt_space *s, vaddr_t va, pte_t **ptep);

/*
 * SIGSAFE.  The PTE slot for va, allocating missing levels; 0 or -ENOMEM.
 * On -ENOMEM nothing was added (all missing levels are allocated before any
 * is linked).  On success the slot's tables may be new and empty: store a
 * non-none value with pt_set, or undo with pt_clear(va), which frees them.
 * Inline: the common case, every level there, is pt_walk.
 */
static inline int pt_walk_alloc(struct pt_space *s, vaddr_t va, pte_t **ptep)
{
	BUG_ON(va >= PT_VA_LIMIT);
	*ptep = pt_walk(s, va);
	if (likely(*ptep))
		return 0;
	return pt_walk_alloc_levels(s, va, ptep);
}

/* The bookkeeping of the table in frame pfn. */
static inline struct pt_meta *pt_meta_of(const struct pt_space *s, pfn_t pfn)
{
	return (struct pt_meta *)(s->mem.meta + pfn * s->mem.meta_stride);
}

/* Store val into a slot of the table whose bookkeeping is pg (inv. 1). */
static inline void pt_entry_store(struct pt_meta *pg, pte_t *slot, pte_t val)
{
	if (pte_none(*slot) && !pte_none(val))
		pg->nr_used += 1;
	else if (!pte_none(*slot) && pte_none(val))
		pg->nr_used -= 1;
	*slot = val;
}

/*
 * SIGSAFE.  Store val into *ptep (a leaf slot obtained from a walk of s).
 * Storing none may empty the table: do that only from a pt_for_each
 * visitor (which frees emptied tables) or follow it with pt_clear(va).
 * Inline: every exact miss sets two PTEs (docs/exact.md).
 */
static inline void pt_set(struct pt_space *s, pte_t *ptep, pte_t val)
{
	uintptr_t off = (uintptr_t)ptep - (uintptr_t)s->mem.frames;
	pfn_t pfn = (pfn_t)(off >> PAGE_SHIFT);
	struct pt_meta *pg = pt_meta_of(s, pfn);

	BUG_ON(pfn >= s->mem.nr_frames || pg->magic != PT_META_MAGIC ||
	       (pg->tag & (PAGE_SIZE - 1)) != 0);
	pt_entry_store(pg, ptep, val);
}

/*
 * SIGSAFE.  Install val at va; 0, -ENOMEM, or -EEXIST if the slot is not
 * none.  val must not be none (BUG_ON).
 */
int pt_map(struct pt_space *s, vaddr_t va, pte_t val);
/*
 * SIGSAFE.  Clear va's PTE, free tables left empty (never the PGD), even
 * when the PTE already was none; returns the old PTE.
 */
pte_t pt_clear(struct pt_space *s, vaddr_t va);

/*
 * Visitor: *ptep is a non-none leaf at va; may change it via pt_set() (even
 * to none), but must not map or clear any other va of the space.
 */
typedef void (*pt_visit_fn)(void *arg, vaddr_t va, pte_t *ptep);
/*
 * SIGSAFE.  Visit every non-none leaf in [start, end), in address order,
 * skipping absent subtrees; frees the tables the visitor emptied.
 */
void pt_for_each(struct pt_space *s, vaddr_t start, vaddr_t end, pt_visit_fn fn,
		 void *arg);
/*
 * SIGSAFE.  Clear every non-none leaf in [start, end), in address order,
 * calling fn (if not NULL) with each old value right after its slot is
 * cleared and before any table is freed, so the caller can release it; fn
 * must not touch the tables of s.  Frees every table left empty.  Skips
 * absent subtrees without touching them.
 */
typedef void (*pt_release_fn)(void *arg, vaddr_t va, pte_t old);
void pt_unmap_range(struct pt_space *s, vaddr_t start, vaddr_t end,
		    pt_release_fn fn, void *arg);

/* pt_check() results: which invariant is broken (the first one found);
 * not errno values. */
enum pt_check_err {
	PT_CHECK_COUNT = -1001,	    /* 1: nr_used != non-none entries */
	PT_CHECK_EMPTY = -1002,	    /* 2: a table below the PGD is empty */
	PT_CHECK_FLAGS = -1003,	    /* 2: a table's meta lacks the magic */
	PT_CHECK_NR_TABLES = -1004, /* 3: nr_tables != tables reachable */
	PT_CHECK_UPPER = -1005,	    /* 4: upper entry not PTE_TABLE|valid pfn */
	PT_CHECK_PLACE = -1006,	    /* a table's tag names another place */
};

/* SIGSAFE (reads only).  Walk invariants 1-4; 0, or an enum pt_check_err. */
int pt_check(const struct pt_space *s);

#endif /* VMEMU_PAGETABLE_H */
