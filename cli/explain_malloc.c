/*
 * cli/explain_malloc.c - `vmemu explain malloc`: malloc(1), malloc(1 KiB)
 * and malloc(1 MiB) through the emulated C library (user/umalloc.h) in
 * an emulated process, then free(1 MiB) and the dynamic threshold, and
 * the leak report at exit.
 *
 *   step            what is recorded (each from the machine or the heap)
 *   malloc(n)       brk before/after, mmap calls, block or chunk size,
 *                   tag overhead, usable size, faults and frames (rss)
 *                   of the call, then of touching every payload page
 *   free(1 MiB)     munmap, the mmap/trim thresholds before and after
 *   malloc(1 MiB)   again: now below the threshold, from brk
 *   exit            the leak report (the blocks never freed)
 *
 * The first malloc(1) includes the heap's creation, as glibc's first
 * malloc sets up its arena: that is where its frame comes from.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"
#include "user/umalloc.h"

#define PAGE VM_PAGE_SIZE
#define KIB  1024ULL
#define MIB  (1024ULL * KIB)

struct ml_state {
	struct ex_doc *d;
	struct vm *vm;
	int pid;
	struct umalloc_heap *h;
};

struct ml_snap {
	struct vm_stat vs;
	struct vm_task_info ti;
	struct umalloc_stats us;
	uint64_t brk;
};

static void ml_snap(struct ml_state *s, struct vm_task *t, struct ml_snap *p)
{
	memset(p, 0, sizeof(*p));
	vm_stat(s->vm, &p->vs);
	vm_task_info(s->vm, s->pid, &p->ti);
	if (s->h)
		umalloc_stats(s->h, &p->us);
	p->brk = vm_brk(t, 0);
}

/* What happened between two snapshots: the kernel's side. */
static void ml_cost(struct ex_doc *d, const char *key, const char *label,
		    const struct ml_snap *a, const struct ml_snap *b)
{
	ex_obj(d, key, label);
	ex_uint(d, "pgfault", "page faults", b->vs.pgfault - a->vs.pgfault, 0);
	ex_int(d, "frames", "frames (rss_anon change)",
	       (int64_t)(b->ti.rss_anon - a->ti.rss_anon), 0);
	ex_int(d, "pgtables", "page-table pages (change)",
	       (int64_t)(b->ti.pgtables - a->ti.pgtables), 0);
	ex_end(d);
}

/* Touch (write) every page of [va, va + n): the first-touch cost. */
static int ml_touch(struct vm_task *t, uint64_t va, uint64_t n)
{
	for (uint64_t p = va & ~(PAGE - 1); p < va + n; p += PAGE)
		if (vm_access(t, p, 1))
			return -1;
	return 0;
}

/* What one malloc cost, for the prose after it. */
struct ml_step {
	uint64_t va, granted, usable, brk_growth, threshold;
	bool mmapped;
	int64_t call_frames;
	uint64_t touch_faults;
	int64_t touch_frames;
};

static void ml_facts(struct ml_state *s, const char *key, const char *label,
		     uint64_t n, const struct ml_step *m)
{
	ex_obj(s->d, key, label);
	ex_bytes(s->d, "requested", "requested", n, 0);
	ex_hex(s->d, "va", "returned", m->va, 0);
	ex_bool(s->d, "mmapped", "served by its own mmap", m->mmapped, 0);
	ex_bytes(s->d, "granted", "block or chunk size", m->granted, 0);
	ex_bytes(s->d, "overhead", "tags and rounding", m->granted - n, 0);
	ex_bytes(s->d, "usable", "malloc_usable_size", m->usable, 0);
	ex_bytes(s->d, "brk_growth", "brk moved by", m->brk_growth, 0);
	ex_uint(s->d, "mmap_calls", "mmapped chunks made", m->mmapped, 0);
	ex_bytes(s->d, "threshold", "M_MMAP_THRESHOLD then", m->threshold, 0);
}

static uint64_t ml_malloc(struct ml_state *s, struct vm_task *t,
			  const char *key, const char *label, uint64_t n,
			  struct ml_step *m)
{
	struct ml_snap a, b, c;

	ml_snap(s, t, &a);
	if (!s->h && umalloc_heap_create(t, UMALLOC_SEGREGATED, &s->h))
		return 0;
	m->va = umalloc(s->h, n);
	ml_snap(s, t, &b);
	if (!m->va || ml_touch(t, m->va, n))
		return 0;
	ml_snap(s, t, &c);
	m->mmapped = b.us.nmmap > a.us.nmmap;
	m->granted = b.us.live_granted - a.us.live_granted;
	m->usable = umalloc_usable_size(s->h, m->va);
	m->brk_growth = b.brk - a.brk;
	m->threshold = b.us.mmap_threshold;
	m->call_frames = (int64_t)(b.ti.rss_anon - a.ti.rss_anon);
	m->touch_faults = c.vs.pgfault - b.vs.pgfault;
	m->touch_frames = (int64_t)(c.ti.rss_anon - b.ti.rss_anon);
	ml_facts(s, key, label, n, m);
	ml_cost(s->d, "call", "the call itself", &a, &b);
	ml_cost(s->d, "touch", "then touching every payload page", &b, &c);
	ex_end(s->d);
	return m->va;
}

/* free(1 MiB): munmap, and glibc's threshold rule. */
static void ml_free(struct ml_state *s, struct vm_task *t, uint64_t va)
{
	struct ml_snap a, b;

	ml_snap(s, t, &a);
	ufree(s->h, va);
	ml_snap(s, t, &b);
	ex_obj(s->d, "free_1m", "free(the 1 MiB block)");
	ex_uint(s->d, "munmap_calls", "munmap calls",
		b.us.nmunmap - a.us.nmunmap, 0);
	ex_int(s->d, "frames", "frames (rss_anon change)",
	       (int64_t)(b.ti.rss_anon - a.ti.rss_anon), 0);
	ex_bytes(s->d, "threshold_before", "M_MMAP_THRESHOLD before",
		 a.us.mmap_threshold, 0);
	ex_bytes(s->d, "threshold_after", "M_MMAP_THRESHOLD after",
		 b.us.mmap_threshold, 0);
	ex_bytes(s->d, "trim_after", "M_TRIM_THRESHOLD after",
		 b.us.trim_threshold, 0);
	ex_bool(s->d, "dynamic", "threshold still dynamic",
		b.us.dynamic_threshold, 0);
	ex_end(s->d);
}

static void ml_leaks(struct ml_state *s)
{
	struct vm_leaks lk;

	if (umalloc_report_leaks(s->h, &lk))
		return;
	ex_obj(s->d, "leaks", "at exit: the leak report");
	ex_uint(s->d, "blocks", "blocks never freed", lk.blocks, 0);
	ex_bytes(s->d, "bytes", "bytes requested", lk.nbytes, 0);
	ex_bytes(s->d, "granted", "bytes granted", lk.granted, 0);
	ex_arr(s->d, "largest", "the largest");
	for (unsigned i = 0; i < lk.ntop; i++) {
		ex_obj(s->d, NULL, NULL);
		ex_hex(s->d, "va", "va", lk.top[i].va, 0);
		ex_uint(s->d, "bytes", "bytes", lk.top[i].nbytes, 0);
		ex_uint(s->d, "granted", "granted", lk.top[i].granted, 0);
		ex_bool(s->d, "mmapped", "mmapped", lk.top[i].mmapped, 0);
		ex_end(s->d);
	}
	ex_end(s->d);
	ex_end(s->d);
}

static void ml_minimum(struct ex_doc *d)
{
	ex_obj(d, "chunk", "the allocator's minimum");
	ex_bytes(d, "min_chunk", "minimum block (MINSIZE)", UMALLOC_MIN_BLOCK,
		 0);
	ex_bytes(d, "tags", "tags per block (header + footer)",
		 UMALLOC_OVERHEAD, 0);
	ex_bytes(d, "mmap_header", "header of an mmapped chunk",
		 UMALLOC_MMAP_HDR, 0);
	ex_bytes(d, "page", "page (the kernel's unit)", PAGE, 0);
	ex_end(d);
}

static void ml_why_one(struct ex_doc *d, const struct ml_step *m)
{
	ex_para(d,
		"malloc(1) got a %" PRIu64 "-byte block (%" PRIu64
		" usable): the minimum block holds two 8-byte tags and, "
		"once free, two list links.  The kernel deals in pages: brk "
		"moved by %" PRIu64 " bytes, and the first store into the "
		"heap cost a whole frame; the call's other frame is the "
		"arena page where the library keeps its roots (emulator-only: "
		"glibc keeps main_arena in libc's data).  %" PRId64
		" frames in all for one byte.",
		m->granted, m->usable, m->brk_growth, m->call_frames);
}

static void ml_why_big(struct ex_doc *d, const struct ml_step *k,
		       const struct ml_step *m)
{
	ex_para(d,
		"malloc(1 KiB) took a %" PRIu64 "-byte block from the heap's "
		"free space: brk moved by %" PRIu64 " bytes and its page was "
		"already resident.  1 MiB is >= M_MMAP_THRESHOLD (%" PRIu64
		"), so it got its own mapping of %" PRIu64 " bytes (the "
		"request plus a 32-byte header, in pages); touching it cost "
		"%" PRIu64 " faults and %" PRId64 " frames, one per page.",
		k->granted, k->brk_growth, m->threshold, m->granted,
		m->touch_faults, m->touch_frames);
}

static int ml_task(struct vm_task *t, void *arg)
{
	struct ml_state *s = arg;
	struct ml_step one = { 0 }, kib = { 0 }, mib = { 0 }, again = { 0 };

	s->pid = vm_getpid(t);
	ex_vmas(s->d, s->vm, s->pid, "vmas_before",
		"VMAs before the first malloc");
	if (!ml_malloc(s, t, "malloc_1", "malloc(1), the process's first", 1,
		       &one))
		return 1;
	ml_why_one(s->d, &one);
	if (!ml_malloc(s, t, "malloc_1k", "malloc(1 KiB)", KIB, &kib) ||
	    !ml_malloc(s, t, "malloc_1m", "malloc(1 MiB)", MIB, &mib))
		return 1;
	ml_why_big(s->d, &kib, &mib);
	ex_vmas(s->d, s->vm, s->pid, "vmas_after", "VMAs after the three");
	ml_free(s, t, mib.va);
	if (!ml_malloc(s, t, "malloc_1m_again", "malloc(1 MiB) again", MIB,
		       &again))
		return 2;
	ex_para(s->d,
		"Freeing a chunk larger than the threshold raised it to the "
		"chunk's size, as glibc does, so the same request now came "
		"from brk, which moved by %" PRIu64 " bytes (the shortfall "
		"plus M_TOP_PAD, 128 KiB).",
		again.brk_growth);
	ufree(s->h, again.va); /* malloc(1) and malloc(1 KiB) stay behind */
	ml_minimum(s->d);
	ml_leaks(s);
	return 0;
}

int ex_topic_malloc(struct ex_ctx *c)
{
	struct ml_state s = { .d = &c->doc };
	struct vm_exit ex;
	int rc = CLI_EXIT_OK;

	s.vm = ex_machine(c);
	if (!s.vm)
		return CLI_EXIT_FAIL;
	ex_para(&c->doc,
		"The emulated C library (glibc's rules: requests >= "
		"M_MMAP_THRESHOLD, 128 KiB at first, get their own mmap; "
		"smaller ones come from the brk heap) runs in an emulated "
		"process; the kernel side is the machine's own counters.");
	if (ex_run_task(s.vm, "malloc", ml_task, &s, &ex) ||
	    ex_machine_done(s.vm))
		rc = CLI_EXIT_FAIL;
	else if (ex.reason != VM_EXIT_NORMAL || ex.code)
		rc = cli_fail("explain malloc: the task failed (code %d)",
			      ex.code);
	umalloc_heap_destroy(s.h);
	if (rc)
		return rc;
	ex_query(&c->doc, c->log,
		 "SELECT l.pid, j.value->>'bytes' AS bytes, printf('%#x',"
		 " j.value->>'va') AS va FROM leaks l, json_each(l.largest) j"
		 " WHERE l.run_id = (SELECT max(run_id) FROM runs)");
	return CLI_EXIT_OK;
}
