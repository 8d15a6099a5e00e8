/*
 * workloads/trace_replay.c - a loaded trace through the emulated machine,
 * in exact-replacement mode (vm_config.exact_frames, trace mode), over
 * the public API only.
 *
 * One machine per run: vm_create(mode trace, policy, exact_frames), one
 * task that maps the trace's nr_pages pages as one anonymous region and
 * then makes request i as
 *
 *     vm_access_next(t, base + page[i] * 4096, write(i), next[i])
 *
 * - page walk, software TLB, fault path and policy, as every access -
 * through vm_access_batch, REPLAY_CHUNK requests a call (the same
 * accesses; the machine holds its lock across runs of them).
 * In exact mode every miss is one fault (a first touch or a refault of
 * an evicted page), so misses = vm_stat's pgfault after the task.  The
 * time is the request loop's alone, taken on the task's thread.
 *
 * trace_replay_all runs independent runs on a pool of threads (one
 * machine each; the trace is shared read-only).  Machines do not share
 * state, so runs in parallel give the counts they give alone; only their
 * times and RSS figures feel each other.
 *
 * No locking beyond the pool's atomic cursor.  Not reachable from a trap.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workloads/trace.h"

#define NSEC_PER_SEC 1000000000ULL
#define REPLAY_CHUNK 4096 /* requests per vm_access_batch */

struct replay {
	const struct trace *tr;
	struct trace_run *run;
	uint64_t rss_before;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Resident bytes of this process (/proc/self/statm), 0 if unknown. */
static uint64_t host_rss(void)
{
	unsigned long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t next_use(uint32_t next)
{
	return next == TRACE_NEVER ? UINT64_MAX : next;
}

/*
 * The request loop: chunks of REPLAY_CHUNK requests as struct vm_ref for
 * vm_access_batch (each access exactly as vm_access_next would make it).
 * 0 or the first failing access's error; *done = requests made.
 */
static int replay_loop(struct vm_task *t, const struct trace *tr, uint64_t base,
		       uint64_t *done)
{
	struct vm_ref *ref = malloc(REPLAY_CHUNK * sizeof(*ref));
	uint64_t n = tr->nr_requests, i;
	size_t k, made = 0;
	int rc = 0;

	if (!ref)
		return -ENOMEM;
	for (i = 0; i < n && !rc; i += k) {
		k = n - i < REPLAY_CHUNK ? (size_t)(n - i) : REPLAY_CHUNK;
		for (size_t j = 0; j < k; j++)
			ref[j] = (struct vm_ref){
				base + ((uint64_t)tr->page[i + j] << 12),
				next_use(tr->next[i + j]),
				trace_is_write(tr, i + j),
			};
		rc = vm_access_batch(t, ref, k, &made);
	}
	*done = rc ? i - k + made : n;
	free(ref);
	return rc;
}

static int replay_task(struct vm_task *t, void *arg)
{
	struct replay *r = arg;
	struct trace_run *run = r->run;
	uint64_t len = r->tr->nr_pages * VM_PAGE_SIZE, base, t0;
	int rc;

	base = vm_mmap(t, 0, len ? len : VM_PAGE_SIZE,
		       VM_PROT_READ | VM_PROT_WRITE,
		       VM_MAP_PRIVATE | VM_MAP_ANON);
	if (vm_mmap_failed(base)) {
		run->err = vm_mmap_error(base);
		snprintf(run->msg, sizeof(run->msg),
			 "mapping %llu pages for the trace: %s",
			 (unsigned long long)r->tr->nr_pages,
			 strerror(-run->err));
		return 1;
	}
	t0 = now_ns();
	rc = replay_loop(t, r->tr, base, &run->requests);
	run->ns = now_ns() - t0;
	run->rss_bytes = host_rss() - r->rss_before;
	if (rc) {
		run->err = rc;
		snprintf(run->msg, sizeof(run->msg),
			 "request %llu: vm_access: %s",
			 (unsigned long long)run->requests + 1, strerror(-rc));
		return 1;
	}
	return 0;
}

static void config(struct vm_config *cfg, const char *policy, uint64_t frames)
{
	vm_config_init(cfg);
	cfg->mode = VM_MODE_TRACE;
	cfg->kswapd = false;
	cfg->policy = policy;
	cfg->exact_frames = frames;
}

/* How the task ended, as an error of the run (0: it replayed all). */
static void task_end(struct trace_run *run, int pid_rc,
		     const struct vm_exit *ex)
{
	if (pid_rc < 0) {
		run->err = pid_rc;
		snprintf(run->msg, sizeof(run->msg), "vm_wait: %s",
			 strerror(-pid_rc));
	} else if (ex->reason != VM_EXIT_NORMAL && !run->err) {
		run->err = -EIO;
		snprintf(run->msg, sizeof(run->msg),
			 "the replaying task ended abnormally (reason %d) "
			 "after %llu requests",
			 (int)ex->reason, (unsigned long long)run->requests);
	}
}

int trace_replay(const struct trace *tr, struct trace_run *run)
{
	struct replay r = { tr, run, host_rss() };
	struct vm_config cfg;
	struct vm_exit ex = { 0 };
	struct vm_stat before, after;
	struct vm *vm;
	int pid;

	run->err = 0;
	run->msg[0] = '\0';
	run->misses = run->requests = run->ns = run->rss_bytes = 0;
	config(&cfg, run->policy, run->frames);
	vm = vm_create(&cfg, run->msg, sizeof(run->msg));
	if (!vm)
		return run->err = -EINVAL;
	vm_stat(vm, &before);
	pid = vm_spawn(vm, "replay", 0, replay_task, &r);
	if (pid < 0) {
		run->err = pid;
		snprintf(run->msg, sizeof(run->msg), "vm_spawn: %s",
			 strerror(-pid));
	} else {
		task_end(run, vm_wait(vm, pid, &ex), &ex);
		vm_stat(vm, &after);
		run->misses = after.pgfault - before.pgfault;
	}
	vm_destroy(vm);
	return run->err;
}

bool trace_policy_available(const char *policy, char *msg, size_t len)
{
	struct vm_config cfg;
	struct vm *vm;

	config(&cfg, policy, 1);
	vm = vm_create(&cfg, msg, len);
	vm_destroy(vm);
	return vm != NULL;
}

unsigned trace_cpus(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set))
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* ---- a pool of replays ---------------------------------------------- */

struct pool {
	const struct trace *tr;
	struct trace_run *runs;
	unsigned n;
	atomic_uint cursor;
	atomic_uint failed;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	unsigned i;

	while ((i = atomic_fetch_add(&p->cursor, 1)) < p->n)
		if (trace_replay(p->tr, &p->runs[i]))
			atomic_fetch_add(&p->failed, 1);
	return NULL;
}

unsigned trace_replay_all(const struct trace *tr, struct trace_run *runs,
			  unsigned n, unsigned jobs)
{
	struct pool p = { .tr = tr, .runs = runs, .n = n };
	pthread_t *th;
	unsigned started = 0;

	if (jobs == 0)
		jobs = trace_cpus();
	if (jobs > n)
		jobs = n;
	th = jobs > 1 ? calloc(jobs, sizeof(*th)) : NULL;
	for (unsigned j = 0; th && j + 1 < jobs; j++)
		if (pthread_create(&th[started], NULL, pool_worker, &p) == 0)
			started++;
	pool_worker(&p); /* this thread works too; alone if none started */
	for (unsigned j = 0; j < started; j++)
		pthread_join(th[j], NULL);
	free(th);
	return atomic_load(&p.failed);
}
