/*
 * reclaim/policy_s3fifo.c - "s3fifo": S3-FIFO (Yang, Zhang, Qiu, Yue,
 * Vinayak, "FIFO queues are all you need for cache eviction", SOSP 2023):
 * a small FIFO S that filters out pages used once, a main FIFO M with a
 * 2-bit use count (a clock), and a ghost FIFO G of pages S evicted.
 *
 *   miss x:  x in G ? ---yes--> M head          (x leaves G)
 *                     ---no---> S head
 *   hit:     freq = min(freq + 1, 3)
 *
 *   evict (one page per miss with every frame in use):
 *     |M| > M's share or S empty:  M tail: freq > 0 -> M head, freq - 1
 *                                          freq = 0 -> evicted
 *     else:                        S tail: freq >= 2 -> M head, freq 0
 *                                          else     -> evicted, key to G
 *
 *   S's share: frames / 10 (at least 1); M's: the rest; G holds
 *   9 x frames / 10 keys (its oldest dropped when full).
 *
 *   inactive_anon = S, active_anon = M; freq in lru_info.
 *
 * The rules are those of the authors' simulator for the paper
 * (libCacheSim's S3FIFOv0), which evicts exactly one page per miss: the
 * paper's pseudo-code may evict from M inside S's eviction and then from
 * S too.  Once S's scan has started it goes on until a page leaves or S
 * is empty (M may grow past its share meanwhile: the next eviction takes
 * from M).  A key enters G only after the missing page was looked up in
 * G (as the simulator's lookup precedes its eviction): in exact mode the
 * victim's key waits in `pending` until page_add.
 *
 * Native mode sees no hits.  At a list's tail a page's accessed bits
 * stand for its hits since the last look: in S, referenced -> M; in M,
 * referenced -> freq + 1 before the clock rule.  The first look after a
 * page comes in finds the bit its own fault set: it only sends the page
 * round its list once more (S3_FRESH).  docs/policies.md compares.
 *
 * Invariants (s3fifo_check): every page on the lists has freq <= 3; G
 * holds at most its share of keys (and passes ghost_check).
 *
 * Memory: G (ghost_init: about 40 bytes per key, 0.9 keys per frame);
 * lru_info: freq and S3_FRESH.
 *
 * Locking: the machine lock.  SIGSAFE but init / fini.
 */
#include <errno.h>
#include <stdlib.h>

#include "reclaim/policy_ghost.h"
#include "reclaim/reclaim_internal.h"

#define S3_SMALL	  LRU_INACTIVE_ANON
#define S3_MAIN		  LRU_ACTIVE_ANON
#define S3_FREQ_MAX	  3ULL
#define S3_FRESH	  4ULL /* native: not looked at yet */
#define S3_TO_MAIN	  2    /* hits in S that earn M */
#define S3_CHECK_FREQ	  (-1741)
#define S3_CHECK_GHOST	  (-1742)
#define S3_LOOKS_PER_PAGE 5 /* a page is looked at <= 5 times a victim */

struct s3fifo {
	struct ghost ghost; /* list 0 */
	uint64_t small_share, main_share, ghost_share;
	bool pending; /* exact mode: a key for G after the next page_add */
	uint64_t pending_key;
};

static inline struct s3fifo *s3_of(struct reclaim *rc)
{
	return reclaim_private(rc);
}

static int s3fifo_init(struct reclaim *rc, uint64_t nr_frames)
{
	struct s3fifo *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->small_share = MAX(nr_frames / 10, 1);
	s->main_share = nr_frames - MIN(s->small_share, nr_frames);
	s->ghost_share = nr_frames * 9 / 10;
	err = ghost_init(&s->ghost, s->ghost_share);
	if (err) {
		free(s);
		return err;
	}
	reclaim_set_private(rc, s);
	return 0;
}

static void s3fifo_fini(struct reclaim *rc)
{
	struct s3fifo *s = s3_of(rc);

	if (!s)
		return;
	ghost_fini(&s->ghost);
	free(s);
	reclaim_set_private(rc, NULL);
}

/* key becomes G's newest, its oldest dropped if G is full. */
static SIGSAFE void ghost_insert(struct s3fifo *s, uint64_t key)
{
	if (!s->ghost_share || key == GHOST_NO_KEY)
		return;
	if (ghost_full(&s->ghost))
		ghost_pop(&s->ghost, 0);
	ghost_push(&s->ghost, 0, key);
}

static SIGSAFE void flush_pending(struct s3fifo *s)
{
	if (s->pending)
		ghost_insert(s, s->pending_key);
	s->pending = false;
}

static SIGSAFE void s3fifo_add(struct reclaim *rc, struct page *pg, bool active)
{
	struct s3fifo *s = s3_of(rc);
	uint64_t key = ghost_page_key(rc, pg);
	bool in_ghost = key != GHOST_NO_KEY &&
			ghost_remove(&s->ghost, key) >= 0;

	(void)active;
	flush_pending(s);
	pg->lru_info = reclaim_exact(rc) ? 0 : S3_FRESH;
	lru_add(&rc->lru, pg, in_ghost ? S3_MAIN : S3_SMALL, false);
}

static SIGSAFE void s3fifo_del(struct reclaim *rc, struct page *pg)
{
	lru_del(&rc->lru, pg);
}

static SIGSAFE void s3fifo_access(struct reclaim *rc, struct page *pg)
{
	(void)rc;
	if ((pg->lru_info & S3_FREQ_MAX) < S3_FREQ_MAX)
		pg->lru_info++;
}

/*
 * Native: look at the tail page pg (isolated by the look); its freq grows
 * by one if it was referenced since the last look.  True when it was
 * fresh: it goes round its list once more.
 */
static SIGSAFE bool s3_look(struct reclaim *rc, struct page *pg)
{
	bool fresh = pg->lru_info & S3_FRESH;
	bool ref = policy_isolate_referenced(rc, pg) != 0;

	pg->lru_info &= ~S3_FRESH;
	if (fresh && ref) {
		lru_putback(&rc->lru, pg, page_lru(pg), false);
		return true;
	}
	if (ref && (pg->lru_info & S3_FREQ_MAX) < S3_FREQ_MAX)
		pg->lru_info++;
	lru_putback(&rc->lru, pg, page_lru(pg), true); /* back at the tail */
	return false;
}

/* The tail of list l, looked at (native mode); NULL when l is empty. */
static SIGSAFE struct page *s3_tail(struct reclaim *rc, struct scan_control *sc,
				    enum lru_list l, uint64_t *looks)
{
	struct page *pg;

	while ((pg = lru_tail(&rc->lru, l))) {
		policy_count_scanned(rc, sc, 1);
		if (reclaim_exact(rc) || !*looks || !s3_look(rc, pg))
			return pg;
		(*looks)--;
	}
	return NULL;
}

/* M's clock: a page with uses left goes round; the first without, goes. */
static SIGSAFE struct page *evict_main(struct reclaim *rc,
				       struct scan_control *sc, uint64_t *looks)
{
	struct page *pg;

	while ((pg = s3_tail(rc, sc, S3_MAIN, looks))) {
		uint64_t freq = pg->lru_info & S3_FREQ_MAX;

		if (!freq || !*looks) {
			lru_isolate(&rc->lru, pg);
			return pg;
		}
		(*looks)--;
		pg->lru_info--;
		lru_move(&rc->lru, pg, S3_MAIN, false);
	}
	return NULL;
}

/* S's filter: a page used enough moves to M; the first other one goes. */
static SIGSAFE struct page *
evict_small(struct reclaim *rc, struct scan_control *sc, uint64_t *looks)
{
	struct s3fifo *s = s3_of(rc);
	struct page *pg;

	while ((pg = s3_tail(rc, sc, S3_SMALL, looks))) {
		uint64_t freq = pg->lru_info & S3_FREQ_MAX;
		bool used = reclaim_exact(rc) ? freq >= S3_TO_MAIN : freq > 0;

		if (!used || !*looks) {
			lru_isolate(&rc->lru, pg);
			if (reclaim_exact(rc)) {
				s->pending = true;
				s->pending_key = ghost_page_key(rc, pg);
			} else {
				ghost_insert(s, ghost_page_key(rc, pg));
			}
			return pg;
		}
		(*looks)--;
		pg->lru_info &= ~S3_FREQ_MAX;
		lru_move(&rc->lru, pg, S3_MAIN, false);
	}
	return NULL;
}

static SIGSAFE struct page *s3fifo_victim(struct reclaim *rc,
					  struct scan_control *sc)
{
	struct s3fifo *s = s3_of(rc);
	const uint64_t *nr = rc->lru.nr;
	uint64_t looks = S3_LOOKS_PER_PAGE * (nr[S3_SMALL] + nr[S3_MAIN]) + 1;
	struct page *pg;

	flush_pending(s);
	for (;;) {
		if (nr[S3_MAIN] > s->main_share || !nr[S3_SMALL]) {
			pg = evict_main(rc, sc, &looks);
			if (pg || !nr[S3_SMALL])
				return pg;
		} else if ((pg = evict_small(rc, sc, &looks))) {
			return pg;
		}
	}
}

static SIGSAFE void s3fifo_putback(struct reclaim *rc, struct page *pg,
				   enum putback_how how)
{
	struct s3fifo *s = s3_of(rc);
	uint64_t key = ghost_page_key(rc, pg);

	if (key != GHOST_NO_KEY)
		ghost_remove(&s->ghost, key); /* resident again */
	lru_putback(&rc->lru, pg, page_lru(pg), how == PUTBACK_ROTATE);
}

static int s3fifo_check(struct reclaim *rc)
{
	struct s3fifo *s = s3_of(rc);
	int err = ghost_check(&s->ghost);

	if (err)
		return err;
	if (ghost_len(&s->ghost, 0) > s->ghost_share)
		return S3_CHECK_GHOST;
	for (int l = S3_SMALL; l <= S3_MAIN; l++) {
		struct list_head *pos;

		list_for_each(pos, &rc->lru.lists[l]) {
			const struct page *pg =
				list_entry(pos, struct page, lru);

			if ((pg->lru_info & ~(S3_FREQ_MAX | S3_FRESH)) != 0)
				return S3_CHECK_FREQ;
		}
	}
	return 0;
}

const struct reclaim_policy policy_s3fifo = {
	.name = "s3fifo",
	.doc = "S3-FIFO: a small FIFO filters one-hit pages, a main FIFO "
	       "with 2-bit counts, a ghost FIFO",
	.init = s3fifo_init,
	.fini = s3fifo_fini,
	.page_add = s3fifo_add,
	.page_del = s3fifo_del,
	.page_access = s3fifo_access,
	.victim = s3fifo_victim,
	.select = policy_select_victims,
	.putback = s3fifo_putback,
	.check = s3fifo_check,
};
