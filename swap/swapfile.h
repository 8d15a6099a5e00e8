/*
 * swap/swapfile.h - a swap area: a file of page-sized slots, a slot
 * allocator with reference counts, and page I/O.  The lowest layer of swap:
 * it knows slots and bytes, not struct page, address spaces or the machine.
 * The swap cache, swap-out/in, readahead and reclaim sit on top of it.
 *
 * The file.  Page 0 is a header (SWAP_MAGIC at its end, like mkswap's
 * "SWAPSPACE2"; version, page size and last page at SWAP_HDR_OFFSET); slot
 * s is the page at byte s * PAGE_SIZE, so slot 0 is never handed out and
 * the usable slots are 1 .. swap_nr_slots().  A file at cfg->path is
 * created 0600 with O_EXCL|O_NOFOLLOW (an existing file or symlink is
 * refused, never overwritten) and removed again by swap_area_destroy; with
 * no path the file is an unlinked temporary one.  The whole file is
 * preallocated at creation, so a full disk is reported there, not mid-run.
 * Its contents mean nothing once the area is destroyed.
 *
 * Slots.  Each slot has a reference count (one per PTE that holds its swap
 * entry, up to SWAP_COUNT_MAX) and a cache bit (Linux's SWAP_HAS_CACHE: a
 * page of the swap cache holds the slot).  A slot is free when its count
 * is 0 and it has no cache.  The protocol is Linux's:
 *
 *   swap_alloc          free -> cache only (count 0): the swap cache owns it
 *   swap_dup            count + 1 (a PTE now holds the entry)
 *   swap_put            count - 1 (that PTE is gone)
 *   swap_cache_add      set the cache bit of a slot in use (swap-in)
 *   swap_cache_del      clear it (the page left the swap cache)
 *
 * and the slot becomes free again when the last of them goes.  Each slot
 * also carries one private word for the layer above (its swap-cache page
 * or a workingset shadow), reset to 0 when the slot is freed.  Allocation
 * fills one current cluster of SWAPFILE_CLUSTER slots in ascending order
 * before it takes another (a whole free cluster first, then one with
 * holes), so consecutive allocations are consecutive in the file.
 *
 * Locking.  The slot allocator, counts, cache bits and private words are
 * guarded by the caller's lock (the machine lock): every call from
 * swap_alloc to swap_check needs it held (or exclusive use of the area).
 * The I/O calls need no lock at all and may run concurrently from several
 * threads, on distinct slots (the same slot in two concurrent transfers is
 * the caller's bug: the swap cache prevents it).  swap_area_create and
 * swap_area_destroy must not race with anything on the area.
 *
 * Signal safety.  Everything between swap_nr_slots and swap_check, the I/O
 * calls, swap_fault_point and swap_get_stats are SIGSAFE: no host memory
 * is allocated after swap_area_create.  Create, destroy, swap_probe and
 * swap_info are not.
 *
 * Errors: 0 or a negative errno; a message a user must read goes to
 * err/errlen (one line, no newline; err may be NULL).  A slot outside
 * 1..swap_nr_slots(), or a count/cache operation the state forbids (put of
 * a count of 0, cache_del without the cache bit, anything on a free slot
 * except alloc) is a caller bug: BUG_ON.
 */
#ifndef VMEMU_SWAPFILE_H
#define VMEMU_SWAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/fault_inject.h"
#include "base/types.h"

/* ---- the file format --------------------------------------------------- */

#define SWAP_MAGIC	  "VMEMUSWAP1" /* the last bytes of page 0 */
#define SWAP_MAGIC_LEN	  10
#define SWAP_MAGIC_OFFSET (PAGE_SIZE - SWAP_MAGIC_LEN)
#define SWAP_HDR_OFFSET	  1024 /* header fields, after mkswap's boot bits */
#define SWAP_VERSION	  1
/*
 * Header fields, little-endian, at SWAP_HDR_OFFSET:
 *   +0  u32 version    SWAP_VERSION
 *   +4  u32 page_size  PAGE_SIZE
 *   +8  u64 last_page  index of the last page of the area (= swap_nr_slots)
 * Every other byte of page 0 is zero.
 */
#define SWAP_HDR_VERSION_OFF   0
#define SWAP_HDR_PAGE_SIZE_OFF 4
#define SWAP_HDR_LAST_PAGE_OFF 8

/* ---- limits ------------------------------------------------------------ */

#define SWAPFILE_CLUSTER 256		 /* slots per cluster, as Linux */
#define SWAP_COUNT_MAX	 32766		 /* references a slot can hold */
#define SWAP_MIN_BYTES	 (2 * PAGE_SIZE) /* the header and one slot */
/* Largest area: 2^32 pages (16 TiB); host maps take 10 bytes per slot. */
#define SWAP_MAX_BYTES ((1ULL << 32) * PAGE_SIZE)
/* swap_info(): Linux's priority of the first area swapped on without one. */
#define SWAP_PRIO_DEFAULT (-2)
/* Pages of a run sent in one pwritev/preadv (<= IOV_MAX; 4 KiB of stack). */
#define SWAP_IO_MAX_PAGES 256

/* Names of the fault-injection points (Linux-style). */
#define SWAP_FAULT_WRITE "fail_swap_write"
#define SWAP_FAULT_READ	 "fail_swap_read"

struct swap_area;

struct swap_config {
	uint64_t nbytes;    /* file size: a multiple of PAGE_SIZE in
			       [SWAP_MIN_BYTES, SWAP_MAX_BYTES];
			       swap_nr_slots = pages - 1 */
	const char *path;   /* create this file; NULL: unlinked temp file */
	const char *tmpdir; /* temp file's directory (path == NULL); NULL:
			       $TMPDIR, or /tmp */
	uint64_t seed;	    /* seeds the fault-injection draws */
};

/*
 * Create the file (see above), preallocate nbytes, write the header and
 * allocate the slot maps.  Returns 0 and *out, or:
 *   -EINVAL  bad size, empty path, NULL cfg/out;
 *   -EEXIST  cfg->path exists (file, directory, or symlink, even dangling);
 *   -ENOMEM  no host memory for the maps;
 *   -errno   the file could not be created, preallocated (ENOSPC, EFBIG,
 *            EDQUOT, ...) or written;
 * with a one-line message naming the file (and the size, for
 * preallocation).  On failure nothing is left behind: a file it created is
 * removed, every descriptor it opened is closed, memory is freed.
 */
int swap_area_create(const struct swap_config *cfg, struct swap_area **out,
		     char *err, size_t errlen);

/*
 * Close the file and free the maps; a file created at cfg->path is
 * removed (only if the path still names that very file).  NULL is a no-op.
 */
void swap_area_destroy(struct swap_area *a);

/* SIGSAFE.  Usable slots (1 .. swap_nr_slots(a)); free ones among them. */
uint64_t swap_nr_slots(const struct swap_area *a);
uint64_t swap_nr_free(const struct swap_area *a);

/*
 * SIGSAFE.  Take a free slot: *slot, in state "cache only" (count 0, cache
 * bit set, private 0).  -ENOSPC when every slot is in use.
 */
int swap_alloc(struct swap_area *a, uint64_t *slot);
/*
 * SIGSAFE.  One more reference to a slot in use.  -ENOENT if the slot is
 * free (a stale entry), -EOVERFLOW if it already holds SWAP_COUNT_MAX.
 */
int swap_dup(struct swap_area *a, uint64_t slot);
/*
 * SIGSAFE.  Drop one reference (count must be > 0); returns the count
 * left.  At count 0 without the cache bit the slot is free again.
 */
unsigned swap_put(struct swap_area *a, uint64_t slot);
/*
 * SIGSAFE.  Set the cache bit of a slot in use (count > 0): 0, -EEXIST if
 * it is already set (another thread is bringing the page in), -ENOENT if
 * the slot is free.
 */
int swap_cache_add(struct swap_area *a, uint64_t slot);
/* SIGSAFE.  Clear the cache bit (must be set); frees the slot at count 0. */
void swap_cache_del(struct swap_area *a, uint64_t slot);
/* SIGSAFE.  The cache bit; the reference count (without the cache bit). */
bool swap_has_cache(const struct swap_area *a, uint64_t slot);
unsigned swap_count(const struct swap_area *a, uint64_t slot);
/*
 * SIGSAFE.  The slot's private word (0 while free and after swap_alloc).
 * Setting it needs the slot in use.
 */
uint64_t swap_private(const struct swap_area *a, uint64_t slot);
void swap_set_private(struct swap_area *a, uint64_t slot, uint64_t v);

/*
 * SIGSAFE, no lock needed.  Write n pages (PAGE_SIZE bytes each) from
 * src[i] to slots[i], or read them into dst[i].  Consecutive slot numbers
 * at consecutive indices form a run that goes out in one pwritev/preadv
 * (at most SWAP_IO_MAX_PAGES pages); EINTR is retried and a short transfer
 * continued.  res[i] (res may be NULL) gets 0 or, for a page not fully
 * transferred, the error that stopped its run: the call's errno (-ENOSPC
 * from the file system stays -ENOSPC), or -EIO when the call made no
 * progress.  A page failed by fault injection gets -EIO and its slot in
 * the file (for a read: its dst buffer) is left untouched; the other pages
 * of the batch go on.  Returns 0 when every page succeeded, else the error
 * of the first failed page.  Never claims success for a page not fully
 * written or read.
 */
int swap_write_pages(struct swap_area *a, const uint64_t *slots,
		     const void *const *src, unsigned n, int *res);
int swap_read_pages(struct swap_area *a, const uint64_t *slots,
		    void *const *dst, unsigned n, int *res);

/*
 * SIGSAFE.  The fault-injection point of writes (SWAP_FAULT_WRITE) or reads
 * (SWAP_FAULT_READ): configure it with fault_attr_set().  One should_fail()
 * per page, of size PAGE_SIZE.  Disabled at creation; draws seeded from
 * cfg->seed.
 */
struct fault_attr *swap_fault_point(struct swap_area *a, bool write);

/* Counters of the I/O calls (atomic; read with swap_get_stats). */
struct swap_stats {
	uint64_t writes;       /* pages written successfully */
	uint64_t reads;	       /* pages read successfully */
	uint64_t write_calls;  /* pwritev calls made */
	uint64_t read_calls;   /* preadv calls made */
	uint64_t write_errors; /* pages whose write failed (injected too) */
	uint64_t read_errors;  /* pages whose read failed (injected too) */
};
/* SIGSAFE. */
void swap_get_stats(const struct swap_area *a, struct swap_stats *st);

/*
 * The text of /proc/swaps, in Linux's exact format: the header line, then
 * the area's line (none if a is NULL): its file name as the kernel shows
 * it (escaped, "\040(deleted)" for an unlinked file), padded to 40
 * columns, "file", Size and Used in KiB, priority SWAP_PRIO_DEFAULT.
 * Like snprintf: writes at most len bytes including the NUL and returns
 * the length of the whole text.
 */
int swap_info(const struct swap_area *a, char *buf, size_t len);

/* What swap_probe() read from a header. */
struct swap_header_info {
	uint32_t version;
	uint32_t page_size;
	uint64_t last_page; /* = usable slots */
};
/*
 * Check that the file at path is a vmemu swap area: SWAP_MAGIC, version
 * SWAP_VERSION, page size PAGE_SIZE, a last page inside the file.  Returns
 * 0 and *info (may be NULL), -EINVAL for a file that is not one (with a
 * message saying why), or -errno if it cannot be read.
 */
int swap_probe(const char *path, struct swap_header_info *info, char *err,
	       size_t errlen);

/* swap_check() results: the first broken invariant (see swap_slots.c). */
enum swap_check_err {
	SWAP_CHECK_MAP = -1401,	    /* 1: a slot's map value is invalid */
	SWAP_CHECK_PRIVATE = -1402, /* 2: a free slot has a private word */
	SWAP_CHECK_COUNT = -1403,   /* 3: cluster count != slots in use */
	SWAP_CHECK_LIST = -1404,    /* 4: a cluster on the wrong list */
	SWAP_CHECK_LINKS = -1405,   /* 5: cluster list links broken */
	SWAP_CHECK_NR_FREE = -1406, /* 6: nr_free != free slots */
	SWAP_CHECK_NEXT = -1407,    /* 7: the allocation cursor is off */
};
/*
 * SIGSAFE (reads only).  Walk the allocator's invariants: 0, or an enum
 * swap_check_err (-1401 .. -1407: out of the errno range, like
 * pt_check, buddy_check, slab_check and mm_check).
 */
int swap_check(const struct swap_area *a);

#endif /* VMEMU_SWAPFILE_H */
