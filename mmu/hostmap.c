/*
 * mmu/hostmap.c - host mappings inside windows (see mmu/hostmap.h).
 *
 * Each operation is one host call (mmap or mprotect) on a range inside a
 * window; the window's base comes from mmu/trap.  Never munmap inside a
 * window: a hole there could be handed to an unrelated mmap of another
 * thread.
 *
 * SIGSAFE: everything but hostmap_ballast_drain (mmap, munmap, mprotect
 * and atomics only).
 */
#include "mmu/hostmap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

static struct {
	_Atomic(void *) ballast[HOSTMAP_BALLAST_VMAS];
	atomic_uint_fast64_t maps, protects, revokes;
} hm;

static void stat_inc(atomic_uint_fast64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ---- ballast (see hostmap.h) ---- */

/* SIGSAFE.  Fill the empty ballast slots; best effort. */
void hostmap_ballast_fill(void)
{
	for (unsigned i = 0; i < HOSTMAP_BALLAST_VMAS; i++) {
		void *expect = NULL;
		void *p;

		if (atomic_load(&hm.ballast[i]))
			continue;
		p = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			return;
		if (!atomic_compare_exchange_strong(&hm.ballast[i], &expect, p))
			munmap(p, PAGE_SIZE);
	}
}

/* SIGSAFE.  Give one map slot back to the host: false if none is left. */
static bool ballast_release_one(void)
{
	for (unsigned i = 0; i < HOSTMAP_BALLAST_VMAS; i++) {
		void *p = atomic_exchange(&hm.ballast[i], NULL);

		if (p) {
			munmap(p, PAGE_SIZE);
			return true;
		}
	}
	return false;
}

void hostmap_ballast_drain(void)
{
	while (ballast_release_one())
		;
}

/* ---- operations ---- */

/* SIGSAFE: 0 if [va, va + npages pages) lies inside w, else -EINVAL. */
static int range_check(const struct trap_window *w, vaddr_t va, size_t npages)
{
	uint64_t size = w ? trap_window_size(w) : 0;

	if (!w || !PAGE_ALIGNED(va) || npages == 0 || va >= size)
		return -EINVAL;
	if (npages > (size - va) >> PAGE_SHIFT)
		return -EINVAL;
	return 0;
}

/* SIGSAFE: PROT_* for a HOSTMAP_PROT_* value, or -1. */
static int host_prot(int prot)
{
	switch (prot) {
	case HOSTMAP_PROT_NONE:
		return PROT_NONE;
	case HOSTMAP_PROT_READ:
		return PROT_READ;
	case HOSTMAP_PROT_RW:
		return PROT_READ | PROT_WRITE;
	default:
		return -1;
	}
}

/* SIGSAFE */
static int host_protect(uint8_t *addr, size_t nbytes, int prot)
{
	return mprotect(addr, nbytes, prot) < 0 ? -errno : 0;
}

/* SIGSAFE: replace with a fresh reservation (prot is PROT_NONE). */
static int host_revoke(uint8_t *addr, size_t nbytes, int prot)
{
	void *p = mmap(addr, nbytes, prot,
		       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

/* SIGSAFE: op, retried on ENOMEM with one ballast slot less each time. */
static int host_op_rescued(int (*op)(uint8_t *, size_t, int), uint8_t *addr,
			   size_t nbytes, int prot)
{
	int err = op(addr, nbytes, prot);

	while (err == -ENOMEM && ballast_release_one())
		err = op(addr, nbytes, prot);
	if (err == 0)
		hostmap_ballast_fill();
	return err;
}

int hostmap_map(struct trap_window *w, vaddr_t va, int memfd, pfn_t pfn,
		size_t npages, int prot)
{
	int hprot = host_prot(prot & ~HOSTMAP_POPULATE);
	int flags = MAP_SHARED | MAP_FIXED;
	void *p;

	if (range_check(w, va, npages) || hprot < 0)
		return -EINVAL;
	if (pfn > ((uint64_t)INT64_MAX >> PAGE_SHIFT) - npages)
		return -EINVAL;
	if (prot & HOSTMAP_POPULATE)
		flags |= MAP_POPULATE;
	p = mmap(trap_window_addr(w, va), npages << PAGE_SHIFT, hprot, flags,
		 memfd, (off_t)(pfn << PAGE_SHIFT));
	if (p == MAP_FAILED)
		return -errno;
	stat_inc(&hm.maps);
	return 0;
}

int hostmap_protect(struct trap_window *w, vaddr_t va, size_t npages, int prot)
{
	int hprot = host_prot(prot);
	int err;

	if (range_check(w, va, npages) || hprot < 0)
		return -EINVAL;
	err = host_op_rescued(host_protect, trap_window_addr(w, va),
			      npages << PAGE_SHIFT, hprot);
	if (err == 0)
		stat_inc(&hm.protects);
	return err;
}

int hostmap_revoke(struct trap_window *w, vaddr_t va, size_t npages)
{
	int err = range_check(w, va, npages);

	if (err)
		return err;
	err = host_op_rescued(host_revoke, trap_window_addr(w, va),
			      npages << PAGE_SHIFT, PROT_NONE);
	if (err == 0)
		stat_inc(&hm.revokes);
	return err;
}

void hostmap_get_stats(struct hostmap_stats *st)
{
	st->maps = atomic_load(&hm.maps);
	st->protects = atomic_load(&hm.protects);
	st->revokes = atomic_load(&hm.revokes);
}
