/*
 * tests/test_allocstudy.c - the allocator study engine (user/allocstudy):
 * the strict malloc-lab parser (every error kind reported as file:line,
 * random damage never crashes it), the generators (exact, balanced,
 * deterministic, round-trip through the parser, the promised shapes), the
 * three page-granular models against worked examples (buddy 10 KiB ->
 * 16 KiB, bitmap first fit, kmalloc classes and slabs) and their
 * invariant walker under random load, and astudy_run of a generated
 * trace through every allocator with the table and CSV.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/vmtest.h"
#include "user/allocstudy.h"

#define KIB  1024ULL
#define MIB  (1024 * KIB)
#define PAGE VM_PAGE_SIZE

/* ---- the parser -------------------------------------------------------------- */

static const char example[] = "20000\n3\n8\n1\n"
			      "a 0 512\na 1 128\nr 0 640\na 2 128\n"
			      "f 1\nr 0 768\nf 0\nf 2\n";

static void test_allocstudy_parse_example(void **state)
{
	static const char crlf[] = "0\r\n1\r\n2\r\n0\r\na\t0  7\r\nf 0\r\n\n\n";
	struct astudy_trace tr;
	char err[128] = "";

	(void)state;
	assert_int_equal(astudy_trace_parse("ex.rep", example, strlen(example),
					    &tr, err, sizeof(err)),
			 0);
	assert_int_equal(tr.sugg_heap, 20000);
	assert_int_equal(tr.nids, 3);
	assert_int_equal(tr.nops, 8);
	assert_int_equal(tr.weight, 1);
	assert_int_equal(tr.ops[2].kind, 'r');
	assert_int_equal(tr.ops[2].id, 0);
	assert_int_equal(tr.ops[2].nbytes, 640);
	assert_int_equal(tr.ops[4].kind, 'f');
	assert_int_equal(tr.ops[4].id, 1);
	astudy_trace_free(&tr);
	/* CRLF, tabs, and trailing blank lines are fine */
	assert_int_equal(astudy_trace_parse("crlf", crlf, strlen(crlf), &tr,
					    err, sizeof(err)),
			 0);
	assert_int_equal(tr.ops[0].nbytes, 7);
	astudy_trace_free(&tr);
}

struct bad_trace {
	const char *text;
	const char *want; /* the whole "name:line: message" */
};

static const struct bad_trace bad_traces[] = {
	{ "", "t:1: missing header line: suggested heap size" },
	{ "100\n2\n", "t:3: missing header line: number of operations" },
	{ "x\n", "t:1: suggested heap size: not a number: 'x'" },
	{ "1\n\n", "t:2: empty header line (expected number of ids)" },
	{ "1\n2 3\n", "t:2: unexpected '3' after the number of ids" },
	{ "1\n99999999999\n",
	  "t:2: number of ids 99999999999 too large (max 67108864)" },
	{ "1\n1\n1000\n1\na 0 1\n", "t:3: 1000 operations cannot fit in "
				    "the file" },
	{ "1\n1\n1\n-1\na 0 1\n", "t:4: weight: not a number: '-1'" },
	{ "1\n2\n2\n1\nx 0 1\nf 0\n", "t:5: unknown operation 'x'" },
	{ "1\n2\n2\n1\nalloc 0 1\nf 0\n", "t:5: unknown operation 'alloc'" },
	{ "1\n2\n2\n1\na\nf 0\n", "t:5: missing id" },
	{ "1\n2\n2\n1\na 0\nf 0\n", "t:5: missing size" },
	{ "1\n2\n2\n1\na 0x1 5\nf 0\n", "t:5: id: not a number: '0x1'" },
	{ "1\n2\n2\n1\na 2 5\nf 2\n", "t:5: id 2 out of range (2 ids)" },
	{ "1\n2\n2\n1\na 0 5 6\nf 0\n",
	  "t:5: unexpected '6' after the operation" },
	{ "1\n2\n2\n1\na 0 99999999999999999999\nf 0\n",
	  "t:5: size 99999999999999999999 too large (max 70368744177664)" },
	{ "1\n2\n2\n1\na 0 1\na 0 2\n", "t:6: a: id 0 is already allocated" },
	{ "1\n2\n2\n1\na 0 1\nf 1\n", "t:6: f: id 1 is not allocated" },
	{ "1\n2\n2\n1\na 0 1\nr 1 4\n", "t:6: r: id 1 is not allocated" },
	{ "1\n2\n3\n1\na 0 1\nr 0 0\nf 0\n", "t:7: f: id 0 is not allocated" },
	{ "1\n2\n3\n1\na 0 1\n\nf 0\n", "t:6: empty line (operation 2 of 3)" },
	{ "1\n2\n3\n1\na 0 1\nf 0\n", "t:7: only 2 of 3 operations" },
	{ "1\n2\n2\n1\na 0 1\nf 0\na 1 1\n",
	  "t:7: more operations than the 2 the header announces" },
};

static void test_allocstudy_parse_errors_name_the_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_traces) / sizeof(bad_traces[0]);
	     i++) {
		const struct bad_trace *b = &bad_traces[i];
		struct astudy_trace tr;
		char err[160] = "";
		int rc = astudy_trace_parse("t", b->text, strlen(b->text), &tr,
					    err, sizeof(err));

		if (rc != -EINVAL || strcmp(err, b->want) != 0)
			fail_msg("case %zu: rc %d err '%s', want '%s'", i, rc,
				 err, b->want);
		assert_null(tr.ops); /* nothing half-built is handed back */
	}
}

/* Random damage to a valid trace: a clean verdict, never a crash. */
static void test_allocstudy_parse_survives_damage(void **state)
{
	uint64_t seed = vmtest_seed("parse damage"), rs = seed;
	size_t len = strlen(example), ok = 0;
	char text[sizeof(example)];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		struct astudy_trace tr;
		char err[160];
		size_t n = 1 + vmtest_rand(&rs) % 3;
		int rc;

		memcpy(text, example, len);
		while (n--)
			text[vmtest_rand(&rs) % len] =
				(char)(vmtest_rand(&rs) % 256);
		rc = astudy_trace_parse("d", text, vmtest_rand(&rs) % (len + 1),
					&tr, err, sizeof(err));
		if (rc == 0)
			ok++;
		else if (rc != -EINVAL || strncmp(err, "d:", 2) != 0)
			fail_msg("seed %llu round %d: rc %d '%s'",
				 (unsigned long long)seed, round, rc, err);
		astudy_trace_free(&tr);
	}
	assert_true(ok > 0); /* some damage is harmless (a size digit) */
}

static void test_allocstudy_load_file(void **state)
{
	char path[] = "/tmp/vmemu-trace-XXXXXX", err[256];
	struct astudy_trace tr;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, example, strlen(example)),
			 (ssize_t)strlen(example));
	close(fd);
	assert_int_equal(astudy_trace_load(path, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.nops, 8);
	astudy_trace_free(&tr);
	unlink(path);
	assert_int_equal(astudy_trace_load(path, &tr, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
}

/* ---- the generators ----------------------------------------------------------- */

/* Replay tr: every op consistent, all freed at the end; live peak. */
static uint64_t check_balanced(const struct astudy_trace *tr)
{
	uint64_t *size = calloc(tr->nids, sizeof(uint64_t)), live = 0, peak = 0;
	uint8_t *on = calloc(tr->nids, 1);

	for (size_t i = 0; i < tr->nops; i++) {
		const struct astudy_op *o = &tr->ops[i];

		assert_true(o->id < tr->nids);
		assert_int_equal(on[o->id], o->kind != 'a');
		live -= size[o->id];
		size[o->id] = o->kind == 'f' ? 0 : o->nbytes;
		on[o->id] = o->kind != 'f' && size[o->id];
		live += size[o->id];
		peak = live > peak ? live : peak;
	}
	assert_int_equal(live, 0);
	free(size);
	free(on);
	return peak;
}

static void round_trip(const struct astudy_trace *tr)
{
	size_t len = astudy_trace_format(tr, NULL, 0);
	char *text = malloc(len + 1), err[160];
	struct astudy_trace back;

	assert_int_equal(astudy_trace_format(tr, text, len + 1), len);
	assert_int_equal(astudy_trace_parse("gen", text, len, &back, err,
					    sizeof(err)),
			 0);
	assert_int_equal(back.nops, tr->nops);
	assert_int_equal(back.nids, tr->nids);
	assert_memory_equal(back.ops, tr->ops, tr->nops * sizeof(*tr->ops));
	astudy_trace_free(&back);
	free(text);
}

static void test_allocstudy_generators_exact_balanced(void **state)
{
	uint64_t seed = vmtest_seed("generators");

	(void)state;
	for (int sh = 0; sh < ASTUDY_NSHAPES; sh++) {
		for (size_t nops = 2; nops < 9000; nops = nops * 3 + 1) {
			struct astudy_gen g = {
				(enum astudy_shape)sh, seed, nops, 0, 0, 50, 3
			};
			struct astudy_trace a, b;

			assert_int_equal(astudy_trace_generate(&g, &a), 0);
			assert_int_equal(a.nops, nops);
			check_balanced(&a);
			round_trip(&a);
			assert_int_equal(astudy_trace_generate(&g, &b), 0);
			assert_memory_equal(a.ops, b.ops,
					    nops * sizeof(*a.ops));
			astudy_trace_free(&a);
			astudy_trace_free(&b);
		}
	}
}

static void test_allocstudy_generator_shapes(void **state)
{
	struct astudy_gen g = { ASTUDY_UNIFORM, 7, 20000, 100, 200, 500, 0 };
	struct astudy_trace tr;
	uint64_t small = 0, big = 0, late_small = 0;

	(void)state;
	assert_int_equal(astudy_trace_generate(&g, &tr), 0);
	for (size_t i = 0; i < tr.nops; i++)
		if (tr.ops[i].kind == 'a')
			assert_true(tr.ops[i].nbytes >= 100 &&
				    tr.ops[i].nbytes <= 200);
	astudy_trace_free(&tr);
	g = (struct astudy_gen){ ASTUDY_POWERLAW, 7, 20000, 0, 0, 500, 0 };
	assert_int_equal(astudy_trace_generate(&g, &tr), 0);
	for (size_t i = 0; i < tr.nops; i++) {
		small += tr.ops[i].kind == 'a' && tr.ops[i].nbytes < 64;
		big += tr.ops[i].kind == 'a' && tr.ops[i].nbytes >= 4096;
	}
	assert_true(small > 5 * big && big > 0); /* heavy head, a tail */
	astudy_trace_free(&tr);
	g = (struct astudy_gen){ ASTUDY_PHASES, 7, 20000, 0, 0, 500, 0 };
	assert_int_equal(astudy_trace_generate(&g, &tr), 0);
	for (size_t i = tr.nops / 2; i < tr.nops; i++)
		late_small += tr.ops[i].kind == 'a' && tr.ops[i].nbytes <= 256;
	assert_int_equal(late_small, 0);
	assert_true(tr.ops[0].nbytes <= 256);
	astudy_trace_free(&tr);
	g.nops = 1;
	assert_int_equal(astudy_trace_generate(&g, &tr), -EINVAL);
	g = (struct astudy_gen){ ASTUDY_UNIFORM, 7, 100, 300, 200, 0, 0 };
	assert_int_equal(astudy_trace_generate(&g, &tr), -EINVAL);
}

/* ---- the models --------------------------------------------------------------- */

static struct astudy_model *model(enum astudy_alloc kind, uint64_t arena)
{
	struct astudy_model *m = NULL;

	assert_int_equal(astudy_model_create(kind, arena, &m), 0);
	return m;
}

static uint64_t must_alloc(struct astudy_model *m, uint64_t n)
{
	uint64_t a = 0;

	assert_int_equal(astudy_model_alloc(m, n, &a), 0);
	assert_int_equal(astudy_model_check(m), 0);
	return a;
}

static void test_allocstudy_buddy_model(void **state)
{
	struct astudy_model *m = model(ASTUDY_BUDDY, 16 * PAGE);
	struct astudy_model_stats st;
	uint64_t a, b, c, base, x1, x2, x3, x;

	(void)state;
	a = must_alloc(m, 10 * KIB); /* 3 pages -> order 2: 16 KiB */
	base = a;
	assert_int_equal(astudy_model_granted(m, a), 16 * KIB);
	b = must_alloc(m, 4 * KIB); /* splits [4..8): takes 4, 5 stays */
	c = must_alloc(m, 8 * KIB); /* order 1: the block at 6 */
	assert_int_equal(b - base, 4 * PAGE);
	assert_int_equal(c - base, 6 * PAGE);
	astudy_model_stats(m, &st);
	assert_int_equal(st.now.live_requested, 22 * KIB);
	assert_int_equal(st.now.live_granted, 28 * KIB);
	assert_int_equal(st.now.free_bytes, 9 * PAGE); /* 5 and [8..16) */
	assert_int_equal(st.now.largest_free, 8 * PAGE);
	assert_int_equal(st.now.free_blocks, 2);
	assert_int_equal(astudy_model_alloc(m, 9 * PAGE, &x), -ENOMEM);
	x1 = must_alloc(m, 2 * PAGE); /* [8,16) splits: [8,10) */
	x2 = must_alloc(m, 4 * PAGE); /* [12,16) */
	x3 = must_alloc(m, 2 * PAGE); /* [10,12) */
	assert_int_equal(x1 - base, 8 * PAGE);
	assert_int_equal(x2 - base, 12 * PAGE);
	assert_int_equal(x3 - base, 10 * PAGE);
	assert_int_equal(astudy_model_alloc(m, 2 * PAGE, &x), -ENOMEM);
	astudy_model_stats(m, &st);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.failures_fragmented, 0); /* one page free */
	assert_int_equal(astudy_model_free(m, a), 0);
	assert_int_equal(astudy_model_free(m, a), -EINVAL);
	assert_int_equal(astudy_model_free(m, b + 16), -EINVAL);
	assert_int_equal(astudy_model_free(m, x1), 0);
	assert_int_equal(astudy_model_free(m, x2), 0);
	/* 11 pages free in [0,4) 5 [8,10) [12,16): no 8-page block */
	assert_int_equal(astudy_model_alloc(m, 5 * PAGE, &x), -ENOMEM);
	astudy_model_stats(m, &st);
	assert_int_equal(st.now.free_bytes, 11 * PAGE);
	assert_int_equal(st.failures_fragmented, 1);
	assert_int_equal(astudy_model_check(m), 0);
	astudy_model_destroy(m);
}

static void test_allocstudy_bitmap_model(void **state)
{
	struct astudy_model *m = model(ASTUDY_BITMAP, 16 * PAGE);
	struct astudy_model_stats st;
	uint64_t a, b, c, d, base;

	(void)state;
	a = must_alloc(m, 3 * PAGE);
	base = a;
	b = must_alloc(m, 10 * KIB); /* 3 pages, not 4 */
	assert_int_equal(b - base, 3 * PAGE);
	assert_int_equal(astudy_model_granted(m, b), 12 * KIB);
	c = must_alloc(m, 1);
	assert_int_equal(c - base, 6 * PAGE);
	assert_int_equal(astudy_model_free(m, a), 0);
	d = must_alloc(m, 2 * PAGE); /* first fit: back at the front */
	assert_int_equal(d, base);
	d = must_alloc(m, 2 * PAGE); /* page 2 alone is too small */
	assert_int_equal(d - base, 7 * PAGE);
	astudy_model_stats(m, &st);
	assert_int_equal(st.now.free_blocks, 2); /* page 2, pages 9-15 */
	assert_int_equal(st.now.largest_free, 7 * PAGE);
	assert_true(st.search_max >= 7); /* it scanned page by page */
	astudy_model_destroy(m);
}

static void test_allocstudy_kmalloc_model(void **state)
{
	static const uint64_t req[] = { 1,   8,	  9,   65,   96,   97,	129,
					193, 257, 600, 1500, 3000, 8192 };
	static const uint64_t cls[] = { 8,   8,	  16,	96,   96,   128, 192,
					256, 512, 1024, 2048, 4096, 8192 };
	struct astudy_model *m = model(ASTUDY_KMALLOC, 256 * PAGE);
	struct astudy_model_stats st;
	uint64_t a, b, c, big;

	(void)state;
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		assert_int_equal(astudy_model_granted(m, must_alloc(m, req[i])),
				 cls[i]);
	a = must_alloc(m, 70); /* class 96: next to the first one */
	b = must_alloc(m, 90);
	assert_int_equal(b - a, 96);
	assert_int_equal(astudy_model_free(m, a), 0);
	c = must_alloc(m, 80); /* LIFO: a's slot again */
	assert_int_equal(c, a);
	big = must_alloc(m, 8193); /* kmalloc_large: 3 pages -> 4 */
	assert_int_equal(astudy_model_granted(m, big), 16 * KIB);
	assert_int_equal(big % PAGE, 0);
	assert_int_equal(must_alloc(m, 0), ASTUDY_ZERO_SIZE_PTR);
	assert_int_equal(astudy_model_free(m, ASTUDY_ZERO_SIZE_PTR), 0);
	assert_int_equal(astudy_model_free(m, b + 8), -EINVAL);
	astudy_model_destroy(m);
	/* a slab given back when its last object goes */
	m = model(ASTUDY_KMALLOC, 64 * PAGE);
	a = must_alloc(m, 1000); /* class 1k: a 2-page slab of 8 objects */
	astudy_model_stats(m, &st);
	assert_int_equal(st.now.footprint, 2 * PAGE);
	assert_int_equal(astudy_model_free(m, a), 0);
	astudy_model_stats(m, &st);
	assert_int_equal(st.now.footprint, 0);
	assert_int_equal(st.now.free_bytes, 64 * PAGE);
	assert_int_equal(astudy_model_check(m), 0);
	astudy_model_destroy(m);
}

/* Random load on each model, the walker after every batch. */
static void test_allocstudy_models_random_invariants(void **state)
{
	uint64_t seed = vmtest_seed("models"), rs = seed;
	static uint64_t live[512];

	(void)state;
	for (int kind = ASTUDY_BUDDY; kind <= ASTUDY_KMALLOC; kind++) {
		struct astudy_model *m =
			model((enum astudy_alloc)kind, 512 * PAGE);

		memset(live, 0, sizeof(live));
		for (int i = 0; i < 20000; i++) {
			uint64_t *s = &live[vmtest_rand(&rs) % 512];
			uint64_t n = vmtest_rand(&rs) % 100 < 90 ?
					     vmtest_rand(&rs) % 2000 :
					     vmtest_rand(&rs) % (64 * KIB);

			if (*s && astudy_model_free(m, *s))
				fail_msg("seed %llu: free failed",
					 (unsigned long long)seed);
			*s = 0;
			if (vmtest_rand(&rs) % 2 && astudy_model_alloc(m, n, s))
				*s = 0;
			if (i % 500 == 0 && astudy_model_check(m))
				fail_msg("%d: check failed at %d (seed %llu)",
					 kind, i, (unsigned long long)seed);
		}
		for (int k = 0; k < 512; k++)
			if (live[k])
				assert_int_equal(astudy_model_free(m, live[k]),
						 0);
		assert_int_equal(astudy_model_check(m), 0);
		astudy_model_destroy(m);
	}
}

/* ---- runs --------------------------------------------------------------------- */

static void test_allocstudy_parse_lists(void **state)
{
	enum astudy_alloc a[ASTUDY_NALLOCS];

	(void)state;
	assert_int_equal(astudy_alloc_parse_list("first,buddy", a, 8), 2);
	assert_int_equal(a[0], ASTUDY_FIRST_FIT);
	assert_int_equal(a[1], ASTUDY_BUDDY);
	assert_int_equal(astudy_alloc_parse_list("all", a, 8), 8);
	assert_int_equal(a[7], ASTUDY_KMALLOC);
	assert_int_equal(astudy_alloc_parse_list("bogus", a, 8), -EINVAL);
	assert_int_equal(astudy_alloc_parse_list("first,", a, 8), -EINVAL);
	assert_int_equal(astudy_alloc_parse_list(",first", a, 8), -EINVAL);
	assert_int_equal(astudy_alloc_parse_list("", a, 8), -EINVAL);
	assert_int_equal(astudy_alloc_parse_list("seg,seg", a, 1), -EINVAL);
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void check_row(const struct astudy_result *r, uint64_t peak, size_t nops)
{
	if (r->status)
		fail_msg("%s: %s", astudy_alloc_name(r->alloc), r->error);
	assert_int_equal(r->nops, nops);
	assert_int_equal(r->verify_errors, 0);
	assert_int_equal(r->failures, 0);
	assert_int_equal(r->peak_requested, peak);
	assert_int_equal(r->peak.live_requested, peak);
	assert_true(r->peak.live_granted >= peak);
	assert_true(r->peak_footprint >= r->peak.live_granted);
	assert_true(r->utilisation > 0 && r->utilisation <= 1.0);
	assert_true(r->ops_per_sec > 0);
	assert_true(r->allocs > 0 && r->search_max >= 1);
}

static void test_allocstudy_run_every_allocator(void **state)
{
	struct astudy_gen g = { ASTUDY_LIFETIMES, 11, 6000, 0, 0, 300, 5 };
	struct astudy_result r[ASTUDY_NALLOCS];
	struct astudy_trace tr;
	struct astudy_config cfg;
	uint64_t peak;
	char buf[8192];

	(void)state;
	assert_int_equal(astudy_trace_generate(&g, &tr), 0);
	peak = check_balanced(&tr);
	for (int a = 0; a < ASTUDY_NALLOCS; a++) {
		astudy_config_init(&cfg);
		cfg.alloc = (enum astudy_alloc)a;
		cfg.verify = true;
		assert_int_equal(astudy_run(&cfg, &tr, &r[a]), 0);
		check_row(&r[a], peak, tr.nops);
	}
	/* the buddy rounds to powers of two of pages: more waste */
	assert_true(r[ASTUDY_BUDDY].internal_frag >
		    r[ASTUDY_BITMAP].internal_frag);
	assert_true(r[ASTUDY_BITMAP].internal_frag >
		    r[ASTUDY_FIRST_FIT].internal_frag);
	assert_true(astudy_format(r, ASTUDY_NALLOCS, ASTUDY_CSV, buf,
				  sizeof(buf)) < sizeof(buf));
	assert_int_equal(count_char(buf, '\n'), 1 + ASTUDY_NALLOCS);
	assert_int_equal(count_char(buf, ','), 21 * (1 + ASTUDY_NALLOCS));
	assert_int_equal(strncmp(buf, "allocator,status,ops,", 21), 0);
	assert_non_null(strstr(buf, "\nkmalloc,0,6000,"));
	astudy_format(r, ASTUDY_NALLOCS, ASTUDY_TABLE, buf, sizeof(buf));
	assert_int_equal(count_char(buf, '\n'), 1 + ASTUDY_NALLOCS);
	assert_non_null(strstr(buf, "\nworst "));
	astudy_trace_free(&tr);
}

static void test_allocstudy_arena_bounds_the_heap(void **state)
{
	struct astudy_gen g = { ASTUDY_PHASES, 3, 4000, 0, 0, 200, 0 };
	struct astudy_trace tr;
	struct astudy_config cfg;
	struct astudy_result r;

	(void)state;
	assert_int_equal(astudy_trace_generate(&g, &tr), 0);
	for (int a = 0; a < ASTUDY_NALLOCS; a++) {
		astudy_config_init(&cfg);
		cfg.alloc = (enum astudy_alloc)a;
		cfg.arena_bytes = 2 * MIB;
		cfg.verify = true;
		assert_int_equal(astudy_run(&cfg, &tr, &r), 0);
		assert_int_equal(r.status, 0);
		assert_true(r.failures > 0);
		assert_true(r.peak_footprint <= 2 * MIB);
		assert_int_equal(r.verify_errors, 0);
	}
	cfg.alloc = ASTUDY_NALLOCS;
	assert_int_equal(astudy_run(&cfg, &tr, &r), -EINVAL);
	astudy_trace_free(&tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocstudy_parse_example),
		cmocka_unit_test(test_allocstudy_parse_errors_name_the_line),
		cmocka_unit_test(test_allocstudy_parse_survives_damage),
		cmocka_unit_test(test_allocstudy_load_file),
		cmocka_unit_test(test_allocstudy_generators_exact_balanced),
		cmocka_unit_test(test_allocstudy_generator_shapes),
		cmocka_unit_test(test_allocstudy_buddy_model),
		cmocka_unit_test(test_allocstudy_bitmap_model),
		cmocka_unit_test(test_allocstudy_kmalloc_model),
		cmocka_unit_test(test_allocstudy_models_random_invariants),
		cmocka_unit_test(test_allocstudy_parse_lists),
		cmocka_unit_test(test_allocstudy_run_every_allocator),
		cmocka_unit_test(test_allocstudy_arena_bounds_the_heap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
