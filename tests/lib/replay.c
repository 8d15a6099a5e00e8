/*
 * tests/lib/replay.c - see replay.h.
 */
#include "tests/lib/replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/vmtest.h"

#define PAGE	  4096ULL
#define MAX_PAGES (1ULL << 20)

struct replay_run {
	const uint64_t *pages;
	const uint8_t *writes;
	const uint64_t *next;
	size_t n;
	uint64_t span;
	struct replay_result *out;
};

void replay_next_use(const uint64_t *pages, size_t n, uint64_t *next)
{
	uint64_t *last = malloc(MAX_PAGES * sizeof(*last));

	if (!last)
		abort();
	for (uint64_t p = 0; p < MAX_PAGES; p++)
		last[p] = UINT64_MAX;
	for (size_t i = n; i-- > 0;) {
		next[i] = last[pages[i]];
		last[pages[i]] = i;
	}
	free(last);
}

static int replay_task(struct vm_task *t, void *arg)
{
	struct replay_run *r = arg;
	struct vm *vm = vmtest_task_vm(t);
	struct vm_stat before, after;
	uint64_t base = vm_mmap(t, 0, r->span * PAGE,
				VM_PROT_READ | VM_PROT_WRITE,
				VM_MAP_PRIVATE | VM_MAP_ANON);

	if (vm_mmap_failed(base))
		return 1;
	vm_stat(vm, &before);
	for (size_t i = 0; i < r->n; i++) {
		int err = vm_access_next(t, base + r->pages[i] * PAGE,
					 r->writes ? r->writes[i] != 0 : 0,
					 r->next[i]);

		if (err && !r->out->access_err)
			r->out->access_err = err;
	}
	vm_stat(vm, &after);
	r->out->misses = after.pgfault - before.pgfault;
	r->out->majfaults = after.pgmajfault - before.pgmajfault;
	r->out->evictions = after.evict - before.evict;
	r->out->resident = after.nr_anon_pages;
	r->out->check = vmtest_check_all(vm);
	return 0;
}

int replay_exact(const char *policy, uint64_t frames, const uint64_t *pages,
		 const uint8_t *writes, size_t n, struct replay_result *out,
		 char *err, size_t errlen)
{
	struct replay_run r = { pages, writes, NULL, n, 1, out };
	struct vm_config cfg;
	uint64_t *next = malloc((n ? n : 1) * sizeof(*next));
	struct vm *vm;
	int pid;

	if (!next)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (pages[i] + 1 > r.span)
			r.span = pages[i] + 1;
	replay_next_use(pages, n, next);
	r.next = next;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.policy = policy;
	cfg.exact_frames = frames;
	vm = vm_create(&cfg, err, errlen);
	if (!vm) {
		free(next);
		return -EINVAL;
	}
	pid = vm_spawn(vm, "replay", 0, replay_task, &r);
	if (pid > 0)
		vm_wait(vm, pid, &out->ex);
	vm_destroy(vm);
	free(next);
	return pid > 0 ? 0 : pid;
}
