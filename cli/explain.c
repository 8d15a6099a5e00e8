/*
 * cli/explain.c - `vmemu explain TOPIC [ARG]... [--json] [--log FILE.db |
 * --no-log]`: the topic table, the machine every topic runs on, and the
 * figures topics share (a page walk as a table, a task's VMAs).
 *
 * A topic is one entry of `topics` below and one file
 * (cli/explain_<topic>.c): a new topic is one more line here.
 *
 * Every topic runs on a fresh machine in trace mode with kswapd off, so
 * the same command prints the same numbers (times and pids aside); the
 * run is logged (default explain.db, appended as a new run) so that the
 * closing `vmemu query` has rows to show.  Nothing is printed until the
 * topic has finished: a failure prints one line and no half document.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define EX_DEFAULT_LOG "explain.db"
#define EX_MEM	       (64ULL << 20)
#define EX_SWAP	       (16ULL << 20)
#define EX_SEED	       1
#define EX_NVMAS       16

struct ex_topic {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct ex_ctx *c);
};

static const struct ex_topic topics[] = {
	{ "translate", "[VA]",
	  "a virtual address through the 4-level page tables and the TLB",
	  ex_topic_translate },
	{ "malloc", "",
	  "malloc(1), malloc(1 KiB), malloc(1 MiB): brk or mmap, what they "
	  "cost",
	  ex_topic_malloc },
	{ "fork", "", "what fork copies and what copy-on-write shares",
	  ex_topic_fork },
	{ "segmentation", "",
	  "(segment, offset) -> linear address -> the page walk",
	  ex_topic_segmentation },
	{ "oom", "",
	  "memory runs out: watermarks, kswapd, swap, the OOM killer",
	  ex_topic_oom },
	{ "replacement", "[REFS [FRAMES]]",
	  "OPT, FIFO, LRU, Clock and LFU frame by frame; Belady's anomaly",
	  ex_topic_replacement },
	{ "fragmentation", "",
	  "internal and external fragmentation, and compaction fixing it",
	  ex_topic_fragmentation },
	{ "reclaim", "",
	  "file vs anonymous pages in reclaim; the active/inactive lists",
	  ex_topic_reclaim },
};

static void ex_usage(FILE *out)
{
	fputs("usage: vmemu explain TOPIC [ARG]... [--json] [--log FILE.db | "
	      "--no-log]\n"
	      "\n"
	      "Answers a classic memory-management question by running it on "
	      "an\n"
	      "emulated machine and showing what its kernel did: every "
	      "number\n"
	      "comes from the emulator's state.  Facts marked * are "
	      "emulator-only.\n"
	      "\n"
	      "Topics:\n",
	      out);
	for (size_t i = 0; i < ARRAY_SIZE_CLI(topics); i++)
		fprintf(out, "  %s%s%s\n      %s\n", topics[i].name,
			*topics[i].args ? " " : "", topics[i].args,
			topics[i].summary);
	fputs("\n"
	      "  --json         the same facts as one JSON object\n"
	      "  --log FILE.db  the run's event log (default " EX_DEFAULT_LOG
	      ", a new\n"
	      "                 run appended); --no-log: none\n"
	      "  -h, --help     this text\n"
	      "\n"
	      "Each topic ends with the `vmemu query` that shows more.  "
	      "docs/explain.md\n"
	      "has what each topic runs.\n",
	      out);
}

static const struct ex_topic *ex_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE_CLI(topics); i++)
		if (strcmp(name, topics[i].name) == 0)
			return &topics[i];
	return NULL;
}

struct ex_opts {
	const struct ex_topic *topic;
	bool json;
	const char *log;
	char *args[4];
	int nargs;
};

/* 0, -1 (help printed), or a usage status (printed). */
static int ex_parse(int argc, char **argv, struct ex_opts *o)
{
	struct cli_args a = { argc, argv, 1, "" };
	const char *arg, *iv;

	while (cli_arg_next(&a, &arg, &iv)) {
		if (cli_is_help(arg)) {
			ex_usage(stdout);
			return -1;
		} else if (strcmp(arg, "--json") == 0) {
			o->json = true;
		} else if (strcmp(arg, "--no-log") == 0) {
			o->log = NULL;
		} else if (strcmp(arg, "--log") == 0) {
			o->log = cli_arg_value(&a, "explain", arg, iv);
			if (!o->log)
				return CLI_EXIT_USAGE;
		} else if (arg[0] == '-' && arg[1]) {
			return cli_error("explain: unknown option '%s'", arg);
		} else if (!o->topic) {
			o->topic = ex_find(arg);
			if (!o->topic)
				return cli_error("explain: unknown topic '%s' "
						 "(vmemu explain --help lists "
						 "them)",
						 arg);
		} else if (o->nargs < (int)ARRAY_SIZE_CLI(o->args)) {
			o->args[o->nargs++] = a.argv[a.i - 1];
		} else {
			return cli_error("explain: too many arguments");
		}
	}
	if (!o->topic)
		return cli_error("explain: which topic? (vmemu explain --help "
				 "lists them)");
	return 0;
}

int cli_explain(int argc, char **argv)
{
	struct ex_opts o = { .log = EX_DEFAULT_LOG };
	struct ex_ctx c = { 0 };
	char cmdline[256];
	int rc = ex_parse(argc, argv, &o);

	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	snprintf(cmdline, sizeof(cmdline), "vmemu explain %s%s%s",
		 o.topic->name, o.nargs ? " " : "", o.nargs ? o.args[0] : "");
	c.log = o.log;
	c.cmdline = cmdline;
	c.argc = o.nargs;
	c.argv = o.args;
	ex_doc_init(&c.doc, o.topic->name, o.topic->summary);
	rc = o.topic->run(&c);
	if (rc == CLI_EXIT_OK) {
		ex_reset(&c.doc);
		if ((o.json ? ex_print_json : ex_print_text)(stdout, &c.doc))
			rc = cli_fail("explain: cannot write the output");
	}
	ex_doc_free(&c.doc);
	return rc;
}

/* ---- the machine ---------------------------------------------------------- */

void ex_config(struct ex_ctx *c, struct vm_config *cfg)
{
	vm_config_init(cfg);
	cfg->mode = VM_MODE_TRACE;
	cfg->mem_bytes = EX_MEM;
	cfg->swap_bytes = EX_SWAP;
	cfg->kswapd = false;
	cfg->seed = EX_SEED;
	cfg->log_path = c->log;
	cfg->log_cmdline = c->cmdline;
}

struct vm *ex_machine_cfg(const struct vm_config *cfg)
{
	char err[256];
	struct vm *vm = vm_create(cfg, err, sizeof(err));

	if (!vm)
		cli_fail("explain: %s", err);
	return vm;
}

struct vm *ex_machine(struct ex_ctx *c)
{
	struct vm_config cfg;

	ex_config(c, &cfg);
	return ex_machine_cfg(&cfg);
}

int ex_machine_done(struct vm *vm)
{
	const char *err = vm_log_error(vm);
	char msg[512];

	if (err)
		snprintf(msg, sizeof(msg), "%s", err);
	vm_destroy(vm);
	if (err) {
		cli_fail("explain: %s", msg);
		return -1;
	}
	return 0;
}

int ex_run_task(struct vm *vm, const char *name, vm_task_fn fn, void *arg,
		struct vm_exit *ex)
{
	int pid = vm_spawn(vm, name, 0, fn, arg);

	if (pid < 0 || vm_wait(vm, pid, ex) != pid) {
		cli_fail("explain: cannot run the task: %s",
			 strerror(pid < 0 ? -pid : ESRCH));
		return -1;
	}
	return 0;
}

/* ---- shared figures ---------------------------------------------------------- */

static const char *const level_names[VM_PT_LEVELS] = { "PGD", "PUD", "PMD",
						       "PTE" };

void ex_pte_bits(uint64_t pte, char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} bits[] = {
		{ VM_PTE_PRESENT, "P" },       { VM_PTE_WRITE, "W" },
		{ VM_PTE_USER, "U" },	       { VM_PTE_ACCESSED, "A" },
		{ VM_PTE_DIRTY, "D" },	       { VM_PTE_COW, "COW" },
		{ VM_PTE_SPECIAL, "SPECIAL" },
	};
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE_CLI(bits) && n < len; i++)
		if (pte & bits[i].bit)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n ? " " : "", bits[i].name);
}

const char *ex_pte_state(enum vm_pte_state s)
{
	switch (s) {
	case VM_PTE_NO_TABLE:
		return "no table";
	case VM_PTE_NONE:
		return "none";
	case VM_PTE_MAPPED:
		return "present";
	case VM_PTE_SWAP:
		return "swap entry";
	case VM_PTE_FILE:
		return "file entry";
	}
	return "?";
}

/* What one level's entry means. */
static void ex_level_meaning(const struct vm_walk *w, unsigned i, char *buf,
			     size_t len)
{
	uint64_t e = w->level[i].entry;
	char bits[64];

	if (i + 1 < VM_PT_LEVELS) {
		if (!(e & VM_PTE_PRESENT))
			snprintf(buf, len, "empty: no %s table",
				 level_names[i + 1]);
		else
			snprintf(buf, len, "%s table at pfn %#" PRIx64,
				 level_names[i + 1],
				 i + 1 < w->nlevels ?
					 w->level[i + 1].table_pfn :
					 (uint64_t)0);
		return;
	}
	ex_pte_bits(e, bits, sizeof(bits));
	if (w->state == VM_PTE_MAPPED)
		snprintf(buf, len, "%s, pfn %#" PRIx64, bits, w->pfn);
	else if (w->state == VM_PTE_SWAP)
		snprintf(buf, len, "swap area %u, slot %" PRIu64, w->swap_type,
			 w->swap_slot);
	else
		snprintf(buf, len, "%s", ex_pte_state(w->state));
}

void ex_walk_table(struct ex_doc *d, const char *key, const struct vm_walk *w)
{
	char meaning[96];

	ex_arr(d, key, "the walk, level by level");
	for (unsigned i = 0; i < w->nlevels; i++) {
		ex_obj(d, NULL, NULL);
		ex_str(d, "level", "level", 0, "%s", level_names[i]);
		ex_hex(d, "table_pfn", "table pfn", w->level[i].table_pfn, 0);
		ex_uint(d, "index", "index", w->level[i].index, 0);
		ex_hex(d, "entry", "entry", w->level[i].entry, 0);
		ex_level_meaning(w, i, meaning, sizeof(meaning));
		ex_str(d, "meaning", "meaning", 0, "%s", meaning);
		ex_end(d);
	}
	ex_end(d);
}

/* "[heap]", "[stack]" or "" (anonymous), as /proc/PID/maps names them. */
static const char *ex_vma_name(const struct vm_vma *v)
{
	if (v->flags & VM_VMA_HEAP)
		return "[heap]";
	if (v->flags & VM_VMA_STACK)
		return "[stack]";
	return "anon";
}

void ex_vmas(struct ex_doc *d, struct vm *vm, int pid, const char *key,
	     const char *label)
{
	struct vm_vma v[EX_NVMAS];
	int n = vm_vmas(vm, pid, v, EX_NVMAS);

	ex_arr(d, key, label);
	for (int i = 0; i < n && i < EX_NVMAS; i++) {
		ex_obj(d, NULL, NULL);
		ex_hex(d, "start", "start", v[i].start, 0);
		ex_hex(d, "end", "end", v[i].end, 0);
		ex_uint(d, "kib", "KiB", (v[i].end - v[i].start) >> 10, 0);
		ex_str(d, "perms", "perms", 0, "%c%c-%c",
		       (v[i].prot & VM_PROT_READ) ? 'r' : '-',
		       (v[i].prot & VM_PROT_WRITE) ? 'w' : '-',
		       (v[i].flags & VM_VMA_SHARED) ? 's' : 'p');
		ex_str(d, "name", "name", 0, "%s", ex_vma_name(&v[i]));
		ex_end(d);
	}
	ex_end(d);
}
