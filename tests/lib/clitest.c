/*
 * tests/lib/clitest.c - the vmemu command as a child process of a test
 * (see clitest.h).  stdout is drained before stderr: stderr stays short
 * unless it is a terminal, which then is not a pipe of ours.
 */
#include "tests/lib/clitest.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

const char *clitest_vmemu(void)
{
	return getenv("VMEMU") ? getenv("VMEMU") : "./vmemu";
}

static size_t slurp(int fd, char *buf, size_t len, size_t used)
{
	ssize_t n;

	while (used + 1 < len &&
	       ((n = read(fd, buf + used, len - 1 - used)) > 0 ||
		(n < 0 && errno == EINTR)))
		used += n > 0 ? (size_t)n : 0;
	buf[used] = '\0';
	return used;
}

static void child_exec(char **argv, int out, int err, const struct cli_opts *o)
{
	dup2(out, 1);
	dup2(o && o->err_fd >= 0 ? o->err_fd : err, 2);
	if (o && o->fsize_bytes > 0) {
		struct rlimit rl = { (rlim_t)o->fsize_bytes,
				     (rlim_t)o->fsize_bytes };

		signal(SIGXFSZ, SIG_IGN); /* write fails with EFBIG instead */
		setrlimit(RLIMIT_FSIZE, &rl);
	}
	execv(argv[0], argv);
	_exit(127);
}

void clitest_start(struct cli_child *c, const char *const *args,
		   const struct cli_opts *o)
{
	char *argv[CLITEST_MAX_ARGS + 2];
	int out[2], err[2];
	size_t n = 0;

	argv[n++] = (char *)(uintptr_t)clitest_vmemu();
	while (args[n - 1] && n <= CLITEST_MAX_ARGS) {
		argv[n] = (char *)(uintptr_t)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(out[0]);
		close(err[0]);
		child_exec(argv, out[1], err[1], o);
	}
	close(out[1]);
	close(err[1]);
	c->out = out[0];
	c->err = err[0];
}

void clitest_finish(struct cli_child *c, struct cli_result *r, size_t out_used)
{
	int st;

	slurp(c->out, r->out, sizeof(r->out), out_used);
	slurp(c->err, r->err, sizeof(r->err), 0);
	close(c->out);
	close(c->err);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

size_t clitest_read_until(struct cli_child *c, struct cli_result *r,
			  const char *needle)
{
	size_t used = 0;
	ssize_t n;

	r->out[0] = '\0';
	while (!strstr(r->out, needle) && used + 1 < sizeof(r->out) &&
	       ((n = read(c->out, r->out + used, sizeof(r->out) - 1 - used)) >
			0 ||
		(n < 0 && errno == EINTR))) {
		used += n > 0 ? (size_t)n : 0;
		r->out[used] = '\0';
	}
	return used;
}

void clitest_run(struct cli_result *r, const char *const *args)
{
	struct cli_child c;

	clitest_start(&c, args, NULL);
	clitest_finish(&c, r, 0);
}

void clitest_expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("output lacks '%s':\n%s", needle, hay);
}

void clitest_expect_usage_error(const char *const *args, const char *needle)
{
	static struct cli_result r;
	char *nl;

	clitest_run(&r, args);
	if (r.status != 2)
		fail_msg("%s %s: status %d, stderr '%s'", args[0],
			 args[1] ? args[1] : "", r.status, r.err);
	assert_string_equal(r.out, "");
	assert_true(strncmp(r.err, "vmemu: ", 7) == 0);
	nl = strchr(r.err, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0'); /* exactly one line */
	clitest_expect_in(r.err, needle);
}

void clitest_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/vmemu-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

void clitest_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}
