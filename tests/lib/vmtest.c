/*
 * tests/lib/vmtest.c - see vmtest.h.
 */
#include "tests/lib/vmtest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void vmtest_db_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/%s.%d.db", name, (int)getpid());
	vmtest_db_remove(buf);
}

void vmtest_db_remove(const char *path)
{
	static const char *const side[] = { "", "-wal", "-shm" };
	char p[256];

	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, side[i]);
		unlink(p);
	}
}

#define VMTEST_MAX 256 /* parked tasks or machines alive at once */

struct park_ctl {
	sem_t ready, go;
	struct vm *vm;
	struct vm_task *t;
	int pid;
};

/* What the current test made and has not let go of yet. */
static struct {
	struct park_ctl *parked[VMTEST_MAX];
	struct vm *vms[VMTEST_MAX];
} reg;

static void reg_put(void **slots, void *p)
{
	for (int i = 0; i < VMTEST_MAX; i++)
		if (!slots[i]) {
			slots[i] = p;
			return;
		}
	fprintf(stderr, "vmtest: more than %d live objects\n", VMTEST_MAX);
	abort();
}

static void reg_drop(void **slots, void *p)
{
	for (int i = 0; i < VMTEST_MAX; i++)
		if (slots[i] == p)
			slots[i] = NULL;
}

static int parked_fn(struct vm_task *t, void *arg)
{
	struct park_ctl *c = arg;

	c->t = t;
	sem_post(&c->ready);
	while (sem_wait(&c->go) != 0)
		;
	return 0;
}

static struct park_ctl *ctl_new(struct vm *vm)
{
	struct park_ctl *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->vm = vm;
	sem_init(&c->ready, 0, 0);
	sem_init(&c->go, 0, 0);
	return c;
}

static void ctl_free(struct park_ctl *c)
{
	sem_destroy(&c->ready);
	sem_destroy(&c->go);
	free(c);
}

/* pid from vm_spawn/vm_fork: wait until the task runs, record it. */
static int park_started(struct parked *p, struct park_ctl *c, int pid)
{
	p->pid = c->pid = pid;
	if (pid < 0) {
		ctl_free(c);
		return pid;
	}
	while (sem_wait(&c->ready) != 0)
		;
	p->t = c->t;
	p->ctl = c;
	reg_put((void **)reg.parked, c);
	return pid;
}

int park_spawn(struct vm *vm, struct parked *p, const char *name)
{
	struct park_ctl *c = ctl_new(vm);

	p->vm = vm;
	p->t = NULL;
	p->ctl = NULL;
	return park_started(p, c, vm_spawn(vm, name, 0, parked_fn, c));
}

int park_fork(struct parked *parent, struct parked *child)
{
	struct park_ctl *c = ctl_new(parent->vm);

	child->vm = parent->vm;
	child->t = NULL;
	child->ctl = NULL;
	return park_started(child, c, vm_fork(parent->t, parked_fn, c));
}

static int ctl_release(struct park_ctl *c, struct vm_exit *ex)
{
	int rc;

	reg_drop((void **)reg.parked, c);
	sem_post(&c->go);
	rc = vm_wait(c->vm, c->pid, ex);
	ctl_free(c);
	return rc;
}

int park_release(struct parked *p, struct vm_exit *ex)
{
	struct park_ctl *c = p->ctl;

	p->ctl = NULL;
	return c ? ctl_release(c, ex) : -ESRCH;
}

/* Release the parked tasks of vm (all machines' when vm is NULL). */
static void release_parked(struct vm *vm)
{
	for (int i = 0; i < VMTEST_MAX; i++) {
		struct park_ctl *c = reg.parked[i];

		if (c && (!vm || c->vm == vm))
			ctl_release(c, NULL);
	}
}

void vmtest_destroy(struct vm *vm)
{
	release_parked(vm);
	reg_drop((void **)reg.vms, vm);
	vm_destroy(vm);
}

static void unlock_left(void);

int vmtest_teardown(void **state)
{
	(void)state;
	unlock_left();
	release_parked(NULL);
	for (int i = 0; i < VMTEST_MAX; i++)
		if (reg.vms[i])
			vmtest_destroy(reg.vms[i]);
	return 0;
}

struct vm *vmtest_create(enum vm_mode mode, uint64_t mem_bytes)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = mem_bytes;
	return vmtest_create_cfg(&cfg);
}

struct vm *vmtest_create_cfg(const struct vm_config *cfg)
{
	char err[256];
	struct vm *vm = vm_create(cfg, err, sizeof(err));

	if (!vm) {
		fprintf(stderr, "vm_create: %s\n", err);
		abort();
	}
	reg_put((void **)reg.vms, vm);
	return vm;
}

uint64_t vmtest_seed(const char *test)
{
	const char *env = getenv("SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) :
			      (uint64_t)time(NULL) ^ (uint64_t)clock();

	if (!seed)
		seed = 1;
	fprintf(stderr, "%s: seed=%llu (rerun with SEED=%llu)\n", test,
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

uint64_t vmtest_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* ---- internal peeks ---------------------------------------------------- */

#include "reclaim/reclaim_internal.h"
#include "swap/swap.h"
#include "vm/filemap.h"
#include "vm/machine.h"
#include "vm/mm.h"

struct mm *vmtest_mm(struct vm_task *t)
{
	return t->mm;
}

uint64_t vmtest_pte(struct vm_task *t, uint64_t va)
{
	pte_t *ptep, pte = 0;

	vm_lock(t->vm);
	ptep = t->mm ? pt_walk(&t->mm->pt, va) : NULL;
	if (ptep)
		pte = *ptep;
	vm_unlock(t->vm);
	return pte;
}

uint8_t *vmtest_frame(struct vm_task *t, uint64_t va)
{
	pte_t pte = vmtest_pte(t, va);

	if (!pte_present(pte))
		return NULL;
	return (uint8_t *)phys_addr(&t->vm->phys, pte_pfn(pte)) +
	       (va & (PAGE_SIZE - 1));
}

int vmtest_check(struct vm_task *t)
{
	int rc;

	vm_lock(t->vm);
	rc = mm_check(t->mm);
	vm_unlock(t->vm);
	return rc;
}

uint64_t vmtest_map_count(struct vm_task *t)
{
	return t->mm->map_count;
}

int vmtest_store(struct vm_task *t, uint64_t va, uint8_t v)
{
	int rc = vm_access(t, va, 1);

	if (rc == 0)
		*vmtest_frame(t, va) = v;
	return rc;
}

int vmtest_load(struct vm_task *t, uint64_t va, uint8_t *v)
{
	int rc = vm_access(t, va, 0);

	if (rc == 0)
		*v = *vmtest_frame(t, va);
	return rc;
}

int vmtest_cpu_store(struct vm_task *t, uint64_t va, uint8_t v)
{
	volatile uint8_t *p;

	if (t->vm->cfg.mode == VM_MODE_TRACE)
		return vmtest_store(t, va, v);
	p = vm_ptr(t, va);
	*p = v;
	return 0;
}

int vmtest_cpu_load(struct vm_task *t, uint64_t va, uint8_t *v)
{
	volatile uint8_t *p;

	if (t->vm->cfg.mode == VM_MODE_TRACE)
		return vmtest_load(t, va, v);
	p = vm_ptr(t, va);
	*v = *p;
	return 0;
}

uint64_t vmtest_slab_pages(struct vm *vm)
{
	struct slab_cache *c[] = { vm->task_cache, vm->mm_cache, vm->vma_cache,
				   vm->rmap_cache };
	struct slab_cache_stats st;
	uint64_t n = 0;

	vm_lock(vm);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		slab_cache_get_stats(c[i], &st);
		n += st.num_slabs * st.pagesperslab;
	}
	vm_unlock(vm);
	return n;
}

uint64_t vmtest_slab_objs(struct vm *vm)
{
	struct slab_cache *c[] = { vm->task_cache, vm->mm_cache, vm->vma_cache,
				   vm->rmap_cache };
	struct slab_cache_stats st;
	uint64_t n = 0;

	vm_lock(vm);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		slab_cache_get_stats(c[i], &st);
		n += st.active_objs;
	}
	vm_unlock(vm);
	return n;
}

int vmtest_check_all(struct vm *vm)
{
	struct slab_cache *c[] = { vm->task_cache, vm->mm_cache, vm->vma_cache,
				   vm->rmap_cache };
	struct list_head *n;
	int err;

	vm_lock(vm);
	err = buddy_check(vm->buddy);
	for (size_t i = 0; i < ARRAY_SIZE(c) && !err; i++)
		err = slab_check(c[i]);
	list_for_each(n, &vm->tasks) {
		struct vm_task *t = list_entry(n, struct vm_task, node);

		if (!err && t->mm)
			err = mm_check(t->mm);
	}
	if (!err)
		err = reclaim_check(vm);
	if (!err)
		err = swap_state_check(vm);
	if (!err)
		err = filemap_check(vm);
	vm_unlock(vm);
	return err;
}

/* op over npages at va, under the machine lock. */
static uint64_t ad_op(struct vm_task *t, uint64_t va, unsigned npages,
		      uint64_t (*op)(struct mm *, vaddr_t, vaddr_t))
{
	uint64_t n;

	vm_lock(t->vm);
	n = op(t->mm, va, va + (uint64_t)npages * PAGE_SIZE);
	vm_unlock(t->vm);
	return n;
}

uint64_t vmtest_clear_young(struct vm_task *t, uint64_t va, unsigned npages)
{
	return ad_op(t, va, npages, mm_clear_young);
}

uint64_t vmtest_clean(struct vm_task *t, uint64_t va, unsigned npages)
{
	return ad_op(t, va, npages, mm_clean);
}

void vmtest_shrink_map_budget(struct vm *vm, long room)
{
	vm_lock(vm);
	mapslots_recount(&vm->mapslots);
	vm->mapslots.limit = vm->mapslots.est + room;
	vm_unlock(vm);
}

long vmtest_map_budget_limit(struct vm *vm)
{
	return vm->mapslots.limit;
}

uint64_t vmtest_map_budget_recounts(struct vm *vm)
{
	return vm->mapslots.recounts;
}

/* The machine whose lock the test holds (a failed assertion may leave it). */
static struct vm *locked_vm;

void vmtest_lock(struct vm *vm)
{
	vm_lock(vm);
	locked_vm = vm;
}

void vmtest_unlock(struct vm *vm)
{
	locked_vm = NULL;
	vm_unlock(vm);
}

static void unlock_left(void)
{
	if (locked_vm)
		vmtest_unlock(locked_vm);
}

void vmtest_set_io_hook(struct vm *vm, void (*fn)(void *arg, bool write),
			void *arg)
{
	vm_lock(vm);
	vm->io_hook = fn;
	vm->io_hook_arg = arg;
	vm_unlock(vm);
}

uint64_t vmtest_pageout(struct vm_task *t, uint64_t va, unsigned npages)
{
	uint64_t n;

	vm_lock(t->vm);
	n = reclaim_pageout(t->vm, t->mm, va, va + npages * PAGE_SIZE, true);
	vm_unlock(t->vm);
	return n;
}

bool vmtest_swapped(struct vm_task *t, uint64_t va)
{
	return pte_is_swap(vmtest_pte(t, va));
}

uint64_t vmtest_shrink(struct vm *vm, unsigned priority, uint64_t target)
{
	struct scan_control sc = { .priority = priority,
				   .nr_to_reclaim = target };

	vm_lock(vm);
	shrink_node(vm->reclaim, &sc);
	/* The end of a reclaim run (vmscan.c's snapshot_refaults). */
	vm->reclaim->lru.refaults[0] = vm->ev[VME_WORKINGSET_ACTIVATE_ANON];
	vm->reclaim->lru.refaults[1] = vm->ev[VME_WORKINGSET_ACTIVATE_FILE];
	vm_unlock(vm);
	return sc.nr_reclaimed;
}

void vmtest_lru_costs(struct vm *vm, uint64_t *anon, uint64_t *file)
{
	vm_lock(vm);
	*anon = vm->reclaim->lru.anon_cost;
	*file = vm->reclaim->lru.file_cost;
	vm_unlock(vm);
}

unsigned vmtest_lru_list(struct vm *vm, int l, uint64_t *va, unsigned max)
{
	struct list_head *pos, *head = &vm->reclaim->lru.lists[l];
	unsigned n = 0;

	vm_lock(vm);
	for (pos = head->next; pos != head && n < max; pos = pos->next)
		va[n++] = list_entry(pos, struct page, lru)->index;
	vm_unlock(vm);
	return n;
}

uint32_t vmtest_page_flags(struct vm_task *t, uint64_t va)
{
	pte_t pte = vmtest_pte(t, va);

	if (!pte_present(pte) || (pte & PTE_SPECIAL))
		return 0;
	return phys_page(&t->vm->phys, pte_pfn(pte))->flags;
}

struct vm *vmtest_task_vm(struct vm_task *t)
{
	return t->vm;
}
