/*
 * user/umalloc.h - the emulated processes' C library allocator (malloc,
 * free, realloc, calloc) with selectable placement policies, in the
 * spirit of xv6's user/umalloc.c and of glibc's malloc.
 *
 * Glossary
 *   heap      one task's allocator: a brk heap of blocks, the chunks it
 *             mmapped, and an arena page of roots.  Created per task
 *             (umalloc_heap_create) with a policy; used by that task's
 *             thread only.
 *   block     a piece of the brk heap: [header | payload | footer].  The
 *             header and footer are the same 64-bit tag (size, in-use bit,
 *             the request's slack); a free block keeps its free-list links
 *             in its first payload words.
 *   chunk     a request served by its own vm_mmap (>= the mmap threshold
 *             and not satisfiable from free blocks); freed with vm_munmap.
 *   arena     one page of the task's memory (vm_mmap) holding the roots:
 *             policy, thresholds, brk bounds, rover, list heads (bins),
 *             the mmapped-chunk list.  glibc keeps its main_arena in
 *             libc's .data: also process memory, also copied by fork.
 *
 * What lives where.  Everything the allocator needs to allocate and free
 * lives in the task's emulated memory (arena + tags + links), so the
 * heap's pages fault, swap and are COW-shared like any others, and a
 * forked child re-attaches with umalloc_heap_attach(child, arena_va).  The
 * host holds only struct umalloc_heap: the task, cached bounds (derived
 * from the arena), host-window pointers in native mode, and statistics
 * (observations, not state; a re-attached heap rebuilds them by walking).
 *
 * Memory access (one accessor layer, user/umalloc_mem.c): native mode
 * loads and stores the words through the task's window (vm_ptr): real
 * accesses that fault; trace mode uses vm_read/vm_write, so each tag or
 * link touched is one counted access.
 *
 * Placement policies (docs/allocators.md has the measurements):
 *   first     address-ordered free list, first block that fits
 *   next      the same list, searched from a roving pointer (wraps)
 *   best      smallest block that fits; ties: lowest address
 *   worst     largest block; ties: lowest address
 *   seg       segregated free lists (128 bins).  Bins 0-5 hold 32..112
 *             bytes in steps of 16; from 128 bytes on, four bins per
 *             power of two (128 160 192 224 | 256 320 384 448 | ...);
 *             bin 127 is open-ended.  A bin holds the free blocks whose
 *             size lies in [its floor, the next floor).  Small requests
 *             (block <= 1 KiB) are rounded up to a bin floor, so any block
 *             of that bin or above fits: O(1) with a bitmap of non-empty
 *             bins; the rounding is the waste inside a class.  Larger
 *             requests: best fit within their bin, else the first block
 *             of the next non-empty bin.
 * All policies split a block when the remainder is at least the minimum
 * block, and coalesce a freed block with both neighbours at once.
 *
 * Block layout (addresses are emulated virtual addresses):
 *
 *   tag = slack << 48 | size | MMAPPED << 1 | ALLOC      (size % 16 == 0)
 *   block b:  b: tag   b+8: payload (16-aligned) ...   b+size-8: tag
 *   free:     b+8: next   b+16: prev   (circular lists through the bins)
 *   heap:     start: pad | prologue (16, in use) | blocks ... | epilogue
 *             (tag 0|ALLOC at top-8); top = brk, page aligned
 *   chunk c (page aligned): c: requested  c+8: next  c+16: prev
 *             c+24: tag (size = mapping length, MMAPPED|ALLOC); c+32: payload
 *
 * The brk/mmap rule is glibc's: a request >= the mmap threshold that no
 * free block satisfies is mmapped (else the heap grows by the shortfall
 * plus the top pad, rounded to pages).  Freeing a chunk longer than the
 * threshold (and <= 32 MiB) raises the threshold to its length and the
 * trim threshold to twice that, until umalloc_opt fixes either.  A free
 * that leaves a coalesced block >= 64 KiB trims the last block back to
 * top pad + minimum block when it is >= the trim threshold.
 *
 * Errors are a libc's: out of memory returns 0 (the reason is counted in
 * umalloc_stats); heap corruption found by a check (double free, invalid
 * pointer, header != footer, broken links) ends the task through
 * vm_abort(t, msg) with glibc's message, and never touches memory outside
 * the task.
 */
#ifndef VMEMU_USER_UMALLOC_H
#define VMEMU_USER_UMALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

struct umalloc_heap;

enum umalloc_policy {
	UMALLOC_FIRST_FIT = 0,
	UMALLOC_NEXT_FIT = 1,
	UMALLOC_BEST_FIT = 2,
	UMALLOC_WORST_FIT = 3,
	UMALLOC_SEGREGATED = 4,
	UMALLOC_NPOLICIES = 5,
};

/* Layout constants (bytes): the format of the heap in emulated memory. */
#define UMALLOC_ALIGN	    16ULL	 /* payload alignment (glibc's) */
#define UMALLOC_WORD	    8ULL	 /* a tag or a link */
#define UMALLOC_OVERHEAD    16ULL	 /* header + footer of a block */
#define UMALLOC_MIN_BLOCK   32ULL	 /* tag, next, prev, tag */
#define UMALLOC_MMAP_HDR    32ULL	 /* requested, next, prev, tag */
#define UMALLOC_SMALL_MAX   1024ULL	 /* seg: largest rounded block */
#define UMALLOC_MAX_REQUEST (1ULL << 46) /* larger requests fail */

/* Tag bits. */
#define UMALLOC_TAG_ALLOC	0x1ULL
#define UMALLOC_TAG_MMAPPED	0x2ULL
#define UMALLOC_TAG_SIZE_MASK	0x0000fffffffffff0ULL
#define UMALLOC_TAG_SLACK_SHIFT 48

/*
 * glibc's defaults (malloc.c, malloc-machine.h), 64-bit.  A free trims
 * only when its merged block is >= TRIM_MIN_CHUNK (glibc's
 * FASTBIN_CONSOLIDATION_THRESHOLD).
 */
#define UMALLOC_DEFAULT_MMAP_THRESHOLD (128ULL << 10)
#define UMALLOC_MMAP_THRESHOLD_MAX     (32ULL << 20)
#define UMALLOC_DEFAULT_TRIM_THRESHOLD (128ULL << 10)
#define UMALLOC_DEFAULT_TOP_PAD	       (128ULL << 10)
#define UMALLOC_TRIM_MIN_CHUNK	       (64ULL << 10)

/* The arena page: byte offsets of its words. */
enum umalloc_arena_word {
	UMALLOC_A_MAGIC = 0,
	UMALLOC_A_POLICY = 8,
	UMALLOC_A_HEAP_START = 16, /* first byte of the brk heap */
	UMALLOC_A_HEAP_TOP = 24,   /* brk end */
	UMALLOC_A_MMAP_THRESHOLD = 32,
	UMALLOC_A_TRIM_THRESHOLD = 40,
	UMALLOC_A_TOP_PAD = 48,
	UMALLOC_A_FLAGS = 56,	  /* UMALLOC_F_* */
	UMALLOC_A_LIMIT = 64,	  /* footprint limit, 0: none */
	UMALLOC_A_ROVER = 72,	  /* next fit: block to search from */
	UMALLOC_A_BINMAP = 80,	  /* 2 words: bit i = bin i not empty */
	UMALLOC_A_MMAP_LIST = 96, /* sentinel node: links at +8, +16 */
	UMALLOC_A_BINS = 112,	  /* bin i's sentinel node at +16 i */
	UMALLOC_A_BYTES = 2176,
};
#define UMALLOC_MAGIC	 0x554d414c4c4f4331ULL /* "UMALLOC1" */
#define UMALLOC_F_NO_DYN 0x1ULL /* thresholds fixed by umalloc_opt */
#define UMALLOC_NBINS	 128
#define UMALLOC_FIT_BIN	 0 /* first/next/best/worst: the one list */

/* umalloc_opt parameters (mallopt's numbers where glibc has them). */
enum umalloc_param {
	UMALLOC_TRIM_THRESHOLD = -1, /* M_TRIM_THRESHOLD */
	UMALLOC_TOP_PAD = -2,	     /* M_TOP_PAD */
	UMALLOC_MMAP_THRESHOLD = -3, /* M_MMAP_THRESHOLD, <= 32 MiB */
	UMALLOC_LIMIT = 1,	     /* ours: bound on the footprint (brk heap +
			      mmapped), like RLIMIT_DATA; 0 = none */
};

/* umalloc_check's findings: negative, and far from any errno. */
enum umalloc_check_err {
	UMALLOC_CHECK_ARENA = -2101,	/* bad magic/policy/bounds */
	UMALLOC_CHECK_BLOCK = -2102,	/* size too small/unaligned/past top */
	UMALLOC_CHECK_TAGS = -2103,	/* header != footer */
	UMALLOC_CHECK_COALESCE = -2104, /* two adjacent free blocks */
	UMALLOC_CHECK_TILING = -2105,	/* blocks do not end at epilogue */
	UMALLOC_CHECK_NODE = -2106,	/* list node not a free block */
	UMALLOC_CHECK_LINKS = -2107,	/* next->prev != node */
	UMALLOC_CHECK_ORDER = -2108,	/* fit list unsorted / wrong bin */
	UMALLOC_CHECK_LIST_SET = -2109, /* listed != free blocks */
	UMALLOC_CHECK_BINMAP = -2110,	/* bitmap != non-empty bins */
	UMALLOC_CHECK_ROVER = -2111,	/* rover not a free block */
	UMALLOC_CHECK_MMAP = -2112,	/* bad chunk on the mmap list */
	UMALLOC_CHECK_COUNTERS = -2113, /* walk != the heap's counters */
};

/* A free block smaller than this counts as a sliver. */
#define UMALLOC_SLIVER_BYTES 64ULL

struct umalloc_stats {
	/* Layout and knobs (from the arena). */
	uint64_t heap_start, heap_first, heap_top; /* first block's tag */
	uint64_t mmap_threshold, trim_threshold, top_pad, limit;
	bool dynamic_threshold;
	/* Live allocations (brk blocks + mmapped chunks). */
	uint64_t live_requested; /* bytes asked for */
	uint64_t live_granted;	 /* block/mapping bytes incl. tags, slack */
	uint64_t live_blocks;
	uint64_t peak_requested;
	uint64_t mmapped_bytes, mmapped_chunks;
	/* Free blocks of the brk heap (largest/slivers: walked). */
	uint64_t free_bytes, free_blocks, largest_free, sliver_blocks;
	uint64_t footprint, peak_footprint; /* brk heap + mmapped bytes */
	double internal_frag; /* 1 - live_requested / live_granted */
	double external_frag; /* 1 - largest_free / free_bytes */
	double utilisation;   /* peak_requested / peak_footprint */
	/* Operations. */
	uint64_t nmalloc, nfree, nrealloc, ncalloc;
	uint64_t nmmap, nmunmap, nbrk_grow, ntrim;
	uint64_t search_allocs; /* allocation searches */
	uint64_t search_visits; /* free-list nodes they visited */
	uint64_t search_max;	/* most visits by one search */
	/* Failures: calls that returned 0, and the refusals behind them. */
	uint64_t failures;
	uint64_t failures_fragmented; /* free_bytes >= block needed */
	uint64_t nomem_brk, nomem_mmap, nomem_limit, nomem_too_large;
};

/* "first", "next", "best", "worst", "seg"; NULL when out of range. */
const char *umalloc_policy_name(enum umalloc_policy p);
/* 0, or -EINVAL for an unknown name. */
int umalloc_policy_parse(const char *name, enum umalloc_policy *out);

/*
 * Create t's heap (t's thread): maps the arena page and starts the brk
 * heap at t's current brk.  One heap per task (it owns the brk).  0, or
 * -EINVAL (bad policy), -ENOMEM (host or emulated memory refused).
 */
int umalloc_heap_create(struct vm_task *t, enum umalloc_policy policy,
			struct umalloc_heap **out);
/*
 * Attach to the heap whose arena is at arena_va in t's memory (a forked
 * child's COW copy): the state is read from emulated memory, statistics
 * rebuilt by a walk (peaks and operation counts start afresh).  0,
 * -EINVAL (no heap there, or it fails umalloc_check), -ENOMEM.
 */
int umalloc_heap_attach(struct vm_task *t, uint64_t arena_va,
			struct umalloc_heap **out);
/* The arena's address: what a child needs to attach. */
uint64_t umalloc_heap_arena(const struct umalloc_heap *h);
/*
 * Free the host control struct only: touches no emulated memory, so any
 * thread may call it once the task no longer runs the heap (e.g. after
 * vm_wait, however the task ended).  NULL is ignored.
 */
void umalloc_heap_destroy(struct umalloc_heap *h);

/* The malloc family, on the heap's task thread.  0 is NULL. */
uint64_t umalloc(struct umalloc_heap *h, size_t nbytes);
void ufree(struct umalloc_heap *h, uint64_t va);
uint64_t urealloc(struct umalloc_heap *h, uint64_t va, size_t nbytes);
uint64_t ucalloc(struct umalloc_heap *h, size_t n, size_t size);
/* Usable bytes at va (>= the request); 0 for NULL or a freed block. */
size_t umalloc_usable_size(struct umalloc_heap *h, uint64_t va);

/*
 * mallopt: set a UMALLOC_* parameter.  Setting the mmap or trim threshold
 * or the top pad fixes both thresholds (no dynamic rise), as glibc does.
 * 0, or -EINVAL (unknown parameter, mmap threshold > 32 MiB).
 */
int umalloc_opt(struct umalloc_heap *h, int param, uint64_t value);

/*
 * The invariant walker: arena sane; every block within the heap, header
 * == footer, no two adjacent free blocks, blocks tile [first, epilogue);
 * the free list(s) are exactly the free blocks, linked both ways, in
 * address order (fit) or in their bins (seg); binmap exact; rover valid;
 * the mmap list sane; totals equal the counters.  0 or UMALLOC_CHECK_*.
 * Reads emulated memory (task thread).
 */
int umalloc_check(struct umalloc_heap *h);

/* Counters plus a walk of the free lists (task thread). */
void umalloc_stats(struct umalloc_heap *h, struct umalloc_stats *st);

/*
 * Leaks, as LeakSanitizer reports them at exit (user/umalloc_leaks.c):
 * every block and chunk still in use - count, bytes requested, bytes
 * granted - and the VM_LEAKS_TOP largest by bytes requested (ties: lower
 * address first).  The heap is checked first (umalloc_check): 0, or its
 * UMALLOC_CHECK_* code with *out zeroed.  Task thread.
 */
int umalloc_leaks(struct umalloc_heap *h, struct vm_leaks *out);
/*
 * What a task calls as it exits (the C library's atexit hook, as
 * LeakSanitizer's): umalloc_leaks, then the report into the event log
 * (vm_log_leaks).  0, a UMALLOC_CHECK_* code, or the log's error; *out
 * (may be NULL) gets the report.
 */
int umalloc_report_leaks(struct umalloc_heap *h, struct vm_leaks *out);

#endif /* VMEMU_USER_UMALLOC_H */
