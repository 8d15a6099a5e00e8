/*
 * mmu/trap.h - the narrow OS boundary of native mode: task windows and the
 * SIGSEGV trap.  The host mappings inside a window (the emulated hardware
 * TLB) are mmu/hostmap.h's.
 *
 * A window is a range of host address space reserved PROT_NONE (anonymous,
 * MAP_NORESERVE) that stands for emulated VAs [0, size) of one address
 * space: emulated va lives at host address base + va.  Workload code loads
 * and stores through it.  A touch of a page that has no host mapping, or
 * whose host protection forbids the access, raises SIGSEGV; the handler
 * finds the window, computes va, and calls the resolver the emulated kernel
 * registered.  The resolver installs a host mapping (mmu/hostmap.h) and
 * returns TRAP_RETRY: the handler returns and the instruction restarts.
 *
 *   host:  ... | window 1 (task 1)      | ... | window 2 (task 2)  | ...
 *              base1                          base2
 *              |<-- emulated VA 0..size -->|
 *
 * Resolver verdicts: TRAP_RETRY (resolved: restart the access), TRAP_KILL
 * (the task must end: the handler siglongjmps to the exit point the
 * faulting thread registered with trap_thread_enter; a thread without one
 * treats it as a real crash).
 *
 * Invariants:
 *  1. The window registry is the one documented global (a fixed array of
 *     slots read lock-free by the handler, written under a mutex).
 *  2. A trap outside every window restores the previous/default action and
 *     re-raises: real crashes still crash, with a core dump.
 *  3. The handler saves and restores errno and runs on a per-thread
 *     alternate signal stack (trap_thread_init).
 *
 * Locking: registry writes under the registry mutex; the resolver is called
 * with no trap lock held.  The handler and the host-mapping operations are
 * SIGSAFE.
 */
#ifndef VMEMU_TRAP_H
#define VMEMU_TRAP_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/types.h"

#define TRAP_MAX_WINDOWS 1024

enum trap_verdict {
	TRAP_RETRY = 0,
	TRAP_KILL = 1,
};

struct trap_window;

/*
 * SIGSAFE.  Resolve a trap at emulated va of window w (owner = the pointer
 * given to trap_window_create); write = the access was a store (from the
 * CPU's error code; when the platform cannot tell, false first and true if
 * the same page traps again under a readable mapping).
 */
typedef enum trap_verdict (*trap_resolve_fn)(void *owner, vaddr_t va,
					     bool write);

/*
 * Install the process-wide SIGSEGV handler (refcounted).  0 or -errno:
 * -EINVAL (fn NULL), -EBUSY (already installed with another resolver).
 */
int trap_install(trap_resolve_fn fn);
/* Drop a reference; the last restores the previous SIGSEGV action. */
void trap_uninstall(void);

/*
 * Per thread: give the calling thread an alternate signal stack (needed
 * before it touches a window).  0 or -errno.  trap_thread_fini frees it.
 */
int trap_thread_init(void);
void trap_thread_fini(void);
/*
 * Register the exit point for TRAP_KILL on this thread (NULL to clear).
 * The buffer must stay valid while registered.
 */
void trap_thread_enter(sigjmp_buf *exit_point);

/*
 * Reserve a window of `size` bytes (page multiple) for `owner`.  0 and *out,
 * -EINVAL (size), -ENOMEM (no host address space or no registry slot).
 */
int trap_window_create(uint64_t size, void *owner, struct trap_window **out);
/* Unregister and unmap the whole window (no thread may be using it). */
void trap_window_destroy(struct trap_window *w);
/* SIGSAFE: host address of emulated va in w. */
void *trap_window_addr(const struct trap_window *w, vaddr_t va);
uint64_t trap_window_size(const struct trap_window *w);

/* Counters, process-wide (atomics). */
struct trap_stats {
	uint64_t traps; /* SIGSEGVs inside a window */
	uint64_t kills; /* TRAP_KILL verdicts */
};
void trap_get_stats(struct trap_stats *st);

#endif /* VMEMU_TRAP_H */
