/*
 * reclaim/policy.h - the replacement-policy seam.
 *
 * A policy decides which resident pages leave when memory runs short; the
 * machinery around it (reclaim/vmscan.c) does the leaving: unmapping every
 * PTE through the rmap, writing to swap, freeing the frame, putting back
 * what could not go.  A policy is told
 *
 *   page_add     a page became resident (a new anonymous or shmem page,
 *                a page read back from swap or from its file); `active`
 *                is workingset detection's hint that it refaulted within
 *                the workingset;
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
 *                the machinery could not evict);
 *   victim       (optional) the one page to evict next, isolated: what
 *                exact replacement asks on every miss with all frames in
 *                use; policy_select_victims makes a select of it;
 *   init, fini   (optional) private state, allocated up front and bounded
 *                per frame (the hooks run in the trap: no malloc there).
 *
 * Every resident page stays on a list of the lruvec (that is what
 * /proc/meminfo counts and lru_check walks); a policy orders the lists as
 * it likes and may keep private indexes beside them (lru_info, 8 bytes per
 * page, and what init allocated).  Pages are of three kinds - anonymous,
 * shmem and file (vm/phys.h: PG_anon, PG_file, PG_swapbacked) - and a
 * policy may keep any kind on any list: the machinery evicts each as its
 * kind needs (reclaim/evict.c).  `linux` keeps file pages on the file
 * lists, as Linux.
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
#include <string.h>

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
	unsigned lru_cursor; /* a policy's place in a round of its lists:
				while not 0, shrink_node calls select
				again even past the target */
	/* Pages select looked at and keeps, put back after the evictions. */
	unsigned nr_deferred;
	struct page *deferred[SWAP_CLUSTER_MAX];
	unsigned char deferred_how[SWAP_CLUSTER_MAX]; /* enum putback_how */
};

/*
 * A scan_control for one round: every field zero but those given, the
 * deferred arrays left as they are (nr_deferred = 0 says they are empty;
 * clearing them cost exact replacement's miss path 50 instructions).
 */
static inline void scan_control_init(struct scan_control *sc,
				     uint64_t nr_to_reclaim, bool may_swap)
{
	memset(sc, 0, offsetof(struct scan_control, deferred));
	sc->nr_to_reclaim = nr_to_reclaim;
	sc->may_swap = may_swap;
}

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
	/*
	 * Optional, not SIGSAFE (vm_create / vm_destroy): private state for
	 * a machine of nr_frames evictable frames (reclaim_set_private),
	 * allocated here and bounded per frame; 0 or -errno.
	 */
	int (*init)(struct reclaim *rc, uint64_t nr_frames);
	void (*fini)(struct reclaim *rc);
	void (*page_add)(struct reclaim *rc, struct page *pg, bool active);
	void (*page_del)(struct reclaim *rc, struct page *pg);
	void (*page_access)(struct reclaim *rc, struct page *pg);
	/*
	 * Optional, for policies that choose one page at a time: isolate
	 * (lru_isolate) and return the page to evict next, or NULL when
	 * there is none.  Exact replacement calls it once per miss when
	 * every frame is in use; policy_select_victims turns it into select.
	 */
	struct page *(*victim)(struct reclaim *rc, struct scan_control *sc);
	/*
	 * Optional, a hint: up to max pages victim would most likely return
	 * next, in that order, changing nothing.  Exact replacement starts
	 * loading their struct pages and PTEs before it needs them (the miss
	 * path's cache misses); a wrong guess costs only the prefetch.
	 */
	unsigned (*peek)(struct reclaim *rc, struct page **out, unsigned max);
	int (*select)(struct reclaim *rc, struct scan_control *sc,
		      struct page **out, unsigned max);
	void (*putback)(struct reclaim *rc, struct page *pg,
			enum putback_how how);
	bool exact_only; /* needs the future (vm_access_next): opt */
	/*
	 * Native mode: judge pages in batches and leave clearing their
	 * accessed bits to aging walks (reclaim/age.c) instead of a
	 * test-and-clear per look.  For policies that look at a page once
	 * per pass (linux); one that circles until it finds an unreferenced
	 * page (clock) needs each look to clear.
	 */
	bool walk_aging;
	/*
	 * Optional: the policy takes a parameter, given as "name:ARG" (for
	 * init to read with reclaim_policy_arg); what ARG is, for messages.
	 */
	const char *arg_doc;
	/*
	 * Optional, lock held: the walker of the policy's private state,
	 * run by reclaim_check after lru_check; 0 or a negative code.
	 */
	int (*check)(struct reclaim *rc);
};

/*
 * Helpers for policies (reclaim/policy.c).  All SIGSAFE, machine lock held.
 *
 *   reclaim_exact      exact replacement (vm_config.exact_frames): every
 *                      access reaches page_access, and a miss with every
 *                      frame in use evicts exactly one page (victim, or
 *                      select with max 1);
 *   reclaim_next_use   the access being handled: the request index of the
 *                      next access to the same page (vm_access_next), or
 *                      UINT64_MAX (never, or not told);
 *   reclaim_page_key   a resident page's identity, stable across its
 *                      evictions: its first mapping's address space and
 *                      virtual page number (for ghost lists);
 *   reclaim_access_key exact replacement: the identity (as
 *                      reclaim_page_key) of the page the access being
 *                      handled touches - on a miss, the page about to come
 *                      in, which victim may need (ARC's REPLACE does);
 *   reclaim_private    the pointer init stored with reclaim_set_private;
 *   policy_select_victims  a select made of victim: at most
 *                      lru_size >> priority pages per pass, -1 after;
 *   policy_peek_inactive   peek for a policy whose victims come from the
 *                      tail of inactive_anon (fifo, lru, clock).
 */
bool reclaim_exact(const struct reclaim *rc);
uint64_t reclaim_next_use(const struct reclaim *rc);
uint64_t reclaim_page_key(const struct page *pg);
uint64_t reclaim_access_key(const struct reclaim *rc);
/* Not SIGSAFE (init): the ARG of "name:ARG", or NULL. */
const char *reclaim_policy_arg(const struct reclaim *rc);
void *reclaim_private(const struct reclaim *rc);
void reclaim_set_private(struct reclaim *rc, void *p);
int policy_select_victims(struct reclaim *rc, struct scan_control *sc,
			  struct page **out, unsigned max);
unsigned policy_peek_inactive(struct reclaim *rc, struct page **out,
			      unsigned max);
/*
 * Isolate pg (on a list) and test-and-clear the accessed bits of every
 * PTE mapping it (reclaim_referenced): how a policy without exact
 * accesses (native mode) learns that a page was used.  pg stays isolated:
 * return it as a victim, or lru_putback it.
 */
unsigned policy_isolate_referenced(struct reclaim *rc, struct page *pg);
/* policy_count_scanned (n pages a scan looked at): reclaim_internal.h. */

/* The policy named name (or "name:ARG" if it takes one), or NULL. */
const struct reclaim_policy *reclaim_policy_find(const char *name);
/* "a, b, c": the known names, like snprintf. */
int reclaim_policy_names(char *buf, size_t len);

extern const struct reclaim_policy policy_linux, policy_fifo, policy_lru,
	policy_clock, policy_lfu, policy_lfu_aging, policy_opt, policy_arc,
	policy_2q, policy_s3fifo;

#endif /* VMEMU_POLICY_H */
