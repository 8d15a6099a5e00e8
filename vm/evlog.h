/*
 * vm/evlog.h - the event log: every decision of the emulated kernel, as rows
 * of a SQLite database that plain SQL can query (DESIGN.md §7).
 *
 *   fault path ──evlog_emit──> ring (lock-free, fixed) ──> writer thread
 *   controller ──evlog_task, evlog_vmstat, ...──> side queue ──┘   │
 *                                             SQLite (WAL) <───────┘
 *
 * The log is generic: the caller names the event kinds (with a description
 * each) and the vmstat counters; the log stores whatever it is given.  One
 * database file holds many runs: each evlog_open appends a `runs` row and
 * every row it writes carries that run_id.  docs/evlog.md has the schema.
 *
 * Promises to callers
 *  1. Lossless.  Every event accepted by evlog_emit reaches the `events`
 *     table by evlog_close, unless the log met an error (below).  A full
 *     ring makes the producer wait for the writer (back-pressure); nothing
 *     is dropped.  After evlog_close, for each kind the number of rows in
 *     `events` equals evlog_count(kind) (also stored in event_kinds.emitted).
 *  2. Order.  Each event gets a sequence number `seq` (0, 1, ... per run)
 *     when it enters the ring.  If one emit returns before another begins
 *     (same thread, or ordered by a lock), the first has the smaller seq.
 *     A side row (tasks, vmstat, psi, oom_kills) stores seq = the number of
 *     events that entered the ring before it: it follows every event whose
 *     emit returned before the side call began, and precedes every event
 *     whose emit began after the side call returned.  Rows are inserted and
 *     committed in that order, so ORDER BY seq is happens-before order; t_ns
 *     is the caller's clock, stored as given.
 *  3. Crash safety.  Rows are committed in large transactions (WAL,
 *     synchronous=NORMAL); a kill -9 loses only the open transaction: the
 *     file stays valid and each run holds a prefix (seq 0..n-1) of its
 *     events.  A crashed run keeps end_unix_ns NULL in `runs`.
 *  4. Errors are sticky.  The first failure (disk full, I/O error...) is
 *     kept: evlog_error returns it, evlog_close returns it, rows committed
 *     before it stay; the writer then discards what is left so producers
 *     never block for good.
 *
 * Signal safety and locks
 *  - evlog_enabled, evlog_emit, evlog_now, evlog_count and evlog_error are
 *    SIGSAFE: atomics, and futex(2) when the ring is full.  evlog_emit may
 *    be called with the machine lock held: the writer thread takes no lock
 *    but the log's own side-queue mutex, which no producer waits on.
 *  - evlog_emit must not be re-entered on one thread (a signal handler that
 *    emits while the interrupted code is inside evlog_emit) while the ring
 *    is full: the interrupted record holds its slot.
 *  - Side-row calls (evlog_task ... evlog_flush) may block on the log's
 *    mutex and on a bounded queue; never call them from the trap.  They
 *    may be called with the machine lock held.
 *  - evlog_open and evlog_close are not thread-safe against other calls on
 *    the same log: close after every producer has stopped.
 *
 * Errors: 0 or a negative errno; messages of one line through err/errlen.
 *   -EINVAL   bad configuration, unknown kind name, a file that is not a
 *             vmemu log or has a newer schema (file untouched)
 *   -ENOSPC   database or disk full      -EROFS/-EACCES  cannot write
 *   -EIO      other I/O or SQLite errors -ENOMEM         out of memory
 */
#ifndef VMEMU_EVLOG_H
#define VMEMU_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/types.h"

struct evlog;

/* The schema this code writes; PRAGMA user_version (docs/evlog.md). */
#define EVLOG_SCHEMA_VERSION 3
/* PRAGMA application_id of a vmemu log: "vmem". */
#define EVLOG_APPLICATION_ID 0x766d656d
/* va, pfn or slot that does not apply to an event: stored as NULL. */
#define EVLOG_NONE UINT64_MAX
/* pid of the machine itself (kswapd, the OOM reaper...). */
#define EVLOG_PID_MACHINE 0
/* Ring size when evlog_config.ring_records is 0, and the limits. */
#define EVLOG_RING_DEFAULT (1U << 16)
#define EVLOG_RING_MIN	   2U
#define EVLOG_RING_MAX	   (1U << 24)
/* Most kinds and counters a log accepts. */
#define EVLOG_MAX_KINDS	   1024U
#define EVLOG_MAX_COUNTERS 1000U

/* One event: a fixed 48-byte record. */
struct evlog_event {
	uint64_t t_ns;		/* ns since the run started (evlog_now) */
	uint64_t va, pfn, slot; /* where it applies; EVLOG_NONE: n/a */
	int64_t arg;		/* kind-specific (readahead size, ...) */
	uint32_t kind;		/* index into evlog_config.kinds */
	int32_t pid;		/* EVLOG_PID_MACHINE: the machine */
};
_Static_assert(sizeof(struct evlog_event) == 48, "evlog_event is 48 bytes");

/* An event kind: name ([A-Za-z0-9_]+, unique) and one-line description. */
struct evlog_kind {
	const char *name;
	const char *doc;
};

/* Test hooks: NULL in production (see tests/test_evlog.c). */
struct evlog_test_hooks {
	unsigned writer_delay_us; /* writer sleeps this before each event */
	unsigned max_page_count_extra; /* PRAGMA max_page_count = pages + this */
	unsigned txn_rows;	       /* rows per transaction (0: default) */
	bool no_timed_commit;	       /* commit only every txn_rows rows */
	bool start_paused;	       /* writer waits for evlog_test_resume */
};

struct evlog_config {
	const char *path; /* database file; created if missing */
	const struct evlog_kind *kinds;
	unsigned nr_kinds;
	/* vmstat column names, /proc/vmstat style ([A-Za-z_][A-Za-z0-9_]*). */
	const char *const *counters;
	unsigned nr_counters;
	/*
	 * Kinds to log: NULL or "all"; "none" or ""; or kind names separated
	 * by commas (spaces allowed).  An unknown name is -EINVAL, and err
	 * lists the known ones.
	 */
	const char *enabled;
	unsigned ring_records; /* power of two; 0: EVLOG_RING_DEFAULT */
	/* Recorded in the runs row (any may be NULL). */
	const char *config_json, *cmdline, *version;
	uint64_t seed;
	const struct evlog_test_hooks *test;
};

/* A task as it starts (tasks row). */
struct evlog_task {
	int pid, ppid;
	const char *name;
	int oom_score_adj;
	uint64_t t_start_ns;
};

/* A task as it ends (completes its tasks row). */
struct evlog_task_exit {
	int pid;
	uint64_t t_end_ns;
	const char *reason; /* "exit", "oom_killed", "segv", ... */
	int code;	    /* exit code */
	uint64_t fault_va;  /* segv/sigbus address; EVLOG_NONE: n/a */
	const char *msg;    /* abort message; NULL: none */
	uint64_t peak_rss_pages, minflt, majflt, swapins;
};

/* One line of /proc/pressure/memory. */
struct evlog_psi_line {
	double avg10, avg60, avg300; /* % of wall time stalled */
	uint64_t total_us;
};

/* Points of a task the OOM killer may not choose (oom_score_adj -1000). */
#define EVLOG_OOM_EXEMPT INT64_MIN
/* victim_pid of an OOM with no killable process. */
#define EVLOG_OOM_NO_VICTIM (-1)

/* One OOM decision (oom_kills row). */
struct evlog_oom_kill {
	uint64_t t_ns;
	int victim_pid;	 /* EVLOG_OOM_NO_VICTIM: none killable */
	int trigger_pid; /* whose allocation failed; 0: the machine */
	uint64_t totalpages;
	const char *report; /* the kernel's report text (NULL: none) */
};

/* One task the OOM killer weighed (oom_candidates row), pages unless said. */
struct evlog_oom_candidate {
	int pid;
	const char *name;
	uint64_t total_vm, rss, rss_anon, rss_file, rss_shmem;
	uint64_t pgtables_bytes, swapents;
	int oom_score_adj;
	int64_t points; /* oom_badness; EVLOG_OOM_EXEMPT: stored as NULL */
	bool chosen;
};

/*
 * A task's leak report (leaks row): the blocks its C library saw never
 * freed.  largest is JSON text, [{"va":..,"bytes":..,"granted":..,
 * "mmapped":0|1},...], largest first; NULL: none listed.
 */
struct evlog_leaks {
	int pid;
	uint64_t t_ns;
	uint64_t blocks, bytes, granted; /* bytes requested / granted */
	const char *largest;
};

/* Figures about the log itself. */
struct evlog_stats {
	uint64_t emitted;     /* events accepted (all kinds) */
	uint64_t stalls;      /* emits that found the ring full and waited */
	uint64_t rows;	      /* event rows inserted (in a transaction) */
	uint64_t committed;   /* event rows committed */
	uint64_t commits;     /* transactions committed */
	uint64_t discarded;   /* events dropped by the writer after an error */
	unsigned side_queued; /* side rows (and flushes) waiting */
};

/*
 * Open (or create) the database, append a run, start the writer.  On
 * failure nothing is written to an existing file and a file this call
 * created is removed.  Returns 0 and *out, or a negative errno and one
 * line in err.
 */
int evlog_open(const struct evlog_config *cfg, struct evlog **out, char *err,
	       size_t errlen);
/*
 * Drain the ring and the side queue, commit, record the end of the run
 * (time, exit_status, per-kind counts), close and free.  Returns 0 or the
 * first error the log met (its message in err).  log may be NULL.
 */
int evlog_close(struct evlog *log, int exit_status, char *err, size_t errlen);

/* SIGSAFE.  Whether kind is logged (false for a NULL log). O(1). */
SIGSAFE bool evlog_enabled(const struct evlog *log, unsigned kind);
/*
 * SIGSAFE.  Queue one event (no-op when its kind is not logged or log is
 * NULL).  Waits while the ring is full.  kind must be < nr_kinds (BUG_ON).
 */
SIGSAFE void evlog_emit(struct evlog *log, const struct evlog_event *ev);
/* SIGSAFE.  ns since evlog_open (CLOCK_MONOTONIC). */
SIGSAFE uint64_t evlog_now(const struct evlog *log);
/* SIGSAFE.  Events of kind accepted so far. */
SIGSAFE uint64_t evlog_count(const struct evlog *log, unsigned kind);
/* SIGSAFE.  NULL while healthy, else the first error (one line). */
SIGSAFE const char *evlog_error(const struct evlog *log);
/* This run's run_id in the database. */
int64_t evlog_run_id(const struct evlog *log);
void evlog_stats(const struct evlog *log, struct evlog_stats *st);

/*
 * Side rows.  Each is copied and queued behind the events already in the
 * ring (promise 2), and written by the writer.  0 once queued; -ENOMEM;
 * -EINVAL for a bad argument; the sticky error's errno if the log failed.
 */
int evlog_task(struct evlog *log, const struct evlog_task *task);
/* Completes the latest tasks row of pid (or adds one if there is none). */
int evlog_task_exit(struct evlog *log, const struct evlog_task_exit *ex);
/* One vmstat row: values[nr_counters], in evlog_config.counters order. */
int evlog_vmstat(struct evlog *log, uint64_t t_ns, const uint64_t *values);
int evlog_psi(struct evlog *log, uint64_t t_ns,
	      const struct evlog_psi_line *some,
	      const struct evlog_psi_line *full);
/* An oom_kills row and its n candidates (c may be NULL when n == 0). */
int evlog_oom(struct evlog *log, const struct evlog_oom_kill *kill,
	      const struct evlog_oom_candidate *c, unsigned n);
/* A leaks row. */
int evlog_leaks(struct evlog *log, const struct evlog_leaks *lk);
/*
 * Wait until every event and side row queued before this call is
 * committed.  0 or the sticky error.
 */
int evlog_flush(struct evlog *log);

/* Test hook: let a writer started with start_paused run. */
void evlog_test_resume(struct evlog *log);

#endif /* VMEMU_EVLOG_H */
