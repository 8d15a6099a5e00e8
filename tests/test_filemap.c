/*
 * tests/test_filemap.c - file pages: the page cache, shared and private
 * file mappings, reclaim of file pages (clean drop, write-back), the
 * swappiness balance, truncation, I/O errors.
 *
 * The reference is the host file itself and a model of it: every test
 * makes a temporary file whose page i holds a pattern of (i, generation),
 * keeps the generation each page should have, and compares the file (read
 * with pread, after the tasks are gone) and the mapped bytes against it.
 * Every test ends with every invariant walker (vmtest_check_all: mm_check
 * with the file-page rules, lru_check, swap and filemap_check).
 * Randomized tests print their seed (SEED= to rerun).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "vm/filemap.h"
#include "vm/mm.h"
#include "vm/vma.h"
#include "workloads/wl.h"

#define PAGE	   4096ULL
#define KiB	   1024ULL
#define MiB	   (1ULL << 20)
#define RW	   (VM_PROT_READ | VM_PROT_WRITE)
#define SHARED	   VM_MAP_SHARED
#define PRIVATE	   VM_MAP_PRIVATE
#define PAGE_WORDS (PAGE / sizeof(uint64_t))
#define NELEMS(a)  (sizeof(a) / sizeof((a)[0]))

/* ---- the file and its model -------------------------------------------- */

/* Word w of page i at generation gen (0: as the file was made). */
static uint64_t pat(uint64_t i, uint32_t gen, unsigned w)
{
	uint64_t x = (i << 20) ^ ((uint64_t)gen << 44) ^ w;

	return x * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
}

static void fill(uint64_t *buf, uint64_t i, uint32_t gen)
{
	for (unsigned w = 0; w < PAGE_WORDS; w++)
		buf[w] = pat(i, gen, w);
}

/* An unlinked temporary file of npages pattern pages, read-write. */
static int make_file(uint64_t npages)
{
	char path[] = "/tmp/vmemu-filemap-XXXXXX";
	uint64_t buf[PAGE_WORDS];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	for (uint64_t i = 0; i < npages; i++) {
		fill(buf, i, 0);
		assert_int_equal(pwrite(fd, buf, PAGE, (off_t)(i * PAGE)),
				 (ssize_t)PAGE);
	}
	return fd;
}

/* Does page i of the file hold generation gen? */
static bool file_page_is(int fd, uint64_t i, uint32_t gen)
{
	uint64_t buf[PAGE_WORDS], want[PAGE_WORDS];

	if (pread(fd, buf, PAGE, (off_t)(i * PAGE)) != (ssize_t)PAGE)
		return false;
	fill(want, i, gen);
	return memcmp(buf, want, PAGE) == 0;
}

/* The pages of the file that differ from the model gen[]. */
static uint64_t file_mismatches(int fd, const uint32_t *gen, uint64_t n)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < n; i++)
		bad += !file_page_is(fd, i, gen ? gen[i] : 0);
	return bad;
}

/* ---- accesses as the task makes them ------------------------------------ */

/*
 * The task's CPU through its window (native mode): every load and store of
 * page bytes the test makes goes through here, so that tests/tsan.supp can
 * name it - the window aliasing TSan cannot follow (a revoke by another
 * thread, ordered by the trap and the machine lock).
 */
__attribute__((noinline)) static void
filemap_window_copy(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

/* Read page i at va and compare it with generation gen; 0 or -1. */
static int check_page(struct vm_task *t, uint64_t va, uint64_t i, uint32_t gen)
{
	uint64_t buf[PAGE_WORDS], want[PAGE_WORDS];
	const uint64_t *p = vm_ptr(t, va);

	fill(want, i, gen);
	if (p)
		filemap_window_copy(buf, p, PAGE);
	else if (vm_read(t, va, buf, PAGE))
		return -1;
	return memcmp(buf, want, PAGE) ? -1 : 0;
}

/* Write generation gen of page i at va; 0 or -1. */
static int write_page(struct vm_task *t, uint64_t va, uint64_t i, uint32_t gen)
{
	uint64_t buf[PAGE_WORDS];
	uint64_t *p = vm_ptr(t, va);

	fill(buf, i, gen);
	if (p) {
		filemap_window_copy(p, buf, PAGE);
		return 0;
	}
	return vm_write(t, va, buf, PAGE) ? -1 : 0;
}

static struct vm *machine(enum vm_mode mode, uint64_t mem, uint64_t swap)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = mem;
	cfg.swap_bytes = swap;
	return vmtest_create_cfg(&cfg);
}

static struct vm_stat stat_of(struct vm *vm)
{
	struct vm_stat st;

	vm_stat(vm, &st);
	return st;
}

/* The value of a "Name:   N kB" line of meminfo, in kB; -1 if absent. */
static long long meminfo_kb(struct vm *vm, const char *name)
{
	char buf[4096], key[64];
	const char *p;

	assert_true(vm_procfs(vm, "meminfo", buf, sizeof(buf)) > 0);
	snprintf(key, sizeof(key), "\n%s:", name);
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* ---- the page cache is shared -------------------------------------------- */

/*
 * Two tasks map one file (through two descriptors): the first reads every
 * page (major faults, readahead), the second maps the very same frames
 * (minor faults).  Every byte is the file's.
 */
static void cache_shared(enum vm_mode mode)
{
	struct vm *vm = machine(mode, 16 * MiB, 0);
	const uint64_t n = 64;
	int fd = make_file(n), fd2 = dup(fd);
	struct parked a, b;
	uint64_t va, vb;
	struct vm_stat st;

	assert_true(park_spawn(vm, &a, "a") > 0);
	assert_true(park_spawn(vm, &b, "b") > 0);
	va = vm_mmap_file(a.t, 0, n * PAGE, VM_PROT_READ, SHARED, fd, 0);
	vb = vm_mmap_file(b.t, 0, n * PAGE, VM_PROT_READ, PRIVATE, fd2, 0);
	assert_false(vm_mmap_failed(va) || vm_mmap_failed(vb));
	close(fd2);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(check_page(a.t, va + i * PAGE, i, 0), 0);
	st = stat_of(vm);
	assert_true(st.pgmajfault > 0 && st.pgmajfault < n); /* readahead */
	assert_int_equal(st.nr_file_pages, n);
	assert_int_equal(meminfo_kb(vm, "Cached"), (long long)(n * 4));
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(check_page(b.t, vb + i * PAGE, i, 0), 0);
		assert_int_equal(vmtest_pte(a.t, va + i * PAGE) >> 12,
				 vmtest_pte(b.t, vb + i * PAGE) >> 12);
	}
	assert_int_equal(stat_of(vm).pgmajfault, st.pgmajfault); /* minor */
	assert_int_equal(stat_of(vm).nr_mapped, n);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&a, NULL), a.pid);
	assert_int_equal(park_release(&b, NULL), b.pid);
	assert_int_equal(stat_of(vm).nr_file_pages, n); /* cached still */
	assert_int_equal(stat_of(vm).nr_mapped, 0);
	assert_int_equal(stat_of(vm).nr_written, 0);
	vmtest_destroy(vm);
	assert_int_equal(file_mismatches(fd, NULL, n), 0);
	close(fd);
}

static void test_filemap_cache_shared_trace(void **state)
{
	(void)state;
	cache_shared(VM_MODE_TRACE);
}

static void test_filemap_cache_shared_native(void **state)
{
	(void)state;
	cache_shared(VM_MODE_NATIVE);
}

/* ---- private mappings never write the file ------------------------------ */

static void private_writes(enum vm_mode mode)
{
	struct vm *vm = machine(mode, 16 * MiB, 0);
	const uint64_t n = 32;
	int fd = make_file(n);
	struct parked a;
	uint64_t va;
	struct vm_stat st;

	assert_true(park_spawn(vm, &a, "a") > 0);
	va = vm_mmap_file(a.t, 0, n * PAGE, RW, PRIVATE, fd, 0);
	assert_false(vm_mmap_failed(va));
	for (uint64_t i = 0; i < n; i += 2) /* read first: then a COW */
		assert_int_equal(check_page(a.t, va + i * PAGE, i, 0), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(write_page(a.t, va + i * PAGE, i, 7), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(check_page(a.t, va + i * PAGE, i, 7), 0);
	st = stat_of(vm);
	assert_int_equal(st.cow_fault, n);
	assert_int_equal(st.nr_dirty, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(vm_msync(a.t, va, n * PAGE, VM_MS_SYNC), 0);
	assert_int_equal(vm_munmap(a.t, va, n * PAGE), 0);
	assert_int_equal(park_release(&a, NULL), a.pid);
	st = stat_of(vm);
	assert_int_equal(st.nr_written, 0);
	assert_int_equal(st.nr_dirtied, 0);
	vmtest_destroy(vm);
	assert_int_equal(file_mismatches(fd, NULL, n), 0);
	close(fd);
}

static void test_filemap_private_never_writes_trace(void **state)
{
	(void)state;
	private_writes(VM_MODE_TRACE);
}

static void test_filemap_private_never_writes_native(void **state)
{
	(void)state;
	private_writes(VM_MODE_NATIVE);
}

/* ---- shared mappings: msync, written once per dirtying ------------------- */

static void shared_msync(enum vm_mode mode)
{
	struct vm *vm = machine(mode, 16 * MiB, 0);
	const uint64_t n = 16;
	uint32_t gen[16] = { 0 };
	int fd = make_file(n);
	struct parked a;
	uint64_t va;
	struct vm_stat st;

	assert_true(park_spawn(vm, &a, "a") > 0);
	va = vm_mmap_file(a.t, 0, n * PAGE, RW, SHARED, fd, 0);
	assert_false(vm_mmap_failed(va));
	for (uint64_t i = 0; i < n; i += 2) {
		gen[i] = 1;
		assert_int_equal(write_page(a.t, va + i * PAGE, i, 1), 0);
	}
	assert_int_equal(stat_of(vm).nr_dirty, n / 2);
	assert_int_equal(meminfo_kb(vm, "Dirty"), (long long)(n / 2 * 4));
	assert_int_equal(file_mismatches(fd, NULL, n), 0); /* not yet */
	assert_int_equal(vm_msync(a.t, va, n * PAGE, VM_MS_SYNC), 0);
	assert_int_equal(file_mismatches(fd, gen, n), 0);
	st = stat_of(vm);
	assert_int_equal(st.nr_written, n / 2);
	assert_int_equal(st.nr_dirty, 0);
	/* Nothing dirty: nothing written.  One page again: one write. */
	assert_int_equal(vm_msync(a.t, va, n * PAGE, VM_MS_SYNC), 0);
	assert_int_equal(stat_of(vm).nr_written, n / 2);
	gen[3] = 2;
	assert_int_equal(write_page(a.t, va + 3 * PAGE, 3, 2), 0);
	assert_int_equal(write_page(a.t, va + 3 * PAGE, 3, 2), 0);
	assert_int_equal(vm_msync(a.t, va, n * PAGE, VM_MS_SYNC), 0);
	st = stat_of(vm);
	assert_int_equal(st.nr_written, n / 2 + 1);
	assert_int_equal(st.nr_dirtied, st.nr_written);
	assert_int_equal(file_mismatches(fd, gen, n), 0);
	/* munmap writes back too. */
	gen[5] = 3;
	assert_int_equal(write_page(a.t, va + 5 * PAGE, 5, 3), 0);
	assert_int_equal(vm_munmap(a.t, va, n * PAGE), 0);
	assert_int_equal(file_mismatches(fd, gen, n), 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&a, NULL), a.pid);
	st = stat_of(vm);
	assert_int_equal(st.nr_dirtied, st.nr_written);
	vmtest_destroy(vm);
	close(fd);
}

static void test_filemap_msync_writes_once_trace(void **state)
{
	(void)state;
	shared_msync(VM_MODE_TRACE);
}

static void test_filemap_msync_writes_once_native(void **state)
{
	(void)state;
	shared_msync(VM_MODE_NATIVE);
}

/* ---- integrity under pressure --------------------------------------------- */

#define INTEG_TASKS 3

/* One file shared by INTEG_TASKS tasks; task k owns the pages i % 3 == k. */
struct integ {
	int fd;
	uint64_t npages, ops, seed;
	uint32_t *gen; /* the model: written only by the page's owner */
	atomic_int bad[INTEG_TASKS];
	uint64_t va; /* the root's mapping, inherited by fork */
	int kid_pid[INTEG_TASKS];
};

struct integ_task {
	struct integ *g;
	int k;
};

static struct integ_task integ_args[INTEG_TASKS];

/* ops random accesses to the pages task k owns, then a full check. */
static int integ_body(struct vm_task *t, struct integ *g, int k)
{
	uint64_t s = g->seed ^ ((uint64_t)k << 32), owned = 0;

	for (uint64_t op = 0; op < g->ops; op++) {
		uint64_t i = vmtest_rand(&s) % g->npages;

		i -= i % INTEG_TASKS;
		i += (uint64_t)k;
		if (i >= g->npages)
			continue;
		if (check_page(t, g->va + i * PAGE, i, g->gen[i]))
			atomic_fetch_add(&g->bad[k], 1);
		if (vmtest_rand(&s) % 2) {
			g->gen[i]++;
			if (write_page(t, g->va + i * PAGE, i, g->gen[i]))
				atomic_fetch_add(&g->bad[k], 1);
		}
	}
	for (uint64_t i = (uint64_t)k; i < g->npages; i += INTEG_TASKS, owned++)
		if (check_page(t, g->va + i * PAGE, i, g->gen[i]))
			atomic_fetch_add(&g->bad[k], 1);
	return owned ? 0 : 1;
}

static int integ_child(struct vm_task *t, void *arg)
{
	struct integ_task *a = arg;

	return integ_body(t, a->g, a->k);
}

static int integ_root(struct vm_task *t, void *arg)
{
	struct integ *g = arg;
	struct vm_exit ex;
	int rc;

	g->va = vm_mmap_file(t, 0, g->npages * PAGE, RW, SHARED, g->fd, 0);
	if (vm_mmap_failed(g->va))
		return 2;
	for (int k = 1; k < INTEG_TASKS; k++) {
		integ_args[k] = (struct integ_task){ g, k };
		g->kid_pid[k] = vm_fork(t, integ_child, &integ_args[k]);
		if (g->kid_pid[k] < 0)
			return 3;
	}
	rc = integ_body(t, g, 0);
	for (int k = 1; k < INTEG_TASKS; k++)
		if (vm_wait(vmtest_task_vm(t), g->kid_pid[k], &ex) < 0 ||
		    ex.reason != VM_EXIT_NORMAL || ex.code)
			rc = 4;
	return rc;
}

/*
 * The file is not the model: say enough to find out why (seen once, in
 * trace mode with 2q under a doubly loaded host, not reproduced since):
 * which pages, which generation each holds instead, and the machine's
 * write-back state.
 */
static void report_mismatches(const struct integ *g, const char *policy,
			      const struct vm_stat *st)
{
	unsigned shown = 0;

	print_message("%s: file mismatches; nr_dirty %llu nr_writeback %llu "
		      "nr_written %llu nr_dirtied %llu file_write_error %llu\n",
		      policy, (unsigned long long)st->nr_dirty,
		      (unsigned long long)st->nr_writeback,
		      (unsigned long long)st->nr_written,
		      (unsigned long long)st->nr_dirtied,
		      (unsigned long long)st->file_write_error);
	for (uint64_t i = 0; i < g->npages && shown < 8; i++) {
		uint64_t w0 = 0;
		int found = -1;

		if (file_page_is(g->fd, i, g->gen[i]))
			continue;
		if (pread(g->fd, &w0, sizeof(w0), (off_t)(i * PAGE)) < 0)
			w0 = 0;
		for (uint32_t gen = 0; gen <= g->gen[i] + 4 && found < 0; gen++)
			if (pat(i, gen, 0) == w0)
				found = (int)gen;
		print_message(
			"  page %llu (task %llu): generation %u expected, "
			"%d found\n",
			(unsigned long long)i,
			(unsigned long long)(i % INTEG_TASKS), g->gen[i],
			found);
		shown++;
	}
}

static void integrity_policy(enum vm_mode mode, bool kswapd, const char *policy)
{
	struct vm_config cfg;
	struct vm *vm;
	struct integ *g = calloc(1, sizeof(*g));
	struct vm_exit ex;
	struct vm_stat st;
	int pid;

	assert_non_null(g);
	vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_bytes = 4 * MiB;
	cfg.swap_bytes = 8 * MiB;
	cfg.kswapd = kswapd;
	cfg.policy = policy;
	vm = vmtest_create_cfg(&cfg);
	g->npages = 2048; /* 8 MiB of file in 4 MiB of RAM */
	g->ops = mode == VM_MODE_NATIVE ? 3000 : 6000;
	g->seed = vmtest_seed("test_filemap_integrity");
	g->fd = make_file(g->npages);
	g->gen = calloc(g->npages, sizeof(*g->gen));
	assert_non_null(g->gen);
	pid = vm_spawn(vm, "integ", 0, integ_root, g);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	for (int k = 0; k < INTEG_TASKS; k++)
		assert_int_equal(atomic_load(&g->bad[k]), 0);
	/* Every task has exited: the file is the model. */
	st = stat_of(vm);
	if (file_mismatches(g->fd, g->gen, g->npages))
		report_mismatches(g, policy, &st);
	assert_int_equal(file_mismatches(g->fd, g->gen, g->npages), 0);
	assert_true(st.pgsteal_file > 0 && st.nr_written > 0);
	assert_true(st.file_drop_clean > 0);
	assert_int_equal(st.nr_dirty, 0);
	assert_int_equal(st.nr_dirtied, st.nr_written);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
	close(g->fd);
	free(g->gen);
	free(g);
}

static void integrity(enum vm_mode mode, bool kswapd)
{
	integrity_policy(mode, kswapd, "linux");
}

/*
 * Other policies keep file pages on whatever list they like (most on
 * inactive_anon): the machinery evicts each by its kind.
 */
static void test_filemap_integrity_other_policies(void **state)
{
	static const char *const policies[] = { "fifo", "lru",	     "clock",
						"lfu",	"lfu-aging", "arc",
						"2q",	"s3fifo" };

	(void)state;
	for (size_t i = 0; i < NELEMS(policies); i++)
		integrity_policy(VM_MODE_TRACE, true, policies[i]);
}

static void test_filemap_integrity_trace(void **state)
{
	(void)state;
	integrity(VM_MODE_TRACE, true);
}

static void test_filemap_integrity_native(void **state)
{
	(void)state;
	integrity(VM_MODE_NATIVE, true);
}

static void test_filemap_integrity_native_no_kswapd(void **state)
{
	(void)state;
	integrity(VM_MODE_NATIVE, false);
}

/* ---- reclaim: clean pages dropped, no swap = file only ------------------- */

struct scan_args {
	int fd;
	uint64_t npages, anon_pages;
	unsigned passes;
	atomic_int bad;
};

/* Anon memory written once, then passes over a read-only file mapping. */
static int scan_fn(struct vm_task *t, void *arg)
{
	struct scan_args *a = arg;
	uint64_t anon = vm_mmap(t, 0, a->anon_pages * PAGE, RW,
				VM_MAP_PRIVATE | VM_MAP_ANON);
	uint64_t va = vm_mmap_file(t, 0, a->npages * PAGE, VM_PROT_READ, SHARED,
				   a->fd, 0);

	if (vm_mmap_failed(anon) || vm_mmap_failed(va))
		return 2;
	for (uint64_t i = 0; i < a->anon_pages; i++)
		if (write_page(t, anon + i * PAGE, i, 9))
			atomic_fetch_add(&a->bad, 1);
	for (unsigned p = 0; p < a->passes; p++)
		for (uint64_t i = 0; i < a->npages; i++)
			if (check_page(t, va + i * PAGE, i, 0))
				atomic_fetch_add(&a->bad, 1);
	for (uint64_t i = 0; i < a->anon_pages; i++)
		if (check_page(t, anon + i * PAGE, i, 9))
			atomic_fetch_add(&a->bad, 1);
	return 0;
}

static void clean_drop(enum vm_mode mode)
{
	struct vm *vm = machine(mode, 4 * MiB, 0); /* no swap */
	struct scan_args a = { .npages = 2048, .anon_pages = 256, .passes = 2 };
	struct vm_exit ex;
	struct vm_stat st;
	int pid;

	a.fd = make_file(a.npages);
	pid = vm_spawn(vm, "scan", 0, scan_fn, &a);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	assert_int_equal(atomic_load(&a.bad), 0);
	st = stat_of(vm);
	/* Only file pages went, each dropped without a write. */
	assert_true(st.pgsteal_file > a.npages);
	assert_int_equal(st.file_drop_clean, st.pgsteal_file);
	assert_int_equal(st.pgscan_anon, 0);
	assert_int_equal(st.pgsteal_anon, 0);
	assert_int_equal(st.nr_written, 0);
	assert_int_equal(st.pgpgout, 0);
	assert_true(st.pgpgin > a.npages * 4); /* read again: refaults */
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
	close(a.fd);
}

static void test_filemap_clean_drop_no_swap_trace(void **state)
{
	(void)state;
	clean_drop(VM_MODE_TRACE);
}

static void test_filemap_clean_drop_no_swap_native(void **state)
{
	(void)state;
	clean_drop(VM_MODE_NATIVE);
}

/* ---- swappiness: get_scan_count's balance ---------------------------------- */

#define SW_ANON 512
#define SW_FILE 512
#define SW_PRIO 1

struct sw_result {
	uint64_t scan_anon, scan_file; /* in the measured pass */
	uint64_t want_anon, want_file; /* get_scan_count's, from the costs */
};

/*
 * Trace mode, nothing reclaims but the test.  Anonymous pages written,
 * file pages read twice and activated by two shrink passes (cache trim
 * mode: swappiness plays no part yet), so that the inactive file list is
 * low and the next pass balances by swappiness (SCAN_FRACT).  That pass
 * is measured.
 */
static struct sw_result swappiness_pass(int swappiness)
{
	struct vm_config cfg;
	struct vm *vm;
	struct parked p;
	int fd = make_file(SW_FILE);
	uint64_t anon, file, ac, fc, tc, ap, fp;
	struct vm_stat a, b;
	struct sw_result r;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 64 * MiB;
	cfg.swap_bytes = 16 * MiB;
	cfg.kswapd = false;
	cfg.read_ahead_kb = 0;
	cfg.page_cluster = 0;
	cfg.swappiness = swappiness;
	vm = vmtest_create_cfg(&cfg);
	assert_true(park_spawn(vm, &p, "sw") > 0);
	anon = vm_mmap(p.t, 0, SW_ANON * PAGE, RW, PRIVATE | VM_MAP_ANON);
	file = vm_mmap_file(p.t, 0, SW_FILE * PAGE, VM_PROT_READ, SHARED, fd,
			    0);
	for (uint64_t i = 0; i < SW_ANON; i++)
		assert_int_equal(vm_access(p.t, anon + i * PAGE, 1), 0);
	for (int round = 0; round < 2; round++) {
		for (uint64_t i = 0; i < SW_FILE; i++)
			assert_int_equal(vm_access(p.t, file + i * PAGE, 0), 0);
		vmtest_shrink(vm, SW_PRIO, 1ULL << 30); /* trim: file */
		vmtest_shrink(vm, SW_PRIO, 1ULL << 30);
	}
	a = stat_of(vm);
	assert_true(a.nr_active_file > a.nr_inactive_file); /* low */
	assert_true(a.nr_inactive_file > 0 && a.nr_inactive_anon == SW_ANON);
	/* Linux's SCAN_FRACT, from the costs as they are now. */
	vmtest_lru_costs(vm, &ac, &fc);
	tc = ac + fc;
	ac += tc;
	fc += tc;
	tc = ac + fc;
	ap = (uint64_t)swappiness * (tc + 1) / (ac + 1);
	fp = (uint64_t)(200 - swappiness) * (tc + 1) / (fc + 1);
	r.want_anon = (a.nr_inactive_anon >> SW_PRIO) * ap / (ap + fp);
	r.want_file = (a.nr_inactive_file >> SW_PRIO) * fp / (ap + fp);
	vmtest_shrink(vm, SW_PRIO, 1ULL << 30);
	b = stat_of(vm);
	r.scan_anon = b.pgscan_anon - a.pgscan_anon;
	r.scan_file = b.pgscan_file - a.pgscan_file;
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
	close(fd);
	return r;
}

static void test_filemap_swappiness_balance(void **state)
{
	struct sw_result r0 = swappiness_pass(0);
	struct sw_result r60 = swappiness_pass(60);
	struct sw_result r200 = swappiness_pass(200);

	(void)state;
	print_message("swappiness 0: anon %llu file %llu; 60: anon %llu file "
		      "%llu; 200: anon %llu file %llu\n",
		      (unsigned long long)r0.scan_anon,
		      (unsigned long long)r0.scan_file,
		      (unsigned long long)r60.scan_anon,
		      (unsigned long long)r60.scan_file,
		      (unsigned long long)r200.scan_anon,
		      (unsigned long long)r200.scan_file);
	/* 0: file only; 200: anon only; 60: both, in get_scan_count's ratio */
	assert_int_equal(r0.scan_anon, 0);
	assert_true(r0.scan_file > 0);
	assert_int_equal(r200.scan_file, 0);
	assert_true(r200.scan_anon > 0);
	assert_int_equal(r60.scan_anon, r60.want_anon);
	assert_int_equal(r60.scan_file, r60.want_file);
	assert_true(r60.scan_anon > 0 && r60.scan_file > 0);
	assert_int_equal(r0.scan_file, r0.want_file);
	assert_int_equal(r200.scan_anon, r200.want_anon);
}

/* ---- truncation: SIGBUS past the end ------------------------------------ */

struct trunc_args {
	int fd;
	int how; /* 0: vm_ftruncate; 1: the host truncates; 2: map past EOF */
	uint64_t va;
	atomic_int bad;
};

#define TRUNC_PAGES 8
#define TRUNC_LEN   (3 * PAGE + 100)

static int trunc_fn(struct vm_task *t, void *arg)
{
	struct trunc_args *a = arg;
	uint8_t byte = 0, tail[PAGE];

	a->va = vm_mmap_file(t, 0, TRUNC_PAGES * PAGE, RW, SHARED, a->fd, 0);
	if (vm_mmap_failed(a->va))
		return 2;
	if (a->how == 0) {
		for (uint64_t i = 0; i < TRUNC_PAGES; i++)
			if (check_page(t, a->va + i * PAGE, i, 0))
				atomic_fetch_add(&a->bad, 1);
		if (vm_ftruncate(t, a->fd, TRUNC_LEN))
			return 3;
	} else if (a->how == 1 && ftruncate(a->fd, TRUNC_LEN) < 0) {
		return 3;
	}
	if (a->how < 2) { /* page 3 keeps 100 bytes, then zeros */
		if (vm_read(t, a->va + 3 * PAGE, tail, PAGE))
			return 4;
		for (unsigned k = 100; k < PAGE; k++)
			if (tail[k])
				atomic_fetch_add(&a->bad, 1);
	}
	for (uint64_t i = 0; i < 3; i++)
		if (check_page(t, a->va + i * PAGE, i, 0))
			atomic_fetch_add(&a->bad, 1);
	vm_read(t, a->va + 5 * PAGE, &byte, 1); /* past the end: SIGBUS */
	return 5;
}

static void truncation(enum vm_mode mode, int how)
{
	struct vm *vm = machine(mode, 16 * MiB, 0);
	struct trunc_args a = { .how = how };
	struct vm_exit ex;
	struct stat st;
	int pid;

	a.fd = make_file(how == 2 ? 3 : TRUNC_PAGES);
	if (how == 2)
		assert_int_equal(ftruncate(a.fd, TRUNC_LEN), 0);
	pid = vm_spawn(vm, "trunc", 0, trunc_fn, &a);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_SIGBUS);
	assert_int_equal(ex.fault_va, a.va + 5 * PAGE);
	assert_int_equal(atomic_load(&a.bad), 0);
	assert_int_equal(fstat(a.fd, &st), 0);
	assert_int_equal(st.st_size, TRUNC_LEN);
	assert_int_equal(stat_of(vm).nr_file_pages, how == 0 ? 4 : 4);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
	close(a.fd);
}

static void test_filemap_truncate_sigbus_trace(void **state)
{
	(void)state;
	for (int how = 0; how < 3; how++)
		truncation(VM_MODE_TRACE, how);
}

static void test_filemap_truncate_sigbus_native(void **state)
{
	(void)state;
	for (int how = 0; how < 3; how++)
		truncation(VM_MODE_NATIVE, how);
}

/* ---- I/O errors: nothing lost ------------------------------------------- */

static void write_error(enum vm_mode mode)
{
	struct vm *vm = machine(mode, 16 * MiB, 0);
	struct vm_fault_attr always = { 100, 1, -1, 0 }, off = { 0, 1, 0, 0 };
	const uint64_t n = 8;
	uint32_t gen[8] = { 0 };
	int fd = make_file(n);
	struct parked a;
	uint64_t va;

	assert_true(park_spawn(vm, &a, "a") > 0);
	va = vm_mmap_file(a.t, 0, n * PAGE, RW, SHARED, fd, 0);
	for (uint64_t i = 0; i < n; i++) {
		gen[i] = 4;
		assert_int_equal(write_page(a.t, va + i * PAGE, i, 4), 0);
	}
	assert_int_equal(vm_fault_inject(vm, "fail_file_write", &always), 0);
	assert_int_equal(vm_msync(a.t, va, n * PAGE, VM_MS_SYNC), -EIO);
	assert_int_equal(vm_fault_injected(vm, "fail_file_write"), n);
	assert_int_equal(stat_of(vm).file_write_error, n);
	assert_int_equal(stat_of(vm).nr_dirty, n);	   /* still dirty */
	assert_int_equal(file_mismatches(fd, NULL, n), 0); /* untouched */
	assert_int_equal(vm_munmap(a.t, va, n * PAGE), 0); /* fails too */
	assert_int_equal(stat_of(vm).nr_dirty, n);
	assert_int_equal(vm_fault_inject(vm, "fail_file_write", &off), 0);
	/* Mapped again: the dirty pages are still the page cache's. */
	va = vm_mmap_file(a.t, 0, n * PAGE, RW, SHARED, fd, 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(check_page(a.t, va + i * PAGE, i, 4), 0);
	assert_int_equal(vm_msync(a.t, va, n * PAGE, VM_MS_SYNC), -EIO);
	assert_int_equal(file_mismatches(fd, gen, n), 0); /* written now */
	assert_int_equal(vm_msync(a.t, va, n * PAGE, VM_MS_SYNC), 0);
	assert_int_equal(stat_of(vm).nr_dirty, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&a, NULL), a.pid);
	vmtest_destroy(vm);
	close(fd);
}

static void test_filemap_write_error_trace(void **state)
{
	(void)state;
	write_error(VM_MODE_TRACE);
}

static void test_filemap_write_error_native(void **state)
{
	(void)state;
	write_error(VM_MODE_NATIVE);
}

/* Reclaim's write-back failing 1 time in 5: nothing lost in the end. */
static int integ_root_injected(struct vm_task *t, void *arg)
{
	struct vm_fault_attr off = { 0, 1, 0, 0 };
	int rc = integ_root(t, arg);

	vm_fault_inject(vmtest_task_vm(t), "fail_file_write", &off);
	return rc; /* its exit writes back what failed before */
}

static void test_filemap_write_error_under_pressure(void **state)
{
	struct vm_fault_attr some = { 20, 1, -1, 0 };
	struct integ *g = calloc(1, sizeof(*g));
	struct vm_exit ex;
	struct vm *vm;
	int pid;

	(void)state;
	vm = machine(VM_MODE_TRACE, 4 * MiB, 8 * MiB);
	g->npages = 2048;
	g->ops = 6000;
	g->seed = vmtest_seed("test_filemap_write_error_under_pressure");
	g->fd = make_file(g->npages);
	g->gen = calloc(g->npages, sizeof(*g->gen));
	assert_int_equal(vm_fault_inject(vm, "fail_file_write", &some), 0);
	pid = vm_spawn(vm, "integ", 0, integ_root_injected, g);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, 0);
	for (int k = 0; k < INTEG_TASKS; k++)
		assert_int_equal(atomic_load(&g->bad[k]), 0);
	assert_true(stat_of(vm).file_write_error > 0);
	assert_int_equal(file_mismatches(g->fd, g->gen, g->npages), 0);
	assert_int_equal(stat_of(vm).nr_dirty, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
	close(g->fd);
	free(g->gen);
	free(g);
}

static int read_fn(struct vm_task *t, void *arg)
{
	struct trunc_args *a = arg;
	uint8_t byte;

	a->va = vm_mmap_file(t, 0, 4 * PAGE, VM_PROT_READ, PRIVATE, a->fd, 0);
	vm_read(t, a->va + 2 * PAGE, &byte, 1);
	return 1;
}

static void test_filemap_read_error_sigbus(void **state)
{
	struct vm *vm = machine(VM_MODE_NATIVE, 16 * MiB, 0);
	struct vm_fault_attr always = { 100, 1, -1, 0 };
	struct trunc_args a = { 0 };
	struct vm_exit ex;
	int pid;

	(void)state;
	a.fd = make_file(4);
	assert_int_equal(vm_fault_inject(vm, "fail_file_read", &always), 0);
	pid = vm_spawn(vm, "reader", 0, read_fn, &a);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.reason, VM_EXIT_SIGBUS);
	assert_int_equal(ex.fault_va, a.va + 2 * PAGE);
	assert_true(stat_of(vm).file_read_error > 0);
	assert_int_equal(stat_of(vm).nr_file_pages, 0);
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
	close(a.fd);
}

/* ---- readahead: Linux's mmap read-around and its marker ----------------- */

static void test_filemap_readahead(void **state)
{
	struct vm *vm = machine(VM_MODE_TRACE, 16 * MiB, 0); /* 128 KiB */
	int fd = make_file(256);
	struct parked p;
	uint64_t va;
	struct vm_stat st;

	(void)state;
	assert_true(park_spawn(vm, &p, "ra") > 0);
	va = vm_mmap_file(p.t, 0, 256 * PAGE, VM_PROT_READ, PRIVATE, fd, 0);
	/* The first fault reads around it: [0, 32), the marker at 24. */
	assert_int_equal(vm_access(p.t, va, 0), 0);
	st = stat_of(vm);
	assert_int_equal(st.pgmajfault, 1);
	assert_int_equal(st.file_ra, 31);
	assert_int_equal(st.file_fault_around, 15); /* 1..15 mapped too */
	for (uint64_t i = 1; i < 24; i++)
		assert_int_equal(vm_access(p.t, va + i * PAGE, 0), 0);
	assert_int_equal(stat_of(vm).file_ra, 31);
	/* The marker: the next window [32, 64) is read, the fault minor. */
	assert_int_equal(vm_access(p.t, va + 24 * PAGE, 0), 0);
	st = stat_of(vm);
	assert_int_equal(st.pgmajfault, 1);
	assert_int_equal(st.file_ra, 31 + 32);
	assert_int_equal(st.nr_file_pages, 64);
	/* A jump: read-around again, [100 - 16, 100 + 16). */
	assert_int_equal(vm_access(p.t, va + 100 * PAGE, 0), 0);
	st = stat_of(vm);
	assert_int_equal(st.pgmajfault, 2);
	assert_int_equal(st.file_ra, 31 + 32 + 31);
	assert_int_equal(st.nr_file_pages, 96);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
	close(fd);
}

/* ---- arguments --------------------------------------------------------- */

static void test_filemap_bad_args(void **state)
{
	struct vm *vm = machine(VM_MODE_TRACE, 16 * MiB, 0);
	int fd = make_file(4), ro, wo, dir = open("/tmp", O_RDONLY);
	char path[64];
	struct parked p;
	uint64_t va;

	(void)state;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	wo = open(path, O_WRONLY);
	assert_true(ro >= 0 && wo >= 0 && dir >= 0);
	assert_true(park_spawn(vm, &p, "args") > 0);
#define MAP_ERR(fl, f, off, len) \
	vm_mmap_error(vm_mmap_file(p.t, 0, len, RW, fl, f, off))
	assert_int_equal(MAP_ERR(SHARED, -1, 0, PAGE), -EBADF);
	assert_int_equal(MAP_ERR(SHARED, ro, 0, PAGE), -EACCES);
	assert_int_equal(MAP_ERR(SHARED, wo, 0, PAGE), -EACCES);
	assert_int_equal(MAP_ERR(PRIVATE, wo, 0, PAGE), -EACCES);
	assert_int_equal(MAP_ERR(SHARED, dir, 0, PAGE), -EACCES); /* first */
	assert_int_equal(vm_mmap_error(vm_mmap_file(p.t, 0, PAGE, VM_PROT_READ,
						    PRIVATE, dir, 0)),
			 -ENODEV);
	assert_int_equal(MAP_ERR(SHARED, fd, 100, PAGE), -EINVAL);
	assert_int_equal(MAP_ERR(SHARED, fd, 0, 0), -EINVAL);
	assert_int_equal(MAP_ERR(SHARED | VM_MAP_ANON, fd, 0, PAGE), -EINVAL);
	assert_int_equal(MAP_ERR(SHARED | PRIVATE, fd, 0, PAGE), -EINVAL);
	assert_int_equal(MAP_ERR(SHARED, fd, UINT64_MAX & ~(PAGE - 1),
				 2 * PAGE),
			 -EOVERFLOW);
#undef MAP_ERR
	/* Read-only descriptor: private writable is fine, shared is not. */
	va = vm_mmap_file(p.t, 0, PAGE, RW, PRIVATE, ro, 0);
	assert_false(vm_mmap_failed(va));
	va = vm_mmap_file(p.t, 0, PAGE, VM_PROT_READ, SHARED, ro, 0);
	assert_false(vm_mmap_failed(va));
	assert_int_equal(vm_mprotect(p.t, va, PAGE, RW), -EACCES);
	assert_int_equal(vm_msync(p.t, va + 1, PAGE, VM_MS_SYNC), -EINVAL);
	assert_int_equal(vm_msync(p.t, va, PAGE, VM_MS_SYNC | VM_MS_ASYNC),
			 -EINVAL);
	assert_int_equal(vm_msync(p.t, va, PAGE, 0x100), -EINVAL);
	assert_int_equal(vm_msync(p.t, va + 64 * PAGE, PAGE, VM_MS_SYNC),
			 -ENOMEM);
	assert_int_equal(vm_msync(p.t, va, PAGE, VM_MS_ASYNC), 0);
	assert_int_equal(vm_ftruncate(p.t, -1, 0), -EBADF);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
	close(ro);
	close(wo);
	close(dir);
	close(fd);
}

/* ---- fork shares a shared file mapping ----------------------------------- */

struct fork_args {
	uint64_t va;
	atomic_int bad;
};

static int fork_child(struct vm_task *t, void *arg)
{
	struct fork_args *a = arg;

	if (check_page(t, a->va, 0, 1))
		atomic_fetch_add(&a->bad, 1); /* the parent's write */
	return write_page(t, a->va + PAGE, 1, 2) ? 1 : 0;
}

static void test_filemap_fork_shares_mapping(void **state)
{
	struct vm *vm = machine(VM_MODE_NATIVE, 16 * MiB, 0);
	int fd = make_file(2);
	struct fork_args a = { 0 };
	struct parked p;
	struct vm_exit ex;
	uint32_t gen[2] = { 1, 2 };
	int pid;

	(void)state;
	assert_true(park_spawn(vm, &p, "parent") > 0);
	a.va = vm_mmap_file(p.t, 0, 2 * PAGE, RW, SHARED, fd, 0);
	assert_int_equal(write_page(p.t, a.va, 0, 1), 0);
	assert_int_equal(check_page(p.t, a.va + PAGE, 1, 0), 0);
	pid = vm_fork(p.t, fork_child, &a);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, &ex), pid);
	assert_int_equal(ex.code, 0);
	assert_int_equal(atomic_load(&a.bad), 0);
	assert_int_equal(check_page(p.t, a.va + PAGE, 1, 2), 0); /* seen */
	/* The child's exit wrote back the range it mapped: both pages. */
	assert_int_equal(file_mismatches(fd, gen, 2), 0);
	assert_int_equal(stat_of(vm).nr_written, 2);
	assert_int_equal(park_release(&p, NULL), p.pid);
	assert_int_equal(stat_of(vm).nr_written, 2);
	vmtest_destroy(vm);
	close(fd);
}

/* ---- /proc -------------------------------------------------------------- */

static void test_filemap_procfs_names(void **state)
{
	static const char *const meminfo[] = {
		"Cached",    "Active(file)", "Inactive(file)", "Dirty",
		"Writeback", "Mapped",	     "Shmem",
	};
	static const char *const vmstat[] = {
		"\nnr_active_file ",
		"\nnr_inactive_file ",
		"\nnr_file_pages ",
		"\nnr_dirty ",
		"\nnr_writeback ",
		"\npgscan_file ",
		"\npgsteal_file ",
		"\nworkingset_refault_file ",
		"\nworkingset_activate_file ",
		"\nnr_mapped ",
		"\nnr_shmem ",
		"\nnr_written ",
		"\nnr_dirtied ",
	};
	struct vm *vm = machine(VM_MODE_TRACE, 16 * MiB, 0);
	static char buf[16384];

	(void)state;
	for (size_t i = 0; i < NELEMS(meminfo); i++)
		assert_int_equal(meminfo_kb(vm, meminfo[i]), 0);
	assert_true(vm_procfs(vm, "vmstat", buf, sizeof(buf)) > 0);
	for (size_t i = 0; i < NELEMS(vmstat); i++)
		assert_non_null(strstr(buf, vmstat[i]));
	vmtest_destroy(vm);
}

/* ---- the workloads: filescan, filerw ------------------------------------- */

/* Run spec text as one task on vm; how it ended, in words. */
static void run_spec(struct vm *vm, const char *text, wl_access_hook hook,
		     struct vm_exit *ex, char *what, size_t len)
{
	char err[256] = "";
	struct wl_spec s;
	struct wl_run *run;
	int pid;

	if (wl_spec_parse(text, &s, err, sizeof(err)))
		fail_msg("'%s': %s", text, err);
	run = wl_run_new(vm, &s, 42);
	assert_non_null(run);
	if (hook)
		wl_run_set_hook(run, hook, NULL);
	pid = vm_spawn(vm, s.name, 0, wl_run_main, run);
	assert_true(pid > 0);
	assert_int_equal(vm_wait(vm, pid, ex), pid);
	wl_run_describe(run, ex, what, len);
	wl_run_free(run);
}

static void test_filemap_workloads(void **state)
{
	static const char *const specs[] = {
		"filescan:size=8M,passes=2",
		"filescan:size=2M,fork=2",
		"filerw:size=8M,write=0.5",
		"filerw:size=6M,fork=2,ops=3000",
	};
	char what[256];

	(void)state;
	for (int m = 0; m < 2; m++) {
		struct vm *vm = machine(m ? VM_MODE_TRACE : VM_MODE_NATIVE,
					4 * MiB, 8 * MiB);

		for (size_t i = 0; i < NELEMS(specs); i++) {
			struct vm_exit ex;

			run_spec(vm, specs[i], NULL, &ex, what, sizeof(what));
			if (ex.reason != VM_EXIT_NORMAL || ex.code)
				fail_msg("%s (%s): %s", specs[i],
					 m ? "trace" : "native", what);
		}
		assert_true(stat_of(vm).pgsteal_file > 0);
		assert_true(stat_of(vm).nr_written > 0);
		assert_int_equal(vmtest_check_all(vm), 0);
		vmtest_destroy(vm);
	}
}

/* A hook that corrupts a page of the mapping before it is read. */
static void corrupt_hook(void *ctx, struct vm_task *t, uint64_t page,
			 uint64_t va, bool write)
{
	uint8_t junk = 0xa5;

	(void)ctx;
	if (!write && page == 7)
		vm_write(t, va + 100, &junk, 1);
}

static void test_filemap_workload_catches_corruption(void **state)
{
	struct vm *vm = machine(VM_MODE_TRACE, 16 * MiB, 0);
	struct vm_exit ex;
	char what[256];

	(void)state;
	run_spec(vm, "filerw:size=64K,ops=200", corrupt_hook, &ex, what,
		 sizeof(what));
	assert_int_equal(ex.reason, VM_EXIT_NORMAL);
	assert_int_equal(ex.code, WL_EXIT_MISMATCH);
	assert_non_null(strstr(what, "data mismatch"));
	assert_non_null(strstr(what, "byte 100"));
	assert_int_equal(vmtest_check_all(vm), 0);
	vmtest_destroy(vm);
}

/* ---- races with the lock down during write-back ------------------------ */

struct race {
	struct vm_task *t;
	uint64_t va;
	int what; /* 0: a store to page 2; 1: a load from page 5 */
	int fired;
};

/*
 * Runs on the writer's thread while reclaim writes file pages out, the
 * machine lock down: what a task's thread could do meanwhile.
 */
static void race_hook(void *arg, bool write)
{
	struct race *r = arg;

	if (!write || r->fired++)
		return;
	if (r->what == 0)
		write_page(r->t, r->va + 2 * PAGE, 2, 9);
	else
		check_page(r->t, r->va + 5 * PAGE, 5, 1);
}

/*
 * A store to a page being written makes it dirty again: it stays (and is
 * written again by msync); the others go.  A load maps the page - and its
 * cached neighbours, fault-around - again: they all stay.
 */
static void test_filemap_races_during_writeback(void **state)
{
	(void)state;
	for (int what = 0; what < 2; what++) {
		struct vm *vm = machine(VM_MODE_TRACE, 16 * MiB, 0);
		const uint64_t n = 8;
		uint32_t gen[8];
		int fd = make_file(n);
		struct race r = { .what = what };
		struct parked p;
		struct vm_stat st;

		assert_true(park_spawn(vm, &p, "race") > 0);
		r.t = p.t;
		r.va = vm_mmap_file(p.t, 0, n * PAGE, RW, SHARED, fd, 0);
		for (uint64_t i = 0; i < n; i++) {
			gen[i] = 1;
			assert_int_equal(write_page(p.t, r.va + i * PAGE, i, 1),
					 0);
		}
		vmtest_set_io_hook(vm, race_hook, &r);
		vmtest_pageout(p.t, r.va, n); /* all eight written, dropped */
		vmtest_set_io_hook(vm, NULL, NULL);
		assert_int_equal(r.fired, 1);
		if (what == 0)
			gen[2] = 9; /* the store during the write: kept */
		st = stat_of(vm);
		assert_int_equal(st.nr_written, n);
		assert_int_equal(st.pgsteal_file, what == 0 ? n - 1 : 0);
		assert_int_equal(vmtest_check_all(vm), 0);
		assert_int_equal(vm_msync(p.t, r.va, 6 * PAGE, VM_MS_SYNC), 0);
		assert_int_equal(park_release(&p, NULL), p.pid);
		st = stat_of(vm);
		assert_int_equal(st.nr_written, st.nr_dirtied);
		assert_int_equal(file_mismatches(fd, gen, n), 0);
		vmtest_destroy(vm);
		close(fd);
	}
}

/* ---- the walkers see corruption ---------------------------------------- */

/*
 * Corrupt one thing at a time (machine lock held), check that the walker
 * names it, restore, check that it is clean again.
 */
#define EXPECT_BAD(check, expr_bad, code, expr_fix) \
	do {                                        \
		expr_bad;                           \
		assert_int_equal((check), (code));  \
		expr_fix;                           \
		assert_int_equal((check), 0);       \
	} while (0)

static void test_filemap_check_catches_corruption(void **state)
{
	struct vm *vm = machine(VM_MODE_TRACE, 16 * MiB, 0);
	int fd = make_file(4);
	struct parked p;
	uint64_t va, anon;
	struct page *pg, *ap;
	struct filemap *fm;
	struct pagecache *pc;
	struct mm *mm;
	pte_t *ptep, saved;

	(void)state;
	assert_true(park_spawn(vm, &p, "check") > 0);
	va = vm_mmap_file(p.t, 0, 4 * PAGE, RW, SHARED, fd, 0);
	anon = vm_mmap(p.t, 0, PAGE, RW, PRIVATE | VM_MAP_ANON);
	assert_int_equal(vm_access(p.t, va + PAGE, 0), 0);
	assert_int_equal(vm_access(p.t, anon, 1), 0);
	vmtest_lock(vm);
	mm = vmtest_mm(p.t);
	pc = vm->pcache;
	ptep = pt_walk(&mm->pt, va + PAGE);
	saved = *ptep;
	pg = phys_page(&vm->phys, pte_pfn(saved));
	ap = phys_page(&vm->phys, pte_pfn(*pt_walk(&mm->pt, anon)));
	fm = filemap_of(vm, pg);
	assert_int_equal(filemap_check(vm), 0);
	assert_int_equal(mm_check(mm), 0);
	EXPECT_BAD(filemap_check(vm), fm->tree.nr_entries++, FILEMAP_CHECK_TREE,
		   fm->tree.nr_entries--);
	EXPECT_BAD(filemap_check(vm), pg->private ++, FILEMAP_CHECK_ENTRY,
		   pg->private --);
	EXPECT_BAD(filemap_check(vm), ap->flags |= PG_file, FILEMAP_CHECK_STRAY,
		   ap->flags &= ~(uint32_t)PG_file);
	EXPECT_BAD(filemap_check(vm), pg->_refcount -= 2, FILEMAP_CHECK_REFS,
		   pg->_refcount += 2);
	EXPECT_BAD(filemap_check(vm), pg->flags |= PG_locked,
		   FILEMAP_CHECK_LOCKED, pg->flags &= ~(uint32_t)PG_locked);
	EXPECT_BAD(filemap_check(vm), fm->nrpages++, FILEMAP_CHECK_NRPAGES,
		   fm->nrpages--);
	EXPECT_BAD(filemap_check(vm), pc->nr_dirty++, FILEMAP_CHECK_COUNTS,
		   pc->nr_dirty--);
	EXPECT_BAD(filemap_check(vm), pc->nr_mapped++, FILEMAP_CHECK_COUNTS,
		   pc->nr_mapped--);
	/* mm_check's file-page rules */
	EXPECT_BAD(mm_check(mm), pg->index++, MM_CHECK_FILE, pg->index--);
	EXPECT_BAD(mm_check(mm), *ptep = saved | PTE_DIRTY, MM_CHECK_FILE_DIRTY,
		   *ptep = saved);
	EXPECT_BAD(mm_check(mm), mm->rss_file++, MM_CHECK_RSS, mm->rss_file--);
	EXPECT_BAD(mm_check(mm),
		   vma_find(mm, va)->flags &= ~(unsigned)VMA_SHARED,
		   MM_CHECK_SHARED_W, vma_find(mm, va)->flags |= VMA_SHARED);
	vmtest_unlock(vm);
	assert_int_equal(vmtest_check_all(vm), 0);
	assert_int_equal(park_release(&p, NULL), p.pid);
	vmtest_destroy(vm);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VMTEST(test_filemap_cache_shared_trace),
		VMTEST(test_filemap_cache_shared_native),
		VMTEST(test_filemap_private_never_writes_trace),
		VMTEST(test_filemap_private_never_writes_native),
		VMTEST(test_filemap_msync_writes_once_trace),
		VMTEST(test_filemap_msync_writes_once_native),
		VMTEST(test_filemap_integrity_trace),
		VMTEST(test_filemap_integrity_native),
		VMTEST(test_filemap_integrity_native_no_kswapd),
		VMTEST(test_filemap_integrity_other_policies),
		VMTEST(test_filemap_clean_drop_no_swap_trace),
		VMTEST(test_filemap_clean_drop_no_swap_native),
		VMTEST(test_filemap_swappiness_balance),
		VMTEST(test_filemap_truncate_sigbus_trace),
		VMTEST(test_filemap_truncate_sigbus_native),
		VMTEST(test_filemap_write_error_trace),
		VMTEST(test_filemap_write_error_native),
		VMTEST(test_filemap_write_error_under_pressure),
		VMTEST(test_filemap_read_error_sigbus),
		VMTEST(test_filemap_readahead),
		VMTEST(test_filemap_bad_args),
		VMTEST(test_filemap_fork_shares_mapping),
		VMTEST(test_filemap_procfs_names),
		VMTEST(test_filemap_workloads),
		VMTEST(test_filemap_workload_catches_corruption),
		VMTEST(test_filemap_check_catches_corruption),
		VMTEST(test_filemap_races_during_writeback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
