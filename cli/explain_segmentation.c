/*
 * cli/explain_segmentation.c - `vmemu explain segmentation`: the segment
 * table in front of paging (docs/segmentation.md), on live tasks.
 *
 *   task 1: the default table (from the layout); the worked example,
 *           segment 3 = base 7000, limit 1000: offset 500 -> 7500; the
 *           access then meets the page walk, which finds no VMA there
 *   task 2: heap:500 -> start_brk + 500, a page fault, a frame
 *   task 3: segment 3, offset 1222 >= limit 1000: a limit fault
 *   task 4: a write through the read-only code segment: a permission
 *           fault
 * Each fault ends its task; how (vm_exit) is read after vm_wait.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define EX_SEG	     3
#define EX_BASE	     7000
#define EX_LIMIT     1000
#define EX_OFF	     500
#define EX_OFF_BAD   1222 /* the textbook's byte 1222 of a 1000-byte one */
#define EX_HEAP_OFF  500
#define PAGE	     VM_PAGE_SIZE
#define SEG_EX_TASKS 4

static const char *const seg_names[VM_SEG_MAX] = { "code", "data", "heap",
						   "stack" };

struct seg_state {
	struct ex_doc *d;
	struct vm *vm;
	int which; /* the scenario the task runs */
	uint64_t linear;
};

static void seg_table(struct ex_doc *d, struct vm_task *t)
{
	struct vm_seg s;

	ex_arr(d, "defaults", "the task's segment table (defaults)");
	for (unsigned i = 0; i < VM_SEG_MAX; i++) {
		vm_seg_get(t, i, &s);
		ex_obj(d, NULL, NULL);
		ex_uint(d, "seg", "seg", i, 0);
		ex_str(d, "name", "name", 0, "%s",
		       seg_names[i] ? seg_names[i] : "unused");
		ex_hex(d, "base", "base", s.base, 0);
		ex_hex(d, "limit", "limit", s.limit, 0);
		ex_str(d, "prot", "prot", 0, "%c%c",
		       (s.prot & VM_PROT_READ) ? 'r' : '-',
		       (s.prot & VM_PROT_WRITE) ? 'w' : '-');
		ex_end(d);
	}
	ex_end(d);
}

/* Task 1: the worked example; the access then dies in the page walk. */
static int seg_example(struct vm_task *t, struct seg_state *s)
{
	struct vm_seg ex = { EX_BASE, EX_LIMIT, VM_PROT_READ | VM_PROT_WRITE };

	seg_table(s->d, t);
	if (vm_seg_set(t, EX_SEG, &ex) ||
	    vm_seg_translate(t, EX_SEG, EX_OFF, 0, &s->linear))
		return 1;
	ex_obj(s->d, "example", "the worked example");
	ex_uint(s->d, "seg", "segment", EX_SEG, 0);
	ex_uint(s->d, "base", "base", EX_BASE, 0);
	ex_uint(s->d, "limit", "limit", EX_LIMIT, 0);
	ex_uint(s->d, "offset", "offset", EX_OFF, 0);
	ex_bool(s->d, "offset_ok", "offset < limit", EX_OFF < EX_LIMIT, 0);
	ex_uint(s->d, "linear", "linear address = base + offset", s->linear, 0);
	ex_end(s->d);
	return vm_seg_access(t, EX_SEG, EX_OFF, 0); /* does not return */
}

/* Task 2: an access through the heap segment that paging maps. */
static int seg_heap(struct vm_task *t, struct seg_state *s)
{
	struct vm_stat a, b;
	struct vm_walk w;
	uint64_t brk0 = vm_brk(t, 0);

	if (vm_brk(t, brk0 + PAGE) != brk0 + PAGE)
		return 1;
	vm_stat(s->vm, &a);
	if (vm_seg_access(t, VM_SEG_HEAP, EX_HEAP_OFF, 1) ||
	    vm_seg_translate(t, VM_SEG_HEAP, EX_HEAP_OFF, 1, &s->linear))
		return 2;
	vm_stat(s->vm, &b);
	vm_walk(s->vm, vm_getpid(t), s->linear, &w);
	ex_obj(s->d, "heap_access", "a write to heap:500");
	ex_hex(s->d, "start_brk", "heap segment base (start_brk)", brk0, 0);
	ex_hex(s->d, "linear", "linear address", s->linear, 0);
	ex_uint(s->d, "pgfault", "page faults", b.pgfault - a.pgfault, 0);
	ex_str(s->d, "pte", "its PTE", 0, "%s", ex_pte_state(w.state));
	ex_hex(s->d, "pfn", "frame (pfn)", w.pfn, 0);
	ex_hex(s->d, "phys", "physical address", w.phys, 0);
	ex_end(s->d);
	return 0;
}

static int seg_task(struct vm_task *t, void *arg)
{
	struct seg_state *s = arg;
	struct vm_seg ex = { EX_BASE, EX_LIMIT, VM_PROT_READ | VM_PROT_WRITE };

	switch (s->which) {
	case 0:
		return seg_example(t, s);
	case 1:
		return seg_heap(t, s);
	case 2:
		vm_seg_set(t, EX_SEG, &ex);
		return vm_seg_access(t, EX_SEG, EX_OFF_BAD, 0);
	default:
		return vm_seg_access(t, VM_SEG_CODE, 0, 1);
	}
}

static const char *seg_cause(enum vm_segv_cause c)
{
	switch (c) {
	case VM_SEGV_PAGE:
		return "page";
	case VM_SEGV_SEG_LIMIT:
		return "limit";
	case VM_SEGV_SEG_PERM:
		return "permission";
	}
	return "?";
}

/* How a task ended, as facts. */
static void seg_exit(struct ex_doc *d, const char *key, const char *label,
		     const struct vm_exit *ex)
{
	ex_obj(d, key, label);
	ex_str(d, "reason", "the task ended by", 0, "%s",
	       ex->reason == VM_EXIT_SEGV   ? "SIGSEGV" :
	       ex->reason == VM_EXIT_NORMAL ? "exit" :
					      "other");
	if (ex->reason == VM_EXIT_SEGV) {
		ex_str(d, "cause", "cause", EX_EMU, "%s",
		       seg_cause(ex->segv_cause));
		ex_int(d, "segv_cause", "segv_cause", ex->segv_cause, EX_EMU);
		ex_int(d, "segment", "segment (-1: none)", ex->segv_seg, 0);
		ex_hex(d, "fault", "fault address or offset", ex->fault_va, 0);
		if (ex->msg[0])
			ex_str(d, "msg", "what the MMU said", 0, "%s", ex->msg);
	}
	ex_end(d);
}

static const struct {
	const char *key, *label, *name;
} seg_runs[SEG_EX_TASKS] = {
	{ "example_exit", "then the access: the page walk of 7500", "seg-ex" },
	{ "heap_exit", "the heap task", "seg-heap" },
	{ "limit_fault", "segment 3, offset 1222 (limit 1000)", "seg-limit" },
	{ "perm_fault", "a write through the code segment (r-)", "seg-perm" },
};

int ex_topic_segmentation(struct ex_ctx *c)
{
	struct seg_state s = { .d = &c->doc };
	struct vm_exit ex[SEG_EX_TASKS];

	s.vm = ex_machine(c);
	if (!s.vm)
		return CLI_EXIT_FAIL;
	ex_para(&c->doc,
		"An x86-style segment table sits in front of paging: an "
		"access names (segment, offset); the MMU checks offset < "
		"limit and the segment's permissions, adds the base, and "
		"hands the linear address to the page walk.");
	for (int i = 0; i < SEG_EX_TASKS; i++) {
		s.which = i;
		if (ex_run_task(s.vm, seg_runs[i].name, seg_task, &s, &ex[i])) {
			ex_machine_done(s.vm);
			return CLI_EXIT_FAIL;
		}
		ex_reset(&c->doc);
		seg_exit(&c->doc, seg_runs[i].key, seg_runs[i].label, &ex[i]);
	}
	if (ex_machine_done(s.vm))
		return CLI_EXIT_FAIL;
	ex_para(&c->doc,
		"%" PRIu64 " lies below vm.mmap_min_addr (64 KiB), where no "
		"VMA can be: segmentation let the access through, paging "
		"refused it (cause: %s).  Linux "
		"on x86-64 runs flat segments (base 0, no limit) and leaves "
		"protection to paging; the limit and permission faults above "
		"are what 32-bit x86 raises as #GP.",
		ex[0].fault_va, seg_cause(ex[0].segv_cause));
	ex_query(&c->doc, c->log,
		 "SELECT pid, name, exit_reason, printf('%#x', fault_va) AS"
		 " fault, exit_msg FROM tasks WHERE run_id = (SELECT"
		 " max(run_id) FROM runs)");
	return CLI_EXIT_OK;
}
