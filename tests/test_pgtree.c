/*
 * tests/test_pgtree.c - the page cache's radix tree (vm/pgtree.h) against
 * a tiny model: a sorted array of (index, value) pairs.
 *
 * Random sets, clears, gets and next-searches, over indices drawn near 0,
 * near page offsets of big files and near 2^64 (every height of the
 * tree), compared with the model after each step, and pgtree_check clean
 * after each one.  An insertion whose node allocation fails (failslab,
 * the N-th allocation for N = 1, 2, ...) leaves the tree exactly as it
 * was.  Randomized: seed printed, SEED= to rerun.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "vm/filemap.h"
#include "vm/machine.h"
#include "vm/pgtree.h"

#define MODEL_MAX 4096
#define STEPS	  20000

struct model {
	unsigned n;
	uint64_t idx[MODEL_MAX], val[MODEL_MAX];
};

/* The position of index in the model (or where it would go). */
static unsigned find(const struct model *m, uint64_t index)
{
	unsigned lo = 0, hi = m->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (m->idx[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t model_get(const struct model *m, uint64_t index)
{
	unsigned i = find(m, index);

	return i < m->n && m->idx[i] == index ? m->val[i] : 0;
}

static void model_set(struct model *m, uint64_t index, uint64_t val)
{
	unsigned i = find(m, index);

	if (i < m->n && m->idx[i] == index) {
		m->val[i] = val;
		return;
	}
	memmove(&m->idx[i + 1], &m->idx[i], (m->n - i) * sizeof(uint64_t));
	memmove(&m->val[i + 1], &m->val[i], (m->n - i) * sizeof(uint64_t));
	m->idx[i] = index;
	m->val[i] = val;
	m->n++;
}

static void model_clear(struct model *m, uint64_t index)
{
	unsigned i = find(m, index);

	if (i >= m->n || m->idx[i] != index)
		return;
	memmove(&m->idx[i], &m->idx[i + 1], (m->n - i - 1) * sizeof(uint64_t));
	memmove(&m->val[i], &m->val[i + 1], (m->n - i - 1) * sizeof(uint64_t));
	m->n--;
}

/* An index near one of a few regions, so that entries share nodes. */
static uint64_t draw_index(uint64_t *s)
{
	static const uint64_t base[] = { 0, 1ULL << 20, 1ULL << 36,
					 UINT64_MAX - 5000 };
	uint64_t r = vmtest_rand(s);

	return base[r % 4] + (r >> 8) % 5000;
}

static void compare(const struct pgtree *t, const struct model *m,
		    uint64_t probe)
{
	uint64_t idx = probe, val;
	unsigned i = find(m, probe);

	assert_int_equal(pgtree_check(t), 0);
	assert_int_equal(t->nr_entries, m->n);
	assert_int_equal(pgtree_get(t, probe), model_get(m, probe));
	if (i < m->n) {
		assert_true(pgtree_next(t, &idx, &val));
		assert_int_equal(idx, m->idx[i]);
		assert_int_equal(val, m->val[i]);
	} else {
		assert_false(pgtree_next(t, &idx, &val));
	}
}

static void test_pgtree_matches_model(void **state)
{
	static struct model m;
	struct vm *vm = vmtest_create(VM_MODE_TRACE, 64ULL << 20);
	uint64_t seed = vmtest_seed("test_pgtree_matches_model"), s = seed;
	struct pgtree t;
	unsigned walked = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	vmtest_lock(vm);
	pgtree_init(&t, vm->pcache->node_cache);
	for (int step = 0; step < STEPS; step++) {
		uint64_t index = draw_index(&s), op = vmtest_rand(&s) % 8;

		if (op < 4 && m.n < MODEL_MAX) {
			uint64_t val = vmtest_rand(&s) | 1;

			assert_int_equal(pgtree_set(&t, index, val), 0);
			model_set(&m, index, val);
		} else if (op < 7) {
			assert_int_equal(pgtree_clear(&t, index),
					 model_get(&m, index));
			model_clear(&m, index);
		}
		compare(&t, &m, draw_index(&s));
	}
	/* A walk of every entry in order with pgtree_next. */
	for (uint64_t idx = 0, val; pgtree_next(&t, &idx, &val); idx++) {
		assert_int_equal(idx, m.idx[walked]);
		walked++;
		if (idx == UINT64_MAX)
			break;
	}
	assert_int_equal(walked, m.n);
	while (m.n) {
		assert_int_equal(pgtree_clear(&t, m.idx[0]), m.val[0]);
		model_clear(&m, m.idx[0]);
	}
	assert_int_equal(pgtree_check(&t), 0);
	assert_int_equal(t.nr_nodes, 0);
	assert_null(t.root);
	vmtest_unlock(vm);
	vmtest_destroy(vm);
}

/* Failing the N-th node allocation of an insertion changes nothing. */
static void test_pgtree_failed_insert_changes_nothing(void **state)
{
	struct vm *vm = vmtest_create(VM_MODE_TRACE, 64ULL << 20);
	struct pgtree t;
	int done = 0, failures = 0;

	(void)state;
	for (unsigned long n = 1; !done; n++) {
		struct vm_fault_attr nth = { 100, n, 1, 0 };
		uint64_t nodes, entries;
		int rc;

		vmtest_lock(vm);
		pgtree_init(&t, vm->pcache->node_cache);
		assert_int_equal(pgtree_set(&t, 3, 7), 0);
		assert_int_equal(pgtree_set(&t, 1ULL << 40, 9), 0);
		nodes = t.nr_nodes;
		entries = t.nr_entries;
		vmtest_unlock(vm);
		assert_int_equal(vm_fault_inject(vm, "failslab", &nth), 0);
		vmtest_lock(vm);
		rc = pgtree_set(&t, UINT64_MAX - 1, 11); /* a taller tree */
		if (rc == 0) {
			done = 1;
			assert_int_equal(pgtree_get(&t, UINT64_MAX - 1), 11);
		} else {
			assert_int_equal(rc, -ENOMEM);
			failures++;
			assert_int_equal(t.nr_nodes, nodes);
			assert_int_equal(t.nr_entries, entries);
			assert_int_equal(pgtree_get(&t, 3), 7);
			assert_int_equal(pgtree_get(&t, 1ULL << 40), 9);
			assert_int_equal(pgtree_get(&t, UINT64_MAX - 1), 0);
		}
		assert_int_equal(pgtree_check(&t), 0);
		pgtree_destroy(&t);
		assert_int_equal(t.nr_nodes, 0);
		vmtest_unlock(vm);
		nth.probability = 0;
		assert_int_equal(vm_fault_inject(vm, "failslab", &nth), 0);
		assert_true(n < 64);
	}
	assert_true(failures >= 4); /* new roots and a new path */
	vmtest_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_pgtree_matches_model),
		VMTEST(test_pgtree_failed_insert_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
