/*
 * tests/lib/frame_stack.h - a trivial frame allocator for tests and
 * benchmarks: a stack of free pfns over its own struct phys pool, with
 * failure injection.  Independent of vm/buddy, so page-table tests do not
 * depend on it.
 *
 * It keeps score instead of asserting (its callbacks run inside library
 * code): bad_frees counts frees of a frame not handed out, or still marked
 * marked as a page table.  Not thread-safe; SIGSAFE (no malloc after fstack_init).
 */
#ifndef VMEMU_TESTS_FRAME_STACK_H
#define VMEMU_TESTS_FRAME_STACK_H

#include <stdbool.h>

#include "mmu/pagetable.h"
#include "vm/phys.h"

#define FSTACK_POISON 0xa5 /* fill byte of handed-out frames (if poison) */

struct frame_stack {
	struct phys ph;
	pfn_t *free_pfns; /* stack of free pfns, top at nr_free - 1 */
	uint64_t nr_free;
	bool *in_use;		 /* per pfn: handed out */
	bool poison;		 /* fill handed-out frames with FSTACK_POISON */
	uint64_t fail_countdown; /* > 0: that many allocs on, one fails */
	uint64_t nr_allocs, nr_failed, nr_frees, bad_frees;
};

/* Pool of nr_pages frames, all free (pfn 0 on top); 0 or negative errno. */
int fstack_init(struct frame_stack *fs, uint64_t nr_pages, bool poison);
void fstack_fini(struct frame_stack *fs);
/* Make the n-th allocation from now fail once with -ENOMEM (0: never). */
void fstack_fail_nth(struct frame_stack *fs, uint64_t n);
/* Frames handed out and not given back. */
uint64_t fstack_in_use(const struct frame_stack *fs);
/* Page-table memory callbacks; ctx is the struct frame_stack. */
int fstack_alloc(void *ctx, pfn_t *pfn);
void fstack_free(void *ctx, pfn_t pfn);
struct pt_mem fstack_pt_mem(struct frame_stack *fs);

#endif /* VMEMU_TESTS_FRAME_STACK_H */
