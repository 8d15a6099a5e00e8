/*
 * user/umalloc_leaks.c - the leak report a task's C library makes at
 * exit, as LeakSanitizer does: every block of the brk heap and every
 * mmapped chunk still in use is a leak (nothing in vmemu scans for
 * pointers, so "still reachable" memory counts too, as with LSan's
 * report_objects=1 and no root scan).
 *
 *   brk heap:  first .. epilogue, in-use blocks: va = b + 8,
 *              requested = size - 16 - slack, granted = size
 *   chunks:    the arena's mmap list: va = c + 32, requested = c[0],
 *              granted = the mapping's length
 *
 * Invariant: blocks/nbytes/granted equal umalloc_stats' live_blocks,
 * live_requested and live_granted (the same memory, walked).
 *
 * Locking: none (the heap's task thread).  Reads emulated memory.
 */
#include <errno.h>

#include "user/umalloc_internal.h"

/* Keep top[] the largest by nbytes, largest first, ties: lower va. */
static void leak_note(struct vm_leaks *lk, uint64_t va, uint64_t nbytes,
		      uint64_t granted, bool mmapped)
{
	struct vm_leak l = { va, nbytes, granted, mmapped };
	unsigned i;

	lk->blocks++;
	lk->nbytes += nbytes;
	lk->granted += granted;
	for (i = lk->ntop; i > 0; i--) {
		const struct vm_leak *p = &lk->top[i - 1];

		if (p->nbytes > nbytes || (p->nbytes == nbytes && p->va < va))
			break;
	}
	if (i >= VM_LEAKS_TOP)
		return;
	for (unsigned j = lk->ntop < VM_LEAKS_TOP ? lk->ntop : VM_LEAKS_TOP - 1;
	     j > i; j--)
		lk->top[j] = lk->top[j - 1];
	lk->top[i] = l;
	if (lk->ntop < VM_LEAKS_TOP)
		lk->ntop++;
}

static void leak_blocks(struct umalloc_heap *h, struct vm_leaks *lk)
{
	for (uint64_t b = h->first; b < um_epilogue(h);) {
		uint64_t tag = um_load(h, b), size = um_size(tag);

		if (um_inuse(tag))
			leak_note(lk, b + UMALLOC_WORD,
				  size - UMALLOC_OVERHEAD - um_slack(tag), size,
				  false);
		b += size;
	}
}

static void leak_chunks(struct umalloc_heap *h, struct vm_leaks *lk)
{
	uint64_t s = h->arena + UMALLOC_A_MMAP_LIST;

	for (uint64_t c = um_load(h, s + UM_NEXT); c != s;
	     c = um_load(h, c + UM_NEXT))
		leak_note(lk, c + UMALLOC_MMAP_HDR, um_load(h, c),
			  um_size(um_load(h, c + 3 * UMALLOC_WORD)), true);
}

int umalloc_leaks(struct umalloc_heap *h, struct vm_leaks *out)
{
	int err;

	if (!h || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	err = umalloc_check(h); /* so the walks below can trust the heap */
	if (err)
		return err;
	leak_blocks(h, out);
	leak_chunks(h, out);
	return 0;
}

int umalloc_report_leaks(struct umalloc_heap *h, struct vm_leaks *out)
{
	struct vm_leaks lk;
	int err = umalloc_leaks(h, &lk);

	if (out)
		*out = lk;
	return err ? err : vm_log_leaks(h->t, &lk);
}
