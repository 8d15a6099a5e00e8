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
	size_t lines = sets * sizeof(*tlb->line);
	char *mem;

	memset(tlb, 0, sizeof(*tlb));
	if (entries < SWTLB_MIN_ENTRIES || entries > SWTLB_MAX_ENTRIES ||
	    (entries & (entries - 1)))
		return -EINVAL;
	/* One block: the sets' lines, then the round-robin pointers. */
	mem = aligned_alloc(sizeof(*tlb->line),
			    (lines + sets + sizeof(*tlb->line) - 1) /
				    sizeof(*tlb->line) * sizeof(*tlb->line));
	if (!mem)
		return -ENOMEM;
	memset(mem, 0, lines + sets);
	tlb->line = (void *)mem;
	tlb->next_way = (uint8_t *)(mem + lines);
	tlb->set_mask = sets - 1;
	return 0;
}

void swtlb_destroy(struct swtlb *tlb)
{
	free(tlb->line);
	tlb->line = NULL;
	tlb->next_way = NULL;
}

SIGSAFE void swtlb_flush_all(struct swtlb *tlb)
{
	for (unsigned s = 0; s <= tlb->set_mask; s++)
		for (unsigned w = 0; w < SWTLB_WAYS; w++)
			atomic_store_explicit(&tlb->line[s].entry[w], 0,
					      memory_order_relaxed);
	swtlb_count(&tlb->flushes);
}
