/*
 * tests/test_swap.c - the swap area (swap/swapfile.h).
 *
 * The slot allocator is tested differentially: a tiny model (per-slot
 * count, cache bit and private word; per-cluster "became free/nonfull at
 * time t" stamps instead of linked lists) runs the same random
 * alloc/dup/put/cache sequence, predicts every slot swap_alloc hands out
 * and every error, and the whole state is compared, with swap_check(),
 * after every batch.  Around it: sequential allocation inside clusters,
 * exhaustion and reuse, the count limit, each swap_check() branch on a
 * corrupted area, BUG_ON on misuse (in a child), the file (0600, O_EXCL,
 * symlinks, the header, swap_probe, temporary files, cleanup after every
 * failure with descriptors counted), page I/O (bit-for-bit round trips,
 * run coalescing, injected failures, EINTR/short/failed transfers through
 * a replaced syscall, four threads at once) and the exact /proc/swaps text.
 *
 * Every file lives in a private directory under $TMPDIR (or /tmp), removed
 * at the end.  SEED=<n> in the environment replays a randomized run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"

#include "swap/swap_internal.h"

#define ERRLEN	   256
#define INFO_LEN   8192
#define CL	   SWAPFILE_CLUSTER
#define PAGES(n)   ((uint64_t)(n)*PAGE_SIZE)
#define NFTW_FDS   8 /* descriptors nftw may hold */
#define HEADER_TXT "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

static char dir[PATH_MAX]; /* the private directory */
static uint64_t rng;

static uint64_t rnd(void)
{
	return vmtest_rand(&rng);
}

static void seed_rng(const char *test)
{
	rng = vmtest_seed(test) * 2654435761ULL + 1;
}

/* ---- helpers ----------------------------------------------------------- */

/* snprintf that must not truncate. */
static void fmt(char *buf, size_t len, const char *f, ...)
	__attribute__((format(printf, 3, 4)));

static void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < len);
}

static void path_in(char *buf, const char *name)
{
	fmt(buf, PATH_MAX, "%s/%s", dir, name);
}

/* Open descriptors of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

/* Entries of directory p, "." and ".." excluded. */
static int count_entries(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static void write_file(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void assert_file_is(const char *p, const char *want)
{
	char buf[256] = { 0 };
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) >= 0);
	close(fd);
	assert_string_equal(buf, want);
}

static struct swap_area *make_area(uint64_t nbytes, const char *path)
{
	struct swap_config cfg = {
		.nbytes = nbytes, .path = path, .tmpdir = dir, .seed = 1
	};
	struct swap_area *a = NULL;
	char err[ERRLEN] = "";

	if (swap_area_create(&cfg, &a, err, sizeof(err)))
		fail_msg("swap_area_create: %s", err);
	assert_int_equal(swap_check(a), 0);
	return a;
}

/* Create must fail with rc, leave no descriptor open and say `needle`. */
static void expect_create_fails(const struct swap_config *cfg, int rc,
				const char *needle)
{
	struct swap_area *a = (struct swap_area *)&a;
	char err[ERRLEN] = "";
	int fds = count_fds();

	assert_int_equal(swap_area_create(cfg, &a, err, sizeof(err)), rc);
	assert_null(a);
	assert_int_equal(count_fds(), fds);
	assert_true(strlen(err) > 0 && !strchr(err, '\n'));
	if (needle && !strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
}

static uint64_t must_alloc(struct swap_area *a)
{
	uint64_t s = 0;

	assert_int_equal(swap_alloc(a, &s), 0);
	return s;
}

/* Fill page buf with bytes derived from (slot, version). */
static void fill_page(uint8_t *buf, uint64_t slot, uint64_t version)
{
	uint64_t x = slot * 0x9E3779B97F4A7C15ULL ^ version;

	for (size_t i = 0; i < PAGE_SIZE; i += sizeof(x)) {
		x = vmtest_rand(&x) | 1;
		memcpy(buf + i, &x, sizeof(x));
	}
}

static bool page_is(const uint8_t *buf, uint64_t slot, uint64_t version)
{
	uint8_t want[PAGE_SIZE];

	fill_page(want, slot, version);
	return memcmp(buf, want, PAGE_SIZE) == 0;
}

/* The area's file descriptor, through the internal structure. */
static void raw_page(struct swap_area *a, uint64_t slot, uint8_t *buf)
{
	assert_int_equal(pread(a->fd, buf, PAGE_SIZE, (off_t)PAGES(slot)),
			 (ssize_t)PAGE_SIZE);
}

/* ---- the file ---------------------------------------------------------- */

static void test_swap_create_geometry(void **state)
{
	char p[PATH_MAX];
	struct stat st;
	mode_t old = umask(0277); /* open() alone would give 0400 */
	struct swap_area *a;

	(void)state;
	path_in(p, "geometry");
	a = make_area(PAGES(3 * CL + 10), p);
	umask(old);
	assert_int_equal(swap_nr_slots(a), 3 * CL + 9);
	assert_int_equal(swap_nr_free(a), 3 * CL + 9);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, (off_t)PAGES(3 * CL + 10));
	assert_true((uint64_t)st.st_blocks * 512 >= PAGES(3 * CL + 10));
	swap_area_destroy(a);
	assert_false(exists(p));
	swap_area_destroy(NULL);
}

static void test_swap_bad_sizes_einval(void **state)
{
	struct swap_config cfg = { .tmpdir = dir };
	struct swap_area *a;
	char err[ERRLEN];
	const struct {
		uint64_t nbytes;
		const char *says;
	} bad[] = {
		{ 0, "0 bytes" },
		{ PAGE_SIZE - 1, "4095" },
		{ PAGE_SIZE, "4096 bytes leaves no slot" },
		{ PAGE_SIZE + 1, "4097" },
		{ SWAP_MIN_BYTES + 512, "not a multiple" },
		{ SWAP_MAX_BYTES + PAGE_SIZE, "exceeds" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cfg.nbytes = bad[i].nbytes;
		expect_create_fails(&cfg, -EINVAL, bad[i].says);
	}
	cfg.nbytes = SWAP_MIN_BYTES;
	cfg.path = "";
	expect_create_fails(&cfg, -EINVAL, "empty");
	expect_create_fails(NULL, -EINVAL, NULL);
	assert_int_equal(swap_area_create(&cfg, NULL, err, sizeof(err)),
			 -EINVAL);
	cfg.path = NULL; /* the smallest valid area: one slot */
	assert_int_equal(swap_area_create(&cfg, &a, NULL, 0), 0);
	assert_int_equal(swap_nr_slots(a), 1);
	swap_area_destroy(a);
	assert_int_equal(count_entries(dir), 0);
}

static void test_swap_header_magic_version(void **state)
{
	char p[PATH_MAX], err[ERRLEN];
	uint8_t page[PAGE_SIZE], zero[PAGE_SIZE] = { 0 };
	struct swap_header_info hi;
	struct swap_area *a;

	(void)state;
	path_in(p, "header");
	a = make_area(PAGES(77), p);
	raw_page(a, 0, page);
	assert_memory_equal(page + PAGE_SIZE - 10, "VMEMUSWAP1", 10);
	assert_int_equal(page[1024], 1); /* version 1, little-endian */
	assert_memory_equal(page + 1025, zero, 3);
	assert_int_equal(page[1028] | page[1029] << 8, 4096);
	assert_int_equal(page[1032], 76); /* last page */
	assert_memory_equal(page, zero, 1024);
	assert_memory_equal(page + 1040, zero, PAGE_SIZE - 10 - 1040);
	assert_int_equal(swap_probe(p, &hi, err, sizeof(err)), 0);
	assert_int_equal(hi.version, SWAP_VERSION);
	assert_int_equal(hi.page_size, PAGE_SIZE);
	assert_int_equal(hi.last_page, 76);
	swap_area_destroy(a);
}

/* Write a 3-page file whose page 0 is hdr, probe it: -EINVAL, `says`. */
static void expect_probe_rejects(const uint8_t *hdr, size_t len,
				 const char *says)
{
	char p[PATH_MAX], err[ERRLEN] = "";
	uint8_t file[PAGES(3)] = { 0 };

	memcpy(file, hdr, PAGE_SIZE);
	path_in(p, "foreign");
	write_file(p, file, len);
	assert_int_equal(swap_probe(p, NULL, err, sizeof(err)), -EINVAL);
	if (!strstr(err, p) || !strstr(err, says))
		fail_msg("probe message '%s' lacks the path or '%s'", err,
			 says);
	unlink(p);
}

static void test_swap_probe_rejects_foreign(void **state)
{
	uint8_t good[PAGE_SIZE], page[PAGE_SIZE];
	char err[ERRLEN], p[PATH_MAX];
	struct swap_area *a;

	(void)state;
	path_in(p, "model");
	a = make_area(PAGES(3), p);
	raw_page(a, 0, good);
	swap_area_destroy(a);
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 131 + 7);
	expect_probe_rejects(page, PAGES(3), "no VMEMUSWAP1 signature");
	memset(page, 0, sizeof(page));
	memcpy(page + PAGE_SIZE - 10, "SWAPSPACE2", 10);
	expect_probe_rejects(page, PAGES(3), "Linux swap area");
	memcpy(page, good, PAGE_SIZE);
	page[1024] = 2;
	expect_probe_rejects(page, PAGES(3), "version 2");
	memcpy(page, good, PAGE_SIZE);
	page[1029] = 0x20; /* 8192-byte pages */
	expect_probe_rejects(page, PAGES(3), "8192-byte pages");
	expect_probe_rejects(good, PAGES(2), "claims 2 slots");
	expect_probe_rejects(good, PAGE_SIZE, "at least 8192 bytes");
	assert_int_equal(swap_probe(dir, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(swap_probe(p, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, p));
}

static void test_swap_existing_file_refused(void **state)
{
	struct swap_config cfg = { .nbytes = PAGES(8) };
	char p[PATH_MAX];

	(void)state;
	path_in(p, "precious");
	write_file(p, "precious data", 13);
	cfg.path = p;
	expect_create_fails(&cfg, -EEXIST, p);
	expect_create_fails(&cfg, -EEXIST, "already exists");
	assert_file_is(p, "precious data");
	unlink(p);
	cfg.path = dir; /* a directory is refused the same way */
	expect_create_fails(&cfg, -EEXIST, dir);
}

static void test_swap_symlink_refused(void **state)
{
	struct swap_config cfg = { .nbytes = PAGES(8) };
	char target[PATH_MAX], link[PATH_MAX], none[PATH_MAX];
	struct stat st;

	(void)state;
	path_in(target, "target");
	path_in(link, "link");
	path_in(none, "nowhere");
	write_file(target, "keep me", 7);
	assert_int_equal(symlink(target, link), 0);
	cfg.path = link;
	expect_create_fails(&cfg, -EEXIST, link);
	assert_file_is(target, "keep me");
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	unlink(link);
	assert_int_equal(symlink(none, link), 0); /* dangling: not followed */
	expect_create_fails(&cfg, -EEXIST, link);
	assert_false(exists(none));
	unlink(link);
	unlink(target);
	assert_int_equal(count_entries(dir), 0);
}

static void test_swap_destroy_removes_own_file_only(void **state)
{
	char p[PATH_MAX], moved[PATH_MAX];
	int fds = count_fds();
	struct swap_area *a;

	(void)state;
	path_in(p, "own");
	a = make_area(PAGES(4), p);
	assert_int_equal(count_fds(), fds + 1);
	swap_area_destroy(a);
	assert_false(exists(p));
	assert_int_equal(count_fds(), fds);
	/* Someone replaced the file: destroy leaves the newcomer alone. */
	path_in(moved, "moved");
	a = make_area(PAGES(4), p);
	assert_int_equal(rename(p, moved), 0);
	write_file(p, "newcomer", 8);
	swap_area_destroy(a);
	assert_file_is(p, "newcomer");
	unlink(p);
	unlink(moved);
	assert_int_equal(count_fds(), fds);
}

/* The name swap_info shows for a (the first field of its second line). */
static void info_name(const struct swap_area *a, char *name, size_t len)
{
	char info[INFO_LEN];
	const char *line;

	swap_info(a, info, sizeof(info));
	line = strchr(info, '\n') + 1;
	fmt(name, len, "%.*s", (int)strcspn(line, " "), line);
}

static void test_swap_tmpfile_leaves_nothing(void **state)
{
	struct swap_config cfg = { .nbytes = PAGES(16), .tmpdir = dir };
	char name[INFO_LEN], sub[PATH_MAX], prefix[PATH_MAX];
	const char *old = getenv("TMPDIR");
	int fds = count_fds();
	struct swap_area *a;

	(void)state;
	assert_int_equal(swap_area_create(&cfg, &a, NULL, 0), 0);
	assert_int_equal(count_fds(), fds + 1);
	assert_int_equal(count_entries(dir), 0);
	info_name(a, name, sizeof(name));
	fmt(prefix, sizeof(prefix), "%s/", dir);
	assert_memory_equal(name, prefix, strlen(prefix));
	assert_non_null(strstr(name, "\\040(deleted)"));
	swap_area_destroy(a);
	assert_int_equal(count_fds(), fds);
	/* No tmpdir: $TMPDIR. */
	path_in(sub, "sub");
	assert_int_equal(mkdir(sub, 0700), 0);
	setenv("TMPDIR", sub, 1);
	cfg.tmpdir = NULL;
	assert_int_equal(swap_area_create(&cfg, &a, NULL, 0), 0);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	info_name(a, name, sizeof(name));
	assert_memory_equal(name, sub, strlen(sub));
	assert_int_equal(count_entries(sub), 0);
	swap_area_destroy(a);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(count_fds(), fds);
}

static void test_swap_mkstemp_fallback_leaves_nothing(void **state)
{
	char *name = NULL, err[ERRLEN] = "", missing[PATH_MAX];
	int fds = count_fds(), fd;

	(void)state;
	fd = swap_tmpfile_open(dir, false, &name, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(count_fds(), fds + 1);
	assert_memory_equal(name, dir, strlen(dir));
	assert_non_null(strstr(name, "/vmemu-swap-"));
	assert_non_null(strstr(name, " (deleted)"));
	close(fd);
	free(name);
	path_in(missing, "missing");
	for (int allow = 0; allow <= 1; allow++) {
		fd = swap_tmpfile_open(missing, allow, &name, err, sizeof(err));
		assert_int_equal(fd, -ENOENT);
		assert_non_null(strstr(err, missing));
		assert_int_equal(count_fds(), fds);
	}
}

/* posix_fallocate past RLIMIT_FSIZE fails with EFBIG, like a full disk. */
static void expect_prealloc_failure(const char *path)
{
	struct swap_config cfg = { .nbytes = PAGES(256),
				   .path = path,
				   .tmpdir = dir };
	struct rlimit old, lim;
	char says[ERRLEN];

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = (struct rlimit){ PAGES(16), old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	fmt(says, sizeof(says), "preallocate %llu bytes for swap file %s",
	    (unsigned long long)PAGES(256), path ? path : dir);
	expect_create_fails(&cfg, -EFBIG, says);
	expect_create_fails(&cfg, -EFBIG, strerror(EFBIG));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(count_entries(dir), 0);
}

static void test_swap_prealloc_failure_cleans_up(void **state)
{
	void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
	char p[PATH_MAX];

	(void)state;
	path_in(p, "toolarge");
	expect_prealloc_failure(p);
	expect_prealloc_failure(NULL);
	signal(SIGXFSZ, old);
}

static void test_swap_create_failure_names_file(void **state)
{
	struct swap_config cfg = { .nbytes = PAGES(8) };
	char p[PATH_MAX];

	(void)state;
	path_in(p, "no/such/dir/swap");
	cfg.path = p;
	expect_create_fails(&cfg, -ENOENT, p);
	cfg.path = NULL;
	cfg.tmpdir = p;
	expect_create_fails(&cfg, -ENOENT, p);
}

/* ---- misuse is a bug --------------------------------------------------- */

enum misuse {
	PUT_FREE,	 /* swap_put of a free slot */
	PUT_CACHE_ONLY,	 /* swap_put at count 0 (cache bit only) */
	CACHE_DEL_TWICE, /* swap_cache_del without the cache bit */
	DUP_SLOT0,	 /* the header slot */
	COUNT_PAST_END,	 /* a slot past the last */
	PRIVATE_ON_FREE, /* swap_set_private on a free slot */
	WRITE_SLOT0,	 /* I/O to the header */
	READ_PAST_END,	 /* I/O past the end */
	NR_MISUSES,
};

static void misuse(struct swap_area *a, enum misuse how)
{
	uint8_t page[PAGE_SIZE] = { 0 };
	const void *src[] = { page };
	void *dst[] = { page };
	uint64_t s = must_alloc(a), zero = 0, end = swap_nr_slots(a) + 1;

	switch (how) {
	case PUT_FREE:
		swap_put(a, s + 1);
		break;
	case PUT_CACHE_ONLY:
		swap_put(a, s);
		break;
	case CACHE_DEL_TWICE:
		swap_cache_del(a, s);
		swap_cache_del(a, s);
		break;
	case DUP_SLOT0:
		swap_dup(a, 0);
		break;
	case COUNT_PAST_END:
		swap_count(a, end);
		break;
	case PRIVATE_ON_FREE:
		swap_set_private(a, s + 1, 1);
		break;
	case WRITE_SLOT0:
		swap_write_pages(a, &zero, src, 1, NULL);
		break;
	case READ_PAST_END:
		swap_read_pages(a, &end, dst, 1, NULL);
		break;
	case NR_MISUSES:
		break;
	}
}

/* In a child (BUG_ON aborts): must die of SIGABRT. */
static void expect_bug(enum misuse how)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct swap_config cfg = { .nbytes = PAGES(8), .tmpdir = dir };
		struct swap_area *a;

		if (!freopen("/dev/null", "w", stderr) ||
		    swap_area_create(&cfg, &a, NULL, 0))
			_exit(1);
		misuse(a, how);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("misuse %d did not hit BUG_ON (status %#x)", how,
			 status);
}

static void test_swap_misuse_bugs(void **state)
{
	(void)state;
	for (int how = 0; how < NR_MISUSES; how++)
		expect_bug(how);
	assert_int_equal(count_entries(dir), 0);
}

/* ---- the slot allocator ------------------------------------------------ */

static void test_swap_alloc_sequential_fresh(void **state)
{
	struct swap_area *a = make_area(PAGES(3 * CL + 10), NULL);
	uint64_t s;

	(void)state;
	for (uint64_t want = 1; want <= 3 * CL + 9; want++)
		assert_int_equal(must_alloc(a), want);
	assert_int_equal(swap_alloc(a, &s), -ENOSPC);
	assert_int_equal(swap_nr_free(a), 0);
	assert_int_equal(swap_check(a), 0);
	swap_area_destroy(a);
}

static void test_swap_alloc_sequential_in_cluster(void **state)
{
	struct swap_area *a = make_area(PAGES(4 * CL), NULL);
	const uint64_t holes[] = { CL + 7, CL + 8, CL + 100, CL + 255 };

	(void)state;
	while (swap_nr_free(a))
		must_alloc(a);
	for (size_t i = ARRAY_SIZE(holes); i-- > 0;)
		swap_cache_del(a, holes[i]);
	for (uint64_t s = 2 * CL; s < 3 * CL; s++) /* cluster 2 all free */
		swap_cache_del(a, s);
	assert_int_equal(swap_check(a), 0);
	/* The whole free cluster first, in order ... */
	for (uint64_t s = 2 * CL; s < 3 * CL; s++)
		assert_int_equal(must_alloc(a), s);
	/* ... then the holes of the nonfull one, lowest first. */
	for (size_t i = 0; i < ARRAY_SIZE(holes); i++)
		assert_int_equal(must_alloc(a), holes[i]);
	assert_int_equal(swap_nr_free(a), 0);
	assert_int_equal(swap_check(a), 0);
	swap_area_destroy(a);
}

static void test_swap_full_enospc_then_reuse(void **state)
{
	struct swap_area *a = make_area(PAGES(CL + 3), NULL);
	uint64_t s = 99;

	(void)state;
	while (swap_nr_free(a))
		must_alloc(a);
	assert_int_equal(swap_alloc(a, &s), -ENOSPC);
	assert_int_equal(s, 99); /* untouched */
	swap_cache_del(a, 17);	 /* cache-only slot: freed */
	assert_int_equal(must_alloc(a), 17);
	assert_int_equal(swap_dup(a, CL + 1), 0); /* a PTE holds it */
	swap_cache_del(a, CL + 1);
	assert_int_equal(swap_alloc(a, &s), -ENOSPC);
	assert_int_equal(swap_put(a, CL + 1), 0); /* the last reference */
	assert_int_equal(swap_nr_free(a), 1);
	assert_int_equal(must_alloc(a), CL + 1);
	assert_int_equal(swap_alloc(a, &s), -ENOSPC);
	assert_int_equal(swap_check(a), 0);
	swap_area_destroy(a);
}

static void test_swap_count_overflow(void **state)
{
	struct swap_area *a = make_area(PAGES(4), NULL);
	uint64_t s = must_alloc(a);

	(void)state;
	for (unsigned i = 0; i < SWAP_COUNT_MAX; i++)
		assert_int_equal(swap_dup(a, s), 0);
	assert_int_equal(swap_dup(a, s), -EOVERFLOW);
	assert_int_equal(swap_count(a, s), SWAP_COUNT_MAX);
	assert_true(swap_has_cache(a, s));
	assert_int_equal(swap_check(a), 0);
	swap_cache_del(a, s);
	assert_int_equal(swap_dup(a, s), -EOVERFLOW);
	for (unsigned i = SWAP_COUNT_MAX; i > 0; i--)
		assert_int_equal(swap_put(a, s), i - 1);
	assert_int_equal(swap_nr_free(a), 3);
	assert_int_equal(swap_check(a), 0);
	swap_area_destroy(a);
}

static void test_swap_cache_protocol(void **state)
{
	struct swap_area *a = make_area(PAGES(4), NULL);
	uint64_t s = must_alloc(a), other = s + 1;

	(void)state;
	assert_true(swap_has_cache(a, s));
	assert_int_equal(swap_count(a, s), 0);
	assert_int_equal(swap_private(a, s), 0);
	swap_set_private(a, s, 0xfeed);
	assert_int_equal(swap_dup(a, s), 0);
	assert_int_equal(swap_cache_add(a, s), -EEXIST);
	swap_cache_del(a, s); /* swapped out: only the PTE holds it */
	assert_false(swap_has_cache(a, s));
	assert_int_equal(swap_private(a, s), 0xfeed); /* e.g. a shadow */
	assert_int_equal(swap_cache_add(a, s), 0);    /* swap-in */
	assert_int_equal(swap_put(a, s), 0);	      /* PTE maps the page */
	assert_int_equal(swap_nr_free(a), 2);	      /* cache still holds */
	swap_cache_del(a, s);
	assert_int_equal(swap_nr_free(a), 3);
	assert_int_equal(swap_private(a, s), 0);
	assert_int_equal(swap_dup(a, other), -ENOENT); /* free: stale */
	assert_int_equal(swap_cache_add(a, other), -ENOENT);
	assert_false(swap_has_cache(a, other));
	assert_int_equal(must_alloc(a), s + 1); /* the cursor moved on */
	assert_int_equal(swap_check(a), 0);
	swap_area_destroy(a);
}

/* ---- the differential test --------------------------------------------- */

#define DIFF_OPS     200000
#define CHECK_EVERY  500
#define PHASE_OPS    5000 /* ops between switches of fill/drain */
#define ALLOC_FILL   45	  /* % of ops that allocate while filling */
#define ALLOC_DRAIN  5
#define PCT	     100
#define NR_SLOT_OPS  5
#define MODEL_MAX_CL 8

enum { M_FREE, M_NONFULL, M_FULL };

/*
 * The model: slot state in plain arrays; a cluster's list is a state plus
 * the time it entered that state (a list is FIFO: oldest stamp first).
 */
struct model {
	uint64_t n; /* usable slots 1..n */
	unsigned ncl;
	unsigned count[MODEL_MAX_CL * CL];
	bool cache[MODEL_MAX_CL * CL];
	uint64_t priv[MODEL_MAX_CL * CL];
	unsigned used[MODEL_MAX_CL]; /* slots not free, bad ones included */
	int state[MODEL_MAX_CL];
	uint64_t stamp[MODEL_MAX_CL], clock;
	uint64_t cursor; /* 0: none */
	uint64_t nfree;
};

static bool m_free(const struct model *m, uint64_t s)
{
	return !m->count[s] && !m->cache[s];
}

static void m_touch(struct model *m, unsigned c)
{
	int st = m->used[c] == 0  ? M_FREE :
		 m->used[c] == CL ? M_FULL :
				    M_NONFULL;

	if (st != m->state[c]) {
		m->state[c] = st;
		m->stamp[c] = ++m->clock;
	}
}

static void m_init(struct model *m, uint64_t n)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	m->nfree = n;
	m->ncl = (unsigned)((n + 1 + CL - 1) / CL);
	m->cursor = 1;
	for (unsigned c = 0; c < m->ncl; c++) {
		uint64_t lo = (uint64_t)c * CL, hi = lo + CL;

		m->used[c] = (c == 0) + (unsigned)(hi > n + 1 ? hi - n - 1 : 0);
		m->state[c] = -1;
		m_touch(m, c); /* stamps in index order, as lists are built */
	}
}

/* The lowest free slot of cluster c from slot `from` on, or 0. */
static uint64_t m_lowest_free(const struct model *m, unsigned c, uint64_t from)
{
	for (uint64_t s = from; s < (uint64_t)(c + 1) * CL && s <= m->n; s++)
		if (s && m_free(m, s))
			return s;
	return 0;
}

/* The oldest cluster in state st, or -1. */
static int m_oldest(const struct model *m, int st)
{
	int best = -1;

	for (unsigned c = 0; c < m->ncl; c++)
		if (m->state[c] == st &&
		    (best < 0 || m->stamp[c] < m->stamp[best]))
			best = (int)c;
	return best;
}

/* The slot swap_alloc must return, or 0 for -ENOSPC. */
static uint64_t m_expect_alloc(const struct model *m)
{
	uint64_t s = 0;
	int c;

	if (!m->nfree)
		return 0;
	if (m->cursor)
		s = m_lowest_free(m, (unsigned)(m->cursor / CL), m->cursor);
	if (!s && (c = m_oldest(m, M_FREE)) >= 0)
		s = m_lowest_free(m, (unsigned)c, (uint64_t)c * CL);
	if (!s && (c = m_oldest(m, M_NONFULL)) >= 0)
		s = m_lowest_free(m, (unsigned)c, (uint64_t)c * CL);
	return s;
}

static void m_take(struct model *m, uint64_t s)
{
	m->cache[s] = true;
	m->used[s / CL]++;
	m->nfree--;
	m_touch(m, (unsigned)(s / CL));
	m->cursor = (s + 1) % CL && s + 1 <= m->n ? s + 1 : 0;
}

static void m_maybe_release(struct model *m, uint64_t s)
{
	if (!m_free(m, s))
		return;
	m->priv[s] = 0;
	m->used[s / CL]--;
	m->nfree++;
	m_touch(m, (unsigned)(s / CL));
}

static void diff_alloc(struct swap_area *a, struct model *m, unsigned op)
{
	uint64_t want = m_expect_alloc(m), got = 0;
	int rc = swap_alloc(a, &got);

	if (rc != (want ? 0 : -ENOSPC) || (want && got != want))
		fail_msg("op %u: swap_alloc %d slot %llu, model wants %llu", op,
			 rc, (unsigned long long)got, (unsigned long long)want);
	if (want)
		m_take(m, want);
}

/* One count/cache/private operation on a random slot, checked. */
static void diff_slot_op(struct swap_area *a, struct model *m)
{
	uint64_t s = 1 + rnd() % m->n, v = rnd();
	bool free = m_free(m, s);

	switch (rnd() % NR_SLOT_OPS) {
	case 0:
		assert_int_equal(swap_dup(a, s), free ? -ENOENT : 0);
		m->count[s] += !free;
		break;
	case 1:
		if (m->count[s]) {
			assert_int_equal(swap_put(a, s), --m->count[s]);
			m_maybe_release(m, s);
		}
		break;
	case 2:
		assert_int_equal(swap_cache_add(a, s), m->cache[s] ? -EEXIST :
						       free	   ? -ENOENT :
								     0);
		m->cache[s] |= !free;
		break;
	case 3:
		if (m->cache[s]) {
			swap_cache_del(a, s);
			m->cache[s] = false;
			m_maybe_release(m, s);
		}
		break;
	default:
		if (!free) {
			swap_set_private(a, s, v);
			m->priv[s] = v;
		}
	}
}

static void diff_compare(const struct swap_area *a, const struct model *m)
{
	assert_int_equal(swap_check(a), 0);
	assert_int_equal(swap_nr_free(a), m->nfree);
	for (uint64_t s = 1; s <= m->n; s++) {
		assert_int_equal(swap_count(a, s), m->count[s]);
		assert_int_equal(swap_has_cache(a, s), m->cache[s]);
		assert_int_equal(swap_private(a, s), m->priv[s]);
	}
}

static void run_differential(uint64_t nbytes)
{
	struct swap_area *a = make_area(nbytes, NULL);
	static struct model m;
	unsigned alloc_pct = ALLOC_FILL;

	m_init(&m, swap_nr_slots(a));
	for (unsigned op = 0; op < DIFF_OPS; op++) {
		if (op % PHASE_OPS == 0)
			alloc_pct = (op / PHASE_OPS) % 2 ? ALLOC_DRAIN :
							   ALLOC_FILL;
		if (rnd() % PCT < alloc_pct)
			diff_alloc(a, &m, op);
		else
			diff_slot_op(a, &m);
		if (op % CHECK_EVERY == 0)
			diff_compare(a, &m);
	}
	diff_compare(a, &m);
	swap_area_destroy(a);
}

static void test_swap_differential_model(void **state)
{
	(void)state;
	run_differential(PAGES(5 * CL + 37)); /* a partial last cluster */
	run_differential(PAGES(2 * CL));      /* whole clusters */
	run_differential(PAGES(3));	      /* two slots */
}

/* ---- swap_check catches corruption ------------------------------------- */

/* Break one thing in a used area, expect code, repair, expect 0. */
#define CORRUPT(a, lvalue, bad, code)                    \
	do {                                             \
		__typeof__(lvalue) saved_ = (lvalue);    \
		(lvalue) = (bad);                        \
		assert_int_equal(swap_check(a), (code)); \
		(lvalue) = saved_;                       \
		assert_int_equal(swap_check(a), 0);      \
	} while (0)

static void test_swap_check_detects_corruption(void **state)
{
	struct swap_area *a = make_area(PAGES(4 * CL + 9), NULL);
	uint64_t last = a->nr_clusters * CL - 1;

	(void)state;
	for (unsigned i = 0; i < CL + 10; i++)
		must_alloc(a); /* cluster 0 full, cluster 1 nonfull */
	CORRUPT(a, a->map[0], 0, SWAP_CHECK_MAP);
	CORRUPT(a, a->map[last], 0, SWAP_CHECK_MAP);
	CORRUPT(a, a->map[CL + 20], SWAP_MAP_BAD, SWAP_CHECK_MAP);
	CORRUPT(a, a->map[5], SWAP_MAP_BAD | SWAP_HAS_CACHE, SWAP_CHECK_MAP);
	CORRUPT(a, a->priv[CL + 20], 7, SWAP_CHECK_PRIVATE);
	CORRUPT(a, a->cl[1].count, a->cl[1].count + 1, SWAP_CHECK_COUNT);
	CORRUPT(a, a->cl[2].list, CL_FULL, SWAP_CHECK_LIST);
	CORRUPT(a, a->lists[CL_FREE].nr, 1, SWAP_CHECK_LINKS);
	CORRUPT(a, a->lists[CL_FREE].tail, 2, SWAP_CHECK_LINKS);
	CORRUPT(a, a->cl[2].next, 2, SWAP_CHECK_LINKS); /* a cycle */
	CORRUPT(a, a->cl[3].prev, CLUSTER_NONE, SWAP_CHECK_LINKS);
	CORRUPT(a, a->lists[CL_NONFULL].head, 99, SWAP_CHECK_LINKS);
	CORRUPT(a, a->nr_free, a->nr_free - 1, SWAP_CHECK_NR_FREE);
	CORRUPT(a, a->next, a->nr_pages, SWAP_CHECK_NEXT);
	swap_area_destroy(a);
}

/* ---- page I/O ---------------------------------------------------------- */

#define IO_SLOTS  2048
#define MAX_RUN	  600 /* > SWAP_IO_MAX_PAGES: runs get split */
#define MAX_BATCH 40

/* Pages of data for every slot, at scattered addresses (like frames). */
struct pages {
	uint64_t n;
	uint8_t *mem;	/* n pages */
	uint64_t *perm; /* page of slot s is mem + perm[s] pages */
};

static void pages_init(struct pages *p, uint64_t n)
{
	p->n = n;
	p->mem = malloc(PAGES(n));
	p->perm = malloc(n * sizeof(*p->perm));
	assert_non_null(p->mem);
	assert_non_null(p->perm);
	for (uint64_t i = 0; i < n; i++)
		p->perm[i] = i;
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = rnd() % (i + 1), t = p->perm[i];

		p->perm[i] = p->perm[j];
		p->perm[j] = t;
	}
}

static uint8_t *page_of(const struct pages *p, uint64_t slot)
{
	return p->mem + PAGES(p->perm[slot % p->n]);
}

static void pages_fini(struct pages *p)
{
	free(p->mem);
	free(p->perm);
}

/* Write or read slots[0..n) through the pages of p; all must succeed. */
static void io_batch(struct swap_area *a, const uint64_t *slots, unsigned n,
		     const struct pages *p, bool write)
{
	const void *src[MAX_RUN];
	void *dst[MAX_RUN];
	int res[MAX_RUN];

	for (unsigned i = 0; i < n; i++)
		src[i] = dst[i] = page_of(p, slots[i]);
	if (write)
		assert_int_equal(swap_write_pages(a, slots, src, n, res), 0);
	else
		assert_int_equal(swap_read_pages(a, slots, dst, n, res), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(res[i], 0);
}

/* Consecutive slots from..to in random-length runs; returns calls made. */
static uint64_t io_sweep(struct swap_area *a, const struct pages *p, bool write)
{
	uint64_t slots[MAX_RUN], s = 1, calls = 0;

	while (s <= swap_nr_slots(a)) {
		uint64_t want = 1 + rnd() % MAX_RUN; /* MIN evaluates twice */
		unsigned n = (unsigned)MIN(want, swap_nr_slots(a) - s + 1);

		for (unsigned i = 0; i < n; i++)
			slots[i] = s + i;
		io_batch(a, slots, n, p, write);
		calls += (n + SWAP_IO_MAX_PAGES - 1) / SWAP_IO_MAX_PAGES;
		s += n;
	}
	return calls;
}

static void test_swap_io_roundtrip_batched(void **state)
{
	struct swap_area *a = make_area(PAGES(IO_SLOTS + 1), NULL);
	struct pages out, in;
	struct swap_stats st;
	uint64_t wcalls, rcalls;

	(void)state;
	pages_init(&out, IO_SLOTS + 1);
	pages_init(&in, IO_SLOTS + 1);
	for (uint64_t s = 1; s <= IO_SLOTS; s++)
		fill_page(page_of(&out, s), s, 1);
	memset(in.mem, 0, PAGES(in.n));
	wcalls = io_sweep(a, &out, true);
	rcalls = io_sweep(a, &in, false);
	for (uint64_t s = 1; s <= IO_SLOTS; s++)
		if (!page_is(page_of(&in, s), s, 1))
			fail_msg("slot %llu read back wrong",
				 (unsigned long long)s);
	swap_get_stats(a, &st);
	assert_int_equal(st.writes, IO_SLOTS);
	assert_int_equal(st.reads, IO_SLOTS);
	assert_int_equal(st.write_calls, wcalls);
	assert_int_equal(st.read_calls, rcalls);
	assert_int_equal(st.write_errors + st.read_errors, 0);
	pages_fini(&out);
	pages_fini(&in);
	swap_area_destroy(a);
}

static bool contains(const uint64_t *v, unsigned n, uint64_t x)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void test_swap_io_roundtrip_scattered(void **state)
{
	struct swap_area *a = make_area(PAGES(IO_SLOTS + 1), NULL);
	uint64_t version[IO_SLOTS + 1] = { 0 }, slots[MAX_BATCH];
	struct pages buf;

	(void)state;
	pages_init(&buf, IO_SLOTS + 1);
	for (unsigned round = 0; round < 4 * IO_SLOTS / MAX_BATCH; round++) {
		unsigned n = 1 + (unsigned)(rnd() % MAX_BATCH), k = 0;

		for (unsigned i = 0; i < n; i++) {
			uint64_t s = 1 + rnd() % IO_SLOTS;

			if (contains(slots, k, s))
				continue; /* a slot once per batch */
			slots[k++] = s;
			fill_page(page_of(&buf, s), s, ++version[s]);
		}
		io_batch(a, slots, k, &buf, true);
	}
	memset(buf.mem, 0, PAGES(buf.n));
	for (uint64_t s = 1; s <= IO_SLOTS; s++) {
		uint64_t one = IO_SLOTS + 1 - s; /* backwards, one by one */

		io_batch(a, &one, 1, &buf, false);
		if (version[one] &&
		    !page_is(page_of(&buf, one), one, version[one]))
			fail_msg("slot %llu: not version %llu",
				 (unsigned long long)one,
				 (unsigned long long)version[one]);
	}
	pages_fini(&buf);
	swap_area_destroy(a);
}

static void test_swap_io_runs_coalesce(void **state)
{
	char p[PATH_MAX];
	struct swap_area *a;
	const uint64_t slots[] = { 5, 6, 7, 9, 10, 3, 4 };
	uint64_t big[MAX_RUN];
	uint8_t raw[PAGE_SIZE];
	struct swap_stats st;
	struct pages buf;

	(void)state;
	path_in(p, "runs");
	a = make_area(PAGES(IO_SLOTS + 1), p);
	pages_init(&buf, IO_SLOTS + 1);
	for (uint64_t s = 1; s <= IO_SLOTS; s++)
		fill_page(page_of(&buf, s), s, 7);
	io_batch(a, slots, ARRAY_SIZE(slots), &buf, true);
	swap_get_stats(a, &st);
	assert_int_equal(st.write_calls, 3); /* 5-7, 9-10, 3-4 */
	for (size_t i = 0; i < ARRAY_SIZE(slots); i++) {
		raw_page(a, slots[i], raw); /* slot s is at s * PAGE_SIZE */
		assert_true(page_is(raw, slots[i], 7));
	}
	assert_int_equal(swap_probe(p, NULL, NULL, 0), 0); /* header intact */
	for (unsigned i = 0; i < MAX_RUN; i++)
		big[i] = 1000 + i;
	io_batch(a, big, MAX_RUN, &buf, false);
	swap_get_stats(a, &st);
	assert_int_equal(st.read_calls, 3); /* 256 + 256 + 88 pages */
	pages_fini(&buf);
	swap_area_destroy(a);
}

/* Write (or read) slots 1..n with version v; results into res. */
static int io_range(struct swap_area *a, unsigned n, uint64_t v, bool write,
		    uint8_t (*pg)[PAGE_SIZE], int *res)
{
	uint64_t slots[MAX_BATCH];
	const void *src[MAX_BATCH];
	void *dst[MAX_BATCH];

	for (unsigned i = 0; i < n; i++) {
		slots[i] = i + 1;
		src[i] = dst[i] = pg[i];
		if (write)
			fill_page(pg[i], i + 1, v);
	}
	return write ? swap_write_pages(a, slots, src, n, res) :
		       swap_read_pages(a, slots, dst, n, res);
}

#define INJ_N 8

/* Slots 1..INJ_N must hold version want[i]. */
static void expect_versions(struct swap_area *a, const uint64_t *want)
{
	static uint8_t pg[INJ_N][PAGE_SIZE];
	int res[INJ_N];

	assert_int_equal(io_range(a, INJ_N, 0, false, pg, res), 0);
	for (unsigned i = 0; i < INJ_N; i++)
		if (!page_is(pg[i], i + 1, want[i]))
			fail_msg("slot %u is not version %llu", i + 1,
				 (unsigned long long)want[i]);
}

static void test_swap_io_injected_write_failure(void **state)
{
	struct swap_area *a = make_area(PAGES(16), NULL);
	struct fault_attr *fp = swap_fault_point(a, true);
	static uint8_t pg[INJ_N][PAGE_SIZE];
	int res[INJ_N];
	struct swap_stats st;

	(void)state;
	assert_int_equal(io_range(a, INJ_N, 1, true, pg, res), 0);
	/* The 3rd eligible call fails, once. */
	assert_int_equal(fault_attr_set(fp, 100, 3, 1, 0), 0);
	assert_int_equal(io_range(a, INJ_N, 2, true, pg, res), -EIO);
	for (unsigned i = 0; i < INJ_N; i++)
		assert_int_equal(res[i], i == 2 ? -EIO : 0);
	expect_versions(a, (uint64_t[INJ_N]){ 2, 2, 1, 2, 2, 2, 2, 2 });
	swap_get_stats(a, &st);
	assert_int_equal(st.write_calls, 1 + 2); /* 1-2 and 4-8 */
	assert_int_equal(st.writes, 2 * INJ_N - 1);
	assert_int_equal(st.write_errors, 1);
	assert_int_equal(fp->failed, 1);
	/* Every call fails: nothing reaches the file. */
	assert_int_equal(fault_attr_set(fp, 100, 1, -1, 0), 0);
	assert_int_equal(io_range(a, INJ_N, 3, true, pg, res), -EIO);
	for (unsigned i = 0; i < INJ_N; i++)
		assert_int_equal(res[i], -EIO);
	expect_versions(a, (uint64_t[INJ_N]){ 2, 2, 1, 2, 2, 2, 2, 2 });
	/* space: the first 3 pages (12289 bytes of budget) pass. */
	assert_int_equal(fault_attr_set(fp, 100, 1, -1, 3 * PAGE_SIZE + 1), 0);
	assert_int_equal(io_range(a, INJ_N, 4, true, pg, res), -EIO);
	for (unsigned i = 0; i < INJ_N; i++)
		assert_int_equal(res[i], i < 3 ? 0 : -EIO);
	expect_versions(a, (uint64_t[INJ_N]){ 4, 4, 4, 2, 2, 2, 2, 2 });
	swap_area_destroy(a);
}

static void test_swap_io_injected_read_failure(void **state)
{
	struct swap_area *a = make_area(PAGES(16), NULL);
	struct fault_attr *fp = swap_fault_point(a, false);
	static uint8_t pg[INJ_N][PAGE_SIZE];
	uint8_t poison[PAGE_SIZE];
	struct swap_stats st;
	int res[INJ_N];

	(void)state;
	assert_int_equal(io_range(a, INJ_N, 5, true, pg, res), 0);
	memset(pg, 0xee, sizeof(pg));
	memset(poison, 0xee, sizeof(poison));
	assert_int_equal(fault_attr_set(fp, 100, 2, -1, 0), 0);
	assert_int_equal(io_range(a, INJ_N, 0, false, pg, res), -EIO);
	for (unsigned i = 0; i < INJ_N; i++) {
		assert_int_equal(res[i], i % 2 ? -EIO : 0);
		if (i % 2)
			assert_memory_equal(pg[i], poison, PAGE_SIZE);
		else
			assert_true(page_is(pg[i], i + 1, 5));
	}
	swap_get_stats(a, &st);
	assert_int_equal(st.read_calls, INJ_N / 2);
	assert_int_equal(st.read_errors, INJ_N / 2);
	assert_int_equal(st.reads, INJ_N / 2);
	assert_int_equal(st.write_errors, 0); /* the write point is apart */
	swap_area_destroy(a);
}

/* ---- transfers that misbehave (the syscall replaced) ------------------- */

/*
 * flaky: every 3rd call fails with EINTR, the others move at most a few
 * bytes (never a whole run); or, with a budget, move budget bytes in all
 * and then fail with fail_errno (0: return 0, no progress).  fail_first
 * fails only the first call.
 */
static struct {
	bool short_eintr;
	bool fail_first;
	size_t budget;
	int fail_errno;
	unsigned calls;
} flaky;

static ssize_t flaky_xfer(int fd, const struct iovec *iov, int cnt, off_t off,
			  swap_xfer_fn real)
{
	struct iovec cut[SWAP_IO_MAX_PAGES];
	size_t limit = SIZE_MAX, got = 0;
	int n = 0;

	if (flaky.short_eintr && flaky.calls++ % 3 == 1) {
		errno = EINTR;
		return -1;
	}
	if (flaky.short_eintr)
		limit = 1 + (flaky.calls * 2654435761u) % (2 * PAGE_SIZE);
	else if (flaky.fail_first ? flaky.calls++ == 0 : flaky.budget == 0) {
		errno = flaky.fail_errno;
		return flaky.fail_errno ? -1 : 0;
	} else if (!flaky.fail_first)
		limit = flaky.budget;
	for (; n < cnt && got < limit; n++) {
		cut[n] = iov[n];
		cut[n].iov_len = MIN(cut[n].iov_len, limit - got);
		got += cut[n].iov_len;
	}
	got = (size_t)real(fd, cut, n, off);
	if (!flaky.short_eintr && !flaky.fail_first)
		flaky.budget -= got;
	return (ssize_t)got;
}

static ssize_t flaky_pwritev(int fd, const struct iovec *iov, int cnt,
			     off_t off)
{
	return flaky_xfer(fd, iov, cnt, off, pwritev);
}

static ssize_t flaky_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return flaky_xfer(fd, iov, cnt, off, preadv);
}

static void use_flaky(struct swap_area *a, bool on)
{
	a->xfer[SWAP_IO_WRITE] = on ? flaky_pwritev : pwritev;
	a->xfer[SWAP_IO_READ] = on ? flaky_preadv : preadv;
}

static void test_swap_io_eintr_and_short_continued(void **state)
{
	struct swap_area *a = make_area(PAGES(IO_SLOTS + 1), NULL);
	struct pages out, in;
	struct swap_stats st;

	(void)state;
	pages_init(&out, IO_SLOTS + 1);
	pages_init(&in, IO_SLOTS + 1);
	for (uint64_t s = 1; s <= IO_SLOTS; s++)
		fill_page(page_of(&out, s), s, 9);
	memset(in.mem, 0, PAGES(in.n));
	flaky = (__typeof__(flaky)){ .short_eintr = true };
	use_flaky(a, true);
	io_sweep(a, &out, true); /* io_batch asserts every res == 0 */
	io_sweep(a, &in, false);
	use_flaky(a, false);
	for (uint64_t s = 1; s <= IO_SLOTS; s++)
		assert_true(page_is(page_of(&in, s), s, 9));
	swap_get_stats(a, &st);
	assert_true(st.write_calls > IO_SLOTS); /* < 2 pages per call */
	assert_true(st.read_calls > IO_SLOTS);
	assert_int_equal(st.write_errors + st.read_errors, 0);
	pages_fini(&out);
	pages_fini(&in);
	swap_area_destroy(a);
}

/* With flaky set up: write (or read) slots 1..n, expect res[] == want[]. */
static void expect_results(struct swap_area *a, unsigned n, bool write,
			   const int *want)
{
	static uint8_t pg[INJ_N][PAGE_SIZE];
	int res[INJ_N], first = 0;

	for (unsigned i = 0; i < n && !first; i++)
		first = want[i];
	use_flaky(a, true);
	assert_int_equal(io_range(a, n, 1, write, pg, res), first);
	use_flaky(a, false);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(res[i], want[i]);
}

static void test_swap_io_failed_transfer_per_page(void **state)
{
	struct swap_area *a = make_area(PAGES(16), NULL);
	static uint8_t pg[INJ_N][PAGE_SIZE];
	uint64_t slots[] = { 1, 2, 10, 11 };
	const void *src[] = { pg[0], pg[1], pg[2], pg[3] };
	int res[4];

	(void)state;
	flaky = (__typeof__(flaky)){ .budget = 3 * PAGE_SIZE / 2,
				     .fail_errno = ENOSPC };
	expect_results(a, 4, true, (int[]){ 0, -ENOSPC, -ENOSPC, -ENOSPC });
	flaky = (__typeof__(flaky)){ .budget = 0, .fail_errno = EIO };
	expect_results(a, 3, true, (int[]){ -EIO, -EIO, -EIO });
	flaky = (__typeof__(flaky)){ .budget = 2 * PAGE_SIZE };
	expect_results(a, 4, true, (int[]){ 0, 0, -EIO, -EIO });
	flaky = (__typeof__(flaky)){ .budget = PAGE_SIZE + 1 }; /* EOF */
	expect_results(a, 3, false, (int[]){ 0, -EIO, -EIO });
	/* The first run fails, the second goes on. */
	flaky = (__typeof__(flaky)){ .fail_first = true, .fail_errno = EIO };
	use_flaky(a, true);
	assert_int_equal(swap_write_pages(a, slots, src, 4, res), -EIO);
	assert_int_equal(res[0] | res[1], -EIO);
	assert_int_equal(res[2] | res[3], 0);
	flaky.calls = 0; /* and without res: the first error */
	assert_int_equal(swap_write_pages(a, slots, src, 4, NULL), -EIO);
	use_flaky(a, false);
	assert_int_equal(swap_write_pages(a, slots, src, 0, NULL), 0);
	swap_area_destroy(a);
}

/* ---- concurrency ------------------------------------------------------- */

#define NR_WORKERS   4
#define WORKER_SLOTS 256
#define WORKER_ITERS 200
#define WORKER_BATCH 64

struct worker {
	pthread_t th;
	struct swap_area *a;
	uint64_t first; /* slots first .. first + WORKER_SLOTS - 1 */
	uint64_t rng;
	uint64_t version[WORKER_SLOTS];
	unsigned bad;	  /* pages read back wrong or failed */
	uint64_t written; /* pages written */
	uint8_t *wbuf, *rbuf;
};

/* One iteration: write a random run with new versions, read it back. */
static void worker_step(struct worker *w, unsigned iter)
{
	unsigned n = 1 + (unsigned)(vmtest_rand(&w->rng) % WORKER_BATCH);
	unsigned at = (unsigned)(vmtest_rand(&w->rng) % (WORKER_SLOTS - n));
	uint64_t slots[WORKER_BATCH];
	const void *src[WORKER_BATCH];
	void *dst[WORKER_BATCH];

	for (unsigned i = 0; i < n; i++) {
		slots[i] = w->first + at + i;
		w->version[at + i] = (uint64_t)iter << 8 | (w->first & 0xff);
		src[i] = w->wbuf + PAGES(i);
		dst[i] = w->rbuf + PAGES(n - 1 - i); /* scattered */
		fill_page(w->wbuf + PAGES(i), slots[i], w->version[at + i]);
	}
	w->bad += swap_write_pages(w->a, slots, src, n, NULL) != 0;
	w->written += n;
	w->bad += swap_read_pages(w->a, slots, dst, n, NULL) != 0;
	for (unsigned i = 0; i < n; i++)
		w->bad += !page_is(dst[i], slots[i], w->version[at + i]);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t one[PAGE_SIZE];

	for (unsigned iter = 1; iter <= WORKER_ITERS; iter++) {
		unsigned k = (unsigned)(vmtest_rand(&w->rng) % WORKER_SLOTS);
		uint64_t slot = w->first + k;
		void *dst[] = { one };

		worker_step(w, iter);
		if (!w->version[k]) /* a single scattered read */
			continue;
		w->bad += swap_read_pages(w->a, &slot, dst, 1, NULL) != 0;
		w->bad += !page_is(one, slot, w->version[k]);
	}
	return NULL;
}

static void test_swap_io_concurrent_threads(void **state)
{
	struct swap_area *a =
		make_area(PAGES(NR_WORKERS * WORKER_SLOTS + 1), NULL);
	static struct worker w[NR_WORKERS];
	struct swap_stats st;
	uint64_t written = 0;

	(void)state;
	for (unsigned i = 0; i < NR_WORKERS; i++) {
		w[i] = (struct worker){ .a = a,
					.rng = rnd() | 1,
					.first = 1 + i * WORKER_SLOTS };
		w[i].wbuf = malloc(PAGES(WORKER_BATCH));
		w[i].rbuf = malloc(PAGES(WORKER_BATCH));
		assert_true(w[i].wbuf && w[i].rbuf);
		assert_int_equal(
			pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < NR_WORKERS; i++) {
		assert_int_equal(pthread_join(w[i].th, NULL), 0);
		assert_int_equal(w[i].bad, 0);
		written += w[i].written;
		free(w[i].wbuf);
		free(w[i].rbuf);
	}
	swap_get_stats(a, &st);
	assert_int_equal(st.writes, written);
	assert_int_equal(st.write_errors + st.read_errors, 0);
	swap_area_destroy(a);
}

/* ---- /proc/swaps ------------------------------------------------------- */

/* The expected line for name (already escaped), padded by hand. */
static void expect_line(char *buf, size_t len, const char *name,
			const char *rest)
{
	size_t n = strlen(name), pad = n < 40 ? 40 - n : 1;

	fmt(buf, len, "%s%s%*s%s", HEADER_TXT, name, (int)pad, "", rest);
}

static void test_swap_proc_swaps_exact(void **state)
{
	char p[PATH_MAX], info[INFO_LEN], want[INFO_LEN];
	struct swap_area *a;

	(void)state;
	assert_int_equal(swap_info(NULL, info, sizeof(info)),
			 (int)strlen(HEADER_TXT));
	assert_string_equal(info, HEADER_TXT);
	path_in(p, "swaps");
	a = make_area(PAGES(10), p);
	must_alloc(a);
	must_alloc(a);
	must_alloc(a);
	expect_line(want, sizeof(want), p, "file\t\t36\t\t12\t\t-2\n");
	assert_int_equal(swap_info(a, info, sizeof(info)), (int)strlen(want));
	assert_string_equal(info, want);
	swap_area_destroy(a);
	/* Linux's own lines (as in /proc/swaps of real machines). */
	swap_format_line(info, sizeof(info), "/swap.img", 4194300, 0, -2);
	assert_string_equal(info, "/swap.img                               "
				  "file\t\t4194300\t\t0\t\t-2\n");
	swap_format_line(info, sizeof(info), "/dev/sdb2", 16777212, 12345678,
			 -3);
	assert_string_equal(info, "/dev/sdb2                               "
				  "file\t\t16777212\t12345678\t-3\n");
}

static void test_swap_proc_swaps_escapes_and_long_names(void **state)
{
	char p[PATH_MAX], name[INFO_LEN], want[INFO_LEN], info[INFO_LEN];
	char sub[PATH_MAX];
	struct swap_area *a;

	(void)state;
	path_in(p, "a b\tc\\d");
	a = make_area(PAGES(2), p);
	info_name(a, name, sizeof(name));
	fmt(want, sizeof(want), "%s/a\\040b\\011c\\134d", dir);
	assert_string_equal(name, want);
	swap_area_destroy(a);
	path_in(sub, "a-directory-name-that-makes-it-long");
	assert_int_equal(mkdir(sub, 0700), 0);
	fmt(p, sizeof(p), "%s/swap", sub);
	a = make_area(PAGES(2), p);
	expect_line(want, sizeof(want), p, "file\t\t4\t\t0\t\t-2\n");
	assert_true(strlen(p) >= 40);
	swap_info(a, info, sizeof(info));
	assert_string_equal(info, want);
	swap_area_destroy(a);
	assert_int_equal(rmdir(sub), 0);
}

static void test_swap_info_like_snprintf(void **state)
{
	struct swap_area *a = make_area(PAGES(2), NULL);
	char full[INFO_LEN], cut[INFO_LEN];
	int len = swap_info(a, full, sizeof(full));
	size_t sizes[] = { 1,
			   10,
			   strlen(HEADER_TXT),
			   strlen(HEADER_TXT) + 1,
			   strlen(HEADER_TXT) + 7,
			   (size_t)len,
			   (size_t)len + 1 };

	(void)state;
	assert_int_equal(swap_info(a, NULL, 0), len);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(cut, 'x', sizeof(cut));
		assert_int_equal(swap_info(a, cut, sizes[i]), len);
		assert_int_equal(strlen(cut), MIN(sizes[i] - 1, (size_t)len));
		assert_memory_equal(cut, full, strlen(cut));
		assert_int_equal(cut[sizes[i]], 'x'); /* nothing past len */
	}
	swap_area_destroy(a);
}

/* ---- main -------------------------------------------------------------- */

static int group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	fmt(dir, sizeof(dir), "%s/test_swap.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	seed_rng("test_swap");
	return 0;
}

static int remove_entry(const char *p, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	if (ftw->level > 0) {
		fprintf(stderr, "test_swap: left behind: %s\n", p);
		remove(p);
	}
	return 0;
}

/* Every test cleans up after itself: anything left is a failure. */
static int group_teardown(void **state)
{
	(void)state;
	if (rmdir(dir) == 0)
		return 0;
	nftw(dir, remove_entry, NFTW_FDS, FTW_DEPTH | FTW_PHYS);
	rmdir(dir);
	return -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_create_geometry),
		cmocka_unit_test(test_swap_bad_sizes_einval),
		cmocka_unit_test(test_swap_header_magic_version),
		cmocka_unit_test(test_swap_probe_rejects_foreign),
		cmocka_unit_test(test_swap_existing_file_refused),
		cmocka_unit_test(test_swap_symlink_refused),
		cmocka_unit_test(test_swap_destroy_removes_own_file_only),
		cmocka_unit_test(test_swap_tmpfile_leaves_nothing),
		cmocka_unit_test(test_swap_mkstemp_fallback_leaves_nothing),
		cmocka_unit_test(test_swap_prealloc_failure_cleans_up),
		cmocka_unit_test(test_swap_create_failure_names_file),
		cmocka_unit_test(test_swap_misuse_bugs),
		cmocka_unit_test(test_swap_alloc_sequential_fresh),
		cmocka_unit_test(test_swap_alloc_sequential_in_cluster),
		cmocka_unit_test(test_swap_full_enospc_then_reuse),
		cmocka_unit_test(test_swap_count_overflow),
		cmocka_unit_test(test_swap_cache_protocol),
		cmocka_unit_test(test_swap_differential_model),
		cmocka_unit_test(test_swap_check_detects_corruption),
		cmocka_unit_test(test_swap_io_roundtrip_batched),
		cmocka_unit_test(test_swap_io_roundtrip_scattered),
		cmocka_unit_test(test_swap_io_runs_coalesce),
		cmocka_unit_test(test_swap_io_injected_write_failure),
		cmocka_unit_test(test_swap_io_injected_read_failure),
		cmocka_unit_test(test_swap_io_eintr_and_short_continued),
		cmocka_unit_test(test_swap_io_failed_transfer_per_page),
		cmocka_unit_test(test_swap_io_concurrent_threads),
		cmocka_unit_test(test_swap_proc_swaps_exact),
		cmocka_unit_test(test_swap_proc_swaps_escapes_and_long_names),
		cmocka_unit_test(test_swap_info_like_snprintf),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
