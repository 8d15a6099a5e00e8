/*
 * tests/test_phys.c - the frame pool: sizes (1 frame, odd counts), the
 * direct map really is the memfd, struct page stays lean, and bad sizes or
 * an unsizeable memfd fail cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/phys.h"

static void test_phys_page_is_lean(void **state)
{
	(void)state;
	assert_true(sizeof(struct page) <= 64);
}

static void check_pool(uint64_t nr_pages)
{
	struct phys ph;
	const char *step;

	assert_int_equal(phys_init(&ph, nr_pages, &step), 0);
	assert_null(step);
	assert_int_equal(ph.nr_pages, nr_pages);
	for (pfn_t pfn = 0; pfn < nr_pages; pfn++) {
		struct page *pg = phys_page(&ph, pfn);

		assert_int_equal(phys_pfn(&ph, pg), pfn);
		assert_int_equal(pg->flags, 0);
		memset(phys_addr(&ph, pfn), (int)(pfn & 0xff), PAGE_SIZE);
	}
	/* The direct map is the memfd: read the bytes back through pread. */
	for (pfn_t pfn = 0; pfn < nr_pages; pfn++) {
		unsigned char buf[PAGE_SIZE];

		assert_int_equal(pread(ph.memfd, buf, sizeof(buf),
				       (off_t)(pfn << PAGE_SHIFT)),
				 (ssize_t)sizeof(buf));
		assert_int_equal(buf[0], pfn & 0xff);
		assert_int_equal(buf[PAGE_SIZE - 1], pfn & 0xff);
	}
	phys_fini(&ph);
	assert_int_equal(ph.memfd, -1);
	assert_null(ph.direct_map);
	assert_null(ph.mem_map);
	phys_fini(&ph); /* idempotent */
}

static void test_phys_sizes(void **state)
{
	(void)state;
	check_pool(1);
	check_pool(3);
	check_pool(1000);
	check_pool(1024);
}

static void test_phys_bad_sizes(void **state)
{
	struct phys ph;
	const char *step = NULL;

	(void)state;
	assert_int_equal(phys_init(&ph, 0, &step), -EINVAL);
	assert_string_equal(step, "size");
	assert_int_equal(ph.memfd, -1);
	assert_int_equal(phys_init(&ph, PHYS_MAX_PAGES + 1, NULL), -EOVERFLOW);
	assert_int_equal(phys_init(&ph, UINT64_MAX, NULL), -EOVERFLOW);
	assert_null(ph.direct_map);
}

/* A memfd that cannot be sized: RLIMIT_FSIZE makes ftruncate fail. */
static void test_phys_memfd_cannot_be_sized(void **state)
{
	struct rlimit old, lim;
	struct phys ph;
	const char *step = NULL;
	int fds_before, fds_after;

	(void)state;
	fds_before = dup(0);
	close(fds_before);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4 * PAGE_SIZE;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(phys_init(&ph, 64, &step), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_string_equal(step, "ftruncate");
	assert_int_equal(ph.memfd, -1);
	assert_null(ph.direct_map);
	assert_null(ph.mem_map);
	/* No descriptor leaked. */
	fds_after = dup(0);
	close(fds_after);
	assert_int_equal(fds_before, fds_after);
}

/* No descriptor left: memfd_create fails, nothing half-built. */
static void test_phys_memfd_cannot_be_created(void **state)
{
	struct rlimit old, lim;
	struct phys ph;
	const char *step = NULL;
	int lowest = dup(0);

	(void)state;
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)lowest; /* every descriptor number in use */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	assert_int_equal(phys_init(&ph, 16, &step), -EMFILE);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_string_equal(step, "memfd_create");
	assert_int_equal(ph.memfd, -1);
	assert_null(ph.direct_map);
	assert_null(ph.mem_map);
}

/* Too large for the host address space: mmap fails, nothing leaks. */
static void test_phys_too_large_to_map(void **state)
{
	struct phys ph;
	const char *step = NULL;

	(void)state;
	assert_int_equal(phys_init(&ph, PHYS_MAX_PAGES, &step), -ENOMEM);
	assert_string_equal(step, "mmap direct map");
	assert_int_equal(ph.memfd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phys_page_is_lean),
		cmocka_unit_test(test_phys_sizes),
		cmocka_unit_test(test_phys_bad_sizes),
		cmocka_unit_test(test_phys_memfd_cannot_be_sized),
		cmocka_unit_test(test_phys_memfd_cannot_be_created),
		cmocka_unit_test(test_phys_too_large_to_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
