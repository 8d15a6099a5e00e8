/*
 * tests/test_harness.c - the test harness itself fails instead of hanging.
 *
 * 1. A test that fails an assertion while it has parked tasks (and while
 *    it holds the machine lock) does not take the next test down with it:
 *    vmtest_teardown releases what it left.  Run in a child process, with
 *    a deadline: the group must end, reporting exactly one failure.
 * 2. tests/run-tests.sh kills a binary that runs past TEST_TIMEOUT and
 *    reports it as a failure, by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#define DEADLINE_S 30
#define POLL_US	   10000

/* Wait for pid at most DEADLINE_S; its status, or -1 after killing it. */
static int wait_deadline(pid_t pid)
{
	time_t end = time(NULL) + DEADLINE_S;
	int status;

	while (time(NULL) < end) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		usleep(POLL_US);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static struct vm *shared_vm;

/* Fails with two parked tasks and the machine lock held. */
static void inner_fails_while_parked(void **state)
{
	struct parked a, b;

	(void)state;
	shared_vm = vmtest_create(VM_MODE_TRACE, 8ULL << 20);
	assert_true(park_spawn(shared_vm, &a, "left-a") > 0);
	assert_true(park_spawn(shared_vm, &b, "left-b") > 0);
	vmtest_lock(shared_vm);
	fail_msg("deliberate failure with parked tasks and the lock held");
}

/* Parks and releases normally on a fresh machine. */
static void inner_parks_again(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, 8ULL << 20);
	struct parked p;

	(void)state;
	assert_true(park_spawn(vm, &p, "next") > 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

static void test_harness_failure_does_not_hang(void **state)
{
	const struct CMUnitTest inner[] = {
		VMTEST(inner_fails_while_parked),
		VMTEST(inner_parks_again),
	};
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Quiet: its deliberate FAILED lines are not this run's. */
		int null = open("/dev/null", O_WRONLY);
		int failed;

		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		/* cmocka's exit status is the number of failed tests. */
		failed =
			cmocka_run_group_tests_name("inner", inner, NULL, NULL);
		_exit(failed);
	}
	status = wait_deadline(pid);
	assert_int_not_equal(status, -1); /* it ended */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

static void test_harness_runner_times_out(void **state)
{
	char dir[] = "/tmp/vmemu-harness-XXXXXX", script[64], cmd[256];
	char out[1024] = "";
	FILE *f, *p;
	size_t n;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/test_hangs", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nsleep 60\n", f);
	fclose(f);
	assert_int_equal(chmod(script, 0700), 0);
	snprintf(cmd, sizeof(cmd), "TEST_TIMEOUT=1 tests/run-tests.sh %s 2>&1",
		 script);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	unlink(script);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	if (!strstr(out, "test_hangs") || !strstr(out, "TIMEOUT") ||
	    !strstr(out, "0 passed, 1 failed"))
		fail_msg("runner said: %s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_harness_failure_does_not_hang),
		cmocka_unit_test(test_harness_runner_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
