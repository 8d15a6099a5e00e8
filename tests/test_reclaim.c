/*
 * tests/test_reclaim.c - memory pressure end to end: tasks that touch more
 * memory than the machine has keep running, their data intact, through
 * reclaim and swap; and when there is nowhere to put pages, the OOM entry
 * point ends a task instead of anything hanging.
 *
 * The integrity workload writes a pattern that names (task, page,
 * generation) into every page, sequentially and then in a seeded random
 * order, several passes, and checks every page it reads; native mode
 * through real loads and stores, trace mode through vm_read/vm_write.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#define PAGE	      4096ULL
#define MiB	      (1ULL << 20)
#define RW	      (VM_PROT_READ | VM_PROT_WRITE)
#define ANON	      (VM_MAP_PRIVATE | VM_MAP_ANON)
#define WORDS_CHECKED 4 /* words per page written and verified */

struct wl {
	uint64_t npages;
	unsigned passes;
	uint64_t seed;
	atomic_uint_fast64_t *mismatches;
};

static uint64_t pattern(int pid, uint64_t page, unsigned gen, unsigned w)
{
	uint64_t x = ((uint64_t)pid << 40) ^ (page << 8) ^ gen ^
		     ((uint64_t)w << 56);

	return x * 0x9E3779B97F4A7C15ULL + 1;
}

/* Word w of page i, through the window or through vm_read/vm_write. */
static int word_io(struct vm_task *t, uint64_t base, uint64_t i, unsigned w,
		   uint64_t *v, bool write)
{
	uint64_t va = base + i * PAGE + w * (PAGE / WORDS_CHECKED);
	uint64_t *p = vm_ptr(t, va);

	if (p) {
		if (write)
			*p = *v;
		else
			*v = *p;
		return 0;
	}
	return write ? vm_write(t, va, v, sizeof(*v)) :
		       vm_read(t, va, v, sizeof(*v));
}

/* Check page i holds generation gen, then write generation gen + 1. */
static uint64_t touch_page(struct vm_task *t, uint64_t base, uint64_t i,
			   unsigned gen)
{
	int pid = vm_getpid(t);
	uint64_t bad = 0, v;

	for (unsigned w = 0; w < WORDS_CHECKED; w++) {
		if (gen && (word_io(t, base, i, w, &v, false) ||
			    v != pattern(pid, i, gen, w)))
			bad++;
		v = pattern(pid, i, gen + 1, w);
		if (word_io(t, base, i, w, &v, true))
			bad++;
	}
	return bad;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* passes x (sequential, then a seeded permutation) over npages. */
static int integrity_fn(struct vm_task *t, void *arg)
{
	struct wl *w = arg;
	uint64_t base = vm_mmap(t, 0, w->npages * PAGE, RW, ANON), bad = 0;
	uint64_t s = w->seed ^ (uint64_t)vm_getpid(t), *gen;
	uint64_t order_va;

	if (vm_mmap_failed(base))
		return 1;
	/* The generation of each page lives in task memory too. */
	order_va = vm_mmap(t, 0, w->npages * sizeof(*gen), RW, ANON);
	if (vm_mmap_failed(order_va))
		return 1;
	for (unsigned pass = 0; pass < w->passes; pass++) {
		for (uint64_t k = 0; k < w->npages; k++) {
			uint64_t i = (pass & 1) ? rnd(&s) % w->npages : k;
			uint64_t g;

			if (vm_read(t, order_va + i * sizeof(g), &g, sizeof(g)))
				return 1;
			bad += touch_page(t, base, i, (unsigned)g);
			g++;
			if (vm_write(t, order_va + i * sizeof(g), &g,
				     sizeof(g)))
				return 1;
		}
	}
	atomic_fetch_add(w->mismatches, bad);
	return bad ? 2 : 0;
}

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

struct pressure_cfg {
	enum vm_mode mode;
	bool kswapd;
	uint64_t mem, swap;
	unsigned tasks;
	uint64_t pages_per_task;
	unsigned passes;
};

static void run_pressure(const struct pressure_cfg *pc)
{
	struct vm_config cfg;
	struct vm *vm;
	struct wl w;
	atomic_uint_fast64_t mismatches = 0;
	uint64_t free0, swap0;
	struct vm_stat st;
	int pid[16];

	vm_config_init(&cfg);
	cfg.mode = pc->mode;
	cfg.mem_bytes = pc->mem;
	cfg.swap_bytes = pc->swap;
	cfg.kswapd = pc->kswapd;
	vm = vmtest_create_cfg(&cfg);
	st = stat_of(vm);
	free0 = st.nr_free_pages + vmtest_slab_pages(vm);
	swap0 = st.nr_swap_free;
	w = (struct wl){ pc->pages_per_task, pc->passes,
			 vmtest_seed("run_pressure"), &mismatches };
	for (unsigned i = 0; i < pc->tasks; i++) {
		pid[i] = vm_spawn(vm, "integrity", 0, integrity_fn, &w);
		assert_true(pid[i] > 0);
	}
	for (unsigned i = 0; i < pc->tasks; i++) {
		struct vm_exit ex;

		assert_int_equal(vm_wait(vm, pid[i], &ex), pid[i]);
		if (ex.reason != VM_EXIT_NORMAL || ex.code != 0)
			fail_msg("task %d: reason %d code %d", pid[i],
				 ex.reason, ex.code);
	}
	st = stat_of(vm);
	print_message("%s kswapd=%d: pswpout %llu pswpin %llu pgmajfault %llu "
		      "allocstall %llu pgsteal k/d %llu/%llu refault %llu\n",
		      pc->mode == VM_MODE_NATIVE ? "native" : "trace",
		      pc->kswapd, (unsigned long long)st.pswpout,
		      (unsigned long long)st.pswpin,
		      (unsigned long long)st.pgmajfault,
		      (unsigned long long)st.allocstall,
		      (unsigned long long)st.pgsteal_kswapd,
		      (unsigned long long)st.pgsteal_direct,
		      (unsigned long long)st.workingset_refault_anon);
	assert_int_equal(atomic_load(&mismatches), 0);
	assert_true(st.pswpout > 0);
	assert_true(st.pswpin > 0);
	assert_int_equal(st.nr_swap_free, swap0); /* every slot free again */
	assert_int_equal(st.nr_swapcached, 0);
	assert_int_equal(st.nr_free_pages + vmtest_slab_pages(vm), free0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

static void test_reclaim_integrity_trace_direct(void **state)
{
	struct pressure_cfg pc = { VM_MODE_TRACE, false, 16 * MiB, 80 * MiB, 4,
				   4096,	  3 };

	(void)state;
	run_pressure(&pc);
}

static void test_reclaim_integrity_trace_kswapd(void **state)
{
	struct pressure_cfg pc = { VM_MODE_TRACE, true, 16 * MiB, 80 * MiB, 4,
				   4096,	  3 };

	(void)state;
	run_pressure(&pc);
}

static void test_reclaim_integrity_native_direct(void **state)
{
	struct pressure_cfg pc = { VM_MODE_NATIVE, false, 16 * MiB, 80 * MiB, 4,
				   4096,	   3 };

	(void)state;
	run_pressure(&pc);
}

static void test_reclaim_integrity_native_kswapd(void **state)
{
	struct pressure_cfg pc = { VM_MODE_NATIVE, true, 16 * MiB, 80 * MiB, 4,
				   4096,	   3 };

	(void)state;
	run_pressure(&pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_reclaim_integrity_trace_direct),
		VMTEST(test_reclaim_integrity_trace_kswapd),
		VMTEST(test_reclaim_integrity_native_direct),
		VMTEST(test_reclaim_integrity_native_kswapd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
