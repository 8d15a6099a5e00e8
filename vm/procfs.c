/*
 * vm/procfs.c - the machine's /proc files, in Linux's formats: vmstat
 * (vm/vmstat.c), meminfo, zoneinfo, buddyinfo, slabinfo, swaps,
 * pressure/memory, and per task PID/status, PID/oom_score,
 * PID/oom_score_adj; Linux's debugfs files extfrag/unusable_index and
 * extfrag/extfrag_index (vm/buddy_frag.c); and vmemu's slab_waste
 * (vm/slab.c).  vm_procfs (vm.h) picks one by name.
 *
 * The machine is one node with one zone, "Normal", as Linux shows a small
 * machine without a DMA zone.  Snapshots are taken under the machine lock
 * and formatted after it.  Not reachable from the trap.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reclaim/oom.h"
#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/page_alloc.h"
#include "vm/vmstat.h"

#define KB_SHIFT (PAGE_SHIFT - 10)

/* snprintf into buf at *used, keeping the length it would need. */
static void put(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*used < len ? buf + *used : NULL,
		      *used < len ? len - *used : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

/* One meminfo line: "%-16s%8lu kB" (label with its colon). */
static void kb_line(char *buf, size_t len, size_t *used, const char *label,
		    uint64_t pages)
{
	char l[32];

	snprintf(l, sizeof(l), "%s:", label);
	put(buf, len, used, "%-16s%8llu kB\n", l,
	    (unsigned long long)(pages << KB_SHIFT));
}

struct mem_snap {
	struct vm_stat st;
	uint64_t total, high, low, swap_total, swap_free;
};

static void snap(struct vm *vm, struct mem_snap *m)
{
	vm_stat(vm, &m->st);
	vm_lock(vm);
	m->total = vm->phys.nr_pages;
	m->high = vm->wmark.high;
	m->low = vm->wmark.low;
	m->swap_total = swap_total_pages(vm);
	m->swap_free = swap_free_pages(vm);
	vm_unlock(vm);
}

/*
 * Linux's si_mem_available: free - reserve, plus the page cache that could
 * go (file pages, less half of them or the low watermark, whichever is
 * smaller: Linux's pagecache - min(pagecache / 2, wmark_low)).
 */
static uint64_t mem_available(const struct mem_snap *m)
{
	uint64_t avail = m->st.nr_free_pages > m->high ?
				 m->st.nr_free_pages - m->high :
				 0;
	uint64_t cache = m->st.nr_active_file + m->st.nr_inactive_file;

	return avail + cache - MIN(cache / 2, m->low);
}

static int meminfo_text(struct vm *vm, char *buf, size_t len)
{
	struct mem_snap m;
	size_t used = 0;
	const struct vm_stat *st = &m.st;

	snap(vm, &m);
	kb_line(buf, len, &used, "MemTotal", m.total);
	kb_line(buf, len, &used, "MemFree", st->nr_free_pages);
	kb_line(buf, len, &used, "MemAvailable", mem_available(&m));
	kb_line(buf, len, &used, "Cached", st->nr_file_pages);
	kb_line(buf, len, &used, "SwapCached", st->nr_swapcached);
	kb_line(buf, len, &used, "Active",
		st->nr_active_anon + st->nr_active_file);
	kb_line(buf, len, &used, "Inactive",
		st->nr_inactive_anon + st->nr_inactive_file);
	kb_line(buf, len, &used, "Active(anon)", st->nr_active_anon);
	kb_line(buf, len, &used, "Inactive(anon)", st->nr_inactive_anon);
	kb_line(buf, len, &used, "Active(file)", st->nr_active_file);
	kb_line(buf, len, &used, "Inactive(file)", st->nr_inactive_file);
	kb_line(buf, len, &used, "SwapTotal", m.swap_total);
	kb_line(buf, len, &used, "SwapFree", m.swap_free);
	kb_line(buf, len, &used, "Dirty", st->nr_dirty);
	kb_line(buf, len, &used, "Writeback", st->nr_writeback);
	kb_line(buf, len, &used, "AnonPages", st->nr_anon_pages);
	kb_line(buf, len, &used, "Mapped", st->nr_mapped);
	kb_line(buf, len, &used, "Shmem", st->nr_shmem);
	kb_line(buf, len, &used, "PageTables", st->nr_page_table_pages);
	return (int)used;
}

static int zoneinfo_text(struct vm *vm, char *buf, size_t len)
{
	struct mem_snap m;
	size_t used = 0;
	const struct vm_stat *st = &m.st;
	uint64_t min, low;

	snap(vm, &m);
	vm_lock(vm);
	min = vm->wmark.min;
	low = vm->wmark.low;
	vm_unlock(vm);
	put(buf, len, &used, "Node 0, zone %8s", "Normal");
	put(buf, len, &used,
	    "\n  pages free     %llu\n        boost    0"
	    "\n        min      %llu\n        low      %llu"
	    "\n        high     %llu\n        spanned  %llu"
	    "\n        present  %llu\n        managed  %llu"
	    "\n        cma      0\n        protection: (0, 0, 0, 0)",
	    (unsigned long long)st->nr_free_pages, (unsigned long long)min,
	    (unsigned long long)low, (unsigned long long)m.high,
	    (unsigned long long)m.total, (unsigned long long)m.total,
	    (unsigned long long)m.total);
	put(buf, len, &used, "\n      %-12s %llu", "nr_free_pages",
	    (unsigned long long)st->nr_free_pages);
	put(buf, len, &used, "\n      %-12s %llu", "nr_zone_inactive_anon",
	    (unsigned long long)st->nr_inactive_anon);
	put(buf, len, &used, "\n      %-12s %llu", "nr_zone_active_anon",
	    (unsigned long long)st->nr_active_anon);
	put(buf, len, &used, "\n      %-12s %llu", "nr_zone_inactive_file",
	    (unsigned long long)st->nr_inactive_file);
	put(buf, len, &used, "\n      %-12s %llu", "nr_zone_active_file",
	    (unsigned long long)st->nr_active_file);
	put(buf, len, &used, "\n");
	return (int)used;
}

/* "Name:\t%s" ... "VmPTE:\t%8lu kB", as /proc/PID/status shows them. */
static void status_kb(char *buf, size_t len, size_t *used, const char *label,
		      uint64_t pages)
{
	put(buf, len, used, "%s:\t%8llu kB\n", label,
	    (unsigned long long)(pages << KB_SHIFT));
}

static int pid_text(struct vm *vm, int pid, const char *file, char *buf,
		    size_t len)
{
	struct vm_task_info ti;
	int64_t points;
	size_t used = 0;

	if (vm_task_info(vm, pid, &ti) < 0 || ti.exited)
		return -ENOENT;
	if (strcmp(file, "oom_score_adj") == 0) {
		put(buf, len, &used, "%d\n", ti.oom_score_adj);
	} else if (strcmp(file, "oom_score") == 0) {
		vm_lock(vm);
		points = oom_task_badness(vm, pid);
		put(buf, len, &used, "%ld\n",
		    oom_score(points, oom_totalpages(vm)));
		vm_unlock(vm);
	} else if (strcmp(file, "status") == 0) {
		put(buf, len, &used, "Name:\t%s\nPid:\t%d\nPPid:\t%d\n",
		    ti.name, ti.pid, ti.ppid);
		status_kb(buf, len, &used, "VmHWM", ti.ru.maxrss);
		status_kb(buf, len, &used, "VmRSS",
			  ti.rss_anon + ti.rss_file + ti.rss_shmem);
		status_kb(buf, len, &used, "RssAnon", ti.rss_anon);
		status_kb(buf, len, &used, "RssFile", ti.rss_file);
		status_kb(buf, len, &used, "RssShmem", ti.rss_shmem);
		status_kb(buf, len, &used, "VmPTE", ti.pgtables);
		status_kb(buf, len, &used, "VmSwap", ti.swapents);
	} else {
		return -ENOENT;
	}
	return (int)used;
}

int vm_procfs(struct vm *vm, const char *name, char *buf, size_t len)
{
	int n;

	if (!vm_valid(vm) || !name || (!buf && len))
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	if (strcmp(name, "vmstat") == 0)
		return vmstat_text(vm, buf, len);
	if (strcmp(name, "meminfo") == 0)
		return meminfo_text(vm, buf, len);
	if (strcmp(name, "zoneinfo") == 0)
		return zoneinfo_text(vm, buf, len);
	if (strcmp(name, "pressure/memory") == 0)
		return reclaim_pressure_text(vm, buf, len);
	if (name[0] >= '1' && name[0] <= '9') { /* PID/file */
		char *end;
		long pid = strtol(name, &end, 10);

		if (*end == '/' && pid > 0 && pid <= INT32_MAX)
			return pid_text(vm, (int)pid, end + 1, buf, len);
	}
	vm_lock(vm);
	if (strcmp(name, "buddyinfo") == 0)
		n = buddy_info(vm->buddy, buf, len);
	else if (strcmp(name, "slabinfo") == 0)
		n = slab_info(vm->slab, buf, len);
	else if (strcmp(name, "slab_waste") == 0)
		n = slab_waste_info(vm->slab, buf, len);
	else if (strcmp(name, "extfrag/unusable_index") == 0)
		n = buddy_extfrag_info(vm->buddy, true, buf, len);
	else if (strcmp(name, "extfrag/extfrag_index") == 0)
		n = buddy_extfrag_info(vm->buddy, false, buf, len);
	else if (strcmp(name, "swaps") == 0)
		n = swap_procfs(vm, buf, len);
	else
		n = -ENOENT;
	vm_unlock(vm);
	return n;
}
