/*
 * reclaim/oom.h - the OOM killer.
 *
 * Called when reclaim cannot satisfy an allocation a fault needs (system
 * calls return -ENOMEM instead: docs/architecture.md).  Linux's rules
 * (mm/oom_kill.c, LINUX-FACTS.md):
 *
 *   1. one last allocation attempt at the HIGH watermark (a parallel kill
 *      may have freed memory): if it would succeed, no kill;
 *   2. vm.panic_on_oom: the machine panics (every task ends
 *      VM_EXIT_PANIC);
 *   3. vm.oom_kill_allocating_task: the allocating task is the victim
 *      (unless it is exempt);
 *   4. otherwise every task is weighed in creation order by oom_badness:
 *      points = rss (anon + file + shmem) + swap entries + page-table
 *      pages, + oom_score_adj * (totalpages / 1000), totalpages = RAM +
 *      swap pages; exempt (never chosen): oom_score_adj -1000, and a task
 *      already killed and reaped; the highest points win, a later task
 *      winning a tie.  A victim not yet reaped aborts the selection: no
 *      second kill while it exits (with the synchronous reaper this only
 *      happens if a kill is ever left unreaped);
 *   5. the victim is killed and reaped at once (mm_reap: its window
 *      revoked, frames, slots and tables freed); its thread leaves at its
 *      next trap or vm_* call with VM_EXIT_OOM_KILLED; oom_kill counts it;
 *   6. no candidate: "Out of memory and no killable processes...", and the
 *      allocating task ends (nothing spins).
 *
 * Every decision is recorded - the candidates with their numbers, the
 * victim, totalpages - into a preallocated report slot (no allocation,
 * no formatting: this runs inside the SIGSEGV handler); the machine's
 * service thread (kswapd's loop) formats the kernel's report and hands it
 * to the event log (oom_kills, oom_candidates) and to the caller's sink
 * (vm_config.oom_report).
 *
 * Locking: the machine lock, held by the caller.  out_of_memory and
 * oom_badness are SIGSAFE.
 */
#ifndef VMEMU_OOM_H
#define VMEMU_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_task;

#define OOM_SCORE_ADJ_MIN (-1000)
#define OOM_SCORE_ADJ_MAX 1000
#define OOM_EXEMPT	  INT64_MIN /* oom_badness of an exempt task */

enum oom_result {
	OOM_RETRY,   /* memory may be back (a victim was killed, or HIGH
			   would now pass): try the allocation again */
	OOM_WAIT,    /* a victim is still exiting: wait a moment, retry */
	OOM_GIVE_UP, /* the allocating task itself must end (it was
			   chosen, nobody could be, or the machine panicked) */
};

/*
 * SIGSAFE, lock held.  Out of memory while `t` (the allocating task; NULL
 * on a thread that is no task's) needed 2^order frames.  Free memory above
 * the high watermark means a parallel kill freed some: OOM_RETRY without
 * a decision - unless `force` (the caller's retries found that it does not
 * help: a fault may need several frames at once, tables and page).
 */
enum oom_result out_of_memory(struct vm *vm, struct vm_task *t, unsigned order,
			      bool force);

/* SIGSAFE, lock held.  Linux's oom_badness, or OOM_EXEMPT. */
int64_t oom_badness(struct vm *vm, struct vm_task *t, uint64_t totalpages);
/* Lock held.  oom_badness of task pid (OOM_EXEMPT if none). */
int64_t oom_task_badness(struct vm *vm, int pid);
/* SIGSAFE, lock held.  RAM pages + swap pages. */
uint64_t oom_totalpages(struct vm *vm);
/* /proc/PID/oom_score for badness points (0 when exempt). */
long oom_score(int64_t points, uint64_t totalpages);

/* The OOM side of a machine (its report slots). */
int oom_create(struct vm *vm);
void oom_destroy(struct vm *vm);
/*
 * Not SIGSAFE (formats, logs, calls the sink).  Publish every recorded
 * decision not yet published.  Called by the service thread when woken,
 * and by vm_destroy before the log closes.
 */
void oom_publish(struct vm *vm);

#endif /* VMEMU_OOM_H */
