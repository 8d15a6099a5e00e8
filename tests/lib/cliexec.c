/*
 * tests/lib/cliexec.c - see cliexec.h.
 */
#include "tests/lib/cliexec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

struct cli_result cli_res;

void cliexec_run(const char *const *args)
{
	clitest_run(&cli_res, args);
}

void cliexec_run_ok(const char *const *args)
{
	cliexec_run(args);
	if (cli_res.status != 0)
		fail_msg("status %d: %s", cli_res.status, cli_res.err);
}

/* Prepare sql with ?1 = the output and ?2 = arg; step to its first row. */
static sqlite3_stmt *query(sqlite3 **h, const char *sql, const char *arg)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(":memory:", h), SQLITE_OK);
	if (sqlite3_prepare_v2(*h, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(*h));
	sqlite3_bind_text(st, 1, cli_res.out, -1, SQLITE_STATIC);
	if (arg)
		sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_type(st, 0) == SQLITE_NULL)
		fail_msg("no value: %s (%s)", sql, arg ? arg : "");
	return st;
}

int64_t cliexec_sql_int(const char *sql, const char *arg)
{
	sqlite3 *h;
	sqlite3_stmt *st = query(&h, sql, arg);
	int64_t v = sqlite3_column_int64(st, 0);

	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

const char *cliexec_sql_str(const char *sql, const char *arg, char *buf,
			    size_t len)
{
	sqlite3 *h;
	sqlite3_stmt *st = query(&h, sql, arg);

	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return buf;
}

int64_t cliexec_jint(const char *path)
{
	return cliexec_sql_int("SELECT json_extract(?1, ?2)", path);
}

const char *cliexec_jstr(const char *path, char *buf, size_t len)
{
	return cliexec_sql_str("SELECT json_extract(?1, ?2)", path, buf, len);
}

bool cliexec_jhas(const char *path)
{
	return cliexec_sql_int("SELECT json_extract(?1, ?2) IS NOT NULL",
			       path) != 0;
}

void cliexec_check_text(const char *what)
{
	const char *s = cli_res.out, *nl;
	int line = 1;

	if (cli_res.status != 0)
		fail_msg("%s: status %d: %s", what, cli_res.status,
			 cli_res.err);
	assert_true(strncmp(cli_res.out, "vmemu explain ", 14) == 0);
	for (; *s; s = nl + 1, line++) {
		nl = strchr(s, '\n');
		assert_non_null(nl);
		if (nl - s > 80)
			fail_msg("%s: line %d has %d columns: %.*s", what, line,
				 (int)(nl - s), (int)(nl - s), s);
		if (nl > s && nl[-1] == ' ')
			fail_msg("%s: line %d ends with a blank", what, line);
	}
	assert_non_null(strstr(cli_res.out, "To see more"));
	assert_non_null(strstr(cli_res.out, "  vmemu query "));
}
