/*
 * tests/bench/bench_sim.c - the simulator's speed (issue 11's targets):
 * a Zipf(1.0) trace of 10^7 requests over 10^6 pages, written as
 * libCacheSim oracleGeneral records to /tmp at bench time, then
 *
 *  1. the reader alone: trace_load (read, parse, dense ids, next use);
 *  2. each policy the machine has, replayed through vm_access_next in
 *     exact mode with 1 % and 10 % of the distinct pages as frames:
 *     requests/s of the replay loop (setup excluded, trace_replay), and
 *     the cost of a hit and of a miss: for FIFO, LRU and Clock a second
 *     run times every vm_access_next with the TSC and sorts it by what
 *     the plain simulator (4.) says the request was; for the others
 *     (marked ~) solved from the two runs, t = hits x h + misses x m
 *     ("-" when no positive pair fits: the costs differ between sizes);
 *     host memory: the run's RSS growth per frame (B/frame) and per
 *     distinct page of the trace (B/page: page tables, PTEs of evicted
 *     pages);
 *  3. LRU's whole miss-ratio curve by the one-pass stack algorithm;
 *  4. for scale, the same FIFO, LRU and Clock as plain simulators on the
 *     dense page numbers (arrays, no MMU, no hashing: a bound no
 *     simulator that maps ids beats), their misses checked against the
 *     machine's, and the machine's speed as a ratio of theirs.
 *
 * Medians of BENCH_REPS runs (default 3), runs of different policies
 * interleaved so that drift in the (noisy, shared) machine hits all.
 * BENCH_SIM_REQUESTS / BENCH_SIM_PAGES shrink the trace for a quick look.
 * Targets: >= 15 M req/s FIFO/LRU/Clock, >= 6 M req/s LFU and OPT, on
 * one core: the process stays on the CPU it starts on (bench_pin_cpu;
 * BENCH_PIN=0 lets it move).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/benchutil.h"
#include "workloads/trace.h"

#if defined(__x86_64__)
#include <x86intrin.h>
static inline uint64_t cycles(void)
{
	return __rdtsc();
}
#else
static inline uint64_t cycles(void)
{
	return bench_now_ns();
}
#endif

#define REQUESTS   10000000ULL
#define PAGES	   1000000ULL
#define ALPHA	   1.0
#define REC	   TRACE_ORACLE_SIZE
#define MAX_REPS   15
#define NS_PER_S   1e9
#define BATCH	   65536
#define NR_SIZES   2
#define MAX_POLICY 16

static const char *const policies[] = { "fifo",	     "lru",  "clock", "lfu",
					"lfu-aging", "opt",  "arc",   "2q",
					"s3fifo",    "linux" };
static const double size_pct[NR_SIZES] = { 1, 10 };

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 10) : def;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Zipf ranks (0 = most popular) by inverse CDF. */
static uint32_t *zipf_ranks(uint64_t n, uint64_t pages)
{
	double *cdf = malloc(pages * sizeof(*cdf)), sum = 0;
	uint32_t *ids = malloc(n * sizeof(*ids));
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	if (!cdf || !ids)
		exit(1);
	for (uint64_t i = 0; i < pages; i++)
		cdf[i] = sum += pow((double)(i + 1), -ALPHA);
	for (uint64_t i = 0; i < n; i++) {
		double u = (double)(rng(&s) >> 11) / 9007199254740992.0 * sum;
		uint64_t lo = 0, hi = pages - 1;

		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (cdf[mid] >= u)
				hi = mid;
			else
				lo = mid + 1;
		}
		ids[i] = (uint32_t)lo;
	}
	free(cdf);
	return ids;
}

/* next_access_vtime of each request (1-based, -1 never), backward. */
static int64_t *vtimes(const uint32_t *rank, uint64_t n, uint64_t pages)
{
	int64_t *vt = malloc(n * sizeof(*vt));
	int64_t *last = malloc(pages * sizeof(*last));

	if (!vt || !last)
		exit(1);
	for (uint64_t p = 0; p < pages; p++)
		last[p] = -1;
	for (uint64_t i = n; i-- > 0;) {
		vt[i] = last[rank[i]];
		last[rank[i]] = (int64_t)i + 1;
	}
	free(last);
	return vt;
}

static void write_trace(const char *path, uint64_t n, uint64_t pages)
{
	uint32_t *rank = zipf_ranks(n, pages);
	int64_t *vt = vtimes(rank, n, pages);
	unsigned char *buf = malloc((size_t)BATCH * REC);
	FILE *f = fopen(path, "w");

	if (!buf || !f)
		exit(1);
	for (uint64_t i = 0; i < n; i += BATCH) {
		uint64_t k = n - i < BATCH ? n - i : BATCH;

		for (uint64_t j = 0; j < k; j++) {
			unsigned char *r = buf + j * REC;

			put_le(r, i + j, 4);
			/* object ids: the ranks scrambled (odd multiplier) */
			put_le(r + 4,
			       (rank[i + j] + 1ULL) * 0xff51afd7ed558ccdULL, 8);
			put_le(r + 12, 4096, 4);
			put_le(r + 16, (uint64_t)vt[i + j], 8);
		}
		if (fwrite(buf, REC, k, f) != k)
			exit(1);
	}
	fclose(f);
	free(buf);
	free(vt);
	free(rank);
}

static void load(const char *path, struct trace *tr, unsigned reps)
{
	struct trace_opts o;
	double rate[MAX_REPS];
	char err[256], note[96];

	trace_opts_init(&o);
	for (unsigned r = 0; r < reps; r++) {
		uint64_t t0 = bench_now_ns();

		if (r)
			trace_free(tr);
		if (trace_load(path, &o, tr, err, sizeof(err))) {
			fprintf(stderr, "bench_sim: %s\n", err);
			exit(1);
		}
		rate[r] = (double)tr->nr_requests /
			  ((double)(bench_now_ns() - t0) / NS_PER_S) / 1e6;
	}
	snprintf(note, sizeof(note), "%llu requests, %llu distinct pages%s",
		 (unsigned long long)tr->nr_requests,
		 (unsigned long long)tr->nr_pages,
		 tr->vtime_mismatch ? ", VTIME MISMATCH" : "");
	bench_report("reader alone: trace_load of oracleGeneral", rate, reps,
		     "M req/s", note);
}

struct cell {
	uint64_t frames, misses, rss;
	double ns[MAX_REPS];
	double med_ns;
	uint64_t ref_misses;
	double ref_ns[MAX_REPS];
	double hit_ns[MAX_REPS], miss_ns[MAX_REPS]; /* timed per request */
};

static double ns_per_cycle, pair_cycles; /* calibrate() */

/* ---- plain reference simulators on dense pages ----------------------- */

struct ref {
	uint8_t *miss;	      /* per request: 1 missed (NULL: not recorded) */
	uint8_t *in;	      /* resident, per page */
	uint8_t *bit;	      /* clock's reference bit */
	uint32_t *ring;	      /* fifo / clock: frames slots */
	uint32_t *prev, *nxt; /* lru: a list over pages, head = MRU */
};

static uint64_t ref_fifo(const struct trace *tr, uint64_t frames, struct ref *r)
{
	uint64_t misses = 0, used = 0, hand = 0;

	for (uint64_t i = 0; i < tr->nr_requests; i++) {
		uint32_t p = tr->page[i];

		if (r->miss)
			r->miss[i] = !r->in[p];
		if (r->in[p])
			continue;
		misses++;
		if (used < frames) {
			r->ring[used++] = p;
		} else {
			r->in[r->ring[hand]] = 0;
			r->ring[hand] = p;
			hand = hand + 1 == frames ? 0 : hand + 1;
		}
		r->in[p] = 1;
	}
	return misses;
}

static uint64_t ref_clock(const struct trace *tr, uint64_t frames,
			  struct ref *r)
{
	uint64_t misses = 0, used = 0, hand = 0;

	for (uint64_t i = 0; i < tr->nr_requests; i++) {
		uint32_t p = tr->page[i];

		if (r->miss)
			r->miss[i] = !r->in[p];
		if (r->in[p]) {
			r->bit[p] = 1;
			continue;
		}
		misses++;
		if (used < frames) {
			r->ring[used++] = p;
		} else {
			while (r->bit[r->ring[hand]]) { /* second chance */
				r->bit[r->ring[hand]] = 0;
				hand = hand + 1 == frames ? 0 : hand + 1;
			}
			r->in[r->ring[hand]] = 0;
			r->ring[hand] = p;
			hand = hand + 1 == frames ? 0 : hand + 1;
		}
		r->in[p] = 1;
		r->bit[p] = 0;
	}
	return misses;
}

static void lru_unlink(struct ref *r, uint32_t p, uint32_t *head,
		       uint32_t *tail)
{
	if (r->prev[p] != UINT32_MAX)
		r->nxt[r->prev[p]] = r->nxt[p];
	else
		*head = r->nxt[p];
	if (r->nxt[p] != UINT32_MAX)
		r->prev[r->nxt[p]] = r->prev[p];
	else
		*tail = r->prev[p];
}

static uint64_t ref_lru(const struct trace *tr, uint64_t frames, struct ref *r)
{
	uint64_t misses = 0, used = 0;
	uint32_t head = UINT32_MAX, tail = UINT32_MAX;

	for (uint64_t i = 0; i < tr->nr_requests; i++) {
		uint32_t p = tr->page[i];

		if (r->miss)
			r->miss[i] = !r->in[p];
		if (r->in[p]) {
			lru_unlink(r, p, &head, &tail);
		} else {
			misses++;
			if (used < frames) {
				used++;
			} else {
				r->in[tail] = 0;
				lru_unlink(r, tail, &head, &tail);
			}
			r->in[p] = 1;
		}
		r->prev[p] = UINT32_MAX;
		r->nxt[p] = head;
		if (head != UINT32_MAX)
			r->prev[head] = p;
		head = p;
		if (tail == UINT32_MAX)
			tail = p;
	}
	return misses;
}

typedef uint64_t (*ref_fn)(const struct trace *, uint64_t, struct ref *);

static ref_fn ref_of(const char *policy)
{
	return !strcmp(policy, "fifo")	? ref_fifo :
	       !strcmp(policy, "lru")	? ref_lru :
	       !strcmp(policy, "clock") ? ref_clock :
					  NULL;
}

/* Run fn over tr with frames (miss: record each request's verdict). */
static uint64_t ref_run(const struct trace *tr, ref_fn fn, uint64_t frames,
			uint8_t *miss, double *ns)
{
	struct ref r = { .miss = miss };
	uint64_t t0, misses;

	r.in = calloc(tr->nr_pages, 1);
	r.bit = calloc(tr->nr_pages, 1);
	r.ring = malloc(frames * sizeof(*r.ring));
	r.prev = malloc(tr->nr_pages * sizeof(*r.prev));
	r.nxt = malloc(tr->nr_pages * sizeof(*r.nxt));
	if (!r.in || !r.bit || !r.ring || !r.prev || !r.nxt)
		exit(1);
	t0 = bench_now_ns();
	misses = fn(tr, frames, &r);
	if (ns)
		*ns = (double)(bench_now_ns() - t0);
	free(r.in);
	free(r.bit);
	free(r.ring);
	free(r.prev);
	free(r.nxt);
	return misses;
}

/* ---- every request timed, sorted by the plain simulator's verdict ----- */

struct timed {
	const struct trace *tr;
	const uint8_t *miss;
	uint64_t cyc[2], n[2]; /* [0] hits, [1] misses */
	int err;
};

static int timed_task(struct vm_task *t, void *arg)
{
	struct timed *tm = arg;
	const struct trace *tr = tm->tr;
	uint64_t base = vm_mmap(t, 0, tr->nr_pages * VM_PAGE_SIZE,
				VM_PROT_READ | VM_PROT_WRITE,
				VM_MAP_PRIVATE | VM_MAP_ANON);

	if (vm_mmap_failed(base))
		return tm->err = vm_mmap_error(base), 1;
	for (uint64_t i = 0; i < tr->nr_requests && !tm->err; i++) {
		uint32_t nx = tr->next[i];
		uint64_t c0 = cycles(), d;

		tm->err = vm_access_next(t,
					 base + ((uint64_t)tr->page[i] << 12),
					 trace_is_write(tr, i),
					 nx == TRACE_NEVER ? UINT64_MAX : nx);
		d = cycles() - c0;
		tm->cyc[tm->miss[i]] += d;
		tm->n[tm->miss[i]]++;
	}
	return 0;
}

static void timed_run(const struct trace *tr, const char *policy,
		      struct cell *c, const uint8_t *miss, unsigned rep)
{
	struct timed tm = { .tr = tr, .miss = miss };
	struct vm_config cfg;
	struct vm_exit ex;
	struct vm *vm;
	char err[256];

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.kswapd = false;
	cfg.policy = policy;
	cfg.exact_frames = c->frames;
	vm = vm_create(&cfg, err, sizeof(err));
	if (!vm ||
	    vm_wait(vm, vm_spawn(vm, "timed", 0, timed_task, &tm), &ex) < 0 ||
	    tm.err) {
		fprintf(stderr, "bench_sim: timed %s: %s\n", policy,
			vm ? "the replay failed" : err);
		exit(1);
	}
	vm_destroy(vm);
	for (int k = 0; k < 2; k++) {
		double per = tm.n[k] ? (double)tm.cyc[k] / (double)tm.n[k] -
					       pair_cycles :
				       0;

		(k ? c->miss_ns : c->hit_ns)[rep] = per * ns_per_cycle;
	}
}

/* The plain simulator's run of policy into c, and the timed replay. */
static bool run_ref(const struct trace *tr, const char *policy, struct cell *c,
		    unsigned rep)
{
	ref_fn fn = ref_of(policy);
	uint8_t *miss;

	if (!fn)
		return false;
	c->ref_misses = ref_run(tr, fn, c->frames, NULL, &c->ref_ns[rep]);
	miss = malloc(tr->nr_requests);
	if (!miss)
		exit(1);
	ref_run(tr, fn, c->frames, miss, NULL);
	timed_run(tr, policy, c, miss, rep);
	free(miss);
	return true;
}

/* TSC rate against CLOCK_MONOTONIC, and the cost of a pair of reads. */
static void calibrate(void)
{
	uint64_t t0 = bench_now_ns(), c0 = cycles(), sum = 0;
	const unsigned pairs = 1000000;

	while (bench_now_ns() - t0 < 50000000)
		;
	ns_per_cycle = (double)(bench_now_ns() - t0) / (double)(cycles() - c0);
	for (unsigned i = 0; i < pairs; i++) {
		uint64_t c = cycles();

		sum += cycles() - c;
	}
	pair_cycles = (double)sum / pairs;
}

static void run_cell(const struct trace *tr, const char *policy, struct cell *c,
		     unsigned rep)
{
	struct trace_run run = { .policy = policy, .frames = c->frames };

	if (trace_replay(tr, &run)) {
		fprintf(stderr, "bench_sim: %s: %s\n", policy, run.msg);
		exit(1);
	}
	c->misses = run.misses;
	c->ns[rep] = (double)run.ns;
	if (run.rss_bytes > c->rss)
		c->rss = run.rss_bytes;
}

/* Hit and miss cost from two runs: n_i = h_i + m_i, t_i = h_i x + m_i y. */
static void solve(const struct trace *tr, const struct cell *a,
		  const struct cell *b, double *hit_ns, double *miss_ns)
{
	double n = (double)tr->nr_requests;
	double m1 = (double)a->misses, m2 = (double)b->misses;
	double h1 = n - m1, h2 = n - m2;
	double det = h1 * m2 - h2 * m1;

	*hit_ns = det ? (a->med_ns * m2 - b->med_ns * m1) / det : NAN;
	*miss_ns = det ? (h1 * b->med_ns - h2 * a->med_ns) / det : NAN;
}

static void report(const struct trace *tr, const char *policy,
		   struct cell *cells, unsigned reps, bool ref)
{
	double hit, miss;

	for (unsigned k = 0; k < NR_SIZES; k++)
		cells[k].med_ns = bench_median(cells[k].ns, reps);
	solve(tr, &cells[0], &cells[1], &hit, &miss);
	for (unsigned k = 0; k < NR_SIZES; k++) {
		struct cell *c = &cells[k];

		if (ref) {
			hit = bench_median(c->hit_ns, reps);
			miss = bench_median(c->miss_ns, reps);
		}
		double rate = (double)tr->nr_requests / (c->med_ns / NS_PER_S);
		double ref_rate =
			ref ? (double)tr->nr_requests /
					(bench_median(c->ref_ns, reps) /
					 NS_PER_S) :
			      0;

		printf("%-10s %8llu %3.0f%% %7.4f %8.2f ", policy,
		       (unsigned long long)c->frames, size_pct[k],
		       (double)c->misses / (double)tr->nr_requests, rate / 1e6);
		if (ref)
			printf(" %6.1f  %6.1f", hit, miss);
		else if (hit > 0 && miss > 0)
			printf("~%6.1f ~%6.1f", hit, miss);
		else /* the two runs fit no one pair of costs */
			printf("~     - ~     -");
		printf(" %8.1f %7.1f", (double)c->rss / (double)c->frames,
		       (double)c->rss / (double)tr->nr_pages);
		if (ref)
			printf(" %8.2f  x%.2f%s", ref_rate / 1e6,
			       rate / ref_rate,
			       c->ref_misses == c->misses ? "" :
							    "  MISSES DIFFER");
		putchar('\n');
	}
	fflush(stdout);
}

static void replays(const struct trace *tr, unsigned reps)
{
	struct cell cells[MAX_POLICY][NR_SIZES] = { 0 };
	const char *have[MAX_POLICY];
	bool ref[MAX_POLICY] = { 0 };
	unsigned np = 0;
	char msg[256];

	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (trace_policy_available(policies[i], msg, sizeof(msg)))
			have[np++] = policies[i];
		else
			printf("%-10s not measured: %s\n", policies[i], msg);
	for (unsigned p = 0; p < np; p++)
		for (unsigned k = 0; k < NR_SIZES; k++)
			cells[p][k].frames = (uint64_t)llround(
				(double)tr->nr_pages * size_pct[k] / 100);
	for (unsigned r = 0; r < reps; r++)
		for (unsigned p = 0; p < np; p++)
			for (unsigned k = 0; k < NR_SIZES; k++) {
				run_cell(tr, have[p], &cells[p][k], r);
				ref[p] = run_ref(tr, have[p], &cells[p][k], r);
			}
	printf("\n%-10s %8s %4s %7s %8s %7s %7s %8s %7s %8s %6s\n", "policy",
	       "frames", "", "miss", "M req/s", "ns/hit", "ns/miss", "B/frame",
	       "B/page", "plain", "ratio");
	for (unsigned p = 0; p < np; p++)
		report(tr, have[p], cells[p], reps, ref[p]);
}

static void mrc(const struct trace *tr, unsigned reps)
{
	uint64_t *misses = malloc((tr->nr_pages + 1) * sizeof(*misses));
	double rate[MAX_REPS];

	if (!misses)
		exit(1);
	for (unsigned r = 0; r < reps; r++) {
		uint64_t t0 = bench_now_ns();

		if (trace_lru_mrc(tr, misses))
			exit(1);
		rate[r] = (double)tr->nr_requests /
			  ((double)(bench_now_ns() - t0) / NS_PER_S) / 1e6;
	}
	bench_report("LRU's whole curve, one stack pass (Fenwick)", rate, reps,
		     "M req/s", NULL);
	free(misses);
}

int main(void)
{
	uint64_t n = env_u64("BENCH_SIM_REQUESTS", REQUESTS);
	uint64_t pages = env_u64("BENCH_SIM_PAGES", PAGES);
	unsigned reps = (unsigned)env_u64("BENCH_REPS", 3);
	char path[] = "/tmp/vmemu-bench-sim-XXXXXX.oracleGeneral";
	struct trace tr;
	int fd;

	if (reps < 1 || reps > MAX_REPS || n < 1 || pages < 1)
		return 1;
	fd = mkstemps(path, (int)strlen(".oracleGeneral"));
	if (fd < 0)
		return 1;
	close(fd);
	bench_pin_cpu("bench_sim");
	printf("Zipf(%.1f), %llu requests over %llu pages, %s (%u reps)\n",
	       ALPHA, (unsigned long long)n, (unsigned long long)pages, path,
	       reps);
	write_trace(path, n, pages);
	load(path, &tr, reps);
	unlink(path);
	mrc(&tr, reps);
	calibrate();
	replays(&tr, reps);
	trace_free(&tr);
	return 0;
}
