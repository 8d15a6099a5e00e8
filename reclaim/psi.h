/*
 * reclaim/psi.h - pressure stall information for memory: how much of the
 * wall time the machine's tasks lose waiting for memory, reported as
 * Linux's /proc/pressure/memory (kernel/sched/psi.c).  docs/psi.md has the
 * formulas and a worked example.
 *
 * A task stalls on memory while it does direct reclaim or waits for a page
 * to be read back from swap.  The caller counts the non-idle tasks (alive,
 * not blocked in vm_wait, not asleep) and how many of them are stalled;
 * from the two counts come two states:
 *
 *   SOME   nr_memstall > 0                  somebody waits for memory
 *   FULL   nr_memstall > 0 &&               nobody makes progress: every
 *          nr_memstall == nr_nonidle        non-idle task waits for memory
 *
 * For each state, psi reports
 *
 *   total    microseconds spent in the state, exact from the times of the
 *            changes (an ongoing stall counts up to now_ns);
 *   avg10/60/300   the share of wall time in the state, in percent, as
 *            decaying averages in Linux's fixed point (FIXED_1 = 2^11),
 *            folded once per PSI_PERIOD_NS from the stall time of the
 *            period that ended.  A period only partly over is not folded.
 *
 * The machine is one group on one "CPU": no per-CPU weighting, no cgroups.
 *
 * Invariants (psi_check):
 *  1. 0 <= nr_memstall <= nr_nonidle: a stalled task is a non-idle task.
 *  2. FULL time <= SOME time: FULL implies SOME.
 *  3. The stall time folded into the averages never exceeds the stall time
 *     accrued.
 *  4. No recorded time is later than clock_ns, the latest time seen, and
 *     avg_next_update_ns - PSI_PERIOD_NS <= avg_last_update_ns
 *     < avg_next_update_ns: folds stay on a fixed 2-s grid.
 *  5. Every average is at most 100%.
 *
 * Time.  Every call takes now_ns, a CLOCK_MONOTONIC reading in
 * nanoseconds (tests pass made-up times).  A now_ns older than one already
 * seen counts as that one: the clock never runs backwards here, so a thread
 * that read the clock before it got the lock cannot make time negative.
 *
 * Locking: none inside.  The caller serializes every call on a struct psi
 * (vmemu: the machine lock).
 *
 * Signal safety: everything but psi_text is SIGSAFE (no allocation, no
 * stdio, no locks: integer arithmetic and psi_read's divisions).
 */
#ifndef VMEMU_PSI_H
#define VMEMU_PSI_H

#include <stddef.h>
#include <stdint.h>

#define PSI_PERIOD_NS UINT64_C(2000000000) /* Linux's PSI_FREQ: 2 s per fold */
#define PSI_FSHIFT    11 /* fixed-point bits of the averages */
#define PSI_FIXED_1   (1U << PSI_FSHIFT)
/* Room for psi_text's longest text, NUL included. */
#define PSI_TEXT_MAX 160

enum psi_state {
	PSI_SOME,
	PSI_FULL,
	PSI_NR_STATES,
};

enum psi_window {
	PSI_AVG10,
	PSI_AVG60,
	PSI_AVG300,
	PSI_NR_WINDOWS,
};

/*
 * The accounting of one group.  The caller embeds it and touches it only
 * through the psi_* calls; the fields are here so that no allocation is
 * ever needed.
 */
struct psi {
	int nr_nonidle;		 /* tasks alive and not idle */
	int nr_memstall;	 /* of them, stalled on memory */
	uint64_t clock_ns;	 /* the latest now_ns seen */
	uint64_t state_start_ns; /* when the counts last changed */
	/* Time in each state up to state_start_ns. */
	uint64_t total_ns[PSI_NR_STATES];
	/* Of it, the time folded into the averages. */
	uint64_t avg_total_ns[PSI_NR_STATES];
	uint64_t avg_last_update_ns; /* when the averages were last folded */
	uint64_t avg_next_update_ns; /* the end of the current period */
	/* Percent of wall time, times PSI_FIXED_1. */
	uint64_t avg[PSI_NR_STATES][PSI_NR_WINDOWS];
};

/* What psi_read reports: averages in percent, totals in microseconds. */
struct psi_snapshot {
	double some_avg10, some_avg60, some_avg300;
	double full_avg10, full_avg60, full_avg300;
	uint64_t some_total_us, full_total_us;
};

/* psi_check's codes: which invariant (header comment) is broken. */
enum psi_check_err {
	PSI_CHECK_COUNT = -1701, /* 1: counts negative, or memstall > nonidle */
	PSI_CHECK_FULL = -1702,	 /* 2: FULL time > SOME time */
	PSI_CHECK_FOLDED = -1703, /* 3: more folded than accrued */
	PSI_CHECK_CLOCK = -1704, /* 4: a time past the clock, or off the grid */
	PSI_CHECK_AVG = -1705,	 /* 5: an average above 100% */
};

/*
 * SIGSAFE.  Start at now_ns: no tasks, no stall, the first period ends
 * PSI_PERIOD_NS later.
 */
void psi_init(struct psi *p, uint64_t now_ns);

/*
 * SIGSAFE.  The counts change by d_nonidle and d_memstall at now_ns; the
 * time since the previous change is charged to the states the old counts
 * made.  For one task:
 *
 *   becomes runnable (starts, wakes)           (+1,  0)
 *   enters direct reclaim / waits for swap-in  ( 0, +1)
 *   leaves it                                  ( 0, -1)
 *   goes idle (vm_wait, sleep) or exits        (-1,  0)
 *
 * A task counts once in nr_memstall however its stalls nest, and a stalled
 * task stays non-idle; both deltas at once are one change (a stalled task
 * killed: (-1, -1)).  Counts that would break invariant 1 are a caller bug:
 * BUG_ON.
 */
void psi_task_change(struct psi *p, uint64_t now_ns, int d_nonidle,
		     int d_memstall);

/*
 * SIGSAFE.  Fold the stall time into the averages if the current period
 * is over (Linux's update_averages); nothing otherwise.  The period ending
 * now is sampled over the real time since the last fold, and whole
 * periods that passed without a fold are folded as periods without stall
 * (Linux stops its clock only when idle), their stall time coming out,
 * at most a period per fold, in the folds after.  So call it at every
 * period's end: at psi_next_update_ns() or a little after (a timer armed
 * for that, as Linux's avgs work is).  psi_read and psi_text call it too.
 */
void psi_update(struct psi *p, uint64_t now_ns);

/* SIGSAFE.  When the current period ends: the next psi_update that folds. */
uint64_t psi_next_update_ns(const struct psi *p);

/*
 * SIGSAFE.  psi_update, then the averages (percent, full precision: not
 * truncated to two decimals as the text is) and the totals up to now_ns.
 */
void psi_read(struct psi *p, uint64_t now_ns, struct psi_snapshot *out);

/*
 * psi_update, then the text of /proc/pressure/memory in Linux's exact
 * format: two lines,
 *
 *   some avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu
 *   full avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu total=%llu
 *
 * the averages truncated (not rounded) to two decimals as psi_show does.
 * Like snprintf: writes at most len bytes including the NUL and returns
 * the length of the whole text (less than PSI_TEXT_MAX); buf may be NULL
 * when len is 0.  -EINVAL when buf is NULL and len is not 0.
 */
int psi_text(struct psi *p, uint64_t now_ns, char *buf, size_t len);

/* SIGSAFE.  0, or the psi_check_err of the first broken invariant. */
int psi_check(const struct psi *p);

#endif /* VMEMU_PSI_H */
