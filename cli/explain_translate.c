/*
 * cli/explain_translate.c - `vmemu explain translate [VA]`: how the MMU
 * turns a virtual address into a physical one, on a live task.
 *
 *   map the page of VA (and its neighbour) -> walk (no tables yet)
 *   -> first write: page fault, TLB miss -> walk: four tables, the PTE
 *   -> second access: a software-TLB hit, no walk -> the neighbour's PTE:
 *   none -> MADV_PAGEOUT: the PTE becomes a swap entry -> access: a major
 *   fault reads it back.
 *
 * Every figure is vm_walk's or vm_stat's; the task records them while
 * the main thread waits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define EX_DEFAULT_VA 0x7f1234567abcULL
#define EX_VA_MIN     (64ULL << 10)  /* vm.mmap_min_addr */
#define EX_VA_MAX     (1ULL << 47)   /* a task's space in trace mode */
#define EX_STACK_TOP  (128ULL << 20) /* mmap_base .. top: stack and gap */
#define PAGE	      VM_PAGE_SIZE
#define RW	      (VM_PROT_READ | VM_PROT_WRITE)

struct tr_state {
	struct ex_doc *d;
	struct vm *vm;
	uint64_t va;
	const char *fail; /* what went wrong, for the main thread */
};

static struct vm_stat tr_stat(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

static void tr_split(struct ex_doc *d, const struct vm_walk *w)
{
	ex_obj(d, "split", "the address, split as x86-64 does");
	ex_pre(d,
	       " 47     39 38     30 29     21 20     12 11          0\n"
	       "+---------+---------+---------+---------+-------------+\n"
	       "|   PGD   |   PUD   |   PMD   |   PTE   |   offset    |\n"
	       "+---------+---------+---------+---------+-------------+\n"
	       "  %5u     %5u     %5u     %5u     %#8x",
	       w->index[0], w->index[1], w->index[2], w->index[3], w->offset);
	ex_hex(d, "va", "virtual address", w->va, 0);
	ex_uint(d, "pgd", "PGD index (bits 47..39)", w->index[0], 0);
	ex_uint(d, "pud", "PUD index (bits 38..30)", w->index[1], 0);
	ex_uint(d, "pmd", "PMD index (bits 29..21)", w->index[2], 0);
	ex_uint(d, "pte", "PTE index (bits 20..12)", w->index[3], 0);
	ex_hex(d, "offset", "offset (bits 11..0)", w->offset, 0);
	ex_end(d);
}

/* The walk after the first write, with the frame it found. */
static void tr_walk(struct ex_doc *d, const struct vm_walk *w)
{
	char bits[64];

	ex_obj(d, "walk", "the walk after the first write");
	ex_walk_table(d, "levels", w);
	ex_pte_bits(w->pte, bits, sizeof(bits));
	ex_str(d, "pte_bits", "PTE bits", 0, "%s", bits);
	ex_hex(d, "pfn", "frame (pfn)", w->pfn, 0);
	ex_hex(d, "phys", "physical address", w->phys, 0);
	ex_int(d, "refcount", "page_ref_count", w->refcount, 0);
	ex_int(d, "mapcount", "page_mapcount", w->mapcount, 0);
	ex_para(d,
		"physical = pfn %#" PRIx64 " x 4096 + offset %#x = %#" PRIx64
		".  Each table is one 4 KiB frame of 512 8-byte entries; the "
		"upper levels hold the next table's pfn, the PTE the data "
		"frame's and its permission and status bits.",
		w->pfn, w->offset, w->phys);
	ex_end(d);
}

/* One access: what it cost, from vm_stat deltas. */
static int tr_access(struct tr_state *s, struct vm_task *t, const char *key,
		     const char *label, int write)
{
	struct vm_stat a = tr_stat(s->vm), b;
	int rc = vm_access(t, s->va, write);

	b = tr_stat(s->vm);
	ex_obj(s->d, key, label);
	ex_str(s->d, "op", "access", 0, "%s", write ? "write" : "read");
	ex_uint(s->d, "pgfault", "page faults (pgfault)", b.pgfault - a.pgfault,
		0);
	ex_uint(s->d, "pgmajfault", "major faults (pgmajfault)",
		b.pgmajfault - a.pgmajfault, 0);
	ex_uint(s->d, "tlb_miss", "software TLB misses",
		b.tlb_miss - a.tlb_miss, EX_EMU);
	ex_uint(s->d, "tlb_hit", "software TLB hits", b.tlb_hit - a.tlb_hit,
		EX_EMU);
	ex_uint(s->d, "pswpin", "pages read from swap (pswpin)",
		b.pswpin - a.pswpin, 0);
	ex_end(s->d);
	return rc;
}

/* The neighbour's PTE (never touched), then VA's after MADV_PAGEOUT. */
static int tr_not_present(struct tr_state *s, struct vm_task *t)
{
	struct vm_walk w;
	int pid = vm_getpid(t);

	ex_obj(s->d, "not_present", "PTEs that are not present");
	vm_walk(s->vm, pid, s->va + PAGE, &w);
	ex_hex(s->d, "neighbour_va", "the next page, never touched", w.va, 0);
	ex_str(s->d, "neighbour_state", "its PTE", 0, "%s",
	       ex_pte_state(w.state));
	ex_hex(s->d, "neighbour_table", "in PTE table (pfn)",
	       w.level[VM_PT_LEVELS - 1].table_pfn, 0);
	if (vm_madvise(t, s->va & ~(PAGE - 1), PAGE, VM_MADV_PAGEOUT) != 0)
		return -1;
	vm_walk(s->vm, pid, s->va, &w);
	ex_str(s->d, "after_pageout", "VA's PTE after MADV_PAGEOUT", 0, "%s",
	       ex_pte_state(w.state));
	ex_hex(s->d, "swap_pte", "the entry", w.pte, 0);
	ex_uint(s->d, "swap_area", "swap area (type)", w.swap_type, 0);
	ex_uint(s->d, "swap_slot", "slot (offset)", w.swap_slot, 0);
	ex_para(s->d,
		"A none PTE (all zero) means never touched: the fault makes "
		"a page.  A swap entry keeps P clear and holds where the page "
		"went: area %u, slot %" PRIu64 ".  A file entry (a page "
		"offset in a file) is the third kind; vmemu has no file "
		"pages yet.",
		w.swap_type, w.swap_slot);
	ex_end(s->d);
	return 0;
}

static int tr_task(struct vm_task *t, void *arg)
{
	struct tr_state *s = arg;
	uint64_t page = s->va & ~(PAGE - 1);
	struct vm_walk w;
	int pid = vm_getpid(t);

	if (vm_mmap_failed(
		    vm_mmap(t, page, 2 * PAGE, RW,
			    VM_MAP_PRIVATE | VM_MAP_ANON | VM_MAP_FIXED))) {
		s->fail = "cannot map a page at that address";
		return 1;
	}
	vm_walk(s->vm, pid, s->va, &w);
	tr_split(s->d, &w);
	ex_obj(s->d, "before", "before the first access");
	ex_uint(s->d, "tables_read", "tables the walk can read", w.nlevels, 0);
	ex_str(s->d, "state", "it ends at", 0, "%s", ex_pte_state(w.state));
	ex_para(s->d, "The page is mapped (a VMA exists) but nothing was "
		      "touched: Linux builds page tables on the first fault.");
	ex_end(s->d);
	if (tr_access(s, t, "first", "the first access", 1) != 0)
		return 2;
	vm_walk(s->vm, pid, s->va, &w);
	tr_walk(s->d, &w);
	if (tr_access(s, t, "second", "the second access (no walk)", 0) != 0)
		return 3;
	if (tr_not_present(s, t) != 0) {
		s->fail = "MADV_PAGEOUT failed";
		return 4;
	}
	return tr_access(s, t, "swapin", "an access to the swapped page", 0) ?
		       5 :
		       0;
}

static int tr_parse_va(struct ex_ctx *c, uint64_t *va)
{
	char *end;

	*va = EX_DEFAULT_VA;
	if (c->argc < 1)
		return 0;
	errno = 0;
	*va = strtoull(c->argv[0], &end, 0);
	if (errno || end == c->argv[0] || *end || c->argv[0][0] == '-')
		return cli_error("explain translate: '%s' is not an address",
				 c->argv[0]);
	if (*va < EX_VA_MIN || *va >= EX_VA_MAX - EX_STACK_TOP)
		return cli_error(
			"explain translate: VA %#" PRIx64
			" is outside [%#llx, %#llx), where a task "
			"can map pages",
			*va, (unsigned long long)EX_VA_MIN,
			(unsigned long long)(EX_VA_MAX - EX_STACK_TOP));
	return 0;
}

int ex_topic_translate(struct ex_ctx *c)
{
	struct tr_state s = { .d = &c->doc };
	struct vm_exit ex;
	int rc = tr_parse_va(c, &s.va);

	if (rc)
		return rc;
	s.vm = ex_machine(c);
	if (!s.vm)
		return CLI_EXIT_FAIL;
	if (ex_run_task(s.vm, "translate", tr_task, &s, &ex) ||
	    ex_machine_done(s.vm))
		return CLI_EXIT_FAIL;
	if (ex.reason != VM_EXIT_NORMAL || ex.code)
		return cli_fail("explain translate: the task failed (%s)",
				s.fail ? s.fail : "reason or code not 0");
	ex_query(&c->doc, c->log,
		 "SELECT e.seq, k.name AS kind, printf('%#x', e.va) AS va,"
		 " e.pfn, e.slot, e.arg FROM events e JOIN event_kinds k"
		 " USING (run_id, kind) WHERE e.run_id = (SELECT max(run_id)"
		 " FROM runs) ORDER BY e.seq");
	return CLI_EXIT_OK;
}
