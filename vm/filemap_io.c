/*
 * vm/filemap_io.c - reading file pages in and writing them back, with the
 * machine lock dropped around the I/O (see filemap.h).
 *
 * A read (a fault's, filemap_read), the lock held on entry:
 *
 *   page cached and locked? --> FREAD_WAIT (its reader finishes; again)
 *        | no
 *   the window: Linux's mmap read-around (ra_pages around the fault,
 *   the marker ra_pages / 4 before its end) or, when the marker was hit,
 *   the next window (get_next_ra_size); clipped to the file's end
 *        |
 *   a frame per missing page, each in the tree PG_locked (its shadow kept
 *   aside); unlock; fstat (the file's size now); one preadv per run of
 *   consecutive pages, the tail of the last page zeroed; lock
 *        |
 *   each page unlocked (futex wake) onto the LRU (workingset decides the
 *   list), or, when its read failed or it lies beyond the end, out of the
 *   tree again (its shadow back); the faulting page's failure is the
 *   fault's SIGBUS
 *
 * Write-back (filemap_writeback, and reclaim/evict.c through
 * filemap_writeback_start/_end): a dirty page's PTEs are cleaned first
 * (mkclean: D cleared, host mapping read-only, so a store during the
 * write faults and dirties the page again), PG_dirty becomes
 * PG_writeback, and the page goes out with one pwritev per run of
 * consecutive offsets of one file, never past the end of the file.
 *
 * Simplifications (docs/filepages.md): one readahead state per object
 * (Linux keeps one per open file); reads are synchronous - an async
 * readahead is read by the fault that hit the marker, which stays a minor
 * fault; no flusher threads: dirty pages are written by reclaim, msync,
 * munmap and exit.
 *
 * Locking: the machine lock, dropped around I/O and waits.  SIGSAFE:
 * everything reachable from a fault or reclaim (on-stack arrays only).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "reclaim/reclaim.h"
#include "vm/filemap.h"
#include "vm/hosttlb.h"
#include "vm/mm.h"
#include "vm/page_alloc.h"
#include "vm/rmap.h"
#include "vm/vma.h"
#include "vm/vmstat.h"

#define FILE_RA_MAX   256	/* pages: read_ahead_kb <= 1024 (vm.c) */
#define IO_MAX_RUN    64	/* pages per preadv/pwritev */
#define WAIT_SLICE_NS 10000000L /* re-check every 10 ms */
#define KB_PER_PAGE   (PAGE_SIZE >> 10)

_Static_assert(IO_MAX_RUN <= IOV_MAX, "a run exceeds IOV_MAX");

static inline struct pagecache *pc(struct vm *vm)
{
	return vm->pcache;
}

/* ---- raw I/O, lock not held --------------------------------------- */

/* Skip r transferred bytes of iov[idx..]; the index of the first left. */
static unsigned iov_advance(struct iovec *iov, unsigned idx, size_t r)
{
	while (r && r >= iov[idx].iov_len) {
		r -= iov[idx].iov_len;
		idx++;
	}
	if (r) {
		iov[idx].iov_base = (char *)iov[idx].iov_base + r;
		iov[idx].iov_len -= r;
	}
	return idx;
}

/* io[0..n): one file, consecutive.  Bytes moved; *err if short. */
static size_t xfer_run(const struct filemap_io *io, unsigned n, bool write,
		       int *err)
{
	struct iovec iov[IO_MAX_RUN];
	size_t total = 0, done = 0;
	unsigned idx = 0;

	for (unsigned k = 0; k < n; k++) {
		iov[k] = (struct iovec){ io[k].src, io[k].len };
		total += io[k].len;
	}
	*err = 0;
	while (done < total) {
		off_t off = (off_t)(io[0].off + done);
		ssize_t r = write ? pwritev(io[0].fd, iov + idx, (int)(n - idx),
					    off) :
				    preadv(io[0].fd, iov + idx, (int)(n - idx),
					   off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*err = r < 0 && errno ? -errno : -EIO;
			break;
		}
		done += (size_t)r;
		idx = iov_advance(iov, idx, (size_t)r);
	}
	return done;
}

/* Pages of the run at io[i]: same file, consecutive, not injected. */
static unsigned run_length(const struct filemap_io *io, unsigned i, unsigned n,
			   struct fault_attr *inject, bool *injected)
{
	unsigned k = 0;

	*injected = false;
	while (i + k < n && k < IO_MAX_RUN) {
		const struct filemap_io *a = &io[i + k - (k ? 1 : 0)];
		const struct filemap_io *b = &io[i + k];

		if (k && (b->fd != a->fd || b->off != a->off + PAGE_SIZE ||
			  a->len != PAGE_SIZE))
			break;
		if (should_fail(inject, PAGE_SIZE)) {
			*injected = true;
			break;
		}
		k++;
	}
	return k;
}

/* Transfer io[0..n) in runs; res[i] = 0 or -errno for each page. */
static SIGSAFE void io_all(const struct filemap_io *io, unsigned n, bool write,
			   struct fault_attr *inject, int *res)
{
	unsigned i = 0;

	while (i < n) {
		bool injected;
		unsigned k = run_length(io, i, n, inject, &injected);
		size_t done, sum = 0;
		int err = 0;

		if (k) {
			done = xfer_run(io + i, k, write, &err);
			for (unsigned j = 0; j < k; j++) {
				sum += io[i + j].len;
				res[i + j] = done >= sum ? 0 : err ? err : -EIO;
			}
		}
		i += k;
		if (injected)
			res[i++] = -EIO;
	}
}

SIGSAFE void filemap_write_io(struct vm *vm, const struct filemap_io *io,
			      unsigned n, int *res)
{
	io_all(io, n, true, &pc(vm)->fail_write, res);
}

/* I/O completed: wake every fault or system call waiting for some. */
SIGSAFE void filemap_io_done(struct vm *vm)
{
	atomic_fetch_add(&pc(vm)->io_seq, 1);
	syscall(SYS_futex, &pc(vm)->io_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}

SIGSAFE void filemap_wait_io(struct vm *vm)
{
	struct timespec slice = { 0, WAIT_SLICE_NS };
	uint32_t seen = atomic_load(&pc(vm)->io_seq);

	vm_unlock(vm);
	syscall(SYS_futex, &pc(vm)->io_seq, FUTEX_WAIT_PRIVATE, seen, &slice,
		NULL, 0);
	vm_lock(vm);
}

SIGSAFE void filemap_wait_page(struct vm *vm, struct page *pg)
{
	if (pg->flags & (PG_locked | PG_writeback))
		filemap_wait_io(vm);
	page_put(vm, pg);
}

/* ---- reading ----------------------------------------------------------- */

/* Linux's get_next_ra_size. */
static unsigned next_ra_size(unsigned cur, unsigned max)
{
	if (cur < max / 16)
		return 4 * cur;
	if (cur <= max / 2)
		return 2 * cur;
	return max;
}

SIGSAFE void filemap_hit(struct filemap *fm)
{
	if (fm->ra.mmap_miss)
		fm->ra.mmap_miss--;
}

/*
 * The window for a fault at pgoff: Linux's do_sync_mmap_readahead
 * (read-around, or one page once misses outnumber hits by
 * MMAP_LOTSAMISS), or, async, page_cache_async_ra on a marker hit.
 * false: nothing to read (an async hit past the window).
 */
static bool ra_window(struct vm *vm, struct filemap *fm, uint64_t pgoff,
		      bool async)
{
	struct file_ra *ra = &fm->ra;
	unsigned max = MIN(pc(vm)->ra_pages, (unsigned)FILE_RA_MAX);

	if (async) {
		if (pgoff != ra->start + ra->size - ra->async_size) {
			ra->start = pgoff + 1; /* a stray marker: restart */
			ra->size = 1;
		} else {
			ra->start += ra->size;
		}
		ra->size = next_ra_size(ra->size, max);
		ra->async_size = ra->size;
		return max > 1;
	}
	if (ra->mmap_miss < MMAP_LOTSAMISS * 10)
		ra->mmap_miss++;
	if (max <= 1 || ra->mmap_miss > MMAP_LOTSAMISS) {
		ra->start = pgoff;
		ra->size = 1;
		ra->async_size = 0;
		return true;
	}
	ra->start = pgoff > max / 2 ? pgoff - max / 2 : 0;
	ra->size = max;
	ra->async_size = max / 4;
	return true;
}

struct read_batch {
	unsigned n;
	bool has_fault; /* entry 0 is the faulting page */
	uint64_t mark;	/* pgoff that gets PG_readahead */
	struct page *pg[FILE_RA_MAX + 1];
	uint64_t shadow[FILE_RA_MAX + 1];
	struct filemap_io io[FILE_RA_MAX + 1];
	int res[FILE_RA_MAX + 1];
};

/* A locked frame for pgoff in fm's tree; false if none could be had. */
static bool batch_add(struct vm *vm, struct filemap *fm, uint64_t pgoff,
		      gfp_t gfp, struct read_batch *b)
{
	struct page *pg;
	pfn_t pfn;

	if (vm_page_alloc(vm, gfp, &pfn) < 0)
		return false;
	pg = phys_page(&vm->phys, pfn);
	if (filemap_add(vm, fm, pg, pgoff, &b->shadow[b->n]) < 0) {
		vm_page_free(vm, pfn);
		return false;
	}
	pg->flags |= PG_locked;
	pg->_mapcount = 0;
	b->pg[b->n] = pg;
	b->io[b->n] = (struct filemap_io){ fm->fd, pgoff << PAGE_SHIFT,
					   PAGE_SIZE, phys_addr(&vm->phys, pfn),
					   fm->id };
	b->n++;
	return true;
}

/* The faulting page (if missing) and the window's missing pages. */
static enum filemap_read_result collect(struct vm *vm, struct filemap *fm,
					uint64_t pgoff, bool async,
					struct read_batch *b)
{
	uint64_t end_index, last;

	b->n = 0;
	b->has_fault = !async;
	if (!async && !batch_add(vm, fm, pgoff, GFP_USER, b))
		return FREAD_NOMEM;
	if (!ra_window(vm, fm, pgoff, async))
		return FREAD_CACHED;
	b->mark = fm->ra.async_size ?
			  fm->ra.start + fm->ra.size - fm->ra.async_size :
			  UINT64_MAX;
	end_index = fm->size ? (fm->size - 1) >> PAGE_SHIFT : 0;
	last = MIN(fm->ra.start + fm->ra.size - 1, end_index);
	for (uint64_t i = fm->ra.start; fm->size && i <= last; i++) {
		if (i == pgoff || fm_tag(pgtree_get(&fm->tree, i)) == FM_PAGE)
			continue;
		if (!batch_add(vm, fm, i, GFP_USER | __GFP_NORETRY, b))
			break;
	}
	return FREAD_CACHED;
}

/* The read itself, lock NOT held: sizes from fstat, tails zeroed. */
static SIGSAFE void read_pages(struct vm *vm, struct read_batch *b,
			       uint64_t *size)
{
	struct stat st;

	if (b->n == 0)
		return;
	if (fstat(b->io[0].fd, &st) < 0) {
		for (unsigned i = 0; i < b->n; i++)
			b->res[i] = -EIO;
		return;
	}
	*size = (uint64_t)st.st_size;
	for (unsigned i = 0; i < b->n; i++) {
		b->res[i] = 0;
		if (b->io[i].off >= *size)
			b->res[i] = -ENXIO; /* beyond the end */
		else if (*size - b->io[i].off < PAGE_SIZE)
			b->io[i].len = (unsigned)(*size - b->io[i].off);
	}
	for (unsigned i = 0, k; i < b->n; i += k) {
		for (k = 0; i + k < b->n && !b->res[i + k]; k++)
			;
		if (k)
			io_all(b->io + i, k, false, &pc(vm)->fail_read,
			       b->res + i);
		else
			k = 1;
	}
	for (unsigned i = 0; i < b->n; i++)
		if (!b->res[i] && b->io[i].len < PAGE_SIZE)
			memset((char *)b->io[i].src + b->io[i].len, 0,
			       PAGE_SIZE - b->io[i].len);
}

/* After the read: each page unlocked, onto the LRU or out again. */
static enum filemap_read_result finish(struct vm *vm, struct mm *mm,
				       struct read_batch *b)
{
	enum filemap_read_result r = FREAD_CACHED;

	for (unsigned i = 0; i < b->n; i++) {
		struct page *pg = b->pg[i];

		pg->flags &= ~(uint32_t)PG_locked;
		if (b->res[i]) {
			if (b->res[i] != -ENXIO)
				vm_event(vm, VME_FILE_READ_ERROR, mm, pg->index,
					 phys_pfn(&vm->phys, pg), 0, b->res[i]);
			if (i == 0 && b->has_fault)
				r = b->res[i] == -ENXIO ? FREAD_EOF : FREAD_EIO;
			filemap_delete(vm, pg, b->shadow[i]);
			page_put(vm, pg);
			continue;
		}
		vm_count(vm, VME_PGPGIN, KB_PER_PAGE);
		if (i || !b->has_fault)
			vm_count(vm, VME_FILE_RA, 1);
		if (pg->index == b->mark)
			pg->flags |= PG_readahead;
		/* A refault is the faulting task's, readahead or not. */
		reclaim_page_swapin(vm, pg,
				    fm_tag(b->shadow[i]) == FM_SHADOW ?
					    fm_val(b->shadow[i]) :
					    0,
				    mm);
	}
	return r;
}

/*
 * A fault beyond the size the object knows: ask the file (it may have
 * grown, or shrunk behind the machine's back).  FREAD_CACHED to fault
 * again, or FREAD_EOF.
 */
static enum filemap_read_result refresh_size(struct vm *vm, struct filemap *fm,
					     uint64_t pgoff)
{
	struct stat st;
	int err;

	fm->nr_busy++;
	vm_unlock(vm);
	err = fstat(fm->fd, &st);
	vm_lock(vm);
	fm->nr_busy--;
	if (err < 0)
		return FREAD_EIO;
	fm->size = (uint64_t)st.st_size;
	return pgoff < (fm->size + PAGE_SIZE - 1) >> PAGE_SHIFT ? FREAD_CACHED :
								  FREAD_EOF;
}

SIGSAFE enum filemap_read_result
filemap_read(struct vm *vm, struct mm *mm, struct vm_task *self,
	     struct filemap *fm, uint64_t pgoff, bool async, unsigned *nread,
	     struct page **waitp)
{
	struct page *pg = filemap_find(vm, fm, pgoff);
	struct read_batch b;
	enum filemap_read_result r;
	uint64_t size = fm->size;

	*nread = 0;
	if (!async && pgoff >= (fm->size + PAGE_SIZE - 1) >> PAGE_SHIFT)
		return refresh_size(vm, fm, pgoff);
	if (pg && (pg->flags & PG_locked)) {
		pg->_refcount++;
		*waitp = pg;
		return FREAD_WAIT;
	}
	if (pg && !async)
		return FREAD_CACHED;
	r = collect(vm, fm, pgoff, async, &b);
	if (r != FREAD_CACHED || !b.n)
		return r;
	fm->nr_busy++;
	reclaim_memstall(vm, self, true);
	vm_unlock(vm);
	if (vm->io_hook)
		vm->io_hook(vm->io_hook_arg, false);
	read_pages(vm, &b, &size);
	vm_lock(vm);
	reclaim_memstall(vm, self, false);
	fm->nr_busy--;
	fm->size = size;
	*nread = b.n;
	r = finish(vm, mm, &b);
	filemap_io_done(vm);
	return r;
}

/* ---- writing back ------------------------------------------------------ */

/* Clear D in the PTE of (mm, va) if set (and so its host write right). */
static SIGSAFE void mkclean_visit(void *arg, struct mm *mm, vaddr_t va)
{
	pte_t *ptep = pt_walk(&mm->pt, va);

	(void)arg;
	if (ptep && pte_present(*ptep) && (*ptep & PTE_DIRTY))
		mm_clean(mm, va, va + PAGE_SIZE);
}

SIGSAFE bool filemap_writeback_start(struct vm *vm, struct page *pg,
				     struct filemap_io *io)
{
	struct filemap *fm = filemap_of(vm, pg);
	uint64_t off = pg->index << PAGE_SHIFT;

	BUG_ON(!(pg->flags & PG_dirty) || (pg->flags & PG_writeback));
	rmap_walk(pg, mkclean_visit, NULL);
	pg->flags &= ~(uint32_t)PG_dirty;
	pc(vm)->nr_dirty--;
	if (fm->fd_rw < 0 || off >= fm->size)
		return false; /* past the end: nothing to keep */
	pg->flags |= PG_writeback;
	pc(vm)->nr_writeback++;
	*io = (struct filemap_io){
		fm->fd_rw, off, (unsigned)MIN(PAGE_SIZE, fm->size - off),
		phys_addr(&vm->phys, phys_pfn(&vm->phys, pg)), fm->id
	};
	return true;
}

SIGSAFE void filemap_writeback_end(struct vm *vm, struct page *pg, int err,
				   int why)
{
	pfn_t pfn = phys_pfn(&vm->phys, pg);

	BUG_ON(!(pg->flags & PG_writeback) || !(pg->flags & PG_file));
	pg->flags &= ~(uint32_t)PG_writeback;
	pc(vm)->nr_writeback--;
	if (!err) {
		vm_event(vm, VME_NR_WRITTEN, NULL, pg->index, pfn, 0, why);
		vm_count(vm, VME_PGPGOUT, KB_PER_PAGE);
		return;
	}
	if (!(pg->flags & PG_dirty)) { /* nothing lost: dirty again */
		pg->flags |= PG_dirty;
		pc(vm)->nr_dirty++;
	}
	filemap_of(vm, pg)->wb_err = -EIO;
	vm_event(vm, VME_FILE_WRITE_ERROR, NULL, pg->index, pfn, 0, err);
}

struct wb_batch {
	unsigned n;
	bool wait; /* a page in range is being written by someone else */
	struct page *pg[FILEMAP_IO_BATCH];
	struct filemap_io io[FILEMAP_IO_BATCH];
	int res[FILEMAP_IO_BATCH];
};

/* Start the write-back of the dirty pages of [*idx, last]; *idx moves. */
static void wb_collect(struct vm *vm, struct filemap *fm, uint64_t *idx,
		       uint64_t last, struct wb_batch *b)
{
	uint64_t e;

	b->n = 0;
	b->wait = false;
	while (b->n < FILEMAP_IO_BATCH && pgtree_next(&fm->tree, idx, &e) &&
	       *idx <= last) {
		struct page *pg = phys_page(&vm->phys, fm_val(e));

		if (fm_tag(e) == FM_PAGE && (pg->flags & PG_writeback)) {
			b->wait = true; /* its write may fail: look again */
			return;
		}
		if (fm_tag(e) == FM_PAGE && (pg->flags & PG_dirty) &&
		    filemap_writeback_start(vm, pg, &b->io[b->n])) {
			pg->_refcount++;
			b->pg[b->n++] = pg;
		}
		if (++*idx == 0)
			return;
	}
}

int filemap_writeback(struct vm *vm, struct filemap *fm, uint64_t first,
		      uint64_t last)
{
	uint64_t idx = first;
	struct wb_batch b;
	int ret = 0;

	fm->nr_busy++;
	do {
		wb_collect(vm, fm, &idx, last, &b);
		if (b.n) {
			vm_unlock(vm);
			if (vm->io_hook)
				vm->io_hook(vm->io_hook_arg, true);
			filemap_write_io(vm, b.io, b.n, b.res);
			vm_lock(vm);
			for (unsigned i = 0; i < b.n; i++) {
				filemap_writeback_end(vm, b.pg[i], b.res[i], 1);
				ret = ret ? ret : b.res[i] ? -EIO : 0;
				page_put(vm, b.pg[i]);
			}
			filemap_io_done(vm);
		}
		if (b.wait)
			filemap_wait_io(vm);
	} while ((b.n || b.wait) && idx && idx <= last);
	fm->nr_busy--;
	return ret;
}

/*
 * Write back one shared file mapping's part [s, e) of v; with report, a
 * write error recorded since the last report is reported (and forgotten).
 */
static int sync_vma(struct mm *mm, struct vma *v, vaddr_t s, vaddr_t e,
		    bool report)
{
	struct filemap *fm = v->file;
	uint64_t first = filemap_pgoff(v, s), last = filemap_pgoff(v, e - 1);
	int err;

	mm_clean(mm, s, e); /* D bits: their pages are PG_dirty already */
	err = filemap_writeback(mm->vm, fm, first, last);
	if (report && fm->wb_err) { /* reported once, as Linux's errseq */
		err = fm->wb_err;
		fm->wb_err = 0;
	}
	return err;
}

int filemap_sync_range(struct mm *mm, vaddr_t start, vaddr_t end, bool report)
{
	vaddr_t at = start;
	int ret = 0, err;

	while (at < end) {
		struct vma *v = vma_next_above(mm, at);
		vaddr_t s, e;

		if (!v || v->start >= end)
			break;
		if (v->start > at && !ret)
			ret = -ENOMEM; /* a hole: synced all the same */
		s = MAX(at, v->start);
		e = MIN(end, v->end);
		if (v->file && v->file->kind == FILEMAP_FILE &&
		    (v->flags & VMA_SHARED)) {
			err = sync_vma(mm, v, s, e, report); /* v may go */
			ret = ret ? ret : err;
		}
		at = e;
	}
	return at < end && !ret ? -ENOMEM : ret;
}

/* ---- truncation -------------------------------------------------------- */

/* Unmap pg from every address space (host mappings first). */
static void unmap_everywhere(struct vm *vm, struct page *pg)
{
	struct mm *mm;
	vaddr_t va;

	while (rmap_first(pg, &mm, &va)) {
		hosttlb_shootdown(mm, va, va + PAGE_SIZE);
		filemap_unmap_one(vm, pg, mm, va);
	}
}

/* Drop fm's entries from first on; false if it had to wait for I/O. */
static bool drop_from(struct vm *vm, struct filemap *fm, uint64_t first)
{
	uint64_t idx = first, e;

	for (; pgtree_next(&fm->tree, &idx, &e); idx++) {
		struct page *pg;

		if (fm_tag(e) != FM_PAGE) {
			pgtree_clear(&fm->tree, idx);
			continue;
		}
		pg = phys_page(&vm->phys, fm_val(e));
		if (pg->flags & (PG_locked | PG_writeback)) {
			filemap_wait_io(vm);
			return false;
		}
		unmap_everywhere(vm, pg);
		filemap_delete(vm, pg, 0); /* its data is gone with the file */
		page_put(vm, pg);
		if (idx == UINT64_MAX)
			break;
	}
	return true;
}

void filemap_truncate(struct vm *vm, struct filemap *fm, uint64_t size)
{
	uint64_t first = PAGE_ROUND_UP(size) >> PAGE_SHIFT;
	unsigned part = (unsigned)(size & (PAGE_SIZE - 1));
	struct page *pg;

	fm->nr_busy++;
	fm->size = size;
	while (!drop_from(vm, fm, first))
		fm->size = size; /* again, from the start */
	pg = part ? filemap_find(vm, fm, size >> PAGE_SHIFT) : NULL;
	if (pg && !(pg->flags & PG_locked))
		memset((char *)phys_addr(&vm->phys, phys_pfn(&vm->phys, pg)) +
			       part,
		       0, PAGE_SIZE - part);
	fm->nr_busy--;
}
