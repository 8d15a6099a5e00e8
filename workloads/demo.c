/*
 * workloads/demo.c - demonstration workloads (see demo.h).  They run on
 * task threads; no locks of their own.
 */
#include "workloads/demo.h"

#define RW   (VM_PROT_READ | VM_PROT_WRITE)
#define ANON (VM_MAP_PRIVATE | VM_MAP_ANON)

static uint64_t wl_pattern(int pid, uint64_t va)
{
	return (((uint64_t)pid << 48) ^ va) * 0x9E3779B97F4A7C15ULL;
}

/* Store v at va: through the window, or as an access in trace mode. */
static void wl_store(struct vm_task *t, uint64_t va, uint64_t v)
{
	uint64_t *p = vm_ptr(t, va);

	if (p)
		*p = v;
	else
		vm_access(t, va, 1);
}

/* 1 if the word at va differs from v (never in trace mode). */
static int wl_check(struct vm_task *t, uint64_t va, uint64_t v)
{
	const uint64_t *p = vm_ptr(t, va);

	if (!p) {
		vm_access(t, va, 0);
		return 0;
	}
	return *p != v;
}

static void wl_fill(struct vm_task *t, uint64_t base, uint64_t npages, int pid)
{
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t va = base + i * VM_PAGE_SIZE;

		wl_store(t, va, wl_pattern(pid, va));
	}
}

static int wl_verify(struct vm_task *t, uint64_t base, uint64_t npages, int pid)
{
	int bad = 0;

	for (uint64_t i = 0; i < npages; i++) {
		uint64_t va = base + i * VM_PAGE_SIZE;

		bad += wl_check(t, va, wl_pattern(pid, va));
	}
	return bad;
}

int wl_fill_verify(struct vm_task *t, void *arg)
{
	const struct wl_demo_args *a = arg;
	uint64_t base = vm_mmap(t, 0, a->npages * VM_PAGE_SIZE, RW, ANON);

	if (vm_mmap_failed(base))
		return -1;
	wl_fill(t, base, a->npages, vm_getpid(t));
	return wl_verify(t, base, a->npages, vm_getpid(t));
}

struct wl_cow_child {
	uint64_t base, npages, first;
	int parent;
};

static int wl_cow_child_fn(struct vm_task *t, void *arg)
{
	const struct wl_cow_child *c = arg;
	uint64_t half = c->npages / 2;
	int bad = wl_verify(t, c->base, c->npages, c->parent);

	/* Overwrite our half: each store breaks COW on that page. */
	wl_fill(t, c->base + c->first * VM_PAGE_SIZE, half, vm_getpid(t));
	bad += wl_verify(t, c->base + c->first * VM_PAGE_SIZE, half,
			 vm_getpid(t));
	return bad;
}

int wl_fork_cow(struct vm_task *t, void *arg)
{
	const struct wl_demo_args *a = arg;
	uint64_t base = vm_mmap(t, 0, a->npages * VM_PAGE_SIZE, RW, ANON);
	struct wl_cow_child c[2];
	struct vm_exit ex;
	int bad = 0, pid[2];

	if (vm_mmap_failed(base))
		return -1;
	wl_fill(t, base, a->npages, vm_getpid(t));
	for (int i = 0; i < 2; i++) {
		c[i] = (struct wl_cow_child){ base, a->npages,
					      i * (a->npages / 2),
					      vm_getpid(t) };
		pid[i] = vm_fork(t, wl_cow_child_fn, &c[i]);
	}
	for (int i = 0; i < 2; i++) {
		if (pid[i] < 0 || vm_wait(a->vm, pid[i], &ex) != pid[i])
			return -1;
		bad += ex.reason == VM_EXIT_NORMAL ? ex.code : 1;
	}
	/* The children's writes never reached the parent's pages. */
	return bad + wl_verify(t, base, a->npages, vm_getpid(t));
}

int wl_zero_reader(struct vm_task *t, void *arg)
{
	const struct wl_demo_args *a = arg;
	uint64_t base =
		vm_mmap(t, 0, a->npages * VM_PAGE_SIZE, VM_PROT_READ, ANON);
	int bad = 0;

	if (vm_mmap_failed(base))
		return -1;
	for (uint64_t i = 0; i < a->npages; i++)
		bad += wl_check(t, base + i * VM_PAGE_SIZE, 0);
	return bad;
}

int wl_null_deref(struct vm_task *t, void *arg)
{
	const volatile uint64_t *p = vm_ptr(t, 0);

	(void)arg;
	if (!p)
		return vm_access(t, 0, 0);
	return (int)*p;
}
