/*
 * tests/test_task.c - killing and reaping a task from another thread, the
 * counter funnel, and the lock discipline.
 *
 * vm_kill is what the OOM killer will do: the victim's memory goes back at
 * once (its window revoked, its tables and frames freed) while its thread
 * may be anywhere - spinning over resident memory that never traps,
 * blocked in vm_wait, inside vm_* calls, or in vm_access.  Each case must
 * leave promptly with VM_EXIT_KILLED.  The funnel: pgfault is the sum of
 * the fault kinds, the owner of an address space is charged for faults in
 * it (whoever touched it), and /proc/vmstat lists every counter.  A trap
 * taken while the machine lock is held is a bug said out loud.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#define PAGE	  4096ULL
#define RW	  (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	  (VM_MAP_PRIVATE | VM_MAP_ANON)
#define MEM	  (16ULL << 20)
#define NPAGES	  64
#define SPIN_WAIT 1000 /* us between looks at a flag */

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

/* ---- vm_kill ------------------------------------------------------------ */

/* A parked task's frames come back at the kill, before it even runs. */
static void test_task_kill_reaps_at_once(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	uint64_t free0 = stat_of(vm).nr_free_pages + vmtest_slab_pages(vm), a;
	struct vm_task_info info;
	struct parked p;
	struct vm_exit ex;

	(void)state;
	assert_true(park_spawn(vm, &p, "victim") > 0);
	a = vm_mmap(p.t, 0, NPAGES * PAGE, RW, ANON);
	for (unsigned i = 0; i < NPAGES; i++)
		assert_int_equal(vmtest_store(p.t, a + i * PAGE, 1), 0);
	assert_true(stat_of(vm).nr_free_pages + vmtest_slab_pages(vm) <
		    free0 - NPAGES);
	assert_int_equal(vm_kill(vm, p.pid), 0);
	/* Reaped: data frames and page tables gone, the task still there. */
	assert_int_equal(vm_task_info(vm, p.pid, &info), 0);
	assert_int_equal(info.rss_anon, 0);
	assert_int_equal(info.pgtables, 1); /* the PGD stays until exit */
	assert_int_equal(info.ru.maxrss, NPAGES);
	assert_int_equal(stat_of(vm).nr_anon_pages, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	/* Its next vm_* call is refused; it leaves KILLED. */
	assert_int_equal(park_release(&p, &ex), p.pid);
	assert_int_equal(ex.reason, VM_EXIT_KILLED);
	assert_int_equal(stat_of(vm).nr_free_pages + vmtest_slab_pages(vm),
			 free0);
	assert_int_equal(vm_kill(vm, p.pid), -ESRCH);
	vmtest_destroy(vm);
}

struct spin {
	struct vm *vm;
	atomic_int started;
	atomic_int stop;
	int child_pid;
};

/* Native: write resident pages forever; only a trap can stop it. */
static int spin_native(struct vm_task *t, void *arg)
{
	struct spin *s = arg;
	uint64_t a = vm_mmap(t, 0, NPAGES * PAGE, RW, ANON);
	volatile uint8_t *p = vm_ptr(t, a);

	for (unsigned i = 0; i < NPAGES; i++)
		p[i * PAGE] = 1; /* resident from here on: no more traps */
	atomic_store(&s->started, 1);
	for (uint64_t i = 0; !atomic_load(&s->stop); i++)
		p[(i % NPAGES) * PAGE]++;
	return 0;
}

/* Trace: vm_access in a loop (mostly software-TLB hits). */
static int spin_trace(struct vm_task *t, void *arg)
{
	struct spin *s = arg;
	uint64_t a = vm_mmap(t, 0, NPAGES * PAGE, RW, ANON);

	atomic_store(&s->started, 1);
	for (uint64_t i = 0; !atomic_load(&s->stop); i++)
		if (vm_access(t, a + (i % NPAGES) * PAGE, 1) != 0)
			return 1;
	return 0;
}

/* Calls into the kernel in a loop: mmap, touch, munmap. */
static int spin_syscalls(struct vm_task *t, void *arg)
{
	struct spin *s = arg;

	atomic_store(&s->started, 1);
	while (!atomic_load(&s->stop)) {
		uint64_t a = vm_mmap(t, 0, PAGE, RW, ANON);
		uint8_t b = 1;

		if (vm_mmap_failed(a) || vm_write(t, a, &b, 1) != 0 ||
		    vm_munmap(t, a, PAGE) != 0)
			return 1;
	}
	return 0;
}

static int parked_child(struct vm_task *t, void *arg)
{
	struct spin *s = arg;

	(void)t;
	while (!atomic_load(&s->stop))
		usleep(SPIN_WAIT);
	return 0;
}

/* Blocked in vm_wait for a child that does not end. */
static int spin_waiter(struct vm_task *t, void *arg)
{
	struct spin *s = arg;

	s->child_pid = vm_fork(t, parked_child, s);
	if (s->child_pid < 0)
		return 1;
	atomic_store(&s->started, 1);
	vm_wait(s->vm, s->child_pid, NULL);
	return 2; /* not reached: killed while waiting */
}

static void kill_case(enum vm_mode mode, vm_task_fn fn)
{
	struct vm *vm = vmtest_create(mode, MEM);
	struct spin s = { .vm = vm };
	struct vm_exit ex;
	int pid;

	pid = vm_spawn(vm, "victim", 0, fn, &s);
	assert_true(pid > 0);
	while (!atomic_load(&s.started))
		usleep(SPIN_WAIT);
	usleep(10 * SPIN_WAIT);
	assert_int_equal(vm_kill(vm, pid), 0);
	/* No stop flag: only the kill can end it (the test has a timeout). */
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_KILLED);
	atomic_store(&s.stop, 1);
	if (s.child_pid > 0) {
		assert_int_equal(vm_wait(vm, s.child_pid, &ex), s.child_pid);
		assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	}
	assert_int_equal(stat_of(vm).nr_anon_pages, 0);
	vmtest_destroy(vm);
}

static void test_task_kill_native_spinner(void **state)
{
	(void)state;
	kill_case(VM_MODE_NATIVE, spin_native);
}

static void test_task_kill_trace_spinner(void **state)
{
	(void)state;
	kill_case(VM_MODE_TRACE, spin_trace);
}

static void test_task_kill_in_syscalls(void **state)
{
	(void)state;
	kill_case(VM_MODE_TRACE, spin_syscalls);
	kill_case(VM_MODE_NATIVE, spin_syscalls);
}

static void test_task_kill_while_waiting(void **state)
{
	(void)state;
	kill_case(VM_MODE_TRACE, spin_waiter);
}

/* ---- the counter funnel ------------------------------------------------- */

/* pgfault is exactly the sum of the kinds that change a PTE. */
static void test_task_pgfault_is_sum_of_kinds(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	struct parked p, c;
	struct vm_stat st;
	uint64_t a;
	uint8_t v;

	(void)state;
	assert_true(park_spawn(vm, &p, "mix") > 0);
	a = vm_mmap(p.t, 0, NPAGES * PAGE, RW, ANON);
	for (unsigned i = 0; i < NPAGES / 2; i++) /* zero page, then anon */
		assert_int_equal(vmtest_load(p.t, a + i * PAGE, &v), 0);
	for (unsigned i = 0; i < NPAGES; i++)
		assert_int_equal(vmtest_store(p.t, a + i * PAGE, 3), 0);
	assert_true(park_fork(&p, &c) > 0);
	for (unsigned i = 0; i < NPAGES / 4; i++) /* copies */
		assert_int_equal(vmtest_store(c.t, a + i * PAGE, 4), 0);
	for (unsigned i = 0; i < NPAGES / 4; i++) /* sole owner now */
		assert_int_equal(vmtest_store(p.t, a + i * PAGE, 5), 0);
	st = stat_of(vm);
	assert_int_equal(st.zero_page_map, NPAGES / 2);
	assert_int_equal(st.anon_fault, NPAGES);
	assert_int_equal(st.cow_fault, NPAGES / 4);
	assert_int_equal(st.cow_reuse, NPAGES / 4);
	assert_int_equal(st.pgfault, st.anon_fault + st.zero_page_map +
					     st.cow_fault + st.cow_reuse);
	assert_int_equal(st.task_spawn, 1);
	assert_int_equal(st.task_fork, 1);
	assert_int_equal(park_release(&c, NULL), c.pid);
	assert_int_equal(park_release(&p, NULL), p.pid);
	assert_int_equal(stat_of(vm).task_exit, 2);
	/* pgalloc - pgfree = frames the kernel holds. */
	st = stat_of(vm);
	assert_int_equal(st.pgalloc_normal - st.pgfree,
			 MEM / PAGE - st.nr_free_pages);
	vmtest_destroy(vm);
}

/* /proc/vmstat lists every counter, Linux's plain, ours with vmemu_. */
static void test_task_vmstat_text(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, MEM);
	static char buf[8192];
	int n;

	(void)state;
	n = vm_procfs(vm, "vmstat", buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_non_null(strstr(buf, "nr_free_pages "));
	assert_non_null(strstr(buf, "\npgfault 0\n"));
	assert_non_null(strstr(buf, "\nallocstall_normal 0\n"));
	assert_non_null(strstr(buf, "\nvmemu_cow_fault 0\n"));
	assert_non_null(strstr(buf, "\nvmemu_anon_fault 0\n"));
	assert_null(strstr(buf, "vmemu_pgfault"));
	vmtest_destroy(vm);
}

struct owner_ctx {
	struct vm_task *owner;
	uint64_t va;
	atomic_int ready, done;
};

static int owner_fn(struct vm_task *t, void *arg)
{
	struct owner_ctx *c = arg;

	c->va = vm_mmap(t, 0, NPAGES * PAGE, RW, ANON);
	c->owner = t;
	atomic_store(&c->ready, 1);
	while (!atomic_load(&c->done))
		usleep(SPIN_WAIT);
	return 0;
}

/* Another task's thread writes into the owner's window; the reader of
 * an unmapped page there gets the SIGSEGV. */
static int intruder_fn(struct vm_task *t, void *arg)
{
	struct owner_ctx *c = arg;
	volatile uint8_t *p = vm_ptr(c->owner, c->va);

	(void)t;
	for (unsigned i = 0; i < NPAGES; i++)
		p[i * PAGE] = 7;
	return p[NPAGES * PAGE + PAGE * 16]; /* beyond the mapping */
}

/* Faults are the address space's owner's; the SIGSEGV is the toucher's. */
static void test_task_fault_attribution(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, MEM);
	struct owner_ctx c = { 0 };
	struct vm_task_info oi, ii;
	struct vm_exit ex;
	int owner, intruder;

	(void)state;
	owner = vm_spawn(vm, "owner", 0, owner_fn, &c);
	assert_true(owner > 0);
	while (!atomic_load(&c.ready))
		usleep(SPIN_WAIT);
	intruder = vm_spawn(vm, "intruder", 0, intruder_fn, &c);
	assert_true(intruder > 0);
	assert_int_equal(vm_wait(vm, intruder, &ex), intruder);
	assert_int_equal(ex.reason, VM_EXIT_SEGV);
	assert_int_equal(ex.ru.minflt, 0);
	assert_int_equal(vm_task_info(vm, owner, &oi), 0);
	assert_int_equal(oi.ru.minflt, NPAGES);
	assert_int_equal(oi.ru.maxrss, NPAGES);
	assert_int_equal(oi.rss_anon, NPAGES);
	assert_int_equal(stat_of(vm).segv, 1);
	atomic_store(&c.done, 1);
	assert_int_equal(vm_wait(vm, owner, &ex), owner);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.ru.minflt, NPAGES);
	assert_int_equal(vm_task_info(vm, intruder, &ii), -ESRCH);
	vmtest_destroy(vm);
}

/* ---- other ways to end, and the accessors ------------------------------- */

static int abort_fn(struct vm_task *t, void *arg)
{
	(void)arg;
	vm_abort(t, "free(): invalid pointer");
}

static int touch_fn(struct vm_task *t, void *arg)
{
	uint64_t a = vm_mmap(t, 0, PAGE, RW, ANON);
	volatile uint8_t *p = vm_ptr(t, a);

	(void)arg;
	p[0] = 1; /* the host refuses the mapping */
	return 0;
}

static void test_task_abort_and_host_nomem(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_NATIVE, MEM);
	struct vm_fault_attr once = { 100, 1, 1, 0 };
	struct vm_exit ex;
	int pid;

	(void)state;
	pid = vm_spawn(vm, "aborts", 0, abort_fn, NULL);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_ABORT);
	assert_string_equal(ex.msg, "free(): invalid pointer");
	/* The host's ENOMEM is not an emulated OOM. */
	assert_int_equal(vm_fault_inject(vm, "fail_host_map", &once), 0);
	pid = vm_spawn(vm, "hostless", 0, touch_fn, NULL);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_HOST_NOMEM);
	assert_int_equal(vm_fault_injected(vm, "fail_host_map"), 1);
	assert_int_equal(stat_of(vm).oom_kill, 0);
	vmtest_destroy(vm);
}

/* vm_read/vm_write across page boundaries, in both modes, as accesses. */
static void rw_mode(enum vm_mode mode)
{
	struct vm *vm = vmtest_create(mode, MEM);
	uint8_t out[3 * PAGE], in[3 * PAGE];
	struct vm_stat s0, s1;
	struct parked p;
	uint64_t a;

	assert_true(park_spawn(vm, &p, "rw") > 0);
	a = vm_mmap(p.t, 0, 4 * PAGE, RW, ANON);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	s0 = stat_of(vm);
	assert_int_equal(vm_write(p.t, a + 100, out, sizeof(out)), 0);
	s1 = stat_of(vm);
	assert_int_equal(s1.anon_fault - s0.anon_fault, 4); /* 4 pages */
	memset(in, 0, sizeof(in));
	assert_int_equal(vm_read(p.t, a + 100, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(stat_of(vm).pgfault, s1.pgfault); /* resident */
	assert_int_equal(vm_read(p.t, a + 4 * PAGE - 1, in, 2), -EFAULT);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

static void test_task_read_write(void **state)
{
	(void)state;
	rw_mode(VM_MODE_TRACE);
	rw_mode(VM_MODE_NATIVE);
}

/* ---- lock discipline ---------------------------------------------------- */

/* In a child process: touch a window while holding the machine lock. */
static void lock_held_child(void)
{
	struct vm *vm;
	struct parked p;
	uint64_t a;
	volatile uint8_t *ptr;

	vm = vmtest_create(VM_MODE_NATIVE, MEM);
	if (park_spawn(vm, &p, "t") < 0)
		_exit(3);
	a = vm_mmap(p.t, 0, PAGE, RW, ANON);
	ptr = vm_ptr(p.t, a);
	vmtest_lock(vm);
	ptr[0] = 1; /* traps with the lock held */
	_exit(4);
}

static void test_task_trap_with_lock_held_is_a_bug(void **state)
{
	int fds[2], status;
	char buf[512] = "";
	ssize_t n, got = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		lock_held_child();
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	if (!strstr(buf, "trap taken with the machine lock held"))
		fail_msg("unexpected stderr: %s", buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_task_kill_reaps_at_once),
		VMTEST(test_task_kill_native_spinner),
		VMTEST(test_task_kill_trace_spinner),
		VMTEST(test_task_kill_in_syscalls),
		VMTEST(test_task_kill_while_waiting),
		VMTEST(test_task_pgfault_is_sum_of_kinds),
		VMTEST(test_task_vmstat_text),
		VMTEST(test_task_fault_attribution),
		VMTEST(test_task_abort_and_host_nomem),
		VMTEST(test_task_read_write),
		VMTEST(test_task_trap_with_lock_held_is_a_bug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
