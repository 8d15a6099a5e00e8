/*
 * reclaim/reclaim_internal.h - the reclaim side's private state and the
 * helpers policies share (reclaim/ only).
 */
#ifndef VMEMU_RECLAIM_INTERNAL_H
#define VMEMU_RECLAIM_INTERNAL_H

#include "reclaim/lru.h"
#include "reclaim/policy.h"
#include "reclaim/psi.h"
#include "reclaim/reclaim.h"
#include "vm/machine.h"

struct kswapd;

struct reclaim {
	struct vm *vm;
	const struct reclaim_policy *policy;
	struct lruvec lru;
	struct kswapd *kswapd; /* the machine's libuv thread */
	struct psi psi;	       /* memory pressure of the machine's tasks */
	void *priv;	       /* the policy's (init / fini) */
};

/* SIGSAFE: CLOCK_MONOTONIC in ns (PSI's clock). */
uint64_t reclaim_now_ns(void);

static inline struct reclaim *vm_reclaim(struct vm *vm)
{
	return vm->reclaim;
}

/* Accessed-bit harvest (reclaim/age.c). */
#define AGE_GAP_PAGES 64 /* longest gap a harvest range spans */
#define AGE_GAP_HOT   3	 /* host-mapped pages a spanned gap may hold */

/*
 * SIGSAFE, lock held.  For each isolated page pg[i], refs[i] = how many of
 * its PTEs had the accessed bit set, plus 1 if an earlier harvest left
 * PG_young on it; every such bit is then cleared (PG_young too).  The
 * clearing walks page tables in ranges around the pages: pages of one
 * address space share a range when the gap between them is short and
 * holds few host-mapped pages, and a range's host mappings (native mode)
 * are revoked in one call; other pages in a range keep their bit as
 * PG_young.
 */
void reclaim_referenced(struct reclaim *rc, struct page **pg, unsigned n,
			unsigned *refs);

/* Eviction (reclaim/evict.c). */

/* What a batch did, by kind: [0] swap-backed (anon, shmem), [1] file. */
struct evict_stats {
	unsigned freed[2]; /* pages freed */
	unsigned io[2];	   /* pages written (swap-out, write-back) */
};

/*
 * SIGSAFE, lock held (dropped around writes).  Evict the isolated pages
 * v[0..n) (any kind, from any list): anon and shmem into the swap cache,
 * file pages out of the page cache; unmapped everywhere, written if
 * dirty, freed.  What cannot go is put back through the policy.  Returns
 * the pages freed; *st says what it did (the cost model, vmscan.c).
 */
unsigned evict_batch(struct reclaim *rc, struct scan_control *sc,
		     struct page **v, unsigned n, struct evict_stats *st);

/* Workingset detection (reclaim/workingset.c). */

/* SIGSAFE, lock held.  pg is evicted: its shadow for the swap slot. */
uint64_t workingset_eviction(struct reclaim *rc, struct page *pg);
/* SIGSAFE, lock held.  pg (not yet on a list) refaulted in mm: active? */
bool workingset_refault(struct reclaim *rc, struct page *pg, uint64_t shadow,
			struct mm *mm);
/* SIGSAFE, lock held.  A page was activated: the clock moves. */
void workingset_activation(struct reclaim *rc, struct page *pg);

/* The scanner (reclaim/vmscan.c). */

/*
 * SIGSAFE, lock held.  An isolated page goes back through the policy - or,
 * if the isolation is the last reference left (its owner exited or
 * unmapped it while reclaim had the lock down), it is freed.
 */
void reclaim_putback(struct reclaim *rc, struct page *pg, enum putback_how how);
/*
 * SIGSAFE, lock held.  Linux's lru_note_cost: reclaiming from a kind of
 * list cost nr_io writes and nr_rotated pages kept; the costs decay by
 * half once their sum passes a quarter of the LRU.
 */
void lru_note_cost(struct lruvec *lv, bool file, unsigned nr_io,
		   unsigned nr_rotated);
/* SIGSAFE, lock held.  Shrink the lists at sc->priority. */
void shrink_node(struct reclaim *rc, struct scan_control *sc);
/* SIGSAFE, lock held.  Can anonymous pages be reclaimed at all? */
bool reclaim_may_swap(struct reclaim *rc);

/* kswapd (reclaim/kswapd.c). */
int kswapd_start(struct vm *vm, struct kswapd **out);
void kswapd_stop(struct kswapd *k);
void kswapd_wake(struct kswapd *k);
void kswapd_kick(struct kswapd *k); /* the service work (OOM reports) */
/* Lock held.  kswapd's balancing run (pageoutrun): true if balanced. */
bool kswapd_balance(struct reclaim *rc);

#endif /* VMEMU_RECLAIM_INTERNAL_H */
