/*
 * tests/test_psi.c - memory pressure stall information (reclaim/psi.h).
 *
 * The references are independent of the code: timelines whose totals and
 * fixed-point averages were worked out by hand (docs/psi.md shows the
 * arithmetic), the true exponentials X * (1 - e^(-2s/window)), and a naive
 * model that keeps the whole event list, integrates the state over any
 * interval by scanning it, and runs Linux's averaging definitions in
 * doubles.  A randomized run drives psi and the model with the same
 * events, folds and reads, comparing totals exactly and averages within
 * the fixed point's rounding, with psi_check after every step.  Misuse
 * must hit BUG_ON (in a child); psi_check must name each corruption.
 *
 * The clock is injected: no test sleeps or reads the time.  SEED=<n>
 * replays the randomized run.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#include "base/types.h"
#include "reclaim/psi.h"

#define MS(x)  ((uint64_t)(x)*1000000ULL)
#define SEC(x) ((uint64_t)(x)*1000000000ULL)
#define P      PSI_PERIOD_NS
#define T0     12345678901ULL /* init time: nothing assumes a round clock */
#define FIX    2048.0	      /* FIXED_1 of Linux's averages */

/* Linux's constants, the definitions the averages follow. */
static const double exp_fixed[PSI_NR_WINDOWS] = { 1677, 1981, 2034 };
static const double window_s[PSI_NR_WINDOWS] = { 10, 60, 300 };
/*
 * Fixed point against doubles.  Each fold rounds by under a unit (1/2048
 * %), an error that decays by EXP per period: under 1 / (1 - EXP/2048)
 * units, 0.003, 0.015, 0.071 %.  A fold after n missed periods decays by
 * fixed_power(EXP, n), which is off e^n by up to a unit of the factor
 * (biased low): up to 0.05 % of a 100 % average each time, adding up over
 * a run's late folds and fading slowest for avg300.  Measured over 4000
 * random runs: 0.039, 0.062, 0.13; the bounds leave a margin.
 */
static const double tol_model[PSI_NR_WINDOWS] = { 0.06, 0.1, 0.25 };

static const char *zero_text =
	"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";

/* ---- helpers ----------------------------------------------------------- */

#define assert_near(got, want, tol)                                          \
	do {                                                                 \
		double g_ = (got), w_ = (want), t_ = (tol);                  \
		if (!(fabs(g_ - w_) <= t_))                                  \
			fail_msg("%s = %.6f, want %.6f +- %g", #got, g_, w_, \
				 t_);                                        \
	} while (0)

static double avg_of(const struct psi_snapshot *s, int state, int w)
{
	const double some[] = { s->some_avg10, s->some_avg60, s->some_avg300 };
	const double full[] = { s->full_avg10, s->full_avg60, s->full_avg300 };

	return state == PSI_SOME ? some[w] : full[w];
}

static void expect_text(struct psi *p, uint64_t now, const char *want)
{
	char buf[PSI_TEXT_MAX];
	int n = psi_text(p, now, buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

/* The averages psi_read gives at now: exactly want (fixed point / 2048). */
static void expect_avgs(struct psi *p, uint64_t now, int state,
			const double want[PSI_NR_WINDOWS])
{
	struct psi_snapshot s;

	psi_read(p, now, &s);
	for (int w = 0; w < PSI_NR_WINDOWS; w++)
		assert_near(avg_of(&s, state, w), want[w], 1e-12);
}

/* ---- the model --------------------------------------------------------- */

#define MAX_EVENTS 8192

static struct model {
	int n;
	uint64_t t[MAX_EVENTS];
	int nonidle[MAX_EVENTS], memstall[MAX_EVENTS]; /* from t[i] on */
	uint64_t last, next;
	uint64_t carry[PSI_NR_STATES];
	uint64_t total[PSI_NR_STATES], total_at; /* state time to total_at */
	double avg[PSI_NR_STATES][PSI_NR_WINDOWS];
} m;

static void model_init(uint64_t now)
{
	memset(&m, 0, sizeof(m));
	m.n = 1;
	m.t[0] = now;
	m.last = now;
	m.next = now + P;
	m.total_at = now;
}

static void model_change(uint64_t now, int dn, int dm)
{
	assert_true(m.n < MAX_EVENTS);
	m.t[m.n] = now;
	m.nonidle[m.n] = m.nonidle[m.n - 1] + dn;
	m.memstall[m.n] = m.memstall[m.n - 1] + dm;
	m.n++;
}

static int model_in(int state, int i)
{
	if (!m.memstall[i])
		return 0;
	return state == PSI_SOME || m.memstall[i] == m.nonidle[i];
}

/* Time in state within [from, to], by scanning the stretches from the
 * last event at or before from (found by bisection). */
static uint64_t model_time_in(int state, uint64_t from, uint64_t to)
{
	int lo = 0, hi = m.n - 1;
	uint64_t sum = 0;

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (m.t[mid] <= from)
			lo = mid;
		else
			hi = mid - 1;
	}
	for (int i = lo; i < m.n && m.t[i] < to; i++) {
		uint64_t a = m.t[i] > from ? m.t[i] : from;
		uint64_t b = i + 1 < m.n && m.t[i + 1] < to ? m.t[i + 1] : to;

		if (a < b && model_in(state, i))
			sum += b - a;
	}
	return sum;
}

/* Linux's update_averages + calc_avgs, in doubles. */
static void model_fold(uint64_t now)
{
	uint64_t missed, period;

	if (now < m.next)
		return;
	missed = (now - m.next) / P;
	period = now - (m.last + missed * P);
	for (int s = 0; s < PSI_NR_STATES; s++) {
		uint64_t pend = m.carry[s] + model_time_in(s, m.last, now);
		uint64_t sample = pend < period ? pend : period;
		double pct = (double)(sample * 100 / period); /* whole % */

		m.carry[s] = pend - sample;
		for (int w = 0; w < PSI_NR_WINDOWS; w++) {
			double e = exp_fixed[w] / FIX;

			m.avg[s][w] *= pow(e, (double)missed);
			m.avg[s][w] = m.avg[s][w] * e + pct * (1 - e);
		}
	}
	m.last = now;
	m.next += (1 + missed) * P;
}

/* psi_read and the model's fold at now; totals exact, averages close. */
static void compare(struct psi *p, uint64_t now)
{
	struct psi_snapshot s;

	psi_read(p, now, &s);
	model_fold(now);
	for (int st = 0; st < PSI_NR_STATES; st++)
		m.total[st] += model_time_in(st, m.total_at, now);
	m.total_at = now;
	assert_int_equal(psi_check(p), 0);
	assert_int_equal(psi_next_update_ns(p), m.next);
	assert_int_equal(s.some_total_us, m.total[PSI_SOME] / 1000);
	assert_int_equal(s.full_total_us, m.total[PSI_FULL] / 1000);
	for (int st = 0; st < PSI_NR_STATES; st++)
		for (int w = 0; w < PSI_NR_WINDOWS; w++)
			assert_near(avg_of(&s, st, w), m.avg[st][w],
				    tol_model[w]);
}

/* Both: psi and the model see the same change. */
static void change(struct psi *p, uint64_t now, int dn, int dm)
{
	psi_task_change(p, now, dn, dm);
	model_change(now, dn, dm);
	assert_int_equal(psi_check(p), 0);
}

/* One task stalled for the first pct % of each period k0 .. k1-1, with a
 * fold exactly at each period's end. */
static void stall_periods(struct psi *p, int k0, int k1, unsigned pct)
{
	for (int k = k0; k < k1; k++) {
		uint64_t start = T0 + (uint64_t)k * P;

		if (pct) {
			change(p, start, 0, +1);
			change(p, start + P / 100 * pct, 0, -1);
		}
		compare(p, start + P);
	}
}

/* ---- totals ------------------------------------------------------------ */

static void test_psi_init_reads_zero(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	assert_int_equal(psi_check(&p), 0);
	assert_int_equal(psi_next_update_ns(&p), T0 + P);
	expect_text(&p, T0 + SEC(7), zero_text);
	psi_read(&p, T0 + SEC(7), &s);
	assert_true(s.some_avg10 == 0 && s.some_avg300 == 0 &&
		    s.full_avg60 == 0 && s.some_total_us == 0 &&
		    s.full_total_us == 0);
	assert_int_equal(psi_next_update_ns(&p), T0 + SEC(8));
}

/*
 * Two tasks A and B (ms after T0):
 *      0 A, B start          1100 A stalls          1500 B stalls
 *    100 A stalls            1100.0015 A leaves     1800 A exits stalled
 *    300 B stalls            1200 B wakes           1900 B leaves
 *    400 A leaves            1300 A stalls
 *    500 B leaves
 *    700 B goes idle
 *    800 A stalls
 *   1000 A leaves
 * SOME: 100-500, 800-1000, 1.5 us, 1300-1900 = 1200.0015 ms
 * FULL: 300-400, 800-1000 (A alone), 1.5 us, 1500-1900 = 700.0015 ms
 */
static void test_psi_totals_scripted_timeline(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0, +1, 0);
	psi_task_change(&p, T0, +1, 0);
	psi_task_change(&p, T0 + MS(100), 0, +1);
	psi_task_change(&p, T0 + MS(300), 0, +1);
	psi_task_change(&p, T0 + MS(400), 0, -1);
	psi_task_change(&p, T0 + MS(500), 0, -1);
	psi_read(&p, T0 + MS(600), &s);
	assert_int_equal(s.some_total_us, 400000);
	assert_int_equal(s.full_total_us, 100000);
	psi_task_change(&p, T0 + MS(700), -1, 0);
	psi_task_change(&p, T0 + MS(800), 0, +1);
	psi_task_change(&p, T0 + MS(1000), 0, -1);
	psi_task_change(&p, T0 + MS(1100), 0, +1);
	psi_task_change(&p, T0 + MS(1100) + 1500, 0, -1);
	psi_read(&p, T0 + MS(1150), &s);
	assert_int_equal(s.some_total_us, 600001); /* 600001.5 truncated */
	assert_int_equal(s.full_total_us, 300001);
	psi_task_change(&p, T0 + MS(1200), +1, 0);
	psi_task_change(&p, T0 + MS(1300), 0, +1);
	psi_task_change(&p, T0 + MS(1500), 0, +1);
	psi_task_change(&p, T0 + MS(1800), -1, -1);
	psi_task_change(&p, T0 + MS(1900), 0, -1);
	assert_int_equal(psi_check(&p), 0);
	expect_text(&p, T0 + MS(1999),
		    "some avg10=0.00 avg60=0.00 avg300=0.00 total=1200001\n"
		    "full avg10=0.00 avg60=0.00 avg300=0.00 total=700001\n");
	/* At 2 s: SOME 60.000075 % -> 60, FULL 35 %; from zero, one fold
	 * gives pct * (FIXED_1 - EXP) exactly. */
	expect_avgs(&p, T0 + P, PSI_SOME,
		    (double[]){ 60 * 371 / FIX, 60 * 67 / FIX, 60 * 14 / FIX });
	expect_avgs(&p, T0 + P, PSI_FULL,
		    (double[]){ 35 * 371 / FIX, 35 * 67 / FIX, 35 * 14 / FIX });
}

/* An ongoing stall counts up to now, in every read, and keeps counting. */
static void test_psi_totals_include_ongoing_stall(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0 + MS(10), +2, 0);
	psi_task_change(&p, T0 + MS(20), 0, +1);
	psi_read(&p, T0 + MS(20) + 999, &s);
	assert_int_equal(s.some_total_us, 0);
	psi_read(&p, T0 + MS(20) + 1000, &s);
	assert_int_equal(s.some_total_us, 1);
	psi_read(&p, T0 + SEC(5) + MS(20), &s);
	assert_int_equal(s.some_total_us, 5000000);
	assert_int_equal(s.full_total_us, 0);
	psi_task_change(&p, T0 + SEC(6) + MS(20), 0, +1);
	psi_read(&p, T0 + SEC(9) + MS(20), &s);
	assert_int_equal(s.some_total_us, 9000000);
	assert_int_equal(s.full_total_us, 3000000);
}

/* Random run of one task: FULL is SOME, in totals and averages. */
static void test_psi_one_task_full_equals_some(void **state)
{
	uint64_t rng = vmtest_seed(__func__) | 1, now = T0;
	int mode = 0; /* 0 idle, 1 running, 2 stalled */
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	model_init(T0);
	for (int i = 0; i < 2000; i++) {
		int to = (int)(vmtest_rand(&rng) % 3);

		now += vmtest_rand(&rng) % MS(400);
		if (to != mode)
			change(&p, now, (to > 0) - (mode > 0),
			       (to == 2) - (mode == 2));
		mode = to;
		if (vmtest_rand(&rng) % 4 == 0)
			compare(&p, now);
	}
	psi_read(&p, now, &s);
	assert_true(s.some_total_us > 0);
	assert_int_equal(s.full_total_us, s.some_total_us);
	assert_true(s.some_avg10 == s.full_avg10 &&
		    s.some_avg60 == s.full_avg60 &&
		    s.some_avg300 == s.full_avg300);
}

/* Nobody non-idle: nothing accrues; someone always running: no FULL. */
static void test_psi_no_nonidle_no_full(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0, +3, 0);
	psi_task_change(&p, T0 + MS(1), -3, 0);
	psi_read(&p, T0 + SEC(4), &s);
	assert_int_equal(s.some_total_us, 0);
	assert_int_equal(s.full_total_us, 0);
	psi_task_change(&p, T0 + SEC(4), +2, 0);
	for (int k = 0; k < 40; k++) {
		uint64_t t = T0 + SEC(4) + (uint64_t)k * P;

		psi_task_change(&p, t, 0, +1); /* one stalls, one runs */
		psi_task_change(&p, t + MS(1500), 0, -1);
		psi_update(&p, t + P);
	}
	psi_read(&p, T0 + SEC(84), &s);
	assert_int_equal(s.some_total_us, 40 * 1500000);
	assert_int_equal(s.full_total_us, 0);
	assert_true(s.some_avg10 > 74 && s.some_avg10 <= 75);
	assert_true(s.full_avg10 == 0 && s.full_avg60 == 0 &&
		    s.full_avg300 == 0);
	assert_int_equal(psi_check(&p), 0);
}

/* A stale now_ns counts as the latest time seen: no negative stretches. */
static void test_psi_clock_never_runs_backwards(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0 + MS(100), +1, +1);
	psi_task_change(&p, T0 + MS(90), 0, -1); /* read before the lock */
	psi_read(&p, T0 + MS(50), &s);
	assert_int_equal(s.some_total_us, 0);
	psi_task_change(&p, T0 + MS(200), 0, +1);
	psi_read(&p, T0 + MS(150), &s); /* counts as 200 ms */
	assert_int_equal(s.some_total_us, 0);
	psi_read(&p, T0 + MS(300), &s);
	assert_int_equal(s.some_total_us, 100000);
	psi_update(&p, T0 + SEC(3));
	psi_update(&p, T0 + SEC(1)); /* no second fold, no underflow */
	assert_int_equal(psi_next_update_ns(&p), T0 + 2 * P);
	assert_int_equal(psi_check(&p), 0);
}

/* ---- averages ---------------------------------------------------------- */

/* A period only partly over is not folded; its end is. */
static void test_psi_partial_period_not_folded(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0, +1, +1);
	psi_read(&p, T0 + P - 1, &s);
	assert_int_equal(s.some_total_us, P / 1000 - 1);
	assert_true(s.some_avg10 == 0 && s.full_avg300 == 0);
	psi_update(&p, T0 + P - 1);
	assert_int_equal(psi_next_update_ns(&p), T0 + P);
	psi_read(&p, T0 + P, &s);
	assert_near(s.some_avg10, 100 * 371 / FIX, 1e-12);
	assert_int_equal(psi_next_update_ns(&p), T0 + 2 * P);
	psi_read(&p, T0 + 2 * P - 1, &s); /* the next one is partial again */
	assert_near(s.some_avg10, 100 * 371 / FIX, 1e-12);
}

/* One period at X %: avgW = X (1 - e^(-2s/W)), up to the constants'
 * rounding (2034 stands for 2034.39: 0.019 at X = 100). */
static void test_psi_one_period_matches_exponentials(void **state)
{
	static const unsigned xs[] = { 100, 50, 25, 5 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(xs); i++) {
		struct psi p;
		struct psi_snapshot s;

		uint64_t len = P / 100 * xs[i], start = T0 + (P - len) / 2;

		psi_init(&p, T0);
		psi_task_change(&p, T0, +1, 0);
		psi_task_change(&p, start, 0, +1);
		psi_task_change(&p, start + len, 0, -1);
		psi_read(&p, T0 + P, &s);
		for (int w = 0; w < PSI_NR_WINDOWS; w++) {
			double want = xs[i] * (1 - exp(-2 / window_s[w]));

			assert_near(avg_of(&s, PSI_SOME, w), want, 0.02);
			assert_near(avg_of(&s, PSI_FULL, w), want, 0.02);
		}
	}
}

/* docs/psi.md's worked example: 100 % for one period, then 0 %. */
static void test_psi_worked_example_text(void **state)
{
	struct psi p;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0, +1, +1);
	psi_task_change(&p, T0 + P, 0, -1);
	expect_text(&p, T0 + P,
		    "some avg10=18.11 avg60=3.27 avg300=0.68 total=2000000\n"
		    "full avg10=18.11 avg60=3.27 avg300=0.68 total=2000000\n");
	expect_text(&p, T0 + 2 * P,
		    "some avg10=14.83 avg60=3.16 avg300=0.67 total=2000000\n"
		    "full avg10=14.83 avg60=3.16 avg300=0.67 total=2000000\n");
}

/* The sample is whole percents: 15.95 % of a period counts as 15 %. */
static void test_psi_pct_whole_percents(void **state)
{
	struct psi p;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0, +1, +1);
	psi_task_change(&p, T0 + MS(319), 0, -1);
	expect_avgs(&p, T0 + P, PSI_SOME,
		    (double[]){ 15 * 371 / FIX, 15 * 67 / FIX, 15 * 14 / FIX });
	expect_text(&p, T0 + P,
		    "some avg10=2.71 avg60=0.49 avg300=0.10 total=319000\n"
		    "full avg10=2.71 avg60=0.49 avg300=0.10 total=319000\n");
}

/* Constant 40 %: every fold as the model; then exactly 40.00. */
static void test_psi_converges_to_constant_pressure(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	model_init(T0);
	change(&p, T0, +1, 0);
	stall_periods(&p, 0, 60, 40);
	psi_read(&p, T0 + 60 * P, &s);
	assert_near(s.some_avg10, 40.0, 0); /* exact from the 51st */
	assert_true(s.some_avg60 < 40 && s.some_avg300 < 40);
	stall_periods(&p, 60, 3000, 40);
	expect_text(
		&p, T0 + 3000 * P,
		"some avg10=40.00 avg60=40.00 avg300=40.00 total=2400000000\n"
		"full avg10=40.00 avg60=40.00 avg300=40.00 total=2400000000\n");
	/* And back to 0 from above: reached exactly, too. */
	stall_periods(&p, 3000, 6000, 0);
	expect_text(
		&p, T0 + 6000 * P,
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=2400000000\n"
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=2400000000\n");
}

/*
 * 100 % in period 1 (folded at 2 s), then no fold until 9 s: periods 2 and
 * 3 are missed (decayed by fixed_power(EXP, 2) = 1373, 1916, 2020), and
 * the one ending at 9 s (3 s long: 9 - (2 + 2 * 2)) samples 0 %.  The next
 * fold stays on the grid, at 10 s.
 */
static void test_psi_missed_periods_decay(void **state)
{
	struct psi p;
	struct psi_snapshot s;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0, +1, +1);
	psi_task_change(&p, T0 + P, 0, -1);
	psi_update(&p, T0 + P);
	psi_update(&p, T0 + SEC(9));
	assert_int_equal(psi_next_update_ns(&p), T0 + SEC(10));
	expect_text(&p, T0 + SEC(9),
		    "some avg10=9.94 avg60=2.95 avg300=0.66 total=2000000\n"
		    "full avg10=9.94 avg60=2.95 avg300=0.66 total=2000000\n");
	psi_read(&p, T0 + SEC(9), &s);
	for (int w = 0; w < PSI_NR_WINDOWS; w++) {
		double e = exp(-2 / window_s[w]);

		assert_near(avg_of(&s, PSI_SOME, w), 100 * (1 - e) * e * e * e,
			    0.03);
	}
	/* Four missed (fold at 12 s): EXP^4 = 920, 1793, 1992 with each
	 * product rounded (truncating would give 1792 for avg60). */
	psi_init(&p, T0);
	psi_task_change(&p, T0, +1, +1);
	psi_task_change(&p, T0 + P, 0, -1);
	psi_update(&p, T0 + P);
	expect_avgs(&p, T0 + SEC(12), PSI_FULL,
		    (double[]){ 13646 / FIX, 5673 / FIX, 1351 / FIX });
	expect_text(&p, T0 + SEC(12),
		    "some avg10=6.66 avg60=2.77 avg300=0.65 total=2000000\n"
		    "full avg10=6.66 avg60=2.77 avg300=0.65 total=2000000\n");
}

/*
 * Stalled from 0 to 8.5 s, folds at 2, 8.5, 10, 12, 14 s.  At 8.5 s two
 * periods are missed and the 2.5-s period takes at most 2.5 s of the 6.5 s
 * pending: the other 4 s wait and come out as 100 % at 10 s (1.5 s) and
 * 12 s (2 s), then 25 % at 14 s (0.5 s of 2), as Linux punts an overage.
 */
static void test_psi_missed_periods_carry_overage(void **state)
{
	static const uint64_t folds[] = { SEC(2),  MS(8500), SEC(10),
					  SEC(12), SEC(14),  SEC(16) };
	struct psi p;

	(void)state;
	psi_init(&p, T0);
	model_init(T0);
	change(&p, T0, +1, +1);
	for (size_t i = 0; i < ARRAY_SIZE(folds); i++) {
		if (i == 1)
			change(&p, T0 + MS(8500), 0, -1);
		compare(&p, T0 + folds[i]);
		if (i == 3)
			assert_int_equal(m.carry[PSI_SOME], MS(500));
	}
	assert_int_equal(m.carry[PSI_SOME], 0);
	assert_int_equal(p.avg_total_ns[PSI_SOME], MS(8500));
	/* avg10 in fixed point: 37100 at 2 s, 20366 after the missed
	 * periods, then 100, 100, 100, 25 and 0 %: docs/psi.md. */
	expect_text(&p, T0 + SEC(16),
		    "some avg10=38.41 avg60=12.26 avg300=2.83 total=8500000\n"
		    "full avg10=38.41 avg60=12.26 avg300=2.83 total=8500000\n");
}

/* A late fold samples the real time since the last; the grid holds. */
static void test_psi_late_fold_keeps_grid(void **state)
{
	struct psi p;

	(void)state;
	psi_init(&p, T0);
	model_init(T0);
	change(&p, T0, +2, 0);
	change(&p, T0 + MS(1000), 0, +1);
	change(&p, T0 + MS(2400), 0, -1);
	compare(&p, T0 + MS(2500)); /* 1.4 s of 2.5: 56 % */
	assert_int_equal(psi_next_update_ns(&p), T0 + SEC(4));
	expect_avgs(&p, T0 + MS(2500), PSI_SOME,
		    (double[]){ 56 * 371 / FIX, 56 * 67 / FIX, 56 * 14 / FIX });
	change(&p, T0 + MS(3100), 0, +1);
	compare(&p, T0 + SEC(4)); /* 0.9 s of 1.5: 60 % */
	assert_int_equal(psi_next_update_ns(&p), T0 + SEC(6));
	compare(&p, T0 + MS(7999)); /* no fold: the period ends at 6 s */
	compare(&p, T0 + SEC(8) + 7);
	assert_int_equal(psi_next_update_ns(&p), T0 + SEC(10));
}

/*
 * Randomized: 1..4 tasks idle/running/stalled, folds near each period's
 * end (a little late, sometimes several periods late), reads anywhere.
 */
static void random_run(uint64_t *rng, int ntasks, int nsteps)
{
	int mode[4] = { 0 };
	uint64_t now = T0;
	struct psi p;

	psi_init(&p, T0);
	model_init(T0);
	for (int i = 0; i < nsteps; i++) {
		int t = (int)(vmtest_rand(rng) % (uint64_t)ntasks);
		int to = (int)(vmtest_rand(rng) % 3);
		uint64_t r = vmtest_rand(rng) % 16;

		now += vmtest_rand(rng) % MS(300);
		if (to != mode[t])
			change(&p, now, (to > 0) - (mode[t] > 0),
			       (to == 2) - (mode[t] == 2));
		mode[t] = to;
		if (r == 0)
			compare(&p, now);
		if (now >= psi_next_update_ns(&p) && r < 12) {
			now += vmtest_rand(rng) % MS(50);
			compare(&p, now);
		}
		if (r == 15 && vmtest_rand(rng) % 4 == 0)
			now += vmtest_rand(rng) % SEC(12); /* folds missed */
	}
	compare(&p, now);
}

static void test_psi_differential_random(void **state)
{
	uint64_t rng = vmtest_seed(__func__) | 1;

	(void)state;
	for (int run = 0; run < 40; run++)
		random_run(&rng, 1 + run % 4, 1500);
}

/* ---- text -------------------------------------------------------------- */

static void test_psi_text_exact_format(void **state)
{
	struct psi p;

	(void)state;
	psi_init(&p, 0);
	expect_text(&p, 0, zero_text);
	/* Two tasks, one stalled 0.5 s: SOME 25 %, FULL 0 %. */
	psi_task_change(&p, 0, +2, 0);
	psi_task_change(&p, MS(100), 0, +1);
	psi_task_change(&p, MS(600), 0, -1);
	expect_text(&p, P,
		    "some avg10=4.52 avg60=0.81 avg300=0.17 total=500000\n"
		    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
}

/* Like snprintf: the whole length, at most len bytes with the NUL. */
static void test_psi_text_like_snprintf(void **state)
{
	char full[PSI_TEXT_MAX], buf[PSI_TEXT_MAX + 8];
	struct psi p;
	int n;

	(void)state;
	psi_init(&p, T0);
	psi_task_change(&p, T0, +1, +1); /* 100 % for long: the widest */
	for (int k = 1; k <= 3000; k++)
		psi_update(&p, T0 + (uint64_t)k * P);
	n = psi_text(&p, T0 + 3000 * P, NULL, 0);
	assert_int_equal(psi_text(&p, T0 + 3000 * P, full, sizeof(full)), n);
	assert_int_equal((int)strlen(full), n);
	assert_true(n < PSI_TEXT_MAX);
	assert_non_null(strstr(full, "some avg10=100.00 avg60=100.00 "
				     "avg300=100.00 total=6000000000\n"));
	for (size_t len = 1; len <= (size_t)n + 2; len++) {
		size_t kept = len - 1 < (size_t)n ? len - 1 : (size_t)n;

		memset(buf, 'X', sizeof(buf));
		assert_int_equal(psi_text(&p, T0 + 3000 * P, buf, len), n);
		assert_memory_equal(buf, full, kept);
		assert_int_equal(buf[kept], '\0');
		assert_int_equal(buf[len], 'X');
	}
	assert_int_equal(psi_text(&p, T0, NULL, 5), -EINVAL);
}

/* ---- misuse and the walker --------------------------------------------- */

enum misuse {
	STALL_WITHOUT_TASK,
	NONIDLE_NEGATIVE,
	MEMSTALL_NEGATIVE,
	IDLE_WHILE_STALLED,
	NR_MISUSES,
};

static void misuse(struct psi *p, enum misuse how)
{
	switch (how) {
	case STALL_WITHOUT_TASK:
		psi_task_change(p, T0, 0, +1);
		break;
	case NONIDLE_NEGATIVE:
		psi_task_change(p, T0, -1, 0);
		break;
	case MEMSTALL_NEGATIVE:
		psi_task_change(p, T0, +1, 0);
		psi_task_change(p, T0, 0, -1);
		break;
	case IDLE_WHILE_STALLED:
		psi_task_change(p, T0, +1, +1);
		psi_task_change(p, T0, -1, 0);
		break;
	case NR_MISUSES:
		break;
	}
}

static void test_psi_misuse_bugs(void **state)
{
	(void)state;
	for (int how = 0; how < NR_MISUSES; how++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct psi p;

			if (!freopen("/dev/null", "w", stderr))
				_exit(1);
			psi_init(&p, T0);
			misuse(&p, how);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
			fail_msg("misuse %d did not hit BUG_ON (status %#x)",
				 how, status);
	}
}

static void test_psi_check_detects_corruption(void **state)
{
	struct psi good, p;

	(void)state;
	psi_init(&good, T0);
	psi_task_change(&good, T0, +2, +1);
	psi_task_change(&good, T0 + MS(500), 0, +1);
	psi_update(&good, T0 + SEC(3));
	assert_int_equal(psi_check(&good), 0);
#define CORRUPT(stmt, code)                            \
	do {                                           \
		p = good;                              \
		stmt;                                  \
		assert_int_equal(psi_check(&p), code); \
	} while (0)
	CORRUPT(p.nr_memstall = 3, PSI_CHECK_COUNT);
	CORRUPT(p.nr_memstall = -1, PSI_CHECK_COUNT);
	CORRUPT(p.state_start_ns = p.clock_ns + 1, PSI_CHECK_CLOCK);
	CORRUPT(p.avg_last_update_ns = p.clock_ns + 1, PSI_CHECK_CLOCK);
	CORRUPT(p.avg_next_update_ns = p.avg_last_update_ns, PSI_CHECK_CLOCK);
	CORRUPT(p.avg_next_update_ns += P, PSI_CHECK_CLOCK);
	CORRUPT(p.total_ns[PSI_FULL] = p.total_ns[PSI_SOME] + 1,
		PSI_CHECK_FULL);
	CORRUPT(p.avg_total_ns[PSI_FULL] += SEC(1), PSI_CHECK_FOLDED);
	CORRUPT(p.avg[PSI_SOME][PSI_AVG300] = 100 * PSI_FIXED_1 + 1,
		PSI_CHECK_AVG);
#undef CORRUPT
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psi_init_reads_zero),
		cmocka_unit_test(test_psi_totals_scripted_timeline),
		cmocka_unit_test(test_psi_totals_include_ongoing_stall),
		cmocka_unit_test(test_psi_one_task_full_equals_some),
		cmocka_unit_test(test_psi_no_nonidle_no_full),
		cmocka_unit_test(test_psi_clock_never_runs_backwards),
		cmocka_unit_test(test_psi_partial_period_not_folded),
		cmocka_unit_test(test_psi_one_period_matches_exponentials),
		cmocka_unit_test(test_psi_worked_example_text),
		cmocka_unit_test(test_psi_pct_whole_percents),
		cmocka_unit_test(test_psi_converges_to_constant_pressure),
		cmocka_unit_test(test_psi_missed_periods_decay),
		cmocka_unit_test(test_psi_missed_periods_carry_overage),
		cmocka_unit_test(test_psi_late_fold_keeps_grid),
		cmocka_unit_test(test_psi_differential_random),
		cmocka_unit_test(test_psi_text_exact_format),
		cmocka_unit_test(test_psi_text_like_snprintf),
		cmocka_unit_test(test_psi_misuse_bugs),
		cmocka_unit_test(test_psi_check_detects_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
