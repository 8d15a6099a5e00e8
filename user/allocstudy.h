/*
 * user/allocstudy.h - the allocator study engine: run one request
 * sequence through one allocator and measure it (`vmemu alloc`).
 *
 * Glossary
 *   trace     a request sequence in the CMU malloc-lab format: four
 *             header lines (suggested heap size, number of ids, number of
 *             operations, weight), then one operation per line:
 *             "a id bytes" (ptr[id] = malloc(bytes)), "r id bytes"
 *             (ptr[id] = realloc(ptr[id], bytes)), "f id" (free(ptr[id])).
 *             Parsed strictly (user/mltrace.c), or generated (tracegen.c).
 *   allocator one of umalloc's five policies (run inside an emulated task
 *             in native mode: the heap's metadata in emulated memory), or
 *             one of three textbook page-granular models over a simulated
 *             arena (user/astudy_*.c) - models, not the kernel's code:
 *               buddy    every request rounded up to a power-of-two
 *                        number of pages (10 KiB takes 16 KiB); blocks
 *                        split and merged with their buddies; LIFO lists
 *               bitmap   one bit per page; first fit scan for n free
 *                        pages from the lowest free page, O(arena)
 *               kmalloc  Linux's kmalloc classes 8 16 32 64 96 128 192
 *                        256 512 1k 2k 4k 8k served from per-class slabs
 *                        of 1-8 pages (a LIFO free stack per slab, empty
 *                        slabs given back at once); larger requests from
 *                        the buddy model
 *   snapshot  the allocator's state at one moment: taken after the first
 *             operation at which live requested bytes reach their peak
 *             (a property of the trace, the same moment for every
 *             allocator), so fragmentation is compared under the same
 *             load.
 *
 * Metrics (astudy_result): internal fragmentation 1 - requested/granted
 * and external fragmentation 1 - largest free/free at the snapshot;
 * utilisation = peak live requested / peak footprint (malloc-lab's
 * "util"); search cost (list nodes, bins, orders or bitmap pages visited
 * per allocation); failures, and those that happened while enough free
 * bytes existed in total; ops/s of the operation loop alone.
 * Footprint: umalloc = brk heap + mmapped chunks; models = pages held.
 *
 * Errors: 0 or a negative errno.  The parser reports a malformed trace as
 * -EINVAL with "file:line: message" in err (callers exit 65, EX_DATAERR).
 * Library code: never prints; formatting writes into caller buffers.
 * Threads: astudy_run creates its own machine and waits for it; the rest
 * is plain host code.  No globals.
 */
#ifndef VMEMU_USER_ALLOCSTUDY_H
#define VMEMU_USER_ALLOCSTUDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "user/umalloc.h"

/* ---- allocators ------------------------------------------------------------ */

enum astudy_alloc {
	ASTUDY_FIRST_FIT = UMALLOC_FIRST_FIT,
	ASTUDY_NEXT_FIT = UMALLOC_NEXT_FIT,
	ASTUDY_BEST_FIT = UMALLOC_BEST_FIT,
	ASTUDY_WORST_FIT = UMALLOC_WORST_FIT,
	ASTUDY_SEGREGATED = UMALLOC_SEGREGATED,
	ASTUDY_BUDDY = 5,
	ASTUDY_BITMAP = 6,
	ASTUDY_KMALLOC = 7,
	ASTUDY_NALLOCS = 8,
};

/* "first" "next" "best" "worst" "seg" "buddy" "bitmap" "kmalloc". */
const char *astudy_alloc_name(enum astudy_alloc a);
int astudy_alloc_parse(const char *name, enum astudy_alloc *out);
/*
 * A comma-separated list ("first,buddy", or "all") into out[0..max):
 * the count, or -EINVAL (unknown name, empty item, more than max).
 */
int astudy_alloc_parse_list(const char *csv, enum astudy_alloc *out,
			    size_t max);

/* ---- traces ------------------------------------------------------------------ */

struct astudy_op {
	char kind;	 /* 'a', 'f' or 'r' */
	uint32_t id;	 /* < nids */
	uint64_t nbytes; /* 'a', 'r' */
};

struct astudy_trace {
	uint64_t sugg_heap; /* header line 1 (unused, kept) */
	uint32_t nids;
	int weight;
	size_t nops;
	struct astudy_op *ops;
};

/* Largest request size a trace may carry. */
#define ASTUDY_MAX_BYTES UMALLOC_MAX_REQUEST

/*
 * Parse text[0..len) named name (for messages).  Strict: the header's
 * four numbers, exactly nops operations, ids < nids, no "a" on a live id,
 * no "f" or "r" on an id that is not live, sizes <= ASTUDY_MAX_BYTES, no
 * stray text; trailing blank lines are allowed.  0; -EINVAL with
 * "name:line: message" in err; -ENOMEM.
 */
int astudy_trace_parse(const char *name, const char *text, size_t len,
		       struct astudy_trace *out, char *err, size_t errlen);
/* Read and parse the file at path: as above, or -errno ("path: reason"). */
int astudy_trace_load(const char *path, struct astudy_trace *out, char *err,
		      size_t errlen);
/* The trace as malloc-lab text; like snprintf (needed length returned). */
size_t astudy_trace_format(const struct astudy_trace *tr, char *buf,
			   size_t len);
void astudy_trace_free(struct astudy_trace *tr);

/* Generated shapes (all balanced: every id freed by the end). */
enum astudy_shape {
	ASTUDY_UNIFORM = 0,   /* sizes uniform in [min, max] */
	ASTUDY_POWERLAW = 1,  /* Pareto(1.3) from min, capped at max */
	ASTUDY_PHASES = 2,    /* small blocks, most freed, then large ones */
	ASTUDY_LIFETIMES = 3, /* short-lived small + long-lived larger */
	ASTUDY_NSHAPES = 4,
};

struct astudy_gen {
	enum astudy_shape shape;
	uint64_t seed;
	size_t nops;	      /* exactly this many operations (>= 2) */
	uint64_t min_bytes;   /* 0: the shape's default */
	uint64_t max_bytes;   /* 0: the shape's default */
	uint32_t max_live;    /* live allocations aimed at; 0: 1000 */
	unsigned realloc_pct; /* share of operations that are reallocs */
};

/* "uniform" "powerlaw" "phases" "lifetimes". */
const char *astudy_shape_name(enum astudy_shape s);
int astudy_shape_parse(const char *name, enum astudy_shape *out);
/* 0, -EINVAL (bad parameters), -ENOMEM.  Same seed, same trace. */
int astudy_trace_generate(const struct astudy_gen *g, struct astudy_trace *out);

/* ---- the page-granular models ------------------------------------------------ */

struct astudy_model;

/* One moment of one allocator (bytes; blocks). */
struct astudy_snapshot {
	uint64_t live_requested, live_granted, live_blocks;
	uint64_t free_bytes, free_blocks, largest_free, sliver_blocks;
	uint64_t footprint;
};

/* Model counters. */
struct astudy_model_stats {
	struct astudy_snapshot now; /* free_* over the whole arena */
	uint64_t peak_requested, peak_footprint;
	uint64_t allocs, search_visits, search_max;
	uint64_t failures, failures_fragmented;
};

/* kmalloc(0)'s answer, as Linux's ZERO_SIZE_PTR: not memory. */
#define ASTUDY_ZERO_SIZE_PTR 16ULL

/*
 * A model (ASTUDY_BUDDY, _BITMAP, _KMALLOC) over an arena of arena_bytes
 * (whole pages, >= 1 page).  0, -EINVAL, -ENOMEM.
 */
int astudy_model_create(enum astudy_alloc kind, uint64_t arena_bytes,
			struct astudy_model **out);
void astudy_model_destroy(struct astudy_model *m);
/* Allocate nbytes: 0 with *addr set, or -ENOMEM (counted as a failure). */
int astudy_model_alloc(struct astudy_model *m, uint64_t nbytes, uint64_t *addr);
/* Free what addr's allocation holds: 0, or -EINVAL if not allocated. */
int astudy_model_free(struct astudy_model *m, uint64_t addr);
/* Bytes granted to the live allocation at addr; 0 if none. */
uint64_t astudy_model_granted(const struct astudy_model *m, uint64_t addr);
void astudy_model_stats(const struct astudy_model *m,
			struct astudy_model_stats *st);
/* The model's invariant walker: 0, or -EUCLEAN when broken. */
int astudy_model_check(const struct astudy_model *m);

/* ---- runs -------------------------------------------------------------------- */

struct astudy_config {
	enum astudy_alloc alloc;
	uint64_t arena_bytes; /* models: the arena; umalloc: a bound on the
				 footprint (UMALLOC_LIMIT).  0: models get
				 twice the trace's buddy-rounded peak
				 (>= 1 MiB), umalloc no bound */
	uint64_t mem_bytes;   /* umalloc: the machine's RAM; 0: sized from
				 the trace (and arena) */
	uint64_t top_pad;     /* umalloc's M_TOP_PAD (default 0, as the
				 malloc lab grows the heap by what it needs;
				 UMALLOC_DEFAULT_TOP_PAD is glibc's) */
	bool verify;	      /* umalloc: write an id tag at both ends of
				 every payload, check it before free */
};

/* Defaults: first fit, no arena bound, sized machine, top pad 0. */
void astudy_config_init(struct astudy_config *cfg);

struct astudy_result {
	enum astudy_alloc alloc;
	int status;	/* 0, or -errno: the run stopped early */
	char error[96]; /* why, when status != 0 */
	uint64_t nops;
	double seconds, ops_per_sec; /* the operation loop only */
	struct astudy_snapshot peak; /* at the peak of live requested */
	uint64_t peak_requested, peak_footprint;
	double internal_frag, external_frag; /* at the snapshot */
	double utilisation;
	uint64_t allocs, search_visits, search_max;
	double search_avg;
	uint64_t failures, failures_fragmented;
	uint64_t verify_errors; /* tags found overwritten (must be 0) */
};

/*
 * Run trace through cfg->alloc.  0 with *out filled (out->status says
 * whether the run finished: e.g. the emulated task was OOM-killed), or
 * -EINVAL (bad config or trace), -ENOMEM (host memory, machine refused).
 */
int astudy_run(const struct astudy_config *cfg,
	       const struct astudy_trace *trace, struct astudy_result *out);

enum astudy_format { ASTUDY_TABLE = 0, ASTUDY_CSV = 1 };

/*
 * The rows as a table (a header line, one line per allocator) or as CSV
 * with this header, stable (columns are only ever appended):
 *
 *   allocator,status,ops,seconds,ops_per_sec,peak_requested,peak_granted,
 *   internal_frag,free_bytes,free_blocks,largest_free,sliver_blocks,
 *   external_frag,footprint_at_peak,peak_footprint,utilisation,allocs,
 *   search_avg,search_max,failures,failures_fragmented,verify_errors
 *
 * (one line; status is 0 or the negative errno; fractions as 0.xxxx).
 * Like snprintf: writes at most len bytes, returns the needed length.
 */
size_t astudy_format(const struct astudy_result *rows, size_t n,
		     enum astudy_format fmt, char *buf, size_t len);

#endif /* VMEMU_USER_ALLOCSTUDY_H */
