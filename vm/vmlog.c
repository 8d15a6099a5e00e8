/*
 * vm/vmlog.c - the machine's event log: what vm/evlog.c is told about this
 * machine, and when.
 *
 *   event kinds   the VMS_EVENT entries of VM_EVENTS, in their order (the
 *                 counter funnel emits each one from the call that counts
 *                 it: vm/vmstat.c);
 *   vmstat        every /proc/vmstat line (gauges and counters, named as
 *                 /proc/vmstat prints them) every log_sample_ms, from the
 *                 service thread, and once more at the end: the last row
 *                 equals vm_stat();
 *   psi           /proc/pressure/memory's two lines with each sample;
 *   tasks         a row at spawn/fork, completed at exit;
 *   oom_kills     each OOM decision with its candidates (reclaim/oom.c);
 *   runs          the configuration as JSON, the command line, the
 *                 version, the seed, the exit status (vm_set_exit_status);
 *   leaks         a task's leak report, from its C library (vm_log_leaks).
 *
 * Locking: vmlog_open/vmlog_close run on the controlling thread; the
 * samples on the service thread, taking the machine lock only to read
 * (evlog calls are never made with it held, except evlog_emit, which is
 * designed for it).  Not SIGSAFE but vmlog_kind.
 */
#include "vm/vmlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "reclaim/psi.h"
#include "reclaim/reclaim.h"
#include "vm/evlog.h"
#include "vm/vmstat.h"

#define JSON_MAX      2048
#define LEAK_JSON_MAX 1024 /* VM_LEAKS_TOP objects of < 128 bytes */

static struct evlog_kind kinds[NR_VM_EVENTS];
static unsigned kind_of[NR_VM_EVENTS]; /* vm_event -> evlog kind */
static unsigned nr_kinds;

/* The kinds table (built once; the same for every machine). */
static void build_kinds(void)
{
	if (nr_kinds)
		return;
	for (unsigned e = 0; e < NR_VM_EVENTS; e++) {
		if (!(vm_event_desc[e].flags & VMS_EVENT))
			continue;
		kind_of[e] = nr_kinds;
		kinds[nr_kinds++] =
			(struct evlog_kind){ vm_event_desc[e].procname,
					     vm_event_desc[e].doc };
	}
}

SIGSAFE unsigned vmlog_kind(enum vm_event e)
{
	return kind_of[e];
}

/* vm_config as JSON, for the runs row. */
static void config_json(const struct vm_config *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "{\"mem_bytes\":%llu,\"swap_bytes\":%llu,\"swap_path\":"
		 "\"%s\",\"policy\":\"%s\",\"swappiness\":%d,"
		 "\"min_free_kbytes\":%d,\"watermark_scale_factor\":%d,"
		 "\"page_cluster\":%d,\"kswapd\":%s,\"mode\":\"%s\","
		 "\"seed\":%llu,\"anon_fault_around\":%u,\"panic_on_oom\":%s,"
		 "\"oom_kill_allocating_task\":%s,\"log_events\":\"%s\","
		 "\"log_sample_ms\":%u,\"aging_budget_pct\":%d}",
		 (unsigned long long)c->mem_bytes,
		 (unsigned long long)c->swap_bytes,
		 c->swap_path ? c->swap_path : "", c->policy ? c->policy : "",
		 c->swappiness, c->min_free_kbytes, c->watermark_scale_factor,
		 c->page_cluster, c->kswapd ? "true" : "false",
		 c->mode == VM_MODE_NATIVE ? "native" : "trace",
		 (unsigned long long)c->seed, c->anon_fault_around,
		 c->panic_on_oom ? "true" : "false",
		 c->oom_kill_allocating_task ? "true" : "false",
		 c->log_events ? c->log_events : "all", c->log_sample_ms,
		 c->aging_budget_pct);
}

int vmlog_open(struct vm *vm, char *err, size_t errlen)
{
	static char names[VMSTAT_MAX_LINES][VMSTAT_NAME_MAX];
	static const char *counters[VMSTAT_MAX_LINES];
	char json[JSON_MAX];
	struct evlog_config cfg = { 0 };
	unsigned n;

	if (!vm->cfg.log_path)
		return 0;
	build_kinds();
	n = vmstat_names(names, VMSTAT_MAX_LINES);
	for (unsigned i = 0; i < n; i++)
		counters[i] = names[i];
	config_json(&vm->cfg, json, sizeof(json));
	cfg.path = vm->cfg.log_path;
	cfg.kinds = kinds;
	cfg.nr_kinds = nr_kinds;
	cfg.counters = counters;
	cfg.nr_counters = n;
	cfg.enabled = vm->cfg.log_events;
	cfg.ring_records = vm->cfg.log_ring;
	cfg.config_json = json;
	cfg.cmdline = vm->cfg.log_cmdline;
	cfg.version = VM_VERSION;
	cfg.seed = vm->cfg.seed;
	vm->nr_log_counters = n;
	return evlog_open(&cfg, &vm->log, err, errlen);
}

void vmlog_sample(struct vm *vm)
{
	uint64_t values[VMSTAT_MAX_LINES];
	struct psi_snapshot ps;
	struct evlog_psi_line some, full;
	uint64_t t;

	if (!vm->log)
		return;
	vmstat_values(vm, values, VMSTAT_MAX_LINES);
	t = evlog_now(vm->log);
	evlog_vmstat(vm->log, t, values);
	if (!vm->reclaim)
		return;
	reclaim_psi_read(vm, &ps);
	some = (struct evlog_psi_line){ ps.some_avg10, ps.some_avg60,
					ps.some_avg300, ps.some_total_us };
	full = (struct evlog_psi_line){ ps.full_avg10, ps.full_avg60,
					ps.full_avg300, ps.full_total_us };
	evlog_psi(vm->log, t, &some, &full);
}

void vmlog_task_start(struct vm *vm, const struct vm_task *t)
{
	struct evlog_task row = { t->pid, t->ppid, t->comm, t->oom_score_adj,
				  0 };

	if (!vm->log)
		return;
	row.t_start_ns = evlog_now(vm->log);
	evlog_task(vm->log, &row);
}

static const char *const reason_names[] = {
	[VM_EXIT_NORMAL] = "exit",
	[VM_EXIT_OOM_KILLED] = "oom_killed",
	[VM_EXIT_SEGV] = "segv",
	[VM_EXIT_SIGBUS] = "sigbus",
	[VM_EXIT_HOST_NOMEM] = "host_nomem",
	[VM_EXIT_ABORT] = "abort",
	[VM_EXIT_PANIC] = "panic",
	[VM_EXIT_KILLED] = "killed",
};

void vmlog_task_exit(struct vm *vm, const struct vm_task *t)
{
	const struct vm_exit *ex = &t->exit;
	struct evlog_task_exit row = {
		.pid = t->pid,
		.reason = reason_names[ex->reason],
		.code = ex->code,
		.fault_va = ex->reason == VM_EXIT_SEGV ||
					    ex->reason == VM_EXIT_SIGBUS ?
				    ex->fault_va :
				    EVLOG_NONE,
		.msg = ex->msg[0] ? ex->msg : NULL,
		.peak_rss_pages = ex->ru.maxrss,
		.minflt = ex->ru.minflt,
		.majflt = ex->ru.majflt,
		.swapins = ex->ru.swapins,
	};

	if (!vm->log)
		return;
	row.t_end_ns = evlog_now(vm->log);
	evlog_task_exit(vm->log, &row);
}

int vmlog_close(struct vm *vm, char *err, size_t errlen)
{
	int rc;

	if (!vm->log)
		return 0;
	vmlog_sample(vm); /* the last row equals vm_stat() */
	rc = evlog_close(vm->log, vm->exit_status, err, errlen);
	vm->log = NULL;
	return rc;
}

/* The largest leaked blocks as a JSON array (docs/evlog.md, leaks). */
static void leaks_json(const struct vm_leaks *lk, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "[");

	for (unsigned i = 0; i < lk->ntop && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n,
				      "%s{\"va\":%" PRIu64 ",\"bytes\":%" PRIu64
				      ",\"granted\":%" PRIu64
				      ",\"mmapped\":%d}",
				      i ? "," : "", lk->top[i].va,
				      lk->top[i].nbytes, lk->top[i].granted,
				      lk->top[i].mmapped);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

int vm_log_leaks(struct vm_task *t, const struct vm_leaks *lk)
{
	char json[LEAK_JSON_MAX];
	struct evlog_leaks row;
	struct vm *vm;

	if (!task_valid(t) || !lk || lk->ntop > VM_LEAKS_TOP)
		return -EINVAL;
	vm = t->vm;
	if (!vm->log)
		return 0;
	leaks_json(lk, json, sizeof(json));
	row = (struct evlog_leaks){ t->pid,	evlog_now(vm->log), lk->blocks,
				    lk->nbytes, lk->granted,	    json };
	return evlog_leaks(vm->log, &row);
}
