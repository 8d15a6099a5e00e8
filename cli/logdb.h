/*
 * cli/logdb.h - reading a vmemu event log from the command line: open it
 * read-only after checking that it is one, and ask it about a run.
 *
 * The format is docs/evlog.md's: a SQLite file whose application_id is
 * CLI_LOG_APP_ID ("vmem"); user_version is the schema version.  A file
 * is judged from its first bytes with read(2) before SQLite sees it, so
 * a foreign or damaged file is never opened by SQLite at all (no -wal or
 * -shm appears next to it).  A vmemu log is opened with
 * SQLITE_OPEN_READONLY: SQLite refuses any write, and the file's bytes
 * never change (SQLite may leave empty -wal/-shm companions beside a
 * WAL-mode file, as `sqlite3 -readonly` does).
 * Main thread only; no state.
 */
#ifndef VMEMU_CLI_LOGDB_H
#define VMEMU_CLI_LOGDB_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#define CLI_LOG_APP_ID 0x766d656d /* "vmem": PRAGMA application_id */

/*
 * Open path read-only if it is a vmemu event log: 0, or -1 with one line
 * in err ("cannot open 'x': No such file or directory", "'x' is not a
 * vmemu event log (...)").  Waits up to a few seconds for a writer's
 * lock.
 */
int cli_logdb_open(const char *path, sqlite3 **db, char *err, size_t errlen);
/*
 * The same, read-write (never creating): for `vmemu run`'s questions to
 * its own log, so that closing it removes the -wal and -shm files as the
 * last connection does.  It writes nothing.
 */
int cli_logdb_open_own(const char *path, sqlite3 **db, char *err,
		       size_t errlen);
/* Whether db has a table (or view) called name. */
bool cli_logdb_has(sqlite3 *db, const char *name);
/*
 * The run this process (host_pid) opened last in the log at path, or
 * -1: what `vmemu run` calls its run id.
 */
long long cli_logdb_my_run(const char *path);
/*
 * After vm_destroy: did run_id close cleanly?  0, or -1 with one line in
 * err (the log's recorded error, or "the run was not closed").
 */
int cli_logdb_closed(const char *path, long long run_id, char *err,
		     size_t errlen);

#endif /* VMEMU_CLI_LOGDB_H */
