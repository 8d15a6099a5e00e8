/*
 * cli/run.c - `vmemu run`: options to a struct vm_config and a list of
 * workloads, then one emulated machine running them.
 *
 * Every option is one line of run_opts (name, argument, setter, help),
 * and --help is printed from that table, so the two cannot disagree.
 * Options set struct vm_config fields and nothing else: ranges are
 * checked by vm_create, whose one-line message becomes "vmemu: <message>"
 * with exit 2; the CLI checks only the syntax (a number, a size) and
 * that --mem fits the host.  Knobs with a Linux sysctl take its name
 * too (--sysctl vm.swappiness=100).
 *
 * Exit status: 0 every task ended as its workload expects; 1 one did
 * not; 2 bad usage (nothing was run); 130/143 SIGINT/SIGTERM (the tasks
 * were killed, the summary printed, the log flushed by vm_destroy).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/logdb.h"
#include "cli/run.h"

#define STRUCT_PAGE_BYTES 64 /* the host cost of one frame's struct page */
#define FAULT_AROUND_MAX  64 /* vm_config.anon_fault_around */
#define DEFAULT_LOG	  "vmemu.db"
#define SPEC_ERR_LEN	  256
#define TASK_MIN_FRAMES	  16 /* a task's start and first pages */

typedef int (*opt_set)(struct cli_run *r, const char *opt, const char *val);

struct run_opt {
	const char *name, *arg; /* arg NULL: a flag */
	opt_set set;
	const char *help;
};

static int bad_value(const char *opt, const char *val, const char *what)
{
	return cli_error("run: %s '%s' is not %s", opt, val, what);
}

static int set_int(int *field, const char *opt, const char *val)
{
	return cli_parse_int(val, field) ? bad_value(opt, val, "a number") : 0;
}

static int opt_mem(struct cli_run *r, const char *opt, const char *val)
{
	if (cli_parse_size(val, &r->cfg.mem_bytes) || !r->cfg.mem_bytes)
		return bad_value(opt, val,
				 "a size (a number with K, M, G, "
				 "KiB, MiB or GiB)");
	r->mem_text = val;
	return 0;
}

static int opt_swap(struct cli_run *r, const char *opt, const char *val)
{
	if (cli_parse_size(val, &r->cfg.swap_bytes))
		return bad_value(opt, val,
				 "a size (a number with K, M, G, "
				 "KiB, MiB or GiB)");
	r->swap_set = true;
	return 0;
}

static int opt_swap_file(struct cli_run *r, const char *opt, const char *val)
{
	(void)opt;
	r->cfg.swap_path = val;
	return 0;
}

static int opt_policy(struct cli_run *r, const char *opt, const char *val)
{
	(void)opt;
	r->cfg.policy = val;
	return 0;
}

static int opt_swappiness(struct cli_run *r, const char *opt, const char *val)
{
	return set_int(&r->cfg.swappiness, opt, val);
}

static int opt_aging_budget(struct cli_run *r, const char *opt, const char *val)
{
	return set_int(&r->cfg.aging_budget_pct, opt, val);
}

static int opt_min_free(struct cli_run *r, const char *opt, const char *val)
{
	return set_int(&r->cfg.min_free_kbytes, opt, val);
}

static int opt_wsf(struct cli_run *r, const char *opt, const char *val)
{
	return set_int(&r->cfg.watermark_scale_factor, opt, val);
}

static int opt_page_cluster(struct cli_run *r, const char *opt, const char *val)
{
	return set_int(&r->cfg.page_cluster, opt, val);
}

static int set_bool(bool *field, const char *opt, const char *val)
{
	int v;

	if (cli_parse_int(val, &v) || v < 0 || v > 2)
		return bad_value(opt, val, "0, 1 or 2");
	*field = v != 0; /* Linux's 2 (also for cpusets) is 1 here */
	return 0;
}

static int opt_panic(struct cli_run *r, const char *opt, const char *val)
{
	return set_bool(&r->cfg.panic_on_oom, opt, val);
}

static int opt_kill_alloc(struct cli_run *r, const char *opt, const char *val)
{
	return set_bool(&r->cfg.oom_kill_allocating_task, opt, val);
}

static int opt_no_kswapd(struct cli_run *r, const char *opt, const char *val)
{
	(void)opt;
	(void)val;
	r->cfg.kswapd = false;
	return 0;
}

static int opt_mode(struct cli_run *r, const char *opt, const char *val)
{
	if (strcmp(val, "native") == 0)
		r->cfg.mode = VM_MODE_NATIVE;
	else if (strcmp(val, "trace") == 0)
		r->cfg.mode = VM_MODE_TRACE;
	else
		return bad_value(opt, val, "native or trace");
	return 0;
}

static int opt_seed(struct cli_run *r, const char *opt, const char *val)
{
	return cli_parse_u64(val, &r->cfg.seed) ?
		       bad_value(opt, val, "a number") :
		       0;
}

static int opt_log(struct cli_run *r, const char *opt, const char *val)
{
	(void)opt;
	r->cfg.log_path = val;
	return 0;
}

static int opt_no_log(struct cli_run *r, const char *opt, const char *val)
{
	(void)opt;
	(void)val;
	r->cfg.log_path = NULL;
	return 0;
}

static int opt_events(struct cli_run *r, const char *opt, const char *val)
{
	(void)opt;
	r->cfg.log_events = val;
	return 0;
}

static int opt_sample(struct cli_run *r, const char *opt, const char *val)
{
	uint64_t ms;

	if (cli_parse_u64(val, &ms) || ms == 0 || ms > UINT32_MAX)
		return bad_value(opt, val, "a positive number of ms");
	r->cfg.log_sample_ms = (unsigned)ms;
	return 0;
}

static int opt_fault_around(struct cli_run *r, const char *opt, const char *val)
{
	uint64_t n;

	if (cli_parse_u64(val, &n) || n > FAULT_AROUND_MAX || (n & (n - 1)))
		return cli_error("run: %s '%s' is not a power of two up to %d",
				 opt, val, FAULT_AROUND_MAX);
	r->cfg.anon_fault_around = (unsigned)n;
	return 0;
}

static int opt_workload(struct cli_run *r, const char *opt, const char *val)
{
	struct wl_spec spec;
	char err[SPEC_ERR_LEN];

	(void)opt;
	if (wl_spec_parse(val, &spec, err, sizeof(err)) < 0)
		return cli_error("run: -w %s: %s", val, err);
	if (cli_run_add(r, &spec) < 0)
		return cli_fail("run: out of host memory");
	return 0;
}

static int opt_quiet(struct cli_run *r, const char *opt, const char *val)
{
	(void)opt;
	(void)val;
	r->quiet = true;
	return 0;
}

static int opt_sysctl(struct cli_run *r, const char *opt, const char *val);

static const struct run_opt run_opts[] = {
	{ "--mem", "SIZE", opt_mem, "emulated RAM (default 64M)" },
	{ "--swap", "SIZE", opt_swap, "swap space (default 0: no swap)" },
	{ "--swap-file", "PATH", opt_swap_file,
	  "swap file (default: an unlinked temporary file)" },
	{ "--policy", "NAME", opt_policy,
	  "page replacement policy (default linux; a wrong name lists the "
	  "others)" },
	{ "--swappiness", "N", opt_swappiness,
	  "vm.swappiness, 0..200 (default 60)" },
	{ "--min-free-kbytes", "N", opt_min_free,
	  "vm.min_free_kbytes (default 0: computed as Linux does)" },
	{ "--watermark-scale-factor", "N", opt_wsf,
	  "vm.watermark_scale_factor, 1..3000 (default 10)" },
	{ "--page-cluster", "N", opt_page_cluster,
	  "vm.page-cluster: swap readahead of 2^N pages (default 3)" },
	{ "--aging-budget", "PCT", opt_aging_budget,
	  "native, linux policy: share of time accessed-bit walks may cost, "
	  "0..100 (default 5)" },
	{ "--sysctl", "NAME=VAL", opt_sysctl,
	  "a knob by its Linux name (see below)" },
	{ "--no-kswapd", NULL, opt_no_kswapd,
	  "no kswapd thread: all reclaim is direct" },
	{ "--mode", "MODE", opt_mode,
	  "native (real loads/stores, default) or trace (vm_read/vm_write)" },
	{ "--seed", "N", opt_seed,
	  "seed of the machine and of every workload (default 1)" },
	{ "--fault-around", "PAGES", opt_fault_around,
	  "map PAGES (power of two <= 64) per anonymous write fault" },
	{ "--log", "FILE.db", opt_log,
	  "SQLite event log (default " DEFAULT_LOG ")" },
	{ "--no-log", NULL, opt_no_log, "no event log" },
	{ "--events", "KINDS", opt_events,
	  "event kinds to log, comma-separated (default all)" },
	{ "--sample-ms", "N", opt_sample,
	  "vmstat sample period in the log, ms (default 100)" },
	{ "-w", "WORKLOAD", opt_workload,
	  "a task: KIND[:key=val,...] (once per task; see below)" },
	{ "--quiet", NULL, opt_quiet,
	  "no progress line and no /proc texts: the summary only" },
};

#define NR_RUN_OPTS (sizeof(run_opts) / sizeof(run_opts[0]))

static const struct {
	const char *name;
	opt_set set;
} sysctls[] = {
	{ "vm.swappiness", opt_swappiness },
	{ "vm.min_free_kbytes", opt_min_free },
	{ "vm.watermark_scale_factor", opt_wsf },
	{ "vm.page-cluster", opt_page_cluster },
	{ "vm.panic_on_oom", opt_panic },
	{ "vm.oom_kill_allocating_task", opt_kill_alloc },
};

#define NR_SYSCTLS (sizeof(sysctls) / sizeof(sysctls[0]))

/* "vm.swappiness=100" (or vm/swappiness, as sysctl(8) takes it). */
static int opt_sysctl(struct cli_run *r, const char *opt, const char *val)
{
	size_t len = strcspn(val, "=");
	char name[64];

	if (!val[len] || len >= sizeof(name))
		return bad_value(opt, val, "NAME=VALUE");
	for (size_t i = 0; i < len; i++)
		name[i] = val[i] == '/' ? '.' : val[i];
	name[len] = '\0';
	for (size_t i = 0; i < NR_SYSCTLS; i++)
		if (strcmp(sysctls[i].name, name) == 0)
			return sysctls[i].set(r, sysctls[i].name,
					      val + len + 1);
	return cli_error("run: --sysctl: unknown sysctl '%s' (known: "
			 "vm.swappiness, vm.min_free_kbytes, "
			 "vm.watermark_scale_factor, vm.page-cluster, "
			 "vm.panic_on_oom, vm.oom_kill_allocating_task)",
			 name);
}

int cli_run_add(struct cli_run *r, const struct wl_spec *spec)
{
	if (r->ntasks == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct cli_task *t = realloc(r->tasks, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		r->tasks = t;
		r->cap = cap;
	}
	r->tasks[r->ntasks++] = (struct cli_task){ .spec = *spec };
	return 0;
}

static void print_run_help(void);

static const struct run_opt *find_opt(const char *name)
{
	for (size_t i = 0; i < NR_RUN_OPTS; i++)
		if (strcmp(run_opts[i].name, name) == 0)
			return &run_opts[i];
	return NULL;
}

/* argv after "run"; 0, -1 (help or version printed) or the exit status. */
static int parse_run(struct cli_run *r, int argc, char **argv)
{
	struct cli_args a = { argc, argv, 1, "" };
	const char *arg, *iv, *val = NULL;

	while (cli_arg_next(&a, &arg, &iv)) {
		const struct run_opt *o = find_opt(arg);
		int rc;

		if (cli_is_help(arg)) {
			print_run_help();
			return -1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("vmemu %s\n", CLI_VERSION);
			return -1;
		}
		if (!o)
			return cli_error("run: unknown option '%s' (vmemu run "
					 "--help lists them)",
					 arg);
		if (!o->arg && iv)
			return cli_error("run: %s takes no value", arg);
		if (o->arg && !(val = cli_arg_value(&a, "run", arg, iv)))
			return CLI_EXIT_USAGE;
		rc = o->set(r, o->name, val);
		if (rc)
			return rc;
	}
	return 0;
}

/* Refuse a --mem whose frames and struct pages exceed the host's RAM. */
static int check_host(const struct cli_run *r)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t mem = r->cfg.mem_bytes, host, need;
	char a[32], b[32], c[32];
	const char *given = r->mem_text ? r->mem_text : a;

	if (pages <= 0 || psize <= 0)
		return 0; /* unknown: let vm_create find out */
	host = (uint64_t)pages * (uint64_t)psize;
	need = mem + mem / VM_PAGE_SIZE * STRUCT_PAGE_BYTES;
	if (need >= mem && need <= host)
		return 0;
	cli_format_size(mem, a, sizeof(a));
	cli_format_size(need >= mem ? need : UINT64_MAX, b, sizeof(b));
	cli_format_size(host, c, sizeof(c));
	return cli_error("run: --mem %s needs %s of host memory (its frames "
			 "and a %d-byte struct page per 4 KiB frame); this "
			 "host has %s of RAM",
			 given, b, STRUCT_PAGE_BYTES, c);
}

#define HELP_WIDTH 79

/*
 * Print " text" from column col (the space included), wrapped at
 * HELP_WIDTH with continuation lines indented by indent; ends the line.
 */
static void wrap(const char *text, int col, int indent)
{
	bool line_start = false;

	while (*text) {
		int len = (int)strcspn(text, " ");

		if (!line_start && col + 1 + len > HELP_WIDTH) {
			col = printf("\n%*s", indent, "") - 1;
			line_start = true;
		}
		if (!line_start) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", len, text);
		line_start = false;
		text += len;
		text += strspn(text, " ");
	}
	putchar('\n');
}

static void print_kind_help(enum wl_kind kind)
{
	const struct wl_kind_info *k = wl_kind_info(kind);
	const struct wl_key_info *keys;
	struct wl_spec spec;
	size_t n, col = 0;
	char val[32];

	wl_spec_init(&spec, kind);
	keys = wl_keys(&n);
	printf("  %-10s", k->name);
	wrap(k->summary, 12, 13);
	printf("  %-10s op:", "");
	wrap(k->op, 15, 16);
	printf("  %-10s", "");
	for (size_t i = 0; i < n; i++) {
		if (!(keys[i].kinds & (1u << kind)))
			continue;
		wl_spec_value(&spec, keys[i].name, val, sizeof(val));
		if (col > 50) {
			printf("\n  %-10s", "");
			col = 0;
		}
		col += (size_t)printf(" %s=%s", keys[i].name, val);
	}
	printf("\n");
}

static void print_run_help_tail(void)
{
	printf("\nEvery op loads or stores one whole page (malloc: one call, "
	       "its block); every\nload is checked against what the task "
	       "stored (a mismatch ends it: \"data\nmismatch\").\n\n"
	       "Without -w: the built-in scenario: %s.\n\n"
	       "Exit status: 0 every task ended as its workload expects (a hog "
	       "may be\nOOM-killed, segv dies of SIGSEGV); 1 a task did not, or "
	       "the event log failed;\n2 bad usage (nothing run); 130/143 "
	       "interrupted by SIGINT/SIGTERM (tasks killed,\nsummary printed, "
	       "log closed).\n",
	       cli_scenario_help);
}

static void print_run_help(void)
{
	const struct wl_key_info *keys;
	size_t n;

	printf("usage: vmemu run [OPTION]... [-w WORKLOAD[:key=val,...]]...\n\n"
	       "Runs one emulated machine with one task per -w and waits for "
	       "them.  On a\nterminal, a line like `vmstat 1` every second "
	       "(stderr); the kernel's OOM\nreports as they happen (stderr).  "
	       "Then how each task ended, the totals, the\nmachine's /proc "
	       "files, and the `vmemu report` and `vmemu query` commands for\n"
	       "the run's event log.\n\n"
	       "Options (--opt VALUE or --opt=VALUE):\n");
	for (size_t i = 0; i < NR_RUN_OPTS; i++) {
		char left[40];

		snprintf(left, sizeof(left), "%s%s%s", run_opts[i].name,
			 run_opts[i].arg ? " " : "",
			 run_opts[i].arg ? run_opts[i].arg : "");
		printf("  %-24s", left);
		wrap(run_opts[i].help, 26, 27);
	}
	printf("  %-24s this text\n  %-24s the version\n\n", "-h, --help",
	       "--version");
	printf("SIZE: bytes, or a number with K, M, G, T (or KiB, MiB, GiB, "
	       "TiB),\npowers of 1024.  --sysctl NAME=VAL takes vm.swappiness, "
	       "vm.min_free_kbytes,\nvm.watermark_scale_factor, vm.page-cluster, "
	       "vm.panic_on_oom (0/1) and\nvm.oom_kill_allocating_task (0/1).\n\n"
	       "Workloads (-w KIND[:key=val,...]), each key shown with its "
	       "default:\n");
	for (int k = 0; k < WL_NR_KINDS; k++)
		print_kind_help((enum wl_kind)k);
	printf("\nKeys:\n");
	keys = wl_keys(&n);
	for (size_t i = 0; i < n; i++) {
		printf("  %-7s %-5s", keys[i].name, keys[i].arg);
		wrap(keys[i].help, 15, 16);
	}
	print_run_help_tail();
}

/* "vmemu run --mem 64M ..." for the runs table, shell-quoted. */
static char *join_cmdline(int argc, char **argv)
{
	size_t len = sizeof("vmemu");
	char *s, *p;

	for (int i = 0; i < argc; i++)
		len += 3 + 4 * strlen(argv[i]);
	s = malloc(len);
	if (!s)
		return NULL;
	p = s + sprintf(s, "vmemu");
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool plain = *a &&
			     strspn(a, "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789-_=:,./+%@") == strlen(a);

		*p++ = ' ';
		if (plain) {
			p += sprintf(p, "%s", a);
			continue;
		}
		*p++ = '\'';
		for (; *a; a++)
			p += *a == '\'' ? sprintf(p, "'\\''") :
					  sprintf(p, "%c", *a);
		*p++ = '\'';
		*p = '\0';
	}
	return s;
}

/* Seed of the i-th task: from --seed and i (splitmix64). */
static uint64_t task_seed(uint64_t seed, size_t i)
{
	uint64_t x = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;

	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static void spawn_all(struct cli_run *r)
{
	for (size_t i = 0; i < r->ntasks; i++) {
		struct cli_task *t = &r->tasks[i];

		t->run = wl_run_new(r->vm, &t->spec, task_seed(r->cfg.seed, i));
		if (!t->run) {
			t->start_err = -ENOMEM;
			continue;
		}
		t->pid = vm_spawn(r->vm, t->spec.name, t->spec.adj, wl_run_main,
				  t->run);
		if (t->pid < 0) {
			t->start_err = t->pid;
			t->pid = 0;
		}
	}
}

static void print_header(const struct cli_run *r)
{
	char mem[32], swap[32];

	cli_format_size(r->cfg.mem_bytes, mem, sizeof(mem));
	cli_format_size(r->cfg.swap_bytes, swap, sizeof(swap));
	printf("vmemu: %s mode, %s of emulated RAM (%llu frames), %s%s, "
	       "log %s; %zu task%s%s\n",
	       r->cfg.mode == VM_MODE_NATIVE ? "native" : "trace", mem,
	       (unsigned long long)(r->cfg.mem_bytes / VM_PAGE_SIZE),
	       r->cfg.swap_bytes ? swap : "no swap",
	       r->cfg.swap_bytes ? " of swap" : "",
	       r->cfg.log_path ? r->cfg.log_path : "off", r->ntasks,
	       r->ntasks == 1 ? "" : "s",
	       r->builtin ? " (the built-in scenario)" : "");
	fflush(stdout);
}

static void cli_run_free(struct cli_run *r)
{
	for (size_t i = 0; i < r->ntasks; i++)
		wl_run_free(r->tasks[i].run);
	for (int i = 0; i < CLI_NR_SNAP; i++)
		free(r->snap[i]);
	free(r->tasks);
	free(r->cmdline);
	free(r->log_err);
	cli_kmsg_destroy(&r->kmsg);
}

/* The value after "name" in a /proc text's line, or 0. */
static uint64_t procfs_value(struct vm *vm, const char *file, const char *name)
{
	char *text = cli_procfs_read(vm, file);
	const char *p = text ? strstr(text, name) : NULL;
	uint64_t v = p ? strtoull(p + strlen(name), NULL, 10) : 0;

	free(text);
	return v;
}

/*
 * Refuse a machine too small for its tasks to start: what is free after
 * the kernel's own structures, less the min watermark, must hold
 * TASK_MIN_FRAMES per task.  Judged on a probe machine without a log or
 * swap, so that a refusal writes nothing.
 */
static int check_room(const struct cli_run *r)
{
	struct vm_config probe = r->cfg;
	struct vm_stat st;
	uint64_t min, need = TASK_MIN_FRAMES * r->ntasks, left;
	char mem[32], err[256];
	struct vm *vm;

	probe.log_path = NULL;
	probe.swap_bytes = 0;
	probe.oom_report = NULL;
	vm = vm_create(&probe, err, sizeof(err));
	if (!vm)
		return cli_error("%s", err);
	min = procfs_value(vm, "zoneinfo", "\n        min ");
	vm_stat(vm, &st);
	vm_destroy(vm);
	left = st.nr_free_pages > min ? st.nr_free_pages - min : 0;
	if (left >= need)
		return 0;
	cli_format_size(r->cfg.mem_bytes, mem, sizeof(mem));
	return cli_error("run: --mem %s is too small for %zu task%s: the "
			 "kernel's own structures leave %llu frames free and "
			 "the min watermark keeps %llu of them, but each task "
			 "needs at least %d frames (%d KiB: page tables, its "
			 "task and address-space objects, data)",
			 r->mem_text ? r->mem_text : mem, r->ntasks,
			 r->ntasks == 1 ? "" : "s",
			 (unsigned long long)st.nr_free_pages,
			 (unsigned long long)min, TASK_MIN_FRAMES,
			 TASK_MIN_FRAMES * (int)(VM_PAGE_SIZE / 1024));
}

/* The exit status of a run that was not stopped by bad usage. */
static int run_status(const struct cli_run *r, int failed)
{
	if (r->signo)
		return r->signo == SIGINT ? CLI_EXIT_SIGINT : CLI_EXIT_SIGTERM;
	return failed || r->log_err ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* The tasks ran: summary, /proc texts, the story's recap. */
static int report_run(struct cli_run *r)
{
	struct vm_stat st;
	int failed = cli_summary_print(r);

	vm_stat(r->vm, &st);
	if (!r->quiet && !r->builtin)
		cli_procfs_print(r);
	cli_kmsg_flush(r);
	cli_story_end(r, &st);
	fflush(stdout);
	return run_status(r, failed);
}

/* After vm_destroy: the log's last word; hints if it is sound. */
static int close_log(struct cli_run *r, long long run_id, int status)
{
	char err[512];

	if (!r->cfg.log_path || r->log_err)
		return status;
	if (run_id < 0 ||
	    cli_logdb_closed(r->cfg.log_path, run_id, err, sizeof(err)) < 0) {
		cli_fail("the event log failed: %s",
			 run_id < 0 ? "this run is not in it" : err);
		return status == CLI_EXIT_OK ? CLI_EXIT_FAIL : status;
	}
	if (!r->quiet)
		cli_print_hints(r, run_id);
	return status;
}

/* Run the parsed configuration; the exit status. */
static int run_machine(struct cli_run *r)
{
	char err[256];
	long long run_id = -1;
	int status;

	status = check_room(r);
	if (status)
		return status;
	cli_signals_install();
	r->cfg.oom_report = cli_kmsg_sink;
	r->cfg.oom_report_arg = &r->kmsg;
	r->vm = vm_create(&r->cfg, err, sizeof(err));
	if (!r->vm)
		return cli_error("%s", err);
	if (r->cfg.log_path)
		run_id = cli_logdb_my_run(r->cfg.log_path);
	r->start_secs = cli_now_secs();
	spawn_all(r);
	print_header(r);
	if (r->builtin)
		cli_story_intro(r);
	cli_monitor(r, !r->quiet && isatty(STDERR_FILENO));
	status = report_run(r);
	vm_set_exit_status(r->vm, status);
	vm_destroy(r->vm); /* waits for stragglers, flushes the log */
	r->vm = NULL;
	cli_kmsg_flush(r);
	return close_log(r, run_id, status);
}

int cli_run(int argc, char **argv)
{
	struct cli_run r = { 0 };
	int rc;

	vm_config_init(&r.cfg);
	cli_kmsg_init(&r.kmsg);
	r.cfg.log_path = DEFAULT_LOG;
	r.prog = cli_prog;
	rc = parse_run(&r, argc, argv);
	if (rc == 0 && r.ntasks == 0) {
		r.builtin = true;
		if (cli_scenario_build(&r) < 0)
			rc = cli_fail("run: out of host memory");
	}
	if (rc == 0)
		rc = check_host(&r);
	if (rc == 0) {
		r.cmdline = join_cmdline(argc, argv);
		r.cfg.log_cmdline = r.cmdline;
		rc = run_machine(&r);
	}
	cli_run_free(&r);
	return rc < 0 ? CLI_EXIT_OK : rc;
}
