/*
 * reclaim/policy.c - the table of replacement policies (policy.h).  A new
 * policy is one more line here.  A policy that takes a parameter is named
 * "name:ARG" (lfu-aging:N); init reads ARG with reclaim_policy_arg.
 */
#include "reclaim/policy.h"

#include <stdio.h>
#include <string.h>

#include "reclaim/reclaim_internal.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/vmstat.h"

/*
 * A page key: the owner's pid above the virtual page number; a page cache
 * page's: bit 63, its object's id, its page offset (vm/filemap.h).
 */
#define KEY_VPN_BITS	  (47 - PAGE_SHIFT)
#define KEY_FILE	  (1ULL << 63)
#define KEY_FILE_ID_SHIFT 40
#define KEY_FILE_OFF_MASK ((1ULL << KEY_FILE_ID_SHIFT) - 1)

static const struct reclaim_policy *const policies[] = {
	&policy_linux,	   /* Linux's active/inactive lists (default) */
	&policy_fifo,	   /* first in, first out */
	&policy_lru,	   /* least recently used */
	&policy_clock,	   /* second chance */
	&policy_lfu,	   /* least frequently used */
	&policy_lfu_aging, /* lfu, counts halved every N accesses */
	&policy_opt,	   /* Belady's MIN (exact replacement only) */
	&policy_arc,	   /* Megiddo & Modha, FAST 2003 */
	&policy_2q,	   /* Johnson & Shasha, VLDB 1994 */
	&policy_s3fifo,	   /* Yang et al., SOSP 2023 */
};

const struct reclaim_policy *reclaim_policy_find(const char *name)
{
	const char *colon = name ? strchr(name, ':') : NULL;
	size_t len = colon ? (size_t)(colon - name) : (name ? strlen(name) : 0);

	for (size_t i = 0; name && i < ARRAY_SIZE(policies); i++)
		if (strlen(policies[i]->name) == len &&
		    strncmp(policies[i]->name, name, len) == 0)
			return !colon || policies[i]->arg_doc ? policies[i] :
								NULL;
	return NULL;
}

const char *reclaim_policy_arg(const struct reclaim *rc)
{
	const char *name = rc->vm->cfg.policy;
	const char *colon = name ? strchr(name, ':') : NULL;

	return colon ? colon + 1 : NULL;
}

int reclaim_policy_names(char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		int n = snprintf(used < len ? buf + used : NULL,
				 used < len ? len - used : 0, "%s%s",
				 i ? ", " : "", policies[i]->name);

		if (n < 0)
			return n;
		used += (size_t)n;
	}
	return (int)used;
}

SIGSAFE bool reclaim_exact(const struct reclaim *rc)
{
	return rc->vm->cfg.exact_frames != 0;
}

SIGSAFE uint64_t reclaim_next_use(const struct reclaim *rc)
{
	return rc->vm->exact_next;
}

SIGSAFE uint64_t reclaim_page_key(const struct page *pg)
{
	uint64_t pid = 0;
	struct mm *mm;
	vaddr_t va;

	if (pg->flags & PG_file) /* its object and offset, whoever maps it */
		return KEY_FILE | ((uint64_t)pg->private << KEY_FILE_ID_SHIFT) |
		       (pg->index & KEY_FILE_OFF_MASK);
	if (rmap_first(pg, &mm, &va) && mm->owner)
		pid = (uint64_t)mm->owner->pid;
	return (pid << KEY_VPN_BITS) | (pg->index >> PAGE_SHIFT);
}

SIGSAFE uint64_t reclaim_access_key(const struct reclaim *rc)
{
	const struct mm *mm = rc->vm->exact_mm;
	uint64_t pid = mm && mm->owner ? (uint64_t)mm->owner->pid : 0;

	return (pid << KEY_VPN_BITS) | (rc->vm->exact_va >> PAGE_SHIFT);
}

SIGSAFE void *reclaim_private(const struct reclaim *rc)
{
	return rc->priv;
}

SIGSAFE void reclaim_set_private(struct reclaim *rc, void *p)
{
	rc->priv = p;
}

SIGSAFE unsigned policy_peek_inactive(struct reclaim *rc, struct page **out,
				      unsigned max)
{
	struct list_head *head = &rc->lru.lists[LRU_INACTIVE_ANON];
	struct list_head *l = head->prev;
	unsigned n = 0;

	for (; n < max && l != head; l = l->prev)
		out[n++] = list_entry(l, struct page, lru);
	return n;
}

SIGSAFE int policy_select_victims(struct reclaim *rc, struct scan_control *sc,
				  struct page **out, unsigned max)
{
	const struct lruvec *lv = &rc->lru;
	unsigned n = 0;

	if (!sc->pass_started) {
		/* Without swap only file pages can go: they set the budget. */
		uint64_t size =
			lv->nr[LRU_INACTIVE_FILE] + lv->nr[LRU_ACTIVE_FILE];

		if (sc->may_swap)
			size += lv->nr[LRU_INACTIVE_ANON] +
				lv->nr[LRU_ACTIVE_ANON];
		sc->budget[0] = size >> sc->priority;
		sc->pass_started = true;
	}
	while (n < max && sc->budget[0]) {
		struct page *pg = rc->policy->victim(rc, sc);

		if (!pg) {
			sc->budget[0] = 0;
			break;
		}
		sc->budget[0]--;
		out[n++] = pg;
	}
	return n ? (int)n : -1;
}

SIGSAFE unsigned policy_isolate_referenced(struct reclaim *rc, struct page *pg)
{
	unsigned refs;

	lru_isolate(&rc->lru, pg);
	reclaim_referenced(rc, &pg, 1, &refs);
	return refs;
}
