/*
 * cli/sim.c - `vmemu sim`: a page-replacement study over a trace.
 *
 *   options -> load the trace (workloads/trace.h) -> frame counts ->
 *   one row per (policy, frames): a replay through the machine in exact
 *   mode (in parallel, --jobs), or LRU's stack pass under --mrc ->
 *   table or CSV, Belady's anomaly flagged -> the log (--log)
 *
 * `--find-anomaly POLICY` instead searches random reference strings for
 * the anomaly (trace_find_anomaly) and prints the one it finds.
 *
 * Every option is one line of sim_opts (name, argument, setter, help);
 * --help is printed from it.  Exit status: 0 done; 1 a run failed, the
 * log could not be written, no anomaly found; 2 bad usage (nothing run,
 * nothing written); 65 a malformed trace (file:line: message).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/sim.h"

#define DEFAULT_POLICIES "fifo,lru,clock,lfu,opt"
#define MAX_FRAMES_ITEMS 256
#define MAX_FRAME_COUNTS 1000000 /* sizes one --frames may name */
#define MRC_GRID	 64	 /* --mrc sizes for replayed policies */
#define FIND_TRIES_MODEL 100000	 /* strings, screened by a model */
#define FIND_TRIES_VM	 2000	 /* strings, machine only */
#define FIND_MAX_LEN	 20
#define FIND_MAX_PAGES	 6
#define NSEC_PER_SEC	 1000000000ULL
#define ERR_LEN		 512
#define HELP_WIDTH	 79

typedef int (*sim_set)(struct sim *s, const char *opt, const char *val);

struct sim_opt {
	const char *name, *arg; /* arg NULL: a flag */
	sim_set set;
	const char *help;
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- option setters ------------------------------------------------------ */

static int opt_policy(struct sim *s, const char *opt, const char *val)
{
	char *copy = strdup(val), *save = NULL, *tok;

	free(s->policies);
	free(s->policy_buf);
	s->policies = NULL;
	s->nr_policies = 0;
	s->policy_buf = copy;
	if (!copy)
		return cli_fail("sim: out of memory");
	s->policies = calloc(strlen(val) / 2 + 2, sizeof(*s->policies));
	if (!s->policies)
		return cli_fail("sim: out of memory");
	if (!*val || val[0] == ',' || val[strlen(val) - 1] == ',' ||
	    strstr(val, ",,"))
		return cli_error("sim: %s '%s' has an empty name", opt, val);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (size_t i = 0; i < s->nr_policies; i++)
			if (strcmp(s->policies[i], tok) == 0)
				return cli_error("sim: %s names '%s' twice",
						 opt, tok);
		s->policies[s->nr_policies++] = tok;
	}
	return 0;
}

static int bad_frames(const char *opt, const char *item)
{
	return cli_error("sim: %s item '%s' is not N, A-B, A-B:STEP or P%% "
			 "(frame counts >= 1)",
			 opt, item);
}

/* One item of --frames into it; 0 or the usage error. */
static int frames_item(const char *opt, char *item, const char *text,
		       struct sim_frames_item *it)
{
	size_t len = strlen(item);
	char *dash = strchr(item, '-'), *colon = strchr(item, ':'), *end;

	memset(it, 0, sizeof(*it));
	if (len > 1 && item[len - 1] == '%') {
		item[len - 1] = '\0';
		it->pct = strtod(item, &end);
		item[len - 1] = '%';
		if (end != item + len - 1 || !(it->pct > 0) || it->pct > 1000 ||
		    item[0] < '0' || item[0] > '9')
			return bad_frames(opt, text);
		return 0;
	}
	if (colon)
		*colon = '\0';
	if (dash)
		*dash = '\0';
	if (cli_parse_u64(item, &it->lo) ||
	    (dash && cli_parse_u64(dash + 1, &it->hi)) ||
	    (colon && (!dash || cli_parse_u64(colon + 1, &it->step))))
		return bad_frames(opt, text);
	it->hi = dash ? it->hi : it->lo;
	it->step = colon ? it->step : 1;
	if (it->lo == 0 || it->hi < it->lo || it->step == 0)
		return bad_frames(opt, text);
	if ((it->hi - it->lo) / it->step >= MAX_FRAME_COUNTS)
		return cli_error("sim: %s '%s' names more than %d frame counts",
				 opt, text, MAX_FRAME_COUNTS);
	return 0;
}

static int opt_frames(struct sim *s, const char *opt, const char *val)
{
	char *copy = strdup(val), *save = NULL, *tok, shown[128];
	int rc = 0;

	if (!copy)
		return cli_fail("sim: out of memory");
	free(s->items);
	s->items = calloc(MAX_FRAMES_ITEMS, sizeof(*s->items));
	s->nr_items = 0;
	if (!s->items)
		rc = cli_fail("sim: out of memory");
	else if (!*val || val[strlen(val) - 1] == ',' || strstr(val, ",,"))
		rc = cli_error("sim: %s '%s' has an empty item", opt, val);
	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		snprintf(shown, sizeof(shown), "%s", tok);
		if (s->nr_items == MAX_FRAMES_ITEMS)
			rc = cli_error("sim: %s has more than %d items", opt,
				       MAX_FRAMES_ITEMS);
		else
			rc = frames_item(opt, tok, shown,
					 &s->items[s->nr_items++]);
	}
	free(copy);
	return rc;
}

static int opt_format(struct sim *s, const char *opt, const char *val)
{
	if (trace_format_parse(val, &s->topts.format))
		return cli_error("sim: %s '%s' is not one of auto, txt, csv, "
				 "vmtrace, oracleGeneral",
				 opt, val);
	return 0;
}

static int opt_column(struct sim *s, const char *opt, const char *val)
{
	(void)opt;
	s->topts.csv_column = val;
	return 0;
}

static int opt_header(struct sim *s, const char *opt, const char *val)
{
	(void)val;
	s->topts.csv_header = strcmp(opt, "--header") == 0 ? TRACE_HEADER_YES :
							     TRACE_HEADER_NO;
	return 0;
}

static int opt_csv(struct sim *s, const char *opt, const char *val)
{
	(void)opt;
	(void)val;
	s->csv = true;
	return 0;
}

static int opt_mrc(struct sim *s, const char *opt, const char *val)
{
	(void)opt;
	(void)val;
	s->mrc = true;
	return 0;
}

static int opt_log(struct sim *s, const char *opt, const char *val)
{
	(void)opt;
	s->log_path = val;
	return 0;
}

static int set_count(uint64_t *field, uint64_t max, const char *opt,
		     const char *val)
{
	if (cli_parse_u64(val, field) || *field == 0 || *field > max)
		return cli_error("sim: %s '%s' is not a number in 1..%llu", opt,
				 val, (unsigned long long)max);
	return 0;
}

static int opt_jobs(struct sim *s, const char *opt, const char *val)
{
	uint64_t v;
	int rc = set_count(&v, 1024, opt, val);

	s->jobs = (unsigned)v;
	return rc;
}

static int opt_find(struct sim *s, const char *opt, const char *val)
{
	(void)opt;
	s->find = val;
	return 0;
}

static int opt_seed(struct sim *s, const char *opt, const char *val)
{
	if (cli_parse_u64(val, &s->seed))
		return cli_error("sim: %s '%s' is not a number", opt, val);
	s->seed_set = true;
	return 0;
}

static int opt_tries(struct sim *s, const char *opt, const char *val)
{
	return set_count(&s->tries, UINT64_MAX, opt, val);
}

static int opt_max_len(struct sim *s, const char *opt, const char *val)
{
	uint64_t v;
	int rc = set_count(&v, TRACE_ANOMALY_MAXLEN, opt, val);

	s->max_len = (unsigned)v;
	return rc;
}

static int opt_max_pages(struct sim *s, const char *opt, const char *val)
{
	uint64_t v;
	int rc = set_count(&v, 64, opt, val);

	s->max_pages = (unsigned)v;
	return rc;
}

static const struct sim_opt sim_opts[] = {
	{ "--policy", "P[,P...]", opt_policy,
	  "replacement policies (default: those of " DEFAULT_POLICIES
	  " the machine has)" },
	{ "--frames", "LIST", opt_frames,
	  "frame counts: N, A-B, A-B:STEP or P% of the trace's distinct "
	  "pages, comma-separated" },
	{ "--format", "F", opt_format,
	  "auto (default: by name, else content), txt, csv, vmtrace, "
	  "oracleGeneral" },
	{ "--column", "C", opt_column,
	  "csv: the column, a 1-based number or a header name (default 1)" },
	{ "--header", NULL, opt_header,
	  "csv: the first row is a header (default: when its column is no "
	  "number)" },
	{ "--no-header", NULL, opt_header, "csv: there is no header row" },
	{ "--csv", NULL, opt_csv,
	  "CSV output: the columns policy, frames, requests, misses, "
	  "miss_ratio, seconds, then mode, method, anomaly" },
	{ "--mrc", NULL, opt_mrc,
	  "miss-ratio curve: LRU at every frame count 1..pages in one pass; "
	  "other policies at --frames, or 64 sizes up to the pages" },
	{ "--log", "FILE.db", opt_log,
	  "append the results to a vmemu database (tables sim_*)" },
	{ "--jobs", "N", opt_jobs,
	  "replays run at once (default: the online CPUs)" },
	{ "--find-anomaly", "POLICY", opt_find,
	  "search random reference strings for Belady's anomaly (no TRACE)" },
	{ "--seed", "N", opt_seed,
	  "--find-anomaly: the seed (default: clock)" },
	{ "--tries", "N", opt_tries,
	  "--find-anomaly: strings to try (default 100000, 2000 without a "
	  "model)" },
	{ "--max-len", "N", opt_max_len,
	  "--find-anomaly: longest string (default 20, at most 64)" },
	{ "--max-pages", "N", opt_max_pages,
	  "--find-anomaly: most distinct pages (default 6)" },
};

/* "  LEFT  help..." with the help wrapped at HELP_WIDTH columns. */
static void print_wrapped(const char *left, const char *help)
{
	int col = printf("  %-24s", left);

	while (*help) {
		size_t word = strcspn(help, " ");

		if (col + 1 + (int)word > HELP_WIDTH)
			col = printf("\n%26s", "") - 1;
		col += printf(" %.*s", (int)word, help);
		help += word;
		help += strspn(help, " ");
	}
	putchar('\n');
}

static void sim_help(void)
{
	printf("usage: vmemu sim [OPTION]... --frames LIST TRACE\n"
	       "       vmemu sim --mrc [OPTION]... TRACE\n"
	       "       vmemu sim --find-anomaly POLICY [--seed N] "
	       "[--tries N]\n\n"
	       "Replays a trace of page references through the emulated "
	       "machine in exact\nreplacement mode (trace mode; every miss "
	       "is one page fault) and prints one\nrow per (policy, frames). "
	       "TRACE may be gzip (.gz) or zstd (.zst) compressed.\n\n");
	for (size_t i = 0; i < sizeof(sim_opts) / sizeof(sim_opts[0]); i++) {
		const struct sim_opt *o = &sim_opts[i];
		char left[40];

		snprintf(left, sizeof(left), "%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		print_wrapped(left, o->help);
	}
	printf("  %-24s %s\n", "-h, --help", "this text");
	printf("\nFormats: txt (a page number or id per line), csv, vmtrace "
	       "('R 0x7f..'/'W ..'\nbyte addresses, 4 KiB pages), "
	       "oracleGeneral (libCacheSim's 24-byte records).\nMore frames "
	       "but more misses (Belady's anomaly) is flagged: \"FIFO: 4 "
	       "frames\n10 misses > 3 frames 9 misses\".  docs/sim.md has "
	       "the details.\n"
	       "Exit status: 0 ok; 1 a run failed or no anomaly was found; "
	       "2 bad usage;\n65 a malformed trace.\n");
}

/* ---- parsing argv ---------------------------------------------------------- */

static void record_cmdline(struct sim *s, int argc, char **argv)
{
	size_t used = (size_t)snprintf(s->cmdline, sizeof(s->cmdline), "vmemu");

	for (int i = 0; i < argc && used < sizeof(s->cmdline); i++) {
		bool plain = argv[i][0] && !strpbrk(argv[i], " \t'\"\\$");

		used += (size_t)snprintf(s->cmdline + used,
					 sizeof(s->cmdline) - used,
					 plain ? " %s" : " '%s'", argv[i]);
	}
}

static const struct sim_opt *find_opt(const char *name)
{
	for (size_t i = 0; i < sizeof(sim_opts) / sizeof(sim_opts[0]); i++)
		if (strcmp(sim_opts[i].name, name) == 0)
			return &sim_opts[i];
	return NULL;
}

/* -1: help printed; 0 ok; else the exit status. */
static int parse_args(struct sim *s, int argc, char **argv)
{
	struct cli_args a = { argc, argv, 1, "" };
	const char *arg, *iv, *val;
	const struct sim_opt *o;
	int rc;

	record_cmdline(s, argc, argv);
	while (cli_arg_next(&a, &arg, &iv)) {
		if (cli_is_help(arg)) {
			sim_help();
			return -1;
		}
		if (arg[0] == '-' && arg[1]) {
			o = find_opt(arg);
			if (!o)
				return cli_error("sim: unknown option '%s' "
						 "(vmemu sim --help)",
						 arg);
			if (!o->arg && iv)
				return cli_error("sim: %s takes no value", arg);
			val = o->arg ? cli_arg_value(&a, "sim", arg, iv) : NULL;
			if (o->arg && !val)
				return CLI_EXIT_USAGE;
			rc = o->set(s, arg, val);
			if (rc)
				return rc;
		} else if (s->trace_path) {
			return cli_error("sim: unexpected argument '%s' (one "
					 "TRACE)",
					 arg);
		} else {
			s->trace_path = arg;
		}
	}
	return 0;
}

/* Options that only make sense together. */
static int check_combinations(const struct sim *s)
{
	if (s->find && (s->trace_path || s->nr_items || s->mrc || s->log_path))
		return cli_error(
			"sim: --find-anomaly takes no TRACE, --frames, "
			"--mrc or --log");
	if (!s->find && (s->seed_set || s->tries || s->max_len || s->max_pages))
		return cli_error("sim: --seed, --tries, --max-len and "
				 "--max-pages go with --find-anomaly");
	if (s->find)
		return 0;
	if (!s->trace_path)
		return cli_error("sim: needs a TRACE (vmemu sim --help)");
	if (!s->nr_items && !s->mrc)
		return cli_error("sim: needs --frames (or --mrc)");
	return 0;
}

static bool stacked(const struct sim *s, const char *policy)
{
	return s->mrc && strcmp(policy, "lru") == 0;
}

/* The default list keeps the policies the machine has (one at least). */
static void drop_missing_defaults(struct sim *s)
{
	char msg[ERR_LEN];
	size_t n = 0;

	for (size_t i = 0; i < s->nr_policies; i++)
		if (stacked(s, s->policies[i]) ||
		    trace_policy_available(s->policies[i], msg, sizeof(msg)))
			s->policies[n++] = s->policies[i];
	if (n)
		s->nr_policies = n;
}

/* Every policy to replay must be one the machine runs in exact mode. */
static int check_policies(const struct sim *s)
{
	char msg[ERR_LEN];

	for (size_t i = 0; i < s->nr_policies; i++) {
		if (stacked(s, s->policies[i]))
			continue;
		if (!trace_policy_available(s->policies[i], msg, sizeof(msg)))
			return cli_error("sim: --policy %s: %s", s->policies[i],
					 msg);
	}
	return 0;
}

/* ---- the trace ----------------------------------------------------------- */

static int load_status(int rc)
{
	switch (-rc) {
	case EBADMSG:
	case EFBIG:
		return SIM_EXIT_DATAERR;
	case EINVAL:
	case ENOENT:
	case EACCES:
	case EISDIR:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
		return CLI_EXIT_USAGE;
	default:
		return CLI_EXIT_FAIL;
	}
}

static void vtime_warning(const struct sim *s)
{
	const struct trace *tr = &s->tr;
	uint32_t next = tr->next[tr->vtime_mismatch - 1];
	char want[32];

	if (next == TRACE_NEVER)
		snprintf(want, sizeof(want), "-1 (never)");
	else
		snprintf(want, sizeof(want), "%llu",
			 (unsigned long long)next + 1);
	fflush(stdout);
	fprintf(stderr,
		"vmemu: warning: %s:record %llu: next_access_vtime %lld "
		"disagrees with the trace itself (%s); the replay uses "
		"its own\n",
		s->trace_path, (unsigned long long)tr->vtime_mismatch,
		(long long)tr->vtime_given, want);
}

static int load(struct sim *s)
{
	char err[ERR_LEN];
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	int rc = trace_load(s->trace_path, &s->topts, &s->tr, err, sizeof(err));

	s->load_ns = now_ns(CLOCK_MONOTONIC) - t0;
	if (rc) {
		fflush(stdout);
		fprintf(stderr, "vmemu: %s\n", err);
		return load_status(rc);
	}
	if (s->tr.nr_requests == 0) {
		fflush(stdout);
		fprintf(stderr, "vmemu: %s: no requests in the trace\n",
			s->trace_path);
		return SIM_EXIT_DATAERR;
	}
	if (s->tr.vtime_mismatch)
		vtime_warning(s);
	return 0;
}

/* ---- frame counts and rows ------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t pct_frames(double pct, uint64_t pages)
{
	double f = floor(pct * (double)pages / 100 + 0.5);

	return f < 1 ? 1 : (uint64_t)f;
}

/* --frames resolved against the trace: sorted, distinct. */
static int resolve_frames(struct sim *s)
{
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < s->nr_items; i++)
		cap += s->items[i].pct > 0 ? 1 :
					     (s->items[i].hi - s->items[i].lo) /
							     s->items[i].step +
						     1;
	s->frames = malloc((cap ? cap : 1) * sizeof(*s->frames));
	if (!s->frames)
		return cli_fail("sim: out of memory");
	for (size_t i = 0; i < s->nr_items; i++) {
		const struct sim_frames_item *it = &s->items[i];

		if (it->pct > 0) {
			s->frames[n++] = pct_frames(it->pct, s->tr.nr_pages);
			continue;
		}
		for (uint64_t f = it->lo; f <= it->hi && f >= it->lo;
		     f += it->step)
			s->frames[n++] = f;
	}
	qsort(s->frames, n, sizeof(*s->frames), cmp_u64);
	s->nr_frames = 0;
	for (size_t i = 0; i < n; i++)
		if (!s->nr_frames ||
		    s->frames[i] != s->frames[s->nr_frames - 1])
			s->frames[s->nr_frames++] = s->frames[i];
	return 0;
}

/* A policy's frame counts: --frames, else --mrc's defaults. */
static size_t policy_frames(const struct sim *s, const char *policy,
			    uint64_t *out)
{
	uint64_t pages = s->tr.nr_pages;
	size_t n = 0;

	if (s->nr_items) {
		memcpy(out, s->frames, s->nr_frames * sizeof(*out));
		return s->nr_frames;
	}
	if (stacked(s, policy)) {
		for (uint64_t f = 1; f <= pages; f++)
			out[n++] = f;
		return n;
	}
	for (uint64_t k = 1; k <= MRC_GRID; k++) {
		uint64_t f = (pages * k + MRC_GRID - 1) / MRC_GRID;

		if (f && (!n || out[n - 1] != f))
			out[n++] = f;
	}
	return n;
}

/* Rows and replays needed: counted first, so nothing is over-allocated. */
static void count_rows(const struct sim *s, uint64_t *fr, size_t *rows,
		       size_t *runs)
{
	*rows = *runs = 0;
	for (size_t p = 0; p < s->nr_policies; p++) {
		size_t n = policy_frames(s, s->policies[p], fr);

		*rows += n;
		*runs += stacked(s, s->policies[p]) ? 0 : n;
	}
}

static int build_rows(struct sim *s)
{
	size_t per = s->nr_items ? s->nr_frames :
				   (size_t)s->tr.nr_pages + MRC_GRID;
	uint64_t *fr = malloc((per ? per : 1) * sizeof(*fr));
	size_t nrows, nruns;

	if (fr)
		count_rows(s, fr, &nrows, &nruns);
	s->rows = fr ? calloc(nrows + 1, sizeof(*s->rows)) : NULL;
	s->runs = fr ? calloc(nruns + 1, sizeof(*s->runs)) : NULL;
	if (!fr || !s->rows || !s->runs) {
		free(fr);
		return cli_fail("sim: out of memory");
	}
	for (size_t p = 0; p < s->nr_policies; p++) {
		const char *pol = s->policies[p];
		size_t n = policy_frames(s, pol, fr);

		for (size_t i = 0; i < n; i++) {
			struct sim_row *r = &s->rows[s->nr_rows++];

			*r = (struct sim_row){ .policy = pol, .frames = fr[i] };
			r->method = stacked(s, pol) ? SIM_STACK : SIM_REPLAY;
			if (r->method == SIM_STACK)
				continue;
			r->run = s->nr_runs;
			s->runs[s->nr_runs++] =
				(struct trace_run){ .policy = pol,
						    .frames = fr[i] };
		}
	}
	free(fr);
	return 0;
}

/* ---- running ------------------------------------------------------------ */

static int stack_pass(struct sim *s)
{
	uint64_t t0;

	s->lru_mrc = malloc((s->tr.nr_pages + 1) * sizeof(*s->lru_mrc));
	if (!s->lru_mrc)
		return cli_fail("sim: out of memory");
	t0 = now_ns(CLOCK_MONOTONIC);
	if (trace_lru_mrc(&s->tr, s->lru_mrc))
		return cli_fail("sim: out of memory (the stack pass)");
	s->mrc_seconds = (double)(now_ns(CLOCK_MONOTONIC) - t0) / NSEC_PER_SEC;
	return 0;
}

static void fill_rows(struct sim *s)
{
	for (size_t i = 0; i < s->nr_rows; i++) {
		struct sim_row *r = &s->rows[i];
		uint64_t c = r->frames < s->tr.nr_pages ? r->frames :
							  s->tr.nr_pages;

		r->requests = s->tr.nr_requests;
		if (r->method == SIM_STACK) {
			r->misses = s->lru_mrc[c];
			r->seconds = s->mrc_seconds;
		} else {
			r->misses = s->runs[r->run].misses;
			r->requests = s->runs[r->run].requests;
			r->seconds = (double)s->runs[r->run].ns / NSEC_PER_SEC;
		}
	}
}

static int run_all(struct sim *s)
{
	bool need_stack = false;
	int rc = 0;

	for (size_t i = 0; i < s->nr_rows; i++)
		need_stack |= s->rows[i].method == SIM_STACK;
	if (need_stack && (rc = stack_pass(s)))
		return rc;
	if (s->nr_runs &&
	    trace_replay_all(&s->tr, s->runs, (unsigned)s->nr_runs, s->jobs)) {
		for (size_t i = 0; i < s->nr_runs; i++)
			if (s->runs[i].err)
				cli_fail("sim: %s with %llu frames: %s",
					 s->runs[i].policy,
					 (unsigned long long)s->runs[i].frames,
					 s->runs[i].msg);
		return CLI_EXIT_FAIL;
	}
	fill_rows(s);
	return 0;
}

/* ---- --find-anomaly ---------------------------------------------------- */

static void print_found(const struct trace_anomaly *a)
{
	char up[64];
	unsigned pages = 0;

	for (unsigned i = 0; i < a->len; i++)
		pages = a->refs[i] > pages ? a->refs[i] : pages;
	printf("%s: %u frames %llu misses > %u frames %llu misses\n",
	       sim_upper(a->policy, up, sizeof(up)), a->frames + 1,
	       (unsigned long long)a->misses_hi, a->frames,
	       (unsigned long long)a->misses_lo);
	printf("reference string (%u requests, pages 1..%u):", a->len, pages);
	for (unsigned i = 0; i < a->len; i++)
		printf(" %u", a->refs[i]);
	printf("\nfound after %llu random strings; ",
	       (unsigned long long)a->tried);
	if (a->model_only)
		printf("counts from the reference model, not the machine (%s)"
		       "\n",
		       a->msg);
	else
		printf("counts from the machine in exact mode%s\n",
		       a->by_model ? " (strings screened by a reference "
				     "model)" :
				     "");
	if (a->model_disagreed)
		printf("warning: the machine did not confirm %llu of the "
		       "model's candidates\n",
		       (unsigned long long)a->model_disagreed);
}

static int find_anomaly(struct sim *s)
{
	struct trace_anomaly a = { .policy = s->find };
	uint32_t one = 1;
	uint64_t m;
	bool model = trace_model_misses(s->find, &one, 1, 1, &m) == 0;
	int rc;

	a.seed = s->seed_set ? s->seed :
			       now_ns(CLOCK_REALTIME) ^ (uint64_t)getpid();
	a.tries = s->tries ? s->tries :
		  model	   ? FIND_TRIES_MODEL :
			     FIND_TRIES_VM;
	a.max_len = s->max_len ? s->max_len : FIND_MAX_LEN;
	a.max_page = s->max_pages ? s->max_pages : FIND_MAX_PAGES;
	printf("seed %llu (--seed %llu repeats this search)\n",
	       (unsigned long long)a.seed, (unsigned long long)a.seed);
	fflush(stdout);
	rc = trace_find_anomaly(&a);
	if (rc < 0)
		return a.tried ? cli_fail("sim: --find-anomaly %s: %s", s->find,
					  a.msg) :
				 cli_error("sim: --find-anomaly %s: %s",
					   s->find, a.msg);
	if (rc == 0) {
		printf("no anomaly for %s in %llu random strings (up to %u "
		       "requests over up to %u pages)\n",
		       s->find, (unsigned long long)a.tried, a.max_len,
		       a.max_page);
		return CLI_EXIT_FAIL;
	}
	print_found(&a);
	return CLI_EXIT_OK;
}

/* ---- the whole command ------------------------------------------------ */

static void sim_free(struct sim *s)
{
	free(s->policy_buf);
	free(s->policies);
	free(s->items);
	free(s->frames);
	free(s->lru_mrc);
	free(s->runs);
	free(s->rows);
	trace_free(&s->tr);
}

static int run_sim(struct sim *s)
{
	char err[ERR_LEN], sha[SIM_SHA256_HEX];
	bool exists;
	int rc;

	if (!s->policies) {
		rc = opt_policy(s, "--policy", DEFAULT_POLICIES);
		if (rc)
			return rc;
		drop_missing_defaults(s);
	}
	if ((rc = check_policies(s)))
		return rc;
	if (s->log_path &&
	    sim_log_check(s->log_path, &exists, err, sizeof(err)))
		return cli_error("sim: --log %s", err);
	s->log_created = s->log_path && !exists;
	s->start_unix_ns = now_ns(CLOCK_REALTIME);
	if ((rc = load(s)) || (rc = resolve_frames(s)) ||
	    (rc = build_rows(s)) || (rc = run_all(s)))
		return rc;
	sim_mark_anomalies(s);
	sim_print(s);
	if (!s->log_path)
		return CLI_EXIT_OK;
	if (sim_sha256(s->trace_path, sha, err, sizeof(err)) ||
	    sim_log_write(s, sha, err, sizeof(err)))
		return cli_fail("sim: --log %s", err);
	return CLI_EXIT_OK;
}

int cli_sim(int argc, char **argv)
{
	struct sim s = { 0 };
	int rc;

	trace_opts_init(&s.topts);
	rc = parse_args(&s, argc, argv);
	if (!rc)
		rc = check_combinations(&s);
	if (!rc)
		rc = s.find ? find_anomaly(&s) : run_sim(&s);
	fflush(stdout);
	sim_free(&s);
	return rc < 0 ? CLI_EXIT_OK : rc;
}
