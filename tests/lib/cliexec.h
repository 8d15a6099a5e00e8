/*
 * tests/lib/cliexec.h - running the built vmemu from a test and reading
 * what it printed: its --json through SQLite's JSON functions (an
 * independent parser), its text against the 80-column rule.
 *
 * The binary is $VMEMU (default ./vmemu; `make test` and `make asan` set
 * it, so under `make asan` every command runs under AddressSanitizer).
 * One command's result at a time, in cli_res (large: not on the stack).
 * Asserts with cmocka: call from a test's main thread.
 */
#ifndef VMEMU_TEST_CLIEXEC_H
#define VMEMU_TEST_CLIEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_OUT_LEN  (512 * 1024)
#define CLI_ERR_LEN  4096
#define CLI_MAX_ARGS 12

struct cli_result {
	int status;
	char out[CLI_OUT_LEN];
	char err[CLI_ERR_LEN];
};
extern struct cli_result cli_res;

/* A NULL-terminated argument list: CLI_ARGS("explain", "oom"). */
#define CLI_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

const char *cliexec_vmemu(void);
/* Run vmemu with args; its exit status, stdout and stderr in cli_res. */
void cliexec_run(const char *const *args);
/* The same, and it must exit 0 (else the test fails with its stderr). */
void cliexec_run_ok(const char *const *args);

/*
 * The first column of the first row of sql, run with ?1 = cli_res.out
 * and ?2 = arg, as an integer or into buf; the test fails when there is
 * no row or the value is NULL.  cliexec_jint(path) is
 * json_extract(out, path).
 */
int64_t cliexec_sql_int(const char *sql, const char *arg);
const char *cliexec_sql_str(const char *sql, const char *arg, char *buf,
			    size_t len);
int64_t cliexec_jint(const char *path);
const char *cliexec_jstr(const char *path, char *buf, size_t len);
/* Is there a value (not NULL) at path? */
bool cliexec_jhas(const char *path);

/* cli_res.out is an explain text: starts "vmemu explain ", every line
 * fits 80 columns, it ends with the `vmemu query` to run. */
void cliexec_check_text(const char *what);

#endif /* VMEMU_TEST_CLIEXEC_H */
