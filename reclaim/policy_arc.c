/*
 * reclaim/policy_arc.c - "arc": Adaptive Replacement Cache (Megiddo and
 * Modha, "ARC: A Self-Tuning, Low Overhead Replacement Cache", FAST 2003,
 * Fig. 4), c = frames.
 *
 *   T1 (inactive_anon): resident, seen once recently     LRU order
 *   T2 (active_anon):   resident, seen at least twice    LRU order
 *   B1, B2 (policy_ghost lists 0, 1): keys evicted from T1, T2
 *   p: T1's target size, adapted by ghost hits
 *
 *   hit in T1 or T2      -> T2's MRU end
 *   miss on x in B1      -> p = min(p + max(1, |B2| / |B1|), c);
 *                           REPLACE; x to T2's MRU end
 *   miss on x in B2      -> p = max(p - max(1, |B1| / |B2|), 0);
 *                           REPLACE; x to T2's MRU end
 *   miss on x elsewhere  -> |T1| + |B1| = c: |T1| < c: drop B1's LRU,
 *                                            REPLACE;
 *                                            else T1's LRU evicted (no
 *                                            ghost)
 *                           else: |T1|+|T2|+|B1|+|B2| = 2c: drop B2's
 *                                 LRU; REPLACE;  then x to T1's MRU end
 *   REPLACE: |T1| >= 1 and (|T1| > p or (x in B2 and |T1| = p)):
 *            T1's LRU evicted, its key to B1's MRU end;
 *            else T2's LRU evicted, its key to B2's MRU end.
 *
 * Divisions are integer (floor), as libCacheSim's ARC has them.  Exact
 * mode asks for the victim before the new page exists: REPLACE needs to
 * know where x is, so victim reads x's key with reclaim_access_key and
 * does the miss's adaptation or directory trim then; page_add only places
 * x.  A miss with frames to spare (no victim: only after pages were
 * freed) adapts or trims at page_add and evicts nothing.
 *
 * Native mode sees no hits: ARC becomes CAR (Bansal and Modha, "CAR:
 * Clock with Adaptive Replacement", FAST 2004), its clock-based form,
 * with the accessed bits as reference bits.  To replace: if |T1| >=
 * max(1, p), T1's oldest page, referenced -> T2's newest end, else evicted
 * to B1; otherwise T2's oldest, referenced -> T2's newest end, else
 * evicted to B2.  Ghost hits (a page read back from swap, found by its
 * key) adapt p and the directory is trimmed at page_add, as CAR does.
 * The first look at a page finds the bit its own fault set: it only sends
 * the page round its list once more (ARC_FRESH).  c is then the machine's
 * frames; the ghosts may hold 2c keys (batches of evictions run ahead of
 * the trimming).
 *
 * Invariants (arc_check; exact mode): |T1| + |B1| <= c; |T1| + |T2| +
 * |B1| + |B2| <= 2c; p <= c; no resident page's key is a ghost.
 *
 * Memory: B1 and B2 (about 40 bytes per key: c + 1 keys in exact mode,
 * 2c in native mode); lru_info: ARC_FRESH.
 *
 * Locking: the machine lock.  SIGSAFE but init / fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "reclaim/policy_ghost.h"
#include "reclaim/reclaim_internal.h"

#define ARC_T1		     LRU_INACTIVE_ANON
#define ARC_T2		     LRU_ACTIVE_ANON
#define ARC_B1		     0
#define ARC_B2		     1
#define ARC_FRESH	     1ULL /* native: not looked at yet */
#define ARC_CHECK_DIRECTORY  (-1761)
#define ARC_CHECK_TARGET     (-1762)
#define ARC_CHECK_GHOST_PAGE (-1763)

struct arc {
	struct ghost ghost; /* B1, B2 */
	uint64_t c, p;
	bool handled; /* exact: victim did the miss's ghost work for key */
	uint64_t handled_key;
};

static inline struct arc *arc_of(struct reclaim *rc)
{
	return reclaim_private(rc);
}

static int arc_init(struct reclaim *rc, uint64_t nr_frames)
{
	struct arc *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	a->c = nr_frames;
	err = ghost_init(&a->ghost,
			 reclaim_exact(rc) ? nr_frames + 1 : 2 * nr_frames);
	if (err) {
		free(a);
		return err;
	}
	reclaim_set_private(rc, a);
	return 0;
}

static void arc_fini(struct reclaim *rc)
{
	struct arc *a = arc_of(rc);

	if (!a)
		return;
	ghost_fini(&a->ghost);
	free(a);
	reclaim_set_private(rc, NULL);
}

static inline uint64_t b1(const struct arc *a)
{
	return ghost_len(&a->ghost, ARC_B1);
}

static inline uint64_t b2(const struct arc *a)
{
	return ghost_len(&a->ghost, ARC_B2);
}

/* A ghost hit on list `where`: move p towards that side. */
static SIGSAFE void adapt(struct arc *a, int where)
{
	if (where == ARC_B1) {
		a->p = MIN(a->p + MAX(1, b2(a) / b1(a)), a->c);
	} else {
		uint64_t delta = MAX(1, b1(a) / b2(a));

		a->p = a->p > delta ? a->p - delta : 0;
	}
}

/* A miss on a page in no list: keep |T1|+|B1| <= c and the total <= 2c. */
static SIGSAFE void trim(struct reclaim *rc, struct arc *a)
{
	uint64_t t1 = rc->lru.nr[ARC_T1], t2 = rc->lru.nr[ARC_T2];

	if (t1 + b1(a) >= a->c)
		ghost_pop(&a->ghost, ARC_B1);
	else if (t1 + t2 + b1(a) + b2(a) >= 2 * a->c)
		ghost_pop(&a->ghost, ARC_B2);
}

/* pg leaves for ghost list `to`: its key goes there (room made first). */
static SIGSAFE void to_ghost(struct reclaim *rc, struct arc *a, struct page *pg,
			     int to)
{
	uint64_t key = ghost_page_key(rc, pg);

	if (key == GHOST_NO_KEY)
		return;
	if (ghost_full(&a->ghost) && !ghost_pop(&a->ghost, to))
		ghost_pop(&a->ghost, !to);
	ghost_push(&a->ghost, to, key);
}

static SIGSAFE struct page *evict_tail(struct reclaim *rc, struct arc *a,
				       struct scan_control *sc, enum lru_list l,
				       int ghost)
{
	struct page *pg = lru_tail(&rc->lru, l);

	if (!pg)
		return NULL;
	policy_count_scanned(rc, sc, 1);
	lru_isolate(&rc->lru, pg);
	if (ghost >= 0)
		to_ghost(rc, a, pg, ghost);
	return pg;
}

/* REPLACE(x, p) of the paper; x_in_b2 breaks the tie |T1| = p. */
static SIGSAFE struct page *replace(struct reclaim *rc, struct arc *a,
				    struct scan_control *sc, bool x_in_b2)
{
	uint64_t t1 = rc->lru.nr[ARC_T1];
	bool from_t1 = t1 && (t1 > a->p || (x_in_b2 && t1 == a->p));

	if (!rc->lru.nr[ARC_T2])
		from_t1 = true;
	return from_t1 ? evict_tail(rc, a, sc, ARC_T1, ARC_B1) :
			 evict_tail(rc, a, sc, ARC_T2, ARC_B2);
}

/* Exact mode: the miss of the page reclaim_access_key names. */
static SIGSAFE struct page *arc_victim_exact(struct reclaim *rc,
					     struct scan_control *sc)
{
	struct arc *a = arc_of(rc);
	uint64_t key = reclaim_access_key(rc), t1 = rc->lru.nr[ARC_T1];
	int where = ghost_find(&a->ghost, key);

	a->handled = true;
	a->handled_key = key;
	if (where >= 0) {
		adapt(a, where);
		return replace(rc, a, sc, where == ARC_B2);
	}
	if (t1 + b1(a) >= a->c && t1 >= a->c)
		return evict_tail(rc, a, sc, ARC_T1, -1); /* B1 is empty */
	trim(rc, a);
	return replace(rc, a, sc, false);
}

/*
 * Native mode: look at the tail page of l (isolated by the look): true
 * if it is kept - fresh, round its list once more; referenced, to T2's
 * newest end.
 */
static SIGSAFE bool arc_keep(struct reclaim *rc, struct page *pg,
			     enum lru_list l)
{
	bool fresh = pg->lru_info & ARC_FRESH;

	if (!policy_isolate_referenced(rc, pg))
		return false;
	pg->lru_info &= ~ARC_FRESH;
	lru_putback(&rc->lru, pg, fresh ? l : ARC_T2, false);
	return true;
}

/* Native mode: CAR's replace(). */
static SIGSAFE struct page *arc_victim_car(struct reclaim *rc,
					   struct scan_control *sc)
{
	struct arc *a = arc_of(rc);
	const uint64_t *nr = rc->lru.nr;
	uint64_t looks = 2 * (nr[ARC_T1] + nr[ARC_T2]) + 1;

	while (nr[ARC_T1] + nr[ARC_T2]) {
		bool t1 = nr[ARC_T1] >= MAX(1, a->p) || !nr[ARC_T2];
		enum lru_list l = t1 ? ARC_T1 : ARC_T2;
		struct page *pg = lru_tail(&rc->lru, l);

		policy_count_scanned(rc, sc, 1);
		if (!looks--) {
			lru_isolate(&rc->lru, pg);
		} else if (arc_keep(rc, pg, l)) {
			continue;
		}
		to_ghost(rc, a, pg, t1 ? ARC_B1 : ARC_B2);
		return pg;
	}
	return NULL;
}

static SIGSAFE struct page *arc_victim(struct reclaim *rc,
				       struct scan_control *sc)
{
	return reclaim_exact(rc) ? arc_victim_exact(rc, sc) :
				   arc_victim_car(rc, sc);
}

static SIGSAFE void arc_add(struct reclaim *rc, struct page *pg, bool active)
{
	struct arc *a = arc_of(rc);
	uint64_t key = ghost_page_key(rc, pg);
	int where = key == GHOST_NO_KEY ? -1 : ghost_find(&a->ghost, key);
	bool handled = a->handled && a->handled_key == key;

	(void)active;
	a->handled = false;
	if (where >= 0 && !handled)
		adapt(a, where);
	else if (where < 0 && !handled)
		trim(rc, a);
	if (where >= 0)
		ghost_remove(&a->ghost, key);
	pg->lru_info = reclaim_exact(rc) ? 0 : ARC_FRESH;
	lru_add(&rc->lru, pg, where >= 0 ? ARC_T2 : ARC_T1, false);
}

static SIGSAFE void arc_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE void arc_access(struct reclaim *rc, struct page *pg)
{
	lru_move(&rc->lru, pg, ARC_T2, false);
}

static SIGSAFE void arc_putback(struct reclaim *rc, struct page *pg,
				enum putback_how how)
{
	uint64_t key = ghost_page_key(rc, pg);

	if (key != GHOST_NO_KEY)
		ghost_remove(&arc_of(rc)->ghost, key); /* resident again */
	lru_putback(&rc->lru, pg, page_lru(pg), how == PUTBACK_ROTATE);
}

/* Exact mode: no page on list l is a ghost too. */
static int check_resident(struct reclaim *rc, enum lru_list l)
{
	struct list_head *pos;

	list_for_each(pos, &rc->lru.lists[l]) {
		const struct page *pg = list_entry(pos, struct page, lru);

		if (ghost_find(&arc_of(rc)->ghost, ghost_page_key(rc, pg)) >= 0)
			return ARC_CHECK_GHOST_PAGE;
	}
	return 0;
}

static int arc_check(struct reclaim *rc)
{
	struct arc *a = arc_of(rc);
	uint64_t t1 = rc->lru.nr[ARC_T1], t2 = rc->lru.nr[ARC_T2];
	int err = ghost_check(&a->ghost);

	if (err || !reclaim_exact(rc))
		return err;
	if (a->p > a->c)
		return ARC_CHECK_TARGET;
	if (t1 + b1(a) > a->c || t1 + t2 + b1(a) + b2(a) > 2 * a->c)
		return ARC_CHECK_DIRECTORY;
	err = check_resident(rc, ARC_T1);
	return err ? err : check_resident(rc, ARC_T2);
}

const struct reclaim_policy policy_arc = {
	.name = "arc",
	.doc = "ARC: recency and frequency lists with ghosts, the balance "
	       "adapted by ghost hits (CAR in native mode)",
	.init = arc_init,
	.fini = arc_fini,
	.page_add = arc_add,
	.page_del = arc_del,
	.page_access = arc_access,
	.victim = arc_victim,
	.select = policy_select_victims,
	.putback = arc_putback,
	.check = arc_check,
};
