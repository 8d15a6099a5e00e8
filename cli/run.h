/*
 * cli/run.h - what `vmemu run`'s files share: the parsed command line
 * (a vm_config and one task per -w), the tasks' state while they run,
 * the /proc snapshots taken on the way.
 *
 *   run.c       options -> struct cli_run; vm_create; spawn; exit status
 *   scenario.c  the built-in scenario (a list of -w specs) and the story
 *               it tells while it runs, each line triggered by a counter
 *   monitor.c   waits for the tasks: reaps exits, the once-a-second
 *               line on a terminal, SIGINT/SIGTERM, a failed event log,
 *               /proc snapshots
 *   kmsg.c      the kernel's OOM reports: queued by the machine's
 *               service thread (vm_config.oom_report), printed by the
 *               main thread
 *   summary.c   the per-task table and the /proc texts at the end
 *
 * Only the main thread touches a struct cli_run, except r->kmsg (its
 * own lock).
 */
#ifndef VMEMU_CLI_RUN_H
#define VMEMU_CLI_RUN_H

#include <pthread.h>

#include "cli/cli.h"
#include "vm/vm.h"
#include "workloads/wl.h"

/* /proc files shown at the end (vm_procfs names); ENOENT ones skipped. */
#define CLI_NR_SNAP 4 /* taken while tasks run, at the lowest free memory */

struct cli_task {
	struct wl_spec spec;
	struct wl_run *run;
	int pid;       /* > 0 once spawned */
	int start_err; /* vm_spawn's or wl_run_new's -errno */
	bool reaped;   /* ex is valid */
	struct vm_exit ex;
};

/* OOM reports waiting for the main thread (kmsg.c). */
struct cli_kmsg {
	pthread_mutex_t lock;
	char **texts; /* malloc'd, oldest first */
	size_t n, cap;
	unsigned lost; /* reports the host had no memory to queue */
};

/* What the scenario's story has told so far (scenario.c). */
struct cli_story {
	unsigned told;				   /* bit per milestone */
	uint64_t wmark_min, wmark_low, wmark_high; /* pages (zoneinfo) */
	uint64_t low_free;			   /* lowest free seen */
};

struct cli_run {
	struct vm_config cfg;
	const char *mem_text; /* --mem as given, for messages */
	const char *prog;     /* how to name vmemu in hints ("./vmemu") */
	bool quiet;
	bool swap_set; /* --swap given (the scenario picks one otherwise) */
	bool builtin;  /* no -w given: the built-in scenario */
	struct cli_task *tasks;
	size_t ntasks, cap;
	char *cmdline; /* cfg.log_cmdline */
	struct vm *vm;
	int signo;	   /* SIGINT/SIGTERM that ended the run, or 0 */
	unsigned asides;   /* story lines and reports printed so far */
	char *log_err;	   /* the event log's error that stopped the run */
	double start_secs; /* monotonic, when the tasks were spawned */
	struct cli_kmsg kmsg;
	struct cli_story story;
	/* Snapshots while tasks ran (monitor.c), freed by cli_run_free. */
	char *snap[CLI_NR_SNAP];
	double snap_secs;   /* when, seconds after the start */
	uint64_t snap_free; /* nr_free_pages then */
};

extern const char *const cli_snap_names[CLI_NR_SNAP];

/* Add a task for spec; 0 or -ENOMEM. */
int cli_run_add(struct cli_run *r, const struct wl_spec *spec);
/*
 * The built-in scenario's tasks, sized for cfg.mem_bytes, and its swap
 * (mem/2) unless --swap was given; 0 or -errno.
 */
int cli_scenario_build(struct cli_run *r);
/* Its description for --help. */
extern const char cli_scenario_help[];
/* The scenario's story: what to watch (after the header line) ... */
void cli_story_intro(struct cli_run *r);
/* ... a line for each milestone the counters in st show first ... */
void cli_story_poll(struct cli_run *r, const struct vm_stat *st, double secs);
/* ... the OOM killer's choice (victim parsed from the report) ... */
void cli_story_oom(struct cli_run *r, const char *report);
/* ... and what the counters say at the end (before vm_destroy). */
void cli_story_end(const struct cli_run *r, const struct vm_stat *st);
/* The report and query commands that show run run_id of the log. */
void cli_print_hints(const struct cli_run *r, long long run_id);

/* Monotonic seconds. */
double cli_now_secs(void);

/* kmsg.c: the sink vm_config.oom_report points at (any thread). */
void cli_kmsg_init(struct cli_kmsg *k);
void cli_kmsg_sink(void *arg, const char *text);
/* Print the queued reports on stderr (main thread); unless quiet. */
void cli_kmsg_flush(struct cli_run *r);
void cli_kmsg_destroy(struct cli_kmsg *k);

/* Catch SIGINT/SIGTERM (a flag the monitor polls); once only each. */
void cli_signals_install(void);
/*
 * Wait until every spawned task was reaped (vm_wait), with the progress
 * line when progress is set; on SIGINT/SIGTERM kill them all first and
 * set r->signo; when the event log fails (vm_log_error), say so in one
 * line, kill them all and set r->log_err.
 */
void cli_monitor(struct cli_run *r, bool progress);

/* The task table and totals; the number of tasks that failed. */
int cli_summary_print(const struct cli_run *r);
/* /proc texts: the snapshots, then those read now (after exit). */
void cli_procfs_print(const struct cli_run *r);
/* A /proc text of vm (malloc'd), or NULL if vm_procfs has no such file. */
char *cli_procfs_read(struct vm *vm, const char *name);

#endif /* VMEMU_CLI_RUN_H */
