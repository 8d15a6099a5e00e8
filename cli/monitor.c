/*
 * cli/monitor.c - the main thread while `vmemu run`'s tasks run.
 *
 * Every MONITOR_POLL_MS it:
 *   1. takes a pending SIGINT/SIGTERM: stops and kills every task (roots
 *      with vm_kill, their forked children through wl_run_kill_children),
 *      then waits for them all and returns;
 *   2. the same when the event log failed (vm_log_error: disk full, ...),
 *      after one line saying so: a run whose log is lost is not worth
 *      finishing;
 *   3. reaps the tasks that exited (vm_task_info says exited, then
 *      vm_wait, which then does not block);
 *   4. prints the kernel's OOM reports queued since (kmsg.c) and, in the
 *      built-in scenario, a line for each milestone reached (story.c);
 *   5. re-reads the snapshot /proc files (meminfo, buddyinfo, zoneinfo,
 *      slabinfo) when free memory is lower than at any look before, so
 *      the end of the run can show the machine at its fullest rather
 *      than empty after every task exited;
 *   6. on a terminal, once a second, prints a line in the spirit of
 *      `vmstat 1` on stderr: free and swap used (KiB), si/so (KiB/s),
 *      faults/s, major faults/s, pgscan/s, pgsteal/s, PSI some avg10, OOM
 *      kills in the second; the header again every screenful, and after
 *      anything else was printed in between (a story line, a report).
 *
 * The signal handler only stores the signal number (the one global of
 * the CLI, a volatile sig_atomic_t as C requires); SA_RESETHAND makes a
 * second Ctrl-C end vmemu at once, should the tasks not stop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/run.h"

#define MONITOR_POLL_MS	     20
#define PROGRESS_PERIOD_SECS 1.0
#define DEFAULT_ROWS	     24
#define NSEC_PER_SEC	     1e9
#define PAGE_KIB	     (VM_PAGE_SIZE / 1024)
#define PROCFS_SLACK	     1024

const char *const cli_snap_names[CLI_NR_SNAP] = { "meminfo", "buddyinfo",
						  "zoneinfo", "slabinfo" };

static volatile sig_atomic_t pending_signal;

static void on_signal(int signo)
{
	pending_signal = signo;
}

void cli_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

char *cli_procfs_read(struct vm *vm, const char *name)
{
	int n = vm_procfs(vm, name, NULL, 0);

	while (n >= 0) {
		size_t len = (size_t)n + PROCFS_SLACK;
		char *buf = malloc(len);

		if (!buf)
			return NULL;
		n = vm_procfs(vm, name, buf, len);
		if (n >= 0 && (size_t)n < len)
			return buf;
		free(buf); /* it grew in between: again */
	}
	return NULL;
}

double cli_now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / NSEC_PER_SEC;
}

/* Reap exited tasks (all of them, waiting, if block); tasks left. */
static size_t reap(struct cli_run *r, bool block)
{
	size_t alive = 0;

	for (size_t i = 0; i < r->ntasks; i++) {
		struct cli_task *t = &r->tasks[i];
		struct vm_task_info info;

		if (!t->pid || t->reaped)
			continue;
		if (!block && vm_task_info(r->vm, t->pid, &info) == 0 &&
		    !info.exited) {
			alive++;
			continue;
		}
		if (vm_wait(r->vm, t->pid, &t->ex) != t->pid)
			t->ex = (struct vm_exit){ .reason = VM_EXIT_KILLED };
		t->reaped = true;
	}
	return alive;
}

static void kill_all(struct cli_run *r)
{
	for (size_t i = 0; i < r->ntasks; i++) {
		struct cli_task *t = &r->tasks[i];

		if (!t->run)
			continue;
		/* Kill first: a workload that saw the stop flag before its
		   kill would end "stopped", not "killed" (a task's exit
		   reason is its kill once it has one). */
		if (t->pid && !t->reaped)
			vm_kill(r->vm, t->pid);
		wl_run_kill_children(t->run);
		wl_run_stop(t->run);
	}
}

static void snapshot(struct cli_run *r, const struct vm_stat *st, double secs)
{
	if (st->nr_free_pages >= r->snap_free)
		return;
	for (int i = 0; i < CLI_NR_SNAP; i++) {
		free(r->snap[i]);
		r->snap[i] = cli_procfs_read(r->vm, cli_snap_names[i]);
	}
	r->snap_free = st->nr_free_pages;
	r->snap_secs = secs;
}

/* The event log's first error, said once: true when the run must stop. */
static bool log_failed(struct cli_run *r)
{
	const char *err = r->log_err ? NULL : vm_log_error(r->vm);

	if (!err)
		return false;
	r->log_err = strdup(err);
	cli_fail("the event log failed, stopping the run: %s", err);
	return true;
}

struct progress {
	bool on;
	unsigned rows, since_header; /* data lines since the last header */
	unsigned asides;	     /* r->asides at the last line */
	double start, last;
	struct vm_stat prev;
};

/*
 * Swap in use, KiB: meminfo's SwapTotal - SwapFree when the machine has
 * that file, else --swap less vm_stat's free slots.
 */
static unsigned long long swap_used_kib(const struct cli_run *r,
					const struct vm_stat *st)
{
	char *text = cli_procfs_read(r->vm, "meminfo");
	const char *tot = text ? strstr(text, "SwapTotal:") : NULL;
	const char *fr = text ? strstr(text, "SwapFree:") : NULL;
	unsigned long long used = 0;

	if (tot && fr)
		used = strtoull(tot + strlen("SwapTotal:"), NULL, 10) -
		       strtoull(fr + strlen("SwapFree:"), NULL, 10);
	else if (r->cfg.swap_bytes / VM_PAGE_SIZE > st->nr_swap_free)
		used = (r->cfg.swap_bytes / VM_PAGE_SIZE - st->nr_swap_free) *
		       PAGE_KIB;
	free(text);
	return used;
}

/* PSI "some avg10" of pressure/memory into buf, or "-". */
static void psi_some10(struct vm *vm, char *buf, size_t len)
{
	char *text = cli_procfs_read(vm, "pressure/memory");
	const char *some = text ? strstr(text, "some avg10=") : NULL;

	snprintf(buf, len, "%s", "-");
	if (some)
		snprintf(buf, len, "%.2f", atof(some + strlen("some avg10=")));
	free(text);
}

static void progress_header(void)
{
	fprintf(stderr, "%6s %9s %9s %8s %8s %8s %7s %8s %8s %6s %5s\n", "secs",
		"free", "swpd", "si", "so", "flt/s", "maj/s", "scan/s",
		"steal/s", "psi10", "kills");
}

#define RATE(f) ((double)(st.f - p->prev.f) / dt)

static void progress_line(struct cli_run *r, struct progress *p, double now)
{
	struct vm_stat st;
	double dt = now - p->last;
	char psi[16];

	vm_stat(r->vm, &st);
	if (++p->since_header > (p->rows > 3 ? p->rows - 2 : 1) ||
	    p->asides != r->asides) {
		progress_header();
		p->since_header = 1;
		p->asides = r->asides;
	}
	psi_some10(r->vm, psi, sizeof(psi));
	fprintf(stderr,
		"%6.0f %9llu %9llu %8.0f %8.0f %8.0f %7.0f %8.0f %8.0f "
		"%6s %5llu\n",
		now - p->start,
		(unsigned long long)(st.nr_free_pages * PAGE_KIB),
		swap_used_kib(r, &st), RATE(pswpin) * PAGE_KIB,
		RATE(pswpout) * PAGE_KIB, RATE(pgfault), RATE(pgmajfault),
		RATE(pgscan_kswapd) + RATE(pgscan_direct),
		RATE(pgsteal_kswapd) + RATE(pgsteal_direct), psi,
		(unsigned long long)(st.oom_kill - p->prev.oom_kill));
	p->prev = st;
	p->last = now;
}

static void progress_init(struct cli_run *r, struct progress *p, bool on)
{
	struct winsize ws;

	memset(p, 0, sizeof(*p));
	p->on = on;
	p->rows = DEFAULT_ROWS;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		p->rows = ws.ws_row;
	p->start = p->last = cli_now_secs();
	vm_stat(r->vm, &p->prev);
	p->since_header = p->rows; /* the header comes with the first line */
	r->snap_free = UINT64_MAX;
}

void cli_monitor(struct cli_run *r, bool on)
{
	const struct timespec poll = { 0, MONITOR_POLL_MS * 1000000L };
	struct progress p;

	progress_init(r, &p, on);
	for (;;) {
		struct vm_stat st;
		double now;

		if (pending_signal || log_failed(r)) {
			r->signo = pending_signal;
			kill_all(r);
			reap(r, true);
			return;
		}
		if (reap(r, false) == 0)
			return;
		now = cli_now_secs();
		vm_stat(r->vm, &st);
		cli_story_poll(r, &st, now - r->start_secs);
		cli_kmsg_flush(r);
		snapshot(r, &st, now - p.start);
		if (p.on && now - p.last >= PROGRESS_PERIOD_SECS)
			progress_line(r, &p, now);
		nanosleep(&poll, NULL);
	}
}
