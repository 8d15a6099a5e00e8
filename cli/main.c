/*
 * cli/main.c - the vmemu command line.
 *
 * This build has `vmemu run`, which runs the built-in demonstration of what
 * exists so far (native or trace mode, demand paging, the zero frame, fork
 * with copy-on-write, an emulated SIGSEGV) and prints the machine's
 * /proc/vmstat, /proc/buddyinfo and /proc/slabinfo.  Bad input gets one
 * line on stderr and exit status 2 (DESIGN §9).  Only this file (and the
 * tests) print.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"
#include "workloads/demo.h"

#define EXIT_USAGE	 2
#define FAULT_AROUND_MAX 64 /* vm_config.anon_fault_around */

static const char usage[] =
	"usage: vmemu run [--mem SIZE] [--mode native|trace] [--seed N]\n"
	"                 [--fault-around PAGES]\n"
	"  SIZE takes K, M or G (e.g. 64M).  --fault-around: one write fault\n"
	"  on untouched anonymous memory maps PAGES (a power of two up to 64),\n"
	"  like Linux's multi-size THP; default 1, exact 4 KiB faults.  Runs\n"
	"  the built-in demonstration.  Not in this build yet: --swap, --policy,\n"
	"  --log, -w WORKLOAD, vmemu report, vmemu query.\n";

static int die(const char *fmt, ...)
{
	va_list ap;

	fputs("vmemu: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* "64M" -> bytes; 0 and *ok false on anything else or on overflow. */
static uint64_t parse_size(const char *s, bool *ok)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	*ok = false;
	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || (shift && v > (~0ULL >> shift)))
		return 0;
	*ok = true;
	return v << shift;
}

/* A whole non-negative decimal (or 0x hex) number; 0, or -1. */
static int parse_number(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static int parse_run(int argc, char **argv, struct vm_config *cfg)
{
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i],
			   *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok;

		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
		if (strcmp(opt, "--mem") && strcmp(opt, "--mode") &&
		    strcmp(opt, "--seed") && strcmp(opt, "--fault-around"))
			return die("run: unknown option '%s' (this build has "
				   "--mem, --mode, --seed, --fault-around)",
				   opt);
		if (!val)
			return die("run: %s needs a value", opt);
		i++;
		if (strcmp(opt, "--mem") == 0) {
			cfg->mem_bytes = parse_size(val, &ok);
			if (!ok || cfg->mem_bytes == 0)
				return die("run: --mem '%s' is not a size "
					   "(a number with K, M or G)",
					   val);
		} else if (strcmp(opt, "--mode") == 0) {
			if (strcmp(val, "native") && strcmp(val, "trace"))
				return die("run: --mode '%s' is not native "
					   "or trace",
					   val);
			cfg->mode = strcmp(val, "native") ? VM_MODE_TRACE :
							    VM_MODE_NATIVE;
		} else if (strcmp(opt, "--seed") == 0) {
			if (parse_number(val, &cfg->seed) < 0)
				return die("run: --seed '%s' is not a number",
					   val);
		} else {
			uint64_t n;

			if (parse_number(val, &n) < 0 || n > FAULT_AROUND_MAX ||
			    (n & (n - 1)))
				return die("run: --fault-around '%s' is not a "
					   "power of two up to %d",
					   val, FAULT_AROUND_MAX);
			cfg->anon_fault_around = (unsigned)n;
		}
	}
	return 0;
}

struct demo_task {
	const char *name;
	vm_task_fn fn;
	uint64_t npages;
	const char *what;
};

static void print_exit(int pid, const struct demo_task *d,
		       const struct vm_exit *ex)
{
	if (ex->reason == VM_EXIT_SEGV)
		printf("  pid %-3d %-12s SIGSEGV at va 0x%llx (%s)\n", pid,
		       d->name, (unsigned long long)ex->fault_va, d->what);
	else if (ex->reason == VM_EXIT_OOM_KILLED)
		printf("  pid %-3d %-12s out of memory (%s)\n", pid, d->name,
		       d->what);
	else
		printf("  pid %-3d %-12s exit %d: %s (%s)\n", pid, d->name,
		       ex->code, ex->code ? "DATA MISMATCH" : "ok", d->what);
}

static void print_proc(struct vm *vm, const char *name)
{
	static char buf[1 << 16];

	if (vm_procfs(vm, name, buf, sizeof(buf)) >= 0)
		printf("== /proc/%s\n%s", name, buf);
}

static int run_demo(const struct vm_config *cfg)
{
	uint64_t frames = cfg->mem_bytes / VM_PAGE_SIZE, np = frames / 16;
	const struct demo_task demo[] = {
		{ "fill-verify", wl_fill_verify, np,
		  "writes and verifies its pages" },
		{ "fork-cow", wl_fork_cow, np / 2,
		  "forks two children that break COW on half each" },
		{ "zero-reader", wl_zero_reader, np,
		  "reads untouched memory: the shared zero frame" },
		{ "null-deref", wl_null_deref, 0, "loads from address 0" },
	};
	struct wl_demo_args args[4];
	int pid[4], bad = 0;
	char err[256];
	struct vm *vm = vm_create(cfg, err, sizeof(err));

	if (!vm)
		return die("%s", err);
	printf("vmemu: %s mode, %llu KiB of emulated RAM (%llu frames)\n",
	       cfg->mode == VM_MODE_NATIVE ? "native" : "trace",
	       (unsigned long long)(cfg->mem_bytes >> 10),
	       (unsigned long long)frames);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct wl_demo_args){ vm, demo[i].npages };
		pid[i] = vm_spawn(vm, demo[i].name, 0, demo[i].fn, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		struct vm_exit ex;

		if (pid[i] < 0 || vm_wait(vm, pid[i], &ex) < 0) {
			printf("  %-12s could not run: %s\n", demo[i].name,
			       strerror(-pid[i]));
			bad = 1;
			continue;
		}
		print_exit(pid[i], &demo[i], &ex);
		bad |= ex.reason == VM_EXIT_NORMAL && ex.code != 0;
	}
	print_proc(vm, "vmstat");
	print_proc(vm, "buddyinfo");
	print_proc(vm, "slabinfo");
	printf("Not in this build yet: reclaim (LRU lists, kswapd), swap, "
	       "the OOM killer,\nthe SQLite event log, vmemu report and "
	       "vmemu query.\n");
	vm_destroy(vm);
	return bad;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	int rc;

	vm_config_init(&cfg);
	if (argc < 2)
		return die("missing command\n%s", usage);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "run") != 0)
		return die("unknown command '%s' (this build has: run)",
			   argv[1]);
	rc = parse_run(argc - 2, argv + 2, &cfg);
	return rc ? rc : run_demo(&cfg);
}
