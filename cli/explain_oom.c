/*
 * cli/explain_oom.c - `vmemu explain oom`: memory running out under two
 * workloads, from the first watermark crossed to the OOM killer's
 * decision, with the decision's arithmetic redone from its report.
 *
 *   worker writes 6 MiB, idles  ->  hog writes 12 MiB: free < low,
 *   kswapd woken (hog waits for it to balance), then faster than kswapd:
 *   direct reclaim, swap-out  ->  worker reads its 6 MiB again: swap-ins,
 *   refaults  ->  hog writes on: swap full, reclaim finds nothing, OOM:
 *   candidates weighed by oom_badness, hog killed and reaped.
 *
 * A 16 MiB machine with 8 MiB of swap (small numbers, a fast run), trace
 * mode, kswapd on.  The tasks take turns (semaphores): only one touches
 * memory at a time, so the story is the same every run; kswapd's thread
 * makes the exact counts vary a little.  The task that runs counts its
 * accesses and, after each, reads vm_stat to note the first time each
 * thing happened (the timeline).  The candidate table is parsed from the
 * kernel's report (vm_config.oom_report: the task dump and "Killed
 * process"), the points recomputed from its columns as LINUX-FACTS.md
 * and reclaim/oom.c define them, and checked against the victim.
 *
 * Threads: the doc is built by the main thread after the tasks ended;
 * tasks write only their own fields of struct oom_state (one at a time);
 * the report arrives on the machine's service thread (oom_lock).
 */
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define PAGE	       VM_PAGE_SIZE
#define RW	       (VM_PROT_READ | VM_PROT_WRITE)
#define OOM_MEM	       (16ULL << 20)
#define OOM_SWAP       (8ULL << 20)
#define WORKER_PAGES   1536 /* 6 MiB */
#define HOG_FILL_PAGES 3072 /* 12 MiB */
#define WORKER_ADJ     (-100)
#define KSWAPD_WAIT_MS 5000
#define NSEC_PER_MSEC  1000000L
#define PER_MILLE      1000
#define MAX_CANDS      8
#define PROC_LEN       4096
#define KB_PER_PAGE    ((uint64_t)(PAGE >> 10))

enum oom_mark {
	M_BELOW_LOW,
	M_KSWAPD,
	M_DIRECT,
	M_SWAPOUT,
	M_REFAULT,
	M_SWAP_FULL,
	M_OOM,
	NR_MARKS,
};

static const struct {
	const char *key, *what;
} mark_names[NR_MARKS] = {
	{ "below_low", "free < low: kswapd woken" },
	{ "kswapd", "kswapd balanced up to high" },
	{ "direct_reclaim", "direct reclaim (allocstall)" },
	{ "swap_out", "first page swapped out" },
	{ "refault", "first refault" },
	{ "swap_full", "swap full (SwapFree 0)" },
	{ "oom_kill", "the OOM killer's kill" },
};

struct mark {
	bool seen;
	uint64_t access; /* of both tasks, counted from 1 */
	uint64_t free;	 /* nr_free_pages just after */
	const char *task;
	uint64_t task_pages; /* pages the task had touched in its phase */
};

struct oom_cand {
	int pid;
	char name[16];
	uint64_t rss, swapents, pgtables; /* pages */
	int adj;
	int64_t points; /* recomputed */
};

enum { PH_START, PH_FILL, PH_REREAD, PH_OOM, NR_PH };

struct oom_state {
	struct vm *vm;
	uint64_t min, low, high, managed; /* /proc/zoneinfo */
	uint64_t ram_pages, swap_pages;	  /* /proc/meminfo */
	uint64_t accesses;
	struct mark mark[NR_MARKS];
	struct vm_stat ph[NR_PH]; /* counters at the end of each phase */
	uint64_t hog_pages;
	sem_t worker_go, hog_go, done;
	int worker_pid, hog_pid;
	struct vm_exit wex, hex;
	char psi_before[PROC_LEN], psi_after[PROC_LEN];
	const char *fail;
	/* The kernel's report(s), from the service thread. */
	pthread_mutex_t oom_lock;
	char *report;
	unsigned nreports;
	/* Parsed from the report. */
	struct oom_cand cand[MAX_CANDS];
	unsigned ncand;
	int victim_pid;
	char trigger[64];
};

/* ---- reading /proc ------------------------------------------------------- */

/* The number after "name" in a /proc text (0 when absent). */
static uint64_t proc_num(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p ? strtoull(p + strlen(name), NULL, 10) : 0;
}

static void read_proc(struct oom_state *s)
{
	char buf[PROC_LEN];

	vm_procfs(s->vm, "zoneinfo", buf, sizeof(buf));
	s->min = proc_num(buf, "\n        min ");
	s->low = proc_num(buf, "\n        low ");
	s->high = proc_num(buf, "\n        high ");
	s->managed = proc_num(buf, "\n        managed ");
	vm_procfs(s->vm, "meminfo", buf, sizeof(buf));
	s->ram_pages = proc_num(buf, "MemTotal:") / KB_PER_PAGE;
	s->swap_pages = proc_num(buf, "SwapTotal:") / KB_PER_PAGE;
}

static void on_report(void *arg, const char *text)
{
	struct oom_state *s = arg;

	pthread_mutex_lock(&s->oom_lock);
	if (!s->report)
		s->report = strdup(text);
	s->nreports++;
	pthread_mutex_unlock(&s->oom_lock);
}

/* ---- the tasks ---------------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * NSEC_PER_MSEC };

	nanosleep(&ts, NULL);
}

static void note(struct oom_state *s, enum oom_mark m, const char *task,
		 uint64_t pages, uint64_t free)
{
	if (s->mark[m].seen)
		return;
	s->mark[m] = (struct mark){ true, s->accesses, free, task, pages };
}

/* free < low has woken kswapd: wait until it has balanced (or 5 s). */
static void wait_kswapd(struct oom_state *s, const char *task, uint64_t pages)
{
	struct vm_stat st;

	for (int i = 0; i < KSWAPD_WAIT_MS; i++) {
		vm_stat(s->vm, &st);
		if (st.kswapd_wake && st.nr_free_pages >= s->high)
			break;
		sleep_ms(1);
	}
	vm_stat(s->vm, &st);
	if (st.kswapd_wake)
		note(s, M_KSWAPD, task, pages, st.nr_free_pages);
}

/* After each access: the first time each thing happened. */
static void observe(struct oom_state *s, const char *task, uint64_t pages)
{
	struct vm_stat st;

	s->accesses++;
	vm_stat(s->vm, &st);
	if (st.nr_free_pages < s->low && !s->mark[M_BELOW_LOW].seen) {
		note(s, M_BELOW_LOW, task, pages, st.nr_free_pages);
		wait_kswapd(s, task, pages);
		vm_stat(s->vm, &st);
	}
	if (st.allocstall)
		note(s, M_DIRECT, task, pages, st.nr_free_pages);
	if (st.pswpout)
		note(s, M_SWAPOUT, task, pages, st.nr_free_pages);
	if (st.workingset_refault_anon)
		note(s, M_REFAULT, task, pages, st.nr_free_pages);
	if (s->swap_pages && !st.nr_swap_free)
		note(s, M_SWAP_FULL, task, pages, st.nr_free_pages);
}

static int worker_body(struct vm_task *t, struct oom_state *s)
{
	uint64_t va = vm_mmap(t, 0, WORKER_PAGES * PAGE, RW,
			      VM_MAP_PRIVATE | VM_MAP_ANON);

	if (vm_mmap_failed(va))
		return 1;
	for (uint64_t i = 0; i < WORKER_PAGES; i++) {
		if (vm_access(t, va + i * PAGE, 1))
			return 2;
		observe(s, "worker", i + 1);
	}
	sem_post(&s->done);
	sem_wait(&s->worker_go); /* idle while hog fills memory */
	for (uint64_t i = 0; i < WORKER_PAGES; i++) {
		if (vm_access(t, va + i * PAGE, 0))
			return 3;
		observe(s, "worker", i + 1);
	}
	sem_post(&s->done);
	sem_wait(&s->worker_go); /* alive (a candidate) until the kill */
	return 0;
}

static int hog_body(struct vm_task *t, struct oom_state *s)
{
	uint64_t max = 2 * (s->ram_pages + s->swap_pages);
	uint64_t va =
		vm_mmap(t, 0, max * PAGE, RW, VM_MAP_PRIVATE | VM_MAP_ANON);

	if (vm_mmap_failed(va))
		return 1;
	for (uint64_t i = 0; i < max; i++) {
		if (i == HOG_FILL_PAGES) {
			sem_post(&s->done);
			sem_wait(&s->hog_go); /* the worker rereads */
		}
		if (vm_access(t, va + i * PAGE, 1))
			return 2;
		s->hog_pages = i + 1;
		observe(s, "hog", i + 1);
	}
	return 3; /* never killed: memory did not run out */
}

/* A task that fails says so and wakes the main thread. */
static int worker(struct vm_task *t, void *arg)
{
	struct oom_state *s = arg;
	int rc = worker_body(t, s);

	if (rc) {
		s->fail = "the worker failed";
		sem_post(&s->done);
	}
	return rc;
}

static int hog(struct vm_task *t, void *arg)
{
	struct oom_state *s = arg;
	int rc = hog_body(t, s);

	if (rc) {
		s->fail = rc == 3 ? "memory never ran out" : "the hog failed";
		sem_post(&s->done);
	}
	return rc;
}

/* End whatever is left after a failure. */
static int oom_abort(struct oom_state *s, const char *why)
{
	if (!s->fail)
		s->fail = why;
	if (s->hog_pid > 0 && vm_kill(s->vm, s->hog_pid) == 0)
		vm_wait(s->vm, s->hog_pid, &s->hex);
	if (s->worker_pid > 0 && vm_kill(s->vm, s->worker_pid) == 0)
		vm_wait(s->vm, s->worker_pid, &s->wex);
	return -1;
}

/* The scenario, phase by phase; 0 or -1 with s->fail set. */
static int oom_scenario(struct oom_state *s)
{
	vm_stat(s->vm, &s->ph[PH_START]);
	vm_procfs(s->vm, "pressure/memory", s->psi_before,
		  sizeof(s->psi_before));
	s->worker_pid = vm_spawn(s->vm, "worker", WORKER_ADJ, worker, s);
	if (s->worker_pid < 0)
		return oom_abort(s, "cannot start the worker");
	sem_wait(&s->done);
	s->hog_pid = s->fail ? -1 : vm_spawn(s->vm, "hog", 0, hog, s);
	if (s->hog_pid < 0)
		return oom_abort(s, "cannot start the hog");
	sem_wait(&s->done);
	if (s->fail)
		return oom_abort(s, s->fail);
	vm_stat(s->vm, &s->ph[PH_FILL]);
	sem_post(&s->worker_go);
	sem_wait(&s->done);
	if (s->fail)
		return oom_abort(s, s->fail);
	vm_stat(s->vm, &s->ph[PH_REREAD]);
	sem_post(&s->hog_go);
	vm_wait(s->vm, s->hog_pid, &s->hex);
	s->hog_pid = -1;
	vm_stat(s->vm, &s->ph[PH_OOM]);
	vm_procfs(s->vm, "pressure/memory", s->psi_after, sizeof(s->psi_after));
	/* The access that never returned: the one that ran out. */
	s->mark[M_OOM] = (struct mark){ true, s->accesses + 1,
					s->ph[PH_OOM].nr_free_pages, "hog",
					s->hog_pages + 1 };
	sem_post(&s->worker_go);
	vm_wait(s->vm, s->worker_pid, &s->wex);
	if (s->hex.reason != VM_EXIT_OOM_KILLED)
		return s->fail = "the hog was not OOM-killed", -1;
	if (s->wex.reason != VM_EXIT_NORMAL || s->wex.code)
		return s->fail = "the worker failed", -1;
	return 0;
}

/* ---- the report ------------------------------------------------------------ */

static uint64_t totalpages(const struct oom_state *s)
{
	return s->ram_pages + s->swap_pages;
}

/* Linux's oom_badness from a row of the task dump. */
static int64_t badness(const struct oom_cand *c, uint64_t total)
{
	return (int64_t)(c->rss + c->swapents + c->pgtables) +
	       (int64_t)c->adj * (int64_t)(total / PER_MILLE);
}

/* The task dump's rows and the victim; 0 or -1. */
static int parse_report(struct oom_state *s)
{
	const char *p = s->report, *k;

	if (!p)
		return -1;
	sscanf(p, "%63[^\n]", s->trigger);
	for (; (p = strchr(p, '\n')) && s->ncand < MAX_CANDS; p++) {
		struct oom_cand *c = &s->cand[s->ncand];
		unsigned long long tvm, rss, ra, rf, rs, ptb, swp;
		int uid, tgid;

		if (sscanf(p + 1,
			   "[%d] %d %d %llu %llu %llu %llu %llu %llu %llu %d "
			   "%15s",
			   &c->pid, &uid, &tgid, &tvm, &rss, &ra, &rf, &rs,
			   &ptb, &swp, &c->adj, c->name) != 12)
			continue;
		c->rss = rss;
		c->swapents = swp;
		c->pgtables = ptb / PAGE;
		c->points = badness(c, totalpages(s));
		s->ncand++;
	}
	k = strstr(s->report, "Killed process ");
	s->victim_pid = k ? atoi(k + strlen("Killed process ")) : -1;
	return s->ncand ? 0 : -1;
}

/* ---- the document ------------------------------------------------------- */

static uint64_t int_sqrt(uint64_t x)
{
	uint64_t r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

static void doc_machine(struct ex_doc *d, const struct oom_state *s)
{
	ex_obj(d, "machine", "the machine (/proc/meminfo)");
	ex_uint(d, "ram_pages", "RAM pages (MemTotal / 4 KiB)", s->ram_pages,
		0);
	ex_uint(d, "swap_pages", "swap pages (SwapTotal / 4 KiB)",
		s->swap_pages, 0);
	ex_uint(d, "worker_pages", "worker writes, then rereads (pages)",
		WORKER_PAGES, 0);
	ex_int(d, "worker_adj", "worker's oom_score_adj", WORKER_ADJ, 0);
	ex_uint(d, "hog_fill_pages", "hog writes first (pages)", HOG_FILL_PAGES,
		0);
	ex_end(d);
}

static void doc_watermarks(struct ex_doc *d, const struct oom_state *s)
{
	uint64_t kb = s->managed * KB_PER_PAGE;

	ex_obj(d, "watermarks", "the watermarks (/proc/zoneinfo, pages)");
	ex_uint(d, "managed", "managed", s->managed, 0);
	ex_uint(d, "min", "min", s->min, 0);
	ex_uint(d, "low", "low", s->low, 0);
	ex_uint(d, "high", "high", s->high, 0);
	ex_para(d,
		"Linux's rule: min_free_kbytes = int_sqrt(%" PRIu64
		" KiB x 16) = %" PRIu64 ", min = that / 4 = %" PRIu64
		" pages; delta = max(min / 4, managed x 10 / 10000) = %" PRIu64
		"; low = min + delta, high = low + delta.  Above low an "
		"allocation just takes a frame; below low it wakes kswapd, "
		"which reclaims until free >= high; at min the allocating task "
		"must reclaim itself (direct reclaim), and when that frees "
		"nothing the OOM killer runs.",
		kb, int_sqrt(kb * 16), int_sqrt(kb * 16) / KB_PER_PAGE,
		s->low - s->min);
	ex_end(d);
}

/* The timeline in words, from its own numbers. */
static void doc_story(struct ex_doc *d, const struct oom_state *s)
{
	const struct mark *m = s->mark;

	if (m[M_BELOW_LOW].seen && m[M_KSWAPD].seen)
		ex_para(d,
			"At access %" PRIu64 " free fell to %" PRIu64
			" < low (%" PRIu64 "): the allocation woke kswapd, "
			"and the hog waited while it reclaimed up to %" PRIu64
			" >= high (%" PRIu64 ").",
			m[M_BELOW_LOW].access, m[M_BELOW_LOW].free, s->low,
			m[M_KSWAPD].free, s->high);
	if (m[M_DIRECT].seen)
		ex_para(d,
			"Allocating faster than kswapd reclaims, at access "
			"%" PRIu64 " the %s found free at min (%" PRIu64
			") and reclaimed itself (direct reclaim, allocstall), "
			"stalling: PSI counts that.",
			m[M_DIRECT].access, m[M_DIRECT].task, s->min);
	if (m[M_REFAULT].seen)
		ex_para(d,
			"The %s's access %" PRIu64 " touched a page evicted "
			"while it idled: a refault (workingset_refault_anon), "
			"a major fault reading it back from swap.",
			m[M_REFAULT].task, m[M_REFAULT].access);
	if (m[M_SWAP_FULL].seen)
		ex_para(d,
			"At access %" PRIu64 " the last swap slot was taken. "
			"An anonymous page can only be evicted into a slot, "
			"so reclaim soon freed nothing and, at access %" PRIu64
			", the OOM killer ran.",
			m[M_SWAP_FULL].access, m[M_OOM].access);
}

static void doc_timeline(struct ex_doc *d, const struct oom_state *s)
{
	bool done[NR_MARKS] = { false };

	ex_arr(d, "timeline", "what happened, in order (the first time)");
	for (;;) {
		int m = -1;

		for (int i = 0; i < NR_MARKS; i++)
			if (s->mark[i].seen && !done[i] &&
			    (m < 0 || s->mark[i].access < s->mark[m].access))
				m = i;
		if (m < 0)
			break;
		done[m] = true;
		ex_obj(d, NULL, NULL);
		ex_uint(d, "access", "access", s->mark[m].access, 0);
		ex_str(d, "event", "event", 0, "%s", mark_names[m].key);
		ex_str(d, "what", "what", 0, "%s", mark_names[m].what);
		ex_str(d, "task", "task", 0, "%s", s->mark[m].task);
		ex_uint(d, "task_pages", "its page", s->mark[m].task_pages, 0);
		ex_uint(d, "free", "free", s->mark[m].free, 0);
		ex_end(d);
	}
	ex_end(d);
	doc_story(d, s);
}

#define STAT(f) offsetof(struct vm_stat, f)

static const struct {
	const char *name; /* as /proc/vmstat names it */
	size_t off;
	unsigned flags;
} counters[] = {
	{ "pageoutrun", STAT(pageoutrun), 0 },
	{ "vmemu_kswapd_wake", STAT(kswapd_wake), EX_EMU },
	{ "pgscan_kswapd", STAT(pgscan_kswapd), 0 },
	{ "pgsteal_kswapd", STAT(pgsteal_kswapd), 0 },
	{ "allocstall_normal", STAT(allocstall), 0 },
	{ "pgscan_direct", STAT(pgscan_direct), 0 },
	{ "pgsteal_direct", STAT(pgsteal_direct), 0 },
	{ "pswpout", STAT(pswpout), 0 },
	{ "pswpin", STAT(pswpin), 0 },
	{ "pgmajfault", STAT(pgmajfault), 0 },
	{ "swap_ra", STAT(swap_ra), 0 },
	{ "swap_ra_hit", STAT(swap_ra_hit), 0 },
	{ "workingset_refault_anon", STAT(workingset_refault_anon), 0 },
	{ "workingset_activate_anon", STAT(workingset_activate_anon), 0 },
	{ "oom_kill", STAT(oom_kill), 0 },
};

static uint64_t stat_at(const struct vm_stat *st, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)st + off, sizeof(v));
	return v;
}

static void doc_phases(struct ex_doc *d, const struct oom_state *s)
{
	static const char *const key[NR_PH] = { "", "fill", "reread",
						"to_oom" };
	static const char *const label[NR_PH] = { "", "hog fills",
						  "worker rereads",
						  "hog to OOM" };

	ex_arr(d, "phases", "/proc/vmstat, phase by phase");
	for (size_t i = 0; i < ARRAY_SIZE_CLI(counters); i++) {
		size_t off = counters[i].off;

		ex_obj(d, NULL, NULL);
		ex_str(d, "counter", "counter", counters[i].flags, "%s",
		       counters[i].name);
		for (int p = PH_FILL; p < NR_PH; p++)
			ex_uint(d, key[p], label[p],
				stat_at(&s->ph[p], off) -
					stat_at(&s->ph[p - 1], off),
				0);
		ex_uint(d, "total", "total",
			stat_at(&s->ph[PH_OOM], off) -
				stat_at(&s->ph[PH_START], off),
			0);
		ex_end(d);
	}
	ex_end(d);
	ex_para(d, "(vmemu_kswapd_wake is the emulator's: Linux has no "
		   "counter of kswapd's wakeups.)");
}

/* "some avg10=0.00 ... total=N" and "full ...": N of kind. */
static uint64_t psi_total(const char *text, const char *kind)
{
	const char *p = strstr(text, kind);

	p = p ? strstr(p, "total=") : NULL;
	return p ? strtoull(p + strlen("total="), NULL, 10) : 0;
}

static void doc_psi(struct ex_doc *d, const struct oom_state *s)
{
	ex_obj(d, "psi", "pressure (/proc/pressure/memory)");
	ex_pre(d, "before:\n%s", s->psi_before);
	ex_pre(d, "at the kill:\n%s", s->psi_after);
	ex_uint(d, "some_total_us", "some: stalled time (total, us)",
		psi_total(s->psi_after, "some"), 0);
	ex_uint(d, "full_total_us", "full: stalled time (total, us)",
		psi_total(s->psi_after, "full"), 0);
	ex_para(d,
		"A task stalls on memory while it reclaims directly or "
		"waits for a swap-in: \"some\" is time when at least one "
		"task stalled, \"full\" when every non-idle task did (the "
		"worker, parked on a semaphore, counts as non-idle).%s",
		strstr(s->psi_after, "some avg10=0.00") ?
			"  avg10 is still 0.00: the averages are updated "
			"every 2 s, and this run was over sooner." :
			"");
	ex_end(d);
}

static void doc_candidates(struct ex_doc *d, const struct oom_state *s)
{
	ex_arr(d, "candidates",
	       "the candidates (the task dump; points recomputed)");
	for (unsigned i = 0; i < s->ncand; i++) {
		const struct oom_cand *c = &s->cand[i];

		ex_obj(d, NULL, NULL);
		ex_int(d, "pid", "pid", c->pid, 0);
		ex_str(d, "name", "name", 0, "%s", c->name);
		ex_uint(d, "rss", "rss", c->rss, 0);
		ex_uint(d, "swapents", "swapents", c->swapents, 0);
		ex_uint(d, "pgtables", "pgtables", c->pgtables, 0);
		ex_int(d, "oom_score_adj", "adj", c->adj, 0);
		ex_int(d, "adj_term", "adj x unit",
		       (int64_t)c->adj * (int64_t)(totalpages(s) / PER_MILLE),
		       0);
		ex_int(d, "points", "points", c->points, 0);
		ex_bool(d, "chosen", "chosen", c->pid == s->victim_pid, 0);
		ex_end(d);
	}
	ex_end(d);
}

/* Index of the highest points; a later tie wins (Linux's walk). */
static int best_cand(const struct oom_state *s, int skip)
{
	int b = -1;

	for (int i = 0; i < (int)s->ncand; i++)
		if (i != skip &&
		    (b < 0 || s->cand[i].points >= s->cand[b].points))
			b = i;
	return b;
}

static void doc_why_one(struct ex_doc *d, const struct oom_state *s, int i)
{
	const struct oom_cand *c = &s->cand[i];
	uint64_t per = totalpages(s) / PER_MILLE;

	ex_obj(d, NULL, NULL);
	ex_str(d, "task", "task", 0, "%s", c->name);
	ex_int(d, "pid", "pid", c->pid, 0);
	ex_str(d, "sum", "rss + swapents + pgtables + adj x units", 0,
	       "%" PRIu64 " + %" PRIu64 " + %" PRIu64 " + %d x %" PRIu64,
	       c->rss, c->swapents, c->pgtables, c->adj, per);
	ex_int(d, "points", "= points", c->points, 0);
	ex_end(d);
}

static void doc_why(struct ex_doc *d, const struct oom_state *s)
{
	int first = best_cand(s, -1), second = best_cand(s, first);

	ex_obj(d, "why", "why the victim won: oom_badness");
	ex_para(d,
		"points = rss + swapents + pgtables_bytes / 4096 + "
		"oom_score_adj x (totalpages / 1000), totalpages = RAM + swap "
		"= %" PRIu64 " + %" PRIu64 " = %" PRIu64
		" pages, so one unit of oom_score_adj weighs %" PRIu64
		" pages.  The highest points lose; -1000 is never chosen.",
		s->ram_pages, s->swap_pages, totalpages(s),
		totalpages(s) / PER_MILLE);
	ex_uint(d, "totalpages", "totalpages", totalpages(s), 0);
	ex_uint(d, "adj_unit", "pages per oom_score_adj unit",
		totalpages(s) / PER_MILLE, 0);
	ex_arr(d, "top", "the top two");
	doc_why_one(d, s, first);
	if (second >= 0)
		doc_why_one(d, s, second);
	ex_end(d);
	ex_int(d, "recomputed_pid", "highest recomputed points: pid",
	       s->cand[first].pid, 0);
	ex_int(d, "victim_pid", "the kernel killed: pid", s->victim_pid, 0);
	ex_bool(d, "agrees", "the same task",
		s->cand[first].pid == s->victim_pid, 0);
	ex_end(d);
}

static void doc_decision(struct ex_doc *d, const struct oom_state *s)
{
	const char *k = strstr(s->report, "Out of memory: ");

	ex_obj(d, "oom", "the OOM killer");
	ex_str(d, "invoked", "the kernel log says", 0, "%s", s->trigger);
	ex_uint(d, "decisions", "decisions (reports)", s->nreports, 0);
	ex_end(d);
	doc_candidates(d, s);
	doc_why(d, s);
	ex_obj(d, "kill", "the kill");
	ex_str(d, "message", "the kernel log says", 0, "%.*s",
	       k ? (int)strcspn(k, "\n") : 0, k ? k : "");
	ex_str(d, "hog_exit", "hog's end", 0, "%s",
	       s->hex.reason == VM_EXIT_OOM_KILLED ? "OOM-killed" : "other");
	ex_uint(d, "free_after", "free pages after the reap",
		s->ph[PH_OOM].nr_free_pages, 0);
	ex_uint(d, "swap_free_after", "free swap pages after the reap",
		s->ph[PH_OOM].nr_swap_free, 0);
	ex_str(d, "worker_exit", "worker's end", 0, "%s",
	       s->wex.reason == VM_EXIT_NORMAL ? "normal" : "other");
	ex_end(d);
}

/* ---- the topic -------------------------------------------------------------- */

static void oom_doc(struct ex_doc *d, const struct oom_state *s)
{
	ex_para(d,
		"Two tasks share %" PRIu64 " pages of RAM and %" PRIu64
		" of swap: worker (oom_score_adj %d) writes %d pages and "
		"idles; hog writes %d; worker reads its pages again; hog "
		"writes on until memory runs out.  The tasks take turns; "
		"after each access the running one reads the counters.",
		s->ram_pages, s->swap_pages, WORKER_ADJ, WORKER_PAGES,
		HOG_FILL_PAGES);
	doc_machine(d, s);
	doc_watermarks(d, s);
	doc_timeline(d, s);
	doc_phases(d, s);
	doc_psi(d, s);
	doc_decision(d, s);
}

static int oom_run(struct ex_ctx *c, struct oom_state *s)
{
	struct vm_config cfg;
	int rc;

	ex_config(c, &cfg);
	cfg.mem_bytes = OOM_MEM;
	cfg.swap_bytes = OOM_SWAP;
	cfg.kswapd = true;
	cfg.oom_report = on_report;
	cfg.oom_report_arg = s;
	s->vm = ex_machine_cfg(&cfg);
	if (!s->vm)
		return CLI_EXIT_FAIL;
	read_proc(s);
	rc = oom_scenario(s);
	if (ex_machine_done(s->vm)) /* publishes the OOM report */
		return CLI_EXIT_FAIL;
	if (rc)
		return cli_fail("explain oom: %s", s->fail);
	if (parse_report(s))
		return cli_fail("explain oom: no OOM report");
	oom_doc(&c->doc, s);
	return CLI_EXIT_OK;
}

int ex_topic_oom(struct ex_ctx *c)
{
	struct oom_state *s;
	int rc;

	if (c->argc)
		return cli_error("explain oom: too many arguments (none "
				 "taken)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return cli_fail("explain oom: out of memory");
	sem_init(&s->worker_go, 0, 0);
	sem_init(&s->hog_go, 0, 0);
	sem_init(&s->done, 0, 0);
	pthread_mutex_init(&s->oom_lock, NULL);
	rc = oom_run(c, s);
	if (rc == CLI_EXIT_OK)
		ex_query(&c->doc, c->log,
			 "SELECT c.pid, c.name, c.rss, c.swapents,"
			 " c.pgtables_bytes, c.oom_score_adj, c.points,"
			 " c.chosen FROM oom_candidates c JOIN oom_kills k"
			 " USING (run_id, oom_id) WHERE k.run_id = (SELECT"
			 " max(run_id) FROM runs)");
	pthread_mutex_destroy(&s->oom_lock);
	sem_destroy(&s->worker_go);
	sem_destroy(&s->hog_go);
	sem_destroy(&s->done);
	free(s->report);
	free(s);
	return rc;
}
