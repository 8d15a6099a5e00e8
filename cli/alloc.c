/*
 * cli/alloc.c - `vmemu alloc [--policy LIST] [--arena SIZE] [--csv]
 * TRACE|GENERATOR`: one request sequence through each allocator of the
 * study engine (user/allocstudy.h), one row per allocator.
 *
 * The sequence is a CMU malloc-lab trace file, or a generator spec
 * SHAPE[:key=val,...] (uniform, powerlaw, phases, lifetimes; keys ops,
 * seed, min, max, live, realloc).  An argument whose part before ':' names
 * a shape is a generator; a trace file of such a name is given as
 * ./NAME.  Sizes take the usual suffixes (cli_parse_size).
 *
 * Output: a table (a line naming the sequence, then astudy_format's
 * header and rows), or with --csv astudy_format's CSV alone, whose header
 * is stable.  Allocators run one after the other, in the order given.
 *
 * Exit status: 0 every allocator ran the whole sequence; 1 one stopped
 * early (its row says why) or the host ran out of memory; 2 bad usage
 * (one line, nothing run); 65 a malformed trace ("file:line: message",
 * sysexits' EX_DATAERR); 66 a trace that cannot be read (EX_NOINPUT).
 * Nothing is printed on stdout before the sequence is loaded and every
 * option checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "user/allocstudy.h"

#define EXIT_DATAERR	 65 /* sysexits.h: EX_DATAERR */
#define EXIT_NOINPUT	 66 /* sysexits.h: EX_NOINPUT */
#define GEN_DEFAULT_OPS	 10000
#define GEN_DEFAULT_SEED 1
#define ERR_LEN		 512
#define POLICY_LIST_MAX	 256
#define SPEC_MAX	 256

static const char alloc_usage[] =
	"usage: vmemu alloc [--policy LIST] [--arena SIZE] [--csv] "
	"TRACE|GENERATOR\n"
	"\n"
	"Runs one request sequence through each allocator and prints one "
	"row per\n"
	"allocator: ops/s, utilisation (peak live / peak footprint), internal "
	"and\n"
	"external fragmentation at the peak of live bytes, peak footprint, "
	"free\n"
	"blocks and slivers, search cost, failures.\n"
	"\n"
	"  --policy LIST  comma-separated, in this order, or all (default):\n"
	"                 first, next, best, worst, segregated (or seg): the\n"
	"                 emulated C library's malloc in a native-mode task;\n"
	"                 buddy, bitmap, kmalloc: page-granular models\n"
	"  --arena SIZE   models: the arena; malloc: a bound on its footprint\n"
	"                 (default: sized from the sequence)\n"
	"  --csv          CSV with a stable header instead of a table\n"
	"  -h, --help     this text\n"
	"\n"
	"TRACE is a CMU malloc-lab file: four header lines (heap size, ids,\n"
	"operations, weight), then 'a ID BYTES', 'r ID BYTES', 'f ID'.\n"
	"GENERATOR is SHAPE[:KEY=VAL,...], SHAPE one of uniform, powerlaw,\n"
	"phases, lifetimes; keys: ops (default 10000), seed (1), min and max\n"
	"(request sizes; default: the shape's), live (allocations kept live,\n"
	"default 1000), realloc (percent of operations, default 0).  A trace\n"
	"file named like a shape is given as ./NAME.\n"
	"\n"
	"Exit status: 0 ok; 1 an allocator stopped early; 2 bad usage;\n"
	"65 a malformed trace (file:line: message); 66 an unreadable trace.\n";

struct alloc_args {
	const char *source; /* TRACE or GENERATOR */
	const char *policy; /* NULL: all */
	uint64_t arena;
	bool csv;
};

static int parse_alloc(int argc, char **argv, struct alloc_args *a)
{
	struct cli_args ca = { argc, argv, 1, "" };
	const char *arg, *iv, *val;

	while (cli_arg_next(&ca, &arg, &iv)) {
		if (cli_is_help(arg)) {
			fputs(alloc_usage, stdout);
			return -1;
		} else if (strcmp(arg, "--csv") == 0) {
			if (iv)
				return cli_error("alloc: --csv takes no value");
			a->csv = true;
		} else if (strcmp(arg, "--policy") == 0) {
			a->policy = cli_arg_value(&ca, "alloc", arg, iv);
			if (!a->policy)
				return CLI_EXIT_USAGE;
		} else if (strcmp(arg, "--arena") == 0) {
			val = cli_arg_value(&ca, "alloc", arg, iv);
			if (!val)
				return CLI_EXIT_USAGE;
			if (cli_parse_size(val, &a->arena) || !a->arena)
				return cli_error("alloc: --arena '%s' is not a "
						 "size (a number with K, M, "
						 "G, KiB, MiB or GiB)",
						 val);
		} else if (arg[0] == '-' && arg[1]) {
			return cli_error("alloc: unknown option '%s' (vmemu "
					 "alloc --help lists them)",
					 arg);
		} else if (!a->source) {
			a->source = arg;
		} else {
			return cli_error("alloc: unexpected argument '%s' (one "
					 "TRACE or GENERATOR)",
					 arg);
		}
	}
	if (!a->source)
		return cli_error("alloc: missing TRACE or GENERATOR (vmemu "
				 "alloc --help)");
	return 0;
}

/* --policy: astudy's names, "segregated" for "seg"; the count or -1. */
static int parse_policies(const char *list, enum astudy_alloc *out)
{
	char buf[POLICY_LIST_MAX], *item, *save;
	size_t n = 0;
	int rc;

	if (!list)
		list = "all";
	if (strlen(list) >= sizeof(buf) || !*list)
		return -1;
	strcpy(buf, list);
	if (strcmp(buf, "all") == 0)
		return astudy_alloc_parse_list(buf, out, ASTUDY_NALLOCS);
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return -1;
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		const char *name = strcmp(item, "segregated") == 0 ? "seg" :
								     item;

		if (n == ASTUDY_NALLOCS)
			return -1;
		rc = astudy_alloc_parse(name, &out[n++]);
		if (rc)
			return -1;
	}
	return (int)n;
}

/* One KEY=VAL of a generator spec into g; 0 or a usage error printed. */
static int gen_key(struct astudy_gen *g, const char *spec, char *kv)
{
	char *eq = strchr(kv, '=');
	uint64_t v;

	if (!eq || eq == kv || !eq[1])
		return cli_error("alloc: generator '%s': '%s' is not KEY=VALUE",
				 spec, kv);
	*eq++ = '\0';
	if (strcmp(kv, "min") == 0 || strcmp(kv, "max") == 0) {
		if (cli_parse_size(eq, &v))
			return cli_error("alloc: generator '%s': %s '%s' is "
					 "not a size",
					 spec, kv, eq);
	} else if (cli_parse_u64(eq, &v)) {
		return cli_error("alloc: generator '%s': %s '%s' is not a "
				 "number",
				 spec, kv, eq);
	}
	if (strcmp(kv, "ops") == 0)
		g->nops = (size_t)v;
	else if (strcmp(kv, "seed") == 0)
		g->seed = v;
	else if (strcmp(kv, "min") == 0)
		g->min_bytes = v;
	else if (strcmp(kv, "max") == 0)
		g->max_bytes = v;
	else if (strcmp(kv, "live") == 0 && v <= UINT32_MAX)
		g->max_live = (uint32_t)v;
	else if (strcmp(kv, "realloc") == 0 && v <= 100)
		g->realloc_pct = (unsigned)v;
	else
		return cli_error("alloc: generator '%s': unknown key or value "
				 "out of range: %s=%s (keys: ops, seed, min, "
				 "max, live, realloc <= 100)",
				 spec, kv, eq);
	return 0;
}

/* Is source a generator spec?  Its shape in *shape if so. */
static bool is_generator(const char *source, enum astudy_shape *shape)
{
	char name[32];
	size_t len = strcspn(source, ":");

	if (len >= sizeof(name))
		return false;
	memcpy(name, source, len);
	name[len] = '\0';
	return astudy_shape_parse(name, shape) == 0;
}

static int generate(const char *spec, enum astudy_shape shape,
		    struct astudy_trace *tr)
{
	struct astudy_gen g = {
		shape, GEN_DEFAULT_SEED, GEN_DEFAULT_OPS, 0, 0, 0, 0
	};
	char buf[SPEC_MAX], *kv, *save;
	const char *colon = strchr(spec, ':');
	int rc;

	if (colon) {
		if (strlen(colon + 1) >= sizeof(buf) || !colon[1])
			return cli_error("alloc: generator '%s': no KEY=VALUE "
					 "after ':'",
					 spec);
		strcpy(buf, colon + 1);
		for (kv = strtok_r(buf, ",", &save); kv;
		     kv = strtok_r(NULL, ",", &save))
			if ((rc = gen_key(&g, spec, kv)) != 0)
				return rc;
	}
	rc = astudy_trace_generate(&g, tr);
	if (rc == -ENOMEM)
		return cli_fail("alloc: out of host memory");
	if (rc)
		return cli_error("alloc: generator '%s': bad parameters (ops "
				 ">= 2, min <= max, max <= %llu, powerlaw "
				 "needs min > 0)",
				 spec, (unsigned long long)ASTUDY_MAX_BYTES);
	return 0;
}

static int load(const char *source, struct astudy_trace *tr)
{
	enum astudy_shape shape;
	char err[ERR_LEN];
	int rc;

	if (is_generator(source, &shape))
		return generate(source, shape, tr);
	rc = astudy_trace_load(source, tr, err, sizeof(err));
	if (!rc)
		return 0;
	fflush(stdout);
	fprintf(stderr, "vmemu: %s\n", err);
	if (rc == -EINVAL)
		return EXIT_DATAERR;
	return rc == -ENOMEM ? CLI_EXIT_FAIL : EXIT_NOINPUT;
}

/* Run every allocator, print the rows; the exit status. */
static int run_all(const struct alloc_args *a, const struct astudy_trace *tr,
		   const enum astudy_alloc *allocs, int n)
{
	struct astudy_result rows[ASTUDY_NALLOCS];
	struct astudy_config cfg;
	int status = CLI_EXIT_OK;
	size_t len;
	char *buf;

	for (int i = 0; i < n; i++) {
		astudy_config_init(&cfg);
		cfg.alloc = allocs[i];
		cfg.arena_bytes = a->arena;
		if (astudy_run(&cfg, tr, &rows[i]) < 0)
			return cli_fail("alloc: %s could not run (host memory "
					"or a machine refused)",
					astudy_alloc_name(allocs[i]));
		if (rows[i].status)
			status = CLI_EXIT_FAIL;
	}
	len = astudy_format(rows, (size_t)n, a->csv ? ASTUDY_CSV : ASTUDY_TABLE,
			    NULL, 0) +
	      1;
	buf = malloc(len);
	if (!buf)
		return cli_fail("alloc: out of host memory");
	astudy_format(rows, (size_t)n, a->csv ? ASTUDY_CSV : ASTUDY_TABLE, buf,
		      len);
	if (!a->csv)
		printf("%s: %zu operations, %u allocation ids\n", a->source,
		       tr->nops, tr->nids);
	fputs(buf, stdout);
	free(buf);
	return status;
}

int cli_alloc(int argc, char **argv)
{
	struct alloc_args a = { 0 };
	enum astudy_alloc allocs[ASTUDY_NALLOCS];
	struct astudy_trace tr;
	int n, rc = parse_alloc(argc, argv, &a);

	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	n = parse_policies(a.policy, allocs);
	if (n <= 0)
		return cli_error("alloc: --policy '%s' is not a list of first, "
				 "next, best, worst, segregated, buddy, "
				 "bitmap, kmalloc (or all)",
				 a.policy ? a.policy : "");
	rc = load(a.source, &tr);
	if (rc)
		return rc;
	rc = run_all(&a, &tr, allocs, n);
	astudy_trace_free(&tr);
	return rc;
}
