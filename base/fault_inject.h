/*
 * base/fault_inject.h - failure injection, after Linux's fault-injection
 * framework (Documentation/fault-injection/fault-injection.rst): a named
 * point in the code asks should_fail() whether this call fails, and the
 * answer follows the point's attributes, with Linux's meanings:
 *
 *   probability  percent of eligible calls that fail (0: never; disabled)
 *   interval     only every interval-th eligible call may fail (0 or 1:
 *                every call is eligible)
 *   times        failures left; -1 for no limit (Linux's default is 1)
 *   space        a size budget: calls are let through, each taking its
 *                size from it, until it is used up
 *
 * The order of the tests is Linux's: probability 0 -> no; times == 0 -> no;
 * space left -> take size, no; interval -> count, no unless a multiple;
 * probability -> random draw.  "Fail the N-th call, once" is probability
 * 100, interval N, times 1.  The random draw is a counter-based hash of the
 * seed, so a seeded run fails the same calls again.
 *
 * Thread safety: every field a call changes is atomic, so points on paths
 * without a common lock (swap I/O) need no lock.  SIGSAFE.
 */
#ifndef VMEMU_FAULT_INJECT_H
#define VMEMU_FAULT_INJECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fault_attr {
	_Atomic unsigned probability; /* 0..100 */
	_Atomic unsigned long interval;
	_Atomic long times;
	_Atomic long space;
	_Atomic unsigned long count; /* eligible calls seen (interval) */
	_Atomic uint64_t draws;	     /* random draws made */
	_Atomic uint64_t failed;     /* failures injected so far */
	uint64_t seed;
};

/* Disabled (probability 0), interval 1, times 1, space 0, as Linux. */
void fault_attr_init(struct fault_attr *a, uint64_t seed);
/*
 * Set the attributes (and reset count and failed).  -EINVAL when
 * probability > 100 or times < -1 or space < 0.
 */
int fault_attr_set(struct fault_attr *a, unsigned probability,
		   unsigned long interval, long times, long space);
/* SIGSAFE.  Whether this call of size `size` fails. */
bool should_fail(struct fault_attr *a, size_t size);

#endif /* VMEMU_FAULT_INJECT_H */
