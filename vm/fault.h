/*
 * vm/fault.h - resolving a fault of one address space at one va.
 *
 * fault_handle is the single code path behind both execution modes: the
 * SIGSEGV resolver (native), vm_access and vm_read/vm_write.  It runs
 * under the machine lock and is SIGSAFE.
 */
#ifndef VMEMU_FAULT_H
#define VMEMU_FAULT_H

#include "mmu/trap.h"
#include "vm/mm.h"

enum {
	FAULT_WRITE = 1u << 0,	/* the access is a store */
	FAULT_NATIVE = 1u << 1, /* a host trap: install the host mapping */
};

enum fault_result {
	FAULT_DONE = 0,	  /* PTE now grants the access (A, and D if write) */
	FAULT_SEGV,	  /* no VMA, or the VMA forbids the access */
	FAULT_NOMEM,	  /* no frame now (page, table, rmap item): reclaim,
			     then run the fault again */
	FAULT_OOM,	  /* reclaim could not help; the OOM killer chose */
	FAULT_HOST_NOMEM, /* the host refused a mapping (mmap ENOMEM) */
	FAULT_KILLED,	  /* the task was already killed: it leaves */
};

/*
 * SIGSAFE, lock held.  One attempt: FAULT_DONE (then *ptepp is va's PTE
 * slot, present), FAULT_SEGV, or FAULT_NOMEM with everything it started
 * undone, so that it can be run again.
 */
enum fault_result fault_handle(struct mm *mm, vaddr_t va, unsigned flags,
			       pte_t **ptepp);

/*
 * SIGSAFE.  The restartable fault: fault_handle, reclaim and retry, the
 * OOM killer (see fault.c).  Called without the lock, returns with it.
 */
enum fault_result fault_resolve(struct mm *mm, vaddr_t va, unsigned flags,
				struct vm_task *self, pte_t **ptepp);

/* The trap resolver registered with trap_install (native mode). */
enum trap_verdict fault_trap_resolve(void *owner, vaddr_t va, bool write);

#endif /* VMEMU_FAULT_H */
