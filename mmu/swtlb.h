/*
 * mmu/tlb.h - the software TLB of vm_access(): a small set-associative
 * cache of va -> "may access without a walk" per address space.
 *
 *   va:  | ... vpn ... | set (log2 sets bits) | page offset (12) |
 *   set = vpn % sets; SWTLB_WAYS ways per set, round-robin replacement;
 *   sets = entries / SWTLB_WAYS (vm_config.tlb_entries; 256 entries, 64
 *   sets, by default).  The arrays are host memory, as a TLB is no part of
 *   emulated RAM.
 *   entry = (vpn << 2) | SWTLB_E_WRITE | SWTLB_E_VALID, 0 when invalid.
 *
 * An entry means: the PTE is present and accessed; with SWTLB_E_WRITE it is
 * also writable and dirty.  So a hit never needs to touch the PTE: exactly
 * the accesses a hardware TLB would serve without a page walk.  Whoever
 * changes a PTE (or clears A/D) flushes that page first, as a shootdown.
 * Each task runs on its own emulated CPU, so there is no context switch
 * and no flush for one: entries are tagged by address space (PCID-like).
 *
 * Beside each entry the frame it maps (pfn[]), written by fills and read
 * only under the machine lock: exact replacement (vm_config.exact_frames)
 * tells the policy about every hit, and needs the page without a walk.  A
 * set's entries and frames share one cache line (struct swtlb_line), so a
 * hit loads one line.
 *
 * Invariant: an entry is valid only while the PTE it was filled from is
 * unchanged.  Locking: lookups are lock-free (atomics, relaxed: a lookup
 * racing a shootdown is ordered before it); fills and flushes happen
 * under the machine lock.  All functions are SIGSAFE.
 */
#ifndef VMEMU_TLB_H
#define VMEMU_TLB_H

#include <stdatomic.h>
#include <stdbool.h>

#include "base/types.h"

#define SWTLB_WAYS	  4
#define SWTLB_MIN_ENTRIES SWTLB_WAYS
#define SWTLB_MAX_ENTRIES (1u << 16)
#define SWTLB_E_VALID	  1ULL
#define SWTLB_E_WRITE	  2ULL
#define SWTLB_E_TAG_SHIFT 2

/* One set: its ways' entries and their frames, in one cache line. */
struct swtlb_line {
	_Atomic uint64_t entry[SWTLB_WAYS];
	pfn_t pfn[SWTLB_WAYS]; /* machine lock */
};
_Static_assert(sizeof(struct swtlb_line) == 64, "a set is one cache line");

struct swtlb {
	struct swtlb_line *line; /* [sets], cache-line aligned */
	uint8_t *next_way;	 /* [sets] */
	unsigned set_mask;	 /* sets - 1 */
	_Atomic uint64_t hits, misses, flushes;
};

/*
 * entries: a power of two in [SWTLB_MIN_ENTRIES, SWTLB_MAX_ENTRIES]; 0,
 * -EINVAL, or -ENOMEM (host memory).  Not SIGSAFE.
 */
int swtlb_init(struct swtlb *tlb, unsigned entries);
/* Free the arrays (not SIGSAFE). */
void swtlb_destroy(struct swtlb *tlb);

/* The tag bits of an entry for va (its page number). */
static inline uint64_t swtlb_tag(vaddr_t va)
{
	return (va >> PAGE_SHIFT) << SWTLB_E_TAG_SHIFT;
}

static inline unsigned swtlb_set(const struct swtlb *tlb, vaddr_t va)
{
	return (unsigned)(va >> PAGE_SHIFT) & tlb->set_mask;
}

/* Bump a single-writer counter without a locked instruction. */
static inline void swtlb_count(_Atomic uint64_t *c)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/*
 * SIGSAFE.  True when the access can complete without a page walk; with
 * the machine lock held, *pfn (if not NULL) is then the frame.
 */
static inline bool swtlb_lookup_pfn(struct swtlb *tlb, vaddr_t va, bool write,
				    pfn_t *pfn)
{
	uint64_t want = swtlb_tag(va) | SWTLB_E_VALID;
	uint64_t mask = write ? ~0ULL : ~SWTLB_E_WRITE;
	unsigned set = swtlb_set(tlb, va);

	if (write)
		want |= SWTLB_E_WRITE;
#pragma GCC unroll 4
	for (unsigned w = 0; w < SWTLB_WAYS; w++) {
		uint64_t e = atomic_load_explicit(&tlb->line[set].entry[w],
						  memory_order_relaxed);
		if ((e & mask) == want) {
			swtlb_count(&tlb->hits);
			if (pfn)
				*pfn = tlb->line[set].pfn[w];
			return true;
		}
	}
	swtlb_count(&tlb->misses);
	return false;
}

/*
 * SIGSAFE, machine lock held.  Is va cached (any rights)?  Its frame into
 * *pfn.  Counts nothing: a peek.
 */
static inline bool swtlb_peek(const struct swtlb *tlb, vaddr_t va, pfn_t *pfn)
{
	uint64_t want = swtlb_tag(va) | SWTLB_E_VALID;
	unsigned set = swtlb_set(tlb, va);

#pragma GCC unroll 4
	for (unsigned w = 0; w < SWTLB_WAYS; w++)
		if ((atomic_load_explicit(&tlb->line[set].entry[w],
					  memory_order_relaxed) &
		     ~SWTLB_E_WRITE) == want) {
			*pfn = tlb->line[set].pfn[w];
			return true;
		}
	return false;
}

/* SIGSAFE.  swtlb_lookup_pfn without the frame: any thread, no lock. */
static inline bool swtlb_lookup(struct swtlb *tlb, vaddr_t va, bool write)
{
	return swtlb_lookup_pfn(tlb, va, write, NULL);
}

/* Fill way w of set (w == SWTLB_WAYS: the round robin's next way). */
static inline void swtlb_fill_way(struct swtlb *tlb, unsigned set, unsigned w,
				  uint64_t tag, bool writable, pfn_t pfn)
{
	if (w == SWTLB_WAYS) {
		w = tlb->next_way[set];
		tlb->next_way[set] = (uint8_t)((w + 1) & (SWTLB_WAYS - 1));
	}
	tlb->line[set].pfn[w] = pfn;
	atomic_store_explicit(&tlb->line[set].entry[w],
			      tag | (writable ? SWTLB_E_WRITE : 0),
			      memory_order_relaxed);
}

/*
 * SIGSAFE, machine lock held.  Cache va, mapping frame pfn (writable: the
 * PTE is W and D).
 */
static inline void swtlb_fill(struct swtlb *tlb, vaddr_t va, bool writable,
			      pfn_t pfn)
{
	uint64_t tag = swtlb_tag(va) | SWTLB_E_VALID;
	unsigned set = swtlb_set(tlb, va);
	_Atomic uint64_t *e = tlb->line[set].entry;
	unsigned w;

	/* The way that holds va already (rights change), else round robin. */
#pragma GCC unroll 4
	for (w = 0; w < SWTLB_WAYS; w++)
		if ((atomic_load_explicit(&e[w], memory_order_relaxed) &
		     ~SWTLB_E_WRITE) == tag)
			break;
	swtlb_fill_way(tlb, set, w, tag, writable, pfn);
}

/*
 * SIGSAFE, machine lock held.  swtlb_fill for a va known to have no entry:
 * a lookup for a read missed it (with any rights it would have hit), and
 * nothing filled since.  Saves the fill its search of the set.
 */
static inline void swtlb_fill_absent(struct swtlb *tlb, vaddr_t va,
				     bool writable, pfn_t pfn)
{
	swtlb_fill_way(tlb, swtlb_set(tlb, va), SWTLB_WAYS,
		       swtlb_tag(va) | SWTLB_E_VALID, writable, pfn);
}

/* SIGSAFE, machine lock held.  Drop va's entry, if any. */
static inline void swtlb_flush_page(struct swtlb *tlb, vaddr_t va)
{
	unsigned set = swtlb_set(tlb, va);

#pragma GCC unroll 4
	for (unsigned w = 0; w < SWTLB_WAYS; w++) {
		uint64_t old = atomic_load_explicit(&tlb->line[set].entry[w],
						    memory_order_relaxed);
		if ((old & ~SWTLB_E_WRITE) == (swtlb_tag(va) | SWTLB_E_VALID)) {
			atomic_store_explicit(&tlb->line[set].entry[w], 0,
					      memory_order_relaxed);
			swtlb_count(&tlb->flushes);
		}
	}
}

/* SIGSAFE, machine lock held.  Drop every entry. */
void swtlb_flush_all(struct swtlb *tlb);

#endif /* VMEMU_TLB_H */
