/*
 * reclaim/policy.c - the table of replacement policies (policy.h).  A new
 * policy is one more line here.
 */
#include "reclaim/policy.h"

#include <stdio.h>
#include <string.h>

#include "reclaim/reclaim_internal.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/vmstat.h"

/* A page key: the owner's pid above the virtual page number. */
#define KEY_VPN_BITS (47 - PAGE_SHIFT)

static const struct reclaim_policy *const policies[] = {
	&policy_linux,
	&policy_fifo,
	&policy_lru,
	&policy_clock,
};

const struct reclaim_policy *reclaim_policy_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++)
		if (name && strcmp(policies[i]->name, name) == 0)
			return policies[i];
	return NULL;
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

	if (rmap_first(pg, &mm, &va) && mm->owner)
		pid = (uint64_t)mm->owner->pid;
	return (pid << KEY_VPN_BITS) | (pg->index >> PAGE_SHIFT);
}

SIGSAFE void *reclaim_private(const struct reclaim *rc)
{
	return rc->priv;
}

SIGSAFE void reclaim_set_private(struct reclaim *rc, void *p)
{
	rc->priv = p;
}

SIGSAFE void policy_count_scanned(struct reclaim *rc, struct scan_control *sc,
				  unsigned n)
{
	sc->nr_scanned += n;
	vm_count(rc->vm, sc->kswapd ? VME_PGSCAN_KSWAPD : VME_PGSCAN_DIRECT, n);
	vm_count(rc->vm, VME_PGSCAN_ANON, n);
}

SIGSAFE int policy_select_victims(struct reclaim *rc, struct scan_control *sc,
				  struct page **out, unsigned max)
{
	const struct lruvec *lv = &rc->lru;
	unsigned n = 0;

	if (!sc->pass_started) {
		uint64_t size = 0;

		for (int l = 0; l < NR_LRU_LISTS; l++)
			size += lv->nr[l];
		sc->budget[0] = sc->may_swap ? size >> sc->priority : 0;
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
