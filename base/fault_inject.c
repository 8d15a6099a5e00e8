/*
 * base/fault_inject.c - should_fail() with Linux's attribute semantics
 * (see fault_inject.h).  Lock-free: atomics only.  SIGSAFE.
 */
#include "base/fault_inject.h"

#include <errno.h>

#define PERCENT 100

/* splitmix64: a good 64-bit mix of a counter. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

void fault_attr_init(struct fault_attr *a, uint64_t seed)
{
	atomic_init(&a->probability, 0);
	atomic_init(&a->interval, 1);
	atomic_init(&a->times, 1);
	atomic_init(&a->space, 0);
	atomic_init(&a->count, 0);
	atomic_init(&a->draws, 0);
	atomic_init(&a->failed, 0);
	a->seed = seed;
}

int fault_attr_set(struct fault_attr *a, unsigned probability,
		   unsigned long interval, long times, long space)
{
	if (probability > PERCENT || times < -1 || space < 0)
		return -EINVAL;
	atomic_store(&a->probability, 0); /* off while the rest changes */
	atomic_store(&a->interval, interval ? interval : 1);
	atomic_store(&a->times, times);
	atomic_store(&a->space, space);
	atomic_store(&a->count, 0);
	atomic_store(&a->failed, 0);
	atomic_store(&a->probability, probability);
	return 0;
}

/* Take size from the space budget while it lasts; true if it did. */
static bool take_space(struct fault_attr *a, size_t size)
{
	long left = atomic_load(&a->space);

	while (left > (long)size)
		if (atomic_compare_exchange_weak(&a->space, &left,
						 left - (long)size))
			return true;
	return false;
}

/* Use up one of `times` (unless unlimited); false if none was left. */
static bool take_time(struct fault_attr *a)
{
	long left = atomic_load(&a->times);

	while (left != -1) {
		if (left == 0)
			return false;
		if (atomic_compare_exchange_weak(&a->times, &left, left - 1))
			return true;
	}
	return true;
}

bool should_fail(struct fault_attr *a, size_t size)
{
	unsigned prob =
		atomic_load_explicit(&a->probability, memory_order_relaxed);
	unsigned long interval;

	if (prob == 0 || atomic_load(&a->times) == 0)
		return false;
	if (take_space(a, size))
		return false;
	interval = atomic_load(&a->interval);
	if (interval > 1 && (atomic_fetch_add(&a->count, 1) + 1) % interval)
		return false;
	if (prob < PERCENT &&
	    mix64(a->seed ^ atomic_fetch_add(&a->draws, 1)) % PERCENT >= prob)
		return false;
	if (!take_time(a))
		return false;
	atomic_fetch_add(&a->failed, 1);
	return true;
}
