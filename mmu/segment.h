/*
 * mmu/segment.h - segmentation: a segment table in front of paging, as
 * x86 has it (and as textbooks teach it before paging).
 *
 *   (segment, offset) --segment table--> linear address --page walk--> pfn
 *
 *        seg  +------------------------------+
 *   ------->  | base | limit | prot          |  descriptor
 *             +------------------------------+
 *   offset < limit ?  -- no -->  limit fault (x86: #GP)
 *   prot allows it ?  -- no -->  permission fault (x86: #GP)
 *   linear = base + offset  -->  the page walk (mmu/pagetable.h)
 *
 * The hardware model only: a table of SEG_MAX descriptors and the check
 * an x86 CPU makes on every segmented access.  Who owns a table and what
 * its defaults are is the kernel's business (vm/ldt.c: one table per task,
 * as Linux keeps a task's LDT).
 *
 * Deviations from x86, on purpose (docs/segmentation.md):
 *  - limit is the segment's length in bytes (offset < limit is valid), as
 *    textbooks draw it; x86's limit field is the last valid offset and is
 *    counted in bytes or 4 KiB units (the G bit).
 *  - no expand-down segments, no privilege levels, no selectors: a
 *    segment is named by its index.
 *  - prot uses the VM_PROT_* bits (read 1, write 2); reading code is
 *    allowed, as for x86's readable code segments.
 *
 * Invariants (seg_set refuses what breaks them):
 *  1. base + limit <= PT_VA_LIMIT: every valid offset has a linear
 *     address the page tables can hold; so base + offset never wraps.
 *  2. An unused descriptor has limit 0: every access to it is a limit
 *     fault.
 *
 * Locking: the caller's (the kernel holds the machine lock).  SIGSAFE.
 */
#ifndef VMEMU_SEGMENT_H
#define VMEMU_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/types.h"

#define SEG_MAX	  8   /* descriptors in one table */
#define SEG_READ  0x1 /* = VM_PROT_READ */
#define SEG_WRITE 0x2 /* = VM_PROT_WRITE */
#define SEG_PROT  (SEG_READ | SEG_WRITE)

struct seg_desc {
	uint64_t base;	/* linear address of offset 0 */
	uint64_t limit; /* length: valid offsets are [0, limit) */
	unsigned prot;	/* SEG_READ | SEG_WRITE */
};

struct seg_table {
	struct seg_desc seg[SEG_MAX];
};

/* What the segmentation unit decided. */
enum seg_result {
	SEG_OK = 0,
	SEG_FAULT_LIMIT = 1, /* offset >= limit (or no such segment) */
	SEG_FAULT_PERM = 2,  /* the segment forbids this access */
};

/* SIGSAFE.  Every descriptor unused (limit 0, no access). */
void seg_table_init(struct seg_table *st);
/*
 * SIGSAFE.  Set descriptor seg: 0, or -EINVAL (seg >= SEG_MAX, prot has
 * other bits, base + limit beyond the 48-bit linear space).
 */
int seg_set(struct seg_table *st, unsigned seg, uint64_t base, uint64_t limit,
	    unsigned prot);
/*
 * SIGSAFE.  The check of one access: SEG_OK and *linear = base + off, or
 * the fault (limit first, then permission, as the textbook order has it;
 * *linear is then left alone).  A segment number >= SEG_MAX is a limit
 * fault, as a selector beyond the descriptor table's limit is on x86.
 */
enum seg_result seg_translate(const struct seg_table *st, unsigned seg,
			      uint64_t off, bool write, uint64_t *linear);

#endif /* VMEMU_SEGMENT_H */
