/*
 * cli/sim_log.c - `vmemu sim --log FILE.db`: the results as rows of a
 * vmemu database, next to the event log's tables, for `vmemu query`.
 *
 * Tables (docs/sim.md; created when missing, only ever appended to):
 *   sim_runs     one row per vmemu sim: the trace (path, name, sha256,
 *                size, format), its counts, the mode, the command line
 *   sim_results  one row per (policy, frames) printed
 *   sim_mrc      --mrc: every point of every curve (LRU's at each frame
 *                count 1..pages)
 *
 * Never damaging a database.  Before the simulation starts the file is
 * judged from its first bytes with read(2), as the event log does
 * (vm/evlog_db.c): missing, empty, a vmemu database (application_id
 * "vmem") or an SQLite file without any schema object may take our
 * tables; anything else is refused and left as it was.  At the end one
 * BEGIN IMMEDIATE transaction judges again (the header may lag a WAL),
 * marks a new file as vmemu's (application_id; user_version stays 0, so
 * a later `vmemu run --log` adds its own schema), creates the tables if
 * needed and appends every row; any failure rolls it all back, and a
 * file this run created is removed.
 *
 * The sha256 is of the file's bytes as stored (what sha256sum prints),
 * computed with nettle (docs/sim.md says why).  Main thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <nettle/sha2.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli/sim.h"

#define VMEMU_APP_ID	0x766d656d /* "vmem", the event log's */
#define SQLITE_MAGIC	"SQLite format 3"
#define HDR_READ	108
#define HDR_USER_VER	60
#define HDR_APP_ID	68
#define HDR_PAGE1_TYPE	100
#define HDR_PAGE1_CELLS 103
#define BTREE_LEAF	0x0d
#define BUSY_MS		10000
#define HASH_CHUNK	(1u << 20)
#define NSEC_PER_SEC	1000000000ULL

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS sim_runs ("
	" sim_id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" version TEXT, hostname TEXT, cmdline TEXT,"
	" start_unix_ns INTEGER, started_at TEXT, duration_ns INTEGER,"
	" trace_path TEXT NOT NULL, trace_name TEXT NOT NULL,"
	" trace_sha256 TEXT NOT NULL, trace_bytes INTEGER,"
	" format TEXT, compression TEXT, requests INTEGER,"
	" distinct_pages INTEGER, writes INTEGER, mode TEXT NOT NULL,"
	" mrc INTEGER, jobs INTEGER, load_ns INTEGER, mrc_ns INTEGER);"
	"CREATE TABLE IF NOT EXISTS sim_results ("
	" sim_id INTEGER NOT NULL REFERENCES sim_runs(sim_id),"
	" policy TEXT NOT NULL, frames INTEGER NOT NULL, requests INTEGER,"
	" misses INTEGER, miss_ratio REAL, seconds REAL, method TEXT,"
	" anomaly INTEGER);"
	"CREATE TABLE IF NOT EXISTS sim_mrc ("
	" sim_id INTEGER NOT NULL REFERENCES sim_runs(sim_id),"
	" policy TEXT NOT NULL, frames INTEGER NOT NULL, misses INTEGER,"
	" miss_ratio REAL, method TEXT);";

static int say(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

static uint32_t be(const unsigned char *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* May a file with this header take our tables? */
static bool ours_or_empty(uint32_t app, uint32_t version, uint32_t objects)
{
	return app == VMEMU_APP_ID ||
	       (app == 0 && version == 0 && objects == 0);
}

static int check_header(const char *path, char *err, size_t len)
{
	unsigned char h[HDR_READ];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint32_t app, objects;
	ssize_t n;

	if (fd < 0)
		return say(err, len, "%s: %s", path, strerror(errno));
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, SQLITE_MAGIC, 16))
		return say(err, len,
			   "%s: not a SQLite database, so not a vmemu "
			   "database; left untouched",
			   path);
	app = be(h + HDR_APP_ID, 4);
	objects = h[HDR_PAGE1_TYPE] == BTREE_LEAF ? be(h + HDR_PAGE1_CELLS, 2) :
						    1;
	if (!ours_or_empty(app, be(h + HDR_USER_VER, 4), objects))
		return say(err, len,
			   "%s: a SQLite database but not a vmemu database "
			   "(application_id 0x%08x); left untouched",
			   path, app);
	return 0;
}

int sim_log_check(const char *path, bool *exists, char *err, size_t len)
{
	struct stat st;
	char *copy;
	int ok;

	*exists = stat(path, &st) == 0;
	if (!*exists && errno != ENOENT)
		return say(err, len, "%s: %s", path, strerror(errno));
	if (!*exists) {
		copy = strdup(path);
		ok = copy && access(dirname(copy), W_OK | X_OK) == 0;
		free(copy);
		return ok ? 0 :
			    say(err, len,
				"%s: cannot create it (its directory is not "
				"writable)",
				path);
	}
	if (!S_ISREG(st.st_mode))
		return say(err, len, "%s: not a regular file", path);
	if (access(path, R_OK | W_OK))
		return say(err, len, "%s: cannot append to it: %s", path,
			   strerror(errno));
	return st.st_size ? check_header(path, err, len) : 0;
}

int sim_sha256(const char *path, char hex[SIM_SHA256_HEX], char *err,
	       size_t len)
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	unsigned char *buf = malloc(HASH_CHUNK);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	if (fd < 0 || !buf) {
		say(err, len, "%s: %s", path,
		    buf ? strerror(errno) : "out of memory");
		goto out;
	}
	sha256_init(&ctx);
	while ((n = read(fd, buf, HASH_CHUNK)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sha256_update(&ctx, (size_t)n, buf);
	if (n < 0) {
		say(err, len, "%s: read: %s", path, strerror(errno));
		goto out;
	}
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return n < 0 || fd < 0 || !buf ? CLI_EXIT_FAIL : 0;
}

/* ---- writing ---------------------------------------------------------- */

struct logw {
	sqlite3 *db;
	const struct sim *s;
	sqlite3_int64 sim_id;
	char *err;
	size_t len;
};

static int db_fail(struct logw *w, const char *what)
{
	say(w->err, w->len, "%s: %s (%s)", w->s->log_path,
	    sqlite3_errmsg(w->db), what);
	return CLI_EXIT_FAIL;
}

static int exec(struct logw *w, const char *sql, const char *what)
{
	return sqlite3_exec(w->db, sql, NULL, NULL, NULL) == SQLITE_OK ?
		       0 :
		       db_fail(w, what);
}

static int query_u32(struct logw *w, const char *sql, uint32_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(w->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = (uint32_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : db_fail(w, "reading its header");
}

/* Inside the transaction: judge the file again, mark a new one ours. */
static int claim_file(struct logw *w)
{
	uint32_t app = 0, ver = 0, objects = 0;
	char sql[96];

	if (query_u32(w, "PRAGMA application_id", &app) ||
	    query_u32(w, "PRAGMA user_version", &ver) ||
	    query_u32(w, "SELECT count(*) FROM sqlite_schema", &objects))
		return CLI_EXIT_FAIL;
	if (!ours_or_empty(app, ver, objects)) {
		say(w->err, w->len,
		    "%s: a SQLite database but not a vmemu database "
		    "(application_id 0x%08x); left untouched",
		    w->s->log_path, app);
		return CLI_EXIT_USAGE;
	}
	if (app == VMEMU_APP_ID)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", VMEMU_APP_ID);
	return exec(w, sql, "marking it a vmemu database");
}

static void iso_time(uint64_t unix_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(unix_ns / NSEC_PER_SEC);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ",
		 (unsigned)(unix_ns % NSEC_PER_SEC / 1000000));
}

static uint64_t now_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static const char *const comp_names[] = { "none", "none", "gzip", "zstd" };

/* The trace half of the sim_runs row (parameters 7..17). */
static void bind_trace(sqlite3_stmt *st, const struct sim *s, const char *sha)
{
	const struct trace *tr = &s->tr;
	char *copy = strdup(s->trace_path);
	struct stat sb;

	bind_text(st, 7, s->trace_path);
	bind_text(st, 8, copy ? basename(copy) : s->trace_path);
	bind_text(st, 9, sha);
	if (stat(s->trace_path, &sb) == 0)
		bind_u64(st, 10, (uint64_t)sb.st_size);
	bind_text(st, 11, trace_format_name(tr->format));
	bind_text(st, 12, comp_names[tr->compress]);
	bind_u64(st, 13, tr->nr_requests);
	bind_u64(st, 14, tr->nr_pages);
	bind_u64(st, 15, tr->nr_writes);
	bind_text(st, 16, "exact");
	sqlite3_bind_int(st, 17, s->mrc);
	free(copy);
}

static int insert_run(struct logw *w, const char *sha)
{
	static const char sql[] =
		"INSERT INTO sim_runs (version, hostname, cmdline,"
		" start_unix_ns, started_at, duration_ns, trace_path,"
		" trace_name, trace_sha256, trace_bytes, format, compression,"
		" requests, distinct_pages, writes, mode, mrc, jobs, load_ns,"
		" mrc_ns) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	const struct sim *s = w->s;
	char started[64];
	struct utsname uts;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(w, "adding the sim_runs row");
	iso_time(s->start_unix_ns, started, sizeof(started));
	bind_text(st, 1, CLI_VERSION);
	bind_text(st, 2, uname(&uts) ? NULL : uts.nodename);
	bind_text(st, 3, s->cmdline);
	bind_u64(st, 4, s->start_unix_ns);
	bind_text(st, 5, started);
	bind_u64(st, 6, now_unix_ns() - s->start_unix_ns);
	bind_trace(st, s, sha);
	sqlite3_bind_int(st, 18, (int)(s->jobs ? s->jobs : trace_cpus()));
	bind_u64(st, 19, s->load_ns);
	if (s->lru_mrc)
		bind_u64(st, 20, (uint64_t)(s->mrc_seconds * NSEC_PER_SEC));
	rc = sqlite3_step(st) == SQLITE_DONE ?
		     0 :
		     db_fail(w, "adding the sim_runs row");
	sqlite3_finalize(st);
	w->sim_id = sqlite3_last_insert_rowid(w->db);
	return rc;
}

static int step(struct logw *w, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(w, what);
}

static int insert_results(struct logw *w)
{
	static const char sql[] =
		"INSERT INTO sim_results (sim_id, policy, frames, requests,"
		" misses, miss_ratio, seconds, method, anomaly)"
		" VALUES (?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *st;
	int rc = 0;

	if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(w, "adding sim_results rows");
	for (size_t i = 0; !rc && i < w->s->nr_rows; i++) {
		const struct sim_row *r = &w->s->rows[i];

		sqlite3_bind_int64(st, 1, w->sim_id);
		bind_text(st, 2, r->policy);
		bind_u64(st, 3, r->frames);
		bind_u64(st, 4, r->requests);
		bind_u64(st, 5, r->misses);
		sqlite3_bind_double(st, 6,
				    r->requests ? (double)r->misses /
							  (double)r->requests :
						  0);
		sqlite3_bind_double(st, 7, r->seconds);
		bind_text(st, 8, r->method == SIM_STACK ? "stack" : "replay");
		sqlite3_bind_int(st, 9, r->anomaly);
		rc = step(w, st, "adding sim_results rows");
	}
	sqlite3_finalize(st);
	return rc;
}

static int mrc_point(struct logw *w, sqlite3_stmt *st, const char *policy,
		     uint64_t frames, uint64_t misses, const char *method)
{
	uint64_t n = w->s->tr.nr_requests;

	sqlite3_bind_int64(st, 1, w->sim_id);
	bind_text(st, 2, policy);
	bind_u64(st, 3, frames);
	bind_u64(st, 4, misses);
	sqlite3_bind_double(st, 5, n ? (double)misses / (double)n : 0);
	bind_text(st, 6, method);
	return step(w, st, "adding sim_mrc rows");
}

/* --mrc: LRU's whole curve, and the replayed policies' points. */
static int insert_mrc(struct logw *w)
{
	static const char sql[] =
		"INSERT INTO sim_mrc (sim_id, policy, frames, misses,"
		" miss_ratio, method) VALUES (?,?,?,?,?,?)";
	const struct sim *s = w->s;
	sqlite3_stmt *st;
	int rc = 0;

	if (!s->mrc)
		return 0;
	if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(w, "adding sim_mrc rows");
	for (uint64_t c = 1; !rc && s->lru_mrc && c <= s->tr.nr_pages; c++)
		rc = mrc_point(w, st, "lru", c, s->lru_mrc[c], "stack");
	for (size_t i = 0; !rc && i < s->nr_rows; i++)
		if (s->rows[i].method == SIM_REPLAY)
			rc = mrc_point(w, st, s->rows[i].policy,
				       s->rows[i].frames, s->rows[i].misses,
				       "replay");
	sqlite3_finalize(st);
	return rc;
}

static void remove_created(const struct sim *s)
{
	static const char *const suffixes[] = { "", "-journal", "-wal",
						"-shm" };
	char p[4096];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", s->log_path, suffixes[i]);
		unlink(p);
	}
}

int sim_log_write(const struct sim *s, const char *sha256, char *err,
		  size_t len)
{
	struct logw w = { NULL, s, 0, err, len };
	int rc;

	if (sqlite3_open_v2(s->log_path, &w.db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		rc = w.db ? db_fail(&w, "opening") :
			    say(err, len, "%s: out of memory", s->log_path);
		goto out;
	}
	sqlite3_busy_timeout(w.db, BUSY_MS);
	rc = exec(&w, "BEGIN IMMEDIATE", "starting the transaction");
	if (!rc)
		rc = claim_file(&w);
	if (!rc)
		rc = exec(&w, schema, "creating the sim_ tables");
	if (!rc)
		rc = insert_run(&w, sha256);
	if (!rc)
		rc = insert_results(&w);
	if (!rc)
		rc = insert_mrc(&w);
	if (!rc)
		rc = exec(&w, "COMMIT", "committing");
	if (rc && w.db && !sqlite3_get_autocommit(w.db))
		sqlite3_exec(w.db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_close(w.db);
	if (rc && s->log_created)
		remove_created(s);
	return rc ? CLI_EXIT_FAIL : 0;
}
