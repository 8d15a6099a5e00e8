/*
 * cli/explain_fragmentation.c - `vmemu explain fragmentation`: memory
 * lost inside allocations (internal) and free memory that cannot be used
 * (external), then compaction fixing the latter.
 *
 *   internal: the buddy model (vmemu alloc's) grants 10 KiB a 16 KiB
 *   block; each slab cache of the machine leaves a tail no object fits in
 *   (/proc/slabinfo, slab_waste)
 *   external: one task writes two regions page by page, alternating, so
 *   their frames interleave, until free memory is down to min; it unmaps
 *   one region: half the frames free, each alone -> /proc/buddyinfo,
 *   extfrag/unusable_index: no free block of order 4 -> vm_compact
 *   (echo 1 > /proc/sys/vm/compact_memory): pages move, free frames merge
 *
 * The closing query lists the task's first faults: the two regions'
 * pages in alternate frames.
 *
 * The machine: trace mode, 16 MiB, no swap, kswapd off, and
 * vm.min_free_kbytes = 32 (min = 8 pages), so that what stays free at the
 * end of the fill is too small to hold an order-4 block.
 *
 * Threads: the task records into struct fr_state while the main thread
 * waits; the doc is built by the main thread afterwards.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain.h"
#include "user/allocstudy.h"

#define PAGE	       VM_PAGE_SIZE
#define RW	       (VM_PROT_READ | VM_PROT_WRITE)
#define FR_MEM	       (16ULL << 20)
#define FR_MIN_FREE_KB 32
#define FR_SLACK       4 /* stop the fill this far above min */
#define FR_ORDERS      11
#define FR_ORDER       4 /* the request the topic asks about */
#define FR_TEXT	       4096
#define FR_CACHES      16
#define FR_ARENA       (1ULL << 20)

struct fr_frag {
	uint64_t blocks[FR_ORDERS]; /* /proc/buddyinfo */
	char unusable[FR_ORDERS][8], extfrag[FR_ORDERS][8]; /* "0.649" */
	struct vm_stat st;
};

struct fr_cache {
	char name[32];
	uint64_t objsize, objperslab, pagesperslab, active_slabs, num_slabs;
	uint64_t tail_bytes; /* slab_waste */
};

struct fr_state {
	struct vm *vm;
	uint64_t min, pages_each, moved;
	struct fr_frag before, after;
	struct fr_cache cache[FR_CACHES];
	unsigned ncache;
	const char *fail;
};

/* ---- /proc ------------------------------------------------------------------ */

/* "Node 0, zone   Normal " then one field per order. */
static const char *fr_fields(const char *text)
{
	const char *p = strstr(text, "Normal");

	return p ? p + strlen("Normal") : text + strlen(text);
}

static void fr_read(struct vm *vm, struct fr_frag *f)
{
	char buf[FR_TEXT];
	const char *p;
	int n;

	vm_stat(vm, &f->st);
	vm_procfs(vm, "buddyinfo", buf, sizeof(buf));
	p = fr_fields(buf);
	for (int o = 0; o < FR_ORDERS; o++) {
		char *end;

		f->blocks[o] = strtoull(p, &end, 10);
		p = end;
	}
	vm_procfs(vm, "extfrag/unusable_index", buf, sizeof(buf));
	p = fr_fields(buf);
	for (int o = 0;
	     o < FR_ORDERS && sscanf(p, " %7s%n", f->unusable[o], &n) == 1; o++)
		p += n;
	vm_procfs(vm, "extfrag/extfrag_index", buf, sizeof(buf));
	p = fr_fields(buf);
	for (int o = 0;
	     o < FR_ORDERS && sscanf(p, " %7s%n", f->extfrag[o], &n) == 1; o++)
		p += n;
}

/* /proc/slabinfo's caches, with slab_waste's tail bytes. */
static void fr_slabs(struct fr_state *s)
{
	char buf[FR_TEXT * 2], *line, *save = NULL;

	vm_procfs(s->vm, "slabinfo", buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line && s->ncache < FR_CACHES;
	     line = strtok_r(NULL, "\n", &save)) {
		struct fr_cache *c = &s->cache[s->ncache];
		unsigned long long act, num, sz, per, pages, as, ns;

		if (sscanf(line,
			   "%31s %llu %llu %llu %llu %llu : tunables %*u %*u "
			   "%*u : slabdata %llu %llu",
			   c->name, &act, &num, &sz, &per, &pages, &as,
			   &ns) != 8)
			continue;
		*c = (struct fr_cache){ .objsize = sz,
					.objperslab = per,
					.pagesperslab = pages,
					.active_slabs = as,
					.num_slabs = ns };
		sscanf(line, "%31s", c->name);
		s->ncache++;
	}
	vm_procfs(s->vm, "slab_waste", buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		unsigned long long tail;

		if (sscanf(line, "%31s %*u %*u %*u %*f %*u %llu", name,
			   &tail) != 2)
			continue;
		for (unsigned i = 0; i < s->ncache; i++)
			if (!strcmp(s->cache[i].name, name))
				s->cache[i].tail_bytes = tail;
	}
}

/* ---- the task ------------------------------------------------------------ */

/*
 * Write region a's page i, then b's, for i = 0, 1, ... until free memory
 * is FR_SLACK pages above min: their frames interleave.  Then b goes.
 */
static int fr_task(struct vm_task *t, void *arg)
{
	struct fr_state *s = arg;
	uint64_t n = FR_MEM / PAGE, i;
	uint64_t a = vm_mmap(t, 0, n * PAGE, RW, VM_MAP_PRIVATE | VM_MAP_ANON);
	uint64_t b = vm_mmap(t, 0, n * PAGE, RW, VM_MAP_PRIVATE | VM_MAP_ANON);
	struct vm_stat st;

	if (vm_mmap_failed(a) || vm_mmap_failed(b))
		return s->fail = "mmap failed", 1;
	for (i = 0; i < n; i++) {
		vm_stat(s->vm, &st);
		if (st.nr_free_pages <= s->min + FR_SLACK)
			break;
		if (vm_access(t, a + i * PAGE, 1) ||
		    vm_access(t, b + i * PAGE, 1))
			return s->fail = "an access failed", 2;
	}
	s->pages_each = i;
	if (vm_munmap(t, b, n * PAGE))
		return s->fail = "munmap failed", 3;
	fr_read(s->vm, &s->before);
	fr_slabs(s);
	s->moved = (uint64_t)vm_compact(s->vm);
	fr_read(s->vm, &s->after);
	return 0;
}

/* ---- internal fragmentation ------------------------------------------------ */

/* The buddy model (vmemu alloc --policy buddy): what each size is granted. */
static int fr_buddy(struct ex_doc *d)
{
	static const uint64_t sizes[] = { 4096, 10240, 17408, 102400 };
	struct astudy_model *m;

	if (astudy_model_create(ASTUDY_BUDDY, FR_ARENA, &m))
		return -1;
	ex_arr(d, "buddy",
	       "the buddy allocator: a request takes 2^order pages");
	for (size_t i = 0; i < ARRAY_SIZE_CLI(sizes); i++) {
		uint64_t addr, g = 0;

		if (astudy_model_alloc(m, sizes[i], &addr) == 0)
			g = astudy_model_granted(m, addr);
		ex_obj(d, NULL, NULL);
		ex_uint(d, "requested", "requested (bytes)", sizes[i], 0);
		ex_uint(d, "granted", "granted (bytes)", g, 0);
		ex_uint(d, "wasted", "wasted", g - sizes[i], 0);
		ex_str(d, "internal", "internal fragmentation", 0, "%.1f %%",
		       g ? 100.0 * (double)(g - sizes[i]) / (double)g : 0.0);
		ex_end(d);
	}
	ex_end(d);
	astudy_model_destroy(m);
	ex_para(d,
		"(The allocator study's buddy model, user/astudy_pages.c, as "
		"`vmemu alloc --policy buddy` runs it: the kernel's buddy hands "
		"out the same 2^order blocks, but only whole orders are asked "
		"of it.)");
	return 0;
}

static void fr_slab_doc(struct ex_doc *d, const struct fr_state *s)
{
	ex_arr(d, "slabs",
	       "slab caches (/proc/slabinfo): the tail no object fits in");
	for (unsigned i = 0; i < s->ncache; i++) {
		const struct fr_cache *c = &s->cache[i];
		uint64_t bytes = c->pagesperslab * PAGE;

		ex_obj(d, NULL, NULL);
		ex_str(d, "name", "name", 0, "%s", c->name);
		ex_uint(d, "objsize", "objsize", c->objsize, 0);
		ex_uint(d, "pagesperslab", "pages", c->pagesperslab, 0);
		ex_uint(d, "objperslab", "objperslab", c->objperslab, 0);
		ex_uint(d, "leftover", "left/slab",
			bytes - c->objperslab * c->objsize, 0);
		ex_uint(d, "num_slabs", "slabs", c->num_slabs, 0);
		ex_uint(d, "tail_bytes", "tail bytes", c->tail_bytes, EX_EMU);
		ex_end(d);
	}
	ex_end(d);
	ex_para(d, "objperslab = floor(pages x 4096 / objsize): the bytes left "
		   "over in each slab are pages x 4096 - objperslab x objsize, "
		   "whatever the load.  \"tail bytes\" is vmemu's slab_waste: "
		   "the leftover of all of a cache's slabs.");
}

/* ---- external fragmentation -------------------------------------------------- */

static void fr_orders(struct ex_doc *d, const struct fr_state *s)
{
	ex_arr(d, "orders", "free blocks by order (buddyinfo) and the indices");
	for (int o = 0; o < FR_ORDERS; o++) {
		ex_obj(d, NULL, NULL);
		ex_uint(d, "order", "order", (uint64_t)o, 0);
		ex_uint(d, "kib", "KiB", (PAGE << o) >> 10, 0);
		ex_uint(d, "blocks_before", "blocks", s->before.blocks[o], 0);
		ex_str(d, "unusable_before", "unusable", 0, "%s",
		       s->before.unusable[o]);
		ex_str(d, "extfrag_before", "extfrag", 0, "%s",
		       s->before.extfrag[o]);
		ex_uint(d, "blocks_after", "| after: blocks",
			s->after.blocks[o], 0);
		ex_str(d, "unusable_after", "unusable", 0, "%s",
		       s->after.unusable[o]);
		ex_end(d);
	}
	ex_end(d);
}

/* Free pages in blocks of order >= o, and the largest order free. */
static uint64_t fr_usable(const struct fr_frag *f, int o, int *largest)
{
	uint64_t pages = 0;

	*largest = -1;
	for (int i = 0; i < FR_ORDERS; i++) {
		if (f->blocks[i])
			*largest = i;
		if (i >= o)
			pages += f->blocks[i] << i;
	}
	return pages;
}

static void fr_state_doc(struct ex_doc *d, const char *key, const char *label,
			 const struct fr_frag *f)
{
	int largest;
	uint64_t usable = fr_usable(f, FR_ORDER, &largest);

	ex_obj(d, key, label);
	ex_uint(d, "free_pages", "free pages (nr_free_pages)",
		f->st.nr_free_pages, 0);
	ex_uint(d, "order4_usable_pages", "of them in blocks of order >= 4",
		usable, 0);
	ex_int(d, "largest_order", "the largest free block's order", largest,
	       0);
	ex_str(d, "unusable_index_4", "unusable_index at order 4", 0, "%s",
	       f->unusable[FR_ORDER]);
	ex_bool(d, "order4_block", "a free block of order >= 4", usable > 0, 0);
	ex_end(d);
}

static void fr_compaction_doc(struct ex_doc *d, const struct fr_state *s)
{
	const struct vm_stat *a = &s->before.st, *b = &s->after.st;

	ex_obj(d, "compaction",
	       "vm_compact (echo 1 > /proc/sys/vm/compact_memory)");
	ex_uint(d, "pages_moved", "pages moved", s->moved, 0);
	ex_uint(d, "pgmigrate_success", "pgmigrate_success",
		b->pgmigrate_success - a->pgmigrate_success, 0);
	ex_uint(d, "pgmigrate_fail", "pgmigrate_fail",
		b->pgmigrate_fail - a->pgmigrate_fail, 0);
	ex_uint(d, "compact_migrate_scanned", "compact_migrate_scanned",
		b->compact_migrate_scanned - a->compact_migrate_scanned, 0);
	ex_uint(d, "compact_free_scanned", "compact_free_scanned",
		b->compact_free_scanned - a->compact_free_scanned, 0);
	ex_uint(d, "compact_isolated", "compact_isolated",
		b->compact_isolated - a->compact_isolated, 0);
	ex_para(d,
		"The migrate scanner walks up from the bottom taking movable "
		"pages (anonymous pages on the LRU), the free scanner walks "
		"down from the top taking free frames; each page is copied to "
		"its new frame and every PTE mapping it rewritten.  The frames "
		"left behind merge with their free buddies.  Page tables and "
		"slab frames do not move (docs/compaction.md).");
	ex_end(d);
}

static void fr_doc(struct ex_doc *d, const struct fr_state *s)
{
	ex_para(d,
		"Internal fragmentation is memory granted but not asked for; "
		"external fragmentation is free memory in pieces too small "
		"for a request.");
	ex_obj(d, "internal", "internal fragmentation");
	fr_buddy(d);
	fr_slab_doc(d, s);
	ex_end(d);
	ex_obj(d, "external", "external fragmentation");
	ex_para(d,
		"A task wrote two regions a page at a time, alternating, "
		"%" PRIu64 " pages each, until free memory was down to min "
		"(%" PRIu64 " pages, vm.min_free_kbytes = %d): their frames "
		"interleave.  Then it unmapped the second region: every other "
		"frame is free, and alone.",
		s->pages_each, s->min, FR_MIN_FREE_KB);
	ex_uint(d, "pages_each", "pages per region", s->pages_each, 0);
	ex_uint(d, "min", "min watermark (pages)", s->min, 0);
	fr_state_doc(d, "before", "after the unmap", &s->before);
	ex_para(d,
		"unusable_index(o) = (free pages - pages in free blocks of "
		"order >= o) / free pages: the share of free memory a request "
		"of 2^o pages cannot use.  extfrag_index near 1 says a failing "
		"request fails for fragmentation, not for lack of memory: "
		"compaction, not reclaim, helps.");
	ex_end(d);
	fr_compaction_doc(d, s);
	fr_state_doc(d, "after", "after compaction", &s->after);
	fr_orders(d, s);
}

static uint64_t fr_min_pages(struct vm *vm)
{
	char buf[FR_TEXT];
	const char *p;

	vm_procfs(vm, "zoneinfo", buf, sizeof(buf));
	p = strstr(buf, "\n        min ");
	return p ? strtoull(p + strlen("\n        min "), NULL, 10) : 0;
}

int ex_topic_fragmentation(struct ex_ctx *c)
{
	struct fr_state *s;
	struct vm_config cfg;
	struct vm_exit ex;
	int rc = CLI_EXIT_OK;

	if (c->argc)
		return cli_error("explain fragmentation: too many arguments "
				 "(none taken)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return cli_fail("explain fragmentation: out of memory");
	ex_config(c, &cfg);
	cfg.mem_bytes = FR_MEM;
	cfg.swap_bytes = 0;
	cfg.min_free_kbytes = FR_MIN_FREE_KB;
	s->vm = ex_machine_cfg(&cfg);
	if (!s->vm) {
		free(s);
		return CLI_EXIT_FAIL;
	}
	s->min = fr_min_pages(s->vm);
	if (ex_run_task(s->vm, "fragmenter", fr_task, s, &ex) ||
	    ex_machine_done(s->vm))
		rc = CLI_EXIT_FAIL;
	else if (ex.reason != VM_EXIT_NORMAL || ex.code)
		rc = cli_fail("explain fragmentation: %s",
			      s->fail ? s->fail : "the task failed");
	if (rc == CLI_EXIT_OK) {
		fr_doc(&c->doc, s);
		ex_query(&c->doc, c->log,
			 "SELECT e.seq, printf('%#x', e.va) AS va, e.pfn FROM"
			 " events e JOIN event_kinds k USING (run_id, kind)"
			 " WHERE e.run_id = (SELECT max(run_id) FROM runs) AND"
			 " k.name = 'anon_fault' ORDER BY e.seq LIMIT 20");
	}
	free(s);
	return rc;
}
