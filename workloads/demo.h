/*
 * workloads/demo.h - the task functions of `vmemu run`'s built-in
 * demonstration, until the synthetic workloads land.
 *
 * Each works in both modes: in native mode it loads and stores through
 * vm_ptr (real memory, verified byte for byte); in trace mode it issues
 * the same accesses through vm_access (there is no data to verify).  Each
 * returns the number of pages whose contents were wrong (0 = all good).
 */
#ifndef VMEMU_WL_DEMO_H
#define VMEMU_WL_DEMO_H

#include "vm/vm.h"

struct wl_demo_args {
	struct vm *vm;	 /* for vm_wait on children */
	uint64_t npages; /* working-set size */
};

/* mmap npages, write a pattern of (pid, va) to every page, verify it. */
int wl_fill_verify(struct vm_task *t, void *arg);
/* Write npages, fork two children that overwrite halves (COW), verify all. */
int wl_fork_cow(struct vm_task *t, void *arg);
/* Read npages never written: every read maps the shared zero frame. */
int wl_zero_reader(struct vm_task *t, void *arg);
/* Load from address 0: ends with an emulated SIGSEGV. */
int wl_null_deref(struct vm_task *t, void *arg);

#endif /* VMEMU_WL_DEMO_H */
