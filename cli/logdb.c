/*
 * cli/logdb.c - opening a vmemu event log read-only, and the questions
 * `vmemu run` asks its own log (see logdb.h for the rules).
 *
 * The header check reads the SQLite file header (sqlite.org/fileformat):
 * bytes 0..15 "SQLite format 3\0", the application_id big-endian at
 * offset 68.  An empty file is not a log (vmemu run would make it one;
 * report and query have nothing to read).  No state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/logdb.h"

#define SQLITE_MAGIC	 "SQLite format 3"
#define SQLITE_MAGIC_LEN 16
#define HDR_APP_ID	 68
#define HDR_LEN		 100
#define BUSY_MS		 5000

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* 0 if path starts like a vmemu log; else -1 and the reason in err. */
static int check_header(const char *path, char *err, size_t errlen)
{
	unsigned char h[HDR_LEN];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = S_ISREG(st.st_mode) ? read(fd, h, sizeof(h)) : -1;
	close(fd);
	if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "'%s' is not a regular file", path);
	else if (st.st_size == 0)
		snprintf(err, errlen,
			 "'%s' is empty: not a vmemu event log (yet)", path);
	else if (n != (ssize_t)sizeof(h) ||
		 memcmp(h, SQLITE_MAGIC, SQLITE_MAGIC_LEN) != 0)
		snprintf(err, errlen,
			 "'%s' is not a vmemu event log (not a SQLite "
			 "database)",
			 path);
	else if (be32(h + HDR_APP_ID) != CLI_LOG_APP_ID)
		snprintf(err, errlen,
			 "'%s' is not a vmemu event log (a SQLite database "
			 "with application_id 0x%08x)",
			 path, be32(h + HDR_APP_ID));
	else
		return 0;
	return -1;
}

static int open_flags(const char *path, sqlite3 **db, char *err, size_t errlen,
		      int flags)
{
	*db = NULL;
	if (check_header(path, err, errlen) < 0)
		return -1;
	if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open '%s': %s", path,
			 *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, BUSY_MS);
	return 0;
}

int cli_logdb_open(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	return open_flags(path, db, err, errlen, SQLITE_OPEN_READONLY);
}

int cli_logdb_open_own(const char *path, sqlite3 **db, char *err, size_t errlen)
{
	return open_flags(path, db, err, errlen, SQLITE_OPEN_READWRITE);
}

bool cli_logdb_has(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	bool has = false;

	if (sqlite3_prepare_v2(db,
			       "SELECT 1 FROM sqlite_schema WHERE name = ?1 "
			       "AND type IN ('table', 'view')",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	has = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return has;
}

/* The first column of sql's first row as an integer (-1: none/NULL). */
static long long query_ll(sqlite3 *db, const char *sql, long long arg)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, arg);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

long long cli_logdb_my_run(const char *path)
{
	char err[256];
	sqlite3 *db;
	long long id;

	if (cli_logdb_open_own(path, &db, err, sizeof(err)) < 0)
		return -1;
	id = query_ll(db, "SELECT max(run_id) FROM runs WHERE host_pid = ?1",
		      (long long)getpid());
	sqlite3_close(db);
	return id;
}

int cli_logdb_closed(const char *path, long long run_id, char *err,
		     size_t errlen)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int rc = -1;

	if (cli_logdb_open_own(path, &db, err, errlen) < 0)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT end_unix_ns IS NOT NULL, error FROM "
			       "runs WHERE run_id = ?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, run_id);
		if (sqlite3_step(st) != SQLITE_ROW)
			snprintf(err, errlen, "run %lld is not in '%s'", run_id,
				 path);
		else if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			snprintf(err, errlen, "%s",
				 (const char *)sqlite3_column_text(st, 1));
		else if (!sqlite3_column_int(st, 0))
			snprintf(err, errlen,
				 "run %lld of '%s' was not closed: its last "
				 "rows may be missing",
				 run_id, path);
		else
			rc = 0;
	} else {
		snprintf(err, errlen, "'%s': %s", path, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
