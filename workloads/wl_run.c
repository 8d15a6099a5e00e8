/*
 * workloads/wl_run.c - the life of a workload task, per kind.
 *
 * Every kind follows the same outline on its task's thread:
 *
 *   delay    sleep delay ms first (a staged scenario), with checkpoints
 *   setup    map the region (hog: grow it chunk by chunk, writing each
 *            page; forkstorm, idle: write every page passes times)
 *   body     the kind's ops (wl_pattern_run; forkstorm: its rounds;
 *            idle: sleep, touching a page ops times; malloc: its calls,
 *            wl_malloc.c)
 *   fork     fork=N: N children share the region copy-on-write; each
 *            runs the kind's pattern with its own seed, then verifies
 *            its view; meanwhile the parent verifies its own
 *   verify   read back and check every page of the region
 *
 * A mismatch, a failed mmap or fork, or a child that ended otherwise
 * than expected ends the task with a WL_EXIT_* code; the details stay in
 * the proc (struct wl_result) for wl_run_describe.
 *
 * Locking: none; see wl_internal.h for who owns what.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/wl_internal.h"

static int child_main(struct vm_task *t, void *arg);

struct wl_run *wl_run_new(struct vm *vm, const struct wl_spec *spec,
			  uint64_t default_seed)
{
	struct wl_run *run = calloc(1, sizeof(*run));

	if (!run)
		return NULL;
	run->spec = *spec;
	run->vm = vm;
	run->seed = spec->seed_set ? spec->seed : default_seed;
	atomic_init(&run->stop, false);
	atomic_init(&run->procs, NULL);
	if (spec->kind == WL_ZIPF &&
	    wl_zipf_build(run, spec->size / VM_PAGE_SIZE) < 0)
		goto out_free;
	run->root = wl_proc_new(run, run->seed);
	if (!run->root)
		goto out_free;
	return run;
out_free:
	wl_run_free(run);
	return NULL;
}

void wl_run_free(struct wl_run *run)
{
	struct wl_proc *p, *next;

	if (!run)
		return;
	for (p = atomic_load(&run->procs); p; p = next) {
		next = p->next;
		wl_proc_free(p);
	}
	free(run->zipf_cdf);
	free(run);
}

const struct wl_spec *wl_run_spec(const struct wl_run *run)
{
	return &run->spec;
}

void wl_run_set_hook(struct wl_run *run, wl_access_hook fn, void *ctx)
{
	run->hook = fn;
	run->hook_ctx = ctx;
}

void wl_run_stop(struct wl_run *run)
{
	atomic_store(&run->stop, true);
}

void wl_run_kill_children(struct wl_run *run)
{
	for (struct wl_proc *p = atomic_load(&run->procs); p; p = p->next) {
		int pid = atomic_load(&p->pid);

		if (p != run->root && pid > 0)
			vm_kill(run->vm, pid);
	}
}

/* Map a one-chunk region of spec.size; 0 or -1 (p->res says why). */
static int region_init(struct wl_proc *p)
{
	p->chunk_pages = p->run->spec.size / VM_PAGE_SIZE;
	return wl_region_grow(p);
}

/* Write every page once, passes times; 0, -1 or 1 (stopped). */
static int write_passes(struct wl_proc *p, uint64_t passes)
{
	for (uint64_t i = 0; i < passes * p->npages; i++) {
		if (i % WL_CHECK_OPS == 0 && wl_checkpoint(p))
			return 1;
		if (wl_touch(p, i % p->npages, true) < 0)
			return -1;
	}
	return 0;
}

/* The code for a step's outcome r (0 ok, -1 failed, 1 stopped). */
static int outcome(struct wl_proc *p, int r)
{
	return r < 0 ? p->res.code : r > 0 ? WL_EXIT_STOPPED : WL_EXIT_OK;
}

int wl_judge_child(struct wl_proc *p, struct wl_proc *c,
		   const struct vm_exit *ex)
{
	if (ex->reason == VM_EXIT_NORMAL && ex->code == WL_EXIT_OK)
		return 0;
	if (p->res.code)
		return -1;
	if (ex->reason == VM_EXIT_NORMAL && ex->code == WL_EXIT_MISMATCH) {
		p->res = c->res;
		return -1;
	}
	p->res = (struct wl_result){ .code = WL_EXIT_CHILD,
				     .pid = atomic_load(&c->pid),
				     .reason = ex->reason,
				     .child_code = ex->code };
	return -1;
}

/*
 * Fork n children over p's region (each: the pattern, then a full
 * verify), verify p's own view while they run if verify is set, wait
 * for all.  0, -1 (p->res) or 1 (stopped).
 */
static int fork_round(struct wl_proc *p, uint64_t n, bool verify)
{
	struct wl_proc *kids = NULL, *c;
	int r = 0;

	for (uint64_t i = 0; i < n && r == 0; i++) {
		c = wl_proc_clone(p, wl_mix(p->seed + 1 + p->ops_done + i));
		if (!c) {
			p->res = (struct wl_result){ .code = WL_EXIT_HOST,
						     .err = -ENOMEM };
			r = -1;
			break;
		}
		int pid = vm_fork(p->t, child_main, c);

		if (pid < 0) {
			p->res = (struct wl_result){ .code = WL_EXIT_FORK,
						     .err = pid };
			r = -1;
			break;
		}
		atomic_store(&c->pid, pid);
		c->res.pid = pid;
		c->sibling = kids;
		kids = c;
	}
	if (r == 0 && verify)
		r = wl_verify_all(p);
	for (c = kids; c; c = c->sibling) {
		struct vm_exit ex;

		if (vm_wait(p->run->vm, atomic_load(&c->pid), &ex) < 0)
			ex = (struct vm_exit){ .reason = VM_EXIT_KILLED };
		if (wl_judge_child(p, c, &ex) < 0 && r == 0)
			r = -1;
	}
	return r;
}

static int child_main(struct vm_task *t, void *arg)
{
	struct wl_proc *c = arg;
	int r;

	c->t = t;
	atomic_store(&c->pid, vm_getpid(t));
	r = wl_pattern_run(c, wl_pattern_ops(c));
	if (r == 0)
		r = wl_verify_all(c);
	return outcome(c, r);
}

/* seq rand zipf hotcold phases stride zero: the pattern. */
static int pattern_body(struct wl_proc *p)
{
	return wl_pattern_run(p, wl_pattern_ops(p));
}

/* hog: grow to the cap (or until mmap fails or it is killed). */
static int hog_setup(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;

	p->chunk_pages = s->chunk / VM_PAGE_SIZE;
	while (!s->size || p->npages * VM_PAGE_SIZE < s->size) {
		uint64_t first = p->npages;

		if (wl_region_grow(p) < 0) {
			if (p->res.code != WL_EXIT_NOMEM || !p->npages)
				return -1;
			p->res = (struct wl_result){ 0 }; /* VA full: done */
			return 0;
		}
		for (uint64_t pg = first; pg < p->npages; pg++) {
			if (pg % WL_CHECK_OPS == 0 && wl_checkpoint(p))
				return 1;
			if (wl_touch(p, pg, true) < 0)
				return -1;
		}
	}
	return 0;
}

/* forkstorm: rounds of fork/COW/exit; the parent must see none of it. */
static int forkstorm_body(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;
	int r = 0;

	for (uint64_t round = 0; round < s->rounds && r == 0; round++) {
		r = fork_round(p, s->fork, false);
		if (r == 0)
			r = wl_verify_all(p);
		/* New content for the next round's children to inherit. */
		for (uint64_t pg = 0; pg < p->npages && r == 0; pg++)
			if (wl_rand_unit(p) < s->write)
				r = wl_touch(p, pg, true);
	}
	return r;
}

/* idle: sleep sleep_ms, touching one page ops times, evenly spread. */
static int idle_body(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;
	uint64_t gap = s->ops < s->sleep_ms ? s->sleep_ms / (s->ops + 1) : 0;

	for (uint64_t i = 0; i < s->ops; i++) {
		uint64_t page;

		if (wl_sleep(p, gap))
			return 1;
		page = wl_rand(p) % p->npages;
		if (wl_touch(p, page, wl_rand_unit(p) < s->write) < 0)
			return -1;
	}
	return wl_sleep(p, s->sleep_ms - gap * s->ops) ? 1 : 0;
}

static int segv_body(struct wl_proc *p)
{
	const volatile uint64_t *ptr = vm_ptr(p->t, 0);
	uint64_t word;

	if (ptr)
		word = *ptr; /* the trap ends the task here */
	else
		vm_read(p->t, 0, &word, sizeof(word));
	(void)word;
	return 0;
}

static int setup(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;

	if (s->kind == WL_HOG)
		return hog_setup(p);
	if (s->kind == WL_SEGV || s->kind == WL_MALLOC)
		return 0;
	if (region_init(p) < 0)
		return -1;
	if (s->kind == WL_FORKSTORM)
		return write_passes(p, 1);
	if (s->kind == WL_IDLE)
		return write_passes(p, s->passes);
	return 0;
}

static int body(struct wl_proc *p)
{
	enum wl_kind kind = p->run->spec.kind;

	if (kind == WL_FORKSTORM)
		return forkstorm_body(p);
	if (kind == WL_IDLE)
		return idle_body(p);
	if (kind == WL_SEGV)
		return segv_body(p);
	if (kind == WL_MALLOC)
		return wl_malloc_body(p);
	return pattern_body(p);
}

int wl_run_main(struct vm_task *t, void *arg)
{
	struct wl_run *run = arg;
	struct wl_proc *p = run->root;
	const struct wl_spec *s = &run->spec;
	int r;

	p->t = t;
	p->native = vm_ptr(t, 0) != NULL; /* no window in trace mode */
	atomic_store(&p->pid, vm_getpid(t));
	r = wl_sleep(p, s->delay_ms) ? 1 : 0;
	if (r == 0 && wl_file_kind(s->kind))
		return wl_file_main(p);
	if (r == 0)
		r = setup(p);
	if (r == 0)
		r = body(p);
	if (r == 0 && s->fork && s->kind != WL_FORKSTORM && s->kind != WL_SEGV)
		r = fork_round(p, s->fork, true);
	if (r == 0 && s->kind != WL_SEGV)
		r = wl_verify_all(p);
	return outcome(p, r);
}
