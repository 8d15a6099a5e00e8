/*
 * mmu/tlb.h - the software TLB of vm_access(): a small set-associative
 * cache of va -> "may access without a walk" per address space.
 *
 *   va:  | ... vpn ... | set (6 bits) | page offset (12) |
 *   set = vpn % SWTLB_SETS; SWTLB_WAYS ways per set, round-robin replacement.
 *   entry = (vpn << 2) | SWTLB_E_WRITE | SWTLB_E_VALID, 0 when invalid.
 *
 * An entry means: the PTE is present and accessed; with SWTLB_E_WRITE it is
 * also writable and dirty.  So a hit never needs to touch the PTE: exactly
 * the accesses a hardware TLB would serve without a page walk.  Whoever
 * changes a PTE (or clears A/D) flushes that page first, as a shootdown.
 * Each task runs on its own emulated CPU, so there is no context switch
 * and no flush for one: entries are tagged by address space (PCID-like).
 *
 * Beside each entry the frame it maps (pfn[][]), written by fills and read
 * only under the machine lock: exact replacement (vm_config.exact_frames)
 * tells the policy about every hit, and needs the page without a walk.
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

#define SWTLB_SETS_SHIFT  6
#define SWTLB_SETS	  (1u << SWTLB_SETS_SHIFT)
#define SWTLB_WAYS	  4
#define SWTLB_E_VALID	  1ULL
#define SWTLB_E_WRITE	  2ULL
#define SWTLB_E_TAG_SHIFT 2

struct swtlb {
	_Atomic uint64_t entry[SWTLB_SETS][SWTLB_WAYS];
	uint8_t next_way[SWTLB_SETS];
	pfn_t pfn[SWTLB_SETS][SWTLB_WAYS]; /* machine lock */
	_Atomic uint64_t hits, misses, flushes;
};

void swtlb_init(struct swtlb *tlb);

static inline unsigned swtlb_set(vaddr_t va)
{
	return (unsigned)(va >> PAGE_SHIFT) & (SWTLB_SETS - 1);
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
	uint64_t want = ((va >> PAGE_SHIFT) << SWTLB_E_TAG_SHIFT) |
			SWTLB_E_VALID;
	uint64_t mask = write ? ~0ULL : ~SWTLB_E_WRITE;
	unsigned set = swtlb_set(va);

	if (write)
		want |= SWTLB_E_WRITE;
	for (unsigned w = 0; w < SWTLB_WAYS; w++) {
		uint64_t e = atomic_load_explicit(&tlb->entry[set][w],
						  memory_order_relaxed);
		if ((e & mask) == want) {
			swtlb_count(&tlb->hits);
			if (pfn)
				*pfn = tlb->pfn[set][w];
			return true;
		}
	}
	swtlb_count(&tlb->misses);
	return false;
}

/* SIGSAFE.  swtlb_lookup_pfn without the frame: any thread, no lock. */
static inline bool swtlb_lookup(struct swtlb *tlb, vaddr_t va, bool write)
{
	return swtlb_lookup_pfn(tlb, va, write, NULL);
}

/*
 * SIGSAFE, machine lock held.  Cache va, mapping frame pfn (writable: the
 * PTE is W and D).
 */
void swtlb_fill(struct swtlb *tlb, vaddr_t va, bool writable, pfn_t pfn);
/* SIGSAFE, machine lock held.  Drop va's entry, if any. */
void swtlb_flush_page(struct swtlb *tlb, vaddr_t va);
/* SIGSAFE, machine lock held.  Drop every entry. */
void swtlb_flush_all(struct swtlb *tlb);

#endif /* VMEMU_TLB_H */
