/*
 * workloads/wl_file.c - the file-page workloads (docs/filepages.md):
 *
 *   filescan  makes a file of size bytes (unlinked, in $TMPDIR or /tmp),
 *             maps it shared and read-only and streams through it: ops
 *             page reads (0: passes x pages), in order, wrapping - the
 *             cache polluter; fork=N children scan it too, sharing the
 *             page cache.
 *   filerw    makes a file, maps it shared and read-write; it and fork=N
 *             children make ops random accesses each (write: the share
 *             that writes) to their slice of the pages (page % (N + 1));
 *             each checks its slice and msyncs; the root checks the whole
 *             mapping, unmaps, and then reads the file itself back
 *             (pread) and compares it with the model.
 *   shm       maps size bytes of shared anonymous memory and writes every
 *             page; then passes rounds of fork=N children (default 2):
 *             in round r child k owns the pages with (page + r) % N == k,
 *             checks them (written by a sibling the round before), makes
 *             ops accesses to them (default: as many as it owns) and
 *             checks them again; after each round the root checks all.
 *
 * The model is wl_mem.c's: a page holds the pattern of (owner, gen); a
 * file's own content, as the task made it, is (owner 0, gen 1).  The
 * model of a shared region lives in the root's proc (owner[], gen[]);
 * each page's entry is written only by the task that owns the page while
 * it runs, and read by the root after vm_wait.  A mismatch is reported as
 * wl_mem.c's are (WL_EXIT_MISMATCH with the address and expectation).
 *
 * Host resources: the file's descriptor is the root proc's (closed by
 * wl_proc_free, even if the task was killed mid-run); the arrays are
 * freed with the run.  Kill checkpoints every WL_CHECK_OPS accesses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workloads/wl_internal.h"

#define GOLDEN	     0x9E3779B97F4A7C15ULL
#define PAGE_WORDS   (VM_PAGE_SIZE / sizeof(uint64_t))
#define MAKE_CHUNK   16 /* pages written per pwrite while making a file */
#define FILE_OWNER   0	/* the owner of a file's original content */
#define FILE_GEN     1
#define SHM_ROUNDS_0 2 /* rounds when passes is 0 */

bool wl_file_kind(enum wl_kind kind)
{
	return kind == WL_FILESCAN || kind == WL_FILERW || kind == WL_SHM;
}

/* The content of page at (owner, gen), as wl_mem.c's fill_expected. */
static void pattern(uint64_t *w, uint32_t owner, uint32_t gen, uint64_t page)
{
	uint64_t b;

	if (gen == 0) {
		memset(w, 0, VM_PAGE_SIZE);
		return;
	}
	b = wl_mix((((uint64_t)owner << 32) | gen) ^ wl_mix(page + 1));
	for (uint64_t i = 0; i < PAGE_WORDS; i++)
		w[i] = b + i * GOLDEN;
}

/* The shared model: the root's arrays. */
struct model {
	uint64_t va, npages;
	uint32_t *owner, *gen;
};

static struct model model_of(const struct wl_proc *p)
{
	const struct wl_proc *root = p->run->root;

	return (struct model){ root->bases ? root->bases[0] : 0, root->npages,
			       root->owner, root->gen };
}

static int fail(struct wl_proc *p, int code, int err)
{
	if (!p->res.code)
		p->res = (struct wl_result){ .code = code,
					     .pid = atomic_load(&p->pid),
					     .err = err };
	return -1;
}

/* got (a page) differs from p->scratch: record where; -1. */
static int mismatch(struct wl_proc *p, uint64_t va, uint64_t page,
		    const uint8_t *got, uint32_t owner, uint32_t gen)
{
	const uint8_t *want = (const uint8_t *)p->scratch;
	unsigned i = 0;

	while (i < VM_PAGE_SIZE - 1 && got[i] == want[i])
		i++;
	if (!p->res.code)
		p->res = (struct wl_result){ .code = WL_EXIT_MISMATCH,
					     .pid = atomic_load(&p->pid),
					     .va = va + i,
					     .page = page,
					     .byte = i,
					     .owner = owner,
					     .gen = gen };
	return -1;
}

/* Check (read) or store (write) page at va against (owner, gen); 0/-1. */
static int access_page(struct wl_proc *p, uint64_t va, uint64_t page,
		       uint32_t owner, uint32_t gen, bool write)
{
	uint64_t *got = p->scratch + PAGE_WORDS;
	void *mem = p->native ? vm_ptr(p->t, va) : NULL;
	int err;

	if (p->run->hook)
		p->run->hook(p->run->hook_ctx, p->t, page, va, write);
	p->ops_done++;
	pattern(p->scratch, owner, gen, page);
	if (write) {
		if (mem)
			memcpy(mem, p->scratch, VM_PAGE_SIZE);
		err = mem ? 0 : vm_write(p->t, va, p->scratch, VM_PAGE_SIZE);
		return err ? fail(p, WL_EXIT_NOMEM, err) : 0;
	}
	if (mem && memcmp(mem, p->scratch, VM_PAGE_SIZE) == 0)
		return 0;
	if (mem)
		memcpy(got, mem, VM_PAGE_SIZE);
	else if ((err = vm_read(p->t, va, got, VM_PAGE_SIZE)) != 0)
		return fail(p, WL_EXIT_NOMEM, err);
	if (memcmp(got, p->scratch, VM_PAGE_SIZE) == 0)
		return 0;
	return mismatch(p, va, page, (const uint8_t *)got, owner, gen);
}

/* ---- the file ---------------------------------------------------------- */

/* An unlinked file of npages pages of (FILE_OWNER, FILE_GEN); fd or -1. */
static int make_file(struct wl_proc *p, uint64_t npages)
{
	const char *dir = getenv("TMPDIR");
	uint64_t *buf = malloc(MAKE_CHUNK * VM_PAGE_SIZE);
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/vmemu-%s-XXXXXX",
		 dir && *dir ? dir : "/tmp", p->run->spec.name);
	fd = buf ? mkstemp(path) : -1;
	if (fd >= 0)
		unlink(path);
	for (uint64_t i = 0; fd >= 0 && i < npages; i += MAKE_CHUNK) {
		uint64_t n = npages - i < MAKE_CHUNK ? npages - i : MAKE_CHUNK;

		for (uint64_t k = 0; k < n; k++)
			pattern(buf + k * PAGE_WORDS, FILE_OWNER, FILE_GEN,
				i + k);
		if (pwrite(fd, buf, n * VM_PAGE_SIZE,
			   (off_t)(i * VM_PAGE_SIZE)) !=
		    (ssize_t)(n * VM_PAGE_SIZE)) {
			close(fd);
			fd = -1;
		}
	}
	free(buf);
	p->fd = fd;
	return fd >= 0 ? 0 : fail(p, WL_EXIT_HOST, -errno);
}

/* The root's model arrays and its one-chunk "region" (the mapping). */
static int model_init(struct wl_proc *p, uint64_t va, uint64_t npages,
		      uint32_t owner, uint32_t gen)
{
	p->bases = malloc(sizeof(*p->bases));
	p->owner = malloc(npages * sizeof(*p->owner));
	p->gen = malloc(npages * sizeof(*p->gen));
	if (!p->bases || !p->owner || !p->gen)
		return fail(p, WL_EXIT_HOST, -ENOMEM);
	p->bases[0] = va;
	p->nchunks = p->cap_chunks = 1;
	p->chunk_pages = p->npages = npages;
	for (uint64_t i = 0; i < npages; i++) {
		p->owner[i] = owner;
		p->gen[i] = gen;
	}
	return 0;
}

/* Map the file made for p (flags, prot) and set up the model. */
static int map_file(struct wl_proc *p, int prot)
{
	uint64_t npages = p->run->spec.size / VM_PAGE_SIZE, va;

	if (make_file(p, npages) < 0)
		return -1;
	va = vm_mmap_file(p->t, 0, npages * VM_PAGE_SIZE, prot, VM_MAP_SHARED,
			  p->fd, 0);
	if (vm_mmap_failed(va))
		return fail(p, WL_EXIT_NOMEM, vm_mmap_error(va));
	return model_init(p, va, npages, FILE_OWNER, FILE_GEN);
}

/* Read the file back and compare it with the model; 0 or -1. */
static int check_file(struct wl_proc *p)
{
	struct model m = model_of(p);
	uint64_t *got = p->scratch + PAGE_WORDS;

	for (uint64_t i = 0; i < m.npages; i++) {
		if (pread(p->fd, got, VM_PAGE_SIZE,
			  (off_t)(i * VM_PAGE_SIZE)) != (ssize_t)VM_PAGE_SIZE)
			return fail(p, WL_EXIT_HOST, -EIO);
		pattern(p->scratch, m.owner[i], m.gen[i], i);
		if (memcmp(got, p->scratch, VM_PAGE_SIZE))
			return mismatch(p, m.va + i * VM_PAGE_SIZE, i,
					(const uint8_t *)got, m.owner[i],
					m.gen[i]);
	}
	return 0;
}

/* ---- children ---------------------------------------------------------- */

/* A task's slice: the pages with (page + round) % n == k. */
struct slice {
	unsigned k, n, round;
};

static bool in_slice(const struct slice *sl, uint64_t page)
{
	return (page + sl->round) % sl->n == sl->k;
}

typedef int (*slice_body)(struct wl_proc *p, const struct slice *sl);

struct kid {
	struct wl_proc *c;
	slice_body body;
	struct slice sl;
};

static int kid_main(struct vm_task *t, void *arg)
{
	struct kid *kd = arg;
	struct wl_proc *c = kd->c;

	c->t = t;
	atomic_store(&c->pid, vm_getpid(t));
	c->res.pid = vm_getpid(t);
	if (kd->body(c, &kd->sl) == 0)
		return WL_EXIT_OK;
	return c->res.code ? c->res.code : WL_EXIT_HOST;
}

/* The children of one round: slices first .. first + n - 1 of total. */
struct brood {
	unsigned started;
	struct kid *kd;
};

/* Fork them, each running body on its slice; 0 or -1 (p->res). */
static int brood_start(struct wl_proc *p, struct brood *b, slice_body body,
		       unsigned first, unsigned n, unsigned total,
		       unsigned round)
{
	b->started = 0;
	b->kd = calloc(n ? n : 1, sizeof(*b->kd));
	if (!b->kd)
		return fail(p, WL_EXIT_HOST, -ENOMEM);
	for (; b->started < n; b->started++) {
		struct kid *k = &b->kd[b->started];
		int pid;

		k->c = wl_proc_new(
			p->run, wl_mix(p->seed + 1 + round * 977 + b->started));
		if (!k->c)
			return fail(p, WL_EXIT_HOST, -ENOMEM);
		k->c->native = p->native;
		k->body = body;
		k->sl = (struct slice){ first + b->started, total, round };
		pid = vm_fork(p->t, kid_main, k);
		if (pid < 0)
			return fail(p, WL_EXIT_FORK, pid);
		atomic_store(&k->c->pid, pid);
	}
	return 0;
}

/* Wait for every child started and judge it; 0 or -1. */
static int brood_wait(struct wl_proc *p, struct brood *b)
{
	int r = 0;

	for (unsigned i = 0; i < b->started; i++) {
		struct vm_exit ex;

		if (vm_wait(p->run->vm, atomic_load(&b->kd[i].c->pid), &ex) < 0)
			ex = (struct vm_exit){ .reason = VM_EXIT_KILLED };
		if (wl_judge_child(p, b->kd[i].c, &ex) < 0)
			r = -1;
	}
	free(b->kd);
	b->kd = NULL;
	return r;
}

/* ---- filescan ---------------------------------------------------------- */

static int scan(struct wl_proc *p, const struct slice *sl)
{
	struct model m = model_of(p);
	const struct wl_spec *s = &p->run->spec;
	uint64_t ops = s->ops ? s->ops : s->passes * m.npages;

	(void)sl;
	for (uint64_t op = 0; op < ops; op++) {
		uint64_t page = op % m.npages;

		if (op % WL_CHECK_OPS == 0 && wl_checkpoint(p))
			return fail(p, WL_EXIT_STOPPED, 0);
		if (access_page(p, m.va + page * VM_PAGE_SIZE, page, FILE_OWNER,
				FILE_GEN, false) < 0)
			return -1;
	}
	return 0;
}

static int filescan_main(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;
	struct slice all = { 0, 1, 0 };
	struct brood b;
	int r;

	if (map_file(p, VM_PROT_READ) < 0)
		return -1;
	r = brood_start(p, &b, scan, 0, s->fork, s->fork, 0);
	if (r == 0)
		r = scan(p, &all);
	if (brood_wait(p, &b) < 0 || r < 0)
		return -1;
	r = vm_munmap(p->t, p->bases[0], p->npages * VM_PAGE_SIZE);
	return r ? fail(p, WL_EXIT_NOMEM, r) : 0;
}

/* ---- filerw and shm: slices ------------------------------------------- */

/* Check every page of a slice (all: n == 1); 0 or -1. */
static int check_slice(struct wl_proc *p, const struct slice *sl)
{
	struct model m = model_of(p);

	for (uint64_t i = 0; i < m.npages; i++) {
		if (!in_slice(sl, i))
			continue;
		if (i % WL_CHECK_OPS == 0 && wl_checkpoint(p))
			return fail(p, WL_EXIT_STOPPED, 0);
		if (access_page(p, m.va + i * VM_PAGE_SIZE, i, m.owner[i],
				m.gen[i], false) < 0)
			return -1;
	}
	return 0;
}

/* ops random accesses to the slice (default: passes x its size). */
static int work_slice(struct wl_proc *p, const struct slice *sl)
{
	struct model m = model_of(p);
	const struct wl_spec *s = &p->run->spec;
	uint64_t ops = s->ops ? s->ops : s->passes * m.npages / sl->n;
	uint32_t me = (uint32_t)atomic_load(&p->pid);

	if (check_slice(p, sl) < 0)
		return -1;
	for (uint64_t op = 0; op < ops; op++) {
		uint64_t i = wl_rand(p) % m.npages;
		bool write = wl_rand_unit(p) < s->write;

		i = i - (i + sl->round) % sl->n + sl->k; /* into the slice */
		if (i >= m.npages)
			continue;
		if (op % WL_CHECK_OPS == 0 && wl_checkpoint(p))
			return fail(p, WL_EXIT_STOPPED, 0);
		if (write) {
			m.gen[i]++;
			m.owner[i] = me;
		}
		if (access_page(p, m.va + i * VM_PAGE_SIZE, i, m.owner[i],
				m.gen[i], write) < 0)
			return -1;
	}
	return check_slice(p, sl);
}

/* filerw's tasks: the slice's work, then msync (an error is theirs). */
static int rw_slice(struct wl_proc *p, const struct slice *sl)
{
	struct model m = model_of(p);
	int err;

	if (work_slice(p, sl) < 0)
		return -1;
	err = vm_msync(p->t, m.va, m.npages * VM_PAGE_SIZE, VM_MS_SYNC);
	return err ? fail(p, WL_EXIT_NOMEM, err) : 0;
}

static int filerw_main(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;
	struct slice mine = { 0, s->fork + 1, 0 }, all = { 0, 1, 0 };
	struct brood b;
	int r;

	if (map_file(p, VM_PROT_READ | VM_PROT_WRITE) < 0)
		return -1;
	r = brood_start(p, &b, rw_slice, 1, s->fork, s->fork + 1, 0);
	if (r == 0) /* the root is slice 0, working beside its children */
		r = rw_slice(p, &mine);
	if (brood_wait(p, &b) < 0 || r < 0 || check_slice(p, &all) < 0)
		return -1;
	r = vm_munmap(p->t, p->bases[0], p->npages * VM_PAGE_SIZE);
	if (r)
		return fail(p, WL_EXIT_NOMEM, r);
	return check_file(p); /* unmapped: the file itself is the model */
}

static int shm_main(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;
	uint64_t npages = s->size / VM_PAGE_SIZE, va;
	unsigned n = s->fork ? s->fork : 1;
	uint64_t rounds = s->passes ? s->passes : SHM_ROUNDS_0;
	struct slice all = { 0, 1, 0 };
	uint32_t me = (uint32_t)atomic_load(&p->pid);

	va = vm_mmap(p->t, 0, npages * VM_PAGE_SIZE,
		     VM_PROT_READ | VM_PROT_WRITE, VM_MAP_SHARED | VM_MAP_ANON);
	if (vm_mmap_failed(va))
		return fail(p, WL_EXIT_NOMEM, vm_mmap_error(va));
	if (model_init(p, va, npages, 0, 0) < 0 || check_slice(p, &all) < 0)
		return -1; /* zeros first */
	for (uint64_t i = 0; i < npages; i++) {
		p->owner[i] = me;
		p->gen[i] = 1;
		if (access_page(p, va + i * VM_PAGE_SIZE, i, me, 1, true) < 0)
			return -1;
	}
	for (unsigned round = 0; round < rounds; round++) {
		struct brood b;
		int r = brood_start(p, &b, work_slice, 0, n, n, round);

		if (brood_wait(p, &b) < 0 || r < 0 || check_slice(p, &all) < 0)
			return -1;
	}
	return 0;
}

int wl_file_main(struct wl_proc *p)
{
	enum wl_kind kind = p->run->spec.kind;
	int r;

	if (kind == WL_FILESCAN)
		r = filescan_main(p);
	else if (kind == WL_FILERW)
		r = filerw_main(p);
	else
		r = shm_main(p);
	if (r == 0)
		return WL_EXIT_OK;
	return p->res.code ? p->res.code : WL_EXIT_HOST;
}
