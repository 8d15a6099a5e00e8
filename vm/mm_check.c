/*
 * vm/mm_check.c - mm_check(), the invariant walker of an address space
 * (mm.h invariants 1-4, the frames' counts and rmap chains, swap entries,
 * file pages' objects and offsets, and pt_check).  Reads only; the machine
 * lock is held by the caller.
 */
#include <stdbool.h>

#include "vm/filemap.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/vma.h"

struct check_ctx {
	struct mm *mm;
	uint64_t rss_anon, rss_file, rss_shmem, swapents;
	int err;
};

/*
 * A page cache page mapped at va of v: v maps its object at its offset -
 * or v is a private mapping of its file (its pages, not yet copied).
 */
static int check_file_page(struct mm *mm, const struct vma *v, vaddr_t va,
			   pte_t pte, const struct page *pg)
{
	const struct pagecache *pc = mm->vm->pcache;

	if (!v->file || pg->private >= pc->nr_maps ||
	    pc->maps[pg->private] != v->file ||
	    pg->index != filemap_pgoff(v, va))
		return MM_CHECK_FILE;
	if ((pte & PTE_WRITE) && !(v->flags & VMA_SHARED))
		return MM_CHECK_SHARED_W;
	if ((pte & PTE_DIRTY) && !(pg->flags & PG_swapbacked) &&
	    !(pg->flags & (PG_dirty | PG_writeback)))
		return MM_CHECK_FILE_DIRTY;
	return 0;
}

static int check_pte(struct mm *mm, vaddr_t va, pte_t pte)
{
	struct vma *v = vma_find(mm, va);
	struct page *pg;

	if (!pte_present(pte))
		return (pte & PTE_HMAP) ? MM_CHECK_HMAP_ABSENT : 0;
	if (!v)
		return MM_CHECK_NO_VMA;
	if ((pte & PTE_WRITE) && !(v->prot & VM_PROT_WRITE))
		return MM_CHECK_WRITE_PROT;
	if ((pte & PTE_HMAP_W) && !((pte & PTE_WRITE) && (pte & PTE_DIRTY)))
		return MM_CHECK_HMAP_W;
	if ((pte & PTE_HMAP) && !mm->win)
		return MM_CHECK_HMAP_NOWIN;
	if ((pte & PTE_HMAP) && !(pte & PTE_ACCESSED))
		return MM_CHECK_HMAP_OLD;
	if ((pte & PTE_AGED) && !(pte & PTE_ACCESSED))
		return MM_CHECK_AGED_OLD;
	if (pte & PTE_SPECIAL)
		return pte_pfn(pte) == mm->vm->zero_pfn ? 0 : MM_CHECK_ZERO;
	pg = phys_page(&mm->vm->phys, pte_pfn(pte));
	if (!(pg->flags & (PG_anon | PG_file)) || pg->_mapcount < 1 ||
	    pg->_refcount < pg->_mapcount)
		return MM_CHECK_PAGE;
	if (rmap_walk(pg, NULL, NULL) != (unsigned)pg->_mapcount)
		return MM_CHECK_RMAP;
	if (pg->flags & PG_file)
		return check_file_page(mm, v, va, pte, pg);
	if ((pte & PTE_WRITE) && pg->_refcount != 1)
		return MM_CHECK_SHARED_W;
	return 0;
}

static void check_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct check_ctx *c = arg;
	int err = check_pte(c->mm, va, *ptep);

	if (err && !c->err)
		c->err = err;
	if (pte_present(*ptep) && !(*ptep & PTE_SPECIAL)) {
		const struct page *pg =
			phys_page(&c->mm->vm->phys, pte_pfn(*ptep));

		if (!(pg->flags & PG_file))
			c->rss_anon++;
		else if (pg->flags & PG_swapbacked)
			c->rss_shmem++;
		else
			c->rss_file++;
	}
	if (pte_is_swap(*ptep))
		c->swapents++;
}

static int check_vmas(struct mm *mm)
{
	struct list_head *n;
	struct vma *prev = NULL;
	uint64_t count = 0;

	list_for_each(n, &mm->vmas) {
		struct vma *v = list_entry(n, struct vma, node);

		if (!PAGE_ALIGNED(v->start) || !PAGE_ALIGNED(v->end) ||
		    v->start >= v->end || v->end > mm->task_size)
			return MM_CHECK_VMA_RANGE;
		if (prev && prev->end > v->start)
			return MM_CHECK_VMA_ORDER;
		if (prev && prev->end == v->start && prev->prot == v->prot &&
		    prev->flags == v->flags && prev->file == v->file &&
		    (!v->file ||
		     prev->pgoff + ((prev->end - prev->start) >> PAGE_SHIFT) ==
			     v->pgoff))
			return MM_CHECK_VMA_MERGE;
		prev = v;
		count++;
	}
	return count == mm->map_count ? 0 : MM_CHECK_MAP_COUNT;
}

int mm_check(struct mm *mm)
{
	struct check_ctx c = { .mm = mm };
	int err = check_vmas(mm);

	if (err)
		return err;
	pt_for_each(&mm->pt, 0, mm->task_size, check_visit, &c);
	if (c.err)
		return c.err;
	if (c.rss_anon != mm->rss_anon || c.rss_file != mm->rss_file ||
	    c.rss_shmem != mm->rss_shmem)
		return MM_CHECK_RSS;
	if (c.swapents != mm->swapents)
		return MM_CHECK_SWAPENTS;
	return pt_check(&mm->pt) ? MM_CHECK_PT : 0;
}
