/*
 * vm/evlog_ring.c - the event log's lock-free ring (see evlog_ring.h for
 * the slot protocol and its invariants).
 *
 * Producer, ticket t:
 *
 *   t = head++                      (fetch_add: the only contended line)
 *   while slot[t].seq != t:         the ring is full for us
 *       spin RING_SPINS pauses, then announce in waiters, wake the
 *       consumer, futex_wait(space_seq) until the consumer frees slots
 *   slot[t].ev = *ev
 *   slot[t].seq = t + 1             (release: publishes the record)
 *   every wake_every-th ticket: wake the consumer if it is idle
 *
 * Waiting never takes a lock, so a producer may hold the machine lock
 * while it waits: the consumer needs nothing but the ring to free slots.
 *
 * Locking: none.  The producer side is SIGSAFE; the consumer side runs on
 * one thread only.
 */
#include "vm/evlog_ring.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_SPINS	  128  /* pauses before a producer sleeps */
#define RING_WAKE_MAX	  1024 /* wake the consumer at least this often */
#define RING_WAKE_DIVISOR 4    /* ... and when a quarter ring is queued */
#define NSEC_PER_SEC	  1000000000ULL

static SIGSAFE void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* SIGSAFE: raw futex calls, errno preserved. */
static SIGSAFE void futex_wait(_Atomic uint32_t *word, uint32_t val,
			       const struct timespec *timeout)
{
	int saved = errno;

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
	errno = saved;
}

static SIGSAFE void futex_wake(_Atomic uint32_t *word, int nr)
{
	int saved = errno;

	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, nr, NULL, NULL, 0);
	errno = saved;
}

int ring_init(struct evlog_ring *r, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->slots = aligned_alloc(EVLOG_CACHELINE, size * sizeof(r->slots[0]));
	if (!r->slots)
		return -ENOMEM;
	r->size = size;
	r->mask = size - 1;
	r->wake_every = MIN((uint64_t)RING_WAKE_MAX,
			    MAX(size / RING_WAKE_DIVISOR, (uint64_t)1));
	for (uint64_t i = 0; i < size; i++) {
		atomic_init(&r->slots[i].seq, i);
		memset(&r->slots[i].ev, 0, sizeof(r->slots[i].ev));
	}
	atomic_init(&r->head, 0);
	atomic_init(&r->stalls, 0);
	atomic_init(&r->space_seq, 0);
	atomic_init(&r->waiters, 0);
	atomic_init(&r->consumer_seq, 0);
	atomic_init(&r->consumer_idle, 0);
	return 0;
}

void ring_destroy(struct evlog_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

SIGSAFE uint64_t ring_head(const struct evlog_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire);
}

static SIGSAFE bool slot_free(struct evlog_slot *s, uint64_t t)
{
	return atomic_load_explicit(&s->seq, memory_order_acquire) == t;
}

/* SIGSAFE.  Wake the consumer if it sleeps (or always when force). */
static SIGSAFE void wake_consumer(struct evlog_ring *r, bool force)
{
	if (!force &&
	    !atomic_load_explicit(&r->consumer_idle, memory_order_relaxed))
		return;
	if (!atomic_exchange_explicit(&r->consumer_idle, 0,
				      memory_order_acq_rel) &&
	    !force)
		return;
	atomic_fetch_add_explicit(&r->consumer_seq, 1, memory_order_release);
	futex_wake(&r->consumer_seq, 1);
}

/*
 * SIGSAFE.  Sleep until slot s is free for ticket t (invariant 3).  The
 * waiters increment and the slot re-check here, and the slot release and
 * the waiters load in ring_take, are all seq_cst: of the two threads, one
 * sees the other's write (no plain fences: ThreadSanitizer lacks them).
 */
static SIGSAFE void wait_slot(struct evlog_ring *r, struct evlog_slot *s,
			      uint64_t t)
{
	atomic_fetch_add_explicit(&r->stalls, 1, memory_order_relaxed);
	while (!slot_free(s, t)) {
		uint32_t seen = atomic_load_explicit(&r->space_seq,
						     memory_order_acquire);

		atomic_fetch_add_explicit(&r->waiters, 1, memory_order_seq_cst);
		if (atomic_load_explicit(&s->seq, memory_order_seq_cst) != t) {
			wake_consumer(r, true);
			futex_wait(&r->space_seq, seen, NULL);
		}
		atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_relaxed);
	}
}

SIGSAFE uint64_t ring_push(struct evlog_ring *r, const struct evlog_event *ev)
{
	uint64_t t =
		atomic_fetch_add_explicit(&r->head, 1, memory_order_relaxed);
	struct evlog_slot *s = &r->slots[t & r->mask];

	for (unsigned spin = 0; !slot_free(s, t); spin++) {
		if (spin < RING_SPINS) {
			cpu_relax();
			continue;
		}
		wait_slot(r, s, t);
		break;
	}
	s->ev = *ev;
	atomic_store_explicit(&s->seq, t + 1, memory_order_release);
	if (((t + 1) & (r->wake_every - 1)) == 0)
		wake_consumer(r, false);
	return t;
}

unsigned ring_ready(struct evlog_ring *r, unsigned max)
{
	unsigned n = 0;

	while (n < max) {
		uint64_t t = r->tail + n;
		struct evlog_slot *s = &r->slots[t & r->mask];

		if (atomic_load_explicit(&s->seq, memory_order_acquire) !=
		    t + 1)
			break;
		n++;
	}
	return n;
}

void ring_take(struct evlog_ring *r, struct evlog_event *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = r->tail + i;
		struct evlog_slot *s = &r->slots[t & r->mask];

		out[i] = s->ev;
		atomic_store_explicit(&s->seq, t + r->size,
				      memory_order_seq_cst);
	}
	r->tail += n;
	if (n && atomic_load_explicit(&r->waiters, memory_order_seq_cst)) {
		atomic_fetch_add_explicit(&r->space_seq, 1,
					  memory_order_seq_cst);
		futex_wake(&r->space_seq, INT_MAX);
	}
}

void ring_wait_data(struct evlog_ring *r, uint64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / NSEC_PER_SEC),
		.tv_nsec = (long)(timeout_ns % NSEC_PER_SEC),
	};
	uint32_t seen =
		atomic_load_explicit(&r->consumer_seq, memory_order_acquire);

	atomic_store_explicit(&r->consumer_idle, 1, memory_order_seq_cst);
	if (!ring_ready(r, 1))
		futex_wait(&r->consumer_seq, seen, &ts);
	atomic_store_explicit(&r->consumer_idle, 0, memory_order_relaxed);
}

void ring_wake_consumer(struct evlog_ring *r)
{
	wake_consumer(r, true);
}
