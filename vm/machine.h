/*
 * vm/machine.h - the emulated machine: struct vm and struct vm_task, the
 * machine lock, and frame allocation for the emulated kernel.
 *
 * Lock order (outermost first):
 *
 *   vm->lock (the machine lock: page tables, VMAs, rmap, struct pages,
 *   |         buddy, slab, task list, counters)
 *   +-- trap registry mutex (mmu/trap.c, taken by window create/destroy)
 *
 * The machine lock is a pthread mutex that the SIGSEGV handler takes.  That
 * is deadlock-free because a thread never traps while holding it: emulator
 * code reaches frames only through the direct map, never through a window
 * (DESIGN §8).  It is never held across workload code.
 *
 * vm_current is this thread's task (NULL on threads that are not task
 * threads): thread-local, set once by the task thread at start.
 */
#ifndef VMEMU_MACHINE_H
#define VMEMU_MACHINE_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>

#include "base/fault_inject.h"
#include "mmu/mapslots.h"
#include "mmu/segment.h"
#include "vm/buddy.h"
#include "base/list.h"
#include "vm/compact.h"
#include "vm/phys.h"
#include "vm/slab.h"
#include "vm/vm.h"
#include "vm/vm_events.h"

struct mm;
struct evlog;
struct reclaim;
struct swap_ctl;
struct oom_state;
struct pagecache;

#define TASK_COMM_LEN 16

enum task_state {
	TASK_RUNNING,
	TASK_ZOMBIE, /* exited; memory released; waiting for vm_wait */
};

struct vm_task {
	uint32_t magic; /* TASK_MAGIC while the task exists */
	struct vm *vm;
	struct list_head node; /* vm->tasks, creation order */
	int pid, ppid;
	char comm[TASK_COMM_LEN];
	int oom_score_adj;
	enum task_state state;
	struct mm *mm; /* NULL once released */
	pthread_t thread;
	bool has_thread;   /* thread is set (the thread was created) */
	bool being_waited; /* claimed by a vm_wait */
	vm_task_fn fn;
	void *arg;
	sigjmp_buf exit_point;	 /* where a killed task's thread lands */
	_Atomic int kill_reason; /* 0, or VM_EXIT_SEGV / VM_EXIT_OOM_KILLED */
	uint64_t kill_va;
	struct vm_rusage ru; /* what it used so far (machine lock) */
	int memstall;	     /* nesting of memory stalls (PSI) */
	bool oom_victim;     /* chosen by the OOM killer */
	struct vm_exit exit;
	struct seg_table seg; /* segment table (vm/ldt.c), once seg_ready */
	bool seg_ready;
	int segv_cause, segv_seg; /* set with kill_reason VM_EXIT_SEGV */
};

struct vm {
	uint32_t magic; /* VM_MAGIC until vm_destroy */
	struct vm_config cfg;
	pthread_mutex_t lock;	    /* the machine lock */
	pthread_cond_t task_exited; /* with lock: a task became a zombie,
				       started, or was reaped */
	struct phys phys;
	struct buddy *buddy;
	struct slab_allocator *slab;
	struct slab_cache *task_cache, *mm_cache, *vma_cache, *rmap_cache;
	pfn_t zero_pfn;		/* the shared zero frame */
	struct list_head tasks; /* every task not yet waited for */
	int next_pid;
	uint64_t task_size;	  /* emulated VA span of each task */
	long max_map_count;	  /* host sysctl, native mode */
	struct mapslots mapslots; /* host map slots windows may use */
	bool trap_installed;
	uint64_t ev[NR_VM_EVENTS]; /* counters: only vm/vmstat.h moves them */
	uint64_t t0_ns;		   /* CLOCK_MONOTONIC at creation */
	struct evlog *log;	   /* the event log, or NULL */
	uint64_t nr_anon_pages;	   /* gauge: anonymous frames mapped */
	struct reclaim *reclaim;   /* LRU, policy, kswapd (reclaim/) */
	struct swap_ctl *swap;	   /* swap area and cache, or NULL */
	struct pagecache *pcache;  /* file pages and shmem (vm/filemap.h) */
	struct oom_state *oom;	   /* the OOM killer's report slots */
	bool panicked;		   /* vm.panic_on_oom fired */
	unsigned nr_log_counters;  /* vmstat columns of the log */
	int exit_status;	   /* for the log's runs row */
	struct {
		uint64_t min, low, high; /* pages (vm/page_alloc.h) */
	} wmark;
	uint64_t min_free_kbytes;
	uint64_t nr_alloc_short; /* allocations that found frames short */
	/* Exact replacement (cfg.exact_frames): data frames in use, and the
	   next use of the access being handled (vm_access_next) and where it
	   goes (for a policy's victim: reclaim_access_key). */
	uint64_t exact_used, exact_next;
	struct mm *exact_mm;
	vaddr_t exact_va;
	/* Exact mode's TLB misses that the page walk granted without a
	   fault (vm/fault_exact.c); exact_walk_faults makes every TLB miss
	   fault instead, for the tests. */
	uint64_t exact_walk_hits;
	bool exact_walk_faults;
	/* Page-table frames freed, ever (vm/mm.c).  While it does not move,
	   a PTE slot found by a walk of (mm, va) is still that slot: tables
	   never move, and an mm goes only with its tables. */
	uint64_t pt_frees;
	struct compact_state compact; /* vm/compact.c: cached scanners,
					 deferral */
	struct fault_attr fail_page_alloc, failslab; /* injection points */
	struct fault_attr fail_host_map; /* native: the host refuses a map */
	/* Test hook: called around swap I/O, the machine lock not held. */
	void (*io_hook)(void *arg, bool write);
	void *io_hook_arg;
};

extern _Thread_local struct vm_task *vm_current;
/* How many times this thread holds a machine lock (0 or 1). */
extern _Thread_local unsigned vm_lock_depth;

/*
 * SIGSAFE, lock held.  Mark t killed (the first reason wins; true when
 * this call set it).  t leaves at its next trap or vm_* call.
 */
bool task_mark_killed(struct vm_task *t, int reason, uint64_t va);
/*
 * Lock NOT held.  If the calling thread is t's and t was killed, leave
 * through t's exit point (does not return).
 */
void task_exit_if_killed(struct vm_task *t);

/* Lock held.  The task pid not yet waited for, or NULL. */
struct vm_task *task_find(struct vm *vm, int pid);

/* Best-effort checks of API arguments (a freed object may still pass). */
bool vm_valid(const struct vm *vm);
bool task_valid(const struct vm_task *t);

/*
 * The machine lock.  Each thread counts what it holds, so that a trap
 * taken with the lock held (emulator code touching a window: a bug that
 * would self-deadlock) is caught and said (fault.c).
 */
static inline void vm_lock(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm_lock_depth++;
}

static inline void vm_unlock(struct vm *vm)
{
	vm_lock_depth--;
	pthread_mutex_unlock(&vm->lock);
}

/* SIGSAFE.  Does this thread hold a machine lock? */
static inline bool vm_lock_held(void)
{
	return vm_lock_depth != 0;
}

#endif /* VMEMU_MACHINE_H */
