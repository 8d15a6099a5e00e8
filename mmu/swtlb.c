/*
 * mmu/tlb.c - fill and shootdown of the software TLB (see tlb.h for the
 * entry format and the invariant).  Fills and flushes run under the
 * machine lock; lookups (inline in tlb.h) are lock-free.  SIGSAFE.
 */
#include "mmu/swtlb.h"

#include <string.h>

void swtlb_init(struct swtlb *tlb)
{
	memset(tlb, 0, sizeof(*tlb));
}

static uint64_t tlb_tag(vaddr_t va)
{
	return (va >> PAGE_SHIFT) << SWTLB_E_TAG_SHIFT;
}

SIGSAFE void swtlb_fill(struct swtlb *tlb, vaddr_t va, bool writable, pfn_t pfn)
{
	uint64_t e = tlb_tag(va) | SWTLB_E_VALID |
		     (writable ? SWTLB_E_WRITE : 0);
	unsigned set = swtlb_set(va);
	unsigned w;

	for (w = 0; w < SWTLB_WAYS; w++) {
		uint64_t old = atomic_load_explicit(&tlb->entry[set][w],
						    memory_order_relaxed);
		if ((old & ~SWTLB_E_WRITE) == (tlb_tag(va) | SWTLB_E_VALID))
			break;
	}
	if (w == SWTLB_WAYS) {
		w = tlb->next_way[set];
		tlb->next_way[set] = (uint8_t)((w + 1) % SWTLB_WAYS);
	}
	tlb->pfn[set][w] = pfn;
	atomic_store_explicit(&tlb->entry[set][w], e, memory_order_relaxed);
}

SIGSAFE void swtlb_flush_page(struct swtlb *tlb, vaddr_t va)
{
	unsigned set = swtlb_set(va);

	for (unsigned w = 0; w < SWTLB_WAYS; w++) {
		uint64_t old = atomic_load_explicit(&tlb->entry[set][w],
						    memory_order_relaxed);
		if ((old & ~SWTLB_E_WRITE) == (tlb_tag(va) | SWTLB_E_VALID)) {
			atomic_store_explicit(&tlb->entry[set][w], 0,
					      memory_order_relaxed);
			swtlb_count(&tlb->flushes);
		}
	}
}

SIGSAFE void swtlb_flush_all(struct swtlb *tlb)
{
	for (unsigned s = 0; s < SWTLB_SETS; s++)
		for (unsigned w = 0; w < SWTLB_WAYS; w++)
			atomic_store_explicit(&tlb->entry[s][w], 0,
					      memory_order_relaxed);
	swtlb_count(&tlb->flushes);
}
