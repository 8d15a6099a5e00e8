/*
 * cli/query.c - `vmemu query FILE.db "SQL" [--mode M] [--run ID]`.
 *
 * Opens the database with SQLITE_OPEN_READONLY and nothing else: a
 * missing file is not created (exit 2), and a statement that would write
 * is refused by SQLite itself ("attempt to write a readonly database"),
 * not by looking at the SQL.  The statements of SQL run in order, each
 * printing its rows (cli_print_rows) like `sqlite3 -header`; the first
 * error stops the run with sqlite3's message and exit 1, after the rows
 * of the statements before it, as sqlite3 does.  A statement with a :run
 * parameter gets --run's value (an integer, else text); without --run it
 * is a usage error, since NULL would silently match nothing.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cli/cli.h"
#include "cli/output.h"

static const char query_usage[] =
	"usage: vmemu query FILE.db \"SQL\" [--mode list|csv|json|box|line] "
	"[--run ID]\n"
	"\n"
	"Runs SQL (one or more statements separated by ';') on an event log\n"
	"written by `vmemu run --log FILE.db`, read-only, and prints the rows\n"
	"as `sqlite3 -header` does.\n"
	"\n"
	"  --mode MODE  list (default: a|b with a header line), csv, json,\n"
	"               box (a drawn table) or line (name = value)\n"
	"  --run ID     bind the parameter :run, if the SQL has one, to ID\n"
	"               (the runs table's run_id)\n"
	"  -h, --help   this text\n"
	"\n"
	"The file is opened read-only: it is never created or changed, and\n"
	"a statement that writes fails.  docs/queries.md has examples.\n"
	"Exit status: 0 ok; 1 an SQL error (message as sqlite3's); 2 bad usage\n"
	"or a database that cannot be opened.\n";

struct query_args {
	const char *path, *sql, *run;
	enum cli_mode mode;
};

static int parse_query(int argc, char **argv, struct query_args *q)
{
	struct cli_args a = { argc, argv, 1, "" };
	const char *arg, *val, *iv;

	while (cli_arg_next(&a, &arg, &iv)) {
		if (cli_is_help(arg)) {
			fputs(query_usage, stdout);
			return -1;
		} else if (strcmp(arg, "--mode") == 0) {
			val = cli_arg_value(&a, "query", arg, iv);
			if (!val)
				return CLI_EXIT_USAGE;
			if (cli_mode_parse(val, &q->mode) < 0)
				return cli_error(
					"query: --mode '%s' is not one "
					"of %s",
					val, cli_mode_names());
		} else if (strcmp(arg, "--run") == 0) {
			q->run = cli_arg_value(&a, "query", arg, iv);
			if (!q->run)
				return CLI_EXIT_USAGE;
		} else if (cli_is_option(arg)) {
			return cli_error("query: unknown option '%s'", arg);
		} else if (!q->path) {
			q->path = arg;
		} else if (!q->sql) {
			q->sql = arg;
		} else {
			return cli_error("query: unexpected argument '%s' (one "
					 "FILE and one SQL string)",
					 arg);
		}
	}
	if (!q->path || !q->sql)
		return cli_error("query: needs FILE.db and \"SQL\" (vmemu "
				 "query --help)");
	return 0;
}

/* Bind :run if st has it; 0, or CLI_EXIT_USAGE without --run. */
static int bind_run(sqlite3_stmt *st, const char *run)
{
	int idx = sqlite3_bind_parameter_index(st, ":run");
	sqlite3_int64 id;
	char tail;

	if (idx == 0)
		return 0;
	if (!run)
		return cli_error("query: the SQL uses :run; give --run ID");
	if (sscanf(run, "%lld%c", &id, &tail) == 1)
		sqlite3_bind_int64(st, idx, id);
	else
		sqlite3_bind_text(st, idx, run, -1, SQLITE_TRANSIENT);
	return 0;
}

/* Prepare and print each statement of q->sql in turn. */
static int run_statements(sqlite3 *db, const struct query_args *q)
{
	const char *sql = q->sql;

	while (*sql) {
		sqlite3_stmt *st = NULL;
		const char *tail;
		int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);

		if (rc != SQLITE_OK)
			return cli_fail("query: %s", sqlite3_errmsg(db));
		sql = tail;
		if (!st)
			continue; /* whitespace or a comment */
		rc = bind_run(st, q->run);
		if (rc) {
			sqlite3_finalize(st);
			return rc;
		}
		rc = cli_print_rows(stdout, st, q->mode);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return cli_fail("query: %s",
					rc == SQLITE_NOMEM ?
						"out of memory" :
						sqlite3_errmsg(db));
	}
	return CLI_EXIT_OK;
}

int cli_query(int argc, char **argv)
{
	struct query_args q = { 0 };
	sqlite3 *db = NULL;
	int rc = parse_query(argc, argv, &q);

	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (sqlite3_open_v2(q.path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		rc = cli_error("query: cannot open '%s': %s", q.path,
			       db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	rc = run_statements(db, &q);
	fflush(stdout);
	sqlite3_close(db);
	return rc;
}
