/*
 * tests/bench/bench_evlog.c - what the event log costs, next to SQLite
 * alone, measured in the same run (REPS repetitions, interleaved, so drift
 * hits every figure; medians printed).
 *
 *  1. Reference: SQLite alone, as the issue measured it: a table of four
 *     integers, WAL, synchronous=NORMAL, REF_TXN-row transactions, one
 *     prepared single-row INSERT per row.
 *  2. SQLite alone writing evlog's own `events` rows (nine columns) the
 *     way the writer does (16-row INSERTs, run_id a literal, same
 *     transaction and checkpoint sizes), on one thread.  The engine can
 *     beat it: its producers build the records on another core, and the
 *     writer only binds and steps.
 *  3. End to end: evlog_open on a fresh file, producers emit N events as
 *     fast as they can, evlog_close (everything committed); events/s from
 *     the first emit to the return of evlog_close.  One producer, then
 *     four (this is a 2-core machine: they share it with the writer).
 *  4. Producer cost: ns per evlog_emit, (a) writer held (start_paused
 *     hook): the ring alone, never full; (b) writer draining on the other
 *     core; next to (c) a plain copy of the record into an array.
 *
 * Figures only, no assertions on time.  Exit status 1 if the log lost or
 * failed anything (rows != events).
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/benchutil.h"
#include "vm/evlog.h"

#define REPS	    5
#define N_EVENTS    1000000ULL
#define REF_TXN	    10000
#define WRITER_TXN  16384 /* vm/evlog.c TXN_ROWS_DEFAULT */
#define ROWS_PER_ST 16
#define EV_COLS	    9
#define REF_COLS    4
#define NR_KINDS    4
#define PRODUCERS   4
#define EMIT_RING   (1U << 18)
#define EMIT_BATCH  200000ULL /* < EMIT_RING: the ring never fills */
#define NS_PER_S    1e9
#define SQL_LEN	    4096

static const struct evlog_kind kinds[NR_KINDS] = {
	{ "pgfault", "fault" },
	{ "swapin", "swap-in" },
	{ "swapout", "swap-out" },
	{ "reclaim", "reclaim" },
};

static char dir[64];
static char path[128];

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_evlog: %s: %s\n", what, why);
	exit(1);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A fresh database path (the previous file and its WAL removed). */
static const char *fresh_path(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];

	snprintf(path, sizeof(path), "%s/bench.db", dir);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	return path;
}

static struct evlog_event event_of(uint64_t i, unsigned producer)
{
	struct evlog_event ev = {
		.t_ns = i * 1000,
		.va = 0x7f0000000000ULL + (i << 12),
		.pfn = i & 0xfffff,
		.slot = i % 7 ? EVLOG_NONE : i,
		.arg = (int64_t)(i & 7),
		.kind = (uint32_t)(i % NR_KINDS),
		.pid = (int32_t)producer + 1,
	};

	return ev;
}

/* ---- SQLite alone ------------------------------------------------------ */

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg);
}

static sqlite3 *raw_open(const char *ddl, const char *pragmas)
{
	sqlite3 *db;

	if (sqlite3_open(fresh_path(), &db) != SQLITE_OK)
		die("open", sqlite3_errmsg(db));
	exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
	exec(db, pragmas);
	exec(db, ddl);
	return db;
}

/*
 * "INSERT INTO t VALUES (?,...),..." with rows rows of cols values; with
 * lit1 the first column is the literal 1 (evlog's run_id), not bound.
 */
static sqlite3_stmt *raw_insert(sqlite3 *db, unsigned cols, unsigned rows,
				bool lit1)
{
	char sql[SQL_LEN];
	size_t n = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO t VALUES ");
	sqlite3_stmt *st;

	for (unsigned r = 0; r < rows; r++)
		for (unsigned c = 0; c < cols; c++)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n,
					      "%s%s%s",
					      c ? "" : (r ? ",(" : "("),
					      c == 0 && lit1 ? "1" : "?",
					      c + 1 < cols ? "," : ")");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	return st;
}

static void bind_event(sqlite3_stmt *st, int base, uint64_t i)
{
	struct evlog_event ev = event_of(i, 0);

	base -= base / EV_COLS; /* run_id is a literal: 8 binds per row */
	sqlite3_bind_int64(st, base + 1, (sqlite3_int64)i);
	sqlite3_bind_int64(st, base + 2, (sqlite3_int64)ev.t_ns);
	sqlite3_bind_int64(st, base + 3, ev.kind);
	sqlite3_bind_int64(st, base + 4, ev.pid);
	sqlite3_bind_int64(st, base + 5, (sqlite3_int64)ev.va);
	sqlite3_bind_int64(st, base + 6, (sqlite3_int64)ev.pfn);
	if (ev.slot == EVLOG_NONE)
		sqlite3_bind_null(st, base + 7);
	else
		sqlite3_bind_int64(st, base + 7, (sqlite3_int64)ev.slot);
	sqlite3_bind_int64(st, base + 8, ev.arg);
}

static void bind_ref(sqlite3_stmt *st, int base, uint64_t i)
{
	for (int c = 0; c < REF_COLS; c++)
		sqlite3_bind_int64(st, base + c + 1, (sqlite3_int64)(i + c));
}

struct raw {
	const char *ddl, *pragmas;
	unsigned cols, rows_per_st, txn;
	bool lit1;
	void (*bind)(sqlite3_stmt *, int, uint64_t);
};

/* Rows/s inserting N_EVENTS rows as rw says. */
static double raw_run(const struct raw *rw)
{
	sqlite3 *db = raw_open(rw->ddl, rw->pragmas);
	sqlite3_stmt *st = raw_insert(db, rw->cols, rw->rows_per_st, rw->lit1);
	unsigned cols = rw->cols, rows_per_st = rw->rows_per_st;
	uint64_t t0 = bench_now_ns(), i = 0;

	while (i < N_EVENTS) {
		exec(db, "BEGIN");
		for (unsigned k = 0; k < rw->txn && i < N_EVENTS;
		     k += rows_per_st) {
			for (unsigned r = 0; r < rows_per_st; r++, i++)
				rw->bind(st, (int)(r * cols), i);
			if (sqlite3_step(st) != SQLITE_DONE)
				die("insert", sqlite3_errmsg(db));
			sqlite3_reset(st);
		}
		exec(db, "COMMIT");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (double)N_EVENTS * NS_PER_S / (double)(bench_now_ns() - t0);
}

/* ---- the log ----------------------------------------------------------- */

static struct evlog *log_open(unsigned ring,
			      const struct evlog_test_hooks *hooks)
{
	struct evlog_config cfg = {
		.path = fresh_path(),
		.kinds = kinds,
		.nr_kinds = NR_KINDS,
		.ring_records = ring,
		.version = "bench",
		.test = hooks,
	};
	char err[256];
	struct evlog *log;

	if (evlog_open(&cfg, &log, err, sizeof(err)))
		die("evlog_open", err);
	return log;
}

static void log_close(struct evlog *log)
{
	char err[256];

	if (evlog_close(log, 0, err, sizeof(err)))
		die("evlog_close", err);
}

struct producer {
	pthread_t th;
	struct evlog *log;
	unsigned id;
	uint64_t n;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (uint64_t i = 0; i < p->n; i++) {
		struct evlog_event ev = event_of(i, p->id);

		evlog_emit(p->log, &ev);
	}
	return NULL;
}

/* Check the file holds exactly n events (losing any is a failure). */
static void check_rows(uint64_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t rows = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st,
			       NULL))
		die("check", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		rows = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (rows != (int64_t)n)
		die("check", "rows != events emitted");
}

/* Events/s end to end with nr producers sharing N_EVENTS. */
static double e2e_run(unsigned nr)
{
	struct producer p[PRODUCERS];
	struct evlog *log = log_open(0, NULL);
	uint64_t t0 = bench_now_ns(), dt;

	for (unsigned i = 0; i < nr; i++) {
		p[i] = (struct producer){ .log = log,
					  .id = i,
					  .n = N_EVENTS / nr };
		if (pthread_create(&p[i].th, NULL, producer_main, &p[i]))
			die("pthread_create", strerror(errno));
	}
	for (unsigned i = 0; i < nr; i++)
		pthread_join(p[i].th, NULL);
	log_close(log);
	dt = bench_now_ns() - t0;
	check_rows(N_EVENTS / nr * nr);
	return (double)N_EVENTS * NS_PER_S / (double)dt;
}

/* ns per evlog_emit of EMIT_BATCH events (writer held or draining). */
static double emit_cost(bool held)
{
	struct evlog_test_hooks hooks = { .start_paused = held };
	struct evlog *log = log_open(EMIT_RING, &hooks);
	uint64_t t0 = bench_now_ns(), dt;

	for (uint64_t i = 0; i < EMIT_BATCH; i++) {
		struct evlog_event ev = event_of(i, 0);

		evlog_emit(log, &ev);
	}
	dt = bench_now_ns() - t0;
	log_close(log);
	check_rows(EMIT_BATCH);
	return (double)dt / (double)EMIT_BATCH;
}

/* ns per plain copy of a record into an array of the ring's size. */
static double copy_cost(void)
{
	struct evlog_event *a = malloc(EMIT_RING * sizeof(*a));
	uint64_t t0, dt;

	if (!a)
		die("malloc", "out of memory");
	memset(a, 0, EMIT_RING * sizeof(*a)); /* fault the pages in first */
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < EMIT_BATCH; i++) {
		a[i & (EMIT_RING - 1)] = event_of(i, 0);
		__asm__ __volatile__("" : : "r"(a) : "memory");
	}
	dt = bench_now_ns() - t0;
	free(a);
	return (double)dt / (double)EMIT_BATCH;
}

/* ---- report ------------------------------------------------------------ */

enum fig { REF, CEIL, E2E1, E2E4, EMIT_HELD, EMIT_LIVE, COPY, NR_FIGS };

static const struct raw ref_raw = {
	.ddl = "CREATE TABLE t(a INTEGER, b INTEGER, c INTEGER, d INTEGER)",
	.pragmas = "",
	.cols = REF_COLS,
	.rows_per_st = 1,
	.txn = REF_TXN,
	.bind = bind_ref,
};

/* The writer's own table, statement, transaction and checkpoint sizes. */
static const struct raw ceil_raw = {
	.ddl = "CREATE TABLE t(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	       " t_ns INTEGER NOT NULL, kind INTEGER NOT NULL, pid INTEGER"
	       " NOT NULL, va INTEGER, pfn INTEGER, slot INTEGER, arg INTEGER"
	       " NOT NULL)",
	.pragmas = "PRAGMA wal_autocheckpoint=4096",
	.cols = EV_COLS,
	.rows_per_st = ROWS_PER_ST,
	.txn = WRITER_TXN,
	.lit1 = true,
	.bind = bind_event,
};

static void measure(double v[NR_FIGS][REPS])
{
	for (int r = 0; r < REPS; r++) {
		v[REF][r] = raw_run(&ref_raw) / 1e6;
		v[CEIL][r] = raw_run(&ceil_raw) / 1e6;
		v[E2E1][r] = e2e_run(1) / 1e6;
		v[E2E4][r] = e2e_run(PRODUCERS) / 1e6;
		v[EMIT_HELD][r] = emit_cost(true);
		v[EMIT_LIVE][r] = emit_cost(false);
		v[COPY][r] = copy_cost();
	}
}

int main(void)
{
	double v[NR_FIGS][REPS], ref, ceil, copy;
	char note[96];

	snprintf(dir, sizeof(dir), "/tmp/bench_evlog.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	printf("bench_evlog: %llu events per run, median of %d runs\n",
	       (unsigned long long)N_EVENTS, REPS);
	measure(v);
	ref = bench_report("SQLite alone: 4 ints, 1-row INSERT, 10k-row txn",
			   v[REF], REPS, "M rows/s", "(reference)");
	ceil = bench_report(
		"SQLite alone: evlog's rows, 16-row INSERT, 16k txn", v[CEIL],
		REPS, "M rows/s", NULL);
	snprintf(note, sizeof(note), "x%.2f reference, x%.2f SQLite same rows",
		 bench_median(v[E2E1], REPS) / ref,
		 bench_median(v[E2E1], REPS) / ceil);
	bench_report("evlog end to end, 1 producer", v[E2E1], REPS, "M ev/s",
		     note);
	snprintf(note, sizeof(note), "x%.2f reference, x%.2f SQLite same rows",
		 bench_median(v[E2E4], REPS) / ref,
		 bench_median(v[E2E4], REPS) / ceil);
	bench_report("evlog end to end, 4 producers", v[E2E4], REPS, "M ev/s",
		     note);
	copy = bench_median(v[COPY], REPS);
	snprintf(note, sizeof(note), "x%.1f a plain copy",
		 bench_median(v[EMIT_HELD], REPS) / copy);
	bench_report("evlog_emit, writer held (ring only)", v[EMIT_HELD], REPS,
		     "ns/ev", note);
	snprintf(note, sizeof(note), "x%.1f a plain copy",
		 bench_median(v[EMIT_LIVE], REPS) / copy);
	bench_report("evlog_emit, writer draining", v[EMIT_LIVE], REPS, "ns/ev",
		     note);
	bench_report("plain copy of a 48-byte record", v[COPY], REPS, "ns/ev",
		     "(reference)");
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
