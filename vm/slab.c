/*
 * vm/slab.c - caches of fixed-size objects, carved from buddy blocks.
 *
 * A cache hands out objects of one size from slabs of 2^order frames taken
 * from the buddy allocator.  Objects sit back to back from the slab's first
 * byte; the tail that no whole object fits in is waste.  Every byte of
 * bookkeeping lives in the struct pages of the slab's own frames, so the
 * object area holds floor(slab bytes / size) objects, as /proc/slabinfo
 * reports, and nothing here ever calls malloc on the alloc/free path:
 *
 *   frames    | obj 0 | obj 1 | ...        | obj n-1 | waste |
 *             ^ head pfn (aligned to 2^order)
 *
 *   head page (PG_slab | PG_head)       tail page i (PG_slab), i = 1..2^k-1
 *     slab_cache      owning cache        slab_cache          owning cache
 *     private         inuse (objects)     private             i
 *     lru             link on one list    slab_lru_word[0..1] bitmap words
 *     slab_word[0..2] bitmap words 0..2   slab_word[0..2]     bitmap words
 *
 * Slot s is in use iff bit s%64 of bitmap word s/64 is set.  Word w < 3 is
 * head->slab_word[w]; word w >= 3 lives in tail page 1 + (w-3)/5, in its
 * slab_word[0..2] then slab_lru_word[0..1].  A slab thus holds at most
 * 192 + 320 * (2^order - 1) slots: order 0 fits objects of 24 bytes and up
 * (170 slots), so 16-byte objects (SLAB_MIN_SIZE) get order-1 slabs.
 *
 * The order is the smallest one (<= SLAB_MAX_ORDER) whose slab wastes at
 * most 1/SLAB_WASTE_FRACTION of its bytes and whose bitmap fits; failing
 * that, the smallest order that holds one object.  Each slab sits on one of
 * the cache's lists by its inuse count:
 *
 *   slabs[SLABS_FULL]     inuse == objperslab
 *   slabs[SLABS_PARTIAL]  0 < inuse < objperslab   (allocation takes these
 *   slabs[SLABS_FREE]     inuse == 0                first, then free ones)
 *
 * A slab emptied by slab_free stays on SLABS_FREE while the cache holds at
 * most SLAB_FREE_KEPT empty slabs; beyond that it goes back to the buddy at
 * once.  slab_shrink returns every empty slab.
 *
 * Cache descriptors are objects of the cache of caches, "kmem_cache", which
 * is bootstrapped as Linux does: a descriptor on the stack allocates the
 * first object of its own cache, is copied into it, and the slab is handed
 * over.  So kmem_cache counts itself among its objects.  Only the small
 * struct slab_allocator is host memory (malloc, once).
 *
 * Invariants (slab_check names the one that broke: enum slab_check_err):
 *  1. Every slab of a cache is on exactly the list its inuse selects.
 *  2. A slab's bitmap has popcount == inuse and no bit >= objperslab set.
 *  3. nr_slabs[l] == length of list l; active_objs == sum of inuse.
 *  4. Every frame of a slab has PG_slab and slab_cache == the cache; only
 *     the head has PG_head; the head pfn is aligned to 2^order; a tail's
 *     private is its offset from the head.
 *  5. nr_slabs[SLABS_FREE] <= SLAB_FREE_KEPT.
 *  6. size is a multiple of SLAB_ALIGN in [SLAB_MIN_SIZE, SLAB_MAX_SIZE];
 *     objperslab == (PAGE_SIZE << order) / size, >= 1, <= the bitmap's room.
 *
 * Frames come from a page source: the buddy directly, or (in a machine)
 * vm_alloc_pages with the cache's gfp.  The invariant walker is
 * vm/slab_check.c; the private structures are vm/slab_internal.h.
 *
 * Locking: none inside; the machine lock guards every cache, its slabs and
 * their struct pages.  SIGSAFE: slab_alloc, slab_free (and the page-source
 * calls they make).
 */
#include "vm/slab.h"
#include "vm/slab_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- geometry ---------------------------------------------------------- */

static bool order_fits(size_t size, unsigned order, unsigned fraction)
{
	size_t nbytes = PAGE_SIZE << order;
	size_t objs = nbytes / size;

	return objs >= 1 &&
	       objs <= (size_t)slab_bitmap_words(order) * BITS_PER_WORD &&
	       nbytes % size <= nbytes / fraction;
}

/* Smallest order with little waste, else the smallest that holds one. */
static unsigned slab_calc_order(size_t size)
{
	for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++)
		if (order_fits(size, order, SLAB_WASTE_FRACTION))
			return order;
	for (unsigned order = 0; order <= SLAB_MAX_ORDER; order++)
		if (order_fits(size, order, 1))
			return order;
	vm_bug(__FILE__, __LINE__, "no slab order fits"); /* size checked */
}

static void cache_init(struct slab_allocator *sa, struct slab_cache *c,
		       const char *name, size_t size)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, name);
	c->sa = sa;
	list_init(&c->list);
	for (int l = 0; l < NR_SLAB_LISTS; l++)
		list_init(&c->slabs[l]);
	c->size = (uint32_t)size;
	c->order = slab_calc_order(size);
	c->objperslab = (uint32_t)((PAGE_SIZE << c->order) / size);
	c->nr_words = (c->objperslab + BITS_PER_WORD - 1) / BITS_PER_WORD;
}

/* ---- one slab ---------------------------------------------------------- */

/* SIGSAFE: a fresh empty slab on SLABS_FREE, or NULL when no frame. */
static struct page *slab_grow(struct slab_cache *c)
{
	struct slab_allocator *sa = c->sa;
	unsigned nr_frames = 1u << c->order;
	struct page *head;
	pfn_t pfn;

	if (sa->pages.alloc(sa->pages.ctx, c->order, c->gfp, &pfn) != 0)
		return NULL;
	head = phys_page(sa->ph, pfn);
	for (unsigned i = 0; i < nr_frames; i++) {
		struct page *pg = head + i;

		pg->flags = PG_slab | (i == 0 ? PG_head : 0);
		pg->private = i; /* head: inuse == 0 */
		pg->slab_cache = c;
		memset(pg->slab_word, 0, sizeof(pg->slab_word));
		if (i > 0)
			memset(pg->slab_lru_word, 0, sizeof(pg->slab_lru_word));
	}
	list_add(&head->lru, &c->slabs[SLABS_FREE]);
	c->nr_slabs[SLABS_FREE]++;
	return head;
}

/* SIGSAFE: unlink the slab at head and give its frames to the buddy. */
static void slab_release(struct slab_cache *c, struct page *head)
{
	struct slab_allocator *sa = c->sa;
	unsigned order = c->order;

	list_del_init(&head->lru);
	c->nr_slabs[slab_list_of(c, head->private)]--;
	for (unsigned i = 0; i < (1u << order); i++) {
		struct page *pg = head + i;

		pg->flags &= ~(uint32_t)(PG_slab | PG_head);
		pg->private = 0;
		pg->slab_cache = NULL;
		memset(pg->slab_word, 0, sizeof(pg->slab_word));
		list_init(&pg->lru);
	}
	/* c may live in this very slab (kmem_cache's last one): no c below. */
	sa->pages.free(sa->pages.ctx, phys_pfn(sa->ph, head), order);
}

/* SIGSAFE: after inuse changed from old_inuse, put head on its list. */
static void slab_relist(struct slab_cache *c, struct page *head,
			uint32_t old_inuse)
{
	int from = slab_list_of(c, old_inuse);
	int to = slab_list_of(c, head->private);

	if (from == to)
		return;
	list_move(&head->lru, &c->slabs[to]);
	c->nr_slabs[from]--;
	c->nr_slabs[to]++;
}

static void *slab_obj(const struct slab_cache *c, struct page *head,
		      unsigned slot)
{
	uint8_t *base = phys_addr(c->sa->ph, phys_pfn(c->sa->ph, head));

	return base + (size_t)slot * c->size;
}

/* SIGSAFE: mark the lowest free slot of a non-full slab in use. */
static unsigned slab_take_slot(struct slab_cache *c, struct page *head)
{
	for (unsigned w = 0; w < c->nr_words; w++) {
		uint64_t *word = slab_word(head, w);
		uint64_t avail = ~*word & slab_word_mask(c, w);

		if (avail) {
			unsigned bit = (unsigned)__builtin_ctzll(avail);

			*word |= 1ULL << bit;
			return w * BITS_PER_WORD + bit;
		}
	}
	vm_bug(__FILE__, __LINE__, "no free slot off slabs_full");
}

/* ---- alloc / free ------------------------------------------------------ */

SIGSAFE void *slab_alloc(struct slab_cache *c)
{
	struct page *head;
	uint32_t old_inuse;
	unsigned slot;

	if (c->sa->failslab && should_fail(c->sa->failslab, c->size))
		return NULL;
	if (!list_empty(&c->slabs[SLABS_PARTIAL]))
		head = list_first_entry(&c->slabs[SLABS_PARTIAL], struct page,
					lru);
	else if (!list_empty(&c->slabs[SLABS_FREE]))
		head = list_first_entry(&c->slabs[SLABS_FREE], struct page,
					lru);
	else
		head = slab_grow(c);
	if (!head)
		return NULL;
	slot = slab_take_slot(c, head);
	old_inuse = head->private;
	head->private = old_inuse + 1;
	slab_relist(c, head, old_inuse);
	c->active_objs++;
	return slab_obj(c, head, slot);
}

/* SIGSAFE: the head page of the slab of c holding obj; BUG if none. */
static struct page *slab_head_of(const struct slab_cache *c, const void *obj)
{
	const struct phys *ph = c->sa->ph;
	uintptr_t base = (uintptr_t)ph->direct_map;
	uintptr_t addr = (uintptr_t)obj;
	struct page *pg;

	BUG_ON(addr < base || addr - base >= (ph->nr_pages << PAGE_SHIFT));
	pg = phys_page(ph, (addr - base) >> PAGE_SHIFT);
	BUG_ON(!(pg->flags & PG_slab));
	BUG_ON(pg->slab_cache != c);
	if (!(pg->flags & PG_head)) {
		BUG_ON(pg->private >= (1u << c->order));
		pg -= pg->private;
	}
	BUG_ON(!(pg->flags & PG_head));
	return pg;
}

SIGSAFE void slab_free(struct slab_cache *c, void *obj)
{
	struct page *head = slab_head_of(c, obj);
	size_t offset =
		(size_t)((uint8_t *)obj - (uint8_t *)slab_obj(c, head, 0));
	unsigned slot = (unsigned)(offset / c->size);
	uint64_t *word, bit;

	BUG_ON(offset % c->size != 0);
	BUG_ON(slot >= c->objperslab);
	word = slab_word(head, slot / BITS_PER_WORD);
	bit = 1ULL << (slot % BITS_PER_WORD);
	BUG_ON(!(*word & bit)); /* double free */
	*word &= ~bit;
	head->private -= 1;
	c->active_objs--;
	slab_relist(c, head, head->private + 1);
	if (head->private == 0 && c->nr_slabs[SLABS_FREE] > SLAB_FREE_KEPT)
		slab_release(c, head);
}

/* ---- caches ------------------------------------------------------------ */

/* Move every slab of src to the same list of dst (bootstrap only). */
static void cache_adopt_slabs(struct slab_cache *dst, struct slab_cache *src)
{
	for (int l = 0; l < NR_SLAB_LISTS; l++) {
		list_init(&dst->slabs[l]);
		while (!list_empty(&src->slabs[l])) {
			struct page *head = list_first_entry(&src->slabs[l],
							     struct page, lru);

			for (unsigned i = 0; i < (1u << src->order); i++)
				head[i].slab_cache = dst;
			list_move_tail(&head->lru, &dst->slabs[l]);
		}
	}
}

/* The default page source: the buddy allocator itself. */
static SIGSAFE int buddy_pages_alloc(void *ctx, unsigned order, gfp_t gfp,
				     pfn_t *pfn)
{
	(void)gfp;
	return buddy_alloc(ctx, order, pfn);
}

static SIGSAFE void buddy_pages_free(void *ctx, pfn_t pfn, unsigned order)
{
	buddy_free(ctx, pfn, order);
}

int slab_allocator_create(struct phys *ph, struct buddy *b,
			  const struct slab_page_source *pages,
			  struct fault_attr *failslab,
			  struct slab_allocator **out)
{
	struct slab_allocator *sa;
	struct slab_cache boot, *kc;

	sa = malloc(sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	sa->ph = ph;
	sa->pages = pages ? *pages :
			    (struct slab_page_source){ buddy_pages_alloc,
						       buddy_pages_free, b };
	sa->failslab = NULL; /* the bootstrap below must not fail on it */
	list_init(&sa->caches);
	cache_init(sa, &boot, KMEM_CACHE_NAME, sizeof(struct slab_cache));
	kc = slab_alloc(&boot);
	if (!kc) {
		free(sa);
		return -ENOMEM;
	}
	*kc = boot;
	cache_adopt_slabs(kc, &boot);
	list_init(&kc->list);
	list_add_tail(&kc->list, &sa->caches);
	sa->kmem_cache = kc;
	sa->failslab = failslab;
	*out = sa;
	return 0;
}

static uint64_t cache_shrink(struct slab_cache *c)
{
	uint64_t nr_frames = 0;

	while (!list_empty(&c->slabs[SLABS_FREE])) {
		slab_release(c, list_first_entry(&c->slabs[SLABS_FREE],
						 struct page, lru));
		nr_frames += 1u << c->order;
	}
	return nr_frames;
}

void slab_allocator_destroy(struct slab_allocator *sa)
{
	struct slab_cache *kc;
	struct list_head *pos, *tmp;

	if (!sa)
		return;
	kc = sa->kmem_cache;
	list_for_each_safe(pos, tmp, &sa->caches) {
		struct slab_cache *c = list_entry(pos, struct slab_cache, list);

		if (c != kc)
			slab_cache_destroy(c);
	}
	/* Left: kmem_cache's own descriptor, in its one non-empty slab. */
	BUG_ON(kc->active_objs != 1);
	cache_shrink(kc);
	BUG_ON(kc->nr_slabs[SLABS_FULL] + kc->nr_slabs[SLABS_PARTIAL] != 1);
	slab_release(kc, slab_head_of(kc, kc));
	free(sa);
}

static bool slab_name_ok(const char *name)
{
	return name && name[0] != '\0' &&
	       strnlen(name, SLAB_NAME_MAX) < SLAB_NAME_MAX;
}

int slab_cache_create(struct slab_allocator *sa, const char *name, size_t size,
		      struct slab_cache **out)
{
	struct slab_cache *c;

	if (!slab_name_ok(name) || size == 0 || size > SLAB_MAX_SIZE)
		return -EINVAL;
	size = MAX(size, (size_t)SLAB_MIN_SIZE);
	size = (size + SLAB_ALIGN - 1) & ~(size_t)(SLAB_ALIGN - 1);
	c = slab_alloc(sa->kmem_cache);
	if (!c)
		return -ENOMEM;
	cache_init(sa, c, name, size);
	list_add_tail(&c->list, &sa->caches);
	*out = c;
	return 0;
}

void slab_cache_set_gfp(struct slab_cache *c, gfp_t gfp)
{
	c->gfp = gfp;
}

void slab_cache_destroy(struct slab_cache *c)
{
	struct slab_allocator *sa = c->sa;

	BUG_ON(c == sa->kmem_cache);
	BUG_ON(c->active_objs != 0);
	cache_shrink(c);
	list_del_init(&c->list);
	slab_free(sa->kmem_cache, c);
}

uint64_t slab_shrink(struct slab_allocator *sa)
{
	uint64_t nr_frames = 0;
	struct list_head *pos;

	list_for_each(pos, &sa->caches)
		nr_frames +=
			cache_shrink(list_entry(pos, struct slab_cache, list));
	return nr_frames;
}

/* ---- reporting --------------------------------------------------------- */

void slab_cache_get_stats(const struct slab_cache *c,
			  struct slab_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->nr_full = c->nr_slabs[SLABS_FULL];
	st->nr_partial = c->nr_slabs[SLABS_PARTIAL];
	st->nr_free = c->nr_slabs[SLABS_FREE];
	st->active_slabs = st->nr_full + st->nr_partial;
	st->num_slabs = st->active_slabs + st->nr_free;
	st->active_objs = c->active_objs;
	st->num_objs = st->num_slabs * c->objperslab;
	st->objsize = c->size;
	st->objperslab = c->objperslab;
	st->pagesperslab = 1u << c->order;
	st->slab_bytes = st->num_slabs * (PAGE_SIZE << c->order);
	st->live_bytes = st->active_objs * c->size;
	st->free_slot_bytes = (st->num_objs - st->active_objs) * c->size;
	st->tail_bytes = st->slab_bytes - st->num_objs * c->size;
}

/* snprintf at buf+pos, tolerating pos >= len; returns the new pos. */
static size_t info_put(char *buf, size_t len, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t info_put(char *buf, size_t len, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (pos < len)
		n = vsnprintf(buf + pos, len - pos, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	return pos + (size_t)(n > 0 ? n : 0);
}

static size_t info_cache(const struct slab_cache *c, char *buf, size_t len,
			 size_t pos)
{
	struct slab_cache_stats st;

	slab_cache_get_stats(c, &st);
	pos = info_put(buf, len, pos, "%-17s %6lu %6lu %6u %4u %4d", c->name,
		       (unsigned long)st.active_objs,
		       (unsigned long)st.num_objs, (unsigned)st.objsize,
		       (unsigned)st.objperslab, (int)st.pagesperslab);
	pos = info_put(buf, len, pos, " : tunables %4u %4u %4u", 0u, 0u, 0u);
	return info_put(buf, len, pos, " : slabdata %6lu %6lu %6lu\n",
			(unsigned long)st.active_slabs,
			(unsigned long)st.num_slabs, 0UL);
}

int slab_info(const struct slab_allocator *sa, char *buf, size_t len)
{
	struct list_head *pos;
	size_t n;

	n = info_put(buf, len, 0, "slabinfo - version: 2.1\n");
	n = info_put(buf, len, n,
		     "# name            <active_objs> <num_objs> <objsize> "
		     "<objperslab> <pagesperslab> : tunables <limit> "
		     "<batchcount> <sharedfactor> : slabdata <active_slabs> "
		     "<num_slabs> <sharedavail>\n");
	list_for_each(pos, &sa->caches)
		n = info_cache(list_entry(pos, struct slab_cache, list), buf,
			       len, n);
	return (int)n;
}

/* ---- waste (/proc/slab_waste) ------------------------------------------ */

/* Waste in thousandths of the slab bytes (0 for a cache without slabs). */
static unsigned waste_permille(uint64_t slab_bytes, uint64_t live_bytes)
{
	return slab_bytes ? (unsigned)((slab_bytes - live_bytes) * 1000 /
				       slab_bytes) :
			    0;
}

static size_t waste_line(char *buf, size_t len, size_t pos, const char *name,
			 const struct slab_cache_stats *st)
{
	unsigned pm = waste_permille(st->slab_bytes, st->live_bytes);

	return info_put(buf, len, pos,
			"%-17s %10llu %10llu %10llu %3u.%u %10llu %10llu\n",
			name, (unsigned long long)st->slab_bytes,
			(unsigned long long)st->live_bytes,
			(unsigned long long)(st->slab_bytes - st->live_bytes),
			pm / 10, pm % 10,
			(unsigned long long)st->free_slot_bytes,
			(unsigned long long)st->tail_bytes);
}

int slab_waste_info(const struct slab_allocator *sa, char *buf, size_t len)
{
	struct slab_cache_stats st, sum = { 0 };
	struct list_head *pos;
	size_t n;

	n = info_put(buf, len, 0,
		     "# name            <slab_bytes> <live_bytes> "
		     "<waste_bytes> <waste%%> <free_slot_bytes> "
		     "<tail_bytes>\n");
	list_for_each(pos, &sa->caches) {
		slab_cache_get_stats(list_entry(pos, struct slab_cache, list),
				     &st);
		n = waste_line(buf, len, n,
			       list_entry(pos, struct slab_cache, list)->name,
			       &st);
		sum.slab_bytes += st.slab_bytes;
		sum.live_bytes += st.live_bytes;
		sum.free_slot_bytes += st.free_slot_bytes;
		sum.tail_bytes += st.tail_bytes;
	}
	return (int)waste_line(buf, len, n, "total", &sum);
}
