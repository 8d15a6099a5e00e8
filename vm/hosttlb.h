/*
 * vm/hosttlb.h - native mode's emulated hardware TLB: the host mappings of
 * window pages, kept in step with the PTEs (mm.h invariant 4).
 *
 *   hosttlb_fill       a fault resolved va: map it on the host (and the
 *                      neighbours that can share the call);
 *   hosttlb_shootdown  revoke the host mappings of a range (the next touch
 *                      traps: a TLB refill, or a real fault);
 *   hosttlb_wrprotect  downgrade a range to read-only (the next write
 *                      traps);
 *   hosttlb_flush_mm   revoke a whole window in one host call.
 * When the host is short of map slots (mmu/mapslots.h), windows are
 * flushed whole.  In trace mode (no window) every call does nothing.
 *
 * Locking: the machine lock, held by every caller.  Everything is SIGSAFE.
 */
#ifndef VMEMU_HOSTTLB_H
#define VMEMU_HOSTTLB_H

#include "vm/mm.h"

/*
 * Make the host mapping of va agree with its PTE (read-only unless
 * writable and dirty), mapping a run of neighbours with consecutive frames
 * at once.  ptep is va's PTE slot (from the fault that just resolved it).
 * 0 or -errno.
 */
int hosttlb_fill(struct mm *mm, vaddr_t va, pte_t *ptep);
/* Revoke the host mappings in [start, end); true if there were any. */
bool hosttlb_shootdown(struct mm *mm, vaddr_t start, vaddr_t end);
/* Downgrade the host mappings in [start, end) to read-only. */
void hosttlb_wrprotect(struct mm *mm, vaddr_t start, vaddr_t end);
/* Revoke every host mapping of mm's window (one host call). */
void hosttlb_flush_mm(struct mm *mm);

#endif /* VMEMU_HOSTTLB_H */
