/*
 * reclaim/policy_heap.h - an indexed binary min-heap of resident frames,
 * for the policies that evict by a key: lfu (use count, then last access)
 * and opt (next use, inverted so that the farthest is the smallest).
 *
 *                      e[0]                the smallest key: the victim
 *          /        /       \        \
 *       e[1]     e[2]      e[3]     e[4]   e[(i - 1) / 4] <= e[i]
 *      / .. \    / .. \     ...              keys compare by hi, then lo
 *   e[5]..e[8] e[9]..e[12] ...
 *
 * Four children per node (half the depth of a binary heap, and the four
 * share one cache line: e[1] is 64-byte aligned and entries are 16 bytes).
 *
 *   pos[pfn] = i  <=>  e[i].pfn == pfn;   PHEAP_NONE: no entry
 *
 * The index of a frame's entry lives in the heap's own pos[] array (one
 * word per frame of the machine), never in struct page: a page can leave
 * the lists behind its policy's back (MADV_PAGEOUT isolates pages itself)
 * and be freed, and the frame may then become a slab or page-table page;
 * the heap must never write into it.  Such a stale entry is harmless: it
 * is dropped when it reaches the top and its page is not on a list, or
 * its slot is reused when the frame becomes a policy's page again (at
 * most one entry per frame, so n never exceeds the number of frames).
 *
 * Invariants (pheap_check):
 *  1. n <= cap; pos[e[i].pfn] == i for every i < n; exactly n frames
 *     have an entry.
 *  2. Heap order: e[(i - 1) / 2] <= e[i] for every 0 < i < n.
 *
 * Memory: 16 bytes per entry (cap of them) and 4 bytes per frame.
 * Locking: the machine lock.  SIGSAFE but pheap_init / pheap_fini.
 */
#ifndef VMEMU_POLICY_HEAP_H
#define VMEMU_POLICY_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PHEAP_NONE UINT32_MAX

struct pheap_ent {
	uint64_t lo;	  /* the key: hi, then lo */
	uint32_t hi, pfn; /* pfn < 2^32: pheap_init checks */
};

struct pheap {
	struct pheap_ent *e; /* e[0 .. n) */
	uint32_t *pos;	     /* nr_pfns entries */
	uint64_t n, cap, nr_pfns;
	void *mem; /* e's allocation */
};

/* pheap_check() results (invariants above); not errno values. */
enum pheap_check_err {
	PHEAP_CHECK_POS = -1701,   /* 1: pos[] and e[] disagree */
	PHEAP_CHECK_COUNT = -1702, /* 1: frames with an entry != n */
	PHEAP_CHECK_ORDER = -1703, /* 2: a parent above its child */
};

/*
 * An empty heap of at most cap entries over frames 0 .. nr_pfns; 0, or
 * -ENOMEM, or -EOVERFLOW (2^32 - 1 frames or more).
 */
int pheap_init(struct pheap *h, uint64_t cap, uint64_t nr_pfns);
void pheap_fini(struct pheap *h);

/* The entry of pfn, or NULL.  Change its key only through pheap_set. */
static inline struct pheap_ent *pheap_find(const struct pheap *h, uint64_t pfn)
{
	uint32_t i = h->pos[pfn];

	return i == PHEAP_NONE ? NULL : &h->e[i];
}

/* The smallest entry, or NULL when empty. */
static inline struct pheap_ent *pheap_top(const struct pheap *h)
{
	return h->n ? &h->e[0] : NULL;
}

/*
 * Give pfn the key (hi, lo): a new entry, or a new key for its entry.
 * false when a new entry does not fit (n == cap).
 */
bool pheap_set(struct pheap *h, uint64_t pfn, uint32_t hi, uint64_t lo);
/* Remove pfn's entry (if any). */
void pheap_del(struct pheap *h, uint64_t pfn);
/* Restore the order after keys changed in place (Floyd, O(n)). */
void pheap_rebuild(struct pheap *h);
/* Every entry: a callback that may change hi / lo (then pheap_rebuild). */
void pheap_for_each(struct pheap *h, void (*f)(struct pheap_ent *e, void *arg),
		    void *arg);
/* Keep only the entries keep() accepts (O(n)). */
void pheap_filter(struct pheap *h, bool (*keep)(uint64_t pfn, void *arg),
		  void *arg);
/* 0 or an enum pheap_check_err; O(n + nr_pfns). */
int pheap_check(const struct pheap *h);

#endif /* VMEMU_POLICY_HEAP_H */
