/*
 * vm/vm_events.h - the list of the machine's counters (vm/vmstat.h has
 * the funnel that moves them and what the flags mean).  No dependencies:
 * struct vm sizes its counter array with NR_VM_EVENTS.
 */
#ifndef VMEMU_VM_EVENTS_H
#define VMEMU_VM_EVENTS_H

enum { VMS_LINUX = 1u << 0, VMS_EVENT = 1u << 1 };

/* X(id, field, procname, flags, description) */
#define VM_EVENTS(X)                                                       \
	X(PGFAULT, pgfault, pgfault, VMS_LINUX,                            \
	  "faults that changed what a PTE maps or grants")                 \
	X(PGMAJFAULT, pgmajfault, pgmajfault, VMS_LINUX,                   \
	  "faults that needed I/O")                                        \
	X(PGALLOC_NORMAL, pgalloc_normal, pgalloc_normal, VMS_LINUX,       \
	  "frames handed out")                                             \
	X(PGFREE, pgfree, pgfree, VMS_LINUX, "frames given back")          \
	X(PSWPIN, pswpin, pswpin, VMS_LINUX, "pages read from swap")       \
	X(PSWPOUT, pswpout, pswpout, VMS_LINUX, "pages written to swap")   \
	X(PGSCAN_KSWAPD, pgscan_kswapd, pgscan_kswapd, VMS_LINUX,          \
	  "pages scanned by kswapd")                                       \
	X(PGSCAN_DIRECT, pgscan_direct, pgscan_direct, VMS_LINUX,          \
	  "pages scanned by direct reclaim")                               \
	X(PGSTEAL_KSWAPD, pgsteal_kswapd, pgsteal_kswapd, VMS_LINUX,       \
	  "pages reclaimed by kswapd")                                     \
	X(PGSTEAL_DIRECT, pgsteal_direct, pgsteal_direct, VMS_LINUX,       \
	  "pages reclaimed by direct reclaim")                             \
	X(ALLOCSTALL, allocstall, allocstall_normal, VMS_LINUX,            \
	  "allocations that entered direct reclaim")                       \
	X(OOM_KILL, oom_kill, oom_kill, VMS_LINUX | VMS_EVENT,             \
	  "a task killed by the OOM killer")                               \
	X(ANON_FAULT, anon_fault, anon_fault, VMS_EVENT,                   \
	  "demand-zero fault: a fresh zeroed frame (arg: pages mapped)")   \
	X(ZERO_PAGE_MAP, zero_page_map, zero_page_map, VMS_EVENT,          \
	  "read of untouched memory mapped to the shared zero frame")      \
	X(COW_FAULT, cow_fault, cow_fault, VMS_EVENT,                      \
	  "write to a shared frame: copied (arg: the old pfn)")            \
	X(COW_REUSE, cow_reuse, cow_reuse, VMS_EVENT,                      \
	  "write to a write-protected frame it alone maps: reused")        \
	X(TLB_REFILL, tlb_refill, tlb_refill, VMS_EVENT,                   \
	  "native: PTE valid, host mapping missing (not a page fault)")    \
	X(DIRTY_TRAP, dirty_trap, dirty_trap, VMS_EVENT,                   \
	  "native: first write to a clean page sets its dirty bit")        \
	X(SEGV, segv, segv, VMS_EVENT,                                     \
	  "emulated SIGSEGV delivered to the faulting task")               \
	X(TLB_HIT, tlb_hit, tlb_hit, 0,                                    \
	  "trace: accesses the software TLB served without a walk")        \
	X(TLB_MISS, tlb_miss, tlb_miss, 0,                                 \
	  "trace: accesses that needed a page walk")                       \
	X(TLB_FLUSH, tlb_flush, tlb_flush, 0,                              \
	  "trace: software TLB entries shot down")                         \
	X(FAULT_AROUND, fault_around, fault_around, 0,                     \
	  "pages mapped ahead by anonymous fault-around")                  \
	X(HMAP_FLUSH, hmap_flush, hmap_flush, VMS_EVENT,                   \
	  "native: a window's host mappings flushed to free map slots")    \
	X(TASK_SPAWN, task_spawn, task_spawn, VMS_EVENT, "a task started") \
	X(TASK_FORK, task_fork, task_fork, VMS_EVENT,                      \
	  "a task forked (pid: the child, arg: the parent)")               \
	X(TASK_EXIT, task_exit, task_exit, VMS_EVENT,                      \
	  "a task ended (arg: its exit reason)")

enum vm_event {
#define VM_EVENT_ENUM(id, field, proc, flags, doc) VME_##id,
	VM_EVENTS(VM_EVENT_ENUM)
#undef VM_EVENT_ENUM
		NR_VM_EVENTS
};

#endif /* VMEMU_VM_EVENTS_H */
