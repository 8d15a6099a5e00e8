/*
 * tests/lib/frame_stack.c - see frame_stack.h.
 *
 * Invariant: free_pfns[0 .. nr_free) holds exactly the pfns with
 * in_use[pfn] == false, each once.
 */
#include "tests/lib/frame_stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fstack_init(struct frame_stack *fs, uint64_t nr_pages, bool poison)
{
	int err;

	memset(fs, 0, sizeof(*fs));
	err = phys_init(&fs->ph, nr_pages, NULL);
	if (err)
		return err;
	fs->free_pfns = malloc(nr_pages * sizeof(*fs->free_pfns));
	fs->in_use = calloc(nr_pages, sizeof(*fs->in_use));
	if (!fs->free_pfns || !fs->in_use) {
		fstack_fini(fs);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < nr_pages; i++)
		fs->free_pfns[i] = nr_pages - 1 - i;
	fs->nr_free = nr_pages;
	fs->poison = poison;
	return 0;
}

void fstack_fini(struct frame_stack *fs)
{
	free(fs->free_pfns);
	free(fs->in_use);
	fs->free_pfns = NULL;
	fs->in_use = NULL;
	phys_fini(&fs->ph);
}

void fstack_fail_nth(struct frame_stack *fs, uint64_t n)
{
	fs->fail_countdown = n;
}

uint64_t fstack_in_use(const struct frame_stack *fs)
{
	return fs->ph.nr_pages - fs->nr_free;
}

int fstack_alloc(void *ctx, pfn_t *pfn)
{
	struct frame_stack *fs = ctx;

	if (fs->fail_countdown && --fs->fail_countdown == 0) {
		fs->nr_failed++;
		return -ENOMEM;
	}
	if (fs->nr_free == 0)
		return -ENOMEM;
	*pfn = fs->free_pfns[--fs->nr_free];
	fs->in_use[*pfn] = true;
	fs->nr_allocs++;
	if (fs->poison)
		memset(phys_addr(&fs->ph, *pfn), FSTACK_POISON, PAGE_SIZE);
	return 0;
}

void fstack_free(void *ctx, pfn_t pfn)
{
	struct frame_stack *fs = ctx;

	if (!phys_valid(&fs->ph, pfn) || !fs->in_use[pfn] ||
	    phys_page(&fs->ph, pfn)->pt.magic == PT_META_MAGIC) {
		fs->bad_frees++;
		return;
	}
	fs->in_use[pfn] = false;
	fs->free_pfns[fs->nr_free++] = pfn;
	fs->nr_frees++;
}

struct pt_mem fstack_pt_mem(struct frame_stack *fs)
{
	return phys_pt_mem(&fs->ph, fstack_alloc, fstack_free, fs);
}
