/*
 * base/list.h - intrusive circular doubly linked lists, as in Linux.
 *
 * A `struct list_head` embedded in an object links it into one list; an
 * empty list (or an unlinked node after list_del_init) points at itself.
 * No allocation, no locking: the owner of the list guards it.  SIGSAFE.
 */
#ifndef VMEMU_LIST_H
#define VMEMU_LIST_H

#include <stdbool.h>

#include "base/types.h"

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name)     \
	{                        \
		&(name), &(name) \
	}

static inline void list_init(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void __list_add(struct list_head *n, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* Insert n right after h (stack order). */
static inline void list_add(struct list_head *n, struct list_head *h)
{
	__list_add(n, h, h->next);
}

/* Insert n right before h (queue order: h->next is the oldest). */
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	__list_add(n, h->prev, h);
}

/* Unlink n from its neighbours; n's own links are left stale. */
static inline void __list_unlink(struct list_head *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
}

static inline void list_del_init(struct list_head *n)
{
	__list_unlink(n);
	list_init(n);
}

/* Move n to right after h (n may already be there, or be h->prev). */
static inline void list_move(struct list_head *n, struct list_head *h)
{
	__list_unlink(n);
	list_add(n, h);
}

static inline void list_move_tail(struct list_head *n, struct list_head *h)
{
	__list_unlink(n);
	list_add_tail(n, h);
}

#define list_entry(ptr, type, member)	  container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_last_entry(h, type, member)  list_entry((h)->prev, type, member)

#define list_for_each(pos, h) \
	for ((pos) = (h)->next; (pos) != (h); (pos) = (pos)->next)
#define list_for_each_safe(pos, tmp, h)                            \
	for ((pos) = (h)->next, (tmp) = (pos)->next; (pos) != (h); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif /* VMEMU_LIST_H */
