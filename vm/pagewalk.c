/*
 * vm/pagewalk.c - read-only introspection for people and tools (vmemu
 * explain): the page walk of one address as the MMU does it (vm_walk),
 * and a task's VMAs (vm_vmas), named after Linux's mm/pagewalk.c.
 *
 *   va --> PGD[i3] --> PUD[i2] --> PMD[i1] --> PTE[i0] --> pfn | offset
 *          table pfn, index, entry at each level; the leaf decoded:
 *          none / mapped (frame counts) / swap entry / file entry
 *
 * Nothing here changes state: no accessed bit, no software-TLB fill, no
 * fault, no counter.  So a walk between two accesses does not change
 * what the second one costs.
 *
 * Invariant: the public VM_PTE_* bits equal the hardware model's
 * (static assertions below).
 *
 * Locking: the machine lock, taken here.  Not SIGSAFE.
 */
#include <errno.h>
#include <string.h>

#include "mmu/pagetable.h"
#include "vm/filemap.h"
#include "vm/machine.h"
#include "vm/mm.h"

_Static_assert(VM_PTE_PRESENT == PTE_PRESENT && VM_PTE_WRITE == PTE_WRITE &&
		       VM_PTE_USER == PTE_USER &&
		       VM_PTE_ACCESSED == PTE_ACCESSED &&
		       VM_PTE_DIRTY == PTE_DIRTY && VM_PTE_COW == PTE_COW &&
		       VM_PTE_SOFTDIRTY == PTE_SOFTDIRTY &&
		       VM_PTE_SPECIAL == PTE_SPECIAL,
	       "public PTE bits are the hardware model's");
_Static_assert(VM_PT_LEVELS == PT_LEVELS, "four levels");

/* The 512 entries of table frame pfn (through the direct map). */
static const pte_t *walk_table(const struct mm *mm, pfn_t pfn)
{
	return (const pte_t *)(mm->pt.mem.frames + (pfn << PAGE_SHIFT));
}

/* Lock held.  The leaf's frame, as Linux's page flags name it. */
static void walk_page(struct vm *vm, struct vm_walk *w)
{
	const struct page *pg = phys_page(&vm->phys, w->pfn);

	w->refcount = pg->_refcount;
	w->mapcount = pg->_mapcount;
	w->anon = pg->flags & PG_anon;
	w->zero_page = w->pfn == vm->zero_pfn;
	w->swapcache = pg->flags & PG_swapcache;
	w->lru = pg->flags & PG_lru;
	w->active = pg->flags & PG_active;
}

/* Lock held.  Decode the leaf entry w->pte. */
static void walk_leaf(struct vm *vm, struct vm_walk *w)
{
	pte_t p = w->pte;

	if (pte_none(p)) {
		w->state = VM_PTE_NONE;
	} else if (pte_present(p)) {
		w->state = VM_PTE_MAPPED;
		w->pfn = pte_pfn(p);
		w->phys = (w->pfn << PAGE_SHIFT) | w->offset;
		if (phys_valid(&vm->phys, w->pfn))
			walk_page(vm, w);
	} else if (pte_is_swap(p)) {
		w->state = VM_PTE_SWAP;
		w->swap_type = swp_type(pte_to_swp_entry(p));
		w->swap_slot = swp_offset(pte_to_swp_entry(p));
	} else {
		w->state = VM_PTE_FILE;
		w->file_pgoff = pte_to_pgoff(p);
	}
}

/* Lock held.  The walk through mm's tables, top level first. */
static void walk_tables(struct mm *mm, struct vm_walk *w)
{
	pfn_t table = mm->pt.pgd_pfn;

	for (int level = PT_LEVELS - 1; level >= 0; level--) {
		unsigned i = PT_LEVELS - 1 - (unsigned)level;
		pte_t e = walk_table(mm, table)[w->index[i]];

		w->level[i] = (struct vm_walk_level){ table, w->index[i], e };
		w->nlevels = i + 1;
		if (level == 0) {
			w->pte = e;
			walk_leaf(mm->vm, w);
			return;
		}
		if (!pte_present(e)) {
			w->state = VM_PTE_NO_TABLE;
			return;
		}
		table = pte_pfn(e);
	}
}

/* Lock held.  The VMA holding va, if any. */
static void walk_vma(struct mm *mm, struct vm_walk *w)
{
	struct vma *v = mm_find_vma(mm, PAGE_ROUND_DOWN(w->va));

	if (!v)
		return;
	w->in_vma = true;
	w->vma_start = v->start;
	w->vma_end = v->end;
	w->vma_prot = (int)v->prot;
}

int vm_walk(struct vm *vm, int pid, uint64_t va, struct vm_walk *out)
{
	struct vm_task *t;
	int err = -ESRCH;

	if (!vm_valid(vm) || !out || va >= PT_VA_LIMIT)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->va = va;
	out->offset = (unsigned)(va & (PAGE_SIZE - 1));
	for (unsigned i = 0; i < PT_LEVELS; i++)
		out->index[i] = PT_INDEX(PT_LEVELS - 1 - i, va);
	vm_lock(vm);
	t = task_find(vm, pid);
	if (t && t->mm && !t->mm->reaped) {
		walk_tables(t->mm, out);
		walk_vma(t->mm, out);
		err = 0;
	}
	vm_unlock(vm);
	return err;
}

int vm_vmas(struct vm *vm, int pid, struct vm_vma *out, unsigned max)
{
	struct list_head *n;
	struct vm_task *t;
	int count = 0;

	if (!vm_valid(vm) || (!out && max))
		return -EINVAL;
	vm_lock(vm);
	t = task_find(vm, pid);
	if (!t || !t->mm) {
		vm_unlock(vm);
		return -ESRCH;
	}
	list_for_each(n, &t->mm->vmas) {
		const struct vma *v = list_entry(n, struct vma, node);

		if ((unsigned)count < max)
			out[count] = (struct vm_vma){
				v->start, v->end, (int)v->prot,
				((v->flags & VMA_HEAP) ? VM_VMA_HEAP : 0u) |
					((v->flags & VMA_STACK) ? VM_VMA_STACK :
								  0u) |
					((v->flags & VMA_SHARED) ?
						 VM_VMA_SHARED :
						 0u) |
					((v->file &&
					  v->file->kind == FILEMAP_FILE) ?
						 VM_VMA_FILE :
						 0u)
			};
		count++;
	}
	vm_unlock(vm);
	return count;
}
