/*
 * mmu/tlb.c - fill and shootdown of the software TLB (see tlb.h for the
 * entry format and the invariant).  Fills and flushes run under the
 * machine lock; lookups (inline in tlb.h) are lock-free.  SIGSAFE.
 */
#include "mmu/tlb.h"

#include <string.h>

void tlb_init(struct tlb *tlb)
{
	memset(tlb, 0, sizeof(*tlb));
}

static uint64_t tlb_tag(vaddr_t va)
{
	return (va >> PAGE_SHIFT) << TLB_E_TAG_SHIFT;
}

SIGSAFE void tlb_fill(struct tlb *tlb, vaddr_t va, bool writable)
{
	uint64_t e = tlb_tag(va) | TLB_E_VALID | (writable ? TLB_E_WRITE : 0);
	unsigned set = tlb_set(va);
	unsigned w;

	for (w = 0; w < TLB_WAYS; w++) {
		uint64_t old = atomic_load_explicit(&tlb->entry[set][w],
						    memory_order_relaxed);
		if ((old & ~TLB_E_WRITE) == (tlb_tag(va) | TLB_E_VALID))
			break;
	}
	if (w == TLB_WAYS) {
		w = tlb->next_way[set];
		tlb->next_way[set] = (uint8_t)((w + 1) % TLB_WAYS);
	}
	atomic_store_explicit(&tlb->entry[set][w], e, memory_order_relaxed);
}

SIGSAFE void tlb_flush_page(struct tlb *tlb, vaddr_t va)
{
	unsigned set = tlb_set(va);

	for (unsigned w = 0; w < TLB_WAYS; w++) {
		uint64_t old = atomic_load_explicit(&tlb->entry[set][w],
						    memory_order_relaxed);
		if ((old & ~TLB_E_WRITE) == (tlb_tag(va) | TLB_E_VALID)) {
			atomic_store_explicit(&tlb->entry[set][w], 0,
					      memory_order_relaxed);
			tlb_count(&tlb->flushes);
		}
	}
}

SIGSAFE void tlb_flush_all(struct tlb *tlb)
{
	for (unsigned s = 0; s < TLB_SETS; s++)
		for (unsigned w = 0; w < TLB_WAYS; w++)
			atomic_store_explicit(&tlb->entry[s][w], 0,
					      memory_order_relaxed);
	tlb_count(&tlb->flushes);
}
