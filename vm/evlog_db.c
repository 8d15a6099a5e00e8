/*
 * vm/evlog_db.c - the event log's SQLite side (see evlog_db.h for the
 * invariants, docs/evlog.md for the schema and the migration rules).
 *
 * Opening, in order:
 *
 *   stat ── missing or empty ──────────────────────────┐
 *     │ not a regular file / not "SQLite format 3" ──> refuse
 *     v                                                 │
 *   read(2) of the header: application_id, user_version, objects
 *     │ foreign or newer ──> refuse (no SQLite handle ever existed)
 *     v                                                 v
 *   read-write connection ── BEGIN IMMEDIATE ── classify again
 *     create (schema v1 + every migration) or migrate, vmstat columns,
 *     runs row, event_kinds rows ── COMMIT ── journal_mode=WAL ── prepare
 *
 * A new file is created by the first transaction, in rollback-journal
 * mode, and only then switched to WAL, so application_id is always in the
 * main file's header, never only in a WAL; a file this code created is
 * removed again if opening fails.  The header of a WAL-mode file may lag
 * behind its WAL (user_version after a crashed migration): the check
 * inside the transaction is the one that decides; the raw one only keeps
 * SQLite away from files that are clearly not ours.
 *
 * Writing: events go in EVLOG_ROWS_PER_STMT-row INSERTs (a remainder one
 * row at a time) inside BEGIN IMMEDIATE ... COMMIT transactions that the
 * writer thread sizes (evlog.c).  Every statement carries the run_id as a
 * literal, so it is never re-bound.
 *
 * Locking: none of its own; one thread at a time (evlog_db.h).
 */
#include "vm/evlog_db.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The SQLite file format (sqlite.org/fileformat.html), as far as we read. */
#define SQLITE_MAGIC	 "SQLite format 3"
#define SQLITE_MAGIC_LEN 16  /* with its NUL */
#define HDR_USER_VERSION 60  /* big-endian u32 */
#define HDR_APP_ID	 68  /* big-endian u32 */
#define HDR_PAGE1_TYPE	 100 /* b-tree page header of sqlite_schema */
#define HDR_PAGE1_CELLS	 103 /* big-endian u16 */
#define HDR_READ	 108
#define BTREE_LEAF_TABLE 0x0d
#define BUSY_TIMEOUT_MS	 10000
#define WAL_CHECKPOINT	 4096 /* pages (16 MiB at 4 KiB pages) */
#define SQL_LEN		 512
#define NSEC_PER_SEC	 1000000000ULL
#define NSEC_PER_MSEC	 1000000ULL
#define EVENT_COLS	 8 /* bound per event row (run_id is a literal) */

/* Schema version 1: DESIGN.md §7's tables. */
static const char schema_v1[] =
	"CREATE TABLE runs ("
	" run_id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" schema_version INTEGER NOT NULL, version TEXT, hostname TEXT,"
	" host_pid INTEGER, cmdline TEXT, config_json TEXT, seed INTEGER,"
	" kinds_logged TEXT NOT NULL, ring_records INTEGER NOT NULL,"
	" start_unix_ns INTEGER NOT NULL, started_at TEXT NOT NULL,"
	" end_unix_ns INTEGER, duration_ns INTEGER, exit_status INTEGER,"
	" events INTEGER, error TEXT);"
	"CREATE TABLE event_kinds ("
	" run_id INTEGER NOT NULL REFERENCES runs(run_id),"
	" kind INTEGER NOT NULL, name TEXT NOT NULL, doc TEXT,"
	" logged INTEGER NOT NULL, emitted INTEGER,"
	" PRIMARY KEY (run_id, kind));"
	"CREATE TABLE events ("
	" run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" t_ns INTEGER NOT NULL, kind INTEGER NOT NULL, pid INTEGER NOT NULL,"
	" va INTEGER, pfn INTEGER, slot INTEGER, arg INTEGER NOT NULL);"
	"CREATE TABLE tasks ("
	" run_id INTEGER NOT NULL, pid INTEGER NOT NULL, ppid INTEGER,"
	" name TEXT, oom_score_adj INTEGER, seq INTEGER, t_start_ns INTEGER,"
	" end_seq INTEGER, t_end_ns INTEGER, exit_reason TEXT,"
	" exit_code INTEGER, fault_va INTEGER, exit_msg TEXT,"
	" peak_rss_pages INTEGER, minflt INTEGER, majflt INTEGER,"
	" swapins INTEGER);"
	"CREATE INDEX tasks_run_pid ON tasks(run_id, pid);"
	"CREATE TABLE oom_kills ("
	" oom_id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, t_ns INTEGER NOT NULL, victim_pid INTEGER,"
	" trigger_pid INTEGER, totalpages INTEGER NOT NULL, report TEXT);"
	"CREATE TABLE oom_candidates ("
	" run_id INTEGER NOT NULL,"
	" oom_id INTEGER NOT NULL REFERENCES oom_kills(oom_id),"
	" pid INTEGER NOT NULL, name TEXT, total_vm INTEGER, rss INTEGER,"
	" rss_anon INTEGER, rss_file INTEGER, rss_shmem INTEGER,"
	" pgtables_bytes INTEGER, swapents INTEGER, oom_score_adj INTEGER,"
	" points INTEGER, chosen INTEGER NOT NULL);"
	"CREATE TABLE vmstat ("
	" run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" t_ns INTEGER NOT NULL);";

/* migrations[v - 1] takes a version-v file to version v + 1. */
static const char *const migrations[] = {
	/* 1 -> 2: /proc/pressure/memory samples. */
	"CREATE TABLE psi ("
	" run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" t_ns INTEGER NOT NULL, some_avg10 REAL, some_avg60 REAL,"
	" some_avg300 REAL, some_total_us INTEGER, full_avg10 REAL,"
	" full_avg60 REAL, full_avg300 REAL, full_total_us INTEGER);",
	/* 2 -> 3: leak reports of the tasks' C library. */
	"CREATE TABLE leaks ("
	" run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" t_ns INTEGER NOT NULL, pid INTEGER NOT NULL,"
	" blocks INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	" granted_bytes INTEGER NOT NULL, largest TEXT);",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
		       EVLOG_SCHEMA_VERSION - 1,
	       "one migration per schema version");

enum verdict { DB_NEW, DB_OURS, DB_FOREIGN, DB_NEWER };

/* ---- errors ------------------------------------------------------------ */

static int sqlite_to_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOTADB:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Whether the directory of path lets us create files (the WAL). */
static bool dir_writable(const char *path)
{
	char *copy = strdup(path);
	bool ok = !copy || faccessat(AT_FDCWD, dirname(copy), W_OK | X_OK,
				     AT_EACCESS) == 0;

	free(copy);
	return ok;
}

/* Record a failure of the last call on d->db; returns its -errno. */
static int db_fail(struct evlog_db *d, int rc, const char *what)
{
	int sys = d->db ? sqlite3_system_errno(d->db) : 0;
	const char *msg = d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc);
	const char *hint = sys ? strerror(sys) : NULL;
	int prim = rc & 0xff;

	d->err = sqlite_to_errno(rc);
	if ((prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN) &&
	    !dir_writable(d->path)) {
		hint = "its directory is not writable";
		d->err = -EACCES;
	}
	if (hint)
		snprintf(d->msg, sizeof(d->msg), "evlog: %s: %s (%s; %s)",
			 d->path, msg, hint, what);
	else
		snprintf(d->msg, sizeof(d->msg), "evlog: %s: %s (%s)", d->path,
			 msg, what);
	return d->err;
}

/* A failure with our own words; returns err. */
static int db_refuse(struct evlog_db *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int db_refuse(struct evlog_db *d, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(d->msg, sizeof(d->msg), "evlog: %s: ", d->path);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(d->msg))
		vsnprintf(d->msg + n, sizeof(d->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	d->err = err;
	return err;
}

/* ---- small helpers ------------------------------------------------------ */

static int db_exec(struct evlog_db *d, const char *sql, const char *what)
{
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(d, rc, what);
}

/* The first column of the first row of sql, as an integer. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Step a bound statement to completion and reset it. */
static int step_done(struct evlog_db *d, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE) {
		int err = db_fail(d, rc, what);

		sqlite3_reset(st);
		return err;
	}
	sqlite3_reset(st);
	return 0;
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* EVLOG_NONE becomes NULL. */
static void bind_opt(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v == EVLOG_NONE)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* ---- checking a file before opening it read-write ---------------------- */

static enum verdict classify(int64_t app_id, int64_t version,
			     int64_t nr_objects)
{
	if (app_id == EVLOG_APPLICATION_ID)
		return version > EVLOG_SCHEMA_VERSION ? DB_NEWER : DB_OURS;
	if (app_id == 0 && version == 0 && nr_objects == 0)
		return DB_NEW; /* an empty SQLite file: nothing to lose */
	return DB_FOREIGN;
}

/* Read application_id, user_version and the object count of db. */
static int read_header(sqlite3 *db, int64_t *app_id, int64_t *version,
		       int64_t *nr_objects)
{
	int rc = query_int(db, "PRAGMA application_id", app_id);

	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA user_version", version);
	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM sqlite_schema",
			       nr_objects);
	return rc;
}

static int refuse_verdict(struct evlog_db *d, enum verdict v, int64_t app_id,
			  int64_t version)
{
	if (v == DB_NEWER)
		return db_refuse(d, -EINVAL,
				 "schema version %" PRId64
				 " is newer than this vmemu's (%d); "
				 "left untouched",
				 version, EVLOG_SCHEMA_VERSION);
	return db_refuse(d, -EINVAL,
			 "a SQLite database but not a vmemu event log "
			 "(application_id 0x%08" PRIx64 "); left untouched",
			 (uint64_t)app_id & 0xffffffffU);
}

static int64_t be32(const unsigned char *p)
{
	return (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			 (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

/*
 * Classify an existing non-empty file from its first HDR_READ bytes, with
 * no SQLite handle at all: the 100-byte file header, then the b-tree header
 * of page 1 (sqlite_schema), whose cell count is the number of objects
 * when it is a leaf.
 */
static int check_header(struct evlog_db *d)
{
	unsigned char h[HDR_READ];
	int fd = open(d->path, O_RDONLY | O_CLOEXEC);
	int64_t app_id, version, nr_objects;
	enum verdict v;
	ssize_t n;

	if (fd < 0)
		return db_refuse(d, -errno, "cannot read it: %s",
				 strerror(errno));
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n != (ssize_t)sizeof(h) ||
	    memcmp(h, SQLITE_MAGIC, SQLITE_MAGIC_LEN))
		return db_refuse(d, -EINVAL,
				 "not a SQLite database, so not a vmemu event "
				 "log; left untouched");
	app_id = be32(h + HDR_APP_ID);
	version = be32(h + HDR_USER_VERSION);
	nr_objects = h[HDR_PAGE1_TYPE] == BTREE_LEAF_TABLE ?
			     (int64_t)(h[HDR_PAGE1_CELLS] << 8 |
				       h[HDR_PAGE1_CELLS + 1]) :
			     1;
	v = classify(app_id, version, nr_objects);
	if (v == DB_NEWER || v == DB_FOREIGN)
		return refuse_verdict(d, v, app_id, version);
	return 0;
}

/* 0 when path may be opened read-write; *existed says if it was there. */
static int precheck(struct evlog_db *d, bool *existed)
{
	struct stat st;

	if (stat(d->path, &st)) {
		*existed = false;
		if (errno == ENOENT)
			return 0;
		return db_refuse(d, -errno, "%s", strerror(errno));
	}
	*existed = true;
	if (!S_ISREG(st.st_mode))
		return db_refuse(d, -EINVAL, "not a regular file");
	if (st.st_size == 0)
		return 0;
	return check_header(d);
}

/* ---- schema ------------------------------------------------------------- */

/* Bring a version-`from` file (0: new) to EVLOG_SCHEMA_VERSION. */
static int schema_upgrade(struct evlog_db *d, int64_t from)
{
	char sql[SQL_LEN];
	int rc = 0;

	if (from == 0)
		rc = db_exec(d, schema_v1, "creating the schema");
	for (int64_t v = MAX(from, 1); !rc && v < EVLOG_SCHEMA_VERSION; v++)
		rc = db_exec(d, migrations[v - 1], "migrating the schema");
	if (rc)
		return rc;
	snprintf(sql, sizeof(sql),
		 "PRAGMA application_id = %d; PRAGMA user_version = %d",
		 EVLOG_APPLICATION_ID, EVLOG_SCHEMA_VERSION);
	return db_exec(d, sql, "setting the schema version");
}

/* Whether vmstat has a column called name (any case). */
static int vmstat_has(struct evlog_db *d, sqlite3_stmt *st, const char *name,
		      bool *has)
{
	int rc;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(d, rc, "reading vmstat's columns");
	*has = rc == SQLITE_ROW;
	return 0;
}

/* ALTER TABLE vmstat ADD COLUMN for each counter it lacks. */
static int vmstat_columns(struct evlog_db *d, const struct evlog_config *cfg)
{
	static const char has_sql[] =
		"SELECT 1 FROM pragma_table_info('vmstat') "
		"WHERE name = ?1 COLLATE NOCASE";
	char sql[SQL_LEN];
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, has_sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "reading vmstat's columns");
	for (unsigned i = 0; !rc && i < cfg->nr_counters; i++) {
		bool has = false;

		rc = vmstat_has(d, st, cfg->counters[i], &has);
		if (rc || has)
			continue;
		snprintf(sql, sizeof(sql),
			 "ALTER TABLE vmstat ADD COLUMN \"%s\" INTEGER",
			 cfg->counters[i]);
		rc = db_exec(d, sql, "adding a vmstat column");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Inside the open transaction: classify again, create or migrate. */
static int schema_prepare(struct evlog_db *d, const struct evlog_config *cfg)
{
	int64_t app_id = 0, version = 0, nr_objects = 0;
	enum verdict v;
	int rc = read_header(d->db, &app_id, &version, &nr_objects);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "reading its header");
	v = classify(app_id, version, nr_objects);
	if (v == DB_NEWER || v == DB_FOREIGN)
		return refuse_verdict(d, v, app_id, version);
	if (v == DB_NEW)
		version = 0;
	rc = version < EVLOG_SCHEMA_VERSION ? schema_upgrade(d, version) : 0;
	return rc ? rc : vmstat_columns(d, cfg);
}

/* ---- the run ------------------------------------------------------------ */

static void iso_time(uint64_t unix_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(unix_ns / NSEC_PER_SEC);
	unsigned ms = (unsigned)(unix_ns % NSEC_PER_SEC / NSEC_PER_MSEC);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", ms);
}

static void bind_run(sqlite3_stmt *st, const struct evdb_run *run,
		     const char *host, const char *started)
{
	const struct evlog_config *cfg = run->cfg;

	sqlite3_bind_int(st, 1, EVLOG_SCHEMA_VERSION);
	bind_text(st, 2, cfg->version);
	bind_text(st, 3, host);
	sqlite3_bind_int64(st, 4, getpid());
	bind_text(st, 5, cfg->cmdline);
	bind_text(st, 6, cfg->config_json);
	bind_u64(st, 7, cfg->seed);
	bind_text(st, 8, run->kinds_logged);
	sqlite3_bind_int64(st, 9, run->ring_records);
	bind_u64(st, 10, run->start_unix_ns);
	bind_text(st, 11, started);
}

static int insert_run(struct evlog_db *d, const struct evdb_run *run)
{
	static const char sql[] =
		"INSERT INTO runs (schema_version, version, hostname,"
		" host_pid, cmdline, config_json, seed, kinds_logged,"
		" ring_records, start_unix_ns, started_at)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?)";
	char started[64];
	struct utsname uts;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "adding the run");
	iso_time(run->start_unix_ns, started, sizeof(started));
	bind_run(st, run, uname(&uts) ? NULL : uts.nodename, started);
	rc = step_done(d, st, "adding the run");
	sqlite3_finalize(st);
	if (!rc)
		d->run_id = sqlite3_last_insert_rowid(d->db);
	return rc;
}

static bool bit_test(const uint64_t *bits, unsigned i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

static int insert_kinds(struct evlog_db *d, const struct evdb_run *run)
{
	static const char sql[] =
		"INSERT INTO event_kinds (run_id, kind, name, doc, logged)"
		" VALUES (?,?,?,?,?)";
	const struct evlog_config *cfg = run->cfg;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "adding the event kinds");
	for (unsigned k = 0; !rc && k < cfg->nr_kinds; k++) {
		sqlite3_bind_int64(st, 1, d->run_id);
		sqlite3_bind_int(st, 2, (int)k);
		bind_text(st, 3, cfg->kinds[k].name);
		bind_text(st, 4, cfg->kinds[k].doc);
		sqlite3_bind_int(st, 5, bit_test(run->enabled, k));
		rc = step_done(d, st, "adding the event kinds");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The one transaction that makes the file ready and appends the run. */
static int setup_txn(struct evlog_db *d, const struct evdb_run *run)
{
	int rc = db_exec(d, "BEGIN IMMEDIATE", "starting the run");

	if (rc)
		return rc;
	rc = schema_prepare(d, run->cfg);
	if (!rc)
		rc = insert_run(d, run);
	if (!rc)
		rc = insert_kinds(d, run);
	if (!rc)
		rc = db_exec(d, "COMMIT", "starting the run");
	if (rc && !sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* journal_mode=WAL (persistent), then per-connection settings. */
static int setup_wal(struct evlog_db *d)
{
	char sql[SQL_LEN];
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, "PRAGMA journal_mode=WAL", -1, &st,
				    NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW &&
	    sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal"))
		rc = SQLITE_CANTOPEN; /* e.g. a file system without shm */
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_fail(d, rc, "switching to WAL");
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=%d",
		 WAL_CHECKPOINT);
	return db_exec(d, sql, "setting up the connection");
}

/* ---- prepared statements ------------------------------------------------- */

/* "(R,?,?,...,?)" with n placeholders, repeated rows times. */
static void values_rows(char *p, size_t len, int64_t run_id, unsigned n,
			unsigned rows)
{
	size_t used = 0;

	for (unsigned r = 0; r < rows && used < len; r++) {
		used += (size_t)snprintf(p + used, len - used, "%s(%" PRId64,
					 r ? "," : "", run_id);
		for (unsigned i = 0; i < n && used < len; i++)
			used += (size_t)snprintf(p + used, len - used, ",?");
		if (used < len)
			used += (size_t)snprintf(p + used, len - used, ")");
	}
}

static int prepare_sql(struct evlog_db *d, enum evdb_stmt which,
		       const char *sql)
{
	int rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    &d->st[which], NULL);

	return rc == SQLITE_OK ? 0 : db_fail(d, rc, "preparing statements");
}

/* "INSERT INTO <head> VALUES (R,?...)..." */
static int prepare_insert(struct evlog_db *d, enum evdb_stmt which,
			  const char *head, unsigned n, unsigned rows)
{
	size_t len = strlen(head) + 32 + (size_t)rows * (24 + 2 * n);
	char *sql = malloc(len);
	int rc, off;

	if (!sql)
		return db_refuse(d, -ENOMEM, "out of memory");
	off = snprintf(sql, len, "INSERT INTO %s VALUES ", head);
	values_rows(sql + off, len - (size_t)off, d->run_id, n, rows);
	rc = prepare_sql(d, which, sql);
	free(sql);
	return rc;
}

/* INSERT INTO vmstat (run_id, seq, t_ns, "c1", ...) VALUES (R, ?, ...). */
static int prepare_vmstat(struct evlog_db *d, const struct evlog_config *cfg)
{
	size_t len = SQL_LEN;
	char *head;
	size_t used;
	int rc;

	for (unsigned i = 0; i < cfg->nr_counters; i++)
		len += strlen(cfg->counters[i]) + 4;
	head = malloc(len);
	if (!head)
		return db_refuse(d, -ENOMEM, "out of memory");
	used = (size_t)snprintf(head, len, "vmstat (run_id, seq, t_ns");
	for (unsigned i = 0; i < cfg->nr_counters; i++)
		used += (size_t)snprintf(head + used, len - used, ", \"%s\"",
					 cfg->counters[i]);
	snprintf(head + used, len - used, ")");
	rc = prepare_insert(d, EVDB_VMSTAT, head, 2 + cfg->nr_counters, 1);
	free(head);
	return rc;
}

static int prepare_tasks(struct evlog_db *d)
{
	char sql[SQL_LEN * 2];
	int rc;

	rc = prepare_insert(d, EVDB_TASK,
			    "tasks (run_id, pid, ppid, name, oom_score_adj,"
			    " seq, t_start_ns)",
			    6, 1);
	snprintf(sql, sizeof(sql),
		 "UPDATE tasks SET end_seq=?2, t_end_ns=?3, exit_reason=?4,"
		 " exit_code=?5, fault_va=?6, exit_msg=?7, peak_rss_pages=?8,"
		 " minflt=?9, majflt=?10, swapins=?11 WHERE rowid = (SELECT"
		 " max(rowid) FROM tasks WHERE run_id=%" PRId64 " AND pid=?1"
		 " AND end_seq IS NULL)",
		 d->run_id);
	if (!rc)
		rc = prepare_sql(d, EVDB_TASK_EXIT_UPDATE, sql);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO tasks (run_id, pid, end_seq, t_end_ns,"
		 " exit_reason, exit_code, fault_va, exit_msg, peak_rss_pages,"
		 " minflt, majflt, swapins) VALUES (%" PRId64
		 ",?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
		 d->run_id);
	return rc ? rc : prepare_sql(d, EVDB_TASK_EXIT_INSERT, sql);
}

static int prepare_all(struct evlog_db *d, const struct evlog_config *cfg)
{
	static const char ev_head[] =
		"events (run_id, seq, t_ns, kind, pid, va, pfn, slot, arg)";
	int rc = prepare_sql(d, EVDB_BEGIN, "BEGIN IMMEDIATE");

	rc = rc ? rc : prepare_sql(d, EVDB_COMMIT, "COMMIT");
	rc = rc ? rc : prepare_sql(d, EVDB_ROLLBACK, "ROLLBACK");
	rc = rc ? rc : prepare_insert(d, EVDB_EVENT1, ev_head, EVENT_COLS, 1);
	rc = rc ? rc :
		  prepare_insert(d, EVDB_EVENTS, ev_head, EVENT_COLS,
				 EVLOG_ROWS_PER_STMT);
	rc = rc ? rc : prepare_tasks(d);
	rc = rc ? rc : prepare_vmstat(d, cfg);
	rc = rc ? rc :
		  prepare_insert(d, EVDB_PSI,
				 "psi (run_id, seq, t_ns, some_avg10,"
				 " some_avg60, some_avg300, some_total_us,"
				 " full_avg10, full_avg60, full_avg300,"
				 " full_total_us)",
				 10, 1);
	rc = rc ? rc :
		  prepare_insert(d, EVDB_OOM_KILL,
				 "oom_kills (run_id, seq, t_ns, victim_pid,"
				 " trigger_pid, totalpages, report)",
				 6, 1);
	rc = rc ? rc :
		  prepare_insert(d, EVDB_OOM_CANDIDATE,
				 "oom_candidates (run_id, oom_id, pid, name,"
				 " total_vm, rss, rss_anon, rss_file,"
				 " rss_shmem, pgtables_bytes, swapents,"
				 " oom_score_adj, points, chosen)",
				 13, 1);
	return rc ? rc :
		    prepare_insert(d, EVDB_LEAKS,
				   "leaks (run_id, seq, t_ns, pid, blocks,"
				   " bytes, granted_bytes, largest)",
				   7, 1);
}

/* ---- open and close ------------------------------------------------------ */

/* Undo an open: forget this run, close, remove a file we created. */
void evdb_discard(struct evlog_db *d)
{
	char sql[SQL_LEN];

	if (d->db && d->run_id) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM event_kinds WHERE run_id=%" PRId64
			 "; DELETE FROM runs WHERE run_id=%" PRId64,
			 d->run_id, d->run_id);
		sqlite3_exec(d->db, sql, NULL, NULL, NULL);
	}
	for (unsigned i = 0; i < EVDB_NR_STMTS; i++)
		sqlite3_finalize(d->st[i]);
	sqlite3_close(d->db);
	d->db = NULL;
	if (d->created)
		unlink(d->path);
}

static int open_rw(struct evlog_db *d)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(d->path, &d->db, flags, NULL);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "opening it");
	if (sqlite3_db_readonly(d->db, "main") == 1)
		return db_refuse(d, -EROFS,
				 "read-only file: cannot append a run");
	sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
	return 0;
}

int evdb_open(struct evlog_db *d, const struct evdb_run *run, char *err,
	      size_t errlen)
{
	bool existed = true;
	int rc;

	memset(d, 0, sizeof(*d));
	d->path = run->cfg->path;
	d->nr_counters = run->cfg->nr_counters;
	rc = precheck(d, &existed);
	if (rc) {
		snprintf(err, errlen, "%s", d->msg);
		return rc;
	}
	d->created = !existed;
	rc = open_rw(d);
	rc = rc ? rc : setup_txn(d, run);
	rc = rc ? rc : setup_wal(d);
	rc = rc ? rc : prepare_all(d, run->cfg);
	if (rc) {
		snprintf(err, errlen, "%s", d->msg);
		evdb_discard(d);
	}
	return rc;
}

void evdb_close(struct evlog_db *d)
{
	if (d->in_txn)
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	for (unsigned i = 0; i < EVDB_NR_STMTS; i++) {
		sqlite3_finalize(d->st[i]);
		d->st[i] = NULL;
	}
	sqlite3_close(d->db);
	d->db = NULL;
}

int evdb_limit_pages(struct evlog_db *d, unsigned extra)
{
	char sql[SQL_LEN];
	int64_t pages = 0;
	int rc = query_int(d->db, "PRAGMA page_count", &pages);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "reading page_count");
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRId64,
		 pages + extra);
	return db_exec(d, sql, "setting max_page_count");
}

/* ---- transactions -------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* After a failure: leave any transaction (SQLite may have left it). */
static int txn_abort(struct evlog_db *d, int err)
{
	if (!sqlite3_get_autocommit(d->db))
		sqlite3_step(d->st[EVDB_ROLLBACK]);
	sqlite3_reset(d->st[EVDB_ROLLBACK]);
	d->in_txn = false;
	d->txn_rows = 0;
	return err;
}

static int txn_begin(struct evlog_db *d)
{
	int rc;

	if (d->in_txn)
		return 0;
	rc = step_done(d, d->st[EVDB_BEGIN], "beginning a transaction");
	if (rc)
		return txn_abort(d, rc);
	d->in_txn = true;
	d->txn_rows = 0;
	d->txn_start_ns = mono_ns();
	return 0;
}

int evdb_commit(struct evlog_db *d)
{
	int rc;

	if (!d->in_txn)
		return 0;
	rc = step_done(d, d->st[EVDB_COMMIT], "committing");
	if (rc)
		return txn_abort(d, rc);
	d->in_txn = false;
	d->txn_rows = 0;
	d->commits++;
	return 0;
}

/* Step st inside the transaction; on failure roll it back. */
static int txn_step(struct evlog_db *d, sqlite3_stmt *st, const char *what)
{
	int rc = step_done(d, st, what);

	if (rc)
		return txn_abort(d, rc);
	d->txn_rows++;
	return 0;
}

/* ---- rows -------------------------------------------------------------- */

static void bind_event(sqlite3_stmt *st, int base, uint64_t seq,
		       const struct evlog_event *ev)
{
	bind_u64(st, base + 1, seq);
	bind_u64(st, base + 2, ev->t_ns);
	sqlite3_bind_int64(st, base + 3, ev->kind);
	sqlite3_bind_int64(st, base + 4, ev->pid);
	bind_opt(st, base + 5, ev->va);
	bind_opt(st, base + 6, ev->pfn);
	bind_opt(st, base + 7, ev->slot);
	sqlite3_bind_int64(st, base + 8, ev->arg);
}

int evdb_events(struct evlog_db *d, const struct evlog_event *ev, unsigned n,
		uint64_t first_seq)
{
	sqlite3_stmt *many = d->st[EVDB_EVENTS], *one = d->st[EVDB_EVENT1];
	unsigned i = 0;
	int rc = txn_begin(d);

	while (!rc && n - i >= EVLOG_ROWS_PER_STMT) {
		for (unsigned r = 0; r < EVLOG_ROWS_PER_STMT; r++, i++)
			bind_event(many, (int)(r * EVENT_COLS), first_seq + i,
				   &ev[i]);
		rc = txn_step(d, many, "writing events");
		if (!rc)
			d->txn_rows += EVLOG_ROWS_PER_STMT - 1;
	}
	for (; !rc && i < n; i++) {
		bind_event(one, 0, first_seq + i, &ev[i]);
		rc = txn_step(d, one, "writing events");
	}
	return rc;
}

int evdb_task(struct evlog_db *d, uint64_t seq, const struct evlog_task *t)
{
	sqlite3_stmt *st = d->st[EVDB_TASK];
	int rc = txn_begin(d);

	if (rc)
		return rc;
	sqlite3_bind_int(st, 1, t->pid);
	sqlite3_bind_int(st, 2, t->ppid);
	bind_text(st, 3, t->name);
	sqlite3_bind_int(st, 4, t->oom_score_adj);
	bind_u64(st, 5, seq);
	bind_u64(st, 6, t->t_start_ns);
	return txn_step(d, st, "writing a task");
}

static void bind_task_exit(sqlite3_stmt *st, uint64_t seq,
			   const struct evlog_task_exit *ex)
{
	sqlite3_bind_int(st, 1, ex->pid);
	bind_u64(st, 2, seq);
	bind_u64(st, 3, ex->t_end_ns);
	bind_text(st, 4, ex->reason);
	sqlite3_bind_int(st, 5, ex->code);
	bind_opt(st, 6, ex->fault_va);
	bind_text(st, 7, ex->msg);
	bind_u64(st, 8, ex->peak_rss_pages);
	bind_u64(st, 9, ex->minflt);
	bind_u64(st, 10, ex->majflt);
	bind_u64(st, 11, ex->swapins);
}

int evdb_task_exit(struct evlog_db *d, uint64_t seq,
		   const struct evlog_task_exit *ex)
{
	sqlite3_stmt *up = d->st[EVDB_TASK_EXIT_UPDATE];
	sqlite3_stmt *ins = d->st[EVDB_TASK_EXIT_INSERT];
	int rc = txn_begin(d);

	if (rc)
		return rc;
	bind_task_exit(up, seq, ex);
	rc = txn_step(d, up, "ending a task");
	if (rc || sqlite3_changes(d->db) > 0)
		return rc;
	bind_task_exit(ins, seq, ex);
	return txn_step(d, ins, "ending a task");
}

int evdb_vmstat(struct evlog_db *d, uint64_t seq, uint64_t t_ns,
		const uint64_t *values)
{
	sqlite3_stmt *st = d->st[EVDB_VMSTAT];
	int rc = txn_begin(d);

	if (rc)
		return rc;
	bind_u64(st, 1, seq);
	bind_u64(st, 2, t_ns);
	for (unsigned i = 0; i < d->nr_counters; i++)
		bind_u64(st, (int)i + 3, values[i]);
	return txn_step(d, st, "writing vmstat");
}

static void bind_psi_line(sqlite3_stmt *st, int base,
			  const struct evlog_psi_line *l)
{
	sqlite3_bind_double(st, base + 1, l->avg10);
	sqlite3_bind_double(st, base + 2, l->avg60);
	sqlite3_bind_double(st, base + 3, l->avg300);
	bind_u64(st, base + 4, l->total_us);
}

int evdb_psi(struct evlog_db *d, uint64_t seq, uint64_t t_ns,
	     const struct evlog_psi_line *some,
	     const struct evlog_psi_line *full)
{
	sqlite3_stmt *st = d->st[EVDB_PSI];
	int rc = txn_begin(d);

	if (rc)
		return rc;
	bind_u64(st, 1, seq);
	bind_u64(st, 2, t_ns);
	bind_psi_line(st, 2, some);
	bind_psi_line(st, 6, full);
	return txn_step(d, st, "writing psi");
}

static void bind_candidate(sqlite3_stmt *st, int64_t oom_id,
			   const struct evlog_oom_candidate *c)
{
	sqlite3_bind_int64(st, 1, oom_id);
	sqlite3_bind_int(st, 2, c->pid);
	bind_text(st, 3, c->name);
	bind_u64(st, 4, c->total_vm);
	bind_u64(st, 5, c->rss);
	bind_u64(st, 6, c->rss_anon);
	bind_u64(st, 7, c->rss_file);
	bind_u64(st, 8, c->rss_shmem);
	bind_u64(st, 9, c->pgtables_bytes);
	bind_u64(st, 10, c->swapents);
	sqlite3_bind_int(st, 11, c->oom_score_adj);
	if (c->points == EVLOG_OOM_EXEMPT)
		sqlite3_bind_null(st, 12);
	else
		sqlite3_bind_int64(st, 12, c->points);
	sqlite3_bind_int(st, 13, c->chosen);
}

int evdb_oom(struct evlog_db *d, uint64_t seq,
	     const struct evlog_oom_kill *kill,
	     const struct evlog_oom_candidate *c, unsigned n)
{
	sqlite3_stmt *st = d->st[EVDB_OOM_KILL];
	int64_t oom_id;
	int rc = txn_begin(d);

	if (rc)
		return rc;
	bind_u64(st, 1, seq);
	bind_u64(st, 2, kill->t_ns);
	if (kill->victim_pid == EVLOG_OOM_NO_VICTIM)
		sqlite3_bind_null(st, 3);
	else
		sqlite3_bind_int(st, 3, kill->victim_pid);
	sqlite3_bind_int(st, 4, kill->trigger_pid);
	bind_u64(st, 5, kill->totalpages);
	bind_text(st, 6, kill->report);
	rc = txn_step(d, st, "writing an OOM kill");
	oom_id = sqlite3_last_insert_rowid(d->db);
	for (unsigned i = 0; !rc && i < n; i++) {
		bind_candidate(d->st[EVDB_OOM_CANDIDATE], oom_id, &c[i]);
		rc = txn_step(d, d->st[EVDB_OOM_CANDIDATE],
			      "writing an OOM candidate");
	}
	return rc;
}

int evdb_leaks(struct evlog_db *d, uint64_t seq, const struct evlog_leaks *lk)
{
	sqlite3_stmt *st = d->st[EVDB_LEAKS];
	int rc = txn_begin(d);

	if (rc)
		return rc;
	bind_u64(st, 1, seq);
	bind_u64(st, 2, lk->t_ns);
	sqlite3_bind_int(st, 3, lk->pid);
	bind_u64(st, 4, lk->blocks);
	bind_u64(st, 5, lk->bytes);
	bind_u64(st, 6, lk->granted);
	bind_text(st, 7, lk->largest);
	return txn_step(d, st, "writing a leak report");
}

/* ---- the end of the run -------------------------------------------------- */

static int finish_kinds(struct evlog_db *d, const struct evdb_end *end,
			unsigned nr_kinds)
{
	char sql[SQL_LEN];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql),
		 "UPDATE event_kinds SET emitted=?1 WHERE run_id=%" PRId64
		 " AND kind=?2",
		 d->run_id);
	rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(d, rc, "ending the run");
	for (unsigned k = 0; !rc && k < nr_kinds; k++) {
		bind_u64(st, 1, end->counts[k]);
		sqlite3_bind_int(st, 2, (int)k);
		rc = step_done(d, st, "ending the run");
	}
	sqlite3_finalize(st);
	return rc;
}

static int finish_run(struct evlog_db *d, const struct evdb_end *end)
{
	char sql[SQL_LEN];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql),
		 "UPDATE runs SET end_unix_ns=?, duration_ns=?, exit_status=?,"
		 " events=?, error=? WHERE run_id=%" PRId64,
		 d->run_id);
	rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(d, rc, "ending the run");
	bind_u64(st, 1, end->end_unix_ns);
	bind_u64(st, 2, end->duration_ns);
	sqlite3_bind_int(st, 3, end->exit_status);
	bind_u64(st, 4, end->events);
	bind_text(st, 5, end->error);
	rc = step_done(d, st, "ending the run");
	sqlite3_finalize(st);
	return rc;
}

int evdb_finish(struct evlog_db *d, const struct evdb_end *end,
		unsigned nr_kinds)
{
	int rc = evdb_commit(d);

	rc = rc ? rc : txn_begin(d);
	rc = rc ? rc : finish_run(d, end);
	rc = rc ? rc : finish_kinds(d, end, nr_kinds);
	if (rc)
		return txn_abort(d, rc);
	return evdb_commit(d);
}
