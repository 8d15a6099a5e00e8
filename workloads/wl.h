/*
 * workloads/wl.h - synthetic workloads: emulated processes that touch
 * memory in a known pattern and verify every byte they read back.
 *
 * A workload is described by a spec, parsed from the text of one
 * `vmemu run -w KIND[:key=val,...]`.  wl_run_new turns a spec into a
 * struct wl_run, whose wl_run_main is the vm_task_fn the caller gives to
 * vm_spawn; the run also holds the host memory of every task the workload
 * forks, so that a task killed in mid-stride (it leaves through
 * siglongjmp) leaks nothing: wl_run_free releases it all once no task of
 * the run is left (after vm_destroy, or after every task was waited for).
 *
 * Verification.  Each task keeps, per page of its region, who wrote the
 * page last (owner, a pid) and how many times it was written (gen).  The
 * page's 512 words are a pattern of (owner, page, gen); gen 0 is a page
 * never written, all zeros.  A write access stores the whole page with
 * the next generation; a read access loads the whole page and compares
 * it.  The first difference ends the task with WL_EXIT_MISMATCH and the
 * address, page and byte are kept for wl_run_describe.
 *
 * The malloc kind verifies blocks instead of pages: every block it gets
 * from the emulated C library (user/umalloc.h) is filled with a pattern
 * of its serial number and checked when it is freed, reallocated (the
 * kept prefix) and at the end; calloc's must read zeros; the heap's
 * invariant walker (umalloc_check) runs every WL_HEAP_CHECK_OPS ops.
 * At exit it frees all but `leak` blocks and makes the C library's leak
 * report (umalloc_report_leaks: the event log's leaks table), which must
 * name exactly the blocks it kept.
 *
 * Modes.  In native mode pages are loaded and stored through vm_ptr (real
 * loads and stores that trap); in trace mode through vm_read/vm_write.
 * The accesses (page, read or write, in order) depend only on the spec
 * and its seed, never on the mode: for one task they are the same
 * sequence in both.  A task's pattern is drawn from its own generator, so
 * tasks running side by side do not perturb each other's sequence; their
 * interleaving on host threads is not reproducible.
 *
 * Kills.  A task notices vm_kill (or the OOM killer) at its next trap or
 * vm_* call; workloads make such a call (vm_brk(t, 0), a query) every
 * WL_CHECK_OPS accesses and at least every WL_SLEEP_SLICE_MS while they
 * sleep, as a Linux process takes a signal on its way back from a system
 * call.  wl_run_stop asks every task of a run to end at that point.
 *
 * Threads: wl_spec_* and wl_run_new/free/stop/kill/describe are called by
 * the controlling thread; wl_run_main runs on the task's own thread.  The
 * access hook is called on the thread of the task that makes the access.
 */
#ifndef VMEMU_WL_H
#define VMEMU_WL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

/* Kinds of workload (the KIND of -w KIND:...). */
enum wl_kind {
	WL_SEQ,	      /* sequential sweeps */
	WL_RAND,      /* uniform random pages */
	WL_ZIPF,      /* Zipf-distributed pages (alpha) */
	WL_HOTCOLD,   /* a hot fraction gets a share of the accesses */
	WL_PHASES,    /* a working set that moves every period ops */
	WL_STRIDE,    /* every k-th page, the cache thrasher */
	WL_HOG,	      /* grows until its cap or until killed */
	WL_FORKSTORM, /* rounds of fork + COW writes + exit */
	WL_IDLE,      /* writes its memory, then sleeps, touching rarely */
	WL_ZERO,      /* reads memory it never wrote: the zero frame */
	WL_SEGV,      /* loads from address 0: an emulated SIGSEGV */
	WL_MALLOC,    /* malloc/free/realloc/calloc through user/umalloc */
	WL_FILESCAN,  /* streams through a file: the cache polluter */
	WL_FILERW,    /* random reads and writes through a shared mapping */
	WL_SHM,	      /* tasks sharing anonymous memory across fork */
	WL_NR_KINDS
};

/*
 * A task's exit code (struct vm_exit.code with VM_EXIT_NORMAL).  Values
 * other than 0 are failures; wl_run_describe says which.
 */
#define WL_EXIT_OK	 0
#define WL_EXIT_MISMATCH 101 /* a byte read back differed from the pattern */
#define WL_EXIT_NOMEM	 102 /* vm_mmap of its region failed */
#define WL_EXIT_FORK	 103 /* vm_fork failed */
#define WL_EXIT_CHILD	 104 /* a child ended otherwise than expected */
#define WL_EXIT_STOPPED	 105 /* wl_run_stop asked it to end */
#define WL_EXIT_HOST	 106 /* host memory for its bookkeeping ran out */
#define WL_EXIT_HEAP	 107 /* malloc: umalloc_check found the heap broken */
#define WL_EXIT_MALLOC	 108 /* malloc: out of memory with no block to free */

/* Accesses between two kill checkpoints; sleep slice while idle (ms). */
#define WL_CHECK_OPS	  64
#define WL_HEAP_CHECK_OPS 1024
#define WL_SLEEP_SLICE_MS 10

#define WL_NAME_LEN 16 /* as struct vm_task_info.name */

/* One -w: what to run.  wl_spec_init fills a kind's defaults. */
struct wl_spec {
	enum wl_kind kind;
	char name[WL_NAME_LEN]; /* task name (default: the kind) */
	uint64_t size;		/* region bytes (hog: cap, 0 = none) */
	uint64_t ops;		/* accesses; 0: passes x pages */
	uint64_t passes;
	double write;  /* fraction of accesses that write */
	int adj;       /* oom_score_adj, -1000..1000 */
	unsigned fork; /* children sharing the region (COW) */
	uint64_t seed; /* 0 with seed_set false: caller's */
	bool seed_set;
	double alpha;	   /* zipf: exponent */
	double hot, share; /* hotcold: hot pages, their access share */
	double ws;	   /* phases: working set, fraction of pages */
	uint64_t period;   /* phases: ops per phase; 0: 4 x ws pages */
	uint64_t stride;   /* stride: k, in pages */
	uint64_t chunk;	   /* hog: bytes mapped per step */
	uint64_t rounds;   /* forkstorm: rounds of forks */
	uint64_t sleep_ms; /* idle: how long it sleeps */
	uint64_t delay_ms; /* sleep before starting (staging a scenario) */
	int policy;	   /* malloc: enum umalloc_policy */
	uint64_t max_req;  /* malloc: largest request, bytes */
	uint64_t leak;	   /* malloc: blocks left allocated at exit */
};

/* What one key of a spec is, for parsing and for --help. */
struct wl_key_info {
	const char *name;
	const char *arg;  /* "SIZE", "N", "R" (0..1), "X" (real), ... */
	const char *help; /* one line */
	unsigned kinds;	  /* bit (1u << kind) per kind that takes it */
};

struct wl_kind_info {
	const char *name;
	const char *summary; /* one line */
	const char *op;	     /* what one op (access) is */
};

/*
 * Access hook (tests): called on task t's thread before each access it
 * makes to page (at va) of its region.  It may itself use t (vm_write,
 * to corrupt the page the access is about to check).  The malloc kind
 * calls it before each block check instead: va the block, page the
 * bytes about to be checked, write false.
 */
typedef void (*wl_access_hook)(void *ctx, struct vm_task *t, uint64_t page,
			       uint64_t va, bool write);

struct wl_run;

/* The kind's defaults; name = kind's name, seed unset. */
void wl_spec_init(struct wl_spec *spec, enum wl_kind kind);
/*
 * Parse "KIND[:key=val,...]" into spec.  0, or -EINVAL with one line in
 * err naming the problem (unknown kind or key, malformed value).
 */
int wl_spec_parse(const char *text, struct wl_spec *spec, char *err,
		  size_t errlen);
/* The key's value in spec as text (for --help's defaults); "" if n/a. */
void wl_spec_value(const struct wl_spec *spec, const char *key, char *buf,
		   size_t len);
/* "64M" "4KiB" "4096" -> bytes; 0 or -EINVAL (junk, overflow). */
int wl_parse_size(const char *text, uint64_t *bytes);
const struct wl_kind_info *wl_kind_info(enum wl_kind kind);
const struct wl_key_info *wl_keys(size_t *n);

/*
 * A run of spec on vm (seed: spec's if set, else default_seed); NULL if
 * the host is out of memory.  The spec is copied.
 */
struct wl_run *wl_run_new(struct vm *vm, const struct wl_spec *spec,
			  uint64_t default_seed);
/* vm_task_fn for vm_spawn(vm, name, adj, wl_run_main, run): once per run. */
int wl_run_main(struct vm_task *t, void *arg);
const struct wl_spec *wl_run_spec(const struct wl_run *run);
void wl_run_set_hook(struct wl_run *run, wl_access_hook fn, void *ctx);
/* Ask every task of the run to end at its next checkpoint. */
void wl_run_stop(struct wl_run *run);
/* vm_kill every child the run's tasks forked (the caller kills the root). */
void wl_run_kill_children(struct wl_run *run);
/* Did the root end as this workload expects (hog: OOM kill is fine)? */
bool wl_run_expected(const struct wl_run *run, const struct vm_exit *ex);
/* One line on how the root ended ("ok", "data mismatch at va ...", ...). */
void wl_run_describe(const struct wl_run *run, const struct vm_exit *ex,
		     char *buf, size_t len);
/* "OOM-killed", "SEGV", ... for a vm_exit reason. */
const char *wl_exit_reason_name(enum vm_exit_reason reason);
void wl_run_free(struct wl_run *run);

#endif /* VMEMU_WL_H */
