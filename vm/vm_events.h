/*
 * vm/vm_events.h - the list of the machine's counters (vm/vmstat.h has
 * the funnel that moves them and what the flags mean).  No dependencies:
 * struct vm sizes its counter array with NR_VM_EVENTS.
 */
#ifndef VMEMU_VM_EVENTS_H
#define VMEMU_VM_EVENTS_H

enum { VMS_LINUX = 1u << 0, VMS_EVENT = 1u << 1 };

/* X(id, field, procname, flags, description) */
#define VM_EVENTS(X)                                                          \
	X(PGFAULT, pgfault, pgfault, VMS_LINUX,                               \
	  "faults that changed what a PTE maps or grants")                    \
	X(PGMAJFAULT, pgmajfault, pgmajfault, VMS_LINUX,                      \
	  "faults that needed I/O")                                           \
	X(PGALLOC_NORMAL, pgalloc_normal, pgalloc_normal, VMS_LINUX,          \
	  "frames handed out")                                                \
	X(PGFREE, pgfree, pgfree, VMS_LINUX, "frames given back")             \
	X(PSWPIN, pswpin, pswpin, VMS_LINUX | VMS_EVENT,                      \
	  "a page read from swap (slot; arg: 1 if readahead)")                \
	X(PSWPOUT, pswpout, pswpout, VMS_LINUX | VMS_EVENT,                   \
	  "a page written to swap (slot)")                                    \
	X(PGPGIN, pgpgin, pgpgin, VMS_LINUX, "KiB read from swap")            \
	X(PGPGOUT, pgpgout, pgpgout, VMS_LINUX, "KiB written to swap")        \
	X(PGSCAN_KSWAPD, pgscan_kswapd, pgscan_kswapd, VMS_LINUX,             \
	  "pages scanned by kswapd")                                          \
	X(PGSCAN_DIRECT, pgscan_direct, pgscan_direct, VMS_LINUX,             \
	  "pages scanned by direct reclaim")                                  \
	X(PGSTEAL_KSWAPD, pgsteal_kswapd, pgsteal_kswapd, VMS_LINUX,          \
	  "pages reclaimed by kswapd")                                        \
	X(PGSTEAL_DIRECT, pgsteal_direct, pgsteal_direct, VMS_LINUX,          \
	  "pages reclaimed by direct reclaim")                                \
	X(PGSCAN_ANON, pgscan_anon, pgscan_anon, VMS_LINUX,                   \
	  "anonymous pages scanned")                                          \
	X(PGSTEAL_ANON, pgsteal_anon, pgsteal_anon, VMS_LINUX,                \
	  "anonymous pages reclaimed")                                        \
	X(PGREFILL, pgrefill, pgrefill, VMS_LINUX,                            \
	  "pages scanned on the active lists")                                \
	X(PGACTIVATE, pgactivate, pgactivate, VMS_LINUX | VMS_EVENT,          \
	  "a page moved to the active list")                                  \
	X(PGDEACTIVATE, pgdeactivate, pgdeactivate, VMS_LINUX | VMS_EVENT,    \
	  "a page moved from the active to the inactive list")                \
	X(PGROTATED, pgrotated, pgrotated, VMS_LINUX,                         \
	  "pages written back and put at the inactive tail")                  \
	X(PAGEOUTRUN, pageoutrun, pageoutrun, VMS_LINUX,                      \
	  "kswapd balancing runs")                                            \
	X(KSWAPD_LOW_WMARK_HIT_QUICKLY, kswapd_low_wmark_hit_quickly,         \
	  kswapd_low_wmark_hit_quickly, VMS_LINUX,                            \
	  "kswapd woken again during its nap")                                \
	X(KSWAPD_HIGH_WMARK_HIT_QUICKLY, kswapd_high_wmark_hit_quickly,       \
	  kswapd_high_wmark_hit_quickly, VMS_LINUX,                           \
	  "kswapd found free below high after its nap")                       \
	X(SLABS_SCANNED, slabs_scanned, slabs_scanned, VMS_LINUX,             \
	  "empty slab frames given back by the slab shrinker")                \
	X(WORKINGSET_REFAULT_ANON, workingset_refault_anon,                   \
	  workingset_refault_anon, VMS_LINUX | VMS_EVENT,                     \
	  "an evicted page faulted back (arg: refault distance)")             \
	X(WORKINGSET_ACTIVATE_ANON, workingset_activate_anon,                 \
	  workingset_activate_anon, VMS_LINUX,                                \
	  "refaults within the workingset size: activated")                   \
	X(WORKINGSET_RESTORE_ANON, workingset_restore_anon,                   \
	  workingset_restore_anon, VMS_LINUX,                                 \
	  "refaults of pages that were active when evicted")                  \
	X(SWAP_RA, swap_ra, swap_ra, VMS_LINUX, "pages read ahead from swap") \
	X(SWAP_RA_HIT, swap_ra_hit, swap_ra_hit, VMS_LINUX,                   \
	  "faults served by a page read ahead")                               \
	X(ALLOCSTALL, allocstall, allocstall_normal, VMS_LINUX | VMS_EVENT,   \
	  "an allocation entered direct reclaim")                             \
	X(DIRECT_RECLAIM_END, direct_reclaim_end, direct_reclaim_end,         \
	  VMS_EVENT,                                                          \
	  "direct reclaim done (slot: pages scanned, arg: reclaimed)")        \
	X(KSWAPD_WAKE, kswapd_wake, kswapd_wake, VMS_EVENT,                   \
	  "kswapd woken below the low watermark (arg: free pages)")           \
	X(KSWAPD_SLEEP, kswapd_sleep, kswapd_sleep, VMS_EVENT,                \
	  "kswapd went to sleep (arg: free pages)")                           \
	X(EVICT, evict, evict, VMS_EVENT,                                     \
	  "a page reclaimed (slot: its swap slot, arg: 1 if written now)")    \
	X(SWAPIN_FAULT, swapin_fault, swapin_fault, VMS_EVENT,                \
	  "fault on a swap entry (arg: pages read, 0 if cached)")             \
	X(SWAP_WRITE_ERROR, swap_write_error, swap_write_error, VMS_EVENT,    \
	  "a swap write failed: the page stays resident and dirty")           \
	X(SWAP_READ_ERROR, swap_read_error, swap_read_error, VMS_EVENT,       \
	  "a swap read failed (the owner gets SIGBUS)")                       \
	X(AGE_REVOKE, age_revoke, age_revoke, 0,                              \
	  "native: host-mapping revokes made to test accessed bits")          \
	X(AGE_NS, age_ns, age_ns, 0,                                          \
	  "ns reclaim spent testing and clearing accessed bits")              \
	X(AGE_PAGES, age_pages, age_pages, 0,                                 \
	  "pages whose accessed bit reclaim tested and cleared")              \
	X(OOM_KILL, oom_kill, oom_kill, VMS_LINUX | VMS_EVENT,                \
	  "a task killed by the OOM killer")                                  \
	X(ANON_FAULT, anon_fault, anon_fault, VMS_EVENT,                      \
	  "demand-zero fault: a fresh zeroed frame (arg: pages mapped)")      \
	X(ZERO_PAGE_MAP, zero_page_map, zero_page_map, VMS_EVENT,             \
	  "read of untouched memory mapped to the shared zero frame")         \
	X(COW_FAULT, cow_fault, cow_fault, VMS_EVENT,                         \
	  "write to a shared frame: copied (arg: the old pfn)")               \
	X(COW_REUSE, cow_reuse, cow_reuse, VMS_EVENT,                         \
	  "write to a write-protected frame it alone maps: reused")           \
	X(TLB_REFILL, tlb_refill, tlb_refill, VMS_EVENT,                      \
	  "native: PTE valid, host mapping missing (not a page fault)")       \
	X(DIRTY_TRAP, dirty_trap, dirty_trap, VMS_EVENT,                      \
	  "native: first write to a clean page sets its dirty bit")           \
	X(SEGV, segv, segv, VMS_EVENT,                                        \
	  "emulated SIGSEGV (arg: 0 page, 1 segment limit, 2 segment prot)")  \
	X(TLB_HIT, tlb_hit, tlb_hit, 0,                                       \
	  "trace: accesses the software TLB served without a walk")           \
	X(TLB_MISS, tlb_miss, tlb_miss, 0,                                    \
	  "trace: accesses that needed a page walk")                          \
	X(TLB_FLUSH, tlb_flush, tlb_flush, 0,                                 \
	  "trace: software TLB entries shot down")                            \
	X(FAULT_AROUND, fault_around, fault_around, 0,                        \
	  "pages mapped ahead by anonymous fault-around")                     \
	X(HMAP_FLUSH, hmap_flush, hmap_flush, VMS_EVENT,                      \
	  "native: a window's host mappings flushed to free map slots")       \
	X(TASK_SPAWN, task_spawn, task_spawn, VMS_EVENT, "a task started")    \
	X(TASK_FORK, task_fork, task_fork, VMS_EVENT,                         \
	  "a task forked (pid: the child, arg: the parent)")                  \
	X(TASK_EXIT, task_exit, task_exit, VMS_EVENT,                         \
	  "a task ended (arg: its exit reason)")                              \
	X(COMPACT_MIGRATE_SCANNED, compact_migrate_scanned,                   \
	  compact_migrate_scanned, VMS_LINUX,                                 \
	  "frames compaction's migrate scanner looked at")                    \
	X(COMPACT_FREE_SCANNED, compact_free_scanned, compact_free_scanned,   \
	  VMS_LINUX, "frames compaction's free scanner looked at")            \
	X(COMPACT_ISOLATED, compact_isolated, compact_isolated, VMS_LINUX,    \
	  "pages compaction isolated: movable pages and free targets")        \
	X(COMPACT_STALL, compact_stall, compact_stall, VMS_LINUX | VMS_EVENT, \
	  "a high-order allocation ran direct compaction (arg: order)")       \
	X(COMPACT_FAIL, compact_fail, compact_fail, VMS_LINUX | VMS_EVENT,    \
	  "direct compaction did not get the block (slot: pages migrated, "   \
	  "arg: order)")                                                      \
	X(COMPACT_SUCCESS, compact_success, compact_success,                  \
	  VMS_LINUX | VMS_EVENT,                                              \
	  "direct compaction got the block (pfn: it, slot: pages migrated, "  \
	  "arg: order)")                                                      \
	X(PGMIGRATE_SUCCESS, pgmigrate_success, pgmigrate_success, VMS_LINUX, \
	  "pages compaction moved to another frame")                          \
	X(PGMIGRATE_FAIL, pgmigrate_fail, pgmigrate_fail, VMS_LINUX,          \
	  "movable pages compaction isolated but could not move")             \
	X(PGSCAN_FILE, pgscan_file, pgscan_file, VMS_LINUX,                   \
	  "file pages scanned")                                               \
	X(PGSTEAL_FILE, pgsteal_file, pgsteal_file, VMS_LINUX,                \
	  "file pages reclaimed")                                             \
	X(WORKINGSET_REFAULT_FILE, workingset_refault_file,                   \
	  workingset_refault_file, VMS_LINUX | VMS_EVENT,                     \
	  "an evicted file page read back (arg: refault distance)")           \
	X(WORKINGSET_ACTIVATE_FILE, workingset_activate_file,                 \
	  workingset_activate_file, VMS_LINUX,                                \
	  "file refaults within the workingset size: activated")              \
	X(WORKINGSET_RESTORE_FILE, workingset_restore_file,                   \
	  workingset_restore_file, VMS_LINUX,                                 \
	  "file refaults of pages that were active when evicted")             \
	X(NR_DIRTIED, nr_dirtied, nr_dirtied, VMS_LINUX,                      \
	  "file pages that became dirty")                                     \
	X(NR_WRITTEN, nr_written, nr_written, VMS_LINUX | VMS_EVENT,          \
	  "a dirty file page written back (va: its page offset; arg: 0 "      \
	  "reclaim, 1 msync/munmap/exit)")                                    \
	X(FILE_FAULT, file_fault, file_fault, VMS_EVENT,                      \
	  "fault on a file page (arg: pages read, 0 if cached)")              \
	X(SHMEM_FAULT, shmem_fault, shmem_fault, VMS_EVENT,                   \
	  "fault on shared anonymous memory (arg: pages read from swap)")     \
	X(FILE_RA, file_ra, file_ra, 0, "file pages read ahead")              \
	X(FILE_FAULT_AROUND, file_fault_around, file_fault_around, 0,         \
	  "cached file pages mapped ahead by a read fault")                   \
	X(FILE_DROP_CLEAN, file_drop_clean, file_drop_clean, 0,               \
	  "clean file pages reclaimed without I/O")                           \
	X(FILE_READ_ERROR, file_read_error, file_read_error, VMS_EVENT,       \
	  "a file read failed (the faulting task gets SIGBUS)")               \
	X(FILE_WRITE_ERROR, file_write_error, file_write_error, VMS_EVENT,    \
	  "a file write-back failed: the page stays dirty")

enum vm_event {
#define VM_EVENT_ENUM(id, field, proc, flags, doc) VME_##id,
	VM_EVENTS(VM_EVENT_ENUM)
#undef VM_EVENT_ENUM
		NR_VM_EVENTS
};

#endif /* VMEMU_VM_EVENTS_H */
