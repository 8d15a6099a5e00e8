/*
 * vm/filemap_sys.c - the page cache's system calls (vm/vm.h): mapping a
 * host file (vm_mmap_file), msync (vm_msync), ftruncate (vm_ftruncate),
 * and the write-back that munmap and exit do (filemap_unmap_sync).
 *
 * Each runs on the calling task's thread with the machine lock, like
 * vm.c's calls: a killed task leaves at the end; a mapping that ran short
 * of frames (a VMA from the slab) reclaims and runs again, and fails
 * with -ENOMEM when reclaim cannot help.  Host descriptors are checked
 * and duplicated here (fcntl, fstat): not reachable from the trap.
 *
 * Locking: the machine lock, dropped around host I/O.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reclaim/reclaim.h"
#include "vm/filemap.h"
#include "vm/mm.h"
#include "vm/page_alloc.h"
#include "vm/vma.h"

/* Lock the machine for a call by t; its mm, or NULL (unlocked). */
static struct mm *call_enter(struct vm_task *t)
{
	if (!task_valid(t))
		return NULL;
	vm_lock(t->vm);
	if (!t->mm || atomic_load(&t->kill_reason)) {
		vm_unlock(t->vm);
		task_exit_if_killed(t);
		return NULL;
	}
	return t->mm;
}

static void call_leave(struct vm_task *t)
{
	vm_unlock(t->vm);
	task_exit_if_killed(t);
}

/* The mapping itself, retried after reclaim when frames ran short. */
static uint64_t map_file(struct vm_task *t, struct mm *mm, uint64_t hint,
			 size_t len, int prot, int flags, struct filemap *fm,
			 uint64_t offset)
{
	struct reclaim_retry rr;
	uint64_t shortages, va;

	reclaim_retry_init(&rr, 0, GFP_KERNEL);
	do {
		shortages = t->vm->nr_alloc_short;
		va = mm_mmap_file(mm, hint, len, prot, flags, fm,
				  offset >> PAGE_SHIFT, fm->fd_rw >= 0);
	} while (vm_mmap_failed(va) &&
		 vm_nomem_retry(t->vm, vm_mmap_error(va), shortages, &rr) &&
		 !atomic_load(&t->kill_reason));
	return va;
}

uint64_t vm_mmap_file(struct vm_task *t, uint64_t hint, size_t len, int prot,
		      int flags, int fd, uint64_t offset)
{
	struct filemap *fm;
	struct mm *mm;
	uint64_t va;
	int err;

	if (!task_valid(t) || t->vm->cfg.exact_frames || len == 0 ||
	    !PAGE_ALIGNED(offset) || (flags & VM_MAP_ANON))
		return (uint64_t)-EINVAL;
	if (offset + PAGE_ROUND_UP(len) < offset)
		return (uint64_t)-EOVERFLOW;
	mm = call_enter(t);
	if (!mm)
		return (uint64_t)-EINVAL;
	err = filemap_get_file(t->vm, fd, prot, flags, &fm);
	va = err ? (uint64_t)(int64_t)err :
		   map_file(t, mm, hint, len, prot, flags, fm, offset);
	call_leave(t);
	return va;
}

int vm_msync(struct vm_task *t, uint64_t va, size_t len, int flags)
{
	struct mm *mm;
	uint64_t end;
	int err;

	if (!task_valid(t) || !PAGE_ALIGNED(va) ||
	    (flags & ~(VM_MS_ASYNC | VM_MS_INVALIDATE | VM_MS_SYNC)) ||
	    ((flags & VM_MS_ASYNC) && (flags & VM_MS_SYNC)))
		return -EINVAL;
	end = va + PAGE_ROUND_UP(len);
	if (end < va)
		return -ENOMEM;
	if (end == va)
		return 0;
	mm = call_enter(t);
	if (!mm)
		return -EINVAL;
	if (flags & VM_MS_SYNC)
		err = filemap_sync_range(mm, va, end, true);
	else
		err = vma_range_mapped(mm, va, end) ? 0 : -ENOMEM;
	call_leave(t);
	return err;
}

void filemap_unmap_sync(struct mm *mm, uint64_t va, uint64_t len)
{
	if (!PAGE_ALIGNED(va) || !len || va >= mm->task_size ||
	    len > mm->task_size - va)
		return; /* munmap refuses it */
	filemap_sync_range(mm, va, va + PAGE_ROUND_UP(len), false);
}

/* Lock held.  The object of fd's file, if the machine caches it. */
static struct filemap *object_of_fd(struct vm *vm, int fd)
{
	struct pagecache *p = vm->pcache;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return NULL;
	for (uint32_t id = 1; id < p->nr_maps; id++) {
		struct filemap *fm = p->maps[id];

		if (fm && fm->kind == FILEMAP_FILE &&
		    fm->dev == (uint64_t)st.st_dev &&
		    fm->ino == (uint64_t)st.st_ino)
			return fm;
	}
	return NULL;
}

int vm_ftruncate(struct vm_task *t, int fd, uint64_t len)
{
	struct filemap *fm;
	int err = 0;

	if ((int64_t)len < 0)
		return -EINVAL;
	if (!call_enter(t))
		return -EINVAL;
	fm = object_of_fd(t->vm, fd);
	if (fm) { /* no write-back past len from now on */
		fm->nr_busy++;
		if (len < fm->size)
			filemap_truncate(t->vm, fm, len);
	}
	vm_unlock(t->vm);
	if (ftruncate(fd, (off_t)len) < 0)
		err = -errno;
	vm_lock(t->vm);
	if (fm) { /* again: what faults read meanwhile; the new size */
		if (!err)
			filemap_truncate(t->vm, fm, len);
		fm->nr_busy--;
	}
	call_leave(t);
	return err;
}
