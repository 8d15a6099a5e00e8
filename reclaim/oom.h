/*
 * reclaim/oom.h - the OOM killer's entry point.
 *
 * Called when reclaim cannot satisfy an allocation a fault needs (system
 * calls return -ENOMEM instead: docs/architecture.md).  It decides who
 * dies so that the allocation can go on.  This build's policy is
 * vm.oom_kill_allocating_task's: the allocating task is the victim; the
 * OOM-killer issue replaces the body with Linux's oom_badness selection.
 *
 * Locking: the machine lock, held by the caller.  SIGSAFE.
 */
#ifndef VMEMU_OOM_H
#define VMEMU_OOM_H

#include <stdbool.h>

struct vm;
struct vm_task;

/*
 * Out of memory while `t` (the allocating task; NULL on a thread that is
 * no task's) needed 2^order frames.  Returns true when a victim other
 * than t was chosen (memory will come back: retry), false when t itself
 * must give up (it was chosen, or nobody could be).
 */
bool out_of_memory(struct vm *vm, struct vm_task *t, unsigned order);

#endif /* VMEMU_OOM_H */
