/*
 * tests/test_lru.c - the "linux" replacement policy against a small
 * independent model of Linux's two-list rules.
 *
 * Trace mode, one task, plenty of memory and kswapd off, so that nothing
 * reclaims but the test: it touches pages through vm_access (exact
 * accessed bits) and calls one shrink pass at a time.  The model keeps the
 * two lists as arrays (head first) and applies, independently of the code
 * under test:
 *
 *  - a new page enters the inactive head; a refault enters the active head
 *    when its refault distance (the eviction/activation clock now minus at
 *    eviction) is within the active list's size, else the inactive head;
 *  - a pass at priority p may scan (size >> p) pages of each list (the
 *    machine runs at swappiness 200 and has no file pages, so
 *    get_scan_count gives the anonymous lists their whole share); the
 *    active list only if, at the pass's start, inactive * 1 < active
 *    (less than 1 GiB) or a refault activated a page since the last pass
 *    (may_deactivate);
 *  - rounds (Linux's shrink_lruvec), while the inactive budget lasts: up
 *    to 32 pages from the inactive tail - accessed -> keep (PG_referenced
 *    set) to the head, or activate if PG_referenced was already set (the
 *    clock ticks); not accessed -> evicted (the clock ticks; the shadow
 *    remembers it and PG_workingset) - then up to 32 pages deactivated
 *    from the active tail (accessed bits cleared, PG_workingset set, each
 *    to the inactive head in turn);
 *  - until a round ends with the pass's target freed.
 *
 * After every operation the machine's lists must equal the model's, page
 * for page and in order, with the same PG_active/PG_referenced bits and
 * the same refault, activation and restore counts.  Randomized: seed
 * printed, SEED= to rerun.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "vm/phys.h"

#define PAGE	  4096ULL
#define NPAGES	  192
#define BATCH	  32
#define ROUNDS	  400
#define L_INACT	  0 /* LRU_INACTIVE_ANON */
#define L_ACT	  1 /* LRU_ACTIVE_ANON */
#define NOT_THERE (-1)

struct mpage {
	bool resident, ever, accessed, referenced, workingset;
	bool shadow_ws;
	uint64_t shadow; /* the clock at eviction */
};

struct model {
	struct mpage pg[NPAGES];
	int list[2][NPAGES]; /* page ids, head first */
	unsigned n[2];
	uint64_t clock;
	uint64_t refault, activate, restore;
	uint64_t activate_seen; /* at the end of the last pass */
};

static void push_head(struct model *m, int l, int id)
{
	memmove(&m->list[l][1], &m->list[l][0], m->n[l] * sizeof(int));
	m->list[l][0] = id;
	m->n[l]++;
}

static int pop_tail(struct model *m, int l)
{
	return m->n[l] ? m->list[l][--m->n[l]] : NOT_THERE;
}

static void touch(struct model *m, int id)
{
	struct mpage *p = &m->pg[id];
	bool active = false;

	if (p->resident) {
		p->accessed = true;
		return;
	}
	if (p->ever) { /* a refault */
		uint64_t distance = m->clock - p->shadow;

		m->refault++;
		if (distance <= m->n[L_ACT]) {
			active = true;
			m->clock++;
			m->activate++;
			if (p->shadow_ws)
				m->restore++;
		}
	}
	*p = (struct mpage){ .resident = true,
			     .ever = true,
			     .accessed = true,
			     .workingset = active && p->shadow_ws };
	push_head(m, active ? L_ACT : L_INACT, id);
}

static void deactivate(struct model *m, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		int id = pop_tail(m, L_ACT);

		if (id == NOT_THERE)
			return;
		m->pg[id].accessed = false;
		m->pg[id].workingset = true;
		push_head(m, L_INACT, id);
	}
}

/*
 * One batch off the inactive tail: the references decide; the victims are
 * evicted first (each takes a clock stamp), then the others go back to the
 * heads in the order they were looked at (an activation ticks the clock),
 * as Linux's shrink_folio_list and move_folios_to_lru.
 */
static unsigned scan_batch(struct model *m, uint64_t *budget)
{
	uint64_t want = MIN(*budget, (uint64_t)BATCH);
	unsigned n = 0, freed = 0;
	int ids[BATCH], to[BATCH]; /* -1 evict, L_INACT keep, L_ACT activate */

	while (n < want && m->n[L_INACT])
		ids[n++] = pop_tail(m, L_INACT);
	*budget = n < want ? 0 : *budget - n;
	for (unsigned i = 0; i < n; i++) {
		struct mpage *p = &m->pg[ids[i]];
		bool was_referenced = p->referenced;

		p->referenced = false;
		to[i] = NOT_THERE;
		if (p->accessed) {
			p->accessed = false;
			p->referenced = true;
			to[i] = was_referenced ? L_ACT : L_INACT;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct mpage *p = &m->pg[ids[i]];

		if (to[i] != NOT_THERE)
			continue;
		p->resident = false;
		p->shadow = m->clock++;
		p->shadow_ws = p->workingset;
		freed++;
	}
	for (unsigned i = 0; i < n; i++) {
		if (to[i] == NOT_THERE)
			continue;
		push_head(m, to[i], ids[i]);
		if (to[i] == L_ACT)
			m->clock++;
	}
	return freed;
}

static uint64_t shrink(struct model *m, unsigned prio, uint64_t target)
{
	bool deact = m->activate != m->activate_seen ||
		     m->n[L_INACT] < m->n[L_ACT];
	uint64_t budget[2] = { m->n[L_INACT] >> prio,
			       deact ? m->n[L_ACT] >> prio : 0 };
	uint64_t freed = 0;

	while (freed < target && budget[L_INACT]) {
		freed += scan_batch(m, &budget[L_INACT]);
		if (budget[L_ACT]) {
			unsigned nr =
				(unsigned)MIN(budget[L_ACT], (uint64_t)BATCH);

			deactivate(m, nr);
			budget[L_ACT] -= nr;
		}
	}
	m->activate_seen = m->activate;
	return freed;
}

/* The machine equals the model, list for list and bit for bit. */
static void compare(struct model *m, struct vm *vm, struct vm_task *t,
		    uint64_t base)
{
	uint64_t va[NPAGES];
	struct vm_stat st;

	for (int l = 0; l < 2; l++) {
		unsigned n = vmtest_lru_list(vm, l, va, NPAGES);

		assert_int_equal(n, m->n[l]);
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(va[i],
					 base + (uint64_t)m->list[l][i] * PAGE);
	}
	for (int id = 0; id < NPAGES; id++) {
		const struct mpage *p = &m->pg[id];
		uint32_t f = vmtest_page_flags(t, base + (uint64_t)id * PAGE);

		assert_int_equal(!!f, p->resident);
		if (!p->resident)
			continue;
		assert_int_equal(!!(f & PG_referenced), p->referenced);
		assert_int_equal(!!(f & PG_workingset), p->workingset);
	}
	vm_stat(vm, &st);
	assert_int_equal(st.workingset_refault_anon, m->refault);
	assert_int_equal(st.workingset_activate_anon, m->activate);
	assert_int_equal(st.workingset_restore_anon, m->restore);
}

static uint64_t rnd(uint64_t *s)
{
	return vmtest_rand(s);
}

static struct vm *lru_machine(void)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 64ULL << 20;
	cfg.swap_bytes = 16ULL << 20;
	cfg.kswapd = false;
	cfg.page_cluster = 0; /* a refault reads just its page */
	cfg.swappiness = 200; /* anon lists get their whole scan share */
	return vmtest_create_cfg(&cfg);
}

/* A random walk of touches (skewed: a hot quarter) and shrink passes. */
static void test_lru_matches_model(void **state)
{
	static struct model m;
	uint64_t seed = vmtest_seed("test_lru_matches_model"), s = seed;
	struct vm *vm = lru_machine();
	struct parked p;
	uint64_t base;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_true(park_spawn(vm, &p, "lru") > 0);
	base = vm_mmap(p.t, 0, NPAGES * PAGE, VM_PROT_READ | VM_PROT_WRITE,
		       VM_MAP_PRIVATE | VM_MAP_ANON);
	for (int round = 0; round < ROUNDS; round++) {
		unsigned touches = (unsigned)(rnd(&s) % 48);

		for (unsigned i = 0; i < touches; i++) {
			int id = (int)(rnd(&s) % 4 ? rnd(&s) % (NPAGES / 4) :
						     rnd(&s) % NPAGES);

			assert_int_equal(
				vm_access(p.t, base + (uint64_t)id * PAGE, 1),
				0);
			touch(&m, id);
		}
		compare(&m, vm, p.t, base);
		if (rnd(&s) % 2) {
			unsigned prio = (unsigned)(rnd(&s) % 4);
			uint64_t target = BATCH * (1 + rnd(&s) % 2);
			uint64_t want = shrink(&m, prio, target);
			uint64_t got = vmtest_shrink(vm, prio, target);

			/* got may add empty slab frames; pages are compared */
			assert_true(got >= want);
			compare(&m, vm, p.t, base);
		}
	}
	assert_int_equal(vmtest_check_all(vm), 0);
	{
		struct vm_stat st;

		vm_stat(vm, &st);
		print_message("refaults %llu activated %llu restored %llu "
			      "deactivated %llu\n",
			      (unsigned long long)m.refault,
			      (unsigned long long)m.activate,
			      (unsigned long long)m.restore,
			      (unsigned long long)st.pgdeactivate);
		/* The walk went through every rule at least once. */
		assert_true(m.refault && m.activate && m.restore &&
			    st.pgdeactivate && st.pgactivate);
	}
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

/*
 * The two-touch rule by hand.  A page's first touch sets its accessed bit,
 * so the first scan keeps every page (PG_referenced); a page not touched
 * again goes at the next scan, one touched again is activated.
 */
static void test_lru_two_touch_worked_example(void **state)
{
	struct vm *vm = lru_machine();
	struct parked p;
	uint64_t base, va[NPAGES];
	struct vm_stat st;

	(void)state;
	assert_true(park_spawn(vm, &p, "two-touch") > 0);
	base = vm_mmap(p.t, 0, 64 * PAGE, VM_PROT_READ | VM_PROT_WRITE,
		       VM_MAP_PRIVATE | VM_MAP_ANON);
	for (int i = 0; i < 64; i++) /* p0 at the tail, p63 at the head */
		assert_int_equal(vm_access(p.t, base + i * PAGE, 1), 0);
	/* Priority 1: half the list (p0..p31) is scanned; all are kept. */
	vmtest_shrink(vm, 1, BATCH);
	for (int i = 0; i < 64; i++)
		assert_int_equal(!!(vmtest_page_flags(p.t, base + i * PAGE) &
				    PG_referenced),
				 i < 32);
	assert_int_equal(vmtest_lru_list(vm, L_INACT, va, NPAGES), 64);
	assert_int_equal(va[0], base + 31 * PAGE); /* kept to the head */
	assert_int_equal(va[63], base + 32 * PAGE);
	/* p0..p7 touched again; p32..p63 come up next: kept (first look). */
	for (int i = 0; i < 8; i++)
		assert_int_equal(vm_access(p.t, base + i * PAGE, 0), 0);
	vmtest_shrink(vm, 1, BATCH);
	assert_int_equal(vmtest_lru_list(vm, L_INACT, va, NPAGES), 64);
	/* Now p0..p31: p0..p7 activated, p8..p31 evicted. */
	vmtest_shrink(vm, 1, BATCH);
	assert_int_equal(vmtest_lru_list(vm, L_ACT, va, NPAGES), 8);
	assert_int_equal(va[0], base + 7 * PAGE);
	for (int i = 0; i < 64; i++)
		assert_int_equal(vmtest_page_flags(p.t, base + i * PAGE) != 0,
				 i < 8 || i >= 32);
	vm_stat(vm, &st);
	assert_int_equal(st.pgactivate, 8);
	assert_int_equal(st.pswpout, 24);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_lru_two_touch_worked_example),
		VMTEST(test_lru_matches_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
