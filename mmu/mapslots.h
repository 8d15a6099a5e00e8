/*
 * mmu/mapslots.h - the budget of host map slots (vm.max_map_count) that the
 * windows of one machine may use.
 *
 * Every host mapping inside a window is one of the process's map slots,
 * and once the process is at vm.max_map_count the kernel refuses every
 * mmap - the emulator's and everybody else's (thread stacks, malloc,
 * SQLite).  So the emulated TLB keeps below a budget: the limit minus a
 * reserve for the rest of the process.
 *
 * Counting slots exactly would mean reading /proc/self/maps on every
 * fault.  Instead each host-mapping call is charged its worst case (two
 * slots: it can split one mapping into three); only when that estimate
 * crosses the budget is the real count read, and the estimate reset to
 * it.  Adjacent mappings the kernel merged were overcharged, so the
 * recount usually finds room; when it does not, the caller flushes
 * windows (mm.c) and recounts.
 *
 * Locking: the machine lock guards a budget.  mapslots_charge and
 * mapslots_recount are SIGSAFE (open/read/close only).
 */
#ifndef VMEMU_MAPSLOTS_H
#define VMEMU_MAPSLOTS_H

#include <stdbool.h>
#include <stdint.h>

/* Slots a single host-mapping call may add. */
#define MAPSLOTS_CALL_COST 2
/* Minimum slots left to the rest of the process. */
#define MAPSLOTS_MIN_RESERVE 512
/* Charges without a check after the windows could not make room. */
#define MAPSLOTS_HOLDOFF 4096

struct mapslots {
	long limit;	   /* slots the process may hold */
	long est;	   /* upper bound of the slots it holds now */
	long holdoff;	   /* charges left before checking again */
	uint64_t recounts; /* times /proc/self/maps was read */
};

/* Budget for a host limit of max_map_count: limit - max(1/8, reserve). */
void mapslots_init(struct mapslots *b, long max_map_count);
/* SIGSAFE.  Number of mappings of this process now, or -errno. */
long mapslots_count(void);
/* SIGSAFE.  Reset the estimate to the real count; true if within budget. */
bool mapslots_recount(struct mapslots *b);
/*
 * SIGSAFE.  Charge one host-mapping call; true while within budget (after
 * a recount if the estimate crossed it).
 */
bool mapslots_charge(struct mapslots *b);
/*
 * SIGSAFE.  Flushing every window did not bring the process under budget:
 * the rest of the process holds the slots.  Stop checking for
 * MAPSLOTS_HOLDOFF charges (a recount per fault would only cost time); the
 * host's own -ENOMEM still stops a mapping that does not fit.
 */
void mapslots_give_up(struct mapslots *b);

/* Live value of /proc/sys/vm/max_map_count, or -errno. */
long mapslots_host_limit(void);

#endif /* VMEMU_MAPSLOTS_H */
