/*
 * reclaim/psi.c - memory pressure stall information, Linux's behaviour
 * (kernel/sched/psi.c) for one group on one "CPU".
 *
 * The idea.  Between two changes of the task counts the state (SOME,
 * FULL, or neither) is constant, so the time in each state is exact: each
 * change charges the stretch since the previous one to the states the old
 * counts made (Linux's record_times).  The averages are sampled on a fixed
 * grid of PSI_PERIOD_NS periods:
 *
 *    init       E1=init+2s      E2           E3           E4
 *     |------------|------------|------------|------------|---->
 *                    ^ fold at now >= E1: sample = stall time since the
 *                      last fold, period = now - last fold; next fold at
 *                      E2 whatever now was (no drift).  A fold at now in
 *                      [E3, E4) after one at E1 counts E2 and E3 as missed.
 *
 * Each fold is Linux's update_averages + calc_avgs:
 *
 *   missed = (now - expires) / PERIOD        whole periods with no fold
 *   period = now - (last_fold + missed * PERIOD)
 *   sample = min(stall time not yet folded, period)   the rest waits for
 *                                                     the next folds
 *   avg = avg * EXP^missed             missed periods count as no stall
 *   pct = floor(sample * 100 / period) * FIXED_1      (whole percents)
 *   avg = avg * EXP + pct * (1 - EXP)  per window, EXP = e^(-2s/window)
 *
 * in FIXED_1 = 2^11 fixed point with the kernel's roundings (psi_calc_load,
 * psi_fixed_power).  The invariants are the header's; psi_check walks them.
 *
 * Locking: none; the caller serializes (the machine lock).
 * SIGSAFE: all but psi_text (snprintf).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/types.h"
#include "reclaim/psi.h"

#define NSEC_PER_USEC UINT64_C(1000)
#define PERCENT	      UINT64_C(100)
#define PSI_FULL_PCT  (PERCENT * PSI_FIXED_1) /* 100% in fixed point */

/* e^(-2 s / window) in fixed point: Linux's EXP_10s, EXP_60s, EXP_300s. */
#define PSI_EXP_10S  1677
#define PSI_EXP_60S  1981
#define PSI_EXP_300S 2034

static const uint64_t psi_exp[PSI_NR_WINDOWS] = {
	[PSI_AVG10] = PSI_EXP_10S,
	[PSI_AVG60] = PSI_EXP_60S,
	[PSI_AVG300] = PSI_EXP_300S,
};

/* ---- time in states ---------------------------------------------------- */

/* now_ns, but never before a time already seen (the header's "Time"). */
static uint64_t psi_clock(struct psi *p, uint64_t now_ns)
{
	if (now_ns < p->clock_ns)
		now_ns = p->clock_ns;
	p->clock_ns = now_ns;
	return now_ns;
}

static bool psi_in_state(const struct psi *p, enum psi_state s)
{
	if (p->nr_memstall <= 0)
		return false;
	return s == PSI_SOME || p->nr_memstall == p->nr_nonidle;
}

/* Time in state s up to now_ns (>= state_start_ns), the open stretch too. */
static uint64_t psi_state_time(const struct psi *p, enum psi_state s,
			       uint64_t now_ns)
{
	uint64_t t = p->total_ns[s];

	if (psi_in_state(p, s))
		t += now_ns - p->state_start_ns;
	return t;
}

void psi_init(struct psi *p, uint64_t now_ns)
{
	*p = (struct psi){
		.clock_ns = now_ns,
		.state_start_ns = now_ns,
		.avg_last_update_ns = now_ns,
		.avg_next_update_ns = now_ns + PSI_PERIOD_NS,
	};
}

void psi_task_change(struct psi *p, uint64_t now_ns, int d_nonidle,
		     int d_memstall)
{
	int64_t nonidle = (int64_t)p->nr_nonidle + d_nonidle;
	int64_t memstall = (int64_t)p->nr_memstall + d_memstall;

	BUG_ON(memstall < 0 || memstall > nonidle || nonidle > INT_MAX);
	now_ns = psi_clock(p, now_ns);
	for (int s = 0; s < PSI_NR_STATES; s++)
		p->total_ns[s] = psi_state_time(p, s, now_ns);
	p->state_start_ns = now_ns;
	p->nr_nonidle = (int)nonidle;
	p->nr_memstall = (int)memstall;
}

/* ---- the averages ------------------------------------------------------ */

/* a * b in fixed point, rounded to nearest. */
static uint64_t psi_fixed_mul(uint64_t a, uint64_t b)
{
	return (a * b + PSI_FIXED_1 / 2) >> PSI_FSHIFT;
}

/*
 * x^n in fixed point by squaring, each product rounded: the kernel's
 * fixed_power_int, so that n missed periods decay exactly as there.
 */
static uint64_t psi_fixed_power(uint64_t x, uint64_t n)
{
	uint64_t result = PSI_FIXED_1;

	while (n) {
		if (n & 1)
			result = psi_fixed_mul(result, x);
		n >>= 1;
		if (n)
			x = psi_fixed_mul(x, x);
	}
	return result;
}

/*
 * load * e + active * (1 - e), rounded up while rising (calc_load): a
 * constant input is reached exactly, and 0 is reached from above.
 */
static uint64_t psi_calc_load(uint64_t load, uint64_t e, uint64_t active)
{
	uint64_t next = load * e + active * (PSI_FIXED_1 - e);

	if (active >= load)
		next += PSI_FIXED_1 - 1;
	return next / PSI_FIXED_1;
}

static void psi_calc_avgs(uint64_t avg[PSI_NR_WINDOWS], uint64_t missed,
			  uint64_t sample_ns, uint64_t period_ns)
{
	uint64_t pct = sample_ns * PERCENT / period_ns * PSI_FIXED_1;

	for (int w = 0; w < PSI_NR_WINDOWS; w++) {
		if (missed)
			avg[w] = psi_calc_load(
				avg[w], psi_fixed_power(psi_exp[w], missed), 0);
		avg[w] = psi_calc_load(avg[w], psi_exp[w], pct);
	}
}

/* Fold if the current period is over (update_averages); now_ns clocked. */
static void psi_fold(struct psi *p, uint64_t now_ns)
{
	uint64_t expires = p->avg_next_update_ns;
	uint64_t missed, period;

	if (now_ns < expires)
		return;
	missed = (now_ns - expires) / PSI_PERIOD_NS;
	period = now_ns - (p->avg_last_update_ns + missed * PSI_PERIOD_NS);
	p->avg_next_update_ns = expires + (1 + missed) * PSI_PERIOD_NS;
	p->avg_last_update_ns = now_ns;
	for (int s = 0; s < PSI_NR_STATES; s++) {
		uint64_t sample = psi_state_time(p, s, now_ns);

		sample -= p->avg_total_ns[s];
		if (sample > period) /* the overage waits for later folds */
			sample = period;
		p->avg_total_ns[s] += sample;
		psi_calc_avgs(p->avg[s], missed, sample, period);
	}
}

void psi_update(struct psi *p, uint64_t now_ns)
{
	psi_fold(p, psi_clock(p, now_ns));
}

uint64_t psi_next_update_ns(const struct psi *p)
{
	return p->avg_next_update_ns;
}

/* ---- reading ----------------------------------------------------------- */

static double psi_pct(uint64_t fixed)
{
	return (double)fixed / PSI_FIXED_1;
}

void psi_read(struct psi *p, uint64_t now_ns, struct psi_snapshot *out)
{
	const uint64_t *some = p->avg[PSI_SOME], *full = p->avg[PSI_FULL];

	now_ns = psi_clock(p, now_ns);
	psi_fold(p, now_ns);
	*out = (struct psi_snapshot){
		.some_avg10 = psi_pct(some[PSI_AVG10]),
		.some_avg60 = psi_pct(some[PSI_AVG60]),
		.some_avg300 = psi_pct(some[PSI_AVG300]),
		.full_avg10 = psi_pct(full[PSI_AVG10]),
		.full_avg60 = psi_pct(full[PSI_AVG60]),
		.full_avg300 = psi_pct(full[PSI_AVG300]),
		.some_total_us =
			psi_state_time(p, PSI_SOME, now_ns) / NSEC_PER_USEC,
		.full_total_us =
			psi_state_time(p, PSI_FULL, now_ns) / NSEC_PER_USEC,
	};
}

/* LOAD_INT and LOAD_FRAC: whole percents, then two decimals truncated. */
#define PSI_INT(x)  ((x) >> PSI_FSHIFT)
#define PSI_FRAC(x) PSI_INT(((x) & (PSI_FIXED_1 - 1)) * PERCENT)
#define PSI_AVG_FMT "%" PRIu64 ".%02" PRIu64
#define PSI_LINE_FMT                                                         \
	"%s avg10=" PSI_AVG_FMT " avg60=" PSI_AVG_FMT " avg300=" PSI_AVG_FMT \
	" total=%" PRIu64 "\n"
#define PSI_LINE_ARGS(name, a, total)                              \
	name, PSI_INT((a)[PSI_AVG10]), PSI_FRAC((a)[PSI_AVG10]),   \
		PSI_INT((a)[PSI_AVG60]), PSI_FRAC((a)[PSI_AVG60]), \
		PSI_INT((a)[PSI_AVG300]), PSI_FRAC((a)[PSI_AVG300]), total

int psi_text(struct psi *p, uint64_t now_ns, char *buf, size_t len)
{
	uint64_t some_us, full_us;
	int n;

	if (!buf && len)
		return -EINVAL;
	now_ns = psi_clock(p, now_ns);
	psi_fold(p, now_ns);
	some_us = psi_state_time(p, PSI_SOME, now_ns) / NSEC_PER_USEC;
	full_us = psi_state_time(p, PSI_FULL, now_ns) / NSEC_PER_USEC;
	n = snprintf(buf, len, PSI_LINE_FMT PSI_LINE_FMT,
		     PSI_LINE_ARGS("some", p->avg[PSI_SOME], some_us),
		     PSI_LINE_ARGS("full", p->avg[PSI_FULL], full_us));
	return n < 0 ? -EIO : n;
}

/* ---- invariants -------------------------------------------------------- */

static bool psi_clock_ok(const struct psi *p)
{
	uint64_t next = p->avg_next_update_ns, last = p->avg_last_update_ns;

	return p->state_start_ns <= p->clock_ns && last <= p->clock_ns &&
	       last < next && next - last <= PSI_PERIOD_NS;
}

int psi_check(const struct psi *p)
{
	uint64_t now = p->clock_ns;

	if (p->nr_memstall < 0 || p->nr_memstall > p->nr_nonidle)
		return PSI_CHECK_COUNT;
	if (!psi_clock_ok(p))
		return PSI_CHECK_CLOCK;
	if (psi_state_time(p, PSI_FULL, now) > psi_state_time(p, PSI_SOME, now))
		return PSI_CHECK_FULL;
	for (int s = 0; s < PSI_NR_STATES; s++) {
		if (p->avg_total_ns[s] > psi_state_time(p, s, now))
			return PSI_CHECK_FOLDED;
		for (int w = 0; w < PSI_NR_WINDOWS; w++)
			if (p->avg[s][w] > PSI_FULL_PCT)
				return PSI_CHECK_AVG;
	}
	return 0;
}
