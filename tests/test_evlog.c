/*
 * tests/test_evlog.c - the event log (vm/evlog.h).
 *
 * Every check reads the database back through a separate SQLite
 * connection, as a user would: the schema and its version, events equal to
 * the counts with four producers (each event's fields, each producer's
 * order, seq dense from 0), a ring of 8 records that fills and makes
 * producers wait (the writer held, then slowed, through test hooks)
 * without losing a record, the seq order of side rows against events,
 * kill -9 in the middle of a run (several times), refusal of foreign,
 * non-SQLite and newer files with their bytes and mtime unchanged,
 * migration of a version-1 file and of missing vmstat columns, many runs
 * in one file, SQLITE_FULL and a failing write(2) becoming a sticky error,
 * read-only files and directories, and bad configurations.
 *
 * Randomized tests (kinds per event, kill delays) print their seed; SEED=<n>
 * replays a run.  Tests that need another user (read-only files, as root)
 * or a file-size limit run that part in a child process.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tests/lib/vmtest.h"
#include "vm/evlog.h"

#define ERR_LEN		 512
#define NR_KINDS	 6
#define NR_COUNTERS	 4
#define NR_PRODUCERS	 4
#define EVENTS_EACH	 50000
#define TINY_RING	 8
#define TINY_EACH	 2000
#define TINY_DELAY_US	 20
#define CRASH_ROUNDS	 5
#define CRASH_MAX_DELAY	 20000 /* us after the first commit is visible */
#define POLL_US		 1000
#define POLL_LIMIT	 20000 /* polls (20 s): a liveness bound, not timing */
#define FULL_EXTRA_PAGES 64
#define FULL_TXN_ROWS	 1000
#define FULL_EACH	 100000
#define FSIZE_SLACK	 (256 * 1024)
#define SIDE_ROUNDS	 200
#define NOBODY		 65534
#define ID_SHIFT	 32
#define LOW32		 0xffffffffULL

static const struct evlog_kind kinds[NR_KINDS] = {
	{ "pgfault", "a fault that changed a PTE" },
	{ "pgmajfault", "a fault that needed I/O" },
	{ "swapin", "a page read back from swap" },
	{ "swapout", "a page written to swap" },
	{ "reclaim", "a page reclaimed" },
	{ "oom", "an OOM kill" },
};

static const char *const counters[NR_COUNTERS] = {
	"pgfault",
	"pgmajfault",
	"pswpin",
	"nr_free_pages",
};

static char dir[64]; /* /tmp/test_evlog.XXXXXX */
static uint64_t seed;

/* ---- fixtures and helpers ------------------------------------------------ */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int dir_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_evlog.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int dir_teardown(void **state)
{
	(void)state;
	chmod(dir, 0700);
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void cfg_init(struct evlog_config *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path;
	cfg->kinds = kinds;
	cfg->nr_kinds = NR_KINDS;
	cfg->counters = counters;
	cfg->nr_counters = NR_COUNTERS;
	cfg->version = "vmemu-test";
	cfg->cmdline = "test_evlog --x";
	cfg->config_json = "{\"mem\":65536}";
	cfg->seed = 42;
}

static struct evlog *open_ok(const struct evlog_config *cfg)
{
	char err[ERR_LEN] = "";
	struct evlog *log = NULL;
	int rc = evlog_open(cfg, &log, err, sizeof(err));

	if (rc)
		fail_msg("evlog_open: %d: %s", rc, err);
	return log;
}

static void close_ok(struct evlog *log, int status)
{
	char err[ERR_LEN] = "";
	int rc = evlog_close(log, status, err, sizeof(err));

	if (rc)
		fail_msg("evlog_close: %d: %s", rc, err);
}

static sqlite3 *db_open(const char *path, int flags)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
		fail_msg("sqlite3_open_v2 %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static sqlite3 *db_ro(const char *path)
{
	return db_open(path, SQLITE_OPEN_READONLY);
}

static void db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* The integer in the first column of the first row (0 if none / NULL). */
static int64_t q_int(sqlite3 *db, const char *fmt, ...)
{
	char sql[1024];
	sqlite3_stmt *st;
	int64_t v = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The text in the first column of the first row, copied ("" if NULL). */
static void q_text(sqlite3 *db, char *out, size_t len, const char *fmt, ...)
{
	char sql[1024];
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

static void assert_integrity(const char *path)
{
	char ok[64];
	sqlite3 *db = db_ro(path);

	q_text(db, ok, sizeof(ok), "PRAGMA integrity_check");
	assert_string_equal(ok, "ok");
	sqlite3_close(db);
}

/* ---- producers ------------------------------------------------------------ */

/* Producer id's i-th event; its kind is a hash of (seed, id, i). */
static struct evlog_event make_event(unsigned id, uint64_t i)
{
	uint64_t h =
		(seed ^ ((uint64_t)id << ID_SHIFT) ^ i) * 0x9E3779B97F4A7C15ULL;
	struct evlog_event ev = {
		.t_ns = i,
		.va = i % 3 ? i << 12 : EVLOG_NONE,
		.pfn = i + id,
		.slot = i % 5 ? EVLOG_NONE : i,
		.arg = (int64_t)(((uint64_t)id << ID_SHIFT) | i),
		.kind = (uint32_t)((h >> ID_SHIFT) % NR_KINDS),
		.pid = (int32_t)id + 1,
	};

	return ev;
}

struct producer {
	pthread_t th;
	struct evlog *log;
	unsigned id;
	uint64_t n;
	uint64_t tally[NR_KINDS];
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (uint64_t i = 0; i < p->n; i++) {
		struct evlog_event ev = make_event(p->id, i);

		evlog_emit(p->log, &ev);
		p->tally[ev.kind]++;
	}
	return NULL;
}

static void producers_start(struct producer *p, unsigned nr, struct evlog *log,
			    uint64_t each)
{
	for (unsigned i = 0; i < nr; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].log = log;
		p[i].id = i;
		p[i].n = each;
		assert_int_equal(pthread_create(&p[i].th, NULL, producer_main,
						&p[i]),
				 0);
	}
}

static void producers_join(struct producer *p, unsigned nr, uint64_t *tally)
{
	memset(tally, 0, NR_KINDS * sizeof(tally[0]));
	for (unsigned i = 0; i < nr; i++) {
		pthread_join(p[i].th, NULL);
		for (unsigned k = 0; k < NR_KINDS; k++)
			tally[k] += p[i].tally[k];
	}
}

static void check_column(sqlite3_stmt *st, int col, uint64_t want)
{
	if (want == EVLOG_NONE)
		assert_int_equal(sqlite3_column_type(st, col), SQLITE_NULL);
	else
		assert_int_equal(sqlite3_column_int64(st, col), (int64_t)want);
}

/* Row at position `row` (by seq) of the run: fields and producer order. */
static void check_event_row(sqlite3_stmt *st, uint64_t row, uint64_t *next,
			    unsigned nr, uint64_t *recount)
{
	uint64_t arg = (uint64_t)sqlite3_column_int64(st, 7);
	unsigned id = (unsigned)(arg >> ID_SHIFT);
	struct evlog_event ev;

	assert_int_equal(sqlite3_column_int64(st, 0), (int64_t)row);
	assert_true(id < nr);
	assert_int_equal(arg & LOW32, next[id]); /* every one, in order */
	ev = make_event(id, next[id]++);
	assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)ev.t_ns);
	assert_int_equal(sqlite3_column_int64(st, 2), ev.kind);
	assert_int_equal(sqlite3_column_int64(st, 3), ev.pid);
	check_column(st, 4, ev.va);
	check_column(st, 5, ev.pfn);
	check_column(st, 6, ev.slot);
	recount[ev.kind]++;
}

/* The run holds exactly nr producers' `each` events, in producer order. */
static void verify_events(const char *path, int64_t run_id, unsigned nr,
			  uint64_t each, const uint64_t *tally)
{
	static const char sql[] =
		"SELECT seq, t_ns, kind, pid, va, pfn, slot, arg FROM events"
		" WHERE run_id = ? ORDER BY seq";
	uint64_t next[NR_PRODUCERS] = { 0 }, recount[NR_KINDS] = { 0 };
	uint64_t row = 0;
	sqlite3 *db = db_ro(path);
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), 0);
	sqlite3_bind_int64(st, 1, run_id);
	while (sqlite3_step(st) == SQLITE_ROW)
		check_event_row(st, row++, next, nr, recount);
	sqlite3_finalize(st);
	for (unsigned i = 0; i < nr; i++)
		assert_int_equal(next[i], each);
	for (unsigned k = 0; k < NR_KINDS; k++) {
		assert_int_equal(recount[k], tally[k]);
		assert_int_equal(q_int(db,
				       "SELECT emitted FROM event_kinds WHERE"
				       " run_id=%" PRId64 " AND kind=%u",
				       run_id, k),
				 tally[k]);
	}
	sqlite3_close(db);
}

/* ---- schema --------------------------------------------------------------- */

/* The nine tables, each with run_id; vmstat with one column per counter. */
static void check_tables(sqlite3 *db)
{
	static const char *const tables[] = { "runs",	   "tasks",
					      "events",	   "event_kinds",
					      "oom_kills", "oom_candidates",
					      "vmstat",	   "psi",
					      "leaks" };

	assert_int_equal(q_int(db,
			       "SELECT count(*) FROM sqlite_schema WHERE"
			       " type='table' AND name NOT LIKE 'sqlite_%%'"),
			 ARRAY_SIZE(tables));
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		assert_int_equal(q_int(db,
				       "SELECT count(*) FROM"
				       " pragma_table_info('%s')"
				       " WHERE name='run_id'",
				       tables[i]),
				 1);
	for (unsigned i = 0; i < NR_COUNTERS; i++)
		assert_int_equal(q_int(db,
				       "SELECT count(*) FROM"
				       " pragma_table_info('vmstat')"
				       " WHERE name='%s'",
				       counters[i]),
				 1);
}

/* Run 1's event_kinds and runs rows, as cfg_init configured it. */
static void check_run_rows(sqlite3 *db)
{
	char text[256], want[256];
	struct utsname uts;

	for (unsigned k = 0; k < NR_KINDS; k++) {
		q_text(db, text, sizeof(text),
		       "SELECT name || '|' || doc || '|' || logged FROM"
		       " event_kinds WHERE run_id=1 AND kind=%u",
		       k);
		snprintf(want, sizeof(want), "%s|%s|1", kinds[k].name,
			 kinds[k].doc);
		assert_string_equal(text, want);
	}
	q_text(db, text, sizeof(text),
	       "SELECT config_json || '|' || cmdline || '|' || version ||"
	       " '|' || seed || '|' || kinds_logged || '|' || exit_status ||"
	       " '|' || events FROM runs");
	assert_string_equal(text, "{\"mem\":65536}|test_evlog --x|vmemu-test"
				  "|42|all|3|0");
	assert_int_equal(q_int(db, "SELECT schema_version FROM runs"),
			 EVLOG_SCHEMA_VERSION);
	q_text(db, text, sizeof(text), "SELECT hostname FROM runs");
	assert_int_equal(uname(&uts), 0);
	assert_string_equal(text, uts.nodename);
	assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE"
				   " end_unix_ns >= start_unix_ns AND"
				   " started_at LIKE '____-__-__T__:__:__.___Z'"
				   " AND error IS NULL AND duration_ns >= 0"),
			 1);
}

static void test_evlog_schema_tables_and_version(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX], text[64];
	struct evlog *log;
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "schema.db");
	cfg_init(&cfg, path);
	log = open_ok(&cfg);
	assert_int_equal(evlog_run_id(log), 1);
	close_ok(log, 3);
	db = db_ro(path);
	assert_int_equal(q_int(db, "PRAGMA user_version"),
			 EVLOG_SCHEMA_VERSION);
	assert_int_equal(q_int(db, "PRAGMA application_id"),
			 EVLOG_APPLICATION_ID);
	q_text(db, text, sizeof(text), "PRAGMA journal_mode");
	assert_string_equal(text, "wal");
	check_tables(db);
	check_run_rows(db);
	sqlite3_close(db);
	assert_integrity(path);
}

/* ---- counts, order, back-pressure --------------------------------------- */

static void test_evlog_events_equal_counts(void **state)
{
	struct producer p[NR_PRODUCERS];
	uint64_t tally[NR_KINDS], total = 0;
	struct evlog_stats st;
	struct evlog_config cfg;
	char path[PATH_MAX];
	struct evlog *log;
	int64_t run_id;

	(void)state;
	in_dir(path, sizeof(path), "counts.db");
	cfg_init(&cfg, path);
	cfg.ring_records = 1024; /* small enough to fill now and then */
	log = open_ok(&cfg);
	run_id = evlog_run_id(log);
	producers_start(p, NR_PRODUCERS, log, EVENTS_EACH);
	producers_join(p, NR_PRODUCERS, tally);
	for (unsigned k = 0; k < NR_KINDS; k++) {
		assert_int_equal(evlog_count(log, k), tally[k]);
		total += tally[k];
	}
	assert_int_equal(total, (uint64_t)NR_PRODUCERS * EVENTS_EACH);
	assert_int_equal(evlog_flush(log), 0);
	evlog_stats(log, &st);
	assert_int_equal(st.emitted, total);
	assert_int_equal(st.rows, total);
	assert_int_equal(st.committed, total);
	assert_null(evlog_error(log));
	close_ok(log, 0);
	verify_events(path, run_id, NR_PRODUCERS, EVENTS_EACH, tally);
}

/* Poll until stalls >= want (bounded: a hang fails the test). */
static void wait_stalls(struct evlog *log, uint64_t want)
{
	struct evlog_stats st;

	for (unsigned i = 0; i < POLL_LIMIT; i++) {
		evlog_stats(log, &st);
		if (st.stalls >= want)
			return;
		usleep(POLL_US);
	}
	fail_msg("producers never waited on the full ring");
}

static void test_evlog_backpressure_tiny_ring(void **state)
{
	struct evlog_test_hooks hooks = {
		.start_paused = true,
		.writer_delay_us = TINY_DELAY_US,
	};
	struct producer p[NR_PRODUCERS];
	uint64_t tally[NR_KINDS], held = 0;
	struct evlog_config cfg;
	struct evlog_stats st;
	char path[PATH_MAX];
	struct evlog *log;

	(void)state;
	in_dir(path, sizeof(path), "tiny.db");
	cfg_init(&cfg, path);
	cfg.ring_records = TINY_RING;
	cfg.test = &hooks;
	log = open_ok(&cfg);
	producers_start(p, NR_PRODUCERS, log, TINY_EACH);
	/* The writer is held: every producer ends up waiting... */
	wait_stalls(log, NR_PRODUCERS);
	/* ... and exactly a ring's worth of events was accepted. */
	for (unsigned k = 0; k < NR_KINDS; k++)
		held += evlog_count(log, k);
	assert_int_equal(held, TINY_RING);
	evlog_test_resume(log);
	producers_join(p, NR_PRODUCERS, tally);
	evlog_stats(log, &st);
	assert_int_equal(st.emitted, (uint64_t)NR_PRODUCERS * TINY_EACH);
	assert_true(st.stalls > NR_PRODUCERS);
	close_ok(log, 0);
	verify_events(path, 1, NR_PRODUCERS, TINY_EACH, tally);
}

/* ---- side rows ------------------------------------------------------------ */

static void emit_one(struct evlog *log, unsigned kind, int64_t arg)
{
	struct evlog_event ev = {
		.t_ns = evlog_now(log),
		.va = EVLOG_NONE,
		.pfn = EVLOG_NONE,
		.slot = EVLOG_NONE,
		.arg = arg,
		.kind = kind,
		.pid = 5,
	};

	evlog_emit(log, &ev);
}

static void side_rows_sequence(struct evlog *log)
{
	const struct evlog_oom_candidate c[2] = {
		{ 5, "hog", 1000, 900, 800, 60, 40, 8192, 7, 0, 907, true },
		{ 6, "init", 10, 9, 9, 0, 0, 4096, 0, -1000, EVLOG_OOM_EXEMPT,
		  false },
	};
	const struct evlog_oom_kill kill = { 300, 5, 6, 4096,
					     "Out of memory: Killed process 5"
					     " (hog)" };
	const struct evlog_task task = { 5, 1, "hog", 0, 100 };
	const struct evlog_task_exit ex = { 5,		400,  "oom_killed", 137,
					    EVLOG_NONE, NULL, 950,	    12,
					    3,		2 };
	const struct evlog_psi_line some = { 1.5, 0.25, 0.125, 1234 };
	const struct evlog_psi_line full = { 0.5, 0.0, 0.0, 99 };
	const uint64_t values[NR_COUNTERS] = { 10, 2, 1, 777 };

	emit_one(log, 0, 0);
	emit_one(log, 0, 1);
	assert_int_equal(evlog_task(log, &task), 0); /* seq 2 */
	emit_one(log, 1, 2);
	assert_int_equal(evlog_vmstat(log, 200, values), 0); /* seq 3 */
	assert_int_equal(evlog_psi(log, 250, &some, &full), 0);
	emit_one(log, 2, 3);
	assert_int_equal(evlog_oom(log, &kill, c, 2), 0); /* seq 4 */
	assert_int_equal(evlog_task_exit(log, &ex), 0);
	emit_one(log, 3, 4);
}

static void check_side_rows(sqlite3 *db)
{
	char text[256];

	q_text(db, text, sizeof(text),
	       "SELECT pid||'|'||ppid||'|'||name||'|'||seq||'|'||t_start_ns"
	       "||'|'||end_seq||'|'||t_end_ns||'|'||exit_reason||'|'||"
	       "exit_code||'|'||ifnull(fault_va,'-')||'|'||peak_rss_pages"
	       "||'|'||minflt||'|'||majflt||'|'||swapins FROM tasks");
	assert_string_equal(text, "5|1|hog|2|100|4|400|oom_killed|137|-|950|"
				  "12|3|2");
	q_text(db, text, sizeof(text),
	       "SELECT seq||'|'||t_ns||'|'||pgfault||'|'||pgmajfault||'|'||"
	       "pswpin||'|'||nr_free_pages FROM vmstat");
	assert_string_equal(text, "3|200|10|2|1|777");
	q_text(db, text, sizeof(text),
	       "SELECT seq||'|'||some_avg10||'|'||some_avg300||'|'||"
	       "some_total_us||'|'||full_avg10||'|'||full_total_us FROM psi");
	assert_string_equal(text, "3|1.5|0.125|1234|0.5|99");
	q_text(db, text, sizeof(text),
	       "SELECT seq||'|'||t_ns||'|'||victim_pid||'|'||trigger_pid||"
	       "'|'||totalpages||'|'||report FROM oom_kills");
	assert_string_equal(text, "4|300|5|6|4096|Out of memory: Killed "
				  "process 5 (hog)");
	q_text(db, text, sizeof(text),
	       "SELECT group_concat(pid||':'||name||':'||rss_anon||':'||"
	       "pgtables_bytes||':'||ifnull(points,'exempt')||':'||chosen,"
	       "' ') FROM (SELECT * FROM oom_candidates c JOIN oom_kills k"
	       " USING (oom_id) ORDER BY c.pid)");
	assert_string_equal(text,
			    "5:hog:800:8192:907:1 6:init:9:4096:exempt:0");
	q_text(db, text, sizeof(text),
	       "SELECT group_concat(seq||':'||kind||':'||arg, ',') FROM"
	       " (SELECT * FROM events ORDER BY seq)");
	assert_string_equal(text, "0:0:0,1:0:1,2:1:2,3:2:3,4:3:4");
}

static void test_evlog_side_rows_in_seq_order(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX];
	struct evlog *log;
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "side.db");
	cfg_init(&cfg, path);
	log = open_ok(&cfg);
	side_rows_sequence(log);
	close_ok(log, 0);
	db = db_ro(path);
	check_side_rows(db);
	sqlite3_close(db);
}

struct noise {
	pthread_t th;
	struct evlog *log;
	atomic_bool stop;
	atomic_bool started; /* it has emitted once */
};

static void *noise_main(void *arg)
{
	struct noise *n = arg;

	for (int64_t i = 0; !atomic_load(&n->stop); i++) {
		emit_one(n->log, 4, i);
		atomic_store(&n->started, true);
	}
	return NULL;
}

/*
 * Main thread: event k, then a vmstat row carrying k, k = 0, 1, ...; another
 * thread emits all along.  Each row must follow event k and precede k + 1.
 */
static void test_evlog_side_rows_ordered_against_producers(void **state)
{
	struct noise noise = { .stop = false, .started = false };
	struct evlog_config cfg;
	uint64_t values[NR_COUNTERS] = { 0 };
	char path[PATH_MAX];
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "order.db");
	cfg_init(&cfg, path);
	cfg.ring_records = 64;
	noise.log = open_ok(&cfg);
	assert_int_equal(pthread_create(&noise.th, NULL, noise_main, &noise),
			 0);
	while (!atomic_load(&noise.started))
		sched_yield();
	for (uint64_t k = 0; k < SIDE_ROUNDS; k++) {
		emit_one(noise.log, 0, (int64_t)k);
		values[0] = k;
		assert_int_equal(evlog_vmstat(noise.log, k, values), 0);
	}
	emit_one(noise.log, 0, SIDE_ROUNDS);
	atomic_store(&noise.stop, true);
	pthread_join(noise.th, NULL);
	close_ok(noise.log, 0);
	db = db_open(path, SQLITE_OPEN_READWRITE);
	db_exec(db, "CREATE INDEX ev_kind_arg ON events(kind, arg)");
	assert_int_equal(q_int(db, "SELECT count(*) FROM vmstat"), SIDE_ROUNDS);
	assert_int_equal(q_int(db, "SELECT count(*) FROM vmstat v JOIN events"
				   " e ON e.kind=0 AND e.arg=v.pgfault"
				   " WHERE e.seq < v.seq"),
			 SIDE_ROUNDS);
	assert_int_equal(q_int(db, "SELECT count(*) FROM vmstat v JOIN events"
				   " e ON e.kind=0 AND e.arg=v.pgfault+1"
				   " WHERE e.seq >= v.seq"),
			 SIDE_ROUNDS);
	assert_true(q_int(db, "SELECT count(*) FROM events WHERE kind=4") > 0);
	sqlite3_close(db);
}

static void test_evlog_flush_makes_rows_visible(void **state)
{
	const uint64_t values[NR_COUNTERS] = { 1, 2, 3, 4 };
	struct evlog_config cfg;
	char path[PATH_MAX];
	struct evlog *log;
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "flush.db");
	cfg_init(&cfg, path);
	log = open_ok(&cfg);
	for (int i = 0; i < 10; i++)
		emit_one(log, 1, i);
	assert_int_equal(evlog_vmstat(log, 7, values), 0);
	assert_int_equal(evlog_flush(log), 0);
	db = db_ro(path); /* another reader, while the log is open */
	assert_int_equal(q_int(db, "SELECT count(*) FROM events"), 10);
	assert_int_equal(q_int(db, "SELECT count(*) FROM vmstat"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE"
				   " end_unix_ns IS NULL"),
			 1);
	sqlite3_close(db);
	close_ok(log, 0);
}

struct flusher {
	pthread_t th;
	struct evlog *log;
	int rc;
};

static void *flusher_main(void *arg)
{
	struct flusher *f = arg;

	f->rc = evlog_flush(f->log);
	return NULL;
}

static void wait_side_queued(struct evlog *log, unsigned want)
{
	struct evlog_stats st;

	for (unsigned i = 0; i < POLL_LIMIT; i++) {
		evlog_stats(log, &st);
		if (st.side_queued >= want)
			return;
		usleep(POLL_US);
	}
	fail_msg("the flush was never queued");
}

/*
 * A flush queued between two batches of events commits the first batch
 * and nothing of the second, though the writer finds all of them in the
 * ring at once: it merges side rows and events in seq order.
 */
static void test_evlog_flush_is_a_barrier(void **state)
{
	struct evlog_test_hooks hooks = {
		.start_paused = true,
		.no_timed_commit = true,
	};
	struct flusher f = { .rc = -1 };
	struct evlog_config cfg;
	struct evlog_stats st;
	char path[PATH_MAX];
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "barrier.db");
	cfg_init(&cfg, path);
	cfg.test = &hooks;
	f.log = open_ok(&cfg);
	for (int i = 0; i < 10; i++)
		emit_one(f.log, 1, i);
	assert_int_equal(pthread_create(&f.th, NULL, flusher_main, &f), 0);
	wait_side_queued(f.log, 1);
	for (int i = 10; i < 20; i++)
		emit_one(f.log, 1, i);
	evlog_test_resume(f.log);
	pthread_join(f.th, NULL);
	assert_int_equal(f.rc, 0);
	evlog_stats(f.log, &st);
	assert_int_equal(st.committed, 10);
	assert_int_equal(st.commits, 1);
	close_ok(f.log, 0);
	db = db_ro(path);
	assert_int_equal(q_int(db, "SELECT count(*) FROM events"), 20);
	sqlite3_close(db);
}

/* ---- crash safety ---------------------------------------------------------- */

struct crash_shared {
	_Atomic uint64_t emitted;
	_Atomic int64_t run_id;
};

static _Noreturn void crash_child(const char *path, struct crash_shared *sh)
{
	struct evlog_config cfg;
	char err[ERR_LEN];
	struct evlog *log;

	cfg_init(&cfg, path);
	if (evlog_open(&cfg, &log, err, sizeof(err)))
		_exit(2);
	atomic_store(&sh->run_id, evlog_run_id(log));
	for (uint64_t i = 0;; i++) {
		struct evlog_event ev = make_event(0, i);

		evlog_emit(log, &ev);
		atomic_store(&sh->emitted, i + 1);
	}
}

/* Wait until the child's run has a committed event (bounded). */
static void wait_committed(const char *path, struct crash_shared *sh)
{
	for (unsigned i = 0; i < POLL_LIMIT; i++, usleep(POLL_US)) {
		int64_t run_id = atomic_load(&sh->run_id);
		sqlite3 *db;
		int64_t n;

		if (!run_id)
			continue;
		db = db_ro(path);
		n = q_int(db,
			  "SELECT count(*) FROM (SELECT 1 FROM events WHERE"
			  " run_id=%" PRId64 " LIMIT 1)",
			  run_id);
		sqlite3_close(db);
		if (n)
			return;
	}
	fail_msg("the child never committed an event");
}

/* A killed run: its events are exactly seq 0..n-1, n <= emitted. */
static void check_crashed_run(sqlite3 *db, int64_t run_id, uint64_t emitted)
{
	int64_t n = q_int(db,
			  "SELECT count(*) FROM events WHERE run_id=%" PRId64,
			  run_id);

	assert_true(n > 0);
	assert_true((uint64_t)n <= emitted);
	assert_int_equal(q_int(db,
			       "SELECT max(seq) - min(seq) + 1 FROM events"
			       " WHERE run_id=%" PRId64,
			       run_id),
			 n);
	assert_int_equal(q_int(db,
			       "SELECT min(seq) FROM events WHERE"
			       " run_id=%" PRId64,
			       run_id),
			 0);
	assert_int_equal(q_int(db,
			       "SELECT count(*) FROM events WHERE"
			       " run_id=%" PRId64 " AND (arg != seq OR t_ns"
			       " != seq OR pid != 1)",
			       run_id),
			 0);
	assert_int_equal(q_int(db,
			       "SELECT count(*) FROM runs WHERE run_id=%" PRId64
			       " AND end_unix_ns IS NULL",
			       run_id),
			 1);
}

static void crash_round(const char *path, struct crash_shared *sh,
			uint64_t *rng, int64_t *run_id, uint64_t *emitted)
{
	pid_t pid;
	int status;

	atomic_store(&sh->run_id, 0);
	atomic_store(&sh->emitted, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		crash_child(path, sh);
	wait_committed(path, sh);
	usleep((useconds_t)(vmtest_rand(rng) % CRASH_MAX_DELAY));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	*run_id = atomic_load(&sh->run_id);
	*emitted = atomic_load(&sh->emitted);
}

static void test_evlog_crash_keeps_committed_prefix(void **state)
{
	struct crash_shared *sh = mmap(NULL, sizeof(*sh),
				       PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int64_t run_id[CRASH_ROUNDS];
	uint64_t emitted[CRASH_ROUNDS], rng = seed | 1;
	struct evlog_config cfg;
	char path[PATH_MAX];
	sqlite3 *db;

	(void)state;
	assert_true(sh != MAP_FAILED);
	in_dir(path, sizeof(path), "crash.db");
	for (unsigned r = 0; r < CRASH_ROUNDS; r++)
		crash_round(path, sh, &rng, &run_id[r], &emitted[r]);
	assert_integrity(path);
	db = db_ro(path);
	for (unsigned r = 0; r < CRASH_ROUNDS; r++)
		check_crashed_run(db, run_id[r], emitted[r]);
	sqlite3_close(db);
	/* The file takes new runs after all that. */
	cfg_init(&cfg, path);
	close_ok(open_ok(&cfg), 0);
	assert_integrity(path);
	munmap(sh, sizeof(*sh));
}

/* ---- refusing files that are not ours -------------------------------------- */

struct snapshot {
	struct stat st;
	size_t len;
	char *bytes;
};

static void snap(const char *path, struct snapshot *s)
{
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(stat(path, &s->st), 0);
	s->len = (size_t)s->st.st_size;
	s->bytes = malloc(s->len + 1);
	assert_non_null(s->bytes);
	assert_int_equal(fread(s->bytes, 1, s->len, f), s->len);
	fclose(f);
}

/* Same bytes, same mtime, no journal / WAL / shm left next to it. */
static void assert_untouched(const char *path, struct snapshot *s)
{
	static const char *const sfx[] = { "-wal", "-shm", "-journal" };
	struct snapshot now;
	char side[PATH_MAX + 16];

	snap(path, &now);
	assert_int_equal(now.len, s->len);
	assert_memory_equal(now.bytes, s->bytes, s->len);
	assert_int_equal(now.st.st_mtim.tv_sec, s->st.st_mtim.tv_sec);
	assert_int_equal(now.st.st_mtim.tv_nsec, s->st.st_mtim.tv_nsec);
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		snprintf(side, sizeof(side), "%s%s", path, sfx[i]);
		assert_int_equal(access(side, F_OK), -1);
	}
	free(now.bytes);
	free(s->bytes);
}

static void expect_refused(const char *path, const char *needle)
{
	struct evlog_config cfg;
	char err[ERR_LEN] = "";
	struct snapshot s;
	struct evlog *log = NULL;

	snap(path, &s);
	cfg_init(&cfg, path);
	assert_int_equal(evlog_open(&cfg, &log, err, sizeof(err)), -EINVAL);
	assert_null(log);
	assert_contains(err, path);
	assert_contains(err, needle);
	assert_null(strchr(err, '\n'));
	assert_untouched(path, &s);
}

static void make_foreign(const char *path, int app_id)
{
	char sql[128];
	sqlite3 *db = db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);

	db_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)");
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", app_id);
	db_exec(db, sql);
	sqlite3_close(db);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void test_evlog_refuses_foreign_sqlite(void **state)
{
	char path[PATH_MAX];

	(void)state;
	in_dir(path, sizeof(path), "foreign.db");
	make_foreign(path, 0);
	expect_refused(path, "not a vmemu event log");
	in_dir(path, sizeof(path), "other-app.db");
	make_foreign(path, 0x12345678);
	expect_refused(path, "application_id 0x12345678");
}

static void test_evlog_refuses_non_sqlite(void **state)
{
	char path[PATH_MAX], junk[8192];
	uint64_t rng = seed | 1;

	(void)state;
	in_dir(path, sizeof(path), "notes.txt");
	write_file(path, "just some notes\n", 16);
	expect_refused(path, "not a SQLite database");
	in_dir(path, sizeof(path), "short.bin");
	write_file(path, "SQLite", 6);
	expect_refused(path, "not a SQLite database");
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)vmtest_rand(&rng);
	in_dir(path, sizeof(path), "junk.bin");
	write_file(path, junk, sizeof(junk));
	expect_refused(path, "not a SQLite database");
}

static void test_evlog_refuses_newer_schema(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX], sql[64];
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "newer.db");
	cfg_init(&cfg, path);
	close_ok(open_ok(&cfg), 0);
	db = db_open(path, SQLITE_OPEN_READWRITE);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 EVLOG_SCHEMA_VERSION + 1);
	db_exec(db, sql);
	sqlite3_close(db);
	expect_refused(path, "is newer than this vmemu's");
}

static void test_evlog_empty_file_becomes_log(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX];
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "empty.db");
	write_file(path, "", 0);
	cfg_init(&cfg, path);
	close_ok(open_ok(&cfg), 0);
	db = db_ro(path);
	assert_int_equal(q_int(db, "SELECT count(*) FROM runs"), 1);
	sqlite3_close(db);
}

/* ---- migration and many runs ------------------------------------------------ */

/* Make path look as a version-1 vmemu wrote it (no psi, no leaks). */
static void downgrade_to_v1(const char *path)
{
	sqlite3 *db = db_open(path, SQLITE_OPEN_READWRITE);

	db_exec(db,
		"DROP TABLE psi; DROP TABLE leaks; PRAGMA user_version = 1");
	sqlite3_close(db);
}

static void test_evlog_migrates_older_schema(void **state)
{
	const uint64_t values[NR_COUNTERS] = { 5, 6, 7, 8 };
	const struct evlog_psi_line line = { 1, 2, 3, 4 };
	struct evlog_config cfg;
	char path[PATH_MAX];
	struct evlog *log;
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "old.db");
	cfg_init(&cfg, path);
	cfg.nr_counters = NR_COUNTERS - 1;
	log = open_ok(&cfg);
	emit_one(log, 0, 1);
	assert_int_equal(evlog_vmstat(log, 1, values), 0);
	close_ok(log, 0);
	downgrade_to_v1(path);
	cfg.nr_counters = NR_COUNTERS;
	log = open_ok(&cfg);
	assert_int_equal(evlog_run_id(log), 2);
	assert_int_equal(evlog_vmstat(log, 2, values), 0);
	assert_int_equal(evlog_psi(log, 3, &line, &line), 0);
	close_ok(log, 0);
	db = db_ro(path);
	assert_int_equal(q_int(db, "PRAGMA user_version"),
			 EVLOG_SCHEMA_VERSION);
	assert_int_equal(q_int(db, "SELECT count(*) FROM psi"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM events WHERE"
				   " run_id=1"),
			 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM vmstat WHERE run_id=1"
				   " AND pswpin=7 AND nr_free_pages IS NULL"),
			 1);
	assert_int_equal(q_int(db, "SELECT nr_free_pages FROM vmstat WHERE"
				   " run_id=2"),
			 8);
	sqlite3_close(db);
	assert_integrity(path);
}

/* Everything run 1 wrote, as one string (to see it never changes). */
static void run1_fingerprint(const char *path, char *out, size_t len)
{
	sqlite3 *db = db_ro(path);
	char rows[128];

	q_text(db, out, len,
	       "SELECT quote(r.end_unix_ns)||quote(r.events)||group_concat("
	       "k.name||k.emitted) FROM runs r JOIN event_kinds k USING (run_id)"
	       " WHERE run_id=1");
	q_text(db, rows, sizeof(rows),
	       "SELECT count(*)||':'||sum(seq*31+t_ns+kind*7+arg) FROM events"
	       " WHERE run_id=1");
	strncat(out, rows, len - strlen(out) - 1);
	sqlite3_close(db);
}

static void test_evlog_many_runs_one_file(void **state)
{
	enum { RUNS = 3 };
	struct evlog_config cfg;
	char path[PATH_MAX], text[128], first[512], now[512];
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "runs.db");
	cfg_init(&cfg, path);
	for (int r = 0; r < RUNS; r++) {
		struct evlog *log;

		cfg.seed = 100 + (uint64_t)r;
		cfg.enabled = r == 1 ? "swapin" : NULL;
		log = open_ok(&cfg);
		assert_int_equal(evlog_run_id(log), r + 1);
		for (int i = 0; i <= r * 10; i++)
			emit_one(log, 2, i);
		close_ok(log, r);
		run1_fingerprint(path, r ? now : first, sizeof(first));
		if (r)
			assert_string_equal(now, first);
	}
	db = db_ro(path);
	q_text(db, text, sizeof(text),
	       "SELECT group_concat(run_id||':'||seed||':'||exit_status||':'||"
	       "events||':'||kinds_logged, ',') FROM (SELECT * FROM runs"
	       " ORDER BY run_id)");
	assert_string_equal(text, "1:100:0:1:all,2:101:1:11:swapin,"
				  "3:102:2:21:all");
	for (int r = 0; r < RUNS; r++)
		assert_int_equal(q_int(db,
				       "SELECT count(*) FROM events WHERE"
				       " run_id=%d",
				       r + 1),
				 r * 10 + 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM event_kinds"),
			 RUNS * NR_KINDS);
	sqlite3_close(db);
}

/* ---- errors ------------------------------------------------------------------ */

static void test_evlog_sqlite_full_is_sticky(void **state)
{
	struct evlog_test_hooks hooks = {
		.max_page_count_extra = FULL_EXTRA_PAGES,
		.txn_rows = FULL_TXN_ROWS,
		.no_timed_commit = true,
	};
	struct producer p[2];
	uint64_t tally[NR_KINDS];
	struct evlog_config cfg;
	struct evlog_stats st;
	char path[PATH_MAX], err[ERR_LEN] = "";
	struct evlog *log;
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "full.db");
	cfg_init(&cfg, path);
	cfg.test = &hooks;
	log = open_ok(&cfg);
	producers_start(p, 2, log, FULL_EACH);
	producers_join(p, 2, tally); /* returns: producers never stuck */
	assert_non_null(evlog_error(log));
	assert_contains(evlog_error(log), path);
	assert_contains(evlog_error(log), "database or disk is full");
	assert_int_equal(evlog_flush(log), -ENOSPC);
	evlog_stats(log, &st);
	assert_true(st.committed > 0);
	assert_true(st.discarded > 0);
	assert_int_equal(evlog_close(log, 0, err, sizeof(err)), -ENOSPC);
	assert_contains(err, "database or disk is full");
	assert_integrity(path);
	db = db_ro(path);
	assert_int_equal(q_int(db, "SELECT count(*) FROM events"),
			 st.committed);
	assert_int_equal(q_int(db, "SELECT max(seq) + 1 FROM events"),
			 st.committed);
	sqlite3_close(db);
}

/* Run fn(path) in a child (another user when root); its rc and message. */
static int in_child(void (*fn)(const char *, int), const char *path,
		    bool as_nobody, char *err, size_t errlen)
{
	int fds[2], rc = 0, status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (as_nobody && geteuid() == 0 &&
		    (setresgid(NOBODY, NOBODY, NOBODY) ||
		     setresuid(NOBODY, NOBODY, NOBODY)))
			_exit(3);
		fn(path, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], &rc, sizeof(rc));
	assert_int_equal(n, (ssize_t)sizeof(rc));
	n = read(fds[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return rc;
}

static void child_open(const char *path, int out)
{
	struct evlog_config cfg;
	char err[ERR_LEN] = "";
	struct evlog *log = NULL;
	int rc;

	cfg_init(&cfg, path);
	rc = evlog_open(&cfg, &log, err, sizeof(err));
	if (!rc)
		rc = evlog_close(log, 0, err, sizeof(err));
	if (write(out, &rc, sizeof(rc)) != sizeof(rc) ||
	    write(out, err, strlen(err)) < 0)
		_exit(4);
}

static void test_evlog_readonly_file_refused(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX], err[ERR_LEN];
	struct snapshot s;
	int rc;

	(void)state;
	in_dir(path, sizeof(path), "ro.db");
	cfg_init(&cfg, path);
	close_ok(open_ok(&cfg), 0);
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	snap(path, &s);
	rc = in_child(child_open, path, true, err, sizeof(err));
	assert_true(rc == -EROFS || rc == -EACCES);
	assert_contains(err, path);
	assert_contains(err, "read-only");
	assert_untouched(path, &s);
}

static void test_evlog_readonly_dir_refused(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX], err[ERR_LEN];
	struct snapshot s;
	int rc;

	(void)state;
	in_dir(path, sizeof(path), "in-ro-dir.db");
	cfg_init(&cfg, path);
	close_ok(open_ok(&cfg), 0);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(chmod(dir, 0555), 0);
	snap(path, &s);
	rc = in_child(child_open, path, true, err, sizeof(err));
	assert_true(rc < 0);
	assert_contains(err, path);
	assert_untouched(path, &s);
	/* A new file in a read-only directory: refused, nothing created. */
	in_dir(path, sizeof(path), "new.db");
	rc = in_child(child_open, path, true, err, sizeof(err));
	assert_int_equal(rc, -EACCES);
	assert_contains(err, path);
	assert_contains(err, "unable to open database file");
	assert_int_equal(access(path, F_OK), -1);
}

/* Child: a log under RLIMIT_FSIZE; write(2) fails with EFBIG mid-run. */
static void child_fsize(const char *path, int out)
{
	struct rlimit lim = { FSIZE_SLACK, FSIZE_SLACK };
	struct producer p[1];
	uint64_t tally[NR_KINDS];
	struct evlog_config cfg;
	char err[ERR_LEN] = "";
	struct evlog *log;
	int rc;

	signal(SIGXFSZ, SIG_IGN);
	cfg_init(&cfg, path);
	rc = evlog_open(&cfg, &log, err, sizeof(err));
	if (!rc && setrlimit(RLIMIT_FSIZE, &lim))
		_exit(5);
	if (!rc) {
		producers_start(p, 1, log, FULL_EACH);
		producers_join(p, 1, tally);
		if (!evlog_error(log) || evlog_flush(log) == 0)
			_exit(6); /* the error must be sticky already */
		rc = evlog_close(log, 0, err, sizeof(err));
	}
	if (write(out, &rc, sizeof(rc)) != sizeof(rc) ||
	    write(out, err, strlen(err)) < 0)
		_exit(4);
}

static void test_evlog_write_error_is_sticky(void **state)
{
	char path[PATH_MAX], err[ERR_LEN];
	int rc;

	(void)state;
	in_dir(path, sizeof(path), "fsize.db");
	rc = in_child(child_fsize, path, false, err, sizeof(err));
	assert_true(rc == -EIO || rc == -ENOSPC);
	assert_contains(err, path);
	assert_integrity(path);
}

/* ---- configuration ----------------------------------------------------------- */

static void test_evlog_enabled_subset(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX], text[128];
	struct evlog *log;
	sqlite3 *db;

	(void)state;
	in_dir(path, sizeof(path), "subset.db");
	cfg_init(&cfg, path);
	cfg.enabled = " swapin ,pgfault";
	log = open_ok(&cfg);
	for (unsigned k = 0; k < NR_KINDS; k++) {
		assert_int_equal(evlog_enabled(log, k), k == 0 || k == 2);
		emit_one(log, k, k);
		assert_int_equal(evlog_count(log, k), k == 0 || k == 2);
	}
	assert_false(evlog_enabled(log, NR_KINDS));
	assert_false(evlog_enabled(NULL, 0));
	close_ok(log, 0);
	db = db_ro(path);
	q_text(db, text, sizeof(text), "SELECT kinds_logged FROM runs");
	assert_string_equal(text, "pgfault,swapin");
	q_text(db, text, sizeof(text),
	       "SELECT group_concat(kind, ',') FROM (SELECT kind FROM events"
	       " ORDER BY seq)");
	assert_string_equal(text, "0,2");
	q_text(db, text, sizeof(text),
	       "SELECT group_concat(logged||':'||emitted, ',') FROM (SELECT *"
	       " FROM event_kinds ORDER BY kind)");
	assert_string_equal(text, "1:1,0:0,1:1,0:0,0:0,0:0");
	sqlite3_close(db);
	cfg.enabled = "none";
	log = open_ok(&cfg);
	assert_false(evlog_enabled(log, 0));
	close_ok(log, 0);
}

static void test_evlog_unknown_kind_rejected(void **state)
{
	struct evlog_config cfg;
	char path[PATH_MAX], err[ERR_LEN] = "";
	struct evlog *log = NULL;

	(void)state;
	in_dir(path, sizeof(path), "unknown.db");
	cfg_init(&cfg, path);
	cfg.enabled = "pgfault,bogus";
	assert_int_equal(evlog_open(&cfg, &log, err, sizeof(err)), -EINVAL);
	assert_null(log);
	assert_contains(err, "'bogus'");
	for (unsigned k = 0; k < NR_KINDS; k++)
		assert_contains(err, kinds[k].name);
	assert_null(strchr(err, '\n'));
	assert_int_equal(access(path, F_OK), -1); /* nothing created */
}

static void expect_config_error(struct evlog_config *cfg, const char *needle)
{
	char err[ERR_LEN] = "";
	struct evlog *log = NULL;

	assert_int_equal(evlog_open(cfg, &log, err, sizeof(err)), -EINVAL);
	assert_null(log);
	assert_contains(err, needle);
}

static void test_evlog_bad_config(void **state)
{
	static const char *const dup[] = { "pgfault", "PGFAULT" };
	static const char *const bad[] = { "pg-fault" };
	static const char *const reserved[] = { "seq" };
	static const struct evlog_kind twice[] = { { "a", "" }, { "a", "" } };
	struct evlog_config cfg;
	char path[PATH_MAX];

	(void)state;
	in_dir(path, sizeof(path), "bad.db");
	cfg_init(&cfg, path);
	cfg.ring_records = 12;
	expect_config_error(&cfg, "ring_records 12");
	cfg_init(&cfg, path);
	cfg.counters = dup;
	cfg.nr_counters = 2;
	expect_config_error(&cfg, "counters");
	cfg.counters = bad;
	cfg.nr_counters = 1;
	expect_config_error(&cfg, "counters");
	cfg.counters = reserved;
	expect_config_error(&cfg, "counters");
	cfg_init(&cfg, path);
	cfg.kinds = twice;
	cfg.nr_kinds = 2;
	expect_config_error(&cfg, "event kinds");
	cfg_init(&cfg, NULL);
	expect_config_error(&cfg, "no database path");
	assert_int_equal(access(path, F_OK), -1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, dir_setup, dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_evlog_schema_tables_and_version),
		T(test_evlog_events_equal_counts),
		T(test_evlog_backpressure_tiny_ring),
		T(test_evlog_side_rows_in_seq_order),
		T(test_evlog_side_rows_ordered_against_producers),
		T(test_evlog_flush_makes_rows_visible),
		T(test_evlog_flush_is_a_barrier),
		T(test_evlog_crash_keeps_committed_prefix),
		T(test_evlog_refuses_foreign_sqlite),
		T(test_evlog_refuses_non_sqlite),
		T(test_evlog_refuses_newer_schema),
		T(test_evlog_empty_file_becomes_log),
		T(test_evlog_migrates_older_schema),
		T(test_evlog_many_runs_one_file),
		T(test_evlog_sqlite_full_is_sticky),
		T(test_evlog_readonly_file_refused),
		T(test_evlog_readonly_dir_refused),
		T(test_evlog_write_error_is_sticky),
		T(test_evlog_enabled_subset),
		T(test_evlog_unknown_kind_rejected),
		T(test_evlog_bad_config),
	};

	seed = vmtest_seed("test_evlog");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
