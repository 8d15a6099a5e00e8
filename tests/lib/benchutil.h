/*
 * tests/lib/benchutil.h - timing helpers shared by the benchmarks.
 *
 * A figure is the median of a few repetitions (the machine is a noisy
 * 2-core VM: the median resists the outliers, min and max show the spread).
 * Not SIGSAFE (bench_report prints); bench_now_ns is.
 */
#ifndef VMEMU_TESTS_BENCHUTIL_H
#define VMEMU_TESTS_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/*
 * Pin the calling thread, and every thread it creates after, to the CPU
 * it runs on now, unless BENCH_PIN=0: a single-core replay that the
 * scheduler moves between the host's two cores loses its caches (L2 is
 * per core), which made the spread of bench_exact's runs twice as wide.
 * Prints the CPU, or why it did not pin; returns it, or -1.
 */
int bench_pin_cpu(const char *bench);

/* Sort v[0..n) in place and return its median (n >= 1). */
double bench_median(double *v, size_t n);

/*
 * Print one line: what, median unit, (min, max; n reps), then note (may be
 * NULL).  Sorts v.  Returns the median.
 */
double bench_report(const char *what, double *v, size_t n, const char *unit,
		    const char *note);

#endif /* VMEMU_TESTS_BENCHUTIL_H */
