/*
 * vm/evlog_db.h - the event log's SQLite side: checking, creating and
 * migrating the file, appending a run, and the prepared inserts the writer
 * thread runs.  Internal to vm/evlog*.c; docs/evlog.md has the schema.
 *
 * Invariants
 *  1. A file that is not a vmemu log (not SQLite, another application_id)
 *     or has a newer schema is refused before any read-write handle exists:
 *     it is read through a read-only connection, or not at all.
 *  2. Schema changes, the runs row and its event_kinds rows are one
 *     transaction (BEGIN IMMEDIATE, so two processes cannot both migrate).
 *  3. Rows are only ever inserted, never updated, except the run's own
 *     runs / event_kinds / tasks rows; nothing is deleted, except this
 *     run's rows when evlog_open fails after inserting them.
 *  4. After an error the connection is out of any transaction (rolled
 *     back); committed rows stay.
 *
 * Threads: an evlog_db is used by one thread at a time: the opener, then
 * the writer thread, then the closer (handed over by pthread_create and
 * pthread_join).  Nothing here is SIGSAFE.
 */
#ifndef VMEMU_EVLOG_DB_H
#define VMEMU_EVLOG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/evlog.h"

struct sqlite3;
struct sqlite3_stmt;

#define EVLOG_ERR_LEN	    320
#define EVLOG_ROWS_PER_STMT 16 /* events per multi-row INSERT */

enum evdb_stmt {
	EVDB_BEGIN,
	EVDB_COMMIT,
	EVDB_ROLLBACK,
	EVDB_EVENT1,
	EVDB_EVENTS, /* EVLOG_ROWS_PER_STMT rows */
	EVDB_TASK,
	EVDB_TASK_EXIT_UPDATE,
	EVDB_TASK_EXIT_INSERT,
	EVDB_VMSTAT,
	EVDB_PSI,
	EVDB_OOM_KILL,
	EVDB_OOM_CANDIDATE,
	EVDB_LEAKS,
	EVDB_NR_STMTS
};

struct evlog_db {
	struct sqlite3 *db;
	const char *path;
	bool created; /* this open created the file */
	int64_t run_id;
	unsigned nr_counters;
	struct sqlite3_stmt *st[EVDB_NR_STMTS];
	bool in_txn;
	unsigned txn_rows; /* rows in the open transaction */
	uint64_t txn_start_ns;
	uint64_t commits;
	int err; /* last failure: -errno, its message in msg */
	char msg[EVLOG_ERR_LEN];
};

/* What the runs and event_kinds rows record. */
struct evdb_run {
	const struct evlog_config *cfg;
	const char *kinds_logged; /* "all", "none" or name,name,... */
	const uint64_t *enabled;  /* bitmap over cfg->nr_kinds */
	unsigned ring_records;
	uint64_t start_unix_ns;
};

/* Counts and status recorded when the run ends. */
struct evdb_end {
	uint64_t end_unix_ns, duration_ns;
	int exit_status;
	const uint64_t *counts; /* per kind */
	uint64_t events;
	const char *error; /* NULL: none */
};

/* Check, open, migrate, append the run, prepare.  0 or -errno + err. */
int evdb_open(struct evlog_db *d, const struct evdb_run *run, char *err,
	      size_t errlen);
/* Roll back what is uncommitted and close; nothing is left open. */
void evdb_close(struct evlog_db *d);
/*
 * Undo a successful evdb_open (the caller could not start): delete the
 * run's rows, close, and remove the file if evdb_open created it.
 */
void evdb_discard(struct evlog_db *d);

/*
 * Writer-thread inserts, each inside the open transaction (begun when
 * needed).  0 or -errno with d->msg set and the transaction rolled back.
 */
int evdb_events(struct evlog_db *d, const struct evlog_event *ev, unsigned n,
		uint64_t first_seq);
int evdb_task(struct evlog_db *d, uint64_t seq, const struct evlog_task *t);
int evdb_task_exit(struct evlog_db *d, uint64_t seq,
		   const struct evlog_task_exit *ex);
int evdb_vmstat(struct evlog_db *d, uint64_t seq, uint64_t t_ns,
		const uint64_t *values);
int evdb_psi(struct evlog_db *d, uint64_t seq, uint64_t t_ns,
	     const struct evlog_psi_line *some,
	     const struct evlog_psi_line *full);
int evdb_oom(struct evlog_db *d, uint64_t seq,
	     const struct evlog_oom_kill *kill,
	     const struct evlog_oom_candidate *c, unsigned n);
int evdb_leaks(struct evlog_db *d, uint64_t seq, const struct evlog_leaks *lk);
/* Commit the open transaction, if any.  0 or -errno. */
int evdb_commit(struct evlog_db *d);
/*
 * Commit, then record the end of the run (runs row, event_kinds.emitted
 * of nr_kinds kinds) in its own transaction.  0 or -errno.
 */
int evdb_finish(struct evlog_db *d, const struct evdb_end *end,
		unsigned nr_kinds);

/* Test hook: PRAGMA max_page_count = current pages + extra. */
int evdb_limit_pages(struct evlog_db *d, unsigned extra);

#endif /* VMEMU_EVLOG_DB_H */
