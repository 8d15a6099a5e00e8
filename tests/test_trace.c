/*
 * tests/test_trace.c - the trace readers and the loader (workloads/trace.h):
 *  - each format on well-formed input, CRLF, a missing last newline,
 *    comments, ids up to 2^64-1, the empty file;
 *  - malformed input: the error is -EBADMSG with "name:LINE: " (binary:
 *    "name:record N: ") naming the right line, one line of text;
 *  - gzip and zstd: members and frames, truncated, garbage, empty;
 *  - files: missing, a directory, by-name compression and format;
 *  - next[] against a naive O(n^2) search over random traces (seed
 *    printed, SEED= to rerun), and trace_check on every loaded trace;
 *  - the fuzz targets' seed corpus replayed through the same checks as
 *    make fuzz (tests/fuzz/fuzz_one.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "tests/fuzz/fuzz_one.h"
#include "tests/lib/vmtest.h"
#include "workloads/trace.h"

#define ERR_LEN 512

static char err[ERR_LEN];

/* Load text (len bytes) as format f under name; trace_check on success. */
static int load_buf(const char *name, enum trace_format f, const void *buf,
		    size_t len, struct trace *tr)
{
	struct trace_opts o;
	int rc;

	trace_opts_init(&o);
	o.format = f;
	rc = trace_load_mem(name, buf, len, &o, tr, err, sizeof(err));
	if (rc == 0)
		assert_int_equal(trace_check(tr), 0);
	else
		assert_null(strchr(err, '\n'));
	return rc;
}

static int load_str(enum trace_format f, const char *text, struct trace *tr)
{
	return load_buf("t", f, text, strlen(text), tr);
}

/* The ids of tr's requests, in order, equal want[0..n). */
static void expect_ids(const struct trace *tr, const uint64_t *want, size_t n)
{
	assert_int_equal(tr->nr_requests, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tr->ids[tr->page[i]], want[i]);
}

/* A failed load whose message starts with prefix and contains needle. */
static void expect_error(int rc, int want, const char *prefix,
			 const char *needle)
{
	if (rc != want || strncmp(err, prefix, strlen(prefix)) ||
	    !strstr(err, needle))
		fail_msg("got %d '%s', wanted %d '%s...%s'", rc, err, want,
			 prefix, needle);
}

/* ---- txt ---------------------------------------------------------------- */

static void test_trace_txt_well_formed(void **state)
{
	static const uint64_t want[] = { 7, 0,	1,
					 7, 16, 18446744073709551615ULL,
					 0 };
	struct trace tr;

	(void)state;
	assert_int_equal(load_str(TRACE_TXT,
				  "# a comment\n7\n0\n\n  1\t\n7\n0x10\n"
				  "18446744073709551615\n0\n",
				  &tr),
			 0);
	expect_ids(&tr, want, 7);
	assert_int_equal(tr.nr_pages, 5);
	assert_int_equal(tr.page[0], 0); /* dense, in order of first use */
	assert_int_equal(tr.page[2], 2);
	assert_int_equal(tr.page[3], 0);
	assert_int_equal(tr.next[0], 3);
	assert_int_equal(tr.next[3], TRACE_NEVER);
	assert_null(tr.write);
	trace_free(&tr);
}

static void test_trace_txt_crlf_and_last_line(void **state)
{
	static const uint64_t want[] = { 1, 2, 3 };
	struct trace tr;

	(void)state;
	assert_int_equal(load_str(TRACE_TXT, "1\r\n2\r\n3", &tr), 0);
	expect_ids(&tr, want, 3);
	trace_free(&tr);
	assert_int_equal(load_str(TRACE_TXT, "1\n2\n3\r\n", &tr), 0);
	expect_ids(&tr, want, 3);
	trace_free(&tr);
}

static void test_trace_txt_malformed(void **state)
{
	static const struct {
		const char *text, *prefix, *needle;
	} cases[] = {
		{ "1\n2\nabc\n", "t:3: ", "'abc' is not a page number" },
		{ "-1\n", "t:1: ", "has a sign" },
		{ "18446744073709551616\n", "t:1: ", "above 2^64-1" },
		{ "1\n\n1 2\n", "t:3: ", "not a number" },
		{ "0x\n", "t:1: ", "not a number" },
		{ "0xg1\n", "t:1: ", "not a number" },
		{ "1\r2\n", "t:1: ", "\\x0d" },
		{ "4\n5\n+6\n", "t:3: ", "has a sign" },
	};
	struct trace tr;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(load_str(TRACE_TXT, cases[i].text, &tr), -EBADMSG,
			     cases[i].prefix, cases[i].needle);
}

static void test_trace_nul_and_long_line(void **state)
{
	static const char nul[] = "1\n2\0\n";
	size_t big = (1u << 20) + 10;
	char *line = malloc(big + 1);
	struct trace tr;

	(void)state;
	assert_non_null(line);
	expect_error(load_buf("t", TRACE_TXT, nul, sizeof(nul) - 1, &tr),
		     -EBADMSG, "t:2: ", "NUL byte");
	memset(line, '1', big);
	line[0] = '2';
	line[1] = '\n';
	line[big] = '\0';
	expect_error(load_str(TRACE_TXT, line, &tr), -EBADMSG,
		     "t:2: ", "line longer than");
	memset(line, ' ', 300000); /* long, but below the limit */
	strcpy(line + 300000, "5\n6\n");
	assert_int_equal(load_str(TRACE_TXT, line, &tr), 0);
	assert_int_equal(tr.nr_requests, 2);
	assert_int_equal(tr.ids[0], 5);
	trace_free(&tr);
	free(line);
}

static void test_trace_empty_inputs(void **state)
{
	static const enum trace_format f[] = { TRACE_TXT, TRACE_CSV,
					       TRACE_VMTRACE, TRACE_ORACLE,
					       TRACE_AUTO };
	struct trace tr;

	(void)state;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		assert_int_equal(load_buf("t", f[i], "", 0, &tr), 0);
		assert_int_equal(tr.nr_requests, 0);
		assert_int_equal(tr.nr_pages, 0);
		trace_free(&tr);
	}
	assert_int_equal(load_str(TRACE_TXT, "# only\n\n", &tr), 0);
	assert_int_equal(tr.nr_requests, 0);
	trace_free(&tr);
}

/* ---- vmtrace ------------------------------------------------------------ */

static void test_trace_vmtrace(void **state)
{
	static const uint64_t want[] = { 0x7fff0, 0x7fff0, 0x7fff1, 0x1,
					 0xfffffffffffffULL };
	struct trace tr;

	(void)state;
	assert_int_equal(load_str(TRACE_VMTRACE,
				  "R 0x7fff0000\nW 0x7fff0fff\r\n# c\n"
				  "  R\t7fff1000  \nW 1000\n"
				  "R 0xffffffffffffffff",
				  &tr),
			 0);
	expect_ids(&tr, want, 5);
	assert_int_equal(tr.nr_writes, 2);
	assert_false(trace_is_write(&tr, 0));
	assert_true(trace_is_write(&tr, 1));
	assert_true(trace_is_write(&tr, 3));
	assert_false(trace_is_write(&tr, 4));
	trace_free(&tr);
}

static void test_trace_vmtrace_malformed(void **state)
{
	static const struct {
		const char *text, *prefix, *needle;
	} cases[] = {
		{ "R 0x10\nX 0x10\n", "t:2: ", "is not 'R ADDR'" },
		{ "R\n", "t:1: ", "is not 'R ADDR'" },
		{ "R0x10\n", "t:1: ", "is not 'R ADDR'" },
		{ "r 0x10\n", "t:1: ", "is not 'R ADDR'" },
		{ "W 0xZZ\n", "t:1: ", "'0xZZ' is not a hex address" },
		{ "W 0x10 8\n", "t:1: ", "not a hex address" },
		{ "R 0x10000000000000000\n", "t:1: ", "above 2^64-1" },
	};
	struct trace tr;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(load_str(TRACE_VMTRACE, cases[i].text, &tr),
			     -EBADMSG, cases[i].prefix, cases[i].needle);
}

/* ---- csv ----------------------------------------------------------------- */

static int load_csv(const char *text, const char *column,
		    enum trace_header header, struct trace *tr)
{
	struct trace_opts o;
	int rc;

	trace_opts_init(&o);
	o.format = TRACE_CSV;
	o.csv_column = column;
	o.csv_header = header;
	rc = trace_load_mem("t", text, strlen(text), &o, tr, err, sizeof(err));
	if (rc == 0)
		assert_int_equal(trace_check(tr), 0);
	return rc;
}

static void test_trace_csv_columns(void **state)
{
	static const char data[] = "time,obj_id,size\r\n1,5,100\n2,\"6\",1\n"
				   "\n3, 5 ,7\n";
	static const uint64_t want[] = { 5, 6, 5 }, first[] = { 1, 2, 3 };
	struct trace tr;

	(void)state;
	assert_int_equal(load_csv(data, "obj_id", TRACE_HEADER_AUTO, &tr), 0);
	expect_ids(&tr, want, 3);
	trace_free(&tr);
	assert_int_equal(load_csv(data, "2", TRACE_HEADER_AUTO, &tr), 0);
	expect_ids(&tr, want, 3); /* "obj_id" is no number: a header */
	trace_free(&tr);
	assert_int_equal(load_csv(data, NULL, TRACE_HEADER_AUTO, &tr), 0);
	expect_ids(&tr, first, 3);
	trace_free(&tr);
	assert_int_equal(load_csv("9,8\n7,6\n", "1", TRACE_HEADER_YES, &tr), 0);
	assert_int_equal(tr.nr_requests, 1); /* the first row was skipped */
	trace_free(&tr);
	assert_int_equal(load_csv("\"a,\"\"b\",x\n1,2\n", "a,\"b", 0, &tr), 0);
	assert_int_equal(tr.ids[0], 1); /* a quoted name with , and " */
	trace_free(&tr);
}

static void test_trace_csv_malformed(void **state)
{
	struct trace tr;

	(void)state;
	expect_error(load_csv("1,2\n3\n", "2", 0, &tr), -EBADMSG,
		     "t:2: ", "1 fields, column 2 wanted");
	expect_error(load_csv("1,\"2\n", "2", 0, &tr), -EBADMSG,
		     "t:1: ", "a quote is not closed");
	expect_error(load_csv("1,\"2\"x\n", "2", 0, &tr), -EBADMSG,
		     "t:1: ", "text after a closing quote");
	expect_error(load_csv("1,2\"3\n", "2", 0, &tr), -EBADMSG,
		     "t:1: ", "a quote inside");
	expect_error(load_csv("x\n1\ny\n", "1", 0, &tr), -EBADMSG,
		     "t:3: ", "'y' is not an id");
	expect_error(load_csv("x\n1\n", "1", TRACE_HEADER_NO, &tr), -EBADMSG,
		     "t:1: ", "'x' is not an id");
	expect_error(load_csv("a,b\n1,2\n", "c", 0, &tr), -EINVAL,
		     "t:1: ", "no column 'c' in the header");
	expect_error(load_csv("1\n", "c", TRACE_HEADER_NO, &tr), -EINVAL,
		     "t: ", "has no header");
	expect_error(load_csv("1\n", "0", 0, &tr), -EINVAL,
		     "t: ", "count from 1");
	expect_error(load_csv("", "c", 0, &tr), -EINVAL, "t: ", "no header");
}

/* ---- oracleGeneral -------------------------------------------------------- */

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Records of ids with correct next_access_vtime (1-based, -1 never). */
static size_t oracle(const uint64_t *ids, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		int64_t next = -1;

		for (size_t j = i + 1; j < n && next < 0; j++)
			if (ids[j] == ids[i])
				next = (int64_t)j + 1;
		put_le(out + 24 * i, i, 4);
		put_le(out + 24 * i + 4, ids[i], 8);
		put_le(out + 24 * i + 12, 4096, 4);
		put_le(out + 24 * i + 16, (uint64_t)next, 8);
	}
	return 24 * n;
}

static void test_trace_oracle_records(void **state)
{
	static const uint64_t ids[] = { 3, UINT64_MAX, 3, 0, UINT64_MAX };
	unsigned char buf[24 * 5];
	size_t len = oracle(ids, 5, buf);
	struct trace tr;

	(void)state;
	assert_int_equal(load_buf("t", TRACE_ORACLE, buf, len, &tr), 0);
	expect_ids(&tr, ids, 5);
	assert_int_equal(tr.vtime_mismatch, 0);
	assert_int_equal(tr.next[0], 2);
	assert_int_equal(tr.next[1], 4);
	trace_free(&tr);
	expect_error(load_buf("t", TRACE_ORACLE, buf, len - 7, &tr), -EBADMSG,
		     "t:record 5: ", "truncated record (17 of 24 bytes)");
	expect_error(load_buf("t", TRACE_ORACLE, buf, 3, &tr), -EBADMSG,
		     "t:record 1: ", "truncated record (3 of 24 bytes)");
}

static void test_trace_oracle_vtime_check(void **state)
{
	static const uint64_t ids[] = { 1, 2, 1, 2, 1 };
	unsigned char buf[24 * 5];
	size_t len = oracle(ids, 5, buf);
	struct trace tr;

	(void)state;
	put_le(buf + 24 * 3 + 16, 9, 8); /* record 4: 2 is never used again */
	assert_int_equal(load_buf("t", TRACE_ORACLE, buf, len, &tr), 0);
	assert_int_equal(tr.vtime_mismatch, 4);
	assert_int_equal(tr.vtime_given, 9);
	assert_int_equal(tr.next[3], TRACE_NEVER); /* ours, not the file's */
	trace_free(&tr);
	oracle(ids, 5, buf);
	put_le(buf + 16, 4, 8); /* record 1 claims record 4; it is 3 */
	put_le(buf + 24 * 4 + 16, INT64_MAX, 8); /* "never", libCacheSim's */
	assert_int_equal(load_buf("t", TRACE_ORACLE, buf, len, &tr), 0);
	assert_int_equal(tr.vtime_mismatch, 1);
	assert_int_equal(tr.vtime_given, 4);
	trace_free(&tr);
}

/* ---- compression ------------------------------------------------------- */

/* gzip of text into out (one member); its length. */
static size_t gz(const char *text, unsigned char *out, size_t cap)
{
	z_stream z = { 0 };

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)text;
	z.avail_in = (uInt)strlen(text);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}

static int load_comp(const char *name, const void *buf, size_t len,
		     struct trace *tr)
{
	return load_buf(name, TRACE_AUTO, buf, len, tr);
}

static void test_trace_gzip(void **state)
{
	static const uint64_t want[] = { 1, 2, 3, 4 };
	unsigned char buf[512];
	size_t a = gz("1\n2\n", buf, sizeof(buf));
	size_t b = gz("3\n4\n", buf + a, sizeof(buf) - a);
	struct trace tr;

	(void)state;
	assert_int_equal(load_comp("t.txt.gz", buf, a + b, &tr), 0);
	expect_ids(&tr, want, 4); /* two members, as gzip -d reads them */
	assert_int_equal(tr.compress, TRACE_COMPRESS_GZIP);
	assert_int_equal(tr.format, TRACE_TXT);
	trace_free(&tr);
	expect_error(load_comp("t.gz", buf, a + b - 3, &tr), -EBADMSG,
		     "t.gz: ", "truncated gzip data");
	expect_error(load_comp("t.gz", buf, 0, &tr), -EBADMSG,
		     "t.gz: ", "empty: not gzip data");
	expect_error(load_comp("t.gz", "1\n2\n", 4, &tr), -EBADMSG,
		     "t.gz: ", "bad gzip data");
	memcpy(buf + a, "junk", 4);
	expect_error(load_comp("t.gz", buf, a + 4, &tr), -EBADMSG,
		     "t.gz: ", "bad gzip data");
	a = gz("1\n2\n", buf, sizeof(buf));
	buf[a - 5] ^= 0x55; /* the length/CRC trailer */
	expect_error(load_comp("t.gz", buf, a, &tr), -EBADMSG,
		     "t.gz: ", "bad gzip data");
	a = gz("1\nxyz\n", buf, sizeof(buf));
	expect_error(load_comp("t.txt.gz", buf, a, &tr), -EBADMSG,
		     "t.txt.gz:2: ", "'xyz'");
}

static void test_trace_zstd(void **state)
{
	static const uint64_t want[] = { 5, 6, 7 };
	unsigned char buf[512];
	size_t a = ZSTD_compress(buf, sizeof(buf), "5\n6\n", 4, 3);
	size_t b = ZSTD_compress(buf + a, sizeof(buf) - a, "7\n", 2, 3);
	struct trace tr;

	(void)state;
	assert_false(ZSTD_isError(a) || ZSTD_isError(b));
	assert_int_equal(load_comp("t.zst", buf, a + b, &tr), 0);
	expect_ids(&tr, want, 3);
	assert_int_equal(tr.compress, TRACE_COMPRESS_ZSTD);
	assert_true(tr.format_by_content);
	trace_free(&tr);
	expect_error(load_comp("t.zst", buf, a + b - 2, &tr), -EBADMSG,
		     "t.zst: ", "truncated zstd data");
	expect_error(load_comp("t.zstd", buf, 0, &tr), -EBADMSG,
		     "t.zstd: ", "empty: not zstd data");
	expect_error(load_comp("t.zst", "5\n6\n", 4, &tr), -EBADMSG,
		     "t.zst: ", "bad zstd data");
}

/* ---- files and names ------------------------------------------------------ */

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void test_trace_files(void **state)
{
	char dir[] = "/tmp/vmemu-test-trace-XXXXXX", path[128];
	unsigned char buf[256];
	struct trace_opts o;
	struct trace tr;
	size_t n;

	(void)state;
	trace_opts_init(&o);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.txt", dir);
	expect_error(trace_load(path, &o, &tr, err, sizeof(err)), -ENOENT, path,
		     "cannot open");
	expect_error(trace_load(dir, &o, &tr, err, sizeof(err)), -EISDIR, dir,
		     "is a directory");
	snprintf(path, sizeof(path), "%s/x.vmtrace.gz", dir);
	n = gz("W 0x1000\nR 0x1fff\n", buf, sizeof(buf));
	write_file(path, buf, n);
	assert_int_equal(trace_load(path, &o, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.format, TRACE_VMTRACE);
	assert_int_equal(tr.nr_pages, 1);
	assert_int_equal(tr.nr_writes, 1);
	trace_free(&tr);
	unlink(path);
	rmdir(dir);
}

static void test_trace_format_auto(void **state)
{
	static const uint64_t one[] = { 1 };
	unsigned char rec[24];
	struct trace tr;

	(void)state;
	assert_int_equal(trace_format_of("a.oracleGeneral.bin.zst"),
			 TRACE_ORACLE);
	assert_int_equal(trace_format_of("A.CSV.gz"), TRACE_CSV);
	assert_int_equal(trace_format_of("x.vmtrace"), TRACE_VMTRACE);
	assert_int_equal(trace_format_of("x.txt"), TRACE_TXT);
	assert_int_equal(trace_format_of("trace"), TRACE_AUTO);
	assert_int_equal(trace_compress_of("x.ZST"), TRACE_COMPRESS_ZSTD);
	assert_int_equal(load_str(TRACE_AUTO, "# x\n\nR 0x1000\n", &tr), 0);
	assert_int_equal(tr.format, TRACE_VMTRACE);
	trace_free(&tr);
	assert_int_equal(load_str(TRACE_AUTO, "a,b\n1,2\n", &tr), 0);
	assert_int_equal(tr.format, TRACE_CSV);
	trace_free(&tr);
	assert_int_equal(load_str(TRACE_AUTO, "12\n", &tr), 0);
	assert_int_equal(tr.format, TRACE_TXT);
	trace_free(&tr);
	oracle(one, 1, rec);
	assert_int_equal(load_buf("t", TRACE_AUTO, rec, 24, &tr), 0);
	assert_int_equal(tr.format, TRACE_ORACLE);
	assert_true(tr.format_by_content);
	trace_free(&tr);
}

static void test_trace_limits(void **state)
{
	struct trace_opts o;
	struct trace tr;

	(void)state;
	trace_opts_init(&o);
	o.max_requests = 2;
	expect_error(trace_load_mem("t", "1\n2\n3\n", 6, &o, &tr, err,
				    sizeof(err)),
		     -EFBIG, "t:3: ", "more than 2 requests");
	trace_opts_init(&o);
	o.max_bytes = 4;
	expect_error(trace_load_mem("t", "1\n2\n3\n", 6, &o, &tr, err,
				    sizeof(err)),
		     -EFBIG, "t: ", "more than 4 bytes");
}

/* ---- next use --------------------------------------------------------------- */

static void test_trace_next_use_random(void **state)
{
	uint64_t seed = vmtest_seed("test_trace_next_use_random"), s = seed;
	uint64_t ids[400];
	struct trace tr;

	(void)state;
	for (int round = 0; round < 200; round++) {
		size_t n = 1 + vmtest_rand(&s) % 400;
		uint64_t pages = 1 + vmtest_rand(&s) % 50;

		for (size_t i = 0; i < n; i++)
			ids[i] =
				vmtest_rand(&s) % pages * 0x9e3779b97f4a7c15ULL;
		assert_int_equal(trace_from_ids(ids, n, &tr), 0);
		assert_int_equal(trace_check(&tr), 0);
		for (size_t i = 0; i < n; i++) {
			uint32_t want = TRACE_NEVER;

			for (size_t j = i + 1; j < n; j++)
				if (ids[j] == ids[i]) {
					want = (uint32_t)j;
					break;
				}
			if (tr.next[i] != want)
				fail_msg("seed %llu round %d: next[%zu] = %u, "
					 "not %u",
					 (unsigned long long)seed, round, i,
					 tr.next[i], want);
		}
		trace_free(&tr);
	}
}

/* ---- the fuzz seeds -------------------------------------------------------- */

static const char *corpus_dir(void)
{
	const char *env = getenv("FUZZ_CORPUS");

	return env ? env : "tests/fuzz/corpus";
}

static size_t replay_dir(const struct fuzz_target *t, const char *dir)
{
	unsigned char *buf = malloc(1 << 20);
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	assert_non_null(buf);
	if (!d) {
		free(buf);
		return 0;
	}
	while ((de = readdir(d))) {
		char path[512];
		ssize_t len;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		len = read(fd, buf, 1 << 20);
		close(fd);
		assert_true(len >= 0);
		fuzz_one(t, buf, (size_t)len); /* aborts on a bug */
		n++;
	}
	closedir(d);
	free(buf);
	return n;
}

static void test_trace_fuzz_corpus(void **state)
{
	char dir[256];
	size_t total = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(fuzz_targets) / sizeof(fuzz_targets[0]);
	     i++) {
		snprintf(dir, sizeof(dir), "%s/%s", corpus_dir(),
			 fuzz_targets[i].name);
		total += replay_dir(&fuzz_targets[i], dir);
	}
	if (total == 0)
		skip(); /* run from elsewhere than the repository's root */
	print_message("replayed %zu seed inputs\n", total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_txt_well_formed),
		cmocka_unit_test(test_trace_txt_crlf_and_last_line),
		cmocka_unit_test(test_trace_txt_malformed),
		cmocka_unit_test(test_trace_nul_and_long_line),
		cmocka_unit_test(test_trace_empty_inputs),
		cmocka_unit_test(test_trace_vmtrace),
		cmocka_unit_test(test_trace_vmtrace_malformed),
		cmocka_unit_test(test_trace_csv_columns),
		cmocka_unit_test(test_trace_csv_malformed),
		cmocka_unit_test(test_trace_oracle_records),
		cmocka_unit_test(test_trace_oracle_vtime_check),
		cmocka_unit_test(test_trace_gzip),
		cmocka_unit_test(test_trace_zstd),
		cmocka_unit_test(test_trace_files),
		cmocka_unit_test(test_trace_format_auto),
		cmocka_unit_test(test_trace_limits),
		cmocka_unit_test(test_trace_next_use_random),
		cmocka_unit_test(test_trace_fuzz_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
