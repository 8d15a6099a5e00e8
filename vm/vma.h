/*
 * vm/vma.h - the sorted VMA list of an address space (mm->vmas).
 *
 * Invariants (mm.h invariant 3): sorted by start, disjoint, page aligned,
 * no two adjacent VMAs with equal prot and flags (vma_insert and
 * vma_set_prot merge them), map_count == list length.
 * Locking: the machine lock.  vma_find is SIGSAFE.
 */
#ifndef VMEMU_VMA_H
#define VMEMU_VMA_H

#include "vm/mm.h"

/* SIGSAFE.  The VMA containing va, or NULL. */
struct vma *vma_find(struct mm *mm, vaddr_t va);
/* Whether v's protection grants a read (write false) or a write. */
static inline bool vma_allows(const struct vma *v, bool write)
{
	if (write)
		return v->prot & VM_PROT_WRITE;
	return v->prot & (VM_PROT_READ | VM_PROT_WRITE);
}
/* SIGSAFE.  The first VMA ending above va, or NULL. */
struct vma *vma_next_above(struct mm *mm, vaddr_t va);
/* True when no VMA intersects [start, end). */
bool vma_range_free(struct mm *mm, vaddr_t start, vaddr_t end);
/* True when VMAs cover every page of [start, end) without a hole. */
bool vma_range_mapped(struct mm *mm, vaddr_t start, vaddr_t end);
/* True when a VMA intersecting [start, end) has flag (VMA_*). */
bool vma_range_has(struct mm *mm, vaddr_t start, vaddr_t end, unsigned flag);

/*
 * Map [start, end) (which must be free) with prot/flags, merging with
 * equal neighbours.  0 or -ENOMEM (no VMA object, or MM_MAX_MAP_COUNT).
 */
int vma_insert(struct mm *mm, vaddr_t start, vaddr_t end, unsigned prot,
	       unsigned flags);
/* vma_insert of a mapping of file from page offset pgoff (a reference). */
int vma_insert_file(struct mm *mm, vaddr_t start, vaddr_t end, unsigned prot,
		    unsigned flags, struct filemap *file, uint64_t pgoff);
/* Remove [start, end) from the VMA list, splitting at the ends. */
int vma_remove_range(struct mm *mm, vaddr_t start, vaddr_t end);
/* Set prot on [start, end) (must be mapped), splitting and merging. */
int vma_set_prot(struct mm *mm, vaddr_t start, vaddr_t end, unsigned prot);
/* Top-down search for a free gap of len bytes below mmap_base; 0: none. */
vaddr_t vma_unmapped_area(struct mm *mm, uint64_t len);
/* Free every VMA of mm. */
void vma_free_all(struct mm *mm);
/* Copy every VMA of src into dst (empty); 0 or -ENOMEM (dst emptied). */
int vma_dup_all(struct mm *dst, struct mm *src);

#endif /* VMEMU_VMA_H */
