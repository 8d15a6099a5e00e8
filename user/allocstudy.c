/*
 * user/allocstudy.c - astudy_run: one trace through one allocator, and
 * the table/CSV of the results (allocstudy.h has the metrics).
 *
 *   trace --prescan--> peak of live requested bytes (and the first
 *                      operation reaching it), the arena a model needs
 *     |
 *     +-- umalloc policy: a fresh native-mode machine, one task that
 *     |   creates its heap and replays the trace (ptr[id] in a host
 *     |   array), snapshot after the peak operation, stats at the end
 *     +-- model: replayed on the calling thread over a simulated arena
 *
 * The timed region is the replay loop; the snapshot's walk is timed
 * separately and subtracted.  A request that fails leaves ptr[id] NULL,
 * as a program that ignores malloc's NULL would (a later free(NULL) or
 * realloc(NULL) is then what the replay does).
 *
 * Locking: none of its own; astudy_run owns the machine it creates.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "user/allocstudy.h"

#define MIB		    (1ULL << 20)
#define MODEL_MIN_ARENA	    MIB
#define MACHINE_SLACK	    (64 * MIB)
#define MACHINE_PEAK_FACTOR 4
#define MACHINE_ALIGN	    (4 * MIB)
#define VERIFY_MAGIC	    0x5a17c0de5a17c0deULL
#define NS_PER_S	    1e9

static const char *const alloc_names[ASTUDY_NALLOCS] = {
	"first", "next", "best", "worst", "seg", "buddy", "bitmap", "kmalloc",
};

const char *astudy_alloc_name(enum astudy_alloc a)
{
	return (unsigned)a < ASTUDY_NALLOCS ? alloc_names[a] : NULL;
}

int astudy_alloc_parse(const char *name, enum astudy_alloc *out)
{
	for (unsigned i = 0; name && i < ASTUDY_NALLOCS; i++) {
		if (strcmp(name, alloc_names[i]) == 0) {
			*out = (enum astudy_alloc)i;
			return 0;
		}
	}
	return -EINVAL;
}

int astudy_alloc_parse_list(const char *csv, enum astudy_alloc *out, size_t max)
{
	char item[16];
	size_t n = 0;

	if (csv && strcmp(csv, "all") == 0) {
		for (n = 0; n < ASTUDY_NALLOCS && n < max; n++)
			out[n] = (enum astudy_alloc)n;
		return n == ASTUDY_NALLOCS ? (int)n : -EINVAL;
	}
	for (const char *s = csv; s && *s; n++) {
		size_t len = strcspn(s, ",");

		if (!len || len >= sizeof(item) || n >= max)
			return -EINVAL;
		memcpy(item, s, len);
		item[len] = '\0';
		if (astudy_alloc_parse(item, &out[n]))
			return -EINVAL;
		s += len + (s[len] == ',');
		if (s[-1] == ',' && !*s)
			return -EINVAL; /* a trailing comma */
	}
	return n ? (int)n : -EINVAL;
}

void astudy_config_init(struct astudy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->alloc = ASTUDY_FIRST_FIT;
	cfg->top_pad = UMALLOC_DEFAULT_TOP_PAD;
}

/* ---- the trace's own numbers --------------------------------------------------- */

struct prescan {
	uint64_t peak_live;  /* bytes */
	size_t peak_op;	     /* first operation reaching it */
	uint64_t buddy_peak; /* bytes, each request rounded as the buddy */
};

static uint64_t buddy_bytes(uint64_t n)
{
	uint64_t pages = (n + VM_PAGE_SIZE - 1) / VM_PAGE_SIZE, p = 1;

	while (p < pages)
		p <<= 1;
	return p * VM_PAGE_SIZE;
}

static int prescan(const struct astudy_trace *tr, struct prescan *ps)
{
	uint64_t *size = calloc(tr->nids ? tr->nids : 1, sizeof(uint64_t));
	uint64_t live = 0, blive = 0;

	if (!size)
		return -ENOMEM;
	memset(ps, 0, sizeof(*ps));
	for (size_t i = 0; i < tr->nops; i++) {
		const struct astudy_op *o = &tr->ops[i];
		uint64_t n = o->kind == 'f' ? 0 : o->nbytes;

		live += n - size[o->id];
		blive += (n ? buddy_bytes(n) : 0) -
			 (size[o->id] ? buddy_bytes(size[o->id]) : 0);
		size[o->id] = n;
		if (live > ps->peak_live) {
			ps->peak_live = live;
			ps->peak_op = i;
		}
		ps->buddy_peak = blive > ps->buddy_peak ? blive :
							  ps->buddy_peak;
	}
	free(size);
	return 0;
}

static int check_trace(const struct astudy_trace *tr)
{
	if (tr->nops && !tr->ops)
		return -EINVAL;
	for (size_t i = 0; i < tr->nops; i++)
		if (tr->ops[i].id >= tr->nids ||
		    !strchr("afr", tr->ops[i].kind) || !tr->ops[i].kind ||
		    tr->ops[i].nbytes > ASTUDY_MAX_BYTES)
			return -EINVAL;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_S;
}

static double ratio_left(uint64_t part, uint64_t whole)
{
	return whole ? 1.0 - (double)part / (double)whole : 0.0;
}

__attribute__((format(printf, 3, 4))) static void
set_status(struct astudy_result *r, int status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* Fill the derived fields once peak, totals and time are in. */
static void finish(struct astudy_result *r, double seconds)
{
	r->seconds = seconds;
	r->ops_per_sec = seconds > 0 ? (double)r->nops / seconds : 0;
	r->internal_frag =
		ratio_left(r->peak.live_requested, r->peak.live_granted);
	r->external_frag = ratio_left(r->peak.largest_free, r->peak.free_bytes);
	r->utilisation = r->peak_footprint ? (double)r->peak_requested /
						     (double)r->peak_footprint :
					     0;
	r->search_avg =
		r->allocs ? (double)r->search_visits / (double)r->allocs : 0;
}

/* ---- umalloc inside an emulated task ---------------------------------------------- */

struct urun {
	const struct astudy_config *cfg;
	const struct astudy_trace *tr;
	const struct prescan *ps;
	uint64_t *addr, *size; /* per id */
	struct umalloc_heap *h;
	struct astudy_result *r;
	double seconds;
	int err;
};

static void tag_word(struct vm_task *t, uint64_t va, uint64_t v)
{
	void *p = vm_ptr(t, va);

	if (p)
		memcpy(p, &v, sizeof(v));
}

static uint64_t read_word(struct vm_task *t, uint64_t va)
{
	void *p = vm_ptr(t, va);
	uint64_t v = 0;

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

/* Tags: id at the start, and at the end when the payload has room. */
static void tag_put(struct vm_task *t, uint64_t va, uint64_t n, uint32_t id)
{
	if (va && n >= 8)
		tag_word(t, va, VERIFY_MAGIC ^ id);
	if (va && n >= 16)
		tag_word(t, va + n - 8, ~VERIFY_MAGIC ^ id);
}

static uint64_t tag_bad(struct vm_task *t, uint64_t va, uint64_t n, uint32_t id,
			bool end)
{
	uint64_t bad = 0;

	if (va && n >= 8)
		bad += read_word(t, va) != (VERIFY_MAGIC ^ id);
	if (va && n >= 16 && end)
		bad += read_word(t, va + n - 8) != (~VERIFY_MAGIC ^ id);
	return bad;
}

static void urun_op(struct vm_task *t, struct urun *u,
		    const struct astudy_op *o)
{
	uint64_t *a = &u->addr[o->id], *n = &u->size[o->id], va = 0;
	bool verify = u->cfg->verify;

	if (verify)
		u->r->verify_errors += tag_bad(t, *a, *n, o->id, true);
	if (o->kind == 'a')
		va = umalloc(u->h, o->nbytes);
	else if (o->kind == 'r')
		va = urealloc(u->h, *a, o->nbytes);
	else
		ufree(u->h, *a);
	if (o->kind == 'r' && !va && o->nbytes)
		return; /* realloc failed: the old block stays */
	if (verify && o->kind == 'r' && va) /* the contents moved along */
		u->r->verify_errors += tag_bad(
			t, va, *n < o->nbytes ? *n : o->nbytes, o->id, false);
	*a = va;
	*n = va ? o->nbytes : 0;
	if (verify)
		tag_put(t, *a, *n, o->id);
}

static void snap_umalloc(struct umalloc_heap *h, struct astudy_snapshot *s)
{
	struct umalloc_stats st;

	umalloc_stats(h, &st);
	*s = (struct astudy_snapshot){
		st.live_requested, st.live_granted, st.live_blocks,
		st.free_bytes,	   st.free_blocks,  st.largest_free,
		st.sliver_blocks,  st.footprint,
	};
}

static void urun_totals(struct urun *u)
{
	struct astudy_result *r = u->r;
	struct umalloc_stats st;

	umalloc_stats(u->h, &st);
	r->peak_requested = st.peak_requested;
	r->peak_footprint = st.peak_footprint;
	r->allocs = st.search_allocs;
	r->search_visits = st.search_visits;
	r->search_max = st.search_max;
	r->failures = st.failures;
	r->failures_fragmented = st.failures_fragmented;
}

static int urun_setup(struct vm_task *t, struct urun *u)
{
	const struct astudy_config *cfg = u->cfg;
	int err =
		umalloc_heap_create(t, (enum umalloc_policy)cfg->alloc, &u->h);

	if (!err && cfg->top_pad != UMALLOC_DEFAULT_TOP_PAD)
		err = umalloc_opt(u->h, UMALLOC_TOP_PAD, cfg->top_pad);
	if (!err && cfg->arena_bytes)
		err = umalloc_opt(u->h, UMALLOC_LIMIT, cfg->arena_bytes);
	return err;
}

static int urun_task(struct vm_task *t, void *arg)
{
	struct urun *u = arg;
	double t0, ts, snap = 0;

	u->err = urun_setup(t, u);
	if (u->err)
		return 1;
	t0 = now_s();
	for (size_t i = 0; i < u->tr->nops; i++) {
		urun_op(t, u, &u->tr->ops[i]);
		if (i != u->ps->peak_op)
			continue;
		ts = now_s();
		snap_umalloc(u->h, &u->r->peak);
		snap += now_s() - ts;
	}
	u->seconds = now_s() - t0 - snap;
	urun_totals(u);
	return 0;
}

static uint64_t machine_bytes(const struct astudy_config *cfg,
			      const struct prescan *ps)
{
	uint64_t need = cfg->arena_bytes ? cfg->arena_bytes :
					   MACHINE_PEAK_FACTOR * ps->peak_live;

	if (cfg->mem_bytes)
		return cfg->mem_bytes;
	return (need + MACHINE_SLACK + MACHINE_ALIGN - 1) &
	       ~(MACHINE_ALIGN - 1);
}

static void urun_exit(struct astudy_result *r, const struct vm_exit *ex,
		      int err)
{
	static const char *const why[] = {
		[VM_EXIT_OOM_KILLED] =
			"OOM-killed (raise the machine's memory)",
		[VM_EXIT_SEGV] = "killed by SIGSEGV",
		[VM_EXIT_SIGBUS] = "killed by SIGBUS",
		[VM_EXIT_HOST_NOMEM] = "out of host memory",
		[VM_EXIT_ABORT] = "aborted",
		[VM_EXIT_PANIC] = "the machine panicked",
		[VM_EXIT_KILLED] = "killed",
	};

	if (ex->reason == VM_EXIT_NORMAL && !err)
		return;
	if (ex->reason == VM_EXIT_NORMAL)
		set_status(r, err, "heap setup failed (%d)", err);
	else if ((unsigned)ex->reason < sizeof(why) / sizeof(why[0]) &&
		 why[ex->reason])
		set_status(r,
			   ex->reason == VM_EXIT_OOM_KILLED ? -ENOMEM : -EFAULT,
			   "the task was %s%s%s", why[ex->reason],
			   ex->msg[0] ? ": " : "", ex->msg);
	else
		set_status(r, -EFAULT, "the task ended (reason %d)",
			   ex->reason);
}

static int run_umalloc(const struct astudy_config *cfg,
		       const struct astudy_trace *tr, const struct prescan *ps,
		       struct astudy_result *r)
{
	struct urun u = { cfg, tr, ps, NULL, NULL, NULL, r, 0, 0 };
	struct vm_config vc;
	struct vm_exit ex;
	struct vm *vm;
	char err[128];
	int pid;

	vm_config_init(&vc);
	vc.mode = VM_MODE_NATIVE;
	vc.mem_bytes = machine_bytes(cfg, ps);
	u.addr = calloc(tr->nids ? tr->nids : 1, sizeof(uint64_t));
	u.size = calloc(tr->nids ? tr->nids : 1, sizeof(uint64_t));
	vm = u.addr && u.size ? vm_create(&vc, err, sizeof(err)) : NULL;
	pid = vm ? vm_spawn(vm, "astudy", 0, urun_task, &u) : -ENOMEM;
	if (pid > 0 && vm_wait(vm, pid, &ex) == pid)
		urun_exit(r, &ex, u.err);
	if (vm)
		vm_destroy(vm);
	umalloc_heap_destroy(u.h);
	free(u.addr);
	free(u.size);
	if (!vm && u.addr && u.size)
		set_status(r, -ENOMEM, "machine: %s", err);
	if (pid < 0)
		return -ENOMEM;
	finish(r, u.seconds);
	return 0;
}

/* ---- a model on this thread --------------------------------------------------------- */

/* Linux's krealloc: keep the block when it already holds n bytes. */
static void model_realloc(struct astudy_model *m, uint64_t *a, uint64_t n)
{
	uint64_t q;

	if (!*a) {
		if (astudy_model_alloc(m, n, a))
			*a = 0;
	} else if (!n) {
		astudy_model_free(m, *a);
		*a = 0;
	} else if (astudy_model_granted(m, *a) < n &&
		   !astudy_model_alloc(m, n, &q)) {
		astudy_model_free(m, *a);
		*a = q;
	}
}

static void model_op(struct astudy_model *m, uint64_t *a,
		     const struct astudy_op *o)
{
	if (o->kind == 'a') {
		if (astudy_model_alloc(m, o->nbytes, a))
			*a = 0;
	} else if (o->kind == 'f') {
		if (*a)
			astudy_model_free(m, *a);
		*a = 0;
	} else {
		model_realloc(m, a, o->nbytes);
	}
}

static void model_results(const struct astudy_model *m, struct astudy_result *r)
{
	struct astudy_model_stats st;

	astudy_model_stats(m, &st);
	r->peak_requested = st.peak_requested;
	r->peak_footprint = st.peak_footprint;
	r->allocs = st.allocs;
	r->search_visits = st.search_visits;
	r->search_max = st.search_max;
	r->failures = st.failures;
	r->failures_fragmented = st.failures_fragmented;
}

static uint64_t model_arena(const struct astudy_config *cfg,
			    const struct prescan *ps)
{
	uint64_t a = MODEL_MIN_ARENA;

	if (cfg->arena_bytes)
		return cfg->arena_bytes & ~(VM_PAGE_SIZE - 1);
	while (a < 2 * ps->buddy_peak)
		a <<= 1;
	return a;
}

static void model_replay(struct astudy_model *m, const struct astudy_trace *tr,
			 const struct prescan *ps, uint64_t *addr,
			 struct astudy_result *r)
{
	struct astudy_model_stats st;
	double t0 = now_s(), ts, snap = 0;

	for (size_t i = 0; i < tr->nops; i++) {
		model_op(m, &addr[tr->ops[i].id], &tr->ops[i]);
		if (i != ps->peak_op)
			continue;
		ts = now_s();
		astudy_model_stats(m, &st);
		r->peak = st.now;
		snap += now_s() - ts;
	}
	r->seconds = now_s() - t0 - snap;
}

static int run_model(const struct astudy_config *cfg,
		     const struct astudy_trace *tr, const struct prescan *ps,
		     struct astudy_result *r)
{
	uint64_t *addr = calloc(tr->nids ? tr->nids : 1, sizeof(uint64_t));
	struct astudy_model *m = NULL;
	int err = addr ? astudy_model_create(cfg->alloc, model_arena(cfg, ps),
					     &m) :
			 -ENOMEM;

	if (!err) {
		model_replay(m, tr, ps, addr, r);
		model_results(m, r);
		if (astudy_model_check(m))
			set_status(r, -EUCLEAN, "model invariants broken");
		finish(r, r->seconds);
	}
	astudy_model_destroy(m);
	free(addr);
	return err;
}

int astudy_run(const struct astudy_config *cfg,
	       const struct astudy_trace *trace, struct astudy_result *out)
{
	struct prescan ps;
	int err;

	memset(out, 0, sizeof(*out));
	if (!cfg || !trace || (unsigned)cfg->alloc >= ASTUDY_NALLOCS ||
	    check_trace(trace))
		return -EINVAL;
	out->alloc = cfg->alloc;
	out->nops = trace->nops;
	err = prescan(trace, &ps);
	if (err)
		return err;
	if (cfg->alloc < ASTUDY_BUDDY)
		return run_umalloc(cfg, trace, &ps, out);
	return run_model(cfg, trace, &ps, out);
}

/* ---- formatting ------------------------------------------------------------------ */

__attribute__((format(printf, 4, 5))) static void
put(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*at < len ? buf + *at : NULL, *at < len ? len - *at : 0,
		      fmt, ap);
	va_end(ap);
	*at += n > 0 ? (size_t)n : 0;
}

static void csv_row(const struct astudy_result *r, char *buf, size_t len,
		    size_t *at)
{
	const struct astudy_snapshot *p = &r->peak;

	put(buf, len, at,
	    "%s,%d,%llu,%.6f,%.0f,%llu,%llu,%.4f,%llu,%llu,%llu,%llu,%.4f,"
	    "%llu,%llu,%.4f,%llu,%.3f,%llu,%llu,%llu,%llu\n",
	    astudy_alloc_name(r->alloc), r->status, (unsigned long long)r->nops,
	    r->seconds, r->ops_per_sec, (unsigned long long)p->live_requested,
	    (unsigned long long)p->live_granted, r->internal_frag,
	    (unsigned long long)p->free_bytes,
	    (unsigned long long)p->free_blocks,
	    (unsigned long long)p->largest_free,
	    (unsigned long long)p->sliver_blocks, r->external_frag,
	    (unsigned long long)p->footprint,
	    (unsigned long long)r->peak_footprint, r->utilisation,
	    (unsigned long long)r->allocs, r->search_avg,
	    (unsigned long long)r->search_max, (unsigned long long)r->failures,
	    (unsigned long long)r->failures_fragmented,
	    (unsigned long long)r->verify_errors);
}

static void table_row(const struct astudy_result *r, char *buf, size_t len,
		      size_t *at)
{
	if (r->status) {
		put(buf, len, at, "%-8s failed: %s\n",
		    astudy_alloc_name(r->alloc), r->error);
		return;
	}
	put(buf, len, at,
	    "%-8s %10.0f %6.3f %8.3f %8.3f %10llu %9llu %7llu %8.1f %8llu "
	    "%6llu %6llu\n",
	    astudy_alloc_name(r->alloc), r->ops_per_sec, r->utilisation,
	    r->internal_frag, r->external_frag,
	    (unsigned long long)(r->peak_footprint >> 10),
	    (unsigned long long)r->peak.free_blocks,
	    (unsigned long long)r->peak.sliver_blocks, r->search_avg,
	    (unsigned long long)r->search_max, (unsigned long long)r->failures,
	    (unsigned long long)r->failures_fragmented);
}

size_t astudy_format(const struct astudy_result *rows, size_t n,
		     enum astudy_format fmt, char *buf, size_t len)
{
	size_t at = 0;

	if (fmt == ASTUDY_CSV)
		put(buf, len, &at,
		    "allocator,status,ops,seconds,ops_per_sec,peak_requested,"
		    "peak_granted,internal_frag,free_bytes,free_blocks,"
		    "largest_free,sliver_blocks,external_frag,"
		    "footprint_at_peak,peak_footprint,utilisation,allocs,"
		    "search_avg,search_max,failures,failures_fragmented,"
		    "verify_errors\n");
	else
		put(buf, len, &at,
		    "%-8s %10s %6s %8s %8s %10s %9s %7s %8s %8s %6s %6s\n",
		    "alloc", "ops/s", "util", "int.frag", "ext.frag",
		    "peak.KiB", "free.blk", "sliver", "srch.avg", "srch.max",
		    "fail", "f.frag");
	for (size_t i = 0; i < n; i++) {
		if (fmt == ASTUDY_CSV)
			csv_row(&rows[i], buf, len, &at);
		else
			table_row(&rows[i], buf, len, &at);
	}
	if (len && at >= len)
		buf[len - 1] = '\0';
	return at;
}
