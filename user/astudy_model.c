/*
 * user/astudy_model.c - the astudy_model_* entry points: one object for
 * the three page-granular models (buddy, bitmap, kmalloc), with the
 * accounting the study reads (live requested and granted bytes, pages
 * held, search visits, failures).
 *
 * Page-granular allocations (buddy; bitmap; kmalloc above 8 KiB) are
 * remembered by their first page: pages_at[pfn] pages, req_at[pfn] bytes
 * asked for.  Small kmalloc objects are remembered by their slab
 * (astudy_kmalloc.c).  Addresses are AM_BASE + pfn * page + offset.
 *
 *   request   buddy                 bitmap            kmalloc
 *   100 B     1 page                1 page            class 128
 *   10 KiB    4 pages (16 KiB)      3 pages (12 KiB)  4 pages (buddy)
 *
 * Invariants (astudy_model_check):
 *  1. Every page is exactly one of: in a free block (buddy), in a slab,
 *     in a page-granular allocation - or, for the bitmap, its bit says
 *     whether it is allocated.
 *  2. The live counters equal what a walk of the allocations finds.
 *
 * Locking: none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "user/astudy_internal.h"

struct astudy_model {
	enum astudy_alloc kind;
	uint64_t npages;
	struct am_buddy buddy; /* buddy, kmalloc */
	struct am_bitmap bm;   /* bitmap */
	struct am_kmalloc *km; /* kmalloc */
	uint64_t *pages_at, *req_at;
	struct astudy_model_stats st;
};

static bool am_uses_buddy(const struct astudy_model *m)
{
	return m->kind != ASTUDY_BITMAP;
}

static uint64_t am_free_pages(const struct astudy_model *m)
{
	return am_uses_buddy(m) ? m->buddy.free_pages : m->npages - m->bm.used;
}

static int am_init_kind(struct astudy_model *m)
{
	int err;

	if (!am_uses_buddy(m))
		return am_bitmap_init(&m->bm, m->npages);
	err = am_buddy_init(&m->buddy, m->npages);
	if (!err && m->kind == ASTUDY_KMALLOC)
		err = am_kmalloc_init(&m->km, &m->buddy);
	return err;
}

int astudy_model_create(enum astudy_alloc kind, uint64_t arena_bytes,
			struct astudy_model **out)
{
	struct astudy_model *m;

	if ((kind != ASTUDY_BUDDY && kind != ASTUDY_BITMAP &&
	     kind != ASTUDY_KMALLOC) ||
	    arena_bytes < VM_PAGE_SIZE ||
	    arena_bytes / VM_PAGE_SIZE > UINT32_MAX)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->kind = kind;
	m->npages = arena_bytes / VM_PAGE_SIZE;
	m->pages_at = calloc(m->npages, sizeof(uint64_t));
	m->req_at = calloc(m->npages, sizeof(uint64_t));
	if (!m->pages_at || !m->req_at || am_init_kind(m)) {
		astudy_model_destroy(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void astudy_model_destroy(struct astudy_model *m)
{
	if (!m)
		return;
	am_kmalloc_fini(m->km);
	am_buddy_fini(&m->buddy);
	am_bitmap_fini(&m->bm);
	free(m->pages_at);
	free(m->req_at);
	free(m);
}

/* ---- accounting ------------------------------------------------------------ */

static void am_note(struct astudy_model *m, int64_t blocks, int64_t req,
		    int64_t granted)
{
	struct astudy_snapshot *now = &m->st.now;

	now->live_blocks += (uint64_t)blocks;
	now->live_requested += (uint64_t)req;
	now->live_granted += (uint64_t)granted;
	now->footprint = (m->npages - am_free_pages(m)) * VM_PAGE_SIZE;
	if (now->live_requested > m->st.peak_requested)
		m->st.peak_requested = now->live_requested;
	if (now->footprint > m->st.peak_footprint)
		m->st.peak_footprint = now->footprint;
}

static void am_note_search(struct astudy_model *m, uint64_t visits)
{
	m->st.allocs++;
	m->st.search_visits += visits;
	if (visits > m->st.search_max)
		m->st.search_max = visits;
}

/* ---- allocation ------------------------------------------------------------ */

static uint64_t am_pages_for(uint64_t nbytes)
{
	uint64_t n = (nbytes + VM_PAGE_SIZE - 1) / VM_PAGE_SIZE;

	return n ? n : 1;
}

/* A page-granular allocation of nbytes: its first page or AM_NONE. */
static uint64_t am_alloc_pages(struct astudy_model *m, uint64_t nbytes,
			       uint64_t *visits, uint64_t *pages)
{
	uint64_t pfn;
	unsigned order;

	*pages = am_pages_for(nbytes);
	if (!am_uses_buddy(m))
		return am_bitmap_alloc(&m->bm, *pages, visits);
	order = am_order_of(*pages);
	*pages = 1ULL << order;
	if (order > m->buddy.max_order)
		return AM_NONE;
	pfn = am_buddy_alloc(&m->buddy, order, visits);
	return pfn;
}

/* Serve nbytes: the address, or 0 with *need the bytes it would take. */
static uint64_t am_alloc_any(struct astudy_model *m, uint64_t nbytes,
			     uint64_t *visits, uint64_t *granted,
			     uint64_t *need)
{
	uint64_t pages, pfn, a;

	if (m->kind == ASTUDY_KMALLOC && nbytes <= AM_KMALLOC_MAX) {
		a = am_kmalloc_alloc(m->km, nbytes, visits, &pages);
		*granted = am_kmalloc_class(nbytes);
		*need = a ? *granted : pages * VM_PAGE_SIZE;
		return a;
	}
	pfn = am_alloc_pages(m, nbytes, visits, &pages);
	*granted = *need = pages * VM_PAGE_SIZE;
	if (pfn == AM_NONE)
		return 0;
	m->pages_at[pfn] = pages;
	m->req_at[pfn] = nbytes;
	return AM_BASE + pfn * VM_PAGE_SIZE;
}

int astudy_model_alloc(struct astudy_model *m, uint64_t nbytes, uint64_t *addr)
{
	uint64_t visits = 0, granted, need, a;

	if (m->kind == ASTUDY_KMALLOC && !nbytes) {
		am_note_search(m, 0);
		*addr = ASTUDY_ZERO_SIZE_PTR; /* kmalloc(0) */
		return 0;
	}
	a = am_alloc_any(m, nbytes, &visits, &granted, &need);
	am_note_search(m, visits);
	if (!a) {
		m->st.failures++;
		if (am_free_pages(m) * VM_PAGE_SIZE >= need)
			m->st.failures_fragmented++;
		return -ENOMEM;
	}
	am_note(m, 1, (int64_t)nbytes, (int64_t)granted);
	*addr = a;
	return 0;
}

/* ---- free ------------------------------------------------------------------- */

static bool am_in_arena(const struct astudy_model *m, uint64_t addr)
{
	return addr >= AM_BASE && addr - AM_BASE < m->npages * VM_PAGE_SIZE;
}

static int am_free_pages_at(struct astudy_model *m, uint64_t addr)
{
	uint64_t pfn = (addr - AM_BASE) / VM_PAGE_SIZE;
	uint64_t pages = m->pages_at[pfn], req = m->req_at[pfn];

	if ((addr - AM_BASE) % VM_PAGE_SIZE || !pages)
		return -EINVAL;
	if (am_uses_buddy(m))
		am_buddy_free(&m->buddy, pfn, am_order_of(pages));
	else
		am_bitmap_free(&m->bm, pfn, pages);
	m->pages_at[pfn] = m->req_at[pfn] = 0;
	am_note(m, -1, -(int64_t)req, -(int64_t)(pages * VM_PAGE_SIZE));
	return 0;
}

int astudy_model_free(struct astudy_model *m, uint64_t addr)
{
	uint64_t req, cls, slab_pages;
	int err;

	if (m->kind == ASTUDY_KMALLOC && addr == ASTUDY_ZERO_SIZE_PTR)
		return 0;
	if (!am_in_arena(m, addr))
		return -EINVAL;
	if (m->kind != ASTUDY_KMALLOC ||
	    !am_kmalloc_owns(m->km, (addr - AM_BASE) / VM_PAGE_SIZE))
		return am_free_pages_at(m, addr);
	err = am_kmalloc_free(m->km, addr, &req, &cls, &slab_pages);
	if (!err)
		am_note(m, -1, -(int64_t)req, -(int64_t)cls);
	return err;
}

uint64_t astudy_model_granted(const struct astudy_model *m, uint64_t addr)
{
	uint64_t pfn;

	if (!am_in_arena(m, addr))
		return 0;
	pfn = (addr - AM_BASE) / VM_PAGE_SIZE;
	if (m->kind == ASTUDY_KMALLOC && am_kmalloc_owns(m->km, pfn))
		return am_kmalloc_granted(m->km, addr);
	if ((addr - AM_BASE) % VM_PAGE_SIZE)
		return 0;
	return m->pages_at[pfn] * VM_PAGE_SIZE;
}

/* ---- statistics and the walker ------------------------------------------------- */

void astudy_model_stats(const struct astudy_model *m,
			struct astudy_model_stats *st)
{
	uint64_t runs, longest;

	*st = m->st;
	st->now.free_bytes = am_free_pages(m) * VM_PAGE_SIZE;
	st->now.sliver_blocks = 0; /* page granular: no slivers */
	if (am_uses_buddy(m)) {
		st->now.free_blocks = am_buddy_blocks(&m->buddy);
		st->now.largest_free =
			am_buddy_largest(&m->buddy) * VM_PAGE_SIZE;
		return;
	}
	am_bitmap_runs(&m->bm, &runs, &longest);
	st->now.free_blocks = runs;
	st->now.largest_free = longest * VM_PAGE_SIZE;
}

/* Page-granular allocations: disjoint, accounted; sums into req/granted. */
static int am_check_pages(const struct astudy_model *m, uint8_t *seen,
			  uint64_t *req, uint64_t *granted, uint64_t *blocks)
{
	uint64_t used = 0;

	for (uint64_t pfn = 0; pfn < m->npages; pfn++) {
		uint64_t n = m->pages_at[pfn];

		if (!n)
			continue;
		if (pfn + n > m->npages)
			return -EUCLEAN;
		for (uint64_t p = pfn; p < pfn + n; p++) {
			if (seen[p] ||
			    (!am_uses_buddy(m) && !am_bitmap_test(&m->bm, p)))
				return -EUCLEAN;
			seen[p] = 1;
		}
		used += n;
		*req += m->req_at[pfn];
		*granted += n * VM_PAGE_SIZE;
		++*blocks;
	}
	return !am_uses_buddy(m) && used != m->bm.used ? -EUCLEAN : 0;
}

static int am_check_all(const struct astudy_model *m, uint8_t *seen)
{
	uint64_t req = 0, granted = 0, blocks = 0;
	int err = 0;

	if (am_uses_buddy(m))
		err = am_buddy_check(&m->buddy, seen);
	if (!err && m->km)
		err = am_kmalloc_check(m->km, seen, &req, &granted, &blocks);
	if (!err)
		err = am_check_pages(m, seen, &req, &granted, &blocks);
	for (uint64_t p = 0; !err && am_uses_buddy(m) && p < m->npages; p++)
		err = seen[p] ? 0 : -EUCLEAN; /* a page lost */
	if (!err && (req != m->st.now.live_requested ||
		     granted != m->st.now.live_granted ||
		     blocks != m->st.now.live_blocks))
		err = -EUCLEAN;
	return err;
}

int astudy_model_check(const struct astudy_model *m)
{
	uint8_t *seen = calloc(m->npages, 1);
	int err;

	if (!seen)
		return -ENOMEM;
	err = am_check_all(m, seen);
	free(seen);
	return err;
}
