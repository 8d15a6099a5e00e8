/*
 * tests/lib/replay.h - replay a reference string through exact replacement
 * (vm_config.exact_frames): one task, one page per reference, through
 * vm_access_next with each reference's next use (so OPT can run), then
 * the machine's invariant walkers.  For the policy tests and the
 * simulator's.
 */
#ifndef VMEMU_TEST_REPLAY_H
#define VMEMU_TEST_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

struct replay_result {
	uint64_t misses;    /* pgfault over the replay */
	uint64_t majfaults; /* misses on pages evicted before */
	uint64_t evictions; /* vm_stat.evict */
	uint64_t resident;  /* data pages resident at the end */
	int check;	    /* vmtest_check_all at the end (0: ok) */
	int access_err;	    /* first vm_access error (0: none) */
	struct vm_exit ex;  /* how the task ended */
};

/*
 * Replay pages[0..n) (page numbers below 2^20; writes[i] != 0: a store,
 * NULL: all loads) with `frames` frames under policy.  0, or -errno when
 * the machine could not be made (err holds vm_create's message).
 */
int replay_exact(const char *policy, uint64_t frames, const uint64_t *pages,
		 const uint8_t *writes, size_t n, struct replay_result *out,
		 char *err, size_t errlen);

/* next[i] = the index of the next reference to pages[i], or UINT64_MAX. */
void replay_next_use(const uint64_t *pages, size_t n, uint64_t *next);

#endif /* VMEMU_TEST_REPLAY_H */
