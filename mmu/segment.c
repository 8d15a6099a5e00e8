/*
 * mmu/segment.c - the segmentation unit: descriptors and the check of one
 * segmented access (mmu/segment.h has the picture and the invariants).
 *
 * Locking: none of its own (the kernel holds the machine lock).  SIGSAFE.
 */
#include "mmu/segment.h"

#include <errno.h>
#include <string.h>

#include "mmu/pagetable.h"

SIGSAFE void seg_table_init(struct seg_table *st)
{
	memset(st, 0, sizeof(*st));
}

SIGSAFE int seg_set(struct seg_table *st, unsigned seg, uint64_t base,
		    uint64_t limit, unsigned prot)
{
	if (seg >= SEG_MAX || (prot & ~SEG_PROT) || base > PT_VA_LIMIT ||
	    limit > PT_VA_LIMIT - base)
		return -EINVAL;
	st->seg[seg] = (struct seg_desc){ base, limit, prot };
	return 0;
}

SIGSAFE enum seg_result seg_translate(const struct seg_table *st, unsigned seg,
				      uint64_t off, bool write,
				      uint64_t *linear)
{
	const struct seg_desc *d;

	if (seg >= SEG_MAX)
		return SEG_FAULT_LIMIT;
	d = &st->seg[seg];
	if (off >= d->limit)
		return SEG_FAULT_LIMIT;
	if (!(d->prot & (write ? SEG_WRITE : SEG_READ)))
		return SEG_FAULT_PERM;
	*linear = d->base + off;
	return 0;
}
