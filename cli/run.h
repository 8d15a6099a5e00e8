/*
 * cli/run.h - what `vmemu run`'s files share: the parsed command line
 * (a vm_config and one task per -w), the tasks' state while they run,
 * the /proc snapshots taken on the way.
 *
 *   run.c       options -> struct cli_run; vm_create; spawn; exit status
 *   scenario.c  the built-in scenario (a list of -w specs)
 *   monitor.c   waits for the tasks: reaps exits, the once-a-second
 *               line on a terminal, SIGINT/SIGTERM, /proc snapshots
 *   summary.c   the per-task table and the /proc texts at the end
 *
 * Only the main thread touches a struct cli_run.
 */
#ifndef VMEMU_CLI_RUN_H
#define VMEMU_CLI_RUN_H

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

struct cli_run {
	struct vm_config cfg;
	const char *mem_text; /* --mem as given, for messages */
	bool quiet;
	bool builtin; /* no -w given: the built-in scenario */
	struct cli_task *tasks;
	size_t ntasks, cap;
	char *cmdline; /* cfg.log_cmdline */
	struct vm *vm;
	int signo; /* SIGINT/SIGTERM that ended the run, or 0 */
	/* Snapshots while tasks ran (monitor.c), freed by cli_run_free. */
	char *snap[CLI_NR_SNAP];
	double snap_secs;   /* when, seconds after the start */
	uint64_t snap_free; /* nr_free_pages then */
};

extern const char *const cli_snap_names[CLI_NR_SNAP];

/* Add a task for spec; 0 or -ENOMEM. */
int cli_run_add(struct cli_run *r, const struct wl_spec *spec);
/* The built-in scenario's tasks, sized for cfg.mem_bytes; 0 or -errno. */
int cli_scenario_build(struct cli_run *r);
/* Its one-line description for --help. */
extern const char cli_scenario_help[];

/* Catch SIGINT/SIGTERM (a flag the monitor polls); once only each. */
void cli_signals_install(void);
/*
 * Wait until every spawned task was reaped (vm_wait), with the progress
 * line when progress is set; on SIGINT/SIGTERM kill them all first and
 * set r->signo.
 */
void cli_monitor(struct cli_run *r, bool progress);

/* The task table and totals; the number of tasks that failed. */
int cli_summary_print(const struct cli_run *r);
/* /proc texts: the snapshots, then those read now (after exit). */
void cli_procfs_print(const struct cli_run *r);
/* A /proc text of vm (malloc'd), or NULL if vm_procfs has no such file. */
char *cli_procfs_read(struct vm *vm, const char *name);

#endif /* VMEMU_CLI_RUN_H */
