/*
 * vm/filemap.h - the page cache: file pages shared by every task and
 * mapping of a file, read with the machine lock dropped, written back
 * when dirty (docs/filepages.md).
 *
 * Glossary
 *   struct filemap  one cached object, Linux's address_space: a host file
 *                   (FILEMAP_FILE, found by device and inode, so every
 *                   descriptor of one file shares it) or a shmem object
 *                   (FILEMAP_SHMEM, vm/shmem.h: one per MAP_SHARED |
 *                   MAP_ANON mapping, shared by fork).  Each has an id
 *                   (1 .. 2^32 - 1) that its pages carry in page->private.
 *   tree            the object's index (vm/pgtree.h): page offset ->
 *                     (pfn << 2) | FM_PAGE     a resident page
 *                     (slot << 2) | FM_SWAP    shmem: its page is in swap
 *                     (shadow << 2) | FM_SHADOW file: evicted, with its
 *                                              workingset stamp
 *   pgoff           a page offset in the object (bytes >> PAGE_SHIFT).
 *
 *   VMA (file, pgoff) --fault--> tree[pgoff] --FM_PAGE--> struct page
 *                                   |  none/shadow: read (lock dropped)
 *                                   |  FM_SWAP: swap-in (swap/swap.h)
 *
 * A page cache page: PG_file, private = id, index = pgoff, one reference
 * held by the tree plus one per PTE (and transient ones); rmap items for
 * its mappings.  File pages go on the file LRU lists, shmem pages
 * (PG_swapbacked) on the anonymous ones (they go to swap).  A file page
 * becomes PG_dirty when a PTE of a MAP_SHARED mapping first grants a
 * write (the write fault, as Linux's page_mkwrite / folio_mark_dirty);
 * write-back cleans it and every PTE that maps it (mkclean: D cleared,
 * host mapping read-only), so the next write faults and dirties it again:
 * each dirtying (nr_dirtied) is written once (nr_written).  MAP_PRIVATE
 * mappings map page cache pages read-only and copy them on write (the
 * copy is anonymous): they never dirty the file.
 *
 * Invariants (filemap_check):
 *  1. A frame has PG_file iff it is the FM_PAGE entry of its object's
 *     tree at page->index, and the object's id is page->private.
 *  2. _refcount >= _mapcount + 1 for such a page; a page being read
 *     (PG_locked) is mapped nowhere and on no LRU list.
 *  3. nrpages of each object, and the machine's nr_file_pages, nr_shmem,
 *     nr_dirty (PG_dirty file pages, shmem excluded), nr_writeback and
 *     nr_mapped (page cache pages with a PTE), equal counts over frames.
 *  4. A PTE of a MAP_SHARED file mapping with D set maps a PG_dirty page
 *     (or one being written back) - checked by mm_check.
 *
 * I/O: reads (with readahead) and writes use preadv/pwritev on the host
 * file with the machine lock dropped, as swap I/O does.  A page being
 * read is PG_locked in the tree: a fault on it waits (futex).  Write-back
 * sets PG_writeback; a failed write leaves the page dirty, records -EIO
 * in the object (reported by the next vm_msync) and counts
 * file_write_error.  Failure injection: "fail_file_read",
 * "fail_file_write" (one should_fail per page).
 *
 * Locking: the machine lock guards the table, the objects and their
 * trees, and the page fields; it is dropped only around I/O and waits.
 * SIGSAFE: everything marked so (the fault and reclaim paths); object
 * creation, write-back from system calls and teardown are not.
 */
#ifndef VMEMU_FILEMAP_H
#define VMEMU_FILEMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/machine.h"
#include "vm/pgtree.h"

struct mm;
struct vma;

#define FM_PAGE	    1ULL
#define FM_SWAP	    2ULL
#define FM_SHADOW   3ULL
#define FM_TAG_MASK 3ULL
#define FM_SHIFT    2

static inline uint64_t fm_tag(uint64_t e)
{
	return e & FM_TAG_MASK;
}
static inline uint64_t fm_val(uint64_t e)
{
	return e >> FM_SHIFT;
}
static inline uint64_t fm_entry(uint64_t val, uint64_t tag)
{
	return (val << FM_SHIFT) | tag;
}

enum filemap_kind { FILEMAP_FILE = 1, FILEMAP_SHMEM = 2 };

/* Readahead state (Linux's struct file_ra_state), one per object. */
struct file_ra {
	uint64_t start;	     /* first page of the current window */
	unsigned size;	     /* its pages */
	unsigned async_size; /* pages left when the marker is hit */
	unsigned mmap_miss;  /* misses minus hits: no read-around > 100 */
};

struct filemap {
	uint32_t id;
	enum filemap_kind kind;
	struct pgtree tree;
	uint64_t nrpages;  /* resident pages in the tree */
	uint64_t size;	   /* bytes (i_size; shmem: the mapping's length) */
	unsigned nr_vmas;  /* VMAs referring to it */
	unsigned nr_busy;  /* system calls using it with the lock dropped */
	int fd;		   /* file: a readable descriptor of its own */
	int fd_rw;	   /* file: one opened read-write, or -1 */
	uint64_t dev, ino; /* file: its identity */
	int wb_err;	   /* first write-back error not yet reported */
	struct file_ra ra;
	struct filemap *next_dead; /* shmem: released, not yet freed */
};

/* The machine's page cache (vm->pcache). */
struct pagecache {
	struct filemap **maps; /* by id; [0] unused */
	uint32_t nr_maps;      /* slots in maps */
	struct slab_cache *node_cache;
	uint64_t nr_file_pages, nr_shmem, nr_dirty, nr_writeback, nr_mapped;
	unsigned ra_pages;	 /* read_ahead_kb / 4 */
	_Atomic uint32_t io_seq; /* bumped (futex) when I/O completes */
	struct filemap *dead;	 /* shmem objects waiting to be freed */
	struct fault_attr fail_read, fail_write;
};

#define MMAP_LOTSAMISS	  100 /* Linux: no read-around past this */
#define FILE_FAULT_AROUND 16  /* fault_around_bytes / PAGE_SIZE */
#define FILEMAP_IO_BATCH  32  /* pages per write-back round */

/* ---- the machine's table -------------------------------------------- */

/* vm_create: the page cache (0 or -ENOMEM). */
int filemap_setup(struct vm *vm);
/*
 * vm_destroy, every task gone and kswapd stopped: write back what is
 * still dirty, then free every object (pages, swap entries, descriptors).
 */
void filemap_teardown(struct vm *vm);

/* Lock held.  The page cache's gauges into st (nr_file_pages, ...). */
void filemap_stat(struct vm *vm, struct vm_stat *st);
/* SIGSAFE, lock held.  The object of a PG_file page. */
struct filemap *filemap_of(struct vm *vm, const struct page *pg);

/*
 * Lock held.  The object of host descriptor fd for a mapping with prot
 * and flags (created, or found by device and inode; its descriptors
 * gain a read-write one if fd brings it): 0 and *out, or -EBADF (not
 * open), -EACCES (write-only; or MAP_SHARED with PROT_WRITE without
 * O_RDWR), -ENODEV (not a regular file), -ENOMEM.
 */
int filemap_get_file(struct vm *vm, int fd, int prot, int flags,
		     struct filemap **out);
/* Lock held.  A new, empty shmem object (vm/shmem.h); NULL: no memory. */
struct filemap *filemap_new_shmem(struct vm *vm);
/* Lock held.  A VMA starts / stops referring to fm. */
void filemap_get(struct filemap *fm);
void filemap_put(struct vm *vm, struct filemap *fm);
/*
 * Lock held, not SIGSAFE.  Free the shmem objects whose last VMA went
 * (called after their PTEs were dropped: munmap, exit).
 */
void filemap_release_dead(struct vm *vm);

/* ---- membership (SIGSAFE, lock held) ----------------------------------- */

/* The resident page at pgoff (perhaps PG_locked: being read), or NULL. */
struct page *filemap_find(struct vm *vm, struct filemap *fm, uint64_t pgoff);
/*
 * Make pg (a fresh frame, refcount 0) fm's page at pgoff: the tree's
 * reference taken.  0, or -ENOMEM (no tree node: nothing changed).
 * *old gets the entry it replaced (a shadow, or 0).
 */
int filemap_add(struct vm *vm, struct filemap *fm, struct page *pg,
		uint64_t pgoff, uint64_t *old);
/*
 * pg leaves its object's tree, which keeps `entry` at its offset instead
 * (a shadow, a swap entry or 0).  PG_file and PG_dirty are cleared; the
 * tree's reference passes to the caller, who puts it.
 */
void filemap_delete(struct vm *vm, struct page *pg, uint64_t entry);
/*
 * A write was granted to pg through a shared mapping (or its PTE's D bit
 * reached it): a file page becomes PG_dirty (nr_dirty, nr_dirtied).
 */
void filemap_dirty(struct vm *vm, struct page *pg);
/* One more PTE maps pg (refcount, mapcount, nr_mapped; rmap by caller). */
void filemap_mapped(struct vm *vm, struct page *pg);
/* The page offset of va in v (a file or shmem VMA). */
uint64_t filemap_pgoff(const struct vma *v, vaddr_t va);
/*
 * Replace the PTE of (mm, va) mapping pg (revoked on the host first by
 * the caller) with none: rmap, counts, rss; its D bit makes pg dirty.
 */
void filemap_unmap_one(struct vm *vm, struct page *pg, struct mm *mm,
		       vaddr_t va);

/*
 * Every entry of fm leaves its tree: pages are put (a reclaimer holding
 * one frees it later), swap slots released, shadows dropped.
 */
void filemap_drop_all(struct vm *vm, struct filemap *fm);

/* ---- reading (SIGSAFE, lock held, dropped for the read) --------------- */

enum filemap_read_result {
	FREAD_CACHED, /* the page is in the cache now: fault again */
	FREAD_NOMEM,  /* no frame or tree node: reclaim, then again */
	FREAD_WAIT,   /* another thread reads it: wait (*waitp), again */
	FREAD_EIO,    /* the read failed: the faulting task's SIGBUS */
	FREAD_EOF,    /* the page lies beyond the end of the file: SIGBUS */
};

/*
 * Bring fm's page at pgoff into the cache for a fault of mm (by self,
 * whose stall PSI counts) - with Linux's mmap read-around, or, when async
 * (the readahead marker was hit), the next readahead window only.
 * *nread = pages read.  On FREAD_WAIT, *waitp holds a reference the
 * caller drops through filemap_wait_page.
 */
enum filemap_read_result filemap_read(struct vm *vm, struct mm *mm,
				      struct vm_task *self, struct filemap *fm,
				      uint64_t pgoff, bool async,
				      unsigned *nread, struct page **waitp);
/* Wait a moment for reads in flight (lock dropped), then put pg. */
void filemap_wait_page(struct vm *vm, struct page *pg);
/* Wait a moment for any I/O of the page cache to complete. */
void filemap_wait_io(struct vm *vm);
/* Some I/O completed: wake whoever waits in filemap_wait_io. */
void filemap_io_done(struct vm *vm);
/* A fault found pg cached: count a hit (mmap_miss goes down). */
void filemap_hit(struct filemap *fm);

/* ---- writing back ------------------------------------------------------- */

/*
 * SIGSAFE, lock NOT held.  Write the dirty file pages pg[0..n) (each
 * PG_writeback, with a reference, fm[i] its object's descriptors taken
 * under the lock) at their offsets: one pwritev per run of consecutive
 * offsets of one file.  res[i] = 0 or -errno (-EIO injected).
 */
struct filemap_io {
	int fd;
	uint64_t off; /* bytes */
	unsigned len; /* bytes: PAGE_SIZE, less at the end of the file */
	void *src;    /* the frame, through the direct map */
	uint32_t id;  /* the object */
};
void filemap_write_io(struct vm *vm, const struct filemap_io *io, unsigned n,
		      int *res);
/*
 * SIGSAFE, lock held.  Prepare the write-back of dirty page pg (clean,
 * no writer): every PTE mapping it is cleaned (mkclean), PG_dirty moves
 * to PG_writeback; io describes the write.  false if it cannot be written
 * now (no read-write descriptor, or beyond the end of the file: then it
 * is simply cleaned).
 */
bool filemap_writeback_start(struct vm *vm, struct page *pg,
			     struct filemap_io *io);
/*
 * SIGSAFE, lock held.  The write of pg ended with err: PG_writeback goes;
 * on an error the page is dirty again and the object records -EIO.
 * why: 0 reclaim, 1 msync/munmap/exit (the nr_written event's argument).
 */
void filemap_writeback_end(struct vm *vm, struct page *pg, int err, int why);
/*
 * Lock held (dropped around the I/O), not SIGSAFE.  Write back the dirty
 * pages of fm in [first, last]: after it, each page that was dirty when
 * it was reached has been written once (or failed).  0 or -EIO.
 */
int filemap_writeback(struct vm *vm, struct filemap *fm, uint64_t first,
		      uint64_t last);
/*
 * Lock held (dropped around I/O).  msync(MS_SYNC) of [start, end) of mm:
 * every shared file mapping in it written back.  0, -EIO (a write failed
 * now, or - with report - since the last report, which this one is),
 * -ENOMEM (a hole in the range).  munmap and exit do not report: the
 * error stays for the next vm_msync.
 */
int filemap_sync_range(struct mm *mm, vaddr_t start, vaddr_t end, bool report);

/*
 * Lock held (dropped around I/O).  munmap of [va, va + len) of mm: the
 * dirty pages of its shared file mappings are written back first (errors
 * stay recorded for msync).  Nothing for a range munmap would refuse.
 */
void filemap_unmap_sync(struct mm *mm, uint64_t va, uint64_t len);

/* ---- truncation --------------------------------------------------------- */

/*
 * Lock held (dropped while it waits for I/O in flight).  fm's file is now
 * size bytes long: pages wholly beyond it are unmapped everywhere and
 * dropped (their data discarded), a partial last page is zeroed past the
 * end.  A later access beyond the end is the accessor's SIGBUS.
 */
void filemap_truncate(struct vm *vm, struct filemap *fm, uint64_t size);

/* ---- checks ------------------------------------------------------------- */

enum filemap_check_err {
	FILEMAP_CHECK_TREE = -1701,    /* pgtree_check of an object */
	FILEMAP_CHECK_ENTRY = -1702,   /* 1: a tree page that disagrees */
	FILEMAP_CHECK_STRAY = -1703,   /* 1: a PG_file frame not in its tree */
	FILEMAP_CHECK_REFS = -1704,    /* 2: refcount below mapcount + 1 */
	FILEMAP_CHECK_LOCKED = -1705,  /* 2: a page being read is in use */
	FILEMAP_CHECK_NRPAGES = -1706, /* 3: an object's nrpages */
	FILEMAP_CHECK_COUNTS = -1707,  /* 3: the machine's counts */
};

/* Lock held.  Invariants 1-3 over every object and frame; O(frames). */
int filemap_check(struct vm *vm);

#endif /* VMEMU_FILEMAP_H */
