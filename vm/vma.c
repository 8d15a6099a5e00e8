/*
 * vm/vma.c - the VMA list: a sorted doubly linked list with a one-entry
 * lookup cache.  Address spaces here have tens of VMAs, not thousands, so
 * a list beats a tree on simplicity; mm->vma_cache makes the common
 * repeated lookup O(1).
 *
 * Splitting needs a new VMA from the slab and can fail: every operation
 * first does the splits it needs (which leave an equivalent list), and
 * only then changes anything, so a failure leaves the mapping unchanged.
 *
 * File and shmem VMAs hold a reference on their object (filemap_get/put):
 * one per VMA, so splitting takes one and merging or freeing drops one.
 * Two neighbours merge only when they map the same object at contiguous
 * page offsets.
 *
 * Locking: the machine lock.  vma_find and vma_next_above are SIGSAFE.
 */
#include "vm/vma.h"

#include <errno.h>

#include "vm/filemap.h"

static struct vma *vma_of(struct list_head *n)
{
	return list_entry(n, struct vma, node);
}

SIGSAFE struct vma *vma_next_above(struct mm *mm, vaddr_t va)
{
	struct list_head *n;

	list_for_each(n, &mm->vmas) {
		if (vma_of(n)->end > va)
			return vma_of(n);
	}
	return NULL;
}

SIGSAFE struct vma *vma_find(struct mm *mm, vaddr_t va)
{
	struct vma *v = mm->vma_cache;

	if (v && va >= v->start && va < v->end)
		return v;
	v = vma_next_above(mm, va);
	if (!v || va < v->start)
		return NULL;
	mm->vma_cache = v;
	return v;
}

bool vma_range_free(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct vma *v = vma_next_above(mm, start);

	return !v || v->start >= end;
}

bool vma_range_has(struct mm *mm, vaddr_t start, vaddr_t end, unsigned flag)
{
	for (struct vma *v = vma_next_above(mm, start); v && v->start < end;
	     v = v->node.next == &mm->vmas ? NULL : vma_of(v->node.next))
		if (v->flags & flag)
			return true;
	return false;
}

bool vma_range_mapped(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct vma *v = vma_next_above(mm, start);
	vaddr_t at = start;

	while (v && at < end) {
		if (v->start > at)
			return false;
		at = v->end;
		v = v->node.next == &mm->vmas ? NULL : vma_of(v->node.next);
	}
	return at >= end;
}

static struct vma *vma_alloc(struct mm *mm)
{
	if (mm->map_count >= MM_MAX_MAP_COUNT)
		return NULL;
	struct vma *v = slab_alloc(mm->vm->vma_cache);
	if (v)
		mm->map_count++;
	return v;
}

static void vma_free(struct mm *mm, struct vma *v)
{
	if (mm->vma_cache == v)
		mm->vma_cache = NULL;
	if (v->file)
		filemap_put(mm->vm, v->file);
	list_del_init(&v->node);
	slab_free(mm->vm->vma_cache, v);
	mm->map_count--;
}

static bool vma_mergeable(const struct vma *a, const struct vma *b)
{
	return a->end == b->start && a->prot == b->prot &&
	       a->flags == b->flags && a->file == b->file &&
	       (!a->file ||
		a->pgoff + ((a->end - a->start) >> PAGE_SHIFT) == b->pgoff);
}

/* Merge v with its neighbours where allowed; returns the surviving VMA. */
static struct vma *vma_merge_around(struct mm *mm, struct vma *v)
{
	if (v->node.prev != &mm->vmas) {
		struct vma *prev = vma_of(v->node.prev);

		if (vma_mergeable(prev, v)) {
			prev->end = v->end;
			vma_free(mm, v);
			v = prev;
		}
	}
	if (v->node.next != &mm->vmas) {
		struct vma *next = vma_of(v->node.next);

		if (vma_mergeable(v, next)) {
			v->end = next->end;
			vma_free(mm, next);
		}
	}
	return v;
}

int vma_insert(struct mm *mm, vaddr_t start, vaddr_t end, unsigned prot,
	       unsigned flags)
{
	return vma_insert_file(mm, start, end, prot, flags, NULL, 0);
}

int vma_insert_file(struct mm *mm, vaddr_t start, vaddr_t end, unsigned prot,
		    unsigned flags, struct filemap *file, uint64_t pgoff)
{
	struct vma *v = vma_alloc(mm);
	struct vma *next;

	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = end;
	v->prot = prot;
	v->flags = flags;
	v->file = file;
	v->pgoff = pgoff;
	if (file)
		filemap_get(file);
	next = vma_next_above(mm, start);
	list_add_tail(&v->node, next ? &next->node : &mm->vmas);
	vma_merge_around(mm, v);
	return 0;
}

/* Split v at `at` (strictly inside): v keeps [start, at). */
static int vma_split(struct mm *mm, struct vma *v, vaddr_t at)
{
	struct vma *tail = vma_alloc(mm);

	if (!tail)
		return -ENOMEM;
	*tail = *v;
	tail->start = at;
	if (v->file) {
		tail->pgoff = v->pgoff + ((at - v->start) >> PAGE_SHIFT);
		filemap_get(v->file);
	}
	v->end = at;
	list_add(&tail->node, &v->node);
	return 0;
}

/* Make start and end VMA boundaries (no-op where they already are). */
static int vma_split_ends(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct vma *v = vma_find(mm, start);
	int err;

	if (v && v->start < start) {
		err = vma_split(mm, v, start);
		if (err)
			return err;
	}
	v = vma_find(mm, end - 1);
	if (v && v->end > end) {
		err = vma_split(mm, v, end);
		if (err) {
			vma_merge_around(mm, vma_find(mm, start));
			return err;
		}
	}
	return 0;
}

int vma_remove_range(struct mm *mm, vaddr_t start, vaddr_t end)
{
	struct vma *v;
	int err = vma_split_ends(mm, start, end);

	if (err)
		return err;
	while ((v = vma_next_above(mm, start)) && v->start < end)
		vma_free(mm, v);
	return 0;
}

int vma_set_prot(struct mm *mm, vaddr_t start, vaddr_t end, unsigned prot)
{
	struct vma *v;
	int err = vma_split_ends(mm, start, end);

	if (err)
		return err;
	for (vaddr_t at = start; at < end; at = v->end) {
		v = vma_find(mm, at);
		v->prot = prot;
	}
	/* Merge each piece with its neighbours (both ends included). */
	for (vaddr_t at = start; at < end;) {
		v = vma_merge_around(mm, vma_find(mm, at));
		at = v->end;
	}
	if (end < mm->task_size && vma_find(mm, end))
		vma_merge_around(mm, vma_find(mm, end));
	return 0;
}

vaddr_t vma_unmapped_area(struct mm *mm, uint64_t len)
{
	vaddr_t high = mm->mmap_base;
	struct list_head *n;

	if (len > high - MM_MMAP_MIN_ADDR)
		return 0;
	/* Walk down from the highest VMA below mmap_base. */
	for (n = mm->vmas.prev; n != &mm->vmas; n = n->prev) {
		struct vma *v = vma_of(n);

		if (v->start >= high)
			continue;
		if (v->end <= high - len)
			return high - len;
		high = v->start;
		if (high < MM_MMAP_MIN_ADDR + len)
			return 0;
	}
	return high - len >= MM_MMAP_MIN_ADDR ? high - len : 0;
}

void vma_free_all(struct mm *mm)
{
	while (!list_empty(&mm->vmas))
		vma_free(mm, vma_of(mm->vmas.next));
}

int vma_dup_all(struct mm *dst, struct mm *src)
{
	struct list_head *n;

	list_for_each(n, &src->vmas) {
		struct vma *s = vma_of(n), *d = vma_alloc(dst);

		if (!d) {
			vma_free_all(dst);
			return -ENOMEM;
		}
		*d = *s;
		if (d->file)
			filemap_get(d->file);
		list_add_tail(&d->node, &dst->vmas);
	}
	return 0;
}
