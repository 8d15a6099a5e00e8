/*
 * cli/sim.h - what the files of `vmemu sim` share (cli/sim.c: options and
 * the run; cli/sim_out.c: the table, CSV and anomaly lines; cli/sim_log.c:
 * the SQLite tables and the trace's sha256).  docs/sim.md is the manual.
 *
 * A sim is: options -> struct sim; the trace loaded (workloads/trace.h);
 * the frame counts resolved; one struct sim_row per (policy, frames),
 * filled by a replay through the machine (exact mode) or, for LRU under
 * --mrc, by the one-pass stack algorithm; then printed and logged.
 * Only the main thread runs this code (the replays' threads run
 * workloads/trace_replay.c).
 */
#ifndef VMEMU_CLI_SIM_H
#define VMEMU_CLI_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "workloads/trace.h"

#define SIM_EXIT_DATAERR 65 /* sysexits' EX_DATAERR: a malformed trace */
#define SIM_SHA256_HEX	 65 /* 64 hex digits and a NUL */

enum sim_method {
	SIM_REPLAY, /* through vm_access_next, exact mode */
	SIM_STACK,  /* LRU by Mattson's stack distances (--mrc) */
};

struct sim_row {
	const char *policy;
	uint64_t frames;
	uint64_t requests, misses;
	double seconds;
	enum sim_method method;
	bool anomaly; /* misses > the row with the next fewer frames */
	size_t run;   /* index into sim.runs (SIM_REPLAY) */
};

/* One item of --frames: N, A-B[:STEP] or P% (of the distinct pages). */
struct sim_frames_item {
	uint64_t lo, hi, step;
	double pct; /* > 0: a percentage */
};

struct sim {
	/* Options. */
	const char *trace_path;
	const char **policies; /* point into policy_buf */
	size_t nr_policies;
	char *policy_buf;
	struct sim_frames_item *items;
	size_t nr_items;
	struct trace_opts topts;
	bool csv, mrc;
	const char *log_path;
	unsigned jobs;
	const char *find; /* --find-anomaly POLICY */
	uint64_t seed, tries;
	bool seed_set;
	unsigned max_len, max_pages;
	char cmdline[1024];
	/* The run. */
	struct trace tr;
	uint64_t load_ns, start_unix_ns;
	uint64_t *frames; /* resolved, ascending, distinct */
	size_t nr_frames;
	uint64_t *lru_mrc; /* [nr_pages + 1] when the stack pass ran */
	double mrc_seconds;
	struct trace_run *runs;
	size_t nr_runs;
	struct sim_row *rows; /* grouped by policy, frames ascending */
	size_t nr_rows;
	bool log_created; /* the log file did not exist before */
};

/* ---- sim_out.c ----------------------------------------------------------- */

/* Mark rows[i].anomaly; the number of anomalies. */
size_t sim_mark_anomalies(struct sim *s);
/* The trace and mode lines (table mode), then the rows, then anomalies. */
void sim_print(const struct sim *s);
/* POLICY in capitals into buf (the anomaly lines' style). */
const char *sim_upper(const char *policy, char *buf, size_t len);

/* ---- sim_log.c ----------------------------------------------------------- */

/*
 * Before anything runs: may path take our tables?  A missing or empty
 * file, a vmemu database, or an empty SQLite file: yes (0).  Anything
 * else: one line in err, CLI_EXIT_USAGE; the file is not touched.
 */
int sim_log_check(const char *path, bool *exists, char *err, size_t len);
/* The sha256 of the file's bytes as stored (sha256sum's), in hex. */
int sim_sha256(const char *path, char hex[SIM_SHA256_HEX], char *err,
	       size_t len);
/*
 * Append one sim_runs row, the rows and (--mrc) the curves in one
 * transaction; on failure nothing is written (a file this run created is
 * removed).  0, or CLI_EXIT_FAIL with err.
 */
int sim_log_write(const struct sim *s, const char *sha256, char *err,
		  size_t len);

#endif /* VMEMU_CLI_SIM_H */
