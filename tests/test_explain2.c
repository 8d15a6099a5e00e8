/*
 * tests/test_explain2.c - `vmemu explain oom` and `vmemu explain
 * replacement` (and, when they land, fragmentation and reclaim) through
 * the built binary ($VMEMU; under `make asan` the ASan build).
 *
 * The --json facts are checked against what Linux or the textbook says,
 * computed here, not read back from the code under test:
 *  - oom: the watermarks follow Linux's rule (min_free_kbytes =
 *    int_sqrt(RAM KiB * 16), min = it / 4, delta = max(min / 4, managed *
 *    10 / 10000), low = min + delta, high = low + delta); kswapd is woken
 *    when free < low and balances to >= high; direct reclaim, swap-out,
 *    refaults and one OOM kill happen; every candidate's points are
 *    oom_badness of its row (rss + swapents + pgtables + adj * (totalpages
 *    / 1000)), and the victim is the highest (a later tie winning), as the
 *    event log's oom_candidates rows say too.
 *  - replacement: the published counts (Silberschatz: FIFO 15, LRU 12,
 *    OPT 9; Belady: FIFO 9 with 3 frames, 10 with 4), FIFO's and LRU's
 *    figures frame by frame against tiny models here, OPT's count against
 *    a MIN model, Clock's against a second-chance model, and for every
 *    policy that the figure is consistent (a fault iff the page was not
 *    in a frame; a hit changes nothing; an eviction only when full).
 *    Every policy must be available (a refusal fails the test).
 *  - fragmentation: the buddy grants 10 KiB a 16 KiB block (a power of
 *    two of pages for every size); each slab's objperslab is floor(slab
 *    bytes / objsize) and the rest is left over, in every slab; after
 *    every other frame is freed no block of order >= 4 is free and the
 *    unusable and extfrag indices are Linux's formulas (mm/vmstat.c) of
 *    the buddyinfo counts; compaction keeps the free pages and makes
 *    order-4 blocks.
 *  - reclaim (once the page cache is in the build): a clean file page is
 *    dropped, a dirty one written back (the file holds its bytes), an
 *    anonymous one swapped (its PTE a swap entry); reading them back is
 *    two file refaults and one swap-in; pages read once are never
 *    activated; H's journey is a chain of list changes.
 * Each text fits 80 columns, ends with its `vmemu query`; bad input is
 * one line and status 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/cliexec.h"
#include "tests/lib/vmtest.h"

#define MAXF  16
#define MAXN  64
#define EMPTY (-1)

#define jint cliexec_jint
#define jstr cliexec_jstr

/* ---- oom ---------------------------------------------------------------- */

static uint64_t isqrt(uint64_t x)
{
	uint64_t r = 0;

	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/* A timeline event's field (fails if the event is absent). */
static int64_t event(const char *name, const char *field)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT json_extract(value, '$.%s') FROM json_each(?1, "
		 "'$.timeline') WHERE json_extract(value, '$.event') = ?2",
		 field);
	return cliexec_sql_int(sql, name);
}

/* A counter's total over the run (the phases table). */
static int64_t total(const char *counter)
{
	return cliexec_sql_int("SELECT json_extract(value, '$.total') FROM "
			       "json_each(?1, '$.phases') WHERE "
			       "json_extract(value, '$.counter') = ?2",
			       counter);
}

static void test_explain2_oom_watermarks(void **state)
{
	uint64_t managed, kb, min, delta;

	(void)state;
	cliexec_run_ok(ARGS("explain", "oom", "--json", "--no-log"));
	managed = (uint64_t)jint("$.watermarks.managed");
	assert_int_equal(managed, jint("$.machine.ram_pages"));
	kb = isqrt(managed * 4 * 16);
	kb = kb < 128 ? 128 : kb;
	min = kb / 4;
	delta = min / 4 > managed * 10 / 10000 ? min / 4 : managed * 10 / 10000;
	assert_int_equal(jint("$.watermarks.min"), min);
	assert_int_equal(jint("$.watermarks.low"), min + delta);
	assert_int_equal(jint("$.watermarks.high"), min + 2 * delta);
	assert_true(jint("$.watermarks.min") < jint("$.watermarks.low"));
	assert_true(jint("$.watermarks.low") < jint("$.watermarks.high"));
	/* 8 MiB of swap: 2048 pages, the first one the header. */
	assert_int_equal(jint("$.machine.swap_pages"), 2047);
}

static void test_explain2_oom_pressure(void **state)
{
	(void)state;
	cliexec_run_ok(ARGS("explain", "oom", "--json", "--no-log"));
	/* Below low kswapd is woken; it reclaims up to high. */
	assert_true(event("below_low", "free") < jint("$.watermarks.low"));
	assert_true(event("kswapd", "free") >= jint("$.watermarks.high"));
	assert_true(total("vmemu_kswapd_wake") >= 1);
	assert_true(total("pageoutrun") >= 1);
	assert_true(total("pgsteal_kswapd") >= 1);
	/* Free must pass low before it can reach min. */
	assert_true(event("below_low", "access") <=
		    event("direct_reclaim", "access"));
	assert_true(total("allocstall_normal") >= 1);
	assert_true(total("pgscan_direct") >= total("pgsteal_direct"));
	/* Swap traffic both ways, the worker's reads refault. */
	assert_true(total("pswpout") >= 1);
	assert_true(total("pswpin") >= 1);
	assert_true(total("workingset_refault_anon") >= 1);
	assert_true(total("pgmajfault") >= 1);
	assert_true(total("pswpin") >= total("pgmajfault"));
	assert_int_equal(total("oom_kill"), 1);
	assert_true(event("oom_kill", "access") > event("refault", "access"));
	/* Direct reclaim stalls: PSI's some, never less than full. */
	assert_true(jint("$.psi.some_total_us") >= jint("$.psi.full_total_us"));
}

/* oom_badness of candidate row c, computed here in SQL. */
#define BADNESS(c)                                                           \
	"(json_extract(" c ", '$.rss') + json_extract(" c ", '$.swapents') " \
	"+ json_extract(" c ", '$.pgtables') + json_extract(" c              \
	", '$.oom_score_adj') * ((json_extract(?1, '$.machine.ram_pages') "  \
	"+ json_extract(?1, '$.machine.swap_pages')) / 1000))"

static void check_victim(void)
{
	char buf[64];

	assert_int_equal(jint("$.why.totalpages"),
			 jint("$.machine.ram_pages") +
				 jint("$.machine.swap_pages"));
	assert_int_equal(
		cliexec_sql_int("SELECT count(*) FROM json_each(?1, "
				"'$.candidates') WHERE json_extract("
				"value, '$.points') != " BADNESS("value"),
				NULL),
		0);
	assert_int_equal(cliexec_sql_int("SELECT count(*) FROM json_each(?1, "
					 "'$.candidates') WHERE json_extract("
					 "value, '$.chosen')",
					 NULL),
			 1);
	/* The victim: the highest badness, a later tie winning. */
	assert_int_equal(
		cliexec_sql_int("SELECT json_extract(value, '$.pid') "
				"FROM json_each(?1, '$.candidates') "
				"ORDER BY " BADNESS("value") " DESC, "
							     "key DESC LIMIT 1",
				NULL),
		cliexec_sql_int("SELECT json_extract(value, '$.pid') "
				"FROM json_each(?1, '$.candidates') "
				"WHERE json_extract(value, '$.chosen')",
				NULL));
	assert_int_equal(jint("$.why.victim_pid"), jint("$.why.top[0].pid"));
	assert_int_equal(jint("$.why.agrees"), 1);
	assert_true(jint("$.why.top[0].points") >= jint("$.why.top[1].points"));
	assert_string_equal(jstr("$.why.top[0].task", buf, sizeof(buf)), "hog");
	assert_string_equal(jstr("$.kill.hog_exit", buf, sizeof(buf)),
			    "OOM-killed");
	assert_string_equal(jstr("$.kill.worker_exit", buf, sizeof(buf)),
			    "normal");
	/* The worker's oom_score_adj counts: adj * (totalpages / 1000). */
	assert_int_equal(cliexec_sql_int("SELECT json_extract(value, "
					 "'$.adj_term') FROM json_each(?1, "
					 "'$.candidates') WHERE json_extract("
					 "value, '$.name') = ?2",
					 "worker"),
			 -100 * (jint("$.why.totalpages") / 1000));
}

static void test_explain2_oom_victim(void **state)
{
	(void)state;
	cliexec_run_ok(ARGS("explain", "oom", "--json", "--no-log"));
	check_victim();
}

static char db[64];

static int setup_db(void **state)
{
	(void)state;
	vmtest_db_path(db, sizeof(db), "test_explain2");
	return 0;
}

static int teardown_db(void **state)
{
	(void)state;
	vmtest_db_remove(db);
	return 0;
}

/* The log's oom_candidates rows give the same points and victim. */
static void test_explain2_oom_log(void **state)
{
	char want[256] = "", q[1024];
	int64_t n;

	(void)state;
	cliexec_run_ok(ARGS("explain", "oom", "--json", "--log", db));
	check_victim();
	n = cliexec_sql_int("SELECT json_array_length(?1, '$.candidates')",
			    NULL);
	for (int64_t i = 0; i < n; i++) {
		char p[64];
		size_t used = strlen(want);

		snprintf(p, sizeof(p), "$.candidates[%d]", (int)i);
		snprintf(want + used, sizeof(want) - used, "%lld %lld %lld\n",
			 (long long)cliexec_sql_int("SELECT json_extract(?1, "
						    "?2 || '.pid')",
						    p),
			 (long long)cliexec_sql_int("SELECT json_extract(?1, "
						    "?2 || '.points')",
						    p),
			 (long long)cliexec_sql_int("SELECT json_extract(?1, "
						    "?2 || '.chosen')",
						    p));
	}
	jstr("$.query", q, sizeof(q));
	assert_non_null(strstr(q, "oom_candidates"));
	cliexec_run_ok(ARGS(
		"query", db,
		"SELECT pid || ' ' || points || ' ' || chosen FROM "
		"oom_candidates WHERE run_id = (SELECT max(run_id) FROM runs) "
		"ORDER BY pid"));
	assert_non_null(strstr(cli_res.out, want));
}

/* ---- replacement: models -------------------------------------------------- */

static const int classic[] = { 7, 0, 1, 2, 0, 3, 0, 4, 2, 3,
			       0, 3, 2, 1, 2, 0, 1, 7, 0, 1 };

struct figure {
	size_t n;
	unsigned frames;
	int ref[MAXN];
	int frame[MAXN][MAXF]; /* after step i */
	int fault[MAXN], victim[MAXN];
	int64_t faults;
};

static int slot_of(const int *fr, unsigned f, int page)
{
	for (unsigned k = 0; k < f; k++)
		if (fr[k] == page)
			return (int)k;
	return -1;
}

/*
 * FIFO (lru = false) or LRU as the textbook draws them: a new page takes
 * the first empty frame, else the victim's frame.  stamp[k]: when frame
 * k was loaded (FIFO) or last used (LRU).
 */
static void model(bool lru, const int *ref, size_t n, unsigned f,
		  struct figure *m)
{
	int fr[MAXF];
	size_t stamp[MAXF];

	memset(m, 0, sizeof(*m));
	m->n = n;
	m->frames = f;
	for (unsigned k = 0; k < f; k++)
		fr[k] = EMPTY;
	for (size_t i = 0; i < n; i++) {
		int k = slot_of(fr, f, ref[i]);

		m->ref[i] = ref[i];
		m->victim[i] = EMPTY;
		if (k < 0) {
			m->fault[i] = 1;
			m->faults++;
			k = slot_of(fr, f, EMPTY);
			if (k < 0) {
				k = 0;
				for (unsigned j = 1; j < f; j++)
					if (stamp[j] < stamp[k])
						k = (int)j;
				m->victim[i] = fr[k];
			}
			fr[k] = ref[i];
			stamp[k] = i;
		} else if (lru) {
			stamp[k] = i;
		}
		memcpy(m->frame[i], fr, sizeof(fr));
	}
}

/* Belady's MIN: misses (unique whatever the ties). */
static int64_t model_opt(const int *ref, size_t n, unsigned f)
{
	int fr[MAXF];
	unsigned used = 0;
	int64_t misses = 0;

	for (size_t i = 0; i < n; i++) {
		size_t far = 0;
		unsigned v = 0;

		if (slot_of(fr, used, ref[i]) >= 0)
			continue;
		misses++;
		if (used < f) {
			fr[used++] = ref[i];
			continue;
		}
		for (unsigned k = 0; k < used; k++) {
			size_t j = i + 1;

			while (j < n && ref[j] != fr[k])
				j++;
			if (j > far) {
				far = j;
				v = k;
			}
		}
		fr[v] = ref[i];
	}
	return misses;
}

/* Second chance: a queue; loaded with the bit clear, a hit sets it. */
static int64_t model_clock(const int *ref, size_t n, unsigned f)
{
	int q[MAXF], bit[MAXF];
	unsigned used = 0;
	int64_t misses = 0;

	for (size_t i = 0; i < n; i++) {
		int k = slot_of(q, used, ref[i]);

		if (k >= 0) {
			bit[k] = 1;
			continue;
		}
		misses++;
		while (used == f) {
			int p = q[0], b = bit[0];

			memmove(q, q + 1, (f - 1) * sizeof(q[0]));
			memmove(bit, bit + 1, (f - 1) * sizeof(bit[0]));
			if (b) {
				q[f - 1] = p;
				bit[f - 1] = 0;
			} else {
				used--;
			}
		}
		q[used] = ref[i];
		bit[used++] = 0;
	}
	return misses;
}

/* LFU as reclaim/policy_lfu.c defines it: a count from 1 at load, +1 a
 * hit, forgotten on eviction; the least count goes, ties the least
 * recently used. */
static int64_t model_lfu(const int *ref, size_t n, unsigned f)
{
	int fr[MAXF];
	size_t count[MAXF], last[MAXF];
	unsigned used = 0;
	int64_t misses = 0;

	for (size_t i = 0; i < n; i++) {
		int k = slot_of(fr, used, ref[i]);

		if (k < 0) {
			misses++;
			if (used < f) {
				k = (int)used++;
			} else {
				k = 0;
				for (unsigned j = 1; j < used; j++)
					if (count[j] < count[k] ||
					    (count[j] == count[k] &&
					     last[j] < last[k]))
						k = (int)j;
			}
			fr[k] = ref[i];
			count[k] = 0;
		}
		count[k]++;
		last[k] = i;
	}
	return misses;
}

/* ---- replacement: the figure in the JSON --------------------------------- */

/* Every policy the topic shows is in this build: a figure, not a reason. */
static void assert_available(const char *key)
{
	char p[64];

	snprintf(p, sizeof(p), "$.%s.available", key);
	assert_int_equal(jint(p), 1);
}

static void load(const char *key, struct figure *m)
{
	char p[128];

	memset(m, 0, sizeof(*m));
	snprintf(p, sizeof(p), "$.%s.frames", key);
	m->frames = (unsigned)jint(p);
	snprintf(p, sizeof(p), "$.%s.faults", key);
	m->faults = jint(p);
	snprintf(p, sizeof(p), "$.%s.steps", key);
	m->n = (size_t)cliexec_sql_int("SELECT json_array_length(?1, ?2)", p);
	assert_true(m->n <= MAXN && m->frames <= MAXF);
	for (size_t i = 0; i < m->n; i++) {
		snprintf(p, sizeof(p), "$.%s.steps[%zu].ref", key, i);
		m->ref[i] = (int)jint(p);
		snprintf(p, sizeof(p), "$.%s.steps[%zu].fault", key, i);
		m->fault[i] = (int)jint(p);
		snprintf(p, sizeof(p), "$.%s.steps[%zu].victim", key, i);
		m->victim[i] = (int)jint(p);
		for (unsigned k = 0; k < m->frames; k++) {
			snprintf(p, sizeof(p), "$.%s.steps[%zu].frames[%u]",
				 key, i, k);
			m->frame[i][k] = (int)jint(p);
		}
	}
}

/* Any policy's figure: a fault iff the page was in no frame, ... */
static void check_consistent(const struct figure *m)
{
	int64_t faults = 0;

	for (size_t i = 0; i < m->n; i++) {
		int before[MAXF], used = 0;

		for (unsigned k = 0; k < m->frames; k++) {
			before[k] = i ? m->frame[i - 1][k] : EMPTY;
			used += before[k] != EMPTY;
		}
		assert_int_equal(m->fault[i],
				 slot_of(before, m->frames, m->ref[i]) < 0);
		faults += m->fault[i];
		assert_true(slot_of(m->frame[i], m->frames, m->ref[i]) >= 0);
		if (!m->fault[i] || used < (int)m->frames)
			assert_int_equal(m->victim[i], EMPTY);
		for (unsigned k = 0; k < m->frames; k++) {
			if (m->frame[i][k] == before[k])
				continue;
			/* the one change: the new page, in the victim's
			 * frame or an empty one */
			assert_true(m->fault[i]);
			assert_int_equal(m->frame[i][k], m->ref[i]);
			assert_int_equal(before[k], m->victim[i]);
		}
	}
	assert_int_equal(faults, m->faults);
}

static void check_same(const struct figure *got, const struct figure *want)
{
	assert_int_equal(got->n, want->n);
	assert_int_equal(got->faults, want->faults);
	for (size_t i = 0; i < got->n; i++) {
		assert_int_equal(got->fault[i], want->fault[i]);
		assert_int_equal(got->victim[i], want->victim[i]);
		for (unsigned k = 0; k < got->frames; k++)
			if (got->frame[i][k] != want->frame[i][k])
				fail_msg("step %zu frame %u: %d, want %d", i, k,
					 got->frame[i][k], want->frame[i][k]);
	}
}

static void test_explain2_replacement_fifo_lru(void **state)
{
	struct figure got, want;

	(void)state;
	cliexec_run_ok(ARGS("explain", "replacement", "--json", "--no-log"));
	assert_int_equal(jint("$.frames"), 3);
	load("fifo", &got);
	check_consistent(&got);
	model(false, classic, 20, 3, &want);
	check_same(&got, &want);
	assert_int_equal(got.faults, 15); /* Silberschatz */
	load("lru", &got);
	check_consistent(&got);
	model(true, classic, 20, 3, &want);
	check_same(&got, &want);
	assert_int_equal(got.faults, 12);
	assert_int_equal(jint("$.published.fifo"), 15);
	assert_int_equal(jint("$.published.agrees"), 1);
}

static void test_explain2_replacement_clock(void **state)
{
	struct figure got;

	(void)state;
	cliexec_run_ok(ARGS("explain", "replacement", "--json", "--no-log"));
	assert_available("clock");
	load("clock", &got);
	check_consistent(&got);
	assert_int_equal(got.faults, model_clock(classic, 20, 3));
}

static void test_explain2_replacement_opt(void **state)
{
	struct figure got;

	(void)state;
	cliexec_run_ok(ARGS("explain", "replacement", "--json", "--no-log"));
	assert_available("opt");
	load("opt", &got);
	check_consistent(&got);
	assert_int_equal(got.faults, 9); /* Silberschatz */
	assert_int_equal(got.faults, model_opt(classic, 20, 3));
}

static void test_explain2_replacement_lfu(void **state)
{
	struct figure got;

	(void)state;
	cliexec_run_ok(ARGS("explain", "replacement", "--json", "--no-log"));
	assert_available("lfu");
	load("lfu", &got);
	check_consistent(&got);
	/* No published count (LFU's ties vary): vmemu's rule's, and never
	 * better than OPT. */
	assert_int_equal(got.faults, model_lfu(classic, 20, 3));
	assert_true(got.faults >= model_opt(classic, 20, 3));
}

static void test_explain2_replacement_belady(void **state)
{
	static const int b[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
	struct figure got, want;

	(void)state;
	cliexec_run_ok(ARGS("explain", "replacement", "--json", "--no-log"));
	assert_int_equal(jint("$.belady.fifo_3_faults"), 9);
	assert_int_equal(jint("$.belady.fifo_4_faults"), 10);
	assert_int_equal(jint("$.belady.anomaly"), 1);
	assert_true(jint("$.belady.lru_4_faults") <=
		    jint("$.belady.lru_3_faults"));
	load("belady.fifo_4", &got);
	check_consistent(&got);
	model(false, b, 12, 4, &want);
	check_same(&got, &want);
}

/* Another string and frame count: the same models agree. */
static void test_explain2_replacement_args(void **state)
{
	static const int r[] = { 1, 2, 3, 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
	struct figure got, want;

	(void)state;
	cliexec_run_ok(ARGS("explain", "replacement",
			    "1,2,3,1,2,3,4,1,2,5,1,2,3,4,5", "2", "--json",
			    "--no-log"));
	assert_int_equal(jint("$.frames"), 2);
	assert_false(cliexec_jhas("$.published"));
	load("fifo", &got);
	model(false, r, 15, 2, &want);
	check_same(&got, &want);
	load("lru", &got);
	model(true, r, 15, 2, &want);
	check_same(&got, &want);
	/* Spaces work as well as commas; three frames hold 1 2 3. */
	cliexec_run_ok(ARGS("explain", "replacement", "1 2 3 1 2 3", "3",
			    "--json", "--no-log"));
	assert_int_equal(jint("$.fifo.faults"), 3);
	assert_int_equal(jint("$.lru.faults"), 3);
}

/* ---- fragmentation ------------------------------------------------------ */

static int64_t order_field(int o, const char *field)
{
	char p[64];

	snprintf(p, sizeof(p), "$.orders[%d].%s", o, field);
	return jint(p);
}

/* Linux's unusable_free_index and __fragmentation_index (per mille, as
 * mm/vmstat.c computes them) from the buddyinfo counts, as "%d.%03d". */
static void indices(const char *when, int o, char *unusable, char *extfrag)
{
	int64_t free = 0, suitable = 0, blocks = 0, u, e;
	char key[32];

	snprintf(key, sizeof(key), "blocks_%s", when);
	for (int i = 0; i < 11; i++) {
		int64_t n = order_field(i, key);

		free += n << i;
		blocks += n;
		if (i >= o)
			suitable += n << (i - o);
	}
	u = free ? (free - (suitable << o)) * 1000 / free : 1000;
	e = !blocks  ? 0 :
	    suitable ? -1000 :
		       1000 - (1000 + free * 1000 / (1 << o)) / blocks;
	sprintf(unusable, "%d.%03d", (int)(u / 1000), (int)(u % 1000));
	sprintf(extfrag, "%s%d.%03d", e < 0 ? "-" : "", (int)(llabs(e) / 1000),
		(int)(llabs(e) % 1000));
}

static void test_explain2_fragmentation_internal(void **state)
{
	char p[64];

	(void)state;
	cliexec_run_ok(ARGS("explain", "fragmentation", "--json", "--no-log"));
	/* The textbook's example: 10 KiB from the buddy takes 16 KiB. */
	assert_int_equal(jint("$.internal.buddy[1].requested"), 10240);
	assert_int_equal(jint("$.internal.buddy[1].granted"), 16384);
	for (int i = 0; i < 4; i++) {
		int64_t req, pages = 1;

		snprintf(p, sizeof(p), "$.internal.buddy[%d].requested", i);
		req = jint(p);
		while (pages * 4096 < req)
			pages *= 2;
		snprintf(p, sizeof(p), "$.internal.buddy[%d].granted", i);
		assert_int_equal(jint(p), pages * 4096);
	}
	/* Each cache: objperslab = floor(slab bytes / objsize), the rest
	 * of the slab left over, in every slab. */
	assert_true(cliexec_sql_int("SELECT count(*) FROM json_each(?1, "
				    "'$.internal.slabs')",
				    NULL) >= 3);
	assert_int_equal(
		cliexec_sql_int(
			"SELECT count(*) FROM json_each(?1, '$.internal.slabs')"
			" WHERE json_extract(value, '$.objperslab') != "
			"json_extract(value, '$.pagesperslab') * 4096 / "
			"json_extract(value, '$.objsize') OR json_extract(value,"
			" '$.leftover') != json_extract(value, "
			"'$.pagesperslab') * 4096 - json_extract(value, "
			"'$.objperslab') * json_extract(value, '$.objsize') OR "
			"json_extract(value, '$.tail_bytes') != json_extract("
			"value, '$.leftover') * json_extract(value, "
			"'$.num_slabs')",
			NULL),
		0);
}

static void test_explain2_fragmentation_external(void **state)
{
	char u[16], e[16], buf[16];
	int64_t free = 0;

	(void)state;
	cliexec_run_ok(ARGS("explain", "fragmentation", "--json", "--no-log"));
	/* Half the memory free, none of it in a block of order 4. */
	for (int o = 0; o < 11; o++)
		free += order_field(o, "blocks_before") << o;
	assert_int_equal(free, jint("$.external.before.free_pages"));
	assert_true(free >= jint("$.external.pages_each"));
	for (int o = 4; o < 11; o++)
		assert_int_equal(order_field(o, "blocks_before"), 0);
	assert_int_equal(jint("$.external.before.order4_block"), 0);
	assert_string_equal(jstr("$.external.before.unusable_index_4", buf,
				 sizeof(buf)),
			    "1.000");
	/* Linux's indices, recomputed from buddyinfo, at every order. */
	for (int o = 0; o < 11; o++) {
		char p[64];

		indices("before", o, u, e);
		snprintf(p, sizeof(p), "$.orders[%d].unusable_before", o);
		assert_string_equal(jstr(p, buf, sizeof(buf)), u);
		snprintf(p, sizeof(p), "$.orders[%d].extfrag_before", o);
		assert_string_equal(jstr(p, buf, sizeof(buf)), e);
		indices("after", o, u, e);
		snprintf(p, sizeof(p), "$.orders[%d].unusable_after", o);
		assert_string_equal(jstr(p, buf, sizeof(buf)), u);
	}
	/* Compaction: the same free pages, now in large blocks. */
	assert_true(jint("$.compaction.pages_moved") > 0);
	assert_int_equal(jint("$.compaction.pages_moved"),
			 jint("$.compaction.pgmigrate_success"));
	assert_int_equal(jint("$.after.free_pages"), free);
	assert_int_equal(jint("$.after.order4_block"), 1);
	assert_true(jint("$.after.largest_order") >= 4);
	assert_true(jint("$.after.order4_usable_pages") > free / 2);
}

/* ---- reclaim -------------------------------------------------------------- */

/* Run explain reclaim; it must have run (not said it cannot). */
static void run_reclaim(void)
{
	cliexec_run_ok(ARGS("explain", "reclaim", "--json", "--no-log"));
	assert_true(cliexec_jhas("$.fates"));
}

static void test_explain2_reclaim_fates(void **state)
{
	char buf[64];

	(void)state;
	run_reclaim();
	/* Before: resident, the file pages on the file lists. */
	assert_string_equal(jstr("$.fates.before[0].list", buf, sizeof(buf)),
			    "inactive_file");
	assert_string_equal(jstr("$.fates.before[1].list", buf, sizeof(buf)),
			    "inactive_file");
	assert_string_equal(jstr("$.fates.before[2].list", buf, sizeof(buf)),
			    "inactive_anon");
	assert_non_null(
		strstr(jstr("$.fates.before[1].bits", buf, sizeof(buf)), " D"));
	assert_null(
		strstr(jstr("$.fates.before[0].bits", buf, sizeof(buf)), " D"));
	/* Clean: dropped; dirty: written back; anonymous: swapped. */
	assert_int_equal(jint("$.fates.reclaim.file_drop_clean"), 1);
	assert_int_equal(jint("$.fates.reclaim.nr_written"), 1);
	assert_int_equal(jint("$.fates.reclaim.in_file"), 1);
	assert_int_equal(jint("$.fates.reclaim.pswpout"), 1);
	assert_int_equal(jint("$.fates.reclaim.pgsteal_file"), 2);
	assert_int_equal(jint("$.fates.reclaim.pgsteal_anon"), 1);
	assert_string_equal(jstr("$.fates.after[0].state", buf, sizeof(buf)),
			    "none");
	assert_string_equal(jstr("$.fates.after[1].state", buf, sizeof(buf)),
			    "none");
	assert_string_equal(jstr("$.fates.after[2].state", buf, sizeof(buf)),
			    "swap entry");
	/* Back: two file refaults from the file, one page from swap. */
	assert_int_equal(jint("$.fates.reread.pgmajfault"), 3);
	assert_int_equal(jint("$.fates.reread.workingset_refault_file"), 2);
	assert_int_equal(jint("$.fates.reread.pswpin"), 1);
}

static void test_explain2_reclaim_lists(void **state)
{
	int64_t nhops;
	char p[64], to[32], from[32];

	(void)state;
	run_reclaim();
	/* Pages read once are never activated: not one activation once the
	 * hot set went cold, and evictions in each of those rounds. */
	assert_int_equal(cliexec_sql_int("SELECT count(*) FROM json_each(?1, "
					 "'$.rounds') WHERE json_extract(value,"
					 " '$.hot') = '-' AND (json_extract("
					 "value, '$.pgactivate') != 0 OR "
					 "json_extract(value, '$.pgsteal_file')"
					 " = 0)",
					 NULL),
			 0);
	assert_true(cliexec_sql_int("SELECT sum(json_extract(value, "
				    "'$.pgactivate')) FROM json_each(?1, "
				    "'$.rounds')",
				    NULL) > 0);
	/* H: read in to the inactive list, later active; each hop starts
	 * where the last one ended. */
	nhops = cliexec_sql_int("SELECT json_array_length(?1, '$.journey')",
				NULL);
	assert_true(nhops >= 2);
	assert_string_equal(jstr("$.journey[0].to", to, sizeof(to)),
			    "inactive");
	for (int64_t i = 1; i < nhops; i++) {
		snprintf(p, sizeof(p), "$.journey[%d].from", (int)i);
		jstr(p, from, sizeof(from));
		assert_string_equal(from, to);
		snprintf(p, sizeof(p), "$.journey[%d].to", (int)i);
		jstr(p, to, sizeof(to));
	}
	assert_true(cliexec_sql_int("SELECT count(*) FROM json_each(?1, "
				    "'$.journey') WHERE json_extract(value, "
				    "'$.to') = 'active'",
				    NULL) > 0);
}

/* ---- text, usage ------------------------------------------------------------ */

static void test_explain2_text_fits_80_columns(void **state)
{
	(void)state;
	cliexec_run(ARGS("explain", "oom", "--no-log"));
	cliexec_check_text("oom");
	assert_non_null(strstr(cli_res.out, "oom_candidates"));
	cliexec_run(ARGS("explain", "replacement", "--no-log"));
	cliexec_check_text("replacement");
	cliexec_run(ARGS("explain", "fragmentation", "--no-log"));
	cliexec_check_text("fragmentation");
	cliexec_run(ARGS("explain", "reclaim", "--no-log"));
	cliexec_check_text("reclaim");
	/* A long string is drawn in chunks; wide page numbers fit too. */
	cliexec_run(ARGS("explain", "replacement",
			 "1 2 3 4 1 2 5 1 2 3 4 5 1 2 3 4 1 2 5 1 2 3 4 5 "
			 "1 2 3 4 1 2 5 1 2 3 4 5 1 2 3 4 1 2 5 1 2 3 4 5",
			 "16", "--no-log"));
	cliexec_check_text("replacement, 48 references, 16 frames");
	cliexec_run(ARGS("explain", "replacement",
			 "100,999,5,100,7,999,0,5,100,999,7,0,1,2,3,4,5,6,"
			 "7,8,9,10,11,12",
			 "4", "--no-log"));
	cliexec_check_text("replacement, 3-digit pages");
}

#define expect_usage clitest_expect_usage_error

static void test_explain2_bad_input(void **state)
{
	char many[1024] = "";

	(void)state;
	expect_usage(ARGS("explain", "replacement", "1,x"),
		     "not a list of page numbers");
	expect_usage(ARGS("explain", "replacement", "1,1000"),
		     "not a list of page numbers");
	expect_usage(ARGS("explain", "replacement", ","), "no references");
	expect_usage(ARGS("explain", "replacement", "1,2", "0"), "FRAMES '0'");
	expect_usage(ARGS("explain", "replacement", "1,2", "17"),
		     "FRAMES '17'");
	expect_usage(ARGS("explain", "replacement", "1,2", "3", "4"),
		     "too many arguments");
	for (int i = 0; i < 201; i++)
		strcat(many, "1,");
	expect_usage(ARGS("explain", "replacement", many), "more than 200");
	expect_usage(ARGS("explain", "oom", "x"), "too many arguments");
	expect_usage(ARGS("explain", "fragmentation", "x"),
		     "too many arguments");
	expect_usage(ARGS("explain", "reclaim", "x"), "too many arguments");
	cliexec_run(ARGS("explain", "--help"));
	assert_int_equal(cli_res.status, 0);
	for (const char *s = cli_res.out, *nl; (nl = strchr(s, '\n'));
	     s = nl + 1)
		if (nl - s > 80)
			fail_msg("--help: %.*s", (int)(nl - s), s);
	assert_non_null(strstr(cli_res.out, "oom"));
	assert_non_null(strstr(cli_res.out, "replacement"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain2_oom_watermarks),
		cmocka_unit_test(test_explain2_oom_pressure),
		cmocka_unit_test(test_explain2_oom_victim),
		cmocka_unit_test_setup_teardown(test_explain2_oom_log, setup_db,
						teardown_db),
		cmocka_unit_test(test_explain2_replacement_fifo_lru),
		cmocka_unit_test(test_explain2_replacement_clock),
		cmocka_unit_test(test_explain2_replacement_opt),
		cmocka_unit_test(test_explain2_replacement_lfu),
		cmocka_unit_test(test_explain2_replacement_belady),
		cmocka_unit_test(test_explain2_replacement_args),
		cmocka_unit_test(test_explain2_fragmentation_internal),
		cmocka_unit_test(test_explain2_fragmentation_external),
		cmocka_unit_test(test_explain2_reclaim_fates),
		cmocka_unit_test(test_explain2_reclaim_lists),
		cmocka_unit_test(test_explain2_text_fits_80_columns),
		cmocka_unit_test(test_explain2_bad_input),
	};

	if (access(clitest_vmemu(), X_OK) != 0) {
		fprintf(stderr, "test_explain2: %s is not built\n",
			clitest_vmemu());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
