/*
 * vm/evlog.c - the event log engine: configuration, the producers' entry
 * points, the side-row queue and the writer thread (evlog.h has the
 * promises; evlog_ring.c the ring; evlog_db.c the SQLite side).
 *
 *   evlog_emit ──> ring (ticket = seq) ─────────┐
 *   evlog_vmstat/... ──> side queue, each row   ├─> writer: events with
 *                        tagged seq = ring head │   seq < next side row,
 *                        when it was queued ────┘   then that row, ...
 *
 * The writer merges the two streams by seq: it takes events from the ring
 * only up to the first queued side row's seq, writes that row, and goes
 * on.  Batches of up to WRITER_BATCH events go to SQLite in multi-row
 * INSERTs; a transaction is committed every txn_rows rows or COMMIT_NS
 * after it began, at evlog_flush and at evlog_close.
 *
 * Invariants
 *  1. Side rows sit in the queue in seq order (seq is read under
 *     side_lock), and side_min_seq is the head row's seq (UINT64_MAX when
 *     empty), published with release after the row is linked.
 *  2. The writer reads side_min_seq after acquiring the ring slots it is
 *     about to take; a side row queued before an event's emit began is
 *     therefore always seen in time (evlog.h promise 2).
 *  3. ring.tail <= side_min_seq whenever the writer is between steps.
 *  4. `failed` goes from 0 to a -errno once (err_claimed guards errmsg,
 *     written before failed is released); after that the writer takes
 *     and discards events and side rows, and still completes flushes.
 *  5. enabled[] and nr_kinds never change after evlog_open.
 *
 * Locking
 *  - side_lock guards side_head, side_tail, side_count and resumed;
 *    side_space and resume_cond (start_paused hook) are its condvars.
 *    Side-row callers hold it briefly with every signal blocked, so no
 *    handler can run on a thread that holds it; the writer takes it once
 *    per side row it pops.  No producer ever waits on it.  evlog_flush
 *    waits on its row's semaphore, outside the lock, signals deliverable.
 *  - The ring needs no lock.  The writer thread owns log->db while it
 *    runs (from pthread_create to pthread_join).
 *
 * SIGSAFE: evlog_enabled, evlog_emit, evlog_now, evlog_count, evlog_error.
 */
#include "vm/evlog.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vm/evlog_db.h"
#include "vm/evlog_ring.h"

#define SIDE_QUEUE_MAX	 256   /* side rows queued before callers wait */
#define WRITER_BATCH	 256   /* events taken from the ring at once */
#define TXN_ROWS_DEFAULT 16384 /* rows per transaction */
#define NSEC_PER_SEC	 1000000000ULL
#define NSEC_PER_MSEC	 1000000ULL
#define NSEC_PER_USEC	 1000ULL
#define COMMIT_NS	 (100 * NSEC_PER_MSEC) /* oldest uncommitted row */
#define IDLE_NS		 (10 * NSEC_PER_MSEC)  /* writer's longest nap */
#define NAME_MAX_LEN	 64
#define BITS_PER_WORD	 64
#define SIDE_SEQ_NONE	 UINT64_MAX

_Static_assert(WRITER_BATCH % EVLOG_ROWS_PER_STMT == 0,
	       "batches fill whole multi-row INSERTs");

enum side_type {
	SIDE_TASK,
	SIDE_TASK_EXIT,
	SIDE_VMSTAT,
	SIDE_PSI,
	SIDE_OOM,
	SIDE_LEAKS,
	SIDE_FLUSH,
};

/* A queued side row; strings and arrays are copied into data[]. */
struct side_row {
	struct side_row *next;
	enum side_type type;
	uint64_t seq;  /* ring head when queued */
	uint64_t t_ns; /* vmstat, psi */
	union {
		struct evlog_task task;
		struct evlog_task_exit exit;
		const uint64_t *values;
		struct evlog_psi_line psi[2]; /* some, full */
		struct {
			struct evlog_oom_kill kill;
			const struct evlog_oom_candidate *c;
			unsigned n;
		} oom;
		struct evlog_leaks leaks;
		sem_t done; /* flush: posted by the writer */
	} u;
	uint64_t data[];
};

/* A per-kind count (a struct, so the array frees without casts). */
struct evlog_counter {
	_Atomic uint64_t n;
};

struct evlog {
	struct evlog_ring ring;
	unsigned nr_kinds, nr_counters;
	uint64_t *enabled;	      /* bitmap over kinds */
	struct evlog_counter *counts; /* per kind, bumped by producers */
	uint64_t t0_ns;		      /* CLOCK_MONOTONIC at open */
	uint64_t txn_rows;
	struct evlog_test_hooks hooks;
	char *path, *kinds_logged;
	/* Sticky error (invariant 4). */
	_Atomic int failed;
	atomic_flag err_claimed;
	char errmsg[EVLOG_ERR_LEN];
	/* Side queue (side_lock). */
	pthread_mutex_t side_lock;
	pthread_cond_t side_space, resume_cond;
	struct side_row *side_head, *side_tail;
	unsigned side_count;
	bool resumed;
	_Atomic uint64_t side_min_seq;
	_Atomic unsigned side_queued; /* side_count, for evlog_stats */
	/* Writer. */
	pthread_t writer;
	_Atomic bool stop;
	struct evlog_db db;
	struct evlog_event batch[WRITER_BATCH];
	uint64_t txn_events; /* event rows in the open transaction */
	_Atomic uint64_t rows, committed, commits, discarded;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static SIGSAFE bool bit_test(const uint64_t *bits, unsigned i)
{
	return (bits[i / BITS_PER_WORD] >> (i % BITS_PER_WORD)) & 1;
}

static void bit_set(uint64_t *bits, unsigned i)
{
	bits[i / BITS_PER_WORD] |= 1ULL << (i % BITS_PER_WORD);
}

/* Append to buf[len] at *used, truncating safely. */
static void appendf(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf || *used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = MIN(len, *used + (size_t)n);
}

/* ---- configuration ----------------------------------------------------- */

/* [A-Za-z0-9_]+ (first_alpha: not starting with a digit), bounded. */
static bool valid_name(const char *s, bool first_alpha)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	if (first_alpha && s[0] >= '0' && s[0] <= '9')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_") == n;
}

static int check_kinds(const struct evlog_config *cfg, char *err, size_t errlen)
{
	if (cfg->nr_kinds > EVLOG_MAX_KINDS || (cfg->nr_kinds && !cfg->kinds))
		goto bad;
	for (unsigned i = 0; i < cfg->nr_kinds; i++) {
		const char *name = cfg->kinds[i].name;

		if (!valid_name(name, false))
			goto bad;
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(name, cfg->kinds[j].name))
				goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "evlog: event kinds must be at most %u unique names of "
		 "[A-Za-z0-9_]",
		 EVLOG_MAX_KINDS);
	return -EINVAL;
}

static bool reserved_column(const char *s)
{
	return !strcasecmp(s, "run_id") || !strcasecmp(s, "seq") ||
	       !strcasecmp(s, "t_ns");
}

static int check_counters(const struct evlog_config *cfg, char *err,
			  size_t errlen)
{
	const char *const *c = cfg->counters;

	if (cfg->nr_counters > EVLOG_MAX_COUNTERS || (cfg->nr_counters && !c))
		goto bad;
	for (unsigned i = 0; i < cfg->nr_counters; i++) {
		if (!valid_name(c[i], true) || reserved_column(c[i]))
			goto bad;
		for (unsigned j = 0; j < i; j++)
			if (!strcasecmp(c[i], c[j]))
				goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "evlog: counters must be at most %u unique column names "
		 "([A-Za-z_][A-Za-z0-9_]*, not run_id, seq or t_ns)",
		 EVLOG_MAX_COUNTERS);
	return -EINVAL;
}

static int check_config(const struct evlog_config *cfg, char *err,
			size_t errlen)
{
	unsigned ring = cfg ? cfg->ring_records : 0;
	int rc;

	if (!cfg || !cfg->path || !cfg->path[0]) {
		snprintf(err, errlen, "evlog: no database path");
		return -EINVAL;
	}
	if (ring && (ring < EVLOG_RING_MIN || ring > EVLOG_RING_MAX ||
		     (ring & (ring - 1)))) {
		snprintf(err, errlen,
			 "evlog: ring_records %u is not a power of two in "
			 "[%u, %u]",
			 ring, EVLOG_RING_MIN, EVLOG_RING_MAX);
		return -EINVAL;
	}
	rc = check_kinds(cfg, err, errlen);
	return rc ? rc : check_counters(cfg, err, errlen);
}

static int unknown_kind(const struct evlog_config *cfg, const char *name,
			char *err, size_t errlen)
{
	size_t used = 0;

	appendf(err, errlen, &used,
		"evlog: unknown event kind '%s' in the enabled list; "
		"known kinds:",
		name);
	for (unsigned k = 0; k < cfg->nr_kinds; k++)
		appendf(err, errlen, &used, "%s %s", k ? "," : "",
			cfg->kinds[k].name);
	if (!cfg->nr_kinds)
		appendf(err, errlen, &used, " none");
	return -EINVAL;
}

static int find_kind(const struct evlog_config *cfg, const char *name)
{
	for (unsigned k = 0; k < cfg->nr_kinds; k++)
		if (!strcmp(cfg->kinds[k].name, name))
			return (int)k;
	return -1;
}

/* Set the bits of the comma-separated names in list (modified). */
static int enable_list(const struct evlog_config *cfg, char *list,
		       uint64_t *bits, char *err, size_t errlen)
{
	char *save = NULL;

	for (char *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t n;
		int k;

		tok += strspn(tok, " \t");
		n = strcspn(tok, " \t");
		if (tok[n + strspn(tok + n, " \t")] != '\0')
			return unknown_kind(cfg, tok, err, errlen);
		tok[n] = '\0';
		if (n == 0)
			continue;
		k = find_kind(cfg, tok);
		if (k < 0)
			return unknown_kind(cfg, tok, err, errlen);
		bit_set(bits, (unsigned)k);
	}
	return 0;
}

/* "name,name,..." of the enabled kinds, or "none". */
static char *enabled_text(const struct evlog_config *cfg, const uint64_t *bits)
{
	size_t len = sizeof("none"), used = 0;
	char *s;

	for (unsigned k = 0; k < cfg->nr_kinds; k++)
		len += strlen(cfg->kinds[k].name) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (unsigned k = 0; k < cfg->nr_kinds; k++)
		if (bit_test(bits, k))
			appendf(s, len, &used, "%s%s", used ? "," : "",
				cfg->kinds[k].name);
	if (!used)
		snprintf(s, len, "none");
	return s;
}

/* cfg->enabled -> bitmap and the text recorded in runs.kinds_logged. */
static int parse_enabled(const struct evlog_config *cfg, uint64_t *bits,
			 char **text, char *err, size_t errlen)
{
	const char *e = cfg->enabled;
	char *list;
	int rc;

	if (!e || !strcmp(e, "all")) {
		for (unsigned k = 0; k < cfg->nr_kinds; k++)
			bit_set(bits, k);
		*text = strdup("all");
		return *text ? 0 : -ENOMEM;
	}
	list = strdup(!strcmp(e, "none") ? "" : e);
	if (!list)
		return -ENOMEM;
	rc = enable_list(cfg, list, bits, err, errlen);
	free(list);
	if (rc)
		return rc;
	*text = enabled_text(cfg, bits);
	return *text ? 0 : -ENOMEM;
}

/* ---- sticky error ------------------------------------------------------ */

/* Keep the first error only (invariant 4). */
static void set_error(struct evlog *log, int err, const char *msg)
{
	if (atomic_flag_test_and_set(&log->err_claimed))
		return;
	snprintf(log->errmsg, sizeof(log->errmsg), "%s", msg);
	atomic_store_explicit(&log->failed, err, memory_order_release);
}

static int log_failed(const struct evlog *log)
{
	return atomic_load_explicit(&log->failed, memory_order_acquire);
}

/* The writer's database call failed (its transaction is rolled back). */
static void writer_fail(struct evlog *log)
{
	log->txn_events = 0;
	set_error(log, log->db.err ? log->db.err : -EIO, log->db.msg);
}

/* ---- side queue -------------------------------------------------------- */

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copy s into the row's storage at *cursor. */
static const char *pack_str(char **cursor, const char *s)
{
	char *p = *cursor;
	size_t n = str_size(s);

	if (!s)
		return NULL;
	memcpy(p, s, n);
	*cursor = p + n;
	return p;
}

static struct side_row *side_alloc(struct evlog *log, enum side_type type,
				   size_t extra)
{
	struct side_row *row = calloc(1, sizeof(*row) + extra);
	char msg[EVLOG_ERR_LEN];

	if (row) {
		row->type = type;
		return row;
	}
	snprintf(msg, sizeof(msg), "evlog: %s: out of memory queueing a row",
		 log->path);
	set_error(log, -ENOMEM, msg);
	return NULL;
}

/* Under side_lock: link row at the tail, tagged with the ring head. */
static void side_link(struct evlog *log, struct side_row *row)
{
	while (log->side_count >= SIDE_QUEUE_MAX)
		pthread_cond_wait(&log->side_space, &log->side_lock);
	row->seq = ring_head(&log->ring);
	row->next = NULL;
	if (log->side_tail)
		log->side_tail->next = row;
	else
		log->side_head = row;
	log->side_tail = row;
	log->side_count++;
	atomic_store_explicit(&log->side_queued, log->side_count,
			      memory_order_relaxed);
	if (log->side_head == row)
		atomic_store_explicit(&log->side_min_seq, row->seq,
				      memory_order_release);
}

/*
 * Queue row (every signal blocked while side_lock is held).  A flush row
 * is then waited for on its semaphore, without the lock and with signals
 * deliverable, and freed here; other rows belong to the writer now.
 */
static int side_submit(struct evlog *log, struct side_row *row)
{
	bool flush = row->type == SIDE_FLUSH;
	sigset_t all, old;

	if (flush && sem_init(&row->u.done, 0, 0)) {
		free(row);
		return -errno;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&log->side_lock);
	side_link(log, row);
	pthread_mutex_unlock(&log->side_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ring_wake_consumer(&log->ring);
	if (flush) {
		while (sem_wait(&row->u.done) && errno == EINTR)
			;
		sem_destroy(&row->u.done);
		free(row);
	}
	return log_failed(log);
}

/* Writer: unlink the head row if its seq <= upto. */
static struct side_row *side_pop(struct evlog *log, uint64_t upto)
{
	struct side_row *row;

	pthread_mutex_lock(&log->side_lock);
	row = log->side_head;
	if (!row || row->seq > upto) {
		pthread_mutex_unlock(&log->side_lock);
		return NULL;
	}
	log->side_head = row->next;
	if (!log->side_head)
		log->side_tail = NULL;
	log->side_count--;
	atomic_store_explicit(&log->side_queued, log->side_count,
			      memory_order_relaxed);
	atomic_store_explicit(&log->side_min_seq,
			      log->side_head ? log->side_head->seq :
					       SIDE_SEQ_NONE,
			      memory_order_release);
	pthread_cond_signal(&log->side_space);
	pthread_mutex_unlock(&log->side_lock);
	return row;
}

/* ---- writer thread ----------------------------------------------------- */

static int side_write(struct evlog *log, struct side_row *row)
{
	struct evlog_db *d = &log->db;

	switch (row->type) {
	case SIDE_TASK:
		return evdb_task(d, row->seq, &row->u.task);
	case SIDE_TASK_EXIT:
		return evdb_task_exit(d, row->seq, &row->u.exit);
	case SIDE_VMSTAT:
		return evdb_vmstat(d, row->seq, row->t_ns, row->u.values);
	case SIDE_PSI:
		return evdb_psi(d, row->seq, row->t_ns, &row->u.psi[0],
				&row->u.psi[1]);
	case SIDE_OOM:
		return evdb_oom(d, row->seq, &row->u.oom.kill, row->u.oom.c,
				row->u.oom.n);
	case SIDE_LEAKS:
		return evdb_leaks(d, row->seq, &row->u.leaks);
	case SIDE_FLUSH:
		break;
	}
	BUG_ON(1);
}

static void commit_now(struct evlog *log)
{
	if (evdb_commit(&log->db)) {
		writer_fail(log);
		return;
	}
	atomic_fetch_add_explicit(&log->committed, log->txn_events,
				  memory_order_relaxed);
	atomic_store_explicit(&log->commits, log->db.commits,
			      memory_order_relaxed);
	log->txn_events = 0;
}

static void side_apply(struct evlog *log, struct side_row *row)
{
	bool flush = row->type == SIDE_FLUSH;

	if (!log_failed(log) && flush)
		commit_now(log);
	else if (!log_failed(log) && side_write(log, row))
		writer_fail(log);
	if (flush)
		sem_post(&row->u.done); /* the waiter frees it */
	else
		free(row);
}

static void write_events(struct evlog *log, const struct evlog_event *ev,
			 unsigned n, uint64_t first_seq)
{
	if (log->hooks.writer_delay_us) {
		uint64_t ns = log->hooks.writer_delay_us * NSEC_PER_USEC * n;
		struct timespec ts = {
			.tv_sec = (time_t)(ns / NSEC_PER_SEC),
			.tv_nsec = (long)(ns % NSEC_PER_SEC),
		};

		nanosleep(&ts, NULL);
	}
	if (log_failed(log)) {
		atomic_fetch_add_explicit(&log->discarded, n,
					  memory_order_relaxed);
		return;
	}
	if (evdb_events(&log->db, ev, n, first_seq)) {
		writer_fail(log);
		return;
	}
	log->txn_events += n;
	atomic_fetch_add_explicit(&log->rows, n, memory_order_relaxed);
}

/* Commit when the transaction is big or old enough (or force). */
static void writer_commit(struct evlog *log, bool force)
{
	struct evlog_db *d = &log->db;

	if (!d->in_txn)
		return;
	if (!force && d->txn_rows < log->txn_rows &&
	    (log->hooks.no_timed_commit ||
	     mono_ns() - d->txn_start_ns < COMMIT_NS))
		return;
	commit_now(log);
}

/* One step: events up to the next side row, then due side rows. */
static bool writer_step(struct evlog *log)
{
	struct evlog_ring *r = &log->ring;
	uint64_t first = r->tail, bound;
	unsigned n = ring_ready(r, WRITER_BATCH);
	bool any = false;
	struct side_row *row;

	bound = atomic_load_explicit(&log->side_min_seq, memory_order_acquire);
	BUG_ON(bound < first); /* invariant 3 */
	if (bound - first < n)
		n = (unsigned)(bound - first);
	if (n) {
		ring_take(r, log->batch, n);
		write_events(log, log->batch, n, first);
		any = true;
	}
	while ((row = side_pop(log, r->tail))) {
		side_apply(log, row);
		any = true;
	}
	return any;
}

static bool writer_done(struct evlog *log)
{
	return atomic_load_explicit(&log->stop, memory_order_acquire) &&
	       log->ring.tail == ring_head(&log->ring) &&
	       atomic_load_explicit(&log->side_min_seq, memory_order_acquire) ==
		       SIDE_SEQ_NONE;
}

static void writer_wait_resume(struct evlog *log)
{
	pthread_mutex_lock(&log->side_lock);
	while (!log->resumed)
		pthread_cond_wait(&log->resume_cond, &log->side_lock);
	pthread_mutex_unlock(&log->side_lock);
}

static void *writer_main(void *arg)
{
	struct evlog *log = arg;

	writer_wait_resume(log);
	for (;;) {
		bool busy = writer_step(log);

		writer_commit(log, false);
		if (busy)
			continue;
		if (writer_done(log))
			break;
		ring_wait_data(&log->ring, IDLE_NS);
	}
	writer_commit(log, true);
	return NULL;
}

/* Start the writer with every signal blocked (it never handles any). */
static int writer_start(struct evlog *log, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&log->writer, NULL, writer_main, log);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		snprintf(err, errlen, "evlog: cannot start the writer: %s",
			 strerror(rc));
	return -rc;
}

/* ---- open and close ---------------------------------------------------- */

static void log_free(struct evlog *log)
{
	struct side_row *row = log->side_head;

	while (row) {
		struct side_row *next = row->next;

		free(row);
		row = next;
	}
	ring_destroy(&log->ring);
	pthread_cond_destroy(&log->resume_cond);
	pthread_cond_destroy(&log->side_space);
	pthread_mutex_destroy(&log->side_lock);
	free(log->enabled);
	free(log->counts);
	free(log->path);
	free(log->kinds_logged);
	free(log);
}

static int log_init(struct evlog *log, const struct evlog_config *cfg)
{
	unsigned words = cfg->nr_kinds / BITS_PER_WORD + 1;
	unsigned ring = cfg->ring_records ? cfg->ring_records :
					    EVLOG_RING_DEFAULT;

	log->nr_kinds = cfg->nr_kinds;
	log->nr_counters = cfg->nr_counters;
	if (cfg->test)
		log->hooks = *cfg->test;
	log->resumed = !log->hooks.start_paused;
	log->txn_rows = log->hooks.txn_rows ? log->hooks.txn_rows :
					      TXN_ROWS_DEFAULT;
	atomic_init(&log->side_min_seq, SIDE_SEQ_NONE);
	atomic_flag_clear(&log->err_claimed);
	pthread_mutex_init(&log->side_lock, NULL);
	pthread_cond_init(&log->side_space, NULL);
	pthread_cond_init(&log->resume_cond, NULL);
	log->enabled = calloc(words, sizeof(log->enabled[0]));
	log->counts = calloc(cfg->nr_kinds + 1, sizeof(log->counts[0]));
	log->path = strdup(cfg->path);
	if (!log->enabled || !log->counts || !log->path)
		return -ENOMEM;
	return ring_init(&log->ring, ring);
}

static int log_alloc(const struct evlog_config *cfg, struct evlog **out,
		     char *err, size_t errlen)
{
	size_t size = (sizeof(struct evlog) + EVLOG_CACHELINE - 1) &
		      ~(size_t)(EVLOG_CACHELINE - 1);
	struct evlog *log = aligned_alloc(EVLOG_CACHELINE, size);

	if (!log) {
		snprintf(err, errlen, "evlog: out of memory");
		return -ENOMEM;
	}
	memset(log, 0, size);
	if (log_init(log, cfg)) {
		log_free(log);
		snprintf(err, errlen, "evlog: out of memory");
		return -ENOMEM;
	}
	*out = log;
	return 0;
}

static int log_open_db(struct evlog *log, const struct evlog_config *cfg,
		       char *err, size_t errlen)
{
	struct evdb_run run = {
		.cfg = cfg,
		.kinds_logged = log->kinds_logged,
		.enabled = log->enabled,
		.ring_records = (unsigned)log->ring.size,
		.start_unix_ns = real_ns(),
	};
	int rc = evdb_open(&log->db, &run, err, errlen);

	if (rc)
		return rc;
	log->db.path = log->path;
	log->t0_ns = mono_ns();
	if (log->hooks.max_page_count_extra &&
	    evdb_limit_pages(&log->db, log->hooks.max_page_count_extra)) {
		snprintf(err, errlen, "%s", log->db.msg);
		evdb_discard(&log->db);
		return log->db.err;
	}
	return 0;
}

int evlog_open(const struct evlog_config *cfg, struct evlog **out, char *err,
	       size_t errlen)
{
	struct evlog *log;
	int rc;

	*out = NULL;
	rc = check_config(cfg, err, errlen);
	rc = rc ? rc : log_alloc(cfg, &log, err, errlen);
	if (rc)
		return rc;
	rc = parse_enabled(cfg, log->enabled, &log->kinds_logged, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "evlog: out of memory");
	rc = rc ? rc : log_open_db(log, cfg, err, errlen);
	if (!rc) {
		rc = writer_start(log, err, errlen);
		if (rc)
			evdb_discard(&log->db);
	}
	if (rc) {
		log_free(log);
		return rc;
	}
	*out = log;
	return 0;
}

/* Record the end of the run (counts, time, status, error). */
static void close_run(struct evlog *log, int exit_status)
{
	uint64_t *counts = calloc(log->nr_kinds + 1, sizeof(*counts));
	struct evdb_end end = {
		.end_unix_ns = real_ns(),
		.duration_ns = evlog_now(log),
		.exit_status = exit_status,
		.counts = counts,
		.error = log_failed(log) ? log->errmsg : NULL,
	};

	if (!counts) {
		set_error(log, -ENOMEM, "evlog: out of memory closing the log");
		return;
	}
	for (unsigned k = 0; k < log->nr_kinds; k++) {
		counts[k] = evlog_count(log, k);
		end.events += counts[k];
	}
	if (evdb_finish(&log->db, &end, log->nr_kinds))
		writer_fail(log);
	free(counts);
}

int evlog_close(struct evlog *log, int exit_status, char *err, size_t errlen)
{
	int rc;

	if (!log)
		return 0;
	atomic_store_explicit(&log->stop, true, memory_order_release);
	evlog_test_resume(log);
	ring_wake_consumer(&log->ring);
	pthread_join(log->writer, NULL);
	close_run(log, exit_status);
	rc = log_failed(log);
	if (rc && err && errlen)
		snprintf(err, errlen, "%s", log->errmsg);
	evdb_close(&log->db);
	log_free(log);
	return rc;
}

void evlog_test_resume(struct evlog *log)
{
	pthread_mutex_lock(&log->side_lock);
	log->resumed = true;
	pthread_cond_broadcast(&log->resume_cond);
	pthread_mutex_unlock(&log->side_lock);
}

/* ---- producers and queries --------------------------------------------- */

SIGSAFE bool evlog_enabled(const struct evlog *log, unsigned kind)
{
	return log && kind < log->nr_kinds && bit_test(log->enabled, kind);
}

SIGSAFE void evlog_emit(struct evlog *log, const struct evlog_event *ev)
{
	if (!log)
		return;
	BUG_ON(ev->kind >= log->nr_kinds);
	if (!bit_test(log->enabled, ev->kind))
		return;
	ring_push(&log->ring, ev);
	atomic_fetch_add_explicit(&log->counts[ev->kind].n, 1,
				  memory_order_relaxed);
}

SIGSAFE uint64_t evlog_now(const struct evlog *log)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec -
	       log->t0_ns;
}

SIGSAFE uint64_t evlog_count(const struct evlog *log, unsigned kind)
{
	if (!log || kind >= log->nr_kinds)
		return 0;
	return atomic_load_explicit(&log->counts[kind].n, memory_order_relaxed);
}

SIGSAFE const char *evlog_error(const struct evlog *log)
{
	return log && log_failed(log) ? log->errmsg : NULL;
}

int64_t evlog_run_id(const struct evlog *log)
{
	return log->db.run_id;
}

void evlog_stats(const struct evlog *log, struct evlog_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned k = 0; k < log->nr_kinds; k++)
		st->emitted += evlog_count(log, k);
	st->stalls =
		atomic_load_explicit(&log->ring.stalls, memory_order_relaxed);
	st->rows = atomic_load_explicit(&log->rows, memory_order_relaxed);
	st->committed =
		atomic_load_explicit(&log->committed, memory_order_relaxed);
	st->commits = atomic_load_explicit(&log->commits, memory_order_relaxed);
	st->discarded =
		atomic_load_explicit(&log->discarded, memory_order_relaxed);
	st->side_queued =
		atomic_load_explicit(&log->side_queued, memory_order_relaxed);
}

/* ---- side rows ----------------------------------------------------------- */

int evlog_task(struct evlog *log, const struct evlog_task *task)
{
	struct side_row *row;
	char *p;

	if (!log || !task)
		return -EINVAL;
	if (log_failed(log))
		return log_failed(log);
	row = side_alloc(log, SIDE_TASK, str_size(task->name));
	if (!row)
		return -ENOMEM;
	p = (char *)row->data;
	row->u.task = *task;
	row->u.task.name = pack_str(&p, task->name);
	return side_submit(log, row);
}

int evlog_task_exit(struct evlog *log, const struct evlog_task_exit *ex)
{
	struct side_row *row;
	char *p;

	if (!log || !ex)
		return -EINVAL;
	if (log_failed(log))
		return log_failed(log);
	row = side_alloc(log, SIDE_TASK_EXIT,
			 str_size(ex->reason) + str_size(ex->msg));
	if (!row)
		return -ENOMEM;
	p = (char *)row->data;
	row->u.exit = *ex;
	row->u.exit.reason = pack_str(&p, ex->reason);
	row->u.exit.msg = pack_str(&p, ex->msg);
	return side_submit(log, row);
}

int evlog_vmstat(struct evlog *log, uint64_t t_ns, const uint64_t *values)
{
	size_t size;
	struct side_row *row;

	if (!log || (!values && log->nr_counters))
		return -EINVAL;
	if (log_failed(log))
		return log_failed(log);
	size = log->nr_counters * sizeof(values[0]);
	row = side_alloc(log, SIDE_VMSTAT, size);
	if (!row)
		return -ENOMEM;
	if (size)
		memcpy(row->data, values, size);
	row->t_ns = t_ns;
	row->u.values = row->data;
	return side_submit(log, row);
}

int evlog_psi(struct evlog *log, uint64_t t_ns,
	      const struct evlog_psi_line *some,
	      const struct evlog_psi_line *full)
{
	struct side_row *row;

	if (!log || !some || !full)
		return -EINVAL;
	if (log_failed(log))
		return log_failed(log);
	row = side_alloc(log, SIDE_PSI, 0);
	if (!row)
		return -ENOMEM;
	row->t_ns = t_ns;
	row->u.psi[0] = *some;
	row->u.psi[1] = *full;
	return side_submit(log, row);
}

static size_t oom_size(const struct evlog_oom_kill *kill,
		       const struct evlog_oom_candidate *c, unsigned n)
{
	size_t size = n * sizeof(c[0]) + str_size(kill->report);

	for (unsigned i = 0; i < n; i++)
		size += str_size(c[i].name);
	return size;
}

int evlog_oom(struct evlog *log, const struct evlog_oom_kill *kill,
	      const struct evlog_oom_candidate *c, unsigned n)
{
	struct evlog_oom_candidate *copy;
	struct side_row *row;
	char *p;

	if (!log || !kill || (n && !c))
		return -EINVAL;
	if (log_failed(log))
		return log_failed(log);
	row = side_alloc(log, SIDE_OOM, oom_size(kill, c, n));
	if (!row)
		return -ENOMEM;
	copy = (struct evlog_oom_candidate *)row->data;
	p = (char *)(copy + n);
	for (unsigned i = 0; i < n; i++) {
		copy[i] = c[i];
		copy[i].name = pack_str(&p, c[i].name);
	}
	row->u.oom.kill = *kill;
	row->u.oom.kill.report = pack_str(&p, kill->report);
	row->u.oom.c = copy;
	row->u.oom.n = n;
	return side_submit(log, row);
}

int evlog_leaks(struct evlog *log, const struct evlog_leaks *lk)
{
	struct side_row *row;
	char *p;

	if (!log || !lk)
		return -EINVAL;
	if (log_failed(log))
		return log_failed(log);
	row = side_alloc(log, SIDE_LEAKS, str_size(lk->largest));
	if (!row)
		return -ENOMEM;
	p = (char *)row->data;
	row->u.leaks = *lk;
	row->u.leaks.largest = pack_str(&p, lk->largest);
	return side_submit(log, row);
}

int evlog_flush(struct evlog *log)
{
	struct side_row *row;

	if (!log)
		return -EINVAL;
	row = side_alloc(log, SIDE_FLUSH, 0);
	if (!row)
		return -ENOMEM;
	return side_submit(log, row);
}
