/*
 * cli/explain_fork.c - `vmemu explain fork`: what fork copies (page
 * tables) and what it shares (frames, copy-on-write), on live tasks.
 *
 *   parent writes pages A and B -> fork: the child gets its own tables;
 *   A's frame is mapped by both (refcount 2, mapcount 2), W cleared and
 *   COW set in both PTEs -> child writes A: a copy (cow_fault) ->
 *   parent writes A: the frame is its own again: reused (cow_reuse) ->
 *   parent writes B: still shared, copied.
 *
 * The child waits on semaphores so each step's walk sees a settled
 * state; the parent's thread records everything.
 */
#include <inttypes.h>
#include <semaphore.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define PAGE VM_PAGE_SIZE
#define RW   (VM_PROT_READ | VM_PROT_WRITE)

struct fork_state {
	struct ex_doc *d;
	struct vm *vm;
	uint64_t a, b; /* the two pages */
	int child;
	sem_t go, done;
	int child_rc;
};

static void fk_page(struct fork_state *s, int pid, uint64_t va, const char *who)
{
	struct vm_walk w;
	char bits[64];

	vm_walk(s->vm, pid, va, &w);
	ex_pte_bits(w.pte, bits, sizeof(bits));
	ex_obj(s->d, NULL, NULL);
	ex_str(s->d, "who", "task", 0, "%s %d", who, pid);
	ex_hex(s->d, "va", "va", va, 0);
	ex_hex(s->d, "pfn", "pfn", w.pfn, 0);
	ex_int(s->d, "refcount", "refcount", w.refcount, 0);
	ex_int(s->d, "mapcount", "mapcount", w.mapcount, 0);
	ex_str(s->d, "bits", "PTE bits", 0, "%s", bits);
	ex_end(s->d);
}

/* Both tasks' view of A (and B): a table. */
static void fk_view(struct fork_state *s, int parent, const char *key,
		    const char *label, bool with_b)
{
	ex_arr(s->d, key, label);
	fk_page(s, parent, s->a, "parent");
	fk_page(s, s->child, s->a, "child");
	if (with_b) {
		fk_page(s, parent, s->b, "parent");
		fk_page(s, s->child, s->b, "child");
	}
	ex_end(s->d);
}

static void fk_counters(struct ex_doc *d, const char *key, const char *label,
			const struct vm_stat *a, const struct vm_stat *b)
{
	ex_obj(d, key, label);
	ex_uint(d, "pgfault", "pgfault", b->pgfault - a->pgfault, 0);
	ex_uint(d, "cow_fault", "COW copies", b->cow_fault - a->cow_fault,
		EX_EMU);
	ex_uint(d, "cow_reuse", "COW reuses", b->cow_reuse - a->cow_reuse,
		EX_EMU);
	ex_uint(d, "pgalloc_normal", "frames allocated (pgalloc_normal)",
		b->pgalloc_normal - a->pgalloc_normal, 0);
	ex_int(d, "nr_page_table_pages", "page-table pages (change)",
	       (int64_t)(b->nr_page_table_pages - a->nr_page_table_pages), 0);
	ex_end(d);
}

static int fk_child(struct vm_task *t, void *arg)
{
	struct fork_state *s = arg;

	sem_wait(&s->go);
	s->child_rc = vm_access(t, s->a, 1); /* the first write: a copy */
	sem_post(&s->done);
	sem_wait(&s->go); /* stay alive (mapping B) until the parent is done */
	return 0;
}

static void fk_fork(struct fork_state *s, struct vm_task *t)
{
	struct vm_task_info pi, ci;
	struct vm_stat a, b;

	vm_stat(s->vm, &a);
	s->child = vm_fork(t, fk_child, s);
	vm_stat(s->vm, &b);
	if (s->child < 0)
		return;
	vm_task_info(s->vm, vm_getpid(t), &pi);
	vm_task_info(s->vm, s->child, &ci);
	ex_obj(s->d, "fork", "fork()");
	ex_uint(s->d, "parent_pgtables", "parent's page-table pages",
		pi.pgtables, 0);
	ex_uint(s->d, "child_pgtables", "child's (copied) page-table pages",
		ci.pgtables, 0);
	ex_uint(s->d, "child_rss", "child's rss_anon (pages)", ci.rss_anon, 0);
	ex_uint(s->d, "pages_copied", "data frames allocated by fork",
		b.nr_anon_pages - a.nr_anon_pages, 0);
	/* The rest of what fork allocated: tables, and slab frames for the
	   kernel's objects (task, mm, VMAs, reverse-map items). */
	ex_uint(s->d, "kernel_frames", "frames for kernel objects (slab)",
		(b.pgalloc_normal - a.pgalloc_normal) -
			(b.nr_page_table_pages - a.nr_page_table_pages),
		0);
	ex_end(s->d);
	fk_counters(s->d, "fork_counters", "counters across fork()", &a, &b);
}

static int fk_parent(struct vm_task *t, void *arg)
{
	struct fork_state *s = arg;
	int pid = vm_getpid(t);
	struct vm_stat a, b;

	s->a = vm_mmap(t, 0, 2 * PAGE, RW, VM_MAP_PRIVATE | VM_MAP_ANON);
	if (vm_mmap_failed(s->a))
		return 1;
	s->b = s->a + PAGE;
	if (vm_access(t, s->a, 1) || vm_access(t, s->b, 1))
		return 2;
	fk_fork(s, t);
	if (s->child < 0)
		return 3;
	fk_view(s, pid, "after_fork", "after fork: one frame, two PTEs", true);
	vm_stat(s->vm, &a);
	sem_post(&s->go);
	sem_wait(&s->done);
	vm_stat(s->vm, &b);
	fk_view(s, pid, "after_child_write", "the child wrote A", false);
	fk_counters(s->d, "child_write", "the child's write to A", &a, &b);
	vm_stat(s->vm, &a);
	if (vm_access(t, s->a, 1))
		return 4;
	vm_stat(s->vm, &b);
	fk_view(s, pid, "after_parent_write", "then the parent wrote A", false);
	fk_counters(s->d, "parent_write", "the parent's write to A", &a, &b);
	vm_stat(s->vm, &a);
	if (vm_access(t, s->b, 1))
		return 5;
	vm_stat(s->vm, &b);
	fk_counters(s->d, "parent_write_b", "the parent's write to B (shared)",
		    &a, &b);
	sem_post(&s->go);
	return vm_wait(s->vm, s->child, NULL) == s->child ? s->child_rc : 6;
}

int ex_topic_fork(struct ex_ctx *c)
{
	struct fork_state s = { .d = &c->doc };
	struct vm_exit ex;
	int rc = CLI_EXIT_OK;

	sem_init(&s.go, 0, 0);
	sem_init(&s.done, 0, 0);
	s.vm = ex_machine(c);
	if (!s.vm)
		return CLI_EXIT_FAIL;
	ex_para(&c->doc,
		"fork() copies the page tables, not the pages: each frame "
		"gets a second PTE (mapcount) and reference (refcount), and "
		"both PTEs lose W, so the first write by either side faults "
		"and copies - or, when the other side has let go, reuses.");
	if (ex_run_task(s.vm, "parent", fk_parent, &s, &ex) ||
	    ex_machine_done(s.vm))
		rc = CLI_EXIT_FAIL;
	else if (ex.reason != VM_EXIT_NORMAL || ex.code)
		rc = cli_fail("explain fork: the task failed (code %d)",
			      ex.code);
	sem_destroy(&s.go);
	sem_destroy(&s.done);
	if (rc)
		return rc;
	ex_query(&c->doc, c->log,
		 "SELECT e.seq, k.name AS kind, e.pid, printf('%#x', e.va) AS"
		 " va, e.pfn, e.arg FROM events e JOIN event_kinds k USING"
		 " (run_id, kind) WHERE e.run_id = (SELECT max(run_id) FROM"
		 " runs) AND k.name IN ('task_fork', 'cow_fault', 'cow_reuse')"
		 " ORDER BY e.seq");
	return CLI_EXIT_OK;
}
