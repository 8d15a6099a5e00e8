/*
 * vm/fault.h - resolving a fault of one address space at one va.
 *
 * fault_handle is the single code path behind both execution modes: the
 * SIGSEGV resolver (native) and vm_access (trace).  It runs under the
 * machine lock and is SIGSAFE.
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
	FAULT_DONE = 0, /* PTE now grants the access (A, and D if write) */
	FAULT_SEGV,	/* no VMA, or the VMA forbids the access */
	FAULT_OOM,	/* no frame for the page, a table or an rmap item */
};

/* On FAULT_DONE, *ptepp is va's PTE slot (present), for the caller. */
enum fault_result fault_handle(struct mm *mm, vaddr_t va, unsigned flags,
			       pte_t **ptepp);

/* The trap resolver registered with trap_install (native mode). */
enum trap_verdict fault_trap_resolve(void *owner, vaddr_t va, bool write);

#endif /* VMEMU_FAULT_H */
