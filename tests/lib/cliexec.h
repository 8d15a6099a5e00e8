/*
 * tests/lib/cliexec.h - reading what the built vmemu printed, for the
 * `vmemu explain` tests: its --json through SQLite's JSON functions (an
 * independent parser), its text against the 80-column rule.  Running it
 * is tests/lib/clitest.h's (clitest_run: $VMEMU, default ./vmemu; `make
 * asan` points it at the ASan build).
 *
 * One command's result at a time, in cli_res (large: not on the stack).
 * Asserts with cmocka: call from a test's main thread.  Not linked into
 * the benchmarks (no cmocka there): the Makefile leaves it out with
 * clitest.o.
 */
#ifndef VMEMU_TEST_CLIEXEC_H
#define VMEMU_TEST_CLIEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lib/clitest.h"

extern struct cli_result cli_res;

/* Run vmemu with args (ARGS(...)); its status and output in cli_res. */
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
 * fits 80 columns and ends without a blank, it ends with the `vmemu
 * query` to run. */
void cliexec_check_text(const char *what);

#endif /* VMEMU_TEST_CLIEXEC_H */
