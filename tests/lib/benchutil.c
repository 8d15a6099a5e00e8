/*
 * tests/lib/benchutil.c - see benchutil.h.
 */
#include "tests/lib/benchutil.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000ULL

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int bench_pin_cpu(const char *bench)
{
	const char *env = getenv("BENCH_PIN");
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (env && strcmp(env, "0") == 0) {
		printf("%s: not pinned (BENCH_PIN=0)\n", bench);
		return -1;
	}
	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set) < 0) {
		printf("%s: not pinned: %s\n", bench, strerror(errno));
		return -1;
	}
	printf("%s: pinned to CPU %d (BENCH_PIN=0: not)\n", bench, cpu);
	return cpu;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_report(const char *what, double *v, size_t n, const char *unit,
		    const char *note)
{
	double med = bench_median(v, n);

	printf("%-56s %9.3f %-8s (min %.3f, max %.3f; %zu reps)%s%s\n", what,
	       med, unit, v[0], v[n - 1], n, note ? "  " : "",
	       note ? note : "");
	fflush(stdout);
	return med;
}
