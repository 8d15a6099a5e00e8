/*
 * vm/evlog_ring.h - the event log's ring: a bounded queue of evlog_event
 * records with many producers (any thread, the trap included) and one
 * consumer (the writer thread).  Internal to vm/evlog*.c.
 *
 * Vyukov's bounded queue with a sequence number per slot; producers take
 * tickets with one fetch_add, so ticket t is the event's `seq`:
 *
 *   slot[t & mask].seq == t          free, waiting for ticket t
 *   slot[t & mask].seq == t + 1      holds ticket t's record
 *   consumer takes t, stores seq = t + size: free for ticket t + size
 *
 * Invariants
 *  1. head (tickets handed out) >= tail (tickets consumed); head - tail <=
 *     size + the producers waiting for a slot.
 *  2. The consumer takes tickets in order, each exactly once; a record is
 *     read only after its producer published it (acquire on slot.seq) and
 *     the slot is handed back only after it was copied out.
 *  3. A producer whose slot is still full waits (spin, then futex on
 *     space_seq): it sleeps only after announcing itself in `waiters` and
 *     re-checking its slot, and the consumer bumps space_seq and wakes after
 *     freeing slots whenever `waiters` is non-zero (seq_cst accesses on
 *     both sides), so no wake-up is lost.
 *  4. The consumer sleeps (futex on consumer_seq, with a timeout) only
 *     after setting consumer_idle and re-checking; a producer wakes it when
 *     it finds consumer_idle set on every wake_every-th ticket, and always
 *     before it sleeps on a full ring.  A missed wake costs at most the
 *     timeout, never progress.
 *
 * Locking: none; atomics and futex(2).  ring_push and everything it calls
 * are SIGSAFE (errno is saved and restored).  ring_ready/ring_take/
 * ring_wait_data belong to the single consumer.
 */
#ifndef VMEMU_EVLOG_RING_H
#define VMEMU_EVLOG_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/types.h"
#include "vm/evlog.h"

#define EVLOG_CACHELINE 64

struct evlog_slot {
	_Atomic uint64_t seq;
	struct evlog_event ev;
} __attribute__((aligned(EVLOG_CACHELINE)));

struct evlog_ring {
	struct evlog_slot *slots;
	uint64_t size, mask;
	uint64_t wake_every; /* power of two: producer wake-up period */
	/* Producers. */
	_Alignas(EVLOG_CACHELINE) _Atomic uint64_t head;
	_Atomic uint64_t stalls;
	/* Consumer-owned position. */
	_Alignas(EVLOG_CACHELINE) uint64_t tail;
	/* Sleep/wake words (futexes are 32-bit). */
	_Alignas(EVLOG_CACHELINE) _Atomic uint32_t space_seq;
	_Atomic uint32_t waiters;
	_Atomic uint32_t consumer_seq;
	_Atomic uint32_t consumer_idle;
};

/* Allocate a ring of size records (a power of two); 0 or -ENOMEM. */
int ring_init(struct evlog_ring *r, uint64_t size);
void ring_destroy(struct evlog_ring *r);

/* SIGSAFE.  Queue *ev, waiting while the ring is full; returns its ticket. */
SIGSAFE uint64_t ring_push(struct evlog_ring *r, const struct evlog_event *ev);
/* SIGSAFE.  Tickets handed out so far (the next event's seq). */
SIGSAFE uint64_t ring_head(const struct evlog_ring *r);

/* Consumer: records published from tail on, at most max (acquire). */
unsigned ring_ready(struct evlog_ring *r, unsigned max);
/*
 * Consumer: copy the n records at tail (n <= ring_ready's answer) into
 * out, free their slots, advance tail and wake waiting producers.
 */
void ring_take(struct evlog_ring *r, struct evlog_event *out, unsigned n);
/* Consumer: sleep until woken or timeout_ns passed, unless data is ready. */
void ring_wait_data(struct evlog_ring *r, uint64_t timeout_ns);
/* Wake the consumer now (any thread; not on the fault path). */
void ring_wake_consumer(struct evlog_ring *r);

#endif /* VMEMU_EVLOG_RING_H */
