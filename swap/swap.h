/*
 * swap/swap.h - what the rest of the kernel asks of swap, by swap entry.
 *
 * A swap entry in a PTE is one reference to its slot.  Copying the PTE
 * (fork) takes another reference, dropping it (munmap, exit, a COW break,
 * a reap) gives one back; the page-table paths call these hooks for every
 * swap entry they copy or drop, never skip one.
 *
 * This build has no swap area: no swap entry can exist, so the hooks
 * BUG_ON (a swap entry here would be corruption).  The swap issue fills
 * them in.
 *
 * Locking: the machine lock, held by every caller.  SIGSAFE.
 */
#ifndef VMEMU_SWAP_H
#define VMEMU_SWAP_H

#include "base/types.h"

struct vm;

/* One more PTE refers to e (fork).  0, or -ENOMEM. */
int swap_entry_dup(struct vm *vm, swp_entry_t e);
/* One PTE referring to e is gone. */
void swap_entry_free(struct vm *vm, swp_entry_t e);

#endif /* VMEMU_SWAP_H */
