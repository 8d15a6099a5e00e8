/*
 * tests/lib/vmtest.c - see vmtest.h.
 */
#include "tests/lib/vmtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int parked_fn(struct vm_task *t, void *arg)
{
	struct parked *p = arg;

	p->t = t;
	sem_post(&p->ready);
	while (sem_wait(&p->go) != 0)
		;
	return 0;
}

int park_spawn(struct vm *vm, struct parked *p, const char *name)
{
	p->vm = vm;
	p->t = NULL;
	sem_init(&p->ready, 0, 0);
	sem_init(&p->go, 0, 0);
	p->pid = vm_spawn(vm, name, 0, parked_fn, p);
	if (p->pid < 0)
		return p->pid;
	while (sem_wait(&p->ready) != 0)
		;
	return p->pid;
}

int park_fork(struct parked *parent, struct parked *child)
{
	child->vm = parent->vm;
	child->t = NULL;
	sem_init(&child->ready, 0, 0);
	sem_init(&child->go, 0, 0);
	child->pid = vm_fork(parent->t, parked_fn, child);
	if (child->pid < 0)
		return child->pid;
	while (sem_wait(&child->ready) != 0)
		;
	return child->pid;
}

int park_release(struct parked *p, struct vm_exit *ex)
{
	int rc;

	sem_post(&p->go);
	rc = vm_wait(p->vm, p->pid, ex);
	sem_destroy(&p->ready);
	sem_destroy(&p->go);
	return rc;
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
