/*
 * mmu/swtlb.c - set-up and full flush of the software TLB (see swtlb.h
 * for the entry format and the invariant).  Fills and flushes run under
 * the machine lock, lookups are lock-free; all three are inline in
 * swtlb.h (the fault path runs them).  SIGSAFE but init and destroy.
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

SIGSAFE void swtlb_flush_all(struct swtlb *tlb)
{
	for (unsigned s = 0; s <= tlb->set_mask; s++)
		for (unsigned w = 0; w < SWTLB_WAYS; w++)
			atomic_store_explicit(&tlb->entry[s][w], 0,
					      memory_order_relaxed);
	swtlb_count(&tlb->flushes);
}
