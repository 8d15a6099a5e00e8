/*
 * tests/test_cli_alloc.c - `vmemu alloc`, run as a separate process
 * ($VMEMU, default ./vmemu):
 *  - a generator through every allocator: a table with one row each, in
 *    the order asked; --csv with the documented header, 22 fields a row;
 *  - a trace file: its operation count in every row;
 *  - the same generator spec gives the same figures (but the timings),
 *    another seed other ones;
 *  - --arena bounds the models and malloc: failures are counted, not
 *    errors;
 *  - a malformed trace: one line "vmemu: FILE:LINE: message", nothing on
 *    stdout, status 65; an unreadable one: status 66;
 *  - bad usage: one line, nothing on stdout, status 2;
 *  - --help names every allocator and generator key.
 * Trace files live in a private directory under $TMPDIR (or /tmp).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_ARGS 16
#define OUT_LEN	 (1 << 16)
#define ERR_LEN	 4096
#define CSV_COLS 22
#define CSV_HEADER                                                        \
	"allocator,status,ops,seconds,ops_per_sec,peak_requested,"        \
	"peak_granted,internal_frag,free_bytes,free_blocks,largest_free," \
	"sliver_blocks,external_frag,footprint_at_peak,peak_footprint,"   \
	"utilisation,allocs,search_avg,search_max,failures,"              \
	"failures_fragmented,verify_errors\n"
#define GEN "uniform:ops=2000,live=100,seed=7"

struct result {
	int status;
	char out[OUT_LEN];
	char err[ERR_LEN];
};

static char dir[PATH_MAX];

static const char *vmemu(void)
{
	return getenv("VMEMU") ? getenv("VMEMU") : "./vmemu";
}

static void slurp(int fd, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;

	while (used + 1 < len &&
	       ((n = read(fd, buf + used, len - 1 - used)) > 0 ||
		(n < 0 && errno == EINTR)))
		used += n > 0 ? (size_t)n : 0;
	buf[used] = '\0';
}

/* vmemu alloc ARGS...: stdout and stderr (to files: no pipe deadlock). */
static void run(struct result *r, const char *const *args)
{
	char *argv[MAX_ARGS + 3], out[PATH_MAX + 8], err[PATH_MAX + 8];
	size_t n = 0;
	FILE *fo, *fe;
	pid_t pid;
	int st;

	argv[n++] = (char *)(uintptr_t)vmemu();
	argv[n++] = (char *)(uintptr_t) "alloc";
	for (size_t i = 0; args[i] && n < MAX_ARGS + 2; i++)
		argv[n++] = (char *)(uintptr_t)args[i];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	fo = fopen(out, "w+");
	fe = fopen(err, "w+");
	assert_true(fo && fe);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fileno(fo), 1);
		dup2(fileno(fe), 2);
		execv(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
	rewind(fo);
	rewind(fe);
	slurp(fileno(fo), r->out, sizeof(r->out));
	slurp(fileno(fe), r->err, sizeof(r->err));
	fclose(fo);
	fclose(fe);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("output lacks '%s':\n%s", needle, hay);
}

/* status, nothing on stdout, exactly one "vmemu: ..." line with needle. */
static void expect_error(const char *const *args, int status,
			 const char *needle)
{
	static struct result r;
	const char *nl;

	run(&r, args);
	if (r.status != status)
		fail_msg("%s: status %d, stderr '%s'", args[0], r.status,
			 r.err);
	assert_string_equal(r.out, "");
	assert_int_equal(strncmp(r.err, "vmemu: ", 7), 0);
	nl = strchr(r.err, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	expect_in(r.err, needle);
}

/* A file in the private directory; its path. */
static const char *write_file(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Field `col` (0-based) of a CSV line. */
static void csv_field(const char *line, unsigned col, char *buf, size_t len)
{
	for (unsigned c = 0; c < col; c++) {
		line = strchr(line, ',');
		assert_non_null(line);
		line++;
	}
	snprintf(buf, len, "%.*s", (int)strcspn(line, ",\n"), line);
}

static unsigned count_char(const char *s, char c, size_t n)
{
	unsigned k = 0;

	for (size_t i = 0; i < n && s[i]; i++)
		k += s[i] == c;
	return k;
}

/* ---- runs ------------------------------------------------------------ */

static void test_cli_alloc_table_every_policy(void **state)
{
	static const char *const names[] = { "first",  "next",	 "best",
					     "worst",  "seg",	 "buddy",
					     "bitmap", "kmalloc" };
	static struct result r;
	const char *line;

	(void)state;
	run(&r, ARGS(GEN));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(strncmp(r.out, GEN ": 2000 operations, ", 29), 0);
	line = strchr(r.out, '\n') + 1;
	assert_int_equal(strncmp(line, "alloc ", 6), 0);
	expect_in(line, "ops/s");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		line = strchr(line, '\n') + 1;
		assert_int_equal(strncmp(line, names[i], strlen(names[i])), 0);
		assert_true(line[strlen(names[i])] == ' ');
	}
	assert_string_equal(strchr(line, '\n'), "\n");
}

static void test_cli_alloc_csv(void **state)
{
	static struct result r;
	static const char *const want[] = { "kmalloc,0,2000,", "seg,0,2000,",
					    "first,0,2000," };
	const char *line;

	(void)state;
	run(&r, ARGS("--csv", "--policy", "kmalloc,segregated,first", GEN));
	assert_int_equal(r.status, 0);
	assert_int_equal(strncmp(r.out, CSV_HEADER, strlen(CSV_HEADER)), 0);
	line = r.out + strlen(CSV_HEADER);
	for (int i = 0; i < 3; i++) {
		size_t len = strcspn(line, "\n");

		assert_int_equal(strncmp(line, want[i], strlen(want[i])), 0);
		assert_int_equal(count_char(line, ',', len), CSV_COLS - 1);
		line += len + 1;
	}
	assert_string_equal(line, "");
}

static void test_cli_alloc_trace_file(void **state)
{
	static struct result r;
	const char *path = write_file("ok.rep", "20000\n3\n6\n1\n"
						"a 0 100\na 1 2000\nf 0\n"
						"r 1 3000\na 2 50\nf 2\n");
	char f[64];

	(void)state;
	run(&r, ARGS("--csv", "--policy=best,bitmap", path));
	assert_int_equal(r.status, 0);
	csv_field(strchr(r.out, '\n') + 1, 2, f, sizeof(f));
	assert_string_equal(f, "6");
	csv_field(strchr(strchr(r.out, '\n') + 1, '\n') + 1, 0, f, sizeof(f));
	assert_string_equal(f, "bitmap");
	/* A shape's name is a generator; ./NAME is the file. */
	write_file("phases", "1\n1\n2\n1\na 0 8\nf 0\n");
	assert_int_equal(chdir(dir), 0);
	run(&r, ARGS("--csv", "--policy", "buddy", "./phases"));
	assert_int_equal(r.status, 0);
	csv_field(strchr(r.out, '\n') + 1, 2, f, sizeof(f));
	assert_string_equal(f, "2");
}

/* Every column but seconds (3) and ops_per_sec (4) of the CSV rows. */
static void strip_timings(const char *csv, char *out, size_t len)
{
	size_t at = 0;

	for (const char *line = csv; *line;) {
		size_t n = strcspn(line, "\n");

		for (unsigned c = 0; c < CSV_COLS; c++) {
			char f[64];

			if (c == 3 || c == 4)
				continue;
			csv_field(line, c, f, sizeof(f));
			at += (size_t)snprintf(out + at, len - at, "%s|", f);
		}
		line += n + (line[n] == '\n');
	}
}

static void test_cli_alloc_generator_deterministic(void **state)
{
	static struct result a, b, c;
	static char fa[OUT_LEN], fb[OUT_LEN], fc[OUT_LEN];

	(void)state;
	run(&a, ARGS("--csv", "powerlaw:ops=3000,seed=5,live=200,realloc=10"));
	run(&b, ARGS("--csv", "powerlaw:ops=3000,seed=5,live=200,realloc=10"));
	run(&c, ARGS("--csv", "powerlaw:ops=3000,seed=6,live=200,realloc=10"));
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	assert_int_equal(c.status, 0);
	strip_timings(strchr(a.out, '\n') + 1, fa, sizeof(fa));
	strip_timings(strchr(b.out, '\n') + 1, fb, sizeof(fb));
	strip_timings(strchr(c.out, '\n') + 1, fc, sizeof(fc));
	assert_string_equal(fa, fb);
	assert_string_not_equal(fa, fc);
}

static void test_cli_alloc_arena_bounds(void **state)
{
	static struct result r;
	char f[64];
	const char *line;

	(void)state;
	run(&r, ARGS("--csv", "--arena", "64K", "--policy", "buddy,first",
		     "uniform:ops=2000,live=200,min=1K,max=4K"));
	assert_int_equal(r.status, 0);
	for (line = strchr(r.out, '\n') + 1; *line;
	     line = strchr(line, '\n') + 1) {
		csv_field(line, 19, f, sizeof(f)); /* failures */
		if (strtoull(f, NULL, 10) == 0)
			fail_msg("no failure within 64K: %s", line);
	}
}

/* ---- errors ------------------------------------------------------------ */

static void test_cli_alloc_malformed_trace(void **state)
{
	static const struct {
		const char *name, *text, *where;
	} cases[] = {
		{ "hdr.rep", "20000\nthree\n2\n1\na 0 8\nf 0\n",
		  "hdr.rep:2: " },
		{ "op.rep", "1\n1\n2\n1\na 0 8\nx 0\n", "op.rep:6: " },
		{ "id.rep", "1\n1\n2\n1\na 5 8\nf 5\n", "id.rep:5: " },
		{ "dead.rep", "1\n2\n2\n1\na 0 8\nf 1\n", "dead.rep:6: " },
		{ "junk.rep", "1\n1\n2\n1\na 0 8 9\nf 0\n", "junk.rep:5: " },
		{ "short.rep", "1\n1\n3\n1\na 0 8\nf 0\n", "short.rep:" },
	};
	char want[PATH_MAX + 64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file(cases[i].name, cases[i].text);

		snprintf(want, sizeof(want), "vmemu: %s/%s", dir,
			 cases[i].where);
		expect_error(ARGS(path), 65, want);
	}
}

static void test_cli_alloc_unreadable_trace(void **state)
{
	char path[PATH_MAX + 16];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.rep", dir);
	expect_error(ARGS(path), 66, "none.rep: No such file or directory");
	expect_error(ARGS(dir), 66, "vmemu-cli-alloc-"); /* a directory */
}

static void test_cli_alloc_bad_usage(void **state)
{
	(void)state;
	expect_error((const char *const[]){ NULL }, 2, "missing TRACE");
	expect_error(ARGS("--frob", GEN), 2, "unknown option '--frob'");
	expect_error(ARGS("--policy", "bogus", GEN), 2,
		     "--policy 'bogus' is not");
	expect_error(ARGS("--policy", "first,,best", GEN), 2,
		     "--policy 'first,,best'");
	expect_error(ARGS("--policy", "first,", GEN), 2, "--policy 'first,'");
	expect_error(ARGS("--policy"), 2, "--policy needs a value");
	expect_error(ARGS("--arena", "abc", GEN), 2, "--arena 'abc'");
	expect_error(ARGS("--arena", "0", GEN), 2, "--arena '0'");
	expect_error(ARGS("--csv=1", GEN), 2, "--csv takes no value");
	expect_error(ARGS(GEN, GEN), 2, "unexpected argument");
	expect_error(ARGS("uniform:size=3"), 2, "unknown key");
	expect_error(ARGS("uniform:ops"), 2, "'ops' is not KEY=VALUE");
	expect_error(ARGS("uniform:ops=x"), 2, "ops 'x' is not a number");
	expect_error(ARGS("uniform:max=1Q"), 2, "max '1Q' is not a size");
	expect_error(ARGS("uniform:min=4K,max=1K"), 2, "bad parameters");
	expect_error(ARGS("uniform:realloc=101"), 2, "realloc=101");
	expect_error(ARGS("uniform:"), 2, "no KEY=VALUE");
}

static void test_cli_alloc_help(void **state)
{
	static const char *const words[] = {
		"first",  "next",      "best",	  "worst",   "segregated",
		"buddy",  "bitmap",    "kmalloc", "uniform", "powerlaw",
		"phases", "lifetimes", "ops",	  "seed",    "min",
		"max",	  "live",      "realloc", "--arena", "--csv",
		"65",	  "66",
	};
	static struct result r;

	(void)state;
	run(&r, ARGS("--help"));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		expect_in(r.out, words[i]);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/vmemu-cli-alloc-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	/* $VMEMU relative to the start directory survives chdir. */
	if (vmemu()[0] != '/') {
		static char abs[PATH_MAX];

		if (!realpath(vmemu(), abs))
			return -1;
		setenv("VMEMU", abs, 1);
	}
	return 0;
}

static int group_teardown(void **state)
{
	static const char *const files[] = {
		"out",	  "err",    "ok.rep",	"phases",   "hdr.rep",
		"op.rep", "id.rep", "dead.rep", "junk.rep", "short.rep",
	};
	char path[PATH_MAX + 32];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_alloc_table_every_policy),
		cmocka_unit_test(test_cli_alloc_csv),
		cmocka_unit_test(test_cli_alloc_trace_file),
		cmocka_unit_test(test_cli_alloc_generator_deterministic),
		cmocka_unit_test(test_cli_alloc_arena_bounds),
		cmocka_unit_test(test_cli_alloc_malformed_trace),
		cmocka_unit_test(test_cli_alloc_unreadable_trace),
		cmocka_unit_test(test_cli_alloc_bad_usage),
		cmocka_unit_test(test_cli_alloc_help),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
