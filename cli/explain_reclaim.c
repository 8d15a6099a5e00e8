/*
 * cli/explain_reclaim.c - `vmemu explain reclaim`: what reclaim does with
 * a page depending on what it is, and how pages move between Linux's
 * active and inactive lists.
 *
 *   three pages, three fates (MADV_PAGEOUT: reclaim them now):
 *     a clean file page   -> dropped, no I/O (re-read from the file later)
 *     a dirty file page   -> written back to its file, then dropped
 *     an anonymous page   -> written to swap, its PTE a swap entry
 *   the lists, under pressure (direct reclaim only, kswapd off):
 *     a hot set of file pages touched every round, a stream of file pages
 *     read once each; page H of the hot set is followed: inactive ->
 *     active -> deactivated ... ; then the hot set goes cold: H is
 *     evicted; read again: a refault
 *
 * The files are host temporary files, unlinked at once.  The machine:
 * trace mode, 8 MiB, 8 MiB of swap, kswapd off, no file readahead (one
 * page per fault), so the same command gives the same numbers.  The
 * task records into struct rc_state; the main thread builds the doc.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/explain.h"

#define PAGE	  VM_PAGE_SIZE
#define RW	  (VM_PROT_READ | VM_PROT_WRITE)
#define RC_MEM	  (8ULL << 20)
#define RC_SWAP	  (8ULL << 20)
#define RC_HOT	  1024 /* hot set, pages */
#define RC_STREAM 384  /* new pages read per round */
#define RC_ROUNDS 12   /* rounds with the hot set hot */
#define RC_COLD	  8    /* rounds after it went cold */
#define RC_HOPS	  24   /* journey entries kept */
#define RC_DATA	  4    /* pages of the small file */
#define RC_MARK	  0x5a /* bytes written to the dirty page */
#define RC_FATES  3

enum rc_where { W_NONE, W_INACTIVE, W_ACTIVE, W_OFF_LRU };

static const char *const where_name[] = { "not resident", "inactive", "active",
					  "off the LRU" };

struct rc_fate {
	const char *what;
	struct vm_walk before, after;
};

struct rc_hop {
	uint64_t access; /* of the journey part, from 1 */
	unsigned round;
	enum rc_where from, to;
	struct vm_stat st;
};

struct rc_round {
	uint64_t active_file, inactive_file;
	struct vm_stat st;
};

struct rc_state {
	struct vm *vm;
	int data_fd, big_fd;
	/* three fates */
	struct rc_fate fate[RC_FATES];
	struct vm_stat f0, f1, f2; /* before, after pageout, after rereads */
	bool written_back;	   /* the file holds the dirty page's bytes */
	/* the journey */
	struct rc_hop hop[RC_HOPS];
	unsigned nhops;
	struct rc_round round[RC_ROUNDS + RC_COLD + 1];
	unsigned nrounds;
	uint64_t accesses;
	enum rc_where h;
	const char *fail;
};

/* An unlinked temporary file of npages pages (zeros); -1 on error. */
static int rc_tmpfile(uint64_t npages)
{
	char path[] = "/tmp/vmemu-explain-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, (off_t)(npages * PAGE))) {
		close(fd);
		return -1;
	}
	return fd;
}

static enum rc_where rc_where(struct vm *vm, int pid, uint64_t va)
{
	struct vm_walk w;

	if (vm_walk(vm, pid, va, &w) < 0 || w.state != VM_PTE_MAPPED)
		return W_NONE;
	if (!w.lru)
		return W_OFF_LRU;
	return w.active ? W_ACTIVE : W_INACTIVE;
}

/* ---- three pages, three fates --------------------------------------------- */

static int rc_walk3(struct rc_state *s, int pid, const uint64_t *va, bool after)
{
	for (int i = 0; i < RC_FATES; i++)
		if (vm_walk(s->vm, pid, va[i],
			    after ? &s->fate[i].after : &s->fate[i].before))
			return -1;
	return 0;
}

/* Was the dirty page's data written to the file? */
static bool rc_in_file(const struct rc_state *s)
{
	uint8_t buf[64];

	if (pread(s->data_fd, buf, sizeof(buf), (off_t)PAGE) != sizeof(buf))
		return false;
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != RC_MARK)
			return false;
	return true;
}

static int rc_fates(struct vm_task *t, struct rc_state *s)
{
	int pid = vm_getpid(t);
	uint64_t f = vm_mmap_file(t, 0, RC_DATA * PAGE, RW, VM_MAP_SHARED,
				  s->data_fd, 0);
	uint64_t a = vm_mmap(t, 0, PAGE, RW, VM_MAP_PRIVATE | VM_MAP_ANON);
	uint64_t va[RC_FATES] = { f, f + PAGE, a };
	uint8_t mark[64], back[64], byte;

	if (vm_mmap_failed(f) || vm_mmap_failed(a))
		return s->fail = "mmap failed", -1;
	memset(mark, RC_MARK, sizeof(mark));
	if (vm_read(t, va[0], &byte, 1) || vm_write(t, va[1], mark, 64) ||
	    vm_write(t, va[2], mark, 64) || rc_walk3(s, pid, va, false))
		return s->fail = "an access failed", -1;
	vm_stat(s->vm, &s->f0);
	if (vm_madvise(t, f, 2 * PAGE, VM_MADV_PAGEOUT) ||
	    vm_madvise(t, a, PAGE, VM_MADV_PAGEOUT))
		return s->fail = "MADV_PAGEOUT failed", -1;
	vm_stat(s->vm, &s->f1);
	if (rc_walk3(s, pid, va, true))
		return s->fail = "a walk failed", -1;
	s->written_back = rc_in_file(s);
	for (int i = 0; i < RC_FATES; i++)
		if (vm_read(t, va[i], back, i ? 64 : 1) ||
		    (i && memcmp(back, mark, 64)))
			return s->fail = "a page came back wrong", -1;
	vm_stat(s->vm, &s->f2);
	return 0;
}

/* ---- the lists: one page's journey ------------------------------------------ */

/* One read by the task; H's list after it (a hop when it changed). */
static int rc_touch(struct vm_task *t, struct rc_state *s, uint64_t va,
		    uint64_t h_va, unsigned round)
{
	enum rc_where now;

	if (vm_access(t, va, 0))
		return -1;
	s->accesses++;
	now = rc_where(s->vm, vm_getpid(t), h_va);
	if (now != s->h && s->nhops < RC_HOPS) {
		struct rc_hop *h = &s->hop[s->nhops++];

		h->access = s->accesses;
		h->round = round;
		h->from = s->h;
		h->to = now;
		vm_stat(s->vm, &h->st);
	}
	s->h = now;
	return 0;
}

static void rc_round_end(struct rc_state *s)
{
	struct rc_round *r = &s->round[s->nrounds++];

	vm_stat(s->vm, &r->st);
	r->active_file = r->st.nr_active_file;
	r->inactive_file = r->st.nr_inactive_file;
}

/*
 * Rounds 1..RC_ROUNDS: the hot set, then RC_STREAM new pages; rounds
 * after: only new pages.  H is the hot set's first page.
 */
static int rc_journey(struct vm_task *t, struct rc_state *s)
{
	uint64_t n = RC_HOT + (uint64_t)RC_STREAM * (RC_ROUNDS + RC_COLD);
	uint64_t base = vm_mmap_file(t, 0, n * PAGE, VM_PROT_READ,
				     VM_MAP_SHARED, s->big_fd, 0);
	uint64_t next = RC_HOT;

	if (vm_mmap_failed(base))
		return s->fail = "mmap failed", -1;
	rc_round_end(s);
	for (unsigned r = 1; r <= RC_ROUNDS + RC_COLD; r++) {
		for (uint64_t i = 0; r <= RC_ROUNDS && i < RC_HOT; i++)
			if (rc_touch(t, s, base + i * PAGE, base, r))
				return s->fail = "a read failed", -1;
		for (unsigned j = 0; j < RC_STREAM; j++)
			if (rc_touch(t, s, base + next++ * PAGE, base, r))
				return s->fail = "a read failed", -1;
		rc_round_end(s);
	}
	return 0;
}

static int rc_task(struct vm_task *t, void *arg)
{
	struct rc_state *s = arg;

	if (rc_fates(t, s))
		return 1;
	return rc_journey(t, s) ? 2 : 0;
}

/* ---- the document ------------------------------------------------------- */

static const char *rc_list(const struct vm_walk *w)
{
	if (w->state != VM_PTE_MAPPED)
		return ex_pte_state(w->state);
	if (!w->lru)
		return "off the LRU";
	return w->anon ? (w->active ? "active_anon" : "inactive_anon") :
			 (w->active ? "active_file" : "inactive_file");
}

static void rc_fate_row(struct ex_doc *d, const struct rc_fate *f,
			const struct vm_walk *w)
{
	char bits[64];

	ex_pte_bits(w->pte, bits, sizeof(bits));
	ex_obj(d, NULL, NULL);
	ex_str(d, "page", "page", 0, "%s", f->what);
	ex_str(d, "state", "PTE", 0, "%s", ex_pte_state(w->state));
	ex_str(d, "list", "list", 0, "%s", rc_list(w));
	ex_str(d, "bits", "PTE bits", 0, "%s", bits);
	ex_end(d);
}

/* After reclaim: where the page's data is now. */
static void rc_gone_row(struct ex_doc *d, const struct rc_fate *f,
			const struct vm_walk *w)
{
	ex_obj(d, NULL, NULL);
	ex_str(d, "page", "page", 0, "%s", f->what);
	ex_str(d, "state", "PTE", 0, "%s", ex_pte_state(w->state));
	if (w->state == VM_PTE_SWAP)
		ex_str(d, "data", "its data", 0, "swap area %u, slot %" PRIu64,
		       w->swap_type, w->swap_slot);
	else if (w->state == VM_PTE_MAPPED)
		ex_str(d, "data", "its data", 0, "still resident");
	else
		ex_str(d, "data", "its data", 0, "in the file");
	ex_end(d);
}

#define DELTA(b, a, f) ((b)->f - (a)->f)

static void rc_fates_doc(struct ex_doc *d, struct rc_state *s)
{
	const struct vm_stat *a = &s->f0, *b = &s->f1, *c = &s->f2;

	ex_obj(d, "fates", "three pages, three fates (MADV_PAGEOUT)");
	ex_arr(d, "before", "before: resident, on the LRU lists");
	for (int i = 0; i < RC_FATES; i++)
		rc_fate_row(d, &s->fate[i], &s->fate[i].before);
	ex_end(d);
	ex_arr(d, "after", "after reclaim");
	for (int i = 0; i < RC_FATES; i++)
		rc_gone_row(d, &s->fate[i], &s->fate[i].after);
	ex_end(d);
	ex_obj(d, "reclaim", "what reclaim did");
	ex_uint(d, "file_drop_clean", "clean file pages dropped, no I/O",
		DELTA(b, a, file_drop_clean), EX_EMU);
	ex_uint(d, "nr_written", "written back (nr_written)",
		DELTA(b, a, nr_written), 0);
	ex_bool(d, "in_file", "the file holds the written bytes",
		s->written_back, 0);
	ex_uint(d, "pswpout", "pages written to swap (pswpout)",
		DELTA(b, a, pswpout), 0);
	ex_uint(d, "pgsteal_file", "pgsteal_file", DELTA(b, a, pgsteal_file),
		0);
	ex_uint(d, "pgsteal_anon", "pgsteal_anon", DELTA(b, a, pgsteal_anon),
		0);
	ex_end(d);
	ex_obj(d, "reread", "reading the three again");
	ex_uint(d, "pgmajfault", "major faults (pgmajfault)",
		DELTA(c, b, pgmajfault), 0);
	ex_uint(d, "file_fault", "file faults", DELTA(c, b, file_fault),
		EX_EMU);
	ex_uint(d, "workingset_refault_file", "workingset_refault_file",
		DELTA(c, b, workingset_refault_file), 0);
	ex_uint(d, "pswpin", "pages read from swap (pswpin)",
		DELTA(c, b, pswpin), 0);
	ex_end(d);
	ex_end(d);
}

static const char *rc_why(const struct rc_hop *h, bool first)
{
	if (h->from == W_NONE)
		return first		 ? "read in" :
		       h->to == W_ACTIVE ? "refault: activated" :
					   "refault";
	if (h->to == W_ACTIVE)
		return "activated";
	if (h->from == W_ACTIVE && h->to == W_INACTIVE)
		return "deactivated";
	if (h->to == W_NONE)
		return "evicted";
	return "isolated";
}

static void rc_hops_doc(struct ex_doc *d, const struct rc_state *s)
{
	ex_arr(d, "journey", "page H's journey");
	for (unsigned i = 0; i < s->nhops; i++) {
		const struct rc_hop *h = &s->hop[i];

		ex_obj(d, NULL, NULL);
		ex_uint(d, "access", "access", h->access, 0);
		ex_uint(d, "round", "round", h->round, 0);
		ex_str(d, "from", "from", 0, "%s", where_name[h->from]);
		ex_str(d, "to", "to", 0, "%s", where_name[h->to]);
		ex_str(d, "why", "why", 0, "%s", rc_why(h, i == 0));
		ex_end(d);
	}
	ex_end(d);
}

static void rc_rounds_doc(struct ex_doc *d, const struct rc_state *s)
{
	ex_arr(d, "rounds",
	       "the file lists (pages) and what moved, round by round");
	for (unsigned i = 1; i < s->nrounds; i++) {
		const struct rc_round *r = &s->round[i], *p = &s->round[i - 1];

		ex_obj(d, NULL, NULL);
		ex_uint(d, "round", "round", i, 0);
		ex_str(d, "hot", "hot set", 0, "%s",
		       i <= RC_ROUNDS ? "read" : "-");
		ex_uint(d, "active_file", "active", r->active_file, 0);
		ex_uint(d, "inactive_file", "inactive", r->inactive_file, 0);
		ex_uint(d, "pgactivate", "pgactivate",
			DELTA(&r->st, &p->st, pgactivate), 0);
		ex_uint(d, "pgdeactivate", "pgdeactivate",
			DELTA(&r->st, &p->st, pgdeactivate), 0);
		ex_uint(d, "pgsteal_file", "pgsteal_file",
			DELTA(&r->st, &p->st, pgsteal_file), 0);
		ex_end(d);
	}
	ex_end(d);
}

/* What each kind of hop that happened means. */
static void rc_legend(struct ex_doc *d, const struct rc_state *s)
{
	static const struct {
		const char *why, *means;
	} legend[] = {
		{ "read in", "a new file page starts on the inactive list" },
		{ "activated",
		  "a scan found it referenced again since the last one (the "
		  "two-touch rule): to the active list" },
		{ "deactivated",
		  "the active list was shrunk (the inactive list had become "
		  "low): back to the inactive head" },
		{ "evicted",
		  "it reached the inactive tail unreferenced since the last "
		  "scan: clean, dropped without I/O; a shadow entry in the page "
		  "cache remembers when" },
		{ "refault",
		  "read back; its refault distance was larger than the "
		  "workingset, so it starts inactive again" },
		{ "refault: activated",
		  "read back soon enough (distance within the workingset): "
		  "straight to the active list" },
	};

	for (size_t k = 0; k < ARRAY_SIZE_CLI(legend); k++)
		for (unsigned i = 0; i < s->nhops; i++)
			if (!strcmp(rc_why(&s->hop[i], i == 0),
				    legend[k].why)) {
				ex_para(d, "%s: %s.", legend[k].why,
					legend[k].means);
				break;
			}
}

/* The lists after the hot set went cold: did the stream push it out? */
static void rc_story(struct ex_doc *d, const struct rc_state *s)
{
	const struct rc_round *hot = &s->round[RC_ROUNDS];
	const struct rc_round *end = &s->round[s->nrounds - 1];
	uint64_t deact = end->st.pgdeactivate - hot->st.pgdeactivate;

	ex_para(d,
		"Pages read once (the stream) are not activated: once memory "
		"is full they are evicted from the inactive list "
		"(pgsteal_file).  After the hot set went cold the active list "
		"went from %" PRIu64 " to %" PRIu64 " pages, %" PRIu64
		" deactivated: it is only shrunk when the inactive list is low "
		"(inactive x ratio < active) or refaults show the workingset "
		"changing%s",
		hot->active_file, end->active_file, deact,
		deact ? "." :
			", and neither happened: the stream could not push "
			"the hot set out (Linux's resistance to scans).");
}

static void rc_doc(struct ex_doc *d, struct rc_state *s)
{
	const struct vm_stat *a = &s->f0, *b = &s->f1, *c = &s->f2;

	s->fate[0].what = "clean file page";
	s->fate[1].what = "dirty file page";
	s->fate[2].what = "anonymous page";
	ex_para(d,
		"What reclaim does with a page depends on where its data can "
		"go.  MADV_PAGEOUT reclaims three pages now: the clean file "
		"page is dropped (file_drop_clean %" PRIu64 ": the file has "
		"its data), the dirty one is written to its file first "
		"(nr_written %" PRIu64 "), the anonymous page has nowhere to "
		"go but swap (pswpout %" PRIu64 "; its PTE becomes a swap "
		"entry).  Read again: %" PRIu64 " major faults, %" PRIu64
		" of them refaults of file pages the page cache remembered.",
		DELTA(b, a, file_drop_clean), DELTA(b, a, nr_written),
		DELTA(b, a, pswpout), DELTA(c, b, pgmajfault),
		DELTA(c, b, workingset_refault_file));
	rc_fates_doc(d, s);
	ex_para(d,
		"Then the lists under pressure (direct reclaim, kswapd off): "
		"a hot set of %d file pages is read every round with %d new "
		"pages read once each (a stream); after %d rounds the hot set "
		"is left alone and the stream goes on for %d more.  H is the "
		"hot set's first page.",
		RC_HOT, RC_STREAM, RC_ROUNDS, RC_COLD);
	rc_rounds_doc(d, s);
	rc_story(d, s);
	rc_hops_doc(d, s);
	rc_legend(d, s);
}

static int rc_run(struct ex_ctx *c, struct rc_state *s)
{
	struct vm_config cfg;
	struct vm_exit ex;

	ex_config(c, &cfg);
	cfg.mem_bytes = RC_MEM;
	cfg.swap_bytes = RC_SWAP;
	cfg.read_ahead_kb = 0;
	s->vm = ex_machine_cfg(&cfg);
	if (!s->vm)
		return CLI_EXIT_FAIL;
	if (ex_run_task(s->vm, "reader", rc_task, s, &ex) ||
	    ex_machine_done(s->vm))
		return CLI_EXIT_FAIL;
	if (ex.reason != VM_EXIT_NORMAL || ex.code)
		return cli_fail("explain reclaim: %s",
				s->fail ? s->fail : "the task failed");
	rc_doc(&c->doc, s);
	return CLI_EXIT_OK;
}

int ex_topic_reclaim(struct ex_ctx *c)
{
	struct rc_state *s;
	int rc;

	if (c->argc)
		return cli_error("explain reclaim: too many arguments (none "
				 "taken)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return cli_fail("explain reclaim: out of memory");
	s->data_fd = rc_tmpfile(RC_DATA);
	s->big_fd = rc_tmpfile(RC_HOT +
			       (uint64_t)RC_STREAM * (RC_ROUNDS + RC_COLD));
	if (s->data_fd < 0 || s->big_fd < 0)
		rc = cli_fail("explain reclaim: cannot make a temporary "
			      "file in /tmp: %s",
			      strerror(errno));
	else
		rc = rc_run(c, s);
	if (rc == CLI_EXIT_OK)
		ex_query(&c->doc, c->log,
			 "SELECT k.name, count(*) FROM events e JOIN"
			 " event_kinds k USING (run_id, kind) WHERE e.run_id ="
			 " (SELECT max(run_id) FROM runs) GROUP BY k.name");
	if (s->data_fd >= 0)
		close(s->data_fd);
	if (s->big_fd >= 0)
		close(s->big_fd);
	free(s);
	return rc;
}
