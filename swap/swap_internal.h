/*
 * swap/swap_internal.h - the swap area's private structures, shared by its
 * files: swapfile.c (the file: create, destroy, header, probe, /proc/swaps),
 * swap_slots.c (clusters, counts, swap_check) and swap_io.c (page I/O).
 * Tests include it to corrupt state for swap_check, to swap the I/O
 * syscalls for misbehaving ones and to reach the file's descriptor.
 * Nothing else does; the contract is swapfile.h.
 */
#ifndef VMEMU_SWAP_INTERNAL_H
#define VMEMU_SWAP_INTERNAL_H

#include <stdatomic.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "swap/swapfile.h"

/*
 * swap_map value of a slot (16 bits, Linux's byte layout widened):
 *   bits 0..14  reference count 0..SWAP_COUNT_MAX, or SWAP_MAP_BAD
 *   bit  15     SWAP_HAS_CACHE
 * SWAP_MAP_BAD marks the header slot 0 and the slots past the end of the
 * file in the last cluster: never free, never handed out.
 */
#define SWAP_MAP_COUNT_MASK 0x7fffu
#define SWAP_MAP_BAD	    0x7fffu
#define SWAP_HAS_CACHE	    0x8000u

#define CLUSTER_NONE UINT32_MAX /* no cluster (list ends, empty lists) */
#define SLOT_NONE    UINT64_MAX /* no allocation cursor */

/* Which list a cluster is on: decided by its count (invariant 4). */
enum swap_clist_id {
	CL_FREE = 0,	/* count == 0 */
	CL_NONFULL = 1, /* 0 < count < SWAPFILE_CLUSTER */
	CL_FULL = 2,	/* count == SWAPFILE_CLUSTER */
	CL_NR_LISTS = 3,
};

/* One cluster: slots [i * SWAPFILE_CLUSTER, (i + 1) * SWAPFILE_CLUSTER). */
struct swap_cluster {
	uint32_t count;	     /* slots not free, bad ones included */
	uint32_t list;	     /* enum swap_clist_id */
	uint32_t prev, next; /* neighbours on that list, or CLUSTER_NONE */
};

struct swap_clist {
	uint32_t head, tail; /* CLUSTER_NONE when empty */
	uint64_t nr;	     /* clusters on the list */
};

/* Index of the I/O direction in xfer[], fail[] and the counters. */
enum { SWAP_IO_READ = 0, SWAP_IO_WRITE = 1 };

/* The transfer syscall (pwritev or preadv), replaceable by tests. */
typedef ssize_t (*swap_xfer_fn)(int fd, const struct iovec *iov, int iovcnt,
				off_t offset);

struct swap_area {
	int fd;
	uint64_t nr_pages;    /* pages in the file, header included */
	uint64_t nr_clusters; /* ceil(nr_pages / SWAPFILE_CLUSTER) */
	char *name;	      /* cfg->path, or the temp file's d_path name */
	bool unlink_on_close; /* created at cfg->path: destroy removes it */
	dev_t dev;	      /* identity of the file (destroy checks path) */
	ino_t ino;

	/* Slot allocator: the caller's lock. */
	uint16_t *map;		 /* nr_clusters * SWAPFILE_CLUSTER */
	uint64_t *priv;		 /* one word per slot */
	struct swap_cluster *cl; /* nr_clusters */
	struct swap_clist lists[CL_NR_LISTS];
	uint64_t nr_free; /* free usable slots */
	uint64_t next;	  /* slot to scan from in the current cluster */

	/* I/O: no lock. */
	swap_xfer_fn xfer[2]; /* [SWAP_IO_READ] preadv, [SWAP_IO_WRITE] pwritev */
	struct fault_attr fail[2];
	_Atomic uint64_t st_pages[2], st_calls[2], st_errors[2];
};

/* swap_slots.c: set up the maps and cluster lists (after allocation). */
void swap_slots_init(struct swap_area *a);
/* swap_io.c: the real syscalls, disabled fault points, zero counters. */
void swap_io_init(struct swap_area *a, uint64_t seed);

/* swapfile.c: one /proc/swaps line for the given (escaped) name. */
int swap_format_line(char *buf, size_t len, const char *name, uint64_t size_kb,
		     uint64_t used_kb, int prio);

/*
 * swapfile.c: open an unlinked temporary file in dir (0600, O_CLOEXEC):
 * O_TMPFILE when allowed and supported, else mkstemp + unlink.  The fd, or
 * -errno with a message.  *name gets a malloc'd name for it.
 */
int swap_tmpfile_open(const char *dir, bool allow_o_tmpfile, char **name,
		      char *err, size_t errlen);

#endif /* VMEMU_SWAP_INTERNAL_H */
