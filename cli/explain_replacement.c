/*
 * cli/explain_replacement.c - `vmemu explain replacement [REFS [FRAMES]]`:
 * one reference string through OPT, FIFO, LRU, Clock and LFU, frame by
 * frame, as the textbooks draw it; then Belady's anomaly.
 *
 *   for each policy: a machine in exact replacement (docs/exact.md,
 *   vm_config.exact_frames = FRAMES, the policy by name) -> one task
 *   reads page p of the string at base + p * 4096, telling the policy
 *   the next use (vm_access_next: OPT's future) -> after each access:
 *   fault = pgfault moved (vm_stat); frame contents = vm_walk of every
 *   page of the string: the resident ones' pfns.
 *
 * Exact mode gives an evicted page's frame straight to the new page, so
 * a pfn is a frame slot of the figure: slot k is the k-th pfn seen.  A
 * policy the machine refuses (not built yet) is listed as unavailable
 * with the machine's own reason.
 *
 * Defaults: Silberschatz's string 7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1
 * with 3 frames; Belady's 1 2 3 4 1 2 5 1 2 3 4 5 with 3 and 4 frames.
 *
 * Threads: each run's task thread fills its struct rp_run; the main
 * thread reads it after vm_wait and builds the doc.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define PAGE	    VM_PAGE_SIZE
#define RP_MAX_REFS 200
#define RP_MAX_PAGE 999
#define RP_MAX_FR   16
#define RP_LABEL    9 /* "frame 10 " */
#define RP_CMD	    160
#define RP_NONE	    (-1)

struct rp_step {
	int frame[RP_MAX_FR]; /* page in each slot, RP_NONE: empty */
	bool fault;
	int victim; /* page evicted, RP_NONE */
};

struct rp_run {
	const char *policy;
	const unsigned *refs;
	size_t n;
	unsigned frames;
	bool available;
	char why[256]; /* unavailable: the machine's reason */
	uint64_t faults;
	const char *fail;
	struct rp_step step[RP_MAX_REFS];
	/* the task's */
	uint64_t base, pfn[RP_MAX_FR];
	unsigned nslots;
	struct vm *vm;
};

static const struct {
	const char *name, *title, *rule;
} rp_policies[] = {
	{ "opt", "OPT",
	  "OPT (Belady's MIN) evicts the page whose next use is farthest "
	  "away: it needs the future (vm_access_next), so it is the bound "
	  "the others are measured against." },
	{ "fifo", "FIFO", "FIFO evicts the page that was loaded first." },
	{ "lru", "LRU", "LRU evicts the page used least recently." },
	{ "clock", "Clock",
	  "Clock (second chance) is FIFO that spares a page hit since it "
	  "was loaded or last spared: its reference bit is cleared and it "
	  "goes to the back of the queue." },
	{ "lfu", "LFU",
	  "LFU evicts the page used least often since it came in (a page "
	  "starts at 1; ties: the one used least recently)." },
};

static const unsigned silberschatz[] = { 7, 0, 1, 2, 0, 3, 0, 4, 2, 3,
					 0, 3, 2, 1, 2, 0, 1, 7, 0, 1 };
static const unsigned belady[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };

/* ---- one run ------------------------------------------------------------ */

/* The slot of pfn (a new one gets the next slot), or -1. */
static int rp_slot(struct rp_run *r, uint64_t pfn)
{
	for (unsigned k = 0; k < r->nslots; k++)
		if (r->pfn[k] == pfn)
			return (int)k;
	if (r->nslots == r->frames)
		return -1;
	r->pfn[r->nslots] = pfn;
	return (int)r->nslots++;
}

/* Which page is in which slot now (vm_walk of every page of the string). */
static int rp_frames(struct rp_run *r, int pid, struct rp_step *st)
{
	for (unsigned k = 0; k < RP_MAX_FR; k++)
		st->frame[k] = RP_NONE;
	for (size_t i = 0; i < r->n; i++) {
		struct vm_walk w;
		int k;

		if (vm_walk(r->vm, pid, r->base + r->refs[i] * PAGE, &w) < 0)
			return -1;
		if (w.state != VM_PTE_MAPPED)
			continue;
		k = rp_slot(r, w.pfn);
		if (k < 0)
			return -1; /* more frames than FRAMES: a bug */
		st->frame[k] = (int)r->refs[i];
	}
	return 0;
}

/* The victim: in the slots before, not after (the new page aside). */
static int rp_victim(const struct rp_step *prev, const struct rp_step *st,
		     unsigned frames)
{
	for (unsigned k = 0; k < frames; k++)
		if (prev->frame[k] != RP_NONE && prev->frame[k] != st->frame[k])
			return prev->frame[k];
	return RP_NONE;
}

/* Request index of each reference's next use (UINT64_MAX: none). */
static void rp_next_use(const struct rp_run *r, uint64_t *next)
{
	for (size_t i = 0; i < r->n; i++) {
		next[i] = UINT64_MAX;
		for (size_t j = i + 1; j < r->n; j++)
			if (r->refs[j] == r->refs[i]) {
				next[i] = j;
				break;
			}
	}
}

static int rp_task(struct vm_task *t, void *arg)
{
	struct rp_run *r = arg;
	uint64_t next[RP_MAX_REFS], span = 0;
	struct rp_step empty;
	int pid = vm_getpid(t);

	for (size_t i = 0; i < r->n; i++)
		span = r->refs[i] + 1 > span ? r->refs[i] + 1 : span;
	rp_next_use(r, next);
	r->base = vm_mmap(t, 0, span * PAGE, VM_PROT_READ,
			  VM_MAP_PRIVATE | VM_MAP_ANON);
	if (vm_mmap_failed(r->base))
		return r->fail = "mmap failed", 1;
	for (unsigned k = 0; k < RP_MAX_FR; k++)
		empty.frame[k] = RP_NONE;
	for (size_t i = 0; i < r->n; i++) {
		struct rp_step *st = &r->step[i];
		struct vm_stat a, b;

		vm_stat(r->vm, &a);
		if (vm_access_next(t, r->base + r->refs[i] * PAGE, 0, next[i]))
			return r->fail = "an access failed", 2;
		vm_stat(r->vm, &b);
		st->fault = b.pgfault != a.pgfault;
		r->faults += st->fault;
		if (rp_frames(r, pid, st))
			return r->fail = "the frames do not add up", 3;
		st->victim =
			rp_victim(i ? &r->step[i - 1] : &empty, st, r->frames);
	}
	return 0;
}

/* Run r->policy; 0 (r->available tells), or -1 after printing why. */
static int rp_run(struct ex_ctx *c, struct rp_run *r)
{
	char cmd[RP_CMD];
	struct vm_config cfg;
	struct vm_exit ex;

	snprintf(cmd, sizeof(cmd), "%s (%s, %u frames)", c->cmdline, r->policy,
		 r->frames);
	ex_config(c, &cfg);
	cfg.policy = r->policy;
	cfg.exact_frames = r->frames;
	cfg.log_cmdline = cmd;
	r->vm = vm_create(&cfg, r->why, sizeof(r->why));
	if (!r->vm && strstr(r->why, "unknown policy"))
		return 0; /* not (yet) built: r->why says so */
	if (!r->vm) {
		cli_fail("explain replacement: %s", r->why);
		return -1;
	}
	r->available = true;
	if (ex_run_task(r->vm, "refs", rp_task, r, &ex) ||
	    ex_machine_done(r->vm))
		return -1;
	if (ex.reason != VM_EXIT_NORMAL || ex.code) {
		cli_fail("explain replacement: %s: %s", r->policy,
			 r->fail ? r->fail : "the task failed");
		return -1;
	}
	return 0;
}

/* ---- the figure ------------------------------------------------------------ */

struct rp_buf {
	char *s;
	size_t len, used;
};

static void rp_put(struct rp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rp_put(struct rp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->s + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->used = b->used + (size_t)n < b->len ? b->used + (size_t)n :
							 b->len - 1;
}

/* Drop the row's trailing blanks (empty cells at its end). */
static void rp_trim(struct rp_buf *b)
{
	while (b->used && b->s[b->used - 1] == ' ')
		b->s[--b->used] = 0;
}

/* Cell width: the widest page number and a space, at least 3. */
static int rp_cell(const struct rp_run *r)
{
	unsigned max = 0;
	int w = 1;

	for (size_t i = 0; i < r->n; i++)
		max = r->refs[i] > max ? r->refs[i] : max;
	for (; max >= 10; max /= 10)
		w++;
	return w + 1 < 3 ? 3 : w + 1;
}

/* Steps [from, to) of one row: row -1 the refs, -2 faults, -3 victims. */
static void rp_row(struct rp_buf *b, const struct rp_run *r, int row,
		   size_t from, size_t to, int cw)
{
	for (size_t i = from; i < to; i++) {
		const struct rp_step *st = &r->step[i];
		int v = row >= 0  ? st->frame[row] :
			row == -1 ? (int)r->refs[i] :
			row == -3 ? st->victim :
				    RP_NONE;

		if (row == -2)
			rp_put(b, "%*s", cw, st->fault ? "F" : "");
		else if (v == RP_NONE)
			rp_put(b, "%*s", cw, "");
		else
			rp_put(b, "%*d", cw, v);
	}
}

/* The textbook table, in chunks that fit 80 columns at indent. */
static void rp_figure(struct ex_doc *d, const struct rp_run *r, int indent)
{
	int cw = rp_cell(r);
	size_t per = (size_t)((EX_WIDTH - indent - RP_LABEL) / cw);
	char text[8192];
	struct rp_buf b = { text, sizeof(text), 0 };

	text[0] = 0;
	for (size_t from = 0; from < r->n; from += per) {
		size_t to = from + per < r->n ? from + per : r->n;

		rp_put(&b, "%s%-*s", from ? "\n" : "", RP_LABEL, "ref");
		rp_row(&b, r, -1, from, to, cw);
		for (unsigned k = 0; k < r->frames; k++) {
			rp_put(&b, "\nframe %-*u", RP_LABEL - 6, k + 1);
			rp_row(&b, r, (int)k, from, to, cw);
			rp_trim(&b);
		}
		rp_put(&b, "\n%-*s", RP_LABEL, "fault");
		rp_row(&b, r, -2, from, to, cw);
		rp_trim(&b);
		rp_put(&b, "\n%-*s", RP_LABEL, "evicted");
		rp_row(&b, r, -3, from, to, cw);
		rp_trim(&b);
		rp_put(&b, "\n");
	}
	ex_pre(d, "%s", text);
}

/* The steps for JSON (the figure's data). */
static void rp_steps(struct ex_doc *d, const struct rp_run *r)
{
	ex_arr(d, "steps", "steps");
	ex_json_only(d);
	for (size_t i = 0; i < r->n; i++) {
		ex_obj(d, NULL, NULL);
		ex_uint(d, "ref", "ref", r->refs[i], 0);
		ex_bool(d, "fault", "fault", r->step[i].fault, 0);
		ex_int(d, "victim", "evicted", r->step[i].victim, 0);
		ex_arr(d, "frames", "frames");
		for (unsigned k = 0; k < r->frames; k++)
			ex_int(d, NULL, NULL, r->step[i].frame[k], 0);
		ex_end(d);
		ex_end(d);
	}
	ex_end(d);
}

/* One policy's section: its count, the figure, the steps. */
static void rp_doc_run(struct ex_doc *d, const char *key, const char *label,
		       const char *rule, const struct rp_run *r)
{
	ex_obj(d, key, label);
	if (rule)
		ex_para(d, "%s", rule);
	ex_bool(d, "available", "available", r->available, 0);
	if (!r->available) {
		ex_para(d, "Not in this build: the machine says \"%s\".",
			r->why);
		ex_end(d);
		return;
	}
	ex_uint(d, "frames", "frames", r->frames, 0);
	ex_uint(d, "faults", "page faults", r->faults, 0);
	ex_uint(d, "hits", "hits", r->n - r->faults, 0);
	rp_figure(d, r, 2);
	rp_steps(d, r);
	ex_end(d);
}

/* ---- the topic ------------------------------------------------------------ */

struct rp_args {
	unsigned refs[RP_MAX_REFS];
	size_t n;
	unsigned frames;
	bool deflt; /* Silberschatz's string and 3 frames */
};

/* REFS: page numbers separated by commas or spaces. */
static int rp_parse_refs(const char *text, struct rp_args *a)
{
	const char *p = text;

	a->n = 0;
	while (*p) {
		char *end;
		unsigned long v;

		p += strspn(p, ", ");
		if (!*p)
			break;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (end == p || errno || v > RP_MAX_PAGE ||
		    (*end && !strchr(", ", *end)))
			return cli_error("explain replacement: '%s' is not a "
					 "list of page numbers 0..%d",
					 text, RP_MAX_PAGE);
		if (a->n == RP_MAX_REFS)
			return cli_error("explain replacement: more than %d "
					 "references",
					 RP_MAX_REFS);
		a->refs[a->n++] = (unsigned)v;
		p = end;
	}
	if (!a->n)
		return cli_error("explain replacement: no references in '%s'",
				 text);
	return 0;
}

static int rp_parse(const struct ex_ctx *c, struct rp_args *a)
{
	uint64_t f;

	memcpy(a->refs, silberschatz, sizeof(silberschatz));
	a->n = ARRAY_SIZE_CLI(silberschatz);
	a->frames = 3;
	if (c->argc > 2)
		return cli_error("explain replacement: too many arguments "
				 "(REFS FRAMES)");
	if (c->argc > 0 && rp_parse_refs(c->argv[0], a))
		return CLI_EXIT_USAGE;
	if (c->argc > 1) {
		if (cli_parse_u64(c->argv[1], &f) || f < 1 || f > RP_MAX_FR)
			return cli_error("explain replacement: FRAMES '%s' "
					 "is not 1..%d",
					 c->argv[1], RP_MAX_FR);
		a->frames = (unsigned)f;
	}
	a->deflt = a->frames == 3 && a->n == ARRAY_SIZE_CLI(silberschatz) &&
		   !memcmp(a->refs, silberschatz, sizeof(silberschatz));
	return 0;
}

static struct rp_run *rp_new(const char *policy, const unsigned *refs, size_t n,
			     unsigned frames)
{
	struct rp_run *r = calloc(1, sizeof(*r));

	if (!r) {
		cli_fail("explain replacement: out of memory");
		return NULL;
	}
	r->policy = policy;
	r->refs = refs;
	r->n = n;
	r->frames = frames;
	return r;
}

static void rp_results(struct ex_doc *d, struct rp_run *const *runs)
{
	ex_arr(d, "results", "side by side");
	for (size_t i = 0; i < ARRAY_SIZE_CLI(rp_policies); i++) {
		if (!runs[i]->available)
			continue;
		ex_obj(d, NULL, NULL);
		ex_str(d, "policy", "policy", 0, "%s", rp_policies[i].title);
		ex_uint(d, "faults", "page faults", runs[i]->faults, 0);
		ex_uint(d, "hits", "hits", runs[i]->n - runs[i]->faults, 0);
		ex_end(d);
	}
	ex_end(d);
	ex_arr(d, "unavailable",
	       "not in this build (the machine refuses "
	       "them)");
	for (size_t i = 0; i < ARRAY_SIZE_CLI(rp_policies); i++)
		if (!runs[i]->available)
			ex_str(d, NULL, NULL, 0, "%s", rp_policies[i].name);
	ex_end(d);
}

/* Silberschatz's counts for his string with 3 frames, beside ours. */
static void rp_published(struct ex_doc *d, struct rp_run *const *runs)
{
	static const struct {
		const char *key, *label;
		size_t run;
		uint64_t faults;
	} pub[] = {
		{ "opt", "OPT", 0, 9 },
		{ "fifo", "FIFO", 1, 15 },
		{ "lru", "LRU", 2, 12 },
	};
	bool agree = true;

	ex_obj(d, "published",
	       "the textbook's counts (Silberschatz, "
	       "Operating System Concepts)");
	for (size_t i = 0; i < ARRAY_SIZE_CLI(pub); i++) {
		const struct rp_run *r = runs[pub[i].run];

		ex_uint(d, pub[i].key, pub[i].label, pub[i].faults, 0);
		if (r->available && r->faults != pub[i].faults)
			agree = false;
	}
	ex_bool(d, "agrees", "vmemu's runs agree", agree, 0);
	ex_end(d);
}

enum { B_FIFO3, B_FIFO4, B_LRU3, B_LRU4, NR_B };

static void rp_belady_doc(struct ex_doc *d, struct rp_run *const *b)
{
	ex_obj(d, "belady", "Belady's anomaly: more frames, more faults");
	ex_para(d,
		"FIFO evicts the page loaded first, whatever its use.  With "
		"this string, a fourth frame keeps pages that FIFO then evicts "
		"just before they are needed: FIFO is not a stack algorithm "
		"(the pages held with n frames need not be held with n + 1).");
	ex_arr(d, "refs", "reference string");
	for (size_t i = 0; i < ARRAY_SIZE_CLI(belady); i++)
		ex_uint(d, NULL, NULL, belady[i], 0);
	ex_end(d);
	rp_doc_run(d, "fifo_3", "FIFO, 3 frames", NULL, b[B_FIFO3]);
	rp_doc_run(d, "fifo_4", "FIFO, 4 frames", NULL, b[B_FIFO4]);
	ex_uint(d, "fifo_3_faults", "FIFO faults, 3 frames", b[B_FIFO3]->faults,
		0);
	ex_uint(d, "fifo_4_faults", "FIFO faults, 4 frames", b[B_FIFO4]->faults,
		0);
	ex_bool(d, "anomaly", "more faults with more frames",
		b[B_FIFO4]->faults > b[B_FIFO3]->faults, 0);
	ex_uint(d, "lru_3_faults", "LRU faults, 3 frames", b[B_LRU3]->faults,
		0);
	ex_uint(d, "lru_4_faults", "LRU faults, 4 frames", b[B_LRU4]->faults,
		0);
	ex_para(d,
		"LRU is a stack algorithm (what it holds with n frames it "
		"holds with n + 1), so it cannot do worse with more frames: "
		"%" PRIu64 " faults with 3, %" PRIu64 " with 4.",
		b[B_LRU3]->faults, b[B_LRU4]->faults);
	ex_end(d);
}

/* Every run the topic makes: the string's five, Belady's four. */
struct rp_all {
	struct rp_run *run[ARRAY_SIZE_CLI(rp_policies)];
	struct rp_run *b[NR_B];
};

static int rp_run_all(struct ex_ctx *c, const struct rp_args *a,
		      struct rp_all *all)
{
	static const struct {
		const char *policy;
		unsigned frames;
	} bruns[NR_B] = {
		{ "fifo", 3 }, { "fifo", 4 }, { "lru", 3 }, { "lru", 4 }
	};

	for (size_t i = 0; i < ARRAY_SIZE_CLI(rp_policies); i++) {
		all->run[i] =
			rp_new(rp_policies[i].name, a->refs, a->n, a->frames);
		if (!all->run[i] || rp_run(c, all->run[i]))
			return -1;
	}
	for (int i = 0; i < NR_B; i++) {
		all->b[i] = rp_new(bruns[i].policy, belady,
				   ARRAY_SIZE_CLI(belady), bruns[i].frames);
		if (!all->b[i] || rp_run(c, all->b[i]))
			return -1;
	}
	return 0;
}

static void rp_doc(struct ex_doc *d, const struct rp_args *a,
		   const struct rp_all *all)
{
	ex_para(d,
		"Each policy runs on its own machine in exact replacement "
		"(%u frames for data; docs/exact.md): one task reads the "
		"pages of the string in order.  After each access the "
		"figure shows which page each frame holds (the page walk of "
		"every page: a frame is a pfn), F a page fault, and the page "
		"evicted.",
		a->frames);
	ex_arr(d, "refs", "reference string");
	for (size_t i = 0; i < a->n; i++)
		ex_uint(d, NULL, NULL, a->refs[i], 0);
	ex_end(d);
	ex_uint(d, "frames", "frames", a->frames, 0);
	for (size_t i = 0; i < ARRAY_SIZE_CLI(rp_policies); i++)
		rp_doc_run(d, rp_policies[i].name, rp_policies[i].title,
			   rp_policies[i].rule, all->run[i]);
	rp_results(d, all->run);
	if (a->deflt)
		rp_published(d, all->run);
	rp_belady_doc(d, all->b);
}

int ex_topic_replacement(struct ex_ctx *c)
{
	struct rp_args *a = calloc(1, sizeof(*a));
	struct rp_all all = { { NULL }, { NULL } };
	int rc;

	if (!a)
		return cli_fail("explain replacement: out of memory");
	rc = rp_parse(c, a);
	if (!rc)
		rc = rp_run_all(c, a, &all) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	if (rc == CLI_EXIT_OK) {
		rp_doc(&c->doc, a, &all);
		ex_query(&c->doc, c->log,
			 "SELECT r.run_id, r.cmdline, sum(k.name IN"
			 " ('anon_fault', 'swapin_fault')) AS faults,"
			 " sum(k.name = 'evict') AS evictions FROM runs r"
			 " JOIN events e USING (run_id) JOIN event_kinds k"
			 " USING (run_id, kind) WHERE r.cmdline LIKE"
			 " 'vmemu explain replacement%' GROUP BY r.run_id"
			 " ORDER BY r.run_id DESC LIMIT 9");
	}
	for (size_t i = 0; i < ARRAY_SIZE_CLI(all.run); i++)
		free(all.run[i]);
	for (int i = 0; i < NR_B; i++)
		free(all.b[i]);
	free(a);
	return rc;
}
