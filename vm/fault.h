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
	FAULT_SWAPIN,	  /* a swap entry whose page must be read (or is
			     being read): fault_state.slot */
	FAULT_RETRY,	  /* run the fault again (after a read or a wait) */
	FAULT_OOM,	  /* reclaim could not help; the OOM killer chose */
	FAULT_HOST_NOMEM, /* the host refused a mapping (mmap ENOMEM) */
	FAULT_SIGBUS,	  /* the page could not be read back */
	FAULT_KILLED,	  /* the task was already killed: it leaves */
	FAULT_FILEREAD,	  /* a file page must be read (or is being read,
			     or its readahead marker was hit): fault_state
			     .file, .pgoff, .ra_async */
	FAULT_BUSY,	  /* a page is being written: wait a moment, again */
};

struct filemap;

/* What one fault carries across its restarts. */
struct fault_state {
	pte_t *ptep;	      /* FAULT_DONE: va's PTE slot (present) */
	uint64_t slot;	      /* FAULT_SWAPIN: the swap slot to bring in */
	struct filemap *file; /* FAULT_FILEREAD: the object */
	uint64_t pgoff;	      /* FAULT_FILEREAD: the page in it */
	bool ra_async;	      /* FAULT_FILEREAD: the marker was hit */
	bool major;	      /* it read the page it needed: pgmajfault */
	unsigned nread;	      /* pages read (with readahead) */
	/* In: va's PTE slot as the caller's own walk found it, with no page
	   table freed since (vm->pt_frees), or NULL; fault_handle takes it
	   instead of walking, and clears it. */
	pte_t *walked;
};

/*
 * SIGSAFE, lock held.  One attempt: FAULT_DONE, FAULT_SEGV, FAULT_SWAPIN,
 * FAULT_FILEREAD, FAULT_BUSY, or FAULT_NOMEM with everything it started
 * undone, so that it can be run again.
 */
enum fault_result fault_handle(struct mm *mm, vaddr_t va, unsigned flags,
			       struct fault_state *fs);

/*
 * SIGSAFE.  The restartable fault: fault_handle, swap reads and waits,
 * reclaim and retry, the OOM killer (see fault.c).  Called without the
 * lock, returns with it.
 */
enum fault_result fault_resolve(struct mm *mm, vaddr_t va, unsigned flags,
				struct vm_task *self, struct fault_state *fs);

/* SIGSAFE, lock held.  The fault r ended self's life: mark why. */
void fault_kill(struct vm_task *self, enum fault_result r, vaddr_t va);

/* The errno a failed access reports (when the caller does not leave). */
int fault_errno(enum fault_result r);

/*
 * Exact replacement's vm_access_next and vm_access_batch (fault_exact.c);
 * t is valid, with an mm.
 */
int fault_exact_access(struct vm_task *t, uint64_t va, int write,
		       uint64_t next_use);
int fault_exact_batch(struct vm_task *t, const struct vm_ref *ref, size_t n,
		      size_t *done);

/* The trap resolver registered with trap_install (native mode). */
enum trap_verdict fault_trap_resolve(void *owner, vaddr_t va, bool write);

#endif /* VMEMU_FAULT_H */
