/*
 * swap/swap.c - the swap-entry hooks (see swap.h).  No swap area exists in
 * this build, so a swap entry reaching them is corruption.  SIGSAFE.
 */
#include "swap/swap.h"

SIGSAFE int swap_entry_dup(struct vm *vm, swp_entry_t e)
{
	(void)vm, (void)e;
	vm_bug(__FILE__, __LINE__, "swap entry without a swap area (fork)");
}

SIGSAFE void swap_entry_free(struct vm *vm, swp_entry_t e)
{
	(void)vm, (void)e;
	vm_bug(__FILE__, __LINE__, "swap entry without a swap area (free)");
}
