/*
 * mmu/hostmap.h - host mappings of window pages: the entries of native
 * mode's emulated hardware TLB, as the host kernel keeps them.
 *
 * Operations (all SIGSAFE, on ranges of npages >= 1 inside one window):
 *   hostmap_map     map memfd frames pfn..pfn+npages-1 at va..va+npages
 *                   pages (MAP_SHARED|MAP_FIXED) with the given protection;
 *   hostmap_protect change the host protection of mapped pages;
 *   hostmap_revoke  replace with a fresh PROT_NONE anonymous mapping (never
 *                   munmap inside a window): a TLB shootdown.
 * When the host refuses a mapping for lack of map slots (vm.max_map_count),
 * hostmap_map returns -ENOMEM; the emulated kernel treats the host mappings
 * as a TLB of finite size and flushes (revokes whole windows) to make room
 * (vm/hosttlb.c, with the budget of mmu/mapslots.h).
 *
 * Ballast: at vm.max_map_count the host refuses every mmap, even one that
 * would replace many mappings by one, so a revoke (the very operation that
 * frees map slots) fails too.  While any window exists this module keeps
 * HOSTMAP_BALLAST_VMAS one-page mappings of its own; hostmap_revoke and
 * hostmap_protect unmap one at a time when the host says ENOMEM and retry,
 * and re-create them after a success.
 *
 * Locking: none of its own; the emulated kernel serialises changes to one
 * window (the machine lock).  Ballast slots and statistics are atomics.
 */
#ifndef VMEMU_HOSTMAP_H
#define VMEMU_HOSTMAP_H

#include <stddef.h>

#include "base/types.h"
#include "mmu/trap.h"

/* Spare map slots released when the host is at vm.max_map_count. */
#define HOSTMAP_BALLAST_VMAS 4

/* Host protections of a window page. */
enum {
	HOSTMAP_PROT_NONE = 0,
	HOSTMAP_PROT_READ = 1,
	HOSTMAP_PROT_RW = 3,
	/* Or-ed into hostmap_map's prot: populate the host PTEs now (a run
	 * the task is about to write, to save the host a fault per page). */
	HOSTMAP_POPULATE = 0x10,
};

/* SIGSAFE; 0 or -errno (-EINVAL for a range outside w or a bad prot). */
int hostmap_map(struct trap_window *w, vaddr_t va, int memfd, pfn_t pfn,
		size_t npages, int prot);
int hostmap_protect(struct trap_window *w, vaddr_t va, size_t npages, int prot);
int hostmap_revoke(struct trap_window *w, vaddr_t va, size_t npages);

/* Ballast: trap.c fills it with the first window, drains after the last. */
void hostmap_ballast_fill(void);
void hostmap_ballast_drain(void);

/* Host-mapping calls that succeeded, process-wide. */
struct hostmap_stats {
	uint64_t maps, protects, revokes;
};
void hostmap_get_stats(struct hostmap_stats *st);

#endif /* VMEMU_HOSTMAP_H */
