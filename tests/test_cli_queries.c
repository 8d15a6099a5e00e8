/*
 * tests/test_cli_queries.c - the cookbook cannot rot: every ```sql block
 * of docs/queries.md runs through `vmemu query --run N` on the log of a
 * real run of the built-in scenario (--mem 16M), and must exit 0 with
 * nothing on stderr and at least one row, unless the block says it "may
 * print nothing".  The "Why was the victim chosen?" block is also held
 * to its promise: its recomputed column equals points on every row.
 * Skipped when docs/queries.md is not found (run from the repository
 * root, or set VMEMU_DOCS to the docs folder).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/clitest.h"

#define DOC_MAX	  (1 << 16)
#define MAX_BLOCK 4096

static struct cli_result res;

static size_t read_doc(char *buf, size_t len)
{
	const char *dir = getenv("VMEMU_DOCS") ? getenv("VMEMU_DOCS") : "docs";
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/queries.md", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

/* The next ```sql block after *pos into sql; false when none is left. */
static bool next_block(const char **pos, char *sql, size_t len)
{
	const char *start = strstr(*pos, "\n```sql\n"), *end;

	if (!start)
		return false;
	start += strlen("\n```sql\n");
	end = strstr(start, "\n```");
	assert_non_null(end);
	assert_true((size_t)(end - start) < len);
	snprintf(sql, len, "%.*s", (int)(end - start), start);
	*pos = end + strlen("\n```");
	return true;
}

/* Every row of the recomputed-badness query adds up. */
static void check_badness(const char *out)
{
	const char *line = strchr(out, '\n');
	int rows = 0;

	while (line && line[1]) {
		long long v[10];
		char name[64];

		line++;
		if (sscanf(line,
			   "%lld|%lld|%63[^|]|%lld|%lld|%lld|%lld|%lld|%lld|"
			   "%lld",
			   &v[0], &v[1], name, &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7], &v[8]) == 10) {
			if (v[6] != v[7])
				fail_msg("points %lld != recomputed %lld: %s",
					 v[6], v[7], line);
			rows++;
		}
		line = strchr(line, '\n');
	}
	assert_true(rows >= 2);
}

static void test_cli_queries_cookbook_runs(void **state)
{
	static char doc[DOC_MAX], sql[MAX_BLOCK];
	const char *pos = doc;
	char dir[64], db[96];
	int blocks = 0;

	(void)state;
	if (!read_doc(doc, sizeof(doc)))
		skip();
	clitest_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/cookbook.db", dir);
	clitest_run(&res, ARGS("run", "--quiet", "--mem", "16M", "--log", db));
	assert_int_equal(res.status, 0);
	while (next_block(&pos, sql, sizeof(sql))) {
		clitest_run(&res, ARGS("query", db, "--run", "1", sql));
		blocks++;
		if (res.status != 0 || res.err[0])
			fail_msg("block %d failed (status %d): %s\n%s", blocks,
				 res.status, res.err, sql);
		if (!res.out[0] && !strstr(sql, "may print nothing"))
			fail_msg("block %d printed no row:\n%s", blocks, sql);
		if (strstr(sql, "AS recomputed"))
			check_badness(res.out);
	}
	print_message("%d SQL blocks of docs/queries.md ran\n", blocks);
	assert_true(blocks >= 15);
	clitest_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_queries_cookbook_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
