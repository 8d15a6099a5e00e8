/*
 * workloads/wl_internal.h - what the workload files share (not for the
 * CLI): a run (one -w and every task it forks), a proc (one task's view:
 * its region, the expected content of each page, its generator), the
 * access layer and the patterns.
 *
 *   struct wl_run  --procs-->  wl_proc (root) -> wl_proc (child) -> ...
 *      spec, vm, stop flag,        region: chunk bases, per page owner
 *      hook, zipf CDF              and generation, scratch page, rng
 *
 * Ownership: every proc is allocated by the controlling thread (root, in
 * wl_run_new) or by its parent task (before vm_fork) and pushed onto
 * run->procs, a lock-free stack; nothing is freed before wl_run_free.
 * A proc's arrays are written only by its own task; its parent reads its
 * result only after vm_wait (which joins the thread).
 */
#ifndef VMEMU_WL_INTERNAL_H
#define VMEMU_WL_INTERNAL_H

#include <stdatomic.h>

#include "workloads/wl.h"

struct wl_proc;
struct umalloc_heap;

/* A live block of the malloc kind. */
struct wl_block {
	uint64_t va;
	uint64_t nbytes;
	uint64_t serial; /* its content's pattern; 0: calloc zeros */
};

struct wl_run {
	struct wl_spec spec;
	struct vm *vm;
	uint64_t seed;
	atomic_bool stop;
	_Atomic(struct wl_proc *) procs; /* every proc, newest first */
	struct wl_proc *root;
	wl_access_hook hook;
	void *hook_ctx;
	double *zipf_cdf;    /* zipf: CDF over the region's pages */
	uint64_t zipf_pages; /* its length */
};

/* The first failure a task saw (and its parent reports). */
struct wl_result {
	int code;			/* WL_EXIT_* */
	int pid;			/* the task that saw it */
	uint64_t va, page;		/* mismatch: where */
	unsigned byte;			/* mismatch: offset in the page */
	uint32_t owner, gen;		/* mismatch: what was expected */
	int err;			/* NOMEM/FORK/HOST: -errno */
	enum vm_exit_reason reason;	/* CHILD: how the child ended */
	int child_code;			/* CHILD: its exit code */
	uint64_t block_va, block_bytes; /* malloc mismatch: the block */
};

struct wl_proc {
	struct wl_run *run;
	struct wl_proc *next;	 /* run->procs */
	struct wl_proc *sibling; /* the parent's list of one fork round */
	atomic_int pid;		 /* 0 until known */
	struct vm_task *t;
	bool native;
	uint64_t rng;
	uint64_t seed;
	/* The region: nchunks chunks of chunk_pages pages. */
	uint64_t *bases;
	uint64_t nchunks, cap_chunks, chunk_pages, npages;
	uint32_t *owner, *gen; /* per page; cap_chunks x chunk_pages */
	uint64_t *scratch;     /* one page: the expected or read content */
	uint64_t ops_done;
	struct wl_result res;
	/* malloc: the heap, its live blocks, a host buffer of 2 x max. */
	struct umalloc_heap *heap;
	struct wl_block *blocks;
	uint64_t nblocks, cap_blocks, live_bytes, next_serial;
	uint8_t *buf;
	int fd; /* a file the task made (wl_file.c), or -1 */
};

/* ---- wl_mem.c: the region and the access layer ------------------------ */

struct wl_proc *wl_proc_new(struct wl_run *run, uint64_t seed);
/* A child's proc: a copy of parent's region and page table. */
struct wl_proc *wl_proc_clone(struct wl_proc *parent, uint64_t seed);
void wl_proc_free(struct wl_proc *p);
/* Map one more chunk of chunk_pages; 0 or a negative errno. */
int wl_region_grow(struct wl_proc *p);
uint64_t wl_page_va(const struct wl_proc *p, uint64_t page);
/* One access to page; 0, or -1 after a mismatch (p->res has it). */
int wl_touch(struct wl_proc *p, uint64_t page, bool write);
/* Read and check every page of the region; 0 or -1. */
int wl_verify_all(struct wl_proc *p);
/* A kill checkpoint (every WL_CHECK_OPS ops): true if asked to stop. */
bool wl_checkpoint(struct wl_proc *p);
/* Sleep ms, in slices with checkpoints; true if asked to stop. */
bool wl_sleep(struct wl_proc *p, uint64_t ms);
uint64_t wl_rand(struct wl_proc *p);
double wl_rand_unit(struct wl_proc *p);
uint64_t wl_mix(uint64_t x);

/* ---- wl_run.c: children --------------------------------------------- */

/* How child c ended (ex), into p->res (the first failure wins); 0 or -1. */
int wl_judge_child(struct wl_proc *p, struct wl_proc *c,
		   const struct vm_exit *ex);

/* ---- wl_pattern.c: which page the next op touches --------------------- */

int wl_zipf_build(struct wl_run *run, uint64_t npages);
/* The page op number op of p's pattern touches. */
uint64_t wl_pattern_next(struct wl_proc *p, uint64_t op);
/* Run ops accesses of p's pattern; 0, -1 (mismatch) or 1 (stopped). */
int wl_pattern_run(struct wl_proc *p, uint64_t ops);
/* The ops a pattern kind runs: spec.ops, or passes x pages. */
uint64_t wl_pattern_ops(const struct wl_proc *p);

/* ---- wl_malloc.c: the malloc kind ----------------------------------- */

/* Its body: 0, -1 (p->res) or 1 (stopped). */
int wl_malloc_body(struct wl_proc *p);
/* ---- wl_file.c: filescan, filerw, shm ---------------------------------- */

bool wl_file_kind(enum wl_kind kind);
/* The root task of a file kind, from setup to its last check. */
int wl_file_main(struct wl_proc *p);

#endif /* VMEMU_WL_INTERNAL_H */
