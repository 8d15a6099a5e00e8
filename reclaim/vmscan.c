/*
 * reclaim/vmscan.c - who reclaims and how much (see reclaim.h): the scan
 * loop over priorities, direct reclaim and the retry decision of the
 * allocation slow path, kswapd's balancing run, the slab shrinker, and the
 * page hooks that feed the policy.
 *
 * shrink_node: the policy picks a batch of victims at sc->priority, the
 * machinery evicts them (reclaim/evict.c), until the policy has nothing
 * more at this priority or the target is met; then the slab caches give
 * back their empty slabs (Linux's shrinkers; slabs_scanned counts frames).
 * Each batch's cost is noted per kind (Linux's lru_note_cost: 32 per page
 * written plus the pages looked at but kept), which the `linux` policy's
 * swappiness balance reads; at the end of a reclaim run the workingset
 * activations are snapshot (snapshot_refaults) so the next run can tell
 * whether a list thrashed meanwhile.
 *
 * Direct reclaim (try_to_free_pages): SWAP_CLUSTER_MAX pages wanted,
 * priority DEF_PRIORITY down to 0 until met; allocstall and a matching
 * direct_reclaim_end event (pages scanned and reclaimed) bracket it, and
 * the allocating task stalls (PSI) meanwhile.
 *
 * The retry decision: an allocation that failed while free memory is
 * above the low watermark failed for a transient reason (an injected
 * failure, or a race with a task that freed memory): it is retried without
 * reclaim, at most MAX_RECLAIM_RETRIES times.  Otherwise the caller
 * reclaims, and Linux's should_reclaim_retry decides.
 *
 * Locking: the machine lock (reclaim_retry takes it; eviction drops it
 * around writes).  SIGSAFE but reclaim_create/destroy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reclaim/reclaim_internal.h"
#include "swap/swap.h"
#include "vm/mm.h"
#include "vm/page_alloc.h"
#include "vm/vmstat.h"

#define NSEC_PER_SEC  1000000000ULL
#define THROTTLE_NS   1000000L /* a throttled reclaimer waits 1 ms */
#define MAX_THROTTLES 1000     /* at most a second of waiting in all */

/* ---- the machine's reclaim side -------------------------------------- */

int reclaim_create(struct vm *vm, char *err, size_t errlen)
{
	const char *name = vm->cfg.policy ? vm->cfg.policy : "linux";
	const struct reclaim_policy *p = reclaim_policy_find(name);
	struct reclaim *rc;
	char names[256];
	int rc_err;

	if (!p) {
		reclaim_policy_names(names, sizeof(names));
		snprintf(err, errlen, "unknown policy '%s' (known: %s)", name,
			 names);
		return -EINVAL;
	}
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->vm = vm;
	rc->policy = p;
	lruvec_init(&rc->lru);
	psi_init(&rc->psi, reclaim_now_ns());
	if (p->exact_only && !vm->cfg.exact_frames) {
		snprintf(err, errlen,
			 "policy '%s' needs the future: exact replacement "
			 "in trace mode only",
			 name);
		free(rc);
		return -EINVAL;
	}
	rc_err = p->init ? p->init(rc, vm->cfg.exact_frames ?
					       vm->cfg.exact_frames :
					       vm->phys.nr_pages) :
			   0;
	if (rc_err) {
		snprintf(err, errlen, "policy '%s': %s", name,
			 strerror(-rc_err));
		free(rc);
		return rc_err;
	}
	vm->reclaim = rc;
	rc_err = kswapd_start(vm, &rc->kswapd);
	if (rc_err) {
		snprintf(err, errlen, "cannot start kswapd: %s",
			 strerror(-rc_err));
		vm->reclaim = NULL;
		if (p->fini)
			p->fini(rc);
		free(rc);
	}
	return rc_err;
}

void reclaim_stop(struct vm *vm)
{
	struct reclaim *rc = vm->reclaim;

	if (rc && rc->kswapd) {
		kswapd_stop(rc->kswapd);
		rc->kswapd = NULL;
	}
}

void reclaim_destroy(struct vm *vm)
{
	struct reclaim *rc = vm->reclaim;

	if (!rc)
		return;
	reclaim_stop(vm);
	vm->reclaim = NULL;
	if (rc->policy->fini)
		rc->policy->fini(rc);
	free(rc);
}

SIGSAFE void reclaim_page_new(struct vm *vm, struct page *pg)
{
	struct reclaim *rc = vm->reclaim;

	rc->policy->page_add(rc, pg, false);
}

SIGSAFE void reclaim_page_gone(struct vm *vm, struct page *pg)
{
	struct reclaim *rc = vm->reclaim;

	rc->policy->page_del(rc, pg);
}

SIGSAFE void reclaim_page_swapin(struct vm *vm, struct page *pg,
				 uint64_t shadow, struct mm *mm)
{
	struct reclaim *rc = vm->reclaim;
	bool active = shadow && workingset_refault(rc, pg, shadow, mm);

	rc->policy->page_add(rc, pg, active);
}

SIGSAFE void reclaim_page_access(struct vm *vm, struct page *pg)
{
	struct reclaim *rc = vm->reclaim;

	if (rc->policy->page_access && (pg->flags & PG_lru))
		rc->policy->page_access(rc, pg);
}

SIGSAFE void reclaim_kick_service(struct vm *vm)
{
	if (vm->reclaim && vm->reclaim->kswapd)
		kswapd_kick(vm->reclaim->kswapd);
}

SIGSAFE void reclaim_wake_kswapd(struct vm *vm)
{
	if (vm->reclaim && vm->reclaim->kswapd)
		kswapd_wake(vm->reclaim->kswapd);
}

SIGSAFE uint64_t reclaim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

SIGSAFE void reclaim_memstall(struct vm *vm, struct vm_task *t, bool enter)
{
	if (!t)
		return;
	if (enter ? t->memstall++ == 0 : --t->memstall == 0)
		psi_task_change(&vm->reclaim->psi, reclaim_now_ns(), 0,
				enter ? 1 : -1);
}

SIGSAFE void reclaim_task_nonidle(struct vm *vm, int delta)
{
	psi_task_change(&vm->reclaim->psi, reclaim_now_ns(), delta, 0);
}

void reclaim_psi_read(struct vm *vm, struct psi_snapshot *out)
{
	vm_lock(vm);
	psi_read(&vm->reclaim->psi, reclaim_now_ns(), out);
	vm_unlock(vm);
}

void reclaim_psi_tick(struct vm *vm)
{
	psi_update(&vm->reclaim->psi, reclaim_now_ns());
}

int reclaim_pressure_text(struct vm *vm, char *buf, size_t len)
{
	int n;

	vm_lock(vm);
	n = psi_text(&vm->reclaim->psi, reclaim_now_ns(), buf, len);
	vm_unlock(vm);
	return n;
}

void reclaim_get_counts(struct vm *vm, struct reclaim_counts *c)
{
	const struct lruvec *lv = &vm->reclaim->lru;

	c->nr_active_anon = lv->nr[LRU_ACTIVE_ANON];
	c->nr_inactive_anon = lv->nr[LRU_INACTIVE_ANON];
	c->nr_isolated_anon = lv->nr_isolated_anon;
	c->nr_active_file = lv->nr[LRU_ACTIVE_FILE];
	c->nr_inactive_file = lv->nr[LRU_INACTIVE_FILE];
}

int reclaim_check(struct vm *vm)
{
	struct reclaim *rc = vm->reclaim;
	int err = lru_check(&rc->lru, &vm->phys, rc->lru.nr_isolated_anon);

	if (!err && rc->policy->check)
		err = rc->policy->check(rc);
	return err;
}

/* ---- scanning ------------------------------------------------------- */

SIGSAFE bool reclaim_may_swap(struct reclaim *rc)
{
	return swap_available(rc->vm);
}

SIGSAFE void reclaim_putback(struct reclaim *rc, struct page *pg,
			     enum putback_how how)
{
	bool unneeded = swap_page_unneeded(rc->vm, pg);

	if (pg->_refcount > 1 && !unneeded) {
		rc->policy->putback(rc, pg, how);
		return;
	}
	/* Everyone else let go while the lock was down (an exit, munmap). */
	lru_unisolate(&rc->lru, pg);
	if (unneeded)
		delete_from_swap_cache(rc->vm, pg, 0);
	page_put(rc->vm, pg);
}

SIGSAFE void lru_note_cost(struct lruvec *lv, bool file, unsigned nr_io,
			   unsigned nr_rotated)
{
	uint64_t cost = (uint64_t)nr_io * SWAP_CLUSTER_MAX + nr_rotated;
	uint64_t size = 0;

	if (file)
		lv->file_cost += cost;
	else
		lv->anon_cost += cost;
	for (int l = 0; l < LRU_UNEVICTABLE; l++)
		size += lv->nr[l];
	if (lv->file_cost + lv->anon_cost > size / 4) { /* decay */
		lv->file_cost /= 2;
		lv->anon_cost /= 2;
	}
}

/* Is pg reclaimed as a file page (cost kind 1) or swap-backed (0)? */
static inline unsigned cost_kind(const struct page *pg)
{
	return (pg->flags & (PG_file | PG_swapbacked)) == PG_file;
}

/* The batch's cost per kind: its pages written, its pages kept. */
static void note_batch_cost(struct reclaim *rc, struct scan_control *sc,
			    const unsigned *scanned,
			    const struct evict_stats *st)
{
	(void)sc;
	for (unsigned k = 0; k < 2; k++)
		if (scanned[k])
			lru_note_cost(&rc->lru, k, st->io[k],
				      scanned[k] -
					      MIN(scanned[k], st->freed[k]));
}

/* Lock held.  The end of a reclaim run: remember the activations. */
static void snapshot_refaults(struct reclaim *rc)
{
	rc->lru.refaults[0] = rc->vm->ev[VME_WORKINGSET_ACTIVATE_ANON];
	rc->lru.refaults[1] = rc->vm->ev[VME_WORKINGSET_ACTIVATE_FILE];
}

/* Put back what select kept, in the order it looked at them. */
static void putback_deferred(struct reclaim *rc, struct scan_control *sc)
{
	for (unsigned i = 0; i < sc->nr_deferred; i++)
		reclaim_putback(rc, sc->deferred[i],
				(enum putback_how)sc->deferred_how[i]);
	sc->nr_deferred = 0;
}

SIGSAFE void shrink_node(struct reclaim *rc, struct scan_control *sc)
{
	struct page *victims[SWAP_CLUSTER_MAX];
	struct evict_stats st = { 0 };
	uint64_t slab_frames;
	int n;

	reclaim_age_tick(rc); /* native: fresh accessed bits, on budget */
	sc->pass_started = false;
	sc->nr_deferred = 0;
	sc->lru_cursor = 0;
	sc->may_swap = reclaim_may_swap(rc);
	while (sc->nr_reclaimed < sc->nr_to_reclaim || sc->lru_cursor) {
		unsigned scanned[2] = { 0, 0 };

		n = rc->policy->select(rc, sc, victims, SWAP_CLUSTER_MAX);
		if (n < 0)
			break;
		for (int i = 0; i < n; i++)
			scanned[cost_kind(victims[i])]++;
		for (unsigned i = 0; i < sc->nr_deferred; i++)
			scanned[cost_kind(sc->deferred[i])]++;
		st = (struct evict_stats){ 0 };
		if (n)
			evict_batch(rc, sc, victims, (unsigned)n, &st);
		putback_deferred(rc, sc);
		note_batch_cost(rc, sc, scanned, &st);
	}
	slab_frames = slab_shrink(rc->vm->slab);
	vm_count(rc->vm, VME_SLABS_SCANNED, slab_frames);
	sc->nr_reclaimed += slab_frames;
}

/* Direct reclaim by the allocating task (Linux's try_to_free_pages). */
static uint64_t try_to_free_pages(struct reclaim *rc, struct vm_task *self)
{
	struct scan_control sc = { .nr_to_reclaim = SWAP_CLUSTER_MAX };
	struct vm *vm = rc->vm;

	vm_event_task(vm, VME_ALLOCSTALL, self, 0, 0);
	reclaim_memstall(vm, self, true);
	for (int prio = DEF_PRIORITY;
	     prio >= 0 && sc.nr_reclaimed < sc.nr_to_reclaim; prio--) {
		sc.priority = (unsigned)prio;
		shrink_node(rc, &sc);
	}
	snapshot_refaults(rc);
	reclaim_memstall(vm, self, false);
	vm_event_pid(vm, VME_DIRECT_RECLAIM_END, self ? self->pid : 0, 0, 0,
		     sc.nr_scanned, (int64_t)sc.nr_reclaimed);
	return sc.nr_reclaimed;
}

/* Pages reclaim could still free: Linux's zone_reclaimable_pages. */
static uint64_t reclaimable_pages(struct reclaim *rc)
{
	const struct lruvec *lv = &rc->lru;
	uint64_t n = lv->nr[LRU_ACTIVE_FILE] + lv->nr[LRU_INACTIVE_FILE];

	if (reclaim_may_swap(rc))
		n += lv->nr[LRU_ACTIVE_ANON] + lv->nr[LRU_INACTIVE_ANON];
	return n;
}

/* Linux's should_reclaim_retry, for one zone. */
static bool should_reclaim_retry(struct reclaim *rc, struct reclaim_retry *rr,
				 bool progress)
{
	uint64_t available, min = rc->vm->wmark.min;

	if (progress)
		rr->no_progress_loops = 0;
	else
		rr->no_progress_loops++;
	if (rr->no_progress_loops > MAX_RECLAIM_RETRIES)
		return false;
	available = reclaimable_pages(rc) + vm_nr_free(rc->vm);
	available -=
		(rr->no_progress_loops * available + MAX_RECLAIM_RETRIES - 1) /
		MAX_RECLAIM_RETRIES;
	if (rr->gfp & __GFP_MEMALLOC)
		return available >= (1ULL << rr->order);
	if (rr->gfp & __GFP_HIGH)
		min -= min / 2;
	return available >= (1ULL << rr->order) &&
	       available - (1ULL << rr->order) >= min;
}

SIGSAFE bool reclaim_retry(struct vm *vm, struct reclaim_retry *rr)
{
	struct reclaim *rc = vm->reclaim;
	bool again;

	/* Progress that never lets the allocation succeed (a slab frame
	   shrunk, then needed again) must not loop for ever. */
	if (++rr->loops > MAX_RECLAIM_LOOPS)
		return false;
	vm_lock(vm);
	if (vm_watermark_ok(vm, rr->order, vm->wmark.low, rr->gfp)) {
		/* Plenty free: a transient failure; retry, bounded. */
		again = ++rr->no_progress_loops <= MAX_RECLAIM_RETRIES;
	} else {
		again = should_reclaim_retry(
			rc, rr, try_to_free_pages(rc, rr->self) > 0);
	}
	vm_unlock(vm);
	return again;
}

/* ---- kswapd's balancing run ------------------------------------------ */

static bool balanced(struct vm *vm)
{
	return vm_nr_free(vm) >= vm->wmark.high;
}

SIGSAFE bool kswapd_balance(struct reclaim *rc)
{
	struct vm *vm = rc->vm;

	vm_count(vm, VME_PAGEOUTRUN, 1);
	for (int prio = DEF_PRIORITY; prio >= 0 && !balanced(vm); prio--) {
		struct scan_control sc = { .kswapd = true };

		sc.priority = (unsigned)prio;
		sc.nr_to_reclaim = MAX(vm->wmark.high - vm_nr_free(vm),
				       (uint64_t)SWAP_CLUSTER_MAX);
		shrink_node(rc, &sc);
	}
	snapshot_refaults(rc);
	return balanced(vm);
}

/* ---- MADV_PAGEOUT ------------------------------------------------------ */

#define PAGEOUT_WALK (512 * PAGE_SIZE) /* what one PTE table maps */

struct pageout_ctx {
	struct reclaim *rc;
	bool shared;
	unsigned n;
	vaddr_t next; /* where the walk stopped when the batch filled */
	struct page *pg[SWAP_CLUSTER_MAX];
};

static SIGSAFE void pageout_visit(void *arg, vaddr_t va, pte_t *ptep)
{
	struct pageout_ctx *c = arg;
	struct page *pg;

	if (c->n == SWAP_CLUSTER_MAX || !pte_present(*ptep) ||
	    (*ptep & PTE_SPECIAL)) {
		if (c->n == SWAP_CLUSTER_MAX && !c->next)
			c->next = va;
		return;
	}
	pg = phys_page(&c->rc->vm->phys, pte_pfn(*ptep));
	if (!(pg->flags & PG_lru) || (pg->_mapcount > 1 && !c->shared))
		return;
	lru_isolate(&c->rc->lru, pg);
	c->pg[c->n++] = pg;
}

uint64_t reclaim_pageout(struct vm *vm, struct mm *mm, uint64_t start,
			 uint64_t end, bool shared)
{
	struct reclaim *rc = vm->reclaim;
	struct scan_control sc = { .nr_to_reclaim = UINT64_MAX };
	struct pageout_ctx c = { .rc = rc, .shared = shared };
	struct evict_stats st;
	uint64_t freed = 0;

	while (start < end && !mm->reaped) {
		/* One PTE table's span per walk: a walk goes on to its end
		   once the batch is full, so a walk of the whole range per
		   batch would make a large range quadratic. */
		vaddr_t stop = (start | (PAGEOUT_WALK - 1)) + 1;

		if (stop > end || stop < start)
			stop = end;
		c.n = 0;
		c.next = 0;
		pt_for_each(&mm->pt, start, stop, pageout_visit, &c);
		if (c.n)
			freed += evict_batch(rc, &sc, c.pg, c.n, &st);
		start = c.next ? c.next : stop;
	}
	return freed;
}
