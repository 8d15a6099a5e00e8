/*
 * vm/vm.c - the machine: configuration, creation and teardown, frames for
 * the emulated kernel, counters, and the task-facing memory calls
 * (vm_mmap, vm_munmap, vm_mprotect, vm_brk, vm_ptr).
 *
 * vm_create builds in this order and vm_destroy (or a failed vm_create)
 * undoes it in reverse: phys (memfd + direct map) -> buddy -> slab and the
 * kernel's caches (task_struct, mm_struct, vm_area_struct,
 * anon_vma_chain) -> the zero frame -> (native) the trap.
 *
 * Native mode and vm.max_map_count: every host mapping a window holds is
 * one of the host's map slots.  Host mappings are the emulated TLB, so a
 * full TLB is handled as hardware would: the fault path flushes the
 * window (mm.c) and carries on.  vm_create refuses only a sysctl value
 * too small to run at all, and names it (docs/native.md).
 *
 * Locking: the machine lock around everything that touches the kernel's
 * state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm/fault.h"
#include "vm/filemap.h"
#include "vm/machine.h"
#include "vm/mm.h"
#include "reclaim/oom.h"
#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/page_alloc.h"
#include "vm/rmap.h"
#include "vm/evlog.h"
#include "vm/vmlog.h"
#include "vm/vmstat.h"

#define VM_MAGIC	     0x766d656du
#define VM_MAX_FAULT_AROUND  64
#define VM_MAX_PAGE_CLUSTER  10
#define VM_MAX_READ_AHEAD_KB 1024
/* Blocks per order kept unmerged in lazy buddy mode (vm_config.buddy_lazy). */
#define VM_BUDDY_LAZY_THRESHOLD 16
#define NSEC_PER_SEC		1000000000ULL
/* Below this many host map slots native mode is not worth running. */
#define VM_MIN_MAP_COUNT 4096

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = 64ULL << 20;
	cfg->policy = "linux";
	cfg->swappiness = 60;
	cfg->watermark_scale_factor = 10;
	cfg->kswapd = true;
	cfg->mode = VM_MODE_NATIVE;
	cfg->seed = 1;
	cfg->page_cluster = 3;
	cfg->aging_budget_pct = 5;
	cfg->read_ahead_kb = 128;
	cfg->log_sample_ms = 100;
}

bool vm_valid(const struct vm *vm)
{
	return vm && vm->magic == VM_MAGIC;
}

static void say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int check_config(const struct vm_config *c, char *err, size_t len)
{
	uint64_t limit = c->mode == VM_MODE_NATIVE ? (1ULL << 46) :
						     MM_TASK_SIZE_TRACE;

	if (c->mem_bytes == 0 || !PAGE_ALIGNED(c->mem_bytes))
		say(err, len,
		    "memory size %llu is not a positive multiple "
		    "of 4096 bytes",
		    (unsigned long long)c->mem_bytes);
	else if (c->mode != VM_MODE_NATIVE && c->mode != VM_MODE_TRACE)
		say(err, len, "unknown mode %d", (int)c->mode);
	else if (c->exact_frames && c->mode != VM_MODE_TRACE)
		say(err, len, "exact replacement needs trace mode");
	else if (c->exact_frames > VM_EXACT_MAX_FRAMES)
		say(err, len, "exact replacement of %llu frames: at most %llu",
		    (unsigned long long)c->exact_frames,
		    (unsigned long long)VM_EXACT_MAX_FRAMES);
	else if (c->tlb_entries && (c->tlb_entries < SWTLB_MIN_ENTRIES ||
				    c->tlb_entries > SWTLB_MAX_ENTRIES ||
				    (c->tlb_entries & (c->tlb_entries - 1))))
		say(err, len, "TLB of %u entries: a power of two from %u to %u",
		    c->tlb_entries, SWTLB_MIN_ENTRIES, SWTLB_MAX_ENTRIES);
	else if (c->swappiness < 0 || c->swappiness > 200)
		say(err, len, "swappiness %d is outside 0..200", c->swappiness);
	else if (c->aging_budget_pct < 0 || c->aging_budget_pct > 100)
		say(err, len, "aging budget %d%% is outside 0..100",
		    c->aging_budget_pct);
	else if (c->watermark_scale_factor < 1 ||
		 c->watermark_scale_factor > 3000)
		say(err, len, "watermark_scale_factor %d is outside 1..3000",
		    c->watermark_scale_factor);
	else if (c->min_free_kbytes < 0)
		say(err, len, "min_free_kbytes %d is negative",
		    c->min_free_kbytes);
	else if (c->page_cluster < 0 || c->page_cluster > VM_MAX_PAGE_CLUSTER)
		say(err, len, "page_cluster %d is outside 0..%d",
		    c->page_cluster, VM_MAX_PAGE_CLUSTER);
	else if (c->read_ahead_kb > VM_MAX_READ_AHEAD_KB)
		say(err, len, "read_ahead_kb %u is outside 0..%d",
		    c->read_ahead_kb, VM_MAX_READ_AHEAD_KB);
	else if (c->max_map_count < 0)
		say(err, len, "max_map_count %ld is negative",
		    c->max_map_count);
	else if (c->anon_fault_around > VM_MAX_FAULT_AROUND ||
		 (c->anon_fault_around & (c->anon_fault_around - 1)))
		say(err, len,
		    "anon_fault_around %u is not a power of two up "
		    "to %d",
		    c->anon_fault_around, VM_MAX_FAULT_AROUND);
	else if (c->task_size &&
		 (!PAGE_ALIGNED(c->task_size) ||
		  c->task_size < MM_TASK_SIZE_MIN || c->task_size > limit))
		say(err, len,
		    "task size %llu is not a page multiple in "
		    "[%llu, %llu]",
		    (unsigned long long)c->task_size,
		    (unsigned long long)MM_TASK_SIZE_MIN,
		    (unsigned long long)limit);
	else
		return 0;
	return -EINVAL;
}

/* Slab frames come through the machine's page allocator. */
static SIGSAFE int slab_pages_alloc(void *ctx, unsigned order, gfp_t gfp,
				    pfn_t *pfn)
{
	return vm_alloc_pages(ctx, order, gfp, pfn);
}

static SIGSAFE void slab_pages_free(void *ctx, pfn_t pfn, unsigned order)
{
	vm_free_pages(ctx, pfn, order);
}

/* The slab allocator and the kernel's caches. */
static int create_caches(struct vm *vm)
{
	static const struct {
		const char *name;
		size_t size;
		size_t off;
	} caches[] = {
		{ "task_struct", sizeof(struct vm_task),
		  offsetof(struct vm, task_cache) },
		{ "mm_struct", sizeof(struct mm),
		  offsetof(struct vm, mm_cache) },
		{ "vm_area_struct", sizeof(struct vma),
		  offsetof(struct vm, vma_cache) },
		{ "anon_vma_chain", sizeof(struct rmap_item),
		  offsetof(struct vm, rmap_cache) },
	};
	struct slab_page_source pages = { slab_pages_alloc, slab_pages_free,
					  vm };
	int err = slab_allocator_create(&vm->phys, vm->buddy, &pages,
					&vm->failslab, &vm->slab);

	if (err)
		return err;

	for (size_t i = 0; i < ARRAY_SIZE(caches); i++) {
		struct slab_cache **c =
			(struct slab_cache **)((char *)vm + caches[i].off);
		err = slab_cache_create(vm->slab, caches[i].name,
					caches[i].size, c);
		if (err)
			return err;
	}
	/* What a fault needs to finish may use the reserve below min. */
	slab_cache_set_gfp(vm->rmap_cache, GFP_FAULT_META);
	slab_cache_set_gfp(vm->vma_cache, GFP_FAULT_META);
	return 0;
}

/*
 * Host map slots for every frame mapped in a window on its own (two slots
 * each, the worst case), plus the reserve hostmap keeps for the process.
 */
static uint64_t vm_map_count_wanted(const struct vm *vm)
{
	uint64_t n = 2 * vm->phys.nr_pages + MAPSLOTS_MIN_RESERVE;

	return n + n / 7; /* so that the 1/8 reserve leaves n */
}

/* Native mode: install the trap; check the host's map-slot budget. */
static int setup_native(struct vm *vm, char *err, size_t len)
{
	long have = vm->cfg.max_map_count ? vm->cfg.max_map_count :
					    mapslots_host_limit();
	int rc;

	if (have < 0) {
		say(err, len, "cannot read vm.max_map_count: %s",
		    strerror((int)-have));
		return (int)have;
	}
	if (have < VM_MIN_MAP_COUNT) {
		say(err, len,
		    "vm.max_map_count is %ld; native mode needs at "
		    "least %d, and %llu to keep every frame mapped "
		    "(sysctl -w vm.max_map_count=%llu), or use trace "
		    "mode",
		    have, VM_MIN_MAP_COUNT,
		    (unsigned long long)vm_map_count_wanted(vm),
		    (unsigned long long)vm_map_count_wanted(vm));
		return -EINVAL;
	}
	vm->max_map_count = have;
	mapslots_init(&vm->mapslots, have);
	rc = trap_install(fault_trap_resolve);
	if (rc < 0) {
		say(err, len, "cannot install the SIGSEGV trap: %s",
		    strerror(-rc));
		return rc;
	}
	vm->trap_installed = true;
	return 0;
}

static int setup_zero_page(struct vm *vm)
{
	struct page *pg;

	if (vm_alloc_pages(vm, 0, __GFP_MEMALLOC, &vm->zero_pfn) < 0)
		return -ENOMEM;
	memset(phys_addr(&vm->phys, vm->zero_pfn), 0, PAGE_SIZE);
	pg = phys_page(&vm->phys, vm->zero_pfn);
	pg->flags = PG_zero | PG_reserved;
	pg->_refcount = 1;
	return 0;
}

static void vm_teardown(struct vm *vm)
{
	reclaim_stop(vm);     /* kswapd, the log's other producer, first */
	filemap_teardown(vm); /* dirty file pages written, objects freed */
	if (vm->oom)
		oom_publish(vm);  /* what the service thread had not yet */
	vmlog_close(vm, NULL, 0); /* its errors: vm_log_error, before */
	reclaim_destroy(vm);
	oom_destroy(vm);
	if (vm->trap_installed)
		trap_uninstall();
	if (vm->zero_pfn != (pfn_t)-1) {
		phys_page(&vm->phys, vm->zero_pfn)->flags = 0;
		phys_page(&vm->phys, vm->zero_pfn)->_refcount = 0;
		vm_free_pages(vm, vm->zero_pfn, 0);
	}
	swap_teardown(vm);
	if (vm->slab)
		slab_allocator_destroy(vm->slab);
	if (vm->buddy)
		buddy_destroy(vm->buddy);
	phys_fini(&vm->phys);
	pthread_cond_destroy(&vm->task_exited);
	pthread_mutex_destroy(&vm->lock);
	vm->magic = 0;
	free(vm);
}

static int vm_build(struct vm *vm, char *err, size_t len)
{
	struct buddy_config bcfg;
	const char *step;
	int rc = phys_init(&vm->phys, vm->cfg.mem_bytes >> PAGE_SHIFT, &step);

	if (rc < 0) {
		say(err, len,
		    "cannot create emulated RAM of %llu bytes (%s): "
		    "%s",
		    (unsigned long long)vm->cfg.mem_bytes, step, strerror(-rc));
		return rc;
	}
	buddy_config_init(&bcfg);
	bcfg.pcp = vm->cfg.buddy_pcp;
	bcfg.lazy = vm->cfg.buddy_lazy;
	bcfg.lazy_threshold = VM_BUDDY_LAZY_THRESHOLD;
	rc = buddy_create(&vm->phys, &bcfg, &vm->buddy);
	if (!rc) {
		vm_setup_watermarks(vm);
		if (vm->cfg.exact_frames) /* no watermarks in exact mode */
			memset(&vm->wmark, 0, sizeof(vm->wmark));
		rc = create_caches(vm);
	}
	if (!rc)
		rc = setup_zero_page(vm);
	if (!rc)
		rc = filemap_setup(vm);
	if (rc < 0) {
		say(err, len,
		    "emulated RAM of %llu bytes is too small for the "
		    "kernel's own structures",
		    (unsigned long long)vm->cfg.mem_bytes);
		return rc;
	}
	rc = swap_setup(vm, err, len);
	if (!rc)
		rc = oom_create(vm);
	if (!rc)
		rc = vmlog_open(vm, err, len);
	if (!rc)
		rc = reclaim_create(vm, err, len);
	if (rc < 0)
		return rc;
	if (vm->cfg.mode == VM_MODE_NATIVE)
		return setup_native(vm, err, len);
	return 0;
}

/* Exact replacement's machine: a pool of frames plus an allowance. */
#define EXACT_META_MIN_PAGES (1ULL << (30 - PAGE_SHIFT)) /* 1 GiB */
#define EXACT_TLB_ENTRIES    4096
#define DEFAULT_TLB_ENTRIES  256
static void exact_config(struct vm_config *c)
{
	uint64_t meta = MAX(c->exact_frames / 4, EXACT_META_MIN_PAGES);

	c->mem_bytes = (c->exact_frames + meta) << PAGE_SHIFT;
	c->swap_bytes = 0;
	c->kswapd = false;
	c->page_cluster = 0;
	c->anon_fault_around = 0;
	if (!c->tlb_entries)
		c->tlb_entries = EXACT_TLB_ENTRIES;
}

static uint64_t vm_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

struct vm *vm_create(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct vm *vm;

	if (!cfg) {
		say(err, errlen, "no configuration given");
		return NULL;
	}
	if (check_config(cfg, err, errlen) < 0)
		return NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		say(err, errlen, "out of host memory");
		return NULL;
	}
	vm->magic = VM_MAGIC;
	vm->cfg = *cfg;
	if (cfg->exact_frames)
		exact_config(&vm->cfg);
	if (!vm->cfg.tlb_entries)
		vm->cfg.tlb_entries = DEFAULT_TLB_ENTRIES;
	vm->zero_pfn = (pfn_t)-1;
	vm->next_pid = 1;
	vm->task_size = cfg->task_size		    ? cfg->task_size :
			cfg->mode == VM_MODE_NATIVE ? MM_TASK_SIZE_NATIVE :
						      MM_TASK_SIZE_TRACE;
	list_init(&vm->tasks);
	vm->t0_ns = vm_clock_ns();
	fault_attr_init(&vm->fail_page_alloc, cfg->seed);
	fault_attr_init(&vm->failslab, cfg->seed + 1);
	fault_attr_init(&vm->fail_host_map, cfg->seed + 2);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->task_exited, NULL);
	if (vm_build(vm, err, errlen) < 0) {
		vm_teardown(vm);
		return NULL;
	}
	return vm;
}

/* Lock held.  A task no vm_wait has claimed yet, or NULL. */
static struct vm_task *task_unclaimed(struct vm *vm)
{
	struct list_head *n;

	list_for_each(n, &vm->tasks) {
		struct vm_task *t = list_entry(n, struct vm_task, node);

		if (!t->being_waited)
			return t;
	}
	return NULL;
}

void vm_destroy(struct vm *vm)
{
	if (!vm_valid(vm))
		return;
	vm_lock(vm);
	while (!list_empty(&vm->tasks)) {
		struct vm_task *t = task_unclaimed(vm);

		if (!t) { /* all claimed by waiting tasks: let them finish */
			pthread_cond_wait(&vm->task_exited, &vm->lock);
			continue;
		}
		int pid = t->pid;
		vm_unlock(vm);
		vm_wait(vm, pid, NULL);
		vm_lock(vm);
	}
	vm_unlock(vm);
	vm_teardown(vm);
}

/* ---- the task-facing memory calls ----------------------------------- */

/*
 * A system call by task t: the machine lock held, and what it needs to run
 * again after reclaim when frames ran short (vm_nomem_retry).
 */
struct sys_call {
	struct vm_task *t;
	struct reclaim_retry rr;
	uint64_t shortages;
};

/* Lock the machine for a call by t; NULL (unlocked) if t cannot call. */
static struct mm *sys_enter(struct vm_task *t, struct sys_call *sc)
{
	if (!task_valid(t))
		return NULL;
	vm_lock(t->vm);
	if (!t->mm || atomic_load(&t->kill_reason)) {
		vm_unlock(t->vm);
		task_exit_if_killed(t);
		return NULL;
	}
	sc->t = t;
	reclaim_retry_init(&sc->rr, 0, GFP_KERNEL);
	sc->shortages = t->vm->nr_alloc_short;
	return t->mm;
}

/* Lock held.  Should the call that failed with err run again? */
static bool sys_again(struct sys_call *sc, int err)
{
	struct vm *vm = sc->t->vm;

	if (!vm_nomem_retry(vm, err, sc->shortages, &sc->rr) ||
	    atomic_load(&sc->t->kill_reason))
		return false;
	sc->shortages = vm->nr_alloc_short;
	return true;
}

/* Unlock after a call; a task killed meanwhile leaves here. */
static void sys_leave(struct sys_call *sc)
{
	vm_unlock(sc->t->vm);
	task_exit_if_killed(sc->t);
}

uint64_t vm_mmap(struct vm_task *t, uint64_t hint, size_t len, int prot,
		 int flags)
{
	struct sys_call sc;
	struct mm *mm = sys_enter(t, &sc);
	uint64_t va;

	if (!mm)
		return (uint64_t)-EINVAL;
	do
		va = mm_mmap(mm, hint, len, prot, flags);
	while (vm_mmap_failed(va) && sys_again(&sc, vm_mmap_error(va)));
	sys_leave(&sc);
	return va;
}

int vm_munmap(struct vm_task *t, uint64_t va, size_t len)
{
	struct sys_call sc;
	struct mm *mm = sys_enter(t, &sc);
	int err;

	if (!mm)
		return -EINVAL;
	filemap_unmap_sync(mm, va, len); /* dirty shared file pages written */
	do
		err = mm_munmap(mm, va, len);
	while (err && sys_again(&sc, err));
	sys_leave(&sc);
	return err;
}

int vm_mprotect(struct vm_task *t, uint64_t va, size_t len, int prot)
{
	struct sys_call sc;
	struct mm *mm = sys_enter(t, &sc);
	int err;

	if (!mm)
		return -EINVAL;
	do
		err = mm_mprotect(mm, va, len, prot);
	while (err && sys_again(&sc, err));
	sys_leave(&sc);
	return err;
}

int vm_madvise(struct vm_task *t, uint64_t va, size_t len, int advice)
{
	struct sys_call sc;
	struct mm *mm;
	int err;

	if (advice != VM_MADV_PAGEOUT)
		return -EINVAL;
	mm = sys_enter(t, &sc);
	if (!mm)
		return -EINVAL;
	err = mm_check_range_mapped(mm, va, len);
	if (!err)
		reclaim_pageout(t->vm, mm, va, va + PAGE_ROUND_UP(len), false);
	sys_leave(&sc);
	return err;
}

/* brk reports failure by returning the old break, as brk(2) does. */
uint64_t vm_brk(struct vm_task *t, uint64_t new_end)
{
	struct sys_call sc;
	struct mm *mm = sys_enter(t, &sc);
	uint64_t brk, old;

	if (!mm)
		return 0;
	old = mm->brk;
	do
		brk = mm_brk(mm, new_end);
	while (new_end && brk == old && new_end != old &&
	       sys_again(&sc, -ENOMEM));
	sys_leave(&sc);
	return brk;
}

void *vm_ptr(struct vm_task *t, uint64_t va)
{
	if (!task_valid(t) || !t->mm || !t->mm->win || va >= t->mm->task_size)
		return NULL;
	return trap_window_addr(t->mm->win, va);
}

const char *vm_log_error(struct vm *vm)
{
	return vm_valid(vm) && vm->log ? evlog_error(vm->log) : NULL;
}

void vm_set_exit_status(struct vm *vm, int status)
{
	if (vm_valid(vm))
		vm->exit_status = status;
}
