/*
 * vm/task.c - emulated processes: spawn, fork, exit, wait.
 *
 * Each task is a host thread running its workload function.  Its life:
 *
 *   vm_spawn/vm_fork --> RUNNING --fn returns------------> ZOMBIE --vm_wait--> freed
 *                           |                                ^
 *                           +--killed: siglongjmp to exit ---+
 *                              point (from the trap, or from a vm_* call)
 *
 * On exit the thread itself releases the address space (frames, tables,
 * window) before becoming a zombie, so a zombie holds no memory; vm_wait
 * joins the thread and frees the task.  A killed task (emulated SIGSEGV,
 * or out of memory) leaves through siglongjmp to the exit point it set up
 * with sigsetjmp: from the SIGSEGV handler (native) or from its next vm_*
 * call.
 *
 * Invariants:
 *  1. vm->tasks holds every task not yet waited for, in creation order;
 *     pids are unique and increase.
 *  2. A task is ZOMBIE only after its mm was destroyed (t->mm == NULL).
 *  3. kill_reason changes once, from 0 to the first reason.
 *
 * Locking: the machine lock guards the task list, state and mm pointers;
 * vm->task_exited (with the lock) signals zombies and thread starts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "reclaim/reclaim.h"
#include "vm/filemap.h"
#include "vm/machine.h"
#include "vm/mm.h"
#include "vm/page_alloc.h"
#include "vm/vmlog.h"
#include "vm/vmstat.h"

_Thread_local struct vm_task *vm_current;
_Thread_local unsigned vm_lock_depth;

#define TASK_MAGIC   0x7461736bu
#define WAIT_POLL_NS 10000000L /* 10 ms */
#define NSEC_PER_SEC 1000000000L

SIGSAFE bool task_mark_killed(struct vm_task *t, int reason, uint64_t va)
{
	int none = 0;

	if (!atomic_compare_exchange_strong(&t->kill_reason, &none, reason))
		return false;
	t->kill_va = va;
	return true;
}

void task_exit_if_killed(struct vm_task *t)
{
	if (t == vm_current && atomic_load(&t->kill_reason))
		siglongjmp(t->exit_point, 1);
}

_Noreturn void vm_abort(struct vm_task *t, const char *msg)
{
	BUG_ON(!task_valid(t) || t != vm_current);
	snprintf(t->exit.msg, sizeof(t->exit.msg), "%s", msg ? msg : "");
	task_mark_killed(t, VM_EXIT_ABORT, 0);
	siglongjmp(t->exit_point, 1);
}

static void task_exit(struct vm_task *t, int code)
{
	struct vm *vm = t->vm;
	int reason;

	vm_lock(vm);
	reason = atomic_load(&t->kill_reason);
	t->exit.reason = reason ? (enum vm_exit_reason)reason : VM_EXIT_NORMAL;
	t->exit.code = reason ? 0 : code;
	t->exit.fault_va = reason ? t->kill_va : 0;
	t->exit.segv_cause = (enum vm_segv_cause)t->segv_cause;
	t->exit.segv_seg = t->segv_seg;
	t->exit.ru = t->ru;
	vm_event_task(vm, VME_TASK_EXIT, t, t->exit.fault_va, t->exit.reason);
	reclaim_task_nonidle(vm, -1);
	filemap_sync_range(t->mm, 0, t->mm->task_size, false); /* munmap */
	mm_destroy(t->mm);
	t->mm = NULL;
	vm_unlock(vm);
	vmlog_task_exit(vm, t); /* before it can be waited for and freed */
	vm_lock(vm);
	t->state = TASK_ZOMBIE;
	pthread_cond_broadcast(&vm->task_exited);
	vm_unlock(vm);
}

static void *task_main(void *arg)
{
	struct vm_task *t = arg;
	bool native = t->vm->cfg.mode == VM_MODE_NATIVE;
	int err = native ? trap_thread_init() : 0;

	vm_current = t;
	t->exit.code = err;
	if (!err && sigsetjmp(t->exit_point, 1) == 0) {
		if (native)
			trap_thread_enter(&t->exit_point);
		t->exit.code = t->fn(t, t->arg);
	}
	if (native) {
		trap_thread_enter(NULL);
		if (!err)
			trap_thread_fini();
	}
	task_exit(t, t->exit.code);
	return NULL;
}

/* Lock held.  A new task (no mm yet) on the task list; NULL if no memory. */
static struct vm_task *task_new(struct vm *vm, const char *name, int adj,
				vm_task_fn fn, void *arg)
{
	struct vm_task *t = slab_alloc(vm->task_cache);

	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->magic = TASK_MAGIC;
	t->vm = vm;
	t->pid = vm->next_pid++;
	snprintf(t->comm, sizeof(t->comm), "%s", name);
	t->oom_score_adj = adj;
	t->fn = fn;
	t->arg = arg;
	t->segv_seg = -1;
	list_add_tail(&t->node, &vm->tasks);
	return t;
}

/* Lock held. */
static void task_free(struct vm_task *t)
{
	list_del_init(&t->node);
	t->magic = 0;
	slab_free(t->vm->task_cache, t);
}

/* Lock NOT held; t is on the list with its mm.  Start its thread. */
static int task_start(struct vm_task *t)
{
	struct vm *vm = t->vm;
	pthread_t tid;
	int err = pthread_create(&tid, NULL, task_main, t);

	vm_lock(vm);
	if (err) {
		reclaim_task_nonidle(vm, -1);
		mm_destroy(t->mm);
		task_free(t);
		vm_unlock(vm);
		return -err;
	}
	t->thread = tid;
	t->has_thread = true;
	pthread_cond_broadcast(&vm->task_exited);
	vm_unlock(vm);
	return t->pid;
}

bool task_valid(const struct vm_task *t)
{
	return t && t->magic == TASK_MAGIC;
}

/* Lock held.  A new task with a fresh address space; 0 or -errno. */
static int spawn_locked(struct vm *vm, const char *name, int adj, vm_task_fn fn,
			void *arg, struct vm_task **out)
{
	struct vm_task *t = task_new(vm, name, adj, fn, arg);
	int err = t ? mm_create(vm, t, &t->mm) : -ENOMEM;

	if (err && t)
		task_free(t);
	if (!err) {
		vm_event_task(vm, VME_TASK_SPAWN, t, 0, 0);
		reclaim_task_nonidle(vm, 1); /* before its thread can stall */
		*out = t;
	}
	return err;
}

int vm_spawn(struct vm *vm, const char *name, int oom_score_adj, vm_task_fn fn,
	     void *arg)
{
	struct reclaim_retry rr;
	struct vm_task *t = NULL;
	uint64_t shortages;
	int err;

	if (!vm_valid(vm) || !fn || oom_score_adj < -1000 ||
	    oom_score_adj > 1000)
		return -EINVAL;
	reclaim_retry_init(&rr, 0, GFP_KERNEL);
	vm_lock(vm);
	do {
		shortages = vm->nr_alloc_short;
		err = spawn_locked(vm, name ? name : "task", oom_score_adj, fn,
				   arg, &t);
	} while (vm_nomem_retry(vm, err, shortages, &rr));
	vm_unlock(vm);
	if (!err)
		vmlog_task_start(vm, t);
	return err ? err : task_start(t);
}

/* Lock held.  A child with a COW copy of parent's memory; 0 or -errno. */
static int fork_locked(struct vm_task *parent, vm_task_fn fn, void *arg,
		       struct vm_task **out)
{
	struct vm *vm = parent->vm;
	struct vm_task *t;
	int err;

	if (atomic_load(&parent->kill_reason))
		return -EINTR; /* killed (while reclaim ran): it leaves */
	t = task_new(vm, parent->comm, parent->oom_score_adj, fn, arg);
	err = t ? mm_dup(parent->mm, t, &t->mm) : -ENOMEM;
	if (err && t)
		task_free(t);
	if (!err) {
		t->ppid = parent->pid;
		t->seg = parent->seg; /* as Linux copies the LDT */
		t->seg_ready = parent->seg_ready;
		vm_event_task(vm, VME_TASK_FORK, t, 0, parent->pid);
		reclaim_task_nonidle(vm, 1); /* before its thread can stall */
		*out = t;
	}
	return err;
}

int vm_fork(struct vm_task *parent, vm_task_fn child, void *arg)
{
	struct reclaim_retry rr;
	struct vm_task *t = NULL;
	uint64_t shortages;
	struct vm *vm;
	int err;

	if (!task_valid(parent) || !child || !parent->mm)
		return -EINVAL;
	vm = parent->vm;
	reclaim_retry_init(&rr, 0, GFP_KERNEL);
	vm_lock(vm);
	do {
		shortages = vm->nr_alloc_short;
		err = fork_locked(parent, child, arg, &t);
	} while (vm_nomem_retry(vm, err, shortages, &rr));
	vm_unlock(vm);
	if (err)
		task_exit_if_killed(parent);
	if (!err)
		vmlog_task_start(vm, t);
	return err ? err : task_start(t);
}

struct vm_task *task_find(struct vm *vm, int pid)
{
	struct list_head *n;

	list_for_each(n, &vm->tasks) {
		struct vm_task *t = list_entry(n, struct vm_task, node);

		if (t->pid == pid)
			return t;
	}
	return NULL;
}

/*
 * Lock held.  Sleep on task_exited, but never longer than WAIT_POLL_NS: a
 * waiter killed meanwhile (the kill may come from inside a signal handler,
 * which cannot signal a condition variable) notices within that time.
 */
static void wait_a_while(struct vm *vm)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += WAIT_POLL_NS;
	if (ts.tv_nsec >= NSEC_PER_SEC) {
		ts.tv_sec++;
		ts.tv_nsec -= NSEC_PER_SEC;
	}
	pthread_cond_timedwait(&vm->task_exited, &vm->lock, &ts);
}

int vm_wait(struct vm *vm, int pid, struct vm_exit *ex)
{
	struct vm_task *t;
	pthread_t tid;

	if (!vm_valid(vm))
		return -EINVAL;
	if (vm_current && vm_current->pid == pid)
		return -EINVAL; /* waiting for oneself would never end */
	vm_lock(vm);
	t = task_find(vm, pid);
	if (!t || t->being_waited) {
		vm_unlock(vm);
		return -ESRCH;
	}
	t->being_waited = true;
	if (vm_current) /* a task waiting for a child is idle (PSI) */
		reclaim_task_nonidle(vm, -1);
	while (t->state != TASK_ZOMBIE || !t->has_thread) {
		if (vm_current && atomic_load(&vm_current->kill_reason)) {
			t->being_waited = false; /* the waiter was killed */
			reclaim_task_nonidle(vm, 1);
			vm_unlock(vm);
			task_exit_if_killed(vm_current);
			return -EINTR;
		}
		wait_a_while(vm);
	}
	if (vm_current)
		reclaim_task_nonidle(vm, 1);
	tid = t->thread;
	vm_unlock(vm);
	pthread_join(tid, NULL);
	vm_lock(vm);
	if (ex)
		*ex = t->exit;
	task_free(t);
	pthread_cond_broadcast(&vm->task_exited); /* vm_destroy may wait */
	vm_unlock(vm);
	return pid;
}

int vm_kill(struct vm *vm, int pid)
{
	struct vm_task *t;

	if (!vm_valid(vm))
		return -EINVAL;
	vm_lock(vm);
	t = task_find(vm, pid);
	if (t && t->state != TASK_ZOMBIE &&
	    task_mark_killed(t, VM_EXIT_KILLED, 0) && t->mm)
		mm_reap(t->mm);
	pthread_cond_broadcast(&vm->task_exited); /* a waiting victim */
	vm_unlock(vm);
	return t ? 0 : -ESRCH;
}

int vm_set_oom_score_adj(struct vm *vm, int pid, int adj)
{
	struct vm_task *t;

	if (!vm_valid(vm) || adj < -1000 || adj > 1000)
		return -EINVAL;
	vm_lock(vm);
	t = task_find(vm, pid);
	if (t)
		t->oom_score_adj = adj;
	vm_unlock(vm);
	return t ? 0 : -ESRCH;
}

int vm_task_info(struct vm *vm, int pid, struct vm_task_info *info)
{
	struct vm_task *t;

	if (!vm_valid(vm) || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	vm_lock(vm);
	t = task_find(vm, pid);
	if (t) {
		info->pid = t->pid;
		info->ppid = t->ppid;
		snprintf(info->name, sizeof(info->name), "%s", t->comm);
		info->oom_score_adj = t->oom_score_adj;
		info->exited = t->state == TASK_ZOMBIE;
		info->ru = t->ru;
		if (t->mm) {
			info->rss_anon = t->mm->rss_anon;
			info->rss_file = t->mm->rss_file;
			info->rss_shmem = t->mm->rss_shmem;
			info->swapents = t->mm->swapents;
			info->pgtables = t->mm->pt.nr_tables;
		}
	}
	vm_unlock(vm);
	return t ? 0 : -ESRCH;
}

int vm_getpid(const struct vm_task *t)
{
	return task_valid(t) ? t->pid : -EINVAL;
}
