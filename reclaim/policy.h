/*
 * reclaim/policy.h - the replacement-policy seam.
 *
 * A policy decides which resident pages leave when memory runs short; the
 * machinery around it (reclaim/vmscan.c) does the leaving: unmapping every
 * PTE through the rmap, writing to swap, freeing the frame, putting back
 * what could not go.  A policy is told
 *
 *   page_add     a page became resident (a new anonymous page, a page
 *                read back from swap); `active` is workingset detection's
 *                hint that it refaulted within the workingset;
 *   page_del     a page it holds is freed (unmap, exit, a COW break);
 *   page_access  an exact access (optional: trace mode's exact setup; a
 *                policy without it relies on accessed bits, harvested
 *                for it by reclaim_referenced);
 *   select       look at one batch at this priority: isolate the victims
 *                (lru_isolate) into out[] and return how many; pages it
 *                looked at and keeps go to sc->deferred with how to put
 *                them back (the machinery does so after evicting the
 *                victims, as Linux's move_folios_to_lru follows
 *                shrink_folio_list); -1 when it has nothing more at this
 *                priority;
 *   putback      a page comes back to the lists (a kept one, or a victim
 *                the machinery could not evict).
 *
 * Pages live on the lists of the lruvec (reclaim/lru.h), linked through
 * page->lru, with page->lru_info for the policy's own use.  Adding a
 * policy is one file defining a `struct reclaim_policy` and one line in
 * reclaim/policy.c's table.
 *
 * Locking: every hook runs under the machine lock.  SIGSAFE: no malloc,
 * no stdio (direct reclaim runs inside the SIGSEGV handler).
 */
#ifndef VMEMU_POLICY_H
#define VMEMU_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "reclaim/lru.h"

struct reclaim;

#define SWAP_CLUSTER_MAX 32 /* pages per batch, as Linux */
#define DEF_PRIORITY	 12 /* scan lru_size >> priority pages per pass */

/* One reclaim call: who, how hard, and what it did. */
struct scan_control {
	unsigned priority;	/* DEF_PRIORITY .. 0 */
	uint64_t nr_to_reclaim; /* direct reclaim stops there */
	uint64_t nr_scanned;	/* pages a policy looked at */
	uint64_t nr_reclaimed;	/* pages freed */
	bool kswapd;		/* kswapd (else direct reclaim) */
	bool may_swap;		/* anonymous pages can go to swap */
	/* A policy's state for the current priority pass. */
	bool pass_started;
	uint64_t budget[NR_LRU_LISTS];
	/* Pages select looked at and keeps, put back after the evictions. */
	unsigned nr_deferred;
	struct page *deferred[SWAP_CLUSTER_MAX];
	unsigned char deferred_how[SWAP_CLUSTER_MAX]; /* enum putback_how */
};

enum putback_how {
	PUTBACK_KEEP,	  /* inactive head: another round on the list */
	PUTBACK_ACTIVATE, /* to the active list */
	PUTBACK_ROTATE,	  /* inactive tail: first to go next time */
};

/* Keep pg (isolated by select) to be put back after this batch. */
static inline void scan_defer(struct scan_control *sc, struct page *pg,
			      enum putback_how how)
{
	sc->deferred[sc->nr_deferred] = pg;
	sc->deferred_how[sc->nr_deferred++] = (unsigned char)how;
}

struct reclaim_policy {
	const char *name;
	const char *doc; /* one line, for messages and --help */
	void (*page_add)(struct reclaim *rc, struct page *pg, bool active);
	void (*page_del)(struct reclaim *rc, struct page *pg);
	void (*page_access)(struct reclaim *rc, struct page *pg);
	int (*select)(struct reclaim *rc, struct scan_control *sc,
		      struct page **out, unsigned max);
	void (*putback)(struct reclaim *rc, struct page *pg,
			enum putback_how how);
};

/* The policy named name, or NULL. */
const struct reclaim_policy *reclaim_policy_find(const char *name);
/* "a, b, c": the known names, like snprintf. */
int reclaim_policy_names(char *buf, size_t len);

extern const struct reclaim_policy policy_linux;

#endif /* VMEMU_POLICY_H */
