/*
 * cli/summary.c - the end of `vmemu run`: one line per task (pid, name,
 * peak RSS, minor and major faults, swap-ins - struct vm_exit's rusage -
 * and how it ended), the totals, a verdict; then the machine's /proc
 * texts, each labelled with when it was taken: while tasks ran (at the
 * lowest free memory the monitor saw) or after every task exited.
 * No state.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"

#define PAGE_KIB (VM_PAGE_SIZE / 1024)
#define WHAT_LEN 200

/* Read after every task exited (cumulative, or meaningful then). */
static const char *const after_names[] = { "vmstat", "pressure/memory",
					   "swaps" };

static void print_row(const char *pid, const char *name, const char *rss,
		      const struct vm_rusage *ru, const char *end)
{
	if (ru)
		printf("%5s  %-15s %12s %9llu %9llu %9llu  %s\n", pid, name,
		       rss, (unsigned long long)ru->minflt,
		       (unsigned long long)ru->majflt,
		       (unsigned long long)ru->swapins, end);
	else
		printf("%5s  %-15s %12s %9s %9s %9s  %s\n", pid, name, rss, "-",
		       "-", "-", end);
}

/* Did vmemu itself stop the run (a signal, the log failing)? */
static bool stopped(const struct cli_run *r)
{
	return r->signo || r->log_err;
}

/* One task's line; 1 if it did not end as its workload expects. */
static int print_task(const struct cli_run *r, const struct cli_task *t,
		      struct vm_rusage *sum)
{
	char what[WHAT_LEN], end[WHAT_LEN + 16], pid[16], rss[32];
	bool ok;

	if (!t->pid) {
		snprintf(end, sizeof(end), "FAILED: could not start: %s",
			 strerror(-t->start_err));
		print_row("-", t->spec.name, "-", NULL, end);
		return 1;
	}
	wl_run_describe(t->run, &t->ex, what, sizeof(what));
	ok = wl_run_expected(t->run, &t->ex);
	if (ok && strcmp(what, "ok") != 0)
		snprintf(end, sizeof(end), "%s (expected)", what);
	else
		snprintf(end, sizeof(end), "%s%s",
			 ok || stopped(r) ? "" : "FAILED: ", what);
	snprintf(pid, sizeof(pid), "%d", t->pid);
	snprintf(rss, sizeof(rss), "%llu kB",
		 (unsigned long long)(t->ex.ru.maxrss * PAGE_KIB));
	print_row(pid, t->spec.name, rss, &t->ex.ru, end);
	sum->maxrss += t->ex.ru.maxrss;
	sum->minflt += t->ex.ru.minflt;
	sum->majflt += t->ex.ru.majflt;
	sum->swapins += t->ex.ru.swapins;
	return !ok && !stopped(r);
}

int cli_summary_print(const struct cli_run *r)
{
	struct vm_rusage sum = { 0 };
	char rss[32];
	int failed = 0;

	printf("%5s  %-15s %12s %9s %9s %9s  %s\n", "pid", "name", "peak rss",
	       "minflt", "majflt", "swapins", "end");
	for (size_t i = 0; i < r->ntasks; i++)
		failed += print_task(r, &r->tasks[i], &sum);
	snprintf(rss, sizeof(rss), "%llu kB",
		 (unsigned long long)(sum.maxrss * PAGE_KIB));
	print_row("", "total", rss, &sum, "");
	if (r->signo)
		printf("vmemu: interrupted by %s: every task was killed\n",
		       r->signo == SIGINT ? "SIGINT" : "SIGTERM");
	else if (r->log_err)
		printf("vmemu: stopped because the event log failed: every "
		       "task was killed\n");
	else if (failed)
		printf("vmemu: %d of %zu tasks did not end as expected\n",
		       failed, r->ntasks);
	else
		printf("vmemu: every task ended as expected\n");
	return failed;
}

static void print_after(const struct cli_run *r, const char *name)
{
	char *text = cli_procfs_read(r->vm, name);

	if (text)
		printf("== /proc/%s (after every task exited)\n%s", name, text);
	free(text);
}

void cli_procfs_print(const struct cli_run *r)
{
	print_after(r, after_names[0]);
	for (int i = 0; i < CLI_NR_SNAP; i++) {
		if (r->snap[i])
			printf("== /proc/%s (while tasks ran, at the lowest "
			       "free memory seen: %.2f s in)\n%s",
			       cli_snap_names[i], r->snap_secs, r->snap[i]);
		else /* every task ended before the monitor's first look */
			print_after(r, cli_snap_names[i]);
	}
	for (size_t i = 1; i < sizeof(after_names) / sizeof(after_names[0]);
	     i++)
		print_after(r, after_names[i]);
}
