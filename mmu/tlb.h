/*
 * mmu/tlb.h - the software TLB of vm_access(): a small set-associative
 * cache of va -> "may access without a walk" per address space.
 *
 *   va:  | ... vpn ... | set (6 bits) | page offset (12) |
 *   set = vpn % TLB_SETS; TLB_WAYS ways per set, round-robin replacement.
 *   entry = (vpn << 2) | TLB_E_WRITE | TLB_E_VALID, 0 when invalid.
 *
 * An entry means: the PTE is present and accessed; with TLB_E_WRITE it is
 * also writable and dirty.  So a hit never needs to touch the PTE: exactly
 * the accesses a hardware TLB would serve without a page walk.  Whoever
 * changes a PTE (or clears A/D) flushes that page first, as a shootdown.
 * Each task runs on its own emulated CPU, so there is no context switch
 * and no flush for one: entries are tagged by address space (PCID-like).
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

#include "vm/types.h"

#define TLB_SETS_SHIFT	6
#define TLB_SETS	(1u << TLB_SETS_SHIFT)
#define TLB_WAYS	4
#define TLB_E_VALID	1ULL
#define TLB_E_WRITE	2ULL
#define TLB_E_TAG_SHIFT 2

struct tlb {
	_Atomic uint64_t entry[TLB_SETS][TLB_WAYS];
	uint8_t next_way[TLB_SETS];
	_Atomic uint64_t hits, misses, flushes;
};

void tlb_init(struct tlb *tlb);

static inline unsigned tlb_set(vaddr_t va)
{
	return (unsigned)(va >> PAGE_SHIFT) & (TLB_SETS - 1);
}

/* Bump a single-writer counter without a locked instruction. */
static inline void tlb_count(_Atomic uint64_t *c)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* SIGSAFE.  True when the access can complete without a page walk. */
static inline bool tlb_lookup(struct tlb *tlb, vaddr_t va, bool write)
{
	uint64_t want = ((va >> PAGE_SHIFT) << TLB_E_TAG_SHIFT) | TLB_E_VALID;
	uint64_t mask = write ? ~0ULL : ~TLB_E_WRITE;
	unsigned set = tlb_set(va);

	if (write)
		want |= TLB_E_WRITE;
	for (unsigned w = 0; w < TLB_WAYS; w++) {
		uint64_t e = atomic_load_explicit(&tlb->entry[set][w],
						  memory_order_relaxed);
		if ((e & mask) == want) {
			tlb_count(&tlb->hits);
			return true;
		}
	}
	tlb_count(&tlb->misses);
	return false;
}

/* SIGSAFE, machine lock held.  Cache va (writable: PTE is W and D). */
void tlb_fill(struct tlb *tlb, vaddr_t va, bool writable);
/* SIGSAFE, machine lock held.  Drop va's entry, if any. */
void tlb_flush_page(struct tlb *tlb, vaddr_t va);
/* SIGSAFE, machine lock held.  Drop every entry. */
void tlb_flush_all(struct tlb *tlb);

#endif /* VMEMU_TLB_H */
