/*
 * reclaim/oom.c - the OOM killer (see oom.h).  This build kills the
 * allocating task, as vm.oom_kill_allocating_task = 1 does; oom_kill
 * counts it.
 *
 * Locking: the machine lock, held by the caller.  SIGSAFE.
 */
#include "reclaim/oom.h"

#include "vm/machine.h"
#include "vm/vmstat.h"

SIGSAFE bool out_of_memory(struct vm *vm, struct vm_task *t, unsigned order)
{
	(void)order;
	if (!t)
		return false;
	if (task_mark_killed(t, VM_EXIT_OOM_KILLED, 0))
		vm_event_task(vm, VME_OOM_KILL, t, 0, 0);
	return false;
}
