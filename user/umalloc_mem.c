/*
 * user/umalloc_mem.c - the accessor layer's slow paths: how the allocator
 * reaches the task's memory.
 *
 * The fast path (umalloc_internal.h, um_load/um_store) serves native mode
 * inside the brk heap and the arena page: one host load or store through
 * the task's window at a pointer computed from a cached vm_ptr base (the
 * window is one contiguous reservation, DESIGN.md section 2).  Everything
 * else comes here:
 *   - native, outside those ranges (mmapped chunks, or an address read
 *     from corrupted metadata): vm_ptr per access, which refuses an
 *     address beyond the task's span, so a wild link can at worst fault
 *     inside the task's own window (its emulated SIGSEGV), never touch
 *     host memory outside it;
 *   - trace mode: vm_read/vm_write, each word one counted access.
 *
 * Invariants:
 *  1. No host pointer is formed for a range vm_ptr did not vouch for at
 *     both ends.
 *  2. A refused access ends the task (vm_abort): the allocator never
 *     continues on a word it could not read.
 *
 * Locking: none (the heap's task thread only).
 */
#include "user/umalloc_internal.h"

#define UM_BOUNCE_BYTES 512 /* trace mode: bytes per vm_read/vm_write */

_Noreturn void um_corrupt(struct umalloc_heap *h, const char *msg)
{
	vm_abort(h->t, msg);
}

/* Native: a host pointer for [va, va + n), n >= 1, or the task ends. */
static uint8_t *um_window(struct umalloc_heap *h, uint64_t va, uint64_t n)
{
	uint8_t *p = vm_ptr(h->t, va);

	if (!p || va + n - 1 < va || !vm_ptr(h->t, va + n - 1))
		um_corrupt(h, "umalloc: address outside the task");
	return p;
}

uint64_t um_load_slow(struct umalloc_heap *h, uint64_t va)
{
	uint64_t v;

	if (h->native)
		memcpy(&v, um_window(h, va, sizeof(v)), sizeof(v));
	else if (vm_read(h->t, va, &v, sizeof(v)) != 0)
		um_corrupt(h, "umalloc: heap read failed");
	return v;
}

void um_store_slow(struct umalloc_heap *h, uint64_t va, uint64_t v)
{
	if (h->native)
		memcpy(um_window(h, va, sizeof(v)), &v, sizeof(v));
	else if (vm_write(h->t, va, &v, sizeof(v)) != 0)
		um_corrupt(h, "umalloc: heap write failed");
}

void um_copy(struct umalloc_heap *h, uint64_t dst, uint64_t src, size_t n)
{
	uint8_t buf[UM_BOUNCE_BYTES];

	if (!n)
		return;
	if (h->native) {
		memmove(um_window(h, dst, n), um_window(h, src, n), n);
		return;
	}
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);

		if (vm_read(h->t, src + done, buf, k) ||
		    vm_write(h->t, dst + done, buf, k))
			um_corrupt(h, "umalloc: heap copy failed");
		done += k;
	}
}

void um_zero(struct umalloc_heap *h, uint64_t dst, size_t n)
{
	static const uint8_t zeros[UM_BOUNCE_BYTES];

	if (!n)
		return;
	if (h->native) {
		memset(um_window(h, dst, n), 0, n);
		return;
	}
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(zeros) ? n - done : sizeof(zeros);

		if (vm_write(h->t, dst + done, zeros, k))
			um_corrupt(h, "umalloc: heap write failed");
		done += k;
	}
}
