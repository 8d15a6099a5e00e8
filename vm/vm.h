/*
 * vm/vm.h - the public API of vmemu (DESIGN.md §9; names are a contract).
 *
 * Glossary
 *   struct vm        one emulated machine: RAM (frames), the kernel's
 *                    allocators, its tasks, counters.  Created by vm_create.
 *   struct vm_task   one emulated process: an address space (page tables,
 *                    VMAs, in native mode a host window) and a host thread
 *                    running a workload function.
 *   va               an emulated virtual address (uint64_t).  In native
 *                    mode vm_ptr(t, va) is the host pointer through which
 *                    the task's code loads and stores.
 *
 * Errors: functions return 0 / a value >= 0, or a negative errno
 * (-EINVAL bad argument, -ESRCH no such task, -ENOMEM out of memory or
 * address space, -EFAULT bad address, -EPERM not allowed in this state).
 * vm_create returns NULL and writes one line into err.  vm_mmap returns a
 * value for which vm_mmap_failed() is true; -vm_mmap_error() gives errno.
 *
 * Threads: vm_create/vm_spawn/vm_wait/vm_stat/vm_destroy are called by the
 * controlling thread(s); vm_mmap, vm_munmap, vm_mprotect, vm_brk, vm_fork
 * and vm_access are called by the task's own workload function (its thread).
 */
#ifndef VMEMU_VM_H
#define VMEMU_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_task;

/* vmemu's version (vmemu --version, the runs table). */
#define VM_VERSION "0.3.0"

/* The emulated page size (bytes). */
#define VM_PAGE_SIZE 4096ULL

enum vm_mode {
	VM_MODE_NATIVE = 0, /* workload code touches real memory; traps */
	VM_MODE_TRACE = 1,  /* accesses go through vm_access() */
};

struct vm_config {
	uint64_t mem_bytes;	    /* emulated RAM (multiple of 4 KiB) */
	uint64_t swap_bytes;	    /* swap size; 0 = no swap */
	const char *swap_path;	    /* NULL: unlinked temporary file */
	const char *log_path;	    /* SQLite event log; NULL: none */
	const char *policy;	    /* replacement policy name ("linux") */
	int swappiness;		    /* 0..200, default 60 */
	int min_free_kbytes;	    /* 0: computed as Linux does */
	int watermark_scale_factor; /* 1..3000, default 10 */
	bool kswapd;		    /* run the kswapd thread */
	enum vm_mode mode;
	uint64_t seed;
	uint64_t task_size;	       /* emulated VA span per task; 0: default
				      (64 GiB native, 2^47 trace) */
	unsigned anon_fault_around;    /* pages (power of two, <= 64) that one
				      write fault on untouched anonymous
				      memory maps at once, like Linux's
				      multi-size THP; 0 or 1: off (default) */
	int page_cluster;	       /* vm.page-cluster: swap readahead of
				       2^n pages, 0..10 (default 3) */
	unsigned read_ahead_kb;	       /* file readahead window, KiB, 0..1024
				       (default 128, a block device's
				       read_ahead_kb); 0: read one page */
	bool panic_on_oom;	       /* vm.panic_on_oom */
	bool oom_kill_allocating_task; /* vm.oom_kill_allocating_task */
	long max_map_count;	       /* native: host map slots the machine may
				       assume (0: read vm.max_map_count) */
	bool buddy_pcp;		       /* order-0 per-cpu-style frame cache */
	bool buddy_lazy;	       /* lazy buddy coalescing */
	/* Event log (log_path != NULL). */
	const char *log_events;	 /* kinds to log, comma-separated; NULL
				       or "all": every kind */
	unsigned log_sample_ms;	 /* vmstat sample period (default 100) */
	unsigned log_ring;	 /* ring records, power of two; 0: default */
	const char *log_cmdline; /* recorded in the runs table */
	/*
	 * The OOM killer's report (the kernel log's lines: the task dump,
	 * then "Out of memory: Killed process ..."), one call per decision,
	 * from the machine's service thread.  NULL: only the event log gets
	 * it.  The library itself never prints.
	 */
	void (*oom_report)(void *arg, const char *text);
	void *oom_report_arg;
	/*
	 * Exact replacement (trace mode only): a page-replacement study
	 * where the count of misses is the policy's alone.  exact_frames
	 * data pages may be resident; a miss when all are in use evicts
	 * exactly one page (never the new one) and then brings the new one
	 * in.  No watermarks, kswapd or readahead; page-table pages are
	 * not charged to the budget; frames carry no data (no zeroing,
	 * copying or swap I/O: an evicted page's PTE remembers only that it
	 * was evicted).  mem_bytes, swap_bytes, kswapd, page_cluster and
	 * anon_fault_around are ignored: the frame pool is exact_frames plus
	 * an allowance for page tables and kernel objects (exact_frames / 4,
	 * at least 1 GiB; host memory is touched only as they are used); a
	 * trace that needs more tables than that ends its task with
	 * VM_EXIT_HOST_NOMEM.  At most VM_EXACT_MAX_FRAMES.  0: off.
	 */
	uint64_t exact_frames;
	/*
	 * Trace mode's software TLB (mmu/swtlb.h), per address space:
	 * entries, a power of two from 4 to 65536, 4 ways; 0: 256 (4096 in
	 * exact replacement, where it changes only the speed).
	 */
	unsigned tlb_entries;
	/*
	 * Native mode, linux policy: the share of the time (percent, 0..100;
	 * default 5) that clearing accessed bits may cost - the walks that
	 * revoke host mappings and the refill traps that follow.  Between
	 * walks a page's bit counts once; fresher bits cost more (0: no
	 * walks at all; docs/reclaim.md measures the trade).
	 */
	int aging_budget_pct;
};
#define VM_EXACT_MAX_FRAMES (1ULL << 30) /* 4 TiB of emulated frames */

enum vm_exit_reason {
	VM_EXIT_NORMAL = 0,	/* the task function returned; code = value */
	VM_EXIT_OOM_KILLED = 1, /* chosen by the OOM killer */
	VM_EXIT_SEGV = 2,	/* emulated SIGSEGV (bad address/permission) */
	VM_EXIT_SIGBUS = 3,	/* its page could not be read back (swap or
				   file I/O error, access beyond a file) */
	VM_EXIT_HOST_NOMEM = 4, /* the host refused memory the emulator
				   needed for it (mmap ENOMEM): not an
				   emulated OOM */
	VM_EXIT_ABORT = 5,	/* the task called vm_abort (e.g. its C
				   library found a corrupted heap) */
	VM_EXIT_PANIC = 6,	/* the machine panicked (vm.panic_on_oom) */
	VM_EXIT_KILLED = 7,	/* vm_kill (SIGKILL from outside) */
};

/* What a task used, as wait4(2)'s rusage reports it (pages, not KiB). */
struct vm_rusage {
	uint64_t maxrss;	 /* peak resident pages (VmHWM) */
	uint64_t minflt, majflt; /* faults in its address space */
	uint64_t swapins;	 /* pages it read back from swap */
};

/*
 * Why a task got its emulated SIGSEGV (struct vm_exit.segv_cause, only
 * meaningful with VM_EXIT_SEGV).  0 is the page walk's, so an exit that
 * never met a segment says "page" without setting anything.
 */
enum vm_segv_cause {
	VM_SEGV_PAGE = 0,      /* no VMA at the address, or it forbids the
				  access (Linux's SEGV_MAPERR/SEGV_ACCERR) */
	VM_SEGV_SEG_LIMIT = 1, /* vm_seg_access: offset >= segment limit */
	VM_SEGV_SEG_PERM = 2,  /* vm_seg_access: the segment forbids it */
};

struct vm_exit {
	enum vm_exit_reason reason;
	int code;	   /* return value of the task function */
	uint64_t fault_va; /* SEGV/SIGBUS: the offending address (a segment
			      fault: the offset within the segment) */
	char msg[64];	   /* VM_EXIT_ABORT: the task's message; a segment
			      fault: what the segmentation unit refused */
	struct vm_rusage ru;
	enum vm_segv_cause segv_cause; /* VM_EXIT_SEGV: why */
	int segv_seg; /* a segment fault: the segment; else -1 */
};

/* A live task, as /proc/PID/status and /proc/PID/stat show it. */
struct vm_task_info {
	int pid, ppid;
	char name[16];
	int oom_score_adj;
	bool exited;	   /* a zombie: memory released, waiting for vm_wait */
	uint64_t rss_anon; /* pages */
	uint64_t rss_file, rss_shmem, swapents, pgtables; /* pages */
	struct vm_rusage ru;
};

/* Protections and flags for vm_mmap / vm_mprotect. */
#define VM_PROT_NONE   0x0
#define VM_PROT_READ   0x1
#define VM_PROT_WRITE  0x2
#define VM_MAP_SHARED  0x01
#define VM_MAP_PRIVATE 0x02
#define VM_MAP_FIXED   0x10
#define VM_MAP_ANON    0x20

/*
 * Counters, named as in /proc/vmstat where Linux has them; the rest are
 * emulator-only and say so.
 */
struct vm_stat {
	/* /proc/vmstat */
	uint64_t pgfault;    /* faults that changed a PTE (minor + major) */
	uint64_t pgmajfault; /* faults that needed I/O */
	uint64_t pswpin, pswpout;
	uint64_t pgscan_kswapd, pgscan_direct;
	uint64_t pgsteal_kswapd, pgsteal_direct;
	uint64_t allocstall;
	uint64_t oom_kill;
	uint64_t pgalloc_normal, pgfree;
	uint64_t nr_free_pages;
	uint64_t nr_anon_pages; /* anon frames in use */
	uint64_t nr_page_table_pages;
	/* emulator-only */
	uint64_t cow_fault;	/* COW breaks that copied the frame */
	uint64_t cow_reuse;	/* COW breaks that reused a sole-owner frame */
	uint64_t zero_page_map; /* reads mapped to the shared zero frame */
	uint64_t tlb_refill;	/* native: PTE valid, host mapping missing */
	uint64_t dirty_trap;	/* native: first write to a clean page */
	uint64_t segv;		/* emulated SIGSEGVs delivered */
	uint64_t tlb_hit, tlb_miss, tlb_flush; /* trace-mode software TLB */
	uint64_t hmap_flush;   /* native: windows flushed for map slots */
	uint64_t fault_around; /* pages mapped ahead by anon_fault_around */
	uint64_t anon_fault;   /* demand-zero faults (a fresh frame) */
	uint64_t task_spawn, task_fork, task_exit; /* task life events */
	/* reclaim and swap (/proc/vmstat names) */
	uint64_t pgpgin, pgpgout; /* KiB of swap I/O */
	uint64_t pgscan_anon, pgsteal_anon, pgrefill;
	uint64_t pgactivate, pgdeactivate, pgrotated, pageoutrun;
	uint64_t kswapd_low_wmark_hit_quickly, kswapd_high_wmark_hit_quickly;
	uint64_t slabs_scanned;
	uint64_t workingset_refault_anon, workingset_activate_anon;
	uint64_t workingset_restore_anon;
	uint64_t swap_ra, swap_ra_hit;
	uint64_t nr_active_anon, nr_inactive_anon, nr_isolated_anon;
	uint64_t nr_swapcached; /* pages in the swap cache */
	uint64_t nr_swap_free;	/* free swap slots (pages) */
	/* emulator-only */
	uint64_t direct_reclaim_end, kswapd_wake, kswapd_sleep;
	uint64_t evict;	       /* pages reclaimed (pgsteal_*) as events */
	uint64_t swapin_fault; /* faults on swap entries */
	uint64_t swap_write_error, swap_read_error;
	uint64_t age_revoke, age_pages; /* accessed-bit testing */
	uint64_t age_ns;		/* time spent testing accessed bits */
	/* file pages and shmem (/proc/vmstat names; docs/filepages.md) */
	uint64_t nr_active_file, nr_inactive_file;
	uint64_t nr_file_pages; /* page cache pages (files and shmem) */
	uint64_t nr_shmem;	/* shmem pages (in nr_file_pages) */
	uint64_t nr_dirty;	/* file pages dirty */
	uint64_t nr_writeback;	/* pages being written (file and swap) */
	uint64_t nr_mapped;	/* page cache pages mapped by a PTE */
	uint64_t pgscan_file, pgsteal_file;
	uint64_t workingset_refault_file, workingset_activate_file;
	uint64_t workingset_restore_file;
	uint64_t nr_dirtied, nr_written; /* cumulative, as Linux's */
	/* emulator-only */
	uint64_t file_fault;	    /* faults on file pages */
	uint64_t shmem_fault;	    /* faults on shmem pages */
	uint64_t file_ra;	    /* file pages read ahead */
	uint64_t file_fault_around; /* cached pages mapped ahead */
	uint64_t file_drop_clean;   /* clean file pages reclaimed */
	uint64_t file_read_error, file_write_error;
	/* compaction (/proc/vmstat names; docs/compaction.md) */
	uint64_t compact_migrate_scanned, compact_free_scanned;
	uint64_t compact_isolated; /* movable pages and free targets */
	uint64_t compact_stall, compact_fail, compact_success; /* direct */
	uint64_t pgmigrate_success, pgmigrate_fail;
};

typedef int (*vm_task_fn)(struct vm_task *t, void *arg);

void vm_config_init(struct vm_config *cfg);
struct vm *vm_create(const struct vm_config *cfg, char *err, size_t errlen);
void vm_destroy(struct vm *vm);

int vm_spawn(struct vm *vm, const char *name, int oom_score_adj, vm_task_fn fn,
	     void *arg);
int vm_wait(struct vm *vm, int pid, struct vm_exit *ex);
/*
 * Kill task pid (SIGKILL): its memory is reclaimed at once and its thread
 * leaves with VM_EXIT_KILLED at its next trap or vm_* call.  0 or -ESRCH.
 */
int vm_kill(struct vm *vm, int pid);
/*
 * Change task pid's oom_score_adj (-1000 .. 1000, as
 * /proc/PID/oom_score_adj): 0, -EINVAL (out of range), -ESRCH.
 */
int vm_set_oom_score_adj(struct vm *vm, int pid, int adj);
/* Snapshot of task pid (not yet waited for); 0 or -ESRCH. */
int vm_task_info(struct vm *vm, int pid, struct vm_task_info *info);

uint64_t vm_mmap(struct vm_task *t, uint64_t hint, size_t len, int prot,
		 int flags);
static inline bool vm_mmap_failed(uint64_t va)
{
	return va >= (uint64_t)-4095;
}
static inline int vm_mmap_error(uint64_t va)
{
	return (int)(int64_t)va;
}
/*
 * Map len bytes of a host file, from byte offset (a page multiple), as
 * mmap(2) of a descriptor does (docs/filepages.md).  fd is a host
 * descriptor the caller opened: the machine keeps its own duplicate, so
 * fd may be closed afterwards; every mapping of one file (same device
 * and inode, whatever descriptor) shares one page cache.  flags:
 * VM_MAP_SHARED (stores reach the file: written back by reclaim,
 * vm_msync, vm_munmap and exit) or VM_MAP_PRIVATE (copy on write: the
 * file is never written), with VM_MAP_FIXED as for vm_mmap.  An access
 * to a page past the end of the file ends the task with VM_EXIT_SIGBUS.
 * Returns the va, or (vm_mmap_failed) -EINVAL (bad flags, unaligned
 * offset, len 0, exact replacement), -EBADF, -EACCES (fd write-only, or
 * VM_MAP_SHARED | VM_PROT_WRITE without O_RDWR), -ENODEV (not a regular
 * file), -EOVERFLOW (offset + len wraps), -ENOMEM.
 *
 * Shared anonymous memory is vm_mmap(..., VM_MAP_SHARED | VM_MAP_ANON):
 * zero-filled pages shared with every child forked afterwards, swap
 * backed (RssShmem, Shmem).
 */
uint64_t vm_mmap_file(struct vm_task *t, uint64_t hint, size_t len, int prot,
		      int flags, int fd, uint64_t offset);
/*
 * Unmap [va, va + len); dirty pages of shared file mappings in it are
 * written back first (a write error stays recorded for vm_msync, and
 * the page stays dirty in the page cache).
 */
int vm_munmap(struct vm_task *t, uint64_t va, size_t len);
/*
 * msync(2): VM_MS_SYNC writes back the dirty pages of the shared file
 * mappings in [va, va + len) and returns when they are written;
 * VM_MS_ASYNC does nothing more (Linux's tracks dirty pages already).
 * 0, -EINVAL (unaligned va, unknown flags, both SYNC and ASYNC), -ENOMEM
 * (part of the range is not mapped; the rest is synced), -EIO (a write
 * failed - now, or in write-back since the last vm_msync of that file:
 * reported once; the pages stay dirty, nothing is lost).
 */
#define VM_MS_ASYNC	 1 /* Linux's values */
#define VM_MS_INVALIDATE 2
#define VM_MS_SYNC	 4
int vm_msync(struct vm_task *t, uint64_t va, size_t len, int flags);
/*
 * ftruncate(2) of host descriptor fd to len bytes, through the machine's
 * page cache: cached pages past the new end are unmapped from every task
 * and dropped (dirty ones too: their data is gone with the file), a
 * partial last page is zeroed past the end.  A later access past the end
 * is the accessor's VM_EXIT_SIGBUS.  0 or -errno (ftruncate's).
 */
int vm_ftruncate(struct vm_task *t, int fd, uint64_t len);
int vm_mprotect(struct vm_task *t, uint64_t va, size_t len, int prot);
/*
 * Advice about [va, va + len), as madvise(2): VM_MADV_PAGEOUT reclaims the
 * range's resident pages now (those mapped only by t), to swap.  0,
 * -EINVAL (bad range or advice), -ENOMEM (range not mapped).
 */
#define VM_MADV_PAGEOUT 21 /* Linux's value */
int vm_madvise(struct vm_task *t, uint64_t va, size_t len, int advice);
uint64_t vm_brk(struct vm_task *t, uint64_t new_end);
int vm_fork(struct vm_task *t, vm_task_fn child, void *arg);
void *vm_ptr(struct vm_task *t, uint64_t va);
int vm_access(struct vm_task *t, uint64_t va, int write);
/*
 * vm_access telling the replacement policy when this page will next be
 * accessed: next_use is the caller's request index of the next access
 * to the same page (UINT64_MAX: never).  What OPT (Belady's MIN) needs;
 * other policies ignore it.  Trace mode.
 */
int vm_access_next(struct vm_task *t, uint64_t va, int write,
		   uint64_t next_use);
/* One access of a trace, for vm_access_batch. */
struct vm_ref {
	uint64_t va;
	uint64_t next_use; /* as vm_access_next (UINT64_MAX: never/unknown) */
	int write;
};
/*
 * The accesses ref[0..n) in order, each exactly as vm_access_next would
 * make it, what a trace replay calls: exact replacement holds the machine
 * lock across runs of accesses and starts loading the page-table entries
 * of the ones ahead.  0, or the first failing access's error; *done (if
 * not NULL) = the accesses made before it.  Trace mode.
 */
int vm_access_batch(struct vm_task *t, const struct vm_ref *ref, size_t n,
		    size_t *done);
/*
 * Copy len bytes from / to t's memory at va, page by page as t's own
 * loads and stores would go (each page accessed as by vm_access: faults,
 * A and D bits), the bytes through the kernel's direct map.  Both modes;
 * called by t's thread.  0, or vm_access's error (a bad address is t's
 * emulated SIGSEGV, as it would be for its own store); -EINVAL in exact
 * replacement, whose frames hold no data.
 */
int vm_read(struct vm_task *t, uint64_t va, void *buf, size_t len);
int vm_write(struct vm_task *t, uint64_t va, const void *buf, size_t len);
/* End the calling task t with VM_EXIT_ABORT and msg (like abort(3)). */
_Noreturn void vm_abort(struct vm_task *t, const char *msg);
int vm_getpid(const struct vm_task *t);
void vm_stat(struct vm *vm, struct vm_stat *st);
/*
 * The event log's first error (its file full, read-only, ...), or NULL
 * while it is healthy: a caller stops the run when it is not NULL.
 */
const char *vm_log_error(struct vm *vm);
/* The exit status the log records for the run (default 0). */
void vm_set_exit_status(struct vm *vm, int status);

/*
 * Failure injection, with the attributes of Linux's fault-injection
 * framework (Documentation/fault-injection): a call at an injection point
 * fails when, in this order, probability > 0, times != 0 (-1: no limit),
 * the space budget (bytes) is used up, the call is an interval-th one, and
 * a random draw (seeded by vm_config.seed) falls under probability (%).
 * "Fail the N-th call once" is { 100, N, 1, 0 }.  Points:
 *   "fail_page_alloc"  frame allocations (pages, tables, slab growth)
 *   "failslab"         kernel objects (tasks, address spaces, VMAs, rmap)
 *   "fail_host_map"    native mode: the host refusing a window mapping
 *                      (mmap ENOMEM), emulator-only
 *   "fail_swap_write", "fail_swap_read"  swap I/O, per page (-EIO); only
 *                      with a swap area (else -ENOENT)
 *   "fail_file_write", "fail_file_read"  file page I/O, per page (-EIO)
 * 0, -ENOENT (unknown point) or -EINVAL (bad attributes).
 */
struct vm_fault_attr {
	unsigned probability; /* 0..100; 0 turns the point off */
	unsigned long interval;
	long times;
	long space;
};
int vm_fault_inject(struct vm *vm, const char *point,
		    const struct vm_fault_attr *attr);
/* Failures injected at point since its attributes were set, or -ENOENT. */
long long vm_fault_injected(struct vm *vm, const char *point);

/*
 * Segmentation (trace mode; docs/segmentation.md): a per-task segment
 * table in front of paging, as x86 has.  An access names (segment,
 * offset); the segmentation unit checks offset < limit and the segment's
 * prot, and the linear address base + offset then goes through the page
 * walk as vm_access's does.  A task's table starts from its layout:
 *
 *   VM_SEG_CODE   [4 MiB, 8 MiB)        read    (ld's text address)
 *   VM_SEG_DATA   [8 MiB, start_brk)    read+write
 *   VM_SEG_HEAP   [start_brk, mmap_base) read+write (room for brk)
 *   VM_SEG_STACK  [task_size - 8 MiB, task_size) read+write (RLIMIT_STACK)
 *   4 .. VM_SEG_MAX-1  unused: limit 0, every access a limit fault
 *
 * A forked child inherits its parent's table (as Linux copies the LDT).
 * vm_seg_get/vm_seg_set/vm_seg_translate: 0, or -EINVAL (bad task,
 * segment >= VM_SEG_MAX, prot other than VM_PROT_READ|WRITE, base + limit
 * beyond the 48-bit space).  vm_seg_translate runs the segmentation unit
 * alone: 0 and *linear, or VM_SEGV_SEG_LIMIT / VM_SEGV_SEG_PERM (> 0), and
 * touches nothing.  vm_seg_access is vm_access through a segment: 0, or
 * -EFAULT after a segment fault, which ends t with VM_EXIT_SEGV and
 * segv_cause/segv_seg set (called by t's thread it does not return), or
 * vm_access's result for the linear address.
 */
#define VM_SEG_MAX 8
enum { VM_SEG_CODE = 0, VM_SEG_DATA = 1, VM_SEG_HEAP = 2, VM_SEG_STACK = 3 };
struct vm_seg {
	uint64_t base;	/* linear address of offset 0 */
	uint64_t limit; /* length in bytes: offsets [0, limit) are valid */
	int prot;	/* VM_PROT_READ | VM_PROT_WRITE */
};
int vm_seg_get(struct vm_task *t, unsigned seg, struct vm_seg *out);
int vm_seg_set(struct vm_task *t, unsigned seg, const struct vm_seg *s);
int vm_seg_translate(struct vm_task *t, unsigned seg, uint64_t off, int write,
		     uint64_t *linear);
int vm_seg_access(struct vm_task *t, unsigned seg, uint64_t off, int write);

/*
 * Introspection, read-only (any thread; the machine lock is taken).
 *
 * vm_walk describes the page walk of va in task pid's address space, as
 * the MMU does it, without changing anything (no A bit, no TLB fill, no
 * fault): the index of each level, each table read and its entry, the
 * leaf's state and, for a mapped page, its frame's counts.  0, -ESRCH (no
 * such task, or it has exited), -EINVAL.
 */
#define VM_PT_LEVELS 4 /* level[0] is the PGD, level[3] the PTE table */
/* PTE bits: x86-64's, and vmemu's software bits (emulator-only). */
#define VM_PTE_PRESENT	 (1ULL << 0)
#define VM_PTE_WRITE	 (1ULL << 1)
#define VM_PTE_USER	 (1ULL << 2)
#define VM_PTE_ACCESSED	 (1ULL << 5)
#define VM_PTE_DIRTY	 (1ULL << 6)
#define VM_PTE_COW	 (1ULL << 9)  /* software: write-protected by fork */
#define VM_PTE_SOFTDIRTY (1ULL << 10) /* software */
#define VM_PTE_SPECIAL	 (1ULL << 11) /* software: the zero frame */

enum vm_pte_state {
	VM_PTE_NO_TABLE = 0, /* a level above the PTE is not present */
	VM_PTE_NONE = 1,     /* the PTE is 0: never touched, or unmapped */
	VM_PTE_MAPPED = 2,   /* present: pfn */
	VM_PTE_SWAP = 3,     /* a swap entry: (swap_type, swap_slot) */
	VM_PTE_FILE = 4,     /* a file-offset entry: file_pgoff */
};

struct vm_walk_level {
	uint64_t table_pfn; /* the table frame read at this level */
	unsigned index;	    /* which of its 512 entries */
	uint64_t entry;	    /* the entry's 64 bits */
};

struct vm_walk {
	uint64_t va;
	unsigned index[VM_PT_LEVELS]; /* PGD, PUD, PMD, PTE indices of va */
	unsigned offset;	      /* va's byte within its page */
	unsigned nlevels;	      /* tables read (1..4) */
	struct vm_walk_level level[VM_PT_LEVELS];
	enum vm_pte_state state;
	uint64_t pte;	     /* the leaf entry (0 without a table) */
	uint64_t pfn, phys;  /* VM_PTE_MAPPED: frame, physical address */
	unsigned swap_type;  /* VM_PTE_SWAP: the swap area */
	uint64_t swap_slot;  /* VM_PTE_SWAP: the slot in it */
	uint64_t file_pgoff; /* VM_PTE_FILE */
	/* VM_PTE_MAPPED: the frame's struct page (Linux's names). */
	int refcount, mapcount;		 /* page_ref_count, page_mapcount */
	bool anon, zero_page, swapcache; /* PageAnon, the zero page, ... */
	bool lru, active;		 /* on an LRU list; the active one */
	/* The VMA holding va, if any. */
	bool in_vma;
	uint64_t vma_start, vma_end;
	int vma_prot;
};
int vm_walk(struct vm *vm, int pid, uint64_t va, struct vm_walk *out);

/* One VMA of a task, as a line of /proc/PID/maps. */
#define VM_VMA_HEAP   0x1 /* [heap]: the brk area */
#define VM_VMA_STACK  0x2 /* [stack] */
#define VM_VMA_SHARED 0x4 /* MAP_SHARED */
#define VM_VMA_FILE   0x8 /* maps a file (else anonymous or shmem) */
struct vm_vma {
	uint64_t start, end; /* [start, end) */
	int prot;	     /* VM_PROT_* */
	unsigned flags;	     /* VM_VMA_* */
};
/*
 * Task pid's VMAs in address order: fills at most max of out and returns
 * how many there are (> max: call again with more room), or -ESRCH,
 * -EINVAL.
 */
int vm_vmas(struct vm *vm, int pid, struct vm_vma *out, unsigned max);

/*
 * Leaks (a task's C library reports them at exit, as LeakSanitizer does):
 * the blocks never freed, in bytes requested (what LeakSanitizer counts)
 * and in bytes the allocator granted (tags and rounding included), and the
 * largest few by bytes requested, largest first (ties: lower address).
 */
#define VM_LEAKS_TOP 5
struct vm_leak {
	uint64_t va;	  /* the pointer malloc returned */
	uint64_t nbytes;  /* requested */
	uint64_t granted; /* block or mapping bytes */
	bool mmapped;	  /* served by its own mmap */
};
struct vm_leaks {
	uint64_t blocks, nbytes, granted;
	unsigned ntop; /* entries of top used */
	struct vm_leak top[VM_LEAKS_TOP];
};
/*
 * Record t's leak report in the event log (its `leaks` table;
 * docs/evlog.md).  0 (also when the machine has no log), -EINVAL, or the
 * log's error.  Called by t's thread or while t is parked.
 */
int vm_log_leaks(struct vm_task *t, const struct vm_leaks *lk);

/*
 * The machine's /proc-style files, in Linux's formats: "vmstat" (name value
 * lines; emulator-only counters are prefixed "vmemu_"), "meminfo",
 * "zoneinfo", "buddyinfo", "slabinfo", "swaps", "pressure/memory", and
 * for a task "PID/status", "PID/oom_score", "PID/oom_score_adj"; Linux's
 * debugfs "extfrag/unusable_index" and "extfrag/extfrag_index"; vmemu's
 * "slab_waste" (bytes in slabs against bytes in live objects, per
 * cache).  Writes at most len bytes (NUL-terminated) and returns the
 * length the whole text needs, like snprintf; -ENOENT for another name.
 */
int vm_procfs(struct vm *vm, const char *name, char *buf, size_t len);

/*
 * Compact the machine's memory now, as `echo 1 > /proc/sys/vm/compact_memory`
 * does: movable pages (anonymous pages on the LRU, in the swap cache or
 * not) move from the bottom of RAM to free frames at the top, so that free
 * frames merge into high-order blocks (docs/compaction.md).  Any thread
 * that does not hold the machine lock; tasks keep running meanwhile.
 * The number of pages moved, or -EINVAL, -EOPNOTSUPP (exact replacement:
 * frames carry no data).
 */
int vm_compact(struct vm *vm);

#endif /* VMEMU_VM_H */
