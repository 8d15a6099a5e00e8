/*
 * swap/swap_io.c - page I/O of a swap area: a batch of (slot, buffer)
 * pairs becomes one pwritev/preadv per run of consecutive slots.
 *
 *   slots  [ 7  8  9 | 20 | 21 22 ]      res  [ 0  0  0 | -EIO | 0  0 ]
 *            run 1     ^     run 2
 *                      fault injected: no I/O, run 1 ends before it
 *
 * A run is the longest stretch of the batch, in index order, whose slots
 * go up by one, capped at SWAP_IO_MAX_PAGES and cut before any page that
 * fault injection fails (one should_fail() per page, before its run goes
 * out).  Slots are not sorted: the caller orders a batch as it wants it
 * written (the cluster allocator hands out ascending slots).
 *
 * A run's transfer loops until every byte is through: EINTR is retried, a
 * short transfer continues from where it stopped.  A call that fails (or
 * makes no progress: -EIO) ends the run; the pages fully transferred
 * before it succeed, the others get its error.  So res[i] == 0 means that
 * page's PAGE_SIZE bytes are all in the file (or in dst).
 *
 * Invariants:
 *  1. Every page of a batch gets exactly one result, in index order, and
 *     is counted once in st_pages (0) or st_errors (anything else).
 *  2. No byte outside the slots named is written: the header slot 0 and
 *     slots past the end are refused by BUG_ON before any I/O.
 *  3. An injected failure touches neither the file nor the buffer.
 *
 * Locking: none.  The descriptor, nr_pages and xfer are fixed after
 * swap_area_create; the counters and the fault attributes are atomics;
 * pwritev/preadv at distinct offsets need no lock.  SIGSAFE: everything
 * here (the iovec array is on the stack: 4 KiB).
 */
#include "swap/swap_internal.h"

#include <errno.h>
#include <limits.h>

_Static_assert(SWAP_IO_MAX_PAGES <= IOV_MAX, "a run exceeds IOV_MAX");

/* Mixed into cfg->seed so the two points draw different sequences. */
#define SEED_SALT_READ	0x72656164ULL /* "read" */
#define SEED_SALT_WRITE 0x77726974ULL /* "writ" */

/* One call of swap_write_pages or swap_read_pages. */
struct io_batch {
	struct swap_area *a;
	int dir; /* SWAP_IO_READ or SWAP_IO_WRITE */
	const uint64_t *slots;
	const void *const *src; /* SWAP_IO_WRITE */
	void *const *dst;	/* SWAP_IO_READ */
	int *res;		/* may be NULL */
	int first_err;
};

static void *page_buf(const struct io_batch *b, unsigned i)
{
	/* pwritev's iovec is not const: the bytes are only read. */
	return b->dir == SWAP_IO_WRITE ? (void *)(uintptr_t)b->src[i] :
					 b->dst[i];
}

static void check_slot(const struct swap_area *a, uint64_t slot)
{
	BUG_ON(slot == 0 || slot >= a->nr_pages);
}

/* Record page i's result (invariant 1). */
static void page_done(struct io_batch *b, unsigned i, int err)
{
	if (b->res)
		b->res[i] = err;
	if (err && !b->first_err)
		b->first_err = err;
	atomic_fetch_add_explicit(err ? &b->a->st_errors[b->dir] :
					&b->a->st_pages[b->dir],
				  1, memory_order_relaxed);
}

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

/*
 * Transfer iov[0..n) at offset off until done or failed; returns the bytes
 * transferred and *err (0, the failing call's -errno, or -EIO).
 */
static size_t xfer_all(struct io_batch *b, struct iovec *iov, unsigned n,
		       off_t off, int *err)
{
	struct swap_area *a = b->a;
	size_t total = (size_t)n * PAGE_SIZE, done = 0;
	unsigned idx = 0;

	*err = 0;
	while (done < total) {
		ssize_t r = a->xfer[b->dir](a->fd, iov + idx, (int)(n - idx),
					    off + (off_t)done);

		atomic_fetch_add_explicit(&a->st_calls[b->dir], 1,
					  memory_order_relaxed);
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

/* One run: pages [i, i + n) of the batch, slots consecutive. */
static void do_run(struct io_batch *b, unsigned i, unsigned n)
{
	struct iovec iov[SWAP_IO_MAX_PAGES];
	size_t done, full;
	int err;

	for (unsigned k = 0; k < n; k++)
		iov[k] = (struct iovec){ page_buf(b, i + k), PAGE_SIZE };
	done = xfer_all(b, iov, n, (off_t)(b->slots[i] * PAGE_SIZE), &err);
	full = done / PAGE_SIZE;
	for (unsigned k = 0; k < n; k++)
		page_done(b, i + k, k < full ? 0 : err);
}

/*
 * The length of the run starting at page i (not injected).  Stops before a
 * page fault injection fails, setting *injected: that page is next.
 */
static unsigned run_length(struct io_batch *b, unsigned i, unsigned n,
			   bool *injected)
{
	struct fault_attr *fp = &b->a->fail[b->dir];
	unsigned len = 1;

	while (i + len < n && len < SWAP_IO_MAX_PAGES &&
	       b->slots[i + len] == b->slots[i + len - 1] + 1) {
		if (should_fail(fp, PAGE_SIZE)) {
			*injected = true;
			break;
		}
		len++;
	}
	return len;
}

static int do_batch(struct io_batch *b, unsigned n)
{
	struct fault_attr *fp = &b->a->fail[b->dir];
	bool injected = false;
	unsigned i = 0, len;

	for (unsigned k = 0; k < n; k++)
		check_slot(b->a, b->slots[k]); /* invariant 2, before any I/O */
	while (i < n) {
		if (injected || should_fail(fp, PAGE_SIZE)) {
			injected = false;
			page_done(b, i++, -EIO);
			continue;
		}
		len = run_length(b, i, n, &injected);
		do_run(b, i, len);
		i += len;
	}
	return b->first_err;
}

int swap_write_pages(struct swap_area *a, const uint64_t *slots,
		     const void *const *src, unsigned n, int *res)
{
	struct io_batch b = { .a = a,
			      .dir = SWAP_IO_WRITE,
			      .slots = slots,
			      .src = src,
			      .res = res };

	return do_batch(&b, n);
}

int swap_read_pages(struct swap_area *a, const uint64_t *slots,
		    void *const *dst, unsigned n, int *res)
{
	struct io_batch b = { .a = a,
			      .dir = SWAP_IO_READ,
			      .slots = slots,
			      .dst = dst,
			      .res = res };

	return do_batch(&b, n);
}

void swap_io_init(struct swap_area *a, uint64_t seed)
{
	a->xfer[SWAP_IO_READ] = preadv;
	a->xfer[SWAP_IO_WRITE] = pwritev;
	fault_attr_init(&a->fail[SWAP_IO_READ], seed ^ SEED_SALT_READ);
	fault_attr_init(&a->fail[SWAP_IO_WRITE], seed ^ SEED_SALT_WRITE);
	for (int d = SWAP_IO_READ; d <= SWAP_IO_WRITE; d++) {
		atomic_init(&a->st_pages[d], 0);
		atomic_init(&a->st_calls[d], 0);
		atomic_init(&a->st_errors[d], 0);
	}
}

struct fault_attr *swap_fault_point(struct swap_area *a, bool write)
{
	return &a->fail[write ? SWAP_IO_WRITE : SWAP_IO_READ];
}

void swap_get_stats(const struct swap_area *a, struct swap_stats *st)
{
	st->writes = atomic_load(&a->st_pages[SWAP_IO_WRITE]);
	st->reads = atomic_load(&a->st_pages[SWAP_IO_READ]);
	st->write_calls = atomic_load(&a->st_calls[SWAP_IO_WRITE]);
	st->read_calls = atomic_load(&a->st_calls[SWAP_IO_READ]);
	st->write_errors = atomic_load(&a->st_errors[SWAP_IO_WRITE]);
	st->read_errors = atomic_load(&a->st_errors[SWAP_IO_READ]);
}
