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
#include "vm/vmstat.h"

struct kswapd;

/*
 * Native mode's aging walks (reclaim/age.c): a budget that fills at
 * vm_config.aging_budget_pct of the time passing and pays for walks
 * (their time, at once) and the refill traps they cause (as they come,
 * AGE_TRAP_NS each).
 * A walk starts only when asked and the budget covers what the last one
 * cost - so aging spends at most that share of the time, give or take
 * one walk's misestimate.
 */
struct age_state {
	uint64_t clock_ns;  /* CLOCK_MONOTONIC when last brought up to date;
			       0: not yet (no reclaim so far) */
	uint64_t refill0;   /* tlb_refill then */
	int64_t balance_ns; /* budget left (below 0: overdrawn) */
	uint64_t walks;	    /* walks so far */
	uint64_t walk_ns;   /* the last walk's time */
	uint64_t traps;	    /* refill traps since the last walk */
	uint64_t traps_was; /* ... and before it, since the one before; at
			       first, one per LRU page (the most a walk costs) */
	bool want;	    /* a judgement found a stale bit since */
};

struct reclaim {
	struct vm *vm;
	const struct reclaim_policy *policy;
	struct lruvec lru;
	struct kswapd *kswapd; /* the machine's libuv thread */
	struct psi psi;	       /* memory pressure of the machine's tasks */
	void *priv;	       /* the policy's (init / fini) */
	struct age_state age;  /* native mode's aging walks */
	/* Exact replacement: the next victim's PTE slot as the last eviction
	   found it (reclaim/exact.c), valid while vm->pt_frees is frees. */
	struct {
		struct page *pg;
		struct mm *mm;
		vaddr_t va;
		pte_t *ptep;
		uint64_t frees;
	} next_victim;
	/* Exact replacement: evictions that rewired their victim into the
	   new page (reclaim/exact.c); no_rewire turns that off, for the
	   tests to compare with the release-and-init path. */
	uint64_t exact_rewired;
	bool no_rewire;
};

/* SIGSAFE: CLOCK_MONOTONIC in ns (PSI's clock). */
uint64_t reclaim_now_ns(void);

static inline struct reclaim *vm_reclaim(struct vm *vm)
{
	return vm->reclaim;
}

/*
 * SIGSAFE.  n pages a policy's scan looked at: sc->nr_scanned and
 * pgscan_{kswapd,direct,anon}.  Inline: every exact eviction counts one.
 */
static inline void policy_count_scanned(struct reclaim *rc,
					struct scan_control *sc, unsigned n)
{
	sc->nr_scanned += n;
	vm_count(rc->vm, sc->kswapd ? VME_PGSCAN_KSWAPD : VME_PGSCAN_DIRECT, n);
	vm_count(rc->vm, VME_PGSCAN_ANON, n);
}

/* Accessed-bit harvest (reclaim/age.c). */
#define AGE_GAP_PAGES 64       /* longest gap a harvest range spans (trace) */
#define AGE_GAP_HOT   3	       /* host-mapped pages a spanned gap may hold */
#define AGE_BURST_NS  50000000 /* native: budget saved at most (or a walk's) */
/* native: one refill trap's cost, estimated on the high side (5-8 us
   measured on the development VMs, slower when the host is busy:
   bench_reclaim prints it), so that the budget holds then too */
#define AGE_TRAP_NS 10000

/*
 * SIGSAFE, lock held.  For each isolated page pg[i], refs[i] = how many of
 * its PTEs have the accessed bit set, plus 1 if an earlier harvest left
 * PG_young on it (PG_young is consumed).
 *
 * Trace mode (exact bits, nothing to revoke): every such bit is cleared,
 * walking page tables in ranges around the pages; other pages in a range
 * keep their bit as PG_young.
 *
 * Native mode with a walk_aging policy (linux): nothing is cleared here
 * (a clear is a host revoke, and the next touch a trap).  Only A bits not
 * counted by an earlier judgement are counted, and they are marked
 * counted (PTE_AGED); a page with none but a counted one is stale, and
 * asks for an aging walk (reclaim_age_tick).  Other policies: as trace
 * mode, with the ranges' host mappings revoked.
 */
void reclaim_referenced(struct reclaim *rc, struct page **pg, unsigned n,
			unsigned *refs);

/*
 * SIGSAFE, lock held.  Native mode with a walk_aging policy, before
 * reclaim scans: walk every address space - one host revoke per window,
 * each present PTE's uncounted accessed bit moved to its page as
 * PG_young, A and PTE_AGED cleared - when a judgement asked for it and
 * the budget covers it (struct age_state).  Never otherwise: stale pages
 * are judged unreferenced, so reclaim progresses without.
 */
void reclaim_age_tick(struct reclaim *rc);

/*
 * The budget, for tests.  age_budget_update: the time and the refill
 * traps (a running count) up to now_ns; lru_pages seeds the first
 * estimate.  age_walk_cost: what the next walk is expected to cost (the
 * last one's time and traps; the more of the two last periods' traps).
 * age_walk_due: asked for, and the budget covers that.  age_walked: a
 * walk of walk_ns ended (paid at once; its traps as they come).
 */
void age_budget_update(struct age_state *a, uint64_t now_ns, uint64_t refills,
		       uint64_t lru_pages, unsigned pct);
uint64_t age_walk_cost(const struct age_state *a);
bool age_walk_due(const struct age_state *a);
void age_walked(struct age_state *a, uint64_t walk_ns);

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
