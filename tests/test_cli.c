/*
 * tests/test_cli.c - the vmemu command line, run as a separate process
 * ($VMEMU, default ./vmemu): bad input gets exactly one line on stderr and
 * exit status 2; the built-in demonstration runs in both modes and reports
 * what happened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

struct result {
	int status;
	char out[1 << 16];
	char err[4096];
};

static void slurp(int fd, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;

	while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
}

/* Run vmemu with args (NULL-terminated); stdout/stderr captured. */
static void run(struct result *r, const char *const *args)
{
	const char *bin = getenv("VMEMU") ? getenv("VMEMU") : "./vmemu";
	char *argv[16];
	int out[2], err[2], st;
	pid_t pid;
	size_t n = 0;

	argv[n++] = (char *)(uintptr_t)bin;
	while (args[n - 1] && n < 15) {
		argv[n] = (char *)(uintptr_t)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(bin, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* stdout first: stderr is at most a line, it never fills its pipe. */
	slurp(out[0], r->out, sizeof(r->out));
	slurp(err[0], r->err, sizeof(r->err));
	close(out[0]);
	close(err[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
}

static void expect_usage_error(const char *const *args, const char *needle)
{
	static struct result r;
	char *nl;

	run(&r, args);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_true(strncmp(r.err, "vmemu: ", 7) == 0);
	nl = strchr(r.err, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0'); /* exactly one line */
	if (!strstr(r.err, needle))
		fail_msg("stderr '%s' lacks '%s'", r.err, needle);
}

static void test_cli_bad_input(void **state)
{
	(void)state;
	expect_usage_error((const char *const[]){ "frobnicate", NULL },
			   "unknown command 'frobnicate'");
	expect_usage_error((const char *const[]){ "run", "--swap", "1G", NULL },
			   "unknown option '--swap'");
	expect_usage_error((const char *const[]){ "run", "--mem", NULL },
			   "--mem needs a value");
	expect_usage_error((const char *const[]){ "run", "--mem", "12X", NULL },
			   "--mem '12X' is not a size");
	expect_usage_error((const char *const[]){ "run", "--mem", "0", NULL },
			   "--mem '0' is not a size");
	expect_usage_error((const char *const[]){ "run", "--mem",
						  "99999999999G", NULL },
			   "is not a size");
	expect_usage_error((const char *const[]){ "run", "--mem", "5000",
						  NULL },
			   "not a positive multiple of 4096");
	expect_usage_error((const char *const[]){ "run", "--mode", "fast",
						  NULL },
			   "--mode 'fast' is not native or trace");
	expect_usage_error((const char *const[]){ "run", "--seed", "-3", NULL },
			   "--seed '-3' is not a number");
	expect_usage_error((const char *const[]){ "run", "--fault-around", "x",
						  NULL },
			   "--fault-around 'x' is not a power of two");
	expect_usage_error((const char *const[]){ "run", "--fault-around", "3",
						  NULL },
			   "--fault-around '3' is not a power of two up to 64");
}

static void test_cli_demo_runs(void **state)
{
	static struct result r;
	const char *modes[] = { "native", "trace" };

	(void)state;
	for (int i = 0; i < 2; i++) {
		run(&r, (const char *const[]){ "run", "--mem", "16M", "--mode",
					       modes[i], NULL });
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, modes[i]));
		assert_non_null(strstr(r.out, "fill-verify  exit 0: ok"));
		assert_non_null(strstr(r.out, "fork-cow     exit 0: ok"));
		assert_non_null(strstr(r.out, "SIGSEGV at va 0x0"));
		assert_non_null(strstr(r.out, "\npgfault "));
		assert_non_null(strstr(r.out, "Node 0, zone   Normal"));
		assert_non_null(strstr(r.out, "slabinfo - version: 2.1"));
		assert_string_equal(r.err, "");
	}
}

/* The knob reaches the machine: the demo's faults map blocks. */
static void test_cli_fault_around(void **state)
{
	static struct result r;
	const char *line;

	(void)state;
	run(&r, (const char *const[]){ "run", "--mem", "16M", "--fault-around",
				       "16", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "fill-verify  exit 0: ok"));
	line = strstr(r.out, "\nvmemu_fault_around ");
	assert_non_null(line);
	assert_true(atol(line + strlen("\nvmemu_fault_around ")) > 0);
	run(&r, (const char *const[]){ "run", "--mem", "16M", NULL });
	line = strstr(r.out, "\nvmemu_fault_around ");
	assert_non_null(line);
	assert_int_equal(atol(line + strlen("\nvmemu_fault_around ")), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_bad_input),
		cmocka_unit_test(test_cli_demo_runs),
		cmocka_unit_test(test_cli_fault_around),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
