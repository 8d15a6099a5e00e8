/*
 * tests/lib/clitest.h - running the vmemu command from a test: start it
 * as a child process ($VMEMU, default ./vmemu) with its stdout and
 * stderr on pipes, read both, wait; and the checks every CLI test makes.
 *
 * The child's environment can limit the size of files it writes
 * (RLIMIT_FSIZE, with SIGXFSZ ignored) to make its event log fail like
 * a full disk.  Results are large: keep them static in the test.
 * Main thread only (cmocka asserts).
 */
#ifndef VMEMU_TEST_CLITEST_H
#define VMEMU_TEST_CLITEST_H

#include <stddef.h>
#include <sys/types.h>

#define CLITEST_MAX_ARGS 48
#define CLITEST_OUT_LEN	 (1 << 18)
#define CLITEST_ERR_LEN	 (1 << 16)

struct cli_result {
	int status; /* exit status; 128 + n if killed by signal n */
	char out[CLITEST_OUT_LEN];
	char err[CLITEST_ERR_LEN];
};

struct cli_child {
	pid_t pid;
	int out, err;
};

struct cli_opts {
	int err_fd;	       /* stderr goes there if >= 0 (a pty) */
	long long fsize_bytes; /* RLIMIT_FSIZE if > 0 */
};

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

const char *clitest_vmemu(void);
/* Start vmemu with args (NULL-terminated); o may be NULL. */
void clitest_start(struct cli_child *c, const char *const *args,
		   const struct cli_opts *o);
/* Read the rest of its output (out_used bytes of r->out already), wait. */
void clitest_finish(struct cli_child *c, struct cli_result *r, size_t out_used);
/* Read stdout until it holds needle (or EOF); the bytes read. */
size_t clitest_read_until(struct cli_child *c, struct cli_result *r,
			  const char *needle);
void clitest_run(struct cli_result *r, const char *const *args);
/* Fail unless hay holds needle. */
void clitest_expect_in(const char *hay, const char *needle);
/* Status 2, nothing on stdout, one "vmemu: ..." line holding needle. */
void clitest_expect_usage_error(const char *const *args, const char *needle);
/* A fresh directory under /tmp into dir (len >= 32); see _rmdir. */
void clitest_tmpdir(char *dir, size_t len);
/* Remove dir and the files in it (not recursive). */
void clitest_rmdir(const char *dir);

#endif /* VMEMU_TEST_CLITEST_H */
