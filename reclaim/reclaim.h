/*
 * reclaim/reclaim.h - reclaim as the rest of the kernel sees it: the LRU
 * and its policy, kswapd, direct reclaim and the retry decision of the
 * allocation slow path.
 *
 * Who reclaims:
 *
 *   vm_alloc_pages: free < low ----> reclaim_wake_kswapd (uv_async_send,
 *        |                            async-signal-safe) --> kswapd
 *        | free < min                 balances until free >= high
 *        v
 *   FAULT_NOMEM / -ENOMEM: the caller unwinds, drops the machine lock
 *        |
 *        v
 *   reclaim_retry: direct reclaim (allocstall) in the caller's thread, then
 *   should-we-retry, as Linux's __alloc_pages_slowpath and
 *   should_reclaim_retry:
 *        true --> run the allocation again
 *        false --> a fault: out_of_memory (reclaim/oom.h); a system call:
 *                  -ENOMEM
 *
 * Retrying stops after MAX_RECLAIM_RETRIES rounds without progress (and
 * after MAX_RECLAIM_LOOPS rounds in all: progress that the allocation
 * never gets to use, such as a slab frame freed and taken again, is no
 * progress), or at
 * once when free plus reclaimable frames (less a share that grows with the
 * rounds without progress) could not lift the free count above min: no
 * livelock.  A round that freed nothing while other reclaimers hold pages
 * isolated for their writes is not a failure: the caller waits a moment
 * for them (Linux's reclaim_throttle), a bounded number of times.  No I/O is ever done under the machine lock: reclaim drops it
 * around swap writes and takes it again.
 *
 * Locking: reclaim_retry is called WITHOUT the machine lock; the page hooks
 * and reclaim_wake_kswapd with it (or, for the wake, from anywhere).
 * SIGSAFE: everything but reclaim_create/destroy (direct reclaim runs
 * inside the trap).
 */
#ifndef VMEMU_RECLAIM_H
#define VMEMU_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/types.h"
#include "vm/gfp.h"

struct vm;
struct page;
struct vm_task;

#define MAX_RECLAIM_RETRIES 16
#define MAX_RECLAIM_LOOPS   4096 /* rounds for one allocation, at most */

struct reclaim_retry {
	unsigned order;		    /* the allocation's order */
	gfp_t gfp;		    /* and how hard it may try */
	struct vm_task *self;	    /* the allocating task (PSI), or NULL */
	unsigned loops;		    /* rounds so far */
	unsigned no_progress_loops; /* rounds that freed nothing */
	unsigned throttled;	    /* waits for others' writes */
};

static inline void reclaim_retry_init(struct reclaim_retry *rr, unsigned order,
				      gfp_t gfp)
{
	rr->order = order;
	rr->gfp = gfp;
	rr->self = NULL;
	rr->loops = 0;
	rr->no_progress_loops = 0;
	rr->throttled = 0;
}

/*
 * The reclaim side of a machine: the LRU with the configured policy, and
 * (vm_config.kswapd) the kswapd thread.  0, or -errno with a message (an
 * unknown policy lists the known ones).
 */
int reclaim_create(struct vm *vm, char *err, size_t errlen);
/* Stop kswapd (its libuv loop closes cleanly) and free everything. */
void reclaim_destroy(struct vm *vm);

/* SIGSAFE, lock held.  A new anonymous page becomes resident. */
void reclaim_page_new(struct vm *vm, struct page *pg);
/* SIGSAFE, lock held.  A page on the LRU is being freed. */
void reclaim_page_gone(struct vm *vm, struct page *pg);
/*
 * SIGSAFE, lock held.  A page read back from swap becomes resident; shadow
 * is what its eviction left (0: none), for workingset detection; mm is
 * the address space that faulted it (the refault's pid), or NULL.
 */
struct mm;
void reclaim_page_swapin(struct vm *vm, struct page *pg, uint64_t shadow,
			 struct mm *mm);
/* SIGSAFE, lock held.  An exact access to a resident page (trace mode). */
void reclaim_page_access(struct vm *vm, struct page *pg);
/*
 * SIGSAFE, lock held.  Exact replacement: evict the one page the policy
 * chooses, now (reclaim/exact.c), for a new anonymous page of mm at va;
 * its frame goes to *reuse.  0: the frame is clean and unowned (refcount
 * 0, not free in the buddy), for the caller to make the new page.  1: the
 * victim was mm's own anonymous page, mapped once, and is now the new page
 * (rewired: index va, its rmap, counts and references kept, handed to the
 * policy as new): the caller only sets the PTE.  -ENOMEM when the policy
 * holds no page.
 */
int reclaim_exact_evict(struct vm *vm, struct mm *mm, vaddr_t va, pfn_t *reuse);
/*
 * SIGSAFE, lock held.  Task t (NULL: none) starts or stops stalling on
 * memory: direct reclaim, or waiting for a swap read (PSI).  Nested stalls
 * of one task count once.
 */
void reclaim_memstall(struct vm *vm, struct vm_task *t, bool enter);
/*
 * SIGSAFE, lock held.  A task becomes non-idle (+1: it started, or came
 * back from vm_wait) or idle (-1: it exited, or waits in vm_wait).
 */
void reclaim_task_nonidle(struct vm *vm, int delta);
/* The text of /proc/pressure/memory, like snprintf (takes the lock). */
int reclaim_pressure_text(struct vm *vm, char *buf, size_t len);
/* SIGSAFE, any thread.  Work for the service thread (OOM reports). */
void reclaim_kick_service(struct vm *vm);
/* Lock NOT held.  A snapshot of PSI (for the log's samples). */
struct psi_snapshot;
void reclaim_psi_read(struct vm *vm, struct psi_snapshot *out);
/* Stop kswapd (before the log closes; reclaim_destroy frees the rest). */
void reclaim_stop(struct vm *vm);
/* Lock held.  Fold PSI's averages (kswapd's periodic timer). */
void reclaim_psi_tick(struct vm *vm);
/* SIGSAFE, any thread, lock or not.  Free fell below the low watermark. */
void reclaim_wake_kswapd(struct vm *vm);

/*
 * Lock NOT held.  One round of direct reclaim for the allocation rr
 * describes; true when it should be tried again, false when reclaim cannot
 * help.  SIGSAFE.
 */
bool reclaim_retry(struct vm *vm, struct reclaim_retry *rr);

/*
 * Lock held (dropped around writes).  Evict now the resident anonymous
 * pages of mm in [start, end) that are on the LRU (MADV_PAGEOUT): those
 * mapped only by mm, or every one when `shared`.  Referenced or not: the
 * caller says they are cold.  Returns the pages freed.
 */
uint64_t reclaim_pageout(struct vm *vm, struct mm *mm, uint64_t start,
			 uint64_t end, bool shared);

/* Lock held.  The LRU's counts, for /proc texts and checks. */
struct reclaim_counts {
	uint64_t nr_active_anon, nr_inactive_anon, nr_isolated_anon;
	uint64_t nr_active_file, nr_inactive_file;
};
void reclaim_get_counts(struct vm *vm, struct reclaim_counts *c);
/* Lock held.  lru_check over the machine's lists (reclaim/lru.h), then
   the policy's own walker (policy.h: check). */
int reclaim_check(struct vm *vm);

#endif /* VMEMU_RECLAIM_H */
