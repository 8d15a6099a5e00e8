/*
 * vm/mm.h - address spaces: VMAs, layout, mmap/munmap/mprotect/brk, fork
 * (copy-on-write), teardown.  The host mappings of native mode (the
 * emulated hardware TLB) are vm/hosttlb.h's.
 *
 * Layout of one address space (task_size = TASK_SIZE of this machine):
 *
 *   task_size  +------------------+
 *              | stack (grows dn) |  VMA_STACK, up to MM_STACK_MAX
 *              +------------------+
 *              | guard gap        |  MM_STACK_GUARD_GAP, never mapped
 *   mmap_base  +------------------+
 *              | mmap area        |  top-down: new areas below old ones
 *              |       ...        |
 *              | heap (brk) ^     |  VMA_HEAP, from start_brk up
 *   start_brk  +------------------+
 *              | (unused)         |
 *   MMAP_MIN   +------------------+
 *              | reserved low     |  never mapped: NULL derefs fault
 *   0          +------------------+
 *
 * PTE invariants kept here (checked by mm_check):
 *  1. A present PTE lies inside a VMA; PTE_WRITE only in a VMA with
 *     VM_PROT_WRITE, and only on a frame with _refcount == 1 (exclusive).
 *  2. rss_anon, rss_file and rss_shmem equal the present PTEs mapping
 *     anonymous, file and shmem frames (the zero frame is not counted);
 *     map_count equals the VMA count.  PTE_WRITE on a frame shared by
 *     several references only in a MAP_SHARED mapping (file or shmem),
 *     where a file page whose PTE has D set is PG_dirty (filemap.h 4).
 *  3. VMAs are sorted, disjoint, page aligned, and never two adjacent
 *     ones with equal prot and flags (they are merged).
 *  4. Native mode: PTE_HMAP_R/PTE_HMAP_W record exactly what the host
 *     mapping of the page grants; they are set only on present, accessed
 *     PTEs, and PTE_HMAP_W only with PTE_WRITE and PTE_DIRTY.  A frame is
 *     freed only after every host mapping of it is revoked.  PTE_AGED
 *     only on an accessed PTE.
 *
 * Locking: every function here runs under the machine lock.  The fault
 * path (mm_find_vma, mm_grow_stack) is SIGSAFE.
 */
#ifndef VMEMU_MM_H
#define VMEMU_MM_H

#include "mmu/pagetable.h"
#include "mmu/hostmap.h"
#include "mmu/swtlb.h"
#include "mmu/trap.h"
#include "vm/machine.h"

#define MM_MMAP_MIN_ADDR    (64ULL << 10) /* vm.mmap_min_addr */
#define MM_START_BRK	    (16ULL << 20)
#define MM_STACK_MAX	    (8ULL << 20) /* RLIMIT_STACK */
#define MM_STACK_INIT	    (128ULL << 10)
#define MM_STACK_GUARD_GAP  (256 * PAGE_SIZE) /* stack_guard_gap */
#define MM_MMAP_GAP	    (128ULL << 20)    /* Linux's minimum gap */
#define MM_MAX_MAP_COUNT    65530	      /* emulated vm.max_map_count */
#define MM_TASK_SIZE_NATIVE (64ULL << 30)
#define MM_TASK_SIZE_TRACE  (1ULL << 47)
#define MM_TASK_SIZE_MIN    (1ULL << 30)

/* Software PTE bits: what the host mapping of the page grants (native). */
#define PTE_HMAP_R (1ULL << 52)
#define PTE_HMAP_W (1ULL << 53)
#define PTE_HMAP   (PTE_HMAP_R | PTE_HMAP_W)
/*
 * Software PTE bit of native aging (reclaim/age.c): reclaim has counted
 * this PTE's accessed bit once already.  Set only with PTE_ACCESSED, and
 * cleared with it.
 */
#define PTE_AGED (1ULL << 54)

enum {
	VMA_ANON = 1u << 0,
	VMA_SHARED = 1u << 1,
	VMA_HEAP = 1u << 2,
	VMA_STACK = 1u << 3,
	VMA_NOWRITE = 1u << 4, /* a shared file mapping whose descriptor was
				  not opened read-write: never writable */
};

struct filemap;

/*
 * A mapping.  File and shmem mappings (vm/filemap.h) have `file` (a
 * reference: filemap_get/put) and the page offset in it of `start`;
 * anonymous ones have file == NULL.
 */
struct vma {
	struct list_head node; /* mm->vmas, sorted by start */
	vaddr_t start, end;    /* [start, end), page aligned */
	unsigned prot;	       /* VM_PROT_* */
	unsigned flags;	       /* VMA_* */
	struct filemap *file;  /* file or shmem object, or NULL */
	uint64_t pgoff;	       /* file: page offset of start */
};

struct mm {
	struct vm *vm;
	struct vm_task *owner;
	struct pt_space pt;
	struct list_head vmas;
	uint64_t map_count;	 /* number of VMAs */
	struct vma *vma_cache;	 /* last VMA found */
	struct trap_window *win; /* native mode; NULL in trace mode */
	struct swtlb swtlb;	 /* software TLB of vm_access */
	uint64_t task_size;
	vaddr_t start_brk, brk, mmap_base;
	bool reaped;	    /* mm_reap ran: no fault maps anything any more */
	uint64_t rss_anon;  /* present PTEs mapping anon frames */
	uint64_t rss_file;  /* ... page cache pages of files */
	uint64_t rss_shmem; /* ... shmem pages */
	uint64_t swapents;  /* swap entries in PTEs */
};

/* Create an empty address space with its stack VMA (and window). */
int mm_create(struct vm *vm, struct vm_task *owner, struct mm **out);
/* Fork: a COW copy of parent for owner.  0, or -ENOMEM with no change. */
int mm_dup(struct mm *parent, struct vm_task *owner, struct mm **out);
/* Release every frame, table, VMA and the window (the owner's exit). */
void mm_destroy(struct mm *mm);
/*
 * SIGSAFE.  The oom_reaper's job, from any thread: revoke the whole window
 * (so the owner's threads can never touch a freed frame again), then drop
 * every PTE - frames, swap slots, page tables.  The struct mm, its VMAs
 * and its window reservation stay until the owner leaves (mm_destroy); a
 * fault on a reaped mm is a SEGV (its owner, killed, leaves first).
 */
void mm_reap(struct mm *mm);
/* SIGSAFE.  Pages of every VMA (Linux's total_vm). */
uint64_t mm_total_vm(struct mm *mm);

/* SIGSAFE.  The VMA containing va, or NULL. */
struct vma *mm_find_vma(struct mm *mm, vaddr_t va);
/* SIGSAFE.  Grow the stack VMA down to cover va if allowed; else NULL. */
struct vma *mm_grow_stack(struct mm *mm, vaddr_t va);

uint64_t mm_mmap(struct mm *mm, vaddr_t hint, uint64_t len, int prot,
		 int flags);
/*
 * A mapping of fm (a reference is taken) from page offset pgoff; flags
 * VM_MAP_SHARED or VM_MAP_PRIVATE (and VM_MAP_FIXED); rw says whether fm
 * has a read-write descriptor (without one a shared mapping can never be
 * made writable: -EACCES from mprotect).
 */
uint64_t mm_mmap_file(struct mm *mm, vaddr_t hint, uint64_t len, int prot,
		      int flags, struct filemap *fm, uint64_t pgoff, bool rw);
int mm_munmap(struct mm *mm, vaddr_t va, uint64_t len);
/* 0 when [va, va+len) is a valid range wholly inside VMAs; -EINVAL/-ENOMEM. */
int mm_check_range_mapped(struct mm *mm, vaddr_t va, uint64_t len);
int mm_mprotect(struct mm *mm, vaddr_t va, uint64_t len, int prot);
uint64_t mm_brk(struct mm *mm, vaddr_t new_end);

/*
 * SIGSAFE.  Drop a reference to a frame in use; the last one frees it
 * (off the LRU first).  It must be unmapped and out of the swap cache by
 * then.
 */
void page_put(struct vm *vm, struct page *pg);
/* SIGSAFE.  One PTE less maps pg (_mapcount; the anon gauge at 0). */
void page_unmapped(struct vm *vm, struct page *pg);
/* SIGSAFE.  Drop one present/swap PTE's references (not the PTE). */
void mm_release_pte(struct mm *mm, vaddr_t va, pte_t old);
/*
 * Exact replacement (vm_config.exact_frames): an evicted page's PTE is a
 * swap entry of a type no swap area has, offset 0 - "evicted, no copy
 * kept" - counted in swapents like a real one, and a fault on it is a
 * major fault that brings a fresh frame in.
 */
#define SWP_TYPE_EXACT SWP_MAX_TYPE
static inline pte_t exact_evicted_pte(void)
{
	return swp_entry_to_pte(swp_entry(SWP_TYPE_EXACT, 0));
}
static inline bool pte_is_exact_evicted(pte_t p)
{
	return pte_is_swap(p) &&
	       swp_type(pte_to_swp_entry(p)) == SWP_TYPE_EXACT;
}
/*
 * The fault path's bookkeeping, inline (every fault runs it; exact
 * replacement, several times per miss: docs/exact.md).
 */

/* A new rss of mm: the owner's peak follows. */
static inline void mm_rss_changed(struct mm *mm)
{
	uint64_t rss = mm->rss_anon + mm->rss_file + mm->rss_shmem;

	if (mm->owner && rss > mm->owner->ru.maxrss)
		mm->owner->ru.maxrss = rss;
}

/* SIGSAFE.  rss_anon moves by n; the owner's peak rss follows. */
static inline void mm_rss_add(struct mm *mm, long n)
{
	mm->rss_anon += (uint64_t)n;
	mm_rss_changed(mm);
}

/* SIGSAFE.  The rss counter of pg's kind (anon, file, shmem) moves by n. */
static inline void mm_rss_add_page(struct mm *mm, const struct page *pg, long n)
{
	if (!(pg->flags & PG_file))
		mm->rss_anon += (uint64_t)n;
	else if (pg->flags & PG_swapbacked)
		mm->rss_shmem += (uint64_t)n;
	else
		mm->rss_file += (uint64_t)n;
	mm_rss_changed(mm);
}

/* SIGSAFE.  Change a PTE, shooting down the software TLB entry. */
static inline void mm_set_pte(struct mm *mm, pte_t *ptep, vaddr_t va, pte_t val)
{
	/* Only a present PTE can have a TLB entry (mmu/swtlb.h). */
	if (pte_present(*ptep))
		swtlb_flush_page(&mm->swtlb, va);
	pt_set(&mm->pt, ptep, val);
}

/*
 * SIGSAFE.  Accessed/dirty emulation for reclaim (DESIGN §3), over
 * [start, end):
 *  mm_clear_young  test-and-clear A (and PTE_AGED with it); the host
 *                  mapping is revoked so the next touch traps (a TLB
 *                  refill) and sets A again;
 *  mm_clean        clear D (the page now equals its backing copy); the
 *                  host mapping drops to read-only so the next write traps
 *                  (dirty_trap) and sets D.
 * Both shoot the pages down from the software TLB and return how many
 * PTEs had the bit set.
 */
uint64_t mm_clear_young(struct mm *mm, vaddr_t start, vaddr_t end);
uint64_t mm_clean(struct mm *mm, vaddr_t start, vaddr_t end);

/* mm_check() results: which invariant broke (the first one found). */
enum mm_check_err {
	MM_CHECK_VMA_RANGE = -1301,   /* 3: a VMA unaligned/empty/too high */
	MM_CHECK_VMA_ORDER = -1302,   /* 3: unsorted or overlapping VMAs */
	MM_CHECK_VMA_MERGE = -1303,   /* 3: adjacent equal VMAs unmerged */
	MM_CHECK_MAP_COUNT = -1304,   /* 2: map_count != number of VMAs */
	MM_CHECK_HMAP_ABSENT = -1305, /* 4: HMAP bits on a non-present PTE */
	MM_CHECK_NO_VMA = -1306,      /* 1: present PTE outside every VMA */
	MM_CHECK_WRITE_PROT = -1307,  /* 1: writable PTE in a read-only VMA */
	MM_CHECK_HMAP_W = -1308,      /* 4: host RW without W and D */
	MM_CHECK_HMAP_NOWIN = -1309,  /* 4: HMAP bits without a window */
	MM_CHECK_HMAP_OLD = -1310,    /* 4: host mapping of a page not young */
	MM_CHECK_ZERO = -1311,	      /* special PTE not the zero frame */
	MM_CHECK_PAGE = -1312,	      /* frame not anon, or bad counts */
	MM_CHECK_SHARED_W = -1313,    /* 1: writable but shared */
	MM_CHECK_RMAP = -1314,	      /* rmap chain != _mapcount */
	MM_CHECK_RSS = -1315,	   /* 2: an rss != present PTEs of its kind */
	MM_CHECK_SWAPENTS = -1316, /* swapents != swap PTEs */
	MM_CHECK_PT = -1317,	   /* pt_check failed */
	MM_CHECK_FILE = -1318,	   /* a file page at the wrong offset/object */
	MM_CHECK_FILE_DIRTY = -1319, /* 2: shared file PTE D, page clean */
	MM_CHECK_AGED_OLD = -1320,   /* 4: PTE_AGED without PTE_ACCESSED */
};

/* Walk invariants 1-4 (and pt_check); 0, or an enum mm_check_err. */
int mm_check(struct mm *mm);

#endif /* VMEMU_MM_H */
