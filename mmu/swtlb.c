/*
 * mmu/tlb.c - fill and shootdown of the software TLB (see tlb.h for the
 * entry format and the invariant).  Fills and flushes run under the
 * machine lock; lookups (inline in tlb.h) are lock-free.  SIGSAFE.
 */
#include "mmu/swtlb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int swtlb_init(struct swtlb *tlb, unsigned entries)
{
	unsigned sets = entries / SWTLB_WAYS;
	char *mem;

	memset(tlb, 0, sizeof(*tlb));
	if (entries < SWTLB_MIN_ENTRIES || entries > SWTLB_MAX_ENTRIES ||
	    (entries & (entries - 1)))
		return -EINVAL;
	/* One block: entries, frames, then the round-robin pointers. */
	mem = calloc(1, sets * (sizeof(*tlb->entry) + sizeof(*tlb->pfn) + 1));
	if (!mem)
		return -ENOMEM;
	tlb->entry = (void *)mem;
	tlb->pfn = (void *)(mem + sets * sizeof(*tlb->entry));
	tlb->next_way = (uint8_t *)(mem + sets * (sizeof(*tlb->entry) +
						  sizeof(*tlb->pfn)));
	tlb->set_mask = sets - 1;
	return 0;
}

void swtlb_destroy(struct swtlb *tlb)
{
	free((void *)tlb->entry);
	tlb->entry = NULL;
	tlb->pfn = NULL;
	tlb->next_way = NULL;
}

static uint64_t tlb_tag(vaddr_t va)
{
	return (va >> PAGE_SHIFT) << SWTLB_E_TAG_SHIFT;
}

SIGSAFE void swtlb_fill(struct swtlb *tlb, vaddr_t va, bool writable, pfn_t pfn)
{
	uint64_t tag = tlb_tag(va) | SWTLB_E_VALID;
	unsigned set = swtlb_set(tlb, va);
	_Atomic uint64_t *e = tlb->entry[set];
	unsigned w;

	/* The way that holds va already (rights change), else round robin. */
	for (w = 0; w < SWTLB_WAYS; w++)
		if ((atomic_load_explicit(&e[w], memory_order_relaxed) &
		     ~SWTLB_E_WRITE) == tag)
			break;
	if (w == SWTLB_WAYS) {
		w = tlb->next_way[set];
		tlb->next_way[set] = (uint8_t)((w + 1) & (SWTLB_WAYS - 1));
	}
	tlb->pfn[set][w] = pfn;
	atomic_store_explicit(&e[w], tag | (writable ? SWTLB_E_WRITE : 0),
			      memory_order_relaxed);
}

SIGSAFE void swtlb_flush_page(struct swtlb *tlb, vaddr_t va)
{
	unsigned set = swtlb_set(tlb, va);

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
	for (unsigned s = 0; s <= tlb->set_mask; s++)
		for (unsigned w = 0; w < SWTLB_WAYS; w++)
			atomic_store_explicit(&tlb->entry[s][w], 0,
					      memory_order_relaxed);
	swtlb_count(&tlb->flushes);
}
