/*
 * tests/test_vm.c - the machine: vm_create refuses bad configurations with
 * one clear message and leaves nothing behind (no descriptor, no trap);
 * vm.max_map_count too small for native mode is named in the error; the
 * counters add up; vm_destroy waits for running tasks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

static int count_fds(void)
{
	int fd = dup(0), n = fd;

	close(fd);
	return n; /* lowest free descriptor: grows if one leaked */
}

static void expect_refusal(struct vm_config *cfg, const char *needle)
{
	char err[256] = "";
	int fds = count_fds();

	assert_null(vm_create(cfg, err, sizeof(err)));
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_null(strchr(err, '\n')); /* one line */
	assert_int_equal(count_fds(), fds);
}

static void test_vm_bad_config(void **state)
{
	struct vm_config cfg;

	(void)state;
	vm_config_init(&cfg);
	cfg.mem_bytes = 0;
	expect_refusal(&cfg, "memory size 0");
	cfg.mem_bytes = 4097;
	expect_refusal(&cfg, "multiple of 4096");
	vm_config_init(&cfg);
	cfg.swappiness = 201;
	expect_refusal(&cfg, "swappiness 201");
	vm_config_init(&cfg);
	cfg.aging_budget_pct = 101;
	expect_refusal(&cfg, "aging budget 101% is outside 0..100");
	cfg.aging_budget_pct = -1;
	expect_refusal(&cfg, "aging budget -1% is outside 0..100");
	vm_config_init(&cfg);
	cfg.watermark_scale_factor = 0;
	expect_refusal(&cfg, "watermark_scale_factor 0");
	vm_config_init(&cfg);
	cfg.min_free_kbytes = -1;
	expect_refusal(&cfg, "min_free_kbytes -1");
	vm_config_init(&cfg);
	cfg.policy = "bogus";
	expect_refusal(&cfg, "unknown policy 'bogus'");
	vm_config_init(&cfg);
	cfg.mode = (enum vm_mode)7;
	expect_refusal(&cfg, "unknown mode 7");
	vm_config_init(&cfg);
	cfg.anon_fault_around = 3;
	expect_refusal(&cfg, "anon_fault_around 3");
	cfg.anon_fault_around = 128;
	expect_refusal(&cfg, "anon_fault_around 128");
	vm_config_init(&cfg);
	cfg.task_size = 4096;
	expect_refusal(&cfg, "task size 4096");
	vm_config_init(&cfg);
	cfg.mem_bytes = 1ULL << 62; /* overflows the pool limit */
	expect_refusal(&cfg, "cannot create emulated RAM");
	vm_config_init(&cfg);
	cfg.mem_bytes = 4096; /* one frame: no room for the kernel */
	expect_refusal(&cfg, "too small");
	assert_null(vm_create(NULL, NULL, 0));
}

/* The memfd behind RAM cannot be created: the step and the cause named. */
static void test_vm_memfd_refused(void **state)
{
	struct rlimit old, lim;
	struct vm_config cfg;
	char err[256] = "";
	struct vm *vm;
	int lowest = count_fds();

	(void)state;
	vm_config_init(&cfg);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	vm = vm_create(&cfg, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_null(vm);
	if (!strstr(err, "cannot create emulated RAM") ||
	    !strstr(err, "memfd_create") || !strstr(err, "open files"))
		fail_msg("unexpected error: %s", err);
	assert_int_equal(count_fds(), lowest);
}

static void test_vm_smallest_machines(void **state)
{
	struct vm_config cfg;
	char err[256];
	struct vm *vm;

	(void)state;
	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	for (uint64_t pages = 8; pages <= 64; pages *= 2) {
		cfg.mem_bytes = pages * 4096;
		vm = vm_create(&cfg, err, sizeof(err));
		if (!vm)
			fail_msg("%llu pages: %s", (unsigned long long)pages,
				 err);
		vm_destroy(vm);
	}
}

/*
 * A host whose vm.max_map_count is too small for native mode: the machine
 * takes the limit from vm_config.max_map_count instead of the host's
 * sysctl, so the host is never touched.
 */
static void test_vm_max_map_count_too_small(void **state)
{
	struct vm_config cfg;
	char err[256] = "";
	struct vm *vm;

	(void)state;
	vm_config_init(&cfg);
	cfg.max_map_count = 1000;
	vm = vm_create(&cfg, err, sizeof(err));
	assert_null(vm);
	if (!strstr(err, "vm.max_map_count is 1000") ||
	    !strstr(err, "sysctl -w vm.max_map_count="))
		fail_msg("unexpected error: %s", err);
	/* Trace mode has no such limit. */
	cfg.mode = VM_MODE_TRACE;
	vm = vm_create(&cfg, err, sizeof(err));
	assert_non_null(vm);
	vm_destroy(vm);
	/* A negative limit is a bad configuration. */
	cfg.max_map_count = -1;
	assert_null(vm_create(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "max_map_count"));
}

static int sleepy_fn(struct vm_task *t, void *arg)
{
	(void)t;
	usleep(50000);
	*(int *)arg = 1;
	return 0;
}

static void test_vm_destroy_waits_for_tasks(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 8ULL << 20);
	int done[3] = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_true(vm_spawn(vm, "sleepy", 0, sleepy_fn, &done[i]) > 0);
	vmtest_destroy(vm);
	for (int i = 0; i < 3; i++)
		assert_int_equal(done[i], 1);
}

struct waiter {
	struct vm *vm;
	int done, child_code;
};

static int waiting_parent_fn(struct vm_task *t, void *arg)
{
	struct waiter *w = arg;
	struct vm_exit ex;
	int child = vm_fork(t, sleepy_fn, &w->done);

	if (child < 0 || vm_wait(w->vm, child, &ex) != child)
		return 1;
	w->child_code = ex.code + 10 * (int)ex.reason;
	return 0;
}

/* vm_destroy must not steal (or spin on) a child its parent waits for. */
static void test_vm_destroy_while_parent_waits(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, 8ULL << 20);
	struct waiter w = { vm, 0, -1 };

	(void)state;
	assert_true(vm_spawn(vm, "parent", 0, waiting_parent_fn, &w) > 0);
	vmtest_destroy(vm);
	assert_int_equal(w.done, 1);
	assert_int_equal(w.child_code, 0);
}

/*
 * The buddy's two modes through the machine: the order-0 pcp cache and
 * lazy coalescing.  A workload that maps, writes, forks, COW-breaks,
 * unmaps and exits runs on each; every walker holds after every step and
 * every frame comes back.  The pcp frames count as free (as Linux's do)
 * but are not in /proc/buddyinfo.
 */
#define MODE_PAGES 256

static void buddy_mode_run(bool pcp, bool lazy)
{
	struct vm_config cfg;
	struct parked p, c;
	struct vm_stat st;
	struct vm *vm;
	uint64_t a, free0;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 8ULL << 20;
	cfg.buddy_pcp = pcp;
	cfg.buddy_lazy = lazy;
	vm = vmtest_create_cfg(&cfg);
	vm_stat(vm, &st);
	free0 = st.nr_free_pages + vmtest_slab_pages(vm);
	for (int round = 0; round < 3; round++) {
		assert_true(park_spawn(vm, &p, "modes") > 0);
		a = vm_mmap(p.t, 0, MODE_PAGES * 4096ULL,
			    VM_PROT_READ | VM_PROT_WRITE,
			    VM_MAP_PRIVATE | VM_MAP_ANON);
		for (unsigned i = 0; i < MODE_PAGES; i++)
			assert_int_equal(vmtest_store(p.t, a + i * 4096ULL, 1),
					 0);
		assert_int_equal(vmtest_check_all(vm), 0);
		assert_true(park_fork(&p, &c) > 0);
		for (unsigned i = 0; i < MODE_PAGES; i += 2)
			assert_int_equal(vmtest_store(c.t, a + i * 4096ULL, 2),
					 0);
		assert_int_equal(vmtest_check_all(vm), 0);
		assert_int_equal(vm_munmap(p.t, a, MODE_PAGES * 2048ULL), 0);
		assert_int_equal(vmtest_check_all(vm), 0);
		assert_int_equal(park_release(&c, NULL), c.pid);
		assert_int_equal(park_release(&p, NULL), p.pid);
		assert_int_equal(vmtest_check_all(vm), 0);
		vm_stat(vm, &st);
		assert_int_equal(st.nr_free_pages + vmtest_slab_pages(vm),
				 free0);
	}
	vmtest_destroy(vm);
}

static void test_vm_buddy_modes(void **state)
{
	(void)state;
	buddy_mode_run(true, false);
	buddy_mode_run(false, true);
	buddy_mode_run(true, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_bad_config),
		VMTEST(test_vm_buddy_modes),
		cmocka_unit_test(test_vm_memfd_refused),
		cmocka_unit_test(test_vm_smallest_machines),
		cmocka_unit_test(test_vm_max_map_count_too_small),
		VMTEST(test_vm_destroy_waits_for_tasks),
		VMTEST(test_vm_destroy_while_parent_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
