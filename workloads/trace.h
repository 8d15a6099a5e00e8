/*
 * workloads/trace.h - page-reference traces for replacement studies:
 * readers, the loaded form, LRU's miss-ratio curve in one pass, and the
 * replay through an exact-replacement machine (vmemu sim; docs/sim.md).
 *
 * Formats (docs/sim.md has the grammar of each):
 *   txt            one page number or object id per line (decimal or
 *                  0x-hex, below 2^64); blank and '#' lines are skipped
 *   csv            one column of comma-separated rows, chosen by 1-based
 *                  number or by header name; the header is optional
 *   vmtrace        "R ADDR" / "W ADDR" lines, ADDR a hex byte address:
 *                  page = ADDR >> 12, W marks a write
 *   oracleGeneral  libCacheSim's binary records, 24 bytes little-endian:
 *                  u32 timestamp, u64 obj_id, u32 obj_size (ignored),
 *                  i64 next_access_vtime (1-based index of the next
 *                  request to the object; -1 never)
 * Any of them gzip- or zstd-compressed when the name ends in .gz / .zst.
 *
 * Loaded form.  Object ids become dense page numbers 0..nr_pages-1 in
 * order of first reference, so a replay maps one region of nr_pages
 * pages.  next[i] is the index of the next request to the same page
 * (TRACE_NEVER if none): what OPT needs, computed by a backward pass; an
 * oracleGeneral file's own next_access_vtime is checked against it.
 *
 * Invariants of a loaded struct trace (trace_check verifies them):
 *  1. nr_requests <= TRACE_MAX_REQUESTS; nr_pages <= nr_requests.
 *  2. page[i] < nr_pages; every page number appears, first at increasing
 *     request indices (page p first appears before page p + 1).
 *  3. next[i] > i, page[next[i]] == page[i] and no request in between is
 *     to that page; next[i] == TRACE_NEVER iff no later request is.
 *  4. ids[p] is page p's id (object id, page number, or ADDR >> 12);
 *     distinct pages have distinct ids.
 *  5. write is NULL or a bitmap of nr_requests bits, nr_writes set.
 *
 * Errors: 0 or a negative errno, and one line in err:
 *   -EBADMSG  malformed input: "name:LINE: message" (text formats),
 *             "name:record N: message" (oracleGeneral), "name: message"
 *             (bad compressed data); the CLI exits 65 (EX_DATAERR)
 *   -EINVAL   bad options (a csv column not in the header ...)
 *   -ENOENT, -EACCES, -EISDIR, -EIO ...  the file itself: "name: text"
 *   -EFBIG    more requests or pages than TRACE_MAX_REQUESTS
 *   -ENOMEM   out of host memory
 * No input makes these functions crash or read out of bounds (the fuzz
 * targets in tests/fuzz/ keep it so).  The library never prints.
 *
 * Threads: a loaded trace is read-only; any number of threads may replay
 * it at once.  trace_replay runs a machine of its own each time.
 */
#ifndef VMEMU_TRACE_H
#define VMEMU_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

#define TRACE_NEVER	   UINT32_MAX /* next[i]: no later request */
#define TRACE_MAX_REQUESTS (UINT32_MAX - 1ULL)
#define TRACE_PAGE_SHIFT   12 /* vmtrace: 4 KiB pages */
#define TRACE_ORACLE_SIZE  24 /* bytes per oracleGeneral record */

enum trace_format {
	TRACE_AUTO = 0, /* by the name, else by the content */
	TRACE_TXT,
	TRACE_CSV,
	TRACE_VMTRACE,
	TRACE_ORACLE,
	TRACE_NR_FORMATS
};

enum trace_compress {
	TRACE_COMPRESS_AUTO = 0, /* by the name: .gz, .zst / .zstd */
	TRACE_COMPRESS_NONE,
	TRACE_COMPRESS_GZIP,
	TRACE_COMPRESS_ZSTD,
};

enum trace_header {
	TRACE_HEADER_AUTO = 0, /* csv: a first row whose column is no id */
	TRACE_HEADER_YES,
	TRACE_HEADER_NO,
};

struct trace_opts {
	enum trace_format format;
	enum trace_compress compress;
	const char *csv_column; /* 1-based number or header name; NULL: 1 */
	enum trace_header csv_header;
	uint64_t max_requests; /* refuse more (-EFBIG); 0: the format's */
	uint64_t max_bytes;    /* refuse more decompressed bytes; 0: any */
};

struct trace {
	uint64_t nr_requests;
	uint64_t nr_pages; /* distinct pages */
	uint64_t nr_writes;
	uint32_t *page;	 /* [nr_requests] dense page of each request */
	uint32_t *next;	 /* [nr_requests] next request to it, or NEVER */
	uint64_t *write; /* bitmap of writes, NULL if none */
	uint64_t *ids;	 /* [nr_pages] the id each page stands for */
	enum trace_format format;     /* the format read */
	enum trace_compress compress; /* NONE, GZIP or ZSTD */
	bool format_by_content;	      /* auto: chosen from the bytes */
	uint64_t bytes;		      /* decompressed bytes read */
	/*
	 * oracleGeneral: the first record (1-based) whose next_access_vtime
	 * disagrees with the trace itself, and that value; 0: all agree.
	 * next[] is always the computed one.
	 */
	uint64_t vtime_mismatch;
	int64_t vtime_given;
};

static inline bool trace_is_write(const struct trace *tr, uint64_t i)
{
	return tr->write && (tr->write[i / 64] >> (i % 64) & 1);
}

/* ---- reading (trace_src.c, trace_parse.c, trace_load.c) ------------- */

void trace_opts_init(struct trace_opts *o);
/* "txt", "csv", "vmtrace", "oracleGeneral" ("auto" for TRACE_AUTO). */
const char *trace_format_name(enum trace_format f);
/* The format named s (any case), or -EINVAL. */
int trace_format_parse(const char *s, enum trace_format *f);
/* The compression a name implies (.gz, .zst, .zstd), else NONE. */
enum trace_compress trace_compress_of(const char *name);
/* The format a name implies (after .gz/.zst), or TRACE_AUTO. */
enum trace_format trace_format_of(const char *name);

/* Load the file at path; *tr is zeroed first, trace_free releases it. */
int trace_load(const char *path, const struct trace_opts *o, struct trace *tr,
	       char *err, size_t errlen);
/* The same from len bytes at buf (as stored: compressed if o says so). */
int trace_load_mem(const char *name, const void *buf, size_t len,
		   const struct trace_opts *o, struct trace *tr, char *err,
		   size_t errlen);
/* A trace of n page numbers (ids) given in memory, all reads. */
int trace_from_ids(const uint64_t *ids, uint64_t n, struct trace *tr);
void trace_free(struct trace *tr);
/* Invariants 1-5; 0 or the number of the first one broken. */
int trace_check(const struct trace *tr);

/* ---- LRU's miss-ratio curve in one pass (trace_mrc.c) ------------- */

/*
 * Mattson's stack algorithm with a Fenwick tree over request indices:
 * misses[c] = LRU's misses with c frames, for every c in 0..nr_pages
 * (misses[0] = nr_requests; misses[c] = misses[nr_pages] = nr_pages for
 * c >= nr_pages).  misses has nr_pages + 1 entries.  O(n log n) time,
 * 4 bytes per request and 12 per page of memory.  0 or -ENOMEM.
 */
int trace_lru_mrc(const struct trace *tr, uint64_t *misses);

/* ---- replay through the emulated machine (trace_replay.c) -------- */

struct trace_run {
	const char *policy; /* vm_config.policy */
	uint64_t frames;    /* vm_config.exact_frames */
	/* Results. */
	uint64_t misses;    /* vm_stat's pgfault: first touches + refaults */
	uint64_t requests;  /* requests replayed */
	uint64_t ns;	    /* the replay loop alone (not the machine setup) */
	uint64_t rss_bytes; /* host RSS growth from vm_create to the end */
	int err;	    /* 0 or the negative errno of a failure */
	char msg[160];	    /* its one line */
};

/*
 * Replay tr through a new trace-mode machine with exact_frames =
 * run->frames and policy run->policy: one task maps tr->nr_pages pages
 * and makes every request with vm_access_next (the page's va, the write
 * flag, next[i]).  Fills run's results and returns run->err: -EINVAL
 * with vm_create's refusal (an unknown policy, exact mode not built) in
 * run->msg, or the task's failure.
 */
int trace_replay(const struct trace *tr, struct trace_run *run);
/*
 * Replay runs[0..n) in jobs threads (0: the host's online CPUs) and
 * return the number of runs that failed (each has its err and msg).
 */
unsigned trace_replay_all(const struct trace *tr, struct trace_run *runs,
			  unsigned n, unsigned jobs);
/* Whether vm_create takes policy in exact mode; else why not in msg. */
bool trace_policy_available(const char *policy, char *msg, size_t len);
/* The host's online CPUs (at least 1). */
unsigned trace_cpus(void);

/* ---- Belady's anomaly (trace_anomaly.c) -------------------------- */

struct trace_point {
	uint64_t frames, misses;
};

/*
 * Points sorted by frames (ascending, distinct): the indices i >= 1 with
 * misses[i] > misses[i - 1] - more frames, more misses - into out (up to
 * n); returns their number.
 */
size_t trace_anomalies(const struct trace_point *pts, size_t n, size_t *out);

/*
 * Misses of a small reference model (a few frames, short strings; naive
 * O(frames) per request) for "fifo", "lru", "clock", "lfu" and "opt",
 * with the exact rules.  -ENOENT for another policy.
 */
int trace_model_misses(const char *policy, const uint32_t *refs, size_t n,
		       unsigned frames, uint64_t *misses);

#define TRACE_ANOMALY_MAXLEN 64

struct trace_anomaly {
	/* Search parameters. */
	const char *policy;
	uint64_t seed;
	uint64_t tries;	   /* reference strings to draw at most */
	unsigned max_len;  /* string length: 8 .. max_len */
	unsigned max_page; /* pages 1 .. max_page */
	/* Found (misses at frames + 1 > misses at frames). */
	uint32_t refs[TRACE_ANOMALY_MAXLEN];
	unsigned len;
	unsigned frames;
	uint64_t misses_lo, misses_hi; /* at frames, frames + 1 */
	uint64_t tried;		       /* strings drawn */
	bool by_model;		       /* screened by trace_model_misses */
	bool model_only; /* exact mode not available: counts from the model */
	uint64_t model_disagreed; /* model anomalies the machine did not
				     confirm (a bug in one of them) */
	char msg[160];		  /* why model_only, or a failure */
};

/*
 * Draw random reference strings from a->seed until one shows Belady's
 * anomaly under a->policy, checked through trace_replay (exact mode);
 * where trace_model_misses knows the policy, strings are screened by the
 * model first and only candidates replayed.  If exact mode is not
 * available, the model alone answers (a->model_only).  1 found, 0 none in
 * a->tries strings, negative errno on failure (a->msg).
 */
int trace_find_anomaly(struct trace_anomaly *a);

#endif /* VMEMU_TRACE_H */
