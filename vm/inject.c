/*
 * vm/inject.c - the machine's failure-injection points by name (vm.h):
 * each name is a struct fault_attr that the code at the point consults
 * with should_fail (base/fault_inject.h).  The attributes are atomics, so
 * setting them needs no lock.
 */
#include <errno.h>
#include <string.h>

#include "swap/swap.h"
#include "vm/filemap.h"
#include "vm/machine.h"

static struct fault_attr *inject_point(struct vm *vm, const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "fail_page_alloc") == 0)
		return &vm->fail_page_alloc;
	if (strcmp(name, "failslab") == 0)
		return &vm->failslab;
	if (strcmp(name, "fail_host_map") == 0)
		return &vm->fail_host_map;
	if (strcmp(name, "fail_swap_write") == 0)
		return swap_fault_attr(vm, true);
	if (strcmp(name, "fail_swap_read") == 0)
		return swap_fault_attr(vm, false);
	if (strcmp(name, "fail_file_write") == 0)
		return &vm->pcache->fail_write;
	if (strcmp(name, "fail_file_read") == 0)
		return &vm->pcache->fail_read;
	return NULL;
}

int vm_fault_inject(struct vm *vm, const char *point,
		    const struct vm_fault_attr *attr)
{
	struct fault_attr *a;

	if (!vm_valid(vm) || !attr)
		return -EINVAL;
	a = inject_point(vm, point);
	if (!a)
		return -ENOENT;
	return fault_attr_set(a, attr->probability, attr->interval, attr->times,
			      attr->space);
}

long long vm_fault_injected(struct vm *vm, const char *point)
{
	struct fault_attr *a = vm_valid(vm) ? inject_point(vm, point) : NULL;

	return a ? (long long)atomic_load(&a->failed) : -ENOENT;
}
