/*
 * reclaim/policy_2q.c - "2q": the full 2Q of Johnson and Shasha, "2Q: A
 * Low Overhead High Performance Buffer Management Replacement Algorithm",
 * VLDB 1994.
 *
 *   A1in  FIFO of pages seen once recently       (inactive_anon)
 *   A1out FIFO of the keys A1in evicted (ghosts)  (policy_ghost)
 *   Am    LRU of pages seen again                 (active_anon)
 *
 *   access x:  in Am     -> Am head
 *              in A1in   -> nothing (a correlated reference)
 *              in A1out  -> reclaimfor(x), x to Am head (x leaves A1out)
 *              elsewhere -> reclaimfor(x), x to A1in head
 *   reclaimfor (a miss, every frame in use):
 *              |A1in| > Kin -> A1in tail evicted, its key to A1out's
 *                              head (A1out's tail dropped past Kout)
 *              else         -> Am tail evicted (no ghost)
 *
 *   Kin = frames / 4, Kout = frames / 2: the paper's recommendation (25 %
 *   of the page slots, identifiers for 50 %).
 *
 * A key enters A1out only after the missing page was looked up there: in
 * exact mode the victim's key waits in `pending` until page_add (as a
 * simulator looks the request up before it reclaims).
 *
 * Native mode: A1in needs no hits (it is a FIFO); a page read back from
 * swap is found in A1out by its key at page_add; Am's LRU order becomes
 * second chance: an Am tail page whose accessed bits are set goes back
 * to Am's head instead of leaving.
 *
 * Invariants (twoq_check): A1out holds at most Kout keys (and passes
 * ghost_check); pages are on A1in and Am only.
 *
 * Memory: A1out (about 40 bytes per key, half a key per frame).
 *
 * Locking: the machine lock.  SIGSAFE but init / fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "reclaim/policy_ghost.h"
#include "reclaim/reclaim_internal.h"

#define TQ_A1IN	       LRU_INACTIVE_ANON
#define TQ_AM	       LRU_ACTIVE_ANON
#define TQ_CHECK_A1OUT (-1751)
#define TQ_CHECK_LIST  (-1752)

struct twoq {
	struct ghost a1out; /* list 0 */
	uint64_t kin, kout;
	bool pending; /* exact mode: a key for A1out after the next add */
	uint64_t pending_key;
};

static inline struct twoq *tq_of(struct reclaim *rc)
{
	return reclaim_private(rc);
}

static int twoq_init(struct reclaim *rc, uint64_t nr_frames)
{
	struct twoq *q = calloc(1, sizeof(*q));
	int err;

	if (!q)
		return -ENOMEM;
	q->kin = nr_frames / 4;
	q->kout = nr_frames / 2;
	err = ghost_init(&q->a1out, q->kout);
	if (err) {
		free(q);
		return err;
	}
	reclaim_set_private(rc, q);
	return 0;
}

static void twoq_fini(struct reclaim *rc)
{
	struct twoq *q = tq_of(rc);

	if (!q)
		return;
	ghost_fini(&q->a1out);
	free(q);
	reclaim_set_private(rc, NULL);
}

/* key becomes A1out's newest; its oldest goes past Kout. */
static SIGSAFE void a1out_insert(struct twoq *q, uint64_t key)
{
	if (!q->kout || key == GHOST_NO_KEY)
		return;
	if (ghost_full(&q->a1out))
		ghost_pop(&q->a1out, 0);
	ghost_push(&q->a1out, 0, key);
}

static SIGSAFE void flush_pending(struct twoq *q)
{
	if (q->pending)
		a1out_insert(q, q->pending_key);
	q->pending = false;
}

static SIGSAFE void twoq_add(struct reclaim *rc, struct page *pg, bool active)
{
	struct twoq *q = tq_of(rc);
	uint64_t key = ghost_page_key(rc, pg);
	bool in_a1out = key != GHOST_NO_KEY &&
			ghost_remove(&q->a1out, key) >= 0;

	(void)active;
	flush_pending(q);
	pg->lru_info = 0;
	lru_add(&rc->lru, pg, in_a1out ? TQ_AM : TQ_A1IN, false);
}

static SIGSAFE void twoq_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE void twoq_access(struct reclaim *rc, struct page *pg)
{
	if (pg->flags & PG_active)
		lru_move(&rc->lru, pg, TQ_AM, false);
}

/* Am's tail: exact, the LRU page; native, the first not referenced. */
static SIGSAFE struct page *am_victim(struct reclaim *rc,
				      struct scan_control *sc)
{
	uint64_t tries = rc->lru.nr[TQ_AM] + 1;
	struct page *pg;

	while ((pg = lru_tail(&rc->lru, TQ_AM))) {
		policy_count_scanned(rc, sc, 1);
		if (reclaim_exact(rc) || !tries--) {
			lru_isolate(&rc->lru, pg);
			return pg;
		}
		if (!policy_isolate_referenced(rc, pg))
			return pg;
		lru_putback(&rc->lru, pg, TQ_AM, false);
	}
	return NULL;
}

static SIGSAFE struct page *twoq_victim(struct reclaim *rc,
					struct scan_control *sc)
{
	struct twoq *q = tq_of(rc);
	struct page *pg = NULL;

	flush_pending(q);
	if (rc->lru.nr[TQ_A1IN] <= q->kin)
		pg = am_victim(rc, sc);
	if (pg || !(pg = lru_tail(&rc->lru, TQ_A1IN)))
		return pg;
	policy_count_scanned(rc, sc, 1);
	lru_isolate(&rc->lru, pg);
	if (reclaim_exact(rc)) {
		q->pending = true;
		q->pending_key = ghost_page_key(rc, pg);
	} else {
		a1out_insert(q, ghost_page_key(rc, pg));
	}
	return pg;
}

static SIGSAFE void twoq_putback(struct reclaim *rc, struct page *pg,
				 enum putback_how how)
{
	struct twoq *q = tq_of(rc);
	uint64_t key = ghost_page_key(rc, pg);

	if (key != GHOST_NO_KEY)
		ghost_remove(&q->a1out, key); /* resident again */
	lru_putback(&rc->lru, pg, page_lru(pg), how == PUTBACK_ROTATE);
}

static int twoq_check(struct reclaim *rc)
{
	struct twoq *q = tq_of(rc);
	int err = ghost_check(&q->a1out);

	if (err)
		return err;
	if (ghost_len(&q->a1out, 0) > q->kout)
		return TQ_CHECK_A1OUT;
	for (int l = 0; l < NR_LRU_LISTS; l++)
		if (l != TQ_A1IN && l != TQ_AM && rc->lru.nr[l])
			return TQ_CHECK_LIST;
	return 0;
}

const struct reclaim_policy policy_2q = {
	.name = "2q",
	.doc = "2Q: a FIFO for pages seen once, an LRU for pages seen again, "
	       "ghosts of the FIFO's evictions",
	.init = twoq_init,
	.fini = twoq_fini,
	.page_add = twoq_add,
	.page_del = twoq_del,
	.page_access = twoq_access,
	.victim = twoq_victim,
	.select = policy_select_victims,
	.putback = twoq_putback,
	.check = twoq_check,
};
